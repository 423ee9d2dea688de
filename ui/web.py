"""The web server: the Gradio page mounted on a FastAPI app whose own routes do what Gradio events must not.

- `POST /auth/signin`, `POST /auth/signout`, `GET /auth/hf`: sign-in is an ordinary form post, so the password is
  never the input of a Gradio event (Gradio can record those in the browser); the session token goes only into an
  HttpOnly, SameSite=Lax cookie (Secure on https) and the database keeps its hash.
- a middleware gives every browser a server-signed, HttpOnly requester cookie (review/requester.py).
- `GET /review/export.csv|jsonl`: the console's one-click export, for a signed-in reviewer's session cookie only.
- `GET /pictures/<token>`: stored pictures for the viewer their URL was made for (ui/pictures.py).
"""
from __future__ import annotations

import asyncio
import logging

import gradio as gr
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from errors import UserError
from review.queue.accounts import SESSION_COOKIE, SESSION_HOURS
from review.privacy.requester import REQUESTER_COOKIE, cookie_id, new_requester_cookie
from ui import pictures

log = logging.getLogger(__name__)
REQUESTER_COOKIE_DAYS = 365


def _secure(request: Request) -> bool:
    return (request.headers.get("x-forwarded-proto") or request.url.scheme).split(",")[0].strip() == "https"


def client_address(request: Request) -> str:
    """The caller's address for throttling. X-Forwarded-For is believed only on a Space (SPACE_ID set), where Hugging
    Face's proxy writes it; elsewhere any caller could write it and pick a fresh address for every guess (they would
    still meet the per-account slow-down)."""
    import os

    forwarded = request.headers.get("x-forwarded-for")
    if forwarded and os.environ.get("SPACE_ID"):
        return forwarded.split(",")[0].strip()
    return request.client.host if request.client else ""


def _same_origin(request: Request) -> bool:
    """A form post from another site (cross-site request forgery) carries a foreign Origin: refuse it."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    import os

    hosts = {request.headers.get("x-forwarded-host"), request.headers.get("host"), os.environ.get("SPACE_HOST")}
    return origin.split("://", 1)[-1] in hosts - {None, ""}


def _back(request: Request, outcome: str) -> RedirectResponse:
    """Back to the page's Review tab (303: the browser follows with a GET, so a reload never re-posts)."""
    return RedirectResponse(f"{request.scope.get('root_path', '')}/?tab=review&signin={outcome}", status_code=303)


def build_app(rt, page: gr.Blocks, **mount_kwargs) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def requester_cookie(request: Request, call_next):
        response = await call_next(request)
        if cookie_id(rt.secret, request.cookies.get(REQUESTER_COOKIE)) is None and request.method == "GET" \
                and request.url.path in ("/", ""):
            # On https it is partitioned (CHIPS) and SameSite=None, so My edits works inside the Space page on
            # huggingface.co (a third-party frame); a partitioned cookie only reaches this app under the same
            # top-level site, so another site framing the app gets none. Locally (http) it is SameSite=Lax.
            value, age = new_requester_cookie(rt.secret), REQUESTER_COOKIE_DAYS * 86400
            if _secure(request):  # written by hand: Python before 3.14 cannot write the Partitioned attribute
                response.headers.append("set-cookie", f"{REQUESTER_COOKIE}={value}; Max-Age={age}; Path=/; HttpOnly; "
                                                      "Secure; SameSite=None; Partitioned")
            else:
                response.set_cookie(REQUESTER_COOKIE, value, max_age=age, httponly=True, samesite="lax", path="/")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    @app.post("/auth/signin")
    async def signin(request: Request):
        if not _same_origin(request):
            return Response("Cross-site sign-in refused.", status_code=403)
        form = await request.form()
        name, password = str(form.get("name") or ""), str(form.get("password") or "")
        await asyncio.sleep(await run_in_threadpool(rt.auth.delay_for, name))  # slows guessing at one account
        try:
            token = await run_in_threadpool(rt.auth.sign_in, name, password, client_address(request))
        except UserError as exc:
            return _back(request, "locked" if exc.code == "auth.locked" else "failed")
        response = _back(request, "ok")
        _set_session(request, response, token)
        return response

    @app.post("/auth/signout")
    async def signout(request: Request):
        if not _same_origin(request):
            return Response("Cross-site sign-out refused.", status_code=403)
        await run_in_threadpool(rt.auth.sign_out, request.cookies.get(SESSION_COOKIE))
        response = _back(request, "out")
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request))
        if request.cookies.get("session"):  # Gradio's Hugging Face login (it holds the Hub access token)
            response.delete_cookie("session", path="/", httponly=True, samesite="none", secure=True)
        return response

    @app.get("/auth/hf")
    async def huggingface(request: Request):
        """After Gradio's Hugging Face login: the same kind of session as a password sign-in, for listed users."""
        token = await run_in_threadpool(rt.auth.sign_in_oauth, _gradio_oauth_profile(request))
        if token is None:
            return _back(request, "not_listed")
        response = _back(request, "ok")
        _set_session(request, response, token)
        return response

    @app.get("/review/export.{fmt}")
    async def export(fmt: str, request: Request):
        """The decisions as they are now, in one response: no file is left in any cache."""
        import io

        from review.queue.export import write_csv, write_jsonl

        who = await run_in_threadpool(rt.auth.resolve, request.cookies.get(SESSION_COOKIE))
        if who is None or fmt not in ("csv", "jsonl"):
            return Response(status_code=403 if who is None else 404, headers={"Cache-Control": "no-store"})
        buf = io.StringIO()
        await run_in_threadpool((write_csv if fmt == "csv" else write_jsonl), rt.queue.export(), buf)
        log.info("%s exported decisions as %s", who.name, fmt)
        media = "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson; charset=utf-8"
        return Response(buf.getvalue(), media_type=media, headers={
            "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff",
            "Content-Disposition": f'attachment; filename="editguard-decisions.{fmt}"'})

    @app.get(pictures.ROUTE + "{token}")
    async def picture(token: str, request: Request):
        try:
            path, kind, name = await run_in_threadpool(pictures.resolve, rt, token, dict(request.cookies),
                                                         _gradio_oauth_profile(request))
        except pictures.Refused as exc:
            return Response(status_code=exc.status, headers={"Cache-Control": "no-store"})
        headers = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}
        if kind == "blur":
            return Response(await run_in_threadpool(pictures.blurred_png, path), media_type="image/png", headers=headers)
        if kind == "outline":
            png = await run_in_threadpool(pictures.outlined_png, path, pictures.regions_of(rt, token))
            return Response(png, media_type="image/png", headers=headers)
        if name:
            return FileResponse(path, media_type="image/png", filename=name, headers=headers)
        return FileResponse(path, media_type="image/png", headers=headers)

    # run_history off: Gradio would otherwise record event inputs and outputs in the browser's localStorage.
    # ssr_mode off: the page must be served by this app (whose middleware sets the requester cookie), not a Node server.
    return gr.mount_gradio_app(app, page, path="/", run_history=False, ssr_mode=False, **mount_kwargs)


def _set_session(request: Request, response: Response, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_HOURS * 3600, httponly=True, samesite="lax",
                        secure=_secure(request), path="/")


def _gradio_oauth_profile(request: Request) -> dict | None:
    """The Hugging Face profile Gradio's OAuth routes keep in their signed session cookie (on a Space)."""
    import base64
    import hashlib
    import json
    import os

    from itsdangerous import BadSignature, TimestampSigner

    raw = request.cookies.get("session")
    if not raw or not os.environ.get("OAUTH_CLIENT_SECRET"):
        return None
    secret = hashlib.sha256((os.environ["OAUTH_CLIENT_SECRET"] + "-v4").encode()).hexdigest()
    try:
        data = json.loads(base64.b64decode(TimestampSigner(secret).unsign(raw.encode(), max_age=14 * 86400)))
    except (BadSignature, ValueError):
        return None
    return (data.get("oauth_info") or {}).get("userinfo")
