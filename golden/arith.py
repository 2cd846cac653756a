"""Bit-exact MAC, dot-product and GEMM arithmetic.

One MAC step is ``acc <- overflow(acc + (2**f * w) * x, acc_bits)``: the weight enters as its
scaled integer (``Format.decode_scaled``), the activation too (``x`` is its code for INT
activations, ``2**g`` times its value for others), and the sum is
reduced to ``acc_bits`` by two's-complement wrap or by saturation. ``gemm`` equals applying that
step sequentially over K, overflow included: wrap is modular and therefore order-independent, so
any summation order gives the same bits; saturation is not, so it is defined, and computed, in
ascending K order.
"""

from __future__ import annotations

import enum
import functools

import numpy as np

from golden.checks import check_int
from golden.formats import INT8, Format, as_format

__all__ = [
    "Overflow", "signed_bits", "product_range", "product_bits", "DEFAULT_MAX_DEPTH",
    "default_acc_bits", "exact_acc_bits", "check_acc_bits", "acc_range", "apply_overflow",
    "mac_step", "dot",
    "max_abs_product", "gemm_path", "GEMM_PATHS", "gemm", "MAX_ACC_BITS", "gemm_operands",
]

DEFAULT_MAX_DEPTH = 4096
"""Longest accumulation the default accumulator holds without overflow (an LLM hidden size)."""

MAX_ACC_BITS = 48
"""Widest accumulator: keeps every exact partial sum, and acc + product, inside int64."""

_FLOAT_LIMITS = {"float32": 1 << 24, "float": 1 << 53}
"""Exclusive bound on integer magnitudes each float type holds exactly (24/53-bit significand)."""
_BLAS_DTYPES = {"float32": np.float32, "float": np.float64}
GEMM_PATHS = ("auto", *_FLOAT_LIMITS, "int")


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
    """Fewest two's complement bits that hold every integer in ``[lo, hi]``.

    ``v >= 0`` needs ``v.bit_length() + 1`` bits; ``v < 0`` as many as ``~v = -v - 1 >= 0``.
    """
    if lo > hi:
        raise ValueError(f"lo must not exceed hi, not lo={lo!r} > hi={hi!r}")
    return max((v if v >= 0 else ~v).bit_length() for v in (lo, hi)) + 1


def product_range(weight: Format | str, act: Format | str = INT8) -> tuple[int, int]:
    """Smallest and largest ``(2**f * w) * x`` over every weight and activation code."""
    weight, act = as_format(weight), as_format(act, "act")
    corners = [w * x for w in (weight.scaled_min, weight.scaled_max)
               for x in (act.scaled_min, act.scaled_max)]
    return min(corners), max(corners)


def product_bits(weight: Format, act: Format = INT8) -> int:
    """Width of the signed product ``(2**f * w) * x``."""
    return signed_bits(*product_range(weight, act))


def default_acc_bits(weight: Format | str, act: Format | str = INT8,
                     depth: int = DEFAULT_MAX_DEPTH) -> int:
    """Accumulator width that sums ``depth`` extreme products without overflow.

    INT8xINT8: 16-bit products, 28-bit accumulator; INT4/dINT4 x INT8: 12 and 24 bits. Raises
    when that exceeds ``MAX_ACC_BITS`` (FP8 E5M2 x INT8 needs 52): give a narrower width, which
    wraps or saturates exactly.
    """
    weight, act = as_format(weight), as_format(act, "act")
    bits = exact_acc_bits(weight, act, depth)
    if bits > MAX_ACC_BITS:
        raise ValueError(
            f"acc_bits must be given for {weight.name} x {act.name}: an exact accumulator for "
            f"{depth} products needs {bits} bits, more than the {MAX_ACC_BITS} golden computes "
            f"exactly (choose {product_bits(weight, act)}..{MAX_ACC_BITS}; sums then wrap or "
            "saturate)")
    return bits


def exact_acc_bits(weight: Format | str, act: Format | str = INT8,
                   depth: int = DEFAULT_MAX_DEPTH) -> int:
    """Bits that sum ``depth`` extreme products without overflow, whether or not golden can
    compute that wide (``default_acc_bits`` refuses more than ``MAX_ACC_BITS``)."""
    check_int("depth", depth, 1)
    lo, hi = product_range(as_format(weight), as_format(act, "act"))
    return signed_bits(depth * lo, depth * hi)


def check_acc_bits(acc_bits: int, weight: Format | str, act: Format | str = INT8,
                   param: str = "acc_bits") -> int:
    """Return ``acc_bits`` if it holds one product and fits int64, else raise."""
    weight, act = as_format(weight), as_format(act, "act")
    lo = product_bits(weight, act)
    if lo > MAX_ACC_BITS:
        raise ValueError(
            f"{weight.name} x {act.name} is not computable exactly: one product needs {lo} bits, "
            f"more than the {MAX_ACC_BITS}-bit accumulator golden computes exactly")
    return check_int(param, acc_bits, lo, MAX_ACC_BITS,
                     f" for {weight.name} x {act.name} (one product needs {lo} bits)")


def acc_range(acc_bits: int) -> tuple[int, int]:
    return -(1 << (acc_bits - 1)), (1 << (acc_bits - 1)) - 1


def apply_overflow(values: np.ndarray, acc_bits: int, overflow: Overflow | str) -> np.ndarray:
    """Reduce integer ``values`` to ``acc_bits`` by wrap or saturation (int64 result).

    Non-integer values are refused rather than truncated: a sum that is not an integer is a bug.
    """
    overflow = Overflow.parse(overflow)
    check_int("acc_bits", acc_bits, 1, MAX_ACC_BITS)
    values = np.asarray(values)
    if values.dtype.kind not in "iu":
        raise ValueError(f"values must be integers, not dtype {values.dtype}")
    values = values.astype(np.int64, copy=False)
    lo, hi = acc_range(acc_bits)
    if overflow is Overflow.SATURATE:
        return np.clip(values, lo, hi)
    mask = np.int64((1 << acc_bits) - 1)
    low = values & mask
    return np.where(low > hi, low - np.int64(1 << acc_bits), low)


def mac_step(acc: np.ndarray, w_codes: np.ndarray, x_codes: np.ndarray, weight: Format | str,
             acc_bits: int, overflow: Overflow | str = Overflow.WRAP,
             act: Format | str = INT8) -> np.ndarray:
    """One MAC on every element: ``overflow(acc + (2**f * w) * x, acc_bits)``."""
    weight, act = as_format(weight), as_format(act, "act")
    check_acc_bits(acc_bits, weight, act)
    products = weight.decode_scaled(w_codes, "w_codes") * act.decode_scaled(x_codes, "x_codes")
    return apply_overflow(np.asarray(acc) + products, acc_bits, overflow)


def dot(x_codes: np.ndarray, w_codes: np.ndarray, weight: Format | str,
        acc_bits: int | None = None, overflow: Overflow | str = Overflow.WRAP,
        act: Format | str = INT8, acc_init: int = 0) -> int:
    """``x . w`` as a K-step MAC sequence starting from ``acc_init``."""
    x_codes, w_codes = np.asarray(x_codes), np.asarray(w_codes)
    for param, arr in (("x_codes", x_codes), ("w_codes", w_codes)):
        if arr.ndim != 1:
            raise ValueError(f"{param} must be 1-D, not shape {arr.shape}")
    result = gemm(x_codes[None, :], w_codes[:, None], weight, acc_bits, overflow, act,
                  np.asarray([[acc_init]]))
    return int(result[0, 0])


def gemm_path(k: int, weight: Format, act: Format = INT8) -> str:
    """The summation ``gemm(path="auto")`` uses for depth ``k``: the cheapest exact one.

    BLAS adds the K products in an order of its choosing, but every partial sum is a sum of some
    of them, so its magnitude is at most ``K * max|product|``. While that bound is below 2**24
    (float32) or 2**53 (float64) every partial sum is an exactly representable integer and the
    float result is the exact integer sum; beyond both, int64 matmul is used.
    """
    worst = k * max_abs_product(weight, act)
    return next((path for path, limit in _FLOAT_LIMITS.items() if worst < limit), "int")


def max_abs_product(weight: Format, act: Format = INT8) -> int:
    """Largest ``|(2**f * w) * x|`` over every weight and activation code."""
    lo, hi = product_range(weight, act)
    return max(-lo, hi)


def gemm(a_codes: np.ndarray, w_codes: np.ndarray, weight: Format | str,
         acc_bits: int | None = None, overflow: Overflow | str = Overflow.WRAP,
         act: Format | str = INT8, acc_init: np.ndarray | None = None,
         path: str = "auto") -> np.ndarray:
    """``C = A @ W`` with every output the K-step MAC sequence of its row and column.

    ``a_codes`` is M x K activation codes, ``w_codes`` K x N weight codes (any integer dtype;
    int8 is fastest), ``acc_init`` an optional M x N starting accumulator (partial sums of earlier
    K tiles). Returns int64 M x N. ``path`` picks how the exact integer sums are formed:
    ``"float32"`` or ``"float"`` (float64) BLAS while ``K * max|product|`` is below 2**24 or
    2**53 (see ``gemm_path``), ``"int"`` int64 matmul, ``"auto"`` the cheapest exact one; a forced
    float path that could be inexact raises. When no partial sum can leave the accumulator
    (``|acc_init| + K * max|product|`` fits) wrap and saturation are the identity and are skipped;
    saturation that can trigger runs the K steps in ascending order whatever ``path`` says.
    """
    weight, act = as_format(weight), as_format(act, "act")
    overflow = Overflow.parse(overflow)
    acc_bits = default_acc_bits(weight, act) if acc_bits is None else acc_bits
    check_acc_bits(acc_bits, weight, act)
    if path not in GEMM_PATHS:
        raise ValueError(f"path must be one of {list(GEMM_PATHS)}, not {path!r}")
    a_codes, w_codes = gemm_operands(a_codes, w_codes)
    (m, k), n = a_codes.shape, w_codes.shape[1]
    init = _check_acc_init(acc_init, (m, n), acc_bits)
    worst = k * max_abs_product(weight, act)
    path = gemm_path(k, weight, act) if path == "auto" else path
    if path in _FLOAT_LIMITS and worst >= _FLOAT_LIMITS[path]:
        raise ValueError(
            f"path {path!r} is inexact here: K * max|product| = {worst} >= "
            f"2**{_FLOAT_LIMITS[path].bit_length() - 1}")
    init_abs = int(np.abs(init).max()) if init is not None and init.size else 0
    fits = init_abs + worst <= acc_range(acc_bits)[1]
    if overflow is Overflow.SATURATE and not fits:
        return _saturating_gemm(_decode(act, a_codes, np.int64, "a_codes"),
                                _decode(weight, w_codes, np.int64, "w_codes"),
                                np.zeros((m, n), np.int64) if init is None else init, acc_bits)
    dtype = _BLAS_DTYPES.get(path, np.int64)
    sums = _decode(act, a_codes, dtype, "a_codes") @ _decode(weight, w_codes, dtype, "w_codes")
    sums = sums.astype(np.int64, copy=False)
    if init_abs:
        sums += init
    return sums if fits else apply_overflow(sums, acc_bits, Overflow.WRAP)


def gemm_operands(a_codes: np.ndarray, w_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``a_codes`` (M x K) and ``w_codes`` (K x N) as arrays, or raise naming the bad shape."""
    a_codes, w_codes = _matrix(a_codes, "a_codes"), _matrix(w_codes, "w_codes")
    k = a_codes.shape[1]
    if w_codes.shape[0] != k:
        raise ValueError(
            f"w_codes must have {k} rows to match a_codes' {k} columns, not shape {w_codes.shape}")
    return a_codes, w_codes


def _matrix(codes: np.ndarray, param: str) -> np.ndarray:
    codes = np.asarray(codes)
    if codes.ndim != 2:
        raise ValueError(f"{param} must be 2-D, not shape {codes.shape}")
    return codes


def _decode(fmt: Format, codes: np.ndarray, dtype: type, param: str) -> np.ndarray:
    """Scaled values of ``codes`` straight in the summation dtype (checked, no int64 detour)."""
    codes = fmt.check_codes(codes, param)
    if fmt.values_are_codes:
        return codes.astype(dtype)
    if codes.dtype.itemsize == 1:
        return np.take(_byte_table(fmt, codes.dtype.kind, np.dtype(dtype)), codes.view(np.uint8))
    return fmt.scaled_table.astype(dtype)[codes.astype(np.int64) - fmt.code_min]


@functools.cache
def _byte_table(fmt: Format, kind: str, dtype: np.dtype) -> np.ndarray:
    """Scaled value indexed by a one-byte code's bit pattern (``kind`` "i": int8, "u": uint8)."""
    patterns = np.arange(256)
    codes = np.where(patterns >= 128, patterns - 256, patterns) if kind == "i" else patterns
    valid = (codes >= fmt.code_min) & (codes <= fmt.code_max)
    table = np.zeros(256, dtype=dtype)
    table[valid] = fmt.scaled_table[codes[valid] - fmt.code_min]
    table.flags.writeable = False
    return table


def _check_acc_init(acc_init: np.ndarray | None, shape: tuple[int, int],
                    acc_bits: int) -> np.ndarray | None:
    if acc_init is None:
        return None
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
    for kk in range(a_scaled.shape[1]):
        acc += np.multiply.outer(a_scaled[:, kk], w_scaled[kk])
        np.clip(acc, lo, hi, out=acc)
    return acc
