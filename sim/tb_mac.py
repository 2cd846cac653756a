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
from sim.stimulus import extreme_codes, load_plugins, scaled, uniform_codes

RANDOM_CYCLES = 4000
CORNER_MAX_STEPS = 20000
"""Longest one-sided accumulation the corner stream drives (reaches +-max of acc_bits <= 28)."""


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


def _extreme_codes(config: MACConfig, sign: int) -> tuple[int, int]:
    """(weight code, activation code) of the largest product of the given sign."""
    pairs = [(int(scaled(config.weight, w)) * int(scaled(config.act, x)), w, x)
             for w in config.weight.finite_codes.tolist() for x in extreme_codes(config.act)]
    best = max(pairs) if sign > 0 else min(pairs)
    return best[1], best[2]


def corner_steps(config: MACConfig, sign: int) -> int:
    """Extreme products needed to pass the accumulator's bound of that sign, plus three, capped."""
    w, x = _extreme_codes(config, sign)
    product = abs(int(scaled(config.weight, w)) * int(scaled(config.act, x)))
    bound = (1 << (config.acc_bits - 1)) - (sign > 0)
    return min(-(-bound // product) + 3, CORNER_MAX_STEPS)


def corners_reachable(config: MACConfig) -> bool:
    return all(corner_steps(config, s) < CORNER_MAX_STEPS for s in (1, -1))


def corner_inputs(config: MACConfig) -> dict[str, np.ndarray]:
    """Drive acc to +max and past it, back down once, then to -max and past it.

    Each run starts with ``clear`` and holds one extreme product; an idle cycle separates the
    runs so a stuck ``valid`` path shows. Wrap then shows the jump to the other end,
    saturation the clamp and the exact bound when the next opposite product arrives.
    """
    parts: list[tuple[list[int], list[int], list[int], list[int]]] = []
    for sign in (1, -1):
        w, x = _extreme_codes(config, sign)
        back_w, back_x = _extreme_codes(config, -sign)
        steps = corner_steps(config, sign)
        parts.append(([w] * steps + [back_w, 0], [x] * steps + [back_x, 0],
                      [1] * (steps + 1) + [0], [1] + [0] * steps + [0]))
    w, x, valid, clear = (sum((p[i] for p in parts), []) for i in range(4))
    return _stream(w, x, valid, clear, config.latency + 1)


def impulse_inputs(config: MACConfig) -> dict[str, np.ndarray]:
    """One valid, cleared product of the largest magnitude after idle cycles, then idle."""
    w, x = _extreme_codes(config, 1)
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
