"""Verilog + manifest export: the manifest contract, atomic writes, Verilator -Wall lint, Icarus."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import amaranth
import pytest

from golden.arith import Overflow
from golden.formats import DINT4
from golden.mac import MACConfig
from hw.build import build
from hw.export import MANIFEST_SCHEMA, export
from sim.regress import mac_grid
from sim.toolchain import lint_verilog, setup_simulator

GRID_CONFIGS = list({case.config.name: case.config for case in mac_grid()}.values())


def test_manifest_follows_the_contract(tmp_path: Path) -> None:
    config = MACConfig(DINT4, acc_bits=20, overflow=Overflow.SATURATE, pipeline=True)
    info = export(config, tmp_path)
    assert info == {
        "schema": MANIFEST_SCHEMA, "top": config.name, "verilog": f"{config.name}.v",
        "params": config.params(), "ports": [p.to_json() for p in config.ports],
        "clock": "clk", "reset": "rst", "latency": 2, "macs_per_cycle": 1,
        "generator": {"qmac": info["generator"]["qmac"], "amaranth": amaranth.__version__}}
    assert json.loads((tmp_path / f"{config.name}.json").read_text()) == info
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{config.name}.json",
                                                          f"{config.name}.v"]


def test_verilog_top_module_has_the_config_ports(tmp_path: Path) -> None:
    config = MACConfig(DINT4)
    text = (tmp_path / export(config, tmp_path)["verilog"]).read_text()
    header = re.search(r"^module (\w+)\((.*?)\);", text, re.M)
    assert header is not None and header[1] == config.name
    assert set(header[2].replace(" ", "").split(",")) == {p.name for p in config.ports} | {
        "clk", "rst"}
    for port in config.ports:
        width = f"[{port.bits - 1}:0] " if port.bits > 1 else ""
        direction = "input" if port.direction == "in" else "output"
        assert re.search(rf"^\s*{direction} {re.escape(width)}{port.name};", text, re.M), port


def test_unchanged_export_keeps_file_times(tmp_path: Path) -> None:
    """Simulator builds are cached on the Verilog: re-exporting must not touch equal files."""
    config = MACConfig(DINT4)
    export(config, tmp_path)
    verilog = tmp_path / f"{config.name}.v"
    before = verilog.stat().st_mtime_ns
    export(config, tmp_path)
    assert verilog.stat().st_mtime_ns == before


def test_build_rejects_unknown_kinds() -> None:
    class Odd:
        kind = "fpga"

    with pytest.raises(ValueError, match=r"^kind must be one of \[.*'mac'.*\], not 'fpga'$"):
        build(Odd())


@pytest.mark.parametrize("config", GRID_CONFIGS, ids=lambda c: c.name)
def test_verilog_passes_verilator_lint_and_icarus(config: MACConfig, build_root: Path) -> None:
    out = build_root / "export_lint"
    info = export(config, out)
    lint_verilog(out / info["verilog"], info["top"])
    setup_simulator("icarus")
    result = subprocess.run(["iverilog", "-g2012", "-o", str(out / f"{config.name}.vvp"),
                             "-s", config.name, str(out / info["verilog"])],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0 and not result.stderr, result.stderr
