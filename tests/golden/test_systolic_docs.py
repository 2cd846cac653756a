"""The timing diagram in README.md and docs/systolic.md is what the cycle model produces."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from golden.systolic import SystolicConfig

ROOT = Path(__file__).resolve().parents[2]

# (row label, port, port whose value says whether the row shows a value in that cycle)
ROWS = (("w_load", "w_load", None), ("w_bank", "w_bank", "w_load"), ("w", "w", "w_load"),
        ("x_valid", "x_valid", None), ("x_bank", "x_bank", "x_valid"), ("x", "x", "x_valid"),
        ("y_valid", "y_valid", None), ("y", "y", "y_valid"))


def _cell(values: np.ndarray) -> str:
    return str(values[0]) if len(values) == 1 else "[" + ",".join(map(str, values)) + "]"


def model_diagram() -> list[list[str]]:
    """Token grid of the documented example: 2x2 INT8 array, A = 1..12 (3x4), W = 1..8 (4x2)."""
    trace = SystolicConfig(2, 2, "int8").gemm_trace(np.arange(1, 13).reshape(3, 4),
                                                     np.arange(1, 9).reshape(4, 2))
    ports = {**trace.inputs, **trace.expected}
    grid = [["cycle", *map(str, range(trace.cycles))]]
    for label, port, qualifier in ROWS:
        shown = [qualifier is None or ports[qualifier][t, 0] == 1 for t in range(trace.cycles)]
        grid.append([label, *(_cell(ports[port][t].tolist()) if shown[t] else "-"
                              for t in range(trace.cycles))])
    return grid


def documented_diagram(path: Path) -> list[list[str]]:
    block = re.search(r"```\n(cycle .*?)```", path.read_text(), re.S)
    assert block is not None, f"{path} has no timing diagram"
    return [line.split() for line in block[1].strip().splitlines()]


@pytest.mark.parametrize("doc", ["README.md", "docs/systolic.md"])
def test_documented_timing_diagram_is_the_cycle_model(doc: str) -> None:
    assert documented_diagram(ROOT / doc) == model_diagram()
