"""Temporary staff when the service level drops, or on a calendar: which copes with a surge?

Workshop question: a season brings 40 % more needs for 45 days.  The plan expects it from
day 120 and books four temporary agents for those 45 days.  A reactive policy books the same
four agents for the same 45 days (the same cost) but only when the contact centre's service
level over the last 7 days falls below 75 % (a trigger: ``when = "service_level < 0.75"``,
``window = 7``, ``duration = 45``, ``max_activations = 1``).  Which is better when the season
comes on plan, and when it comes a month late?

    python experiments/triggered_staffing.py                          # 50k customers
    python experiments/triggered_staffing.py --customers 5000 --days 220 --reps 2

The market is a sample standing for the retailer's 100,000 customers (its queues are the
full contact centre's).  Writes ``OUT/triggered_staffing.png`` (the service level over time
with when each plan's temporary agents are on duty) and prints, for each timing, the
difference each plan makes against the season without extra staff (paired by replicate,
95 % intervals).
"""

from __future__ import annotations

import dataclasses
import sys

import matplotlib.pyplot as plt
import numpy as np

import cxsim
from cxsim import plots
from cxsim.compare import mean_interval
from cxsim.runner import resize
from cxsim.scenario import Intervention, Strategy
from cxsim.vocabulary import display_label

from _workshop import parser, save, scenario

PLANNED, LENGTH, SURGE = 120, 45, 0.4  # the season: needs x 1.4 for 45 days from day 120
LATE = 30  # days the season comes after the plan, in the second case
TEMPS, FEE = 4, 1_500.0  # temporary agents and the agency fee per agent (assumption)
THRESHOLD, WINDOW = 0.75, 7
PLANS = ("season", "calendar temps", "triggered temps")
COLOURS = {"season": "#7f7f7f", "calendar temps": "#1f77b4", "triggered temps": "#d62728"}


def strategies(team: str, season_start: int) -> dict[str, Strategy]:
    """The season alone, with temps on the calendar, and with temps on a trigger."""
    season = Intervention(type="demand_surge", start=season_start,
                          end=season_start + LENGTH - 1, amount=SURGE)
    calendar = Intervention(type="hire", target=team, amount=TEMPS, start=PLANNED,
                            end=PLANNED + LENGTH - 1, cost=FEE * TEMPS)
    triggered = Intervention(type="hire", target=team, amount=TEMPS,
                             when=f"service_level < {THRESHOLD}", window=WINDOW,
                             duration=LENGTH, max_activations=1, cost=FEE * TEMPS)
    return {"season": Strategy(description="the season, no extra staff",
                               interventions=[season]),
            "calendar temps": Strategy(description="temps booked for the planned season",
                                       interventions=[season, calendar]),
            "triggered temps": Strategy(description="temps when the service level drops",
                                        interventions=[season, triggered])}


@plots.styled
def figure(cases: list[tuple[str, int, object, list]], days: float):
    """Per case: the 7-day service level of each plan, and when temps are on duty."""
    fig, axes = plt.subplots(1, len(cases), figsize=plots.SLIDE, sharey=True,
                             layout="constrained")
    for ax, (title, start, result, duty) in zip(np.atleast_1d(axes), cases, strict=True):
        ticks = result.ticks
        for name in PLANS:
            rows = ticks[ticks["strategy"] == name]
            mean = rows.groupby("tick")["service_level"].mean()
            ax.plot(mean.index * result.tick_days,
                    mean.rolling(WINDOW, min_periods=1).mean(), color=COLOURS[name],
                    lw=2, label=f"{name} ({WINDOW}-day mean)")
        ax.axvspan(start, start + LENGTH - 1, color="#ff7f0e", alpha=0.12, lw=0,
                   label="season (needs x 1.4)")
        ax.axhline(THRESHOLD, color="k", ls=":", lw=1, label=f"trigger: < {THRESHOLD:.0%}")
        # when temporary agents are on duty: the calendar's, and each replicate's trigger
        ax.hlines(0.33, PLANNED, PLANNED + LENGTH - 1, color=COLOURS["calendar temps"],
                  lw=5, label="calendar temps on duty")
        for r, (a, b) in enumerate(duty):
            ax.hlines(0.30 - 0.02 * r, a, b, color=COLOURS["triggered temps"], lw=3,
                      label="triggered temps on duty (one bar per replicate)" if r == 0
                      else None)
        ax.set_title(title)
        ax.set_xlabel("day")
        ax.set_xlim(PLANNED - 40, min(days, PLANNED + LATE + LENGTH + 40))
    first = np.atleast_1d(axes)[0]
    first.set_ylabel(display_label("service_level"))
    first.set_ylim(0.2, 1.0)
    first.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    handles, labels = first.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3)
    plots._suptitle(fig, f"{TEMPS} temporary agents for {LENGTH} days (the same cost): booked "
                         "for the planned season, or when the service level drops", 70)
    return fig


def main() -> int:
    p = parser(__doc__, 50_000, 240, 5, "results/triggered_staffing")
    p.add_argument("--team", default="contact_centre", help="the team to staff up")
    a = p.parse_args()
    base = scenario(a.scenario)
    if a.team not in base.teams:
        p.error(f"--team: the scenario has no team '{a.team}'")
    sc = resize(base, customers=a.customers, days=a.days, sample=True)
    cases = []
    print(f"difference from the season without extra staff (mean [95 % interval] over "
          f"{a.reps} paired replications):")
    print(f"  {'season':<8} {'plan':<16} {'service level':>22} {'churned':>20} {'NPS':>20} "
          f"{'profit':>26} {'activations':>11}")
    for title, start in (("season on plan (day 120)", PLANNED),
                         (f"season {LATE} days late (day {PLANNED + LATE})", PLANNED + LATE)):
        case = dataclasses.replace(sc, strategies=strategies(a.team, start))
        result = cxsim.compare(case, list(PLANS), replications=a.reps, seed=17,
                               workers=a.workers, progress=sys.stderr.isatty())
        runs = result.runs.set_index(["strategy", "replicate"])
        for name in PLANS[1:]:
            cells = []
            for metric, fmt in (("service_level", "{:+.3f}"), ("churned", "{:+.0f}"),
                                ("nps", "{:+.2f}"), ("profit", "{:+,.0f}")):
                d = (runs.loc[name, metric] - runs.loc["season", metric]).to_numpy(float)
                m, lo, hi, _, _ = mean_interval(d)
                cells.append(f"{fmt.format(m)} [{fmt.format(lo)}, {fmt.format(hi)}]")
            n = runs.loc[name, "trigger_activations"] if "trigger_activations" in runs else 0
            print(f"  {'late' if start != PLANNED else 'on plan':<8} {name:<16} "
                  f"{cells[0]:>22} {cells[1]:>20} {cells[2]:>20} {cells[3]:>26} "
                  f"{float(np.mean(n)):>11.2g}")
        # when the triggered temps were on duty in each replicate (its trigger history)
        duty = []
        for seed in runs.loc["triggered temps", "seed"]:
            m = cxsim.CXModel(case, rng=int(seed), strategy="triggered temps").run()
            duty += [(int(s) * case.simulation.tick_days, int(e) * case.simulation.tick_days)
                     for s, e in zip(m.trigger_history.start, m.trigger_history.end,
                                     strict=True)]
        cases.append((title, start, result, duty))
    save(figure(cases, a.days), a.out, "triggered_staffing.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
