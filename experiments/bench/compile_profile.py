"""Where a cold ``cxsim run`` spends its compile time: one row per compiled function.

Runs ``cxsim run`` in this process with an empty numba cache folder (set before numba is
imported) and records numba's ``numba:compile`` events: each compile's CPU time, inclusive
of the functions it compiles in turn (``total_s``) and without them (``self_s``), and how
many specialisations (signatures) each function got, and the CPU time of the second process
that compiles the customer step meanwhile (cxsim.kernels.precompile; ``--serial``: none, all
compiled here).  CPU time, not wall time: on a shared machine it varies less, and numba
compiles on one thread.  The table goes to stderr, the figures to stdout and results.jsonl.

    python experiments/bench/compile_profile.py                    # 100k customers, 365 days
    python experiments/bench/compile_profile.py --serial --customers 2000 --days 10
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time

from _common import count, record, run_main


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=count, default=100_000)
    p.add_argument("--days", type=count, default=365)
    p.add_argument("--top", type=int, default=40, help="rows shown and recorded (by self time)")
    p.add_argument("--serial", action="store_true",
                   help="compile everything in this process (no second compiling process)")
    p.add_argument("--no-save", action="store_true", help="do not append to results.jsonl")
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="cxsim-cold-") as cache:
        os.environ["NUMBA_CACHE_DIR"] = cache  # before numba is imported: an empty cache
        figures = profile(a)
    record("compile_profile", figures, save=not a.no_save)


def profile(a: argparse.Namespace) -> dict:
    """Run ``cxsim run`` here with numba's compile events recorded; the table on stderr."""
    t_start = time.process_time()
    from numba.core import event

    from cxsim import cli
    from cxsim.kernels import precompile

    if a.serial:
        precompile.start = lambda: None
    t_import = time.process_time()
    stack: list[list] = []  # [name, start, time of nested compiles]
    rows: dict[str, dict] = {}

    class Listener(event.Listener):
        def on_start(self, ev):
            stack.append([_name(ev.data), time.process_time(), 0.0])

        def on_end(self, ev):
            name, t0, nested = stack.pop()
            dur = time.process_time() - t0
            if stack:
                stack[-1][2] += dur
            row = rows.setdefault(name, {"sigs": 0, "self_s": 0.0, "total_s": 0.0})
            row["sigs"] += 1
            row["self_s"] += dur - nested
            if not stack:
                row["total_s"] += dur

    with tempfile.TemporaryDirectory() as out, event.install_listener("numba:compile",
                                                                      Listener()):
        code = cli.main(["run", "--customers", str(a.customers), "--days", str(a.days),
                         "--quiet", "--out", out])
    t_end = time.process_time()
    if code:
        raise SystemExit(code)
    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    top = sorted(rows.items(), key=lambda kv: -kv[1]["self_s"])[:a.top]
    figures = {
        "customers": a.customers, "days": a.days, "serial": a.serial,
        "import_cpu_s": round(t_import - t_start, 2), "run_cpu_s": round(t_end - t_import, 2),
        "compile_cpu_s": round(sum(r["self_s"] for r in rows.values()), 2),
        "compiles": sum(r["sigs"] for r in rows.values()), "functions": len(rows),
        "second_process_cpu_s": round(child.ru_utime + child.ru_stime, 2),
        "top": [{"function": name, **{k: round(v, 2) for k, v in r.items()}}
                for name, r in top],
    }
    print(f"{'function':44s} {'sigs':>4s} {'self_s':>7s} {'total_s':>7s}", file=sys.stderr)
    for name, r in top:
        print(f"{name:44s} {r['sigs']:4d} {r['self_s']:7.2f} {r['total_s']:7.2f}",
              file=sys.stderr)
    return figures


def _name(data) -> str:
    d = data["dispatcher"]
    return f"{d.py_func.__module__.removeprefix('cxsim.')}.{d.py_func.__name__}"


if __name__ == "__main__":
    run_main(main)
