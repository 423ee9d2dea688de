"""What a requester submits, and its validation: plain refusals before anything runs (`EditFailed`)."""
from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass, field

from PIL import Image

from errors import UserError
from review.pipeline.image_input import BadImage, load_image
from review.pipeline.instruction import MAX_NEGATIVE_CHARS, BadInstruction, clean_text

MAX_REFERENCES = 3  # unless the editor says otherwise (max_images): Qwen-Image-Edit takes 1-3 images, 2.1 up to 10
MAX_OUTPUTS = 4
MAX_STEPS = 100



class EditFailed(UserError):
    """The edit could not be done; nothing was stored. Carries the cause's code so the page can translate it."""

    @classmethod
    def of(cls, exc: Exception) -> "EditFailed":
        return cls(str(exc), getattr(exc, "code", "error"), **getattr(exc, "params", {}))


@dataclass
class Submission:
    image: object  # a path, bytes or a PIL image
    instruction: str
    references: list = field(default_factory=list)
    negative_prompt: str = ""
    seed: int | None = None  # None: pick one at random (and record it)
    steps: int = 30
    guidance: float = 4.0
    num_outputs: int = 1
    requester: str | None = None
    fast: bool = False  # Lightning LoRA, when the model backend has one
    mask: object = None  # a path, bytes or PIL image: white marks the region to change (model backends)
    cancel: threading.Event | None = None  # set to stop the edit between diffusion steps


def validate(rt, sub: Submission):
    """The cleaned main image, references, instruction, negative prompt and the parameters asked for."""
    try:
        instruction = clean_text(sub.instruction)
        negative = clean_text(sub.negative_prompt, field="negative prompt", limit=MAX_NEGATIVE_CHARS, required=False)
        if sub.image is None:
            raise BadImage("Please upload an image to edit.", "image.missing")
        limits = dict(max_pixels=rt.settings.max_pixels, max_bytes=rt.settings.max_upload_mb * 1024 * 1024)
        main = load_image(sub.image, **limits)
        max_refs = getattr(rt.editor, "max_images", MAX_REFERENCES + 1) - 1
        if len(sub.references) > max_refs:
            raise BadImage(f"At most {max_refs} reference images are accepted.", "refs.too_many", n=max_refs)
        refs = []
        for i, ref in enumerate(sub.references):
            try:
                refs.append(load_image(ref, **limits))
            except BadImage as exc:
                raise BadImage(f"Reference image {i + 1}: {exc}", exc.code, reference=i + 1, **exc.params) from None
    except (BadImage, BadInstruction) as exc:
        raise EditFailed.of(exc) from None
    # what is asked for; the record keeps it only until the editor reports what it actually used (`_ran`)
    params = {
        "seed": random.randrange(2**31) if sub.seed is None else _bounded(sub.seed, 0, 2**31 - 1, "seed"),
        "steps": _bounded(sub.steps, 1, MAX_STEPS, "steps"),
        "guidance": _guidance(sub.guidance),
        "num_outputs": _bounded(sub.num_outputs, 1, MAX_OUTPUTS, "number of outputs"),
        "references": len(refs),
        "fast": bool(sub.fast),
    }
    if rt.editor.deterministic:
        params["num_outputs"] = 1  # a deterministic editor would only repeat itself
    return main, refs, instruction, negative, params


def load_mask(rt, source, main: Image.Image) -> Image.Image | None:
    """The region to change, as a grey mask the size of the main image (white = change)."""
    if source is None:
        return None
    try:
        mask = load_image(source, max_pixels=rt.settings.max_pixels).convert("L")
    except BadImage as exc:
        raise EditFailed.of(exc) from None
    if mask.getextrema()[1] == 0:
        return None  # nothing painted: a plain edit
    return mask.resize(main.size)


def _guidance(value) -> float:
    """Finite, clamped to 0-20: NaN would be stored as NaN and written out as invalid JSON."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value):
        raise EditFailed("The guidance must be between 0 and 20.", "param.range", name="guidance", lo=0, hi=20)
    return min(max(value, 0.0), 20.0)


def _bounded(value, lo: int, hi: int, name: str) -> int:
    try:
        value = int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an infinite float
        raise EditFailed(f"The {name} must be a whole number.", "param.range", name=name, lo=lo, hi=hi) from None
    if not lo <= value <= hi:
        raise EditFailed(f"The {name} must be between {lo} and {hi}.", "param.range", name=name, lo=lo, hi=hi)
    return value
