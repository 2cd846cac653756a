"""Zero-delay Verilog models of a Liberty library's cells, generated from the Liberty file itself.

Gate-level simulation needs a behavioural model of every cell the netlist instantiates. Libraries
rarely ship models that Verilator accepts (osu018's use UDPs and specify blocks; sky130's come
as a separate repository), but every Liberty file describes each cell's logic: the ``function``
(and ``three_state``) of its outputs, and its state in an ``ff``, ``latch`` or ``statetable``
group. ``write_cell_models`` turns that into one plain Verilog-2005 module per cell, which
Verilator and Icarus both compile, so any library works. Power and ground pins, timing and
``test_cell`` groups are ignored: the models have zero delay.

Parsing uses the PyPI ``liberty-parser`` (about 7.5 s for sky130 HD's 12.8 MB, 0.15 s for
osu018); the generated file is cached next to the caller's job, keyed by the Liberty file.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from pathlib import Path

from liberty.parser import parse_liberty
from liberty.types import Group

from hw.export import write_atomic

__all__ = ["verilog_expr", "cell_models", "write_cell_models"]

_TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z_][\w\[\]\.]*)|(?P<const>[01])\b|(?P<op>[!'*&+|^()]))")
_STATE_VALUES = {"L": "1'b0", "H": "1'b1", "X": "1'bx"}
"""``clear_preset_var`` codes with a constant value (``N``, no change, and ``T`` are handled apart)."""


def verilog_expr(function: str, rename: dict[str, str] | None = None) -> str:
    """A Liberty boolean ``function`` as a Verilog expression (names mapped through ``rename``).

    Liberty operators, by precedence: ``!x`` and ``x'`` (not), ``^`` (xor), ``*``, ``&`` or
    juxtaposition ``a b`` (and), ``+`` and ``|`` (or); constants ``0`` and ``1``.
    """
    tokens = _tokenize(function)
    parser = _ExprParser(tokens, rename or {}, function)
    expr = parser.parse_or()
    if parser.pos != len(tokens):
        raise ValueError(f"Liberty function {function!r} has an unexpected "
                         f"{tokens[parser.pos][1]!r}")
    return expr


def _tokenize(function: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    text = function.strip().strip('"')
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            if text[pos:].strip():
                raise ValueError(f"Liberty function {function!r} has an unexpected "
                                 f"{text[pos:].strip()[0]!r}")
            break
        kind = match.lastgroup
        tokens.append((kind, match[kind]))
        pos = match.end()
    return tokens


class _ExprParser:
    """Recursive descent over the Liberty grammar; every result is fully parenthesised."""

    def __init__(self, tokens: list[tuple[str, str]], rename: dict[str, str], source: str):
        self.tokens, self.rename, self.source, self.pos = tokens, rename, source, 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, op: str) -> bool:
        if self.peek() == ("op", op):
            self.pos += 1
            return True
        return False

    def parse_or(self) -> str:
        terms = [self.parse_and()]
        while self.take("+") or self.take("|"):
            terms.append(self.parse_and())
        return terms[0] if len(terms) == 1 else "(" + " | ".join(terms) + ")"

    def parse_and(self) -> str:
        terms = [self.parse_xor()]
        while True:
            if self.take("*") or self.take("&"):
                terms.append(self.parse_xor())
                continue
            token = self.peek()
            if token is not None and (token[0] != "op" or token[1] in "!("):
                terms.append(self.parse_xor())
                continue
            break
        return terms[0] if len(terms) == 1 else "(" + " & ".join(terms) + ")"

    def parse_xor(self) -> str:
        terms = [self.parse_unary()]
        while self.take("^"):
            terms.append(self.parse_unary())
        return terms[0] if len(terms) == 1 else "(" + " ^ ".join(terms) + ")"

    def parse_unary(self) -> str:
        if self.take("!"):
            return f"(~{self.parse_unary()})"
        expr = self.parse_primary()
        while self.take("'"):
            expr = f"(~{expr})"
        return expr

    def parse_primary(self) -> str:
        token = self.peek()
        if token is None:
            raise ValueError(f"Liberty function {self.source!r} ends early")
        self.pos += 1
        kind, text = token
        if kind == "name":
            return self.rename.get(text, text)
        if kind == "const":
            return f"1'b{text}"
        if text == "(":
            expr = self.parse_or()
            if not self.take(")"):
                raise ValueError(f"Liberty function {self.source!r} misses a ')'")
            return expr
        raise ValueError(f"Liberty function {self.source!r} has an unexpected {text!r}")


@dataclass(frozen=True)
class _Pin:
    name: str
    direction: str
    function: str | None
    three_state: str | None


def _text(value: object) -> str:
    return str(value).strip().strip('"')


def _pins(cell: Group) -> list[_Pin]:
    pins = []
    for pin in cell.get_groups("pin"):
        function = pin.get("function") or pin.get("state_function")
        three_state = pin.get("three_state")
        for name in pin.args:
            pins.append(_Pin(_text(name), _text(pin.get("direction", "input")),
                             _text(function) if function is not None else None,
                             _text(three_state) if three_state is not None else None))
    if cell.get_groups("bus") or cell.get_groups("bundle"):
        raise ValueError(f"Liberty cell {_text(cell.args[0])} has bus/bundle pins, which the "
                         f"cell model generator does not support")
    return pins


def _cell_model(cell: Group) -> str:
    """One Verilog module: ports, state (``ff``, ``latch``, ``statetable``), output functions."""
    name = _text(cell.args[0])
    pins = _pins(cell)
    ports = [p for p in pins if p.direction in ("input", "output", "inout")]
    lines = [f"module {name} ({', '.join(p.name for p in ports)});"]
    for pin in ports:
        lines.append(f"  {pin.direction} {pin.name};")
    internal = [p.name for p in pins if p.direction == "internal"]
    lines += _state_logic(cell, name, internal)
    for pin in ports:
        if pin.direction == "input" or pin.function is None:
            continue
        value = verilog_expr(pin.function)
        if pin.three_state is not None:
            value = f"{verilog_expr(pin.three_state)} ? 1'bz : {value}"
        lines.append(f"  assign {pin.name} = {value};")
    lines += ["endmodule", ""]
    return "\n".join(lines)


def _state_logic(cell: Group, name: str, internal: list[str]) -> list[str]:
    lines: list[str] = []
    for kind in ("ff", "latch"):
        for group in cell.get_groups(kind):
            iq, iqn = (_text(a) for a in group.args)
            lines.append(f"  reg {iq}, {iqn};")
            clear = _optional_expr(group, "clear")
            preset = _optional_expr(group, "preset")
            both = [f"{iq} <= {_var_value(group, 'clear_preset_var1', iq)};",
                    f"{iqn} <= {_var_value(group, 'clear_preset_var2', iqn)};"]
            if kind == "ff":
                clock = verilog_expr(_text(group["clocked_on"]))
                data = verilog_expr(_text(group["next_state"]))
                events = [f"posedge {_wire(lines, iq, 'clk', clock)}"]
                events += [f"posedge {_wire(lines, iq, tag, expr)}"
                           for tag, expr in (("clr", clear), ("pre", preset)) if expr]
                clear = clear and f"{iq}_clr"
                preset = preset and f"{iq}_pre"
                head, assign = f"always @({' or '.join(events)})", "<="
            else:
                enable = verilog_expr(_text(group["enable"]))
                data = verilog_expr(_text(group["data_in"]))
                head, assign = "always @*", "="
                both = [b.replace("<=", "=") for b in both]
                lines.append(f"  {head}")
                lines += _priority(clear, preset, both, iq, iqn, assign,
                                   f"if ({enable}) begin {iq} = {data}; {iqn} = ~({data}); end")
                continue
            lines.append(f"  {head}")
            lines += _priority(clear, preset, both, iq, iqn, assign,
                               f"begin {iq} {assign} {data}; {iqn} {assign} ~({data}); end")
    for group in cell.get_groups("statetable"):
        lines += _statetable(group, name, internal)
    return lines


def _wire(lines: list[str], iq: str, tag: str, expr: str) -> str:
    wire = f"{iq}_{tag}"
    lines.append(f"  wire {wire} = {expr};")
    return wire


def _optional_expr(group: Group, key: str) -> str | None:
    value = group.get(key)
    return verilog_expr(_text(value)) if value is not None else None


def _var_value(group: Group, key: str, state: str) -> str:
    code = _text(group.get(key, "X")).upper()
    if code == "N":
        return state
    if code == "T":
        return f"~{state}"
    return _STATE_VALUES.get(code, "1'bx")


def _priority(clear: str | None, preset: str | None, both: list[str], iq: str, iqn: str,
              assign: str, normal: str) -> list[str]:
    branches = []
    if clear and preset:
        branches.append(f"if ({clear} && {preset}) begin {' '.join(both)} end")
    if clear:
        branches.append(f"if ({clear}) begin {iq} {assign} 1'b0; {iqn} {assign} 1'b1; end")
    if preset:
        branches.append(f"if ({preset}) begin {iq} {assign} 1'b1; {iqn} {assign} 1'b0; end")
    branches.append(normal)
    return ["    " + "\n    else ".join(branches)]


def _statetable(group: Group, name: str, internal: list[str]) -> list[str]:
    """A level-sensitive state table as a priority chain; ``N`` keeps the state (a latch)."""
    inputs = _text(group.args[0]).split()
    states = _text(group.args[1]).split()
    table = _text(group["table"])
    lines = [f"  reg {', '.join(states)};", "  always @* begin"]
    first = True
    for row in table.split(","):
        fields = [f.split() for f in row.split(":")]
        if len(fields) != 3 or len(fields[0]) != len(inputs) or len(fields[2]) != len(states):
            raise ValueError(f"Liberty cell {name}: statetable row {row.strip()!r} does not "
                             f"match {inputs} : {states}")
        terms = []
        for signal, code in (*zip(inputs, fields[0]), *zip(states, fields[1])):
            if code in ("L", "H"):
                terms.append(signal if code == "H" else f"~{signal}")
            elif code not in ("-", "L/H", "H/L"):
                raise ValueError(f"Liberty cell {name}: statetable code {code!r} (edge or "
                                 f"unknown) is not supported; only L, H and - are")
        actions = []
        for state, code in zip(states, fields[2]):
            if code in ("L", "H"):
                actions.append(f"{state} = 1'b{int(code == 'H')};")
            elif code == "X":
                actions.append(f"{state} = 1'bx;")
            elif code not in ("N", "-"):
                raise ValueError(f"Liberty cell {name}: statetable next state {code!r} is not "
                                 f"supported; only L, H, X, N and - are")
        condition = " & ".join(terms) or "1'b1"
        body = " ".join(actions) or ";"
        lines.append(f"    {'if' if first else 'else if'} ({condition}) begin {body} end")
        first = False
    lines.append("  end")
    return lines


def _read_text(path: Path) -> str:
    if path.suffix == ".gz":
        with gzip.open(path, "rt", errors="replace") as handle:
            return handle.read()
    return path.read_text(errors="replace")


def cell_models(liberty: Path | str) -> str:
    """Verilog source of every cell of the Liberty file ``liberty`` (plain or ``.gz``)."""
    path = Path(liberty)
    try:
        library = parse_liberty(_read_text(path))
    except Exception as err:  # the parser raises its own hierarchy and plain errors alike
        raise ValueError(f"liberty file {path} cannot be parsed: {err}") from None
    if library.group_name != "library":
        raise ValueError(f"liberty file {path} is not a Liberty library (top group "
                         f"{library.group_name!r})")
    # Verilator traces no signal inside a cell (a netlist's nets are all on the cells' ports):
    # cuts the trace code, and with it the C++ compile time, several-fold.
    header = (f"// Zero-delay cell models generated by qmac (flow.cellmodels) from {path.name}\n"
              "`timescale 1ns/10ps\n/* verilator tracing_off */\n")
    return header + "\n".join(_cell_model(cell) for cell in library.get_groups("cell"))


def write_cell_models(liberty: Path | str, out: Path | str) -> Path:
    """Write the models of ``liberty`` to ``out`` unless it is newer than the Liberty file and
    this generator (parsing a large library takes seconds; every workload shares the file)."""
    liberty, out = Path(liberty), Path(out)
    sources = (liberty.stat().st_mtime_ns, Path(__file__).stat().st_mtime_ns)
    if out.is_file() and out.stat().st_mtime_ns >= max(sources):
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, cell_models(liberty))
    return out
