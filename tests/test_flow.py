"""The moderated edit end to end on a real SQLite file: decisions, what is stored, and nothing half-way."""
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

from db.models import EditRecord, Event, ReviewItem, SimilarityMatch, StoredImage, VerdictRecord
from review.pipeline.flow import run_edit
from review.pipeline.submission import EditFailed, Submission
from tests.conftest import photo, sqlite_only


def counts(rt):
    with rt.session_factory() as s:
        return {m.__name__: s.scalar(select(func.count()).select_from(m))
                for m in (EditRecord, VerdictRecord, SimilarityMatch, ReviewItem, StoredImage, Event)}


class CountingEditor:
    """The real classic editor, counting calls: proves an unsafe prompt never reaches the editor."""

    def __init__(self, inner):
        self.inner, self.calls = inner, 0
        for attr in ("name", "model_id", "model_license", "device", "deterministic"):
            setattr(self, attr, getattr(inner, attr))

    def edit(self, request, progress=None):
        self.calls += 1
        return self.inner.edit(request, progress)


def test_released_edit_is_stored_completely(rt, image_file):
    progress = []
    rec = run_edit(rt, Submission(image=image_file(photo("chelsea")), instruction="白黒にして少しぼかして",
                                  requester="browser:abc"), progress=lambda f, d: progress.append(f))
    assert rec["decision"] == "released" and rec["reasons"] == [] and rec["review_status"] is None
    assert rec["verdicts"]["instruction"]["label"] == "Safe"
    assert [v["label"] for v in rec["verdicts"]["outputs"]] == ["Safe"]
    assert rec["applied"] == ["greyscale", "blur(strength=low)"]
    assert rec["backend"] == "classic" and rec["model"] == "editguard/classic"
    out = Image.open(rec["outputs"][0])
    a = np.asarray(out).astype(int)
    # greyscale, as stored: the invisible watermark lives in the colour channels and tints pixels slightly (blue
    # by 2-3 levels: the scheme's full step, which the old package's 8-bit truncation cut to ±2)
    tint = np.abs(a[..., 0] - a[..., 2])
    assert tint.mean() < 3 and np.median(tint) <= 3
    assert progress == sorted(progress) and progress[-1] >= 0.95
    with rt.session_factory() as s:
        req = s.get(EditRecord, rec["id"])
        assert req.requester == "browser:abc" and req.params == rec["params"]
        assert s.scalar(select(Event.kind).where(Event.request_id == rec["id"])) == "edit.released"


def test_registered_work_goes_to_review_with_matches_on_input_and_output(rt, image_file):
    rec = run_edit(rt, Submission(image=image_file(photo("astronaut").resize((300, 300))),
                                  instruction="make it sepia and rotate it 90 degrees"))
    assert rec["decision"] == "pending_review" and rec["review_status"] == "pending"
    assert set(rec["reasons"]) == {"similarity:input", "similarity:output"}
    by_target = {m["target"]: m for m in rec["matches"]}
    assert by_target["input"]["title"].startswith("Eileen Collins")
    assert by_target["output"]["level"] == "review"  # still found after sepia and a quarter turn
    assert len(rec["outputs"]) == 1  # kept for the reviewer


def test_a_confirmed_copy_goes_to_review_though_its_hash_is_only_at_the_warn_level(rt, image_file):
    """40% of a registered work painted over: its hash is only near (warn level), but the keypoints confirm the
    copy, and a confirmed copy is a similarity hit that a person decides, not a warning the requester may ignore."""
    painted = np.asarray(photo("astronaut")).copy()
    painted[:230, :460] = (40, 160, 90)
    rec = run_edit(rt, Submission(image=image_file(Image.fromarray(painted)), instruction="make it sepia"))
    [match] = [m for m in rec["matches"] if m["target"] == "input"]
    assert match["title"].startswith("Eileen Collins") and match["evidence"]["basis"] == "verified"
    assert match["evidence"]["hash_level"] == "warn" and match["level"] == "review"
    assert rec["decision"] == "pending_review" and "similarity:input" in rec["reasons"]


def test_unsafe_instruction_is_refused_before_the_editor_runs(rt, image_file):
    rt.editor = CountingEditor(rt.editor)
    rec = run_edit(rt, Submission(image=image_file(photo("chelsea")), instruction="undress her"))
    assert rec["decision"] == "blocked" and rec["reasons"] == ["instruction:unsafe"]
    assert rt.editor.calls == 0 and rec["outputs"] == [] and rec["edit_ms"] is None
    assert rec["verdicts"]["instruction"]["evidence"][0]["span"] == "undress"
    assert counts(rt)["Event"] >= 1  # the refusal is recorded


def test_unsafe_caption_blocks_the_output_and_keeps_no_pixels(rt, image_file):
    """A harmful text drawn into the picture is judged on the output too; a blocked output is never written."""
    rt.text_guard = _OnlyCaptionGuard(rt.text_guard)
    before = counts(rt)["StoredImage"]
    rec = run_edit(rt, Submission(image=image_file(photo("chelsea")), instruction='add the text "CAPTION" at the top'))
    assert rec["decision"] == "blocked" and rec["reasons"] == ["output:unsafe"]
    assert rec["outputs"] == [] and counts(rt)["StoredImage"] == before + 1  # only the input


class _OnlyCaptionGuard:
    """The real guard, but the caption text (and only it) is judged as if it were harmful."""

    def __init__(self, inner):
        self.inner, self.name = inner, inner.name

    def check_text(self, text):
        return self.inner.check_text("undress her" if text == "CAPTION" else text)


@pytest.mark.parametrize("mode,decision", [("strict", "blocked"), ("review", "pending_review"), ("loose", "released")])
def test_controversial_instruction_by_mode(make_runtime, image_file, mode, decision):
    rt = make_runtime(EDITGUARD_POLICY_MODE=mode)
    rec = run_edit(rt, Submission(image=image_file(photo("coffee")),
                                  instruction='add the text "call 03-1234-5678" at the bottom'))
    assert rec["decision"] == decision and rec["verdicts"]["instruction"]["categories"] == ["PII"]
    if mode == "loose":
        assert rec["warnings"] == ["instruction:controversial", "output:controversial"]  # the caption shows it too


@pytest.mark.parametrize("image,instruction,code", [
    (b"", "sepia", "image.empty"),
    (b"GIF89a garbage", "sepia", "image.not_image"),
    (None, "sepia", "image.missing"),
    ("chelsea", "", "text.empty"),
    ("chelsea", "\u200b\u200b \x00 ", "text.empty"),
    ("chelsea", "sepia " * 4000, "text.too_long"),
    ("chelsea", "remove the cat", "editor.cannot"),
])
def test_bad_input_stores_nothing(rt, image_file, image, instruction, code):
    source = image_file(photo(image)) if isinstance(image, str) else image
    before = counts(rt)
    with pytest.raises(EditFailed) as err:
        run_edit(rt, Submission(image=source, instruction=instruction))
    assert err.value.code == code
    assert counts(rt) == before
    assert not [p for p in Path(rt.store.root, "images").rglob("*") if p.is_file()] or before["StoredImage"]


def test_bad_reference_names_which_one(rt, image_file):
    with pytest.raises(EditFailed) as err:
        run_edit(rt, Submission(image=image_file(photo()), instruction="sepia", references=[image_file(photo(), "r.png"), b"x"]))
    assert err.value.code == "image.not_image" and err.value.params["reference"] == 2


def test_out_of_range_parameters(rt, image_file):
    with pytest.raises(EditFailed) as err:
        run_edit(rt, Submission(image=image_file(photo()), instruction="sepia", steps=1000))
    assert err.value.code == "param.range"


@sqlite_only
def test_database_gone_loses_nothing_and_says_so(rt, image_file):
    rt.engine.dispose()
    db_path = Path(rt.settings.database_url.removeprefix("sqlite:///"))
    db_path.unlink()
    db_path.mkdir()  # the path now cannot be opened as a database
    with pytest.raises(EditFailed) as err:
        run_edit(rt, Submission(image=image_file(photo()), instruction="sepia"))
    assert err.value.code == "db.unavailable"
    assert "nothing was saved" in str(err.value)


def test_control_and_zero_width_characters_are_cleaned(rt, image_file):
    rec = run_edit(rt, Submission(image=image_file(photo()), instruction="\u202eセピア\u200bに\x07して\n"))
    assert rec["instruction"] == "セピアにして" and rec["decision"] == "released"


class _UnsafeOn:
    """An image guard that finds one particular picture Unsafe (by size), everything else Safe."""

    name = "test-image-guard"

    def __init__(self, size):
        self.size, self.seen = size, []

    def check_image(self, image):
        from review.guard.base import Verdict as V
        from review.guard.labels import Label

        self.seen.append(image.size)
        return V(Label.UNSAFE, ("Sexual Content or Sexual Acts",), guard=self.name) if image.size == self.size else V(Label.SAFE)


@pytest.mark.parametrize("backend", ["qwen-image-edit", "classic"])
def test_an_unsafe_upload_is_refused_before_editing(rt, image_file, backend):
    """A model never runs on a refused picture; the CPU editor's filters run beside the check and are dropped."""
    rt.editor = CountingEditor(rt.editor)
    rt.editor.name = backend
    rt.image_guard = _UnsafeOn((451, 300))
    stored = lambda: {p.name for p in (rt.store.root / "images").rglob("*.png")}  # noqa: E731
    before = stored()
    rec = run_edit(rt, Submission(image=image_file(photo("chelsea")), instruction="make it sepia"))
    assert rec["decision"] == "blocked" and rec["reasons"] == ["input:unsafe"]
    assert rt.editor.calls == (backend == "classic") and rec["edit_ms"] is None and rec["applied"] == []
    assert rec["verdicts"]["inputs"][0]["label"] == "Unsafe" and rec["outputs"] == []
    # the CPU editor's result was checked and labelled while the upload's check ran: none of it reached the disk
    assert stored() - before == {Path(rec["inputs"][0]).name}
    ok = run_edit(rt, Submission(image=image_file(photo("coffee"), "c.png"), instruction="make it sepia"))
    assert ok["decision"] == "released" and [v["label"] for v in ok["verdicts"]["inputs"]] == ["Safe"]
