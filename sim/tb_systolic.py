"""cocotb regression of the systolic array: tiled GEMMs, zeros, extreme codes, overflow corners.

Run through ``sim.runner.run_cocotb`` (``QMAC_CONFIG``, ``QMAC_SEED``). ``QMAC_GEMM`` = ``MxKxN``
replaces the random GEMM shapes with one random GEMM of that shape (the benchmark uses it). This
module makes stimulus only; every expected value and cycle comes from ``golden.tiler`` and
``SystolicConfig``.
"""

from __future__ import annotations

import os

import cocotb
import numpy as np

from golden.arith import MAX_ACC_BITS, Overflow, acc_range, gemm, product_range
from golden.designs import config_from_json
from golden.systolic import SystolicConfig
from golden.tiler import schedule_gemm
from golden.trace import PortTrace
from sim.driver import check_trace, drive_trace
from sim.stimulus import extreme_codes as format_extremes
from sim.stimulus import load_plugins, scaled, uniform_codes

def _config() -> SystolicConfig:
    load_plugins()
    return config_from_json(os.environ["QMAC_CONFIG"])


def _rng() -> np.random.Generator:
    return np.random.default_rng(int(os.environ["QMAC_SEED"]))


def random_codes(config: SystolicConfig, rng: np.random.Generator, m: int, k: int,
                 n: int) -> tuple[np.ndarray, np.ndarray]:
    """Uniform finite activation and weight codes (specials included, equally likely)."""
    a = uniform_codes(config.act, rng, (m, k))
    w = uniform_codes(config.weight, rng, (k, n))
    return a, w


def gemm_shapes(config: SystolicConfig, rng: np.random.Generator) -> list[tuple[int, int, int]]:
    """Multi-tile shapes: K > R and N > C (ragged), with M = 1 and M well above the fill time."""
    rows, cols = config.rows, config.cols
    k = 2 * rows + int(rng.integers(1, rows + 1))
    n = cols + int(rng.integers(1, cols + 1))
    large = 2 * rows + cols + int(rng.integers(0, 8))
    if config.acc_depth:
        large = min(large, 2 * config.acc_depth + 1)
    return [(1, k, n), (large, k, n)]


def extreme_codes(config: SystolicConfig) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of an extreme weight code and an extreme activation in every PE.

    The pools are ``sim.stimulus.extreme_codes`` of each format (INT: both ends of the code
    range and of the grid, dINT's special codes, -1, 0, 1). Tile t puts weight code
    ``(t + r + c) mod P`` in PE (r, c), and each tile streams every activation code past it.
    """
    w_pool = format_extremes(config.weight)
    a_pool = format_extremes(config.act)
    rows, cols, tiles = config.rows, config.cols, len(w_pool)
    r, c, t = np.meshgrid(np.arange(rows), np.arange(cols), np.arange(tiles), indexing="ij")
    w = np.zeros((tiles * rows, cols), dtype=np.int64)
    w[t * rows + r, c] = np.asarray(w_pool)[(t + r + c) % tiles]
    m, k = np.meshgrid(np.arange(len(a_pool)), np.arange(tiles * rows), indexing="ij")
    return np.asarray(a_pool)[(m + k) % len(a_pool)], w


CORNER_MAX_TILES = 64


def corner_products(config: SystolicConfig) -> int:
    """Extreme products of one sign needed to pass ``acc_bits``' bound, plus one K-tile."""
    lo, hi = product_range(config.weight, config.act)
    return -(-(1 << (config.acc_bits - 1)) // min(-lo, hi)) + config.rows


def corners_reachable(config: SystolicConfig) -> bool:
    return corner_products(config) <= CORNER_MAX_TILES * config.rows


def corner_codes(config: SystolicConfig, sign: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Every product the extreme of one sign, over enough K-tiles to pass ``acc_bits``' bound."""
    lo, hi = product_range(config.weight, config.act)
    target = hi if sign > 0 else lo
    w_code, x_code = next((w, x) for w in config.weight.finite_codes.tolist()
                          for x in config.act.finite_codes.tolist()
                          if int(scaled(config.weight, w)) * int(scaled(config.act, x)) == target)
    k = min(corner_products(config), CORNER_MAX_TILES * config.rows)
    return np.full((m, k), x_code, dtype=np.int64), np.full((k, 2), w_code, dtype=np.int64)


async def _check(dut: object, trace: PortTrace, label: str) -> None:
    observed = await drive_trace(dut, trace, label)
    check_trace(trace, observed)


async def _run_gemm(dut: object, config: SystolicConfig, a: np.ndarray, w: np.ndarray,
                    label: str) -> None:
    await _check(dut, config.gemm_trace(a, w), label)


@cocotb.test()
async def tiled_gemm(dut: object) -> None:
    """Random multi-tile GEMMs (or the one ``QMAC_GEMM`` names), bit- and cycle-exact."""
    config, rng = _config(), _rng()
    shape = os.environ.get("QMAC_GEMM")
    if shape:
        m, k, n = (int(v) for v in shape.split("x"))
        a, w = random_codes(config, rng, m, k, n)
        await _run_gemm(dut, config, a, w, f"gemm {shape}")
        return
    for m, k, n in gemm_shapes(config, rng):
        a, w = random_codes(config, rng, m, k, n)
        await _run_gemm(dut, config, a, w, f"gemm {m}x{k}x{n}")


@cocotb.test()
async def all_zero(dut: object) -> None:
    """Zero activations and weights: every output 0, valid exactly where scheduled."""
    config = _config()
    m, k, n = 3, 2 * config.rows, 2 * config.cols
    await _run_gemm(dut, config, np.zeros((m, k), dtype=np.int64),
                    np.zeros((k, n), dtype=np.int64), "zeros")


@cocotb.test()
async def extreme_codes_gemm(dut: object) -> None:
    """Every dINT special code, INT8 -128 and the other grid ends in every PE position."""
    config = _config()
    a, w = extreme_codes(config)
    await _run_gemm(dut, config, a, w, "extremes")


@cocotb.test()
async def overflow_corners(dut: object) -> None:
    """Sums driven past +max and -max of ``acc_bits`` (wrap or saturation), where reachable."""
    config = _config()
    m = min(2, config.acc_depth) if config.acc_depth else 2
    lo, hi = acc_range(config.acc_bits)
    for sign in (1, -1):
        a, w = corner_codes(config, sign, m)
        scheduled = schedule_gemm(config, a, w)
        if corners_reachable(config):
            exact = int(gemm(a, w, config.weight, MAX_ACC_BITS, Overflow.WRAP, config.act)[0, 0])
            bound = hi if sign > 0 else lo
            assert not lo <= exact <= hi, f"corner stimulus sum {exact} stays inside [{lo}, {hi}]"
            if config.overflow is Overflow.SATURATE:
                assert int(scheduled.result[0, 0]) == bound, \
                    f"golden result {scheduled.result[0, 0]} is not the bound {bound}"
        await _check(dut, scheduled.trace, f"corner {sign:+d}")
