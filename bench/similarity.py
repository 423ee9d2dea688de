"""Benchmark: how well the reference library finds altered copies, and how fast it hashes and searches.

Registered set: offline photos (scikit-image and scikit-learn samples). Queries: each registered photo under one
transformation family at several strengths (JPEG, resize, crop, pad, rotate, mirror, brightness/contrast/hue,
greyscale, text banner, partial repaint, the classic editor's operations). Distractors: every other photo under the
same transformations. For each hash configuration the threshold is the largest distance that keeps false positives
(a distractor within the threshold of a registered photo it is not) at or below 0.1%; recall is then reported per
family. Configurations: pHash of the picture only (the baseline), and pHash with the 8 rotations/mirrors registered
(what `review/similarity.py` does today).

    .venv/bin/python -m bench.similarity
"""
from __future__ import annotations

import io
import json
import time

import imagehash
import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageOps

from bench.common import pct
from review.similarity import dihedral_hashes, phash

PHOTOS = ["astronaut", "coffee", "chelsea", "rocket", "camera", "hubble_deep_field", "immunohistochemistry", "retina",
          "horse", "moon", "coins", "brick", "grass", "gravel", "clock", "cell", "page", "text", "colorwheel"]


def photos() -> dict[str, Image.Image]:
    from skimage import data
    from sklearn.datasets import load_sample_images

    out = {n: Image.fromarray(getattr(data, n)()).convert("RGB") for n in PHOTOS}
    for i, a in enumerate(load_sample_images().images):
        out[f"sklearn{i}"] = Image.fromarray(a)
    return out


def jpeg(im, q):
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=q)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def crop(im, frac):
    w, h = im.size
    dx, dy = int(w * frac / 2), int(h * frac / 2)
    return im.crop((dx, dy, w - dx, h - dy))


def pad(im, frac):
    w, h = im.size
    return ImageOps.expand(im, border=(int(w * frac), int(h * frac)), fill=(255, 255, 255))


def banner(im, _):
    im = im.copy()
    d = ImageDraw.Draw(im)
    d.rectangle((0, im.height * 0.85, im.width, im.height), fill=(0, 0, 0))
    d.text((10, im.height * 0.88), "SALE 50% OFF", fill=(255, 255, 255))
    return im


def repaint(im, frac):
    a = np.asarray(im).copy()
    h, w = a.shape[:2]
    a[: int(h * frac), : int(w * 0.9)] = (40, 160, 90)
    return Image.fromarray(a)


def hue(im, shift):
    hsv = np.asarray(im.convert("HSV")).copy()
    hsv[..., 0] = (hsv[..., 0].astype(int) + shift) % 256
    return Image.fromarray(hsv, "HSV").convert("RGB")


FAMILIES = {
    "jpeg q30-90": [lambda im, q=q: jpeg(im, q) for q in (30, 60, 90)],
    "resize 0.3-2x": [lambda im, s=s: im.resize((max(8, int(im.width * s)), max(8, int(im.height * s)))) for s in (0.3, 0.6, 2.0)],
    "crop 5-30%": [lambda im, f=f: crop(im, f) for f in (0.05, 0.15, 0.3)],
    "pad 10-25%": [lambda im, f=f: pad(im, f) for f in (0.1, 0.25)],
    "rotate 3-15deg": [lambda im, a=a: im.rotate(a, expand=True, fillcolor=(255, 255, 255)) for a in (3, -8, 15)],
    "mirror": [ImageOps.mirror],
    "brightness/contrast/hue": [lambda im: ImageEnhance.Brightness(im).enhance(1.3),
                                lambda im: ImageEnhance.Contrast(im).enhance(0.7), lambda im: hue(im, 25)],
    "greyscale": [lambda im: ImageOps.grayscale(im).convert("RGB")],
    "text banner": [lambda im: banner(im, 0)],
    "repaint 20-40%": [lambda im, f=f: repaint(im, f) for f in (0.2, 0.4)],
}


def main() -> None:
    pics = photos()
    names = list(pics)
    base = {n: phash(im) for n, im in pics.items()}
    dihedral = {n: dihedral_hashes(im) for n, im in pics.items()}
    configs = {"phash": lambda n: [base[n]], "phash+dihedral (current)": lambda n: dihedral[n]}
    queries = []  # (family, source name, hash)
    for family, fns in FAMILIES.items():
        for n in names:
            for fn in fns:
                queries.append((family, n, phash(fn(pics[n]))))
    results = {}
    for cname, codes_of in configs.items():
        refs = [(n, c) for n in names for c in codes_of(n)]
        true_d, false_d = [], []
        for family, n, q in queries:
            for ref_name, code in refs:
                d = bin(q ^ code).count("1")
                (true_d if ref_name == n else false_d).append((family, d))
        false_all = sorted(d for _, d in false_d)
        threshold = max([t for t in range(0, 33) if sum(d <= t for d in false_all) / len(false_all) <= 0.001] or [0])
        best = {}
        for family, n, q in queries:
            dmin = min(bin(q ^ code).count("1") for code in codes_of(n))
            best.setdefault(family, []).append(dmin <= threshold)
        results[cname] = {"threshold_bits": threshold,
                          "recall": {f: round(sum(v) / len(v), 3) for f, v in best.items()}}
    big = pics["astronaut"].resize((1024, 1024))
    t = []
    for _ in range(20):
        s = time.perf_counter()
        phash(big)
        t.append((time.perf_counter() - s) * 1000)
    codes = np.random.default_rng(0).integers(0, 2**63, size=1_000_000, dtype=np.uint64)
    look = []
    for _ in range(20):
        s = time.perf_counter()
        np.nonzero(np.bitwise_count(codes ^ np.uint64(12345)) <= 14)
        look.append((time.perf_counter() - s) * 1000)
    print(json.dumps({
        "benchmark": "similarity", "registered": len(names), "queries": len(queries),
        "false_positive_budget": 0.001, "configurations": results,
        "hash_ms_1024_p50": round(pct(t, 0.5), 2),
        "lookup_ms_p50_at_1M_codes": round(pct(look, 0.5), 2), "bytes_per_code": 8,
    }, indent=2))


if __name__ == "__main__":
    main()
