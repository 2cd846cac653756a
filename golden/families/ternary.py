"""Ternary weights {-1, 0, +1} (times a per-block scale): two bits, no multiplier.

Codes are sign-magnitude patterns: ``00`` = 0, ``01`` = +1, ``11`` = -1 and ``10`` = -0
(representable, never a quantizer output). A product is ``x``, ``-x`` or 0: a mux and a negation.

Rounding (``round_nearest``) after the smallest non-clipping scale ``s = max|w|`` of the block:
``|w/s| <= 1/2`` -> 0 (the tie at exactly 1/2 goes to the even pattern ``00``), otherwise
``sign(w)``. ``golden.quantize.quantize_ternary_twn`` offers the TWN rule instead (Li and Liu,
Ternary Weight Networks, 2016): threshold ``0.7 * mean|w|`` and scale ``mean |w|`` over the
weights above it.
"""

from __future__ import annotations

from golden.families.base import Family, Format, register_family

__all__ = ["TERNARY"]

TERNARY = Format("ternary", 2, False, 0, (), "ternary", (0, 1, 0, -1), ((2, "-0"),))

register_family(Family("ternary", r"ternary", lambda _: TERNARY, "", ("ternary",),
                       "ternary_mux"))
