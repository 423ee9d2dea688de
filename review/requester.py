"""The requester's side: their own edits and what they may see of each (never anyone else's)."""
from __future__ import annotations

import re
from datetime import timezone

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from db.models import EditRequest, RequestImage

VISIBLE = ("released", "approved")
_HUB_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,95}$")  # Hugging Face user names (case-insensitive)  # full image shown; pending is blurred; rejected and blocked show a reason only


def requester_for(request=None, profile=None, browser_id: str | None = None) -> str | None:
    """Who is asking, as stored in `edit_requests.requester`: the one place that decides it.

    Signed in with Hugging Face (a Space with `hf_oauth: true`): `hf:<username>`, so My edits follows the account to
    any browser or device. Otherwise the per-browser id the page keeps (`browser:<id>`), or None for a caller with
    neither (an API client): its edits are recorded but belong to nobody's My edits. `request` is unused today; it
    is here for whoever reads identity from a cookie later.
    """
    username = _hub_username(profile)
    if username:
        return f"hf:{username}"
    return f"browser:{browser_id}" if valid_browser_token(browser_id) else None


def valid_browser_token(token) -> bool:
    """Only ids the app made count: a caller of the API cannot pick a short, guessable one."""
    return isinstance(token, str) and len(token) == 32 and all(c in "0123456789abcdef" for c in token)


def _hub_username(profile) -> str | None:
    if not profile:
        return None
    name = getattr(profile, "username", None) or (profile.get("preferred_username") if hasattr(profile, "get") else None)
    name = (name or "").strip().lower()
    return name if _HUB_NAME.match(name) else None


def status_of(decision: str, review_status: str | None) -> str:
    """released | pending | approved | rejected | blocked: what the requester is told."""
    if decision == "pending_review":
        return review_status if review_status in ("approved", "rejected") else "pending"
    return "released" if decision == "released" else "blocked"


def my_edits(factory, requester: str | None, limit: int = 30) -> list[dict]:
    if not requester:
        return []
    with factory() as s:
        reqs = s.scalars(
            select(EditRequest).where(EditRequest.requester == requester)
            .order_by(EditRequest.created_at.desc()).limit(limit)
            .options(selectinload(EditRequest.images).selectinload(RequestImage.image),
                     selectinload(EditRequest.review_item))
        ).all()
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
            })
        return out
