"""The one place that turns a golden config into hardware (the generator its kind names in
``golden.designs.DESIGN_KINDS``)."""

from __future__ import annotations

from typing import Any

from amaranth.lib import wiring

from golden.datapath import check_hardware
from golden.designs import design_kind

__all__ = ["build", "require_hardware"]


def build(config: Any) -> wiring.Component:
    """The component for ``config``; its ports are exactly ``config.ports``.

    A format pair no registered datapath serves (``golden.datapath.check_hardware``) is refused
    here, the one entry to hardware, in one line naming the format.
    """
    require_hardware(config)
    return design_kind(config).load("component")(config)


def require_hardware(config: Any) -> None:
    """ValueError unless a generator implements ``config``'s kind and formats (``build``'s
    check, for callers that build a part, such as ``formal.prove``'s PE)."""
    design_kind(config)
    check_hardware(config.weight, config.act)
