"""Quantizers from float tensors to format codes plus float scales (``codes * scales ~= x``).

Weights ``W`` are K x N (``C = A @ W``, one output channel per column) and get the *smallest*
scale that represents every value of their group without clipping::

    s = max(max(w) / value_max, min(w) / value_min)

The format's range may be asymmetric (INT4 -8..7, dINT4's integer grid -7..6), so both ends are
checked. A group that is all zero gets ``s = 1.0``: any positive scale encodes it exactly, and a
zero scale would have no inverse in hardware or in ``x / s``. Activations ``A`` (M x K) are
quantized symmetrically, ``s = max|x| / code_max`` per token (row) or per tensor, codes in
``[-code_max, code_max]`` (INT8: -127..127; -128 is never produced).

``round_to_codes`` applies the format's rounding rule to values already divided by the scale:

* INT: round half to even, clamp to the code range.
* dINT with special magnitude ``h = 2**-f``: ``|u| < h/2`` -> 0; ``h/2 <= |u| < (h+1)/2`` ->
  ``+-h`` (a special code); otherwise round half to even onto the integer grid, clamped to it.
  For dINT4 (f=1) the thresholds are 1/4 and 3/4. Every value thus lands on its nearest code,
  within ``s/2``.

``underflow`` counts the nonzero inputs that became code 0: the small weights INT-b loses and that
dINT's +-h codes exist to keep.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from golden.formats import INT8, Format, as_format

__all__ = ["Quantized", "quantize", "quantize_weights", "quantize_activations", "round_to_codes",
           "WEIGHT_GRANULARITIES", "ACTIVATION_GRANULARITIES"]

WEIGHT_GRANULARITIES = ("tensor", "channel", "group")
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
    """Codes of ``u`` (values already divided by their scale) under ``fmt``'s rounding rule.

    Returns an array of ``fmt.code_dtype``; out-of-range values clamp to the extreme grid value.
    """
    fmt = as_format(fmt, "fmt")
    u = _finite(u, "u")
    if fmt.kind == "int":
        return np.clip(np.rint(u), fmt.code_min, fmt.code_max).astype(fmt.code_dtype)
    if fmt.kind != "dint":
        raise ValueError(f"fmt must be an int or dint format, not kind {fmt.kind!r}")
    half = 1.0 / (1 << fmt.shift)
    magnitude = np.abs(u)
    codes = np.clip(np.rint(u), fmt.grid_min, fmt.grid_max)
    special = np.where(u < 0, fmt.code_min, fmt.code_max)
    codes = np.where(magnitude < (half + 1) / 2, special, codes)
    codes = np.where(magnitude < half / 2, 0, codes)
    return codes.astype(fmt.code_dtype)


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
    axes = (1, 2) if granularity == "tensor" else (1,)
    scales = np.maximum(blocks.max(axis=axes) / fmt.value_max,
                        blocks.min(axis=axes) / fmt.value_min)
    scales = scales.reshape(blocks.shape[0], -1)
    return quantize(w, np.where(scales > 0, scales, 1.0), fmt)


def quantize_activations(x: np.ndarray, granularity: str = "token",
                         fmt: Format | str = INT8) -> Quantized:
    """Symmetric quantization of M x K activations: ``s = max|x| / code_max`` per row or tensor."""
    fmt = as_format(fmt, "fmt")
    x = _finite(_matrix(x, "x"), "x")
    if granularity not in ACTIVATION_GRANULARITIES:
        raise ValueError(
            f"granularity must be one of {list(ACTIVATION_GRANULARITIES)}, not {granularity!r}")
    if fmt.kind != "int":
        raise ValueError(f"fmt must be an int format for activations, not {fmt.name!r}")
    peak = np.abs(x).max(axis=1 if granularity == "token" else None, keepdims=True, initial=0.0)
    scales = (peak / fmt.code_max).reshape(-1, 1)
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
