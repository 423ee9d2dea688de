"""What every guard returns, and the interfaces a text or image guard implements."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from PIL import Image

from review.guard.labels import SEVERITY, Label


@dataclass(frozen=True)
class Evidence:
    """Why a verdict was given: the rule and the span of (normalised) text that triggered it."""

    rule: str
    category: str
    label: Label
    span: str


@dataclass(frozen=True)
class Verdict:
    label: Label
    categories: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    guard: str = ""
    available: bool = True  # False: the guard could not judge; the policy never treats that as Safe
    note: str = ""

    def to_dict(self) -> dict:
        return {
            "label": self.label.value,
            "categories": list(self.categories),
            "evidence": [{"rule": e.rule, "category": e.category, "label": e.label.value, "span": e.span}
                         for e in self.evidence],
            "guard": self.guard,
            "available": self.available,
            "note": self.note,
        }


def combine(verdicts: list[Verdict], guard: str) -> Verdict:
    """The most severe label wins; categories and evidence are pooled in order."""
    if not verdicts:
        return Verdict(Label.SAFE, guard=guard)
    label = max((v.label for v in verdicts), key=SEVERITY.__getitem__)
    cats = tuple(dict.fromkeys(c for v in verdicts if v.label != Label.SAFE for c in v.categories))
    evidence = tuple(e for v in verdicts for e in v.evidence)
    available = all(v.available for v in verdicts)
    note = "; ".join(v.note for v in verdicts if v.note)
    return Verdict(label, cats, evidence, guard, available, note)


class TextGuard(Protocol):
    name: str

    def check_text(self, text: str) -> Verdict: ...


class ImageGuard(Protocol):
    name: str

    def check_image(self, image: Image.Image) -> Verdict: ...
