"""cocotb regression of every MAC config of ``sim.regress.mac_grid`` on Icarus and Verilator.

Each case builds once (cached under ``build_root``) and runs all tests of ``sim.tb_mac``:
exhaustive (weight code, activation) sweep, seeded random stream, overflow corners, latency.
The stimulus checks below run without a simulator.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from golden.arith import Overflow, acc_range
from golden.formats import DINT4, INT8
from golden.mac import MACConfig
from sim import tb_mac
from sim.regress import Case, mac_grid, quick
from sim.runner import run_cocotb

SEED = 20231206
COCOTB_TESTS = ("exhaustive", "random_stream", "overflow_corners", "latency")


@pytest.mark.parametrize("case", quick(mac_grid()), ids=lambda c: c.id)
def test_mac_matches_golden(case: Case, build_root: Path) -> None:
    config = case.config
    run = run_cocotb(config, case.sim, case.test_module, build_root / "mac" / config.name, seed=SEED)
    assert run.tests == COCOTB_TESTS
    cycles = {s["label"]: s["cycles"] for s in run.stats}
    pairs = len(config.weight.finite_codes) * len(config.act.finite_codes)
    assert cycles["exhaustive"] == pairs + config.latency + 1


def test_grid_covers_formats_modes_and_simulators() -> None:
    cases = mac_grid()
    for sim in ("icarus", "verilator"):
        configs = [c.config for c in cases if c.sim == sim]
        assert {"int8", "int4", "dint4", "fp4", "ternary", "nf4", "fp8e4m3"} <= \
            {c.weight.name for c in configs}
        assert {"int8", "int4", "fp8e4m3"} <= {c.act.name for c in configs}
        assert {c.overflow for c in configs} == set(Overflow)
        assert {c.pipeline for c in configs} == {False, True}
    with pytest.raises(ValueError, match=r"^sim must be one of"):
        mac_grid(("xcelium",))


def test_exhaustive_stimulus_holds_every_pair_once() -> None:
    config = MACConfig(DINT4, pipeline=True)
    inputs = tb_mac.exhaustive_inputs(config)
    body = slice(0, -(config.latency + 1))
    pairs = set(zip(inputs["w"][body].tolist(), inputs["x"][body].tolist()))
    assert len(pairs) == len(inputs["w"][body]) == 16 * 256
    assert inputs["valid"][body].all() and inputs["clear"][body].all()
    assert not inputs["valid"][body.stop:].any()


def test_random_stimulus_is_seeded_and_has_idles_and_clears() -> None:
    config = MACConfig(INT8)
    first, again, other = (tb_mac.random_inputs(config, np.random.default_rng(s), 2000)
                           for s in (1, 1, 2))
    assert all(np.array_equal(first[k], again[k]) for k in first)
    assert not np.array_equal(first["w"], other["w"])
    valid, clear = first["valid"][:2000], first["clear"][:2000]
    assert {(0, 0), (0, 1), (1, 0), (1, 1)} <= set(zip(valid.tolist(), clear.tolist()))


@pytest.mark.parametrize("config", list({c.config.name: c.config for c in mac_grid()}.values()),
                         ids=lambda c: c.name)
def test_corner_stimulus_reaches_both_accumulator_bounds(config: MACConfig) -> None:
    """Every grid config's corner stream really crosses +max and -max (judged by golden)."""
    assert tb_mac.corners_reachable(config)
    inputs = {k: v.reshape(-1, 1) for k, v in tb_mac.corner_inputs(config).items()}
    acc = config.run(inputs)["acc"][:, 0]
    lo, hi = acc_range(config.acc_bits)
    if config.overflow is Overflow.SATURATE:
        assert acc.max() == hi and acc.min() == lo
        # One short of each bound, so every bit of the clamp's comparison is exercised.
        assert {hi - 1, lo + 1} <= set(acc.tolist())
    else:
        jumps = np.diff(acc)
        assert (jumps < -(1 << (config.acc_bits - 2))).any() and \
            (jumps > 1 << (config.acc_bits - 2)).any()
