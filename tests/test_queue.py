"""The review queue on a real SQLite file: claims with leases, decisions exactly once, audit, concurrency."""
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from db.models import Event, ReviewItem
from review.queue.accounts import Reviewer
from review.queue.service import ReviewQueue
from review.queue.states import QueueError
from tests.conftest import sqlite_only
from tests.queue_helpers import enqueue

ALICE, BOB, ADMIN = Reviewer("alice", "reviewer"), Reviewer("bob", "reviewer"), Reviewer("root", "admin")


class Clock:
    def __init__(self):
        self.now = datetime.now(timezone.utc)

    def __call__(self):
        return self.now


@pytest.fixture
def q(rt):
    return rt.queue


def events(rt, kind=None):
    with rt.session_factory() as s:
        stmt = select(Event.kind, Event.actor).where(Event.kind.like("review.%")).order_by(Event.id)
        rows = s.execute(stmt).all()
    return [r for r in rows if kind is None or r[0] == kind]


def test_next_claims_by_priority_then_age(rt, q):
    old = enqueue(rt.session_factory, 1, age=timedelta(hours=2))
    urgent = enqueue(rt.session_factory, 1, priority=5)
    new = enqueue(rt.session_factory, 1)
    assert q.next(ALICE) == urgent[0]
    assert q.next(BOB) == old[0]
    assert q.next(ALICE) == urgent[0]  # Alice already holds one: she gets it back, not a second item
    assert q.decide(ALICE, urgent[0], "approve", "no_issue").status == "approved"
    assert q.next(ALICE) == new[0]
    assert q.next(Reviewer("carol", "reviewer")) is None  # everything is claimed or decided


def test_decided_exactly_once(rt, q):
    (item,) = enqueue(rt.session_factory, 1)
    q.claim(ALICE, item)
    first = q.decide(ALICE, item, "reject", "pii", "phone number in the caption")
    again = q.decide(ALICE, item, "reject", "pii", "double click")
    assert first.status == "rejected" and again.repeated and again.decided_at == first.decided_at
    with pytest.raises(QueueError) as err:
        q.decide(BOB, item, "approve", "no_issue")
    assert err.value.code == "queue.already_decided" and err.value.params["by"] == "alice"
    assert "Already decided (rejected) by alice at" in str(err.value)
    with rt.session_factory() as s:
        row = s.get(ReviewItem, item)
        assert (row.status, row.decided_by, row.decision_reason, row.decision_note) == \
            ("rejected", "alice", "pii", "phone number in the caption")
    assert [k for k, _ in events(rt)] == ["review.claimed", "review.rejected"]  # the repeat logged nothing


def test_someone_elses_claim_is_respected(rt, q):
    (item,) = enqueue(rt.session_factory, 1)
    q.claim(ALICE, item)
    with pytest.raises(QueueError) as err:
        q.claim(BOB, item)
    assert err.value.code == "queue.held"
    with pytest.raises(QueueError):
        q.decide(BOB, item, "approve", "no_issue")
    q.release(ALICE, item)
    q.claim(BOB, item)
    assert q.decide(BOB, item, "approve", "false_positive").decided_by == "bob"


def test_lease_expiry_returns_items_and_renewal_keeps_them(rt):
    clock = Clock()
    q = ReviewQueue(rt.session_factory, lease=timedelta(minutes=5), clock=clock)
    a, b = enqueue(rt.session_factory, 2)
    assert q.next(ALICE) == a
    clock.now += timedelta(minutes=4)
    assert q.renew(ALICE, a)
    clock.now += timedelta(minutes=4)  # 8 minutes after the claim, 4 after the renewal: still Alice's
    assert q.next(BOB) == b
    clock.now += timedelta(minutes=2)  # Alice went quiet: her lease ran out
    listed = {i["id"]: i for i in q.list()[0]}
    assert listed[a]["status"] == "pending" and listed[a]["claimed_by"] is None
    assert q.next(Reviewer("carol", "reviewer")) == a
    assert ("review.lease_expired", "system") in events(rt)
    assert not q.renew(ALICE, a)
    with pytest.raises(QueueError) as err:
        q.decide(ALICE, a, "approve", "no_issue")
    assert err.value.code == "queue.held"


def test_escalation_goes_to_admins_only(rt, q):
    (item,) = enqueue(rt.session_factory, 1)
    q.claim(ALICE, item)
    assert q.decide(ALICE, item, "escalate", "copyright", "looks like a film still").status == "escalated"
    assert q.next(BOB) is None
    with pytest.raises(QueueError) as err:
        q.claim(BOB, item)
    assert err.value.code == "queue.admin_only"
    assert q.next(ADMIN) == item
    assert q.decide(ADMIN, item, "reject", "copyright").decided_by == "root"


def test_list_filters_and_pages(rt, q):
    enqueue(rt.session_factory, 30, category="PII")
    enqueue(rt.session_factory, 5, label="Controversial", category="Violent", reasons=("output:controversial",))
    enqueue(rt.session_factory, 3, age=timedelta(days=2), reasons=("similarity:output",))
    items, total = q.list(page=1, page_size=20)
    assert total == 38 and len(items) == 20
    assert len(q.list(page=2, page_size=20)[0]) == 18
    assert q.list(category="Violent")[1] == 5
    assert q.list(reason="similarity:output")[1] == 3
    assert q.list(min_age_minutes=60 * 24)[1] == 3
    assert q.list(label="Unsafe")[1] == 0
    assert q.list(category="100%_")[1] == 0  # LIKE wildcards in a filter are literal


def test_notes_are_stored_verbatim(rt, q):
    (item,) = enqueue(rt.session_factory, 1)
    q.claim(ALICE, item)
    note = "<script>alert(1)</script> '; DROP TABLE review_items; -- 🤖 é\u0301 " + "x" * 100_000
    q.decide(ALICE, item, "approve", "other", note)
    detail = q.detail(item)
    assert detail["item"]["decision_note"] == note.strip().replace("e\u0301", "é")
    assert q.list(status="decided")[1] == 1


def test_bad_decisions(rt, q):
    (item,) = enqueue(rt.session_factory, 1)
    q.claim(ALICE, item)
    for args, code in ((("maybe", "no_issue"), "queue.bad_decision"), (("approve", "because"), "queue.bad_reason")):
        with pytest.raises(QueueError) as err:
            q.decide(ALICE, item, *args)
        assert err.value.code == code
    with pytest.raises(QueueError) as err:
        q.decide(ALICE, 999_999, "approve", "no_issue")
    assert err.value.code == "queue.not_found"


def test_eight_reviewers_decide_every_item_exactly_once(rt, q):
    n_items, n_reviewers = 400, 8
    enqueue(rt.session_factory, n_items)
    decided: dict[int, list[str]] = {}
    empty_while_open, errors = [], []
    lock = threading.Lock()

    def reviewer(name):
        who = Reviewer(name, "reviewer")
        try:
            while True:
                item = q.next(who)
                if item is None:
                    remaining = q.list(status="pending")[1]
                    if remaining:
                        empty_while_open.append(remaining)
                    return
                outcome = q.decide(who, item, *(("approve", "no_issue") if item % 2 else ("reject", "other")))
                assert not outcome.repeated
                with lock:
                    decided.setdefault(item, []).append(name)
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=reviewer, args=(f"r{i}",)) for i in range(n_reviewers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "deadlock: a reviewer thread never finished"
    assert errors == [] and empty_while_open == []
    assert len(decided) == n_items and all(len(v) == 1 for v in decided.values())
    assert len({name for names in decided.values() for name in names}) > 1  # the work really was shared
    with rt.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(ReviewItem).where(ReviewItem.status.in_(("approved", "rejected")))) == n_items
        kinds = dict(s.execute(select(Event.kind, func.count()).where(Event.kind.like("review.%")).group_by(Event.kind)).all())
    assert kinds["review.claimed"] == n_items and kinds["review.approved"] + kinds["review.rejected"] == n_items


def test_a_lapsed_claim_is_never_hidden_behind_an_empty_queue(rt):
    clock = Clock()
    q = ReviewQueue(rt.session_factory, lease=timedelta(milliseconds=500), clock=clock)
    a, b = enqueue(rt.session_factory, 2)
    assert q.next(ALICE) == a  # a sweep ran now
    clock.now += timedelta(milliseconds=600)  # Alice's lease lapsed, but the next periodic sweep is not due
    assert q.next(BOB) == b
    clock.now += timedelta(milliseconds=100)
    assert q.next(Reviewer("carol", "reviewer")) == a


@sqlite_only
def test_a_briefly_locked_database_does_not_lose_the_decision(rt, q):
    import sqlite3

    (item,) = enqueue(rt.session_factory, 1)
    q.claim(ALICE, item)
    raw = sqlite3.connect(rt.settings.database_url.removeprefix("sqlite:///"), isolation_level=None,
                          check_same_thread=False)
    raw.execute("begin immediate")  # another process is writing
    threading.Timer(0.5, lambda: (raw.execute("rollback"), raw.close())).start()
    assert q.decide(ALICE, item, "approve", "no_issue", "decided while locked").status == "approved"
    assert q.detail(item)["item"]["decision_note"] == "decided while locked"
