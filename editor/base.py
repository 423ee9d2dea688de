"""The one small interface every edit backend implements."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable, Protocol

from PIL import Image

from errors import UserError

# progress(fraction 0..1, short description); a backend calls it as work advances.
ProgressFn = Callable[[float, str], None]


@dataclass
class EditRequest:
    image: Image.Image
    instruction: str
    references: list[Image.Image] = field(default_factory=list)
    negative_prompt: str = ""
    seed: int = 0
    steps: int = 30
    guidance: float = 4.0
    num_outputs: int = 1
    fast: bool = False  # use the Lightning LoRA when the backend has one
    mask: Image.Image | None = None  # white = change only here (model backends)
    cancel: threading.Event | None = None  # set it to stop the edit between steps
    preview_check: Callable | None = None  # preview image -> guard Verdict; Unsafe stops the edit early
    preview_every: int | None = None  # None: the backend's setting


@dataclass
class EditOutput:
    images: list[Image.Image]
    applied: list[str] = field(default_factory=list)  # what was done, in words, in order
    captions: list[str] = field(default_factory=list)  # text the editor drew into the picture (guarded too)
    # the parameters that actually ran, read from the backend after the fact; the record stores these, never the
    # request's wishes (a CPU filter has no steps, guidance or seed, so it reports none)
    params: dict = field(default_factory=dict)


class EditorCannotDo(UserError):
    """The backend understood that it cannot carry out this instruction."""

    def __init__(self, message: str, *, unknown: str = "", capabilities: tuple[str, ...] = (), code: str = "editor.cannot"):
        super().__init__(message, code, unknown=unknown)
        self.unknown = unknown
        self.capabilities = capabilities


class Editor(Protocol):
    name: str  # backend name, as in EDITOR_BACKEND
    model_id: str
    model_license: str
    device: str
    deterministic: bool  # True: seed and variants change nothing

    def edit(self, request: EditRequest, progress: ProgressFn | None = None) -> EditOutput: ...


class EditCancelled(UserError):
    """The requester pressed Cancel; the backend stopped between steps."""

    def __init__(self, step: int):
        super().__init__(f"The edit was cancelled after step {step}; nothing was saved.", "editor.cancelled", step=step)


class UnsafePreview(Exception):
    """The early-stop signal: the image guard judged an intermediate preview Unsafe; the diffusion stopped at `step`.
    """

    def __init__(self, verdict, step: int, params: dict | None = None):
        super().__init__(f"stopped at step {step}")
        self.verdict, self.step, self.params = verdict, step, params or {}
