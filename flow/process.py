"""Running external tools so that none outlives its caller: timeouts and process-group kills.

Every EDA tool qmac starts (yosys, sta, iverilog, vvp, verilator, sby, ...) goes through
``run_tool``. The tool runs in its own session, so on a timeout, a Ctrl-C or any other exception
in the caller the whole process group (the tool and whatever it spawned, such as the solver under
``sby`` or the compiler under ``verilator``) is terminated and then killed; nothing is left
orphaned. A timeout raises ``ToolError`` naming the tool, the limit and the log.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import threading
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Iterator, Sequence

__all__ = ["ToolError", "DEFAULT_TIMEOUT_S", "run_tool"]

DEFAULT_TIMEOUT_S = 3600.0
"""Upper bound for one tool run when the caller gives none: far above any qmac step, finite."""

_GRACE_S = 5.0


class ToolError(RuntimeError):
    """An external tool failed, timed out or could not be started."""


def run_tool(argv: Sequence[str | os.PathLike], *, cwd: Path | str | None = None,
             timeout: float | None = DEFAULT_TIMEOUT_S, env: dict[str, str] | None = None,
             input: str | None = None, log: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``argv`` to completion and return its captured (text) output; never raises on exit code.

    ``log``: stdout and stderr are appended, interleaved, to this file instead of being captured
    (the result's ``stdout`` and ``stderr`` are then None), so a long run's output is not held
    in memory and can be read while it runs.

    ``timeout`` (seconds, finite and positive) bounds the run; past it, or on any exception in
    this process while waiting (``KeyboardInterrupt`` included), the tool's process group is
    terminated, then killed after a grace period, and the exception (``ToolError`` for the
    timeout) propagates.
    """
    if timeout is not None and not (isinstance(timeout, (int, float)) and math.isfinite(timeout)
                                    and timeout > 0):
        raise ValueError(f"timeout must be a positive finite number of seconds, not {timeout!r}")
    argv = [str(a) for a in argv]
    with ExitStack() as files, _signals_held() as held:
        out = subprocess.PIPE if log is None else files.enter_context(open(log, "a"))
        try:
            proc = subprocess.Popen(argv, cwd=cwd, env=env, text=True, start_new_session=True,
                                    stdin=subprocess.PIPE if input is not None
                                    else subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.PIPE if log is None else subprocess.STDOUT)
        except OSError as err:
            raise ToolError(f"cannot start {argv[0]}: {err.strerror or err}") from None
    try:
        for signum in held:
            signal.raise_signal(signum)
        stdout, stderr = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise ToolError(f"{Path(argv[0]).name} did not finish within {timeout:g} s "
                        f"(killed; cwd {cwd or os.getcwd()})") from None
    except BaseException:
        _kill_group(proc)
        raise
    return subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)


@contextmanager
def _signals_held() -> Iterator[list[int]]:
    """Record SIGINT and SIGTERM instead of acting on them while a tool starts.

    An interrupt inside ``Popen``, after the fork, would orphan the tool: no handle to kill it
    exists yet. The caller re-raises the recorded signals once it holds the handle. Only the
    main thread can set handlers; other threads start tools unprotected.
    """
    held: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield held
        return
    previous = {signum: signal.signal(signum, lambda signum, frame: held.append(signum))
                for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield held
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGTERM the tool's process group, SIGKILL it if it has not exited after a grace period."""
    for sig, wait in ((signal.SIGTERM, _GRACE_S), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.communicate(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    # A group member that ignored SIGTERM while the leader exited still gets the SIGKILL.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
