"""``qmac regress``: run the MAC and systolic-array cocotb regressions (logic lives in
``sim.regress``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from golden.formats import get_format
from sim.regress import designs, grid, regress
from sim.toolchain import SIMULATORS


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``qmac regress``."""
    parser = subparsers.add_parser(
        "regress",
        help="run the MAC and systolic-array cocotb regressions on Icarus and/or Verilator",
        description="Every config of the default grids, checked against golden/: per MAC "
                    "exhaustive, random, overflow-corner and latency tests; per array tiled "
                    "GEMMs, zeros, extreme codes and overflow corners.")
    parser.add_argument("--design", choices=designs(), default="all",
                        help=f"which grid: {', '.join(designs())} (default: all, the same cases "
                             "as make test)")
    parser.add_argument("--sim", choices=SIMULATORS, action="append",
                        help="simulator (repeatable; default: both)")
    parser.add_argument("--weight", action="append", type=get_format,
                        help="only configs with this weight format (repeatable)")
    parser.add_argument("--waves", action="store_true",
                        help="dump waves (Icarus: <top>.fst, Verilator: dump.vcd, in <out>/<design>/<sim>_waves/)")
    parser.add_argument("--seed", type=int, default=0, help="random stream seed (default: 0)")
    parser.add_argument("--random-cycles", type=int, default=None,
                        help="length of the MAC random stream (default: 4000)")
    parser.add_argument("-o", "--out", type=Path, default=Path("build/regress"),
                        help="build folder (default: build/regress)")
    parser.set_defaults(func=_regress)


def _regress(args: argparse.Namespace) -> int:
    sims = tuple(args.sim) if args.sim else SIMULATORS
    weights = tuple(args.weight) if args.weight else None
    results = regress(grid(args.design, sims, weights), args.out, seed=args.seed,
                      waves=args.waves, random_cycles=args.random_cycles)
    failed = [r for r in results if not r.passed]
    print(f"{len(results) - len(failed)} of {len(results)} cases passed"
          + "".join(f"\nFAILED {r.case.id}" for r in failed))
    return 1 if failed else 0
