"""``qmac verilog``: write a design's Verilog and manifest (logic lives in ``hw.export``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from golden.arith import Overflow
from golden.blockmac import BlockMACConfig
from golden.datapath import DEFAULT_PRODUCT, PRODUCT_DATAPATHS
from golden.designs import DESIGN_KINDS
from golden.formats import accepted_names
from golden.mac import MACConfig
from golden.systolic import SystolicConfig
from hw.export import export

__all__ = ["mac_config", "systolic_config", "block_mac_config", "add_design_options",
           "config_from_args", "register"]


def mac_config(args: argparse.Namespace) -> MACConfig:
    """The MAC the design options describe (``DesignKind.options`` of ``mac``)."""
    return MACConfig(args.weight, act_bits=args.act_bits, acc_bits=args.acc_bits,
                     overflow=_overflow(args), pipeline=args.pipeline, product=args.product,
                     act=args.act)


def _overflow(args: argparse.Namespace) -> Overflow:
    return Overflow.SATURATE if args.saturate else Overflow.WRAP


def _systolic_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("systolic array (--design systolic)")
    group.add_argument("--rows", type=int, default=16,
                       help="reduction rows R: activation lanes (default: 16)")
    group.add_argument("--cols", type=int, default=16,
                       help="output columns C: weight and result lanes (default: 16)")
    group.add_argument("--psum-bits", type=int, default=None,
                       help="column partial-sum width (default: exact for R products)")
    group.add_argument("--acc-depth", type=int, default=0,
                       help="rows of the output accumulator memory; 0 = none (default: 0)")


def systolic_config(args: argparse.Namespace) -> SystolicConfig:
    """The array the design options describe; the pipeline option belongs to the MAC."""
    if args.pipeline:
        raise ValueError("pipeline applies to the mac design only, not to the systolic array "
                         "(its PEs are registered already)")
    return SystolicConfig(args.rows, args.cols, args.weight, act_bits=args.act_bits,
                          psum_bits=args.psum_bits, acc_bits=args.acc_bits,
                          overflow=_overflow(args), acc_depth=args.acc_depth,
                          product=args.product, act=args.act)


def block_mac_config(args: argparse.Namespace) -> BlockMACConfig:
    """Block-scaled weights (MX, NVFP4) times ``--act``: a block format of the same block size
    or an element-wise one (NVFP4 x INT8 per token); default: the weight's format."""
    if args.saturate or args.pipeline or args.product != DEFAULT_PRODUCT:
        raise ValueError("--saturate, --pipeline and --product apply to --design mac and "
                         "systolic, not to block_mac (its accumulator wraps)")
    if args.act_bits is not None:
        raise ValueError(f"act-bits does not apply to block_mac (give --act), not "
                         f"{args.act_bits!r}")
    acc_bits = BlockMACConfig.acc_bits if args.acc_bits is None else args.acc_bits
    return BlockMACConfig(args.weight, act=args.act or args.weight, acc_bits=acc_bits,
                          frac_bits=min(BlockMACConfig.frac_bits, acc_bits - 1))


def add_design_options(parser: argparse.ArgumentParser,
                       designs: tuple[str, ...] | None = None) -> None:
    """The options every design shares (kinds with more parameters add their own); ``designs``
    are the ``--design`` choices (default: every registered kind; ``qmac prove`` adds the
    array's processing element)."""
    parser.add_argument("--design", default="mac",
                        choices=tuple(DESIGN_KINDS) if designs is None else designs,
                        help="design kind (default: mac)")
    parser.add_argument("--weight", default="dint4",
                        help=f"weight format: {accepted_names()} (default: dint4)")
    parser.add_argument("--act", default=None,
                        help="activation format, e.g. int8, int4, fp8e4m3 (default: int8)")
    parser.add_argument("--act-bits", type=int, default=None,
                        help="INT activation width, instead of --act (default: 8)")
    parser.add_argument("--acc-bits", type=int, default=None,
                        help="accumulator width (default: holds 4096 extreme products)")
    parser.add_argument("--saturate", action="store_true",
                        help="saturate the accumulator instead of wrapping")
    parser.add_argument("--pipeline", action="store_true",
                        help="register the product before the accumulator (+1 cycle latency)")
    parser.add_argument("--product", default=DEFAULT_PRODUCT, choices=sorted(PRODUCT_DATAPATHS),
                        help=f"product datapath of dINT special codes (default: {DEFAULT_PRODUCT};"
                             f" docs/hardware.md)")
    _systolic_options(parser)


def config_from_args(args: argparse.Namespace) -> Any:
    """The golden config the design options describe (the kind's ``options`` builder)."""
    if args.design not in DESIGN_KINDS:
        raise ValueError(f"design must be one of {sorted(DESIGN_KINDS)}, not {args.design!r}")
    return DESIGN_KINDS[args.design].load("options")(args)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``qmac verilog``."""
    parser = subparsers.add_parser(
        "verilog", help="generate a design's Verilog and JSON manifest",
        description="Write <out>/<name>.v (top module <name>) and <out>/<name>.json (parameters, "
                    "ports, latency).")
    add_design_options(parser)
    parser.add_argument("-o", "--out", type=Path, default=Path("build/verilog"),
                        help="output folder (default: build/verilog)")
    parser.set_defaults(func=_verilog)


def _verilog(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    info = export(config, args.out)
    ports = ", ".join(f"{p['name']}:{p['dir']}{p['bits']}" for p in info["ports"])
    print(f"{args.out / info['verilog']}\n{args.out / (info['top'] + '.json')}\n"
          f"top {info['top']}, latency {info['latency']}, ports {ports}")
    return 0
