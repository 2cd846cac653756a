"""Glitch share of the three MACs: zero-delay toggles vs a timing-annotated simulation.

The zero-delay gate-level simulation (``flow.gatesim``) counts one transition per net and cycle
at most, so it misses glitches. Here the same llm workload also runs with OpenSTA's SDF
(``write_sdf``: each arc's delay at its real load and slew) annotated on the library's Verilog
models (``iverilog -gspecify``), at a 10x longer clock so every path settles before the next
edge; the sampled outputs must equal the zero-delay run's. Both activities are priced by
``flow.power`` at the design clock: the glitch share is the extra dynamic power of the timed run.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from golden.mac import MACConfig
from golden.workloads import make_workload
from hw.export import export
from flow.activity import NetActivity, read_vcd_activity
from flow.evaluate import DEFAULT_CLOCK_NS
from flow.gatesim import HALF_PERIOD, simulate, write_bench
from flow.liberty import read_liberty
from flow.power import compute_power, read_netlist
from flow.process import run_tool
from flow.synth import synthesize
from flow.tech import TECHNOLOGIES
from flow.tools import find_tools

SHAPE = (4, 32, 2)
"""256 MACs of the llm workload per design: enough cycles for stable toggle statistics."""
SLOWDOWN = 10


def run() -> list[str]:
    tech = TECHNOLOGIES["osu018"]
    library = read_liberty(tech.liberty)
    tools = find_tools()
    lines = []
    root = Path("build").resolve() if Path("build").is_dir() else None
    with tempfile.TemporaryDirectory(dir=root) as out:
        for weight in ("int8", "int4", "dint4"):
            config = MACConfig(weight)
            job = Path(out) / config.name
            manifest = export(config, job)
            synth = synthesize(job / manifest["verilog"], config.name, tech.liberty, job,
                               tools.yosys)
            trace = config.gemm_trace(*make_workload("llm", *SHAPE, config.weight, 0))
            zero = simulate(trace, config.name, synth.netlist, tech.cells_verilog, job / "zero",
                            tools.iverilog, tools.vvp)
            timed = _timed_activity(trace, config.name, job, tech, tools)
            if (job / "timed" / "outputs.txt").read_text() != \
                    (job / "zero" / "outputs.txt").read_text():
                raise RuntimeError(f"{config.name}: the SDF-timed simulation's outputs differ")
            netlist = read_netlist(synth.flat_json, config.name)
            cycles = zero.activity.cycles
            base = NetActivity(cycles, DEFAULT_CLOCK_NS, zero.activity.toggles,
                               {n: d * cycles * DEFAULT_CLOCK_NS
                                for n, d in zero.activity.duty.items()})
            p0 = compute_power(netlist, library, base).total
            p1 = compute_power(netlist, library, timed).total
            t0 = sum(base.toggles.values())
            t1 = sum(timed.toggles[n] for n in base.toggles if n in timed.toggles)
            dyn0, dyn1 = p0.internal_mw + p0.switching_mw, p1.internal_mw + p1.switching_mw
            lines.append(f"{config.name}: toggles zero-delay {t0}, SDF-timed {t1} "
                         f"(+{t1 / t0 - 1:.1%}); dynamic power {dyn0:.4f} -> {dyn1:.4f} mW, "
                         f"glitch share {1 - dyn0 / dyn1:.1%}")
    return lines


def _timed_activity(trace, top: str, job: Path, tech, tools) -> NetActivity:
    timed = job / "timed"
    timed.mkdir()
    sta_script = timed / "sdf.tcl"
    sta_script.write_text("\n".join([
        f"read_liberty {{{tech.liberty}}}", f"read_verilog {{{job / 'netlist.v'}}}",
        f"link_design {top}", f"create_clock -name clk -period {DEFAULT_CLOCK_NS} [get_ports clk]",
        "write_sdf netlist.sdf", ""]))
    done = run_tool([tools.sta, "-no_splash", "-exit", sta_script.name], cwd=timed)
    if done.returncode != 0 or not (timed / "netlist.sdf").exists():
        raise RuntimeError(f"sta write_sdf failed: {done.stderr.strip()[-500:]}")
    bench = write_bench(trace, top, timed).read_text()
    half = HALF_PERIOD * SLOWDOWN
    bench = bench.replace(f"always #{HALF_PERIOD} clk", f"always #{half} clk")
    bench = re.sub(r"(  initial begin\n)", r'\1    $sdf_annotate("netlist.sdf", dut);\n', bench,
                   count=1)
    (timed / "qmac_tb.v").write_text(bench)
    for port in trace.input_ports:
        digits = (port.bits + 3) // 4
        (timed / f"in_{port.name}.hex").write_text(
            "".join(f"{word:0{digits}x}\n" for word in port.pack(trace.inputs[port.name])))
    for argv in ([tools.iverilog, "-gspecify", "-g2005", "-s", "qmac_tb", "-o", "sim.vvp",
                  "qmac_tb.v", str(job / "netlist.v"), str(tech.cells_verilog)],
                 [tools.vvp, "-n", "sim.vvp", "+window=0"]):
        done = run_tool(argv, cwd=timed)
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {done.stderr.strip()[-500:]}")
    slow = read_vcd_activity(timed / "activity.vcd", "qmac_tb.dut", 2 * half, trace.cycles)
    scale = DEFAULT_CLOCK_NS / (2 * half)
    return NetActivity(slow.cycles, DEFAULT_CLOCK_NS, slow.toggles,
                       {n: t * scale for n, t in slow.time_high.items()})
