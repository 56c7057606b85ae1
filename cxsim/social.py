"""The social side of the market: who knows whom, and what passes between them each tick.

Three effects travel over contacts after the customer phase: referral counts (prospects
read the referring share of their contacts), churn exposure (contagion) and word of mouth on
expectations.  On a network they go contact by contact
(:func:`cxsim.kernels.spread_social_effects`); in a fully mixed market they are mean-field
quantities every customer shares, kept here between ticks.
"""

from __future__ import annotations

import numpy as np
from numba import get_num_threads

from .kernels import (
    ACC_CHURNED,
    ACC_EVENTS,
    ACC_REFERRERS,
    ACC_WOM_N,
    ACC_WOM_SAT_SUM,
    EV_REF_UP,
    Customers,
    referrers,
    spread_social_effects,
)
from .network import build_network
from .rng import numpy_generator
from .scenario import Scenario


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
        self.network = build_network(m.network, n, m.mean_degree, m.rewiring,
                                     numpy_generator(keys, "network"))
        if self.network is None:
            self.indptr = np.zeros(n + 1, np.int64)
            self.indices = np.zeros(0, np.int32)
        else:
            self.indptr, self.indices = self.network
        # full mixing: what every customer shares
        self.referral_fraction = 0.0
        self.global_exposure = 0.0
        self.wom_rate = 0.0
        self.wom_target = 0.0

    def start(self, cu: Customers, promoters_only: bool) -> None:
        """Set every agent's count of referring contacts from the initial state."""
        ref = referrers(cu.status, cu.satisfaction, cu.nps_bias, promoters_only)
        if self.network is None:
            self.referral_fraction = int(ref.sum()) / max(self.n - 1, 1)
            return
        cu.events[:] = np.where(ref, EV_REF_UP, 0).astype(np.uint8)
        chunk_events = np.add.reduceat(ref.astype(float), np.arange(0, self.n, self.chunk))
        spread_social_effects(self.chunk, chunk_events, cu.events, self.indptr, self.indices,
                              cu.satisfaction, cu.expectation, cu.exposure, cu.referrer_nbrs,
                              0.0, get_num_threads())
        cu.events[:] = 0

    def spread(self, cu: Customers, acc: np.ndarray, totals: np.ndarray,
               exposure_decay: float) -> None:
        """Pass today's events on: over the network, or as mean-field quantities.

        ``acc`` is the per-chunk accumulator table of the tick, ``totals`` its sum.
        """
        b = self.spec.behaviour
        if self.network is not None:
            spread_social_effects(self.chunk, acc[:, ACC_EVENTS].copy(), cu.events,
                                  self.indptr, self.indices, cu.satisfaction, cu.expectation,
                                  cu.exposure, cu.referrer_nbrs, b.wom_strength,
                                  get_num_threads())
            return
        # fully mixed market: mean-field versions of the same three effects
        n = max(self.n - 1, 1)
        k = self.spec.market.mean_degree
        self.referral_fraction = totals[ACC_REFERRERS] / n
        self.global_exposure = self.global_exposure * exposure_decay + totals[ACC_CHURNED] * k / n
        if totals[ACC_WOM_N] > 0:
            self.wom_rate = min(1.0, b.wom_strength * totals[ACC_WOM_N] * k / n)
            self.wom_target = totals[ACC_WOM_SAT_SUM] / totals[ACC_WOM_N]
        else:
            self.wom_rate = 0.0
