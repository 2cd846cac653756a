"""One multiply-accumulate unit, generated from a ``golden.mac.MACConfig``."""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed

from golden.arith import Overflow
from golden.mac import MACConfig
from hw.ports import ConfigComponent
from hw.product import Product, product_for, reduce_overflow

__all__ = ["MAC"]


class MAC(ConfigComponent):
    """Weight x activation multiply-accumulate with registered accumulator.

    Micro-architecture (``b`` = weight bits, ``f`` = weight shift, ``a`` = ``act_bits``; the first
    two points are ``hw.product.ScaledProduct``, shared with the systolic array's PE, the clamp
    is ``hw.product.reduce_overflow``):

    * Regular codes ``c``: a narrow ``b x a`` signed multiplier computes ``c * x``
      (``b + a`` bits); the scaled product ``(c * x) << f`` is wiring (``f`` zero LSBs).
    * Special codes (dINT's two grid ends, scaled value ``+-2**k``; ``k = 0`` for dINT4) do not
      widen the multiplier, which never has to represent ``+-2**-f``; ``config.product`` picks
      how they are served (``select``: shifted activation or its negation through a mux;
      ``mmux``: +-1 into the multiplier, one mux on the shift; ``cin``: ``~x`` plus a carry into
      the accumulator adder, registered beside the product when pipelined).
    * The selected product is ``product_bits`` wide (16 for INT8 x INT8, 12 for INT4 and dINT4
      x INT8: regular dINT4 codes -7..6 scale to -14..12, so ``(c * x) << 1`` fits 12 bits;
      code -8's multiplier result, which would not, is the one the mux replaces). With
      ``pipeline`` it is registered together with ``valid`` and ``clear``.
    * The adder computes ``(clear ? 0 : acc) + product``: ``acc_bits`` wide for wrap (the carry
      out is dropped, which is two's complement wrap), ``acc_bits + 1`` wide for saturate, whose
      result is clamped to ``[-2**(acc_bits-1), 2**(acc_bits-1) - 1]``.

    Cycle behaviour is exactly ``MACConfig.run``: on a rising edge with ``valid`` the accumulator
    takes the new sum (restarting from the product when ``clear`` is set); ``clear`` without
    ``valid`` zeroes it. ``acc_valid`` is ``valid`` delayed by ``latency = 1 + pipeline`` edges, so
    it rises in the cycle the accumulator shows the new sum. Reset (synchronous ``rst``) zeroes
    every register.

    Parameters
    ----------
    config:
        Weight ``Format``, ``act_bits``, ``acc_bits``, overflow mode and pipeline flag.

    Members
    -------
    w: In(signed(b))
        Weight code.
    x: In(signed(a))
        Activation code.
    valid: In(1)
        Accumulate this cycle's product.
    clear: In(1)
        Start a new accumulation.
    acc: Out(signed(acc_bits))
        Accumulator register.
    acc_valid: Out(1)
        ``acc`` has just absorbed a valid product.
    """

    config_class = MACConfig

    def __init__(self, config: MACConfig) -> None:
        super().__init__(config)
        self.product = product_for(config)

    def elaborate(self, platform: object) -> Module:
        cfg = self.config
        m = Module()

        formed = self.product(m, self.w, self.x)
        product = Signal(signed(cfg.word_bits))
        m.d.comb += product.eq(formed.word)
        carry = None if formed.carry is None else Signal()
        if carry is not None:
            m.d.comb += carry.eq(formed.carry)

        if cfg.pipeline:
            stage_product = Signal.like(product)
            stage_carry = None if carry is None else Signal()
            stage_valid = Signal()
            stage_clear = Signal()
            m.d.sync += [stage_product.eq(product), stage_valid.eq(self.valid),
                         stage_clear.eq(self.clear)]
            if carry is not None:
                m.d.sync += stage_carry.eq(carry)
        else:
            stage_product, stage_carry = product, carry
            stage_valid, stage_clear = self.valid, self.clear

        saturate = cfg.overflow is Overflow.SATURATE
        total = Signal(signed(cfg.acc_bits + int(saturate)))
        m.d.comb += total.eq(Product(stage_product, stage_carry).add_to(
            Mux(stage_clear, 0, self.acc)))
        next_acc = reduce_overflow(total, cfg.acc_bits, cfg.overflow)

        with m.If(stage_valid):
            m.d.sync += self.acc.eq(next_acc)
        with m.Elif(stage_clear):
            m.d.sync += self.acc.eq(0)
        m.d.sync += self.acc_valid.eq(stage_valid)
        return m
