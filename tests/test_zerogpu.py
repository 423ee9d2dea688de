"""The GPU function called the way ZeroGPU calls it: in a worker process forked after the pipeline was loaded, its
arguments pickled onto a queue, each yielded value pickled back, and a stop event the worker checks after each
item when the caller closes the generator (spaces/zero/wrappers.py, generator_function_wrapper). A closure, lock,
event or pipeline sneaking into the arguments or the results fails here with a pickling error."""
import multiprocessing
import pickle
import time

import numpy as np
import pytest

pytest.importorskip("diffusers", reason="the model backends need requirements.txt (the full set)")
spaces_utils = pytest.importorskip("spaces.utils", reason="ZeroGPU's package (spaces) is in requirements.txt")

import editor.qwen_image_edit as q  # noqa: E402
import editor.zerogpu as z  # noqa: E402
from editor.base import EditCancelled, EditRequest, UnsafePreview  # noqa: E402
from review.guard.base import Verdict  # noqa: E402
from review.guard.labels import Label  # noqa: E402
from tests.test_models import picture, tiny_edit, tiny_guard  # noqa: E402,F401


def _worker(task, arg_queue, res_queue, stop_event):
    """The worker side of spaces' generator wrapper, reduced to what crosses the process boundary.

    One CPU thread: here the "GPU" is the CPU, and a child forked from a process whose OpenMP pool has run must not
    use that pool (GNU OpenMP is not fork-safe: the first parallel region can spin forever). ZeroGPU's worker
    computes on CUDA, where this does not arise.
    """
    import torch

    torch.set_num_threads(1)
    args, kwargs = arg_queue.get()
    stop_event.clear()
    gen = task(*args, **kwargs)
    while True:
        try:
            res = next(gen)
        except StopIteration:
            break
        except Exception as exc:  # spaces sends the traceback text and the class name
            res_queue.put(("error", f"{type(exc).__name__}: {exc}"))
            break
        if stop_event.is_set():
            gen.close()
            break
        try:
            res_queue.put(("ok", res))  # pickles the result: a picture is fine, a pipeline or a lambda is not
        except Exception as exc:
            res_queue.put(("error", f"{type(exc).__name__}: {exc}"))
            break
    res_queue.put(("end", None))


WORKER_SILENCE_S = 300  # a tiny edit's step takes well under a second; this long without a word is a hang


def _next_result(res_queue, proc):
    """The worker's next message; a worker that died or went silent fails the test instead of blocking the suite."""
    deadline = time.monotonic() + WORKER_SILENCE_S
    while res_queue.empty():
        if not proc.is_alive() and res_queue.empty():
            raise RuntimeError(f"the ZeroGPU worker died (exit code {proc.exitcode})")
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the ZeroGPU worker sent nothing for {WORKER_SILENCE_S} s")
        time.sleep(0.005)
    return res_queue.get()


class ZeroGPUEmulator:
    """Stands in for `spaces.GPU` around a generator function; `produced` counts what the worker sent, including
    items that arrived after the caller had stopped listening."""

    def __init__(self, task):
        self.task, self.produced = task, []

    def __call__(self, *args, **kwargs):
        ctx = multiprocessing.get_context("fork")  # spaces forks its worker too
        arg_queue, res_queue = spaces_utils.SimpleQueue(), spaces_utils.SimpleQueue()
        stop_event = ctx.Event()
        proc = ctx.Process(target=_worker, args=(self.task, arg_queue, res_queue, stop_event), daemon=True)
        proc.start()
        try:
            arg_queue.put((args, kwargs))  # pickles the arguments: PicklingError for a closure, a lock, a pipeline
        except Exception:
            proc.kill()
            raise
        return self._results(proc, res_queue, stop_event)

    def _results(self, proc, res_queue, stop_event):
        ended = False
        try:
            while True:
                kind, value = _next_result(res_queue, proc)
                if kind == "end":
                    ended = True
                    return
                if kind == "error":
                    raise RuntimeError(f"ZeroGPU worker error: {value}")
                self.produced.append(value)
                try:
                    yield value
                except GeneratorExit:
                    stop_event.set()
                    raise
        finally:
            while not ended:  # like spaces: wait for the worker to finish its current item and stop
                kind, value = _next_result(res_queue, proc)
                ended = kind == "end"
                if kind == "ok":
                    self.produced.append(value)
            proc.join(timeout=120)


@pytest.fixture(scope="module")
def editor(tiny_edit):  # noqa: F811
    model, lora = tiny_edit
    return q.QwenImageEditor(q.QwenEditSettings(model=str(model), lightning_lora=str(lora),
                                                lightning_weight_name="tiny-lightning.safetensors", lightning_steps=2))


@pytest.fixture
def zerogpu(monkeypatch):
    emulator = ZeroGPUEmulator(z.run_job)
    monkeypatch.setattr(z, "run_job", emulator)
    return emulator


def steps_of(events):
    return [e[1] for e in events if e[0] == "step"]


def test_the_gpu_job_is_plain_picklable_data(editor):
    job = z.GpuJob(pipeline=editor.key, prompt="x", images=[picture()], mask=None, negative_prompt=None,
                   true_cfg_scale=1.0, steps=4, num_outputs=1, width=64, height=64, seed=0, fast=False,
                   preview_every=0, extra={})
    assert pickle.loads(pickle.dumps(job)) == job
    assert z.job_seconds(job) == z.gpu_seconds(4, 64, 64) >= 20  # the duration function takes the same argument


def test_an_edit_across_the_process_boundary_matches_the_local_one(editor, monkeypatch):
    request = dict(image=picture(), instruction="make it purple", steps=3, seed=5, guidance=1.0,
                   references=[picture(shift=60)])
    local = editor.edit(EditRequest(**request))
    emulator = ZeroGPUEmulator(z.run_job)
    monkeypatch.setattr(z, "run_job", emulator)
    seen = []
    remote = editor.edit(EditRequest(**request), progress=lambda f, d: seen.append(d))
    assert seen == ["step 1/3", "step 2/3", "step 3/3"]  # per-step progress crossed the boundary
    # the same picture: the worker runs torch on one thread (forked OpenMP pools hang), and a reduction split over
    # two threads here may round its last bit differently, so a pixel may differ by a level or two, no more
    ours, theirs = np.asarray(local.images[0]).astype(int), np.asarray(remote.images[0]).astype(int)
    assert np.abs(ours - theirs).max() <= 2 and np.abs(ours - theirs).mean() < 0.1
    fast = editor.edit(EditRequest(image=picture(), instruction="x", steps=9, seed=0, fast=True))
    assert fast.applied == ["qwen-image-edit: 2 steps (Lightning)"]  # the LoRA switch happens inside the worker
    assert steps_of(emulator.produced) == [1, 2, 3, 1, 2]


def test_cancel_reaches_the_worker(editor, zerogpu):
    import threading

    cancel = threading.Event()
    with pytest.raises(EditCancelled) as err:
        editor.edit(EditRequest(image=picture(), instruction="x", steps=30, seed=0, guidance=1.0, cancel=cancel),
                    progress=lambda f, d: cancel.set())  # Cancel pressed during the first step
    assert err.value.params["step"] == 1
    assert len(steps_of(zerogpu.produced)) < 30  # the worker stopped soon after, not at the end


def test_an_unsafe_preview_stops_the_worker(editor, zerogpu):
    judged = []

    def guard(image):
        judged.append(image.size)
        return Verdict(Label.UNSAFE, ("Violent",), guard="test")

    with pytest.raises(UnsafePreview) as err:
        editor.edit(EditRequest(image=picture(), instruction="x", steps=30, seed=0, guidance=1.0,
                                preview_check=guard, preview_every=2))
    assert err.value.step == 2 and judged == [(64, 64)]  # the decoded preview crossed the boundary as a picture
    assert len(steps_of(zerogpu.produced)) < 30


def test_a_closure_in_the_arguments_fails_like_on_zerogpu(editor, zerogpu):
    with pytest.raises(pickle.PicklingError):
        zerogpu(lambda: None)


def test_on_zerogpu_the_text_guard_stays_on_the_cpu(tiny_guard, monkeypatch):  # noqa: F811
    """It judges every keystroke; outside @spaces.GPU there is no GPU on ZeroGPU (spaces fakes is_available)."""
    import torch

    from review.guard.qwen3guard import Qwen3Guard

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    assert Qwen3Guard(str(tiny_guard)).device == "cpu"
