"""The golden-generated references are themselves correct: each one, renamed to the design's top
module, passes the design's own cocotb regression against golden's cycle models (Icarus), and
the generator rejects what it cannot express."""

from __future__ import annotations

from pathlib import Path

import pytest

from golden.arith import Overflow
from golden.formats import DINT4, INT4
from golden.mac import MACConfig
from golden.systolic import SystolicConfig
from formal.spec import _lit, array_spec, mac_spec
from golden.designs import DESIGN_KINDS
from sim.runner import run_cocotb

SPECS = [(MACConfig(DINT4, overflow=Overflow.SATURATE, pipeline=True), mac_spec),
         (MACConfig(INT4), mac_spec),
         (MACConfig(DINT4, pipeline=True, product="cin"), mac_spec),
         (SystolicConfig(2, 3, DINT4, acc_bits=12, acc_depth=3), array_spec),
         (SystolicConfig(2, 2, INT4, acc_bits=13, overflow=Overflow.SATURATE), array_spec)]


@pytest.mark.parametrize(("config", "generate"), SPECS, ids=lambda v: getattr(v, "name", ""))
def test_reference_passes_the_regression(config: object, generate: object,
                                         build_root: Path) -> None:
    folder = build_root / "spec" / config.name
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "reference.v"
    source.write_text(generate(config, config.name))
    run = run_cocotb(config, "icarus", DESIGN_KINDS[config.kind].testbench, folder, seed=3,
                     verilog=source)
    assert len(run.tests) >= 4


def test_literal_must_fit() -> None:
    assert _lit(-8, 4) == "-4'sd8" and _lit(7, 4) == "4'sd7"
    with pytest.raises(ValueError, match=r"^value 8 does not fit 4 signed bits$"):
        _lit(8, 4)
