"""A team of employees stepped at once: :class:`~cxsim.agents.Employee`'s rules, compiled.

An employee's state is a column of a team's ``float64[F, n]`` array (rows
:data:`EMPLOYEE_FIELDS`; :class:`cxsim.workforce.Staff`).  :func:`advance_staff` runs
``Employee.step`` and ``Employee.quits`` for a whole team in one call and
:func:`team_midpoint` sums the team over the tick; the same arithmetic in the same order as the
agents' own methods, so the same numbers, without a dozen Python calls a person-tick.
:func:`pairwise_sum` sums as NumPy does, so a team's mean is ``np.mean``'s to the last bit.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..rng import uniform
from ..scenario import YEAR_DAYS
from .customer import clip01, logistic, logit

__all__ = [
    "EMPLOYEE_FIELDS", "E_BURNOUT", "E_ENGAGEMENT", "E_ENGAGEMENT_BOOST", "E_EXPERIENCE",
    "E_OWN_ENGAGEMENT", "E_SKILL", "E_TENURE", "E_WORKED", "advance_staff", "pairwise_sum",
    "team_midpoint",
]

#: an employee's state, each a row of the arrays that hold it (one column per person)
EMPLOYEE_FIELDS = ("skill", "engagement", "own_engagement", "engagement_boost", "burnout",
                   "tenure", "experience", "worked")
(E_SKILL, E_ENGAGEMENT, E_OWN_ENGAGEMENT, E_ENGAGEMENT_BOOST, E_BURNOUT, E_TENURE,
 E_EXPERIENCE, E_WORKED) = range(len(EMPLOYEE_FIELDS))


@njit(cache=True)
def team_midpoint(state, leavers, rate):
    """The team over the tick at its middle: ``(weight, skill sum, engagement sum)``.

    ``state`` holds the team after the tick's leavers and hires, ``leavers`` the skill
    and engagement (``float64[2, L]``) of the tick's leavers, ``rate`` the contacts per
    person over ``learning_contacts`` (see ``Workforce.step``).
    """
    weight = skill = eng = 0.0
    for i in range(state.shape[1]):
        # stayers: half the tick's learning by its middle; hires: a quarter
        w = state[E_WORKED, i]
        s_mid = 1.0 - (1.0 - state[E_SKILL, i]) * math.exp(-rate * w / 2.0)
        weight += w
        skill += w * s_mid
        eng += w * state[E_ENGAGEMENT, i]
    for i in range(leavers.shape[1]):  # the first half of the tick, its middle a quarter in
        s_mid = 1.0 - (1.0 - leavers[0, i]) * math.exp(-rate * 0.25)
        weight += 0.5
        skill += 0.5 * s_mid
        eng += 0.5 * leavers[1, i]
    return weight, skill, eng


@njit(cache=True)
def advance_staff(state, serial, occupancy, has_occupancy, contacts, annual_attrition, p,
                  key, t, quits, rate):
    """Step a whole team and draw its quits, in one call.

    ``Employee.step`` and ``Employee.quits`` (:class:`cxsim.agents.Employee`) for every
    column of ``state``: the same arithmetic in the same order, so the same numbers.

    ``p`` holds the workforce's parameters (``Workforce.rates``); ``contacts`` is the
    contacts per person at work (each handled their share ``worked`` of them), then everyone
    has worked the whole tick.  ``quits[i]`` says whether person ``i`` leaves.  Returns the
    number of leavers and, for a tick without leavers or hires, :func:`team_midpoint`.
    """
    dt, thr, gain, recovery, burnout_effect, speed, learning, quit_effect, ref_eng = p
    logit_a = logit(annual_attrition)
    n_quits = 0
    for i in range(state.shape[1]):
        state[E_TENURE, i] += dt
        if has_occupancy:
            b = state[E_BURNOUT, i]
            if occupancy > thr:
                b += gain * (occupancy - thr) * dt
            else:
                b -= recovery * (thr - occupancy) * dt
            state[E_BURNOUT, i] = min(max(b, 0.0), 1.0)
        target = clip01(state[E_OWN_ENGAGEMENT, i] + state[E_ENGAGEMENT_BOOST, i]
                        - burnout_effect * state[E_BURNOUT, i])
        state[E_ENGAGEMENT, i] += speed * (target - state[E_ENGAGEMENT, i])
        c = contacts * state[E_WORKED, i]
        if c > 0:
            state[E_EXPERIENCE, i] += c
            state[E_SKILL, i] += (1.0 - state[E_SKILL, i]) * (1.0 - math.exp(-c / learning))
        state[E_WORKED, i] = 1.0
        z = logit_a + quit_effect * (ref_eng - state[E_ENGAGEMENT, i])
        p_tick = 1.0 - math.exp(-logistic(z) * dt / YEAR_DAYS)
        quits[i] = uniform(key, serial[i], t, 0) < p_tick
        n_quits += quits[i]
    weight, skill, eng = team_midpoint(state, np.zeros((2, 0)), rate)
    return n_quits, weight, skill, eng


@njit(cache=True)
def pairwise_sum(x):
    """The sum of ``float64[n]`` ``x`` as ``np.add.reduce`` sums it, without its overhead.

    NumPy's pairwise summation: blocks of up to 128 values, each summed with eight
    accumulators, halved recursively above that; fewer than eight values in order.  The
    same number as NumPy's, so a team's mean is the one ``np.mean`` gives.
    """
    n = x.shape[0]
    if n < 8:
        res = 0.0
        for i in range(n):
            res += x[i]
        return res
    if n <= 128:
        r0, r1, r2, r3, r4, r5, r6, r7 = x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]
        i = 8
        while i < n - n % 8:
            r0 += x[i]
            r1 += x[i + 1]
            r2 += x[i + 2]
            r3 += x[i + 3]
            r4 += x[i + 4]
            r5 += x[i + 5]
            r6 += x[i + 6]
            r7 += x[i + 7]
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            res += x[i]
            i += 1
        return res
    half = n // 2
    half -= half % 8
    return pairwise_sum(x[:half]) + pairwise_sum(x[half:])
