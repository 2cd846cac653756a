"""INT-B: two's complement integers, every code its own value (the multiplier baseline)."""

from __future__ import annotations

import numpy as np

from golden.checks import check_int
from golden.families.base import Family, Format, register_family

__all__ = ["int_format", "round_int"]

_BITS = (2, 16)


def int_format(bits: int) -> Format:
    """Two's complement INT-``bits``."""
    check_int("bits", bits, *_BITS)
    return Format(f"int{bits}", bits, True, 0, (), "int")


def round_int(u: np.ndarray, fmt: Format) -> np.ndarray:
    """Round half to even, clamp to the code range (``round_nearest`` for a plain grid, faster)."""
    return np.clip(np.rint(u), fmt.code_min, fmt.code_max).astype(fmt.code_dtype)


register_family(Family(
    "int", r"int(?P<bits>\d+)", lambda m: int_format(int(m["bits"])),
    f"intB (B in {_BITS[0]}..{_BITS[1]})", ("int8", "int4"), "int_multiplier", round_int))
