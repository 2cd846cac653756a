"""Block-scaled formats: element and scale codecs against ml_dtypes on every code, the OCP MX
floor rule (not ml_dtypes' E8M0 rounding), NVFP4's two-level scales, and the bit-exact block
dot product against an exact rational reference."""

from __future__ import annotations

import math
import re
from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest

from golden.blockscaled import E8M0_BIAS, SCALE_CODECS, BlockQuantized, block_dot, \
    e8m0_exponent, emax_elem, quantize_blocks, quantize_operand
from golden.families.blockscaled import SCALE_E4M3, SCALE_E8M0
from golden.formats import get_format
from golden.quantize import quantize_activations

MX_ELEMENTS = {"mxfp4": ml_dtypes.float4_e2m1fn, "mxfp6e2m3": ml_dtypes.float6_e2m3fn,
               "mxfp6e3m2": ml_dtypes.float6_e3m2fn, "mxfp8e4m3": ml_dtypes.float8_e4m3fn,
               "mxfp8e5m2": ml_dtypes.float8_e5m2, "nvfp4": ml_dtypes.float4_e2m1fn}


@pytest.mark.parametrize("name", MX_ELEMENTS)
def test_every_element_code_decodes_as_ml_dtypes(name: str) -> None:
    fmt = get_format(name)
    reference = fmt.codes.astype(np.uint8).view(MX_ELEMENTS[name]).astype(np.float64)
    got = fmt.decode(fmt.codes)
    finite = ~np.isnan(reference)
    np.testing.assert_array_equal(np.isnan(got), ~finite)
    np.testing.assert_array_equal(got[finite], reference[finite])


def test_mxint8_codes_are_fixed_point_with_implicit_two_to_minus_six() -> None:
    fmt = get_format("mxint8")
    np.testing.assert_array_equal(fmt.decode(fmt.codes), np.arange(-128, 128) / 64)
    assert (fmt.shift, fmt.value_max, fmt.value_min, emax_elem(fmt)) == (6, 127 / 64, -2.0, 0)


def test_every_e8m0_code_decodes_as_ml_dtypes() -> None:
    codes = np.arange(255, dtype=np.uint8)
    quantized = BlockQuantized(np.zeros((2, 1), np.uint8), codes.reshape(-1, 1), 1.0,
                               get_format("mxfp4b2"), 0)
    reference = codes.view(ml_dtypes.float8_e8m0fnu).astype(np.float64).reshape(-1, 1)
    np.testing.assert_array_equal(quantized.block_scales(), reference)


def test_every_e4m3_scale_code_decodes_as_ml_dtypes() -> None:
    codes = np.array([c for c in range(256) if c & 0x7F != 0x7F], dtype=np.uint8)
    quantized = BlockQuantized(np.zeros((2 * len(codes), 1), np.uint8), codes.reshape(-1, 1),
                               1.0, get_format("nvfp4b2"), 0)
    reference = codes.view(ml_dtypes.float8_e4m3fn).astype(np.float64).reshape(-1, 1)
    np.testing.assert_array_equal(quantized.block_scales(), reference)


@pytest.mark.parametrize(("scale", "dtype"), [(SCALE_E8M0, ml_dtypes.float8_e8m0fnu),
                                              (SCALE_E4M3, ml_dtypes.float8_e4m3fn)])
def test_hardware_scale_codes_are_the_finite_non_negative_ones(scale, dtype) -> None:
    """The codes a block MAC takes (0..codes-1) are exactly the finite, non-negative scales, and
    ``parts`` splits each into the mantissa the hardware multiplies by and the field it shifts
    by: ``mantissa * 2**(field + offset)`` is the ml_dtypes value."""
    codec = SCALE_CODECS[scale]
    codes = np.arange(256, dtype=np.uint8)
    values = codes.view(dtype).astype(np.float64)
    usable = np.isfinite(values) & ~np.signbit(values)
    assert np.flatnonzero(usable).tolist() == list(range(codec.codes))
    mantissa, field = codec.parts(codes[:codec.codes])
    assert mantissa.max() < 2 ** max(codec.mantissa_bits, 1) and field.min() >= 0
    np.testing.assert_array_equal(np.ldexp(mantissa.astype(np.float64), field + codec.offset),
                                  values[:codec.codes])
    assert values[codec.unit] == 1.0


def test_element_wise_operand_is_per_token_at_unit_scale() -> None:
    """INT8 activations for NVFP4 x INT8: golden's per-token quantizer, one unit-scale block
    spanning K, the float scales kept for the output."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 32)) * np.array([[1.0], [50.0], [1e-3]])
    q = quantize_operand(x, "int8", 1)
    reference = quantize_activations(x, "token", "int8")
    np.testing.assert_array_equal(q.codes, reference.codes)
    assert (q.block, q.scale_codes.shape) == (32, (3, 1))
    np.testing.assert_array_equal(q.dequantize(), reference.dequantize())
    w = quantize_operand(x.T, "int8", 0)
    np.testing.assert_array_equal(w.codes, q.codes.T)
    np.testing.assert_array_equal(quantize_operand(x, "nvfp4", 1).codes,
                                  quantize_blocks(x, "nvfp4", 1).codes)


def test_nvfp4_times_int8_block_dot_is_exact() -> None:
    """Each 16-element block: the exact sum of FP4 x INT8 code products times the block's E4M3
    scale; the per-token INT8 scale and the FP32 tensor scale stay outside."""
    rng = np.random.default_rng(8)
    qa = quantize_operand(rng.standard_normal((2, 48)), "int8", 1)
    qw = quantize_operand(rng.standard_normal((48, 3)) * np.array([1.0, 1e-2, 1e2]), "nvfp4", 0)
    acc = block_dot(qa, qw, acc_bits=96, frac_bits=40)
    got = [[Fraction(int(v), 1 << 40) for v in row] for row in acc]
    w_values = np.vectorize(Fraction)(qw.fmt.decode(qw.codes))
    mantissa, exponent = qw.scale_ints()
    expected = [[sum(sum(int(qa.codes[i, k]) * w_values[k, j] for k in range(g * 16, g * 16 + 16))
                     * int(mantissa[g, j]) * Fraction(2) ** int(exponent[g, j])
                     for g in range(3)) for j in range(3)] for i in range(2)]
    assert got == expected
    np.testing.assert_allclose(
        np.vectorize(float)(np.array(got, dtype=object)) * qa.outer_scales * qw.tensor_scale,
        qa.dequantize() @ qw.dequantize(), rtol=1e-12)


@pytest.mark.parametrize(("name", "emax"), [("mxfp4", 2), ("mxfp6e2m3", 2), ("mxfp6e3m2", 4),
                                            ("mxfp8e4m3", 8), ("mxfp8e5m2", 15), ("mxint8", 0)])
def test_emax_elem_is_the_ocp_table(name: str, emax: int) -> None:
    assert emax_elem(name) == emax


def test_shared_exponent_floors_where_ml_dtypes_rounds() -> None:
    """OCP: floor(log2 amax) - emax. ml_dtypes' E8M0 cast rounds amax to the nearest power of
    two, so for amax = 3.5 it gives 4 (exponent 2), where MX's floor gives 1."""
    amax = np.array([1.0, 1.4, 1.5, 3.5, 6.0, 7.99, 2.0 ** -130, 2.0 ** 200])
    floor_log2 = np.array([0, 0, 0, 1, 2, 2, -130, 200])
    assert e8m0_exponent(amax, "mxfp4").tolist() == np.clip(floor_log2 - 2, -127, 127).tolist()
    rounded = np.log2(amax[:6].astype(ml_dtypes.float8_e8m0fnu).astype(np.float64))
    assert rounded.tolist() == [0, 0, 1, 2, 3, 3]
    assert (rounded != floor_log2[:6]).tolist() == [False, False, True, True, True, True]
    assert e8m0_exponent(np.zeros(1), "mxfp4").tolist() == [-E8M0_BIAS]


def test_mxfp4_elements_round_half_to_even_and_clamp() -> None:
    """Block amax 7 -> exponent floor(log2 7) - 2 = 0, scale 1: 7 clamps to 6; 2.5 and 3.5
    are ties that go to the even mantissa (2 and 4), 0.25 to 0 (even), 0.75 to 1."""
    row = np.array([[7.0, 2.5, 3.5, 0.25, 0.75, -5.0, -0.0, 1.0]])
    quantized = quantize_blocks(row, "mxfp4b8", axis=1)
    assert quantized.scale_codes.tolist() == [[E8M0_BIAS]]
    assert quantized.dequantize().tolist() == [[6.0, 2.0, 4.0, 0.0, 1.0, -4.0, 0.0, 1.0]]
    assert quantized.codes[0, 6] == 0


def test_mxint8_uses_the_whole_two_complement_grid() -> None:
    """amax 1.999 -> exponent 0; -1.999 * 64 rounds to -128 (-2, in the spec's value set);
    2**-7 * 64 = 0.5 is a tie and goes to the even code 0; 3 * 2**-7 to 2."""
    quantized = quantize_blocks(np.array([[-1.999, 1.0, 2.0 ** -7, 3 * 2.0 ** -7]]), "mxint8b4",
                                axis=1)
    assert quantized.codes.tolist() == [[-128, 64, 0, 2]]
    assert quantized.scale_codes.tolist() == [[E8M0_BIAS]]


@pytest.mark.parametrize("name", ["mxfp4", "mxfp6e2m3", "mxfp6e3m2", "mxfp8e4m3", "mxfp8e5m2"])
def test_mx_elements_match_ml_dtypes_cast_in_range(name: str) -> None:
    """Inside the element range the element is ml_dtypes' RNE cast of x / 2**e."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((64, 6)) * np.exp(rng.uniform(-8, 8, (1, 6)))
    quantized = quantize_blocks(x, name, axis=0)
    fmt = get_format(name)
    u = x / np.repeat(quantized.block_scales(), quantized.block, axis=0)
    inside = np.abs(u) <= fmt.value_max
    cast = u.astype(MX_ELEMENTS[name]).astype(np.float64)
    np.testing.assert_array_equal(fmt.decode(quantized.codes)[inside], cast[inside])
    assert np.all(np.abs(fmt.decode(quantized.codes)[~inside]) == fmt.value_max)
    assert quantized.scale_codes.shape == (2, 6)


def test_nvfp4_two_level_scales() -> None:
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 64)) * np.array([[1.0], [1e-3], [30.0]])
    quantized = quantize_blocks(x, "nvfp4", axis=1)
    tensor_scale = float(np.float32(np.abs(x).max() / (6 * 448)))
    assert quantized.tensor_scale == tensor_scale
    amax = np.abs(x.reshape(3, 4, 16)).max(axis=2)
    scales = (amax / 6 / tensor_scale).astype(ml_dtypes.float8_e4m3fn).astype(np.float64)
    np.testing.assert_array_equal(quantized.block_scales(), scales * tensor_scale)
    assert quantized.block_scales().max() == 448 * tensor_scale
    u = x / np.repeat(scales * tensor_scale, 16, axis=1)
    cast = np.clip(u, -6, 6).astype(ml_dtypes.float4_e2m1fn).astype(np.float64)
    np.testing.assert_array_equal(get_format("nvfp4").decode(quantized.codes), cast)


def test_zero_blocks_quantize_to_zero() -> None:
    x = np.zeros((32, 2))
    x[:, 1] = 1.0
    for name in ("mxfp4", "nvfp4b32"):
        quantized = quantize_blocks(x, name, axis=0)
        assert not quantized.codes[:, 0].any() and quantized.scale_codes[0, 0] == 0
        np.testing.assert_allclose(quantized.dequantize()[:, 1], 1.0, rtol=1e-7)


def _exact(a: BlockQuantized, w: BlockQuantized) -> list[list[list[Fraction]]]:
    """Per output, the exact rational value of each block's scaled dot product."""
    def values(q: BlockQuantized) -> np.ndarray:
        return np.vectorize(Fraction)(q.fmt.decode(q.codes))

    def scales(q: BlockQuantized) -> np.ndarray:
        mantissa, exponent = q.scale_ints()
        return np.vectorize(lambda m, e: Fraction(int(m)) * Fraction(2) ** int(e))(mantissa,
                                                                                   exponent)
    va, vw, sa, sw, b = values(a), values(w), scales(a), scales(w), a.block
    return [[[sum(va[i, k] * vw[k, j] for k in range(g * b, (g + 1) * b)) * sa[i, g] * sw[g, j]
              for g in range(a.codes.shape[1] // b)] for j in range(w.codes.shape[1])]
            for i in range(a.codes.shape[0])]


@pytest.fixture(scope="module")
def operands() -> tuple[BlockQuantized, BlockQuantized, list]:
    rng = np.random.default_rng(11)
    a = rng.standard_normal((3, 96)) * np.exp(rng.uniform(-6, 6, (1, 96)))
    w = rng.standard_normal((96, 2))
    qa, qw = quantize_blocks(a, "mxint8", 1), quantize_blocks(w, "mxfp4", 0)
    return qa, qw, _exact(qa, qw)


def test_block_dot_is_exact_with_a_wide_accumulator(operands) -> None:
    qa, qw, exact = operands
    acc = block_dot(qa, qw, acc_bits=160, frac_bits=80)
    got = [[Fraction(int(v), 1 << 80) for v in row] for row in acc]
    assert got == [[sum(blocks) for blocks in row] for row in exact]


@pytest.mark.parametrize("frac_bits", [0, 3, 9])
def test_block_dot_truncates_each_block_toward_minus_infinity(operands, frac_bits: int) -> None:
    qa, qw, exact = operands
    acc = block_dot(qa, qw, acc_bits=64, frac_bits=frac_bits)
    expected = [[sum(math.floor(p * (1 << frac_bits)) for p in blocks) for blocks in row]
                for row in exact]
    assert acc.tolist() == expected


def test_nvfp4_block_dot_is_exact(operands) -> None:
    rng = np.random.default_rng(3)
    qa = quantize_blocks(rng.standard_normal((2, 48)), "nvfp4", 1)
    qw = quantize_blocks(rng.standard_normal((48, 2)), "nvfp4", 0)
    acc = block_dot(qa, qw, acc_bits=96, frac_bits=40)
    got = [[Fraction(int(v), 1 << 40) for v in row] for row in acc]
    assert got == [[sum(blocks) for blocks in row] for row in _exact(qa, qw)]


def test_reduction_order_matters_only_when_saturating() -> None:
    """Block sums +6, +6, -6 into a 4-bit accumulator ([-8, 7]): wrap is associative, so every
    order gives 6; saturating, ascending order clips 12 to 7 and ends at 1, the others never
    leave the range."""
    a = quantize_blocks(np.array([[6.0, 6.0, 6.0, 6.0, -6.0, -6.0]]), "mxfp4b2", 1)
    w = quantize_blocks(np.ones((6, 1)) * 0.5, "mxfp4b2", 0)
    wrap = [block_dot(a, w, 4, 0, "wrap", order).tolist() for order in ([0, 1, 2], [2, 1, 0])]
    assert wrap[0] == wrap[1] == [[6]]
    saturated = [block_dot(a, w, 4, 0, "saturate", order).tolist()[0][0]
                 for order in ([0, 1, 2], [2, 1, 0], [0, 2, 1])]
    assert saturated == [1, 6, 6]


@pytest.mark.parametrize(("call", "message"), [
    (lambda a, w: block_dot(a, w, 1, 0), r"^acc_bits must be an integer in \[2, 512\], not 1$"),
    (lambda a, w: block_dot(a, w, 32, -1),
     r"^frac_bits must be an integer in \[0, 512\], not -1$"),
    (lambda a, w: block_dot(a, w, 32, 0, order=[0, 0, 1]),
     r"^order must be a permutation of range\(3\), not \[0, 0, 1\]$"),
    (lambda a, w: block_dot(a, w, 32, 0, overflow="clip"),
     r"^overflow must be one of \['wrap', 'saturate'\], not 'clip'$"),
    (lambda a, w: block_dot(w, a, 32, 0), r"^a must have its blocks along axis 1 \(K\), not 0$"),
    (lambda a, w: block_dot(a.codes, w, 32, 0), r"^a must be a BlockQuantized, not ndarray$"),
    (lambda a, w: quantize_blocks(np.ones((2, 6)), "mxfp4", 1),
     r"^x must have a multiple of the block size 32 along axis 1, not 6$"),
    (lambda a, w: quantize_blocks(np.ones((2, 32)), "fp4", 1),
     r"^fmt must be a block-scaled format \(mxfp4, mxint8, nvfp4, \.\.\.\), not 'fp4'$"),
    (lambda a, w: quantize_blocks(np.full((2, 32), np.inf), "mxfp4", 1),
     r"^x must be finite, got inf$"),
    (lambda a, w: quantize_blocks(np.ones((2, 32)), "mxfp4", 2), r"^axis must be 0 or 1, not 2$"),
])
def test_bad_arguments_are_one_line_errors(call, message: str) -> None:
    a = quantize_blocks(np.ones((1, 96)), "mxint8", 1)
    w = quantize_blocks(np.ones((96, 1)), "mxfp4", 0)
    with pytest.raises((ValueError, TypeError), match=message):
        call(a, w)


@pytest.mark.parametrize(("name", "canonical", "block"), [
    ("mxfp4", "mxfp4", 32), ("MXFP8", "mxfp8e4m3", 32), ("mxint8", "mxint8", 32),
    ("nvfp4", "nvfp4", 16), ("mxfp4b16", "mxfp4b16", 16), ("nvfp4b32", "nvfp4b32", 32),
    ("mxfp4b32", "mxfp4", 32),
])
def test_names_parse_through_the_format_registry(name: str, canonical: str, block: int) -> None:
    fmt = get_format(name)
    assert (fmt.name, dict(fmt.params)["block"]) == (canonical, block)


@pytest.mark.parametrize(("name", "reason"), [
    ("mxfp4b3", r"block must be a power of two in \[2, 1024\], not 3"),
    ("nvfp4b2048", r"block must be an integer in \[2, 1024\], not 2048"),
    ("mxfp6", ""), ("mxint4", ""), ("nvfp8", ""),
])
def test_bad_names_are_one_line_errors(name: str, reason: str) -> None:
    tail = rf" \({reason}\)" if reason else ""
    with pytest.raises(ValueError, match=rf"^format must be one of .*, not '{re.escape(name)}'"
                                         rf"{tail}$"):
        get_format(name)
