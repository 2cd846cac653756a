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
                                    BlockMACConfig("mxfp4", "mxint8"),
                                    BlockMACConfig("nvfp4", "int8"),
                                    BlockMACConfig("nvfp4", "nvfp4", 40, 12)],
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
    assert qmac_cli.main(["verilog", "--design", "block_mac", "--weight", "nvfp4", "--act", "int8",
                          "-o", str(tmp_path)]) == 0
    assert "ports w:in4, x:in8, sw:in8, valid:in1" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["--weight", "int8"], r"weight must be a block-scaled format \(mxint8, mxfp4, .*nvfp4, "
                           r"with bB\), not 'int8'"),
    (["--weight", "mxint8", "--saturate"], r"--saturate, --pipeline and --product apply to "
                                           r"--design mac and systolic, not to block_mac \(its "
                                           r"accumulator wraps\)"),
])
def test_cli_bad_block_mac_is_one_line_exit_2(argv: list[str], message: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert qmac_cli.main(["verilog", "--design", "block_mac", *argv, "-o", str(tmp_path)]) == 2
    assert re.fullmatch(rf"qmac verilog: error: {message}", capsys.readouterr().err.strip())
    assert not any(tmp_path.iterdir())

