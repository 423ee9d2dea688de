"""Editor backends by name, as chosen with EDITOR_BACKEND."""
from __future__ import annotations

from editor.base import Editor

BACKENDS = ("classic", "qwen-image-edit")


def load_editor(name: str = "auto", model: str | None = None) -> Editor:
    """Build the backend called `name`; `auto` picks a GPU model only when it can really run.

    `auto` means: CUDA is present and the model's weights are a local folder or already in the Hugging Face cache;
    otherwise the classic CPU editor. A backend that was named explicitly and cannot load raises; it is never
    silently swapped for another one.
    """
    name = (name or "auto").strip().lower()
    if name == "auto":
        from editor import qwen_image_edit as q

        settings = q.QwenEditSettings.from_env(model)
        name = "qwen-image-edit" if q.cuda_available() and q.weights_present(settings.model) else "classic"
    if name == "classic":
        from editor.classic.backend import ClassicEditor

        return ClassicEditor()
    if name == "qwen-image-edit":
        try:
            from editor import qwen_image_edit as q
        except ImportError as exc:
            raise ValueError(f"EDITOR_BACKEND=qwen-image-edit needs torch and diffusers ({exc}); "
                             "install requirements-models.txt.") from None
        return q.QwenImageEditor(q.QwenEditSettings.from_env(model))
    raise ValueError(f"Unknown editor backend {name!r}; choose one of: auto, {', '.join(BACKENDS)}.")
