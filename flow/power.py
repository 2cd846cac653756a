"""Power of a gate-level netlist from the measured toggles of every net (``qmac power``).

For each cell instance of a flat netlist (Yosys JSON) and a ``NetActivity``:

* switching: 0.5 C V^2 per transition of each output net, C = the fanout pins' capacitance plus
  the library's default wire-load estimate (nets driven by primary inputs are the environment's,
  as in OpenSTA);
* internal: the Liberty ``internal_power`` tables, looked up at the input pin's transition time
  (propagated from the primary inputs, default 0 ns as OpenSTA's, through the ``rise/fall_transition``
  tables) and the output load. An output's transitions are shared among its input arcs in
  proportion to input toggles x probability that the input is sensitised (Boolean difference of
  the function, independent inputs at their measured duty), and each transition costs the mean
  of the rise and fall energies (OpenSTA >= 2.1's rule). Input-pin groups (clock pins, hidden
  power) cost their mean energy per input transition, weighted by the probability of ``when``;
* leakage: state-dependent ``leakage_power ... when`` groups weighted by the probability of their
  condition at the measured duties, else ``cell_leakage_power``.

``mode="opensta2019"`` reproduces the internal-power and leakage rules of Debian's OpenSTA 2.0.17
instead (each arc charges rise + fall energy, weighted by the duty of the inferred ``when``;
cell leakage preferred), for validation against its ``report_power`` only: those rules count
about twice the energy per transition (fixed upstream in May 2020).
"""

from __future__ import annotations

import itertools
import json
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable

from flow.activity import NetActivity, read_saif, read_vcd_activity
from flow.liberty import Expr, LibertyCell, Library, evaluate, read_liberty, support
from flow.sta import Power
from flow.synth import netlist_to_json
from flow.tech import liberty_file
from flow.tools import find_yosys

__all__ = ["MODES", "Netlist", "PowerReport", "read_netlist", "compute_power", "scope_of",
           "activity_from_pins", "power_of_netlist", "components"]

MODES = ("measured", "opensta2019")
_CONST = ("0", "1", "x", "z")


@dataclass(frozen=True)
class Netlist:
    """A flat cell netlist: instance -> (cell type, pin -> net), net names, ports, scopes."""

    top: str
    instances: dict[str, tuple[str, dict[str, object]]]
    names: dict[object, str]
    inputs: frozenset
    outputs: frozenset
    scopes: dict[str, str]
    """Instance -> hierarchical scope it came from (``pe_0_1``; "" for the top level)."""


def read_netlist(path: Path | str, top: str | None = None) -> Netlist:
    """The flat top module of a Yosys JSON netlist (``write_json`` after ``flatten``)."""
    modules = json.loads(Path(path).read_text())["modules"]
    if top is None:
        tops = [n for n, m in modules.items() if m.get("attributes", {}).get("top")]
        top = tops[0] if len(tops) == 1 else next(iter(modules))
    if top not in modules:
        raise ValueError(f"top module {top!r} is not in {path} (modules: {sorted(modules)})")
    module = modules[top]
    names: dict[object, str] = {}
    for name, net in sorted(module["netnames"].items(), key=lambda kv: kv[1].get("hide_name", 0)):
        offset = net.get("offset", 0)
        for i, bit in enumerate(net["bits"]):
            if isinstance(bit, int):
                names.setdefault(bit, name if len(net["bits"]) == 1 else f"{name}[{i + offset}]")
    inputs, outputs = set(), set()
    for port in module["ports"].values():
        bits = {b for b in port["bits"] if isinstance(b, int)}
        (inputs if port["direction"] == "input" else outputs).update(bits)
    instances, scopes = {}, {}
    for name, cell in module["cells"].items():
        pins = {pin: bits[0] for pin, bits in cell["connections"].items() if len(bits) == 1}
        instances[name] = (cell["type"], pins)
        scopes[name] = scope_of(cell.get("attributes", {}))
    return Netlist(top, instances, names, frozenset(inputs), frozenset(outputs), scopes)


def scope_of(attributes: dict) -> str:
    """The instance path a flattened cell came from (Yosys ``flatten -scopename``/``hdlname``)."""
    if "scopename" in attributes:
        return str(attributes["scopename"]).replace(" ", ".")
    hdlname = str(attributes.get("hdlname", "")).split()
    return ".".join(hdlname[:-1])


def activity_from_pins(netlist: Netlist, rates: dict[str, tuple[float, float]],
                       period_ns: float, cycles: int = 1000) -> NetActivity:
    """A ``NetActivity`` from (transitions per period, duty) keyed by driver pin (``inst/PIN``)
    or port name, as OpenSTA reports them (``flow.sta.vectorless_activities``)."""
    by_net: dict[str, tuple[float, float]] = {}
    for inst, (_, pins) in netlist.instances.items():
        for pin, net in pins.items():
            key = f"{inst}/{pin}"
            if key in rates and net in netlist.names:
                by_net[netlist.names[net]] = rates[key]
    by_net.update({port: value for port, value in rates.items() if "/" not in port})
    return NetActivity.from_rates(by_net, cycles, period_ns)


@dataclass(frozen=True)
class PowerReport:
    """Per-instance power (mW) of one netlist under one activity."""

    clock_ns: float
    instances: dict[str, Power]
    cells: dict[str, str]
    scopes: dict[str, str]
    unannotated: int
    """Cell-connected nets the activity did not cover (taken as constant 0)."""

    @property
    def total(self) -> Power:
        return _sum(self.instances.values())

    def by_group(self, key: Callable[[str], str]) -> dict[str, Power]:
        """Power summed per ``key(instance)``."""
        groups: dict[str, list[Power]] = defaultdict(list)
        for name, power in self.instances.items():
            groups[key(name)].append(power)
        return {k: _sum(v) for k, v in sorted(groups.items())}

    def by_scope(self, depth: int = 1) -> dict[str, Power]:
        """Power per hierarchical scope, cut to ``depth`` levels ("" = top-level cells)."""
        return self.by_group(lambda inst: ".".join(self.scopes[inst].split(".")[:depth]))


def _sum(powers: Iterable[Power]) -> Power:
    parts = [(p.internal_mw, p.switching_mw, p.leakage_mw) for p in powers]
    return Power(*(sum(x) for x in zip(*parts))) if parts else Power(0.0, 0.0, 0.0)


def compute_power(netlist: Netlist, library: Library, activity: NetActivity, *,
                  input_slew_ns: float = 0.0, mode: str = "measured") -> PowerReport:
    """Power of every instance of ``netlist`` at ``activity``'s clock period; see module doc."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {list(MODES)}, not {mode!r}")
    engine = _Engine(netlist, library, activity, input_slew_ns, mode)
    powers = {name: engine.instance_power(name) for name in netlist.instances}
    return PowerReport(activity.period_ns, powers,
                       {n: t for n, (t, _) in netlist.instances.items()}, dict(netlist.scopes),
                       engine.unannotated)


class _Engine:
    def __init__(self, netlist: Netlist, library: Library, activity: NetActivity,
                 input_slew_ns: float, mode: str) -> None:
        self.netlist, self.library, self.activity, self.mode = netlist, library, activity, mode
        self.input_slew = input_slew_ns
        self.period = activity.period_ns
        self.cells = {name: library.cell(kind) for name, (kind, _) in netlist.instances.items()}
        self.driver: dict[object, tuple[str, str]] = {}
        fanout: dict[object, int] = defaultdict(int)
        pin_cap: dict[object, float] = defaultdict(float)
        self.clock_nets: set = set()
        for name, (_, pins) in netlist.instances.items():
            cell = self.cells[name]
            for pin, net in pins.items():
                lib_pin = cell.pins.get(pin)
                if lib_pin is None:
                    continue
                if lib_pin.direction == "output":
                    self.driver[net] = (name, pin)
                else:
                    fanout[net] += 1
                    pin_cap[net] += lib_pin.capacitance
                    if lib_pin.clock:
                        self.clock_nets.add(net)
        for net in netlist.outputs:
            fanout[net] += 1
        wire = library.wire_load
        self.load = {net: pin_cap[net] + (wire.capacitance(fanout[net]) if wire else 0.0)
                     for net in set(fanout) | set(self.driver)}
        self.slews: dict[object, tuple[float, float]] = {}
        self.unannotated = len({net for _, pins in netlist.instances.values()
                                for net in pins.values()
                                if net not in _CONST and net in netlist.names
                                and netlist.names[net] not in activity.toggles})

    def rate(self, net: object) -> float:
        """Transitions per ns."""
        if net in _CONST:
            return 0.0
        name = self.netlist.names.get(net)
        if name is None or name not in self.activity.toggles:
            return 0.0
        return self.activity.toggles[name] / (self.activity.cycles * self.period)

    def duty(self, net: object) -> float:
        if net in _CONST:
            return 1.0 if net == "1" else 0.0
        name = self.netlist.names.get(net)
        if name is None or name not in self.activity.time_high:
            return 0.0
        return self.activity.duty(name)

    def slew(self, net: object) -> tuple[float, float]:
        """(rise, fall) transition time of a net (iterative: arithmetic cones are deep)."""
        stack = [net]
        while stack:
            current = stack[-1]
            if current in self.slews:
                stack.pop()
                continue
            source = self.driver.get(current)
            if source is None or current in self.netlist.inputs:
                self.slews[current] = (self.input_slew, self.input_slew)
                stack.pop()
                continue
            inst, pin = source
            pins = self.netlist.instances[inst][1]
            arcs = self.cells[inst].pins[pin].arcs
            pending = [pins[a.related] for a in arcs
                       if a.related in pins and pins[a.related] not in self.slews]
            if pending:
                stack.extend(pending)
                continue
            self.slews[current] = self._output_slew(arcs, pins, self.load.get(current, 0.0))
            stack.pop()
        return self.slews[net]

    def _output_slew(self, arcs, pins: dict, load: float) -> tuple[float, float]:
        rise = fall = 0.0
        for arc in arcs:
            if arc.related not in pins:
                continue
            in_rise, in_fall = self.slews[pins[arc.related]]
            if arc.sense == "positive_unate":
                sources = ((in_rise,), (in_fall,))
            elif arc.sense == "negative_unate":
                sources = ((in_fall,), (in_rise,))
            else:
                sources = ((in_rise, in_fall), (in_rise, in_fall))
            if arc.rise_transition is not None:
                rise = max(rise, *(arc.rise_transition.lookup(s, load) for s in sources[0]))
            if arc.fall_transition is not None:
                fall = max(fall, *(arc.fall_transition.lookup(s, load) for s in sources[1]))
        return rise, fall

    def instance_power(self, name: str) -> Power:
        cell = self.cells[name]
        pins = self.netlist.instances[name][1]
        internal = switching = 0.0
        volt = self.library.voltage
        for pin_name, net in pins.items():
            pin = cell.pins.get(pin_name)
            if pin is None or not pin.powers and pin.direction != "output":
                continue
            if pin.direction == "output":
                load = self.load.get(net, 0.0)
                switching += 0.5 * load * volt * volt * self.rate(net)
                internal += self._output_internal(cell, pins, pin_name, net, load)
            else:
                internal += self._input_internal(cell, pins, pin_name, net)
        return Power(internal, switching, self._leakage(cell, pins))

    def _probability(self, expr: Expr, pins: dict) -> float:
        """P(expr) with independent pins at their measured duties (exact, over its minterms)."""
        names, minterms = _minterms(expr)
        duties = [self.duty(pins[p]) if p in pins else 0.0 for p in names]
        total = 0.0
        for minterm in minterms:
            weight = 1.0
            for value, d in zip(minterm, duties):
                weight *= d if value else 1.0 - d
            total += weight
        return total

    def _sensitised(self, function: Expr, pin: str, pins: dict) -> float:
        """P(function depends on ``pin``): the Boolean difference at the other pins' duties."""
        diff = ("xor", _cofactor(function, pin, 1), _cofactor(function, pin, 0))
        return self._probability(diff, pins)

    def _output_internal(self, cell: LibertyCell, pins: dict, pin_name: str, net: object,
                         load: float) -> float:
        pin = cell.pins[pin_name]
        if self.mode == "opensta2019":
            return self._output_internal_2019(cell, pins, pin_name, net, load)
        arcs = []
        for power in pin.powers:
            source = pins.get(power.related) if power.related else None
            if power.related and source is None:
                continue
            if source is None:
                weight = 1.0
            elif pin.function is not None and power.related in support(pin.function):
                weight = self.rate(source) * self._sensitised(pin.function, power.related, pins)
            elif power.when is not None:
                weight = self.rate(source) * self._probability(power.when, pins)
            else:
                weight = self.rate(source) * 0.5
            arcs.append((power, source, weight))
        total_weight = sum(w for _, _, w in arcs)
        if not arcs or total_weight == 0.0:
            arcs = [(p, s, 1.0) for p, s, _ in arcs]
            total_weight = float(len(arcs)) or 1.0
        energy = 0.0
        for power, source, weight in arcs:
            rise, fall = self.slew(source) if source is not None else (0.0, 0.0)
            negative = source is not None and _negative_unate(pin, power.related)
            from_rise, from_fall = (fall, rise) if negative else (rise, fall)
            energy += weight * _mean_energy(power, from_rise, from_fall, load)
        return energy / total_weight * self.rate(net)

    def _output_internal_2019(self, cell: LibertyCell, pins: dict, pin_name: str, net: object,
                              load: float) -> float:
        pin = cell.pins[pin_name]
        energy = 0.0
        for power in pin.powers:
            source = pins.get(power.related) if power.related else net
            if source is None:
                continue
            inferred = (_inferred_when(pin.function, power.related)
                        if power.related and power.when is None and pin.function is not None
                        else None)
            if inferred is not None:
                to_rate = self.rate(net)
                duty = (0.0 if to_rate == 0.0 else
                        self.rate(source) / to_rate * self._probability_2019(inferred, pins))
            elif power.when is not None:
                duty = self._probability_2019(power.when, pins)
            else:
                duty = 1.0 if source in self.clock_nets else 0.5
            rise, fall = self.slew(source)
            energy += duty * _sum_energy(power, rise, fall, load)
        return energy * self.rate(net)

    def _input_internal(self, cell: LibertyCell, pins: dict, pin_name: str, net: object) -> float:
        pin = cell.pins[pin_name]
        rise, fall = self.slew(net)
        internal = 0.0
        for power in pin.powers:
            if self.mode == "opensta2019":
                if power.when is not None:
                    duty = self._probability_2019(power.when, pins)
                else:
                    duty = 1.0 if net in self.clock_nets else 0.5
                internal += duty * _sum_energy(power, rise, fall, 0.0)
            else:
                duty = 1.0 if power.when is None else self._probability(power.when, pins)
                internal += duty * _mean_energy(power, rise, fall, 0.0)
        return internal * self.rate(net)

    def _leakage(self, cell: LibertyCell, pins: dict) -> float:
        if self.mode == "opensta2019" and cell.leakage_mw is not None:
            return cell.leakage_mw
        if cell.state_leakage_mw:
            if self.mode == "opensta2019":
                return sum(value * 2.0 * 0.5 ** len(support(when))
                           for when, value in cell.state_leakage_mw)
            return sum(value * self._probability(when, pins)
                       for when, value in cell.state_leakage_mw)
        return cell.leakage_mw or 0.0

    def _probability_2019(self, expr: Expr, pins: dict) -> float:
        """OpenSTA 2.0's duty recursion (operands treated as independent at every node)."""
        if isinstance(expr, str):
            net = pins.get(expr)
            if net is None:
                return 0.0
            return 0.5 if net in self.clock_nets else self.duty(net)
        if isinstance(expr, int):
            return float(expr)
        op, *args = expr
        p = [self._probability_2019(a, pins) for a in args]
        if op == "not":
            return 1.0 - p[0]
        if op == "and":
            return p[0] * p[1]
        if op == "or":
            return 1.0 - (1.0 - p[0]) * (1.0 - p[1])
        return p[0] * (1.0 - p[1]) + p[1] * (1.0 - p[0])


@lru_cache(maxsize=None)
def _minterms(expr: Expr) -> tuple[tuple[str, ...], tuple[tuple[bool, ...], ...]]:
    """The pins an expression reads and the assignments that make it true."""
    names = support(expr)
    return names, tuple(values for values in itertools.product((False, True), repeat=len(names))
                        if evaluate(expr, dict(zip(names, values))))


def _cofactor(expr: Expr, pin: str, value: int) -> Expr:
    if isinstance(expr, str):
        return value if expr == pin else expr
    if isinstance(expr, int):
        return expr
    return (expr[0], *(_cofactor(e, pin, value) for e in expr[1:]))


def _negative_unate(pin, related: str | None) -> bool:
    return any(a.related == related and a.sense == "negative_unate" for a in pin.arcs)


def _table_energy(table, slew: float, load: float) -> float:
    return table.lookup(slew, load) if table is not None else 0.0


def _mean_energy(power, rise_slew: float, fall_slew: float, load: float) -> float:
    tables = [(t, s) for t, s in ((power.rise, rise_slew), (power.fall, fall_slew)) if t]
    return sum(t.lookup(s, load) for t, s in tables) / len(tables) if tables else 0.0


def _sum_energy(power, rise_slew: float, fall_slew: float, load: float) -> float:
    return _table_energy(power.rise, rise_slew, load) + _table_energy(power.fall, fall_slew, load)


def _is_pin_ref(expr: Expr, pin: str) -> bool:
    return expr == pin or (isinstance(expr, tuple) and expr[0] == "not" and expr[1] == pin)


def _negate(expr: Expr) -> Expr:
    return expr[1] if isinstance(expr, tuple) and expr[0] == "not" else ("not", expr)


def _inferred_when(expr: Expr, pin: str) -> Expr | None:
    """OpenSTA 2.0's sensitising condition of ``pin`` read off the top of the function tree."""
    if isinstance(expr, str):
        return 1 if expr == pin else None
    if isinstance(expr, int):
        return None
    op = expr[0]
    if op == "not":
        return _inferred_when(expr[1], pin)
    left, right = expr[1], expr[2]
    if op in ("or", "xor"):
        if _is_pin_ref(left, pin):
            return _negate(right)
        if _is_pin_ref(right, pin):
            return _negate(left)
    elif op == "and":
        if _is_pin_ref(left, pin):
            return right
        if _is_pin_ref(right, pin):
            return left
    return None


def components(power: Power) -> dict[str, float]:
    """A ``Power`` as the result JSON's four numbers (mW)."""
    return {"internal_mw": power.internal_mw, "switching_mw": power.switching_mw,
            "leakage_mw": power.leakage_mw, "total_mw": power.total_mw}


def power_of_netlist(netlist: Path | str, liberty: Path | str, *, scope: str, clock_ns: float,
                     vcd: Path | str | None = None, saif: Path | str | None = None,
                     top: str | None = None, cycles: int | None = None,
                     depth: int = 1) -> dict:
    """``qmac power``: any gate-level netlist (Verilog or Yosys JSON) and one waveform."""
    if isinstance(clock_ns, bool) or not isinstance(clock_ns, (int, float)) or not clock_ns > 0:
        raise ValueError(f"clock_ns must be a positive number, not {clock_ns!r}")
    if (vcd is None) == (saif is None):
        raise ValueError("give exactly one of vcd and saif")
    liberty = liberty_file(Path(liberty))
    library = read_liberty(liberty)
    netlist = Path(netlist)
    if netlist.suffix != ".json":
        with tempfile.TemporaryDirectory(prefix="qmac-power-") as work:
            json_path = netlist_to_json(netlist, liberty, top, Path(work), find_yosys())
            design = read_netlist(json_path, top)
    else:
        design = read_netlist(netlist, top)
    activity = (read_vcd_activity(vcd, scope, float(clock_ns), cycles) if vcd is not None
                else read_saif(saif, scope, float(clock_ns)))
    report = compute_power(design, library, activity)
    return {"top": design.top, "library": library.name, "clock_ns": float(clock_ns),
            "cycles": activity.cycles, "engine": "qmac", "total": components(report.total),
            "scopes": {k: components(v) for k, v in report.by_scope(depth).items()},
            "unannotated_nets": report.unannotated}
