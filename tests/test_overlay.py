"""A flat block painted over a copy is filled in before hashing, so what is left of the picture is still found."""
import numpy as np
import pytest
from PIL import Image, ImageOps

from review.similarity import hashes, mih_views, overlay
from review.similarity.hashes import OVERLAY_VIEW, PREPARED_SIDE, grey
from tests.conftest import painted, photo
from tests.test_verify import phantom, register


def test_a_painted_block_is_set_to_the_mean_grey_of_the_rest():
    copy = grey(painted(photo("camera"), 0.4), PREPARED_SIDE)
    out = overlay.filled(copy)
    h, w = copy.shape
    inside = out[5: int(h * 0.4) - 5, 5: int(w * 0.9) - 5]
    rest = copy[int(h * 0.4) + 5:]
    assert inside.std() == 0 and abs(int(inside[0, 0]) - rest.mean()) < 0.2 * rest.std()
    assert np.array_equal(out[int(h * 0.4) + 5:], rest)  # the picture around it is left as it was


@pytest.mark.parametrize("picture", [
    lambda: photo("camera"), lambda: photo("astronaut"), lambda: photo("coins"),
    lambda: ImageOps.expand(photo("coffee"), border=80, fill="white"),  # a white frame is a border, not a block
    lambda: Image.new("RGB", (300, 200), "grey"),  # a flat picture is the picture, not an overlay
    phantom,  # soft ellipses on black ground: the ground is no rectangle
])
def test_pictures_without_a_painted_block_have_no_filled_view(picture):
    assert overlay.filled(grey(picture(), PREPARED_SIDE)) is None


@pytest.mark.parametrize("index_kind,name", [("numpy", "page"), ("mih", "page"), ("mih", "phantom")])
def test_a_copy_with_a_third_painted_over_is_found_and_verified(make_runtime, monkeypatch, index_kind, name):
    """A scanned page and the phantom with 36% painted one colour: 90-92 PDQ bits from their works, 22-26 pHash bits,
    so no hash view met them; filled in, 78-82 (within PDQ's warn distance of 84), and the keypoints confirm them
    (the match may then report a closer view of the work, as its centre window, by which it is ranked).
    (The `numpy` index meets the painted phantom anyway, through its work turned upside down: it is near symmetric.)"""
    rt = make_runtime(EDITGUARD_SEED_REFERENCES="0", EDITGUARD_SIMILARITY_INDEX=index_kind)
    works = {"page": photo("page"), "phantom": phantom(), "coffee": photo("coffee"), "rocket": photo("rocket")}
    ids = {n: register(rt, im, n) for n, im in works.items()}
    ask = mih_views.query_views if index_kind == "mih" else (lambda im: hashes.query_codes(im)[0])
    copy = painted(works[name], 0.4)
    [m] = rt.index.search(copy)
    assert m.reference_id == ids[name] and m.evidence["basis"] == "verified"
    assert {c.view for c in ask(copy)} >= {OVERLAY_VIEW}
    with monkeypatch.context() as unfilled:
        unfilled.setattr(overlay, "filled", lambda pixels: None)
        assert ids[name] not in [c.reference_id for c in rt.index.search_codes(ask(copy))]
    assert rt.index.search(painted(photo("chelsea"), 0.4)) == []
