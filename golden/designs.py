"""Design configurations by kind: the one place that turns saved parameters back into a config.

A config (``MACConfig``, ``SystolicConfig``) holds every parameter of a design and its cycle
model; ``params()`` is its JSON form, used in manifests, in cocotb runs (environment variable
``QMAC_CONFIG``) and as the report cache key.
"""

from __future__ import annotations

import json
from typing import Any

from golden.blockmac import BlockMACConfig
from golden.mac import MACConfig
from golden.systolic import SystolicConfig

__all__ = ["CONFIG_KINDS", "config_from_params", "config_from_json"]

CONFIG_KINDS: dict[str, type] = {"mac": MACConfig, "systolic": SystolicConfig,
                                  "block_mac": BlockMACConfig}


def config_from_params(params: dict[str, Any]) -> Any:
    """Rebuild a config from ``config.params()``."""
    params = dict(params)
    kind = params.pop("kind", None)
    if kind not in CONFIG_KINDS:
        raise ValueError(f"kind must be one of {sorted(CONFIG_KINDS)}, not {kind!r}")
    return CONFIG_KINDS[kind](**params)


def config_from_json(text: str) -> Any:
    return config_from_params(json.loads(text))
