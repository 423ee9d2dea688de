"""Benchmark: EDITGUARD_REPLICA, on a folder and on a real S3-compatible server (moto's, started here).

- replication lag: a reviewer's decision commits in the app (the Runtime's own Litestream child), then the time
  until the replica holds that transaction (its LTX file is listed there); p50 / p95 over --samples decisions.
  Baseline in the same run: the same Litestream settings on a bare sqlite3 database, one INSERT per commit (what
  Litestream alone costs; the app should add nothing).
- restore: --items edits, each with its own picture, written through the app's store and database; then the
  disk is wiped and the time is taken for (a) Runtime.start() to be ready (database restored, secret and signing
  authority back; pictures come back on first use) and (b) every picture fetched back as well.
At the end the restored database is checked: every decision and every row is there.

    .venv/bin/python -m bench.replica [--items 10000] [--samples 40] [--targets folder,s3]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image

from bench.common import pct


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--targets", default="folder,s3")
    args = parser.parse_args()
    os.environ.pop("DATABASE_URL", None)
    results = []
    for target in args.targets.split(","):
        tmp = Path(tempfile.mkdtemp(prefix=f"bench-replica-{target}-"))
        if target == "s3":
            with moto_server() as endpoint:
                url = f"s3://bench/editguard?endpoint={endpoint}"
                results.append(run(args, tmp, url, url.replace("/editguard?", "/baseline?"), "s3 (moto server)"))
        else:
            results.append(run(args, tmp, str(tmp / "volume"), str(tmp / "baseline-volume"), "folder"))
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps({"benchmark": "replica", "results": results,
                      "targets": {"lag_p95_s": 1.0}}, indent=2))


def run(args, tmp: Path, url: str, baseline_url: str, label: str) -> dict:
    from db.replica import Replica
    from review.queue.accounts import Reviewer
    from review.pipeline.runtime import Runtime
    from tests.queue_helpers import enqueue

    data = tmp / "data"
    os.environ.update(EDITGUARD_DATA_DIR=str(data), EDITGUARD_REPLICA=url, EDITGUARD_SEED_REFERENCES="0",
                      EDITGUARD_SECRET="")
    os.environ.pop("EDITGUARD_SECRET")

    # baseline: Litestream alone, bare sqlite3 commits
    base_db = tmp / "baseline" / "plain.db"
    base_db.parent.mkdir(parents=True)
    raw = sqlite3.connect(base_db, isolation_level=None)
    raw.execute("pragma journal_mode=wal")
    raw.execute("create table t (x integer)")
    base = Replica(baseline_url, base_db.parent, base_db)
    base.start()
    baseline = _lags(base, lambda i: raw.execute("insert into t values (?)", (i,)), args.samples)
    base.stop()
    raw.close()

    # the app: decisions through the review queue, replicated by the Runtime's own Litestream child
    rt = Runtime.start(load_models=False)
    replica = rt.store.replica
    items = enqueue(rt.session_factory, args.samples)
    who = Reviewer("bench", "reviewer")

    claimed = []
    lags = _lags(replica, lambda i: rt.queue.decide(who, claimed[-1], "approve", "no_issue"), args.samples,
                 prepare=lambda i: claimed.append(rt.queue.next(who)))  # the claim is not timed, the decision is

    # restore: --items edits with a picture each
    t = time.perf_counter()
    _fill(rt, args.items)
    fill_s = time.perf_counter() - t
    replica.stop()
    rt.engine.dispose()
    with sqlite3.connect(data / "editguard.db") as db:
        want = {"requests": db.execute("select count(*) from edit_requests").fetchone()[0],
                "approved": db.execute("select count(*) from review_items where status='approved'").fetchone()[0]}
    shutil.rmtree(data)
    t = time.perf_counter()
    again = Runtime.start(load_models=False, replicate=False)
    ready_s = time.perf_counter() - t
    t = time.perf_counter()
    fetched = again.store.replica.fetch_all_pictures()
    pictures_s = time.perf_counter() - t
    with sqlite3.connect(data / "editguard.db") as db:
        got = {"requests": db.execute("select count(*) from edit_requests").fetchone()[0],
               "approved": db.execute("select count(*) from review_items where status='approved'").fetchone()[0]}
        missing = sum(not (data / rel).exists() for (rel,) in db.execute("select relpath from images"))
    again.engine.dispose()
    assert got == want and missing == 0 and len(items) == args.samples, (got, want, missing)
    return {
        "replica": label,
        "replication_lag_s": {"p50": round(statistics.median(lags), 3), "p95": round(pct(lags, 0.95), 3),
                              "max": round(max(lags), 3), "samples": len(lags)},
        "baseline_litestream_alone_lag_s": {"p50": round(statistics.median(baseline), 3),
                                            "p95": round(pct(baseline, 0.95), 3)},
        "lag_p95_vs_baseline": round(pct(lags, 0.95) / pct(baseline, 0.95), 2),
        "items": args.items,
        "write_items_with_pictures_s": round(fill_s, 1),
        "restore_ready_s": round(ready_s, 2),
        "restore_all_pictures_s": round(pictures_s, 2),
        "pictures_fetched": fetched,
        "database_bytes": (data / "editguard.db").stat().st_size,
        "restored_rows_match": True,
    }


def _lags(replica, commit, samples: int, prepare=lambda i: None) -> list[float]:
    """Commit, then poll the replica's listing until a transaction newer than any before is there. Before each
    sample everything earlier is flushed to the replica (sync -wait), so only the timed commit can be the new one."""
    lags = []
    for i in range(samples):
        prepare(i)
        time.sleep(0.3)  # spaced out, as people decide: each commit is timed on its own
        replica.flush()
        newest = _replica_txid(replica)
        t0 = time.perf_counter()
        commit(i)
        while _replica_txid(replica) <= newest:
            if time.perf_counter() - t0 > 30:
                raise RuntimeError("a commit did not reach the replica within 30 s")
            time.sleep(0.005)
        lags.append(time.perf_counter() - t0)
    return lags


def _replica_txid(replica) -> int:
    """The highest transaction id in the replica's level-0 LTX files (named MINTXID-MAXTXID.ltx, hex)."""
    fs, root = replica.target.filesystem()
    db_root = root.rsplit("/", 1)[0] + "/db"
    try:
        names = [p for p in fs.find(db_root) if p.endswith(".ltx")]
    except FileNotFoundError:
        return 0
    return max((int(Path(p).stem.split("-")[1], 16) for p in names), default=0)


def _fill(rt, n: int) -> None:
    """n released edits, each with its own small picture (written through the store, so copied to the replica)."""
    from db.engine import run_write
    from db.models import EditRecord, RequestImage, StoredImage, new_id

    rng = np.random.default_rng(0)
    batch = 500
    for start in range(0, n, batch):
        saved = [rt.store.write(rt.store.encode(Image.fromarray(rng.integers(0, 255, (48, 48, 3), dtype=np.uint8))))
                 for _ in range(min(batch, n - start))]

        def work(s, saved=saved):
            for image in saved:
                rid = new_id()
                s.merge(StoredImage(**image.__dict__))
                s.add(EditRecord(id=rid, instruction="make it sepia", backend="classic", model_id="m",
                                  model_license="l", policy_mode="review", decision="released", requester="bench"))
                s.flush()
                s.add(RequestImage(request_id=rid, role="output", position=0, image_sha256=image.sha256))

        run_write(rt.session_factory, work)


class moto_server:
    """moto's S3 server on a free port with a `bench` bucket; the AWS_* variables point at it meanwhile."""

    def __enter__(self) -> str:
        import socket

        import s3fs

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.proc = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p",
                                      str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        endpoint = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                urllib.request.urlopen(endpoint, timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="us-east-1")
        s3fs.S3FileSystem(endpoint_url=endpoint).mkdir("bench")
        return endpoint

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


if __name__ == "__main__":
    main()
