"""Calibrate the retailer to "its own numbers", recover the hidden values, decide under them.

A workshop can follow it step by step (README, "Bring your own numbers"):

1. **Company data.**  The retailer (``scenarios/retail.toml``) is run once at parameter values
   the calibration does not know (``HIDDEN``), over 18 months, and its books are read as a
   company would report them (``targets.csv``): monthly churn with the customers at risk,
   NPS per quarter with its respondents, and the contact centre's contacts per month.
2. **Calibration.**  ``cxsim.calibrate`` fits the three parameters from wide priors: Optuna's
   TPE for the estimate, adaptive importance sampling for the posterior.  The recovery
   table (truth, estimate, 90 % interval) is printed and written (``recovery.csv``).
3. **A decision under the posterior.**  ``fix_courier`` against the baseline with every
   replicate on its own posterior draw, beside the same comparison at the estimate (noise
   only): the difference the parameters' uncertainty makes to the payback.

    python experiments/calibration.py                           # 20,000 people, 540 days
    python experiments/calibration.py --customers 3000 --days 120 --budget 32 --reps 2 \
        --compare-reps 4 --out /tmp/cal      # a small check (the test suite runs this)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

import cxsim
from cxsim.calibrate import calibrate, format_result
from cxsim.compare import compare, format_comparison
from cxsim.metrics import aggregate, aggregate_part
from cxsim.plots import posterior_pairs, save
from cxsim.runner import build_scenario, resize

#: the values the "company" has, which the calibration must find
HIDDEN = {
    "segments.occasional.base_churn": 0.066,      # the scenario says 0.051
    "segments.occasional.need_rates.support": 0.017,  # 0.012: more contacts
    "touchpoints.delivery.quality": 0.88,        # 0.935: a worse delivery experience
}

#: the priors the analyst gives: wide, around what the industry benchmarks say
PRIORS = {
    "segments.occasional.base_churn": "uniform(0.02,0.12)",
    "segments.occasional.need_rates.support": "uniform(0.004,0.03)",
    "touchpoints.delivery.quality": "uniform(0.75,0.99)",
}

#: seed of the company's own history (not one the calibration uses)
COMPANY_SEED = 20_261_202


def company_targets(scenario: cxsim.Scenario, days: int, seed: int = COMPANY_SEED
                    ) -> pd.DataFrame:
    """The hidden company's reported numbers as a targets table (one row per figure)."""
    result = cxsim.run(build_scenario(scenario.to_dict(), HIDDEN), seed)
    m, q = result.metrics, result.queues
    initial = result.summary["initial_customers"]
    rows = []
    month = 30
    for start in range(1, days - month + 2, month):
        end = start + month - 1
        at_risk = initial if start == 1 else int(m.loc[m["tick"] == start - 1, "active"].iloc[0])
        rows.append({"metric": "monthly_churn", "day_from": start, "day_to": end,
                     "value": aggregate(m, "monthly_churn", start, end,
                                        initial_customers=initial),
                     "n": at_risk})
        rows.append({"metric": "arrivals", "day_from": start, "day_to": end,
                     "team": "contact_centre",
                     "value": aggregate_part(q, "team", "contact_centre", "arrivals", start,
                                             end)})
    quarter = 90
    for start in range(1, days - quarter + 2, quarter):
        end = start + quarter - 1
        window = m[(m["tick"] >= start) & (m["tick"] <= end)]
        rows.append({"metric": "nps", "day_from": start, "day_to": end,
                     "value": aggregate(m, "nps", start, end),
                     "n": int(window["nps_respondents"].sum())})
    return pd.DataFrame(rows, columns=["metric", "day_from", "day_to", "value", "n", "team"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=int, default=20_000)
    p.add_argument("--days", type=int, default=540)
    p.add_argument("--budget", type=int, default=240)
    p.add_argument("--reps", type=int, default=4)
    p.add_argument("--compare-reps", type=int, default=40)
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="calibration-example")
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    # the company's market is the scenario at this size (its numbers are at this scale)
    scenario = resize(cxsim.default_scenario(), customers=a.customers, days=a.days)
    targets = company_targets(scenario, a.days)
    targets.to_csv(out / "targets.csv", index=False)
    print(f"company data: {len(targets)} targets in {out / 'targets.csv'}")

    t0 = time.perf_counter()
    result = calibrate(scenario, out / "targets.csv",
                       [f"{k}={v}" for k, v in PRIORS.items()], budget=a.budget,
                       reps=a.reps, seed=a.seed, workers=a.workers, out=out / "fit",
                       plot=True, progress=True)
    wall = time.perf_counter() - t0
    print(format_result(result))
    recovery = result.summary[["parameter", "estimate", "ci_low", "ci_high"]].copy()
    recovery.insert(1, "truth", [HIDDEN[p] for p in recovery["parameter"]])
    recovery["covered"] = (recovery["ci_low"] <= recovery["truth"]) & (
        recovery["truth"] <= recovery["ci_high"])
    recovery.to_csv(out / "recovery.csv", index=False)
    print(recovery.to_string(index=False))
    print(f"calibration: {result.provenance['evaluations']} parameter sets, "
          f"{result.provenance['runs']} runs in {wall:.0f} s; ESS {result.ess:.0f}")
    save(posterior_pairs(result.posterior, result.priors, result.estimate, truth=HIDDEN,
                         title="Recovered parameters"), out / "recovery.png")

    # a decision under the posterior: the scenario as calibrated (the estimate written in)
    cmp = compare(result.scenario, ["fix_courier"], replications=a.compare_reps,
                  seed=a.seed, posterior=out / "fit", workers=a.workers)
    print(format_comparison(cmp, metrics=("churned", "nps", "profit")))
    cmp.table.to_csv(out / "comparison.csv", index=False)
    cmp.roi.to_csv(out / "roi.csv", index=False)


if __name__ == "__main__":
    main()
