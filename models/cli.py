"""``qmac accuracy``: what each weight format costs in accuracy on the real MiniLM model."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from flow.tables import markdown_table
from hw.export import write_atomic
from models.accuracy import DEFAULT_FORMATS, accuracy_study, accuracy_table

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this area's subcommands to the ``qmac`` parser."""
    parser = subparsers.add_parser(
        "accuracy", help="accuracy of weight formats on the real all-MiniLM-L6-v2 model",
        description="Quantize every linear layer of all-MiniLM-L6-v2 (36 layers) to each weight "
                    "format, with INT8 per-token (or --act) activations, run bit-exact through "
                    "golden/, and compare with FP32: per-layer underflow and SQNR, end-to-end embedding "
                    "cosine, similarity-matrix error, nearest-neighbour agreement. "
                    "Method: docs/accuracy.md.")
    parser.add_argument("--formats", default=",".join(DEFAULT_FORMATS),
                        help="comma list of weight formats (int8, int4, dint4, intB, dintB, "
                             f"dintBfF, fp4, nf4, mxfp4, nvfp4, ...; default: {','.join(DEFAULT_FORMATS)})")
    parser.add_argument("--granularity", choices=("channel", "group"), default="channel",
                        help="weight scale granularity (default: channel)")
    parser.add_argument("--group-size", type=int, default=None,
                        help="K rows per weight scale with --granularity group (e.g. 32)")
    parser.add_argument("--act", default="int8",
                        help="activation format: int8 (per token, default) or a block-scaled "
                             "one such as mxint8 (a scale per 32 K elements)")
    parser.add_argument("-o", "--out", type=Path, default=None,
                        help="write the full result (per layer and end to end) as JSON here")
    parser.set_defaults(func=_accuracy)


def _accuracy(args: argparse.Namespace) -> int:
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    group_size = args.group_size
    if args.granularity == "group" and group_size is None:
        raise ValueError("--group-size is required with --granularity group (e.g. 32)")
    if args.out is not None and not args.out.parent.is_dir():
        raise ValueError(f"--out must be in an existing folder, not {str(args.out)!r}")
    study = accuracy_study(formats, args.granularity, group_size,
                           progress=lambda line: print(line, flush=True), act=args.act)
    rows = accuracy_table(study)
    scheme = (f"per group of {group_size}" if args.granularity == "group" else "per channel")
    scheme += " (block-scaled formats: per block)"
    print(f"\n{study['model']}, {study['sentences']['count']} sentences "
          f"({study['sentences']['tokens']} tokens), weights {scheme}, "
          f"activations {study['activations'].split(' (')[0]}; {study['runtime_s']:.1f} s")
    print(markdown_table(list(rows[0]), [list(row.values()) for row in rows]))
    if args.out is not None:
        write_atomic(args.out, json.dumps(study, indent=1) + "\n")
        print(f"result    {args.out}")
    return 0
