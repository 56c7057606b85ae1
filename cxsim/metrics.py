"""Turning per-tick metrics into the key figures of a run."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .scenario import MONTH_DAYS, Scenario

#: how each contract metric is summarised over a run
AGGREGATION = {
    "active": "final", "new": "total", "churned": "total", "churn_rate": "mean per tick",
    "retention": "final", "nps": "last 30 days (pooled)", "csat": "mean per episode",
    "ces": "mean per episode", "satisfaction": "final", "fcr": "mean per episode",
    "service_level": "mean", "asa": "mean", "abandonment": "mean", "occupancy": "mean",
    "engagement": "final", "attrition": "total", "partner_on_time": "mean",
    "revenue": "total", "cost": "total", "profit": "total",
}


def _weighted(df: pd.DataFrame, col: str, weight: str) -> float:
    ok = df[col].notna() & (df[weight] > 0)
    w = df.loc[ok, weight]
    return float((df.loc[ok, col] * w).sum() / w.sum()) if w.sum() > 0 else float("nan")


def _finite_mean(s: pd.Series) -> float:
    s = s.replace([np.inf, -np.inf], np.nan).dropna()
    return float(s.mean()) if len(s) else float("nan")


def summarise(metrics: pd.DataFrame, scenario: Scenario, initial_customers: int) -> dict:
    """Return the key figures of a run as a flat dict (JSON-ready, NaN as None).

    Contract metric names keep their meaning (see :data:`AGGREGATION`); ``monthly_churn`` and
    ``annual_retention`` translate the per-tick churn rate to the usual reporting periods.
    """
    if metrics.empty:
        return {"ticks": 0}
    dt = scenario.simulation.tick_days
    last = metrics.iloc[-1]
    tail = metrics[metrics["tick"] > metrics["tick"].max() - max(1, round(30 / dt))]
    resp = tail["nps_respondents"].sum()
    nps = (float((tail["nps"] * tail["nps_respondents"]).sum() / resp) if resp > 0
           else float("nan"))
    rate = float(metrics["churned"].sum() / max(metrics["active"].shift(1).fillna(
        initial_customers).sum(), 1))
    monthly = 1.0 - (1.0 - rate) ** (MONTH_DAYS / dt)
    out = {
        "scenario": scenario.name,
        "ticks": int(last["tick"]),
        "days": float(last["tick"] * dt),
        "market": int(last["active"] + last["prospects"] + last["lost"]),
        "initial_customers": int(initial_customers),
        "active": int(last["active"]),
        "new": int(metrics["new"].sum()),
        "churned": int(metrics["churned"].sum()),
        "churn_rate": rate,
        "monthly_churn": monthly,
        "annual_retention": (1.0 - monthly) ** 12,
        "retention": float(last["retention"]),
        "nps": nps,
        "nps_population": float(last["nps_population"]),
        "csat": _weighted(metrics, "csat", "episodes"),
        "ces": _weighted(metrics, "ces", "episodes"),
        "satisfaction": float(last["satisfaction"]),
        "fcr": _weighted(metrics, "fcr", "episodes"),
        "service_level": _finite_mean(metrics["service_level"]),
        "asa": _finite_mean(metrics["asa"]),
        "abandonment": _finite_mean(metrics["abandonment"]),
        "occupancy": _finite_mean(metrics["occupancy"]),
        "engagement": float(last["engagement"]),
        "attrition": float(metrics["attrition"].sum(min_count=1)),
        "partner_on_time": _finite_mean(metrics["partner_on_time"]),
        "revenue": float(metrics["revenue"].sum()),
        "cost": float(metrics["cost"].sum()),
        "profit": float(metrics["profit"].sum()),
        "episodes": int(metrics["episodes"].sum()),
        "intervention_cost": float(metrics["intervention_cost"].sum()),
    }
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in out.items()}
