"""What a decision teaches: "reject as copyright" registers the upload as a work, "not a copy" keeps the same pair
from coming back (review/queue/lessons.py and the flow's use of it), on either engine."""
import pytest
from sqlalchemy import select

from db.models import Event, ReferenceWork, SimilarityException
from errors import UserError
from review.pipeline.flow import run_edit
from review.pipeline.submission import Submission
from review.queue import lessons
from review.queue.accounts import Reviewer
from tests.conftest import photo

ALICE, BOB, ROOT = Reviewer("alice", "reviewer"), Reviewer("bob", "reviewer"), Reviewer("root", "admin")


def decide(rt, who, record, decision, reason):
    item = rt.queue.next(who)
    assert item is not None and rt.queue.detail(item)["request"]["id"] == record["id"]
    rt.queue.decide(who, item, decision, reason)
    return item


def test_not_a_copy_keeps_the_same_upload_from_coming_back(rt, image_file):
    upload = image_file(photo("astronaut"), "astronaut.png")  # a registered work (the sample library)
    first = run_edit(rt, Submission(image=str(upload), instruction="make it warmer"))
    assert first["decision"] == "pending_review" and first["matches"]
    item = decide(rt, ALICE, first, "approve", "licensed_or_own_work")
    with pytest.raises(UserError) as err:
        lessons.remember_not_a_copy(rt.session_factory, BOB, item)  # not Bob's decision to teach from
    assert err.value.code == "lesson.needs_approve"
    assert lessons.remember_not_a_copy(rt.session_factory, ALICE, item) == len({m["reference_id"] for m in first["matches"]})
    again = run_edit(rt, Submission(image=str(upload), instruction="make it warmer"))
    assert again["decision"] == "released" and again["matches"] == []  # the same pair does not come back
    other = run_edit(rt, Submission(image=image_file(photo("astronaut").rotate(90, expand=True), "turned.png"),
                                    instruction="make it warmer"))
    assert other["decision"] == "pending_review" and other["matches"]  # a different file of the work still does
    with rt.session_factory() as s:
        kept = s.scalars(select(SimilarityException)).all()
        assert [(e.created_by, e.item_id) for e in kept] == [("alice", item)] * len(kept)
        assert s.scalar(select(Event.kind).where(Event.kind == "review.not_a_copy")) == "review.not_a_copy"


def test_a_copyright_rejection_registers_the_upload_as_a_work(rt, image_file):
    upload = image_file(photo("coffee"), "coffee.png")  # not in the library: pending for its instruction
    record = run_edit(rt, Submission(image=str(upload), instruction='add the text "call 03-1234-5678" at the bottom'))
    assert record["decision"] == "pending_review" and record["matches"] == []
    item = decide(rt, ALICE, record, "reject", "copyright")
    ref_id = lessons.register_rejected_upload(rt.session_factory, rt.store, rt.index, ALICE, item,
                                              title="Morning coffee", owner="A. Owner")
    with rt.session_factory() as s:
        work = s.get(ReferenceWork, ref_id)
        assert (work.title, work.owner, work.added_by, work.source) == ("Morning coffee", "A. Owner", "alice",
                                                                         f"review item #{item}")
    copy = run_edit(rt, Submission(image=image_file(photo("coffee").crop((20, 20, 580, 380)), "crop.png"),
                                   instruction="make it warmer"))
    assert copy["decision"] == "pending_review" and {m["reference_id"] for m in copy["matches"]} == {ref_id}
    with pytest.raises(UserError) as err:  # registered once: a second time names the work
        lessons.register_rejected_upload(rt.session_factory, rt.store, rt.index, ALICE, item)
    assert err.value.code == "library.duplicate"


def test_lessons_follow_only_the_matching_decision(rt, image_file):
    record = run_edit(rt, Submission(image=image_file(photo("astronaut"), "a.png"), instruction="make it warmer"))
    item = decide(rt, ALICE, record, "reject", "sexual")
    for call in (lambda: lessons.register_rejected_upload(rt.session_factory, rt.store, rt.index, ALICE, item),
                 lambda: lessons.remember_not_a_copy(rt.session_factory, ALICE, item)):
        with pytest.raises(UserError) as err:
            call()
        assert err.value.code in ("lesson.needs_copyright_reject", "lesson.needs_approve")
    with rt.session_factory() as s:
        assert s.scalars(select(SimilarityException)).all() == []


def test_undo_takes_back_the_not_a_copy_with_the_decision(rt, image_file):
    upload = image_file(photo("astronaut"), "astronaut.png")
    record = run_edit(rt, Submission(image=str(upload), instruction="make it warmer"))
    item = decide(rt, ALICE, record, "approve", "false_positive")
    assert lessons.remember_not_a_copy(rt.session_factory, ALICE, item) >= 1
    assert rt.queue.undo(ALICE, item)
    with rt.session_factory() as s:
        assert s.scalars(select(SimilarityException)).all() == []
    assert run_edit(rt, Submission(image=str(upload), instruction="make it warmer"))["matches"]  # flagged again
