"""The cost of a partner failure: a month of late and wrong deliveries, and what follows.

Workshop question: the courier's reliability drops from 95 % to 70 % for 30 days (a depot
closes, a contract goes wrong).  Customers whose orders fail call in (failure demand), queue,
remember the failure and some leave — long after the courier has recovered.  What does the
month cost in contacts, NPS, customers and profit, and how much of it comes after the month?

    python experiments/partner_failure.py                        # 50k customers, 1 year
    python experiments/partner_failure.py --customers 2000 --days 150 --reps 2

Writes ``OUT/partner_failure.png`` and the comparison tables.
"""

from __future__ import annotations

import dataclasses
import sys

import cxsim
from cxsim import plots
from cxsim.compare import cumulative_delta, write_comparison
from cxsim.scenario import Intervention, Strategy

from _workshop import parser, save, scenario

START, END = 90, 119  # days 90..119: thirty days


def main() -> int:
    p = parser(__doc__, 50_000, 365, 6, "results/partner_failure")
    p.add_argument("--partner", default="courier", help="the partner that fails (courier)")
    p.add_argument("--drop", type=float, default=0.25, help="reliability lost (0.25)")
    a = p.parse_args()
    sc = scenario(a.scenario)
    if a.partner not in sc.partners:
        p.error(f"--partner: the scenario has no partner '{a.partner}' "
                f"(it has {', '.join(sc.partners) or 'none'})")
    failure = Strategy(description=f"{a.partner} fails: reliability and quality "
                                   f"−{a.drop:g} for 30 days",
                       interventions=[Intervention(type="partner_sla", target=a.partner,
                                                   start=START, end=END, amount=-a.drop)])
    sc = dataclasses.replace(sc, strategies={"partner failure": failure})
    result = cxsim.compare(sc, None, replications=a.reps, seed=3, workers=a.workers,
                           customers=a.customers, ticks=round(a.days / sc.simulation.tick_days),
                           progress=sys.stderr.isatty())
    write_comparison(result, a.out)
    fig = plots.comparison_bands(result, metrics=("partner_on_time", "asa", "nps",
                                                  "churned", "active", "profit"))
    save(fig, a.out, "partner_failure.png")
    name = "partner failure"
    cum = cumulative_delta(result.ticks, name).mean(axis=1)
    end_tick = round(END / result.tick_days)
    during = float(cum.loc[:end_tick].iloc[-1]) if end_tick in cum.index else float("nan")
    total = float(cum.iloc[-1])
    d, lo, hi = result.diff(name, "profit")
    churned = result.diff(name, "churned")
    print(f"{a.partner} failing for 30 days (reliability −{a.drop:g}):")
    print(f"  profit {d:+,.0f} [{lo:+,.0f}, {hi:+,.0f}] over {a.days:g} days: "
          f"{during:+,.0f} by the end of the failure, {total - during:+,.0f} afterwards")
    print(f"  customers churned {churned[0]:+,.1f} [{churned[1]:+,.1f}, {churned[2]:+,.1f}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
