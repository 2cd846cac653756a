"""Study definition (designs, sizes, clock) and the result cache key of the report."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

import qmac_cli
from fake_flow import fake_result
from flow import cache, tables
from flow import report as rep
from flow.recipes import RECIPES
from flow.report import QUICK_RECIPES, format_rows, make_study, parse_designs, parse_recipes, \
    parse_sizes
from golden.mac import MACConfig

KEY_INPUTS = {"library_digest": "lib", "clock_ns": 10.0, "workloads": ("minilm", "zeros"),
              "seed": 0, "tools": {"yosys": "0.1", "sta": "2.0"}, "flow_version": "abc"}
PARAMS = {"kind": "mac", "weight": "dint4", "act_bits": 8, "acc_bits": 24}


def test_default_study_is_the_issue_comparison() -> None:
    study = make_study()
    names = [c.name for c in study.configs]
    macs = [(c.weight.name, c.act.name) for c in study.configs if c.kind == "mac"]
    assert macs[:3] == [("int8", "int8"), ("int4", "int8"), ("dint4", "int8")]
    assert {("fp4", "int8"), ("fp8e4m3", "int8"), ("nf4", "int8"), ("ternary", "int8"),
            ("fp4", "fp8e4m3")} <= set(macs)
    arrays = {(c.rows, c.cols, c.weight.name) for c in study.configs if c.kind == "systolic"}
    assert {(8, 8, "fp4"), (8, 8, "ternary"), (4, 4, "dint4"), (8, 8, "int8")} <= arrays
    assert {(16, 16, "int8"), (16, 16, "dint4"), (16, 16, "fp4"), (16, 16, "ternary")} <= arrays
    assert sorted({(r, c) for r, c, _ in arrays}) == [(4, 4), (8, 8), (16, 16)]
    blocks = {(c.weight.name, c.act.name) for c in study.configs if c.kind == "block_mac"}
    assert blocks == {("mxfp4", "mxint8"), ("nvfp4", "int8")}
    assert len(names) == len(set(names))
    assert study.workloads == ("minilm", "synthetic", "uniform", "zeros")
    assert study.headline_workload == "minilm"
    assert study.clock_ns == 10.0 and study.seed == 0


def test_quick_study_has_macs_and_two_by_two_arrays() -> None:
    study = make_study(quick=True)
    assert {(c.kind, getattr(c, "rows", None)) for c in study.configs} == {
        ("mac", None), ("systolic", 2), ("block_mac", None)}
    assert len(study.configs) == 7


@pytest.mark.parametrize("text, kinds, formats", [
    ("dint4", ("mac", "systolic"), ("dint4",)),
    ("mac", ("mac",), ("int8", "int4", "dint4")),
    ("systolic,INT4,int8", ("systolic",), ("int4", "int8")),
    ("dint4f2, mac", ("mac",), ("dint4f2",)),
])
def test_parse_designs(text: str, kinds: tuple, formats: tuple) -> None:
    assert parse_designs(text) == (kinds, formats)


def test_custom_study_notes_the_added_baseline() -> None:
    study = make_study("mac,dint4", clock_ns=5, workloads=("uniform",))
    assert [c.weight.name for c in study.configs] == ["int8", "dint4"]
    assert study.notes and "baseline" in study.notes[0]
    assert study.headline_workload == "uniform"
    assert make_study("mac").notes == ()


@pytest.mark.parametrize("text, sizes", [("4,8", ((4, 4), (8, 8))), ("4x8, 2", ((4, 8), (2, 2)))])
def test_parse_sizes(text: str, sizes: tuple) -> None:
    assert parse_sizes(text) == sizes


def test_bad_designs_and_sizes_are_named() -> None:
    with pytest.raises(ValueError, match=r"^designs must be a comma list of kinds .*not 'fp8'$"):
        parse_designs("mac,fp8")
    with pytest.raises(ValueError, match=r"^sizes must be a comma list of N or RxC .*not '0x4'$"):
        parse_sizes("4,0x4")
    for clock_ns in (-1, math.inf, math.nan):
        with pytest.raises(ValueError, match=rf"^clock_ns must be a positive finite number of "
                                             rf"nanoseconds, not {clock_ns!r}$"):
            make_study(clock_ns=clock_ns)


def test_cache_key_covers_every_input() -> None:
    base = cache.cache_key(PARAMS, **KEY_INPUTS)
    assert base == cache.cache_key(dict(reversed(PARAMS.items())), **KEY_INPUTS)
    changes = {"library_digest": "lib2", "clock_ns": 20.0, "workloads": ("minilm",), "seed": 1,
               "tools": {"yosys": "0.2", "sta": "2.0"}, "flow_version": "abd"}
    keys = {cache.cache_key({**PARAMS, "acc_bits": 25}, **KEY_INPUTS)}
    keys |= {cache.cache_key(PARAMS, **{**KEY_INPUTS, name: value})
             for name, value in changes.items()}
    assert base not in keys and len(keys) == len(changes) + 1


def test_source_digest_ignores_presentation_modules(tmp_path: Path) -> None:
    for rel in ("golden/a.py", "hw/b.py", "flow/evaluate.py", "flow/report.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x = 1\n")
    before = cache.source_digest(tmp_path)
    (tmp_path / "flow/report.py").write_text("x = 2\n")
    assert cache.source_digest(tmp_path) == before
    (tmp_path / "flow/evaluate.py").write_text("x = 2\n")
    assert cache.source_digest(tmp_path) != before


def test_result_cache_round_trip(tmp_path: Path) -> None:
    store = cache.ResultCache(tmp_path)
    config = MACConfig("int8")
    assert store.get("k") is None
    for power in (1.5, 2.5):
        with store.lock("k"):
            job = store.new_job("k")
            (job / "netlist.v").write_text("module m; endmodule\n")
            store.put("k", job, fake_result(config, total_mw=power))
    assert store.get("k") == fake_result(config, total_mw=2.5)
    assert sorted(p.name for p in (tmp_path / "k").iterdir()) == ["netlist.v", "result.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k", "k.lock"], "job folders left"


def test_cli_names_a_missing_library(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    missing = tmp_path / "missing.lib"
    assert qmac_cli.main(["report", "--quick", "--liberty", str(missing),
                          "-o", str(tmp_path / "out"), "--cache", str(tmp_path / "cache")]) == 1
    err = capsys.readouterr().err
    assert err == f"qmac report: error: liberty file '{missing}' does not exist\n"
    assert not (tmp_path / "out").exists()


def test_cli_rejects_bad_sizes(capsys: pytest.CaptureFixture) -> None:
    assert qmac_cli.main(["report", "--sizes", "4,x"]) == 2
    assert capsys.readouterr().err.startswith("qmac report: error: sizes must be a comma list")


def test_recipes_of_a_study() -> None:
    assert make_study().portfolio == tuple(RECIPES)
    assert make_study(quick=True).portfolio == QUICK_RECIPES
    assert make_study(recipes=("booth", "booth")).portfolio == ("booth",)
    assert parse_recipes(" default, booth ") == ("default", "booth")
    assert parse_recipes(None) is None
    with pytest.raises(ValueError, match=r"^recipe must be one of \[.*\], not 'fast'$"):
        parse_recipes("default,fast")
    with pytest.raises(ValueError, match=r"^recipes must name at least one of \[.*\], not ','$"):
        parse_recipes(",")


def test_cli_rejects_an_unknown_recipe(capsys: pytest.CaptureFixture) -> None:
    assert qmac_cli.main(["report", "--recipes", "default,fast"]) == 2
    assert capsys.readouterr().err.startswith("qmac report: error: recipe must be one of [")
    with pytest.raises(SystemExit):
        qmac_cli.main(["synth", "--recipe", "fast"])
    assert "argument --recipe: invalid choice: 'fast'" in capsys.readouterr().err


def test_energy_scaling_paragraph_follows_the_data() -> None:
    """Energy per MAC vs array size: ratios to the MAC and edge shares come from the results."""
    study = rep.make_study("mac,systolic,int8", sizes="2x2,4x4", workloads=("synthetic",))
    results = []
    for config, pj, total_mw, edge_mw in zip(study.configs, (10.0, 8.0, 7.5), (1.0, 3.2, 12.0),
                                             (None, 0.8, 1.5)):
        result = fake_result(config, workloads=study.workloads, total_mw=total_mw)
        workload = result["power"]["workloads"]["synthetic"]
        workload["energy_per_mac_pj"] = pj
        if edge_mw is not None:
            workload["breakdown"] = {"edge_mw": edge_mw, "pe_mw": total_mw - edge_mw}
        results.append(result)
    summary = rep.summarize(study, results)
    levels = summary["energy_scaling"]["formats"]["INT8xINT8"]
    assert [level["label"] for level in levels] == ["INT8xINT8 MAC", "INT8xINT8 2x2",
                                                    "INT8xINT8 4x4"]
    assert [level["vs_mac"] for level in levels] == pytest.approx([1.0, 0.8, 0.75])
    assert [level["edge_share_pct"] for level in levels] == pytest.approx([None, 25.0, 12.5])
    text = tables._scaling_paragraph(summary)
    assert re.fullmatch(
        r"INT8xINT8: energy per MAC is 10\.0 pJ in the INT8xINT8 MAC, 8\.00 pJ in the "
        r"INT8xINT8 2x2 \(0\.80× the MAC\), 7\.50 pJ in the INT8xINT8 4x4 \(0\.75× the MAC\); "
        r"lowest in the INT8xINT8 4x4\. Among the arrays it falls with size\. "
        r"The edge logic outside the PEs takes 25\.0 % of the INT8xINT8 2x2's power, 12\.5 % of "
        r"the INT8xINT8 4x4's power\. That share falls as the array grows: .*", text), text


def test_format_table_rows_name_bits_values_product_width_and_datapath() -> None:
    rows = {(r["weight"], r["act"]): r for r in format_rows(make_study())}
    fp4 = rows["fp4", "int8"]
    assert (fp4["bits"], fp4["values"], fp4["value_max"], fp4["smallest_nonzero"]) == \
        (4, 15, 6.0, 0.5)
    assert (fp4["product_bits"], fp4["datapath"]) == (12, "fp_sign_magnitude")
    assert rows["ternary", "int8"]["values"] == 3
    assert rows["ternary", "int8"]["datapath"] == "ternary_mux"
    assert rows["fp4", "fp8e4m3"]["act_datapath"] == "fp_sign_magnitude"
    assert rows["nf4", "int8"]["datapath"] == "lut_fixed_point"
    assert (fp4["bits_per_element"], fp4["act_bits_per_element"]) == (4.0, 8.0)
    assert (rows["mxfp4", "mxint8"]["bits_per_element"],
            rows["mxfp4", "mxint8"]["act_bits_per_element"]) == (4.25, 8.25)
    assert rows["nvfp4", "int8"]["bits_per_element"] == 4.5


def test_block_mac_rows_compare_with_the_element_wise_macs() -> None:
    """A block MAC's ratios are against the INT8 and dINT4 MACs of the study (block / rival),
    its baseline for the ratio table is the plain INT8 MAC, and the paragraph follows the data."""
    import tomllib

    from flow.sweep import parse_spec

    (study,) = parse_spec(tomllib.loads("""
workloads = ["synthetic"]
[[grid]]
kind = "mac"
weight = ["int8", "dint4"]
[[grid]]
kind = "block_mac"
weight = "nvfp4"
act = "int8"
""")).studies
    costs = {"mac_int8": (200.0, 4.0), "mac_dint4": (100.0, 2.0), "blockmac": (300.0, 5.0)}
    results = []
    for config in study.configs:
        result = fake_result(config, workloads=study.workloads)
        area, pj = next(v for k, v in costs.items() if config.name.startswith(k))
        result["area"]["total_um2"] = area
        result["power"]["workloads"]["synthetic"]["energy_per_mac_pj"] = pj
        results.append(result)
    summary = rep.summarize(study, results)
    (row,) = summary["block_scaled"]["rows"]
    assert (row["label"], row["weight_bits_per_element"], row["act_bits_per_element"]) == \
        ("NVFP4xINT8 block MAC", 4.5, 8.0)
    assert [(r["label"], r["area_ratio"], r["energy_ratio"]) for r in row["against"]] == [
        ("INT8xINT8 MAC", 1.5, 1.25), ("dINT4xINT8 MAC", 3.0, 2.5)]
    block = next(d for d in summary["designs"] if d["kind"] == "block_mac")
    assert block["derived"]["vs_int8"]["baseline"] == study.configs[0].name
    text = tables._block_paragraph(summary)
    assert text.startswith(
        "The NVFP4xINT8 block MAC stores 4.5 weight and 8 activation bits per element (block "
        "scale included) and measures 300 um² and 5.00 pJ/MAC with a 48-bit accumulator: 1.50× "
        "the area and 1.25× the energy of the INT8xINT8 MAC (28-bit accumulator); 3.00× the "
        "area and 2.50× the energy of the dINT4xINT8 MAC (24-bit accumulator)."), text
