"""The block-scaled MAC, generated from a ``golden.blockmac.BlockMACConfig``."""

from __future__ import annotations

import functools
import operator

from amaranth.hdl import Cat, Module, Mux, Signal, Value, signed, unsigned

from golden.blockmac import BlockMACConfig
from golden.blockscaled import ScaleCodec
from hw.ports import ConfigComponent
from hw.product import DecodedProduct

__all__ = ["BlockMAC"]


class BlockMAC(ConfigComponent):
    """One element pair per cycle into an exact block sum; the block scales applied once per
    block, into a wrapping fixed-point accumulator.

    Micro-architecture: an ``8 x 8`` signed multiplier (MXINT8 codes are their scaled values;
    FP elements go through their family's sign-magnitude decoder, ``hw.product.DecodedProduct``,
    whose carry enters the block-sum adder) feeds a ``sum_bits`` block-sum register (exact: B
    products). In a block's ``last`` cycle each scale code splits into a shift field and, for
    E4M3 (NVFP4), a 4-bit mantissa (``golden.blockscaled.ScaleCodec``): the closing sum is
    multiplied by the mantissas (``sum_bits x 4``), the fields plus a constant give the signed
    shift ``e``, and a left shifter (amount clamped to ``acc_bits``: larger shifts leave only
    zeros below the wrap) or an arithmetic right shifter (amount clamped to ``scaled_bits``: the
    result is then 0 or -1, the floor) aligns it; one ``acc_bits`` adder adds it to the
    accumulator (or to 0 with ``clear``). The scale logic (decoders, the small multiplier, the
    adder and the two shifters) is once per MAC, not per element.

    Members
    -------
    w, x: In(element bits, signed for MXINT8)
        Element codes.
    sw, sx: In(8)
        Block scale codes, read with ``last``; ``sx`` only for a block-scaled activation.
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

        scaled = Signal(signed(cfg.scaled_bits))
        shift = Signal(signed(11))
        product, fields = closing, []
        for port, codec in cfg.scales:
            mantissa, field = _split(m, getattr(self, port), codec)
            product = product if mantissa is None else product * mantissa
            fields.append(field)
        m.d.comb += [scaled.eq(product),
                     shift.eq(functools.reduce(operator.add, fields) + cfg.shift_offset)]
        left = Signal(unsigned(cfg.acc_bits.bit_length()))
        right = Signal(unsigned(cfg.scaled_bits.bit_length()))
        m.d.comb += [left.eq(Mux(shift > cfg.acc_bits, cfg.acc_bits, Mux(shift > 0, shift, 0))),
                     right.eq(Mux(-shift > cfg.scaled_bits, cfg.scaled_bits,
                                  Mux(shift < 0, -shift, 0)))]
        aligned = Signal(signed(cfg.acc_bits))
        m.d.comb += aligned.eq(Mux(shift >= 0, (scaled << left)[:cfg.acc_bits],
                                   scaled >> right))

        with m.If(self.valid):
            with m.If(self.last):
                m.d.sync += [self.acc.eq(Mux(self.clear, 0, self.acc) + aligned),
                             block_sum.eq(0)]
            with m.Else():
                m.d.sync += block_sum.eq(closing)
        m.d.sync += self.acc_valid.eq(self.valid & self.last)
        return m


def _split(m: Module, code: Signal, codec: ScaleCodec) -> tuple[Value | None, Value]:
    """``(mantissa, field)`` of a scale code as ``codec.parts`` defines them: a power-of-two
    code (E8M0) is its own shift field, with no mantissa; E4M3 ``0.EEEE.MMM`` (the quantizer's
    scales are non-negative) gives the mantissa ``{E != 0, MMM}`` and the field
    ``max(E, 1) - 1``."""
    if not codec.mantissa_bits:
        return None, code
    exponent = code[3:7]
    mantissa = Signal(unsigned(4), name="scale_mantissa")
    field = Signal(unsigned(4), name="scale_field")
    m.d.comb += [mantissa.eq(Cat(code[:3], exponent.any())),
                 field.eq(Mux(exponent.any(), exponent - 1, 0))]
    return mantissa, field
