"""Records tell the truth: the parameters an edit stores are the ones that ran, read back from the pipeline while it
ran (a spy on the tiny checkpoint's transformer), never copied from the request; what cannot be honoured is refused
before anything runs; the CPU editor's outputs are labelled automatic edits, never AI-generated."""
import io

import pytest
from PIL import Image

pytest.importorskip("diffusers", reason="the model backends need requirements.txt (the full set)")

import editor.qwen_image_edit as q  # noqa: E402
import editor.zerogpu as z  # noqa: E402
from editor.base import EditRequest  # noqa: E402
from errors import UserError  # noqa: E402
from review.pipeline.flow import run_edit
from review.pipeline.submission import EditFailed, Submission  # noqa: E402
from review.provenance import metadata  # noqa: E402
from tests.conftest import photo  # noqa: E402
from tests.test_flow import counts  # noqa: E402
from tests.test_models import editor, picture, tiny_edit  # noqa: E402,F401


class Spy:
    """Watches the shared transformer during each forward pass: which scheduler each pipeline holds, how many
    timesteps that scheduler was set to, and whether a LoRA adapter is active."""

    def __init__(self, ed):
        self.ed, self.calls = ed, []
        self.hook = ed.pipe.transformer.register_forward_pre_hook(self._seen)

    def _seen(self, module, *_):
        from peft.tuners.tuners_utils import BaseTunerLayer

        layers = [m for m in module.modules() if isinstance(m, BaseTunerLayer)]
        self.calls.append({"pipe": self.ed.pipe.scheduler, "inpaint": self.ed.inpaint.scheduler,
                           "lora": [a for m in layers[:1] if not m.disable_adapters for a in m.active_adapters]})

    def close(self):
        self.hook.remove()


@pytest.fixture
def spy(editor):  # noqa: F811
    s = Spy(editor)
    yield s
    s.close()


def mask64():
    m = Image.new("L", (64, 64), 0)
    m.paste(255, (16, 16, 48, 48))
    return m


CASES = {  # name: (request arguments beyond the defaults, fast?, true CFG?)
    "plain": ({}, False, False),
    "references": ({"references": [picture(shift=90), picture(shift=30)]}, False, False),
    "cfg": ({"guidance": 4.0, "negative_prompt": "blurry"}, False, True),
    "mask": ({"mask": mask64()}, False, False),
    "fast": ({"fast": True, "guidance": 4.0}, True, False),  # Lightning: true CFG off whatever was asked
    "fast+mask": ({"fast": True, "mask": mask64()}, True, False),
}


@pytest.mark.parametrize("case", list(CASES))
def test_recorded_parameters_are_the_executed_ones(editor, spy, case):  # noqa: F811
    extra, fast, cfg = CASES[case]
    loaded = z.PIPELINES[editor.key]
    out = editor.edit(EditRequest(**{"image": picture(), "instruction": "make the sky purple", "steps": 3, "seed": 7,
                                     "guidance": 1.0, **extra}))
    masked = "mask" in extra
    running = "inpaint" if masked else "pipe"
    schedulers = {c[running] for c in spy.calls}
    assert len(schedulers) == 1  # one scheduler for the whole run
    ran_with = schedulers.pop()
    steps = editor.settings.lightning_steps if fast else 3
    # the pipeline's own state while it ran
    assert (ran_with is loaded.fast_scheduler) == fast and (ran_with is loaded.default_scheduler) == (not fast)
    assert len(ran_with.timesteps) == steps and len(spy.calls) == steps * (2 if cfg else 1)
    assert all(c["lora"] == (["lightning"] if fast else []) for c in spy.calls)
    # ... is what the record says
    p = out.params
    assert p["steps"] == steps and p["seed"] == 7 and p["true_cfg"] is cfg
    assert p["guidance"] == (4.0 if cfg else 1.0)
    assert p["scheduler"] == type(ran_with).__name__ == "FlowMatchEulerDiscreteScheduler"
    assert p["scheduler_config"] == ("lightning" if fast else "default")
    assert p["lora"] == ("lightning" if fast else None) and p["fast"] is fast
    assert p["pipeline"] == ("QwenImageEditInpaintPipeline" if masked else "QwenImageEditPlusPipeline")
    assert p["mask"] is masked and p["references"] == len(extra.get("references", [])) == p["images"] - 1
    assert p["dtype"] == "float32" and p["device"] == "cpu" and p["model_revision"] == "local"
    assert out.applied == [f"qwen-image-edit: {steps} steps" + (" (Lightning)" if fast else "")
                           + (", masked region" if masked else "")]
    # and both pipelines are back on the default scheduler, LoRA off, for the next request
    assert editor.pipe.scheduler is editor.inpaint.scheduler is loaded.default_scheduler


def test_fast_with_a_mask_really_applies_the_lora(editor):  # noqa: F811
    masked = editor.edit(EditRequest(image=picture(), instruction="x", steps=2, seed=0, guidance=1.0, mask=mask64()))
    fast = editor.edit(EditRequest(image=picture(), instruction="x", steps=2, seed=0, guidance=1.0, mask=mask64(),
                                   fast=True))
    assert masked.params["steps"] == fast.params["steps"] == 2  # same steps: only the LoRA and scheduler differ
    assert masked.images[0].tobytes() != fast.images[0].tobytes()


@pytest.mark.parametrize("extra,code", [
    ({"mask": "mask", "references": [picture(shift=90)]}, "editor.mask_refs"),  # inpaint takes one picture
    ({"references": [picture(shift=i) for i in range(3)]}, "refs.too_many"),  # never cut short silently
])
def test_combinations_it_cannot_honour_are_refused_before_anything_runs(editor, spy, extra, code):  # noqa: F811
    extra = {**extra, **({"mask": mask64()} if extra.get("mask") else {})}
    with pytest.raises(UserError) as err:
        editor.edit(EditRequest(image=picture(), instruction="x", steps=2, seed=0, **extra))
    assert err.value.code == code and spy.calls == []  # not one step ran


def test_fast_without_a_lightning_lora_is_refused(tiny_edit):  # noqa: F811
    plain = q.QwenImageEditor(q.QwenEditSettings(model=str(tiny_edit[0])))
    assert not plain.fast_available and plain.model_card()["fast"] is False
    s = Spy(plain)
    with pytest.raises(UserError) as err:
        plain.edit(EditRequest(image=picture(), instruction="x", steps=2, seed=0, fast=True))
    s.close()
    assert err.value.code == "editor.no_fast" and s.calls == []


def test_flow_stores_what_ran_and_labels_it(tiny_edit, make_runtime, image_file):  # noqa: F811
    model, lora = tiny_edit
    rt = make_runtime(EDITOR_BACKEND="qwen-image-edit", EDITOR_MODEL=str(model), EDITOR_LIGHTNING_LORA=str(lora),
                      EDITOR_LIGHTNING_WEIGHT_NAME="tiny-lightning.safetensors", EDITOR_LIGHTNING_STEPS="2",
                      IMAGE_GUARD="none")
    rec = run_edit(rt, Submission(image=image_file(picture(64)), instruction="make the sky purple", steps=30,
                                  guidance=4.0, seed=3, fast=True))
    p = rec["params"]
    assert p["steps"] == 2 and p["guidance"] == 1.0 and p["lora"] == "lightning" and p["seed"] == 3
    data = open(rec["outputs"][0], "rb").read()
    facts = metadata.read(data)
    # 64x64 is too small for the watermark and no visible mark is on: the guard saw exactly the stored pixels
    assert facts["watermark"].startswith("none") and p["checked_stage"] == "stored" and "requested" not in p
    stored = Image.open(io.BytesIO(data)).convert("RGB")
    assert stored.size == (64, 64)
    assert facts["model_revision"] == p["model_revision"] == "local"
    assert "AI-edited image" in Image.open(io.BytesIO(data)).info["XML:com.adobe.xmp"]
    before = counts(rt)
    with pytest.raises(EditFailed) as err:  # refused in words before the guard or the model spent any time
        run_edit(rt, Submission(image=image_file(picture(64)), instruction="x", references=[image_file(picture(64))],
                                mask=Image.new("L", (64, 64), 255)))
    assert err.value.code == "editor.mask_refs" and counts(rt) == before


# ---- the CPU editor --------------------------------------------------------------------------------------------
def test_cpu_editor_records_only_what_its_filters_used_and_says_no_ai(rt, image_file):
    from review.provenance.verify import verify

    rec = run_edit(rt, Submission(image=image_file(photo("chelsea", (256, 256))), instruction="make it sepia",
                                  seed=5, steps=40, guidance=7.0))
    assert rec["params"] == {"filters": ["sepia"], "mask": False, "checked_stage": "before_marks"}
    data = open(rec["outputs"][0], "rb").read()
    xmp = Image.open(io.BytesIO(data)).info["XML:com.adobe.xmp"]
    assert "Automatically edited image (filters, no generative AI)" in xmp and "AI-edited" not in xmp
    assert metadata.read(data)["source_type"] == metadata.ALGORITHMIC_EDIT
    labels = verify(data, rt.labeller.trust_anchor_pem)
    c2pa = labels["c2pa"]
    assert c2pa["source_type"] == metadata.ALGORITHMIC_EDIT
    assert c2pa["record"]["description"].startswith("Automatically edited image")


@pytest.mark.parametrize("extra,code", [("references", "editor.no_refs"), ("fast", "editor.no_fast")])
def test_cpu_editor_refuses_what_it_would_ignore(rt, image_file, extra, code):
    before = counts(rt)
    sub = Submission(image=image_file(photo()), instruction="make it sepia")
    if extra == "references":
        sub.references = [image_file(photo(), "ref.png")]
    else:
        sub.fast = True
    with pytest.raises(EditFailed) as err:
        run_edit(rt, sub)
    assert err.value.code == code and counts(rt) == before
    from ui.strings import STRINGS

    assert all(f"err_{code}" in STRINGS[lang] for lang in ("en", "ja"))


def test_visible_mark_words_follow_the_source_type(tmp_path):
    from review.provenance.labeller import Labeller, visible_mark
    from review.provenance.metadata import Facts
    from review.pipeline.settings import ProvenanceSettings

    lab = Labeller(ProvenanceSettings(c2pa=False, watermark=False, visible_mark=True), tmp_path)
    im = photo("chelsea", (256, 256))
    for source, words in ((metadata.ALGORITHMIC_EDIT, "Auto-edited"), (metadata.COMPOSITE_TRAINED, "AI generated")):
        stored = Image.open(io.BytesIO(lab.encode(im, Facts(source_type=source, record_id="r", model_id="m")).data))
        assert stored.convert("RGB").tobytes() == visible_mark(im, words).tobytes()
