"""The Edit tab: the form (picture, instruction checked live, options, region), Run and Cancel, the /edit endpoint."""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import numpy as np

from review.pipeline.image_input import BadImage, load_image
from review.pipeline.flow import run_edit
from review.pipeline.submission import EditFailed, Submission
from review.pipeline.instruction import MAX_INSTRUCTION_CHARS
from review.privacy.requester import REQUESTER_COOKIE, cookie_id, requester_for
from review.pipeline.runtime import ASSETS
from ui import render
from ui.components import upload_image
from ui.edit_results import EditResults, api_pictures_for, api_record, build_edit_results, show_record
from ui.pictures import LEDGER
from ui.strings import error_message, label, language

log = logging.getLogger(__name__)

MAX_LIVE_CHARS = 4000
PROGRESS_AFTER_S, PROGRESS_EVERY_S = 0.5, 0.2  # see shown_progress
EXAMPLES = [
    [str(ASSETS / "examples" / "coffee.jpg"), "白黒にして少しぼかして"],
    [str(ASSETS / "examples" / "chelsea.jpg"), 'Make it warmer and add the text "Good morning" at the bottom'],
    [str(ASSETS / "references" / "astronaut.jpg"), "Make it sepia and rotate it 90 degrees"],
    [str(ASSETS / "examples" / "coffee.jpg"), "ビンテージ風にして、上に「朝のコーヒー」と文字を入れて"],
]
EXAMPLE_FILES = {Path(e[0]).name for e in EXAMPLES}


def browser_key(rt, request) -> str | None:
    """This browser's id from its server-signed requester cookie (for Cancel and the cache ledger); None without."""
    return cookie_id(rt.secret, (getattr(request, "cookies", None) or {}).get(REQUESTER_COOKIE)) if request else None


def scrub_upload(rt, request, path) -> None:
    """Rewrite an uploaded file in Gradio's cache as the normalised picture the edit sees, without its metadata
    (EXIF, GPS, XMP), and remember it for Delete my data; shipped examples are left alone."""
    if not path or Path(path).name in EXAMPLE_FILES:
        return
    LEDGER.remember(browser_key(rt, request), path)
    try:
        picture = load_image(path)
    except (BadImage, OSError):
        return  # the Run button explains what is wrong with the file
    import secrets

    tmp = f"{path}.{secrets.token_hex(4)}.scrub"  # the upload's change event and Run may scrub the same file at once
    picture.save(tmp, format="PNG", compress_level=1)
    os.replace(tmp, path)


@dataclass
class EditForm:
    """What the requester gives: the picture, the instruction (checked live), references, options, a region."""
    image: gr.Image
    instruction: gr.Textbox
    live: gr.HTML  # the guard's verdict on the instruction while it is typed
    references: gr.File
    negative: gr.Textbox
    seed: gr.Number
    randomize: gr.Checkbox
    steps: gr.Slider
    guidance: gr.Slider
    variants: gr.Slider
    fast: gr.Checkbox
    region: gr.ImageEditor
    run: gr.Button
    cancel: gr.Button


def build_edit_tab(rt, i18n: gr.I18n) -> None:
    with gr.Row(equal_height=False):
        with gr.Column(scale=5):
            form = build_edit_form(rt, i18n)
        with gr.Column(scale=6):
            results = build_edit_results(i18n)
    examples = gr.Examples(EXAMPLES, inputs=[form.image, form.instruction], label=label(i18n, "examples"))
    examples.dataset.headers = []  # the column headers would show untranslated i18n keys
    wire_run(rt, form, results)
    wire_edit_api(rt, form, results)
    wire_live_check(rt, form)
    wire_region(rt, form)


def build_edit_form(rt, i18n: gr.I18n) -> EditForm:
    image = upload_image(label=label(i18n, "image"), sources=["upload", "clipboard"], height=360, elem_id="eg-image")
    instruction = gr.Textbox(label=label(i18n, "instruction"), placeholder=label(i18n, "instruction_placeholder"),
                             lines=2, max_length=MAX_INSTRUCTION_CHARS, elem_id="eg-instruction")
    live = gr.HTML(elem_id="eg-live")
    references = gr.File(label=label(i18n, "references"), file_count="multiple", file_types=["image"], height=140,
                         elem_id="eg-references", visible=uses_references(rt.editor))
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
    with gr.Accordion(label(i18n, "region"), open=False, visible=supports_mask(rt.editor), elem_id="eg-region-box"):
        gr.Markdown(label(i18n, "region_note"))
        region = gr.ImageEditor(type="filepath", label=label(i18n, "region"), height=360, sources=(), layers=False,
                                elem_id="eg-region",
                                brush=gr.Brush(colors=["#ff00ff"], color_mode="fixed", default_size=24))
    with gr.Row():
        run = gr.Button(label(i18n, "run"), variant="primary", elem_id="eg-run", scale=3)
        cancel = gr.Button(label(i18n, "cancel"), variant="stop", elem_id="eg-cancel", scale=1)
    return EditForm(image, instruction, live, references, negative, seed, randomize, steps, guidance, variants, fast,
                    region, run, cancel)


def wire_run(rt, form: EditForm, results: EditResults) -> None:
    """Run (the page's edit: scrubbed uploads, the requester's own pictures back) and Cancel."""
    def on_run(image_path, ref_files, text, negative_text, seed_value, randomize_seed, steps_value, guidance_value,
               variants_value, fast_value, region_value, request: gr.Request,
               profile: gr.OAuthProfile | None = None, progress=gr.Progress()):
        lang = language(request.headers.get("accept-language") if request else None)
        token = browser_key(rt, request)
        for path in [image_path, *[_path(f) for f in (ref_files or [])]]:
            scrub_upload(rt, request, path)
        for path in _editor_files(region_value):  # what the region editor sent back: gone with Delete my data too
            LEDGER.remember(token, path)
        requester = requester_for(rt, request, profile, create=True)
        stop = CANCELS.start(token)
        sub = Submission(
            image=image_path, instruction=text or "", references=[_path(f) for f in (ref_files or [])],
            negative_prompt=negative_text or "", seed=None if randomize_seed else int(seed_value or 0),
            steps=int(steps_value), guidance=float(guidance_value), num_outputs=int(variants_value),
            requester=requester,
            fast=bool(fast_value), mask=painted_mask(region_value), cancel=stop,
        )
        try:
            record = run_edit(rt, sub, progress=shown_progress(progress))
        except EditFailed as exc:
            return (None, [], render.error_html(lang, error_message(lang, exc.code, exc.params)), "", "", seed_value,
                    "", gr.update(visible=False, value=None))
        except Exception:
            log.exception("edit failed")
            return (None, [], render.error_html(lang, error_message(lang, "error", {})), "", "", seed_value, "",
                    gr.update(visible=False, value=None))
        finally:
            CANCELS.finish(token, stop)
        return show_record(rt, lang, record, request, requester)

    def on_cancel(request: gr.Request):
        CANCELS.cancel(browser_key(rt, request))

    f = form
    form.run.click(on_run, [f.image, f.references, f.instruction, f.negative, f.seed, f.randomize, f.steps, f.guidance,
                            f.variants, f.fast, f.region], results.shown(f.seed),
                   concurrency_id="edit", concurrency_limit=rt.edit_concurrency, api_visibility="private")
    form.cancel.click(on_cancel, None, None, api_visibility="private", queue=False)


def wire_edit_api(rt, form: EditForm, results: EditResults) -> None:
    """The documented API: client.predict(handle_file(img), instruction, api_name="/edit"); the rest is optional."""
    def edit(image, instruction, negative_prompt=None, seed=None, steps=None, guidance=None, variants=None, fast=None,
             request: gr.Request = None, profile: gr.OAuthProfile | None = None, progress=gr.Progress()):
        """Edit one picture through the whole gate, as the page does.

        Returns the record (decision, reasons, review status, verdicts, similarity matches, model, parameters) and
        the pictures the caller may see: the labelled files when released, blurred ones while awaiting review,
        none when blocked. A problem with the input is raised as a plain sentence.
        """
        requester = requester_for(rt, request, profile, create=True)
        sub = Submission(image=image, instruction=instruction or "", negative_prompt=negative_prompt or "",
                         seed=None if seed is not None and int(seed) == -1 else int(seed or 0), steps=int(steps or 30),
                         guidance=float(4.0 if guidance is None else guidance), num_outputs=int(variants or 1),
                         fast=bool(fast), requester=requester)
        lang = language(request.headers.get("accept-language") if request else None)
        try:
            record = run_edit(rt, sub, progress=shown_progress(progress))
        except EditFailed as exc:
            raise gr.Error(error_message(lang, exc.code, exc.params), print_exception=False) from None
        return api_record(record), api_pictures_for(rt, record)

    api_seed = gr.Number(value=0, precision=0, minimum=-1, maximum=2**31 - 1, label="seed (-1: random)", visible=False)
    f = form
    gr.Button(visible=False).click(edit, [f.image, f.instruction, f.negative, api_seed, f.steps, f.guidance,
                                          f.variants, f.fast],
                                   [results.api_result, results.api_pictures], api_name="edit", concurrency_id="edit",
                                   concurrency_limit=rt.edit_concurrency, show_progress="hidden")


def wire_live_check(rt, form: EditForm) -> None:
    def on_type(text, request: gr.Request):
        """The guard's verdict while the user types, so they learn before running anything."""
        lang = language(request.headers.get("accept-language") if request else None)
        text = (text or "")[:MAX_LIVE_CHARS]
        if not text.strip():
            return ""
        return render.live_verdict_html(lang, rt.text_guard.check_text(text).to_dict())

    # "always_last": while a check runs, only the newest text waits; older keystrokes are dropped (a debounce)
    form.instruction.change(on_type, form.instruction, form.live, trigger_mode="always_last", show_progress="hidden",
                            api_visibility="private", concurrency_limit=4)


def wire_region(rt, form: EditForm) -> None:
    """The region editor shows the uploaded picture to paint on."""
    def on_upload(path, request: gr.Request):
        scrub_upload(rt, request, path)  # the original with its metadata does not stay in the cache
        return region_background(path, form.region, browser_key(rt, request))

    form.image.change(on_upload, form.image, form.region, api_visibility="private")


def shown_progress(progress, after_s: float = PROGRESS_AFTER_S, every_s: float = PROGRESS_EVERY_S):
    """The gate's stages as Gradio progress, once an edit has run long enough for a person to read them.

    Every update is an event-stream message the server writes and the client parses, under the GIL the edit needs:
    an edit of a fraction of a second is over before its first words could be read, so it sends none (~20 ms less
    per edit through the API here); a model's edit of seconds shows each stage, at most every `every_s`."""
    started, last = time.monotonic(), [0.0]

    def say(fraction: float, desc: str) -> None:
        now = time.monotonic()
        if now - started >= after_s and now - last[0] >= every_s:
            last[0] = now
            progress(fraction, desc=desc)

    return say


def uses_references(editor) -> bool:
    """Only an editor that takes more than one picture (Qwen-Image-Edit-2509 and later) can use reference images."""
    return int(getattr(editor, "max_images", 1) or 1) > 1


def supports_mask(editor) -> bool:
    """"Change only here" is offered only where the editor can limit an edit to a painted region (the CPU editor
    composites; Qwen-Image-Edit inpaints; Qwen-Image 2.1 cannot)."""
    return editor is not None and bool(getattr(editor, "supports_mask", True))


def region_background(path, region=None, key: str | None = None):
    """The uploaded picture, normalised as the edit will see it, to paint on; nothing for an unreadable upload.

    With the editor component given, the picture goes into Gradio's cache here, under a name the cache ledger
    remembers, so Delete my data can remove it."""
    if not path:
        return None
    try:
        picture = load_image(path)
    except (BadImage, OSError):
        return None  # the Run button explains what is wrong with the file
    if region is not None:
        from gradio import processing_utils

        picture = processing_utils.save_pil_to_cache(picture, cache_dir=region.GRADIO_CACHE, format="png")
        LEDGER.remember(key, picture)
    return {"background": picture, "layers": [], "composite": picture}


class _Cancels:
    """One stop flag per browser while its edit runs; Cancel sets it and the model stops between steps."""

    def __init__(self):
        self._events: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def start(self, token) -> threading.Event:
        event = threading.Event()
        if token:
            with self._lock:
                self._events[token] = event
        return event

    def finish(self, token, event) -> None:
        with self._lock:
            if self._events.get(token) is event:
                del self._events[token]

    def cancel(self, token) -> bool:
        with self._lock:
            event = self._events.get(token) if token else None
        if event is not None:
            event.set()
        return event is not None


CANCELS = _Cancels()


def _editor_files(value) -> list[str]:
    if not isinstance(value, dict):
        return []
    return [p for p in [value.get("background"), value.get("composite"), *(value.get("layers") or [])]
            if isinstance(p, str)]


def painted_mask(value):
    """The painted strokes of the region editor as a mask (white = change); None when nothing was painted.
    Layers come as files in Gradio's cache (so they can be removed with the rest of the browser's uploads)."""
    if not value or not value.get("layers"):
        return None
    from PIL import Image

    alpha = None
    for layer in value["layers"]:
        if layer is None:
            continue
        if isinstance(layer, (str, Path)):
            with Image.open(layer) as im:
                layer = im.convert("RGBA")
        a = layer.convert("RGBA").getchannel("A")
        alpha = a if alpha is None else Image.fromarray(np.maximum(np.asarray(alpha), np.asarray(a)))
    if alpha is None or alpha.getextrema()[1] == 0:
        return None
    return alpha.point(lambda v: 255 if v > 0 else 0)


def _path(f) -> str:
    return f if isinstance(f, str) else getattr(f, "name", None) or getattr(f, "path", "")
