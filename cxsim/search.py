"""Journalled batches of candidates: the engine under ``calibrate`` and ``optimise``.

A search proposes candidates (parameter sets, portfolios) in batches of fixed size and runs
each one's replicates through :func:`cxsim.executors.run_many`.  :class:`BatchRunner`
scores a candidate when its last replicate ends, writes the score as one line of a journal
(:class:`Journal`, written through, so a killed process loses at most the candidates in
flight) and hands it back in candidate order.  On a resume the journal's lines are read
back instead of run: a search that proposes the same candidates again (the same seed, the
same results told in the same order) reaches the same result as an uninterrupted one,
whatever the number of workers.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import Arg, InputError
from .executors import RunSpec
from .io import shown

__all__ = ["BatchRunner", "Executing", "Journal", "WriteFailed", "begin_folder", "check_folder",
           "count", "plain"]


class WriteFailed(Exception):
    """Writing the journal failed while runs went on (carries the OSError)."""

    def __init__(self, error: OSError):
        super().__init__(str(error))
        self.error = error


def plain(values: Mapping[str, Any]) -> dict:
    """Values as JSON gives them back (NumPy scalars as Python ones)."""
    return json.loads(json.dumps({k: (v.item() if hasattr(v, "item") else v)
                                  for k, v in values.items()}))


class Journal:
    """One JSON record a line, written through; read back keyed by its ``"i"``.

    ``keys`` are the keys every record has.  A torn last line (a killed process) is cut; a
    line that is not such a record is skipped.
    """

    def __init__(self, path: Path, keys: set[str]):
        from .sweep import Journal as _File

        self._file = _File(path)
        self.path = path
        self.keys = set(keys)

    def load(self) -> dict[int, dict]:
        """Valid records by index (the first of each index)."""
        from .io import open_regular

        out: dict[int, dict] = {}
        try:
            fd = open_regular(self.path, 2**40)
        except FileNotFoundError:
            return out
        good = 0
        with os.fdopen(fd, "rb") as fh:
            while True:
                line = fh.readline()
                if not line or not line.endswith(b"\n"):
                    break  # the end, or a torn last line
                good = fh.tell()
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if (isinstance(rec, dict) and set(rec) == self.keys
                        and isinstance(rec["i"], int) and not isinstance(rec["i"], bool)
                        and rec["i"] >= 0):
                    out.setdefault(rec["i"], rec)
            size = os.fstat(fh.fileno()).st_size
        if good < size:
            self._file._cut(good)
        return out

    def append(self, record: dict) -> None:
        """Write one record through to the operating system."""
        self._file.append(record)

    def close(self) -> None:
        """Close the file."""
        self._file.close()


class BatchRunner:
    """Evaluates candidates ``len(self), len(self)+1, ...`` in order, from the journal or runs.

    ``specs(index, theta, seeds)`` gives a candidate's runs (keys ``(index, replicate)``);
    ``score(index, phase, theta, extra, records)`` its journal record (a dict with ``i``,
    ``phase`` and ``theta``) from its runs' records; ``decode(record)`` the item
    :meth:`evaluate` returns; ``run(specs, on_record)`` runs specs and names the executor.
    ``progress(item)`` is the figure the progress bar shows as the best so far.
    """

    def __init__(self, journal: Journal | None, known: dict[int, dict],
                 run: Callable[[list[RunSpec], Callable[[dict], None]], str], *,
                 specs: Callable[[int, dict, Sequence[int] | None], list[RunSpec]],
                 score: Callable[[int, str, dict, Any, list[dict]], dict],
                 decode: Callable[[dict], Any], what: str = "search",
                 bar: Any = None, progress: Callable[[Any], float] | None = None,
                 progress_label: str = "best"):
        self.journal = journal
        self.known = known
        self.run = run
        self.specs = specs
        self.score = score
        self.decode = decode
        self.what = what
        self.bar = bar
        self.progress = progress
        self.progress_label = progress_label
        self.evaluations: list[Any] = []
        self.ran = 0
        self.executor = "none"
        self.best = -math.inf

    def __len__(self) -> int:
        return len(self.evaluations)

    def _tick(self, item: Any) -> None:
        if self.bar is None:
            return
        if self.progress is not None:
            self.best = max(self.best, self.progress(item))
            self.bar.set_postfix_str(f"{self.progress_label} {self.best:.6g}", refresh=False)
        self.bar.update()

    def evaluate(self, phase: str, thetas: list[dict], extras: list[Any],
                 seeds: Sequence[int] | None = None) -> list[Any]:
        """Evaluate ``thetas`` as the next candidates; journal the new ones."""
        first = len(self.evaluations)
        out: dict[int, Any] = {}
        todo = []
        for k, theta in enumerate(thetas):
            rec = self.known.get(first + k)
            if rec is None:
                todo.append(k)
                continue
            if rec["phase"] != phase or rec["theta"] != plain(theta):
                where = shown(self.journal.path) if self.journal is not None else "journal"
                raise InputError(Arg("resume", "True"), f": {where} line for candidate "
                                 f"{first + k} does not match this {self.what} (another "
                                 "version or settings); start a new folder")
            out[first + k] = self.decode(rec)
        if todo:
            specs = [s for k in todo for s in self.specs(first + k, thetas[k], seeds)]
            reps = len(specs) // len(todo)
            pending: dict[int, list] = {first + k: [None] * reps for k in todo}

            def on_record(record: dict) -> None:
                i, r = record["key"]
                pending[i][r] = record
                if all(x is not None for x in pending[i]):
                    k = i - first
                    rec = json.loads(json.dumps(self.score(i, phase, plain(thetas[k]),
                                                           extras[k], pending[i])))
                    if self.journal is not None:
                        try:
                            self.journal.append(rec)
                        except OSError as exc:
                            raise WriteFailed(exc) from None
                    out[i] = self.decode(rec)
                    self.ran += 1
                    self._tick(out[i])

            self.executor = self.run(specs, on_record)
        for i in range(first, first + len(thetas)):
            if i - first not in todo:
                self._tick(out[i])
            self.evaluations.append(out[i])
        return self.evaluations[first:]


class Executing:
    """One executor for every batch of a search, and the function that runs a batch on it.

    Starting worker processes (or a cluster) per batch would cost more than the runs of a
    small market, so the pool lives as long as ``held`` (an ExitStack): a Dask cluster
    (``scheduler``: ``"local"`` or an address), a process pool of ``workers`` (all cores by
    default; ``workers=1`` runs in this process), or the caller's ``executor``.
    :meth:`run` is ``run(specs, on_record) -> executor label``; :meth:`stop` kills a pool
    this object started (Ctrl-C).
    """

    def __init__(self, held: Any, executor: Any, workers: int | None, scheduler: str | None,
                 ensemble: int | None):
        from concurrent.futures import Executor

        from .executors import dask_executor, process_pool

        self.workers = workers
        self.ensemble = ensemble
        self.pool: Any = executor
        self.label: str | None = None
        slots = workers or os.cpu_count() or 1
        self.window = 2 * slots
        if scheduler is not None:  # connect (or fail) before any folder is touched
            self.pool, n = held.enter_context(dask_executor(scheduler, workers))
            self.label = "dask-local" if scheduler == "local" else "dask"
            self.window = 2 * n
        elif executor is None and slots > 1:
            self.pool = process_pool(slots)
            held.callback(self.pool.shutdown, wait=True, cancel_futures=True)
            self.label = "processes"
        self._given = isinstance(self.pool, Executor)

    def run(self, specs: list[RunSpec], on_record: Callable[[dict], None]) -> str:
        """Run ``specs``, handing each record to ``on_record``; the executor's label."""
        from .executors import run_many

        if self._given:
            run_many(specs, on_record, executor=self.pool, window=self.window,
                     ensemble=self.ensemble)
            return self.label or type(self.pool).__name__
        return run_many(specs, on_record, executor=self.pool, workers=self.workers,
                        window=self.window, ensemble=self.ensemble).executor

    def stop(self) -> None:
        """Kill the workers of a process pool this object started (not waiting for them)."""
        if self.label == "processes":
            from .executors import stop_now

            stop_now(self.pool)


def begin_folder(out: Path, resume: bool, held: Any, check: Callable[[Path, bool], None],
                 meta: Path, text: str) -> None:
    """Make a search's results folder and write its provenance, taking the folder's lock.

    A new folder is checked again under the lock (another process may have come first);
    if it cannot be written, a folder this call made is removed and :class:`FolderError`
    says so in one line (nothing ran).
    """
    import shutil

    from .io import FolderError, folder_lock, write_atomic

    made = not os.path.lexists(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        if not resume:
            held.enter_context(folder_lock(out, "out"))
            check(out, False)
        write_atomic(meta, text)
    except OSError as exc:
        if made:
            shutil.rmtree(out, ignore_errors=True)
        raise FolderError(Arg("out"), f": cannot write {shown(out)} "
                          f"({exc.strerror or exc}); nothing ran", errno_=exc.errno) from None


def check_folder(out: Path, resume: bool, *, kind: str, meta: str, what: str) -> None:
    """Refuse a results folder a search (new, or resumed) may not use; nothing is written.

    ``kind`` is the folder's kind of results (:data:`cxsim.io.KIND_FILES`), ``meta`` its
    provenance file, ``what`` the search in words ("calibration", "search").
    """
    from .io import check_contents, check_target

    check_target(out, "out")
    has = os.path.lexists(out / meta)
    if resume:
        if not has:
            raise InputError(Arg("resume", "True"), f": {shown(out)} holds no {what} to "
                             f"resume (no {meta})")
        check_contents(out, kind)
        return
    if has:
        raise InputError(Arg("out"), f": {shown(out)} already holds a {what}; add ",
                         Arg("resume", "True"), " to continue it or choose another folder")
    check_contents(out, kind)


def count(name: str, value: Any, least: int, most: int) -> int:
    """``value`` as a whole number in ``least..most``; InputError naming ``name`` otherwise."""
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise InputError(Arg(name), f" must be a whole number, got {value!r}")
    value = int(value)
    if not least <= value <= most:
        raise InputError(Arg(name), f" must be from {least:,} to {most:,}, got {value:,}")
    return value
