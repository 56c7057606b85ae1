"""The operating environment: IT systems and their outages, omnichannel, the knowledge base."""

from __future__ import annotations

import math

import numpy as np

from .kernels import Touchpoints
from .rng import STREAM_INDEX, uniform
from .scenario import Scenario


class Environment:
    """IT systems (outages close dependent touchpoints) and the operations levels of today.

    ``omnichannel`` and ``knowledge_base`` start each tick at the scenario's levels;
    interventions raise them (:mod:`cxsim.interventions`), and ``outage_factor`` scales each
    system's outage probability (IT resilience).  Outage starts draw from the run's
    ``environment`` stream keyed by system and tick.
    """

    def __init__(self, scenario: Scenario, keys: np.ndarray, tp_index: dict[str, int]):
        self.spec = scenario
        self.key = keys[STREAM_INDEX["environment"]]
        self.system_names = list(scenario.systems)
        self.system_tps = [[tp_index[r] for r in y.touchpoints]
                           for y in scenario.systems.values()]
        self.outage_left = np.zeros(len(scenario.systems))
        self.outage_factor = np.ones(len(scenario.systems))
        self.omnichannel = scenario.operations.omnichannel
        self.knowledge_base = scenario.operations.knowledge_base
        self.systems_down: list[str] = []

    def reset_levels(self) -> None:
        """Back to the scenario's levels before today's interventions apply."""
        ops = self.spec.operations
        self.omnichannel = ops.omnichannel
        self.knowledge_base = ops.knowledge_base
        self.outage_factor[:] = 1.0

    def step(self, t: int, tp: Touchpoints) -> None:
        """Start or continue outages at tick ``t``; close the touchpoints of systems down."""
        dt = self.spec.simulation.tick_days
        self.systems_down = []
        for k, system in enumerate(self.spec.systems.values()):
            if self.outage_left[k] <= 0 and system.outage_probability > 0:
                p_day = system.outage_probability * self.outage_factor[k]
                p_start = 1.0 - (1.0 - p_day) ** dt
                if uniform(self.key, k, t, 0) < p_start:
                    days = -system.outage_days * math.log(uniform(self.key, k, t, 1))
                    self.outage_left[k] = max(1, math.ceil(days / dt))
            scheduled = any(a <= t <= b for a, b in system.scheduled_outages)
            if scheduled or self.outage_left[k] > 0:
                self.outage_left[k] = max(self.outage_left[k] - 1, 0)
                self.systems_down.append(self.system_names[k])
                tp.open[self.system_tps[k]] = 0.0
