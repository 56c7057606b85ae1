"""Parameter sweeps: many runs over a design, streamed to disk, resumable, nothing lost.

``sweep(scenario, params, design, samples, replications, seed, executor, out)`` runs every
design point (:mod:`cxsim.design`) ``replications`` times and returns one tidy row per run:
``run_id, point, replicate, seed``, the parameter values, ``strategy``, ``status``
(``done``/``failed``), ``error``, then the run's outcomes (every numeric entry of
:meth:`CXModel.summary`: final and cumulative metrics).

Seeds.  Replicate *r* of every design point uses the same seed,
``SeedSequence(seed).spawn(replications)[r]`` (as :func:`cxsim.compare` does): common random
numbers make differences between points far less noisy.  A row's outcomes depend only on
the scenario, its parameter values and its seed, never on the executor or worker count.

On disk (``out``):

- ``sweep.json`` — provenance: cxsim version, the scenario itself and its content hash, the
  design with every point, the root seed and replicate seeds, and the sweep's status;
- ``journal.jsonl`` — one line per finished run, appended and flushed as each run ends (a
  torn last line from a killed process is discarded on resume);
- ``runs.parquet`` (``runs.csv`` without pyarrow) — the runs table sorted by ``run_id``,
  rewritten atomically every few seconds while the sweep runs; at its end the final tables
  and ``sweep.json`` (status ``complete``) are written into a new folder beside ``out``,
  with the journal linked in, and swapped in whole (:class:`cxsim.io.Stage`);
- ``ticks.parquet``/``ticks.csv`` — per-tick metrics of every run (``ticks=True``);
- ``sensitivity.csv`` — Sobol' indices or Morris μ*/σ per outcome (sobol/morris designs);
- ``discovery/`` — written later by ``cxsim discover`` (:mod:`cxsim.discover`): kept by
  ``cxsim plot`` and by a resume that runs nothing, dropped by one that runs more.

Paired differences.  A sweep over ``strategy=baseline,NAME`` × other parameters compares each
strategy with the baseline replicate by replicate: :func:`paired_differences` gives every
outcome *M* of a strategy's run beside ``M_diff``, its difference from the baseline run at the
same parameter values and seed.

A run that raises is recorded as failed with its error and the sweep goes on.  An
interrupted sweep (Ctrl-C, or the process killed) continues with ``resume=True`` (``cxsim
sweep --resume``): finished runs are kept, unfinished and failed ones run (again), and the
result has exactly the rows an uninterrupted sweep would have.  A full disk (or any other
failure to write ``out``) stops the sweep the same way, with status ``stopped`` when
``sweep.json`` can still be written.  A sweep, new or resumed, holds a lock on its folder
(:func:`cxsim.io.folder_lock`): a second one there is refused.

Everything read back from a results folder is checked before use (:func:`read_provenance`,
:meth:`Journal.load`, :func:`read_runs`): sizes, types, run ids within the plan, the design
points the plan implies.  A damaged journal line is dropped with a warning
(:class:`JournalWarning`; that run runs again); a damaged ``sweep.json`` or runs table, or
two different records of one finished run, are refused with one line.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import math
import os
import platform
import stat
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .design import DESIGNS, SAMPLED, Design, make_design, sensitivity
from .errors import Arg, Worded
from .executors import (
    MAX_REPLICATIONS,
    MAX_RUNS,
    MAX_TICK_ROWS,
    ExecutorBroken,
    ExecutorError,
    RunSpec,
    check_ensemble,
    check_workers,
    dask_executor,
    run_many,
)
from .io import (
    MAX_SWEEP_JSON_BYTES,
    SWEEP_FILES,
    FolderError,
    Stage,
    atomic_path,
    check_columns,
    check_contents,
    check_target,
    folder_lock,
    open_regular,
    read_json,
    read_table,
    shown,
    write_atomic,
)
from .params import DISTRIBUTIONS, MAX_PARAMS, STRATEGY, Param, ParamError, check_param, parse_spec
from .params import strategy_of as _strategy_arg
from .rng import replicate_seeds
from .runner import build_scenario, resize, small_teams
from .scenario import Scenario, ScenarioError
from .vocabulary import BY_NAME, HEADLINE, OUTCOMES, RUN_TICK_COLUMNS

#: version of the results-folder layout (``sweep.json`` ``format``)
FORMAT = 1

#: summary entries that describe the run rather than measure it
NOT_OUTCOMES = ("scenario", "ticks", "days", "market", "initial_customers")

#: outcomes analysed by default for sobol/morris designs (the headline figures)
DEFAULT_OUTCOMES: tuple[str, ...] = HEADLINE

#: the per-tick columns kept with ``ticks=True``
TICK_COLUMNS: tuple[str, ...] = RUN_TICK_COLUMNS

#: columns every runs table starts with
ID_COLUMNS = ("run_id", "point", "replicate", "seed")

FILES = SWEEP_FILES

#: the journal's file name
JOURNAL = "journal.jsonl"

#: the subfolder ``cxsim discover`` writes into a sweep folder
DISCOVERY = "discovery"

#: the suffix of a paired difference's column (:func:`paired_differences`)
DIFF = "_diff"

#: bytes of one journal line without per-tick metrics (a record is about 2 KB), and per
#: tick and column with them
LINE_BYTES = 1 * 2**20
TICK_VALUE_BYTES = 40

#: characters of a failed run's error kept in the journal
MAX_ERROR = 10_000

#: seconds between rewrites of the runs table while a sweep runs
FLUSH_SECONDS = 5.0


class SweepInterrupted(Worded, KeyboardInterrupt):
    """A sweep stopped by Ctrl-C; what finished is on disk and ``resume=True`` continues it."""

    def __init__(self, *parts: str | Arg):
        self._set_parts(parts)
        super().__init__(self.render())


class SweepAborted(Worded, RuntimeError):
    """A sweep stopped because its executor broke (a worker process died)."""

    def __init__(self, *parts: str | Arg):
        self._set_parts(parts)
        super().__init__(self.render())


class SweepStopped(FolderError):
    """A sweep stopped because its folder could not be written (a full disk, ...).

    What finished is in the journal; ``resume=True`` continues once the cause is gone.
    """


class JournalWarning(UserWarning):
    """Damaged lines of a journal were dropped (their runs run again)."""


# --------------------------------------------------------------------------------------------
# One run of a sweep (runs in a worker: a plain top-level function)
# --------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if value is None:
        return math.nan
    if isinstance(value, np.generic):
        return value.item()
    return value


def sweep_record(record: dict) -> dict:
    """A run's record (:func:`cxsim.executors.execute`) as the journal keeps it.

    ``run_id, status, error, outcomes`` (every summary figure but the run's descriptors,
    NaN for a missing value) and ``ticks`` (per-tick metrics, or ``None``).
    """
    outcomes = {k: _plain(v) for k, v in record["summary"].items() if k not in NOT_OUTCOMES}
    return {"run_id": record["key"], "status": record["status"], "error": record["error"],
            "outcomes": outcomes if record["status"] == "done" else {},
            "ticks": record["ticks"] if record["status"] == "done" else None}


def _canonical(record: dict) -> dict:
    """The record as it reads back from the journal (so fresh and resumed rows are equal)."""
    return json.loads(json.dumps(record))


# --------------------------------------------------------------------------------------------
# The plan: everything a sweep needs, and its fingerprint for resuming
# --------------------------------------------------------------------------------------------


def _canonical_param(p: Param) -> list:
    if p.is_distribution:
        return [p.path, p.dist, p.low, p.high]
    return [p.path, "values", list(p.values)]


@dataclass(frozen=True, eq=False)
class Plan:
    """A checked sweep: base scenario data, design, seeds and settings."""

    scenario: Scenario = field(repr=False)
    base: dict = field(repr=False)
    design: Design = field(repr=False)
    replications: int
    seed: int
    seeds: tuple[int, ...]
    strategy: str | None
    customers: int | None
    days: float | None
    ticks: bool
    outcomes: tuple[str, ...]
    fmt: str
    notes: tuple[str, ...] = ()

    @property
    def n_runs(self) -> int:
        """Design points × replications."""
        return len(self.design) * self.replications

    def fingerprint(self) -> dict:
        """What makes two sweeps the same sweep (compared on resume)."""
        from . import __version__

        return {"format": FORMAT, "cxsim_version": __version__,
                "scenario_hash": self.scenario.content_hash(), "design": self.design.kind,
                "samples": self.design.samples, "replications": self.replications,
                "seed": self.seed,
                "params": [_canonical_param(p) for p in self.design.params],
                "strategy": self.strategy, "customers": self.customers, "days": self.days,
                "ticks": self.ticks, "outcomes": list(self.outcomes), "format_runs": self.fmt}

    def spec(self, run_id: int) -> RunSpec:
        """Run ``run_id``: point ``run_id // R`` with replicate ``run_id % R``'s seed."""
        point = self.design.points[run_id // self.replications]
        return RunSpec(key=run_id, scenario=self.base, seed=self.seeds[run_id % self.replications],
                       strategy=_strategy_arg(point.get(STRATEGY, self.strategy)),
                       overrides=point, customers=self.customers, days=self.days,
                       tick_columns=TICK_COLUMNS if self.ticks else ())


def _count(name: str, value: Any, least: int, most: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ParamError(Arg(name), f" must be a whole number, got {value!r}")
    if value < least:
        raise ParamError(Arg(name), f" must be at least {least}, got {value}")
    if most is not None and value > most:
        raise ParamError(Arg(name), f" must be at most {most:,}, got {value:,}")
    return int(value)


def _max_ticks(sc: Scenario, params: Sequence[Param], days: float | None) -> int:
    """The longest horizon (ticks) a run of the sweep can have."""
    def largest(p: Param) -> float:
        return float(p.high) if p.is_distribution else max(float(v) for v in p.values)

    def smallest(p: Param) -> float:
        return float(p.low) if p.is_distribution else min(float(v) for v in p.values)

    by_path = {p.path: p for p in params}
    tick_days = sc.simulation.tick_days
    if "simulation.tick_days" in by_path:
        tick_days = max(smallest(by_path["simulation.tick_days"]), 1e-9)
    if days is not None:
        return max(1, math.ceil(days / tick_days - 1e-9))
    if "simulation.ticks" in by_path:
        return int(largest(by_path["simulation.ticks"]))
    return sc.simulation.ticks


def _pyarrow_available() -> bool:
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return False
    return True


def _size_problems(sc: Scenario, params: Sequence[Param], customers: int | None,
                   days: float | None) -> list[tuple]:
    """Problems of ``customers`` and ``days`` at every point of the sweep.

    The market must hold the most contacts a point gives a customer, and ``days`` must be
    a whole number of ticks at every tick length the sweep runs (nothing is rounded).
    """
    from .scenario import size_problems

    by_path = {p.path: p for p in params}
    found: list[tuple] = []
    sim = sc.simulation
    lengths = [sim.tick_days]
    tick = by_path.get("simulation.tick_days")
    if tick is not None and days is not None:
        if tick.is_distribution:
            found.append((Arg("days"), " and ", Arg("params", f"{tick.path}={tick.spec}"),
                          ": a horizon in days is a whole number of ticks only for tick "
                          "lengths that divide it; list the tick lengths (e.g. 1,7) instead "
                          "of a distribution"))
            days = None
        else:
            lengths = list(dict.fromkeys(float(v) for v in tick.values))
    degree = by_path.get("market.mean_degree")
    if degree is not None and customers is not None:
        top = float(degree.high) if degree.is_distribution else max(map(float, degree.values))
        sc = dataclasses.replace(sc, market=dataclasses.replace(sc.market, mean_degree=top))
    seen: set[str] = set()
    for i, length in enumerate(lengths):
        at = dataclasses.replace(sc, simulation=dataclasses.replace(sim, tick_days=length))
        for problem in size_problems(at, customers if i == 0 else None, days):
            if str(problem) not in seen:
                seen.add(str(problem))
                found.append(problem.parts)
    return found


def plan_sweep(scenario: Scenario, params: Mapping[str, Any] | Sequence[Param],
               design: str = "grid", samples: int | None = None, replications: int = 1,
               seed: int = 0, *, strategy: str | None = None, customers: int | None = None,
               days: float | None = None, ticks: bool = False,
               outcomes: Sequence[str] | None = None, fmt: str = "auto") -> Plan:
    """Check everything about a sweep before anything runs; raise ParamError/ScenarioError.

    ``params`` maps paths to specs (text as on the command line, a list of values, or one
    value), or is a sequence of :class:`~cxsim.params.Param`.
    """
    # every problem of the settings is collected and refused at once (a line each)
    problems: list[tuple] = []

    def check(fn, *a, **k):
        try:
            return fn(*a, **k)
        except ParamError as exc:
            problems.append(exc.parts)
            return None

    replications = check(_count, "replications", replications, 1, MAX_REPLICATIONS)
    seed = check(_count, "seed", seed, 0)
    if customers is not None:
        customers = check(_count, "customers", customers, 1)
    if days is not None and not (isinstance(days, int | float) and not isinstance(days, bool)
                                 and math.isfinite(days) and days > 0):
        problems.append((Arg("days"), f" must be a positive number, got {days!r}"))
        days = None
    if design not in DESIGNS:
        problems.append((Arg("design"), f" must be one of {', '.join(DESIGNS)}, got "
                         f"{design!r}"))
    if fmt == "auto":
        fmt = "parquet" if _pyarrow_available() else "csv"
    if fmt not in ("csv", "parquet"):
        problems.append((Arg("fmt"), f" must be csv or parquet, got {fmt!r}"))
    elif fmt == "parquet" and not _pyarrow_available():
        problems.append((Arg("fmt", "parquet"), " needs pyarrow: pip install 'cxsim[parquet]'"))
    sc = scenario.validated()
    base = sc.to_dict()
    items = (list(params.items()) if isinstance(params, Mapping)
             else [(p.path, p) for p in params])
    if len(items) > MAX_PARAMS:
        raise ParamError(Arg("params"), f": {len(items)} parameters; a sweep takes at most "
                         f"{MAX_PARAMS}")
    checked = []
    for path, spec in items:
        try:
            checked.append(check_param(parse_spec(path, spec), base, list(sc.strategies)))
        except ParamError as exc:
            if exc.arg is None:  # a problem of the path: name the parameter it is about
                shown = spec.spec if isinstance(spec, Param) else spec
                problems.append((Arg("params", f"{path}={shown}"), ": ", *exc.parts))
            else:
                problems.append(exc.parts)
    check(_check_values, base, checked)
    paths = {p.path for p in checked}
    if customers is not None and "market.size" in paths:
        problems.append((Arg("customers"), " and ", Arg("params", "market.size"),
                         " both set the market size; use one"))
    if days is not None and "simulation.ticks" in paths:
        problems.append((Arg("days"), " and ", Arg("params", "simulation.ticks"),
                         " both set the horizon; use one"))
    if strategy is not None:
        if STRATEGY in paths:
            problems.append((Arg("strategy"), " and ", Arg("params", "strategy=..."),
                             " both choose the strategy; use one"))
        unknown = [n for n in str(strategy).split("+") if n not in {"baseline", *sc.strategies}]
        if unknown:
            problems.append((Arg("strategy", str(strategy)), f": unknown strategy "
                             f"'{unknown[0]}' (the scenario has "
                             f"{', '.join(sorted(sc.strategies)) or 'none'})"))
    known = OUTCOMES
    chosen = tuple(outcomes) if outcomes is not None else DEFAULT_OUTCOMES
    unknown = [name for name in chosen if name not in known]
    if unknown:
        problems.append((Arg("outcomes"), f": unknown outcome{'s' if len(unknown) > 1 else ''} "
                         f"{', '.join(repr(n) for n in unknown)} (known: {', '.join(known)})"))
    if not chosen:
        problems.append((Arg("outcomes"), ": no outcome names given"))
    size = _size_problems(sc, checked, customers, days)
    problems += size
    if not size and (customers is not None or days is not None):
        try:
            resize(sc, customers=customers, days=days).validated()
        except ScenarioError as exc:
            problems += [(line,) for line in exc.all_problems]
    d = None
    if design in DESIGNS and len(checked) == len(items) and seed is not None:
        d = check(make_design, checked, design, samples, seed)
    if problems:
        parts: list = []
        for one in problems:
            parts += ["\n"] * bool(parts) + list(one)
        raise ParamError(*parts)
    n_runs = len(d) * replications
    if n_runs > MAX_RUNS:
        raise ParamError(Arg("replications"), f": {len(d):,} points × {replications:,} "
                         f"replications = {n_runs:,} runs; a sweep takes at most "
                         f"{MAX_RUNS:,}")
    if ticks:
        rows = n_runs * _max_ticks(sc, checked, days)
        if rows > MAX_TICK_ROWS:
            raise ParamError(Arg("ticks", "True"), f": {n_runs:,} runs × up to "
                             f"{rows // n_runs:,} ticks = {rows:,} per-tick rows; at most "
                             f"{MAX_TICK_ROWS:,} (fewer runs or a shorter horizon)")
    # the strategies a sweep applies must start within its horizon: check before running
    horizon = resize(sc, days=days) if days is not None else sc
    names = {strategy} if strategy is not None else set()
    for p in checked:
        if p.path == STRATEGY:
            names.update(p.values)
    from .strategies import resolve

    for name in names:
        resolve(horizon, _strategy_arg(name))
    return Plan(scenario=sc, base=base, design=d, replications=replications, seed=seed,
                seeds=tuple(replicate_seeds(seed, replications)), strategy=strategy,
                customers=customers, days=float(days) if days is not None else None,
                ticks=bool(ticks), outcomes=chosen, fmt=fmt,
                notes=tuple(n for n in [small_teams(sc, customers)] if n is not None))


#: values checked against their fields one by one at most (beyond it, a numeric list is
#: checked at its least, largest and middle values: a field's range is an interval)
MAX_VALUE_CHECKS = 500


def _check_values(base: Mapping, params: Sequence[Param]) -> None:
    """Refuse every value or distribution bound a field does not accept, before any run.

    Each listed value, and a distribution's bounds and midpoint, is set on the scenario
    alone and validated as ``--set`` is; a problem of the field itself refuses the
    parameter (a problem only of the combination with other values is left to the runs).
    Raises one :class:`ParamError` with a line per refused parameter.
    """
    fields = [p for p in params if p.path != STRATEGY]
    each = sum(len(p.values) or 3 for p in fields) <= MAX_VALUE_CHECKS
    parts: list = []
    for p in fields:
        for value in _values_to_check(p, each):
            problem = _field_problem(base, p.path, value)
            if problem is not None:
                if parts:
                    parts.append("\n")
                parts += [Arg("params", f"{p.path}={p.spec}"),
                          f": {_value_words(value)} is not a valid value of {p.path} "
                          f"({problem})"]
                break
    if parts:
        raise ParamError(*parts)


def _values_to_check(p: Param, each: bool) -> list:
    """The values of ``p`` that stand for all it takes: every listed one, or the bounds."""
    if p.is_distribution:
        if p.dist == "int":
            mid = (int(p.low) + int(p.high)) // 2
            return list(dict.fromkeys([int(p.low), int(p.high), mid]))
        mid = (math.sqrt(p.low * p.high) if p.dist == "loguniform"
               else (p.low + p.high) / 2)
        return [float(p.low), float(p.high), float(mid)]
    values = list(dict.fromkeys(p.values))
    numeric = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if each or len(numeric) != len(values):
        return values
    ordered = sorted(numeric)
    return list(dict.fromkeys([ordered[0], ordered[-1], ordered[len(ordered) // 2]]))


def _field_problem(base: Mapping, path: str, value: Any) -> str | None:
    """The first problem the scenario's validation finds in ``path`` set to ``value``."""
    try:
        build_scenario(base, {path: value})
    except ScenarioError as exc:
        # validation names list items as pathways[3].weight; a path reads pathways.3.weight
        shown = ".".join(f"[{part}]" if part.isdigit() else part
                         for part in path.split(".")).replace(".[", "[")
        for problem in exc.all_problems:
            if problem.startswith((shown + " ", shown + ":", shown + ".", shown + "[")):
                return problem
    return None


def _value_words(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.12g}"
    return repr(value) if isinstance(value, str) else str(value)


# --------------------------------------------------------------------------------------------
# The results folder
# --------------------------------------------------------------------------------------------


class Journal:
    """Append-only record of finished runs, one JSON line each, written through per line.

    The file is opened without following symbolic links and must be a regular file.
    :meth:`load` checks every line against the sweep's plan before it is used.
    """

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None
        #: why lines were dropped by the last :meth:`load` (line number, reason): the first
        #: few, and how many in all
        self.dropped: list[tuple[int, str]] = []
        self.n_dropped = 0

    def load(self, plan: Plan | None = None) -> dict[int, dict]:
        """The valid records by run id; cut a torn last line; drop damaged lines.

        Each line must be a record as :func:`sweep_record` writes it, with ``run_id`` a
        whole number of the plan (``0 .. plan.n_runs - 1``); a line that is not is dropped
        and listed in :attr:`dropped` (its run runs again).  A later record of a failed run
        replaces it (a resumed sweep ran it again); two different records of a finished
        run are refused with :class:`~cxsim.io.FolderError`.
        """
        self.dropped, self.n_dropped = [], 0
        records: dict[int, dict] = {}
        where: dict[int, int] = {}
        limit = _line_limit(plan)
        try:
            fd = open_regular(self.path, 2**62)
        except FileNotFoundError:
            return records
        with os.fdopen(fd, "rb") as fh:
            good_end, lineno = 0, 0
            while True:
                line = fh.readline(limit + 1)
                if not line:
                    break
                lineno += 1
                if not line.endswith(b"\n"):
                    if len(line) <= limit:
                        break  # a torn last line (a killed process): cut below
                    while line and not line.endswith(b"\n"):  # an over-long line
                        line = fh.readline(2**20)
                    if not line:
                        break
                    good_end = fh.tell()
                    self._drop(lineno, f"longer than {limit:,} bytes")
                    continue
                good_end = fh.tell()
                if not line.strip():
                    continue
                rec, why = _valid_record(line, plan)
                if rec is None:
                    self._drop(lineno, why)
                    continue
                rid = rec["run_id"]
                prev = records.get(rid)
                if prev is not None and prev["status"] == "done" and prev != rec:
                    raise FolderError(f"{shown(self.path)}: run {rid} is recorded twice with "
                                      f"different results (lines {where[rid]} and {lineno}); "
                                      "remove the wrong line")
                if prev is not None and prev["status"] == "done":
                    self._drop(lineno, f"run {rid} is recorded again")
                    continue
                records[rid] = rec
                where[rid] = lineno
            if good_end < os.fstat(fh.fileno()).st_size:
                self._cut(good_end)  # drop the torn tail before appending
        return records

    def _cut(self, size: int) -> None:
        """Cut the journal to ``size`` bytes (its torn tail), without following links."""
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            raise FolderError(f"{shown(self.path)}: cannot cut its torn last line "
                              f"({exc.strerror or exc})", errno_=exc.errno) from None
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                os.ftruncate(fd, size)
        except OSError as exc:
            raise FolderError(f"{shown(self.path)}: cannot cut its torn last line "
                              f"({exc.strerror or exc})", errno_=exc.errno) from None
        finally:
            os.close(fd)

    def _drop(self, lineno: int, why: str) -> None:
        self.n_dropped += 1
        if len(self.dropped) < 10:
            self.dropped.append((lineno, why))

    def warning(self) -> str | None:
        """One line about the lines :meth:`load` dropped, or ``None``."""
        if not self.n_dropped:
            return None
        n = self.n_dropped
        first = "; ".join(f"line {k}: {why}" for k, why in self.dropped[:2])
        return (f"{shown(self.path)}: dropped {n:,} damaged line{'s' if n != 1 else ''} "
                f"({first}{'; ...' if n > 2 else ''}); those runs run again")

    def append(self, record: dict) -> None:
        """Write one record through to the operating system (survives a killed process).

        If the write fails (a full disk), what was written of the line is cut off again.
        """
        if self._fd is None:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW
                             | os.O_CLOEXEC, 0o666)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise FolderError(f"{shown(self.path)}: is a symbolic link; cxsim does "
                                      "not follow links in a results folder") from None
                raise
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                raise FolderError(f"{shown(self.path)}: not a regular file")
            self._fd = fd
        data = (json.dumps(record) + "\n").encode()
        start = os.fstat(self._fd).st_size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view):]
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, start)
            raise

    def close(self) -> None:
        """Close the file."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


def _line_limit(plan: Plan | None) -> int:
    """The longest journal line a run of ``plan`` can write."""
    if plan is None or not plan.ticks:
        return LINE_BYTES
    ticks = _max_ticks(plan.scenario, plan.design.params, plan.days)
    return LINE_BYTES + (ticks + 1) * len(TICK_COLUMNS) * TICK_VALUE_BYTES


_RECORD_KEYS = {"run_id", "status", "error", "outcomes", "ticks"}


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _valid_record(line: bytes, plan: Plan | None) -> tuple[dict | None, str]:
    """``(record, "")`` for a valid journal line, else ``(None, why)``."""
    try:
        rec = json.loads(line)
    except RecursionError:
        return None, "nested too deeply"
    except ValueError:
        return None, "not JSON"
    if not isinstance(rec, dict) or set(rec) != _RECORD_KEYS:
        return None, "not a run record"
    rid = rec["run_id"]
    n = plan.n_runs if plan is not None else None
    if not isinstance(rid, int) or isinstance(rid, bool) or rid < 0 or (n is not None
                                                                          and rid >= n):
        within = f" in 0..{n - 1}" if n is not None else ""
        return None, f"run_id must be a whole number{within}, got {str(rid)[:40]!r}"
    status, error, outcomes, ticks = rec["status"], rec["error"], rec["outcomes"], rec["ticks"]
    if status not in ("done", "failed"):
        return None, f"run {rid}: status must be done or failed"
    if not isinstance(error, str) or len(error) > MAX_ERROR:
        return None, f"run {rid}: the error is not a line of text"
    if not isinstance(outcomes, dict):
        return None, f"run {rid}: outcomes are not a table"
    if status == "failed":
        if outcomes or ticks is not None or not error:
            return None, f"run {rid}: a failed run with results"
        return rec, ""
    if error:
        return None, f"run {rid}: a finished run with an error"
    missing = [k for k in OUTCOMES if k not in outcomes]
    if missing:
        return None, f"run {rid}: outcome '{missing[0]}' is missing"
    if len(outcomes) > 4 * len(OUTCOMES) + 100 or not all(
            isinstance(k, str) and len(k) <= 100 and (v is None or _is_number(v))
            for k, v in outcomes.items()):
        return None, f"run {rid}: an outcome is not a number"
    want_ticks = plan.ticks if plan is not None else ticks is not None
    if not want_ticks:
        if ticks is not None:
            return None, f"run {rid}: per-tick metrics the sweep does not keep"
        return rec, ""
    if not isinstance(ticks, dict) or not ticks or not set(ticks) <= set(TICK_COLUMNS):
        return None, f"run {rid}: per-tick metrics missing or of unknown columns"
    lengths = {len(v) if isinstance(v, list) else -1 for v in ticks.values()}
    if len(lengths) != 1 or -1 in lengths or not all(
            v is None or _is_number(v) for col in ticks.values() for v in col):
        return None, f"run {rid}: per-tick metrics are not columns of numbers"
    return rec, ""


def _environment() -> dict:
    import importlib.metadata as md

    env = {"python": platform.python_version(), "platform": platform.platform()}
    for pkg in ("numpy", "numba", "mesa", "pandas", "SALib", "dask", "pyarrow"):
        try:
            env[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return env


def _provenance(plan: Plan, status: str, done: int, failed: int, wall: float,
                created: str) -> dict:
    d = plan.design
    return {
        "format": FORMAT, "status": status, "created": created,
        "fingerprint": plan.fingerprint(),
        "scenario_name": plan.scenario.name,
        "params": {p.path: p.spec for p in d.params},
        "runs": plan.n_runs, "points": len(d), "done": done, "failed": failed,
        "wall_seconds": round(wall, 3),
        "seeds": list(plan.seeds),
        "design_points": d.points,
        "design_unit": None if d.unit is None else d.unit.tolist(),
        "environment": _environment(),
        "scenario": plan.base,
    }


def read_provenance(out: Path | str) -> dict:
    """Read and check ``sweep.json`` of a results folder.

    Raises :class:`~cxsim.params.ParamError` if there is none or it is of another format,
    :class:`~cxsim.io.FolderError` if it is damaged (not a regular file, too large, nested
    too deeply, keys missing or of the wrong type).
    """
    path = Path(out) / "sweep.json"
    if not os.path.lexists(path):
        raise ParamError(f"{shown(out)}: holds no sweep (no sweep.json)")
    meta = read_json(path, MAX_SWEEP_JSON_BYTES)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or "fingerprint" not in meta:
        raise ParamError(f"{shown(path)}: not a sweep of this cxsim version's format "
                         f"(format {meta.get('format') if isinstance(meta, dict) else '?'}, "
                         f"expected {FORMAT})")
    _check_provenance(meta, path)
    return meta


def _check_provenance(meta: dict, path: Path) -> None:
    """Refuse a ``sweep.json`` whose entries are missing or of the wrong type."""
    def need(ok: bool, what: str) -> None:
        if not ok:
            raise FolderError(f"{shown(path)}: {what} (the file is damaged)")

    def whole(v: Any, least: int = 0) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= least

    fp = meta["fingerprint"]
    need(isinstance(fp, dict), "fingerprint is not a table")
    for key in ("design", "samples", "replications", "seed", "params", "strategy",
                "customers", "days", "ticks", "outcomes", "format_runs", "scenario_hash"):
        need(key in fp, f"fingerprint lacks '{key}'")
    need(fp["design"] in DESIGNS, "fingerprint.design is not a design")
    need(fp["samples"] is None or whole(fp["samples"], 2), "fingerprint.samples is not a count")
    need(whole(fp["replications"], 1) and fp["replications"] <= MAX_REPLICATIONS,
         f"fingerprint.replications is not a count of 1..{MAX_REPLICATIONS:,}")
    need(whole(fp["seed"]), "fingerprint.seed is not a seed")
    need(fp["strategy"] is None or isinstance(fp["strategy"], str),
         "fingerprint.strategy is not a name")
    need(fp["customers"] is None or whole(fp["customers"], 1),
         "fingerprint.customers is not a count")
    need(fp["days"] is None or (_is_number(fp["days"]) and math.isfinite(fp["days"])
                                and fp["days"] > 0), "fingerprint.days is not a number")
    need(isinstance(fp["ticks"], bool), "fingerprint.ticks is not true/false")
    need(isinstance(fp["outcomes"], list) and len(fp["outcomes"]) <= len(OUTCOMES)
         and all(isinstance(o, str) for o in fp["outcomes"]), "fingerprint.outcomes is not "
         "a list of names")
    need(fp["format_runs"] in ("csv", "parquet"), "fingerprint.format_runs is not csv or "
         "parquet")
    specs = meta.get("params")
    need(isinstance(specs, dict) and all(isinstance(k, str) and isinstance(v, str)
                                         for k, v in specs.items()),
         "params is not a table of specs")
    params = fp["params"]
    need(isinstance(params, list) and 0 < len(params) <= MAX_PARAMS,
         "fingerprint.params is not a list of parameters")
    for c in params:
        need(isinstance(c, list) and len(c) >= 3 and isinstance(c[0], str) and c[0] in specs,
             "a parameter of fingerprint.params is damaged")
        if c[1] == "values":
            need(len(c) == 3 and isinstance(c[2], list) and c[2], f"the values of {c[0]} are "
                 "damaged")
        else:
            need(c[1] in DISTRIBUTIONS and len(c) == 4 and all(_is_number(b) and math.isfinite(b)
                                                              for b in c[2:]),
                 f"the distribution of {c[0]} is damaged")
    need(isinstance(meta.get("scenario"), dict), "scenario is not a table")
    need(isinstance(meta.get("seeds"), list) and all(whole(x) for x in meta["seeds"]),
         "seeds is not a list of seeds")
    need(isinstance(meta.get("design_points"), list)
         and all(isinstance(pt, dict) for pt in meta["design_points"]),
         "design_points is not a list of points")
    need(meta.get("design_unit") is None or isinstance(meta["design_unit"], list),
         "design_unit is not a list")
    need(isinstance(meta.get("created", ""), str), "created is not a time")
    need(meta.get("wall_seconds") is None or _is_number(meta["wall_seconds"]),
         "wall_seconds is not a number")


def stored_settings(meta: dict) -> dict:
    """The arguments of :func:`plan_sweep` that made the sweep described by ``meta``.

    ``meta`` is a checked ``sweep.json`` (:func:`read_provenance`).
    """
    from .scenario import ScenarioError

    fp = meta["fingerprint"]
    params = []
    for c in fp["params"]:
        path, kind, spec = c[0], c[1], meta["params"][c[0]]
        params.append(Param(path, spec, values=tuple(c[2])) if kind == "values"
                      else Param(path, spec, dist=kind, low=c[2], high=c[3]))
    try:
        scenario = Scenario.from_dict(meta["scenario"], check_horizon=False)
    except ScenarioError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        raise FolderError(f"sweep.json: the stored scenario cannot be read ({exc})") from None
    return {"scenario": scenario,
            "params": params, "design": fp["design"], "samples": fp["samples"],
            "replications": fp["replications"], "seed": fp["seed"],
            "strategy": fp["strategy"], "customers": fp["customers"], "days": fp["days"],
            "ticks": fp["ticks"], "outcomes": fp["outcomes"], "fmt": fp["format_runs"]}


def stored_plan(out: Path | str) -> Plan:
    """Rebuild the plan of the sweep in ``out`` (its scenario, design and settings).

    The stored design points and seeds must be the ones the stored settings make (the same
    number of points, each with a value of every parameter within its spec); else
    :class:`~cxsim.io.FolderError`.
    """
    meta = read_provenance(out)
    return _with_stored_design(plan_sweep(**stored_settings(meta)), meta,
                               Path(out) / "sweep.json")


def _same_value(a: Any, b: Any) -> bool:
    """Equal as a value of a parameter (a number read back as another number type is)."""
    if isinstance(b, bool) or isinstance(a, bool | np.bool_):
        return isinstance(a, bool | np.bool_) and isinstance(b, bool) and bool(a) == b
    if _is_number(b) or isinstance(b, np.integer | np.floating):
        if isinstance(a, bool | np.bool_) or not isinstance(a, int | float | np.integer
                                                            | np.floating):
            return False
        return float(a) == float(b) or (math.isnan(float(a)) and math.isnan(float(b)))
    return isinstance(a, str) and a == b


def _fits(p: Param, v: Any) -> bool:
    """``v`` is a value parameter ``p`` can take."""
    if p.is_distribution:
        if not _is_number(v) or not p.low <= v <= p.high:
            return False
        return p.dist != "int" or float(v).is_integer()
    return any(_same_value(v, x) and type(v) is type(x) for x in p.values)


def _with_stored_design(plan: Plan, meta: dict, path: Path | str = "sweep.json") -> Plan:
    """Use the design points stored in ``sweep.json`` (independent of library versions).

    They must be the points ``plan`` implies: as many, each with a value within the spec of
    every parameter (for a grid: exactly the grid's points), and the seeds must be the
    replicate seeds of the plan; else :class:`~cxsim.io.FolderError`.
    """
    def damaged(what: str) -> FolderError:
        return FolderError(f"{shown(path)}: {what} (the file is damaged)")

    points, d = meta["design_points"], plan.design
    if len(points) != len(d):
        raise damaged(f"{len(points):,} design points stored, the design has {len(d):,}")
    if list(meta["seeds"]) != list(plan.seeds):
        raise damaged("the replicate seeds are not the root seed's")
    if d.kind == "grid":
        if points != d.points:
            raise damaged("the design points are not the grid's")
        return plan
    paths = {p.path for p in d.params}
    by_path = {p.path: p for p in d.params}
    for k, point in enumerate(points):
        if set(point) != paths or not all(_fits(by_path[q], v) for q, v in point.items()):
            raise damaged(f"design point {k} is not a point of the design")
    unit = meta.get("design_unit")
    varied = len(d.varied)
    if unit is not None:
        if (len(unit) != len(points) or not all(
                isinstance(row, list) and len(row) == varied
                and all(_is_number(u) and 0.0 <= u <= 1.0 for u in row) for row in unit)):
            raise damaged("design_unit does not match the design points")
    elif d.kind in SAMPLED:
        raise damaged("design_unit is missing")
    d = dataclasses.replace(d, points=[dict(p) for p in points],
                            unit=None if unit is None else np.asarray(unit, dtype=float))
    return dataclasses.replace(plan, design=d)


def _differences(stored: dict, new: dict) -> str | None:
    for key in new:
        if stored.get(key) != new[key]:
            if key == "params":
                return "parameters: " + _params_text(stored.get(key)) + " there, " + \
                    _params_text(new[key]) + " here"
            return f"{key}: {stored.get(key)!r} there, {new[key]!r} here"
    return None


def _params_text(params: Any) -> str:
    if not isinstance(params, list):
        return repr(params)
    return "; ".join(f"{c[0]}={c[2:] if c[1] != 'values' else c[2]}"
                     + (f" ({c[1]})" if c[1] != "values" else "") for c in params)


def runs_file(out: Path | str) -> Path | None:
    """The runs table of a results folder (Parquet or CSV), or ``None``."""
    for name in ("runs.parquet", "runs.csv"):
        p = Path(out) / name
        if os.path.lexists(p):
            return p
    return None


def read_runs(out: Path | str, plan: Plan | None = None) -> pd.DataFrame:
    """Read the runs table of a results folder, checked against the sweep's plan.

    At most one row per run of the plan (checked in a Parquet file's metadata before it is
    read); ``run_id`` whole numbers of the plan, each once, with the point, replicate, seed,
    parameter values and strategy the plan gives them; ``status`` done or failed; outcomes
    numbers.  ``plan`` defaults to :func:`stored_plan` of ``out``.  Raises
    :class:`~cxsim.io.FolderError` (one line) for a damaged table.
    """
    p = runs_file(out)
    if p is None:
        raise ParamError(f"{shown(out)}: no runs.parquet or runs.csv")
    if plan is None:
        plan = stored_plan(out)
    runs = read_table(p, plan.n_runs, ("error", "status", STRATEGY))
    _check_runs(runs, plan, p)
    return runs


def _check_runs(runs: pd.DataFrame, plan: Plan, path: Path) -> None:
    params = [q.path for q in plan.design.params]
    fixed = [*ID_COLUMNS, *params, STRATEGY, "status", "error"]
    check_columns(runs, path, needed=fixed, text=("status",))
    outcome_cols = [c for c in runs.columns if c not in fixed]
    check_columns(runs, path, numeric=[*ID_COLUMNS, *outcome_cols])

    def damaged(what: str) -> FolderError:
        return FolderError(f"{shown(path)}: {what} (the table is damaged)")

    ids = runs["run_id"].to_numpy(dtype=float)
    if len(ids) and (np.isnan(ids).any() or (ids != np.floor(ids)).any()
                     or ids.min() < 0 or ids.max() >= plan.n_runs):
        raise damaged(f"run_id must be whole numbers in 0..{plan.n_runs - 1}")
    if len(set(ids.tolist())) != len(ids):
        raise damaged("a run_id appears twice")
    rid = ids.astype(np.int64)
    reps = plan.replications
    for col, want in (("point", rid // reps), ("replicate", rid % reps),
                      ("seed", np.asarray(plan.seeds, dtype=np.int64)[rid % reps]
                       if len(rid) else rid)):
        if not np.array_equal(runs[col].to_numpy(dtype=float), want.astype(float)):
            raise damaged(f"column '{col}' does not match run_id")
    if not runs["status"].isin(["done", "failed"]).all():
        raise damaged("status must be done or failed")
    points = plan.design.points
    default = plan.strategy or "baseline"
    for k, r in enumerate(rid.tolist()):
        point = points[r // reps]
        for q in params:
            if not _same_value(_scalar(runs[q].iat[k]), point[q]):
                raise damaged(f"run {r}: {q} is not the design's value")
        if STRATEGY not in params and str(runs[STRATEGY].iat[k]) != default:
            raise damaged(f"run {r}: strategy is not the sweep's")
    runs["run_id"] = rid


def _scalar(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _write_table(df: pd.DataFrame, path: Path, fmt: str, meta: dict | None = None) -> None:
    with atomic_path(path) as tmp:
        if fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(df, preserve_index=False)
            if meta is not None:
                table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                                       b"cxsim": json.dumps(meta).encode()})
            pq.write_table(table, tmp)
        else:
            df.to_csv(tmp, index=False)


# --------------------------------------------------------------------------------------------
# Assembling tables
# --------------------------------------------------------------------------------------------


def runs_table(plan: Plan, records: Mapping[int, dict]) -> pd.DataFrame:
    """One row per finished run, sorted by ``run_id`` (see the module docstring)."""
    d, reps = plan.design, plan.replications
    param_cols = [p.path for p in d.params]
    outcome_cols: list[str] = []
    for rid in sorted(records):
        if records[rid]["status"] == "done":
            outcome_cols = list(records[rid]["outcomes"])
            break
    rows = []
    for rid in sorted(records):
        rec = records[rid]
        point = d.points[rid // reps]
        row: dict[str, Any] = {"run_id": rid, "point": rid // reps, "replicate": rid % reps,
                               "seed": plan.seeds[rid % reps]}
        row.update({c: point[c] for c in param_cols})
        if STRATEGY not in param_cols:
            row[STRATEGY] = plan.strategy or "baseline"
        row["status"] = rec["status"]
        row["error"] = rec["error"]
        for c in outcome_cols:
            row[c] = rec["outcomes"].get(c, math.nan)
        rows.append(row)
    cols = [*ID_COLUMNS, *param_cols, *([STRATEGY] if STRATEGY not in param_cols else []),
            "status", "error", *outcome_cols]
    df = pd.DataFrame(rows, columns=cols)
    for c in outcome_cols:
        df[c] = pd.to_numeric(df[c], errors="coerce")
    return df


def ticks_table(plan: Plan, records: Mapping[int, dict]) -> pd.DataFrame:
    """Per-tick metrics of every finished run: ``run_id, point, replicate, tick, ...``."""
    frames = []
    for rid in sorted(records):
        t = records[rid].get("ticks")
        if records[rid]["status"] != "done" or not t:
            continue
        f = pd.DataFrame(t)
        f.insert(0, "replicate", rid % plan.replications)
        f.insert(0, "point", rid // plan.replications)
        f.insert(0, "run_id", rid)
        frames.append(f)
    if not frames:
        return pd.DataFrame(columns=["run_id", "point", "replicate", *TICK_COLUMNS])
    return pd.concat(frames, ignore_index=True)


def point_means(plan: Plan, runs: pd.DataFrame, outcome: str) -> np.ndarray:
    """Mean of ``outcome`` over the finished replicates of each design point (NaN if none)."""
    ok = runs[runs["status"] == "done"]
    means = ok.groupby("point")[outcome].mean() if outcome in ok else pd.Series(dtype=float)
    return means.reindex(range(len(plan.design))).to_numpy(dtype=float)


# --------------------------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SweepResult:
    """The outcome of a sweep.

    ``runs``: one row per run (see the module docstring); ``ticks``: per-tick metrics when
    asked for; ``sensitivity``: indices per outcome and parameter for sobol/morris designs;
    ``provenance``: what ``sweep.json`` holds; ``ran``: runs executed by this call (fewer
    than ``len(runs)`` after a resume).
    """

    runs: pd.DataFrame = field(repr=False)
    ticks: pd.DataFrame | None = field(repr=False)
    sensitivity: pd.DataFrame | None = field(repr=False)
    plan: Plan = field(repr=False)
    provenance: dict = field(repr=False)
    out: Path | None
    ran: int
    wall_seconds: float

    @property
    def failed(self) -> pd.DataFrame:
        """The rows of runs that failed, with their parameters and errors."""
        return self.runs[self.runs["status"] == "failed"]

    def means(self, outcome: str) -> pd.DataFrame:
        """Per design point: the parameter values and the mean of ``outcome`` over replicates."""
        params = [p.path for p in self.plan.design.params]
        ok = self.runs[self.runs["status"] == "done"]
        return (ok.groupby("point", as_index=False)
                  .agg({**{p: "first" for p in params}, outcome: "mean"}))


def load_sweep(out: Path | str) -> SweepResult:
    """The :class:`SweepResult` of a results folder (runs table, sensitivity, plan).

    Every file is checked before use (:func:`read_provenance`, :func:`stored_plan`,
    :func:`read_runs`, and ``sensitivity.csv``'s columns); a damaged one raises
    :class:`~cxsim.io.FolderError`.
    """
    meta = read_provenance(out)
    plan = _with_stored_design(plan_sweep(**stored_settings(meta)), meta,
                               Path(out) / "sweep.json")
    runs = read_runs(out, plan)
    sens_path = Path(out) / "sensitivity.csv"
    sens = None
    if os.path.lexists(sens_path):
        rows = max(1, len(plan.outcomes) * len(plan.design.varied))
        sens = read_table(sens_path, rows, ("note", "outcome", "parameter"))
        key = ("S1", "S1_ci_low", "S1_ci_high", "ST", "ST_ci_low", "ST_ci_high")
        if "mu_star" in sens.columns:
            key = ("mu", "mu_star", "mu_star_ci_low", "mu_star_ci_high", "sigma")
        check_columns(sens, sens_path, needed=("outcome", "parameter", *key), numeric=key,
                      text=("outcome", "parameter"))
    return SweepResult(runs=runs, ticks=None, sensitivity=sens, plan=plan, provenance=meta,
                       out=Path(out), ran=0, wall_seconds=float(meta.get("wall_seconds") or 0.0))


#: the note of an index whose estimate or interval lies where the index cannot
SAMPLING_NOTE = "sampling error: more samples narrow it"


def sensitivity_notes(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with a note on each row whose estimates show sampling error.

    Sobol' indices are shares of the outcome's variance: each lies in [0, 1] and the first
    order S1 is at most the total ST.  An estimate from few samples can break either (its
    bootstrap interval then reaches below 0 or above 1, or S1 exceeds ST); the values are
    kept as estimated (the interval shows how uncertain they are) and the row's ``note``
    says so.  A Morris ``mu_star`` (a mean absolute effect) is never negative: an interval
    reaching below 0 is noted the same way.  Rows that already carry a note keep it.
    """
    if table is None or table.empty or "note" not in table:
        return table
    table = table.copy()
    notes = []
    for _, r in table.iterrows():
        if r["note"]:
            notes.append(r["note"])
            continue
        found = []
        if "ST" in table:
            if r["S1"] > r["ST"]:
                found.append("S1 > ST")
            cols = ("S1", "S1_ci_low", "S1_ci_high", "ST", "ST_ci_low", "ST_ci_high")
            if any(r[c] < 0 or r[c] > 1 for c in cols):
                found.append("estimate or interval beyond [0, 1]")
        elif r["mu_star_ci_low"] < 0:
            found.append("interval below 0")
        notes.append(f"{', '.join(found)}: {SAMPLING_NOTE}" if found else "")
    table["note"] = notes
    return table


def format_failures(runs: pd.DataFrame, limit: int = 5) -> str:
    """A short summary of failed runs: how many, and the distinct errors with examples."""
    failed = runs[runs["status"] == "failed"]
    if failed.empty:
        return ""
    lines = [f"{len(failed)} of {len(runs)} runs failed:"]
    for error, group in list(failed.groupby("error", sort=False))[:limit]:
        ids = ", ".join(str(i) for i in group["run_id"].head(5))
        more = "" if len(group) <= 5 else f" and {len(group) - 5} more"
        lines.append(f"  {len(group)} × {error} (run_id {ids}{more})")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Paired differences: a strategy against the baseline, replicate by replicate
# --------------------------------------------------------------------------------------------

#: columns of a runs table that identify a run rather than describe or measure it
RUN_KEYS = (*ID_COLUMNS, "status", "error", "baseline_run")


def _is_sweep_layout(columns: Sequence[str]) -> bool:
    cols = list(columns)
    return (cols[:len(ID_COLUMNS)] == list(ID_COLUMNS) and "status" in cols and "error" in cols
            and cols.index("error") == cols.index("status") + 1)


def run_columns(runs: pd.DataFrame) -> tuple[list[str], list[str]]:
    """``(parameters, outcomes)`` of a runs table.

    A sweep's table (``run_id, point, replicate, seed``, the parameters with ``strategy``,
    ``status, error``, the outcomes): the columns between ``seed`` and ``status`` are the
    parameters, those after ``error`` the outcomes.  Any other table (a comparison's runs,
    :func:`paired_differences`, one made by hand): the outcomes are the columns named like a
    metric of the vocabulary or ending in ``_diff``, the parameters every other column but
    the run's identifiers (:data:`RUN_KEYS`).
    """
    cols = [str(c) for c in runs.columns]
    if _is_sweep_layout(cols):
        start, status = len(ID_COLUMNS), cols.index("status")
        return cols[start:status], cols[status + 2:]
    outcomes = [c for c in cols if c in BY_NAME or (c.endswith(DIFF) and len(c) > len(DIFF))]
    params = [c for c in cols if c not in outcomes and c not in RUN_KEYS]
    return params, outcomes


def _key_value(v: Any) -> Any:
    v = _scalar(v)
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    return v


def paired_differences(runs: pd.DataFrame | SweepResult, baseline: str = "baseline"
                       ) -> pd.DataFrame:
    """Each strategy's runs against the baseline's, replicate by replicate.

    In a sweep whose design varies ``strategy`` (``--param strategy=baseline,fix_courier``),
    replicate *r* of every design point runs on the same seed, so each run of a strategy has
    a partner: the ``baseline`` run at the same values of the other parameters and the same
    replicate.  Returns one row per finished run of a strategy other than ``baseline`` whose
    partner finished too: ``run_id`` and ``baseline_run`` (the partner's ``run_id``, when the
    table has run ids), the parameters but ``strategy``, ``strategy``, ``replicate``,
    ``seed``, every outcome *M* of the strategy's run, then every ``M_diff`` = *M* of the
    strategy's run − *M* of its partner (NaN when either is missing).  Common random
    numbers make these differences far less noisy than the outcomes themselves.

    ``attrs["pairing"]`` counts what was left out: ``failed`` runs (dropped), strategy runs
    whose partner failed (``partner_failed``), and the ``pairs`` kept.

    Raises :class:`~cxsim.params.ParamError` (one line) when the runs do not vary
    ``strategy`` with ``baseline`` among its values, or a strategy's run has no partner at
    all (a design that does not cross strategy with the other parameters, e.g. a Latin
    hypercube over ``strategy``), or partners ran on different seeds.
    """
    if isinstance(runs, SweepResult):
        runs = runs.runs
    if STRATEGY not in runs.columns or "replicate" not in runs.columns:
        missing = STRATEGY if STRATEGY not in runs.columns else "replicate"
        raise ParamError(f"paired differences need the runs of several strategies with their "
                         f"replicates; this table has no '{missing}' column")
    params, outcomes = run_columns(runs)
    others = [p for p in params if p != STRATEGY]
    names = runs[STRATEGY].astype(str)
    present = list(dict.fromkeys(names))
    if baseline not in present:
        raise ParamError(Arg("baseline", baseline), ": not a strategy of these runs (they "
                         f"apply {', '.join(present[:8])}{', ...' if len(present) > 8 else ''}"
                         "); paired differences need a sweep over strategy=baseline,NAME")
    if len(present) < 2:
        raise ParamError(f"every run applies {baseline}; paired differences need a sweep "
                         f"that varies the strategy (strategy={baseline},NAME)")
    done = (runs["status"] == "done").to_numpy() if "status" in runs.columns \
        else np.ones(len(runs), dtype=bool)
    keys = [tuple(_key_value(v) for v in row)
            for row in runs[[*others, "replicate"]].itertuples(index=False, name=None)]
    partner: dict[tuple, int] = {}
    is_base = (names == baseline).to_numpy()
    for i in np.flatnonzero(is_base):
        if keys[i] in partner:
            raise ParamError(f"two {baseline} runs share the same parameter values and "
                             f"replicate (rows {partner[keys[i]]} and {i}); paired "
                             "differences need one partner per run")
        partner[keys[i]] = int(i)
    ids = runs["run_id"].to_numpy() if "run_id" in runs.columns else np.arange(len(runs))
    pairs: list[tuple[int, int]] = []
    partner_failed = 0
    for i in np.flatnonzero(~is_base):
        j = partner.get(keys[i])
        if j is None:
            where = ", ".join(f"{p}={_key_value(runs[p].iat[i])}" for p in others[:4])
            raise ParamError(f"run {_key_value(ids[i])} ({names.iat[i]}, replicate "
                             f"{_key_value(runs['replicate'].iat[i])}"
                             f"{', ' + where if where else ''}) has no {baseline} run at the "
                             "same parameter values and replicate; paired differences need "
                             "every strategy at every point of the design (a grid over "
                             "strategy)")
        if not done[i]:
            continue
        if not done[j]:
            partner_failed += 1
            continue
        pairs.append((int(i), j))
    if "seed" in runs.columns:
        for i, j in pairs:
            if _key_value(runs["seed"].iat[i]) != _key_value(runs["seed"].iat[j]):
                raise ParamError(f"run {_key_value(ids[i])} and its {baseline} partner "
                                 f"{_key_value(ids[j])} ran on different seeds; paired "
                                 "differences need the same seed for replicate r")
    si = np.array([i for i, _ in pairs], dtype=np.int64)
    bi = np.array([j for _, j in pairs], dtype=np.int64)
    s_rows = runs.iloc[si].reset_index(drop=True)
    b_rows = runs.iloc[bi].reset_index(drop=True)
    table: dict[str, Any] = {}
    if "run_id" in runs.columns:
        table["run_id"] = s_rows["run_id"]
        table["baseline_run"] = b_rows["run_id"]
    for p in others:
        table[p] = s_rows[p]
    table[STRATEGY] = s_rows[STRATEGY]
    table["replicate"] = s_rows["replicate"]
    if "seed" in runs.columns:
        table["seed"] = s_rows["seed"]
    numeric = [m for m in outcomes if pd.api.types.is_numeric_dtype(runs[m])
               and not pd.api.types.is_bool_dtype(runs[m]) and not m.endswith(DIFF)]
    for m in numeric:
        table[m] = s_rows[m].astype(float)
    for m in numeric:
        table[m + DIFF] = s_rows[m].astype(float) - b_rows[m].astype(float)
    out = pd.DataFrame(table, index=pd.RangeIndex(len(pairs)))
    out.attrs["pairing"] = {"baseline": baseline, "runs": int(len(runs)),
                            "failed": int((~done).sum()), "partner_failed": partner_failed,
                            "pairs": len(pairs),
                            "strategies": [n for n in present if n != baseline]}
    return out


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------


def _check_folder(out: Path, resume: bool) -> None:
    """Refuse a folder a sweep (new, or resumed) may not use; nothing is written."""
    check_target(out, "out")
    has_sweep = os.path.lexists(out / "sweep.json")
    if resume:
        if not has_sweep:
            raise ParamError(Arg("resume"), f": {shown(out)} holds no sweep to resume (no "
                             "sweep.json)")
        check_contents(out, "sweep")
        return
    if has_sweep:
        raise ParamError(Arg("out"), f": {shown(out)} already holds a sweep; add ",
                         Arg("resume", "True"), " to continue it or choose another folder")
    check_contents(out, "sweep")  # links, subfolders, other results
    clash = [name for name in FILES if os.path.lexists(out / name)]
    if clash:
        raise ParamError(Arg("out"), f": {shown(out)} already holds {clash[0]}; choose "
                         "another folder")


def check_resumable(out: Path | str, plan: Plan) -> dict:
    """Check that ``out`` holds the sweep ``plan`` describes; return its ``sweep.json``.

    Raises :class:`~cxsim.params.ParamError` naming the first difference otherwise.
    """
    _check_folder(Path(out), resume=True)
    meta = read_provenance(out)
    diff = _differences(meta["fingerprint"], plan.fingerprint())
    if diff:
        raise ParamError(Arg("resume"), f": {shown(out)} holds a different sweep ({diff})")
    return meta


class _WriteFailed(Exception):
    """Writing the sweep's folder failed while runs were going on (carries the OSError)."""

    def __init__(self, error: OSError | FolderError):
        super().__init__(str(error))
        self.error = error


def sweep(scenario: Scenario, params: Mapping[str, Any] | Sequence[Param],
          design: str = "grid", samples: int | None = None, replications: int = 1,
          seed: int = 0, executor: Executor | str | None = None, out: Path | str | None = None,
          *, workers: int | None = None, scheduler: str | None = None,
          strategy: str | None = None, customers: int | None = None,
          days: float | None = None, ticks: bool = False, outcomes: Sequence[str] | None = None,
          fmt: str = "auto", resume: bool = False, progress: bool = False,
          plan: Plan | None = None, ensemble: int | None = None) -> SweepResult:
    """Run a parameter sweep; return its :class:`SweepResult` (and write it to ``out``).

    Parameters
    ----------
    scenario
        The base scenario.
    params
        ``{path: spec}`` — a path into the scenario (see :mod:`cxsim.params`; ``strategy``
        picks the strategy) and a spec: ``"8,10,12"``, ``"0.5:0.9:5"``, ``"uniform(0.5,0.9)"``,
        ``"int(8,16)"``, ``"loguniform(a,b)"``, a list of values, or one value (fixed).
    design
        ``grid`` (every combination), ``lhs``, ``sobol`` or ``morris`` (see
        :mod:`cxsim.design`; sobol and morris need SALib, the ``sensitivity`` extra).
    samples
        Points for ``lhs``; base samples N for ``sobol`` (N·(D+2) points); trajectories r for
        ``morris`` (r·(D+1) points).  Not for ``grid``.
    replications
        Runs per design point; replicate *r* uses the same seed at every point.
    seed
        Root seed of the replicate seeds and of the design's sampling.
    executor
        ``None`` (a process pool of ``workers``, or in-process when ``workers=1``),
        ``"serial"``, ``"processes"``, or any ``concurrent.futures.Executor``
        (:func:`cxsim.executors.run_many` maps the runs).
    out
        Results folder (see the module docstring); ``None`` keeps results in memory only.
    workers
        Worker processes (default: all cores).
    scheduler
        Run on Dask: ``"local"`` (a LocalCluster of ``workers`` processes) or a scheduler
        address ``tcp://HOST:PORT`` (the ``dask`` extra).
    strategy
        A strategy every run applies (unless ``strategy`` is a parameter).
    customers, days
        Market size and horizon of every run (:func:`cxsim.runner.resize`, applied after the
        parameter values).  ``customers`` must be at least the scenario's
        :func:`~cxsim.scenario.least_market` and ``days`` a whole number of ticks at every
        tick length the sweep runs: nothing is rounded.
    ticks
        Also keep per-tick metrics of every run.
    outcomes
        Outcomes analysed for sobol/morris (default :data:`DEFAULT_OUTCOMES`).
    fmt
        ``"auto"`` (Parquet if pyarrow is installed, else CSV), ``"parquet"`` or ``"csv"``.
    resume
        Continue the sweep in ``out``; it must be the same sweep (scenario, design,
        parameters, seeds and settings), else :class:`~cxsim.params.ParamError`.
    progress
        Show a progress bar with ETA (tqdm).
    plan
        A plan from :func:`plan_sweep` (then the arguments that make a plan are ignored).
    ensemble
        Advance up to this many consecutive runs together, in one
        :class:`~cxsim.ensemble.Ensemble` (a task each); ``None`` runs them one by one.
        Results are the same, so a sweep may be resumed with another value.

    Raises
    ------
    ParamError, ScenarioError, ExecutorError
        Bad input, before anything runs or is written.
    SweepInterrupted
        Ctrl-C: finished runs are saved; ``resume=True`` continues.

    """
    if plan is None:
        plan = plan_sweep(scenario, params, design, samples, replications, seed,
                          strategy=strategy, customers=customers, days=days, ticks=ticks,
                          outcomes=outcomes, fmt=fmt)
    if workers is not None and not isinstance(executor, Executor):
        workers = check_workers(workers)
    ensemble = check_ensemble(ensemble)
    if scheduler is not None and isinstance(executor, Executor):
        raise ParamError("give either an executor or a scheduler, not both")
    if out is None and resume:
        raise ParamError("resume needs the results folder (out=...)")
    with contextlib.ExitStack() as held:
        return _sweep(plan, executor, None if out is None else Path(out), workers, scheduler,
                      resume, progress, held, ensemble)


def _sweep(plan: Plan, executor: Executor | str | None, out_path: Path | None,
           workers: int | None, scheduler: str | None, resume: bool, progress: bool,
           held: contextlib.ExitStack, ensemble: int | None = None) -> SweepResult:
    """:func:`sweep` once its arguments are checked; ``held`` keeps the folder's lock."""
    records: dict[int, dict] = {}
    created = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    journal = None
    if out_path is not None:
        _check_folder(out_path, resume)
        if resume:
            held.enter_context(folder_lock(out_path))
            meta = check_resumable(out_path, plan)
            plan = _with_stored_design(plan, meta, out_path / "sweep.json")
            created = meta.get("created") or created
        journal = Journal(out_path / JOURNAL)
        if resume:
            records = journal.load(plan)
            note = journal.warning()
            if note:
                warnings.warn(note, JournalWarning, stacklevel=4)
        # probe the executor before writing anything: an unreachable scheduler leaves the
        # folder as it was
    todo = [rid for rid in range(plan.n_runs)
            if records.get(rid, {}).get("status") != "done"]
    t0 = time.perf_counter()
    bar = None
    state: dict[str, Any] = {"last_flush": time.monotonic(), "ran": 0, "first": None,
                             "started": False}

    def status(name: str) -> dict:
        runs = runs_table(plan, records)
        done = int((runs["status"] == "done").sum()) if len(runs) else 0
        return _provenance(plan, name, done, len(runs) - done, time.perf_counter() - t0,
                           created)

    def flush(name: str) -> None:
        if out_path is None:
            return
        meta = status(name)
        _write_table(runs_table(plan, records), out_path / f"runs.{plan.fmt}", plan.fmt, meta)
        write_atomic(out_path / "sweep.json", json.dumps(meta, indent=1) + "\n")

    def on_record(record: dict) -> None:
        record = _canonical(sweep_record(record))
        try:
            if journal is not None:
                journal.append(record)
            records[record["run_id"]] = record  # saved: it counts as finished
            state["ran"] += 1
            if state["first"] is None:
                state["first"] = time.perf_counter() - t0
            if bar is not None:
                bar.update()
            if time.monotonic() - state["last_flush"] > FLUSH_SECONDS:
                flush("running")
                state["last_flush"] = time.monotonic()
        except (OSError, FolderError) as exc:  # a full disk: stop, keep what is journalled
            raise _WriteFailed(exc) from None

    def prepare() -> None:
        if out_path is None:
            return
        made = not os.path.lexists(out_path)
        try:
            out_path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FolderError(Arg("out"), f": cannot create {shown(out_path)} "
                              f"({exc.strerror or exc}); nothing ran", errno_=exc.errno
                              ) from None
        if not resume:
            held.enter_context(folder_lock(out_path))
            _check_folder(out_path, resume=False)  # another sweep may have come first
        try:
            flush("running")
        except OSError as exc:
            if made:  # the folder is this sweep's (it holds the lock): leave nothing behind
                import shutil

                shutil.rmtree(out_path, ignore_errors=True)
            raise FolderError(Arg("out"), f": cannot write {shown(out_path)} "
                              f"({exc.strerror or exc}); nothing ran", errno_=exc.errno
                              ) from None
        state["started"] = True

    def saved() -> str:
        n_done = sum(1 for r in records.values() if r["status"] == "done")
        return f"{n_done} of {plan.n_runs} runs finished and saved; continue with "

    label = "none"
    specs = [plan.spec(rid) for rid in todo]
    try:
        if scheduler is not None and todo:
            # connect (or fail) before the folder is touched
            with dask_executor(scheduler, workers) as (ex, slots):
                prepare()
                bar = _bar(progress, plan.n_runs, plan.n_runs - len(todo))
                run_many(specs, on_record, executor=ex, window=2 * slots, ensemble=ensemble)
                label = "dask-local" if scheduler == "local" else "dask"
        else:
            prepare()
            bar = _bar(progress, plan.n_runs, plan.n_runs - len(todo))
            if todo:
                n = workers or os.cpu_count() or 1
                label = run_many(specs, on_record, executor=executor, workers=workers,
                                 window=2 * n, ensemble=ensemble).executor
    except (KeyboardInterrupt, ExecutorBroken) as exc:  # Ctrl-C, or a worker process died
        if bar is not None:
            bar.close()
            bar = None
        if journal is not None:
            journal.close()
        if state["started"]:
            with contextlib.suppress(OSError):  # a full disk: the journal has the runs
                flush("interrupted")
        if isinstance(exc, ExecutorBroken):
            raise SweepAborted(f"{exc}: {saved()}", Arg("resume", "True")) from None
        raise SweepInterrupted(f"interrupted: {saved()}", Arg("resume", "True")) from None
    except _WriteFailed as exc:
        if journal is not None:
            journal.close()
        raise _stopped(out_path, exc.error, saved(), status) from None
    finally:
        if bar is not None:
            bar.close()
        if journal is not None:
            journal.close()
    wall = time.perf_counter() - t0
    runs = runs_table(plan, records)
    tick_table = ticks_table(plan, records) if plan.ticks else None
    sens = None
    if plan.design.kind in ("sobol", "morris"):
        sens = sensitivity_notes(sensitivity(
            plan.design, {o: point_means(plan, runs, o) for o in plan.outcomes},
            seed=plan.seed))
    n_done = int((runs["status"] == "done").sum())
    meta = _provenance(plan, "complete", n_done, len(runs) - n_done, wall, created)
    meta["executor"] = label
    # seconds from the start to the first finished run (worker start-up + one run)
    meta["first_result_seconds"] = (None if state["first"] is None
                                    else round(state["first"], 3))
    if out_path is not None:
        try:
            _write_final(out_path, plan, runs, tick_table, sens, meta,
                         keep_discovery=state["ran"] == 0)
        except FolderError as exc:
            raise _stopped(out_path, exc, saved(), status) from None
    return SweepResult(runs=runs, ticks=tick_table, sensitivity=sens, plan=plan,
                       provenance=meta, out=out_path, ran=state["ran"], wall_seconds=wall)


def _write_final(out: Path, plan: Plan, runs: pd.DataFrame, tick_table: pd.DataFrame | None,
                 sens: pd.DataFrame | None, meta: dict, keep_discovery: bool = False) -> None:
    """Write the final tables and ``sweep.json`` into a new folder and swap it in whole.

    The journal is carried into the new folder (a hard link, no copy); every other file of
    the running sweep (the runs table rewritten as it went, figures of an earlier ``plot``)
    is replaced, so the folder holds exactly the finished sweep.  A ``discovery`` subfolder
    (``cxsim discover``) is carried along only with ``keep_discovery`` (a resume that ran
    nothing): after new runs it describes runs the table no longer is, and goes.
    """
    def keep(name: str) -> bool:
        return name == JOURNAL or (keep_discovery and name == DISCOVERY)

    with Stage(out, "sweep", keep=keep) as stage, stage.writing() as folder:
        if tick_table is not None:
            _write_table(tick_table, folder / f"ticks.{plan.fmt}", plan.fmt)
        if sens is not None:
            write_atomic(folder / "sensitivity.csv", sens.to_csv(index=False))
        _write_table(runs, folder / f"runs.{plan.fmt}", plan.fmt, meta)
        write_atomic(folder / "sweep.json", json.dumps(meta, indent=1) + "\n")
        stage.commit()


def _stopped(out: Path | None, error: OSError | FolderError, saved: str,
             status: Callable[[str], dict]) -> SweepStopped:
    """The error of a sweep whose folder could not be written; mark it stopped if possible.

    ``sweep.json`` is set to ``stopped`` when it can be written.  On a full disk the runs
    table the sweep rewrote as it went (derived from the journal, rebuilt by a resume) is
    removed to make room for it; if even then it cannot be written, it keeps ``running``
    and a resume works all the same.
    """
    if out is not None:
        text = json.dumps(status("stopped"), indent=1) + "\n"
        try:
            write_atomic(out / "sweep.json", text)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                with contextlib.suppress(OSError):
                    for name in ("runs.parquet", "runs.csv"):
                        if os.path.isfile(out / name) and not os.path.islink(out / name):
                            os.unlink(out / name)
                    write_atomic(out / "sweep.json", text)
    if isinstance(error, FolderError) and error.errno is None:
        return SweepStopped(*error.parts, f"; {saved}", Arg("resume", "True"))
    code = error.errno
    reason = (error.strerror if isinstance(error, OSError) else None) or (
        os.strerror(code) if code else str(error))
    return SweepStopped(Arg("out"), f": cannot write {shown(out)} ({reason}): {saved}",
                        Arg("resume", "True"), errno_=code)


def _bar(progress: bool, total: int, initial: int):
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc="cxsim sweep", unit="run",
                file=sys.stderr, smoothing=0.1)


__all__ = ["DEFAULT_OUTCOMES", "DIFF", "DISCOVERY", "FILES", "SAMPLED", "ExecutorError",
           "Journal", "JournalWarning", "Plan", "SweepAborted", "SweepInterrupted",
           "SweepResult", "SweepStopped", "check_resumable", "format_failures", "load_sweep",
           "paired_differences", "plan_sweep", "point_means", "read_provenance", "read_runs",
           "run_columns", "runs_table", "stored_plan", "stored_settings", "sweep",
           "sweep_record", "ticks_table"]
