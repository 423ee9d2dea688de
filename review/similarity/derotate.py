"""A query turned back by a few small angles: a copy rotated by 3-15 degrees meets its upright work again.

Turning is the costliest step of a query, so it works on a small grey copy (DEROTATE_SIDE, 3x PDQ's 64x64 grid)
with OpenCV, on Pillow's canvas and inverse map (the registered codes were made with Pillow's rotate once).

A picture turned with its corners filled (an editor's rotate, a phone's straighten) also shows by how much
(`measured_turn`), on a larger canvas or within its own. That view, turned back by the measured angle (UNTURNED), is
met where the fixed angles leave 1-2 degrees that a texture's hash does not forgive (bench.similarity: textures
turned 3-15 degrees), and where their cut, made for a larger canvas, does not fit a turn within the canvas. Measured
on the bench's 35 photos turned by 11 angles of 2.6-40 degrees both ways, with four fills, as PNG and JPEG: 73% of
the larger-canvas turns measured, all within 0.3 degrees; 75% of the turns within the canvas, 98.5% of them within
0.5 degrees (1.7 at most). The rest, mostly pictures whose own edges are the fill's colour, keep the fixed angles, and
when their corners share one colour and their content reaches every side (as 9% of the bench's upright queries do)
the fixed angles turn them back within their canvas too (IN_CANVAS: a dark picture turned within its canvas on
black, which shows no angle). None of the 1,085 upright queries of the bench was taken for turned. ~0.2 ms a picture.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

# Eight angles 4 degrees apart leave at most 2 degrees of error, which PDQ tolerates; fewer angles measured 59-87%
# recall on 3-15 degree rotations, these 92% (hash version 2).
DEROTATE_ANGLES = (-14, -10, -6, -2, 2, 6, 10, 14)
DEROTATE_SIDE = 192
UNTURNED = "unturned"  # the view turned back by the measured angle: unturned+6.3
IN_CANVAS = "incanvas"  # turned back by a fixed angle within its own canvas, when no angle shows: incanvas+6
MIN_MEASURED = 2.0  # degrees: below this the picture as it is (and the fixed angles of 2) meets its work
FILL_CLEAN = 0.97  # share of the corners a turn by the measured angle would fill that must be fill
EDGE_CONTENT = 0.9  # and of the turned picture's edge along them that must not be
BORDER_TOLERANCE = 12  # grey levels a border or a fill may vary by (JPEG noise) and still count as uniform


@dataclass(frozen=True)
class Turn:
    angle: float  # degrees, Pillow's sense (counter-clockwise), within 45 of upright
    canvas_kept: bool  # turned within its own canvas (Pillow's rotate without expand): its own corners cut off


def derotated(pixels: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(name, grey pixels) of the picture turned back by each DEROTATE_ANGLES angle, cut to the upright picture it
    would then contain, and by its measured turn (`measured_turn`) when it shows one. A picture that may be turned
    (its corners one grey level, what differs reaching every side) but shows no angle, as a dark picture turned within
    its canvas with a black fill does, is turned back by each fixed angle within its canvas too (IN_CANVAS).

    If a w×h picture was turned by a with its corners filled (W×H after trimming the fill), turning it back leaves
    the original upright in the middle, and w, h follow from W = w·cos a + h·sin a, H = w·sin a + h·cos a. A picture
    turned within its own canvas comes back in the middle W×H of the turned-back canvas.
    """
    fill = int(pixels[0, 0])
    out = [(f"derotated{angle:+d}", _turned_back(pixels, angle, fill)) for angle in DEROTATE_ANGLES]
    turn = measured_turn(pixels)
    if turn is not None:
        back = (_turned_within(pixels, -turn.angle, fill) if turn.canvas_kept
                else _turned_back(pixels, turn.angle, fill))
        out.append((f"{UNTURNED}{turn.angle:+.1f}", back))
    elif _filled_content(pixels) is not None:  # turned perhaps, with a fill the colour of its own edges: no angle
        out += [(f"{IN_CANVAS}{angle:+d}", _turned_within(pixels, -angle, fill)) for angle in DEROTATE_ANGLES]
    return out


def _upright_size(width: int, height: int, angle: float) -> tuple[float, float]:
    """The w x h picture that, turned by `angle` with expand, fills a width x height canvas."""
    c, s = math.cos(math.radians(abs(angle))), math.sin(math.radians(abs(angle)))
    det = c * c - s * s
    return (width * c - height * s) / det, (height * c - width * s) / det


def _middle(pixels: np.ndarray, height: float, width: float) -> np.ndarray:
    y, x = (pixels.shape[0] - height) / 2, (pixels.shape[1] - width) / 2
    return np.ascontiguousarray(pixels[round(y):round(y + height), round(x):round(x + width)])


def _turned_within(pixels: np.ndarray, degrees: float, fill: int) -> np.ndarray:
    """`turned`, cut back to the picture's own canvas (Pillow's rotate without expand)."""
    return _middle(turned(pixels, degrees, fill), *pixels.shape)


def _turned_back(pixels: np.ndarray, angle: float, fill: int) -> np.ndarray:
    height, width = pixels.shape
    w, h = _upright_size(width, height, angle)
    back = turned(pixels, -angle, fill)
    # else not a picture turned by this angle (too narrow): the turned copy stays whole
    return _middle(back, h, w) if w >= 16 and h >= 16 else back


def measured_turn(pixels: np.ndarray) -> Turn | None:
    """How a grey picture was turned with its corners filled, or None when it does not look turned: its four corners
    share one grey level, what differs from it reaches all four sides, and the corners that turn would fill are fill.

    Turned with expand, what is not fill is a turned rectangle: the smallest rectangle around it lies at the angle.
    Turned within its canvas, it is that rectangle with its corners cut off by the canvas, and the cuts' slanted
    edges lie at the angle (the long edges of its convex hull that are not upright or level)."""
    height, width = pixels.shape
    content = _filled_content(pixels)
    if content is None:
        return None
    rows = np.flatnonzero(content.any(axis=1))  # each row's first and last such pixel: the same hull as all of them
    first, last = content[rows].argmax(axis=1), width - 1 - content[rows, ::-1].argmax(axis=1)
    points = np.concatenate([np.stack([first, rows], 1), np.stack([last, rows], 1)]).astype(np.float32)
    angle = -(((cv2.minAreaRect(points)[2] + 45) % 90) - 45)
    w, h = _upright_size(width, height, angle)
    if abs(angle) >= MIN_MEASURED and w >= 16 and h >= 16 and _fits(content, turned(
            np.full((round(h), round(w)), 255, np.uint8), angle, 0)):
        return Turn(float(angle), False)
    hull = cv2.convexHull(points)[:, 0, :]
    sides = np.roll(hull, -1, axis=0) - hull
    length = np.hypot(sides[:, 0], sides[:, 1])
    off_axis = (np.degrees(np.arctan2(sides[:, 1], sides[:, 0])) + 45) % 90 - 45
    slanted = (np.abs(off_axis) > MIN_MEASURED / 2) & (length >= 0.1 * min(width, height))
    if not slanted.any():
        return None
    angle = -float(np.average(off_axis[slanted], weights=length[slanted] ** 2))  # the long edges count most
    if abs(angle) >= MIN_MEASURED and _fits(content, _turned_within(np.full((height, width), 255, np.uint8), angle, 0)):
        return Turn(angle, True)
    return None


def _filled_content(pixels: np.ndarray) -> np.ndarray | None:
    """Where the picture differs from its corners' grey level, when its four corners share one and what differs
    reaches all four sides (as a turned picture's does); else None."""
    fill = int(pixels[0, 0])
    if np.abs(pixels[[0, 0, -1, -1], [0, -1, 0, -1]].astype(np.int64) - fill).max() > BORDER_TOLERANCE:
        return None
    content = cv2.absdiff(pixels, np.full_like(pixels, fill)) > BORDER_TOLERANCE
    edge = 3  # a corner of the turned picture, blended with the fill when shrunk, may stop short of the side
    if not (content[:edge].any() and content[-edge:].any() and content[:, :edge].any() and content[:, -edge:].any()):
        return None
    return content


def _fits(content: np.ndarray, shape: np.ndarray) -> bool:
    """Whether the corners that `shape` (255 where the turned picture lies) leaves are fill in `content`, and the
    turned picture's edge along them is not (a round picture on black has black corners too, but no such edge)."""
    if shape.shape != content.shape:
        shape = cv2.resize(shape, (content.shape[1], content.shape[0]), interpolation=cv2.INTER_AREA)
    outside = (shape < 128).astype(np.uint8)
    corners = cv2.erode(outside, np.ones((5, 5), np.uint8)).astype(bool)  # clear of the edge, which blends
    near, nearest = (cv2.dilate(outside, np.ones((k, k), np.uint8)).astype(bool) for k in (9, 3))
    edge = near & ~nearest  # the turned picture's own edge, a few pixels in from the corners
    return (bool(corners.any()) and (content & corners).sum() <= (1 - FILL_CLEAN) * corners.sum()
            and bool(edge.any()) and (content & edge).sum() >= EDGE_CONTENT * edge.sum())


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
