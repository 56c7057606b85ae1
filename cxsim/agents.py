"""Mesa agents: customers (views over the customer arrays), employees and partners."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import mesa
import numpy as np

from . import kernels as K
from .rng import STREAM_INDEX, uniform
from .scenario import YEAR_DAYS

if TYPE_CHECKING:  # pragma: no cover
    from .model import CXModel

STATUS_NAMES = ("prospect", "customer", "churned")


def agent_id(model: CXModel, role: str, number: int) -> int:
    """The ``unique_id`` of an agent, the same under both engines.

    Mesa numbers agents in the order they are made, and the mesa engine makes a Customer
    agent per member of the market while the numba engine makes none, so an employee hired
    during a run would get a different id under each.  Ids are assigned by role instead:
    customers ``1 .. N`` (by index), partners ``N + 1 ..`` (in scenario order), employees
    after them (by serial number, from 1).
    """
    n = model.spec.market.size
    if role == "customer":
        return number + 1
    if role == "partner":
        return n + 1 + number
    return n + len(model.spec.partners) + number


class Customer(mesa.Agent):
    """One member of the market, a view over row ``index`` of the customer arrays.

    Reading an attribute reads the arrays, so a view is always current.  Under
    ``engine="mesa"`` the model calls :meth:`step` on every customer in turn, which runs the
    one per-customer step of the numba kernel on this row, so both engines agree exactly.

    Agent ids are fixed by role, whatever the engine and whichever views were made: customer
    ``i`` is ``i + 1``, then the partners, then the employees by serial number
    (:func:`agent_id`).
    """

    def __init__(self, model: CXModel, index: int):
        super().__init__(model)
        self.index = int(index)
        self.unique_id = agent_id(model, "customer", self.index)

    # ---- views -------------------------------------------------------------------------
    @property
    def status(self) -> str:
        """'prospect', 'customer' or 'churned'."""
        return STATUS_NAMES[int(self.model.arrays.status[self.index])]

    @property
    def segment(self) -> str:
        """Name of the customer's segment."""
        return self.model.segment_names[int(self.model.arrays.segment[self.index])]

    @property
    def satisfaction(self) -> float:
        """Cumulative satisfaction in [0, 1]."""
        return float(self.model.arrays.satisfaction[self.index])

    @property
    def expectation(self) -> float:
        """Expected performance in [0, 1]."""
        return float(self.model.arrays.expectation[self.index])

    @property
    def tenure(self) -> int:
        """Ticks since the customer joined (0 for a prospect or a former customer)."""
        a = self.model.arrays
        if a.status[self.index] != K.CUSTOMER:
            return 0
        return int(self.model.time_tick - a.join_tick[self.index])

    @property
    def nps_score(self) -> int:
        """The 0-10 answer the customer would give today."""
        a = self.model.arrays
        return int(K.nps_score(K.latent_score(float(a.satisfaction[self.index]),
                                              float(a.nps_bias[self.index]))))

    @property
    def contacts(self) -> list[int]:
        """Indices of the customer's social contacts (empty for a fully mixed market)."""
        net = self.model.network
        if net is None:
            return []
        indptr, indices = net
        return indices[indptr[self.index]:indptr[self.index + 1]].tolist()

    # ---- the tick ----------------------------------------------------------------------
    def step(self) -> None:
        """Advance this customer by one tick (the mesa engine steps every agent in turn).

        Runs the one per-customer step, :func:`cxsim.kernels.advance_customer`, that the numba
        engine runs for all customers at once, on this agent's row, so the two engines give
        identical results.
        """
        m = self.model
        c = self.index // m.market.chunk
        K.advance_customer(self.index, m.time_tick, m.keys, m.market.customers, m.behaviour,
                           m.today, m.segments, m.touchpoints, m.journeys,
                           m.social.indptr, m.market.acc[c], m.market.tpacc[c],
                           m.market.segacc[c])


class _Field:
    """An attribute of :class:`Employee` held in its state array: row ``k``, its column."""

    def __init__(self, k: int, doc: str):
        self.k = k
        self.__doc__ = doc

    def __get__(self, e, owner=None):
        if e is None:
            return self
        return e._state.item(self.k, e._row)

    def __set__(self, e, value) -> None:
        e._state[self.k, e._row] = value


class Employee(mesa.Agent):
    """A member of a team staffing touchpoints (one agent per person).

    State: ``skill``, ``engagement`` and ``burnout`` (each 0-1), ``tenure`` (days) and
    ``experience`` (contacts handled).  Each tick (:meth:`step`): burnout builds while the
    team's occupancy is above the threshold and recovers below it; engagement moves toward
    the person's own level minus the burnout effect (plus any boost from training or
    recognition); skill follows a learning curve in contacts handled.  :meth:`quits` draws the
    day's attrition, which rises as engagement falls.  Random draws use the ``workforce``
    stream keyed by ``serial`` (a per-model employee number), so they never depend on the
    engine.

    The state lives in arrays, one column per person (rows
    :data:`~cxsim.kernels.EMPLOYEE_FIELDS`): a person on a team reads and writes the team's
    column of them (:class:`~cxsim.workforce.Staff`), so the workforce steps a whole team at
    once in one compiled call (:func:`~cxsim.kernels.advance_staff`, the same arithmetic as
    :meth:`step` and :meth:`quits`); one not on a team (a new hire, a leaver) has a column of
    its own.
    """

    skill = _Field(K.E_SKILL, "Skill, 0-1 (a learning curve in contacts handled).")
    engagement = _Field(K.E_ENGAGEMENT, "Engagement, 0-1.")
    own_engagement = _Field(K.E_OWN_ENGAGEMENT, "The engagement the person tends to.")
    engagement_boost = _Field(K.E_ENGAGEMENT_BOOST, "Today's boost from interventions.")
    burnout = _Field(K.E_BURNOUT, "Burnout, 0-1.")
    tenure = _Field(K.E_TENURE, "Days on staff.")
    experience = _Field(K.E_EXPERIENCE, "Contacts handled.")
    worked = _Field(K.E_WORKED, "Share of the last tick the person worked (a replacement "
                              "starts within its tick).")

    def __init__(self, model: CXModel, team: str, serial: int, skill: float,
                 engagement: float, tenure: float = 0.0):
        super().__init__(model)
        self.team = team
        self.serial = int(serial)
        self.unique_id = agent_id(model, "employee", self.serial)
        self._state = np.zeros((len(K.EMPLOYEE_FIELDS), 1))  # its own column until on a team
        self._row = 0
        self.skill = float(skill)
        self.engagement = float(engagement)
        self.own_engagement = float(engagement)
        self.tenure = float(tenure)
        self.temporary = False  # hired for a limited time (a ``hire`` with an ``end``)

    def step(self, occupancy: float | None = None, contacts: float = 0.0) -> None:
        """Advance one tick given the team's occupancy and the contacts this person handled."""
        w = self.model.spec.workforce
        dt = self.model.spec.simulation.tick_days
        self.tenure += dt
        if occupancy is not None:
            thr = w.occupancy_threshold
            if occupancy > thr:
                self.burnout += w.burnout_gain * (occupancy - thr) * dt
            else:
                self.burnout -= w.burnout_recovery * (thr - occupancy) * dt
            self.burnout = min(max(self.burnout, 0.0), 1.0)
        target = K.clip01(self.own_engagement + self.engagement_boost
                          - w.engagement_burnout_effect * self.burnout)
        speed = 1.0 - (1.0 - w.engagement_speed) ** dt
        self.engagement += speed * (target - self.engagement)
        if contacts > 0:
            self.experience += contacts
            self.skill += (1.0 - self.skill) * (1.0 - math.exp(-contacts / w.learning_contacts))

    def quits(self, annual_attrition: float) -> bool:
        """Whether the person leaves today.

        The quit *rate* (leavers per person-year, as HR reports attrition) is logistic in
        engagement below the reference: ``annual_attrition`` at the reference engagement; the
        tick's probability is ``1 - exp(-rate * tick_days / 365)``.
        """
        w = self.model.spec.workforce
        z = K.logit(annual_attrition) + w.attrition_engagement_effect * (
            w.reference_engagement - self.engagement)
        rate = K.logistic(z)
        p_tick = 1.0 - math.exp(-rate * self.model.spec.simulation.tick_days / YEAR_DAYS)
        key = self.model.keys[STREAM_INDEX["workforce"]]
        return uniform(key, self.serial, self.model.time_tick, 0) < p_tick


class Partner(mesa.Agent):
    """An outside company operating touchpoints (courier, installer, reseller).

    Each tick its reliability is the contracted one, lowered in proportion when yesterday's
    jobs exceeded its capacity (overload).
    """

    def __init__(self, model: CXModel, name: str, reliability: float, quality: float,
                 capacity: float, cost_per_job: float):
        super().__init__(model)
        self.name = name
        self.unique_id = agent_id(model, "partner", list(model.spec.partners).index(name))
        self.reliability = float(reliability)
        self.quality = float(quality)
        self.capacity = float(capacity)
        self.cost_per_job = float(cost_per_job)
        self.jobs_last_tick = 0.0
        self.effective_reliability = self.reliability

    def step(self) -> None:
        """Set today's effective reliability from yesterday's load."""
        daily_jobs = self.jobs_last_tick / self.model.spec.simulation.tick_days
        overload = min(1.0, self.capacity / daily_jobs) if daily_jobs > 0 else 1.0
        self.effective_reliability = self.reliability * overload
