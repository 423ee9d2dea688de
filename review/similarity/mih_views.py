"""The views the million-work index (`mih`) holds of each work, and the views of a query it asks with.

The exact `numpy` index holds 42 codes a work (every turn, trimmed, twenty-five windows): 1.25 GB at a million works.
`mih` holds two pHash codes a work in two multi-index tables, and the query brings the views that make up for the rest:

- `phash`: the whole picture, asked with every pHash view of the query (as it is, trimmed, turned back) and its
  mirror image;
- `phash_centre`: the work's centre window (70% of each side), asked with the query's centre windows at `ZOOMS` of its
  side. A copy that keeps a share k of each side shows that window as its own centre at 0.70 / k of its side, so one
  code a work finds crops of up to 30% a side. pHash, not PDQ: PDQ within its review distance missed crops shifted
  by 2% of the side (bench), pHash within its warn distance still finds them.

Both are searched within pHash's warn distance. At a million works that meets a crowd of unrelated works (pHash's 64
bits), so what is met is ranked by PDQ too, each work's PDQ codes being held by id (`WholeCodes`, 32 bytes a view):
the whole picture's against the query's PDQ views, the centre window's against the query's PDQ centre windows.

Those whole-picture PDQ codes are also scanned, all of them, with the query's PDQ code as it is and trimmed (`SCAN`),
within PDQ's warn distance: a repaint or a recolouring can be beyond pHash's 14 bits and still near by PDQ's 256
(bench.similarity: repaints met 80% -> 94%; ~1.2 ms a query code at a million works). Of the turned-back views only
the one turned back by the measured angle is scanned (derotate.UNTURNED; a turned picture has no trimmed view, so it
too scans two codes): the eight fixed angles would cost more than the lookup target leaves, and the pHash tables meet
most turns with them. A query with a flat block painted over it scans its filled-in view too
(review.similarity.overlay).
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from review.similarity.derotate import UNTURNED
from review.similarity.hashes import (CENTRE_VIEW, KINDS, MIN_QUALITY, OVERLAY_VIEW, PREPARED_SIDE, Code, Windows, grey,
                                      query_codes)

ZOOM_PREFIX = "zoom"


def is_zoom(code: Code) -> bool:
    return code.view.startswith(ZOOM_PREFIX)


def not_zoom(code: Code) -> bool:
    return not is_zoom(code)


# name: (hash kind, the work's view it holds, which query codes ask it)
TABLES = {"phash": ("phash", "identity", not_zoom), "phash_centre": ("phash", CENTRE_VIEW, is_zoom)}
# the works' PDQ views held by id for the re-rank: view -> which query PDQ codes are compared with it
RERANK = {"identity": not_zoom, CENTRE_VIEW: is_zoom}
# the works' PDQ views scanned whole (whole_codes.WholeCodes.range_search): view -> which query PDQ codes scan it
SCAN = {"identity": lambda code: code.view in ("identity", "trimmed", OVERLAY_VIEW) or code.view.startswith(UNTURNED)}
ZOOMS = tuple(round(0.72 * 1.05 ** i, 3) for i in range(7))  # 0.72 ... 0.965 of the query's side: PDQ and pHash


def query_views(image: Image.Image) -> list[Code]:
    """The query's codes (hashes.query_codes) with what `mih` asks besides: the mirror image and the centre windows,
    all from one grey copy of the picture."""
    windows = Windows(grey(image, PREPARED_SIDE))
    codes, _ = query_codes(image, windows)
    return codes + mirrored_codes(windows) + zoomed_codes(windows) if codes else codes


def mirrored_codes(windows: Windows) -> list[Code]:
    """The query's mirror image as it is: the index holds no mirrored view of the works."""
    flipped = Windows(np.ascontiguousarray(windows.grey[:, ::-1]))
    out = [Code("phash", "mirror", KINDS["phash"].hash_grids(KINDS["phash"].grids(flipped))[0])]
    (code,), (quality,) = KINDS["pdq"].hash_grids(flipped.grid())
    if quality >= MIN_QUALITY:
        out.append(Code("pdq", "mirror", code))
    return out


def zoomed_codes(windows: Windows) -> list[Code]:
    """pHash and PDQ codes of the query's centre windows at ZOOMS of each side (PDQ's kept whatever their quality:
    the work's side of the pair passed MIN_QUALITY when it was registered)."""
    width, height = windows.grey.shape[1], windows.grey.shape[0]
    boxes = []
    for zoom in ZOOMS:
        w, h = max(1, round(width * zoom)), max(1, round(height * zoom))
        left, top = (width - w) // 2, (height - h) // 2
        boxes.append((left, top, left + w, top + h))
    names = [f"{ZOOM_PREFIX}{round(zoom * 100)}" for zoom in ZOOMS]
    phash = KINDS["phash"].hash_grids(KINDS["phash"].grids(windows, boxes))
    pdq, _ = KINDS["pdq"].hash_grids(windows.grids(boxes))
    return [Code("phash", n, c) for n, c in zip(names, phash)] + [Code("pdq", n, c) for n, c in zip(names, pdq)]
