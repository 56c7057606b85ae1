"""Throughput of the numba engine against the Mesa engine, measured in one run.

Customer-ticks per second = market size x ticks / wall time of ``model.run`` (set-up and
compilation excluded: both engines are warmed up first).  The Mesa engine steps every customer
as a Python ``mesa.Agent``; it runs the same market for fewer ticks because it is slow, and
throughput is per customer-tick so the two are comparable.

    python experiments/bench/engines.py                 # 100k: 365 ticks numba, 5 ticks mesa
    python experiments/bench/engines.py --customers 2000 --ticks 5 --mesa-customers 500 --no-save
"""

from __future__ import annotations

import argparse
import time

import cxsim
from cxsim.runner import resize

from _common import count, record, run_main


def throughput(customers: int, ticks: int, engine: str, seed: int = 1) -> float:
    """Customer-ticks per second of ``engine`` on the default scenario."""
    scenario = resize(cxsim.default_scenario(), customers=customers, days=ticks)
    cxsim.CXModel(resize(scenario, customers=min(customers, 500)), rng=seed,
                  engine=engine).run(2)  # warm-up: compile
    model = cxsim.CXModel(scenario, rng=seed, engine=engine)
    t0 = time.perf_counter()
    model.run(ticks)
    return customers * ticks / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=count, default=100_000)
    p.add_argument("--ticks", type=count, default=365)
    p.add_argument("--mesa-customers", type=count, default=100_000)
    p.add_argument("--mesa-ticks", type=count, default=5)
    p.add_argument("--no-save", action="store_true", help="do not append to results.jsonl")
    a = p.parse_args()
    numba_rate = throughput(a.customers, a.ticks, "numba")
    mesa_rate = throughput(a.mesa_customers, a.mesa_ticks, "mesa")
    record("engines", {
        "scenario": "default", "numba": {"customers": a.customers, "ticks": a.ticks,
                                         "customer_ticks_per_s": round(numba_rate)},
        "mesa": {"customers": a.mesa_customers, "ticks": a.mesa_ticks,
                 "customer_ticks_per_s": round(mesa_rate)},
        "ratio_numba_over_mesa": round(numba_rate / mesa_rate, 1),
    }, save=not a.no_save)


if __name__ == "__main__":
    run_main(main)
