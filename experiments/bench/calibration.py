"""Calibration speed: a 3-parameter recovery on the default scenario with default settings.

The worked example's problem (``experiments/calibration.py``): the retailer at 20,000
people over 540 days (18 months), "company data" at hidden values (monthly churn with the
customers at risk, NPS per quarter with its respondents, the contact centre's contacts per
month), three parameters from wide priors, ``cxsim.calibrate`` with its default budget,
replicates and batch on every core.  Records the wall time (point estimate and posterior
together), the parameter sets and runs, the effective sample size and the recovery
(truth, estimate, 90 % interval).  The issue's target: at most 15 minutes.

    python experiments/bench/calibration.py                          # the target's size
    python experiments/bench/calibration.py --customers 2000 --days 90 --budget 16 \
        --reps 1 --no-save
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the worked example

import cxsim  # noqa: E402
from cxsim.calibrate import BUDGET, REPS, calibrate  # noqa: E402
from cxsim.runner import resize  # noqa: E402

from _common import count, record, run_main  # noqa: E402
from calibration import HIDDEN, PRIORS, company_targets  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=count, default=20_000)
    p.add_argument("--days", type=count, default=540)
    p.add_argument("--budget", type=count, default=BUDGET)
    p.add_argument("--reps", type=count, default=REPS)
    p.add_argument("--no-save", action="store_true", help="do not append to results.jsonl")
    a = p.parse_args()
    scenario = resize(cxsim.default_scenario(), customers=a.customers, days=a.days)
    with tempfile.TemporaryDirectory() as tmp:
        targets = company_targets(scenario, a.days)
        t0 = time.perf_counter()
        result = calibrate(scenario, targets, [f"{k}={v}" for k, v in PRIORS.items()],
                           budget=a.budget, reps=a.reps, out=Path(tmp) / "fit")
        wall = time.perf_counter() - t0
    rows = []
    for r in result.summary.itertuples():
        truth = HIDDEN[r.parameter]
        rows.append({"parameter": r.parameter, "truth": truth, "estimate": r.estimate,
                     "ci_low": r.ci_low, "ci_high": r.ci_high,
                     "covered": bool(r.ci_low <= truth <= r.ci_high)})
    meta = result.provenance
    record("calibration", {"scenario": "default", "customers": a.customers, "days": a.days,
                           "targets": len(targets), "budget": a.budget, "reps": a.reps,
                           "workers": os.cpu_count(), "wall_s": round(wall, 1),
                           "evaluations": meta["evaluations"], "runs": meta["runs"],
                           "ess": round(result.ess, 1), "recovery": rows},
           save=not a.no_save)


if __name__ == "__main__":
    run_main(main)
