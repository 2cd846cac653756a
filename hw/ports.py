"""Amaranth port shapes of golden ``Port`` lists, so a component's signature is its config's ports,
and ``ConfigComponent``, the base of every design generated from a golden config."""

from __future__ import annotations

from typing import Any

from amaranth.hdl import Shape, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from golden.trace import Port

__all__ = ["port_shape", "signature_members", "ConfigComponent"]


def port_shape(port: Port) -> Shape | data.ArrayLayout:
    """One lane's signed/unsigned shape, or an ``ArrayLayout`` (lane 0 in the LSBs) for vectors."""
    lane = signed(port.lane_bits) if port.signed else unsigned(port.lane_bits)
    return lane if port.lanes == 1 else data.ArrayLayout(lane, port.lanes)


def signature_members(ports: tuple[Port, ...]) -> dict[str, wiring.Member]:
    """``{name: In(shape) | Out(shape)}`` for ``wiring.Component.__init__``."""
    return {p.name: (In if p.direction == "in" else Out)(port_shape(p)) for p in ports}


class ConfigComponent(wiring.Component):
    """A design generated from one golden config (an instance of ``config_class``): its ports are
    exactly ``config.ports`` and its ``latency`` is ``config.latency``, so tests and the flow read
    both from the config and never from the hardware's code."""

    config_class: type

    def __init__(self, config: Any) -> None:
        if not isinstance(config, self.config_class):
            raise ValueError(f"config must be a {self.config_class.__name__}, not {config!r}")
        self.config = config
        super().__init__(signature_members(config.ports))

    @property
    def latency(self) -> int:
        """Rising edges from an input to the output it affects (``config.latency``)."""
        return self.config.latency
