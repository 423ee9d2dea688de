"""The `qwen-image-2.1` backend: diffusers' QwenImage21Pipeline, generation and editing with up to 10 references."""
from __future__ import annotations

import math

from editor.qwen_image_edit import QwenImageEditor


class QwenImage21Editor(QwenImageEditor):
    """Qwen-Image-2.1 (`QwenImage21Pipeline`): the Qwen-Image-Edit backend with its own pipeline and processor."""

    name = "qwen-image-2.1"
    default_model = "Qwen/Qwen-Image-2.1"
    credit = "Qwen-Image-2.1 by the Qwen team, Alibaba Cloud"
    pipeline_class = "QwenImage21Pipeline"
    processor_base = "Qwen3VLProcessor"
    max_images = 10
    supports_mask = False

    def extra_args(self, width: int, height: int) -> dict:
        return {"output_resolution": max(64, round(math.sqrt(width * height) / 16) * 16)}
