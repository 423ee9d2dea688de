"""Text features of the context classifier: hashed character n-grams and word n-grams, in pure Python.

Training (review/guard/train.py) and inference (review/guard/classifier.py) call this one function, so the shipped
weights mean the same thing in both places. Character n-grams inside each word read every language without a
tokenizer (Japanese and Chinese have no spaces) and survive misspellings; word unigrams and bigrams carry the
context that separates "a knife on a cutting board" from "a knife in his chest". Hashing (CRC-32, stable across
runs and machines, unlike Python's `hash`) keeps the weight table a fixed size with no vocabulary to ship.
"""
from __future__ import annotations

import math
import re
import zlib

from review.guard.rules import deobfuscate, normalise

N_FEATURES = 1 << 18
CHAR_NGRAMS = (2, 3, 4)
MAX_FEATURE_CHARS = 2000  # instructions are capped at 2,000 characters by the validator; this bounds the time
_WORD = re.compile(r"\w+")


def view(text: str) -> str:
    """The text as the classifier reads it: normalised and with disguises undone (the rule guard's clear view)."""
    return deobfuscate(normalise(text[:MAX_FEATURE_CHARS]))


def words(clear: str) -> list[tuple[int, int, str]]:
    """Words with their offsets in the clear view (the evidence spans are cut from these)."""
    return [(m.start(), m.end(), m.group(0)) for m in _WORD.finditer(clear)]


def word_features(word: str) -> list[str]:
    """The character n-grams of one word, padded with spaces so beginnings and ends are features of their own."""
    padded = f" {word} "
    grams = [word] if len(word) <= 1 else []
    for n in CHAR_NGRAMS:
        grams.extend(padded[i:i + n] for i in range(len(padded) - n + 1))
    return grams


def bucket(kind: str, gram: str) -> int:
    return zlib.crc32(f"{kind}\x1f{gram}".encode()) % N_FEATURES


def featurise(clear: str) -> tuple[dict[int, float], list[list[tuple[int, str]]]]:
    """Sparse L2-normalised log-count features, and for each word the (bucket, n-gram) pairs it contributed, for
    evidence. A word bigram is credited to both of its words."""
    toks = [w for _, _, w in words(clear)]
    counts: dict[int, int] = {}
    owned: list[list[tuple[int, str]]] = [[] for _ in toks]
    for i, w in enumerate(toks):
        for g in word_features(w):
            b = bucket("c", g)
            counts[b] = counts.get(b, 0) + 1
            owned[i].append((b, g))
        b = bucket("w", w)
        counts[b] = counts.get(b, 0) + 1
        owned[i].append((b, w))
        if i:
            pair = f"{toks[i - 1]} {w}"
            b = bucket("b", pair)
            counts[b] = counts.get(b, 0) + 1
            owned[i - 1].append((b, pair))
            owned[i].append((b, pair))
    values = {b: 1.0 + math.log(c) for b, c in counts.items()}
    norm = math.sqrt(sum(v * v for v in values.values())) or 1.0
    return {b: v / norm for b, v in values.items()}, owned
