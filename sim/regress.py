"""The MAC regression: which configs run on which simulator, and running them with progress.

``qmac regress`` and ``tests/sim/test_mac_sim.py`` share ``mac_grid``, so the CLI and CI run the
same cases. Each case runs every test of ``sim.tb_mac`` (exhaustive, random, overflow corners,
latency) on one (config, simulator) pair.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from golden.arith import Overflow
from golden.formats import DINT4, INT4, INT8, Format
from golden.mac import MACConfig
from sim.runner import run_cocotb
from sim.toolchain import SIMULATORS, check_sim

__all__ = ["TEST_MODULE", "Case", "CaseResult", "mac_grid", "regress"]

TEST_MODULE = "sim.tb_mac"


@dataclass(frozen=True)
class Case:
    config: MACConfig
    sim: str

    @property
    def id(self) -> str:
        return f"{self.config.name}-{self.sim}"


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


def mac_grid(sims: tuple[str, ...] = SIMULATORS,
             weights: tuple[Format, ...] | None = None) -> list[Case]:
    """Default grid: every format on every simulator, dINT4 saturate/pipeline on every simulator,
    the other variants and narrow accumulators (``product_bits + 2``, corners within a few
    cycles) on Icarus only, to keep Verilator compiles few."""
    for sim in sims:
        check_sim(sim)
    everywhere: list[MACConfig] = [MACConfig(f) for f in (INT8, INT4, DINT4)] + [
        MACConfig(DINT4, overflow=Overflow.SATURATE), MACConfig(DINT4, pipeline=True)]
    icarus_only = [MACConfig(INT8, overflow=Overflow.SATURATE),
                   MACConfig(INT4, overflow=Overflow.SATURATE, pipeline=True)]
    for fmt in (INT8, INT4, DINT4):
        narrow = MACConfig(fmt).product_bits + 2
        icarus_only.append(MACConfig(fmt, acc_bits=narrow, overflow=Overflow.SATURATE))
        icarus_only.append(MACConfig(fmt, acc_bits=narrow, pipeline=True))
    cases = [Case(c, s) for c in everywhere for s in sims]
    cases += [Case(c, "icarus") for c in icarus_only if "icarus" in sims]
    if weights is not None:
        names = {w.name for w in weights}
        cases = [c for c in cases if c.config.weight.name in names]
    return cases


def regress(cases: list[Case], out_dir: Path, *, seed: int = 0, waves: bool = False,
            random_cycles: int | None = None,
            progress: Callable[[str], None] = print) -> list[CaseResult]:
    """Run every case (builds under ``<out_dir>/<config name>/``); failures are collected."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, not {seed!r}")
    if random_cycles is not None and (not isinstance(random_cycles, int) or random_cycles < 1):
        raise ValueError(f"random_cycles must be a positive integer, not {random_cycles!r}")
    extra_env = {} if random_cycles is None else {"QMAC_RANDOM_CYCLES": str(random_cycles)}
    results = []
    started = time.perf_counter()
    for i, case in enumerate(cases, 1):
        try:
            run = run_cocotb(case.config, case.sim, TEST_MODULE, Path(out_dir) / case.config.name,
                             seed=seed, waves=waves, extra_env=extra_env)
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
