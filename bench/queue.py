"""Benchmark: the review queue on SQLite and on PostgreSQL, printed side by side.

- enqueue rate: one transaction per edit needing review (request, verdict, item, event), as the flow writes them;
- claim + decide rate with 1 and 8 concurrent reviewers (threads), every item decided exactly once;
- list-page latency (first, middle and last page, with and without a filter) at 100k queued items.
Baseline in the same run, per engine: plain write transactions (one INSERT, COMMIT) per second through the bare
driver on the same database (sqlite3 with BEGIN IMMEDIATE; psycopg), the ceiling any writer there can reach; ratios
are printed beside the figures. PostgreSQL: --postgres URL, else a throw-away local server (Debian's package) with
its durable defaults (fsync on), or skipped with a note when none is installed.

    .venv/bin/python -m bench.queue [--items 2000] [--list-items 100000] [--postgres URL] [--engines sqlite,postgresql]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

from bench.common import pct


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--list-items", type=int, default=100_000)
    parser.add_argument("--postgres", help="PostgreSQL URL of an empty database to use (default: a throw-away local server)")
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    results = []
    for engine in args.engines.split(","):
        if engine == "sqlite":
            results.append(run_engine(args, None))
        elif args.postgres:
            results.append(run_engine(args, args.postgres))
        else:
            from bench.pg import temporary_postgres

            with temporary_postgres() as url:
                results.append(run_engine(args, url) if url else {"database": "postgresql",
                                                                   "skipped": "PostgreSQL is not installed"})
    print(json.dumps({"benchmark": "queue", "engines": results,
                      "targets": {"decisions_per_s_8_reviewers": 1000, "list_page_p95_ms_at_100k": 100}}, indent=2))


def run_engine(args, postgres_url: str | None) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="bench-queue-"))
    os.environ.update(EDITGUARD_DATA_DIR=str(tmp / "data"), EDITGUARD_SECRET="bench", EDITGUARD_SEED_REFERENCES="0")
    os.environ.pop("EDITGUARD_REPLICA", None)
    if postgres_url:
        os.environ["DATABASE_URL"] = postgres_url
    else:
        os.environ.pop("DATABASE_URL", None)

    from review.queue.accounts import Reviewer
    from review.pipeline.runtime import Runtime
    from tests.queue_helpers import enqueue

    rt = Runtime.start(load_models=False, replicate=False)
    raw_tps = _raw_write_tps(rt, postgres_url)

    t = time.perf_counter()
    for _ in range(args.items):
        enqueue(rt.session_factory, 1)
    enqueue_rate = args.items / (time.perf_counter() - t)

    def run_reviewers(n_reviewers: int) -> dict:
        decided, lock = [], threading.Lock()

        def work(name):
            who = Reviewer(name, "reviewer")
            while (item := rt.queue.next(who)) is not None:
                rt.queue.decide(who, item, "approve", "no_issue")
                with lock:
                    decided.append(item)

        threads = [threading.Thread(target=work, args=(f"r{i}",)) for i in range(n_reviewers)]
        t0 = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        elapsed = time.perf_counter() - t0
        assert len(decided) == len(set(decided)), "an item was decided twice"
        return {"decisions": len(decided), "decisions_per_s": round(len(decided) / elapsed, 1)}

    one = run_reviewers(1)  # decides the items enqueued above
    enqueue(rt.session_factory, args.items)
    eight = run_reviewers(8)

    # list pages at scale: bulk-insert through the same helper, in large transactions
    remaining = args.list_items
    while remaining > 0:
        batch = min(5000, remaining)
        enqueue(rt.session_factory, batch, category=random.choice(["PII", "Violent", "Copyright Violation"]),
                priority=random.randint(0, 3), age=timedelta(minutes=random.randint(0, 60 * 24 * 7)))
        remaining -= batch
    _, total = rt.queue.list()
    pages = max(1, total // 50)
    timings = {"first": [], "middle": [], "last": [], "filtered": []}
    for _ in range(20):
        for key, kwargs in (("first", {"page": 1}), ("middle", {"page": pages // 2}), ("last", {"page": pages}),
                            ("filtered", {"category": "PII", "min_age_minutes": 60, "page": 3})):
            t = time.perf_counter()
            rt.queue.list(**kwargs)
            timings[key].append((time.perf_counter() - t) * 1000)
    all_ms = [v for vs in timings.values() for v in vs]

    result = {
        "database": (f"postgresql {rt.engine.dialect.server_version_info[0]} (psycopg 3, fsync on)" if postgres_url
                     else "sqlite (WAL, synchronous=NORMAL)"),
        "baseline_raw_write_tx_per_s": round(raw_tps, 1),
        "enqueue_per_s": round(enqueue_rate, 1),
        "enqueue_vs_raw": round(enqueue_rate / raw_tps, 3),
        "claim_decide_1_reviewer": one,
        "claim_decide_8_reviewers": eight,
        "decide_8_vs_raw_tx": round(eight["decisions_per_s"] / raw_tps, 3),
        "list_items": total,
        "list_page_ms": {k: {"p50": round(statistics.median(v), 2), "p95": round(pct(v, 0.95), 2)}
                         for k, v in timings.items()},
        "list_page_p95_ms_all": round(pct(all_ms, 0.95), 2),
    }
    rt.engine.dispose()
    return result


def _raw_write_tps(rt, postgres_url: str | None, n: int = 2000) -> float:
    """The baseline: bare-driver write transactions (one INSERT, COMMIT) per second on the same database."""
    if postgres_url is None:
        raw = sqlite3.connect(rt.settings.data_dir / "editguard.db", isolation_level=None)
        raw.execute("create table if not exists bench_raw (x integer)")
        t = time.perf_counter()
        for i in range(n):
            raw.execute("begin immediate")
            raw.execute("insert into bench_raw values (?)", (i,))
            raw.execute("commit")
        tps = n / (time.perf_counter() - t)
        raw.close()
        return tps
    import psycopg

    from db.engine import normalise_url

    url = normalise_url(postgres_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url) as raw:
        raw.execute("create table if not exists bench_raw (x integer)")
        raw.commit()
        t = time.perf_counter()
        for i in range(n):
            raw.execute("insert into bench_raw values (%s)", (i,))
            raw.commit()
        tps = n / (time.perf_counter() - t)
        raw.execute("drop table bench_raw")
        raw.commit()
    return tps


if __name__ == "__main__":
    main()
