"""Bit-exact MAC, dot-product and GEMM arithmetic.

One MAC step is ``acc <- overflow(acc + (2**f * w) * x, acc_bits)``: the weight enters as its
scaled integer (``Format.decode_scaled``), the activation as its integer code, and the sum is
reduced to ``acc_bits`` by two's-complement wrap or by saturation. ``gemm`` equals applying that
step sequentially over K, overflow included: wrap is modular and therefore order-independent, so
any summation order gives the same bits; saturation is not, so it is defined, and computed, in
ascending K order.
"""

from __future__ import annotations

import enum

import numpy as np

from golden.formats import INT8, Format

__all__ = [
    "Overflow", "signed_bits", "product_range", "product_bits", "DEFAULT_MAX_DEPTH",
    "default_acc_bits", "check_acc_bits", "acc_range", "apply_overflow", "mac_step", "dot", "gemm",
]

DEFAULT_MAX_DEPTH = 4096
"""Longest accumulation the default accumulator holds without overflow (an LLM hidden size)."""

_FLOAT_EXACT = 1 << 53
_MAX_ACC_BITS = 48
"""Widest accumulator: keeps every exact partial sum, and acc + product, inside int64."""


class Overflow(str, enum.Enum):
    """What the accumulator does with a sum outside its range."""

    WRAP = "wrap"
    SATURATE = "saturate"

    @classmethod
    def parse(cls, value: "Overflow | str", param: str = "overflow") -> "Overflow":
        try:
            return cls(value)
        except ValueError:
            raise ValueError(
                f"{param} must be one of {[m.value for m in cls]}, not {value!r}") from None


def signed_bits(lo: int, hi: int) -> int:
    """Fewest two's complement bits that hold every integer in ``[lo, hi]``."""
    bits = 1
    while lo < -(1 << (bits - 1)) or hi > (1 << (bits - 1)) - 1:
        bits += 1
    return bits


def product_range(weight: Format, act: Format = INT8) -> tuple[int, int]:
    """Smallest and largest ``(2**f * w) * x`` over every weight and activation code."""
    corners = [w * x for w in (weight.scaled_min, weight.scaled_max)
               for x in (act.scaled_min, act.scaled_max)]
    return min(corners), max(corners)


def product_bits(weight: Format, act: Format = INT8) -> int:
    """Width of the signed product ``(2**f * w) * x``."""
    return signed_bits(*product_range(weight, act))


def default_acc_bits(weight: Format, act: Format = INT8, depth: int = DEFAULT_MAX_DEPTH) -> int:
    """Accumulator width that sums ``depth`` extreme products without overflow.

    INT8xINT8: 16-bit products, 28-bit accumulator; INT4/dINT4 x INT8: 12 and 24 bits.
    """
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 1:
        raise ValueError(f"depth must be a positive integer, not {depth!r}")
    lo, hi = product_range(weight, act)
    return signed_bits(depth * lo, depth * hi)


def check_acc_bits(acc_bits: int, weight: Format, act: Format = INT8,
                   param: str = "acc_bits") -> int:
    """Return ``acc_bits`` if it holds one product and fits int64, else raise."""
    lo = product_bits(weight, act)
    if not isinstance(acc_bits, int) or isinstance(acc_bits, bool) \
            or not lo <= acc_bits <= _MAX_ACC_BITS:
        raise ValueError(
            f"{param} must be an integer in [{lo}, {_MAX_ACC_BITS}] for {weight.name} x "
            f"{act.name} (one product needs {lo} bits), not {acc_bits!r}")
    return acc_bits


def acc_range(acc_bits: int) -> tuple[int, int]:
    return -(1 << (acc_bits - 1)), (1 << (acc_bits - 1)) - 1


def apply_overflow(values: np.ndarray, acc_bits: int, overflow: Overflow | str) -> np.ndarray:
    """Reduce int64 ``values`` to ``acc_bits`` by wrap or saturation."""
    overflow = Overflow.parse(overflow)
    values = np.asarray(values, dtype=np.int64)
    lo, hi = acc_range(acc_bits)
    if overflow is Overflow.SATURATE:
        return np.clip(values, lo, hi)
    mask = np.int64((1 << acc_bits) - 1)
    low = values & mask
    return np.where(low > hi, low - np.int64(1 << acc_bits), low)


def mac_step(acc: np.ndarray, w_codes: np.ndarray, x_codes: np.ndarray, weight: Format,
             acc_bits: int, overflow: Overflow | str = Overflow.WRAP,
             act: Format = INT8) -> np.ndarray:
    """One MAC on every element: ``overflow(acc + (2**f * w) * x, acc_bits)``."""
    check_acc_bits(acc_bits, weight, act)
    products = weight.decode_scaled(w_codes, "w_codes") * act.decode_scaled(x_codes, "x_codes")
    return apply_overflow(np.asarray(acc, dtype=np.int64) + products, acc_bits, overflow)


def dot(x_codes: np.ndarray, w_codes: np.ndarray, weight: Format, acc_bits: int | None = None,
        overflow: Overflow | str = Overflow.WRAP, act: Format = INT8, acc_init: int = 0) -> int:
    """``x . w`` as a K-step MAC sequence starting from ``acc_init``."""
    x_codes, w_codes = np.asarray(x_codes), np.asarray(w_codes)
    for param, arr in (("x_codes", x_codes), ("w_codes", w_codes)):
        if arr.ndim != 1:
            raise ValueError(f"{param} must be 1-D, not shape {arr.shape}")
    result = gemm(x_codes[None, :], w_codes[:, None], weight, acc_bits, overflow, act,
                  np.asarray([[acc_init]]))
    return int(result[0, 0])


def gemm(a_codes: np.ndarray, w_codes: np.ndarray, weight: Format, acc_bits: int | None = None,
         overflow: Overflow | str = Overflow.WRAP, act: Format = INT8,
         acc_init: np.ndarray | None = None, path: str = "auto") -> np.ndarray:
    """``C = A @ W`` with every output the K-step MAC sequence of its row and column.

    ``a_codes`` is M x K activation codes, ``w_codes`` K x N weight codes, ``acc_init`` an
    optional M x N starting accumulator (partial sums of earlier K tiles). Returns int64 M x N.
    Exact integer sums come from float64 BLAS while ``K * max|product|`` stays below 2**53 (every
    partial sum is then an exactly representable integer, whatever order BLAS adds in), from
    int64 matmul otherwise (``path`` = ``"float"`` or ``"int"`` forces one, for testing);
    saturation that can actually trigger runs the K steps in order.
    """
    overflow = Overflow.parse(overflow)
    acc_bits = default_acc_bits(weight, act) if acc_bits is None else acc_bits
    check_acc_bits(acc_bits, weight, act)
    a_codes, w_codes = np.asarray(a_codes), np.asarray(w_codes)
    for param, arr in (("a_codes", a_codes), ("w_codes", w_codes)):
        if arr.ndim != 2:
            raise ValueError(f"{param} must be 2-D, not shape {arr.shape}")
    (m, k), (k2, n) = a_codes.shape, w_codes.shape
    if k != k2:
        raise ValueError(
            f"w_codes must have {k} rows to match a_codes' {k} columns, not shape {w_codes.shape}")
    init = _check_acc_init(acc_init, (m, n), acc_bits)
    if path not in ("auto", "float", "int"):
        raise ValueError(f"path must be one of ['auto', 'float', 'int'], not {path!r}")
    identity = act.shift == 0 and not act.specials
    a_scaled = act.check_codes(a_codes, "a_codes") if identity \
        else act.decode_scaled(a_codes, "a_codes")
    w_scaled = weight.decode_scaled(w_codes, "w_codes")
    lo, hi = product_range(weight, act)
    worst = k * max(-lo, hi)
    acc_lo, acc_hi = acc_range(acc_bits)
    init_abs = int(np.abs(init).max()) if init.size else 0
    if overflow is Overflow.SATURATE and init_abs + worst > min(-acc_lo - 1, acc_hi):
        return _saturating_gemm(a_scaled, w_scaled, init, acc_bits)
    if path == "float" and worst >= _FLOAT_EXACT:
        raise ValueError(f"path 'float' is inexact here: K * max|product| = {worst} >= 2**53")
    if path == "float" or (path == "auto" and worst < _FLOAT_EXACT):
        sums = (a_scaled.astype(np.float64) @ w_scaled.astype(np.float64)).astype(np.int64)
    else:
        sums = a_scaled.astype(np.int64) @ w_scaled
    if init_abs:
        sums += init
    return apply_overflow(sums, acc_bits, Overflow.WRAP)


def _check_acc_init(acc_init: np.ndarray | None, shape: tuple[int, int], acc_bits: int) -> np.ndarray:
    if acc_init is None:
        return np.zeros(shape, dtype=np.int64)
    init = np.asarray(acc_init)
    if init.dtype.kind not in "iu" or init.shape != shape:
        raise ValueError(
            f"acc_init must be an integer array of shape {shape}, not {init.dtype} {init.shape}")
    lo, hi = acc_range(acc_bits)
    if init.size and (int(init.min()) < lo or int(init.max()) > hi):
        raise ValueError(f"acc_init must lie in the {acc_bits}-bit accumulator range [{lo}, {hi}]")
    return init.astype(np.int64)


def _saturating_gemm(a_scaled: np.ndarray, w_scaled: np.ndarray, init: np.ndarray,
                     acc_bits: int) -> np.ndarray:
    """Saturating accumulation in ascending K order, vectorised over the M x N outputs."""
    lo, hi = acc_range(acc_bits)
    acc = init.copy()
    a64 = a_scaled.astype(np.int64)
    for kk in range(a64.shape[1]):
        acc += np.multiply.outer(a64[:, kk], w_scaled[kk])
        np.clip(acc, lo, hi, out=acc)
    return acc

