"""The Edit tab: upload, instruction, options, run; results with verdict badges, similarity warnings, decision."""
from __future__ import annotations

import logging
import secrets
import threading
from pathlib import Path

import gradio as gr
import numpy as np

from editor.image_input import BadImage, load_image
from review.flow import EditFailed, Submission, run_edit
from review.runtime import ASSETS
from ui import render
from ui.components import upload_image
from ui.strings import error_message, label, language

log = logging.getLogger(__name__)

MAX_LIVE_CHARS = 4000
EXAMPLES = [
    [str(ASSETS / "examples" / "coffee.jpg"), "白黒にして少しぼかして"],
    [str(ASSETS / "examples" / "chelsea.jpg"), 'Make it warmer and add the text "Good morning" at the bottom'],
    [str(ASSETS / "references" / "astronaut.jpg"), "Make it sepia and rotate it 90 degrees"],
    [str(ASSETS / "examples" / "coffee.jpg"), "ビンテージ風にして、上に「朝のコーヒー」と文字を入れて"],
]


def new_browser_token(current: str | None) -> str:
    """A random per-browser id (kept in the browser's storage) so a requester's records are theirs alone."""
    return current if valid_browser_token(current) else secrets.token_hex(16)


def valid_browser_token(token) -> bool:
    """Only ids this app made count: a caller of the API cannot pick a short, guessable one."""
    return isinstance(token, str) and len(token) == 32 and all(c in "0123456789abcdef" for c in token)


def build_edit_tab(rt, i18n: gr.I18n, browser_token: gr.BrowserState) -> None:
    with gr.Row(equal_height=False):
        with gr.Column(scale=5):
            image = upload_image(label=label(i18n, "image"), sources=["upload", "clipboard"], height=360, elem_id="eg-image")
            instruction = gr.Textbox(label=label(i18n, "instruction"), placeholder=label(i18n, "instruction_placeholder"), lines=2,
                                     max_length=4000, elem_id="eg-instruction")
            live = gr.HTML(elem_id="eg-live")
            references = gr.File(label=label(i18n, "references"), file_count="multiple", file_types=["image"], height=140,
                                 elem_id="eg-references")
            with gr.Accordion(label(i18n, "advanced"), open=False):
                gr.Markdown(label(i18n, "advanced_note"))
                negative = gr.Textbox(label=label(i18n, "negative"), lines=1, max_length=2000)
                with gr.Row():
                    seed = gr.Number(label=label(i18n, "seed"), value=0, precision=0, minimum=0, maximum=2**31 - 1)
                    randomize = gr.Checkbox(label=label(i18n, "randomize"), value=True)
                with gr.Row():
                    steps = gr.Slider(1, 100, value=30, step=1, label=label(i18n, "steps"))
                    guidance = gr.Slider(0.0, 20.0, value=4.0, step=0.5, label=label(i18n, "guidance"))
                    variants = gr.Slider(1, 4, value=1, step=1, label=label(i18n, "variants"))
                fast = gr.Checkbox(label=label(i18n, "fast"), value=False, elem_id="eg-fast",
                                   interactive=bool(getattr(rt.editor, "fast_available", False)))
            with gr.Accordion(label(i18n, "region"), open=False):
                gr.Markdown(label(i18n, "region_note"))
                region = gr.ImageEditor(type="pil", label=label(i18n, "region"), height=360, sources=(),
                                        layers=False, elem_id="eg-region",
                                        brush=gr.Brush(colors=["#ff00ff"], color_mode="fixed", default_size=24))
            with gr.Row():
                run = gr.Button(label(i18n, "run"), variant="primary", elem_id="eg-run", scale=3)
                cancel = gr.Button(label(i18n, "cancel"), variant="stop", elem_id="eg-cancel", scale=1)
        with gr.Column(scale=6):
            decision = gr.HTML(elem_id="eg-decision-box")
            compare = gr.ImageSlider(label=label(i18n, "compare"), type="pil", max_height=420, interactive=False,
                                     elem_id="eg-compare")
            outputs = gr.Gallery(label=label(i18n, "outputs"), columns=4, height=240, object_fit="contain", elem_id="eg-outputs", interactive=False)
            provenance = gr.HTML(elem_id="eg-provenance-box")
            download = gr.DownloadButton(label(i18n, "download_labelled"), visible=False, elem_id="eg-download")
            verdicts = gr.HTML(elem_id="eg-verdicts-box")
            matches = gr.HTML(elem_id="eg-matches-box")
    examples = gr.Examples(EXAMPLES, inputs=[image, instruction], label=label(i18n, "examples"))
    examples.dataset.headers = []  # the column headers would show untranslated i18n keys

    def on_run(image_path, ref_files, text, negative_text, seed_value, randomize_seed, steps_value, guidance_value,
               variants_value, fast_value, region_value, token, request: gr.Request, progress=gr.Progress()):
        lang = language(request.headers.get("accept-language") if request else None)
        stop = CANCELS.start(token)
        sub = Submission(
            image=image_path, instruction=text or "", references=[_path(f) for f in (ref_files or [])],
            negative_prompt=negative_text or "", seed=None if randomize_seed else int(seed_value or 0),
            steps=int(steps_value), guidance=float(guidance_value), num_outputs=int(variants_value),
            requester=f"browser:{token}" if valid_browser_token(token) else None,
            fast=bool(fast_value), mask=painted_mask(region_value), cancel=stop,
        )
        try:
            record = run_edit(rt, sub, progress=lambda f, d: progress(f, desc=d))
        except EditFailed as exc:
            return (None, [], render.error_html(lang, error_message(lang, exc.code, exc.params)), "", "", seed_value,
                    "", gr.update(visible=False, value=None))
        except Exception:
            log.exception("edit failed")
            return (None, [], render.error_html(lang, error_message(lang, "error", {})), "", "", seed_value, "",
                    gr.update(visible=False, value=None))
        finally:
            CANCELS.finish(token, stop)
        return _show(rt, lang, record)

    def on_cancel(token):
        CANCELS.cancel(token)

    run.click(on_run, [image, references, instruction, negative, seed, randomize, steps, guidance, variants,
                       fast, region, browser_token], [compare, outputs, decision, verdicts, matches, seed, provenance,
                                                      download],
              concurrency_id="edit", concurrency_limit=rt.edit_concurrency)
    cancel.click(on_cancel, [browser_token], None, api_visibility="private", queue=False)

    # TEMPORARY stand-in for issue 11's documented /edit endpoint (same call: predict(handle_file(img), instruction,
    # api_name="/edit")), so bench/load.py and the concurrency test can run here; when merging, keep issue 11's.
    api_result = gr.JSON(visible=False)

    def edit(image_path, text):
        try:
            record = run_edit(rt, Submission(image=image_path, instruction=text or "", seed=0))
        except EditFailed as exc:
            raise gr.Error(error_message(language(None), exc.code, exc.params), print_exception=False) from None
        shown = (list(record["outputs"]) if record["decision"] == "released" else
                 [_blurred_file(p) for p in record["outputs"]] if record["decision"] == "pending_review" else [])
        return {k: record[k] for k in ("id", "decision", "reasons", "review_status")}, shown

    gr.Button(visible=False).click(edit, [image, instruction], [api_result, outputs], api_name="edit",
                                   concurrency_id="edit", concurrency_limit=rt.edit_concurrency, show_progress="hidden")

    def on_type(text, request: gr.Request):
        """The guard's verdict while the user types, so they learn before running anything."""
        lang = language(request.headers.get("accept-language") if request else None)
        text = (text or "")[:MAX_LIVE_CHARS]
        if not text.strip():
            return ""
        return render.live_verdict_html(lang, rt.text_guard.check_text(text).to_dict())

    # "always_last": while a check runs, only the newest text waits; older keystrokes are dropped (a debounce)
    instruction.change(on_type, instruction, live, trigger_mode="always_last", show_progress="hidden",
                      api_visibility="private", concurrency_limit=4)
    # the region editor shows the uploaded picture to paint on
    image.change(region_background, image, region, api_visibility="private")


def region_background(path):
    """The uploaded picture, normalised as the edit will see it, to paint on; nothing for an unreadable upload."""
    if not path:
        return None
    try:
        picture = load_image(path)
    except BadImage:
        return None  # the Run button explains what is wrong with the file
    return {"background": picture, "layers": [], "composite": picture}


class _Cancels:
    """One stop flag per browser while its edit runs; Cancel sets it and the model stops between steps."""

    def __init__(self):
        self._events: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def start(self, token) -> threading.Event:
        event = threading.Event()
        if valid_browser_token(token):
            with self._lock:
                self._events[token] = event
        return event

    def finish(self, token, event) -> None:
        with self._lock:
            if self._events.get(token) is event:
                del self._events[token]

    def cancel(self, token) -> bool:
        with self._lock:
            event = self._events.get(token) if valid_browser_token(token) else None
        if event is not None:
            event.set()
        return event is not None


CANCELS = _Cancels()


def painted_mask(value):
    """The painted strokes of the region editor as a mask (white = change); None when nothing was painted."""
    if not value or not value.get("layers"):
        return None
    from PIL import Image

    alpha = None
    for layer in value["layers"]:
        if layer is None:
            continue
        a = layer.convert("RGBA").getchannel("A")
        alpha = a if alpha is None else Image.fromarray(np.maximum(np.asarray(alpha), np.asarray(a)))
    if alpha is None or alpha.getextrema()[1] == 0:
        return None
    return alpha.point(lambda v: 255 if v > 0 else 0)


def _path(f) -> str:
    return f if isinstance(f, str) else getattr(f, "name", None) or getattr(f, "path", "")


def _show(rt, lang: str, record: dict):
    # Pictures go to Gradio as files, never as PIL images: Gradio names a PIL image's cached copy by its content
    # and rewrites it in place, so two users editing the same picture at once could be served a half-written
    # "before" picture. The stored files are immutable (content-addressed) and Gradio copies files atomically;
    # it also skips a WebP encode per picture.
    before = record["inputs"][0]
    download = gr.update(visible=False, value=None)
    if record["decision"] == "released":
        # the stored files themselves, so a download keeps their labels (metadata, Content Credentials, watermark)
        shown = list(record["outputs"])
        compare = (before, shown[0]) if shown else None
        if shown:
            download = gr.update(visible=True, value=_named_copy(shown[0], record["id"]))
    elif record["decision"] == "pending_review":
        shown = [_blurred_file(p) for p in record["outputs"]]
        compare = (before, shown[0]) if shown else None
    else:
        shown, compare = [], None
    card = rt.editor.model_card() if hasattr(rt.editor, "model_card") else {}
    provenance = render.provenance_html(lang, record, card, rt.labeller.status()) if record["outputs"] else ""
    return (compare, shown, render.decision_html(lang, record), render.verdicts_html(lang, record),
            render.matches_html(lang, record), record["params"]["seed"], provenance, download)


def _blurred_file(path: str) -> str:
    """The blurred preview of a stored output as a file named after it, written once and atomically."""
    import os
    import tempfile

    target = Path(tempfile.gettempdir()) / "editguard-previews" / f"{Path(path).stem}-blurred.webp"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, staging = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".webp")
        try:
            with os.fdopen(fd, "wb") as fh:
                render.blurred(path).save(fh, "WEBP", quality=80)
            os.replace(staging, target)
        except BaseException:
            Path(staging).unlink(missing_ok=True)
            raise
    return str(target)


def _named_copy(path: str, record_id: str) -> str:
    """The labelled file under a name that says what it is (the store names files by their hash)."""
    import shutil
    import tempfile

    target = Path(tempfile.mkdtemp(prefix="editguard-")) / f"editguard-{record_id}.png"
    shutil.copyfile(path, target)
    return str(target)
