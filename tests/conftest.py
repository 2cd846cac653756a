"""Shared pytest set-up: a per-worker build folder (`build_root`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def build_root() -> Path:
    """``build/tests/<worker>``: tests build here so parallel workers never share a folder."""
    path = ROOT / "build" / "tests" / os.environ.get("PYTEST_XDIST_WORKER", "main")
    path.mkdir(parents=True, exist_ok=True)
    return path
