"""Generic cocotb driver, monitor and scoreboard for any qmac design and ``PortTrace``.

The driver realises the trace's cycle convention: after a synchronous reset it drives
``inputs[t]`` just after the falling edge of cycle t and samples every output at that same
falling edge *before* driving, i.e. after t rising edges consumed inputs 0..t-1. It knows nothing
about the design beyond the trace's port list, so MACs and arrays share it.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge

from golden.trace import PortTrace

__all__ = ["CLOCK_NS", "RESET_CYCLES", "drive_trace", "check_trace", "check_every_cycle"]

CLOCK_NS = 10
RESET_CYCLES = 2
STATS_ENV = "QMAC_STATS"
"""If set, ``drive_trace`` appends one JSON line (label, cycles, seconds) to this file."""


async def drive_trace(dut: Any, trace: PortTrace, label: str = "trace") -> dict[str, np.ndarray]:
    """Reset ``dut``, run ``trace`` through it and return the observed outputs per port.

    Observed arrays have the shape of ``trace.expected``; cycles the trace does not care about
    read 0. An output holding X or Z where a value is expected raises AssertionError naming
    the cycle and port.
    """
    clk = dut.clk
    clock = Clock(clk, CLOCK_NS, unit="ns")
    clock.start()
    inputs = [(getattr(dut, p.name), p.pack(trace.inputs[p.name])) for p in trace.input_ports]
    outputs = [(p, getattr(dut, p.name), trace.care[p.name].tolist(), [])
               for p in trace.output_ports]
    for handle, _ in inputs:
        handle.value = 0
    dut.rst.value = 1
    falling = FallingEdge(clk)
    for _ in range(RESET_CYCLES + 1):
        await falling
    dut.rst.value = 0

    # Reads and writes through the simulator interface dominate the cost of a cycle: outputs
    # are read only where the trace cares, inputs written only when their value changes.
    driven = [0] * len(inputs)
    start = time.perf_counter()
    for t in range(trace.cycles):
        if t:
            await falling
        for port, handle, care, words in outputs:
            if not care[t]:
                words.append(0)
                continue
            try:
                words.append(int(handle.value))
            except ValueError:
                raise AssertionError(
                    f"cycle {t}: output {port.name} is {handle.value} (X/Z) where a value "
                    f"is expected") from None
        for i, (handle, words) in enumerate(inputs):
            if words[t] != driven[i]:
                handle.value = driven[i] = words[t]
    seconds = time.perf_counter() - start
    clock.stop()

    stats_file = os.environ.get(STATS_ENV)
    if stats_file:
        with open(stats_file, "a") as handle:
            handle.write(json.dumps({"label": label, "cycles": trace.cycles,
                                     "seconds": round(seconds, 4)}) + "\n")
    return {port.name: port.unpack(words) for port, _, _, words in outputs}


def check_trace(trace: PortTrace, observed: dict[str, np.ndarray]) -> None:
    """Scoreboard: raise AssertionError carrying ``first_mismatch`` if any cared output differs."""
    mismatch = trace.first_mismatch(observed)
    if mismatch is not None:
        raise AssertionError(mismatch)


async def check_every_cycle(dut: Any, config: Any, inputs: dict[str, np.ndarray],
                            label: str) -> dict[str, np.ndarray]:
    """Drive ``inputs`` and compare every output of ``config.trace(inputs)`` in every cycle.

    For designs whose outputs are registers with a defined value from reset on (the MACs): the
    accumulator is checked while idle and after a bare clear too, not only where the trace
    cares.
    """
    golden = config.trace(inputs)
    every_cycle = {name: np.ones(golden.cycles, dtype=bool) for name in golden.care}
    trace = PortTrace(golden.ports, golden.inputs, golden.expected, every_cycle, golden.macs)
    observed = await drive_trace(dut, trace, label)
    check_trace(trace, observed)
    return observed
