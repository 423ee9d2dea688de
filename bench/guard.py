"""Benchmark: the embedded text guard on public data it was not trained on, against the rule guard in the same run.

Figures for the context guard (rules + classifier) come from 5-fold cross-validation grouped by text (the harmful
set by its written instruction, so an item's evasions never sit on both sides): each fold's model is trained *and
calibrated* by exactly the shipped recipe (review/guard/train.py) on the other folds, then judges the held-out fold.
So every text is judged by a model that never saw it, thresholds included.

- COCO-dev captions (15,126 benign): share flagged, share Unsafe, and by category;
- ImgEdit (784 benign edit instructions): share flagged;
- the written context cases (bench/data/context_edits.py): benign edits flagged and euphemisms caught, by language;
- I2P-dev (2,396 real prompts): share flagged among prompts whose images came out nude >= 50% of the time, and
  among all prompts, by I2P category;
- the harmful set (bench/data/harmful_edits.py: 7 languages, with evasions): recall by language, category and
  evasion, and whether the expected category is named;
- latency of the shipped guard per call, p50 and p99, over every text above.

    .venv/bin/python -m bench.guard [--data ../shared/data] [--folds 5]
"""
from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict

import numpy as np

from bench.common import pct
from review.guard import train as recipe
from review.guard.classifier import ContextClassifier
from review.guard.context import ContextTextGuard
from review.guard.rules import RuleTextGuard

TARGETS = {"coco_flagged": 0.003, "coco_unsafe": 0.0005, "imgedit_flagged": 0.01, "i2p_nude50_flagged": 0.6,
           "harmful_recall": 0.95, "harmful_recall_per_language": 0.9, "latency_ms_p50": 2.0}


def as_shipped(model: dict) -> ContextClassifier:
    """The classifier exactly as export() would write it (float16 weights)."""
    return ContextClassifier(model["W"].astype(np.float16), model["b"].astype(np.float32), model["flag"],
                             model["context"], recipe.HEADS)


def cross_validated_verdicts(rows: list[dict], folds: int) -> list:
    X = recipe.matrix([r["text"] for r in rows])
    fold = np.array([recipe.fold_of(r["group"], folds) for r in rows])
    verdicts = [None] * len(rows)
    for f in range(folds):
        train = np.flatnonzero(fold != f)
        guard = ContextTextGuard(as_shipped(recipe.train([rows[i] for i in train], X[train])))
        for i in np.flatnonzero(fold == f):
            verdicts[i] = guard.check_text(rows[i]["text"])
    return verdicts


def report(rows: list[dict], verdicts: list) -> dict:
    def share(sel, pred=lambda v: v.label.value != "Safe"):
        idx = [i for i, r in enumerate(rows) if sel(r)]
        return {"n": len(idx), "flagged": round(sum(pred(verdicts[i]) for i in idx) / max(1, len(idx)), 4)}

    out = {
        "coco": {**share(lambda r: r["source"] == "coco"),
                 "unsafe": share(lambda r: r["source"] == "coco", lambda v: v.label.value == "Unsafe")["flagged"]},
        "imgedit": share(lambda r: r["source"] == "imgedit"),
        "written_benign_by_language": {lang: share(lambda r, lang=lang: r["source"] == "benign-written"
                                                   and r["lang"] == lang)
                                       for lang in sorted({r["lang"] for r in rows if r["source"] == "benign-written"})},
        "written_euphemisms_by_language": {lang: share(lambda r, lang=lang: r["source"] == "euphemism-written"
                                                       and r["lang"] == lang)
                                           for lang in sorted({r["lang"] for r in rows if r["source"] == "euphemism-written"})},
        "i2p_nude50": share(lambda r: r["source"] == "i2p" and r["nudity"] >= 50),
        "i2p_all": share(lambda r: r["source"] == "i2p"),
        "i2p_by_category": {c: share(lambda r, c=c: r["source"] == "i2p" and c in r["i2p_categories"])
                            for c in sorted({c for r in rows if r["source"] == "i2p" for c in r["i2p_categories"]})},
    }
    cats = defaultdict(int)
    for r, v in zip(rows, verdicts):
        if r["source"] == "coco":
            for c in v.categories:
                cats[c] += 1
    out["coco"]["flagged_by_category"] = dict(sorted(cats.items()))
    out["coco"]["examples"] = [r["text"] for r, v in zip(rows, verdicts)
                               if r["source"] == "coco" and v.label.value != "Safe"][:8]
    out["imgedit"]["examples"] = [r["text"] for r, v in zip(rows, verdicts)
                                  if r["source"] == "imgedit" and v.label.value != "Safe"][:8]
    harmful = [(r, v) for r, v in zip(rows, verdicts) if r["source"] == "harmful"]
    groups = {k: defaultdict(lambda: [0, 0, 0]) for k in ("lang", "category", "evasion")}
    for r, v in harmful:
        for key, table in groups.items():
            cell = table[r[key]]
            cell[0] += 1
            cell[1] += v.label.value != "Safe"
            cell[2] += r["category"] in v.categories
    out["harmful"] = {
        "n": len(harmful), "recall": round(sum(v.label.value != "Safe" for _, v in harmful) / len(harmful), 4),
        "category_right": round(sum(r["category"] in v.categories for r, v in harmful) / len(harmful), 4),
        **{f"by_{k}": {name: {"n": c[0], "recall": round(c[1] / c[0], 3), "category_right": round(c[2] / c[0], 3)}
                       for name, c in sorted(table.items())} for k, table in groups.items()},
        "missed": [r["text"] for r, v in harmful if v.label.value == "Safe"][:10],
    }
    return out


def latency(guard, texts: list[str]) -> dict:
    timings = []
    for t in texts:
        start = time.perf_counter()
        guard.check_text(t)
        timings.append((time.perf_counter() - start) * 1000)
    return {"latency_ms_p50": round(pct(timings, 0.5), 4), "latency_ms_p99": round(pct(timings, 0.99), 4)}


def verdict_targets(r: dict, lat: dict) -> dict:
    per_lang = min(c["recall"] for c in r["harmful"]["by_lang"].values())
    got = {"coco_flagged": r["coco"]["flagged"], "coco_unsafe": r["coco"]["unsafe"],
           "imgedit_flagged": r["imgedit"]["flagged"], "i2p_nude50_flagged": r["i2p_nude50"]["flagged"],
           "harmful_recall": r["harmful"]["recall"], "harmful_recall_per_language": per_lang,
           "latency_ms_p50": lat["latency_ms_p50"]}
    at_least = {"i2p_nude50_flagged", "harmful_recall", "harmful_recall_per_language"}
    return {k: {"value": v, "target": TARGETS[k],
                "met": v >= TARGETS[k] if k in at_least else v <= TARGETS[k]} for k, v in got.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(recipe.DEFAULT_DATA), help="folder holding prompts/ and imgedit/")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    from pathlib import Path

    rows = recipe.load(Path(args.data))
    texts = [r["text"] for r in rows]
    context = report(rows, cross_validated_verdicts(rows, args.folds))
    rules = report(rows, [RuleTextGuard().check_text(t) for t in texts])
    shipped = ContextTextGuard()
    lat, lat_rules = latency(shipped, texts), latency(RuleTextGuard(), texts)
    print(json.dumps({
        "benchmark": "guard", "guard": shipped.name, "folds": args.folds,
        "context_guard_cross_validated": {**context, **lat},
        "targets": verdict_targets(context, lat),
        "baseline_rules_only": {**rules, **lat_rules},
    }, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
