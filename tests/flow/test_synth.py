"""flow.synth: the mapped netlist's area is its cells' Liberty areas; more logic, more area."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from golden.mac import MACConfig
from hw.export import export
from flow.liberty import read_liberty
from flow.synth import area_report, synthesize
from flow.tools import DEFAULT_LIBERTY, find_tools

_INSTANCE = re.compile(r"^\s+(\w+)\s+\\?\S+\s+\($", re.M)


def _synth(config: MACConfig, folder: Path, liberty: Path = DEFAULT_LIBERTY):
    job = folder / config.name
    export(config, job)
    return synthesize(job / f"{config.name}.v", config.name, liberty, job, find_tools().yosys)

# One xdist worker runs this whole module, so its expensive module fixture runs once.
pytestmark = pytest.mark.xdist_group("flow_synth")


@pytest.fixture(scope="module")
def mapped(build_root: Path) -> dict:
    folder = build_root / "flow_synth"
    library = read_liberty(DEFAULT_LIBERTY)
    out = {}
    for weight in ("int8", "int4", "dint4"):
        config = MACConfig(weight)
        result = _synth(config, folder)
        out[weight] = (result, area_report(result, config.name, library))
    return out


@pytest.mark.parametrize("weight", ["int8", "int4", "dint4"])
def test_area_is_the_sum_of_netlist_cells_liberty_areas(mapped: dict, weight: str) -> None:
    result, area = mapped[weight]
    library = read_liberty(DEFAULT_LIBERTY)
    instances = Counter(_INSTANCE.findall(result.netlist.read_text()))
    assert instances, "the netlist instantiates cells"
    expected = sum(n * library.cell(cell).area for cell, n in instances.items())
    assert area["total_um2"] == pytest.approx(expected)
    assert area["total_um2"] == pytest.approx(result.yosys_area_um2), "Yosys stat agrees"
    assert area["cell_count"] == sum(instances.values())
    assert {c: v["count"] for c, v in area["cells"].items()} == dict(instances)
    sequential = sum(n * library.cell(c).area for c, n in instances.items()
                     if library.cell(c).sequential)
    assert area["sequential_um2"] == pytest.approx(sequential) and sequential > 0
    assert area["combinational_um2"] == pytest.approx(expected - sequential)
    assert area["pe_um2"] is None and area["pe_count"] is None and area["edge_um2"] is None


def test_more_logic_more_area(mapped: dict) -> None:
    assert mapped["int8"][1]["total_um2"] > 1.2 * mapped["int4"][1]["total_um2"]
    assert mapped["int8"][1]["total_um2"] > 1.2 * mapped["dint4"][1]["total_um2"]


def test_netlist_is_flat_with_bus_ports(mapped: dict) -> None:
    result, _ = mapped["dint4"]
    text = result.netlist.read_text()
    assert len(re.findall(r"^module ", text, re.M)) == 1
    assert re.search(r"^\s*input \[3:0\] w;", text, re.M)
    assert re.search(r"^\s*output \[23:0\] acc;", text, re.M)


def test_unparsable_liberty_is_named_before_yosys_runs(build_root: Path) -> None:
    bad = build_root / "flow_synth_bad" / "broken.lib"
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_text("library (broken) { cell (X) { area : 1; \n")
    with pytest.raises(ValueError, match=r"^liberty file .*broken\.lib is not a Liberty library"):
        _synth(MACConfig("int4"), bad.parent, bad)
