"""Reviewer accounts and sessions: argon2 hashes, vague failures, lockout, expiry, Hugging Face lists."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from db.engine import run_write
from db.models import ReviewerSession, User
from review.auth import MAX_FAILURES, AuthError, Authenticator, add_user

PW = "correct horse battery staple"


@pytest.fixture
def auth(rt):
    add_user(rt.session_factory, "alice", "reviewer", PW)
    add_user(rt.session_factory, "root", "admin", PW + "!")
    return Authenticator(rt.session_factory, reviewers="bob, org:acme", admins="carol")


def test_passwords_are_hashed_with_argon2(rt, auth):
    with rt.session_factory() as s:
        stored = s.scalar(select(User.password_hash).where(User.name == "alice"))
    assert stored.startswith("$argon2id$") and PW not in stored


@pytest.mark.parametrize("name,role,pw,code", [
    ("alice", "reviewer", PW, "auth.exists"),
    ("bad name!", "reviewer", PW, "auth.bad_name"),
    ("dave", "boss", PW, "auth.bad_role"),
    ("dave", "reviewer", "short", "auth.weak_password"),
])
def test_add_user_refuses_bad_input(rt, auth, name, role, pw, code):
    with pytest.raises(AuthError) as err:
        add_user(rt.session_factory, name, role, pw)
    assert err.value.code == code


def test_sign_in_resolve_and_sign_out(rt, auth):
    token = auth.sign_in("alice", PW)
    who = auth.resolve(token)
    assert (who.name, who.role, who.is_admin) == ("alice", "reviewer", False)
    assert auth.resolve(auth.sign_in("root", PW + "!")).is_admin
    with rt.session_factory() as s:
        assert token not in {r.token_sha256 for r in s.scalars(select(ReviewerSession))}  # only hashes are stored
    auth.sign_out(token)
    assert auth.resolve(token) is None
    assert auth.resolve("") is None and auth.resolve("forged") is None and auth.resolve(None) is None


def test_failures_are_vague_and_lock_out(rt, auth):
    for name, pw in (("alice", "wrong"), ("nobody", PW)):
        with pytest.raises(AuthError) as err:
            auth.sign_in(name, pw)
        assert str(err.value) == "The name or the password is wrong."
    for _ in range(MAX_FAILURES):
        with pytest.raises(AuthError):
            auth.sign_in("alice", "guess")
    with pytest.raises(AuthError) as err:
        auth.sign_in("alice", PW)  # even the right password waits out the lock
    assert err.value.code == "auth.locked"


def test_expired_sessions_are_refused(rt, auth):
    token = auth.sign_in("alice", PW)
    run_write(rt.session_factory, lambda s: s.execute(update(ReviewerSession).values(
        expires_at=datetime.now(timezone.utc) - timedelta(minutes=1))))
    assert auth.resolve(token) is None


def test_hugging_face_reviewers_from_the_environment(auth):
    assert auth.from_oauth({"preferred_username": "Bob"}).role == "reviewer"
    assert auth.from_oauth({"preferred_username": "carol"}).role == "admin"
    assert auth.from_oauth({"preferred_username": "eve", "orgs": [{"preferred_username": "acme"}]}).role == "reviewer"
    assert auth.from_oauth({"preferred_username": "mallory"}) is None
    assert auth.from_oauth(None) is None
