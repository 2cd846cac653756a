"""The quick report, end to end through the real flow: files, tables vs JSON, provenance, cache,
and the report folder it may (and may not) replace."""

from __future__ import annotations

import copy
import csv
import json
import re
import shutil
from pathlib import Path

import pytest

import flow.evaluate
import qmac_cli
from flow import report as rep
from flow.executors import SerialExecutor
from flow.folders import MARKER

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PLOTS = ("area_breakdown.png", "energy_per_mac.png", "scaling.png", "area_vs_energy.png",
         "ratios.png")

# One xdist worker runs this whole module, so its expensive module fixture runs once.
pytestmark = pytest.mark.xdist_group("flow_report")


@pytest.fixture(scope="module")
def quick(build_root: Path) -> dict:
    """Run ``qmac report --quick`` from an empty cache; returns paths, data and progress lines."""
    shutil.rmtree(build_root / "test_report", ignore_errors=True)
    cache = build_root / "test_report" / "cache"
    out = build_root / "test_report" / "quick"
    lines: list[str] = []
    study = rep.make_study(quick=True, command="qmac report --quick")
    summary = rep.report(study, out, cache_dir=cache, progress=lines.append)
    return {"study": study, "summary": summary, "out": out, "cache": cache, "lines": lines,
            "md": (out / "report.md").read_text(encoding="utf-8"),
            "json": json.loads((out / "results.json").read_text(encoding="utf-8"))}


def parse_tables(markdown: str) -> dict[str, list[dict[str, str]]]:
    """Section title -> rows (header -> cell) of the table under that ``##`` heading."""
    tables: dict[str, list[dict[str, str]]] = {}
    title = None
    header: list[str] | None = None
    for line in markdown.splitlines():
        if line.startswith("## "):
            title, header = line[3:].strip(), None
            continue
        if not line.startswith("|") or title is None:
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
            tables[title] = []
        elif not set("".join(cells)) <= set(":-"):
            tables[title].append(dict(zip(header, cells)))
    return tables


def close_to_display(cell: str, value: float | None) -> bool:
    """``cell`` is ``value`` rounded to the digits ``cell`` shows (``n/a`` for None)."""
    if value is None or cell == "n/a":
        return value is None and cell == "n/a"
    decimals = len(cell.split(".")[1]) if "." in cell else 0
    return abs(float(cell) - value) <= 0.5 * 10.0 ** -decimals * (1 + 1e-9) + 1e-12 * abs(value)


_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?!\w)")


def _json_numbers_and_strings(data: object) -> tuple[list[float], list[str]]:
    numbers: list[float] = []
    strings: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            strings.extend(k for k in node if isinstance(k, str))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, bool) or node is None:
            pass
        elif isinstance(node, (int, float)):
            numbers.append(float(node))
        elif isinstance(node, str):
            strings.append(node)

    walk(data)
    return numbers, strings


def unexplained_numbers(markdown: str, data: dict) -> list[str]:
    """Numbers in ``markdown`` that are not a value of ``data`` at the precision shown.

    Text that is itself a string of the JSON (design names, dates, tool versions, definitions)
    is removed first; numbers glued to letters (INT8, 4x4) are identifiers, not figures.
    """
    numbers, strings = _json_numbers_and_strings(data)
    text = markdown
    for string in sorted(set(strings), key=len, reverse=True):
        if len(string) >= 3:
            text = text.replace(string, " ")
    return [token for token in _NUMBER.findall(text)
            if not any(close_to_display(token, v) for v in numbers)]


def _by_label(data: dict) -> dict[str, dict]:
    return {d["label"]: d for d in data["designs"]}


def test_quick_report_writes_every_file(quick: dict) -> None:
    out = quick["out"]
    for name in ("report.md", "results.json", "results.csv", *PLOTS):
        assert (out / name).is_file(), f"{name} missing from {out}"
    for name in PLOTS:
        assert (out / name).read_bytes()[:8] == PNG_MAGIC, f"{name} is not a PNG"
        assert f"]({name})" in quick["md"], f"report.md does not show {name}"
    assert not list(out.parent.glob(".quick.*")), "temporary report folders left behind"
    data = quick["json"]
    assert data["schema"] == "qmac.report/1"
    assert [d["name"] for d in data["designs"]] == [c.name for c in quick["study"].configs]
    assert {d["kind"] for d in data["designs"]} == {"mac", "systolic", "block_mac"}
    for d in data["designs"]:
        for workload in quick["study"].workloads:
            assert d["result"]["power"]["workloads"][workload]["netlist_matches_golden"] is True


def test_report_header_states_provenance(quick: dict) -> None:
    md, data = quick["md"], quick["json"]
    for version in data["tools"].values():
        assert version in md
    assert data["date"] in md and data["qmac"] in md
    assert data["library"]["name"] in md
    assert "make report" in md
    assert "**Headline:**" in md


def test_every_number_in_markdown_comes_from_results_json(quick: dict) -> None:
    assert unexplained_numbers(quick["md"], quick["json"]) == []


def test_provenance_check_catches_typed_in_and_stale_numbers(quick: dict) -> None:
    typed_in = quick["md"].replace("**Headline:**", "**Headline:** 1234.5 pJ;")
    assert unexplained_numbers(typed_in, quick["json"]) == ["1234.5"]
    stale = copy.deepcopy(quick["json"])
    for d in stale["designs"]:
        d["result"]["area"]["total_um2"] *= 1.37
        d["derived"]["area_per_mac_um2"] *= 1.37
    assert unexplained_numbers(quick["md"], stale), "areas scaled by 1.37 went unnoticed"


def test_tables_are_consistent_with_json(quick: dict) -> None:
    tables = parse_tables(quick["md"])
    data = quick["json"]
    designs = _by_label(data)
    area_rows = tables["Designs and area"]
    assert [r["Design"] for r in area_rows] == [d["label"] for d in data["designs"]]
    formats = {r["Weight x activation"]: r for r in tables["Formats"]}
    assert [f"{f['weight']} x {f['act']}" for f in data["formats"]] == list(formats)
    assert formats["dint4 x int8"]["Datapath (weight x act)"] == "dint_shift_mux x int_multiplier"
    for row in area_rows:
        area = designs[row["Design"]]["result"]["area"]
        assert row["Cells"] == str(area["cell_count"])
        for column, key in (("Area (um²)", "total_um2"), ("Sequential (um²)", "sequential_um2"),
                            ("Combinational (um²)", "combinational_um2"),
                            ("Per PE (um²)", "pe_um2"), ("Edge logic (um²)", "edge_um2")):
            assert close_to_display(row[column], area[key]), (row["Design"], column, row[column])
        assert row["Accumulator bits"] == str(designs[row["Design"]]["acc_bits"])
    for row in tables["Timing and area efficiency"]:
        d = designs[row["Design"]]
        assert close_to_display(row["Fmax (MHz)"], d["result"]["timing"]["fmax_mhz"])
        assert close_to_display(row["TOPS/mm² @ clock"], d["derived"]["tops_per_mm2_at_clock"])
        assert close_to_display(row["TOPS/mm² @ Fmax"], d["derived"]["tops_per_mm2_at_fmax"])
    headline = data["headline_workload"]
    for row in tables[f"Power ({headline} workload)"]:
        power = designs[row["Design"]]["result"]["power"]
        assert close_to_display(row["Total (mW)"], power["workloads"][headline]["total_mw"])
        assert close_to_display(row["Leakage (mW)"], power["workloads"][headline]["leakage_mw"])
        assert close_to_display(row["Vectorless total (mW)"], power["vectorless"]["total_mw"])
    for row in tables["Energy per MAC and TOPS/W by workload"]:
        d = designs[row["Design"]]
        shape = d["result"]["power"]["workloads"][data["workloads"][0]]["shape"]
        assert row["GEMM M×K×N"] == "×".join(map(str, shape))
        for workload in data["workloads"]:
            energy = d["result"]["power"]["workloads"][workload]["energy_per_mac_pj"]
            assert close_to_display(row[f"{workload} (pJ/MAC)"], energy)
            assert close_to_display(row[f"{workload} (TOPS/W)"], d["derived"]["tops_per_w"][workload])
    ratio_rows = tables["Ratios against INT8xINT8 (same kind and size)"]
    assert len(ratio_rows) == len(data["designs"])
    for row in ratio_rows:
        vs = designs[row["Design"]]["derived"]["vs_int8"]
        assert close_to_display(row["Area ratio"], vs["area"])
        assert close_to_display(row[f"Power ratio ({headline})"], vs["power"][headline])
        by_recipe = designs[row["Design"]]["derived"]["vs_int8_by_recipe"]
        lo, hi = row["Area ratio range over recipes"].split("–")
        assert close_to_display(lo, by_recipe["area_range"][0])
        assert close_to_display(hi, by_recipe["area_range"][1])
        assert close_to_display(row["Area ratio, default recipe"], by_recipe["default_area"])
        assert row["Recipe"] == designs[row["Design"]]["result"]["recipe"]["name"]
    searched = {d["result"]["portfolio"]["searched_on"]: d["result"]["portfolio"]
                for d in data["designs"]}
    rows = tables["Synthesis recipes (portfolio search)"]
    assert {row["Searched design"] for row in rows} == set(searched)
    for row in rows:
        record = searched[row["Searched design"]]
        assert row["Winner"] == record["winner"]
        assert close_to_display(row["Area min (um²)"], record["spread"]["area_um2"]["min"])
        assert close_to_display(row["Area max (um²)"], record["spread"]["area_um2"]["max"])


def test_portfolio_keeps_the_smallest_area_that_meets_timing(quick: dict) -> None:
    """Each design's result is its search's winner; no recipe that meets timing is smaller."""
    data = quick["json"]
    assert list(data["recipes"]) == list(rep.QUICK_RECIPES)
    for d in data["designs"]:
        record = d["result"]["portfolio"]
        assert set(record["candidates"]) == set(rep.QUICK_RECIPES)
        assert d["result"]["recipe"]["name"] == record["winner"]
        meeting = [c["area_um2"] for c in record["candidates"].values() if c["slack_ns"] >= 0]
        assert record["meets_timing"] and meeting
        assert record["candidates"][record["winner"]]["area_um2"] == min(meeting)
        if d["kind"] in rep.MAC_LEVEL:
            assert d["result"]["area"]["total_um2"] == min(meeting)
        else:
            assert record["searched_on"].startswith("systolic_1x1_")


def test_paper_table_sets_claims_beside_measurements(quick: dict) -> None:
    rows = parse_tables(quick["md"])["Paper claims vs qmac"]
    data = quick["json"]
    paper, measured, single = rows[0], rows[1:3], rows[3:]
    assert paper["Area ratio (×)"] == f"{data['paper']['area_ratio']:.2f}"
    assert paper["Power ratio (×, minilm)"] == f"{data['paper']['power_ratio']:.2f}"
    assert len(measured) == len(data["headline"]["rows"]) == 2  # the MAC and the 2x2 array
    mac = data["headline"]["rows"][0]
    assert [row["Source"] for row in single] == [
        f"qmac: {mac['label']}, default recipe only (single-recipe flow)"]
    assert close_to_display(single[0]["Area ratio (×)"], mac["default_recipe_area_ratio"])
    designs = {d["name"]: d for d in data["designs"]}
    for row, head in zip(measured, data["headline"]["rows"]):
        dint4, int8 = designs[head["design"]], designs[head["baseline"]]
        assert row["Accumulator bits (dINT4 vs INT8)"] == f"{dint4['acc_bits']} vs {int8['acc_bits']}"
        area = int8["result"]["area"]["total_um2"] / dint4["result"]["area"]["total_um2"]
        power = (int8["result"]["power"]["workloads"]["minilm"]["total_mw"]
                 / dint4["result"]["power"]["workloads"]["minilm"]["total_mw"])
        assert close_to_display(row["Area ratio (×)"], area)
        assert close_to_display(row["Power ratio (×, minilm)"], power)


def test_derived_metrics_follow_documented_formulas(quick: dict) -> None:
    data = quick["json"]
    clock_mhz = 1000.0 / data["clock_ns"]
    for d in data["designs"]:
        res, der = d["result"], d["derived"]
        ops = 2 * res["design"]["macs_per_cycle"]
        area_mm2 = res["area"]["total_um2"] * 1e-6
        assert der["tops_per_mm2_at_clock"] == pytest.approx(ops * clock_mhz * 1e6 / area_mm2 / 1e12)
        assert der["tops_per_mm2_at_fmax"] == pytest.approx(
            ops * res["timing"]["fmax_mhz"] * 1e6 / area_mm2 / 1e12)
        for workload, p in res["power"]["workloads"].items():
            assert p["energy_per_mac_pj"] == pytest.approx(
                p["total_mw"] * data["clock_ns"] * p["cycles"] / p["macs"])
            assert der["tops_per_w"][workload] == pytest.approx(2 / p["energy_per_mac_pj"])
        base = next(b for b in data["designs"] if b["name"] == der["vs_int8"]["baseline"])
        assert base["weight"] == "int8"
        assert base["kind"] == ("mac" if d["kind"] == "block_mac" else d["kind"])
        assert (base["rows"], base["cols"]) == (d["rows"], d["cols"])
        assert der["vs_int8"]["area"] == pytest.approx(
            base["result"]["area"]["total_um2"] / res["area"]["total_um2"])


def test_csv_rows_match_json(quick: dict) -> None:
    with open(quick["out"] / "results.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    data = quick["json"]
    assert len(rows) == len(data["designs"]) * len(data["workloads"])
    designs = {d["name"]: d for d in data["designs"]}
    for row in rows:
        d = designs[row["name"]]
        p = d["result"]["power"]["workloads"][row["workload"]]
        assert float(row["area_um2"]) == d["result"]["area"]["total_um2"]
        assert float(row["energy_per_mac_pj"]) == p["energy_per_mac_pj"]
        assert float(row["total_mw"]) == p["total_mw"]
        assert float(row["tops_per_w"]) == d["derived"]["tops_per_w"][row["workload"]]


def test_progress_shows_elapsed_step_and_design(quick: dict) -> None:
    lines = quick["lines"]
    stamped = re.compile(r"^\[\s*\d+\.\d+s\] \S+")
    assert lines and all(stamped.match(line) for line in lines), lines[:5]
    for config in quick["study"].configs:
        steps = [line for line in lines if config.name in line]
        assert len(steps) >= 3, f"too few progress lines for {config.name}: {steps}"
    assert not any("cached" in line for line in lines), "an empty cache served a result"


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the designs ``flow.evaluate.evaluate`` is called on (it still runs)."""
    names: list[str] = []
    real = flow.evaluate.evaluate

    def counting(config, **kwargs):
        names.append(config.name)
        return real(config, **kwargs)

    monkeypatch.setattr(flow.evaluate, "evaluate", counting)
    return names


def test_second_run_is_served_from_cache(quick: dict, calls: list[str]) -> None:
    lines: list[str] = []
    again = rep.report(quick["study"], quick["out"].parent / "again", cache_dir=quick["cache"],
                       progress=lines.append)
    assert calls == []
    study = quick["study"]
    searches = sum(c.kind in rep.MAC_LEVEL for c in study.configs) + len(
        {c.weight for c in study.configs if c.kind not in rep.MAC_LEVEL})
    arrays = sum(c.kind not in rep.MAC_LEVEL for c in study.configs)
    assert sum("cached" in line for line in lines) == searches * len(study.portfolio) + arrays + 1
    assert any("cached   accuracy study" in line for line in lines)
    assert [d["result"] for d in again["designs"]] == [d["result"] for d in quick["json"]["designs"]]
    assert again["accuracy"] == quick["json"]["accuracy"]


def test_changed_clock_recomputes(quick: dict, calls: list[str]) -> None:
    slow = rep.make_study("mac,int8", quick=True, clock_ns=quick["study"].clock_ns * 2,
                          recipes=quick["study"].portfolio[:1])
    results = rep.run_study(slow, cache_dir=quick["cache"], progress=lambda line: None,
                            executor=SerialExecutor())
    assert calls == [slow.configs[0].name] * len(slow.portfolio)
    assert results[0]["clock_ns"] == slow.clock_ns
    rep.run_study(slow, cache_dir=quick["cache"], progress=lambda line: None,
                  executor=SerialExecutor())
    assert calls == [slow.configs[0].name] * len(slow.portfolio), \
        "the recomputed result was not cached"


def test_failed_write_keeps_previous_report(quick: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    out = quick["out"].parent / "kept"
    rep.write_report(quick["json"], out)
    before = (out / "report.md").read_text(encoding="utf-8")

    def broken(summary: dict, folder: Path) -> dict:
        raise RuntimeError("plotting failed")

    monkeypatch.setattr("flow.plots.write_plots", broken)
    with pytest.raises(RuntimeError, match=r"^plotting failed$"):
        rep.write_report(quick["json"], out)
    assert (out / "report.md").read_text(encoding="utf-8") == before
    assert not list(out.parent.glob(".kept.*")), "temporary report folders left behind"


def test_cli_report_uses_the_cache(quick: dict, calls: list[str],
                                   capsys: pytest.CaptureFixture) -> None:
    out = quick["out"].parent / "cli"
    assert qmac_cli.main(["report", "--quick", "-o", str(out), "--cache", str(quick["cache"])]) == 0
    assert calls == []
    printed = capsys.readouterr().out
    assert f"report   {out / 'report.md'}" in printed
    assert "with `qmac report --quick`" in (out / "report.md").read_text(encoding="utf-8")


def test_cli_refuses_a_folder_it_did_not_write(tmp_path: Path, calls: list[str],
                                               capsys: pytest.CaptureFixture) -> None:
    """Before: ``qmac report -o DIR`` deleted DIR, whatever it held, and exited 0."""
    user = tmp_path / "thesis"
    user.mkdir()
    (user / "chapter1.tex").write_text("months of work")
    (tmp_path / "notes.txt").write_text("mine")
    for target in (user, tmp_path / "notes.txt"):
        assert qmac_cli.main(["report", "--quick", "-o", str(target),
                              "--cache", str(tmp_path / "cache")]) == 2
        err = capsys.readouterr().err
        assert re.fullmatch(rf"qmac report: error: out_dir '{re.escape(str(target))}' is a "
                            rf"(folder that qmac report did not write .*|file, not a folder: .*)"
                            rf"\n", err), err
    assert calls == [], "the study ran although the report could not be written"
    assert (user / "chapter1.tex").read_text() == "months of work"
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "thesis"]


def test_cli_unwritable_out_fails_before_the_study(tmp_path: Path, calls: list[str],
                                                   capsys: pytest.CaptureFixture) -> None:
    assert qmac_cli.main(["report", "--quick", "-o", "/proc/qmac-x",
                          "--cache", str(tmp_path / "cache")]) == 1
    assert re.fullmatch(r"qmac report: error: [^\n]*: '/proc/[^'\n]*'\n", capsys.readouterr().err)
    assert calls == []


def test_cli_defaults_resolve_against_the_current_folder(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: the defaults pointed into the install root, whatever the current folder."""
    seen = {}

    def fake_sweep(sweep, out_dir, *, cache_dir, executor, progress):
        seen.update(out=Path(out_dir).resolve(), cache=Path(cache_dir).resolve())

    monkeypatch.setattr("flow.cli.run_sweep", fake_sweep)
    monkeypatch.chdir(tmp_path)
    assert qmac_cli.main(["report", "--quick"]) == 0
    assert seen == {"out": tmp_path / "reports", "cache": tmp_path / "build" / "cache"}


def test_committed_reports_carry_the_marker() -> None:
    """``make report`` replaces the repository's reports/ only because it holds the marker."""
    assert (Path(__file__).resolve().parents[2] / "reports" / MARKER).is_file()


def test_workload_statistics_table_follows_json(quick: dict) -> None:
    rows = parse_tables(quick["md"])["Workload statistics"]
    stats = quick["json"]["workload_stats"]
    assert {(r["Workload"], r["Weight format"]) for r in rows} == {
        (w, f) for w, by_format in stats.items() for f in by_format}
    for row in rows:
        s = stats[row["Workload"]][row["Weight format"]]
        assert close_to_display(row["w zero share"], s["w_zero_share"])
        assert close_to_display(row["x toggle rate"], s["x_toggle_rate"])
    assert stats["zeros"]["dint4"]["w_toggle_rate"] == 0.0
    assert stats["minilm"]["dint4"]["w_special_share"] > 0


def test_accuracy_section_shows_the_study_and_the_pareto_plot(quick: dict) -> None:
    rows = parse_tables(quick["md"])["Accuracy vs hardware cost"]
    accuracy = quick["json"]["accuracy"]
    assert [r["Weight format"] for r in rows] == list(accuracy["formats"]) == [
        "int8", "int4", "dint4", "nvfp4"]
    for row in rows:
        e2e = accuracy["formats"][row["Weight format"]]["end_to_end"]["w_a8"]
        assert close_to_display(row["Cosine W+A8 (mean)"], e2e["cosine_mean"])
    assert "](accuracy_vs_energy.png)" in quick["md"].split("## Accuracy vs hardware cost")[1]
    assert (quick["out"] / "accuracy_vs_energy.png").stat().st_size > 10_000


def test_block_mac_paragraph_follows_json(quick: dict) -> None:
    """The quick report's NVFP4 x INT8 block MAC: its ratios are block / rival of the JSON's own
    areas and energies, and the paragraph shows them."""
    from flow.tables import _block_paragraph

    data = quick["json"]
    (row,) = data["block_scaled"]["rows"]
    designs = _by_label(data)
    block = designs[row["label"]]
    assert (block["kind"], row["weight_bits_per_element"], row["act_bits_per_element"]) == \
        ("block_mac", 4.5, 8.0)

    def cost(d: dict) -> tuple[float, float]:
        return (d["result"]["area"]["total_um2"],
                d["result"]["power"]["workloads"]["minilm"]["energy_per_mac_pj"])

    assert [r["label"] for r in row["against"]] == ["INT8xINT8 MAC", "INT4xINT8 MAC",
                                                   "dINT4xINT8 MAC"]
    for rival in row["against"]:
        (area, energy), (base_area, base_energy) = cost(block), cost(designs[rival["label"]])
        assert rival["area_ratio"] == pytest.approx(area / base_area)
        assert rival["energy_ratio"] == pytest.approx(energy / base_energy)
    heading = "### Block-scaled formats (minilm workload)"
    assert f"{heading}\n\n{_block_paragraph(data)}\n" in quick["md"]
