"""Where flow jobs run: one ``concurrent.futures.Executor`` interface, three backends.

* **serial**: ``SerialExecutor`` runs each job in this process when it is submitted (``--jobs 1``);
  its jobs may print their own step lines.
* **local processes**: a ``ProcessPoolExecutor`` with ``--jobs N`` workers (default: every core).
* **Dask distributed**: ``--scheduler ADDRESS`` connects a ``distributed.Client`` to a running
  scheduler; its ``get_executor()`` is a ``concurrent.futures.Executor`` whose futures are standard
  futures, so the code that waits on jobs is the same for every backend. The workers must share the
  cache folder's filesystem (docs/sweep.md).

No scheduling is written here: the executors decide where a job runs, ``flow.portfolio.run_jobs``
only submits and waits, and ``flow.cache`` makes every finished job's result durable on its own.
"""

from __future__ import annotations

import os
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from golden.checks import check_int

__all__ = ["SerialExecutor", "open_executor", "runs_in_process"]


class SerialExecutor(Executor):
    """Runs every submitted call at once, here: the in-process backend of the same interface."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:  # noqa: BLE001 -- a future carries any failure to its waiter
            if isinstance(err, (KeyboardInterrupt, SystemExit)):
                raise
            future.set_exception(err)
        return future


def runs_in_process(executor: Executor) -> bool:
    """True when jobs run in this process (their step lines can reach the user directly)."""
    return isinstance(executor, SerialExecutor)


@contextmanager
def open_executor(jobs: int | None = None, scheduler: str | None = None) -> Iterator[Executor]:
    """The executor of ``--jobs``/``--scheduler``, shut down on exit (pending jobs cancelled).

    ``scheduler`` (a Dask scheduler address such as ``tcp://host:8786``) wins over ``jobs``;
    ``jobs`` 1 is the serial backend, None every core of this machine.
    """
    if scheduler is not None:
        if not isinstance(scheduler, str) or not scheduler.strip():
            raise ValueError(f"scheduler must be a Dask scheduler address such as "
                             f"tcp://host:8786, not {scheduler!r}")
        from distributed import Client
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as err:
            raise ValueError(f"scheduler {scheduler!r} could not be reached: {err}") from None
        try:
            # pure=False: two jobs with equal arguments are still two jobs (each its own folder).
            yield client.get_executor(pure=False)
        finally:
            client.close()
        return
    workers = (os.cpu_count() or 1) if jobs is None else check_int("jobs", jobs, 1)
    if workers == 1:
        yield SerialExecutor()
        return
    pool = ProcessPoolExecutor(max_workers=workers)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
