"""Reviewer and admin identities: local accounts (argon2 hashes) or Hugging Face sign-in, one server-side session.

The browser holds only a random session token in an HttpOnly cookie (set by ui/web.py's /auth routes, never by a
Gradio event, whose inputs a browser may record); the database holds its hash. Every call re-reads the account behind
the session, so disabling an account, removing it or changing its role takes effect at the next click. Failed
sign-ins are counted in the database (every process sees them): one source is refused after a few guesses at one
account, while the account itself only gets slower to guess, so a stranger cannot lock the real reviewer out.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from db.engine import run_write
from db.models import Event, ReviewerSession, SignInFailure, User
from errors import UserError

ROLES = ("reviewer", "admin")
SESSION_HOURS = 12  # a session ends 12 hours after sign-in, or at sign-out, whichever is first
SESSION_COOKIE = "editguard_session"
MIN_PASSWORD = 10
THROTTLE_WINDOW_S = 900
SOURCE_LIMIT = 5  # failures at one account from one source within the window: that source is refused for a while
NAME_FREE = 5  # failures at one account from all sources before each further try is slowed down
MAX_DELAY_S = 3.0  # the slow-down grows with the failures, up to this many seconds per try
_NAME = re.compile(r"^[\w.@:-]{1,100}$")
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not a real password, used to keep timing even")
UNUSABLE_HASH = "!"  # Hugging Face accounts have no password here


class AuthError(UserError):
    pass


@dataclass(frozen=True)
class Reviewer:
    name: str
    role: str  # reviewer | admin

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _check_name(name: str) -> None:
    if not _NAME.match(name or "") or (name or "").startswith("hf:"):
        raise AuthError("A user name is 1-100 letters, digits, '.', '_', '-' or '@'.", "auth.bad_name")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AuthError(f"The role must be one of: {', '.join(ROLES)}.", "auth.bad_role")


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise AuthError(f"The password needs at least {MIN_PASSWORD} characters.", "auth.weak_password")


def add_user(factory: sessionmaker[Session], name: str, role: str, password: str, actor: str = "cli") -> None:
    _check_name(name)
    _check_role(role)
    _check_password(password)

    def work(s: Session):
        if s.scalar(select(User.id).where(User.name == name)) is not None:
            raise AuthError(f"A user called {name!r} already exists.", "auth.exists", name=name)
        s.add(User(name=name, role=role, password_hash=_hasher.hash(password)))
        s.add(Event(actor=actor, kind="user.added", payload={"name": name, "role": role}))

    run_write(factory, work)


# ---- account administration (CLI `users ...` and the console's Accounts page) ---------------------------------------

def list_users(factory: sessionmaker[Session]) -> list[dict]:
    now = datetime.now(timezone.utc)
    with factory() as s:
        open_sessions = dict(s.execute(select(ReviewerSession.name, func.count()).where(
            ReviewerSession.expires_at > now).group_by(ReviewerSession.name)).all())
        return [{"name": u.name, "role": u.role, "active": u.active, "created_at": _aware(u.created_at),
                 "via": "huggingface" if u.name.startswith("hf:") else "password",
                 "open_sessions": open_sessions.get(u.name, 0)}
                for u in s.scalars(select(User).order_by(User.name))]


def _change(factory, actor: str, name: str, kind: str, payload: dict, apply, revoke: bool) -> None:
    def work(s: Session):
        user = s.scalar(select(User).where(User.name == name))
        if user is None:
            raise AuthError(f"There is no account called {name!r}.", "auth.no_user", name=name)
        apply(s, user)
        if revoke:
            s.execute(delete(ReviewerSession).where(ReviewerSession.name == name))
        s.add(Event(actor=actor, kind=kind, payload={"name": name, **payload}))

    run_write(factory, work)


def _not_self(actor: str, name: str) -> None:
    if actor == name:
        raise AuthError("You cannot change your own account here; ask another admin.", "auth.self")


def set_active(factory, actor: str, name: str, active: bool) -> None:
    """Disable (its open sessions end at once) or enable an account."""
    _not_self(actor, name)
    _change(factory, actor, name, "user.enabled" if active else "user.disabled", {},
            lambda s, u: setattr(u, "active", active), revoke=not active)


def set_role(factory, actor: str, name: str, role: str) -> None:
    _check_role(role)
    _not_self(actor, name)
    if name.startswith("hf:"):
        raise AuthError("A Hugging Face account's role comes from EDITGUARD_ADMINS / EDITGUARD_REVIEWERS.",
                        "auth.hf_role")
    _change(factory, actor, name, "user.role_set", {"role": role}, lambda s, u: setattr(u, "role", role), revoke=False)


def reset_password(factory, actor: str, name: str, password: str | None = None) -> str:
    """Set a new password (a random one when none is given, to hand over once); open sessions end."""
    if name.startswith("hf:"):
        raise AuthError("A Hugging Face account signs in with Hugging Face; it has no password here.", "auth.hf_password")
    password = password or secrets.token_urlsafe(12)
    _check_password(password)
    hashed = _hasher.hash(password)
    _change(factory, actor, name, "user.password_reset", {}, lambda s, u: setattr(u, "password_hash", hashed),
            revoke=True)
    return password


def remove_user(factory, actor: str, name: str) -> None:
    _not_self(actor, name)
    _change(factory, actor, name, "user.removed", {}, lambda s, u: s.delete(u), revoke=True)


# ---- sign-in and sessions -------------------------------------------------------------------------------------------

class Authenticator:
    """Signs users in, keeps their sessions in the database, and resolves a session token to who it is right now."""

    def __init__(self, factory: sessionmaker[Session], reviewers: str = "", admins: str = "", secret: str = ""):
        self._factory = factory
        self._reviewers = _names(reviewers)
        self._admins = _names(admins)
        self._secret = (secret or "editguard").encode()

    @classmethod
    def from_env(cls, factory: sessionmaker[Session], secret: str = "") -> "Authenticator":
        return cls(factory, os.environ.get("EDITGUARD_REVIEWERS", ""), os.environ.get("EDITGUARD_ADMINS", ""), secret)

    def delay_for(self, name: str) -> float:
        """Seconds to wait before checking a password for `name`: grows with its recent failures from anywhere."""
        with self._factory() as s:
            n = s.scalar(select(func.count()).where(SignInFailure.name == _key_name(name),
                                                    SignInFailure.at > _ago(THROTTLE_WINDOW_S))) or 0
        return 0.0 if n < NAME_FREE else min(MAX_DELAY_S, 0.25 * 2 ** (n - NAME_FREE))

    def sign_in(self, name: str, password: str, source: str = "") -> str:
        """Check the password; return a new session token. One vague message for every failure."""
        name = (name or "").strip()[:100]
        src = self._source(source)
        with self._factory() as s:
            tries = s.scalar(select(func.count()).where(SignInFailure.name == _key_name(name),
                                                        SignInFailure.source == src,
                                                        SignInFailure.at > _ago(THROTTLE_WINDOW_S))) or 0
            if tries >= SOURCE_LIMIT:
                raise AuthError("Too many failed sign-ins; please wait a few minutes.", "auth.locked")
            user = s.scalar(select(User).where(User.name == name, User.active.is_(True),
                                               ~User.name.startswith("hf:")))
        try:
            _hasher.verify(user.password_hash if user else _DUMMY_HASH, password or "")
            ok = user is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok:
            def fail(s: Session):
                s.execute(delete(SignInFailure).where(SignInFailure.at < _ago(THROTTLE_WINDOW_S)))
                s.add(SignInFailure(name=_key_name(name), source=src))
            run_write(self._factory, fail)
            raise AuthError("The name or the password is wrong.", "auth.failed")
        return self._new_session(user.name, user.role, "local")

    def sign_in_oauth(self, profile) -> str | None:
        """A listed Hugging Face user gets the same kind of session as a local one (and an account row, so an admin
        can disable it); anyone else gets None."""
        who = self.from_oauth(profile)
        if who is None:
            return None

        def work(s: Session):
            user = s.scalar(select(User).where(User.name == who.name))
            if user is None:
                s.add(User(name=who.name, role=who.role, password_hash=UNUSABLE_HASH))
                s.add(Event(actor="system", kind="user.added", payload={"name": who.name, "role": who.role,
                                                                        "via": "huggingface"}))
                return True
            user.role = who.role
            return user.active

        return self._new_session(who.name, who.role, "huggingface") if run_write(self._factory, work) else None

    def _new_session(self, name: str, role: str, via: str) -> str:
        token = secrets.token_urlsafe(32)
        now = datetime.now(timezone.utc)

        def work(s: Session):
            s.execute(delete(ReviewerSession).where(ReviewerSession.expires_at < now))
            s.add(ReviewerSession(token_sha256=session_id(token), name=name, role=role, created_at=now,
                                  expires_at=now + timedelta(hours=SESSION_HOURS)))
            s.add(Event(actor=name, kind="reviewer.signed_in", payload={"via": via}))

        run_write(self._factory, work)
        return token

    def resolve(self, token: str | None) -> Reviewer | None:
        """Who holds this session token now: the account must still exist and be enabled; its role is read afresh."""
        if not token or not isinstance(token, str) or len(token) > 200:
            return None
        with self._factory() as s:
            row = s.get(ReviewerSession, session_id(token))
            if row is None or _aware(row.expires_at) < datetime.now(timezone.utc):
                return None
            user = s.scalar(select(User).where(User.name == row.name))
            if user is None or not user.active:
                return None
            if user.name.startswith("hf:"):  # the environment's lists decide, every time
                by_name = self._listed(user.name[3:], set())
                by_org = any(n.startswith("org:") for n in self._admins | self._reviewers)
                return by_name or (Reviewer(user.name, user.role) if by_org else None)
            return Reviewer(user.name, user.role)

    def sign_out(self, token: str | None) -> None:
        if token and isinstance(token, str):
            def work(s: Session):
                row = s.get(ReviewerSession, session_id(token))
                if row is not None:
                    s.delete(row)
                    s.add(Event(actor=row.name, kind="reviewer.signed_out", payload={}))
            run_write(self._factory, work)

    def from_oauth(self, profile) -> Reviewer | None:
        """A Hugging Face user listed in EDITGUARD_ADMINS / EDITGUARD_REVIEWERS (by name or `org:NAME`)."""
        if not profile:
            return None
        username = (getattr(profile, "username", None) or profile.get("preferred_username") or "").lower()
        if not username:
            return None
        orgs = {f"org:{(o.get('preferred_username') or o.get('name') or '').lower()}"
                for o in (profile.get("orgs") or []) if isinstance(o, dict)}
        return self._listed(username, orgs)

    def _listed(self, username: str, orgs: set[str]) -> Reviewer | None:
        ids = {username} | orgs
        if ids & self._admins:
            return Reviewer(f"hf:{username}", "admin")
        if ids & self._reviewers:
            return Reviewer(f"hf:{username}", "reviewer")
        return None

    def _source(self, source: str) -> str:
        return hmac.new(self._secret, b"source:" + (source or "").encode(), hashlib.sha256).hexdigest()


def session_id(token: str) -> str:
    """What the database (and a picture URL bound to a session) knows of a token: its hash."""
    return hashlib.sha256(token.encode()).hexdigest()


def _key_name(name: str) -> str:
    return (name or "").strip().lower()[:100]


def _ago(seconds: float) -> datetime:
    return datetime.now(timezone.utc) - timedelta(seconds=seconds)


def _names(raw: str) -> set[str]:
    return {n.strip().lower() for n in (raw or "").split(",") if n.strip()}


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
