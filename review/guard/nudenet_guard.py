"""Image guard on NudeNet's detector (its ONNX model ships inside the PyPI wheel: no download)."""
from __future__ import annotations

import threading

import numpy as np
from PIL import Image

from review.guard.base import Evidence, Verdict, combine
from review.guard.labels import SEXUAL, Label

# Exposed body parts that make an image sexual content. Scores are NudeNet's detection confidences (0..1).
# Measured on 230 benign pictures (scikit-image and scikit-learn samples under the classic editor's operations):
# BUTTOCKS_EXPOSED fires on abstract pictures (0.86 on a colour wheel, 0.31 on a coffee cup), every other part
# stayed below 0.42. So buttocks alone never block, and a detection needs 0.45 before a person is asked to look.
EXPLICIT_PARTS = ("FEMALE_GENITALIA_EXPOSED", "MALE_GENITALIA_EXPOSED", "ANUS_EXPOSED", "FEMALE_BREAST_EXPOSED",
                  "BUTTOCKS_EXPOSED")
REVIEW_ONLY_PARTS = ("BUTTOCKS_EXPOSED",)
UNSAFE_SCORE = 0.6  # a confident detection of an exposed part: blocked
CONTROVERSIAL_SCORE = 0.45  # a weaker one: a person looks


def verdict_from_detections(detections: list[dict], guard: str = "nudenet") -> Verdict:
    """Map NudeNet detections to a Qwen3Guard-style verdict (pure, so its thresholds are table-tested)."""
    hits = []
    for det in detections:
        if det["class"] not in EXPLICIT_PARTS:
            continue
        score = float(det["score"])
        label = Label.UNSAFE if score >= UNSAFE_SCORE else Label.CONTROVERSIAL if score >= CONTROVERSIAL_SCORE else None
        if label == Label.UNSAFE and det["class"] in REVIEW_ONLY_PARTS:
            label = Label.CONTROVERSIAL
        if label:
            hits.append(Verdict(label, (SEXUAL,), (Evidence(f"nudenet.{det['class'].lower()}", SEXUAL, label,
                                                            f"{det['class']} {score:.2f}"),), guard))
    return combine(hits, guard)


class NudeNetGuard:
    name = "nudenet"
    checks = (SEXUAL,)

    def __init__(self):
        from nudenet import NudeDetector

        self._detector = NudeDetector()
        self._lock = threading.Lock()  # one ONNX session, used by one thread at a time

    def check_image(self, image: Image.Image) -> Verdict:
        rgba = np.ascontiguousarray(np.asarray(image.convert("RGBA")))  # NudeNet converts RGBA -> BGR itself
        try:
            with self._lock:
                detections = self._detector.detect(rgba)
        except Exception as exc:  # the policy must see "could not judge", never "Safe"
            return Verdict(Label.CONTROVERSIAL, guard=self.name, available=False,
                           note=f"image guard failed: {type(exc).__name__}")
        return verdict_from_detections(detections, self.name)
