"""A single run as a plain function: ``run(scenario, seed) -> RunResult``."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .model import CXModel
from .scenario import Scenario


@dataclass(frozen=True)
class RunResult:
    """The outcome of one run: per-tick tables and the summary, with the seed that made them."""

    scenario: str
    seed: int
    engine: str
    metrics: pd.DataFrame = field(repr=False)
    touchpoints: pd.DataFrame = field(repr=False)
    segments: pd.DataFrame = field(repr=False)
    queues: pd.DataFrame = field(repr=False)
    partners: pd.DataFrame = field(repr=False)
    employees: pd.DataFrame = field(repr=False)
    summary: dict = field(repr=False)


def resize(scenario: Scenario, customers: int | None = None, days: float | None = None
           ) -> Scenario:
    """Return the scenario with a new market size and/or horizon.

    The whole business scales with the market so that per-customer results stay comparable:
    initial customers keep their share, and team head counts (at least 1), partner capacities
    and fixed costs scale in proportion.  ``days`` becomes ``ceil(days / tick_days)`` ticks.
    """
    sc = scenario
    if customers is not None:
        f = int(customers) / sc.market.size
        market = dataclasses.replace(
            sc.market, size=int(customers),
            initial_customers=min(int(customers), int(round(sc.market.initial_customers * f))))
        teams = {n: dataclasses.replace(t, headcount=max(1, int(round(t.headcount * f))))
                 for n, t in sc.teams.items()}
        partners = {n: dataclasses.replace(p, capacity=p.capacity * f)
                    for n, p in sc.partners.items()}
        economics = dataclasses.replace(
            sc.economics, fixed_cost_per_day=sc.economics.fixed_cost_per_day * f)
        sc = dataclasses.replace(sc, market=market, teams=teams, partners=partners,
                                 economics=economics)
    if days is not None:
        ticks = max(1, math.ceil(days / sc.simulation.tick_days - 1e-9))
        sc = dataclasses.replace(sc, simulation=dataclasses.replace(sc.simulation, ticks=ticks))
    return sc


def run(scenario: Scenario, seed: int | np.random.SeedSequence = 0, *, engine: str = "numba",
        ticks: int | None = None, progress: bool = False) -> RunResult:
    """Build a :class:`CXModel`, run it and return its :class:`RunResult`."""
    model = CXModel(scenario, rng=seed, engine=engine)
    model.run(ticks, progress=progress)
    seed_int = seed if isinstance(seed, int) else int(np.asarray(seed.entropy).ravel()[0])
    return RunResult(scenario=scenario.name, seed=seed_int, engine=engine,
                     metrics=model.metrics, touchpoints=model.touchpoint_metrics,
                     segments=model.segment_metrics, queues=model.queue_metrics,
                     partners=model.partner_metrics, employees=model.employee_table,
                     summary=model.summary())
