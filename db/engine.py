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
from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.exc import InterfaceError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 5000  # a writer waits this long for another writer before "database is locked"
WRITE_RETRIES = 3  # after busy_timeout, a whole write transaction is retried this many times


class StorageUnavailable(RuntimeError):
    """The database could not be reached or stayed locked; nothing was written.

    `code`: db.busy | db.unavailable | db.config (a setting or the storage itself needs fixing). The message is one
    plain sentence that says what to fix; it never contains a password.
    """

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


def normalise_url(url: str) -> URL:
    """Parse DATABASE_URL; `postgres://` and `postgresql://` (what hosting providers hand out) mean psycopg 3."""
    try:
        parsed = make_url(url)
    except Exception:  # ArgumentError, ValueError: SQLAlchemy's words quote the URL, password included
        raise StorageUnavailable("DATABASE_URL is not a database URL: use sqlite:///PATH/editguard.db or "
                                 "postgresql://USER:PASSWORD@HOST:5432/DATABASE.", "db.config") from None
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> Engine:
    parsed = normalise_url(url)
    is_sqlite = parsed.get_backend_name() == "sqlite"
    try:
        engine = create_engine(parsed, connect_args={"timeout": busy_timeout_ms / 1000} if is_sqlite else {},
                               **({} if is_sqlite else {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}))
    except (NoSuchModuleError, ImportError):
        raise StorageUnavailable(f"DATABASE_URL names a database driver that is not installed "
                                 f"({parsed.drivername}); use sqlite:/// or postgresql:// (psycopg, in "
                                 f"requirements.txt).", "db.config") from None
    except Exception:  # bad options in the URL's query string
        raise StorageUnavailable("DATABASE_URL could not be used: check its options after '?'.", "db.config") from None
    if is_sqlite:
        _configure_sqlite(engine, busy_timeout_ms)
    return engine


def open_database(url: str) -> Engine:
    """An engine on DATABASE_URL with the schema migrated, or StorageUnavailable saying what to fix."""
    engine = make_engine(url)
    try:
        migrate(engine)
    except StorageUnavailable:
        engine.dispose()
        raise
    except Exception as exc:
        engine.dispose()
        raise StorageUnavailable(_open_failure(engine, exc), "db.config") from None
    return engine


def _open_failure(engine: Engine, exc: Exception) -> str:
    """One sentence for why the database could not be opened (no URL, no password, no traceback)."""
    text = str(getattr(exc, "orig", None) or exc).lower()
    where = (f"the database file {engine.url.database}" if engine.dialect.name == "sqlite"
             else f"PostgreSQL at {engine.url.host or 'localhost'}:{engine.url.port or 5432}")
    if "can't locate revision" in text or "no such revision" in text:
        return (f"{where[0].upper()}{where[1:]} was written by a newer EditGuard (its schema revision is unknown "
                f"here): run the newer version, or point DATABASE_URL at another database.")
    if "not a database" in text or "malformed" in text or "encrypted" in text:
        return f"{where[0].upper()}{where[1:]} is not an SQLite database: move it away or set DATABASE_URL."
    if "readonly" in text or "read-only" in text or "unable to open" in text or "permission" in text:
        return (f"{where[0].upper()}{where[1:]} cannot be opened for writing: make its folder writable, or set "
                f"EDITGUARD_DATA_DIR to a writable folder.")
    if "does not exist" in text and "database" in text:
        return f"{where[0].upper()}{where[1:]} has no database {engine.url.database!r}: create it (createdb) or fix DATABASE_URL."
    if "password authentication" in text or "authentication failed" in text or "no password" in text:
        return f"{where[0].upper()}{where[1:]} refused the user name or password in DATABASE_URL."
    if isinstance(exc, (OperationalError, InterfaceError)) or "connection" in text:
        return f"{where[0].upper()}{where[1:]} cannot be reached: start the server or fix the host and port in DATABASE_URL."
    return f"{where[0].upper()}{where[1:]} could not be opened ({type(exc).__name__}): check DATABASE_URL."


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
            if attempt < retries and _retryable(exc):
                time.sleep(delay)
                delay *= 2
                continue
            text = str(exc.orig).lower()
            if "locked" in text or "busy" in text:
                raise StorageUnavailable("The database is busy; nothing was saved. Please try again in a moment.",
                                         "db.busy") from exc
            raise StorageUnavailable("The database is unavailable; nothing was saved. Please try again later.",
                                     "db.unavailable") from exc


def _retryable(exc: OperationalError) -> bool:
    """SQLite stayed locked, or PostgreSQL chose this transaction as a deadlock or serialisation victim."""
    return "locked" in str(exc.orig).lower() or getattr(exc.orig, "sqlstate", None) in ("40001", "40P01")


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
