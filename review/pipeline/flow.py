"""One moderated edit, end to end: the spine that the page and `python -m review edit` both run.

validate -> prompt guard -> input similarity -> edit -> output guard -> output similarity -> policy -> persist.
An Unsafe instruction is refused before the editor runs; the refusal is recorded. Images are written first
(content-addressed, atomic), then everything else in one database transaction, so a failure leaves no half record.
"""
from __future__ import annotations

import logging
import time
from typing import Callable

from PIL import Image
from sqlalchemy.exc import OperationalError

from db.engine import StorageUnavailable
from editor.base import EditRequest, UnsafePreview
from errors import UserError
from review.guard.base import combine
from review.pipeline.gathered import GatheredEdit
from review.pipeline.policy import Decision, decide
from review.pipeline.record import persist
from review.pipeline.submission import EditFailed, Submission, load_mask, validate
from review.provenance import watermark
from review.provenance.labeller import source_type_for
from review.provenance.metadata import Facts
from review.queue.lessons import excepted_works
from review.similarity.search import Match

log = logging.getLogger(__name__)



def run_edit(rt, sub: Submission, progress: Callable[[float, str], None] | None = None) -> dict:
    """Run the whole gate for one submission and return the stored record (see `load_record`).

    Raises EditFailed (with a code the page translates) for anything the user should hear about.
    """
    try:
        return _run(rt, sub, progress or (lambda _f, _d: None))
    except (StorageUnavailable, OperationalError) as exc:
        code = exc.code if isinstance(exc, StorageUnavailable) else "db.unavailable"
        log.warning("database problem during an edit: %s", exc)
        raise EditFailed("The database is busy; nothing was saved. Please try again in a moment." if code == "db.busy"
                         else "The database is unavailable; nothing was saved. Please try again later.", code) from None


def _run(rt, sub: Submission, say: Callable[[float, str], None]) -> dict:
    say(0.0, "validating")
    main, refs, instruction, negative, params = validate(rt, sub)
    mask = load_mask(rt, sub.mask, main)
    request = EditRequest(image=main, instruction=instruction, references=refs, negative_prompt=negative,
                            seed=params["seed"], steps=params["steps"], guidance=params["guidance"],
                            num_outputs=params["num_outputs"], fast=sub.fast, mask=mask, cancel=sub.cancel,
                            preview_check=rt.image_guard.check_image if rt.image_guard else None)
    _refuse_unsupported(rt, request)
    inputs = [("input", 0, main)] + [("reference", i, r) for i, r in enumerate(refs)]
    # Checking the inputs, matching them against the library and encoding them run in the background, beside the
    # text guard and the editor, submitted in the order they are needed (a busy pool starts them in that order).
    input_checks = [rt.pool.submit(rt.image_guard.check_image, im) for _, _, im in inputs] if rt.image_guard else []
    input_matches = rt.pool.submit(_matches, rt, inputs)
    encoded = [(role, pos, rt.pool.submit(rt.store.encode, im)) for role, pos, im in inputs]

    say(0.05, "checking the instruction")
    prompt_verdict = rt.text_guard.check_text(instruction + ("\n" + negative if negative else ""))
    edit = GatheredEdit(sub, instruction, negative, _requested(params), prompt_verdict, encoded)
    mode = rt.settings.policy_mode

    def refused() -> bool:  # the instruction or an input image: refused before any edit is shown or stored
        edit.input_verdicts = [f.result() for f in input_checks]
        return decide(mode, prompt_verdict, [], [], inputs=edit.input_verdicts).decision == Decision.BLOCKED

    def refusal() -> dict:  # recorded the same way whether or not the CPU editor already ran
        edit.matches = _unexcepted(rt, edit, input_matches.result())
        return persist(rt, edit, decide(mode, prompt_verdict, [], edit.matches, inputs=edit.input_verdicts))

    # A model waits for the input images' check: no GPU time is spent on a refused picture. The CPU editor's filters
    # cost less than the check, so they run beside it and their result is dropped if the picture is refused.
    speculative = rt.editor.name == "classic"
    if not speculative or decide(mode, prompt_verdict, [], []).decision == Decision.BLOCKED:
        if refused():
            return refusal()

    say(0.1, "editing")
    started = time.perf_counter()
    try:
        output = rt.editor.edit(request, progress=lambda f, d: say(0.1 + 0.75 * f, d))
    except UserError as exc:  # the editor declined, or the user cancelled
        if speculative and refused():
            return refusal()
        raise EditFailed.of(exc) from None
    except UnsafePreview as stop:  # the image guard stopped the generation early: record it as blocked
        refused()
        edit.edit_ms = (time.perf_counter() - started) * 1000
        edit.params = {**getattr(stop, "params", {}), "stopped_at_step": stop.step}
        edit.output_verdicts = [combine([stop.verdict], guard=_output_guard_name(rt))]
        edit.matches = _unexcepted(rt, edit, input_matches.result())
        return persist(rt, edit, decide(mode, prompt_verdict, edit.output_verdicts, edit.matches,
                                         inputs=edit.input_verdicts))
    except Exception:
        log.exception("editor %s failed", rt.editor.name)
        raise EditFailed("The editor failed unexpectedly; nothing was saved. Please try again.", "editor.failed") from None
    edit_ms = (time.perf_counter() - started) * 1000
    params = _ran(rt, output)
    facts = _facts(rt, edit.request_id, params, 1 + len(refs))
    # The results' labelling (watermark, XMP, PNG, C2PA: needed to save; the longest, so first) and library match
    # (needed for the decision) run in the pool while this thread runs the image guard on them. After the CPU
    # editor that starts before the inputs' own check has answered: if the inputs are refused, these results are
    # dropped unseen and unsaved.
    say(0.87, "checking the result")
    labelled = [("output", i, rt.pool.submit(rt.labeller.encode, im, facts)) for i, im in enumerate(output.images)]
    output_matches = rt.pool.submit(_matches, rt, [("output", i, im) for i, im in enumerate(output.images)])
    caption_verdicts = [rt.text_guard.check_text(c) for c in output.captions]
    output_verdicts = [combine(([rt.image_guard.check_image(im)] if rt.image_guard else []) + caption_verdicts,
                               guard=_output_guard_name(rt)) for im in output.images]
    if speculative and refused():
        return refusal()
    edit.edit_ms, edit.applied, edit.params = edit_ms, output.applied, params
    edit.encoded += labelled
    edit.output_verdicts = output_verdicts
    edit.matches = _unexcepted(rt, edit, input_matches.result() + output_matches.result())
    result = decide(mode, prompt_verdict, edit.output_verdicts, edit.matches, inputs=edit.input_verdicts)
    say(0.95, "saving")
    return persist(rt, edit, result)


def _ran(rt, output) -> dict:
    """The record's params: what the editor reports it used, plus which pixels the guard and hashes judged.

    The output guard and the perceptual hashes see the edited picture before the labeller adds the invisible
    watermark and the optional visible mark; the stored file (and its SHA-256) carries them. `checked_stage` says so.
    """
    labeller = getattr(rt, "labeller", None)
    big_enough = all(im.width * im.height >= getattr(watermark, "MIN_PIXELS", 0) for im in output.images)
    marked = bool(labeller and ((getattr(labeller, "watermark_on", False) and big_enough)
                                or labeller.settings.visible_mark))
    return {**output.params, "checked_stage": "before_marks" if marked else "stored"}


def _facts(rt, request_id: str, params: dict, input_images: int) -> Facts:
    card = rt.editor.model_card() if hasattr(rt.editor, "model_card") else {}
    revision = params.get("model_revision") or card.get("revision") or ""
    return Facts(source_type=source_type_for(rt.editor.name, input_images), record_id=request_id,
                 model_id=rt.editor.model_id, model_revision=str(revision),
                 model_license=rt.editor.model_license, credit=str(card.get("credit") or ""))


def _output_guard_name(rt) -> str:
    return "+".join(([rt.image_guard.name] if rt.image_guard else []) + [f"{rt.text_guard.name}(captions)"])


def _refuse_unsupported(rt, request: EditRequest) -> None:
    """A combination the backend would carry out only in part is refused in words before anything runs."""
    refuse = getattr(rt.editor, "refuse_unsupported", None)
    if refuse is None:
        return
    try:
        refuse(request)
    except UserError as exc:
        raise EditFailed.of(exc) from None


def _requested(params: dict) -> dict:
    """The record's params when the editor never ran: the request's wishes, labelled as such."""
    return {"requested": params}


def _unexcepted(rt, edit: GatheredEdit, matches: list[Match]) -> list[Match]:
    """The matches left once a reviewer's "not a copy" for this very upload and work is taken into account."""
    if not matches:
        return matches
    upload = next(future for role, _, future in edit.encoded if role == "input").result()
    excepted = excepted_works(rt.session_factory, upload.sha256)
    return [m for m in matches if m.reference_id not in excepted]


def _matches(rt, targets: list[tuple[str, int, Image.Image]]) -> list[Match]:
    found = []
    for target, position, image in targets:
        for m in rt.index.search(image):
            found.append(Match(**{**m.__dict__, "target": target, "position": position}))
    return found


