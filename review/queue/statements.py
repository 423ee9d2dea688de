"""The queue's hot paths as prebuilt Core statements: SQLAlchemy compiles each once and caches it."""
from __future__ import annotations

from sqlalchemy import Boolean, bindparam, case, insert, or_, select, update

from db.models import Appeal, Event, ReviewItem

ITEMS, EVENTS, APPEALS = ReviewItem.__table__, Event.__table__, Appeal.__table__  # the tables, as Core
# a final decision on an appealed item settles the appeal: the same outcome upholds the first decision
SETTLE_APPEAL = (update(APPEALS).where(APPEALS.c.request_id == bindparam("rid"), APPEALS.c.outcome.is_(None))
           .values(outcome=case((APPEALS.c.first_status == bindparam("new_status"), "upheld"), else_="overturned"),
                   decided_by=bindparam("decider")))
INSERT_EVENT = insert(EVENTS)
HELD = select(ITEMS.c.id).where(ITEMS.c.status == "claimed", ITEMS.c.claimed_by == bindparam("me")).limit(1)
HELD_ITEM = ITEMS.alias("held")
HOLDS_ONE = select(HELD_ITEM.c.id).where(HELD_ITEM.c.status == "claimed", HELD_ITEM.c.claimed_by == bindparam("me")).exists()
SET_LEASE = update(ITEMS).where(ITEMS.c.id == bindparam("item_id")).values(lease_expires_at=bindparam("until"))
EXPIRE = (update(ITEMS).where(ITEMS.c.status == "claimed", ITEMS.c.lease_expires_at < bindparam("now"))
           .values(status=case((ITEMS.c.escalated.is_(True), "escalated"), else_="pending"), claimed_by=None,
                   lease_expires_at=None)
           .returning(ITEMS.c.id, ITEMS.c.request_id))


def claim_first(statuses: tuple[str, ...], lock: str | None):
    first = (select(ITEMS.c.id).where(ITEMS.c.status.in_(statuses),  # an appeal never goes back to its first reviewer
                                   or_(ITEMS.c.excluded_reviewer.is_(None), ITEMS.c.excluded_reviewer != bindparam("me")))
             .order_by(ITEMS.c.priority.desc(), ITEMS.c.created_at, ITEMS.c.id).limit(1))
    if lock:  # PostgreSQL: "skip" passes over rows other claimers hold; "wait" queues on them and re-checks
        first = first.with_for_update(skip_locked=lock == "skip")
    # one statement in the common case: a reviewer who holds nothing gets the first available item
    return (update(ITEMS).where(ITEMS.c.id == first.scalar_subquery(), ~HOLDS_ONE)
            .values(status="claimed", claimed_by=bindparam("me"), lease_expires_at=bindparam("until"))
            .returning(ITEMS.c.id, ITEMS.c.request_id))


CLAIM_FIRST = {(st, lock): claim_first(st, lock) for st in (("pending",), ("escalated",)) for lock in (None, "skip", "wait")}
DECIDE = (update(ITEMS).where(ITEMS.c.id == bindparam("item_id"), ITEMS.c.status == "claimed",
                            ITEMS.c.claimed_by == bindparam("me"),
                            or_(ITEMS.c.escalated.is_(False), bindparam("admin", type_=Boolean)))
           .values(status=bindparam("new_status"), claimed_by=None, lease_expires_at=None,
                   decision_reason=bindparam("why"), decision_note=bindparam("note"),
                   decided_by=bindparam("decider"), decided_at=bindparam("decided", type_=ITEMS.c.decided_at.type),
                   escalated=or_(ITEMS.c.escalated, bindparam("esc", type_=Boolean)))
           .returning(ITEMS.c.request_id, ITEMS.c.decided_by, ITEMS.c.decided_at))
