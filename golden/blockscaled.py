"""Block-scaled quantization (OCP MX v1.0, NVFP4) and the bit-exact block dot product.

The formats are registered element formats (``golden.families.blockscaled``: ``mxfp4``,
``mxint8``, ``nvfp4``, ...); this module adds what a *block* of them means.

**MX** (OCP Microscaling v1.0, section 6.3): per block of B elements along K, the shared scale is
``X = 2**e`` with ``e = floor(log2(amax)) - emax_elem``, where ``amax`` is the block's largest
magnitude and ``emax_elem = floor(log2(value_max))`` the exponent of the element's largest normal
(FP4: 2, FP6 E2M3: 2, E3M2: 4, FP8 E4M3: 8, E5M2: 15, INT8 with its implicit 2**-6: 0). ``e`` is
stored as an E8M0 code ``e + 127`` (0..254; 255 is NaN and never produced), clamped to
[-127, 127]; an all-zero block gets ``e = -127``. Each element is ``x / X`` rounded to nearest,
ties to even, and clamped to the element's largest magnitude (``x / X`` reaches up to
``2**(emax_elem + 1)``, beyond FP4's 6: the spec clamps). The scale *floors* the exponent;
``ml_dtypes.float8_e8m0fnu(amax)`` rounds to the nearest power of two instead, which would let
``x / X`` fall below the element's range and lose a binade (tests pin the difference).

**NVFP4** (two-level): tensor scale ``t = float32(amax_tensor / (6 * 448))`` (1.0 for an all-zero
tensor); per block of 16 the scale ``s = E4M3(amax_block / 6 / t)``, rounded to nearest even and
clamped to 448 (a block whose scale rounds to 0 quantizes to 0); elements
``FP4(x / (s * t))`` as above.

**Block dot product** (``block_dot``): the exact sum of the B element products of a block (an
integer in units of ``2**-(fa + fw)``, ``fa``, ``fw`` the element formats' shifts) times the
block's two scales (``2**(ea + ew)`` for MX; for NVFP4 the E4M3 scales are exact too, integers
``sa * sw`` in units of ``2**-18``) is aligned to a fixed-point accumulator of ``acc_bits``
bits with ``frac_bits`` fraction bits and added. Alignment shifts left exactly, or right with
truncation toward minus infinity (an arithmetic shift: the bits below ``2**-frac_bits`` are
dropped). The blocks are added in ``order`` (default: ascending K), the sum wrapping or
saturating at ``acc_bits``. With ``wrap`` the order cannot change the result (modular addition
is associative) and truncation happens per block, before any addition; with ``saturate`` it can.
The MX spec leaves accumulator precision and reduction order to the implementation: these two
parameters name them. NVFP4's FP32 tensor scales multiply the accumulator value at the output.
``models.quantized.quantized_gemm`` is the fast float equivalent the accuracy study uses.

**Element-wise operands** (NVFP4 weights x INT8 activations): ``quantize_operand`` also takes an
element-wise format and quantizes symmetrically per row of the other axis (per token, per output
channel) into a ``BlockQuantized`` whose one "block" spans all of K at the unit scale; its float
scales (``outer_scales``) multiply the output, outside the dot product, as a per-token INT8 scale
does in hardware.

**Scale codecs** (``ScaleCodec``): a scale code is an exact ``mantissa * 2**(field + offset)``,
split the way the hardware uses it: E8M0 is a bare shift by its code; E4M3 is a 4-bit
``mantissa`` (``8 + M`` for normals, ``M`` for subnormals) and a shift by
``field = max(E, 1) - 1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from golden.arith import Overflow, acc_range, gemm, product_range, signed_bits
from golden.checks import check_int
from golden.families.blockscaled import SCALE_E4M3, SCALE_E8M0, block_params
from golden.formats import Format, as_format, fp_format
from golden.quantize import quantize_activations, round_to_codes

__all__ = ["BlockQuantized", "ScaleCodec", "SCALE_CODECS", "scale_codec", "bits_per_element",
           "quantize_blocks", "quantize_operand", "emax_elem", "e8m0_exponent", "block_dot",
           "block_gemm", "E8M0_BIAS", "E8M0_NAN", "ACC_LIMITS"]

E8M0_BIAS = 127
E8M0_NAN = 255
ACC_LIMITS = {"acc_bits": (2, 512), "frac_bits": (0, 512)}
"""Accumulator width and fraction bits ``block_dot`` accepts (an exact MX accumulator over the
whole E8M0 range needs about 560 bits; golden computes any width with Python integers)."""
SCALE_BITS = 8
"""Both block scale codes (E8M0, unsigned; FP8 E4M3 with its sign bit) are one byte."""
_E4M3 = fp_format(4, 3)
_NVFP4_TENSOR_PEAK = 6.0 * 448.0


@dataclass(frozen=True)
class ScaleCodec:
    """How a block scale code becomes the exact value ``mantissa * 2**(field + offset)``.

    ``mantissa_bits`` is the width of the unsigned mantissa the hardware multiplies by (0: the
    scale is a bare power of two whose code is the shift, no multiplier; else the FP8 E4M3
    split); ``field`` is the shift the hardware applies and ``offset`` its constant part.
    ``codes`` are the codes the hardware takes (0..codes-1: non-negative and finite, as the
    quantizer produces), ``unit`` the code of 1.0.
    """

    name: str
    mantissa_bits: int
    offset: int
    codes: int
    unit: int

    def parts(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(mantissa, field)`` int64 arrays of ``codes`` (E4M3: signed mantissa for the
        sign bit, which golden decodes and the hardware never receives)."""
        codes = np.asarray(codes, dtype=np.int64)
        if not self.mantissa_bits:
            return np.ones(codes.shape, np.int64), codes
        exponent, mantissa = (codes >> 3) & 0xF, codes & 0x7
        mantissa = np.where(exponent > 0, 8 + mantissa, mantissa)
        return np.where(codes >> 7, -mantissa, mantissa), np.maximum(exponent, 1) - 1


SCALE_CODECS = {SCALE_E8M0: ScaleCodec("e8m0", 0, -E8M0_BIAS, E8M0_NAN, E8M0_BIAS),
                SCALE_E4M3: ScaleCodec("e4m3", 4, -_E4M3.shift, 0x7F, 0x38),
                None: ScaleCodec("none", 0, 0, 1, 0)}
"""Per ``(scale exponent bits, mantissa bits)`` of a block format; ``None``: an element-wise
operand (no block scale: its one code, 0, means 1)."""


def bits_per_element(fmt: Format | str) -> float:
    """Storage per element, its share of the block scale included: MXFP4 4 + 8/32 = 4.25,
    NVFP4 4 + 8/16 = 4.5 (its FP32 tensor scale, once per tensor, is not counted), INT8 8."""
    fmt = as_format(fmt, "fmt")
    params = block_params(fmt)
    if params is None:
        return float(fmt.bits)
    return fmt.bits + SCALE_BITS / params["block"]


def scale_codec(fmt: Format) -> ScaleCodec:
    """The codec of ``fmt``'s block scale (``SCALE_CODECS[None]`` for an element-wise format)."""
    params = block_params(fmt)
    return SCALE_CODECS[None if params is None else
                        (params["scale_exp_bits"], params["scale_man_bits"])]


@dataclass(frozen=True, eq=False)
class BlockQuantized:
    """Element codes, one scale code per block and the tensor scale of one 2-D tensor.

    ``codes`` has the tensor's shape; blocks run along ``axis`` (the reduction axis: 1 for M x K
    activations, 0 for K x N weights), so ``scale_codes`` has that axis divided by the block size.
    ``scale_codes`` are E8M0 codes (MX) or FP8 E4M3 codes (NVFP4); ``tensor_scale`` is the
    float32 NVFP4 tensor scale, 1.0 for MX; ``underflow`` counts the nonzero inputs that became
    code 0 (as ``golden.quantize.Quantized``). An element-wise ``fmt`` (``quantize_operand``) has
    one block spanning the axis, unit ``scale_codes`` (0) and its float scales per row of the
    other axis in ``outer_scales`` (broadcasting against ``codes``).
    """

    codes: np.ndarray
    scale_codes: np.ndarray
    tensor_scale: float
    fmt: Format
    axis: int
    underflow: int = 0
    outer_scales: np.ndarray | None = None

    @property
    def block(self) -> int:
        params = block_params(self.fmt)
        return self.codes.shape[self.axis] if params is None else params["block"]

    def scale_ints(self) -> tuple[np.ndarray, np.ndarray]:
        """Block scales as exact ``(mantissa, exponent)`` int64 pairs: scale = m * 2**e."""
        codec = scale_codec(self.fmt)
        mantissa, field = codec.parts(self.scale_codes)
        return mantissa, field + codec.offset

    def block_scales(self) -> np.ndarray:
        """Each block's scale times the tensor scale (float64, exact for MX)."""
        mantissa, exponent = self.scale_ints()
        return np.ldexp(mantissa.astype(np.float64), exponent) * self.tensor_scale

    def dequantize(self) -> np.ndarray:
        """``element value * block scale`` for every element (float64)."""
        scales = np.repeat(self.block_scales(), self.block, axis=self.axis)
        outer = 1.0 if self.outer_scales is None else self.outer_scales
        return self.fmt.decode(self.codes) * scales * outer


def _params(fmt: Format) -> dict[str, int]:
    params = block_params(fmt)
    if params is None:
        raise ValueError(f"fmt must be a block-scaled format (mxfp4, mxint8, nvfp4, ...), "
                         f"not {fmt.name!r}")
    return params


def emax_elem(fmt: Format | str) -> int:
    """Exponent of the element format's largest normal: ``floor(log2(value_max))``."""
    fmt = as_format(fmt, "fmt")
    return int(np.frexp(fmt.value_max)[1]) - 1


def e8m0_exponent(amax: np.ndarray, fmt: Format | str) -> np.ndarray:
    """OCP MX shared exponent ``floor(log2(amax)) - emax_elem`` clamped to [-127, 127]; -127
    where ``amax`` is 0. ``frexp`` makes the floor exact (no float log2)."""
    fmt = as_format(fmt, "fmt")
    amax = np.asarray(amax, dtype=np.float64)
    floor_log2 = np.frexp(amax)[1].astype(np.int64) - 1
    exponent = np.clip(floor_log2 - emax_elem(fmt), -E8M0_BIAS, E8M0_BIAS)
    return np.where(amax > 0, exponent, -E8M0_BIAS)


def quantize_blocks(x: np.ndarray, fmt: Format | str, axis: int) -> BlockQuantized:
    """Quantize 2-D ``x`` to block-scaled ``fmt`` with blocks along ``axis`` (see the module
    docstring for the MX and NVFP4 rules); that axis must be a multiple of the block size."""
    fmt = as_format(fmt, "fmt")
    params = _params(fmt)
    x = np.asarray(x)
    if x.ndim != 2 or not x.size or x.dtype.kind not in "iuf":
        raise ValueError(f"x must be a non-empty 2-D real array, not shape {x.shape} "
                         f"dtype {x.dtype}")
    x = x.astype(np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"x must be finite, got {float(x[~np.isfinite(x)].flat[0])}")
    if axis not in (0, 1):
        raise ValueError(f"axis must be 0 or 1, not {axis!r}")
    block = params["block"]
    if x.shape[axis] % block:
        raise ValueError(f"x must have a multiple of the block size {block} along axis {axis}, "
                         f"not {x.shape[axis]}")
    blocks = np.moveaxis(x, axis, -1)
    blocks = blocks.reshape(*blocks.shape[:-1], -1, block)
    amax = np.abs(blocks).max(axis=-1)
    tensor_scale = 1.0
    if params["scale_man_bits"]:
        peak = float(np.abs(x).max())
        tensor_scale = float(np.float32(peak / _NVFP4_TENSOR_PEAK)) if peak > 0 else 1.0
        scale_codes = round_to_codes(amax / fmt.value_max / tensor_scale, _E4M3)
        divisor = _E4M3.decode(scale_codes) * tensor_scale
    else:
        exponent = e8m0_exponent(amax, fmt)
        scale_codes = (exponent + E8M0_BIAS).astype(np.uint8)
        divisor = np.ldexp(1.0, exponent)
    safe = np.where(divisor > 0, divisor, 1.0)[..., None]
    codes = round_to_codes(np.where(divisor[..., None] > 0, blocks / safe, 0.0), fmt)
    codes = np.ascontiguousarray(np.moveaxis(codes.reshape(*codes.shape[:-2], -1), -1, axis))
    underflow = int(np.count_nonzero((x != 0) & (codes == 0)))
    return BlockQuantized(codes, np.moveaxis(scale_codes, -1, axis).copy(), tensor_scale, fmt,
                          axis, underflow)


def quantize_operand(x: np.ndarray, fmt: Format | str, axis: int) -> BlockQuantized:
    """``quantize_blocks`` for a block-scaled ``fmt``; for an element-wise one, symmetric
    quantization per row of the other axis (``golden.quantize.quantize_activations`` per token
    for ``axis`` 1, per output channel for 0) as one unit-scale block spanning the axis."""
    fmt = as_format(fmt, "fmt")
    if block_params(fmt) is not None:
        return quantize_blocks(x, fmt, axis)
    if axis not in (0, 1):
        raise ValueError(f"axis must be 0 or 1, not {axis!r}")
    x = np.asarray(x)
    q = quantize_activations(x if axis == 1 else x.T, "token", fmt)
    codes, scales = (q.codes, q.scales) if axis == 1 else (q.codes.T, q.scales.T)
    shape = (codes.shape[0], 1) if axis == 1 else (1, codes.shape[1])
    return BlockQuantized(np.ascontiguousarray(codes), np.zeros(shape, np.int64), 1.0, fmt, axis,
                          q.underflow, scales)


def _check_pair(a: BlockQuantized, w: BlockQuantized) -> int:
    """The K step over which both scales are constant (the smaller block; block sizes are
    powers of two, so it divides the larger), or raise if the operands do not pair up."""
    for param, operand, axis in (("a", a, 1), ("w", w, 0)):
        if not isinstance(operand, BlockQuantized):
            raise TypeError(f"{param} must be a BlockQuantized, not {type(operand).__name__}")
        if operand.axis != axis:
            raise ValueError(f"{param} must have its blocks along axis {axis} (K), "
                             f"not {operand.axis}")
    if a.codes.shape[1] != w.codes.shape[0]:
        raise ValueError(f"a and w must share K, not K = {a.codes.shape[1]} and "
                         f"K = {w.codes.shape[0]}")
    return min(a.block, w.block)


def _block_sums(a: BlockQuantized, w: BlockQuantized, index: int, step: int) -> np.ndarray:
    """Exact integer sum of one block's element products (M x N, units 2**-(fa + fw))."""
    rows = slice(index * step, (index + 1) * step)
    lo, hi = product_range(w.fmt, a.fmt)
    return gemm(a.codes[:, rows], w.codes[rows], w.fmt, act=a.fmt, path="int",
                acc_bits=signed_bits(step * lo, step * hi))


def block_dot(a: BlockQuantized, w: BlockQuantized, acc_bits: int, frac_bits: int,
              overflow: Overflow | str = Overflow.WRAP,
              order: Sequence[int] | None = None) -> np.ndarray:
    """Bit-exact ``a @ w`` of block-scaled operands into a fixed-point accumulator.

    Returns the M x N accumulator words (Python ints in an object array, units
    ``2**-frac_bits``); multiply by ``2**-frac_bits * a.tensor_scale * w.tensor_scale`` for the
    value. With different block sizes (NVFP4's 16 against MXINT8's 32) a block is the smaller
    one. ``order`` is the sequence of block indices the accumulator visits (a permutation of
    ``range(K / block)``; default ascending).
    """
    step = _check_pair(a, w)
    blocks = a.codes.shape[1] // step
    check_int("acc_bits", acc_bits, *ACC_LIMITS["acc_bits"])
    check_int("frac_bits", frac_bits, *ACC_LIMITS["frac_bits"])
    overflow = Overflow.parse(overflow)
    order = list(range(blocks)) if order is None else list(order)
    if sorted(order) != list(range(blocks)):
        raise ValueError(f"order must be a permutation of range({blocks}), not {order!r}")
    lo, hi = acc_range(acc_bits)
    (ma, ea), (mw, ew) = a.scale_ints(), w.scale_ints()
    acc = np.zeros((a.codes.shape[0], w.codes.shape[1]), dtype=object)
    for index in order:
        i, j = index * step // a.block, index * step // w.block
        word = _block_sums(a, w, index, step).astype(object) * (ma[:, i, None] * mw[None, j])
        shift = (ea[:, i, None] + ew[None, j] + frac_bits - a.fmt.shift
                 - w.fmt.shift).astype(object)
        aligned = np.where(shift >= 0, word << np.maximum(shift, 0), word >> np.maximum(-shift, 0))
        acc = _reduce(acc + aligned, lo, hi, overflow)
    return acc


def _reduce(values: np.ndarray, lo: int, hi: int, overflow: Overflow) -> np.ndarray:
    """Wrap or saturate Python-int ``values`` to ``[lo, hi]`` (any width)."""
    if overflow is Overflow.SATURATE:
        return np.minimum(np.maximum(values, lo), hi)
    return (values - lo) % (hi - lo + 1) + lo
