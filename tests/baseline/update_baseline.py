"""Regenerate the regression baseline of the default scenario.

Run this only after a deliberate, documented model change::

    .venv/bin/python tests/baseline/update_baseline.py

and commit the new ``default_seed42.csv`` together with the change that explains it.
"""

from __future__ import annotations

from pathlib import Path

import cxsim
from cxsim.runner import resize

HERE = Path(__file__).resolve().parent
BASELINE = HERE / "default_seed42.csv"
CUSTOMERS, DAYS, SEED = 20_000, 120, 42


def baseline_metrics():
    """Metrics of the default scenario at the baseline's size and seed."""
    scenario = resize(cxsim.default_scenario(), customers=CUSTOMERS, days=DAYS)
    return cxsim.CXModel(scenario, rng=SEED).run().metrics


if __name__ == "__main__":
    baseline_metrics().to_csv(BASELINE, index=False, float_format="%.12g")
    print(f"wrote {BASELINE}")
