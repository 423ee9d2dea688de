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
  turned back by a few small angles and cut to the upright picture inside (a copy rotated by 3-15 degrees), and with
  a flat block painted over it filled in (review.similarity.overlay), those views hashed by both kinds (a work too
  flat for PDQ is indexed by pHash alone).

Every view is a window of one grey working copy (OpenCV), averaged straight to the hash's grid from one
summed-area table (`Windows`), and each kind hashes its grids as one stack in numpy, bit for bit what pdqhash and
imagehash give (tested): a work's 42 codes cost ~4 ms (HASH_VERSION 5), ~10 ms with a pdqhash call and a Pillow
resize per view (version 3) and ~50 ms with a resize and a hash at 256 pixels per view (version 2).
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageOps

from review.similarity import overlay
from review.similarity.derotate import BORDER_TOLERANCE, DEROTATE_SIDE, derotated

HASH_VERSION = 6  # bump when the codes change: references are re-hashed after start-up (review.similarity.rehash)
# (5: each work's centre window by pHash too; 6: each work's keypoint sketch, review.similarity.keypoints)
DIHEDRAL = ("identity", "rot90", "rot180", "rot270", "mirror", "mirror_rot90", "mirror_rot180", "mirror_rot270")
# Sub-windows of a registered work: (name, share of each side kept, anchor). PDQ tolerates a window that is off by
# a few percent of the side, not more (a copy keeping 80% matched a 75% window at 90 bits), so the scales are 6%
# apart (8% apart found 85% of corner crops at the warn distance in bench.similarity, 6% apart 95%), from the centre
# and from each corner.
REGIONS = tuple((f"{anchor_name}{round(scale * 100)}", scale, anchor)
                for scale in (0.94, 0.88, 0.82, 0.76, 0.70)
                for anchor_name, anchor in (("centre", "c"), ("top_left", "tl"), ("top_right", "tr"),
                                            ("bottom_left", "bl"), ("bottom_right", "br")))
OVERLAY_VIEW = "filled"  # the query with a flat block painted over it filled in (review.similarity.overlay)
CENTRE_VIEW = "centre70"  # the window the million-work index holds of each work (review.similarity.mih_views)
MIN_QUALITY = 50  # PDQ's own guidance: below this its code is not to be trusted (pHash still covers the picture)
FLAT_STD = 1.0  # grey-level spread below which a picture is one flat colour
MIN_TRIMMED_AREA = 0.2  # trimming that leaves less than this is not a border but the picture itself
PREPARED_SIDE = 256  # every query view is whole: this is detail enough for PDQ's grid and for pHash's
PHASH_GRID = 32  # imagehash.phash's grid (hash size 8 x high-frequency factor 4)
PDQ_GRID = 64  # PDQ hashes a 64x64 grid of the picture (its DCT keeps the 16x16 lowest frequencies of it)
WORKING_SIDE = 1024  # every view is cut from a copy at most this size (a 70% window still averages 11 pixels a cell)


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
        return float(self.scores(np.asarray([bits_apart]))[0])

    def scores(self, bits_apart: np.ndarray) -> np.ndarray:
        """`score` of many distances at once."""
        distances, shares = zip(*self.false_pair_cdf)
        return np.round(1.0 - np.interp(bits_apart, distances, shares), 5)


class PDQ(SignalType):
    name = "pdq"
    bits = 256
    review, warn = 31, 84  # 31 is also Meta's own PDQ match threshold; 84 the joint threshold of HASH_VERSION 3 and 4
    false_pair_cdf = ((0, 0.0), (60, 0.0), (64, 0.000061), (80, 0.000061), (84, 0.000424), (88, 0.00142),
                      (92, 0.00684), (96, 0.0335), (100, 0.135), (104, 0.456), (108, 0.880), (112, 0.996),
                      (116, 0.99955), (120, 1.0), (256, 1.0))  # measured on the codes of HASH_VERSION 4

    # PDQ's DCT: the 16 lowest frequencies but the constant one, of 64 samples (pdqhash's dct_matrix_64)
    _DCT = (math.sqrt(2 / PDQ_GRID) * np.cos(math.pi / 2 / PDQ_GRID * np.arange(1, 17)[:, None]
                                             * (2 * np.arange(PDQ_GRID)[None, :] + 1))).astype(np.float32)

    @classmethod
    def hash_grids(cls, grids: np.ndarray) -> tuple[list[bytes], list[int]]:
        """The codes and qualities of pictures already on PDQ's grid of grey levels (n x 64 x 64, `Windows.grids`).

        pdqhash's own steps, for a whole stack in a few numpy operations (pdqhash costs ~0.15 ms a call, most of a
        work's 41 codes): the 16x16 DCT, each coefficient against their median (pdqhash's bit order), and the
        gradient-sum quality. tests/test_similarity.py checks every bit and quality against pdqhash.compute.
        """
        g = np.asarray(grids, np.float32).reshape(-1, PDQ_GRID, PDQ_GRID)
        coefficients = (cls._DCT @ g @ cls._DCT.T).reshape(len(g), 256)
        median = np.partition(coefficients, 127, axis=1)[:, 127:128]  # Torben's median of 256: the 128th smallest
        codes = np.packbits((coefficients > median)[:, ::-1], axis=1)
        steps = [np.trunc((g[:, :-1, :] - g[:, 1:, :]) * 100 / 255), np.trunc((g[:, :, :-1] - g[:, :, 1:]) * 100 / 255)]
        quality = np.minimum(sum(np.abs(s).sum(axis=(1, 2)).astype(np.int64) for s in steps) // 90, 100)
        return [c.tobytes() for c in codes], [int(q) for q in quality]

    def code(self, image: Image.Image) -> tuple[bytes, int]:
        """The 32-byte code and its quality (0-100), of the whole picture averaged straight to the grid."""
        codes, quality = self.hash_grids(Windows(grey(image)).grid())
        return codes[0], quality[0]

    def dihedral(self, image: Image.Image) -> tuple[list[bytes], int]:
        """Codes of the 8 rotations/mirrors in DIHEDRAL order, and the quality of the picture as it is.

        The grid of a turned or mirrored picture is the turned or mirrored grid, so one grid gives all eight (the
        codes of the turned pictures; pdqhash's own DCT-domain variants differ from those by 24-32 bits).
        """
        codes, quality = self.hash_grids(np.stack(dihedral_arrays(Windows(grey(image)).grid())))
        return codes, quality[0]


class Windows:
    """Any windows of one picture averaged to a square grid (PDQ's 64x64, pHash's 128x128 before its own step),
    from one summed-area table of its grey levels.

    PDQ hashes luminance (0.299 R + 0.587 G + 0.114 B, as Pillow's "L" and OpenCV's grey) and averaging is linear,
    so the grey picture is taken once and each grid cell is the plain mean of the pixels it covers (cell edges
    rounded to whole pixels): pdqhash's own filter then has nothing left to do. The table (OpenCV's integral) costs
    ~0.2 ms for a 512-pixel picture, and every window of a work is read from it in one gather.
    """

    def __init__(self, pixels: np.ndarray):
        self.grey = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY) if pixels.ndim == 3 else pixels
        exact_in_int32 = self.grey.size * 255 < 2**31
        self.sums = cv2.integral(self.grey, sdepth=cv2.CV_32S if exact_in_int32 else cv2.CV_64F)

    @property
    def whole(self) -> tuple[int, int, int, int]:
        return 0, 0, self.grey.shape[1], self.grey.shape[0]

    def grid(self, box: tuple[int, int, int, int] | None = None, side: int = PDQ_GRID) -> np.ndarray:
        """The window (left, top, right, bottom; the whole picture by default) as side x side grey levels (uint8)."""
        return self.grids([box or self.whole], side)[0]

    def grids(self, boxes: list[tuple[int, int, int, int]], side: int = PDQ_GRID) -> np.ndarray:
        """`grid` of each box, stacked (n x side x side)."""
        out = np.empty((len(boxes), side, side), np.uint8)
        big = [i for i, (left, top, right, bottom) in enumerate(boxes) if right - left >= side and bottom - top >= side]
        for i in set(range(len(boxes))) - set(big):  # smaller than the grid: nothing to average, it is scaled up
            left, top, right, bottom = boxes[i]
            out[i] = cv2.resize(np.ascontiguousarray(self.grey[top:bottom, left:right]), (side, side),
                                interpolation=cv2.INTER_LINEAR)
        if big:
            b = np.asarray([boxes[i] for i in big], np.float64)
            steps = np.linspace(0.0, 1.0, side + 1)
            ys = (b[:, 1:2] + (b[:, 3:4] - b[:, 1:2]) * steps).round().astype(np.intp)  # n x (side + 1) cell edges
            xs = (b[:, 0:1] + (b[:, 2:3] - b[:, 0:1]) * steps).round().astype(np.intp)
            s = self.sums.take(ys[:, :, None] * self.sums.shape[1] + xs[:, None, :]).astype(np.float32)
            cells = s[:, 1:, 1:] - s[:, :-1, 1:] - s[:, 1:, :-1] + s[:, :-1, :-1]
            cells /= (np.diff(ys)[:, :, None] * np.diff(xs)[:, None, :]).astype(np.float32)
            cells += 0.5
            out[big] = cells.astype(np.uint8)
        return out


class PHash(SignalType):
    name = "phash"
    bits = 64
    review, warn = 8, 14
    false_pair_cdf = ((0, 0.0), (10, 0.0), (12, 0.000108), (14, 0.00228), (16, 0.0147), (18, 0.0635), (20, 0.223),
                      (22, 0.529), (24, 0.841), (26, 0.975), (28, 0.9982), (30, 0.99995), (32, 1.0), (64, 1.0))
    # HASH_VERSION 4, the query's turned-back views hashed by pHash too; every even distance (pHash codes have 32
    # ones, so their distances are even), measured 2026-12-07

    def code(self, image: Image.Image) -> tuple[bytes, int]:
        """imagehash's pHash of the picture's grid (`grid`). It has no quality score of its own."""
        return self.hash_grids(self.grids(Windows(grey(image))))[0], 100

    def dihedral(self, image: Image.Image) -> tuple[list[bytes], int]:
        """The 8 turns and mirrors of the one 32x32 grid imagehash would make (turning it is turning the picture)."""
        return self.hash_grids(np.stack(dihedral_arrays(self.grids(Windows(grey(image)))[0]))), 100

    @staticmethod
    def grids(windows: Windows, boxes: list[tuple[int, int, int, int] | None] = (None,)) -> np.ndarray:
        """Windows (the whole picture by default) as the 32x32 grids imagehash.phash looks at: averaged to 128x128,
        then its own Lanczos step (n x 32 x 32)."""
        large = windows.grids([b or windows.whole for b in boxes], 4 * PHASH_GRID)
        return np.stack([np.asarray(Image.fromarray(g).resize((PHASH_GRID, PHASH_GRID), Image.Resampling.LANCZOS))
                         for g in large])

    @staticmethod
    def hash_grids(grids: np.ndarray) -> list[bytes]:
        """imagehash.phash of each 32x32 grid (n x 32 x 32), in one step: the same scipy DCT, median and bit order
        (tests/test_similarity.py checks them against imagehash)."""
        import scipy.fftpack

        g = np.asarray(grids).reshape(-1, PHASH_GRID, PHASH_GRID)
        low = scipy.fftpack.dct(scipy.fftpack.dct(g, axis=1), axis=2)[:, :8, :8].reshape(len(g), 64)
        return [c.tobytes() for c in np.packbits(low > np.median(low, axis=1, keepdims=True), axis=1)]


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


def grey(image: Image.Image | np.ndarray, side: int | None = None) -> np.ndarray:
    """The picture's grey levels (luminance, uint8), shrunk by area averaging to at most `side` pixels a side.

    One grey copy carries every code: both hashes look at luminance only, and OpenCV's conversion and area resize
    cost ~0.5 ms for a 640x480 picture where Pillow's RGB resize to the working size cost ~2.5 ms."""
    pixels = image if isinstance(image, np.ndarray) else np.asarray(
        image if image.mode in ("L", "RGB") else image.convert("RGB"))
    out = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY) if pixels.ndim == 3 else pixels
    height, width = out.shape
    if side is not None and max(height, width) > side:
        scale = side / max(height, width)
        out = cv2.resize(out, (max(1, round(width * scale)), max(1, round(height * scale))),
                         interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(out)


def trim_borders(image: Image.Image) -> Image.Image | None:
    """The picture without uniform borders of its corner colour, or None when there is nothing (sensible) to trim."""
    box = border_box(grey(image))
    return None if box is None else image.convert("RGB").crop(box)


def border_box(pixels: np.ndarray) -> tuple[int, int, int, int] | None:
    """The box inside uniform borders of the corner's grey level (see `trim_borders`), or None.

    The bounding box of the pixels more than BORDER_TOLERANCE grey levels from the corner: ~0.1 ms at the working
    size."""
    height, width = pixels.shape[:2]
    differs = cv2.absdiff(pixels, np.full_like(pixels, pixels[0, 0])) > BORDER_TOLERANCE
    rows, cols = np.flatnonzero(differs.any(axis=1)), np.flatnonzero(differs.any(axis=0))
    if not len(rows):
        return None
    box = (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)
    area = (box[2] - box[0]) * (box[3] - box[1])
    if area == width * height or area < MIN_TRIMMED_AREA * width * height:
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


@dataclass(frozen=True)
class Code:
    kind: str
    view: str
    code: bytes


class Unhashable(ValueError):
    """The picture is a single colour: nothing in it can be recognised."""

    def __init__(self):
        super().__init__("The picture is a single flat colour; there is nothing in it to recognise.")


def reference_codes(image: Image.Image, windows: Windows | None = None) -> tuple[list[Code], int]:
    """Everything a registered work is indexed under, and its PDQ quality. `windows`: the picture's grey copy at
    WORKING_SIDE, when the caller has made it already.

    PDQ codes are kept only where PDQ trusts them (quality >= MIN_QUALITY); clean graphics such as logos often score
    lower, and are then found by pHash alone. A single flat colour is refused. Every code is of a window of one grey
    working copy (`Windows`), hashed in two stacks (~3 ms for the 42 codes of a 640x480 work).
    """
    pdq, phash = KINDS["pdq"], KINDS["phash"]
    windows = windows or Windows(grey(image, WORKING_SIDE))
    whole = windows.grid()
    if whole.std() < FLAT_STD:
        raise Unhashable()
    codes = [Code("phash", v, c) for v, c in zip(DIHEDRAL, phash.hash_grids(np.stack(
        dihedral_arrays(phash.grids(windows)[0]))))]
    box = border_box(windows.grey)
    inside = box or windows.whole
    regions = [(name, (left + inside[0], top + inside[1], right + inside[0], bottom + inside[1]))
               for name, (left, top, right, bottom) in region_boxes(inside[2] - inside[0], inside[3] - inside[1])]
    views = ([("trimmed", box)] if box is not None else []) + regions
    pdq_codes, qualities = pdq.hash_grids(np.concatenate([np.stack(dihedral_arrays(whole)),
                                                         windows.grids([b for _, b in views])]))
    quality = qualities[0]
    if quality < MIN_QUALITY:  # PDQ cannot be trusted here: pHash carries the trimmed picture and the windows too
        grids = phash.grids(windows, [b for _, b in views])
        return codes + [Code("phash", name, c) for (name, _), c in zip(views, phash.hash_grids(grids))], quality
    # the centre window by pHash too: what the million-work index finds crops with (review.similarity.mih_views)
    (name, centre), = [(n, b) for n, b in views if n == CENTRE_VIEW]
    codes += [Code("phash", name, phash.hash_grids(phash.grids(windows, [centre]))[0])]
    codes += [Code("pdq", v, c) for v, c in zip(DIHEDRAL, pdq_codes[:8])]
    codes += [Code("pdq", name, c) for (name, _), c, q in zip(views, pdq_codes[8:], qualities[8:])
              if q >= MIN_QUALITY]
    return codes, quality


def query_codes(image: Image.Image, windows: Windows | None = None) -> tuple[list[Code], int]:
    """Everything a picture is looked up with, and its PDQ quality. A flat picture has no codes. `windows`: the
    picture's grey copy at PREPARED_SIDE, when the caller has made it already."""
    pdq, phash = KINDS["pdq"], KINDS["phash"]
    windows = windows or Windows(grey(image, PREPARED_SIDE))  # every query view is whole: PDQ's own size suffices
    whole = windows.grid()
    if whole.std() < FLAT_STD:
        return [], 0
    box = border_box(windows.grey)
    views = [("identity", None)] + ([("trimmed", box)] if box is not None else [])
    unpainted = overlay.filled(windows.grey)
    redrawn = derotated(grey(windows.grey, DEROTATE_SIDE)) + ([] if unpainted is None else [(OVERLAY_VIEW, unpainted)])
    # pHash of the turned-back and filled-in views too: works too flat for PDQ (posters, a clock face) are indexed by
    # pHash alone
    phash_grids = np.concatenate([phash.grids(windows, [b for _, b in views])]
                                 + [phash.grids(Windows(pixels)) for _, pixels in redrawn])
    names = [name for name, _ in views + redrawn]
    codes = [Code("phash", name, c) for name, c in zip(names, phash.hash_grids(phash_grids))]
    grids = np.concatenate([windows.grids([b or windows.whole for _, b in views]),
                            np.stack([Windows(pixels).grid() for _, pixels in redrawn])])
    pdq_codes, qualities = pdq.hash_grids(grids)
    if qualities[0] < MIN_QUALITY:
        return codes, qualities[0]
    return codes + [Code("pdq", name, c) for name, c, q in zip(names, pdq_codes, qualities)
                    if name == "identity" or q >= MIN_QUALITY], qualities[0]
