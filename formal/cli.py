"""``qmac prove`` and ``qmac mutate`` (logic lives in ``formal.prove`` and ``formal.mutate``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from formal.mutate import campaign
from formal.prove import DESIGNS, prove
from hw.cli import add_design_options, config_from_args, systolic_config
from sim.toolchain import SIMULATORS


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``qmac prove`` and ``qmac mutate``."""
    parser = subparsers.add_parser(
        "prove", help="formally prove a MAC's or PE's next-state function equal to golden",
        description="SAT proof (Yosys) that the generated design's next-state function equals "
                    "a reference generated from golden's value tables, for every input and "
                    "every register value; a failure prints the counterexample.")
    add_design_options(parser, DESIGNS)
    parser.add_argument("-o", "--out", type=Path, default=Path("build/prove"),
                        help="job folder (default: build/prove)")
    parser.set_defaults(func=_prove)

    parser = subparsers.add_parser(
        "mutate", help="mutation testing: how many Yosys-mutated designs the regression kills",
        description="Yosys's mutate pass makes N single-fault mutants; each runs the design's "
                    "cocotb regression; survivors are checked for equivalence (SAT).")
    add_design_options(parser)
    parser.add_argument("-n", type=int, default=20, help="number of mutants (default: 20)")
    parser.add_argument("--seed", type=int, default=0,
                        help="mutant sampling and regression seed (default: 0)")
    parser.add_argument("--sim", choices=SIMULATORS, default="icarus",
                        help="simulator (default: icarus)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="mutants run in parallel (default: one per core)")
    parser.add_argument("-o", "--out", type=Path, default=Path("build/mutate"),
                        help="job folder (default: build/mutate)")
    parser.set_defaults(func=_mutate)


def _prove(args: argparse.Namespace) -> int:
    design = args.design
    if design == "pe":
        if args.pipeline or args.saturate:
            raise ValueError("--pipeline and --saturate apply to --design mac only: the PE's "
                             "partial sum always wraps and it has no pipeline option")
        config = systolic_config(args)
    else:
        config = config_from_args(args)
    proof = prove(design, config, args.out / design)
    print(proof.summary())
    return 0 if proof.proven else 1


def _mutate(args: argparse.Namespace) -> int:
    result = campaign(config_from_args(args), args.out, n=args.n, seed=args.seed, sim=args.sim,
                      jobs=args.jobs)
    print(result.summary())
    return 0
