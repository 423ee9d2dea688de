"""Guard backend on Qwen3Guard-Gen through transformers: chat template, greedy decoding, the output parsed.

The model answers a prompt-moderation request with lines like

    Safety: Unsafe
    Categories: Violent, Non-violent Illegal Acts

Anything else (or a model that fails) becomes a "guard unavailable" verdict, which the policy never treats as Safe.
"""
from __future__ import annotations

import logging
import os
import re
import threading

from errors import BackendLoadError
from review.guard.base import Evidence, Verdict
from review.guard.labels import CATEGORIES, Label

log = logging.getLogger(__name__)
DEFAULT_MODEL = "Qwen/Qwen3Guard-Gen-0.6B"
MAX_NEW_TOKENS = 64
MAX_INPUT_CHARS = 8000  # the instruction is capped at 2,000 anyway; this bounds the model's time
_SAFETY = re.compile(r"Safety:\s*(Safe|Unsafe|Controversial)\b")
_CATEGORIES = re.compile(r"Categories:\s*([^\n]*)")


def parse_guard_output(text: str, guard: str = "qwen3guard") -> Verdict:
    """Label and categories from Qwen3Guard-Gen's answer; malformed output gives an unavailable verdict."""
    m = _SAFETY.search(text or "")
    if not m:
        return unavailable(guard, "the guard's answer had no Safety line")
    label = Label(m.group(1))
    cats: list[str] = []
    c = _CATEGORIES.search(text)
    if c:
        for part in c.group(1).split(","):
            name = part.strip().rstrip(".")
            if not name or name.lower() == "none":
                continue
            if name not in CATEGORIES:
                return unavailable(guard, f"the guard named an unknown category {name!r}")
            cats.append(name)
    if label != Label.SAFE and not cats:
        return unavailable(guard, f"the guard said {label.value} without a category")
    evidence = tuple(Evidence(f"{guard}.{c}", c, label, m.group(0)) for c in cats)
    return Verdict(label, tuple(cats) if label != Label.SAFE else (), evidence if label != Label.SAFE else (), guard)


def unavailable(guard: str, why: str) -> Verdict:
    return Verdict(Label.CONTROVERSIAL, guard=guard, available=False, note=f"guard unavailable: {why}")


class Qwen3Guard:
    """Prompt moderation with a Qwen3Guard-Gen checkpoint (0.6B by default; 4B and 8B by GUARD_MODEL)."""

    name = "qwen3guard"

    def __init__(self, model: str = DEFAULT_MODEL, revision: str | None = None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.model_id = model
        # On ZeroGPU a GPU exists only inside @spaces.GPU calls; the guard runs on every keystroke, so it stays on the CPU
        zero_gpu = os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "t", "true")
        self.device = "cuda" if torch.cuda.is_available() and not zero_gpu else "cpu"
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model, revision=revision)
            self.model = AutoModelForCausalLM.from_pretrained(
                model, revision=revision, dtype=torch.bfloat16 if self.device == "cuda" else torch.float32
            ).eval().to(self.device)
        except Exception as exc:
            raise BackendLoadError(self.name, model, exc) from exc
        self._lock = threading.Lock()

    def generate(self, text: str) -> str:
        import torch

        messages = [{"role": "user", "content": text[:MAX_INPUT_CHARS]}]
        prompt = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        enc = self.tokenizer(prompt, return_tensors="pt").to(self.device)
        with self._lock, torch.no_grad():
            out = self.model.generate(**enc, max_new_tokens=MAX_NEW_TOKENS, do_sample=False,
                                      pad_token_id=self.tokenizer.pad_token_id)
        return self.tokenizer.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True)

    def check_text(self, text: str) -> Verdict:
        try:
            answer = self.generate(text)
        except Exception as exc:  # never Safe by accident
            log.exception("qwen3guard failed")
            return unavailable(self.name, f"the model failed ({type(exc).__name__})")
        return parse_guard_output(answer, self.name)
