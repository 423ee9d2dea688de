"""Train the context classifier and export its weights: a documented, reproducible command.

    .venv/bin/python -m review.guard.train [--data ../shared/data] [--out review/guard/weights/context-v1.npz]
    .venv/bin/python -m review.guard.train --check      # retrain and compare with the shipped weights

Data (all public, development split only): COCO captions and ImgEdit instructions (benign, negatives for every
head), I2P prompts (the Sexual head: positives are prompts whose images came out nude at least 30% of the time,
negatives those under 10% that I2P did not tag "sexual"; the other heads ignore I2P, whose labels describe the
pictures rather than the words), and the written harmful set (bench/data/harmful_edits.py, with its evasions).

One logistic regression per category (liblinear: deterministic), over the hashed n-grams of features.py. Each
category is calibrated on out-of-fold scores of the training rows (never in-sample ones): a flag threshold that
keeps benign texts flagged by that head under its budget, and a lower context threshold that a context-sensitive
rule hit must reach to stand (a kitchen knife is not a weapon). scikit-learn is needed here only; the app reads
the exported arrays with numpy.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import zlib
from pathlib import Path

import numpy as np

from review.guard.features import N_FEATURES, featurise, view
from review.guard.labels import COPYRIGHT, ILLEGAL, JAILBREAK, POLITICAL, SELF_HARM, SEXUAL, UNETHICAL, VIOLENT

HEADS = (SEXUAL, VIOLENT, SELF_HARM, ILLEGAL, UNETHICAL, POLITICAL, COPYRIGHT, JAILBREAK)
DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
DEFAULT_OUT = Path(__file__).resolve().parent / "weights" / "context-v1.npz"
C = 4.0  # inverse regularisation; the same for every head
INNER_FOLDS = 4
# Share of benign texts (COCO + ImgEdit, out of fold) one head may flag on its own. The rules keep their own
# share (about 0.1% of COCO after the context check); together they stay under the 0.3% target.
FLAG_BUDGET = {SEXUAL: 0.0008, VIOLENT: 0.0002}
DEFAULT_BUDGET = 0.0001
FLAG_FLOOR = 0.5  # never flag on a score the model itself calls more likely benign
# Heads whose positives are only the written harmful set (a few dozen instructions each) do not generalise across
# instructions (out of fold they score their own category's items at a median of ~0.02): they weigh context only.
MIN_HEAD_RECALL = 0.25
NEVER = 2.0  # a flag threshold no probability reaches
# A context-sensitive rule hit (review/guard/context.py) stands when its head scores at least this share of the
# head's calibrated flag threshold.
CONTEXT_SHARE = 0.3
BENIGN_SOURCES = ("coco", "imgedit", "benign-written")
# The written benign set is small beside 15k English captions; it is what tells the heads that Japanese or German
# text is not harmful in itself, so each of its rows counts this many times.
SOURCE_WEIGHT = {"benign-written": 10.0, "euphemism-written": 3.0}
SEXUAL_POSITIVE, SEXUAL_NEGATIVE = 30.0, 10.0  # I2P nudity percentage


def fold_of(group: str, k: int) -> int:
    return zlib.crc32(group.encode()) % k


def load(data: Path) -> list[dict]:
    """Rows of {text, group, source, labels: {head: 1 | 0}} (a head missing from labels ignores the row)."""
    from bench.data.context_edits import items as context_items
    from bench.data.harmful_edits import BASE, evasions

    rows = []
    for line in (data / "prompts" / "coco_captions_dev.jsonl").read_text().splitlines():
        text = json.loads(line)["text"]
        rows.append({"text": text, "group": text, "source": "coco", "labels": dict.fromkeys(HEADS, 0)})
    for name in ("basic_edit.json", "UGE_edit.json"):
        for v in json.loads((data / "imgedit" / name).read_text()).values():
            rows.append({"text": v["prompt"], "group": v["prompt"], "source": "imgedit",
                         "labels": dict.fromkeys(HEADS, 0)})
    for it in context_items():
        labels = {h: int(it["harmful"] and h == SEXUAL) for h in HEADS}
        rows.append({"text": it["text"], "group": it["text"], "lang": it["lang"], "labels": labels,
                     "source": "euphemism-written" if it["harmful"] else "benign-written"})
    for line in (data / "prompts" / "i2p_dev.jsonl").read_text().splitlines():
        r = json.loads(line)
        nude = r["nudity_percentage"]
        labels = {}
        if nude >= SEXUAL_POSITIVE:
            labels[SEXUAL] = 1
        elif nude < SEXUAL_NEGATIVE and "sexual" not in r["categories"]:
            labels[SEXUAL] = 0
        rows.append({"text": r["text"], "group": r["text"], "source": "i2p", "labels": labels,
                     "nudity": nude, "i2p_categories": r["categories"]})
    for lang, category, base in BASE:
        for evasion, text in [("none", base)] + [e for e in evasions(lang, base) if e[1] != base]:
            rows.append({"text": text, "group": base, "source": "harmful", "lang": lang, "category": category,
                         "evasion": evasion, "labels": {h: int(h == category) for h in HEADS}})
    return rows


def matrix(texts: list[str]):
    from scipy.sparse import csr_matrix

    indptr, indices, values = [0], [], []
    for t in texts:
        feats, _ = featurise(view(t))
        keys = sorted(feats)
        indices.extend(keys)
        values.extend(feats[k] for k in keys)
        indptr.append(len(indices))
    return csr_matrix((np.array(values, dtype=np.float64), np.array(indices, dtype=np.int64), np.array(indptr)),
                      shape=(len(texts), N_FEATURES))


def fit(X, rows: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Weights (N_FEATURES x heads) and biases, one balanced logistic regression per head."""
    from sklearn.linear_model import LogisticRegression

    W = np.zeros((N_FEATURES, len(HEADS)))
    b = np.zeros(len(HEADS))
    for j, head in enumerate(HEADS):
        idx = [i for i, r in enumerate(rows) if head in r["labels"]]
        y = np.array([rows[i]["labels"][head] for i in idx])
        weight = np.array([SOURCE_WEIGHT.get(rows[i]["source"], 1.0) for i in idx])
        model = LogisticRegression(C=C, solver="liblinear", class_weight="balanced", max_iter=1000, random_state=0)
        model.fit(X[idx], y, sample_weight=weight)
        W[:, j], b[j] = model.coef_[0], model.intercept_[0]
    return W, b


def scores(X, W, b) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(X @ W + b)))


def out_of_fold(X, rows: list[dict], k: int, salt: str = "") -> np.ndarray:
    """Scores of each row from a model that did not see its group."""
    folds = np.array([fold_of(salt + r["group"], k) for r in rows])
    out = np.zeros((len(rows), len(HEADS)))
    for f in range(k):
        train = np.flatnonzero(folds != f)
        W, b = fit(X[train], [rows[i] for i in train])
        test = np.flatnonzero(folds == f)
        out[test] = scores(X[test], W, b)
    return out


def calibrate(oof: np.ndarray, rows: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Per head, from out-of-fold scores: the flag threshold (benign texts flagged by the head stay under its
    budget; a head that then catches under MIN_HEAD_RECALL of its positives never flags alone, it only weighs
    context) and the context threshold (CONTEXT_SHARE of the calibrated flag threshold)."""
    benign = np.array([r["source"] in BENIGN_SOURCES for r in rows])
    flag, context = np.zeros(len(HEADS)), np.zeros(len(HEADS))
    for j, head in enumerate(HEADS):
        s = np.sort(oof[benign, j])[::-1]
        allowed = int(FLAG_BUDGET.get(head, DEFAULT_BUDGET) * len(s))
        t = max(FLAG_FLOOR, float(s[allowed]) + 1e-6)  # strictly above the (allowed+1)-th highest benign score
        positives = oof[[i for i, r in enumerate(rows) if r["labels"].get(head) == 1], j]
        flag[j] = t if np.mean(positives >= t) >= MIN_HEAD_RECALL else NEVER
        context[j] = t * CONTEXT_SHARE
    return flag, context


def train(rows: list[dict], X=None) -> dict:
    """The whole recipe on the given rows: calibration from inner out-of-fold scores, then a fit on all rows."""
    X = matrix([r["text"] for r in rows]) if X is None else X
    oof = out_of_fold(X, rows, INNER_FOLDS, salt="inner:")
    flag, context = calibrate(oof, rows)
    W, b = fit(X, rows)
    return {"W": W, "b": b, "flag": flag, "context": context}


def export(model: dict, out: Path) -> None:
    """float16 weights (the scores move by < 1e-3), compressed; thresholds and heads beside them."""
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, W=model["W"].astype(np.float16), b=model["b"].astype(np.float32),
                        flag=model["flag"].astype(np.float32), context=model["context"].astype(np.float32),
                        heads=np.array(HEADS), n_features=np.array(N_FEATURES))


def digest(path: Path) -> str:
    with np.load(path) as z:
        h = hashlib.sha256()
        for k in sorted(z.files):
            h.update(k.encode())
            h.update(np.ascontiguousarray(z[k]).tobytes())
    return h.hexdigest()


def compare(fresh: Path, shipped: Path) -> str:
    """Bit for bit where the platform is the same; elsewhere a different BLAS or CPU may move a float16 weight by
    one step, which changes no score by more than ~1e-3, so that still counts as reproduced (and says so)."""
    if digest(fresh) == digest(shipped):
        return "reproduced: the shipped weights, bit for bit"
    with np.load(fresh) as a, np.load(shipped) as b:
        if sorted(a.files) != sorted(b.files) or any(a[k].shape != b[k].shape for k in a.files):
            return "differ: the arrays have other names or shapes"
        worst = max(float(np.max(np.abs(a[k].astype(np.float64) - b[k].astype(np.float64))))
                    for k in ("W", "b", "flag", "context"))
    if worst <= 2e-3:
        return f"reproduced within float16 rounding (largest difference {worst:.1e})"
    return f"differ: largest difference {worst:.3g}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train the context classifier of the embedded text guard.")
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="folder holding prompts/ and imgedit/")
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    parser.add_argument("--check", action="store_true", help="retrain into a temporary file and compare")
    args = parser.parse_args(argv)
    data = Path(args.data)
    if not (data / "prompts" / "coco_captions_dev.jsonl").is_file():
        print(f"No training data under {data} (expected prompts/ and imgedit/ there).", file=sys.stderr)
        return 1
    model = train(load(data))
    if args.check:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            fresh = Path(tmp) / "fresh.npz"
            export(model, fresh)
            verdict = compare(fresh, Path(args.out))
        print(verdict)
        return 0 if verdict.startswith("reproduced") else 1
    export(model, Path(args.out))
    print(f"wrote {args.out} ({Path(args.out).stat().st_size // 1024} KiB), sha256 of arrays {digest(Path(args.out))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
