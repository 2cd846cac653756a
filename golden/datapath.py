"""The weight x activation -> accumulator parameters every qmac design config holds, and the
registry of product datapaths: the ways hardware may build the scaled product of dINT codes.

Every product datapath computes the same exact product; they differ in how the two special codes
(scaled value ``+-2**k``) are served, which is a hardware cost question (docs/hardware.md). Each
record's ``model`` is the NumPy counterpart of its hardware decomposition: it returns the
``product_bits`` word the hardware forms and the carry it feeds into the following adder, whose
sum is the product (the golden tests check this for every code pair).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from golden.arith import Overflow, check_acc_bits, default_acc_bits, product_bits, signed_bits
from golden.checks import check_int
from golden.formats import Format, as_format, int_format

__all__ = ["Datapath", "ProductDatapath", "PRODUCT_DATAPATHS", "DEFAULT_PRODUCT", "DEFAULT_ACT_BITS",
           "FamilyDatapath", "FAMILY_DATAPATHS", "register_datapath", "check_hardware",
           "uses_grid_product", "decode_operand", "product_model", "word_bits"]

DEFAULT_ACT_BITS = 8
"""Activations are INT8 unless a config names another format or width."""

ProductModel = Callable[[Format, np.ndarray, np.ndarray], "tuple[np.ndarray, np.ndarray]"]


@dataclass(frozen=True)
class ProductDatapath:
    """One way to build ``(2**f * w) * x``: its name, what it does, and its golden model."""

    name: str
    description: str
    model: ProductModel


def _specials(weight: Format, w: np.ndarray) -> list[tuple[np.ndarray, int, int]]:
    """``(is_code, sign, k)`` of each special code: the mask of ``w`` equal to it, the sign and
    the exponent of its scaled value ``sign * 2**k``."""
    return [(w == code, 1 if scaled > 0 else -1, abs(scaled).bit_length() - 1)
            for code, scaled in weight.special_codes.items()]


def _select(weight: Format, w: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    word = (w * x) << weight.shift
    for is_code, sign, k in _specials(weight, w):
        word = np.where(is_code, sign * (x << k), word)
    return word, np.zeros_like(word)


def _mmux(weight: Format, w: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    operand = w
    for is_code, sign, _ in _specials(weight, w):
        operand = np.where(is_code, sign, operand)
    p = operand * x
    word = p << weight.shift
    for is_code, _, k in _specials(weight, w):
        word = np.where(is_code, p << k, word)
    return word, np.zeros_like(word)


def _cin(weight: Format, w: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    word = (w * x) << weight.shift
    carry = np.zeros_like(word)
    for is_code, sign, k in _specials(weight, w):
        word = np.where(is_code, (x << k) if sign > 0 else ~(x << k), word)
        carry = np.where(is_code & (sign < 0), 1, carry)
    return word, carry


PRODUCT_DATAPATHS: dict[str, ProductDatapath] = {p.name: p for p in (
    ProductDatapath("select", "one multiplier for the regular codes; per special code the "
                    "shifted activation or its negation, chosen by a mux on w == code", _select),
    ProductDatapath("mmux", "the special codes feed +-1 to the one multiplier in place of the "
                    "code; one mux chooses p << f (regular) or p << k (special): no negation",
                    _mmux),
    ProductDatapath("cin", "negative specials give ~(x << k) and a carry into the following "
                    "adder (-v = ~v + 1), so no negation adder", _cin),
)}
DEFAULT_PRODUCT = "mmux"
"""The product datapath of every design unless its config names another (docs/hardware.md)."""


OperandModel = Callable[[Format, np.ndarray], "tuple[np.ndarray, np.ndarray, np.ndarray]"]


@dataclass(frozen=True)
class FamilyDatapath:
    """How hardware turns one code of a family into a product operand (``Family.datapath``).

    ``decode`` is the golden model of that decoder: per code, ``(value, shift, negative)`` with
    scaled value ``(-1)**negative * value << shift``; the product of two operands is then one
    multiply of the values (a mux when a value is a 0/1 flag), a shift by the sum of the shifts
    and a negation by carry-in when exactly one side is negative (``product_model``). ``None``
    marks dINT's grid-with-specials, which the ``PRODUCT_DATAPATHS`` variants serve with INT
    activations only. ``act`` says whether activations of the family are served too.
    """

    name: str
    description: str
    decode: OperandModel | None
    act: bool = True


def _int_operand(fmt: Format, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    codes = np.asarray(codes, dtype=np.int64)
    zero = np.zeros_like(codes)
    return codes << fmt.shift, zero, zero


def _code_operand(fmt: Format, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    codes = np.asarray(codes, dtype=np.int64)
    zero = np.zeros_like(codes)
    return codes, zero, zero


def _fp_operand(fmt: Format, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    params = dict(fmt.params)
    man_bits, exp_bits = params["man_bits"], params["exp_bits"]
    codes = np.asarray(codes, dtype=np.int64)
    exponent = (codes >> man_bits) & ((1 << exp_bits) - 1)
    normal = (exponent != 0).astype(np.int64)
    significand = (codes & ((1 << man_bits) - 1)) | (normal << man_bits)
    return significand, np.where(normal == 1, exponent - 1, 0), (codes >> (fmt.bits - 1)) & 1


def _lut_operand(fmt: Format, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    codes = np.asarray(codes, dtype=np.int64)
    zero = np.zeros_like(codes)
    return fmt.scaled_table[codes - fmt.code_min], zero, zero


def _ternary_operand(fmt: Format, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    codes = np.asarray(codes, dtype=np.int64)
    return codes & 1, np.zeros_like(codes), (codes >> 1) & 1


FAMILY_DATAPATHS: dict[str, FamilyDatapath] = {}


def register_datapath(datapath: FamilyDatapath) -> FamilyDatapath:
    """Add a family datapath (its golden model; ``hw.product.OPERAND_DECODERS`` holds the
    hardware under the same name)."""
    if not isinstance(datapath, FamilyDatapath):
        raise TypeError(f"datapath must be a FamilyDatapath, not {datapath!r}")
    if datapath.name in FAMILY_DATAPATHS:
        raise ValueError(f"datapath name {datapath.name!r} is already registered")
    FAMILY_DATAPATHS[datapath.name] = datapath
    return datapath


for _datapath in (
        FamilyDatapath("int_multiplier", "two's complement code straight into the multiplier",
                       _int_operand),
        FamilyDatapath("int_fixed_point", "two's complement code straight into the multiplier; "
                       "its implicit 2**-shift is the accumulator's binary point (MXINT8)",
                       _code_operand),
        FamilyDatapath("dint_shift_mux", "INT grid shifted by f, special codes by shift and mux "
                       "(the product variants select/mmux/cin); INT activations only", None,
                       act=False),
        FamilyDatapath("fp_sign_magnitude", "sign bit, significand {e != 0, m} into an unsigned "
                       "multiplier, product shifted by max(e - 1, 0)", _fp_operand),
        FamilyDatapath("lut_fixed_point", "code -> signed fixed-point level through a case "
                       "table, then the multiplier", _lut_operand),
        FamilyDatapath("ternary_mux", "magnitude bit muxes the other operand or 0, the sign bit "
                       "negates by carry-in: no multiplier", _ternary_operand)):
    register_datapath(_datapath)


def _family_datapath(fmt: Format, param: str) -> FamilyDatapath:
    key = fmt.family.datapath
    if key not in FAMILY_DATAPATHS:
        raise ValueError(f"{param} format {fmt.name!r} has no hardware datapath (its family "
                         f"needs {key!r}; registered: {', '.join(FAMILY_DATAPATHS)})")
    return FAMILY_DATAPATHS[key]


def uses_grid_product(weight: Format, act: Format) -> bool:
    """INT or dINT weights times INT activations: the ``PRODUCT_DATAPATHS`` word (dINT's special
    codes served by select/mmux/cin); every other pair goes through the operand decoders."""
    return (weight.family.datapath in ("int_multiplier", "dint_shift_mux")
            and act.family.datapath == "int_multiplier")


def check_hardware(weight: Format, act: Format) -> None:
    """Raise unless a registered datapath serves ``weight`` x ``act``."""
    _family_datapath(weight, "weight")
    served = _family_datapath(act, "act")
    if not served.act:
        raise ValueError(f"act format {act.name!r} has no hardware datapath as an activation "
                         f"({served.name} serves weights only)")
    if not uses_grid_product(weight, act) and _family_datapath(weight, "weight").decode is None:
        raise ValueError(f"weight format {weight.name!r} needs an INT activation "
                         f"({weight.family.datapath}), not {act.name!r}")


def decode_operand(fmt: Format, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(value, shift, negative)`` of each code as its family's decoder forms them."""
    return _family_datapath(fmt, "format").decode(fmt, codes)


def product_model(weight: Format, act: Format, product: str, w: np.ndarray,
                  x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(word, carry)`` the hardware forms for codes ``w`` and ``x``; ``word + carry`` is the
    scaled product. ``product`` picks the dINT variant where ``uses_grid_product``."""
    check_hardware(weight, act)
    if uses_grid_product(weight, act):
        return PRODUCT_DATAPATHS[product].model(weight, np.asarray(w, dtype=np.int64),
                                                np.asarray(x, dtype=np.int64))
    vw, sw, nw = decode_operand(weight, w)
    vx, sx, nx = decode_operand(act, x)
    p = (vw * vx) << (sw + sx)
    negative = nw ^ nx
    return np.where(negative == 1, ~p, p), negative


def word_bits(weight: Format, act: Format) -> int:
    """Width of the product word: ``product_bits`` for the grid products; for the decoded ones
    it also holds ``~p``, the word a negation by carry-in forms."""
    if uses_grid_product(weight, act):
        return product_bits(weight, act)
    ends = []
    for fmt in (weight, act):
        value, shift, _ = decode_operand(fmt, fmt.finite_codes)
        magnitude = value << shift
        ends.append((int(magnitude.min()), int(magnitude.max())))
    corners = [a * b for a in ends[0] for b in ends[1]]
    lo, hi = min(corners), max(corners)
    return max(product_bits(weight, act), signed_bits(min(lo, ~hi), max(hi, ~lo)))


class Datapath:
    """Mixin of ``MACConfig`` and ``SystolicConfig`` (frozen dataclasses with the fields below):
    one place normalises and checks the fields they share and derives the product width.

    The activation is a ``Format`` (``act``, by name or object); ``act_bits`` is derived from it.
    Callers that only give ``act_bits`` (older code, saved parameters) get INT-``act_bits``.
    """

    weight: Format
    act_bits: int | None
    acc_bits: int | None
    overflow: Overflow
    product: str
    act: Format | str | None

    def _check_datapath(self) -> None:
        """Formats by name, ``act_bits`` in [2, 16] and consistent with ``act``, overflow mode by
        name, ``acc_bits`` defaulted to ``default_acc_bits`` and checked against one product,
        product datapath by name."""
        if self.product not in PRODUCT_DATAPATHS:
            raise ValueError(f"product must be one of {sorted(PRODUCT_DATAPATHS)}, "
                             f"not {self.product!r}")
        object.__setattr__(self, "weight", as_format(self.weight))
        object.__setattr__(self, "act", self._act_format())
        object.__setattr__(self, "act_bits", self.act.bits)
        object.__setattr__(self, "overflow", Overflow.parse(self.overflow))
        if self.acc_bits is None:
            object.__setattr__(self, "acc_bits", default_acc_bits(self.weight, self.act))
        check_acc_bits(self.acc_bits, self.weight, self.act)

    def _act_format(self) -> Format:
        if self.act is None:
            bits = DEFAULT_ACT_BITS if self.act_bits is None else self.act_bits
            return int_format(check_int("act_bits", bits, 2, 16))
        act = as_format(self.act, "act")
        if self.act_bits is not None and self.act_bits != act.bits:
            raise ValueError(f"act_bits must be None or {act.bits} (the width of act "
                             f"{act.name}), not {self.act_bits!r}")
        return act

    @property
    def product_bits(self) -> int:
        return product_bits(self.weight, self.act)

    @property
    def word_bits(self) -> int:
        """Width of the product word the hardware forms (``golden.datapath.word_bits``)."""
        return word_bits(self.weight, self.act)

    @property
    def product_suffix(self) -> str:
        """``_<product>`` in design names when the datapath is not the default one."""
        return "" if self.product == DEFAULT_PRODUCT else f"_{self.product}"

    def busy_units(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """Multipliers doing a useful MAC in each cycle of ``inputs`` (the design's cycle model)."""
        raise NotImplementedError

    def steady_window(self, inputs: dict[str, np.ndarray]) -> tuple[int, int]:
        """Cycles ``[start, end)`` of the longest run in which every multiplier is busy.

        Energy per MAC over this window is the steady-state figure: no fill, drain or idle
        cycle is charged to it. A stream that never fills the design is a ValueError.
        """
        full = np.asarray(self.busy_units(inputs)) == self.macs_per_cycle
        edges = np.flatnonzero(np.diff(np.concatenate([[0], full.astype(np.int8), [0]])))
        if not edges.size:
            raise ValueError(f"the stream never keeps all {self.macs_per_cycle} multipliers "
                             f"busy at once, so it has no steady-state window")
        starts, ends = edges[0::2], edges[1::2]
        best = int(np.argmax(ends - starts))
        return int(starts[best]), int(ends[best])
