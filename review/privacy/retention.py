"""Forgetting on purpose: the retention purge and a requester's "delete my data".

What the purge never removes: an edit still waiting for a person (pending, claimed or escalated: its decision must
not be lost; a requester deleting their own data withdraws theirs), and, while `keep_decided` is on (EDITGUARD_KEEP_DECIDED, the default), edits a reviewer decided and edits
the policy blocked: they are the moderation audit trail. Everything else of a removed edit goes: its row, its
verdicts, matches, review item and image links (the database cascades), then every stored image file no row uses
any more. The append-only event log keeps its lines; they hold ids, kinds and reasons, never instructions or images.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import delete, exists, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from db.engine import run_write
from db.image_store import ImageStore
from db.models import EditRecord, Event, ReferenceWork, RequestImage, ReviewItem, StoredImage
from review.queue.states import FINAL_STATES, OPEN_STATES

log = logging.getLogger(__name__)


STRAY_GRACE_S = 3600  # a picture file no row names is collected only this long after it was last written or
# touched: an edit writes its files before its row commits (seconds), and one that crashed leaves them behind


@dataclass
class PurgeReport:
    requests: list[str] = field(default_factory=list)  # ids removed (or that would be, on a dry run)
    kept_open: int = 0  # waiting for a person
    kept_for_audit: int = 0  # decided by a reviewer, or blocked
    images_removed: int = 0  # picture files deleted (or that would be): the removed edits' and stray ones
    bytes_freed: int = 0
    stray_files: int = 0  # of images_removed: files no row named (left by a crash or a failed write)

    def to_dict(self) -> dict:
        return {"removed": len(self.requests), "kept_waiting_for_review": self.kept_open,
                "kept_for_audit": self.kept_for_audit, "images_removed": self.images_removed,
                "bytes_freed": self.bytes_freed, "stray_files": self.stray_files, "ids": self.requests}


class _DryRun(Exception):
    """Raised inside the transaction to roll back a dry run after it did exactly what the real run would."""


def _open_item():
    return exists().where(ReviewItem.request_id == EditRecord.id, ReviewItem.status.in_(OPEN_STATES))


def _audit_kept():
    return or_(EditRecord.decision == "blocked",
               exists().where(ReviewItem.request_id == EditRecord.id, ReviewItem.status.in_(FINAL_STATES)))


def _remove(factory: sessionmaker[Session], store: ImageStore, scope, keep_open: bool, keep_decided: bool,
            dry_run: bool, actor: str, kind: str, detail: dict) -> PurgeReport:
    report = PurgeReport()
    files: list[tuple[str, str, int]] = []  # (sha256, relpath, size) whose rows went

    def work(s: Session) -> None:
        files.clear()
        keep = ([_open_item()] if keep_open else []) + ([_audit_kept()] if keep_decided else [])
        if keep_open:
            report.kept_open = s.scalar(select(func.count(EditRecord.id)).where(scope, _open_item())) or 0
        if keep_decided:
            report.kept_for_audit = s.scalar(select(func.count(EditRecord.id)).where(
                scope, ~_open_item(), _audit_kept())) or 0
        report.requests = list(s.scalars(select(EditRecord.id).where(scope, *(~k for k in keep))))
        if report.requests:
            for start in range(0, len(report.requests), 500):
                s.execute(delete(EditRecord).where(EditRecord.id.in_(report.requests[start:start + 500])))
            orphans = s.execute(select(StoredImage.sha256, StoredImage.relpath, StoredImage.size_bytes).where(
                ~exists().where(RequestImage.image_sha256 == StoredImage.sha256),
                ~exists().where(ReferenceWork.image_sha256 == StoredImage.sha256))).all()
            for start in range(0, len(orphans), 500):
                s.execute(delete(StoredImage).where(StoredImage.sha256.in_([o[0] for o in orphans[start:start + 500]])))
            s.add(Event(actor=actor, kind=kind, payload={**detail, "removed": len(report.requests),
                                                           "images_removed": len(orphans)}))
            files.extend((o[0], o[1], o[2] or 0) for o in orphans)
        if dry_run:
            raise _DryRun  # the same statements, rolled back: the dry run's figures are the real run's

    try:
        run_write(factory, work)
    except _DryRun:
        pass
    strays = _stray_files(factory, store)
    if dry_run:
        report.images_removed = sum(store.path_exists(rel) for _, rel, _ in files) + len(strays)
        report.bytes_freed = sum(size for _, rel, size in files if store.path_exists(rel)) + sum(b for _, b in strays)
        report.stray_files = len(strays)
        return report
    removed, freed = _delete_unused(factory, store, files + [(None, rel, size) for rel, size in strays])
    report.images_removed, report.bytes_freed = removed, freed
    report.stray_files = len(strays)
    return report


def _delete_unused(factory, store: ImageStore, files: list[tuple[str | None, str, int]]) -> tuple[int, int]:
    """Delete files no row names, re-checked under the picture folder's exclusive lock: an edit that committed a
    row for one of them since (content-addressed: the same picture again) keeps it; see ImageStore.ensure."""
    removed = freed = 0
    with store.locked(exclusive=True):
        for start in range(0, len(files), 500):
            batch = files[start:start + 500]
            shas = [sha or Path(rel).stem for sha, rel, _ in batch]
            with factory() as s:
                named = set(s.scalars(select(StoredImage.sha256).where(StoredImage.sha256.in_(shas))))
            gone = [(rel, size) for (sha, rel, size), key in zip(batch, shas) if key not in named]
            present = [(rel, size) for rel, size in gone if store.path_exists(rel)]
            store.remove([rel for rel, _ in gone])
            removed += len(present)
            freed += sum(size for _, size in present)
    return removed, freed


def _stray_files(factory, store: ImageStore) -> list[tuple[str, int]]:
    """Picture files on disk that no row names and nothing wrote for STRAY_GRACE_S (a crash, a failed write)."""
    cutoff = time.time() - STRAY_GRACE_S
    old = [(rel, size) for rel, size, mtime in store.files() if mtime < cutoff]
    stray = []
    for start in range(0, len(old), 500):
        batch = old[start:start + 500]
        with factory() as s:
            named = set(s.scalars(select(StoredImage.relpath).where(StoredImage.relpath.in_([r for r, _ in batch]))))
        stray += [(rel, size) for rel, size in batch if rel not in named]
    return stray


def purge(factory: sessionmaker[Session], store: ImageStore, older_than_days: int, *, keep_decided: bool = True,
          dry_run: bool = False, actor: str = "cli", now: datetime | None = None) -> PurgeReport:
    """Remove edits created more than `older_than_days` days ago (see the module docstring for what stays)."""
    if older_than_days < 0:
        raise ValueError("--older-than must be 0 or more days.")
    cutoff = (now or datetime.now(timezone.utc)) - timedelta(days=older_than_days)
    return _remove(factory, store, EditRecord.created_at < cutoff, True, keep_decided, dry_run, actor,
                   "retention.purged", {"older_than_days": older_than_days})


def delete_requester_data(factory: sessionmaker[Session], store: ImageStore, requester: str, *,
                          keep_decided: bool = True) -> PurgeReport:
    """A requester's "delete my data": all their edits and pictures, those still waiting for review included (they
    are withdrawn), except what the audit rule keeps (decided by a reviewer, or blocked)."""
    if not requester:
        raise ValueError("No requester given.")
    return _remove(factory, store, EditRecord.requester == requester, False, keep_decided, False, requester,
                   "requester.deleted_data", {})


def drop_blocked_pictures(factory: sessionmaker[Session], store: ImageStore, older_than_days: int, *,
                          now: datetime | None = None) -> int:
    """Uploads of edits the gate blocked (Unsafe), once `older_than_days` old: the pictures go, the record stays for
    the audit (its verdicts and reasons, no pixels). Returns how many picture files were removed."""
    cutoff = (now or datetime.now(timezone.utc)) - timedelta(days=older_than_days)
    files: list[str] = []

    def work(s: Session) -> None:
        files.clear()
        blocked = select(EditRecord.id).where(EditRecord.decision == "blocked", EditRecord.created_at < cutoff)
        links = s.execute(delete(RequestImage).where(RequestImage.request_id.in_(blocked)))
        if not links.rowcount:
            return
        orphans = s.execute(select(StoredImage.sha256, StoredImage.relpath).where(
            ~exists().where(RequestImage.image_sha256 == StoredImage.sha256),
            ~exists().where(ReferenceWork.image_sha256 == StoredImage.sha256))).all()
        for start in range(0, len(orphans), 500):
            s.execute(delete(StoredImage).where(StoredImage.sha256.in_([o[0] for o in orphans[start:start + 500]])))
        s.add(Event(actor="retention", kind="retention.blocked_pictures_removed",
                    payload={"older_than_days": older_than_days, "images_removed": len(orphans)}))
        files.extend(o[1] for o in orphans)

    run_write(factory, work)
    for relpath in files:
        store.path(relpath).unlink(missing_ok=True)
    return len(files)


def purge_daily(rt) -> threading.Thread | None:
    """Every 24 hours (first at start), in a daemon thread of the app: the pictures of blocked edits older than
    EDITGUARD_BLOCKED_PICTURE_DAYS, and, when EDITGUARD_RETENTION_DAYS is set, the purge."""
    days = rt.settings.retention_days
    blocked_days = getattr(rt.settings, "blocked_picture_days", 0)
    if not days and not blocked_days:
        return None

    def loop() -> None:
        while True:
            try:
                if blocked_days:
                    n = drop_blocked_pictures(rt.session_factory, rt.store, blocked_days)
                    log.info("retention: removed %d picture(s) of blocked edits older than %d days", n, blocked_days)
                if days:
                    report = purge(rt.session_factory, rt.store, days, keep_decided=rt.settings.keep_decided,
                                   actor="retention")
                    log.info("retention: removed %d edit(s) older than %d days", len(report.requests), days)
            except Exception:  # a busy or missing database must not end the loop
                log.exception("retention purge failed; trying again in 24 hours")
            time.sleep(24 * 3600)

    thread = threading.Thread(target=loop, name="editguard-retention", daemon=True)
    thread.start()
    return thread
