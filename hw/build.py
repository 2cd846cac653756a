"""Design kind -> Amaranth generator: the one place that turns a golden config into hardware."""

from __future__ import annotations

from typing import Any, Callable

from amaranth.lib import wiring

from golden.datapath import check_hardware
from hw.blockmac import BlockMAC
from hw.mac import MAC
from hw.systolic import SystolicArray

__all__ = ["BUILDERS", "build", "require_hardware"]

BUILDERS: dict[str, Callable[[Any], wiring.Component]] = {
    "mac": MAC, "systolic": SystolicArray, "block_mac": BlockMAC}
"""``config.kind`` -> component class; each takes the config as its only argument."""


def build(config: Any) -> wiring.Component:
    """The component for ``config``; its ports are exactly ``config.ports``.

    A format pair no registered datapath serves (``golden.datapath.check_hardware``) is refused
    here, the one entry to hardware, in one line naming the format.
    """
    require_hardware(config)
    return BUILDERS[config.kind](config)


def require_hardware(config: Any) -> None:
    """ValueError unless a generator implements ``config``'s kind and formats (``build``'s
    check, for callers that build a part, such as ``formal.prove``'s PE)."""
    kind = getattr(config, "kind", None)
    if kind not in BUILDERS:
        raise ValueError(f"config.kind must be one of {sorted(BUILDERS)}, not {kind!r}")
    check_hardware(config.weight, config.act)
