"""Configuration from environment variables; every default works on a laptop with no GPU."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from review.pipeline.policy import Mode


@dataclass(frozen=True)
class ProvenanceSettings:
    """What every output carries besides its XMP label (which is always written)."""

    c2pa: bool = True  # EDITGUARD_C2PA: a signed C2PA manifest
    watermark: bool = True  # EDITGUARD_WATERMARK: an invisible watermark
    visible_mark: bool = False  # EDITGUARD_VISIBLE_MARK: an "AI generated" label in the corner
    cert_path: str | None = None  # EDITGUARD_C2PA_CERT: the operator's PEM chain (else a local authority)
    key_path: str | None = None  # EDITGUARD_C2PA_KEY: its PEM private key


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    policy_mode: Mode
    editor_backend: str
    editor_model: str | None
    guard_backend: str
    guard_model: str | None
    image_guard: str
    max_pixels: int
    max_upload_mb: int
    seed_references: bool
    png_compression: int
    similarity_index: str = "auto"
    provenance: ProvenanceSettings = ProvenanceSettings()
    retention_days: int = 0  # 0: keep everything; else `purge` (and the app, daily) removes older records
    keep_decided: bool = True  # records a reviewer decided (and blocked ones) stay for the audit trail
    blocked_picture_days: int = 7  # uploads of blocked (Unsafe) edits are removed after this; their record stays
    edit_concurrency: int = 0  # EDITGUARD_EDIT_CONCURRENCY: edits run at once; 0 derives it (Runtime.edit_concurrency)
    replica: str | None = None  # EDITGUARD_REPLICA: s3:// URL or folder the database and files are replicated to
    image_guard_model: str | None = None  # the vision-language judge's checkpoint (IMAGE_GUARD=vl)

    @classmethod
    def from_env(cls, env: dict | None = None) -> "Settings":
        env = os.environ if env is None else env
        data_dir = Path(env.get("EDITGUARD_DATA_DIR") or Path.cwd() / "data").expanduser().resolve()
        mode = env.get("EDITGUARD_POLICY_MODE", "review").strip().lower()
        if mode not in {m.value for m in Mode}:
            raise ValueError(f"EDITGUARD_POLICY_MODE must be strict, review or loose, not {mode!r}.")
        return cls(
            data_dir=data_dir,
            database_url=env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'editguard.db'}",
            policy_mode=Mode(mode),
            editor_backend=env.get("EDITOR_BACKEND", "auto"),
            editor_model=env.get("EDITOR_MODEL") or None,
            guard_backend=env.get("GUARD_BACKEND", "auto"),
            guard_model=env.get("GUARD_MODEL") or None,
            image_guard=env.get("IMAGE_GUARD", "auto"),
            max_pixels=_int(env, "EDITGUARD_MAX_PIXELS", 40_000_000),
            max_upload_mb=_int(env, "EDITGUARD_MAX_UPLOAD_MB", 50),
            seed_references=_flag(env, "EDITGUARD_SEED_REFERENCES", True),
            png_compression=_int(env, "EDITGUARD_PNG_COMPRESSION", 1, lo=0, hi=3),
            similarity_index=_choice(env, "EDITGUARD_SIMILARITY_INDEX", "auto", ("auto", "numpy", "faiss", "mih")),
            provenance=ProvenanceSettings(
                c2pa=_flag(env, "EDITGUARD_C2PA", True), watermark=_flag(env, "EDITGUARD_WATERMARK", True),
                visible_mark=_flag(env, "EDITGUARD_VISIBLE_MARK", False),
                cert_path=env.get("EDITGUARD_C2PA_CERT") or None, key_path=env.get("EDITGUARD_C2PA_KEY") or None),
            retention_days=_int(env, "EDITGUARD_RETENTION_DAYS", 0, lo=0),
            keep_decided=_flag(env, "EDITGUARD_KEEP_DECIDED", True),
            blocked_picture_days=_int(env, "EDITGUARD_BLOCKED_PICTURE_DAYS", 7, lo=0),
            edit_concurrency=_int(env, "EDITGUARD_EDIT_CONCURRENCY", 0, lo=0),
            replica=(env.get("EDITGUARD_REPLICA") or "").strip() or None,
            image_guard_model=env.get("IMAGE_GUARD_MODEL") or None,
        )


def _flag(env, name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be 1 or 0, not {raw!r}.")


def _choice(env, name: str, default: str, choices: tuple[str, ...]) -> str:
    value = (env.get(name) or default).strip().lower()
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, not {value!r}.")
    return value


def _int(env, name: str, default: int, lo: int = 1, hi: int | None = None) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}.") from None
    if value < lo or (hi is not None and value > hi):
        raise ValueError(f"{name} must be between {lo} and {hi}." if hi is not None else f"{name} must be at least {lo}.")
    return value
