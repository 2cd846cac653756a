"""models.quantized: each linear layer as an exact integer GEMM through golden, then rescaled."""

from __future__ import annotations

import numpy as np
import pytest

from golden.formats import DINT4, INT4, INT8, get_format
from golden.quantize import quantize_activations, quantize_weights
from models.minilm import SENTENCES, capture_inputs, load_model
from golden.blockscaled import BlockQuantized, block_dot
from models.quantized import QuantizedLinears, QuantSpec, quantized_gemm

# One xdist worker runs this whole module, so its expensive module fixture runs once.
pytestmark = pytest.mark.xdist_group("models_quantized")


@pytest.fixture(scope="module")
def layer_input() -> np.ndarray:
    return capture_inputs(load_model(), SENTENCES[:6])["layer3.ffn_down"]


@pytest.mark.parametrize("fmt, granularity, group_size", [
    (INT8, "channel", None), (INT4, "channel", None), (DINT4, "channel", None),
    (DINT4, "group", 32), (get_format("int6"), "group", 64), (get_format("dint5"), "channel", None),
])
def test_quantized_gemm_is_the_exact_product_of_the_dequantized_operands(
        layer_input, fmt, granularity, group_size) -> None:
    """Integer sums are exact, so only the float rescale rounds: equal to the float64 product of
    the dequantized tensors within a few ulps."""
    w = load_model().linears["layer3.ffn_down"][0]
    qa = quantize_activations(layer_input, "token")
    qw = quantize_weights(w, fmt, granularity, group_size)
    exact = qa.dequantize() @ qw.dequantize()
    got = quantized_gemm(qa, qw)
    np.testing.assert_allclose(got, exact, rtol=1e-12, atol=1e-12 * np.abs(exact).max())


def test_integer_part_equals_the_int64_sum_of_scaled_codes(layer_input) -> None:
    """Per channel, ``quantized_gemm / (s_a s_w / 2**f)`` is the integer A_codes @ (2**f W)."""
    w = load_model().linears["layer3.ffn_down"][0]
    qa = quantize_activations(layer_input, "token")
    qw = quantize_weights(w, DINT4, "channel")
    integer = qa.codes.astype(np.int64) @ DINT4.decode_scaled(qw.codes)
    got = quantized_gemm(qa, qw) / (qa.element_scales() * qw.scales / 2)
    assert np.array_equal(np.rint(got).astype(np.int64), integer)


def test_linears_quantize_weights_once_and_track_fp32(layer_input) -> None:
    model = load_model()
    fp32 = model.encode(SENTENCES[:6])
    errors = {}
    for fmt in (INT8, INT4):
        linears = QuantizedLinears(model, QuantSpec(fmt))
        assert len(linears.weights) == 36
        errors[fmt.name] = 1 - float(np.mean(np.sum(fp32 * model.encode(SENTENCES[:6], linears),
                                                    axis=1)))
    assert 0 < errors["int8"] < errors["int4"], errors


def test_weights_only_spec_uses_fp32_activations() -> None:
    model = load_model()
    linears = QuantizedLinears(model, QuantSpec(INT8))
    x = np.ones((2, 384), dtype=np.float32)
    w, b = model.linears["layer0.query"]
    np.testing.assert_allclose(linears.weights_only("layer0.query", x),
                               x @ quantize_weights(w, INT8).dequantize() + b, rtol=1e-5,
                               atol=1e-5)


@pytest.mark.parametrize("weight, act", [("mxfp4", "mxint8"), ("nvfp4", "int8"),
                                         ("nvfp4", "mxint8"), ("int4", "mxint8")])
def test_block_scaled_gemm_is_golden_block_dot(layer_input, weight: str, act: str) -> None:
    """The fast path equals golden's bit-exact block dot product (an accumulator that neither
    truncates nor overflows) up to float64 addition, and the dequantized float64 product."""
    w = load_model().linears["layer3.ffn_down"][0][:, :8]
    x = layer_input[:5]
    spec = QuantSpec(get_format(weight), act=act)
    qa, qw = spec.quantize_activations(x), spec.quantize_weights(w)
    got = quantized_gemm(qa, qw)
    exact = qa.dequantize() @ qw.dequantize()
    np.testing.assert_allclose(got, exact, rtol=1e-12, atol=1e-12 * np.abs(exact).max())
    if isinstance(qa, BlockQuantized) and isinstance(qw, BlockQuantized):
        acc = block_dot(qa, qw, acc_bits=400, frac_bits=200)
        value = (np.array(acc.tolist(), dtype=np.float64) * 2.0 ** -200
                 * qa.tensor_scale * qw.tensor_scale)
        np.testing.assert_allclose(got, value, rtol=1e-12, atol=1e-13 * np.abs(value).max())


def test_nvfp4_linear_beats_mxfp4_and_int4(layer_input) -> None:
    """One layer's GEMM error: NVFP4's E4M3 scale per 16 fits each block's peak to 6 within
    the E4M3 step, where MXFP4's power-of-two scale per 32 leaves it anywhere in [4, 8) (clamping
    above 6) and INT4 has one scale per channel. (MXFP4 against INT4 varies by layer.)"""
    w = load_model().linears["layer3.ffn_down"][0]
    reference = layer_input @ w
    errors = {}
    for name in ("int4", "mxfp4", "nvfp4"):
        spec = QuantSpec(get_format(name))
        got = quantized_gemm(spec.quantize_activations(layer_input), spec.quantize_weights(w))
        errors[name] = float(np.sum((got - reference) ** 2))
    assert errors["nvfp4"] < min(errors["mxfp4"], errors["int4"]), errors
