"""Staffing a launch-day spike: how many temporary agents does a launch week need?

Workshop question: a product launch brings 2.5 times the usual needs for a week (from day
60).  The contact centre forecasts tomorrow from today, so the first days overwhelm it:
queues grow, customers abandon and remember.  Should the retailer bring in temporary agents
(from three days before the launch to a week after it, at an agency fee), and how many?

    python experiments/launch_spike.py                          # 100k customers, 120 days
    python experiments/launch_spike.py --customers 5000 --days 80 --reps 2

Writes ``OUT/launch_spike.png`` and the comparison tables.  The baseline is the year
without a launch, so every strategy's difference includes the launch itself; the table
printed at the end also compares each staffing option with the launch without extra staff
(paired by replicate).  Revenue in cxsim accrues per active customer and day, so the
launch's extra sales are not counted: its profit column carries the extra contacts' cost,
the temporary agents' wages and fees, and the customers kept or lost.
"""

from __future__ import annotations

import dataclasses
import sys

import cxsim
from cxsim import plots
from cxsim.compare import mean_interval, write_comparison
from cxsim.scenario import Intervention, Strategy

from _workshop import parser, save, scenario

LAUNCH, WEEK = 60, 6  # the surge runs days 60..66
SURGE = 1.5  # needs x 2.5
FEE = 1_500.0  # agency fee per temporary agent (assumption); wages are counted per day


def main() -> int:
    p = parser(__doc__, 100_000, 120, 4, "results/launch_spike")
    p.add_argument("--team", default="contact_centre", help="the team to staff up")
    p.add_argument("--temps", default="4,8", help="temporary agents to compare (4,8)")
    a = p.parse_args()
    sc = scenario(a.scenario)
    if a.team not in sc.teams:
        p.error(f"--team: the scenario has no team '{a.team}'")
    surge = Intervention(type="demand_surge", start=LAUNCH, end=LAUNCH + WEEK, amount=SURGE)
    strategies = {"launch": Strategy(description="launch week, no extra staff",
                                     interventions=[surge])}
    for n in (int(x) for x in a.temps.split(",")):
        hire = Intervention(type="hire", target=a.team, start=LAUNCH - 3,
                            end=LAUNCH + WEEK + 7, amount=n, cost=FEE * n)
        strategies[f"launch + {n} temps"] = Strategy(
            description=f"launch week with {n} temporary agents", interventions=[surge, hire])
    sc = dataclasses.replace(sc, strategies=strategies)
    result = cxsim.compare(sc, None, replications=a.reps, seed=21, workers=a.workers,
                           customers=a.customers, ticks=round(a.days / sc.simulation.tick_days),
                           progress=sys.stderr.isatty())
    write_comparison(result, a.out)
    window = (LAUNCH - 10, min(a.days, LAUNCH + WEEK + 30))
    fig = plots.comparison_bands(result, metrics=("service_level", "abandonment", "nps",
                                                  "churned"), window=window, relative=(),
                                 title=f"{sc.name}: staffing a launch week (needs x "
                                       f"{1 + SURGE:g} from day {LAUNCH})")
    save(fig, a.out, "launch_spike.png")
    runs = result.runs.set_index(["strategy", "replicate"])
    print(f"difference from the launch without extra staff (mean ± 95 % half-width over "
          f"{a.reps} paired replications):")
    print(f"  {'strategy':<20} {'customers churned':>20} {'NPS':>14} {'profit':>20}")
    for name in strategies:
        if name == "launch":
            continue
        cells = []
        for metric, fmt in (("churned", "{:+.1f}"), ("nps", "{:+.2f}"), ("profit", "{:+,.0f}")):
            d = (runs.loc[name, metric] - runs.loc["launch", metric]).to_numpy(dtype=float)
            _, lo, hi, _, _ = mean_interval(d)
            cells.append(f"{fmt.format(d.mean())} ± {fmt.format((hi - lo) / 2)[1:]}")
        print(f"  {name:<20} {cells[0]:>20} {cells[1]:>14} {cells[2]:>20}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
