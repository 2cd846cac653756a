"""Cycle model of the weight-stationary systolic array: the specification ``hw.systolic`` meets.

An R x C array (R reduction rows, C output columns) of processing elements (PEs). PE (r, c)
holds a weight code in each of two banks; every cycle it multiplies the activation arriving from
its left neighbour by the weight of the bank named by the bank bit that travels with that
activation, adds the partial sum arriving from above, and registers activation, bank bit and sum.

Ports (cycle convention of ``golden.trace``):

* ``x`` (in, R lanes of activation-format codes, ``act_bits`` wide): one row of A (its K-slice
  for the current tile) per cycle; ``x_valid`` marks a row, ``x_bank`` names the weight bank it
  multiplies with. With an output accumulator (``acc_depth > 0``) ``x_addr`` names the
  accumulator row, ``x_first`` starts it from zero and ``x_last`` emits it.
* ``w`` (in, C lanes of the weight format), ``w_load``, ``w_bank``: shift one weight row into
  bank ``w_bank`` of PE row 0 while every PE row passes that bank's weights one row down; R loads
  fill a bank, the first row loaded ending in PE row R-1.
* ``y`` (out, C lanes of ``acc_bits``), ``y_valid``: one row of results.

Input row ``r`` of ``x`` is delayed ``r`` cycles by the ``skew`` edge logic, so PE (r, c) sees
the row driven in cycle T during cycle T + r + c; the bottom PE of column c registers the
column's sum at the end of cycle T + R - 1 + c; the ``deskew`` logic delays column c by
C - 1 - c cycles and the output stage registers ``y``: ``latency = R + C``.

The column chain is ``psum_bits`` wide and wraps; the default width holds R extreme products
exactly, so it never does. The output stage reduces each column sum to ``acc_bits`` with the
overflow mode (without accumulator) or adds it to accumulator row ``x_addr`` with the overflow
mode (with one): the overflow mode acts on whole K-tile sums, see ``golden.tiler``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from golden.arith import MAX_ACC_BITS, Overflow, apply_overflow, product_range, signed_bits
from golden.checks import check_int
from golden.datapath import DEFAULT_PRODUCT, Datapath
from golden.formats import Format
from golden.tiler import schedule_gemm
from golden.trace import Port, PortTrace, input_arrays

__all__ = ["SystolicConfig", "scalesim_ws_cycles"]

MAX_EDGE = 64
MAX_ACC_DEPTH = 4096


def scalesim_ws_cycles(rows: int, cols: int, m: int, k: int, n: int) -> int:
    """SCALE-Sim's weight-stationary compute cycles: folds run one after another.

    Each of ``F = ceil(K/R) * ceil(N/C)`` folds fills the weights (R cycles), streams M skewed
    rows and drains (R + C - 2 cycles): ``F * (2R + C + M - 2) - 1``.
    """
    folds = -(-k // rows) * -(-n // cols)
    return folds * (2 * rows + cols + m - 2) - 1


@dataclass(frozen=True)
class SystolicConfig(Datapath):
    """Parameters of an array; ``hw.systolic.SystolicArray`` is generated from exactly these."""

    rows: int
    cols: int
    weight: Format
    act_bits: int | None = None
    psum_bits: int | None = None
    acc_bits: int | None = None
    overflow: Overflow = Overflow.WRAP
    acc_depth: int = 0
    product: str = DEFAULT_PRODUCT
    act: Format | str | None = None

    kind = "systolic"

    def __post_init__(self) -> None:
        check_int("rows", self.rows, 1, MAX_EDGE)
        check_int("cols", self.cols, 1, MAX_EDGE)
        self._check_datapath()
        check_int("acc_depth", self.acc_depth, 0, MAX_ACC_DEPTH)
        if self.psum_bits is None:
            object.__setattr__(self, "psum_bits", self.exact_psum_bits)
        check_int("psum_bits", self.psum_bits, self.product_bits, MAX_ACC_BITS)

    @property
    def exact_psum_bits(self) -> int:
        """Width that holds the sum of R extreme products: the column chain never wraps."""
        lo, hi = product_range(self.weight, self.act)
        return signed_bits(self.rows * lo, self.rows * hi)

    @property
    def addr_bits(self) -> int:
        return max(1, (self.acc_depth - 1).bit_length())

    @property
    def macs_per_cycle(self) -> int:
        return self.rows * self.cols

    @property
    def latency(self) -> int:
        """Edges from a row on ``x`` to its results on ``y``: skew, PE grid, deskew, output."""
        return self.rows + self.cols

    def busy_units(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """PEs multiplying a valid row in each cycle: PE (r, c) works on the row driven r + c
        cycles earlier (the skew), so a stream fills the array R + C - 2 cycles after it starts."""
        valid = np.asarray(inputs["x_valid"], dtype=np.int64).reshape(-1)
        busy = np.zeros_like(valid)
        for delay in range(self.rows + self.cols - 1):
            pes = sum(1 for r in range(self.rows) if 0 <= delay - r < self.cols)
            busy[delay:] += pes * valid[:len(valid) - delay]
        return busy

    @property
    def bank_reuse_cycles(self) -> int:
        """Cycles after a tile's last row is driven until its bank may take its first new load.

        The last row reaches PE (R-1, C-1) R + C - 2 cycles after it is driven; a load shifts
        every PE row of the bank at once, so it may only start in that cycle (the PE registers
        its sum at the same edge that shifts the weight away).
        """
        return self.rows + self.cols - 2

    @property
    def name(self) -> str:
        acc = f"_d{self.acc_depth}" if self.acc_depth else ""
        return (f"systolic_{self.rows}x{self.cols}_{self.weight.name}_x_{self.act.name}"
                f"_psum{self.psum_bits}_acc{self.acc_bits}_{self.overflow.value}{acc}"
                f"{self.product_suffix}")

    def params(self) -> dict:
        return {"kind": self.kind, "rows": self.rows, "cols": self.cols,
                "weight": self.weight.name, "act": self.act.name, "act_bits": self.act_bits,
                "psum_bits": self.psum_bits, "acc_bits": self.acc_bits,
                "overflow": self.overflow.value, "acc_depth": self.acc_depth,
                "product": self.product}

    @property
    def ports(self) -> tuple[Port, ...]:
        accum = (Port("x_first", "in", 1), Port("x_last", "in", 1),
                 Port("x_addr", "in", self.addr_bits)) if self.acc_depth else ()
        return (Port("x", "in", self.act_bits, self.rows, signed=self.act.signed),
                Port("x_valid", "in", 1), Port("x_bank", "in", 1), *accum,
                Port("w", "in", self.weight.bits, self.cols, signed=self.weight.signed),
                Port("w_load", "in", 1), Port("w_bank", "in", 1),
                Port("y", "out", self.acc_bits, self.cols, signed=True),
                Port("y_valid", "out", 1))

    def tile_starts(self, tile_rows: list[int]) -> list[int]:
        """First-row cycle of each tile of a back-to-back stream (the double-buffer rule).

        Tile j uses bank j % 2; its R weight loads take the R cycles just before its first row.
        Loading may not start before the previous load ended (one load port) nor before tile
        j - 2, the last user of the same bank, cleared the array (``bank_reuse_cycles``).
        """
        rows = self.rows
        starts: list[int] = []
        for j, count in enumerate(tile_rows):
            if count < 1:
                raise ValueError(f"tile_rows must be positive, not {count!r} (tile {j})")
            start = rows
            if j >= 1:
                start = max(starts[j - 1] + tile_rows[j - 1], starts[j - 1] + rows)
            if j >= 2:
                last_row = starts[j - 2] + tile_rows[j - 2] - 1
                start = max(start, last_row + self.bank_reuse_cycles + rows)
            starts.append(start)
        return starts

    def gemm_cycles(self, m: int, k: int, n: int) -> int:
        """Cycles from the first weight load to the last result row of ``A @ W``, in closed form.

        With ``F`` tiles of ``M`` rows each (``M`` = m, or the accumulator depth when m is a
        multiple of it), ``a = max(M, R)`` and ``b = M + 2R + C - 3``, tile j starts at
        ``R + (j // 2) * max(2a, b) + (j % 2) * a``; the stream ends ``M + latency`` later.
        """
        for param, value in (("m", m), ("k", k), ("n", n)):
            check_int(param, value, 1, 1 << 30)
        block = m
        if self.acc_depth and m > self.acc_depth:
            if m % self.acc_depth:
                raise ValueError(
                    f"m must be at most acc_depth ({self.acc_depth}) or a multiple of it for the "
                    f"closed form, not {m}; golden.tiler reports the count of ragged blocks")
            block = self.acc_depth
        tiles = -(-k // self.rows) * -(-n // self.cols) * (m // block)
        a = max(block, self.rows)
        b = block + 2 * self.rows + self.cols - 3
        last = tiles - 1
        return self.rows + (last // 2) * max(2 * a, b) + (last % 2) * a + block + self.latency

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Outputs, cycle by cycle, for ``inputs`` shaped (cycles, lanes), from reset.

        Every register of the RTL is modelled, so ``y`` matches in every cycle, not only where
        ``y_valid`` is set.
        """
        rows, cols = self.rows, self.cols
        x = self.act.decode_scaled(np.asarray(inputs["x"], dtype=np.int64), "x")
        cycles = x.shape[0]
        bank_in = np.asarray(inputs["x_bank"], dtype=np.int64)[:, 0]
        w = self.weight.check_codes(np.asarray(inputs["w"], dtype=np.int64), "w")
        w_load = np.asarray(inputs["w_load"], dtype=np.int64)[:, 0].tolist()
        w_bank = np.asarray(inputs["w_bank"], dtype=np.int64)[:, 0].tolist()

        # PE (r, c) sees in cycle t what was driven on lane r in cycle t - r - c (reset: zeros).
        pad = rows + cols
        x_pad = np.concatenate([np.zeros((pad, rows), dtype=np.int64), x])
        b_pad = np.concatenate([np.zeros(pad, dtype=np.int64), bank_in])
        r_idx, c_idx = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
        delay = pad - r_idx - c_idx
        table, code_min = self.weight.scaled_table, self.weight.code_min

        banks = np.zeros((2, rows, cols), dtype=np.int64)
        psum = np.zeros((rows, cols), dtype=np.int64)
        bottom = np.zeros((cycles, cols), dtype=np.int64)
        for t in range(cycles):
            bottom[t] = psum[-1]
            sel = b_pad[t + delay]
            codes = np.where(sel == 1, banks[1], banks[0])
            products = table[codes - code_min] * x_pad[t + delay, r_idx]
            psum[1:] = psum[:-1] + products[1:]
            psum[0] = products[0]
            if self.psum_bits < self.exact_psum_bits:
                psum = apply_overflow(psum, self.psum_bits, Overflow.WRAP)
            if w_load[t]:
                b = w_bank[t]
                banks[b, 1:] = banks[b, :-1]
                banks[b, 0] = w[t]

        # Column c is delayed C - 1 - c more cycles so a row's C sums leave together.
        aligned = np.zeros((cycles, cols), dtype=np.int64)
        for c in range(cols):
            shift = cols - 1 - c
            aligned[shift:, c] = bottom[:cycles - shift, c]
        ctrl_delay = self.latency - 1
        valid = _delayed(np.asarray(inputs["x_valid"], dtype=np.int64)[:, 0], ctrl_delay)

        y = np.zeros((cycles, cols), dtype=np.int64)
        y_valid = np.zeros((cycles, 1), dtype=np.int64)
        if not self.acc_depth:
            y[1:] = apply_overflow(aligned[:-1], self.acc_bits, self.overflow)
            y_valid[1:, 0] = valid[:-1]
            return {"y": y, "y_valid": y_valid}

        first = _delayed(np.asarray(inputs["x_first"], dtype=np.int64)[:, 0], ctrl_delay)
        last = _delayed(np.asarray(inputs["x_last"], dtype=np.int64)[:, 0], ctrl_delay)
        addr = _delayed(np.asarray(inputs["x_addr"], dtype=np.int64)[:, 0], ctrl_delay)
        rows_used = addr[valid == 1]
        if rows_used.size and int(rows_used.max()) >= self.acc_depth:
            raise ValueError(f"x_addr must be below acc_depth ({self.acc_depth}) on valid rows, "
                             f"not {int(rows_used.max())}")
        memory = np.zeros((self.acc_depth, cols), dtype=np.int64)
        current = np.zeros(cols, dtype=np.int64)
        emitted = 0
        for t in np.flatnonzero(valid[:-1]).tolist():
            y[emitted + 1:t + 1] = current
            base = 0 if first[t] else memory[addr[t]]
            current = apply_overflow(base + aligned[t], self.acc_bits, self.overflow)
            memory[addr[t]] = current
            y_valid[t + 1, 0] = last[t]
            emitted = t
        y[emitted + 1:] = current
        return {"y": y, "y_valid": y_valid}

    def trace(self, inputs: dict[str, np.ndarray], macs: int | None = None) -> PortTrace:
        """The expected response to ``inputs``; ``y`` matters wherever ``y_valid`` is set."""
        inputs = input_arrays(self.ports, inputs)
        expected = self.run(inputs)
        care = {"y": expected["y_valid"][:, 0] == 1,
                "y_valid": np.ones(len(expected["y"]), dtype=bool)}
        if macs is None:
            macs = int(inputs["x_valid"].sum()) * self.rows * self.cols
        return PortTrace(self.ports, inputs, expected, care, macs)

    def gemm_trace(self, a_codes: np.ndarray, w_codes: np.ndarray) -> PortTrace:
        """Stream ``A @ W`` through the array as ``golden.tiler`` schedules it (macs = M*N*K)."""
        return schedule_gemm(self, a_codes, w_codes).trace


def _delayed(values: np.ndarray, cycles: int) -> np.ndarray:
    """``values`` as a register chain ``cycles`` long shows them (zeros from reset)."""
    out = np.zeros_like(values)
    out[cycles:] = values[:max(0, len(values) - cycles)]
    return out
