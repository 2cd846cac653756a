"""Result cache of the efficiency report: one folder per evaluated design, keyed by what made it.

A design's flow result depends on its parameters, the Liberty library (its content, not its path),
the clock, the workloads and seed, the versions of the tools, and qmac's own generator and flow
code. The key hashes all of these, so a second report run re-evaluates exactly the designs whose
inputs changed and reuses every other result.

Runs may share a cache. A run evaluates a design in a private job folder while it holds that
key's lock, and renames the complete folder into place as the entry, so an entry is never seen
half-written and two runs never work in one folder; a second run asking for the same key waits
for the lock and then reads the entry. Entries are checked against ``flow/result_schema.json``
when read: a damaged one is reported and recomputed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from contextlib import AbstractContextManager
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import jschon

from hw.export import write_atomic
from flow.folders import locked

__all__ = ["RESULT_SCHEMA_FILE", "BadEntry", "ResultCache", "cache_key", "check_result",
           "file_digest", "flow_version", "source_digest"]

_ROOT = Path(__file__).resolve().parent.parent
RESULT_SCHEMA_FILE = Path(__file__).with_name("result_schema.json")
# Modules that only present or store results: editing them must not invalidate evaluated designs.
_PRESENTATION = {"flow/report.py", "flow/cache.py", "flow/tables.py", "flow/plots.py",
                 "flow/cli.py", "flow/folders.py", "flow/portfolio.py"}
_RESULT_SOURCES = ("golden", "hw", "flow", "models")  # models/: the minilm workload


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def source_digest(root: Path = _ROOT) -> str:
    """sha256 over qmac's generator and flow sources (presentation modules excluded).

    This is the "qmac flow version" of the key: any change to how a design is generated,
    synthesised or measured invalidates its cached results.
    """
    digest = hashlib.sha256()
    for package in _RESULT_SOURCES:
        for path in sorted((root / package).rglob("*")):
            rel = path.relative_to(root).as_posix()
            if path.suffix not in (".py", ".json", ".txt") or rel in _PRESENTATION:
                continue
            digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


@lru_cache(maxsize=None)
def flow_version() -> str:
    """``source_digest()`` of this checkout, taken once per process.

    A running process keeps the modules it imported, so the sources as first read describe the
    code that produces its results better than files edited while it runs.
    """
    return source_digest()


def cache_key(params: dict[str, Any], *, library_digest: str, clock_ns: float,
              workloads: tuple[str, ...], seed: int, tools: dict[str, str],
              flow_version: str, recipe: dict[str, str] | None = None) -> str:
    """sha256 of everything a design's flow result depends on (``recipe``: its record)."""
    material = {"params": params, "library": library_digest, "clock_ns": float(clock_ns),
                "workloads": list(workloads), "seed": seed, "tools": tools,
                "flow_version": flow_version, "recipe": recipe}
    text = json.dumps(material, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class BadEntry(ValueError):
    """A cache entry that cannot be used; the message names its file and what is wrong."""


@lru_cache(maxsize=None)
def _result_schema() -> jschon.JSONSchema:
    jschon.create_catalog("2020-12")
    return jschon.JSONSchema(json.loads(RESULT_SCHEMA_FILE.read_text(encoding="utf-8")))


def check_result(result: Any) -> None:
    """Raise ValueError unless ``result`` follows ``flow/result_schema.json``; the message gives
    the deepest failing location, which is where the fault is."""
    outcome = _result_schema().evaluate(jschon.JSON(result))
    if outcome.valid:
        return
    errors = [e for e in outcome.output("basic")["errors"] if isinstance(e["error"], str)]
    worst = max(errors, key=lambda e: e["instanceLocation"].count("/"))
    raise ValueError(f"{worst['instanceLocation'] or '/'}: {worst['error']}")


def _no_constant(name: str) -> float:
    raise ValueError(f"non-finite number {name}")


class ResultCache:
    """``<root>/<key>/result.json``, beside the flow's files of that evaluation."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def entry(self, key: str) -> Path:
        return self.root / key

    def lock(self, key: str, on_wait: Callable[[], None] | None = None
             ) -> AbstractContextManager[None]:
        """Exclusive right to evaluate and store ``key``; ``on_wait`` runs before blocking."""
        self.root.mkdir(parents=True, exist_ok=True)
        return locked(self.root / f"{key}.lock", on_wait)

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored result, None when ``key`` has no entry; ``BadEntry`` when the entry is
        damaged (unreadable, not JSON, or not a ``qmac.result/1`` document)."""
        entry = self.entry(key)
        if not os.path.lexists(entry):
            return None
        path = entry / "result.json"
        try:
            result = json.loads(path.read_text(encoding="utf-8"), parse_constant=_no_constant)
            check_result(result)
        except OSError as err:
            raise BadEntry(f"{path}: {err.strerror or err}") from None
        except ValueError as err:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            raise BadEntry(f"{path}: {err}") from None
        return result

    def new_job(self, key: str) -> Path:
        """A private, empty folder to evaluate ``key`` in; ``put`` turns it into the entry.

        A failed evaluation leaves it (hidden, ``.job-*``) with the logs its error names.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=self.root, prefix=f".job-{key[:12]}-"))

    def put(self, key: str, job: Path, result: dict[str, Any]) -> None:
        """Store ``result`` in ``job`` and make ``job`` the entry of ``key`` with one rename
        (a damaged entry it replaces is removed first). The caller holds ``lock(key)``."""
        write_atomic(job / "result.json", json.dumps(result, indent=1, sort_keys=True))
        entry = self.entry(key)
        if os.path.lexists(entry):
            trash = Path(tempfile.mkdtemp(dir=self.root, prefix=".bad-"))
            os.replace(entry, trash / key)
            shutil.rmtree(trash)
        os.replace(job, entry)
