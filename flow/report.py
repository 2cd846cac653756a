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
import datetime as _dt
import io
import json
import re
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

from golden.checks import check_positive
from golden.formats import get_format
from golden.mac import MACConfig
from golden.systolic import SystolicConfig
from golden.workloads import code_statistics, make_workload

from flow import tools
from flow.cache import BadEntry, ResultCache, cache_key, file_digest, flow_version
from flow.evaluate import DEFAULT_CLOCK_NS, DEFAULT_WORKLOADS, MAC_SHAPE
from flow.folders import check_folder, write_folder
from flow.tables import DEFINITIONS, render_markdown

__all__ = [
    "PAPER_CLAIMS", "Study", "make_study", "parse_designs", "parse_sizes", "run_study",
    "summarize", "write_report", "report", "workload_statistics",
]

REPORT_SCHEMA = "qmac.report/1"
BASELINE_FORMAT = "int8"
DEFAULT_FORMATS = ("int8", "int4", "dint4")
DEFAULT_SIZES = ((4, 4), (8, 8), (16, 16))
QUICK_SIZES = ((2, 2),)
KINDS = ("mac", "systolic")
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

    @property
    def headline_workload(self) -> str:
        """``minilm`` (real trained tensors) when studied, else the first workload."""
        return "minilm" if "minilm" in self.workloads else self.workloads[0]


def parse_designs(text: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(kinds, formats)`` from a comma list mixing kinds (mac, systolic) and weight formats.

    Missing kinds mean both kinds; missing formats mean the default formats.
    """
    tokens = [t.strip().lower() for t in (text or "").split(",") if t.strip()]
    kinds: list[str] = []
    formats: list[str] = []
    for token in tokens:
        if token in KINDS:
            kinds.append(token)
            continue
        try:
            formats.append(get_format(token).name)
        except ValueError:
            raise ValueError(
                f"designs must be a comma list of kinds ({', '.join(KINDS)}) and weight formats "
                f"(int8, int4, dint4, intB, dintB, dintBfF), not {token!r}") from None
    formats = formats or list(DEFAULT_FORMATS)
    return tuple(dict.fromkeys(kinds or KINDS)), tuple(dict.fromkeys(formats))


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
               command: str = "make report") -> Study:
    """The default comparison, or a custom one: MACs and RxC arrays of each weight format.

    The INT8 baseline is added when ``designs`` leaves it out, since every ratio is taken
    against it; the report notes the addition.
    """
    kinds, formats = parse_designs(designs)
    notes: tuple[str, ...] = ()
    if BASELINE_FORMAT not in formats:
        formats = (BASELINE_FORMAT, *formats)
        notes = ("INT8xINT8 designs were added as the baseline of every ratio.",)
    array_sizes = parse_sizes(sizes) if sizes else (QUICK_SIZES if quick else DEFAULT_SIZES)
    clock_ns = check_positive("clock_ns", clock_ns, "nanoseconds")
    workloads = tuple(dict.fromkeys(workloads or DEFAULT_WORKLOADS))
    configs: list[Any] = []
    if "mac" in kinds:
        configs += [MACConfig(get_format(f)) for f in formats]
    if "systolic" in kinds:
        configs += [SystolicConfig(rows, cols, get_format(f))
                    for rows, cols in array_sizes for f in formats]
    return Study(tuple(configs), workloads, clock_ns, seed, liberty, cells_verilog,
                 command, notes)


class _Clock:
    """Prefixes progress lines with the time elapsed since the report started."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        self.progress(f"[{time.perf_counter() - self.start:7.1f}s] {message}")


def run_study(study: Study, *, cache_dir: Path = DEFAULT_CACHE, progress: Progress = print,
              evaluate: Callable[..., dict] | None = None) -> list[dict[str, Any]]:
    """Flow result of every design of ``study``, evaluated now or taken from the cache.

    ``evaluate`` defaults to ``flow.evaluate.evaluate``; its progress lines go to ``progress``.
    """
    if evaluate is None:
        from flow import evaluate as flow_module
        evaluate = flow_module.evaluate
    liberty, cells = tools.library_files(study.liberty, study.cells_verilog)
    versions = {**tools.find_tools().versions(), "amaranth": metadata.version("amaranth")}
    common = {"library_digest": f"{file_digest(liberty)}+{file_digest(cells)}",
              "clock_ns": study.clock_ns, "workloads": study.workloads, "seed": study.seed,
              "tools": versions, "flow_version": flow_version()}
    cache = ResultCache(cache_dir)
    results = []
    for index, config in enumerate(study.configs, 1):
        key = cache_key(config.params(), **common)
        step = f"design {index}/{len(study.configs)}"
        with cache.lock(key, lambda: progress(f"{'waiting':<9}{config.name} ({step}: another run "
                                              f"is evaluating it)")):
            result = _cached(cache, key, progress)
            if result is not None:
                progress(f"{'cached':<9}{config.name} ({step}, key {key[:12]})")
            else:
                progress(f"{'evaluate':<9}{config.name} ({step})")
                job = cache.new_job(key)
                result = evaluate(config, liberty=study.liberty,
                                  cells_verilog=study.cells_verilog, clock_ns=study.clock_ns,
                                  workloads=study.workloads, seed=study.seed, out_dir=job,
                                  progress=progress)
                cache.put(key, job, result)
        results.append(result)
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


def _baseline_of(result: dict, results: list[dict]) -> dict | None:
    """The INT8-weight design of the same kind, size, activation width and options."""
    return next((other for other in results
                 if other["design"]["params"]["weight"] == BASELINE_FORMAT
                 and _structure(other) == _structure(result)), None)


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def _label(params: dict) -> str:
    """Short human name: ``dINT4xINT8 MAC`` or ``dINT4xINT8 8x8``."""
    weight = params["weight"]
    fmt = ("d" + weight[1:].upper()) if weight.startswith("d") else weight.upper()
    pair = f"{fmt}xINT{params['act_bits']}"
    if params["kind"] == "mac":
        return f"{pair} MAC"
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


def _design_entry(result: dict, results: list[dict], clock_ns: float) -> dict:
    params = result["design"]["params"]
    return {
        "label": _label(params),
        "name": result["design"]["name"],
        "kind": params["kind"],
        "weight": params["weight"],
        "act_bits": params["act_bits"],
        "rows": params.get("rows"),
        "cols": params.get("cols"),
        "acc_bits": params["acc_bits"],
        "psum_bits": params.get("psum_bits"),
        "derived": _derive(result, _baseline_of(result, results), clock_ns),
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
        rows.append({"label": entry["label"], "design": entry["name"],
                     "baseline": base["name"], "level": entry["kind"],
                     "acc_bits": entry["acc_bits"], "baseline_acc_bits": base["acc_bits"],
                     "area_ratio": ratios["area"], "power_ratio": ratios["power"].get(workload),
                     "energy_ratio": ratios["energy_per_mac"].get(workload)})
    return {"workload": workload, "rows": rows} if rows else None


def workload_statistics(study: Study) -> dict[str, dict[str, dict[str, float]]]:
    """``code_statistics`` of each workload for each weight format of ``study``, on the operands
    the flow streams through a MAC (``MAC_SHAPE``, the study's seed): why workloads differ."""
    formats = dict.fromkeys(config.weight.name for config in study.configs)
    return {workload: {name: code_statistics(*make_workload(workload, *MAC_SHAPE,
                                                            get_format(name), study.seed),
                                             get_format(name))
                       for name in formats}
            for workload in study.workloads}


def summarize(study: Study, results: list[dict], *, date: str | None = None,
              accuracy: dict | None = None) -> dict[str, Any]:
    """The report data (``results.json``): flow results, derived metrics and provenance.

    ``accuracy`` is a ``models.accuracy`` study of the same weight formats, shown beside the
    hardware cost (section "Accuracy vs hardware cost"); None leaves that section out.
    """
    if not results:
        raise ValueError("results must hold at least one flow result, not an empty list")
    designs = [_design_entry(r, results, study.clock_ns) for r in results]
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
        "designs": designs,
        "workload_stats": workload_statistics(study),
        "accuracy": accuracy,
    }


CSV_COLUMNS = (
    "label", "name", "kind", "weight", "act_bits", "rows", "cols", "acc_bits", "psum_bits",
    "macs_per_cycle", "cell_count", "area_um2", "sequential_um2", "combinational_um2", "pe_um2",
    "edge_um2", "critical_path_ns", "fmax_mhz", "tops_per_mm2_at_clock", "tops_per_mm2_at_fmax",
    "workload", "seed", "shape", "cycles", "macs", "internal_mw", "switching_mw", "leakage_mw",
    "total_mw", "energy_per_mac_pj", "energy_per_op_pj", "tops_per_w", "area_ratio_vs_int8",
    "power_ratio_vs_int8", "energy_ratio_vs_int8",
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
            })
    return rows


def _csv_text(summary: dict) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_rows(summary))
    return buffer.getvalue()


def write_report(summary: dict, out_dir: Path) -> Path:
    """Write report.md, results.json, results.csv and the plots into ``out_dir``.

    ``flow.folders.write_folder`` writes them to a hidden sibling first and swaps it in, so a
    failure keeps the previous report, and it refuses an ``out_dir`` that is not a report.
    """
    from flow.plots import write_plots

    def write(folder: Path) -> None:
        plots = write_plots(summary, folder)
        (folder / "results.json").write_text(json.dumps(summary, indent=1) + "\n",
                                             encoding="utf-8")
        (folder / "results.csv").write_text(_csv_text(summary), encoding="utf-8")
        (folder / "report.md").write_text(render_markdown(summary, plots), encoding="utf-8")

    return write_folder(out_dir, write)


def report(study: Study, out_dir: Path = DEFAULT_OUT, *, cache_dir: Path = DEFAULT_CACHE,
           progress: Progress = print) -> dict[str, Any]:
    """Evaluate ``study`` (using the cache), write the report to ``out_dir``, return its data.

    Every progress line is prefixed with the time elapsed since the start. An ``out_dir`` the
    report may not replace is refused before anything is evaluated.
    """
    from models.accuracy import cached_accuracy_study

    check_folder(out_dir)
    clock = _Clock(progress)
    results = run_study(study, cache_dir=cache_dir, progress=clock)
    formats = tuple(dict.fromkeys(config.weight.name for config in study.configs))
    accuracy = cached_accuracy_study(cache_dir, formats, progress=clock)
    summary = summarize(study, results, accuracy=accuracy)
    write_report(summary, out_dir)
    clock(f"{'report':<9}{Path(out_dir) / 'report.md'}")
    return summary
