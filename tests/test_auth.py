"""Reviewer accounts and sessions: argon2 hashes, vague failures, throttling, expiry, accounts administration,
roles read afresh, Hugging Face lists."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from db.engine import run_write
from db.models import Event, ReviewerSession, SignInFailure, User
from review.queue import accounts
from review.queue.accounts import NAME_FREE, SOURCE_LIMIT, AuthError, Authenticator, add_user

PW = "correct horse battery staple"


@pytest.fixture
def auth(rt):
    add_user(rt.session_factory, "alice", "reviewer", PW)
    add_user(rt.session_factory, "root", "admin", PW + "!")
    return Authenticator(rt.session_factory, reviewers="bob, org:acme", admins="carol", secret="test")


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


def test_failures_are_vague_and_throttled_per_source_without_locking_the_owner_out(rt, auth):
    for name, pw in (("alice", "wrong"), ("nobody", PW)):
        with pytest.raises(AuthError) as err:
            auth.sign_in(name, pw, source="198.51.100.7")
        assert str(err.value) == "The name or the password is wrong."
    for _ in range(SOURCE_LIMIT - 1):
        with pytest.raises(AuthError):
            auth.sign_in("alice", "guess", source="198.51.100.7")
    with pytest.raises(AuthError) as err:
        auth.sign_in("alice", PW, source="198.51.100.7")  # the guessing source waits, even with the right password
    assert err.value.code == "auth.locked"
    assert auth.delay_for("alice") > 0  # every source now waits a little longer per try at this account
    assert auth.delay_for("root") == 0
    assert auth.resolve(auth.sign_in("alice", PW, source="203.0.113.9")).name == "alice"  # the owner elsewhere: in
    with rt.session_factory() as s:  # shared through the database, and no address is stored
        sources = set(s.scalars(select(SignInFailure.source)))
    assert sources and not any("198.51" in x for x in sources)


def test_throttle_is_shared_by_every_process(rt, auth):
    other = Authenticator(rt.session_factory, secret="test")  # another process: same database, nothing in memory
    for _ in range(SOURCE_LIMIT):
        with pytest.raises(AuthError):
            auth.sign_in("alice", "guess", source="198.51.100.7")
    with pytest.raises(AuthError) as err:
        other.sign_in("alice", PW, source="198.51.100.7")
    assert err.value.code == "auth.locked"
    assert other.delay_for("alice") == auth.delay_for("alice") > 0
    assert NAME_FREE <= SOURCE_LIMIT


def test_role_and_account_state_are_read_on_every_call(rt, auth):
    token = auth.sign_in("alice", PW)
    accounts.set_role(rt.session_factory, "root", "alice", "admin")
    assert auth.resolve(token).is_admin  # no new sign-in needed
    accounts.set_active(rt.session_factory, "root", "alice", False)
    assert auth.resolve(token) is None
    accounts.set_active(rt.session_factory, "root", "alice", True)
    assert auth.resolve(token) is None  # disabling ended the session for good
    token = auth.sign_in("alice", PW)
    new = accounts.reset_password(rt.session_factory, "cli", "alice")
    assert auth.resolve(token) is None and len(new) >= 10
    assert auth.resolve(auth.sign_in("alice", new)).name == "alice"
    accounts.remove_user(rt.session_factory, "root", "alice")
    with pytest.raises(AuthError):
        auth.sign_in("alice", new)
    with pytest.raises(AuthError) as err:
        accounts.set_active(rt.session_factory, "root", "root", False)
    assert err.value.code == "auth.self"
    with rt.session_factory() as s:
        kinds = [e.kind for e in s.scalars(select(Event).where(Event.kind.like("user.%")).order_by(Event.id))]
    assert kinds == ["user.added", "user.added", "user.role_set", "user.disabled", "user.enabled",
                     "user.password_reset", "user.removed"]
    listed = {u["name"]: u for u in accounts.list_users(rt.session_factory)}
    assert "alice" not in listed and listed["root"]["role"] == "admin"


def test_expired_sessions_are_refused(rt, auth):
    token = auth.sign_in("alice", PW)
    run_write(rt.session_factory, lambda s: s.execute(update(ReviewerSession).values(
        expires_at=datetime.now(timezone.utc) - timedelta(minutes=1))))
    assert auth.resolve(token) is None


def test_hugging_face_sign_in_uses_the_same_sessions(rt, auth):
    token = auth.sign_in_oauth({"preferred_username": "Bob"})
    assert auth.resolve(token) == auth.from_oauth({"preferred_username": "bob"})
    accounts.set_active(rt.session_factory, "root", "hf:bob", False)
    assert auth.resolve(token) is None and auth.sign_in_oauth({"preferred_username": "bob"}) is None
    assert auth.sign_in_oauth({"preferred_username": "mallory"}) is None
    listed = Authenticator(rt.session_factory, reviewers="", admins="", secret="test")
    accounts.set_active(rt.session_factory, "root", "hf:bob", True)
    assert listed.resolve(auth.sign_in_oauth({"preferred_username": "bob"})) is None  # taken off the list: out


def test_hugging_face_reviewers_from_the_environment(auth):
    assert auth.from_oauth({"preferred_username": "Bob"}).role == "reviewer"
    assert auth.from_oauth({"preferred_username": "carol"}).role == "admin"
    assert auth.from_oauth({"preferred_username": "eve", "orgs": [{"preferred_username": "acme"}]}).role == "reviewer"
    assert auth.from_oauth({"preferred_username": "mallory"}) is None
    assert auth.from_oauth(None) is None
