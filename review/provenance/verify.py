"""Read everything back from a file: XMP facts, the C2PA manifest and its validation, the invisible watermark."""
from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

from review.provenance import metadata, signing, watermark

SIGNATURES = {b"\x89PNG": "PNG", b"\xff\xd8\xff": "JPEG"}


class NotAnImage(ValueError):
    pass


def verify(data: bytes, trust_anchor_pem: bytes | None) -> dict:
    fmt = next((f for magic, f in SIGNATURES.items() if data.startswith(magic)), None)
    if fmt is None:
        raise NotAnImage("The file is not a PNG or JPEG image.")
    picture = None
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            picture = im.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        pass  # damaged pixels: the manifest check below says so; metadata may still be readable
    try:
        facts = metadata.read(data)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        facts = None
    manifest = signing.read_manifest(data, signing.MIME[fmt], trust_anchor_pem)
    if picture is None:
        mark = {"present": None, "payload": None, "note": "the pixels cannot be decoded (the file is damaged)"}
    else:
        try:
            payload = watermark.extract(picture)
            mark = {"present": payload is not None, "payload": payload.hex() if payload else None}
        except watermark.WatermarkUnavailable as exc:
            mark = {"present": None, "payload": None, "note": str(exc)}
    record_id = (facts or {}).get("record_id") or (manifest or {}).get("record", {}).get("record_id")
    if mark["payload"] and record_id:
        mark["matches_record"] = mark["payload"] == watermark.payload_for(record_id).hex()
    source = (facts or {}).get("source_type") or (manifest or {}).get("source_type")
    return {
        "format": fmt,
        "ai_generated": bool(source and ("trainedAlgorithmicMedia" in source or "TrainedAlgorithmicMedia" in source)),
        "source_type": source,
        "record_id": record_id,
        "model": (facts or {}).get("model_id") or (manifest or {}).get("record", {}).get("model_id"),
        "model_license": (facts or {}).get("model_license"),
        "metadata": facts,
        "c2pa": manifest,
        "watermark": mark,
    }
