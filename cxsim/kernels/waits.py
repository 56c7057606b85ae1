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

__all__ = ["MIXED_GRID", "mixture_device"]

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
def mixture_device(ab, sl, pw, mean_wait, weights, patiences, target):
    """:func:`cxsim.queueing.wait_device`'s device for callers of several patience groups.

    ``ab``, ``sl``, ``pw`` and ``mean_wait`` are the day's Erlang A abandonment, service
    level, P(wait) and mean wait; ``weights`` and ``patiences`` the groups' callers and mean
    patience.  Returns ``(found, p_wait, mean_virtual)``; ``found`` is false when the groups
    do not make a mixture to solve for (fewer than two with callers, equal patience, a
    patience not finite, subnormal or 10^12 times another, a negative target) or no device
    was found: the caller then draws the one-patience device.

    A waiting caller's chance ``w`` follows from the abandonment for each mean virtual wait
    ``m``; ``m`` is the root of the service-level gap nearest Erlang A's own P(wait) ``pw``
    (found on the grid ``MIXED_GRID`` times the callers' mean patience, then by bisection),
    else the grid point with the smallest gap among feasible ones (``w <= 1``), else the
    grid's end.
    """
    n = weights.shape[0]
    if n <= 1:
        return False, np.nan, np.nan
    hi = -np.inf
    lo = np.inf
    for g in range(n):  # numpy.ptp(patiences) > 0
        if math.isnan(patiences[g]):
            return False, np.nan, np.nan
        hi = max(hi, patiences[g])
        lo = min(lo, patiences[g])
    if not hi - lo > 0.0:
        return False, np.nan, np.nan
    kept = 0
    total = 0.0
    hi = -np.inf
    lo = np.inf
    for g in range(n):
        if weights[g] > 0.0:
            if not math.isfinite(patiences[g]):
                return False, np.nan, np.nan
            kept += 1
            total += weights[g]
            hi = max(hi, patiences[g])
            lo = min(lo, patiences[g])
    if not (kept > 1 and lo > 1e-150 and hi < 1e12 * lo and target >= 0.0):
        return False, np.nan, np.nan
    if not (pw > 0.0 and ab > 0.0):
        m = mean_wait / pw if pw > 0.0 else 0.0
        return math.isfinite(pw), pw, m if math.isfinite(m) else np.inf
    if ab >= 1.0:
        return True, 1.0, np.inf
    pi = np.empty(kept)
    theta = np.empty(kept)
    scale = 0.0
    k = 0
    for g in range(n):
        if weights[g] > 0.0:
            pi[k] = weights[g] / total
            theta[k] = 1.0 / patiences[g]
            scale += pi[k] * patiences[g]
            k += 1

    grid = scale * MIXED_GRID
    size = grid.shape[0]
    gap = np.empty(size)
    ok = np.empty(size, dtype=np.bool_)
    for i in range(size):
        a, within = _parts(grid[i], pi, theta, target)
        w = ab / a
        gap[i] = (1.0 - w + w * within) - sl
        ok[i] = w <= 1.0
    best = -1.0
    best_miss = np.inf
    for k in range(size - 1):
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
        m = grid[size - 1]
        smallest = np.inf
        for i in range(size):  # the first smallest gap among feasible points; a NaN first wins
            if ok[i] and (math.isnan(gap[i]) or abs(gap[i]) < smallest):
                m = grid[i]
                if math.isnan(gap[i]):
                    break
                smallest = abs(gap[i])
    a_m = _parts(m, pi, theta, target)[0]
    p_wait = min(ab / a_m, 1.0)
    return math.isfinite(p_wait) and not math.isnan(m), p_wait, m
