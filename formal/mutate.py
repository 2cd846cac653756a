"""Mutation testing in the MCY manner: how many deliberately broken designs does the regression
catch?

Yosys's ``mutate`` pass lists N single-bit faults (inverted, stuck-at-0/1 or XOR-ed port bits of
RTLIL cells), evenly sampled over the design (``mutate -list N -seed S``). Each mutant is written
as Verilog and run through the design's cocotb regression (its kind's ``testbench``); a
failing regression kills it. A survivor is then compared with the unmutated design: first the
combinational miter of the next-state functions with free state (``formal.prove``), which proves
equivalence in every state; if that fails, a sequential miter from reset (``sat -tempinduct``)
either finds an input sequence after which the outputs differ (non-equivalent: a gap in the
regression) or proves equivalence by induction. Only non-equivalent survivors count against the
score ``killed / (killed + non-equivalent)``; a survivor neither proven nor refuted within the
step bound counts against it too and is labelled ``unresolved``. A mutant whose regression does
not finish within ``SIM_TIMEOUT_S`` is killed: the regression noticed it (by hanging).

Mutants run in a pool of worker processes. The workers ignore Ctrl-C and turn SIGTERM into an
interrupt, so that on Ctrl-C (or any error) the parent terminates the pool and each worker's
``run_tool`` kills its simulator or Yosys with its process group before the worker exits.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from flow.process import ToolError, run_tool
from flow.tools import find_tools
from formal.prove import StateMismatch, miter_script, run_yosys, sequential_script
from golden.checks import check_int
from golden.designs import design_kind
from golden.mac import MACConfig
from golden.systolic import SystolicConfig
from hw.export import export
from sim.runner import run_cocotb
from sim.toolchain import check_sim

__all__ = ["VERDICTS", "MutantResult", "Campaign", "list_mutations", "write_mutant",
           "classify", "check_mutant", "campaign"]

VERDICTS = ("killed", "equivalent", "non-equivalent", "unresolved")
"""``killed``: the regression failed; the others are survivors, classified formally."""

YOSYS_TIMEOUT_S = 600.0
SIM_TIMEOUT_S = 600.0
"""Bound on each compile or simulation of a mutant's regression (the largest, a 4x4 array on
Icarus, takes about a minute on a loaded machine)."""
_PREPARE = "prep -flatten -top {top}"
_PROVEN = re.compile(r"Induction step proven: SUCCESS")
_BASE_FAILED = re.compile(r"model found for base case: FAIL")
_LENGTH = re.compile(r"Trying induction with length (\d+)")


@dataclass(frozen=True)
class MutantResult:
    index: int
    command: str
    verdict: str
    detail: str
    seconds: float


@dataclass
class Campaign:
    """Results of one mutation run over ``config``'s design."""

    name: str
    results: list[MutantResult] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, verdict: str) -> int:
        return sum(r.verdict == verdict for r in self.results)

    @property
    def score(self) -> float:
        """Killed share of the mutants that are not equivalent (1.0 when there are none)."""
        against = self.count("killed") + self.count("non-equivalent") + self.count("unresolved")
        return self.count("killed") / against if against else 1.0

    @property
    def survivors(self) -> list[MutantResult]:
        return [r for r in self.results if r.verdict in ("non-equivalent", "unresolved")]

    def summary(self) -> str:
        counts = ", ".join(f"{self.count(v)} {v}" for v in VERDICTS)
        lines = [f"{self.name}: {len(self.results)} mutants: {counts}; score "
                 f"{100 * self.score:.1f} % of non-equivalent mutants killed "
                 f"({self.seconds:.0f} s)"]
        lines += [f"  SURVIVOR {r.verdict} #{r.index}: {r.command} -- {r.detail}"
                  for r in self.survivors]
        return "\n".join(lines)


def list_mutations(verilog: Path, top: str, job_dir: Path, n: int, seed: int,
                   filters: str = "") -> list[str]:
    """``n`` ``mutate -mode ...`` commands for ``top`` in ``verilog`` (``filters``: extra
    ``mutate -list`` options such as ``-wire valid``), evenly sampled with ``seed``."""
    check_int("n", n, 1)
    check_int("seed", seed, 0)
    job_dir = _local_copy(verilog, job_dir)
    script = [f"read_verilog {Path(verilog).name}", _PREPARE.format(top=top),
              f"mutate -list {n} -seed {seed} {filters} -o mutations.ys", ""]
    _yosys(script, job_dir, "list")
    return [line.strip() for line in (job_dir / "mutations.ys").read_text().splitlines()
            if line.strip()]


def write_mutant(verilog: Path, top: str, command: str, out: Path) -> Path:
    """``verilog`` with the one mutation ``command`` applied, as Verilog at ``out`` (``command``
    ``""`` writes the unmutated design through the same passes, the equivalence reference)."""
    job_dir = _local_copy(verilog, out.parent)
    script = [f"read_verilog {Path(verilog).name}", _PREPARE.format(top=top), command,
              "opt_clean", f"write_verilog -noattr {out.name}", ""]
    _yosys(script, job_dir, out.stem)
    return out


def classify(reference: Path, mutant: Path, top: str, job_dir: Path,
             max_steps: int) -> tuple[str, str]:
    """(verdict, detail) of a surviving mutant against ``reference`` (both files in ``job_dir``):
    equivalent in every state, or from reset non-equivalent / equivalent / unresolved."""
    try:
        proven, _, _ = run_yosys(miter_script((reference.name, top), (mutant.name, top)),
                                 job_dir, "equiv", YOSYS_TIMEOUT_S)
    except StateMismatch:
        proven = False
    if proven:
        return "equivalent", "next-state functions equal in every state"
    script = sequential_script((reference.name, top), (mutant.name, top),
                               f"sat -tempinduct -prove-asserts -set-init-zero "
                               f"-maxsteps {max_steps} -show-inputs miter")
    (job_dir / "seq.ys").write_text(script)
    done = run_tool([*find_tools().yosys, "-l", "seq.log", "seq.ys"], cwd=job_dir,
                    timeout=YOSYS_TIMEOUT_S)
    text = (job_dir / "seq.log").read_text(errors="replace") if (job_dir / "seq.log").exists() \
        else done.stderr
    if done.returncode != 0:
        raise RuntimeError(f"yosys failed in {job_dir} (log seq.log): {done.stderr.strip()[-300:]}")
    if _PROVEN.search(text):
        return "equivalent", "equal from reset (proven by induction)"
    if _BASE_FAILED.search(text):
        step = _LENGTH.findall(text)[-1]
        return "non-equivalent", (f"outputs differ {step} cycles after reset "
                                  f"(counterexample in {job_dir / 'seq.log'})")
    return "unresolved", f"no difference within {max_steps} cycles from reset, not proven"


def check_mutant(config: MACConfig | SystolicConfig, index: int, command: str, original: Path,
                 job_dir: Path, sim: str, seed: int,
                 sim_timeout: float = SIM_TIMEOUT_S) -> MutantResult:
    """Run the regression on one mutant, and classify it formally if it survives."""
    started = time.perf_counter()
    job_dir.mkdir(parents=True, exist_ok=True)
    top = config.name
    mutant = write_mutant(original, top, command, job_dir / "mutant.v")
    reference = write_mutant(original, top, "", job_dir / "reference.v")
    try:
        run_cocotb(config, sim, design_kind(config).testbench, job_dir / "sim", seed=seed,
                   verilog=mutant, timeout=sim_timeout)
    except ToolError as err:
        return MutantResult(index, command, "killed", f"regression stopped: {err}"[:200],
                            time.perf_counter() - started)
    except AssertionError as err:
        first = next((line for line in str(err).splitlines()[1:] if line.strip()), str(err))
        return MutantResult(index, command, "killed", first.strip()[:200],
                            time.perf_counter() - started)
    verdict, detail = classify(reference, mutant, top, job_dir, _max_steps(config))
    return MutantResult(index, command, verdict, detail, time.perf_counter() - started)


def campaign(config: MACConfig | SystolicConfig, out_dir: Path, *, n: int, seed: int = 0,
             sim: str = "icarus", jobs: int | None = None, filters: str = "",
             progress: Callable[[str], None] = print) -> Campaign:
    """Generate ``n`` mutants of ``config``'s design and run each (``jobs`` in parallel, default
    one per core), printing a progress line per mutant (index, verdict, elapsed, ETA)."""
    check_int("n", n, 1)
    check_int("seed", seed, 0)
    check_sim(sim)
    jobs = (os.cpu_count() or 1) if jobs is None else jobs
    check_int("jobs", jobs, 1)
    out_dir = Path(out_dir).resolve() / config.name
    original = out_dir / export(config, out_dir)["verilog"]
    commands = list_mutations(original, config.name, out_dir / "list", n, seed, filters)
    progress(f"[mutate] {config.name}: {len(commands)} mutants (seed {seed}), {sim}, "
             f"{jobs} in parallel")
    result = Campaign(config.name)
    started = time.perf_counter()
    tasks = [(config, i, cmd, original, out_dir / f"m{i:04d}", sim, seed)
             for i, cmd in enumerate(commands, 1)]
    pool = multiprocessing.Pool(jobs, initializer=_worker_signals)
    try:
        for done, mutant in enumerate(pool.imap_unordered(_check_in_worker, tasks), 1):
            result.results.append(mutant)
            elapsed = time.perf_counter() - started
            eta = elapsed / done * (len(commands) - done)
            progress(f"[mutate] {config.name} mutant {done}/{len(commands)} (#{mutant.index}) "
                     f"{mutant.verdict} in {mutant.seconds:.1f} s [elapsed {elapsed:.0f} s, "
                     f"ETA {eta:.0f} s]")
    except BaseException:
        pool.terminate()  # SIGTERM: each worker's run_tool kills its tool's process group
        raise
    finally:
        pool.close()
        pool.join()
    result.results.sort(key=lambda r: r.index)
    result.seconds = time.perf_counter() - started
    return result


_BUSY = False
"""Whether this pool worker is checking a mutant (its SIGTERM must then unwind ``run_tool``)."""


def _worker_signals() -> None:
    """Pool initializer: Ctrl-C is the parent's to handle; its SIGTERM stops the worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_worker)


def _stop_worker(signum: int, frame: object) -> None:
    """An idle worker exits at once; a busy one unwinds, so ``run_tool`` kills its tool."""
    if not _BUSY:
        os._exit(128 + signum)
    raise KeyboardInterrupt


def _check_in_worker(task: tuple) -> MutantResult:
    """``check_mutant`` in a pool worker; once interrupted (``run_tool`` has then killed its
    tool), the worker exits without a traceback rather than pick up the next mutant."""
    global _BUSY
    _BUSY = True
    try:
        return check_mutant(*task)
    except KeyboardInterrupt:
        os._exit(128 + signal.SIGTERM)
    finally:
        _BUSY = False


def _max_steps(config: Any) -> int:
    """Cycles from reset the sequential check explores: a MAC's pipeline twice over, or an
    array's full fill, skew and drain (2R + C) plus its output stages."""
    if config.kind == "mac":
        return 2 * config.latency + 4
    return 2 * config.rows + config.cols + config.latency + 2


def _local_copy(verilog: Path, job_dir: Path) -> Path:
    """``job_dir`` holding ``verilog`` (Yosys is given relative paths inside its job folder)."""
    job_dir = Path(job_dir)
    job_dir.mkdir(parents=True, exist_ok=True)
    local = job_dir / Path(verilog).name
    if Path(verilog).resolve() != local.resolve():
        local.write_text(Path(verilog).read_text())
    return job_dir


def _yosys(script: list[str], job_dir: Path, stem: str) -> None:
    (job_dir / f"{stem}.ys").write_text("\n".join(script))
    done = run_tool([*find_tools().yosys, "-q", "-l", f"{stem}.log", f"{stem}.ys"], cwd=job_dir,
                    timeout=YOSYS_TIMEOUT_S)
    if done.returncode != 0:
        errors = [line for line in done.stderr.splitlines() if "ERROR" in line]
        raise RuntimeError(f"yosys failed in {job_dir} ({stem}.log): "
                           + ("; ".join(errors) or done.stderr.strip()[-300:]))
