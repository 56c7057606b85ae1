"""Which investment pays back first?  Every strategy of a scenario against the baseline.

Workshop question: the retailer can train its contact centre, fix its courier, push
self-service, call back detractors, launch an app loyalty tier or open a messaging channel.
Each costs money up front and per day; each pays back (if it does) through customers kept
and costs saved.  Which one pays back first, and which earns most over the year?  Paired
replications (every strategy shares each replicate's seed with the baseline) make small
differences visible.

    python experiments/payback.py                                # 50k customers, 1 year
    python experiments/payback.py --customers 2000 --days 60 --reps 2     # smoke test

Writes ``OUT/payback.png`` and the comparison tables (``comparison.csv``, ``roi.csv``, ...).
"""

from __future__ import annotations

import sys

import pandas as pd

import cxsim
from cxsim import plots
from cxsim.compare import write_comparison

from _workshop import parser, save, scenario


def main() -> int:
    a = parser(__doc__, 50_000, 365, 6, "results/payback").parse_args()
    sc = scenario(a.scenario)
    result = cxsim.compare(sc, None, replications=a.reps, seed=11, workers=a.workers,
                           customers=a.customers, ticks=round(a.days / sc.simulation.tick_days),
                           progress=sys.stderr.isatty())
    write_comparison(result, a.out)
    save(plots.payback_curves(result), a.out, "payback.png")
    roi = result.roi.sort_values("payback_tick", na_position="last")
    print(f"{'strategy':<24} {'cost':>10} {'incremental profit':>19} {'ROI':>6} {'payback':>12}")
    for _, r in roi.iterrows():
        pb = ("never" if pd.isna(r["payback_tick"])
              else f"day {r['payback_tick'] * result.tick_days:g}")
        print(f"{r['strategy']:<24} {r['intervention_cost']:>10,.0f} "
              f"{r['incremental_profit']:>+19,.0f} {r['roi']:>6.2f} {pb:>12}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
