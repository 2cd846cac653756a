"""Argument checks shared by every qmac API, so each kind of bad value gets the same message."""

from __future__ import annotations

__all__ = ["check_int"]

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
