"""Design kinds: one record per kind names everything qmac needs to handle it.

A kind (``mac``, ``systolic``, ``block_mac``) is a golden config class (its parameters, ports,
latency and cycle model; ``params()`` is its JSON form, used in manifests, in cocotb runs through
``QMAC_CONFIG`` and as the report cache key) plus, in the layers above golden, its Amaranth
component, its cocotb testbench, its regression grid, how the CLI builds it from options and the
GEMM shape the flow streams through it. ``DESIGN_KINDS`` holds one ``DesignKind`` per kind; every
layer looks the kind up there instead of keeping a map of its own, so a new kind is one record
plus the modules it names (docs/extending.md).

The layers above golden are named as ``"module:attribute"`` strings and imported only when used
(``DesignKind.load``): golden stays importable without Amaranth, cocotb or the flow, as the
cocotb testbenches need. A kind registered from outside the package (``register_kind``, e.g. by
a plugin file, ``sim.stimulus.PLUGINS_ENV``) may give the objects themselves.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from typing import Any

from golden.blockmac import BlockMACConfig
from golden.mac import MACConfig
from golden.systolic import SystolicConfig

__all__ = ["DesignKind", "DESIGN_KINDS", "register_kind", "flow_kinds", "design_kind",
           "config_from_params", "config_from_json"]


@dataclass(frozen=True)
class DesignKind:
    """Everything about one design kind.

    ``config``: the golden config class (its ``kind`` is ``name``). ``component``: the Amaranth
    generator, called with the config. ``testbench``: the cocotb test module. ``grid``: the
    regression grid, ``(sims, weights) -> list[sim.regress.Case]``. ``options``: the config from
    parsed ``qmac`` design options (``hw.cli.add_design_options``). ``workload``: ``config ->
    (M, K, N)``, the GEMM the flow streams through the design, or ``None`` while the flow cannot
    evaluate the kind (``qmac synth``, report and sweep offer only kinds that have one).
    ``operands``: ``(config, workload name, seed) -> gemm_trace arguments``, the flow's operands
    of that shape (element codes, or block-quantized tensors with their scales).
    """

    name: str
    config: type
    component: Any
    testbench: str
    grid: Any
    options: Any
    workload: Any = None
    operands: Any = "flow.evaluate:workload_codes"

    def load(self, field: str) -> Any:
        """The object a ``"module:attribute"`` field names, imported now (a field that holds
        the object itself is returned as it is)."""
        value = getattr(self, field)
        if not isinstance(value, str):
            return value
        module, _, attribute = value.partition(":")
        return getattr(importlib.import_module(module), attribute)


DESIGN_KINDS: dict[str, DesignKind] = {kind.name: kind for kind in (
    DesignKind("mac", MACConfig, "hw.mac:MAC", "sim.tb_mac", "sim.regress:mac_grid",
               "hw.cli:mac_config", "flow.evaluate:mac_shape"),
    DesignKind("systolic", SystolicConfig, "hw.systolic:SystolicArray", "sim.tb_systolic",
               "sim.regress:systolic_grid", "hw.cli:systolic_config",
               "flow.evaluate:array_shape"),
    DesignKind("block_mac", BlockMACConfig, "hw.blockmac:BlockMAC", "sim.tb_blockmac",
               "sim.regress:block_mac_grid", "hw.cli:block_mac_config", "flow.evaluate:mac_shape",
               "flow.evaluate:block_operands"),
)}


def register_kind(kind: DesignKind) -> None:
    """Add ``kind`` (its config class's ``kind`` must be its name)."""
    if kind.config.kind != kind.name:
        raise ValueError(f"kind.config.kind must be the kind's name {kind.name!r}, not "
                         f"{kind.config.kind!r}")
    DESIGN_KINDS[kind.name] = kind


def flow_kinds() -> tuple[str, ...]:
    """The kinds the flow can evaluate (they have a ``workload``)."""
    return tuple(name for name, kind in DESIGN_KINDS.items() if kind.workload is not None)


def design_kind(kind: Any) -> DesignKind:
    """The record of ``kind``: a kind name or a config (its ``kind``)."""
    name = kind if isinstance(kind, str) else getattr(kind, "kind", None)
    if name not in DESIGN_KINDS:
        raise ValueError(f"kind must be one of {sorted(DESIGN_KINDS)}, not {name!r}")
    return DESIGN_KINDS[name]


def config_from_params(params: dict[str, Any]) -> Any:
    """Rebuild a config from ``config.params()``."""
    params = dict(params)
    return design_kind(params.pop("kind", None)).config(**params)


def config_from_json(text: str) -> Any:
    return config_from_params(json.loads(text))
