"""Perceptual-hash matching against the reference library."""
import pytest
from PIL import Image, ImageOps

from db.engine import run_write
from review.similarity import (PHASH_REVIEW_DISTANCE, PHASH_WARN_DISTANCE, DuplicateReference, ReferenceIndex,
                               add_reference, dihedral_hashes, level_for, phash)
from tests.conftest import photo


def register(rt, image, title="Work"):
    return run_write(rt.session_factory, lambda s: add_reference(
        s, rt.store, image, title=title, owner="Owner", license="All rights reserved").id)


@pytest.fixture
def lib(make_runtime):
    rt = make_runtime(EDITGUARD_SEED_REFERENCES="0")
    ids = {name: register(rt, photo(name), name) for name in ("astronaut", "coffee", "rocket")}
    return rt, ids


def test_thresholds_are_ordered():
    assert 0 < PHASH_REVIEW_DISTANCE < PHASH_WARN_DISTANCE < 20
    assert level_for(0) == "review" and level_for(PHASH_WARN_DISTANCE) == "warn" and level_for(PHASH_WARN_DISTANCE + 1) is None


@pytest.mark.parametrize("change", [
    lambda im: im,
    lambda im: im.resize((im.width // 3, im.height // 3)),
    lambda im: ImageOps.grayscale(im).convert("RGB"),
    lambda im: ImageOps.mirror(im),
    lambda im: im.rotate(90, expand=True),
    lambda im: im.rotate(180),
    lambda im: Image.eval(im, lambda v: min(255, int(v * 1.2))),
])
def test_altered_copies_are_found(lib, change):
    rt, ids = lib
    matches = rt.index.search(change(photo("astronaut")))
    assert [m.reference_id for m in matches] == [ids["astronaut"]]
    assert matches[0].level == "review" and matches[0].title == "astronaut"


def test_unrelated_photos_do_not_match(lib):
    rt, _ = lib
    for name in ("chelsea", "camera", "hubble_deep_field", "coins", "horse"):
        assert rt.index.search(photo(name)) == [], name


def test_duplicate_registration_is_refused(lib):
    rt, ids = lib
    with pytest.raises(DuplicateReference) as err:
        register(rt, photo("coffee"), "again")
    assert err.value.existing_id == ids["coffee"]


def test_index_sees_additions_from_another_process(lib):
    rt, _ = lib
    other = ReferenceIndex(rt.session_factory)  # as if in another process: its own in-memory copy
    assert other.search(photo("chelsea")) == []
    new_id = register(rt, photo("chelsea"), "cat")
    assert [m.reference_id for m in other.search(photo("chelsea"))] == [new_id]


def test_dihedral_codes_cover_all_eight_views():
    im = photo("astronaut")
    codes = dihedral_hashes(im)
    assert len(set(codes)) == 8 and codes[0] == phash(im)
    mirrored = phash(ImageOps.mirror(im))
    assert min(bin(mirrored ^ c).count("1") for c in codes) <= 2


def test_flat_image_does_not_match_photos(lib):
    rt, _ = lib
    assert rt.index.search(Image.new("RGB", (64, 64), (128, 128, 128))) == []
