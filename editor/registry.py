"""Editor backends by name, as chosen with EDITOR_BACKEND."""
from __future__ import annotations

from editor.base import Editor

BACKENDS = ("classic", "qwen-image-edit", "qwen-image-2.1")


def load_editor(name: str = "auto", model: str | None = None) -> Editor:
    """Build the backend called `name`; `auto` picks a GPU model only when it can really run.

    `auto` means: CUDA is present and the model's weights are a local folder or already in the Hugging Face cache;
    otherwise the classic CPU editor. A backend that was named explicitly and cannot load raises; it is never
    silently swapped for another one.
    """
    name = (name or "auto").strip().lower()
    if name == "auto":
        from editor.hub import cuda_available, weights_present
        from editor.qwen_image_edit import QwenEditSettings

        settings = QwenEditSettings.from_env(model)
        name = "qwen-image-edit" if cuda_available() and weights_present(settings.model) else "classic"
    if name == "classic":
        from editor.classic.backend import ClassicEditor

        return ClassicEditor()
    if name in ("qwen-image-edit", "qwen-image-2.1"):
        try:
            import diffusers  # noqa: F401
        except ImportError as exc:
            raise ValueError(f"EDITOR_BACKEND={name} needs torch and diffusers ({exc}); "
                             "install requirements.txt (the full set).") from None
        from editor.qwen_image_21 import QwenImage21Editor
        from editor.qwen_image_edit import QwenEditSettings, QwenImageEditor

        cls = QwenImageEditor if name == "qwen-image-edit" else QwenImage21Editor
        return cls(QwenEditSettings.from_env(model, default=cls.default_model))
    raise ValueError(f"Unknown editor backend {name!r}; choose one of: auto, {', '.join(BACKENDS)}.")
