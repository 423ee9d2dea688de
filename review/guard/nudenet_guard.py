"""Image guard on NudeNet's detector (its ONNX model ships inside the PyPI wheel: no download)."""
from __future__ import annotations

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
    """NudeNet's own model and labels, run on one core without spinning, with its post-processing in numpy.

    The package's `NudeDetector.detect` runs ONNX Runtime on every core, whose idle threads spin and take the core
    from the edit and the encoders running beside the check, and then loops over all 2,100 candidate boxes in
    Python (~9 ms holding the GIL). Here the same input blob, model, score cut, box arithmetic (float32, as there)
    and OpenCV non-maximum suppression give the same detections (tests compare with the package), for about a third
    of the CPU time. ONNX Runtime's `run` is thread-safe, so two checks (an upload and a result) run at once.
    """

    name = "nudenet"
    checks = (SEXUAL,)
    SIZE = 320  # the 320n model's input side (the package's default)

    def __init__(self):
        import os

        import onnxruntime
        from nudenet import nudenet as package

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(os.path.join(os.path.dirname(package.__file__), "320n.onnx"),
                                                     options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self._labels = getattr(package, "__labels")

    def detect(self, image: Image.Image) -> list[dict]:
        """NudeNet's detections ({"class", "score", "box": [x, y, w, h]}) for one picture."""
        import cv2

        rgb = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))  # the package drops alpha too
        height, width = rgb.shape[:2]
        side = max(width, height)
        padded = cv2.copyMakeBorder(rgb, 0, side - height, 0, side - width, cv2.BORDER_CONSTANT)
        # the package converts to BGR and swaps back inside blobFromImage: the same blob straight from RGB
        blob = cv2.dnn.blobFromImage(padded, 1 / 255.0, (self.SIZE, self.SIZE), (0, 0, 0), swapRB=False, crop=False)
        return self.detections(self._session.run(None, {self._input: blob})[0], width, height)

    def detections(self, output: np.ndarray, width: int, height: int) -> list[dict]:
        """The model's raw output (1, 4 + classes, candidates) as the package's detections for a width×height picture."""
        import cv2

        side = max(width, height)
        rows = np.squeeze(output).T
        scores = rows[:, 4:]
        best = scores.max(axis=1)
        keep = best >= 0.2
        rows, scores, best = rows[keep], scores[keep], best[keep]
        classes = scores.argmax(axis=1)
        def scaled(v):  # the package's float32 arithmetic, in its order: times the padded side, over the model's
            return v * np.float32(side) / np.float32(self.SIZE)

        w, h = scaled(rows[:, 2]), scaled(rows[:, 3])
        x = np.clip(scaled(rows[:, 0] - rows[:, 2] / 2), 0, width)
        y = np.clip(scaled(rows[:, 1] - rows[:, 3] / 2), 0, height)
        w, h = np.minimum(w, width - x), np.minimum(h, height - y)
        boxes = np.stack([x, y, w, h], axis=1)
        chosen = cv2.dnn.NMSBoxes(boxes.tolist(), best.tolist(), 0.25, 0.45) if len(boxes) else []
        return [{"class": self._labels[classes[i]], "score": float(best[i]),
                 "box": [int(v) for v in boxes[i]]} for i in chosen]

    def check_image(self, image: Image.Image) -> Verdict:
        try:
            detections = self.detect(image)
        except Exception as exc:  # the policy must see "could not judge", never "Safe"
            return Verdict(Label.CONTROVERSIAL, guard=self.name, available=False,
                           note=f"image guard failed: {type(exc).__name__}")
        return verdict_from_detections(detections, self.name)
