"""Apply all provenance to an output: visible mark (optional), invisible watermark, XMP metadata, C2PA signature."""
from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

from PIL import Image, ImageDraw

from db.image_store import EncodedImage
from review.provenance import metadata, signing, watermark
from review.provenance.metadata import Facts
from review.pipeline.settings import ProvenanceSettings


def source_type_for(editor_name: str, input_images: int) -> str:
    """IPTC digital source type: a generative model editing a photo makes a composite; from nothing, trained media.
    The classic CPU editor applies plain filters and captions: algorithmically enhanced, not generated."""
    if editor_name == "classic":
        return metadata.ALGORITHMIC_EDIT
    return metadata.COMPOSITE_TRAINED if input_images else metadata.TRAINED


def visible_mark(image: Image.Image, text: str = "AI generated") -> Image.Image:
    """A small label in the lower right corner, on a dark band so it reads on any picture."""
    image = image.convert("RGB").copy()
    d = ImageDraw.Draw(image)
    size = max(10, image.width // 40)
    try:
        from PIL import ImageFont

        font = ImageFont.load_default(size=size)
    except (OSError, TypeError):
        font = None
    box = d.textbbox((0, 0), text, font=font)
    w, h = box[2] - box[0] + size, box[3] - box[1] + size // 2
    x, y = image.width - w - size // 2, image.height - h - size // 2
    d.rectangle((x, y, x + w, y + h), fill=(20, 20, 20))
    d.text((x + size // 2, y + size // 4 - box[1]), text, fill=(255, 255, 255), font=font)
    return image


class Labeller:
    def __init__(self, settings: ProvenanceSettings, data_dir: Path, png_compression: int = 1):
        self.settings = settings
        self.png_compression = png_compression
        self.signer: signing.Signer | None = None
        self.watermark_on = settings.watermark
        if settings.c2pa:
            creds = signing.load_credentials(Path(data_dir) / "provenance", settings.cert_path, settings.key_path)
            self.signer = signing.Signer(creds)

    @property
    def trust_anchor_pem(self) -> bytes | None:
        return self.signer.credentials.trust_anchor_pem if self.signer else None

    def status(self) -> str:
        parts = ["XMP (IPTC source type)"]
        if self.signer:
            parts.append(f"C2PA ({self.signer.credentials.origin})")
        if self.watermark_on:
            parts.append("invisible watermark")
        if self.settings.visible_mark:
            parts.append("visible mark")
        return " + ".join(parts)

    def encode(self, image: Image.Image, facts: Facts, fmt: str = "PNG") -> EncodedImage:
        """The labelled file's bytes. Each layer is independent: one that cannot apply is noted, the rest still are."""
        if self.settings.visible_mark:
            image = visible_mark(image, metadata.visible_text(facts.source_type))
        mark = "off"
        if self.watermark_on:
            try:
                payload = watermark.payload_for(facts.record_id)
                image = watermark.embed(image, payload)
                mark = payload.hex()
            except watermark.WatermarkUnavailable as exc:
                mark = f"none: {exc}"
        facts = replace(facts, watermark=mark)
        save = {"compress_level": self.png_compression} if fmt == "PNG" else {"quality": 92}
        data = metadata.encode(image, facts, fmt, **save)
        if self.signer:
            data = self.signer.sign(data, fmt, facts)
        return EncodedImage(data, hashlib.sha256(data).hexdigest(), image.width, image.height)
