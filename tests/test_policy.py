"""The policy as a table over every combination of verdicts, similarity level and mode."""
import itertools

import pytest

from review.guard.base import Verdict
from review.guard.labels import Label
from review.pipeline.policy import Decision, Mode, decide

R, P, B = Decision.RELEASED, Decision.PENDING, Decision.BLOCKED
VERDICTS = {
    "safe": Verdict(Label.SAFE),
    "controversial": Verdict(Label.CONTROVERSIAL, ("PII",)),
    "unsafe": Verdict(Label.UNSAFE, ("Violent",)),
    "unavailable": Verdict(Label.CONTROVERSIAL, available=False),
}


class M:
    def __init__(self, level, target="output"):
        self.level, self.target = level, target


SIMILARITY = {"none": [], "warn": [M("warn")], "review": [M("review")]}

# (worst verdict anywhere, similarity) -> decision per mode (strict, review, loose)
TABLE = {
    ("safe", "none"): (R, R, R),
    ("safe", "warn"): (R, R, R),
    ("safe", "review"): (P, P, P),
    ("controversial", "none"): (B, P, R),
    ("controversial", "warn"): (B, P, R),
    ("controversial", "review"): (B, P, P),
    ("unavailable", "none"): (B, P, P),
    ("unavailable", "warn"): (B, P, P),
    ("unavailable", "review"): (B, P, P),
    ("unsafe", "none"): (B, B, B),
    ("unsafe", "warn"): (B, B, B),
    ("unsafe", "review"): (B, B, B),
}
SEVERITY = ["safe", "controversial", "unavailable", "unsafe"]


@pytest.mark.parametrize("mode_i,mode", list(enumerate([Mode.STRICT, Mode.REVIEW, Mode.LOOSE])))
@pytest.mark.parametrize("instr,output,sim", list(itertools.product(VERDICTS, VERDICTS, SIMILARITY)))
def test_every_combination(mode_i, mode, instr, output, sim):
    worst = max(instr, output, key=SEVERITY.index)
    result = decide(mode, VERDICTS[instr], [VERDICTS[output]], SIMILARITY[sim])
    assert result.decision == TABLE[(worst, sim)][mode_i]


def test_reasons_name_where_and_why():
    r = decide(Mode.REVIEW, VERDICTS["controversial"], [VERDICTS["safe"]], [M("review", "input")])
    assert r.decision == P and r.reasons == ("instruction:controversial", "similarity:input")
    r = decide(Mode.LOOSE, VERDICTS["controversial"], [], [M("warn", "output")])
    assert r.decision == R and r.warnings == ("instruction:controversial", "similarity:output")
    r = decide(Mode.STRICT, VERDICTS["safe"], [VERDICTS["unsafe"], VERDICTS["unsafe"]], [])
    assert r.reasons == ("output:unsafe",)  # one reason per kind, not per output


def test_no_outputs_means_the_prompt_alone_decides():
    assert decide(Mode.REVIEW, VERDICTS["unsafe"], [], []).decision == B
    assert decide(Mode.REVIEW, VERDICTS["safe"], [], []).decision == R


@pytest.mark.parametrize("mode_i,mode", list(enumerate([Mode.STRICT, Mode.REVIEW, Mode.LOOSE])))
@pytest.mark.parametrize("upload,sim", list(itertools.product(VERDICTS, SIMILARITY)))
def test_the_uploaded_image_is_judged_like_a_result(mode_i, mode, upload, sim):
    with_input = decide(mode, VERDICTS["safe"], [VERDICTS["safe"]], SIMILARITY[sim], inputs=[VERDICTS[upload]])
    assert with_input.decision == TABLE[(upload, sim)][mode_i]
    if upload != "safe":
        assert any(r.startswith("input:") for r in with_input.reasons + with_input.warnings)
