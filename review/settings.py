"""Configuration from environment variables; every default works on a laptop with no GPU."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from review.policy import Mode


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
            seed_references=env.get("EDITGUARD_SEED_REFERENCES", "1").strip().lower() not in ("0", "false", "no"),
            png_compression=_int(env, "EDITGUARD_PNG_COMPRESSION", 1, lo=0, hi=9),
        )


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
