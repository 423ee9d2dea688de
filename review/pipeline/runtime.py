"""Everything one process needs, wired once from Settings: database, image store, editor, guards, index."""
from __future__ import annotations

import json
import logging
import os
import secrets
import threading
import time
from functools import lru_cache
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from db.engine import make_session_factory, open_database, run_write
from db.image_store import ImageStore, prepare_data_dir
from db.replica import open_replica
from db.models import Event
from editor.base import Editor
from review.pipeline.image_input import load_image
from editor.registry import load_editor
from review.queue.accounts import Authenticator
from review.guard.base import ImageGuard, TextGuard
from review.guard.registry import load_image_guard, load_text_guard
from review.provenance.labeller import Labeller
from review.queue.service import ReviewQueue
from review.pipeline.settings import Settings
from review.similarity.rehash import rehash_references, stale_references
from review.similarity.library import DuplicateReference, LibraryError, add_reference, reference_codes
from review.similarity.search import ReferenceIndex, choose_index

log = logging.getLogger(__name__)
ASSETS = Path(__file__).resolve().parents[2] / "assets"


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    store: ImageStore
    editor: Editor
    text_guard: TextGuard
    image_guard: ImageGuard | None
    index: ReferenceIndex
    secret: str = ""  # server-side only: signs cookies and picture URLs, keys pseudonyms; EDITGUARD_SECRET or a file in the data directory
    pool: ThreadPoolExecutor = None  # background work of the edits (encoding, hashing, the input image check)
    queue: ReviewQueue = None
    auth: Authenticator = None
    labeller: Labeller = None

    @classmethod
    def start(cls, settings: Settings | None = None, *, load_models: bool = True, replicate: bool = True) -> "Runtime":
        """Create the data directory, restore from EDITGUARD_REPLICA if the disk was wiped, migrate the database,
        load backends, register sample references once. `replicate`: keep the replica current from now on (the app);
        a CLI command passes False and calls finish() at exit instead."""
        settings = settings or Settings.from_env()
        prepare_data_dir(settings.data_dir)
        replica = open_replica(settings.replica, settings.data_dir, settings.database_url)
        if replica:
            replica.restore()  # a wiped disk: the database (when missing), the secret and the signing authority
        engine = open_database(settings.database_url)
        factory = make_session_factory(engine)
        store = ImageStore(settings.data_dir, settings.png_compression, replica)
        text_guard = load_text_guard(settings.guard_backend, settings.guard_model)
        rt = cls(settings, engine, factory, store,
                 load_editor(settings.editor_backend, settings.editor_model) if load_models else None,
                 text_guard,
                 load_image_guard(settings.image_guard, settings.image_guard_model, text_guard) if load_models else None,
                 ReferenceIndex(factory, choose_index(factory, settings.similarity_index), store))
        rt.secret = _secret(settings)
        # each running edit hands up to five pieces of work to the pool: enough threads that none waits for another's
        rt.pool = ThreadPoolExecutor(4 * rt.edit_concurrency, thread_name_prefix="editguard")
        rt.labeller = Labeller(settings.provenance, settings.data_dir, settings.png_compression)
        rt.queue = ReviewQueue(factory)
        rt.auth = Authenticator.from_env(factory, rt.secret)
        if replica:
            replica.publish_state()
            if replicate:
                replica.start()
        if settings.seed_references:
            rt.seed_sample_references()
        # Works registered with older codes get the current ones beside serving: a large library takes minutes, and
        # until a work is done its old codes still find copies (a few bits apart from the new ones).
        rt.rehashing = None
        if stale_references(factory):
            rt.rehashing = threading.Thread(target=rt._rehash, name="editguard-rehash", daemon=True)
            rt.rehashing.start()
        return rt

    def warm_index(self) -> threading.Thread:
        """Load the reference index beside serving (the app): the first search would otherwise wait for it, ~1.2 s
        per 100k works here. A search that comes sooner waits for the load in progress, never sees half of it."""
        def load() -> None:
            started = time.perf_counter()
            try:
                self.index.refresh()
            except Exception:  # noqa: BLE001 - a background task: the first search loads it instead
                log.exception("loading the reference index failed; the first search loads it")
                return
            log.info("reference index: %d works loaded in %.1f s", len(self.index), time.perf_counter() - started)

        thread = threading.Thread(target=load, name="editguard-index", daemon=True)
        thread.start()
        return thread

    def _rehash(self) -> None:
        try:
            rehashed = rehash_references(self.session_factory, self.store)
        except Exception:  # noqa: BLE001 - a background task: logged, retried at the next start
            log.exception("re-hashing the references of an older version failed; it is retried at the next start")
            return
        if rehashed:
            log.info("re-hashed %d reference(s) registered by an older version", rehashed)

    @property
    def edit_concurrency(self) -> int:
        """How many edits run at once (the Gradio queue's limit). A model backend holds one pipeline on one GPU, and
        a diffusers pipeline keeps per-call state: one at a time. The CPU editor's filters each keep one core busy
        (Pillow and numpy release the GIL): one per core. EDITGUARD_EDIT_CONCURRENCY overrides."""
        if self.settings.edit_concurrency:
            return self.settings.edit_concurrency
        if self.editor is not None and self.editor.name != "classic":
            return 1
        return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)

    def seed_sample_references(self) -> int:
        """Register the shipped sample works the first time a database starts (never again, even if removed)."""
        with self.session_factory() as s:
            if s.scalar(select(Event.id).where(Event.kind == "library.seeded").limit(1)) is not None:
                return 0
        manifest = json.loads((ASSETS / "references" / "manifest.json").read_text())
        samples = [(item, *_sample(item["file"])) for item in manifest]  # hashed outside the write transaction

        def work(session: Session) -> int:
            added = 0
            for item, image, codes in samples:
                try:
                    add_reference(session, self.store, image, title=item["title"], owner=item["owner"],
                                  license=item["license"], source=item["source"], codes=codes)
                    added += 1
                except (DuplicateReference, LibraryError):
                    pass
            session.add(Event(actor="system", kind="library.seeded", payload={"added": added}))
            return added

        return run_write(self.session_factory, work)

    def finish(self) -> None:
        """Before a CLI command exits: everything it wrote is in the replica (no-op without EDITGUARD_REPLICA)."""
        if self.store.replica is not None:
            self.store.replica.flush()

    def status(self) -> dict:
        """Which backends are active, for the status line and `--help`-style reports."""
        return {
            "editor": f"{self.editor.name} ({self.editor.model_id}, {self.editor.device})" if self.editor else "none",
            "text_guard": self.text_guard.name + (f" ({self.text_guard.model_id})" if hasattr(self.text_guard, "model_id") else ""),
            "image_guard": (self.image_guard.describe() if hasattr(self.image_guard, "describe") else self.image_guard.name)
            if self.image_guard else "none (image content is not checked)",
            "similarity": "PDQ + pHash, " + {"numpy": "exact Hamming search", "faiss": "FAISS Hamming search",
                                             "mih": "multi-index hashing (whole pictures and centre windows, PDQ scanned)"}[self.index.index_kind]
            + (" (auto)" if self.settings.similarity_index == "auto" else "") + ", keypoint re-rank, SIFT verification",
            "provenance": self.labeller.status() if self.labeller else "none",
            "policy": self.settings.policy_mode.value,
            "database": self.engine.dialect.name,
            "replica": self.store.replica.target.describe() if self.store.replica else "none (EDITGUARD_REPLICA is not set)",
        }


@lru_cache(maxsize=16)
def _sample(file: str):
    """A shipped sample work and its codes; the same files are hashed once per process, however many databases."""
    image = load_image(ASSETS / "references" / file)
    return image, reference_codes(image)


def _secret(settings: Settings) -> str:
    """A stable secret: the environment's, or one made once and kept (mode 0600) in the data directory."""
    if os.environ.get("EDITGUARD_SECRET"):
        return os.environ["EDITGUARD_SECRET"]
    path = settings.data_dir / "secret.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()
