"""The keypoint re-rank in bench.similarity: a query's sketch scores against every work, and how they carry to scale.

At N works the true work is one of RERANK_TOP candidates when fewer than RERANK_TOP unrelated works outrank it by
hash (Poisson(N x share closer), as before); among those candidates an unrelated one outranks it after the re-rank
when its sketch score is at least the true one's (probability q, measured over every unrelated pair of the bench).
So it reaches the verifier when fewer than VERIFY_TOP of the m = min(RERANK_TOP, N x candidate rate) unrelated
candidates score as high: Binomial(m, q). A true work with a score below MIN_SCORE keeps its hash rank, behind the
unrelated works that outrank it by hash or that score MIN_SCORE or more: Poisson(N x share + m x q(MIN_SCORE)).
"""
from __future__ import annotations

import math

import numpy as np

from review.similarity import keypoints
from review.similarity.search import RERANK_TOP, VERIFY_TOP


def work_sketches(pictures: dict) -> list:
    out = []
    for image in pictures.values():
        code = keypoints.sketch_code(image)
        out.append(keypoints.parse(code.code) if code else None)
    return out


def query_scores(image, sketches: list) -> np.ndarray:
    """The query's score against every work (0 without a sketch or below MIN_SCORE), the better orientation of the
    two (the app checks the orientation the hash met through)."""
    have = [i for i, s in enumerate(sketches) if s is not None]
    best = np.zeros(len(sketches), np.int64)
    for mirrored in (False, True):
        best[have] = np.maximum(best[have], keypoints.scores(keypoints.detect(image, mirrored=mirrored),
                                                             [sketches[i] for i in have]))
    best[best < keypoints.MIN_SCORE] = 0
    return best


def rerank(ranked: list[int], review, scores: np.ndarray) -> list[int]:
    """The app's order (ReferenceIndex.rerank): hash review level first, then sketch score, then hash rank."""
    ranked = ranked[:RERANK_TOP]
    return sorted(ranked, key=lambda j: (not review(j), -int(scores[j]), ranked.index(j)))


def _poisson_below(mean: float, k: int) -> float:
    """P(Poisson(mean) < k), in logs (a mean of a million and k of 200 overflow floats otherwise)."""
    if mean <= 0:
        return 1.0
    return min(1.0, sum(math.exp(i * math.log(mean) - mean - math.lgamma(i + 1)) for i in range(k)))


def _binomial_below(n: int, p: float, k: int) -> float:
    """P(Binomial(n, p) < k)."""
    if p <= 0:
        return 1.0
    if p >= 1:
        return 1.0 if k > n else 0.0
    return min(1.0, sum(math.exp(math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * math.log(p)
                                 + (n - i) * math.log1p(-p)) for i in range(min(k, n + 1))))


def reached_at_scale(o: dict, mih: bool, unrelated: np.ndarray, works: int, candidate_rate: float) -> float:
    """The chance that this outcome's work still reaches a person among `works` works (module docstring).
    `unrelated`: every unrelated pair's sketch score, sorted."""
    reached = o["reached_whole"] if mih else o["reached"]
    share = max(o["unrelated_closer_share_mih" if mih else "unrelated_closer_share"], 0.0)
    lam = works * share
    if not reached:
        return 0.0
    if o["own_review_mih" if mih else "own_review"]:
        return _poisson_below(lam, VERIFY_TOP)
    m = int(min(RERANK_TOP, max(1, round(works * candidate_rate))))
    at_least = lambda s: max((len(unrelated) - np.searchsorted(unrelated, s)) / len(unrelated),  # noqa: E731
                             3 / len(unrelated))
    if o["own_sketch"] >= keypoints.MIN_SCORE:
        return _poisson_below(lam, RERANK_TOP) * _binomial_below(m, at_least(o["own_sketch"]), VERIFY_TOP)
    return _poisson_below(lam + m * at_least(keypoints.MIN_SCORE), VERIFY_TOP)
