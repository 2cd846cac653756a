"""Synthesis recipes: the Yosys ``synth`` options and ``abc`` mapping a design is built with.

A format comparison measures the synthesis script as much as the formats unless every design gets
its best hardware: today's default maps the INT8 multiplier 60 % larger than Booth encoding does.
So the flow treats the recipe as data. One ``Recipe`` record holds what differs between recipes
(the options of ``synth`` and of ``abc -liberty``); everything else of the script in
``flow.synth`` stays the same, so every recipe's netlist goes through the same timing, gate-level
golden check and power steps. ``flow.portfolio`` synthesises a design under every recipe and keeps
the best one.

A user adds a recipe with ``register_recipe(Recipe(...))`` (see docs/flow.md). No recipe sets a
delay target: ``abc -D <clock period>`` gave bit-identical netlists on the MACs (also with ``{D}``
passed to ``&nf``), so the relaxed recipes relax delay with ``&nf -R`` alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Recipe", "RECIPES", "DEFAULT_RECIPE", "register_recipe", "get_recipe"]

_NAME = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class Recipe:
    """One way to synthesise a design.

    ``synth``: extra options of Yosys ``synth`` (e.g. ``-booth``); ``abc``: extra options of
    ``abc -liberty <lib>`` (e.g. ``-script +<ABC commands>``, commas standing for blanks as Yosys
    documents).
    """

    name: str
    description: str
    synth: str = ""
    abc: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise ValueError(f"recipe name must be lower-case letters, digits and _, starting "
                             f"with a letter, not {self.name!r}")
        for field in ("description", "synth", "abc"):
            if not isinstance(getattr(self, field), str):
                raise TypeError(f"recipe {field} must be a string, not "
                                f"{type(getattr(self, field)).__name__}")
        for line in (self.synth, self.abc):
            # Yosys ends a command at a newline or at a word that ends in ';'.
            if "\n" in line or any(word.endswith(";") for word in line.split()):
                raise ValueError(f"recipe options must be one Yosys command's options (no "
                                 f"newline, no word ending in ';'), not {line!r}")

    def synth_command(self, top: str) -> str:
        return " ".join(filter(None, ("synth", f"-top {top}", self.synth)))

    def abc_command(self, liberty: str) -> str:
        return " ".join(filter(None, ("abc", f"-liberty {liberty}", self.abc)))

    def record(self) -> dict[str, str]:
        """The result JSON's ``recipe`` section (name and the options that define it)."""
        return {"name": self.name, "description": self.description, "synth": self.synth,
                "abc": self.abc}


# ABC's own steps, spelled out (yosys-abc reads no abc.rc, so aliases such as resyn2 do not
# exist there). Commas stand for blanks in a Yosys ``-script +...`` string.
_PREPARE = "strash;&get,-n;&fraig,-x;&put;scorr;dc2;dretime;strash"
_RESYN2 = ("balance;rewrite;refactor;balance;rewrite;rewrite,-z;balance;refactor,-z;rewrite,-z;"
           "balance")
_RELAXED_MAP = "&get,-n;&dch,-f;&nf,-R,1000;&put"

RECIPES: dict[str, Recipe] = {}


def register_recipe(recipe: Recipe) -> Recipe:
    """Add ``recipe`` to ``RECIPES``; a name can be registered once."""
    if not isinstance(recipe, Recipe):
        raise TypeError(f"recipe must be a Recipe, not {type(recipe).__name__}")
    if recipe.name in RECIPES:
        raise ValueError(f"recipe name {recipe.name!r} is already registered")
    RECIPES[recipe.name] = recipe
    return recipe


DEFAULT_RECIPE = register_recipe(Recipe(
    "default", "Yosys synth, then abc -liberty with its default script (the flow before "
    "recipes existed)"))
register_recipe(Recipe(
    "booth", "synth -booth: radix-4 Booth-encoded multipliers", synth="-booth"))
register_recipe(Recipe(
    "arith_tree", "synth -arith_tree: adder chains and macc cells as carry-save trees",
    synth="-arith_tree"))
register_recipe(Recipe(
    "resyn2_dch", "stronger ABC script: resyn2 rewriting, then &dch choices before &nf mapping",
    abc=f"-script +{_PREPARE};{_RESYN2};&get,-n;&dch,-f;&nf;&put"))
register_recipe(Recipe(
    "relaxed", "area-relaxed mapping: &nf -R 1000 (delay relaxed in favour of area)",
    abc=f"-script +{_PREPARE};{_RELAXED_MAP}"))
register_recipe(Recipe(
    "booth_relaxed", "synth -booth with the area-relaxed &nf -R 1000 mapping", synth="-booth",
    abc=f"-script +{_PREPARE};{_RELAXED_MAP}"))


def get_recipe(name: str) -> Recipe:
    """The registered recipe called ``name``."""
    if name not in RECIPES:
        raise ValueError(f"recipe must be one of {sorted(RECIPES)}, not {name!r}")
    return RECIPES[name]
