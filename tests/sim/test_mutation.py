"""A deliberately broken MAC must fail the regression, with a message naming the broken code."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from golden.formats import DINT4
from golden.mac import MACConfig
from hw.mac import MAC
from hw.product import ScaledProduct
from golden.designs import DESIGN_KINDS
from sim.runner import run_cocotb

SEED = 7


class FlippedSpecialMAC(MAC):
    """dINT MAC whose special code ``flipped`` has the wrong sign (+1/2 served as -1/2, or back):
    its product logic is built from a weight format with that one scaled value negated."""

    def __init__(self, config: MACConfig, flipped: int) -> None:
        super().__init__(config)
        specials = tuple((code, -scaled if code == flipped else scaled)
                         for code, scaled in config.weight.specials)
        self.product = ScaledProduct(replace(config.weight, specials=specials), config.product)


CASES = [("icarus", code) for code in sorted(DINT4.special_codes)] + [("verilator", 7)]


@pytest.mark.parametrize(("sim", "code"), CASES, ids=lambda v: str(v))
def test_wrong_special_code_sign_is_caught(sim: str, code: int, build_root: Path) -> None:
    config = MACConfig(DINT4)
    folder = build_root / "mutation" / f"flip{code}"
    with pytest.raises(AssertionError) as failure:
        run_cocotb(config, sim, DESIGN_KINDS["mac"].testbench, folder, seed=SEED,
                   design=FlippedSpecialMAC(config, code))
    message = str(failure.value)
    assert "exhaustive" in message and "random_stream" in message
    first = re.search(r"exhaustive failure: first mismatch at cycle (\d+) on acc: expected (-?\d+), "
                      r"got (-?\d+).*?$", message, re.M)
    assert first is not None, message
    cycle, expected, got = (int(v) for v in first.groups())
    assert got == -expected != 0
    consumed = cycle - config.latency
    inputs = dict(re.findall(r"cycle (\d+): w=(-?\d+)", first[0]))
    assert int(inputs[str(consumed)]) == code, first[0]


def test_unmutated_subclass_passes(build_root: Path) -> None:
    """The mutation hook itself changes nothing when no code is flipped."""
    config = MACConfig(DINT4)
    run = run_cocotb(config, "icarus", DESIGN_KINDS["mac"].testbench,
                     build_root / "mutation" / "none", seed=SEED,
                     design=FlippedSpecialMAC(config, flipped=0))
    assert len(run.tests) == 4
