"""The cocotb regressions: which configs run on which simulator, and running them with progress.

``qmac regress`` and the pytest files (``tests/sim/test_mac_sim.py``,
``tests/sim/test_systolic_sim.py``) share ``mac_grid`` and ``systolic_grid``, so the CLI and CI
run the same cases. Each case runs every test of its design kind's testbench
(``golden.designs.DESIGN_KINDS``) on one
(config, simulator) pair. A weight filter never selects nothing: a format the default grid does
not hold on a simulator (any ``intB``/``dintBfF``) gets cases built for it there.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from golden.arith import MAX_ACC_BITS, Overflow, exact_acc_bits, product_bits
from golden.blockmac import BlockMACConfig
from golden.checks import check_int
from golden.datapath import DEFAULT_PRODUCT, PRODUCT_DATAPATHS
from golden.designs import DESIGN_KINDS, design_kind
from golden.families.blockscaled import block_params
from golden.formats import DINT4, FP8_E4M3, INT4, INT8, Format, as_format, get_format
from golden.mac import MACConfig
from golden.systolic import SystolicConfig
from sim.runner import run_cocotb
from sim.toolchain import SIMULATORS, check_sim

__all__ = ["designs", "Case", "CaseResult", "mac_grid", "systolic_grid",
           "block_mac_grid", "grid", "quick", "regress", "ZOO", "ACT_PAIRS", "QUICK_ZOO",
           "grid_acc_bits"]

def designs() -> tuple[str, ...]:
    """Values of ``grid``'s ``design`` (``qmac regress --design``): every registered kind and
    ``"all"``."""
    return (*DESIGN_KINDS, "all")


@dataclass(frozen=True)
class Case:
    config: MACConfig | SystolicConfig
    sim: str

    @property
    def id(self) -> str:
        return f"{self.config.name}-{self.sim}"

    @property
    def test_module(self) -> str:
        return design_kind(self.config).testbench


@dataclass(frozen=True)
class CaseResult:
    case: Case
    passed: bool
    message: str
    cycles: int
    sim_seconds: float
    build_seconds: float
    waves: Path | None

    @property
    def cycles_per_s(self) -> float:
        return self.cycles / self.sim_seconds if self.sim_seconds else 0.0


_OTHER_PRODUCTS = [p for p in PRODUCT_DATAPATHS if p != DEFAULT_PRODUCT]

ZOO = tuple(get_format(name) for name in ("fp4", "ternary", "nf4", "fp8e4m3", "fp8e5m2",
                                          "fp6e2m3", "fp6e3m2"))
"""Weight formats of the decoded datapaths (``golden.datapath.FAMILY_DATAPATHS``) in the default
grids: one per family datapath and every OCP minifloat (FP8 E5M2 x INT8 with the widest exact
accumulator, ``grid_acc_bits``)."""


def grid_acc_bits(weight: Format, act: Format = INT8) -> int | None:
    """The accumulator of a grid config: golden's default (None) when an exact one for 4096
    products fits ``MAX_ACC_BITS``, else that widest one, whose sums then wrap (FP8 E5M2 x INT8
    would need 52 bits)."""
    return None if exact_acc_bits(weight, act) <= MAX_ACC_BITS else MAX_ACC_BITS


ACT_PAIRS = ((get_format("fp4"), FP8_E4M3, None), (FP8_E4M3, FP8_E4M3, MAX_ACC_BITS),
             (DINT4, INT4, None))
"""(weight, activation, acc_bits) with a non-INT8 activation in the default grids; FP8 x FP8
over 4096 products would need 49 bits, so it runs the widest exact accumulator."""


QUICK_ZOO = {("mac", "verilator"): {("ternary", "int8"), ("fp4", "fp8e4m3")},
             ("mac", "icarus"): {(w.name, "int8") for w in ZOO} | {("fp4", "fp8e4m3"),
                                                                  ("dint4", "int4")},
             ("systolic", "icarus"): {("fp4", "int8"), ("ternary", "int8"), ("nf4", "int8"),
                                      ("fp4", "fp8e4m3"), ("dint4", "int4")}}
"""(design, simulator) -> the (weight, act) zoo cases ``make test`` runs. Every zoo case runs in
``qmac regress``; a Verilator build of each costs 20-30 s, so CI compiles one per decoded
datapath family mix (ternary mux, FP x FP8) and leaves the others to Icarus."""


def _zoo_configs(kind: Callable[..., object]) -> list:
    """One config of ``kind`` per zoo weight (INT8 activations) and per ``ACT_PAIRS`` pair."""
    return [kind(w, acc_bits=grid_acc_bits(w)) for w in ZOO] + [
        kind(w, act=a, acc_bits=acc) for w, a, acc in ACT_PAIRS]


def _zoo_array(weight: Format, **options: object) -> SystolicConfig:
    return SystolicConfig(4, 4, weight, **options)


def quick(cases: list[Case]) -> list[Case]:
    """``cases`` without the zoo cases ``QUICK_ZOO`` leaves to ``qmac regress`` (make test)."""
    zoo = {c.name for make in (MACConfig, _zoo_array)
           for c in _zoo_configs(make)}
    return [c for c in cases if c.config.name not in zoo or
            (c.config.weight.name, c.config.act.name) in QUICK_ZOO.get((c.config.kind, c.sim), ())]


def mac_grid(sims: tuple[str, ...] = SIMULATORS,
             weights: tuple[Format | str, ...] | None = None) -> list[Case]:
    """Default grid: every format on every simulator, dINT4 saturate/pipeline and every other
    product datapath (``golden.datapath``) of dINT4 on every simulator, the plain MAC of every
    ``ZOO`` format and ``ACT_PAIRS`` pair on every simulator, the other variants and
    narrow accumulators (``product_bits + 2``, corners within a few cycles) on Icarus only, to
    keep Verilator compiles few. ``weights`` keeps the cases of those formats, built by
    ``_mac_cases`` for a format (or simulator) the default grid lacks."""
    for sim in sims:
        check_sim(sim)
    everywhere: list[MACConfig] = [MACConfig(f) for f in (INT8, INT4, DINT4)] + [
        MACConfig(DINT4, overflow=Overflow.SATURATE), MACConfig(DINT4, pipeline=True)]
    everywhere += [MACConfig(DINT4, product=p) for p in _OTHER_PRODUCTS]
    everywhere += _zoo_configs(MACConfig)
    icarus_only = [MACConfig(INT8, overflow=Overflow.SATURATE),
                   MACConfig(INT4, overflow=Overflow.SATURATE, pipeline=True)]
    for fmt in (INT8, INT4, DINT4):
        icarus_only += _narrow_macs(fmt)
    return _select(_placed(everywhere, icarus_only, sims), weights, sims, _mac_cases)


def _mac_cases(fmt: Format, sims: tuple[str, ...]) -> list[Case]:
    """A format outside the default grid: the plain MAC on every simulator; saturation with the
    pipeline and both narrow accumulators on Icarus."""
    acc = grid_acc_bits(fmt)
    icarus_only = [MACConfig(fmt, acc_bits=acc, overflow=Overflow.SATURATE, pipeline=True),
                   *_narrow_macs(fmt)]
    return _placed([MACConfig(fmt, acc_bits=acc)], icarus_only, sims)


def _narrow_macs(fmt: Format) -> list[MACConfig]:
    """Saturating and pipelined MACs whose ``product_bits + 2`` accumulator overflows within a
    few cycles, so the overflow corners are reached."""
    narrow = product_bits(fmt, INT8) + 2
    return [MACConfig(fmt, acc_bits=narrow, overflow=Overflow.SATURATE),
            MACConfig(fmt, acc_bits=narrow, pipeline=True)]


def systolic_grid(sims: tuple[str, ...] = SIMULATORS,
                  weights: tuple[Format | str, ...] | None = None) -> list[Case]:
    """Default grid: small arrays of every format on Icarus (narrow accumulators make the
    overflow corners reachable; two with an output accumulator; a 2x2 dINT4 array per other
    product datapath; a 4x4 array per ``ZOO`` format and ``ACT_PAIRS`` pair), the 16x16 dINT4 array on Verilator, whose compiled model is the one fast
    enough for it. ``weights`` keeps the cases of those formats, built by ``_systolic_cases``
    for a format (or simulator) without one."""
    for sim in sims:
        check_sim(sim)
    icarus = [SystolicConfig(2, 2, DINT4),
              SystolicConfig(2, 2, INT8, acc_bits=16, overflow=Overflow.SATURATE),
              SystolicConfig(2, 3, DINT4, acc_bits=12, acc_depth=3),
              SystolicConfig(4, 4, INT8, overflow=Overflow.SATURATE),
              SystolicConfig(4, 4, INT4, acc_bits=13, overflow=Overflow.SATURATE, acc_depth=4),
              SystolicConfig(8, 8, DINT4)]
    icarus += [SystolicConfig(2, 2, DINT4, product=p) for p in _OTHER_PRODUCTS]
    icarus += _zoo_configs(_zoo_array)
    verilator = [SystolicConfig(16, 16, DINT4)]
    cases = [Case(c, "icarus") for c in icarus if "icarus" in sims]
    cases += [Case(c, "verilator") for c in verilator if "verilator" in sims]
    return _select(cases, weights, sims, _systolic_cases)


def _systolic_cases(fmt: Format, sims: tuple[str, ...]) -> list[Case]:
    """A format without a default case: on Icarus a 2x2 wrapping array and a saturating 2x3 one
    with a narrow accumulator and an output accumulator; on Verilator a 4x4 array."""
    narrow, acc = product_bits(fmt, INT8) + 2, grid_acc_bits(fmt)
    icarus = [SystolicConfig(2, 2, fmt, acc_bits=acc),
              SystolicConfig(2, 3, fmt, acc_bits=narrow, overflow=Overflow.SATURATE, acc_depth=3)]
    cases = [Case(c, "icarus") for c in icarus if "icarus" in sims]
    if "verilator" in sims:
        cases.append(Case(SystolicConfig(4, 4, fmt, acc_bits=acc), "verilator"))
    return cases


def block_mac_grid(sims: tuple[str, ...] = SIMULATORS,
                   weights: tuple[Format | str, ...] | None = None) -> list[Case]:
    """The block-scaled MACs MXINT8 x MXINT8, MXFP4 x MXINT8 and NVFP4 x INT8 on every
    simulator; ``weights`` keeps those it names and adds, for another block weight
    (``mxint8b16``, ``mxfp8e4m3``, ``nvfp4b32``), the MAC of that weight times MXINT8 of its
    block size (NVFP4: times INT8); other formats give no case."""
    for sim in sims:
        check_sim(sim)
    configs = [BlockMACConfig("mxint8", "mxint8"), BlockMACConfig("mxfp4", "mxint8"),
               BlockMACConfig("nvfp4", "int8")]
    cases = [Case(config, sim) for config in configs for sim in sims]
    return _select(cases, weights, sims, _block_mac_cases)


def _block_mac_cases(fmt: Format, sims: tuple[str, ...]) -> list[Case]:
    params = block_params(fmt)
    if params is None:
        return []
    act = get_format("int8" if fmt.kind == "nvfp" else
                     "mxint8" if params["block"] == 32 else f"mxint8b{params['block']}")
    return [Case(BlockMACConfig(fmt, act), sim) for sim in sims]


def _placed(everywhere: list, icarus_only: list, sims: tuple[str, ...]) -> list[Case]:
    cases = [Case(c, s) for c in everywhere for s in sims]
    return cases + [Case(c, "icarus") for c in icarus_only if "icarus" in sims]


def grid(design: str = "all", sims: tuple[str, ...] = SIMULATORS,
         weights: tuple[Format, ...] | None = None) -> list[Case]:
    """The cases of ``design`` (a registered kind, or ``"all"``: every kind's grid in
    registration order)."""
    if design not in designs():
        raise ValueError(f"design must be one of {list(designs())}, not {design!r}")
    return [case for name, kind in DESIGN_KINDS.items() if design in (name, "all")
            for case in kind.load("grid")(sims, weights)]


def _select(cases: list[Case], weights: tuple[Format | str, ...] | None, sims: tuple[str, ...],
            build: Callable[[Format, tuple[str, ...]], list[Case]]) -> list[Case]:
    """The cases of ``weights`` (all when None), in grid order; ``build`` adds the cases of each
    format on each simulator that ``cases`` holds none for."""
    if weights is None:
        return cases
    wanted = list(dict.fromkeys(as_format(w) for w in weights))
    kept = [c for c in cases if c.config.weight in wanted]
    present = {(c.config.weight, c.sim) for c in kept}
    return kept + [case for fmt in wanted for sim in sims if (fmt, sim) not in present
                   for case in build(fmt, (sim,))]


def regress(cases: list[Case], out_dir: Path, *, seed: int = 0, waves: bool = False,
            random_cycles: int | None = None,
            progress: Callable[[str], None] = print) -> list[CaseResult]:
    """Run every case (builds under ``<out_dir>/<config name>/``); failures are collected.

    An empty ``cases`` is a ValueError: "0 of 0 cases passed" would read as a success.
    """
    if not cases:
        raise ValueError("cases must hold at least one regression case, not an empty selection")
    check_int("seed", seed, 0)
    if random_cycles is not None:
        check_int("random_cycles", random_cycles, 1)
    extra_env = {} if random_cycles is None else {"QMAC_RANDOM_CYCLES": str(random_cycles)}
    results = []
    started = time.perf_counter()
    for i, case in enumerate(cases, 1):
        try:
            run = run_cocotb(case.config, case.sim, case.test_module,
                             Path(out_dir) / case.config.name, seed=seed, waves=waves,
                             extra_env=extra_env)
        except (AssertionError, RuntimeError) as err:
            result = CaseResult(case, False, str(err), 0, 0.0, 0.0, None)
            status = f"FAILED\n{err}"
        else:
            cycles = sum(s["cycles"] for s in run.stats)
            seconds = sum(s["seconds"] for s in run.stats)
            result = CaseResult(case, True, "", cycles, seconds, run.build_seconds, run.waves)
            status = (f"ok, {cycles} cycles in {seconds:.2f} s "
                      f"({result.cycles_per_s:,.0f} cycles/s), build {run.build_seconds:.1f} s"
                      + (f", waves {run.waves}" if run.waves else ""))
        results.append(result)
        progress(f"[{i}/{len(cases)}] {case.sim} {case.config.name} (seed {seed}): {status} "
                 f"[elapsed {time.perf_counter() - started:.0f} s]")
    return results
