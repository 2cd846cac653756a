"""The block-scaled MAC, generated from a ``golden.blockmac.BlockMACConfig``."""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed, unsigned

from golden.blockmac import BlockMACConfig
from hw.ports import ConfigComponent
from hw.product import DecodedProduct

__all__ = ["BlockMAC"]


class BlockMAC(ConfigComponent):
    """One element pair per cycle into an exact block sum; the shared-exponent shift once per
    block, into a wrapping fixed-point accumulator.

    Micro-architecture: an ``8 x 8`` signed multiplier (MXINT8 codes are their scaled values;
    FP elements go through their family's sign-magnitude decoder, ``hw.product.DecodedProduct``,
    whose carry enters the block-sum adder) feeds a ``sum_bits`` block-sum register (exact: B
    products). In a block's ``last`` cycle the
    9-bit sum ``sw + sx`` plus a constant gives the signed shift ``e``; a left shifter (amount
    clamped to ``acc_bits``: larger shifts leave only zeros below the wrap) or an arithmetic
    right shifter (amount clamped to ``sum_bits``: the result is then 0 or -1, the floor) aligns
    the sum, and one ``acc_bits`` adder adds it to the accumulator (or to 0 with ``clear``). The
    scale logic is one 9-bit adder, the offset add and the two shifters, once per MAC, not per
    element.

    Members
    -------
    w, x: In(element bits, signed for MXINT8)
        Element codes.
    sw, sx: In(8)
        E8M0 block scales, read with ``last``.
    valid, last, clear: In(1)
        Product valid; it closes its block; the block restarts the accumulator.
    acc: Out(signed(acc_bits))
        Output accumulator, units ``2**-frac_bits``.
    acc_valid: Out(1)
        ``acc`` has just absorbed a block (``latency`` = 1 edge after ``last``).
    """

    config_class = BlockMACConfig

    def elaborate(self, platform: object) -> Module:
        cfg = self.config
        m = Module()
        block_sum = Signal(signed(cfg.sum_bits))
        closing = Signal(signed(cfg.sum_bits))
        if cfg.integer_elements:
            m.d.comb += closing.eq(block_sum + self.w * self.x)
        else:
            formed = DecodedProduct(cfg.weight, cfg.act)(m, self.w, self.x)
            m.d.comb += closing.eq(formed.add_to(block_sum))

        shift = Signal(signed(11))
        m.d.comb += shift.eq(self.sw + self.sx + cfg.shift_offset)
        left = Signal(unsigned(cfg.acc_bits.bit_length()))
        right = Signal(unsigned(cfg.sum_bits.bit_length()))
        m.d.comb += [left.eq(Mux(shift > cfg.acc_bits, cfg.acc_bits, Mux(shift > 0, shift, 0))),
                     right.eq(Mux(-shift > cfg.sum_bits, cfg.sum_bits,
                                  Mux(shift < 0, -shift, 0)))]
        aligned = Signal(signed(cfg.acc_bits))
        m.d.comb += aligned.eq(Mux(shift >= 0, (closing << left)[:cfg.acc_bits],
                                   closing >> right))

        with m.If(self.valid):
            with m.If(self.last):
                m.d.sync += [self.acc.eq(Mux(self.clear, 0, self.acc) + aligned),
                             block_sum.eq(0)]
            with m.Else():
                m.d.sync += block_sum.eq(closing)
        m.d.sync += self.acc_valid.eq(self.valid & self.last)
        return m
