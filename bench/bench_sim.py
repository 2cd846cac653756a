"""cocotb drive speed per simulator: the MAC bench's per-cycle driver against a bare clock loop.

Workload: the INT8 x INT8 exhaustive sweep (65,538 cycles, the longest trace of the MAC
regression) through ``sim.driver.drive_trace`` on Icarus and Verilator. Baseline, measured in
the same run on the same build: a cocotb test that only awaits as many falling edges
(``bench/tb_clock.py``). Target: the driver costs at most 3x the bare loop, i.e. sampling two
outputs and driving four inputs per cycle stays cheaper than two extra edge waits.
"""

from __future__ import annotations

from pathlib import Path

from golden.formats import INT8
from golden.mac import MACConfig
from golden.designs import DESIGN_KINDS
from sim.runner import run_cocotb
from sim.toolchain import SIMULATORS

CONFIG = MACConfig(INT8)
TARGET_RATIO = 3.0
BUILD = Path(__file__).resolve().parent.parent / "build" / "bench" / "sim"


def run() -> list[str]:
    lines = [f"{CONFIG.name}, exhaustive sweep, target driver/bare <= {TARGET_RATIO}"]
    for sim in SIMULATORS:
        drive = run_cocotb(CONFIG, sim, DESIGN_KINDS["mac"].testbench, BUILD / CONFIG.name, seed=0,
                           testcase="exhaustive").stats[0]
        bare = run_cocotb(CONFIG, sim, "bench.tb_clock", BUILD / CONFIG.name, seed=0,
                          extra_env={"QMAC_BENCH_CYCLES": str(drive["cycles"])}).stats[0]
        ratio = drive["seconds"] / bare["seconds"]
        verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
        lines.append(f"{sim}: driver {drive['cycles'] / drive['seconds']:,.0f} cycles/s, bare "
                     f"clock {bare['cycles'] / bare['seconds']:,.0f} cycles/s, ratio {ratio:.2f} "
                     f"{verdict}")
    return lines
