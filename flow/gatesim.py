"""Gate-level simulation of a mapped netlist and the per-net switching activity it shows.

A generated Verilog bench replays a ``PortTrace`` on the netlist with Icarus and the library's
cell models, under the trace's cycle convention (``golden.trace``): after ``RESET_CYCLES`` cycles
of synchronous reset, at each falling edge it first samples every output (cycle t's outputs) and
then drives cycle t's inputs. The sampled outputs are compared with the golden expectation, so the
activity is only ever taken from a netlist that computes the right answer. A VCD of the netlist's
own nets (not the cell models' internals) covers cycles ``[window_start, cycles)``; each bit's
0<->1 transitions divided by the window's cycles is its activity (transitions per clock period, the
unit of OpenSTA's ``set_power_activity``) and its time at 1 its duty. The simulation has zero
delay, so glitches are not counted.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from golden.trace import PortTrace
from flow.process import DEFAULT_TIMEOUT_S, run_tool

__all__ = ["RESET_CYCLES", "HALF_PERIOD", "Activity", "GateSim", "write_bench", "simulate",
           "read_vcd"]

RESET_CYCLES = 4
HALF_PERIOD = 5
"""Simulation time units per clock half-period (the simulation has zero delay; only order counts)."""

_BENCH = "qmac_tb"
_VAR = re.compile(r"\$var\s+\S+\s+(\d+)\s+(\S+)\s+(\S+)(?:\s+\[(\d+)(?::(\d+))?\])?\s+\$end")
_VCD = "activity.vcd"
_OUT = "outputs.txt"


@dataclass(frozen=True)
class Activity:
    """Transitions per clock period and fraction of time at 1 of every dumped net bit."""

    cycles: int
    toggles: dict[str, int]
    duty: dict[str, float]

    def rate(self, net: str) -> float:
        return self.toggles[net] / self.cycles


@dataclass(frozen=True)
class GateSim:
    observed: dict[str, np.ndarray]
    activity: Activity
    vcd: Path


def write_bench(trace: PortTrace, top: str, bench_dir: Path) -> Path:
    """Write ``<bench_dir>/qmac_tb.v``: a bench for traces of ``trace``'s ports and length.

    The stimulus (``in_<port>.hex``), the sampled outputs and the VCD live in the folder the
    compiled bench runs in; ``+window=W`` starts the VCD at cycle W. One compiled bench thus
    serves every workload of the same shape.
    """
    cycles = trace.cycles
    lines = ["`timescale 1ns/10ps", f"module {_BENCH};", "  reg clk = 0;", "  reg rst = 1;"]
    for port in trace.input_ports:
        lines.append(f"  reg {_range(port.bits)}{port.name} = 0;")
        lines.append(f"  reg {_range(port.bits)}mem_{port.name} [0:{cycles - 1}];")
    for port in trace.output_ports:
        lines.append(f"  wire {_range(port.bits)}{port.name};")
    names = ["clk", "rst", *(p.name for p in trace.ports)]
    outputs = [p.name for p in trace.output_ports]
    lines += [
        f"  {top} dut ({', '.join(f'.{n}({n})' for n in names)});",
        f"  always #{HALF_PERIOD} clk = ~clk;",
        "  integer t, out, window;",
        "  initial begin",
        '    if (!$value$plusargs("window=%d", window)) window = 0;',
        *(f'    $readmemh("in_{p.name}.hex", mem_{p.name});' for p in trace.input_ports),
        f'    out = $fopen("{_OUT}", "w");',
        f"    repeat ({RESET_CYCLES}) @(posedge clk);",
        f"    for (t = 0; t < {cycles}; t = t + 1) begin",
        "      @(negedge clk);",
        f'      $fwrite(out, "{" ".join(["%h"] * len(outputs))}\\n", {", ".join(outputs)});',
        "      if (t == window) begin",
        f'        $dumpfile("{_VCD}");',
        "        $dumpvars(1, dut);",
        "      end",
        "      rst = 0;",
        *(f"      {p.name} = mem_{p.name}[t];" for p in trace.input_ports),
        "    end",
        "    @(negedge clk);",
        "    $fclose(out);",
        "    $finish;",
        "  end",
        "endmodule",
        "",
    ]
    bench = bench_dir / f"{_BENCH}.v"
    bench.write_text("\n".join(lines))
    return bench


def simulate(trace: PortTrace, top: str, netlist: Path, cells_verilog: Path, job_dir: Path,
             iverilog: str, vvp: str, window_start: int = 0,
             bench_dir: Path | None = None, timeout: float = DEFAULT_TIMEOUT_S) -> GateSim:
    """Run ``trace`` on ``netlist``; raise AssertionError with the first mismatch if it is wrong.

    The bench is compiled into ``bench_dir`` (default ``job_dir``) unless the one there was
    compiled from the same netlist, cell models, ports and length: workloads share it.
    """
    if not 0 <= window_start < trace.cycles:
        raise ValueError(f"window_start must be in [0, {trace.cycles - 1}], not {window_start!r}")
    job_dir.mkdir(parents=True, exist_ok=True)
    compiled = _compile(trace, top, Path(netlist).resolve(), Path(cells_verilog).resolve(),
                        Path(bench_dir or job_dir), iverilog, timeout)
    for port in trace.input_ports:
        digits = (port.bits + 3) // 4
        (job_dir / f"in_{port.name}.hex").write_text(
            "".join(f"{word:0{digits}x}\n" for word in port.pack(trace.inputs[port.name])))
    _run([vvp, "-n", str(compiled), f"+window={window_start}"], job_dir, "vvp", timeout)
    observed = _read_outputs(trace, job_dir / _OUT)
    mismatch = trace.first_mismatch(observed)
    if mismatch is not None:
        raise AssertionError(f"gate-level netlist {netlist} disagrees with the golden model: "
                             f"{mismatch}")
    activity = read_vcd(job_dir / _VCD, trace.cycles - window_start)
    return GateSim(observed, activity, job_dir / _VCD)


def _compile(trace: PortTrace, top: str, netlist: Path, cells_verilog: Path, bench_dir: Path,
             iverilog: str, timeout: float) -> Path:
    bench_dir.mkdir(parents=True, exist_ok=True)
    compiled = bench_dir / "sim.vvp"
    stamp = bench_dir / "sim.stamp"
    key = json.dumps([top, str(netlist), netlist.stat().st_mtime_ns, netlist.stat().st_size,
                      str(cells_verilog), trace.cycles, [p.to_json() for p in trace.ports]])
    if compiled.exists() and stamp.exists() and stamp.read_text() == key:
        return compiled
    stamp.unlink(missing_ok=True)
    bench = write_bench(trace, top, bench_dir)
    _run([iverilog, "-g2005", "-s", _BENCH, "-o", compiled.name, bench.name, str(netlist),
          str(cells_verilog)], bench_dir, "iverilog", timeout)
    stamp.write_text(key)
    return compiled


def read_vcd(path: Path, cycles: int) -> Activity:
    """Count each net bit's 0<->1 transitions and time at 1 in a VCD of one scope (streamed).

    Variables sharing an identifier code (aliases of one net) get the same counts. Each bit keeps
    ``[value, transitions, time at 1, last rise]``; values other than 0/1 end a run at 1 and
    never count as a transition.
    """
    names_of: dict[str, list[list[str]]] = {}
    tick_ns = 1.0
    with open(path) as vcd:
        for line in vcd:
            if line.startswith("$enddefinitions"):
                break
            if line.startswith("$timescale"):
                tick_ns = _timescale_ns(line + next(vcd))
                continue
            match = _VAR.search(line)
            if match:
                names_of.setdefault(match[2], []).append(_bit_names(match))
        bits = {code: [["-", 0, 0, 0] for _ in aliases[0]] for code, aliases in names_of.items()}
        scalars = {code: state[0] for code, state in bits.items() if len(state) == 1}
        now = start = None
        for line in vcd:
            head = line[0]
            if head == "#":
                now = int(line[1:])
                start = now if start is None else start
                continue
            if head in "01xzXZ":
                changes: list = [(scalars.get(line[1:].rstrip()), head)]
                if changes[0][0] is None:
                    continue
            elif head in "bB":
                value, code = line[1:].split()
                state = bits.get(code)
                if state is None:
                    continue
                width = len(state)
                value = value.rjust(width, "0" if value[0] in "01" else value[0])[-width:]
                changes = list(zip(state, value))
            else:
                continue
            for bit, new in changes:
                old = bit[0]
                if old == new:
                    continue
                if old == "1":
                    bit[2] += now - bit[3]
                    if new == "0":
                        bit[1] += 1
                elif new == "1":
                    bit[3] = now
                    if old == "0":
                        bit[1] += 1
                bit[0] = new
    window = round(cycles * 2 * HALF_PERIOD / tick_ns)
    end = (start or 0) + window
    toggles: dict[str, int] = {}
    duty: dict[str, float] = {}
    for code, aliases in names_of.items():
        for i, bit in enumerate(bits[code]):
            high = bit[2] + (end - bit[3] if bit[0] == "1" else 0)
            for names in aliases:
                toggles[names[i]] = bit[1]
                duty[names[i]] = min(1.0, max(0.0, high / window))
    return Activity(cycles, toggles, duty)


def _bit_names(match: re.Match) -> list[str]:
    """Names of a ``$var``'s bits, most significant first (the order of VCD vector values)."""
    width, name = int(match[1]), match[3]
    if match[4] is None:
        return [name] if width == 1 else [f"{name}[{i}]" for i in range(width - 1, -1, -1)]
    msb = int(match[4])
    lsb = int(match[5]) if match[5] is not None else msb
    step = -1 if msb >= lsb else 1
    return [f"{name}[{i}]" for i in range(msb, lsb + step, step)]


def _timescale_ns(text: str) -> float:
    """Nanoseconds per VCD time tick, from the ``$timescale`` section."""
    match = re.search(r"(\d+)\s*(s|ms|us|ns|ps|fs)", text)
    if match is None:
        raise RuntimeError(f"VCD timescale {text.strip()!r} is not understood")
    scale = {"s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1.0, "ps": 1e-3, "fs": 1e-6}[match[2]]
    return int(match[1]) * scale


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
        raise RuntimeError(f"{tool} failed in {cwd}:\n{(done.stderr or done.stdout).strip()}")
