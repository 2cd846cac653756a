"""run_tool: output, timeouts that kill the whole process group, bad timeouts, missing tools."""

from __future__ import annotations

import math
import os
import time

import pytest

from flow.process import ToolError, run_tool


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
