"""Where a tick's time goes: wall time of each phase of ``CXModel.step`` at one market size.

Times every phase (interventions, environment, company, queues, customers, social spread,
metrics) and the customer kernel call alone, median over ``--ticks`` ticks after a warm-up.

    python experiments/bench/phases.py                        # 10^6 customers, 20 ticks
    python experiments/bench/phases.py --customers 2000 --ticks 3 --no-save
"""

from __future__ import annotations

import argparse
import statistics
import time

import cxsim
from cxsim import kernels as K
from cxsim.runner import resize

from _common import clock, count, record, run_main

#: each phase of a tick: the part that owns it and the method ``CXModel.step`` calls
PHASES = {
    "interventions": (None, "_phase_interventions"),
    "environment": ("environment", "step"),
    "company": (None, "_phase_company"),
    "queues": (None, "_phase_queues"),
    "customers": (None, "_phase_customers"),
    "social": ("social", "spread"),
    "metrics": (None, "_phase_metrics"),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=count, default=1_000_000)
    p.add_argument("--ticks", type=count, default=20)
    p.add_argument("--no-save", action="store_true", help="do not append to results.jsonl")
    a = p.parse_args()
    model = cxsim.CXModel(resize(cxsim.default_scenario(), customers=a.customers,
                                 days=a.ticks + 5), rng=1)
    for _ in range(3):  # warm-up
        model.step()
    spent: dict[str, list[float]] = {name: [] for name in (*PHASES, "kernel")}
    for name, (part, attr) in PHASES.items():
        clock(model if part is None else getattr(model, part), attr, spent[name])
    kernel = clock(K, "advance_customers", spent["kernel"])
    ticks = []
    try:
        for _ in range(a.ticks):
            t0 = time.perf_counter()
            model.step()
            ticks.append(time.perf_counter() - t0)
    finally:
        K.advance_customers = kernel
    tick = statistics.median(ticks)
    phases = {name: round(statistics.median(v) * 1e3, 3) for name, v in spent.items() if v}
    record("phases", {"scenario": "default", "customers": a.customers, "ticks": a.ticks,
                      "tick_ms": round(tick * 1e3, 3), "phase_ms": phases,
                      "share": {k: round(v / (tick * 1e3), 3) for k, v in phases.items()}},
           save=not a.no_save)


if __name__ == "__main__":
    run_main(main)
