"""Geometric verification, the confidence and its calibration split, the chunked index, and cross-process freshness."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter, ImageOps
from sqlalchemy import event

from bench.similarity import calibrate
from db.engine import run_write
from review.similarity import hashes, verify
from review.similarity.index import NumpyHammingIndex
from review.similarity.library import add_reference, set_active
from review.similarity.hashes import KINDS
from review.similarity.search import (CONFIDENCE_CAP, hash_only_confidence,
                               verified_confidence)
from tests.conftest import photo

ROOT = Path(__file__).resolve().parents[1]


def register(rt, image, title="Work"):
    return run_write(rt.session_factory, lambda s: add_reference(
        s, rt.store, image, title=title, owner="Owner", license="All rights reserved").id)


def same_layout_other_detail(work: Image.Image, texture: str) -> Image.Image:
    """A different picture with the work's coarse layout (what hashes see) and another picture's fine detail."""
    tex = photo(texture, work.size)
    detail = np.asarray(tex, np.float32) - np.asarray(tex.filter(ImageFilter.GaussianBlur(16)), np.float32)
    layout = np.asarray(work.filter(ImageFilter.GaussianBlur(16)), np.float32)
    return Image.fromarray(np.clip(layout + 1.5 * detail, 0, 255).astype(np.uint8))


def test_a_true_crop_is_confirmed_with_its_region():
    work = photo("astronaut")  # 512 x 512
    box = (100, 60, 420, 380)  # 39% of the work
    check = verify.verify(verify.features(work.crop(box).resize((480, 480))), verify.features(work))
    assert check.verified and check.checkable and check.inliers >= 50
    xs, ys = [p[0] for p in check.region], [p[1] for p in check.region]
    assert min(xs) == pytest.approx(box[0] / 512, abs=0.02) and max(xs) == pytest.approx(box[2] / 512, abs=0.02)
    assert min(ys) == pytest.approx(box[1] / 512, abs=0.02) and max(ys) == pytest.approx(box[3] / 512, abs=0.02)
    assert check.region_share == pytest.approx(320 * 320 / 512 ** 2, abs=0.03)
    assert check.scale == pytest.approx(320 / 480, rel=0.05)


def test_a_copy_resized_to_another_aspect_is_confirmed_but_a_shear_is_not_a_stretch():
    work = photo("astronaut")  # 512 x 512
    check = verify.verify(verify.features(work.resize((512, 300))), verify.features(work))
    assert check.verified and check.region_share > 0.9  # no similarity transform fits: the stretched one does
    assert verify._only_stretched(np.array([[1.0, 0, 5], [0, 0.6, 0]]))
    assert not verify._only_stretched(np.array([[1.0, 0.5, 0], [0, 1.0, 0]]))  # sheared
    assert not verify._only_stretched(np.array([[3.0, 0, 0], [0, 1.0, 0]]))  # beyond MAX_STRETCH
    assert not verify._only_stretched(np.array([[-1.0, 0, 0], [0, 1.0, 0]]))  # mirrored


def test_a_mirrored_copy_is_checked_against_the_mirrored_upload():
    work, copy = photo("coffee"), ImageOps.mirror(photo("coffee"))
    assert not verify.verify(verify.features(copy), verify.features(work)).verified
    assert verify.verify(verify.features(copy, mirrored=True), verify.features(work)).verified


def phantom() -> Image.Image:
    """scikit-image's Shepp-Logan phantom: a few soft ellipses, about 40 SIFT keypoints, bunched on its edges."""
    from skimage import data

    return Image.fromarray((np.clip(data.shepp_logan_phantom(), 0, 1) * 255).astype(np.uint8)).convert("RGB")


def test_a_keypoint_poor_turned_copy_is_confirmed_by_its_fine_detail():
    work = phantom()
    turned = work.rotate(-8, expand=True, fillcolor=(255, 255, 255))
    check = verify.verify(verify.features(turned), verify.features(work))
    assert check.verified and check.detail is not None and check.detail >= verify.DETAIL_MIN_CORRELATION
    # the keypoints alone would not have confirmed it: too few, or bunched together
    assert check.inliers < verify.MIN_INLIERS or check.spread < verify.MIN_SPREAD
    assert check.rotation == pytest.approx(-8, abs=1.5) and check.region_share > 0.9
    assert check.to_dict()["detail"] == round(check.detail, 3)


def test_keypoints_bunched_on_a_shared_patch_are_not_enough_when_the_rest_differs():
    """The spread rule's case: a small patch of the work pasted into another picture. Its keypoints agree (bunched),
    the dense check then compares the whole shared region, and the rest of it is another picture."""
    work = photo("astronaut")
    other = photo("coffee", work.size)
    other.paste(work.crop((180, 60, 300, 180)), (180, 60))
    check = verify.verify(verify.features(other), verify.features(work))
    assert check.checkable and check.inliers >= verify.DETAIL_MIN_INLIERS  # the patch's keypoints agree ...
    assert not check.verified and check.detail is not None and check.detail < verify.DETAIL_MIN_CORRELATION
    assert "fine detail differs" in check.reason  # ... its detail does not, over the whole region


def test_a_faint_picture_is_detected_again_at_a_lower_contrast():
    import cv2

    clock = photo("clock")
    usual = cv2.SIFT_create(nfeatures=verify.MAX_FEATURES, contrastThreshold=verify.CONTRAST).detect(
        np.asarray(clock.convert("L")), None)
    assert len(usual) < verify.MIN_KEYPOINTS  # uncheckable at SIFT's usual contrast ...
    assert len(verify.features(clock).keypoints) >= verify.RETRY_KEYPOINTS  # ... not after the retry


@pytest.mark.parametrize("texture", ["gravel", "grass"])
def test_an_unrelated_picture_near_the_hash_threshold_is_rejected(make_runtime, texture):
    rt = make_runtime(EDITGUARD_SEED_REFERENCES="0")
    work = photo("astronaut")
    ref_id = register(rt, work, "astronaut")
    lookalike = same_layout_other_detail(work, texture)
    candidates = rt.index.search_codes(hashes.query_codes(lookalike)[0])
    assert [m.reference_id for m in candidates] == [ref_id]  # the hashes alone would warn ...
    assert candidates[0].distance <= KINDS[candidates[0].hash_kind].warn
    check = verify.verify(verify.features(lookalike), verify.features(work))
    assert check.checkable and not check.verified  # ... the keypoints do not agree
    assert rt.index.search(lookalike) == []


def test_a_verified_match_carries_its_evidence_and_an_honest_confidence(make_runtime):
    rt = make_runtime(EDITGUARD_SEED_REFERENCES="0")
    ref_id = register(rt, photo("coffee"), "coffee")
    [m] = rt.index.search(photo("coffee").crop((60, 40, 560, 360)))
    assert m.reference_id == ref_id and m.evidence["basis"] == "verified"
    assert m.evidence["inliers"] >= verify.MIN_INLIERS and 0.3 < m.evidence["region_share"] < 0.7
    assert len(m.evidence["region"]) >= 4 and m.score == verified_confidence(m.evidence["inliers"]) < 1.0


def test_confidence_is_never_certain_and_hash_only_confidence_falls_with_the_library():
    assert verified_confidence(5) < 0.5 < verified_confidence(15) < verified_confidence(200) == CONFIDENCE_CAP < 1
    assert 0.9 < hash_only_confidence("pdq", 0, 10) < 1.0
    assert hash_only_confidence("pdq", 0, 1_000_000) == 0.0
    assert hash_only_confidence("pdq", hashes.KINDS["pdq"].warn, 100) < hash_only_confidence("pdq", 20, 100)


def test_calibration_is_fitted_on_some_pictures_and_judged_on_others():
    rng = np.random.default_rng(0)
    rows = []
    for i in range(40):
        for true in (1, 0, 0, 0):
            inliers = int(rng.integers(15, 200)) if true else int(rng.integers(3, 12))
            rows.append({"src": f"p{i}", "true": true, "inliers": inliers, "matches": inliers, "scale": 1.0,
                         "region_share": 0.5, "spread": 0.5, "checkable": True})
    report = calibrate(rows)
    assert set(report["fit_pictures"]).isdisjoint(report["held_out_pictures"])
    assert len(report["fit_pictures"]) == len(report["held_out_pictures"]) == 20
    assert report["slope"] > 0 and report["held_out"]["pairs"] == 80
    for row in report["held_out"]["reliability"]:  # predicted vs observed, on pairs the fit never saw
        assert 0 <= row["observed"] <= 1 and row["pairs"] > 0


def test_index_adds_and_removes_without_copying_what_it_holds():
    rng = np.random.default_rng(1)
    index = NumpyHammingIndex(32)
    index.add(np.arange(1000), rng.integers(0, 256, (1000, 32), dtype=np.uint8))
    first = index._chunks[0].words
    index.add(np.arange(1000, 1500), rng.integers(0, 256, (500, 32), dtype=np.uint8))
    index.remove(np.arange(0, 100))
    assert index._chunks[0].words is first and len(index) == 1400  # filled and marked in place
    index.add(np.arange(2000, 2000 + NumpyHammingIndex.CHUNK), rng.integers(0, 256, (NumpyHammingIndex.CHUNK, 32),
                                                                            dtype=np.uint8))
    assert len(index._chunks) == 2 and index._chunks[0].words is first  # a new chunk, the old one untouched
    assert index.range_search(first[150:151].view(np.uint8), 0)[0][0].tolist() == [150]
    assert index.range_search(first[50:51].view(np.uint8), 0)[0][0].tolist() == []  # removed


@pytest.mark.parametrize("index_kind", ["auto", "mih"])
def test_another_process_sees_changes_and_unchanged_searches_do_not_scan_the_library(make_runtime, index_kind):
    rt = make_runtime(EDITGUARD_SEED_REFERENCES="0", EDITGUARD_SIMILARITY_INDEX=index_kind)
    register(rt, photo("astronaut"), "astronaut")
    assert rt.index.search(photo("chelsea")) == []
    script = ("from review.pipeline.runtime import Runtime; from review.similarity.library import add_reference; "
              "from db.engine import run_write; from skimage import data; from PIL import Image; "
              "rt = Runtime.start(load_models=False); im = Image.fromarray(data.chelsea()); "
              "print(run_write(rt.session_factory, lambda s: add_reference(s, rt.store, im, title='cat', owner='o', "
              "license='l').id))")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=dict(os.environ), capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    new_id = int(out.stdout.strip().splitlines()[-1])
    assert [m.reference_id for m in rt.index.search(photo("chelsea"))] == [new_id]

    statements = []
    listen = lambda *a: statements.append(a[2])  # noqa: E731 (the statement text)
    event.listen(rt.engine, "before_cursor_execute", listen)
    try:
        rt.index.refresh()
    finally:
        event.remove(rt.engine, "before_cursor_execute", listen)
    queries = [q for q in statements if q.strip().upper() != "BEGIN"]
    assert len(queries) == 1 and "library_changes" in queries[0] and "reference_works" not in queries[0]
    set_active(rt.session_factory, new_id, False, actor="t")
    assert rt.index.search(photo("chelsea")) == []


@pytest.mark.parametrize("nbytes, radius, flips", [(32, 31, (31, 24, 16, 0)), (8, 15, (15, 11, 6, 0)),
                                                    (8, 14, (14, 12, 6, 0)), (8, 13, (13, 9, 4, 0))])
def test_multi_index_hashing_finds_exactly_what_a_full_scan_finds(monkeypatch, nbytes, radius, flips):
    """PDQ at its review distance and pHash at its warn distance (the `mih` index's two radii)."""
    from review.similarity.index import MultiIndexHammingIndex

    monkeypatch.setattr(MultiIndexHammingIndex, "SEGMENT", 1000)  # several frozen segments and a tail
    rng = np.random.default_rng(2)
    codes = rng.integers(0, 256, (3500, nbytes), dtype=np.uint8)
    index = MultiIndexHammingIndex(nbytes, radius)
    index.add(np.arange(0, 1500), codes[:1500])
    index.add(np.arange(1500, 3500), codes[1500:])
    assert [len(seg["labels"]) for seg in index._segments] == [2000, 1000] and len(index) == 3500  # merged
    queries = codes[[3, 1200, 2500, 3400]].copy()
    for i, n in enumerate(flips):
        for b in rng.choice(nbytes * 8, n, replace=False):
            queries[i, b // 8] ^= np.uint8(1 << (b % 8))
    queries[3, :] = codes[3400] ^ 0xFF  # far from everything
    index.remove(np.array([1200]))
    bits = np.unpackbits(codes, axis=1)
    results = index.range_search(queries, radius)
    for q, (found, dist) in zip(queries, results):
        d = (np.unpackbits(q) != bits).sum(axis=1)
        expected = {i for i in np.nonzero(d <= radius)[0].tolist() if i != 1200}
        assert set(found.tolist()) == expected and len(found) == len(expected)  # each row once
        assert sorted(dist.tolist()) == sorted(d[list(expected)].tolist())
    assert 3 in results[0][0] and 1200 not in results[1][0] and 2500 in results[2][0]
    # codes exactly `radius` bits from a work, however the bits fall on the pieces (the uneven pigeonhole: pHash at
    # 14 bits probes three pieces within 3 bits and one within 2)
    near = codes[:300].copy()
    for row in near:
        for b in rng.choice(nbytes * 8, radius, replace=False):
            row[b // 8] ^= np.uint8(1 << (b % 8))
    index.add(np.arange(3500, 4200), codes[:700])  # another merge, after the removal
    assert all(i in found.tolist() for i, (found, _) in enumerate(index.range_search(near, radius)) if i != 1200)
    with pytest.raises(ValueError):
        index.range_search(queries, radius + 9)  # beyond what multi-index hashing answers exactly


def test_a_compacted_index_finds_the_same_and_goes_on_adding_and_removing(monkeypatch):
    """Each probe costs a random access per segment, so a library loaded in bulk is merged into one segment."""
    from review.similarity.index import MultiIndexHammingIndex

    monkeypatch.setattr(MultiIndexHammingIndex, "SEGMENT", 1000)
    rng = np.random.default_rng(5)
    codes = rng.integers(0, 256, (4200, 8), dtype=np.uint8)
    index = MultiIndexHammingIndex(8, 14)
    index.add(np.arange(3500), codes[:3500])
    index.remove(np.array([7]))
    assert [len(seg["labels"]) for seg in index._segments] == [2000, 1000] and len(index._tail) == 500
    queries = codes[[7, 100, 2100, 3200, 3400]].copy()
    queries[:, 0] ^= 0x0F  # 4 bits from their works
    before = [set(found.tolist()) for found, _ in index.range_search(queries, 14)]
    index.compact()
    assert [len(seg["labels"]) for seg in index._segments] == [2999] and len(index) == 3499  # the dead row is gone
    after = [set(found.tolist()) for found, _ in index.range_search(queries, 14)]
    assert after == before and 7 not in after[0] and {100, 2100, 3200, 3400} <= set().union(*after)
    index.remove(np.array([100]))
    index.add(np.arange(3500, 4200), codes[3500:])  # a new segment beside the big one, never merged into it
    assert [len(seg["labels"]) for seg in index._segments] == [2999, 1000] and len(index) == 4198
    bits = np.unpackbits(codes, axis=1)
    for q, (found, _) in zip(queries, index.range_search(queries, 14)):
        d = (np.unpackbits(q) != bits).sum(axis=1)
        assert set(found.tolist()) == {i for i in np.nonzero(d <= 14)[0].tolist() if i not in (7, 100)}


def test_the_million_work_index_is_compacted_after_a_bulk_load(make_runtime, monkeypatch):
    from review.similarity import search
    from review.similarity.index import MultiIndexHammingIndex

    monkeypatch.setattr(MultiIndexHammingIndex, "SEGMENT", 2)  # a segment every two works
    monkeypatch.setattr(search, "LOAD_BATCH", 2)  # and a bulk load from three works on
    rt = make_runtime(EDITGUARD_SEED_REFERENCES="0", EDITGUARD_SIMILARITY_INDEX="mih")
    ids = {}
    for n in ("astronaut", "coffee", "rocket", "chelsea", "camera", "horse"):
        ids[n] = register(rt, photo(n), n)
        rt.index.refresh()  # this process follows its library one work at a time
    assert len(rt.index._indexes["phash"]._segments) > 1  # so it holds several segments
    fresh = search.ReferenceIndex(rt.session_factory, "mih", rt.store)  # another process starting
    fresh.refresh()
    assert all(len(index._segments) == 1 for index in fresh._indexes.values())
    [m] = fresh.search(ImageOps.mirror(photo("rocket")))
    assert m.reference_id == ids["rocket"] and m.evidence["basis"] == "verified"


def test_whole_codes_by_id_grow_in_chunks_and_forget():
    from review.similarity.whole_codes import CHUNK, WholeCodes

    rng = np.random.default_rng(3)
    codes = rng.integers(0, 256, (3, 32), dtype=np.uint8)
    whole = WholeCodes()
    whole.set(np.array([5, CHUNK + 7]), codes[:2])  # two chunks
    before = whole._codes[0]
    whole.set(np.array([3 * CHUNK + 1]), codes[2:])  # a third and fourth: the first is not copied
    assert whole._codes[0] is before and len(whole._codes) == 4
    query = codes[[1]].copy()
    query[0, 0] ^= 0b111  # 3 bits from the second work's code
    dist, which = whole.distances(np.array([5, CHUNK + 7, 3 * CHUNK + 1, 10, 9 * CHUNK]), np.concatenate([codes[:1], query]))
    full = (np.unpackbits(codes[2]) != np.unpackbits(codes[0])).sum(), (np.unpackbits(codes[2]) != np.unpackbits(query[0])).sum()
    assert dist.tolist()[:2] == [0, 3] and which.tolist()[:2] == [0, 1] and dist[2] == min(full)
    assert dist.tolist()[3:] == [999, 999]  # never set, and beyond every chunk
    whole.drop([CHUNK + 7])
    assert whole.distances(np.array([CHUNK + 7]), query)[0].tolist() == [999]


def test_whole_codes_are_scanned_in_place_for_every_work_within_a_radius():
    from review.similarity.whole_codes import CHUNK, WholeCodes

    rng = np.random.default_rng(4)
    codes = rng.integers(0, 256, (CHUNK + 500, 32), dtype=np.uint8)
    ids = np.arange(len(codes)) + 3  # ids in two chunks
    whole = WholeCodes()
    whole.set(ids, codes)
    queries = codes[[10, CHUNK + 100, 7]].copy()
    for i, n in enumerate((84, 85, 40)):  # the warn distance, one bit beyond it, well within it
        for b in rng.choice(256, n, replace=False):
            queries[i, b // 8] ^= np.uint8(1 << (b % 8))
    whole.drop([7 + 3])
    found, dists, which = whole.range_search(queries, 84)
    brute = (np.unpackbits(queries, axis=1)[:, None, :] != np.unpackbits(codes, axis=1)[None]).sum(axis=2)
    expected = {(int(ids[r]), int(q), int(brute[q, r])) for q, r in zip(*np.nonzero(brute <= 84)) if ids[r] != 10}
    assert set(zip(found.tolist(), which.tolist(), dists.tolist())) == expected and len(found) == len(expected)
    assert (13, 0, 84) in expected and not any(q == 1 for _, q, _ in expected)  # 84 bits is met, 85 is not
    assert not any(f == 10 for f, _, _ in expected)  # forgotten


def test_the_million_work_index_meets_a_repaint_beyond_phash_by_scanning_pdq(make_runtime, monkeypatch):
    from review.similarity import mih_views

    rt = make_runtime(EDITGUARD_SEED_REFERENCES="0", EDITGUARD_SIMILARITY_INDEX="mih")
    ids = {n: register(rt, photo(n), n) for n in ("camera", "horse", "coffee")}
    for name, share in (("camera", 0.3), ("horse", 0.4)):
        painted = np.asarray(photo(name)).copy()
        painted[:int(painted.shape[0] * share), :int(painted.shape[1] * 0.9)] = (40, 160, 90)
        copy = Image.fromarray(painted)
        [m] = rt.index.search(copy)
        assert m.reference_id == ids[name] and m.evidence["basis"] == "verified"
        assert m.hash_kind == "pdq" and m.transform == "identity" and 31 < m.distance <= KINDS["pdq"].warn
        with monkeypatch.context() as without_scan:  # the pHash tables alone: more than 14 bits away, never met
            without_scan.setattr(mih_views, "SCAN", {})
            assert ids[name] not in [c.reference_id for c in rt.index.search_codes(mih_views.query_views(copy))]
    assert rt.index.search(photo("chelsea")) == [] and rt.index.search(photo("astronaut")) == []


def test_the_million_work_index_meets_turned_textures_turned_back_by_the_measured_angle(make_runtime, monkeypatch):
    """Textures forgive little: gravel and the Hubble field turned 15 degrees are 18 pHash bits from their works after
    the nearest fixed angle (14), beyond pHash's warn distance, and 4-6 bits after the measured one. Brick turned 8
    degrees is beyond pHash either way; the measured view's PDQ code, scanned, meets it. So it does for chelsea and
    brick turned 15 degrees within their canvas (corners cut off, black): 16-24 pHash bits away, 50-60 PDQ bits."""
    from review.similarity import derotate, mih_views

    rt = make_runtime(EDITGUARD_SEED_REFERENCES="0", EDITGUARD_SIMILARITY_INDEX="mih")
    ids = {n: register(rt, photo(n), n) for n in ("gravel", "hubble_deep_field", "brick", "chelsea", "coffee")}
    for name, angle, expand in (("gravel", 15, True), ("hubble_deep_field", 15, True), ("brick", -8, True),
                                ("chelsea", 15, False), ("brick", 15, False)):
        copy = photo(name).rotate(angle, expand=expand, fillcolor=(255, 255, 255) if expand else None)
        [m] = rt.index.search(copy)
        assert m.reference_id == ids[name] and m.evidence["basis"] == "verified"
        assert m.query_view.startswith(derotate.UNTURNED), m.query_view
        with monkeypatch.context() as fixed_angles_only:
            fixed_angles_only.setattr(derotate, "measured_turn", lambda pixels: None)
            assert ids[name] not in [c.reference_id for c in rt.index.search_codes(mih_views.query_views(copy))]


def test_a_dark_picture_turned_within_its_canvas_is_turned_back_within_it(make_runtime, monkeypatch):
    """The astronaut turned 15 degrees within its canvas, black fill on black space: no edge shows the angle, but its
    corners share one grey level and its content reaches every side, so the fixed angles turn it back within its
    canvas too (8 pHash bits from the work at 14 degrees). Their usual cut, made for a larger canvas, leaves 16."""
    from review.similarity import derotate, mih_views

    rt = make_runtime(EDITGUARD_SEED_REFERENCES="0", EDITGUARD_SIMILARITY_INDEX="mih")
    ids = {n: register(rt, photo(n), n) for n in ("astronaut", "coffee", "rocket")}
    copy = photo("astronaut").rotate(15)
    assert derotate.measured_turn(hashes.grey(copy, derotate.DEROTATE_SIDE)) is None
    [m] = rt.index.search(copy)
    assert m.reference_id == ids["astronaut"] and m.evidence["basis"] == "verified"
    assert m.query_view.startswith(derotate.IN_CANVAS), m.query_view
    with monkeypatch.context() as usual_cut_only:
        usual_cut_only.setattr(derotate, "_filled_content", lambda pixels: None)
        assert ids["astronaut"] not in [c.reference_id for c in rt.index.search_codes(mih_views.query_views(copy))]
    assert not any(c.view.startswith(derotate.IN_CANVAS) for c in mih_views.query_views(photo("coffee")))


def test_the_million_work_index_finds_near_copies_and_their_mirrors(make_runtime):
    rt = make_runtime(EDITGUARD_SEED_REFERENCES="0", EDITGUARD_SIMILARITY_INDEX="mih")
    ids = {n: register(rt, photo(n), n) for n in ("astronaut", "coffee")}
    for copy in (photo("astronaut").resize((256, 256)), ImageOps.mirror(photo("astronaut")),
                 ImageOps.grayscale(photo("astronaut")).convert("RGB")):
        [m] = rt.index.search(copy)
        assert m.reference_id == ids["astronaut"] and m.evidence["basis"] == "verified" and m.level == "review"
    turned = photo("astronaut").rotate(8, expand=True, fillcolor=(255, 255, 255))
    repainted = np.asarray(photo("astronaut")).copy()
    repainted[:230, :460] = (40, 160, 90)  # 40% of the picture painted over: 12 pHash bits away at best
    found = {}
    for name, copy in (("turned", turned), ("repainted", Image.fromarray(repainted))):
        [m] = rt.index.search(copy)  # pHash's turned-back views, and beyond pHash's review distance
        assert m.reference_id == ids["astronaut"] and m.evidence["basis"] == "verified"
        found[name] = m
    assert found["turned"].query_view.startswith("derotated")
    # ranked by PDQ too: beyond the 31 bits PDQ is searched within, the pHash candidate's own PDQ code was compared
    assert found["repainted"].hash_kind == "pdq" and 31 < found["repainted"].distance <= 84
    set_active(rt.session_factory, ids["astronaut"], False, actor="t")  # gone from both indexes and the re-rank
    assert rt.index.search(turned) == [] and rt.index.search_codes(hashes.query_codes(turned)[0]) == []
    assert rt.index.search(photo("chelsea")) == []
    assert rt.index.memory_bytes() < 20 * 2**20  # two works: the fixed tail and offsets, not per-work objects


def test_the_million_work_index_finds_crops_by_the_works_centre_window(make_runtime):
    from review.similarity import mih_views

    rt = make_runtime(EDITGUARD_SEED_REFERENCES="0", EDITGUARD_SIMILARITY_INDEX="mih")
    ids = {n: register(rt, photo(n), n) for n in ("astronaut", "coffee", "chelsea")}
    whole_only = {}
    # (share of each side cut off in all, shift off the centre as a share of the side): people never crop exactly
    for name, share, shift in (("astronaut", 0.16, 0.02), ("coffee", 0.27, 0.0), ("chelsea", 0.07, -0.01)):
        im = photo(name)
        left, top = int(im.width * (share / 2 + shift)), int(im.height * (share / 2 - shift))
        crop = im.crop((left, top, left + int(im.width * (1 - share)), top + int(im.height * (1 - share))))
        [m] = rt.index.search(crop)
        assert m.reference_id == ids[name] and m.evidence["basis"] == "verified"
        codes = mih_views.query_views(crop)
        zoomed = rt.index.search_codes([c for c in codes if mih_views.is_zoom(c)])  # the query's centre windows...
        assert zoomed[0].reference_id == ids[name] and zoomed[0].transform == "centre70"
        whole_only[name] = [m.reference_id for m in rt.index.search_codes([c for c in codes if not mih_views.is_zoom(c)])]
    assert ids["coffee"] not in whole_only["coffee"]  # ...are all that finds a 27% crop: its whole picture meets nothing
    # each work is held twice by pHash (whole, centre window) and by PDQ only for the re-rank
    assert {name: len(index) for name, index in rt.index._indexes.items()} == {"phash": 3, "phash_centre": 3}


def test_auto_runs_the_million_work_index_once_the_library_is_large(make_runtime, monkeypatch):
    from review.pipeline.runtime import Runtime
    from review.similarity import search

    rt = make_runtime(EDITGUARD_SEED_REFERENCES="0")  # EDITGUARD_SIMILARITY_INDEX is `auto` unless set
    assert rt.settings.similarity_index == "auto" and rt.index.index_kind == "numpy"
    assert rt.status()["similarity"].startswith("PDQ + pHash, exact Hamming search (auto)")
    ids = {n: register(rt, photo(n), n) for n in ("astronaut", "coffee")}
    monkeypatch.setattr(search, "AUTO_MIH_WORKS", 2)  # as if these two were a hundred thousand
    again = Runtime.start(rt.settings, load_models=False)
    assert again.index.index_kind == "mih" and "multi-index hashing" in again.status()["similarity"]
    [m] = again.index.search(photo("astronaut").rotate(8, expand=True, fillcolor=(255, 255, 255)))
    assert m.reference_id == ids["astronaut"] and m.evidence["basis"] == "verified"
    set_active(rt.session_factory, ids["coffee"], False, actor="t")  # one active work: below the mark again
    assert Runtime.start(rt.settings, load_models=False).index.index_kind == "numpy"


def test_the_app_loads_the_index_beside_serving(make_runtime):
    from review.pipeline.runtime import Runtime

    rt = make_runtime(EDITGUARD_SEED_REFERENCES="0")
    ref_id = register(rt, photo("astronaut"), "astronaut")
    again = Runtime.start(rt.settings, load_models=False)
    assert len(again.index) == 0  # nothing loaded at start: Runtime.start serves the CLI too
    again.warm_index().join(60)
    assert len(again.index) == 1
    statements = []
    listen = lambda *a: statements.append(a[2])  # noqa: E731 (the statement text)
    event.listen(again.engine, "before_cursor_execute", listen)
    try:
        [m] = again.index.search(photo("astronaut"))
    finally:
        event.remove(again.engine, "before_cursor_execute", listen)
    assert m.reference_id == ref_id
    assert not any("reference_hashes" in q for q in statements)  # the search found it loaded
