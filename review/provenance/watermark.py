"""An invisible watermark in the output's pixels, from invisible-watermark (the package diffusers uses).

Method: DWT-DCT-SVD. diffusers uses plain DWT-DCT, but on 28 outputs of the CPU editor (7 photos × 4 edits) plain
DWT-DCT read its own unmodified watermark back exactly from only 19; DWT-DCT-SVD from all 28 (~3x slower).

The payload is 48 bits, like diffusers' SDXL watermark: the 16-bit tag "EG" and the first 32 bits of the record
id's SHA-256, so a picture stripped of its metadata still says it came from this app and which record it matches.
The method's module is loaded on its own: the package's `__init__` also imports its RivaGAN method, which needs
torch, and this app runs without torch on CPU.
"""
from __future__ import annotations

import hashlib
import importlib.util
from functools import lru_cache

import numpy as np
from PIL import Image

TAG = b"EG"
PAYLOAD_BITS = 48
MIN_PIXELS = 256 * 256  # the method's own lower limit


class WatermarkUnavailable(RuntimeError):
    pass


@lru_cache(maxsize=1)
def _embedder_class():
    spec = importlib.util.find_spec("imwatermark")
    if spec is None or not spec.submodule_search_locations:
        raise WatermarkUnavailable("invisible-watermark is not installed")
    path = f"{list(spec.submodule_search_locations)[0]}/dwtDctSvd.py"
    module_spec = importlib.util.spec_from_file_location("editguard_imwatermark_dwtdctsvd", path)
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except ImportError as exc:  # cv2 or pywt missing
        raise WatermarkUnavailable(f"invisible-watermark cannot load: {exc}") from None
    return module.EmbedDwtDctSvd


def available() -> bool:
    try:
        _embedder_class()
        return True
    except WatermarkUnavailable:
        return False


def payload_for(record_id: str) -> bytes:
    return TAG + hashlib.sha256(record_id.encode()).digest()[:4]


def _bits(payload: bytes) -> list[int]:
    return [int(b) for b in np.unpackbits(np.frombuffer(payload, np.uint8))]


def embed(image: Image.Image, payload: bytes) -> Image.Image:
    """The picture with the payload hidden in it. Pictures under 256×256 pixels are too small for the method."""
    if image.width * image.height < MIN_PIXELS:
        raise WatermarkUnavailable("the picture is smaller than 256×256 pixels")
    bgr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
    out = _embedder_class()(_bits(payload), wmLen=PAYLOAD_BITS).encode(bgr)
    return Image.fromarray(np.ascontiguousarray(out[:, :, ::-1]))


def extract(image: Image.Image) -> bytes | None:
    """The 6 payload bytes if the picture carries this app's tag, else None."""
    if image.width * image.height < MIN_PIXELS:
        return None
    bgr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
    bits = _embedder_class()([], wmLen=PAYLOAD_BITS).decode(bgr)
    payload = np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes()
    return payload if payload[:2] == TAG else None
