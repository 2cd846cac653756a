"""The report's result cache under damage and under concurrent runs (two real processes).

``fake_flow.fake_evaluate`` stands in for the flow: it reports as power how many runs wrote into
its working folder, so a shared job folder shows up as a wrong power.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fake_flow import SYNC_ENV, fake_evaluate
from flow import report as rep
from flow.cache import check_result

SUPPORT = Path(__file__).resolve().parents[1] / "support"
STUDY = rep.make_study("mac,int8", workloads=("synthetic",), recipes=("default",))
"""One design under one recipe: one evaluation, one cache entry."""


def _run(cache_dir: Path) -> tuple[list[dict], list[str], list[str]]:
    """Results, progress lines and the designs ``evaluate`` was called on."""
    lines: list[str] = []
    called: list[str] = []

    def counting(config, **kwargs):
        called.append(config.name)
        return fake_evaluate(config, **kwargs)

    results = rep.run_study(STUDY, cache_dir=cache_dir, progress=lines.append, evaluate=counting)
    return results, lines, called


def _entry(cache_dir: Path) -> Path:
    (entry,) = [p for p in cache_dir.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return entry


def test_entry_is_published_complete_from_a_private_job(tmp_path: Path) -> None:
    results, _, called = _run(tmp_path)
    assert called == [STUDY.configs[0].name]
    entry = _entry(tmp_path)
    stored = {k: v for k, v in results[0].items() if k != "portfolio"}  # the study's, not cached
    assert json.loads((entry / "result.json").read_text()) == stored
    assert (entry / STUDY.configs[0].name / "toggles.txt").read_text() == "1\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "job folders left"
    assert _run(tmp_path)[2] == [], "the entry was not reused"


@pytest.mark.parametrize("damage, reason", [
    (lambda text: text[:len(text) // 2], r"(Expecting|Unterminated|Invalid).* line \d+ column \d+"),
    (lambda text: "{}", r"/: The object is missing required properties \['schema', "),
    (lambda text: text.replace('"total_mw": 1.0', '"total_mw": NaN', 1), r"non-finite number NaN"),
    (lambda text: text.replace('"total_mw": 1.0', '"total_mw": "1"', 1),
     r"/power/\w+(/synthetic)?/total_mw: The instance must be of type \"number\""),
    (None, r"No such file or directory"),
], ids=["truncated", "empty-object", "nan", "wrong-type", "missing"])
def test_damaged_entry_is_named_and_recomputed(tmp_path: Path, damage, reason: str) -> None:
    """Before: a truncated result.json raised a raw JSONDecodeError, ``{}`` a KeyError."""
    _run(tmp_path)
    path = _entry(tmp_path) / "result.json"
    if damage is None:
        path.unlink()
    else:
        path.write_text(damage(path.read_text()))
    results, lines, called = _run(tmp_path)
    assert called == [STUDY.configs[0].name]
    bad = [line for line in lines if line.startswith("bad ")]
    assert len(bad) == 1 and bad[0].startswith(f"bad      cache entry {path}: ")
    assert bad[0].endswith("; recomputing it")
    assert re.search(reason, bad[0]), bad[0]
    check_result(results[0])
    assert _run(tmp_path)[2] == [], "the recomputed entry was not stored"


_CONCURRENT = """
import json, sys
from pathlib import Path
import flow.evaluate
from fake_flow import fake_evaluate
flow.evaluate.evaluate = fake_evaluate
import models.accuracy
models.accuracy.cached_accuracy_study = lambda *args, **kwargs: None  # not under test here
from flow import report as rep
study = rep.make_study("mac,int8", workloads=("synthetic",), recipes=("default",))
summary = rep.report(study, Path(sys.argv[1]), cache_dir=Path(sys.argv[2]), progress=print)
print("RESULTS " + json.dumps([d["result"] for d in summary["designs"]], sort_keys=True))
"""


def test_two_concurrent_identical_runs_agree_and_are_right(tmp_path: Path) -> None:
    """Two processes share -o and the cache. Before: they worked in one job folder and reported
    wrong power (here: 2 mW instead of 1) or failed."""
    out, cache, sync = tmp_path / "report", tmp_path / "cache", tmp_path / "sync"
    sync.mkdir()
    env = {**os.environ, SYNC_ENV: str(sync),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(SUPPORT), os.environ.get("PYTHONPATH")]))}
    procs = [subprocess.Popen([sys.executable, "-c", _CONCURRENT, str(out), str(cache)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [proc.communicate(timeout=300) for proc in procs]
    for proc, (stdout, stderr) in zip(procs, outputs):
        assert proc.returncode == 0, stderr
    runs = [json.loads(stdout.split("RESULTS ", 1)[1]) for stdout, _ in outputs]
    assert runs[0] == runs[1]
    assert runs[0][0]["power"]["workloads"]["synthetic"]["total_mw"] == 1.0
    printed = "".join(stdout for stdout, _ in outputs)
    assert printed.count("] evaluate ") == 1, printed
    saved = json.loads((out / "results.json").read_text())
    assert [d["result"] for d in saved["designs"]] == runs[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "report", "sync"]
