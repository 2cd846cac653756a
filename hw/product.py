"""The datapath pieces the MAC and the systolic array share: the weight x activation product
(chosen per format pair from the datapath registry of ``golden.datapath``) and the reduction of
a sum to the accumulator width."""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed, unsigned

from golden.arith import Overflow, acc_range, signed_bits
from golden.datapath import FAMILY_DATAPATHS, PRODUCT_DATAPATHS, check_hardware, \
    uses_grid_product, word_bits
from golden.formats import Format

__all__ = ["Product", "ScaledProduct", "DecodedProduct", "Operand", "OPERAND_DECODERS",
           "register_decoder", "product_for", "reduce_overflow"]


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


class Operand(NamedTuple):
    """One decoded code: scaled value ``(-1)**negative * value << shift`` (``shift`` and
    ``negative`` None when constant 0), as ``golden.datapath.FamilyDatapath.decode`` models it."""

    value: Value
    shift: Value | None
    negative: Value | None


def _int_operand(m: Module, fmt: Format, code: Value) -> Operand:
    return Operand(code.as_signed() << fmt.shift, None, None)


def _code_operand(m: Module, fmt: Format, code: Value) -> Operand:
    return Operand(code.as_signed(), None, None)


def _fp_operand(m: Module, fmt: Format, code: Value) -> Operand:
    params = dict(fmt.params)
    man_bits, exp_bits = params["man_bits"], params["exp_bits"]
    code = code.as_unsigned()
    exponent = code[man_bits:man_bits + exp_bits]
    normal = Signal(name=f"{_prefix(code)}normal")
    m.d.comb += normal.eq(exponent.any())
    shift = Signal(unsigned(exp_bits), name=f"{_prefix(code)}shift")
    m.d.comb += shift.eq(Mux(normal, exponent - 1, 0))
    return Operand(Cat(code[:man_bits], normal), shift, code[fmt.bits - 1])


def _lut_operand(m: Module, fmt: Format, code: Value) -> Operand:
    """The level table as one constant word, indexed by the code's bit pattern: continuous
    assignments only (a case process with no event leaves an unloaded PE's level X in Icarus)."""
    table = fmt.scaled_table.tolist()
    bits = signed_bits(min(table), max(table))
    by_pattern = sorted(((index + fmt.code_min) & ((1 << fmt.bits) - 1), scaled)
                        for index, scaled in enumerate(table))
    rom = Cat(*(Const(scaled, signed(bits)) for _, scaled in by_pattern))
    level = Signal(signed(bits), name=f"{_prefix(code)}level")
    m.d.comb += level.eq(rom.word_select(code.as_unsigned(), bits))
    return Operand(level, None, None)


def _ternary_operand(m: Module, fmt: Format, code: Value) -> Operand:
    code = code.as_unsigned()
    return Operand(code[0], None, code[1])


def _prefix(code: Value) -> str:
    name = getattr(code, "name", None)
    return f"{name}_" if isinstance(name, str) else ""


OPERAND_DECODERS: dict[str, Callable[[Module, Format, Value], Operand]] = {
    "int_multiplier": _int_operand, "int_fixed_point": _code_operand,
    "fp_sign_magnitude": _fp_operand,
    "lut_fixed_point": _lut_operand, "ternary_mux": _ternary_operand}
"""``golden.datapath.FAMILY_DATAPATHS`` key -> the Amaranth decoder that follows its model."""


def register_decoder(name: str, decoder: Callable[[Module, Format, Value], Operand]) -> None:
    """Add the hardware decoder of a registered family datapath (``register_datapath``)."""
    if name not in FAMILY_DATAPATHS or FAMILY_DATAPATHS[name].decode is None:
        raise ValueError(f"name must be a registered decoded datapath "
                         f"({', '.join(k for k, v in FAMILY_DATAPATHS.items() if v.decode)}), "
                         f"not {name!r}")
    if name in OPERAND_DECODERS:
        raise ValueError(f"datapath {name!r} already has a hardware decoder")
    OPERAND_DECODERS[name] = decoder


class DecodedProduct:
    """Builds the product of a weight and an activation whose families decode to operands:
    one multiply of the two values (a mux when one is a 0/1 flag: ternary has no multiplier),
    a shift by the sum of the shifts (FP exponents) and, when exactly one operand is negative,
    ``~p`` plus a carry into the following adder (sign-magnitude without a negation adder).
    ``golden.datapath.product_model`` is the bit-exact model of the word and the carry."""

    def __init__(self, weight: Format, act: Format) -> None:
        check_hardware(weight, act)
        for fmt in (weight, act):
            if fmt.family.datapath not in OPERAND_DECODERS:
                raise ValueError(f"datapath {fmt.family.datapath!r} of {fmt.name!r} has no "
                                 f"hardware decoder (implemented: {', '.join(OPERAND_DECODERS)})")
        self.weight, self.act = weight, act
        self.word_bits = word_bits(weight, act)

    def __call__(self, m: Module, w: Value, x: Value) -> Product:
        ow = OPERAND_DECODERS[self.weight.family.datapath](m, self.weight, w)
        ox = OPERAND_DECODERS[self.act.family.datapath](m, self.act, x)
        p = _multiply(ow.value, ox.value)
        shifts = [s for s in (ow.shift, ox.shift) if s is not None]
        if shifts:
            p = p << (shifts[0] if len(shifts) == 1 else shifts[0] + shifts[1])
        word = Signal(signed(self.word_bits), name="magnitude")
        m.d.comb += word.eq(p)
        signs = [n for n in (ow.negative, ox.negative) if n is not None]
        if not signs:
            return Product(word, None)
        negative = Signal(name="negative")
        m.d.comb += negative.eq(signs[0] if len(signs) == 1 else signs[0] ^ signs[1])
        return Product(Mux(negative, ~word, word), negative)


def _multiply(a: Value, b: Value) -> Value:
    """``a * b``; a one-bit unsigned operand is a flag that muxes the other one or zero."""
    for flag, other in ((a, b), (b, a)):
        if len(flag) == 1 and not flag.shape().signed:
            return Mux(flag, other, 0)
    return a * b


def product_for(config: Any) -> ScaledProduct | DecodedProduct:
    """The product logic of ``config`` (a MAC or systolic config): INT/dINT weights x INT
    activations through ``ScaledProduct`` (``config.product`` variant), the rest decoded."""
    if uses_grid_product(config.weight, config.act):
        return ScaledProduct(config.weight, config.product)
    return DecodedProduct(config.weight, config.act)
