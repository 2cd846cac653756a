"""Format families: FP decodes as ml_dtypes over every code, NF4 and ternary tables, the registry,
and a toy family that works through golden after registering it alone."""

from __future__ import annotations

import re
from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest

from golden.arith import default_acc_bits, gemm
from golden.families import base
from golden.families.normalfloat import NF4_LEVELS
from golden.formats import TERNARY, Family, Format, format_names, fp_format, get_format, \
    nf4_format, register_family, round_nearest
from golden.mac import MACConfig
from golden.quantize import quantize_activations, quantize_weights, round_to_codes

ML_DTYPES = {"fp4": ml_dtypes.float4_e2m1fn, "fp6e2m3": ml_dtypes.float6_e2m3fn,
             "fp6e3m2": ml_dtypes.float6_e3m2fn, "fp8e4m3": ml_dtypes.float8_e4m3fn,
             "fp8e5m2": ml_dtypes.float8_e5m2}


@pytest.mark.parametrize("name", ML_DTYPES)
def test_every_fp_code_decodes_as_ml_dtypes(name: str) -> None:
    fmt = get_format(name)
    reference = fmt.codes.astype(np.uint8).view(ML_DTYPES[name]).astype(np.float64)
    got = fmt.decode(fmt.codes)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(reference))
    finite = ~np.isnan(reference)
    np.testing.assert_array_equal(got[finite], reference[finite])
    np.testing.assert_array_equal(np.signbit(got[finite]), np.signbit(reference[finite]))
    info = ml_dtypes.finfo(ML_DTYPES[name])
    assert fmt.value_max == float(info.max) == -fmt.value_min
    assert 2.0 ** -fmt.shift == float(info.smallest_subnormal)


@pytest.mark.parametrize(("name", "nan", "inf"), [
    ("fp4", [], []), ("fp6e2m3", [], []), ("fp6e3m2", [], []),
    ("fp8e4m3", [0x7F, 0xFF], []),
    ("fp8e5m2", [0x7D, 0x7E, 0x7F, 0xFD, 0xFE, 0xFF], [0x7C, 0xFC]),
])
def test_fp_nonfinite_and_negative_zero_codes_are_excluded(name: str, nan: list[int],
                                                           inf: list[int]) -> None:
    fmt = get_format(name)
    negative_zero = 1 << (fmt.bits - 1)
    marks = fmt.excluded_codes
    assert marks.pop(negative_zero) == "-0"
    assert sorted(code for code, mark in marks.items() if mark == "nan") == nan
    assert sorted(code for code, mark in marks.items() if mark.endswith("inf")) == inf
    assert fmt.value(negative_zero) == 0 and fmt.decode_scaled([negative_zero])[0] == 0


def test_ocp_headline_values() -> None:
    """The OCP spec's maxima and the E2M1 value set, exact."""
    assert {v for _, _, v in get_format("fp4").code_table()} == {
        Fraction(s * v) for s in (1, -1) for v in (0, 0.5, 1, 1.5, 2, 3, 4, 6)}
    assert get_format("fp8e4m3").value(0x7E) == 448
    assert get_format("fp8e4m3").bit_pattern(0x7E) == "01111110"
    assert get_format("fp8e5m2").value(0x7B) == 57344
    assert get_format("fp6e3m2").value(0x1F) == 28 and get_format("fp6e2m3").value(0x1F) == 7.5
    assert dict(get_format("fp8e4m3").params) == {"exp_bits": 4, "man_bits": 3, "bias": 7}


def test_fp_format_rejects_non_ocp_encodings() -> None:
    with pytest.raises(ValueError, match=r"^\(exp_bits, man_bits\) must be one of the OCP "
                                         r"encodings \[.*\], not \(3, 3\)$"):
        fp_format(3, 3)
    with pytest.raises(ValueError, match=r"^man_bits must be a non-negative integer, not True$"):
        fp_format(2, True)


@pytest.mark.parametrize("fraction_bits", range(4, 17))
def test_nf4_table_is_the_published_levels_in_fixed_point(fraction_bits: int) -> None:
    fmt = nf4_format(fraction_bits)
    assert fmt.shift == fraction_bits and fmt.bits == 4 and not fmt.excluded
    levels = np.array([NF4_LEVELS[(code + 7) % 16] for code in range(16)])
    table = fmt.scaled_table
    np.testing.assert_array_equal(table, np.round(levels * (1 << fraction_bits)))
    assert np.abs(table / (1 << fraction_bits) - levels).max() <= 2.0 ** -(fraction_bits + 1)
    ascending = table[(np.arange(16) + 9) % 16]
    assert (np.diff(ascending) > 0).all(), "two levels merged"


def test_nf4_levels_are_qloras() -> None:
    assert len(NF4_LEVELS) == 16 and NF4_LEVELS[0] == -1.0 and NF4_LEVELS[-1] == 1.0
    assert sum(v < 0 for v in NF4_LEVELS) == 7 and NF4_LEVELS[7] == 0.0
    assert get_format("nf4") == nf4_format(8) and get_format("nf4f5") == nf4_format(5)
    assert get_format("nf4").value(8) == 1 and get_format("nf4").value(9) == -1


def test_ternary_is_sign_magnitude() -> None:
    assert [(c, b, v) for c, b, v in TERNARY.code_table()] == [
        (0, "00", 0), (1, "01", 1), (2, "10", 0), (3, "11", -1)]
    assert TERNARY.excluded_codes == {2: "-0"} and TERNARY.valid_codes.tolist() == [0, 1, 3]
    assert np.signbit(TERNARY.decode([2]))[0]


@pytest.mark.parametrize(("name", "datapath"), [
    ("int8", "int_multiplier"), ("dint4", "dint_shift_mux"), ("fp4", "fp_sign_magnitude"),
    ("fp8e5m2", "fp_sign_magnitude"), ("ternary", "ternary_mux"), ("nf4", "lut_fixed_point"),
])
def test_each_family_names_its_hardware_datapath(name: str, datapath: str) -> None:
    assert get_format(name).family.datapath == datapath


def test_nonfinite_codes_are_rejected_by_arithmetic() -> None:
    fmt = get_format("fp8e4m3")
    with pytest.raises(ValueError, match=r"^w_codes holds code 255, which is nan in fp8e4m3; "
                                         r"golden arithmetic takes finite codes only$"):
        gemm(np.ones((1, 2), dtype=np.int8), np.array([[1], [255]], dtype=np.uint8), fmt, 40)
    with pytest.raises(ValueError, match=r"^codes holds code 124, which is \+inf in fp8e5m2"):
        get_format("fp8e5m2").decode_scaled([124])
    assert np.isnan(fmt.decode([255])[0]) and np.isnan(fmt.value(255))


# --- the registry and a toy family ----------------------------------------------------------

def pow2_format(bits: int) -> Format:
    """Toy sign-magnitude powers of two: S.M with M = 0 -> 0, M = m -> 2**(m-1); S.0 is -0."""
    half = 1 << (bits - 1)
    magnitudes = [0] + [1 << (m - 1) for m in range(1, half)]
    table = tuple(magnitudes) + tuple(-v for v in magnitudes)
    return Format(f"pow2x{bits}", bits, False, 0, (), "pow2", table, ((half, "-0"),))


TOY = Family("pow2", r"pow2x(?P<bits>\d+)", lambda m: pow2_format(int(m["bits"])),
             "pow2xB (B in 2..6)", ("pow2x3",), "shift_only")


@pytest.fixture
def toy_registry(monkeypatch: pytest.MonkeyPatch) -> Family:
    monkeypatch.setattr(base, "_FAMILIES", dict(base._FAMILIES))
    return register_family(TOY)


def test_a_toy_family_works_through_golden_after_registering_it_alone(toy_registry) -> None:
    fmt = get_format("POW2x4")
    assert fmt.family is toy_registry and "pow2x3" in format_names()
    powers = [sign * 2 ** e for sign in (1, -1) for e in range(7)]
    assert sorted(fmt.decode(fmt.valid_codes).tolist()) == sorted([0, *powers])
    rng = np.random.default_rng(5)
    w = rng.standard_normal((64, 6))
    q = quantize_weights(w, fmt, "channel")
    u = w / q.element_scales()
    values = fmt.decode(fmt.valid_codes)
    nearest = np.abs(u[..., None] - values).min(axis=-1)
    np.testing.assert_array_equal(np.abs(fmt.decode(q.codes) - u), nearest)
    a = quantize_activations(rng.standard_normal((3, 64)))
    acc = gemm(a.codes, q.codes, fmt)
    np.testing.assert_allclose(acc * a.scales * q.scales, a.dequantize() @ q.dequantize(),
                               rtol=1e-12, atol=1e-12)
    config = MACConfig("pow2x4")
    assert config.acc_bits == default_acc_bits(fmt) and config.weight.family.datapath == \
        "shift_only"


def test_round_nearest_ties_go_to_the_even_pattern_else_toward_zero(toy_registry) -> None:
    fmt = get_format("pow2x3")
    # values 0 (code 0), 1 (1), 2 (2), 4 (3); -1 (5), -2 (6), -4 (7)
    u = np.array([0.5, 1.5, 3.0, -0.5, -1.5, -3.0, 9.0, -9.0])
    assert fmt.decode(round_nearest(u, fmt)).tolist() == [0, 2, 2, 0, -2, -2, 4, -4]
    assert fmt.decode(round_to_codes(u, fmt)).tolist() == [0, 2, 2, 0, -2, -2, 4, -4]


def test_registry_rejects_clashes_and_non_families(toy_registry) -> None:
    with pytest.raises(ValueError, match=r"^family name 'pow2' is already registered$"):
        register_family(TOY)
    clash = Family("wide", r"wide|pow2x\d+", lambda m: pow2_format(3), "", ("wide",), "x")
    with pytest.raises(ValueError, match=r"^family 'wide' would also parse 'pow2x3', a name of "
                                         r"family 'pow2'$"):
        register_family(clash)
    with pytest.raises(TypeError, match=r"^family must be a Family, not 'int'$"):
        register_family("int")
    misnamed = Family("odd", r"odd\d", lambda m: pow2_format(3), "", ("odd3",), "x")
    with pytest.raises(ValueError, match=r"^default name 'odd3' of family 'odd' must parse to a "
                                         r"format of that name$"):
        register_family(misnamed)
    assert "odd" not in [f.name for f in base.families()]


def test_format_of_an_unregistered_family_names_it() -> None:
    fmt = Format("mystery4", 4, True, 0, (), "mystery")
    with pytest.raises(ValueError, match=r"^format family must be one of \['int', 'dint', .*'nf'"
                                         r".*\], not 'mystery'$"):
        round_to_codes(np.zeros(2), fmt)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: Format("t", 2, False, 0, (), "x", (0, 1, 2)),
     r"^table must hold 4 scaled values for 2 bits, not 3$"),
    (lambda: Format("t", 2, False, 0, (), "x", (0, 1, 2, 3), ((5, "nan"),)),
     r"^excluded must pair codes in \[0, 3\] with a mark in \['-0', 'nan', '\+inf', '-inf'\], "
     r"not \(5, 'nan'\)$"),
    (lambda: Format("t", 2, False, 0, (), "x", (1, 0, 2, 3)),
     r"^code 0 of t must be the value 0 \(zero padding and reset registers rely on it\)$"),
    (lambda: Format("t", 2, False, 0, (), "x", (0, 1, 2, 3), ((0, "nan"),)),
     r"^code 0 of t must be the value 0"),
])
def test_format_rejects_inconsistent_tables(make, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_error_lists_the_registry(toy_registry) -> None:
    """The registered toy's accepted names come last, after every built-in family's."""
    with pytest.raises(ValueError, match=re.escape("nf4fF (F in 4..16), ") + ".*"
                       + re.escape(", pow2xB (B in 2..6), not 'fp3' (only fp4 (E2M1) may omit eEmM")):
        get_format("fp3")
