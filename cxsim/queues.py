"""Staffed touchpoints as queues: each team's Erlang A day, and settling the contacts it got.

The formulas are in :mod:`cxsim.queueing`; this part owns the state between ticks (each
team's backlog and today's agents, handle time and open minutes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .kernels import TPA_QUEUE_ABANDON, TPA_VISITS, Touchpoints
from .queueing import erlang_a
from .scenario import Scenario
from .workforce import Workforce, mean_of


@dataclass
class QueueDay:
    """One day of every team's queue: volume-weighted sums and a row per team.

    ``offered`` is the contacts offered to all teams; ``sl_sum``, ``asa_sum`` and
    ``occupancy_sum`` the service level, speed of answer (seconds) and occupancy weighted by
    each team's offered contacts (divide by ``offered`` for the day's figure); ``teams`` one
    row per team (the ``queues.csv`` columns), completed by :meth:`Queues.settle`.
    """

    offered: float = 0.0
    sl_sum: float = 0.0
    asa_sum: float = 0.0
    occupancy_sum: float = 0.0
    teams: dict[str, dict] = field(default_factory=dict)


class Queues:
    """Every team's queue: today's waits for customers, and the contacts it settles.

    ``backlog[name]`` holds contacts carried into the next tick; ``state[name]`` today's
    agents on shift, handle time and open minutes.
    """

    def __init__(self, scenario: Scenario, team_tps: dict[str, list[int]]):
        self.spec = scenario
        self.team_tps = team_tps
        self.backlog = {name: 0.0 for name in scenario.teams}
        self.state: dict[str, dict] = {}

    def open_day(self, offered_all: np.ndarray, patience: float, workforce: Workforce,
                 tp: Touchpoints) -> QueueDay:
        """Solve every team's queue for today (Erlang A); return volume-weighted figures.

        ``offered_all`` is the contacts per touchpoint the day is planned for (the previous
        tick's, a persistence forecast; on tick 1 the expected entry volume); ``patience`` the
        active customers' mean queue patience (minutes).  Customers then meet waits drawn so
        that, per contact, abandonment and the mean wait reproduce Erlang A: a waiting
        customer's virtual wait is exponential with mean ``m`` and they hang up when their own
        exponential patience runs out first, with ``m = r / (theta (1 - r))``,
        ``r = P(abandon) / P(wait)``.  Writes ``tp.p_wait`` and ``tp.wait_mean``.
        """
        sc = self.spec
        theta = 1.0 / patience
        out = QueueDay()
        for name, team in sc.teams.items():
            refs = self.team_tps[name]
            staff = workforce.teams[name]
            present = len(staff)
            # agents on shift at once; a team with anyone in it keeps at least one on duty
            agents = (max(1, int(round(present * team.shift_hours / team.open_hours)))
                      if present > 0 else 0)
            arrivals = float(sum(offered_all[j] for j in refs if tp.open[j] > 0))
            offered = arrivals + self.backlog[name]
            minutes = team.open_hours * 60.0 * sc.simulation.tick_days
            aht = workforce.handle_time[name]
            q = erlang_a(offered / minutes, aht, patience, agents,
                         team.service_target / 60.0)
            r = q.p_abandon / q.p_wait if q.p_wait > 0 else 0.0
            mean_virtual = r / (theta * (1.0 - r)) if r < 1.0 else math.inf
            for j in refs:
                tp.p_wait[j] = q.p_wait if offered > 0 else 0.0
                tp.wait_mean[j] = mean_virtual
            self.state[name] = {"agents": agents, "aht": aht, "minutes": minutes}
            out.teams[name] = {
                **workforce.events.get(name, {}), "headcount": present,
                "skill": mean_of(staff, "skill", float("nan")),
                "engagement": mean_of(staff, "engagement", float("nan")),
                "burnout": mean_of(staff, "burnout", float("nan")),
                "offered": offered, "agents": agents, "traffic": offered / minutes * aht,
                "handle_time": aht, "p_wait": q.p_wait, "p_abandon": q.p_abandon,
                "service_level": q.service_level, "asa": q.mean_wait * 60.0,
                "occupancy": q.occupancy}
            if offered > 0:  # volume weights: an idle team adds nothing
                out.offered += offered
                out.sl_sum += offered * q.service_level
                out.asa_sum += offered * (q.mean_wait * 60.0)
                out.occupancy_sum += offered * q.occupancy
        return out

    def settle(self, tpt: np.ndarray, day: QueueDay) -> None:
        """Account today's contacts per team: served + abandoned + backlog = offered.

        Contacts beyond the day's capacity (agents x open minutes / handle time) are carried
        into tomorrow's offered load as backlog, never dropped.  Completes ``day.teams``.
        """
        for name, refs in self.team_tps.items():
            arrivals = float(sum(tpt[j, TPA_VISITS] for j in refs))
            abandoned = float(sum(tpt[j, TPA_QUEUE_ABANDON] for j in refs))
            offered = arrivals + self.backlog[name]
            st = self.state[name]
            capacity = st["agents"] * st["minutes"] / st["aht"]
            served = min(offered - abandoned, capacity)
            backlog = offered - abandoned - served
            self.backlog[name] = backlog
            day.teams[name].update({
                "arrivals": arrivals, "offered_actual": offered, "served": served,
                "abandoned": abandoned, "backlog": backlog, "capacity": capacity,
                "occupancy_actual": min(1.0, served * st["aht"] / st["minutes"] / st["agents"])
                if st["agents"] else 1.0})
