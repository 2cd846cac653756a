"""flow.liberty: areas, state, functions, tables and units of a Liberty file."""

from __future__ import annotations

from pathlib import Path

import pytest

from flow.liberty import parse_function, read_liberty
from flow.tools import DEFAULT_LIBERTY

_SMALL = """/* comment with cell (FAKE) { area : 9; } */
library (tiny) {
  time_unit : "1ns";
  cell (INV) { area : 2.5; pin (A) { direction : input; } pin (Y) { function : "!A"; } }
  cell (FF) { area : 10;
    ff (IQ, IQN) { next_state : "D"; clocked_on : "CK"; }
    pin (Q) { direction : output; function : "IQ"; }
  }
  cell (LAT) { area : 7; latch (IQ, IQN) { data_in : "D"; enable : "G"; } }
}
"""


def test_small_library(tmp_path: Path) -> None:
    path = tmp_path / "tiny.lib"
    path.write_text(_SMALL)
    lib = read_liberty(path)
    assert lib.name == "tiny"
    assert {n: (c.area, c.sequential) for n, c in lib.cells.items()} == {
        "INV": (2.5, False), "FF": (10.0, True), "LAT": (7.0, True)}


def test_osu018_library() -> None:
    lib = read_liberty(DEFAULT_LIBERTY)
    assert lib.name == "osu018_stdcells"
    assert {n for n, c in lib.cells.items() if c.sequential} == {
        "DFFNEGX1", "DFFPOSX1", "DFFSR", "LATCH"}
    assert lib.cell("DFFPOSX1").area == 96.0
    assert lib.cell("INVX1").area > 0


def test_unknown_cell_is_named(tmp_path: Path) -> None:
    path = tmp_path / "tiny.lib"
    path.write_text(_SMALL)
    with pytest.raises(ValueError, match=r"^cell 'NAND9' is not in Liberty library tiny "):
        read_liberty(path).cell("NAND9")


@pytest.mark.parametrize("text, message", [
    ("this is not liberty", r"is not a Liberty library"),
    ("library (x) { cell (A) { area : 1; }", r"is not a Liberty library"),
    ("library (x) { } }", r"is not a Liberty library \(Error on line"),
    ("library (x) { cell (A) { area : big; } }", r"area 'big' is not a number"),
    ("library (x) { cell (A) { pin (Y) { } } }", r"cell A has no area"),
])
def test_malformed_files_raise(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.lib"
    path.write_text(text)
    with pytest.raises(ValueError, match=r"^liberty file .*" + message):
        read_liberty(path)


@pytest.mark.parametrize("text, tree", [
    ("!(A&B)", ("not", ("and", "A", "B"))),
    ("(A B)'", ("not", ("and", "A", "B"))),
    ("A^B C", ("and", ("xor", "A", "B"), "C")),
    ("A|B&C", ("or", "A", ("and", "B", "C"))),
    ("A+B+C", ("or", ("or", "A", "B"), "C")),
])
def test_function_precedence_matches_opensta(text: str, tree: object) -> None:
    assert parse_function(text) == tree


def test_bad_function_is_named() -> None:
    with pytest.raises(ValueError, match=r"^liberty function 'S \? A' has an unexpected"):
        parse_function("S ? A")


def test_osu018_tables_units_and_extrapolation() -> None:
    lib = read_liberty(DEFAULT_LIBERTY)
    assert lib.voltage == 1.8 and lib.wire_load is None
    table = lib.cell("AND2X1").pins["Y"].powers[0].rise
    assert table.axes == ("load", "slew")
    assert table.lookup(0.06, 0.005) == pytest.approx(0.012351)
    assert table.lookup(0.12, 0.005) == pytest.approx((0.012351 + 0.01753) / 2)
    # below the first breakpoint the first segment's slope continues (OpenSTA's rule)
    assert table.lookup(0.0, 0.005) == pytest.approx(0.012351 - (0.01753 - 0.012351) / 2)
    assert lib.cell("DFFPOSX1").state == {"DS0000": "D"}
    assert lib.cell("DFFPOSX1").leakage_mw == pytest.approx(0.160725e-6)
