"""Design kind -> Amaranth generator: the one place that turns a golden config into hardware."""

from __future__ import annotations

from typing import Any, Callable

from amaranth.lib import wiring

from hw.mac import MAC
from hw.systolic import SystolicArray

__all__ = ["BUILDERS", "build"]

BUILDERS: dict[str, Callable[[Any], wiring.Component]] = {
    "mac": MAC, "systolic": SystolicArray}
"""``config.kind`` -> component class; each takes the config as its only argument."""


def build(config: Any) -> wiring.Component:
    """The component for ``config``; its ports are exactly ``config.ports``."""
    kind = getattr(config, "kind", None)
    if kind not in BUILDERS:
        raise ValueError(f"config.kind must be one of {sorted(BUILDERS)}, not {kind!r}")
    return BUILDERS[kind](config)
