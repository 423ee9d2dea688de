"""The server's own routes (ui/web.py), through FastAPI's test client: sign-in by form post into an HttpOnly
cookie, cross-site posts refused, Hugging Face sign-in into the same sessions, the requester cookie."""
import base64
import hashlib
import json
from pathlib import Path

import gradio as gr
import pytest
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner

from review.queue.accounts import SESSION_COOKIE, Authenticator, add_user
from review.privacy.requester import REQUESTER_COOKIE, cookie_id
from tests.conftest import tampered
from ui.web import build_app

PW = "correct horse battery staple"


@pytest.fixture
def client(rt, monkeypatch):
    monkeypatch.setenv("OAUTH_CLIENT_SECRET", "space-oauth-secret")
    rt.auth = Authenticator(rt.session_factory, reviewers="bob", admins="", secret=rt.secret)
    add_user(rt.session_factory, "alice", "reviewer", PW)
    with gr.Blocks() as page:
        gr.Markdown("page")
    with TestClient(build_app(rt, page), base_url="http://testserver") as c:
        yield c


def test_sign_in_sets_an_http_only_cookie_and_sign_out_revokes_it(rt, client):
    r = client.post("/auth/signin", data={"name": "alice", "password": PW}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("?tab=review&signin=ok")
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie and PW not in cookie
    token = r.cookies[SESSION_COOKIE]
    assert rt.auth.resolve(token).name == "alice"
    r = client.post("/auth/signout", cookies={SESSION_COOKIE: token}, follow_redirects=False)
    assert r.status_code == 303 and rt.auth.resolve(token) is None


def test_behind_https_the_cookie_is_secure(client):
    r = client.post("/auth/signin", data={"name": "alice", "password": PW}, follow_redirects=False,
                    headers={"x-forwarded-proto": "https"})
    assert "Secure" in r.headers["set-cookie"]


def test_a_wrong_password_sets_no_cookie(client):
    r = client.post("/auth/signin", data={"name": "alice", "password": "nope"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("signin=failed")
    assert SESSION_COOKIE not in r.headers.get("set-cookie", "")


def test_cross_site_posts_are_refused(rt, client):
    r = client.post("/auth/signin", data={"name": "alice", "password": PW}, follow_redirects=False,
                    headers={"origin": "https://evil.example"})
    assert r.status_code == 403 and SESSION_COOKIE not in r.headers.get("set-cookie", "")


def test_hugging_face_sign_in_gets_the_same_kind_of_session(rt, client):
    def gradio_session(username: str) -> str:
        secret = hashlib.sha256(b"space-oauth-secret-v4").hexdigest()
        data = base64.b64encode(json.dumps({"oauth_info": {"userinfo": {"preferred_username": username}}}).encode())
        return TimestampSigner(secret).sign(data).decode()

    r = client.get("/auth/hf", cookies={"session": gradio_session("Bob")}, follow_redirects=False)
    assert r.status_code == 303 and rt.auth.resolve(r.cookies[SESSION_COOKIE]).name == "hf:bob"
    r = client.get("/auth/hf", cookies={"session": gradio_session("mallory")}, follow_redirects=False)
    assert r.headers["location"].endswith("signin=not_listed") and SESSION_COOKIE not in r.cookies
    forged = tampered(gradio_session("Bob"))
    r = client.get("/auth/hf", cookies={"session": forged}, follow_redirects=False)
    assert SESSION_COOKIE not in r.cookies


def test_every_browser_gets_a_signed_http_only_requester_cookie(rt, client):
    r = client.get("/")
    assert "HttpOnly" in r.headers["set-cookie"] and cookie_id(rt.secret, r.cookies[REQUESTER_COOKIE])
    assert REQUESTER_COOKIE not in client.get("/", cookies={REQUESTER_COOKIE: r.cookies[REQUESTER_COOKIE]}) \
        .headers.get("set-cookie", "")


def test_a_forwarded_address_is_believed_only_behind_the_spaces_proxy(client):
    def guess(address: str):
        return client.post("/auth/signin", data={"name": "alice", "password": "guess"}, follow_redirects=False,
                           headers={"x-forwarded-for": address})

    for n in range(5):
        assert guess(f"198.51.100.{n}").headers["location"].endswith("signin=failed")
    assert guess("198.51.100.99").headers["location"].endswith("signin=locked")  # one caller, whatever it claims


def test_on_https_the_requester_cookie_is_partitioned_for_the_spaces_frame(client):
    cookie = client.get("/", headers={"x-forwarded-proto": "https"}).headers["set-cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "Partitioned" in cookie and "SameSite=None" in cookie


def test_gradio_cache_is_swept_on_schedule_in_the_mounted_app(rt, monkeypatch, tmp_path):
    """The page's `delete_cache` runs in the app as served (Gradio mounted on our FastAPI app): an upload in Gradio's
    cache is gone after the sweep's age, here shortened from (600 s, 1800 s) to one second."""
    import time

    from ui import page as page_module

    monkeypatch.setattr(page_module, "CACHE_SWEEP", (1, 1))
    page, _ = page_module.build_page(rt)
    src = tmp_path / "up.png"
    src.write_bytes(base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"))
    with TestClient(build_app(rt, page), base_url="http://testserver") as c:
        with src.open("rb") as fh:
            r = c.post("/gradio_api/upload", files={"files": ("up.png", fh, "image/png")})
        assert r.status_code == 200, r.text
        cached = r.json()[0]
        assert Path(cached).exists()
        deadline = time.monotonic() + 15
        while Path(cached).exists() and time.monotonic() < deadline:
            time.sleep(0.25)
        assert not Path(cached).exists(), "the cache sweep never removed the upload"
