"""A first run compiles the customer kernel in a second process while it sets up.

The first ``cxsim run`` after installing compiles every kernel (numba's on-disk cache is
empty).  The customer step, :func:`cxsim.kernels.customer.advance_span`, is more than half of
that work, and nothing needs it before the first tick.  So when it is not in the cache,
:func:`start` launches a second Python process (:func:`main`) that compiles it into the cache,
with arguments of the same types as a run's (:func:`example_arguments`), while this process
goes on importing, reading the scenario and compiling the set-up kernels on the other core.
The second process starts with the queue phase's kernels (:func:`_queue_calls`), which the
run needs only at its first tick and then loads from the cache: that balances the two (cold
``cxsim run`` 8.8-9.0 s -> 7.7-8.1 s on a quiet machine, ``experiments/bench/startup.py``).
The work is shared, each function compiled once: this process first compiles the step's
helpers that the set-up needs too (:func:`~cxsim.kernels.customer.start_customer` and the
random draws under it) and a few small ones, while the other compiles the episode walk; then
it tells the other to go on, which finds those helpers in the cache.  The first tick waits for
the other process (:func:`wait`) and loads the kernel from the cache.

If the second process fails or its types do not match the run's, the run compiles the kernel
itself, as before: results never depend on any of this.  A warm start only reads the cache's
index of the kernel (about a millisecond) and starts nothing.
"""

from __future__ import annotations

import atexit
import os
import selectors
import subprocess
import sys
import time
import typing
from pathlib import Path

import numpy as np

from .inputs import Behaviour, Customers, Journeys, Segments, Today, Touchpoints

__all__ = ["example_arguments", "start", "wait"]

#: what the compiling process says when the kernel is in the cache
DONE = "advance_span"
#: what this process says when the shared helpers are in the cache
GO = "go"
#: longest wait of either process for the other (s); past it each goes on alone
WAIT_S = 600.0
#: what the compiling process runs
_CHILD = "from cxsim.kernels.precompile import main; main()"

_child: subprocess.Popen | None = None

_SCALAR = {"float": 0.0, "int": 0, "bool": False}
#: arrays of the groups that are not float64[:]
_DTYPES = {("Touchpoints", "channel"): np.int64, ("Journeys", "need_ptr"): np.int64,
           ("Journeys", "need_tp"): np.int64, ("Journeys", "path_ptr"): np.int64,
           ("Journeys", "path_to"): np.int64, ("Journeys", "path_kind"): np.int64,
           ("Journeys", "path_mask"): np.int64}
_2D = {("Segments", "need_cum"), ("Segments", "channel_pref")}
_3D = {("Touchpoints", "intervals")}


def _arrays(group: type) -> object:
    fields = []
    for name in group._fields:
        shape = (1, 1) if (group.__name__, name) in _2D else (1,)
        if (group.__name__, name) in _3D:
            shape = (1, 1, 1)
        fields.append(np.zeros(shape, _DTYPES.get((group.__name__, name), np.float64)))
    return group(*fields)


def example_arguments() -> tuple:
    """Arguments of :func:`~cxsim.kernels.customer.advance_span` with a run's types.

    Built from the groups' declared types (:mod:`cxsim.kernels.inputs`), one customer, no
    work (``lo == hi``); a test checks that a real run calls the kernel with the same types.
    """
    beh = Behaviour(*(_SCALAR[t.__name__] for t in typing.get_type_hints(Behaviour).values()))
    today = Today(*(0.0 for _ in Today._fields))
    return (0, 0, 0, 1, True, np.zeros(12, np.uint64), Customers.empty(1), beh, today,
            _arrays(Segments), _arrays(Touchpoints), _arrays(Journeys), np.zeros(2, np.int64),
            np.zeros((1, 1)), np.zeros((1, 1, 1)), np.zeros((1, 1, 1)))


def _walk_arguments(args: tuple) -> tuple:
    """Arguments of :func:`~cxsim.kernels.customer.walk_episode` as the step passes them."""
    keys, cu, beh, today, seg, tp, jr = args[5:12]
    return (keys[0], 0, 0, 0, cu.segment[0], cu.expectation[0], beh, today, seg, tp, jr,
            args[14][0], 0)


def _helper_calls(args: tuple) -> list:
    """The step's compiled helpers that the set-up needs too, or that are small.

    ``(function, arguments)`` with the types the step passes them.
    """
    from . import customer as C

    keys, cu, beh, seg = args[5], args[6], args[7], args[9]
    f32 = cu.satisfaction[0]
    return [(C.start_customer, (keys[0], keys[0], 0, 0, cu.segment[0], seg, beh, cu, 0.0, 0.0)),
            (C.contagion_shift, (0.0, 0.0, 0.0, 0.0)),
            (C.service_recovery, (keys[0], 0, 0, f32, f32, 0.0, 0.0, 0)),
            (C.csat_answer, (0.0, 0.0, 0.0)), (C.ces_answer, (0.0, 0.0, 0.0, 0.0))]


def _compile(function, arguments: tuple) -> None:
    import numba

    function.compile(tuple(numba.typeof(a) for a in arguments))


def _in_cache() -> bool:
    """Whether the customer kernel is compiled here or in numba's cache (any signature)."""
    from .customer import advance_span

    if advance_span.signatures:
        return True
    try:
        return bool(advance_span._cache._cache_file._load_index())  # numba internals
    except Exception:  # noqa: BLE001 - if numba's layout changes, behave as before
        return True


def start() -> None:
    """Compile the customer kernel in a second process if the cache lacks it (idempotent)."""
    global _child
    if _child is not None or os.environ.get("NUMBA_DISABLE_JIT") == "1" or _in_cache():
        return
    root = str(Path(__file__).resolve().parents[2])  # the folder holding the cxsim package
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    try:
        _child = subprocess.Popen([sys.executable, "-c", _CHILD], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                                  text=True)
    except OSError:
        return
    atexit.register(_stop)
    try:
        for function, arguments in _helper_calls(example_arguments()):
            _compile(function, arguments)
    except Exception:  # noqa: BLE001 - the run compiles what it needs when it needs it
        pass
    try:
        _child.stdin.write(GO + "\n")
        _child.stdin.close()
    except OSError:  # it has ended: the run compiles the kernel itself
        pass


def _read_line(stream, seconds: float) -> str | None:
    """The next line of ``stream`` within ``seconds`` (``None``: none came; ``""``: ended)."""
    with selectors.DefaultSelector() as sel:
        sel.register(stream, selectors.EVENT_READ)
        if not sel.select(seconds):
            return None
        return stream.readline().strip()


def wait() -> None:
    """Block until the compiling process (if any) is done; then the kernel loads from cache."""
    global _child
    child, _child = _child, None
    if child is None:
        return
    deadline = time.monotonic() + WAIT_S
    try:
        while (left := deadline - time.monotonic()) > 0:
            if _read_line(child.stdout, left) in (DONE, "", None):
                break
    finally:
        _end(child)


def _end(child: subprocess.Popen) -> None:
    try:
        child.wait(timeout=0.5)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
    child.stdout.close()


def _stop() -> None:
    """At exit: a compiling process the run did not wait for ends with it."""
    global _child
    child, _child = _child, None
    if child is not None and child.poll() is None:
        child.kill()
        child.wait()


def _queue_calls() -> list:
    """The queue phase's kernels, which a run needs only at its first tick.

    Compiling them here first takes about 0.9 s of CPU off the run's own path, which is the
    longer of the two (it reached the first tick at 7.2 s, after this process had finished).
    """
    from .erlang import forecast
    from .waits import mixture_device

    one = np.zeros(1)
    return [(mixture_device, (0.0, 0.0, 0.0, 0.0, one, one, 0.0)),
            (forecast, (np.zeros((1, 1)), one, one, 0))]


def main() -> None:
    """The compiling process: queue kernels, episode walk, then (once told) the customer step."""
    from .customer import advance_span, walk_episode

    args = example_arguments()
    for function, arguments in _queue_calls():
        _compile(function, arguments)
    _compile(walk_episode, _walk_arguments(args))
    if _read_line(sys.stdin, WAIT_S) == "":  # the run has ended (if it is slow: go alone)
        return
    advance_span(*args)  # compiled, or loaded from the cache, then run on no customers
    print(DONE, flush=True)
