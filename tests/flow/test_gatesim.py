"""flow.gatesim: the mapped netlist computes what the golden model says; toggles from the VCD."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from golden.mac import MACConfig
from golden.workloads import make_workload
from hw.export import export
from flow.gatesim import HALF_PERIOD, read_vcd, simulate
from flow.synth import synthesize
from flow.tools import DEFAULT_CELLS_VERILOG, DEFAULT_LIBERTY, find_tools

_CONFIGS = [MACConfig("dint4"), MACConfig("int4", acc_bits=14, overflow="saturate",
                                          pipeline=True)]


@pytest.fixture(scope="module", params=_CONFIGS, ids=lambda c: c.name)
def netlist(request: pytest.FixtureRequest, build_root: Path) -> tuple[MACConfig, Path]:
    config = request.param
    job = build_root / "flow_gatesim" / config.name
    export(config, job)
    result = synthesize(job / f"{config.name}.v", config.name, DEFAULT_LIBERTY, job,
                        find_tools().yosys)
    return config, result.netlist


def _simulate(config: MACConfig, netlist: Path, workload: str, folder: Path):
    tools = find_tools()
    a, w = make_workload(workload, 4, 32, 2, config.weight, seed=5)
    trace = config.gemm_trace(a, w)
    return trace, simulate(trace, config.name, netlist, DEFAULT_CELLS_VERILOG, folder,
                           tools.iverilog, tools.vvp)


@pytest.mark.parametrize("workload", ["uniform", "synthetic"])
def test_netlist_matches_golden(netlist: tuple, workload: str, build_root: Path) -> None:
    config, path = netlist
    trace, sim = _simulate(config, path, workload, path.parent / f"sim_{workload}")
    assert trace.first_mismatch(sim.observed) is None
    valid = trace.care["acc"]
    assert valid.sum() >= 4 * 2, "every output of the GEMM was compared"
    assert np.array_equal(sim.observed["acc"][valid], trace.expected["acc"][valid])
    assert sim.activity.cycles == trace.cycles
    assert sim.activity.toggles["clk"] == 2 * trace.cycles


def test_extreme_operands_match_golden(netlist: tuple) -> None:
    """Largest products of both signs; the 14-bit saturating accumulator clips on them."""
    config, path = netlist
    tools = find_tools()
    fmt = config.weight
    a = np.array([[127] * 32, [-128] * 32, [127] * 32])
    w = np.stack([np.full(32, fmt.code_max - 1), np.full(32, fmt.code_min + 1)], axis=1)
    trace = config.gemm_trace(a, w)
    sim = simulate(trace, config.name, path, DEFAULT_CELLS_VERILOG, path.parent / "sim_extreme",
                   tools.iverilog, tools.vvp)
    assert trace.first_mismatch(sim.observed) is None
    clipped = np.abs(trace.expected["acc"]).max() >= (1 << (config.acc_bits - 1)) - 1
    assert clipped == (config.overflow.value == "saturate")


def test_broken_netlist_reports_first_mismatch(netlist: tuple) -> None:
    config, path = netlist
    broken = path.parent / "broken" / "netlist.v"
    broken.parent.mkdir(exist_ok=True)
    broken.write_text(path.read_text().replace("XOR2X1 ", "XNOR2X1 "))
    with pytest.raises(AssertionError, match=r"disagrees with the golden model: first mismatch "
                                             r"at cycle \d+ on acc: expected -?\d+, got -?\d+"):
        _simulate(config, broken, "uniform", broken.parent)


def test_zeros_leave_data_nets_quiet(netlist: tuple) -> None:
    config, path = netlist
    _, sim = _simulate(config, path, "zeros", path.parent / "sim_zeros")
    data = {n: t for n, t in sim.activity.toggles.items() if n not in ("clk", "valid", "clear",
                                                                        "acc_valid")}
    assert sum(data.values()) <= len(data) * 0.01 * sim.activity.cycles


def test_read_vcd_counts_transitions_and_duty(tmp_path: Path) -> None:
    period = 2 * HALF_PERIOD
    vcd = tmp_path / "t.vcd"
    vcd.write_text("\n".join([
        "$timescale 1ns $end", "$scope module dut $end",
        "$var wire 1 ! a $end", "$var wire 3 \" bus [2:0] $end", "$var wire 1 # q [4] $end",
        "$upscope $end", "$enddefinitions $end",
        "#0", "$dumpvars", "x!", "b101 \"", "0#", "$end",
        f"#{period}", "1!", "b1 \"", "1#",
        f"#{2 * period}", "0!", "b110 \"",
        f"#{3 * period}", "1!",
        "",
    ]))
    act = read_vcd(vcd, cycles=4)
    assert act.toggles == {"a": 2, "bus[2]": 2, "bus[1]": 1, "bus[0]": 1, "q[4]": 1}
    assert act.duty["a"] == pytest.approx(2 / 4)
    assert act.duty["bus[2]"] == pytest.approx(3 / 4)
    assert act.duty["bus[0]"] == pytest.approx(2 / 4)
    assert act.duty["q[4]"] == pytest.approx(3 / 4)
    assert act.rate("bus[1]") == pytest.approx(1 / 4)


def test_window_start_is_checked(netlist: tuple, tmp_path: Path) -> None:
    config, path = netlist
    trace = config.gemm_trace(*make_workload("zeros", 1, 4, 1, config.weight, seed=0))
    tools = find_tools()
    with pytest.raises(ValueError, match=rf"^window_start must be in \[0, {trace.cycles - 1}\], "
                                         rf"not {trace.cycles}$"):
        simulate(trace, config.name, path, DEFAULT_CELLS_VERILOG, tmp_path, tools.iverilog,
                 tools.vvp, window_start=trace.cycles)


def test_compiled_bench_is_shared_until_the_netlist_changes(netlist: tuple,
                                                             tmp_path: Path) -> None:
    config, path = netlist
    tools = find_tools()
    copy = tmp_path / "netlist.v"
    copy.write_text(path.read_text())
    bench = tmp_path / "bench"

    def run(workload: str) -> float:
        trace = config.gemm_trace(*make_workload(workload, 2, 8, 2, config.weight, seed=1))
        simulate(trace, config.name, copy, DEFAULT_CELLS_VERILOG, tmp_path / workload,
                 tools.iverilog, tools.vvp, bench_dir=bench)
        return (bench / "sim.vvp").stat().st_mtime_ns

    first = run("uniform")
    assert run("synthetic") == first, "same shape, same netlist: no recompilation"
    copy.write_text(path.read_text().replace("XOR2X1 ", "XNOR2X1 "))
    with pytest.raises(AssertionError, match=r"first mismatch"):
        run("uniform")
