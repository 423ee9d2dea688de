"""In-memory Hamming indexes over fixed-size binary codes, each row labelled with an int64.

`NumpyHammingIndex` is exact and the default: codes as packed uint64 words in fixed-size chunks, one vectorised
XOR + popcount pass per query code. `FaissHammingIndex` (faiss-cpu) is for very large libraries: an exact `IndexBinaryFlat` while the index
is small and an inverted-file `IndexBinaryIVF` (approximate: it visits `nprobe` of its cells) from
`FAISS_IVF_MIN_CODES` codes on, as ThreatExchange HMA does for millions of hashes. Both are updated in place when
references are added or removed.
"""
from __future__ import annotations

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
        ivf.train(sample)
        ivf.nprobe = self._nprobe
        ivf.add_with_ids(codes, labels)
        self._index, self._ivf = ivf, True

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


def make_index(kind: str, nbytes: int):
    if kind == "numpy":
        return NumpyHammingIndex(nbytes)
    if kind == "faiss":
        return FaissHammingIndex(nbytes)
    raise ValueError(f"Unknown similarity index {kind!r}: use numpy or faiss.")
