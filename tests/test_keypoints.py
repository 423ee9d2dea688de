"""Keypoint sketches: a work's 32 ORB keypoints in the database rank the hash candidates before verification."""
import dataclasses

import numpy as np
from PIL import Image
from sqlalchemy import select

from db.engine import run_write
from db.models import ReferenceHashes
from review.similarity import hashes, keypoints
from review.similarity.library import add_reference
from review.similarity.search import VERIFY_TOP
from tests.conftest import painted, photo

NAMES = ("astronaut", "coffee", "rocket", "chelsea", "camera", "horse", "coins")


def _off_centre_crop(im: Image.Image) -> Image.Image:
    w, h = im.size
    return im.crop((int(w * 0.05), int(h * 0.11), int(w * 0.89), int(h * 0.95)))


def test_a_copy_scores_high_against_its_own_sketch_and_low_against_other_works():
    works = {n: photo(n) for n in NAMES}
    sketches = {n: keypoints.parse(keypoints.sketch_code(im).code) for n, im in works.items()}
    assert all(len(s.descriptors) == keypoints.SKETCH_KEYPOINTS for s in sketches.values())
    for name, change in (("camera", lambda im: painted(im, 0.4)), ("coffee", _off_centre_crop),
                         ("horse", lambda im: im.rotate(8, expand=True, fillcolor="white"))):
        got = dict(zip(sketches, keypoints.scores(keypoints.detect(change(works[name])), list(sketches.values()))))
        assert got[name] >= 2 * keypoints.MIN_SCORE, (name, got)
        assert max(v for n, v in got.items() if n != name) < keypoints.MIN_SCORE, (name, got)


def test_a_sketch_round_trips_and_a_flat_picture_has_none():
    code = keypoints.sketch_code(photo("rocket"))
    assert code.kind == keypoints.KIND and len(code.code) == keypoints.SKETCH_KEYPOINTS * keypoints.ENTRY
    back = keypoints.parse(code.code)
    found = keypoints.detect(photo("rocket"), keypoints.SKETCH_KEYPOINTS)
    assert np.array_equal(back.descriptors, found.descriptors) and np.array_equal(back.levels, found.levels)
    assert np.abs((back.angles - found.angles + 180) % 360 - 180).max() <= 360 / 256
    assert keypoints.sketch_code(Image.new("RGB", (300, 200), "grey")) is None
    assert keypoints.scores(keypoints.detect(Image.new("RGB", (300, 200), "grey")), [back]).tolist() == [0]


def _library(make_runtime):
    rt = make_runtime(EDITGUARD_SEED_REFERENCES="0")
    ids = {n: run_write(rt.session_factory, lambda s, n=n: add_reference(
        s, rt.store, photo(n), title=n, owner="Owner", license="All rights reserved").id) for n in NAMES}
    return rt, ids


def _candidates(rt, first: list[str]) -> list:
    """One hash candidate per work, in the order given, all at the warn level (as unrelated works at 1M are)."""
    out = []
    for n in first:
        (m,) = rt.index.search_codes(hashes.query_codes(photo(n))[0], limit=1)
        out.append(dataclasses.replace(m, level="warn"))
    return out


def test_the_sketch_lifts_the_copy_past_unrelated_candidates_to_be_verified(make_runtime):
    rt, ids = _library(make_runtime)
    with rt.session_factory() as s:
        rows = dict(s.execute(select(ReferenceHashes.reference_id, ReferenceHashes.codes)
                              .where(ReferenceHashes.kind == keypoints.KIND)).all())
    assert set(rows) == set(ids.values())  # every work's sketch is in the database ...
    rt.index.refresh()  # ... and the index loads the works from their hash rows alone
    assert len(rt.index) == len(NAMES)
    order = [n for n in NAMES if n != "camera"] + ["camera"]  # the copy's work last by hash: beyond VERIFY_TOP
    assert len(order) > VERIFY_TOP
    query = painted(photo("camera"), 0.4)
    ranked = rt.index.rerank(query, _candidates(rt, order))
    assert ranked[0].reference_id == ids["camera"]
    assert [m.title for m in ranked[1:]] == order[:-1]  # the rest keep their hash order
    matches = rt.index.verify(query, ranked[:VERIFY_TOP])
    assert [m.title for m in matches] == ["camera"] and matches[0].evidence["basis"] == "verified"


def test_a_candidate_at_the_hash_review_level_stays_first(make_runtime):
    rt, ids = _library(make_runtime)
    order = ["astronaut"] + [n for n in NAMES if n not in ("astronaut", "camera")] + ["camera"]
    candidates = _candidates(rt, order)
    candidates[0] = dataclasses.replace(candidates[0], level="review")
    ranked = rt.index.rerank(painted(photo("camera"), 0.4), candidates)
    assert [m.title for m in ranked[:2]] == ["astronaut", "camera"]


def test_beyond_the_first_candidates_by_hash_only_a_strong_sketch_moves_one_up(make_runtime, monkeypatch):
    """At a million works a crop off the centre can be a few hundred candidates down by hash, behind look-alikes:
    its sketch is scored all the same, and a score no unrelated pair reached (STRONG_SCORE) moves it up. A middling
    score down there keeps the hash rank, as unrelated works that far down score that much by chance."""
    from review.similarity import search

    rt, ids = _library(make_runtime)
    monkeypatch.setattr(search, "RERANK_TOP", 3)
    sketch = {n: keypoints.parse(keypoints.sketch_code(photo(n)).code) for n in ("coffee", "chelsea")}
    strong, middling = _off_centre_crop(photo("coffee")), painted(photo("chelsea"), 0.6)
    assert keypoints.scores(keypoints.detect(strong), [sketch["coffee"]])[0] >= keypoints.STRONG_SCORE
    assert keypoints.MIN_SCORE <= keypoints.scores(keypoints.detect(middling), [sketch["chelsea"]])[0] \
        < keypoints.STRONG_SCORE
    for name, query in (("coffee", strong), ("chelsea", middling)):
        order = [n for n in NAMES if n != name] + [name]  # its work last by hash, beyond RERANK_TOP
        ranked = [m.title for m in rt.index.rerank(query, _candidates(rt, order))]
        assert ranked[0] == name if name == "coffee" else ranked == order
    monkeypatch.setattr(search, "RERANK_TOP", len(NAMES))  # within the first by hash, the middling score counts
    order = [n for n in NAMES if n != "chelsea"] + ["chelsea"]
    assert rt.index.rerank(middling, _candidates(rt, order))[0].title == "chelsea"


def test_the_first_candidate_by_hash_is_verified_whatever_the_sketches_say(make_runtime, monkeypatch):
    """A work poor in keypoints (a fundus photo, a clock face) has a weak sketch: however close its hash, look-alikes
    scoring by chance would push it out of the few verified. The first by hash keeps the last verified place; the
    sketches choose the rest. Here two works seen in the upload outscore it, with room to verify two."""
    from review.similarity import search

    rt, _ = _library(make_runtime)
    monkeypatch.setattr(search, "VERIFY_TOP", 2)
    both = Image.new("RGB", (800, 400))
    for i, n in enumerate(("horse", "coins")):
        both.paste(photo(n).resize((400, 400)), (i * 400, 0))
    order = ["camera", "astronaut", "coffee", "rocket", "chelsea", "horse", "coins"]  # camera first by hash
    assert [m.title for m in rt.index.rerank(both, _candidates(rt, order))][:2] == ["horse", "camera"]
    monkeypatch.setattr(search, "first_by_hash_kept", lambda order: order)  # the sketches alone would drop it
    assert [m.title for m in rt.index.rerank(both, _candidates(rt, order))][:2] == ["horse", "coins"]


def test_first_by_hash_kept_moves_only_the_first_and_only_when_it_fell_out():
    from review.similarity.search import VERIFY_TOP, first_by_hash_kept

    inside = [3, 0, 1, 2, 4, 5, 6]
    assert first_by_hash_kept(inside) == inside
    fallen = [6, 5, 4, 3, 2, 1, 0]
    kept = first_by_hash_kept(fallen)
    assert kept[:VERIFY_TOP] == fallen[:VERIFY_TOP - 1] + [0] and sorted(kept) == sorted(fallen)
    assert kept[VERIFY_TOP:] == fallen[VERIFY_TOP - 1:-1]
    assert first_by_hash_kept([2, 1]) == [2, 1]
