"""What a decision teaches the system: a copyright rejection registers the upload as a work; "not a copy" is kept.

Both follow a decision the same reviewer has just made, in a transaction of their own (the decision stands whatever
happens here), and both are in the event log. An exception is keyed by the SHA-256 of the stored upload, so the
same picture uploaded again is not flagged against that work again; a different file of it still is.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from db.engine import run_write
from db.image_store import ImageStore
from db.models import Event, RequestImage, ReviewItem, SimilarityException, SimilarityMatch, StoredImage
from errors import UserError
from review.pipeline.image_input import load_image
from review.queue.accounts import Reviewer
from review.similarity import library

UNKNOWN_LICENSE = "unknown (reported in review)"


class LessonRefused(UserError):
    pass


_REFUSALS = {  # the decision a lesson goes with, and the sentence when it does not
    "rejected": ("lesson.needs_copyright_reject", "Registering the upload needs a rejection with the reason Copyright."),
    "approved": ("lesson.needs_approve", "“Not a copy” goes with an approval."),
}


def refuse_unfitting(decision: str, reason: str, register: bool, not_a_copy: bool) -> None:
    """A lesson that does not go with the decision about to be made is refused before anything is decided."""
    if register and (decision != "reject" or reason != "copyright"):
        raise LessonRefused(_REFUSALS["rejected"][1], _REFUSALS["rejected"][0])
    if not_a_copy and decision != "approve":
        raise LessonRefused(_REFUSALS["approved"][1], _REFUSALS["approved"][0])


def _decided_item(s: Session, who: Reviewer, item_id: int, status: str, reason: str | None = None) -> ReviewItem:
    """The item, if `who` (or an admin) has just decided it as the lesson needs; otherwise the lesson is refused."""
    item = s.get(ReviewItem, item_id)
    if item is None or item.status != status or (item.decided_by != who.name and not who.is_admin) or (
            reason is not None and item.decision_reason != reason):
        code, message = _REFUSALS[status]
        raise LessonRefused(message, code)
    return item


def _upload(s: Session, request_id: str) -> StoredImage | None:
    """The request's main uploaded picture (the one matched against the library)."""
    return s.scalar(select(StoredImage).join(RequestImage, RequestImage.image_sha256 == StoredImage.sha256)
                    .where(RequestImage.request_id == request_id, RequestImage.role == "input",
                           RequestImage.position == 0))


def register_rejected_upload(factory: sessionmaker[Session], store: ImageStore, index, who: Reviewer,
                             item_id: int, title: str = "", owner: str = "") -> int:
    """Register the upload of an item `who` rejected as a copyright copy as a reference work; its number.

    A picture the library already holds (or one that looks the same) is refused with that work's number."""
    with factory() as s:
        item = _decided_item(s, who, item_id, "rejected", reason="copyright")
        upload = _upload(s, item.request_id)
        if upload is None:
            raise LessonRefused("This item's upload is no longer stored.", "lesson.no_upload")
        relpath = upload.relpath
    picture = load_image(store.path(relpath))
    title = (title or "").strip() or f"Reported in review item #{item_id}"
    owner = (owner or "").strip() or "unknown"

    def work(s: Session) -> int:
        ref = library.add_reference(s, store, picture, title=title, owner=owner, license=UNKNOWN_LICENSE,
                                    source=f"review item #{item_id}", actor=who.name, index=index)
        s.add(Event(actor=who.name, kind="review.registered_work", request_id=item.request_id,
                    payload={"item": item_id, "reference_id": ref.id}))
        return ref.id

    return run_write(factory, work)


def remember_not_a_copy(factory: sessionmaker[Session], who: Reviewer, item_id: int) -> int:
    """Keep the upload of an item `who` approved from being flagged against the works it matched; how many works."""
    def work(s: Session) -> int:
        item = _decided_item(s, who, item_id, "approved")
        upload = _upload(s, item.request_id)
        works = set(s.scalars(select(SimilarityMatch.reference_id)
                              .where(SimilarityMatch.request_id == item.request_id)).all())
        if upload is None or not works:
            return 0
        known = set(s.scalars(select(SimilarityException.reference_id)
                              .where(SimilarityException.image_sha256 == upload.sha256)).all())
        for ref_id in sorted(works - known):
            s.add(SimilarityException(image_sha256=upload.sha256, reference_id=ref_id, item_id=item_id,
                                      created_by=who.name))
        s.add(Event(actor=who.name, kind="review.not_a_copy", request_id=item.request_id,
                    payload={"item": item_id, "reference_ids": sorted(works)}))
        return len(works)

    return run_write(factory, work)


def excepted_works(factory: sessionmaker[Session], image_sha256: str) -> set[int]:
    """The works this stored upload is no longer flagged against."""
    with factory() as s:
        return set(s.scalars(select(SimilarityException.reference_id)
                             .where(SimilarityException.image_sha256 == image_sha256)).all())
