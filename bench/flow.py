"""Benchmark: the non-model overhead of one moderated edit of a 1024x1024 photo.

Overhead = the whole gate (validation, text guard, hashing, similarity, policy, persistence) = total time minus the
editor's own time minus the image guard's model time; both of those are reported beside it. The baseline, measured
in the same run, is the same edit with no gate at all (decode, edit, encode to PNG on disk with the store's own
encoder): `gated_vs_bare` is the ratio of medians, `gated_minus_bare_ms_median` the whole price of the gate as a
user meets it (the image checks' model time included).

    .venv/bin/python -m bench.flow [--runs 30]

It runs the default store (PNG, deflate level 1) and, for comparison, level 0 (faster, ~3x bigger files), and both a
PNG and a JPEG upload (decoding the upload is part of the overhead). One configuration turns the provenance
labels off (no watermark, no C2PA signature; the XMP label stays), so their cost shows beside the default. The last
two turn the image checks off (IMAGE_GUARD=none) with every label on: with no model time to subtract,
`gated_minus_bare_ms_median` is then the gate's own overhead, measured directly. (With the checks on, subtracting
their time from the total under-counts what runs beside them on two cores, so both readings are printed.)
The editor's time does not include decoding the upload, which the bare edit does too: `upload_decode_ms_median` (timed
in the bare edit) and `overhead_beyond_decoding_ms_median` (the overhead less it, run by run) say how much of the
overhead that is (a 1 MP PNG takes ~35 ms to decode, a JPEG ~8). Beside wall-clock figures it prints CPU time (all threads of the process) per gated and per bare edit: on a machine
shared with other work the wall clock mostly measures the neighbours, the CPU time what the gate itself costs.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image

from bench.common import pct

INSTRUCTION = "白黒にして少しぼかして"


class TimedImageGuard:
    def __init__(self, inner):
        self.inner, self.name, self.last_ms = inner, inner.name, 0.0

    def check_image(self, image):
        t = time.perf_counter()
        try:
            return self.inner.check_image(image)
        finally:
            self.last_ms = (time.perf_counter() - t) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-flow-"))
    os.environ.update(EDITGUARD_DATA_DIR=str(tmp / "data"), EDITGUARD_SECRET="bench")
    os.environ.pop("DATABASE_URL", None)

    from skimage import data

    from db import png
    from editor.base import EditRequest
    from review.pipeline.image_input import load_image
    from review.pipeline.flow import run_edit
    from review.pipeline.submission import Submission
    from review.pipeline.runtime import Runtime

    photo = Image.fromarray(data.chelsea()).resize((1024, 1024), Image.Resampling.LANCZOS)
    uploads = {"png": tmp / "photo-1024.png", "jpeg": tmp / "photo-1024.jpg"}
    photo.save(uploads["png"])
    photo.save(uploads["jpeg"], quality=90)

    def measure(level: int, upload: Path, provenance: bool = True, image_checks: bool = True) -> dict:
        os.environ["EDITGUARD_PNG_COMPRESSION"] = str(level)
        os.environ["IMAGE_GUARD"] = "auto" if image_checks else "none"
        os.environ["EDITGUARD_C2PA"] = os.environ["EDITGUARD_WATERMARK"] = "1" if provenance else "0"
        os.environ["EDITGUARD_DATA_DIR"] = str(tmp / f"data-{level}-{upload.suffix[1:]}-{int(provenance)}-{int(image_checks)}")
        rt = Runtime.start()
        rt.image_guard = TimedImageGuard(rt.image_guard) if rt.image_guard else None

        sizes = []

        cpu = {"gated": [], "bare": []}

        def gated():
            t, c = time.perf_counter(), time.process_time()
            rec = run_edit(rt, Submission(image=upload, instruction=INSTRUCTION, seed=1))
            total = (time.perf_counter() - t) * 1000
            cpu["gated"].append((time.process_time() - c) * 1000)
            assert rec["decision"] == "released", rec["decision"]
            sizes.append(os.path.getsize(rec["outputs"][0]))
            return total, rec["edit_ms"], rt.image_guard.last_ms if rt.image_guard else 0.0

        def bare():  # the baseline: the same edit with no gate (decode, edit, write a PNG with the store's encoder)
            t, c = time.perf_counter(), time.process_time()
            image = load_image(upload)
            decoded = time.perf_counter()
            out = rt.editor.edit(EditRequest(image=image, instruction=INSTRUCTION)).images[0]
            (tmp / "bare.png").write_bytes(png.encode(out, level))
            cpu["bare"].append((time.process_time() - c) * 1000)
            return (time.perf_counter() - t) * 1000, (decoded - t) * 1000

        for _ in range(3):  # warm-up: imports, caches, SQLite pages
            gated(), bare()
        cpu["gated"].clear(), cpu["bare"].clear()
        totals, edits, guards, overheads, bares, decodes = [], [], [], [], [], []
        for _ in range(args.runs):
            total, edit_ms, guard_ms = gated()
            totals.append(total), edits.append(edit_ms), guards.append(guard_ms)
            overheads.append(total - edit_ms - guard_ms)
            bare_ms, decode_ms = bare()
            bares.append(bare_ms), decodes.append(decode_ms)
        return {
            "upload": upload.suffix[1:], "png_compression": level, "provenance": rt.labeller.status(),
            "image_checks": rt.image_guard.name if rt.image_guard else "none",
            "overhead_ms_median": round(statistics.median(overheads), 2),
            "overhead_ms_p95": round(pct(overheads, 0.95), 2),
            "upload_decode_ms_median": round(statistics.median(decodes), 2),
            "overhead_beyond_decoding_ms_median": round(statistics.median(o - d for o, d in zip(overheads, decodes)), 2),
            "classic_edit_ms_median": round(statistics.median(edits), 2),
            "image_guard_ms_median": round(statistics.median(guards), 2),
            "total_ms_median": round(statistics.median(totals), 2),
            "baseline_bare_edit_ms_median": round(statistics.median(bares), 2),
            "gated_vs_bare": round(statistics.median(totals) / statistics.median(bares), 2),
            "gated_minus_bare_ms_median": round(statistics.median(totals) - statistics.median(bares), 1),
            "cpu_ms_gated_median": round(statistics.median(cpu["gated"]), 1),
            "cpu_ms_bare_median": round(statistics.median(cpu["bare"]), 1),
            "cpu_gated_vs_bare": round(statistics.median(cpu["gated"]) / statistics.median(cpu["bare"]), 2),
            "stored_output_mb": round(sizes[-1] / 1e6, 2),
        }

    results = [measure(level, upload) for level in (1, 0) for upload in uploads.values()]
    results.append(measure(1, uploads["jpeg"], provenance=False))
    # the gate's own work with no model time in it at all: gated minus bare is then the overhead, nothing subtracted
    results += [measure(1, upload, image_checks=False) for upload in uploads.values()]
    print(json.dumps({
        "benchmark": "flow",
        "image": "1024x1024 photo (skimage chelsea, resized), instruction " + INSTRUCTION,
        "runs_each": args.runs,
        "image_guard": "nudenet",
        "target_overhead_ms_median": 50,
        "load_average_1min": round(os.getloadavg()[0], 1),
        "results": results,
    }, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
