"""Engine and session setup: SQLite pragmas, BEGIN IMMEDIATE for writers, migrations at start-up."""
from __future__ import annotations

import contextlib
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 5000  # a writer waits this long for another writer before "database is locked"
WRITE_RETRIES = 3  # after busy_timeout, a whole write transaction is retried this many times


class StorageUnavailable(RuntimeError):
    """The database could not be reached or stayed locked; nothing was written. `code`: db.busy | db.unavailable."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


def make_engine(url: str, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> Engine:
    is_sqlite = url.startswith("sqlite")
    engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000} if is_sqlite else {})
    if is_sqlite:
        _configure_sqlite(engine, busy_timeout_ms)
    return engine


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # let SQLAlchemy's "begin" event emit BEGIN itself
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Writers take the write lock up front, so two writers never deadlock upgrading a read lock.
        immediate = conn.get_execution_options().get("write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def write_session(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One write transaction: commits on success, rolls back on any error."""
    with factory() as session:
        session.connection(execution_options={"write": True})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def run_write(factory: sessionmaker[Session], work, retries: int = WRITE_RETRIES):
    """Run `work(session)` in one write transaction, retrying when SQLite stays locked.

    Raises StorageUnavailable with a plain message when the database cannot be written.
    """
    return _retrying(factory.kw["bind"], lambda: write_session(factory), work, retries)


def run_write_core(engine: Engine, work, retries: int = WRITE_RETRIES):
    """The same for `work(connection)` on a bare Core connection: no ORM session, for the queue's hot paths."""
    return _retrying(engine, lambda: _write_connection(engine), work, retries)


@contextmanager
def _write_connection(engine: Engine):
    with engine.connect() as conn:
        conn = conn.execution_options(write=True)
        with conn.begin():
            yield conn


def _retrying(engine: Engine, open_tx, work, retries: int):
    delay = 0.05
    lock = _writer_lock(engine)
    for attempt in range(retries + 1):
        try:
            with lock, open_tx() as tx:
                return work(tx)
        except OperationalError as exc:
            if attempt < retries and "locked" in str(exc.orig).lower():
                time.sleep(delay)
                delay *= 2
                continue
            text = str(exc.orig).lower()
            if "locked" in text or "busy" in text:
                raise StorageUnavailable("The database is busy; nothing was saved. Please try again in a moment.",
                                         "db.busy") from exc
            raise StorageUnavailable("The database is unavailable; nothing was saved. Please try again later.",
                                     "db.unavailable") from exc


_WRITER_LOCKS: dict[int, threading.Lock] = {}
_NO_LOCK = contextlib.nullcontext()


def _writer_lock(engine: Engine):
    """SQLite allows one writer at a time. Threads of this process queue on a lock (an instant hand-over) rather
    than on SQLite's busy handler, which sleeps in steps of up to 100 ms; other processes still meet busy_timeout."""
    if engine.dialect.name != "sqlite":
        return _NO_LOCK
    return _WRITER_LOCKS.setdefault(id(engine), threading.Lock())


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (idempotent; runs at every start)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
