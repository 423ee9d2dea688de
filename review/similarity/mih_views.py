"""The views the million-work index (`mih`) holds of each work, and the views of a query it asks with.

The exact `numpy` index holds 41 codes a work (every turn, trimmed, twenty-five windows): 1.25 GB at a million works.
`mih` holds two a work, and the query brings the views that make up for the rest:

- pHash of the whole picture: asked with every pHash view of the query (as it is, trimmed, turned back) and its
  mirror image, within pHash's warn distance;
- PDQ of the work's centre window (`ZOOM_TARGET`, 70% of each side): asked with the query's centre windows at
  `ZOOMS`. A copy that keeps a share k of each side shows that window as its own centre at 0.70 / k of its side, so
  one code a work finds centred crops of up to 30% a side, where the whole picture's code meets none (a crop moves
  every PDQ coefficient). The steps are 5% apart: PDQ tolerates a window a few percent off, and 6% apart found fewer
  (bench.similarity).

The whole picture's PDQ code is still held by id (`WholeCodes`), to re-rank what the index met with every other PDQ
view of the query. In bench.similarity the whole-picture PDQ code added two finds (of 1,085 altered copies) to what
pHash found; the centre window added 30 of 105 centred crops.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from review.similarity.hashes import KINDS, MIN_QUALITY, PREPARED_SIDE, Code, Windows, grey

HELD = {"pdq": ("centre70",), "phash": ("identity",)}  # the views of each work the index holds, by hash kind
ZOOM_TARGET, ZOOM_TARGET_SCALE = "centre70", 0.70
ZOOMS = tuple(round(0.72 * 1.05 ** i, 3) for i in range(7))  # 0.72 ... 0.965 of the query's side
ZOOM_PREFIX = "zoom"


def held(kind: str, view: str) -> bool:
    return view in HELD.get(kind, ())


def asks(code: Code) -> bool:
    """Whether the index is asked with this query code: every pHash view, PDQ's centre windows only (the other PDQ
    views re-rank what was met, against each work's whole-picture code)."""
    return code.kind != "pdq" or is_zoom(code)


def is_zoom(code: Code) -> bool:
    return code.view.startswith(ZOOM_PREFIX)


def query_views(image: Image.Image, codes: list[Code]) -> list[Code]:
    """The query's codes (hashes.query_codes) with what `mih` asks besides: the mirror image and the centre windows."""
    if not codes:
        return codes
    windows = Windows(grey(image, PREPARED_SIDE))
    return codes + mirrored_codes(windows) + zoomed_codes(windows)


def mirrored_codes(windows: Windows) -> list[Code]:
    """The query's mirror image as it is: the index holds no mirrored view of the works."""
    flipped = Windows(np.ascontiguousarray(windows.grey[:, ::-1]))
    out = [Code("phash", "mirror", KINDS["phash"].hash_grids(KINDS["phash"].grids(flipped))[0])]
    (code,), (quality,) = KINDS["pdq"].hash_grids(flipped.grid())
    if quality >= MIN_QUALITY:
        out.append(Code("pdq", "mirror", code))
    return out


def zoomed_codes(windows: Windows) -> list[Code]:
    """PDQ codes of the query's centre windows at ZOOMS of each side (kept whatever their quality: the work's side of
    the pair passed MIN_QUALITY when it was registered)."""
    width, height = windows.grey.shape[1], windows.grey.shape[0]
    boxes = []
    for zoom in ZOOMS:
        w, h = max(1, round(width * zoom)), max(1, round(height * zoom))
        left, top = (width - w) // 2, (height - h) // 2
        boxes.append((left, top, left + w, top + h))
    codes, _ = KINDS["pdq"].hash_grids(windows.grids(boxes))
    return [Code("pdq", f"{ZOOM_PREFIX}{round(zoom * 100)}", c) for zoom, c in zip(ZOOMS, codes)]
