"""Error of the sample-window glitch estimate (``flow.glitch``) against a full-run timed replay.

The dINT4 MAC goes through the flow (``flow.evaluate``: ``with_glitches`` from the first
``GLITCH_CYCLES`` steady cycles); then every workload's whole trace is replayed with SDF delays and
priced by the same engine. Prints both powers, the estimate's error and both replay times, the
study quoted in docs/flow.md ("Glitches").
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from golden.mac import MACConfig
from golden.workloads import make_workload
from flow.evaluate import DEFAULT_CLOCK_NS, evaluate, workload_shape
from flow.glitch import timed_activity
from flow.liberty import read_liberty
from flow.power import compute_power, read_netlist
from flow.tools import find_tools, library_files

WORKLOADS = ("synthetic", "uniform", "minilm")


def run() -> list[str]:
    config = MACConfig("dint4")
    liberty, cells = library_files(None, None)
    library, tools = read_liberty(liberty), find_tools()
    lines = []
    root = Path("build").resolve() if Path("build").is_dir() else None
    with tempfile.TemporaryDirectory(dir=root) as out:
        result = evaluate(config, out_dir=Path(out), workloads=WORKLOADS, progress=lambda _: None)
        job = Path(out) / config.name
        netlist = read_netlist(job / result["files"]["netlist_json"], config.name)
        lines.append(f"{config.name}: flow power step {result['runtime_s']['power']:.1f} s "
                     f"({len(WORKLOADS)} workloads, sample windows)")
        for name, w in result["power"]["workloads"].items():
            trace = config.gemm_trace(*make_workload(name, *workload_shape(config),
                                                     config.weight, 0))
            start = time.perf_counter()
            full = timed_activity(trace, config.name, job / result["files"]["netlist"], liberty,
                                  cells, job / f"full_{name}", tools.sta, tools.iverilog,
                                  tools.vvp, DEFAULT_CLOCK_NS,
                                  job / f"gatesim_{name}" / "outputs.txt")
            seconds = time.perf_counter() - start
            exact = compute_power(netlist, library, full).total.total_mw
            estimate = w["with_glitches"]["total_mw"]
            lines.append(f"{name}: zero-delay {w['total_mw']:.4f} mW, full replay {exact:.4f} mW "
                         f"({seconds:.0f} s), window {w['with_glitches']['window']} estimate "
                         f"{estimate:.4f} mW, error {estimate / exact - 1:+.2%}")
    return lines
