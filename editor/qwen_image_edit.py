"""The `qwen-image-edit` backend: diffusers' QwenImageEditPlusPipeline (Qwen-Image-Edit-2509/2511).

One to three input images: the main image plus reference photos, for instruction edits and subject-driven
generation alike. Optional masked region edits go through QwenImageEditInpaintPipeline built from the same
components. A Lightning LoRA ("fast") switches to 4/8 steps with the scheduler its authors publish. The GPU call
itself is `editor.zerogpu.run_job` (picklable jobs for ZeroGPU); loading helpers are in `editor.hub`.
"""
from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass

from PIL import Image

from editor import zerogpu
from editor.base import EditCancelled, EditOutput, EditRequest, ProgressFn, UnsafePreview
from errors import BackendLoadError, UserError
from editor.hub import dtype_name, load_processor, resolved_revision, torch_dtype
from editor.zerogpu import PIPELINES, GpuJob, LoadedPipelines

log = logging.getLogger(__name__)

DEFAULT_MODEL = "Qwen/Qwen-Image-Edit-2511"
MODEL_LICENSE = "Apache-2.0"
MODEL_CREDIT = "Qwen-Image-Edit by the Qwen team, Alibaba Cloud"
MAX_INPUT_IMAGES = 3
# Qwen-Image-Lightning's published scheduler settings (lightx2v/Qwen-Image-Lightning README): exponential time
# shift with base and max shift log(3); true CFG is off (the distilled model needs none).
LIGHTNING_SCHEDULER = {
    "base_image_seq_len": 256, "base_shift": math.log(3), "invert_sigmas": False, "max_image_seq_len": 8192,
    "max_shift": math.log(3), "num_train_timesteps": 1000, "shift": 1.0, "shift_terminal": None,
    "stochastic_sampling": False, "time_shift_type": "exponential", "use_beta_sigmas": False,
    "use_dynamic_shifting": True, "use_exponential_sigmas": False, "use_karras_sigmas": False,
}


@dataclass(frozen=True)
class QwenEditSettings:
    model: str = DEFAULT_MODEL
    revision: str | None = None
    dtype: str = "auto"  # auto: bfloat16 on CUDA, float32 on CPU
    cpu_offload: bool = False
    lightning_lora: str | None = None  # a hub id or folder with the Lightning LoRA
    lightning_weight_name: str | None = None
    lightning_steps: int = 8
    preview_every: int = 0  # 0: no early stop; k: decode and judge a preview every k steps

    @classmethod
    def from_env(cls, model: str | None, env=os.environ, default: str = DEFAULT_MODEL) -> "QwenEditSettings":
        return cls(
            model=model or env.get("EDITOR_MODEL") or default,
            revision=env.get("EDITOR_REVISION") or None,
            dtype=env.get("EDITOR_DTYPE", "auto"),
            cpu_offload=env.get("EDITOR_CPU_OFFLOAD", "0").lower() in ("1", "true", "yes"),
            lightning_lora=env.get("EDITOR_LIGHTNING_LORA") or None,
            lightning_weight_name=env.get("EDITOR_LIGHTNING_WEIGHT_NAME") or None,
            lightning_steps=int(env.get("EDITOR_LIGHTNING_STEPS", "8")),
            preview_every=int(env.get("EDITOR_PREVIEW_EVERY", "0")),
        )


class QwenImageEditor:
    """Holds one loaded pipeline; calls are serialised (one accelerator)."""

    name = "qwen-image-edit"
    default_model = DEFAULT_MODEL
    model_license = MODEL_LICENSE
    credit = MODEL_CREDIT
    deterministic = False
    pipeline_class = "QwenImageEditPlusPipeline"
    processor_base = "Qwen2VLProcessor"
    max_images = MAX_INPUT_IMAGES
    supports_mask = True

    def __init__(self, settings: QwenEditSettings):
        import diffusers
        import torch

        self.settings = settings
        self.model_id = settings.model
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        if self.device == "cpu":
            log.warning("No CUDA device: %s runs on the CPU, which is only practical for tiny test checkpoints.",
                        settings.model)
        self._dtype = torch_dtype(settings.dtype, self.device)
        try:
            processor = load_processor(settings.model, settings.revision, self.processor_base)
            extra = {"processor": processor} if processor is not None else {}
            pipe = getattr(diffusers, self.pipeline_class).from_pretrained(
                settings.model, revision=settings.revision, dtype=self._dtype, **extra)
        except Exception as exc:  # a named backend that cannot load is an error, never a silent swap
            raise BackendLoadError(self.name, settings.model, exc) from exc
        pipe.set_progress_bar_config(disable=True)
        self.revision = resolved_revision(settings.model, settings.revision)  # after loading: the snapshot is cached
        fast_scheduler = None
        if settings.lightning_lora:
            from diffusers import FlowMatchEulerDiscreteScheduler

            pipe.load_lora_weights(settings.lightning_lora, weight_name=settings.lightning_weight_name,
                                   adapter_name="lightning")
            fast_scheduler = FlowMatchEulerDiscreteScheduler.from_config(LIGHTNING_SCHEDULER)
        if settings.cpu_offload and self.device == "cuda":
            pipe.enable_model_cpu_offload()
        elif self.device == "cuda":
            pipe.to(self.device)  # on ZeroGPU `spaces` records this and moves the weights in its worker
        inpaint = None
        if self.supports_mask:
            inpaint = diffusers.QwenImageEditInpaintPipeline.from_pipe(pipe)
            inpaint.set_progress_bar_config(disable=True)
        self.key = f"{self.name}:{settings.model}@{self.revision}:{len(PIPELINES)}"
        PIPELINES[self.key] = LoadedPipelines(pipe, inpaint, pipe.scheduler, fast_scheduler)

    @property
    def pipe(self):
        return PIPELINES[self.key].pipe

    @property
    def inpaint(self):
        return PIPELINES[self.key].inpaint

    @property
    def fast_available(self) -> bool:
        return PIPELINES[self.key].fast_scheduler is not None

    def model_card(self) -> dict:
        """What the page shows about the model: read from the loaded pipeline, not from the settings asked for."""
        pipe = self.pipe
        return {"id": self.model_id, "revision": self.revision, "license": self.model_license, "credit": self.credit,
                "device": self.device, "dtype": dtype_name(pipe.transformer.dtype), "fast": self.fast_available,
                "scheduler": type(pipe.scheduler).__name__}

    def refuse_unsupported(self, request: EditRequest) -> None:
        """Refuse, before anything runs, a combination this backend would otherwise carry out only in part."""
        if request.mask is not None and not self.supports_mask:
            raise UserError(f"{self.name} cannot limit an edit to a painted region.", "editor.no_mask")
        if request.mask is not None and request.references:
            # the inpaint pipeline takes one picture: references would be dropped without a word
            raise UserError("A painted region cannot be combined with reference images; remove the references or "
                            "clear the painting.", "editor.mask_refs")
        if len(request.references) + 1 > self.max_images:
            raise UserError(f"At most {self.max_images - 1} reference images are accepted.", "refs.too_many",
                            n=self.max_images - 1)
        if request.fast and not self.fast_available:
            raise UserError("Fast mode needs the Lightning LoRA, which this server has not configured "
                            "(EDITOR_LIGHTNING_LORA); untick Fast.", "editor.no_fast")

    def edit(self, request: EditRequest, progress: ProgressFn | None = None) -> EditOutput:
        self.refuse_unsupported(request)
        images = [request.image, *request.references]
        fast = bool(request.fast)
        steps = self.settings.lightning_steps if fast else request.steps
        preview_every = request.preview_every if request.preview_every is not None else self.settings.preview_every
        width, height = _output_size(request.image)
        cfg = 1.0 if fast else request.guidance
        job = GpuJob(pipeline=self.key, prompt=request.instruction, images=images, mask=request.mask,
                     negative_prompt=(request.negative_prompt or " ") if cfg > 1 else None, true_cfg_scale=cfg,
                     steps=steps, num_outputs=request.num_outputs, width=width, height=height, seed=request.seed,
                     fast=fast, preview_every=preview_every if request.preview_check else 0,
                     extra=self.extra_args(width, height))
        step, stopped, result, ran = 0, None, None, {}
        events = zerogpu.run_job(job)  # looked up at call time: ZeroGPU's wrapper (or a test's) stands in for it
        try:
            for kind, *payload in events:
                if kind == "done":
                    result, ran = payload
                    continue
                step, preview = payload
                if progress:
                    progress(step / steps, f"step {step}/{steps}")
                if request.cancel is not None and request.cancel.is_set():
                    stopped = "cancel"
                    break
                if preview is not None:
                    verdict = request.preview_check(preview)
                    if verdict is not None and verdict.label.value == "Unsafe":
                        stopped = verdict
                        break
        finally:
            events.close()  # stops the diffusion at this step (on ZeroGPU: sets the worker's stop event)
        if stopped == "cancel":
            raise EditCancelled(step)
        if stopped is not None:  # what the job was set to run, and where it stopped
            raise UnsafePreview(stopped, step, params={
                "seed": job.seed, "steps_planned": steps, "guidance": cfg, "fast": fast,
                "references": len(images) - 1, "mask": request.mask is not None, "model_revision": self.revision})
        applied = [f"{self.name}: {ran['steps']} steps" + (" (Lightning)" if ran["lora"] else "")
                   + (", masked region" if ran["mask"] else "")]
        # the inpaint pipeline works at its own size; hand back the size the user will compare with
        images = [im if im.size == (width, height) else im.resize((width, height), Image.Resampling.LANCZOS)
                  for im in result]
        params = {"seed": job.seed, **ran, "fast": ran["lora"] is not None, "num_outputs": len(result),
                  "model_revision": self.revision}
        return EditOutput(images=images, applied=applied, params=params)

    def extra_args(self, width: int, height: int) -> dict:
        return {}


def _output_size(image: Image.Image) -> tuple[int, int]:
    """The input's area up to one megapixel (what the model is trained for), its aspect ratio, multiples of 32."""
    ratio = image.width / image.height
    w = math.sqrt(min(1024 * 1024, image.width * image.height) * ratio)
    h = w / ratio
    return max(32, round(w / 32) * 32), max(32, round(h / 32) * 32)
