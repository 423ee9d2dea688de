"""The console's rules below the page (issue 14): a reject needs a reason; a decision can be undone for a short
window by the person who made it, then it is final; both stay in the log."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from db.models import Event, ReviewItem
from review.queue.accounts import Reviewer
from review.queue.service import ReviewQueue
from review.queue.states import QueueError, UNDO_WINDOW
from tests.queue_helpers import enqueue
from tests.test_queue import Clock

ALICE, BOB = Reviewer("alice", "reviewer"), Reviewer("bob", "reviewer")


@pytest.mark.parametrize("reason", ["", "no_issue"])
def test_a_reject_without_a_chosen_reason_is_refused(rt, reason):
    (item,) = enqueue(rt.session_factory, 1)
    rt.queue.claim(ALICE, item)
    with pytest.raises(QueueError) as err:
        rt.queue.decide(ALICE, item, "reject", reason)
    assert err.value.code == "queue.reason_needed"
    assert rt.queue.detail(item)["item"]["status"] == "claimed"  # nothing was decided
    assert rt.queue.decide(ALICE, item, "reject", "copyright").status == "rejected"


def test_an_approve_without_a_reason_records_no_issue(rt):
    (item,) = enqueue(rt.session_factory, 1)
    rt.queue.claim(ALICE, item)
    rt.queue.decide(ALICE, item, "approve", "")
    assert rt.queue.detail(item)["item"]["decision_reason"] == "no_issue"


def test_undo_within_the_window_then_final(rt):
    clock = Clock()
    q = ReviewQueue(rt.session_factory, clock=clock)
    first, second = enqueue(rt.session_factory, 2)
    q.claim(ALICE, first)
    q.decide(ALICE, first, "reject", "copyright", "looks like the poster")
    assert not q.undo(BOB, first)  # not Bob's decision
    clock.now += UNDO_WINDOW - timedelta(seconds=1)
    assert q.undo(ALICE, first)
    d = q.detail(first)["item"]
    assert (d["status"], d["claimed_by"], d["decided_by"], d["decision_reason"]) == ("claimed", "alice", None, None)
    assert q.decide(ALICE, first, "approve", "false_positive").status == "approved"

    q.claim(ALICE, second)
    q.decide(ALICE, second, "approve", "no_issue")
    clock.now += UNDO_WINDOW + timedelta(seconds=1)
    assert not q.undo(ALICE, second)  # too late: final
    assert q.detail(second)["item"]["status"] == "approved"
    with rt.session_factory() as s:
        kinds = s.scalars(select(Event.kind).where(Event.kind.like("review.%")).order_by(Event.id)).all()
        assert s.get(ReviewItem, first).decision_reason == "false_positive"
    assert kinds.count("review.undone") == 1 and kinds.count("review.rejected") == 1  # both stay in the log


def test_a_release_with_warnings_says_so_in_its_headline():
    from ui.render import decision_html

    record = {"id": "r1", "decision": "released", "reasons": [], "warnings": ["similarity:input"], "backend": "classic",
              "model": "m", "model_license": "Apache-2.0",
              "matches": [{"title": "Morning Coffee", "owner": "Ada", "license": "All rights reserved"}]}
    for lang, headline in (("en", "Released with a warning"), ("ja", "公開済み（注意あり）")):
        html = decision_html(lang, record)
        assert headline in html and "Morning Coffee" in html and 'data-warned="true"' in html
        assert "All checks passed" not in html and "すべてのチェックを通過" not in html
    assert "All checks passed" in decision_html("en", {**record, "warnings": [], "matches": []})


def test_the_japanese_status_line_has_no_english_phrases():
    from ui.render import status_html

    from review.guard.registry import load_image_guard
    from review.guard.rules import RuleTextGuard

    status = {"editor": "classic (editguard/classic, cpu)", "text_guard": "rules-v1",
              "image_guard": load_image_guard("nudenet,qr", text_guard=RuleTextGuard()).describe(),
              "similarity": "PDQ + pHash, exact Hamming search (auto), keypoint re-rank, SIFT verification", "provenance": "none",
              "policy": "review", "database": "sqlite"}
    html = status_html("ja", status, {"model_id": "editguard/classic", "revision": "built-in", "license": "Apache-2.0",
                                      "credit": "EditGuard's classic CPU editor (Pillow)", "device": "cpu",
                                      "fast": False})
    for word in ("exact Hamming", "verification", "built-in", "classic CPU editor", "policy review", "Sexual",
                 "only the text", "categories"):
        assert word not in html, word
    assert "性的コンテンツ" in html and "QR コードの文字のみ" in html and "全件ハミング検索（自動）" in html
    assert "(auto)" not in html


def test_an_appeal_goes_to_a_second_reviewer_once_and_counts_for_agreement(rt):
    from db.models import EditRecord
    from review.privacy.requester import my_edits

    first, other = enqueue(rt.session_factory, 2)
    with rt.session_factory.begin() as s:
        rid = s.get(ReviewItem, first).request_id
        s.get(EditRecord, rid).requester = "rq-1"
    q = rt.queue
    q.claim(ALICE, first)
    q.decide(ALICE, first, "reject", "copyright")
    with pytest.raises(QueueError) as err:
        q.appeal("rq-2", rid, "it is my own photo")  # not theirs
    assert err.value.code == "queue.appeal_not_rejected"
    with pytest.raises(QueueError):
        q.appeal("rq-1", rid, "   ")
    assert q.appeal("rq-1", rid, "It is my own photo, taken in 2019.") == first
    assert [r["status"] for r in my_edits(rt.session_factory, "rq-1")] == ["pending"]
    with pytest.raises(QueueError) as err:
        q.appeal("rq-1", rid, "again")
    assert err.value.code in ("queue.appeal_once", "queue.appeal_not_rejected")
    d = q.detail(first)
    assert d["appeal"]["text"].startswith("It is my own photo") and "appeal" in d["item"]["reasons"]
    assert q.list(reason="appeal")[1] == 1
    assert q.next(ALICE) == other  # the appeal is urgent, but never goes back to Alice
    with pytest.raises(QueueError):
        q.claim(ALICE, first)
    assert q.next(BOB) == first  # Bob gets it first: it is the most urgent
    q.decide(BOB, first, "approve", "licensed_or_own_work")
    assert q.appeal_agreement() == [{"reviewer": "alice", "appealed": 1, "upheld": 0, "agreement": 0.0}]
    assert my_edits(rt.session_factory, "rq-1")[0]["status"] == "approved"
    assert my_edits(rt.session_factory, "rq-1")[0]["appealed"]
