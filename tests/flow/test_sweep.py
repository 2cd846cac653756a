"""Sweep specs, and the same sweep on every backend: serial, local processes, a Dask cluster.

The flow itself is replaced by ``fake_flow.fake_evaluate`` (it reports as power how many runs
wrote into its job folder, so a shared or reused folder shows up as a wrong power); the real
flow behind ``run_study`` is tested in test_report.py.
"""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

import qmac_cli
from fake_flow import fake_evaluate
from flow import report as rep
from flow.executors import WORKER_CONFIG, SerialExecutor, local_cluster, open_executor
from flow.sweep import SPECS, Sweep, load_spec, parse_spec, run_sweep, sweep_csv

SMALL = {"workloads": ["synthetic"], "recipes": ["default", "booth"],
         "grid": [{"kind": "mac", "weight": ["int8", "dint4"]},
                  {"kind": "systolic", "size": "2x2", "weight": ["int8", "int4"]}]}
"""Four designs, each MAC and PE under two recipes: 8 portfolio jobs and 2 array jobs."""


@pytest.mark.parametrize("spec, quick", [("report.toml", False), ("quick.toml", True)])
def test_default_studies_are_the_shipped_specs_under_the_flow_options(spec: str,
                                                                      quick: bool) -> None:
    (shipped,) = load_spec(SPECS / spec).studies
    study = rep.make_study(quick=quick, clock_ns=5.0, workloads=("uniform",), seed=3)
    assert study.configs == shipped.configs and study.recipes == shipped.recipes
    assert (study.clock_ns, study.workloads, study.seed) == (5.0, ("uniform",), 3)
    names = {c.name for c in shipped.configs}
    assert {c.name for c in rep.make_study("mac,systolic", quick=quick).configs} <= names, "the paper's MACs and arrays must stay in the default study"


def test_grid_is_every_combination_and_clock_splits_studies() -> None:
    sweep = parse_spec({"clock_ns": [5.0, 10.0], "workloads": "uniform",
                        "grid": [{"weight": ["int4", "dint4"], "overflow": ["wrap", "saturate"],
                                  "pipeline": [False, True]}],
                        "point": [{"kind": "systolic", "size": "2x4", "weight": "int8",
                                   "clock_ns": 5.0}]})
    assert [s.clock_ns for s in sweep.studies] == [5.0, 10.0]
    assert sweep.points == 2 * 8 + 1
    macs = [c for c in sweep.studies[1].configs]
    assert {(c.weight.name, c.overflow.value, c.pipeline) for c in macs} == {
        (w, o, p) for w in ("int4", "dint4") for o in ("wrap", "saturate") for p in (False, True)}
    array = sweep.studies[0].configs[-1]
    assert (array.kind, array.rows, array.cols) == ("systolic", 2, 4)
    assert sweep.studies[0].workloads == ("uniform",)


@pytest.mark.parametrize("spec, message", [
    ({"grid": [{"weight": "int8"}], "colour": 1}, r"spec: key 'colour' is not a spec key; "),
    ({"grid": [{"wieght": "int8"}]}, r"spec: grid 1: key 'wieght' is not an axis; allowed: kind, "),
    ({"grid": [{"weight": "uint4"}]}, r"spec: grid 1: weight: format must be one of .*, not .uint4.$"),
    ({"grid": [{"kind": "fpga", "weight": "int8"}]},
     r"spec: grid 1: kind must be one of \['mac', 'systolic', 'block_mac'\], not 'fpga'$"),
    ({"point": [{"weight": ["int8", "int4"]}]},
     r"spec: point 1: weight of a \[\[point\]\] must be one value, not the list "),
    ({"grid": [{"weight": "int8", "clock_ns": float("inf")}]}, r"spec: grid 1: clock_ns must be "),
    ({"grid": [{"weight": "int8", "workloads": ["llm"]}]},
     r"spec: grid 1: workloads must be names of \[.*\], not 'llm'$"),
    ({"grid": [{"kind": "systolic", "weight": "int8", "pipeline": True}]},
     r"spec: grid 1: pipeline applies to the mac design only"),
    ({"grid": [{"kind": "systolic", "weight": "int8", "size": "0x2"}]},
     r"spec: grid 1: sizes must be a comma list"),
    ({"grid": [{"weight": "int8", "overflow": []}]}, r"spec: grid 1: overflow must list at least"),
    ({"recipes": ["fast"], "grid": [{"weight": "int8"}]}, r"recipe must be one of \["),
    ({}, r"spec: a spec needs at least one \[\[grid\]\] or \[\[point\]\] table$"),
], ids=["top-key", "axis", "weight", "kind", "point-list", "clock", "workload", "pipeline",
        "size", "empty-axis", "recipe", "empty"])
def test_bad_spec_is_one_line_naming_the_key(spec: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message) as err:
        parse_spec(spec)
    assert "\n" not in str(err.value)


def test_cli_bad_spec_exits_2_with_one_line(tmp_path: Path, capsys) -> None:
    spec = tmp_path / "bad.toml"
    spec.write_text("[[grid]]\nweight = 'int8'\nclock_ns = -1\n")
    assert qmac_cli.main(["sweep", str(spec), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert re.fullmatch(rf"qmac sweep: error: {re.escape(str(spec))}: grid 1: clock_ns must be "
                        r"[^\n]*\n", err), err
    assert not (tmp_path / "out").exists()
    spec.write_text("[[grid]\n")
    assert qmac_cli.main(["sweep", str(spec)]) == 2
    assert "is not valid TOML" in capsys.readouterr().err
    assert qmac_cli.main(["sweep", str(tmp_path / "missing.toml")]) in (1, 2)
    assert "missing.toml" in capsys.readouterr().err


def _results(sweep: Sweep, cache: Path, executor, evaluate=fake_evaluate) -> str:
    """The report data of the sweep's one study, as the bytes results.json would hold."""
    (study,) = sweep.studies
    results = rep.run_study(study, cache_dir=cache, progress=lambda line: None,
                            evaluate=evaluate, executor=executor)
    summary = rep.summarize(study, results, date="fixed")
    return json.dumps(summary, indent=1)


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """The scheduler address of a 2-worker local cluster run with qmac's worker settings."""
    with local_cluster(2) as address:
        yield address


def test_the_workers_run_with_qmac_settings(cluster: str) -> None:
    """Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536 in every worker, which slowed each flow job
    by 40-60 %; qmac's settings unset it, both in its own clusters and through DASK_CONFIG."""
    from distributed import Client

    with Client(cluster) as client:
        seen = client.run(lambda: (
            os.environ.get("MALLOC_TRIM_THRESHOLD_"),
            __import__("dask").config.get("distributed.worker.profile.enabled")))
    assert set(seen.values()) == {(None, False)}
    script = ("import dask, distributed; environ = dask.config.get("
              "'distributed.nanny.pre-spawn-environ'); "
              "print(environ['MALLOC_TRIM_THRESHOLD_'], environ['OMP_NUM_THREADS'])")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "DASK_CONFIG": str(WORKER_CONFIG)}, check=True)
    assert done.stdout.split() == ["None", "1"]  # None: the nanny leaves the variable unset


def test_the_default_report_spec_is_identical_on_every_backend(tmp_path: Path, cluster) -> None:
    """The shipped report spec itself (every design, recipe search and array phase), with the
    tool-free stand-in for the flow: serial, a process pool and Dask give the same bytes."""
    sweep = load_spec(SPECS / "report.toml")
    instant = functools.partial(fake_evaluate, delay=0.0)
    serial = _results(sweep, tmp_path / "serial", SerialExecutor(), instant)
    with open_executor(jobs=2) as pool:
        assert _results(sweep, tmp_path / "pool", pool, instant) == serial
    with open_executor(scheduler=cluster) as dask:
        assert _results(sweep, tmp_path / "dask", dask, instant) == serial
    assert len(json.loads(serial)["designs"]) == len(sweep.studies[0].configs)


def test_every_backend_gives_byte_identical_results(tmp_path: Path, cluster) -> None:
    sweep = parse_spec(SMALL)
    serial = _results(sweep, tmp_path / "serial", SerialExecutor())
    with open_executor(jobs=2) as pool:
        assert _results(sweep, tmp_path / "pool", pool) == serial
    with open_executor(scheduler=cluster) as dask:
        assert _results(sweep, tmp_path / "dask", dask) == serial
    assert json.loads(serial)["designs"][0]["result"]["power"]["workloads"]["synthetic"][
        "total_mw"] == 1.0


def test_killed_worker_loses_nothing(tmp_path: Path, cluster) -> None:
    """A worker killed mid-job: Dask reruns its job elsewhere, in an emptied job folder, so the
    sweep completes with the right results (a reused folder would give 2 mW)."""
    from distributed import Client

    sweep = parse_spec(SMALL)
    slow = functools.partial(fake_evaluate, delay=1.5)
    with Client(cluster) as client:
        pids = list(client.run(os.getpid).values())

        def kill_one_worker_soon() -> None:
            time.sleep(0.8)  # the first jobs are running by then
            os.kill(pids[0], signal.SIGKILL)

        import threading
        killer = threading.Thread(target=kill_one_worker_soon)
        killer.start()
        with open_executor(scheduler=cluster) as dask:
            data = json.loads(_results(sweep, tmp_path / "cache", dask, evaluate=slow))
        killer.join()
        assert pids[0] not in client.run(os.getpid).values(), "no worker was killed"
    powers = {d["name"]: d["result"]["power"]["workloads"]["synthetic"]["total_mw"]
              for d in data["designs"]}
    assert len(powers) == 4 and set(powers.values()) == {1.0}, powers


def test_rerun_computes_only_missing_points(tmp_path: Path) -> None:
    sweep = parse_spec(SMALL)
    called: list[str] = []

    def counting(config, **kwargs):
        called.append(config.name)
        return fake_evaluate(config, delay=0.0, **kwargs)

    _results(sweep, tmp_path, SerialExecutor(), counting)
    assert len(called) == 10
    entries = sorted(p for p in tmp_path.iterdir() if p.is_dir() and not p.name.startswith("."))
    for entry in entries[:3]:
        (entry / "result.json").unlink()
    called.clear()
    _results(sweep, tmp_path, SerialExecutor(), counting)
    assert len(called) == 3


def test_multi_study_sweep_writes_a_report_per_study_and_one_table(tmp_path: Path,
                                                                   monkeypatch) -> None:
    import flow.evaluate
    import models.accuracy
    monkeypatch.setattr(flow.evaluate, "evaluate", functools.partial(fake_evaluate, delay=0.0))
    monkeypatch.setattr(models.accuracy, "cached_accuracy_study", lambda *a, **k: None)
    # MACs only: the stand-in's results have no PE areas for the array plots.
    sweep = parse_spec({**SMALL, "grid": SMALL["grid"][:1], "clock_ns": [5.0, 10.0]})
    lines: list[str] = []
    summaries = run_sweep(sweep, tmp_path / "out", cache_dir=tmp_path / "cache",
                          executor=SerialExecutor(), progress=lines.append)
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        ".qmac-report", "pareto.png", "results.csv", "study-1", "study-2"]
    for index, summary in enumerate(summaries, 1):
        saved = json.loads((out / f"study-{index}" / "results.json").read_text())
        assert saved["clock_ns"] == summary["clock_ns"]
    table = (out / "results.csv").read_text()
    assert table == sweep_csv(summaries)
    assert table.count("\n") == 1 + 2 * 2
    assert any(re.search(r"done .*\(\d+/\d+ jobs, \d+ s, ETA \d+ s\)", line) for line in lines)


def test_jobs_choose_the_backend() -> None:
    from concurrent.futures import ProcessPoolExecutor
    with open_executor(jobs=1) as one:
        assert isinstance(one, SerialExecutor)
    with open_executor(jobs=3) as pool:
        assert isinstance(pool, ProcessPoolExecutor) and pool._max_workers == 3
    with pytest.raises(ValueError, match=r"^jobs must be a positive integer.*, not 0$"):
        with open_executor(jobs=0):
            pass
