"""cocotb module for ``bench_sim``: the bare cost of waiting for ``QMAC_BENCH_CYCLES`` falling edges.

This is the floor any cocotb driver pays per cycle; ``bench_sim`` compares the real driver to it.
"""

from __future__ import annotations

import json
import os
import time

import cocotb
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import FallingEdge

from sim.driver import CLOCK_NS, STATS_ENV


@cocotb.test()
async def bare_clock(dut: object) -> None:
    """Count falling edges; the simulated time must equal cycles x clock period."""
    cycles = int(os.environ["QMAC_BENCH_CYCLES"])
    clock = Clock(dut.clk, CLOCK_NS, unit="ns")
    clock.start()
    falling = FallingEdge(dut.clk)
    await falling
    begin = get_sim_time("ns")
    start = time.perf_counter()
    for _ in range(cycles):
        await falling
    seconds = time.perf_counter() - start
    clock.stop()
    assert get_sim_time("ns") - begin == cycles * CLOCK_NS
    with open(os.environ[STATS_ENV], "a") as handle:
        handle.write(json.dumps({"label": "bare", "cycles": cycles,
                                 "seconds": round(seconds, 4)}) + "\n")
