"""``qmac formats``: print a format's code table."""

from __future__ import annotations

import argparse

from golden.formats import Format, format_names, get_format


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "formats", help="print the code table of a number format",
        description="Print every code of a format: code, bit pattern, exact value, and the "
                    "scaled integer value x 2^f that the hardware multiplies.")
    parser.add_argument("name", nargs="?", help=f"format name ({', '.join(format_names())}, "
                        "intB, dintB, dintBfF); all default formats when omitted")
    parser.set_defaults(func=_formats)


def _formats(args: argparse.Namespace) -> int:
    formats = [get_format(name) for name in ([args.name] if args.name else format_names())]
    print("\n\n".join(code_table_text(fmt) for fmt in formats))
    return 0


def code_table_text(fmt: Format) -> str:
    """The code table of ``fmt`` as aligned text, one code per line, specials marked."""
    width = max(4, fmt.bits)
    lines = [f"{fmt.name}: {fmt.bits}-bit, values x 2^{fmt.shift} are integers",
             f"{'code':>6}  {'bits':>{width}}  {'value':>8}  {'x 2^' + str(fmt.shift):>7}"]
    for code, bits, value in fmt.code_table():
        special = "  (special)" if code in fmt.special_codes else ""
        scaled = int(value * (1 << fmt.shift))
        lines.append(f"{code:>6}  {bits:>{width}}  {str(value):>8}  {scaled:>7}{special}")
    return "\n".join(lines)
