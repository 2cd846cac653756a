"""The efficiency report: which designs to evaluate, running them through the flow, and what to derive.

A *study* is a list of design configs evaluated at one clock, on one Liberty library, under the
same workloads and seed. ``run_study`` evaluates each design with ``flow.evaluate.evaluate``
(reusing ``flow.cache`` results whose inputs did not change), ``summarize`` turns the flow results
into the report data (``results.json``, schema ``qmac.report/1``) with the derived metrics below,
and ``write_report`` writes report.md, results.json, results.csv and the plots atomically.

Derived metrics (also stated in the report and docs/report.md):

* ``TOPS/mm^2 = 2 * macs_per_cycle * f / area``, at the common clock and at Fmax;
* ``TOPS/W = 2 / energy_per_mac_pj`` at a workload (one MAC = 2 operations; 1 op/pJ = 1 TOPS/W);
* ratios against the INT8 x INT8 design of the same kind and size: area ``area_int8 / area``,
  power ``total_mw_int8 / total_mw`` (same clock, same workload), energy/MAC likewise.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as _dt
import io
import json
import re
import time
from concurrent.futures import Executor
from contextlib import ExitStack
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import numpy as np

from golden.blockscaled import bits_per_element
from golden.checks import check_positive
from golden.families.blockscaled import block_params
from golden.formats import accepted_names, get_format
from golden.mac import MACConfig
from golden.systolic import SystolicConfig
from golden.workloads import code_statistics, make_workload

from flow import tools
from flow.cache import BadEntry, ResultCache, cache_key, file_digest, flow_version
from flow.evaluate import DEFAULT_CLOCK_NS, DEFAULT_WORKLOADS, MAC_SHAPE
from flow.folders import write_folder
from flow.portfolio import Job, pe_config, portfolio_record, run_jobs
from flow.recipes import DEFAULT_RECIPE, RECIPES, get_recipe
from flow.tables import DEFINITIONS, LEVELS, render_markdown

__all__ = [
    "format_rows",
    "PAPER_CLAIMS", "Study", "make_study", "parse_designs", "parse_sizes", "parse_recipes",
    "run_study", "summarize", "write_report", "write_report_files", "report",
    "workload_statistics", "block_comparison", "csv_rows", "CSV_COLUMNS",
]

REPORT_SCHEMA = "qmac.report/1"
BASELINE_FORMAT = "int8"
DEFAULT_FORMATS = ("int8", "int4", "dint4")
DEFAULT_SIZES = ((4, 4), (8, 8))
QUICK_SIZES = ((2, 2),)
QUICK_RECIPES = ("default", "booth")
"""What a custom study (``--designs``/``--sizes``) leaves out takes the paper's formats, these
sizes (``--quick``: 2x2) and, with ``--quick``, today's recipe and the one that changes INT8 the
most. The default studies are the specs in flow/specs/."""
KINDS = ("mac", "systolic", "block_mac")
"""The design kinds the report's tables lay out (a MAC row, an array row, a block-scaled MAC row);
a sweep may hold only these. ``qmac synth`` evaluates every kind with a workload
(``golden.designs.flow_kinds``)."""
CROSSED_KINDS = ("mac", "systolic")
"""The kinds ``--designs`` crosses with element-wise weight formats; block-scaled MACs enter a
study through a sweep spec (their activation is a block format too)."""
MAC_LEVEL = tuple(LEVELS)
"""Kinds that are one multiply-accumulate unit (no array, no PE/edge split; ``LEVELS``)."""
DEFAULT_OUT = Path("reports")
DEFAULT_CACHE = Path("build/cache")
"""Both relative to the current folder (``make report`` runs in the repository root)."""

# Quotations from the dINT4 paper (Lee, Kim et al., EMNLP 2023): the only figures the report does
# not measure. They are printed beside qmac's measurements, labelled as the paper's claims.
PAPER_CLAIMS = {
    "source": "Lee, Kim et al., EMNLP 2023",
    "claim": "dINT4xINT8 MAC vs INT8xINT8 MAC",
    "area_ratio": 1.93,
    "power_ratio": 2.56,
}

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Study:
    """What one report compares: designs x workloads on one library at one clock."""

    configs: tuple[Any, ...]
    workloads: tuple[str, ...] = DEFAULT_WORKLOADS
    clock_ns: float = DEFAULT_CLOCK_NS
    seed: int = 0
    liberty: Path | None = None
    cells_verilog: Path | None = None
    command: str = "make report"
    notes: tuple[str, ...] = field(default=())
    recipes: tuple[str, ...] | None = None
    """Portfolio of every MAC and PE search (``flow.recipes`` names); None: every registered."""

    def __post_init__(self) -> None:
        for name in self.recipes or ():
            get_recipe(name)

    @property
    def portfolio(self) -> tuple[str, ...]:
        return tuple(RECIPES) if self.recipes is None else self.recipes

    @property
    def headline_workload(self) -> str:
        """``minilm`` (real trained tensors) when studied, else the first workload."""
        return "minilm" if "minilm" in self.workloads else self.workloads[0]


def parse_designs(text: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(kinds, formats)`` from a comma list mixing kinds (``CROSSED_KINDS``) and weight formats.

    Missing kinds mean both kinds; missing formats mean the default formats.
    """
    tokens = [t.strip().lower() for t in (text or "").split(",") if t.strip()]
    kinds: list[str] = []
    formats: list[str] = []
    for token in tokens:
        if token in CROSSED_KINDS:
            kinds.append(token)
            continue
        try:
            formats.append(get_format(token).name)
        except ValueError:
            raise ValueError(
                f"designs must be a comma list of kinds ({', '.join(CROSSED_KINDS)}) and weight "
                f"formats "
                f"({accepted_names()}), not {token!r}") from None
    formats = formats or list(DEFAULT_FORMATS)
    return tuple(dict.fromkeys(kinds or CROSSED_KINDS)), tuple(dict.fromkeys(formats))


def parse_recipes(text: str | None) -> tuple[str, ...] | None:
    """Recipe names from a comma list (None: every registered recipe); unknown names raise."""
    if text is None:
        return None
    names = tuple(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    if not names:
        raise ValueError(f"recipes must name at least one of {list(RECIPES)}, not {text!r}")
    for name in names:
        get_recipe(name)
    return names


_SIZE = re.compile(r"(\d+)(?:x(\d+))?")


def parse_sizes(text: str | None) -> tuple[tuple[int, int], ...]:
    """Array sizes from ``"4,8"`` (square) or ``"4x8"`` (rows x cols) items."""
    sizes = []
    for item in (text or "").split(","):
        match = _SIZE.fullmatch(item.strip().lower())
        rows, cols = (int(match[1]), int(match[2] or match[1])) if match else (0, 0)
        if rows < 1 or cols < 1:
            raise ValueError(f"sizes must be a comma list of N or RxC with positive integers, "
                             f"not {item.strip()!r}")
        sizes.append((rows, cols))
    return tuple(dict.fromkeys(sizes))


def make_study(designs: str | None = None, sizes: str | None = None, *, quick: bool = False,
               workloads: tuple[str, ...] | None = None, clock_ns: float = DEFAULT_CLOCK_NS, seed: int = 0,
               liberty: Path | None = None, cells_verilog: Path | None = None,
               command: str = "make report", recipes: tuple[str, ...] | None = None) -> Study:
    """The default comparison, or a custom one: MACs and RxC arrays of each weight format.

    Without ``designs`` and ``sizes`` it is the shipped sweep spec ``flow/specs/report.toml``
    (``quick``: ``quick.toml``), the one place the default designs are listed, under the given
    flow options. A custom study crosses its kinds, formats and sizes; the INT8 baseline is
    added when ``designs`` leaves it out, since every ratio is taken against it (the report
    notes the addition).
    """
    clock_ns = check_positive("clock_ns", clock_ns, "nanoseconds")
    options = {"clock_ns": clock_ns, "seed": seed, "liberty": liberty,
               "cells_verilog": cells_verilog, "command": command}
    if workloads:
        options["workloads"] = tuple(dict.fromkeys(workloads))
    if recipes is not None:
        options["recipes"] = tuple(dict.fromkeys(recipes))
    if designs is None and sizes is None:
        from flow.sweep import SPECS, load_spec
        (study,) = load_spec(SPECS / ("quick.toml" if quick else "report.toml")).studies
        return dataclasses.replace(study, **options)
    kinds, formats = parse_designs(designs)
    notes: tuple[str, ...] = ()
    if BASELINE_FORMAT not in formats:
        formats = (BASELINE_FORMAT, *formats)
        notes = ("INT8xINT8 designs were added as the baseline of every ratio.",)
    array_sizes = parse_sizes(sizes) if sizes else (QUICK_SIZES if quick else DEFAULT_SIZES)
    configs: list[Any] = []
    if "mac" in kinds:
        configs += [MACConfig(get_format(f)) for f in formats]
    if "systolic" in kinds:
        configs += [SystolicConfig(rows, cols, get_format(f))
                    for rows, cols in array_sizes for f in formats]
    options.setdefault("recipes", QUICK_RECIPES if quick else None)
    return Study(tuple(configs), notes=notes, **options)


class _Clock:
    """Prefixes progress lines with the time elapsed since the report started."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        self.progress(f"[{time.perf_counter() - self.start:7.1f}s] {message}")


def run_study(study: Study, *, cache_dir: Path = DEFAULT_CACHE, progress: Progress = print,
              evaluate: Callable[..., dict] | None = None,
              executor: Executor | None = None) -> list[dict[str, Any]]:
    """Flow result of every design of ``study``, evaluated now or taken from the cache.

    MACs are searched over the study's recipe portfolio (``flow.portfolio``), and so is one single
    PE per PE type of the arrays; each array is then synthesised once, with its PE type's winning
    recipe. Every result carries the ``portfolio`` record of its search. Pending runs go to
    ``executor`` (``flow.executors``; default: a process pool of every core), and each result
    enters the cache as soon as it is finished. ``evaluate`` defaults to
    ``flow.evaluate.evaluate``; progress lines go to ``progress``.
    """
    if evaluate is None:
        from flow import evaluate as flow_module
        evaluate = flow_module.evaluate
    liberty, cells = tools.library_files(study.liberty, study.cells_verilog)
    versions = {**tools.find_tools().versions(), "amaranth": metadata.version("amaranth")}
    common = {"library_digest": f"{file_digest(liberty)}+{file_digest(cells) if cells else None}",
              "clock_ns": study.clock_ns, "workloads": study.workloads, "seed": study.seed,
              "tools": versions, "flow_version": flow_version()}
    options = {"liberty": study.liberty, "cells_verilog": study.cells_verilog,
               "clock_ns": study.clock_ns, "workloads": study.workloads, "seed": study.seed}
    cache = ResultCache(cache_dir)

    def run(pairs: list[tuple[Any, str]], phase: str) -> list[dict]:
        """Results of ``(config, recipe name)`` pairs; each key stays locked (``flow.cache``)
        from its cache look-up until its evaluated result is stored."""
        results: list[dict | None] = []
        jobs, keys = [], []
        with ExitStack() as held:
            for index, (config, recipe_name) in enumerate(pairs, 1):
                recipe = get_recipe(recipe_name)
                key = cache_key(config.params(), recipe=recipe.record(), **common)
                label = f"{config.name} [{recipe.name}] ({phase} {index}/{len(pairs)}"
                held.enter_context(cache.lock(key, lambda: progress(
                    f"{'waiting':<9}{label}: another run is evaluating it)")))
                result = _cached(cache, key, progress)
                if result is not None:
                    progress(f"{'cached':<9}{label}, key {key[:12]})")
                else:
                    progress(f"{'evaluate':<9}{label})")
                    jobs.append(Job(config, recipe, cache.new_job(key)))
                    keys.append((len(results), key))
                results.append(result)

            def store(index: int, result: dict) -> None:
                slot, key = keys[index]
                cache.put(key, jobs[index].out_dir, result)
                results[slot] = result

            run_jobs(jobs, evaluate, options, executor=executor, progress=progress,
                     on_done=store)
        return [r for r in results if r is not None]

    searched = {c.name: c for c in study.configs if c.kind in MAC_LEVEL}
    searched |= {pe.name: pe for pe in (pe_config(c) for c in study.configs
                                        if c.kind not in MAC_LEVEL)}
    pairs = [(config, name) for config in searched.values() for name in study.portfolio]
    found = iter(run(pairs, "portfolio"))
    candidates = {design: {} for design in searched}
    for config, name in pairs:
        candidates[config.name][name] = next(found)
    portfolios = {design: portfolio_record(c, design) for design, c in candidates.items()}
    arrays = [c for c in study.configs if c.kind not in MAC_LEVEL]
    for config in arrays:
        pe = pe_config(config).name
        progress(f"{'recipe':<9}{config.name} uses {portfolios[pe]['winner']!r}, the winner of "
                 f"its PE's search ({pe})")
    array_results = iter(run([(c, portfolios[pe_config(c).name]["winner"]) for c in arrays],
                             "array"))
    results = []
    for config in study.configs:
        if config.kind in MAC_LEVEL:
            record = portfolios[config.name]
            result = candidates[config.name][record["winner"]]
        else:
            record = portfolios[pe_config(config).name]
            result = next(array_results)
        results.append({**result, "portfolio": record})
    return results


def _cached(cache: ResultCache, key: str, progress: Progress) -> dict[str, Any] | None:
    """The cache's result for ``key``; None (after saying so) when the entry is damaged."""
    try:
        return cache.get(key)
    except BadEntry as err:
        progress(f"{'bad':<9}cache entry {err}; recomputing it")
        return None


def _structure(result: dict) -> dict:
    """The parameters a design shares with its INT8 baseline: all but the weight-derived ones."""
    return {k: v for k, v in result["design"]["params"].items()
            if k not in ("weight", "acc_bits", "psum_bits")}


_BLOCK_BASELINE = {"kind": "mac", "act": BASELINE_FORMAT, "overflow": "wrap", "pipeline": False}
"""A block-scaled MAC is compared with the plain INT8 x INT8 MAC: wrapping (as it does), not
pipelined, INT8 activations (its element-wise rival)."""


def _baseline_of(result: dict, results: list[dict]) -> dict | None:
    """The INT8-weight design of the same kind, size, activation width and options; for a
    block-scaled MAC, the ``_BLOCK_BASELINE`` MAC."""
    if result["design"]["kind"] == "block_mac":
        def matches(other: dict) -> bool:
            return all(other["design"]["params"].get(k) == v for k, v in _BLOCK_BASELINE.items())
    else:
        def matches(other: dict) -> bool:
            return _structure(other) == _structure(result)
    return next((other for other in results
                 if other["design"]["params"]["weight"] == BASELINE_FORMAT and matches(other)),
                None)


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def _label(params: dict) -> str:
    """Short human name: ``dINT4xINT8 MAC`` or ``dINT4xINT8 8x8``."""
    weight = params["weight"]
    fmt = ("d" + weight[1:].upper()) if weight.startswith("d") else weight.upper()
    act = params.get("act") or f"int{params['act_bits']}"
    pair = f"{fmt}x{act.upper()}"
    if params["kind"] == "mac":
        return f"{pair} MAC"
    if params["kind"] == "block_mac":
        return f"{pair} block MAC"
    return f"{pair} {params['rows']}x{params['cols']}"


def _derive(result: dict, baseline: dict | None, clock_ns: float) -> dict:
    """The report's derived metrics of one design (formulas in the module docstring)."""
    area = result["area"]["total_um2"]
    mpc = result["design"]["macs_per_cycle"]
    clock_mhz = 1000.0 / clock_ns
    fmax = result["timing"]["fmax_mhz"]
    workloads = result["power"]["workloads"]
    derived: dict[str, Any] = {
        "clock_mhz": clock_mhz,
        "area_per_mac_um2": area / mpc,
        "tops_per_mm2_at_clock": 2 * mpc * clock_mhz / area,
        "tops_per_mm2_at_fmax": 2 * mpc * fmax / area if fmax else None,
        "tops_per_w": {w: 2 / v["energy_per_mac_pj"] if v["energy_per_mac_pj"] else None
                       for w, v in workloads.items()},
        "vs_int8": None,
    }
    if baseline is not None:
        base_workloads = baseline["power"]["workloads"]
        derived["vs_int8"] = {
            "baseline": baseline["design"]["name"],
            "area": _ratio(baseline["area"]["total_um2"], area),
            "sequential_area": _ratio(baseline["area"]["sequential_um2"],
                                      result["area"]["sequential_um2"]),
            "power": {w: _ratio(base_workloads[w]["total_mw"], v["total_mw"])
                      for w, v in workloads.items() if w in base_workloads},
            "energy_per_mac": {w: _ratio(base_workloads[w]["energy_per_mac_pj"],
                                         v["energy_per_mac_pj"])
                               for w, v in workloads.items() if w in base_workloads},
        }
    return derived


def _recipe_ratios(result: dict, baseline: dict | None, workload: str) -> dict | None:
    """Ratios against INT8 with both designs under the same recipe, for every recipe both
    searched: their range is the error bar of the best-vs-best ratio, and the default recipe's
    ratio is today's single-recipe figure. Arrays take them from their PE searches."""
    if baseline is None or "portfolio" not in result or "portfolio" not in baseline:
        return None
    mine, base = result["portfolio"]["candidates"], baseline["portfolio"]["candidates"]
    common = [name for name in mine if name in base]
    area = {n: _ratio(base[n]["area_um2"], mine[n]["area_um2"]) for n in common}
    energy = {n: _ratio(base[n]["energy_per_mac_pj"][workload],
                        mine[n]["energy_per_mac_pj"][workload]) for n in common}
    default = DEFAULT_RECIPE.name
    return {"level": "mac" if result["design"]["kind"] in MAC_LEVEL else "pe",
            "searched_on": [baseline["portfolio"]["searched_on"],
                            result["portfolio"]["searched_on"]],
            "workload": workload, "area": area, "energy_per_mac": energy,
            "area_range": [min(area.values()), max(area.values())],
            "energy_range": [min(energy.values()), max(energy.values())],
            "default_area": area.get(default), "default_energy_per_mac": energy.get(default)}


def _design_entry(result: dict, results: list[dict], clock_ns: float,
                  workload: str) -> dict:
    params = result["design"]["params"]
    return {
        "label": _label(params),
        "name": result["design"]["name"],
        "kind": params["kind"],
        "weight": params["weight"],
        "act_bits": params.get("act_bits"),
        "rows": params.get("rows"),
        "cols": params.get("cols"),
        "acc_bits": params["acc_bits"],
        "psum_bits": params.get("psum_bits"),
        "derived": {**_derive(result, _baseline_of(result, results), clock_ns),
                    "vs_int8_by_recipe": _recipe_ratios(result, _baseline_of(result, results),
                                                        workload)},
        "result": {k: v for k, v in result.items() if k != "files"},
    }


def _headline(designs: list[dict], workload: str) -> dict | None:
    """Paper-comparison data: dINT4xINT8 vs INT8xINT8 at MAC level and for every array size."""
    rows = []
    for entry in designs:
        ratios = entry["derived"]["vs_int8"]
        if entry["weight"] != "dint4" or entry["act_bits"] != 8 or ratios is None:
            continue
        base = next(d for d in designs if d["name"] == ratios["baseline"])
        by_recipe = entry["derived"]["vs_int8_by_recipe"] or {}
        rows.append({"label": entry["label"], "design": entry["name"],
                     "baseline": base["name"], "level": entry["kind"],
                     "acc_bits": entry["acc_bits"], "baseline_acc_bits": base["acc_bits"],
                     "recipe": entry["result"].get("recipe", {}).get("name"),
                     "baseline_recipe": base["result"].get("recipe", {}).get("name"),
                     "area_ratio": ratios["area"], "power_ratio": ratios["power"].get(workload),
                     "energy_ratio": ratios["energy_per_mac"].get(workload),
                     "recipe_level": by_recipe.get("level"),
                     "area_ratio_range": by_recipe.get("area_range"),
                     "energy_ratio_range": by_recipe.get("energy_range"),
                     "default_recipe_area_ratio": by_recipe.get("default_area"),
                     "default_recipe_energy_ratio": by_recipe.get("default_energy_per_mac")})
    return {"workload": workload, "rows": rows} if rows else None


def energy_scaling(designs: list[dict], workload: str) -> dict[str, Any]:
    """Energy per MAC of each format pair's MAC and arrays, smallest first, on ``workload``.

    Each level also gets its ratio to the format's MAC and the share of its power spent outside
    the PEs (edge logic, in %), the two figures that explain how energy per MAC moves with size.
    Block-scaled MACs have no array here and are left out.
    """
    formats: dict[str, list[dict[str, Any]]] = {}
    for d in sorted((d for d in designs if d["kind"] != "block_mac"),
                    key=lambda d: d["result"]["design"]["macs_per_cycle"]):
        w = d["result"]["power"]["workloads"].get(workload)
        if w is None:
            continue
        parts = w.get("breakdown", {})
        edge = (100.0 * parts["edge_mw"] / w["total_mw"]
                if "edge_mw" in parts and w["total_mw"] and d["kind"] != "mac" else None)
        formats.setdefault(d["label"].split(" ")[0], []).append(
            {"label": d["label"], "kind": d["kind"], "energy_per_mac_pj": w["energy_per_mac_pj"],
             "edge_share_pct": edge})
    for levels in formats.values():
        mac = next((level for level in levels if level["kind"] == "mac"), None)
        for level in levels:
            level["vs_mac"] = (_ratio(level["energy_per_mac_pj"], mac["energy_per_mac_pj"])
                               if mac is not None else None)
    return {"workload": workload, "formats": formats}


def block_comparison(designs: list[dict], formats: list[dict], workload: str) -> list[dict]:
    """Each block-scaled MAC against the element-wise INT8, INT4 and dINT4 MACs with INT8
    activations (the first of each in the study): storage bits per element (the block scale's
    share included, from ``formats``), area, energy per MAC on ``workload``, accumulator width,
    and the ratios block / rival (above 1: the block MAC costs more)."""
    first: dict[str, dict] = {}
    for d in designs:
        if d["kind"] == "mac" and d["act_bits"] == 8:
            first.setdefault(d["weight"], d)
    rivals = [first[name] for name in ("int8", "int4", "dint4") if name in first]
    storage = {(f["weight"], f["act"]): f for f in formats}

    def cost(d: dict) -> tuple[float, float]:
        return (d["result"]["area"]["total_um2"],
                d["result"]["power"]["workloads"][workload]["energy_per_mac_pj"])

    rows = []
    for d in designs:
        if d["kind"] != "block_mac":
            continue
        area, energy = cost(d)
        bits = storage[d["weight"], d["result"]["design"]["params"]["act"]]
        rows.append({
            "design": d["name"], "label": d["label"], "acc_bits": d["acc_bits"],
            "weight_bits_per_element": bits["bits_per_element"],
            "act_bits_per_element": bits["act_bits_per_element"],
            "area_um2": area, "energy_per_mac_pj": energy,
            "against": [{"design": r["name"], "label": r["label"], "acc_bits": r["acc_bits"],
                         "area_ratio": _ratio(area, cost(r)[0]),
                         "energy_ratio": _ratio(energy, cost(r)[1])} for r in rivals]})
    return rows


def workload_statistics(study: Study) -> dict[str, dict[str, dict[str, float]]]:
    """``code_statistics`` of each workload for each weight format of ``study``, on the operands
    the flow streams through a MAC (``MAC_SHAPE``, the study's seed): why workloads differ."""
    formats = dict.fromkeys(config.weight.name for config in study.configs
                            if block_params(config.weight) is None)
    return {workload: {name: code_statistics(*make_workload(workload, *MAC_SHAPE,
                                                            get_format(name), study.seed),
                                             get_format(name))
                       for name in formats}
            for workload in study.workloads}


def format_rows(study: Study) -> list[dict[str, Any]]:
    """One row per weight x activation format pair of the study (the format table): code
    bits, storage bits per element (a block format's scale included), value set, product width
    and the datapath that serves it."""
    rows = {}
    for config in study.configs:
        weight, act = config.weight, config.act
        values = weight.decode(weight.valid_codes)
        rows[weight.name, act.name] = {
            "weight": weight.name, "act": act.name, "bits": weight.bits,
            "bits_per_element": bits_per_element(weight),
            "act_bits_per_element": bits_per_element(act),
            "values": int(len(values)), "value_min": float(values.min()),
            "value_max": float(values.max()),
            "smallest_nonzero": float(np.abs(values[values != 0]).min()),
            "product_bits": config.product_bits, "datapath": weight.family.datapath,
            "act_datapath": act.family.datapath}
    return list(rows.values())


def summarize(study: Study, results: list[dict], *, date: str | None = None,
              accuracy: dict | None = None) -> dict[str, Any]:
    """The report data (``results.json``): flow results, derived metrics and provenance.

    ``accuracy`` is a ``models.accuracy`` study of the same weight formats, shown beside the
    hardware cost (section "Accuracy vs hardware cost"); None leaves that section out.
    """
    if not results:
        raise ValueError("results must hold at least one flow result, not an empty list")
    designs = [_design_entry(r, results, study.clock_ns, study.headline_workload)
               for r in results]
    formats = format_rows(study)
    first = results[0]
    return {
        "schema": REPORT_SCHEMA,
        "date": date or _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "qmac": metadata.version("qmac"),
        "tools": first["tools"],
        "library": first["library"],
        "clock_ns": study.clock_ns,
        "clock_mhz": 1000.0 / study.clock_ns,
        "seed": study.seed,
        "workloads": list(study.workloads),
        "headline_workload": study.headline_workload,
        "command": study.command,
        "notes": list(study.notes),
        "paper": PAPER_CLAIMS,
        "definitions": DEFINITIONS,
        "headline": _headline(designs, study.headline_workload),
        "energy_scaling": energy_scaling(designs, study.headline_workload),
        "recipes": {name: RECIPES[name].record() for name in study.portfolio},
        "default_recipe": DEFAULT_RECIPE.name,
        "designs": designs,
        "workload_stats": workload_statistics(study),
        "formats": formats,
        "block_scaled": {"workload": study.headline_workload,
                         "rows": block_comparison(designs, formats, study.headline_workload)},
        "accuracy": accuracy,
    }


CSV_COLUMNS = (
    "label", "name", "kind", "weight", "act_bits", "rows", "cols", "acc_bits", "psum_bits",
    "macs_per_cycle", "cell_count", "area_um2", "sequential_um2", "combinational_um2", "pe_um2",
    "edge_um2", "critical_path_ns", "fmax_mhz", "tops_per_mm2_at_clock", "tops_per_mm2_at_fmax",
    "workload", "seed", "shape", "cycles", "macs", "internal_mw", "switching_mw", "leakage_mw",
    "total_mw", "energy_per_mac_pj", "energy_per_op_pj", "tops_per_w", "area_ratio_vs_int8",
    "power_ratio_vs_int8", "energy_ratio_vs_int8", "recipe", "area_ratio_range_min",
    "area_ratio_range_max",
)


def csv_rows(summary: dict) -> list[dict[str, Any]]:
    """One row per design and workload, flattening results.json."""
    rows = []
    for d in summary["designs"]:
        res, der = d["result"], d["derived"]
        vs = der["vs_int8"] or {"area": None, "power": {}, "energy_per_mac": {}}
        for workload, p in res["power"]["workloads"].items():
            rows.append({
                "label": d["label"], "name": d["name"], "kind": d["kind"], "weight": d["weight"],
                "act_bits": d["act_bits"], "rows": d["rows"], "cols": d["cols"],
                "acc_bits": d["acc_bits"], "psum_bits": d["psum_bits"],
                "macs_per_cycle": res["design"]["macs_per_cycle"],
                "cell_count": res["area"]["cell_count"], "area_um2": res["area"]["total_um2"],
                "sequential_um2": res["area"]["sequential_um2"],
                "combinational_um2": res["area"]["combinational_um2"],
                "pe_um2": res["area"]["pe_um2"], "edge_um2": res["area"]["edge_um2"],
                "critical_path_ns": res["timing"]["critical_path_ns"],
                "fmax_mhz": res["timing"]["fmax_mhz"],
                "tops_per_mm2_at_clock": der["tops_per_mm2_at_clock"],
                "tops_per_mm2_at_fmax": der["tops_per_mm2_at_fmax"],
                "workload": workload, "seed": p["seed"], "shape": "x".join(map(str, p["shape"])),
                "cycles": p["cycles"], "macs": p["macs"], "internal_mw": p["internal_mw"],
                "switching_mw": p["switching_mw"], "leakage_mw": p["leakage_mw"],
                "total_mw": p["total_mw"], "energy_per_mac_pj": p["energy_per_mac_pj"],
                "energy_per_op_pj": p["energy_per_op_pj"],
                "tops_per_w": der["tops_per_w"][workload], "area_ratio_vs_int8": vs["area"],
                "power_ratio_vs_int8": vs["power"].get(workload),
                "energy_ratio_vs_int8": vs["energy_per_mac"].get(workload),
                "recipe": res.get("recipe", {}).get("name"),
                "area_ratio_range_min": (der["vs_int8_by_recipe"] or {}).get("area_range",
                                                                             [None])[0],
                "area_ratio_range_max": (der["vs_int8_by_recipe"] or {}).get("area_range",
                                                                             [None])[-1],
            })
    return rows


def _csv_text(summary: dict) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_rows(summary))
    return buffer.getvalue()


def write_report_files(summary: dict, folder: Path) -> None:
    """report.md, results.json, results.csv and the plots of ``summary`` into ``folder``."""
    from flow.plots import write_plots

    plots = write_plots(summary, folder)
    (folder / "results.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    (folder / "results.csv").write_text(_csv_text(summary), encoding="utf-8")
    (folder / "report.md").write_text(render_markdown(summary, plots), encoding="utf-8")


def write_report(summary: dict, out_dir: Path) -> Path:
    """Write the report's files (``write_report_files``) into ``out_dir``.

    ``flow.folders.write_folder`` writes them to a hidden sibling first and swaps it in, so a
    failure keeps the previous report, and it refuses an ``out_dir`` that is not a report.
    """
    return write_folder(out_dir, lambda folder: write_report_files(summary, folder))


def report(study: Study, out_dir: Path = DEFAULT_OUT, *, cache_dir: Path = DEFAULT_CACHE,
           progress: Progress = print, executor: Executor | None = None) -> dict[str, Any]:
    """Evaluate ``study`` (using the cache), write the report to ``out_dir``, return its data:
    the one-study sweep (``flow.sweep.run_sweep``).

    Every progress line is prefixed with the time elapsed since the start. An ``out_dir`` the
    report may not replace is refused before anything is evaluated.
    """
    from flow.sweep import Sweep, run_sweep

    return run_sweep(Sweep("report", (study,)), out_dir, cache_dir=cache_dir, progress=progress,
                     executor=executor)[0]
