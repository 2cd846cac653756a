"""The datapath pieces the MAC and the systolic array share: the weight x activation product of
one weight format and the reduction of a sum to the accumulator width."""

from __future__ import annotations

from typing import NamedTuple

from amaranth.hdl import Const, Module, Mux, Signal, Value, signed

from golden.arith import Overflow, acc_range
from golden.datapath import PRODUCT_DATAPATHS
from golden.formats import Format

__all__ = ["Product", "ScaledProduct", "reduce_overflow"]


def reduce_overflow(value: Value, bits: int, overflow: Overflow) -> Value:
    """``value`` reduced to ``bits`` signed bits by wrap (keep the low bits) or saturation."""
    if len(value) <= bits:
        return value
    if overflow is Overflow.SATURATE:
        lo, hi = acc_range(bits)
        return Mux(value > hi, hi, Mux(value < lo, lo, value))
    return value[:bits].as_signed()


class Product(NamedTuple):
    """The product as hardware forms it: ``word + carry`` is the scaled product, where ``carry``
    (1 bit, or None) enters the adder that follows as its carry-in."""

    word: Value
    carry: Value | None

    def add_to(self, base: Value) -> Value:
        """``base + word (+ carry)``: one adder, the carry as its carry-in."""
        total = base + self.word
        return total if self.carry is None else total + self.carry


class ScaledProduct:
    """Builds ``(2**f * w) * x``, the scaled product of weight code ``w`` and activation ``x``.

    Regular codes ``c`` go through a narrow ``w x x`` signed multiplier whose result is shifted
    by ``f`` (wiring: ``f`` zero LSBs). Special codes (dINT's two grid ends, scaled value
    ``+-2**k``) never widen the multiplier; ``product`` names how they are served (the records
    of ``golden.datapath.PRODUCT_DATAPATHS``, whose models this hardware follows bit for bit):

    * ``select``: the activation shifted by ``k`` (wiring) or its negation, chosen by a mux on
      ``w == code``;
    * ``mmux``: the multiplier gets ``+-1`` instead of the code, and one mux chooses ``p << f``
      or ``p << k``: no negation, and the special flags only steer two muxes;
    * ``cin``: a negative special gives ``~(x << k)`` and a carry into the following adder.

    The constructor rejects specials that are not a power of two, which none of these serve.
    """

    def __init__(self, weight: Format, product: str) -> None:
        for code, scaled in weight.special_codes.items():
            magnitude = abs(scaled)
            if magnitude == 0 or magnitude & (magnitude - 1):
                raise ValueError(
                    f"weight special code {code} must scale to +-a power of two for the "
                    f"shift-and-mux datapath, not {scaled}")
        if product not in PRODUCT_DATAPATHS:
            raise ValueError(f"product must be one of {sorted(PRODUCT_DATAPATHS)}, "
                             f"not {product!r}")
        self.weight = weight
        self.product = product

    def _specials(self, m: Module, w: Value) -> list[tuple[Value, int, int]]:
        """``(is_code, sign, k)`` per special code, as ``golden.datapath`` defines them; each
        flag is a signal of ``m``, so a flag used twice is still one comparator."""
        specials = []
        for code, scaled in self.weight.special_codes.items():
            is_code = Signal(name=f"is_code_{code}".replace("-", "m"))
            m.d.comb += is_code.eq(w == Const(code, w.shape()))
            specials.append((is_code, 1 if scaled > 0 else -1, abs(scaled).bit_length() - 1))
        return specials

    def __call__(self, m: Module, w: Value, x: Value) -> Product:
        """The product of ``w`` and ``x``; its flags become combinational signals of ``m``.
        Without special codes every datapath is the plain multiplier."""
        if not self.weight.special_codes:
            return Product((w * x) << self.weight.shift, None)
        return getattr(self, f"_{self.product}")(m, self._specials(m, w), w, x)

    def _select(self, m: Module, specials: list, w: Value, x: Value) -> Product:
        word = (w * x) << self.weight.shift
        for is_code, sign, k in specials:
            shifted = x << k
            word = Mux(is_code, shifted if sign > 0 else -shifted, word)
        return Product(word, None)

    def _mmux(self, m: Module, specials: list, w: Value, x: Value) -> Product:
        operand = w
        shifted_by: dict[int, Value] = {}
        for is_code, sign, k in specials:
            operand = Mux(is_code, Const(sign, w.shape()), operand)
            shifted_by[k] = shifted_by[k] | is_code if k in shifted_by else is_code
        p = Signal(signed(len(w) + len(x)))
        m.d.comb += p.eq(operand * x)
        word = p << self.weight.shift
        for k, is_special in shifted_by.items():
            word = Mux(is_special, p << k, word)
        return Product(word, None)

    def _cin(self, m: Module, specials: list, w: Value, x: Value) -> Product:
        word = (w * x) << self.weight.shift
        carry: Value | None = None
        for is_code, sign, k in specials:
            shifted = x << k
            word = Mux(is_code, shifted if sign > 0 else ~shifted, word)
            if sign < 0:
                carry = is_code if carry is None else carry | is_code
        return Product(word, carry)
