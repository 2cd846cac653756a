"""flow.power against OpenSTA 2.0.17's report_power, on the three MACs and a 4x4 array."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from golden.mac import MACConfig
from golden.systolic import SystolicConfig
from golden.workloads import make_workload
from hw.export import export
from flow.activity import NetActivity, read_vcd_activity
from flow.liberty import read_liberty
from flow.power import activity_from_pins, compute_power, read_netlist
from flow.gatesim import RESET_CYCLES, simulate
from flow.sta import pin_activities, run_sta, vectorless_activities
from flow.synth import synthesize
from flow.tech import TECHNOLOGIES, buffer_cell, liberty_file
from flow.tools import find_tools
from qmac_cli import main

# One xdist worker runs this whole module, so its expensive fixtures run once.
pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.xdist_group("flow_power")]

CLOCK_NS = 10.0
DESIGNS = {"int8": MACConfig("int8"), "int4": MACConfig("int4"), "dint4": MACConfig("dint4"),
           "array4": SystolicConfig(4, 4, "dint4")}


def _synth(config, liberty: Path, job: Path):
    tools = find_tools()
    manifest = export(config, job)
    synth = synthesize(job / manifest["verilog"], config.name, liberty, job, tools.yosys)
    return synth, read_netlist(synth.flat_json, config.name), tools


@pytest.fixture(scope="session")
def opensta_runs(build_root: Path) -> dict:
    """Each design synthesised once, with OpenSTA's propagated activities and report_power."""
    liberty = TECHNOLOGIES["osu018"].liberty
    runs = {}
    for key, config in DESIGNS.items():
        job = build_root / "power" / key
        synth, netlist, tools = _synth(config, liberty, job)
        rates, reported = vectorless_activities(tools.sta, liberty, synth.netlist, config.name,
                                                CLOCK_NS, job)
        runs[key] = (netlist, activity_from_pins(netlist, rates, CLOCK_NS), reported)
    return runs


@pytest.mark.parametrize("design", DESIGNS)
def test_engine_reproduces_opensta_per_group(opensta_runs: dict, design: str) -> None:
    """Fed OpenSTA's own activities, the OpenSTA-2.0 rules give its report within 3 %."""
    netlist, activity, reported = opensta_runs[design]
    library = read_liberty(TECHNOLOGIES["osu018"].liberty)
    ours = compute_power(netlist, library, activity, mode="opensta2019").total
    assert ours.internal_mw == pytest.approx(reported.internal_mw, rel=0.03)
    assert ours.switching_mw == pytest.approx(reported.switching_mw, rel=0.03)
    assert ours.leakage_mw == pytest.approx(reported.leakage_mw, rel=0.03)


def test_measured_rules_charge_half_energy_per_transition(opensta_runs: dict) -> None:
    """OpenSTA 2.0 charges rise + fall energy per transition where >= 2.1 (and qmac) charge
    their mean: on the same activities internal power falls to roughly half, switching and
    leakage (cell_leakage_power only in osu018) are unchanged."""
    netlist, activity, _ = opensta_runs["dint4"]
    library = read_liberty(TECHNOLOGIES["osu018"].liberty)
    old = compute_power(netlist, library, activity, mode="opensta2019").total
    new = compute_power(netlist, library, activity).total
    assert 0.4 < new.internal_mw / old.internal_mw < 0.65
    assert new.switching_mw == pytest.approx(old.switching_mw)
    assert new.leakage_mw == pytest.approx(old.leakage_mw)


def test_array_power_groups_by_pe(opensta_runs: dict) -> None:
    netlist, activity, _ = opensta_runs["array4"]
    report = compute_power(netlist, read_liberty(TECHNOLOGIES["osu018"].liberty), activity)
    scopes = report.by_scope()
    pes = [name for name in scopes if re.fullmatch(r"pe_\d+_\d+", name)]
    assert len(pes) == 16
    assert sum(p.total_mw for p in scopes.values()) == pytest.approx(report.total.total_mw)
    assert all(scopes[pe].total_mw > 0 for pe in pes)


def test_power_scales_with_toggles_and_period(opensta_runs: dict) -> None:
    netlist, activity, _ = opensta_runs["int4"]
    library = read_liberty(TECHNOLOGIES["osu018"].liberty)
    base = compute_power(netlist, library, activity).total
    slow = NetActivity(activity.cycles, 2 * activity.period_ns, activity.toggles,
                       {n: 2 * t for n, t in activity.time_high.items()})
    halved = compute_power(netlist, library, slow).total
    assert halved.switching_mw == pytest.approx(base.switching_mw / 2)
    assert halved.internal_mw == pytest.approx(base.internal_mw / 2)
    assert halved.leakage_mw == pytest.approx(base.leakage_mw)
    idle = NetActivity(activity.cycles, activity.period_ns, dict.fromkeys(activity.toggles, 0),
                       activity.time_high)
    assert compute_power(netlist, library, idle).total.switching_mw == 0.0


@pytest.mark.parametrize("tech", ["osu035", "sky130hd"])
def test_other_libraries_synthesise_and_agree(build_root: Path, tech: str) -> None:
    """osu035 and sky130 HD (wire-load model, pg pins, state-dependent leakage) run end to end
    and the engine reproduces OpenSTA on them too."""
    record = TECHNOLOGIES[tech]
    if not record.liberty.exists():
        pytest.fail(f"{record.liberty} is missing: {record.package}")
    liberty = liberty_file(record.liberty)
    library = read_liberty(liberty)
    assert library.voltage == record.voltage
    config = MACConfig("int4")
    job = build_root / "power" / tech
    synth, netlist, tools = _synth(config, liberty, job)
    assert {t for t, _ in netlist.instances.values()} <= set(library.cells)
    rates, reported = vectorless_activities(tools.sta, liberty, synth.netlist, config.name,
                                            CLOCK_NS, job)
    activity = activity_from_pins(netlist, rates, CLOCK_NS)
    ours = compute_power(netlist, library, activity, mode="opensta2019").total
    assert ours.switching_mw == pytest.approx(reported.switching_mw, rel=0.03)
    assert ours.internal_mw == pytest.approx(reported.internal_mw, rel=0.03)
    measured = compute_power(netlist, library, activity).total
    assert measured.total_mw > 0 and measured.leakage_mw > 0


def test_buffer_cell_comes_from_the_liberty() -> None:
    assert buffer_cell(read_liberty(TECHNOLOGIES["osu018"].liberty)) == ("BUFX2", "A", "Y")


def test_unknown_mode_is_named(opensta_runs: dict) -> None:
    netlist, activity, _ = opensta_runs["int4"]
    with pytest.raises(ValueError, match=r"^mode must be one of \['measured', 'opensta2019'\], "
                                         r"not 'fast'$"):
        compute_power(netlist, read_liberty(TECHNOLOGIES["osu018"].liberty), activity,
                      mode="fast")


@pytest.fixture(scope="session")
def measured_dint4(opensta_runs: dict, build_root: Path) -> tuple:
    """The dINT4 MAC's gate-level simulation of a synthetic workload: (sim, job folder)."""
    config = DESIGNS["dint4"]
    job = build_root / "power" / "dint4"
    trace = config.gemm_trace(*make_workload("synthetic", 4, 16, 2, config.weight, 0))
    sim = simulate(trace, config.name, job / "netlist.v", job / "gatesim",
                   liberty=TECHNOLOGIES["osu018"].liberty,
                   cells_verilog=TECHNOLOGIES["osu018"].cells_verilog)
    cycles = sim.activity.cycles
    activity = NetActivity(cycles, CLOCK_NS, sim.activity.toggles,
                           {n: d * cycles * CLOCK_NS for n, d in sim.activity.duty.items()})
    return sim, activity, job


def test_agrees_with_opensta_where_it_honours_measured_activity(opensta_runs: dict,
                                                              measured_dint4: tuple) -> None:
    """OpenSTA 2.0.17 keeps user activity on flip-flop outputs (it re-derives combinational
    ones): given the same measured toggles, the flip-flops' switching power is the same."""
    config = DESIGNS["dint4"]
    sim, activity, job = measured_dint4
    tools = find_tools()
    netlist = opensta_runs["dint4"][0]
    module = json.loads((job / "netlist.json").read_text())["modules"][config.name]
    sta = run_sta(tools.sta, TECHNOLOGIES["osu018"].liberty, job / "netlist.v", config.name,
                  CLOCK_NS, job, {"synthetic": pin_activities(module, sim.activity)},
                  per_instance=True)
    library = read_liberty(TECHNOLOGIES["osu018"].liberty)
    ours = compute_power(netlist, library, activity)
    flops = [i for i, cell in ours.cells.items() if library.cell(cell).sequential]
    assert len(flops) > 20
    theirs = sum(sta.instances["synthetic"][i].switching_mw for i in flops)
    mine = sum(ours.instances[i].switching_mw for i in flops)
    assert mine == pytest.approx(theirs, rel=0.03)
    assert mine > 0


def test_power_command_on_a_netlist_and_vcd(measured_dint4: tuple, opensta_runs: dict,
                                            tmp_path: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    sim, activity, job = measured_dint4
    out = tmp_path / "power.json"
    code = main(["power", "--netlist", str(job / "netlist.v"), "--liberty",
                 str(TECHNOLOGIES["osu018"].liberty), "--vcd", str(sim.wave), "--scope",
                 "qmac_tb.bench.dut", "--clock-ns", str(CLOCK_NS), "--json", str(out)])
    assert code == 0, capsys.readouterr().err
    result = json.loads(out.read_text())
    # The bench's wave also holds the reset cycles, so the CLI prices the whole file.
    whole = read_vcd_activity(sim.wave, "qmac_tb.bench.dut", period_ns=CLOCK_NS)
    expected = compute_power(opensta_runs["dint4"][0],
                             read_liberty(TECHNOLOGIES["osu018"].liberty), whole).total
    assert result["cycles"] == whole.cycles == activity.cycles + RESET_CYCLES
    assert result["engine"] == "qmac"
    assert result["total"]["total_mw"] == pytest.approx(expected.total_mw, rel=1e-9)
    assert f"{result['total']['total_mw']:.6g} mW" in capsys.readouterr().out


def test_power_command_rejects_a_bad_clock(measured_dint4: tuple,
                                           capsys: pytest.CaptureFixture) -> None:
    sim, _, job = measured_dint4
    code = main(["power", "--netlist", str(job / "netlist.v"), "--liberty",
                 str(TECHNOLOGIES["osu018"].liberty), "--vcd", str(sim.wave), "--scope",
                 "qmac_tb.bench.dut", "--clock-ns", "0"])
    assert code == 2
    assert capsys.readouterr().err == ("qmac power: error: clock_ns must be a positive number, "
                                       "not 0.0\n")
