"""Content-addressed image files: the sha256 of the encoded bytes names the file; writes are atomic."""
from __future__ import annotations

import fcntl
import hashlib
import os
import struct
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from db import png

PNG_COMPRESS_LEVEL = 1  # db.png's ISA-L level: 0 stores uncompressed (~3x bigger), 1-3 deflate
# (EDITGUARD_PNG_COMPRESSION chooses)


@dataclass(frozen=True)
class EncodedImage:
    """A picture encoded in memory, not yet on disk (so a blocked output can be dropped without a trace)."""

    data: bytes
    sha256: str
    width: int
    height: int


@dataclass(frozen=True)
class SavedImage:
    sha256: str
    relpath: str
    width: int
    height: int
    format: str
    size_bytes: int


def encode_image(image: Image.Image, compress_level: int = PNG_COMPRESS_LEVEL) -> EncodedImage:
    """PNG through db.png (numpy and ISA-L release the GIL, so this overlaps in a thread), named by its SHA-256."""
    data = png.encode(image, compress_level)
    return EncodedImage(data, hashlib.sha256(data).hexdigest(), image.width, image.height)


def encode_file(data: bytes, image: Image.Image, compress_level: int = PNG_COMPRESS_LEVEL) -> EncodedImage:
    """What to store for `image`, decoded from the file `data`: the PNG file itself less its metadata when its
    pixels are already the picture (db.png.clean_copy), else the picture encoded."""
    kept = png.clean_copy(data)
    if kept is None or struct.unpack(">II", kept[16:24]) != image.size:
        return encode_image(image, compress_level)
    return EncodedImage(kept, hashlib.sha256(kept).hexdigest(), image.width, image.height)


class ImageStore:
    """Stores PNG files under <root>/images/ab/cd/<sha256>.png.

    PNG is lossless: a stored output holds exactly the pixels encoded. The guard and the perceptual hashes judge an
    output before its watermark and visible mark are added; its record says so (`params.checked_stage`). Saving the
    same picture twice writes one file. A crash mid-write leaves only a temporary file, never a truncated image under a real name.
    """

    def __init__(self, root: Path, compress_level: int = PNG_COMPRESS_LEVEL, replica=None):
        self.root = Path(root)
        self.compress_level = compress_level
        self.replica = replica  # db.replica.Replica: every new file is copied there, missing ones fetched back

    def encode(self, image: Image.Image) -> EncodedImage:
        return encode_image(image, self.compress_level)

    def save(self, image: Image.Image) -> SavedImage:
        return self.write(self.encode(image))

    def write(self, encoded: EncodedImage) -> SavedImage:
        data, sha = encoded.data, encoded.sha256
        rel = f"images/{sha[:2]}/{sha[2:4]}/{sha}.png"
        path = self.root / rel
        fresh = False
        try:
            os.utime(path)  # already stored: now "in use", so a purge running meanwhile leaves it (see retention)
        except FileNotFoundError:
            fresh = True
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".png")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        if fresh and self.replica is not None:
            self.replica.put(rel, path)  # durable before the row that names it commits
        return SavedImage(sha, rel, encoded.width, encoded.height, "PNG", len(data))

    @contextmanager
    def locked(self, exclusive: bool):
        """A lock on the picture folder, across the processes sharing it: a purge deletes files under the exclusive
        lock after re-checking that no row names them; ensure() looks under the shared one (see ensure)."""
        lock_path = self.root / "images" / ".lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def ensure(self, encoded: list[EncodedImage]) -> None:
        """After the row naming them committed: every picture is on disk. A purge that committed first may have
        seen no row and deleted a file this edit found already stored; it deletes only under the exclusive lock and
        after re-checking rows, so once we hold the shared lock either our row stopped it or the file is written
        again here. Either way no committed row points at a missing file."""
        with self.locked(exclusive=False):
            for item in encoded:
                if not (self.root / f"images/{item.sha256[:2]}/{item.sha256[2:4]}/{item.sha256}.png").exists():
                    self.write(item)

    def path(self, relpath: str) -> Path:
        """The local file; one missing here (wiped disk, another app replica wrote it) is fetched from the replica."""
        path = self.root / relpath
        if self.replica is not None and not path.exists():
            self.replica.fetch(relpath, path)
        return path

    def path_exists(self, relpath: str) -> bool:
        """On the local disk (no fetch from the replica)."""
        return (self.root / relpath).exists()

    def files(self):
        """Every stored picture file: (relpath, size, mtime). Temporary files of an interrupted write included."""
        base = self.root / "images"
        if not base.is_dir():
            return
        for path in base.glob("??/??/*.png"):
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            yield path.relative_to(self.root).as_posix(), st.st_size, st.st_mtime

    def remove(self, relpaths: list[str]) -> None:
        """Delete files here and in the replica (the caller has made sure no row names them)."""
        for rel in relpaths:
            (self.root / rel).unlink(missing_ok=True)
        if self.replica is not None:
            self.replica.delete(relpaths)

    def open(self, relpath: str) -> Image.Image:
        with Image.open(self.path(relpath)) as im:
            return im.convert("RGB")


def prepare_data_dir(path: Path) -> None:
    """Create the data directory and prove it writable, or say in one sentence what to fix (no traceback)."""
    from db.engine import StorageUnavailable

    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".write-test-")
        os.close(fd)
        os.unlink(probe)
    except (FileExistsError, NotADirectoryError):
        raise StorageUnavailable(f"The data directory {path} is a file (or inside one): set EDITGUARD_DATA_DIR to a "
                                 f"folder.", "db.config") from None
    except OSError as exc:
        raise StorageUnavailable(f"The data directory {path} cannot be written ({exc.strerror or exc}): set "
                                 f"EDITGUARD_DATA_DIR to a writable folder or mount a volume there.", "db.config") from None
