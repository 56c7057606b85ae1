"""Moments of truth: which touchpoints drive churn?

Workshop question: if one touchpoint got a little worse — quality and resolution down 0.1,
effort up 0.1, from day one — how much would churn and NPS move?  Touchpoints where a small
slip costs many customers are the ecosystem's *moments of truth*: they deserve the
investment and the monitoring.  Each touchpoint's slip is a strategy compared with the
baseline over paired replications, so the differences are measured, not guessed.

    python experiments/moments_of_truth.py                      # 30k customers, 1 year
    python experiments/moments_of_truth.py --customers 2000 --days 60 --reps 2

Writes ``OUT/moments_of_truth.png`` and the comparison tables.
"""

from __future__ import annotations

import dataclasses
import sys

import cxsim
from cxsim import plots
from cxsim.compare import write_comparison
from cxsim.scenario import Intervention, Strategy

from _workshop import parser, save, scenario

SLIP = 0.1  # quality and resolution −0.1, effort +0.1 (an improve_touchpoint of −0.1)


def main() -> int:
    p = parser(__doc__, 30_000, 365, 5, "results/moments_of_truth")
    p.add_argument("--slip", type=float, default=SLIP, help=f"size of the slip ({SLIP})")
    a = p.parse_args()
    sc = scenario(a.scenario)
    slips = {f"{name} worse": Strategy(
        description=f"{name}: quality and resolution −{a.slip:g}, effort +{a.slip:g}",
        interventions=[Intervention(type="improve_touchpoint", target=name, start=0,
                                    amount=-a.slip)])
        for name, tp in sc.touchpoints.items() if tp.enabled}
    sc = dataclasses.replace(sc, strategies=slips)
    result = cxsim.compare(sc, None, replications=a.reps, seed=5, workers=a.workers,
                           customers=a.customers, ticks=round(a.days / sc.simulation.tick_days),
                           progress=sys.stderr.isatty())
    write_comparison(result, a.out)
    t = result.table[result.table["metric"] == "monthly_churn"].set_index("strategy")
    ranked = sorted(slips, key=lambda n: -t.loc[n, "diff"])
    ranked_result = dataclasses.replace(result, strategies=("baseline", *ranked))
    fig = plots.forest_plot(ranked_result, metrics=("monthly_churn", "nps", "profit"))
    fig.suptitle(f"{sc.name}: moments of truth — a slip of {a.slip:g} at one touchpoint, "
                 f"difference from baseline (95 % interval, {a.reps} paired replications)",
                 fontsize=14, fontweight="bold")
    save(fig, a.out, "moments_of_truth.png")
    print("touchpoints by the monthly churn a slip there adds (percentage points):")
    for name in ranked:
        r = t.loc[name]
        print(f"  {name:<24} {100 * r['diff']:+.3f} [{100 * r['diff_ci_low']:+.3f}, "
              f"{100 * r['diff_ci_high']:+.3f}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
