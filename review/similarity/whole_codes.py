"""Each work's whole-picture PDQ code by reference id, to re-rank the candidates of the `mih` index.

The million-work index searches pHash within its warn distance with every view of the query, which at a million
works brings hundreds of unrelated works along (pHash's 64 bits are crowded there). Their PDQ codes then tell them
apart: the query's PDQ views (turned back ones included) are compared with each candidate's whole-picture code,
32 bytes a work held here, in chunks of 65,536 ids so that growing never copies what is held.

The same codes are also scanned whole (`range_search`, faiss's Hamming range search in place, one thread: ~1.2 ms
a query code over a million works), so a copy whose pHash is beyond its warn distance but whose PDQ is within its
own (a repaint, a recolouring) is met without a PDQ table (mih_views.SCAN).
"""
from __future__ import annotations

import faiss
import numpy as np

CHUNK = 1 << 16
# One OpenMP thread: searches run on the server's request threads, and faiss's threads spinning beside them on a
# busy machine made the million-work lookup's p95 171 ms instead of 11 (bench.similarity_scale.mih_lookups).
faiss.omp_set_num_threads(1)


class WholeCodes:
    def __init__(self, nbytes: int = 32):
        self.nbytes = nbytes
        self._codes: list[np.ndarray] = []
        self._held: list[np.ndarray] = []
        self._end = 0  # one past the highest id ever set: the scan stops there

    def set(self, ref_ids: np.ndarray, codes: np.ndarray) -> None:
        ref_ids = np.asarray(ref_ids, np.int64)
        if not len(ref_ids):
            return
        while len(self._codes) * CHUNK <= int(ref_ids.max()):
            self._codes.append(np.zeros((CHUNK, self.nbytes), np.uint8))
            self._held.append(np.zeros(CHUNK, bool))
        for chunk in np.unique(ref_ids // CHUNK).tolist():
            mine = ref_ids // CHUNK == chunk
            self._codes[chunk][ref_ids[mine] % CHUNK] = codes[mine]
            self._held[chunk][ref_ids[mine] % CHUNK] = True
        self._end = max(self._end, int(ref_ids.max()) + 1)

    def drop(self, ref_ids) -> None:
        for ref_id in np.asarray(ref_ids, np.int64).tolist():
            if ref_id < len(self._held) * CHUNK:
                self._held[ref_id // CHUNK][ref_id % CHUNK] = False

    def distances(self, ref_ids: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each work: the smallest distance to any query code and which query code it was (distance 999 where
        the work has no code here)."""
        ref_ids = np.asarray(ref_ids, np.int64)
        out = np.full(len(ref_ids), 999, np.int64)
        which = np.zeros(len(ref_ids), np.int64)
        inside = ref_ids < len(self._held) * CHUNK
        chunk, slot = ref_ids[inside] // CHUNK, ref_ids[inside] % CHUNK
        if not len(queries) or not len(chunk):
            return out, which
        codes, held = np.empty((len(chunk), self.nbytes), np.uint8), np.empty(len(chunk), bool)
        for c in np.unique(chunk).tolist():
            mine = chunk == c
            codes[mine], held[mine] = self._codes[c][slot[mine]], self._held[c][slot[mine]]
        d = np.bitwise_count(codes.view(np.uint64)[:, None, :] ^ queries.view(np.uint64)[None, :, :]).sum(axis=2)
        best = np.where(held, d.min(axis=1), 999)
        out[np.flatnonzero(inside)] = best
        which[np.flatnonzero(inside)] = d.argmin(axis=1)
        return out, which

    def range_search(self, queries: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every held work within `radius` bits of a query code, by scanning every code where it lies:
        (reference ids, distances, the query code's position), one row per pair met."""
        queries = np.ascontiguousarray(queries, np.uint8).reshape(-1, self.nbytes)
        found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for c, (codes, held) in enumerate(zip(self._codes, self._held) if len(queries) else ()):
            rows = min(CHUNK, self._end - c * CHUNK)
            if rows <= 0:
                break
            result = faiss.RangeSearchResult(len(queries))  # faiss keeps distances below its radius: hence + 1
            faiss.hamming_range_search(faiss.swig_ptr(queries), faiss.swig_ptr(codes), len(queries), rows, radius + 1,
                                       self.nbytes, result)
            lims = faiss.rev_swig_ptr(result.lims, len(queries) + 1).copy()
            n = int(lims[-1])
            if not n:
                continue
            slots = faiss.rev_swig_ptr(result.labels, n).copy()
            dists = faiss.rev_swig_ptr(result.distances, n).astype(np.int64)
            which = np.repeat(np.arange(len(queries)), np.diff(lims).astype(np.int64))
            keep = held[slots]
            found.append((slots[keep] + c * CHUNK, dists[keep], which[keep]))
        if not found:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
        return tuple(np.concatenate(parts) for parts in zip(*found))

    def memory_bytes(self) -> int:
        return sum(c.nbytes for c in self._codes) + sum(h.nbytes for h in self._held)
