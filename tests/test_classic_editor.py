"""The classic CPU editor: what the parser understands (Japanese and English) and what each operation does."""
import json

import numpy as np
import pytest

from editor.base import EditorCannotDo, EditRequest
from editor.classic.backend import ClassicEditor
from editor.classic.operations import Operation, apply
from editor.classic.parser import parse
from tests.conftest import SHARED_DATA, mean_rgb, photo


def ops(text):
    return [(o.name, o.params) for o in parse(text).operations]


@pytest.mark.parametrize("text,expected", [
    ("白黒にして少しぼかして", [("greyscale", {}), ("blur", {"strength": "low"})]),
    ("Make it black and white and slightly blurred", [("greyscale", {}), ("blur", {"strength": "low"})]),
    ("モノクロにして", [("greyscale", {})]),
    ("Convert to grayscale", [("greyscale", {})]),
    ("セピア調に", [("sepia", {})]),
    ("invert the colors", [("invert", {})]),
    ("色を反転して", [("invert", {})]),
    ("make it much brighter", [("brightness", {"direction": 1, "strength": "high"})]),
    ("少し暗くして", [("brightness", {"direction": -1, "strength": "low"})]),
    ("increase the contrast", [("contrast", {"direction": 1, "strength": "normal"})]),
    ("コントラストを上げて彩度を少し下げて",
     [("contrast", {"direction": 1, "strength": "normal"}), ("saturation", {"direction": -1, "strength": "low"})]),
    ("more vivid", [("saturation", {"direction": 1, "strength": "normal"})]),
    ("make it warmer", [("warmth", {"direction": 1, "strength": "normal"})]),
    ("寒色にして", [("warmth", {"direction": -1, "strength": "normal"})]),
    ("sharpen it", [("sharpen", {"strength": "normal"})]),
    ("rotate 90 degrees counterclockwise", [("rotate", {"degrees": 270.0})]),
    ("rotate it 45 degrees", [("rotate", {"degrees": 45.0})]),
    ("右に90度回転して", [("rotate", {"degrees": 90.0})]),
    ("turn it upside down", [("rotate", {"degrees": 180.0})]),
    ("左右反転して", [("flip", {"axis": "horizontal"})]),
    ("flip it vertically", [("flip", {"axis": "vertical"})]),
    ("上下反転して色を反転", [("flip", {"axis": "vertical"}), ("invert", {})]),
    ("crop to the center", [("crop_center", {})]),
    ("crop 60%", [("crop_center", {"keep": 0.6})]),
    ("中央をトリミングして", [("crop_center", {})]),
    ("resize to 50%", [("resize", {"scale": 0.5})]),
    ("512x512にリサイズ", [("resize", {"width": 512, "height": 512})]),
    ("半分のサイズに", [("resize", {"scale": 0.5})]),
    ('Add the text "Hello World" at the top', [("caption", {"text": "Hello World", "position": "top"})]),
    ("上に「こんにちは」と文字を入れて", [("caption", {"text": "こんにちは", "position": "top"})]),
    ("「Sale」と文字を入れて", [("caption", {"text": "Sale", "position": "bottom"})]),
    ("posterize", [("posterize", {})]),
    ("漫画風にして", [("cartoon", {})]),
    ("Transfer the image into a cartoon style", [("cartoon", {})]),
    ("ビンテージ風に", [("vintage", {})]),
    ("ＳＥＰＩＡ", [("sepia", {})]),  # full-width letters
    ("se\u200bpia", [("sepia", {})]),  # zero-width space inside a word
])
def test_parser_understands(text, expected):
    assert ops(text) == expected


@pytest.mark.parametrize("text,unknown", [
    ("Remove the cat", "remove cat"),
    ("背景を白黒にして", "背景"),  # a local edit: the classic editor only does whole-image operations
    ("Change the animal's fur color to a darker shade.", "animal fur shade"),
    ("make the sky black and white", "sky"),
    ("increase the dimension", "increase dimension"),  # "dim" inside a word is not "dim"
    ("", ""),
])
def test_parser_declines_what_it_cannot_do(text, unknown):
    with pytest.raises(EditorCannotDo) as err:
        parse(text)
    assert err.value.unknown == unknown
    assert "It can:" in str(err.value) and "sepia" in str(err.value)


def test_resize_without_a_size_asks_for_one():
    with pytest.raises(EditorCannotDo) as err:
        parse("resize it")
    assert err.value.code == "editor.resize_size"


@pytest.fixture(scope="module")
def cat():
    return photo("chelsea")


def run(image, name, **params):
    return apply(image, Operation(name, params))


def test_greyscale_has_equal_channels(cat):
    arr = np.asarray(run(cat, "greyscale"))
    assert arr.shape == np.asarray(cat).shape
    assert np.array_equal(arr[..., 0], arr[..., 1]) and np.array_equal(arr[..., 1], arr[..., 2])


def test_sepia_is_warm_monochrome(cat):
    r, g, b = mean_rgb(run(cat, "sepia"))
    assert r > g > b


def test_invert_is_exact(cat):
    assert np.array_equal(np.asarray(run(cat, "invert")), 255 - np.asarray(cat))


@pytest.mark.parametrize("name,measure", [
    ("brightness", lambda a: a.mean()),
    ("contrast", lambda a: a.std()),
    ("saturation", lambda a: (a.max(axis=2).astype(int) - a.min(axis=2)).mean()),
])
def test_up_and_down_move_the_right_way(cat, name, measure):
    base = measure(np.asarray(cat))
    up = measure(np.asarray(run(cat, name, direction=1, strength="normal")))
    down = measure(np.asarray(run(cat, name, direction=-1, strength="normal")))
    stronger = measure(np.asarray(run(cat, name, direction=1, strength="high")))
    assert down < base < up < stronger


def test_warmth(cat):
    base = mean_rgb(cat)
    warm, cool = mean_rgb(run(cat, "warmth", direction=1)), mean_rgb(run(cat, "warmth", direction=-1))
    assert warm[0] > base[0] and warm[2] < base[2]
    assert cool[0] < base[0] and cool[2] > base[2]


def _detail(image):
    a = np.asarray(image.convert("L"), dtype=np.float64)
    return np.abs(np.diff(a, axis=1)).mean()


def test_blur_and_sharpen_change_detail(cat):
    assert _detail(run(cat, "blur", strength="normal")) < 0.8 * _detail(cat)
    assert _detail(run(cat, "blur", strength="high")) < _detail(run(cat, "blur", strength="low"))
    assert _detail(run(cat, "sharpen", strength="normal")) > 1.1 * _detail(cat)


def test_rotate_and_flip_move_pixels_exactly(cat):
    a = np.asarray(cat)
    assert np.array_equal(np.asarray(run(cat, "rotate", degrees=90.0)), np.rot90(a, k=-1))  # clockwise
    assert np.array_equal(np.asarray(run(cat, "rotate", degrees=270.0)), np.rot90(a, k=1))
    assert np.array_equal(np.asarray(run(cat, "flip", axis="horizontal")), a[:, ::-1])
    assert np.array_equal(np.asarray(run(cat, "flip", axis="vertical")), a[::-1])
    tilted = run(cat, "rotate", degrees=45.0)
    assert tilted.width > cat.width and tilted.height > cat.height  # canvas grows, nothing is cut off


def test_crop_and_resize_sizes(cat):
    w, h = cat.size
    cropped = run(cat, "crop_center", keep=0.5)
    assert cropped.size == (round(w * 0.5), round(h * 0.5))
    left, top = (w - cropped.width) // 2, (h - cropped.height) // 2
    assert np.array_equal(np.asarray(cropped), np.asarray(cat)[top:top + cropped.height, left:left + cropped.width])
    assert run(cat, "resize", scale=0.5).size == (round(w / 2), round(h / 2))
    assert run(cat, "resize", width=64, height=32).size == (64, 32)
    with pytest.raises(ValueError):
        run(cat, "resize", width=40000, height=40000)


@pytest.mark.parametrize("position", ["top", "bottom"])
def test_caption_draws_a_band_where_asked(cat, position):
    out = np.asarray(run(cat, "caption", text="こんにちは Hello", position=position), dtype=np.int64)
    diff = np.abs(out - np.asarray(cat, dtype=np.int64)).sum(axis=2)
    rows = np.nonzero(diff.sum(axis=1))[0]
    h = cat.height
    assert rows.size and (rows.max() < h / 3 if position == "top" else rows.min() > 2 * h / 3)


def test_posterize_cartoon_vintage(cat):
    poster = np.asarray(run(cat, "posterize"))
    assert len(np.unique(poster[..., 0])) <= 8
    assert not np.array_equal(np.asarray(run(cat, "cartoon")), np.asarray(cat))
    vintage = np.asarray(run(cat, "vintage"), dtype=np.float64)
    corner, centre = vintage[:20, :20].mean(), vintage[140:160, 215:235].mean()
    assert corner < centre


def test_backend_applies_in_order_and_reports(cat):
    editor = ClassicEditor()
    seen = []
    out = editor.edit(EditRequest(image=cat, instruction='白黒にして、上に「テスト」と文字を入れて'),
                      progress=lambda f, d: seen.append((f, d)))
    assert out.applied == ["greyscale", "caption(text=テスト, position=top)"]
    assert out.captions == ["テスト"]
    assert seen[0] == (0.0, "greyscale") and seen[-1] == (1.0, "done")
    a = np.asarray(out.images[0])
    assert np.array_equal(a[-10:, :, 0], a[-10:, :, 2])  # the bottom stayed grey; the caption is at the top


def test_same_instruction_same_pixels(cat):
    editor = ClassicEditor()
    a = editor.edit(EditRequest(image=cat, instruction="vintage and sharpen", seed=1)).images[0]
    b = editor.edit(EditRequest(image=cat, instruction="vintage and sharpen", seed=2)).images[0]
    assert np.array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.skipif(not (SHARED_DATA / "imgedit").is_dir(), reason="../shared/data/imgedit not present")
def test_imgedit_instructions_are_declined_not_botched():
    """ImgEdit asks for object-level edits; the classic editor must decline them, not do something else."""
    done = []
    for name in ("basic_edit.json", "UGE_edit.json"):
        for item in json.loads((SHARED_DATA / "imgedit" / name).read_text()).values():
            try:
                done.append((item["prompt"], ops(item["prompt"])))
            except EditorCannotDo:
                pass
    # The few it carries out are whole-image tone/style edits it really does.
    assert all(set(n for n, _ in o) <= {"sepia", "vintage", "greyscale", "contrast", "cartoon"} for _, o in done), done
    assert len(done) <= 10
