"""Benchmark: OpenCV's two QR detectors on codes pasted into photos, at the sizes the QR check could scale to.

120 codes (four texts, 50-320 px on a 1024² photo, turned 0-30°, every third picture re-compressed as JPEG q70) on
four scikit-image photos; prints how many each detector reads and its time per picture, and the time on a picture
with no code in it (what nearly every edit pays). The classic `QRCodeDetector` is the baseline in the same run.

    .venv/bin/python -m bench.qr
"""
from __future__ import annotations

import io
import json
import time

import cv2
import numpy as np
from PIL import Image
from skimage import data

TEXTS = ["call me at 090-1234-5678", "https://example.com/a/b?c=1", "東京都千代田区1-2-3", "hello world 12345 " * 3]


def cases(n: int = 120, seed: int = 3) -> list[tuple[str, int, np.ndarray]]:
    rng = np.random.default_rng(seed)
    backgrounds = [Image.fromarray(getattr(data, name)()).convert("RGB").resize((1024, 1024))
                   for name in ("chelsea", "astronaut", "coffee", "rocket")]
    encoder = cv2.QRCodeEncoder.create()
    out = []
    for k in range(n):
        text = TEXTS[k % len(TEXTS)]
        side = int(rng.integers(50, 320))
        code = Image.fromarray(encoder.encode(text)).resize((side, side), Image.NEAREST).convert("RGB")
        code = code.rotate(float(rng.choice([0, 0, 5, 15, 30])), expand=True, fillcolor=(255, 255, 255))
        canvas = backgrounds[k % len(backgrounds)].copy()
        canvas.paste(code, (int(rng.integers(0, 1024 - code.width)), int(rng.integers(0, 1024 - code.height))))
        if k % 3 == 0:
            buf = io.BytesIO()
            canvas.save(buf, "JPEG", quality=70)
            canvas = Image.open(buf).convert("RGB")
        out.append((text, side, np.asarray(canvas)))
    return out


def grey(rgb: np.ndarray, max_side: int) -> np.ndarray:
    g = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    scale = max_side / max(g.shape)
    return cv2.resize(g, (round(g.shape[1] * scale), round(g.shape[0] * scale)), interpolation=cv2.INTER_AREA) \
        if scale < 1 else g


def main() -> None:
    pictures = cases()
    plain = np.asarray(Image.fromarray(data.chelsea()).resize((1024, 1024)))
    rows = []
    for name, make in (("QRCodeDetector (baseline)", cv2.QRCodeDetector), ("QRCodeDetectorAruco", cv2.QRCodeDetectorAruco)):
        detector = make()
        for side in (800, 1024):
            read = small = small_read = 0
            spent = 0.0
            for text, code_side, rgb in pictures:
                g = grey(rgb, side)
                t = time.perf_counter()
                ok, found, _, _ = detector.detectAndDecodeMulti(g)
                spent += time.perf_counter() - t
                hit = bool(ok) and text in found
                read += hit
                if code_side < 120:
                    small, small_read = small + 1, small_read + hit
            g = grey(plain, side)
            times = []
            for _ in range(11):
                t = time.perf_counter()
                detector.detectAndDecodeMulti(g)
                times.append((time.perf_counter() - t) * 1000)
            rows.append({"detector": name, "max_side": side, "read": f"{read}/{len(pictures)}",
                         "read_codes_under_120px": f"{small_read}/{small}",
                         "ms_per_picture_with_a_code": round(spent / len(pictures) * 1000, 1),
                         "ms_no_code_median": round(sorted(times)[5], 1)})
    print(json.dumps({"benchmark": "qr", "pictures": len(pictures), "results": rows}, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
