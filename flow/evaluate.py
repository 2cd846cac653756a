"""One design through the whole flow: Verilog, synthesis, timing, gate-level activity, power.

``evaluate`` exports the design (``hw.export``), synthesises it onto a Liberty library
(``flow.synth``), replays each workload's GEMM on the mapped netlist (``flow.gatesim``; the netlist
must reproduce the golden model's outputs), and computes power from every net's measured toggles
(``flow.power``); OpenSTA's estimate from the same activities (``flow.sta``) is kept beside it.
A sample window of each MAC workload is also replayed with SDF delays (``flow.glitch``), giving the
labelled estimate ``with_glitches``. The result (schema ``qmac.result/1``, ``flow/result_schema.json``) is written to
``<out_dir>/<design>/result.json``. The run works in a private hidden job folder and publishes it
as ``<out_dir>/<design>`` only once everything succeeded (``flow.folders.in_private_job``), so a
failed run leaves the previous result in place and two runs sharing ``out_dir`` never mix files.
"""

from __future__ import annotations

import datetime as _dt
import json
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import amaranth

from golden.checks import check_int, check_positive
from golden.designs import design_kind, flow_kinds
from golden.workloads import WORKLOADS, block_workload, make_workload
from hw.export import export, write_atomic
from flow.activity import NetActivity
from flow.gatesim import Activity, choose_simulator, simulate, verilator_built
from flow.folders import in_private_job
from flow.glitch import glitch_window, timed_activity, with_glitches
from flow.liberty import read_liberty
from flow.power import compute_power, read_netlist
from flow.recipes import DEFAULT_RECIPE, Recipe
from flow.sta import VECTORLESS_INPUT_ACTIVITY, Power, pin_activities, run_sta
from flow.synth import PE_INSTANCE, area_report, flat_module, synthesize
from flow.tools import find_tools, library_files

__all__ = ["RESULT_SCHEMA", "DEFAULT_CLOCK_NS", "DEFAULT_WORKLOADS", "MAC_SHAPE",
           "MIN_UTILISATION", "workload_shape", "mac_shape", "array_shape", "workload_operands",
           "block_operands", "workload_codes", "step_timeout_s", "evaluate"]

RESULT_SCHEMA = "qmac.result/1"
DEFAULT_WORKLOADS = ("minilm", "synthetic", "uniform", "zeros")
DEFAULT_CLOCK_NS = 10.0
"""The common clock of every design (100 MHz: every default design meets it at osu018's corner)."""

MAC_SHAPE = (40, 128, 2)
"""M, K, N streamed through a single MAC: 10,240 MACs, so the ``latency + 1`` idle tail cycles
change energy per MAC by 0.03 %."""
MIN_UTILISATION = 0.98
"""Useful MACs / (cycles x multipliers) every array workload reaches over its whole run."""


def workload_shape(config: Any) -> tuple[int, int, int]:
    """GEMM shape (M, K, N) each workload streams through ``config``'s design (its kind's
    ``workload``); a kind without one is refused in one line."""
    kind = design_kind(config)
    if kind.workload is None:
        raise ValueError(f"design kind must be one of {list(flow_kinds())} for the flow, not "
                         f"{kind.name!r} (its workloads are not defined yet)")
    return kind.load("workload")(config)


def mac_shape(config: Any) -> tuple[int, int, int]:
    """A MAC streams ``MAC_SHAPE``."""
    return MAC_SHAPE


def array_shape(config: Any) -> tuple[int, int, int]:
    """An R x C array gets K = 2R (two weight tiles, so the double-buffered bank swap is
    exercised), N = C and the fewest rows M that keep the whole run at least
    ``MIN_UTILISATION`` busy (golden cycle model), so the R-cycle weight fill and the R + C
    cycle drain weigh at most 2 %: M = 147 for 2 x 2, 1176 for 16 x 16."""
    rows, cols = config.rows, config.cols
    k, n, m = 2 * rows, cols, 1
    while m * k * n < MIN_UTILISATION * config.gemm_cycles(m, k, n) * rows * cols:
        m += 1
    return m, k, n


def workload_operands(config: Any, name: str, seed: int) -> tuple[Any, ...]:
    """The arguments of ``config.gemm_trace`` for workload ``name`` (its kind's ``operands``)."""
    return design_kind(config).load("operands")(config, name, seed)


def block_operands(config: Any, name: str, seed: int) -> tuple[Any, Any]:
    """``(a, w)`` block-quantized (``golden.workloads.block_workload``) for a block-scaled
    design: the MAC's shape, its K a whole number of blocks."""
    m, k, n = workload_shape(config)
    if k % config.block:
        raise ValueError(f"block must divide the workload's K = {k}, not {config.block}")
    return block_workload(name, m, k, n, config.weight, config.act, seed)


def workload_codes(config: Any, name: str, seed: int) -> tuple[Any, Any]:
    """``(a_codes, w_codes)`` of workload ``name`` for ``config``'s design: its shape, its weight
    format and its activation format (an FP8 activation is drawn as FP8 codes, not INT8)."""
    return make_workload(name, *workload_shape(config), config.weight, seed, act=config.act)


def step_timeout_s(config: Any) -> float:
    """Limit on one tool run (Yosys, Icarus, OpenSTA) for ``config``'s design, in seconds.

    Far above the measured times (a 16x16 array: Yosys 134 s, one workload's simulation 44 s,
    OpenSTA 20 s, against a limit of 3160 s), and growing with the MACs per cycle, which the
    cell count and the simulated cycles follow; a hung tool is killed instead of waited on.
    """
    return 600.0 + 10.0 * config.macs_per_cycle


def evaluate(config: Any, *, liberty: Path | str | None = None,
             cells_verilog: Path | str | None = None, clock_ns: float = DEFAULT_CLOCK_NS,
             workloads: tuple[str, ...] = DEFAULT_WORKLOADS, seed: int = 0,
             out_dir: Path | str = Path("build/synth"), recipe: Recipe = DEFAULT_RECIPE,
             progress: Callable[[str], None] = print) -> dict:
    """Area, timing, vectorless and per-workload power of ``config``'s design synthesised with
    ``recipe`` (``flow.recipes``); see module doc."""
    clock_ns = check_positive("clock_ns", clock_ns, "nanoseconds")
    workloads = tuple(workloads)
    unknown = [w for w in workloads if w not in WORKLOADS]
    if unknown or not workloads:
        raise ValueError(f"workloads must be a non-empty selection of {list(WORKLOADS)}, "
                         f"not {list(workloads)!r}")
    check_int("seed", seed, 0)
    liberty, cells_verilog = library_files(liberty, cells_verilog)
    return in_private_job(out_dir, config.name, lambda private: _evaluate_in(
        config, liberty=liberty, cells_verilog=cells_verilog, clock_ns=clock_ns,
        workloads=workloads, seed=seed, out_dir=private, recipe=recipe, progress=progress))


def _evaluate_in(config: Any, *, liberty: Path, cells_verilog: Path | None, clock_ns: float,
                 workloads: tuple[str, ...], seed: int, out_dir: Path, recipe: Recipe,
                 progress: Callable[[str], None]) -> dict:
    """``evaluate`` on checked arguments, writing ``<out_dir>/<design>/``."""
    tools = find_tools()
    job = Path(out_dir) / config.name
    job.mkdir(parents=True, exist_ok=True)
    result_path = job / "result.json"
    start = time.perf_counter()
    runtime: dict[str, float] = {}

    def step(name: str, detail: str = "") -> None:
        progress(f"{name:<9}{config.name} {detail}({time.perf_counter() - start:.1f} s)")

    step("export")
    manifest = export(config, job)
    step("synth", f"[{recipe.name}] ")
    t0 = time.perf_counter()
    timeout = step_timeout_s(config)
    synth = synthesize(job / manifest["verilog"], config.name, liberty, job, tools.yosys,
                       recipe, timeout=timeout)
    library = read_liberty(liberty)
    area = area_report(synth, config.name, library)
    module = flat_module(synth, config.name)
    runtime["synth"] = time.perf_counter() - t0
    m, k, n = workload_shape(config)
    traces, activities = {}, {}
    t0 = time.perf_counter()
    for name in workloads:
        trace = config.gemm_trace(*workload_operands(config, name, seed))
        simulator = choose_simulator(trace.cycles * len(workloads), verilator_built(
            trace, config.name, synth.netlist, liberty, job / "gatesim_bench"))
        step("gatesim", f"[{name} {m}x{k}x{n}, {trace.cycles} cycles, {simulator}] ")
        steady = config.steady_window(trace.inputs)
        windows = {"steady": steady}
        if config.kind == "mac":
            windows["glitch"] = glitch_window(steady)
        sim = simulate(trace, config.name, synth.netlist, job / f"gatesim_{name}",
                       liberty=liberty, cells_verilog=cells_verilog, simulator=simulator,
                       windows=windows, bench_dir=job / "gatesim_bench",
                       timeout=timeout)
        traces[name] = (trace, sim)
        activities[name] = pin_activities(module, sim.activity)
    runtime["gatesim"] = time.perf_counter() - t0
    step("sta")
    t0 = time.perf_counter()
    sta = run_sta(tools.sta, synth.liberty, synth.netlist, config.name, clock_ns, job, activities,
                  timeout=timeout)
    runtime["sta"] = time.perf_counter() - t0
    step("power")
    t0 = time.perf_counter()
    netlist = read_netlist(synth.flat_json, config.name)
    power_workloads = {}
    for name, (trace, sim) in traces.items():
        cycles = sim.activity.cycles
        measured = _net_activity(sim.activity, clock_ns)
        report = compute_power(netlist, library, measured)
        power = report.total
        rates = [sim.activity.rate(net) for net in sim.activity.toggles if net != "clk"]
        energy = power.total_mw * clock_ns * cycles / trace.macs
        opensta = sta.workloads[name]
        window = sim.activities["steady"]
        steady = compute_power(netlist, library, _net_activity(window, clock_ns)).total
        power_workloads[name] = {
            "seed": seed, "shape": [m, k, n], "cycles": cycles, "macs": trace.macs,
            "engine": "qmac", **_components(power), "energy_per_mac_pj": energy,
            "energy_per_op_pj": energy / 2,
            "opensta": {**_components(opensta), "energy_per_mac_pj":
                        opensta.total_mw * clock_ns * cycles / trace.macs},
            "breakdown": _breakdown(report, library),
            "netlist_matches_golden": True,
            "mean_net_activity": sum(rates) / len(rates) if rates else 0.0,
            "simulator": sim.simulator, "vcd": str(sim.wave.relative_to(job)),
            "steady": {"window": list(window.window), "cycles": window.cycles,
                       "macs": window.cycles * config.macs_per_cycle, **_components(steady),
                       "energy_per_mac_pj": steady.total_mw * clock_ns / config.macs_per_cycle},
        }
        if config.kind == "mac" and cells_verilog is not None:
            # The SDF replay needs the library's own timing-aware models: generated ones have
            # no specify blocks, so a library without models gets zero-delay power only.
            sample = sim.activities["glitch"]
            timed = timed_activity(trace, config.name, synth.netlist, liberty, cells_verilog,
                                   job / f"timed_{name}", tools.sta, tools.iverilog, tools.vvp,
                                   float(clock_ns), job / f"gatesim_{name}" / "outputs.txt",
                                   window=sample.window)
            estimate = with_glitches(
                power, compute_power(netlist, library, _net_activity(sample, clock_ns)).total,
                compute_power(netlist, library, timed).total)
            power_workloads[name]["with_glitches"] = {
                **_glitch_record(estimate, power, clock_ns * cycles / trace.macs),
                "window": list(sample.window)}
    runtime["power"] = time.perf_counter() - t0
    vectorless = {"input_activity": VECTORLESS_INPUT_ACTIVITY, **_components(sta.vectorless),
                  "energy_per_mac_pj": sta.vectorless.total_mw * clock_ns / config.macs_per_cycle}
    result = {
        "schema": RESULT_SCHEMA,
        "design": {"name": config.name, "kind": config.kind, "params": config.params(),
                   "macs_per_cycle": config.macs_per_cycle},
        "library": {"name": library.name, "liberty": str(liberty),
                    "cells_verilog": None if cells_verilog is None else str(cells_verilog)},
        "clock_ns": float(clock_ns),
        "recipe": recipe.record(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "seed": seed,
        "tools": {"qmac": metadata.version("qmac"), **tools.versions(),
                  "amaranth": amaranth.__version__},
        "area": area,
        "timing": sta.timing,
        "power": {"vectorless": vectorless, "workloads": power_workloads},
        "files": {"verilog": manifest["verilog"], "netlist": synth.netlist.name,
                  "netlist_json": synth.flat_json.name, "netlist_hier_json": synth.hier_json.name,
                  "yosys_log": synth.log.name, "sta_log": "sta.log"},
        "runtime_s": runtime,
    }
    write_atomic(result_path, json.dumps(result, indent=2) + "\n")
    step("done")
    return result


def _glitch_record(timed: Power, zero_delay: Power, ns_per_mac: float) -> dict[str, float]:
    """Power with glitches and the share of its dynamic power that zero delay misses."""
    dynamic = timed.internal_mw + timed.switching_mw
    share = 1 - (zero_delay.internal_mw + zero_delay.switching_mw) / dynamic if dynamic else 0.0
    return {**_components(timed), "energy_per_mac_pj": timed.total_mw * ns_per_mac,
            "glitch_share": share}


def _breakdown(report, library) -> dict[str, float]:
    """Total mW of the array's PEs and of its edge logic, and of registers vs logic."""
    in_pe = report.by_group(lambda inst: "pe" if PE_INSTANCE.fullmatch(
        report.scopes[inst].split(".")[0]) else "edge")
    kind = report.by_group(lambda inst: "sequential" if library.cell(
        report.cells[inst]).sequential else "combinational")
    return {f"{key}_mw": power.total_mw for key, power in {**in_pe, **kind}.items()}


def _net_activity(activity: Activity, clock_ns: float) -> NetActivity:
    """The power engine's view of one window: toggles and time at 1 in ns."""
    return NetActivity(activity.cycles, float(clock_ns), activity.toggles,
                       {net: d * activity.cycles * clock_ns for net, d in activity.duty.items()})


def _components(power: Power) -> dict[str, float]:
    return {"internal_mw": power.internal_mw, "switching_mw": power.switching_mw,
            "leakage_mw": power.leakage_mw, "total_mw": power.total_mw}
