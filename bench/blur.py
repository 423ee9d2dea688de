"""How much of a pending picture its blurred preview gives away, at every size, against the previous blur.

A pending result reaches its requester only blurred (ui/render.py `blurred`). "Recognisable" is measured as local
structure: ORB keypoints (OpenCV) found in the preview when it is shown 512 pixels wide, the size a page shows it,
and the number of independent cells across the picture. The baseline, in the same run, is the previous blur (1/8
downscale, Gaussian sigma 3, drawn at full size), whose detail grew with the picture's size.

    .venv/bin/python -m bench.blur
"""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageFilter

from ui.render import PENDING_BLUR_CELLS, blurred

SIZES = (512, 1024, 2000, 4000)
PHOTOS = ("astronaut", "chelsea", "coffee")


def previous_blur(path: str) -> Image.Image:
    with Image.open(path) as im:
        im = im.convert("RGB")
        small = im.resize((max(8, im.width // 8), max(8, im.height // 8)), Image.Resampling.BILINEAR)
        return small.filter(ImageFilter.GaussianBlur(3)).resize(im.size, Image.Resampling.BILINEAR)


def keypoints(im: Image.Image) -> int:
    shown = im.convert("RGB").resize((512, round(512 * im.height / im.width)), Image.Resampling.BOX)
    return len(cv2.ORB_create(5000).detect(cv2.cvtColor(np.asarray(shown), cv2.COLOR_RGB2GRAY), None))


def main() -> None:
    from skimage import data

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in PHOTOS:
            photo = Image.fromarray(getattr(data, name)()).convert("RGB")
            for size in SIZES:
                path = str(Path(tmp) / f"{name}-{size}.png")
                photo.resize((size, round(size * photo.height / photo.width))).save(path, compress_level=1)
                started = time.perf_counter()
                now = blurred(path)
                ms = (time.perf_counter() - started) * 1000
                rows.append({"photo": name, "size": size, "original": keypoints(Image.open(path)),
                             "previous": keypoints(previous_blur(path)), "now": keypoints(now),
                             "cells_previous": size // 8, "cells_now": PENDING_BLUR_CELLS, "blur_ms": round(ms, 1)})
    print(json.dumps({"rows": rows, "max_keypoints": {
        "previous": max(r["previous"] for r in rows), "now": max(r["now"] for r in rows)}}, indent=1))


if __name__ == "__main__":
    main()
