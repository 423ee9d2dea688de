"""Geometric verification of a look-alike candidate: do the upload and the work share a region under one transform?

A hash index proposes candidates; at a million works some unrelated picture is always within a loose hash
distance, so nobody is warned on a hash alone. This module checks a candidate the way image-retrieval systems do
(Lowe 2004; Philbin et al. 2007): SIFT keypoints on both pictures, Lowe's ratio test, then one similarity transform
(rotation, uniform scale, translation: what crops, resizes, pads and turns produce) fitted with RANSAC, or, when that
fails, one that also scales the two axes differently (a copy resized to another aspect, by at most MAX_STRETCH,
without shear). Unrelated
textures (brick, gravel, printed pages) give many raw keypoint pairs, so a candidate is confirmed only when all of
these hold (each measured by bench.similarity):

- at least MIN_INLIERS matches agree with the transform, and they are at least MIN_INLIER_RATIO of the
  ratio-test matches (a true copy: most of them; a repeated texture: a few scattered ones);
- the transform is sane: scale between MIN_SCALE and MAX_SCALE (a thumbnail to a large enlargement);
- the agreeing keypoints are spread over a region, not bunched in a corner: their bounding box covers at least
  MIN_SPREAD of the shared region on the work;
- the shared region (the upload's frame carried onto the work) covers at least MIN_REGION of the work.

Pictures poor in keypoints (a medical phantom, a clock face, flat posters) give a true copy only a handful of
agreeing keypoints, or keypoints bunched on the one detailed spot, and would fail the count or the spread. For them
the transform RANSAC found is checked densely instead: with at least DETAIL_MIN_INLIERS agreeing keypoints and a sane
transform, the upload is carried onto the work and their fine detail (each picture less its blur, DETAIL_SIDE pixels
a side) is compared over the shared region by normalised cross-correlation; DETAIL_MIN_CORRELATION or more confirms.
Measured on bench.similarity's pictures: true copies that needed it 0.29 and up (a clock face turned with
nearest-neighbour resampling), mostly above 0.4; unrelated pairs that reached it (5+ agreeing keypoints, a sane
transform) 0.06 at most in 21,700, and 0.28 at most among pairs with only 3 or 4 agreeing keypoints, which never
reach it.
A picture with fewer than RETRY_KEYPOINTS keypoints is detected again at LOW_CONTRAST, which finds the faint ones.

The result carries the shared region as a polygon in fractions of the work's width and height, so the console can
outline it. SIFT is not mirror-invariant: a candidate found through a mirrored view is checked against the mirrored
upload.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image, ImageOps

from review.similarity import hashes

SIDE = 512  # both pictures are compared at most this size: enough keypoints, ~25 ms of SIFT per picture
MAX_FEATURES = 1000
CONTRAST = 0.02  # half of SIFT's default: posters and graphics with soft shapes still get enough keypoints
RATIO = 0.75  # Lowe's ratio test: the best match must be clearly better than the second best
RANSAC_PIXELS = 6.0  # reprojection error allowed, in pixels at SIDE (JPEG, blur and resampling move keypoints)
MIN_KEYPOINTS = 20  # fewer on either side and the picture cannot be verified (flat graphics, tiny logos)
MIN_INLIERS = 10  # unrelated pairs in bench.similarity: at most 5 (of 7,987 with matches); true copies: 10 and up
MIN_INLIER_RATIO = 0.25
MIN_SCALE, MAX_SCALE = 0.1, 10.0
MAX_STRETCH = 2.0  # a stretched copy: one axis scaled at most twice the other
MAX_SHEAR = 0.05  # cosine of the angle between the transformed axes: below this they are still square
MIN_SPREAD = 0.15
MIN_REGION = 0.05
RETRY_KEYPOINTS = 50
LOW_CONTRAST = 0.005
DETAIL_MIN_INLIERS = 5
DETAIL_SIDE = 128  # coarse enough that a transform from a few keypoints still lines the detail up
DETAIL_BLUR = 1.5  # sigma, in pixels at DETAIL_SIDE: what is left after subtracting this blur is the detail
DETAIL_MIN_CORRELATION = 0.25
CACHE_SIZE = 256  # reference features kept in memory (about 150 kB each)


@dataclass(frozen=True)
class Features:
    keypoints: np.ndarray  # (n, 2) float32, pixel positions at the compared size
    descriptors: np.ndarray  # (n, 128) float32
    size: tuple[int, int]  # (width, height) at the compared size
    small: np.ndarray | None = None  # uint8 grey, at most DETAIL_SIDE a side (the dense check)


@dataclass(frozen=True)
class Verification:
    verified: bool
    checkable: bool  # False when either side has too few keypoints to decide
    inliers: int = 0
    matches: int = 0
    region: list = field(default_factory=list)  # [[x, y], ...] fractions of the work's width/height
    region_share: float = 0.0  # share of the work the upload covers
    scale: float = 0.0  # work pixels per upload pixel, at the compared sizes
    rotation: float = 0.0  # degrees
    spread: float = 0.0  # share of the shared region that the agreeing keypoints span
    detail: float | None = None  # correlation of the fine detail, when the dense check decided
    reason: str = ""  # why it was not confirmed (for logs and the benchmark)

    @property
    def inlier_ratio(self) -> float:
        return self.inliers / self.matches if self.matches else 0.0

    def to_dict(self) -> dict:
        return {"verified": self.verified, "checkable": self.checkable, "inliers": self.inliers,
                "matches": self.matches, "region": self.region, "region_share": round(self.region_share, 3),
                "scale": round(self.scale, 3), "rotation": round(self.rotation, 1),
                **({"detail": round(self.detail, 3)} if self.detail is not None else {})}


_sift = threading.local()


def _detector(contrast: float = CONTRAST):
    if not hasattr(_sift, "by_contrast"):
        _sift.by_contrast = {}
    if contrast not in _sift.by_contrast:
        _sift.by_contrast[contrast] = cv2.SIFT_create(nfeatures=MAX_FEATURES, contrastThreshold=contrast)
    return _sift.by_contrast[contrast]


def features(image: Image.Image, mirrored: bool = False) -> Features:
    grey = image.convert("L")
    if mirrored:
        grey = ImageOps.mirror(grey)
    scale = SIDE / max(grey.size)
    if scale < 1:
        grey = grey.resize((max(1, round(grey.width * scale)), max(1, round(grey.height * scale))),
                           Image.Resampling.BILINEAR, reducing_gap=2.0)
    pixels = np.asarray(grey)
    kps, desc = _detector().detectAndCompute(pixels, None)
    if len(kps) < RETRY_KEYPOINTS:  # faint pictures: their keypoints are below SIFT's usual contrast
        kps, desc = max((kps, desc), _detector(LOW_CONTRAST).detectAndCompute(pixels, None), key=lambda f: len(f[0]))
    points = np.array([k.pt for k in kps], np.float32).reshape(-1, 2)
    desc = desc if desc is not None else np.zeros((0, 128), np.float32)
    return Features(points, desc, grey.size, hashes.grey(pixels, DETAIL_SIDE))


def _detail(pixels: np.ndarray) -> np.ndarray:
    pixels = pixels.astype(np.float32)
    return pixels - cv2.GaussianBlur(pixels, (0, 0), DETAIL_BLUR)


def verify(query: Features, work: Features) -> Verification:
    """Is there one transform under which many of the query's keypoints land on the work's? A similarity transform
    first (crops, resizes, pads, turns); failing that, one that also stretches (a copy resized to another aspect)."""
    if len(query.keypoints) < MIN_KEYPOINTS or len(work.keypoints) < MIN_KEYPOINTS:
        return Verification(False, False, reason="too few keypoints")
    pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(query.descriptors, work.descriptors, k=2)
    good = _one_to_one([p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO * p[1].distance], work)
    if len(good) < DETAIL_MIN_INLIERS:
        return Verification(False, True, matches=len(good), reason="too few matches")
    src = query.keypoints[[m.queryIdx for m in good]]
    dst = work.keypoints[[m.trainIdx for m in good]]
    first = None
    for estimate in (cv2.estimateAffinePartial2D, cv2.estimateAffine2D):
        transform, mask = estimate(src, dst, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PIXELS, maxIters=2000,
                                   confidence=0.995)
        if transform is None or (estimate is cv2.estimateAffine2D and not _only_stretched(transform)):
            continue
        check = _judge(query, work, transform, dst[mask.ravel() == 1], len(good))
        if check.verified:
            return check
        first = first or check
    return first or Verification(False, True, matches=len(good), reason="no transform")


def _only_stretched(transform: np.ndarray) -> bool:
    """An affine transform that is a turn and a scale per axis (aspect changed by at most MAX_STRETCH), not a
    shear nor a mirror: what resizing to another aspect does."""
    u, v = transform[:, 0], transform[:, 1]
    su, sv = float(np.hypot(*u)), float(np.hypot(*v))
    if min(su, sv) <= 0 or np.linalg.det(transform[:, :2]) <= 0:  # a mirror is checked as a mirror, elsewhere
        return False
    return 1 / MAX_STRETCH <= su / sv <= MAX_STRETCH and abs(float(u @ v)) / (su * sv) < MAX_SHEAR


def _judge(query: Features, work: Features, transform: np.ndarray, agreeing: np.ndarray, matches: int) -> Verification:
    """The checks of the module docstring, on one fitted transform and its agreeing keypoints (on the work)."""
    inliers = len(agreeing)
    scale = float(np.sqrt(abs(np.linalg.det(transform[:, :2]))))
    rotation = float(np.degrees(np.arctan2(transform[1, 0], transform[0, 0])))
    region, share = _shared_region(transform, query.size, work.size)
    spread = 0.0
    if share > 0 and inliers:
        box = (agreeing.max(axis=0) - agreeing.min(axis=0)).prod()
        spread = float(box / (share * work.size[0] * work.size[1]))
    result = dict(checkable=True, inliers=inliers, matches=matches, region=region, region_share=share, scale=scale,
                  rotation=rotation, spread=spread)
    for failed, reason in ((not MIN_SCALE <= scale <= MAX_SCALE, "implausible scale"),
                           (share < MIN_REGION, "shared region too small")):
        if failed:
            return Verification(False, reason=reason, **result)
    for failed, reason in ((inliers < MIN_INLIERS, "too few inliers"),
                           (inliers < MIN_INLIER_RATIO * matches, "inliers are a small share of the matches"),
                           (spread < MIN_SPREAD, "inliers bunched together")):
        if failed:
            if inliers < DETAIL_MIN_INLIERS or query.small is None or work.small is None:
                return Verification(False, reason=reason, **result)
            detail = _detail_correlation(query, work, transform)
            return Verification(detail >= DETAIL_MIN_CORRELATION, detail=detail, **result,
                                reason="" if detail >= DETAIL_MIN_CORRELATION else f"{reason}; fine detail differs")
    return Verification(True, **result)


def _detail_correlation(query: Features, work: Features, transform: np.ndarray) -> float:
    """Normalised cross-correlation of the two pictures' fine detail where the query lands on the work (the detail
    taken after carrying the query over, so both are of the same scale)."""
    q, w = query.small, work.small
    to_q, to_w = q.shape[1] / query.size[0], w.shape[1] / work.size[0]  # compared size -> detail size
    matrix = transform.astype(np.float64).copy()
    matrix[:, :2] *= to_w / to_q
    matrix[:, 2] *= to_w
    landed = cv2.warpAffine(q.astype(np.float32), matrix, (w.shape[1], w.shape[0]), flags=cv2.INTER_LINEAR)
    inside = cv2.warpAffine(np.ones_like(q, np.uint8), matrix, (w.shape[1], w.shape[0]), flags=cv2.INTER_NEAREST)
    inside = cv2.erode(inside, np.ones((3, 3), np.uint8)) > 0  # the frame's edge is blur, not detail
    if inside.sum() < 64:
        return 0.0
    a, b = _detail(landed)[inside], _detail(w)[inside]
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / (np.sqrt((a * a).sum() * (b * b).sum()) + 1e-9))


def _one_to_one(matches: list, work: Features) -> list:
    """At most one match per work position: SIFT puts several descriptors on one spot, and many query points landing
    on one work point would let RANSAC accept a transform that squeezes everything to that point."""
    seen, out = set(), []
    for m in sorted(matches, key=lambda m: m.distance):
        spot = tuple(np.round(work.keypoints[m.trainIdx]).astype(int))
        if spot not in seen:
            seen.add(spot)
            out.append(m)
    return out


def _shared_region(transform: np.ndarray, query_size: tuple[int, int], work_size: tuple[int, int]):
    """The query's frame carried onto the work and clipped to it: polygon (fractions) and its share of the work."""
    qw, qh = query_size
    corners = np.array([[0, 0], [qw, 0], [qw, qh], [0, qh]], np.float32)
    mapped = (corners @ transform[:, :2].T + transform[:, 2]).astype(np.float32)
    ww, wh = work_size
    frame = np.array([[0, 0], [ww, 0], [ww, wh], [0, wh]], np.float32)
    area, polygon = cv2.intersectConvexConvex(mapped, frame)
    if polygon is None or area <= 0:
        return [], 0.0
    points = [[round(float(x) / ww, 4), round(float(y) / wh, 4)] for x, y in polygon.reshape(-1, 2)]
    return points, min(1.0, float(area) / (ww * wh))


class FeatureCache:
    """Reference features by key (least recently used out): a work is verified against many uploads."""

    def __init__(self, size: int = CACHE_SIZE):
        self._size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, make) -> Features:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = make()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value

    def drop(self, key) -> None:
        with self._lock:
            self._items.pop(key, None)
