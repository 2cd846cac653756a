"""models.quantized: each linear layer as an exact integer GEMM through golden, then rescaled."""

from __future__ import annotations

import numpy as np
import pytest

from golden.formats import DINT4, INT4, INT8, get_format
from golden.quantize import quantize_activations, quantize_weights
from models.minilm import SENTENCES, capture_inputs, load_model
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
