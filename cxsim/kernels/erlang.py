"""The queue phase compiled: Erlang A and the day's forecast of contacts.

:func:`erlang_a_core` is :func:`cxsim.queueing.erlang_a_shared` (and so
:func:`~cxsim.queueing.erlang_a`) on valid input: the same log-space birth-death chain, the
same window of queue states and the same service level from the regularised incomplete beta
function, written out here (:func:`betainc_xy`) because a compiled function cannot call
SciPy.  The public functions of :mod:`cxsim.queueing` check their input and call it;
:meth:`cxsim.queues.Queues.open_day` calls it directly, once a team and tick, with input that
is valid by construction.  In Python, NumPy and SciPy calls cost a team-tick about 0.1 ms of
overhead for a handful of queue states.

Compile time counts (every kernel compiles on a cold start), so the functions are few, each
with one specialisation: floats as float, counts as int.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["LOG_NEGLIGIBLE", "MAX_QUEUE_STATES", "betainc", "betainc_xy", "erlang_a_core",
           "forecast"]

#: Queue-part weights below ``exp(-LOG_NEGLIGIBLE)`` times the largest one are dropped.
LOG_NEGLIGIBLE = 45.0
#: Hard cap on the number of queue states kept.
MAX_QUEUE_STATES = 1 << 22

_LN_SQRT_2PI = 0.9189385332046727418  # log(sqrt(2 pi))
_EPS = 2.220446049250313e-16
_FPMIN = 1e-300
_MAX_FRACTION_TERMS = 1_000_000


# --------------------------------------------------------------------------------------------
# The regularised incomplete beta function
# --------------------------------------------------------------------------------------------


@njit(cache=True, error_model="numpy")
def _lgamma_rest(z):
    """``lgamma(z) - (z - 1/2) log z + z``: ``log sqrt(2 pi)`` plus Stirling's series' tail.

    For ``z >= 10`` the series to its eighth term (error below 1e-17), else from ``lgamma``.
    """
    if z < 10.0:
        return math.lgamma(z) - (z - 0.5) * math.log(z) + z
    r = 1.0 / (z * z)
    return _LN_SQRT_2PI + (1.0 / 12.0 - r * (1.0 / 360.0 - r * (1.0 / 1260.0 - r * (
        1.0 / 1680.0 - r * (1.0 / 1188.0 - r * (691.0 / 360360.0 - r * (
            1.0 / 156.0 - r * (3617.0 / 122400.0)))))))) / z


@njit(cache=True, error_model="numpy")
def betainc_xy(a, b, x, y):
    """``I_x(a, b)``, the regularised incomplete beta function, with ``y = 1 - x`` given too.

    ``y`` at full relative precision keeps it accurate near ``x = 1``.  ``I_x(a, b) =
    x^a y^b / (a B(a, b)) * F`` with ``F`` the continued fraction of Numerical Recipes
    (section 6.4), evaluated by the modified Lentz method; it converges quickly for
    ``x < (a + 1) / (a + b + 2)``, and beyond that ``I_x(a, b) = 1 - I_y(b, a)``.  For
    ``x > 1/2`` (after that switch) its terms nearly cancel each other when ``a`` is large,
    and the fraction in ``z = x / (1 - x)`` is taken instead (Cephes' ``incbd``:
    ``I_x(a, b) = x^a y^b / (a y B(a, b)) * F'``), whose terms do not.

    The prefactor is written so that no two large terms cancel, in Stirling's form centred
    on the mean ``x0 = a / (a + b)``: ``log(x^a y^b / B(a, b)) = a log(x / x0) +
    b log(y / y0) + log sqrt(a b / (a + b)) - R(a) - R(b) + R(a + b)`` with
    ``R(z) = lgamma(z) - (z - 1/2) log z + z`` (:func:`_lgamma_rest`), and ``log1p`` of
    the distance to the centre.  The fraction's first denominator ``1 - (a + b) x / (a + 1)``
    is taken as ``((a + 1) y - (b - 1) x) / (a + 1)``, which keeps its precision near
    ``x = 1``.
    """
    if math.isnan(a) or math.isnan(b) or math.isnan(x):
        return np.nan
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    if math.isinf(b):  # all the mass at 0
        return 1.0 if not math.isinf(a) else np.nan
    if math.isinf(a):  # all the mass at 1
        return 0.0
    s = a + b
    d = x - a / s if a <= b else b / s - y  # x - x0, to the precision of min(x0, y0)
    u = d * (s / a)  # x / x0 - 1
    v = -d * (s / b)  # y / y0 - 1
    if u > -0.5:
        log_p = a * math.log1p(u)
    else:
        log_p = a * ((math.log(x) if x <= 0.5 else math.log1p(-y)) - math.log(a / s))
    if v > -0.5:
        log_p += b * math.log1p(v)
    else:
        log_p += b * ((math.log1p(-x) if x <= 0.5 else math.log(y)) - math.log(b / s))
    log_p += (0.5 * math.log(min(a, b) * (max(a, b) / s))
              + (_lgamma_rest(s) - _lgamma_rest(a) - _lgamma_rest(b)))

    # a continued fraction for I_x(a, b), or for I_y(b, a)
    swap = x * s > a  # x beyond the mean: I_x(a, b) = 1 - I_y(b, a)
    if swap:
        a, b, x, y = b, a, y, x
    first = x <= 0.5  # beyond it the second, whose terms do not cancel near x = 1
    z = x if first else x / y
    c = 1.0
    d = (a + 1.0) * y - (b - 1.0) * x  # (a + 1) (1 + a_1), and (a + 1) y (1 + a'_1)
    if abs(d) < _FPMIN:
        d = _FPMIN
    d = (a + 1.0) / d if first else (a + 1.0) * y / d
    h = d
    step = 1.0
    for m in range(1, _MAX_FRACTION_TERMS + 1):
        for odd in range(2):
            if odd == 0:
                aa = m * z * ((b - m) if first else (a + b + m - 1.0)) / (
                    (a - 1.0 + 2.0 * m) * (a + 2.0 * m))
            else:
                aa = -(a + m) * z * ((a + b + m) if first else (b - 1.0 - m)) / (
                    (a + 2.0 * m) * (a + 1.0 + 2.0 * m))
            d = 1.0 + aa * d
            if abs(d) < _FPMIN:
                d = _FPMIN
            c = 1.0 + aa / c
            if abs(c) < _FPMIN:
                c = _FPMIN
            d = 1.0 / d
            step = d * c
            h *= step
        if abs(step - 1.0) <= _EPS:
            break
    part = math.exp(log_p) * h / (a if first else a * y)
    return 1.0 - part if swap else part


@njit(cache=True, error_model="numpy")
def betainc(a, b, x):
    """The regularised incomplete beta function ``I_x(a, b)``, ``a, b > 0``, ``0 <= x <= 1``.

    As ``scipy.special.betainc``; see :func:`betainc_xy`.
    """
    return betainc_xy(a, b, x, 1.0 - x)


# --------------------------------------------------------------------------------------------
# Erlang A
# --------------------------------------------------------------------------------------------


@njit(cache=True, error_model="numpy")
def erlang_a_core(lam, aht, patience, agents, target):
    """Erlang A with ``agents`` on duty, time-shared when fractional, on valid input.

    :func:`cxsim.queueing.erlang_a_shared`, and for a whole ``agents``
    :func:`cxsim.queueing.erlang_a`, as a tuple in :class:`~cxsim.queueing.ErlangAResult`'s
    order: ``(p_wait, p_abandon, mean_wait, service_level, occupancy, mean_queue,
    carried_load)``.  ``agents`` is a float; ``agents = n + f`` solves the queue with ``n``
    and ``n + 1`` agents and weights them ``1 - f`` and ``f``.
    """
    lo = math.floor(agents)
    share = agents - lo
    traffic = lam * aht
    out = np.zeros(7)
    for run in range(1 if share == 0.0 else 2):
        c = lo + run
        q = np.zeros(7)  # this number of agents' figures, in the result's order
        if math.isinf(patience):  # Erlang C, exactly
            if traffic >= c:
                q[0], q[2], q[3] = 1.0, np.inf, 0.0
            else:
                b = 1.0  # Erlang B: B_k = A B_{k-1} / (k + A B_{k-1})
                for k in range(1, c + 1):
                    ab = traffic * b
                    b = ab / (k + ab)
                q[0] = min(max(c * b / (c - traffic * (1.0 - b)), 0.0), 1.0)
                q[2] = q[0] * aht / (c - traffic)
                q[3] = min(max(1.0 - q[0] * math.exp(-(c - traffic) * target / aht), 0.0), 1.0)
            if c == 0:
                q[4] = 1.0 if traffic > 0.0 else 0.0
            else:
                q[4] = min(traffic / c, 1.0)
            q[5] = 0.0 if lam == 0.0 else lam * q[2]
            q[6] = min(traffic, float(c))
        elif traffic == 0.0:  # lam == 0 (or lam * aht underflows): limits as lam -> 0
            if c == 0:
                q[0], q[1], q[2] = 1.0, 1.0, patience
            else:
                q[3] = 1.0
        elif c == 0:  # nobody to answer: every caller waits out their patience and hangs up
            q[0], q[1], q[2], q[4], q[5] = 1.0, 1.0, patience, 1.0, lam * patience
        else:
            _erlang_a_agents(lam, traffic, aht, patience, c, target, q)
        if share == 0.0:
            return q[0], q[1], q[2], q[3], q[4], q[5], q[6]
        weight = 1.0 - share if run == 0 else share
        for i in range(7):
            out[i] += weight * q[i]
    return (out[0], out[1], out[2], out[3], min(out[6] / agents, 1.0), out[5], out[6])


@njit(cache=True, error_model="numpy")
def _erlang_a_agents(lam, traffic, aht, patience, c, target, q):
    """Erlang A with ``c >= 1`` agents, finite patience and ``traffic > 0``; fills ``q``."""
    mu = 1.0 / aht
    theta = 1.0 / patience
    c_mu = c * mu
    log_lam = math.log(lam)

    # log sum_{n<c} pi_n / pi_c, where pi_n / pi_c = c! A^(n-c) / n!: entry n is
    # sum_{k=n+1..c} log(k / A); one pass finds the largest, a second sums
    log_a = math.log(traffic)
    top = -np.inf
    s = 0.0
    for k in range(c, 0, -1):
        s += math.log(k) - log_a
        top = max(top, s)
    total = 0.0
    s = 0.0
    for k in range(c, 0, -1):
        s += math.log(k) - log_a
        total += math.exp(s - top)
    log_low = top + math.log(total)

    if math.isinf(theta) or patience * (c_mu + lam) < 1e-18:
        # patience far shorter than any service or arrival gap: the loss system (Erlang B),
        # exact to relative 1e-18; pi_c is all of the waiting, and all of it abandons
        tmp = log_low  # log(1 + exp(log_low)), as numpy.logaddexp(log_low, 0)
        log_one = (log_low + math.log(2.0) if tmp == 0.0 else
                   log_low + math.log1p(math.exp(-tmp)) if tmp > 0.0 else
                   math.log1p(math.exp(tmp)))
        blocked = math.exp(-log_one)
        carried = traffic * (1.0 - blocked)
        q[0], q[1], q[3] = blocked, blocked, 1.0 - blocked
        q[4], q[6] = min(carried / c, 1.0), carried
        return

    # the queue part, w_j = pi_{c+j} / pi_c = prod_{i<=j} lam / (c mu + i theta), on a window
    # of j: unimodal with mode floor((lam - c mu) / theta); below the mode the weights fall
    # off at least like exp(-k^2 theta / (2 lam)), which fixes where the window starts; it
    # ends past the mode once they are exp(-LOG_NEGLIGIBLE) below the largest (or after
    # MAX_QUEUE_STATES states).  Logs are kept relative to log w_start.
    delta = (lam - c_mu) / theta
    mode = max(0.0, np.floor(delta)) if math.isfinite(delta) else float(MAX_QUEUE_STATES)
    half_width = np.ceil(math.sqrt(2.0 * LOG_NEGLIGIBLE * lam / theta)) + 2.0
    start = max(0.0, mode - min(half_width, float(MAX_QUEUE_STATES // 2)))
    if start == 0.0:
        log_start = 0.0
    else:  # log w_start in closed form; only used when the queue part dominates anyway
        a = c_mu / theta
        log_start = (start * (log_lam - math.log(theta))
                     - (math.lgamma(a + start + 1.0) - math.lgamma(a + 1.0)))
    lw = 0.0
    top = 0.0
    count = 1
    while count < MAX_QUEUE_STATES:
        j = start + count
        lw += log_lam - math.log(c_mu + j * theta)
        top = max(top, lw)
        count += 1
        if j >= mode and lw < top - LOG_NEGLIGIBLE:
            break

    # the states kept: within exp(-LOG_NEGLIGIBLE) of the largest weight, and always one
    # queued caller (with a very short patience pi_{c+1} is negligible beside pi_c, yet
    # theta * pi_{c+1} / lam is the whole abandonment).  A caller who finds j queued ahead
    # is answered within target with probability b / (b + j + 1) I_x(j + 1, b + 1),
    # b = c mu / theta and x = 1 - exp(-theta target) (see cxsim.queueing).
    floor = top - LOG_NEGLIGIBLE
    finite_target = not math.isinf(target)
    x = -math.expm1(-theta * target)
    y = math.exp(-theta * target)
    b1 = c_mu / theta + 1.0
    weight = 0.0  # sums of w_j / w_top, of j times it, and of it times P(answered in time)
    queue = 0.0
    answered = 0.0
    lw = 0.0
    for i in range(count):
        j = start + i
        if i > 0:
            lw += log_lam - math.log(c_mu + j * theta)
        if lw < floor and j > 1.0:
            continue
        w = math.exp(lw - top)
        weight += w
        queue += j * w
        p_ever = c_mu / (c_mu + (j + 1.0) * theta)
        if finite_target:
            p_ever *= betainc_xy(j + 1.0, b1, x, y)
        answered += w * p_ever
    # normalise: log_norm = log(exp(log_low) + exp(log_queue)), log_queue = log w_start +
    # top + log(weight); kept relative to log w_start + top, which may be large
    low = log_low - (log_start + top)
    tmp = low - math.log(weight)  # log_low - log_queue
    if tmp > 0.0:
        rest = math.log1p(math.exp(-tmp))
        scale = math.exp(-low - rest)  # exp(log w_start + top - log_norm)
        p_low = math.exp(-rest)
    else:
        rest = math.log1p(math.exp(tmp))
        scale = math.exp(-math.log(weight) - rest)
        p_low = math.exp(tmp - rest)
    mean_queue = queue * scale
    p_abandon = min(theta * mean_queue / lam, 1.0)
    carried = traffic * (1.0 - p_abandon)
    q[0] = min(weight * scale, 1.0)
    q[1] = p_abandon
    q[2] = mean_queue / lam
    q[3] = min(max(p_low + answered * scale, 0.0), 1.0)
    q[4] = min(carried / c, 1.0)
    q[5] = mean_queue
    q[6] = carried


# --------------------------------------------------------------------------------------------
# The day's forecast
# --------------------------------------------------------------------------------------------


@njit(cache=True, error_model="numpy")
def forecast(moves, visits, entries, steps):
    """Expected visits per touchpoint, ``E + F'E + F'^2 E + ...`` over ``steps`` steps.

    ``F[i, j] = moves[i, j] / visits[i]`` (0 where there were no visits); ``entries`` are
    ``E``.  See :meth:`cxsim.queues.Queues.forecast`.
    """
    n = visits.shape[0]
    share = np.zeros((n, n))
    for i in range(n):
        if visits[i] > 0.0:
            for j in range(n):
                share[i, j] = moves[i, j] / visits[i]
    total = entries.copy()
    term = entries.copy()
    nxt = np.empty(n)
    for _ in range(steps - 1):
        for j in range(n):
            s = 0.0
            for i in range(n):
                s += share[i, j] * term[i]
            nxt[j] = s
        for j in range(n):
            term[j] = nxt[j]
            total[j] += nxt[j]
    return total
