"""cocotb regression of the block-scaled MAC (``sim.tb_blockmac``) on Icarus and Verilator, and
the golden cycle model against ``golden.blockscaled.block_dot``."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from golden.blockmac import BlockMACConfig
from golden.blockscaled import block_dot, quantize_blocks, quantize_operand
from sim import tb_blockmac
from sim.regress import Case, block_mac_grid
from sim.runner import run_cocotb

SEED = 20260112
CONFIG = BlockMACConfig("mxint8", "mxint8", acc_bits=48, frac_bits=24)
COCOTB_TESTS = ("products", "shifts", "random_blocks", "gemm")


@pytest.mark.slow
@pytest.mark.parametrize("case", block_mac_grid(), ids=lambda c: c.id)
def test_block_mac_matches_golden(case: Case, build_root: Path) -> None:
    """Slow path (Icarus ~20 s, Verilator ~60 s with its build at load 9): the product sweep is
    all 65,536 MXINT8 code pairs, as the INT8 MAC's is (MXFP4 x MXINT8: 4,096)."""
    run = run_cocotb(case.config, case.sim, case.test_module,
                     build_root / "blockmac" / case.config.name, seed=SEED)
    assert run.tests == COCOTB_TESTS


def test_grid_filters_by_weight() -> None:
    assert [c.config.name for c in block_mac_grid(("icarus",), ("mxint8b16", "int8"))] == [
        BlockMACConfig("mxint8b16", "mxint8b16").name]
    assert [c.config.name for c in block_mac_grid(("icarus",), ("mxfp4", "mxfp8e4m3"))] == [
        BlockMACConfig("mxfp4", "mxint8").name, BlockMACConfig("mxfp8e4m3", "mxint8").name]
    assert [c.config.name for c in block_mac_grid(("icarus",), ("nvfp4b32",))] == [
        BlockMACConfig("nvfp4b32", "int8").name]


@pytest.mark.parametrize("weight, act", [("nvfp4", "int8"), ("nvfp4", "nvfp4"),
                                         ("nvfp4b32", "mxint8")])
@pytest.mark.parametrize("acc_bits, frac_bits", [(48, 24), (24, 2), (64, 0)])
def test_nvfp4_cycle_model_is_block_dot(weight: str, act: str, acc_bits: int,
                                        frac_bits: int) -> None:
    """E4M3 block scales (mantissa times shift), an element-wise INT8 activation (no scale port)
    and mixed E4M3 x E8M0 scales: the streamed GEMM's words are golden's block dot product."""
    config = BlockMACConfig(weight, act, acc_bits, frac_bits)
    rng = np.random.default_rng(acc_bits)
    k = 3 * config.block
    a = quantize_operand(rng.standard_normal((2, k)) * np.exp(rng.uniform(-9, 9, (1, k))),
                         config.act, 1)
    w = quantize_operand(rng.standard_normal((k, 3)) * np.exp(rng.uniform(-5, 5, (1, 3))),
                         config.weight, 0)
    trace = config.gemm_trace(a, w)
    words = trace.expected["acc"][trace.care["acc"], 0]
    assert words[2::3].tolist() == block_dot(a, w, acc_bits, frac_bits).ravel().tolist()


@pytest.mark.parametrize("weight", ["mxint8b8", "mxfp4b8", "mxfp8e4m3b8"])
@pytest.mark.parametrize("acc_bits, frac_bits", [(48, 24), (20, 4), (64, 0)])
def test_cycle_model_is_block_dot(weight: str, acc_bits: int, frac_bits: int) -> None:
    """The streamed GEMM's last word per output is golden's block dot product (wrap)."""
    config = BlockMACConfig(weight, "mxint8b8", acc_bits, frac_bits)
    rng = np.random.default_rng(acc_bits)
    a = quantize_blocks(rng.standard_normal((2, 40)) * np.exp(rng.uniform(-9, 9, (1, 40))),
                        config.act, 1)
    w = quantize_blocks(rng.standard_normal((40, 3)), config.weight, 0)
    trace = config.gemm_trace(a, w)
    words = trace.expected["acc"][trace.care["acc"], 0]
    assert words[4::5].tolist() == block_dot(a, w, acc_bits, frac_bits).ravel().tolist()


def test_stimulus_reaches_every_shift_and_product() -> None:
    rng = np.random.default_rng(0)
    shifts = tb_blockmac.shift_inputs(CONFIG, rng)
    sums = set((shifts["sw"] + shifts["sx"])[shifts["valid"] == 1].tolist())
    assert sums == set(range(509))
    products = tb_blockmac.product_inputs(CONFIG)
    assert int(products["valid"].sum()) == 256 * 256


def test_nvfp4_stimulus_reaches_every_e4m3_scale_code() -> None:
    config = BlockMACConfig("nvfp4", "int8")
    shifts = tb_blockmac.shift_inputs(config, np.random.default_rng(0))
    assert "sx" not in shifts
    assert set(shifts["sw"][shifts["valid"] == 1].tolist()) == set(range(0x7F))
    products = tb_blockmac.product_inputs(config)
    assert set(products["sw"][products["valid"] == 1].tolist()) == {0x38}  # E4M3 1.0
    assert int(products["valid"].sum()) == 16 * 256


@pytest.mark.parametrize("kwargs, message", [
    ({"weight": "int8"}, r"^weight must be a block-scaled format \(mxint8, mxfp4, .*nvfp4, with "
                         r"bB\), not 'int8'$"),
    ({"weight": "mxint8", "act": "mxint8b16"},
     r"^act must have the weight's block size 32 or no block scale, not 'mxint8b16'$"),
    ({"weight": "nvfp4", "act": "mxint8"},
     r"^act must have the weight's block size 16 or no block scale, not 'mxint8'$"),
    ({"weight": "mxint8", "acc_bits": 80}, r"^acc_bits must be an integer in \[8, 64\], not 80$"),
    ({"weight": "mxint8", "frac_bits": 48},
     r"^frac_bits must be an integer in \[0, 47\], not 48$"),
])
def test_bad_config_is_one_line_error(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BlockMACConfig(**kwargs)


def test_scale_nan_code_is_refused() -> None:
    inputs = tb_blockmac.product_inputs(CONFIG)
    inputs["sw"][0] = 255
    with pytest.raises(ValueError, match=re.escape("sw must hold non-negative finite E8M0 codes in "
                                                   "[0, 254], not 255")):
        CONFIG.trace(inputs)


@pytest.mark.parametrize("code", [0x7F, 0x80, 0xB8, -1])
def test_nvfp4_scale_nan_and_negative_codes_are_refused(code: int) -> None:
    """E4M3 0x7F is NaN; codes with the sign bit are negative scales no quantizer makes (the
    hardware takes 0..126); the message names the offending code, even below the range."""
    config = BlockMACConfig("nvfp4", "int8")
    inputs = tb_blockmac.product_inputs(config)
    inputs["sw"][0] = code
    with pytest.raises(ValueError, match=re.escape("sw must hold non-negative finite E4M3 codes "
                                                   f"in [0, 126], not {code}")):
        config.trace(inputs)
