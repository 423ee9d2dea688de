"""Benchmark: the cost of the project's wrapper around the diffusers pipeline, and of the model guard per call.

Same tiny Qwen-Image-Edit checkpoint (built in code, saved in the real layout), same inputs and seed: per-step time
of `QwenImageEditor.edit` (progress callback, cancel and preview hooks, dtype/size handling) vs calling
`QwenImageEditPlusPipeline` directly. The per-step time is the slope between a 2-step and a 6-step run, so the fixed
cost of the text encoder and the VAE falls out. Also: the Qwen3Guard backend's time per call on a tiny model vs
the bare `generate` it wraps, and the rule guard's time per call.

    .venv/bin/python -m bench.tiny_pipeline [--repeats 3]
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    torch.manual_seed(0)
    from editor.base import EditRequest
    from editor.qwen_image_edit import QwenEditSettings, QwenImageEditor
    from review.guard.qwen3guard import Qwen3Guard
    from review.guard.rules import RuleTextGuard
    from tests.tiny_models import save_tiny_edit_model, save_tiny_guard_model

    tmp = Path(tempfile.mkdtemp(prefix="bench-tiny-"))
    model = save_tiny_edit_model(tmp / "edit")
    editor = QwenImageEditor(QwenEditSettings(model=str(model)))
    pipe = editor.pipe
    arr = np.zeros((64, 64, 3), dtype=np.uint8)
    arr[..., 0] = np.arange(64) * 4
    image = Image.fromarray(arr)

    def direct(steps):
        t = time.perf_counter()
        pipe(image=image, prompt="make the sky purple", true_cfg_scale=1.0, num_inference_steps=steps, height=64,
             width=64, generator=torch.Generator("cpu").manual_seed(0))
        return time.perf_counter() - t

    def wrapped(steps):
        t = time.perf_counter()
        editor.edit(EditRequest(image=image, instruction="make the sky purple", steps=steps, seed=0, guidance=1.0),
                    progress=lambda f, d: None)
        return time.perf_counter() - t

    direct(2), wrapped(2)  # warm-up
    slopes = {"direct": [], "wrapper": []}
    for _ in range(args.repeats):  # interleaved, so drift on a noisy machine hits both alike
        for name, fn in (("direct", direct), ("wrapper", wrapped)):
            slopes[name].append((fn(6) - fn(2)) / 4)
    per_step = {name: statistics.median(v) for name, v in slopes.items()}

    guard_dir = save_tiny_guard_model(tmp / "guard", {"stab him": "Safety: Unsafe\nCategories: Violent"}, steps=150)
    guard = Qwen3Guard(str(guard_dir))
    texts = ["stab him", "make it sepia", "add a cat on the sofa"] * 5

    def time_calls(fn):
        t = time.perf_counter()
        for text in texts:
            fn(text)
        return (time.perf_counter() - t) / len(texts) * 1000

    generate_ms = time_calls(guard.generate)
    guard_ms = time_calls(guard.check_text)
    rules = RuleTextGuard()
    rules_ms = time_calls(rules.check_text)
    print(json.dumps({
        "benchmark": "tiny_pipeline",
        "checkpoint": "tiny random Qwen-Image-Edit layout, 64x64, CPU",
        "per_step_ms_direct_pipeline": round(per_step["direct"] * 1000, 2),
        "per_step_ms_wrapper": round(per_step["wrapper"] * 1000, 2),
        "wrapper_vs_direct": round(per_step["wrapper"] / per_step["direct"], 3),
        "target_wrapper_vs_direct": 1.05,
        "qwen3guard_tiny_generate_ms": round(generate_ms, 2),
        "qwen3guard_tiny_check_ms": round(guard_ms, 2),
        "qwen3guard_parse_overhead_ratio": round(guard_ms / generate_ms, 3),
        "rule_guard_ms": round(rules_ms, 3),
    }, indent=2))


if __name__ == "__main__":
    main()
