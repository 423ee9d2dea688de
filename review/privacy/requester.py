"""The requester's side: who they are (a pseudonym), their own edits and what they may see of each.

A requester is known by a random id in a server-signed HttpOnly cookie (set by ui/web.py), or by their Hugging Face
account. Neither is ever stored: the records and the event log carry a random pseudonym, found again through a keyed
hash of the credential (RequesterKey). "Delete my data" deletes that link, so the pseudonym left in the append-only
log can no longer be tied to the person.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timezone

from itsdangerous import BadSignature, Signer
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from db.engine import run_write
from db.models import EditRecord, RequesterKey, RequestImage

REQUESTER_COOKIE = "editguard_requester"

VISIBLE = ("released", "approved")  # full image shown; pending is blurred; rejected and blocked show a reason only


def _signer(secret: str) -> Signer:
    return Signer(secret or "editguard", salt="editguard-requester")


def new_requester_cookie(secret: str) -> str:
    """A fresh random id, signed by the server, for the requester cookie."""
    return _signer(secret).sign(secrets.token_hex(16)).decode()


def cookie_id(secret: str, value: str | None) -> str | None:
    """The id inside a requester cookie this server signed; None for a missing, forged or mangled one."""
    if not value or len(value) > 200:
        return None
    try:
        return _signer(secret).unsign(value).decode()
    except BadSignature:
        return None


def credential_of(secret: str, request=None, profile=None) -> str | None:
    """The caller's requester credential: their Hub account when signed in with one (so My edits follows them to any
    browser or device), else their signed per-browser cookie; None for a caller with neither (an API client)."""
    username = _hub_username(profile)
    if username:
        return f"hf:{username}"
    cookies = getattr(request, "cookies", None) or {}
    cid = cookie_id(secret, cookies.get(REQUESTER_COOKIE))
    return f"cookie:{cid}" if cid else None


_HUB_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,95}$")  # Hugging Face user names (case-insensitive)


def _hub_username(profile) -> str | None:
    if not profile:
        return None
    name = getattr(profile, "username", None) or (profile.get("preferred_username") if hasattr(profile, "get") else None)
    name = (name or "").strip().lower()
    return name if _HUB_NAME.match(name) else None


def _lookup(secret: str, credential: str) -> str:
    return hmac.new((secret or "editguard").encode(), b"requester:" + credential.encode(), hashlib.sha256).hexdigest()


def pseudonym_for(factory, secret: str, credential: str | None, create: bool = False) -> str | None:
    """The pseudonym this credential's records carry (made on first use when `create`)."""
    if not credential:
        return None
    key = _lookup(secret, credential)
    with factory() as s:
        found = s.scalar(select(RequesterKey.pseudonym).where(RequesterKey.lookup == key))
    if found or not create:
        return found

    def work(s):
        s.add(RequesterKey(lookup=key, pseudonym="p:" + secrets.token_hex(12)))
    try:
        run_write(factory, work)
    except IntegrityError:  # another request of the same person made it first
        pass
    with factory() as s:
        return s.scalar(select(RequesterKey.pseudonym).where(RequesterKey.lookup == key))


def requester_for(rt, request=None, profile=None, create: bool = False) -> str | None:
    """Who the caller is as a requester, as the pseudonym their records carry; None for a caller with no cookie and
    no Hub account (their edits are anonymous: nobody can list or delete them later)."""
    return pseudonym_for(rt.session_factory, rt.secret, credential_of(rt.secret, request, profile), create)


def forget_requester(factory, secret: str, credential: str | None) -> None:
    """Sever the person from their pseudonym (after their records went): their next edit starts a new one."""
    if credential:
        run_write(factory, lambda s: s.execute(delete(RequesterKey).where(
            RequesterKey.lookup == _lookup(secret, credential))))


def may_see_full(factory, relpath: str, pseudonym: str | None) -> bool:
    """Whether a requester (or, with `pseudonym` None, anyone holding a link made for an anonymous edit) may see the
    stored picture unblurred: an input or reference of their edit, or an output of a released or approved one.
    Checked when the picture is fetched, so a pending or blocked result never goes out unblurred, whatever the link."""
    from db.models import ReviewItem, StoredImage

    mine = (EditRecord.requester == pseudonym) if pseudonym else EditRecord.requester.is_(None)
    shown_output = (RequestImage.role == "output") & ((EditRecord.decision == "released") | select(ReviewItem.id).where(
        ReviewItem.request_id == EditRecord.id, ReviewItem.status == "approved").exists())
    with factory() as s:
        return s.scalar(select(RequestImage.id).join(EditRecord, EditRecord.id == RequestImage.request_id)
                        .join(StoredImage, StoredImage.sha256 == RequestImage.image_sha256)
                        .where(mine, StoredImage.relpath == relpath,
                               RequestImage.role.in_(("input", "reference")) | shown_output).limit(1)) is not None


def owns_picture(factory, pseudonym: str | None, relpath: str) -> bool:
    """Whether one of this requester's edits uses the stored picture at `relpath` (input, reference or output)."""
    if not pseudonym:
        return False
    from db.models import StoredImage

    with factory() as s:
        return s.scalar(select(RequestImage.id).join(EditRecord, EditRecord.id == RequestImage.request_id)
                        .join(StoredImage, StoredImage.sha256 == RequestImage.image_sha256)
                        .where(EditRecord.requester == pseudonym, StoredImage.relpath == relpath).limit(1)) is not None


def status_of(decision: str, review_status: str | None) -> str:
    """released | pending | approved | rejected | blocked: what the requester is told."""
    if decision == "pending_review":
        return review_status if review_status in ("approved", "rejected") else "pending"
    return "released" if decision == "released" else "blocked"


def my_edits(factory, requester: str | None, limit: int = 30, offset: int = 0) -> list[dict]:
    """One page of the requester's records, newest first (`offset` records skipped)."""
    if not requester:
        return []
    with factory() as s:
        reqs = s.scalars(
            select(EditRecord).where(EditRecord.requester == requester)
            .order_by(EditRecord.created_at.desc(), EditRecord.id).offset(max(0, int(offset))).limit(limit)
            .options(selectinload(EditRecord.images).selectinload(RequestImage.image),
                     selectinload(EditRecord.review_item))
        ).all()
        from db.models import Appeal

        appealed = set(s.scalars(select(Appeal.request_id).where(Appeal.request_id.in_([r.id for r in reqs]))))
        out = []
        for r in reqs:
            item = r.review_item
            status = status_of(r.decision, item.status if item else None)
            out.append({
                "id": r.id,
                "created_at": r.created_at.replace(tzinfo=r.created_at.tzinfo or timezone.utc),
                "instruction": r.instruction,
                "status": status,
                "reasons": list(r.decision_reasons),
                "review_reason": item.decision_reason if item and status in ("approved", "rejected") else None,
                "outputs": [ri.image.relpath for ri in r.images if ri.role == "output"],
                "appealed": r.id in appealed,
            })
        return out
