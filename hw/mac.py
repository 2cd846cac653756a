"""One multiply-accumulate unit, generated from a ``golden.mac.MACConfig``."""

from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Signal, Value, signed
from amaranth.lib import wiring

from golden.arith import Overflow, acc_range
from golden.mac import MACConfig
from hw.ports import signature_members

__all__ = ["MAC"]


class MAC(wiring.Component):
    """Weight x activation multiply-accumulate with registered accumulator.

    Micro-architecture (``b`` = weight bits, ``f`` = weight shift, ``a`` = ``act_bits``):

    * Regular codes ``c``: a narrow ``b x a`` signed multiplier computes ``c * x``
      (``b + a`` bits); the scaled product ``(c * x) << f`` is wiring (``f`` zero LSBs).
    * Special codes (dINT's two grid ends, scaled value ``+-2**k``; ``k = 0`` for dINT4) do not
      widen the multiplier: their product is the activation shifted by ``k`` (wiring) or its
      negation, selected by a mux on ``w == code``; the multiplier's result for those codes is
      discarded, so it never has to represent ``+-2**-f``.
    * The selected product is ``product_bits`` wide (16 for INT8 x INT8, 12 for INT4 and dINT4
      x INT8: regular dINT4 codes -7..6 scale to -14..12, so ``(c * x) << 1`` fits 12 bits;
      code -8's multiplier result, which would not, is the one the mux replaces). With
      ``pipeline`` it is registered together with ``valid`` and ``clear``.
    * The adder computes ``(clear ? 0 : acc) + product``: ``acc_bits`` wide for wrap (the carry
      out is dropped, which is two's complement wrap), ``acc_bits + 1`` wide for saturate, whose
      result is clamped to ``[-2**(acc_bits-1), 2**(acc_bits-1) - 1]``.

    Cycle behaviour is exactly ``MACConfig.run``: on a rising edge with ``valid`` the accumulator
    takes the new sum (restarting from the product when ``clear`` is set); ``clear`` without
    ``valid`` zeroes it. ``acc_valid`` is ``valid`` delayed by ``latency`` edges, so it rises in
    the cycle the accumulator shows the new sum. Reset (synchronous ``rst``) zeroes every register.

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

    def __init__(self, config: MACConfig) -> None:
        if not isinstance(config, MACConfig):
            raise ValueError(f"config must be a MACConfig, not {config!r}")
        for code, scaled in config.weight.special_codes.items():
            magnitude = abs(scaled)
            if magnitude == 0 or magnitude & (magnitude - 1):
                raise ValueError(
                    f"weight special code {code} must scale to +-a power of two for the "
                    f"shift-and-mux datapath, not {scaled}")
        self.config = config
        super().__init__(signature_members(config.ports))

    @property
    def latency(self) -> int:
        """Rising edges from an input to its effect on ``acc`` (``1 + pipeline``)."""
        return self.config.latency

    def special_product(self, code: int, scaled: int) -> Value:
        """``x * scaled`` for a special code whose scaled value is ``+-2**k``: shift and negate."""
        shifted = self.x << (abs(scaled).bit_length() - 1)
        return shifted if scaled > 0 else -shifted

    def elaborate(self, platform: object) -> Module:
        cfg = self.config
        m = Module()

        product = Signal(signed(cfg.product_bits))
        selected = (self.w * self.x) << cfg.weight.shift
        for code, scaled in cfg.weight.special_codes.items():
            is_special = self.w == Const(code, self.w.shape())
            selected = Mux(is_special, self.special_product(code, scaled), selected)
        m.d.comb += product.eq(selected)

        if cfg.pipeline:
            stage_product = Signal.like(product)
            stage_valid = Signal()
            stage_clear = Signal()
            m.d.sync += [stage_product.eq(product), stage_valid.eq(self.valid),
                         stage_clear.eq(self.clear)]
        else:
            stage_product, stage_valid, stage_clear = product, self.valid, self.clear

        saturate = cfg.overflow is Overflow.SATURATE
        total = Signal(signed(cfg.acc_bits + int(saturate)))
        m.d.comb += total.eq(Mux(stage_clear, 0, self.acc) + stage_product)
        if saturate:
            lo, hi = acc_range(cfg.acc_bits)
            next_acc = Mux(total > hi, hi, Mux(total < lo, lo, total))
        else:
            next_acc = total

        with m.If(stage_valid):
            m.d.sync += self.acc.eq(next_acc)
        with m.Elif(stage_clear):
            m.d.sync += self.acc.eq(0)
        m.d.sync += self.acc_valid.eq(stage_valid)
        return m
