"""Activity with glitches: a sample window of the gate-level replay, with real cell delays (SDF).

Zero-delay simulation (``flow.gatesim``) shows at most one transition per net and cycle, so it
misses glitches, which are large in multipliers. Here OpenSTA writes an SDF (``write_sdf``: each
timing arc's delay at its load and input slew), Icarus annotates it on the library's Verilog
models (``-gspecify``; the models need ``specify`` blocks, as the OSU ones have), and the trace
runs at ``SLOWDOWN`` x the half period so every path settles before the next edge (the
transition counts do not depend on the period, only on the delays). The sampled outputs must
equal the zero-delay run's. The time at 1 is rescaled to the design's clock.

The timed run is the flow's slowest step (Icarus with delays: about 100 cycles/s on a MAC), so it
replays only the trace's first cycles up to the end of ``glitch_window`` and measures activity in
that window. ``with_glitches`` scales the zero-delay full-run power by the window's measured
inflation (see ``with_glitches``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from golden.trace import PortTrace
from flow.activity import NetActivity
from flow.gatesim import HALF_PERIOD, read_wave, write_bench
from flow.process import run_tool
from flow.sta import Power
from flow.sta import design_tcl

__all__ = ["SLOWDOWN", "GLITCH_CYCLES", "glitch_window", "timed_activity", "with_glitches"]

SLOWDOWN = 10
GLITCH_CYCLES = 1024
"""Busy cycles of each workload replayed with delays. The workloads are stationary (every MAC
draws its operands from one distribution), so the glitch inflation of dynamic power settles
within a few hundred cycles; 1,024 cycles is 1/10 of a MAC's 10,240-cycle run and of its replay
time. On the dINT4 MAC the estimate was 0.3-1.2 % above the full-run replay's total power
(docs/flow.md, "Glitches")."""


def glitch_window(steady: tuple[int, int]) -> tuple[int, int]:
    """The first ``GLITCH_CYCLES`` cycles of the steady-state window ``steady`` (all busy)."""
    start, end = steady
    return start, min(end, start + GLITCH_CYCLES)


def timed_activity(trace: PortTrace, top: str, netlist: Path, liberty: Path,
                   cells_verilog: Path, job_dir: Path, sta: str, iverilog: str, vvp: str,
                   clock_ns: float, expected_outputs: Path,
                   window: tuple[int, int] | None = None) -> NetActivity:
    """Per-net activity of ``trace`` on ``netlist`` with SDF delays over the cycles ``window``
    (default: the whole trace), priced at ``clock_ns``; the run stops at the window's end."""
    start, end = window if window is not None else (0, trace.cycles)
    if not 0 <= start < end <= trace.cycles:
        raise ValueError(f"window must be cycles [start, end) within 0..{trace.cycles}, "
                         f"not {window!r}")
    head = _head(trace, end)
    job_dir.mkdir(parents=True, exist_ok=True)
    (job_dir / "sdf.tcl").write_text("\n".join([
        *design_tcl(liberty, netlist, top, clock_ns, job_dir), "write_sdf netlist.sdf", ""]))
    _run([sta, "-no_splash", "-exit", "sdf.tcl"], job_dir, "sta write_sdf")
    half = HALF_PERIOD * SLOWDOWN
    write_bench(head, top, job_dir)
    bench = (job_dir / "qmac_tb.v").read_text()
    bench = bench.replace(f"always #{HALF_PERIOD} clk", f"always #{half} clk")
    bench = bench.replace("  initial begin ", '  initial begin $sdf_annotate("netlist.sdf", bench.dut); ',
                          1)
    (job_dir / "qmac_tb.v").write_text(bench)
    for port in head.input_ports:
        digits = (port.bits + 3) // 4
        (job_dir / f"in_{port.name}.hex").write_text(
            "".join(f"{word:0{digits}x}\n" for word in port.pack(head.inputs[port.name])))
    _run([iverilog, "-gspecify", "-g2005", "-s", "qmac_tb", "-o", "timed.vvp", "qmac_tb.v",
          "qmac_bench.v", str(Path(netlist).resolve()), str(Path(cells_verilog).resolve())],
         job_dir, "iverilog")
    _run([vvp, "-n", "timed.vvp", "-fst"], job_dir, "vvp")
    expected = Path(expected_outputs).read_text().splitlines(keepends=True)[:end]
    if (job_dir / "outputs.txt").read_text() != "".join(expected):
        raise RuntimeError(f"the SDF-timed simulation of {top} in {job_dir} samples other outputs "
                           f"than the zero-delay one (a path longer than {SLOWDOWN} periods?)")
    slow = read_wave(job_dir / "activity.fst", "qmac_tb.bench.dut", {"glitch": (start, end)},
                     half_period=half)["glitch"]
    return NetActivity(slow.cycles, float(clock_ns), slow.toggles,
                       {net: d * slow.cycles * clock_ns for net, d in slow.duty.items()})


def with_glitches(full: Power, window: Power, timed_window: Power) -> Power:
    """Full-run power with glitches, estimated from one window.

    ``full`` and ``window`` are the zero-delay power of the whole run and of the window,
    ``timed_window`` the SDF-timed power of the same window. Internal and switching power are
    each multiplied by their timed/zero-delay ratio in the window (glitches scale with the data
    activity, which the window samples); leakage is the full run's, which delays do not change.
    A component with no zero-delay power in the window (an all-zero workload) is kept unscaled.
    """
    def scaled(whole: float, zero: float, timed: float) -> float:
        return whole * timed / zero if zero > 0 else whole

    return Power(scaled(full.internal_mw, window.internal_mw, timed_window.internal_mw),
                 scaled(full.switching_mw, window.switching_mw, timed_window.switching_mw),
                 full.leakage_mw)


def _head(trace: PortTrace, cycles: int) -> PortTrace:
    """``trace``'s first ``cycles`` cycles (replayed for activity only, so it counts no MACs)."""
    def cut(group: dict) -> dict:
        return {name: values[:cycles] for name, values in group.items()}

    return dataclasses.replace(trace, inputs=cut(trace.inputs), expected=cut(trace.expected),
                               care=cut(trace.care), macs=0)


def _run(argv: list[str], cwd: Path, what: str) -> None:
    done = run_tool(argv, cwd=cwd)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed in {cwd}:\n{(done.stderr or done.stdout).strip()[-1000:]}")
