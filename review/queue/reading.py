"""Reading the queue: pages of items, one item in full, stats, per-reviewer agreement, the export rows."""
from __future__ import annotations

import statistics
from datetime import timedelta
from typing import Iterator

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from db.models import Appeal, EditRecord, Event, ReferenceWork, RequestImage, ReviewItem, SimilarityMatch, VerdictRecord
from review.queue.states import FINAL_STATES, OPEN_STATES, PAGE_SIZE, QueueError, aware, utcnow


class QueueReader:
    """The read side of `ReviewQueue`: nothing here changes a row."""

    def __init__(self, factory: sessionmaker[Session], clock=utcnow):
        self._factory = factory
        self._clock = clock

    def appeal_agreement(self) -> list[dict]:
        """Per first reviewer: how many of their appealed decisions a second reviewer settled, and how many upheld."""
        with self._factory() as s:
            rows = s.execute(select(Appeal.first_decider, func.count(Appeal.id),
                                    func.sum(case((Appeal.outcome == "upheld", 1), else_=0)))
                             .where(Appeal.outcome.is_not(None)).group_by(Appeal.first_decider)
                             .order_by(Appeal.first_decider)).all()
        return [{"reviewer": who, "appealed": n, "upheld": int(up or 0), "agreement": round((up or 0) / n, 3)}
                for who, n, up in rows]

    # ---- reading --------------------------------------------------------------------------------------------
    def list(self, *, status: str = "open", reason: str | None = None, label: str | None = None,
             category: str | None = None, min_age_minutes: float | None = None, page: int = 1,
             page_size: int = PAGE_SIZE) -> tuple[list[dict], int]:
        """One page of items, most urgent first, and the total that match the filters."""
        now = self._clock()
        states = OPEN_STATES if status == "open" else FINAL_STATES if status == "decided" else (status,)
        conds = [ReviewItem.status.in_(states)]
        for prefix, value in (("reason", reason), ("label", label), ("cat", category)):
            if value:
                conds.append(ReviewItem.tags.contains(f"|{prefix}:{value}|", autoescape=True))
        if min_age_minutes:
            conds.append(ReviewItem.created_at <= now - timedelta(minutes=float(min_age_minutes)))
        page = max(1, int(page))
        cols = (ReviewItem.id, ReviewItem.request_id, ReviewItem.status, ReviewItem.reasons, ReviewItem.priority,
                ReviewItem.created_at, ReviewItem.claimed_by, ReviewItem.lease_expires_at, ReviewItem.escalated,
                ReviewItem.decided_by, ReviewItem.decided_at)
        order = (ReviewItem.priority.desc(), ReviewItem.created_at, ReviewItem.id)
        with self._factory() as s:
            total = s.scalar(select(func.count(ReviewItem.id)).where(*conds))
            # Page through ids only (the order index covers them), then read the 50 rows of the page.
            ids = s.scalars(select(ReviewItem.id).where(*conds).order_by(*order)
                            .offset((page - 1) * page_size).limit(page_size)).all()
            rows = s.execute(select(*cols).where(ReviewItem.id.in_(ids)).order_by(*order)).all() if ids else []
        items = []
        for r in rows:
            lease = aware(r.lease_expires_at)
            expired = r.status == "claimed" and lease is not None and lease < now
            items.append({
                "id": r.id, "request_id": r.request_id,
                "status": ("escalated" if r.escalated else "pending") if expired else r.status,
                "reasons": list(r.reasons), "priority": r.priority, "escalated": r.escalated,
                "age_minutes": round((now - aware(r.created_at)).total_seconds() / 60, 1),
                "created_at": aware(r.created_at).isoformat(),
                "claimed_by": None if expired else r.claimed_by,
                "decided_by": r.decided_by, "decided_at": aware(r.decided_at).isoformat() if r.decided_at else None,
            })
        return items, total

    def detail(self, item_id: int) -> dict:
        """Everything the item view shows: the request, its images, verdicts with evidence, matches, history."""
        with self._factory() as s:
            item = self._get(s, item_id)
            req = s.scalar(select(EditRecord).where(EditRecord.id == item.request_id).options(
                selectinload(EditRecord.images).selectinload(RequestImage.image),
                selectinload(EditRecord.verdicts),
                selectinload(EditRecord.matches).selectinload(SimilarityMatch.reference)
                .selectinload(ReferenceWork.image)))
            events = s.scalars(select(Event).where(Event.request_id == item.request_id).order_by(Event.id)).all()
            appeal = s.scalar(select(Appeal).where(Appeal.request_id == item.request_id))
            return {
                "appeal": {"text": appeal.text, "first_decider": appeal.first_decider, "outcome": appeal.outcome,
                           "created_at": aware(appeal.created_at)} if appeal else None,
                "item": {"id": item.id, "status": item.status, "claimed_by": item.claimed_by,
                         "lease_expires_at": aware(item.lease_expires_at), "escalated": item.escalated,
                         "decided_by": item.decided_by, "decided_at": aware(item.decided_at),
                         "decision_reason": item.decision_reason, "decision_note": item.decision_note,
                         "reasons": list(item.reasons), "priority": item.priority},
                "request": {"id": req.id, "instruction": req.instruction, "negative_prompt": req.negative_prompt,
                            "params": dict(req.params), "backend": req.backend, "model": req.model_id,
                            "model_license": req.model_license, "requester": req.requester,
                            "created_at": aware(req.created_at), "policy_mode": req.policy_mode,
                            "applied": list(req.applied)},
                "images": [{"role": ri.role, "position": ri.position, "relpath": ri.image.relpath}
                           for ri in req.images],
                "verdicts": [{"target": v.target, "position": v.position, "label": v.label, "guard": v.guard,
                              "categories": list(v.categories), "available": v.available,
                              "evidence": [e for e in v.evidence if "rule" in e]} for v in req.verdicts],
                "matches": [{"target": m.target, "position": m.position, "reference_id": m.reference_id,
                             "title": m.reference.title, "owner": m.reference.owner, "license": m.reference.license,
                             "source": m.reference.source, "distance": m.distance, "level": m.level,
                             "hash_kind": m.hash_kind, "score": m.score, "view": m.view, "evidence": m.evidence,
                             "reference_relpath": m.reference.image.relpath} for m in req.matches],
                "events": [{"at": aware(e.at), "actor": e.actor, "kind": e.kind, "payload": dict(e.payload)}
                           for e in events],
            }

    def export(self) -> Iterator[dict]:
        """Every queued item with its request, verdicts and decision: the rows of the CSV and JSONL exports."""
        with self._factory() as s:
            q = (select(ReviewItem).order_by(ReviewItem.id)
                 .options(selectinload(ReviewItem.request).selectinload(EditRecord.verdicts)))
            for item in s.scalars(q).yield_per(500):
                req = item.request
                instr = next((v for v in req.verdicts if v.target == "instruction"), None)
                outs = [v for v in req.verdicts if v.target == "output"]
                yield {
                    "id": req.id, "item_id": item.id, "status": item.status, "reasons": list(item.reasons),
                    "created_at": aware(item.created_at).isoformat(),
                    "decided_by": item.decided_by,
                    "decided_at": aware(item.decided_at).isoformat() if item.decided_at else None,
                    "decision_reason": item.decision_reason, "decision_note": item.decision_note,
                    "escalated": item.escalated, "instruction": req.instruction, "backend": req.backend,
                    "model": req.model_id, "requester_kind": (req.requester or "anonymous").split(":")[0],
                    "instruction_label": instr.label if instr else None,
                    "instruction_categories": list(instr.categories) if instr else [],
                    "output_labels": [v.label for v in outs],
                    "output_categories": sorted({c for v in outs for c in v.categories}),
                }

    def stats(self) -> dict:
        """Counts by status, label and category per day; time to decision; per-reviewer throughput."""
        with self._factory() as s:
            by_status = dict(s.execute(select(ReviewItem.status, func.count()).group_by(ReviewItem.status)).all())
            day = func.date(ReviewItem.created_at)
            per_day = [{"day": d, "status": st, "count": n} for d, st, n in s.execute(
                select(day, ReviewItem.status, func.count()).group_by(day, ReviewItem.status).order_by(day)).all()]
            labels = [{"label": lab, "count": n} for lab, n in s.execute(
                select(VerdictRecord.label, func.count()).join(ReviewItem, ReviewItem.request_id == VerdictRecord.request_id)
                .group_by(VerdictRecord.label)).all()]
            cats: dict[str, int] = {}
            for (categories,) in s.execute(select(VerdictRecord.categories).join(
                    ReviewItem, ReviewItem.request_id == VerdictRecord.request_id)):
                for c in categories or []:
                    cats[c] = cats.get(c, 0) + 1
            decided = s.execute(select(ReviewItem.decided_by, ReviewItem.created_at, ReviewItem.decided_at,
                                       func.date(ReviewItem.decided_at))
                                .where(ReviewItem.decided_at.is_not(None))).all()
        waits = [(aware(d) - aware(c)).total_seconds() / 60 for _, c, d, _ in decided]
        throughput: dict[tuple, int] = {}
        for who, _, _, d in decided:
            throughput[(who, d)] = throughput.get((who, d), 0) + 1
        return {
            "by_status": by_status,
            "per_day": per_day,
            "labels": labels,
            "categories": [{"category": c, "count": n} for c, n in sorted(cats.items(), key=lambda x: -x[1])],
            "median_minutes_to_decision": round(statistics.median(waits), 1) if waits else None,
            "decisions": len(waits),
            "throughput": [{"reviewer": w, "day": d, "decisions": n} for (w, d), n in sorted(throughput.items())],
        }

    @staticmethod
    def _get(s: Session, item_id: int) -> ReviewItem:
        item = s.get(ReviewItem, item_id)
        if item is None:
            raise QueueError(f"There is no review item #{item_id}.", "queue.not_found", item=item_id)
        return item
