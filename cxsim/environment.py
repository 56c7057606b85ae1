"""The operating environment: IT systems and their outages, omnichannel, the knowledge base."""

from __future__ import annotations

import math

import numpy as np

from .kernels import Touchpoints
from .rng import STREAM_INDEX, uniform
from .scenario import Scenario

#: most outages of one system drawn in one tick; past that the rest of the tick counts as down
#: (reached only by an outage probability near 1 a day with a long tick)
MAX_OUTAGES_PER_TICK = 1000


class Environment:
    """IT systems (outages close dependent touchpoints) and the operations levels of today.

    Outages run in continuous time, whatever the tick: each system starts outages at the
    constant hazard ``-ln(1 - outage_probability)`` a day while it is up, and each lasts an
    exponential time of mean ``outage_days``.  A tick writes the part of it a system is down
    into its touchpoints' ``down_from``/``down_to`` (fractions of the tick), and each
    episode meets the outage if its moment in the tick falls inside (the episodes of a tick
    are spread evenly over it): a half-day outage costs the same whether ticks are days or
    weeks.  Scheduled outages close the whole of each tick they list.

    ``omnichannel`` and ``knowledge_base`` start each tick at the scenario's levels;
    interventions raise them (:mod:`cxsim.interventions`), and ``outage_factor`` scales each
    system's outage probability (IT resilience).  Outage starts and lengths draw from the
    run's ``environment`` stream keyed by system and tick.
    """

    def __init__(self, scenario: Scenario, keys: np.ndarray, tp_index: dict[str, int]):
        self.spec = scenario
        self.key = keys[STREAM_INDEX["environment"]]
        self.system_names = list(scenario.systems)
        self.systems = list(scenario.systems.values())
        self.system_tps = [[tp_index[r] for r in y.touchpoints]
                           for y in scenario.systems.values()]
        #: the day (from the start of the run) each system's current outage ends
        self.down_until = np.zeros(len(scenario.systems))
        self.outage_factor = np.ones(len(scenario.systems))
        self.omnichannel = scenario.operations.omnichannel
        self.knowledge_base = scenario.operations.knowledge_base
        self.systems_down: list[str] = []
        #: the share of the tick each system was down (0-1)
        self.down_share = np.zeros(len(scenario.systems))

    def reset_levels(self) -> None:
        """Back to the scenario's levels before today's interventions apply."""
        ops = self.spec.operations
        self.omnichannel = ops.omnichannel
        self.knowledge_base = ops.knowledge_base
        self.outage_factor[:] = 1.0

    def _outages(self, k: int, t: int, t0: float, t1: float) -> tuple[float, float]:
        """System ``k``'s downtime in the tick ``[t0, t1)`` (days): ``(first, total)``.

        Continues an outage running into the tick, then draws new starts while the system is
        up (the hazard is memoryless, so the draws may start afresh at each tick).
        """
        system = self.systems[k]
        until = self.down_until.item(k)  # (Python floats: the same sums, faster)
        first, total = t1, 0.0
        if until > t0:
            first, total = t0, min(until, t1) - t0
        p_day = min(system.outage_probability * self.outage_factor.item(k), 1.0)
        if p_day <= 0.0:
            return first, total
        # hazard per day of a daily probability; p = 1 is an outage starting every instant
        hazard = -math.log1p(-p_day) if p_day < 1.0 else math.inf
        up = max(t0, until)
        for n in range(MAX_OUTAGES_PER_TICK):
            if up >= t1:
                break
            start = up - math.log(uniform(self.key, k, t, 2 * n)) / hazard
            if start >= t1:
                break
            days = -system.outage_days * math.log(uniform(self.key, k, t, 2 * n + 1))
            until = up = start + days
            first = min(first, start)
            total += min(up, t1) - start
        else:  # past the cap the rest of the tick counts as down
            until = max(until, t1)
            total += max(t1 - up, 0.0)
        self.down_until[k] = until
        return first, total

    def step(self, t: int, tp: Touchpoints) -> None:
        """Run outages through tick ``t``; mark when each system's touchpoints are down.

        Writes ``tp.down_from``/``tp.down_to`` and :attr:`systems_down`.
        """
        dt = self.spec.simulation.tick_days
        t0, t1 = (t - 1) * dt, t * dt
        self.systems_down = []
        for k, system in enumerate(self.systems):
            first, total = self._outages(k, t, t0, t1)
            if system.scheduled_outages and any(a <= t <= b
                                                for a, b in system.scheduled_outages):
                first, total = t0, dt
            share = total / dt
            if share > 1.0 - 1e-9:  # down all tick (the sum of its pieces may round below)
                share = 1.0
            self.down_share[k] = share
            if share <= 0.0:
                continue
            self.systems_down.append(self.system_names[k])
            # several outages of one tick are placed as one stretch of their total length
            lo = min((first - t0) / dt, 1.0 - share)
            hi = 1.0 if share >= 1.0 else lo + share
            for j in self.system_tps[k]:
                if tp.down_to[j] > tp.down_from[j]:  # another system has it down too:
                    lo_j, hi_j = min(lo, tp.down_from[j]), max(hi, tp.down_to[j])  # cover both
                else:
                    lo_j, hi_j = lo, hi
                tp.down_from[j], tp.down_to[j] = lo_j, hi_j
