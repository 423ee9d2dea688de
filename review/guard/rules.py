"""The embedded multilingual text guard: normalise, match the lexicon, report label, categories and evidence."""
from __future__ import annotations

import re
import unicodedata

from review.guard.base import Evidence, Verdict, combine
from review.guard.lexicon import CARD, EMAIL, MINOR, MY_NUMBER, PHONE, RULES
from review.labels import PII, SEXUAL, Label

MAX_GUARD_CHARS = 100_000  # the guard reads at most this much; the input validator refuses longer text anyway

_COMPILED = tuple((rid, cat, label, re.compile(pat)) for rid, cat, label, pat in RULES)
_MINOR = re.compile(MINOR)
_EMAIL, _PHONE, _CARD, _MY_NUMBER = (re.compile(p) for p in (EMAIL, PHONE, CARD, MY_NUMBER))


def normalise(text: str) -> str:
    """NFKC folds full-width and compatibility forms; format characters (zero-width, bidi) are dropped."""
    text = unicodedata.normalize("NFKC", text[:MAX_GUARD_CHARS])
    text = "".join(" " if unicodedata.category(ch) == "Cc" else ch
                   for ch in text if unicodedata.category(ch) not in ("Cf", "Cs"))
    return text.lower()


def luhn_ok(digits: str) -> bool:
    total, double = 0, False
    for ch in reversed(digits):
        d = int(ch)
        if double:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
        double = not double
    return total % 10 == 0


class RuleTextGuard:
    """Baseline guard with the Qwen3Guard labels; fast, offline, explainable (every hit names its rule and span)."""

    name = "rules-v1"

    def check_text(self, text: str) -> Verdict:
        norm = normalise(text)
        hits: list[Verdict] = []
        sexual_spans = []
        for rid, category, label, pattern in _COMPILED:
            m = pattern.search(norm)
            if m:
                hits.append(Verdict(label, (category,), (Evidence(rid, category, label, m.group(0)),), self.name))
                if category == SEXUAL:
                    sexual_spans.append(m.group(0))
        if sexual_spans:
            minor = _MINOR.search(norm)
            if minor:
                span = f"{minor.group(0)} + {sexual_spans[0]}"
                hits.append(Verdict(Label.UNSAFE, (SEXUAL,), (Evidence("sexual.minor", SEXUAL, Label.UNSAFE, span),), self.name))
        hits.extend(self._pii(norm))
        return combine(hits, self.name)

    def _pii(self, norm: str) -> list[Verdict]:
        found = []
        if m := _EMAIL.search(norm):
            found.append(("pii.email", m.group(0)))
        card = next((m for m in _CARD.finditer(norm) if luhn_ok(re.sub(r"\D", "", m.group(0)))), None)
        if card:
            found.append(("pii.card", card.group(0)))
        elif m := _MY_NUMBER.search(norm):  # 12 digits; a card number would contain one
            found.append(("pii.my_number", m.group(0)))
        if m := _PHONE.search(norm):
            found.append(("pii.phone", m.group(0)))
        return [Verdict(Label.CONTROVERSIAL, (PII,), (Evidence(rid, PII, Label.CONTROVERSIAL, span),), self.name)
                for rid, span in found]
