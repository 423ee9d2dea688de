"""One moderated edit, end to end: the spine that the page and `python -m review edit` both run.

validate -> prompt guard -> input similarity -> edit -> output guard -> output similarity -> policy -> persist.
An Unsafe instruction is refused before the editor runs; the refusal is recorded. Images are written first
(content-addressed, atomic), then everything else in one database transaction, so a failure leaves no half record.
"""
from __future__ import annotations

import logging
import math
import random
import threading
import time
from concurrent.futures import Future
from datetime import timezone
from dataclasses import dataclass, field
from typing import Callable

from PIL import Image
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, selectinload

from db.engine import StorageUnavailable, run_write
from db.models import (EditRecord, Event, ReferenceWork, RequestImage, ReviewItem, SimilarityMatch, StoredImage,
                       VerdictRecord, new_id)
from editor.base import EditRequest, UnsafePreview
from errors import UserError
from review.pipeline.image_input import BadImage, load_image
from review.guard.base import Verdict, combine
from review.pipeline.instruction import MAX_NEGATIVE_CHARS, BadInstruction, clean_text
from review.pipeline.policy import Decision, PolicyResult, decide
from review.queue.service import tags_for
from review.provenance import watermark
from review.provenance.labeller import source_type_for
from review.provenance.metadata import Facts
from review.similarity.search import Match

log = logging.getLogger(__name__)

MAX_REFERENCES = 3  # unless the editor says otherwise (max_images): Qwen-Image-Edit takes 1-3 images, 2.1 up to 10
MAX_OUTPUTS = 4
MAX_STEPS = 100


class EditFailed(UserError):
    """The edit could not be done; nothing was stored. Carries the cause's code so the page can translate it."""

    @classmethod
    def of(cls, exc: Exception) -> "EditFailed":
        return cls(str(exc), getattr(exc, "code", "error"), **getattr(exc, "params", {}))


@dataclass
class Submission:
    image: object  # a path, bytes or a PIL image
    instruction: str
    references: list = field(default_factory=list)
    negative_prompt: str = ""
    seed: int | None = None  # None: pick one at random (and record it)
    steps: int = 30
    guidance: float = 4.0
    num_outputs: int = 1
    requester: str | None = None
    fast: bool = False  # Lightning LoRA, when the model backend has one
    mask: object = None  # a path, bytes or PIL image: white marks the region to change (model backends)
    cancel: threading.Event | None = None  # set to stop the edit between diffusion steps


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


@dataclass
class _Edit:
    """What one edit has gathered so far, on its way to `_persist`."""

    sub: Submission
    instruction: str
    negative: str
    params: dict
    prompt_verdict: Verdict
    encoded: list[tuple[str, int, Future]]  # (role, position, Future[EncodedImage]): PNG bytes made in the background
    matches: list[Match] = field(default_factory=list)
    output_verdicts: list[Verdict] = field(default_factory=list)
    input_verdicts: list[Verdict] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    edit_ms: float | None = None
    request_id: str = field(default_factory=new_id)  # known before saving: outputs carry it in their provenance


def _run(rt, sub: Submission, say: Callable[[float, str], None]) -> dict:
    say(0.0, "validating")
    main, refs, instruction, negative, params = _validate(rt, sub)
    mask = _load_mask(rt, sub.mask, main)
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
    edit = _Edit(sub, instruction, negative, _requested(params), prompt_verdict, encoded)
    mode = rt.settings.policy_mode

    def refused() -> bool:  # the instruction or an input image: refused before any edit is shown or stored
        edit.input_verdicts = [f.result() for f in input_checks]
        return decide(mode, prompt_verdict, [], [], inputs=edit.input_verdicts).decision == Decision.BLOCKED

    def refusal() -> dict:  # recorded the same way whether or not the CPU editor already ran
        edit.matches = input_matches.result()
        return _persist(rt, edit, decide(mode, prompt_verdict, [], edit.matches, inputs=edit.input_verdicts))

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
        edit.matches = input_matches.result()
        return _persist(rt, edit, decide(mode, prompt_verdict, edit.output_verdicts, edit.matches,
                                         inputs=edit.input_verdicts))
    except Exception:
        log.exception("editor %s failed", rt.editor.name)
        raise EditFailed("The editor failed unexpectedly; nothing was saved. Please try again.", "editor.failed") from None
    edit_ms = (time.perf_counter() - started) * 1000
    if speculative and refused():
        return refusal()
    edit.edit_ms, edit.applied = edit_ms, output.applied
    edit.params = _ran(rt, output)
    facts = _facts(rt, edit, 1 + len(refs))
    # The results' library match (needed for the decision) and labelling (watermark, XMP, PNG, C2PA: needed to
    # save) run in the pool while this thread runs the image guard on them.
    say(0.87, "checking the result")
    output_matches = rt.pool.submit(_matches, rt, [("output", i, im) for i, im in enumerate(output.images)])
    edit.encoded += [("output", i, rt.pool.submit(rt.labeller.encode, im, facts)) for i, im in enumerate(output.images)]
    caption_verdicts = [rt.text_guard.check_text(c) for c in output.captions]
    edit.output_verdicts = [combine(([rt.image_guard.check_image(im)] if rt.image_guard else []) + caption_verdicts,
                                    guard=_output_guard_name(rt)) for im in output.images]
    edit.matches = input_matches.result() + output_matches.result()
    result = decide(mode, prompt_verdict, edit.output_verdicts, edit.matches, inputs=edit.input_verdicts)
    say(0.95, "saving")
    return _persist(rt, edit, result)


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


def _facts(rt, edit: _Edit, input_images: int) -> Facts:
    card = rt.editor.model_card() if hasattr(rt.editor, "model_card") else {}
    revision = edit.params.get("model_revision") or card.get("revision") or ""
    return Facts(source_type=source_type_for(rt.editor.name, input_images), record_id=edit.request_id,
                 model_id=rt.editor.model_id, model_revision=str(revision),
                 model_license=rt.editor.model_license, credit=str(card.get("credit") or ""))


def _output_guard_name(rt) -> str:
    return "+".join(([rt.image_guard.name] if rt.image_guard else []) + [f"{rt.text_guard.name}(captions)"])


def _validate(rt, sub: Submission):
    try:
        instruction = clean_text(sub.instruction)
        negative = clean_text(sub.negative_prompt, field="negative prompt", limit=MAX_NEGATIVE_CHARS, required=False)
        if sub.image is None:
            raise BadImage("Please upload an image to edit.", "image.missing")
        limits = dict(max_pixels=rt.settings.max_pixels, max_bytes=rt.settings.max_upload_mb * 1024 * 1024)
        main = load_image(sub.image, **limits)
        max_refs = getattr(rt.editor, "max_images", MAX_REFERENCES + 1) - 1
        if len(sub.references) > max_refs:
            raise BadImage(f"At most {max_refs} reference images are accepted.", "refs.too_many", n=max_refs)
        refs = []
        for i, ref in enumerate(sub.references):
            try:
                refs.append(load_image(ref, **limits))
            except BadImage as exc:
                raise BadImage(f"Reference image {i + 1}: {exc}", exc.code, reference=i + 1, **exc.params) from None
    except (BadImage, BadInstruction) as exc:
        raise EditFailed.of(exc) from None
    # what is asked for; the record keeps it only until the editor reports what it actually used (`_ran`)
    params = {
        "seed": random.randrange(2**31) if sub.seed is None else _bounded(sub.seed, 0, 2**31 - 1, "seed"),
        "steps": _bounded(sub.steps, 1, MAX_STEPS, "steps"),
        "guidance": _guidance(sub.guidance),
        "num_outputs": _bounded(sub.num_outputs, 1, MAX_OUTPUTS, "number of outputs"),
        "references": len(refs),
        "fast": bool(sub.fast),
    }
    if rt.editor.deterministic:
        params["num_outputs"] = 1  # a deterministic editor would only repeat itself
    return main, refs, instruction, negative, params


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


def _load_mask(rt, source, main: Image.Image) -> Image.Image | None:
    """The region to change, as a grey mask the size of the main image (white = change)."""
    if source is None:
        return None
    try:
        mask = load_image(source, max_pixels=rt.settings.max_pixels).convert("L")
    except BadImage as exc:
        raise EditFailed.of(exc) from None
    if mask.getextrema()[1] == 0:
        return None  # nothing painted: a plain edit
    return mask.resize(main.size)


def _guidance(value) -> float:
    """Finite, clamped to 0-20: NaN would be stored as NaN and written out as invalid JSON."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value):
        raise EditFailed("The guidance must be between 0 and 20.", "param.range", name="guidance", lo=0, hi=20)
    return min(max(value, 0.0), 20.0)


def _bounded(value, lo: int, hi: int, name: str) -> int:
    try:
        value = int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an infinite float
        raise EditFailed(f"The {name} must be a whole number.", "param.range", name=name, lo=lo, hi=hi) from None
    if not lo <= value <= hi:
        raise EditFailed(f"The {name} must be between {lo} and {hi}.", "param.range", name=name, lo=lo, hi=hi)
    return value


def _matches(rt, targets: list[tuple[str, int, Image.Image]]) -> list[Match]:
    found = []
    for target, position, image in targets:
        for m in rt.index.search(image):
            found.append(Match(**{**m.__dict__, "target": target, "position": position}))
    return found


def _persist(rt, edit: _Edit, result: PolicyResult) -> dict:
    """Image files first (atomic, content-addressed), then one transaction. Blocked outputs are never written."""
    try:  # the files are written side by side (each waits for its own fsync)
        writes = [(role, pos, rt.pool.submit(rt.store.write, future.result())) for role, pos, future in edit.encoded
                  if role != "output" or result.decision != Decision.BLOCKED]
        saved = [(role, pos, future.result()) for role, pos, future in writes]
    except UserError as exc:  # the output could not be labelled (C2PA): nothing is recorded as released unlabelled
        raise EditFailed.of(exc) from None
    sub = edit.sub

    def work(session: Session) -> str:
        _insert_images(session, [s for _, _, s in saved])
        req = EditRecord(
            id=edit.request_id, requester=sub.requester, instruction=edit.instruction, negative_prompt=edit.negative, params=edit.params,
            backend=rt.editor.name, model_id=rt.editor.model_id, model_license=rt.editor.model_license,
            policy_mode=rt.settings.policy_mode.value, decision=result.decision.value,
            decision_reasons=list(result.reasons), warnings=list(result.warnings), applied=list(edit.applied),
            edit_ms=edit.edit_ms,
        )
        session.add(req)
        session.flush()
        for role, pos, s in saved:
            session.add(RequestImage(request_id=req.id, role=role, position=pos, image_sha256=s.sha256))
        judged = [("instruction", None, edit.prompt_verdict), *(("input", i, v) for i, v in enumerate(edit.input_verdicts)),
                  *(("output", i, v) for i, v in enumerate(edit.output_verdicts))]
        for target, pos, v in judged:
            d = v.to_dict()
            session.add(VerdictRecord(request_id=req.id, target=target, position=pos,
                                   guard=v.guard, label=v.label.value, categories=d["categories"],
                                   evidence=d["evidence"] + ([{"note": v.note}] if v.note else []),
                                   available=v.available))
        for m in edit.matches:
            session.add(SimilarityMatch(request_id=req.id, target=m.target, position=m.position,
                                        reference_id=m.reference_id, hash_kind=m.hash_kind, distance=m.distance,
                                        level=m.level, score=m.score, view=f"{m.transform}/{m.query_view}",
                                        evidence=m.evidence))
        if result.decision == Decision.PENDING:
            session.add(ReviewItem(request_id=req.id, reasons=list(result.reasons),
                                   tags=tags_for(list(result.reasons), [edit.prompt_verdict, *edit.input_verdicts,
                                                                        *edit.output_verdicts]),
                                   priority=_priority(edit.prompt_verdict, edit.input_verdicts + edit.output_verdicts,
                                                      edit.matches)))
        session.add(Event(actor=sub.requester or "anonymous", kind=f"edit.{result.decision.value}",
                          request_id=req.id, payload={"reasons": list(result.reasons)}))
        return req.id

    request_id = run_write(rt.session_factory, work)
    rt.store.ensure([future.result() for role, pos, future in edit.encoded
                     if role != "output" or result.decision != Decision.BLOCKED])  # a purge ran meanwhile: see there
    return load_record(rt, request_id)


def _insert_images(session: Session, images) -> None:
    """Content-addressed rows: a picture already known is simply referenced again (race-free upsert)."""
    rows = [dict(s.__dict__) for s in {s.sha256: s for s in images}.values()]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}.get(dialect)
    if insert is None:
        for row in rows:
            if session.get(StoredImage, row["sha256"]) is None:
                session.add(StoredImage(**row))
        session.flush()
        return
    session.execute(insert(StoredImage).values(rows).on_conflict_do_nothing(index_elements=["sha256"]))


def _priority(prompt: Verdict, outputs: list[Verdict], matches: list[Match]) -> int:
    """Higher first in the queue: a near-certain copy or an unavailable guard outranks a plain Controversial."""
    score = 0
    if any(m.level == "review" for m in matches):
        score += 2
    if not prompt.available or not all(v.available for v in outputs):
        score += 2
    if any(v.label.value == "Controversial" for v in [prompt, *outputs]):
        score += 1
    return score


def load_record(rt, request_id: str) -> dict:
    """The stored record as plain data: what the CLI prints and the page shows."""
    with rt.session_factory() as session:
        req = session.scalar(
            select(EditRecord).where(EditRecord.id == request_id).options(
                selectinload(EditRecord.images).selectinload(RequestImage.image),
                selectinload(EditRecord.verdicts), selectinload(EditRecord.review_item),
                selectinload(EditRecord.matches).selectinload(SimilarityMatch.reference).selectinload(
                    ReferenceWork.image),
            )
        )
        if req is None:
            raise KeyError(request_id)
        paths = {role: [str(rt.store.path(ri.image.relpath)) for ri in req.images if ri.role == role]
                 for role in ("input", "reference", "output")}
        instruction_verdict = next(v for v in req.verdicts if v.target == "instruction")
        return {
            "id": req.id,
            "created_at": req.created_at.replace(tzinfo=req.created_at.tzinfo or timezone.utc).isoformat(),
            "decision": req.decision,
            "reasons": list(req.decision_reasons),
            "warnings": list(req.warnings),
            "review_status": req.review_item.status if req.review_item else None,
            "instruction": req.instruction,
            "negative_prompt": req.negative_prompt,
            "params": dict(req.params),
            "backend": req.backend,
            "model": req.model_id,
            "model_license": req.model_license,
            "policy_mode": req.policy_mode,
            "applied": list(req.applied),
            "edit_ms": req.edit_ms,
            "verdicts": {
                "instruction": _verdict_dict(instruction_verdict),
                "inputs": [_verdict_dict(v) for v in req.verdicts if v.target == "input"],
                "outputs": [_verdict_dict(v) for v in req.verdicts if v.target == "output"],
            },
            "matches": [
                {"reference_id": m.reference_id, "title": m.reference.title, "owner": m.reference.owner,
                 "license": m.reference.license, "source": m.reference.source,
                 "reference_image": str(rt.store.path(m.reference.image.relpath)),
                 "level": m.level, "distance": m.distance, "hash_kind": m.hash_kind, "score": m.score,
                 "view": m.view, "target": m.target, "position": m.position, "evidence": m.evidence}
                for m in req.matches
            ],
            "inputs": paths["input"],
            "references": paths["reference"],
            "outputs": paths["output"],
        }


def _verdict_dict(v: VerdictRecord) -> dict:
    return {"label": v.label, "categories": list(v.categories), "guard": v.guard, "available": v.available,
            "evidence": [e for e in v.evidence if "rule" in e],
            "note": "; ".join(e["note"] for e in v.evidence if "note" in e)}
