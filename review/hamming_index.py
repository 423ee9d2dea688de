"""In-memory Hamming indexes over fixed-size binary codes, each row labelled with an int64.

`NumpyHammingIndex` is exact and the default: codes as packed uint64 words, one vectorised XOR + popcount pass per
query code. `FaissHammingIndex` (faiss-cpu) is for very large libraries: an exact `IndexBinaryFlat` while the index
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
    def __init__(self, nbytes: int):
        assert nbytes % 8 == 0
        self.nbytes = nbytes
        self._lock = threading.Lock()
        self._words = np.zeros((0, nbytes // 8), dtype=np.uint64)
        self._labels = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self._labels)

    def add(self, labels: np.ndarray, codes: np.ndarray) -> None:
        words = np.ascontiguousarray(codes, dtype=np.uint8).reshape(len(codes), self.nbytes).view(np.uint64)
        with self._lock:
            self._words = np.concatenate([self._words, words])
            self._labels = np.concatenate([self._labels, np.asarray(labels, dtype=np.int64)])

    def remove(self, labels: np.ndarray) -> None:
        with self._lock:
            keep = ~np.isin(self._labels, np.asarray(labels, dtype=np.int64))
            self._words, self._labels = self._words[keep], self._labels[keep]

    def range_search(self, queries: np.ndarray, radius: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each query code: (labels, distances) of the rows within `radius` bits."""
        qwords = np.ascontiguousarray(queries, dtype=np.uint8).reshape(len(queries), self.nbytes).view(np.uint64)
        with self._lock:
            words, labels = self._words, self._labels
        out = []
        for q in qwords:
            dist = np.bitwise_count(words[:, 0] ^ q[0]).astype(np.uint16)
            for k in range(1, words.shape[1]):
                dist += np.bitwise_count(words[:, k] ^ q[k])
            hit = np.nonzero(dist <= radius)[0]
            out.append((labels[hit], dist[hit].astype(np.int32)))
        return out

    def memory_bytes(self) -> int:
        return self._words.nbytes + self._labels.nbytes


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
        old_codes = faiss.vector_to_array(old.index.xb).reshape(n, self.nbytes) if n else np.zeros((0, self.nbytes), np.uint8)
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
