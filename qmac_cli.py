"""The ``qmac`` command: a thin dispatcher over the golden, hw, sim and flow APIs.

Each area registers its own subcommands (``register(subparsers)`` in ``<area>/cli.py``) and keeps
its logic in its API; this module only assembles the parser and reports errors.
"""

from __future__ import annotations

import argparse
import importlib
import sys

_AREAS = ("golden.cli", "hw.cli", "sim.cli", "flow.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qmac",
        description="Bit-exact simulator and RTL generator for quantized-inference arithmetic.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for area in _AREAS:
        importlib.import_module(area).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except ValueError as err:
        print(f"qmac {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
