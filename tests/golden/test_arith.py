"""MAC/GEMM arithmetic against brute force over every code and a sequential MAC reference."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from golden.arith import GEMM_PATHS, Overflow, acc_range, apply_overflow, check_acc_bits, \
    default_acc_bits, dot, gemm, gemm_path, mac_step, max_abs_product, product_bits, \
    product_range, signed_bits
from golden.formats import DINT4, INT4, INT8, Format, get_format

WEIGHTS = [INT8, INT4, DINT4, get_format("dint3"), get_format("int2"), get_format("dint4f2")]
ACTS = [INT8, INT4]
FLOAT_PATHS = ("float32", "float")
SEED = 20231207


def ids(fmt: Format) -> str:
    return fmt.name


def all_products(weight: Format, act: Format) -> np.ndarray:
    return np.multiply.outer(weight.scaled_table, act.scaled_table).ravel()


def fits(values: list[int], bits: int) -> bool:
    return all(-(1 << (bits - 1)) <= v < (1 << (bits - 1)) for v in values)


def wrap_reference(value: int, bits: int) -> int:
    """Two's complement reading of the low ``bits`` bits of a Python integer."""
    low = value % (1 << bits)
    return low - (1 << bits) if low >= 1 << (bits - 1) else low


def exact_reference(a: np.ndarray, w: np.ndarray, weight: Format, acc_bits: int,
                    act: Format = INT8) -> np.ndarray:
    """Unbounded Python-integer matmul, then wrap: what every summation path must equal."""
    a_obj = act.decode_scaled(a).astype(object)
    w_obj = weight.decode_scaled(w).astype(object)
    sums = a_obj @ w_obj
    return np.vectorize(lambda v: wrap_reference(int(v), acc_bits), otypes=[np.int64])(sums)


def sequential(a: np.ndarray, w: np.ndarray, weight: Format, acc_bits: int, overflow: Overflow,
               act: Format = INT8, init: np.ndarray | None = None,
               order: range | None = None) -> np.ndarray:
    """``mac_step`` applied over K (in ``order``), all M x N outputs at once."""
    acc = np.zeros((a.shape[0], w.shape[1]), np.int64) if init is None else init.copy()
    for kk in range(a.shape[1]) if order is None else order:
        acc = mac_step(acc, w[kk][None, :], a[:, kk][:, None], weight, acc_bits, overflow, act)
    return acc


def extreme_codes(fmt: Format, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Codes drawn from the extremes: range ends, grid ends (dINT), and zero."""
    corners = sorted({fmt.code_min, fmt.code_max, fmt.grid_min, fmt.grid_max, 0})
    return rng.choice(np.asarray(corners, dtype=np.int64), size=shape)


# --- widths -------------------------------------------------------------------------------

def test_signed_bits_is_the_fewest_that_fit() -> None:
    for lo in range(-70, 71):
        for hi in range(lo, 71):
            bits = signed_bits(lo, hi)
            assert fits([lo, hi], bits) and (bits == 1 or not fits([lo, hi], bits - 1)), (lo, hi)


def test_signed_bits_rejects_empty_range() -> None:
    with pytest.raises(ValueError, match=r"^lo must not exceed hi, not lo=3 > hi=2$"):
        signed_bits(3, 2)


@pytest.mark.parametrize("act", ACTS, ids=ids)
@pytest.mark.parametrize("weight", WEIGHTS, ids=ids)
def test_product_range_and_bits_match_brute_force(weight: Format, act: Format) -> None:
    products = all_products(weight, act)
    assert product_range(weight, act) == (int(products.min()), int(products.max()))
    assert max_abs_product(weight, act) == int(np.abs(products).max())
    bits = product_bits(weight, act)
    assert fits(products.tolist(), bits) and not fits(products.tolist(), bits - 1)


@pytest.mark.parametrize("depth", [1, 3, 1000, 4096])
@pytest.mark.parametrize("weight", WEIGHTS, ids=ids)
def test_default_acc_bits_holds_depth_extreme_products(weight: Format, depth: int) -> None:
    products = all_products(weight, INT8)
    extremes = [depth * int(products.min()), depth * int(products.max())]
    bits = default_acc_bits(weight, INT8, depth)
    assert fits(extremes, bits) and not fits(extremes, bits - 1)


def test_default_depth_accumulates_without_overflow() -> None:
    for weight in WEIGHTS:
        bits = default_acc_bits(weight)
        a = np.full((1, 4096), INT8.code_min, dtype=np.int8)
        worst_w = weight.codes[np.argmin(weight.scaled_table)]
        w = np.full((4096, 1), worst_w, dtype=np.int64)
        exact = 4096 * INT8.code_min * weight.scaled_min
        assert gemm(a, w, weight, bits, "saturate")[0, 0] == exact
        assert gemm(a, w, weight, bits, "wrap")[0, 0] == exact


@pytest.mark.parametrize("depth", [0, -1, 2.0, True])
def test_default_acc_bits_rejects_bad_depth(depth: object) -> None:
    with pytest.raises(ValueError, match=rf"^depth must be a positive integer, not "
                                         rf"{re.escape(repr(depth))}$"):
        default_acc_bits(DINT4, INT8, depth)


@pytest.mark.parametrize("weight", [INT8, DINT4], ids=ids)
@pytest.mark.parametrize("offset", [-1, 41])
def test_check_acc_bits_needs_one_product_and_int64(weight: Format, offset: int) -> None:
    low = product_bits(weight)
    bad = low - 1 if offset < 0 else 49
    assert check_acc_bits(low, weight) == low and check_acc_bits(48, weight) == 48
    with pytest.raises(ValueError, match=rf"^acc_bits must be an integer in \[{low}, 48\] for "
                                         rf"{weight.name} x int8 \(one product needs {low} bits\),"
                                         rf" not {bad}$"):
        check_acc_bits(bad, weight)


def test_overflow_parse() -> None:
    assert Overflow.parse("wrap") is Overflow.WRAP
    assert Overflow.parse(Overflow.SATURATE) is Overflow.SATURATE
    with pytest.raises(ValueError, match=r"^overflow must be one of \['wrap', 'saturate'\], "
                                         r"not 'clip'$"):
        Overflow.parse("clip")


# --- overflow and the MAC step --------------------------------------------------------------

@pytest.mark.parametrize("bits", [2, 8, 13, 48])
def test_wrap_and_saturate_corners(bits: int) -> None:
    lo, hi = acc_range(bits)
    values = [lo, hi, hi + 1, lo - 1, 2 * hi + 1, 2 * lo, 0, -1, 3 * (hi + 1) + 5, (1 << 62) + 7,
              -(1 << 62) - 9]
    wrapped = apply_overflow(np.array(values), bits, "wrap").tolist()
    assert wrapped == [wrap_reference(v, bits) for v in values]
    saturated = apply_overflow(np.array(values), bits, "saturate").tolist()
    assert saturated == [min(max(v, lo), hi) for v in values]


@pytest.mark.parametrize("overflow", list(Overflow))
@pytest.mark.parametrize("weight", WEIGHTS, ids=ids)
def test_mac_step_every_code_pair(weight: Format, overflow: Overflow) -> None:
    bits = product_bits(weight)
    lo, hi = acc_range(bits)
    scaled = np.array([int(weight.value(int(c)) * (1 << weight.shift)) for c in weight.codes])
    w, x = (g.ravel() for g in np.meshgrid(weight.codes, INT8.codes))
    for acc in (lo, -1, 0, 1, hi):
        got = mac_step(np.full(w.shape, acc), w, x, weight, bits, overflow)
        exact = acc + scaled[w - weight.code_min] * x
        expected = (exact - lo) % (1 << bits) + lo if overflow is Overflow.WRAP \
            else np.clip(exact, lo, hi)
        np.testing.assert_array_equal(got, expected)


# --- GEMM ------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["auto", *FLOAT_PATHS, "int"])
@pytest.mark.parametrize("stimulus", ["random", "extreme"])
@pytest.mark.parametrize("weight", WEIGHTS, ids=ids)
def test_every_path_equals_exact_reference(weight: Format, stimulus: str, path: str) -> None:
    rng = np.random.default_rng(SEED)
    m, k, n = 5, 257, 6
    k = min(k, (1 << 24) // max_abs_product(weight) - 1) if path == "float32" else k
    if stimulus == "random":
        a = rng.integers(INT8.code_min, INT8.code_max + 1, (m, k), dtype=np.int8)
        w = rng.integers(weight.code_min, weight.code_max + 1, (k, n)).astype(weight.code_dtype)
    else:
        a, w = extreme_codes(INT8, rng, (m, k)), extreme_codes(weight, rng, (k, n))
    for acc_bits in (default_acc_bits(weight), product_bits(weight) + 2):
        expected = exact_reference(a, w, weight, acc_bits)
        np.testing.assert_array_equal(gemm(a, w, weight, acc_bits, "wrap", path=path), expected)


def test_float32_path_exact_at_its_bound() -> None:
    """K extreme products plus one odd one: the largest, least-significant-bit-sensitive sum."""
    worst = max_abs_product(DINT4)
    k = ((1 << 24) - 1) // worst
    a = np.full((2, k), INT8.code_min, dtype=np.int8)
    w = np.full((k, 3), DINT4.grid_min, dtype=np.int8)
    a[:, 0], w[0, :] = 1, DINT4.code_max
    expected = (k - 1) * worst + 1
    assert gemm_path(k, DINT4) == "float32"
    assert (gemm(a, w, DINT4, 48, path="float32") == expected).all()
    a2 = np.concatenate([a, np.full((2, k), INT8.code_min)], axis=1).astype(np.float32)
    w2 = DINT4.decode_scaled(np.concatenate([w, np.full((k, 3), DINT4.grid_min)]))
    beyond = (a2 @ w2.astype(np.float32)).astype(np.int64)
    assert (beyond != expected + k * worst).any(), "float32 past 2**24 was exact: bound untested"


def test_auto_path_follows_exactness_bounds() -> None:
    worst = max_abs_product(DINT4)
    k24 = ((1 << 24) - 1) // worst
    assert gemm_path(k24, DINT4) == "float32"
    assert gemm_path(k24 + 1, DINT4) == "float"
    big = get_format("int16")
    k53 = ((1 << 53) - 1) // max_abs_product(big, big)
    assert gemm_path(k53, big, big) == "float"
    assert gemm_path(k53 + 1, big, big) == "int"
    assert gemm_path(1024, INT4) == gemm_path(1024, DINT4) == "float32"
    assert set(GEMM_PATHS) == {"auto", "float32", "float", "int"}


@pytest.mark.parametrize(("path", "k", "weight", "act", "exponent"), [
    ("float32", 9363, DINT4, INT8, 24),
    ("float", 1 << 23, get_format("int16"), get_format("int16"), 53),
])
def test_forced_float_path_refuses_inexact_depth(path: str, k: int, weight: Format, act: Format,
                                                 exponent: int) -> None:
    worst = k * max_abs_product(weight, act)
    assert worst >= 1 << exponent
    a = np.broadcast_to(np.int16(0), (1, k))
    w = np.broadcast_to(np.int16(0), (k, 1))
    with pytest.raises(ValueError, match=rf"^path '{path}' is inexact here: K \* max\|product\| "
                                         rf"= {worst} >= 2\*\*{exponent}$"):
        gemm(a, w, weight, 48, act=act, path=path)


@pytest.mark.parametrize("overflow", list(Overflow))
@pytest.mark.parametrize("stimulus", ["random", "extreme"])
@pytest.mark.parametrize("weight", WEIGHTS, ids=ids)
def test_gemm_equals_sequential_mac(weight: Format, stimulus: str, overflow: Overflow) -> None:
    rng = np.random.default_rng(SEED + 1)
    m, k, n = 4, 96, 5
    if stimulus == "random":
        a = rng.integers(INT8.code_min, INT8.code_max + 1, (m, k))
        w = rng.integers(weight.code_min, weight.code_max + 1, (k, n))
    else:
        a, w = extreme_codes(INT8, rng, (m, k)), extreme_codes(weight, rng, (k, n))
    for acc_bits in (product_bits(weight), product_bits(weight) + 3, default_acc_bits(weight)):
        init = rng.integers(*acc_range(acc_bits), (m, n), endpoint=True)
        for acc_init in (None, init):
            expected = sequential(a, w, weight, acc_bits, overflow, init=acc_init)
            got = gemm(a, w, weight, acc_bits, overflow, acc_init=acc_init)
            np.testing.assert_array_equal(got, expected, err_msg=f"acc_bits={acc_bits}")


def test_all_most_negative_products_overflow_both_ways() -> None:
    """-128 x the most negative weight value K times: the largest positive sum there is."""
    k, acc_bits = 64, product_bits(DINT4) + 2
    a = np.full((1, k), -128, dtype=np.int8)
    w = np.full((k, 1), DINT4.grid_min, dtype=np.int8)
    total = k * 128 * 14
    assert gemm(a, w, DINT4, acc_bits, "wrap")[0, 0] == wrap_reference(total, acc_bits)
    assert gemm(a, w, DINT4, acc_bits, "saturate")[0, 0] == acc_range(acc_bits)[1]


@pytest.mark.parametrize("weight", WEIGHTS, ids=ids)
def test_overflow_exactly_one_past_the_top(weight: Format) -> None:
    """acc_init + the largest product lands on hi (kept) or hi + 1 (wraps to lo / saturates)."""
    bits = product_bits(weight) + 1
    lo, hi = acc_range(bits)
    a = np.full((1, 1), INT8.code_min)
    w = np.full((1, 1), weight.codes[np.argmin(weight.scaled_table)])
    top = max_abs_product(weight)
    assert int(INT8.code_min * weight.scaled_min) == top
    for overflow, past in (("wrap", lo), ("saturate", hi)):
        for start, expected in ((hi - top, hi), (hi - top + 1, past)):
            got = gemm(a, w, weight, bits, overflow, acc_init=np.array([[start]]))
            assert got[0, 0] == expected, (overflow, start)


def test_saturation_is_in_ascending_k_order() -> None:
    """Saturation depends on order; gemm follows K ascending, as the hardware streams it."""
    bits = product_bits(DINT4)
    top = DINT4.codes[np.argmin(DINT4.scaled_table)]
    a = np.array([[-128, -128, 127]])
    w = np.full((3, 1), top)
    ascending = sequential(a, w, DINT4, bits, Overflow.SATURATE)
    descending = sequential(a, w, DINT4, bits, Overflow.SATURATE, order=range(2, -1, -1))
    assert ascending[0, 0] != descending[0, 0]
    assert gemm(a, w, DINT4, bits, "saturate")[0, 0] == ascending[0, 0]


@pytest.mark.parametrize("overflow", list(Overflow))
def test_k_tiles_chain_through_acc_init(overflow: Overflow) -> None:
    rng = np.random.default_rng(SEED + 2)
    a = rng.integers(-128, 128, (3, 50), dtype=np.int8)
    w = rng.integers(-8, 8, (50, 4), dtype=np.int8)
    bits = product_bits(DINT4) + 4
    first = gemm(a[:, :20], w[:20], DINT4, bits, overflow)
    chained = gemm(a[:, 20:], w[20:], DINT4, bits, overflow, acc_init=first)
    np.testing.assert_array_equal(chained, gemm(a, w, DINT4, bits, overflow))


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.int32, np.int64, np.uint16])
@pytest.mark.parametrize("weight", [INT4, DINT4, get_format("dint4f2")], ids=ids)
def test_code_dtypes_decode_alike(weight: Format, dtype: type) -> None:
    rng = np.random.default_rng(SEED + 3)
    low = 0 if np.dtype(dtype).kind == "u" else weight.code_min
    w = rng.integers(low, weight.code_max + 1, (64, 7))
    a = rng.integers(0 if np.dtype(dtype).kind == "u" else -128, 128, (6, 64))
    expected = exact_reference(a, w, weight, 30)
    for path in ("auto", "int"):
        got = gemm(a.astype(dtype), w.astype(dtype), weight, 30, path=path)
        np.testing.assert_array_equal(got, expected)


def test_dot_is_one_output_of_gemm() -> None:
    rng = np.random.default_rng(SEED + 4)
    x = rng.integers(-128, 128, 40)
    w = rng.integers(-8, 8, 40)
    assert dot(x, w, DINT4) == int(exact_reference(x[None, :], w[:, None], DINT4, 24)[0, 0])
    assert dot(x, w, DINT4, acc_init=5) == dot(x, w, DINT4) + 5
    with pytest.raises(ValueError, match=r"^x_codes must be 1-D, not shape \(2, 20\)$"):
        dot(x.reshape(2, 20), w, DINT4)


@given(st.sampled_from(WEIGHTS), st.sampled_from(list(Overflow)), st.integers(0, 4),
       st.data())
@settings(max_examples=80, deadline=None)
def test_gemm_equals_sequential_mac_property(weight: Format, overflow: Overflow, extra: int,
                                             data: st.DataObject) -> None:
    m, k, n = (data.draw(st.integers(1, hi)) for hi in (3, 24, 3))
    a = data.draw(hnp.arrays(np.int64, (m, k), elements=st.integers(-128, 127)))
    w = data.draw(hnp.arrays(np.int64, (k, n),
                             elements=st.integers(weight.code_min, weight.code_max)))
    acc_bits = product_bits(weight) + extra
    np.testing.assert_array_equal(gemm(a, w, weight, acc_bits, overflow),
                                  sequential(a, w, weight, acc_bits, overflow))


# --- bad input -------------------------------------------------------------------------------

A = np.zeros((2, 3), dtype=np.int8)
W = np.zeros((3, 4), dtype=np.int8)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"a_codes": A[0]}, r"^a_codes must be 2-D, not shape \(3,\)$"),
    ({"w_codes": W[None]}, r"^w_codes must be 2-D, not shape \(1, 3, 4\)$"),
    ({"w_codes": W[:2]}, r"^w_codes must have 3 rows to match a_codes' 3 columns, "
                         r"not shape \(2, 4\)$"),
    ({"w_codes": W + 8}, r"^w_codes holds code 8, outside dint4's range \[-8, 7\]$"),
    ({"a_codes": A.astype(np.int16) - 129},
     r"^a_codes holds code -129, outside int8's range \[-128, 127\]$"),
    ({"a_codes": A.astype(float)}, r"^a_codes must be an integer array of int8 codes, "
                                   r"not dtype float64$"),
    ({"path": "blas"}, r"^path must be one of \['auto', 'float32', 'float', 'int'\], "
                       r"not 'blas'$"),
    ({"overflow": "clip"}, r"^overflow must be one of \['wrap', 'saturate'\], not 'clip'$"),
    ({"acc_bits": 11}, r"^acc_bits must be an integer in \[12, 48\] for dint4 x int8 "
                       r"\(one product needs 12 bits\), not 11$"),
    ({"acc_init": np.zeros((2, 3), np.int64)},
     r"^acc_init must be an integer array of shape \(2, 4\), not int64 \(2, 3\)$"),
    ({"acc_init": np.zeros((2, 4))},
     r"^acc_init must be an integer array of shape \(2, 4\), not float64 \(2, 4\)$"),
    ({"acc_init": np.full((2, 4), 1 << 23)},
     r"^acc_init must lie in the 24-bit accumulator range \[-8388608, 8388607\]$"),
])
def test_gemm_rejects_bad_input(kwargs: dict, message: str) -> None:
    args = {"a_codes": A, "w_codes": W, "weight": DINT4} | kwargs
    with pytest.raises(ValueError, match=message):
        gemm(**args)


@pytest.mark.parametrize(("values", "acc_bits", "message"), [
    ([1.9], 8, r"^values must be integers, not dtype float64$"),
    (np.array([2.0]), 8, r"^values must be integers, not dtype float64$"),
    ([1 << 70], 8, r"^values must be integers, not dtype object$"),
    ([1], 0, r"^acc_bits must be an integer in \[1, 48\], not 0$"),
    ([1], 49, r"^acc_bits must be an integer in \[1, 48\], not 49$"),
])
def test_apply_overflow_rejects_non_integers_and_bad_widths(values: list, acc_bits: int,
                                                            message: str) -> None:
    with pytest.raises(ValueError, match=message):
        apply_overflow(values, acc_bits, "wrap")


def test_format_names_are_accepted_and_other_types_refused() -> None:
    assert product_bits("dint4", "int8") == product_bits(DINT4, INT8)
    np.testing.assert_array_equal(gemm(A, W, "dint4"), gemm(A, W, DINT4))
    np.testing.assert_array_equal(mac_step(0, W[0], A[0, 0], "dint4", 24),
                                  mac_step(0, W[0], A[0, 0], DINT4, 24))
    with pytest.raises(TypeError, match=r"^weight must be a Format or a format name such as "
                                        r"'dint4', not 4$"):
        gemm(A, W, 4)
    with pytest.raises(TypeError, match=r"^act must be a Format or a format name such as "
                                        r"'dint4', not 8$"):
        check_acc_bits(24, DINT4, 8)


# --- table formats (FP, ternary, NF4) and non-INT activations ---------------------------------

TABLE_WEIGHTS = [get_format(name) for name in ("fp4", "fp6e2m3", "fp6e3m2", "fp8e4m3",
                                               "fp8e5m2", "ternary", "nf4")]
TABLE_ACTS = [INT8, get_format("fp8e4m3"), INT4]


def finite_products(weight: Format, act: Format) -> np.ndarray:
    return np.multiply.outer(weight.decode_scaled(weight.finite_codes),
                             act.decode_scaled(act.finite_codes)).ravel()


@pytest.mark.parametrize("act", TABLE_ACTS, ids=ids)
@pytest.mark.parametrize("weight", TABLE_WEIGHTS, ids=ids)
def test_table_format_product_widths_match_brute_force(weight: Format, act: Format) -> None:
    products = finite_products(weight, act)
    assert product_range(weight, act) == (int(products.min()), int(products.max()))
    bits = product_bits(weight, act)
    assert fits(products.tolist(), bits) and not fits(products.tolist(), bits - 1)


@pytest.mark.parametrize(("weight", "act"), [
    (weight, act) for weight in TABLE_WEIGHTS for act in TABLE_ACTS
    if product_bits(weight, act) <= 48], ids=lambda f: f.name)
def test_table_format_gemm_equals_exact_and_sequential_reference(weight: Format,
                                                                 act: Format) -> None:
    rng = np.random.default_rng(SEED)
    m, k, n = 4, 40, 5
    a = rng.choice(act.finite_codes, (m, k)).astype(act.code_dtype)
    w = rng.choice(weight.finite_codes, (k, n)).astype(weight.code_dtype)
    low = product_bits(weight, act)
    for acc_bits in sorted({low, min(low + 3, 48), min(low + 6, 48)}):
        np.testing.assert_array_equal(gemm(a, w, weight, acc_bits, "wrap", act),
                                      exact_reference(a, w, weight, acc_bits, act))
        np.testing.assert_array_equal(gemm(a, w, weight, acc_bits, "saturate", act),
                                      sequential(a, w, weight, acc_bits, Overflow.SATURATE, act))


def test_exact_accumulators_beyond_48_bits_are_refused() -> None:
    e5m2, e4m3 = get_format("fp8e5m2"), get_format("fp8e4m3")
    assert default_acc_bits(e4m3) == 38 and default_acc_bits(get_format("fp4"), e4m3) == 35
    with pytest.raises(ValueError, match=r"^acc_bits must be given for fp8e5m2 x int8: an exact "
                                         r"accumulator for 4096 products needs 52 bits, more than "
                                         r"the 48 golden computes exactly \(choose 40\.\.48; sums "
                                         r"then wrap or saturate\)$"):
        gemm(np.zeros((1, 2), np.int8), np.zeros((2, 1), np.uint8), e5m2)
    assert gemm(np.ones((1, 2), np.int8), np.full((2, 1), 0x7B, np.uint8), e5m2, 48)[0, 0] == \
        2 * 57344 * (1 << 16)
    with pytest.raises(ValueError, match=r"^fp8e5m2 x fp8e5m2 is not computable exactly: one "
                                         r"product needs 65 bits, more than the 48-bit "
                                         r"accumulator golden computes exactly$"):
        check_acc_bits(48, e5m2, e5m2)
