# amaranth: UnusedElaboratable=no
"""The decoded product datapaths (FP, LUT, ternary, INT x FP8): the Amaranth logic forms golden's
word and carry for every finite (weight code, activation code) pair; ternary has no multiplier,
FP one narrow significand multiplier; the Verilog lints clean."""

from __future__ import annotations

import re

import numpy as np
import pytest
from amaranth.back import rtlil
from amaranth.hdl import Module, Signal, signed, unsigned
from amaranth.sim import Simulator

from golden.datapath import DEFAULT_PRODUCT, product_model
from golden.formats import Format, get_format
from golden.mac import MACConfig
from golden.systolic import SystolicConfig
from hw.export import export
from hw.mac import MAC
from hw.product import DecodedProduct
from sim.toolchain import lint_verilog

PAIRS = [("fp4", "int8"), ("ternary", "int8"), ("nf4", "int8"), ("fp4", "fp8e4m3"),
         ("int4", "fp8e4m3"), ("fp6e3m2", "int4")]


def _code(fmt: Format, name: str) -> Signal:
    return Signal(signed(fmt.bits) if fmt.signed else unsigned(fmt.bits), name=name)


@pytest.mark.parametrize(("weight_name", "act_name"), PAIRS, ids=[f"{w}_x_{a}" for w, a in PAIRS])
def test_every_pair_gives_the_golden_word_and_carry(weight_name: str, act_name: str) -> None:
    weight, act = get_format(weight_name), get_format(act_name)
    w, x = _code(weight, "w"), _code(act, "x")
    m = Module()
    product = DecodedProduct(weight, act)(m, w, x)
    word, carry = Signal(signed(len(product.word))), Signal()
    m.d.comb += word.eq(product.word)
    if product.carry is not None:
        m.d.comb += carry.eq(product.carry)
    ws, xs = (a.ravel() for a in np.meshgrid(weight.finite_codes, act.finite_codes,
                                             indexing="ij"))
    gold_word, gold_carry = product_model(weight, act, DEFAULT_PRODUCT, ws, xs)
    wrong = []

    async def bench(ctx) -> None:
        for pair in zip(ws.tolist(), xs.tolist(), gold_word.tolist(), gold_carry.tolist()):
            ctx.set(w, pair[0])
            ctx.set(x, pair[1])
            got = (ctx.get(word), ctx.get(carry))
            if got != pair[2:]:
                wrong.append((*pair, got))

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    assert not wrong, f"first mismatches (w, x, word, carry, got): {wrong[:3]}"


def _cells(config: MACConfig, kind: str) -> list[dict[str, int]]:
    text = rtlil.convert(MAC(config), name=config.name)
    return [{k: int(v) for k, v in re.findall(r"parameter \\(\w+) (-?\d+)", body)}
            for body in re.findall(rf"cell {re.escape(kind)} .*?\n(.*?)\n\s*end", text, re.S)]


def test_ternary_has_no_multiplier() -> None:
    assert _cells(MACConfig("ternary"), "$mul") == []
    assert _cells(MACConfig("int4"), "$mul") != []


def test_fp4_multiplies_the_two_bit_significand_only() -> None:
    multipliers = _cells(MACConfig("fp4"), "$mul")
    assert len(multipliers) == 1
    assert sorted((m["A_WIDTH"], m["B_WIDTH"]) for m in multipliers)[0][0] <= 3, multipliers


@pytest.mark.parametrize("config", [MACConfig("nf4", pipeline=True),
                                    MACConfig("fp4", act="fp8e4m3"),
                                    SystolicConfig(2, 2, "ternary", act="fp8e4m3")],
                         ids=lambda c: c.name)
def test_verilog_lints_clean(config, build_root) -> None:
    out = build_root / "datapath_lint"
    info = export(config, out)
    lint_verilog(out / info["verilog"], config.name)
