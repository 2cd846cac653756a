"""Systolic array: qmac's RTL-verified GEMM cycle count against SCALE-Sim, and simulation speed.

For each shape the same GEMM runs (1) through SCALE-Sim 3.0.0's weight-stationary model, in its
own venv under ``build/scalesim-venv`` because it needs numpy < 2.4, and (2) through qmac's RTL
array in cocotb, checked bit- and cycle-exact against the golden model; the RTL run's stream
length is qmac's count. Target: 16x16, M=128, K=256, N=128 at <= 0.8x SCALE-Sim's compute cycles.
The 16x16 Verilator run and a shorter 16x16 Icarus run give simulated cycles per second.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from pathlib import Path

from golden.systolic import SystolicConfig, scalesim_ws_cycles
from golden.designs import DESIGN_KINDS
from sim.runner import run_cocotb

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "bench" / "systolic"
SCALESIM_VENV = ROOT / "build" / "scalesim-venv"
SCALESIM_PACKAGES = ("scalesim==3.0.0", "numpy<2.4")
TARGET_RATIO = 0.8
SEED = 0

COMPARISONS = [
    # (rows, cols, m, k, n, simulator)
    (16, 16, 128, 256, 128, "verilator"),
    (8, 8, 64, 64, 64, "icarus"),
]
ICARUS_SPEED_SHAPE = (64, 64, 32)

_SCALESIM_CONFIG = """\
[general]
run_name = qmac

[architecture_presets]
ArrayHeight: {rows}
ArrayWidth: {cols}
IfmapSramSzkB: 4096
FilterSramSzkB: 4096
OfmapSramSzkB: 4096
IfmapOffset: 0
FilterOffset: 10000000
OfmapOffset: 20000000
Dataflow: ws
Bandwidth: 100
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport: false
SparseRep: ellpack_block
OptimizedMapping: false
BlockSize: 8
RandomNumberGeneratorSeed: 40

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""


def _progress(step: str, start: float) -> None:
    print(f"   [{time.perf_counter() - start:6.1f} s] {step}", flush=True)


def scalesim_python() -> Path:
    """The SCALE-Sim venv's interpreter, created and installed on first use."""
    python = SCALESIM_VENV / "bin" / "python"
    probe = [str(python), "-c", "import scalesim"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    subprocess.run([sys.executable, "-m", "venv", str(SCALESIM_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *SCALESIM_PACKAGES], check=True)
    return python


def scalesim_compute_cycles(rows: int, cols: int, m: int, k: int, n: int) -> int:
    """Run SCALE-Sim (weight stationary, no memory stalls) and read its compute cycles."""
    folder = WORK / f"scalesim_{rows}x{cols}_{m}x{k}x{n}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scale.cfg").write_text(_SCALESIM_CONFIG.format(rows=rows, cols=cols))
    (folder / "gemm.csv").write_text(f"Layer, M, N, K,\ngemm, {m}, {n}, {k},\n")
    # SCALE-Sim always reads a layout file; with custom layouts off its values are unused.
    (folder / "layout.csv").write_text("Layer, a, b, c, d, e, f, g,\ngemm, 1, 1, 1, 1, 1, 1, 1,\n")
    result = subprocess.run(
        [str(scalesim_python()), "-m", "scalesim.scale", "-c", "scale.cfg", "-t", "gemm.csv",
         "-l", "layout.csv", "-p", "out", "-i", "gemm", "-s", "N"],
        cwd=folder, capture_output=True, text=True, check=False)
    reports = sorted((folder / "out").rglob("COMPUTE_REPORT.csv"))
    if result.returncode != 0 or not reports:
        raise RuntimeError(f"SCALE-Sim failed in {folder}:\n{result.stdout}\n{result.stderr}")
    with reports[-1].open() as handle:
        row = list(csv.DictReader(handle, skipinitialspace=True))[0]
    return int(row["Total Cycles"])


def rtl_gemm(config: SystolicConfig, sim: str, shape: tuple[int, int, int]) -> tuple[int, float]:
    """Run one random GEMM through the RTL (cycle-exact vs golden): (cycles, seconds)."""
    m, k, n = shape
    run = run_cocotb(config, sim, DESIGN_KINDS["systolic"].testbench, WORK / config.name, seed=SEED,
                     extra_env={"QMAC_GEMM": f"{m}x{k}x{n}"}, testcase="tiled_gemm")
    stat = run.stats[-1]
    return int(stat["cycles"]), float(stat["seconds"])


def run() -> list[str]:
    start = time.perf_counter()
    lines = []
    for rows, cols, m, k, n, sim in COMPARISONS:
        config = SystolicConfig(rows, cols, "dint4")
        _progress(f"SCALE-Sim {rows}x{cols} GEMM {m}x{k}x{n}", start)
        reference = scalesim_compute_cycles(rows, cols, m, k, n)
        _progress(f"RTL {config.name} on {sim}, GEMM {m}x{k}x{n}", start)
        cycles, seconds = rtl_gemm(config, sim, (m, k, n))
        ratio = cycles / reference
        utilisation = m * k * n / (rows * cols * cycles)
        formula = "=" if reference == scalesim_ws_cycles(rows, cols, m, k, n) else "!="
        lines.append(f"{rows}x{cols} M={m} K={k} N={n}: qmac {cycles} cycles (RTL on {sim}, "
                     f"cycle-exact; closed form {config.gemm_cycles(m, k, n)}), SCALE-Sim WS "
                     f"{reference} ({formula} F*(2R+C+M-2)-1), ratio {ratio:.3f}, "
                     f"PE utilisation {100 * utilisation:.1f}%")
        if (rows, cols) == (16, 16):
            verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
            lines.append(f"target qmac/SCALE-Sim <= {TARGET_RATIO}: {ratio:.3f} {verdict}")
            lines.append(f"verilator 16x16: {cycles / seconds:,.0f} simulated cycles/s "
                         f"({cycles} cycles in {seconds:.2f} s)")
    config = SystolicConfig(16, 16, "dint4")
    _progress(f"RTL {config.name} on icarus, GEMM {'x'.join(map(str, ICARUS_SPEED_SHAPE))}", start)
    cycles, seconds = rtl_gemm(config, "icarus", ICARUS_SPEED_SHAPE)
    lines.append(f"icarus 16x16: {cycles / seconds:,.0f} simulated cycles/s "
                 f"({cycles} cycles in {seconds:.2f} s)")
    return lines
