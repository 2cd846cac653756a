"""Quantizers from float tensors to format codes plus float scales (``codes * scales ~= x``).

Weights ``W`` are K x N (``C = A @ W``, one output channel per column) and get the *smallest*
scale that represents every value of their group without clipping::

    s = max(max(w) / value_max, min(w) / value_min)

The format's range may be asymmetric (INT4 -8..7, dINT4's integer grid -7..6, NF4's 8 positive
and 7 negative levels), so both ends are checked. A group that is all zero gets ``s = 1.0``: any
positive scale encodes it exactly, and a zero scale would have no inverse in hardware or in
``x / s``. Activations ``A`` (M x K) are quantized symmetrically, ``s = max|x| / peak`` per token
(row) or per tensor with ``peak = min(value_max, -value_min)`` (INT8: 127, so -128 is never
produced; FP8 E4M3: 448).

``round_to_codes`` applies the format family's rounding rule to values already divided by the
scale (``golden.families``): INT rounds half to even and clamps; dINT has its own thresholds;
every table family (FP, ternary, NF4) takes the nearest valid value, ties to the even bit
pattern (IEEE round-half-to-even for FP), clamped to the value range. Every in-range value thus
lands on a nearest code; excluded codes (-0, NaN, Inf) are never produced.

``underflow`` counts the nonzero inputs that became code 0: the small weights INT-b loses and that
dINT's +-h codes exist to keep.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from golden.formats import INT8, TERNARY, Format, as_format

__all__ = ["Quantized", "quantize", "quantize_weights", "quantize_activations", "round_to_codes",
           "quantize_ternary_twn", "TWN_THRESHOLD", "WEIGHT_GRANULARITIES",
           "ACTIVATION_GRANULARITIES"]

WEIGHT_GRANULARITIES = ("tensor", "channel", "group")
TWN_THRESHOLD = 0.7
"""TWN's threshold as a fraction of the block's mean |w| (Li and Liu, 2016)."""
ACTIVATION_GRANULARITIES = ("token", "tensor")


@dataclass(frozen=True, eq=False)
class Quantized:
    """Codes and scales of one quantized 2-D tensor.

    ``scales`` has one row per block of ``codes.shape[0] // scales.shape[0]`` consecutive rows and
    either one column (shared by every column) or ``codes.shape[1]``: per-tensor (1, 1),
    per-channel (1, N), per-group (K // group_size, N), per-token (M, 1). ``element_scales()``
    expands it to a shape that broadcasts against ``codes``.
    """

    codes: np.ndarray
    scales: np.ndarray
    fmt: Format
    underflow: int

    def element_scales(self) -> np.ndarray:
        """The scale of every element, repeated over each row block (broadcasts with ``codes``)."""
        return _expand(self.scales, self.codes.shape[0])

    def dequantize(self) -> np.ndarray:
        """``decode(codes) * scale`` for every element (float64)."""
        return self.fmt.decode(self.codes) * self.element_scales()


def round_to_codes(u: np.ndarray, fmt: Format | str) -> np.ndarray:
    """Codes of ``u`` (values already divided by their scale) under ``fmt``'s family rounding rule.

    Returns an array of ``fmt.code_dtype``; out-of-range values clamp to the extreme value.
    """
    fmt = as_format(fmt, "fmt")
    return fmt.family.round(_finite(u, "u"), fmt)


def quantize(x: np.ndarray, scales: np.ndarray, fmt: Format | str) -> Quantized:
    """Quantize 2-D ``x`` with explicit positive ``scales`` (shaped as in ``Quantized``)."""
    fmt = as_format(fmt, "fmt")
    x = _finite(_matrix(x, "x"), "x")
    scales = np.asarray(scales)
    rows, cols = x.shape
    if scales.ndim != 2 or scales.shape[0] == 0 or rows % scales.shape[0] \
            or scales.shape[1] not in (1, cols):
        raise ValueError(
            f"scales must be a 2-D array of shape (R, 1) or (R, {cols}) with R dividing {rows}, "
            f"not shape {scales.shape}")
    scales = _finite(scales, "scales")
    if not np.all(scales > 0):
        raise ValueError(f"scales must be positive, got {float(scales[~(scales > 0)].flat[0])}")
    codes = round_to_codes(x / _expand(scales, rows), fmt)
    underflow = int(np.count_nonzero((x != 0) & (codes == 0)))
    return Quantized(codes, scales, fmt, underflow)


def quantize_weights(w: np.ndarray, fmt: Format | str, granularity: str = "channel",
                     group_size: int | None = None) -> Quantized:
    """Quantize K x N weights with the smallest non-clipping scale per tensor, column or group.

    ``"group"`` shares a scale among ``group_size`` consecutive K rows of one column (``K`` must
    be a multiple of ``group_size``); ``group_size`` is only accepted with ``"group"``.
    """
    fmt = as_format(fmt, "fmt")
    w = _finite(_matrix(w, "w"), "w")
    blocks, axes = _weight_blocks(w, granularity, group_size)
    scales = np.maximum(blocks.max(axis=axes) / fmt.value_max,
                        blocks.min(axis=axes) / fmt.value_min)
    scales = scales.reshape(blocks.shape[0], -1)
    return quantize(w, np.where(scales > 0, scales, 1.0), fmt)


def quantize_ternary_twn(w: np.ndarray, granularity: str = "channel",
                         group_size: int | None = None) -> Quantized:
    """Ternary weights by the TWN rule instead of nearest rounding (blocks as ``quantize_weights``).

    Per block: threshold ``t = TWN_THRESHOLD * mean|w|``; ``|w| > t`` -> ``sign(w)``, else 0; the
    scale is the mean ``|w|`` over the weights above ``t`` (1.0 if none), the least-squares
    scale for those codes. Unlike nearest rounding, a weight is kept when it exceeds 0.7 times
    the block's mean magnitude, not half of its maximum.
    """
    w = _finite(_matrix(w, "w"), "w")
    blocks, axes = _weight_blocks(w, granularity, group_size)
    magnitude = np.abs(blocks)
    kept = magnitude > TWN_THRESHOLD * magnitude.mean(axis=axes, keepdims=True)
    count = kept.sum(axis=axes, keepdims=True)
    total = np.where(kept, magnitude, 0.0).sum(axis=axes, keepdims=True)
    scales = np.where(count > 0, total / np.maximum(count, 1), 1.0)
    signs = np.where(kept, np.sign(blocks), 0.0).reshape(w.shape)
    codes = TERNARY.encode(signs)
    underflow = int(np.count_nonzero((w != 0) & (codes == 0)))
    return Quantized(codes.astype(TERNARY.code_dtype), scales.reshape(blocks.shape[0], -1),
                     TERNARY, underflow)


def _weight_blocks(w: np.ndarray, granularity: str,
                   group_size: int | None) -> tuple[np.ndarray, tuple[int, ...]]:
    """``w`` as (blocks, rows, N) and the axes one scale spans, or raise on a bad granularity."""
    if granularity not in WEIGHT_GRANULARITIES:
        raise ValueError(
            f"granularity must be one of {list(WEIGHT_GRANULARITIES)}, not {granularity!r}")
    k, n = w.shape
    if granularity == "group":
        if not isinstance(group_size, int) or isinstance(group_size, bool) or group_size < 1 \
                or k % group_size:
            raise ValueError(
                f"group_size must be a positive integer dividing K = {k}, not {group_size!r}")
        blocks = w.reshape(k // group_size, group_size, n)
    elif group_size is not None:
        raise ValueError(
            f"group_size must be None unless granularity is 'group', not {group_size!r}")
    else:
        blocks = w.reshape(1, k, n)
    return blocks, ((1, 2) if granularity == "tensor" else (1,))


def quantize_activations(x: np.ndarray, granularity: str = "token",
                         fmt: Format | str = INT8) -> Quantized:
    """Symmetric quantization of M x K activations: ``s = max|x| / peak`` per row or tensor,
    ``peak = min(value_max, -value_min)`` (INT8: 127)."""
    fmt = as_format(fmt, "fmt")
    x = _finite(_matrix(x, "x"), "x")
    if granularity not in ACTIVATION_GRANULARITIES:
        raise ValueError(
            f"granularity must be one of {list(ACTIVATION_GRANULARITIES)}, not {granularity!r}")
    peak_value = min(fmt.value_max, -fmt.value_min)
    if peak_value <= 0:
        raise ValueError(f"fmt must have positive and negative values for symmetric "
                         f"activations, not {fmt.name!r} (range [{fmt.value_min}, "
                         f"{fmt.value_max}])")
    peak = np.abs(x).max(axis=1 if granularity == "token" else None, keepdims=True, initial=0.0)
    scales = (peak / peak_value).reshape(-1, 1)
    return quantize(x, np.where(scales > 0, scales, 1.0), fmt)


def _expand(scales: np.ndarray, rows: int) -> np.ndarray:
    return np.repeat(scales, rows // scales.shape[0], axis=0)


def _matrix(x: np.ndarray, param: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2 or not x.size:
        raise ValueError(f"{param} must be a non-empty 2-D array, not shape {x.shape}")
    return x


def _finite(x: np.ndarray, param: str) -> np.ndarray:
    """``x`` as float64, or raise naming the first NaN/inf (or the non-numeric dtype)."""
    x = np.asarray(x)
    if x.dtype.kind not in "iuf":
        raise ValueError(f"{param} must be a real numeric array, not dtype {x.dtype}")
    x = x.astype(np.float64, copy=False)
    bad = ~np.isfinite(x)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{param} must be finite, got {float(x[index])} at index {index}")
    return x
