"""Golden ``Port`` -> Amaranth shape: widths, signedness, and vector packing (lane 0 in the LSBs)."""

from __future__ import annotations

from amaranth.hdl import signed, unsigned
from amaranth.lib import data, wiring

from golden.trace import Port
from hw.ports import port_shape, signature_members


def test_single_lane_ports_are_plain_shapes() -> None:
    assert port_shape(Port("w", "in", 4, signed=True)) == signed(4)
    assert port_shape(Port("valid", "in", 1)) == unsigned(1)


def test_vector_ports_pack_lane_zero_in_the_lsbs() -> None:
    port = Port("acc", "out", 6, lanes=3, signed=True)
    layout = port_shape(port)
    assert isinstance(layout, data.ArrayLayout)
    assert (layout.elem_shape, layout.length, layout.size) == (signed(6), 3, port.bits)
    values = [-5, 17, -32]
    word = port.pack([values])[0]
    assert layout.const(values).as_bits() == word
    assert [data.Const(layout, word)[i] for i in range(3)] == values


def test_signature_members_keep_names_order_and_directions() -> None:
    ports = (Port("x", "in", 8, signed=True), Port("acc", "out", 24, signed=True))
    members = signature_members(ports)
    assert list(members) == ["x", "acc"]
    assert members["x"] == wiring.In(signed(8))
    assert members["acc"] == wiring.Out(signed(24))
