"""Analytic queueing formulas for contact-centre staffing (Erlang B, Erlang C, Erlang A).

All functions are pure and work in floating point.  Times are in whatever unit the caller
uses, as long as it is the same for every argument of one call (``handle_time``, ``patience``
and ``target`` in the same unit, ``arrival_rate`` per that unit).  ``traffic`` is the offered
load in Erlangs, ``A = arrival_rate * handle_time``, and ``agents`` is the number of servers
``c``.

Erlang B (M/M/c/c, Erlang 1917)
    Blocking probability ``B(A, c) = (A^c / c!) / sum_{k=0..c} A^k / k!``, computed with the
    numerically stable recursion ``B_0 = 1``, ``B_k = A B_{k-1} / (k + A B_{k-1})``: every
    intermediate value lies in ``[0, 1]``, so there is no factorial and no overflow even for
    thousands of Erlangs.

Erlang C (M/M/c, Erlang 1917)
    Probability that an arrival has to wait, ``C(A, c) = c B / (c - A (1 - B))`` with
    ``B = B(A, c)``.  The waiting time ``W`` satisfies
    ``P(W > t) = C exp(-(c - A) t / AHT)``, hence the service level (fraction answered within
    ``target``) ``SL = 1 - C exp(-(c - A) target / AHT)`` and the average speed of answer
    ``ASA = E[W] = C AHT / (c - A)``; ``E[W | W > 0] = AHT / (c - A)``.  If ``A >= c`` the
    queue is unstable: every arrival waits and the queue grows without bound, so by convention
    ``C = 1``, ``SL = 0``, ``ASA = inf`` and occupancy 1.

Erlang A (M/M/c+M; Palm 1943; Garnett, Mandelbaum & Reiman 2002)
    Poisson arrivals (rate ``lam``), exponential handle times (rate ``mu = 1 / AHT``) and
    exponential patience (rate ``theta = 1 / patience``).  The number in system is a
    birth-death chain with birth rate ``lam`` and death rate
    ``min(n, c) mu + max(n - c, 0) theta``.  Its stationary law ``pi`` is computed in log
    space: for ``n < c`` the weights relative to ``pi_c`` are ``c! A^(n - c) / n!`` (their sum
    is ``1 / B(A, c) - 1``), and for the queue part ``n = c + j`` they are
    ``w_j = prod_{i=1..j} lam / (c mu + i theta)``.  The queue part is evaluated on a window
    around its mode that is truncated once the weights are below ``exp(-45)`` (about 3e-20)
    of the largest one (hard cap ``_MAX_QUEUE_STATES`` states), which keeps the computation
    stable and cheap for thousands of Erlangs.  Then, with ``Q`` the queue length,

    * ``p_wait = sum_{n >= c} pi_n`` (an arrival finds all agents busy, by PASTA),
    * ``mean_wait = E[Q] / lam`` (Little's law; mean over *all* arrivals, including those
      that are served at once and those that abandon),
    * ``p_abandon = theta E[Q] / lam`` (abandonment rate over arrival rate),
    * ``carried_load = A (1 - p_abandon)`` and ``occupancy = min(carried_load / c, 1)``.

    Service level is the fraction of *all* arrivals that are answered within ``target``;
    callers who abandon count as not answered within target, whenever they abandon.  A caller
    who finds ``c + m`` customers in the system has ``m`` customers queued ahead of it.  With
    ``k`` of them still ahead it moves up at rate ``c mu + k theta`` (a service completion or
    one of those ahead abandons) and is answered at rate ``c mu`` once it reaches the head;
    independently it abandons at rate ``theta``.  The time ``T`` needed to be answered if it
    never abandoned is a sum of independent exponentials with rates ``c mu + k theta``,
    ``k = 0..m``, whose Laplace transform is ``B(b + s / theta, m + 1) / B(b, m + 1)`` with
    ``b = c mu / theta``; that is, ``exp(-theta T) ~ Beta(b, m + 1)``.  Hence

    ``P(answered by t | m) = E[exp(-theta T); T <= t]
    = b / (b + m + 1) * I_{1 - exp(-theta t)}(m + 1, b + 1)``

    with ``I`` the regularised incomplete beta function, which is exact (no numerical matrix
    exponential).  As ``t -> inf`` it gives the probability ``b / (b + m + 1)`` of being
    answered at all, and as ``theta -> 0`` the Erlang C result.

    With infinite patience the Erlang C values are returned exactly, including the unstable
    case (``p_wait = 1``, ``p_abandon = 0``, ``mean_wait = inf``, ``service_level = 0``,
    ``occupancy = 1``).

    The computation is compiled (:func:`cxsim.kernels.erlang.erlang_a_core`, with its own
    regularised incomplete beta function); the functions here check their input and call it.

References
----------
A. K. Erlang, "Solution of some problems in the theory of probabilities of significance in
automatic telephone exchanges", Elektroteknikeren 13 (1917).
C. Palm, "Intensitätsschwankungen im Fernsprechverkehr", Ericsson Technics 44 (1943).
O. Garnett, A. Mandelbaum and M. Reiman, "Designing a call center with impatient customers",
Manufacturing & Service Operations Management 4(3):208-227 (2002).

"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from numbers import Integral, Real

import numpy as np

from .kernels.erlang import erlang_a_core
from .kernels.waits import mixture_device
from .limits import MAX_AGENTS  # most agents a queue formula takes

__all__ = [
    "ErlangAResult",
    "ErlangCResult",
    "average_speed_of_answer",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "erlang_c_stats",
    "occupancy",
    "service_level",
]

@dataclass(frozen=True)
class ErlangCResult:
    """Steady-state M/M/c (Erlang C) performance measures.

    Attributes
    ----------
    p_wait : float
        Probability that an arrival has to wait, ``C(A, c)``.
    service_level : float
        Fraction of arrivals answered within the target time.
    asa : float
        Average speed of answer (mean wait over all arrivals); ``inf`` if unstable.
    occupancy : float
        Agent occupancy ``min(A / c, 1)``.
    mean_wait_if_waiting : float
        Mean wait of the arrivals that do wait, ``AHT / (c - A)``; ``inf`` if unstable.

    """

    p_wait: float
    service_level: float
    asa: float
    occupancy: float
    mean_wait_if_waiting: float


@dataclass(frozen=True)
class ErlangAResult:
    """Steady-state M/M/c+M (Erlang A) performance measures.

    Attributes
    ----------
    p_wait : float
        Probability that an arrival finds all agents busy (and so has to queue).
    p_abandon : float
        Probability that an arrival abandons before being answered.
    mean_wait : float
        Mean time in queue over all arrivals (served at once, served after waiting, or
        abandoned); ``inf`` when patience is infinite and the load is unstable.
    service_level : float
        Fraction of all arrivals answered within the target time; abandoned callers count
        as not answered within target.
    occupancy : float
        Carried load divided by the number of agents, capped at 1.
    mean_queue : float
        Mean number of callers waiting in queue.
    carried_load : float
        Mean number of busy agents, ``A (1 - p_abandon)`` in Erlangs.

    """

    p_wait: float
    p_abandon: float
    mean_wait: float
    service_level: float
    occupancy: float
    mean_queue: float
    carried_load: float


# --------------------------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------------------------


def _real(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    x = float(value)
    if math.isnan(x):
        raise ValueError(f"{name} must not be NaN")
    return x


def _nonnegative(name: str, value: object, *, allow_inf: bool = False) -> float:
    x = _real(name, value)
    if x < 0.0:
        raise ValueError(f"{name} must be non-negative, got {x!r}")
    if math.isinf(x) and not allow_inf:
        raise ValueError(f"{name} must be finite, got {x!r}")
    return x


def _positive(name: str, value: object, *, allow_inf: bool = False) -> float:
    x = _nonnegative(name, value, allow_inf=allow_inf)
    if x == 0.0:
        raise ValueError(f"{name} must be positive, got {x!r}")
    return x


def _agents(value: object) -> int:
    """Validate a number of agents: a non-negative integer (integral floats accepted)."""
    if isinstance(value, bool):
        raise TypeError("agents must be an integer, got bool")
    if isinstance(value, Integral):
        c = int(value)
    elif isinstance(value, Real):
        x = float(value)
        if not math.isfinite(x) or not x.is_integer():
            raise ValueError(f"agents must be an integer, got {x!r}")
        c = int(x)
    else:
        raise TypeError(f"agents must be an integer, got {type(value).__name__}")
    if c < 0:
        raise ValueError(f"agents must be non-negative, got {c}")
    if c > MAX_AGENTS:
        raise ValueError(f"agents must be at most {MAX_AGENTS:,} (the formulas hold a term "
                         f"per agent), got {c:,}")
    return c


# --------------------------------------------------------------------------------------------
# Erlang B / Erlang C
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _erlang_b(traffic: float, agents: int) -> float:
    b = 1.0
    for k in range(1, agents + 1):
        ab = traffic * b
        b = ab / (k + ab)
    return b


def _erlang_c(traffic: float, agents: int) -> float:
    if traffic >= agents:  # includes agents == 0
        return 1.0
    b = _erlang_b(traffic, agents)
    c = agents * b / (agents - traffic * (1.0 - b))
    return min(max(c, 0.0), 1.0)


def erlang_b(traffic: float, agents: int) -> float:
    """Erlang B blocking probability of an M/M/c/c loss system.

    Parameters
    ----------
    traffic : float
        Offered load ``A`` in Erlangs (arrival rate times mean handle time), ``>= 0``.
    agents : int
        Number of servers ``c >= 0``.

    Returns
    -------
    float
        ``B(A, c)``; 1.0 when ``agents == 0`` and 0.0 when ``traffic == 0 < agents``.

    Notes
    -----
    Uses ``B_0 = 1``, ``B_k = A B_{k-1} / (k + A B_{k-1})``, which is stable for any load.

    """
    return _erlang_b(_nonnegative("traffic", traffic), _agents(agents))


def erlang_c(traffic: float, agents: int) -> float:
    """Erlang C probability that an arrival waits, ``c B / (c - A (1 - B))``.

    Parameters
    ----------
    traffic : float
        Offered load ``A`` in Erlangs, ``>= 0``.
    agents : int
        Number of agents ``c >= 0``.

    Returns
    -------
    float
        ``P(wait)``.  If ``traffic >= agents`` (including ``agents == 0``) the system is
        unstable: every arrival waits and the queue grows without bound, so 1.0 is returned.

    """
    return _erlang_c(_nonnegative("traffic", traffic), _agents(agents))


def _service_level_c(traffic: float, agents: int, handle_time: float, target: float) -> float:
    if traffic >= agents:
        return 0.0
    p_wait = _erlang_c(traffic, agents)
    sl = 1.0 - p_wait * math.exp(-(agents - traffic) * target / handle_time)
    return min(max(sl, 0.0), 1.0)


def service_level(traffic: float, agents: int, handle_time: float, target: float) -> float:
    """Erlang C service level: fraction of arrivals answered within ``target``.

    Parameters
    ----------
    traffic : float
        Offered load ``A`` in Erlangs, ``>= 0``.
    agents : int
        Number of agents ``c >= 0``.
    handle_time : float
        Mean handle time (AHT), ``> 0``.
    target : float
        Answer-time target, ``>= 0``, same unit as ``handle_time`` (may be ``inf``).

    Returns
    -------
    float
        ``1 - C(A, c) exp(-(c - A) target / AHT)``; 0.0 if ``traffic >= agents``.

    """
    return _service_level_c(
        _nonnegative("traffic", traffic),
        _agents(agents),
        _positive("handle_time", handle_time),
        _nonnegative("target", target, allow_inf=True),
    )


def _asa_c(traffic: float, agents: int, handle_time: float) -> float:
    if traffic >= agents:
        return math.inf
    return _erlang_c(traffic, agents) * handle_time / (agents - traffic)


def average_speed_of_answer(traffic: float, agents: int, handle_time: float) -> float:
    """Erlang C average speed of answer (mean wait over all arrivals).

    Parameters
    ----------
    traffic : float
        Offered load ``A`` in Erlangs, ``>= 0``.
    agents : int
        Number of agents ``c >= 0``.
    handle_time : float
        Mean handle time (AHT), ``> 0``.

    Returns
    -------
    float
        ``C(A, c) AHT / (c - A)`` in the unit of ``handle_time``; ``math.inf`` if
        ``traffic >= agents`` (the queue grows without bound).

    """
    return _asa_c(
        _nonnegative("traffic", traffic),
        _agents(agents),
        _positive("handle_time", handle_time),
    )


def _occupancy(traffic: float, agents: int) -> float:
    if agents == 0:
        return 1.0 if traffic > 0.0 else 0.0
    return min(traffic / agents, 1.0)


def occupancy(traffic: float, agents: int) -> float:
    """Agent occupancy ``min(A / c, 1)``.

    Parameters
    ----------
    traffic : float
        Offered load ``A`` in Erlangs, ``>= 0``.
    agents : int
        Number of agents ``c >= 0``.

    Returns
    -------
    float
        ``min(A / c, 1)``; for ``agents == 0`` 1.0 if ``traffic > 0`` else 0.0.

    """
    return _occupancy(_nonnegative("traffic", traffic), _agents(agents))


def erlang_c_stats(traffic: float, agents: int, handle_time: float, target: float) -> ErlangCResult:
    """All Erlang C measures in one call (one Erlang B recursion).

    Parameters
    ----------
    traffic : float
        Offered load ``A`` in Erlangs, ``>= 0``.
    agents : int
        Number of agents ``c >= 0``.
    handle_time : float
        Mean handle time (AHT), ``> 0``.
    target : float
        Answer-time target, ``>= 0``, same unit as ``handle_time``.

    Returns
    -------
    ErlangCResult
        ``p_wait``, ``service_level``, ``asa``, ``occupancy`` and ``mean_wait_if_waiting``
        (``AHT / (c - A)``).  Unstable load gives 1, 0, inf, 1 and inf.

    """
    a = _nonnegative("traffic", traffic)
    c = _agents(agents)
    aht = _positive("handle_time", handle_time)
    t = _nonnegative("target", target, allow_inf=True)
    return ErlangCResult(
        p_wait=_erlang_c(a, c),
        service_level=_service_level_c(a, c, aht, t),
        asa=_asa_c(a, c, aht),
        occupancy=_occupancy(a, c),
        mean_wait_if_waiting=math.inf if a >= c else aht / (c - a),
    )


# --------------------------------------------------------------------------------------------
# Erlang A
# --------------------------------------------------------------------------------------------


def erlang_a(
    arrival_rate: float,
    handle_time: float,
    patience: float,
    agents: int,
    target: float,
) -> ErlangAResult:
    """Steady-state measures of the M/M/c+M (Erlang A) queue with exponential patience.

    Parameters
    ----------
    arrival_rate : float
        Poisson arrival rate ``lam >= 0`` (per time unit).
    handle_time : float
        Mean exponential handle time (AHT), ``> 0``.
    patience : float
        Mean exponential patience, ``> 0``; ``math.inf`` means nobody abandons, and the
        Erlang C values are then returned exactly (also when unstable).
    agents : int
        Number of agents ``c >= 0``.
    target : float
        Answer-time target, ``>= 0`` (may be ``inf``).

    Returns
    -------
    ErlangAResult
        ``p_wait = P(n >= c)`` seen by arrivals (PASTA); ``p_abandon = theta E[Q] / lam``;
        ``mean_wait = E[Q] / lam`` over all arrivals (Little); ``service_level`` = fraction of
        all arrivals answered within ``target`` (abandoned callers count as not answered
        within target); ``occupancy = min(carried_load / c, 1)`` with
        ``carried_load = A (1 - p_abandon)``; ``mean_queue = E[Q]``.  With ``lam == 0`` the
        limits as ``lam -> 0`` are returned.

    Raises
    ------
    ValueError
        For negative ``arrival_rate``, non-positive ``handle_time`` or ``patience``,
        negative or non-integer ``agents``, or negative ``target``.

    Notes
    -----
    The birth-death chain is solved in log space over ``n < c`` plus a window of queue
    lengths around the mode, truncated where the stationary probabilities fall below about
    3e-20 of the largest one.  Service level is computed exactly with the regularised
    incomplete beta function (see the module docstring for the derivation).

    """
    lam = _nonnegative("arrival_rate", arrival_rate)
    aht = _positive("handle_time", handle_time)
    pat = _positive("patience", patience, allow_inf=True)
    c = _agents(agents)
    t = _nonnegative("target", target, allow_inf=True)
    return ErlangAResult(*erlang_a_core(lam, aht, pat, float(c), t))


def erlang_a_shared(arrival_rate: float, handle_time: float, patience: float, agents: float,
                    target: float) -> ErlangAResult:
    """Erlang A for a fractional number of agents on shift, by time-sharing.

    ``agents = n + f`` (``0 <= f < 1``) means ``n + 1`` agents on duty for a share ``f`` of
    the open time and ``n`` for the rest (a part-time colleague, a supervisor who takes
    calls, staff shared with another queue).  Arrivals are spread evenly over the day, so
    the day's figures are the two queues' figures weighted by time; occupancy is the busy
    agents over the agents on duty, both averaged over the day.  No capacity is rounded, so
    a team scaled down with its market keeps its capacity per customer exactly.  Integer
    ``agents`` give :func:`erlang_a` itself.
    """
    c = _real("agents", agents)
    if c < 0.0 or math.isinf(c):
        raise ValueError(f"agents must be a finite number 0 or more, got {agents!r}")
    lo = math.floor(c)
    lam = _nonnegative("arrival_rate", arrival_rate)
    aht = _positive("handle_time", handle_time)
    pat = _positive("patience", patience, allow_inf=True)
    _agents(lo)
    t = _nonnegative("target", target, allow_inf=True)
    if c > lo:
        _agents(lo + 1)
    return ErlangAResult(*erlang_a_core(lam, aht, pat, c, t))


@dataclass(frozen=True)
class WaitDevice:
    """How customers draw their waits so that they meet a queue's figures exactly.

    A contact waits with probability ``p_wait``; a waiting customer's virtual wait is
    exponential with mean ``mean_virtual`` (minutes; ``inf`` allowed) and they hang up when
    their own exponential patience runs out first.  See :func:`wait_device`.
    """

    p_wait: float
    mean_virtual: float


def wait_device(q: ErlangAResult, patience: float, target: float,
                mix: tuple[np.ndarray, np.ndarray] | None = None) -> WaitDevice:
    """The per-contact wait draws that reproduce an Erlang A day's figures.

    The figures are abandonment and service level (and with one patience, the mean wait).
    With ``w`` the chance to wait, ``m`` the mean virtual wait and ``theta = 1/patience``:
    abandonment is ``w theta m / (1 + theta m)``, the mean wait over all contacts
    ``abandonment / theta`` (the identity Erlang A obeys too, so matching abandonment matches
    the mean wait), and the share answered within ``target`` is
    ``1 - A - (A / (theta m)) exp(-target/m - theta target)`` with ``A`` the abandonment.
    Setting both to Erlang A's values gives ``x exp(-target x) = D / K`` for ``x = 1/m``,
    ``D = 1 - A - SL``, ``K = (A / theta) exp(-theta target)``: solved with the Lambert W
    function; of its two roots the one with ``w <= 1`` nearest Erlang A's own P(wait) is
    taken, and when no root is feasible the nearest feasible device.  A single exponential
    virtual wait cannot match all three figures then; tests measure how close it comes.

    ``mix = (weights, patiences)``: callers come from groups with their own mean patience
    (segments), each hanging up on their own clock.  Abandonment and service level are then
    matched for the mixture (``w`` from abandonment for each ``m``, ``m`` by a root search on
    the service level), so what customers meet agrees with the reported figures.
    """
    if mix is not None:
        weights = np.ascontiguousarray(mix[0], dtype=float)
        patiences = np.ascontiguousarray(mix[1], dtype=float)
        if weights.shape != patiences.shape or weights.ndim != 1:
            raise ValueError("mix: one weight and one patience a group")
        found, p_wait, m = mixture_device(q.p_abandon, q.service_level, q.p_wait, q.mean_wait,
                                          weights, patiences, float(target))
        if found:
            return WaitDevice(p_wait=float(p_wait), mean_virtual=float(m))
    from scipy.special import lambertw


    ab, sl, pw = q.p_abandon, q.service_level, q.p_wait
    if not (pw > 0.0 and ab > 0.0) or math.isinf(patience):
        # nobody waits, or nobody abandons: waits from Erlang A's own P(wait) and mean wait
        m = q.mean_wait / pw if pw > 0.0 else 0.0
        return WaitDevice(p_wait=pw, mean_virtual=m if math.isfinite(m) else math.inf)
    theta = 1.0 / patience
    if ab >= 1.0:
        return WaitDevice(p_wait=1.0, mean_virtual=math.inf)
    x_max = theta * (1.0 - ab) / ab  # x above it would need w > 1
    x_erlang = theta * max(pw / ab - 1.0, 0.0)  # the device with Erlang A's own P(wait)
    d = max(1.0 - ab - sl, 0.0)
    k = (ab / theta) * math.exp(-theta * target)
    roots: list[float] = []
    if target <= 1e-12 * patience:  # a target far below any wait: as good as none
        target = 0.0
    if target <= 0.0:
        roots = [d / k] if k > 0.0 else []
    elif k > 0.0:
        y = d / k
        top = 1.0 / (math.e * target)  # the largest value of x exp(-target x)
        if y >= top:
            roots = [1.0 / target]
        else:
            z = -target * y
            roots = [float(-lambertw(z, 0).real / target)]
            if z < 0.0:
                roots.append(float(-lambertw(z, -1).real / target))
    feasible = [r for r in roots if 0.0 <= r <= x_max and math.isfinite(r)]
    x = min(feasible, key=lambda r: abs(r - x_erlang)) if feasible else x_max
    w = min(ab * (1.0 + x / theta), 1.0)
    return WaitDevice(p_wait=w, mean_virtual=1.0 / x if x > 0.0 else math.inf)
