"""Look-alike search against the reference library: hash candidates, then geometric verification.

Every reference's codes live in `reference_hashes` (one row per hash kind). The in-memory index is loaded once and
then follows the library through `library_changes`: each search reads the newest change number (one primary-key
lookup) and applies only the changes after the one it has seen, whichever process or replica made them.

A warning on an upload means "some work among N matched", so a per-pair false-match rate grows with the library.
Hence two stages: the hash index proposes candidates within the warn distance, the first RERANK_TOP are ranked by
their keypoint sketches (review.similarity.keypoints: local detail, which tells a copy from look-alikes), as is any
of the first SKETCHED whose sketch scores as no unrelated pair did (a crop off the centre that a crowd of look-alikes
outranks by hash), and review.similarity.verify confirms the best VERIFY_TOP with keypoints and one transform. Only
confirmed candidates reach a person, so the per-upload false-warning rate is bounded by VERIFY_TOP x the verifier's
false-pass rate, whatever the library size.
A candidate whose pictures have too few keypoints to check (flat graphics) reaches a person only at the review hash
distance, marked as resting on the hash alone, with a confidence that falls as the library grows.
"""
from __future__ import annotations

import json
import logging
import math
import threading
from dataclasses import dataclass

import numpy as np
from PIL import Image
from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session, sessionmaker

from db.models import LibraryChange, ReferenceHashes, ReferenceWork, StoredImage
from review.similarity import hashes, keypoints, mih_views, verify
from review.similarity.index import make_index
from review.similarity.whole_codes import WholeCodes

log = logging.getLogger(__name__)

# Pairs of unrelated pictures measured by bench.similarity (the hash levels' false-pair rate rests on these).
HASH_PAIRS_MEASURED = 36_890
VERIFY_TOP = 5  # candidates verified per picture: bounds both the time and the per-upload false-warning rate
RERANK_TOP = 200  # hash candidates ranked by their keypoint sketches (review.similarity.keypoints) before that
SKETCHED = 2_000  # hash candidates whose sketches are scored: beyond RERANK_TOP only a STRONG_SCORE moves one up
# Confidence of a verified match: logistic in log(1 + agreeing keypoints), fitted by bench.similarity on half of the
# registered pictures and checked on the other half (`calibration` in its report). Capped below 1: no unrelated
# pair passed verification in VERIFIED_PAIRS_MEASURED tries, which bounds the false-pass rate at 3/n (95%), not 0.
CONFIDENCE_INTERCEPT, CONFIDENCE_SLOPE = -11.46, 5.79
VERIFIED_PAIRS_MEASURED = 10_375
CONFIDENCE_CAP = round(1 - 3 / VERIFIED_PAIRS_MEASURED, 4)
# `mih` (multi-index hashing, for libraries of a million works) holds two pHash codes a work, searched within pHash's
# warn distance with more views of the query, scans each work's whole-picture PDQ code, and re-ranks what it meets
# by PDQ (review.similarity.mih_views). Crops from a corner need the works' corner windows: only `numpy` holds them.
LOAD_BATCH = 5_000  # works loaded a transaction; a refresh that loads more (a start-up) compacts the index after
AUTO_MIH_WORKS = 100_000  # `auto` picks `mih` from this many active works on (numpy: 110 MB, 183 ms a lookup here)

KIND_NAMES = list(hashes.KINDS)  # a candidate row's kind position (PDQ first: it wins ties)
VIEWS = hashes.DIHEDRAL + ("trimmed",) + tuple(name for name, _, _ in hashes.REGIONS)
VIEW_SLOTS = 64  # an index row's label is (reference id, view) as one int64: id * VIEW_SLOTS + view position
assert len(VIEWS) <= VIEW_SLOTS


def choose_index(factory: sessionmaker[Session], kind: str) -> str:
    """The index kind to run: `auto` is the exact `numpy` index over every view while the library is small enough for
    it, `mih` from AUTO_MIH_WORKS active works on (decided at start-up: a library that grows past it switches at the
    next start)."""
    if kind != "auto":
        return kind
    with factory() as s:
        works = s.scalar(select(func.count()).select_from(ReferenceWork).where(ReferenceWork.active.is_(True))) or 0
    return "mih" if works >= AUTO_MIH_WORKS else "numpy"


def row_labels(reference_id, views: list[int]):
    """The index labels of one work's views (numpy broadcasting: `reference_id` may be a column of ids)."""
    return np.asarray(reference_id, np.int64) * VIEW_SLOTS + np.asarray(views, np.int64)


def verified_confidence(inliers: int) -> float:
    z = CONFIDENCE_INTERCEPT + CONFIDENCE_SLOPE * math.log1p(inliers)
    return round(min(CONFIDENCE_CAP, 1 / (1 + math.exp(-z))), 4)


def hash_only_confidence(kind: str, distance: int, works: int) -> float:
    """The chance that no unrelated work among `works` is this close: 1 − works × (false-pair rate at this distance,
    never below the 3/n bound of the pairs measured). It falls towards 0 as the library grows, as it should."""
    per_pair = max(1.0 - hashes.KINDS[kind].score(distance), 3 / HASH_PAIRS_MEASURED)
    return round(max(0.0, 1.0 - max(1, works) * per_pair), 4)


def first_by_hash_kept(order: list[int]) -> list[int]:
    """`order` (positions in hash order) with the first by hash last among the VERIFY_TOP verified: a work poor in
    keypoints (a fundus photo, a clock face) has a weak sketch, which look-alikes' chance scores would outrank."""
    rest = [i for i in order if i != 0]
    return order if 0 in order[:VERIFY_TOP] or 0 not in order else rest[:VERIFY_TOP - 1] + [0] + rest[VERIFY_TOP - 1:]


@dataclass(frozen=True)
class Match:
    reference_id: int
    title: str
    owner: str
    license: str
    source: str
    image_relpath: str
    hash_kind: str
    distance: int
    level: str
    transform: str  # the reference's view that met: identity, mirror, centre70, ...
    score: float = 0.0
    query_view: str = "identity"  # the query's view that met: identity, trimmed, derotated+6, unturned+6.3, ...
    target: str = ""  # set by the caller: input | reference | output
    position: int = 0
    # what the score rests on: {"basis": "verified", "inliers", "matches", "region" (polygon, fractions of the work),
    # "region_share", ...} or {"basis": "hash"}; None for a bare hash candidate (search_codes)
    evidence: dict | None = None

    def basis(self) -> str:
        """What the score rests on, in words (the CLI; the page translates its own)."""
        e = self.evidence or {}
        if e.get("basis") == "verified":
            detail = " and the same fine detail" if "detail" in e else ""
            return (f"verified: {e['inliers']} matching keypoints{detail}, "
                    f"region {round(100 * e['region_share'])}% of the work")
        return f"{self.hash_kind} hash distance {self.distance}" + (" only" if e.get("basis") == "hash" else "")

    def to_dict(self) -> dict:
        return {"reference_id": self.reference_id, "title": self.title, "owner": self.owner, "license": self.license,
                "source": self.source, "level": self.level, "distance": self.distance, "hash_kind": self.hash_kind,
                "score": self.score, "transform": self.transform, "query_view": self.query_view,
                "target": self.target, "position": self.position, "evidence": self.evidence}


class ReferenceIndex:
    """The active references' codes in memory, one Hamming index per hash kind; `store` opens works to verify."""

    def __init__(self, session_factory: sessionmaker[Session], index_kind: str = "numpy", store=None):
        self._factory = session_factory
        self.index_kind = index_kind
        self._store = store
        self._lock = threading.Lock()
        self._seq: int | None = None
        # tables: name -> (hash kind, the works' view held: None for every view, which query codes ask it)
        self._tables = (dict(mih_views.TABLES) if index_kind == "mih"
                        else {kind: (kind, None, lambda code: True) for kind in hashes.KINDS})
        self._indexes = {name: make_index(index_kind, hashes.KINDS[kind].bits // 8, hashes.KINDS[kind].warn)
                         for name, (kind, _, _) in self._tables.items()}
        self._present = np.zeros(1024, bool)  # by reference id: is it in the index? (1 byte a work, no objects)
        self._count = 0
        self._features = verify.FeatureCache()
        # `mih`: the works' PDQ codes by id, to re-rank what the tables meet (mih_views.RERANK)
        self._whole = {view: WholeCodes(hashes.KINDS["pdq"].bits // 8) for view in mih_views.RERANK} \
            if index_kind == "mih" else None
        self._parsed: dict[tuple[str, str], tuple] = {}  # stored lists of views, parsed (`_views`)

    def __len__(self) -> int:
        return self._count

    def _has(self, ref_id: int) -> bool:
        return ref_id < len(self._present) and bool(self._present[ref_id])

    def _mark(self, ids: list[int], present: bool) -> None:
        if ids and max(ids) >= len(self._present):
            grown = np.zeros(max(2 * len(self._present), max(ids) + 1), bool)
            grown[:len(self._present)] = self._present
            self._present = grown
        ids = np.asarray(ids, np.int64)
        self._count += int((self._present[ids] != present).sum())
        self._present[ids] = present

    def refresh(self) -> None:
        """Apply references added, removed or (de)activated since the last look, by this process or another."""
        with self._factory() as session:
            seq = session.scalar(select(func.max(LibraryChange.seq))) or 0
            if seq == self._seq:
                return
            with self._lock:
                if seq == self._seq:
                    return
                if self._seq is None:  # first look: everything active
                    touched = list(session.scalars(select(ReferenceWork.id).where(ReferenceWork.active.is_(True))))
                else:
                    touched = sorted(set(session.scalars(
                        select(LibraryChange.reference_id).where(LibraryChange.seq > self._seq,
                                                                 LibraryChange.seq <= seq))))
                    self._forget([i for i in touched if self._has(i)])
                    touched = list(session.scalars(select(ReferenceWork.id).where(
                        ReferenceWork.id.in_(touched), ReferenceWork.active.is_(True)))) if touched else []
                for start in range(0, len(touched), LOAD_BATCH):
                    self._load(session, touched[start:start + LOAD_BATCH])
                for index in self._indexes.values() if len(touched) > LOAD_BATCH else ():  # merged, searched faster
                    index.compact()
                self._seq = seq

    def _forget(self, ids: list[int]) -> None:
        if not ids:
            return
        labels = row_labels(np.asarray(ids, np.int64)[:, None], np.arange(VIEW_SLOTS)).ravel()
        for index in self._indexes.values():
            index.remove(labels)
        self._mark(ids, False)
        for whole in (self._whole or {}).values():
            whole.drop(ids)
        for i in ids:
            self._features.drop(i)

    def _load(self, session: Session, ids: list[int]) -> None:
        """Index the codes of these works. Plain rows, not ORM objects, and each distinct list of views parsed once
        (every work registered alike has the same one): at a million works this is the start-up."""
        self._mark(ids, True)
        per_table: dict[str, tuple[list, list]] = {name: ([], []) for name in self._tables}
        per_view: dict[str, tuple[list, list]] = {view: ([], []) for view in self._whole or {}}
        rows = session.execute(select(ReferenceHashes.reference_id, ReferenceHashes.kind,
                                      cast(ReferenceHashes.views, Text), ReferenceHashes.codes)
                               .where(ReferenceHashes.reference_id.in_(ids), ReferenceHashes.kind.in_(list(hashes.KINDS))))
        for ref_id, kind, views, data in rows:
            tables, whole = self._views(kind, views)
            codes = np.frombuffer(data, np.uint8).reshape(-1, hashes.KINDS[kind].bits // 8)
            for name, (positions, keep) in tables.items():
                per_table[name][0].append(ref_id * VIEW_SLOTS + positions)
                per_table[name][1].append(codes if keep is None else codes[keep])
            for view, at in whole.items():
                per_view[view][0].append(ref_id)
                per_view[view][1].append(codes[at])
        for name, (labels, codes) in per_table.items():
            if labels:
                self._indexes[name].add(np.concatenate(labels), np.concatenate(codes))
        for view, (refs, codes) in per_view.items():
            if refs:
                self._whole[view].set(np.asarray(refs, np.int64), np.stack(codes))

    def _views(self, kind: str, text: str) -> tuple[dict, dict]:
        """Of a stored list of views: for each table of this kind (index view positions, which of the row's codes it
        holds: None for all), and for the `mih` re-rank where each PDQ view it holds by id is in the row."""
        if (kind, text) not in self._parsed:
            views = json.loads(text)
            tables = {}
            for name, (table_kind, held, _) in self._tables.items():
                if table_kind == kind:
                    keep = None if held is None else [i for i, v in enumerate(views) if v == held]
                    mine = views if keep is None else [views[i] for i in keep]
                    tables[name] = (np.asarray([VIEWS.index(v) for v in mine], np.int64),
                                    None if keep is None else np.asarray(keep, np.int64))
            whole = {view: views.index(view) for view in self._whole or {} if kind == "pdq" and view in views}
            self._parsed[(kind, text)] = (tables, whole)
        return self._parsed[(kind, text)]

    def search(self, image: Image.Image) -> list[Match]:
        """Registered works that `image` shows, confirmed geometrically, best first (one match per work).

        Without an image store (tools that only hold codes) the hash candidates are returned unverified."""
        codes = mih_views.query_views(image) if self.index_kind == "mih" else hashes.query_codes(image)[0]
        if self._store is None:
            return self.search_codes(codes, limit=VERIFY_TOP)
        return self.verify(image, self.rerank(image, self.search_codes(codes, limit=SKETCHED))[:VERIFY_TOP])

    def rerank(self, image: Image.Image, candidates: list[Match]) -> list[Match]:
        """The candidates by keypoint sketch score (review.similarity.keypoints), best first. A candidate at the hash
        review level stays first (its hash alone is near certain), and hash order decides among equal scores: a work
        without a sketch yet (re-hashed after start-up) or a score below MIN_SCORE keeps its hash rank, and so does one
        beyond RERANK_TOP by hash unless it scores STRONG_SCORE; the first by hash is kept (`first_by_hash_kept`)."""
        if len(candidates) <= VERIFY_TOP:
            return candidates
        with self._factory() as session:
            sketches = dict(session.execute(select(ReferenceHashes.reference_id, ReferenceHashes.codes).where(
                ReferenceHashes.kind == keypoints.KIND,
                ReferenceHashes.reference_id.in_([m.reference_id for m in candidates]))).all())
        score = np.zeros(len(candidates), np.int64)
        for mirrored in (False, True):
            mine = [i for i, m in enumerate(candidates) if m.reference_id in sketches and _mirrored(m) == mirrored]
            if mine:
                score[mine] = keypoints.scores(keypoints.detect(image, mirrored=mirrored),
                                               [keypoints.parse(sketches[candidates[i].reference_id]) for i in mine])
        score[score < keypoints.MIN_SCORE] = 0
        score[RERANK_TOP:][score[RERANK_TOP:] < keypoints.STRONG_SCORE] = 0
        order = sorted(range(len(candidates)), key=lambda i: (candidates[i].level != "review", -score[i], i))
        return [candidates[i] for i in first_by_hash_kept(order)]

    def verify(self, image: Image.Image, candidates: list[Match]) -> list[Match]:
        query: dict[bool, verify.Features] = {}
        out = []
        for m in candidates:
            mirrored = _mirrored(m)
            if mirrored not in query:
                query[mirrored] = verify.features(image, mirrored)
            try:
                work = self._features.get(m.reference_id, lambda m=m: verify.features(self._store.open(m.image_relpath)))
                check = verify.verify(query[mirrored], work)
            except OSError:  # the work's file is gone: only its codes can speak
                log.warning("reference #%s: image unreadable, hash-only check", m.reference_id)
                check = verify.Verification(False, False, reason="work unreadable")
            if check.verified:  # a confirmed copy goes to a person, whatever its hash distance
                evidence = {"basis": "verified", "hash_level": m.level, **check.to_dict()}
                out.append(Match(**{**m.__dict__, "level": "review", "score": verified_confidence(check.inliers),
                                    "evidence": evidence}))
            elif not check.checkable and m.level == "review":
                evidence = {"basis": "hash", "reason": check.reason, "works": len(self)}
                out.append(Match(**{**m.__dict__, "level": "warn", "evidence": evidence,
                                    "score": hash_only_confidence(m.hash_kind, m.distance, len(self))}))
        return sorted(out, key=lambda m: (-m.score, m.distance, m.reference_id))

    def search_codes(self, codes: list[hashes.Code], limit: int | None = None) -> list[Match]:
        """Hash candidates within the warn distance, best score first, at most `limit` of them (one per work).

        Vectorised over every row met: at a million works a query meets hundreds of unrelated rows within pHash's
        warn distance, and each is scored, not looped over."""
        self.refresh()
        met = []  # candidate rows (`_rows`), per table
        for name, (kind, _, asks) in self._tables.items():
            mine, queries = _asking(codes, kind, asks)
            index = self._indexes[name]
            if not mine or not len(index):
                continue
            for i, (labels, dists) in zip(mine, index.range_search(queries, hashes.KINDS[kind].warn)):
                if len(labels):
                    ref_ids, views = np.divmod(labels, VIEW_SLOTS)
                    met.append(_rows(kind, hashes.KINDS[kind].scores(dists), dists, ref_ids, views, i))
        if self._whole is not None:
            met.extend(self._scanned(codes))
        if not met:
            return []
        rows = np.concatenate(met, axis=1)
        rows = rows[:, np.lexsort((rows[2], rows[1], -rows[0]))]  # best first: score, then distance, then PDQ
        _, first = np.unique(rows[3], return_index=True)  # each work's best row
        best = rows[:, first]
        if self._whole is not None:
            self._rescore(best, codes)
        best = best[:, np.lexsort((best[3], best[1], -best[0]))][:, :limit]
        ranked = [(int(ref_id), (float(score), -int(dist), KIND_NAMES[int(k)], VIEWS[int(view)], codes[int(q)].view))
                  for score, dist, k, ref_id, view, q in best.T]
        with self._factory() as session:  # titles and files of the few candidates only: nothing per work in memory
            about = {row[0]: row[1:] for row in session.execute(
                select(ReferenceWork.id, ReferenceWork.title, ReferenceWork.owner, ReferenceWork.license,
                       ReferenceWork.source, StoredImage.relpath)
                .join(StoredImage, StoredImage.sha256 == ReferenceWork.image_sha256)
                .where(ReferenceWork.id.in_([ref_id for ref_id, _ in ranked]), ReferenceWork.active.is_(True)))}
        matches = []
        for ref_id, (score, neg_dist, kind, view, query_view) in ranked:
            if ref_id not in about:  # removed or deactivated while we searched
                continue
            title, owner, license_, source, relpath = about[ref_id]
            matches.append(Match(ref_id, title, owner, license_, source, relpath, kind, -neg_dist,
                                 hashes.KINDS[kind].level(-neg_dist), view, score, query_view))
        return matches

    def _scanned(self, codes: list[hashes.Code]) -> list[np.ndarray]:
        """`mih`: the works whose whole-picture PDQ code is within PDQ's warn distance of the query's (mih_views.SCAN),
        as rows like the tables' (what pHash's 64 bits lose: repaints, recolourings)."""
        kind, out = hashes.KINDS["pdq"], []
        for view, asks in mih_views.SCAN.items():
            mine, queries = _asking(codes, "pdq", asks)
            if not mine:
                continue
            ref_ids, dists, which = self._whole[view].range_search(queries, kind.warn)
            if len(ref_ids):
                out.append(_rows("pdq", kind.scores(dists), dists, ref_ids, VIEWS.index(view), np.asarray(mine)[which]))
        return out

    def _rescore(self, best: np.ndarray, codes: list[hashes.Code]) -> None:
        """`mih`: each candidate's score from PDQ too where that is closer evidence than what found it (in place; rows
        as in `search_codes`): query PDQ views against the work's whole picture, centre windows against its centre."""
        kind = hashes.KINDS["pdq"]
        for view, asks in mih_views.RERANK.items():
            pdq, queries = _asking(codes, "pdq", asks)
            if not pdq:
                continue
            dist, which = self._whole[view].distances(best[3].astype(np.int64), queries)
            scores = np.where(dist <= kind.warn, kind.scores(dist), -1.0)
            better = (scores > best[0]) | ((scores == best[0]) & (dist < best[1]))
            best[:, better] = _rows("pdq", scores, dist, best[3], VIEWS.index(view), np.asarray(pdq)[which])[:, better]

    def memory_bytes(self) -> int:
        return (self._present.nbytes + sum(getattr(i, "memory_bytes", lambda: 0)() for i in self._indexes.values())
                + sum(whole.memory_bytes() for whole in (self._whole or {}).values()))


def _asking(codes: list[hashes.Code], kind: str, asks) -> tuple[list[int], np.ndarray | None]:
    """The positions of the query's codes of `kind` that `asks` picks, and those codes stacked (n x bytes)."""
    mine = [i for i, c in enumerate(codes) if c.kind == kind and asks(c)]
    return mine, (np.stack([np.frombuffer(codes[i].code, np.uint8) for i in mine]) if mine else None)


def _rows(kind: str, scores, dists, ref_ids, views, query_positions) -> np.ndarray:
    """Candidate rows as `search_codes` ranks them, one column a row met: (score, distance, kind position,
    reference id, view position, query code position); scalars are repeated down the columns."""
    n = len(dists)
    return np.stack([np.broadcast_to(np.asarray(v, np.float64), n)
                     for v in (scores, dists, KIND_NAMES.index(kind), ref_ids, views, query_positions)])


def _mirrored(m: Match) -> bool:
    """Whether the candidate met through a mirror image (of the work or of the query): it is checked mirrored."""
    return m.transform.startswith("mirror") != (m.query_view == "mirror")


def hash_rows(codes: list[hashes.Code]) -> list[ReferenceHashes]:
    """A work's rows of `reference_hashes`: one per hash kind, and its keypoint sketch."""
    rows = []
    for kind in (*hashes.KINDS, keypoints.KIND):
        mine = [c for c in codes if c.kind == kind]
        if mine:
            rows.append(ReferenceHashes(kind=kind, views=[c.view for c in mine], codes=b"".join(c.code for c in mine)))
    return rows
