"""The regression driver: failures are collected and reported, bad knobs are rejected."""

from __future__ import annotations

from pathlib import Path

import pytest

import qmac_cli
from golden.formats import DINT4
from sim import regress as regress_module
from sim.regress import mac_grid, regress


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
    assert qmac_cli.main(["regress", "--sim", "icarus", "--weight", "dint4", "-o",
                          str(tmp_path)]) == 1
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
