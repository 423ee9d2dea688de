"""Look-alike search: hash kinds, both Hamming indexes, the DB-backed reference index and the library functions."""
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps

from db.engine import run_write
from review.similarity import derotate, hashes
from review.similarity.index import FaissHammingIndex, NumpyHammingIndex
from review.similarity.library import DuplicateReference, LibraryError, add_reference, remove_reference, set_active
from review.similarity.hashes import KINDS
from review.similarity.search import ReferenceIndex
from tests.conftest import photo


def register(rt, image, title="Work", **kw):
    return run_write(rt.session_factory, lambda s: add_reference(
        s, rt.store, image, title=title, owner="Owner", license="All rights reserved", **kw).id)


@pytest.fixture
def lib(make_runtime):
    rt = make_runtime(EDITGUARD_SEED_REFERENCES="0")
    ids = {name: register(rt, photo(name), name) for name in ("astronaut", "coffee", "rocket")}
    return rt, ids


def test_thresholds_and_scores_are_ordered():
    for t in KINDS.values():
        assert 0 < t.review < t.warn < t.bits // 2
        assert t.level(0) == "review" and t.level(t.warn) == "warn"
        assert t.level(t.warn + 1) is None
        scores = [t.score(d) for d in range(0, t.bits + 1)]
        assert scores == sorted(scores, reverse=True) and scores[0] == 1.0 and scores[-1] == 0.0


def _banner(im):
    im = im.copy()
    ImageDraw.Draw(im).rectangle((0, im.height * 0.85, im.width, im.height), fill=(0, 0, 0))
    return im


@pytest.mark.parametrize("change", [
    lambda im: im,
    lambda im: im.resize((im.width // 3, im.height // 3)),
    lambda im: ImageOps.grayscale(im).convert("RGB"),
    lambda im: ImageOps.mirror(im),
    lambda im: im.rotate(90, expand=True),
    lambda im: Image.eval(im, lambda v: min(255, int(v * 1.2))),
    lambda im: im.crop((40, 40, im.width - 40, im.height - 40)),  # 15% crop
    lambda im: im.crop((0, 0, int(im.width * 0.8), int(im.height * 0.8))),  # cropped from a corner
    lambda im: ImageOps.expand(im, border=100, fill=(255, 255, 255)),  # padded
    lambda im: im.rotate(8, expand=True, fillcolor=(255, 255, 255)),  # small rotation
    _banner,
], ids=["same", "resized", "grey", "mirror", "rot90", "brighter", "crop", "corner-crop", "pad", "rotate8", "banner"])
def test_altered_copies_are_found(lib, change):
    rt, ids = lib
    matches = rt.index.search(change(photo("astronaut")))
    assert [m.reference_id for m in matches] == [ids["astronaut"]]
    m = matches[0]
    assert m.title == "astronaut" and m.level in ("review", "warn") and 0.99 < m.score <= 1.0
    assert m.distance <= KINDS[m.hash_kind].warn


def test_unrelated_photos_do_not_match(lib):
    rt, _ = lib
    for name in ("chelsea", "camera", "hubble_deep_field", "coins", "horse", "immunohistochemistry", "moon"):
        assert rt.index.search(photo(name)) == [], name


def test_the_view_that_met_is_named(lib):
    rt, _ = lib
    assert rt.index.search(ImageOps.mirror(photo("coffee")))[0].transform == "mirror"
    padded = ImageOps.expand(photo("coffee"), border=120, fill=(0, 0, 0))
    assert rt.index.search(padded)[0].query_view == "trimmed"


def test_duplicate_registration_is_refused(lib):
    rt, ids = lib
    with pytest.raises(DuplicateReference) as err:
        register(rt, photo("coffee"), "again")
    assert err.value.existing_id == ids["coffee"]
    # the same picture re-encoded is a different file but the same work: refused when the index is consulted
    with pytest.raises(DuplicateReference) as err:
        register(rt, photo("coffee").resize((300, 200)), "smaller", index=rt.index)
    assert err.value.existing_id == ids["coffee"] and "looks the same" in str(err.value)


def test_flat_and_tiny_pictures(lib):
    rt, _ = lib
    flat = Image.new("RGB", (64, 64), (128, 128, 128))
    assert rt.index.search(flat) == [] and hashes.query_codes(flat) == ([], 0)
    with pytest.raises(LibraryError, match="single flat colour"):
        register(rt, flat)
    tiny = Image.fromarray(np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8))
    codes, quality = hashes.query_codes(tiny)
    assert [c.kind for c in codes] == ["phash"] or quality >= hashes.MIN_QUALITY
    assert rt.index.search(tiny) == []


def test_a_soft_picture_with_low_pdq_quality_is_still_registered_and_found(lib):
    rt, _ = lib
    logo = photo("clock")  # soft gradients: PDQ quality 35
    codes, quality = hashes.reference_codes(logo)
    assert quality < hashes.MIN_QUALITY and {c.kind for c in codes} == {"phash"}
    ref_id = register(rt, logo, "logo")
    assert [m.reference_id for m in rt.index.search(logo.resize((200, 200)))] == [ref_id]


def test_index_follows_additions_deactivations_and_removals_from_another_process(lib):
    rt, ids = lib
    other = ReferenceIndex(rt.session_factory)  # as if in another process: its own in-memory copy
    assert other.search(photo("chelsea")) == []
    new_id = register(rt, photo("chelsea"), "cat")
    assert [m.reference_id for m in other.search(photo("chelsea"))] == [new_id]
    set_active(rt.session_factory, new_id, False, actor="t")
    assert other.search(photo("chelsea")) == []
    set_active(rt.session_factory, new_id, True, actor="t")
    assert [m.reference_id for m in other.search(photo("chelsea"))] == [new_id]
    remove_reference(rt.session_factory, new_id, actor="t")
    assert other.search(photo("chelsea")) == [] and rt.index.search(photo("chelsea")) == []
    assert [m.reference_id for m in other.search(photo("rocket"))] == [ids["rocket"]]


def test_dihedral_views_are_the_turned_pictures():
    im = photo("astronaut").resize((256, 256))
    pdq = hashes.KINDS["pdq"]
    codes, quality = pdq.dihedral(im)
    assert quality == 100 and len(set(codes)) == 8
    for name, turned in zip(hashes.DIHEDRAL, hashes.dihedral_images(im)):
        assert hashes.distance(pdq.code(turned)[0], codes[hashes.DIHEDRAL.index(name)]) == 0


def test_phash_dihedral_views_are_the_turned_pictures():
    im = photo("coffee")
    phash = hashes.KINDS["phash"]
    codes, _ = phash.dihedral(im)
    assert len(set(codes)) == 8
    for name, turned in zip(hashes.DIHEDRAL, hashes.dihedral_images(im)):
        assert hashes.distance(phash.code(turned)[0], codes[hashes.DIHEDRAL.index(name)]) <= 2  # resampling order


def test_a_window_on_pdqs_grid_is_the_mean_of_each_cell():
    """`Windows`: each cell of the 64x64 grid is the plain mean of the grey levels it covers, for any window."""
    import cv2

    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (192, 256, 3), dtype=np.uint8)
    grey = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY).astype(np.float64)
    windows = hashes.Windows(pixels)
    expected = np.floor(grey[32:160, 64:192].reshape(64, 2, 64, 2).mean(axis=(1, 3)) + 0.5)
    assert np.array_equal(windows.grid((64, 32, 192, 160)), expected.astype(np.uint8))
    uneven = windows.grid((10, 5, 250, 190))  # cells of 3-4 pixels: each still a mean of its own pixels
    assert uneven.shape == (64, 64) and abs(float(uneven.mean()) - grey[5:190, 10:250].mean()) < 1.0
    assert windows.grid((0, 0, 40, 30)).shape == (64, 64)  # smaller than the grid: scaled up


def test_pdq_on_the_grid_stays_pdq():
    """Averaging to the grid first changes few bits against pdqhash on the full picture, and none of its quality."""
    import pdqhash

    for name in ("astronaut", "coffee", "rocket"):
        im = photo(name)
        bits, quality = pdqhash.compute(np.asarray(im.convert("RGB")))
        code, ours = hashes.KINDS["pdq"].code(im)
        assert hashes.distance(np.packbits(bits.astype(np.uint8)).tobytes(), code) <= 20
        assert ours == quality


def test_stacked_hashing_is_pdqhash_and_imagehash_bit_for_bit():
    """`PDQ.hash_grids` and `PHash.hash_grids` hash a stack at once; each code and quality is the library's own."""
    import imagehash
    import pdqhash

    rng = np.random.default_rng(4)
    pictures = [photo(n) for n in ("astronaut", "coffee", "clock", "text", "moon")]
    windows = [hashes.Windows(hashes.grey(im, 512)) for im in pictures]
    grids = np.stack([w.grid(box) for w in windows for box in (None, (10, 5, 170, 130))]
                     + [rng.integers(0, 256, (64, 64), dtype=np.uint8),
                        np.clip(rng.normal(128, 2, (64, 64)), 0, 255).astype(np.uint8)])  # noise; nearly flat
    codes, qualities = hashes.PDQ.hash_grids(grids)
    for grid, code, quality in zip(grids, codes, qualities):
        bits, expected = pdqhash.compute(np.repeat(grid[..., None], 3, axis=2))
        assert code == np.packbits(bits.astype(np.uint8)).tobytes() and quality == expected
    assert len(set(qualities)) > 3 and min(qualities) < hashes.MIN_QUALITY <= max(qualities)
    small = np.stack([hashes.PHash.grids(w, [None, (0, 0, 200, 150)]) for w in windows]).reshape(-1, 32, 32)
    for grid, code in zip(small, hashes.PHash.hash_grids(small)):
        assert code == bytes.fromhex(str(imagehash.phash(Image.fromarray(grid))))


def test_trim_borders():
    im = photo("coffee")
    padded = ImageOps.expand(im, border=(50, 30), fill=(255, 255, 255))
    assert hashes.trim_borders(padded).size == im.size
    assert hashes.trim_borders(im) is None  # nothing uniform around it


@pytest.mark.parametrize("make", [NumpyHammingIndex, lambda n: FaissHammingIndex(n, ivf_min_codes=1500)],
                         ids=["numpy", "faiss"])
def test_hamming_indexes_agree_with_brute_force(make):
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 256, (3000, 32), dtype=np.uint8)
    labels = np.arange(3000, dtype=np.int64) * 7
    index = make(32)
    index.add(labels[:1000], codes[:1000])
    index.add(labels[1000:], codes[1000:])  # the faiss one moves to an inverted file here
    queries = codes[[5, 1500, 2999]].copy()
    queries[:, :4] ^= 0xFF  # 32 bits away from their sources
    bits = np.unpackbits(codes, axis=1)
    for q, (found, dist) in zip(queries, index.range_search(queries, 40)):
        true = np.unpackbits(q) != bits
        expected = set(labels[true.sum(axis=1) <= 40].tolist())
        assert set(found.tolist()) == expected and len(expected) >= 1
        assert all(d <= 40 for d in dist)
    index.remove(labels[[5]])
    assert labels[5] not in set(index.range_search(queries[:1], 40)[0][0].tolist())
    assert len(index) == 2999


def test_a_turned_copy_is_turned_back_to_the_upright_picture():
    """The derotated views (OpenCV's warpAffine on Pillow's canvas and inverse map): a photo turned 10° with filled
    corners comes back, cut to the upright picture, within a few PDQ bits of the original, and in Pillow's shape."""
    from PIL import Image as PILImage

    original = photo("astronaut", (640, 480))
    turned = original.rotate(10, expand=True, fillcolor=(255, 255, 255), resample=PILImage.Resampling.BILINEAR)
    views = {name: PILImage.fromarray(pixels)
             for name, pixels in derotate.derotated(hashes.grey(turned, derotate.DEROTATE_SIDE))}
    pdq = hashes.KINDS["pdq"]
    back = pdq.distance(pdq.code(views["derotated+10"])[0], pdq.code(original)[0])
    wrong_way = pdq.distance(pdq.code(views["derotated-10"])[0], pdq.code(original)[0])
    assert back <= 20 < wrong_way
    small = turned.resize((derotate.DEROTATE_SIDE, round(derotate.DEROTATE_SIDE * turned.height / turned.width)))
    pillow = np.asarray(small.rotate(-6, expand=True, fillcolor=(1, 2, 3), resample=PILImage.Resampling.BILINEAR))
    ours = derotate.turned(np.asarray(small), -6, (1, 2, 3))
    assert ours.shape == pillow.shape and np.abs(ours.astype(int) - pillow).mean() < 1.5


@pytest.mark.parametrize("fill", [(255, 255, 255), (0, 0, 0), (128, 60, 200)])
def test_the_angle_a_picture_was_turned_by_is_measured_from_its_filled_corners(fill):
    """A picture turned with its corners filled shows the angle (to a fraction of a degree, as PNG or as JPEG), on a
    larger canvas or within its own, and the query is turned back by exactly that; upright, padded, round and
    cut-out pictures are not taken for turned."""
    import io

    # pictures whose own edges differ from all three fills (where they do not, the fixed angles stand in)
    for name, angle, expand in (("rocket", 4.3, True), ("camera", -11.4, True), ("immunohistochemistry", 27.0, True),
                                ("rocket", -2.6, True), ("camera", -7.5, False), ("immunohistochemistry", 13.0, False)):
        turned = photo(name).rotate(angle, expand=expand, fillcolor=fill)
        jpeg = io.BytesIO()
        turned.save(jpeg, "JPEG", quality=70)
        for copy in (turned, Image.open(jpeg).convert("RGB")):
            turn = derotate.measured_turn(hashes.grey(copy, derotate.DEROTATE_SIDE))
            assert turn is not None and abs(turn.angle - angle) <= 0.5, (name, angle, turn)
            assert turn.canvas_kept == (not expand)
        [view] = {c.view for c in hashes.query_codes(turned)[0] if c.view.startswith(derotate.UNTURNED)}
        assert abs(float(view.removeprefix(derotate.UNTURNED)) - angle) <= 0.5
    upright = photo("astronaut")
    padded = ImageOps.expand(upright, border=60, fill=fill)
    cut_out = Image.new("RGB", (400, 300), fill)
    ImageDraw.Draw(cut_out).polygon([(200, 20), (380, 280), (20, 260)], fill=(200, 40, 40))
    for picture in (upright, padded, cut_out, photo("retina"), photo("coffee").rotate(1.2, expand=True, fillcolor=fill)):
        assert derotate.measured_turn(hashes.grey(picture, derotate.DEROTATE_SIDE)) is None
        assert not any(c.view.startswith(derotate.UNTURNED) for c in hashes.query_codes(picture)[0])


def test_a_picture_turned_within_its_canvas_comes_back_upright():
    """Turned without expand (Pillow's default) the corners are cut off; turned back by the measured angle, the middle
    of the canvas is the upright picture with its four corners missing: well within PDQ's warn distance."""
    from PIL import Image as PILImage

    original = photo("rocket", (640, 480))
    turned = original.rotate(12, resample=PILImage.Resampling.BILINEAR)
    views = dict(derotate.derotated(hashes.grey(turned, derotate.DEROTATE_SIDE)))
    [name] = [n for n in views if n.startswith(derotate.UNTURNED)]
    assert views[name].shape == hashes.grey(turned, derotate.DEROTATE_SIDE).shape
    pdq = hashes.KINDS["pdq"]
    back = pdq.distance(pdq.code(PILImage.fromarray(views[name]))[0], pdq.code(original)[0])
    nearest_fixed = min(pdq.distance(pdq.code(PILImage.fromarray(views[f"derotated{a:+d}"]))[0], pdq.code(original)[0])
                        for a in derotate.DEROTATE_ANGLES)
    assert back <= 60 < pdq.warn and back + 20 < nearest_fixed  # the fixed angles, cut for a larger canvas: 114
