# amaranth: UnusedElaboratable=no
"""The shared product logic: exact for every (weight, activation) pair, rejects odd specials."""

from __future__ import annotations

import pytest
from amaranth.hdl import Module, Signal, signed
from amaranth.sim import Simulator

from golden.formats import DINT4, INT4, Format, dint_format
from golden.mac import MACConfig
from golden.systolic import SystolicConfig
from hw.mac import MAC
from hw.product import ScaledProduct
from hw.systolic import SystolicArray

ACT_BITS = 6


@pytest.mark.parametrize("weight", [INT4, DINT4, dint_format(5, 2)], ids=lambda f: f.name)
def test_every_pair_gives_the_golden_scaled_product(weight: Format) -> None:
    w, x = Signal(signed(weight.bits)), Signal(signed(ACT_BITS))
    product = ScaledProduct(weight)(w, x)
    m = Module()
    out = Signal(product.shape())
    m.d.comb += out.eq(product)
    acts = range(-(1 << (ACT_BITS - 1)), 1 << (ACT_BITS - 1))
    wrong = []

    async def bench(ctx) -> None:
        for code, scaled in zip(weight.codes.tolist(), weight.scaled_table.tolist()):
            ctx.set(w, code)
            for act in acts:
                ctx.set(x, act)
                if ctx.get(out) != scaled * act:
                    wrong.append((code, act, scaled * act, ctx.get(out)))

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    assert not wrong, f"(w, x, expected, got): {wrong[:5]}"


ODD = Format("odd4", 4, True, 1, ((7, 3), (-8, -1)), "dint")
ODD_MESSAGE = r"^weight special code 7 must scale to \+-a power of two for the shift-and-mux " \
              r"datapath, not 3$"


@pytest.mark.parametrize("make", [lambda: ScaledProduct(ODD), lambda: MAC(MACConfig(ODD)),
                                  lambda: SystolicArray(SystolicConfig(2, 2, ODD))],
                         ids=["ScaledProduct", "MAC", "SystolicArray"])
def test_specials_that_are_not_powers_of_two_are_rejected(make) -> None:
    with pytest.raises(ValueError, match=ODD_MESSAGE):
        make()
