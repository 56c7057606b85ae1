"""Teams of employees: who is on staff, how load wears them, who quits and who is hired.

The service-profit chain (Heskett et al. 1994) on the company side: each employee is a Mesa
agent (:class:`~cxsim.agents.Employee`); a team's mean skill and engagement set the quality,
resolution and handle time of the touchpoints it staffs.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from . import kernels as K
from .agents import Employee
from .kernels import Touchpoints
from .rng import numpy_generator
from .scenario import YEAR_DAYS

if TYPE_CHECKING:  # pragma: no cover
    from .model import CXModel


def quit_rate(team, wf) -> float:
    """Leavers per person-year at the team's stated engagement (:meth:`Employee.quits`)."""
    a = team.annual_attrition
    if a <= 0.0:
        return 0.0
    return float(K.logistic(K.logit(a) + wf.attrition_engagement_effect
                            * (wf.reference_engagement - team.engagement)))


def stationary_learning(team, wf) -> tuple[float, float, float]:
    """The stationary workforce a team's numbers assert: ``(quit, learn, contacts)`` per day.

    A team's ``skill`` is its *stationary* mean skill.  People quit at the constant rate
    ``quit`` (per day, :func:`quit_rate`), so in a steady state a person's tenure is
    exponential with that rate (each seat is a renewal process with exponential lifetimes);
    a hire starts at ``new_hire_skill`` s0 and closes the gap to 1 as
    ``1 - (1 - s0) exp(-learn x tenure)``, where ``learn`` is the contacts a person handles
    per day over ``learning_contacts``.  The mean over tenures is then
    ``1 - (1 - s0) quit / (quit + learn)``; setting it to ``skill`` gives
    ``learn = quit (skill - s0) / (1 - skill)`` and the contacts per person per day it
    implies, ``contacts = learn x learning_contacts``.  A team whose staff handle about that
    many contacts keeps its mean skill (``tests/test_steady_state.py``); more contacts and it
    drifts up, fewer and it drifts down.  With no attrition, or ``skill <= new_hire_skill``,
    ``learn`` is 0.
    """
    quit = quit_rate(team, wf) / YEAR_DAYS
    s, s0 = team.skill, team.new_hire_skill
    learn = quit * (s - s0) / (1.0 - s) if (quit > 0.0 and s0 < s < 1.0) else 0.0
    return quit, learn, learn * wf.learning_contacts


def mean_of(agents: list, attr: str, default: float) -> float:
    """Mean of ``attr`` over ``agents`` (``default`` when there are none)."""
    return float(np.mean([getattr(a, attr) for a in agents])) if agents else default


class Workforce:
    """Every team's staff, vacancies and today's events; sets staffed touchpoints' state.

    ``teams[name]`` is the list of :class:`Employee` agents on staff; ``handle_time[name]``
    today's mean handle time (minutes); ``events[name]`` today's head count at the start,
    leavers, hires and open vacancies.
    """

    def __init__(self, model: CXModel, tp_index: dict[str, int]):
        sc = model.spec
        self.model = model
        self.spec = sc
        self.team_tps = {n: [tp_index[r] for r in t.touchpoints] for n, t in sc.teams.items()}
        staffed = {j for js in self.team_tps.values() for j in js}
        #: support touchpoints nobody staffs: the knowledge base serves them directly
        self.self_service_tps = [tp_index[n] for n, t in sc.touchpoints.items()
                                 if t.stage == "support" and tp_index[n] not in staffed]
        self.serials = 0
        self.vacancies: dict[str, list[int]] = {name: [] for name in sc.teams}
        self.events: dict[str, dict[str, float]] = {}
        self.handle_time = {name: t.handle_time for name, t in sc.teams.items()}
        self.teams: dict[str, list[Employee]] = {}
        wf = sc.workforce
        gen = numpy_generator(model.keys, "workforce")
        for name, team in sc.teams.items():
            # the team starts in its stationary state (stationary_learning): tenure
            # exponential at the quit rate, skill on the learning curve at that tenure;
            # individual differences around the team's means, all centred so that the team
            # starts exactly at its stated skill and engagement whatever its size
            n = team.headcount
            dz = gen.standard_normal((n, 2)) * wf.skill_spread
            dz -= dz.mean(axis=0) if n else 0.0
            quit, learn, contacts = stationary_learning(team, wf)
            tenure = gen.exponential(1.0 / quit if quit > 0 else 0.0, n)
            gap = (1.0 - team.new_hire_skill) * np.exp(-learn * tenure)
            curve = 1.0 - gap
            curve += (team.skill - curve.mean()) if n else 0.0
            staff = []
            for k in range(n):
                e = self.new_employee(name, float(np.clip(curve[k] + dz[k, 0], 0, 1)),
                                      float(np.clip(team.engagement + dz[k, 1], 0, 1)),
                                      float(tenure[k]))
                e.experience = float(contacts * tenure[k])
                staff.append(e)
            self.teams[name] = staff

    def new_employee(self, team: str, skill: float, engagement: float,
                     tenure: float = 0.0) -> Employee:
        """A new :class:`Employee` agent with the next serial number (not yet on a team)."""
        self.serials += 1
        return Employee(self.model, team, self.serials, skill, engagement, tenure)

    def reset_boosts(self) -> None:
        """Withdraw yesterday's engagement boosts (interventions grant today's anew)."""
        for staff in self.teams.values():
            for e in staff:
                e.engagement_boost = 0.0

    @property
    def staff(self) -> list[Employee]:
        """Everyone on staff, team by team."""
        return [e for team in self.teams.values() for e in team]

    def step(self, t: int, yesterday: dict, knowledge_base: float, tp: Touchpoints,
             planned: Touchpoints) -> None:
        """Employees step on yesterday's occupancy and contacts; quits, hires; touchpoints.

        ``yesterday`` maps each team to its settled queue row of the previous tick (empty on
        the first); ``planned`` holds the touchpoints after today's interventions, onto which
        today's team effects are added in ``tp``.
        """
        sc = self.spec
        dt = sc.simulation.tick_days
        wf = sc.workforce
        w_staff = sc.behaviour.staff_quality_effect
        kb_shift = sc.operations.knowledge_base_effect * (
            knowledge_base - sc.operations.knowledge_base)
        skill0, eng0 = wf.reference_skill, wf.reference_engagement
        for name, team in sc.teams.items():
            staff = self.teams[name]
            q = yesterday.get(name)
            occupancy = q["occupancy_actual"] if q else None
            # contacts per full-time employee (an agent may stand for several, or a part)
            contacts = q["served"] / (len(staff) * team.fte) if q and staff else 0.0
            for e in staff:
                e.step(occupancy, contacts)
            # attrition, then replacements whose hiring lag has passed
            before = len(staff)
            leavers = [e for e in staff if e.quits(team.annual_attrition)]
            for e in leavers:
                staff.remove(e)
                e.remove()
                if not e.temporary:  # temporary staff who quit are not replaced
                    self.vacancies[name].append(t + max(1, math.ceil(team.hiring_lag_days / dt)))
            due = [v for v in self.vacancies[name] if v <= t]
            self.vacancies[name] = [v for v in self.vacancies[name] if v > t]
            for _ in due:
                staff.append(self.new_employee(name, team.new_hire_skill, team.engagement))
            self.events[name] = {"headcount_start": before, "leavers": len(leavers),
                                 "hires": len(due), "vacancies": len(self.vacancies[name])}
            skill = mean_of(staff, "skill", skill0)
            eng = mean_of(staff, "engagement", eng0)
            self.handle_time[name] = team.handle_time * max(
                wf.handle_time_floor, 1.0 + wf.handle_time_skill_effect * (skill0 - skill))
            shift = w_staff * ((skill - skill0) + (eng - eng0)) / 2.0
            res_shift = wf.resolution_skill_effect * (skill - skill0) + kb_shift
            for j in self.team_tps[name]:
                tp.quality[j] = min(max(planned.quality[j] + shift, 0.0), 1.0)
                tp.resolution[j] = min(max(planned.resolution[j] + res_shift, 0.0), 1.0)
        # the knowledge base also serves self-service support touchpoints
        for j in self.self_service_tps:
            tp.resolution[j] = min(max(planned.resolution[j] + kb_shift, 0.0), 1.0)

    def attrition(self) -> float:
        """Today's leavers over the head count at the start of the day (NaN before tick 1)."""
        if not self.events:
            return float("nan")
        return (sum(ev["leavers"] for ev in self.events.values())
                / max(1, sum(ev["headcount_start"] for ev in self.events.values())))
