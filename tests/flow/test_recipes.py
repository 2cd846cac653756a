"""Synthesis recipes: records, the commands they give, and every recipe's netlist vs golden."""

from __future__ import annotations

from pathlib import Path

import pytest

from golden.mac import MACConfig
from flow import recipes as recipes_module
from flow.evaluate import evaluate
from flow.portfolio import Job, run_jobs
from flow.recipes import DEFAULT_RECIPE, RECIPES, Recipe, get_recipe, register_recipe

REQUIRED = {"default", "booth", "arith_tree", "resyn2_dch", "relaxed", "booth_relaxed"}


def test_portfolio_has_the_issue_recipes() -> None:
    assert REQUIRED <= set(RECIPES)
    assert DEFAULT_RECIPE is RECIPES["default"]
    assert DEFAULT_RECIPE.synth_command("top") == "synth -top top"
    assert DEFAULT_RECIPE.abc_command("cells.lib") == "abc -liberty cells.lib"
    assert RECIPES["booth"].synth_command("top") == "synth -top top -booth"


def test_relaxed_recipes_map_with_area_relaxed_nf() -> None:
    for name in ("relaxed", "booth_relaxed"):
        command = RECIPES[name].abc_command("cells.lib")
        assert command.startswith("abc -liberty cells.lib -script +") and "&nf,-R,1000" in command


def test_bad_records_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match=r"^recipe name must be lower-case letters, digits and "
                                         r"_, starting with a letter, not 'Fast one'$"):
        Recipe("Fast one", "x")
    with pytest.raises(TypeError, match=r"^recipe synth must be a string, not list$"):
        Recipe("fast", "x", synth=["-booth"])
    with pytest.raises(ValueError, match=r"^recipe options must be one Yosys command's options "
                                         r"\(no newline, no word ending in ';'\), not 'x; y'$"):
        Recipe("fast", "x", abc="x; y")
    with pytest.raises(ValueError, match=r"^recipe name 'booth' is already registered$"):
        register_recipe(Recipe("booth", "again"))
    with pytest.raises(ValueError, match=r"^recipe must be one of \[.*\], not 'nope'$"):
        get_recipe("nope")
    monkeypatch.setattr(recipes_module, "RECIPES", dict(RECIPES))
    mine = register_recipe(Recipe("mine", "user recipe", synth="-booth", abc="-fast"))
    assert recipes_module.RECIPES["mine"] is mine and "mine" not in RECIPES


def test_every_recipe_maps_a_netlist_that_matches_golden(build_root: Path) -> None:
    """Each recipe's dINT4 MAC goes through synthesis, STA and the gate-level golden check
    (evaluate raises on a mismatch) and is timed at the clock."""
    config = MACConfig("dint4")
    jobs = [Job(config, recipe, build_root / "recipes" / recipe.name)
            for recipe in RECIPES.values()]
    results = run_jobs(jobs, evaluate, {"workloads": ("uniform",)}, progress=lambda _: None)
    for job, result in zip(jobs, results):
        assert result["recipe"]["name"] == job.recipe.name
        assert result["power"]["workloads"]["uniform"]["netlist_matches_golden"] is True
        assert result["timing"]["slack_ns"] >= 0, job.label
    areas = {r["recipe"]["name"]: r["area"]["total_um2"] for r in results}
    assert len(set(areas.values())) > 1, f"the recipes all gave one netlist: {areas}"
