"""Argument checks shared by every qmac API, so each kind of bad value gets the same message."""

from __future__ import annotations

import math
import numbers

__all__ = ["check_int", "check_positive"]

_UNBOUNDED = {0: "a non-negative integer", 1: "a positive integer"}


def check_int(param: str, value: object, lo: int, hi: int | None = None, context: str = "") -> int:
    """Return ``value`` if it is an integer (``bool`` is not) in ``[lo, hi]``, else raise
    ValueError naming ``param``, the allowed range (``context`` appended to it) and ``value``.

    Without ``hi``, ``lo`` is 0 or 1: "a non-negative integer" / "a positive integer".
    """
    if isinstance(value, int) and not isinstance(value, bool) and value >= lo \
            and (hi is None or value <= hi):
        return value
    allowed = _UNBOUNDED[lo] if hi is None else f"an integer in [{lo}, {hi}]"
    raise ValueError(f"{param} must be {allowed}{context}, not {value!r}")


def check_positive(param: str, value: object, unit: str) -> float:
    """Return ``value`` as a float if it is a finite real number above 0, else raise ValueError.

    ``inf`` and ``nan`` are refused too: a tool handed an infinite clock period or timeout waits
    forever instead of failing.
    """
    if isinstance(value, numbers.Real) and not isinstance(value, bool) \
            and math.isfinite(value) and value > 0:
        return float(value)
    raise ValueError(f"{param} must be a positive finite number of {unit}, not {value!r}")
