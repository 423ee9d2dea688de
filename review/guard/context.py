"""The embedded text guard that weighs context: the high-precision rules plus a learned classifier.

- Rules that name a harm outright (undress, gore, forgery, slurs, jailbreaks, PII by shape, a minor with anything
  sexual) keep their verdict: they are precise, explainable and cover seven languages.
- Rules that fire on ordinary words (a knife, a bikini: `CONTEXT_RULES`) stand only when the classifier's score for
  their category reaches that category's context threshold: "a knife on a cutting board" is Safe, "a knife in his
  chest" is not.
- The classifier alone flags a category (Controversial: a person looks) when its score passes the category's flag
  threshold and the text is a sentence rather than a word or two, which is how euphemisms the rules never list
  ("no clothes", "barely covering") are caught. Its evidence is the words that pushed the score up.

Thresholds are calibrated per category at training time (review/guard/train.py) on out-of-fold scores.
"""
from __future__ import annotations

import unicodedata

from review.guard.base import Evidence, Verdict
from review.guard.classifier import ContextClassifier, shipped
from review.guard.features import words
from review.guard.rules import RuleTextGuard
from review.guard.labels import SEVERITY, Label

# Rule families whose words are everyday objects far more often than harms (measured on COCO captions: knives and
# forks, bikinis at the beach, a wound-up pitcher). Prefixes of rule ids; only their Controversial hits are weighed.
CONTEXT_RULES = ("violent.weapon.", "sexual.suggestive.")
_SLUG = {"Sexual Content or Sexual Acts": "sexual", "Violent": "violent", "Suicide & Self-Harm": "self_harm",
         "Non-violent Illegal Acts": "illegal", "Unethical Acts": "unethical",
         "Politically Sensitive Topics": "political", "Copyright Violation": "copyright", "Jailbreak": "jailbreak"}


MIN_UNITS = 3  # a word, or three characters of a script written without spaces


def enough_text(clear: str) -> bool:
    """A sentence, not a word or two: one word ("sepia", "woman") gives the classifier no context to read, and it
    then reports the prior of the art prompts it learned from. Short explicit requests are the rules' job."""
    units = 0
    for _, _, w in words(clear):
        units += max(1, len(w) // 3) if any(unicodedata.east_asian_width(ch) == "W" for ch in w) else 1
        if units >= MIN_UNITS:
            return True
    return False


class ContextTextGuard:
    name = "context-v1"

    def __init__(self, classifier: ContextClassifier | None = None, rules: RuleTextGuard | None = None):
        self.classifier = classifier or shipped()
        self.rules = rules or RuleTextGuard()

    def check_text(self, text: str) -> Verdict:
        ruled = self.rules.check_text(text)
        reading = self.classifier.read(text)
        kept: list[Evidence] = []
        for e in ruled.evidence:
            weighed = e.label == Label.CONTROVERSIAL and e.rule.startswith(CONTEXT_RULES)
            if weighed and reading.scores.get(e.category, 1.0) < self.classifier.context.get(e.category, 0.0):
                continue  # an everyday object in an everyday sentence
            kept.append(e)
        named = {e.category for e in kept}
        for head, score in reading.scores.items():
            if head in named or score < self.classifier.flag[head] or not enough_text(reading.clear):
                continue
            for span in reading.spans.get(head, ()) or ("",):
                kept.append(Evidence(f"context.{_SLUG.get(head, head)}", head, Label.CONTROVERSIAL, span))
        if not kept:
            return Verdict(Label.SAFE, guard=self.name)
        label = max((e.label for e in kept), key=SEVERITY.__getitem__)
        categories = tuple(dict.fromkeys(e.category for e in kept))
        return Verdict(label, categories, tuple(kept), self.name)
