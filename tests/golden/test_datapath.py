"""Product datapaths: every golden decomposition gives the exact scaled product of every pair."""

from __future__ import annotations

import numpy as np
import pytest

from golden.arith import product_bits
from golden.datapath import DEFAULT_PRODUCT, FAMILY_DATAPATHS, PRODUCT_DATAPATHS, \
    check_hardware, decode_operand, product_model, register_datapath, word_bits
from golden.formats import INT4, INT8, Format, dint_format, format_names, get_format, int_format
from golden.mac import MACConfig
from golden.systolic import SystolicConfig

FORMATS = [INT8, INT4, dint_format(4, 1), dint_format(5, 2), dint_format(3, 1)]


@pytest.mark.parametrize("datapath", PRODUCT_DATAPATHS)
@pytest.mark.parametrize("weight", FORMATS, ids=lambda f: f.name)
def test_word_plus_carry_is_the_scaled_product(weight: Format, datapath: str) -> None:
    act = int_format(8)
    w, x = (a.ravel() for a in np.meshgrid(weight.codes, act.codes, indexing="ij"))
    word, carry = PRODUCT_DATAPATHS[datapath].model(weight, w, x)
    exact = weight.decode_scaled(w) * x
    bad = np.flatnonzero(word + carry != exact)
    assert bad.size == 0, (f"first mismatch: w={w[bad[0]]} x={x[bad[0]]} "
                           f"word={word[bad[0]]} carry={carry[bad[0]]} product={exact[bad[0]]}")
    bits = product_bits(weight, act)
    assert word.min() >= -(1 << (bits - 1)) and word.max() < 1 << (bits - 1), \
        f"the word does not fit the {bits}-bit product"
    assert set(np.unique(carry).tolist()) <= {0, 1}


def test_only_cin_uses_the_carry_and_only_for_negative_specials() -> None:
    weight = dint_format(4, 1)
    w = weight.codes
    x = np.full_like(w, 5)
    for name, datapath in PRODUCT_DATAPATHS.items():
        _, carry = datapath.model(weight, w, x)
        expected = (w == -8) if name == "cin" else np.zeros_like(w, dtype=bool)
        assert (carry == expected).all(), name


def test_the_datapath_names_the_design_unless_default() -> None:
    other = next(p for p in PRODUCT_DATAPATHS if p != DEFAULT_PRODUCT)
    assert MACConfig("dint4").name == "mac_dint4_x_int8_acc24_wrap"
    assert MACConfig("dint4", product=other).name.endswith(f"_wrap_{other}")
    assert SystolicConfig(2, 2, "dint4", product=other).name.endswith(f"_{other}")
    assert MACConfig("dint4", product=other).params()["product"] == other


def test_unknown_datapath_is_named() -> None:
    with pytest.raises(ValueError, match=r"^product must be one of \['cin', 'mmux', 'select'\], "
                                         r"not 'fast'$"):
        SystolicConfig(2, 2, "dint4", product="fast")


ACTS = ["int8", "int4", "fp8e4m3"]


DECODED = [n for n in format_names()
           if FAMILY_DATAPATHS[get_format(n).family.datapath].decode is not None]


def test_every_family_but_dint_decodes_to_operands() -> None:
    assert {"int8", "fp4", "fp8e4m3", "nf4", "ternary"} <= set(DECODED)
    assert not [n for n in DECODED if n.startswith("dint")]


@pytest.mark.parametrize("name", DECODED)
def test_operand_decoder_gives_every_finite_code_its_value(name: str) -> None:
    """Every family datapath's decoder model reproduces the value table: the hardware decode
    (sign, significand, shift; LUT level; ternary flag) is the format."""
    fmt = get_format(name)
    codes = fmt.finite_codes
    value, shift, negative = decode_operand(fmt, codes)
    got = np.where(negative == 1, -1, 1) * (value << shift)
    bad = np.flatnonzero(got != fmt.decode_scaled(codes))
    assert bad.size == 0, f"first mismatch: code {codes[bad[0]]} decodes to {got[bad[0]]}"


@pytest.mark.parametrize("act_name", ACTS)
@pytest.mark.parametrize("name", format_names())
def test_every_served_pair_forms_the_exact_product(name: str, act_name: str) -> None:
    weight, act = get_format(name), get_format(act_name)
    try:
        check_hardware(weight, act)
    except ValueError as err:
        assert name.startswith("dint") and act_name == "fp8e4m3", err
        return
    w, x = (a.ravel() for a in np.meshgrid(weight.finite_codes, act.finite_codes, indexing="ij"))
    word, carry = product_model(weight, act, DEFAULT_PRODUCT, w, x)
    exact = weight.decode_scaled(w) * act.decode_scaled(x)
    bad = np.flatnonzero(word + carry != exact)
    assert bad.size == 0, (f"first mismatch: w={w[bad[0]]} x={x[bad[0]]} word={word[bad[0]]} "
                           f"carry={carry[bad[0]]} product={exact[bad[0]]}")
    bits = word_bits(weight, act)
    assert word.min() >= -(1 << (bits - 1)) and word.max() < 1 << (bits - 1)
    assert bits >= product_bits(weight, act) and set(np.unique(carry).tolist()) <= {0, 1}


def test_sign_magnitude_negates_by_carry_only_when_signs_differ() -> None:
    fp4 = get_format("fp4")
    w = np.array([0b0010, 0b1010, 0b1010, 0b0010])  # +1.0, -1.0, -1.0, +1.0
    x = np.array([0b0010, 0b0010, 0b1010, 0b1010])
    word, carry = product_model(fp4, fp4, DEFAULT_PRODUCT, w, x)
    assert carry.tolist() == [0, 1, 0, 1]
    assert (word + carry).tolist() == [4, -4, 4, -4]


def test_datapath_registry_refuses_duplicates_and_non_records() -> None:
    with pytest.raises(ValueError, match=r"^datapath name 'ternary_mux' is already registered$"):
        register_datapath(FAMILY_DATAPATHS["ternary_mux"])
    with pytest.raises(TypeError, match=r"^datapath must be a FamilyDatapath, not 'x'$"):
        register_datapath("x")
