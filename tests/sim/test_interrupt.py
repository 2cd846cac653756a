"""Stopping ``qmac mutate`` or ``qmac regress`` leaves no simulator behind.

A fake ``vvp`` on PATH (the real ``iverilog`` still compiles) hangs with a child of its own and
records both pids. Before the simulators ran through ``flow.process.run_tool``, cocotb's runner
killed only the direct child (the ``sleep`` lived on), and an interrupted ``qmac mutate`` kept
its worker pool running the remaining mutants.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from processes import alive_after, started

_FAKE_VVP = "#!/bin/sh\nsleep 600 &\necho $$ $! >> {pids}\nwait\n"


@pytest.mark.parametrize(("command", "whole_group"), [
    (["mutate", "--weight", "int4", "-n", "2", "--jobs", "2"], True),
    (["mutate", "--weight", "int4", "-n", "2", "--jobs", "2"], False),
    (["regress", "--design", "mac", "--sim", "icarus", "--weight", "int4"], False)],
    ids=["mutate-ctrl-c", "mutate-sigint", "regress-sigint"])
def test_interrupt_kills_every_simulator(tmp_path: Path, command: list[str],
                                         whole_group: bool) -> None:
    """SIGINT to qmac alone (``kill -INT``) or to its whole process group (Ctrl-C in a
    terminal), once a simulator runs: one line, exit 130, and every fake ``vvp`` and its child
    gone within seconds."""
    bin_dir, pids_file = tmp_path / "bin", tmp_path / "pids"
    bin_dir.mkdir()
    fake = bin_dir / "vvp"
    fake.write_text(_FAKE_VVP.format(pids=pids_file))
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    qmac = subprocess.Popen([Path(sys.executable).with_name("qmac"), *command,
                             "-o", str(tmp_path / "out")], env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while not (pids_file.exists() and pids_file.read_text().endswith("\n")):
            assert qmac.poll() is None and time.monotonic() < deadline, qmac.communicate()
            time.sleep(0.1)
        time.sleep(1.0)  # the second worker's simulator, if any, starts too
        pids = {int(pid): None for pid in pids_file.read_text().split()}
        pids = {pid: started(pid) for pid in pids}
        if whole_group:
            os.killpg(qmac.pid, signal.SIGINT)
        else:
            qmac.send_signal(signal.SIGINT)
        _, stderr = qmac.communicate(timeout=60)
    finally:
        if qmac.poll() is None:
            os.killpg(qmac.pid, signal.SIGKILL)
            qmac.wait()
    alive = alive_after(pids, 10.0)
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    assert (qmac.returncode, stderr) == (130, f"qmac {command[0]}: interrupted\n")
    assert not alive, "a simulator outlived qmac"
