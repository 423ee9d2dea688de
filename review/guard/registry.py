"""Guard backends by name, as chosen with GUARD_BACKEND and IMAGE_GUARD."""
from __future__ import annotations

from review.guard.base import ImageGuard, TextGuard

TEXT_GUARDS = ("rules", "qwen3guard")
IMAGE_GUARDS = ("nudenet", "none")


def load_text_guard(name: str = "auto", model: str | None = None) -> TextGuard:
    """`auto`: Qwen3Guard when its weights are a local folder or already cached, else the rule guard."""
    name = (name or "auto").strip().lower()
    if name == "auto":
        from editor.qwen_image_edit import weights_present_file
        from review.guard.qwen3guard import DEFAULT_MODEL

        name = "qwen3guard" if weights_present_file(model or DEFAULT_MODEL, "config.json") else "rules"
    if name == "qwen3guard":
        try:
            from review.guard.qwen3guard import DEFAULT_MODEL, Qwen3Guard
        except ImportError as exc:
            raise ValueError(f"GUARD_BACKEND=qwen3guard needs torch and transformers ({exc}).") from None
        return Qwen3Guard(model or DEFAULT_MODEL)
    if name == "rules":
        from review.guard.rules import RuleTextGuard

        return RuleTextGuard()
    raise ValueError(f"Unknown guard backend {name!r}; choose one of: auto, {', '.join(TEXT_GUARDS)}.")


def load_image_guard(name: str = "auto") -> ImageGuard | None:
    """`none` turns image checks off (the status line then says so); a named guard that cannot load raises."""
    name = (name or "auto").strip().lower()
    if name in ("auto", "nudenet"):
        from review.guard.nudenet_guard import NudeNetGuard

        return NudeNetGuard()
    if name == "none":
        return None
    raise ValueError(f"Unknown image guard {name!r}; choose one of: auto, {', '.join(IMAGE_GUARDS)}.")
