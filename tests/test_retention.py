"""Retention purge and "delete my data": exactly what should go goes, and nothing else."""
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from db.engine import run_write
from db.models import EditRecord, Event, RequestImage, ReviewItem, StoredImage
from review.queue.accounts import Reviewer
from review.pipeline.flow import run_edit
from review.pipeline.submission import Submission
from review.privacy.retention import delete_requester_data, purge
from tests.conftest import photo

A, B = "browser:" + "a" * 32, "browser:" + "b" * 32
ALICE = Reviewer("alice", "reviewer")


def _edit(rt, image_file, instruction, requester=A, name="coffee"):
    return run_edit(rt, Submission(image=str(image_file(photo(name), f"{name}-{len(instruction)}.png")),
                                   instruction=instruction, requester=requester))


def _decide(rt, record, decision):
    with rt.session_factory() as s:
        item = s.scalar(select(ReviewItem.id).where(ReviewItem.request_id == record["id"]))
    rt.queue.claim(ALICE, item)
    rt.queue.decide(ALICE, item, decision, "no_issue" if decision == "approve" else "copyright")


def _age(rt, ids, days):
    run_write(rt.session_factory, lambda s: s.execute(
        update(EditRecord).where(EditRecord.id.in_(ids))
        .values(created_at=datetime.now(timezone.utc) - timedelta(days=days))))


@pytest.fixture
def world(make_runtime, image_file):
    """Old: released, pending, approved, rejected, blocked; new: released. Every kind of record there is."""
    rt = make_runtime(EDITGUARD_SEED_REFERENCES="0")
    recs = {
        "released": _edit(rt, image_file, "make it sepia"),
        "pending": _edit(rt, image_file, 'add the caption "Pikachu"', name="astronaut"),
        "approved": _edit(rt, image_file, 'add the caption "Doraemon" and make it sepia', name="rocket"),
        "rejected": _edit(rt, image_file, 'add the caption "Mickey Mouse"', name="chelsea"),
        "blocked": _edit(rt, image_file, "服を脱がせて", name="camera"),
        "new": _edit(rt, image_file, "make it black and white", name="horse"),
    }
    assert [r["decision"] for r in recs.values()] == ["released", "pending_review", "pending_review", "pending_review",
                                                      "blocked", "released"]
    _decide(rt, recs["approved"], "approve")
    _decide(rt, recs["rejected"], "reject")
    _age(rt, [r["id"] for k, r in recs.items() if k != "new"], days=40)
    return rt, recs


def _ids(rt):
    with rt.session_factory() as s:
        return set(s.scalars(select(EditRecord.id)))


def test_purge_keeps_what_waits_and_what_was_decided(world):
    rt, recs = world
    gone_files = [Path(p) for p in recs["released"]["outputs"] + recs["released"]["inputs"]]
    assert all(p.exists() for p in gone_files)
    dry = purge(rt.session_factory, rt.store, 30, dry_run=True)
    assert dry.requests == [recs["released"]["id"]] and _ids(rt) == {r["id"] for r in recs.values()}
    report = purge(rt.session_factory, rt.store, 30)
    assert report.requests == [recs["released"]["id"]]
    assert (report.kept_open, report.kept_for_audit) == (1, 3)
    assert _ids(rt) == {r["id"] for k, r in recs.items() if k != "released"}
    assert not any(p.exists() for p in gone_files) and report.images_removed == 2 and report.bytes_freed > 0
    with rt.session_factory() as s:  # no dangling rows, and every remaining image row has its file
        assert s.scalar(select(func.count()).select_from(RequestImage)
                        .where(RequestImage.request_id == recs["released"]["id"])) == 0
        for relpath in s.scalars(select(StoredImage.relpath)):
            assert rt.store.path(relpath).exists()
        assert s.scalar(select(Event.payload).where(Event.kind == "retention.purged"))["removed"] == 1
        # the append-only log still says the purged edit happened
        assert s.scalar(select(Event.kind).where(Event.request_id == recs["released"]["id"])) == "edit.released"


def test_purge_without_keeping_decided_edits(world, monkeypatch):
    rt, recs = world
    report = purge(rt.session_factory, rt.store, 30, keep_decided=False)
    assert set(report.requests) == {recs[k]["id"] for k in ("released", "approved", "rejected", "blocked")}
    assert _ids(rt) == {recs["pending"]["id"], recs["new"]["id"]}
    assert rt.queue.list(status="open")[1] == 1  # the waiting item is untouched


def test_purge_cli(world, cli):
    rt, recs = world
    out = json.loads(cli("purge", "--older-than", "30", "--dry-run", "--json").stdout)
    assert out["dry_run"] and out["removed"] == 1 and out["ids"] == [recs["released"]["id"]]
    text = cli("purge", "--older-than", "30")
    assert text.returncode == 0 and text.stdout.startswith("removed 1 edit(s) older than 30 day(s)")
    assert recs["released"]["id"] not in _ids(rt)
    bad = cli("purge", "--older-than", "-1")
    assert bad.returncode == 1 and "0 or more" in bad.stderr


def test_delete_my_data_removes_only_mine(make_runtime, image_file):
    rt = make_runtime(EDITGUARD_SEED_REFERENCES="0")
    mine = [_edit(rt, image_file, "make it sepia"), _edit(rt, image_file, 'add the caption "Pikachu"', name="astronaut"),
            _edit(rt, image_file, "服を脱がせて", name="camera")]
    theirs = _edit(rt, image_file, "make it sepia", requester=B, name="rocket")
    report = delete_requester_data(rt.session_factory, rt.store, A)
    assert set(report.requests) == {mine[0]["id"], mine[1]["id"]}  # the pending one is withdrawn too
    assert report.kept_for_audit == 1  # the blocked attempt stays for the audit trail
    assert _ids(rt) == {mine[2]["id"], theirs["id"]}
    assert rt.queue.list(status="open")[1] == 0
    assert all(Path(p).exists() for p in theirs["outputs"])
    with pytest.raises(ValueError):
        delete_requester_data(rt.session_factory, rt.store, "")


def test_the_app_purges_daily_when_retention_is_set(world, monkeypatch):
    rt, recs = world
    from review.privacy.retention import purge_daily

    keep_all = rt.settings.__class__(**{**rt.settings.__dict__, "blocked_picture_days": 0})
    monkeypatch.setattr(rt, "settings", keep_all)
    assert purge_daily(rt) is None  # EDITGUARD_RETENTION_DAYS unset, blocked pictures kept: the app keeps everything
    monkeypatch.setattr(rt, "settings", rt.settings.__class__(**{**rt.settings.__dict__, "retention_days": 30}))
    thread = purge_daily(rt)
    import time

    for _ in range(100):
        if recs["released"]["id"] not in _ids(rt):
            break
        time.sleep(0.05)
    assert thread.daemon and _ids(rt) == {r["id"] for k, r in recs.items() if k != "released"}


def test_a_dry_run_tells_the_truth(world):
    rt, recs = world
    dry = purge(rt.session_factory, rt.store, 30, keep_decided=False, dry_run=True)
    assert _ids(rt) == {r["id"] for r in recs.values()}  # nothing went
    real = purge(rt.session_factory, rt.store, 30, keep_decided=False)
    assert dry.images_removed == real.images_removed > 0 and dry.bytes_freed == real.bytes_freed
    assert dry.requests == real.requests


def test_a_purge_racing_an_edit_of_the_same_picture_leaves_no_row_without_its_file(world, image_file, monkeypatch):
    """The edit finds its input already stored; the purge then deletes that picture's row and file; the edit's row
    commits afterwards. The picture must be on disk for it."""
    rt, recs = world
    write, raced = rt.store.write, []

    def write_then_purge(encoded):
        saved = write(encoded)
        if not raced:
            raced.append(purge(rt.session_factory, rt.store, 30))  # runs between the edit's files and its row
        return saved

    monkeypatch.setattr(rt.store, "write", write_then_purge)
    again = _edit(rt, image_file, "make it sepia")  # the same coffee picture as the purged "released" edit
    # the purge ran between the edit's files and its row, and the old edit of the same picture is gone (in a full
    # suite run it is sometimes already gone before the race: see the session note; the invariant below is the point)
    assert raced and recs["released"]["id"] not in _ids(rt)
    with rt.session_factory() as s:
        for relpath in s.scalars(select(StoredImage.relpath)):
            assert rt.store.path(relpath).exists(), relpath
    assert all(Path(p).exists() for p in again["inputs"] + again["outputs"])


def test_stray_files_are_collected_but_never_fresh_ones(world):
    import os
    import time

    from review.privacy.retention import STRAY_GRACE_S

    rt, recs = world
    images = rt.store.root / "images" / "00" / "00"
    images.mkdir(parents=True, exist_ok=True)
    old, fresh, tmp = images / ("0" * 64 + ".png"), images / ("00" + "1" * 62 + ".png"), images / ".tmp-crash.png"
    for path in (old, fresh, tmp):
        path.write_bytes(b"left by a crash")
    past = time.time() - STRAY_GRACE_S - 60
    os.utime(old, (past, past))
    os.utime(tmp, (past, past))
    dry = purge(rt.session_factory, rt.store, 30, dry_run=True)
    assert dry.stray_files == 2 and old.exists()
    report = purge(rt.session_factory, rt.store, 30)
    assert report.stray_files == 2 and not old.exists() and not tmp.exists()
    assert fresh.exists()  # an in-flight edit may be about to name it
    with rt.session_factory() as s:
        for relpath in s.scalars(select(StoredImage.relpath)):
            assert rt.store.path(relpath).exists(), relpath
