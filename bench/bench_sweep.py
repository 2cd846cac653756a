"""The quick report's sweep on each backend: serial, a local pool of 2, a Dask cluster of 2.

Each backend starts from an empty cache (the real flow, ``flow/specs/quick.toml``). Printed: wall
time of each, the speed-up of ``--jobs 2`` over serial (target >= 1.7x on 2 cores), and Dask's
scheduling overhead per design point, ``(wall x workers - sum of point times) / points``, as a
share of the mean point time (target < 5 %). The overhead also holds the idle tail of the last
points, so it is an upper bound. The backends' results must be equal, which is checked too.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path

from flow import report as rep
from flow.executors import SerialExecutor, open_executor
from flow.sweep import SPECS, load_spec

WORKERS = 2


def _timed(executor, cache: Path) -> tuple[float, list[dict]]:
    (study,) = load_spec(SPECS / "quick.toml").studies
    start = time.perf_counter()
    results = rep.run_study(study, cache_dir=cache, progress=lambda _: None, executor=executor)
    return time.perf_counter() - start, results


def _point_seconds(cache: Path) -> list[float]:
    """Each evaluated point's own time (flow steps), from its cache entry."""
    import json
    return [sum(json.loads((entry / "result.json").read_text())["runtime_s"].values())
            for entry in cache.iterdir() if (entry / "result.json").is_file()]


def _comparable(results: list[dict]) -> list:
    return [(r["design"]["name"], r["area"]["total_um2"],
             {w: p["total_mw"] for w, p in r["power"]["workloads"].items()}) for r in results]


def run() -> list[str]:
    from distributed import LocalCluster

    build = Path("build").resolve() if Path("build").is_dir() else None
    lines = [f"load average at start {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)"]
    with tempfile.TemporaryDirectory(dir=build) as tmp:
        serial, base = _timed(SerialExecutor(), Path(tmp) / "serial")
        with open_executor(jobs=WORKERS) as pool:
            pooled, results = _timed(pool, Path(tmp) / "pool")
        assert _comparable(results) == _comparable(base), "the pool's results differ from serial"
        with LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=True,
                          dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
                open_executor(scheduler=cluster.scheduler_address) as dask:
            dasked, results = _timed(dask, Path(tmp) / "dask")
        assert _comparable(results) == _comparable(base), "Dask's results differ from serial"
        points = _point_seconds(Path(tmp) / "dask")
    mean = sum(points) / len(points)
    overhead = (dasked * WORKERS - sum(points)) / len(points)
    lines += [
        f"quick report, {len(points)} flow runs from an empty cache: serial {serial:.1f} s, "
        f"--jobs {WORKERS} {pooled:.1f} s, Dask LocalCluster({WORKERS}) {dasked:.1f} s",
        f"speed-up of --jobs {WORKERS} over serial: {serial / pooled:.2f}x (target >= 1.7x)",
        f"Dask overhead per point: {overhead:.2f} s = {overhead / mean:.1%} of the mean point "
        f"time {mean:.1f} s (target < 5 %)",
    ]
    return lines
