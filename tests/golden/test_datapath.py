"""Product datapaths: every golden decomposition gives the exact scaled product of every pair."""

from __future__ import annotations

import numpy as np
import pytest

from golden.arith import product_bits
from golden.datapath import DEFAULT_PRODUCT, PRODUCT_DATAPATHS
from golden.formats import INT4, INT8, Format, dint_format, int_format
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
