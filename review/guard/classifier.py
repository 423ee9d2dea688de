"""The context classifier at inference: shipped weights read with numpy (no scikit-learn in the app)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from review.guard.features import N_FEATURES, featurise, view, words

LONG_WORD = 16  # characters: a longer run of unspaced script is shown by its strongest n-gram
WEIGHTS = Path(__file__).resolve().parent / "weights" / "context-v1.npz"


@dataclass(frozen=True)
class Reading:
    """What the classifier read in one text: a probability per head, and the words that pushed each head up."""

    clear: str
    scores: dict[str, float]
    spans: dict[str, tuple[str, ...]]


class ContextClassifier:
    """One logistic regression per category over hashed n-grams, with its calibrated thresholds."""

    def __init__(self, W: np.ndarray, b: np.ndarray, flag: np.ndarray, context: np.ndarray, heads: tuple[str, ...]):
        if W.shape != (N_FEATURES, len(heads)):
            raise ValueError(f"context weights have shape {W.shape}, expected {(N_FEATURES, len(heads))}")
        self.W = np.asarray(W, dtype=np.float32)
        self.b = np.asarray(b, dtype=np.float32)
        self.heads = tuple(heads)
        self.flag = dict(zip(self.heads, map(float, flag)))
        self.context = dict(zip(self.heads, map(float, context)))

    @classmethod
    def load(cls, path: Path = WEIGHTS) -> ContextClassifier:
        with np.load(path) as z:
            if int(z["n_features"]) != N_FEATURES:
                raise ValueError(f"{path} was trained with {int(z['n_features'])} features, this code hashes to {N_FEATURES}")
            return cls(z["W"], z["b"], z["flag"], z["context"], tuple(str(h) for h in z["heads"]))

    def read(self, text: str, top: int = 2) -> Reading:
        clear = view(text)
        feats, owned = featurise(clear)
        if not feats:
            return Reading(clear, {h: float(1 / (1 + np.exp(-b))) for h, b in zip(self.heads, self.b)}, {})
        idx = np.fromiter(feats.keys(), dtype=np.int64, count=len(feats))
        val = np.fromiter(feats.values(), dtype=np.float32, count=len(feats))
        rows = self.W[idx]  # (features, heads)
        logits = val @ rows + self.b
        probs = 1.0 / (1.0 + np.exp(-logits))
        scores = dict(zip(self.heads, map(float, probs)))
        # A word's push on a head: the weighted sum of the n-grams it contributed (bigrams count for both words).
        # A long word in a script written without spaces (a whole Japanese clause) is shown by its strongest n-gram.
        pos = {b_: i for i, b_ in enumerate(feats)}
        contrib = val[:, None] * rows
        per_word = np.stack([contrib[[pos[b_] for b_, _ in ws]].sum(axis=0) for ws in owned])
        toks = words(clear)
        spans = {}
        for j, head in enumerate(self.heads):
            best = sorted(i for i in np.argsort(-per_word[:, j], kind="stable")[:top] if per_word[i, j] > 0)
            spans[head] = tuple(self._span(toks[i][2], owned[i], contrib, pos, j) for i in best)
        return Reading(clear, scores, spans)


    @staticmethod
    def _span(word: str, grams: list[tuple[int, str]], contrib: np.ndarray, pos: dict, j: int) -> str:
        if len(word) <= LONG_WORD:
            return word
        chars = [(contrib[pos[b_], j], g.strip()) for b_, g in grams if g.strip() and " " not in g.strip()]
        return max(chars, key=lambda c: c[0])[1] if chars else word


@lru_cache(maxsize=1)
def shipped() -> ContextClassifier:
    return ContextClassifier.load()
