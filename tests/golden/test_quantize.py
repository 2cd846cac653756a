"""Quantizers: rounding rules at their thresholds, never clipping, smallest scale, underflow."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from golden.arith import gemm
from golden.formats import DINT4, INT4, INT8, Format, get_format
from golden.quantize import Quantized, quantize, quantize_activations, quantize_weights, \
    round_to_codes

WEIGHT_FORMATS = [INT4, DINT4, INT8, get_format("dint3"), get_format("dint4f2"),
                  get_format("dint8")]
SEED = 7


def ids(fmt: Format) -> str:
    return fmt.name


def nearest_distance(u: np.ndarray, fmt: Format) -> np.ndarray:
    """Distance from each ``u`` to the closest value of ``fmt``'s table."""
    return np.abs(u[..., None] - fmt.value_table).min(axis=-1)


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


@given(st.sampled_from(WEIGHT_FORMATS), st.data())
@settings(max_examples=60, deadline=None)
def test_rounding_picks_a_nearest_value(fmt: Format, data: st.DataObject) -> None:
    u = data.draw(hnp.arrays(np.float64, st.integers(1, 30),
                             elements=st.floats(fmt.value_min, fmt.value_max)))
    got = fmt.decode(round_to_codes(u, fmt))
    np.testing.assert_array_equal(np.abs(got - u), nearest_distance(u, fmt))


@pytest.mark.parametrize("granularity", ["tensor", "channel", "group"])
@pytest.mark.parametrize("fmt", WEIGHT_FORMATS, ids=ids)
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
    assert (np.abs(q.dequantize() - w) <= scale / 2 * (1 + 1e-9)).all()


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
    (lambda: quantize_activations(np.ones((2, 2)), fmt=DINT4),
     r"^fmt must be an int format for activations, not 'dint4'$"),
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
