"""Turning per-tick metrics into the key figures of a run, by the rules the vocabulary declares.

:func:`summarise` computes every run figure of ``summary.json`` and :func:`aggregate` one
metric over any window of days, both from each metric's :class:`~cxsim.vocabulary.Aggregation`
(flows summed, stocks final or averaged, ratios pooled over their weight or as a ratio of
sums).  Days are 1-based and inclusive; tick *t* covers days ``((t-1)·tick_days,
t·tick_days]``, so day *d* falls in tick ``ceil(d / tick_days)``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .scenario import MONTH_DAYS, Scenario
from .vocabulary import BY_NAME, METRICS, SUMMARY_METRICS, Metric

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
        else:
            rows = metrics[_window_ticks(m, metrics["tick"], dt)]
            value = _rule_value(m, rows, start)
        figures[name] = value
        out[name] = _plain(m, value)
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
