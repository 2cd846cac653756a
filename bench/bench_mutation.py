"""Mutation score: the share of non-equivalent Yosys mutants the cocotb regression kills.

``formal.mutate.campaign`` runs ``MUTANTS`` mutants of each MAC (INT8, INT4, dINT4 and the format
zoo's FP4, NF4, ternary, FP8 E4M3; saturating and pipelined, the variant with the most logic) and
of a 4x4 dINT4 array with a saturating output accumulator, on Icarus, in parallel over the cores.
Survivors are classified by SAT; equivalent ones do not count. Target: at least 98 % of the
non-equivalent mutants killed per design; every surviving non-equivalent mutant is printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from golden.arith import Overflow
from golden.formats import DINT4, INT4, INT8, get_format
from golden.mac import MACConfig
from golden.systolic import SystolicConfig
from formal.mutate import campaign

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "bench" / "mutation"
TARGET_SCORE = 0.98
MUTANTS = 20
SEED = 1

ZOO = tuple(map(get_format, ("fp4", "nf4", "ternary", "fp8e4m3")))
DESIGNS = [*(MACConfig(fmt, overflow=Overflow.SATURATE, pipeline=True)
             for fmt in (INT8, INT4, DINT4, *ZOO)),
           SystolicConfig(4, 4, DINT4, acc_bits=12, overflow=Overflow.SATURATE, acc_depth=4)]


def run() -> Iterator[str]:
    for config in DESIGNS:
        result = campaign(config, WORK, n=MUTANTS, seed=SEED,
                          progress=lambda line: print(f"   {line}", flush=True))
        verdict = "ok" if result.score >= TARGET_SCORE else "MISSED"
        lines = result.summary().splitlines()
        yield f"{lines[0]} (target >= {100 * TARGET_SCORE:.0f} %: {verdict})"
        yield from lines[1:]
