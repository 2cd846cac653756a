"""``qmac formats``: print a format's code table."""

from __future__ import annotations

import argparse

from golden.formats import format_names, get_format


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "formats", help="print the code table of a number format",
        description="Print every code of a format: code, bit pattern, exact value.")
    parser.add_argument("name", nargs="?", help=f"format name ({', '.join(format_names())}, "
                        "intB, dintB, dintBfF); all default formats when omitted")
    parser.set_defaults(func=_formats)


def _formats(args: argparse.Namespace) -> int:
    for i, name in enumerate([args.name] if args.name else format_names()):
        fmt = get_format(name)
        if i:
            print()
        print(f"{fmt.name}: {fmt.bits}-bit, values x 2^{fmt.shift} are integers")
        print(f"{'code':>6}  {'bits':>{max(4, fmt.bits)}}  value")
        for code, bits, value in fmt.code_table():
            special = "  (special)" if code in fmt.special_codes else ""
            print(f"{code:>6}  {bits:>{max(4, fmt.bits)}}  {str(value)}{special}")
    return 0
