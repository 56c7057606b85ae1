"""The wait device for callers of several patience groups, compiled.

:func:`cxsim.queueing.wait_device` finds, for each team and tick, the chance to wait and the
mean virtual wait that reproduce Erlang A's abandonment and service level for a mixture of
patience groups: a root search over about 60 evaluations of the mixture.  In NumPy each
evaluation cost tens of microseconds of array overhead for a handful of groups (2.4 ms a
team-tick, most of a small market's tick); here it is a few microseconds in all.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["MIXED_GRID", "mixed_device"]

#: the relative grid of mean virtual waits scanned for sign changes (times the mean patience)
MIXED_GRID = np.logspace(-6, 6, 241)

_BISECTIONS = 60


@njit(cache=True, error_model="numpy")
def _parts(m, pi, theta, target):
    """P(hang up | wait) and P(answered within target | wait) at mean virtual wait ``m``."""
    a = 0.0
    within = 0.0
    for g in range(pi.shape[0]):
        tm = m * theta[g]
        a += tm / (1.0 + tm) * pi[g]
        within += (1.0 - math.exp(-(1.0 / m) * target - theta[g] * target)) / (1.0 + tm) * pi[g]
    return a, within


@njit(cache=True, error_model="numpy")
def mixed_device(ab, sl, pw, pi, theta, target, grid):
    """``(p_wait, mean_virtual)`` matching abandonment ``ab`` and service level ``sl``.

    ``pi`` are the groups' shares of callers, ``theta`` their hang-up rates, ``grid`` the
    mean virtual waits scanned (absolute).  A waiting caller's chance ``w`` follows from the
    abandonment for each mean virtual wait ``m``; ``m`` is the root of the service-level gap
    nearest Erlang A's own P(wait) ``pw``, else the grid point with the smallest gap among
    feasible ones (``w <= 1``), else the grid's end.
    """
    n = grid.shape[0]
    gap = np.empty(n)
    ok = np.empty(n, dtype=np.bool_)
    for i in range(n):
        a, within = _parts(grid[i], pi, theta, target)
        w = ab / a
        gap[i] = (1.0 - w + w * within) - sl
        ok[i] = w <= 1.0
    best = -1.0
    best_miss = np.inf
    for k in range(n - 1):
        if not (ok[k] and ok[k + 1] and np.sign(gap[k]) != np.sign(gap[k + 1])):
            continue
        lo = grid[k]
        hi = grid[k + 1]
        for _ in range(_BISECTIONS):  # bisection in log space
            mid = math.sqrt(lo * hi)
            am, wm = _parts(mid, pi, theta, target)
            g = (1.0 - ab / am + ab / am * wm) - sl
            if np.sign(g) == np.sign(gap[k]):
                lo = mid
            else:
                hi = mid
        root = math.sqrt(lo * hi)
        miss = abs(ab / _parts(root, pi, theta, target)[0] - pw)
        if best < 0.0 or miss < best_miss:
            best, best_miss = root, miss
    if best >= 0.0:
        m = best
    else:
        m = grid[n - 1]
        smallest = np.inf
        for i in range(n):  # the first smallest gap among feasible points; a NaN first wins
            if ok[i] and (math.isnan(gap[i]) or abs(gap[i]) < smallest):
                m = grid[i]
                if math.isnan(gap[i]):
                    break
                smallest = abs(gap[i])
    a_m = _parts(m, pi, theta, target)[0]
    return min(ab / a_m, 1.0), m
