"""Build tests of the systolic array: structure, Verilog, lint, and every cycle in Amaranth's simulator.

The Amaranth simulator runs in-process (no C++ build), so small arrays are checked here against
the golden cycle model on *every* output cycle, including those ``y_valid`` does not mark; the
cocotb regressions in tests/sim check the exported Verilog.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from amaranth.hdl import Value
from amaranth.sim import Simulator

from golden.systolic import SystolicConfig
from golden.tiler import schedule_gemm
from golden.trace import PortTrace
from hw.build import build
from hw.export import export
from hw.systolic import PE, SystolicArray
from sim.toolchain import lint_verilog


def simulate(config: SystolicConfig, trace: PortTrace) -> dict[str, np.ndarray]:
    """Drive ``trace`` into the Amaranth design with the trace's cycle convention."""
    dut = build(config)
    words = {p.name: p.pack(trace.inputs[p.name]) for p in trace.input_ports}
    seen: dict[str, list[int]] = {p.name: [] for p in trace.output_ports}

    async def bench(ctx) -> None:
        for t in range(trace.cycles):
            for port in trace.output_ports:
                seen[port.name].append(ctx.get(Value.cast(getattr(dut, port.name))))
            for port in trace.input_ports:
                ctx.set(Value.cast(getattr(dut, port.name)), words[port.name][t])
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return {p.name: p.unpack(seen[p.name]) for p in trace.output_ports}


CONFIGS = [
    dict(rows=1, cols=1, weight="int8"),
    dict(rows=2, cols=3, weight="dint4"),
    dict(rows=3, cols=2, weight="int4", overflow="saturate", acc_bits=13),
    dict(rows=3, cols=2, weight="int8", psum_bits=17, acc_bits=16),
    dict(rows=2, cols=2, weight="dint4f2", acc_depth=3, acc_bits=13, overflow="saturate"),
    dict(rows=3, cols=3, weight="int8", acc_depth=1, acc_bits=17),
]


@pytest.mark.parametrize("params", CONFIGS, ids=lambda p: SystolicConfig(**p).name)
def test_every_cycle_matches_the_cycle_model(params: dict) -> None:
    config = SystolicConfig(**params)
    rng = np.random.default_rng(17)
    for m, k, n in ((1, 2 * config.rows + 1, config.cols + 1), (9, 2 * config.rows, 2)):
        a = rng.integers(config.act.code_min, config.act.code_max + 1, (m, k))
        w = rng.integers(config.weight.code_min, config.weight.code_max + 1, (k, n))
        a[0] = config.act.code_min
        trace = schedule_gemm(config, a, w).trace
        observed = simulate(config, trace)
        assert trace.first_mismatch(observed) is None, trace.first_mismatch(observed)
        for name, values in trace.expected.items():
            assert np.array_equal(observed[name], values), f"{name} differs where not cared for"


def _modules(config: SystolicConfig, out) -> set[str]:
    info = export(config, out)
    return set(re.findall(r"^module \\?(\S+)\s*\(", (out / info["verilog"]).read_text(),
                          flags=re.M))


def test_hierarchy_is_what_the_flow_reads(build_root) -> None:
    """One Verilog module per PE (``pe_{r}_{c}``) and per edge block, as flow/ sums areas by them."""
    out = build_root / "systolic_hw"
    config = SystolicConfig(2, 3, "dint4", acc_depth=2)
    top = config.name
    pes = {f"{top}.pe_{r}_{c}" for r in range(2) for c in range(3)}
    assert _modules(config, out) == {top, *pes, *(f"{top}.{e}" for e in ("skew", "deskew", "accum"))}
    plain = SystolicConfig(2, 3, "dint4")
    assert {m.split(".", 1)[-1] for m in _modules(plain, out) if "." in m} == \
        {m.split(".", 1)[-1] for m in pes} | {"skew", "deskew"}
    saved = json.loads((out / f"{top}.json").read_text())
    assert saved["params"] == config.params() and saved["macs_per_cycle"] == 6
    assert saved["latency"] == build(config).latency == config.latency
    assert [p["name"] for p in saved["ports"]] == [p.name for p in config.ports]


def test_ports_have_the_config_widths() -> None:
    config = SystolicConfig(3, 4, "int4", acc_depth=5)
    members = build(config).signature.members
    for port in config.ports:
        assert Value.cast(getattr(build(config), port.name)).shape().width == port.bits
        assert members[port.name].flow.name == ("In" if port.direction == "in" else "Out")


@pytest.mark.parametrize("params", [dict(rows=4, cols=4, weight="dint4"),
                                    dict(rows=3, cols=2, weight="int8", acc_depth=4,
                                         overflow="saturate")],
                         ids=["dint4_4x4", "int8_acc"])
def test_verilog_lints_clean(params: dict, build_root) -> None:
    config = SystolicConfig(**params)
    out = build_root / "systolic_lint"
    info = export(config, out)
    lint_verilog(out / info["verilog"], config.name)


def test_rejects_other_configs() -> None:
    with pytest.raises(ValueError, match=r"^config must be a SystolicConfig, not 3$"):
        SystolicArray(3)


def test_pe_is_one_class_for_every_position() -> None:
    config = SystolicConfig(2, 2, "int8")
    assert PE(config).signature.members["psum_out"].shape.width == config.psum_bits
