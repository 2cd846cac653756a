"""Telling whether a process a test saw is still running (pids are reused, so by start time)."""

from __future__ import annotations

import time


def started(pid: int) -> str | None:
    """The start time of process ``pid`` (None once it is gone or a zombie): tells a reused pid
    apart."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().split(")")[-1].split()
    except FileNotFoundError:
        return None
    return None if fields[0] == "Z" else fields[19]


def alive_after(pids: dict[int, str | None], seconds: float) -> list[int]:
    """Those of ``pids`` (pid: its ``started``) still running after waiting up to ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        alive = [pid for pid, start in pids.items() if start and started(pid) == start]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)
