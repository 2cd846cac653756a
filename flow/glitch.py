"""Activity with glitches: the gate-level replay again, with each cell's real delays (SDF).

Zero-delay simulation (``flow.gatesim``) shows at most one transition per net and cycle, so it
misses glitches, which are large in multipliers. Here OpenSTA writes an SDF (``write_sdf``: each
timing arc's delay at its load and input slew), Icarus annotates it on the library's Verilog
models (``-gspecify``; the models need ``specify`` blocks, as the OSU ones have), and the same
trace runs at ``SLOWDOWN`` x the half period so every path settles before the next edge (the
transition counts do not depend on the period, only on the delays). The sampled outputs must
equal the zero-delay run's. The time at 1 is rescaled to the design's clock.
"""

from __future__ import annotations

from pathlib import Path

from golden.trace import PortTrace
from flow.activity import NetActivity
from flow.gatesim import HALF_PERIOD, read_wave, write_bench
from flow.process import run_tool
from flow.sta import design_tcl

__all__ = ["SLOWDOWN", "timed_activity"]

SLOWDOWN = 10


def timed_activity(trace: PortTrace, top: str, netlist: Path, liberty: Path,
                   cells_verilog: Path, job_dir: Path, sta: str, iverilog: str, vvp: str,
                   clock_ns: float, expected_outputs: Path) -> NetActivity:
    """Per-net activity of ``trace`` on ``netlist`` with SDF delays, priced at ``clock_ns``."""
    job_dir.mkdir(parents=True, exist_ok=True)
    (job_dir / "sdf.tcl").write_text("\n".join([
        *design_tcl(liberty, netlist, top, clock_ns, job_dir), "write_sdf netlist.sdf", ""]))
    _run([sta, "-no_splash", "-exit", "sdf.tcl"], job_dir, "sta write_sdf")
    half = HALF_PERIOD * SLOWDOWN
    write_bench(trace, top, job_dir)
    bench = (job_dir / "qmac_tb.v").read_text()
    bench = bench.replace(f"always #{HALF_PERIOD} clk", f"always #{half} clk")
    bench = bench.replace("  initial begin ", '  initial begin $sdf_annotate("netlist.sdf", bench.dut); ',
                          1)
    (job_dir / "qmac_tb.v").write_text(bench)
    for port in trace.input_ports:
        digits = (port.bits + 3) // 4
        (job_dir / f"in_{port.name}.hex").write_text(
            "".join(f"{word:0{digits}x}\n" for word in port.pack(trace.inputs[port.name])))
    _run([iverilog, "-gspecify", "-g2005", "-s", "qmac_tb", "-o", "timed.vvp", "qmac_tb.v",
          "qmac_bench.v", str(Path(netlist).resolve()), str(Path(cells_verilog).resolve())],
         job_dir, "iverilog")
    _run([vvp, "-n", "timed.vvp", "-fst"], job_dir, "vvp")
    if (job_dir / "outputs.txt").read_text() != Path(expected_outputs).read_text():
        raise RuntimeError(f"the SDF-timed simulation of {top} in {job_dir} samples other outputs "
                           f"than the zero-delay one (a path longer than {SLOWDOWN} periods?)")
    slow = read_wave(job_dir / "activity.fst", "qmac_tb.bench.dut", {"run": (0, trace.cycles)},
                     half_period=half)["run"]
    return NetActivity(slow.cycles, float(clock_ns), slow.toggles,
                       {net: d * slow.cycles * clock_ns for net, d in slow.duty.items()})


def _run(argv: list[str], cwd: Path, what: str) -> None:
    done = run_tool(argv, cwd=cwd)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed in {cwd}:\n{(done.stderr or done.stdout).strip()[-1000:]}")
