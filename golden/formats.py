"""Number formats: the public entry point to every registered format family.

A ``Format`` is an exact value table over integer codes (``golden.families.base``); each family
lives in its own module under ``golden/families`` and registers itself, so names parse through
the registry (``get_format``) and ``format_names()`` lists every family's default names:

* ``int``: two's complement INT-B, every code its own value (``int_format``).
* ``dint``: dINT-B, the INT-B grid whose two extreme codes mean +-2**-f (``dint_format``).
* ``fp``: the OCP minifloats FP4 E2M1, FP6 E2M3/E3M2, FP8 E4M3/E5M2 (``fp_format``).
* ``ternary``: {-1, 0, +1} (``TERNARY``).
* ``nf``: QLoRA's NormalFloat-4 levels as a fixed-point table (``nf4_format``).

See docs/formats.md for the code tables and docs/extending.md for adding a family.
"""

from __future__ import annotations

from golden.families.base import Family, Format, accepted_names, as_format, families, \
    format_names, get_family, get_format, register_family, round_nearest
from golden.families.dint import dint_format
from golden.families.integer import int_format
from golden.families.minifloat import fp_format
from golden.families.normalfloat import nf4_format
from golden.families.ternary import TERNARY

__all__ = [
    "Format", "Family", "int_format", "dint_format", "fp_format", "nf4_format", "get_format",
    "as_format", "format_names", "accepted_names", "register_family", "families", "get_family",
    "round_nearest", "INT8", "INT4", "DINT4", "FP8_E4M3", "TERNARY",
]

INT8 = int_format(8)
INT4 = int_format(4)
DINT4 = dint_format(4, 1)
FP8_E4M3 = fp_format(4, 3)
