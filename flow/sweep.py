"""Design-space sweeps: a TOML spec of design points, evaluated on any executor, one result table.

A spec (docs/sweep.md) lists design points as grids (``[[grid]]``: every combination of its
axes) and single points (``[[point]]``). The axes are the design's kind and size, weight and
activation formats, accumulator width, overflow and pipeline, and the flow's clock, Liberty
library and workloads. Points that share a clock, library, workloads, seed and recipe portfolio
form one ``flow.report.Study``; each study runs through the report's own machinery
(``run_study``: the portfolio search, the content-addressed cache, any executor of
``flow.executors``) and is summarised with the report's schema. So ``qmac report`` is the sweep of
``flow/specs/report.toml``: the same results, whichever backend ran them.

Output: a one-study sweep writes exactly a report (report.md, results.json, results.csv, plots).
A sweep over several clocks or libraries writes one report folder per study (``study-N``) plus a
combined ``results.csv`` (the report's columns and the study's clock and library) and the Pareto
plot of all points.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import tomllib
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from golden.checks import check_int, check_positive
from golden.datapath import DEFAULT_PRODUCT
from golden.formats import get_format
from golden.workloads import WORKLOADS
from flow.evaluate import DEFAULT_CLOCK_NS, DEFAULT_WORKLOADS
from flow.folders import check_folder, write_folder
from flow.recipes import get_recipe
from flow.report import (
    CSV_COLUMNS, DEFAULT_CACHE, KINDS, Study, _Clock, csv_rows, parse_sizes, run_study, summarize,
    write_report, write_report_files)
from flow.tech import TECHNOLOGIES
from hw.cli import config_from_args

__all__ = ["SPECS", "AXES", "Sweep", "load_spec", "parse_spec", "run_sweep", "sweep_csv"]

SPECS = Path(__file__).resolve().parent / "specs"
"""The specs shipped with qmac: ``report.toml`` (what ``make report`` runs) and ``quick.toml``."""

AXES = ("kind", "size", "weight", "act", "acc_bits", "overflow", "pipeline", "clock_ns",
        "liberty", "workloads")
"""Keys of a grid or point; a grid's values may be lists (every combination is a point)."""
_STUDY_KEYS = ("name", "seed", "recipes", "grid", "point", *AXES[AXES.index("clock_ns"):])
_DEFAULTS = {"kind": "mac", "size": "4x4", "act": "int8", "acc_bits": None, "overflow": "wrap",
             "pipeline": False, "clock_ns": DEFAULT_CLOCK_NS, "liberty": None,
             "workloads": list(DEFAULT_WORKLOADS)}


@dataclass(frozen=True)
class Sweep:
    """A parsed spec: its name and the studies its points form, in the spec's order."""

    name: str
    studies: tuple[Study, ...]

    @property
    def points(self) -> int:
        return sum(len(study.configs) for study in self.studies)


def load_spec(path: Path | str, *, command: str | None = None) -> Sweep:
    """The sweep that the TOML file ``path`` describes (``parse_spec``)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"spec {str(path)!r} is not valid TOML: {err}") from None
    return parse_spec(data, source=str(path), command=command or f"qmac sweep {path}")


def parse_spec(data: dict[str, Any], *, source: str = "spec",
               command: str = "qmac sweep") -> Sweep:
    """Studies of a spec's points; a bad key or value raises a one-line ValueError naming it."""
    unknown = sorted(set(data) - set(_STUDY_KEYS))
    if unknown:
        raise ValueError(f"{source}: key {unknown[0]!r} is not a spec key; allowed: "
                         f"{', '.join(_STUDY_KEYS)}")
    seed = check_int(f"{source}: seed", data.get("seed", 0), 0)
    recipes = data.get("recipes")
    if recipes is not None:
        recipes = tuple(dict.fromkeys(_strings(f"{source}: recipes", recipes)))
        for name in recipes:
            get_recipe(name)
    top = {key: data[key] for key in AXES if key in data}
    blocks = [("grid", i, b) for i, b in enumerate(_tables(data, "grid", source))]
    blocks += [("point", i, b) for i, b in enumerate(_tables(data, "point", source))]
    if not blocks:
        raise ValueError(f"{source}: a spec needs at least one [[grid]] or [[point]] table")
    groups: dict[tuple, list[Any]] = {}
    for kind, index, block in blocks:
        where = f"{source}: {kind} {index + 1}"
        unknown = sorted(set(block) - set(AXES))
        if unknown:
            raise ValueError(f"{where}: key {unknown[0]!r} is not an axis; allowed: "
                             f"{', '.join(AXES)}")
        values = {**_DEFAULTS, **top, **block}
        axes = {key: _axis(where, key, values[key], kind == "grid") for key in AXES}
        for combo in itertools.product(*axes.values()):
            point = dict(zip(AXES, combo))
            try:
                point["clock_ns"] = check_positive("clock_ns", point["clock_ns"], "nanoseconds")
            except ValueError as err:
                raise ValueError(f"{where}: {err}") from None
            config = _config(where, point)
            liberty, cells = _library(where, point["liberty"])
            group = (point["clock_ns"], liberty, cells, tuple(point["workloads"]))
            if config not in groups.setdefault(group, []):
                groups[group].append(config)
    studies = tuple(Study(tuple(configs), workloads, clock, seed, liberty, cells, command,
                          recipes=recipes)
                    for (clock, liberty, cells, workloads), configs in groups.items())
    name = data.get("name", Path(source).stem)
    if not isinstance(name, str) or not name:
        raise ValueError(f"{source}: name must be a non-empty string, not {name!r}")
    return Sweep(name, studies)


def _tables(data: dict, key: str, source: str) -> list[dict]:
    tables = data.get(key, [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ValueError(f"{source}: {key} must be an array of tables ([[{key}]]), not "
                         f"{tables!r}")
    return tables


def _strings(param: str, value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str) and v for v in items):
        raise ValueError(f"{param} must be a string or a list of strings, not {value!r}")
    return items


def _axis(where: str, key: str, value: Any, grid: bool) -> list[Any]:
    """The values a block gives ``key``: a list is an axis in a grid; a point takes one value.
    ``workloads`` is a list for every point (the workloads evaluated on its netlist)."""
    if key == "workloads":
        names = _strings(f"{where}: workloads", value)
        bad = [n for n in names if n not in WORKLOADS]
        if bad:
            raise ValueError(f"{where}: workloads must be names of {list(WORKLOADS)}, not "
                             f"{bad[0]!r}")
        return [tuple(dict.fromkeys(names))]
    if isinstance(value, list):
        if not grid:
            raise ValueError(f"{where}: {key} of a [[point]] must be one value, not the list "
                             f"{value!r} (use a [[grid]] for combinations)")
        if not value:
            raise ValueError(f"{where}: {key} must list at least one value, not []")
        return value
    return [value]


def _config(where: str, point: dict[str, Any]) -> Any:
    """The golden config of one point; bad values raise naming the spec block and key."""
    try:
        kind = point["kind"]
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {list(KINDS)}, not {kind!r}")
        if point["overflow"] not in ("wrap", "saturate"):
            raise ValueError(f"overflow must be one of ['wrap', 'saturate'], not "
                             f"{point['overflow']!r}")
        if not isinstance(point["pipeline"], bool):
            raise ValueError(f"pipeline must be true or false, not {point['pipeline']!r}")
        if not isinstance(point["size"], str):
            raise ValueError(f"size must be a string N or RxC, not {point['size']!r}")
        (rows, cols), = parse_sizes(point["size"])
        # A point is the CLI's design options, so the kind's one options builder makes it.
        return config_from_args(argparse.Namespace(
            design=kind, weight=_format("weight", point["weight"]),
            act=_format("act", point["act"]), act_bits=None, acc_bits=point["acc_bits"],
            saturate=point["overflow"] == "saturate", pipeline=point["pipeline"],
            product=DEFAULT_PRODUCT, rows=rows, cols=cols, psum_bits=None, acc_depth=0))
    except (ValueError, TypeError) as err:
        raise ValueError(f"{where}: {err}") from None


def _format(key: str, name: Any) -> Any:
    if not isinstance(name, str):
        raise ValueError(f"{key} must be a format name, not {name!r}")
    try:
        return get_format(name)
    except ValueError as err:
        raise ValueError(f"{key}: {err}") from None


def _library(where: str, value: Any) -> tuple[Path | None, Path | None]:
    """``(liberty, cells_verilog)`` of a ``liberty`` axis value: None (the default library),
    a technology record's name (``flow.tech``) or a Liberty file path."""
    if value is None or value == "default":
        return None, None
    if not isinstance(value, str) or not value:
        raise ValueError(f"{where}: liberty must be 'default', one of {sorted(TECHNOLOGIES)} "
                         f"or a Liberty file path, not {value!r}")
    if value in TECHNOLOGIES:
        tech = TECHNOLOGIES[value]
        return tech.liberty, tech.cells_verilog
    return Path(value).expanduser().resolve(), None


def run_sweep(sweep: Sweep, out_dir: Path, *, cache_dir: Path = DEFAULT_CACHE,
              executor: Executor | None = None, progress: Callable[[str], None] = print,
              date: str | None = None) -> list[dict[str, Any]]:
    """Evaluate every point of ``sweep`` (cache first), write its output, return the summaries.

    An ``out_dir`` the report may not replace is refused before anything is evaluated.
    """
    from models.accuracy import cached_accuracy_study

    check_folder(out_dir)
    clock = _Clock(progress)
    clock(f"{'sweep':<9}{sweep.name}: {sweep.points} design points in "
          f"{len(sweep.studies)} stud{'y' if len(sweep.studies) == 1 else 'ies'}")
    summaries = []
    for index, study in enumerate(sweep.studies, 1):
        clock(f"{'study':<9}{index}/{len(sweep.studies)}: {len(study.configs)} designs at "
              f"{study.clock_ns:g} ns on {study.liberty or 'the default library'}")
        results = run_study(study, cache_dir=cache_dir, progress=clock, executor=executor)
        formats = tuple(dict.fromkeys(config.weight.name for config in study.configs))
        accuracy = cached_accuracy_study(cache_dir, formats, progress=clock)
        summaries.append(summarize(study, results, accuracy=accuracy, date=date))
    if len(summaries) == 1:
        write_report(summaries[0], out_dir)
        clock(f"{'report':<9}{Path(out_dir) / 'report.md'}")
    else:
        _write_many(summaries, out_dir)
        clock(f"{'written':<9}{out_dir}")
    return summaries


def sweep_csv(summaries: list[dict[str, Any]]) -> str:
    """The combined table: the report's CSV rows of every study, with its clock and library."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=("study", "clock_ns", "library", *CSV_COLUMNS),
                            lineterminator="\n")
    writer.writeheader()
    for index, summary in enumerate(summaries, 1):
        for row in csv_rows(summary):
            writer.writerow({"study": index, "clock_ns": summary["clock_ns"],
                             "library": summary["library"]["name"], **row})
    return buffer.getvalue()


def _write_many(summaries: list[dict[str, Any]], out_dir: Path) -> None:
    from flow.plots import sweep_pareto

    def write(folder: Path) -> None:
        for index, summary in enumerate(summaries, 1):
            sub = folder / f"study-{index}"
            sub.mkdir()
            write_report_files(summary, sub)
        (folder / "results.csv").write_text(sweep_csv(summaries), encoding="utf-8")
        sweep_pareto(summaries, folder / "pareto.png")

    write_folder(out_dir, write)
