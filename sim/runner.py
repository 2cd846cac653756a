"""Export a design, build it for Icarus or Verilator and run a cocotb test module against it.

The config travels to the testbench as JSON in ``QMAC_CONFIG`` (rebuild it with
``golden.designs.config_from_json``) and the stimulus seed in ``QMAC_SEED``. Builds live in
``<build_dir>/<sim>[_waves]/`` and are incremental, so test functions that share a build folder
compile once.

cocotb's runner starts the compiler and the simulator with ``subprocess.run``: no timeout, and an
interrupt kills only the direct child (a ``make`` under Verilator leaves its compilers, a wrapper
its simulator). ``_bounded_runner`` routes each of its commands through ``flow.process.run_tool``
instead, so every build and simulation is bounded by a timeout and killed with its process group.
"""

from __future__ import annotations

import json
import os
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amaranth.lib import wiring
from cocotb_tools.runner import VerilatorControlFile, get_runner

from flow.process import DEFAULT_TIMEOUT_S, ToolError, run_tool
from hw.export import export, write_atomic
from sim.driver import STATS_ENV
from sim.toolchain import VERILATOR_WAIVERS, setup_simulator

__all__ = ["CocotbRun", "run_cocotb"]

ROOT = Path(__file__).resolve().parent.parent
TIMESCALE = ("1ns", "1ps")


@dataclass(frozen=True)
class CocotbRun:
    """Outcome of one passing cocotb run: where its files are and how fast it went."""

    sim: str
    top: str
    results: Path
    log: Path
    waves: Path | None
    tests: tuple[str, ...]
    stats: list[dict]
    build_seconds: float
    test_seconds: float


def run_cocotb(config: Any, sim: str, test_module: str, build_dir: Path, *, seed: int,
               waves: bool = False, extra_env: dict[str, str] | None = None,
               design: wiring.Component | None = None,
               testcase: str | None = None, verilog: Path | None = None,
               timeout: float = DEFAULT_TIMEOUT_S) -> CocotbRun:
    """Run cocotb module ``test_module`` on ``config``'s design in simulator ``sim``.

    Raises AssertionError with each failing test's message (the scoreboard's first mismatch)
    if any cocotb test failed, RuntimeError if the build or the simulator itself failed.
    ``design`` replaces ``hw.build.build(config)`` (used by the mutation test); ``verilog``, a
    file whose top module is ``config.name``, replaces the export altogether (``qmac mutate``).
    ``timeout`` bounds each compiler and simulator command (``ToolError`` past it).
    """
    setup_simulator(sim)
    build_dir = Path(build_dir).resolve()
    top = config.name
    if verilog is None:
        verilog = build_dir / "src" / export(config, build_dir / "src", design)["verilog"]
    else:
        source, verilog = Path(verilog), build_dir / "src" / f"{top}.v"
        verilog.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(verilog, source.read_text())
    sim_dir = build_dir / (f"{sim}_waves" if waves else sim)
    sim_dir.mkdir(parents=True, exist_ok=True)
    runner = _bounded_runner(sim, timeout)

    started = time.perf_counter()
    _build(runner, sim, top, verilog, sim_dir, waves)
    build_seconds = time.perf_counter() - started

    tag = test_module.rsplit(".", 1)[-1] + (f"_{testcase}" if testcase else "")
    results, log, stats_file = (sim_dir / f"{tag}{suffix}"
                                for suffix in (".results.xml", ".log", ".stats.jsonl"))
    for stale in (results, stats_file):
        stale.unlink(missing_ok=True)
    env = {"QMAC_CONFIG": json.dumps(config.params()), "QMAC_SEED": str(seed),
           STATS_ENV: str(stats_file),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           **(extra_env or {})}
    started = time.perf_counter()
    try:
        runner.test(test_module=test_module, hdl_toplevel=top, build_dir=sim_dir,
                    test_dir=sim_dir, results_xml=str(results), seed=seed, extra_env=env,
                    waves=waves, timescale=TIMESCALE, log_file=log, testcase=testcase)
    except ToolError:
        raise
    except (SystemExit, RuntimeError):
        # cocotb exits under pytest when a test fails; the results file tells what happened.
        pass
    test_seconds = time.perf_counter() - started
    tests, failures = _read_results(results, log)
    if failures:
        raise AssertionError(f"{sim} run of {top} ({test_module}) failed {len(failures)} of "
                             f"{len(tests)} tests (log {log}):\n" + "\n".join(failures))
    stats = [json.loads(line) for line in stats_file.read_text().splitlines()] \
        if stats_file.exists() else []
    # Icarus dumps FST; Verilator VCD (its FST writer needs the lz4 headers at compile time).
    wave_file = (sim_dir / (f"{top}.fst" if sim == "icarus" else "dump.vcd")) if waves else None
    return CocotbRun(sim, top, results, log, wave_file, tests, stats, build_seconds, test_seconds)


def _build(runner: Any, sim: str, top: str, verilog: Path, sim_dir: Path, waves: bool) -> None:
    """Compile incrementally: cocotb's runner skips Icarus when the Verilog is older than its
    image, and Verilator (``--skip-identical``) and make redo nothing for unchanged sources;
    ``hw.export`` leaves an unchanged Verilog file untouched, so a repeated run recompiles nothing.
    """
    sources: list[Any] = [verilog]
    if sim == "verilator":
        sources.insert(0, VerilatorControlFile(VERILATOR_WAIVERS))
    log = sim_dir / "build.log"
    try:
        runner.build(sources=sources, hdl_toplevel=top, build_dir=sim_dir, timescale=TIMESCALE,
                     waves=waves, always=False, log_file=log)
    except ToolError:
        raise
    except (SystemExit, RuntimeError) as err:
        raise RuntimeError(f"{sim} build of {top} failed ({err}); see {log}") from None


def _read_results(results: Path, log: Path) -> tuple[tuple[str, ...], list[str]]:
    """(names of the tests run, one line per failing or skipped test) from cocotb's xUnit file."""
    if not results.exists():
        raise RuntimeError(f"the simulator wrote no results ({results}); see {log}")
    cases = list(ElementTree.parse(results).getroot().iter("testcase"))
    if not cases:
        raise RuntimeError(f"cocotb ran no tests (results {results}); see {log}")
    failures = []
    for case in cases:
        for bad in (*case.findall("failure"), *case.findall("error"), *case.findall("skipped")):
            failures.append(f"{case.get('name')} {bad.tag}: "
                            f"{bad.get('message') or bad.text or 'no message'}")
    return tuple(str(case.get("name")) for case in cases), failures


def _bounded_runner(sim: str, timeout: float) -> Any:
    """cocotb's runner for ``sim`` with each command run by ``run_tool`` under ``timeout``."""
    base: type = type(get_runner(sim))

    class Bounded(base):  # type: ignore[valid-type, misc]
        def _execute(self, cmds: Any, cwd: Any) -> None:
            log = None if self.log_file is None else Path(self.log_file)
            if log is not None:
                log.write_text("")
            for cmd in cmds:
                done = run_tool(cmd, cwd=cwd, env=self.env, timeout=timeout, log=log)
                if log is None:
                    print(done.stdout + done.stderr, end="")
                if done.returncode != 0:
                    raise RuntimeError(f"{Path(cmd[0]).name} failed with return code "
                                       f"{done.returncode}")

    Bounded.__name__ = Bounded.__qualname__ = f"Bounded{base.__name__}"
    return Bounded()
