"""A throw-away PostgreSQL server for benchmarks (Debian's package; as root, initdb runs as the postgres user)."""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager


def pg_bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    return found[-1] if found else None


@contextmanager
def temporary_postgres(max_connections: int = 300):
    """Yields a postgresql:// URL to an empty server that is stopped and deleted afterwards; None if not installed."""
    bin_dir = pg_bin()
    if bin_dir is None:
        yield None
        return
    root = tempfile.mkdtemp(prefix="bench-pg-")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    as_root = os.geteuid() == 0
    if as_root:
        shutil.chown(root, "postgres")

    def run(*cmd: str) -> None:
        line = " ".join(cmd)
        subprocess.run(["su", "postgres", "-s", "/bin/sh", "-c", line] if as_root else ["sh", "-c", line],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    run(f"{bin_dir}/initdb", "-D", f"{root}/data", "-U", "postgres", "-A", "trust")
    # durable settings as a real server has them (fsync on): the figures must not flatter PostgreSQL
    run(f"{bin_dir}/pg_ctl", "-D", f"{root}/data", "-l", f"{root}/log", "-w", "-o",
        f"'-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections={max_connections}'", "start")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        run(f"{bin_dir}/pg_ctl", "-D", f"{root}/data", "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)
