"""cocotb regression of the block-scaled MAC: every element product, every shift amount, seeded
random block streams and a GEMM. Stimulus only; every expected value comes from
``BlockMACConfig.trace`` (golden), checked in every cycle."""

from __future__ import annotations

import os

import cocotb
import numpy as np

from golden.blockmac import BlockMACConfig
from golden.blockscaled import quantize_operand
from golden.designs import config_from_json
from sim.driver import check_every_cycle
from sim.stimulus import uniform_codes

RANDOM_BLOCKS = 300


def _stream(config: BlockMACConfig, **columns: np.ndarray) -> dict[str, np.ndarray]:
    """Input arrays (missing ports zero) with idle cycles so the last result reaches ``acc``."""
    cycles = len(next(iter(columns.values())))
    pad = config.latency + 1
    return {port.name: np.concatenate([np.asarray(columns.get(port.name, np.zeros(cycles)),
                                                  dtype=np.int64), np.zeros(pad, np.int64)])
            for port in config.ports if port.direction == "in"}


def product_inputs(config: BlockMACConfig) -> dict[str, np.ndarray]:
    """Every finite (weight, activation) code pair as a one-element block at unit scales,
    cleared."""
    w, x = np.meshgrid(config.weight.finite_codes, config.act.finite_codes, indexing="ij")
    ones = np.ones(w.size)
    scales = {port: np.full(w.size, codec.unit) for port, codec in config.scales}
    return _stream(config, w=w.ravel(), x=x.ravel(), valid=ones, last=ones, clear=ones,
                   **scales)


def shift_inputs(config: BlockMACConfig, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Every code of the weight scale (MX: 0..254, every shift field; NVFP4's E4M3: 0..126,
    every mantissa and field) twice, with the activation scale (if any) at its least and then
    its greatest code; one-element blocks of random products, each cleared: every left, right
    and clamped shift amount (MX: every sum ``sw + sx`` in 0..508)."""
    (first, codec), *others = config.scales
    scales = {first: np.tile(np.arange(codec.codes), 2)}
    for port, other in others:
        scales[port] = np.repeat([0, other.codes - 1], codec.codes)
    cycles = scales[first].size
    ones = np.ones(cycles)
    return _stream(config, w=uniform_codes(config.weight, rng, cycles),
                   x=uniform_codes(config.act, rng, cycles), valid=ones, last=ones, clear=ones,
                   **scales)


def random_inputs(config: BlockMACConfig, rng: np.random.Generator,
                  blocks: int = RANDOM_BLOCKS) -> dict[str, np.ndarray]:
    """Blocks of ``block`` elements with random codes, idle cycles inside (20 %), scales near the
    unit scale or anywhere (half each), ``clear`` on a quarter of the blocks."""
    parts = []
    for _ in range(blocks):
        near = rng.random() < 0.5
        scales = {port: int(rng.integers(codec.unit - 12, codec.unit + 12) if near
                            else rng.integers(0, codec.codes)) for port, codec in config.scales}
        valid = (rng.random(config.block * 2) < 0.8).astype(np.int64)
        valid = valid[:np.flatnonzero(valid)[config.block - 1] + 1]
        last = np.zeros(valid.size, np.int64)
        last[-1] = 1
        parts.append({"w": uniform_codes(config.weight, rng, valid.size),
                      "x": uniform_codes(config.act, rng, valid.size), "valid": valid, "last": last,
                      "clear": np.full(valid.size, int(rng.random() < 0.25)),
                      **{port: np.full(valid.size, code) for port, code in scales.items()}})
    return _stream(config, **{name: np.concatenate([p[name] for p in parts])
                              for name in parts[0]})


def _config() -> BlockMACConfig:
    return config_from_json(os.environ["QMAC_CONFIG"])


def _rng() -> np.random.Generator:
    return np.random.default_rng(int(os.environ["QMAC_SEED"]))


@cocotb.test()
async def products(dut: object) -> None:
    """Every element code pair, one cycle each."""
    config = _config()
    await check_every_cycle(dut, config, product_inputs(config), "products")


@cocotb.test()
async def shifts(dut: object) -> None:
    """Every shift amount (and E4M3 mantissa) the scales can make."""
    config = _config()
    await check_every_cycle(dut, config, shift_inputs(config, _rng()), "shifts")


@cocotb.test()
async def random_blocks(dut: object) -> None:
    """Seeded random blocks with idle cycles, random scales and clears."""
    config = _config()
    await check_every_cycle(dut, config, random_inputs(config, _rng()), "random")


@cocotb.test()
async def gemm(dut: object) -> None:
    """A 3 x 4-block x 2 GEMM of quantized Gaussian data with outlier columns, streamed as
    ``gemm_trace`` lays it out."""
    config = _config()
    rng = _rng()
    k = 4 * config.block
    a = rng.standard_normal((3, k)) * np.exp(rng.uniform(-6, 6, (1, k)))
    w = rng.standard_normal((k, 2))
    trace = config.gemm_trace(quantize_operand(a, config.act, 1),
                              quantize_operand(w, config.weight, 0))
    await check_every_cycle(dut, config, trace.inputs, "gemm")
