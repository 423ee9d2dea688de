"""Stored pictures handed to Gradio: the one door through which a page or an API caller gets a stored file.

Gradio serves a file only from the working directory, the temp folder, `allowed_paths` or its own cache; anything
else fails with InvalidPathError after the handler returned. The data directory may be anywhere (a Space volume at
/data), and adding it to `allowed_paths` would serve every stored picture to anyone holding a URL. So each handler
passes only the picture this caller may see through here: it becomes a copy in the temp folder (which Gradio then
caches and serves), byte for byte, so a download keeps its labels (XMP, C2PA, watermark). Whoever decides later
who may see what (sign-in, signed URLs) has one function to change.
"""
from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from pathlib import Path

VIEW_DIR = "editguard-view"


def viewable(path: str | os.PathLike) -> str:
    """A servable copy of one stored file. The store names files by their hash, so one copy serves every view."""
    return _copy(Path(path), Path(path).name)


def download_copy(path: str | os.PathLike, record_id: str) -> str:
    """The labelled file under a name that says what it is (the store names files by their hash)."""
    return _copy(Path(path), f"editguard-{record_id}{Path(path).suffix or '.png'}", sub=Path(path).stem[:16])


def _copy(src: Path, name: str, sub: str = "") -> str:
    folder = Path(tempfile.gettempdir()) / VIEW_DIR / sub
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = folder / name
    if not target.is_file() or target.stat().st_size != src.stat().st_size:
        part = folder / f".{name}.{secrets.token_hex(6)}.part"
        shutil.copyfile(src, part)
        os.replace(part, target)  # atomic: a concurrent view never sees half a file
    return str(target)
