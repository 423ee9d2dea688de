"""Shared fixtures: real photos from scikit-image, a fresh data directory and runtime per test."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


def photo(name: str = "chelsea", size: tuple[int, int] | None = None) -> Image.Image:
    from skimage import data

    im = Image.fromarray(getattr(data, name)()).convert("RGB")
    return im.resize(size) if size else im


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A private data directory and database for one test."""
    monkeypatch.setenv("EDITGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("EDITGUARD_POLICY_MODE", raising=False)
    monkeypatch.setenv("EDITGUARD_SECRET", "test-secret")
    return tmp_path


@pytest.fixture
def make_runtime(env):
    from review.runtime import Runtime
    from review.settings import Settings

    def make(**overrides):
        for key, value in overrides.items():
            os.environ[key] = value
        return Runtime.start(Settings.from_env())

    return make


@pytest.fixture
def rt(make_runtime):
    return make_runtime()


@pytest.fixture
def image_file(tmp_path):
    def write(image: Image.Image, name: str = "in.png", **save) -> Path:
        path = tmp_path / name
        image.save(path, **save)
        return path

    return write


def mean_rgb(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.float64).reshape(-1, 3).mean(axis=0)
