"""Predictive retention: how good must the churn model be for outreach to pay?

Workshop question: every month the retailer scores its customers by churn risk and calls
the top 10 % with a retention offer (``proactive_retention``: offer_cost per contact, churn
log-odds + offer_effect for offer_days).  The score is the customers' true churn hazard
blurred with noise to a chosen discrimination (AUC, from 0.5, a coin, to a perfect score:
the true hazard, whose AUC is below 1 because churn is a coin flip even for it).  For each
AUC the figure shows what a contact is worth before its cost (the paired profit difference
against doing nothing plus the offers' cost, per contact: the offer cost at which outreach
breaks even; 95 % intervals over paired replications) against the offer cost paid, and the
churned customers prevented.  Outreach pays at the AUCs whose points lie above the offer
cost; the table printed at the end adds the profit difference, ROI, precision and lift.

    python experiments/proactive_retention.py                     # 50k customers, 1 year
    python experiments/proactive_retention.py --customers 5000 --days 90 --reps 2

Writes ``OUT/proactive_retention.png`` and the comparison tables (``comparison.csv``,
``runs.csv`` with each run's ``retention_*`` figures, ``roi.csv``).
"""

from __future__ import annotations

import dataclasses
import sys
import warnings

import cxsim
from cxsim import plots
from cxsim.compare import write_comparison
from cxsim.retention import RetentionWarning, comparison_table
from cxsim.scenario import Intervention, Strategy

from _workshop import parser, save, scenario

#: the AUCs compared; 1.0 asks for a perfect score (capped at the oracle's AUC)
AUCS = (0.5, 0.6, 0.7, 0.75, 0.8, 1.0)


def name_of(auc: float) -> str:
    """The strategy's name for a target AUC."""
    return "perfect score" if auc >= 1.0 else f"AUC {auc:.2f}"


def main() -> int:
    p = parser(__doc__, 50_000, 365, 6, "results/proactive_retention")
    p.add_argument("--share", type=float, default=0.10,
                   help="share of the scored customers reached each wave (default 0.10)")
    p.add_argument("--offer-cost", type=float, default=None,
                   help="cost per contact (default: the schema's offer_cost)")
    p.add_argument("--aucs", default=",".join(f"{a:g}" for a in AUCS),
                   help="target AUCs, 0.5-1 (1: a perfect score)")
    a = p.parse_args()
    if not 0.0 < a.share <= 1.0:
        p.error(f"--share must be in (0, 1], got {a.share:g}")
    try:
        aucs = sorted({float(x) for x in a.aucs.split(",")})
    except ValueError:
        p.error(f"--aucs: numbers from 0.5 to 1, got '{a.aucs}'")
    if not all(0.5 <= x <= 1.0 for x in aucs):
        p.error(f"--aucs: numbers from 0.5 to 1, got '{a.aucs}'")
    sc = scenario(a.scenario)
    extra = {} if a.offer_cost is None else {"offer_cost": a.offer_cost}
    strategies = {
        name_of(x): Strategy(
            description=f"monthly outreach to the top {a.share:.0%} by a score of AUC {x:g}",
            interventions=[Intervention(type="proactive_retention", amount=a.share, auc=x,
                                        **extra)])
        for x in aucs}
    sc = dataclasses.replace(sc, strategies=strategies)
    with warnings.catch_warnings():  # a perfect score is capped at the oracle: on purpose
        warnings.simplefilter("ignore", RetentionWarning)
        result = cxsim.compare(sc, None, replications=a.reps, seed=17, workers=a.workers,
                               customers=a.customers,
                               ticks=round(a.days / sc.simulation.tick_days),
                               progress=sys.stderr.isatty())
    write_comparison(result, a.out)
    iv = next(iter(strategies.values())).interventions[0]
    fig = plots.retention_value(
        result, title=f"{sc.name}: how good must the churn model be for outreach to pay? "
                      f"(top {a.share:.0%} every {iv.cadence:g} days, "
                      f"{sc.economics.currency}{iv.offer_cost:g} per contact)",
        currency=sc.economics.currency, offer_cost=iv.offer_cost)
    save(fig, a.out, "proactive_retention.png")
    table = comparison_table(result)
    print(f"against the baseline (mean and 95 % interval over {a.reps} paired replications):")
    print(table.to_string(index=False, float_format=lambda v: f"{v:,.3f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
