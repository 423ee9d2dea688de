"""Errors meant for people: an English sentence plus a code and parameters the page translates."""
from __future__ import annotations


class UserError(ValueError):
    """Something the user can fix or should know; `str()` is a plain English sentence, never a traceback."""

    def __init__(self, message: str, code: str = "error", **params):
        super().__init__(message)
        self.code = code
        self.params = params
