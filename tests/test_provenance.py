"""Provenance as its users meet it: the labelled file of a real edit, read back by the CLI; each layer on its own."""
import io
import json
import zlib
from pathlib import Path

import pytest
from PIL import Image

from review.pipeline.flow import run_edit
from review.pipeline.submission import Submission
from review.provenance import metadata, signing, watermark
from review.provenance.labeller import Labeller, source_type_for
from review.provenance.metadata import Facts
from review.provenance.verify import verify
from review.pipeline.settings import ProvenanceSettings
from tests.conftest import photo

FACTS = Facts(source_type=metadata.COMPOSITE_TRAINED, record_id="0123abcd" * 4, model_id="Qwen/Qwen-Image-Edit-2511",
              model_revision="main", model_license="Apache-2.0", credit="Qwen team, Alibaba", watermark="x")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_metadata_round_trip(fmt):
    data = metadata.encode(photo("coffee"), FACTS, fmt)
    read = metadata.read(data)
    assert read == {"source_type": FACTS.source_type, "credit": FACTS.credit,
                    **{k: getattr(FACTS, k) for k in metadata.FIELDS}}
    with Image.open(io.BytesIO(data)) as im:
        assert not im.getexif()  # nothing else rides along


def test_metadata_reader_refuses_entities_and_ignores_foreign_files():
    evil = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x:xmpmeta xmlns:x="adobe:ns:meta/">&a;'
            '</x:xmpmeta>')
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_itxt("XML:com.adobe.xmp", evil)
    buf = io.BytesIO()
    photo("coffee", (64, 64)).save(buf, "PNG", pnginfo=info)
    assert metadata.read(buf.getvalue()) is None
    plain = io.BytesIO()
    photo("coffee", (64, 64)).save(plain, "PNG")
    assert metadata.read(plain.getvalue()) is None


@pytest.fixture(scope="module")
def authority(tmp_path_factory):
    return signing.make_local_authority(tmp_path_factory.mktemp("ca"))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_sign_then_verify_with_the_local_authority(authority, fmt):
    signed = signing.Signer(authority).sign(metadata.encode(photo("astronaut"), FACTS, fmt), fmt, FACTS)
    trusted = signing.read_manifest(signed, signing.MIME[fmt], authority.trust_anchor_pem)
    assert trusted["state"] == "Trusted" and trusted["errors"] == []
    assert trusted["source_type"] == FACTS.source_type and trusted["record"]["record_id"] == FACTS.record_id
    assert signing.read_manifest(signed, signing.MIME[fmt], None)["state"] == "Valid"  # signed, but by nobody we trust
    assert metadata.read(signed)["record_id"] == FACTS.record_id  # signing keeps the XMP


def test_a_tampered_file_fails_verification(authority):
    signed = bytearray(signing.Signer(authority).sign(metadata.encode(photo("astronaut"), FACTS, "PNG"), "PNG", FACTS))
    signed[signed.find(b"IDAT") + 200] ^= 0xFF  # one byte of the pixels
    result = signing.read_manifest(bytes(signed), "image/png", authority.trust_anchor_pem)
    assert result["state"] == "Invalid" and any("mismatch" in e or "hash" in e for e in result["errors"])


def test_another_authority_is_not_trusted(authority, tmp_path):
    other = signing.make_local_authority(tmp_path / "other")
    signed = signing.Signer(other).sign(metadata.encode(photo("coffee"), FACTS, "PNG"), "PNG", FACTS)
    assert signing.read_manifest(signed, "image/png", authority.trust_anchor_pem)["state"] != "Trusted"


def test_a_lone_self_signed_certificate_is_refused_in_plain_words(tmp_path):
    signing.make_local_authority(tmp_path)
    ca_pem, ca_key = (tmp_path / "ca.pem").read_bytes(), (tmp_path / "ca.key").read_bytes()
    lone = signing.Credentials(ca_pem, ca_key, ca_pem, "operator")  # the CA signing for itself: no chain
    with pytest.raises(signing.SigningUnavailable) as err:
        signing.Signer(lone).sign(metadata.encode(photo("coffee", (300, 300)), FACTS, "PNG"), "PNG", FACTS)
    assert "nothing was saved" in str(err.value) and "BEGIN" not in str(err.value)


def test_watermark_is_read_back_from_an_unmodified_output():
    payload = watermark.payload_for("some-record")
    marked = watermark.embed(photo("astronaut"), payload)
    buf = io.BytesIO()
    marked.save(buf, "PNG")
    assert watermark.extract(Image.open(buf)) == payload
    recompressed = io.BytesIO()
    marked.save(recompressed, "JPEG", quality=90)  # a shared copy, re-saved: the mark is still there
    assert watermark.extract(Image.open(recompressed)) == payload
    assert watermark.extract(photo("astronaut")) is None
    with pytest.raises(watermark.WatermarkUnavailable, match="256"):
        watermark.embed(photo("astronaut", (200, 200)), payload)


def test_source_types():
    assert source_type_for("classic", 1).endswith("/algorithmicallyEnhanced")
    assert source_type_for("qwen-image-edit", 1).endswith("/compositeWithTrainedAlgorithmicMedia")
    assert source_type_for("qwen-image-edit", 0).endswith("/trainedAlgorithmicMedia")


def test_visible_mark_and_small_outputs(tmp_path):
    labeller = Labeller(ProvenanceSettings(visible_mark=True), tmp_path)
    small = labeller.encode(photo("coffee", (200, 150)), FACTS)
    result = verify(small.data, labeller.trust_anchor_pem)
    assert result["c2pa"]["state"] == "Trusted" and result["watermark"]["present"] is False
    assert result["metadata"]["watermark"].startswith("none: the picture is smaller")
    with Image.open(io.BytesIO(small.data)) as im:
        corner = im.convert("L").crop((im.width - 60, im.height - 20, im.width - 5, im.height - 5))
        assert corner.getextrema()[0] < 40  # the dark label band is there


def test_a_real_edit_is_labelled_and_the_cli_reads_it_back(make_runtime, image_file, cli, tmp_path):
    rt = make_runtime()
    src = image_file(photo("coffee"), "in.jpg", quality=90)
    record = run_edit(rt, Submission(image=str(src), instruction="make it sepia", requester="browser:" + "a" * 32))
    assert record["decision"] == "released"
    out = Path(record["outputs"][0])
    result = json.loads(cli("provenance", "verify", "--json", str(out)).stdout)
    assert result["c2pa"]["state"] == "Trusted" and result["record_id"] == record["id"]
    assert result["source_type"] == metadata.ALGORITHMIC_EDIT and result["model"] == rt.editor.model_id
    assert result["model_license"] == rt.editor.model_license
    assert result["watermark"]["present"] and result["watermark"]["matches_record"]
    text = cli("provenance", "verify", str(out))
    assert text.returncode == 0 and "Trusted" in text.stdout and record["id"] in text.stdout
    tampered = tmp_path / "tampered.png"
    data = bytearray(out.read_bytes())
    data[data.find(b"IDAT") + 300] ^= 0x55
    tampered.write_bytes(bytes(data))
    bad = cli("provenance", "verify", "--json", str(tampered))
    assert bad.returncode == 1 and json.loads(bad.stdout)["c2pa"]["state"] == "Invalid"
    unlabelled = cli("provenance", "verify", str(src))
    assert unlabelled.returncode == 1 and "C2PA:          none" in unlabelled.stdout
    assert cli("provenance", "verify", str(tmp_path / "nope.png")).stderr.startswith("error: nope.png")


def test_exif_and_gps_never_reach_stored_files(make_runtime, tmp_path):
    rt = make_runtime()
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (35.0, 39.0, 29.0), 3: "E", 4: (139.0, 44.0, 28.0)}  # GPS: Tokyo
    src = tmp_path / "gps.jpg"
    photo("coffee").save(src, exif=exif, quality=90)
    with Image.open(src) as im:
        assert im.getexif().get_ifd(0x8825)  # the upload really has GPS
    record = run_edit(rt, Submission(image=str(src), instruction="make it sepia"))
    for path in record["inputs"] + record["outputs"]:
        raw = Path(path).read_bytes()
        with Image.open(path) as im:
            assert not im.getexif() and "exif" not in im.info, path
        assert b"PhoneMaker" not in raw and b"Exif\x00\x00" not in raw
        # Every chunk but the compressed pixels is read (those are random-looking bytes: "GPS" can occur there by
        # chance, about once in 40 outputs of this size, without any EXIF in the file).
        for kind, data in _png_chunks(raw):
            assert kind != b"eXIf", path
            if kind == b"zTXt":
                data = zlib.decompress(data[data.index(b"\x00") + 2:])
            if kind != b"IDAT":
                assert b"GPS" not in data and b"PhoneMaker" not in data, (path, kind)


def _png_chunks(raw: bytes):
    """(type, data) of each chunk of a PNG file, in order."""
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    pos = 8
    while pos < len(raw):
        length = int.from_bytes(raw[pos:pos + 4], "big")
        yield raw[pos + 4:pos + 8], raw[pos + 8:pos + 8 + length]
        pos += 12 + length


def test_operator_certificate_from_the_environment(make_runtime, tmp_path, image_file, cli):
    op = signing.make_local_authority(tmp_path / "operator")
    rt = make_runtime(EDITGUARD_C2PA_CERT=str(tmp_path / "operator" / "signer-chain.pem"),
                      EDITGUARD_C2PA_KEY=str(tmp_path / "operator" / "signer.key"))
    assert "C2PA (operator)" in rt.status()["provenance"]
    record = run_edit(rt, Submission(image=str(image_file(photo("astronaut"), "a.png")), instruction="blur it"))
    result = verify(Path(record["outputs"][0]).read_bytes(), op.trust_anchor_pem)
    assert result["c2pa"]["state"] == "Trusted"
    assert not (rt.settings.data_dir / "provenance").exists()  # no local authority was made
    key_text = (tmp_path / "operator" / "signer.key").read_text()
    assert key_text.strip().splitlines()[1] not in json.dumps(rt.status())


def test_provenance_can_be_switched_off(make_runtime, image_file):
    rt = make_runtime(EDITGUARD_C2PA="0", EDITGUARD_WATERMARK="0")
    record = run_edit(rt, Submission(image=str(image_file(photo("astronaut"), "a.png")), instruction="blur it"))
    result = verify(Path(record["outputs"][0]).read_bytes(), None)
    assert result["c2pa"] is None and result["watermark"]["present"] is False
    assert result["metadata"]["record_id"] == record["id"]  # the XMP label is always written
