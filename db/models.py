"""SQLAlchemy 2 typed models: one edit request and everything the gate decided about it."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import (JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_id() -> str:
    """Record ids are random (not sequential) so one requester cannot guess another's record."""
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True), dict: JSON, list: JSON}


class StoredImage(Base):
    """A content-addressed image file in the data directory (sha256 of the bytes on disk)."""

    __tablename__ = "images"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    relpath: Mapped[str] = mapped_column(String(300))
    width: Mapped[int]
    height: Mapped[int]
    format: Mapped[str] = mapped_column(String(10))
    size_bytes: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EditRecord(Base):
    __tablename__ = "edit_requests"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    requester: Mapped[str | None] = mapped_column(String(200), index=True)
    instruction: Mapped[str] = mapped_column(Text)
    negative_prompt: Mapped[str] = mapped_column(Text, default="")
    params: Mapped[dict] = mapped_column(default=dict)
    backend: Mapped[str] = mapped_column(String(60))
    model_id: Mapped[str] = mapped_column(String(200))
    model_license: Mapped[str] = mapped_column(String(200))
    policy_mode: Mapped[str] = mapped_column(String(10))
    decision: Mapped[str] = mapped_column(String(20), index=True)  # released | pending_review | blocked
    decision_reasons: Mapped[list] = mapped_column(default=list)
    warnings: Mapped[list] = mapped_column(default=list)
    applied: Mapped[list] = mapped_column(default=list)  # what the editor did, in words
    edit_ms: Mapped[float | None] = mapped_column(Float)

    images: Mapped[list[RequestImage]] = relationship(order_by="RequestImage.role, RequestImage.position")
    verdicts: Mapped[list[VerdictRecord]] = relationship(order_by="VerdictRecord.id")
    matches: Mapped[list[SimilarityMatch]] = relationship(order_by="SimilarityMatch.id")
    review_item: Mapped[ReviewItem | None] = relationship(back_populates="request")


class RequestImage(Base):
    """Links a request to its images: role is input (the main image), reference, or output."""

    __tablename__ = "request_images"
    __table_args__ = (UniqueConstraint("request_id", "role", "position"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("edit_requests.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(10))
    position: Mapped[int]
    image_sha256: Mapped[str] = mapped_column(ForeignKey("images.sha256"))
    image: Mapped[StoredImage] = relationship()


class VerdictRecord(Base):
    """One guard verdict: on the instruction (position NULL) or on output number `position`."""

    __tablename__ = "verdicts"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("edit_requests.id", ondelete="CASCADE"), index=True)
    target: Mapped[str] = mapped_column(String(12))  # instruction | output
    position: Mapped[int | None]
    guard: Mapped[str] = mapped_column(String(60))
    label: Mapped[str] = mapped_column(String(16), index=True)
    categories: Mapped[list] = mapped_column(default=list)
    evidence: Mapped[list] = mapped_column(default=list)
    available: Mapped[bool] = mapped_column(Boolean, default=True)


class ReferenceWork(Base):
    """A registered work whose look-alikes get a similarity warning."""

    __tablename__ = "reference_works"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    owner: Mapped[str] = mapped_column(String(300))
    license: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(500), default="")
    image_sha256: Mapped[str] = mapped_column(ForeignKey("images.sha256"), unique=True)
    phash: Mapped[str] = mapped_column(String(16), index=True)  # 64-bit imagehash pHash, hex
    phash_variants: Mapped[list] = mapped_column(default=list)  # pHash of the 8 rotations/mirrors, hex
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    pdq_quality: Mapped[int | None]
    hash_version: Mapped[int] = mapped_column(default=0, index=True)  # hashes.HASH_VERSION when the codes were made
    added_by: Mapped[str] = mapped_column(String(200), default="")
    image: Mapped[StoredImage] = relationship()
    hashes: Mapped[list["ReferenceHashes"]] = relationship(cascade="all, delete-orphan", passive_deletes=True)


class ReferenceHashes(Base):
    """All codes of one hash kind for one reference: `codes` is the views' codes back to back, in `views` order."""

    __tablename__ = "reference_hashes"
    reference_id: Mapped[int] = mapped_column(ForeignKey("reference_works.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    views: Mapped[list] = mapped_column(default=list)
    codes: Mapped[bytes] = mapped_column(LargeBinary)


class LibraryChange(Base):
    """One row per change to the active reference set: in-memory indexes (any process, any replica) read the newest
    `seq` on each search and apply only the changes after the one they have seen."""

    __tablename__ = "library_changes"
    seq: Mapped[int] = mapped_column(primary_key=True)
    reference_id: Mapped[int] = mapped_column(Integer)
    op: Mapped[str] = mapped_column(String(10))  # add | remove (deactivated or deleted)


class SimilarityMatch(Base):
    __tablename__ = "similarity_matches"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("edit_requests.id", ondelete="CASCADE"), index=True)
    target: Mapped[str] = mapped_column(String(10))  # input | reference | output
    position: Mapped[int]
    reference_id: Mapped[int] = mapped_column(ForeignKey("reference_works.id"))
    hash_kind: Mapped[str] = mapped_column(String(20))
    distance: Mapped[int]
    level: Mapped[str] = mapped_column(String(10))  # warn | review
    score: Mapped[float | None] = mapped_column(Float)  # share of unrelated picture pairs that are further apart (bench.similarity)
    view: Mapped[str | None] = mapped_column(String(40))  # which views met: "reference view/query view"
    # what the confidence rests on: geometric verification (keypoints, shared region as a polygon in fractions of the
    # work, for the console's outline) or the hash alone (review.similarity.search.Match.evidence)
    evidence: Mapped[dict | None] = mapped_column(JSON)
    reference: Mapped[ReferenceWork] = relationship()


class ReviewItem(Base):
    """An edit that needs a person: pending -> claimed (with a lease) -> approved | rejected | escalated.

    An escalated item waits for an admin, who claims and decides it like any other.
    """

    __tablename__ = "review_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("edit_requests.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    reasons: Mapped[list] = mapped_column(default=list)
    tags: Mapped[str] = mapped_column(String(500), default="|")  # "|reason:x|label:y|cat:z|": for list filters
    priority: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None]
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)  # once escalated, only admins decide it
    decided_by: Mapped[str | None] = mapped_column(String(200), index=True)
    decided_at: Mapped[datetime | None] = mapped_column(index=True)
    decision_reason: Mapped[str | None] = mapped_column(String(60))
    decision_note: Mapped[str | None] = mapped_column(Text)
    excluded_reviewer: Mapped[str | None] = mapped_column(String(200))  # an appeal goes to someone else than this
    request: Mapped[EditRecord] = relationship(back_populates="review_item")


class Appeal(Base):
    """A requester's one appeal against a rejection: the sentence, who decided first, and how the second look went
    (upheld | overturned), for the console's per-reviewer agreement."""

    __tablename__ = "appeals"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("edit_requests.id", ondelete="CASCADE"), unique=True)
    item_id: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_decider: Mapped[str] = mapped_column(String(200))
    first_status: Mapped[str] = mapped_column(String(12))
    outcome: Mapped[str | None] = mapped_column(String(12))
    decided_by: Mapped[str | None] = mapped_column(String(200))


class SimilarityException(Base):
    """A reviewer's "not a copy": this uploaded picture (by the SHA-256 of its stored bytes) is not to be flagged
    against this work again, so the same pair does not come back to the queue."""

    __tablename__ = "similarity_exceptions"
    __table_args__ = (UniqueConstraint("image_sha256", "reference_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    image_sha256: Mapped[str] = mapped_column(String(64), index=True)
    reference_id: Mapped[int] = mapped_column(ForeignKey("reference_works.id", ondelete="CASCADE"))
    item_id: Mapped[int]
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# Claiming walks the first index (status, then most urgent first); list pages walk the second, which covers
# the filter on status so a deep page is read from the index alone.
Index("ix_review_items_queue", ReviewItem.status, ReviewItem.priority.desc(), ReviewItem.created_at, ReviewItem.id)
Index("ix_review_items_order", ReviewItem.priority.desc(), ReviewItem.created_at, ReviewItem.id, ReviewItem.status)


class User(Base):
    """A local reviewer or admin account (on a Space, Hugging Face sign-in is used instead)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(10))  # reviewer | admin
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReviewerSession(Base):
    """A signed-in console session; the browser holds the token in an HttpOnly cookie, the database only its hash.

    `role` is what it was at sign-in, for the record only: every call re-reads the account (review.queue.accounts)."""

    __tablename__ = "reviewer_sessions"
    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class SignInFailure(Base):
    """One failed sign-in: throttling counts these per account and per (account, source), in every process alike."""

    __tablename__ = "signin_failures"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    source: Mapped[str] = mapped_column(String(64))  # a keyed hash of the client address, never the address
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class RequesterKey(Base):
    """Links a requester's credential (cookie id or Hub account), by keyed hash only, to the pseudonym the records
    and the event log carry. Deleting the row severs the person from that pseudonym for good."""

    __tablename__ = "requester_keys"
    lookup: Mapped[str] = mapped_column(String(64), primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(40), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Event(Base):
    """Append-only audit log (a trigger refuses UPDATE and DELETE on SQLite)."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40), index=True)
    request_id: Mapped[str | None] = mapped_column(String(32), index=True)
    payload: Mapped[dict] = mapped_column(default=dict)
