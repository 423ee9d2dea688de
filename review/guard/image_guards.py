"""CPU image checks beyond nudity, and the guard that runs several image checks as one.

What an embedded CPU check can honestly judge is narrow: NudeNet finds exposed body parts (Sexual); OpenCV, which
NudeNet already installs, ships a QR-code detector, so a code in the picture is decoded and its text judged by the
text guard (a phone number or address is PII, a slur is Unethical Acts, ...). OpenCV's bundled face cascades were
considered for PII and left out: this app edits photos of people, so "a face is visible" would send nearly every
portrait to review without telling a person anything. Gore, weapons, hate symbols and self-harm in pixels need the
vision-language judge (review/guard/vl_judge.py) on a GPU; the status line says which categories are checked.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

from review.guard.base import Evidence, TextGuard, Verdict, combine
from review.guard.labels import CATEGORIES, Label

MAX_QR_SIDE = 1024  # larger pictures are scaled down to this first


class QRCodeGuard:
    """Decodes QR codes in a picture and judges their text with the text guard.

    OpenCV's ArUco-based QR detector (`python -m bench.qr`): of 120 codes pasted into photos (50-320 px on a 1024²
    picture, turned up to 30°, a third re-compressed as JPEG) it read 106 at 1024 px, where the classic
    `QRCodeDetector` read 87 (61 at the 800 px this check used before), and a picture with no code, what nearly
    every edit is, takes it 8 ms instead of 26."""

    name = "qr-text"
    checks = CATEGORIES  # whatever the text guard judges, for the text inside a QR code

    def __init__(self, text_guard: TextGuard):
        self._text_guard = text_guard
        self._local = threading.local()  # a detector keeps state between calls: one per thread, so checks overlap

    def payloads(self, image: Image.Image) -> list[str]:
        import cv2

        detector = getattr(self._local, "detector", None)
        if detector is None:
            detector = self._local.detector = cv2.QRCodeDetectorAruco()
        gray = cv2.cvtColor(np.asarray(image if image.mode == "RGB" else image.convert("RGB")), cv2.COLOR_RGB2GRAY)
        scale = MAX_QR_SIDE / max(gray.shape)
        if scale < 1:
            size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
            gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        ok, texts, _, _ = detector.detectAndDecodeMulti(gray)
        return [t for t in texts if t] if ok else []

    def check_image(self, image: Image.Image) -> Verdict:
        try:
            found = self.payloads(image)
        except Exception as exc:  # the policy must see "could not judge", never "Safe"
            return Verdict(Label.CONTROVERSIAL, guard=self.name, available=False,
                           note=f"QR check failed: {type(exc).__name__}")
        verdicts = []
        for text in found:
            v = self._text_guard.check_text(text)
            evidence = tuple(Evidence(f"qr.{e.rule}", e.category, e.label, e.span) for e in v.evidence)
            verdicts.append(Verdict(v.label, v.categories, evidence, self.name, v.available, v.note))
        return combine(verdicts, self.name)


class ImageGuards:
    """Several image checks as one guard: the most severe verdict wins (base.combine).

    The checks run side by side (ONNX Runtime and OpenCV release the GIL), so a picture waits for the slowest one,
    not for their sum: the result of an edit is shown that much sooner."""

    def __init__(self, guards: list):
        self.guards = list(guards)
        self.name = "+".join(g.name for g in self.guards)
        self.checks = tuple(c for c in CATEGORIES if any(c in g.checks for g in self.guards))
        self._pool = ThreadPoolExecutor(max(1, 4 * (len(self.guards) - 1)), thread_name_prefix="editguard-check")

    def check_image(self, image: Image.Image) -> Verdict:
        first, *rest = self.guards  # the first runs in this thread, the others beside it
        others = [self._pool.submit(g.check_image, image) for g in rest]
        return combine([first.check_image(image)] + [f.result() for f in others], self.name)

    def describe(self) -> str:
        """For the status line: which categories pictures are checked for, and by what."""
        parts = []
        for g in self.guards:
            what = ", ".join(g.checks) if len(g.checks) < len(CATEGORIES) else "all nine categories"
            if isinstance(g, QRCodeGuard):
                what = f"only the text of QR codes, in {what}"
            parts.append(f"{g.name}: {what}" + (f" ({g.model_id})" if hasattr(g, "model_id") else ""))
        return "; ".join(parts)

