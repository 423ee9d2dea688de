"""What every console tab shares: who is signed in, the request's language, errors in words."""
from __future__ import annotations

import logging
import os

import gradio as gr

from db.engine import StorageUnavailable
from errors import UserError
from review.queue.accounts import SESSION_COOKIE, Reviewer
from ui import render
from ui.strings import error_message, language, t

log = logging.getLogger(__name__)


def request_language(request: gr.Request | None) -> str:
    """The page's language for this request (its Accept-Language header); English without a request."""
    return language(request.headers.get("accept-language") if request else None)


def session_token(request) -> str | None:
    return (getattr(request, "cookies", None) or {}).get(SESSION_COOKIE) if request else None


def signed_in(rt, request) -> Reviewer:
    """The signed-in reviewer, read afresh from the HttpOnly session cookie on every call (never from an event's
    inputs), so a direct API call without a session is refused and a disabled account stops at its next click."""
    who = rt.auth.resolve(session_token(request))
    if who is None:
        raise gr.Error(t(request_language(request), "need_signin"))
    return who


def signed_in_admin(rt, request, refusal: str) -> Reviewer:
    """The signed-in reviewer when an admin; anyone else is refused with the `refusal` string."""
    who = signed_in(rt, request)
    if who.role != "admin":
        raise gr.Error(t(request_language(request), refusal))
    return who


def oauth_enabled() -> bool:
    """Hugging Face sign-in is offered only on a Space with hf_oauth set up."""
    return bool(os.environ.get("SPACE_ID") and os.environ.get("OAUTH_CLIENT_ID"))


def failure_html(lang: str, exc: Exception, title: str = "review_error_title", words=error_message) -> str:
    """A refused console action in words, headed for the console (not "The edit could not be done").

    `words(lang, code, params)` says a known error (a tab may translate its own parameters); anything else is logged
    and shown as the general error, never as a trace."""
    if isinstance(exc, (UserError, StorageUnavailable)):  # StorageUnavailable's own code says busy or gone
        return render.error_html(lang, words(lang, exc.code, getattr(exc, "params", {})), title)
    log.exception("console action failed")
    return render.error_html(lang, error_message(lang, "error", {}), title)
