"""flow.evaluate: the whole flow on a small MAC, its result JSON, and failures that leave none."""

from __future__ import annotations

import json
import math
from pathlib import Path

import jschon
import numpy as np
import pytest

from golden.mac import MACConfig
from golden.systolic import SystolicConfig
from flow.evaluate import (DEFAULT_WORKLOADS, MAC_SHAPE, MIN_UTILISATION, evaluate,
                           workload_codes, workload_shape)
from flow.liberty import read_liberty
from flow.tools import DEFAULT_LIBERTY

SCHEMA = Path(__file__).resolve().parents[2] / "flow" / "result_schema.json"


def _validator() -> jschon.JSONSchema:
    jschon.create_catalog("2020-12")
    return jschon.JSONSchema(json.loads(SCHEMA.read_text()))

# One xdist worker runs this whole module, so its expensive module fixture runs once.
pytestmark = pytest.mark.xdist_group("flow_evaluate")


@pytest.fixture(scope="module")
def run(build_root: Path) -> tuple[dict, Path, list[str]]:
    lines: list[str] = []
    out = build_root / "flow_evaluate"
    result = evaluate(MACConfig("dint4"), out_dir=out, seed=3, progress=lines.append)
    return result, out / result["design"]["name"], lines


def test_result_validates_against_schema(run: tuple) -> None:
    result, folder, _ = run
    schema = _validator()
    assert schema.validate().valid
    outcome = schema.evaluate(jschon.JSON(result))
    assert outcome.valid, outcome.output("basic")
    assert json.loads((folder / "result.json").read_text()) == result


@pytest.mark.parametrize("mutate", [
    lambda r: r["power"]["workloads"]["minilm"].pop("energy_per_mac_pj"),
    lambda r: r["area"].update(total_um2="big"),
    lambda r: r["timing"].update(fmax=1.0),
    lambda r: r["power"]["workloads"].update(gaussian=r["power"]["workloads"]["minilm"]),
    lambda r: r.update(schema="qmac.result/2"),
], ids=["missing-field", "wrong-type", "unknown-field", "unknown-workload", "wrong-schema"])
def test_schema_rejects_malformed_results(run: tuple, mutate) -> None:
    result = json.loads(json.dumps(run[0]))
    mutate(result)
    assert not _validator().evaluate(jschon.JSON(result)).valid


def test_energy_and_power_arithmetic(run: tuple) -> None:
    result, _, _ = run
    clock = result["clock_ns"]
    for name, w in result["power"]["workloads"].items():
        assert w["total_mw"] == pytest.approx(w["internal_mw"] + w["switching_mw"]
                                              + w["leakage_mw"])
        assert w["energy_per_mac_pj"] == pytest.approx(w["total_mw"] * clock * w["cycles"]
                                                       / w["macs"])
        assert w["energy_per_op_pj"] == pytest.approx(w["energy_per_mac_pj"] / 2)
        assert w["shape"] == list(MAC_SHAPE) and w["seed"] == 3
        assert w["macs"] == MAC_SHAPE[0] * MAC_SHAPE[1] * MAC_SHAPE[2]
        assert w["netlist_matches_golden"] is True
        assert (Path(run[1]) / w["vcd"]).exists()
    vectorless = result["power"]["vectorless"]
    assert vectorless["energy_per_mac_pj"] == pytest.approx(vectorless["total_mw"] * clock)
    assert vectorless["input_activity"] == 0.1


def test_power_is_the_engines_with_openstas_beside_it(run: tuple) -> None:
    result, _, _ = run
    for w in result["power"]["workloads"].values():
        assert w["engine"] == "qmac"
        parts = w["breakdown"]
        assert parts["edge_mw"] == pytest.approx(w["total_mw"])  # a MAC has no PEs
        assert parts["sequential_mw"] + parts["combinational_mw"] == pytest.approx(w["total_mw"])
        assert w["opensta"]["leakage_mw"] == pytest.approx(w["leakage_mw"], rel=1e-3)
        assert w["opensta"]["total_mw"] > 0


def test_mac_power_with_glitches_is_labelled_and_larger(run: tuple) -> None:
    """SDF delays only add transitions (glitches): never less dynamic power than zero delay."""
    result, _, _ = run
    for name, w in result["power"]["workloads"].items():
        timed = w["with_glitches"]
        assert timed["leakage_mw"] == pytest.approx(w["leakage_mw"], rel=0.05)
        assert timed["internal_mw"] + timed["switching_mw"] >= \
            0.99 * (w["internal_mw"] + w["switching_mw"])
        assert timed["energy_per_mac_pj"] == pytest.approx(
            timed["total_mw"] * result["clock_ns"] * w["cycles"] / w["macs"])
    assert result["power"]["workloads"]["uniform"]["with_glitches"]["glitch_share"] > 0.1


def test_zero_workload_spends_less_dynamic_energy_than_random(run: tuple) -> None:
    workloads = run[0]["power"]["workloads"]

    def dynamic(w: dict) -> float:
        return (w["internal_mw"] + w["switching_mw"]) * w["cycles"] / w["macs"]

    assert dynamic(workloads["zeros"]) < 0.5 * dynamic(workloads["uniform"])
    assert dynamic(workloads["zeros"]) < dynamic(workloads["minilm"])
    assert dynamic(workloads["zeros"]) < dynamic(workloads["synthetic"])
    assert workloads["zeros"]["mean_net_activity"] < 0.01 < workloads["uniform"][
        "mean_net_activity"]


def test_area_matches_cells_and_library(run: tuple) -> None:
    area = run[0]["area"]
    library = read_liberty(DEFAULT_LIBERTY)
    assert area["total_um2"] == pytest.approx(sum(
        c["count"] * library.cell(name).area for name, c in area["cells"].items()))
    assert area["total_um2"] == pytest.approx(area["sequential_um2"] + area["combinational_um2"])


def test_records_design_library_tools_and_files(run: tuple) -> None:
    result, folder, lines = run
    config = MACConfig("dint4")
    assert result["design"] == {"name": config.name, "kind": "mac", "params": config.params(),
                                "macs_per_cycle": 1}
    assert result["library"]["name"] == "osu018_stdcells"
    assert result["tools"]["sta"] and result["tools"]["yosys"].startswith("Yosys")
    for name in result["files"].values():
        assert (folder / name).is_file()
    steps = [line.split()[0] for line in lines]
    assert steps == ["export", "synth", *["gatesim"] * len(DEFAULT_WORKLOADS), "sta", "power",
                     "done"]
    assert all(config.name in line and line.endswith(" s)") for line in lines)


@pytest.mark.parametrize("rows, cols", [(2, 2), (4, 8), (16, 16)])
def test_array_shape_streams_two_tiles_at_steady_utilisation(rows: int, cols: int) -> None:
    config = SystolicConfig(rows=rows, cols=cols, weight="dint4")
    m, k, n = workload_shape(config)
    assert (k, n) == (2 * rows, cols)

    def utilisation(rows_m: int) -> float:
        trace = config.gemm_trace(np.zeros((rows_m, k), dtype=np.int64),
                                  np.zeros((k, n), dtype=np.int64))
        return trace.macs / (trace.cycles * rows * cols)

    assert utilisation(m) >= MIN_UTILISATION > utilisation(m - 1)


def test_mac_shape_streams_ten_thousand_macs() -> None:
    assert MAC_SHAPE[0] * MAC_SHAPE[1] * MAC_SHAPE[2] >= 10_000


def test_steady_window_energy_is_at_peak_throughput(run: tuple) -> None:
    """The MAC's steady window is its valid stream; energy per MAC there = power x period."""
    result = run[0]
    for w in result["power"]["workloads"].values():
        steady = w["steady"]
        start, end = steady["window"]
        assert steady["cycles"] == end - start == steady["macs"] == w["macs"]
        assert steady["energy_per_mac_pj"] == pytest.approx(steady["total_mw"]
                                                            * result["clock_ns"])


def test_failed_run_leaves_the_published_folder_alone(run: tuple, build_root: Path) -> None:
    """The failing run works in its private job folder: the published one keeps its complete
    previous result, and the failure's logs stay in the hidden job folder."""
    out = build_root / "flow_evaluate"
    folder = run[1]
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    jobs = set(out.glob(f".{folder.name}.job-*"))
    bad = build_root / "flow_evaluate_bad.lib"
    bad.write_text("library (broken) {\n  cell (X) { area : ; \n")
    with pytest.raises(ValueError, match=r"^liberty file .*flow_evaluate_bad\.lib is not a "
                                         r"Liberty library"):
        evaluate(MACConfig("dint4"), liberty=bad, out_dir=out, workloads=("zeros",),
                 progress=lambda _: None)
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before
    failed = set(out.glob(f".{folder.name}.job-*")) - jobs
    assert len(failed) == 1 and (failed.pop() / folder.name / f"{folder.name}.v").exists()


@pytest.mark.parametrize("kwargs, message", [
    ({"clock_ns": 0}, r"^clock_ns must be a positive finite number of nanoseconds, not 0$"),
    ({"clock_ns": math.inf}, r"^clock_ns must be a positive finite number of nanoseconds, "
                             r"not inf$"),
    ({"clock_ns": math.nan}, r"^clock_ns must be a positive finite number of nanoseconds, "
                             r"not nan$"),
    ({"workloads": ("gaussian",)}, r"^workloads must be a non-empty selection of "
                                   r"\['minilm', 'synthetic', 'uniform', 'zeros'\], "
                                   r"not \['gaussian'\]$"),
    ({"workloads": ()}, r"^workloads must be a non-empty selection of .*, not \[\]$"),
    ({"seed": -2}, r"^seed must be a non-negative integer, not -2$"),
])
def test_bad_arguments(kwargs: dict, message: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=message):
        evaluate(MACConfig("int4"), out_dir=tmp_path, **kwargs)


def test_missing_liberty_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"^liberty file '/nonexistent/x.lib' does not exist$"):
        evaluate(MACConfig("int4"), liberty="/nonexistent/x.lib", out_dir=tmp_path)


def test_systolic_array_flow(build_root: Path) -> None:
    """A 2 x 2 array: per-PE and edge area from the hierarchy, gate-level run matches golden."""
    config = SystolicConfig(rows=2, cols=2, weight="dint4")
    result = evaluate(config, out_dir=build_root / "flow_evaluate_array",
                      workloads=("uniform", "zeros"), progress=lambda _: None)
    assert _validator().evaluate(jschon.JSON(result)).valid
    area = result["area"]
    assert area["pe_count"] == 4
    assert 0 < area["pe_um2"] and 0 < area["edge_um2"] < area["total_um2"]
    assert area["pe_um2"] * 4 + area["edge_um2"] == pytest.approx(area["total_um2"])
    assert result["design"]["macs_per_cycle"] == 4
    uniform, zeros = result["power"]["workloads"]["uniform"], result["power"]["workloads"]["zeros"]
    assert uniform["netlist_matches_golden"] and uniform["shape"] == list(workload_shape(config))
    assert uniform["macs"] >= MIN_UTILISATION * uniform["cycles"] * 4
    steady = uniform["steady"]
    assert steady["window"][0] == 2 + 2 + 2 - 2, "first row after the 2 loads, array full later"
    assert steady["energy_per_mac_pj"] < uniform["energy_per_mac_pj"]
    assert zeros["internal_mw"] + zeros["switching_mw"] < uniform["internal_mw"] + uniform[
        "switching_mw"]


@pytest.mark.parametrize("workload", DEFAULT_WORKLOADS)
def test_workloads_draw_activations_in_the_designs_format(workload: str) -> None:
    """Before: the flow drew INT8 activations for every design, and an FP8 E4M3-activation MAC
    stopped the report (code -127 is not an FP8 code)."""
    config = MACConfig("fp4", act="fp8e4m3")
    a_codes, w_codes = workload_codes(config, workload, seed=0)
    assert a_codes.shape == (MAC_SHAPE[0], MAC_SHAPE[1]) and w_codes.shape == MAC_SHAPE[1:]
    assert np.isin(a_codes, config.act.finite_codes).all()
    assert np.isin(w_codes, config.weight.finite_codes).all()
    config.gemm_trace(a_codes, w_codes)  # the golden model accepts them


def test_a_liberty_without_cell_models_runs_on_generated_ones(build_root: Path) -> None:
    """sky130 HD ships no Verilog models: the gate-level step uses models generated from its
    Liberty and the SDF glitch replay (which needs timing-aware models) is left out. Before,
    osu018's models were used and the sky130 netlist failed to compile."""
    from flow.tech import TECHNOLOGIES

    result = evaluate(MACConfig("int4", acc_bits=16), liberty=TECHNOLOGIES["sky130hd"].liberty,
                      workloads=("uniform",), out_dir=build_root / "flow_sky130",
                      progress=lambda line: None)
    uniform = result["power"]["workloads"]["uniform"]
    assert result["library"]["cells_verilog"] is None
    assert result["library"]["name"].startswith("sky130_fd_sc_hd")
    assert uniform["netlist_matches_golden"] and "with_glitches" not in uniform


def test_block_scaled_mac_runs_through_the_flow(build_root: Path) -> None:
    """``block_mac`` has a workload in its kind's record, so the flow evaluates it: block
    scales quantized from the workload's own data drive the netlist, checked against golden."""
    from golden.blockmac import BlockMACConfig

    config = BlockMACConfig("mxfp4", "mxint8", acc_bits=28, frac_bits=12)
    result = evaluate(config, workloads=("synthetic",), out_dir=build_root / "flow_block",
                      progress=lambda line: None)
    synthetic = result["power"]["workloads"]["synthetic"]
    assert result["design"]["kind"] == "block_mac" and synthetic["netlist_matches_golden"]
    assert synthetic["macs"] == 40 * 128 * 2 and synthetic["energy_per_mac_pj"] > 0
