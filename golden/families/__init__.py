"""The format families, one module each; importing the package registers them all.

A family module builds its ``Format`` objects and calls ``base.register_family`` once. The
built-in families load first, in the order ``format_names()`` lists them; any other module in
this folder loads after them (alphabetically), so a new family is one new file.
"""

from __future__ import annotations

import importlib
import pkgutil

_BUILT_IN = ("integer", "dint", "minifloat", "ternary", "normalfloat")
_OTHERS = sorted(module.name for module in pkgutil.iter_modules(__path__)
                 if module.name not in (*_BUILT_IN, "base"))

for _name in (*_BUILT_IN, *_OTHERS):
    importlib.import_module(f"{__name__}.{_name}")
