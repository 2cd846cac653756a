"""The quick report's sweep on each backend: serial, a local pool of 2, a Dask cluster of 2.

Each backend starts from an empty cache (the real flow, ``flow/specs/quick.toml``); the Dask
workers run with qmac's settings (``flow.executors.WORKER_CONFIG``) and have imported the flow
before the clock starts, as a long-lived cluster's workers have. Printed: wall time of each, the
speed-up of ``--jobs 2`` over serial (target >= 1.7x on 2 cores), and Dask's scheduling overhead
per design point (target < 5 % of the mean point time).

A backend's idle time per point is ``(wall x workers - sum of point times) / points``: it holds
the study's own waits (the arrays wait for their PEs' searches, the last jobs of a phase leave a
worker idle) and the per-job work outside the flow steps, which any backend has. Dask's
scheduling overhead is the idle time it adds to the local pool's on the same study in the same
run. The backends' results must be equal, which is checked too.
"""

from __future__ import annotations

import importlib
import os
import tempfile
import time
from pathlib import Path

from flow import report as rep
from flow.executors import SerialExecutor, local_cluster, open_executor
from flow.sweep import SPECS, load_spec

WORKERS = 2


def _timed(executor, cache: Path) -> tuple[float, list[dict]]:
    (study,) = load_spec(SPECS / "quick.toml").studies
    start = time.perf_counter()
    results = rep.run_study(study, cache_dir=cache, progress=lambda _: None, executor=executor)
    return time.perf_counter() - start, results


def _warm(address: str) -> None:
    """Import the flow in every worker, as a long-lived cluster's workers already have."""
    from distributed import Client

    with Client(address) as client:
        client.run(importlib.import_module, "flow.evaluate")


def _point_seconds(cache: Path) -> list[float]:
    """Each evaluated point's own time (flow steps), from its cache entry."""
    import json
    return [sum(json.loads((entry / "result.json").read_text())["runtime_s"].values())
            for entry in cache.iterdir() if (entry / "result.json").is_file()]


def _comparable(results: list[dict]) -> list:
    return [(r["design"]["name"], r["area"]["total_um2"],
             {w: p["total_mw"] for w, p in r["power"]["workloads"].items()}) for r in results]


def run() -> list[str]:
    build = Path("build").resolve() if Path("build").is_dir() else None
    lines = [f"load average at start {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)"]
    with tempfile.TemporaryDirectory(dir=build) as tmp:
        serial, base = _timed(SerialExecutor(), Path(tmp) / "serial")
        with open_executor(jobs=WORKERS) as pool:
            pooled, results = _timed(pool, Path(tmp) / "pool")
        assert _comparable(results) == _comparable(base), "the pool's results differ from serial"
        with local_cluster(WORKERS) as address, open_executor(scheduler=address) as dask:
            _warm(address)
            dasked, results = _timed(dask, Path(tmp) / "dask")
        assert _comparable(results) == _comparable(base), "Dask's results differ from serial"
        pool_points = _point_seconds(Path(tmp) / "pool")
        points = _point_seconds(Path(tmp) / "dask")
    mean = sum(points) / len(points)
    pool_idle = (pooled * WORKERS - sum(pool_points)) / len(pool_points)
    dask_idle = (dasked * WORKERS - sum(points)) / len(points)
    overhead = dask_idle - pool_idle
    lines += [
        f"quick report, {len(points)} flow runs from an empty cache: serial {serial:.1f} s, "
        f"--jobs {WORKERS} {pooled:.1f} s, Dask LocalCluster({WORKERS}) {dasked:.1f} s",
        f"speed-up of --jobs {WORKERS} over serial: {serial / pooled:.2f}x (target >= 1.7x)",
        f"idle per point: --jobs {WORKERS} {pool_idle:.2f} s, Dask {dask_idle:.2f} s",
        f"Dask scheduling overhead per point: {overhead:.2f} s = {overhead / mean:.1%} of the "
        f"mean point time {mean:.1f} s (target < 5 %)",
    ]
    return lines
