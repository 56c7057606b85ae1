"""A lunchtime peak: what does it do to the service level, and what does a shift plan recover?

Workshop question: the retailer's contact centre gets the same contacts a day and keeps the
same head count, but the contacts come in a lunchtime peak instead of evenly over the twelve
open hours.  How far does the day's service level fall?  And a shift plan that puts the
same agent-hours where the contacts are (agents per hour in proportion to the arrivals):
how much of it does that win back?

Each hour is its own Erlang A queue (``teams.*.arrival_profile``, ``shift_plan``); the day's
figures are the hours' volume-weighted results, and customers meet the waits of the hour
they call in.  The market is a sample of the full retailer (``market.represents``), so the
queues are the full centre's.

    python experiments/intraday_peaks.py                        # 50k customers, 90 days
    python experiments/intraday_peaks.py --customers 5000 --days 30 --reps 2

Writes ``OUT/intraday_peaks.png`` (per hour: offered load against agents, and the service
level; flat, peaked, peaked with the shift plan) and prints the paired differences from the
flat day (mean and 95 % interval over the replications).
"""

from __future__ import annotations

import dataclasses
import math
import sys

import matplotlib.pyplot as plt
import numpy as np

import cxsim
from cxsim import plots
from cxsim.compare import mean_interval
from cxsim.runner import resize

from _workshop import parser, save, scenario

#: relative contacts per open hour (8:00-20:00): a rise through the morning to a lunchtime
#: peak (12:00-14:00) and a long afternoon shoulder, the shape of the intraday curves in Gans,
#: Koole & Mandelbaum (2003, fig. 2) and Brown et al. (2005) with the retail lunch peak
#: (assumption: the peak's height, about 1.6 times the day's mean)
LUNCH_PEAK = [3, 5, 7, 9, 12, 13, 11, 9, 8, 8, 8, 7]
CASES = ("flat", "peak", "peak + shift plan")
COLOURS = {"flat": "#7f7f7f", "peak": "#d62728", "peak + shift plan": "#1f77b4"}
OUTCOMES = (("service_level", "{:+.3f}"), ("asa", "{:+.1f}"), ("abandonment", "{:+.4f}"),
            ("nps", "{:+.2f}"), ("churned", "{:+.1f}"), ("profit", "{:+,.0f}"))


def variant(sc: cxsim.Scenario, team: str, profile, plan) -> cxsim.Scenario:
    """The scenario with the team's day split by ``profile`` (and staffed by ``plan``)."""
    t = dataclasses.replace(sc.teams[team], arrival_profile=list(profile),
                            shift_plan=list(plan))
    return dataclasses.replace(sc, teams={**sc.teams, team: t}).validated()


@plots.styled
def figure(hours: np.ndarray, load: dict, agents: dict, sl: dict, day_sl: dict, target: float,
           title: str):
    """Two panels: offered load vs agents per hour, and the service level per hour."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 7.5), sharex=True)
    w = 0.4
    top.bar(hours - w / 2, load["flat"], w, color=COLOURS["flat"], alpha=0.5,
            label="offered load, flat (Erlangs)")
    top.bar(hours + w / 2, load["peak"], w, color=COLOURS["peak"], alpha=0.5,
            label="offered load, lunchtime peak (Erlangs)")
    top.step(np.append(hours - 0.5, hours[-1] + 0.5), np.append(agents["flat"],
             agents["flat"][-1]), where="post", color=COLOURS["flat"], lw=2,
             label="agents on duty, flat")
    top.step(np.append(hours - 0.5, hours[-1] + 0.5), np.append(
             agents["peak + shift plan"], agents["peak + shift plan"][-1]), where="post",
             color=COLOURS["peak + shift plan"], lw=2, label="agents on duty, shift plan")
    top.set_ylabel("Erlangs / agents")
    top.set_ylim(0, max(np.max(load["peak"]), np.max(agents["peak + shift plan"])) * 1.3)
    top.legend(loc="upper left", ncol=2, fontsize="small")
    for case in CASES:
        bottom.plot(hours, 100 * sl[case], marker="o", color=COLOURS[case],
                    label=f"{case}: day {100 * day_sl[case]:.1f} %")
    bottom.axhline(100 * target, color="black", lw=0.8, ls=":")
    bottom.text(hours[-1] + 0.4, 100 * target - 2, "80/20 target", fontsize="small",
                ha="right", va="top")
    bottom.set_ylabel("service level (%)")
    bottom.set_ylim(0, 102)
    bottom.set_xlabel("hour after opening")
    bottom.set_xticks(hours)
    bottom.set_xticklabels([f"{int(h)}" for h in hours])
    bottom.legend(loc="lower left", fontsize="small")
    plots._suptitle(fig, title, width=58)
    return fig


def main() -> int:
    p = parser(__doc__, 50_000, 90, 4, "results/intraday_peaks")
    p.add_argument("--team", default="contact_centre", help="the team whose day peaks")
    a = p.parse_args()
    sc = scenario(a.scenario)
    if a.team not in sc.teams:
        p.error(f"--team: the scenario has no team '{a.team}'")
    if a.reps < 2:
        p.error("--reps: at least 2 (the intervals are paired differences)")
    sc = resize(sc, customers=a.customers, days=a.days, sample=True)
    k = len(LUNCH_PEAK)
    cases = {"flat": variant(sc, a.team, [1.0] * k, []),
             "peak": variant(sc, a.team, LUNCH_PEAK, []),
             "peak + shift plan": variant(sc, a.team, LUNCH_PEAK, LUNCH_PEAK)}
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(17).spawn(a.reps)]
    summaries: dict[str, list[dict]] = {c: [] for c in CASES}
    intervals: dict[str, list] = {c: [] for c in CASES}
    for seed in seeds:
        for case, s in cases.items():
            m = cxsim.CXModel(s, rng=seed).run()
            summaries[case].append(m.summary())
            iv = m.interval_metrics
            intervals[case].append(iv[iv.team == a.team].groupby("interval")[
                ["offered", "agents", "service_level"]].mean())
            if case == "flat":
                q = m.queue_metrics
                aht = float(q[q.team == a.team]["handle_time"].mean())
    team = sc.teams[a.team]
    minutes = team.open_hours * 60.0 / k * sc.simulation.tick_days
    hours = np.arange(k, dtype=float)
    mean = {c: sum(intervals[c]) / len(intervals[c]) for c in CASES}
    # the sample's queue is the full centre's: show it at the full market's scale
    scale = sc.market.represents / sc.market.size if sc.market.represents else 1.0
    load = {c: scale * mean[c]["offered"].to_numpy() / minutes * aht for c in CASES}
    agents = {c: scale * mean[c]["agents"].to_numpy() for c in CASES}
    sl = {c: mean[c]["service_level"].to_numpy() for c in CASES}
    day_sl = {c: float(np.mean([s["service_level"] for s in summaries[c]])) for c in CASES}
    fig = figure(hours, load, agents, sl, day_sl, 0.8,
                 f"{a.team}: a lunchtime peak, and a shift plan that follows it (the "
                 f"same contacts and agent-hours a day)")
    save(fig, a.out, "intraday_peaks.png")
    print(f"difference from the flat day (mean ± 95 % half-width over {a.reps} paired "
          f"replications):")
    print("  " + f"{'case':<20}" + "".join(f"{o:>20}" for o, _ in OUTCOMES))
    for case in CASES[1:]:
        cells = []
        for metric, fmt in OUTCOMES:
            d = np.array([x[metric] - y[metric] for x, y in zip(
                summaries[case], summaries["flat"], strict=True)], dtype=float)
            _, lo, hi, _, _ = mean_interval(d)
            half = (hi - lo) / 2 if math.isfinite(hi - lo) else math.nan
            cells.append(f"{fmt.format(d.mean())} ± {fmt.format(half)[1:]}")
        print("  " + f"{case:<20}" + "".join(f"{c:>20}" for c in cells))
    print("day's service level: " + ", ".join(f"{c} {100 * day_sl[c]:.1f} %" for c in CASES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
