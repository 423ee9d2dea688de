"""Errors meant for people: an English sentence plus a code and parameters the page translates."""
from __future__ import annotations


class UserError(ValueError):
    """Something the user can fix or should know; `str()` is a plain English sentence, never a traceback."""

    def __init__(self, message: str, code: str = "error", **params):
        super().__init__(message)
        self.code = code
        self.params = params


class BackendLoadError(UserError):
    """A backend that was asked for by name could not be loaded (it is never swapped for another one)."""

    def __init__(self, what: str, model: str, exc: Exception):
        super().__init__(f"Could not load {model!r} for {what}: {type(exc).__name__}: {exc}", "backend.load",
                         backend=what, model=model)
