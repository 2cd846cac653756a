"""The datapath pieces the MAC and the systolic array share: the weight x activation product of
one weight format and the reduction of a sum to the accumulator width."""

from __future__ import annotations

from amaranth.hdl import Const, Mux, Value

from golden.arith import Overflow, acc_range
from golden.formats import Format

__all__ = ["ScaledProduct", "reduce_overflow"]


def reduce_overflow(value: Value, bits: int, overflow: Overflow) -> Value:
    """``value`` reduced to ``bits`` signed bits by wrap (keep the low bits) or saturation."""
    if len(value) <= bits:
        return value
    if overflow is Overflow.SATURATE:
        lo, hi = acc_range(bits)
        return Mux(value > hi, hi, Mux(value < lo, lo, value))
    return value[:bits].as_signed()


class ScaledProduct:
    """Builds ``(2**f * w) * x``, the scaled product of weight code ``w`` and activation ``x``.

    Regular codes ``c`` go through a narrow ``w x x`` signed multiplier whose result is shifted
    by ``f`` (wiring: ``f`` zero LSBs). Special codes (dINT's two grid ends, scaled value
    ``+-2**k``) bypass it: their product is ``x`` shifted by ``k`` (wiring) or its negation,
    selected by a mux on ``w == code``, so the multiplier never has to represent ``+-2**-f``
    and stays as narrow as the regular codes need. The constructor rejects specials that are
    not a power of two, which this datapath cannot serve.
    """

    def __init__(self, weight: Format) -> None:
        for code, scaled in weight.special_codes.items():
            magnitude = abs(scaled)
            if magnitude == 0 or magnitude & (magnitude - 1):
                raise ValueError(
                    f"weight special code {code} must scale to +-a power of two for the "
                    f"shift-and-mux datapath, not {scaled}")
        self.weight = weight

    def __call__(self, w: Value, x: Value) -> Value:
        product = (w * x) << self.weight.shift
        for code, scaled in self.weight.special_codes.items():
            shifted = x << (abs(scaled).bit_length() - 1)
            product = Mux(w == Const(code, w.shape()), shifted if scaled > 0 else -shifted, product)
        return product
