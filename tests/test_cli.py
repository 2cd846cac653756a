"""The ``qmac`` command line: ``qmac formats``."""

from __future__ import annotations

import re

import pytest

import qmac_cli
from golden.formats import DINT4, format_names, get_format


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
