"""Verilator with generated cell models against Icarus with the library's own: the same toggles.

Icarus and osu018's Verilog models are the cross-check of the fast path: on the three MACs and a
4 x 4 array, every net bit of the flattened netlist must show the same transition count and the
same time at 1 in both simulators, over the whole run and over the steady-state window (which
exercises the SAIF segment arithmetic of ``flow.gatesim.read_saif_segments``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from golden.mac import MACConfig
from golden.systolic import SystolicConfig
from golden.workloads import make_workload
from hw.export import export
from flow.gatesim import simulate
from flow.synth import synthesize
from flow.tools import DEFAULT_CELLS_VERILOG, DEFAULT_LIBERTY, find_tools

_CASES = [
    (MACConfig("int8"), (3, 32, 2)),
    (MACConfig("int4"), (3, 32, 2)),
    (MACConfig("dint4"), (3, 32, 2)),
    (SystolicConfig(rows=4, cols=4, weight="dint4"), (24, 8, 4)),
]


@pytest.mark.slow
@pytest.mark.parametrize("config, shape", _CASES, ids=[c.name for c, _ in _CASES])
def test_verilator_and_icarus_count_the_same_toggles(config, shape: tuple, build_root: Path):
    job = build_root / "flow_gatesim_verilator" / config.name
    export(config, job)
    netlist = synthesize(job / f"{config.name}.v", config.name, DEFAULT_LIBERTY, job,
                         find_tools().yosys).netlist
    trace = config.gemm_trace(*make_workload("synthetic", *shape, config.weight, seed=4))
    windows = {"steady": config.steady_window(trace.inputs)}
    runs = {sim: simulate(trace, config.name, netlist, job / sim, liberty=DEFAULT_LIBERTY,
                          cells_verilog=DEFAULT_CELLS_VERILOG if sim == "icarus" else None,
                          simulator=sim, windows=windows, bench_dir=job / "bench")
            for sim in ("icarus", "verilator")}
    icarus, verilator = runs["icarus"], runs["verilator"]
    for window in ("run", "steady"):
        want, got = icarus.activities[window], verilator.activities[window]
        assert got.window == want.window
        assert set(got.toggles) == set(want.toggles)
        wrong = {n: (want.toggles[n], got.toggles[n]) for n in want.toggles
                 if want.toggles[n] != got.toggles[n]}
        assert not wrong, f"{window}: {len(wrong)} nets differ (icarus, verilator): " \
                          f"{dict(list(wrong.items())[:5])}"
        assert got.duty == pytest.approx(want.duty, abs=1e-12), window
    assert sum(icarus.activity.toggles.values()) > 20 * trace.cycles
