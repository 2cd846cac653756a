"""Amaranth port shapes of golden ``Port`` lists, so a component's signature is its config's ports."""

from __future__ import annotations

from amaranth.hdl import Shape, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from golden.trace import Port

__all__ = ["port_shape", "signature_members"]


def port_shape(port: Port) -> Shape | data.ArrayLayout:
    """One lane's signed/unsigned shape, or an ``ArrayLayout`` (lane 0 in the LSBs) for vectors."""
    lane = signed(port.lane_bits) if port.signed else unsigned(port.lane_bits)
    return lane if port.lanes == 1 else data.ArrayLayout(lane, port.lanes)


def signature_members(ports: tuple[Port, ...]) -> dict[str, wiring.Member]:
    """``{name: In(shape) | Out(shape)}`` for ``wiring.Component.__init__``."""
    return {p.name: (In if p.direction == "in" else Out)(port_shape(p)) for p in ports}
