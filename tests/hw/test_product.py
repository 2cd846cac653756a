# amaranth: UnusedElaboratable=no
"""The shared product logic: exact for every (weight, activation) pair, rejects odd specials."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.hdl import Module, Signal, signed
from amaranth.sim import Simulator

from golden.datapath import PRODUCT_DATAPATHS
from golden.formats import DINT4, INT4, Format, dint_format
from golden.mac import MACConfig
from golden.systolic import SystolicConfig
from hw.mac import MAC
from hw.product import ScaledProduct
from hw.systolic import SystolicArray

ACT_BITS = 6


@pytest.mark.parametrize("datapath", PRODUCT_DATAPATHS)
@pytest.mark.parametrize("weight", [INT4, DINT4, dint_format(5, 2)], ids=lambda f: f.name)
def test_every_pair_gives_the_golden_word_and_carry(weight: Format, datapath: str) -> None:
    """The hardware forms exactly the golden model's word and carry, and they sum to the
    scaled product, for every (weight code, activation) pair."""
    w, x = Signal(signed(weight.bits)), Signal(signed(ACT_BITS))
    m = Module()
    product = ScaledProduct(weight, datapath)(m, w, x)
    word, carry = Signal(signed(weight.bits + ACT_BITS + 1)), Signal()
    m.d.comb += word.eq(product.word)
    if product.carry is not None:
        m.d.comb += carry.eq(product.carry)
    acts = np.arange(-(1 << (ACT_BITS - 1)), 1 << (ACT_BITS - 1))
    wrong = []

    async def bench(ctx) -> None:
        for code, scaled in zip(weight.codes.tolist(), weight.scaled_table.tolist()):
            ctx.set(w, code)
            gold_word, gold_carry = PRODUCT_DATAPATHS[datapath].model(
                weight, np.full_like(acts, code), acts)
            for act, expect_word, expect_carry in zip(acts.tolist(), gold_word.tolist(),
                                                      gold_carry.tolist()):
                ctx.set(x, act)
                got = (ctx.get(word), ctx.get(carry))
                if got != (expect_word, expect_carry) or sum(got) != scaled * act:
                    wrong.append((code, act, scaled * act, got))

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    assert not wrong, f"first mismatches (w, x, product, (word, carry)): {wrong[:5]}"


ODD = Format("odd4", 4, True, 1, ((7, 3), (-8, -1)), "dint")
ODD_MESSAGE = r"^weight special code 7 must scale to \+-a power of two for the shift-and-mux " \
              r"datapath, not 3$"


@pytest.mark.parametrize("make", [lambda: ScaledProduct(ODD, "select"),
                                  lambda: MAC(MACConfig(ODD)),
                                  lambda: SystolicArray(SystolicConfig(2, 2, ODD))],
                         ids=["ScaledProduct", "MAC", "SystolicArray"])
def test_specials_that_are_not_powers_of_two_are_rejected(make) -> None:
    with pytest.raises(ValueError, match=ODD_MESSAGE):
        make()


def test_unknown_datapath_is_named() -> None:
    with pytest.raises(ValueError, match=r"^product must be one of \['cin', 'mmux', 'select'\], "
                                         r"not 'booth'$"):
        ScaledProduct(DINT4, "booth")
    with pytest.raises(ValueError, match=r"^product must be one of .*not 'booth'$"):
        MACConfig(DINT4, product="booth")
