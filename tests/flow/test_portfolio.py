"""Portfolio choice: smallest area that meets timing, the spread, the PE search of an array."""

from __future__ import annotations

import pytest

from golden.systolic import SystolicConfig
from flow.portfolio import choose, pe_config, portfolio_record


def _result(area: float, slack: float, energy: float, pe: float | None = None) -> dict:
    return {"area": {"total_um2": area, "pe_um2": pe},
            "timing": {"slack_ns": slack, "critical_path_ns": 10.0 - slack},
            "power": {"workloads": {"llm": {"energy_per_mac_pj": energy}}}}


def test_smallest_area_that_meets_timing_wins() -> None:
    candidates = {"default": _result(300, 1.0, 5), "booth": _result(200, -0.1, 4),
                  "relaxed": _result(250, 0.0, 6), "tie": _result(250, 2.0, 1)}
    assert choose(candidates) == ("relaxed", True)


def test_without_a_recipe_that_meets_timing_the_fastest_wins() -> None:
    assert choose({"a": _result(100, -2.0, 1), "b": _result(300, -0.5, 1)}) == ("b", False)
    with pytest.raises(ValueError, match=r"^candidates must hold at least one recipe's result, "
                                         r"not none$"):
        choose({})


def test_record_keeps_every_candidate_and_the_spread() -> None:
    record = portfolio_record({"a": _result(100, 1, 3), "b": _result(300, 1, 9),
                               "c": _result(200, 1, 6)}, "mac_x")
    assert record["winner"] == "a" and record["searched_on"] == "mac_x"
    assert record["spread"]["area_um2"] == {"min": 100, "median": 200, "max": 300}
    assert record["spread"]["energy_per_mac_pj"]["llm"] == {"min": 3, "median": 6, "max": 9}
    assert set(record["candidates"]) == {"a", "b", "c"}


def test_single_pe_areas_compare_the_pe_not_the_edge() -> None:
    candidates = {"a": _result(500, 1, 1, pe=200), "b": _result(400, 1, 1, pe=250)}
    assert choose(candidates) == ("a", True)


def test_an_array_is_searched_as_one_pe_of_its_type() -> None:
    array = SystolicConfig(16, 16, "dint4", acc_depth=4)
    pe = pe_config(array)
    assert (pe.rows, pe.cols, pe.acc_depth) == (1, 1, 0)
    assert (pe.weight, pe.act_bits, pe.overflow, pe.product) == (
        array.weight, array.act_bits, array.overflow, array.product)
    assert pe_config(SystolicConfig(4, 4, "dint4")) == pe
