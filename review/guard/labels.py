"""The Qwen3Guard label scheme, shared by every guard backend."""
from __future__ import annotations

from enum import Enum


class Label(str, Enum):
    SAFE = "Safe"
    CONTROVERSIAL = "Controversial"
    UNSAFE = "Unsafe"


# Qwen3Guard-Gen's category names, spelled exactly as the model writes them.
VIOLENT = "Violent"
ILLEGAL = "Non-violent Illegal Acts"
SEXUAL = "Sexual Content or Sexual Acts"
PII = "PII"
SELF_HARM = "Suicide & Self-Harm"
UNETHICAL = "Unethical Acts"
POLITICAL = "Politically Sensitive Topics"
COPYRIGHT = "Copyright Violation"
JAILBREAK = "Jailbreak"
CATEGORIES = (VIOLENT, ILLEGAL, SEXUAL, PII, SELF_HARM, UNETHICAL, POLITICAL, COPYRIGHT, JAILBREAK)

SEVERITY = {Label.SAFE: 0, Label.CONTROVERSIAL: 1, Label.UNSAFE: 2}
