"""Verilog and a JSON manifest for one design: what simulators, lint and synthesis consume.

The manifest (schema ``qmac.manifest/1``) records everything a consumer needs without importing
qmac: the top module and file, the config's parameters, every port with width and signedness,
clock, reset, latency and peak MACs per cycle, and the generator versions.
"""

from __future__ import annotations

import json
import os
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import amaranth
from amaranth.back import verilog
from amaranth.lib import wiring

from hw.build import build

__all__ = ["MANIFEST_SCHEMA", "export", "manifest", "write_atomic"]

MANIFEST_SCHEMA = "qmac.manifest/1"


def manifest(config: Any) -> dict:
    """The manifest of ``config``'s design (also returned by ``export``)."""
    return {
        "schema": MANIFEST_SCHEMA,
        "top": config.name,
        "verilog": f"{config.name}.v",
        "params": config.params(),
        "ports": [p.to_json() for p in config.ports],
        "clock": "clk",
        "reset": "rst",
        "latency": config.latency,
        "macs_per_cycle": config.macs_per_cycle,
        "generator": {"qmac": metadata.version("qmac"), "amaranth": amaranth.__version__},
    }


def export(config: Any, out_dir: Path, design: wiring.Component | None = None) -> dict:
    """Write ``<out_dir>/<name>.v`` (top module ``config.name``) and ``<name>.json``.

    ``design`` replaces ``build(config)`` (the mutation test exports deliberately broken units
    under the config they claim to implement). Files whose content is unchanged keep their
    timestamp, so simulator builds keyed on it are reused.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    component = build(config) if design is None else design
    text = verilog.convert(component, name=config.name, emit_src=False)
    info = manifest(config)
    write_atomic(out_dir / info["verilog"], text)
    write_atomic(out_dir / f"{config.name}.json", json.dumps(info, indent=2) + "\n")
    return info


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` through a temporary file; skip when the content is equal."""
    path = Path(path)
    if path.exists() and path.read_text() == text:
        return
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
