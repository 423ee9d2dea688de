"""Gradio components with project-specific behaviour."""
from __future__ import annotations

import gradio as gr

from gradio.events import Dependency

class UploadImage(gr.Image):
    """gr.Image that hands the uploaded file's path to our own loader untouched.

    Gradio's own preprocessing opens the file with PIL and fails with a library message on a damaged or
    non-image upload; our loader (editor.image_input.load_image) turns those into plain, translated sentences.
    """

    is_template = True  # render with the standard Image component in the browser

    def __init__(self, **kwargs):
        kwargs.setdefault("type", "filepath")
        super().__init__(**kwargs)

    def preprocess(self, payload):
        if payload is not None and getattr(payload, "path", None) and not str(payload.url or "").startswith("data:"):
            return str(payload.path)
        return super().preprocess(payload)
    from typing import Callable, Literal, Sequence, Any, TYPE_CHECKING
    from gradio.blocks import Block
    if TYPE_CHECKING:
        from gradio.components import Timer
        from gradio.components.base import Component