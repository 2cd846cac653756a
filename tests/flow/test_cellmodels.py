"""flow.cellmodels: Liberty functions as Verilog, and generated models that simulate like the
library's own (osu018) and compile for other libraries (osu035, sky130 HD)."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from golden.mac import MACConfig
from golden.workloads import make_workload
from hw.export import export
from flow.cellmodels import cell_models, verilog_expr
from flow.gatesim import generated_models, simulate
from flow.process import run_tool
from flow.synth import synthesize
from flow.tools import DEFAULT_CELLS_VERILOG, DEFAULT_LIBERTY, find_tools
from sim.toolchain import setup_simulator

ROOT = Path(__file__).resolve().parents[2]
OSU035 = Path("/usr/share/qflow/tech/osu035/osu035_stdcells.lib")


def _sky130() -> Path:
    """sky130 HD typical Liberty: ``$QMAC_SHARED/tech`` or a ``shared/tech`` beside the clone."""
    roots = [Path(os.environ["QMAC_SHARED"])] if "QMAC_SHARED" in os.environ else []
    roots += [ROOT.parent / "shared", ROOT.parent.parent / "shared"]
    for root in roots:
        path = root / "tech" / "sky130hd_tt.lib.gz"
        if path.is_file():
            return path
    pytest.fail(f"sky130hd_tt.lib.gz not found under {[str(r / 'tech') for r in roots]}")


@pytest.mark.parametrize("function, expected", [
    ("(!A)", "(~A)"),
    ("A'", "(~A)"),
    ("A B", "(A & B)"),
    ("A*B+C", "((A & B) | C)"),
    ("(A1&A2) | (B1)", "((A1 & A2) | B1)"),
    ("A^B C", "((A ^ B) & C)"),
    ("!(A+B)'", "(~(~(A | B)))"),
    ("A | 1", "(A | 1'b1)"),
])
def test_liberty_function_becomes_verilog(function: str, expected: str) -> None:
    assert verilog_expr(function) == expected


@pytest.mark.parametrize("function, message", [
    ("A + ", r"^Liberty function 'A \+ ' ends early$"),
    ("(A B", r"^Liberty function '\(A B' misses a '\)'$"),
    ("A $ B", r"^Liberty function 'A \$ B' has an unexpected '\$'$"),
])
def test_bad_function_is_a_one_line_error(function: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        verilog_expr(function)


def _truth_table(expr: str, names: list[str]) -> list[int]:
    """Evaluate a generated Verilog expression in Python over every input combination."""
    python = expr.replace("~", " 1 ^ ").replace("1'b", "")
    return [eval(python, {}, dict(zip(names, bits)))  # noqa: S307 - our own generated text
            for bits in itertools.product((0, 1), repeat=len(names))]


def test_precedence_matches_liberty() -> None:
    """Inversion, then xor, then and, then or: ``A + B ^ C D'`` = A | ((B ^ C) & ~D)."""
    names = ["A", "B", "C", "D"]
    got = _truth_table(verilog_expr("A + B ^ C D'"), names)
    want = [a | ((b ^ c) & (1 - d)) for a, b, c, d in itertools.product((0, 1), repeat=4)]
    assert got == want


def test_unparsable_liberty_is_a_value_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.lib"
    bad.write_text("library (x) { cell (A) { pin (Y) { function : \"A\" ; }\n")
    with pytest.raises(ValueError, match=rf"^liberty file {bad} cannot be parsed: "):
        cell_models(bad)

# One xdist worker runs this whole module, so its expensive module fixture runs once.
pytestmark = pytest.mark.xdist_group("flow_cellmodels")


@pytest.fixture(scope="module")
def mac_netlist(build_root: Path) -> tuple[MACConfig, Path]:
    config = MACConfig("int8")
    job = build_root / "flow_cellmodels" / config.name
    export(config, job)
    return config, synthesize(job / f"{config.name}.v", config.name, DEFAULT_LIBERTY, job,
                              find_tools().yosys).netlist


def test_generated_models_simulate_like_the_library_models(mac_netlist: tuple) -> None:
    """Same netlist and workload on Icarus: osu018's own models vs models from its Liberty."""
    config, netlist = mac_netlist
    trace = config.gemm_trace(*make_workload("uniform", 4, 32, 2, config.weight, seed=11))
    job = netlist.parent
    own = simulate(trace, config.name, netlist, job / "own", liberty=DEFAULT_LIBERTY,
                   cells_verilog=DEFAULT_CELLS_VERILOG, bench_dir=job / "bench_own")
    generated = simulate(trace, config.name, netlist, job / "generated", liberty=DEFAULT_LIBERTY,
                         bench_dir=job / "bench_generated")
    assert generated.activity.toggles == own.activity.toggles
    assert generated.activity.duty == pytest.approx(own.activity.duty)
    assert sum(own.activity.toggles.values()) > 10 * trace.cycles


@pytest.mark.parametrize("library", ["osu018", "osu035", "sky130hd"])
def test_generated_models_compile(library: str, build_root: Path) -> None:
    liberty = {"osu018": DEFAULT_LIBERTY, "osu035": OSU035, "sky130hd": None}[library]
    liberty = liberty or _sky130()
    folder = build_root / "flow_cellmodels" / library
    models = generated_models(liberty, folder)
    text = models.read_text()
    assert text.count("\nmodule ") >= 30
    done = run_tool(["iverilog", "-g2005", "-o", os.devnull, str(models)], timeout=300)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
    setup_simulator("verilator")
    done = run_tool(["verilator", "--lint-only", "-Wno-fatal", "-Wno-lint", "-Wno-style",
                     "-Wno-MULTITOP", str(models)], timeout=600)
    assert done.returncode == 0 and "%Error" not in done.stderr, done.stderr[-2000:]
