"""Figures from results. Every function takes results and returns a matplotlib Figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

#: (column, title, unit, scale) of the KPI dashboard's small multiples
KPI_PANELS = (
    ("active", "Active customers", "customers", 1.0),
    ("churn_rate", "Churn rate", "% of customers per tick", 100.0),
    ("nps", "Net Promoter Score", "NPS (−100 to +100)", 1.0),
    ("csat", "Customer satisfaction (CSAT)", "mean answer, 1–5", 1.0),
    ("ces", "Customer effort (CES)", "mean answer, 1–7 (7 = easy)", 1.0),
    ("service_level", "Contact-centre service level", "% answered within target", 100.0),
    ("profit", "Profit per tick", "currency per tick", 1.0),
    ("satisfaction", "Mean satisfaction", "0–1", 1.0),
)


def kpi_dashboard(metrics: pd.DataFrame, title: str = "KPI dashboard",
                  tick_days: float = 1.0) -> Figure:
    """Small multiples of the headline KPIs over time (one line per KPI, 7-tick mean dashed).

    ``metrics`` is a run's per-tick table (``model.metrics`` or ``metrics.csv``).
    """
    fig, axes = plt.subplots(2, 4, figsize=(16, 7.5), constrained_layout=True)
    days = metrics["tick"] * tick_days
    for ax, (col, name, unit, scale) in zip(axes.flat, KPI_PANELS, strict=True):
        y = metrics[col].astype(float) * scale if col in metrics else None
        if y is None or y.isna().all():
            ax.text(0.5, 0.5, "not measured", ha="center", va="center",
                    transform=ax.transAxes, color="grey")
        else:
            ax.plot(days, y, color="#1f77b4", lw=1.0, alpha=0.55, label="per tick")
            ax.plot(days, y.rolling(7, min_periods=1).mean(), color="#1f77b4", lw=2.2,
                    label="7-tick mean")
        ax.set_title(name, fontsize=12, fontweight="bold")
        ax.set_ylabel(unit, fontsize=10)
        ax.set_xlabel("day", fontsize=10)
        ax.grid(alpha=0.3)
    axes.flat[0].legend(loc="best", fontsize=9)
    fig.suptitle(title, fontsize=15, fontweight="bold")
    return fig


def save(fig: Figure, path) -> None:
    """Write a figure as PNG (150 dpi) and close it."""
    fig.savefig(path, dpi=150)
    plt.close(fig)
