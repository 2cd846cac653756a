"""Glitch share of the three MACs: zero-delay toggles vs an SDF-timed simulation (``flow.glitch``).

The same synthetic workload runs on each MAC's netlist with zero delay and with OpenSTA's SDF; both
activities are priced by ``flow.power`` at the design clock, and the glitch share is the timed
run's extra dynamic power.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from golden.mac import MACConfig
from golden.workloads import make_workload
from hw.export import export
from flow.activity import NetActivity
from flow.evaluate import DEFAULT_CLOCK_NS
from flow.gatesim import simulate
from flow.glitch import timed_activity
from flow.liberty import read_liberty
from flow.power import compute_power, read_netlist
from flow.synth import synthesize
from flow.tech import TECHNOLOGIES
from flow.tools import find_tools

SHAPE = (4, 32, 2)
"""256 MACs of the synthetic workload per design: enough cycles for stable toggle statistics."""


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
            trace = config.gemm_trace(*make_workload("synthetic", *SHAPE, config.weight, 0))
            zero = simulate(trace, config.name, synth.netlist, tech.cells_verilog, job / "zero",
                            tools.iverilog, tools.vvp)
            timed = timed_activity(trace, config.name, synth.netlist, tech.liberty,
                                   tech.cells_verilog, job / "timed", tools.sta, tools.iverilog,
                                   tools.vvp, DEFAULT_CLOCK_NS, job / "zero" / "outputs.txt")
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
