"""Quantizers: rounding rules at their thresholds, never clipping, smallest scale, underflow."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from golden.arith import gemm
from golden.formats import DINT4, FP8_E4M3, INT4, INT8, TERNARY, Format, format_names, \
    get_format
from golden.quantize import TWN_THRESHOLD, Quantized, quantize, quantize_activations, \
    quantize_ternary_twn, quantize_weights, round_to_codes

WEIGHT_FORMATS = [INT4, DINT4, INT8, get_format("dint3"), get_format("dint4f2"),
                  get_format("dint8")]
ALL_FORMATS = [*(get_format(name) for name in format_names()),
               *(get_format(name) for name in ("int2", "dint4f2", "nf4f4"))]
NEAREST_FORMATS = [fmt for fmt in ALL_FORMATS if fmt.kind != "dint"]
"""Formats rounding to the nearest value with ties to the even pattern (dINT has own ties)."""
ML_DTYPES = {"fp4": ml_dtypes.float4_e2m1fn, "fp6e2m3": ml_dtypes.float6_e2m3fn,
             "fp6e3m2": ml_dtypes.float6_e3m2fn, "fp8e4m3": ml_dtypes.float8_e4m3fn,
             "fp8e5m2": ml_dtypes.float8_e5m2}
SEED = 7


def ids(fmt: Format) -> str:
    return fmt.name


def nearest_distance(u: np.ndarray, fmt: Format) -> np.ndarray:
    """Distance from each ``u`` to the closest value a quantizer may produce."""
    return np.abs(u[..., None] - fmt.decode(fmt.valid_codes)).min(axis=-1)


def sorted_valid(fmt: Format) -> tuple[np.ndarray, np.ndarray]:
    """Valid values ascending and their codes."""
    codes = fmt.valid_codes
    values = fmt.decode(codes)
    order = np.argsort(values)
    return values[order], codes[order]


# The dINT4 rule: |v| < 1/4 -> 0; 1/4 <= |v| < 3/4 -> +-1/2; else round half to even
# onto the integer grid, clamped to [-7, 6].
DINT4_CASES = [(0.0, 0.0), (0.2499, 0.0), (0.25, 0.5), (0.5, 0.5), (0.7499, 0.5), (0.75, 1.0),
               (1.5, 2.0), (2.5, 2.0), (3.5, 4.0), (5.5, 6.0), (6.5, 6.0), (40.0, 6.0),
               (-0.2499, 0.0), (-0.25, -0.5), (-0.7499, -0.5), (-0.75, -1.0), (-6.5, -6.0),
               (-6.6, -7.0), (-7.5, -7.0), (-40.0, -7.0)]


@pytest.mark.parametrize(("u", "value"), DINT4_CASES)
def test_dint4_rounding_thresholds(u: float, value: float) -> None:
    code = round_to_codes(np.array([u]), DINT4)
    assert code.dtype == np.int8
    assert DINT4.decode(code)[0] == value


def test_dint_thresholds_follow_the_shift() -> None:
    """f=2: specials +-1/4, thresholds at 1/8 and (1/4 + 1)/2 = 5/8."""
    fmt = get_format("dint4f2")
    u = np.array([0.1249, 0.125, 0.6249, 0.625, -0.125, -0.6249, -0.625])
    np.testing.assert_array_equal(fmt.decode(round_to_codes(u, fmt)),
                                  [0, 0.25, 0.25, 1, -0.25, -0.25, -1])


def test_int_rounding_half_to_even_and_clamp() -> None:
    u = np.array([-9.0, -8.5, -7.5, -0.5, 0.5, 1.5, 2.5, 6.5, 7.4, 7.6, 100.0])
    np.testing.assert_array_equal(round_to_codes(u, INT4), [-8, -8, -8, 0, 0, 2, 2, 6, 7, 7, 7])


@given(st.sampled_from(ALL_FORMATS), st.data())
@settings(max_examples=100, deadline=None)
def test_rounding_picks_a_nearest_value(fmt: Format, data: st.DataObject) -> None:
    u = data.draw(hnp.arrays(np.float64, st.integers(1, 30),
                             elements=st.floats(fmt.value_min, fmt.value_max)))
    got = fmt.decode(round_to_codes(u, fmt))
    np.testing.assert_array_equal(np.abs(got - u), nearest_distance(u, fmt))


@pytest.mark.parametrize("granularity", ["tensor", "channel", "group"])
@pytest.mark.parametrize("fmt", [*WEIGHT_FORMATS, *NEAREST_FORMATS], ids=ids)
def test_weight_scale_is_smallest_without_clipping(fmt: Format, granularity: str) -> None:
    rng = np.random.default_rng(SEED)
    w = rng.standard_normal((32, 6)) * rng.uniform(0.01, 10, 6)
    w[:, 1] = np.abs(w[:, 1])
    w[:, 2] = -np.abs(w[:, 2])
    q = quantize_weights(w, fmt, granularity, 8 if granularity == "group" else None)
    blocks = {"tensor": (1, 1), "channel": (1, 6), "group": (4, 6)}[granularity]
    assert q.scales.shape == blocks and q.codes.dtype == fmt.code_dtype
    scale = q.element_scales()
    u = w / scale
    assert (u <= fmt.value_max * (1 + 1e-12)).all() and (u >= fmt.value_min * (1 + 1e-12)).all()
    full = np.broadcast_to(scale, w.shape).reshape(blocks[0], -1, w.shape[1])
    tight = np.maximum(w.reshape(full.shape) / full / fmt.value_max,
                       w.reshape(full.shape) / full / fmt.value_min)
    axes = (1, 2) if granularity == "tensor" else 1
    np.testing.assert_allclose(tight.max(axis=axes), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(np.abs(fmt.decode(q.codes) - u), nearest_distance(u, fmt))


@given(st.sampled_from(WEIGHT_FORMATS), st.sampled_from(["tensor", "channel", "group"]),
       st.data())
@settings(max_examples=80, deadline=None)
def test_weight_quantizer_never_clips(fmt: Format, granularity: str,
                                      data: st.DataObject) -> None:
    group = data.draw(st.integers(1, 4))
    k = group * data.draw(st.integers(1, 4))
    n = data.draw(st.integers(1, 4))
    w = data.draw(hnp.arrays(np.float64, (k, n), elements=st.floats(-1e6, 1e6)))
    q = quantize_weights(w, fmt, granularity, group if granularity == "group" else None)
    scale = q.element_scales()
    assert (q.scales > 0).all()
    assert (np.abs(q.dequantize() - w) <= scale / 2 * (1 + 1e-9)).all()


@given(st.sampled_from(["token", "tensor"]), st.data())
@settings(max_examples=60, deadline=None)
def test_activation_quantizer_never_clips(granularity: str, data: st.DataObject) -> None:
    shape = (data.draw(st.integers(1, 5)), data.draw(st.integers(1, 8)))
    x = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-1e6, 1e6)))
    q = quantize_activations(x, granularity)
    assert q.codes.dtype == np.int8 and q.codes.min() >= -127
    assert (np.abs(q.dequantize() - x) <= q.element_scales() / 2 * (1 + 1e-9)).all()


def test_activation_scales_are_symmetric_max_over_127() -> None:
    x = np.array([[1.0, -254.0, 3.0], [0.5, 0.25, -0.1], [0.0, 0.0, 0.0]])
    token = quantize_activations(x, "token")
    np.testing.assert_array_equal(token.scales, [[2.0], [0.5 / 127], [1.0]])
    assert token.codes[0].tolist() == [0, -127, 2] and token.codes[2].tolist() == [0, 0, 0]
    tensor = quantize_activations(x, "tensor")
    np.testing.assert_array_equal(tensor.scales, [[2.0]])
    assert tensor.codes[1].tolist() == [0, 0, 0] and tensor.underflow == 4  # 1.0 / 2 -> 0 (even)


def test_all_zero_group_gets_unit_scale() -> None:
    w = np.zeros((4, 3))
    w[:, 1] = [0.0, 3.0, -1.0, 0.0]
    q = quantize_weights(w, DINT4, "channel")
    np.testing.assert_array_equal(q.scales, [[1.0, 0.5, 1.0]])
    assert q.underflow == 0 and (q.codes[:, [0, 2]] == 0).all()
    np.testing.assert_array_equal(q.dequantize(), w)


def test_groups_take_their_own_scale() -> None:
    w = np.concatenate([np.full((2, 2), 6.0), np.full((2, 2), 0.6)])
    w[1, 1] = -7.0
    q = quantize_weights(w, DINT4, "group", 2)
    np.testing.assert_allclose(q.scales, [[1.0, 1.0], [0.1, 0.1]])
    np.testing.assert_allclose(q.dequantize(), w)


def test_underflow_counts_nonzero_inputs_rounded_to_zero() -> None:
    """The small weight 0.2 survives dINT4 as 1/2 once it reaches 1/4 of the scale."""
    for small, dint_under, int_under in ((0.3, 0, 1), (0.2, 1, 1), (0.6, 0, 0)):
        w = np.array([[6.0], [small], [0.0]])
        assert quantize_weights(w, DINT4).underflow == dint_under, small
        assert quantize_weights(w * 7 / 6, INT4).underflow == int_under, small
    rng = np.random.default_rng(SEED)
    w = rng.standard_normal((256, 16)) * np.exp(rng.uniform(-3, 0, 16))
    for fmt in WEIGHT_FORMATS:
        q = quantize_weights(w, fmt)
        assert q.underflow == np.count_nonzero((w != 0) & (q.codes == 0))


def test_dint4_underflows_less_than_int4_on_gaussian_weights() -> None:
    rng = np.random.default_rng(SEED)
    w = rng.standard_normal((1024, 64))
    dint, int4 = quantize_weights(w, DINT4).underflow, quantize_weights(w, INT4).underflow
    assert 0 < dint < int4


def test_quantized_gemm_equals_dequantized_matmul() -> None:
    """codes through golden gemm, times the scales and 2**-f, is the float product of the
    dequantized tensors: the scaled-integer semantics the hardware relies on."""
    rng = np.random.default_rng(SEED)
    a = quantize_activations(rng.standard_normal((8, 64)), "token")
    w = quantize_weights(rng.standard_normal((64, 5)), DINT4, "channel")
    acc = gemm(a.codes, w.codes, DINT4)
    c = acc * a.scales * w.scales / (1 << DINT4.shift)
    np.testing.assert_allclose(c, a.dequantize() @ w.dequantize(), rtol=1e-12, atol=1e-12)


def test_explicit_scales() -> None:
    x = np.array([[1.0, -2.0], [3.0, 4.0]])
    q = quantize(x, np.array([[0.5], [1.0]]), INT8)
    assert isinstance(q, Quantized) and q.codes.tolist() == [[2, -4], [3, 4]]
    np.testing.assert_array_equal(q.dequantize(), x)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: quantize_weights(np.array([[1.0, np.nan]]), DINT4),
     r"^w must be finite, got nan at index \(0, 1\)$"),
    (lambda: quantize_weights(np.array([[1.0], [-np.inf]]), DINT4),
     r"^w must be finite, got -inf at index \(1, 0\)$"),
    (lambda: quantize_weights(np.ones(4), DINT4),
     r"^w must be a non-empty 2-D array, not shape \(4,\)$"),
    (lambda: quantize_weights(np.ones((0, 3)), DINT4),
     r"^w must be a non-empty 2-D array, not shape \(0, 3\)$"),
    (lambda: quantize_weights(np.ones((2, 2), dtype=complex), DINT4),
     r"^w must be a real numeric array, not dtype complex128$"),
    (lambda: quantize_weights(np.ones((2, 2)), DINT4, "row"),
     r"^granularity must be one of \['tensor', 'channel', 'group'\], not 'row'$"),
    (lambda: quantize_weights(np.ones((6, 2)), DINT4, "group", 4),
     r"^group_size must be a positive integer dividing K = 6, not 4$"),
    (lambda: quantize_weights(np.ones((6, 2)), DINT4, "group"),
     r"^group_size must be a positive integer dividing K = 6, not None$"),
    (lambda: quantize_weights(np.ones((6, 2)), DINT4, "group", 0),
     r"^group_size must be a positive integer dividing K = 6, not 0$"),
    (lambda: quantize_weights(np.ones((6, 2)), DINT4, "channel", 2),
     r"^group_size must be None unless granularity is 'group', not 2$"),
    (lambda: quantize_activations(np.ones((2, 2)), "channel"),
     r"^granularity must be one of \['token', 'tensor'\], not 'channel'$"),
    (lambda: quantize_activations(np.ones((2, 2)), fmt=Format("uint2", 2, False, 0)),
     r"^fmt must have positive and negative values for symmetric activations, not 'uint2' "
     r"\(range \[0\.0, 3\.0\]\)$"),
    (lambda: quantize_activations(np.array([[np.nan]])),
     r"^x must be finite, got nan at index \(0, 0\)$"),
    (lambda: quantize(np.ones((2, 2)), np.array([[1.0, 0.0]]), INT8),
     r"^scales must be positive, got 0\.0$"),
    (lambda: quantize(np.ones((2, 2)), np.array([[-0.5]]), INT8),
     r"^scales must be positive, got -0\.5$"),
    (lambda: quantize(np.ones((2, 2)), np.array([[np.inf]]), INT8),
     r"^scales must be finite, got inf at index \(0, 0\)$"),
    (lambda: quantize(np.ones((4, 2)), np.ones((3, 1)), INT8),
     r"^scales must be a 2-D array of shape \(R, 1\) or \(R, 2\) with R dividing 4, "
     r"not shape \(3, 1\)$"),
    (lambda: quantize(np.ones((4, 2)), np.ones(2), INT8),
     r"^scales must be a 2-D array of shape \(R, 1\) or \(R, 2\) with R dividing 4, "
     r"not shape \(2,\)$"),
    (lambda: round_to_codes(np.array([0.5, np.nan]), DINT4),
     r"^u must be finite, got nan at index \(1,\)$"),
])
def test_bad_input_raises(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


# --- every encoding of every family --------------------------------------------------------

@pytest.mark.parametrize("fmt", ALL_FORMATS, ids=ids)
def test_every_valid_code_rounds_to_itself_and_excluded_never_appear(fmt: Format) -> None:
    codes = fmt.valid_codes
    np.testing.assert_array_equal(round_to_codes(fmt.decode(codes), fmt), codes)
    u = np.linspace(2 * fmt.value_min, 2 * fmt.value_max, 20001)
    assert set(np.unique(round_to_codes(u, fmt)).tolist()) <= set(codes.tolist())


@pytest.mark.parametrize("fmt", ALL_FORMATS, ids=ids)
def test_values_beyond_the_extremes_clamp(fmt: Format) -> None:
    values, codes = sorted_valid(fmt)
    top = [fmt.value_max * (1 + 1e-9), fmt.value_max * 2, 1e30]
    bottom = [fmt.value_min * (1 + 1e-9), fmt.value_min * 2, -1e30]
    assert round_to_codes(np.array(top), fmt).tolist() == [codes[-1]] * 3
    assert round_to_codes(np.array(bottom), fmt).tolist() == [codes[0]] * 3


@pytest.mark.parametrize("fmt", NEAREST_FORMATS, ids=ids)
def test_what_rounds_to_zero_and_the_smallest_magnitudes(fmt: Format) -> None:
    """Zero's code (0) is even and its neighbours' are odd: [neg/2, pos/2] rounds to 0."""
    values, codes = sorted_valid(fmt)
    zero = int(np.flatnonzero(values == 0)[0])
    neg, pos = values[zero - 1], values[zero + 1]
    assert codes[zero - 1] % 2 == 1 and codes[zero + 1] % 2 == 1
    to_zero = np.array([pos / 2, neg / 2, np.nextafter(pos / 2, 0), np.nextafter(neg / 2, 0),
                        pos / 1e6, -pos / 1e6])
    assert (round_to_codes(to_zero, fmt) == 0).all()
    beyond = np.array([np.nextafter(pos / 2, np.inf), np.nextafter(neg / 2, -np.inf), pos, neg])
    assert fmt.decode(round_to_codes(beyond, fmt)).tolist() == [pos, neg, pos, neg]


@pytest.mark.parametrize("fmt", NEAREST_FORMATS, ids=ids)
def test_every_tie_goes_to_the_even_pattern(fmt: Format) -> None:
    values, codes = sorted_valid(fmt)
    mids = (values[:-1] + values[1:]) / 2
    lower_even, upper_even = codes[:-1] % 2 == 0, codes[1:] % 2 == 0
    assert (lower_even != upper_even).all(), "the built-in families alternate parity"
    expected = np.where(upper_even, codes[1:], codes[:-1])
    np.testing.assert_array_equal(round_to_codes(mids, fmt), expected)
    np.testing.assert_array_equal(round_to_codes(np.nextafter(mids, -np.inf), fmt), codes[:-1])
    np.testing.assert_array_equal(round_to_codes(np.nextafter(mids, np.inf), fmt), codes[1:])


@pytest.mark.parametrize("name", ML_DTYPES)
def test_fp_rounding_is_ml_dtypes_round_half_to_even(name: str) -> None:
    """Inside the range, rounding equals ml_dtypes' conversion (IEEE RNE), ties and
    subnormals included. ml_dtypes converts float64 through float32 (a second rounding that
    turns a float64 just off a midpoint into the midpoint), so the inputs are float32."""
    fmt = get_format(name)
    rng = np.random.default_rng(SEED)
    values, _ = sorted_valid(fmt)
    mids = ((values[:-1] + values[1:]) / 2).astype(np.float32)
    magnitudes = np.exp(rng.uniform(np.log(2.0 ** -fmt.shift / 4), np.log(fmt.value_max), 20000))
    u = np.concatenate([mids, np.nextafter(mids, np.float32(0)),
                        np.nextafter(mids, np.float32(np.inf)),
                        (magnitudes * rng.choice([-1, 1], magnitudes.size)).astype(np.float32)])
    expected = u.astype(ML_DTYPES[name]).astype(np.float64)
    np.testing.assert_array_equal(fmt.decode(round_to_codes(u, fmt)), expected)


def test_ternary_thresholds_are_half_the_block_maximum() -> None:
    w = np.array([[2.0], [1.0], [1.0001], [-1.0], [-1.0001], [0.3], [-2.0]])
    q = quantize_weights(w, TERNARY, "channel")
    assert q.scales.tolist() == [[2.0]]
    assert TERNARY.decode(q.codes)[:, 0].tolist() == [1, 0, 1, 0, -1, 0, -1]


def test_ternary_twn_threshold_and_scale() -> None:
    """TWN: t = 0.7 * mean|w|; kept weights' mean magnitude is the scale."""
    w = np.array([[1.0, 0.0], [-1.0, 0.0], [0.1, 0.0], [0.5, 0.0]])
    q = quantize_ternary_twn(w)
    assert TWN_THRESHOLD * np.abs(w[:, 0]).mean() == pytest.approx(0.455)
    assert TERNARY.decode(q.codes[:, 0]).tolist() == [1, -1, 0, 1]
    np.testing.assert_allclose(q.scales, [[2.5 / 3, 1.0]])
    assert q.codes.dtype == TERNARY.code_dtype and q.underflow == 1
    groups = quantize_ternary_twn(np.vstack([w, 10 * w]), "group", 4)
    np.testing.assert_allclose(groups.scales, [[2.5 / 3, 1.0], [25 / 3, 1.0]])


def test_nf4_beats_int4_and_fp4_on_gaussian_groups() -> None:
    """QLoRA's claim: NF4 is the better 4-bit grid for normally distributed weights."""
    w = np.random.default_rng(SEED).standard_normal((2048, 64))

    def sqnr(name: str) -> float:
        error = quantize_weights(w, get_format(name), "group", 64).dequantize() - w
        return float(10 * np.log10((w ** 2).sum() / (error ** 2).sum()))

    assert sqnr("nf4") > max(sqnr("int4"), sqnr("fp4"))


def test_fp8_activations_use_the_448_peak_and_gemm_stays_exact() -> None:
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((6, 48))
    a = quantize_activations(x, "token", FP8_E4M3)
    np.testing.assert_array_equal(a.scales[:, 0], np.abs(x).max(axis=1) / 448)
    assert a.codes.dtype == np.uint8
    assert np.abs(FP8_E4M3.decode(a.codes)).max(axis=1).tolist() == [448.0] * 6
    fp4 = get_format("fp4")
    w = quantize_weights(rng.standard_normal((48, 5)), fp4)
    acc = gemm(a.codes, w.codes, fp4, act=FP8_E4M3)
    c = acc * a.scales * w.scales / (1 << (fp4.shift + FP8_E4M3.shift))
    np.testing.assert_allclose(c, a.dequantize() @ w.dequantize(), rtol=1e-12, atol=1e-12)
