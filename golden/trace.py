"""Cycle-by-cycle port values: what a testbench drives into a design and what it must see.

Every qmac design has registered outputs and one clock. A trace of T cycles holds, for each cycle
t, the input values applied during cycle t and the output values expected during cycle t, i.e.
after t rising edges have consumed inputs 0..t-1 (the edge at the end of cycle t consumes input t).
A design of latency L therefore shows the effect of input t at outputs[t + L]. Testbenches (cocotb,
the gate-level Verilog bench) drive inputs and sample outputs on the falling edge, which realises
exactly this convention, and compare only where ``care`` is set.

Vector ports hold ``lanes`` elements of ``lane_bits`` each, lane 0 in the least significant bits
(the packing Amaranth uses for ``data.ArrayLayout``). Values are kept per lane as int64, signed
ports as signed integers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Port", "PortTrace", "input_arrays", "accumulator_trace"]


@dataclass(frozen=True)
class Port:
    """One port of a design: direction, element width, number of lanes, signedness."""

    name: str
    direction: str
    lane_bits: int
    lanes: int = 1
    signed: bool = False

    @property
    def bits(self) -> int:
        return self.lane_bits * self.lanes

    def to_json(self) -> dict:
        return {"name": self.name, "dir": self.direction, "bits": self.bits,
                "lane_bits": self.lane_bits, "lanes": self.lanes, "signed": self.signed}

    def pack(self, values: np.ndarray) -> list[int]:
        """Flat unsigned words (one per cycle) of per-lane ``values`` shaped (cycles, lanes)."""
        mask = (1 << self.lane_bits) - 1
        words = []
        for row in np.asarray(values, dtype=np.int64).reshape(-1, self.lanes).tolist():
            word = 0
            for lane, value in enumerate(row):
                word |= (value & mask) << (lane * self.lane_bits)
            words.append(word)
        return words

    def unpack(self, words: list[int]) -> np.ndarray:
        """Per-lane int64 values, shaped (cycles, lanes), of flat unsigned words."""
        mask = (1 << self.lane_bits) - 1
        half = 1 << (self.lane_bits - 1)
        out = np.empty((len(words), self.lanes), dtype=np.int64)
        for t, word in enumerate(words):
            for lane in range(self.lanes):
                value = (word >> (lane * self.lane_bits)) & mask
                out[t, lane] = value - (mask + 1) if self.signed and value >= half else value
        return out


def input_arrays(ports: tuple[Port, ...], inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each input port's values as int64 shaped (cycles, lanes).

    Arrays that are not integer (or bool) are refused: casting 1.7 to a code would silently
    simulate 1.
    """
    arrays = {}
    for port in ports:
        if port.direction != "in":
            continue
        values = np.asarray(inputs[port.name])
        if values.dtype.kind not in "iub":
            raise ValueError(f"{port.name} must be an integer array, not dtype {values.dtype}")
        arrays[port.name] = values.astype(np.int64).reshape(-1, port.lanes)
    return arrays


@dataclass(frozen=True)
class PortTrace:
    """Stimulus and expected response of one design over ``cycles`` clock cycles.

    ``inputs`` and ``expected`` map port names to int64 arrays shaped (cycles, lanes); ``care``
    maps each output to a (cycles,) bool mask of the cycles whose value is defined. ``macs`` is
    the number of useful multiply-accumulates the stimulus performs (for energy per MAC).
    """

    ports: tuple[Port, ...]
    inputs: dict[str, np.ndarray]
    expected: dict[str, np.ndarray]
    care: dict[str, np.ndarray]
    macs: int

    def __post_init__(self) -> None:
        cycles = {a.shape[0] for a in (*self.inputs.values(), *self.expected.values())}
        if len(cycles) > 1:
            raise ValueError(f"trace arrays must share one cycle count, not {sorted(cycles)}")
        names = {p.name: p for p in self.ports}
        for group, direction in ((self.inputs, "in"), (self.expected, "out")):
            for name, values in group.items():
                port = names.get(name)
                if port is None or port.direction != direction:
                    raise ValueError(f"trace names {name!r}, which is not an {direction}put port")
                if values.ndim != 2 or values.shape[1] != port.lanes:
                    raise ValueError(
                        f"trace of port {name!r} must be shaped (cycles, {port.lanes}), "
                        f"not {values.shape}")

    @property
    def cycles(self) -> int:
        return next(iter(self.inputs.values())).shape[0]

    def port(self, name: str) -> Port:
        return next(p for p in self.ports if p.name == name)

    @property
    def input_ports(self) -> list[Port]:
        return [p for p in self.ports if p.direction == "in"]

    @property
    def output_ports(self) -> list[Port]:
        return [p for p in self.ports if p.direction == "out"]

    def first_mismatch(self, observed: dict[str, np.ndarray]) -> str | None:
        """Describe the earliest cycle whose observed outputs differ where they matter, or None.

        The message names the cycle, the port and lane, the inputs of that cycle and of the
        cycles leading to it, the expected and the observed value.
        """
        worst: tuple[int, str, int] | None = None
        for name, expected in self.expected.items():
            got = np.asarray(observed[name]).reshape(expected.shape)
            bad = (got != expected) & self.care[name][:, None]
            if bad.any():
                t, lane = (int(i) for i in np.argwhere(bad)[0])
                if worst is None or t < worst[0]:
                    worst = (t, name, lane)
        if worst is None:
            return None
        t, name, lane = worst
        got = np.asarray(observed[name]).reshape(self.expected[name].shape)
        lanes = f"[{lane}]" if self.port(name).lanes > 1 else ""
        history = "; ".join(
            f"cycle {c}: " + ", ".join(f"{k}={_fmt(v[c])}" for k, v in self.inputs.items())
            for c in range(max(0, t - 3), t + 1))
        return (f"first mismatch at cycle {t} on {name}{lanes}: expected "
                f"{int(self.expected[name][t, lane])}, got {int(got[t, lane])} "
                f"(all lanes expected {_fmt(self.expected[name][t])}, got {_fmt(got[t])}); "
                f"inputs {history}")


def _fmt(row: np.ndarray) -> str:
    values = np.asarray(row).tolist()
    return str(values[0]) if len(values) == 1 else str(values)


def accumulator_trace(config: Any, inputs: dict[str, np.ndarray],
                      macs: int | None = None) -> PortTrace:
    """The expected response of a MAC-like design (``config.run`` gives ``acc`` and
    ``acc_valid``): ``acc`` matters wherever ``acc_valid`` is set; ``macs`` defaults to the
    cycles with ``valid``."""
    inputs = input_arrays(config.ports, inputs)
    expected = config.run(inputs)
    care = {"acc": expected["acc_valid"][:, 0] == 1,
            "acc_valid": np.ones(len(expected["acc"]), dtype=bool)}
    macs = int(inputs["valid"].sum()) if macs is None else macs
    return PortTrace(config.ports, inputs, expected, care, macs)
