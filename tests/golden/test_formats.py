"""Every code of every format: round trip, exact tables, specials, names, bad input.

Format-family specifics (FP against ml_dtypes, NF4, ternary, the registry) are in
test_families.py.
"""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from golden.formats import DINT4, INT4, INT8, Format, accepted_names, dint_format, \
    format_names, get_format, int_format

PARAMETERISED = ("int2", "int16", "dint3", "dint8", "dint4f2", "nf4f4", "nf4f16")
FORMATS = [*(get_format(name) for name in format_names()),
           *(get_format(name) for name in PARAMETERISED)]
DINT_FORMATS = [fmt for fmt in FORMATS if fmt.kind == "dint"]
INT_FORMATS = [fmt for fmt in FORMATS if fmt.kind == "int"]


def ids(fmt: Format) -> str:
    return fmt.name


@pytest.mark.parametrize("fmt", FORMATS, ids=ids)
def test_every_code_round_trips(fmt: Format) -> None:
    low = -(1 << (fmt.bits - 1)) if fmt.signed else 0
    assert fmt.codes.tolist() == list(range(low, low + (1 << fmt.bits)))
    codes = fmt.valid_codes
    values = fmt.decode(codes)
    np.testing.assert_array_equal(fmt.encode(values), codes)
    np.testing.assert_array_equal(fmt.decode_scaled(codes), values * (1 << fmt.shift))
    assert len(set(values.tolist())) == len(codes), "two valid codes share a value"


@pytest.mark.parametrize("fmt", FORMATS, ids=ids)
def test_valid_and_finite_codes(fmt: Format) -> None:
    """Valid = never excluded; finite = valid plus -0; code 0 is the value 0 and valid."""
    excluded = fmt.excluded_codes
    assert fmt.valid_codes.tolist() == [c for c in fmt.codes.tolist() if c not in excluded]
    assert fmt.finite_codes.tolist() == [c for c in fmt.codes.tolist()
                                         if excluded.get(c, "-0") == "-0"]
    assert fmt.value(0) == 0 and 0 in fmt.valid_codes
    assert np.isfinite(fmt.decode(fmt.finite_codes)).all()
    assert not np.isfinite(fmt.decode(np.setdiff1d(fmt.codes, fmt.finite_codes))).any()


@pytest.mark.parametrize("fmt", FORMATS, ids=ids)
def test_exact_values_and_minimal_shift(fmt: Format) -> None:
    exact = [fmt.value(int(c)) for c in fmt.finite_codes]
    assert [float(v) for v in exact] == fmt.decode(fmt.finite_codes).tolist()
    assert all((v * (1 << fmt.shift)).denominator == 1 for v in exact)
    if fmt.shift:
        assert any((v * (1 << (fmt.shift - 1))).denominator != 1 for v in exact)


@pytest.mark.parametrize("fmt", FORMATS, ids=ids)
def test_code_dtype_holds_every_code(fmt: Format) -> None:
    info = np.iinfo(fmt.code_dtype)
    assert info.min <= fmt.code_min and fmt.code_max <= info.max
    assert fmt.code_dtype.itemsize == (1 if fmt.bits <= 8 else 2)
    assert fmt.code_dtype.kind == ("i" if fmt.signed else "u")


def test_dint4_is_the_issue_value_set() -> None:
    half = Fraction(1, 2)
    expected = {Fraction(v) for v in range(-7, 7)} | {half, -half}
    assert {value for _, _, value in DINT4.code_table()} == expected
    assert (DINT4.name, DINT4.bits, DINT4.shift, DINT4.kind) == ("dint4", 4, 1, "dint")
    assert (7, "0111", half) in DINT4.code_table()
    assert (-8, "1000", -half) in DINT4.code_table()


@pytest.mark.parametrize("fmt", DINT_FORMATS, ids=ids)
def test_dint_extreme_patterns_are_the_denormals(fmt: Format) -> None:
    top, bottom = fmt.code_max, fmt.code_min
    assert fmt.bit_pattern(top) == "0" + "1" * (fmt.bits - 1)
    assert fmt.bit_pattern(bottom) == "1" + "0" * (fmt.bits - 1)
    assert fmt.value(top) == Fraction(1, 1 << fmt.shift) == -fmt.value(bottom)
    assert fmt.special_codes == {top: 1, bottom: -1}
    regular = [int(c) for c in fmt.codes if c not in (top, bottom)]
    assert all(fmt.value(c) == c for c in regular)
    assert (fmt.grid_min, fmt.grid_max) == (min(regular), max(regular))
    assert (fmt.value_min, fmt.value_max) == (min(regular), max(regular))


@pytest.mark.parametrize("fmt", INT_FORMATS, ids=ids)
def test_int_codes_are_their_values(fmt: Format) -> None:
    assert fmt.shift == 0 and fmt.special_codes == {} and fmt.values_are_codes
    np.testing.assert_array_equal(fmt.decode(fmt.codes), fmt.codes)
    assert (fmt.grid_min, fmt.grid_max) == (fmt.code_min, fmt.code_max)


@given(st.sampled_from(FORMATS), st.data())
@settings(max_examples=60, deadline=None)
def test_round_trip_property(fmt: Format, data: st.DataObject) -> None:
    valid = fmt.valid_codes.tolist()
    codes = np.asarray(data.draw(st.lists(st.sampled_from(valid), max_size=40)), dtype=np.int64)
    np.testing.assert_array_equal(fmt.encode(fmt.decode(codes)), codes)


@pytest.mark.parametrize(("name", "expected"), [
    ("int8", INT8), ("INT4", INT4), (" dint4 ", DINT4), ("dint4f1", DINT4),
    ("dint4f2", dint_format(4, 2)), ("int16", int_format(16)), ("dint3", dint_format(3)),
])
def test_get_format_parses_names(name: str, expected: Format) -> None:
    assert get_format(name) == expected
    assert get_format(expected.name) == expected


def test_format_names_are_gettable() -> None:
    assert [get_format(name).name for name in format_names()] == format_names()


def test_format_names_contain_every_family_default() -> None:
    names = format_names()
    for name in ("int8", "int4", "dint4", "fp4", "fp6e2m3", "fp6e3m2", "fp8e4m3", "fp8e5m2",
                 "ternary", "nf4"):
        assert name in names
    assert len(set(names)) == len(names)


@pytest.mark.parametrize(("name", "reason"), [
    ("foo", ""), ("", ""), ("int", ""), ("uint8", ""), (4, ""), ("fp", ""), ("nf3", ""),
    ("int1", r"bits must be an integer in \[2, 16\], not 1"),
    ("int17", r"bits must be an integer in \[2, 16\], not 17"), ("int4f2", ""),
    ("dint2", r"bits must be an integer in \[3, 16\], not 2"),
    ("dint17", r"bits must be an integer in \[3, 16\], not 17"),
    ("dint4f0", r"shift must be an integer in \[1, 8\], not 0"),
    ("dint4f9", r"shift must be an integer in \[1, 8\], not 9"),
    ("fp8", r"only fp4 \(E2M1\) may omit eEmM, not fp8"),
    ("fp8e4m2", r"bits must be 1 \+ E \+ M = 7, not 8"),
    ("fp7e4m2", r"\(exp_bits, man_bits\) must be one of the OCP encodings \[\(2, 1\), \(2, 3\), "
                r"\(3, 2\), \(4, 3\), \(5, 2\)\], not \(4, 2\)"),
    ("nf4f3", r"fraction_bits must be an integer in \[4, 16\], not 3"),
    ("nf4f17", r"fraction_bits must be an integer in \[4, 16\], not 17"),
])
def test_get_format_rejects_bad_names(name: object, reason: str) -> None:
    because = rf" \({reason}\)" if reason else ""
    with pytest.raises(ValueError, match=rf"^format must be one of {re.escape(accepted_names())}, "
                                         rf"not {re.escape(repr(name))}{because}$"):
        get_format(name)


def test_accepted_names_list_defaults_then_patterns() -> None:
    text = accepted_names()
    assert text.startswith(", ".join(format_names()) + ", ")
    for pattern in ("intB (B in 2..16)", "dintB or dintBfF (B in 3..16, F in 1..8)",
                    "nf4fF (F in 4..16)"):
        assert pattern in text


@pytest.mark.parametrize(("make", "message"), [
    (lambda: int_format(1), r"^bits must be an integer in \[2, 16\], not 1$"),
    (lambda: int_format(True), r"^bits must be an integer in \[2, 16\], not True$"),
    (lambda: dint_format(2), r"^bits must be an integer in \[3, 16\], not 2$"),
    (lambda: dint_format(4, 0), r"^shift must be an integer in \[1, 8\], not 0$"),
    (lambda: dint_format(4, 1.0), r"^shift must be an integer in \[1, 8\], not 1\.0$"),
])
def test_constructors_reject_bad_parameters(make, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize(("codes", "message"), [
    (np.array([0, 8]), r"^codes holds code 8, outside int4's range \[-8, 7\]$"),
    (np.array([-9, 3]), r"^codes holds code -9, outside int4's range \[-8, 7\]$"),
    (np.array([0.0]), r"^codes must be an integer array of int4 codes, not dtype float64$"),
    (np.array([True]), r"^codes must be an integer array of int4 codes, not dtype bool$"),
])
def test_out_of_range_or_non_integer_codes_raise(codes: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        INT4.decode(codes)


def test_value_rejects_out_of_range_code() -> None:
    with pytest.raises(ValueError, match=r"^code holds code 8, outside dint4's range \[-8, 7\]$"):
        DINT4.value(8)


@pytest.mark.parametrize(("fmt", "values", "message"), [
    (DINT4, [0.5, 0.25], r"^values holds 0\.25, which dint4 cannot represent exactly; allowed "
                         r"values are \[-7\.0, -6\.0, .*, -1\.0, -0\.5, 0\.0, 0\.5, 1\.0, "
                         r".*6\.0\]$"),
    (DINT4, [7.0], r"^values holds 7\.0, which dint4 cannot represent exactly"),
    (int_format(16), [0.5], r"^values holds 0\.5, which int16 cannot represent exactly; allowed "
                            r"values are the 65536 values of its code table "
                            r"\(qmac formats int16\)$"),
    (INT8, [1.0, np.nan], r"^values must be finite, got nan$"),
    (INT8, [-np.inf], r"^values must be finite, got -inf$"),
])
def test_encode_rejects_unrepresentable_values(fmt: Format, values: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fmt.encode(np.array(values))


def test_formats_pickle_after_their_family_was_looked_up() -> None:
    import pickle

    for name in ("int4", "dint4", "fp4", "nf4", "ternary"):
        fmt = get_format(name)
        assert fmt.family.name == fmt.kind
        copy = pickle.loads(pickle.dumps(fmt))
        assert copy == fmt and copy.family is fmt.family
