"""A stand-in for ``flow.evaluate.evaluate`` that runs no tool: for cache and concurrency tests.

``fake_evaluate`` behaves like a flow step that reads back what it wrote in its working folder:
it appends one line to ``<out_dir>/<design>/toggles.txt``, waits, and reports as power the
number of lines it finds. Alone in its folder it always finds 1; a second run working in the
same folder makes it find 2, the "wrong power" of runs that share a job folder.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

SYNC_ENV = "QMAC_FAKE_SYNC"
"""Folder where concurrent fake evaluations wait for each other (so that they overlap)."""


def fake_result(config: Any, *, clock_ns: float = 10.0,
                workloads: tuple[str, ...] = ("synthetic",),
                seed: int = 0, total_mw: float = 1.0) -> dict[str, Any]:
    """A ``qmac.result/1`` document for ``config`` whose power is ``total_mw``."""
    power = {"internal_mw": total_mw / 2, "switching_mw": total_mw / 2, "leakage_mw": 0.0,
             "total_mw": total_mw}
    return {
        "schema": "qmac.result/1",
        "design": {"name": config.name, "kind": config.kind, "params": config.params(),
                   "macs_per_cycle": config.macs_per_cycle},
        "library": {"name": "fake", "liberty": "fake.lib", "cells_verilog": "fake.v"},
        "clock_ns": clock_ns, "date": "2026-01-01T00:00:00+00:00", "seed": seed,
        "tools": {"qmac": "0", "yosys": "0", "sta": "0", "iverilog": "0", "amaranth": "0"},
        "area": {"total_um2": 100.0, "sequential_um2": 40.0, "combinational_um2": 60.0,
                 "cell_count": 2, "cells": {"AND2X1": {"count": 2, "area_um2": 100.0}},
                 "pe_um2": None, "pe_count": None, "edge_um2": None},
        "timing": {"critical_path_ns": 2.0, "fmax_mhz": 500.0, "startpoint": "a",
                   "endpoint": "b", "slack_ns": clock_ns - 2.0},
        "power": {
            "vectorless": {"input_activity": 0.1, **power, "energy_per_mac_pj": total_mw},
            "workloads": {w: {"seed": seed, "shape": [1, 1, 1], "cycles": 1, "macs": 1, **power,
                              "energy_per_mac_pj": total_mw * clock_ns,
                              "energy_per_op_pj": total_mw * clock_ns / 2,
                              "engine": "qmac", "opensta": {**power, "energy_per_mac_pj":
                                                            total_mw * clock_ns},
                              "netlist_matches_golden": True} for w in workloads},
        },
        "files": {"verilog": f"{config.name}.v", "netlist": "netlist.v"},
    }


def fake_evaluate(config: Any, *, out_dir: Path, clock_ns: float = 10.0,
                  workloads: tuple[str, ...] = ("synthetic",), seed: int = 0,
                  delay: float = 0.3, **_: Any) -> dict:
    folder = Path(out_dir) / config.name
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "toggles.txt", "a") as handle:
        handle.write("1\n")
    sync = os.environ.get(SYNC_ENV)
    if sync:
        (Path(sync) / str(os.getpid())).touch()
        deadline = time.monotonic() + 2.0
        while len(list(Path(sync).iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    time.sleep(delay)
    lines = (folder / "toggles.txt").read_text().count("\n")
    return fake_result(config, clock_ns=clock_ns, workloads=workloads, seed=seed,
                       total_mw=float(lines))
