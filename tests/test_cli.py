"""The ``qmac`` command line: ``qmac formats``, ``qmac verilog``, ``qmac regress``, and how every
error (bad value, OS error, closed pipe, Ctrl-C) becomes one line and an exit code."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import golden.cli
import qmac_cli
from golden.formats import DINT4, format_names, get_format
from sim.regress import mac_grid


def test_formats_dint4_prints_every_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert qmac_cli.main(["formats", "dint4"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "dint4: 4-bit, values x 2^1 are integers"
    assert lines[1].split() == ["code", "bits", "value", "x", "2^1"]
    rows = [line.split() for line in lines[2:]]
    assert len(rows) == 16
    for row, (code, bits, value) in zip(rows, DINT4.code_table()):
        special = ["(special)"] if code in DINT4.special_codes else []
        assert row == [str(code), bits, str(value), str(int(value * 2)), *special]


def test_formats_without_name_prints_default_formats(capsys: pytest.CaptureFixture[str]) -> None:
    assert qmac_cli.main(["formats"]) == 0
    out = capsys.readouterr().out
    headers = re.findall(r"^(\w+): (\d+)-bit", out, flags=re.MULTILINE)
    assert headers == [(name, str(get_format(name).bits)) for name in format_names()]
    codes = sum(1 << get_format(name).bits for name in format_names())
    assert len(re.findall(r"^ +-?\d+ +[01]+ ", out, flags=re.MULTILINE)) == codes


def test_formats_bad_name_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert qmac_cli.main(["formats", "dint2"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert re.match(r"^qmac formats: error: format must be one of int8, int4, dint4, .* "
                    r"not 'dint2' \(bits must be an integer in \[3, 16\], not 2\)$",
                    captured.err.strip())


def test_verilog_writes_design_and_manifest(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    args = ["verilog", "--design", "mac", "--weight", "dint4", "--acc-bits", "20", "--saturate",
            "--pipeline", "--product", "cin", "-o", str(tmp_path)]
    assert qmac_cli.main(args) == 0
    name = "mac_dint4_x_int8_acc20_saturate_pipe_cin"
    manifest = json.loads((tmp_path / f"{name}.json").read_text())
    assert manifest["params"] == {"kind": "mac", "weight": "dint4", "act": "int8", "act_bits": 8,
                                  "acc_bits": 20, "overflow": "saturate", "pipeline": True,
                                  "product": "cin"}
    assert manifest["latency"] == 2
    assert f"module {name}(" in (tmp_path / f"{name}.v").read_text()
    assert capsys.readouterr().out.splitlines()[0] == str(tmp_path / f"{name}.v")


def test_verilog_bad_acc_bits_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert qmac_cli.main(["verilog", "--weight", "int8", "--acc-bits", "8", "-o",
                          str(tmp_path)]) == 2
    assert re.match(r"^qmac verilog: error: acc_bits must be an integer in \[16, 48\] for int8 x "
                    r"int8 \(one product needs 16 bits\), not 8$", capsys.readouterr().err.strip())
    assert list(tmp_path.iterdir()) == []


def test_regress_runs_icarus_and_dumps_waves(build_root: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = build_root / "cli_regress"
    args = ["regress", "--design", "mac", "--sim", "icarus", "--weight", "dint4",
            "--random-cycles", "300", "--waves", "-o", str(out)]
    assert qmac_cli.main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    cases = len(mac_grid(("icarus",), (DINT4,)))
    assert lines[-1] == f"{cases} of {cases} cases passed"
    assert all(re.match(rf"^\[\d/{cases}\] icarus mac_dint4_\w+ \(seed 0\): ok, \d+ cycles", line)
               for line in lines[:-1])
    waves = out / "mac_dint4_x_int8_acc24_wrap" / "icarus_waves" / "mac_dint4_x_int8_acc24_wrap.fst"
    assert waves.stat().st_size > 0


QMAC = Path(sys.executable).with_name("qmac")


def test_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    """``qmac formats int12 | head -1``: the int12 table (4096 lines) overflows the pipe buffer."""
    proc = subprocess.Popen([QMAC, "formats", "int12"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=tmp_path)
    assert proc.stdout.readline() == b"int12: 12-bit, values x 2^0 are integers\n"
    proc.stdout.close()
    assert proc.wait(timeout=60) == 141
    assert proc.stderr.read() == b""


@pytest.mark.parametrize("command", [["verilog"], ["synth", "--workload", "zeros"]])
def test_out_that_is_a_file_is_one_line(command: list[str], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "taken"
    target.write_text("user data\n")
    assert qmac_cli.main([*command, "-o", str(target)]) == 1
    assert re.fullmatch(rf"qmac {command[0]}: error: (File exists|Not a directory): "
                        rf"'{re.escape(str(target))}[^'\n]*'\n", capsys.readouterr().err)
    assert target.read_text() == "user data\n"


def test_out_under_proc_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert qmac_cli.main(["verilog", "-o", "/proc/qmac-x"]) == 1
    assert capsys.readouterr().err == \
        "qmac verilog: error: No such file or directory: '/proc/qmac-x'\n"


def test_ctrl_c_is_one_line_and_exit_130(monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted(fmt: object) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(golden.cli, "code_table_text", interrupted)
    assert qmac_cli.main(["formats", "int4"]) == 130
    assert capsys.readouterr().err == "qmac formats: interrupted\n"
