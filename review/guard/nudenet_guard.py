"""Image guard on NudeNet's detector (its ONNX model ships inside the PyPI wheel: no download)."""
from __future__ import annotations

import threading

import numpy as np
from PIL import Image

from review.guard.base import Evidence, Verdict, combine
from review.labels import SEXUAL, Label

# Exposed body parts that make an image sexual content. Scores are NudeNet's detection confidences (0..1).
EXPLICIT_PARTS = ("FEMALE_GENITALIA_EXPOSED", "MALE_GENITALIA_EXPOSED", "ANUS_EXPOSED", "FEMALE_BREAST_EXPOSED",
                  "BUTTOCKS_EXPOSED")
UNSAFE_SCORE = 0.5  # a confident detection of an exposed part: blocked
CONTROVERSIAL_SCORE = 0.3  # a weak one (NudeNet's own floor is 0.2): a person looks


def verdict_from_detections(detections: list[dict], guard: str = "nudenet") -> Verdict:
    """Map NudeNet detections to a Qwen3Guard-style verdict (pure, so its thresholds are table-tested)."""
    hits = []
    for det in detections:
        if det["class"] not in EXPLICIT_PARTS:
            continue
        score = float(det["score"])
        label = Label.UNSAFE if score >= UNSAFE_SCORE else Label.CONTROVERSIAL if score >= CONTROVERSIAL_SCORE else None
        if label:
            hits.append(Verdict(label, (SEXUAL,), (Evidence(f"nudenet.{det['class'].lower()}", SEXUAL, label,
                                                            f"{det['class']} {score:.2f}"),), guard))
    return combine(hits, guard)


class NudeNetGuard:
    name = "nudenet"

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
