"""Build tests of the systolic array: structure, Verilog, lint, every cycle in Amaranth's simulator.

The Amaranth simulator runs in-process (no C++ build), so small arrays are checked here against
the golden cycle model on *every* output cycle, including those ``y_valid`` does not mark; the
cocotb regressions in tests/sim check the exported Verilog.
"""

from __future__ import annotations

import gc
import json
import re
import warnings

import numpy as np
import pytest
from amaranth.hdl import Fragment, UnusedElaboratable, Value
from amaranth.sim import Simulator

from golden.systolic import SystolicConfig
from golden.tiler import schedule_gemm
from golden.trace import PortTrace
from hw.build import build
from hw.export import export
from hw.product import ScaledProduct
from hw.systolic import PE, SystolicArray
from qmac_cli import main as qmac_main
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
    """One Verilog module per PE (``pe_{r}_{c}``) and per edge block: flow/ sums areas by them."""
    out = build_root / "systolic_hw"
    config = SystolicConfig(2, 3, "dint4", acc_depth=2)
    top = config.name
    pes = {f"{top}.pe_{r}_{c}" for r in range(2) for c in range(3)}
    edges = {f"{top}.{e}" for e in ("skew", "deskew", "accum")}
    assert _modules(config, out) == {top, *pes, *edges}
    plain = SystolicConfig(2, 3, "dint4")
    assert {m.split(".", 1)[-1] for m in _modules(plain, out) if "." in m} == \
        {m.split(".", 1)[-1] for m in pes} | {"skew", "deskew"}
    saved = json.loads((out / f"{top}.json").read_text())
    assert saved["params"] == config.params() and saved["macs_per_cycle"] == 6
    assert saved["latency"] == config.latency
    assert [p["name"] for p in saved["ports"]] == [p.name for p in config.ports]


def test_ports_have_the_config_widths() -> None:
    config = SystolicConfig(3, 4, "int4", acc_depth=5)
    design = build(config)
    for port in config.ports:
        assert Value.cast(getattr(design, port.name)).shape().width == port.bits
        assert design.signature.members[port.name].flow.name == \
            ("In" if port.direction == "in" else "Out")
    Fragment.get(design, None)


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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnusedElaboratable)
        with pytest.raises(ValueError, match=r"^config must be a SystolicConfig, not 3$"):
            SystolicArray(3)
        gc.collect()


def test_latency_is_read_from_the_config() -> None:
    config = SystolicConfig(2, 5, "int8")
    design = build(config)
    assert design.latency == config.latency == 7
    pe = Fragment.get(design, None).find_subfragment("pe_1_4")
    assert pe is not None
    Fragment.get(PE(config, ScaledProduct(config.weight, config.product)), None)


def test_cli_writes_the_array_and_its_manifest(build_root, capsys) -> None:
    out = build_root / "systolic_cli"
    argv = ["verilog", "--design", "systolic", "--rows", "3", "--cols", "2", "--weight", "dint4",
            "--psum-bits", "20", "--acc-depth", "4", "--saturate", "-o", str(out)]
    assert qmac_main(argv) == 0
    config = SystolicConfig(3, 2, "dint4", psum_bits=20, overflow="saturate", acc_depth=4)
    saved = json.loads((out / f"{config.name}.json").read_text())
    assert saved["params"] == config.params() and saved["latency"] == config.latency
    assert (out / f"{config.name}.v").read_text().count("pe_") >= 6
    assert qmac_main(["verilog", "--design", "systolic", "--cols", "0", "-o", str(out)]) == 2
    assert "cols must be an integer in [1, 64], not 0" in capsys.readouterr().err
