"""The reference library: register, deactivate, remove, bulk import and export registered works.

Every change is one write transaction with an audit event. A picture already registered (the same file, or one that
looks the same at the review level) is reported as a duplicate, not registered twice.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from db.engine import run_write
from db.image_store import EncodedImage, ImageStore
from db.models import Event, LibraryChange, ReferenceWork, SimilarityMatch, StoredImage
from errors import UserError
from review.similarity import hashes, keypoints
from review.queue.export import safe_cell
from review.similarity.search import ReferenceIndex, hash_rows

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".tif", ".tiff", ".bmp"}
MANIFEST_FIELDS = ("file", "title", "owner", "license", "source")
FIELD_LIMITS = {"title": 300, "owner": 300, "license": 200, "source": 500}


class LibraryError(UserError):
    """A library change that cannot be made, in one plain sentence."""


class DuplicateReference(LibraryError):
    def __init__(self, existing_id: int, existing_title: str, same_file: bool = True):
        how = "already registered" if same_file else "looks the same as a registered work"
        super().__init__(f"This picture {how}: reference #{existing_id} “{existing_title}”.", "library.duplicate",
                         id=existing_id, title=existing_title)
        self.existing_id = existing_id
        self.existing_title = existing_title


def _clean(field_name: str, value: str | None, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        article = "an" if field_name[0] in "aeiou" else "a"
        raise LibraryError(f"A reference work needs {article} {field_name}.", "library.missing", field=field_name)
    if len(value) > FIELD_LIMITS[field_name]:
        raise LibraryError(f"The {field_name} is too long (at most {FIELD_LIMITS[field_name]} characters).",
                           "library.too_long", field=field_name, limit=FIELD_LIMITS[field_name])
    return value


def clean_fields(title: str, owner: str, license: str, source: str = "") -> tuple[str, str, str, str]:
    """A work's title, owner, licence and source as stored, or the LibraryError that says what is wrong."""
    return (_clean("title", title), _clean("owner", owner), _clean("license", license),
            _clean("source", source, required=False))


def reference_codes(image: Image.Image) -> tuple[list[hashes.Code], int]:
    """Everything a work is registered with: its hash codes and its keypoint sketch (when it has keypoints), both
    from one grey copy of the picture (converting a large picture's colours is the costly step)."""
    pixels = hashes.grey(image, hashes.WORKING_SIDE)
    try:
        codes, quality = hashes.reference_codes(image, hashes.Windows(pixels))
    except hashes.Unhashable as exc:
        raise LibraryError(str(exc), "library.flat") from None
    sketch = keypoints.sketch_code(pixels)
    return codes + ([sketch] if sketch else []), quality


def add_reference(session: Session, store: ImageStore, image: Image.Image, *, title: str, owner: str, license: str,
                  source: str = "", actor: str = "system", index: ReferenceIndex | None = None,
                  codes: tuple[list[hashes.Code], int] | None = None,
                  encoded: EncodedImage | None = None) -> ReferenceWork:
    """Register a work (the caller commits). With `index`, a picture that looks the same as an active reference at
    the review level is refused as a duplicate too. `codes` and `encoded`: already computed (a bulk import)."""
    title, owner, license, source = clean_fields(title, owner, license, source)
    codes, quality = codes or reference_codes(image)
    encoded = encoded or store.encode(image)
    existing = session.scalar(select(ReferenceWork).where(ReferenceWork.image_sha256 == encoded.sha256))
    if existing is not None:
        raise DuplicateReference(existing.id, existing.title)
    if index is not None:
        whole = [c for c in codes if c.view == "identity"]
        for m in index.search_codes([hashes.Code(c.kind, "identity", c.code) for c in whole]):
            if m.level == "review":
                raise DuplicateReference(m.reference_id, m.title, same_file=False)
    saved = store.write(encoded)
    if session.get(StoredImage, saved.sha256) is None:
        session.add(StoredImage(**saved.__dict__))
    phash = [c.code.hex() for c in codes if c.kind == "phash"]
    ref = ReferenceWork(title=title, owner=owner, license=license, source=source, image_sha256=saved.sha256,
                        phash=phash[0], phash_variants=phash, pdq_quality=quality, hash_version=hashes.HASH_VERSION,
                        added_by=actor, hashes=hash_rows(codes))
    session.add(ref)
    session.flush()
    session.add(LibraryChange(reference_id=ref.id, op="add"))
    session.add(Event(actor=actor, kind="library.added", payload={"reference_id": ref.id, "title": title}))
    return ref


def set_active(factory: sessionmaker[Session], ref_id: int, active: bool, actor: str) -> None:
    def work(s: Session) -> None:
        ref = s.get(ReferenceWork, ref_id)
        if ref is None:
            raise LibraryError(f"There is no reference #{ref_id}.", "library.not_found", id=ref_id)
        if ref.active != active:
            ref.active = active
            s.add(LibraryChange(reference_id=ref_id, op="add" if active else "remove"))
            s.add(Event(actor=actor, kind="library.activated" if active else "library.deactivated",
                        payload={"reference_id": ref_id}))

    run_write(factory, work)


def remove_reference(factory: sessionmaker[Session], ref_id: int, actor: str) -> None:
    """Delete a work and its codes. A work that past edits were matched against stays (deactivate it instead)."""

    def work(s: Session) -> None:
        ref = s.get(ReferenceWork, ref_id)
        if ref is None:
            raise LibraryError(f"There is no reference #{ref_id}.", "library.not_found", id=ref_id)
        cited = s.scalar(select(func.count(SimilarityMatch.id)).where(SimilarityMatch.reference_id == ref_id))
        if cited:
            raise LibraryError(f"Reference #{ref_id} is cited by {cited} past match(es) and stays for the audit "
                               "trail; deactivate it instead.", "library.cited", id=ref_id, count=cited)
        s.delete(ref)
        s.add(LibraryChange(reference_id=ref_id, op="remove"))
        s.add(Event(actor=actor, kind="library.removed", payload={"reference_id": ref_id, "title": ref.title}))

    run_write(factory, work)


@dataclass(frozen=True)
class ImportItem:
    name: str  # what the user calls it in messages: the file name or "row 7 (file)"
    path: Path | None
    title: str
    owner: str
    license: str
    source: str
    error: str = ""


def read_manifest(source: Path, defaults: dict[str, str]) -> list[ImportItem]:
    """The items of a folder (every image file in it; titles from file names) or of a CSV manifest
    (columns file,title,owner,license,source; file paths relative to the CSV, and inside its folder)."""
    if source.is_dir():
        return folder_items(sorted(p for p in source.iterdir() if p.is_file()), defaults)
    if not source.is_file():
        raise LibraryError(f"Nothing to import at {source.name!r}: give a folder of images or a CSV manifest.",
                           "library.no_source", name=source.name)
    root = source.parent.resolve()

    def resolve(file: str) -> Path | str:
        path = (root / file).resolve()
        return path if path.is_relative_to(root) else "the file must be inside the manifest's folder"

    return manifest_items(source, resolve, defaults)


def folder_items(paths: list[Path], defaults: dict[str, str]) -> list[ImportItem]:
    return [ImportItem(p.name, p, defaults.get("title") or p.stem.replace("_", " "), defaults.get("owner", ""),
                       defaults.get("license", ""), defaults.get("source", ""))
            for p in paths if p.suffix.lower() in IMAGE_SUFFIXES]


def manifest_items(manifest: Path, resolve: Callable[[str], Path | str], defaults: dict[str, str]) -> list[ImportItem]:
    """One item per CSV row; `resolve` turns the row's file into a path, or into the reason it cannot be used."""
    try:
        rows = list(csv.DictReader(io.StringIO(manifest.read_text(encoding="utf-8-sig"))))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise LibraryError(f"The manifest {manifest.name!r} is not a readable UTF-8 CSV file ({exc}).",
                           "library.bad_manifest", name=manifest.name) from None
    if rows and "file" not in rows[0]:
        raise LibraryError("The manifest needs a header row with at least a 'file' column "
                           f"(columns: {', '.join(MANIFEST_FIELDS)}).", "library.bad_manifest", name=manifest.name)
    items = []
    for n, row in enumerate(rows, 2):
        file = (row.get("file") or "").strip()
        name = f"row {n} ({file or 'no file'})"
        value = {k: (row.get(k) or "").strip() or defaults.get(k, "") for k in ("title", "owner", "license", "source")}
        found = resolve(file) if file else "the row names no file"
        if isinstance(found, str):
            items.append(ImportItem(name, None, **value, error=found))
        else:
            items.append(ImportItem(name, found, **{**value, "title": value["title"] or found.stem.replace("_", " ")}))
    return items


def _row(r: ReferenceWork, relpath: str) -> dict:
    return {"id": r.id, "title": r.title, "owner": r.owner, "license": r.license, "source": r.source,
            "active": r.active, "pdq_quality": r.pdq_quality, "added_by": r.added_by,
            "created_at": r.created_at.isoformat(timespec="seconds"), "image": relpath, "sha256": r.image_sha256}


def list_references(factory: sessionmaker[Session], include_inactive: bool = True) -> list[dict]:
    with factory() as s:
        q = select(ReferenceWork, StoredImage.relpath).join(StoredImage).order_by(ReferenceWork.id)
        if not include_inactive:
            q = q.where(ReferenceWork.active.is_(True))
        return [_row(r, relpath) for r, relpath in s.execute(q)]


def page_references(factory: sessionmaker[Session], search: str = "", page: int = 0,
                    per_page: int = 50) -> tuple[list[dict], int]:
    """One page of works (by number) whose title, owner, license or source contains `search`, or whose number it
    is; and how many match. A library of a million works is never loaded at once."""
    search = (search or "").strip()
    where = []
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        like = [c.ilike(pattern, escape="\\") for c in (ReferenceWork.title, ReferenceWork.owner,
                                                       ReferenceWork.license, ReferenceWork.source)]
        if search.lstrip("#").isdigit():
            like.append(ReferenceWork.id == int(search.lstrip("#")))
        where.append(or_(*like))
    with factory() as s:
        total = s.scalar(select(func.count(ReferenceWork.id)).where(*where))
        q = (select(ReferenceWork, StoredImage.relpath).join(StoredImage).where(*where)
             .order_by(ReferenceWork.id).offset(max(0, page) * per_page).limit(per_page))
        return [_row(r, relpath) for r, relpath in s.execute(q)], int(total or 0)


def export_library(factory: sessionmaker[Session], fmt: str) -> str:
    """The library as CSV (the import manifest's columns plus id, active, sha256) or JSON."""
    refs = list_references(factory)
    if fmt == "json":
        return json.dumps(refs, ensure_ascii=False, indent=2)
    out = io.StringIO()
    cols = ("id",) + MANIFEST_FIELDS[1:] + ("active", "sha256", "image")
    w = csv.writer(out)
    w.writerow(cols)
    for r in refs:
        w.writerow([safe_cell(r[c]) for c in cols])
    return out.getvalue()
