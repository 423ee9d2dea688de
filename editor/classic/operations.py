"""The classic editor's image operations: plain Pillow/numpy, deterministic, whole-image only."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

# How strong "a bit" / plain / "much" is, for the operations that take a strength.
STRENGTH = {"low": 0.5, "normal": 1.0, "high": 1.8}
MAX_OUTPUT_PIXELS = 40_000_000

# Fonts that carry Japanese as well as Latin glyphs (Debian/Ubuntu fonts-noto-cjk, macOS, Windows).
CJK_FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/System/Library/Fonts/ヒラギノ角ゴシック W6.ttc",
    "C:/Windows/Fonts/meiryo.ttc",
)


@dataclass(frozen=True)
class Operation:
    name: str
    params: dict = field(default_factory=dict)

    def describe(self) -> str:
        extra = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.name}({extra})" if extra else self.name


class MissingFont(RuntimeError):
    pass


def apply(image: Image.Image, op: Operation) -> Image.Image:
    return OPERATIONS[op.name](image, **op.params)


def greyscale(im):
    return ImageOps.grayscale(im).convert("RGB")


def sepia(im):
    grey = np.asarray(ImageOps.grayscale(im), dtype=np.float32) / 255.0
    tone = np.array([1.07, 0.74, 0.43], dtype=np.float32)  # classic sepia tint, applied to luminance
    return Image.fromarray((np.clip(grey[..., None] * tone, 0, 1) * 255).astype(np.uint8), "RGB")


def invert(im):
    return ImageOps.invert(im)


def _enhance(enhancer, direction: int, strength: str, step: float):
    def run(im):
        factor = 1.0 + direction * step * STRENGTH[strength]
        return enhancer(im).enhance(max(factor, 0.05))
    return run


def brightness(im, direction: int = 1, strength: str = "normal"):
    return _enhance(ImageEnhance.Brightness, direction, strength, 0.3)(im)


def contrast(im, direction: int = 1, strength: str = "normal"):
    return _enhance(ImageEnhance.Contrast, direction, strength, 0.4)(im)


def saturation(im, direction: int = 1, strength: str = "normal"):
    return _enhance(ImageEnhance.Color, direction, strength, 0.5)(im)


def warmth(im, direction: int = 1, strength: str = "normal"):
    arr = np.asarray(im, dtype=np.float32)
    shift = 18.0 * STRENGTH[strength] * direction  # push red up and blue down (warmer), or the reverse
    arr = arr + np.array([shift, shift * 0.25, -shift], dtype=np.float32)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def blur(im, strength: str = "normal"):
    radius = max(1.0, min(im.size) / 250.0) * 2.0 * STRENGTH[strength]
    return im.filter(ImageFilter.GaussianBlur(radius))


def sharpen(im, strength: str = "normal"):
    return im.filter(ImageFilter.UnsharpMask(radius=2, percent=int(120 * STRENGTH[strength]), threshold=2))


def rotate(im, degrees: float = 90.0):
    """Positive degrees turn clockwise, as people say it; the canvas grows to keep the whole picture."""
    if degrees % 90 == 0:
        return im.rotate(-degrees, expand=True)
    return im.rotate(-degrees, expand=True, resample=Image.Resampling.BICUBIC, fillcolor=(255, 255, 255))


def flip(im, axis: str = "horizontal"):
    return ImageOps.mirror(im) if axis == "horizontal" else ImageOps.flip(im)


def crop_center(im, keep: float = 0.75):
    w, h = im.size
    cw, ch = max(8, round(w * keep)), max(8, round(h * keep))
    left, top = (w - cw) // 2, (h - ch) // 2
    return im.crop((left, top, left + cw, top + ch))


def resize(im, scale: float | None = None, width: int | None = None, height: int | None = None):
    w, h = im.size
    if scale is not None:
        width, height = round(w * scale), round(h * scale)
    width, height = max(8, int(width)), max(8, int(height))
    if width * height > MAX_OUTPUT_PIXELS:
        raise ValueError(f"The result would be {width}×{height}, larger than this app allows.")
    return im.resize((width, height), Image.Resampling.LANCZOS)


def posterize(im, bits: int = 3):
    return ImageOps.posterize(im, bits)


def cartoon(im):
    """Flat colours plus dark outlines: a smoothed, posterized copy with edges drawn on top."""
    smooth = im.filter(ImageFilter.MedianFilter(5))
    flat = ImageOps.posterize(smooth, 3)
    edges = ImageOps.grayscale(smooth).filter(ImageFilter.FIND_EDGES)
    mask = edges.point(lambda v: 255 if v > 40 else 0)
    return Image.composite(Image.new("RGB", im.size, (20, 20, 20)), flat, mask)


def vintage(im):
    faded = ImageEnhance.Color(im).enhance(0.55)
    warm = warmth(faded, 1, "normal")
    arr = np.asarray(ImageEnhance.Contrast(warm).enhance(0.85), dtype=np.float32)
    h, w = arr.shape[:2]
    yy, xx = np.ogrid[:h, :w]
    r = np.sqrt(((yy - h / 2) / (h / 2)) ** 2 + ((xx - w / 2) / (w / 2)) ** 2)
    vignette = np.clip(1.0 - 0.35 * (r - 0.6).clip(0), 0.5, 1.0)
    arr = arr * vignette[..., None] + 12.0  # lifted blacks, darker corners
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def caption(im, text: str, position: str = "bottom"):
    """Draw `text` on a dark band at the top or bottom, sized to the picture."""
    im = im.copy()
    w, h = im.size
    size = max(12, h // 12)
    font = _font_for(text, size)
    draw = ImageDraw.Draw(im, "RGBA")
    while size > 10 and draw.textlength(text, font=font) > w * 0.92:
        size = int(size * 0.85)
        font = _font_for(text, size)
    box = draw.textbbox((0, 0), text, font=font)
    tw, th = box[2] - box[0], box[3] - box[1]
    pad = max(4, size // 3)
    band_h = th + 2 * pad
    y0 = 0 if position == "top" else h - band_h
    draw.rectangle((0, y0, w, y0 + band_h), fill=(0, 0, 0, 150))
    draw.text(((w - tw) / 2 - box[0], y0 + pad - box[1]), text, font=font, fill=(255, 255, 255, 255))
    return im


def _needs_cjk(text: str) -> bool:
    return any(ord(c) > 0x2E7F for c in text)


def _font_for(text: str, size: int):
    path = _cjk_font_path()
    if path:
        return ImageFont.truetype(path, size)
    if _needs_cjk(text):
        raise MissingFont(
            "Captions in Japanese, Chinese or Korean need a CJK font: install fonts-noto-cjk or set EDITGUARD_FONT."
        )
    return ImageFont.load_default(size)


@lru_cache(maxsize=1)
def _cjk_font_path() -> str | None:
    configured = os.environ.get("EDITGUARD_FONT")
    for candidate in ([configured] if configured else []) + list(CJK_FONT_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


OPERATIONS = {
    "greyscale": greyscale, "sepia": sepia, "invert": invert, "brightness": brightness, "contrast": contrast,
    "saturation": saturation, "warmth": warmth, "blur": blur, "sharpen": sharpen, "rotate": rotate, "flip": flip,
    "crop_center": crop_center, "resize": resize, "caption": caption, "posterize": posterize, "cartoon": cartoon,
    "vintage": vintage,
}
