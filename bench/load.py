"""Benchmark: many users at once against the running app, through the API (`/edit` with gradio_client).

Starts `app.py` on a free port with a fresh data directory (embedded defaults: classic CPU editor, rule guard,
NudeNet), then at 1, 4, 16 and 32 concurrent users sends 1 MP photo edits through
`client.predict(handle_file(img), instruction, api_name="/edit")` and prints, per level: throughput, latency
p50/p95, client errors, and how many records the database gained (it must be exactly one per successful call).
While the edits of 4 or more users run, a prober types into the live guard the way the page does (the same queue
event, over HTTP) and loads the page, so their p50/p95 show whether the app stays responsive; one user runs alone. Baseline in the same run: the same edit
in-process (`review.pipeline.flow.run_edit`, no HTTP, no Gradio) on the idle machine; `api_vs_inprocess` is the ratio of the
1-user p50 to it.

    .venv/bin/python -m bench.load [--users 1 4 16 32] [--calls-per-user 2] [--min-calls 20]
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.common import pct

REPO = Path(__file__).resolve().parent.parent
INSTRUCTION = "白黒にして少しぼかして"
LIVE_TEXT = "make it warmer and add the text Good morning"


def start_app(data_dir: Path, log_path: Path, extra_env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """`app.py` on a free port with its own data directory; returns once the page answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "EDITGUARD_DATA_DIR": str(data_dir), "EDITGUARD_SECRET": "bench-load",
           "GRADIO_ANALYTICS_ENABLED": "False", **(extra_env or {})}
    env.pop("DATABASE_URL", None)
    log = open(log_path, "w")
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=REPO, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            httpx.get(url + "/config", timeout=2).raise_for_status()
            return proc, url
        except httpx.HTTPError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                raise RuntimeError(f"the app did not start; see {log_path}") from None
            time.sleep(0.5)


def fn_index(url: str, api_name: str) -> int:
    """The queue index of an event, found by its function's name (private events have one too)."""
    for dep in httpx.get(url + "/config", timeout=10).json()["dependencies"]:
        if dep.get("api_name") == api_name:
            return dep["id"]
    raise LookupError(f"no event named {api_name!r}")


def queue_call(http: httpx.Client, index: int, data: list, timeout: float = 120) -> dict:
    """One event through Gradio's queue exactly as the page sends it (join, then read the event stream)."""
    session = secrets.token_hex(8)
    http.post("/gradio_api/queue/join", json={"data": data, "event_data": None, "fn_index": index,
                                              "trigger_id": None, "session_hash": session},
              timeout=timeout).raise_for_status()
    with http.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}, timeout=timeout) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed":
                    if not message.get("success"):
                        raise RuntimeError(str(message.get("output")))
                    return message["output"]
    raise RuntimeError("the event stream ended without a result")


def record_count(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("select count(*) from edit_requests").fetchone()[0]


def stored_once(db: Path, ids: list[str]) -> bool:
    if not ids:
        return True
    with sqlite3.connect(db) as conn:
        rows = conn.execute(f"select id, count(*) from edit_requests where id in ({','.join('?' * len(ids))}) "
                            "group by id", ids).fetchall()
    return dict(rows) == {i: 1 for i in ids}


class Prober(threading.Thread):
    """Types into the live guard (the page's own queue event) and loads the page, every `every` seconds."""

    def __init__(self, url: str, live_index: int, every: float = 0.2):
        super().__init__(daemon=True)
        self.url, self.live_index, self.every = url, live_index, every
        self.live_ms, self.page_ms, self.errors = [], [], 0
        self.stop = threading.Event()

    def run(self):
        with httpx.Client(base_url=self.url) as http:
            while not self.stop.is_set():
                try:
                    t = time.perf_counter()
                    out = queue_call(http, self.live_index, [LIVE_TEXT], timeout=60)
                    assert "eg-live-verdict" in out["data"][0]
                    self.live_ms.append((time.perf_counter() - t) * 1000)
                    t = time.perf_counter()
                    http.get("/", timeout=60).raise_for_status()
                    self.page_ms.append((time.perf_counter() - t) * 1000)
                except Exception:  # noqa: BLE001 - counted, not fatal: the figure is the error count
                    self.errors += 1
                self.stop.wait(self.every)


def run_level(url: str, users: int, calls_each: int, image: Path, db: Path, live_index: int) -> dict:
    from gradio_client import Client, handle_file

    clients = [Client(url + "/", verbose=False) for _ in range(users)]
    latencies, errors, ids, lock = [], [], [], threading.Lock()
    before = record_count(db)

    def user(client):
        for _ in range(calls_each):
            t = time.perf_counter()
            try:
                record, _pictures = client.predict(handle_file(str(image)), INSTRUCTION, api_name="/edit")
            except Exception as exc:  # noqa: BLE001 - a client error is the figure being measured
                with lock:
                    errors.append(f"{type(exc).__name__}: {str(exc)[:120]}")
                continue
            with lock:
                latencies.append(time.perf_counter() - t)
                ids.append(record["id"])

    prober = Prober(url, live_index)
    probing = users > 1  # one user is measured alone: the end-to-end time of an edit, nobody else on the two cores
    if probing:
        prober.start()
    t0 = time.perf_counter()
    with ThreadPoolExecutor(users) as pool:
        list(pool.map(user, clients))
    elapsed = time.perf_counter() - t0
    prober.stop.set()
    if probing:
        prober.join()
    for c in clients:
        c.close()
    gained = record_count(db) - before
    return {
        "users": users, "calls": users * calls_each, "ok": len(latencies), "client_errors": len(errors),
        "error_kinds": sorted(set(errors))[:5],
        "edits_per_s": round(len(latencies) / elapsed, 2),
        "latency_s_p50": round(statistics.median(latencies), 3) if latencies else None,
        "latency_s_p95": round(pct(latencies, 0.95), 3) if latencies else None,
        "records_gained": gained, "one_record_per_success": gained == len(ids) and stored_once(db, ids),
        "live_guard_ms_p50": round(statistics.median(prober.live_ms), 1) if prober.live_ms else None,
        "live_guard_ms_p95": round(pct(prober.live_ms, 0.95), 1) if prober.live_ms else None,
        "page_ms_p95": round(pct(prober.page_ms, 0.95), 1) if prober.page_ms else None,
        "probe_errors": prober.errors,
    }


def inprocess_baseline(image: Path, tmp: Path, runs: int) -> float:
    """p50 seconds of the same edit called in-process on the idle machine (what the API adds is the difference)."""
    os.environ.update(EDITGUARD_DATA_DIR=str(tmp / "inprocess"), EDITGUARD_SECRET="bench-load")
    os.environ.pop("DATABASE_URL", None)
    from review.pipeline.flow import run_edit
    from review.pipeline.submission import Submission
    from review.pipeline.runtime import Runtime

    rt = Runtime.start()
    times = []
    for i in range(runs + 2):
        t = time.perf_counter()
        run_edit(rt, Submission(image=image, instruction=INSTRUCTION, seed=0))
        if i >= 2:  # warm-up
            times.append(time.perf_counter() - t)
    rt.pool.shutdown()
    rt.engine.dispose()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, nargs="+", default=[1, 4, 16, 32])
    parser.add_argument("--calls-per-user", type=int, default=2)
    parser.add_argument("--min-calls", type=int, default=20, help="at least this many calls per level")
    parser.add_argument("--size", type=int, default=1024, help="side of the square test photo (default 1 MP)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-load-"))

    from PIL import Image
    from skimage import data

    image = tmp / f"photo-{args.size}.jpg"
    Image.fromarray(data.chelsea()).resize((args.size, args.size), Image.Resampling.LANCZOS).save(image, quality=90)
    baseline = inprocess_baseline(image, tmp, runs=10)

    proc, url = start_app(tmp / "data", tmp / "app.log")
    try:
        live_index = fn_index(url, "on_type")
        from gradio_client import Client, handle_file

        warm = Client(url + "/", verbose=False)
        for _ in range(2):
            warm.predict(handle_file(str(image)), INSTRUCTION, api_name="/edit")
        warm.close()
        db = tmp / "data" / "editguard.db"
        levels = [run_level(url, n, max(args.calls_per_user, -(-args.min_calls // n)), image, db, live_index)
                  for n in args.users]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    one = next((lv for lv in levels if lv["users"] == 1 and lv["latency_s_p50"]), None)
    print(json.dumps({
        "benchmark": "load",
        "image": f"{args.size}x{args.size} JPEG photo (skimage chelsea), instruction {INSTRUCTION}",
        "endpoint": "/edit via gradio_client",
        "cpu_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "baseline_inprocess_edit_s_p50": round(baseline, 3),
        "api_vs_inprocess": round(one["latency_s_p50"] / baseline, 2) if one else None,
        "levels": levels,
        "targets": {"client_errors": 0, "latency_s_p50_1_user": 0.40, "one_record_per_success": True},
    }, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
