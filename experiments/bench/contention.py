"""Wall time of ``cxsim run`` with and without another program keeping a core busy.

Each threading setting runs the default scenario end to end (a fresh process, warm numba
cache) on a quiet machine and while this script keeps one core busy with a competing
process; the ratios against one thread under the same load are what matter, since the
machine is shared.  Settings: cxsim's default (numba's two threads, idle threads sleeping),
one thread (``--threads 1``), and two threads spinning while idle (``OMP_WAIT_POLICY=ACTIVE``,
numba's default before cxsim chose).

    python experiments/bench/contention.py                       # 100k customers, 365 days
    python experiments/bench/contention.py --customers 2000 --days 5 --repeats 1 --no-save
"""

from __future__ import annotations

import multiprocessing as mp
import os
import statistics
import tempfile
import time

from _common import record, run_main, run_parser, timed_run

#: settings compared: name -> (extra command-line arguments, extra environment).  cxsim
#: sets OMP_WAIT_POLICY=PASSIVE unless it is set (cxsim/kernels/__init__.py); "spinning" is
#: GNU OpenMP's spin-waiting (ACTIVE: about what it does by default between parallel loops)
SETTINGS = {
    "default": ([], {}),
    "one_thread": (["--threads", "1"], {}),
    "spinning": ([], {"OMP_WAIT_POLICY": "ACTIVE"}),
}


def _spin(stop) -> None:  # pragma: no cover - runs in the competing process
    while not stop.is_set():
        for _ in range(100_000):
            pass


def main() -> None:
    a = run_parser(__doc__, "--repeats", 3).parse_args()
    figures: dict = {"customers": a.customers, "days": a.days, "repeats": a.repeats}
    with tempfile.TemporaryDirectory() as out:
        base = ["--customers", str(a.customers), "--days", str(a.days), "--out", out,
                "--quiet"]
        clean = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
        timed_run(base, clean)  # fills the numba cache: every timed run is warm
        for load in ("quiet", "one_core_busy"):
            stop = mp.Event()
            hog = mp.Process(target=_spin, args=(stop,), daemon=True)
            if load == "one_core_busy":
                hog.start()
                time.sleep(0.5)
            try:
                times = {name: [] for name in SETTINGS}
                for _ in range(a.repeats):  # interleaved, so drifts in load hit all alike
                    for name, (extra, env) in SETTINGS.items():
                        times[name].append(timed_run(base + extra, {**clean, **env}))
            finally:
                stop.set()
                if hog.is_alive():
                    hog.join(5)
            med = {name: statistics.median(v) for name, v in times.items()}
            figures[load] = {name: {"median_s": round(t, 3),
                                    "vs_one_thread": round(t / med["one_thread"], 3)}
                             for name, t in med.items()}
    record("contention", figures, save=not a.no_save)


if __name__ == "__main__":
    run_main(main)
