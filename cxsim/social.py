"""The social side of the market: who knows whom, and what passes between them each tick.

Three effects travel over contacts after the customer phase: referral counts (prospects
read the referring share of their contacts), churn exposure (contagion) and word of mouth on
expectations.  On a network they go contact by contact
(:func:`cxsim.kernels.spread_social_effects`); in a fully mixed market they are mean-field
quantities every customer shares, kept here between ticks.
"""

from __future__ import annotations

import math

import numpy as np
from numba import get_num_threads

from .kernels import (
    ACC_CHURNED,
    ACC_EVENTS,
    ACC_REFERRERS,
    ACC_WOM_N,
    ACC_WOM_SAT_SUM,
    EV_REF_UP,
    EV_WOM,
    WOM_TALKS_SHIFT,
    Customers,
    first_talks,
    referrers,
    spread_social_effects,
)
from .network import build_network
from .rng import numpy_generator
from .scenario import Scenario
from .tables import exposure_decay

#: full mixing keeps the churn counts of at most this many past ticks exactly (their weights
#: differ); older churns, and any whose weight is negligible, join a tail kept to first order
CONTAGION_HISTORY = 4096
#: a past churn whose exponent |log(m)| w is below this joins the first-order tail
CONTAGION_NEGLIGIBLE = 1e-7
#: quadrature over a tick: 8-point Gauss-Legendre panels, at most this many
_PANELS = 64
_GL8 = np.polynomial.legendre.leggauss(8)


class MixedContagion:
    """Churn contagion in a fully mixed market: the mean multiplier over customers.

    Each customer's contacts are a random k of the N - 1 others (k = ``market.mean_degree``),
    so a past churn j is one of a customer's contacts with probability pi = k / (N - 1) and
    the customer's exposure is X = sum_j w_j [j is a contact], w_j the churn's weight now
    (1 at the start of the tick after it, then e^{-lambda s}).  The mean multiplier over
    customers is exactly (Campbell's theorem for independent indicators)

        E[m^X] = prod_j (1 + pi (m^{w_j} - 1)),

    not m^{E[X]}.  Churns of one tick share a weight, so only per-tick counts are kept: the
    last ``CONTAGION_HISTORY`` ticks (fewer when older weights are negligible,
    ``|log m| w < CONTAGION_NEGLIGIBLE``).  Older churns join a tail T = sum c w taken to first
    order, log(1 + pi (m^w - 1)) ~ pi w log m: exact as w -> 0, and only reached within the
    cap when the half-life exceeds about CONTAGION_HISTORY / 23 ticks (e.g. 178 days with
    daily ticks, when a churn 4096 ticks old still weighs more than 1e-7).

    Like a customer on a network (:func:`cxsim.kernels.contagion_shift`), every customer's
    log-odds then shift by log of the tick mean, (1/dt) int_0^dt E[m^{X(s)}] ds, computed by
    Gauss-Legendre quadrature in u = e^{-lambda s} (:attr:`shift`, passed to the kernel as
    ``Today.contagion_shift``).
    """

    def __init__(self, scenario: Scenario, n: int):
        b = scenario.behaviour
        self.pi = min(1.0, scenario.market.mean_degree / max(n - 1, 1))
        self.log_m = math.log(b.contagion)
        d = exposure_decay(scenario.simulation.tick_days, b.contagion_half_life)
        self.decay, self.mean_u = d["exposure_decay"], d["exposure_mean"]
        if self.log_m == 0.0 or self.decay <= 0.0:
            self.keep = 1
        else:
            ages = math.log(CONTAGION_NEGLIGIBLE / abs(self.log_m)) / math.log(self.decay)
            self.keep = int(min(CONTAGION_HISTORY, max(1, math.ceil(ages))))
        self.counts = np.zeros(0)  # newest first: churns of the last tick, the one before, ...
        self.weights = self.decay ** np.arange(self.keep, dtype=float)
        self.tail = 0.0  # sum of c w over the churns in the first-order tail
        self.shift = 0.0  # churn log-odds shift of the coming tick

    def add(self, churned: float) -> None:
        """Age the history by a tick, add this tick's churns; set the next tick's shift."""
        if self.log_m == 0.0:
            return
        self.tail *= self.decay
        counts = np.concatenate([[float(churned)], self.counts])
        if counts.shape[0] > self.keep:
            self.tail += float(counts[self.keep]) * self.decay ** self.keep
            counts = counts[:self.keep]
        self.counts = counts
        self.shift = self.tick_shift()

    def log_mean_multiplier(self, u: np.ndarray) -> np.ndarray:
        """Log of E[m^X] over customers with every weight scaled by ``u`` = e^{-lambda s}."""
        nz = self.counts > 0
        c = self.counts[nz]
        w = self.weights[:self.counts.shape[0]][nz]
        out = self.pi * self.log_m * self.tail * u
        if c.shape[0]:
            inner = np.log1p(self.pi * np.expm1(self.log_m * w[:, None] * u[None, :]))
            out = out + c @ inner
        return out

    def tick_shift(self) -> float:
        """Log of (1/dt) int_0^dt E[m^{X(s)}] ds, the coming tick's mean multiplier."""
        r, mean_u = self.decay, self.mean_u
        if mean_u <= 0.0:
            return 0.0
        ends = self.log_mean_multiplier(np.array([r, 1.0]))
        if not ends.any():
            return 0.0
        width = 1.0 - r
        panels = int(min(max(math.ceil(abs(ends[1] - ends[0]) + abs(ends).max() * width), 1),
                         _PANELS))
        h = width / panels
        x, wts = _GL8
        mids = r + h * (np.arange(panels) + 0.5)
        u = (mids[:, None] + 0.5 * h * x[None, :]).ravel()
        w = np.tile(wts, panels)
        lv = self.log_mean_multiplier(u)
        top = float(lv.max())
        if top <= 700.0:
            a = float((w * np.expm1(lv) / u).sum()) * mean_u / (2.0 * panels)
            out = math.log1p(a) if a > -1.0 else -math.inf
        else:  # e^L would overflow: take e^{top} out
            b = float((w * (np.exp(lv - top) - math.exp(-top)) / u).sum()) * mean_u / (2 * panels)
            inner = math.exp(-top) + b
            out = top + math.log(inner) if inner > 0.0 else -math.inf
        # between the multiplier at the end and at the start of the tick
        lo, hi = float(ends.min()), float(ends.max())
        return min(max(out, lo), hi)


class Social:
    """The social network (CSR arrays, or none for full mixing) and the mean-field state.

    ``indptr int64[N+1]``, ``indices int32[E]``: contacts of agent ``i`` are
    ``indices[indptr[i]:indptr[i+1]]`` (empty arrays when fully mixed).
    """

    def __init__(self, scenario: Scenario, n: int, keys: np.ndarray, chunk: int):
        m = scenario.market
        self.spec = scenario
        self.n = n
        self.chunk = chunk
        self.keys = keys
        self.network = build_network(m.network, n, m.mean_degree, m.rewiring,
                                     numpy_generator(keys, "network"))
        if self.network is None:
            self.indptr = np.zeros(n + 1, np.int64)
            self.indices = np.zeros(0, np.int32)
        else:
            self.indptr, self.indices = self.network
        # full mixing: what every customer shares
        self.referral_fraction = 0.0
        self.mixed_contagion = MixedContagion(scenario, n)
        self.contagion_shift = 0.0
        self.wom_log = 0.0
        self.wom_target = 0.0

    def start(self, cu: Customers, promoters_only: bool, need_mean: np.ndarray) -> None:
        """Set the social state the initial market implies.

        Every agent's count of referring contacts, and the word of mouth under way: the
        detractors' talks of a tick before the first (:func:`~cxsim.kernels.first_talks`;
        ``need_mean[s]`` is segment ``s``'s expected episodes per tick), heard by their
        contacts and taken in over the first tick.
        """
        ref = referrers(cu.status, cu.satisfaction, cu.nps_bias, promoters_only)
        talks = first_talks(self.keys, cu.status, cu.satisfaction, cu.nps_bias, cu.segment,
                            need_mean)
        if self.network is None:
            self.referral_fraction = int(ref.sum()) / max(self.n - 1, 1)
            self._mixed_wom(float(talks.sum()), float(talks @ cu.satisfaction.astype(float)))
            return
        cu.wom_said[:] = cu.satisfaction
        ev = np.where(ref, EV_REF_UP, 0) | np.where(
            talks > 0, EV_WOM | (talks << WOM_TALKS_SHIFT), 0)
        cu.events[:] = ev.astype(np.uint16)
        chunk_events = np.add.reduceat((ev != 0).astype(float), np.arange(0, self.n, self.chunk))
        spread_social_effects(self.chunk, chunk_events, cu.events, self.indptr, self.indices,
                              cu.wom_said, cu.expectation, cu.exposure, cu.referrer_nbrs,
                              cu.wom_log, cu.wom_target, self.spec.behaviour.wom_strength,
                              get_num_threads())
        cu.events[:] = 0

    def _mixed_wom(self, talks: float, said: float) -> None:
        """Full mixing: the word of mouth every customer hears from ``talks`` talks.

        ``said`` is the sum of the satisfaction each talk conveys.  Each talk pulls by
        wom_strength, so the share of the gap they leave compounds (a long tick's many
        talks pull as the same talks over short ticks); customers take it in over the next
        tick's episodes.
        """
        b = self.spec.behaviour
        if talks <= 0:
            self.wom_log = 0.0
            return
        per_customer = talks * self.spec.market.mean_degree / max(self.n - 1, 1)
        self.wom_log = (math.log1p(-b.wom_strength) * per_customer
                        if b.wom_strength < 1.0 else -math.inf)
        self.wom_target = said / talks

    def spread(self, cu: Customers, acc: np.ndarray, totals: np.ndarray) -> None:
        """Pass today's events on: over the network, or as mean-field quantities.

        ``acc`` is the per-chunk accumulator table of the tick, ``totals`` its sum.
        """
        b = self.spec.behaviour
        if self.network is not None:
            spread_social_effects(self.chunk, acc[:, ACC_EVENTS].copy(), cu.events,
                                  self.indptr, self.indices, cu.wom_said, cu.expectation,
                                  cu.exposure, cu.referrer_nbrs, cu.wom_log, cu.wom_target,
                                  b.wom_strength, get_num_threads())
            return
        # fully mixed market: mean-field versions of the same three effects
        n = max(self.n - 1, 1)
        self.referral_fraction = totals[ACC_REFERRERS] / n
        self.mixed_contagion.add(totals[ACC_CHURNED])
        self.contagion_shift = self.mixed_contagion.shift
        self._mixed_wom(float(totals[ACC_WOM_N]), float(totals[ACC_WOM_SAT_SUM]))
