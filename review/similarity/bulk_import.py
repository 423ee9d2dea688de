"""Bulk import into the library: hashing in one worker process per core, writing in batched transactions.

The re-hash of works of an older hash version (review.similarity.rehash) uses the same worker processes.

Decoding, hashing and storing a work (~13 ms of CPU for a 640x480 PNG and the 42 codes of its views) is most of
an import, and it needs no database, so worker processes do it side by side. The database then gets one transaction
per BATCH works, each work in its own savepoint (a row that cannot go in is reported and its neighbours still do),
and the files are written beside each other first. Duplicates (the same file, or a picture that looks the same as a
registered work's whole picture, turned or mirrored, at the review level) are found in memory: the library's file
hashes and a multi-index over its whole-picture codes, loaded once, then kept up to date as works go in (an import
of a few items asks the database and the running index instead). An item that repeats one of the same batch ends
the batch early, so it is reported against a work with a number.
"""
from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from db.engine import run_write
from db.image_store import EncodedImage, ImageStore, encode_file
from db.models import Event, LibraryChange, ReferenceHashes, ReferenceWork, StoredImage
from errors import UserError
from review.pipeline.image_input import load_image, read_bytes
from review.similarity import hashes
from review.similarity.index import MultiIndexHammingIndex
from review.similarity.library import DuplicateReference, ImportItem, add_reference, clean_fields
from review.similarity.library import reference_codes
from review.similarity.search import hash_rows


BATCH = 200  # works per transaction: the per-commit cost is spread thin, a writer waits at most about a second
POOL_MIN_ITEMS = 32  # fewer than this are hashed here: starting worker processes would cost more than it saves
WHOLE_VIEWS = hashes.DIHEDRAL + ("trimmed",)  # what "looks the same picture" compares: not the sub-windows


@dataclass
class ImportSummary:
    added: list[tuple[str, int]] = field(default_factory=list)  # (item, reference id)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (item, message)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (item, message)
    codes: dict[str, tuple[str, dict]] = field(default_factory=dict)  # item -> (error code, params), for translation

    def to_dict(self) -> dict:
        return {"added": len(self.added), "duplicates": len(self.duplicates), "failed": len(self.failed),
                "items": [{"item": i, "status": "added", "reference_id": r} for i, r in self.added]
                + [{"item": i, "status": "duplicate", "message": m} for i, m in self.duplicates]
                + [{"item": i, "status": "failed", "message": m} for i, m in self.failed]}

    def refuse(self, item: ImportItem, exc: UserError) -> None:
        (self.duplicates if isinstance(exc, DuplicateReference) else self.failed).append((item.name, str(exc)))
        self.codes[item.name] = (exc.code, exc.params)


@dataclass(frozen=True)
class Prepared:
    """A work ready for the database: its codes, PDQ quality and encoded file."""

    codes: list[hashes.Code]
    quality: int
    encoded: EncodedImage


@dataclass(frozen=True)
class Refusal:
    """Why a work cannot go in, as plain data (an exception's code and parameters do not survive pickling)."""

    message: str
    code: str
    params: dict

    def error(self) -> UserError:
        return UserError(self.message, self.code, **self.params)


def prepare(path: Path, max_pixels: int, compress_level: int) -> Prepared | Refusal:
    """Decode, hash and encode one work: everything but the database (so it runs in a worker process). A PNG whose
    pixels need no conversion is stored as it is, less its metadata (`encode_file`)."""
    try:
        data = read_bytes(path)
        image = load_image(data, max_pixels=max_pixels)
        codes, quality = reference_codes(image)
        return Prepared(codes, quality, encode_file(data, image, compress_level))
    except UserError as exc:  # BadImage, LibraryError: reported by name, the rest goes in
        return Refusal(str(exc), exc.code, exc.params)


class LookAlikes:
    """The library's file hashes and whole-picture codes, to tell a new work that is already registered."""

    def __init__(self, factory: sessionmaker[Session], look_alike: bool):
        self._files: dict[str, tuple[int, str]] = {}
        self._titles: dict[int, str] = {}
        self._index = {k.name: MultiIndexHammingIndex(k.bits // 8, k.review) for k in hashes.KINDS.values()} \
            if look_alike else {}
        with factory() as s:
            for ref_id, sha, title in s.execute(select(ReferenceWork.id, ReferenceWork.image_sha256, ReferenceWork.title)):
                self._files[sha] = (ref_id, title)
            if look_alike:
                rows = s.execute(select(ReferenceHashes.reference_id, ReferenceHashes.kind, ReferenceHashes.views,
                                        ReferenceHashes.codes, ReferenceWork.title)
                                 .join(ReferenceWork, ReferenceWork.id == ReferenceHashes.reference_id)
                                 .where(ReferenceWork.active.is_(True), ReferenceHashes.kind.in_(list(hashes.KINDS))))
                for ref_id, kind, views, data, title in rows:
                    nbytes = hashes.KINDS[kind].bits // 8
                    self.add(ref_id, title, [hashes.Code(kind, v, data[i * nbytes:(i + 1) * nbytes])
                                             for i, v in enumerate(views)], None)

    def add(self, ref_id: int, title: str, codes: list[hashes.Code], sha256: str | None) -> None:
        if sha256:
            self._files[sha256] = (ref_id, title)
        self._titles[ref_id] = title
        for kind, index in self._index.items():
            mine = [c.code for c in codes if c.kind == kind and c.view in WHOLE_VIEWS]
            if mine:
                index.add(np.full(len(mine), ref_id, np.int64),
                          np.frombuffer(b"".join(mine), np.uint8).reshape(len(mine), -1))

    def find(self, prepared: Prepared) -> DuplicateReference | None:
        if prepared.encoded.sha256 in self._files:
            return DuplicateReference(*self._files[prepared.encoded.sha256])
        for kind, index in self._index.items():
            mine = [c.code for c in prepared.codes if c.kind == kind and c.view == "identity"]
            if not mine or not len(index):
                continue
            for labels, dists in index.range_search(np.frombuffer(b"".join(mine), np.uint8).reshape(len(mine), -1),
                                                    hashes.KINDS[kind].review):
                if len(labels):
                    ref_id = int(labels[int(np.argmin(dists))])
                    return DuplicateReference(ref_id, self._titles[ref_id], same_file=False)
        return None


class AskedLookAlikes:
    """`LookAlikes` for an import of a few items: the database and the running index are asked about each one, so
    a file added to a library of a million works does not first load every work's codes."""

    def __init__(self, factory: sessionmaker[Session], index=None):
        self._factory, self._index = factory, index

    def add(self, *_args) -> None:
        """Nothing to keep: the database has the work, and the index follows the library's changes itself."""

    def find(self, prepared: Prepared) -> DuplicateReference | None:
        with self._factory() as s:
            same = s.execute(select(ReferenceWork.id, ReferenceWork.title)
                             .where(ReferenceWork.image_sha256 == prepared.encoded.sha256)).first()
        if same is not None:
            return DuplicateReference(*same)
        if self._index is not None:
            for m in self._index.search_codes([c for c in prepared.codes if c.view == "identity"]):
                if m.level == "review":
                    return DuplicateReference(m.reference_id, m.title, same_file=False)
        return None


def _prepared(items: list[ImportItem], max_pixels: int, level: int, workers: int) -> Iterator[Prepared | Refusal]:
    """Each item's preparation, in order: in worker processes for a large import, else in this one."""
    paths = [i.path for i in items if not i.error]
    with mapper(workers, len(paths)) as run:
        results = run(prepare, paths, [max_pixels] * len(paths), [level] * len(paths))
        for item in items:
            yield Refusal(item.error, "library.bad_item", {}) if item.error else next(results)


@contextmanager
def mapper(workers: int, items: int) -> Iterator[Callable]:
    """A `map` that keeps the order: over worker processes when there are enough items, else in this process."""
    if workers < 2 or items < POOL_MIN_ITEMS:
        yield map
        return
    # spawn, not fork: the app holds threads (Gradio, the edit pool) that a forked child must not inherit
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_follow_parent, initargs=(os.getpid(),))
    try:
        yield lambda fn, *inputs: pool.map(fn, *inputs, chunksize=4)
    finally:
        pool.shutdown(cancel_futures=True)


def _follow_parent(parent: int) -> None:
    """In a worker process: exit once the parent is gone (after a kill -9 nobody shuts the pool down, and its
    workers would wait for work for ever)."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="follow-parent", daemon=True).start()


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def import_library(factory: sessionmaker[Session], store: ImageStore, items: Iterable[ImportItem], *, actor: str,
                   index=None, max_pixels: int = 40_000_000, progress: Callable[[int, int, str], None] | None = None,
                   workers: int | None = None) -> ImportSummary:
    """Register every item that can be; report each one that cannot (by name, in a plain sentence).

    With `index` (the app's ReferenceIndex), a picture that looks the same as an active work is a duplicate too."""
    items = list(items)
    summary = ImportSummary()
    # a large import loads the library's codes once; a few items ask the running index (nothing loaded per work)
    known = LookAlikes(factory, look_alike=index is not None) if len(items) >= POOL_MIN_ITEMS \
        else AskedLookAlikes(factory, index)
    workers = workers or cores()
    pending = Batch()
    for n, (item, ready) in enumerate(zip(items, _prepared(items, max_pixels, store.compress_level, workers)), 1):
        if progress:
            progress(n, len(items), item.name)
        try:
            if isinstance(ready, Refusal):
                raise ready.error()
            clean_fields(item.title, item.owner, item.license, item.source)
            duplicate = known.find(ready)
            if duplicate is None and pending.repeats(ready):  # of a work in this very batch: commit it first
                _commit(factory, store, pending.works, known, summary, actor)
                pending, duplicate = Batch(), known.find(ready)
            if duplicate is not None:
                raise duplicate
        except UserError as exc:
            summary.refuse(item, exc)
            continue
        pending.add(item, ready)
        if len(pending.works) >= BATCH:
            _commit(factory, store, pending.works, known, summary, actor)
            pending = Batch()
    _commit(factory, store, pending.works, known, summary, actor)
    if summary.added or summary.failed:
        run_write(factory, lambda s: s.add(Event(actor=actor, kind="library.imported", payload={
            "added": len(summary.added), "duplicates": len(summary.duplicates), "failed": len(summary.failed)})))
    return summary


class Batch:
    """The works waiting for the next commit, their whole-picture codes stacked to compare a newcomer in one step."""

    def __init__(self):
        self.works: list[tuple[ImportItem, Prepared]] = []
        self._files: set[str] = set()
        self._codes = {k.name: np.zeros((0, k.bits // 8), np.uint8) for k in hashes.KINDS.values()}

    def add(self, item: ImportItem, ready: Prepared) -> None:
        self.works.append((item, ready))
        self._files.add(ready.encoded.sha256)
        for kind, rows in self._codes.items():
            mine = [np.frombuffer(c.code, np.uint8) for c in ready.codes if c.kind == kind and c.view in WHOLE_VIEWS]
            if mine:
                self._codes[kind] = np.concatenate([rows, np.stack(mine)])

    def repeats(self, ready: Prepared) -> bool:
        """Whether the work is the same file as, or looks the same as, one waiting here."""
        if ready.encoded.sha256 in self._files:
            return True
        return any(len(self._codes[q.kind]) and int(np.bitwise_count(
            self._codes[q.kind] ^ np.frombuffer(q.code, np.uint8)).sum(axis=1).min()) <= hashes.KINDS[q.kind].review
            for q in ready.codes if q.view == "identity")


def _commit(factory, store: ImageStore, pending: list[tuple[ImportItem, Prepared]],
            known: LookAlikes | AskedLookAlikes, summary: ImportSummary, actor: str) -> None:
    """Write the batch's files side by side, then register the batch in one transaction: a few multi-row INSERTs
    (`_insert_batch`), or, when one of its files is registered meanwhile (another import), each work in its own
    savepoint, so that one is reported and the rest still go in."""
    if not pending:
        return
    with ThreadPoolExecutor(8) as pool:  # each file waits for its own fsync
        saved = list(pool.map(lambda entry: store.write(entry[1].encoded), pending))

    def one_by_one(session: Session) -> list[tuple[ImportItem, Prepared, int | UserError]]:
        out = []
        for item, ready in pending:
            try:
                with session.begin_nested():
                    ref = add_reference(session, store, None, title=item.title, owner=item.owner,
                                        license=item.license, source=item.source, actor=actor,
                                        codes=(ready.codes, ready.quality), encoded=ready.encoded)
                out.append((item, ready, ref.id))
            except UserError as exc:  # registered meanwhile by another import: its own savepoint is undone
                out.append((item, ready, exc))
        return out

    def work(session: Session) -> list[tuple[ImportItem, Prepared, int | UserError]]:
        try:
            with session.begin_nested():
                ids = _insert_batch(session, pending, saved, actor)
            return [(item, ready, ref_id) for (item, ready), ref_id in zip(pending, ids)]
        except (IntegrityError, _Registered):
            return one_by_one(session)

    for item, ready, result in run_write(factory, work):
        if isinstance(result, UserError):
            summary.refuse(item, result)
            continue
        summary.added.append((item.name, result))
        known.add(result, item.title.strip(), ready.codes, ready.encoded.sha256)


class _Registered(Exception):
    """A file of the batch is a registered work's already (so the batch goes in work by work)."""


def _insert_batch(s: Session, pending: list[tuple[ImportItem, Prepared]], saved: list, actor: str) -> list[int]:
    """Register the batch with one INSERT per table (the rows add_reference would add, ~10x cheaper than the ORM
    adding them work by work); raises _Registered, or IntegrityError from a race, when a file is registered."""
    shas = [entry.encoded.sha256 for _, entry in pending]
    if s.scalar(select(ReferenceWork.id).where(ReferenceWork.image_sha256.in_(shas)).limit(1)) is not None:
        raise _Registered()
    stored = set(s.scalars(select(StoredImage.sha256).where(StoredImage.sha256.in_(shas))))
    files = {f.sha256: f.__dict__ for f in saved if f.sha256 not in stored}
    if files:
        s.execute(insert(StoredImage), list(files.values()))
    works = []
    for item, ready in pending:
        title, owner, license, source = clean_fields(item.title, item.owner, item.license, item.source)
        phash = [c.code.hex() for c in ready.codes if c.kind == "phash"]
        works.append({"title": title, "owner": owner, "license": license, "source": source,
                      "image_sha256": ready.encoded.sha256, "phash": phash[0], "phash_variants": phash,
                      "pdq_quality": ready.quality, "hash_version": hashes.HASH_VERSION, "added_by": actor})
    ids = list(s.scalars(insert(ReferenceWork).returning(ReferenceWork.id, sort_by_parameter_order=True), works))
    s.execute(insert(ReferenceHashes), [{"reference_id": ref_id, "kind": row.kind, "views": row.views,
                                         "codes": row.codes}
                                        for ref_id, (_, ready) in zip(ids, pending) for row in hash_rows(ready.codes)])
    s.execute(insert(LibraryChange), [{"reference_id": ref_id, "op": "add"} for ref_id in ids])
    s.execute(insert(Event), [{"actor": actor, "kind": "library.added",
                               "payload": {"reference_id": ref_id, "title": work["title"]}}
                              for ref_id, work in zip(ids, works)])
    return ids
