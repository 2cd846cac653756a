"""flow.gatesim: the mapped netlist computes what the golden model says; toggles per window."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from golden.mac import MACConfig
from golden.workloads import make_workload
from hw.export import export
from flow.gatesim import (BREAK_EVEN_CYCLES, HALF_PERIOD, RESET_CYCLES, choose_simulator,
                          read_wave, simulate)
from flow.synth import synthesize
from flow.tools import DEFAULT_CELLS_VERILOG, DEFAULT_LIBERTY, find_tools

_CONFIGS = [MACConfig("dint4"), MACConfig("int4", acc_bits=14, overflow="saturate",
                                          pipeline=True)]

# One xdist worker runs this whole module, so its expensive module fixture runs once.
pytestmark = pytest.mark.xdist_group("flow_gatesim")


@pytest.fixture(scope="module", params=_CONFIGS, ids=lambda c: c.name)
def netlist(request: pytest.FixtureRequest, build_root: Path) -> tuple[MACConfig, Path]:
    config = request.param
    job = build_root / "flow_gatesim" / config.name
    export(config, job)
    result = synthesize(job / f"{config.name}.v", config.name, DEFAULT_LIBERTY, job,
                        find_tools().yosys)
    return config, result.netlist


def _simulate(config: MACConfig, netlist: Path, workload: str, folder: Path, **kwargs):
    a, w = make_workload(workload, 4, 32, 2, config.weight, seed=5)
    trace = config.gemm_trace(a, w)
    return trace, simulate(trace, config.name, netlist, folder, liberty=DEFAULT_LIBERTY,
                           cells_verilog=DEFAULT_CELLS_VERILOG, **kwargs)


@pytest.mark.parametrize("workload", ["uniform", "synthetic"])
def test_netlist_matches_golden(netlist: tuple, workload: str) -> None:
    config, path = netlist
    trace, sim = _simulate(config, path, workload, path.parent / f"sim_{workload}")
    assert trace.first_mismatch(sim.observed) is None
    valid = trace.care["acc"]
    assert valid.sum() >= 4 * 2, "every output of the GEMM was compared"
    assert np.array_equal(sim.observed["acc"][valid], trace.expected["acc"][valid])
    assert sim.simulator == "icarus"
    assert sim.activity.cycles == trace.cycles and sim.activity.window == (0, trace.cycles)
    assert sim.activity.toggles["clk"] == 2 * trace.cycles
    assert sim.activity.duty["clk"] == pytest.approx(0.5)


def test_extreme_operands_match_golden(netlist: tuple) -> None:
    """Largest products of both signs; the 14-bit saturating accumulator clips on them."""
    config, path = netlist
    fmt = config.weight
    a = np.array([[127] * 32, [-128] * 32, [127] * 32])
    w = np.stack([np.full(32, fmt.code_max - 1), np.full(32, fmt.code_min + 1)], axis=1)
    trace = config.gemm_trace(a, w)
    sim = simulate(trace, config.name, path, path.parent / "sim_extreme", liberty=DEFAULT_LIBERTY,
                   cells_verilog=DEFAULT_CELLS_VERILOG)
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


def test_windows_split_the_run(netlist: tuple) -> None:
    """Two windows that tile the run add up to it: toggles exactly, time at 1 weighted."""
    config, path = netlist
    cycles = config.gemm_trace(*make_workload("uniform", 4, 32, 2, config.weight, seed=5)).cycles
    cut = cycles // 3
    trace, sim = _simulate(config, path, "uniform", path.parent / "sim_windows",
                           windows={"head": (0, cut), "tail": (cut, cycles)})
    head, tail, run = sim.activities["head"], sim.activities["tail"], sim.activity
    assert (head.window, tail.window, run.window) == ((0, cut), (cut, cycles), (0, cycles))
    for net in run.toggles:
        assert head.toggles[net] + tail.toggles[net] == run.toggles[net], net
        assert head.duty[net] * head.cycles + tail.duty[net] * tail.cycles == pytest.approx(
            run.duty[net] * run.cycles), net
    assert head.toggles["clk"] == 2 * cut


def test_read_wave_counts_transitions_and_duty(tmp_path: Path) -> None:
    """A hand-made VCD: x never counts as a transition; values at a window's start count."""
    period = 2 * HALF_PERIOD
    start = RESET_CYCLES * period
    vcd = tmp_path / "t.vcd"
    vcd.write_text("\n".join([
        "$timescale 1ns $end", "$scope module tb $end", "$scope module dut $end",
        "$var wire 1 ! a $end", "$var wire 3 \" bus [2:0] $end", "$var wire 1 # q $end",
        "$upscope $end", "$var wire 1 $ outside $end", "$upscope $end", "$enddefinitions $end",
        "#0", "$dumpvars", "x!", "b101 \"", "0#", "1$", "$end",
        f"#{start}", "1#",
        f"#{start + period}", "1!", "b1 \"",
        f"#{start + 2 * period}", "0!", "b110 \"",
        f"#{start + 3 * period}", "1!", "0$",
        "",
    ]))
    act = read_wave(vcd, "tb.dut", {"run": (0, 4), "late": (2, 4)})
    run, late = act["run"], act["late"]
    assert run.toggles == {"a": 2, "bus[2]": 2, "bus[1]": 1, "bus[0]": 1, "q": 1}
    assert run.duty["a"] == pytest.approx(2 / 4)
    assert run.duty["bus[2]"] == pytest.approx(3 / 4)
    assert run.duty["bus[0]"] == pytest.approx(2 / 4)
    assert run.duty["q"] == pytest.approx(1.0)
    assert run.rate("bus[1]") == pytest.approx(1 / 4)
    assert late.toggles == {"a": 2, "bus[2]": 1, "bus[1]": 1, "bus[0]": 1, "q": 0}
    assert late.duty["bus[1]"] == 1.0 and late.duty["a"] == pytest.approx(1 / 2)
    assert late.window == (2, 4)


def test_windows_are_checked(netlist: tuple, tmp_path: Path) -> None:
    config, path = netlist
    trace = config.gemm_trace(*make_workload("zeros", 1, 4, 1, config.weight, seed=0))
    with pytest.raises(ValueError, match=rf"^window 'steady' must be cycles \[start, end\) with "
                                         rf"0 <= start < end <= {trace.cycles}, "
                                         rf"not \(0, {trace.cycles + 1}\)$"):
        simulate(trace, config.name, path, tmp_path, liberty=DEFAULT_LIBERTY,
                 windows={"steady": (0, trace.cycles + 1)})
    with pytest.raises(ValueError, match=r"^sim must be one of \['icarus', 'verilator'\], "
                                         r"not 'vcs'$"):
        simulate(trace, config.name, path, tmp_path, liberty=DEFAULT_LIBERTY, simulator="vcs")


def test_simulator_choice_follows_the_break_even() -> None:
    assert choose_simulator(BREAK_EVEN_CYCLES - 1) == "icarus"
    assert choose_simulator(BREAK_EVEN_CYCLES) == "verilator"
    assert choose_simulator(10, compiled=True) == "verilator"


def test_compiled_bench_is_shared_until_the_netlist_changes(netlist: tuple,
                                                             tmp_path: Path) -> None:
    config, path = netlist
    copy = tmp_path / "netlist.v"
    copy.write_text(path.read_text())
    bench = tmp_path / "bench"

    def run(workload: str) -> float:
        trace = config.gemm_trace(*make_workload(workload, 2, 8, 2, config.weight, seed=1))
        simulate(trace, config.name, copy, tmp_path / workload, liberty=DEFAULT_LIBERTY,
                 cells_verilog=DEFAULT_CELLS_VERILOG, bench_dir=bench)
        return (bench / "icarus" / "sim.vvp").stat().st_mtime_ns

    first = run("uniform")
    assert run("synthetic") == first, "same shape, same netlist: no recompilation"
    copy.write_text(path.read_text().replace("XOR2X1 ", "XNOR2X1 "))
    with pytest.raises(AssertionError, match=r"first mismatch"):
        run("uniform")
