"""``qmac formats``: print a format's code table."""

from __future__ import annotations

import argparse

from golden.formats import Format, accepted_names, format_names, get_format

_MARKS = {"-0": "-0", "nan": "NaN", "+inf": "+Inf", "-inf": "-Inf"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "formats", help="print the code table of a number format",
        description="Print every code of a format: code, bit pattern, exact value, and the "
                    "scaled integer value x 2^f that the hardware multiplies.")
    parser.add_argument("name", nargs="?", help=f"format name ({accepted_names()}); all default "
                        "formats when omitted")
    parser.set_defaults(func=_formats)


def _formats(args: argparse.Namespace) -> int:
    formats = [get_format(name) for name in ([args.name] if args.name else format_names())]
    print("\n\n".join(code_table_text(fmt) for fmt in formats))
    return 0


def code_table_text(fmt: Format) -> str:
    """The code table of ``fmt`` as aligned text, one code per line, special and excluded codes
    marked (excluded: never a quantizer output; NaN/Inf have no scaled value)."""
    width = max(4, fmt.bits)
    scaled_width = max(7, len(str(fmt.scaled_min)), len(str(fmt.scaled_max)))
    lines = [f"{fmt.name}: {fmt.bits}-bit, values x 2^{fmt.shift} are integers",
             f"{'code':>6}  {'bits':>{width}}  {'value':>8}  "
             f"{'x 2^' + str(fmt.shift):>{scaled_width}}"]
    for code, bits, value in fmt.code_table():
        mark = fmt.excluded_codes.get(code)
        if mark is not None:
            note = f"  ({_MARKS[mark]}, never quantized)"
            shown, scaled = _MARKS[mark], "0" if mark == "-0" else "-"
        else:
            note = "  (special)" if code in fmt.special_codes else ""
            shown, scaled = str(value), str(int(value * (1 << fmt.shift)))
        lines.append(f"{code:>6}  {bits:>{width}}  {shown:>8}  {scaled:>{scaled_width}}{note}")
    return "\n".join(lines)
