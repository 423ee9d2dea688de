"""A query turned back by a few small angles: a copy rotated by 3-15 degrees meets its upright work again.

Turning is the costliest step of a query, so it works on a small grey copy (DEROTATE_SIDE, 3x PDQ's 64x64 grid)
with OpenCV, on Pillow's canvas and inverse map (the registered codes were made with Pillow's rotate once).

A picture turned with its corners filled (an editor's rotate, a phone's straighten) also shows by how much: the
smallest rectangle around what is not fill (OpenCV's minAreaRect) lies at the angle it was turned by. That view,
turned back by the measured angle (UNTURNED), is met where the fixed angles leave 1-2 degrees that a texture's hash
does not forgive (bench.similarity: textures turned 3-15 degrees). Measured on the bench's photos turned 2.6-40
degrees with white, black and purple fill, as PNG and JPEG: 92% measured, within 0.3 degrees; none of the upright
ones was taken for turned.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

# Eight angles 4 degrees apart leave at most 2 degrees of error, which PDQ tolerates; fewer angles measured 59-87%
# recall on 3-15 degree rotations, these 92% (hash version 2).
DEROTATE_ANGLES = (-14, -10, -6, -2, 2, 6, 10, 14)
DEROTATE_SIDE = 192
UNTURNED = "unturned"  # the view turned back by the measured angle: unturned+6.3
MIN_MEASURED = 1.0  # degrees: below this the picture as it is meets its work
FILL_CLEAN = 0.97  # share of the corners a turn by the measured angle would fill that must be fill
BORDER_TOLERANCE = 12  # grey levels a border or a fill may vary by (JPEG noise) and still count as uniform


def derotated(pixels: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(name, grey pixels) of the picture turned back by each DEROTATE_ANGLES angle, cut to the upright picture it
    would then contain.

    If a w×h picture was turned by a with its corners filled (W×H after trimming the fill), turning it back leaves
    the original upright in the middle, and w, h follow from W = w·cos a + h·sin a, H = w·sin a + h·cos a.
    """
    fill = int(pixels[0, 0])
    out = [(f"derotated{angle:+d}", _turned_back(pixels, angle, fill)) for angle in DEROTATE_ANGLES]
    angle = measured_angle(pixels)
    if angle is not None:
        out.append((f"{UNTURNED}{angle:+.1f}", _turned_back(pixels, angle, fill)))
    return out


def _upright_size(width: int, height: int, angle: float) -> tuple[float, float]:
    """The w x h picture that, turned by `angle` with expand, fills a width x height canvas."""
    c, s = math.cos(math.radians(abs(angle))), math.sin(math.radians(abs(angle)))
    det = c * c - s * s
    return (width * c - height * s) / det, (height * c - width * s) / det


def _turned_back(pixels: np.ndarray, angle: float, fill: int) -> np.ndarray:
    height, width = pixels.shape
    w, h = _upright_size(width, height, angle)
    back = turned(pixels, -angle, fill)
    if w >= 16 and h >= 16:  # else not a picture turned by this angle (too narrow): the turned copy stays whole
        x, y = (back.shape[1] - w) / 2, (back.shape[0] - h) / 2
        back = np.ascontiguousarray(back[round(y):round(y + h), round(x):round(x + w)])
    return back


def measured_angle(pixels: np.ndarray) -> float | None:
    """The angle (degrees, Pillow's sense, within 45 of upright) a grey picture was turned by with its corners
    filled, or None when it does not look turned: its four corners share one grey level, what differs from it
    reaches all four sides, and the corners a turn by that angle would fill are fill."""
    height, width = pixels.shape
    fill = int(pixels[0, 0])
    if np.abs(pixels[[0, 0, -1, -1], [0, -1, 0, -1]].astype(np.int64) - fill).max() > BORDER_TOLERANCE:
        return None
    content = (cv2.absdiff(pixels, np.full_like(pixels, fill)) > BORDER_TOLERANCE).astype(np.uint8)
    edge = 3  # a corner of the turned picture, blended with the fill when shrunk, may stop short of the side
    if not (content[:edge].any() and content[-edge:].any() and content[:, :edge].any() and content[:, -edge:].any()):
        return None
    rows = np.flatnonzero(content.any(axis=1))  # each row's first and last such pixel: the same hull as all of them
    first, last = content[rows].argmax(axis=1), width - 1 - content[rows, ::-1].argmax(axis=1)
    hull = np.concatenate([np.stack([first, rows], 1), np.stack([last, rows], 1)]).astype(np.float32)
    angle = -(((cv2.minAreaRect(hull)[2] + 45) % 90) - 45)
    w, h = _upright_size(width, height, angle)
    if abs(angle) < MIN_MEASURED or w < 16 or h < 16:
        return None
    shape = turned(np.full((round(h), round(w)), 255, np.uint8), angle, 0)
    if shape.shape != pixels.shape:
        shape = cv2.resize(shape, (width, height), interpolation=cv2.INTER_AREA)
    corners = cv2.erode((shape < 128).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)  # clear of the edge
    if not corners.any() or (content.astype(bool) & corners).sum() > (1 - FILL_CLEAN) * corners.sum():
        return None
    return float(angle)


def turned(pixels: np.ndarray, degrees: float, fill: int | tuple) -> np.ndarray:
    """Pillow's rotate(degrees, expand=True, fillcolor=fill, BILINEAR), the same canvas and the same inverse map,
    by OpenCV's warpAffine: ~5x faster, and it lets go of the GIL while it works."""
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
