"""Shared fixtures: real photos from scikit-image, a fresh data directory and runtime per test.

When DATABASE_URL names a PostgreSQL server, the whole suite runs on it: every test gets a fresh database there
(created empty, dropped afterwards); otherwise every test has its own SQLite file.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("MKL_DISABLE_FAST_MM", "1")  # before any test runs torch: forked workers (editor/__init__.py)
REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
POSTGRES_URL = os.environ.get("DATABASE_URL", "") if os.environ.get("DATABASE_URL", "").startswith("postgres") else ""
sqlite_only = pytest.mark.skipif(bool(POSTGRES_URL), reason="about the SQLite file itself")


def fresh_database_url() -> str | None:
    """A new, empty PostgreSQL database on the DATABASE_URL server; None when the suite runs on SQLite."""
    if not POSTGRES_URL:
        return None
    from sqlalchemy import create_engine

    from db.engine import normalise_url

    name = "eg_test_" + uuid.uuid4().hex[:12]
    admin = create_engine(normalise_url(POSTGRES_URL), isolation_level="AUTOCOMMIT", poolclass=_null_pool())
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return normalise_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Drop a database fresh_database_url() made (a served app's are left to the throw-away CI server)."""
    from sqlalchemy import create_engine

    from db.engine import normalise_url

    admin = create_engine(normalise_url(POSTGRES_URL), isolation_level="AUTOCOMMIT", poolclass=_null_pool())
    with admin.connect() as c:
        c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{normalise_url(url).database}" WITH (FORCE)')
    admin.dispose()


def _null_pool():
    from sqlalchemy.pool import NullPool

    return NullPool


def photo(name: str = "chelsea", size: tuple[int, int] | None = None) -> Image.Image:
    from skimage import data

    im = Image.fromarray(getattr(data, name)()).convert("RGB")
    return im.resize(size) if size else im


def painted(im: Image.Image, share: float) -> Image.Image:
    """A copy with the top `share` of 90% of its width painted one green (a repaint the hash loses)."""
    a = np.asarray(im.convert("RGB")).copy()
    a[: int(a.shape[0] * share), : int(a.shape[1] * 0.9)] = (40, 160, 90)
    return Image.fromarray(a)


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A private data directory and database for one test."""
    monkeypatch.setenv("EDITGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("EDITGUARD_REPLICA", raising=False)
    url = fresh_database_url()
    if url:
        monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("EDITGUARD_POLICY_MODE", raising=False)
    monkeypatch.setenv("EDITGUARD_SECRET", "test-secret")
    yield tmp_path
    if url:
        drop_database(url)  # WITH (FORCE): the test's pooled connections end with it


@pytest.fixture
def cli(env):
    """Run `python -m review` in a real process against the test's data directory; no traceback, ever."""
    import os
    import subprocess
    import sys

    def run(*args, stdin: str | None = None, extra_env: dict | None = None):
        proc = subprocess.run([sys.executable, "-m", "review", *args], input=stdin, capture_output=True, text=True,
                              cwd=REPO, env={**os.environ, **(extra_env or {})}, timeout=120)
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc

    return run


@pytest.fixture
def make_runtime(env, monkeypatch):
    from review.pipeline.runtime import Runtime
    from review.pipeline.settings import Settings

    def make(**overrides):
        for key, value in overrides.items():
            monkeypatch.setenv(key, value)
        return Runtime.start(Settings.from_env())

    return make


@pytest.fixture
def rt(make_runtime):
    return make_runtime()


@pytest.fixture
def image_file(tmp_path):
    def write(image: Image.Image, name: str = "in.png", **save) -> Path:
        path = tmp_path / name
        image.save(path, **save)
        return path

    return write


def mean_rgb(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.float64).reshape(-1, 3).mean(axis=0)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_app(tmp: Path, setup=None):
    """Start `app.py` on a free port with its own data directory; yields (url, env). `setup(env)` runs first."""
    import subprocess
    import sys
    import time
    import urllib.request

    env = {**os.environ, "EDITGUARD_DATA_DIR": str(tmp / "data"), "EDITGUARD_SECRET": "served-app-test",
           "GRADIO_ANALYTICS_ENABLED": "False"}
    env.pop("DATABASE_URL", None)
    env.pop("EDITGUARD_REPLICA", None)
    if POSTGRES_URL:
        env["DATABASE_URL"] = fresh_database_url()
    env.pop("EDITGUARD_POLICY_MODE", None)
    if setup:
        setup(env)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 90
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("the app exited: " + proc.stdout.read())
            if time.time() > deadline:
                proc.kill()
                raise RuntimeError("the app did not start within 90 s")
            time.sleep(0.5)
    try:
        yield url, env
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def cli_run(env: dict, *args: str, stdin: str | None = None):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "review", *args], cwd=REPO, env=env, input=stdin, text=True,
                          capture_output=True, check=True)


def tampered(value: str) -> str:
    """`value` with one character in its middle changed: always a different string, and never only its last
    character (base64's last character can carry padding bits, so changing it may decode to the same bytes)."""
    i = len(value) // 2
    return value[:i] + ("A" if value[i] != "A" else "B") + value[i + 1:]
