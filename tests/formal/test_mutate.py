"""``qmac mutate``: a known-killable mutant is killed, a known-equivalent one is classified
equivalent (and its non-equivalent twin is not), and a small campaign reports progress."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import qmac_cli
from golden.formats import DINT4
from golden.mac import MACConfig
from hw.export import export
from formal.mutate import Campaign, MutantResult, campaign, check_mutant, classify, \
    list_mutations, write_mutant

CONFIG = MACConfig(DINT4)

# One xdist worker runs this whole module, so its expensive module fixture runs once.
pytestmark = pytest.mark.xdist_group("formal_mutate")


@pytest.fixture(scope="module")
def special_compare(build_root: Path) -> tuple[Path, str]:
    """The exported MAC and ``-module M -cell C`` of its special-code -8 comparator
    (``w == 4'h8``), found by ``mutate -list`` filtered on that expression's source location."""
    folder = build_root / "mutate_units"
    original = folder / export(CONFIG, folder)["verilog"]
    text = "w == 4'h8"
    line, row = next((line, i) for i, line in enumerate(original.read_text().splitlines(), 1)
                     if text in line)
    column = line.index(text) + 1
    src = f"{original.name}:{row}.{column}-{row}.{column + len(text)}"
    commands = list_mutations(original, CONFIG.name, folder / "list", 40, 0, f"-src {src}")
    cell = re.search(r"-module \S+ -cell \$eq\$\S+", commands[0]) if commands else None
    assert cell is not None, commands
    return original, cell[0]


def test_equivalent_mutant_survives_and_is_classified_equivalent(
        special_compare: tuple[Path, str], build_root: Path) -> None:
    """``w[0] ^= w[2]`` at the comparator's input: 0b1000 is still the only match."""
    original, cell = special_compare
    command = f"mutate -mode cnot1 {cell} -port A -portbit 0 -ctrlbit 2"
    result = check_mutant(CONFIG, 1, command, original, build_root / "mutate_units" / "equiv",
                          "icarus", seed=0)
    assert (result.verdict, result.detail) == (
        "equivalent", "next-state functions equal in every state")


def test_killable_mutant_is_killed(special_compare: tuple[Path, str], build_root: Path) -> None:
    """The comparator stuck at 1: every weight decodes as -1/2."""
    original, cell = special_compare
    result = check_mutant(CONFIG, 2, f"mutate -mode const1 {cell} -port Y -portbit 0", original,
                          build_root / "mutate_units" / "kill", "icarus", seed=0)
    assert result.verdict == "killed"
    assert re.match(r"\w+ failure: first mismatch at cycle \d+", result.detail), result.detail


def test_non_equivalent_survivor_gets_a_trace(special_compare: tuple[Path, str],
                                              build_root: Path) -> None:
    """The comparator stuck at 0 (code -8 then goes through the multiplier), checked formally
    only: the miter from reset finds the difference within the bound."""
    original, cell = special_compare
    folder = build_root / "mutate_units" / "noneq"
    mutant = write_mutant(original, CONFIG.name, f"mutate -mode const0 {cell} -port Y -portbit 0",
                          folder / "mutant.v")
    reference = write_mutant(original, CONFIG.name, "", folder / "reference.v")
    verdict, detail = classify(reference, mutant, CONFIG.name, folder, 6)
    assert verdict == "non-equivalent"
    assert re.match(r"outputs differ \d+ cycles after reset", detail)


def test_small_campaign_reports_every_mutant(build_root: Path) -> None:
    lines: list[str] = []
    result = campaign(CONFIG, build_root / "mutate_campaign", n=3, seed=5, jobs=2,
                      progress=lines.append)
    assert len(result.results) == 3 and sum(result.count(v) for v in
                                            ("killed", "equivalent", "non-equivalent",
                                             "unresolved")) == 3
    assert re.fullmatch(rf"\[mutate\] {CONFIG.name}: 3 mutants \(seed 5\), icarus, 2 in parallel",
                        lines[0])
    for line in lines[1:]:
        assert re.fullmatch(rf"\[mutate\] {CONFIG.name} mutant [1-3]/3 \(#[1-3]\) \S+ in "
                            r"[0-9.]+ s \[elapsed \d+ s, ETA \d+ s\]", line), line


def test_score_counts_only_non_equivalent_mutants() -> None:
    results = [MutantResult(i, f"m{i}", verdict, "", 0.0) for i, verdict in
               enumerate(["killed"] * 3 + ["equivalent", "non-equivalent"], 1)]
    run = Campaign("x", results)
    assert run.score == 0.75
    assert run.summary().splitlines()[1] == "  SURVIVOR non-equivalent #5: m5 -- "


def test_cli_rejects_a_bad_count(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert qmac_cli.main(["mutate", "-n", "0", "-o", str(tmp_path)]) == 2
    assert re.fullmatch(r"qmac mutate: error: n must be .*\n", capsys.readouterr().err)
