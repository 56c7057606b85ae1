"""Where runs execute: in this process, in a pool of local processes, or on a Dask cluster.

Every experiment maps a plain top-level function over tasks with the ``concurrent.futures``
interface, so the same code runs anywhere; each run depends only on its seed, so results do
not depend on the executor or the number of workers.

- :func:`process_pool`: ``spawn`` processes (safe with numba's threads), one numba thread
  each (the pool is the parallelism).  Workers ignore Ctrl-C (the parent decides what
  happens) and exit on their own if the parent process dies.  Compiled kernels come from
  numba's on-disk cache, so a worker loads them rather than compiling.
- :func:`dask_executor`: ``"local"`` starts a ``LocalCluster`` of single-threaded worker
  processes owned by this process; an address such as ``tcp://HOST:PORT`` connects to a
  running scheduler.  Tasks are submitted with ``pure=False``: two runs with equal
  arguments are still two runs (Dask would otherwise merge them).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager

#: seconds to wait for a Dask scheduler before giving up
CONNECT_TIMEOUT = 10.0

_ADDRESS = re.compile(r"^(tcp|tls|inproc|ucx|ws|wss)://\S+$")


class ExecutorError(ValueError):
    """An executor cannot be set up (missing extra, unreachable scheduler); one line."""


def one_thread() -> None:
    """Use one numba thread in this process (a worker of a pool or cluster)."""
    import numba

    if numba.get_num_threads() != 1:
        numba.set_num_threads(1)


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(1)  # the parent died (killed): do not linger as an orphan


def _init_worker(parent: int) -> None:
    """Process-pool initializer: one numba thread, Ctrl-C left to the parent, no orphans."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    one_thread()
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes set up as described in the module docstring."""
    return ProcessPoolExecutor(max_workers=workers,
                               mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker, initargs=(os.getpid(),))


def stop_now(executor: Executor) -> None:
    """Shut a process pool down without waiting for its running tasks (they are killed)."""
    processes = dict(getattr(executor, "_processes", None) or {})
    executor.shutdown(wait=False, cancel_futures=True)
    for proc in processes.values():
        try:
            proc.terminate()
        except (OSError, AttributeError):
            pass
    for proc in processes.values():
        try:
            proc.join(timeout=5)
        except (OSError, AttributeError, AssertionError):
            pass


@contextmanager
def dask_executor(scheduler: str, workers: int | None = None,
                  timeout: float | None = None) -> Iterator[tuple[Executor, int]]:
    """Yield ``(executor, slots)`` on a Dask cluster; ``slots`` is its total thread count.

    ``scheduler="local"`` starts a LocalCluster of ``workers`` single-threaded processes
    (default: all cores) and closes it afterwards; otherwise ``scheduler`` is the address of
    a running scheduler.  Raises :class:`ExecutorError` if Dask is missing or the scheduler
    cannot be reached within ``timeout`` seconds (default :data:`CONNECT_TIMEOUT`).
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ExecutorError("--scheduler needs Dask: pip install 'cxsim[dask]' (or "
                            "pip install 'dask[distributed]')") from None
    cluster = None
    if scheduler == "local":
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                               processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR)
        client = Client(cluster)
    else:
        if not _ADDRESS.match(scheduler):
            raise ExecutorError(f"--scheduler must be 'local' or an address like "
                                f"tcp://HOST:PORT, got {scheduler!r}")
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT if timeout is None else timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ExecutorError(f"--scheduler: cannot reach {scheduler} ({reason})") from None
    try:
        slots = sum(client.nthreads().values()) or 1
        yield client.get_executor(pure=False), slots
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
