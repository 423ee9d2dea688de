"""The requester's side: their own edits and what they may see of each (never anyone else's)."""
from __future__ import annotations

from datetime import timezone

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from db.models import EditRequest, RequestImage

VISIBLE = ("released", "approved")  # full image shown; pending is blurred; rejected and blocked show a reason only


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
