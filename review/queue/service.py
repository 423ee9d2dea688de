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

from sqlalchemy import Boolean, and_, bindparam, case, func, insert, or_, select, update
from sqlalchemy.orm import Session, selectinload, sessionmaker

from db.engine import run_write, run_write_core
from db.models import Appeal, EditRecord, Event, ReferenceWork, RequestImage, ReviewItem, SimilarityMatch, VerdictRecord
from errors import UserError
from review.queue.accounts import Reviewer

LEASE = timedelta(minutes=5)  # long enough to look closely; short enough that a closed tab frees the item soon
OPEN_STATES = ("pending", "claimed", "escalated")
FINAL_STATES = ("approved", "rejected")
DECISIONS = {"approve": "approved", "reject": "rejected", "escalate": "escalated"}
DECISION_REASONS = ("no_issue", "false_positive", "licensed_or_own_work", "public_domain", "copyright", "sexual",
                    "violence", "hate", "pii", "political", "self_harm", "illegal", "other")
MAX_NOTE_CHARS = 200_000
MAX_APPEAL_CHARS = 500  # a sentence or two
APPEAL_PRIORITY = 10  # an appeal waits less than fresh items
UNDO_WINDOW = timedelta(seconds=60)  # a slip of the key can be taken back this long; then the decision is final
DEFAULT_REASON = {"approve": "no_issue", "escalate": "other"}  # a reject always needs a chosen reason
PAGE_SIZE = 50
EXPIRY_SWEEP = timedelta(seconds=1)  # "next" returns lapsed claims to the queue at most this often (any process)


class QueueError(UserError):
    pass


# The hot paths (claim, decide) run prebuilt statements: SQLAlchemy compiles each once and caches it.
_T, _E, _A = ReviewItem.__table__, Event.__table__, Appeal.__table__
# a final decision on an appealed item settles the appeal: the same outcome upholds the first decision
_SETTLE = (update(_A).where(_A.c.request_id == bindparam("rid"), _A.c.outcome.is_(None))
           .values(outcome=case((_A.c.first_status == bindparam("new_status"), "upheld"), else_="overturned"),
                   decided_by=bindparam("decider")))
_EVENT = insert(_E)
_HELD = select(_T.c.id).where(_T.c.status == "claimed", _T.c.claimed_by == bindparam("me")).limit(1)
_H = _T.alias("held")
_HOLDS_ONE = select(_H.c.id).where(_H.c.status == "claimed", _H.c.claimed_by == bindparam("me")).exists()
_SET_LEASE = update(_T).where(_T.c.id == bindparam("item_id")).values(lease_expires_at=bindparam("until"))
_EXPIRE = (update(_T).where(_T.c.status == "claimed", _T.c.lease_expires_at < bindparam("now"))
           .values(status=case((_T.c.escalated.is_(True), "escalated"), else_="pending"), claimed_by=None,
                   lease_expires_at=None)
           .returning(_T.c.id, _T.c.request_id))


def _claim_first(statuses: tuple[str, ...], postgres: bool):
    first = (select(_T.c.id).where(_T.c.status.in_(statuses),  # an appeal never goes back to its first reviewer
                                   or_(_T.c.excluded_reviewer.is_(None), _T.c.excluded_reviewer != bindparam("me")))
             .order_by(_T.c.priority.desc(), _T.c.created_at, _T.c.id).limit(1))
    if postgres:  # concurrent claimers skip each other's candidate row instead of queueing on it
        first = first.with_for_update(skip_locked=True)
    # one statement in the common case: a reviewer who holds nothing gets the first available item
    return (update(_T).where(_T.c.id == first.scalar_subquery(), ~_HOLDS_ONE)
            .values(status="claimed", claimed_by=bindparam("me"), lease_expires_at=bindparam("until"))
            .returning(_T.c.id, _T.c.request_id))


_CLAIM_FIRST = {(st, pg): _claim_first(st, pg) for st in (("pending",), ("escalated",)) for pg in (False, True)}
_DECIDE = (update(_T).where(_T.c.id == bindparam("item_id"), _T.c.status == "claimed",
                            _T.c.claimed_by == bindparam("me"),
                            or_(_T.c.escalated.is_(False), bindparam("admin", type_=Boolean)))
           .values(status=bindparam("new_status"), claimed_by=None, lease_expires_at=None,
                   decision_reason=bindparam("why"), decision_note=bindparam("note"),
                   decided_by=bindparam("decider"), decided_at=bindparam("decided", type_=_T.c.decided_at.type),
                   escalated=or_(_T.c.escalated, bindparam("esc", type_=Boolean)))
           .returning(_T.c.request_id, _T.c.decided_by, _T.c.decided_at))


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
        self._engine = factory.kw["bind"]
        self._expired_at = datetime.min.replace(tzinfo=timezone.utc)
        self.lease = lease
        self._clock = clock

    # ---- claiming -------------------------------------------------------------------------------------------
    def next(self, who: Reviewer) -> int | None:
        """Claim the most urgent available item (or return the one `who` already holds). None: the queue is empty."""
        now = self._clock()
        postgres = self._dialect() == "postgresql"

        def claim_first(conn, params):
            for statuses in ((("escalated",), ("pending",)) if who.is_admin else (("pending",),)):
                row = conn.execute(_CLAIM_FIRST[(statuses, postgres)], params).first()
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
                held = conn.execute(_HELD, params).scalar()
                if held is not None:
                    conn.execute(_SET_LEASE, {"item_id": held, "until": params["until"]})
                    return held
                if not swept:  # never "empty" while a lapsed claim could be taken
                    self._expire(conn, now)
                    row = claim_first(conn, params)
            if row is None:
                return None
            conn.execute(_EVENT, {"at": now, "actor": who.name, "kind": "review.claimed", "request_id": row.request_id,
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
            row = conn.execute(_DECIDE, {
                "item_id": item_id, "me": who.name, "admin": who.is_admin, "new_status": status, "why": reason,
                "note": note, "decider": who.name if final else None, "decided": now if final else None,
                "esc": not final}).first()
            if row is not None:
                conn.execute(_EVENT, {"at": now, "actor": who.name, "kind": f"review.{status}",
                                      "request_id": row.request_id,
                                      "payload": {"item": item_id, "reason": reason, "note": note}})
                if final:
                    conn.execute(_SETTLE, {"rid": row.request_id, "new_status": status, "decider": who.name})
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
        for item_id, request_id in conn.execute(_EXPIRE, {"now": now}).all():
            conn.execute(_EVENT, {"at": now, "actor": "system", "kind": "review.lease_expired",
                                  "request_id": request_id, "payload": {"item": item_id}})

    def _dialect(self) -> str:
        return self._engine.dialect.name

    def _set_lease(self, s: Session, item_id: int, now: datetime) -> None:
        s.connection().execute(_SET_LEASE, {"item_id": item_id, "until": now + self.lease})

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
