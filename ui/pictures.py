"""Picture URLs that only their viewer can open, and the Gradio cache copies we must not leave behind.

Stored pictures never go through Gradio's cache (whose `/gradio_api/file=` URLs open for anyone holding them, until
the cache is emptied). Instead each picture shown gets a URL of ours, `/pictures/<signed token>`, that is
- short-lived (PICTURE_URL_MINUTES),
- bound to the viewer: a reviewer's console session (`s:`), which must still be valid when the picture is fetched,
  or a requester's pseudonym (`r:`), whose edits must still use the picture (so it is gone after Delete my data),
  or, for a caller with neither, open (`o:`) but only for what anyone who made the edit may see: a released result or
  a blurred preview (for `r:` and `o:` this is checked again when the picture is fetched: a pending or blocked
  result never goes out unblurred, whatever the link says);
- and says what to serve: the stored file (`full`) or a blur made on the fly (`blur`), never stored anywhere.

Gradio would download a URL value into its cache; `serve_urls(component)` keeps URL values as links instead.
"""
from __future__ import annotations

import io
import threading
from pathlib import Path
from urllib.parse import quote

from itsdangerous import BadSignature, URLSafeTimedSerializer

from review.queue.accounts import SESSION_COOKIE, session_id
from review.privacy.requester import credential_of, may_see_full, owns_picture, pseudonym_for

PICTURE_URL_MINUTES = 10  # long enough to look at an item; a link copied out of the page soon stops working
ROUTE = "/pictures/"


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret or "editguard", salt="editguard-picture")


def origin(request) -> str:
    """The page's scheme and host as the browser sees them (behind a proxy too)."""
    headers = getattr(request, "headers", None) or {}
    proto = headers.get("x-forwarded-proto") or getattr(getattr(request, "url", None), "scheme", None) or "http"
    host = headers.get("x-forwarded-host") or headers.get("host") or "127.0.0.1"
    return f"{proto.split(',')[0].strip()}://{host.split(',')[0].strip()}"


def _url(rt, request, relpath: str, binding: str, kind: str, download: str | None, regions: list | None = None) -> str:
    token = _serializer(rt.secret).dumps({"p": relpath, "b": binding, "k": kind, **({"n": download} if download else {}),
                                          **({"r": regions} if regions else {})})
    return origin(request) + ROUTE + quote(token)


def reviewer_url(rt, request, relpath: str, regions: list | None = None) -> str:
    """A stored picture for the signed-in reviewer who asked, and only while their session lasts; with `regions`
    (verified match polygons, in fractions of the picture) it is drawn with them outlined, on the fly."""
    token = (getattr(request, "cookies", None) or {}).get(SESSION_COOKIE) or ""
    return _url(rt, request, relpath, "s:" + session_id(token), "outline" if regions else "full", None, regions)


def requester_url(rt, request, relpath: str, *, blur: bool = False, download: str | None = None,
                  pseudonym: str | None = None) -> str:
    """A requester's own picture (their upload, a released result, or a pending one blurred)."""
    pseudonym = pseudonym or pseudonym_for(rt.session_factory, rt.secret, credential_of(rt.secret, request))
    binding = f"r:{pseudonym}" if pseudonym else "o:"
    return _url(rt, request, relpath, binding, "blur" if blur else "full", download)


class Refused(Exception):
    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


def regions_of(rt, token: str) -> list:
    """The outline regions a picture link carries (already checked by resolve)."""
    try:
        return list(_serializer(rt.secret).loads(token).get("r") or [])
    except (BadSignature, TypeError, AttributeError):
        return []


def outlined_png(path: Path, regions: list) -> bytes:
    from PIL import Image

    from ui.render import outlined

    buf = io.BytesIO()
    with Image.open(path) as im:
        outlined(im, [{"region": r} for r in regions]).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def resolve(rt, token: str, cookies: dict, profile: dict | None = None) -> tuple[Path, str, str | None]:
    """(file, kind, download name) for a picture URL token, if this browser may open it now; else Refused(403/404)."""
    try:
        claim = _serializer(rt.secret).loads(token, max_age=PICTURE_URL_MINUTES * 60)
        relpath, binding, kind = claim["p"], claim["b"], claim["k"]
    except (BadSignature, KeyError, TypeError):
        raise Refused(404) from None
    if binding.startswith("s:"):
        session = cookies.get(SESSION_COOKIE) or ""
        if not session or session_id(session) != binding[2:] or rt.auth.resolve(session) is None:
            raise Refused(403)
    elif binding.startswith("r:"):
        mine = pseudonym_for(rt.session_factory, rt.secret, credential_of(rt.secret, _Cookies(cookies), profile))
        if mine != binding[2:]:
            raise Refused(403)
        if not owns_picture(rt.session_factory, mine, relpath):
            raise Refused(404)
        if kind != "blur" and not may_see_full(rt.session_factory, relpath, mine):
            raise Refused(403)
    elif binding == "o:":
        if kind != "blur" and not may_see_full(rt.session_factory, relpath, None):
            raise Refused(403)
    else:
        raise Refused(404)
    path = rt.store.path(relpath)
    if not path.is_file():
        raise Refused(404)
    return path, kind, claim.get("n")


def blurred_png(path: Path) -> bytes:
    from ui.render import blurred

    buf = io.BytesIO()
    blurred(str(path)).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


class _Cookies:
    def __init__(self, cookies: dict):
        self.cookies = cookies


def serve_urls(component):
    """Make `component` pass http(s) URL values to the browser as links, instead of downloading them into Gradio's
    cache (which would serve a copy to anyone holding its URL). A subclass, not a patched instance: Gradio rebuilds
    a component from its class when a handler updates its properties."""
    component.__class__ = _linked(type(component))
    return component


_LINKED: dict[type, type] = {}


def _linked(base: type) -> type:
    if getattr(base, "_links_urls", False):
        return base
    if base not in _LINKED:
        def postprocess(self, value):
            out = base.postprocess(self, value)
            _link(out)
            return out

        # is_template: Gradio then draws it with its parent's front-end component. Made by the metaclass's parent:
        # Gradio's own metaclass would look for this class's source to write a stub file.
        meta = type(base)
        _LINKED[base] = super(meta, meta).__new__(meta, base.__name__, (base,), {
            "is_template": True, "_links_urls": True, "postprocess": postprocess, "__module__": __name__})
    return _LINKED[base]


def _link(obj) -> None:
    if obj is None:
        return
    if hasattr(obj, "path") and hasattr(obj, "url"):
        if obj.url is None and isinstance(obj.path, str) and obj.path.startswith(("http://", "https://")):
            obj.url = obj.path
        return
    root = getattr(obj, "root", None)
    for item in (root if isinstance(root, (list, tuple)) else [root] if root is not None else []):
        _link(item)
    for attr in ("image", "video"):
        if hasattr(obj, attr):
            _link(getattr(obj, attr))


class CacheLedger:
    """The Gradio cache files made from one requester's uploads in this process, so Delete my data (and the end of
    an edit, for the originals with their metadata) can remove them at once instead of waiting for the schedule."""

    def __init__(self):
        self._files: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def remember(self, key: str | None, path: str | None) -> None:
        if key and path:
            with self._lock:
                self._files.setdefault(key, set()).add(str(path))

    def forget(self, key: str | None) -> int:
        """Delete every file remembered for `key`; how many were still there."""
        with self._lock:
            paths = self._files.pop(key, set()) if key else set()
        return sum(remove_cached(p) for p in paths)


def remove_cached(path: str | None) -> bool:
    """Delete one file of Gradio's upload/output cache (and its folder when that empties); never anything else."""
    if not path:
        return False
    from gradio.utils import get_upload_folder

    p = Path(path).resolve()
    cache = Path(get_upload_folder()).resolve()
    if cache not in p.parents or not p.is_file():
        return False
    p.unlink(missing_ok=True)
    try:
        p.parent.rmdir()
    except OSError:
        pass
    return True


LEDGER = CacheLedger()


def _api_file(name: str) -> Path:
    """A fresh, uniquely named place in Gradio's cache: two callers never write (or read) the same file."""
    import secrets as _secrets

    from gradio.utils import get_upload_folder

    folder = Path(get_upload_folder()) / "editguard-api" / _secrets.token_hex(16)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def api_blurred(path, name: str) -> str:
    """A pending result for an API caller: blurred on the server, in a file of its own."""
    from ui.render import blurred

    target = _api_file(name)
    blurred(str(path)).save(target, format="PNG", compress_level=1)
    return str(target)


def api_copy(path: Path, name: str) -> str:
    """A released picture for an API caller: a byte-for-byte copy (its labels intact) written straight into Gradio's
    cache under a fresh folder, because gradio_client fetches outputs only through `/gradio_api/file=`. It is one the
    caller may see anyway, and the scheduled cache clean-up removes it."""
    import shutil

    target = _api_file(name)
    shutil.copyfile(path, target)
    return str(target)
