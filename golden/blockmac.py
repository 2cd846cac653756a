"""Cycle model of the block-scaled MAC: one element pair per cycle, the shared-exponent shift
applied once per block. The specification ``hw.blockmac.BlockMAC`` is checked against.

Ports (cycle convention of ``golden.trace``):

* ``w``, ``x`` (in): element codes of the weight and activation;
  ``valid`` (in): add the element product ``(2**fw w)(2**fx x)`` to the block sum this cycle;
* ``sw`` (in, 8 bits), and ``sx`` when the activation is block-scaled too: the block scale codes
  (E8M0 0..254 for MX, FP8 E4M3 0..126 for NVFP4), read in the block's ``last`` cycle (scales
  travel with their data: the weight scale with the weight tile, the activation scale with the
  activation row). An element-wise activation (INT8 per token) has no scale port: its scale
  multiplies the output, outside the MAC.
* ``last`` (in, with ``valid``): this element closes its block: the block sum (this product
  included) times the scale mantissas (E4M3 only) is shifted by ``e = fields + offset`` (the
  ``golden.blockscaled.ScaleCodec`` split; MX: ``sw + sx - 254 + frac_bits - fw - fx``) left
  exactly, or right arithmetically, dropping the bits below ``2**-frac_bits``, and added to the
  output accumulator, and the block sum restarts at zero; ``clear`` (in, with ``last``): the
  accumulator restarts from this block instead of adding to its old value.
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

from golden.arith import acc_range, product_bits, product_range, signed_bits
from golden.blockscaled import BlockQuantized, ScaleCodec, scale_codec
from golden.checks import check_int
from golden.datapath import Datapath, check_hardware
from golden.families.blockscaled import block_params
from golden.formats import Format, as_format
from golden.trace import Port, PortTrace, accumulator_trace

__all__ = ["BlockMACConfig"]

_ACC_BITS = (8, 64)


@dataclass(frozen=True)
class BlockMACConfig:
    """Parameters of a block-scaled MAC; ``hw.blockmac.BlockMAC`` is generated from these.

    ``weight`` is a block-scaled format (MX with E8M0 scales, NVFP4 with E4M3 scales); ``act`` is
    one with the same block size, or an element-wise format (NVFP4 x INT8 per token). A hardware
    datapath must serve the element pair (``golden.datapath.check_hardware``): MXINT8 codes go
    straight into one multiplier, FP elements through their family's sign-magnitude decoder.
    ``acc_bits`` in 8..64, ``frac_bits`` in 0..acc_bits-1.
    """

    weight: Format | str
    act: Format | str = "mxint8"
    acc_bits: int = 48
    frac_bits: int = 24

    kind = "block_mac"

    def __post_init__(self) -> None:
        for param in ("weight", "act"):
            object.__setattr__(self, param, as_format(getattr(self, param), param))
        if block_params(self.weight) is None:
            raise ValueError(f"weight must be a block-scaled format (mxint8, mxfp4, mxfp6e2m3, "
                             f"mxfp6e3m2, mxfp8e4m3, mxfp8e5m2, nvfp4, with bB), not "
                             f"{self.weight.name!r}")
        check_hardware(self.weight, self.act)
        act_params = block_params(self.act)
        if act_params is not None and act_params["block"] != self.block:
            raise ValueError(f"act must have the weight's block size {self.block} or no block "
                             f"scale, not {self.act.name!r}")
        check_int("acc_bits", self.acc_bits, *_ACC_BITS)
        check_int("frac_bits", self.frac_bits, 0, self.acc_bits - 1)

    @property
    def scales(self) -> tuple[tuple[str, ScaleCodec], ...]:
        """``(port, codec)`` of each block scale input: ``sw``, and ``sx`` for a block-scaled
        activation."""
        ports = (("sw", self.weight), ("sx", self.act))
        return tuple((port, scale_codec(fmt)) for port, fmt in ports
                     if block_params(fmt) is not None)

    @property
    def integer_elements(self) -> bool:
        """Both element codes are their scaled values (MXINT8): one multiplier of the codes."""
        return all(np.array_equal(fmt.scaled_table, fmt.codes) for fmt in (self.weight, self.act))

    @property
    def block(self) -> int:
        return block_params(self.weight)["block"]

    @property
    def product_bits(self) -> int:
        """Width of one element product (``golden.arith.product_bits``)."""
        return product_bits(self.weight, self.act)

    @property
    def sum_bits(self) -> int:
        """Width of the exact block sum (one block's products)."""
        lo, hi = product_range(self.weight, self.act)
        return signed_bits(self.block * lo, self.block * hi)

    @property
    def shift_offset(self) -> int:
        """The constant part of the block's alignment shift (added to the scale fields)."""
        return (self.frac_bits - self.weight.shift - self.act.shift
                + sum(codec.offset for _, codec in self.scales))

    @property
    def scaled_bits(self) -> int:
        """Width of the block sum times the scale mantissas (signed)."""
        return self.sum_bits + sum(codec.mantissa_bits for _, codec in self.scales)

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
                *(Port(port, "in", 8) for port, _ in self.scales),
                Port("valid", "in", 1), Port("last", "in", 1), Port("clear", "in", 1),
                Port("acc", "out", self.acc_bits, signed=True), Port("acc_valid", "out", 1))

    def align(self, block_sum: int, *scale_codes: int) -> int:
        """The block sum times its scales (one code per ``scales`` port) on the accumulator's
        fixed point (right shifts floor)."""
        shift = self.shift_offset
        for (_, codec), code in zip(self.scales, scale_codes, strict=True):
            mantissa, field = codec.parts(code)
            block_sum, shift = block_sum * int(mantissa), shift + int(field)
        return block_sum << shift if shift >= 0 else block_sum >> -shift

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Outputs, cycle by cycle, for the given (cycles, 1) input arrays, from reset."""
        w = self.weight.decode_scaled(inputs["w"][:, 0], "w")
        x = self.act.decode_scaled(inputs["x"][:, 0], "x")
        ports = [port for port, _ in self.scales]
        for port, codec in self.scales:
            scales = inputs[port][:, 0]
            bad = scales[(scales < 0) | (scales >= codec.codes)]
            if bad.size:
                raise ValueError(f"{port} must hold non-negative finite {codec.name.upper()} "
                                 f"codes in [0, {codec.codes - 1}], not {int(bad[0])}")
        lo, hi = acc_range(self.acc_bits)
        cycles = len(w)
        acc_out = np.zeros((cycles, 1), dtype=np.int64)
        valid_out = np.zeros((cycles, 1), dtype=np.int64)
        acc = block_sum = 0
        for t, (product, valid, last, clear, *scales) in enumerate(zip(
                (w * x).tolist(), *(inputs[n][:, 0].tolist()
                                    for n in ("valid", "last", "clear", *ports)))):
            acc_out[t, 0] = acc
            if t:
                valid_out[t, 0] = closed
            closed = int(bool(valid and last))
            if not valid:
                continue
            block_sum += product
            if last:
                total = (0 if clear else acc) + self.align(block_sum, *scales)
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
        first block's; two idle cycles let the last result reach ``acc``. An element-wise ``a``
        (``golden.blockscaled.quantize_operand``) has no scale stream."""
        (m, k), n, b = a.codes.shape, w.codes.shape[1], self.block
        rows = np.repeat(np.arange(m), n * k)
        cols = np.tile(np.repeat(np.arange(n), k), m)
        ks = np.tile(np.arange(k), m * n)
        pad = np.zeros(self.latency + 1, dtype=np.int64)
        streams = {"w": w.codes[ks, cols], "x": a.codes[rows, ks],
                   "sw": w.scale_codes[ks // b, cols], "sx": a.scale_codes[rows, ks // a.block],
                   "valid": np.ones(ks.size), "last": ks % b == b - 1, "clear": ks < b}
        inputs = {port.name for port in self.ports if port.direction == "in"}
        return self.trace({name: np.concatenate([np.asarray(v, dtype=np.int64), pad])
                           for name, v in streams.items() if name in inputs})
