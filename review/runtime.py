"""Everything one process needs, wired once from Settings: database, image store, editor, guards, index."""
from __future__ import annotations

import json
import logging
import os
import secrets
from functools import lru_cache
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from db.engine import make_engine, make_session_factory, migrate, run_write
from db.image_store import ImageStore
from db.models import Event
from editor.base import Editor
from editor.image_input import load_image
from editor.registry import load_editor
from review.auth import Authenticator
from review.guard.base import ImageGuard, TextGuard
from review.guard.registry import load_image_guard, load_text_guard
from review.provenance.labeller import Labeller
from review.queue import ReviewQueue
from review.settings import Settings
from review.library import DuplicateReference, LibraryError, add_reference, reference_codes, rehash_references
from review.similarity import ReferenceIndex

log = logging.getLogger(__name__)
ASSETS = Path(__file__).resolve().parent.parent / "assets"


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
    secret: str = ""  # signs per-browser state; from EDITGUARD_SECRET or a file in the data directory
    pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(4, thread_name_prefix="editguard"))
    queue: ReviewQueue = None
    auth: Authenticator = None
    labeller: Labeller = None

    @classmethod
    def start(cls, settings: Settings | None = None, *, load_models: bool = True) -> "Runtime":
        """Create the data directory, migrate the database, load backends, register sample references once."""
        settings = settings or Settings.from_env()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.database_url)
        migrate(engine)
        factory = make_session_factory(engine)
        text_guard = load_text_guard(settings.guard_backend, settings.guard_model)
        rt = cls(settings, engine, factory, ImageStore(settings.data_dir, settings.png_compression),
                 load_editor(settings.editor_backend, settings.editor_model) if load_models else None,
                 text_guard,
                 load_image_guard(settings.image_guard, settings.image_guard_model, text_guard) if load_models else None,
                 ReferenceIndex(factory, settings.similarity_index))
        rt.secret = _secret(settings)
        rt.labeller = Labeller(settings.provenance, settings.data_dir, settings.png_compression)
        rt.queue = ReviewQueue(factory)
        rt.auth = Authenticator.from_env(factory)
        if settings.seed_references:
            rt.seed_sample_references()
        rehashed = rehash_references(factory, rt.store)
        if rehashed:
            log.info("re-hashed %d reference(s) registered by an older version", rehashed)
        return rt

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

    def status(self) -> dict:
        """Which backends are active, for the status line and `--help`-style reports."""
        return {
            "editor": f"{self.editor.name} ({self.editor.model_id}, {self.editor.device})" if self.editor else "none",
            "text_guard": self.text_guard.name + (f" ({self.text_guard.model_id})" if hasattr(self.text_guard, "model_id") else ""),
            "image_guard": (self.image_guard.describe() if hasattr(self.image_guard, "describe") else self.image_guard.name)
            if self.image_guard else "none (image content is not checked)",
            "similarity": f"PDQ + pHash, {'exact' if self.settings.similarity_index == 'numpy' else 'FAISS'} Hamming search",
            "provenance": self.labeller.status() if self.labeller else "none",
            "policy": self.settings.policy_mode.value,
            "database": self.engine.dialect.name,
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
