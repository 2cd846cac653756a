"""``qmac synth``: options reach ``flow.evaluate`` and the summary names area, Fmax and energy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qmac_cli import main


def test_synth_writes_result_and_prints_summary(build_root: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    out = build_root / "flow_cli"
    code = main(["synth", "--design", "mac", "--weight", "int4", "--acc-bits", "16",
                 "--clock-ns", "8", "--workload", "zeros", "--workload", "uniform",
                 "--seed", "4", "-o", str(out)])
    captured = capsys.readouterr()
    printed = captured.out
    assert code == 0, captured.err
    result = json.loads((out / "mac_int4_x_int8_acc16_wrap" / "result.json").read_text())
    assert result["clock_ns"] == 8.0 and result["seed"] == 4
    assert list(result["power"]["workloads"]) == ["zeros", "uniform"]
    assert "mac_int4_x_int8_acc16_wrap on osu018_stdcells at 8 ns" in printed
    assert f"area      {result['area']['total_um2']:.0f} um2" in printed
    assert f"Fmax {result['timing']['fmax_mhz']:.1f} MHz" in printed
    uniform = result["power"]["workloads"]["uniform"]
    assert f"uniform    {uniform['total_mw']:9.4f} {uniform['energy_per_mac_pj']:8.3f}" in printed
    assert "vectorless" in printed and "not measured" in printed


def test_missing_library_is_an_error_naming_it(tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    code = main(["synth", "--weight", "int4", "--liberty", str(tmp_path / "none.lib"),
                 "-o", str(tmp_path)])
    assert code == 1
    assert capsys.readouterr().err.startswith(
        f"qmac synth: error: liberty file '{tmp_path / 'none.lib'}' does not exist")


def test_bad_weight_is_a_value_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["synth", "--weight", "uint4", "-o", str(tmp_path)]) == 2
    assert "qmac synth: error: format must be one of" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["ü", "out}x"])
def test_unicode_and_brace_out_folders_work(name: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    """Before: OpenSTA's Tcl saw these paths and failed on them."""
    out = tmp_path / name
    assert main(["synth", "--weight", "int4", "--workload", "zeros", "-o", str(out)]) == 0
    result = json.loads((out / "mac_int4_x_int8_acc24_wrap" / "result.json").read_text())
    assert result["timing"]["fmax_mhz"] > 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("command", ["synth", "report"])
@pytest.mark.parametrize("value", ["inf", "nan", "-inf"])
def test_non_finite_clock_is_one_line(command: str, value: str, tmp_path: Path,
                                      capsys: pytest.CaptureFixture) -> None:
    """Before: ``--clock-ns inf`` hung in OpenSTA and left ``sta`` orphaned."""
    assert main([command, f"--clock-ns={value}", "-o", str(tmp_path / "out"),
                 *(["--cache", str(tmp_path / "cache")] if command == "report" else [])]) == 2
    assert capsys.readouterr().err == (f"qmac {command}: error: clock_ns must be a positive finite "
                                       f"number of nanoseconds, not {float(value)!r}\n")
    assert list(tmp_path.iterdir()) == []
