"""Where a cold ``cxsim run`` spends its compile time: one row per compiled function.

Runs ``cxsim run`` in this process with an empty numba cache folder (set before numba is
imported) and records numba's ``numba:compile`` events: each compile's CPU time, inclusive
of the functions it compiles in turn (``total_s``) and without them (``self_s``), and how
many specialisations (signatures) each function got, and the CPU time of the second process
that compiles the customer step meanwhile (cxsim.kernels.precompile; ``--serial``: none, all
compiled here).

    python experiments/bench/compile_profile.py                    # 100k customers, 365 days
    python experiments/bench/compile_profile.py --customers 2000 --days 10
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=int, default=100_000)
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--top", type=int, default=40, help="rows shown (by self time)")
    p.add_argument("--keep-cache", action="store_true",
                   help="use NUMBA_CACHE_DIR as set (default: a new empty folder)")
    p.add_argument("--serial", action="store_true",
                   help="compile everything in this process (no second compiling process)")
    a = p.parse_args()
    if not a.keep_cache:
        os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="cxsim-cold-")
    t_start = time.process_time()
    from numba.core import event

    from cxsim import cli
    from cxsim.kernels import precompile

    if a.serial:
        precompile.start = lambda: None

    t_import = time.process_time()
    stack: list[list] = []  # [name, start, child time]
    rows: dict[str, dict] = {}

    class Listener(event.Listener):
        def on_start(self, ev):
            stack.append([_name(ev.data), time.process_time(), 0.0, _sig(ev.data)])

        def on_end(self, ev):
            name, t0, child, sig = stack.pop()
            dur = time.process_time() - t0
            if stack:
                stack[-1][2] += dur
            row = rows.setdefault(name, {"n": 0, "total": 0.0, "self": 0.0, "sigs": []})
            row["n"] += 1
            row["self"] += dur - child
            if not stack:
                row["total"] += dur
            row["sigs"].append(sig)

    with tempfile.TemporaryDirectory() as out, event.install_listener("numba:compile",
                                                                      Listener()):
        code = cli.main(["run", "--customers", str(a.customers), "--days", str(a.days),
                         "--quiet", "--out", out])
    t_end = time.process_time()
    if code:
        sys.exit(code)
    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    self_total = sum(r["self"] for r in rows.values())
    print(f"import {t_import - t_start:.2f} s, run {t_end - t_import:.2f} s, "
          f"compiling {self_total:.2f} s in {sum(r['n'] for r in rows.values())} compiles "
          f"of {len(rows)} functions; a second compiling process "
          f"{child.ru_utime + child.ru_stime:.2f} s")
    print(f"{'function':44s} {'sigs':>4s} {'self_s':>7s} {'top_s':>7s}")
    for name, r in sorted(rows.items(), key=lambda kv: -kv[1]["self"])[:a.top]:
        print(f"{name:44s} {r['n']:4d} {r['self']:7.2f} {r['total']:7.2f}")
    if os.environ.get("CXSIM_PROFILE_SIGS"):
        for name, r in rows.items():
            if r["n"] > 1:
                print(name)
                for s in r["sigs"]:
                    print("   ", s)


def _name(data) -> str:
    d = data["dispatcher"]
    return f"{d.py_func.__module__.removeprefix('cxsim.')}.{d.py_func.__name__}"


def _sig(data) -> str:
    return ", ".join(str(t) for t in data["args"])


if __name__ == "__main__":
    main()
