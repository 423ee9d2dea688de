"""The human review queue: list, claim with a lease, renew, release, decide exactly once; every action in the log.

States: pending -> claimed -> approved | rejected, or -> escalated (waits for an admin, who claims and decides it).
A claim is a lease: the holder's activity renews it; once it runs out the item is back in the queue for anyone.
Claiming is one UPDATE ... WHERE id = (first available) RETURNING id inside a write transaction (BEGIN IMMEDIATE on
SQLite, FOR UPDATE SKIP LOCKED on PostgreSQL), so two reviewers never get the same item and an available item is
always found. Deciding is a conditional UPDATE: a second decision changes nothing and says who decided first.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, case, delete, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from db.engine import run_write, run_write_core
from db.models import Appeal, EditRecord, Event, ReviewItem, SimilarityException
from review.queue.accounts import Reviewer
from review.queue.reading import QueueReader
from review.queue.statements import (CLAIM_FIRST, DECIDE, EXPIRE, HELD, INSERT_EVENT, SET_LEASE, SETTLE_APPEAL)
from review.queue.states import (APPEAL_PRIORITY, DECISION_REASONS, DECISIONS, DEFAULT_REASON, EXPIRY_SWEEP,
                                 FINAL_STATES, LEASE, MAX_APPEAL_CHARS, MAX_NOTE_CHARS, UNDO_WINDOW, QueueError,
                                 aware, utcnow)


@dataclass(frozen=True)
class Outcome:
    item_id: int
    status: str
    decided_by: str | None
    decided_at: datetime | None
    repeated: bool = False  # the same decision by the same reviewer was already recorded: nothing changed


class ReviewQueue(QueueReader):
    """The write side: claim, renew, release, decide, undo, appeal (reading is inherited from `QueueReader`)."""

    def __init__(self, factory: sessionmaker[Session], lease: timedelta = LEASE, clock=utcnow):
        super().__init__(factory, clock)
        self._engine = factory.kw["bind"]
        self._expired_at = datetime.min.replace(tzinfo=timezone.utc)
        self.lease = lease

    # ---- claiming -------------------------------------------------------------------------------------------
    def next(self, who: Reviewer) -> int | None:
        """Claim the most urgent available item (or return the one `who` already holds). None: the queue is empty."""
        now = self._clock()
        postgres = self._dialect() == "postgresql"

        def claim_first(conn, params):
            # On PostgreSQL claimers first skip rows others are claiming; only when that finds nothing does this one
            # wait for them, so "empty" is never said while a row another claimer may yet release is still pending.
            for lock in (("skip", "wait") if postgres else (None,)):
                for statuses in ((("escalated",), ("pending",)) if who.is_admin else (("pending",),)):
                    row = conn.execute(CLAIM_FIRST[(statuses, lock)], params).first()
                    if row:
                        return row
            return None

        def work(conn) -> int | None:
            swept = now - self._expired_at >= EXPIRY_SWEEP
            if swept:
                self._expire(conn, now)
                self._expired_at = now
            params = {"me": who.name, "until": now + self.lease}
            row = claim_first(conn, params)
            if row is None:  # `who` holds an item already, or none is available
                held = conn.execute(HELD, params).scalar()
                if held is not None:
                    conn.execute(SET_LEASE, {"item_id": held, "until": params["until"]})
                    return held
                if not swept:  # never "empty" while a lapsed claim could be taken
                    self._expire(conn, now)
                    row = claim_first(conn, params)
            if row is None:
                return None
            conn.execute(INSERT_EVENT, {"at": now, "actor": who.name, "kind": "review.claimed", "request_id": row.request_id,
                                  "payload": {"item": row.id}})
            return row.id

        return run_write_core(self._engine, work)

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
        reason = reason or DEFAULT_REASON.get(decision, "")
        if decision == "reject" and reason in ("", "no_issue"):  # the requester would read "Rejected · No issue"
            raise QueueError("Choose why the edit is rejected.", "queue.reason_needed")
        if reason not in DECISION_REASONS:
            raise QueueError("Choose a reason from the list.", "queue.bad_reason")
        note = _clean_note(note)
        status = DECISIONS[decision]
        now = self._clock()

        def work(conn) -> Outcome:
            final = status in FINAL_STATES
            row = conn.execute(DECIDE, {
                "item_id": item_id, "me": who.name, "admin": who.is_admin, "new_status": status, "why": reason,
                "note": note, "decider": who.name if final else None, "decided": now if final else None,
                "esc": not final}).first()
            if row is not None:
                conn.execute(INSERT_EVENT, {"at": now, "actor": who.name, "kind": f"review.{status}",
                                      "request_id": row.request_id,
                                      "payload": {"item": item_id, "reason": reason, "note": note}})
                if final:
                    conn.execute(SETTLE_APPEAL, {"rid": row.request_id, "new_status": status, "decider": who.name})
                return Outcome(item_id, status, row.decided_by, aware(row.decided_at))
            with Session(bind=conn) as s:
                item = self._get(s, item_id)
                if item.status == status and (item.decided_by == who.name or (not final and item.escalated)):
                    return Outcome(item_id, status, item.decided_by, aware(item.decided_at), repeated=True)
                self._explain_refusal(item, who)

        return run_write_core(self._engine, work)

    def undo(self, who: Reviewer, item_id: int) -> bool:
        """Take back `who`'s own approve or reject within UNDO_WINDOW: the item is theirs again, claimed, and the log
        keeps both the decision and its undoing. False: too late, or not theirs to undo (the decision stands)."""
        now = self._clock()

        def work(s: Session) -> bool:
            done = s.execute(update(ReviewItem).where(
                ReviewItem.id == item_id, ReviewItem.status.in_(FINAL_STATES), ReviewItem.decided_by == who.name,
                ReviewItem.decided_at >= now - UNDO_WINDOW)
                .values(status="claimed", claimed_by=who.name, lease_expires_at=now + self.lease, decided_by=None,
                        decided_at=None, decision_reason=None, decision_note=None)).rowcount
            if done:
                rid = self._request_id(s, item_id)
                s.execute(update(Appeal).where(Appeal.request_id == rid, Appeal.decided_by == who.name)
                          .values(outcome=None, decided_by=None))
                # a "not a copy" taught by the decision goes with it (a registered work stays: it is a library entry)
                s.execute(delete(SimilarityException).where(SimilarityException.item_id == item_id))
                s.add(Event(actor=who.name, kind="review.undone", request_id=rid, payload={"item": item_id}, at=now))
            return bool(done)

        return run_write(self._factory, work)

    # ---- appeals --------------------------------------------------------------------------------------------
    def appeal(self, requester: str, request_id: str, text: str) -> int:
        """The requester contests a rejection, once, in a sentence: the item goes back to the queue, flagged and
        urgent, for anyone but the reviewer who rejected it. Returns the item id."""
        text = _clean_note(text)
        if not text:
            raise QueueError("Say in a sentence why the decision is wrong.", "queue.appeal_empty")
        if len(text) > MAX_APPEAL_CHARS:
            raise QueueError(f"Keep the appeal under {MAX_APPEAL_CHARS} characters.", "queue.appeal_too_long")
        now = self._clock()

        def work(s: Session) -> int:
            item = s.scalar(select(ReviewItem).join(EditRecord).where(
                ReviewItem.request_id == request_id, EditRecord.requester == requester))
            if item is None or item.status != "rejected":
                raise QueueError("Only a rejected edit of yours can be appealed.", "queue.appeal_not_rejected")
            if s.scalar(select(Appeal.id).where(Appeal.request_id == request_id)) is not None:
                raise QueueError("This edit was already appealed once.", "queue.appeal_once")
            s.add(Appeal(request_id=request_id, item_id=item.id, text=text, created_at=now,
                         first_decider=item.decided_by or "", first_status=item.status))
            reasons = [*item.reasons, "appeal"]
            item.excluded_reviewer, item.status, item.reasons = item.decided_by, "pending", reasons
            item.tags = (item.tags or "|") + "reason:appeal|"
            item.priority = (item.priority or 0) + APPEAL_PRIORITY
            item.decided_by = item.decided_at = item.decision_reason = item.decision_note = None
            s.add(Event(actor=requester, kind="review.appealed", request_id=request_id,
                        payload={"item": item.id}, at=now))
            return item.id

        return run_write(self._factory, work)

    # ---- helpers --------------------------------------------------------------------------------------------
    @staticmethod
    def _available(who: Reviewer, now: datetime):
        free = and_(or_(ReviewItem.status == "pending",
                        and_(ReviewItem.status == "claimed", ReviewItem.lease_expires_at < now)),
                    or_(ReviewItem.excluded_reviewer.is_(None), ReviewItem.excluded_reviewer != who.name))
        if who.is_admin:
            return or_(free, ReviewItem.status == "escalated")
        return and_(free, ReviewItem.escalated.is_(False))

    def _expire(self, s, now: datetime) -> None:
        """Return items whose lease ran out to the queue, and log it. `s`: a Session or a Core connection."""
        conn = s.connection() if isinstance(s, Session) else s
        for item_id, request_id in conn.execute(EXPIRE, {"now": now}).all():
            conn.execute(INSERT_EVENT, {"at": now, "actor": "system", "kind": "review.lease_expired",
                                  "request_id": request_id, "payload": {"item": item_id}})

    def _dialect(self) -> str:
        return self._engine.dialect.name

    def _set_lease(self, s: Session, item_id: int, now: datetime) -> None:
        s.connection().execute(SET_LEASE, {"item_id": item_id, "until": now + self.lease})

    @staticmethod
    def _request_id(s: Session, item_id: int) -> str:
        return s.scalar(select(ReviewItem.request_id).where(ReviewItem.id == item_id))

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
