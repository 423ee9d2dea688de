"""In-memory Hamming indexes over fixed-size binary codes, each row labelled with an int64 (stored as int32).

`NumpyHammingIndex` is exact and the default: codes as packed uint64 words in fixed-size chunks, one vectorised
XOR + popcount pass per query code. `MultiIndexHammingIndex` is exact within a small radius (PDQ's 31 bits, pHash's
14) over millions of codes, as ThreatExchange HMA does. `FaissHammingIndex` (faiss-cpu): an exact `IndexBinaryFlat` while
the index is small and an inverted-file `IndexBinaryIVF` (approximate: it visits `nprobe` of its cells) from
`FAISS_IVF_MIN_CODES` codes on. All are updated in place when references are added or removed.
"""
from __future__ import annotations

import os
import threading

import numpy as np

FAISS_IVF_MIN_CODES = 1_000_000  # below this faiss's exhaustive scan is exact and still ~0.5 ms per query code
FAISS_IVF_NPROBE = 64  # cells visited per query code; bench.similarity reports the recall this gives
FAISS_IVF_MAX_CELLS = 4096  # binary k-means training grows with cells x samples: 4096 trains in seconds


class NumpyHammingIndex:
    """Exact search over codes kept in fixed-size chunks.

    Adding fills the last chunk (a new one is allocated when it is full) and removing only marks rows dead, so neither
    copies the index: at a million works a bulk import stays linear. A chunk is compacted on its own once most of it
    is dead. Labels are stored as int32 (4 bytes a code, not 8).
    """

    CHUNK = 1 << 16

    def __init__(self, nbytes: int):
        assert nbytes % 8 == 0
        self.nbytes = nbytes
        self._lock = threading.Lock()
        self._chunks: list[_Chunk] = []

    def __len__(self) -> int:
        return sum(c.alive_count for c in self._chunks)

    def add(self, labels: np.ndarray, codes: np.ndarray) -> None:
        words = np.ascontiguousarray(codes, dtype=np.uint8).reshape(len(codes), self.nbytes).view(np.uint64)
        labels = np.asarray(labels, dtype=np.int64)
        if len(labels) and (labels.min() < 0 or labels.max() >= 2**31):
            raise ValueError("Index labels must fit in 31 bits.")
        with self._lock:
            done = 0
            while done < len(words):
                if not self._chunks or self._chunks[-1].full:
                    self._chunks.append(_Chunk(self.CHUNK, self.nbytes // 8))
                done += self._chunks[-1].append(words[done:], labels[done:])

    def compact(self) -> None:
        """Nothing to merge (MultiIndexHammingIndex.compact)."""

    def remove(self, labels: np.ndarray) -> None:
        labels = np.unique(np.asarray(labels, dtype=np.int64))
        if not len(labels):
            return
        with self._lock:
            for chunk in self._chunks:
                chunk.kill(labels)
            self._chunks = [c for c in self._chunks if c.alive_count or c is self._chunks[-1]]

    def range_search(self, queries: np.ndarray, radius: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each query code: (labels, distances) of the rows within `radius` bits."""
        qwords = np.ascontiguousarray(queries, dtype=np.uint8).reshape(len(queries), self.nbytes).view(np.uint64)
        with self._lock:
            chunks = [c.snapshot() for c in self._chunks]
        out = []
        for q in qwords:
            found_labels, found_dist = [], []
            for words, labels, alive in chunks:
                dist = np.bitwise_count(words[:, 0] ^ q[0]).astype(np.uint16)
                for k in range(1, words.shape[1]):
                    dist += np.bitwise_count(words[:, k] ^ q[k])
                hit = np.nonzero((dist <= radius) & alive)[0]
                found_labels.append(labels[hit].astype(np.int64))
                found_dist.append(dist[hit].astype(np.int32))
            out.append((np.concatenate(found_labels) if found_labels else np.zeros(0, np.int64),
                        np.concatenate(found_dist) if found_dist else np.zeros(0, np.int32)))
        return out

    def memory_bytes(self) -> int:
        return sum(c.memory_bytes() for c in self._chunks)


class _Chunk:
    def __init__(self, capacity: int, nwords: int):
        self.words = np.zeros((capacity, nwords), np.uint64)
        self.labels = np.zeros(capacity, np.int32)
        self.alive = np.zeros(capacity, bool)
        self.size = 0
        self.alive_count = 0

    @property
    def full(self) -> bool:
        return self.size == len(self.labels)

    def append(self, words: np.ndarray, labels: np.ndarray) -> int:
        n = min(len(words), len(self.labels) - self.size)
        end = self.size + n
        self.words[self.size:end], self.labels[self.size:end], self.alive[self.size:end] = words[:n], labels[:n], True
        self.size, self.alive_count = end, self.alive_count + n
        return n

    def kill(self, labels: np.ndarray) -> None:
        mine = self.labels[:self.size]
        if not self.size or labels[-1] < mine.min() or labels[0] > mine.max():
            return
        dead = np.isin(mine, labels) & self.alive[:self.size]
        if dead.any():
            alive = self.alive.copy()  # copy-on-write: a running search keeps a consistent snapshot
            alive[:self.size][dead] = False
            self.alive = alive
            self.alive_count -= int(dead.sum())
            if self.alive_count < self.size // 2 and self.full:  # compact this chunk only
                keep = self.alive[:self.size]  # new arrays: a search may still hold views of the old ones
                n = int(keep.sum())
                words, labels = self.words[:self.size][keep], self.labels[:self.size][keep]
                self.words, self.labels = np.zeros_like(self.words), np.zeros_like(self.labels)
                self.alive = np.zeros_like(self.alive)
                self.words[:n], self.labels[:n], self.alive[:n] = words, labels, True
                self.size = n

    def snapshot(self):
        return self.words[:self.size], self.labels[:self.size], self.alive[:self.size]

    def memory_bytes(self) -> int:
        return self.words.nbytes + self.labels.nbytes + self.alive.nbytes


class FaissHammingIndex:
    def __init__(self, nbytes: int, ivf_min_codes: int = FAISS_IVF_MIN_CODES, nprobe: int = FAISS_IVF_NPROBE):
        import faiss

        self._faiss = faiss
        self.nbytes = nbytes
        self._ivf_min = ivf_min_codes
        self._nprobe = nprobe
        self._lock = threading.Lock()
        self._index = faiss.IndexBinaryIDMap2(faiss.IndexBinaryFlat(nbytes * 8))
        self._ivf = False

    def __len__(self) -> int:
        return self._index.ntotal

    def add(self, labels: np.ndarray, codes: np.ndarray) -> None:
        codes = np.ascontiguousarray(codes, dtype=np.uint8).reshape(len(codes), self.nbytes)
        labels = np.ascontiguousarray(labels, dtype=np.int64)
        with self._lock:
            if not self._ivf and self._index.ntotal + len(codes) >= self._ivf_min:
                self._to_ivf(codes, labels)
            else:
                self._index.add_with_ids(codes, labels)

    def _to_ivf(self, new_codes: np.ndarray, new_labels: np.ndarray) -> None:
        """Move everything to an inverted file once the library is big: cells trained on the codes themselves."""
        faiss = self._faiss
        old = self._index
        n = old.ntotal
        old_codes = faiss.vector_to_array(faiss.downcast_IndexBinary(old.index).xb).reshape(n, self.nbytes) if n else np.zeros((0, self.nbytes), np.uint8)
        codes = np.concatenate([old_codes, new_codes])
        labels = np.concatenate([faiss.vector_to_array(old.id_map) if n else np.zeros(0, np.int64), new_labels])
        nlist = int(min(FAISS_IVF_MAX_CELLS, max(256, 4 * np.sqrt(len(codes)))))
        ivf = faiss.IndexBinaryIVF(faiss.IndexBinaryFlat(self.nbytes * 8), self.nbytes * 8, nlist)
        rng = np.random.default_rng(0)
        sample = codes[rng.choice(len(codes), size=min(len(codes), 40 * nlist), replace=False)]
        searching = faiss.omp_get_max_threads()  # 1 (review.similarity.whole_codes): searches run on request threads
        faiss.omp_set_num_threads(os.cpu_count() or 1)  # training is a one-off: every core
        try:
            ivf.train(sample)
            ivf.add_with_ids(codes, labels)
        finally:
            faiss.omp_set_num_threads(searching)
        ivf.nprobe = self._nprobe
        self._index, self._ivf = ivf, True

    def compact(self) -> None:
        """Nothing to merge (MultiIndexHammingIndex.compact)."""

    def remove(self, labels: np.ndarray) -> None:
        labels = np.ascontiguousarray(labels, dtype=np.int64)
        with self._lock:
            self._index.remove_ids(self._faiss.IDSelectorBatch(len(labels), self._faiss.swig_ptr(labels)))

    def range_search(self, queries: np.ndarray, radius: int) -> list[tuple[np.ndarray, np.ndarray]]:
        queries = np.ascontiguousarray(queries, dtype=np.uint8).reshape(len(queries), self.nbytes)
        with self._lock:
            if self._index.ntotal == 0:
                return [(np.zeros(0, np.int64), np.zeros(0, np.int32)) for _ in queries]
            lims, dist, labels = self._index.range_search(queries, radius + 1)  # faiss keeps distance < radius
        return [(labels[lims[i]:lims[i + 1]], dist[lims[i]:lims[i + 1]].astype(np.int32)) for i in range(len(queries))]

    def memory_bytes(self) -> int:
        return self._index.ntotal * (self.nbytes + 8)


class MultiIndexHammingIndex:
    """Exact search within a small radius over millions of codes: multi-index hashing (Norouzi et al. 2012), as
    ThreatExchange HMA does for PDQ.

    A code is cut into 16-bit pieces; two codes within `radius` bits agree on at least one piece to within
    radius // pieces bits (pigeonhole), so only rows whose piece is one of those few neighbours are compared. Codes
    arrive in a small unsorted tail that is scanned; every SEGMENT codes the tail is frozen into a segment with one
    table per piece (its rows by piece value, and where each value starts), and equal-sized segments merge, so an
    addition never copies the index and each code is re-sorted about log2(N / SEGMENT) times in all; removing marks
    rows dead. Memory per code: the code, 4 bytes a piece, a 4-byte label and a byte, plus 8 MB of offsets per
    segment (a handful of segments at a million codes). A code of one 64-bit word (pHash) is instead held once per
    piece, in that piece's order, so the rows a probe names are compared where they lie, in runs, not gathered from
    all over the segment (32 bytes a code instead of 8; pHash, 12 codes over a million: 6.5 -> 4.5 ms).
    """

    SEGMENT = 1 << 16

    def __init__(self, nbytes: int, radius: int):
        assert nbytes % 2 == 0
        self.nbytes = nbytes
        self.pieces = nbytes // 2
        self.radius = radius
        # Two codes within `radius` = pieces * s + a bits (a < pieces) agree to within s bits on one of the first a + 1
        # pieces, or to within s - 1 on one of the others (else they would differ in (a + 1)(s + 1) + (pieces - a - 1)s
        # = radius + 1 bits or more): pHash at 14 bits probes 3 x 697 + 137 neighbours, not 4 x 697.
        sub, extra = divmod(radius, self.pieces)
        masks = np.arange(1 << 16, dtype=np.uint32)
        within = [masks[np.bitwise_count(masks) <= (sub if t <= extra else sub - 1)].astype(np.uint16)
                  for t in range(self.pieces)]
        self._probe_piece = np.concatenate([np.full(len(m), t, np.int64) for t, m in enumerate(within)])
        self._probe_mask = np.concatenate(within)
        self._lock = threading.Lock()
        self._segments: list[dict] = []
        self._tail = NumpyHammingIndex(nbytes)
        self._tail.CHUNK = self.SEGMENT

    def __len__(self) -> int:
        return sum(int(seg["alive"].sum()) for seg in self._segments) + len(self._tail)

    def add(self, labels: np.ndarray, codes: np.ndarray) -> None:
        codes = np.ascontiguousarray(codes, dtype=np.uint8).reshape(len(codes), self.nbytes)
        labels = np.asarray(labels, dtype=np.int64)
        with self._lock:
            done = 0
            while done < len(codes):
                room = self.SEGMENT - sum(c.size for c in self._tail._chunks)
                take = min(room, len(codes) - done)
                self._tail.add(labels[done:done + take], codes[done:done + take])
                done += take
                if take == room:
                    self._freeze()

    def _freeze(self) -> None:
        """The tail becomes a segment; equal-sized neighbours merge (a log-structured merge), so a million codes sit
        in a handful of segments and each code is re-sorted only about log2(N / SEGMENT) times in its life."""
        words, labels, alive = self._tail._chunks[0].snapshot()
        segments = self._segments + [self._build(words.copy(), labels.copy(), alive.copy())]
        while len(segments) >= 2 and len(segments[-1]["labels"]) >= len(segments[-2]["labels"]):
            a, b = segments[-2], segments.pop()
            keep_a, keep_b = a["alive"], b["alive"]
            segments[-1] = self._build(np.concatenate([_words(a)[keep_a], _words(b)[keep_b]]),
                                       np.concatenate([a["labels"][keep_a], b["labels"][keep_b]]),
                                       np.ones(int(keep_a.sum() + keep_b.sum()), bool))
        self._segments = segments
        self._tail = NumpyHammingIndex(self.nbytes)
        self._tail.CHUNK = self.SEGMENT

    def _build(self, words: np.ndarray, labels: np.ndarray, alive: np.ndarray) -> dict:
        """One segment's tables, flat: `order` holds, piece after piece, the rows sorted by that piece's value, and
        rows whose piece t has value v sit at order[offsets[t * 65537 + v]:offsets[t * 65537 + v + 1]]."""
        keys = np.ascontiguousarray(words).view(np.uint8).reshape(len(words), self.nbytes).view(np.uint16)
        order = np.argsort(keys, axis=0, kind="stable").T.astype(np.uint32).ravel()
        offsets = np.zeros((self.pieces, (1 << 16) + 1), np.int64)
        for t in range(self.pieces):
            offsets[t, 1:] = np.cumsum(np.bincount(keys[:, t], minlength=1 << 16)) + t * len(words)
            offsets[t, 0] = t * len(words)
        if self.nbytes == 8:  # each piece's rows, in its order (`range_search`): the codes in row order are not kept
            return {"words": None, "by_piece": words[:, 0].take(order), "labels": labels, "alive": alive,
                    "tables": (order, offsets.ravel())}
        return {"words": words, "by_piece": None, "labels": labels, "alive": alive, "tables": (order, offsets.ravel())}

    def compact(self) -> None:
        """Every segment merged into one. Each probe is a random access per segment, the cost of a lookup at a
        million codes, so a library loaded in bulk (a start-up) is searched faster as one (bench: 17 pHash codes
        over a million, 6.8 -> 3.9 ms). It copies what it holds, once; later additions go on into new segments."""
        with self._lock:
            if len(self._segments) > 1:
                words = np.concatenate([_words(seg)[seg["alive"]] for seg in self._segments])
                labels = np.concatenate([seg["labels"][seg["alive"]] for seg in self._segments])
                self._segments = [self._build(words, labels, np.ones(len(labels), bool))]

    def remove(self, labels: np.ndarray) -> None:
        labels = np.unique(np.asarray(labels, dtype=np.int64))
        with self._lock:
            for seg in self._segments:
                dead = np.isin(seg["labels"], labels) & seg["alive"]
                if dead.any():
                    seg["alive"] = seg["alive"] & ~dead  # a new array: running searches keep their snapshot
            self._tail.remove(labels)

    def range_search(self, queries: np.ndarray, radius: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each query code: (labels, distances) of the rows within `radius` bits, each row once.

        One query at a time: its probes (each piece flipped by every mask) are looked up in the flat tables, the
        rows they name compared whole; ~0.4 ms per 64-bit query at radius 14 over a million codes."""
        if radius > self.radius:
            raise ValueError(f"This index answers radius <= {self.radius}, not {radius}.")
        queries = np.ascontiguousarray(queries, dtype=np.uint8).reshape(len(queries), self.nbytes)
        with self._lock:
            segments = [(seg["words"], seg["by_piece"], seg["labels"], seg["alive"], seg["tables"])
                        for seg in self._segments]
            tail = self._tail
        base = self._probe_piece * ((1 << 16) + 1)
        out = []
        for query, (tail_labels, tail_dist) in zip(queries, tail.range_search(queries, radius)):
            qwords = query.view(np.uint64)
            probes = base + (query.view(np.uint16)[self._probe_piece] ^ self._probe_mask)
            found_labels, found_dist = [tail_labels], [tail_dist]
            for words, by_piece, labels, alive, (order, offsets) in segments:
                lo, hi = offsets.take(probes), offsets.take(probes + 1)
                counts = hi - lo
                total = int(counts.sum())
                if not total:
                    continue
                at = np.repeat(lo - np.cumsum(counts) + counts, counts) + np.arange(total)  # places in `order`
                if by_piece is None:
                    row = order.take(at)
                    dist = _distances(words, row, qwords)
                else:  # compared in place; only the rows within the radius are looked up
                    dist = np.bitwise_count(by_piece.take(at) ^ qwords[0])
                    near = np.flatnonzero(dist <= radius)
                    row, dist = order.take(at[near]), dist[near]
                keep = (dist <= radius) & alive.take(row)
                if keep.any():
                    row, first = np.unique(row[keep], return_index=True)  # a row met through several pieces: once
                    found_labels.append(labels.take(row).astype(np.int64))
                    found_dist.append(dist[keep][first].astype(np.int32))
            out.append((np.concatenate(found_labels), np.concatenate(found_dist)))
        return out

    def memory_bytes(self) -> int:
        segs = sum((seg["words"] if seg["by_piece"] is None else seg["by_piece"]).nbytes
                   + seg["labels"].nbytes + seg["alive"].nbytes
                   + sum(a.nbytes for a in seg["tables"]) for seg in self._segments)
        return segs + self._tail.memory_bytes()


def _words(segment: dict) -> np.ndarray:
    """A segment's codes in row order (n x words), rebuilt from the first piece's order where only that is held."""
    if segment["words"] is not None:
        return segment["words"]
    order, n = segment["tables"][0], len(segment["labels"])
    words = np.empty((n, 1), np.uint64)
    words[order[:n], 0] = segment["by_piece"][:n]
    return words


def _distances(words: np.ndarray, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Hamming distances from `query` (uint64 words) to the given rows of `words`."""
    if words.shape[1] == 1:
        return np.bitwise_count(words[:, 0].take(rows) ^ query[0])
    return np.bitwise_count(words.take(rows, axis=0) ^ query).sum(axis=1)


def make_index(kind: str, nbytes: int, radius: int | None = None):
    if kind == "numpy":
        return NumpyHammingIndex(nbytes)
    if kind == "faiss":
        return FaissHammingIndex(nbytes)
    if kind == "mih":
        return MultiIndexHammingIndex(nbytes, radius)
    raise ValueError(f"Unknown similarity index {kind!r}: use numpy, faiss or mih.")
