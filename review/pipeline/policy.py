"""The policy: one pure function from verdicts, similarity matches and mode to a decision.

Modes follow Qwen3Guard's vocabulary: `strict` treats Controversial as Unsafe, `review` (default) sends it to a
person, `loose` releases it with its label shown. Unsafe is always blocked. A guard that could not judge is never
taken as Safe. A similarity match at review level (a copy the keypoints confirmed, or a hash at its review
distance) always sends the item to a person; at warn level (a hash alone, nothing to confirm it) it only warns.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Iterable, Protocol

from review.guard.base import Verdict
from review.guard.labels import Label


class Mode(str, Enum):
    STRICT = "strict"
    REVIEW = "review"
    LOOSE = "loose"


class Decision(str, Enum):
    RELEASED = "released"
    PENDING = "pending_review"
    BLOCKED = "blocked"


class MatchLike(Protocol):
    level: str  # "warn" | "review"
    target: str  # "input" | "reference" | "output"


@dataclass(frozen=True)
class PolicyResult:
    decision: Decision
    reasons: tuple[str, ...]  # why it was blocked or sent to review (codes, e.g. "output:controversial")
    warnings: tuple[str, ...]  # shown to the user, do not change the decision


def decide(mode: Mode, instruction: Verdict, outputs: Iterable[Verdict], matches: Iterable[MatchLike],
           inputs: Iterable[Verdict] = ()) -> PolicyResult:
    """`inputs`: the image guard's verdicts on the uploaded pictures, judged like the outputs."""
    block, review, warn = [], [], []
    judged = [("instruction", instruction), *(("input", v) for v in inputs), *(("output", v) for v in outputs)]
    for where, verdict in judged:
        if verdict.label == Label.UNSAFE:
            block.append(f"{where}:unsafe")
        elif not verdict.available:
            (block if mode == Mode.STRICT else review).append(f"{where}:guard_unavailable")
        elif verdict.label == Label.CONTROVERSIAL:
            {Mode.STRICT: block, Mode.REVIEW: review, Mode.LOOSE: warn}[mode].append(f"{where}:controversial")
    for match in matches:
        (review if match.level == "review" else warn).append(f"similarity:{match.target}")
    block, review, warn = (tuple(dict.fromkeys(x)) for x in (block, review, warn))
    if block:
        return PolicyResult(Decision.BLOCKED, block, review + warn)
    if review:
        return PolicyResult(Decision.PENDING, review, warn)
    return PolicyResult(Decision.RELEASED, (), warn)
