"""Gradio components with project-specific behaviour."""
from __future__ import annotations

import gradio as gr


def upload_image(**kwargs) -> gr.Image:
    """A gr.Image that hands the uploaded file's path to our own loader untouched.

    Gradio's own preprocessing opens the file with PIL and fails with a library message on a non-image or an
    enormous upload; our loader (editor.image_input.load_image) turns those into plain, translated sentences.
    """
    component = gr.Image(type="filepath", image_mode=None, **kwargs)
    default = component.preprocess

    def preprocess(payload):
        if payload is not None and getattr(payload, "path", None) and not str(payload.url or "").startswith("data:"):
            return str(payload.path)
        return default(payload)

    component.preprocess = preprocess
    return component
