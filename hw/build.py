"""Design kind -> Amaranth generator: the one place that turns a golden config into hardware."""

from __future__ import annotations

from typing import Any, Callable

from amaranth.lib import wiring

from hw.mac import MAC
from hw.systolic import SystolicArray

__all__ = ["BUILDERS", "WEIGHT_DATAPATHS", "ACT_DATAPATHS", "build", "require_hardware"]

BUILDERS: dict[str, Callable[[Any], wiring.Component]] = {
    "mac": MAC, "systolic": SystolicArray}
"""``config.kind`` -> component class; each takes the config as its only argument."""


WEIGHT_DATAPATHS = ("int_multiplier", "dint_shift_mux")
"""Golden family datapath keys (``Format.family.datapath``) the generators implement for weights."""
ACT_DATAPATHS = ("int_multiplier",)
"""Datapath keys of activation formats the generators implement: plain two's complement lanes."""


def build(config: Any) -> wiring.Component:
    """The component for ``config``; its ports are exactly ``config.ports``.

    Formats golden knows but no generator implements yet (FP, NF4, ternary) are refused here,
    the one entry to hardware, rather than built with an integer datapath that computes
    something else.
    """
    require_hardware(config)
    return BUILDERS[config.kind](config)


def require_hardware(config: Any) -> None:
    """ValueError unless a generator implements ``config``'s kind and formats (``build``'s
    check, for callers that build a part, such as ``formal.prove``'s PE)."""
    kind = getattr(config, "kind", None)
    if kind not in BUILDERS:
        raise ValueError(f"config.kind must be one of {sorted(BUILDERS)}, not {kind!r}")
    for param, fmt, served in (("weight", config.weight, WEIGHT_DATAPATHS),
                               ("act", config.act, ACT_DATAPATHS)):
        if fmt.family.datapath not in served:
            raise ValueError(
                f"{param} format {fmt.name!r} has no hardware datapath yet (its family needs "
                f"{fmt.family.datapath!r}; generators implement {', '.join(served)})")
