"""The real model backends on tiny random checkpoints built in code: the production loading and calling code,
offline, on the CPU (diffusers QwenImageEditPlusPipeline / QwenImageEditInpaintPipeline, transformers Qwen3)."""
import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("diffusers", reason="the model backends need requirements.txt (the full set)")

from editor.base import EditCancelled, EditRequest, UnsafePreview  # noqa: E402
from editor.qwen_image_edit import QwenEditSettings, QwenImageEditor  # noqa: E402
from review.guard.base import Verdict  # noqa: E402
from review.guard.qwen3guard import Qwen3Guard, parse_guard_output  # noqa: E402
from review.guard.labels import Label  # noqa: E402
from tests.conftest import REPO  # noqa: E402
from tests.tiny_models import save_tiny_edit_model, save_tiny_guard_model, save_tiny_lightning_lora  # noqa: E402


@pytest.fixture(scope="session")
def tiny_edit(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-qwen-edit")
    model = save_tiny_edit_model(root / "model")
    lora = save_tiny_lightning_lora(model, root / "lightning")
    return model, lora


@pytest.fixture(scope="session")
def editor(tiny_edit):
    model, lora = tiny_edit
    return QwenImageEditor(QwenEditSettings(model=str(model), lightning_lora=str(lora),
                                            lightning_weight_name="tiny-lightning.safetensors", lightning_steps=2))


def picture(size=64, shift=0):
    a = np.zeros((size, size, 3), dtype=np.uint8)
    a[..., 0] = (np.arange(size) * 4 + shift) % 256
    a[..., 2] = 180
    return Image.fromarray(a)


def run(editor, **kw):
    args = dict(image=picture(), instruction="make the sky purple", steps=2, seed=0, guidance=1.0)
    args.update(kw)
    return editor.edit(EditRequest(**args))


def test_edit_runs_the_real_pipeline_with_progress(editor):
    seen = []
    out = editor.edit(EditRequest(image=picture(), instruction="make it purple", steps=3, seed=1, guidance=1.0),
                      progress=lambda f, d: seen.append((round(f, 2), d)))
    assert [d for _, d in seen] == ["step 1/3", "step 2/3", "step 3/3"] and seen[-1][0] == 1.0
    assert out.images[0].size == (64, 64) and out.images[0].mode == "RGB"
    assert editor.model_card()["license"] == "Apache-2.0" and editor.device == "cpu"


def test_seed_references_cfg_and_variants_change_what_they_should(editor):
    base = np.asarray(run(editor, seed=3).images[0])
    assert np.array_equal(base, np.asarray(run(editor, seed=3).images[0]))  # same seed, same pixels
    assert not np.array_equal(base, np.asarray(run(editor, seed=4).images[0]))
    with_ref = np.asarray(run(editor, seed=3, references=[picture(shift=90), picture(shift=30)]).images[0])
    assert not np.array_equal(base, with_ref)  # the reference photos are really fed to the model
    cfg = np.asarray(run(editor, seed=3, guidance=4.0, negative_prompt="blurry").images[0])
    assert not np.array_equal(base, cfg)  # true CFG with a negative prompt runs a second branch
    assert len(run(editor, num_outputs=2).images) == 2


def test_lightning_lora_switches_steps_and_scheduler_and_back(editor):
    default_scheduler = editor.pipe.scheduler
    seen = []
    fast = editor.edit(EditRequest(image=picture(), instruction="x", steps=5, seed=0, fast=True),
                       progress=lambda f, d: seen.append(d))
    assert seen == ["step 1/2", "step 2/2"] and fast.applied == ["qwen-image-edit: 2 steps (Lightning)"]
    assert editor.pipe.scheduler is default_scheduler  # restored for the next plain request
    plain = run(editor, steps=2, guidance=1.0)
    plain_again = run(editor, steps=2, guidance=1.0)
    assert np.array_equal(np.asarray(plain.images[0]), np.asarray(plain_again.images[0]))
    assert not np.array_equal(np.asarray(plain.images[0]), np.asarray(fast.images[0]))


def test_cancel_stops_between_steps(editor):
    cancel = threading.Event()
    steps = []

    def progress(f, d):
        steps.append(d)
        cancel.set()  # the user presses Cancel during the first step

    with pytest.raises(EditCancelled) as err:
        editor.edit(EditRequest(image=picture(), instruction="x", steps=8, seed=0, guidance=1.0, cancel=cancel),
                    progress=progress)
    assert err.value.params["step"] == 1 and steps == ["step 1/8"]  # the other 7 steps never ran


def test_early_stop_when_the_image_guard_says_unsafe(editor):
    previews = []

    def guard(image):
        previews.append(image.size)
        return Verdict(Label.UNSAFE, ("Sexual Content or Sexual Acts",), guard="test-image-guard")

    with pytest.raises(UnsafePreview) as err:
        editor.edit(EditRequest(image=picture(), instruction="x", steps=6, seed=0, guidance=1.0,
                                preview_check=guard, preview_every=2))
    assert err.value.step == 2 and previews == [(64, 64)]  # one decoded preview, then the diffusion stopped
    calm = []
    out = editor.edit(EditRequest(image=picture(), instruction="x", steps=4, seed=0, guidance=1.0, preview_every=2,
                                  preview_check=lambda im: calm.append(im) or Verdict(Label.SAFE)))
    assert len(out.images) == 1 and len(calm) == 1  # previews at step 2 only (not after the last step)


def test_masked_region_edit_uses_the_inpaint_pipeline(editor):
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (16, 16, 48, 48))
    out = run(editor, mask=mask)
    assert out.images[0].size == (64, 64)
    assert not np.array_equal(np.asarray(out.images[0]), np.asarray(run(editor).images[0]))


def test_cli_edit_with_a_tiny_local_checkpoint(tiny_edit, env, tmp_path):
    model, _ = tiny_edit
    src = tmp_path / "in.png"
    picture(96).save(src)
    proc = subprocess.run(
        [sys.executable, "-m", "review", "edit", "--image", str(src), "--instruction", "make the sky purple",
         "--steps", "2", "--seed", "5", "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env={**os.environ, "EDITOR_BACKEND": "qwen-image-edit", "EDITOR_MODEL": str(model)})
    assert proc.returncode == 0, proc.stderr
    rec = json.loads(proc.stdout)
    assert rec["backend"] == "qwen-image-edit" and rec["model"] == str(model)
    assert rec["model_license"] == "Apache-2.0" and rec["params"]["steps"] == 2 and rec["params"]["seed"] == 5
    assert rec["decision"] in ("released", "pending_review") and Image.open(rec["outputs"][0]).size == (96, 96)


def test_a_named_backend_that_cannot_load_is_an_error_not_a_fallback(env, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "review", "status"], cwd=REPO, capture_output=True, text=True, timeout=120,
        env={**os.environ, "EDITOR_BACKEND": "qwen-image-edit", "EDITOR_MODEL": str(tmp_path / "no-such-model")})
    assert proc.returncode == 1 and "Could not load" in proc.stderr and "Traceback" not in proc.stderr


def test_auto_picks_the_cpu_editor_without_cuda(tiny_edit, monkeypatch):
    from editor.registry import load_editor

    monkeypatch.setenv("EDITOR_MODEL", str(tiny_edit[0]))  # weights are here, but no CUDA device
    assert load_editor("auto").name == "classic"


# ---- Qwen3Guard ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,label,cats,available", [
    ("Safety: Safe\nCategories: None", "Safe", (), True),
    ("Safety: Unsafe\nCategories: Violent", "Unsafe", ("Violent",), True),
    ("Safety: Controversial\nCategories: Politically Sensitive Topics", "Controversial",
     ("Politically Sensitive Topics",), True),
    ("Safety: Unsafe\nCategories: Violent, Non-violent Illegal Acts\nRefusal: No", "Unsafe",
     ("Violent", "Non-violent Illegal Acts"), True),
    ("Safety: Unsafe\nCategories: Sexual Content or Sexual Acts, Jailbreak", "Unsafe",
     ("Sexual Content or Sexual Acts", "Jailbreak"), True),
    ("I cannot help with that.", "Controversial", (), False),
    ("Safety: Unsafe", "Controversial", (), False),  # Unsafe without a category: malformed
    ("Safety: Unsafe\nCategories: Dragons", "Controversial", (), False),
    ("", "Controversial", (), False),
])
def test_parser(text, label, cats, available):
    v = parse_guard_output(text)
    assert (v.label.value, v.categories, v.available) == (label, cats, available)
    if not available:
        assert v.note.startswith("guard unavailable")


@pytest.fixture(scope="session")
def tiny_guard(tmp_path_factory):
    return save_tiny_guard_model(tmp_path_factory.mktemp("tiny-qwen3guard"), {
        "stab him": "Safety: Unsafe\nCategories: Violent",
        "make it sepia": "Safety: Safe\nCategories: None",
        "add her phone number": "Safety: Controversial\nCategories: PII",
    })


def test_qwen3guard_backend_on_a_tiny_model(tiny_guard):
    guard = Qwen3Guard(str(tiny_guard))
    assert guard.check_text("stab him").label == Label.UNSAFE
    assert guard.check_text("stab him").categories == ("Violent",)
    assert guard.check_text("make it sepia").label == Label.SAFE
    assert guard.check_text("add her phone number").categories == ("PII",)
    odd = guard.check_text("a prompt it never learned")  # the tiny model babbles: never taken as Safe
    assert odd.label != Label.SAFE or odd.available


def test_guard_backend_selected_by_environment(tiny_guard, make_runtime):
    rt = make_runtime(GUARD_BACKEND="qwen3guard", GUARD_MODEL=str(tiny_guard), IMAGE_GUARD="none")
    assert rt.text_guard.name == "qwen3guard" and rt.status()["text_guard"] == f"qwen3guard ({tiny_guard})"


class _AlwaysUnsafe:
    """An image guard that passes the upload (its first call) and finds every later picture Unsafe: drives the
    early stop through the whole flow."""

    name = "unsafe-after-upload"

    def __init__(self):
        self.calls = 0

    def check_image(self, image):
        self.calls += 1
        return Verdict(Label.SAFE) if self.calls == 1 else Verdict(Label.UNSAFE, ("Violent",), guard=self.name)


def test_flow_records_an_early_stopped_generation_as_blocked(tiny_edit, make_runtime, image_file):
    from review.pipeline.flow import run_edit
    from review.pipeline.submission import Submission

    rt = make_runtime(EDITOR_BACKEND="qwen-image-edit", EDITOR_MODEL=str(tiny_edit[0]), EDITOR_PREVIEW_EVERY="2",
                      IMAGE_GUARD="none")
    rt.image_guard = _AlwaysUnsafe()
    rec = run_edit(rt, Submission(image=image_file(picture(64)), instruction="make the sky purple", steps=6,
                                  guidance=1.0))
    assert rec["decision"] == "blocked" and rec["reasons"] == ["output:unsafe"]
    assert rec["params"]["stopped_at_step"] == 2 and rec["outputs"] == [] and rt.image_guard.calls == 2
    assert rec["model"] == str(tiny_edit[0]) and rec["backend"] == "qwen-image-edit"


# ---- Qwen-Image-2.1 ------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def tiny_21(tmp_path_factory):
    from tests.tiny_models import save_tiny_qwen_image21

    return save_tiny_qwen_image21(tmp_path_factory.mktemp("tiny-qwen-image-21") / "model")


def test_qwen_image_21_edits_with_many_references(tiny_21, make_runtime, image_file):
    from review.pipeline.flow import run_edit
    from review.pipeline.submission import EditFailed, Submission

    rt = make_runtime(EDITOR_BACKEND="qwen-image-2.1", EDITOR_MODEL=str(tiny_21), IMAGE_GUARD="none")
    assert rt.editor.name == "qwen-image-2.1" and rt.editor.max_images == 10
    refs = [image_file(picture(64, shift=20 * i), f"ref{i}.png") for i in range(6)]  # more than Qwen-Image-Edit takes
    rec = run_edit(rt, Submission(image=image_file(picture(64)), instruction="put them together", references=refs,
                                  steps=2, guidance=1.0, seed=1))
    assert rec["backend"] == "qwen-image-2.1" and len(rec["references"]) == 6
    assert rec["params"]["references"] == 6 and Image.open(rec["outputs"][0]).size == (64, 64)
    seen = []
    rt.editor.edit(EditRequest(image=picture(), instruction="x", steps=3, seed=0, guidance=1.0),
                   progress=lambda f, d: seen.append(d))
    assert seen == ["step 1/3", "step 2/3", "step 3/3"]
    with pytest.raises(EditFailed) as err:  # masked edits belong to the Qwen-Image-Edit inpaint pipeline
        run_edit(rt, Submission(image=image_file(picture(64)), instruction="x", steps=2, guidance=1.0,
                                mask=Image.new("L", (64, 64), 255)))
    assert err.value.code == "editor.no_mask"
    with pytest.raises(EditFailed) as err:
        run_edit(rt, Submission(image=image_file(picture(64)), instruction="x", references=refs * 2))
    assert err.value.code == "refs.too_many" and err.value.params["n"] == 9


def test_qwen_image_21_early_stop(tiny_21):
    from editor.registry import load_editor

    editor21 = load_editor("qwen-image-2.1", str(tiny_21))
    previews = []
    with pytest.raises(UnsafePreview) as err:
        editor21.edit(EditRequest(image=picture(), instruction="x", steps=4, seed=0, guidance=1.0, preview_every=1,
                                  preview_check=lambda im: previews.append(im.size) or Verdict(Label.UNSAFE, ("Violent",))))
    assert err.value.step == 1 and previews == [(64, 64)]


def test_auto_guard_uses_qwen3guard_when_its_weights_are_local(tiny_guard, tmp_path):
    from review.guard.registry import load_text_guard

    assert load_text_guard("auto", str(tiny_guard)).name == "qwen3guard"
    assert load_text_guard("auto", str(tmp_path / "absent")).name == "context-v1"
