"""Where flow jobs run: one ``concurrent.futures.Executor`` interface, three backends.

* **serial**: ``SerialExecutor`` runs each job in this process when it is submitted (``--jobs 1``);
  its jobs may print their own step lines.
* **local processes**: a ``ProcessPoolExecutor`` with ``--jobs N`` workers (default: every core).
* **Dask distributed**: ``--scheduler ADDRESS`` connects a ``distributed.Client`` to a running
  scheduler; its ``get_executor()`` is a ``concurrent.futures.Executor`` whose futures are standard
  futures, so the code that waits on jobs is the same for every backend. The workers must share the
  cache folder's filesystem and should run with ``WORKER_CONFIG`` (docs/sweep.md);
  ``local_cluster`` starts such a cluster on this machine.

No scheduling is written here: the executors decide where a job runs, ``flow.portfolio.run_jobs``
only submits and waits, and ``flow.cache`` makes every finished job's result durable on its own.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from golden.checks import check_int

__all__ = ["SerialExecutor", "open_executor", "runs_in_process", "WORKER_CONFIG", "local_cluster"]

WORKER_CONFIG = Path(__file__).resolve().parent / "dask"
"""The folder of the Dask settings qmac's workers run with (``DASK_CONFIG`` of ``dask worker``):
without them Dask's nanny sets ``MALLOC_TRIM_THRESHOLD_`` and every flow job runs 40-60 % slower
(the quick report on 2 workers took 73 s against a process pool's 48 s; 49-52 s with them)."""


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


@contextmanager
def local_cluster(workers: int) -> Iterator[str]:
    """A Dask cluster of ``workers`` single-threaded worker processes on this machine, run with
    ``WORKER_CONFIG``; yields its scheduler address for ``open_executor(scheduler=...)``."""
    import dask
    from distributed import LocalCluster

    check_int("workers", workers, 1)
    settings = {}
    for loaded in dask.config.collect_yaml([str(WORKER_CONFIG)]):
        settings.update(_dotted(loaded))
    with dask.config.set(settings), LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
            silence_logs=logging.ERROR) as cluster:
        yield cluster.scheduler_address


def _dotted(tree: dict, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` as ``{"a.b": 1}``: ``dask.config.set`` replaces a nested mapping
    whole."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat |= _dotted(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat
