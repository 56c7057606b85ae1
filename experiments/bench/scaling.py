"""Scaling with market size, thread scaling, and a full tick against the memory floor.

For each market size (default 10³ … 10⁷ customers) a fresh process builds the default
scenario at that size, runs a few warm-up ticks (compiled kernels come from numba's cache),
then times ``--ticks`` ticks and reports:

- ``tick_ms`` and ``customer_ticks_per_s`` of the full model (every phase of a tick), the
  median over all timed ticks, and ``best_batch_*``: the best median of a batch of 5 ticks
  (this machine is shared; the best batch is the code's speed with quiet neighbours);
- ``peak_rss_mib`` and ``peak_rss_bytes_per_customer``: the process's peak resident memory
  (the Python interpreter, numba and the social network included), and
  ``model_rss_bytes_per_customer``: its growth from before the model was built;
- ``state_bytes_per_customer`` (customer arrays) and ``network_bytes_per_customer`` (CSR);
- ``floor_ms``: a kernel that only reads and writes every per-customer state array once
  (same arrays, same chunked ``prange`` as the real kernel) — the machine's memory limit
  for one tick — and ``tick_over_floor`` = tick_ms / floor_ms.  Batches of ticks and of
  floor passes alternate, so both see the same load.

Thread scaling runs the 10⁶ case with ``NUMBA_NUM_THREADS`` 1 and 2.

    python experiments/bench/scaling.py                      # 1e3 .. 1e7, 1 and 2 threads
    python experiments/bench/scaling.py --sizes 1000,20000 --ticks 3 --no-thread-scaling --no-save
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from _common import count, counts, record, run_main

CHILD = "--child"
BATCH = 5  # ticks per batch between floor passes


def child(size: int, ticks: int) -> dict:
    """Measure one market size in this process (called in a fresh subprocess)."""
    import resource
    import statistics

    import numba
    import numpy as np
    from numba import njit, prange

    import cxsim
    from cxsim.model import CHUNK
    from cxsim.runner import resize

    @njit(parallel=True, cache=False)
    def floor(chunk, f, m, status, segment, satisfaction, expectation, churn_logit, exposure,
              join_tick, referrer_nbrs, nps_bias, pending, events):
        # read and write every per-customer array once: the memory traffic of a tick.  ``f``
        # (1.0) and ``m`` (0) arrive at run time, so the compiler cannot drop the stores
        n = status.shape[0]
        for c in prange((n + chunk - 1) // chunk):
            for i in range(c * chunk, min(n, (c + 1) * chunk)):
                status[i] = status[i] ^ m
                segment[i] = segment[i] ^ m
                satisfaction[i] = satisfaction[i] * f
                expectation[i] = expectation[i] * f
                churn_logit[i] = churn_logit[i] * f
                exposure[i] = exposure[i] * f
                join_tick[i] = join_tick[i] ^ m
                referrer_nbrs[i] = referrer_nbrs[i] ^ m
                nps_bias[i] = nps_bias[i] * f
                pending[i] = pending[i] ^ m
                events[i] = events[i] ^ m

    sc = resize(cxsim.default_scenario(), customers=size, days=ticks + 5)
    # memory of the interpreter, numpy, numba and cxsim before any model exists
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t0 = time.perf_counter()
    model = cxsim.CXModel(sc, rng=1)
    build_s = time.perf_counter() - t0
    for _ in range(3):  # warm-up: kernels from the cache, first-tick effects
        model.step()
    a = model.arrays
    args = (a.status, a.segment, a.satisfaction, a.expectation, a.churn_logit, a.exposure,
            a.join_tick, a.referrer_nbrs, a.nps_bias, a.pending, a.events)
    one, zero = np.float32(float(os.environ.get("CXSIM_FLOOR_F", "1"))), np.uint8(0)
    floor(CHUNK, one, zero, *args)  # compile
    # ticks and floor passes alternate in batches, so that the ratio compares the two under
    # the same load of this shared machine; the best batch shows the code without neighbours
    times, ftimes, batch_medians = [], [], []
    batch = min(BATCH, ticks)  # ticks >= 1 (checked by argparse)
    for b0 in range(0, ticks, batch):
        bt = []
        for _ in range(min(batch, ticks - b0)):
            t = time.perf_counter()
            model.step()
            bt.append(time.perf_counter() - t)
        for _ in range(max(len(bt), 2)):
            t = time.perf_counter()
            floor(CHUNK, one, zero, *args)
            ftimes.append(time.perf_counter() - t)
        times += bt
        batch_medians.append(statistics.median(bt))
    tick = statistics.median(times)
    best = min(batch_medians)
    fl = statistics.median(ftimes)
    net_bytes = model.social.indptr.nbytes + model.social.indices.nbytes
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    return {"customers": size, "threads": numba.get_num_threads(), "ticks": ticks,
            "build_s": round(build_s, 3), "tick_ms": round(tick * 1e3, 3),
            "customer_ticks_per_s": round(size / tick),
            "best_batch_tick_ms": round(best * 1e3, 3),
            "best_batch_customer_ticks_per_s": round(size / best),
            "floor_ms": round(fl * 1e3, 3), "tick_over_floor": round(tick / fl, 2),
            "peak_rss_mib": round(rss / 2 ** 20, 1),
            "peak_rss_bytes_per_customer": round(rss / size, 1),
            "model_rss_bytes_per_customer": round((rss - base_rss) / size, 1),
            "state_bytes_per_customer": a.nbytes_per_customer,
            "network_bytes_per_customer": round(net_bytes / size, 1)}


def measure(size: int, ticks: int, threads: int | None) -> dict:
    """Run :func:`child` in a fresh process (clean peak memory, chosen thread count)."""
    env = dict(os.environ)
    if threads is not None:
        env["NUMBA_NUM_THREADS"] = str(threads)
    proc = subprocess.run([sys.executable, __file__, CHILD, str(size), str(ticks)],
                          capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        return {"customers": size, "threads": threads, "error": proc.stderr.strip()[-400:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == CHILD:
        print(json.dumps(child(int(sys.argv[2]), int(sys.argv[3]))))
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=counts, default="1000,10000,100000,1000000,10000000",
                   help="market sizes, comma-separated")
    p.add_argument("--ticks", type=count, default=40, help="timed ticks per size (default 40)")
    p.add_argument("--thread-size", type=count, default=1_000_000,
                   help="market size of the thread-scaling runs")
    p.add_argument("--no-thread-scaling", action="store_true")
    p.add_argument("--no-save", action="store_true", help="do not append to results.jsonl")
    a = p.parse_args()
    sizes = a.sizes
    import cxsim
    from cxsim.runner import resize

    for n in sizes:  # a size the scenario cannot take stops here, before any measuring
        resize(cxsim.default_scenario(), customers=n).validated()
    rows = [measure(n, a.ticks if n < 5_000_000 else max(3, a.ticks // 4), None)
            for n in sizes]
    figures = {"scenario": "default", "sizes": rows}
    if not a.no_thread_scaling:
        one = measure(a.thread_size, a.ticks, 1)
        two = measure(a.thread_size, a.ticks, 2)
        figures["threads"] = {"one": one, "two": two}
        if "error" not in one and "error" not in two:
            figures["threads"]["speed_up"] = round(one["tick_ms"] / two["tick_ms"], 2)
    record("scaling", figures, save=not a.no_save)


if __name__ == "__main__":
    run_main(main)
