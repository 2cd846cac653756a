"""The host tiler: any GEMM through the array's cycle model equals the golden arithmetic."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from golden.arith import Overflow, gemm
from golden.formats import get_format
from golden.systolic import SystolicConfig
from golden.tiler import ktile_gemm, plan_tiles, schedule_gemm


def _codes(config: SystolicConfig, rng: np.random.Generator, m: int, k: int, n: int):
    return (rng.integers(config.act.code_min, config.act.code_max + 1, (m, k)),
            rng.integers(config.weight.code_min, config.weight.code_max + 1, (k, n)))


GRID = [
    (2, 2, 0, "dint4"), (3, 5, 0, "int8"), (4, 4, 0, "int4"), (4, 4, 4, "dint4"),
    (2, 3, 3, "int8"), (5, 2, 16, "dint4f2"),
]


@pytest.mark.parametrize("rows, cols, depth, weight", GRID)
@pytest.mark.parametrize("m, k, n", [(1, 1, 1), (1, 13, 11), (9, 7, 5), (23, 10, 3)])
def test_wrap_result_equals_golden_gemm(rows, cols, depth, weight, m, k, n) -> None:
    config = SystolicConfig(rows, cols, weight, acc_depth=depth)
    rng = np.random.default_rng(rows * 1000 + m * k * n)
    a, w = _codes(config, rng, m, k, n)
    scheduled = schedule_gemm(config, a, w)
    assert np.array_equal(scheduled.result, gemm(a, w, config.weight, config.acc_bits))
    assert scheduled.trace.macs == m * n * k


@pytest.mark.parametrize("depth", [0, 3])
@pytest.mark.parametrize("overflow", ["wrap", "saturate"])
def test_narrow_accumulator_equals_ktile_overflow(depth: int, overflow: str) -> None:
    """Sums that overflow ``acc_bits`` match the overflow mode applied per K-tile sum."""
    config = SystolicConfig(3, 2, "int8", acc_bits=17, overflow=overflow, acc_depth=depth)
    rng = np.random.default_rng(11)
    a, w = _codes(config, rng, 7, 20, 5)
    a[:3] = -128
    w[:, 0], w[:, 1] = -128, 127
    scheduled = schedule_gemm(config, a, w)
    expected = ktile_gemm(a, w, config.weight, 17, overflow, 3)
    exact = ktile_gemm(a, w, config.weight, 48, "wrap", 3)
    assert np.abs(exact).max() >= 1 << 16, "stimulus never leaves the accumulator range"
    assert np.array_equal(scheduled.result, expected)
    if overflow == "wrap":
        assert np.array_equal(scheduled.result, gemm(a, w, config.weight, 17, Overflow.WRAP))


def test_saturation_equals_sequential_mac_when_products_share_a_sign() -> None:
    config = SystolicConfig(4, 3, "dint4", acc_bits=14, overflow="saturate")
    rng = np.random.default_rng(2)
    a = rng.integers(0, 128, (6, 30))
    w = rng.integers(0, 8, (30, 4))
    result = schedule_gemm(config, a, w).result
    assert result.max() == (1 << 13) - 1
    assert np.array_equal(result, gemm(a, w, config.weight, 14, Overflow.SATURATE))


def test_saturation_differs_from_sequential_mac_inside_a_ktile() -> None:
    """A K-tile whose sum leaves the range and returns is clipped by the MAC, not by the array."""
    config = SystolicConfig(4, 1, "int8", acc_bits=16, overflow="saturate")
    a = np.array([[-128, -128, 127, 0]])
    w = np.array([[-128], [-128], [-128], [0]])
    array = schedule_gemm(config, a, w).result
    assert array.tolist() == ktile_gemm(a, w, config.weight, 16, "saturate", 4).tolist()
    assert array.tolist() == [[16384 + 16384 - 16256]]
    assert gemm(a, w, config.weight, 16, Overflow.SATURATE).tolist() == [[32767 - 16256]]


def test_narrow_psum_wraps_and_wrap_mode_still_equals_gemm() -> None:
    """A column chain narrower than exact but at least ``acc_bits`` wide still wraps correctly."""
    config = SystolicConfig(4, 2, "int8", psum_bits=17, acc_bits=17)
    assert config.psum_bits < config.exact_psum_bits
    rng = np.random.default_rng(4)
    a, w = np.full((3, 8), -128), rng.integers(-128, -100, (8, 3))
    assert np.array_equal(schedule_gemm(config, a, w).result, gemm(a, w, config.weight, 17))


def test_plan_orders_ktiles_innermost() -> None:
    config = SystolicConfig(2, 2, "int8", acc_depth=3)
    tiles = plan_tiles(config, 7, 5, 3)
    assert [(t.nt, t.m0, t.kt, t.rows) for t in tiles[:4]] == \
        [(0, 0, 0, 3), (0, 0, 1, 3), (0, 0, 2, 3), (0, 3, 0, 3)]
    assert len(tiles) == 2 * 3 * 3
    assert [t.first for t in tiles[:3]] == [True, False, False]
    assert [t.last for t in tiles[:3]] == [False, False, True]
    assert tiles[-1].rows == 1


@pytest.mark.parametrize("a_shape, w_shape, message", [
    ((2, 3), (4, 2), r"^w_codes must have 3 rows to match a_codes' 3 columns, not shape \(4, 2\)$"),
    ((3,), (3, 2), r"^a_codes must be 2-D, not shape \(3,\)$"),
    ((0, 3), (3, 2), r"^a_codes and w_codes must not be empty"),
])
def test_schedule_rejects_bad_shapes(a_shape, w_shape, message) -> None:
    config = SystolicConfig(2, 2, "int8")
    with pytest.raises(ValueError, match=message):
        schedule_gemm(config, np.zeros(a_shape, dtype=np.int64), np.zeros(w_shape, dtype=np.int64))


def test_schedule_rejects_codes_outside_the_format() -> None:
    config = SystolicConfig(2, 2, "dint4")
    message = r"^w_codes holds code 8, outside dint4's range \[-8, 7\]$"
    with pytest.raises(ValueError, match=message):
        schedule_gemm(config, np.zeros((1, 2), dtype=np.int64), np.full((2, 2), 8))


def test_gemm_trace_is_the_tiled_stream() -> None:
    config = SystolicConfig(3, 3, get_format("int4"))
    rng = np.random.default_rng(8)
    a, w = _codes(config, rng, 4, 7, 5)
    trace = config.gemm_trace(a, w)
    assert trace.macs == 4 * 7 * 5
    assert trace.cycles == schedule_gemm(config, a, w).cycles
    assert trace.first_mismatch(trace.expected) is None


@settings(max_examples=60, deadline=None, derandomize=True)
@given(rows=st.integers(1, 5), cols=st.integers(1, 5), depth=st.integers(0, 4),
       m=st.integers(1, 12), k=st.integers(1, 14), n=st.integers(1, 9),
       weight=st.sampled_from(["int8", "int4", "dint4", "dint3", "int2"]),
       seed=st.integers(0, 2**32 - 1))
def test_any_shape_on_any_array_equals_gemm(rows, cols, depth, m, k, n, weight, seed) -> None:
    """Random arrays and shapes (ragged tiles, short tiles that stall on the bank rule)."""
    config = SystolicConfig(rows, cols, weight, acc_depth=depth)
    a, w = _codes(config, np.random.default_rng(seed), m, k, n)
    scheduled = schedule_gemm(config, a, w)
    assert np.array_equal(scheduled.result, gemm(a, w, config.weight, config.acc_bits))
    if not depth or m <= depth or m % depth == 0:
        assert scheduled.cycles == config.gemm_cycles(m, k, n)


def test_ktile_gemm_rejects_mismatched_depth() -> None:
    """Slicing K by tiles must not hide a W with more rows than A has columns."""
    a, w = np.ones((2, 4), dtype=np.int64), np.ones((8, 3), dtype=np.int64)
    with pytest.raises(ValueError, match=r"^w_codes must have 4 rows to match a_codes' 4 "
                                         r"columns, not shape \(8, 3\)$"):
        ktile_gemm(a, w, get_format("dint4"), 24, "wrap", 4)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"rows": -1}, r"^rows must be a positive integer, not -1$"),
    ({"rows": 0}, r"^rows must be a positive integer, not 0$"),
    ({"acc_bits": 1}, r"^acc_bits must be an integer in \[12, 48\] for dint4 x int8 "
                      r"\(one product needs 12 bits\), not 1$"),
    ({"overflow": "clip"}, r"^overflow must be one of \['wrap', 'saturate'\], not 'clip'$"),
])
def test_ktile_gemm_rejects_bad_parameters(kwargs: dict, message: str) -> None:
    """Before: rows=-1 returned zeros and acc_bits=1 was accepted."""
    args = {"a_codes": np.ones((2, 4), dtype=np.int64), "w_codes": np.ones((4, 3), dtype=np.int64),
            "weight": "dint4", "acc_bits": 24, "overflow": "wrap", "rows": 2} | kwargs
    with pytest.raises(ValueError, match=message):
        ktile_gemm(**args)


def test_ktile_gemm_takes_a_format_name() -> None:
    a, w = np.ones((2, 4), dtype=np.int64), np.full((4, 3), 7, dtype=np.int64)
    np.testing.assert_array_equal(ktile_gemm(a, w, "dint4", 24, "wrap", 2),
                                  gemm(a, w, get_format("dint4"), 24))
