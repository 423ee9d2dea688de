"""The stored record: written in one transaction after its files, and read back as plain data."""
from __future__ import annotations

from datetime import timezone

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from db.engine import run_write
from db.models import (EditRecord, Event, ReferenceWork, RequestImage, ReviewItem, SimilarityMatch, StoredImage,
                       VerdictRecord)
from errors import UserError
from review.guard.base import Verdict
from review.pipeline.gathered import GatheredEdit
from review.pipeline.policy import Decision, PolicyResult
from review.pipeline.submission import EditFailed
from review.queue.states import tags_for
from review.similarity.search import Match


def persist(rt, edit: GatheredEdit, result: PolicyResult) -> dict:
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
