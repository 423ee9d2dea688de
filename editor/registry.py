"""Editor backends by name, as chosen with EDITOR_BACKEND."""
from __future__ import annotations

from editor.base import Editor

BACKENDS = ("classic",)


def load_editor(name: str = "auto", model: str | None = None) -> Editor:
    """Build the backend called `name`; `auto` picks a GPU model only when it can really run.

    A backend that was named explicitly and cannot load raises; it is never silently swapped for another one.
    """
    name = (name or "auto").strip().lower()
    if name in ("auto", "classic"):
        from editor.classic.backend import ClassicEditor

        return ClassicEditor()
    raise ValueError(f"Unknown editor backend {name!r}; choose one of: auto, {', '.join(BACKENDS)}.")
