"""hw.blockmac: the block-scaled MAC elaborates, lints clean under Verilator -Wall, and is
reachable from ``qmac verilog --design block_mac``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import qmac_cli
from golden.blockmac import BlockMACConfig
from hw.export import export
from sim.toolchain import lint_verilog, setup_simulator


@pytest.mark.parametrize("config", [BlockMACConfig("mxint8"),
                                    BlockMACConfig("mxint8b8", "mxint8b8", 20, 4),
                                    BlockMACConfig("mxfp4", "mxint8")],
                         ids=lambda c: c.name)
def test_exports_and_lints_clean(config: BlockMACConfig, tmp_path: Path) -> None:
    info = export(config, tmp_path)
    assert info["latency"] == config.latency == 1
    assert [p["name"] for p in info["ports"]] == [p.name for p in config.ports]
    setup_simulator("verilator")
    lint_verilog(tmp_path / info["verilog"], info["top"])


def test_cli_writes_the_block_mac(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert qmac_cli.main(["verilog", "--design", "block_mac", "--weight", "mxint8",
                          "-o", str(tmp_path)]) == 0
    assert (tmp_path / f"{BlockMACConfig('mxint8').name}.v").is_file()
    assert "ports w:in8, x:in8, sw:in8, sx:in8" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["--weight", "nvfp4"], r"weight must be an MX format with an E8M0 scale \(mxint8, mxfp4, "
                            r".*with bB\), not 'nvfp4'"),
    (["--weight", "mxint8", "--saturate"], r"--saturate, --pipeline and --product apply to "
                                           r"--design mac and systolic, not to block_mac \(its "
                                           r"accumulator wraps\)"),
])
def test_cli_bad_block_mac_is_one_line_exit_2(argv: list[str], message: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert qmac_cli.main(["verilog", "--design", "block_mac", *argv, "-o", str(tmp_path)]) == 2
    assert re.fullmatch(rf"qmac verilog: error: {message}", capsys.readouterr().err.strip())
    assert not any(tmp_path.iterdir())


def test_a_sweep_refuses_the_block_mac_in_one_line(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """``qmac synth`` evaluates the block MAC (its record has a workload), but the report's
    tables have no row for it yet, so a sweep spec naming it is refused, not a traceback."""
    spec = tmp_path / "block.toml"
    spec.write_text('[[point]]\nkind = "block_mac"\nweight = "mxfp4"\nact = "mxint8"\n')
    assert qmac_cli.main(["sweep", str(spec), "-o", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.strip().endswith(
        "point 1: kind must be one of ['mac', 'systolic'], not 'block_mac'")
