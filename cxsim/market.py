"""The market: every agent's state as arrays, the population at tick 0, the customer phase."""

from __future__ import annotations

import numpy as np

from . import kernels as K
from . import tables
from .kernels import Behaviour, Customers, Journeys, Segments, Today, Touchpoints
from .rng import STREAM_INDEX
from .scenario import MONTH_DAYS, Scenario

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
            if sc.market.initial_tenure == "stationary":
                # the stationary base: each segment's share and tenure as a steady market
                # leaves them (tables.stationary_customers, tables.stationary_tenure)
                agents = np.bincount(cu.segment, minlength=n_seg)
                want = tables.stationary_customers(sc, agents)
                # and the former customers inside the win-back window (tables.stationary_lost):
                # in each segment the agents with the smallest draws are customers, the next
                # ones recent leavers
                lost, rate = tables.stationary_lost(sc, agents, want)
                parts, leavers = [], []
                for s in range(n_seg):
                    idx = np.flatnonzero(cu.segment == s)
                    order = idx[np.argsort(u[idx], kind="stable")]
                    parts.append(order[:want[s]])
                    leavers.append(order[want[s]:want[s] + lost[s]])
                chosen = np.sort(np.concatenate(parts)).astype(np.int64)
                self._start_lost(sc, np.sort(np.concatenate(leavers)), rate, keys, cu)
                cdf, expo = tables.stationary_tenure(sc)
            else:
                chosen = np.sort(np.argpartition(u, k - 1)[:k]) if k < n else np.arange(n)
                cdf = expo = np.zeros((n_seg, 0))
            K.start_initial_customers(keys, chosen, float(sc.market.initial_tenure_months),
                                      cdf, expo, seg, beh, cu)
        self.initial_customers = int((cu.status == K.CUSTOMER).sum())
        self.segment_initial = np.bincount(cu.segment[cu.status == K.CUSTOMER],
                                           minlength=n_seg)
        self._entry_key: tuple | None = None
        self._entry_share = np.zeros(0)

    @staticmethod
    def _start_lost(sc: Scenario, idx: np.ndarray, rate: float, keys: np.ndarray,
                    cu: Customers) -> None:
        """Make ``idx`` former customers who left Exp(``rate``/month) ago, within the window."""
        window = float(sc.market.win_back_months)
        x = K.uniforms(keys[STREAM_INDEX["initial"]], cu.status.shape[0], 2)[idx]
        if rate * window < 1e-12:
            months = x * window
        else:
            months = -np.log1p(x * np.expm1(-rate * window)) / rate
        ticks = np.floor(months * MONTH_DAYS / sc.simulation.tick_days)
        cu.status[idx] = K.CHURNED
        cu.join_tick[idx] = -ticks.astype(np.int32)

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

    def expected_entries(self, seg: Segments, tp: Touchpoints, jr: Journeys,
                         active: np.ndarray, failure_demand: float = 0.0,
                         failure_need: int = -1) -> np.ndarray:
        """Expected first contacts today, by segment and touchpoint (``float64[S, T]``).

        ``active[s]`` customers of segment ``s`` at the start of the tick meet needs at
        today's rates (interventions included) and pick an entry point by channel
        preference among the ones open at the moment of the tick they come (outages); when all
        of a need's entry points are closed they go where the one they wanted escalates to,
        as :func:`cxsim.kernels.customer.walk_episode` does.  ``failure_demand`` customers come
        back with a ``failure_need`` (yesterday's failures).
        """
        key = (tp.open.tobytes(), tp.down_from.tobytes(), tp.down_to.tobytes(),
               tp.exists.tobytes(), seg.need_cum.tobytes(), seg.channel_pref.tobytes())
        if key != self._entry_key:  # changes only with outages and some interventions
            self._entry_key = key
            self._entry_share = self._entry_shares_today(seg, tp, jr)
        share = self._entry_share  # [S, K, T]: where a need of type k starts, by segment
        p_type = np.diff(seg.need_cum, axis=1, prepend=0.0)
        vol = np.einsum("s,sk,skt->st", active * seg.need_mean, p_type, share)
        total_active = float(active.sum())
        if failure_need >= 0 and failure_demand > 0 and total_active > 0:
            vol += failure_demand * (active / total_active)[:, None] * share[:, failure_need, :]
        return vol

    def _entry_shares_today(self, seg: Segments, tp: Touchpoints, jr: Journeys
                            ) -> np.ndarray:
        """Where needs start today, as shares by segment, need type and touchpoint.

        The mean over the stretches of the tick with the same touchpoints down (outages),
        weighted by each stretch's length.
        """
        cuts = np.unique(np.clip(np.concatenate(([0.0, 1.0], tp.down_from, tp.down_to)),
                                 0.0, 1.0))
        out = 0.0
        for a, b in zip(cuts[:-1], cuts[1:], strict=True):
            mid = 0.5 * (a + b)
            avail = np.where((tp.down_from <= mid) & (mid < tp.down_to), 0.0, tp.open)
            out = out + (b - a) * self._entry_shares(seg, avail, tp, jr)
        return out

    def _entry_shares(self, seg: Segments, avail: np.ndarray, tp: Touchpoints,
                      jr: Journeys) -> np.ndarray:
        n_seg, n_needs = seg.need_cum.shape
        out = np.zeros((n_seg, n_needs, tp.quality.shape[0]))
        for s in range(n_seg):
            for k in range(n_needs):
                self._enter(out[s, k], 1.0, k, s, seg, avail, tp, jr)
        return out

    @staticmethod
    def _enter(vol: np.ndarray, contacts: float, k: int, s: int, seg: Segments,
               avail: np.ndarray, tp: Touchpoints, jr: Journeys) -> None:
        """Spread ``contacts`` first contacts of need ``k``, segment ``s``, over entry points.

        ``avail`` holds each touchpoint's availability.
        """
        cand = jr.need_tp[jr.need_ptr[k]:jr.need_ptr[k + 1]]
        pref = np.array([seg.channel_pref[s, tp.channel[j]] for j in cand])
        w_open = pref * avail[cand]
        if w_open.sum() > 0:
            vol[cand] += contacts * w_open / w_open.sum()
            return
        w_all = pref * tp.exists[cand]
        if w_all.sum() <= 0:
            return
        bit = 1 << k
        for j, wj in zip(cand, w_all / w_all.sum(), strict=True):
            lo, hi = jr.path_ptr[j], jr.path_ptr[j + 1]
            ok = (jr.path_kind[lo:hi] == 0) & ((jr.path_mask[lo:hi] & bit) != 0)
            w = np.where(ok, jr.path_w[lo:hi] * avail[jr.path_to[lo:hi]], 0.0)
            if w.sum() > 0:
                np.add.at(vol, jr.path_to[lo:hi], contacts * wj * w / w.sum())
