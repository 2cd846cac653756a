"""flow.liberty: areas, library name and sequential cells of a Liberty file."""

from __future__ import annotations

from pathlib import Path

import pytest

from flow.liberty import read_liberty
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
    ("library (x) { } }", r"has an unmatched '}' at offset"),
    ("library (x) { cell (A) { area : big; } }", r"area 'big' is not a number"),
    ("library (x) { cell (A) { pin (Y) { } } }", r"cell A has no area"),
])
def test_malformed_files_raise(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.lib"
    path.write_text(text)
    with pytest.raises(ValueError, match=r"^liberty file .*" + message):
        read_liberty(path)
