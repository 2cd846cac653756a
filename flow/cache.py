"""Result cache of the efficiency report: one folder per evaluated design, keyed by what made it.

A design's flow result depends on its parameters, the Liberty library (its content, not its path),
the clock, the workloads and seed, the versions of the tools, and qmac's own generator and flow
code. The key hashes all of these, so a second report run re-evaluates exactly the designs whose
inputs changed and reuses every other result.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from hw.export import write_atomic

__all__ = ["ResultCache", "cache_key", "file_digest", "flow_version", "source_digest"]

_ROOT = Path(__file__).resolve().parent.parent
# Modules that only present results: editing them must not invalidate evaluated designs.
_PRESENTATION = {"flow/report.py", "flow/cache.py", "flow/tables.py", "flow/plots.py", "flow/cli.py"}
_RESULT_SOURCES = ("golden", "hw", "flow")


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
            if path.suffix not in (".py", ".json") or rel in _PRESENTATION:
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
              flow_version: str) -> str:
    """sha256 of everything a design's flow result depends on."""
    material = {"params": params, "library": library_digest, "clock_ns": float(clock_ns),
                "workloads": list(workloads), "seed": seed, "tools": tools,
                "flow_version": flow_version}
    text = json.dumps(material, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class ResultCache:
    """``<root>/<key>/result.json`` files; ``<root>/<key>/`` is also the flow's working folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def folder(self, key: str) -> Path:
        return self.root / key

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored result, or None when this key was never completed."""
        path = self.folder(key) / "result.json"
        if not path.is_file():
            return None
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)

    def put(self, key: str, result: dict[str, Any]) -> None:
        """Store ``result`` atomically: a crash leaves either the old entry or the new one."""
        folder = self.folder(key)
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(folder / "result.json", json.dumps(result, indent=1, sort_keys=True))
