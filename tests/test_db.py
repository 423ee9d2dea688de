"""SQLite through SQLAlchemy with Alembic: schema, pragmas, append-only log, busy database, image store."""
import os
import sqlite3
import threading

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from db.engine import StorageUnavailable, make_engine, make_session_factory, migrate, run_write
from db.image_store import ImageStore
from db.models import Event
from tests.conftest import photo, sqlite_only

TABLES = {"edit_requests", "images", "request_images", "verdicts", "similarity_matches", "reference_works", "users",
          "reviewer_sessions", "reference_hashes",
          "review_items", "events", "alembic_version"}


@pytest.fixture
def engine(env, tmp_path):
    """The suite's engine: a fresh PostgreSQL database when DATABASE_URL names a server, else an SQLite file."""
    e = make_engine(os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(e)
    yield e
    e.dispose()


def _head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from db.engine import MIGRATIONS_DIR

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(cfg).get_current_head()


def test_migration_creates_schema_and_is_idempotent(engine):
    assert TABLES <= set(inspect(engine).get_table_names())
    migrate(engine)  # a second start changes nothing
    with engine.connect() as c:
        assert c.execute(text("select version_num from alembic_version")).scalar() == _head()


def test_upgrade_renames_bearer_tokens_in_records_and_the_log(env, tmp_path):
    """Before 0005 a requester was stored as `browser:<the token that browser used as its credential>`."""
    from alembic import command
    from alembic.config import Config

    from db.engine import MIGRATIONS_DIR

    e = make_engine(os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_path / 'old.sqlite'}")  # both engines
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with e.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
    token = "0123456789abcdef0123456789abcdef"
    with e.begin() as c:
        c.execute(text("insert into edit_requests (id, created_at, requester, instruction, negative_prompt, params, "
                       "backend, model_id, model_license, policy_mode, decision, decision_reasons, warnings, applied) "
                       "values ('r1', '2026-01-01', :r, 'x', '', '{}', 'classic', 'm', 'l', 'review', 'released', "
                       "'[]', '[]', '[]')"), {"r": f"browser:{token}"})
        c.execute(text("insert into events (at, actor, kind, payload) values ('2026-01-01', :a, 'edit.released', "
                       "'{}')"), {"a": f"browser:{token}"})
    migrate(e)
    with e.connect() as c:
        requester = c.execute(text("select requester from edit_requests")).scalar()
        actor = c.execute(text("select actor from events")).scalar()
    assert requester == actor and requester.startswith("legacy:") and token not in requester
    with pytest.raises(Exception, match="append-only"), e.begin() as c:  # the log is append-only again
        c.execute(text("update events set actor = 'x'"))


def test_migrations_match_the_models(engine):
    """Alembic's own comparison: every model change has its migration (and the reverse)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from db.models import Base

    with engine.connect() as c:
        assert compare_metadata(MigrationContext.configure(c), Base.metadata) == []


@sqlite_only
def test_pragmas(engine):
    with engine.connect() as c:
        assert c.exec_driver_sql("pragma journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("pragma foreign_keys").scalar() == 1
        assert c.exec_driver_sql("pragma busy_timeout").scalar() == 5000


def test_foreign_keys_are_enforced(engine):
    factory = make_session_factory(engine)
    with pytest.raises(IntegrityError):
        run_write(factory, lambda s: s.execute(text(
            "insert into request_images (request_id, role, position, image_sha256) values ('nope', 'input', 0, 'x')")))


def test_event_log_is_append_only(engine):
    factory = make_session_factory(engine)
    run_write(factory, lambda s: s.add(Event(actor="a", kind="k", payload={})))
    statements = ["update events set actor = 'b'", "delete from events"]
    if engine.dialect.name == "postgresql":
        statements.append("truncate events")
    for sql in statements:
        with pytest.raises(Exception, match="append-only"):
            run_write(factory, lambda s: s.execute(text(sql)))
    with factory() as s:
        assert s.query(Event).one().actor == "a"


@sqlite_only
def test_writer_takes_the_lock_up_front(engine, tmp_path):
    """A write transaction starts with BEGIN IMMEDIATE: a second writer waits instead of deadlocking later."""
    factory = make_session_factory(make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}", busy_timeout_ms=50))
    raw = sqlite3.connect(tmp_path / "db.sqlite", isolation_level=None, timeout=0.1)
    raw.execute("begin immediate")  # someone else holds the write lock
    try:
        with pytest.raises(StorageUnavailable) as err:
            run_write(factory, lambda s: s.add(Event(actor="a", kind="k", payload={})), retries=1)
        assert err.value.code == "db.busy" and "nothing was saved" in str(err.value)
    finally:
        raw.execute("rollback")
        raw.close()
    with factory() as s:
        assert s.query(Event).count() == 0


@sqlite_only
def test_busy_database_is_retried_until_free(engine, tmp_path):
    factory = make_session_factory(make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}", busy_timeout_ms=50))
    raw = sqlite3.connect(tmp_path / "db.sqlite", isolation_level=None, check_same_thread=False)
    raw.execute("begin immediate")
    threading.Timer(0.3, lambda: (raw.execute("rollback"), raw.close())).start()
    run_write(factory, lambda s: s.add(Event(actor="late", kind="k", payload={})), retries=6)
    with factory() as s:
        assert s.query(Event).one().actor == "late"


def test_unreachable_database_gives_a_plain_error(tmp_path):
    e = make_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'db.sqlite'}")
    with pytest.raises(StorageUnavailable) as err:
        run_write(make_session_factory(e), lambda s: s.add(Event(actor="a", kind="k", payload={})))
    assert err.value.code == "db.unavailable"


def test_image_store_is_content_addressed_and_atomic(tmp_path):
    store = ImageStore(tmp_path)
    a = store.save(photo("coffee"))
    b = store.save(photo("coffee"))
    assert a == b and a.relpath.endswith(a.sha256 + ".png")
    files = list((tmp_path / "images").rglob("*"))
    assert [f.name for f in files if f.is_file()] == [a.sha256 + ".png"]  # no temp files left, one copy
    assert store.open(a.relpath).size == photo("coffee").size
