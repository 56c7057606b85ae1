"""Wall time of ``cxsim run`` on the default scenario, cold (first compile) and warm.

Cold uses an empty numba cache folder (``NUMBA_CACHE_DIR``), so every kernel compiles; warm
runs again with that cache filled.  End to end: process start, import, set-up, the run and
writing the results.

    python experiments/bench/startup.py                   # 100k customers, 365 days
    python experiments/bench/startup.py --customers 2000 --days 10 --no-save
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

from _common import count, record, run_main


def timed_run(args: list[str], env: dict) -> float:
    """Seconds one ``cxsim run`` subprocess takes."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cxsim.cli", "run", *args], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=count, default=100_000)
    p.add_argument("--days", type=count, default=365)
    p.add_argument("--warm-repeats", type=count, default=3)
    p.add_argument("--no-save", action="store_true", help="do not append to results.jsonl")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as out:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        args = ["--customers", str(a.customers), "--days", str(a.days), "--out", out, "--quiet"]
        cold = timed_run(args, env)
        warm = [timed_run(args, env) for _ in range(a.warm_repeats)]
    record("startup", {"scenario": "default", "customers": a.customers, "days": a.days,
                       "cold_s": round(cold, 2), "warm_s": round(min(warm), 2),
                       "warm_all_s": [round(w, 2) for w in warm]}, save=not a.no_save)


if __name__ == "__main__":
    run_main(main)
