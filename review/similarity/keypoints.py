"""Keypoint sketches: the local evidence that ranks hash candidates before the few best are verified.

At a million works a weak copy (a repaint, a crop off the centre) is met by the hash index but outranked by dozens of
unrelated works that look alike in the large: a hash sees layout, not content. Local detail tells them apart. Each
work keeps a sketch, its SKETCH_KEYPOINTS strongest ORB keypoints (binary descriptors, Rublee et al. 2011; 34 bytes
each), as a `reference_hashes` row of kind KIND: in the database, not in memory. A search loads the sketches of its
first SKETCHED hash candidates and scores each by how many of the sketch's keypoints find a clear match among the
query's (ratio test) and agree on one turn and one scale (weak geometric consistency, Jégou et al. 2008). The first
RERANK_TOP by hash are ordered by any score of MIN_SCORE or more, those further down only by a STRONG_SCORE: so many
unrelated candidates lie there that a middling score among them is chance. The VERIFY_TOP best go to the verifier,
which alone decides who reaches a person: the false-warning bound (VERIFY_TOP x the verifier's false-pass rate) does
not change.

Measured by bench.similarity (the better of both orientations): 2.4% of its 51,170 unrelated pairs scored MIN_SCORE
or more (11 at most), copies a median of 18 of 32; ORB costs ~2 ms a picture at SIDE, a tenth of the verifier's SIFT.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from review.similarity.hashes import Code, grey

KIND, VIEW = "orb", "keypoints"  # the sketch's row in reference_hashes (not a hash kind: never in the index)
SIDE = 512  # both pictures at most this size, as the verifier compares them
SKETCH_KEYPOINTS = 32  # a work's sketch: 1.1 kB
QUERY_KEYPOINTS = 500
RATIO = 0.8  # the sketch keypoint's best match among the query's must be clearly better than its second best
MAX_BITS = 64  # and within a quarter of the descriptor's 256 bits
ANGLE_BINS = 12  # turns told apart 30 degrees apart
SCALE_STEP = math.log2(1.2) * 2  # ORB's pyramid levels (1.2x apart) in half octaves
SCALE_BINS = 34  # half-octave differences -16..17
MIN_SCORE = 4  # below this a sketch score says nothing (unrelated pairs reach 4 in ~1.3% of pairs, one orientation)
STRONG_SCORE = 12  # more than any unrelated pair scored (bench.similarity: 11 at most of 51,170, both orientations)
ENTRY = 34  # bytes a keypoint: its descriptor, its angle (1/256 turns), its pyramid level

_orb: dict[int, cv2.ORB] = {}


@dataclass(frozen=True)
class Keypoints:
    descriptors: np.ndarray  # (n, 32) uint8
    angles: np.ndarray  # (n,) degrees
    levels: np.ndarray  # (n,) ORB pyramid level


def detect(image: Image.Image | np.ndarray, limit: int = QUERY_KEYPOINTS, mirrored: bool = False) -> Keypoints:
    """The picture's strongest `limit` ORB keypoints, on its grey copy at most SIDE a side."""
    pixels = grey(image, SIDE)
    if mirrored:
        pixels = np.ascontiguousarray(pixels[:, ::-1])
    if limit not in _orb:
        _orb[limit] = cv2.ORB_create(nfeatures=limit)
    points, descriptors = _orb[limit].detectAndCompute(pixels, None)
    if descriptors is None:
        return Keypoints(np.zeros((0, 32), np.uint8), np.zeros(0, np.float32), np.zeros(0, np.int16))
    return Keypoints(descriptors[:limit], np.array([p.angle for p in points[:limit]], np.float32),
                     np.array([p.octave for p in points[:limit]], np.int16))


def sketch_code(image: Image.Image | np.ndarray) -> Code | None:
    """A work's sketch as one code (None when the picture has too few keypoints to score)."""
    found = detect(image, SKETCH_KEYPOINTS)
    if len(found.descriptors) < MIN_SCORE:
        return None
    angles = (np.round(found.angles * 256 / 360).astype(np.int64) % 256).astype(np.uint8)
    rows = np.concatenate([found.descriptors, angles[:, None], found.levels.astype(np.uint8)[:, None]], axis=1)
    return Code(KIND, VIEW, rows.tobytes())


def parse(data: bytes) -> Keypoints:
    rows = np.frombuffer(data, np.uint8).reshape(-1, ENTRY)
    return Keypoints(rows[:, :32], rows[:, 32].astype(np.float32) * 360 / 256, rows[:, 33].astype(np.int16))


def scores(query: Keypoints, sketches: list[Keypoints]) -> np.ndarray:
    """Each sketch's score against the query: its keypoints matched clearly that agree on one turn and scale (the
    largest such group, counted in overlapping bins so a group on a bin's edge is not split)."""
    out = np.zeros(len(sketches), np.int64)
    owners = np.concatenate([np.full(len(s.descriptors), i) for i, s in enumerate(sketches)] or [np.zeros(0, int)])
    if len(query.descriptors) < 2 or not len(owners):
        return out
    desc = np.concatenate([s.descriptors for s in sketches])
    dist, nearest = cv2.batchDistance(desc, query.descriptors, cv2.CV_32S, normType=cv2.NORM_HAMMING, K=2)
    ok = (dist[:, 0] < RATIO * dist[:, 1]) & (dist[:, 0] <= MAX_BITS)
    if not ok.any():
        return out
    angles = np.concatenate([s.angles for s in sketches])[ok]
    levels = np.concatenate([s.levels for s in sketches])[ok]
    q = nearest[ok, 0]
    turn = ((query.angles[q] - angles) % 360 // (360 / ANGLE_BINS)).astype(np.int64)
    scale = np.clip(np.round((query.levels[q] - levels) * SCALE_STEP).astype(np.int64) + 16, 0, SCALE_BINS - 2)
    cells = ANGLE_BINS * SCALE_BINS
    counts = np.zeros(len(sketches) * cells, np.int64)
    for dt in (0, 1):
        for ds in (0, 1):
            counts += np.bincount(owners[ok] * cells + ((turn + dt) % ANGLE_BINS) * SCALE_BINS + scale + ds,
                                  minlength=len(counts))
    return counts.reshape(len(sketches), cells).max(axis=1)
