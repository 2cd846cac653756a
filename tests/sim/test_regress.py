"""The regression driver: grid selection, failures collected and reported, bad knobs rejected,
and one real systolic case through ``qmac regress``."""

from __future__ import annotations

from pathlib import Path

import pytest

import qmac_cli
from golden.arith import Overflow
from golden.datapath import PRODUCT_DATAPATHS
from golden.formats import DINT4, INT4, get_format
from sim import regress as regress_module
from sim.regress import block_mac_grid, grid, mac_grid, regress, systolic_grid


def test_failures_are_collected_and_the_cli_exits_1(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    def broken(config: object, sim: str, *args: object, **kwargs: object) -> None:
        raise AssertionError(f"first mismatch at cycle 3 on acc ({sim})")

    monkeypatch.setattr(regress_module, "run_cocotb", broken)
    cases = mac_grid(("icarus",), (DINT4,))
    results = regress(cases, tmp_path, progress=lambda line: None)
    assert [r.passed for r in results] == [False] * len(cases)
    assert results[0].message == "first mismatch at cycle 3 on acc (icarus)"
    assert qmac_cli.main(["regress", "--design", "mac", "--sim", "icarus", "--weight", "dint4",
                          "-o", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"0 of {len(cases)} cases passed" in out
    assert "FAILED mac_dint4_x_int8_acc24_wrap-icarus" in out


@pytest.mark.parametrize(("knob", "value", "message"), [
    ("seed", -1, r"^seed must be a non-negative integer, not -1$"),
    ("random_cycles", 0, r"^random_cycles must be a positive integer, not 0$"),
])
def test_bad_knobs_are_rejected(knob: str, value: int, message: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=message):
        regress(mac_grid(("icarus",)), tmp_path, **{knob: value})


def test_design_selects_the_grids() -> None:
    mac, systolic, block_mac = mac_grid(), systolic_grid(), block_mac_grid()
    assert grid("mac") == mac and grid("systolic") == systolic
    assert grid("block_mac") == block_mac and {c.sim for c in block_mac} == {"icarus", "verilator"}
    assert grid() == grid("all") == mac + systolic + block_mac
    assert {c.test_module for c in grid("mac")} == {"sim.tb_mac"}
    assert {c.test_module for c in grid("systolic")} == {"sim.tb_systolic"}
    assert grid("systolic", ("icarus",), (INT4,)) == [c for c in systolic
                                                      if c.sim == "icarus" and
                                                      c.config.weight == INT4]
    with pytest.raises(ValueError, match=r"^design must be one of \['mac', 'systolic', 'block_mac', "
                                         r"'all'\], "
                                         r"not 'fifo'$"):
        grid("fifo")


def test_systolic_grid_covers_formats_modes_and_the_big_array() -> None:
    configs = [c.config for c in systolic_grid(("icarus",))]
    assert {"int8", "int4", "dint4", "fp4", "ternary", "nf4", "fp8e4m3"} <= \
        {c.weight.name for c in configs}
    assert {(c.rows, c.cols, c.weight.name, c.act.name) for c in configs} >= \
        {(4, 4, "fp4", "fp8e4m3"), (4, 4, "ternary", "int8")}
    assert {c.overflow for c in configs} == set(Overflow)
    assert {bool(c.acc_depth) for c in configs} == {False, True}
    assert [(c.config.rows, c.config.cols) for c in systolic_grid(("verilator",))] == [(16, 16)]


def test_cli_rejects_an_unknown_design(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        qmac_cli.main(["regress", "--design", "fifo"])
    assert exit_.value.code == 2
    assert ("argument --design: invalid choice: 'fifo' (choose from 'mac', 'systolic', "
            "'block_mac', 'all')") in capsys.readouterr().err


def test_cli_runs_the_systolic_regression(build_root: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    cases = grid("systolic", ("icarus",), (INT4,))
    assert len(cases) == 1
    assert qmac_cli.main(["regress", "--design", "systolic", "--sim", "icarus", "--weight", "int4",
                          "--seed", "3", "-o", str(build_root / "cli_regress_systolic")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "1 of 1 cases passed"
    assert lines[0].startswith(f"[1/1] icarus {cases[0].config.name} (seed 3): ok, ")


@pytest.mark.parametrize(("design", "weight"), [("all", "dint4f2"), ("systolic", "int3"),
                                                ("mac", "int16"), ("systolic", "int8")])
def test_any_format_gets_a_grid_on_every_simulator(design: str, weight: str) -> None:
    """Before: ``--weight dint4f2`` or ``--design systolic --weight int3`` selected no case and
    printed "0 of 0 cases passed" with exit 0."""
    fmt = get_format(weight)
    for sims in (("icarus",), ("verilator",), ("icarus", "verilator")):
        cases = grid(design, sims, (weight,))
        assert cases and {c.config.weight for c in cases} == {fmt}
        assert {c.sim for c in cases} == set(sims)
        kinds = {"mac", "systolic"} if design == "all" else {design}
        assert {c.config.kind for c in cases} == kinds


@pytest.mark.parametrize("design", ["mac", "systolic"])
def test_a_built_grid_covers_both_overflow_modes(design: str) -> None:
    configs = [c.config for c in grid(design, ("icarus",), ("dint5f2",))]
    assert {c.overflow for c in configs} == set(Overflow)


def test_default_formats_keep_their_default_cases() -> None:
    assert grid("mac", ("icarus",), (DINT4, "int8")) == [
        c for c in mac_grid(("icarus",)) if c.config.weight.name in ("dint4", "int8")]


def test_an_empty_selection_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^cases must hold at least one regression case, not an "
                                         r"empty selection$"):
        regress([], tmp_path)


def test_cli_regresses_a_format_outside_the_default_grid(build_root: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert qmac_cli.main(["regress", "--design", "systolic", "--sim", "icarus", "--weight", "int3",
                          "-o", str(build_root / "cli_regress_int3")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "2 of 2 cases passed"
    assert all("systolic_2x" in line and "_int3_" in line for line in lines[:-1])


def test_every_product_datapath_runs_on_both_simulators_and_in_an_array() -> None:
    mac = [c for c in mac_grid() if c.config.weight == DINT4]
    for product in PRODUCT_DATAPATHS:
        sims = {c.sim for c in mac if c.config.product == product}
        assert sims == {"icarus", "verilator"}, product
        assert any(c.config.product == product and c.config.weight == DINT4
                   for c in systolic_grid(("icarus",))), product
