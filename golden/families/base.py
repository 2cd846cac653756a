"""A number format as an exact value table over integer codes, and the registry of format families.

A ``Format`` maps every ``bits``-wide code to one exact value. Codes are held as the integer that
the bit pattern means in two's complement (``signed``) or as the plain pattern (unsigned: the
sign-magnitude families FP, ternary and the NF4 index), so a signed 4-bit code lies in [-8, 7]
and an unsigned one in [0, 15]. Values are stored *scaled*: ``value * 2**shift`` is an integer
for every code, which is what hardware multiplies, so golden arithmetic stays exact.

Some codes are representable but never a quantizer's output (``excluded``): the negative zero of
sign-magnitude families (value 0, decodes to -0.0 as ``ml_dtypes`` does) and NaN/Inf patterns
(no exact value: ``decode`` returns nan/inf, golden arithmetic rejects them). The *valid* codes
are the rest, one per value. Code 0 is the value 0 in every format: zero padding (the tiler) and
reset registers rely on it.

A ``Family`` is one registry entry: the name pattern its formats parse from, the constructor
behind it, its rounding rule and the key of the hardware product datapath it needs. ``get_format``
parses names through the registry only; ``register_family`` adds a family, so a new format needs
no edit here.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from typing import Callable

import numpy as np

__all__ = ["Format", "Family", "EXCLUDED_MARKS", "register_family", "families", "get_family",
           "get_format", "as_format", "format_names", "accepted_names", "round_nearest"]

EXCLUDED_MARKS = {"-0": -0.0, "nan": math.nan, "+inf": math.inf, "-inf": -math.inf}
"""What an excluded code decodes to (float64, as ``ml_dtypes`` decodes it)."""


@dataclass(frozen=True)
class Format:
    """An integer code set, the exact value of each code, and the codes a quantizer may emit.

    Parameters
    ----------
    name:
        Canonical lower-case name (``"int8"``, ``"dint4f2"``, ``"fp8e4m3"``, ``"nf4"``).
    bits:
        Code width.
    signed:
        Codes are two's complement patterns (range ``[-2**(bits-1), 2**(bits-1) - 1]``);
        otherwise the plain pattern (range ``[0, 2**bits - 1]``).
    shift:
        ``f`` such that ``value * 2**f`` is an integer for every finite code.
    specials:
        Integer-grid formats (``table`` is None): ``(code, scaled_value)`` pairs for codes that
        leave the grid; every other code ``c`` has scaled value ``c << shift``.
    kind:
        Name of the registered ``Family`` (rounding rule, hardware datapath).
    table:
        Scaled value of every code, ``code_min`` first, for formats that are not an integer grid
        (entries of NaN/Inf codes are 0 and never used).
    excluded:
        ``(code, mark)`` pairs, mark in ``EXCLUDED_MARKS``: codes never produced by a quantizer.
    params:
        ``(name, value)`` pairs of the family's parameters (exponent and mantissa bits of an FP
        format, ...), for the hardware datapath that serves the family.
    """

    name: str
    bits: int
    signed: bool
    shift: int
    specials: tuple[tuple[int, int], ...] = ()
    kind: str = "int"
    table: tuple[int, ...] | None = field(default=None, repr=False)
    excluded: tuple[tuple[int, str], ...] = field(default=(), repr=False)
    params: tuple[tuple[str, int], ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        if self.table is not None and len(self.table) != 1 << self.bits:
            raise ValueError(f"table must hold {1 << self.bits} scaled values for {self.bits} "
                             f"bits, not {len(self.table)}")
        for code, mark in self.excluded:
            if mark not in EXCLUDED_MARKS or not self.code_min <= code <= self.code_max:
                raise ValueError(f"excluded must pair codes in [{self.code_min}, "
                                 f"{self.code_max}] with a mark in {list(EXCLUDED_MARKS)}, "
                                 f"not {(code, mark)!r}")
        if 0 in self.excluded_codes or self.scaled_table[-self.code_min] != 0:
            raise ValueError(f"code 0 of {self.name} must be the value 0 (zero padding and reset "
                             "registers rely on it)")

    @property
    def code_min(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def code_max(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    @cached_property
    def codes(self) -> np.ndarray:
        """Every code, ascending."""
        codes = np.arange(self.code_min, self.code_max + 1, dtype=np.int64)
        codes.flags.writeable = False
        return codes

    @cached_property
    def family(self) -> Family:
        """The registered family of this format (its rounding rule and hardware datapath)."""
        return get_family(self.kind)

    @cached_property
    def scaled_table(self) -> np.ndarray:
        """``value * 2**shift`` for every code, indexed by ``code - code_min`` (NaN/Inf: 0)."""
        if self.table is not None:
            table = np.array(self.table, dtype=np.int64)
        else:
            table = self.codes << self.shift
            for code, scaled in self.specials:
                table[code - self.code_min] = scaled
        table.flags.writeable = False
        return table

    @cached_property
    def value_table(self) -> np.ndarray:
        """Float value of every code: exact for finite codes; -0.0, nan, +-inf where excluded."""
        table = self.scaled_table / float(1 << self.shift)
        for code, mark in self.excluded:
            table[code - self.code_min] = EXCLUDED_MARKS[mark]
        table.flags.writeable = False
        return table

    @property
    def excluded_codes(self) -> dict[int, str]:
        """Code -> mark (``"-0"``, ``"nan"``, ``"+inf"``, ``"-inf"``) of the excluded codes."""
        return dict(self.excluded)

    @cached_property
    def valid_mask(self) -> np.ndarray:
        """Per code (``code_min`` first): a quantizer may produce it (one code per value)."""
        mask = np.ones(len(self.codes), dtype=bool)
        mask[[code - self.code_min for code in self.excluded_codes]] = False
        mask.flags.writeable = False
        return mask

    @cached_property
    def finite_mask(self) -> np.ndarray:
        """Per code: it has an exact value (valid codes and -0), so golden arithmetic takes it."""
        mask = np.ones(len(self.codes), dtype=bool)
        mask[[code - self.code_min for code, mark in self.excluded if mark != "-0"]] = False
        mask.flags.writeable = False
        return mask

    @property
    def valid_codes(self) -> np.ndarray:
        return self.codes[self.valid_mask]

    @property
    def finite_codes(self) -> np.ndarray:
        return self.codes[self.finite_mask]

    @property
    def special_codes(self) -> dict[int, int]:
        """Code -> scaled value for the codes that leave an integer grid (dINT's ends)."""
        return dict(self.specials)

    @property
    def values_are_codes(self) -> bool:
        """Every code is its own value (plain INT): decoding is a cast."""
        return self.shift == 0 and not self.specials and self.table is None

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
        return int(self.scaled_table[self.finite_mask].min())

    @property
    def scaled_max(self) -> int:
        return int(self.scaled_table[self.finite_mask].max())

    @property
    def value_min(self) -> float:
        return self.scaled_min / (1 << self.shift)

    @property
    def value_max(self) -> float:
        return self.scaled_max / (1 << self.shift)

    def value(self, code: int) -> Fraction | float:
        """Exact value of one code; NaN/Inf codes give the float nan/inf."""
        self.check_codes(np.asarray(code), "code", finite=False)
        if not self.finite_mask[code - self.code_min]:
            return float(self.value_table[code - self.code_min])
        return Fraction(int(self.scaled_table[code - self.code_min]), 1 << self.shift)

    def bit_pattern(self, code: int) -> str:
        return format(code & ((1 << self.bits) - 1), f"0{self.bits}b")

    def code_table(self) -> list[tuple[int, str, Fraction | float]]:
        """``(code, bit pattern, exact value)`` for every code (nan/inf for NaN/Inf codes)."""
        return [(int(c), self.bit_pattern(int(c)), self.value(int(c))) for c in self.codes]

    def check_codes(self, codes: np.ndarray, param: str, finite: bool = True) -> np.ndarray:
        """Return ``codes`` as an integer array, or raise naming ``param`` and what is allowed.

        With ``finite`` (the default: arithmetic) NaN/Inf codes are rejected too.
        """
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
            if finite and not self.finite_mask.all():
                nonfinite = ~self.finite_mask[codes.astype(np.int64) - self.code_min]
                if nonfinite.any():
                    bad = int(codes[nonfinite].flat[0])
                    raise ValueError(
                        f"{param} holds code {bad}, which is {self.excluded_codes[bad]} in "
                        f"{self.name}; golden arithmetic takes finite codes only")
        return codes

    def decode_scaled(self, codes: np.ndarray, param: str = "codes") -> np.ndarray:
        """Exact integer ``value * 2**shift`` of each finite code (int64)."""
        codes = self.check_codes(codes, param)
        return self.scaled_table[codes.astype(np.int64) - self.code_min]

    def decode(self, codes: np.ndarray, param: str = "codes") -> np.ndarray:
        """Value of each code (float64: exact for finite codes; -0.0, nan, inf as marked)."""
        codes = self.check_codes(codes, param, finite=False)
        return self.value_table[codes.astype(np.int64) - self.code_min]

    def encode(self, values: np.ndarray, param: str = "values") -> np.ndarray:
        """Valid code of each value; every value must be representable exactly (quantizers
        round). -0.0 encodes as the zero code."""
        values = np.asarray(values, dtype=np.float64)
        if not np.all(np.isfinite(values)):
            raise ValueError(
                f"{param} must be finite, got {float(values[~np.isfinite(values)].flat[0])}")
        scaled = values * (1 << self.shift)
        sorted_scaled, sorted_codes = self.rounding_grid
        pos = np.clip(np.searchsorted(sorted_scaled, scaled), 0, len(sorted_codes) - 1)
        exact = sorted_scaled[pos] == scaled
        if not np.all(exact):
            bad = float(values[~exact].flat[0])
            allowed = (sorted_scaled / (1 << self.shift)).tolist()
            listed = (str(allowed) if len(allowed) <= 32 else
                      f"the {len(allowed)} values of its code table (qmac formats {self.name})")
            raise ValueError(
                f"{param} holds {bad!r}, which {self.name} cannot represent exactly; "
                f"allowed values are {listed}")
        return sorted_codes[pos]

    @cached_property
    def rounding_grid(self) -> tuple[np.ndarray, np.ndarray]:
        """``(scaled values, codes)`` of the valid codes, ascending by value."""
        codes = self.valid_codes
        scaled = self.scaled_table[codes - self.code_min]
        order = np.argsort(scaled, kind="stable")
        grid = scaled[order].astype(np.float64), codes[order]
        for array in grid:
            array.flags.writeable = False
        return grid


def round_nearest(u: np.ndarray, fmt: Format) -> np.ndarray:
    """The rounding rule of table formats: the nearest valid value, clamped to the value range.

    A tie (``u`` exactly between two neighbours) goes to the code whose bit pattern is even; for
    FP formats that is IEEE round-half-to-even on the mantissa. If both or neither pattern is
    even, it goes to the value nearer zero. Comparisons are exact: ``u * 2**shift`` and the
    midpoints of scaled neighbours are exact in float64.
    """
    scaled, codes = fmt.rounding_grid
    target = np.asarray(u, dtype=np.float64) * float(1 << fmt.shift)
    mids = (scaled[:-1] + scaled[1:]) / 2
    lower = np.searchsorted(mids, target, side="left")
    upper = np.minimum(lower + 1, len(codes) - 1)
    tie = (lower < len(mids)) & (target == mids[np.minimum(lower, len(mids) - 1)])
    lower_even, upper_even = codes[lower] % 2 == 0, codes[upper] % 2 == 0
    upper_nearer_zero = np.abs(scaled[upper]) < np.abs(scaled[lower])
    take_upper = tie & np.where(lower_even == upper_even, upper_nearer_zero, upper_even)
    return codes[np.where(take_upper, upper, lower)].astype(fmt.code_dtype)


@dataclass(frozen=True)
class Family:
    """One registered format family.

    Parameters
    ----------
    name:
        The ``Format.kind`` of its formats.
    pattern:
        Regular expression a lower-case format name must match in full.
    parse:
        Builds the format from the match (its named groups are the family's parameters).
    accepts:
        Accepted names beyond ``defaults`` for error messages and help, e.g.
        ``"intB (B in 2..16)"``; empty when the defaults are all.
    defaults:
        Names ``format_names()`` lists.
    datapath:
        Key of the hardware product datapath that serves the family's weights.
    round:
        Codes of values already divided by their scale (``golden.quantize.round_to_codes``).
    """

    name: str
    pattern: str
    parse: Callable[[re.Match[str]], Format]
    accepts: str
    defaults: tuple[str, ...]
    datapath: str
    round: Callable[[np.ndarray, Format], np.ndarray] = round_nearest

    def __reduce__(self) -> tuple:
        # Pickled by name (constructors may be lambdas): a Format that cached its family still
        # crosses to process-pool workers, which register the same families on import.
        return get_family, (self.name,)


_FAMILIES: dict[str, Family] = {}


def register_family(family: Family) -> Family:
    """Add ``family`` to the registry; its names must not parse through another family."""
    if not isinstance(family, Family):
        raise TypeError(f"family must be a Family, not {family!r}")
    if family.name in _FAMILIES:
        raise ValueError(f"family name {family.name!r} is already registered")
    pattern = re.compile(family.pattern)
    for other in _FAMILIES.values():
        clash = next((name for name in family.defaults if re.fullmatch(other.pattern, name)),
                     None) or next((name for name in other.defaults if pattern.fullmatch(name)),
                                   None)
        if clash is not None:
            raise ValueError(f"family {family.name!r} would also parse {clash!r}, a name of "
                             f"family {other.name!r}")
    _FAMILIES[family.name] = family
    for name in family.defaults:
        if get_format(name).name != name:
            del _FAMILIES[family.name]
            raise ValueError(f"default name {name!r} of family {family.name!r} must parse to a "
                             "format of that name")
    return family


def families() -> tuple[Family, ...]:
    """Every registered family, in registration order."""
    return tuple(_FAMILIES.values())


def get_family(name: str) -> Family:
    if name not in _FAMILIES:
        raise ValueError(f"format family must be one of {list(_FAMILIES)}, not {name!r}")
    return _FAMILIES[name]


def format_names() -> list[str]:
    """The default names of every family; ``get_format`` takes every name a family accepts."""
    return [name for family in _FAMILIES.values() for name in family.defaults]


def accepted_names() -> str:
    """The default names, then every family's other accepted names (help texts, errors)."""
    return ", ".join(format_names() + [f.accepts for f in _FAMILIES.values() if f.accepts])


def get_format(name: str) -> Format:
    """The format a name denotes (case and surrounding blanks ignored), via the registry."""
    key = name.strip().lower() if isinstance(name, str) else None
    for family in _FAMILIES.values():
        match = re.fullmatch(family.pattern, key) if key is not None else None
        if match is None:
            continue
        try:
            return family.parse(match)
        except ValueError as err:
            raise ValueError(f"format must be one of {accepted_names()}, not {name!r} "
                             f"({err})") from None
    raise ValueError(f"format must be one of {accepted_names()}, not {name!r}")


def as_format(fmt: Format | str, param: str = "weight") -> Format:
    """``fmt`` itself, or the format its name means (``get_format``): every API taking a format
    takes a name too. Anything else is a TypeError naming ``param``."""
    if isinstance(fmt, Format):
        return fmt
    if isinstance(fmt, str):
        return get_format(fmt)
    raise TypeError(f"{param} must be a Format or a format name such as 'dint4', not {fmt!r}")
