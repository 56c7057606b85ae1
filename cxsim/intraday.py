"""Intraday queues: a team's day split into intervals, each its own Erlang A queue.

A team with an ``arrival_profile`` (relative arrivals per equal interval of its open hours)
and optionally a ``shift_plan`` (relative agents on duty per interval) has its day solved
interval by interval: interval ``k`` gets the arrival rate ``share_k x offered / (open
minutes / K)`` and ``agents_k = agents x plan_k / mean(plan)`` (the same agent-hours as the
flat day), with the day's handle time, patience and target.  The day's figures are the
volume-weighted results of the intervals (P(wait), abandonment, service level, ASA: each
interval weighted by its share of the contacts); occupancy is weighted by agent-minutes
(busy time over paid time, the workforce-management convention).  Each customer reaching a
staffed touchpoint meets the wait device of the interval their episode falls in, drawn from
the arrival profile (:func:`cxsim.kernels.customer.walk_episode`).

A profile whose values are all equal is flat exactly: its intervals are the day itself
(rates and agents exactly the day's), so a flat profile of any length reproduces the run
without one, draw for draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .kernels.erlang import erlang_a_core
from .kernels.waits import mixture_device
from .queueing import ErlangAResult, wait_device
from .scenario import Scenario, Team

__all__ = ["Profile", "device", "interval_frame", "n_intervals", "solve_day", "team_profile"]

#: the columns of one interval's row (``CXModel.interval_metrics``)
INTERVAL_COLUMNS = ("tick", "team", "interval", "start_hour", "share", "offered", "agents",
                    "p_wait", "p_abandon", "service_level", "asa", "occupancy")


@dataclass(frozen=True)
class Profile:
    """A team's intervals: shares of the contacts, relative rates and agents, cumulative shares.

    ``share[k]`` is interval ``k``'s share of the day's contacts (sums to 1), ``rate[k]`` its
    arrival rate relative to the day's mean (``share x K``), ``staff[k]`` its agents relative
    to the day's mean, ``cum[k]`` the cumulative share (the last exactly 1): an episode with
    uniform ``u`` falls in the first interval with ``u < cum[k]``.
    """

    share: np.ndarray
    rate: np.ndarray
    staff: np.ndarray
    cum: np.ndarray

    @property
    def flat(self) -> bool:
        """Every interval is the day itself (equal arrivals, equal agents)."""
        return bool(np.all(self.rate == 1.0) and np.all(self.staff == 1.0))

    @property
    def k(self) -> int:
        """Number of intervals."""
        return int(self.share.shape[0])


def _relative(values: list[float]) -> np.ndarray:
    """Values relative to their mean; exactly 1 each when all are equal (a flat profile)."""
    v = np.asarray(values, dtype=float)
    if np.all(v == v[0]):
        return np.ones(v.shape[0])
    return v * (v.shape[0] / v.sum())


def team_profile(team: Team) -> Profile | None:
    """The team's intervals, or None for a flat day without a profile."""
    if not team.arrival_profile:
        return None
    k = len(team.arrival_profile)
    rate = _relative(team.arrival_profile)
    share = rate / k
    cum = np.cumsum(share)
    cum[-1] = 1.0
    staff = _relative(team.shift_plan) if team.shift_plan else np.ones(k)
    return Profile(share=share, rate=rate, staff=staff, cum=cum)


def n_intervals(scenario: Scenario) -> int:
    """The most intervals of any team's day (1 when no team has a profile)."""
    return max((len(t.arrival_profile) for t in scenario.teams.values()), default=1) or 1


def interval_frame(rows: list[tuple]) -> pd.DataFrame:
    """Per tick, team and interval: share, offered contacts, agents and the queue's figures."""
    return pd.DataFrame(rows, columns=list(INTERVAL_COLUMNS))


def device(q: ErlangAResult, weights: np.ndarray, patience: np.ndarray, mean_patience: float,
           target: float) -> tuple[float, float]:
    """The wait device (P(wait), mean virtual wait) that reproduces one queue's figures.

    For callers of several patience groups the mixture device, else the one-patience one
    (:func:`cxsim.queueing.wait_device`), as :meth:`cxsim.queues.Queues.open_day` draws it.
    """
    found, p_wait, mean_virtual = mixture_device(
        q.p_abandon, q.service_level, q.p_wait, q.mean_wait, weights, patience, target)
    if not found:
        dev = wait_device(q, mean_patience, target)
        p_wait, mean_virtual = dev.p_wait, dev.mean_virtual
    return p_wait, mean_virtual


def solve_day(profile: Profile, lam: float, aht: float, mean_patience: float, agents: float,
              target: float, weights: np.ndarray, patience: np.ndarray
              ) -> tuple[ErlangAResult, np.ndarray, np.ndarray, list[ErlangAResult]]:
    """Solve a team's day interval by interval.

    ``lam`` is the day's mean arrival rate (per minute) and ``agents`` its mean agents on
    duty; interval ``k`` has ``lam x rate[k]`` and ``agents x staff[k]``.  Returns the day's
    figures (volume-weighted; occupancy by agent-minutes; mean queue and carried load the
    time averages), each interval's wait device (``p_wait``, ``wait_mean`` arrays) and each
    interval's Erlang A result.
    """
    k = profile.k
    if profile.flat:  # every interval is the day: the flat day's figures, exactly
        q = ErlangAResult(*erlang_a_core(lam, aht, mean_patience, agents, target))
        pw, wm = device(q, weights, patience, mean_patience, target)
        return q, np.full(k, pw), np.full(k, wm), [q] * k
    p_wait = np.zeros(k)
    wait_mean = np.zeros(k)
    qs = []
    for i in range(k):
        q = ErlangAResult(*erlang_a_core(lam * profile.rate[i], aht, mean_patience,
                                         agents * profile.staff[i], target))
        qs.append(q)
        p_wait[i], wait_mean[i] = device(q, weights, patience, mean_patience, target)
    share = profile.share
    fig = np.array([[q.p_wait, q.p_abandon, q.mean_wait, q.service_level, q.occupancy,
                     q.mean_queue, q.carried_load] for q in qs])
    staff = profile.staff
    with np.errstate(invalid="ignore"):  # an empty interval's inf x 0 weighs nothing
        vol = [float(np.sum(np.where(share > 0, share * fig[:, c], 0.0))) for c in range(4)]
    busy = float(np.sum(staff * fig[:, 4]))
    occupancy = busy / float(staff.sum()) if staff.sum() > 0 else float(lam > 0)
    day = ErlangAResult(*vol, occupancy, float(fig[:, 5].mean()), float(fig[:, 6].mean()))
    return day, p_wait, wait_mean, qs
