"""Staffed touchpoints as queues: each team's Erlang A day, and settling the contacts it got.

The formulas are in :mod:`cxsim.queueing`; this part owns the state between ticks (each
team's backlog and today's agents, handle time and open minutes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .intraday import interval_frame, solve_day, team_profile
from .kernels import TPA_FLOW, TPA_QUEUE_ABANDON, TPA_VISITS, Journeys, Touchpoints
from .kernels.erlang import erlang_a_core, forecast
from .kernels.waits import mixture_device
from .queueing import ErlangAResult, wait_device
from .scenario import Scenario
from .workforce import Workforce, mean_of

_TINY = float(np.finfo(float).tiny)

#: half-life of the recent shares of moves between touchpoints used in the forecast (days)
FLOW_HALF_LIFE_DAYS = 7.0


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
        self._refs = {name: np.array(refs, dtype=np.intp) for name, refs in team_tps.items()}
        self.backlog = {name: 0.0 for name in scenario.teams}
        self.state: dict[str, dict] = {}
        n = len(scenario.touchpoints)
        #: moves between touchpoints and visits, summed with a week's half-life
        self.moves = np.zeros((n, n))
        self.visits = np.zeros(n)
        self.memory = 2.0 ** (-scenario.simulation.tick_days / FLOW_HALF_LIFE_DAYS)
        # intraday queues: the teams whose day has intervals, and each interval's row per tick
        self.profiles = {name: p for name, t in scenario.teams.items()
                         if (p := team_profile(t)) is not None}
        self.interval_rows: list[tuple] = []
        self.days = 0

    def start(self, tp: Touchpoints, jr: Journeys) -> None:
        """Seed the shares of moves with what the touchpoint graph implies, for the first tick.

        Before anything is observed, a visit at ``i`` is taken to hand off along ``i``'s
        hand-off pathways when resolved (probability ``resolution``, then each pathway's
        probability) and to escalate along its escalation pathways otherwise (in proportion
        to their weights), needs and patience aside.  It counts as one visit's worth of
        observation, so the first tick's real moves replace it.  Without it the first tick's
        forecast has no escalations or hand-offs at all: about half the retailer's contacts,
        a whole week or month of too short queues at weekly or monthly ticks.
        """
        n = self.visits.shape[0]
        share = np.zeros((n, n))
        for i in range(n):
            rows = slice(jr.path_ptr[i], jr.path_ptr[i + 1])
            to, w, kind = jr.path_to[rows], jr.path_w[rows], jr.path_kind[rows]
            hand_off = kind == 1
            esc = (kind == 0) & (tp.exists[to] > 0)
            np.add.at(share[i], to[hand_off], tp.resolution[i] * w[hand_off])
            if w[esc].sum() > 0:
                np.add.at(share[i], to[esc], (1.0 - tp.resolution[i]) * w[esc] / w[esc].sum())
        total = share.sum(axis=1, keepdims=True)
        self.moves = np.where(total > 1.0, share / np.maximum(total, 1e-300), share)
        self.visits = np.ones(n)

    def forecast(self, entries: np.ndarray) -> np.ndarray:
        """Today's expected contacts per touchpoint from today's expected first contacts.

        Episodes move on (escalations, hand-offs, reroutes after a hang-up) in the shares
        recently seen: ``F[i, j]`` is the share of visits at ``i`` that moved to ``j``.  The
        visits are ``V = E + F'E + F'^2 E + ...`` over at most ``behaviour.max_steps`` steps,
        as an episode walks at most that many.  Entry volumes, the bulk of the load, are
        today's own; only the shares of moves come from the recent past.
        """
        return forecast(self.moves, self.visits, np.ascontiguousarray(entries, dtype=float),
                        self.spec.behaviour.max_steps)

    def observe(self, tpt: np.ndarray) -> None:
        """Add today's visits and moves (``tpt``: the tick's touchpoint table)."""
        n = self.visits.shape[0]
        self.moves = self.memory * self.moves + tpt[:, TPA_FLOW:TPA_FLOW + n]
        self.visits = self.memory * self.visits + tpt[:, TPA_VISITS]

    def open_day(self, offered_all: np.ndarray, callers: np.ndarray, patience: np.ndarray,
                 workforce: Workforce, tp: Touchpoints) -> QueueDay:
        """Solve every team's queue for today (Erlang A); return its figures.

        ``offered_all`` is today's expected contacts per touchpoint (:meth:`forecast`), so a
        spike of demand meets the queue on the day it lands; ``callers[s, j]`` the expected
        first contacts by segment and touchpoint and ``patience[s]`` each segment's mean
        queue patience (minutes): a team's queue is solved with its callers' mean patience,
        and the waits are drawn so that customers, each with their segment's patience, meet
        the reported abandonment and service level.  Agents on duty are the team's full-time
        equivalents on shift, ``headcount x fte x shift_hours / open_hours``, not rounded: a
        fraction is time-shared (:func:`~cxsim.queueing.erlang_a_shared`).  In a market that
        samples a larger one (``market.represents``) the queue is solved at the larger
        market's volume and staffing.  Customers then meet waits drawn so that abandonment,
        mean wait and service level are Erlang A's (:func:`~cxsim.queueing.wait_device`).
        Writes ``tp.p_wait`` and ``tp.wait_mean``.
        """
        sc = self.spec
        scale = sc.market.represents / sc.market.size if sc.market.represents else 1.0
        out = QueueDay()
        self.days += 1
        for name, team in sc.teams.items():
            refs = self.team_tps[name]
            staff = workforce.teams[name]
            present = workforce.present[name]  # leavers and hires of the tick count half
            agents = present * team.fte * team.shift_hours / team.open_hours
            # touchpoints closed all tick take nobody (the forecast's moves may lead there)
            arrivals = float(sum(offered_all[j] for j in refs if tp.open[j] > 0
                                 and tp.down_to[j] - tp.down_from[j] < 1.0))
            offered = arrivals + self.backlog[name]
            minutes = team.open_hours * 60.0 * sc.simulation.tick_days
            aht = workforce.handle_time[name]
            target = team.service_target / 60.0
            weights = callers[:, self._refs[name]].sum(axis=1)
            total = weights.sum()
            if total <= 0:
                weights = callers.sum(axis=1)
                total = weights.sum()
            if total <= 0:
                weights = np.ones(len(patience))
                total = weights.sum()
            # a subnormal patience (5e-324 minutes passes validation) can average to 0:
            # keep the smallest normal float, as good as no patience at all
            mean_patience = max(float(weights @ patience / total), _TINY)
            if name in self.profiles:  # intraday intervals (cxsim.intraday)
                q = self._intervals(name, offered, offered * scale / minutes, aht,
                                    mean_patience, agents, scale, target, weights, patience, tp)
            else:
                # erlang_a_shared and wait_device's compiled parts, on input valid here
                q = ErlangAResult(*erlang_a_core(offered * scale / minutes, aht,
                                                 mean_patience, agents * scale, target))
                found, p_wait, mean_virtual = mixture_device(
                    q.p_abandon, q.service_level, q.p_wait, q.mean_wait, weights, patience,
                    target)
                if not found:  # one patience group: the one-patience device
                    dev = wait_device(q, mean_patience, target)
                    p_wait, mean_virtual = dev.p_wait, dev.mean_virtual
                for j in refs:
                    tp.p_wait[j] = p_wait if offered > 0 else 0.0
                    tp.wait_mean[j] = mean_virtual
            self.state[name] = {"agents": agents, "aht": aht, "minutes": minutes}
            out.teams[name] = {
                **workforce.events.get(name, {}), "headcount": len(staff),
                "fte": present * team.fte,
                "skill": workforce.skill[name] if present > 0 else float("nan"),
                "engagement": workforce.engagement[name] if present > 0 else float("nan"),
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

    def _intervals(self, name: str, offered: float, lam: float, aht: float,
                   mean_patience: float, agents: float, scale: float, target: float,
                   weights: np.ndarray, patience: np.ndarray, tp: Touchpoints
                   ) -> ErlangAResult:
        """Solve a team's day interval by interval (:func:`cxsim.intraday.solve_day`).

        Writes each interval's wait device and the cumulative profile into ``tp.intervals``,
        and in ``tp.p_wait`` the largest chance to wait of an interval with contacts (the
        kernel draws a wait only where it is positive); records the intervals' rows.
        Returns the day's volume-weighted figures.
        """
        team = self.spec.teams[name]
        profile = self.profiles[name]
        k = profile.k
        q, p_wait, wait_mean, qs = solve_day(profile, lam, aht, mean_patience, agents * scale,
                                             target, weights, patience)
        if offered <= 0:
            p_wait = np.zeros(k)
        live = profile.share > 0
        one = profile.cum[0] >= 1.0  # all contacts in the first interval: no draw
        for j in self.team_tps[name]:
            tp.intervals[0, j, :k] = profile.cum
            tp.intervals[0, j, k:] = 1.0
            tp.intervals[1, j, :k] = p_wait
            tp.intervals[2, j, :k] = wait_mean
            tp.p_wait[j] = p_wait[0] if one else float(p_wait[live].max())
            tp.wait_mean[j] = wait_mean[0] if one else float(wait_mean[live].max())
        hours = team.open_hours / k
        self.interval_rows.extend(
            (self.days, name, i, i * hours, profile.share[i], offered * profile.share[i],
             agents * profile.staff[i], qi.p_wait, qi.p_abandon, qi.service_level,
             qi.mean_wait * 60.0, qi.occupancy) for i, qi in enumerate(qs))
        return q

    def intervals(self):
        """Per tick, team and interval: the intraday queues' figures (:mod:`cxsim.intraday`)."""
        return interval_frame(self.interval_rows)

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
