"""Block-scaled element formats: OCP Microscaling v1.0 (MXFP4/6/8, MXINT8) and NVIDIA's NVFP4.

A block-scaled tensor is a per-element code plus one shared scale per ``block`` consecutive
elements along the reduction (K) axis. The *element* is an ordinary qmac ``Format``: the family
registered here returns the element format under the block-scaled name, with the scaling rule in
its ``params``, so the element product reuses the datapath of the element family (FP
sign-magnitude for MXFP/NVFP4; for MXINT8 the code itself into the multiplier, its 2**-6 being
the accumulator's binary point: ``int_fixed_point``). The block quantizer, the
scale codecs and the block dot product live in ``golden.blockscaled``.

* ``mxfp4``, ``mxfp6e2m3``, ``mxfp6e3m2``, ``mxfp8e4m3``, ``mxfp8e5m2`` (``mxfp8`` means
  ``mxfp8e4m3``): OCP FP elements, one E8M0 scale (a power of two) per 32 elements.
* ``mxint8``: 8-bit two's complement elements with an implicit scale 2**-6 (``shift`` 6: values
  code / 64 in [-2, 127/64], the spec's value set), one E8M0 scale per 32. Elements round half
  to even onto that grid; -2 is produced (microxcaling's emulation clamps to +-127/64 instead).
* ``nvfp4``: FP4 E2M1 elements, one FP8 E4M3 scale per 16 elements and one FP32 scale per
  tensor.

``<name>bB`` (``mxfp4b16``, ``nvfp4b32``) sets another block size B in 2..1024 (a power of two:
the array's K-tile and the block must align).
"""

from __future__ import annotations

import dataclasses
import re

from golden.checks import check_int
from golden.families.base import Family, Format, register_family
from golden.families.minifloat import fp_format

__all__ = ["SCALE_E8M0", "SCALE_E4M3", "block_format", "block_params"]

SCALE_E8M0 = (8, 0)
"""``(exponent bits, mantissa bits)`` of the OCP MX shared scale: a bare power of two."""
SCALE_E4M3 = (4, 3)
"""... of the NVFP4 block scale: an OCP FP8 E4M3 value."""

_BLOCKS = (2, 1024)
_MXINT_SHIFT = 6
"""MXINT8's implicit element scale 2**-6: the element is a 1.6 fixed-point number."""
_MX_ELEMENTS = {"fp4": (2, 1), "fp6e2m3": (2, 3), "fp6e3m2": (3, 2), "fp8e4m3": (4, 3),
                "fp8e5m2": (5, 2), "fp8": (4, 3)}
_DEFAULT_BLOCK = {"mx": 32, "nv": 16}


def block_format(element: str, block: int | None = None, vendor: str = "mx") -> Format:
    """The block-scaled format ``<vendor><element>`` with ``block`` elements per scale.

    ``element`` is ``"int8"`` or an MX FP element name (``"fp4"``, ``"fp8e4m3"``, ...);
    ``vendor`` ``"nv"`` is NVFP4 and takes ``"fp4"`` only.
    """
    if vendor not in _DEFAULT_BLOCK:
        raise ValueError(f"vendor must be one of {list(_DEFAULT_BLOCK)}, not {vendor!r}")
    default = _DEFAULT_BLOCK[vendor]
    block = default if block is None else check_int("block", block, *_BLOCKS)
    if block & (block - 1):
        raise ValueError(f"block must be a power of two in [{_BLOCKS[0]}, {_BLOCKS[1]}], "
                         f"not {block!r}")
    allowed = ("fp4",) if vendor == "nv" else (*_MX_ELEMENTS, "int8")
    if element not in allowed:
        raise ValueError(f"element must be one of {list(allowed)} for {vendor}, not {element!r}")
    if element == "int8":
        base = Format("int8", 8, True, _MXINT_SHIFT, (), "int", tuple(range(-128, 128)))
    else:
        base = fp_format(*_MX_ELEMENTS[element])
    scale = SCALE_E4M3 if vendor == "nv" else SCALE_E8M0
    suffix = "" if block == default else f"b{block}"
    kind = {"nv": "nvfp", "mx": "mxint" if element == "int8" else "mxfp"}[vendor]
    params = (*base.params, ("block", block), ("scale_exp_bits", scale[0]),
              ("scale_man_bits", scale[1]), ("tensor_scale", int(vendor == "nv")))
    return dataclasses.replace(base, name=f"{vendor}{base.name}{suffix}", kind=kind,
                               params=params)


def block_params(fmt: Format) -> dict[str, int] | None:
    """``block``, ``scale_exp_bits``, ``scale_man_bits``, ``tensor_scale`` of a block-scaled
    format, or None for an element-wise one."""
    params = dict(fmt.params)
    return params if "block" in params else None


def _parser(vendor: str, element: str | None = None):
    def parse(match: re.Match[str]) -> Format:
        block = int(match["block"]) if match["block"] else None
        return block_format(element or match["element"], block, vendor)
    return parse


_BLOCK = r"(?:b(?P<block>\d+))?"
register_family(Family(
    "mxfp", rf"mx(?P<element>fp4|fp6e2m3|fp6e3m2|fp8e4m3|fp8e5m2|fp8){_BLOCK}", _parser("mx"),
    f"mxfp8 (= mxfp8e4m3), <mx or nv name>bB (B a power of two in {_BLOCKS[0]}..{_BLOCKS[1]})",
    ("mxfp4", "mxfp6e2m3", "mxfp6e3m2", "mxfp8e4m3", "mxfp8e5m2"), "fp_sign_magnitude"))
register_family(Family(
    "mxint", rf"mxint8{_BLOCK}", _parser("mx", "int8"), "", ("mxint8",), "int_fixed_point"))
register_family(Family(
    "nvfp", rf"nvfp4{_BLOCK}", _parser("nv", "fp4"), "", ("nvfp4",), "fp_sign_magnitude"))
