"""NF4: the 16 NormalFloat-4 levels of QLoRA (Dettmers et al., 2023), as a fixed-point table.

The levels are quantiles of a standard normal distribution normalised to [-1, 1]: 7 negative,
an exact zero and 8 positive (``NF4_LEVELS``, the values QLoRA publishes). Hardware decodes a
code through a 16-entry lookup table of ``F``-fraction-bit fixed-point numbers and multiplies
those, so golden stores exactly that table: each level rounded half-to-even to a multiple of
``2**-F`` (``shift = F``). ``nf4`` uses ``F = 8`` (every level within 2**-9 of the published
value); ``nf4fF`` picks F in 4..16 (below 4 two levels would merge).

Code ``c`` (4-bit unsigned) is level ``(c + 7) mod 16`` of the ascending list, so code 0 is the
zero level as in every qmac format; bitsandbytes stores the level index itself. The quantizer
rounds to the nearest level (``round_nearest``) after the absmax scale ``s = max|w|``, QLoRA's.
"""

from __future__ import annotations

import functools
import re

from golden.checks import check_int
from golden.families.base import Family, Format, register_family

__all__ = ["nf4_format", "NF4_LEVELS", "NF4_FRACTION_BITS"]

NF4_LEVELS = (
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
    -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
    0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
    0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0)
"""QLoRA's NF4 levels, ascending (index 7 is zero)."""

NF4_FRACTION_BITS = 8
_FRACTION_BITS = (4, 16)
_ZERO_LEVEL = NF4_LEVELS.index(0.0)


def nf4_format(fraction_bits: int = NF4_FRACTION_BITS) -> Format:
    """NF4 with each level rounded to ``fraction_bits`` fraction bits."""
    check_int("fraction_bits", fraction_bits, *_FRACTION_BITS)
    return _build(fraction_bits)


@functools.cache
def _build(fraction_bits: int) -> Format:
    """One object per table, so its cached tables are computed once."""
    table = tuple(round(NF4_LEVELS[(code + _ZERO_LEVEL) % 16] * (1 << fraction_bits))
                  for code in range(16))
    name = "nf4" if fraction_bits == NF4_FRACTION_BITS else f"nf4f{fraction_bits}"
    return Format(name, 4, False, fraction_bits, (), "nf", table,
                  params=(("fraction_bits", fraction_bits),))


def _parse(match: re.Match[str]) -> Format:
    return nf4_format(NF4_FRACTION_BITS if match["frac"] is None else int(match["frac"]))


register_family(Family(
    "nf", r"nf4(?:f(?P<frac>\d+))?", _parse,
    f"nf4fF (F in {_FRACTION_BITS[0]}..{_FRACTION_BITS[1]})", ("nf4",), "lut_fixed_point"))
