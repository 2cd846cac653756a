"""flow.sta: timing figures, activity units and data-dependent power from OpenSTA."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from golden.mac import MACConfig
from golden.workloads import make_workload
from hw.export import export
from flow.gatesim import simulate
from flow.sta import pin_activities, run_sta
from flow.synth import flat_module, synthesize
from flow.tools import DEFAULT_CELLS_VERILOG, DEFAULT_LIBERTY, find_tools

# One xdist worker runs this whole module, so its expensive module fixture runs once.
pytestmark = pytest.mark.xdist_group("flow_sta")


@pytest.fixture(scope="module")
def flow(build_root: Path) -> dict:
    """An INT4 MAC netlist and the pin activities of three workloads on it."""
    config = MACConfig("int4")
    tools = find_tools()
    job = build_root / "flow_sta" / config.name
    export(config, job)
    synth = synthesize(job / f"{config.name}.v", config.name, DEFAULT_LIBERTY, job, tools.yosys)
    module = flat_module(synth, config.name)
    activities = {}
    for name in ("uniform", "synthetic", "zeros"):
        trace = config.gemm_trace(*make_workload(name, 4, 32, 2, config.weight, seed=2))
        sim = simulate(trace, config.name, synth.netlist, job / f"sim_{name}",
                       liberty=DEFAULT_LIBERTY, cells_verilog=DEFAULT_CELLS_VERILOG)
        activities[name] = pin_activities(module, sim.activity)
    return {"config": config, "job": job, "netlist": synth.netlist, "activities": activities,
            "sta": tools.sta}


def _run(flow: dict, clock_ns: float, sub: str):
    job = flow["job"] / sub
    job.mkdir(exist_ok=True)
    return run_sta(flow["sta"], DEFAULT_LIBERTY, flow["netlist"], flow["config"].name, clock_ns,
                   job, flow["activities"])


def _dynamic(power) -> float:
    return power.internal_mw + power.switching_mw


def test_timing_is_consistent(flow: dict) -> None:
    timing = _run(flow, 10.0, "t10").timing
    assert 0 < timing["critical_path_ns"] < 10.0
    assert timing["slack_ns"] == pytest.approx(10.0 - timing["critical_path_ns"])
    assert timing["fmax_mhz"] == pytest.approx(1e3 / timing["critical_path_ns"])
    assert timing["startpoint"] and timing["endpoint"]
    tight = _run(flow, 2.0, "t2").timing
    assert tight["slack_ns"] < 0, "a 2 ns clock is too fast for a 0.18 um MAC"
    assert tight["critical_path_ns"] == pytest.approx(timing["critical_path_ns"], rel=1e-3)


def test_activity_is_per_clock_period(flow: dict) -> None:
    """The same transitions per cycle at twice the period: half the dynamic power."""
    fast, slow = _run(flow, 10.0, "p10"), _run(flow, 20.0, "p20")
    for name in ("uniform", "synthetic"):
        assert _dynamic(slow.workloads[name]) == pytest.approx(
            _dynamic(fast.workloads[name]) / 2, rel=0.02)
    assert slow.vectorless.leakage_mw == pytest.approx(fast.vectorless.leakage_mw)


def test_power_follows_the_data(flow: dict) -> None:
    result = _run(flow, 10.0, "data")
    zeros, uniform = result.workloads["zeros"], result.workloads["uniform"]
    assert _dynamic(zeros) < 0.5 * _dynamic(uniform)
    assert zeros.switching_mw < 0.05 * uniform.switching_mw, "only the clock switches"
    assert zeros.leakage_mw == pytest.approx(uniform.leakage_mw)
    assert all(p.total_mw > 0 for p in (*result.workloads.values(), result.vectorless))


def test_pin_activities_cover_cell_inputs_not_clock(flow: dict) -> None:
    groups = flow["activities"]["uniform"]
    pins = [p for members in groups.values() for p in members]
    assert len(pins) == len(set(pins))
    assert not any(p.endswith("/CLK") for p in pins)
    assert any(p.endswith("/D") for p in pins) and any(p.endswith("/Q") for p in pins)
    assert "w[0]" in pins, "input ports carry their measured activity"
    assert all(0.0 <= rate <= 2.0 and 0.0 <= duty <= 1.0 for rate, duty in groups)


def test_broken_netlist_surfaces_sta_error(flow: dict) -> None:
    job = flow["job"] / "broken"
    job.mkdir(exist_ok=True)
    broken = job / "netlist.v"
    text = flow["netlist"].read_text()
    broken.write_text(text[:len(text) // 2])
    with pytest.raises(RuntimeError, match=r"(?s)^sta failed on .*broken/netlist\.v .*"
                                           r"Error: .*syntax error"):
        run_sta(flow["sta"], DEFAULT_LIBERTY, broken, flow["config"].name, 10.0, job, {})


def test_hostile_paths_reach_tcl_as_plain_names(flow: dict, tmp_path: Path) -> None:
    """Before: ``read_liberty {<path>}`` ran the Tcl command hidden in a Liberty path."""
    folder = tmp_path / "lib } ; exec touch PWNED ; puts {"
    folder.mkdir()
    liberty = folder / "} ; exec touch PWNED ; puts {.lib"
    shutil.copyfile(DEFAULT_LIBERTY, liberty)
    job = tmp_path / "job ü [exec touch PWNED] }{"
    job.mkdir()
    result = run_sta(flow["sta"], liberty, flow["netlist"], flow["config"].name, 10.0, job,
                     flow["activities"])
    assert 0 < result.timing["critical_path_ns"] < 10.0
    assert set(result.workloads) == set(flow["activities"])
    assert list(tmp_path.rglob("PWNED")) == []


@pytest.mark.parametrize("clock_ns", [float("inf"), float("nan"), 0.0])
def test_non_finite_clock_is_refused_before_sta_runs(flow: dict, clock_ns: float,
                                                     tmp_path: Path) -> None:
    """Before: ``--clock-ns inf`` hung OpenSTA forever."""
    with pytest.raises(ValueError, match=r"^clock_ns must be a positive finite number of "
                                         r"nanoseconds, not "):
        run_sta(flow["sta"], DEFAULT_LIBERTY, flow["netlist"], flow["config"].name, clock_ns,
                tmp_path, flow["activities"])
    assert list(tmp_path.iterdir()) == []
