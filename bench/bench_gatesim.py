"""Gate-level simulation speed: Icarus (library models) against Verilator (generated models).

The same 8x8 dINT4 array netlist and the same ``uniform`` workload (about 5,000 cycles) run on
both simulators from a cold build: compile time, simulated cycles per second and end-to-end time
(compile + simulation + reading the activity). Icarus is the baseline; target: Verilator end to
end >= 10x faster. The break-even cycle count (where Verilator, compile included, starts to win)
follows from the two measured costs and is printed beside ``flow.gatesim.BREAK_EVEN_CYCLES``.
The Verilator build runs with an empty ccache; a second build of the same model then shows what
a warm ccache saves. Last, a 16x16 array's steady-state workload (``flow.evaluate
.workload_shape``) runs on Verilator from a cold build: target <= 300 s. Wall times depend on the
machine's load; the CPU time of the tools (this process's children) is printed beside them.
"""

from __future__ import annotations

import os
import resource
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from golden.systolic import SystolicConfig
from golden.workloads import make_workload
from hw.export import export
from flow.evaluate import workload_shape
from flow.gatesim import BREAK_EVEN_CYCLES, build, simulate
from flow.synth import synthesize
from flow.tools import DEFAULT_CELLS_VERILOG, DEFAULT_LIBERTY, find_tools

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "bench" / "gatesim"
TARGET_SPEEDUP = 10.0
TARGET_16X16_S = 300.0
CYCLES = 5000
SEED = 0


class _Clock:
    """Wall seconds and the tools' CPU seconds since the last ``lap``."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), self._cpu()

    @staticmethod
    def _cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    def lap(self) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), self._cpu()
        lap = (wall - self.wall, cpu - self.cpu)
        self.wall, self.cpu = wall, cpu
        return lap


def _fmt(pair: tuple[float, float]) -> str:
    return f"{pair[0]:.1f} s ({pair[1]:.1f} s CPU)"


def _netlist(config: SystolicConfig) -> Path:
    job = WORK / config.name
    export(config, job)
    return synthesize(job / f"{config.name}.v", config.name, DEFAULT_LIBERTY, job,
                      find_tools().yosys).netlist


def _measure(config, trace, netlist: Path, simulator: str, folder: Path,
             windows: dict | None = None) -> dict:
    """Cold build, then one simulation of ``trace``: times of both and the run's result."""
    bench = folder / "bench"
    shutil.rmtree(bench, ignore_errors=True)
    models = DEFAULT_CELLS_VERILOG if simulator == "icarus" else None
    clock = _Clock()
    build(trace, config.name, netlist, bench, liberty=DEFAULT_LIBERTY, cells_verilog=models,
          simulator=simulator)
    compiled = clock.lap()
    sim = simulate(trace, config.name, netlist, folder / "run", liberty=DEFAULT_LIBERTY,
                   cells_verilog=models, simulator=simulator, windows=windows, bench_dir=bench)
    run = clock.lap()
    return {"compile": compiled, "run": run, "sim": sim, "bench": bench,
            "end_to_end": compiled[0] + run[0]}


def run() -> Iterator[str]:
    """Yield each result line as soon as it is measured (the 16x16 part alone takes minutes)."""
    config = SystolicConfig(rows=8, cols=8, weight="dint4")
    clock = _Clock()
    netlist = _netlist(config)
    yield f"{config.name}: synthesis {_fmt(clock.lap())}"
    m = 1
    while config.gemm_cycles(m, 2 * config.rows, config.cols) < CYCLES:
        m += 1
    trace = config.gemm_trace(*make_workload("uniform", m, 2 * config.rows, config.cols,
                                             config.weight, SEED))
    yield (f"workload uniform {m}x{2 * config.rows}x{config.cols}: {trace.cycles} cycles, "
           f"seed {SEED}")
    results = {}
    with tempfile.TemporaryDirectory() as cache:
        os.environ["CCACHE_DIR"] = cache
        try:
            for simulator in ("verilator", "icarus"):
                r = results[simulator] = _measure(config, trace, netlist, simulator,
                                                  WORK / config.name / simulator)
                sim = r["sim"]
                yield (
                    f"{simulator}: compile {_fmt(r['compile'])}; simulation "
                    f"{sim.seconds['simulate']:.1f} s = "
                    f"{trace.cycles / sim.seconds['simulate']:,.1f} cycles/s; reading activity "
                    f"{sim.seconds['read']:.1f} s; end to end {r['end_to_end']:.1f} s")
            clock.lap()
            shutil.rmtree(results["verilator"]["bench"])
            build(trace, config.name, netlist, results["verilator"]["bench"],
                  liberty=DEFAULT_LIBERTY, simulator="verilator")
            yield (f"verilator rebuild of the same model with ccache warm: "
                   f"{_fmt(clock.lap())}")
        finally:
            os.environ.pop("CCACHE_DIR")
    icarus, verilator = results["icarus"], results["verilator"]
    toggles = icarus["sim"].activity.toggles
    same = toggles == verilator["sim"].activity.toggles
    yield f"per-net toggles identical on all {len(toggles)} net bits: {same}"
    speedup = icarus["end_to_end"] / verilator["end_to_end"]
    verdict = "PASS" if speedup >= TARGET_SPEEDUP else "FAIL"
    yield f"end-to-end speed-up {speedup:.1f}x (target >= {TARGET_SPEEDUP:g}x) {verdict}"
    per_cycle = {s: r["run"][0] / trace.cycles for s, r in results.items()}
    extra = verilator["compile"][0] - icarus["compile"][0]
    gain = per_cycle["icarus"] - per_cycle["verilator"]
    break_even = extra / gain if gain > 0 else float("inf")
    yield (f"break-even {break_even:,.0f} cycles (flow.gatesim.BREAK_EVEN_CYCLES = "
           f"{BREAK_EVEN_CYCLES:,})")
    yield from _steady_16x16()


def _steady_16x16() -> Iterator[str]:
    config = SystolicConfig(rows=16, cols=16, weight="dint4")
    clock = _Clock()
    netlist = _netlist(config)
    yield f"{config.name}: synthesis {_fmt(clock.lap())}"
    m, k, n = workload_shape(config)
    trace = config.gemm_trace(*make_workload("synthetic", m, k, n, config.weight, SEED))
    steady = config.steady_window(trace.inputs)
    with tempfile.TemporaryDirectory() as cache:
        os.environ["CCACHE_DIR"] = cache
        try:
            r = _measure(config, trace, netlist, "verilator", WORK / config.name,
                         windows={"steady": steady})
        finally:
            os.environ.pop("CCACHE_DIR")
    window = r["sim"].activities["steady"]
    verdict = "PASS" if r["end_to_end"] <= TARGET_16X16_S else "FAIL"
    yield (f"synthetic {m}x{k}x{n}: {trace.cycles} cycles, steady window {window.window} "
                 f"({window.cycles} busy cycles), {len(window.toggles)} net bits; compile "
           f"{_fmt(r['compile'])} + simulation and activity {_fmt(r['run'])} = "
           f"{r['end_to_end']:.1f} s, target <= {TARGET_16X16_S:g} s {verdict}")
