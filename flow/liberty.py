"""What qmac reads from a Liberty file: areas, state, pin loads, cell functions, slew and power tables.

The file is parsed with the PyPI ``liberty-parser`` (measured: 0.25 s for osu018, 7.4 s for the
12.8 MB sky130 HD library) and reduced to the few facts the area report and the power engine
(``flow.power``) use, in fixed units: pF, ns, pJ (= pF x V^2, the unit of internal-power tables)
and mW. Parsed libraries are cached per path and modification time.

Boolean ``function``/``when`` strings become small expression trees (``Expr``) with the operator
precedence OpenSTA's parser uses (``!``/``'`` > ``^`` > ``&``/``*``/juxtaposition > ``|``/``+``,
binary operators left-associative), so tree-shape-dependent rules (``flow.power``'s OpenSTA 2.0
mode) see the same trees OpenSTA sees.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import pickle
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Union

import numpy as np
from liberty.parser import parse_liberty

__all__ = ["Expr", "parse_function", "support", "evaluate", "Table", "TimingArc",
           "InternalPower", "LibertyPin", "LibertyCell", "WireLoad", "Library", "read_liberty"]

Expr = Union[str, int, tuple]
"""A pin name, the constant 0 or 1, or ``(op, operand...)`` with op in not/and/or/xor."""

_CACHE_DIR = Path(__file__).resolve().parent.parent / "build" / "cache" / "liberty"
_READER_DIGEST = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
_STATE_GROUPS = ("ff", "latch", "ff_bank", "latch_bank", "statetable")
_TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z_][\w\[\].]*)|(?P<const>[01])\b|(?P<op>[!'^&*|+()]))")
_BINARY = {"|": "or", "+": "or", "&": "and", "*": "and", "^": "xor"}
_PRECEDENCE = {"or": 1, "and": 2, "xor": 3}
_UNITS = {"s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1.0, "ps": 1e-3, "fs": 1e-6}
_CAP_UNITS = {"pf": 1.0, "ff": 1e-3, "nf": 1e3}
_POWER_UNITS = {"w": 1e3, "mw": 1.0, "uw": 1e-3, "nw": 1e-6, "pw": 1e-9, "fw": 1e-12}


def parse_function(text: str) -> Expr:
    """Parse a Liberty boolean expression (``"!(A&B)"``, ``"(A B)'"``, ``"S^1"``)."""
    tokens: list[tuple[str, str]] = []
    pos, text = 0, text.strip().strip('"')
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            if text[pos:].strip() == "":
                break
            raise ValueError(f"liberty function {text!r} has an unexpected character at "
                             f"{text[pos:].strip()[:10]!r}")
        kind = match.lastgroup
        tokens.append((kind, match[kind]))
        pos = match.end()
    expr, rest = _parse_binary(tokens, 0, text)
    if rest:
        raise ValueError(f"liberty function {text!r} has unbalanced parentheses or operators")
    return expr


def _parse_binary(tokens: list, min_level: int, text: str) -> tuple[Expr, list]:
    left, tokens = _parse_unary(tokens, text)
    while tokens:
        kind, value = tokens[0]
        if kind == "op" and value in _BINARY:
            op, rest = _BINARY[value], tokens[1:]
        elif kind in ("name", "const") or value in "(!":
            op, rest = "and", tokens
        else:
            break
        if _PRECEDENCE[op] <= min_level:
            break
        right, tokens = _parse_binary(rest, _PRECEDENCE[op], text)
        left = (op, left, right)
    return left, tokens


def _parse_unary(tokens: list, text: str) -> tuple[Expr, list]:
    if not tokens:
        raise ValueError(f"liberty function {text!r} ends where an operand is expected")
    (kind, value), tokens = tokens[0], tokens[1:]
    if value == "!":
        operand, tokens = _parse_unary(tokens, text)
        expr: Expr = ("not", operand)
    elif value == "(":
        expr, tokens = _parse_binary(tokens, 0, text)
        if not tokens or tokens[0][1] != ")":
            raise ValueError(f"liberty function {text!r} has an unclosed '('")
        tokens = tokens[1:]
    elif kind == "name":
        expr = value
    elif kind == "const":
        expr = int(value)
    else:
        raise ValueError(f"liberty function {text!r} has {value!r} where an operand is expected")
    while tokens and tokens[0][1] == "'":
        expr, tokens = ("not", expr), tokens[1:]
    return expr, tokens


def support(expr: Expr) -> tuple[str, ...]:
    """Pin names an expression reads, in first-use order."""
    if isinstance(expr, str):
        return (expr,)
    if isinstance(expr, int):
        return ()
    return tuple(dict.fromkeys(itertools.chain.from_iterable(support(e) for e in expr[1:])))


def evaluate(expr: Expr, values: dict[str, bool]) -> bool:
    """The expression's value for one assignment of its pins."""
    if isinstance(expr, str):
        return values[expr]
    if isinstance(expr, int):
        return bool(expr)
    op, *args = expr
    if op == "not":
        return not evaluate(args[0], values)
    a, b = (evaluate(e, values) for e in args)
    return {"and": a and b, "or": a or b, "xor": a != b}[op]


@dataclass(frozen=True)
class Table:
    """A 0-, 1- or 2-D lookup table over ``input`` transition (ns) and output ``load`` (pF).

    ``axes`` names each index's variable (``"slew"`` or ``"load"``). Lookups interpolate linearly
    between the two nearest breakpoints of each axis and extrapolate linearly beyond the ends
    from the outermost segment, as OpenSTA's table models do. Breakpoints and values are plain
    tuples: the engine looks tables up hundreds of thousands of times, one point at a time.
    """

    axes: tuple[str, ...]
    index: tuple[tuple[float, ...], ...]
    values: tuple | float

    def lookup(self, slew: float, load: float) -> float:
        values = self.values
        for axis, breaks in zip(self.axes, self.index):
            x = slew if axis == "slew" else load
            last = len(breaks) - 2
            if last < 0:
                values = values[0]
                continue
            i = min(max(bisect_right(breaks, x) - 1, 0), last)
            t = (x - breaks[i]) / (breaks[i + 1] - breaks[i])
            values = _blend(values[i], values[i + 1], t)
        return float(values)


def _blend(a, b, t: float):
    if isinstance(a, tuple):
        return tuple(_blend(x, y, t) for x, y in zip(a, b))
    return a + (b - a) * t


@dataclass(frozen=True)
class TimingArc:
    related: str
    sense: str
    rise_transition: Table | None
    fall_transition: Table | None


@dataclass(frozen=True)
class InternalPower:
    """Energy (pJ) per rising / falling transition of the pin it belongs to."""

    related: str | None
    when: Expr | None
    rise: Table | None
    fall: Table | None


@dataclass(frozen=True)
class LibertyPin:
    name: str
    direction: str
    capacitance: float
    function: Expr | None = None
    clock: bool = False
    arcs: tuple[TimingArc, ...] = ()
    powers: tuple[InternalPower, ...] = ()


@dataclass(frozen=True)
class LibertyCell:
    name: str
    area: float
    sequential: bool
    pins: dict[str, LibertyPin] = field(default_factory=dict)
    leakage_mw: float | None = None
    state_leakage_mw: tuple[tuple[Expr, float], ...] = ()
    state: dict[str, Expr] = field(default_factory=dict)
    """Internal state variable (``IQ``) -> the expression it takes at the clock edge."""


@dataclass(frozen=True)
class WireLoad:
    """Statistical wire capacitance by fanout (Liberty ``wire_load``), in pF."""

    capacitance_per_length: float
    slope: float
    lengths: tuple[tuple[float, float], ...]

    def capacitance(self, fanout: int) -> float:
        points = self.lengths
        if not points:
            return 0.0
        (f0, l0), (fmax, lmax) = points[0], points[-1]
        if fanout < f0:
            length = max(0.0, l0 - (f0 - fanout) * self.slope)
        elif fanout >= fmax:
            length = lmax + (fanout - fmax) * self.slope
        else:
            length = float(np.interp(fanout, [f for f, _ in points], [x for _, x in points]))
        return length * self.capacitance_per_length


@dataclass(frozen=True)
class Library:
    name: str
    path: Path
    cells: dict[str, LibertyCell]
    voltage: float = 0.0
    wire_load: WireLoad | None = None

    def cell(self, name: str) -> LibertyCell:
        if name not in self.cells:
            raise ValueError(f"cell {name!r} is not in Liberty library {self.name} ({self.path})")
        return self.cells[name]


def read_liberty(path: Path | str) -> Library:
    """Parse ``path`` (cached); a file that is not a Liberty library is a ValueError."""
    path = Path(path).resolve()
    stat = path.stat()
    return _read(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _read(path: Path, mtime: int, size: int) -> Library:
    """Parse, or load the model pickled by an earlier parse of the same file (same path, time
    and size, same reader source): sky130's 12.8 MB take 7-25 s to parse, 0.3 s to unpickle."""
    key = hashlib.sha256(f"{path}|{mtime}|{size}|{_READER_DIGEST}".encode()).hexdigest()[:24]
    cached = _CACHE_DIR / f"{key}.pickle"
    if cached.exists():
        try:
            return pickle.loads(cached.read_bytes())
        except (pickle.UnpicklingError, EOFError, AttributeError):
            cached.unlink(missing_ok=True)
    library = _parse(path)
    _CACHE_DIR.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(f".{os.getpid()}.part")
    partial.write_bytes(pickle.dumps(library))
    partial.replace(cached)
    return library


def _parse(path: Path) -> Library:
    try:
        lib = parse_liberty(path.read_text(errors="replace"))
    except Exception as err:  # the parser raises bare lark/parse errors of many types
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"liberty file {path} is not a Liberty library ({first})") from None
    if getattr(lib, "group_name", None) != "library":
        raise ValueError(f"liberty file {path} is not a Liberty library (no 'library' group)")
    reader = _Reader(path, lib)
    cells = {}
    for group in lib.get_groups("cell"):
        cell = reader.cell(group)
        cells[cell.name] = cell
    return Library(_name(lib.args[0]), path, cells, reader.voltage, reader.wire_load())


class _Reader:
    """Unit scales and templates of one parsed library, applied to each of its cells."""

    def __init__(self, path: Path, lib) -> None:
        self.path, self.lib = path, lib
        self.time_ns = _unit(lib.get("time_unit", "1ns"), _UNITS, "s", path, "time_unit")
        self.leak_mw = _unit(lib.get("leakage_power_unit", "1nW"), _POWER_UNITS, "w", path,
                             "leakage_power_unit")
        cap = lib.get("capacitive_load_unit", [1, "pf"])
        self.cap_pf = float(cap[0]) * _CAP_UNITS[str(cap[1]).strip('"').lower()]
        self.voltage = self._voltage()
        self.energy_pj = self.cap_pf
        self.templates = {}
        for kind in ("lu_table_template", "power_lut_template"):
            for group in lib.get_groups(kind):
                self.templates[_name(group.args[0])] = group

    def _voltage(self) -> float:
        default = self.lib.get("default_operating_conditions")
        for group in self.lib.get_groups("operating_conditions"):
            if default is None or _name(group.args[0]) == _name(default):
                if "voltage" in group:
                    return float(group["voltage"])
        return float(self.lib.get("nom_voltage", 0.0))

    def wire_load(self) -> WireLoad | None:
        default = self.lib.get("default_wire_load")
        groups = [g for g in self.lib.get_groups("wire_load")
                  if default is not None and _name(g.args[0]) == _name(default)]
        if not groups:
            return None
        group = groups[0]
        lengths = sorted((float(v[0]), float(v[1])) for v in group.get_attributes("fanout_length"))
        return WireLoad(float(group.get("capacitance", 0.0)) * self.cap_pf,
                        float(group.get("slope", 0.0)), tuple(lengths))

    def cell(self, group) -> LibertyCell:
        name = _name(group.args[0])
        if "area" not in group:
            raise ValueError(f"liberty file {self.path}: cell {name} has no area")
        try:
            area = float(group["area"])
        except (TypeError, ValueError):
            raise ValueError(f"liberty file {self.path}: area {str(group['area'])!r} is not a "
                             f"number") from None
        state = {}
        for kind in ("ff", "latch"):
            for seq in group.get_groups(kind):
                data = seq.get("next_state") or seq.get("data_in")
                if data is not None:
                    state[_name(seq.args[0])] = parse_function(str(data))
        leak = group.get("cell_leakage_power")
        state_leakage = tuple((parse_function(str(g["when"])), float(g["value"]) * self.leak_mw)
                              for g in group.get_groups("leakage_power")
                              if "when" in g and "value" in g)
        pins = {}
        for pin_group in group.get_groups("pin"):
            for pin_name in pin_group.args:
                pin = self.pin(_name(pin_name), pin_group)
                pins[pin.name] = pin
        return LibertyCell(name, area, any(group.get_groups(k) for k in _STATE_GROUPS), pins,
                           None if leak is None else float(leak) * self.leak_mw,
                           state_leakage, state)

    def pin(self, name: str, group) -> LibertyPin:
        caps = [float(group[k]) for k in ("capacitance", "rise_capacitance", "fall_capacitance")
                if k in group]
        function = group.get("function")
        arcs = tuple(TimingArc(_name(t.get("related_pin", "")), _name(t.get("timing_sense", "")),
                               self.table(t, "rise_transition"), self.table(t, "fall_transition"))
                     for t in group.get_groups("timing")
                     if "related_pin" in t and (self.table(t, "rise_transition")
                                                or self.table(t, "fall_transition")))
        powers = tuple(InternalPower(
            _name(p["related_pin"]) if "related_pin" in p else None,
            parse_function(str(p["when"])) if "when" in p else None,
            self.table(p, "rise_power", self.energy_pj), self.table(p, "fall_power", self.energy_pj))
            for p in group.get_groups("internal_power"))
        return LibertyPin(name, _name(group.get("direction", "input")),
                          max(caps, default=0.0) * self.cap_pf,
                          parse_function(str(function)) if function is not None else None,
                          str(group.get("clock", "false")).strip('"') == "true", arcs, powers)

    def table(self, group, kind: str, scale: float | None = None) -> Table | None:
        found = group.get_groups(kind)
        if not found:
            return None
        table = found[0]
        template = self.templates.get(_name(table.args[0])) if table.args else None
        values = np.atleast_1d(np.array(table.get_array("values"), dtype=float))
        axes, index = [], []
        for i in (1, 2, 3):
            source = table if f"index_{i}" in table else template
            if source is None or f"index_{i}" not in source:
                break
            variable = _name((template or table).get(f"variable_{i}", ""))
            axes.append("load" if "capacitance" in variable else "slew")
            breaks = np.atleast_1d(np.array(source.get_array(f"index_{i}"), dtype=float)).ravel()
            index.append(breaks * (self.cap_pf if axes[-1] == "load" else self.time_ns))
        values = values.reshape([len(b) for b in index]) if index else values.reshape(())
        if scale is None:
            scale = self.time_ns
        return Table(tuple(axes), tuple(tuple(float(x) for x in b) for b in index),
                     _nested(values * scale))


def _nested(array: np.ndarray):
    return tuple(_nested(row) for row in array) if array.ndim else float(array)


def _name(value) -> str:
    return str(value).strip().strip('"')


def _unit(text, table: dict[str, float], suffix: str, path: Path, what: str) -> float:
    match = re.fullmatch(r"\s*([0-9.]+)\s*([a-zA-Z]+)\s*", _name(text))
    unit = match[2].lower() if match else ""
    if match is None or unit not in table:
        raise ValueError(f"liberty file {path}: {what} {_name(text)!r} is not understood "
                         f"(expected e.g. 1n{suffix})")
    return float(match[1]) * table[unit]
