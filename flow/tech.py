"""Technology records: one entry per standard-cell library the flow knows by name.

A record says where the Liberty file and the cells' Verilog models live, which package provides
them, and the nominal supply; the buffer the synthesis script inserts is derived from the Liberty
itself (``buffer_cell``), so a user's own ``--liberty`` works the same way. A gzipped Liberty
(sky130) is unpacked once into ``build/tech/``.
"""

from __future__ import annotations

import gzip
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from flow.liberty import Library

__all__ = ["Technology", "TECHNOLOGIES", "DEFAULT_TECH", "technology", "liberty_file",
           "buffer_cell", "shared_dir"]

_ROOT = Path(__file__).resolve().parent.parent
_QFLOW = Path("/usr/share/qflow/tech")


def shared_dir() -> Path:
    """The workplace's shared folder (``$QMAC_SHARED``, else ``../shared`` of the clone)."""
    if os.environ.get("QMAC_SHARED"):
        return Path(os.environ["QMAC_SHARED"])
    for parent in (_ROOT.parent, _ROOT.parent.parent):
        if (parent / "shared").is_dir():
            return parent / "shared"
    return _ROOT.parent / "shared"


@dataclass(frozen=True)
class Technology:
    name: str
    liberty: Path
    cells_verilog: Path | None
    """Verilog models of the cells for gate-level simulation (None: none shipped)."""
    voltage: float
    package: str
    """Where the files come from: a Debian package, or a path note for shared files."""


TECHNOLOGIES: dict[str, Technology] = {
    "osu018": Technology("osu018", _QFLOW / "osu018/osu018_stdcells.lib",
                         _QFLOW / "osu018/osu018_stdcells.v", 1.8, "qflow-tech-osu018"),
    "osu035": Technology("osu035", _QFLOW / "osu035/osu035_stdcells.lib",
                         _QFLOW / "osu035/osu035_stdcells.v", 3.3, "qflow-tech-osu035"),
    "sky130hd": Technology("sky130hd", shared_dir() / "tech/sky130hd_tt.lib.gz", None, 1.8,
                           "shared/tech/sky130hd_tt.lib.gz (SkyWater, Apache-2.0)"),
}
DEFAULT_TECH = "osu018"


def technology(name: str) -> Technology:
    if name not in TECHNOLOGIES:
        raise ValueError(f"technology must be one of {sorted(TECHNOLOGIES)}, not {name!r}")
    return TECHNOLOGIES[name]


def liberty_file(path: Path | str) -> Path:
    """``path`` itself, or for ``*.gz`` its content unpacked (once) into ``build/tech/``."""
    path = Path(path)
    if path.suffix != ".gz":
        return path
    target = _ROOT / "build" / "tech" / path.stem
    if not target.exists() or target.stat().st_mtime < path.stat().st_mtime:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        with gzip.open(path, "rb") as src, open(partial, "wb") as dst:
            shutil.copyfileobj(src, dst)
        partial.replace(target)
    return target


def buffer_cell(library: Library) -> tuple[str, str, str]:
    """(cell, input pin, output pin) of the smallest non-inverting single-input buffer."""
    candidates = []
    for cell in library.cells.values():
        inputs = [p for p in cell.pins.values() if p.direction == "input"]
        outputs = [p for p in cell.pins.values() if p.direction == "output"]
        if (not cell.sequential and len(inputs) == 1 and len(outputs) == 1
                and outputs[0].function == inputs[0].name):
            candidates.append((cell.area, cell.name, inputs[0].name, outputs[0].name))
    if not candidates:
        raise ValueError(f"liberty library {library.name} has no buffer cell (one input, one "
                         f"output whose function is that input)")
    return min(candidates)[1:]
