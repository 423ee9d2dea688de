"""The GPU call, shaped for ZeroGPU (the `spaces` package): picklable jobs, pipelines at module level, a generator.

The loaded pipelines live at module level (`PIPELINES`), where a ZeroGPU worker finds them after it forks; the GPU
function `run_job` takes one picklable `GpuJob` (ZeroGPU pickles the arguments onto a queue) and is a generator, so
each step, and every `preview_every` steps a decoded preview, comes back to the caller as it happens. The caller
reports progress, and closing the generator (Cancel, or the image guard finding a preview Unsafe) stops the
diffusion at a step boundary: in this process at the very step the caller saw; on ZeroGPU at the first step after
the stop reaches the worker (spaces checks its stop event after each yielded item and the worker does not wait for
the caller's verdict, so typically one step later).
"""
from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field

from PIL import Image

from editor.hub import dtype_name


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
            "lora": lora, "dtype": dtype_name(pipe.transformer.dtype), "device": str(pipe._execution_device)}


class _count_calls:
    """Counts the transformer's forward passes: two per step means true CFG really ran its negative branch."""

    def __init__(self, module):
        self.count = 0
        self._hook = module.register_forward_pre_hook(self._seen)

    def _seen(self, *_):
        self.count += 1

    def remove(self):
        self._hook.remove()


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
