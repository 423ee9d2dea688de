"""The embedded multilingual text guard: normalise, match the lexicon, report label, categories and evidence."""
from __future__ import annotations

import re
import unicodedata

from review.guard.base import Evidence, Verdict, combine
from review.guard.lexicon import ADDRESS, CARD, EMAIL, MINOR, MY_NUMBER, PHONE, RULES
from review.guard.labels import PII, SEXUAL, Label

MAX_GUARD_CHARS = 100_000  # the guard reads at most this much; the input validator refuses longer text anyway

_COMPILED = tuple((rid, cat, label, re.compile(pat)) for rid, cat, label, pat in RULES)
_MINOR = re.compile(MINOR)
_EMAIL, _PHONE, _CARD, _MY_NUMBER, _ADDRESS = (re.compile(p) for p in (EMAIL, PHONE, CARD, MY_NUMBER, ADDRESS))


def normalise(text: str) -> str:
    """NFKC folds full-width and compatibility forms; format characters (zero-width, bidi) are dropped."""
    text = unicodedata.normalize("NFKC", text[:MAX_GUARD_CHARS])
    text = "".join(" " if unicodedata.category(ch) == "Cc" else ch
                   for ch in text if unicodedata.category(ch) not in ("Cf", "Cs"))
    return text.lower()


# Look-alike letters from other scripts, read as the Latin letter they imitate (only in the de-obfuscated view).
_HOMOGLYPHS = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "і": "i", "ј": "j", "ѕ": "s", "к": "k",
    "м": "m", "т": "t", "н": "h", "в": "b", "α": "a", "ο": "o", "ρ": "p", "ν": "v", "ι": "i", "κ": "k", "τ": "t",
    "ε": "e",
})
_LEET = str.maketrans({"4": "a", "@": "a", "3": "e", "1": "i", "!": "i", "0": "o", "5": "s", "$": "s", "7": "t"})
_SEPARATED = re.compile(r"(?<![^\W_])(?:[^\W\d_][.\-_*·•]){2,}[^\W\d_](?![^\W_])")  # n.u.d.e, u-n-d-r-e-s-s
_LEETY = re.compile(r"\b(?=(?:[\w@$!]*[a-z]){2})(?=[\w@$!]*[0-9@$!])[\w@$!]{3,}\b")


def deobfuscate(norm: str) -> str:
    """Undo the usual disguises on already-normalised text: homoglyphs, leetspeak inside words, letters split by
    dots or dashes, and words spelled out letter by letter ("u n d r e s s", "裸 に し て")."""
    text = norm.translate(_HOMOGLYPHS)
    text = _LEETY.sub(lambda m: m.group(0).translate(_LEET), text)
    text = _SEPARATED.sub(lambda m: re.sub(r"[.\-_*·•]", "", m.group(0)), text)
    tokens, out, run = text.split(" "), [], []
    for tok in tokens + [""]:  # join runs of three or more one-character tokens
        if len(tok) == 1:
            run.append(tok)
            continue
        if len(run) >= 4 and run[0] in ("a", "i"):  # "paint a s w a s t i k a": the article stays a word
            out.extend([run[0], "".join(run[1:])])
        elif len(run) >= 3:
            out.append("".join(run))
        else:
            out.extend(run)
        run = []
        out.append(tok)
    return " ".join(out[:-1])


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

    def __init__(self, see_through_disguises: bool = True):
        self.see_through_disguises = see_through_disguises  # False only for the benchmark's baseline

    def check_text(self, text: str) -> Verdict:
        norm = normalise(text)
        clear = deobfuscate(norm) if self.see_through_disguises else norm
        views = (norm,) if clear == norm else (norm, clear)
        hits: list[Verdict] = []
        sexual_spans = []
        for rid, category, label, pattern in _COMPILED:
            m = next((found for view in views if (found := pattern.search(view))), None)
            if m:
                hits.append(Verdict(label, (category,), (Evidence(rid, category, label, m.group(0)),), self.name))
                if category == SEXUAL:
                    sexual_spans.append(m.group(0))
        if sexual_spans:
            minor = next((found for view in views if (found := _MINOR.search(view))), None)
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
        if m := _ADDRESS.search(norm):
            found.append(("pii.address", m.group(0)))
        return [Verdict(Label.CONTROVERSIAL, (PII,), (Evidence(rid, PII, Label.CONTROVERSIAL, span),), self.name)
                for rid, span in found]
