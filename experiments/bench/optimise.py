"""Portfolio search speed: six strategies on/off plus two levers, the issue's problem.

The retailer at 20,000 people over one year; the search of ``experiments/portfolio.py``
(``profit`` and ``nps``, a budget, the contact centre's training and the courier SLA's
reliability as levers) with 200 candidates × 5 replicates, then the Pareto set
re-evaluated on 10 fresh replicates.  Records the wall time, candidates and runs, and
where the time goes: the search's runs, the re-evaluation's, and the rest (Optuna's
proposals, scoring, writing) as the remainder.

    python experiments/bench/optimise.py                       # the issue's size
    python experiments/bench/optimise.py --customers 2000 --days 30 --trials 10 --reps 2 \
        --no-save
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
from cxsim import executors  # noqa: E402
from cxsim.optimise import optimise  # noqa: E402

from _common import count, record, run_main  # noqa: E402
from portfolio import LEVERS  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=count, default=20_000)
    p.add_argument("--days", type=count, default=365)
    p.add_argument("--trials", type=count, default=200)
    p.add_argument("--reps", type=count, default=5)
    p.add_argument("--no-save", action="store_true", help="do not append to results.jsonl")
    a = p.parse_args()
    spent: dict[str, float] = {"runs": 0.0}
    real = executors.run_many

    def timed(*args, **kw):  # the seconds spent running (the rest is the search itself)
        t0 = time.perf_counter()
        try:
            return real(*args, **kw)
        finally:
            spent["runs"] += time.perf_counter() - t0

    import cxsim.optimise as O

    O.run_many = timed
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result = optimise(cxsim.default_scenario(), levers=LEVERS,
                          objectives=["profit:max", "nps:max"], budget=250_000.0,
                          trials=a.trials, reps=a.reps, customers=a.customers, days=a.days,
                          out=Path(tmp) / "search")
        wall = time.perf_counter() - t0
    meta = result.provenance
    record("optimise", {"scenario": "default", "customers": a.customers, "days": a.days,
                        "trials": a.trials, "reps": a.reps, "workers": os.cpu_count(),
                        "wall_s": round(wall, 1), "candidates": meta["candidates"],
                        "runs": meta["runs"], "pareto": meta["pareto"],
                        "run_s": round(spent["runs"], 1),
                        "search_overhead_s": round(wall - spent["runs"], 1),
                        "s_per_run_per_core": round(spent["runs"] * (os.cpu_count() or 1)
                                                    / max(meta["runs"], 1), 3)},
           save=not a.no_save)


if __name__ == "__main__":
    run_main(main)
