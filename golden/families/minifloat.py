"""OCP minifloats: FP4 E2M1, FP6 E2M3 and E3M2, FP8 E4M3 and E5M2 (OCP MX / OFP8 specs).

A code is the bit pattern ``S.E.M`` (unsigned, sign-magnitude). With ``bias = 2**(E-1) - 1``
an exponent field ``e > 0`` means ``(1 + m/2**M) * 2**(e - bias)`` and ``e = 0`` the subnormal
``m * 2**(1 - bias - M)``. Scaling by ``2**shift`` with ``shift = bias - 1 + M`` (the smallest
subnormal becomes 1) makes every value an integer: ``m`` for subnormals and
``(2**M + m) << (e - 1)`` for normals, so a product is a mantissa multiply and a shift.

What the all-ones exponent means differs per encoding (``ml_dtypes`` names in brackets):

* E2M1, E2M3, E3M2 (``float4_e2m1fn``, ``float6_e2m3fn``, ``float6_e3m2fn``): an ordinary
  exponent; no NaN or Inf. Max 6, 7.5, 28.
* E4M3 (``float8_e4m3fn``): ordinary, except ``S.1111.111``, which is NaN; no Inf. Max 448.
* E5M2 (``float8_e5m2``): IEEE-like; ``S.11111.00`` is +-Inf, the other three mantissas NaN.
  Max 57344.

``S.0...0`` with S = 1 is -0: representable, value 0, never a quantizer output.
"""

from __future__ import annotations

import functools
import re

from golden.checks import check_int
from golden.families.base import Family, Format, register_family

__all__ = ["fp_format", "OCP_ENCODINGS"]

OCP_ENCODINGS = {(2, 1): "finite", (2, 3): "finite", (3, 2): "finite", (4, 3): "nan_at_max",
                 (5, 2): "ieee"}
"""``(exponent bits, mantissa bits)`` -> use of the all-ones exponent, for every OCP encoding."""


def fp_format(exp_bits: int, man_bits: int) -> Format:
    """The OCP minifloat with ``exp_bits`` exponent and ``man_bits`` mantissa bits."""
    check_int("exp_bits", exp_bits, 1)
    check_int("man_bits", man_bits, 0)
    if (exp_bits, man_bits) not in OCP_ENCODINGS:
        raise ValueError(f"(exp_bits, man_bits) must be one of the OCP encodings "
                         f"{sorted(OCP_ENCODINGS)}, not {(exp_bits, man_bits)}")
    return _build(exp_bits, man_bits)


@functools.cache
def _build(exp_bits: int, man_bits: int) -> Format:
    """One object per encoding, so its cached tables are computed once."""
    bits = 1 + exp_bits + man_bits
    bias = (1 << (exp_bits - 1)) - 1
    table, excluded = [], []
    for pattern in range(1 << bits):
        negative = pattern >> (bits - 1)
        exponent = (pattern >> man_bits) & ((1 << exp_bits) - 1)
        mantissa = pattern & ((1 << man_bits) - 1)
        mark = _nonfinite(OCP_ENCODINGS[exp_bits, man_bits], exponent == (1 << exp_bits) - 1,
                          mantissa, man_bits, negative)
        magnitude = mantissa if exponent == 0 else ((1 << man_bits) + mantissa) << (exponent - 1)
        if mark is None and negative and magnitude == 0:
            mark = "-0"
        if mark is not None:
            excluded.append((pattern, mark))
        table.append(0 if mark is not None else -magnitude if negative else magnitude)
    name = "fp4" if bits == 4 else f"fp{bits}e{exp_bits}m{man_bits}"
    return Format(name, bits, False, bias - 1 + man_bits, (), "fp", tuple(table), tuple(excluded),
                  (("exp_bits", exp_bits), ("man_bits", man_bits), ("bias", bias)))


def _nonfinite(encoding: str, top_exponent: bool, mantissa: int, man_bits: int,
               negative: int) -> str | None:
    """Mark of a NaN/Inf pattern under ``encoding``, or None for a finite one."""
    if not top_exponent or encoding == "finite":
        return None
    if encoding == "nan_at_max":
        return "nan" if mantissa == (1 << man_bits) - 1 else None
    if mantissa:
        return "nan"
    return "-inf" if negative else "+inf"


def _parse(match: re.Match[str]) -> Format:
    bits = int(match["bits"])
    if match["exp"] is None:
        if bits != 4:
            raise ValueError(f"only fp4 (E2M1) may omit eEmM, not fp{bits}")
        return fp_format(2, 1)
    exp_bits, man_bits = int(match["exp"]), int(match["man"])
    if bits != 1 + exp_bits + man_bits:
        raise ValueError(f"bits must be 1 + E + M = {1 + exp_bits + man_bits}, not {bits}")
    return fp_format(exp_bits, man_bits)


register_family(Family(
    "fp", r"fp(?P<bits>\d+)(?:e(?P<exp>\d+)m(?P<man>\d+))?", _parse, "",
    ("fp4", "fp6e2m3", "fp6e3m2", "fp8e4m3", "fp8e5m2"), "fp_sign_magnitude"))
