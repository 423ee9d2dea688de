"""Perceptual-hash similarity against the reference library.

Hash kind: imagehash pHash (64 bits). A reference is registered with the pHash of all eight rotations and mirrors
of its picture, so a flipped or quarter-turned copy is found with one query hash. Search is an exact vectorised
Hamming scan over packed uint64 codes (numpy), kept in memory and reloaded when the library changes.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import imagehash
import numpy as np
from PIL import Image, ImageOps
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from db.image_store import ImageStore
from db.models import ReferenceWork, StoredImage

HASH_KIND = "phash"
# Distances in bits of 64. Measured on offline photos: unrelated photos are 20+ apart (min of 210 pairs), while the
# classic editor's tonal edits, blur, resize, captions and posterize stay within 0-6 of their source.
PHASH_REVIEW_DISTANCE = 8  # this close: almost surely the same picture; a person must look
PHASH_WARN_DISTANCE = 14  # this close: probably derived from it; warn the user
DIHEDRAL = ("identity", "rot90", "rot180", "rot270", "mirror", "mirror_rot90", "mirror_rot180", "mirror_rot270")


def _prepared(image: Image.Image) -> Image.Image:
    """Grey 128x128 first: pHash looks at 32x32 anyway, and this makes hashing a 1024² image ~5x cheaper."""
    return image.convert("L").resize((128, 128), Image.Resampling.BILINEAR, reducing_gap=2.0)


def phash(image: Image.Image) -> int:
    return int(str(imagehash.phash(_prepared(image))), 16)


def dihedral_hashes(image: Image.Image) -> list[int]:
    """pHash of the picture under each of the eight rotations/mirrors, in DIHEDRAL order."""
    small = _prepared(image)
    out = []
    for mirrored in (small, ImageOps.mirror(small)):
        for quarter in range(4):
            out.append(phash(mirrored.rotate(90 * quarter, expand=True) if quarter else mirrored))
    return out


def level_for(distance: int) -> str | None:
    if distance <= PHASH_REVIEW_DISTANCE:
        return "review"
    if distance <= PHASH_WARN_DISTANCE:
        return "warn"
    return None


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
    transform: str
    target: str = ""  # set by the caller: input | reference | output
    position: int = 0

    def to_dict(self) -> dict:
        return {"reference_id": self.reference_id, "title": self.title, "owner": self.owner, "license": self.license,
                "source": self.source, "level": self.level, "distance": self.distance, "hash_kind": self.hash_kind,
                "transform": self.transform, "target": self.target, "position": self.position}


class ReferenceIndex:
    """In-memory exact Hamming index over the active references' dihedral pHash codes."""

    def __init__(self, session_factory: sessionmaker[Session]):
        self._factory = session_factory
        self._lock = threading.Lock()
        self._version: tuple | None = None
        self._codes = np.zeros(0, dtype=np.uint64)
        self._ref_rows = np.zeros(0, dtype=np.int64)
        self._transforms = np.zeros(0, dtype=np.int8)
        self._refs: dict[int, ReferenceWork] = {}

    def _current_version(self, session: Session) -> tuple:
        return tuple(session.execute(
            select(func.count(ReferenceWork.id), func.max(ReferenceWork.id), func.sum(ReferenceWork.id))
            .where(ReferenceWork.active.is_(True))
        ).one())

    def refresh(self, force: bool = False) -> None:
        """Reload when references were added, removed or (de)activated, by this process or another."""
        with self._factory() as session:
            version = self._current_version(session)
            if not force and version == self._version:
                return
            refs = session.scalars(
                select(ReferenceWork).where(ReferenceWork.active.is_(True)).join(StoredImage)
            ).all()
            for ref in refs:
                _ = ref.image.relpath  # load while the session is open
        codes, rows, transforms = [], [], []
        for ref in refs:
            for t, hex_code in enumerate(ref.phash_variants or [ref.phash]):
                codes.append(int(hex_code, 16))
                rows.append(ref.id)
                transforms.append(t)
        with self._lock:
            self._codes = np.array(codes, dtype=np.uint64)
            self._ref_rows = np.array(rows, dtype=np.int64)
            self._transforms = np.array(transforms, dtype=np.int8)
            self._refs = {r.id: r for r in refs}
            self._version = version

    def search(self, image: Image.Image, code: int | None = None) -> list[Match]:
        """All references within the warn distance of `image`, nearest first, one match per reference."""
        self.refresh()
        query = np.uint64(phash(image) if code is None else code)
        with self._lock:
            if not len(self._codes):
                return []
            distances = np.bitwise_count(self._codes ^ query)
            hits = np.nonzero(distances <= PHASH_WARN_DISTANCE)[0]
            best: dict[int, tuple[int, int]] = {}
            for i in hits[np.argsort(distances[hits], kind="stable")]:
                ref_id = int(self._ref_rows[i])
                best.setdefault(ref_id, (int(distances[i]), int(self._transforms[i])))
            refs = dict(self._refs)
        matches = []
        for ref_id, (dist, t) in best.items():
            ref = refs[ref_id]
            matches.append(Match(ref.id, ref.title, ref.owner, ref.license, ref.source, ref.image.relpath,
                                 HASH_KIND, dist, level_for(dist), DIHEDRAL[t]))
        return matches


class DuplicateReference(ValueError):
    def __init__(self, existing: ReferenceWork):
        super().__init__(f"This picture is already registered as reference #{existing.id} “{existing.title}”.")
        self.existing_id = existing.id
        self.existing_title = existing.title


def add_reference(session: Session, store: ImageStore, image: Image.Image, *, title: str, owner: str,
                  license: str, source: str = "") -> ReferenceWork:
    """Register a reference work (the caller commits). An identical picture already registered is refused."""
    for field, value in (("title", title), ("owner", owner), ("license", license)):
        if not value or not value.strip():
            raise ValueError(f"A reference work needs a {field}.")
    saved = store.save(image)
    existing = session.scalar(select(ReferenceWork).where(ReferenceWork.image_sha256 == saved.sha256))
    if existing is not None:
        raise DuplicateReference(existing)
    if session.get(StoredImage, saved.sha256) is None:
        session.add(StoredImage(**saved.__dict__))
    variants = dihedral_hashes(image)
    ref = ReferenceWork(title=title.strip(), owner=owner.strip(), license=license.strip(), source=source.strip(),
                        image_sha256=saved.sha256, phash=f"{variants[0]:016x}",
                        phash_variants=[f"{v:016x}" for v in variants])
    session.add(ref)
    session.flush()
    return ref
