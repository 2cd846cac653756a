"""``qmac synth``, ``power``, ``report`` and ``sweep``: the flow's commands (logic in ``flow.evaluate``,
``flow.power``, ``flow.report`` and ``flow.sweep``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from golden.designs import flow_kinds
from golden.workloads import WORKLOADS
from hw.cli import add_design_options, config_from_args
from hw.export import write_atomic
from flow.evaluate import DEFAULT_CLOCK_NS, evaluate
from flow.folders import MARKER
from flow.power import power_of_netlist
from flow.recipes import DEFAULT_RECIPE, RECIPES, get_recipe
from flow.executors import open_executor
from flow.report import DEFAULT_CACHE, DEFAULT_OUT, make_study, parse_recipes
from flow.sweep import Sweep, load_spec, run_sweep

__all__ = ["register", "summary"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this area's subcommands to the ``qmac`` parser."""
    _register_synth(subparsers)
    _register_power(subparsers)
    _register_report(subparsers)
    _register_sweep(subparsers)


def _register_power(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "power", help="power of any gate-level netlist from measured per-net toggles",
        description="Internal (Liberty tables at propagated slews and loads), switching and "
                    "state-dependent leakage power of a gate-level netlist from the toggles and "
                    "time at 1 of every net in a VCD/FST or SAIF file.")
    parser.add_argument("--netlist", type=Path, required=True,
                        help="gate-level Verilog netlist (or a Yosys JSON netlist)")
    parser.add_argument("--liberty", type=Path, required=True,
                        help="Liberty library of the netlist's cells (may be gzipped)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--vcd", type=Path, help="VCD or FST of the simulation")
    source.add_argument("--saif", type=Path, help="SAIF of the simulation")
    parser.add_argument("--scope", required=True,
                        help="instance path of the netlist's top in the waveform (e.g. tb.dut)")
    parser.add_argument("--clock-ns", type=float, required=True, help="clock period in ns")
    parser.add_argument("--top", default=None, help="top module (default: Yosys's guess)")
    parser.add_argument("--cycles", type=int, default=None,
                        help="window length in clock periods from the waveform's start "
                             "(default: the whole file)")
    parser.add_argument("--depth", type=int, default=1,
                        help="hierarchy levels of the per-instance breakdown (default: 1)")
    parser.add_argument("--json", type=Path, default=None, help="also write the result here")
    parser.set_defaults(func=_power)


def _power(args: argparse.Namespace) -> int:
    result = power_of_netlist(args.netlist, args.liberty, vcd=args.vcd, saif=args.saif,
                              scope=args.scope, clock_ns=args.clock_ns, top=args.top,
                              cycles=args.cycles, depth=args.depth)
    if args.json is not None:
        write_atomic(args.json, json.dumps(result, indent=2) + "\n")
    total = result["total"]
    print(f"{result['top']}: {total['total_mw']:.6g} mW (internal {total['internal_mw']:.6g}, "
          f"switching {total['switching_mw']:.6g}, leakage {total['leakage_mw']:.6g}) over "
          f"{result['cycles']} cycles of {result['clock_ns']:g} ns")
    for scope, power in result["scopes"].items():
        print(f"  {scope or '(top level)':<24} {power['total_mw']:12.6g} mW")
    if result["unannotated_nets"]:
        print(f"  warning: {result['unannotated_nets']} nets have no activity in the waveform "
              f"(taken as constant)")
    return 0


def _register_synth(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "synth", help="synthesise a design; report area, timing and data-dependent power",
        description="Export, synthesise (Yosys) onto a Liberty library, time (OpenSTA), replay "
                    "workloads on the gate-level netlist (Icarus) and estimate power from the "
                    "measured activity. Writes <out>/<name>/result.json.")
    add_design_options(parser, flow_kinds())
    _add_flow_options(parser, clock_help="clock period in ns",
                      workload_help="workload to simulate; repeat for several (default: all)")
    parser.add_argument("--recipe", default=DEFAULT_RECIPE.name, choices=list(RECIPES),
                        help=f"synthesis recipe (flow.recipes; default: {DEFAULT_RECIPE.name})")
    parser.add_argument("-o", "--out", type=Path, default=Path("build/synth"),
                        help="output folder (default: build/synth)")
    parser.set_defaults(func=_synth)


def _add_flow_options(parser: argparse.ArgumentParser, *, clock_help: str,
                      workload_help: str) -> None:
    """Library, clock, workload and seed options that ``synth`` and ``report`` share."""
    parser.add_argument("--liberty", type=Path, default=None,
                        help="Liberty library, may be gzipped (default: the osu018 record of flow.tech)")
    parser.add_argument("--cells-verilog", type=Path, default=None,
                        help="Verilog models of the library's cells (default: the osu018 record's)")
    parser.add_argument("--clock-ns", type=float, default=DEFAULT_CLOCK_NS,
                        help=f"{clock_help} (default: {DEFAULT_CLOCK_NS:g})")
    parser.add_argument("--workload", action="append", choices=WORKLOADS, dest="workloads",
                        help=workload_help)
    parser.add_argument("--seed", type=int, default=0, help="workload seed (default: 0)")


def _synth(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    result = evaluate(config, liberty=args.liberty, cells_verilog=args.cells_verilog,
                      clock_ns=args.clock_ns, workloads=tuple(args.workloads or WORKLOADS),
                      seed=args.seed, out_dir=args.out, recipe=get_recipe(args.recipe))
    print("\n".join(summary(result, args.out.resolve() / config.name / "result.json")))
    return 0


def summary(result: dict, path: Path) -> list[str]:
    """A few lines: area, Fmax, and power and energy per MAC for each workload."""
    area, timing, power = result["area"], result["timing"], result["power"]
    vectorless = power["vectorless"]
    lines = [
        f"{result['design']['name']} on {result['library']['name']} at {result['clock_ns']:g} ns",
        f"  area      {area['total_um2']:.0f} um2 ({area['cell_count']} cells, sequential "
        f"{area['sequential_um2']:.0f} um2)",
        f"  timing    critical path {timing['critical_path_ns']:.3f} ns, "
        f"Fmax {timing['fmax_mhz']:.1f} MHz ({timing['startpoint']} -> {timing['endpoint']})",
        f"  power     {'workload':<10} {'total mW':>9} {'pJ/MAC':>8}",
        f"            {'vectorless':<10} {vectorless['total_mw']:9.4f} "
        f"{vectorless['energy_per_mac_pj']:8.3f}   (input activity "
        f"{vectorless['input_activity']:g}, not measured)",
    ]
    if area["pe_um2"] is not None:
        lines.insert(2, f"  array     {area['pe_count']} PEs of {area['pe_um2']:.0f} um2, "
                        f"edge logic {area['edge_um2']:.0f} um2")
    for name, w in power["workloads"].items():
        lines.append(f"            {name:<10} {w['total_mw']:9.4f} {w['energy_per_mac_pj']:8.3f}"
                     f"   (seed {w['seed']}, {w['macs']} MACs in {w['cycles']} cycles)")
        if "with_glitches" in w:
            g = w["with_glitches"]
            lines.append(f"            {'+glitches':<10} {g['total_mw']:9.4f} "
                         f"{g['energy_per_mac_pj']:8.3f}   (SDF-timed replay; glitches "
                         f"{g['glitch_share']:.0%} of dynamic power)")
    lines.append(f"  result    {path}")
    return lines


def _register_report(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report", help="evaluate MACs and arrays of each format; write the efficiency report",
        description="Evaluate every design of a study (default: the sweep spec "
                    "flow/specs/report.toml: INT8, INT4, dINT4 and format-zoo MACs, 4x4 and 8x8 "
                    "arrays, at 10 ns, workloads minilm, synthetic, uniform, zeros) and write report.md, results.json, results.csv and PNG plots. Results are "
                    "cached by design parameters, library, clock, workloads, seed and tool "
                    "versions, so a second run only redoes what changed.")
    parser.add_argument("--designs", default=None,
                        help="comma list of kinds (mac, systolic) and weight formats (int8, "
                             "int4, dint4, ...); INT8 is always added as the baseline "
                             "(default: both kinds, int8,int4,dint4)")
    parser.add_argument("--sizes", default=None,
                        help="array sizes: N (square) or RxC, comma separated (default: 4,8; "
                             "with --quick: 2)")
    _add_flow_options(parser, clock_help="common clock period in ns",
                      workload_help="workload; repeat for several, minilm (else the first) is "
                                    "the headline (default: minilm, synthetic, uniform, zeros)")
    parser.add_argument("--quick", action="store_true",
                        help="small study: the MACs and 2x2 arrays (unless --sizes is given), "
                             "recipes default and booth (unless --recipes is given)")
    parser.add_argument("--recipes", default=None,
                        help=f"comma list of the synthesis recipes every MAC and PE is searched "
                             f"over (default: all of {', '.join(RECIPES)})")
    _add_run_options(parser, DEFAULT_OUT)
    parser.set_defaults(func=_report)


def _add_run_options(parser: argparse.ArgumentParser, out: Path) -> None:
    """Output folder, result cache and where the design points run: ``report`` and ``sweep``."""
    parser.add_argument("-o", "--out", type=Path, default=out,
                        help=f"report folder (default: {out}/ in the current folder); an "
                             f"existing one is replaced only if it holds an earlier report "
                             f"(a {MARKER} file) or nothing")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                        help=f"result cache folder, shared by reports and sweeps (default: "
                             f"{DEFAULT_CACHE}/ in the current folder)")
    _add_executor_options(parser)


def _add_executor_options(parser: argparse.ArgumentParser) -> None:
    """Where the design points run (``flow.executors``): here, a local pool, or a Dask cluster."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--jobs", type=int, default=None,
                       help="parallel flow runs on this machine (default: one per core; 1: "
                            "serial, in this process)")
    where.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="run on a Dask cluster: the scheduler's address, e.g. "
                            "tcp://host:8786 (docs/sweep.md)")


def _report(args: argparse.Namespace) -> int:
    options = [("--designs", args.designs), ("--sizes", args.sizes),
               ("--liberty", args.liberty), ("--cells-verilog", args.cells_verilog),
               ("--clock-ns", None if args.clock_ns == DEFAULT_CLOCK_NS else f"{args.clock_ns:g}"),
               *(("--workload", w) for w in args.workloads or ()),
               ("--seed", args.seed or None), ("--recipes", args.recipes)]
    words = ["qmac report", *(["--quick"] if args.quick else [])]
    words += [f"{flag} {value}" for flag, value in options if value is not None]
    command = " ".join(words)
    study = make_study(args.designs, args.sizes, quick=args.quick,
                       workloads=tuple(args.workloads or ()), clock_ns=args.clock_ns,
                       seed=args.seed, liberty=args.liberty, cells_verilog=args.cells_verilog,
                       command=command, recipes=parse_recipes(args.recipes))
    sweep = Sweep("quick" if args.quick else "report", (study,))
    return _run(sweep, args)


def _run(sweep: Sweep, args: argparse.Namespace) -> int:
    with open_executor(args.jobs, args.scheduler) as executor:
        run_sweep(sweep, args.out, cache_dir=args.cache, executor=executor,
                  progress=lambda line: print(line, flush=True))
    return 0


def _register_sweep(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sweep", help="evaluate a design-space sweep (TOML spec) on this machine or a Dask cluster",
        description="Evaluate every design point of SPEC (grids and lists over kind, size, weight "
                    "and activation formats, acc bits, overflow, pipeline, clock, Liberty and "
                    "workloads; docs/sweep.md) through the flow, with the report's result cache, "
                    "and write the report's tables and plots: one report for a one-study sweep, "
                    "else one per study plus a combined results.csv and Pareto plot.")
    parser.add_argument("spec", type=Path, help="sweep spec, a TOML file (e.g. flow/specs/quick.toml)")
    _add_run_options(parser, Path("build/sweep"))
    parser.set_defaults(func=_sweep)


def _sweep(args: argparse.Namespace) -> int:
    if not args.spec.is_file():
        raise ValueError(f"spec file {str(args.spec)!r} does not exist")
    return _run(load_spec(args.spec, command=f"qmac sweep {args.spec}"), args)
