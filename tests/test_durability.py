"""Nothing lost: kill -9 the app, wipe its disk, start it again with the same EDITGUARD_REPLICA: everything is back.

Run against a folder replica (a mounted volume) and a real S3-compatible server (moto's, started here).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO, cli_run, free_port, photo, sqlite_only

pytestmark = sqlite_only  # PostgreSQL keeps its own durability; its picture sharing is tested in test_postgres.py
PW = "correct horse battery staple"
FILTERS = ("open", "", "", "", 0, 1)


@pytest.fixture(scope="module")
def s3_server():
    """moto's S3 server on a free port, with one bucket; yields its endpoint."""
    port = free_port()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while True:
        try:
            urllib.request.urlopen(endpoint, timeout=1)
            break
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("moto_server did not start")
            time.sleep(0.2)
    import s3fs

    s3fs.S3FileSystem(endpoint_url=endpoint, key="test", secret="test").mkdir("editguard-test")
    yield endpoint
    proc.terminate()
    proc.wait(timeout=10)


def _s3_env(endpoint: str) -> dict:
    return {"EDITGUARD_REPLICA": f"s3://editguard-test/space1?endpoint={endpoint}", "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1"}


def _start_app(env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return proc, url
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("the app exited: " + proc.stdout.read())
            if time.time() > deadline:
                proc.kill()
                raise RuntimeError("the app did not start within 120 s")
            time.sleep(0.5)


def _replica_has(env: dict, tmp: Path, predicate) -> bool:
    """Restore the replica's database into a scratch file (as a fresh machine would) and test it."""
    import sqlite3

    from db.replica import Replica

    scratch = tmp / f"probe-{time.monotonic_ns()}"
    replica = Replica(env["EDITGUARD_REPLICA"], scratch, scratch / "editguard.db")
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
    try:
        replica.restore()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    if not (scratch / "editguard.db").exists():
        return False
    with sqlite3.connect(scratch / "editguard.db") as db:
        return predicate(db)


@pytest.mark.parametrize("kind", ["path", "s3"])
def test_kill_9_and_a_wiped_disk_lose_nothing(kind, tmp_path, request):
    from gradio_client import Client

    replica_env = _s3_env(request.getfixturevalue("s3_server")) if kind == "s3" else {
        "EDITGUARD_REPLICA": f"file://{tmp_path / 'volume'}"}
    data = tmp_path / "data"
    env = {**os.environ, "EDITGUARD_DATA_DIR": str(data), "GRADIO_ANALYTICS_ENABLED": "False",
           "EDITOR_BACKEND": "classic", "IMAGE_GUARD": "none", **replica_env}
    for key in ("DATABASE_URL", "EDITGUARD_SECRET", "EDITGUARD_POLICY_MODE"):
        env.pop(key, None)  # the browser secret is the data directory's own: it must come back too
    cli_run(env, "users", "add", "alice", "--role", "reviewer", stdin=PW + "\n")
    src = tmp_path / "astronaut.png"
    photo("astronaut").save(src)
    first = json.loads(cli_run(env, "edit", "--image", str(src), "--instruction", "sepia", "--json").stdout)
    assert first["decision"] == "pending_review"  # the astronaut is a registered sample work
    secret = (data / "secret.key").read_text()
    authority = (data / "provenance" / "ca.pem").read_bytes()

    app, url = _start_app(env)
    try:
        # a CLI command while the app replicates: its writes are in the replica when it exits
        coffee = tmp_path / "coffee.png"
        photo("coffee").save(coffee)
        second = json.loads(cli_run(env, "edit", "--image", str(coffee), "--instruction", "make it sepia",
                                    "--json").stdout)
        assert _replica_has(env, tmp_path, lambda db: db.execute(
            "select count(*) from edit_requests where id = ?", (second["id"],)).fetchone()[0] == 1)
        # a decision in the app reaches the replica by itself (Litestream ships it within about a second)
        client, _ = _reviewer(url)
        client.predict(*FILTERS, api_name="/review_next")
        client.predict("no_issue", "", *FILTERS, api_name="/review_approve")
        decided = lambda db: db.execute("select count(*) from review_items where status = 'approved'").fetchone()[0] == 1
        deadline = time.time() + 60
        while not _replica_has(env, tmp_path, decided):
            assert time.time() < deadline, "the decision never reached the replica"
            time.sleep(0.5)
    finally:
        app.send_signal(signal.SIGKILL)
        app.wait(timeout=30)

    shutil.rmtree(data)  # the disk is gone
    app, url = _start_app(env)
    try:
        assert (data / "secret.key").read_text() == secret  # requesters keep their My edits
        assert (data / "provenance" / "ca.pem").read_bytes() == authority  # earlier outputs still verify
        (item,) = [json.loads(line) for line in cli_run(env, "queue", "export").stdout.splitlines()]
        assert item["id"] == first["id"] and item["status"] == "approved"  # the decision made in the app
        import sqlite3

        with sqlite3.connect(data / "editguard.db") as db:
            assert {first["id"], second["id"]} <= {r[0] for r in db.execute("select id from edit_requests")}
        # the console opens a restored item with its pictures (fetched back from the replica on first use)
        client, session = _reviewer(url)
        opened = client.predict(1, *FILTERS, api_name="/review_open")
        pictures = _fetched(opened, session)  # before/after and the matched work, as the app served them
        assert len(pictures) >= 3 and all(len(b) > 0 for b in pictures)
        assert any(isinstance(v, str) and "sepia" in v for v in opened)  # the item's page names its instruction
        out = Path(first["outputs"][0])
        assert out.exists()  # the output picture is back on the local disk
        verified = cli_run(env, "provenance", "verify", "--json", str(out))
        assert json.loads(verified.stdout)["c2pa"]["state"] == "Trusted"
    finally:
        app.terminate()
        app.wait(timeout=30)


def _reviewer(url: str):
    """A gradio_client signed in as alice through the /auth/signin form (the session is an HttpOnly cookie); its
    pictures come back as links bound to that session."""
    from gradio_client import Client

    from tests.test_review_api import sign_in

    session = sign_in(url, "alice", PW)
    return Client(url, verbose=False, headers={"Cookie": f"editguard_session={session}"}, download_files=False), session


def _fetched(value, session: str) -> list[bytes]:
    """Every picture in a reviewer's answer: local files Gradio cached, and /pictures/ links opened with the session."""
    from tests.test_space import _urls

    found = [Path(p).read_bytes() for p in _paths(value)]
    for link in {u for u in _urls(value) if "/pictures/" in u or "/gradio_api/file=" in u}:
        req = urllib.request.Request(link, headers={"Cookie": f"editguard_session={session}"})
        found.append(urllib.request.urlopen(req, timeout=30).read())
    return found


def _paths(value) -> list[str]:
    """Local file paths in a gradio_client answer (an ImageSlider gives a pair of file dicts or paths)."""
    found = []
    if isinstance(value, str):
        found.append(value)
    elif isinstance(value, dict):
        found += _paths(list(value.values()))
    elif isinstance(value, (list, tuple)):
        for v in value:
            found += _paths(v)
    return [p for p in found if isinstance(p, str) and os.path.exists(p)]
