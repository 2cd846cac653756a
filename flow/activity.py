"""Measured switching activity of every net bit: what the power engine (``flow.power``) consumes.

``NetActivity`` holds, per net bit of one design scope, its 0<->1 transitions (``toggles``) and
its time at 1 (``time_high``, ns) over a window of ``cycles`` clock periods. It comes from a VCD
(read with the PyPI ``pywellen`` reader) or from a SAIF file (Verilator's ``--trace-saif``, or
any simulator's; no maintained PyPI SAIF reader exists, so ``read_saif`` tokenises the
S-expressions itself). Bit names are ``net`` for scalars and ``net[i]`` for vector bits; nets of
sub-scopes are prefixed with their scope path and a dot, as Yosys names them after flattening.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pywellen

__all__ = ["NetActivity", "read_vcd_activity", "bit_windows", "read_saif"]

_TIME_UNITS = {"s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1.0, "ps": 1e-3, "fs": 1e-6}
_SAIF_TOKEN = re.compile(r'\(|\)|"[^"]*"|(?:\\.|[^\s()])+')


@dataclass(frozen=True)
class NetActivity:
    """Toggles and time at 1 (ns) of each net bit over ``cycles`` periods of ``period_ns``."""

    cycles: int
    period_ns: float
    toggles: dict[str, int]
    time_high: dict[str, float]

    def rate(self, net: str) -> float:
        """Transitions per clock period."""
        return self.toggles[net] / self.cycles

    def duty(self, net: str) -> float:
        """Fraction of the window the net is at 1."""
        return min(1.0, max(0.0, self.time_high[net] / (self.cycles * self.period_ns)))

    @classmethod
    def from_rates(cls, rates: dict[str, tuple[float, float]], cycles: int,
                   period_ns: float) -> NetActivity:
        """Activity given as (transitions per period, duty) per net, e.g. from a probabilistic
        estimate; toggles are kept as floats scaled to ``cycles``."""
        return cls(cycles, period_ns, {n: r * cycles for n, (r, _) in rates.items()},
                   {n: d * cycles * period_ns for n, (_, d) in rates.items()})


def read_vcd_activity(path: Path | str, scope: str, period_ns: float,
                      cycles: int | None = None) -> NetActivity:
    """Per-bit activity of every variable under ``scope`` (dotted, e.g. ``tb.dut``) in a VCD/FST.

    The window starts at the scope's first time stamp and lasts ``cycles`` periods (default: up
    to the last value change of any variable in the file, e.g. the bench's clock, rounded to
    whole periods).
    """
    if not period_ns > 0:
        raise ValueError(f"period_ns must be positive, not {period_ns!r}")
    wave = pywellen.Waveform(str(path))
    tick_ns = _tick_ns(str(wave.timescale))
    prefix = scope.strip(".") + "."
    signals = [(var.full_name[len(prefix):], var.bitwidth, var.signal[:])
               for var in wave.all_vars() if var.full_name.startswith(prefix)]
    if not signals:
        raise ValueError(f"scope {scope!r} has no variables in {path}")
    start = min(changes[0][0] for _, _, changes in signals if changes)
    if cycles is None:
        last = max(changes[-1][0] for var in wave.all_vars() if (changes := list(var.signal)))
        cycles = max(1, round((last - start) * tick_ns / period_ns))
    end = start + round(cycles * period_ns / tick_ns)
    toggles: dict[str, int] = {}
    time_high: dict[str, float] = {}
    for name, width, changes in signals:
        counts, ticks_high = bit_windows(name, width, changes, {"run": (start, end)})["run"]
        toggles.update(counts)
        time_high.update({label: ticks * tick_ns for label, ticks in ticks_high.items()})
    return NetActivity(cycles, float(period_ns), toggles, time_high)


def bit_windows(name: str, width: int, changes: list, windows: dict[str, tuple[int, int]]
                ) -> dict[str, tuple[dict[str, int], dict[str, int]]]:
    """Per bit of one waveform variable and per window ``[lo, hi)`` of time ticks: 0<->1
    transitions and ticks at 1.

    ``changes`` is the variable's (time, value) list as pywellen gives it (value an int, or a
    string with x/z). A change to or from x/z never counts as a transition, and x/z time is not
    at 1. Bits are labelled ``name`` (scalars) or ``name[i]`` (vectors, assumed ``[w-1:0]``).
    The one wave reader of the flow: ``read_vcd_activity`` and ``flow.gatesim.read_wave``.
    """
    labels = [name] if width == 1 else [f"{name}[{i}]" for i in range(width)]
    if not changes:
        return {window: (dict.fromkeys(labels, 0), dict.fromkeys(labels, 0)) for window in windows}
    times = np.array([c[0] for c in changes], dtype=np.int64)
    bits = _bit_matrix([c[1] for c in changes], width)
    known = bits >= 0
    flips = (bits[1:] != bits[:-1]) & known[1:] & known[:-1]
    result = {}
    for window, (lo, hi) in windows.items():
        inside = (times[1:] >= lo) & (times[1:] < hi)
        toggles = (flips & inside[:, None]).sum(axis=0)
        span = np.clip(np.append(times[1:], hi), lo, hi) - np.clip(times, lo, hi)
        high = ((bits == 1) * span[:, None]).sum(axis=0)
        result[window] = ({label: int(toggles[i]) for i, label in enumerate(labels)},
                          {label: int(high[i]) for i, label in enumerate(labels)})
    return result


def _bit_matrix(values: list, width: int) -> np.ndarray:
    """(changes, width) int8 matrix of bit values, LSB first; -1 where the bit is not 0/1."""
    out = np.empty((len(values), width), dtype=np.int8)
    for row, value in enumerate(values):
        if isinstance(value, int):
            out[row] = [(value >> i) & 1 for i in range(width)] if width > 1 else value
        else:
            text = str(value).rjust(width, "0" if str(value)[:1] in "01" else str(value)[:1])
            out[row] = [1 if c == "1" else 0 if c == "0" else -1 for c in reversed(text[-width:])]
    return out


def _tick_ns(timescale: str) -> float:
    match = re.fullmatch(r"\s*(\d+)\s*(s|ms|us|ns|ps|fs)\s*", timescale)
    if match is None:
        raise ValueError(f"timescale {timescale!r} is not understood")
    return int(match[1]) * _TIME_UNITS[match[2]]


def read_saif(path: Path | str, scope: str, period_ns: float) -> NetActivity:
    """Activity of every net under ``scope`` (instance path, dotted or slashed) in a SAIF file.

    ``TC`` is the toggle count and ``T1`` the time at 1; ``DURATION`` (in ``TIMESCALE`` units)
    divided by the period gives the cycles.
    """
    if not period_ns > 0:
        raise ValueError(f"period_ns must be positive, not {period_ns!r}")
    tree = _saif_tree(Path(path).read_text())
    header = {node[0]: node[1:] for node in tree[1:] if isinstance(node, list) and node}
    tick_ns = 1.0
    if "TIMESCALE" in header:
        tick_ns = _tick_ns("".join(header["TIMESCALE"]))
    if "DURATION" not in header:
        raise ValueError(f"SAIF file {path} has no DURATION")
    duration_ns = float(header["DURATION"][0]) * tick_ns
    wanted = [p for p in re.split(r"[./]", scope) if p]
    instance = _saif_instance(tree, wanted)
    if instance is None:
        raise ValueError(f"scope {scope!r} is not an INSTANCE path in {path}")
    toggles: dict[str, int] = {}
    time_high: dict[str, float] = {}
    _saif_nets(instance, [], toggles, time_high, tick_ns)
    return NetActivity(max(1, round(duration_ns / period_ns)), float(period_ns), toggles,
                       time_high)


def _saif_tree(text: str) -> list:
    stack: list[list] = [[]]
    for token in _SAIF_TOKEN.findall(text):
        if token == "(":
            stack.append([])
        elif token == ")":
            if len(stack) < 2:
                raise ValueError("SAIF file has an unmatched ')'")
            node = stack.pop()
            stack[-1].append(node)
        else:
            stack[-1].append(token.strip('"'))
    if len(stack) != 1 or not stack[0]:
        raise ValueError("SAIF file has unbalanced parentheses")
    return stack[0][0]


def _saif_instance(node: list, wanted: list[str]) -> list | None:
    """The INSTANCE group at path ``wanted`` (names from the top instance down)."""
    if not wanted:
        return node
    for child in node[1:]:
        if (isinstance(child, list) and len(child) > 1 and child[0] == "INSTANCE"
                and _unescape(child[1]) == wanted[0]):
            return _saif_instance(child, wanted[1:])
    return None


def _saif_nets(node: list, prefix: list[str], toggles: dict, time_high: dict,
               tick_ns: float) -> None:
    for child in node[1:]:
        if not isinstance(child, list) or not child:
            continue
        if child[0] in ("NET", "PORT"):
            for net in child[1:]:
                if isinstance(net, list) and net and isinstance(net[0], str):
                    values = {f[0]: float(f[1]) for f in net[1:] if isinstance(f, list) and len(f) > 1}
                    label = ".".join(prefix + [_unescape(net[0])])
                    toggles[label] = int(values.get("TC", 0))
                    time_high[label] = values.get("T1", 0.0) * tick_ns
        elif child[0] == "INSTANCE" and len(child) > 1:
            _saif_nets(child, prefix + [_unescape(child[1])], toggles, time_high, tick_ns)


def _unescape(name: str) -> str:
    return re.sub(r"\\(.)", r"\1", name)
