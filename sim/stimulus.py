"""Code pools the cocotb benches draw from, for any registered format: golden arithmetic takes
finite codes only, so NaN/Inf codes are never driven (their hardware output is unspecified)."""

from __future__ import annotations

import importlib.util
import os
import sys

import numpy as np

from golden.formats import Format

__all__ = ["uniform_codes", "extreme_codes", "scaled", "PLUGINS_ENV", "load_plugins"]

PLUGINS_ENV = "QMAC_PLUGINS"
"""Environment variable of a bench: Python files (os.pathsep-separated) to import before the
config is parsed, so formats and datapaths registered outside the package (a test's toy
family) exist in the simulator's process too."""


_LOADED: set[str] = set()


def load_plugins() -> None:
    """Import every file ``PLUGINS_ENV`` names once (each registers what it defines on import)."""
    for path in filter(None, os.environ.get(PLUGINS_ENV, "").split(os.pathsep)):
        if path in _LOADED:
            continue
        _LOADED.add(path)
        number = len(_LOADED)
        spec = importlib.util.spec_from_file_location(f"qmac_plugin_{number}", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)


def uniform_codes(fmt: Format, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
    """Uniform finite codes (every finite code, -0 and specials included, equally likely).

    A format without NaN/Inf codes draws with ``rng.integers`` over its code range, so the
    streams of the integer formats stay what they were for a given seed."""
    if fmt.finite_mask.all():
        return rng.integers(fmt.code_min, fmt.code_max + 1, size)
    return rng.choice(fmt.finite_codes, size)


def extreme_codes(fmt: Format) -> list[int]:
    """Codes at the edges of the value set: both ends of the code range (dINT's specials) and
    of the integer grid, -1, 0 and 1 for grid formats; for table formats the largest and
    smallest value, the nonzero values nearest zero, zero and -0 where it exists."""
    if fmt.table is None:
        pool = {fmt.code_min, fmt.code_max, fmt.grid_min, fmt.grid_max, *fmt.special_codes,
                -1, 0, 1}
        return sorted(c for c in pool if fmt.code_min <= c <= fmt.code_max)
    codes = fmt.finite_codes
    values = scaled(fmt, codes)
    pool = {int(codes[np.argmin(values)]), int(codes[np.argmax(values)]), 0,
            *(int(codes[values == bound][0]) for bound in (
                values[values > 0].min(initial=0), values[values < 0].max(initial=0))),
            *(code for code, mark in fmt.excluded if mark == "-0")}
    return sorted(pool)


def scaled(fmt: Format, codes: np.ndarray | int) -> np.ndarray:
    """``value * 2**shift`` of finite codes (``Format.decode_scaled`` without the checks)."""
    return fmt.scaled_table[np.asarray(codes, dtype=np.int64) - fmt.code_min]
