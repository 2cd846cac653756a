"""Shared pytest set-up: a per-worker build folder (`build_root`), and Ctrl-C that works."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# A shell without job control starts background jobs (a CI runner's `make test &`) with SIGINT
# ignored, and an ignored signal stays ignored across exec: the tests that press Ctrl-C on a qmac
# subprocess would then test nothing. A handler of our own is reset to the default on exec, so
# every process the tests start gets Python's KeyboardInterrupt again.
signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def build_root() -> Path:
    """``build/tests/<worker>``, emptied at the start of the session: tests build here so
    parallel workers never share a folder, and what an interrupted run left behind (an output
    folder without its marker, which the flow rightly refuses to overwrite) cannot fail the
    next run."""
    path = ROOT / "build" / "tests" / os.environ.get("PYTEST_XDIST_WORKER", "main")
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)
    return path
