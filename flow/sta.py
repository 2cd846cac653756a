"""Static timing and power of a mapped netlist with OpenSTA (``sta``), in one session per design.

Timing: one clock ``clk`` at the target period, ideal (no clock tree), input and output delays
0, so the worst path is the worst of register-to-register, input-to-register and
register-to-output paths; its delay is the period minus its slack (setup time included) and
Fmax = 1 / delay, at the Liberty file's own (typical) corner.

Power: ``report_power`` with activities in transitions per clock period (OpenSTA's unit for
``set_power_activity``; checked: doubling the period halves dynamic power). The vectorless
estimate sets only the primary inputs' activity (``set_power_activity -input``, OpenSTA's
default 0.1, duty 0.5) and lets OpenSTA propagate it through the cell functions. A workload
estimate gives every input port and every cell pin of a simulated net that net's measured
activity and duty through ``sta::set_power_pin_activity`` (the ``-pins`` option of the Tcl
command is broken in OpenSTA 2.0.17). That version honours them on input ports, cell inputs
and flip-flop outputs but derives each combinational output's activity from its inputs' through
the cell function (independent inputs assumed); ``docs/flow.md`` discusses what this means.

The Tcl script names no path: OpenSTA runs in the job folder and reads the Liberty file and the
netlist by fixed relative names, so no character of a user's path (a brace, a bracket, a
non-ASCII letter) can end a Tcl word or run a command.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from golden.checks import check_positive
from flow.gatesim import Activity
from flow.process import DEFAULT_TIMEOUT_S, run_tool

__all__ = ["VECTORLESS_INPUT_ACTIVITY", "Power", "StaResult", "pin_activities", "run_sta",
           "vectorless_activities", "design_tcl"]

VECTORLESS_INPUT_ACTIVITY = 0.1
_CHUNK = 2000
_MARK = "QMAC-POWER"
_TOTAL = re.compile(r"^Total\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", re.M)
_TCL_WORD = re.compile(r"[A-Za-z0-9_.+-]+")
"""Names that are one Tcl word as written: no quoting, substitution or command can hide in them."""
_NUMBER = r"([-+]?[0-9.]+(?:[eE][-+]?\d+)?)"
_INSTANCE = re.compile(rf"^\s*{_NUMBER}\s+{_NUMBER}\s+{_NUMBER}\s+{_NUMBER}\s+(\S+)$", re.M)
_SET_ACTIVITY = re.compile(r"^power_activity: set (\S+) (\S+) (\S+)$", re.M)
_CLOCK_ACTIVITY = (2.0, 0.5)
"""OpenSTA's fixed activity of clock pins: two transitions per period, duty 0.5."""


@dataclass(frozen=True)
class Power:
    """Power components in mW."""

    internal_mw: float
    switching_mw: float
    leakage_mw: float

    @property
    def total_mw(self) -> float:
        return self.internal_mw + self.switching_mw + self.leakage_mw


@dataclass(frozen=True)
class StaResult:
    timing: dict
    vectorless: Power
    workloads: dict[str, Power]
    instances: dict[str, dict[str, Power]] = field(default_factory=dict)
    """Workload -> instance -> power, when ``run_sta`` was asked for them."""


def pin_activities(module: dict, activity: Activity,
                   clock: str = "clk") -> dict[tuple[float, float], list[str]]:
    """(activity, duty) -> input ports and cell pins (``inst/PIN``) with that measured activity.

    ``module`` is the flattened netlist's module from Yosys's JSON (``flow.synth.flat_module``).
    The clock is left out: OpenSTA gives clock pins two transitions per period itself.
    """
    bit_name: dict[int, str] = {}
    for name, net in module["netnames"].items():
        offset = net.get("offset", 0)
        for i, bit in enumerate(net["bits"]):
            label = name if len(net["bits"]) == 1 else f"{name}[{i + offset}]"
            if isinstance(bit, int) and label in activity.toggles and label != clock:
                bit_name.setdefault(bit, label)
    groups: dict[tuple[float, float], list[str]] = {}
    for name, port in module["ports"].items():
        if port["direction"] != "input":
            continue
        for i, bit in enumerate(port["bits"]):
            label = name if len(port["bits"]) == 1 else f"{name}[{i}]"
            if label in activity.toggles and label != clock:
                key = (activity.rate(label), round(activity.duty[label], 3))
                groups.setdefault(key, []).append(label)
    for inst, cell in module["cells"].items():
        for pin, bits in cell["connections"].items():
            for bit in bits:
                net = bit_name.get(bit) if isinstance(bit, int) else None
                if net is not None:
                    key = (activity.rate(net), round(activity.duty[net], 3))
                    groups.setdefault(key, []).append(f"{inst}/{pin}")
    return groups


def design_tcl(liberty: Path, netlist: Path, top: str, clock_ns: float,
                 job_dir: Path) -> list[str]:
    """Load the design (Tcl-safe local names) and constrain it: one ideal clock, zero input and
    output delays."""
    if not _TCL_WORD.fullmatch(top):
        raise ValueError(f"top must be a plain module name, not {top!r}")
    gz = ".gz" if Path(liberty).suffix == ".gz" else ""
    return [
        f"read_liberty {_local_name(liberty, job_dir, 'sta_cells.lib' + gz)}",
        f"read_verilog {_local_name(netlist, job_dir, 'sta_netlist.v')}",
        f"link_design {top}",
        f"create_clock -name clk -period {clock_ns} [get_ports clk]",
        "set_input_delay 0 -clock clk [delete_from_list [all_inputs] [get_ports clk]]",
        "set_output_delay 0 -clock clk [all_outputs]",
    ]


def run_sta(sta: str, liberty: Path, netlist: Path, top: str, clock_ns: float, job_dir: Path,
            workloads: dict[str, dict[tuple[float, float], list[str]]],
            per_instance: bool = False, timeout: float = DEFAULT_TIMEOUT_S) -> StaResult:
    """Time the netlist, estimate vectorless power, then power under each workload's activity
    (and of every instance too with ``per_instance``)."""
    clock_ns = check_positive("clock_ns", clock_ns, "nanoseconds")
    job_dir = Path(job_dir)
    lines = [
        *design_tcl(liberty, netlist, top, clock_ns, job_dir),
        "report_checks -path_delay max -digits 4",
        f"set_power_activity -input -activity {VECTORLESS_INPUT_ACTIVITY} -duty 0.5",
        f"puts {_MARK}:vectorless",
        "report_power -digits 6",
        "proc qmac_pins {activity duty pins} {",
        "  foreach pin [get_pins $pins] { sta::set_power_pin_activity $pin $activity $duty }",
        "}",
        "proc qmac_ports {activity duty ports} {",
        "  foreach port [get_ports $ports] {",
        "    sta::set_power_input_port_activity $port $activity $duty",
        "  }",
        "}",
    ]
    for name, groups in workloads.items():
        for (rate, duty), pins in sorted(groups.items()):
            ports = [p for p in pins if "/" not in p]
            cell_pins = [p for p in pins if "/" in p]
            if ports:
                lines.append(f"qmac_ports {rate!r} {duty!r} {{{' '.join(ports)}}}")
            for i in range(0, len(cell_pins), _CHUNK):
                lines.append(f"qmac_pins {rate!r} {duty!r} {{{' '.join(cell_pins[i:i + _CHUNK])}}}")
        lines += [f"puts {_MARK}:{name}", "report_power -digits 6"]
        if per_instance:
            lines.append("report_power -instances [get_cells *] -digits 8")
    script = job_dir / "sta.tcl"
    script.write_text("\n".join(lines) + "\n")
    done = run_tool([sta, "-no_splash", "-exit", script.name], cwd=job_dir, timeout=timeout)
    (job_dir / "sta.log").write_text(done.stdout + done.stderr)
    errors = list(dict.fromkeys(line for line in (done.stderr + done.stdout).splitlines()
                                if line.startswith("Error")))
    text = done.stdout
    if done.returncode != 0 or errors:
        raise RuntimeError(f"sta failed on {netlist} (log {job_dir / 'sta.log'}):\n"
                           + "\n".join((errors or done.stderr.strip().splitlines())[:10]))
    sections = text.split(f"{_MARK}:")
    timing = _timing(sections[0], clock_ns)
    powers, instances = {}, {}
    for section in sections[1:]:
        name, _, body = section.partition("\n")
        match = _TOTAL.search(body)
        if match is None:
            raise RuntimeError(f"sta printed no power total for {name} (log {job_dir / 'sta.log'})")
        watts = [float(v) for v in match.groups()]
        powers[name] = Power(watts[0] * 1e3, watts[1] * 1e3, watts[2] * 1e3)
        if per_instance and name != "vectorless":
            instances[name] = {m[5]: Power(float(m[1]) * 1e3, float(m[2]) * 1e3,
                                           float(m[3]) * 1e3)
                               for m in _INSTANCE.finditer(body)}
    return StaResult(timing, powers.pop("vectorless"), powers, instances)


def _local_name(path: Path, job_dir: Path, name: str) -> str:
    """A Tcl-safe name, relative to ``job_dir``, of ``path``: its own if it sits there under
    such a name, else ``name`` for a copy made there."""
    path = Path(path).resolve()
    if path.parent == job_dir.resolve() and _TCL_WORD.fullmatch(path.name):
        return path.name
    shutil.copyfile(path, job_dir / name)
    return name


def _timing(report: str, clock_ns: float) -> dict:
    start = re.search(r"^Startpoint: (\S+)", report, re.M)
    end = re.search(r"^Endpoint: (\S+)", report, re.M)
    slack = re.search(r"^\s*(-?[0-9.]+)\s+slack", report, re.M)
    if not (start and end and slack):
        raise RuntimeError(f"sta reported no constrained path:\n{report.strip()[-2000:]}")
    delay = clock_ns - float(slack[1])
    return {"critical_path_ns": delay, "fmax_mhz": 1e3 / delay, "startpoint": start[1],
            "endpoint": end[1], "slack_ns": float(slack[1])}


def vectorless_activities(sta: str, liberty: Path, netlist: Path, top: str, clock_ns: float,
                          job_dir: Path, timeout: float = DEFAULT_TIMEOUT_S
                          ) -> tuple[dict[str, tuple[float, float]], Power]:
    """OpenSTA's own propagated (activity, duty) of every driver pin, and its ``report_power``.

    OpenSTA 2.0.17 has no command that returns a pin's activity; its ``power_activity`` debug
    trace prints every value it propagates (``set <pin> <activity> <duty>``, the last one
    final), which is read here. Input ports carry the vectorless default, clocks two
    transitions per period. Keys are ``inst/PIN`` and port names.
    """
    job_dir = Path(job_dir)
    lines = [
        *design_tcl(liberty, netlist, top, check_positive("clock_ns", clock_ns, "nanoseconds"),
                      job_dir),
        f"set_power_activity -input -activity {VECTORLESS_INPUT_ACTIVITY} -duty 0.5",
        "sta::set_debug power_activity 3",
        "report_power -digits 8",
        "foreach port [get_ports *] { puts \"QMAC-PORT [get_full_name $port] "
        "[sta::port_direction $port]\" }",
    ]
    script = job_dir / "sta_vectorless.tcl"
    script.write_text("\n".join(lines) + "\n")
    done = run_tool([sta, "-no_splash", "-exit", script.name], cwd=job_dir, timeout=timeout)
    (job_dir / "sta_vectorless.log").write_text(done.stdout + done.stderr)
    match = _TOTAL.search(done.stdout)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"sta failed on {netlist} (log {job_dir / 'sta_vectorless.log'})")
    watts = [float(v) for v in match.groups()]
    trace = done.stdout + done.stderr
    rates = {m[1]: (float(m[2]), float(m[3])) for m in _SET_ACTIVITY.finditer(trace)}
    for port, direction in re.findall(r"^QMAC-PORT (\S+) (\S+)$", done.stdout, re.M):
        if direction == "input":
            rates[port] = _CLOCK_ACTIVITY if port == "clk" else (VECTORLESS_INPUT_ACTIVITY, 0.5)
    return rates, Power(watts[0] * 1e3, watts[1] * 1e3, watts[2] * 1e3)
