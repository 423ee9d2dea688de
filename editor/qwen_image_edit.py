"""The `qwen-image-edit` backend: diffusers' QwenImageEditPlusPipeline (Qwen-Image-Edit-2509/2511).

One to three input images: the main image plus reference photos, for instruction edits and subject-driven
generation alike. Optional masked region edits go through QwenImageEditInpaintPipeline built from the same
components. A Lightning LoRA ("fast") switches to 4/8 steps with the scheduler its authors publish.

Shaped for ZeroGPU (the `spaces` package): the loaded pipelines live at module level (`PIPELINES`), where a
ZeroGPU worker finds them after it forks; the GPU function `run_job` takes one picklable `GpuJob` (ZeroGPU pickles
the arguments onto a queue) and is a generator, so each step, and every `preview_every` steps a decoded preview,
comes back to the caller as it happens. The caller reports progress, and closing the generator (Cancel, or the
image guard finding a preview Unsafe) stops the diffusion at a step boundary: in this process at the very step
the caller saw; on ZeroGPU at the first step after the stop reaches the worker (spaces checks its stop event
after each yielded item and the worker does not wait for the caller's verdict, so typically one step later).
"""
from __future__ import annotations

import logging
import math
import os
import queue
import threading
from dataclasses import dataclass, field

from PIL import Image

from editor.base import EditOutput, EditRequest, ProgressFn
from editor.errors import BackendLoadError, UserError

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


class EditCancelled(UserError):
    def __init__(self, step: int):
        super().__init__(f"The edit was cancelled after step {step}; nothing was saved.", "editor.cancelled", step=step)


class UnsafePreview(Exception):
    """The image guard judged an intermediate preview Unsafe; the diffusion was stopped at `step`."""

    def __init__(self, verdict, step: int, params: dict | None = None):
        super().__init__(f"stopped at step {step}")
        self.verdict, self.step, self.params = verdict, step, params or {}


def image_only_processor_class(base: str = "Qwen2VLProcessor"):
    """The Qwen2-VL / Qwen3-VL processor without its video sub-processor.

    transformers 5.x cannot build these processors without torchvision (the video processor type-check fails);
    dropping `video_processor` from __init__ removes it from the processor's attributes, so the real checkpoint's
    processor/ folder loads with the PIL image processor only.
    """
    import transformers

    parent = getattr(transformers, base)

    def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
        parent.__init__(self, image_processor=image_processor, tokenizer=tokenizer, chat_template=chat_template,
                        **kwargs)

    return type(base.replace("Processor", "ImageOnlyProcessor"), (parent,), {"__init__": __init__})


def load_processor(model: str, revision: str | None = None, base: str = "Qwen2VLProcessor"):
    """The checkpoint's processor/ folder; None when torchvision is installed (the stock processor loads then)."""
    try:
        import torchvision  # noqa: F401

        return None
    except ImportError:
        pass
    from transformers import AutoTokenizer

    try:
        from transformers import Qwen2VLImageProcessorPil as image_processor_cls
    except ImportError:  # older transformers
        from transformers import Qwen2VLImageProcessor as image_processor_cls
    image_processor = image_processor_cls.from_pretrained(model, subfolder="processor", revision=revision)
    tokenizer = AutoTokenizer.from_pretrained(model, subfolder="processor", revision=revision)
    return image_only_processor_class(base)(image_processor=image_processor, tokenizer=tokenizer,
                                            chat_template=getattr(tokenizer, "chat_template", None))


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
        self._dtype = _dtype(settings.dtype, self.device)
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
                "device": self.device, "dtype": _dtype_name(pipe.transformer.dtype), "fast": self.fast_available,
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
        events = run_job(job)  # looked up at call time: ZeroGPU's wrapper (or a test's) stands in for it
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


class QwenImage21Editor(QwenImageEditor):
    """Qwen-Image-2.1 (`QwenImage21Pipeline`): generation and editing with up to 10 reference images."""

    name = "qwen-image-2.1"
    default_model = "Qwen/Qwen-Image-2.1"
    credit = "Qwen-Image-2.1 by the Qwen team, Alibaba Cloud"
    pipeline_class = "QwenImage21Pipeline"
    processor_base = "Qwen3VLProcessor"
    max_images = 10
    supports_mask = False

    def extra_args(self, width: int, height: int) -> dict:
        return {"output_resolution": max(64, round(math.sqrt(width * height) / 16) * 16)}


@dataclass
class LoadedPipelines:
    """One loaded model: the pipeline, its inpaint twin (same components) and the two schedulers."""

    pipe: object
    inpaint: object | None
    default_scheduler: object
    fast_scheduler: object | None
    lock: threading.Lock = field(default_factory=threading.Lock)  # one accelerator: calls run one at a time


# Module level, where ZeroGPU expects the weights: its worker process forks from this one and finds them here.
PIPELINES: dict[str, LoadedPipelines] = {}


@dataclass(frozen=True)
class GpuJob:
    """Everything one GPU call needs, as plain picklable values: ZeroGPU pickles the call's arguments to its worker,
    so no pipeline, lock, event or callback may travel here (tests/test_zerogpu.py runs it through that round trip).
    """

    pipeline: str  # key in PIPELINES
    prompt: str
    images: list  # PIL images: the main picture, then references
    mask: object  # PIL mask (white = change) or None
    negative_prompt: str | None
    true_cfg_scale: float
    steps: int
    num_outputs: int
    width: int
    height: int
    seed: int
    fast: bool
    preview_every: int  # 0: no previews
    extra: dict


def gpu_seconds(steps: int, width: int, height: int) -> int:
    """ZeroGPU duration for one call: ~0.6 s per step at 1024² on an H200-class slice, with 1.5x and 20 s slack."""
    return int(min(300, 20 + steps * 0.6 * (width * height) / (1024 * 1024) * 1.5))


def job_seconds(job: GpuJob) -> int:
    """The duration function ZeroGPU calls with the GPU function's own arguments."""
    return gpu_seconds(job.steps, job.width, job.height)


def _zerogpu(fn):
    """`@spaces.GPU(duration=job_seconds)`: a no-op unless the Space runs on ZeroGPU (SPACES_ZERO_GPU)."""
    try:
        import spaces
    except ImportError:  # the light local install (requirements-cpu.txt) has no spaces
        return fn
    return spaces.GPU(duration=job_seconds)(fn)


@_zerogpu
def run_job(job: GpuJob):
    """Run one edit on the accelerator, yielding ("step", n, preview or None) per step and finally ("done", images).

    The pipeline runs in a thread so that this generator can hand each step out as it happens. Each step waits
    until the consumer has taken its event (in this process: lockstep, so a stop lands on the step the consumer
    saw; on ZeroGPU the worker takes events at once, so the diffusion runs on meanwhile). Closing the generator
    interrupts the pipeline at its next step boundary.
    """
    loaded = PIPELINES[job.pipeline]
    events: queue.Queue = queue.Queue()
    taken = threading.Semaphore(0)
    stop = threading.Event()
    steps_run = [0]

    def on_step(pipe, i, t, kwargs):
        if stop.is_set():  # nobody listens any more: never wait again
            pipe._interrupt = True
            return kwargs
        step = i + 1
        steps_run[0] = step
        preview = None
        if job.preview_every and step % job.preview_every == 0 and step < job.steps:
            preview = _preview(pipe, kwargs["latents"], job.height, job.width)
        events.put(("step", step, preview))
        taken.acquire()
        if stop.is_set():
            pipe._interrupt = True
        return kwargs

    def work():
        import torch

        args = dict(prompt=job.prompt, negative_prompt=job.negative_prompt, true_cfg_scale=job.true_cfg_scale,
                    num_inference_steps=job.steps, num_images_per_prompt=job.num_outputs, height=job.height,
                    width=job.width, generator=torch.Generator("cpu").manual_seed(job.seed),
                    callback_on_step_end=on_step, **job.extra)
        try:
            with loaded.lock:
                _use_fast(loaded, job.fast)
                pipe = loaded.inpaint if job.mask is not None else loaded.pipe
                calls = _count_calls(pipe.transformer)
                try:
                    seen = _what_runs(loaded, pipe)  # read from the pipeline about to run, not from the job
                    if job.mask is not None:
                        if len(job.images) > 1:  # refused before the call (refuse_unsupported); never dropped here
                            raise ValueError("the inpaint pipeline takes one picture")
                        result = pipe(image=job.images[0], mask_image=job.mask, strength=1.0, **args)
                    else:
                        result = pipe(image=job.images if len(job.images) > 1 else job.images[0], **args)
                finally:
                    calls.remove()
                    _use_fast(loaded, False)
            passes = calls.count / max(1, steps_run[0])
            ran = {**seen, "steps": steps_run[0], "guidance": job.true_cfg_scale if passes >= 2 else 1.0,
                   "true_cfg": passes >= 2, "images": len(job.images), "references": len(job.images) - 1,
                   "mask": job.mask is not None, "width": job.width, "height": job.height}
            events.put(("done", result.images, ran))
        except BaseException as exc:  # handed to the consumer, raised there
            events.put(("error", exc))

    thread = threading.Thread(target=work, name="editguard-pipeline", daemon=True)
    thread.start()
    try:
        while True:
            kind, *payload = events.get()
            if kind == "error":
                raise payload[0]
            yield (kind, *payload)
            if kind == "done":
                return
            taken.release()
    finally:
        stop.set()
        taken.release()  # wake a step that waits for us; it sees `stop` and interrupts the pipeline
        thread.join()


def _use_fast(loaded: LoadedPipelines, fast: bool) -> None:
    """Switch the Lightning LoRA and its scheduler on or off, on the edit pipeline and its inpaint twin alike (they
    share the transformer, but each holds its own scheduler). Inside the GPU call: a ZeroGPU worker has its own
    copy of the pipeline, so a switch made in the main process would not reach it."""
    if loaded.fast_scheduler is None:
        if fast:
            raise ValueError("Fast was asked for but no Lightning LoRA is loaded")
        return
    for pipe in (p for p in (loaded.pipe, loaded.inpaint) if p is not None):
        if fast:
            pipe.enable_lora()
            pipe.set_adapters(["lightning"], [1.0])
            pipe.scheduler = loaded.fast_scheduler
        else:
            pipe.disable_lora()
            pipe.scheduler = loaded.default_scheduler


def _what_runs(loaded: LoadedPipelines, pipe) -> dict:
    """The scheduler, LoRA, dtype and device of the pipeline about to run, read from its modules."""
    try:
        from peft.tuners.tuners_utils import BaseTunerLayer

        layers = [m for m in pipe.transformer.modules() if isinstance(m, BaseTunerLayer)]
    except ImportError:  # without peft no LoRA can have been loaded
        layers = []
    lora = next((",".join(m.active_adapters) for m in layers if not m.disable_adapters), None) if layers else None
    scheduler = pipe.scheduler
    return {"pipeline": type(pipe).__name__, "scheduler": type(scheduler).__name__,
            "scheduler_config": "lightning" if scheduler is loaded.fast_scheduler else "default",
            "lora": lora, "dtype": _dtype_name(pipe.transformer.dtype), "device": str(pipe._execution_device)}


class _count_calls:
    """Counts the transformer's forward passes: two per step means true CFG really ran its negative branch."""

    def __init__(self, module):
        self.count = 0
        self._hook = module.register_forward_pre_hook(self._seen)

    def _seen(self, *_):
        self.count += 1

    def remove(self):
        self._hook.remove()


def _dtype_name(dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _preview(pipe, latents, height: int, width: int) -> Image.Image:
    """Decode the current latents (the same steps the pipeline ends with), small enough for the guard."""
    import torch

    with torch.no_grad():
        lat = pipe._unpack_latents(latents[:1], height, width, pipe.vae_scale_factor).to(pipe.vae.dtype)
        cfg = pipe.vae.config
        mean = torch.tensor(cfg.latents_mean).view(1, cfg.z_dim, 1, 1, 1).to(lat.device, lat.dtype)
        std = torch.tensor(cfg.latents_std).view(1, cfg.z_dim, 1, 1, 1).to(lat.device, lat.dtype)
        image = pipe.vae.decode(lat * std + mean, return_dict=False)[0][:, :, 0]
        return pipe.image_processor.postprocess(image, output_type="pil")[0]


def _output_size(image: Image.Image) -> tuple[int, int]:
    """The input's area up to one megapixel (what the model is trained for), its aspect ratio, multiples of 32."""
    ratio = image.width / image.height
    w = math.sqrt(min(1024 * 1024, image.width * image.height) * ratio)
    h = w / ratio
    return max(32, round(w / 32) * 32), max(32, round(h / 32) * 32)


def resolved_revision(model: str, revision: str | None) -> str:
    """The revision that is loaded: "local" for a folder, else the Hub commit the cached snapshot holds (a branch
    name like "main" moves; the commit does not), else the revision as asked."""
    if os.path.isdir(model):
        return "local"
    try:
        from huggingface_hub import snapshot_download

        return os.path.basename(snapshot_download(model, revision=revision, local_files_only=True))
    except Exception:
        return revision or "main"


def _dtype(name: str, device: str):
    import torch

    if name == "auto":
        return torch.bfloat16 if device == "cuda" else torch.float32
    try:
        return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]
    except KeyError:
        raise ValueError("EDITOR_DTYPE must be auto, float32, bfloat16 or float16.") from None


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def weights_present(model: str) -> bool:
    return weights_present_file(model, "model_index.json")


def weights_present_file(model: str, filename: str) -> bool:
    """A local folder, or a model already in the Hugging Face cache (no network needed)."""
    if os.path.isdir(model):
        return os.path.isfile(os.path.join(model, filename))
    try:
        import transformers  # noqa: F401  (a model backend needs it; without it nothing model-based can run)
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(model, filename), str)
    except Exception:
        return False
