"""Teams of employees: who is on staff, how load wears them, who quits and who is hired.

The service-profit chain (Heskett et al. 1994) on the company side: each employee is a Mesa
agent (:class:`~cxsim.agents.Employee`); a team's mean skill and engagement set the quality,
resolution and handle time of the touchpoints it staffs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import kernels as K
from .agents import Employee
from .kernels import EMPLOYEE_FIELDS, Touchpoints, advance_staff, pairwise_sum, team_midpoint
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


class Staff(list):
    """A team's :class:`Employee` agents in order, their state held in arrays.

    A list like any other (people are added and removed as from a list); ``state[k, i]``
    is field ``k`` (:data:`~cxsim.kernels.EMPLOYEE_FIELDS`) of the ``i``-th person and
    ``serial[i]`` their serial number, and each person on it reads and writes their column.
    The arrays follow the list: whenever it has changed since they were last read (a hire,
    a leaver, an edit) they are rebuilt from the people on it, and a person who left keeps
    the values they had in the arrays they left (nobody writes those any more).
    """

    def __init__(self, agents=()):
        super().__init__(agents)
        self._held: list[Employee] = []  # the people the arrays hold, in their order
        self._state = np.zeros((len(EMPLOYEE_FIELDS), 0))
        self._serial = np.zeros(0, dtype=np.int64)

    def _sync(self) -> None:
        if list.__eq__(self, self._held):  # the same people (compared by identity)
            return
        state = np.empty((len(EMPLOYEE_FIELDS), len(self)))
        for i, e in enumerate(self):
            state[:, i] = e._state[:, e._row]
        for i, e in enumerate(self):
            e._state, e._row = state, i
        self._state = state
        self._serial = np.array([e.serial for e in self], dtype=np.int64)
        self._held = list(self)

    @property
    def state(self) -> np.ndarray:
        """``float64[F, n]``: the state of everyone on the list, one column each."""
        self._sync()
        return self._state

    @property
    def serial(self) -> np.ndarray:
        """``int64[n]``: the serial numbers of everyone on the list."""
        self._sync()
        return self._serial

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``(state, serial)`` at once."""
        self._sync()
        return self._state, self._serial


class Roster(list):
    """Everyone on staff, team by team (a list of :class:`Employee`), with the teams' lists."""

    def __init__(self, teams: dict[str, Staff]):
        super().__init__(e for staff in teams.values() for e in staff)
        self.teams = teams

    def current(self) -> bool:
        """Whether the teams still hold the people listed (nobody joined or left since)."""
        return len(self) == sum(map(len, self.teams.values()))


def mean_of(agents: list, attr: str, default: float) -> float:
    """Mean of ``attr`` over ``agents`` (``default`` when there are none).

    On a team's :class:`Staff` or the :class:`Roster` the values are read off the teams'
    arrays, without a visit to each agent, and summed as NumPy sums them
    (:func:`~cxsim.kernels.pairwise_sum`): the same number as ``np.mean`` of the values in
    the same order.
    """
    if not agents:
        return default
    if attr in EMPLOYEE_FIELDS:
        k = EMPLOYEE_FIELDS.index(attr)
        if isinstance(agents, Staff):
            return pairwise_sum(agents.state[k]) / len(agents)
        if isinstance(agents, Roster) and agents.current():
            rows = [staff.state[k] for staff in agents.teams.values() if staff]
            values = rows[0] if len(rows) == 1 else np.concatenate(rows)
            return pairwise_sum(values) / len(values)
    return float(np.mean([getattr(a, attr) for a in agents]))


def headcounts(staff: list, teams) -> dict[str, int]:
    """The people of ``staff`` counted by team, for every team of ``teams`` (0 if none)."""
    if isinstance(staff, Roster):
        return {name: len(staff.teams.get(name, ())) for name in teams}
    on_staff = {name: 0 for name in teams}
    for e in staff:
        on_staff[e.team] += 1
    return on_staff


class Workforce:
    """Every team's staff, vacancies and today's events; sets staffed touchpoints' state.

    ``teams[name]`` is the list of :class:`Employee` agents on staff (a :class:`Staff`: their
    state in arrays, so a team steps in one compiled call); ``handle_time[name]`` today's
    mean handle time (minutes); ``events[name]`` today's head count at the start, leavers,
    hires and open vacancies.
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
        self._rates = self.rates()
        #: the current team's quit draws of the tick (:meth:`leavers`; the array is reused
        #: while the team's size stays), their number; today's
        #: leavers and head count at the start over all teams (:meth:`attrition`)
        self._quits = np.zeros(0, dtype=np.bool_)
        self._n_quits = 0
        self._leavers_today = self._headcount_today = 0
        self.vacancies: dict[str, list[int]] = {name: [] for name in sc.teams}
        self.events: dict[str, dict[str, float]] = {}
        self.handle_time = {name: t.handle_time for name, t in sc.teams.items()}
        self.teams: dict[str, Staff] = {}
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
            staff = Staff()
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
            staff.state[K.E_ENGAGEMENT_BOOST] = 0.0

    @property
    def staff(self) -> Roster:
        """Everyone on staff, team by team."""
        return Roster(self.teams)

    def rates(self) -> np.ndarray:
        """The workforce parameters :func:`~cxsim.kernels.advance_staff` reads, in its order."""
        wf = self.spec.workforce
        dt = self.spec.simulation.tick_days
        speed = 1.0 - (1.0 - wf.engagement_speed) ** dt  # engagement's move per tick
        return np.array([dt, wf.occupancy_threshold, wf.burnout_gain, wf.burnout_recovery,
                         wf.engagement_burnout_effect, speed, wf.learning_contacts,
                         wf.attrition_engagement_effect, wf.reference_engagement])

    def leavers(self, name: str, t: int) -> list[Employee]:
        """Who of team ``name`` quits at tick ``t``, in staff order.

        Each person's :meth:`Employee.quits`, drawn for the whole team as it stepped
        (:func:`~cxsim.kernels.advance_staff`).
        """
        if not self._n_quits:
            return []
        return [e for e, q in zip(self.teams[name], self._quits, strict=True) if q]

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
        key = self.model.keys[STREAM_INDEX["workforce"]]
        # (.item: the planned values as Python floats, the same sums without NumPy scalars)
        quality, resolution = planned.quality.item, planned.resolution.item
        self._leavers_today = self._headcount_today = 0
        for name, team in sc.teams.items():
            staff = self.teams[name]
            q = yesterday.get(name)
            occupancy = q["occupancy_actual"] if q else 0.0  # (none on the first tick)
            # contacts per full-time employee at work (an agent may stand for several, or a
            # part); one who worked part of the tick learnt from that part
            at_work = self.present[name] * team.fte
            contacts = q["served"] / at_work if q and at_work > 0 else 0.0
            # the contacts each will handle this tick: like the last tick's (at the start,
            # the contacts per day the team's stated skill asserts)
            ahead = contacts if q else stationary_learning(team, wf)[2] * dt
            rate = ahead / wf.learning_contacts
            # everyone steps (Employee.step) and draws whether they quit (Employee.quits)
            state, serial = staff.arrays()
            if self._quits.shape[0] != state.shape[1]:
                self._quits = np.empty(state.shape[1], dtype=np.bool_)
            self._n_quits, weight, skill, eng = advance_staff(
                state, serial, occupancy, bool(q), contacts,
                team.annual_attrition, self._rates, key, t, self._quits, rate)
            # attrition, then replacements whose hiring lag has passed
            before = len(staff)
            leavers = self.leavers(name, t)
            for e in leavers:
                staff.remove(e)
                e.remove()
                if not e.temporary:  # temporary staff who quit are not replaced
                    u = uniform(key, e.serial, t, 1)
                    self.vacancies[name].append(t + hiring_lag_ticks(team.hiring_lag_days, dt, u))
            due = [v for v in self.vacancies[name] if v <= t]
            if due:
                self.vacancies[name] = [v for v in self.vacancies[name] if v > t]
                for _ in due:
                    e = self.new_employee(name, team.new_hire_skill, team.engagement)
                    e.worked = 0.5
                    staff.append(e)
            self.events[name] = {"headcount_start": before, "leavers": len(leavers),
                                 "hires": len(due), "vacancies": len(self.vacancies[name])}
            self._leavers_today += len(leavers)
            self._headcount_today += before
            if leavers or due:  # the team over the tick changed: leavers and hires count half
                gone = np.array([[e.skill for e in leavers], [e.engagement for e in leavers]])
                weight, skill, eng = team_midpoint(staff.state, gone, rate)
            self._midpoint(name, weight, skill, eng)
            skill, eng = self.skill[name], self.engagement[name]
            self.handle_time[name] = team.handle_time * max(
                wf.handle_time_floor, 1.0 + wf.handle_time_skill_effect * (skill0 - skill))
            shift = w_staff * ((skill - skill0) + (eng - eng0)) / 2.0
            res_shift = wf.resolution_skill_effect * (skill - skill0) + kb_shift
            for j in self.team_tps[name]:
                tp.quality[j] = min(max(quality(j) + shift, 0.0), 1.0)
                tp.resolution[j] = min(max(resolution(j) + res_shift, 0.0), 1.0)
        # the knowledge base also serves self-service support touchpoints
        for j in self.self_service_tps:
            tp.resolution[j] = min(max(resolution(j) + kb_shift, 0.0), 1.0)

    def _midpoint(self, name: str, weight: float, skill: float, eng: float) -> None:
        """The team over the tick, taken at its middle (a midpoint rule in time).

        People quit and start at a moment within the tick, so a leaver of the tick worked
        about its first half and a hire (a replacement whose lag ends in it) its second; each
        counts half.  Everyone learns from the contacts (per person) of the part they work,
        so a person's skill over the tick is the skill at the middle of their part
        (:func:`~cxsim.kernels.team_midpoint` sums them: ``weight`` the people at work,
        ``skill`` and ``eng`` their weighted skill and engagement).  Without this a long tick
        would serve its customers all tick with the start's skill and with the leavers
        already gone and the hires already there, and a monthly tick would run the team below
        the daily one.
        """
        wf = self.spec.workforce
        self.present[name] = weight
        self.skill[name] = skill / weight if weight > 0 else wf.reference_skill
        self.engagement[name] = eng / weight if weight > 0 else wf.reference_engagement

    def attrition(self) -> float:
        """Today's leavers over the head count at the start of the day (NaN before tick 1)."""
        if not self.events:
            return float("nan")
        return self._leavers_today / max(1, self._headcount_today)
