"""Turning per-tick metrics into the key figures of a run, by the rules the vocabulary declares.

:func:`summarise` computes every run figure of ``summary.json`` and :func:`aggregate` one
metric over any window of days, both from each metric's :class:`~cxsim.vocabulary.Aggregation`
(flows summed, stocks final or averaged, ratios pooled over their weight or as a ratio of
sums).  Days are 1-based and inclusive; tick *t* covers days ``((t-1)·tick_days,
t·tick_days]``, so day *d* falls in tick ``ceil(d / tick_days)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from .scenario import MONTH_DAYS, Scenario
from .vocabulary import (
    BY_NAME,
    METRICS,
    OPTIONAL_SUMMARY,
    PART_COMPUTED,
    PART_KINDS,
    PART_METRICS,
    SUMMARY_METRICS,
    Metric,
    feature_metrics,
)

#: how each summarised metric aggregates over a run, in words (from the vocabulary)
AGGREGATION: dict[str, str] = {m.name: m.aggregation.describe() for m in METRICS
                               if m.in_summary}


def _weighted(df: pd.DataFrame, col: str, weight: str) -> float:
    """Σ value·weight / Σ weight over the rows (NaN values with zero weight add nothing)."""
    w = df[weight]
    total = w.sum()
    return float((df[col] * w).sum() / total) if total > 0 else float("nan")


def _finite_mean(s: pd.Series) -> float:
    s = s.replace([np.inf, -np.inf], np.nan).dropna()
    return float(s.mean()) if len(s) else float("nan")


def _active_start(metrics: pd.DataFrame, initial_customers: int | None) -> pd.Series:
    """Active customers at the start of each tick: the previous tick's ``active``."""
    start = metrics["active"].shift(1)
    if initial_customers is not None:
        start = start.fillna(initial_customers)
    return start


def _column(metrics: pd.DataFrame, name: str, initial_customers: int | None) -> pd.Series:
    if name == "active_start":
        return _active_start(metrics, initial_customers)
    return metrics[name]


def _rule_value(m: Metric, rows: pd.DataFrame, start: pd.Series | None) -> float:
    """One metric's figure over ``rows`` (a run or a window) by its declared rule."""
    agg = m.aggregation
    if agg.rule == "sum":
        return rows[m.name].sum(min_count=1)
    if agg.rule == "final":
        return rows[m.name].iloc[-1]
    if agg.rule == "mean":
        if agg.measured:
            return _finite_mean(rows[m.name][rows[agg.measured] > 0])
        return _finite_mean(rows[m.name])
    if agg.rule == "weighted":
        return _weighted(rows, m.name, agg.weight)
    if agg.rule == "ratio":
        num = rows[agg.numerator].sum()
        den = start.sum() if agg.denominator == "active_start" else rows[agg.denominator].sum()
        return float(num / max(den, 1))
    raise ValueError(f"metric {m.name} is derived from {agg.source}; aggregate that")


def _window_ticks(m: Metric, ticks: pd.Series, tick_days: float) -> pd.Series:
    """Rows of a run summary's trailing window (all rows without one)."""
    days = m.aggregation.window_days
    if not days:
        return pd.Series(True, index=ticks.index)
    return ticks > ticks.max() - max(1, round(days / tick_days))


def _derived(name: str, figures: dict, tick_days: float) -> float:
    if name == "monthly_churn":
        return 1.0 - (1.0 - figures["churn_rate"]) ** (MONTH_DAYS / tick_days)
    if name == "annual_retention":
        return (1.0 - figures["monthly_churn"]) ** 12
    raise ValueError(f"no rule derives metric {name!r}")


def _plain(m: Metric, value: float):
    if m.integer and value is not None and not (isinstance(value, float) and
                                                 math.isnan(value)):
        return int(value)
    return float(value)


def summarise(metrics: pd.DataFrame, scenario: Scenario, initial_customers: int) -> dict:
    """Return the key figures of a run as a flat dict (JSON-ready, NaN as None).

    First the run's descriptors (``scenario, ticks, days, market, initial_customers``), then
    every run figure of the vocabulary (:data:`~cxsim.vocabulary.SUMMARY_METRICS`), each by
    its declared aggregation (:data:`AGGREGATION` says it in words).
    """
    if metrics.empty:
        return {"ticks": 0}
    dt = scenario.simulation.tick_days
    last = metrics.iloc[-1]
    start = _active_start(metrics, initial_customers)
    out: dict = {
        "scenario": scenario.name,
        "ticks": int(last["tick"]),
        "days": float(last["tick"] * dt),
        "market": int(last["active"] + last["prospects"] + last["lost"]),
        "initial_customers": int(initial_customers),
    }
    figures: dict[str, float] = {}
    for name in SUMMARY_METRICS:
        m = BY_NAME[name]
        if m.aggregation.rule == "derived":
            value = _derived(name, figures, dt)
        elif m.aggregation.rule != "ratio" and name not in metrics.columns:
            # a table without it (an older metrics.csv)
            value = math.nan
        else:
            rows = metrics[_window_ticks(m, metrics["tick"], dt)]
            value = _rule_value(m, rows, start)
        figures[name] = value
        out[name] = _plain(m, value)
    for name in OPTIONAL_SUMMARY:  # a feature's figures, when its columns are there
        if name in metrics.columns:
            out[name] = _plain(BY_NAME[name], _rule_value(BY_NAME[name], metrics, start))
    # issue 17: the run figures of optional features, when the run wrote their columns
    for m in feature_metrics(metrics.columns):
        if m.in_summary:
            out[m.name] = _plain(m, _rule_value(m, metrics[_window_ticks(m, metrics["tick"], dt)],
                                                start))
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in out.items()}


def aggregate(metrics: pd.DataFrame, metric: str, day_from: float | None = None,
              day_to: float | None = None, *, tick_days: float = 1.0,
              initial_customers: int | None = None) -> float:
    """One metric over days ``day_from .. day_to`` (1-based, inclusive) by its declared rule.

    ``metrics`` is a run's per-tick table (``model.metrics`` or ``metrics.csv``) and
    ``tick_days`` the scenario's days per tick; the window holds the ticks that contain its
    first to its last day (``None``: from the first day, to the last).  Flows are summed,
    stocks taken at the window's last tick (``final``) or averaged (``mean``), ratios pooled
    over their weight or as a ratio of sums; derived figures (``monthly_churn``,
    ``annual_retention``) come from the window's churn rate.  A metric's trailing
    ``window_days`` (NPS: 30 days) shapes run summaries only: here the window is the one
    given.  The churn rate of a window that starts at the first tick needs
    ``initial_customers`` (the active customers before it).  Returns NaN when the window
    holds no measured value.
    """
    m = BY_NAME.get(metric)
    if m is None:
        raise KeyError(f"unknown metric {metric!r} (known: {', '.join(BY_NAME)})")
    if isinstance(tick_days, bool) or not (isinstance(tick_days, int | float)
                                           and tick_days > 0):
        raise ValueError(f"tick_days must be positive, got {tick_days!r}")
    agg = m.aggregation
    if agg.rule == "derived":
        source = aggregate(metrics, agg.source, day_from, day_to, tick_days=tick_days,
                           initial_customers=initial_customers)
        return _derived(metric, {agg.source: source}, tick_days)
    if day_from is not None and day_to is not None and day_to < day_from:
        raise ValueError(f"day_to ({day_to}) is before day_from ({day_from})")
    ticks = metrics["tick"]
    first = 1 if day_from is None else math.ceil(day_from / tick_days - 1e-9)
    last = ticks.max() if day_to is None else math.ceil(day_to / tick_days - 1e-9)
    inside = (ticks >= first) & (ticks <= last)
    if not inside.any():
        return math.nan
    start = _active_start(metrics, initial_customers)
    if (agg.rule == "ratio" and agg.denominator == "active_start"
            and start[inside].isna().any()):
        raise ValueError(f"the {metric} of a window from the first tick needs "
                         "initial_customers (the active customers before it)")
    value = _rule_value(m, metrics[inside], start[inside])
    return math.nan if value is None else float(value)


# --------------------------------------------------------------------------------------------
# Windows of ticks as arrays: the model's parts, and targets
# --------------------------------------------------------------------------------------------


def window_ticks(day_from: float | None, day_to: float | None, tick_days: float,
                 last_tick: int) -> tuple[int, int]:
    """The first and last tick (1-based, inclusive) of days ``day_from .. day_to``.

    Tick *t* covers days ``((t-1)·tick_days, t·tick_days]``, so day *d* is in tick
    ``ceil(d / tick_days)`` (as :func:`aggregate`); ``None`` is the run's first or last day
    (``last_tick`` is the run's last tick).  A window is widened to whole ticks.
    """
    first = 1 if day_from is None else math.ceil(day_from / tick_days - 1e-9)
    last = last_tick if day_to is None else math.ceil(day_to / tick_days - 1e-9)
    return first, last


def _nansum(x: np.ndarray) -> float:
    """Σ x skipping NaN (pandas' ``sum``); NaN when no value is a number (``min_count=1``)."""
    ok = ~np.isnan(x)
    return float(x[ok].sum()) if ok.any() else math.nan


def window_value(m: Metric, column: Callable[[str], np.ndarray],
                 start: np.ndarray | None = None, *, tick_days: float = 1.0,
                 metrics: Mapping[str, Metric] = BY_NAME) -> float:
    """A metric's figure over a window of ticks, by its declared rule, from plain arrays.

    ``column(name)`` returns the window's per-tick values of a column (floats, in tick
    order); ``start`` the window's active customers at the start of each tick (the
    denominator ``active_start`` of a churn rate); ``metrics`` the table a ``derived``
    figure's source is looked up in (:data:`~cxsim.vocabulary.BY_NAME`, or one part kind's
    :data:`~cxsim.vocabulary.PART_METRICS`).  The rules are :func:`aggregate`'s: flows
    summed (NaN skipped; NaN if none is a number), stocks at the window's last tick
    (``final``) or averaged over the finite values (``mean``, only ticks whose ``measured``
    column is positive), ratios pooled over their weight or as a ratio of sums (the
    denominator at least 1).  NaN for an empty window.
    """
    agg = m.aggregation
    if agg.rule == "derived":
        source = window_value(metrics[agg.source], column, start, tick_days=tick_days,
                              metrics=metrics)
        return _derived(m.name, {agg.source: source}, tick_days)
    if agg.rule == "ratio":
        num = column(agg.numerator)
        if not len(num):
            return math.nan
        den = start if agg.denominator == "active_start" else column(agg.denominator)
        if den is None:
            raise ValueError(f"the {m.name} of a window needs the active customers at the "
                             "start of its ticks")
        return float(np.nansum(num) / max(float(np.nansum(den)), 1.0))
    x = column(m.name)
    if not len(x):
        return math.nan
    if agg.rule == "sum":
        return _nansum(x)
    if agg.rule == "final":
        return float(x[-1])
    if agg.rule == "mean":
        ok = np.isfinite(x)
        if agg.measured:
            ok &= column(agg.measured) > 0
        return float(x[ok].mean()) if ok.any() else math.nan
    w = column(agg.weight)  # weighted
    total = np.nansum(w)
    if not total > 0:
        return math.nan
    with np.errstate(invalid="ignore"):
        return float(np.nansum(x * w) / total)


def part_columns(rows: pd.DataFrame, kind: str) -> pd.DataFrame:
    """A part's rows with the columns :data:`~cxsim.vocabulary.PART_COMPUTED` adds."""
    extra = {}
    for (k, name), (num, den) in PART_COMPUTED.items():
        if k == kind and name not in rows.columns and {num, den} <= set(rows.columns):
            n, d = rows[num].to_numpy(dtype=float), rows[den].to_numpy(dtype=float)
            with np.errstate(divide="ignore", invalid="ignore"):
                extra[name] = np.where(d > 0, n / d, np.nan)
    return rows.assign(**extra) if extra else rows


def aggregate_part(table: pd.DataFrame, kind: str, name: str, metric: str,
                   day_from: float | None = None, day_to: float | None = None, *,
                   tick_days: float = 1.0, initial: float | None = None) -> float:
    """One part's metric over days ``day_from .. day_to`` (1-based, inclusive).

    ``table`` is a run's per-tick table of a part kind (``kind``: ``"segment"`` for
    ``RunResult.segments``, ``"touchpoint"`` for ``.touchpoints``, ``"team"`` for
    ``.queues``), ``name`` the part (a segment, touchpoint or team of the scenario) and
    ``metric`` one of :data:`~cxsim.vocabulary.PART_METRICS` ``[kind]``, aggregated by its
    declared rule with :func:`aggregate`'s windows.  A segment's churn rate over a window
    from the first tick needs ``initial``, the segment's customers before it (its
    denominator there).  NaN when the window holds no measured value.
    """
    if kind not in PART_KINDS:
        raise KeyError(f"unknown part {kind!r} (known: {', '.join(PART_KINDS)})")
    known = PART_METRICS[kind]
    if metric not in known:
        raise KeyError(f"unknown {kind} metric {metric!r} (known: {', '.join(known)})")
    if isinstance(tick_days, bool) or not (isinstance(tick_days, int | float)
                                           and tick_days > 0):
        raise ValueError(f"tick_days must be positive, got {tick_days!r}")
    if day_from is not None and day_to is not None and day_to < day_from:
        raise ValueError(f"day_to ({day_to}) is before day_from ({day_from})")
    if table.empty:
        return math.nan
    rows = table[table[kind] == name]
    if rows.empty:
        raise KeyError(f"no {kind} {name!r} in the table (known: "
                       f"{', '.join(map(str, pd.unique(table[kind])))})")
    rows = part_columns(rows.sort_values("tick", kind="stable"), kind)
    ticks = rows["tick"].to_numpy()
    first, last = window_ticks(day_from, day_to, tick_days, int(ticks.max()))
    inside = (ticks >= first) & (ticks <= last)
    if not inside.any():
        return math.nan
    start = None
    if kind == "segment":
        active = rows["active"].to_numpy(dtype=float)
        start = np.concatenate(([np.nan if initial is None else float(initial)],
                                active[:-1]))[inside]
        needs = known[metric].aggregation
        while needs.rule == "derived":
            needs = known[needs.source].aggregation
        if needs.denominator == "active_start" and np.isnan(start).any():
            raise ValueError(f"the {metric} of a window from the first tick needs initial "
                             "(the segment's customers before it)")

    def column(col: str) -> np.ndarray:
        return rows[col].to_numpy(dtype=float)[inside]

    return window_value(known[metric], column, start, tick_days=tick_days, metrics=known)
