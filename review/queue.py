"""The human review queue: list, claim with a lease, renew, release, decide exactly once; every action in the log.

States: pending -> claimed -> approved | rejected, or -> escalated (waits for an admin, who claims and decides it).
A claim is a lease: the holder's activity renews it; once it runs out the item is back in the queue for anyone.
Claiming is one UPDATE ... WHERE id = (first available) RETURNING id inside a write transaction (BEGIN IMMEDIATE on
SQLite, FOR UPDATE SKIP LOCKED on PostgreSQL), so two reviewers never get the same item and an available item is
always found. Deciding is a conditional UPDATE: a second decision changes nothing and says who decided first.
"""
from __future__ import annotations

import statistics
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterator

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.orm import Session, selectinload, sessionmaker

from db.engine import run_write
from db.models import EditRequest, Event, ReferenceWork, RequestImage, ReviewItem, SimilarityMatch, Verdict
from editor.errors import UserError
from review.auth import Reviewer

LEASE = timedelta(minutes=5)  # long enough to look closely; short enough that a closed tab frees the item soon
OPEN_STATES = ("pending", "claimed", "escalated")
FINAL_STATES = ("approved", "rejected")
DECISIONS = {"approve": "approved", "reject": "rejected", "escalate": "escalated"}
DECISION_REASONS = ("no_issue", "false_positive", "licensed_or_own_work", "public_domain", "copyright", "sexual",
                    "violence", "hate", "pii", "political", "self_harm", "illegal", "other")
MAX_NOTE_CHARS = 200_000
PAGE_SIZE = 50


class QueueError(UserError):
    pass


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def aware(dt: datetime | None) -> datetime | None:
    return dt if dt is None or dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def tags_for(reasons: list[str], verdicts) -> str:
    """The filter tags stored with an item: "|reason:x|label:y|cat:z|"."""
    tags = [f"reason:{r}" for r in reasons]
    for v in verdicts:
        if v.label.value != "Safe":
            tags.append(f"label:{v.label.value}")
            tags += [f"cat:{c}" for c in v.categories]
    tags = list(dict.fromkeys(tags))
    return "|" + "|".join(tags) + ("|" if tags else "")


@dataclass(frozen=True)
class Outcome:
    item_id: int
    status: str
    decided_by: str | None
    decided_at: datetime | None
    repeated: bool = False  # the same decision by the same reviewer was already recorded: nothing changed


class ReviewQueue:
    def __init__(self, factory: sessionmaker[Session], lease: timedelta = LEASE, clock=utcnow):
        self._factory = factory
        self.lease = lease
        self._clock = clock

    # ---- claiming -------------------------------------------------------------------------------------------
    def next(self, who: Reviewer) -> int | None:
        """Claim the most urgent available item (or return the one `who` already holds). None: the queue is empty."""
        now = self._clock()

        def work(s: Session) -> int | None:
            self._expire(s, now)
            held = s.scalar(select(ReviewItem.id).where(ReviewItem.status == "claimed",
                                                        ReviewItem.claimed_by == who.name).limit(1))
            if held is not None:
                self._set_lease(s, held, now)
                return held
            candidates = select(ReviewItem.id).where(self._available(who, now)).order_by(
                ReviewItem.escalated.desc() if who.is_admin else ReviewItem.priority.desc(),
                ReviewItem.priority.desc(), ReviewItem.created_at, ReviewItem.id).limit(1)
            if s.get_bind().dialect.name == "postgresql":
                candidates = candidates.with_for_update(skip_locked=True)
            item_id = s.scalar(update(ReviewItem).where(ReviewItem.id == candidates.scalar_subquery())
                               .values(status="claimed", claimed_by=who.name, lease_expires_at=now + self.lease)
                               .returning(ReviewItem.id))
            if item_id is not None:
                s.add(Event(actor=who.name, kind="review.claimed", request_id=self._request_id(s, item_id),
                            payload={"item": item_id}, at=now))
            return item_id

        return run_write(self._factory, work)

    def claim(self, who: Reviewer, item_id: int) -> None:
        """Claim one item picked from the list; refuses an item someone else holds or that is decided."""
        now = self._clock()

        def work(s: Session):
            self._expire(s, now)
            if s.execute(update(ReviewItem).where(ReviewItem.id == item_id, self._available(who, now))
                         .values(status="claimed", claimed_by=who.name, lease_expires_at=now + self.lease)).rowcount:
                s.add(Event(actor=who.name, kind="review.claimed", request_id=self._request_id(s, item_id),
                            payload={"item": item_id}, at=now))
                return
            item = self._get(s, item_id)
            if item.status == "claimed" and item.claimed_by == who.name:
                self._set_lease(s, item_id, now)
                return
            self._explain_refusal(item, who)

        run_write(self._factory, work)

    def renew(self, who: Reviewer, item_id: int) -> bool:
        """Extend the holder's lease (called on activity). False: the item is no longer held by `who`."""
        now = self._clock()
        return bool(run_write(self._factory, lambda s: s.execute(
            update(ReviewItem).where(ReviewItem.id == item_id, ReviewItem.status == "claimed",
                                     ReviewItem.claimed_by == who.name)
            .values(lease_expires_at=now + self.lease)).rowcount))

    def release(self, who: Reviewer, item_id: int) -> None:
        now = self._clock()

        def work(s: Session):
            back = case((ReviewItem.escalated.is_(True), "escalated"), else_="pending")
            if s.execute(update(ReviewItem).where(ReviewItem.id == item_id, ReviewItem.status == "claimed",
                                                  ReviewItem.claimed_by == who.name)
                         .values(status=back, claimed_by=None, lease_expires_at=None)).rowcount:
                s.add(Event(actor=who.name, kind="review.released", request_id=self._request_id(s, item_id),
                            payload={"item": item_id}, at=now))

        run_write(self._factory, work)

    # ---- deciding -------------------------------------------------------------------------------------------
    def decide(self, who: Reviewer, item_id: int, decision: str, reason: str, note: str = "") -> Outcome:
        """Approve, reject or escalate an item `who` holds. Exactly once: a repeat by the same person is a no-op;
        anyone else gets "already decided by X at T"."""
        if decision not in DECISIONS:
            raise QueueError(f"Unknown decision {decision!r}.", "queue.bad_decision")
        if reason not in DECISION_REASONS:
            raise QueueError("Choose a reason from the list.", "queue.bad_reason")
        note = _clean_note(note)
        status = DECISIONS[decision]
        now = self._clock()

        def work(s: Session) -> Outcome:
            final = status in FINAL_STATES
            values = dict(status=status, claimed_by=None, lease_expires_at=None, decision_reason=reason,
                          decision_note=note)
            if final:
                values.update(decided_by=who.name, decided_at=now)
            else:
                values.update(escalated=True)
            changed = s.execute(update(ReviewItem).where(
                ReviewItem.id == item_id, ReviewItem.status == "claimed", ReviewItem.claimed_by == who.name,
                or_(ReviewItem.escalated.is_(False), who.is_admin),
            ).values(**values)).rowcount
            item = self._get(s, item_id)
            if changed:
                s.add(Event(actor=who.name, kind=f"review.{status}", request_id=item.request_id,
                            payload={"item": item_id, "reason": reason, "note": note}, at=now))
                return Outcome(item_id, status, item.decided_by, aware(item.decided_at))
            if item.status == status and (item.decided_by == who.name or (not final and item.escalated)):
                return Outcome(item_id, status, item.decided_by, aware(item.decided_at), repeated=True)
            self._explain_refusal(item, who)

        return run_write(self._factory, work)

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
        with self._factory() as s:
            total = s.scalar(select(func.count(ReviewItem.id)).where(*conds))
            rows = s.execute(
                select(ReviewItem.id, ReviewItem.request_id, ReviewItem.status, ReviewItem.reasons,
                       ReviewItem.priority, ReviewItem.created_at, ReviewItem.claimed_by, ReviewItem.lease_expires_at,
                       ReviewItem.escalated, ReviewItem.decided_by, ReviewItem.decided_at)
                .where(*conds)
                .order_by(ReviewItem.priority.desc(), ReviewItem.created_at, ReviewItem.id)
                .offset((page - 1) * page_size).limit(page_size)
            ).all()
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
            req = s.scalar(select(EditRequest).where(EditRequest.id == item.request_id).options(
                selectinload(EditRequest.images).selectinload(RequestImage.image),
                selectinload(EditRequest.verdicts),
                selectinload(EditRequest.matches).selectinload(SimilarityMatch.reference)
                .selectinload(ReferenceWork.image)))
            events = s.scalars(select(Event).where(Event.request_id == item.request_id).order_by(Event.id)).all()
            return {
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
                             "reference_relpath": m.reference.image.relpath} for m in req.matches],
                "events": [{"at": aware(e.at), "actor": e.actor, "kind": e.kind, "payload": dict(e.payload)}
                           for e in events],
            }

    def export(self) -> Iterator[dict]:
        """Every queued item with its request, verdicts and decision: the rows of the CSV and JSONL exports."""
        with self._factory() as s:
            q = (select(ReviewItem).order_by(ReviewItem.id)
                 .options(selectinload(ReviewItem.request).selectinload(EditRequest.verdicts)))
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
                select(Verdict.label, func.count()).join(ReviewItem, ReviewItem.request_id == Verdict.request_id)
                .group_by(Verdict.label)).all()]
            cats: dict[str, int] = {}
            for (categories,) in s.execute(select(Verdict.categories).join(
                    ReviewItem, ReviewItem.request_id == Verdict.request_id)):
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

    # ---- helpers --------------------------------------------------------------------------------------------
    @staticmethod
    def _available(who: Reviewer, now: datetime):
        free = or_(ReviewItem.status == "pending",
                   and_(ReviewItem.status == "claimed", ReviewItem.lease_expires_at < now))
        if who.is_admin:
            return or_(free, ReviewItem.status == "escalated")
        return and_(free, ReviewItem.escalated.is_(False))

    def _expire(self, s: Session, now: datetime) -> None:
        """Return items whose lease ran out to the queue, and log it."""
        back = case((ReviewItem.escalated.is_(True), "escalated"), else_="pending")
        expired = s.execute(update(ReviewItem).where(ReviewItem.status == "claimed", ReviewItem.lease_expires_at < now)
                            .values(status=back, claimed_by=None, lease_expires_at=None)
                            .returning(ReviewItem.id, ReviewItem.request_id)).all()
        for item_id, request_id in expired:
            s.add(Event(actor="system", kind="review.lease_expired", request_id=request_id,
                        payload={"item": item_id}, at=now))

    def _set_lease(self, s: Session, item_id: int, now: datetime) -> None:
        s.execute(update(ReviewItem).where(ReviewItem.id == item_id).values(lease_expires_at=now + self.lease))

    @staticmethod
    def _request_id(s: Session, item_id: int) -> str:
        return s.scalar(select(ReviewItem.request_id).where(ReviewItem.id == item_id))

    @staticmethod
    def _get(s: Session, item_id: int) -> ReviewItem:
        item = s.get(ReviewItem, item_id)
        if item is None:
            raise QueueError(f"There is no review item #{item_id}.", "queue.not_found", item=item_id)
        return item

    def _explain_refusal(self, item: ReviewItem, who: Reviewer):
        if item.status in FINAL_STATES:
            at = aware(item.decided_at)
            raise QueueError(f"Already decided ({item.status}) by {item.decided_by} at {at:%Y-%m-%d %H:%M:%S} UTC.",
                             "queue.already_decided", by=item.decided_by, at=f"{at:%Y-%m-%d %H:%M:%S} UTC",
                             status=item.status)
        if item.escalated and not who.is_admin:
            raise QueueError("This item was escalated; only an admin can decide it.", "queue.admin_only")
        if item.status == "claimed" and item.claimed_by != who.name:
            raise QueueError(f"{item.claimed_by} is reviewing this item.", "queue.held", by=item.claimed_by)
        raise QueueError("Claim the item before deciding it.", "queue.not_claimed")


def _clean_note(note: str | None) -> str:
    note = unicodedata.normalize("NFC", note or "")
    note = "".join(ch for ch in note if unicodedata.category(ch) not in ("Cc", "Cs") or ch in "\n\t")
    if len(note) > MAX_NOTE_CHARS:
        raise QueueError(f"The note is too long: at most {MAX_NOTE_CHARS:,} characters.", "queue.note_too_long")
    return note.strip()
