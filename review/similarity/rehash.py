"""Re-hashing the works registered with an older HASH_VERSION, at start-up beside serving.

Hashed in the bulk import's worker processes, written BATCH works per transaction; each work's version is
re-checked under its row lock, so replicas starting together write each work once at most.
"""
from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from db.engine import run_write
from db.image_store import ImageStore
from db.models import LibraryChange, ReferenceHashes, ReferenceWork, StoredImage
from errors import UserError
from review.pipeline.image_input import load_image
from review.similarity import hashes
from review.similarity.bulk_import import BATCH, cores, mapper
from review.similarity.library import reference_codes
from review.similarity.search import hash_rows

log = logging.getLogger(__name__)


def current_codes(path: Path | None) -> tuple[list[hashes.Code], int] | None:
    """A stored work's codes of this HASH_VERSION, or None when its file is gone or cannot be hashed."""
    if path is None:
        return None
    try:
        return reference_codes(load_image(path, max_pixels=2**31))
    except (OSError, UserError):
        return None


def stale_references(factory: sessionmaker[Session]) -> bool:
    """Whether any work still has codes of an older HASH_VERSION."""
    with factory() as s:
        return s.scalar(select(ReferenceWork.id).where(ReferenceWork.hash_version < hashes.HASH_VERSION).limit(1)) \
            is not None


def rehash_references(factory: sessionmaker[Session], store: ImageStore, *, workers: int | None = None,
                      batch: int = BATCH) -> int:
    """Give the works registered with older codes the current ones (at start-up, beside serving; idempotent).

    BATCH works at a time: hashed in worker processes, then written in one transaction that re-checks each work's
    version, so replicas starting together each write a work once at most (a work done meanwhile is skipped). A
    work whose file is gone or unreadable keeps its old codes and is tried again at the next start. Returns how
    many works got new codes here."""
    done, stale = 0, _stale_batch(factory, 0, batch)
    with mapper(workers or cores(), len(stale)) as run:  # one set of worker processes for every batch
        while stale:
            fresh = [(ref_id, codes) for (ref_id, _), codes in
                     zip(stale, run(current_codes, [_local(store, relpath) for _, relpath in stale]))
                     if codes is not None]
            done += run_write(factory, lambda s, fresh=fresh: _renew(s, fresh))
            stale = _stale_batch(factory, stale[-1][0], batch)
    return done


def _stale_batch(factory: sessionmaker[Session], after: int, batch: int) -> list:
    with factory() as s:
        return s.execute(select(ReferenceWork.id, StoredImage.relpath)
                         .join(StoredImage, StoredImage.sha256 == ReferenceWork.image_sha256)
                         .where(ReferenceWork.hash_version < hashes.HASH_VERSION, ReferenceWork.id > after)
                         .order_by(ReferenceWork.id).limit(batch)).all()


def _renew(s: Session, fresh: list) -> int:
    """Write the new codes of works still on older ones (another process may have done some meanwhile)."""
    written = 0
    for ref_id, (codes, quality) in fresh:  # in id order: two re-hashers lock rows in the same order
        ref = s.get(ReferenceWork, ref_id, with_for_update=True)  # PostgreSQL: wait for one writing it, then re-read
        if ref is None or ref.hash_version >= hashes.HASH_VERSION:  # removed, or done by another process
            continue
        s.query(ReferenceHashes).filter(ReferenceHashes.reference_id == ref_id).delete()
        for row in hash_rows(codes):
            row.reference_id = ref_id
            s.add(row)
        ref.pdq_quality, ref.hash_version = quality, hashes.HASH_VERSION
        s.add(LibraryChange(reference_id=ref_id, op="add"))  # indexes reload its codes
        written += 1
    return written


def _local(store: ImageStore, relpath: str) -> Path | None:
    try:
        return store.path(relpath)  # fetched from the replica when this disk lacks it
    except Exception:  # noqa: BLE001 - an unreachable replica: this work is tried again at the next start
        log.warning("reference file %s is not available; its codes are renewed at a later start", relpath)
        return None
