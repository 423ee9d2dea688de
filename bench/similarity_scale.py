"""The similarity benchmark at scale: hashing, verification and index lookups at 1k/100k/1M works, bulk import."""
from __future__ import annotations

import time

import numpy as np

from bench.common import pct
from bench.similarity_data import photos, procedural
from review.similarity import hashes, mih_views, verify
from review.similarity.hashes import KINDS
from review.similarity.index import make_index


def timed_ms(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        s = time.perf_counter()
        fn()
        out.append((time.perf_counter() - s) * 1000)
    return out


def speed(sizes: list[int], max_full: int = 1_000_000) -> dict:
    """Index figures on random codes (1k/100k/1M works). `max_full` bounds the all-views indexes (numpy scans 28M
    codes per lookup at 1M works)."""
    big = photos()["astronaut"].resize((1024, 1024))
    query = timed_ms(lambda: hashes.query_codes(big), 15)
    register = timed_ms(lambda: hashes.reference_codes(big), 5)
    codes, _ = hashes.reference_codes(big)
    qcodes, _ = hashes.query_codes(big)
    per_ref = {k: sum(c.kind == k for c in codes) for k in hashes.KINDS}
    per_query = {k: sum(c.kind == k for c in qcodes) for k in hashes.KINDS}
    per_query["scan"] = sum(c.kind == "pdq" and asks(c) for asks in mih_views.SCAN.values() for c in qcodes)  # mih's scan
    big_features = verify.features(big)
    features_ms = timed_ms(lambda: verify.features(big), 5)
    verify_ms = timed_ms(lambda: verify.verify(verify.features(big.crop((100, 100, 900, 900))), big_features), 5)
    out = {"hash_query_ms_1024": {"p50": round(pct(query, .5), 1), "p95": round(pct(query, .95), 1)},
           "sift_features_ms_1024": {"p50": round(pct(features_ms, .5), 1)},
           "verify_one_candidate_ms_1024_with_query_features": {"p50": round(pct(verify_ms, .5), 1)},
           "hash_reference_ms_1024": {"p50": round(pct(register, .5), 1)},
           "codes_per_reference": per_ref, "codes_per_query": per_query, "lookup": []}
    rng = np.random.default_rng(1)
    for n_refs in sizes:
        row = {"references": n_refs}
        rows_per_work = per_ref if n_refs <= max_full else {k: 1 for k in per_ref}
        data = {k: rng.integers(0, 256, size=(n_refs * rows_per_work[k], hashes.KINDS[k].bits // 8), dtype=np.uint8)
                for k in hashes.KINDS}
        # queries: a near copy of a planted reference code (10-31 bits away: review level; 40 to the PDQ warn distance: warn level) and
        # random codes for the rest of a query's views
        planted = rng.choice(n_refs, size=20 if n_refs < 1_000_000 else 400, replace=False)  # whole-picture rows
        flips = [int(rng.integers(10, 32)) if i % 2 == 0 else int(rng.integers(40, KINDS['pdq'].warn + 1)) for i in range(len(planted))]
        row["mih"] = mih_lookups(n_refs, per_query, rng)
        for index_kind in ("numpy", "faiss"):
            if n_refs > max_full:
                continue
            row[index_kind] = _lookups(index_kind, data, per_ref, per_query, planted, flips, rng, n_refs)
        out["lookup"].append(row)
    return out


# unrelated works the PDQ scan alone meets (beyond pHash's 14 bits, within PDQ's 84): bench.similarity measured none of
# 47,600 pairs on 2026-12-07 (`mih_scan_only_share_per_pair`); planted at the 95% upper bound, 3 / 47,600
PDQ_CROWD = 6.3e-5
MIH_CROWD = 5.7e-4  # measured 2026-12-07 (hash version 5, both tables): bench.similarity's mih_candidate_share_per_pair


def mih_lookups(n_refs: int, per_query: dict, rng) -> dict:
    """The `mih` search over random codes as the app holds them (two pHash tables, each work's PDQ codes by id for
    the re-rank), asked as the app asks: every pHash view and the mirror image, the centre windows.

    Real pHash codes crowd: MIH_CROWD of unrelated pairs are within pHash's warn distance in the `mih` geometry
    (bench.similarity's `mih_candidate_share_per_pair`), where random codes almost never are. So each query meets that
    many works planted 4-14 bits from one of its pHash codes, which `mih` must find and re-rank; and one planted work
    whose centre window is 2-14 bits from one of the query's centre windows, which it must find."""
    from review.similarity.mih_views import RERANK, SCAN, TABLES, ZOOMS
    from review.similarity.whole_codes import WholeCodes

    asked = {"phash": per_query["phash"] + 1, "phash_centre": len(ZOOMS)}  # query codes per table
    tables = {name: rng.integers(0, 256, (n_refs, 8), dtype=np.uint8) for name in TABLES}
    queries = {name: rng.integers(0, 256, (200, n, 8), dtype=np.uint8) for name, n in asked.items()}
    planted = rng.choice(n_refs, size=200, replace=False)
    crowd = int(n_refs * MIH_CROWD)
    for i in range(len(planted)):
        for name, n in asked.items():
            rows = rng.choice(n_refs, size=crowd * n // sum(asked.values()), replace=False)
            tables[name][rows] = _flipped(queries[name][i, rng.integers(0, n, len(rows))], rng, 4, 14)
    for i in range(len(planted)):  # after the crowd, which could land on a planted work
        tables["phash_centre"][planted[i]] = _flipped(queries["phash_centre"][i, [i % len(ZOOMS)]], rng, 2, 14)[0]
    s = time.perf_counter()
    index = {name: make_index("mih", 8, KINDS["phash"].warn) for name in TABLES}
    for name, codes in tables.items():
        for start in range(0, n_refs, 5000):  # as the app loads a library: 5,000 works at a time, then compacts
            index[name].add(np.arange(start, min(start + 5000, n_refs)), codes[start:start + 5000])
        index[name].compact()
    build = time.perf_counter() - s
    whole = {view: WholeCodes() for view in RERANK}
    held = {view: rng.integers(0, 256, (n_refs, 32), dtype=np.uint8) for view in RERANK}
    # the query's codes that scan (mih_views.SCAN: as it is, and trimmed when it has borders); the scan's crowd,
    # PDQ_CROWD of unrelated works within PDQ's warn distance; and one planted work per query 40 bits to the warn
    # distance from its code as it is, which the scan must find
    scan_queries = rng.integers(0, 256, (len(planted), per_query.get("scan", 2), 32), dtype=np.uint8)
    scan_planted = rng.choice(n_refs, size=len(planted), replace=False)
    for i in range(len(planted)):
        rows = rng.choice(n_refs, size=int(n_refs * PDQ_CROWD), replace=False)
        held["identity"][rows] = _flipped_pdq(scan_queries[i, rng.integers(0, scan_queries.shape[1], len(rows))], rng, 60,
                                              KINDS["pdq"].warn)
    for i in range(len(planted)):
        held["identity"][scan_planted[i]] = _flipped_pdq(scan_queries[i, :1], rng, 40, KINDS["pdq"].warn)[0]
    s = time.perf_counter()
    for view, w in whole.items():
        w.set(np.arange(n_refs), held[view])
    build += time.perf_counter() - s
    times, scan_times, met, found, scan_found = [], [], [], 0, 0
    for i in range(len(planted)):
        pdq = {"identity": rng.integers(0, 256, (per_query["pdq"] + 1, 32), dtype=np.uint8),
               "centre70": rng.integers(0, 256, (len(ZOOMS), 32), dtype=np.uint8)}
        s = time.perf_counter()
        hits = [labels for name in TABLES for labels, _ in index[name].range_search(queries[name][i], KINDS["phash"].warn)]
        s_scan = time.perf_counter()
        scanned = [whole[view].range_search(scan_queries[i], KINDS["pdq"].warn)[0] for view in SCAN]
        scan_times.append((time.perf_counter() - s_scan) * 1000)
        works = np.unique(np.concatenate(hits + scanned))
        for view, w in whole.items():
            w.distances(works, pdq[view])
        times.append((time.perf_counter() - s) * 1000)
        met.append(len(works))
        found += int(planted[i] in set(works.tolist()))
        scan_found += int(scan_planted[i] in set(np.concatenate(scanned + [np.zeros(0, np.int64)]).tolist()))
    mem = sum(i.memory_bytes() for i in index.values()) + sum(w.memory_bytes() for w in whole.values())
    s = time.perf_counter()
    index["phash"].remove(np.arange(1, dtype=np.int64))
    removed = (time.perf_counter() - s) * 1000
    s = time.perf_counter()
    index["phash"].add(np.arange(n_refs, n_refs + 1, dtype=np.int64), tables["phash"][:1])
    added = (time.perf_counter() - s) * 1000
    return {"codes_per_work": {"phash": len(TABLES), "pdq_by_id": len(RERANK)},
            "pdq_codes_scanned_per_lookup": scan_queries.shape[1],
            "lookup_ms_p50": round(pct(times, .5), 2), "lookup_ms_p95": round(pct(times, .95), 2),
            "of_which_pdq_scan_ms_p50": round(pct(scan_times, .5), 2),
            "works_met_per_lookup_p50": int(np.median(met)), "planted_found": f"{found}/{len(planted)}",
            "planted_found_by_the_pdq_scan": f"{scan_found}/{len(planted)}",
            "build_s": round(build, 1), "bytes_per_reference": round(mem / n_refs), "memory_mb": round(mem / 2**20),
            "remove_one_work_ms": round(removed, 2), "add_one_work_ms": round(added, 2)}


def _flipped_pdq(codes: np.ndarray, rng, low: int, high: int) -> np.ndarray:
    """Copies of 256-bit codes with `low` to `high` bits flipped (each row its own count and bits)."""
    ranks = np.argsort(rng.random((len(codes), 256)), axis=1).argsort(axis=1)
    flips = ranks < rng.integers(low, high + 1, len(codes))[:, None]
    return codes ^ np.packbits(flips, axis=1, bitorder="little")


def _flipped(codes: np.ndarray, rng, low: int, high: int) -> np.ndarray:
    """Copies of 64-bit codes with an even number of bits from `low` to `high` flipped (pHash distances are even)."""
    out = codes.copy()
    for row in out:
        for b in rng.choice(64, size=int(rng.integers(low // 2, high // 2 + 1)) * 2, replace=False):
            row[b // 8] ^= np.uint8(1 << (b % 8))
    return out


def _lookups(index_kind: str, data: dict, per_ref: dict, per_query: dict, planted, flips, rng, n_refs: int) -> dict:
    """Build one index over the codes, time lookups of the planted queries, one work removed and added."""
    idx = {}
    per_work, radius = per_ref, {k: KINDS[k].warn for k in per_ref}
    s = time.perf_counter()
    for k, arr in data.items():
        arr = arr[:n_refs * per_work[k]]
        idx[k] = make_index(index_kind, arr.shape[1], radius[k])
        step = 5000 * per_work[k]  # as the index loads a library: 5,000 works at a time
        for start in range(0, len(arr), step):
            idx[k].add(np.arange(start, min(start + step, len(arr)), dtype=np.int64), arr[start:start + step])
    build = time.perf_counter() - s
    found, times = {"review": 0, "warn": 0}, []
    for i, (p, nbits) in enumerate(zip(planted, flips)):
        q = data["pdq"][p * per_work["pdq"]].copy()
        for b in rng.choice(256, size=nbits, replace=False):
            q[b // 8] ^= np.uint8(1 << (b % 8))
        qs = np.stack([q] + [rng.integers(0, 256, 32, dtype=np.uint8) for _ in range(per_query["pdq"] - 1)])
        ph = rng.integers(0, 256, (per_query["phash"], 8), dtype=np.uint8)
        s = time.perf_counter()
        res = idx["pdq"].range_search(qs, radius["pdq"])
        idx["phash"].range_search(ph, radius["phash"])
        times.append((time.perf_counter() - s) * 1000)
        found["review" if nbits <= 31 else "warn"] += int(p * per_work["pdq"] in set(res[0][0].tolist()))
        if index_kind == "numpy" and n_refs >= 1_000_000 and len(times) >= 4:
            break  # a few are enough to time an exhaustive scan of 28M codes
    mem = sum(i.memory_bytes() for i in idx.values())
    changes = {}
    if index_kind == "numpy":  # one work removed, one added, in a full index: neither copies it
        s = time.perf_counter()
        idx["pdq"].remove(np.arange(per_work["pdq"], dtype=np.int64))
        changes["remove_one_work_ms"] = round((time.perf_counter() - s) * 1000, 2)
        s = time.perf_counter()
        idx["pdq"].add(np.arange(len(data["pdq"]), len(data["pdq"]) + per_work["pdq"], dtype=np.int64),
                       data["pdq"][:per_work["pdq"]])
        changes["add_one_work_ms"] = round((time.perf_counter() - s) * 1000, 2)
    asked = {"review": sum(f <= 31 for f in flips[:len(times)]), "warn": sum(f > 31 for f in flips[:len(times)])}
    return {"codes_per_work": per_work, "lookup_ms_p50": round(pct(times, .5), 2),
            "lookup_ms_p95": round(pct(times, .95), 2),
            "planted_found_review_level": f"{found['review']}/{asked['review']}",
            "planted_found_warn_level": f"{found['warn']}/{asked['warn']}",
            "build_s": round(build, 1), "bytes_per_reference": round(mem / n_refs),
            "memory_mb": round(mem / 2**20), **changes}


def write_work(path, seed: int) -> None:
    """One procedural work of the import bench as a file (in a worker process)."""
    procedural(1000 + seed).save(path, **({"quality": 90} if str(path).endswith(".jpeg") else {}))


def import_time(works: int = 40, fmt: str = "png") -> dict:
    """Registering works through the real bulk import (worker processes hash, batched transactions) into SQLite.

    `fmt` "png": lossless posters with grain on every pixel (~600 KB each, the slowest to decode; stored as they
    are); "jpeg": the same at quality 90 (~100 KB, how photographs usually arrive; stored re-encoded as PNG)."""
    import os
    import tempfile
    from pathlib import Path

    from review.similarity.bulk_import import cores, import_library, mapper
    from review.similarity.library import folder_items
    from review.pipeline.runtime import Runtime
    from review.pipeline.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "works"
        folder.mkdir()
        with mapper(cores(), works) as run:  # the files are made side by side too (~60 ms each)
            list(run(write_work, [folder / f"w{seed}.{fmt}" for seed in range(works)], range(works)))
        os.environ["EDITGUARD_DATA_DIR"] = str(Path(tmp) / "data")
        os.environ["EDITGUARD_SEED_REFERENCES"] = "0"
        rt = Runtime.start(Settings.from_env(), load_models=False)
        items = folder_items(sorted(folder.iterdir()), {"owner": "o", "license": "l"})
        marks = {}
        s, cpu = time.perf_counter(), time.process_time()
        summary = import_library(rt.session_factory, rt.store, items, actor="bench", index=rt.index,
                                 progress=lambda n, total, _: marks.__setitem__(n, time.perf_counter()))
        seconds, cpu = time.perf_counter() - s, time.process_time() - cpu
        rt.engine.dispose()
    quarter = works // 4
    steady = (marks[works] - marks[quarter]) / (works - quarter)  # worker processes started, batches flowing
    fixed = seconds - steady * works  # start-up (worker processes, the library's codes) and the last commit
    return {"works": works, "format": fmt, "added": len(summary.added), "seconds": round(seconds, 1),
            "ms_per_work": round(seconds / works * 1000, 1), "steady_ms_per_work": round(steady * 1000, 2),
            "fixed_seconds": round(fixed, 1), "importing_process_cpu_ms_per_work": round(cpu / works * 1000, 1),
            "100k_works_minutes_extrapolated": round((fixed + steady * 100_000) / 60, 1),
            "100k_works_minutes_linear": round(seconds / works * 100_000 / 60, 1),
            "how": f"measured on `works` procedural 640x480 {fmt.upper()} files with one worker process per core "
                   f"({cores()} here); 100k extrapolated as this run's fixed cost (start-up, last commit) plus 100k "
                   "times its steady rate (from the first quarter of the works to the last), and linearly "
                   "(decoding dominates, then the 41 codes; the duplicate check is an in-memory multi-index)"}


def load_time(works: int = 100_000, index_kind: str = "mih") -> dict:
    """The first load of the reference index (what a restart costs): a synthetic library of random codes, rows as a
    registered work has them (34 PDQ + 9 pHash views), written straight into SQLite, then one `refresh`.

        .venv/bin/python -c "from bench.similarity_scale import load_time; print(load_time(1_000_000))"
    """
    import hashlib
    import os
    import tempfile
    from pathlib import Path

    from sqlalchemy import insert

    from db.models import LibraryChange, ReferenceHashes, ReferenceWork, StoredImage
    from review.pipeline.runtime import Runtime
    from review.pipeline.settings import Settings
    from review.similarity.search import ReferenceIndex

    rng = np.random.default_rng(0)
    pdq_views = list(hashes.DIHEDRAL) + ["trimmed"] + [name for name, _, _ in hashes.REGIONS]
    phash_views = list(hashes.DIHEDRAL) + [hashes.CENTRE_VIEW]
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["EDITGUARD_DATA_DIR"] = str(Path(tmp) / "data")
        os.environ["EDITGUARD_SEED_REFERENCES"] = "0"
        rt = Runtime.start(Settings.from_env(), load_models=False)
        for start in range(0, works, 5000):
            n = min(5000, works - start)
            shas = [hashlib.sha256(str(start + i).encode()).hexdigest() for i in range(n)]
            with rt.session_factory.begin() as s:
                s.execute(insert(StoredImage), [{"sha256": h, "relpath": f"images/{h[:2]}/{h[2:4]}/{h}.png",
                                                 "width": 640, "height": 480, "format": "PNG", "size_bytes": 1}
                                                for h in shas])
                ids = list(s.scalars(insert(ReferenceWork).returning(ReferenceWork.id, sort_by_parameter_order=True), [
                    {"title": f"w{start + i}", "owner": "o", "license": "l", "source": "", "image_sha256": h,
                     "phash": "00" * 8, "phash_variants": ["00" * 8] * 8, "pdq_quality": 90,
                     "hash_version": hashes.HASH_VERSION, "added_by": "bench"} for i, h in enumerate(shas)]))
                pdq = rng.integers(0, 256, (n, len(pdq_views) * 32), dtype=np.uint8)
                phash = rng.integers(0, 256, (n, len(phash_views) * 8), dtype=np.uint8)
                s.execute(insert(ReferenceHashes), [{"reference_id": r, "kind": "pdq", "views": pdq_views,
                                                     "codes": pdq[i].tobytes()} for i, r in enumerate(ids)]
                          + [{"reference_id": r, "kind": "phash", "views": phash_views,
                              "codes": phash[i].tobytes()} for i, r in enumerate(ids)])
                s.execute(insert(LibraryChange), [{"reference_id": r, "op": "add"} for r in ids])
        index = ReferenceIndex(rt.session_factory, index_kind, rt.store)
        s = time.perf_counter()
        index.refresh()
        seconds = time.perf_counter() - s
        out = {"works": works, "index": index_kind, "loaded": len(index), "first_load_s": round(seconds, 1),
               "index_mb": round(index.memory_bytes() / 2**20)}
        rt.engine.dispose()
    return out


def sketch_fetch_time(works: int = 100_000, asks: int = 20) -> dict:
    """Loading the candidates' keypoint sketches in one query (as ReferenceIndex.rerank does) from a SQLite
    `reference_hashes` of `works` sketches (the hash rows left out: the query reads the sketch rows by key), and
    scoring them against a photo's keypoints: for RERANK_TOP candidates and for SKETCHED (the most a search scores)."""
    import tempfile
    from pathlib import Path

    from sqlalchemy import create_engine, insert, select
    from sqlalchemy.orm import Session

    from bench.similarity_data import photos
    from db.models import Base, ReferenceHashes
    from review.similarity import keypoints
    from review.similarity.search import RERANK_TOP, SKETCHED

    rng = np.random.default_rng(0)
    query = keypoints.detect(photos()["chelsea"])
    out = {"works": works}
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{Path(tmp) / 'sketches.db'}")
        Base.metadata.create_all(engine, tables=[ReferenceHashes.__table__])
        size = keypoints.SKETCH_KEYPOINTS * keypoints.ENTRY
        with Session(engine) as s:
            for start in range(0, works, 10_000):
                s.execute(insert(ReferenceHashes), [{"reference_id": i, "kind": keypoints.KIND, "views": [keypoints.VIEW],
                                                     "codes": rng.integers(0, 256, size, np.uint8).tobytes()}
                                                    for i in range(start, min(works, start + 10_000))])
            s.commit()
        for candidates in (RERANK_TOP, SKETCHED):
            fetch, score = [], []
            for _ in range(asks):
                ids = rng.choice(works, candidates, replace=False).tolist()
                with Session(engine) as s:
                    t = time.perf_counter()
                    rows = s.execute(select(ReferenceHashes.reference_id, ReferenceHashes.codes).where(
                        ReferenceHashes.kind == keypoints.KIND, ReferenceHashes.reference_id.in_(ids))).all()
                    fetch.append((time.perf_counter() - t) * 1000)
                assert len(rows) == candidates
                t = time.perf_counter()
                keypoints.scores(query, [keypoints.parse(code) for _, code in rows])
                score.append((time.perf_counter() - t) * 1000)
            out[str(candidates)] = {"fetch_ms_p50": round(pct(fetch, .5), 2), "fetch_ms_p95": round(pct(fetch, .95), 2),
                                    "score_ms_p50": round(pct(score, .5), 1), "score_ms_p95": round(pct(score, .95), 1)}
        engine.dispose()
    return {**out, "db_mb": round(works * size / 1e6)}
