"""The README's numbers and promises, read from the README and checked against the code's constants and behaviour:
documentation that drifts from the code fails here."""
import re
from pathlib import Path

import pytest

from tests.conftest import REPO

README = (Path(REPO) / "README.md").read_text(encoding="utf-8")


def pins(name: str) -> dict[str, str]:
    lines = (Path(REPO) / name).read_text().splitlines()
    return dict(m.groups() for line in lines if (m := re.match(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==(\S+)", line)))


def config_table() -> dict[str, str]:
    """README configuration table: variable -> default as written (backticks removed)."""
    rows = {}
    for m in re.finditer(r"^\| (`[A-Z_0-9]+`(?:, `[A-Z_0-9]+`)*) \| ([^|]+) \|", README, re.M):
        names = re.findall(r"`([A-Z_0-9]+)`", m.group(1))
        defaults = [d.strip() for d in m.group(2).split(",")] if len(names) > 1 else [m.group(2).strip()]
        rows.update({n: d.strip("`") for n, d in zip(names, defaults)})
    return rows


def test_torch_and_model_package_versions_are_the_pinned_ones():
    """"`pip install torch==X` resolves to a CPU wheel" and the rehearsal's version list name what is pinned."""
    req = pins("requirements.txt")
    said = re.search(r"`pip install torch==([\d.]+)`", README)
    assert said and said.group(1) == req["torch"]
    assert "--index-url" not in (Path(REPO) / "requirements-dev.txt").read_text()  # a plain PyPI pin, as it says
    listed = re.search(r"\(torch ([\d.]+)\+cpu here, diffusers ([\d.]+), transformers ([\d.]+), spaces ([\d.]+), "
                       r"gradio ([\d.]+)\)", README)
    assert listed, "the Space rehearsal row lists the installed versions"
    assert listed.groups() == tuple(req[p] for p in ("torch", "diffusers", "transformers", "spaces", "gradio"))
    import torch

    assert torch.__version__.split("+")[0] == req["torch"]  # the tests run on what the README names


def test_faiss_thresholds():
    from review.similarity.index import FAISS_IVF_MIN_CODES, FAISS_IVF_NPROBE

    exact = re.search(r"`faiss`: faiss-cpu, exact below ([\d.]+)([kM]) codes \(about (\d+)k works\)", README)
    assert exact, "the EDITGUARD_SIMILARITY_INDEX row states where FAISS stops being exact"
    assert float(exact.group(1)) * {"k": 1e3, "M": 1e6}[exact.group(2)] == FAISS_IVF_MIN_CODES
    per_work = re.search(r"codes per work as registered here \((\d+) PDQ \+ (\d+) pHash\s+for\s+every view", README)
    assert per_work and round(FAISS_IVF_MIN_CODES / sum(map(int, per_work.groups())) / 1000) == int(exact.group(3))
    probed = re.findall(r"(\d+) cells probed", README)
    assert probed and {int(n) for n in probed} == {FAISS_IVF_NPROBE}


def test_secret_signs_cookies_and_links_and_keys_pseudonyms():
    """"EDITGUARD_SECRET ... signs the requester cookie and picture links, keys pseudonyms and address hashes"."""
    assert re.search(r"`EDITGUARD_SECRET` \| generated \| stays on the server: signs the requester cookie and "
                     r"picture links, keys pseudonyms and address hashes", README)
    from itsdangerous import BadSignature

    from review.queue.accounts import Authenticator
    from review.privacy.requester import _lookup, cookie_id, new_requester_cookie
    from ui.pictures import _serializer

    cookie = new_requester_cookie("secret-a")
    assert cookie_id("secret-a", cookie) and cookie_id("secret-b", cookie) is None  # signed: another key rejects it
    link = _serializer("secret-a").dumps({"p": "images/x.png"})
    assert _serializer("secret-a").loads(link)["p"] == "images/x.png"
    with pytest.raises(BadSignature):
        _serializer("secret-b").loads(link)
    assert _lookup("secret-a", "cookie:1") != _lookup("secret-b", "cookie:1")  # keyed pseudonyms
    a, b = (Authenticator(None, secret=s) for s in ("secret-a", "secret-b"))
    assert a._source("203.0.113.7") != b._source("203.0.113.7")  # keyed address hashes


def test_configuration_defaults_are_the_codes():
    from editor import qwen_image_edit as q
    from editor.qwen_image_21 import QwenImage21Editor
    from review.guard import qwen3guard
    from review.pipeline.settings import Settings

    table = config_table()
    s = Settings.from_env({})
    q_settings = q.QwenEditSettings.from_env(None, env={})
    flag = {"0": False, "1": True}
    checks = {
        "EDITGUARD_POLICY_MODE": s.policy_mode.value, "EDITOR_BACKEND": s.editor_backend,
        "GUARD_BACKEND": s.guard_backend, "IMAGE_GUARD": s.image_guard, "EDITGUARD_MAX_PIXELS": s.max_pixels,
        "EDITGUARD_MAX_UPLOAD_MB": s.max_upload_mb, "EDITGUARD_SEED_REFERENCES": s.seed_references,
        "EDITGUARD_PNG_COMPRESSION": s.png_compression, "EDITGUARD_SIMILARITY_INDEX": s.similarity_index,
        "EDITGUARD_C2PA": s.provenance.c2pa, "EDITGUARD_WATERMARK": s.provenance.watermark,
        "EDITGUARD_VISIBLE_MARK": s.provenance.visible_mark, "EDITGUARD_RETENTION_DAYS": s.retention_days,
        "EDITGUARD_KEEP_DECIDED": s.keep_decided, "EDITGUARD_BLOCKED_PICTURE_DAYS": s.blocked_picture_days,
        "EDITOR_DTYPE": q_settings.dtype, "EDITOR_CPU_OFFLOAD": q_settings.cpu_offload,
        "EDITOR_LIGHTNING_STEPS": q_settings.lightning_steps, "EDITOR_PREVIEW_EVERY": q_settings.preview_every,
        "GUARD_MODEL": qwen3guard.DEFAULT_MODEL,
    }
    for var, actual in checks.items():
        written = table[var]
        expected = flag[written] if isinstance(actual, bool) else type(actual)(written)
        assert expected == actual, f"README says {var} defaults to {written!r}; the code uses {actual!r}"
    assert table["EDITOR_MODEL"].startswith(q_settings.model) and QwenImage21Editor.default_model in table["EDITOR_MODEL"]
    assert table["EDITOR_REVISION"] == "main" and q_settings.revision is None  # None: diffusers loads main


def test_model_limits():
    from editor.qwen_image_21 import QwenImage21Editor

    row = re.search(r"`qwen-image-2.1` \(`QwenImage21Pipeline`, up to (\d+) images in all\)", README)
    assert row and int(row.group(1)) == QwenImage21Editor.max_images


def test_revision_recorded_is_the_one_loaded(tmp_path):
    """"EDITOR_REVISION ... records store the revision that loaded": a folder is `local`, an uncached hub id keeps
    the revision asked for (there is no commit to name)."""
    from editor.hub import resolved_revision

    assert "`local` for a folder" in README
    assert resolved_revision(str(tmp_path), None) == "local"
    assert resolved_revision("editguard-test/not-cached", "v1") == "v1"


def test_labels_are_described_as_the_readme_says():
    from review.provenance import metadata

    assert "Auto-edited" in README and metadata.visible_text(metadata.ALGORITHMIC_EDIT) == "Auto-edited"
    assert metadata.visible_text(metadata.COMPOSITE_TRAINED) == "AI generated"
    assert "`checked_stage`" in README
