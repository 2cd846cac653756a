"""Cycle model of the block-scaled MAC: one element pair per cycle, the shared-exponent shift
applied once per block. The specification ``hw.blockmac.BlockMAC`` is checked against.

Ports (cycle convention of ``golden.trace``):

* ``w``, ``x`` (in): element codes of the weight and activation (MX formats);
  ``valid`` (in): add the element product ``(2**fw w)(2**fx x)`` to the block sum this cycle;
* ``sw``, ``sx`` (in, E8M0 codes 0..254): the two block scales, read in the block's ``last``
  cycle (scales travel with their data: the weight scale with the weight tile, the activation
  scale with the activation row);
* ``last`` (in, with ``valid``): this element closes its block: the block sum (this product
  included) is shifted by ``e = sw + sx - 254 + frac_bits - fw - fx`` (left exactly, or right
  arithmetically, dropping the bits below ``2**-frac_bits``) and added to the output accumulator,
  and the block sum restarts at zero; ``clear`` (in, with ``last``): the accumulator restarts
  from this block instead of adding to its old value.
* ``acc`` (out, ``acc_bits`` signed, units ``2**-frac_bits``, wrapping): the output accumulator;
  ``acc_valid`` (out): ``acc`` has just absorbed a block.

Latency 1 (a block's last element to ``acc``); throughput one element pair per cycle. The blocks
of one output visit the accumulator in stream order, so ``golden.blockscaled.block_dot`` with
``overflow="wrap"`` and the same ``acc_bits``/``frac_bits`` gives the same word
(``gemm_trace`` streams a GEMM that way; the tests compare both).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from golden.arith import acc_range, product_range, signed_bits
from golden.blockscaled import E8M0_BIAS, E8M0_NAN, BlockQuantized
from golden.checks import check_int
from golden.datapath import Datapath, check_hardware
from golden.families.blockscaled import SCALE_E8M0, block_params
from golden.formats import Format, as_format
from golden.trace import Port, PortTrace, accumulator_trace

__all__ = ["BlockMACConfig"]

_ACC_BITS = (8, 64)


@dataclass(frozen=True)
class BlockMACConfig:
    """Parameters of a block-scaled MAC; ``hw.blockmac.BlockMAC`` is generated from these.

    ``weight`` and ``act`` are MX formats with E8M0 scales and the same block size whose
    element pair a hardware datapath serves (``golden.datapath.check_hardware``): MXINT8 codes go
    straight into one multiplier, FP elements (``mxfp4``, ``mxfp6*``, ``mxfp8*``) through their
    family's sign-magnitude decoder. ``acc_bits`` in 8..64, ``frac_bits`` >= 0.
    """

    weight: Format | str
    act: Format | str = "mxint8"
    acc_bits: int = 48
    frac_bits: int = 24

    kind = "block_mac"

    def __post_init__(self) -> None:
        for param in ("weight", "act"):
            fmt = as_format(getattr(self, param), param)
            params = block_params(fmt)
            if params is None or (params["scale_exp_bits"], params["scale_man_bits"]) \
                    != SCALE_E8M0:
                raise ValueError(f"{param} must be an MX format with an E8M0 scale (mxint8, "
                                 f"mxfp4, mxfp6e2m3, mxfp6e3m2, mxfp8e4m3, mxfp8e5m2, with bB), "
                                 f"not {fmt.name!r}")
            object.__setattr__(self, param, fmt)
        check_hardware(self.weight, self.act)
        if self.block != block_params(self.act)["block"]:
            raise ValueError(f"act must have the weight's block size {self.block}, not "
                             f"{self.act.name!r}")
        check_int("acc_bits", self.acc_bits, *_ACC_BITS)
        check_int("frac_bits", self.frac_bits, 0, self.acc_bits - 1)

    @property
    def integer_elements(self) -> bool:
        """Both element codes are their scaled values (MXINT8): one multiplier of the codes."""
        return all(np.array_equal(fmt.scaled_table, fmt.codes) for fmt in (self.weight, self.act))

    @property
    def block(self) -> int:
        return block_params(self.weight)["block"]

    @property
    def sum_bits(self) -> int:
        """Width of the exact block sum (one block's products)."""
        lo, hi = product_range(self.weight, self.act)
        return signed_bits(self.block * lo, self.block * hi)

    @property
    def shift_offset(self) -> int:
        """``e - sw - sx``: the constant part of the block's alignment shift."""
        return self.frac_bits - 2 * E8M0_BIAS - self.weight.shift - self.act.shift

    @property
    def latency(self) -> int:
        return 1

    @property
    def macs_per_cycle(self) -> int:
        return 1

    @property
    def name(self) -> str:
        return (f"blockmac_{self.weight.name}_x_{self.act.name}_acc{self.acc_bits}"
                f"f{self.frac_bits}")

    def params(self) -> dict:
        return {"kind": self.kind, "weight": self.weight.name, "act": self.act.name,
                "acc_bits": self.acc_bits, "frac_bits": self.frac_bits}

    @property
    def ports(self) -> tuple[Port, ...]:
        return (Port("w", "in", self.weight.bits, signed=self.weight.signed),
                Port("x", "in", self.act.bits, signed=self.act.signed),
                Port("sw", "in", 8), Port("sx", "in", 8),
                Port("valid", "in", 1), Port("last", "in", 1), Port("clear", "in", 1),
                Port("acc", "out", self.acc_bits, signed=True), Port("acc_valid", "out", 1))

    def align(self, block_sum: int, sw: int, sx: int) -> int:
        """The block sum shifted to the accumulator's fixed point (right shifts floor)."""
        shift = sw + sx + self.shift_offset
        return block_sum << shift if shift >= 0 else block_sum >> -shift

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Outputs, cycle by cycle, for the given (cycles, 1) input arrays, from reset."""
        w = self.weight.decode_scaled(inputs["w"][:, 0], "w")
        x = self.act.decode_scaled(inputs["x"][:, 0], "x")
        for name in ("sw", "sx"):
            scales = inputs[name][:, 0]
            if scales.size and (scales.min() < 0 or scales.max() >= E8M0_NAN):
                raise ValueError(f"{name} must hold E8M0 codes in [0, {E8M0_NAN - 1}] (255 is "
                                 "NaN)")
        lo, hi = acc_range(self.acc_bits)
        cycles = len(w)
        acc_out = np.zeros((cycles, 1), dtype=np.int64)
        valid_out = np.zeros((cycles, 1), dtype=np.int64)
        acc = block_sum = 0
        for t, (product, valid, last, clear, sw, sx) in enumerate(zip(
                (w * x).tolist(), *(inputs[n][:, 0].tolist()
                                    for n in ("valid", "last", "clear", "sw", "sx")))):
            acc_out[t, 0] = acc
            if t:
                valid_out[t, 0] = closed
            closed = int(bool(valid and last))
            if not valid:
                continue
            block_sum += product
            if last:
                total = (0 if clear else acc) + self.align(block_sum, sw, sx)
                acc, block_sum = (total - lo) % (hi - lo + 1) + lo, 0
        return {"acc": acc_out, "acc_valid": valid_out}

    def busy_units(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """The multiplier is busy in every cycle that feeds it a valid element pair."""
        return np.asarray(inputs["valid"])[:, 0]

    steady_window = Datapath.steady_window

    def trace(self, inputs: dict[str, np.ndarray], macs: int | None = None) -> PortTrace:
        """The expected response to ``inputs``; ``acc`` matters wherever ``acc_valid`` is set."""
        return accumulator_trace(self, inputs, macs)

    def gemm_trace(self, a: BlockQuantized, w: BlockQuantized) -> PortTrace:
        """Stream ``a @ w``: per output, its K element pairs in order, each block's scales on
        ``sw``/``sx`` throughout the block, ``last`` on its final element, ``clear`` on the
        first block's; two idle cycles let the last result reach ``acc``."""
        (m, k), n, b = a.codes.shape, w.codes.shape[1], self.block
        rows = np.repeat(np.arange(m), n * k)
        cols = np.tile(np.repeat(np.arange(n), k), m)
        ks = np.tile(np.arange(k), m * n)
        pad = np.zeros(self.latency + 1, dtype=np.int64)
        streams = {"w": w.codes[ks, cols], "x": a.codes[rows, ks],
                   "sw": w.scale_codes[ks // b, cols], "sx": a.scale_codes[rows, ks // b],
                   "valid": np.ones(ks.size), "last": ks % b == b - 1, "clear": ks < b}
        return self.trace({name: np.concatenate([np.asarray(v, dtype=np.int64), pad])
                           for name, v in streams.items()})
