"""Parallel loops on Python threads over compiled serial kernels that release the GIL.

Every parallel loop of cxsim splits a range of items (chunks of customers, agents, receiver
ranges) into contiguous parts, one per thread, and runs a compiled kernel
``kernel(lo, hi, *args)`` on each part: the calling thread takes the first part, worker
threads the others.  The kernels are ``@njit(nogil=True)`` serial loops, so the parts run
truly in parallel, and each writes only its own items (or its own per-chunk accumulators),
so results never depend on the number of threads.

Why not numba's ``prange``: a ``parallel=True`` function compiles its loop body a second time
as a separate function (a "gufunc") and then itself, and numba re-optimises and re-generates
the machine code of every function a compiled function calls inside each caller.  For the
customer kernel that tripled the LLVM work of the whole per-customer step: about a third of
a first run's compiling (``experiments/bench/compile_profile.py``).  A serial kernel compiles
once.  The price is a slightly dearer start of each parallel loop: a Python lock hand-off
to a sleeping thread, about 25-30 µs against OpenMP's 15-20 µs on a 2-core machine (empty
loop over 49 chunks), a few hundredths of a millisecond per tick; the tick of 100,000
customers measured the same as with ``prange``.

The number of threads is numba's (:func:`numba.get_num_threads`, set by ``--threads`` or
:func:`numba.set_num_threads`), read at each call; one thread runs the kernel directly.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import numba

__all__ = ["for_ranges", "split"]


def split(n: int, parts: int, align: int = 1) -> list[tuple[int, int]]:
    """``parts`` contiguous ranges covering ``0 .. n-1``, as even as whole blocks allow.

    Each range but the last starts and ends on a multiple of ``align`` (a block of items).
    """
    blocks = -(-n // align)
    cuts = [min(n, blocks * k // parts * align) for k in range(parts + 1)]
    return list(zip(cuts[:-1], cuts[1:], strict=True))


class _Team:
    """Worker threads that each run one part of a loop, handed over by locks."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.busy = threading.Lock()  # one loop at a time; a second caller runs serially
        self.go: list[threading.Lock] = []
        self.done: list[threading.Lock] = []
        self.tasks: list = []
        self.errors: list = []
        self.broken = False

    def _grow(self, workers: int) -> None:
        while len(self.go) < workers:
            go, done = threading.Lock(), threading.Lock()
            go.acquire()
            done.acquire()
            self.go.append(go)
            self.done.append(done)
            self.tasks.append(None)
            self.errors.append(None)
            threading.Thread(target=self._work, args=(len(self.go) - 1,), daemon=True,
                             name=f"cxsim-worker-{len(self.go)}").start()

    def _work(self, k: int) -> None:
        go, done = self.go[k], self.done[k]
        while True:
            go.acquire()
            kernel, lo, hi, args = self.tasks[k]
            self.tasks[k] = None
            try:
                kernel(lo, hi, *args)
            except BaseException as exc:  # re-raised by the caller
                self.errors[k] = exc
            done.release()

    def run(self, kernel: Callable, ranges: list[tuple[int, int]], args: tuple) -> None:
        workers = len(ranges) - 1
        self._grow(workers)
        for k in range(workers):
            lo, hi = ranges[k + 1]
            self.tasks[k] = (kernel, lo, hi, args)
            self.go[k].release()
        waiting = list(range(workers))
        try:
            lo, hi = ranges[0]
            kernel(lo, hi, *args)
        finally:
            try:
                for k in waiting:
                    self.done[k].acquire()
            except BaseException:  # interrupted while a worker still runs: start afresh
                self.broken = True
                raise
        errors = [e for e in self.errors[:workers] if e is not None]
        self.errors[:workers] = [None] * workers
        if errors:
            raise errors[0]


_team: _Team | None = None
_team_lock = threading.Lock()


def _get_team() -> _Team:
    global _team
    with _team_lock:
        if _team is None or _team.broken or _team.pid != os.getpid():
            _team = _Team()  # a forked child has none of its parent's threads
        return _team


def for_ranges(kernel: Callable, n: int, *args, align: int = 1,
               threads: int | None = None) -> None:
    """Run ``kernel(lo, hi, *args)`` over contiguous parts of ``0 .. n-1``, in parallel.

    One part per thread (``threads``, default :func:`numba.get_num_threads`), never more
    parts than blocks of ``align`` items, each part made of whole blocks (chunks).
    ``kernel`` must write only what belongs to its items.
    """
    threads = numba.get_num_threads() if threads is None else threads
    parts = max(1, min(int(threads), -(-int(n) // align)))
    if parts == 1:
        kernel(0, n, *args)
        return
    team = _get_team()
    if not team.busy.acquire(blocking=False):  # already running a loop (another thread)
        kernel(0, n, *args)
        return
    try:
        team.run(kernel, split(n, parts, align), args)
    finally:
        team.busy.release()
