"""Hire or train?  A grid sweep of contact-centre head count × the coaching programme.

Workshop question: the contact centre can add agents or coach the ones it has (the retail
scenario's ``train_contact_centre`` strategy: +0.15 skill over 30 days from day 30, 25,000
up front).  Which buys more service level, retention and profit, and where do they stop
paying?  Every cell is the mean of paired replications (replicate r shares its seed across
all cells), so neighbouring cells differ by the levers, not by luck.

    python experiments/staffing_training.py                       # 100k customers, 1 year
    python experiments/staffing_training.py --customers 3000 --days 30 --reps 1   # smoke test

Writes ``OUT/runs.parquet`` (or .csv), ``OUT/sweep.json`` and ``OUT/staffing_training.png``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import cxsim  # noqa: E402
from cxsim import plots  # noqa: E402

HEADCOUNTS = "8,10,12,14,16"
OUTCOMES = ("service_level", "monthly_churn", "profit")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=int, default=100_000)
    p.add_argument("--days", type=float, default=365)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--headcounts", default=HEADCOUNTS, help=f"default {HEADCOUNTS}")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--out", default="results/staffing_training")
    a = p.parse_args()
    out = Path(a.out)
    scenario = cxsim.default_scenario()
    params = {"teams.contact_centre.headcount": a.headcounts,
              "strategy": "baseline,train_contact_centre"}
    resume = (out / "sweep.json").exists()  # rerunning the script continues or reuses it
    result = cxsim.sweep(scenario, params, replications=a.reps, seed=2026, out=out,
                         customers=a.customers, days=a.days, workers=a.workers, resume=resume,
                         progress=sys.stderr.isatty())
    for note in result.plan.notes:
        print(note, file=sys.stderr)
    fig = plots.sweep_heatmap(result.runs, "teams.contact_centre.headcount", "strategy",
                              outcomes=OUTCOMES,
                              title=f"{scenario.name}: hire or train? ({a.customers:,} "
                                    f"customers, {a.days:g} days)")
    plots.save(fig, out / "staffing_training.png")
    table = result.means("profit").merge(result.means("service_level")).merge(
        result.means("monthly_churn"))
    table = table.drop(columns="point").sort_values(["strategy",
                                                     "teams.contact_centre.headcount"])
    print(table.to_string(index=False, float_format=lambda v: f"{v:,.4g}"))
    best = table.loc[table["profit"].idxmax()]
    print(f"most profitable: {best['teams.contact_centre.headcount']} agents, "
          f"{best['strategy']} (profit {best['profit']:,.0f})")
    print(f"wrote {out}/staffing_training.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
