"""Number formats as exact value tables over integer codes.

A format maps every ``bits``-wide code to one exact value. Codes are held as the integer that the
bit pattern means in two's complement (signed formats) or as plain binary (unsigned), so a 4-bit
code is an integer in [-8, 7]. Values are stored *scaled*: ``value * 2**shift`` is an integer for
every code, which is what hardware multiplies.

Two families cover the formats qmac compares:

* ``int_format(b)``: two's complement INT-b. Every code is its own value; ``shift = 0``.
* ``dint_format(b, f)``: dINT-b (Lee, Kim et al., EMNLP 2023). The integer grid of INT-b, except
  that its two extreme codes are repurposed as the denormal values +-2**-f: the most positive
  pattern (0b0111 for b=4) decodes to +2**-f and the most negative (0b1000) to -2**-f. Small
  weights then round to +-1/2 instead of underflowing to zero, at the price of the grid ends
  (+7 and -8 for b=4). dINT4 (f=1) codes::

      code  bits  value        code  bits  value
        -8  1000  -1/2            0  0000   0
        -7  1001  -7              1  0001   1
        -6  1010  -6              2  0010   2
        -5  1011  -5              3  0011   3
        -4  1100  -4              4  0100   4
        -3  1101  -3              5  0101   5
        -2  1110  -2              6  0110   6
        -1  1111  -1              7  0111  +1/2

  With f=1 every value times 2 is an integer (shift = 1): the regular codes scale to ``2*code``
  and the two special codes to +-1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property

import numpy as np

from golden.checks import check_int

__all__ = [
    "Format", "int_format", "dint_format", "get_format", "as_format", "format_names",
    "INT8", "INT4", "DINT4",
]

_INT_BITS = (2, 16)
_DINT_BITS = (3, 16)
_DINT_SHIFTS = (1, 8)


@dataclass(frozen=True)
class Format:
    """An integer code set and the exact value of each code.

    Parameters
    ----------
    name:
        Canonical lower-case name (``"int8"``, ``"dint4"``, ``"dint4f2"``).
    bits:
        Code width.
    signed:
        Codes are two's complement patterns (range ``[-2**(bits-1), 2**(bits-1) - 1]``).
    shift:
        ``f`` such that ``value * 2**f`` is an integer for every code.
    specials:
        ``(code, scaled_value)`` pairs for codes that leave the integer grid; every other code
        ``c`` has scaled value ``c << shift``.
    kind:
        ``"int"`` or ``"dint"``: selects the quantizer's rounding rule.
    """

    name: str
    bits: int
    signed: bool
    shift: int
    specials: tuple[tuple[int, int], ...]
    kind: str

    @property
    def code_min(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def code_max(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    @cached_property
    def codes(self) -> np.ndarray:
        """Every code, ascending."""
        return np.arange(self.code_min, self.code_max + 1, dtype=np.int64)

    @cached_property
    def scaled_table(self) -> np.ndarray:
        """``value * 2**shift`` for every code, indexed by ``code - code_min``."""
        table = self.codes << self.shift
        for code, scaled in self.specials:
            table[code - self.code_min] = scaled
        table.flags.writeable = False
        return table

    @cached_property
    def value_table(self) -> np.ndarray:
        table = self.scaled_table / float(1 << self.shift)
        table.flags.writeable = False
        return table

    @property
    def special_codes(self) -> dict[int, int]:
        """Code -> scaled value for the codes that are not ``code << shift``."""
        return dict(self.specials)

    @property
    def values_are_codes(self) -> bool:
        """Every code is its own value (plain INT): decoding is a cast."""
        return self.shift == 0 and not self.specials

    @cached_property
    def code_dtype(self) -> np.dtype:
        """Narrowest NumPy integer dtype that holds every code (what quantizers return)."""
        return np.dtype(np.min_scalar_type(self.code_min) if self.code_min < 0
                        else np.min_scalar_type(self.code_max))

    @cached_property
    def grid_min(self) -> int:
        """Smallest integer-grid value (the specials excluded)."""
        return int(np.setdiff1d(self.codes, list(self.special_codes)).min())

    @cached_property
    def grid_max(self) -> int:
        """Largest integer-grid value (the specials excluded)."""
        return int(np.setdiff1d(self.codes, list(self.special_codes)).max())

    @property
    def scaled_min(self) -> int:
        return int(self.scaled_table.min())

    @property
    def scaled_max(self) -> int:
        return int(self.scaled_table.max())

    @property
    def value_min(self) -> float:
        return self.scaled_min / (1 << self.shift)

    @property
    def value_max(self) -> float:
        return self.scaled_max / (1 << self.shift)

    def value(self, code: int) -> Fraction:
        """Exact value of one code."""
        self.check_codes(np.asarray(code), "code")
        return Fraction(int(self.scaled_table[code - self.code_min]), 1 << self.shift)

    def bit_pattern(self, code: int) -> str:
        return format(code & ((1 << self.bits) - 1), f"0{self.bits}b")

    def code_table(self) -> list[tuple[int, str, Fraction]]:
        """``(code, bit pattern, exact value)`` for every code."""
        return [(int(c), self.bit_pattern(int(c)), self.value(int(c))) for c in self.codes]

    def check_codes(self, codes: np.ndarray, param: str) -> np.ndarray:
        """Return ``codes`` as an integer array, or raise naming ``param`` and the allowed range."""
        codes = np.asarray(codes)
        if codes.dtype.kind not in "iu":
            raise ValueError(
                f"{param} must be an integer array of {self.name} codes, not dtype {codes.dtype}")
        if codes.size:
            lo, hi = int(codes.min()), int(codes.max())
            if lo < self.code_min or hi > self.code_max:
                bad = lo if lo < self.code_min else hi
                raise ValueError(
                    f"{param} holds code {bad}, outside {self.name}'s range "
                    f"[{self.code_min}, {self.code_max}]")
        return codes

    def decode_scaled(self, codes: np.ndarray, param: str = "codes") -> np.ndarray:
        """Exact integer ``value * 2**shift`` of each code (int64)."""
        codes = self.check_codes(codes, param)
        return self.scaled_table[codes.astype(np.int64) - self.code_min]

    def decode(self, codes: np.ndarray, param: str = "codes") -> np.ndarray:
        """Exact value of each code (float64; every value is a dyadic rational)."""
        codes = self.check_codes(codes, param)
        return self.value_table[codes.astype(np.int64) - self.code_min]

    def encode(self, values: np.ndarray, param: str = "values") -> np.ndarray:
        """Code of each value; every value must be representable exactly (quantizers round)."""
        values = np.asarray(values, dtype=np.float64)
        if not np.all(np.isfinite(values)):
            raise ValueError(
                f"{param} must be finite, got {float(values[~np.isfinite(values)].flat[0])}")
        scaled = values * (1 << self.shift)
        order = np.argsort(self.scaled_table, kind="stable")
        sorted_scaled = self.scaled_table[order]
        pos = np.clip(np.searchsorted(sorted_scaled, scaled), 0, len(order) - 1)
        exact = sorted_scaled[pos] == scaled
        if not np.all(exact):
            bad = float(values[~exact].flat[0])
            allowed = sorted(self.value_table.tolist())
            listed = (str(allowed) if len(allowed) <= 32 else
                      f"the {len(allowed)} values of its code table (qmac formats {self.name})")
            raise ValueError(
                f"{param} holds {bad!r}, which {self.name} cannot represent exactly; "
                f"allowed values are {listed}")
        return self.codes[order[pos]]


def int_format(bits: int) -> Format:
    """Two's complement INT-``bits``."""
    check_int("bits", bits, *_INT_BITS)
    return Format(f"int{bits}", bits, True, 0, (), "int")


def dint_format(bits: int = 4, shift: int = 1) -> Format:
    """dINT-``bits``: INT-``bits`` whose extreme codes mean +-2**-shift (see module docstring)."""
    check_int("bits", bits, *_DINT_BITS)
    check_int("shift", shift, *_DINT_SHIFTS)
    top = (1 << (bits - 1)) - 1
    name = f"dint{bits}" if shift == 1 else f"dint{bits}f{shift}"
    return Format(name, bits, True, shift, ((top, 1), (-top - 1, -1)), "dint")


INT8 = int_format(8)
INT4 = int_format(4)
DINT4 = dint_format(4, 1)

_NAME = re.compile(r"(?P<kind>d?int)(?P<bits>\d+)(?:f(?P<shift>\d+))?")


def format_names() -> list[str]:
    """The names the documentation lists; ``get_format`` also takes any ``intB``/``dintB[fF]``."""
    return ["int8", "int4", "dint4"]


def get_format(name: str) -> Format:
    """Format by name: ``intB`` (B 2..16), ``dintB`` (B 3..16, f=1) or ``dintBfF`` (F 1..8)."""
    match = _NAME.fullmatch(name.strip().lower()) if isinstance(name, str) else None
    allowed = ("int8, int4, dint4, intB (B in 2..16), dintB (B in 3..16) "
               "or dintBfF (F in 1..8)")
    if match is None or (match["kind"] == "int" and match["shift"] is not None):
        raise ValueError(f"format must be one of {allowed}, not {name!r}")
    bits = int(match["bits"])
    try:
        if match["kind"] == "int":
            return int_format(bits)
        return dint_format(bits, int(match["shift"] or 1))
    except ValueError as err:
        raise ValueError(f"format must be one of {allowed}, not {name!r} ({err})") from None


def as_format(fmt: Format | str, param: str = "weight") -> Format:
    """``fmt`` itself, or the format its name means (``get_format``): every API taking a format
    takes a name too. Anything else is a TypeError naming ``param``."""
    if isinstance(fmt, Format):
        return fmt
    if isinstance(fmt, str):
        return get_format(fmt)
    raise TypeError(f"{param} must be a Format or a format name such as 'dint4', not {fmt!r}")
