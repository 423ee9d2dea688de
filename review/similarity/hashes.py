"""Perceptual hash kinds and the views of a picture they are computed on.

A hash kind is a small class in the python-threatexchange manner: `code(image)` gives fixed-size bytes, `distance`
counts differing bits, `quality` says whether the code can be trusted. Two kinds:

- `PDQ` (Meta, 256 bits, via `pdqhash`): the main signal; it has a quality score (0-100) for flat pictures.
- `PHash` (imagehash, 64 bits): the baseline the first version of the app used; the benchmark compares against it.

Whole-picture hashes miss crops, padding and small rotations (bench.similarity measured 29%, 0% and 24% recall for
PDQ alone). What fixed it, measured on the same benchmark, is computing the hash on more *views*:

- a registered work is hashed under its 8 rotations/mirrors, with uniform borders trimmed, and on twenty-five
  sub-windows (94, 88, 82, 76 and 70% of each side, from the centre and from each corner), so a cropped copy meets a
  window of about its own size;
- a query is hashed as it is, with uniform borders trimmed (padding, letterboxing, the corners a rotation adds), and
  turned back by a few small angles and cut to the upright picture inside (a copy rotated by 3-15 degrees).

Every PDQ view is a window of one working copy, averaged straight to PDQ's 64x64 grid from one summed-area table
(`Windows`), and pHash's eight turns come from one 32x32 grid: a work's 41 codes cost ~10 ms, where resizing and
hashing each view on its own cost ~50 ms for 36 (HASH_VERSION 2).
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from bisect import bisect_right
from dataclasses import dataclass

import cv2
import imagehash
import numpy as np
import pdqhash
from PIL import Image, ImageChops, ImageOps

HASH_VERSION = 3  # bump when the codes change: references are re-hashed after start-up (bulk_import.rehash_references)
DIHEDRAL = ("identity", "rot90", "rot180", "rot270", "mirror", "mirror_rot90", "mirror_rot180", "mirror_rot270")
# Sub-windows of a registered work: (name, share of each side kept, anchor). PDQ tolerates a window that is off by
# a few percent of the side, not more (a copy keeping 80% matched a 75% window at 90 bits), so the scales are 6%
# apart (8% apart found 85% of corner crops at the warn distance in bench.similarity, 6% apart 95%), from the centre
# and from each corner.
REGIONS = tuple((f"{anchor_name}{round(scale * 100)}", scale, anchor)
                for scale in (0.94, 0.88, 0.82, 0.76, 0.70)
                for anchor_name, anchor in (("centre", "c"), ("top_left", "tl"), ("top_right", "tr"),
                                            ("bottom_left", "bl"), ("bottom_right", "br")))
# Angles a query is turned back by. Eight angles 4 degrees apart leave at most 2 degrees of error, which PDQ
# tolerates; fewer angles measured 59-87% recall on 3-15 degree rotations, these 92%.
DEROTATE_ANGLES = (-14, -10, -6, -2, 2, 6, 10, 14)
MIN_QUALITY = 50  # PDQ's own guidance: below this its code is not to be trusted (pHash still covers the picture)
FLAT_STD = 1.0  # grey-level spread below which a picture is one flat colour
BORDER_TOLERANCE = 12  # grey levels a border may vary by (JPEG noise) and still count as uniform
MIN_TRIMMED_AREA = 0.2  # trimming that leaves less than this is not a border but the picture itself
PREPARED_SIDE = 256  # every query view is whole: this is detail enough for PDQ's grid and for pHash's
PHASH_GRID = 32  # imagehash.phash's grid (hash size 8 x high-frequency factor 4)
PDQ_GRID = 64  # PDQ hashes a 64x64 grid of the picture (its DCT keeps the 16x16 lowest frequencies of it)
DEROTATE_SIDE = 192  # turning is the costliest step of a query; 3x PDQ's 64x64 grid is detail enough
WORKING_SIDE = 512  # every view is cut from a copy this size: enough detail for 64x64 hashes of a 70% window


@dataclass(frozen=True)
class View:
    name: str
    image: Image.Image


class SignalType(ABC):
    """What every hash kind owns (python-threatexchange's signal type): its code, its distance, and the distances
    at which a match warns (`warn`) or goes to a person outright (`review`), with the measured false-pair curve.

    Thresholds are measured by bench.similarity (35 registered pictures, 1,085 altered queries, 36,890 unrelated
    pairs): at `review` no unrelated pair was that close; `warn` is the joint threshold that keeps unrelated pairs at
    or below 0.1%. `false_pair_cdf`: the share of unrelated picture pairs at or below a distance (its
    `false_pair_cdf`), for the score.
    """

    name: str
    bits: int
    review: int
    warn: int
    false_pair_cdf: tuple[tuple[int, float], ...]

    @abstractmethod
    def code(self, image: Image.Image) -> tuple[bytes, int]:
        """The code of the picture as it is, and its quality (0-100)."""

    @abstractmethod
    def dihedral(self, image: Image.Image) -> tuple[list[bytes], int]:
        """Codes of the 8 rotations/mirrors in DIHEDRAL order, and the quality of the picture as it is."""

    @staticmethod
    def distance(a: bytes, b: bytes) -> int:
        return distance(a, b)

    def level(self, bits_apart: int) -> str | None:
        """"review", "warn" or None for a hash distance."""
        if bits_apart <= self.review:
            return "review"
        if bits_apart <= self.warn:
            return "warn"
        return None

    def score(self, bits_apart: int) -> float:
        """1 − the share of unrelated pairs this close or closer (linear between measured points): 1.0 = certain."""
        points = self.false_pair_cdf
        i = bisect_right([d for d, _ in points], bits_apart) - 1
        (d0, p0), (d1, p1) = points[i], points[min(i + 1, len(points) - 1)]
        p = p0 if d1 == d0 else p0 + (p1 - p0) * (bits_apart - d0) / (d1 - d0)
        return round(1.0 - p, 5)


class PDQ(SignalType):
    name = "pdq"
    bits = 256
    review, warn = 31, 84  # 31 is also Meta's own PDQ match threshold; 84 the joint threshold of HASH_VERSION 3
    false_pair_cdf = ((0, 0.0), (56, 0.0), (60, 0.00003), (64, 0.00006), (80, 0.00006), (84, 0.00049), (88, 0.00182),
                      (92, 0.00746), (96, 0.0338), (100, 0.139), (104, 0.454), (108, 0.879), (112, 0.996), (124, 1.0),
                      (256, 1.0))  # measured on the codes of HASH_VERSION 3

    @staticmethod
    def grid(image: Image.Image) -> np.ndarray:
        """The whole picture averaged straight to PDQ's 64x64 grid of grey levels (see `Windows`)."""
        return Windows(np.asarray(image.convert("RGB"))).grid()

    @staticmethod
    def hash_grid(grid: np.ndarray) -> tuple[bytes, int]:
        """The code and quality of a picture already on PDQ's grid of grey levels (`grid`, `Windows.grid`)."""
        bits, quality = pdqhash.compute(np.repeat(grid[..., None], 3, axis=2))  # grey as RGB: its luminance is itself
        return np.packbits(bits.astype(np.uint8)).tobytes(), int(quality)

    def code(self, image: Image.Image) -> tuple[bytes, int]:
        """The 32-byte code and its quality (0-100)."""
        return self.hash_grid(self.grid(image))

    def dihedral(self, image: Image.Image) -> tuple[list[bytes], int]:
        """Codes of the 8 rotations/mirrors in DIHEDRAL order, and the quality of the picture as it is.

        The grid of a turned or mirrored picture is the turned or mirrored grid, so one grid gives all eight (the
        codes of the turned pictures; pdqhash's own DCT-domain variants differ from those by 24-32 bits).
        """
        results = [self.hash_grid(g) for g in dihedral_arrays(self.grid(image))]
        return [c for c, _ in results], results[0][1]


class Windows:
    """Any window of one picture averaged to PDQ's 64x64 grid, from one summed-area table of its luminance.

    PDQ hashes luminance (0.299 R + 0.587 G + 0.114 B) and averaging is linear, so the luminance is taken once
    (OpenCV) and each grid cell is the plain mean of the pixels it covers (cell edges rounded to whole pixels):
    pdqhash's own filter then has nothing left to do. The table (OpenCV's integral) costs ~0.3 ms for a 512-pixel
    picture, each window ~50 µs after it, where a resize per window cost ~0.5 ms and a hash at 256² ~0.7 ms more.
    """

    def __init__(self, pixels: np.ndarray):
        self.grey = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY) if pixels.ndim == 3 else pixels
        exact_in_int32 = self.grey.size * 255 < 2**31
        self.sums = cv2.integral(self.grey, sdepth=cv2.CV_32S if exact_in_int32 else cv2.CV_64F)

    def grid(self, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
        """The window (left, top, right, bottom; the whole picture by default) on PDQ's grid, as grey levels
        (64 x 64, uint8)."""
        left, top, right, bottom = box or (0, 0, self.grey.shape[1], self.grey.shape[0])
        if right - left < PDQ_GRID or bottom - top < PDQ_GRID:  # smaller than the grid: nothing to average
            return cv2.resize(np.ascontiguousarray(self.grey[top:bottom, left:right]), (PDQ_GRID, PDQ_GRID),
                              interpolation=cv2.INTER_LINEAR)
        ys = np.linspace(top, bottom, PDQ_GRID + 1).round().astype(np.intp)
        xs = np.linspace(left, right, PDQ_GRID + 1).round().astype(np.intp)
        s = self.sums.take(ys, 0).take(xs, 1).astype(np.float32)
        cells = s[1:, 1:] - s[:-1, 1:] - s[1:, :-1] + s[:-1, :-1]
        cells *= 1.0 / np.outer(np.diff(ys), np.diff(xs)).astype(np.float32)
        cells += 0.5
        return cells.astype(np.uint8)


class PHash(SignalType):
    name = "phash"
    bits = 64
    review, warn = 8, 14
    false_pair_cdf = ((0, 0.0), (8, 0.0), (12, 0.000027), (16, 0.00277), (20, 0.0569), (24, 0.399), (28, 0.895),
                      (32, 0.9978), (64, 1.0))

    def code(self, image: Image.Image) -> tuple[bytes, int]:
        """imagehash pHash of a 128² grey copy (imagehash then looks at 32x32). It has no quality score of its own."""
        return self._hash(self._grid(image)), 100

    def dihedral(self, image: Image.Image) -> tuple[list[bytes], int]:
        """The 8 turns and mirrors of the one 32x32 grid imagehash would make (turning it is turning the picture)."""
        return [self._hash(g) for g in dihedral_arrays(np.asarray(self._grid(image)))], 100

    @staticmethod
    def _grid(image: Image.Image) -> Image.Image:
        small = image.convert("L").resize((128, 128), Image.Resampling.BILINEAR, reducing_gap=2.0)
        return small.resize((PHASH_GRID, PHASH_GRID), Image.Resampling.LANCZOS)  # imagehash.phash's own step

    @staticmethod
    def _hash(grid) -> bytes:
        grid = grid if isinstance(grid, Image.Image) else Image.fromarray(np.ascontiguousarray(grid))
        return bytes.fromhex(str(imagehash.phash(grid)))  # at 32x32 already: imagehash's resize keeps it as it is


KINDS: dict[str, SignalType] = {k.name: k for k in (PDQ(), PHash())}


def distance(a: bytes, b: bytes) -> int:
    return int(np.bitwise_count(np.frombuffer(a, np.uint8) ^ np.frombuffer(b, np.uint8)).sum())


def dihedral_images(image: Image.Image) -> list[Image.Image]:
    out = []
    for base in (image, ImageOps.mirror(image)):
        out += [base] + [base.rotate(90 * q, expand=True) for q in (1, 2, 3)]
    return out


def dihedral_arrays(pixels: np.ndarray) -> list[np.ndarray]:
    """`dihedral_images` for an array: as is, turned 90/180/270 degrees anticlockwise, then the same mirrored."""
    return [np.rot90(base, q) for base in (pixels, pixels[:, ::-1]) for q in range(4)]


def _shrunk(image: Image.Image, side: int) -> Image.Image:
    scale = side / max(image.size)
    if scale >= 1:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)


def trim_borders(image: Image.Image) -> Image.Image | None:
    """The picture without uniform borders of its corner colour, or None when there is nothing (sensible) to trim."""
    box = border_box(image)
    return None if box is None else image.convert("RGB").crop(box)


def border_box(image: Image.Image) -> tuple[int, int, int, int] | None:
    """The box inside uniform borders of the corner colour (see `trim_borders`), or None.

    Pillow's bounding box of the difference from the corner colour: about a millisecond at the working size.
    """
    image = image.convert("RGB")
    diff = ImageChops.difference(image, Image.new("RGB", image.size, image.getpixel((0, 0))))
    box = diff.convert("L").point(lambda v: 255 if v > BORDER_TOLERANCE else 0).getbbox()
    if box is None:
        return None
    area = (box[2] - box[0]) * (box[3] - box[1])
    if area == image.width * image.height or area < MIN_TRIMMED_AREA * image.width * image.height:
        return None
    return box


def region_boxes(width: int, height: int) -> list[tuple[str, tuple[int, int, int, int]]]:
    """The REGIONS of a width x height picture as (name, (left, top, right, bottom))."""
    out = []
    for name, scale, anchor in REGIONS:
        cw, ch = max(1, int(width * scale)), max(1, int(height * scale))
        x = {"c": (width - cw) // 2, "tl": 0, "bl": 0, "tr": width - cw, "br": width - cw}[anchor]
        y = {"c": (height - ch) // 2, "tl": 0, "tr": 0, "bl": height - ch, "br": height - ch}[anchor]
        out.append((name, (x, y, x + cw, y + ch)))
    return out


def derotated_views(image: Image.Image) -> list[View]:
    """The picture turned back by each DEROTATE_ANGLES angle, cut to the upright picture it would then contain.

    If a w×h picture was turned by a with its corners filled (W×H after trimming the fill), turning it back leaves
    the original upright in the middle, and w, h follow from W = w·cos a + h·sin a, H = w·sin a + h·cos a.
    """
    small = np.asarray(_shrunk(image.convert("RGB"), DEROTATE_SIDE))
    fill = tuple(int(v) for v in small[0, 0])
    height, width = small.shape[:2]
    out = []
    for angle in DEROTATE_ANGLES:
        c, s = math.cos(math.radians(abs(angle))), math.sin(math.radians(abs(angle)))
        det = c * c - s * s
        w, h = (width * c - height * s) / det, (height * c - width * s) / det
        turned = _turned(small, -angle, fill)
        if w < 16 or h < 16:  # not a picture turned by this angle (too narrow): keep the turned copy whole
            out.append(View(f"derotated{angle:+d}", Image.fromarray(turned)))
            continue
        x, y = (turned.shape[1] - w) / 2, (turned.shape[0] - h) / 2
        out.append(View(f"derotated{angle:+d}", Image.fromarray(
            np.ascontiguousarray(turned[round(y):round(y + h), round(x):round(x + w)]))))
    return out


def _turned(pixels: np.ndarray, degrees: float, fill: tuple) -> np.ndarray:
    """Pillow's rotate(degrees, expand=True, fillcolor=fill, BILINEAR), the same canvas and the same inverse map,
    by OpenCV's warpAffine: ~5x faster, and it lets go of the GIL while it works."""
    import cv2

    height, width = pixels.shape[:2]
    theta = -math.radians(degrees)
    a, b = round(math.cos(theta), 15), round(math.sin(theta), 15)
    d, e = -b, a
    cx, cy = width / 2.0, height / 2.0  # Pillow turns about the middle of the canvas, output to input
    corners = [(a * (x - cx) + b * (y - cy) + cx, d * (x - cx) + e * (y - cy) + cy)
               for x, y in ((0, 0), (width, 0), (width, height), (0, height))]
    new_w = math.ceil(max(x for x, _ in corners)) - math.floor(min(x for x, _ in corners))
    new_h = math.ceil(max(y for _, y in corners)) - math.floor(min(y for _, y in corners))
    ox, oy = -(new_w - width) / 2.0, -(new_h - height) / 2.0
    c = a * (ox - cx) + b * (oy - cy) + cx
    f = d * (ox - cx) + e * (oy - cy) + cy
    # Pillow samples at pixel centres (x + 0.5); OpenCV's pixels are centred on whole numbers
    matrix = np.array([[a, b, c + 0.5 * (a + b - 1)], [d, e, f + 0.5 * (d + e - 1)]])
    return cv2.warpAffine(pixels, matrix, (new_w, new_h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=fill)


@dataclass(frozen=True)
class Code:
    kind: str
    view: str
    code: bytes


class Unhashable(ValueError):
    """The picture is a single colour: nothing in it can be recognised."""

    def __init__(self):
        super().__init__("The picture is a single flat colour; there is nothing in it to recognise.")


def _check_not_flat(image: Image.Image) -> None:
    grey = np.asarray(_shrunk(image, 64).convert("L"), dtype=np.float32)
    if grey.std() < FLAT_STD:
        raise Unhashable()


def reference_codes(image: Image.Image) -> tuple[list[Code], int]:
    """Everything a registered work is indexed under, and its PDQ quality.

    PDQ codes are kept only where PDQ trusts them (quality >= MIN_QUALITY); clean graphics such as logos often score
    lower, and are then found by pHash alone. A single flat colour is refused.
    """
    pdq, phash = KINDS["pdq"], KINDS["phash"]
    image = _shrunk(image.convert("RGB"), WORKING_SIDE)
    _check_not_flat(image)
    codes = [Code("phash", v, c) for v, c in zip(DIHEDRAL, phash.dihedral(image)[0])]
    windows = Windows(np.asarray(image))  # every PDQ view below is a window of the working copy
    whole = [pdq.hash_grid(g) for g in dihedral_arrays(windows.grid())]
    quality = whole[0][1]
    box = border_box(image)
    inside = box or (0, 0, image.width, image.height)
    regions = [(name, (left + inside[0], top + inside[1], right + inside[0], bottom + inside[1]))
               for name, (left, top, right, bottom) in region_boxes(inside[2] - inside[0], inside[3] - inside[1])]
    if quality < MIN_QUALITY:  # PDQ cannot be trusted here: pHash carries the trimmed picture and the windows too
        if box is not None:
            codes.append(Code("phash", "trimmed", phash.code(image.crop(box))[0]))
        return codes + [Code("phash", name, phash.code(image.crop(r))[0]) for name, r in regions], quality
    codes += [Code("pdq", v, c) for v, (c, _) in zip(DIHEDRAL, whole)]
    for name, window in ([("trimmed", box)] if box is not None else []) + regions:
        code, q = pdq.hash_grid(windows.grid(window))
        if q >= MIN_QUALITY:
            codes.append(Code("pdq", name, code))
    return codes, quality


def query_codes(image: Image.Image) -> tuple[list[Code], int]:
    """Everything a picture is looked up with, and its PDQ quality. A flat picture has no codes."""
    pdq, phash = KINDS["pdq"], KINDS["phash"]
    image = _shrunk(image.convert("RGB"), PREPARED_SIDE)  # every query view is whole: PDQ's own size suffices
    try:
        _check_not_flat(image)
    except Unhashable:
        return [], 0
    codes = [Code("phash", "identity", phash.code(image)[0])]
    trimmed = trim_borders(image)
    if trimmed is not None:
        codes.append(Code("phash", "trimmed", phash.code(trimmed)[0]))
    code, quality = pdq.code(image)
    if quality < MIN_QUALITY:
        return codes, quality
    codes.append(Code("pdq", "identity", code))
    if trimmed is not None:
        code, q = pdq.code(trimmed)
        if q >= MIN_QUALITY:
            codes.append(Code("pdq", "trimmed", code))
    for view in derotated_views(image):
        code, q = pdq.code(view.image)
        if q >= MIN_QUALITY:
            codes.append(Code("pdq", view.name, code))
    return codes, quality


def mirrored_codes(image: Image.Image) -> list[Code]:
    """The query's mirror image, as it is: for indexes that hold only each work's whole picture (`mih`)."""
    image = ImageOps.mirror(_shrunk(image.convert("RGB"), PREPARED_SIDE))
    codes = [Code("phash", "mirror", KINDS["phash"].code(image)[0])]
    code, quality = KINDS["pdq"].code(image)
    if quality >= MIN_QUALITY:
        codes.append(Code("pdq", "mirror", code))
    return codes
