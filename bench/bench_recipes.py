"""Area of every MAC and single PE under every synthesis recipe, and the dINT4 product datapaths.

Each design goes through the whole flow under each recipe of ``flow.recipes`` (STA at 10 ns, the
gate-level golden check, power on the ``minilm`` workload; a process pool over the cores). Printed:
area per recipe with its ratio to the default recipe's, the portfolio winner (smallest area that
meets timing), and the dINT4 datapath candidates against the INT4 design, best against best.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from golden.datapath import DEFAULT_PRODUCT, PRODUCT_DATAPATHS
from golden.mac import MACConfig
from golden.systolic import SystolicConfig
from flow.evaluate import evaluate
from flow.portfolio import Job, portfolio_record, run_jobs
from flow.recipes import DEFAULT_RECIPE, RECIPES

WORKLOAD = "minilm"


def _designs() -> list:
    designs = []
    for make in (MACConfig, lambda w, **kw: SystolicConfig(1, 1, w, **kw)):
        designs += [make(w) for w in ("int8", "int4", "dint4")]
        designs += [make("dint4", product=p) for p in PRODUCT_DATAPATHS if p != DEFAULT_PRODUCT]
    return designs


def run() -> list[str]:
    designs = _designs()
    build = Path("build").resolve() if Path("build").is_dir() else None
    with tempfile.TemporaryDirectory(dir=build) as out:
        jobs = [Job(c, r, Path(out) / r.name) for c in designs for r in RECIPES.values()]
        results = iter(run_jobs(jobs, evaluate, {"workloads": (WORKLOAD,)},
                                progress=lambda _: None))
    records = {c.name: portfolio_record({r: next(results) for r in RECIPES}, c.name)
               for c in designs}
    lines = ["area um2 at 10 ns (x default recipe); area of the PE for 1x1 arrays",
             f"{'design':<52}" + "".join(f"{r:>20}" for r in RECIPES) + "   winner"]
    for name, record in records.items():
        base = record["candidates"][DEFAULT_RECIPE.name]["area_um2"]
        cells = "".join(f"{c['area_um2']:>11,.0f} ({c['area_um2'] / base:4.2f}x)"
                        for c in record["candidates"].values())
        lines.append(f"{name:<52}{cells}   {record['winner']}")
    lines.append(f"dINT4 datapaths vs INT4, each at its winning recipe (energy: {WORKLOAD})")
    for kind in ("mac", "systolic"):
        int4 = next(c for c in designs if c.kind == kind and c.weight.name == "int4")
        ref = records[int4.name]["candidates"][records[int4.name]["winner"]]
        for config in (c for c in designs if c.kind == kind and c.weight.name == "dint4"):
            winner = records[config.name]["winner"]
            best = records[config.name]["candidates"][winner]
            path, energy = best["critical_path_ns"], best["energy_per_mac_pj"][WORKLOAD]
            lines.append(
                f"  {kind:<9}{config.product:<7} area {best['area_um2']:>7,.0f} um2 "
                f"({best['area_um2'] / ref['area_um2']:.3f}x INT4), critical path {path:.2f} ns "
                f"({path / ref['critical_path_ns']:.2f}x), energy {energy:.2f} pJ/MAC "
                f"({energy / ref['energy_per_mac_pj'][WORKLOAD]:.3f}x) [{winner}]")
    return lines
