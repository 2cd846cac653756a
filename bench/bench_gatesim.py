"""Gate-level simulation speed: Icarus (library models) against Verilator (generated models).

The same 8x8 dINT4 array netlist and the same ``uniform`` workload (about 5,000 cycles) run on
both simulators from a cold build: compile time, simulated cycles per second and end-to-end time
(compile + simulation + reading the activity). Icarus is the baseline; target: Verilator end to
end >= 10x faster. The break-even cycle count (where Verilator, compile included, starts to win)
follows from the two measured costs and is printed beside ``flow.gatesim.BREAK_EVEN_CYCLES``.
A rebuild of the same model with ccache warm shows what ccache saves. Last, a 16x16 array's
steady-state workload (``flow.evaluate.workload_shape``) runs on Verilator, compile included:
target <= 300 s. Wall times depend on the machine's load; CPU times (this process's children)
are printed beside them.
"""

from __future__ import annotations

import os
import resource
import shutil
import time
from pathlib import Path

from golden.systolic import SystolicConfig
from golden.workloads import make_workload
from hw.export import export
from flow.evaluate import workload_shape
from flow.gatesim import BREAK_EVEN_CYCLES, simulate
from flow.synth import synthesize
from flow.tools import DEFAULT_CELLS_VERILOG, DEFAULT_LIBERTY, find_tools

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "bench" / "gatesim"
TARGET_SPEEDUP = 10.0
TARGET_16X16_S = 300.0
CYCLES = 5000
SEED = 0


class _Clock:
    """Wall and child-process CPU seconds since the last ``lap``."""

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


def _netlist(config: SystolicConfig) -> Path:
    job = WORK / config.name
    export(config, job)
    return synthesize(job / f"{config.name}.v", config.name, DEFAULT_LIBERTY, job,
                      find_tools().yosys).netlist


def _rows_for(config: SystolicConfig, cycles: int) -> int:
    k, n = 2 * config.rows, config.cols
    m = 1
    while config.gemm_cycles(m, k, n) < cycles:
        m += 1
    return m


def _timed(config, trace, netlist: Path, simulator: str, folder: Path, windows=None) -> dict:
    """Compile from cold (ccache off), then simulate the trace; times of both steps."""
    bench = folder / "bench"
    shutil.rmtree(bench, ignore_errors=True)
    os.environ["CCACHE_DISABLE"] = "1"
    clock = _Clock()
    models = DEFAULT_CELLS_VERILOG if simulator == "icarus" else None
    # The first run pays compile + simulation, the second (same build) simulation only.
    first = simulate(trace, config.name, netlist, folder / "run1", liberty=DEFAULT_LIBERTY,
                     cells_verilog=models, simulator=simulator, windows=windows,
                     bench_dir=bench)
    end_to_end = clock.lap()
    os.environ.pop("CCACHE_DISABLE")
    simulate(trace, config.name, netlist, folder / "run2", liberty=DEFAULT_LIBERTY,
             cells_verilog=models, simulator=simulator, windows=windows, bench_dir=bench)
    run = clock.lap()
    return {"end_to_end": end_to_end, "run": run,
            "compile": (end_to_end[0] - run[0], end_to_end[1] - run[1]), "sim": first}


def _fmt(pair: tuple[float, float]) -> str:
    return f"{pair[0]:.1f} s wall ({pair[1]:.1f} s CPU)"


def run() -> list[str]:
    config = SystolicConfig(rows=8, cols=8, weight="dint4")
    clock = _Clock()
    netlist = _netlist(config)
    lines = [f"{config.name}: synthesis {_fmt(clock.lap())}"]
    m = _rows_for(config, CYCLES)
    trace = config.gemm_trace(*make_workload("uniform", m, 2 * config.rows, config.cols,
                                             config.weight, SEED))
    lines.append(f"workload uniform {m}x{2 * config.rows}x{config.cols}, {trace.cycles} cycles, "
                 f"seed {SEED}")
    results = {}
    for simulator in ("icarus", "verilator"):
        results[simulator] = r = _timed(config, trace, netlist, simulator,
                                        WORK / config.name / simulator)
        lines.append(f"{simulator}: compile {_fmt(r['compile'])}, run {_fmt(r['run'])} = "
                     f"{trace.cycles / r['run'][0]:,.0f} cycles/s, end to end "
                     f"{_fmt(r['end_to_end'])}")
    icarus, verilator = results["icarus"], results["verilator"]
    same = icarus["sim"].activity.toggles == verilator["sim"].activity.toggles
    lines.append(f"per-net toggles identical on {len(icarus['sim'].activity.toggles)} net bits: "
                 f"{same}")
    speedup = icarus["end_to_end"][0] / verilator["end_to_end"][0]
    verdict = "PASS" if speedup >= TARGET_SPEEDUP else "FAIL"
    lines.append(f"end-to-end speed-up {speedup:.1f}x (target >= {TARGET_SPEEDUP:g}x) {verdict}")
    per_cycle = {s: r["run"][0] / trace.cycles for s, r in results.items()}
    extra = verilator["compile"][0] - icarus["compile"][0]
    gain = per_cycle["icarus"] - per_cycle["verilator"]
    break_even = extra / gain if gain > 0 else float("inf")
    lines.append(f"break-even {break_even:,.0f} cycles (flow.gatesim.BREAK_EVEN_CYCLES = "
                 f"{BREAK_EVEN_CYCLES:,})")
    lines += _ccache(config, trace, netlist)
    lines += _steady_16x16()
    return lines


def _ccache(config, trace, netlist: Path) -> list[str]:
    """Rebuild the same Verilator model twice with ccache on: the second build hits the cache."""
    if shutil.which("ccache") is None:
        return ["ccache not installed: rebuild not measured"]
    bench = WORK / config.name / "ccache" / "bench"
    times = []
    for _ in range(2):
        shutil.rmtree(bench, ignore_errors=True)
        clock = _Clock()
        simulate(trace, config.name, netlist, bench.parent / "run", liberty=DEFAULT_LIBERTY,
                 simulator="verilator", bench_dir=bench)
        times.append(clock.lap())
    return [f"verilator with ccache: first build + run {_fmt(times[0])}, rebuild + run "
            f"{_fmt(times[1])}"]


def _steady_16x16() -> list[str]:
    config = SystolicConfig(rows=16, cols=16, weight="dint4")
    clock = _Clock()
    netlist = _netlist(config)
    lines = [f"{config.name}: synthesis {_fmt(clock.lap())}"]
    m, k, n = workload_shape(config)
    trace = config.gemm_trace(*make_workload("llm", m, k, n, config.weight, SEED))
    steady = config.steady_window(trace.inputs)
    bench = WORK / config.name / "bench"
    shutil.rmtree(bench, ignore_errors=True)
    os.environ["CCACHE_DISABLE"] = "1"
    try:
        sim = simulate(trace, config.name, netlist, WORK / config.name / "run",
                       liberty=DEFAULT_LIBERTY, simulator="verilator",
                       windows={"steady": steady}, bench_dir=bench)
    finally:
        os.environ.pop("CCACHE_DISABLE")
    wall, cpu = clock.lap()
    verdict = "PASS" if wall <= TARGET_16X16_S else "FAIL"
    window = sim.activities["steady"]
    lines.append(f"llm {m}x{k}x{n}: {trace.cycles} cycles, steady window {window.window} "
                 f"({window.cycles} busy cycles), {len(window.toggles)} net bits; compile + "
                 f"simulation {wall:.1f} s wall ({cpu:.1f} s CPU), target <= "
                 f"{TARGET_16X16_S:g} s {verdict}")
    return lines
