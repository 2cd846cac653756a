"""The few facts qmac reads from a Liberty file: library name, cell areas, which cells store state.

Synthesis and timing parse the Liberty file with their own readers (Yosys, OpenSTA); this reader
only needs the ``cell`` groups' ``area`` and whether a cell holds an ``ff``/``latch`` group, so it
tracks group nesting and top-level cell attributes and ignores everything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LibertyCell", "Library", "read_liberty"]

_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_TOKEN = re.compile(r"(?P<group>(?P<gtype>\w+)\s*\((?P<gname>[^)]*)\)\s*\{)|(?P<close>\})"
                    r"|(?P<attr>(?P<key>\w+)\s*:\s*(?P<value>[^;{}]*);)")
_STATE_GROUPS = frozenset({"ff", "latch", "ff_bank", "latch_bank", "statetable"})


@dataclass(frozen=True)
class LibertyCell:
    name: str
    area: float
    sequential: bool


@dataclass(frozen=True)
class Library:
    name: str
    path: Path
    cells: dict[str, LibertyCell]

    def cell(self, name: str) -> LibertyCell:
        if name not in self.cells:
            raise ValueError(f"cell {name!r} is not in Liberty library {self.name} ({self.path})")
        return self.cells[name]


def read_liberty(path: Path | str) -> Library:
    """Parse ``path``; a file without a ``library`` group or with unbalanced braces is a ValueError."""
    path = Path(path)
    text = _COMMENT.sub(" ", path.read_text(errors="replace"))
    stack: list[tuple[str, str]] = []
    library = None
    cells: dict[str, LibertyCell] = {}
    current: dict | None = None
    for match in _TOKEN.finditer(text):
        if match["group"]:
            gtype, gname = match["gtype"], match["gname"].strip().strip('"')
            stack.append((gtype, gname))
            if gtype == "library" and len(stack) == 1:
                library = gname
            elif gtype == "cell" and len(stack) == 2:
                current = {"name": gname, "area": None, "sequential": False}
            elif current is not None and gtype in _STATE_GROUPS:
                current["sequential"] = True
        elif match["close"]:
            if not stack:
                raise ValueError(f"liberty file {path} has an unmatched '}}' at offset "
                                 f"{match.start()}")
            gtype, _ = stack.pop()
            if gtype == "cell" and len(stack) == 1 and current is not None:
                if current["area"] is None:
                    raise ValueError(f"liberty file {path}: cell {current['name']} has no area")
                cells[current["name"]] = LibertyCell(**current)
                current = None
        elif current is not None and len(stack) == 2 and match["key"] == "area":
            current["area"] = _number(match["value"], path)
    if library is None or stack:
        raise ValueError(f"liberty file {path} is not a Liberty library (no complete "
                         f"'library (...) {{ ... }}' group)")
    return Library(library, path, cells)


def _number(text: str, path: Path) -> float:
    try:
        return float(text.strip().strip('"'))
    except ValueError:
        raise ValueError(f"liberty file {path}: area {text.strip()!r} is not a number") from None
