"""``qmac sweep`` as a process, with the stand-in flow (tests/support/fake_flow.py): Ctrl-C of a
process-pool sweep, and two sweeps sharing one cache at the same time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fake_flow import SYNC_ENV
from flow.cache import ResultCache

# Slow path (10-12 s each at load 5, 25-35 s at load 15, on 2 cores): every qmac process starts Python, imports the
# flow and probes the tool versions of the cache key; only whole processes show what these pin.
pytestmark = pytest.mark.slow
SUPPORT = Path(__file__).resolve().parent.parent / "support"
# qmac with the fake flow in place of the tools; DELAY seconds per job.
_DRIVER = """
import functools, os, sys
import flow.evaluate, models.accuracy
from fake_flow import fake_evaluate
flow.evaluate.evaluate = functools.partial(fake_evaluate, delay=float(os.environ["DELAY"]))
models.accuracy.cached_accuracy_study = lambda *args, **kwargs: None  # not under test here
import flow.plots
flow.plots.write_plots = lambda summary, folder: {}  # tested in test_report.py; seconds each
import qmac_cli
sys.exit(qmac_cli.main(sys.argv[1:]))
"""
_SPEC = """
workloads = ["synthetic"]
recipes = ["default"]
[[grid]]
kind = "mac"
weight = [{weights}]
pipeline = [false, true]
"""


def _env(delay: float, **extra: str) -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(SUPPORT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "DELAY": str(delay), **extra}


def _sweep(tmp_path: Path, out: str, cache: Path, *extra: str) -> list[str]:
    return [sys.executable, "-c", _DRIVER, "sweep", str(tmp_path / "spec.toml"),
            "-o", str(tmp_path / out), "--cache", str(cache), *extra]


def _entries(cache: Path) -> dict[str, dict]:
    """Every published entry, read and schema-checked (a damaged one raises)."""
    store = ResultCache(cache)
    return {p.name: store.get(p.name) for p in cache.iterdir()
            if p.is_dir() and not p.name.startswith(".")}


def test_ctrl_c_of_a_process_pool_sweep_keeps_what_finished(tmp_path: Path) -> None:
    """SIGINT to the process group (a terminal's Ctrl-C) once the first point is stored: exit
    130, no process of the group left, every entry complete, and a rerun computes only the
    points the interrupted run had not stored."""
    (tmp_path / "spec.toml").write_text(_SPEC.format(weights='"int8", "int4", "dint4"'))
    cache = tmp_path / "cache"
    proc = subprocess.Popen(_sweep(tmp_path, "out", cache, "--jobs", "2"), env=_env(1.5),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if " done " in line:
            break
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, "".join(lines) + stdout + stderr
    assert stderr.strip().endswith("qmac sweep: interrupted"), stderr
    time.sleep(0.5)
    try:
        os.killpg(proc.pid, 0)
        raise AssertionError(f"processes of the interrupted sweep's group {proc.pid} survive")
    except ProcessLookupError:
        pass
    stored = _entries(cache)
    assert 1 <= len(stored) < 6
    rerun = subprocess.run(_sweep(tmp_path, "out", cache, "--jobs", "2"), env=_env(0.1),
                           capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.count(" done ") == 6 - len(stored), rerun.stdout
    assert len(_entries(cache)) == 6


def test_two_sweep_processes_sharing_a_cache_agree_and_are_right(tmp_path: Path) -> None:
    """Both start together (the fake flow's sync folder makes their jobs overlap): each point is
    evaluated once, and both report 1 mW, the power of a job alone in its folder."""
    (tmp_path / "spec.toml").write_text(_SPEC.format(weights='"int8"'))
    cache, sync = tmp_path / "cache", tmp_path / "sync"
    sync.mkdir()
    procs = [subprocess.Popen(_sweep(tmp_path, out, cache, "--jobs", "1"),
                              env=_env(0.3, **{SYNC_ENV: str(sync)}), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for out in ("a", "b")]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    for proc, (stdout, stderr) in zip(procs, outputs):
        assert proc.returncode == 0, stdout + stderr
    assert sum(stdout.count(" done ") for stdout, _ in outputs) == 2
    runs = [json.loads((tmp_path / out / "results.json").read_text()) for out in ("a", "b")]
    assert [d["result"] for d in runs[0]["designs"]] == [d["result"] for d in runs[1]["designs"]]
    assert {d["result"]["power"]["workloads"]["synthetic"]["total_mw"]
            for d in runs[0]["designs"]} == {1.0}
    assert len(_entries(cache)) == 2
