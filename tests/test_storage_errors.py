"""Every storage or configuration failure is one plain sentence, exit 1, no traceback (the CLI and the app)."""
from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from tests.conftest import POSTGRES_URL, REPO, free_port


def _refused(cli, *args, env=None, expect: str):
    proc = cli(*args, extra_env=env)  # the fixture already fails on any "Traceback"
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expect in lines[0], proc.stderr
    return lines[0]


@pytest.mark.parametrize("url,expect", [
    ("not a url", "DATABASE_URL is not a database URL"),
    ("mysql://user:hunter2@localhost/x", "not installed"),
    ("postgresql://user:hunter2@127.0.0.1:{port}/x", "cannot be reached"),
])
def test_bad_database_urls(cli, url, expect):
    line = _refused(cli, "queue", "list", env={"DATABASE_URL": url.format(port=free_port())}, expect=expect)
    assert "hunter2" not in line  # a password never reaches the terminal or a log


def test_a_data_directory_that_is_a_file(cli, env):
    (env / "file").write_text("x")
    _refused(cli, "queue", "list", env={"EDITGUARD_DATA_DIR": str(env / "file")}, expect="is a file")
    _refused(cli, "queue", "list", env={"EDITGUARD_DATA_DIR": str(env / "file" / "below")}, expect="is a file")


def test_a_data_directory_that_cannot_be_written(cli):
    # /proc refuses new folders even to root (a read-only mount says the same in other words)
    _refused(cli, "queue", "list", env={"EDITGUARD_DATA_DIR": "/proc/editguard-data"}, expect="cannot be written")


def test_a_file_that_is_not_a_database(cli, env):
    data = env / "notdb"
    data.mkdir()
    (data / "editguard.db").write_bytes(b"this is not SQLite" * 100)
    _refused(cli, "queue", "list", env={"EDITGUARD_DATA_DIR": str(data), "DATABASE_URL": ""},
             expect="is not an SQLite database")


def test_a_database_from_a_newer_version(cli, env):
    data = env / "newer"
    assert cli("queue", "list", extra_env={"EDITGUARD_DATA_DIR": str(data), "DATABASE_URL": ""}).returncode == 0
    with sqlite3.connect(data / "editguard.db") as db:
        db.execute("update alembic_version set version_num = '9999'")
    _refused(cli, "queue", "list", env={"EDITGUARD_DATA_DIR": str(data), "DATABASE_URL": ""}, expect="newer EditGuard")


@pytest.mark.skipif(not POSTGRES_URL, reason="needs the PostgreSQL server of the suite's second run")
def test_a_missing_postgresql_database(cli):
    from db.engine import normalise_url

    url = normalise_url(POSTGRES_URL).set(database="editguard_no_such_db").render_as_string(hide_password=False)
    _refused(cli, "queue", "list", env={"DATABASE_URL": url}, expect="createdb")


@pytest.mark.parametrize("target", ["missing-folder/out.jsonl", "."])
def test_queue_export_to_a_bad_path(cli, env, target):
    _refused(cli, "queue", "export", "-o", str(env / target), expect="cannot write")


@pytest.mark.parametrize("args,expect", [
    (["--guidance", "nan"], "not a number"), (["--guidance", "inf"], "not a number"),
    (["--guidance", "-1"], "not a number from 0 to 20"), (["--seed", str(10**30)], "out of range"),
    (["--seed", "-5"], "out of range"), (["--steps", "nan"], "not a whole number"),
])
def test_edit_numbers_are_refused_not_replaced(cli, image_file, args, expect):
    from tests.conftest import photo

    proc = cli("edit", "--image", str(image_file(photo())), "--instruction", "sepia", *args)
    assert proc.returncode == 2 and expect in proc.stderr.splitlines()[-1]  # argparse: usage, then the reason


def test_the_flow_refuses_nan_and_out_of_range_seeds(rt, image_file):
    from review.pipeline.flow import run_edit
    from review.pipeline.submission import EditFailed, Submission
    from tests.conftest import photo

    for kwargs in ({"guidance": float("nan")}, {"guidance": float("inf")}, {"seed": -5}, {"seed": 2**31},
                   {"seed": float("inf")}):
        with pytest.raises(EditFailed) as err:
            run_edit(rt, Submission(image=str(image_file(photo())), instruction="sepia", **kwargs))
        assert err.value.code == "param.range"


def test_a_bad_replica_setting(cli):
    _refused(cli, "queue", "list", env={"EDITGUARD_REPLICA": "ftp://example.org/x"}, expect="EDITGUARD_REPLICA")


def test_the_app_says_it_in_one_sentence_too(env):
    (env / "file").write_text("x")
    proc = subprocess.run([sys.executable, "app.py", "--port", str(free_port())], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env={**__import__("os").environ, "EDITGUARD_DATA_DIR": str(env / "file")})
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error: The data directory")
