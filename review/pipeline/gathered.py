"""What one edit has gathered on its way through the gate: verdicts, matches, files being encoded, parameters."""
from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field

from db.models import new_id
from review.guard.base import Verdict
from review.pipeline.submission import Submission
from review.similarity.search import Match


@dataclass
class GatheredEdit:
    """What one edit has gathered so far, on its way to `record.persist`."""

    sub: Submission
    instruction: str
    negative: str
    params: dict
    prompt_verdict: Verdict
    encoded: list[tuple[str, int, Future]]  # (role, position, Future[EncodedImage]): PNG bytes made in the background
    matches: list[Match] = field(default_factory=list)
    output_verdicts: list[Verdict] = field(default_factory=list)
    input_verdicts: list[Verdict] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    edit_ms: float | None = None
    request_id: str = field(default_factory=new_id)  # known before saving: outputs carry it in their provenance
