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
from .rng import STREAM_INDEX, numpy_generator, uniform
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


def hiring_lag_ticks(lag_days: float, tick_days: float, u: float) -> int:
    """Ticks from a leaver's tick to the replacement's, for a lag of ``lag_days``.

    ``lag_days / tick_days`` rounded by chance (up with probability its fraction, ``u`` a
    uniform draw), so the mean vacancy lasts the lag whatever the tick length; a whole
    number of ticks is kept exactly, and a lag of 0 fills the seat in the same tick.
    """
    return int(K.round_by_chance(lag_days / tick_days, u))


def mean_of(agents: list, attr: str, default: float) -> float:
    """Mean of ``attr`` over ``agents`` (``default`` when there are none)."""
    return float(np.mean([getattr(a, attr) for a in agents])) if agents else default


def headcounts(staff: list, teams) -> dict[str, int]:
    """The people of ``staff`` counted by team, for every team of ``teams`` (0 if none)."""
    on_staff = {name: 0 for name in teams}
    for e in staff:
        on_staff[e.team] += 1
    return on_staff


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
        #: people at work over the tick (a leaver or hire of the tick counts half)
        self.present = {name: float(len(staff)) for name, staff in self.teams.items()}
        #: the team's mean skill and engagement over the tick (at its middle)
        self.skill = {name: mean_of(staff, "skill", wf.reference_skill)
                      for name, staff in self.teams.items()}
        self.engagement = {name: mean_of(staff, "engagement", wf.reference_engagement)
                           for name, staff in self.teams.items()}

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
            # contacts per full-time employee at work (an agent may stand for several, or a
            # part); one who worked part of the tick learnt from that part
            at_work = self.present[name] * team.fte
            contacts = q["served"] / at_work if q and at_work > 0 else 0.0
            for e in staff:
                e.step(occupancy, contacts * e.worked)
                e.worked = 1.0
            # the contacts each will handle this tick: like the last tick's (at the start,
            # the contacts per day the team's stated skill asserts)
            ahead = contacts if q else stationary_learning(team, wf)[2] * dt
            # attrition, then replacements whose hiring lag has passed
            before = len(staff)
            leavers = [e for e in staff if e.quits(team.annual_attrition)]
            for e in leavers:
                staff.remove(e)
                e.remove()
                if not e.temporary:  # temporary staff who quit are not replaced
                    u = uniform(self.model.keys[STREAM_INDEX["workforce"]], e.serial, t, 1)
                    self.vacancies[name].append(t + hiring_lag_ticks(team.hiring_lag_days, dt, u))
            due = [v for v in self.vacancies[name] if v <= t]
            self.vacancies[name] = [v for v in self.vacancies[name] if v > t]
            hires = []
            for _ in due:
                e = self.new_employee(name, team.new_hire_skill, team.engagement)
                e.worked = 0.5
                hires.append(e)
            staff.extend(hires)
            self.events[name] = {"headcount_start": before, "leavers": len(leavers),
                                 "hires": len(due), "vacancies": len(self.vacancies[name])}
            self._midpoint(name, staff, leavers, ahead, wf)
            skill, eng = self.skill[name], self.engagement[name]
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

    def _midpoint(self, name: str, staff: list, leavers: list, contacts: float, wf) -> None:
        """The team over the tick, taken at its middle (a midpoint rule in time).

        People quit and start at a moment within the tick, so a leaver of the tick worked
        about its first half and a hire (a replacement whose lag ends in it) its second; each
        counts half.  Everyone learns from the ``contacts`` (per person) of the part they
        work, so a person's skill over the tick is the skill at the middle of their part.
        Without this a long tick would serve its customers all tick with the start's skill
        and with the leavers already gone and the hires already there, and a monthly tick
        would run the team below the daily one.
        """
        rate = contacts / wf.learning_contacts
        weight = skill = eng = 0.0
        for e in staff:
            # stayers: half the tick's learning by its middle; hires: a quarter
            w = e.worked
            s_mid = 1.0 - (1.0 - e.skill) * math.exp(-rate * w / 2.0)
            weight += w
            skill += w * s_mid
            eng += w * e.engagement
        for e in leavers:  # the first half of the tick, its middle a quarter in
            s_mid = 1.0 - (1.0 - e.skill) * math.exp(-rate * 0.25)
            weight += 0.5
            skill += 0.5 * s_mid
            eng += 0.5 * e.engagement
        self.present[name] = weight
        self.skill[name] = skill / weight if weight > 0 else wf.reference_skill
        self.engagement[name] = eng / weight if weight > 0 else wf.reference_engagement

    def attrition(self) -> float:
        """Today's leavers over the head count at the start of the day (NaN before tick 1)."""
        if not self.events:
            return float("nan")
        return (sum(ev["leavers"] for ev in self.events.values())
                / max(1, sum(ev["headcount_start"] for ev in self.events.values())))
