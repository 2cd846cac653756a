"""Flow run time: synthesis, gate-level simulation and STA of a MAC and a 4 x 4 array.

The INT8 MAC is the baseline; the array's steps are reported as multiples of it, so a slower
machine does not read as a regression. Workload ``uniform`` only, seed 0.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from golden.mac import MACConfig
from golden.systolic import SystolicConfig
from flow.evaluate import evaluate


def run() -> list[str]:
    designs = [MACConfig("int8"), MACConfig("dint4"),
               SystolicConfig(rows=4, cols=4, weight="dint4")]
    with tempfile.TemporaryDirectory(dir=Path("build").resolve() if Path("build").is_dir()
                                     else None) as out:
        runs = [evaluate(c, workloads=("uniform",), out_dir=Path(out), progress=lambda _: None)
                for c in designs]
    base = runs[0]["runtime_s"]
    lines = []
    for result in runs:
        times = result["runtime_s"]
        steps = ", ".join(f"{k} {v:.2f} s ({v / base[k]:.1f}x)" for k, v in times.items())
        lines.append(f"{result['design']['name']}: {result['area']['cell_count']} cells; {steps}")
    return lines
