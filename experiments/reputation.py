"""Reputation: how much of a service failure's cost comes through reviews?

Workshop question: the courier fails for a month (reliability and quality −0.25 from day 90
to day 119, as in partner_failure.py).  Customers who live the failures post bad reviews;
the public rating falls and, for months (the reviews' half-life), marketing wins fewer new
customers.  How much of the month's cost in new customers and profit comes through the
rating, on top of the customers it loses directly?

The same failure is compared with the baseline twice, on the same seeds: with the public
rating on (``[reputation] enabled = true``, the defaults: reviews by promoters, passives and
detractors, a half-life of 180 days, p x exp(0.07 x Δstars) after Luca 2016) and off.  The
difference of the two paired differences is what comes through reviews.

    python experiments/reputation.py                        # 50k customers, 1 year, 6 reps
    python experiments/reputation.py --customers 2000 --days 150 --reps 2
    python experiments/reputation.py --elasticity 0.3       # a market that reads reviews more

Writes ``OUT/reputation.png`` (the rating over time; new customers and profit against the
baseline with the rating on and off) and both comparisons' tables (``OUT/on``, ``OUT/off``).
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np

import cxsim
from cxsim import plots
from cxsim.compare import mean_interval, write_comparison
from cxsim.scenario import Intervention, Strategy

from _workshop import parser, save, scenario

START, END = 90, 119  # days 90..119: thirty days
NAME = "courier failure"


def main() -> int:
    p = parser(__doc__, 50_000, 365, 6, "results/reputation")
    p.add_argument("--partner", default="courier", help="the partner that fails (courier)")
    p.add_argument("--drop", type=float, default=0.25, help="reliability lost (0.25)")
    p.add_argument("--elasticity", type=float, default=None,
                   help="reputation.p_elasticity (default: the scenario's, 0.07 per star)")
    a = p.parse_args()
    sc = scenario(a.scenario)
    if a.partner not in sc.partners:
        p.error(f"--partner: the scenario has no partner '{a.partner}' "
                f"(it has {', '.join(sc.partners) or 'none'})")
    if a.elasticity is not None and not 0 <= a.elasticity <= 10:
        p.error(f"--elasticity must be in [0, 10], got {a.elasticity:g}")
    failure = Strategy(description=f"{a.partner} fails: reliability and quality "
                                   f"−{a.drop:g} for 30 days",
                       interventions=[Intervention(type="partner_sla", target=a.partner,
                                                   start=START, end=END, amount=-a.drop)])
    sc = dataclasses.replace(sc, strategies={NAME: failure})
    rep = dataclasses.replace(sc.reputation, enabled=True)
    if a.elasticity is not None:
        rep = dataclasses.replace(rep, p_elasticity=a.elasticity)
    results = {}
    for key, spec in (("on", rep), ("off", dataclasses.replace(rep, enabled=False))):
        results[key] = cxsim.compare(dataclasses.replace(sc, reputation=spec), None,
                                     replications=a.reps, seed=3, workers=a.workers,
                                     customers=a.customers,
                                     ticks=round(a.days / sc.simulation.tick_days),
                                     progress=sys.stderr.isatty())
        write_comparison(results[key], Path(a.out) / key)
    on, off = results["on"], results["off"]
    save(plots.reputation_cost(on, off, NAME), a.out, "reputation.png")
    print(f"{a.partner} failing for 30 days (reliability −{a.drop:g}), {a.customers:,} "
          f"customers, {a.days:g} days, {a.reps} paired replications (mean [95 % interval]):")
    runs = {k: r.runs.set_index(["strategy", "replicate"]) for k, r in results.items()}
    rating = runs["on"]["rating"]
    print(f"  public rating at the end: baseline {rating.loc['baseline'].mean():.2f}, "
          f"with the failure {rating.loc[NAME].mean():.2f} stars")
    for metric, fmt in (("rating", "{:+.3f}"), ("marketing_factor", "{:+.4f}"),
                        ("new", "{:+,.1f}"), ("active", "{:+,.1f}"), ("profit", "{:+,.0f}")):
        cells = []
        for key in ("on", "off"):
            if metric not in runs[key]:
                cells.append("—")
                continue
            d = (runs[key][metric].loc[NAME] - runs[key][metric].loc["baseline"]).to_numpy(float)
            cells.append(_interval(d, fmt))
        if metric in runs["off"]:
            through = ((runs["on"][metric].loc[NAME] - runs["on"][metric].loc["baseline"])
                       - (runs["off"][metric].loc[NAME] - runs["off"][metric].loc["baseline"]))
            cells.append(_interval(through.to_numpy(float), fmt))
        else:
            cells.append("—")
        print(f"  {metric:<17} failure − baseline, rating on {cells[0]:>26}; off "
              f"{cells[1]:>26}; through reviews {cells[2]:>26}")
    return 0


def _interval(d: np.ndarray, fmt: str) -> str:
    """Mean and 95 % t-interval of paired differences, as text."""
    mean, lo, hi, _, _ = mean_interval(d)
    if not np.isfinite(lo):
        return fmt.format(mean)
    return f"{fmt.format(mean)} [{fmt.format(lo)}, {fmt.format(hi)}]"


if __name__ == "__main__":
    sys.exit(main())
