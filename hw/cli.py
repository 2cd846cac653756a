"""``qmac verilog``: write a design's Verilog and manifest (logic lives in ``hw.export``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Callable

from golden.arith import Overflow
from golden.blockmac import BlockMACConfig
from golden.datapath import DEFAULT_PRODUCT, PRODUCT_DATAPATHS
from golden.formats import accepted_names
from golden.mac import MACConfig
from golden.systolic import SystolicConfig
from hw.build import BUILDERS
from hw.export import export

__all__ = ["CONFIG_FROM_ARGS", "add_design_options", "config_from_args", "register"]


def _mac_config(args: argparse.Namespace) -> MACConfig:
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


def _systolic_config(args: argparse.Namespace) -> SystolicConfig:
    if args.pipeline:
        raise ValueError("pipeline applies to --design mac only, not to the systolic array")
    return SystolicConfig(args.rows, args.cols, args.weight, act_bits=args.act_bits,
                          psum_bits=args.psum_bits, acc_bits=args.acc_bits,
                          overflow=_overflow(args), acc_depth=args.acc_depth,
                          product=args.product, act=args.act)


def _block_mac_config(args: argparse.Namespace) -> BlockMACConfig:
    """MX weights times MX activations (``--act``, default: the weight's format)."""
    if args.saturate or args.pipeline or args.product != DEFAULT_PRODUCT:
        raise ValueError("--saturate, --pipeline and --product apply to --design mac and "
                         "systolic, not to block_mac (its accumulator wraps)")
    if args.act_bits is not None:
        raise ValueError(f"act-bits does not apply to block_mac (give --act), not "
                         f"{args.act_bits!r}")
    acc_bits = BlockMACConfig.acc_bits if args.acc_bits is None else args.acc_bits
    return BlockMACConfig(args.weight, act=args.act or args.weight, acc_bits=acc_bits,
                          frac_bits=min(BlockMACConfig.frac_bits, acc_bits - 1))


CONFIG_FROM_ARGS: dict[str, Callable[[argparse.Namespace], Any]] = {
    "mac": _mac_config, "systolic": _systolic_config, "block_mac": _block_mac_config}
"""``--design`` -> config from the parsed options; other design kinds add their entry here."""


def add_design_options(parser: argparse.ArgumentParser,
                       designs: tuple[str, ...] = tuple(sorted(BUILDERS))) -> None:
    """The options every design shares (kinds with more parameters add their own); ``designs``
    are the ``--design`` choices (``qmac prove`` adds the array's processing element)."""
    parser.add_argument("--design", default="mac", choices=designs,
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
    """The golden config the design options describe."""
    if args.design not in CONFIG_FROM_ARGS:
        raise ValueError(f"design must be one of {sorted(CONFIG_FROM_ARGS)}, not {args.design!r}")
    return CONFIG_FROM_ARGS[args.design](args)


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
