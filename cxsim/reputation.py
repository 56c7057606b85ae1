"""Reputation: a public rating built from customers' reviews, which scales how well marketing works.

Prospects read reviews.  Each tick some of the customers whose service episode left them a
promoter post a good review, some detractors a bad one (more often: dissatisfied customers
talk more, Anderson 1998) and a few passives a middling one (moderate views are reported
least, Hu, Pavlou & Zhang 2009).  The platform shows the weighted mean of the reviews' stars,
the newest weighing most; that rating scales the Bass marketing coefficient ``p`` (and
optionally ``q``) of tomorrow's prospects:

    p_today = p x exp(p_elasticity x (rating - reference_rating))

(log-linear, as Luca 2016 estimates the revenue effect of a Yelp star).  Off by default
(``[reputation] enabled = false``): the model then passes the scenario's Bass coefficients
unchanged and writes none of the columns below.  Everything is in :class:`PublicRating`; the
scenario's fields (with their sources) are :class:`cxsim.scenario.Reputation`.

The rating, step by step (``dt`` the tick in days, ``h`` the half-life in days,
``lambda = ln 2 / h``):

1. **Reviews of the tick**, from the customer kernel's counts of episodes by the NPS category
   they left the customer in (:data:`~cxsim.kernels.inputs.ACC_PROMOTER_EPISODES`,
   :data:`~cxsim.kernels.inputs.ACC_WOM_N` for detractors, the rest of
   :data:`~cxsim.kernels.inputs.ACC_EPISODES` passives): ``n_c = post_c x episodes_c``, the
   expected number (no draw).  Episodes are a flow per day, so the reviews of a week of
   daily ticks equal those of one weekly tick.
2. **Memory**: a review's weight halves every ``h`` days.  The review stock ``W`` (weights)
   and its stars ``V`` decay by ``d = 2^(-dt/h)`` a tick, and the tick's reviews enter with
   the mean weight at the tick's end of reviews posted evenly through it,
   ``f = (1 - d) / (lambda dt)``.  A steady flow of ``F`` reviews a day then keeps
   ``W = F / lambda`` at any tick length.
3. **Rating**: ``V / W`` on the 1-5 star scale, each review at its category's stars
   (``promoter_stars`` 5, ``passive_stars`` 4, ``detractor_stars`` 1 by default).
4. **Prior**: the platform already holds reviews at tick 0: ``prior_weight x F0 / lambda``
   of them (with ``prior_weight = 1`` the stock a steady flow leaves), where ``F0`` is the
   review flow per day of the initial customers (each customer's needs per day x the post
   share of their NPS category now); they age like every review.  Their stars are
   ``prior_rating``, or with ``prior_rating = 0`` the mean stars of the reviews posted in the
   first ``prior_days`` days (the business as the scenario describes it: the initial
   customers' categories alone rate it higher than their episodes do, since episodes happen
   more to the customers whose experience is worse).  With ``reference_rating = 0`` the
   reference is the prior rating, so an enabled scenario starts as calibrated and moves only
   as its experience does; until both are known the factor is 1.  Before the prior's stars
   are known the rating is the mean of the reviews posted so far.

Timing: the rating after tick ``t`` sets the factor of tick ``t + 1`` (the customers of a tick
read yesterday's reviews, as they read yesterday's referrals).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .kernels.inputs import (
    ACC_EPISODES,
    ACC_PROMOTER_EPISODES,
    ACC_WOM_N,
    CUSTOMER,
    Behaviour,
    Customers,
)

if TYPE_CHECKING:  # pragma: no cover
    from .scenario import Reputation

__all__ = ["COLUMNS", "PublicRating", "initial_flow", "marketing_factor", "memory",
           "rating_of", "reviews_of"]

#: the per-tick columns the model adds to its metrics (declared in cxsim.vocabulary)
COLUMNS = ("rating", "reviews", "marketing_factor")


def memory(tick_days: float, half_life_days: float) -> tuple[float, float]:
    """How reviews age over one tick: ``(decay, fresh)``.

    ``decay = 2^(-dt/h)`` is the weight a review keeps over a tick; ``fresh = (1 - decay) /
    (lambda dt)`` the mean weight, at the tick's end, of a review posted at an even pace
    through the tick (``lambda = ln 2 / h``), so a steady flow keeps the same stock at any tick
    length.
    """
    kappa = math.log(2.0) * tick_days / half_life_days
    decay = math.exp(-kappa)
    fresh = -math.expm1(-kappa) / kappa
    return decay, fresh


def initial_flow(cu: Customers, needs_per_day: np.ndarray, spec: Reputation) -> float:
    """Reviews per day the initial customers' episodes would bring (sizes the prior stock).

    Each customer's needs per day (``needs_per_day[segment]``) times the post share of their
    NPS category now (the kernel's rule, :func:`cxsim.kernels.nps_category`, on whole arrays).
    """
    customer = cu.status == CUSTOMER
    y = (10.0 * cu.satisfaction[customer].astype(np.float64)
         + cu.nps_bias[customer].astype(np.float64) + 0.5)
    needs = np.asarray(needs_per_day, np.float64)[cu.segment[customer]]
    return reviews_of(float(needs[y >= 9.0].sum()), float(needs[(y >= 7.0) & (y < 9.0)].sum()),
                      float(needs[y < 7.0].sum()), spec)[0]


def reviews_of(promoter_episodes: float, passive_episodes: float, detractor_episodes: float,
               spec: Reputation) -> tuple[float, float]:
    """The reviews of a tick and their stars together: ``(n, stars)``.

    ``n = Σ_c post_c x episodes_c`` over the three NPS categories, ``stars = Σ_c stars_c x
    post_c x episodes_c``.
    """
    good = spec.promoter_post * promoter_episodes
    middling = spec.passive_post * passive_episodes
    bad = spec.detractor_post * detractor_episodes
    return (good + middling + bad,
            spec.promoter_stars * good + spec.passive_stars * middling
            + spec.detractor_stars * bad)


def rating_of(weight: float, stars: float, empty: float) -> float:
    """The public rating: the weighted mean of the reviews' stars, ``empty`` with no reviews."""
    return stars / weight if weight > 0.0 else empty


def marketing_factor(rating: float, reference: float, elasticity: float) -> float:
    """How much a rating scales a Bass coefficient: ``exp(elasticity x (rating - reference))``."""
    return math.exp(elasticity * (rating - reference))


class PublicRating:
    """The public rating of one run: its review stock, today's factors and the tick's columns.

    ``spec`` is the scenario's ``[reputation]`` section (enabled), ``tick_days`` the tick's
    length and ``flow0`` the initial customers' reviews per day (:func:`initial_flow`).
    """

    def __init__(self, spec: Reputation, tick_days: float, flow0: float):
        self.spec = spec
        self.tick_days = tick_days
        self.decay, self.fresh = memory(tick_days, spec.half_life_days)
        #: the reviews posted in the run: weights, and stars x weights (both aged)
        self.weight = 0.0
        self.stars = 0.0
        #: the weight of the reviews there before the run (aged)
        self.prior_weight = spec.prior_weight * flow0 * spec.half_life_days / math.log(2.0)
        #: their mean stars (None until the first prior_days' reviews give it)
        self.prior: float | None = spec.prior_rating if spec.prior_rating > 0 else None
        #: the rating at which marketing works as the scenario's p and q say (None: not yet)
        self.reference: float | None = (spec.reference_rating if spec.reference_rating > 0
                                        else self.prior)
        self._days = 0.0  # days observed
        self._posted = 0.0  # reviews posted (not aged), and their stars: the prior's stars
        self._posted_stars = 0.0
        self.rating = self._rating()
        self._rows: list[tuple[float, float, float]] = []

    def _rating(self) -> float:
        """The rating now: every review's stars, weighted (NaN with none known yet)."""
        if self.prior is None:
            return rating_of(self.weight, self.stars, math.nan)
        return rating_of(self.weight + self.prior_weight,
                         self.stars + self.prior_weight * self.prior, self.prior)

    def factors(self) -> tuple[float, float]:
        """Today's factors of marketing ``p`` and referrals ``q`` (from the rating now)."""
        s = self.spec
        if self.reference is None or math.isnan(self.rating):
            return 1.0, 1.0
        return (marketing_factor(self.rating, self.reference, s.p_elasticity),
                marketing_factor(self.rating, self.reference, s.q_elasticity))

    def bass_today(self, beh: Behaviour) -> dict[str, float]:
        """Today's one-tick Bass inputs (``Today.p_tick`` ... ``bass_1me``) at today's factors."""
        fp, fq = self.factors()
        p, q = beh.p_tick * fp, beh.q_tick * fq
        return {"p_tick": p, "q_tick": q, "bass_e": math.exp(-(p + q)),
                "bass_1me": -math.expm1(-(p + q))}

    def observe(self, tot: np.ndarray) -> None:
        """Take in a tick's summed accumulators (``ACC_*``): its reviews join the aged stock."""
        factor = self.factors()[0]
        promoters = float(tot[ACC_PROMOTER_EPISODES])
        detractors = float(tot[ACC_WOM_N])
        passives = max(float(tot[ACC_EPISODES]) - promoters - detractors, 0.0)
        n, stars = reviews_of(promoters, passives, detractors, self.spec)
        self.weight = self.weight * self.decay + n * self.fresh
        self.stars = self.stars * self.decay + stars * self.fresh
        self.prior_weight *= self.decay
        self._days += self.tick_days
        if self.prior is None:
            self._posted += n
            self._posted_stars += stars
            # the first prior_days' reviews give the prior's stars (and the reference)
            if self._days >= self.spec.prior_days * (1.0 - 1e-12) and self._posted > 0.0:
                self.prior = self._posted_stars / self._posted
                if self.reference is None:
                    self.reference = self.prior
        self.rating = self._rating()
        self._rows.append((self.rating, n, factor))

    def columns(self) -> dict[str, np.ndarray]:
        """Per tick: the rating at its end, the reviews posted in it, the factor of p it used."""
        rows = np.array(self._rows, dtype=np.float64).reshape(-1, len(COLUMNS))
        return {name: rows[:, k] for k, name in enumerate(COLUMNS)}
