"""Compare strategies against the baseline with paired replications.

``compare(scenario, strategies, replications, seed)`` runs the baseline and every strategy
``replications`` times.  Replicate *r* of every strategy and of the baseline uses the same
seed (common random numbers): since every random draw in cxsim is a pure function of (seed,
stream, agent, tick, slot), a strategy that changes one thing leaves the other draws alone,
and the paired difference *strategy − baseline* is far less noisy than the difference of two
independent samples (:func:`paired_vs_independent` measures by how much).

Each run is the plain function :func:`cxsim.runner.run` mapped over an executor with the
``concurrent.futures`` interface (a process pool by default, in-process with ``workers=1``,
or e.g. Dask's ``client.get_executor()``).  Each run depends only on its seed, so the results
do not depend on the executor or the number of workers.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Executor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .executors import process_pool, stop_now
from .io import atomic_path, write_atomic
from .runner import resize, run
from .scenario import Scenario, ScenarioError, Strategy
from .strategies import BASELINE, resolve, starts

#: summary metrics compared between strategies (contract names, then reporting extras)
METRICS: tuple[str, ...] = (
    "active", "new", "churned", "churn_rate", "retention", "nps", "csat", "ces",
    "satisfaction", "fcr", "service_level", "asa", "abandonment", "occupancy", "engagement",
    "attrition", "partner_on_time", "revenue", "cost", "profit", "monthly_churn",
    "annual_retention", "intervention_cost",
)

#: per-tick columns kept from every run (for bands and payback)
TICK_METRICS: tuple[str, ...] = (
    "active", "new", "churned", "churn_rate", "retention", "nps", "nps_respondents", "csat",
    "ces", "satisfaction", "fcr", "service_level", "asa", "abandonment", "occupancy",
    "partner_on_time", "revenue", "cost", "profit", "intervention_cost",
)

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
    interval, ROI and payback tick.  ``starts``: each strategy's intervention start ticks.
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


def _run_one(task: tuple) -> tuple:
    """Run one (scenario, strategy, seed) task; return its key, summary and per-tick metrics.

    A plain top-level function so process pools (and Dask) can pickle it.
    """
    scenario, name, strategy, replicate, seed = task
    result = run(scenario, seed, strategy=strategy)
    m = result.metrics
    cols = ["tick", *[c for c in TICK_METRICS if c in m.columns]]
    return name, replicate, seed, dict(result.summary), m[cols].reset_index(drop=True)


def _execute(tasks: list[tuple], executor: Executor | None, workers: int | None,
             progress: bool, desc: str = "cxsim compare") -> dict[tuple[str, int], tuple]:
    """Map :func:`_run_one` over ``tasks``; results keyed by (strategy name, replicate)."""
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(tasks), desc=desc, unit="run")
    out: dict[tuple[str, int], tuple] = {}
    try:
        if executor is None and (workers == 1 or len(tasks) <= 1):
            for task in tasks:
                res = _run_one(task)
                out[(res[0], res[1])] = res
                if bar is not None:
                    bar.update()
            return out
        own = executor is None
        if own:
            executor = process_pool(min(workers or os.cpu_count() or 1, len(tasks)))
        futures = [executor.submit(_run_one, task) for task in tasks]
        try:
            for fut in as_completed(futures):
                res = fut.result()
                out[(res[0], res[1])] = res
                if bar is not None:
                    bar.update()
        except BaseException:
            for fut in futures:
                fut.cancel()
            if own:
                stop_now(executor)
            raise
        finally:
            if own:
                executor.shutdown(wait=True, cancel_futures=True)
        return out
    finally:
        if bar is not None:
            bar.close()


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


def _check_count(name: str, value: Any, least: int, why: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if value < least:
        raise ValueError(f"{name} must be at least {least}{why}, got {value}")
    return int(value)


def prepare(scenario: Scenario, strategies: Any = None, replications: int = 10, seed: int = 0,
            *, workers: int | None = None, ticks: int | None = None,
            customers: int | None = None) -> tuple[Scenario, dict[str, Any],
                                                   dict[str, list[int]]]:
    """Validate a comparison before running anything.

    Returns the scenario as it will run (resized, validated), ``{name: strategy}`` with the
    baseline first, and each strategy's start ticks.  Raises :class:`ValueError` for bad
    counts and :class:`~cxsim.ScenarioError` (one line) for unknown strategies or
    interventions at or beyond the horizon.
    """
    _check_count("replications", replications, 2, " (intervals need two replications)")
    _check_count("seed", seed, 0)
    if workers is not None:
        _check_count("workers", workers, 1)
    if ticks is not None:
        _check_count("ticks", ticks, 1)
    if customers is not None:
        _check_count("customers", customers, 1)
    sc = resize(scenario, customers=customers)
    if ticks is not None:
        sc = dataclasses.replace(sc, simulation=dataclasses.replace(sc.simulation,
                                                                    ticks=int(ticks)))
    sc = sc.validated()
    named = {BASELINE: None, **_normalise(sc, strategies)}
    for spec in named.values():
        resolve(sc, spec)  # unknown names, horizon: ScenarioError with one line
    start_ticks = {name: starts(sc, spec) for name, spec in named.items()}
    return sc, named, start_ticks


def replicate_seeds(seed: int, replications: int) -> list[int]:
    """The integer seeds of replicates ``0 .. replications-1`` (shared by every strategy)."""
    return [int(c.generate_state(1)[0])
            for c in np.random.SeedSequence(seed).spawn(replications)]


def compare(scenario: Scenario, strategies: Any = None, replications: int = 10, seed: int = 0,
            executor: Executor | None = None, *, workers: int | None = None,
            ticks: int | None = None, customers: int | None = None,
            progress: bool = False) -> ComparisonResult:
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

    """
    sc, named, start_ticks = prepare(scenario, strategies, replications, seed,
                                     workers=workers, ticks=ticks, customers=customers)
    seeds = replicate_seeds(seed, replications)
    tasks = [(sc, name, spec, r, s) for name, spec in named.items()
             for r, s in enumerate(seeds)]
    results = _execute(tasks, executor, workers, progress)
    order = list(named)
    return _assemble(results, order, start_ticks, sc, replications, seed)


def _assemble(results: dict[tuple[str, int], tuple], order: list[str],
              start_ticks: dict[str, list[int]], sc: Scenario, replications: int,
              seed: int) -> ComparisonResult:
    keys = sorted(results, key=lambda k: (order.index(k[0]), k[1]))
    rows, frames = [], []
    for key in keys:
        name, r, s, summary, metrics = results[key]
        row = {"strategy": name, "replicate": r, "seed": s}
        row.update({k: v for k, v in summary.items() if k != "scenario"})
        rows.append(row)
        f = metrics.copy()
        f.insert(0, "replicate", r)
        f.insert(0, "strategy", name)
        frames.append(f)
    runs = pd.DataFrame(rows)
    for m in METRICS:
        if m not in runs:
            runs[m] = np.nan
    tick_table = pd.concat(frames, ignore_index=True)
    table = comparison_table(runs, order)
    roi = roi_table(runs, tick_table, order, start_ticks)
    return ComparisonResult(table=table, runs=runs, ticks=tick_table, roi=roi,
                            starts=dict(start_ticks), scenario=sc.name,
                            replications=replications, seed=seed, strategies=tuple(order),
                            tick_days=sc.simulation.tick_days, spec=sc)


def _metric_matrix(runs: pd.DataFrame, name: str, metric: str) -> np.ndarray:
    """Values of ``metric`` for strategy ``name``, ordered by replicate (NaN for None)."""
    sub = runs[runs["strategy"] == name].sort_values("replicate")
    return pd.to_numeric(sub[metric], errors="coerce").to_numpy(dtype=float)


def comparison_table(runs: pd.DataFrame, order: Sequence[str] | None = None,
                     metrics: Sequence[str] = METRICS, baseline: str = BASELINE
                     ) -> pd.DataFrame:
    """The comparison table from a runs table (one row per strategy × replicate).

    Means and 95 % t-intervals over replicates; ``diff`` is the mean paired difference
    strategy − baseline (same replicate), with the t-interval of the paired differences.
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
            rows.append({"strategy": name, "metric": metric, "mean": mean, "ci_low": lo,
                         "ci_high": hi, "diff": d, "diff_ci_low": dlo, "diff_ci_high": dhi,
                         "n": n, "se": se, "diff_n": dn, "diff_se": dse})
    return pd.DataFrame(rows, columns=[*TABLE_COLUMNS, "n", "se", "diff_n", "diff_se"])


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


def roi_table(runs: pd.DataFrame, tick_table: pd.DataFrame, order: Sequence[str],
              start_ticks: Mapping[str, Sequence[int]], baseline: str = BASELINE
              ) -> pd.DataFrame:
    """Per strategy: intervention cost, incremental profit (net of it), ROI and payback.

    ``incremental_profit`` is the mean paired Δ total profit (profit already includes the
    intervention cost); ``roi = incremental_profit / intervention_cost`` (NaN for no cost);
    ``payback_tick`` is the first tick at or after the first intervention start where the
    mean cumulative paired Δprofit becomes ≥ 0 and stays so to the horizon (None if never).
    """
    rows = []
    for name in order:
        if name == baseline:
            continue
        cost, *_ = mean_interval(_metric_matrix(runs, name, "intervention_cost"))
        d, lo, hi, se, n = paired_interval(_metric_matrix(runs, name, "profit"),
                                           _metric_matrix(runs, baseline, "profit"))
        roi = d / cost if math.isfinite(cost) and cost > 0 else math.nan
        cum = cumulative_delta(tick_table, name).mean(axis=1)
        first = min(start_ticks.get(name) or [int(cum.index.min())])
        pb = payback_tick(cum.index.to_numpy(), cum.to_numpy(), first)
        rows.append({"strategy": name, "intervention_cost": cost, "incremental_profit": d,
                     "incremental_profit_ci_low": lo, "incremental_profit_ci_high": hi,
                     "roi": roi, "payback_tick": pb, "first_start": first, "n": n})
    cols = ["strategy", "intervention_cost", "incremental_profit", "incremental_profit_ci_low",
            "incremental_profit_ci_high", "roi", "payback_tick", "first_start", "n"]
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
    tasks = ([(sc, name, named[name], r, s) for r, s in enumerate(a)]
             + [(sc, BASELINE, None, r, s) for r, s in enumerate(a)]
             + [(sc, _INDEPENDENT, None, r, s) for r, s in enumerate(b)])
    res = _execute(tasks, executor, workers, progress, desc="cxsim paired vs independent")

    def values(label: str, metric: str) -> np.ndarray:
        return np.array([_num(res[(label, r)][3].get(metric)) for r in range(replications)])

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

#: how each metric is printed: (format, scale)
_FORMATS: dict[str, tuple[str, float]] = {
    "active": ("{:,.0f}", 1), "new": ("{:,.0f}", 1), "churned": ("{:,.0f}", 1),
    "churn_rate": ("{:.4f}%", 100), "retention": ("{:.2f}%", 100), "nps": ("{:+.2f}", 1),
    "csat": ("{:.3f}", 1), "ces": ("{:.3f}", 1), "satisfaction": ("{:.4f}", 1),
    "fcr": ("{:.2f}%", 100), "service_level": ("{:.2f}%", 100), "asa": ("{:.1f}s", 1),
    "abandonment": ("{:.2f}%", 100), "occupancy": ("{:.2f}%", 100),
    "engagement": ("{:.4f}", 1), "attrition": ("{:.3f}", 1),
    "partner_on_time": ("{:.2f}%", 100), "revenue": ("{:,.0f}", 1), "cost": ("{:,.0f}", 1),
    "profit": ("{:,.0f}", 1), "monthly_churn": ("{:.3f}%", 100),
    "annual_retention": ("{:.2f}%", 100), "intervention_cost": ("{:,.0f}", 1),
}

DEFAULT_PRINTED = ("active", "churned", "monthly_churn", "nps", "csat", "service_level",
                   "revenue", "intervention_cost", "profit")


def _fmt(metric: str, v: float, signed: bool = False) -> str:
    if v is None or not math.isfinite(v):
        return "n/a"
    fmt, scale = _FORMATS.get(metric, ("{:.4g}", 1))
    if signed:
        if fmt == "{:,.0f}" and 0 < abs(v * scale) < 10:
            fmt = "{:,.1f}"  # a difference of -0.3 customers is not "-0"
        if not fmt.startswith("{:+"):
            fmt = "{:+" + fmt[2:]
    return fmt.format(v * scale)


def format_comparison(result: ComparisonResult, metrics: Sequence[str] = DEFAULT_PRINTED
                      ) -> str:
    """A compact text table: strategy, metric, mean, diff [95 % interval]; then ROI."""
    t = result.table
    head = (f"{result.scenario}: {len(result.strategies)} strategies incl. baseline × "
            f"{result.replications} paired replications (seed {result.seed}); "
            f"diff = strategy − baseline, 95 % interval")
    lines = [head]
    w = max(len(s) for s in result.strategies)
    lines.append(f"  {'strategy':<{w}}  {'metric':<17} {'mean':>14} {'diff':>13}  "
                 f"{'95 % interval':<29}")
    for name in result.strategies:
        for metric in metrics:
            row = t[(t["strategy"] == name) & (t["metric"] == metric)]
            if row.empty:
                continue
            r = row.iloc[0]
            if name == BASELINE:
                diff, ci = "", ""
            else:
                diff = _fmt(metric, r["diff"], signed=True)
                ci = (f"[{_fmt(metric, r['diff_ci_low'], True)}, "
                      f"{_fmt(metric, r['diff_ci_high'], True)}]")
                if (math.isfinite(r["diff_ci_low"]) and
                        (r["diff_ci_low"] > 0 or r["diff_ci_high"] < 0)):
                    ci += " *"
            lines.append(f"  {name:<{w}}  {metric:<17} {_fmt(metric, r['mean']):>14} "
                         f"{diff:>13}  {ci}")
    if not result.roi.empty:
        lines.append("")
        lines.append(f"  {'strategy':<{w}}  {'interv. cost':>13} {'incremental profit':>19}  "
                     f"{'95 % interval':<27} {'ROI':>7} {'payback':>10}")
        for _, r in result.roi.iterrows():
            roi = f"{r['roi']:.2f}" if math.isfinite(r["roi"]) else "n/a"
            pb = ("never" if pd.isna(r["payback_tick"])
                  else f"day {r['payback_tick'] * result.tick_days:g}")
            ci = (f"[{_fmt('profit', r['incremental_profit_ci_low'], True)}, "
                  f"{_fmt('profit', r['incremental_profit_ci_high'], True)}]")
            lines.append(f"  {r['strategy']:<{w}}  {_fmt('profit', r['intervention_cost']):>13} "
                         f"{_fmt('profit', r['incremental_profit'], True):>19}  {ci:<27} "
                         f"{roi:>7} {pb:>10}")
        lines.append("  (* interval excludes 0; ROI = incremental profit, net of the "
                     "intervention cost, per unit of intervention cost)")
    return "\n".join(lines)


OUTPUT_FILES = ("comparison.csv", "runs.csv", "ticks.csv", "roi.csv")


def write_comparison(result: ComparisonResult, out_dir: Path | str, fmt: str = "csv"
                     ) -> list[Path]:
    """Write ``comparison.csv``, ``runs.csv`` (or ``runs.parquet``), ``ticks.csv``, ``roi.csv``.

    Every file is written atomically (temporary file, then ``os.replace``).  ``fmt="parquet"``
    writes the runs table as Parquet and needs pyarrow.  Returns the paths written.
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}")
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ValueError("fmt='parquet' needs pyarrow (pip install pyarrow)") from None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    texts = {"comparison.csv": result.table.to_csv(index=False),
             "ticks.csv": result.ticks.to_csv(index=False),
             "roi.csv": result.roi.to_csv(index=False)}
    if fmt == "csv":
        texts["runs.csv"] = result.runs.to_csv(index=False)
    written = []
    for name in ("comparison.csv", "runs.csv", "ticks.csv", "roi.csv"):
        if name in texts:
            write_atomic(out / name, texts[name])
            written.append(out / name)
    if fmt == "parquet":
        with atomic_path(out / "runs.parquet") as tmp:
            result.runs.to_parquet(tmp, index=False)
        written.insert(1, out / "runs.parquet")
    return written


def read_comparison(out_dir: Path | str) -> ComparisonResult:
    """Rebuild a :class:`ComparisonResult` from a ``cxsim compare`` results folder.

    Needs ``compare.json`` (this results format), ``comparison.csv``, ``runs.csv`` (or
    ``runs.parquet``), ``ticks.csv`` and ``roi.csv``; raises :class:`ValueError` (one line)
    naming what is missing or of another format.
    """
    from .io import RESULTS_FORMAT

    out = Path(out_dir)
    try:
        meta = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{out}: no compare.json") from None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{out / 'compare.json'}: cannot be read ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != RESULTS_FORMAT:
        found = meta.get("format", "none") if isinstance(meta, dict) else "none"
        raise ValueError(f"{out}: results from an older cxsim format (format {found}, "
                         f"expected {RESULTS_FORMAT}); run cxsim compare again")
    tables = {}
    for name in ("comparison", "ticks", "roi"):
        path = out / f"{name}.csv"
        if not path.exists():
            raise ValueError(f"{out}: {name}.csv is missing")
        tables[name] = pd.read_csv(path)
    if (out / "runs.parquet").exists():
        tables["runs"] = pd.read_parquet(out / "runs.parquet")
    elif (out / "runs.csv").exists():
        tables["runs"] = pd.read_csv(out / "runs.csv")
    else:
        raise ValueError(f"{out}: runs.csv is missing")
    tables["roi"]["payback_tick"] = tables["roi"]["payback_tick"].astype("Int64")
    return ComparisonResult(table=tables["comparison"], runs=tables["runs"],
                            ticks=tables["ticks"], roi=tables["roi"],
                            starts={k: list(v) for k, v in meta["starts"].items()},
                            scenario=meta["scenario"], replications=meta["replications"],
                            seed=meta["seed"], strategies=tuple(meta["strategies"]),
                            tick_days=meta["tick_days"])


__all__ = [
    "ComparisonResult", "METRICS", "TABLE_COLUMNS", "compare", "comparison_table",
    "format_comparison", "mean_interval", "paired_interval", "paired_vs_independent",
    "payback_tick", "prepare", "read_comparison", "replicate_seeds", "roi_table",
    "welch_interval",
    "write_comparison",
]
