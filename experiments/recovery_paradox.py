"""The service-recovery paradox: can a failure, well recovered, leave customers happier?

Workshop question: the literature reports that customers whose problem was fixed
brilliantly can end up more satisfied than customers who never had a problem (the
service-recovery paradox; McCollough & Bharadwaj 1992), but a meta-analysis finds the
effect on satisfaction and not on loyalty (de Matos, Henrique & Rossi 2007).  Here the
courier fails 5 % of deliveries (or never), and the retailer calls back every customer who
ends a contact as a detractor with a recovery that closes a share of their disappointment
(the ``behaviour.recovery_effect``).  How close does recovery come to never failing?

In cxsim a recovery closes at most the gap between a customer's satisfaction and their
expectation (``recovery_effect`` <= 1: no over-delight), so a paradox could only come from
the recovered customers' later behaviour, not from the recovery itself.  The figure shows
the outcome: better recovery narrows the gap to the reliable courier, and does not close it.

    python experiments/recovery_paradox.py                      # 30k customers, 1 year
    python experiments/recovery_paradox.py --customers 2000 --days 60 --reps 1

Writes ``OUT/recovery_paradox.png`` and the sweep's ``runs.parquet``/``runs.csv``.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import cxsim
from cxsim import plots
from cxsim.compare import mean_interval
from cxsim.scenario import Intervention, Strategy

from _workshop import parser, save, scenario


def main() -> int:
    p = parser(__doc__, 30_000, 365, 3, "results/recovery_paradox")
    p.add_argument("--partner", help="the partner that fails (default: the scenario's first)")
    a = p.parse_args()
    sc = scenario(a.scenario)
    partner = a.partner or next(iter(sc.partners), None)
    if partner not in sc.partners:
        p.error(f"--partner: the scenario has no partner '{partner}' "
                f"(it has {', '.join(sc.partners) or 'none'})")
    # callbacks to every customer who ends a contact as a detractor, all year
    callbacks = Strategy(description="call back detractors", interventions=[
        Intervention(type="service_recovery", start=0, amount=1.0)])
    sc = dataclasses.replace(sc, strategies={"callbacks": callbacks})
    reliability = sc.partners[partner].reliability
    out = Path(a.out) / "sweep"
    path = f"partners.{partner}.reliability"
    params = {path: [reliability, 1.0], "behaviour.recovery_effect": "0:1:5"}
    result = cxsim.sweep(sc, params, replications=a.reps, seed=8, out=out,
                         strategy="callbacks", customers=a.customers, days=a.days,
                         workers=a.workers, resume=(out / "sweep.json").exists(),
                         progress=sys.stderr.isatty())
    runs = result.runs.copy()
    failing = f"fails {1 - reliability:.0%} of jobs"
    runs[partner] = runs[path].map({reliability: failing, 1.0: "never fails"})
    fig = plots.sweep_lines(runs, "behaviour.recovery_effect",
                            outcomes=("satisfaction", "nps", "monthly_churn"), by=partner,
                            title=f"{sc.name}: the service-recovery paradox? (callbacks to "
                                  "detractors; x = share of the disappointment a recovery "
                                  "repairs)")
    save(fig, a.out, "recovery_paradox.png")
    # replicate r shares its seed across the sweep: the failing-minus-reliable difference
    # is paired by replicate, and its interval says whether the model can tell
    wide = runs.pivot_table(index=["behaviour.recovery_effect", "replicate"], columns=partner,
                            values="satisfaction")
    diff = (wide[failing] - wide["never fails"]).groupby(level=0)
    print(f"mean satisfaction, failing minus reliable {partner}, by recovery effect "
          f"(95 % interval over {a.reps} paired replications):")
    verdicts = []
    for effect, d in diff:
        mean, lo, hi, _, _ = mean_interval(d.to_numpy())
        verdicts.append("above" if lo > 0 else "below" if hi < 0 else "unclear")
        print(f"  recovery effect {effect:.2f}: {mean:+.4f} [{lo:+.4f}, {hi:+.4f}]")
    if "above" in verdicts:
        print("the paradox appears: with that recovery, failing beats never failing")
    elif all(v == "below" for v in verdicts):
        print("the paradox does not appear: recovery narrows the gap but never closes it")
    else:
        print("the model cannot tell at this size: run more --reps or --customers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
