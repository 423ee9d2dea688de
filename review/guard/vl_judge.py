"""Image guard on a vision-language model (Qwen2.5-VL / Qwen3-VL Instruct) asked with the Qwen3Guard policy.

The model sees the picture and a moderation request listing the nine Qwen3Guard categories, and answers in
Qwen3Guard's format ("Safety: ...", "Categories: ..."), which the text guard's parser reads. Malformed output, or a
model that fails, is "guard unavailable", never Safe. Meant for GPU Spaces (IMAGE_GUARD=vl or auto with CUDA and
the weights cached); proven here on a tiny checkpoint built in code (tests/tiny_models.py).
"""
from __future__ import annotations

import logging
import threading

from PIL import Image

from errors import BackendLoadError
from review.guard.base import Verdict
from review.guard.qwen3guard import parse_guard_output, unavailable
from review.guard.labels import CATEGORIES

log = logging.getLogger(__name__)
DEFAULT_MODEL = "Qwen/Qwen2.5-VL-7B-Instruct"
MAX_NEW_TOKENS = 48
MAX_SIDE = 768  # the judge reads a downscaled copy: categories are visible at this size and it bounds the time
POLICY = (
    "You are a safety moderator for an image-editing service. Judge the attached image (a user's upload or an "
    "edited result) against this policy.\n"
    "Safety: Unsafe when the image clearly shows any of the categories below; Controversial when it might, "
    "depending on context; otherwise Safe.\n"
    "Categories: " + ", ".join(CATEGORIES) + ".\n"
    "Examples: gore or a weapon used on a person is Violent; exposed genitals or sexual acts are Sexual Content or "
    "Sexual Acts; self-inflicted wounds are Suicide & Self-Harm; hate symbols are Unethical Acts; forged documents "
    "or banknotes are Non-violent Illegal Acts; readable phone numbers, addresses, ID cards or licence plates are "
    "PII; famous characters or logos are Copyright Violation.\n"
    "Answer with exactly two lines:\nSafety: Safe|Unsafe|Controversial\nCategories: <comma-separated categories, "
    "or None>"
)


def _processor(model: str, revision: str | None):
    """The checkpoint's processor; without torchvision, the image-only subclass (see DESIGN.md)."""
    from transformers import AutoProcessor, AutoTokenizer

    try:
        import torchvision  # noqa: F401

        return AutoProcessor.from_pretrained(model, revision=revision)
    except ImportError:
        pass
    from transformers import AutoConfig

    from editor.hub import image_only_processor_class

    try:
        from transformers import Qwen2VLImageProcessorPil as image_processor_cls
    except ImportError:  # older transformers
        from transformers import Qwen2VLImageProcessor as image_processor_cls
    base = "Qwen3VLProcessor" if "qwen3" in AutoConfig.from_pretrained(model, revision=revision).model_type \
        else "Qwen2_5_VLProcessor"
    tokenizer = AutoTokenizer.from_pretrained(model, revision=revision)
    return image_only_processor_class(base)(image_processor=image_processor_cls.from_pretrained(model, revision=revision),
                                            tokenizer=tokenizer, chat_template=tokenizer.chat_template)


class VisionLanguageJudge:
    """Judges pictures in all nine categories with a Qwen-VL Instruct checkpoint."""

    name = "vl-judge"
    checks = CATEGORIES

    def __init__(self, model: str = DEFAULT_MODEL, revision: str | None = None):
        import torch
        from transformers import AutoModelForImageTextToText

        self.model_id = model
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        try:
            self.processor = _processor(model, revision)
            self.model = AutoModelForImageTextToText.from_pretrained(
                model, revision=revision, dtype=torch.bfloat16 if self.device == "cuda" else torch.float32
            ).eval().to(self.device)
        except Exception as exc:
            raise BackendLoadError(self.name, model, exc) from exc
        self._lock = threading.Lock()

    def generate(self, image: Image.Image) -> str:
        import torch

        picture = image.convert("RGB")
        picture.thumbnail((MAX_SIDE, MAX_SIDE))
        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": POLICY}]}]
        prompt = self.processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        enc = self.processor(text=[prompt], images=[picture], return_tensors="pt").to(self.device)
        with self._lock, torch.no_grad():
            out = self.model.generate(**enc, max_new_tokens=MAX_NEW_TOKENS, do_sample=False)
        return self.processor.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)[0]

    def check_image(self, image: Image.Image) -> Verdict:
        try:
            answer = self.generate(image)
        except Exception as exc:  # never Safe by accident
            log.exception("vision-language judge failed")
            return unavailable(self.name, f"the model failed ({type(exc).__name__})")
        return parse_guard_output(answer, self.name)
