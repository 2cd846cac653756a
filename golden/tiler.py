"""Host side of the systolic array: map any ``C = A @ W`` onto it, cycle by cycle.

A is M x K activation codes, W is K x N weight codes. K is cut into ``ceil(K/R)`` K-tiles of R
rows and N into ``ceil(N/C)`` N-tiles of C columns (both zero-padded: code 0 is the value 0 in
every qmac format). Each (N-tile, K-tile) pair, and with an accumulator each block of at most
``acc_depth`` rows of A, is one *tile*: R weight loads into one bank, then its rows of A
back to back. Tiles alternate banks and follow each other as ``SystolicConfig.tile_starts``
allows, so the next tile's weights load while the current tile computes.

Order: for each N-tile, (with an accumulator: for each block of A rows,) for each K-tile.

* No accumulator: every K-tile's C sums stream out on ``y`` (reduced to ``acc_bits`` by the
  overflow mode) and the host adds them in K-tile order: ``acc = overflow(acc + y)``.
* Accumulator: the first K-tile of a block overwrites row ``i`` of the accumulator, later ones
  add to it with the overflow mode, the last one emits it.

Either way the result is ``ktile_gemm``: the overflow mode applied after each K-tile sum of R
products, not after each product as in ``golden.arith.gemm``. With wrap the two are equal (wrap
is modular); with saturation they are equal whenever no partial sum leaves the ``acc_bits``
range, and whenever each output's products share one sign (the sequential sums are then
monotone and both clip the exact sum once). They can differ otherwise: a K-tile may carry a sum
out of range and back within R products, which the sequential MAC would have clipped. Both
statements assume the column chain is exact (``psum_bits`` at its default) and ``acc_bits`` is
at least that width, which the default widths satisfy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from golden.arith import (MAX_ACC_BITS, Overflow, apply_overflow, check_acc_bits, gemm,
                          gemm_operands)
from golden.checks import check_int
from golden.formats import INT8, Format
from golden.trace import PortTrace

if TYPE_CHECKING:
    from golden.systolic import SystolicConfig

__all__ = ["Tile", "TiledGemm", "plan_tiles", "schedule_gemm", "ktile_gemm"]

@dataclass(frozen=True)
class Tile:
    """Rows ``m0 .. m0 + rows - 1`` of A against K-tile ``kt`` and N-tile ``nt`` of W."""

    nt: int
    kt: int
    m0: int
    rows: int
    first: bool
    last: bool


@dataclass(frozen=True)
class TiledGemm:
    """A scheduled GEMM: its tiles, their start cycles, the port trace and the result."""

    tiles: tuple[Tile, ...]
    starts: tuple[int, ...]
    trace: PortTrace
    result: np.ndarray

    @property
    def cycles(self) -> int:
        """Cycles from the first weight load to the last result row, inclusive."""
        return self.trace.cycles


def plan_tiles(config: SystolicConfig, m: int, k: int, n: int) -> list[Tile]:
    """The tiles of an M x K by K x N GEMM in stream order."""
    k_tiles, n_tiles = -(-k // config.rows), -(-n // config.cols)
    block = config.acc_depth or m
    tiles = []
    for nt in range(n_tiles):
        for m0 in range(0, m, block):
            rows = min(block, m - m0)
            tiles += [Tile(nt, kt, m0, rows, kt == 0, kt == k_tiles - 1) for kt in range(k_tiles)]
    return tiles


def schedule_gemm(config: SystolicConfig, a_codes: np.ndarray, w_codes: np.ndarray) -> TiledGemm:
    """Build the input stream of ``A @ W``, run the cycle model on it and reassemble C."""
    a_codes, w_codes = gemm_operands(a_codes, w_codes)
    a_codes = config.act.check_codes(a_codes, "a_codes")
    w_codes = config.weight.check_codes(w_codes, "w_codes")
    (m, k), n = a_codes.shape, w_codes.shape[1]
    if 0 in (m, k, n):
        raise ValueError(f"a_codes and w_codes must not be empty, not shapes {a_codes.shape} "
                         f"and {w_codes.shape}")
    rows, cols = config.rows, config.cols
    k_pad, n_pad = -(-k // rows) * rows, -(-n // cols) * cols
    a = np.zeros((m, k_pad), dtype=np.int64)
    a[:, :k] = a_codes
    w = np.zeros((k_pad, n_pad), dtype=np.int64)
    w[:k, :n] = w_codes

    tiles = plan_tiles(config, m, k, n)
    starts = config.tile_starts([t.rows for t in tiles])
    cycles = starts[-1] + tiles[-1].rows + config.latency
    inputs = {p.name: np.zeros((cycles, p.lanes), dtype=np.int64)
              for p in config.ports if p.direction == "in"}
    for j, (tile, start) in enumerate(zip(tiles, starts)):
        bank = j % 2
        load = slice(start - rows, start)
        w_tile = w[tile.kt * rows:(tile.kt + 1) * rows, tile.nt * cols:(tile.nt + 1) * cols]
        inputs["w"][load] = w_tile[::-1]
        inputs["w_load"][load] = 1
        inputs["w_bank"][load] = bank
        span = slice(start, start + tile.rows)
        inputs["x"][span] = a[tile.m0:tile.m0 + tile.rows, tile.kt * rows:(tile.kt + 1) * rows]
        inputs["x_valid"][span] = 1
        inputs["x_bank"][span] = bank
        if config.acc_depth:
            inputs["x_addr"][span, 0] = np.arange(tile.rows)
            inputs["x_first"][span] = int(tile.first)
            inputs["x_last"][span] = int(tile.last)
    trace = config.trace(inputs, macs=m * n * k)

    result = np.zeros((m, n_pad), dtype=np.int64)
    y, y_valid = trace.expected["y"], trace.expected["y_valid"][:, 0]
    for tile, start in zip(tiles, starts):
        if config.acc_depth and not tile.last:
            continue
        out = slice(start + config.latency, start + config.latency + tile.rows)
        if not y_valid[out].all():
            raise AssertionError(f"schedule error: tile {tile} has no valid output in cycles "
                                 f"{out.start}..{out.stop - 1}")
        block = (slice(tile.m0, tile.m0 + tile.rows), slice(tile.nt * cols, (tile.nt + 1) * cols))
        if tile.first or config.acc_depth:
            result[block] = y[out]
        else:
            result[block] = apply_overflow(result[block] + y[out], config.acc_bits,
                                           config.overflow)
    return TiledGemm(tuple(tiles), tuple(starts), trace, result[:, :n])


def ktile_gemm(a_codes: np.ndarray, w_codes: np.ndarray, weight: Format | str, acc_bits: int,
               overflow: Overflow | str, rows: int, act: Format | str = INT8) -> np.ndarray:
    """``A @ W`` with the overflow mode applied after each exact K-tile sum of ``rows`` products."""
    check_int("rows", rows, 1)
    check_acc_bits(acc_bits, weight, act)
    overflow = Overflow.parse(overflow)
    a_codes, w_codes = gemm_operands(a_codes, w_codes)
    acc = np.zeros((a_codes.shape[0], w_codes.shape[1]), dtype=np.int64)
    for k0 in range(0, a_codes.shape[1], rows):
        part = gemm(a_codes[:, k0:k0 + rows], w_codes[k0:k0 + rows], weight, MAX_ACC_BITS,
                    Overflow.WRAP, act)
        acc = apply_overflow(acc + part, acc_bits, overflow)
    return acc
