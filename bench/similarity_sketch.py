"""The keypoint re-rank in bench.similarity: a query's sketch scores against every work, and how they carry to scale.

At N works the true work is one of RERANK_TOP candidates when fewer than RERANK_TOP unrelated works outrank it by
hash (Poisson(N x share closer), as before); among those candidates an unrelated one outranks it after the re-rank
when its sketch score is at least the true one's (probability q, measured over every unrelated pair of the bench).
Beyond RERANK_TOP, among the first SKETCHED, only a score of STRONG_SCORE or more moves a candidate up. With
m = min(RERANK_TOP, N x candidate rate) and M = min(SKETCHED, N x candidate rate) unrelated candidates:

- a true score of STRONG_SCORE or more: it is scored when it is among the first SKETCHED by hash, and reaches the
  verifier when fewer than VERIFY_TOP - 1 of all M score as high: Binomial(M, q);
- a true score of MIN_SCORE or more: among the first RERANK_TOP by hash, behind Binomial(m, q) of those and the
  Poisson(M x q(STRONG_SCORE)) strong ones from further down;
- below MIN_SCORE it keeps its hash rank, behind the unrelated works that outrank it by hash or that score MIN_SCORE
  or more: Poisson(N x share + m x q(MIN_SCORE) + M x q(STRONG_SCORE)).

VERIFY_TOP - 1, since the last place may go to the first by hash (search.first_by_hash_kept), which the true work is
when no unrelated work outranks it by hash: P = exp(-N x share). It reaches a person with the larger of the two (a
lower bound of either happening).
"""
from __future__ import annotations

import math

import numpy as np

from review.similarity import keypoints
from review.similarity.search import RERANK_TOP, SKETCHED, VERIFY_TOP, first_by_hash_kept


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
    """The app's order (ReferenceIndex.rerank): hash review level first, then sketch score (beyond RERANK_TOP by
    hash only a strong one), then hash rank; the first by hash kept among the VERIFY_TOP."""
    ranked = ranked[:SKETCHED]
    score = [int(scores[j]) if i < RERANK_TOP or scores[j] >= keypoints.STRONG_SCORE else 0
             for i, j in enumerate(ranked)]
    order = sorted(range(len(ranked)), key=lambda i: (not review(ranked[i]), -score[i], i))
    return [ranked[i] for i in first_by_hash_kept(order)]


def _poisson_below(mean: float, k: int) -> float:
    """P(Poisson(mean) < k), in logs (a mean of a million and k of 200 overflow floats otherwise)."""
    if k <= 0:
        return 0.0
    if mean <= 0 or k > mean + 12 * math.sqrt(mean) + 30:  # the rest of the tail is below 1e-30
        return 1.0
    return min(1.0, sum(math.exp(i * math.log(mean) - mean - math.lgamma(i + 1)) for i in range(k)))


def _binomial_below(n: int, p: float, k: int, extra: float = 0.0) -> float:
    """P(Binomial(n, p) + Poisson(extra) < k)."""
    if p <= 0:
        return _poisson_below(extra, k)
    if p >= 1:
        return _poisson_below(extra, k - n) if k > n else 0.0
    return min(1.0, sum(math.exp(math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * math.log(p)
                                 + (n - i) * math.log1p(-p)) * _poisson_below(extra, k - i)
                        for i in range(min(k, n + 1))))


def reached_at_scale(o: dict, mih: bool, unrelated: np.ndarray, works: int, candidate_rate: float) -> float:
    """The chance that this outcome's work still reaches a person among `works` works (module docstring).
    `unrelated`: every unrelated pair's sketch score, sorted."""
    reached = o["reached_whole"] if mih else o["reached"]
    share = max(o["unrelated_closer_share_mih" if mih else "unrelated_closer_share"], 0.0)
    lam = works * min(share, candidate_rate)  # no more unrelated works are ahead by hash than are met at all
    if not reached:
        return 0.0
    return max(math.exp(-lam), _by_sketch(o, mih, unrelated, works, candidate_rate, lam))


def _by_sketch(o: dict, mih: bool, unrelated: np.ndarray, works: int, candidate_rate: float, lam: float) -> float:
    """The chance that the re-rank puts it among the first VERIFY_TOP - 1 (the last place may be the first by hash)."""
    top = VERIFY_TOP - 1
    if o["own_review_mih" if mih else "own_review"]:
        return _poisson_below(lam, top)
    crowd = max(1, round(works * candidate_rate))
    m, big_m = int(min(RERANK_TOP, crowd)), int(min(SKETCHED, crowd))
    at_least = lambda s: max((len(unrelated) - np.searchsorted(unrelated, s)) / len(unrelated),  # noqa: E731
                             3 / len(unrelated))
    strong = big_m * at_least(keypoints.STRONG_SCORE)  # strong unrelated scores moved up from beyond RERANK_TOP
    if o["own_sketch"] >= keypoints.STRONG_SCORE:
        return _poisson_below(lam, SKETCHED) * _binomial_below(big_m, at_least(o["own_sketch"]), top)
    if o["own_sketch"] >= keypoints.MIN_SCORE:
        return _poisson_below(lam, RERANK_TOP) * _binomial_below(m, at_least(o["own_sketch"]), top, strong)
    return _poisson_below(lam + m * at_least(keypoints.MIN_SCORE) + strong, top)
