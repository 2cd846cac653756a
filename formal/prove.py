"""Prove that a generated MAC or PE has exactly golden's next-state function (Yosys ``sat``).

Both the design and its golden reference (``formal.spec``) are read into Yosys, every flip-flop
is cut open (``expose -evert-dff``: its output becomes a free input, its input a new output), and
``miter -equiv`` compares the two combinational functions. One SAT call over the miter then covers
every input *and* every register value, reachable or not, so a pass means the design equals the
specification in every cycle from any state: by induction over the cycles from reset, every run
of the design is a run of the specification. A failure names the counterexample (inputs, state,
both next states).

The whole array's state does not line up register by register with the specification's (delay
lines instead of activation passing), so its miter keeps both sides' registers, starts from the
reset state (every register zero, ``rst`` held low) and goes to ABC (Debian ``berkeley-abc``) as an
AIGER model: ``dprove`` first finds the pairs of equal signals by induction from that state
(signal correspondence, ``scorr``), which collapses the miter to a constant when the two sides
are equivalent: a proof for every input sequence of any length, not only the bounded check of
2R + C cycles that Yosys's own ``sat`` could not finish for a 4x4 array within 15 minutes.
Failing that it searches for a counterexample by bounded model checking.
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amaranth.back import verilog
from amaranth.lib import wiring

from flow.process import run_tool
from flow.tools import find_tools
from golden.mac import MACConfig
from golden.systolic import SystolicConfig
from hw.build import build, require_hardware
from hw.product import product_for
from hw.export import write_atomic
from hw.systolic import PE
from formal.spec import array_spec, mac_spec, pe_spec

__all__ = ["DESIGNS", "StateMismatch", "Proof", "prove", "miter_script",
           "sequential_script", "design_verilog", "run_yosys"]

DESIGNS = ("mac", "pe", "systolic")
"""What ``prove`` checks: the MAC unit and the array's processing element (proofs over every
state), and the whole systolic array (bounded model check from reset)."""

PROOF_TIMEOUT_S = 1800.0
ABC = "berkeley-abc"
_ABC_PROVEN = "Networks are equivalent"
_ABC_FAILED = re.compile(r"Output \d+ of miter \S+ was asserted in frame (\d+)")
_GOLD, _GATE = "gold", "gate"
_STATE_CELLS = "t:$dff t:$adff t:$dffe t:$sdff t:$sdffe t:$dlatch t:$mem* t:$ff"
_SHOWN = re.compile(r"^\s+\\(\S+)\s+(-?\d+)\s+\S+\s+[01xz]+\s*$", re.M)


class StateMismatch(RuntimeError):
    """The two sides' registers do not line up (a register was renamed or removed), so their
    next-state functions cannot be compared state by state."""


@dataclass(frozen=True)
class Proof:
    """Outcome of one equivalence proof; ``counterexample`` maps miter ports to values."""

    design: str
    name: str
    proven: bool
    seconds: float
    log: Path
    counterexample: dict[str, int]

    def summary(self) -> str:
        if self.proven:
            return f"{self.design} {self.name}: PROVEN equal to golden in {self.seconds:.2f} s"
        shown = ", ".join(f"{k}={v}" for k, v in self.counterexample.items())
        return (f"{self.design} {self.name}: FAILED in {self.seconds:.2f} s, "
                f"counterexample: {shown} (log {self.log})")


def design_verilog(design: str, config: Any, component: wiring.Component | None = None) -> str:
    """The generated Verilog of ``design`` as module ``dut`` (``component`` replaces the
    generator's, for the mutation tests). ``hw.build`` refuses a format no generator
    implements, the PE's included; the PE gets the product the array builds it with
    (``hw.product.product_for``: the decoded datapaths for FP, NF4 and ternary weights)."""
    if component is None:
        if design == "pe":
            require_hardware(config)
            component = PE(config, product_for(config))
        else:
            component = build(config)
    return verilog.convert(component, name="dut", emit_src=False)


def prove(design: str, config: MACConfig | SystolicConfig, job_dir: Path, *,
          component: wiring.Component | None = None,
          timeout: float = PROOF_TIMEOUT_S) -> Proof:
    """Check ``design`` against its golden reference (``formal.spec``).

    ``"mac"`` (a ``MACConfig``) and ``"pe"`` (a ``SystolicConfig``'s PE): next-state functions
    equal for every input and register value. ``"systolic"``: outputs equal in every cycle of
    every input sequence from reset (``rst`` held low), of any length. ``component``
    replaces the generated design (the mutation tests).
    """
    if design not in DESIGNS:
        raise ValueError(f"design must be one of {list(DESIGNS)}, not {design!r}")
    expected = MACConfig if design == "mac" else SystolicConfig
    if not isinstance(config, expected):
        raise TypeError(f"config must be a {expected.__name__} for design {design}, "
                        f"not {type(config).__name__}")
    spec = {"mac": mac_spec, "pe": pe_spec, "systolic": array_spec}[design](config, "spec")
    job_dir = Path(job_dir)
    job_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(job_dir / "spec.v", spec)
    write_atomic(job_dir / "dut.v", design_verilog(design, config, component))
    sides = ("spec.v", "spec"), ("dut.v", "dut")
    started = time.perf_counter()
    if design == "systolic":
        name = f"{config.name} (every cycle from reset)"
        proven, log, shown = prove_from_reset(sides, job_dir, timeout)
        return Proof(design, name, proven, time.perf_counter() - started, log, shown)
    else:
        name = config.name if design == "mac" else \
            f"pe_{config.weight.name}_x_int{config.act_bits}_psum{config.psum_bits}"
        script = miter_script(*sides)
    proven, log, shown = run_yosys(script, job_dir, "prove", timeout)
    return Proof(design, name, proven, time.perf_counter() - started, log, shown)


def prove_from_reset(sides: tuple[tuple[str, str], tuple[str, str]], job_dir: Path,
                     timeout: float) -> tuple[bool, Path, dict[str, int]]:
    """(equal in every cycle from reset, ABC's log, {"frame": N} of a counterexample): the two
    (Verilog file, top) ``sides`` in ``job_dir`` as an AIGER miter, proved by ABC's ``dprove``.
    Undecided counts as not proven, with no frame."""
    script = sequential_script(*sides, "\n".join([
        "delete -port miter/in_rst", "cd miter", "connect -set in_rst 1'b0", "cd ..",
        "async2sync", "techmap", "opt -fast", "dffunmap", "setundef -zero -init", "aigmap",
        "opt_clean", "write_aiger -zinit miter.aig"]), make_assert=False)
    (job_dir / "miter.ys").write_text(script)
    done = run_tool([*find_tools().yosys, "-q", "-l", "miter.log", "miter.ys"], cwd=job_dir,
                    timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"yosys failed in {job_dir} (log miter.log): "
                           f"{done.stderr.strip()[-500:]}")
    log = job_dir / "abc.log"
    abc = shutil.which(ABC)
    if abc is None:
        raise RuntimeError(f"{ABC} not found on PATH: install the Debian package berkeley-abc")
    done = run_tool([abc, "-c",
                     "read_aiger miter.aig; dprove -v"], cwd=job_dir, timeout=timeout)
    log.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"{ABC} failed in {job_dir} (log {log}): {done.stderr.strip()[-300:]}")
    failed = _ABC_FAILED.search(done.stdout)
    if failed:
        return False, log, {"frame": int(failed[1])}
    return _ABC_PROVEN in done.stdout, log, {}


def sequential_script(gold: tuple[str, str], gate: tuple[str, str], sat: str,
                      make_assert: bool = True) -> str:
    """Yosys script: the two designs (Verilog file, top module) with their registers, their
    outputs compared in every cycle by a miter (an assertion, or with ``make_assert`` False its
    output ``trigger``), then the commands ``sat``."""
    return "\n".join([
        *_prepare(*gold, _GOLD), f"design -stash {_GOLD}", *_prepare(*gate, _GATE),
        f"design -copy-from {_GOLD} -as {_GOLD} {_GOLD}",
        f"miter -equiv -flatten{' -make_assert' if make_assert else ''} {_GOLD} {_GATE} miter",
        "hierarchy -top miter", sat, ""])


def miter_script(gold: tuple[str, str], gate: tuple[str, str]) -> str:
    """Yosys script: combinational miter of two designs' next-state functions, SAT-proved.

    ``gold`` and ``gate`` are (Verilog file, top module). ``expose -evert-dff`` only acts on the
    design's top module, so each side is prepared alone and stashed.
    """
    return "\n".join([
        *_cut_open(*gold, _GOLD),
        f"design -stash {_GOLD}",
        *_cut_open(*gate, _GATE),
        f"design -copy-from {_GOLD} -as {_GOLD} {_GOLD}",
        f"miter -equiv -flatten -make_assert -make_outputs {_GOLD} {_GATE} miter",
        "hierarchy -top miter",
        "sat -verify -prove-asserts -set-assumes -show-ports miter",
        "",
    ])


def _prepare(verilog_file: str, top: str, name: str) -> list[str]:
    """Read one side as flat logic and flip-flops, renamed ``name``; ``proc -norom`` keeps the
    spec's case tables as logic the SAT solver reads, ``memory`` turns memories into registers."""
    return [f"read_verilog -formal {verilog_file}", f"hierarchy -top {top}",
            *([f"rename {top} {name}"] if top != name else []),
            "proc -norom", "chformal -lower", "flatten", "memory", "opt_clean"]


def _cut_open(verilog_file: str, top: str, name: str) -> list[str]:
    """One side with every flip-flop turned into a free input and a next-state output
    (``<reg>.q``, ``<reg>.d``); fail if any state element is left."""
    return [*_prepare(verilog_file, top, name), "expose -evert-dff t:$dff t:$adff", "opt_clean",
            f"select -assert-none {_STATE_CELLS}"]


def run_yosys(script: str, job_dir: Path, stem: str,
              timeout: float) -> tuple[bool, Path, dict[str, int]]:
    """Run ``script`` in ``job_dir``; (proof passed, log, counterexample ports when it failed).

    Yosys exits non-zero both for a failed proof and for a broken script: only the former
    prints ``proof did fail`` and is a result; anything else raises ``ToolError``'s sibling
    ``RuntimeError`` with the log's errors.
    """
    (job_dir / f"{stem}.ys").write_text(script)
    log = job_dir / f"{stem}.log"
    done = run_tool([*find_tools().yosys, "-q", "-l", log.name, f"{stem}.ys"], cwd=job_dir,
                    timeout=timeout)
    text = log.read_text(errors="replace") if log.exists() else done.stderr
    if done.returncode == 0:
        return True, log, {}
    if "proof did fail" in text or "proof did fail" in done.stderr:
        return False, log, {k: int(v) for k, v in _SHOWN.findall(text) if not k.endswith(".c")}
    errors = [line for line in (text + done.stderr).splitlines() if "ERROR" in line]
    if any("No matching port" in line for line in errors):
        raise StateMismatch(f"registers of the two sides differ: {errors[0]} (log {log})")
    raise RuntimeError(f"yosys failed in {job_dir} (log {log}): "
                       + ("; ".join(errors) or done.stderr.strip()[-500:]))
