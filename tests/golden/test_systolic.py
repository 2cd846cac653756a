"""The systolic array's config, cycle model, double-buffer rule and analytical cycle count."""

from __future__ import annotations

import json

import numpy as np
import pytest

from golden.arith import default_acc_bits, product_range, signed_bits
from golden.designs import DESIGN_KINDS, config_from_json, config_from_params
from golden.formats import DINT4, INT8
from golden.systolic import SystolicConfig, scalesim_ws_cycles
from golden.tiler import schedule_gemm


def _zeros(config: SystolicConfig, cycles: int) -> dict[str, np.ndarray]:
    return {p.name: np.zeros((cycles, p.lanes), dtype=np.int64)
            for p in config.ports if p.direction == "in"}


@pytest.mark.parametrize("field, value, message", [
    ("rows", 0, r"^rows must be an integer in \[1, 64\], not 0$"),
    ("cols", 65, r"^cols must be an integer in \[1, 64\], not 65$"),
    ("rows", True, r"^rows must be an integer in \[1, 64\], not True$"),
    ("act_bits", 1, r"^act_bits must be an integer in \[2, 16\], not 1$"),
    ("acc_depth", -1, r"^acc_depth must be an integer in \[0, 4096\], not -1$"),
    ("psum_bits", 11, r"^psum_bits must be an integer in \[12, 48\], not 11$"),
    ("acc_bits", 49, r"^acc_bits must be an integer in \[12, 48\] for dint4 x int8"),
    ("overflow", "clip", r"^overflow must be one of \['wrap', 'saturate'\], not 'clip'$"),
    ("weight", "fp8", r"^format must be one of"),
])
def test_config_rejects_bad_parameters(field: str, value: object, message: str) -> None:
    params = dict(rows=4, cols=4, weight="dint4")
    params[field] = value
    with pytest.raises(ValueError, match=message):
        SystolicConfig(**params)


def test_default_widths_hold_every_column_sum() -> None:
    config = SystolicConfig(16, 16, "dint4")
    lo, hi = product_range(DINT4, INT8)
    assert config.psum_bits == signed_bits(16 * lo, 16 * hi)
    assert -(1 << (config.psum_bits - 1)) <= 16 * lo and 16 * hi < 1 << (config.psum_bits - 1)
    assert config.acc_bits == default_acc_bits(DINT4, INT8)
    assert config.macs_per_cycle == 256 and config.latency == 32


def test_params_round_trip_through_the_registry() -> None:
    config = SystolicConfig(3, 5, "int4", act_bits=6, psum_bits=20, acc_bits=22,
                            overflow="saturate", acc_depth=7)
    assert DESIGN_KINDS["systolic"].config is SystolicConfig
    assert config_from_params(config.params()) == config
    assert config_from_json(json.dumps(config.params())) == config
    assert config.name == "systolic_3x5_int4_x_int6_psum20_acc22_saturate_d7"


def test_ports_follow_the_edges() -> None:
    config = SystolicConfig(3, 5, "dint4", acc_depth=6)
    ports = {p.name: p for p in config.ports}
    assert (ports["x"].lanes, ports["x"].lane_bits) == (3, 8)
    assert (ports["w"].lanes, ports["w"].lane_bits) == (5, 4)
    assert (ports["y"].lanes, ports["y"].lane_bits, ports["y"].direction) == (5, 24, "out")
    assert ports["x_addr"].lane_bits == 3
    assert "x_addr" not in {p.name for p in SystolicConfig(3, 5, "dint4").ports}


@pytest.mark.parametrize("rows, cols, depth", [(1, 1, 0), (2, 3, 0), (4, 2, 2), (3, 3, 1)])
def test_one_row_reaches_y_after_latency(rows: int, cols: int, depth: int) -> None:
    """Load weights, drive one row, and find its dot products exactly ``latency`` cycles later."""
    config = SystolicConfig(rows, cols, "int8", acc_depth=depth)
    rng = np.random.default_rng(5)
    w = rng.integers(-128, 128, (rows, cols))
    x = rng.integers(-128, 128, rows)
    start = rows + 2
    inputs = _zeros(config, start + config.latency + 3)
    inputs["w"][:rows] = w[::-1]
    inputs["w_load"][:rows] = 1
    inputs["x"][start] = x
    inputs["x_valid"][start] = 1
    if depth:
        inputs["x_first"][start] = inputs["x_last"][start] = 1
    out = config.run(inputs)
    assert np.flatnonzero(out["y_valid"][:, 0]).tolist() == [start + config.latency]
    assert out["y"][start + config.latency].tolist() == (x @ w).tolist()


def test_weight_loads_of_one_bank_leave_the_other_alone() -> None:
    config = SystolicConfig(2, 2, "int8")
    inputs = _zeros(config, 12)
    inputs["w"][0:2] = [[1, 2], [3, 4]]
    inputs["w_load"][0:4] = 1
    inputs["w_bank"][2:4] = 1
    inputs["w"][2:4] = [[5, 6], [7, 8]]
    inputs["x"][4] = inputs["x"][5] = [1, 10]
    inputs["x_valid"][4:6] = 1
    inputs["x_bank"][5] = 1
    out = config.run(inputs)
    assert out["y"][4 + config.latency].tolist() == [3 + 10 * 1, 4 + 10 * 2]
    assert out["y"][5 + config.latency].tolist() == [7 + 10 * 5, 8 + 10 * 6]


def test_addr_outside_the_accumulator_is_rejected() -> None:
    config = SystolicConfig(2, 2, "int8", acc_depth=3)
    inputs = _zeros(config, 8)
    inputs["x_valid"][0] = 1
    inputs["x_addr"][0] = 3
    with pytest.raises(ValueError, match=r"^x_addr must be below acc_depth \(3\) on valid rows"):
        config.run(inputs)


SHAPES = [(1, 1, 1), (1, 9, 7), (5, 4, 4), (40, 12, 9), (3, 17, 2)]


@pytest.mark.parametrize("rows, cols, depth", [(2, 2, 0), (4, 3, 0), (3, 4, 5), (8, 8, 0)])
@pytest.mark.parametrize("m, k, n", SHAPES)
def test_closed_form_cycles_equal_the_cycle_model(rows, cols, depth, m, k, n) -> None:
    """``gemm_cycles`` equals the stream length; the model's last valid row is its last cycle."""
    config = SystolicConfig(rows, cols, "dint4", acc_depth=depth)
    if depth and m > depth and m % depth:
        m = depth * 2
    rng = np.random.default_rng(m * k * n)
    scheduled = schedule_gemm(config, rng.integers(-128, 128, (m, k)),
                              rng.integers(-8, 8, (k, n)))
    valid = np.flatnonzero(scheduled.trace.expected["y_valid"][:, 0])
    assert config.gemm_cycles(m, k, n) == scheduled.cycles == valid[-1] + 1
    outputs = m * -(-n // cols) * (1 if depth else -(-k // rows))
    assert len(valid) == outputs


def test_closed_form_rejects_ragged_accumulator_blocks() -> None:
    config = SystolicConfig(2, 2, "int8", acc_depth=4)
    with pytest.raises(ValueError, match=r"^m must be at most acc_depth \(4\) or a multiple"):
        config.gemm_cycles(6, 4, 4)
    with pytest.raises(ValueError, match=r"^k must be an integer in \[1, 1073741824\], not 0$"):
        config.gemm_cycles(4, 0, 4)


def test_tiles_stream_without_gaps_once_rows_cover_the_bank_reuse_time() -> None:
    """With M >= 2R + C - 3 every tile starts right after the previous one: no fill stalls."""
    config = SystolicConfig(4, 3, "int8")
    m = 2 * 4 + 3 - 3
    starts = config.tile_starts([m] * 6)
    assert np.diff(starts).tolist() == [m] * 5
    short = config.tile_starts([m - 1] * 6)
    assert max(np.diff(short)) > m - 1


def test_bank_reuse_rule_is_tight(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading a bank one cycle before the rule allows corrupts the tile still using it."""
    config = SystolicConfig(2, 4, "int8")
    rng = np.random.default_rng(3)
    a, w = rng.integers(-128, 128, (1, 6)), rng.integers(-128, 128, (6, 4))
    honest = schedule_gemm(config, a, w)
    rule = SystolicConfig.tile_starts

    def one_early(self: SystolicConfig, rows: list[int]) -> list[int]:
        starts = rule(self, rows)
        assert starts[2] - starts[1] > rows[1] and starts[2] - starts[1] > self.rows
        return starts[:2] + [s - 1 for s in starts[2:]]

    monkeypatch.setattr(SystolicConfig, "tile_starts", one_early)
    early = schedule_gemm(config, a, w)
    assert not np.array_equal(early.result, honest.result)


def test_scalesim_formula_matches_the_issue_examples() -> None:
    """Documents the reference formula with the two figures the issue quotes for SCALE-Sim."""
    assert scalesim_ws_cycles(16, 16, 128, 256, 128) == 22271
    assert scalesim_ws_cycles(8, 8, 64, 64, 64) == 5503


@pytest.mark.parametrize("rows, cols", [(1, 1), (2, 3), (4, 4)])
def test_busy_pes_follow_the_skew(rows: int, cols: int) -> None:
    """Brute force over PEs: PE (r, c) works in cycle t on the row driven in cycle t - r - c."""
    config = SystolicConfig(rows=rows, cols=cols, weight=DINT4)
    valid = np.random.default_rng(3).integers(0, 2, 40)
    busy = config.busy_units({"x_valid": valid[:, None]})
    want = [sum(int(t - r - c >= 0 and valid[t - r - c]) for r in range(rows)
                for c in range(cols)) for t in range(len(valid))]
    assert busy.tolist() == want


def test_steady_window_of_a_back_to_back_stream() -> None:
    """Two tiles of M rows start at cycle R and run back to back: the array is full from
    R + (R + C - 2) until the last row, driven at R + 2M - 1, leaves PE (0, 0)."""
    config = SystolicConfig(rows=3, cols=2, weight=DINT4)
    m = 20
    trace = schedule_gemm(config, np.ones((m, 6), dtype=np.int64),
                          np.ones((6, 2), dtype=np.int64)).trace
    assert config.steady_window(trace.inputs) == (3 + 3 + 2 - 2, 3 + 2 * m)


def test_a_stream_that_never_fills_the_array_has_no_steady_window() -> None:
    config = SystolicConfig(rows=4, cols=4, weight=DINT4)
    valid = np.array([0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0])
    with pytest.raises(ValueError, match=r"^the stream never keeps all 16 multipliers busy at "
                                         r"once, so it has no steady-state window$"):
        config.steady_window({"x_valid": valid[:, None]})
