"""A query turned back by a few small angles: a copy rotated by 3-15 degrees meets its upright work again.

Turning is the costliest step of a query, so it works on a small grey copy (DEROTATE_SIDE, 3x PDQ's 64x64 grid)
with OpenCV, on Pillow's canvas and inverse map (the registered codes were made with Pillow's rotate once).
"""
from __future__ import annotations

import math

import cv2
import numpy as np

# Eight angles 4 degrees apart leave at most 2 degrees of error, which PDQ tolerates; fewer angles measured 59-87%
# recall on 3-15 degree rotations, these 92% (hash version 2).
DEROTATE_ANGLES = (-14, -10, -6, -2, 2, 6, 10, 14)
DEROTATE_SIDE = 192


def derotated(pixels: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(name, grey pixels) of the picture turned back by each DEROTATE_ANGLES angle, cut to the upright picture it
    would then contain.

    If a w×h picture was turned by a with its corners filled (W×H after trimming the fill), turning it back leaves
    the original upright in the middle, and w, h follow from W = w·cos a + h·sin a, H = w·sin a + h·cos a.
    """
    fill = int(pixels[0, 0])
    height, width = pixels.shape
    out = []
    for angle in DEROTATE_ANGLES:
        c, s = math.cos(math.radians(abs(angle))), math.sin(math.radians(abs(angle)))
        det = c * c - s * s
        w, h = (width * c - height * s) / det, (height * c - width * s) / det
        back = turned(pixels, -angle, fill)
        if w >= 16 and h >= 16:  # else not a picture turned by this angle (too narrow): the turned copy stays whole
            x, y = (back.shape[1] - w) / 2, (back.shape[0] - h) / 2
            back = np.ascontiguousarray(back[round(y):round(y + h), round(x):round(x + w)])
        out.append((f"derotated{angle:+d}", back))
    return out


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
