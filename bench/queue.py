"""Benchmark: the review queue on one SQLite file.

- enqueue rate: one transaction per edit needing review (request, verdict, item, event), as the flow writes them;
- claim + decide rate with 1 and 8 concurrent reviewers (threads), every item decided exactly once;
- list-page latency (first, middle and last page, with and without a filter) at 100k queued items.
Baseline in the same run: plain sqlite3 write transactions (BEGIN IMMEDIATE, one INSERT, COMMIT) per second on the
same file, the ceiling any SQLite writer here can reach; ratios are printed beside the figures.

    .venv/bin/python -m bench.queue [--items 2000] [--list-items 100000]
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
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-queue-"))
    os.environ.update(EDITGUARD_DATA_DIR=str(tmp / "data"), EDITGUARD_SECRET="bench", EDITGUARD_SEED_REFERENCES="0")
    os.environ.pop("DATABASE_URL", None)

    from review.auth import Reviewer
    from review.runtime import Runtime
    from tests.queue_helpers import enqueue

    rt = Runtime.start(load_models=False)
    db_file = rt.settings.data_dir / "editguard.db"

    # baseline: raw sqlite3 write transactions on the same file
    raw = sqlite3.connect(db_file, isolation_level=None)
    raw.execute("create table if not exists bench_raw (x integer)")
    n_raw = 2000
    t = time.perf_counter()
    for i in range(n_raw):
        raw.execute("begin immediate")
        raw.execute("insert into bench_raw values (?)", (i,))
        raw.execute("commit")
    raw_tps = n_raw / (time.perf_counter() - t)
    raw.close()

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

    print(json.dumps({
        "benchmark": "queue",
        "database": "sqlite (WAL, synchronous=NORMAL)",
        "baseline_raw_sqlite_write_tx_per_s": round(raw_tps, 1),
        "enqueue_per_s": round(enqueue_rate, 1),
        "enqueue_vs_raw": round(enqueue_rate / raw_tps, 3),
        "claim_decide_1_reviewer": one,
        "claim_decide_8_reviewers": eight,
        "decide_8_vs_raw_tx": round(eight["decisions_per_s"] / raw_tps, 3),
        "list_items": total,
        "list_page_ms": {k: {"p50": round(statistics.median(v), 2), "p95": round(pct(v, 0.95), 2)}
                         for k, v in timings.items()},
        "list_page_p95_ms_all": round(pct(all_ms, 0.95), 2),
        "targets": {"decisions_per_s_8_reviewers": 1000, "list_page_p95_ms_at_100k": 100},
    }, indent=2))


if __name__ == "__main__":
    main()
