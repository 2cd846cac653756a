"""Portfolio search: a design synthesised under every recipe, the best one kept, the spread kept.

Every candidate is a full ``flow.evaluate`` run (timing at the study clock with OpenSTA, the
gate-level golden check, power), so a recipe whose netlist is wrong fails the search instead of
winning it. The winner is the candidate with the **smallest area among those that meet timing**
(slack >= 0 at the study clock): the study compares formats at one clock, so a recipe that is
faster than needed earns nothing, and area is what the comparison is about. Ties go to the earlier
recipe in the portfolio's order; when no recipe meets timing, the one with the shortest critical
path wins (and the record says so).

Arrays are not searched: their PEs are the same hardware as a single PE of the same type, so they
reuse the winner of that PE's search (``pe_config``), and their hierarchy keeps the PE mapping.
"""

from __future__ import annotations

import dataclasses
import shutil
import statistics
import time
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from flow.executors import open_executor, runs_in_process
from flow.recipes import Recipe

__all__ = ["CHOICE_RULE", "Job", "run_jobs", "pe_config", "area_of", "choose",
           "portfolio_record"]

CHOICE_RULE = ("smallest area among the recipes that meet timing at the study clock "
               "(else the shortest critical path); ties go to the earlier recipe")


@dataclass(frozen=True)
class Job:
    """One flow run: ``config`` synthesised with ``recipe``, working in ``out_dir``."""

    config: Any
    recipe: Recipe
    out_dir: Any

    @property
    def label(self) -> str:
        return f"{self.config.name} [{self.recipe.name}]"


def _silent(_: str) -> None:
    """Progress sink of jobs that run elsewhere: ``run_jobs`` reports each one's end."""


def _run_one(evaluate: Callable[..., dict], job: Job, options: dict,
             progress: Callable[[str], None] = _silent) -> dict:
    # A job rerun after its worker died starts again from an empty design folder.
    shutil.rmtree(Path(job.out_dir) / job.config.name, ignore_errors=True)
    return evaluate(job.config, recipe=job.recipe, out_dir=job.out_dir, progress=progress,
                    **options)


def run_jobs(jobs: list[Job], evaluate: Callable[..., dict], options: dict, *,
             executor: Executor | None = None, progress: Callable[[str], None] = print,
             on_done: Callable[[int, dict], None] | None = None) -> list[dict]:
    """Results of ``evaluate(job.config, recipe=..., out_dir=..., **options)`` in job order.

    The jobs run on ``executor`` (``flow.executors``; default: a local process pool of every
    core; one job runs here), the largest designs first. ``on_done(index, result)`` is called as each job finishes,
    so a caller can store it before the others end: a run interrupted or a worker lost keeps
    what finished. A line per finished job gives its area, the jobs done and an ETA; jobs that run
    in this process also show ``evaluate``'s own step lines. On Ctrl-C the jobs not started are
    cancelled.
    """
    if executor is None:
        with open_executor(1 if len(jobs) <= 1 else None) as pool:
            return run_jobs(jobs, evaluate, options, executor=pool, progress=progress,
                            on_done=on_done)
    start = time.perf_counter()
    results: list[dict | None] = [None] * len(jobs)
    inner = progress if runs_in_process(executor) else _silent
    pending: dict[Future, int] = {}
    done = 0

    def finish(future: Future) -> None:
        nonlocal done
        index = pending.pop(future)
        results[index] = result = future.result()
        if on_done is not None:
            on_done(index, result)
        done += 1
        elapsed = time.perf_counter() - start
        eta = elapsed / done * (len(jobs) - done)
        progress(f"{'done':<9}{jobs[index].label} {area_of(result):,.0f} um2, "
                 f"{result['timing']['critical_path_ns']:.2f} ns "
                 f"({done}/{len(jobs)} jobs, {elapsed:.0f} s, ETA {eta:.0f} s)")

    try:
        # Largest designs first: a big array started last would leave the other workers idle.
        for index in sorted(range(len(jobs)), key=lambda i: -jobs[i].config.macs_per_cycle):
            if inner is _silent:
                progress(f"{'queued':<9}{jobs[index].label} (job {index + 1}/{len(jobs)})")
            future = executor.submit(_run_one, evaluate, jobs[index], options, inner)
            pending[future] = index
            if future.done():  # the serial backend: store it before the next job starts
                finish(future)
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                finish(future)
    finally:
        for future in pending:
            future.cancel()
    return [r for r in results if r is not None]


def pe_config(config: Any) -> Any:
    """The single-PE design (a 1 x 1 array) whose search an array of ``config``'s PE type reuses."""
    return dataclasses.replace(config, rows=1, cols=1, psum_bits=None, acc_depth=0)


def area_of(result: dict) -> float:
    """The area a search compares: the PE's for a single-PE array, else the whole design's."""
    area = result["area"]
    return area["pe_um2"] if area.get("pe_um2") is not None else area["total_um2"]


def choose(candidates: dict[str, dict]) -> tuple[str, bool]:
    """``(recipe name, meets timing)`` of the winner among ``candidates`` (recipe -> result)."""
    if not candidates:
        raise ValueError("candidates must hold at least one recipe's result, not none")
    meeting = [name for name, r in candidates.items() if r["timing"]["slack_ns"] >= 0]
    if meeting:
        return min(meeting, key=lambda name: area_of(candidates[name])), True
    return min(candidates, key=lambda n: candidates[n]["timing"]["critical_path_ns"]), False


def _spread(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def portfolio_record(candidates: dict[str, dict], searched_on: str) -> dict:
    """The result JSON's ``portfolio`` section: winner, rule, every candidate and the spread."""
    winner, meets = choose(candidates)
    rows = {}
    for name, r in candidates.items():
        rows[name] = {"area_um2": area_of(r), "total_um2": r["area"]["total_um2"],
                      "critical_path_ns": r["timing"]["critical_path_ns"],
                      "slack_ns": r["timing"]["slack_ns"],
                      "energy_per_mac_pj": {w: p["energy_per_mac_pj"]
                                            for w, p in r["power"]["workloads"].items()}}
    workloads = next(iter(rows.values()))["energy_per_mac_pj"]
    return {
        "winner": winner, "meets_timing": meets, "rule": CHOICE_RULE,
        "searched_on": searched_on,
        "candidates": rows,
        "spread": {"area_um2": _spread([r["area_um2"] for r in rows.values()]),
                   "energy_per_mac_pj": {w: _spread([r["energy_per_mac_pj"][w]
                                                     for r in rows.values()])
                                         for w in workloads}},
    }
