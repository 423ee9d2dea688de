"""Check and clean the instruction text before anything else sees it."""
from __future__ import annotations

import unicodedata

from errors import UserError

MAX_INSTRUCTION_CHARS = 2000  # far above any real edit instruction (ImgEdit's longest is ~400), far below abuse
MAX_NEGATIVE_CHARS = 1000
_KEEP_FORMAT = {"\u200d"}  # zero-width joiner: part of emoji sequences


class BadInstruction(UserError):
    """The text cannot be used."""


def clean_text(text: object, *, field: str = "instruction", limit: int = MAX_INSTRUCTION_CHARS,
               required: bool = True) -> str:
    """NFC, control and invisible format characters removed, whitespace trimmed; refuse empty or over-long text."""
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise BadInstruction(f"The {field} must be text.", "text.not_text", field=field)
    if len(text) > limit * 4:  # don't spend time normalising a novel
        raise BadInstruction(f"The {field} is too long ({len(text):,} characters); at most {limit:,} are accepted.",
                             "text.too_long", field=field, n=len(text), limit=limit)
    text = unicodedata.normalize("NFC", text)
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat == "Cc":
            out.append(" " if ch in "\t\n\r" else "")
        elif cat == "Cs" or (cat == "Cf" and ch not in _KEEP_FORMAT):
            continue
        else:
            out.append(ch)
    cleaned = " ".join("".join(out).split())
    if required and not cleaned:
        raise BadInstruction("Please type an instruction.", "text.empty", field=field)
    if len(cleaned) > limit:
        raise BadInstruction(f"The {field} is too long ({len(cleaned):,} characters); at most {limit:,} are accepted.",
                             "text.too_long", field=field, n=len(cleaned), limit=limit)
    return cleaned
