"""Many small runs in one ensemble, against one large run and against one by one.

The issue's target: R runs of n customers advanced together (``cxsim.Ensemble``) in at most
1.5x the time of one run of R x n customers, for the same days.  Also timed: the same R runs
one after the other in this process, and the share of the ensemble's time spent in the
kernel pass.  All three are measured in this run (the machine is shared: ratios, not
absolute times, are what compare).  A few members are checked bit-identical to their single
runs first.  Set-up (building the models) is excluded; compilation is warmed up.

    python experiments/bench/ensemble.py                         # 64 x 10^4, 365 days
    python experiments/bench/ensemble.py --runs 4 --customers 2000 --days 5 --no-save
"""

from __future__ import annotations

import argparse
import time

import cxsim
from cxsim.runner import resize

from _common import clock, count, record, run_main


def _timed_ensemble(scenario, runs: int) -> tuple[float, float, cxsim.Ensemble]:
    """Seconds to run an ensemble of ``runs`` seeds, and the seconds of its kernel passes."""
    from cxsim.kernels import ensemble as kernel

    ens = cxsim.Ensemble(scenario, seeds=range(runs))
    spent: list[float] = []
    inner = clock(kernel, "advance_ensemble", spent)
    try:
        t0 = time.perf_counter()
        ens.run()
        wall = time.perf_counter() - t0
    finally:
        kernel.advance_ensemble = inner
    return wall, sum(spent), ens


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=count, default=64)
    p.add_argument("--customers", type=count, default=10_000, help="customers of each run")
    p.add_argument("--days", type=count, default=365)
    p.add_argument("--one-by-one", type=count, default=16, metavar="K",
                   help="time K of the runs one by one and scale to all (default 16)")
    p.add_argument("--no-save", action="store_true", help="do not append to results.jsonl")
    a = p.parse_args()
    small = resize(cxsim.default_scenario(), customers=a.customers, days=a.days)
    large = resize(cxsim.default_scenario(), customers=a.runs * a.customers, days=a.days)
    warm = resize(small, days=2)
    cxsim.Ensemble(warm, seeds=[0, 1]).run()  # compile both kernels before timing
    cxsim.CXModel(warm, rng=0).run()

    ens_s, kernel_s, ens = _timed_ensemble(small, a.runs)
    for r in {0, a.runs - 1}:  # bit-identical to the single run
        assert ens.models[r].metrics.equals(cxsim.CXModel(small, rng=r).run().metrics)
    model = cxsim.CXModel(large, rng=0)
    t0 = time.perf_counter()
    model.run()
    large_s = time.perf_counter() - t0
    k = min(a.one_by_one, a.runs)
    models = [cxsim.CXModel(small, rng=r) for r in range(k)]
    t0 = time.perf_counter()
    for m in models:
        m.run()
    alone_s = (time.perf_counter() - t0) * a.runs / k
    ticks = small.simulation.ticks
    record("ensemble", {
        "scenario": "default", "runs": a.runs, "customers": a.customers, "days": a.days,
        "ensemble_s": round(ens_s, 3), "large_run_s": round(large_s, 3),
        "one_by_one_s": round(alone_s, 3), "one_by_one_measured_runs": k,
        "ratio_ensemble_over_large": round(ens_s / large_s, 2),
        "speedup_over_one_by_one": round(alone_s / ens_s, 2),
        "kernel_share_of_ensemble": round(kernel_s / ens_s, 3),
        "fixed_ms_per_run_tick": round((ens_s - kernel_s) / (a.runs * ticks) * 1e3, 4),
        "customer_ticks_per_s": {
            "ensemble": round(a.runs * a.customers * ticks / ens_s),
            "large_run": round(a.runs * a.customers * ticks / large_s),
            "one_by_one": round(a.runs * a.customers * ticks / alone_s)},
    }, save=not a.no_save)


if __name__ == "__main__":
    run_main(main)
