"""Sweep throughput against single-run throughput × workers: the runner's overhead.

For runs of about one second and of about a tenth of a second, measure in one sitting:

- ``single_s``: one run in a fresh worker process with one numba thread (what each worker
  does), after a warm-up, median of at least ``--repeats`` runs and ``--least`` seconds,
  with the other cores idle; ``single_all_cores_busy_s`` the same with every worker timing
  runs at once (the cores then share memory bandwidth and caches, as in a sweep);
- ``sweep_s``: a sweep of RUNS such runs (replications) on ``--workers`` processes (process
  pool; and Dask LocalCluster when the dask extra is installed), end to end: starting the
  workers, loading the compiled kernels from numba's cache, journaling every run and
  writing the runs table;
- ``efficiency`` = (runs / sweep_s) / (workers / single_s): 1.0 would be a runner with no
  overhead at all.  Below 1 it includes the runner's overhead and the workers contending
  for memory bandwidth, which a single run on an idle machine does not;
  ``efficiency_vs_busy`` compares with the busy-cores single run instead: the runner's
  own overhead;
- ``startup_s``: time to the first finished run minus one run (starting the workers).

    python experiments/bench/sweep.py
    python experiments/bench/sweep.py --sizes 1500:20:4 --repeats 1 --least 0 --no-save
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import cxsim
from cxsim.executors import process_pool
from cxsim.runner import resize
from cxsim.sweep import sweep

from _common import count, record, run_main, run_sizes, seconds


def _timed_runs(scenario: cxsim.Scenario, repeats: int, least_s: float = 4.0) -> float:
    cxsim.run(scenario, 0)  # warm-up: load the kernels
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < repeats or time.perf_counter() - start < least_s:
        t0 = time.perf_counter()
        cxsim.run(scenario, len(times) + 1)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def single_run_seconds(scenario: cxsim.Scenario, repeats: int, least_s: float,
                       at_once: int = 1) -> float:
    """Median wall time of one run in a fresh worker process (one numba thread), warm.

    With ``at_once`` > 1, that many workers time runs at the same time (each core busy, as
    in a sweep) and the mean of their medians is returned.
    """
    pool = process_pool(at_once)  # the same set-up as a sweep's workers
    try:
        futures = [pool.submit(_timed_runs, scenario, repeats, least_s)
                   for _ in range(at_once)]
        return statistics.mean(f.result() for f in futures)
    finally:
        pool.shutdown()


def sweep_seconds(scenario: cxsim.Scenario, runs: int, workers: int, scheduler: str | None
                  ) -> tuple[float, float]:
    """(end-to-end seconds, seconds to the first finished run) of a sweep of ``runs`` runs.

    The runs are replications of one design point (the scenario as it is), so their work
    matches the single run's in expectation and only the runner's overhead differs.
    """
    value = scenario.touchpoints[next(iter(scenario.touchpoints))].quality
    path = f"touchpoints.{next(iter(scenario.touchpoints))}.quality"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "sweep"
        t0 = time.perf_counter()
        sweep(scenario, {path: [value]}, replications=runs, out=out, workers=workers,
              scheduler=scheduler)
        total = time.perf_counter() - t0
        meta = json.loads((out / "sweep.json").read_text())
        return total, float(meta["first_result_seconds"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=run_sizes, default="35000:365:24,1500:150:300",
                   help="CUSTOMERS:DAYS:RUNS per run size (default: runs of about 1 s and "
                        "0.1 s, and sweeps of about 12 s of work per worker)")
    p.add_argument("--workers", type=count, default=2)
    p.add_argument("--repeats", type=count, default=3, help="single runs timed, at least")
    p.add_argument("--least", type=seconds, default=4.0,
                   help="seconds of single runs timed, at least (default 4)")
    p.add_argument("--no-save", action="store_true", help="do not append to results.jsonl")
    a = p.parse_args()
    try:
        import distributed  # noqa: F401
        schedulers = [None, "local"]
    except ImportError:
        schedulers = [None]
    base = cxsim.default_scenario()
    rows = []
    for customers, days, runs in a.sizes:
        sc = resize(base, customers=int(customers), days=days)
        single = single_run_seconds(sc, a.repeats, a.least)
        busy = single_run_seconds(sc, a.repeats, a.least, at_once=a.workers)
        ideal = a.workers / single
        row = {"customers": int(customers), "days": days, "single_s": round(single, 4),
               "single_all_cores_busy_s": round(busy, 4), "ideal_runs_per_s": round(ideal, 3)}
        for scheduler in schedulers:
            total, first = sweep_seconds(sc, runs, a.workers, scheduler)
            key = "processes" if scheduler is None else "dask_local"
            row[key] = {"runs": runs, "sweep_s": round(total, 3),
                        "runs_per_s": round(runs / total, 3),
                        "efficiency": round(runs / total / ideal, 3),
                        "efficiency_vs_busy": round(runs / total / (a.workers / busy), 3),
                        "startup_s": round(max(0.0, first - single), 3)}
        rows.append(row)
    record("sweep", {"scenario": "default", "workers": a.workers, "sizes": rows},
           save=not a.no_save)


if __name__ == "__main__":
    run_main(main)
