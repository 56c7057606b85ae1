"""Customer lifetime value: which segment is worth most, and which strategy buys the most of it?

Workshop question: the retailer's two segments bring very different revenue and churn at
very different rates.  What is a customer of each worth over the rest of their life
(expected, discounted at the scenario's 10 % a year), and which of the scenario's
strategies raises the value of the whole customer base the most per euro it costs?

    python experiments/clv.py                                   # 50k customers, a year, 6 reps
    python experiments/clv.py --customers 5000 --days 90 --reps 2

CLV here is :mod:`cxsim.clv`'s estimator: each customer's own churn hazard now held
constant, its segment's revenue minus the contact and partner cost per customer, discounted
per day.  The customer equity of a run is CLV x active customers at the end: a strategy
raises it by keeping more customers, by making them less likely to leave, or both.  Writes
``OUT/clv.png`` (left: each segment's CLV in the baseline, 95 % intervals over the
replications; right: each strategy's paired gain in customer equity per euro of
intervention cost) and the comparison tables.
"""

from __future__ import annotations

import sys

import matplotlib.pyplot as plt
import numpy as np

import cxsim
from cxsim import plots
from cxsim.compare import mean_interval, write_comparison
from cxsim.runner import resize
from cxsim.vocabulary import pretty_name

from _workshop import parser, save, scenario


@plots.styled
def figure(segments: dict[str, np.ndarray], actives: dict[str, float],
           gains: dict[str, np.ndarray], costs: dict[str, float], title: str,
           currency: str):
    """Left: CLV by segment (mean, 95 % interval); right: equity gained per unit spent."""
    fig, (left, right) = plt.subplots(1, 2, figsize=plots.SLIDE, width_ratios=(1, 1.6))
    names = list(segments)
    colours = plots.strategy_colours(["_", *names])
    for i, name in enumerate(names):
        mean, lo, hi, _, _ = mean_interval(segments[name])
        left.bar(i, mean, width=0.6, color=colours[name],
                 yerr=[[mean - lo], [hi - mean]], capsize=8)
        left.annotate(f"{mean:,.0f}\n{actives[name]:,.0f} customers", (i, hi),
                      xytext=(0, 6), textcoords="offset points", ha="center", va="bottom")
    left.set_xticks(range(len(names)), [pretty_name(n) for n in names])
    left.set_ylabel(f"CLV ({currency} per customer)")
    left.set_title("Worth of a customer, baseline")
    left.set_ylim(0, left.get_ylim()[1] * 1.2)
    left.margins(x=0.12)
    left.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    order = sorted(gains, key=lambda s: np.mean(gains[s]) / costs[s])
    for k, name in enumerate(order):
        per = gains[name] / costs[name]
        mean, lo, hi, _, _ = mean_interval(per)
        right.barh(k, mean, height=0.55, color="#1f77b4" if lo > 0 else "#9a9a9a",
                   xerr=[[mean - lo], [hi - mean]], capsize=6)
        right.annotate(f"{mean:+.1f}  (cost {costs[name]:,.0f} {currency})", (max(hi, 0), k),
                       xytext=(8, 0), textcoords="offset points", va="center")
    right.axvline(0.0, color="#333333", lw=0.8)
    right.set_yticks(range(len(order)), [pretty_name(n) for n in order])
    right.set_xlabel(f"customer equity (CLV x customers) gained per {currency} spent in the "
                     "run,\npaired, 95 % interval; CLV assumes the strategy keeps running")
    right.set_title(f"Lifetime value bought per {currency} (blue: interval clear of 0)")
    right.margins(x=0.35)
    plots._suptitle(fig, title, 80)
    return fig


def main() -> int:
    p = parser(__doc__, 50_000, 365, 6, "results/clv")
    a = p.parse_args()
    sc = scenario(a.scenario)
    ticks = max(1, round(a.days / sc.simulation.tick_days))
    result = cxsim.compare(sc, None, replications=a.reps, seed=17, workers=a.workers,
                           customers=a.customers, ticks=ticks, progress=sys.stderr.isatty())
    write_comparison(result, a.out)
    runs = result.runs.set_index(["strategy", "replicate"])
    base = runs.loc["baseline"]
    # the baseline's segments: the same runs again (same seeds), for their segment tables
    small = resize(sc, a.customers, days=a.days)
    segments: dict[str, list[float]] = {}
    actives: dict[str, list[float]] = {}
    for seed in base["seed"]:
        seg = cxsim.run(small, int(seed)).segments
        last = seg[seg["tick"] == seg["tick"].max()]
        for row in last.itertuples():
            segments.setdefault(row.segment, []).append(row.clv)
            actives.setdefault(row.segment, []).append(row.active)
    equity_base = (base["clv"] * base["active"]).to_numpy(dtype=float)
    gains, costs = {}, {}
    for name in result.strategies:
        if name == "baseline":
            continue
        r = runs.loc[name]
        costs[name] = float(r["intervention_cost"].mean())
        if costs[name] > 0:
            gains[name] = (r["clv"] * r["active"]).to_numpy(dtype=float) - equity_base
    currency = sc.economics.currency
    fig = figure({k: np.array(v) for k, v in segments.items()},
                 {k: float(np.mean(v)) for k, v in actives.items()}, gains, costs,
                 f"{sc.name}: what a customer is worth, and what strategies buy",
                 currency)
    save(fig, a.out, "clv.png")
    print(f"CLV by segment, baseline (mean [95 % interval] over {a.reps} replications):")
    for name, v in segments.items():
        mean, lo, hi, _, _ = mean_interval(np.array(v))
        print(f"  {name:<14} {mean:>10,.0f} [{lo:,.0f}, {hi:,.0f}] {currency} per customer")
    print("customer equity gained per unit of intervention cost (paired, 95 % interval):")
    for name, g in sorted(gains.items(), key=lambda kv: -np.mean(kv[1]) / costs[kv[0]]):
        mean, lo, hi, _, _ = mean_interval(g / costs[name])
        dclv = (runs.loc[name, "clv"] - base["clv"]).to_numpy(dtype=float)
        m2, lo2, hi2, _, _ = mean_interval(dclv)
        print(f"  {name:<22} {mean:+7.2f} [{lo:+.2f}, {hi:+.2f}]   CLV {m2:+,.1f} "
              f"[{lo2:+,.1f}, {hi2:+,.1f}] {currency}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
