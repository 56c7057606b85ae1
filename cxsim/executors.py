"""Where runs execute, and the one way to run many of them: :func:`run_many`.

Every experiment (``compare``, ``sweep``, and what builds on them) describes its runs as
:class:`RunSpec` s and maps them with :func:`run_many` over one of

- ``"serial"``: one after the other in this process (numba uses all its threads);
- a :class:`ProcessPool` (:func:`process_pool`): ``spawn`` processes (safe with numba's
  threads), one numba thread each (the pool is the parallelism).  Workers ignore Ctrl-C
  (the parent decides what happens) and exit on their own if the parent process dies;
  compiled kernels come from numba's on-disk cache, so a worker loads them rather than
  compiling.  The pool keeps its worker processes (:attr:`ProcessPool.workers`, recorded
  as they start), so :meth:`ProcessPool.stop_now` can end them without waiting;
- any ``concurrent.futures.Executor``, e.g. a Dask cluster's (:func:`dask_executor`:
  ``"local"`` starts a ``LocalCluster`` of single-threaded worker processes owned by this
  process; an address such as ``tcp://HOST:PORT`` connects to a running scheduler; tasks
  are submitted with ``pure=False``, so two runs with equal arguments are still two runs).

Each run depends only on its scenario, strategy and seed, so results do not depend on the
executor or the number of workers.  A run that raises becomes a ``failed`` record with its
error text; the other runs go on.  Ctrl-C (or any exception in the caller's callback) stops
the runs in one place: pending runs are cancelled and a pool this module started is
stopped at once.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.context import SpawnContext, SpawnProcess
from typing import Any

from .errors import Arg, InputError

#: seconds to wait for a Dask scheduler before giving up
CONNECT_TIMEOUT = 10.0

#: replications of one design point or strategy (``--reps``)
MAX_REPLICATIONS = 10_000

#: runs of one experiment (a sweep's points × replications, a comparison's strategies ×
#: replications)
MAX_RUNS = 100_000

#: per-tick rows an experiment keeps in memory (runs × ticks: a comparison's ``ticks.csv``,
#: a sweep's ``ticks.parquet``); about 150 bytes a row
MAX_TICK_ROWS = 5_000_000

#: worker processes per core of this machine, and at most in all (``--workers``)
WORKERS_PER_CORE = 4
MAX_WORKERS = 256

#: bytes a Dask scheduler's first message may announce (its handshake is about 60)
_HANDSHAKE_LIMIT = 2**20

_ADDRESS = re.compile(r"^(tcp|tls|inproc|ucx|ws|wss)://\S+$")


class ExecutorError(InputError):
    """An executor cannot be set up (missing extra, unreachable scheduler); one line."""


def max_workers() -> int:
    """The most worker processes a pool or a local cluster may start on this machine.

    :data:`WORKERS_PER_CORE` per core, at most :data:`MAX_WORKERS`: more processes than
    that only share the same cores and each holds its own copy of the model's memory.
    """
    return min(MAX_WORKERS, WORKERS_PER_CORE * (os.cpu_count() or 1))


def check_workers(workers: Any, arg: str = "workers") -> int | None:
    """``workers`` as a whole number in 1..:func:`max_workers` (``None`` passes through)."""
    if workers is None:
        return None
    if isinstance(workers, bool) or not isinstance(workers, int) and not hasattr(
            workers, "__index__"):
        raise InputError(Arg(arg), f" must be a whole number, got {workers!r}")
    n = int(workers)
    if n < 1:
        raise InputError(Arg(arg), f" must be at least 1, got {n}")
    most = max_workers()
    if n > most:
        raise InputError(Arg(arg), f" must be at most {most} ({WORKERS_PER_CORE} per core "
                         f"of this machine), got {n}")
    return n


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
    """Pool initializer: one numba thread, Ctrl-C left to the parent, no orphans."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    one_thread()
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


class _TrackingContext(SpawnContext):
    """The ``spawn`` context, recording every process it makes (the pool's workers)."""

    def __init__(self) -> None:
        super().__init__()
        self.made: list[SpawnProcess] = []
        self.made_lock = threading.Lock()

    def Process(self, *args: Any, **kwargs: Any) -> SpawnProcess:  # noqa: N802 - the API
        """A spawn process, recorded (``concurrent.futures`` calls this for each worker)."""
        proc = SpawnProcess(*args, **kwargs)
        with self.made_lock:
            self.made.append(proc)
        return proc


class ProcessPool(ProcessPoolExecutor):
    """A pool of spawned worker processes set up as the module docstring says.

    ``workers`` lists the processes the pool started, and :meth:`stop_now` ends them
    without waiting for their runs: both use the pool's own record of its processes (its
    ``mp_context`` records them as they start), not the executor's internals.
    """

    def __init__(self, workers: int):
        self._tracking = _TrackingContext()
        super().__init__(max_workers=workers, mp_context=self._tracking,
                         initializer=_init_worker, initargs=(os.getpid(),))

    @property
    def workers(self) -> list[SpawnProcess]:
        """The worker processes started so far (alive or not)."""
        with self._tracking.made_lock:
            return [p for p in self._tracking.made if p.pid is not None]

    def stop_now(self) -> None:
        """Cancel what has not started, end the workers now (their runs are lost), wait."""
        self.shutdown(wait=False, cancel_futures=True)
        procs = self.workers
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=5)


def process_pool(workers: int) -> ProcessPool:
    """A :class:`ProcessPool` of ``workers`` processes."""
    return ProcessPool(workers)


def stop_now(executor: Executor) -> None:
    """Stop ``executor`` without waiting for its running tasks.

    A :class:`ProcessPool` kills its workers; any other executor is shut down with its
    pending tasks cancelled.
    """
    if isinstance(executor, ProcessPool):
        executor.stop_now()
    else:
        executor.shutdown(wait=False, cancel_futures=True)


# --------------------------------------------------------------------------------------------
# Many runs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunSpec:
    """One run of an experiment.

    ``key`` identifies it in the records (a ``run_id``, or ``(strategy, replicate)``).
    ``scenario`` is a :class:`~cxsim.Scenario`, or a scenario's plain data that the worker
    builds with ``overrides`` set by path and then resizes to ``customers``/``days``
    (:func:`cxsim.runner.build_scenario`; a value that makes the scenario invalid fails
    that run only).  ``seed`` is an integer (see :mod:`cxsim.rng`); ``strategy`` as for
    :func:`cxsim.run`; ``ticks`` overrides the horizon; ``tick_columns`` are the per-tick
    metric columns the record keeps (none by default).  ``measure``, if given, is called
    with the run's :class:`~cxsim.runner.RunResult` where the run ends (in the worker) and
    its return value is the record's ``measured``: a calibration measures its targets there
    (:meth:`cxsim.targets.Targets.measure`), so no table travels back.  It must be
    picklable for a process pool or a cluster.
    """

    key: Hashable
    scenario: Any = field(repr=False)
    seed: int = 0
    strategy: Any = None
    overrides: Mapping[str, Any] = field(default_factory=dict)
    customers: int | None = None
    days: float | None = None
    ticks: int | None = None
    tick_columns: tuple[str, ...] = ()
    measure: Callable[[Any], Any] | None = field(default=None, repr=False)


class RunsFailed(RuntimeError):
    """Runs failed where every run is needed (e.g. the paired replicates of a comparison).

    ``failures`` are the failed runs' records (:func:`execute`); ``bad_input`` is true when
    every failure is an invalid scenario or value.  The message is one line: how many of
    ``total`` failed, and the first one (``describe(record)``), its seed and its error.
    """

    def __init__(self, failures: Sequence[dict], total: int,
                 describe: Callable[[dict], str] | None = None):
        self.failures = list(failures)
        self.bad_input = all(r.get("bad_input") for r in self.failures)
        first = self.failures[0]
        what = describe(first) if describe is not None else f"run {first['key']!r}"
        super().__init__(f"{len(self.failures)} of {total} runs failed; first: {what} "
                         f"(seed {first['seed']}): {first['error']}")


class ExecutorBroken(RuntimeError):
    """The executor broke (a worker process died): the runs still pending are lost."""


def error_text(exc: BaseException) -> str:
    """One line for a failed run: a scenario's problems, else ``Type: first line``."""
    from .scenario import ScenarioError

    if isinstance(exc, ScenarioError):
        return "; ".join(exc.problems)
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _plain(value: Any) -> Any:
    """A JSON-ready scalar: NumPy scalars as Python ones."""
    return value.item() if hasattr(value, "item") and not isinstance(value, str) else value


def _record(spec: RunSpec, status: str, error: str = "", bad_input: bool = False,
            summary: dict | None = None, ticks: dict | None = None,
            measured: Any = None) -> dict:
    return {"key": spec.key, "seed": spec.seed, "status": status, "error": error,
            "bad_input": bad_input, "summary": summary or {}, "ticks": ticks,
            "measured": measured}


def execute(spec: RunSpec, single_thread: bool = False) -> dict:
    """Run one :class:`RunSpec`; return its record, never raising for a failing run.

    The record is plain data: ``key, seed, status`` (``"done"`` or ``"failed"``),
    ``error`` (one line, empty when done), ``bad_input`` (the run failed on an invalid
    scenario or value), ``summary`` (the run's figures, :meth:`CXModel.summary`) and
    ``ticks`` (``{column: [values per tick]}`` for ``spec.tick_columns``, else ``None``)
    and ``measured`` (``spec.measure(result)``, else ``None``; an error there fails the
    run).  ``single_thread`` limits numba to one thread (a worker of a pool or cluster).
    """
    from .runner import build_scenario, run
    from .scenario import ScenarioError

    if single_thread:
        one_thread()
    try:
        sc = spec.scenario
        if isinstance(sc, Mapping):
            sc = build_scenario(sc, spec.overrides, spec.customers, spec.days)
        result = run(sc, spec.seed, strategy=spec.strategy, ticks=spec.ticks)
        measured = spec.measure(result) if spec.measure is not None else None
    except Exception as exc:  # noqa: BLE001 - a failing run is recorded, the others go on
        if _interrupted(exc):
            # Ctrl-C inside a compiled call surfaces as SystemError("... returned a result
            # with an exception set") caused by the KeyboardInterrupt: it stops, not fails
            raise KeyboardInterrupt from exc
        return _record(spec, "failed", error_text(exc),
                       bad_input=isinstance(exc, ScenarioError | InputError))
    return _done(spec, result.metrics, result.summary, measured)


def execute_together(specs: Sequence[RunSpec], single_thread: bool = False) -> list[dict]:
    """Run ``specs`` as one :class:`~cxsim.ensemble.Ensemble`; their records, in order.

    The records are those :func:`execute` gives for each spec alone (an ensemble's members
    are bit-identical to their single runs).  Specs whose scenario cannot be built fail on
    their own; the others run together, one ensemble per horizon.  Should an ensemble fail
    as a whole, its specs run one by one, so a failing run fails alone.
    """
    from .ensemble import Ensemble
    from .runner import build_scenario, result_of
    from .scenario import ScenarioError

    if single_thread:
        one_thread()
    records: dict[int, dict] = {}
    groups: dict[int, list[tuple[int, Any]]] = {}
    for i, spec in enumerate(specs):
        try:
            sc = spec.scenario
            if isinstance(sc, Mapping):
                sc = build_scenario(sc, spec.overrides, spec.customers, spec.days)
        except Exception as exc:  # noqa: BLE001 - as in execute
            if _interrupted(exc):
                raise KeyboardInterrupt from exc
            records[i] = _record(spec, "failed", error_text(exc),
                                 bad_input=isinstance(exc, ScenarioError | InputError))
            continue
        ticks = sc.simulation.ticks if spec.ticks is None else int(spec.ticks)
        groups.setdefault(ticks, []).append((i, sc))
    for ticks, members in groups.items():
        try:
            ens = Ensemble([sc for _, sc in members], seeds=[specs[i].seed for i, _ in members],
                           strategies=[specs[i].strategy for i, _ in members]).run(ticks)
        except Exception as exc:  # noqa: BLE001 - retried one by one: a bad run fails alone
            if _interrupted(exc):
                raise KeyboardInterrupt from exc
            for i, _ in members:
                records[i] = execute(specs[i])
            continue
        for (i, _), model in zip(members, ens.models, strict=True):
            spec = specs[i]
            if spec.measure is None:
                records[i] = _done(spec, model.metrics, model.summary())
                continue
            try:
                result = result_of(model, spec.strategy)
                records[i] = _done(spec, result.metrics, result.summary,
                                   spec.measure(result))
            except Exception as exc:  # noqa: BLE001 - as in execute
                if _interrupted(exc):
                    raise KeyboardInterrupt from exc
                records[i] = _record(spec, "failed", error_text(exc),
                                     bad_input=isinstance(exc, ScenarioError | InputError))
    return [records[i] for i in range(len(specs))]


def _done(spec: RunSpec, metrics: Any, summary: dict, measured: Any = None) -> dict:
    """The record of a finished run (its summary, per-tick columns and measurements)."""
    ticks = None
    if spec.tick_columns:
        m = metrics
        ticks = {c: [_plain(v) for v in m[c].tolist()] for c in spec.tick_columns if c in m}
    return _record(spec, "done", summary=dict(summary), ticks=ticks, measured=measured)


def _interrupted(exc: BaseException) -> bool:
    """Whether ``exc`` was caused by a KeyboardInterrupt (anywhere in its chain)."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        if isinstance(e, KeyboardInterrupt):
            return True
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return False


@dataclass
class Batch:
    """What :func:`run_many` ran: the records in the order of the specs, and where."""

    records: list[dict]
    executor: str


def run_many(specs: Sequence[RunSpec], on_record: Callable[[dict], None] | None = None, *,
             executor: Executor | str | None = None, workers: int | None = None,
             window: int | None = None, ensemble: int | None = None) -> Batch:
    """Run every spec and return their records (:func:`execute`); never stops at a failure.

    ``executor``: ``None`` (a :class:`ProcessPool` of ``workers`` processes, default all
    cores; in this process when ``workers=1`` or there is one task), ``"serial"``,
    ``"processes"``, or any ``concurrent.futures.Executor`` (the caller owns it).
    ``ensemble``: up to that many consecutive specs run together as one
    :class:`~cxsim.ensemble.Ensemble` (:func:`execute_together`), a task of its own; ``None``
    or 1 runs each spec as its own task.  The records are the same either way.
    ``on_record`` receives each record as its run finishes (in finishing order; the
    returned records follow the specs).  At most ``window`` tasks are in flight at once, so
    a long list does not flood the executor (default: twice the workers of a pool this
    call starts; every task at once on a given executor).

    A run that raises is a ``failed`` record with its error; a task the executor gives up
    on likewise.  Ctrl-C, or an exception raised by ``on_record``, cancels the pending runs,
    stops a pool this call started (its workers are killed) and propagates.  A worker
    process that dies breaks a process pool: :class:`ExecutorBroken` is raised after the
    records that finished were handed over.
    """
    specs = list(specs)
    if not isinstance(executor, Executor):
        check_workers(workers)
    size = check_ensemble(ensemble) or 1
    tasks = [list(range(k, min(k + size, len(specs)))) for k in range(0, len(specs), size)]
    n = workers or os.cpu_count() or 1
    done: dict[int, dict] = {}

    def hand_over(i: int, record: dict) -> None:
        done[i] = record
        if on_record is not None:
            on_record(record)

    def batch(label: str) -> Batch:
        return Batch([done[i] for i in sorted(done)], label)

    if isinstance(executor, Executor):
        _map(specs, tasks, hand_over, executor, window or max(1, len(tasks)), own=False)
        return batch(type(executor).__name__)
    if executor not in (None, "serial", "processes"):
        raise InputError(Arg("executor"), " must be 'serial', 'processes', a "
                         f"concurrent.futures Executor or None, got {executor!r}")
    if executor == "serial" or (executor is None and (n == 1 or len(tasks) <= 1)):
        for task in tasks:
            for i, record in zip(task, _run_task([specs[i] for i in task]), strict=True):
                hand_over(i, record)
        return batch("serial")
    pool = process_pool(max(1, min(n, len(tasks))))
    try:
        _map(specs, tasks, hand_over, pool, window or 2 * n, own=True)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return batch("processes")


#: most runs one ensemble may hold (``--ensemble``)
MAX_ENSEMBLE = 4096


def check_ensemble(value: Any, arg: str = "ensemble") -> int | None:
    """``None`` or a whole number of runs per ensemble, 1 to :data:`MAX_ENSEMBLE`."""
    if value is None:
        return None
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise InputError(Arg(arg), f" must be a whole number, got {value!r}")
    n = int(value)
    if not 1 <= n <= MAX_ENSEMBLE:
        raise InputError(Arg(arg), f" must be from 1 to {MAX_ENSEMBLE:,} runs advanced "
                         f"together, got {n}")
    return n


def _run_task(specs: list[RunSpec], single_thread: bool = False) -> list[dict]:
    """One task's records: a lone spec runs alone, several together (an ensemble)."""
    if len(specs) == 1:
        return [execute(specs[0], single_thread)]
    return execute_together(specs, single_thread)


def _single_task(specs: list[RunSpec]) -> list[dict]:
    return _run_task(specs, single_thread=True)


def _map(specs: list[RunSpec], tasks: list[list[int]],
         hand_over: Callable[[int, dict], None], ex: Executor, window: int, own: bool) -> None:
    """Keep up to ``window`` tasks in flight on ``ex``; hand each record over as it ends."""
    it = iter(tasks)
    pending: dict[Any, list[int]] = {}

    def fill() -> None:
        while len(pending) < window:
            task = next(it, None)
            if task is None:
                return
            pending[ex.submit(_single_task, [specs[i] for i in task])] = task

    try:
        fill()
        while pending:
            finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for fut in finished:
                task = pending.pop(fut)
                try:
                    records = fut.result()
                except BrokenProcessPool:
                    raise ExecutorBroken("a worker process died (out of memory, or "
                                         "killed)") from None
                except Exception as exc:  # noqa: BLE001 - e.g. Dask gave up on the task
                    records = [_record(specs[i], "failed", error_text(exc)) for i in task]
                for i, record in zip(task, records, strict=True):
                    hand_over(i, record)
            fill()
    except BaseException:
        for fut in pending:
            fut.cancel()
        if own:
            stop_now(ex)
        raise


def _probe(address: str, timeout: float) -> None:
    """Check that ``tcp://HOST:PORT`` speaks first as a Dask scheduler does; else refuse.

    A Dask scheduler greets every connection with a short handshake (an 8-byte frame length
    and a msgpack message naming its pickle protocol).  Anything else (a web server, a
    database, silence) is refused here with one line, before Dask's client would read a
    stranger's bytes as the length of a message to allocate.
    """
    import socket

    hostport = address[len("tcp://"):].split("/", 1)[0]
    host, _, port_text = hostport.rpartition(":")
    host = host.strip("[]")
    if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ExecutorError(Arg("scheduler"), " must be 'local' or an address like "
                            f"tcp://HOST:PORT, got {address!r}")

    def refuse(reason: str) -> ExecutorError:
        return ExecutorError(Arg("scheduler"), f": cannot reach {address} ({reason})")

    deadline = time.monotonic() + timeout
    try:
        sock = socket.create_connection((host, int(port_text)), timeout=timeout)
    except TimeoutError:
        raise refuse(f"no answer within {timeout:g} s") from None
    except OSError as exc:
        raise refuse(exc.strerror or str(exc) or type(exc).__name__) from None
    data = b""
    try:
        with sock:
            while len(data) < 64 and b"pickle-protocol" not in data:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                sock.settimeout(left)
                try:
                    chunk = sock.recv(256)
                except TimeoutError:
                    break
                if not chunk:
                    break
                data += chunk
    except OSError as exc:
        raise refuse(exc.strerror or str(exc) or type(exc).__name__) from None
    if not data:
        raise ExecutorError(Arg("scheduler"), f": {address} said nothing within "
                            f"{timeout:g} s; it is not a Dask scheduler")
    size = int.from_bytes(data[:8].ljust(8, b"\0"), "little")
    if len(data) < 8 or not 0 < size <= _HANDSHAKE_LIMIT or b"pickle-protocol" not in data:
        raise ExecutorError(Arg("scheduler"), f": {address} does not answer as a Dask "
                            "scheduler")


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
        raise ExecutorError(Arg("scheduler"), " needs Dask: pip install 'cxsim[dask]' (or "
                            "pip install 'dask[distributed]')") from None
    cluster = None
    wait_s = CONNECT_TIMEOUT if timeout is None else timeout
    if scheduler == "local":
        try:
            n = check_workers(workers) or os.cpu_count() or 1
        except InputError as exc:
            raise ExecutorError(*exc.parts) from None
        cluster = LocalCluster(n_workers=n, threads_per_worker=1,
                               processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR)
        client = Client(cluster)
    else:
        if not isinstance(scheduler, str) or not _ADDRESS.match(scheduler):
            raise ExecutorError(Arg("scheduler"), " must be 'local' or an address like "
                                f"tcp://HOST:PORT, got {scheduler!r}")
        if scheduler.startswith("tcp://"):
            _probe(scheduler, wait_s)
        try:
            client = Client(scheduler, timeout=wait_s)
        except (OSError, TimeoutError, ValueError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ExecutorError(Arg("scheduler"), f": cannot reach {scheduler} ({reason})"
                                ) from None
        except Exception as exc:  # noqa: BLE001 - e.g. MemoryError: something else answered
            raise ExecutorError(Arg("scheduler"), f": {scheduler} does not answer as a Dask "
                                f"scheduler ({type(exc).__name__})") from None
    try:
        slots = sum(client.nthreads().values()) or 1
        yield client.get_executor(pure=False), slots
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
