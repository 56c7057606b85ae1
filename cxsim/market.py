"""The market: every agent's state as arrays, the population at tick 0, the customer phase."""

from __future__ import annotations

import numpy as np

from . import kernels as K
from .kernels import Behaviour, Customers, Journeys, Segments, Today, Touchpoints
from .rng import STREAM_INDEX
from .scenario import Scenario

#: customers per chunk of the parallel kernel; fixed so results never depend on threads
CHUNK = 2048


class Market:
    """Prospects, customers and churned customers: state arrays and per-chunk accumulators.

    ``customers`` is the :class:`~cxsim.kernels.Customers` state (``[N]`` arrays);
    ``acc``, ``tpacc``, ``segacc`` the tick's per-chunk accumulators (see
    :mod:`cxsim.kernels.inputs`), summed in chunk order afterwards.
    """

    def __init__(self, scenario: Scenario, keys: np.ndarray, beh: Behaviour, seg: Segments):
        sc = scenario
        n = sc.market.size
        self.n = n
        self.chunk = CHUNK
        self.n_chunks = (n + CHUNK - 1) // CHUNK
        self.keys = keys
        self.customers = Customers.empty(n)
        n_tp, n_seg = len(sc.touchpoints), len(sc.segments)
        self.acc = np.zeros((self.n_chunks, K.N_ACC))
        self.tpacc = np.zeros((self.n_chunks, n_tp, K.N_TPA + n_tp))
        self.segacc = np.zeros((self.n_chunks, n_seg, K.N_SGA))
        cu = self.customers
        shares = np.cumsum([sp.share for sp in sc.segments.values()])
        K.assign_segments(keys, shares, float(sc.behaviour.nps_sd), cu.segment, cu.nps_bias)
        k = sc.market.initial_customers
        if k > 0:
            u = K.uniforms(keys[STREAM_INDEX["initial"]], n, 0)
            chosen = np.sort(np.argpartition(u, k - 1)[:k]) if k < n else np.arange(n)
            K.start_initial_customers(keys, chosen, float(sc.market.initial_tenure_months),
                                      seg, beh, cu, CHUNK)
        self.initial_customers = int((cu.status == K.CUSTOMER).sum())
        self.segment_initial = np.bincount(cu.segment[cu.status == K.CUSTOMER],
                                           minlength=n_seg)

    def advance(self, t: int, beh: Behaviour, today: Today, seg: Segments, tp: Touchpoints,
                jr: Journeys, indptr: np.ndarray) -> None:
        """Every agent's tick in the parallel kernel (the numba engine)."""
        K.advance_customers(t, self.chunk, self.keys, self.customers, beh, today, seg, tp, jr,
                            indptr, self.acc, self.tpacc, self.segacc)

    def clear(self) -> None:
        """Zero the accumulators (the mesa engine, which steps customers one by one)."""
        self.acc[:] = 0.0
        self.tpacc[:] = 0.0
        self.segacc[:] = 0.0

    def expected_entry_volume(self, seg: Segments, tp: Touchpoints, jr: Journeys) -> np.ndarray:
        """Expected contacts per touchpoint on the first tick (entry points only)."""
        cu = self.customers
        n_seg, n_needs = seg.need_cum.shape
        vol = np.zeros(tp.quality.shape[0])
        active = np.bincount(cu.segment[cu.status == K.CUSTOMER], minlength=n_seg)
        for s in range(n_seg):
            p_type = np.diff(np.concatenate([[0.0], seg.need_cum[s]]))
            for k in range(n_needs):
                cand = jr.need_tp[jr.need_ptr[k]:jr.need_ptr[k + 1]]
                w = np.array([seg.channel_pref[s, tp.channel[j]] * tp.open[j] for j in cand])
                if w.sum() > 0:
                    vol[cand] += active[s] * seg.need_mean[s] * p_type[k] * w / w.sum()
        return vol
