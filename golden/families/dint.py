"""dINT-B (Lee, Kim et al., EMNLP 2023): the INT-B grid whose two extreme codes mean +-2**-f.

The most positive pattern (0b0111 for B = 4) decodes to +2**-f and the most negative (0b1000) to
-2**-f. Small weights then round to +-1/2 instead of underflowing to zero, at the price of the
grid ends (+7 and -8 for B = 4). With f = 1 every value times 2 is an integer (shift 1): regular
codes scale to ``2 * code``, the two special codes to +-1. The hardware serves the specials with
a shift and a mux beside a B-bit integer multiplier.
"""

from __future__ import annotations

import re

import numpy as np

from golden.checks import check_int
from golden.families.base import Family, Format, register_family

__all__ = ["dint_format", "round_dint"]

_BITS = (3, 16)
_SHIFTS = (1, 8)


def dint_format(bits: int = 4, shift: int = 1) -> Format:
    """dINT-``bits``: INT-``bits`` whose extreme codes mean +-2**-shift."""
    check_int("bits", bits, *_BITS)
    check_int("shift", shift, *_SHIFTS)
    top = (1 << (bits - 1)) - 1
    name = f"dint{bits}" if shift == 1 else f"dint{bits}f{shift}"
    return Format(name, bits, True, shift, ((top, 1), (-top - 1, -1)), "dint")


def round_dint(u: np.ndarray, fmt: Format) -> np.ndarray:
    """dINT rounding with special magnitude ``h = 2**-f``: ``|u| < h/2`` -> 0;
    ``h/2 <= |u| < (h+1)/2`` -> ``+-h``; otherwise half to even onto the integer grid, clamped.

    Ties at ``h/2`` and ``(h+1)/2`` go away from zero (dINT4: thresholds 1/4 and 3/4).
    """
    half = 1.0 / (1 << fmt.shift)
    magnitude = np.abs(u)
    codes = np.clip(np.rint(u), fmt.grid_min, fmt.grid_max)
    special = np.where(u < 0, fmt.code_min, fmt.code_max)
    codes = np.where(magnitude < (half + 1) / 2, special, codes)
    codes = np.where(magnitude < half / 2, 0, codes)
    return codes.astype(fmt.code_dtype)


def _parse(match: re.Match[str]) -> Format:
    return dint_format(int(match["bits"]), int(match["shift"] or 1))


register_family(Family(
    "dint", r"dint(?P<bits>\d+)(?:f(?P<shift>\d+))?", _parse,
    f"dintB or dintBfF (B in {_BITS[0]}..{_BITS[1]}, F in {_SHIFTS[0]}..{_SHIFTS[1]})",
    ("dint4",), "dint_shift_mux", round_dint))
