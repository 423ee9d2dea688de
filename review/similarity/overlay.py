"""A flat overlay on a query (a block painted over, a bar, a sticker) filled in, so the hash sees what is left.

A copy with a third of it painted one colour is 60-90 PDQ bits from its work: the block's edges and its one grey
level weigh on every low frequency. A flat block tells nothing about the work under it, so a query with one is also
hashed with the block set to the mean grey of the rest of the picture: its edges go, and the hash is left with the
picture around it (bench.similarity: a scanned page with 36% painted over, 90 -> 78 PDQ bits; the phantom, 92 -> 78).
Found as in the picture itself, not guessed: a connected region of near-constant grey covering at least MIN_AREA of
the picture and nearly all of its own bounding box (a rectangle; a photo's flat sky or a logo's white ground is not
one). A view besides the others, never instead of them.
"""
from __future__ import annotations

import cv2
import numpy as np

WINDOW = 7  # pixels a side over which a flat pixel's grey levels barely vary (at the query's PREPARED_SIDE)
FLAT_SPREAD = 2.0  # grey-level standard deviation below which they count as one colour (JPEG leaves ~1 in a block)
MIN_AREA = 0.08  # a block smaller than this share of the picture changes too little to matter
MIN_FILL = 0.85  # the share of its bounding box the block covers: painted rectangles, not the ground of a drawing
MAX_AREA = 0.6  # beyond this the "overlay" is the picture (a flat poster): nothing is left to hash
GROW = 9  # pixels the block is widened by: the WINDOW cut 3 off each edge, and its JPEG-ringed edge belongs to it


def filled(pixels: np.ndarray) -> np.ndarray | None:
    """The grey picture with its flat blocks set to the mean grey of the rest; None when it has none."""
    values = pixels.astype(np.float32)
    mean = cv2.blur(values, (WINDOW, WINDOW))
    spread = np.sqrt(np.maximum(cv2.blur(values * values, (WINDOW, WINDOW)) - mean * mean, 0))
    count, labels, stats, _ = cv2.connectedComponentsWithStats((spread < FLAT_SPREAD).astype(np.uint8), connectivity=4)
    blocks = [i for i in range(1, count)
              if stats[i, cv2.CC_STAT_AREA] >= MIN_AREA * pixels.size
              and stats[i, cv2.CC_STAT_AREA] >= MIN_FILL * stats[i, cv2.CC_STAT_WIDTH] * stats[i, cv2.CC_STAT_HEIGHT]]
    if not blocks:
        return None
    mask = cv2.dilate(np.isin(labels, blocks).astype(np.uint8), np.ones((GROW, GROW), np.uint8)) > 0
    if mask.mean() > MAX_AREA:
        return None
    out = pixels.copy()
    out[mask] = int(round(float(pixels[~mask].mean())))
    return out
