"""cocotb regression of one MAC unit: exhaustive products, random streams, overflow corners, latency.

Run through ``sim.runner.run_cocotb`` (``QMAC_CONFIG``, ``QMAC_SEED``; ``QMAC_RANDOM_CYCLES``
sets the random stream length). This module makes stimulus only: codes, ``valid`` and ``clear``
patterns. Every expected value comes from ``MACConfig.trace`` (golden).
"""

from __future__ import annotations

import os

import cocotb
import numpy as np

from golden.arith import Overflow, acc_range, product_range
from golden.designs import config_from_json
from golden.mac import MACConfig
from sim.driver import check_every_cycle
from sim.stimulus import load_plugins, scaled, uniform_codes

RANDOM_CYCLES = 4000
CORNER_MAX_STEPS = 20000
"""Longest one-sided accumulation the corner stream drives (reaches +-max of acc_bits <= 28
with INT8 products)."""


def _stream(w: np.ndarray, x: np.ndarray, valid: np.ndarray, clear: np.ndarray,
            tail: int) -> dict[str, np.ndarray]:
    """Input arrays with ``tail`` idle cycles appended so the last result reaches ``acc``."""
    pad = np.zeros(tail, dtype=np.int64)
    return {name: np.concatenate([np.asarray(v, dtype=np.int64), pad])
            for name, v in (("w", w), ("x", x), ("valid", valid), ("clear", clear))}


def exhaustive_inputs(config: MACConfig) -> dict[str, np.ndarray]:
    """Every finite (weight code, activation code) pair once, ``clear`` and ``valid`` every cycle
    (acc = product)."""
    w, x = np.meshgrid(config.weight.finite_codes, config.act.finite_codes, indexing="ij")
    ones = np.ones(w.size, dtype=np.int64)
    return _stream(w.ravel(), x.ravel(), ones, ones, config.latency + 1)


def random_inputs(config: MACConfig, rng: np.random.Generator,
                  cycles: int = RANDOM_CYCLES) -> dict[str, np.ndarray]:
    """Uniform codes with idle cycles (valid 80 %) and clears (10 %, with or without valid)."""
    w = uniform_codes(config.weight, rng, cycles)
    x = uniform_codes(config.act, rng, cycles)
    valid = (rng.random(cycles) < 0.8).astype(np.int64)
    clear = (rng.random(cycles) < 0.1).astype(np.int64)
    return _stream(w, x, valid, clear, config.latency + 1)


def _products(config: MACConfig, sign: int) -> list[tuple[int, int, int]]:
    """(|product|, weight code, activation code) of every distinct nonzero product of the given
    sign, largest first."""
    w, x = np.meshgrid(config.weight.finite_codes, config.act.finite_codes, indexing="ij")
    p = scaled(config.weight, w) * scaled(config.act, x)
    chosen = sign * p > 0
    magnitude, first = np.unique(np.abs(p[chosen]), return_index=True)
    return [(int(m), int(w[chosen][i]), int(x[chosen][i]))
            for m, i in zip(magnitude[::-1], first[::-1])]


def _walk(config: MACConfig, sign: int) -> list[tuple[int, int]]:
    """Code pairs that sum, from zero, to the value one short of the accumulator's bound of that
    sign (or as near below as the products allow): the greedy change of ``|bound| - 1`` into the
    format's products. Landing just inside the bound makes every bit of the clamp comparison
    matter: a saturation threshold off by ``2**k`` clamps that sum (mutation testing found the
    FP4 MAC's ``> 2**23 - 1`` with bit 5 stuck at 0 survived the old, coarse stream)."""
    remaining = (1 << (config.acc_bits - 1)) - 1 - (sign > 0)
    walk: list[tuple[int, int]] = []
    for magnitude, w, x in _products(config, sign):
        count = remaining // magnitude
        walk += [(w, x)] * count
        remaining -= count * magnitude
        if len(walk) > CORNER_MAX_STEPS:
            break
    return walk


def corner_steps(config: MACConfig, sign: int) -> int:
    """Products needed to pass the accumulator's bound of that sign (the walk to one short of
    it, then two of the smallest and two of the largest product), capped."""
    return min(len(_walk(config, sign)) + 4, CORNER_MAX_STEPS)


def corners_reachable(config: MACConfig) -> bool:
    return all(corner_steps(config, s) < CORNER_MAX_STEPS for s in (1, -1))


def corner_inputs(config: MACConfig) -> dict[str, np.ndarray]:
    """Drive acc to one short of +max, then across it, back down once; the same at -max.

    Each run starts with ``clear``: the walk lands one short of the bound, two of the smallest
    products of that sign step onto and past it, two of the largest go well past it, and one
    of the opposite sign comes back. An idle cycle separates the runs so a stuck ``valid`` path
    shows. Wrap then shows the jump to the other end, saturation the clamp and the exact bound
    when the opposite product arrives.
    """
    w: list[int] = []
    x: list[int] = []
    valid: list[int] = []
    clear: list[int] = []
    for sign in (1, -1):
        products = _products(config, sign)
        largest, smallest = products[0][1:], products[-1][1:]
        back = _products(config, -sign)[0][1:]
        run = [*_walk(config, sign), smallest, smallest, largest, largest, back]
        w += [pair[0] for pair in run] + [0]
        x += [pair[1] for pair in run] + [0]
        valid += [1] * len(run) + [0]
        clear += [1] + [0] * len(run)
    return _stream(w, x, valid, clear, config.latency + 1)


def impulse_inputs(config: MACConfig) -> dict[str, np.ndarray]:
    """One valid, cleared product of the largest magnitude after idle cycles, then idle."""
    w, x = _products(config, 1)[0][1:]
    idle = 3
    length = idle + 1 + config.latency + 2
    inputs = {name: np.zeros(length, dtype=np.int64) for name in ("w", "x", "valid", "clear")}
    inputs["w"][idle], inputs["x"][idle] = w, x
    inputs["valid"][idle] = inputs["clear"][idle] = 1
    return inputs


def _config() -> MACConfig:
    load_plugins()
    return config_from_json(os.environ["QMAC_CONFIG"])


@cocotb.test()
async def exhaustive(dut: object) -> None:
    """Every (weight code, activation) product, one per cycle."""
    config = _config()
    await check_every_cycle(dut, config, exhaustive_inputs(config), "exhaustive")


@cocotb.test()
async def random_stream(dut: object) -> None:
    """Seeded random codes with idle cycles and clears."""
    config = _config()
    rng = np.random.default_rng(int(os.environ["QMAC_SEED"]))
    cycles = int(os.environ.get("QMAC_RANDOM_CYCLES", RANDOM_CYCLES))
    await check_every_cycle(dut, config, random_inputs(config, rng, cycles), "random")


@cocotb.test()
async def overflow_corners(dut: object) -> None:
    """Accumulator driven to +max and -max and past both (wrap or saturation)."""
    config = _config()
    inputs = corner_inputs(config)
    if corners_reachable(config):
        lo, hi = acc_range(config.acc_bits)
        acc = config.run({k: v.reshape(-1, 1) for k, v in inputs.items()})["acc"].ravel()
        step = max(abs(p) for p in product_range(config.weight, config.act))
        assert acc.max() > hi - step and acc.min() < lo + step, \
            f"corner stimulus never comes within one product of [{lo}, {hi}]"
        if config.overflow is Overflow.SATURATE:
            assert {lo, hi} <= set(acc.tolist()), f"corner stimulus never saturates to [{lo}, {hi}]"
    await check_every_cycle(dut, config, inputs, "corners")


@cocotb.test()
async def latency(dut: object) -> None:
    """A lone product reaches ``acc`` and ``acc_valid`` exactly ``config.latency`` edges later."""
    config = _config()
    inputs = impulse_inputs(config)
    observed = await check_every_cycle(dut, config, inputs, "latency")
    start = int(np.argmax(inputs["valid"]))
    changed = int(np.argmax(observed["acc"][:, 0] != 0))
    rose = int(np.argmax(observed["acc_valid"][:, 0] != 0))
    assert changed - start == config.latency and rose - start == config.latency, (
        f"input at cycle {start} reached acc at cycle {changed} and acc_valid at cycle {rose}, "
        f"expected both at cycle {start + config.latency} (latency {config.latency})")
