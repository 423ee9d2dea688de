"""Reviewer and admin identities: local accounts (argon2 hashes) with console sessions, or Hugging Face sign-in.

Every reviewer action resolves the caller on the server from a session token or an OAuth profile; the page's hidden
buttons are never the security boundary.
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from db.engine import run_write
from db.models import Event, ReviewerSession, User
from editor.errors import UserError

ROLES = ("reviewer", "admin")
SESSION_HOURS = 12
MIN_PASSWORD = 10
MAX_FAILURES = 5  # failed sign-ins for one name within FAILURE_WINDOW_S before it is locked for that long
FAILURE_WINDOW_S = 300
_NAME = re.compile(r"^[\w.@-]{1,100}$")
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not a real password, used to keep timing even")


class AuthError(UserError):
    pass


@dataclass(frozen=True)
class Reviewer:
    name: str
    role: str  # reviewer | admin

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def add_user(factory: sessionmaker[Session], name: str, role: str, password: str) -> None:
    if not _NAME.match(name or ""):
        raise AuthError("A user name is 1-100 letters, digits, '.', '_', '-' or '@'.", "auth.bad_name")
    if role not in ROLES:
        raise AuthError(f"The role must be one of: {', '.join(ROLES)}.", "auth.bad_role")
    if len(password or "") < MIN_PASSWORD:
        raise AuthError(f"The password needs at least {MIN_PASSWORD} characters.", "auth.weak_password")

    def work(s: Session):
        if s.scalar(select(User.id).where(User.name == name)) is not None:
            raise AuthError(f"A user called {name!r} already exists.", "auth.exists")
        s.add(User(name=name, role=role, password_hash=_hasher.hash(password)))
        s.add(Event(actor="cli", kind="user.added", payload={"name": name, "role": role}))

    run_write(factory, work)


class Authenticator:
    """Signs local users in and resolves session tokens; knows the Hugging Face reviewers from the environment."""

    def __init__(self, factory: sessionmaker[Session], reviewers: str = "", admins: str = ""):
        self._factory = factory
        self._reviewers = _names(reviewers)
        self._admins = _names(admins)
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, factory: sessionmaker[Session]) -> "Authenticator":
        return cls(factory, os.environ.get("EDITGUARD_REVIEWERS", ""), os.environ.get("EDITGUARD_ADMINS", ""))

    def sign_in(self, name: str, password: str) -> str:
        """Check the password; return a new session token. One vague message for every failure."""
        name = (name or "").strip()
        if self._locked(name):
            raise AuthError("Too many failed sign-ins; please wait a few minutes.", "auth.locked")
        with self._factory() as s:
            user = s.scalar(select(User).where(User.name == name, User.active.is_(True)))
        try:
            _hasher.verify(user.password_hash if user else _DUMMY_HASH, password or "")
            ok = user is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok:
            self._fail(name)
            raise AuthError("The name or the password is wrong.", "auth.failed")
        return self._new_session(Reviewer(user.name, user.role), "local")

    def _new_session(self, who: Reviewer, via: str) -> str:
        token = secrets.token_urlsafe(32)
        now = datetime.now(timezone.utc)

        def work(s: Session):
            s.execute(delete(ReviewerSession).where(ReviewerSession.expires_at < now))
            s.add(ReviewerSession(token_sha256=_sha(token), name=who.name, role=who.role, created_at=now,
                                  expires_at=now + timedelta(hours=SESSION_HOURS)))
            s.add(Event(actor=who.name, kind="reviewer.signed_in", payload={"via": via}))

        run_write(self._factory, work)
        return token

    def resolve(self, token: str | None) -> Reviewer | None:
        if not token or not isinstance(token, str):
            return None
        with self._factory() as s:
            row = s.get(ReviewerSession, _sha(token))
            if row is None or _aware(row.expires_at) < datetime.now(timezone.utc):
                return None
            return Reviewer(row.name, row.role)

    def sign_out(self, token: str | None) -> None:
        if token:
            run_write(self._factory, lambda s: s.execute(delete(ReviewerSession).where(
                ReviewerSession.token_sha256 == _sha(token))))

    def from_oauth(self, profile) -> Reviewer | None:
        """A Hugging Face user listed in EDITGUARD_ADMINS / EDITGUARD_REVIEWERS (by name or `org:NAME`)."""
        if not profile:
            return None
        username = (getattr(profile, "username", None) or profile.get("preferred_username") or "").lower()
        orgs = {f"org:{(o.get('preferred_username') or o.get('name') or '').lower()}"
                for o in (profile.get("orgs") or []) if isinstance(o, dict)}
        ids = {username} | orgs
        if ids & self._admins:
            return Reviewer(f"hf:{username}", "admin")
        if ids & self._reviewers:
            return Reviewer(f"hf:{username}", "reviewer")
        return None

    def _locked(self, name: str) -> bool:
        with self._lock:
            recent = [t for t in self._failures.get(name, []) if t > time.monotonic() - FAILURE_WINDOW_S]
            self._failures[name] = recent
            return len(recent) >= MAX_FAILURES

    def _fail(self, name: str) -> None:
        with self._lock:
            self._failures.setdefault(name, []).append(time.monotonic())


def _names(raw: str) -> set[str]:
    return {n.strip().lower() for n in (raw or "").split(",") if n.strip()}


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
