# amaranth: UnusedElaboratable=no
"""The MAC generator: argument checks, ports taken from the config, the narrow-multiplier datapath."""

from __future__ import annotations

import re

import pytest
from amaranth.back import rtlil
from amaranth.lib import wiring

from golden.arith import Overflow
from golden.datapath import PRODUCT_DATAPATHS
from golden.formats import DINT4, INT4, INT8, Format, dint_format
from golden.mac import MACConfig
from hw.mac import MAC

CONFIGS = [MACConfig(INT8), MACConfig(INT4, overflow=Overflow.SATURATE),
           MACConfig(DINT4), MACConfig(DINT4, acc_bits=14, overflow=Overflow.SATURATE,
                                       pipeline=True),
           MACConfig(dint_format(5, 2), act_bits=6)]
CONFIGS += [MACConfig(DINT4, product=p) for p in PRODUCT_DATAPATHS
            if p != MACConfig(DINT4).product]


def test_rejects_a_non_config() -> None:
    with pytest.raises(ValueError, match=r"^config must be a MACConfig, not 'dint4'$"):
        MAC("dint4")


def test_rejects_special_codes_that_are_not_powers_of_two() -> None:
    odd = Format("odd4", 4, True, 1, ((7, 3), (-8, -1)), "dint")
    with pytest.raises(ValueError, match=r"^weight special code 7 must scale to \+-a power of two "
                                         r"for the shift-and-mux datapath, not 3$"):
        MAC(MACConfig(odd))


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.name)
def test_ports_and_latency_come_from_the_config(config: MACConfig) -> None:
    mac = MAC(config)
    members = dict(mac.signature.members.items())
    assert list(members) == [p.name for p in config.ports]
    for port in config.ports:
        member = members[port.name]
        assert member.flow == (wiring.In if port.direction == "in" else wiring.Out)
        shape = member.shape
        assert (shape.width, shape.signed) == (port.bits, port.signed), port.name
    assert mac.latency == config.latency == 1 + int(config.pipeline)
    assert f"module \\{config.name}\n" in rtlil.convert(mac, name=config.name)


def _cells(config: MACConfig, kind: str) -> list[dict[str, int]]:
    """Parameters of every RTLIL cell of ``kind`` (``$mul``, ``$shl`` ...) in the design."""
    text = rtlil.convert(MAC(config), name=config.name)
    cells = []
    for body in re.findall(rf"cell {re.escape(kind)} .*?\n(.*?)\n\s*end", text, re.S):
        cells.append({k: int(v) for k, v in re.findall(r"parameter \\(\w+) (-?\d+)", body)})
    return cells


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.name)
def test_one_narrow_multiplier_serves_every_regular_code(config: MACConfig) -> None:
    """The specials (+-2**-f) must not widen the multiplier: it stays weight bits x act bits."""
    multipliers = _cells(config, "$mul")
    assert len(multipliers) == 1, multipliers
    widths = multipliers[0]
    assert (widths["A_WIDTH"], widths["B_WIDTH"]) == (config.weight.bits, config.act_bits)
    assert widths["A_SIGNED"] == widths["B_SIGNED"] == 1


@pytest.mark.parametrize("config", [c for c in CONFIGS if c.weight.specials], ids=lambda c: c.name)
def test_special_codes_are_muxed_in(config: MACConfig) -> None:
    """Each special code adds one comparison against its code and one mux, nothing else."""
    compares = _cells(config, "$eq")
    assert len(compares) == len(config.weight.specials)
    assert all(c["A_WIDTH"] == config.weight.bits for c in compares)
    assert len(_cells(config, "$mux")) >= len(config.weight.specials)
