"""Cost of the company side: a default run against the same market without it, in one run.

"Core engine alone" removes the teams, partners and IT systems (so no queues, workforce,
partner or outage phases) and keeps every customer-side mechanism.  Both runs are warmed up
(compiled) first; the figure is the ratio of their wall times.

    python experiments/bench/company.py                     # 100k customers, 365 ticks
    python experiments/bench/company.py --customers 2000 --ticks 5 --no-save
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import cxsim
from cxsim.runner import resize

from _common import count, record, run_main


def core_only(scenario: cxsim.Scenario) -> cxsim.Scenario:
    """The scenario without its company side (teams, partners, systems; and so strategies)."""
    return dataclasses.replace(scenario, teams={}, partners={}, systems={}, strategies={})


def wall(scenario: cxsim.Scenario, ticks: int, seed: int = 1) -> float:
    """Seconds to run ``ticks`` ticks (after a warm-up run that compiles everything)."""
    cxsim.CXModel(resize(scenario, customers=500), rng=seed).run(2)
    model = cxsim.CXModel(scenario, rng=seed)
    t0 = time.perf_counter()
    model.run(ticks)
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=count, default=100_000)
    p.add_argument("--ticks", type=count, default=365)
    p.add_argument("--no-save", action="store_true", help="do not append to results.jsonl")
    a = p.parse_args()
    full = resize(cxsim.default_scenario(), customers=a.customers, days=a.ticks)
    t_full = wall(full, a.ticks)
    t_core = wall(core_only(full), a.ticks)
    record("company", {"scenario": "default", "customers": a.customers, "ticks": a.ticks,
                       "full_s": round(t_full, 3), "core_only_s": round(t_core, 3),
                       "slowdown": round(t_full / t_core, 3)}, save=not a.no_save)


if __name__ == "__main__":
    run_main(main)
