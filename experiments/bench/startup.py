"""Wall time of ``cxsim run`` on the default scenario, cold (first compile) and warm.

Cold uses an empty numba cache folder (``NUMBA_CACHE_DIR``), so every kernel compiles; warm
runs again with that cache filled.  End to end: process start, import, set-up, the run and
writing the results.

    python experiments/bench/startup.py                   # 100k customers, 365 days
    python experiments/bench/startup.py --customers 2000 --days 10 --no-save
"""

from __future__ import annotations

import os
import tempfile

from _common import record, run_main, run_parser, timed_run


def main() -> None:
    a = run_parser(__doc__, "--warm-repeats", 3).parse_args()
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
