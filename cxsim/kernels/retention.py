"""Proactive retention: the churn-risk score's noise, one counter-based normal per customer.

Customer ``i`` scored at tick ``t`` gets ``normal(key, i, t, 0)`` of the ``retention``
stream (:data:`cxsim.rng.STREAMS`): the same draw whatever the engine, the thread count or
the order customers are scored in.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..rng import normal

__all__ = ["score_noise"]


@njit(cache=True, nogil=True, _nrt=False)
def _noise_span(lo, hi, key, agents, t, out):
    for k in range(lo, hi):
        out[k] = normal(key, agents[k], t, 0)


def score_noise(key: np.uint64, agents: np.ndarray, t: int) -> np.ndarray:
    """A standard normal per agent of ``agents`` (``int64[M]``) at tick ``t`` (``float64[M]``)."""
    agents = np.ascontiguousarray(agents, dtype=np.int64)
    out = np.empty(agents.shape[0], np.float64)
    _noise_span(0, agents.shape[0], np.uint64(key), agents, np.int64(t), out)
    return out
