"""Guard backends by name, as chosen with GUARD_BACKEND and IMAGE_GUARD."""
from __future__ import annotations

from review.guard.base import ImageGuard, TextGuard

TEXT_GUARDS = ("rules",)
IMAGE_GUARDS = ("nudenet", "none")


def load_text_guard(name: str = "auto") -> TextGuard:
    name = (name or "auto").strip().lower()
    if name in ("auto", "rules"):
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
