"""Set-up kernels: the market at tick 0 (segments, response styles, the initial customers)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..rng import normal, uniform
from .customer import is_referrer, nps_category, round_by_chance, start_customer
from .inputs import CUSTOMER, K_FRAILTY, K_INITIAL, K_SEGMENT, K_START, K_STYLE, WOM_TALKS_MAX
from .parallel import for_ranges

__all__ = [
    "assign_segments", "fill_csr", "first_talks", "referrers", "start_initial_customers",
    "uniforms",
]



@njit(cache=True, nogil=True, _nrt=False)
def _uniforms(lo, hi, key, slot, out):
    for i in range(lo, hi):
        out[i] = uniform(key, i, 0, slot)


def uniforms(key, n, slot):
    """``float64[n]``: draw ``slot`` of agents ``0 .. n-1`` at tick 0 of stream ``key``."""
    out = np.empty(n)
    for_ranges(_uniforms, n, np.uint64(key), int(slot), out)
    return out


@njit(cache=True, nogil=True, _nrt=False)
def _assign_segments(lo, hi, keys, cum_shares, nps_sd, segment, nps_bias):
    last = cum_shares.shape[0] - 1
    for i in range(lo, hi):
        u = uniform(keys[K_SEGMENT], i, 0, 0)
        s = 0
        while s < last and u >= cum_shares[s]:
            s += 1
        segment[i] = s
        nps_bias[i] = nps_sd * normal(keys[K_STYLE], i, 0, 0)


def assign_segments(keys, cum_shares, nps_sd, segment, nps_bias):
    """Give every agent a segment (``cum_shares float64[S]``) and a response style.

    Writes ``segment uint8[N]`` and ``nps_bias float32[N]`` (``nps_sd`` x a standard normal).
    """
    for_ranges(_assign_segments, segment.shape[0], keys, cum_shares, float(nps_sd), segment,
               nps_bias)


@njit(cache=True, nogil=True, _nrt=False)
def _stationary_tenure(u, cdf, expo):
    """Tenure and survivor exposure (months) at quantile ``u`` of one segment's table."""
    # np.searchsorted(cdf, u, side="right"), its binary search written out (numba's generic
    # one compiles comparisons for every dtype): cdf[k - 1] <= u < cdf[k]
    k = 0
    top = cdf.shape[0]
    while k < top:
        mid = k + ((top - k) >> 1)
        if cdf[mid] <= u:
            k = mid + 1
        else:
            top = mid
    k = min(max(k, 1), cdf.shape[0] - 1)
    width = cdf[k] - cdf[k - 1]
    x = (u - cdf[k - 1]) / width if width > 0.0 else 0.0
    x = min(max(x, 0.0), 1.0)
    return (k - 1) + x, expo[k - 1] + x * (expo[k] - expo[k - 1])


@njit(cache=True, nogil=True, _nrt=False)
def _start_initial(lo, hi, keys, chosen, tenure_mean, cdf, expo, seg, beh, cu):
    """Start ``chosen[lo:hi]`` as customers (one thread's part)."""
    for k in range(lo, hi):
        i = chosen[k]
        s = cu.segment[i]
        tenure = 0.0
        exposure = 0.0
        if cdf.shape[1] > 0:
            tenure, exposure = _stationary_tenure(uniform(keys[K_INITIAL], i, 0, 1), cdf[s],
                                                  expo[s])
        elif tenure_mean > 0.0:
            tenure = min(-tenure_mean * math.log(uniform(keys[K_INITIAL], i, 0, 1)),
                         beh.tenure_cap_months)
            exposure = tenure
        start_customer(keys[K_START], keys[K_FRAILTY], i, np.int64(0), s, seg, beh, cu, tenure,
                       exposure)
        cu.status[i] = CUSTOMER


def start_initial_customers(keys, chosen, tenure_mean, cdf, expo, seg, beh, cu):
    """Make the ``chosen int64[k]`` agents customers with a tenure (months).

    With tables (``cdf``, ``expo``: ``float64[S, M + 1]`` on whole months 0..M, from
    :func:`cxsim.tables.stationary_tenure`) the tenure is drawn from each segment's stationary
    distribution and the churn propensity from the survivors of that exposure; with empty
    tables (``[S, 0]``) the tenure is exponential with mean ``tenure_mean``, capped at
    ``beh.tenure_cap_months``.
    """
    for_ranges(_start_initial, chosen.shape[0], keys, chosen, float(tenure_mean), cdf, expo,
               seg, beh, cu)


@njit(cache=True, nogil=True, _nrt=False)
def _referrers(lo, hi, status, satisfaction, nps_bias, promoters_only, out):
    for i in range(lo, hi):
        out[i] = is_referrer(status[i], satisfaction[i], nps_bias[i], promoters_only)


def referrers(status, satisfaction, nps_bias, promoters_only):
    """``bool[N]``: which agents refer prospects now (:func:`is_referrer`)."""
    out = np.zeros(status.shape[0], np.bool_)
    for_ranges(_referrers, status.shape[0], status, satisfaction, nps_bias,
               bool(promoters_only), out)
    return out


@njit(cache=True, nogil=True, _nrt=False)
def _first_talks(lo, hi, keys, status, satisfaction, nps_bias, segment, need_mean, out):
    for i in range(lo, hi):
        if status[i] == CUSTOMER and nps_category(satisfaction[i], nps_bias[i]) == -1:
            talks = round_by_chance(need_mean[segment[i]], uniform(keys[K_INITIAL], i, 0, 3))
            out[i] = min(talks, WOM_TALKS_MAX)


def first_talks(keys, status, satisfaction, nps_bias, segment, need_mean):
    """``int64[N]``: the word of mouth each agent has just given when the run starts.

    The market starts in a steady state, which has word of mouth under way: a customer who
    is a detractor now talks about each of the tick's episodes, ``need_mean[segment]`` on
    average (rounded by chance), as if the tick before the first had run.  (All of them,
    as a first approximation: some episodes would have lifted the customer out of
    detraction.)  Without it the first tick would hear none, a transient as long as a tick.
    """
    out = np.zeros(status.shape[0], np.int64)
    for_ranges(_first_talks, status.shape[0], keys, status, satisfaction, nps_bias, segment,
               need_mean, out)
    return out


@njit(cache=True, nogil=True, _nrt=False)
def _degrees(src, dst, deg):
    for k in range(src.shape[0]):
        a, b = src[k], dst[k]
        if a != b:
            deg[a + 1] += 1
            deg[b + 1] += 1


@njit(cache=True, nogil=True, _nrt=False)
def _fill_contacts(src, dst, pos, indices):
    for k in range(src.shape[0]):
        a, b = src[k], dst[k]
        if a != b:
            indices[pos[a]] = b
            pos[a] += 1
            indices[pos[b]] = a
            pos[b] += 1


def fill_csr(n, src, dst):
    """Build a symmetric CSR adjacency from an undirected edge list (self-loops skipped).

    Returns ``(indptr int64[n+1], indices int32[E])``; the arrays are allocated here, the
    two passes over the edges are compiled.
    """
    deg = np.zeros(n + 1, dtype=np.int64)
    _degrees(src, dst, deg)
    indptr = np.cumsum(deg)
    pos = indptr[:-1].copy()
    indices = np.empty(indptr[n], dtype=np.int32)
    _fill_contacts(src, dst, pos, indices)
    return indptr, indices
