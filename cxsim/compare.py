"""Compare strategies against the baseline with paired replications.

``compare(scenario, strategies, replications, seed)`` runs the baseline and every strategy
``replications`` times.  Replicate *r* of every strategy and of the baseline uses the same
seed (common random numbers): since every random draw in cxsim is a pure function of (seed,
stream, agent, tick, slot), a strategy that changes one thing leaves the other draws alone,
and the paired difference *strategy − baseline* is far less noisy than the difference of two
independent samples (:func:`paired_vs_independent` measures by how much).

Runs are mapped with :func:`cxsim.executors.run_many` over an executor with the
``concurrent.futures`` interface (a process pool by default, in-process with ``workers=1``,
or e.g. Dask's ``client.get_executor()``).  Each run depends only on its seed, so the results
do not depend on the executor or the number of workers.  A comparison needs every replicate
(they are paired): if a run fails, :func:`compare` raises
:class:`~cxsim.executors.RunsFailed` naming it.

Money summed over time is also discounted at the scenario's yearly
``economics.discount_rate``: the ROI table carries the net present value of the paired
incremental profit beside the undiscounted figures.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import rng
from .errors import Arg, InputError, Worded
from .executors import (
    MAX_REPLICATIONS,
    MAX_RUNS,
    MAX_TICK_ROWS,
    ExecutorBroken,
    RunsFailed,
    RunSpec,
    check_ensemble,
    check_workers,
    run_many,
)
from .io import (
    FolderError,
    Stage,
    atomic_path,
    check_columns,
    check_target,
    folder_lock,
    read_json,
    read_table,
    shown,
    write_atomic,
)
from .runner import resize
from .scenario import MONTH_DAYS, YEAR_DAYS, Scenario, ScenarioError, Strategy
from .search import Journal
from .strategies import BASELINE, resolve, starts
from .vocabulary import (
    BY_NAME,
    COMPARED,
    HEADLINE,
    RUN_TICK_COLUMNS,
    enabled_feature_metrics,
    feature_metrics,
    format_value,
)

#: summary metrics compared between strategies (contract names, then reporting extras)
METRICS: tuple[str, ...] = COMPARED

#: the runs table's count of triggered activations (cxsim.triggers; only with triggers)
ACTIVATIONS = "trigger_activations"

#: per-tick columns kept from every run (for bands and payback)
TICK_METRICS: tuple[str, ...] = RUN_TICK_COLUMNS[1:]



def _tick_columns(sc: Scenario) -> tuple[str, ...]:
    """Per-tick columns kept from each run: the compared ones, then enabled features' (issue 17)."""
    return (*RUN_TICK_COLUMNS, *(m.name for m in enabled_feature_metrics(sc) if m.per_tick))


#: the contract columns of ``comparison.csv``, in order
TABLE_COLUMNS: tuple[str, ...] = (
    "strategy", "metric", "mean", "ci_low", "ci_high", "diff", "diff_ci_low", "diff_ci_high",
)

CONFIDENCE = 0.95

_INDEPENDENT = "baseline (independent seeds)"

StrategySpec = str | Strategy | Sequence["str | Strategy"]


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------


def _t_quantile(confidence: float, df: float) -> float:
    from scipy import stats  # imported on first use: keeps ``import cxsim`` quick

    return float(stats.t.ppf(0.5 + confidence / 2, df))


def _finite(values: Iterable[float]) -> np.ndarray:
    x = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float)
    return x[np.isfinite(x)]


def mean_interval(values: Iterable[float], confidence: float = CONFIDENCE
                  ) -> tuple[float, float, float, float, int]:
    """Mean and Student-t interval of ``values`` (NaN/None ignored).

    Returns ``(mean, low, high, se, n)``; with fewer than two finite values the interval and
    standard error are NaN.  Constant values give a zero-width interval.
    """
    x = _finite(values)
    n = len(x)
    if n == 0:
        return math.nan, math.nan, math.nan, math.nan, 0
    mean = float(x.mean())
    if n < 2:
        return mean, math.nan, math.nan, math.nan, n
    se = float(x.std(ddof=1)) / math.sqrt(n)
    half = _t_quantile(confidence, n - 1) * se
    return mean, mean - half, mean + half, se, n


def paired_interval(a: Iterable[float], b: Iterable[float], confidence: float = CONFIDENCE
                    ) -> tuple[float, float, float, float, int]:
    """Mean paired difference ``a − b`` and its t-interval; pairs with a NaN are dropped."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    return mean_interval(d, confidence)


def welch_interval(a: Iterable[float], b: Iterable[float], confidence: float = CONFIDENCE
                   ) -> tuple[float, float, float, float, float]:
    """Difference of means ``a − b`` of two independent samples with a Welch t-interval.

    Returns ``(diff, low, high, se, df)``.
    """
    x, y = _finite(a), _finite(b)
    if len(x) < 2 or len(y) < 2:
        diff = float(x.mean() - y.mean()) if len(x) and len(y) else math.nan
        return diff, math.nan, math.nan, math.nan, math.nan
    vx, vy = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    diff = float(x.mean() - y.mean())
    se = math.sqrt(vx + vy)
    if se == 0:
        return diff, diff, diff, 0.0, math.inf
    df = (vx + vy) ** 2 / (vx ** 2 / (len(x) - 1) + vy ** 2 / (len(y) - 1))
    half = _t_quantile(confidence, df) * se
    return diff, diff - half, diff + half, se, float(df)


# --------------------------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ComparisonResult:
    """Strategies compared with the baseline over paired replications.

    ``table``: one row per strategy and metric — ``strategy, metric, mean, ci_low, ci_high,
    diff, diff_ci_low, diff_ci_high`` (95 % t-intervals; ``diff`` = strategy − baseline,
    paired by replicate) then ``n, se, diff_n, diff_se``.
    ``runs``: one row per strategy × replicate with its integer ``seed`` (``cxsim run --seed
    SEED --strategy NAME`` on the same scenario reproduces the row) and every summary metric.
    ``ticks``: per-tick metrics of every run (strategy, replicate, tick, ...).
    ``roi``: per strategy, intervention cost, incremental profit (net of that cost) with its
    interval, ROI, its net present value at ``discount_rate`` (yearly) and payback tick.
    ``starts``: each strategy's intervention start ticks.  ``workers``, ``executor`` and
    ``wall_seconds`` say how the runs were executed (``None`` when read from disk without
    them).  Under a calibration's posterior (``compare(..., posterior=...)``) replicate *r*
    of every strategy runs on posterior draw *r* (the runs table has the draw's values),
    the table and ROI also carry ``noise_diff``, ``noise_diff_ci_low``,
    ``noise_diff_ci_high`` and ``noise_incremental_profit_ci_low/high``: the same
    comparison at the point estimate, replication noise only; ``posterior`` says where the
    draws came from.  ``overrides`` are the values set on the scenario by path (``--set``);
    ``ran`` how many runs this call ran (the others were read back from the journal of a
    comparison in progress; ``None`` when read from disk).
    """

    table: pd.DataFrame = field(repr=False)
    runs: pd.DataFrame = field(repr=False)
    ticks: pd.DataFrame = field(repr=False)
    roi: pd.DataFrame = field(repr=False)
    starts: dict[str, list[int]]
    scenario: str
    replications: int
    seed: int
    strategies: tuple[str, ...] = ()
    tick_days: float = 1.0
    spec: Scenario | None = field(default=None, repr=False)
    discount_rate: float = 0.0
    workers: int | None = None
    executor: str | None = None
    wall_seconds: float | None = None
    posterior: dict | None = None
    overrides: dict | None = None
    ran: int | None = None

    def diff(self, strategy: str, metric: str) -> tuple[float, float, float]:
        """``(diff, diff_ci_low, diff_ci_high)`` of one strategy and metric."""
        row = self.table[(self.table["strategy"] == strategy) & (self.table["metric"] == metric)]
        if row.empty:
            raise KeyError(f"no row for strategy {strategy!r}, metric {metric!r}")
        r = row.iloc[0]
        return float(r["diff"]), float(r["diff_ci_low"]), float(r["diff_ci_high"])


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------


def _describe(record: dict) -> str:
    name, replicate = record["key"]
    return f"strategy '{name}', replicate {replicate}"


def _execute(specs: list[RunSpec], executor: Executor | None, workers: int | None,
             progress: bool, desc: str = "cxsim compare", ensemble: int | None = None
             ) -> tuple[dict, str]:
    """Run ``specs``; their records keyed by ``(strategy name, replicate)``, and where.

    Raises :class:`~cxsim.executors.RunsFailed` if any run failed.
    """
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(specs), desc=desc, unit="run")
    try:
        batch = run_many(specs, (lambda _record: bar.update()) if bar is not None else None,
                         executor=executor, workers=workers, ensemble=ensemble)
    finally:
        if bar is not None:
            bar.close()
    failed = [r for r in batch.records if r["status"] != "done"]
    if failed:
        raise RunsFailed(failed, len(specs), _describe)
    return {r["key"]: r for r in batch.records}, batch.executor


def _label(item: Any, k: int) -> str:
    if isinstance(item, str):
        return item
    if isinstance(item, Strategy):
        return f"strategy_{k + 1}"
    return "+".join(_label(s, k) for s in item)


def _normalise(scenario: Scenario, strategies: Any) -> dict[str, Any]:
    """Return {name: strategy-like} for the strategies to compare (baseline excluded)."""
    if strategies is None:
        if not scenario.strategies:
            raise ScenarioError([f"scenario '{scenario.name}' has no strategies to compare "
                                 "(add [strategies.NAME] or pass strategies=...)"])
        return {name: name for name in scenario.strategies}
    if isinstance(strategies, str | Strategy):
        strategies = [strategies]
    if isinstance(strategies, Mapping):
        items = [(str(k), v) for k, v in strategies.items()]
    else:
        items = [(_label(s, k), s) for k, s in enumerate(strategies)]
    out: dict[str, Any] = {}
    for name, spec in items:
        if name == BASELINE or spec is None or (isinstance(spec, str) and spec == BASELINE):
            continue  # the baseline is always included
        if name in out:
            raise ScenarioError([f"strategy '{name}' is given twice"])
        out[name] = spec
    if not out:
        raise ScenarioError(["no strategies to compare besides the baseline"])
    return out


def _check_count(name: str, value: Any, least: int, why: str = "",
                 most: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InputError(Arg(name), f" must be a whole number, got {value!r}")
    if value < least:
        raise InputError(Arg(name), f" must be at least {least}{why}, got {value}")
    if most is not None and value > most:
        raise InputError(Arg(name), f" must be at most {most:,}, got {value:,}")
    return int(value)


def check(scenario: Scenario, strategies: Any = None, replications: int = 10, seed: int = 0,
          *, workers: int | None = None, ticks: int | None = None,
          customers: int | None = None, strategies_given: bool = True
          ) -> list[str | InputError]:
    """Every problem of a comparison's settings, one item each; empty if it can run.

    Counts (:class:`~cxsim.errors.InputError`, naming the argument), then the scenario as
    resized, then each strategy: an unknown name, or an intervention at or beyond the
    horizon, is one line each (the parts of a composed strategy are checked one by one).
    Nothing runs.  :func:`prepare` raises them.  ``strategies_given=False`` leaves the
    strategies unchecked (the caller could not tell which they are).
    """
    found: list[str | InputError] = []

    def count(name: str, value: Any, least: int, why: str = "",
              most: int | None = None) -> bool:
        try:
            _check_count(name, value, least, why, most)
        except InputError as exc:
            found.append(exc)
            return False
        return True

    reps_ok = count("replications", replications, 2, " (intervals need two replications)",
                    most=MAX_REPLICATIONS)
    count("seed", seed, 0)
    if workers is not None:
        try:
            check_workers(workers)
        except InputError as exc:
            found.append(exc)
    ticks_ok = ticks is None or count("ticks", ticks, 1)
    customers_ok = customers is None or count("customers", customers, 1)
    if not (ticks_ok and customers_ok):
        return found
    try:
        sc = resize(scenario, customers=customers)
        if ticks is not None:
            sc = dataclasses.replace(sc, simulation=dataclasses.replace(sc.simulation,
                                                                        ticks=int(ticks)))
        sc = sc.validated()
    except ScenarioError as exc:
        return found + list(exc.all_problems)
    if not strategies_given:
        return found
    try:
        named = {BASELINE: None, **_normalise(sc, strategies)}
    except ScenarioError as exc:
        return found + list(exc.all_problems)
    for spec in named.values():
        parts = (list(spec) if isinstance(spec, list | tuple) else [spec])
        for part in parts:
            try:
                resolve(sc, part)
            except ScenarioError as exc:
                found += [p for p in exc.all_problems if p not in found]
    if reps_ok:
        runs = len(named) * int(replications)
        rows = runs * sc.simulation.ticks
        if runs > MAX_RUNS:
            found.append(InputError(
                Arg("replications"), f": {len(named)} strategies × {replications:,} "
                f"replications = {runs:,} runs; a comparison takes at most {MAX_RUNS:,}"))
        elif rows > MAX_TICK_ROWS:
            found.append(InputError(
                Arg("replications"), f": {len(named)} strategies × {replications:,} "
                f"replications × {sc.simulation.ticks:,} ticks = {rows:,} per-tick rows; a "
                f"comparison keeps at most {MAX_TICK_ROWS:,} (fewer replications or a shorter "
                "horizon)"))
    return found


def refusal(problems: Sequence[str | InputError]) -> ValueError:
    """The exception of :func:`check`'s problems.

    A lone count's :class:`~cxsim.errors.InputError`, else a :class:`~cxsim.ScenarioError`
    with one line per problem.
    """
    if len(problems) == 1 and isinstance(problems[0], InputError):
        return problems[0]
    return ScenarioError([str(p) for p in problems])


def prepare(scenario: Scenario, strategies: Any = None, replications: int = 10, seed: int = 0,
            *, workers: int | None = None, ticks: int | None = None,
            customers: int | None = None) -> tuple[Scenario, dict[str, Any],
                                                   dict[str, list[int]]]:
    """Validate a comparison before running anything.

    Returns the scenario as it will run (resized, validated), ``{name: strategy}`` with the
    baseline first, and each strategy's start ticks.  Every problem :func:`check` finds is
    raised at once: a lone bad count as :class:`~cxsim.errors.InputError` (a
    :class:`ValueError`: at most :data:`~cxsim.executors.MAX_REPLICATIONS` replications,
    :data:`~cxsim.executors.MAX_RUNS` runs and :data:`~cxsim.executors.MAX_TICK_ROWS`
    per-tick rows, which a comparison keeps in memory), else :class:`~cxsim.ScenarioError`
    with one line per problem (unknown strategies, interventions at or beyond the horizon).
    """
    problems = check(scenario, strategies, replications, seed, workers=workers, ticks=ticks,
                     customers=customers)
    if problems:
        raise refusal(problems)
    sc = resize(scenario, customers=customers)
    if ticks is not None:
        sc = dataclasses.replace(sc, simulation=dataclasses.replace(sc.simulation,
                                                                    ticks=int(ticks)))
    sc = sc.validated()
    named = {BASELINE: None, **_normalise(sc, strategies)}
    start_ticks = {name: starts(sc, spec) for name, spec in named.items()}
    return sc, named, start_ticks


#: the integer seeds of replicates ``0 .. replications-1``, shared by every strategy
#: (:func:`cxsim.rng.replicate_seeds`)
replicate_seeds = rng.replicate_seeds


def compare(scenario: Scenario, strategies: Any = None, replications: int = 10, seed: int = 0,
            executor: Executor | None = None, *, workers: int | None = None,
            ticks: int | None = None, customers: int | None = None,
            progress: bool = False, ensemble: int | None = None,
            posterior: Any = None, out: Path | str | None = None, resume: bool = False,
            fmt: str = "csv", overrides: Mapping[str, Any] | None = None,
            extra: Callable[[ComparisonResult, Path], list[str]] | None = None
            ) -> ComparisonResult:
    """Run the baseline and each strategy ``replications`` times with paired seeds.

    Parameters
    ----------
    scenario
        The scenario (see :func:`cxsim.default_scenario`, :func:`cxsim.load_scenario`).
    strategies
        ``None`` for all of ``scenario.strategies``; or a list of names, :class:`Strategy`
        objects and lists of those (composed); or ``{name: strategy}``.  The baseline (no
        interventions) is always included as ``"baseline"``.
    replications
        Replicates per strategy (at least 2).  Replicate *r* of every strategy uses seed
        ``SeedSequence(seed).spawn(replications)[r].generate_state(1)[0]``.
    seed
        Root seed (non-negative integer); the runs table records each replicate's seed.
    executor
        Any ``concurrent.futures.Executor`` (e.g. Dask ``client.get_executor()``); by
        default a spawn process pool of ``workers`` processes, each with one numba thread.
    workers
        Processes of the default pool (default: all cores); ``workers=1`` runs in this
        process (numba then uses all its threads).
    ticks, customers
        Override the horizon (ticks) and the market size (:func:`cxsim.runner.resize`).
    progress
        Show a progress bar (tqdm).
    ensemble
        Advance up to this many runs together, in one :class:`~cxsim.ensemble.Ensemble`
        (a task of the pool each); ``None`` runs them one by one.  Results are the same.
    posterior
        A ``cxsim calibrate`` results folder (or :class:`cxsim.calibrate.Posterior`):
        replicate *r* of the baseline and of every strategy runs on posterior draw *r*
        (systematic resampling, reproducible from ``seed``), so the intervals include the
        parameters' uncertainty; the same comparison at the point estimate gives the
        noise-only intervals beside them.  ``scenario`` is then the scenario as calibrated
        (its market size, before ``customers`` resizes it): draws are set first, then the
        market is resized.
    out, resume
        A results folder: while the comparison runs it holds ``resume.json`` (the settings)
        and ``runs.jsonl`` (one line per finished run, written through), so Ctrl-C or a
        killed process loses only the runs in flight; at the end the tables
        (:func:`write_files`) are swapped in whole and those two files go.  ``out`` must be
        new, empty or hold an earlier finished comparison, which stays as it is until then
        (:func:`read_comparison` refuses the folder meanwhile); a full disk removes the two
        files again and leaves the folder as it was.
        ``resume=True`` continues the comparison in progress in ``out``: the finished runs
        are read back, the others run, and the result is the one an uninterrupted
        comparison gives; the settings must be the same (else :class:`InputError`).
    fmt
        ``"csv"`` or ``"parquet"``: the runs table written to ``out``.
    overrides
        Values set on the scenario by path (``--set``), recorded in ``compare.json``.
    extra
        ``extra(result, folder)`` writes further files (figures) into the staged folder
        before it is swapped in; returns their names.

    Raises
    ------
    ValueError, ScenarioError
        Bad input, before anything runs (:func:`check` lists every problem at once).
    cxsim.executors.RunsFailed
        A run failed (every replicate is needed for the paired differences); the message
        names the first failure's strategy, replicate, seed and error.
    ComparisonInterrupted
        Ctrl-C with ``out``: the finished runs are saved; ``resume=True`` continues.

    """
    check_ensemble(ensemble)
    _check_fmt(fmt)
    if resume and out is None:
        raise InputError(Arg("resume", "True"), " needs the results folder (out=...)")
    out_path = Path(out) if out is not None else None
    if out_path is not None:
        check_folder(out_path, resume)
    sc, named, start_ticks = prepare(scenario, strategies, replications, seed,
                                     workers=workers, ticks=ticks, customers=customers)
    seeds = replicate_seeds(seed, replications)
    post, draws = None, None
    if posterior is not None:
        from .calibrate import Posterior, load_posterior

        post = (posterior if isinstance(posterior, Posterior)
                else load_posterior(posterior, scenario))
        draws = post.draws(replications, seed)
        specs = _posterior_specs(scenario, sc, named, seeds, customers, post, draws)
    else:
        specs = [RunSpec(key=(name, r), scenario=sc, seed=s, strategy=spec,
                         tick_columns=_tick_columns(sc))
                 for name, spec in named.items() for r, s in enumerate(seeds)]
    plain_overrides = _plain(dict(overrides or {}))
    with contextlib.ExitStack() as held:
        folder = None
        if out_path is not None:
            fp = _fingerprint(scenario, sc, named, replications, seed, customers, ticks,
                              post, draws)
            stored = {"scenario": scenario.to_dict(), "strategies": _stored_names(named),
                      "replications": replications, "seed": seed, "customers": customers,
                      "ticks": ticks, "overrides": plain_overrides,
                      "posterior": None if post is None else str(post.source)}
            folder = _Progress(out_path, resume, fp, stored, specs, held)
        t0 = time.perf_counter()
        try:
            records, label, ran = _execute_saved(specs, folder, executor, workers, progress,
                                                 ensemble)
            wall = time.perf_counter() - t0
            if post is not None:
                result = _posterior_result(records, named, start_ticks, sc, replications,
                                           seed, post, draws)
            else:
                result = _assemble(records, list(named), start_ticks, sc, replications, seed)
            n = None if executor is not None else (workers or os.cpu_count() or 1)
            result = dataclasses.replace(result, workers=n, executor=label,
                                         wall_seconds=round(wall, 3),
                                         overrides=plain_overrides, ran=ran)
            if folder is not None:
                folder.finish(result, fmt, extra)
        except KeyboardInterrupt as exc:
            if folder is None or isinstance(exc, ComparisonInterrupted):
                raise
            raise folder.interrupted() from None  # every run is saved, the tables are not
    return result


class ComparisonInterrupted(Worded, KeyboardInterrupt):
    """Ctrl-C during a comparison with a results folder: what is saved, how to continue.

    ``saved`` of ``total`` runs are in ``out``'s journal.
    """

    def __init__(self, *parts: str | Arg, out: Path, saved: int, total: int):
        self._set_parts(parts)
        super().__init__(self.render())
        self.out, self.saved, self.total = out, saved, total


class ComparisonStopped(FolderError):
    """The comparison's folder could not be written (a full disk); the journal is kept."""


class ComparisonAborted(Worded, RuntimeError):
    """The executor broke (a worker process died); the finished runs are saved."""

    def __init__(self, *parts: str | Arg):
        self._set_parts(parts)
        super().__init__(self.render())


def _posterior_specs(scenario: Scenario, sc: Scenario, named: dict[str, Any],
                     seeds: list[int], customers: int | None, post: Any,
                     draws: list[dict]) -> list[RunSpec]:
    """Runs under a posterior: replicate r on draw r, and at the estimate keyed ``-1-r``."""
    base = scenario.to_dict()
    n_ticks = sc.simulation.ticks

    def spec(key: tuple, s: int, strategy: Any, values: dict) -> RunSpec:
        return RunSpec(key=key, scenario=base, seed=s, strategy=strategy, overrides=values,
                       customers=customers, ticks=n_ticks, tick_columns=_tick_columns(sc))

    specs = [spec((name, r), s, st, draws[r]) for name, st in named.items()
             for r, s in enumerate(seeds)]
    specs += [spec((name, -1 - r), s, st, post.estimate) for name, st in named.items()
              for r, s in enumerate(seeds)]
    return specs


def _posterior_result(records: dict, named: dict[str, Any],
                      start_ticks: dict[str, list[int]], sc: Scenario, replications: int,
                      seed: int, post: Any, draws: list[dict]) -> ComparisonResult:
    """:func:`compare` under a posterior: the draws' comparison, and the point estimate's."""
    order = list(named)
    drawn = {k: v for k, v in records.items() if k[1] >= 0}
    at = {(k[0], -1 - k[1]): v for k, v in records.items() if k[1] < 0}
    result = _assemble(drawn, order, start_ticks, sc, replications, seed)
    point = _assemble(at, order, start_ticks, sc, replications, seed)
    runs = result.runs.copy()
    for path in post.paths:
        runs[path] = [draws[int(r)][path] for r in runs["replicate"]]
    table = result.table.copy()
    noise = point.table.set_index(["strategy", "metric"])
    idx = pd.MultiIndex.from_frame(table[["strategy", "metric"]])
    for col in ("diff", "diff_ci_low", "diff_ci_high"):
        table[f"noise_{col}"] = noise[col].reindex(idx).to_numpy()
    roi = result.roi.copy()
    if not roi.empty:
        p = point.roi.set_index("strategy")
        for col in ("incremental_profit", "incremental_profit_ci_low",
                    "incremental_profit_ci_high"):
            roi[f"noise_{col}"] = p[col].reindex(roi["strategy"]).to_numpy()
    info = {"source": post.source, "draws": replications, "samples": len(post.samples),
            "ess": round(post.ess, 3), "parameters": post.paths,
            "estimate": post.estimate}
    return dataclasses.replace(result, runs=runs, table=table, roi=roi, posterior=info)


# --------------------------------------------------------------------------------------------
# A comparison in progress: its folder, journal and resume
# --------------------------------------------------------------------------------------------

#: the journal of finished runs and the settings of a comparison in progress; both go
#: when the finished comparison is swapped in
JOURNAL = "runs.jsonl"
PROGRESS = "resume.json"

#: version of ``resume.json``'s layout
PROGRESS_FORMAT = 1

_JOURNAL_KEYS = {"i", "strategy", "replicate", "seed", "summary", "ticks"}


def _plain(value: Any) -> Any:
    """``value`` as JSON gives it back (NumPy scalars as Python ones, tuples as lists)."""
    return json.loads(json.dumps(value, default=lambda v: v.item() if hasattr(v, "item")
                                 else str(v)))


def _spec_data(spec: Any) -> Any:
    """A strategy argument as data: ``None``, a name, a list of those, or a strategy."""
    if spec is None or isinstance(spec, str):
        return spec
    if isinstance(spec, Strategy):
        return {"strategy": _plain(dataclasses.asdict(spec))}
    return [_spec_data(s) for s in spec]


def _stored_names(named: Mapping[str, Any]) -> dict | None:
    """``{name: spec}`` of the strategies if all are names or lists of names, else None."""
    data = {k: _spec_data(v) for k, v in named.items() if k != BASELINE}
    ok = all(v is None or isinstance(v, str) or
             (isinstance(v, list) and all(isinstance(x, str) for x in v))
             for v in data.values())
    return data if ok else None


def _fingerprint(scenario: Scenario, sc: Scenario, named: Mapping[str, Any],
                 replications: int, seed: int, customers: int | None, ticks: int | None,
                 post: Any, draws: list[dict] | None) -> dict:
    """What makes two comparisons the same comparison (compared on resume)."""
    import hashlib

    from . import __version__

    posterior = None
    if post is not None:
        text = json.dumps(_plain({"draws": draws, "estimate": post.estimate}),
                          sort_keys=True)
        posterior = hashlib.sha256(text.encode()).hexdigest()[:16]
    return _plain({
        "format": PROGRESS_FORMAT, "cxsim_version": __version__,
        "scenario_hash": scenario.content_hash(), "run_hash": sc.content_hash(),
        "strategies": [[name, _spec_data(spec),
                        dataclasses.asdict(resolve(sc, spec)) if spec is not None else None]
                       for name, spec in named.items()],
        "replications": replications, "seed": seed, "customers": customers,
        "ticks": sc.simulation.ticks, "posterior": posterior})


def _difference(old: dict, new: dict) -> list[str | Arg] | None:
    """The first difference of two fingerprints, worded; None if they are the same."""
    for key, value in new.items():
        was = old.get(key)
        if was == value:
            continue
        if key in ("format", "cxsim_version"):
            return [f"written by cxsim {old.get('cxsim_version')}, this is cxsim "
                    f"{new.get('cxsim_version')}"]
        if key in ("scenario_hash", "run_hash"):
            return ["another scenario: its file, values set, market size or horizon differ"]
        if key == "strategies":
            names = [s[0] for s in was] if isinstance(was, list) and all(
                isinstance(s, list) and s for s in was) else was
            now = [s[0] for s in value]
            if names == now:
                return ["the strategies are named alike but their interventions differ"]
            return [f"strategies {', '.join(map(str, names))} there, {', '.join(now)} here"]
        if key == "posterior":
            return ["another posterior (or none)"]
        arg = {"replications": "replications", "seed": "seed", "customers": "customers",
               "ticks": "ticks"}.get(key)
        if arg is not None:
            return [Arg(arg), f" {was} there, {value} here"]
        return [f"{key}: {was!r} there, {value!r} here"]
    return None


def check_folder(out: Path | str, resume: bool) -> None:
    """Refuse a results folder a comparison (new, or resumed) may not use; write nothing.

    A new comparison needs a new or empty folder, or one holding an earlier finished
    comparison (and figures); a folder holding a comparison in progress is refused
    (``resume=True`` continues it).  A resumed one needs that comparison in progress.
    """
    from .search import check_folder as check

    check_target(out, "out")  # an empty path is refused as given
    out = Path(out)
    if resume and not os.path.lexists(out / PROGRESS) and os.path.lexists(
            out / "compare.json"):
        raise InputError(Arg("resume", "True"), f": {shown(out)} holds a finished "
                         "comparison; nothing to resume (leave out ", Arg("resume", "True"),
                         " to run it again)")
    check(out, resume, kind="compare", meta=PROGRESS, what="comparison in progress")


def stored_settings(out: Path | str) -> dict:
    """The settings of the comparison in progress in ``out``, as :func:`compare` takes them.

    ``scenario``, ``strategies``, ``replications``, ``seed``, ``customers``, ``ticks``,
    ``posterior`` and ``overrides``: what ``cxsim compare --resume`` continues with when
    they are not given again.  Raises :class:`~cxsim.io.FolderError` (one line) if ``out``
    holds no comparison in progress or its ``resume.json`` is damaged.
    """
    out = Path(out)
    check_folder(out, resume=True)
    meta = _read_progress(out)
    s = meta["settings"]
    try:
        scenario = Scenario.from_dict(s["scenario"], check_horizon=False)
        names = s["strategies"]
        if names is None:
            raise FolderError(f"{shown(out / PROGRESS)}: its strategies were built in Python; "
                              "resume it from Python with the same arguments")
        if not isinstance(names, dict):
            raise TypeError("strategies is not a table")
        settings = {"scenario": scenario, "strategies": dict(names)}
        for key in ("replications", "seed", "customers", "ticks", "posterior", "overrides"):
            settings[key] = s[key]
    except (KeyError, TypeError, ValueError, ScenarioError) as exc:
        if isinstance(exc, FolderError):
            raise
        raise FolderError(f"{shown(out / PROGRESS)}: damaged ({str(exc).splitlines()[0]}); "
                          "start a new comparison") from None
    return settings


def _read_progress(out: Path) -> dict:
    meta = read_json(out / PROGRESS)
    if (not isinstance(meta, dict) or meta.get("kind") != "compare"
            or not isinstance(meta.get("fingerprint"), dict)
            or not isinstance(meta.get("settings"), dict)):
        raise FolderError(f"{shown(out / PROGRESS)}: not the settings of a comparison in "
                          "progress (damaged); start a new comparison")
    return meta


def _saved_record(rec: dict, spec: RunSpec) -> dict | None:
    """A journal line as a run's record, if it is the record of ``spec``; else None."""
    name, r = spec.key
    if rec["strategy"] != name or rec["replicate"] != r or rec["seed"] != spec.seed:
        return None
    summary, ticks = rec["summary"], rec["ticks"]
    if not isinstance(summary, dict) or not all(
            isinstance(k, str) and (v is None or isinstance(v, int | float | str))
            for k, v in summary.items()):
        return None
    if not isinstance(ticks, dict) or set(ticks) != set(spec.tick_columns):
        return None
    lengths = {len(v) if isinstance(v, list) else -1 for v in ticks.values()}
    if len(lengths) != 1 or -1 in lengths:
        return None
    if not all(v is None or (isinstance(v, int | float) and not isinstance(v, bool))
               for col in ticks.values() for v in col):
        return None
    return {"key": spec.key, "seed": spec.seed, "status": "done", "error": "",
            "summary": summary, "ticks": ticks}


class _Progress:
    """The results folder of a comparison in progress: its lock, journal and final swap."""

    def __init__(self, out: Path, resume: bool, fingerprint: dict, stored: dict,
                 specs: list[RunSpec], held: contextlib.ExitStack):
        self.out = out
        self.specs = specs
        created = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        self.known: dict[tuple, dict] = {}
        if resume:
            held.enter_context(folder_lock(out, "out"))
            meta = _read_progress(out)
            diff = _difference(meta["fingerprint"], fingerprint)
            if diff is not None:
                raise InputError(Arg("resume", "True"), f": {shown(out)} holds a different "
                                 "comparison (", *diff, "); give its settings, or leave out ",
                                 Arg("resume", "True"), " and choose another folder")
            created = meta.get("created") or created
        self.meta = {"format": PROGRESS_FORMAT, "kind": "compare", "status": "running",
                     "created": created, "fingerprint": fingerprint, "settings": stored}
        #: the journal is this call's (not a resumed one's): an OS error removes it again
        self.fresh = not resume
        self.made = False
        if not resume:
            self._begin(held)
        self.appended = 0
        self.journal = Journal(out / JOURNAL, _JOURNAL_KEYS)
        held.callback(self.journal.close)
        if resume:
            for i, rec in self.journal.load().items():
                record = _saved_record(rec, specs[i]) if i < len(specs) else None
                if record is not None:  # a line of another run, or damaged: it runs again
                    self.known[record["key"]] = record

    def _begin(self, held: contextlib.ExitStack) -> None:
        """Add ``resume.json`` and an empty journal to the folder (made if need be).

        An earlier finished comparison there stays as it is until the new one is swapped in
        whole (readers refuse the folder meanwhile: :func:`read_comparison`).  If the two
        files cannot be written, the folder is left as it was (or not made).
        """
        out = self.out
        self.made = not os.path.lexists(out)
        try:
            out.mkdir(parents=True, exist_ok=True)
            held.enter_context(folder_lock(out, "out"))
            check_folder(out, resume=False)  # another process may have come first
            write_atomic(out / PROGRESS, self._text("running"))
            write_atomic(out / JOURNAL, "")
        except OSError as exc:
            raise self.failed(exc.errno, exc.strerror or str(exc)) from None
        except BaseException:
            if self.made:
                self.discard()
            raise

    def discard(self) -> None:
        """Remove what this call added: the journal and ``resume.json``, or the folder."""
        import shutil

        if self.made:
            shutil.rmtree(self.out, ignore_errors=True)
            return
        for name in (JOURNAL, PROGRESS):
            path = self.out / name
            with contextlib.suppress(OSError):
                if os.path.isfile(path) and not os.path.islink(path):
                    os.unlink(path)

    def failed(self, code: int | None, reason: str) -> FolderError:
        """The error of an OS error (a full disk) while the comparison is in progress.

        This call's own journal is discarded (the folder is as it was); a resumed
        comparison's journal is kept for the next resume.
        """
        if self.fresh:
            self.journal_close()
            self.discard()
            state = "nothing was written" if self.made else "it is as it was"
            return ComparisonStopped(Arg("out"), f": cannot write {shown(self.out)} "
                                     f"({reason}); {state}", errno_=code)
        self.mark("stopped")
        return ComparisonStopped(Arg("out"), f": cannot write {shown(self.out)} ({reason}): "
                                 f"{self.saved()} runs of {len(self.specs)} saved; continue "
                                 "with ", Arg("resume", "True"), errno_=code)

    def journal_close(self) -> None:
        journal = getattr(self, "journal", None)
        if journal is not None:
            journal.close()

    def saved(self) -> int:
        """Runs in the journal (known when resumed, and journalled since)."""
        return len(self.known) + self.appended

    def _text(self, status: str) -> str:
        return json.dumps({**self.meta, "status": status}, indent=1) + "\n"

    def save(self, i: int, record: dict) -> None:
        """Journal a finished run (spec ``i``)."""
        name, r = record["key"]
        self.journal.append({"i": i, "strategy": name, "replicate": r,
                             "seed": record["seed"], "summary": record["summary"],
                             "ticks": record["ticks"]})
        self.appended += 1

    def interrupted(self) -> ComparisonInterrupted:
        """Ctrl-C once every run is saved (while the tables were made or written)."""
        self.journal.close()
        self.mark("interrupted")
        n = len(self.specs)
        return ComparisonInterrupted(f"interrupted: {n} of {n} runs finished and saved in "
                                     f"{shown(self.out)}; continue with ",
                                     Arg("resume", "True"), out=self.out, saved=n, total=n)

    def mark(self, status: str) -> None:
        """Set ``resume.json``'s status (``interrupted``, ``stopped``); best effort."""
        with contextlib.suppress(OSError):
            write_atomic(self.out / PROGRESS, self._text(status))

    def finish(self, result: ComparisonResult, fmt: str,
               extra: Callable[[ComparisonResult, Path], list[str]] | None) -> None:
        """Swap the finished comparison in whole; the journal and ``resume.json`` go."""
        try:
            with Stage(self.out, "compare") as stage, stage.writing() as folder:
                write_files(result, folder, fmt)
                if extra is not None:
                    extra(result, folder)
                stage.commit()
        except FolderError as exc:
            if exc.errno is not None:  # an OS error: a full disk, no permission
                raise self.failed(exc.errno, os.strerror(exc.errno)) from None
            raise ComparisonStopped(*exc.parts, "; every run is saved: continue with ",
                                    Arg("resume", "True")) from None



def _canonical(record: dict) -> dict:
    """A finished run's record as its journal line gives it back (plain JSON values)."""
    return {"key": record["key"], "seed": int(record["seed"]), "status": "done", "error": "",
            "summary": _plain(record["summary"]), "ticks": _plain(record["ticks"])}


def _execute_saved(specs: list[RunSpec], folder: _Progress | None, executor: Any,
                   workers: int | None, progress: bool, ensemble: int | None
                   ) -> tuple[dict, str, int]:
    """Run the specs not yet saved; every record by key, the executor's label, runs run.

    A finished run is journalled as it ends (with a folder).  Ctrl-C, a broken executor or
    a journal that cannot be written stop with the finished runs saved.  Raises
    :class:`~cxsim.executors.RunsFailed` if any run failed.
    """
    known = dict(folder.known) if folder is not None else {}
    index = {spec.key: i for i, spec in enumerate(specs)}
    todo = [s for s in specs if s.key not in known]
    records: dict[tuple, dict] = dict(known)
    failed: list[dict] = []
    bar = None
    if progress and todo:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(specs), initial=len(known), desc="cxsim compare", unit="run")

    class _WriteFailed(Exception):
        def __init__(self, error: OSError):
            super().__init__(str(error))
            self.error = error

    def on_record(record: dict) -> None:
        if record["status"] == "done":
            record = _canonical(record)
            if folder is not None:
                try:
                    folder.save(index[record["key"]], record)
                except OSError as exc:
                    raise _WriteFailed(exc) from None
            records[record["key"]] = record
        else:
            failed.append(record)
        if bar is not None:
            bar.update()

    def saved() -> str:
        return (f"{len(records)} of {len(specs)} runs finished and saved in "
                f"{shown(folder.out)}; continue with ")

    label = "none"
    try:
        if todo:
            label = run_many(todo, on_record, executor=executor, workers=workers,
                             ensemble=ensemble).executor
    except KeyboardInterrupt:
        if folder is None:
            raise
        folder.journal.close()
        folder.mark("interrupted")
        raise ComparisonInterrupted(f"interrupted: {saved()}", Arg("resume", "True"),
                                    out=folder.out, saved=len(records),
                                    total=len(specs)) from None
    except ExecutorBroken as exc:
        if folder is None:
            raise
        folder.journal.close()
        folder.mark("interrupted")
        raise ComparisonAborted(f"{exc}: {saved()}", Arg("resume", "True")) from None
    except _WriteFailed as exc:
        folder.journal.close()
        err = exc.error
        raise folder.failed(err.errno, err.strerror or str(err)) from None
    finally:
        if bar is not None:
            bar.close()
    if failed:
        failed.sort(key=lambda r: index[r["key"]])
        raise RunsFailed(failed, len(specs), _describe)
    return records, label, len(todo)


def _assemble(records: dict[tuple[str, int], dict], order: list[str],
              start_ticks: dict[str, list[int]], sc: Scenario, replications: int,
              seed: int) -> ComparisonResult:
    keys = sorted(records, key=lambda k: (order.index(k[0]), k[1]))
    rows, frames = [], []
    for key in keys:
        name, r = key
        record = records[key]
        row = {"strategy": name, "replicate": r, "seed": record["seed"]}
        row.update({k: v for k, v in record["summary"].items() if k != "scenario"})
        rows.append(row)
        f = pd.DataFrame(record["ticks"])
        f.insert(0, "replicate", r)
        f.insert(0, "strategy", name)
        frames.append(f)
    runs = pd.DataFrame(rows)
    for m in METRICS:
        if m not in runs:
            runs[m] = np.nan
    if ACTIVATIONS in runs:  # triggered interventions: a run without any fired none
        runs[ACTIVATIONS] = runs[ACTIVATIONS].fillna(0).astype(int)
    tick_table = pd.concat(frames, ignore_index=True)
    # the contract's figures, then those of optional features the runs wrote (issue 17)
    compared = (*METRICS, *(m.name for m in feature_metrics(runs.columns) if m.in_summary))
    table = comparison_table(runs, order, compared,
                             days=sc.simulation.ticks * sc.simulation.tick_days)
    rate = sc.economics.discount_rate
    roi = roi_table(runs, tick_table, order, start_ticks, discount_rate=rate,
                    tick_days=sc.simulation.tick_days)
    return ComparisonResult(table=table, runs=runs, ticks=tick_table, roi=roi,
                            starts=dict(start_ticks), scenario=sc.name,
                            replications=replications, seed=seed, strategies=tuple(order),
                            tick_days=sc.simulation.tick_days, spec=sc, discount_rate=rate)


def _metric_matrix(runs: pd.DataFrame, name: str, metric: str) -> np.ndarray:
    """Values of ``metric`` for strategy ``name``, ordered by replicate (NaN for None)."""
    sub = runs[runs["strategy"] == name].sort_values("replicate")
    return pd.to_numeric(sub[metric], errors="coerce").to_numpy(dtype=float)


#: the columns ``comparison.csv`` adds after the contract columns and ``n, se, diff_n,
#: diff_se``: ``fixed`` (the paired difference from the baseline is the same in every
#: replicate, for the baseline its value: a deterministic figure such as an intervention's
#: cost, whose zero-width interval tests nothing), ``extrapolated`` (a figure compounded
#: beyond the simulated days, see :data:`EXTRAPOLATED`), ``unit`` and ``diff_unit`` (of a
#: value and of a difference as shown) and ``scale`` (shown = stored × scale: 100 for
#: percentages)
EXTRA_COLUMNS: tuple[str, ...] = ("fixed", "extrapolated", "unit", "diff_unit", "scale")

#: figures compounded from the run's churn rate to a period (days): from a shorter run
#: they are extrapolations, not measurements
EXTRAPOLATED: dict[str, float] = {"monthly_churn": MONTH_DAYS, "annual_retention": YEAR_DAYS}


def _fixed(values: np.ndarray) -> bool:
    """True if two or more values are all finite and equal."""
    return len(values) >= 2 and bool(np.isfinite(values).all()) and np.ptp(values) == 0


def extrapolated(metric: str, days: float | None) -> bool:
    """Whether ``metric`` of a ``days``-day run is compounded beyond those days."""
    return days is not None and metric in EXTRAPOLATED and days < EXTRAPOLATED[metric]


def comparison_table(runs: pd.DataFrame, order: Sequence[str] | None = None,
                     metrics: Sequence[str] = METRICS, baseline: str = BASELINE, *,
                     days: float | None = None) -> pd.DataFrame:
    """The comparison table from a runs table (one row per strategy × replicate).

    Means and 95 % t-intervals over replicates; ``diff`` is the mean paired difference
    strategy − baseline (same replicate), with the t-interval of the paired differences.
    Then ``n, se, diff_n, diff_se`` and :data:`EXTRA_COLUMNS`; ``days`` (the simulated
    days) flags the extrapolated figures (unflagged without it).
    """
    order = list(order) if order is not None else list(dict.fromkeys(runs["strategy"]))
    base_reps = runs.loc[runs["strategy"] == baseline, "replicate"].sort_values().to_numpy()
    rows = []
    for name in order:
        reps = runs.loc[runs["strategy"] == name, "replicate"].sort_values().to_numpy()
        if not np.array_equal(reps, base_reps):
            raise ValueError(f"strategy '{name}' does not have the baseline's replicates")
        for metric in metrics:
            x = _metric_matrix(runs, name, metric)
            b = _metric_matrix(runs, baseline, metric)
            mean, lo, hi, se, n = mean_interval(x)
            d, dlo, dhi, dse, dn = paired_interval(x, b)
            m = BY_NAME.get(metric)
            rows.append({"strategy": name, "metric": metric, "mean": mean, "ci_low": lo,
                         "ci_high": hi, "diff": d, "diff_ci_low": dlo, "diff_ci_high": dhi,
                         "n": n, "se": se, "diff_n": dn, "diff_se": dse,
                         "fixed": _fixed(x) if name == baseline else _fixed(x - b),
                         "extrapolated": extrapolated(metric, days),
                         "unit": m.unit if m is not None else "",
                         "diff_unit": m.difference_unit() if m is not None else "",
                         "scale": m.scale if m is not None else 1.0})
    return pd.DataFrame(rows, columns=[*TABLE_COLUMNS, "n", "se", "diff_n", "diff_se",
                                       *EXTRA_COLUMNS])


def payback_tick(ticks: Sequence[int], cumulative: Sequence[float], start: int) -> int | None:
    """First tick at or after ``start`` from which ``cumulative`` stays ≥ 0 to the end.

    ``cumulative`` is the mean cumulative paired Δprofit per tick; ``None`` if it never does.
    """
    t = np.asarray(ticks)
    c = np.asarray(cumulative, dtype=float)
    ok = np.isfinite(c) & (c >= 0)
    stays = np.logical_and.accumulate(ok[::-1])[::-1]
    hit = np.flatnonzero(stays & (t >= start))
    return int(t[hit[0]]) if len(hit) else None


def cumulative_delta(tick_table: pd.DataFrame, name: str, column: str = "profit",
                     baseline: str = BASELINE) -> pd.DataFrame:
    """Per tick and replicate, cumulative paired Δ``column`` (strategy − baseline).

    Returns a wide frame: index tick, one column per replicate.
    """
    s = tick_table[tick_table["strategy"] == name].pivot(index="tick", columns="replicate",
                                                          values=column)
    b = tick_table[tick_table["strategy"] == baseline].pivot(index="tick", columns="replicate",
                                                              values=column)
    return (s.astype(float) - b.astype(float)).cumsum()


def discount_factors(ticks: Iterable[int], rate: float, tick_days: float = 1.0) -> np.ndarray:
    """Present value of one unit of money at the end of each tick: ``(1+rate)^-(t·dt/365)``.

    ``rate`` is the yearly discount rate (``economics.discount_rate``); tick *t* ends on day
    ``t · tick_days``.
    """
    t = np.asarray(list(ticks) if not isinstance(ticks, np.ndarray) else ticks, dtype=float)
    return (1.0 + float(rate)) ** -(t * tick_days / YEAR_DAYS)


def _present_value(tick_table: pd.DataFrame, name: str, column: str, factors_of) -> np.ndarray:
    """Per replicate (in replicate order), Σ_t column_t · factor_t of strategy ``name``."""
    wide = tick_table[tick_table["strategy"] == name].pivot(index="tick", columns="replicate",
                                                            values=column).astype(float)
    f = factors_of(wide.index.to_numpy())
    return (wide.mul(f, axis=0)).sum(axis=0, min_count=1).sort_index().to_numpy(dtype=float)


def roi_table(runs: pd.DataFrame, tick_table: pd.DataFrame, order: Sequence[str],
              start_ticks: Mapping[str, Sequence[int]], baseline: str = BASELINE, *,
              discount_rate: float = 0.0, tick_days: float = 1.0) -> pd.DataFrame:
    """Per strategy: intervention cost, incremental profit (net of it), ROI, NPV and payback.

    ``incremental_profit`` is the mean paired Δ total profit (profit already includes the
    intervention cost); ``roi = incremental_profit / intervention_cost`` (NaN for no cost).
    ``npv`` is the mean over replicates of the paired Δprofit of each tick discounted to
    day 0 at the yearly ``discount_rate`` (:func:`discount_factors`), with its t-interval;
    ``discounted_roi = npv / present value of the intervention cost`` (NaN without a
    per-tick ``intervention_cost`` or for no cost).  ``payback_tick`` is the first tick at
    or after the first intervention start where the mean cumulative paired Δprofit becomes
    ≥ 0 and stays so to the horizon (None if never).
    """
    def factors(ticks: np.ndarray) -> np.ndarray:
        return discount_factors(ticks, discount_rate, tick_days)

    rows = []
    for name in order:
        if name == baseline:
            continue
        cost, *_ = mean_interval(_metric_matrix(runs, name, "intervention_cost"))
        d, lo, hi, se, n = paired_interval(_metric_matrix(runs, name, "profit"),
                                           _metric_matrix(runs, baseline, "profit"))
        roi = d / cost if math.isfinite(cost) and cost > 0 else math.nan
        npv, npv_lo, npv_hi, *_ = paired_interval(
            _present_value(tick_table, name, "profit", factors),
            _present_value(tick_table, baseline, "profit", factors))
        pv_cost = math.nan
        if "intervention_cost" in tick_table:
            pv_cost, *_ = mean_interval(_present_value(tick_table, name, "intervention_cost",
                                                       factors))
        droi = npv / pv_cost if math.isfinite(pv_cost) and pv_cost > 0 else math.nan
        cum = cumulative_delta(tick_table, name).mean(axis=1)
        first = min(start_ticks.get(name) or [int(cum.index.min())])
        pb = payback_tick(cum.index.to_numpy(), cum.to_numpy(), first)
        rows.append({"strategy": name, "intervention_cost": cost, "incremental_profit": d,
                     "incremental_profit_ci_low": lo, "incremental_profit_ci_high": hi,
                     "roi": roi, "npv": npv, "npv_ci_low": npv_lo, "npv_ci_high": npv_hi,
                     "discounted_roi": droi, "payback_tick": pb, "first_start": first,
                     "n": n})
    cols = ["strategy", "intervention_cost", "incremental_profit", "incremental_profit_ci_low",
            "incremental_profit_ci_high", "roi", "npv", "npv_ci_low", "npv_ci_high",
            "discounted_roi", "payback_tick", "first_start", "n"]
    out = pd.DataFrame(rows, columns=cols)
    out["payback_tick"] = out["payback_tick"].astype("Int64")
    return out


# --------------------------------------------------------------------------------------------
# Variance reduction: paired (common random numbers) vs independent seeds
# --------------------------------------------------------------------------------------------


def paired_vs_independent(scenario: Scenario, strategy: StrategySpec, replications: int = 10,
                          seed: int = 0, executor: Executor | None = None, *,
                          metrics: Sequence[str] = ("profit", "churned", "nps"),
                          workers: int | None = None, ticks: int | None = None,
                          customers: int | None = None, progress: bool = False) -> dict:
    """Measure the variance reduction of paired seeds for ``strategy`` − baseline.

    ``SeedSequence(seed).spawn(2 * replications)`` gives two disjoint seed sets A and B.  The
    strategy runs on A; the *paired* interval compares it with the baseline on A (same seeds),
    the *independent* (Welch) interval with the baseline on B.  Returns, per metric, both
    differences, both interval half-widths and ``ratio`` = paired / independent half-width
    (below 1: pairing narrows the interval), plus ``replications`` and ``strategy``.
    """
    if isinstance(strategy, str):
        name = strategy
    elif isinstance(strategy, Strategy):
        name = "strategy"
    else:
        name = _label(strategy, 0)
    sc, named, _ = prepare(scenario, {name: strategy}, replications, seed, workers=workers,
                           ticks=ticks, customers=customers)
    seeds = replicate_seeds(seed, 2 * replications)
    a, b = seeds[:replications], seeds[replications:]
    specs = ([RunSpec((name, r), sc, s, named[name]) for r, s in enumerate(a)]
             + [RunSpec((BASELINE, r), sc, s) for r, s in enumerate(a)]
             + [RunSpec((_INDEPENDENT, r), sc, s) for r, s in enumerate(b)])
    res, _ = _execute(specs, executor, workers, progress, desc="cxsim paired vs independent")

    def values(label: str, metric: str) -> np.ndarray:
        return np.array([_num(res[(label, r)]["summary"].get(metric))
                         for r in range(replications)])

    out: dict[str, Any] = {"strategy": name, "replications": replications, "seed": seed}
    for metric in metrics:
        x, pb, ib = values(name, metric), values(BASELINE, metric), values(_INDEPENDENT, metric)
        d, lo, hi, *_ = paired_interval(x, pb)
        di, ilo, ihi, *_ = welch_interval(x, ib)
        wp, wi = (hi - lo) / 2, (ihi - ilo) / 2
        out[metric] = {"paired_diff": d, "paired_half_width": wp, "independent_diff": di,
                       "independent_half_width": wi,
                       "ratio": wp / wi if wi > 0 else math.nan}
    return out


def _num(v: Any) -> float:
    return math.nan if v is None else float(v)


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------

#: the metrics of the printed table: the headline figures, the intervention cost and the
#: customers' lifetime value
DEFAULT_PRINTED: tuple[str, ...] = (*HEADLINE[:-1], "intervention_cost", HEADLINE[-1], "clv")


def _fmt(metric: str, v: float, signed: bool = False) -> str:
    return format_value(metric, v, precise=True, signed=signed)


def _fmt_diff(metric: str, v: float) -> str:
    """A difference as text: of percentages in percentage points (``+0.12 pp``)."""
    text = _fmt(metric, v, True)
    m = BY_NAME.get(metric)
    if m is not None and m.fmt == "percent" and text.endswith("%"):
        return text[:-1] + " pp"
    return text


def _days(result: ComparisonResult) -> float | None:
    """The days each run of ``result`` simulated (None if unknown)."""
    if result.spec is not None:
        return result.spec.simulation.ticks * result.spec.simulation.tick_days
    if len(result.ticks) and "tick" in result.ticks:
        return float(result.ticks["tick"].max()) * result.tick_days
    return None


def _flag(r: pd.Series, column: str, fallback: bool) -> bool:
    """A row's boolean flag (a table read from an older folder may not have it)."""
    if column not in r or pd.isna(r[column]):
        return fallback
    v = r[column]
    return v.strip().lower() == "true" if isinstance(v, str) else bool(v)


def format_comparison(result: ComparisonResult, metrics: Sequence[str] = DEFAULT_PRINTED
                      ) -> str:
    """A compact text table: strategy, metric, mean, diff [95 % interval]; then ROI.

    A difference of percentages is in percentage points (``pp``); a figure that is the
    same in every replicate (``fixed``: an intervention's cost) shows no interval and no
    significance mark; a figure compounded beyond the simulated days (``extrapolated``:
    monthly churn of a shorter run) is marked † and explained below the table.
    """
    t = result.table
    both = "noise_diff_ci_low" in t.columns
    days = _days(result)
    head = (f"{result.scenario}: {len(result.strategies)} strategies incl. baseline × "
            f"{result.replications} paired replications (seed {result.seed}"
            + (f", {days:g} days" if days is not None else "") + "); "
            "diff = strategy − baseline, 95 % interval; differences of percentages in pp "
            "(percentage points)")
    lines = [head]
    if both:
        lines.append(f"  under the posterior of {result.posterior['source']}: replicate r "
                     "runs on posterior draw r (interval: noise and parameter uncertainty); "
                     "'noise only': the same at the point estimate")
    w = max(len(s) for s in result.strategies)
    lines.append((f"  {'strategy':<{w}}  {'metric':<17} {'mean':>14} {'diff':>13}  "
                  f"{'95 % interval':<31}" + (" noise only" if both else "")).rstrip())
    flagged: list[str] = []
    any_fixed = False
    for name in result.strategies:
        for metric in metrics:
            row = t[(t["strategy"] == name) & (t["metric"] == metric)]
            if row.empty:
                continue
            r = row.iloc[0]
            fixed = _flag(r, "fixed", r.get("se" if name == BASELINE else "diff_se") == 0)
            extra = _flag(r, "extrapolated", extrapolated(metric, days))
            if extra and metric not in flagged:
                flagged.append(metric)
            if name == BASELINE:
                diff, ci = "", ""
            elif fixed:
                any_fixed = True
                diff, ci = _fmt_diff(metric, r["diff"]), "none: fixed"
            else:
                diff = _fmt_diff(metric, r["diff"])
                ci = (f"[{_fmt_diff(metric, r['diff_ci_low'])}, "
                      f"{_fmt_diff(metric, r['diff_ci_high'])}]")
                if (math.isfinite(r["diff_ci_low"]) and
                        (r["diff_ci_low"] > 0 or r["diff_ci_high"] < 0)):
                    ci += " *"
            if both and name != BASELINE and not fixed:
                ci = (f"{ci:<31} [{_fmt_diff(metric, r['noise_diff_ci_low'])}, "
                      f"{_fmt_diff(metric, r['noise_diff_ci_high'])}]")
            label = metric + (" †" if extra else "")
            lines.append(f"  {name:<{w}}  {label:<17} {_fmt(metric, r['mean']):>14} "
                         f"{diff:>13}  {ci}".rstrip())
    notes = ["* interval excludes 0"]
    if any_fixed:
        notes.append("fixed: the difference is the same in every replicate (e.g. an "
                     "intervention's cost), so no interval and no test")
    lines.append("  (" + "; ".join(notes) + ")")
    for metric in flagged:
        period = EXTRAPOLATED.get(metric)
        span = f"{period:.3g}" if period is not None else "more"
        lines.append(f"  † {metric}: the churn rate of {days:g}-day runs compounded to "
                     f"{span} days, an extrapolation rather than a measurement "
                     "(comparison.csv: extrapolated)" if days is not None else
                     f"  † {metric}: compounded beyond the simulated days, an extrapolation "
                     "(comparison.csv: extrapolated)")
    hidden = [m for m in EXTRAPOLATED if m not in metrics and m not in flagged and
              "extrapolated" in t and t.loc[t["metric"] == m, "extrapolated"].astype(
                  str).str.lower().eq("true").any()]
    if hidden:
        lines.append(f"  (comparison.csv also flags {', '.join(hidden)} as extrapolated "
                     "from these short runs)")
    if not result.roi.empty:
        lines.append("")
        lines.append(f"  {'strategy':<{w}}  {'interv. cost':>13} {'incremental profit':>19}  "
                     f"{'95 % interval':<27} {'ROI':>7} {'NPV':>13} {'payback':>10}")
        for _, r in result.roi.iterrows():
            roi = f"{r['roi']:.2f}" if math.isfinite(r["roi"]) else "n/a"
            pb = ("never" if pd.isna(r["payback_tick"])
                  else f"day {r['payback_tick'] * result.tick_days:g}")
            lo, hi = r["incremental_profit_ci_low"], r["incremental_profit_ci_high"]
            row = t[(t["strategy"] == r["strategy"]) & (t["metric"] == "profit")]
            fixed = not row.empty and _flag(row.iloc[0], "fixed", row.iloc[0]["diff_se"] == 0)
            ci = ("none: fixed" if fixed else
                  f"[{_fmt('profit', lo, True)}, {_fmt('profit', hi, True)}]")
            npv = _fmt("profit", r["npv"], True) if "npv" in r else "n/a"
            noise = ""
            if both and "noise_incremental_profit_ci_low" in r:
                lo = _fmt("profit", r["noise_incremental_profit_ci_low"], True)
                hi = _fmt("profit", r["noise_incremental_profit_ci_high"], True)
                noise = f"  noise only [{lo}, {hi}]"
            lines.append(f"  {r['strategy']:<{w}}  {_fmt('profit', r['intervention_cost']):>13} "
                         f"{_fmt('profit', r['incremental_profit'], True):>19}  {ci:<27} "
                         f"{roi:>7} {npv:>13} {pb:>10}{noise}".rstrip())
        lines.append("  (ROI = incremental profit, net of the intervention cost, per unit "
                     "of intervention cost; NPV = incremental profit discounted at "
                     f"{result.discount_rate:.1%} a year)")
    lines += _activations_lines(result, w)
    return "\n".join(lines)


def _activations_lines(result: ComparisonResult, w: int) -> list[str]:
    """Activations of triggered interventions per replicate, by strategy (none: no lines)."""
    runs = result.runs
    if ACTIVATIONS not in runs or not (runs[ACTIVATIONS] > 0).any():
        return []
    lines = ["", f"  {'strategy':<{w}}  trigger activations per replicate: mean (least-most)"]
    for name in result.strategies:
        n = runs.loc[runs["strategy"] == name, ACTIVATIONS]
        if name != BASELINE and len(n) and n.max() > 0:
            lines.append(f"  {name:<{w}}  {n.mean():.3g} ({n.min():g}-{n.max():g})")
    return lines


#: the files of a finished comparison (with ``runs.csv``; ``fmt="parquet"`` writes
#: ``runs.parquet`` instead)
OUTPUT_FILES = ("comparison.csv", "runs.csv", "ticks.csv", "roi.csv", "compare.json")


def settings(result: ComparisonResult) -> dict:
    """What ``compare.json`` holds: the comparison's settings and how it ran."""
    from . import __version__
    from .io import RESULTS_FORMAT

    spec = result.spec
    ticks = (spec.simulation.ticks if spec is not None
             else int(result.ticks["tick"].max()) if len(result.ticks) else 0)
    return {"scenario": result.scenario,
            "scenario_hash": spec.content_hash() if spec is not None else None,
            "strategies": list(result.strategies), "starts": result.starts,
            "replications": result.replications, "seed": result.seed, "ticks": ticks,
            "tick_days": result.tick_days,
            "market": spec.market.size if spec is not None else None,
            "currency": spec.economics.currency if spec is not None else None,
            "discount_rate": result.discount_rate, "workers": result.workers,
            "executor": result.executor, "runs": len(result.runs),
            "cxsim_version": __version__, "format": RESULTS_FORMAT,
            "wall_seconds": result.wall_seconds, "posterior": result.posterior,
            "overrides": dict(result.overrides or {})}


def write_comparison(result: ComparisonResult, out_dir: Path | str, fmt: str = "csv"
                     ) -> list[Path]:
    """Write a comparison's tables and ``compare.json``, which :func:`read_comparison` reads.

    ``comparison.csv``, ``runs.csv`` (or ``runs.parquet``), ``ticks.csv``, ``roi.csv`` and
    ``compare.json`` (the settings, :func:`settings`).  The folder is written whole into a
    temporary sibling and swapped in (:class:`cxsim.io.Stage`): ``out_dir`` afterwards holds
    this comparison and nothing of an earlier one, and a failure (a full disk) leaves it as
    it was and raises :class:`~cxsim.io.FolderError`.  ``out_dir`` must be new, empty or
    hold an earlier comparison (and figures); anything else is refused before writing.
    ``fmt="parquet"`` writes the runs table as Parquet and needs pyarrow.  Returns the
    paths written.
    """
    _check_fmt(fmt)
    check_folder(out_dir, resume=False)  # never over a comparison in progress
    with Stage(out_dir, "compare") as stage, stage.writing() as folder:
        names = write_files(result, folder, fmt)
        stage.commit()
    return [Path(out_dir) / name for name in names]


def _check_fmt(fmt: str) -> None:
    if fmt not in ("csv", "parquet"):
        raise InputError(Arg("fmt"), f" must be 'csv' or 'parquet', got {fmt!r}")
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise InputError(Arg("fmt", "parquet"), " needs pyarrow (pip install "
                             "pyarrow)") from None


def write_files(result: ComparisonResult, folder: Path, fmt: str = "csv") -> list[str]:
    """Write a comparison's files into ``folder`` (one by one); return their names.

    :func:`write_comparison` calls it on a staged folder; the command line also adds its
    figures there before swapping the folder in.
    """
    texts = {"comparison.csv": result.table.to_csv(index=False),
             "ticks.csv": result.ticks.to_csv(index=False),
             "roi.csv": result.roi.to_csv(index=False)}
    if fmt == "csv":
        texts["runs.csv"] = result.runs.to_csv(index=False)
    written = []
    for name in ("comparison.csv", "runs.csv", "ticks.csv", "roi.csv"):
        if name in texts:
            write_atomic(folder / name, texts[name])
            written.append(name)
    if fmt == "parquet":
        with atomic_path(folder / "runs.parquet") as tmp:
            result.runs.to_parquet(tmp, index=False)
        written.insert(1, "runs.parquet")
    write_atomic(folder / "compare.json", json.dumps(settings(result), indent=2) + "\n")
    written.append("compare.json")
    return written


def _check_settings(meta: dict, path: Path) -> None:
    """Refuse a ``compare.json`` whose entries are missing or of the wrong type."""
    def need(ok: bool, what: str) -> None:
        if not ok:
            raise FolderError(f"{shown(path)}: {what} (the file is damaged)")

    def whole(v: Any, least: int = 0) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= least

    def number(v: Any) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)

    for key in ("scenario", "strategies", "starts", "replications", "seed", "ticks",
                "tick_days"):
        need(key in meta, f"lacks '{key}'")
    need(isinstance(meta["scenario"], str), "scenario is not a name")
    names = meta["strategies"]
    need(isinstance(names, list) and 2 <= len(names) <= MAX_RUNS // 2
         and all(isinstance(n, str) for n in names) and len(set(names)) == len(names)
         and BASELINE in names, "strategies is not a list of names with the baseline")
    need(isinstance(meta["starts"], dict) and all(
        k in names and isinstance(v, list) and all(whole(t) for t in v)
        for k, v in meta["starts"].items()), "starts is not a table of start ticks")
    need(whole(meta["replications"], 2) and meta["replications"] <= MAX_REPLICATIONS,
         f"replications is not a count of 2..{MAX_REPLICATIONS:,}")
    need(whole(meta["seed"]), "seed is not a seed")
    need(whole(meta["ticks"]) and meta["ticks"] <= 10_000_000, "ticks is not a count")
    need(number(meta["tick_days"]) and meta["tick_days"] > 0, "tick_days is not positive")
    need(meta.get("discount_rate") is None or number(meta["discount_rate"]),
         "discount_rate is not a number")
    need(meta.get("workers") is None or whole(meta["workers"]), "workers is not a count")
    need(meta.get("executor") is None or isinstance(meta["executor"], str),
         "executor is not a name")
    need(meta.get("wall_seconds") is None or number(meta["wall_seconds"]),
         "wall_seconds is not a number")
    need(meta.get("overrides") is None or (isinstance(meta["overrides"], dict) and all(
        isinstance(k, str) for k in meta["overrides"])), "overrides is not a table of values")


def read_comparison(out_dir: Path | str) -> ComparisonResult:
    """Rebuild a :class:`ComparisonResult` from a ``cxsim compare`` results folder.

    Needs ``compare.json`` (this results format), ``comparison.csv``, ``runs.csv`` (or
    ``runs.parquet``), ``ticks.csv`` and ``roi.csv``; raises :class:`ValueError` (one line)
    naming what is missing or of another format.  Every file is checked before use: a
    regular file within its size cap, ``compare.json``'s entries and types, each table's
    columns, row counts within what the settings allow (strategies × replications runs),
    strategies the settings name, no run or tick twice (:class:`~cxsim.io.FolderError`).
    """
    from .io import RESULTS_FORMAT

    out = Path(out_dir)
    path = out / "compare.json"
    if os.path.lexists(out / PROGRESS):
        raise ValueError(f"{out}: a comparison there is not finished (interrupted, or still "
                         f"running); continue it with cxsim compare --resume --out {out}")
    if not os.path.lexists(path):
        raise ValueError(f"{out}: no compare.json")
    meta = read_json(path)
    if not isinstance(meta, dict) or meta.get("format") != RESULTS_FORMAT:
        found = meta.get("format", "none") if isinstance(meta, dict) else "none"
        raise ValueError(f"{out}: results from an older cxsim format (format {found}, "
                         f"expected {RESULTS_FORMAT}); run cxsim compare again")
    _check_settings(meta, path)
    names = list(meta["strategies"])
    reps = int(meta["replications"])
    n_runs = len(names) * reps
    limits = {"comparison": len(names) * (len(METRICS) + len(feature_metrics())),
              "ticks": n_runs * (meta["ticks"] + 1), "roi": len(names), "runs": n_runs}
    tables = {}
    for name in ("comparison", "ticks", "roi"):
        p = out / f"{name}.csv"
        if not os.path.lexists(p):
            raise ValueError(f"{out}: {name}.csv is missing")
        tables[name] = read_table(p, limits[name], ("strategy", "metric", "unit",
                                                    "diff_unit"))
    if os.path.lexists(out / "runs.parquet"):
        tables["runs"] = read_table(out / "runs.parquet", n_runs)
    elif os.path.lexists(out / "runs.csv"):
        tables["runs"] = read_table(out / "runs.csv", n_runs, ("strategy", "scenario",
                                                               "engine"))
    else:
        raise ValueError(f"{out}: runs.csv is missing")
    _check_tables(tables, out, names, reps)
    try:
        tables["roi"]["payback_tick"] = tables["roi"]["payback_tick"].astype("Int64")
    except (TypeError, ValueError):
        raise FolderError(f"{shown(out / 'roi.csv')}: payback_tick holds something other "
                          "than whole numbers") from None
    return ComparisonResult(table=tables["comparison"], runs=tables["runs"],
                            ticks=tables["ticks"], roi=tables["roi"],
                            starts={k: list(v) for k, v in meta["starts"].items()},
                            scenario=meta["scenario"], replications=reps,
                            seed=meta["seed"], strategies=tuple(names),
                            tick_days=float(meta["tick_days"]),
                            discount_rate=float(meta.get("discount_rate") or 0.0),
                            workers=meta.get("workers"), executor=meta.get("executor"),
                            wall_seconds=meta.get("wall_seconds"),
                            overrides=meta.get("overrides"))


#: columns of ``roi.csv`` (:func:`roi_table`)
ROI_COLUMNS = ("strategy", "intervention_cost", "incremental_profit",
               "incremental_profit_ci_low", "incremental_profit_ci_high", "roi", "npv",
               "npv_ci_low", "npv_ci_high", "discounted_roi", "payback_tick", "first_start",
               "n")


def _check_tables(tables: dict[str, pd.DataFrame], out: Path, names: list[str],
                  reps: int) -> None:
    """Columns, types, strategies and keys of a comparison's tables read from ``out``."""
    numbers = [*TABLE_COLUMNS[2:], "n", "se", "diff_n", "diff_se"]
    check_columns(tables["comparison"], out / "comparison.csv",
                  needed=TABLE_COLUMNS, numeric=[*numbers, "scale"],
                  text=("strategy", "metric", "unit", "diff_unit"))
    check_columns(tables["roi"], out / "roi.csv", needed=ROI_COLUMNS,
                  numeric=ROI_COLUMNS[1:], text=("strategy",))
    runs_name = "runs.parquet" if os.path.lexists(out / "runs.parquet") else "runs.csv"
    runs = tables["runs"]
    check_columns(runs, out / runs_name, needed=("strategy", "replicate", "seed"),
                  numeric=["replicate", "seed", *(m for m in METRICS if m in runs)],
                  text=("strategy",))
    ticks = tables["ticks"]
    check_columns(ticks, out / "ticks.csv", needed=("strategy", "replicate", "tick"),
                  numeric=[c for c in ticks.columns if c != "strategy"], text=("strategy",))
    for file, table, keys in (("comparison.csv", tables["comparison"], ["strategy", "metric"]),
                              ("roi.csv", tables["roi"], ["strategy"]),
                              (runs_name, runs, ["strategy", "replicate"]),
                              ("ticks.csv", ticks, ["strategy", "replicate", "tick"])):
        where = shown(out / file)
        unknown = set(table["strategy"].dropna()) - set(names)
        if unknown or table["strategy"].isna().any():
            which = sorted(map(str, unknown))[0] if unknown else ""
            raise FolderError(f"{where}: strategy '{which}' is not one of compare.json's "
                              "strategies")
        if table.duplicated(subset=keys).any():
            raise FolderError(f"{where}: a row ({', '.join(keys)}) appears twice")
        if "replicate" in keys:
            r = table["replicate"].to_numpy(dtype=float)
            if len(r) and (np.isnan(r).any() or (r != np.floor(r)).any() or r.min() < 0
                           or r.max() >= reps):
                raise FolderError(f"{where}: replicate must be whole numbers in 0..{reps - 1}")


__all__ = [
    "EXTRAPOLATED", "EXTRA_COLUMNS", "JOURNAL", "METRICS", "PROGRESS", "TABLE_COLUMNS",
    "ComparisonAborted", "ComparisonInterrupted", "ComparisonResult", "ComparisonStopped",
    "check", "check_folder", "compare", "comparison_table", "discount_factors",
    "extrapolated", "format_comparison", "mean_interval", "paired_interval",
    "paired_vs_independent", "payback_tick", "prepare", "read_comparison", "refusal",
    "replicate_seeds", "roi_table", "settings", "stored_settings", "welch_interval",
    "write_comparison", "write_files",
]
