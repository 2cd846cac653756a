"""run_tool: output, timeouts that kill the whole process group, bad timeouts, missing tools, and
a ``qmac`` run stopped by Ctrl-C or SIGTERM while a (fake, endless) tool runs."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flow.process import ToolError, run_tool
from processes import started


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is dead for our purposes.
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().split(")")[-1].split()[0] != "Z"


def test_output_and_exit_code():
    done = run_tool(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (done.returncode, done.stdout, done.stderr) == (3, "out\n", "err\n")


def test_timeout_kills_the_tool_and_its_children(tmp_path):
    pidfile = tmp_path / "child.pid"
    start = time.perf_counter()
    with pytest.raises(ToolError, match=r"^sh did not finish within 0\.5 s \(killed; cwd "):
        run_tool(["sh", "-c", f"sleep 60 & echo $! > {pidfile}; trap '' TERM; wait"],
                 cwd=tmp_path, timeout=0.5)
    assert time.perf_counter() - start < 30
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), f"grandchild {child} survived the timeout"


@pytest.mark.parametrize("timeout", [0, -1, math.inf, math.nan, "10"])
def test_bad_timeout(timeout):
    with pytest.raises(ValueError, match=r"^timeout must be a positive finite number of seconds"):
        run_tool(["true"], timeout=timeout)


def test_missing_tool():
    with pytest.raises(ToolError, match=r"^cannot start no-such-tool-qmac: "):
        run_tool(["no-such-tool-qmac"])


def _wait_dead(pid: int, start: str | None, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(pid) and started(pid) == start and time.monotonic() < deadline:
        time.sleep(0.05)
    return not (_alive(pid) and started(pid) == start)


@pytest.mark.parametrize(("sig", "code", "word"), [(signal.SIGINT, 130, "interrupted"),
                                                   (signal.SIGTERM, 143, "terminated")])
def test_stopped_qmac_kills_the_running_tool(tmp_path: Path, sig: signal.Signals, code: int,
                                             word: str) -> None:
    """``qmac synth`` reaches gate-level simulation, where a fake ``iverilog`` hangs (and has a
    child). Stopping qmac must print one line, exit 128 + signal and leave no tool behind;
    before, the tool kept running in its own session."""
    bin_dir, pids = tmp_path / "bin", tmp_path / "pids"
    bin_dir.mkdir()
    fake = bin_dir / "iverilog"
    fake.write_text(f"#!/bin/sh\nsleep 600 &\necho $$ $! > {pids}.tmp\nmv {pids}.tmp {pids}\n"
                    "wait\n")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    qmac = subprocess.Popen([Path(sys.executable).with_name("qmac"), "synth", "--weight", "int4",
                             "--workload", "zeros", "-o", str(tmp_path / "out")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while not pids.exists():
        assert qmac.poll() is None and time.monotonic() < deadline, qmac.communicate()
        time.sleep(0.1)
    tool, child = map(int, pids.read_text().split())
    alive = {pid: started(pid) for pid in (tool, child)}
    qmac.send_signal(sig)
    _, stderr = qmac.communicate(timeout=60)
    assert (qmac.returncode, stderr) == (code, f"qmac synth: {word}\n")
    assert all(_wait_dead(pid, start) for pid, start in alive.items()), \
        "the fake tool outlived qmac"


def test_interrupt_while_a_tool_starts_still_kills_it(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C landing inside ``Popen`` (after the fork, before run_tool holds the process) is
    delivered once the tool can be killed; before, it escaped and orphaned the tool."""
    pidfile = tmp_path / "tool.pid"
    real = subprocess.Popen

    def interrupted_start(*args, **kwargs):
        proc = real(*args, **kwargs)
        while not pidfile.exists():
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGINT)
        return proc

    monkeypatch.setattr(subprocess, "Popen", interrupted_start)
    with pytest.raises(KeyboardInterrupt):
        run_tool(["sh", "-c", f"echo $$ > {pidfile}.tmp; mv {pidfile}.tmp {pidfile}; sleep 60"],
                 timeout=30)
    pid = int(pidfile.read_text())
    assert _wait_dead(pid, started(pid)), "the tool outlived the interrupt"
