# amaranth: UnusedElaboratable=no
"""A format added from this file alone (issue 11's three-file claim: family, datapath, test).

``pow3`` is a toy 3-bit sign-magnitude family: ``S.MM`` means 0 for ``MM = 0`` and
``+-2**(MM-1)`` otherwise ({0, +-1, +-2, +-4}); ``100`` is -0. Its datapath ``pow2_shift`` decodes
a code to a 0/1 flag, a shift and a sign, so the product is a shifted activation: no multiplier.
Everything below reaches it through the registries: golden quantize and gemm, the MAC cycle
model, Verilog export and lint, the exhaustive cocotb MAC regression (the bench imports this file
through ``QMAC_PLUGINS``) and synthesis. Nothing outside this file names ``pow3``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from amaranth.hdl import Module, Mux, Signal, Value, unsigned

import golden.datapath
import hw.product
from golden.datapath import FamilyDatapath, register_datapath
from golden.families import base
from golden.formats import Family, Format, format_names, get_format, register_family
from hw.product import Operand, register_decoder

POW3 = Format("pow3", 3, False, 0, (), "pow3", (0, 1, 2, 4, 0, -1, -2, -4), ((4, "-0"),))


def _decode(fmt: Format, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    codes = np.asarray(codes, dtype=np.int64)
    magnitude = codes & 3
    return (magnitude != 0).astype(np.int64), np.maximum(magnitude - 1, 0), codes >> 2


def _hardware(m: Module, fmt: Format, code: Value) -> Operand:
    code = code.as_unsigned()
    nonzero, shift = Signal(), Signal(unsigned(2))
    m.d.comb += [nonzero.eq(code[:2].any()), shift.eq(Mux(nonzero, code[:2] - 1, 0))]
    return Operand(nonzero, shift, code[2])


def register_pow3() -> None:
    """The three registrations a new format needs: datapath model, family, hardware decoder."""
    register_datapath(FamilyDatapath("pow2_shift", "flag, shift and sign: a shifted activation",
                                     _decode))
    register_family(Family("pow3", r"pow3", lambda _: POW3, "", ("pow3",), "pow2_shift"))
    register_decoder("pow2_shift", _hardware)


if __name__.startswith("qmac_plugin"):
    register_pow3()  # imported by a cocotb bench through QMAC_PLUGINS


@pytest.fixture
def pow3(monkeypatch: pytest.MonkeyPatch) -> Format:
    """``register_pow3`` on copies of the registries, so no other test sees the toy."""
    datapaths = dict(golden.datapath.FAMILY_DATAPATHS)
    monkeypatch.setattr(base, "_FAMILIES", dict(base._FAMILIES))
    monkeypatch.setattr(golden.datapath, "FAMILY_DATAPATHS", datapaths)
    monkeypatch.setattr(hw.product, "FAMILY_DATAPATHS", datapaths)
    monkeypatch.setattr(hw.product, "OPERAND_DECODERS", dict(hw.product.OPERAND_DECODERS))
    register_pow3()
    return POW3


def test_golden_knows_it_through_the_registry(pow3: Format) -> None:
    from golden.arith import gemm
    from golden.mac import MACConfig
    from golden.quantize import quantize

    assert "pow3" in format_names() and get_format("POW3") is POW3
    quantized = quantize(np.array([[4.0, -1.0, 0.3, 2.0]]), np.ones((1, 1)), POW3)
    codes = np.asarray(quantized.codes)
    assert sorted(POW3.decode(codes.ravel()).tolist()) == [-1.0, 0.0, 2.0, 4.0]
    a = np.array([[3, -7, 127, -128]])
    w = np.array([[1], [5], [3], [7]])
    assert gemm(a, w, POW3).tolist() == [[3 * 1 + -7 * -1 + 127 * 4 + -128 * -4]]
    assert MACConfig(POW3).product_bits == 11


@pytest.mark.slow  # ~25 s under load: one Icarus build and run plus one Yosys synthesis
def test_exhaustive_cocotb_on_icarus_lint_and_synth(pow3: Format, build_root: Path) -> None:
    from flow.synth import synthesize
    from flow.tools import DEFAULT_LIBERTY, find_tools
    from golden.mac import MACConfig
    from hw.export import export
    from sim.runner import run_cocotb
    from sim.stimulus import PLUGINS_ENV
    from sim.toolchain import lint_verilog

    config = MACConfig(POW3)
    out = build_root / "toy_format"
    info = export(config, out / "src")
    lint_verilog(out / "src" / info["verilog"], config.name)
    assert not re.search(r"\$signed\([^)]*\) \*", (out / "src" / info["verilog"]).read_text()), \
        "pow3 needs no multiplier"
    run = run_cocotb(config, "icarus", "sim.tb_mac", out / "icarus", seed=1,
                     extra_env={PLUGINS_ENV: __file__})
    cycles = {s["label"]: s["cycles"] for s in run.stats}
    assert cycles["exhaustive"] == 8 * 256 + config.latency + 1  # -0 is driven too: it has a value
    synth = synthesize(out / "src" / info["verilog"], config.name, DEFAULT_LIBERTY,
                       out / "synth", find_tools().yosys)
    assert synth.yosys_area_um2 > 0 and synth.netlist.is_file()
