"""The customer kernel: every customer's tick, as pure functions over arrays and scalars.

The per-customer maths are small ``@njit`` scalar functions (:func:`experience_value`,
:func:`peak_end`, :func:`update_satisfaction`, :func:`churn_hazard`, :func:`walk_episode`, ...)
composed into one per-customer step, :func:`advance_span`, which both engines run: the
numba engine for every customer at once, each thread over its own chunks
(:func:`advance_customers`), and the Mesa reference engine (:meth:`cxsim.agents.Customer.step`,
through :func:`advance_customer`) one agent at a time.  Inputs are grouped and named
(:mod:`cxsim.kernels.inputs`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..limits import MAX_EPISODES  # most episodes a customer lives in one tick
from ..rng import beta, normal, uniform, uniform_pair
from . import precompile
from .inputs import (
    ACC_ABANDONED,
    ACC_ACTIVE,
    ACC_ACTIVE_START,
    ACC_CES_SUM,
    ACC_CHURNED,
    ACC_COHORT,
    ACC_CSAT_SUM,
    ACC_DETRACTORS,
    ACC_EFFORT_SUM,
    ACC_EPISODES,
    ACC_ESCALATIONS,
    ACC_EVENTS,
    ACC_FAILURE_DEMAND,
    ACC_FCR,
    ACC_LOST,
    ACC_NEW,
    ACC_PROMOTER_EPISODES,
    ACC_PROMOTERS,
    ACC_PROSPECTS,
    ACC_RECOVERIES,
    ACC_REFERRERS,
    ACC_RESOLVED,
    ACC_SAT_SUM,
    ACC_SURVEY_DET,
    ACC_SURVEY_N,
    ACC_SURVEY_PROM,
    ACC_WOM_N,
    ACC_WOM_SAT_SUM,
    ACC_WON_BACK,
    CHURNED,
    CUSTOMER,
    EV_CHURN,
    EV_JOIN,
    EV_REF_DOWN,
    EV_REF_UP,
    EV_WOM,
    K_ACQUIRE,
    K_DAILY,
    K_EPISODE,
    K_FRAILTY,
    K_START,
    K_SURVEY,
    OUT_DEAD_END,
    OUT_FAILED,
    OUT_GAVE_UP,
    OUT_NO_CHANNEL,
    OUT_RESOLVED,
    OUT_STEP_LIMIT,
    PROSPECT,
    SGA_ACTIVE,
    SGA_CHURNED,
    SGA_COHORT,
    SGA_NEW,
    TPA_ENDED_BAD,
    TPA_ENDED_HERE,
    TPA_FAILURES,
    TPA_FLOW,
    TPA_PERF_SUM,
    TPA_QUEUE_ABANDON,
    TPA_QUEUED,
    TPA_RESOLVED,
    TPA_VISITS,
    TPA_WAIT_SUM,
    WOM_TALKS_MAX,
    WOM_TALKS_SHIFT,
)
from .parallel import for_ranges

__all__ = [
    "EPISODE_SLOTS", "MAX_EPISODES", "acquisition_probability", "advance_span", "bass_join",
    "advance_customer", "advance_customers", "census", "ces_answer", "churn_hazard", "churns",
    "customer_hazards", "hazard_span",
    "clip01", "contagion_shift", "contract_logit", "csat_answer", "draw_need", "experience_value",
    "is_referrer", "latent_score", "live_episode", "logistic", "logit", "memory_weight",
    "need_count", "need_type", "nps_category", "nps_score", "peak_end", "per_tick_probability",
    "remember_moment", "round_by_chance", "service_recovery", "start_customer", "take_in_wom",
    "update_satisfaction", "walk_episode",
]


# slots of the 'episode' stream: episode k of a tick uses the block k * 256 + 0 .. 255, where
# step n uses 1 + 8n .. 8 + 8n; scores use 240, 241, recovery 242, the need type 243 (k >= 1),
# the episode's moment within the tick 244, its interval of the day 245 (intraday queues)
_SLOT_SCORES = 240
_SLOT_RECOVERY = 242
_SLOT_NEED = 243
_SLOT_MOMENT = 244
_SLOT_INTERVAL = 245
#: slots per episode in the 'episode' stream
EPISODE_SLOTS = 256


# =============================================================================================
# scalar functions: the per-customer maths
# =============================================================================================


@njit(cache=True, inline="always")
def experience_value(d, loss_aversion, alpha):
    """Value of a disconfirmation ``d`` (Tversky & Kahneman 1992): d**a, or -l*(-d)**a."""
    if d >= 0.0:
        return d**alpha
    return -loss_aversion * (-d) ** alpha


@njit(cache=True, inline="always")
def peak_end(peak, end, mean, peak_weight, end_weight):
    """Remembered value of an episode from its most intense, last and mean moments."""
    return peak_weight * peak + end_weight * end + (1.0 - peak_weight - end_weight) * mean


@njit(cache=True, nogil=True, _nrt=False)
def memory_weight(half_life):
    """Weight of the newest experience in a recency-weighted average: 1 - 2**(-1/h)."""
    return 1.0 - 2.0 ** (-1.0 / half_life)


@njit(cache=True, inline="always")
def update_satisfaction(satisfaction, episode_satisfaction, weight):
    """Recency-weighted cumulative satisfaction after one more episode."""
    return satisfaction + weight * (episode_satisfaction - satisfaction)


@njit(cache=True, inline="always")
def round_by_chance(x, u):
    """``x`` rounded down, or up when the uniform draw ``u`` falls below its fraction.

    The mean over ``u`` is ``x``; a whole ``x`` is kept whatever ``u``.
    """
    whole = math.floor(x)
    return int(whole) + (1 if u < x - whole else 0)


@njit(cache=True, inline="always")
def clip01(x):
    """Clip to [0, 1]."""
    return 0.0 if x < 0.0 else (1.0 if x > 1.0 else x)


@njit(cache=True, inline="always")
def logistic(z):
    """Numerically safe logistic function."""
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    ez = math.exp(z)
    return ez / (1.0 + ez)


@njit(cache=True, inline="always")
def logit(p):
    """Log-odds of a probability, clipped away from 0 and 1."""
    p = min(max(p, 1e-12), 1.0 - 1e-12)
    return math.log(p / (1.0 - p))


@njit(cache=True, nogil=True, _nrt=False)
def per_tick_probability(p_period, ticks_per_period):
    """Probability per tick equivalent to ``p_period`` per period (constant hazard)."""
    return 1.0 - (1.0 - p_period) ** (1.0 / ticks_per_period)


@njit(cache=True, inline="always")
def churn_hazard(base_logit, satisfaction, sat_reference, sat_effect, tenure_years,
                 tenure_effect, extra_logit, contagion_shift):
    """Churn probability this tick: logistic in satisfaction, tenure and contagion.

    ``log(odds) = base + b_s (s - s_ref) + b_t log(1 + tenure) + extra + contagion_shift``.
    ``contagion_shift`` is the log of the tick-mean contagion multiplier
    (:func:`contagion_shift`); for an exposure X held over an instant it is ``log(m) X``, and
    with small hazards each unit of exposure multiplies the hazard by about ``m``
    (Nitzan & Libai 2011).
    """
    z = (base_logit + sat_effect * (satisfaction - sat_reference)
         + tenure_effect * math.log1p(max(tenure_years, 0.0)) + extra_logit
         + contagion_shift)
    return logistic(z)


# Gauss-Legendre nodes and weights on [-1, 1] (6 points: exact for polynomials of degree 11)
_GL_X = np.array([-0.9324695142031521, -0.6612093864662645, -0.2386191860831969,
                  0.2386191860831969, 0.6612093864662645, 0.9324695142031521])
_GL_W = np.array([0.1713244923791704, 0.3607615730481386, 0.4679139345726910,
                  0.4679139345726910, 0.3607615730481386, 0.1713244923791704])
#: below this |log(m) X| the tick-mean shift is its second-order expansion (error < |y|^3/24)
_SHIFT_SERIES = 1e-2
#: most quadrature panels for one customer (|log(m) X| above ~128: the hazard is saturated)
_SHIFT_PANELS = 64


@njit(cache=True, nogil=True, _nrt=False)
def contagion_shift(y, decay, mean_u, var_u):
    """Log of the tick-mean contagion multiplier, ``log M``, for ``y = log(m) X``.

    Contagion (Nitzan & Libai 2011): a contact's churn in tick t adds 1 to the exposure X
    from the start of tick t + 1, so ``int X dt = 1 / lambda`` per churn whatever the tick
    length (the linear effect is tick-invariant, delayed by under a tick).  ``half-life``
    (``behaviour.contagion_half_life``) is the half-life of X, hence of the *log* of the
    multiplier m^X, not of the extra hazard m^X - 1 (one churn: 0.8 falls to 0.34 after one
    half-life at m = 1.8).

    Within a tick the exposure decays continuously, X(s) = X e^{-lambda s} (``X`` its value at
    the start of the tick, ``lambda = ln 2 / half-life``), so the hazard multiplier
    m^{X(s)} = exp(y u) with u = e^{-lambda s} falls over the tick.  The churn log-odds take
    the log of its mean over the tick,

        M = (1/dt) int_0^dt m^{X(s)} ds = 1 + (1/kappa) int_r^1 (e^{y u} - 1) / u du,

    kappa = lambda dt, r = e^{-kappa} (``decay``).  The integrand is smooth in u whatever
    kappa is, so Gauss-Legendre on [r, 1] is accurate for short and long ticks alike (6
    points per panel, panels of width at most 2 / |y|: relative error below 1e-8).  Below
    |y| = 1e-2 the cumulant expansion ``y E[u] + y^2 Var[u] / 2`` is used (``mean_u``,
    ``var_u``: the mean and variance of u over the tick), which skips the quadrature for the
    many customers whose exposure has all but decayed.  Exactly 0 for y = 0; for y > 0,
    y r <= log M <= y, for y < 0 (contagion below 1), y <= log M <= 0, so the churn screen
    may bound the shift by max(y, 0).  No overflow: a large y is taken out of the
    exponentials.
    """
    if y == 0.0:
        return 0.0
    ay = abs(y)
    if ay <= _SHIFT_SERIES:
        out = y * mean_u + 0.5 * y * y * var_u
    else:
        width = 1.0 - decay
        panels = min(max(int(math.ceil(ay * width * 0.5)), 1), _SHIFT_PANELS)
        h = width / panels
        big = y > 700.0  # e^y would overflow: accumulate e^{-y} (e^{y u} - 1) instead
        acc = 0.0
        for p in range(panels):
            mid = decay + h * (p + 0.5)
            for g in range(6):
                u = mid + 0.5 * h * _GL_X[g]
                if big:
                    acc += _GL_W[g] * (math.exp(y * (u - 1.0)) - math.exp(-y)) / u
                else:
                    acc += _GL_W[g] * math.expm1(y * u) / u
        # (1/kappa) = mean_u / width; each panel's rule is (h / 2) sum w f
        a = acc * mean_u / (2.0 * panels)
        if big:
            inner = math.exp(-y) + a
            out = y + math.log(inner) if inner > 0.0 else -np.inf
        else:
            out = math.log1p(a) if a > -1.0 else -np.inf
    # the bounds hold exactly (and keep the churn screen exact)
    if y > 0.0:
        return min(max(out, y * decay), y)
    return min(max(out, y), 0.0)


#: Churn screen (exact): logistic(-4) = 0.018 < 0.02, so a draw u >= 0.02 against log-odds
#: below -4 never churns.  With daily churn hazards near 1e-3 (log-odds near -7) this skips
#: ``exp`` and ``log1p`` for about 98 % of customer-ticks.
_SCREEN_Z = -4.0
_SCREEN_U = 0.02


@njit(cache=True, inline="always")
def churns(u, base_logit, satisfaction, sat_reference, sat_effect, tenure_years, tenure_effect,
           extra_logit, contagion_y, shared_shift, decay, mean_u, var_u):
    """Whether a draw ``u`` churns: exactly ``u < churn_hazard(..., shift)``, decided cheaply.

    ``shift = contagion_shift(contagion_y, decay, mean_u, var_u) + shared_shift``: the
    customer's own contagion (``contagion_y = log(m) X``) and the shift every customer
    shares (full mixing).  When the tenure term cannot be positive (``tenure_effect <= 0``),
    dropping it and bounding the own shift by ``max(contagion_y, 0)`` bounds the log-odds
    from above, term by term as :func:`churn_hazard` sums them (rounded addition is
    monotone), so a bound below ``_SCREEN_Z`` with ``u >= _SCREEN_U`` proves ``u >= h``
    without computing the tick-mean multiplier; so does ``u`` at or above the hazard at that
    bound (with the tenure term).
    """
    shift_ub = max(contagion_y, 0.0) + shared_shift
    if u >= _SCREEN_U and tenure_effect <= 0.0:
        z_ub = (base_logit + sat_effect * (satisfaction - sat_reference) + extra_logit
                + shift_ub)
        if z_ub < _SCREEN_Z:
            return False
    if contagion_y != 0.0:
        # the hazard at the bound already rejects most draws: skip the quadrature for them
        if u >= churn_hazard(base_logit, satisfaction, sat_reference, sat_effect, tenure_years,
                             tenure_effect, extra_logit, shift_ub):
            return False
    shift = contagion_shift(contagion_y, decay, mean_u, var_u) + shared_shift
    return u < churn_hazard(base_logit, satisfaction, sat_reference, sat_effect, tenure_years,
                            tenure_effect, extra_logit, shift)


@njit(cache=True, inline="always")
def latent_score(satisfaction, nps_bias):
    """Latent 0-10 likelihood-to-recommend: 10 * satisfaction + response style."""
    return 10.0 * satisfaction + nps_bias


@njit(cache=True, inline="always")
def nps_score(latent):
    """Answer on the 0-10 scale: the latent score rounded half up, clipped."""
    return min(max(math.floor(latent + 0.5), 0.0), 10.0)


@njit(cache=True, inline="always")
def nps_category(satisfaction, nps_bias):
    """+1 promoter (9-10), 0 passive (7-8), -1 detractor (0-6).

    The band of ``nps_score(latent)`` without rounding: with ``y = latent + 0.5``,
    ``floor(y) >= 9`` exactly when ``y >= 9`` and ``floor(y) <= 6`` exactly when ``y < 7``,
    and clipping to 0-10 moves no score across 6|7 or 8|9.  (``floor`` is a library call in
    the compiled kernel, and this runs for every customer every tick.)
    """
    y = latent_score(satisfaction, nps_bias) + 0.5
    if y >= 9.0:
        return 1
    if y < 7.0:
        return -1
    return 0


@njit(cache=True, inline="always")
def is_referrer(status, satisfaction, nps_bias, promoters_only):
    """Whether an agent currently refers prospects (a customer, and a promoter if required)."""
    if status != CUSTOMER:
        return False
    if promoters_only:
        return nps_category(satisfaction, nps_bias) == 1
    return True


@njit(cache=True, nogil=True, _nrt=False)
def service_recovery(key, i, t, satisfaction, expectation, share, effect, base=0):
    """Proactive outreach to a customer who just ended an episode as a detractor.

    With probability ``share`` (stream ``episode``, slot ``base + 242``: ``base`` is the
    episode's slot block) the customer is contacted and
    ``effect`` of the gap between satisfaction and expectation closes (the service-recovery
    effect; Smith & Bolton 1998).  Returns ``(new_satisfaction, contacted)``.
    """
    sat = np.float64(satisfaction)  # float64 maths whatever the caller's dtype (both engines)
    exp_ = np.float64(expectation)
    if share <= 0.0 or uniform(key, i, t, base + _SLOT_RECOVERY) >= share:
        return sat, False
    if exp_ > sat:
        sat = sat + effect * (exp_ - sat)
    return sat, True


@njit(cache=True, inline="always")
def acquisition_probability(p_tick, q_tick, referral_fraction):
    """Bass adoption probability of a prospect this tick: the exact Bass flow over one tick.

    ``p_tick = p dt`` and ``q_tick = q dt`` are the Bass coefficients times the tick length,
    ``a`` (``referral_fraction``) the referring share of the prospect's contacts at the start
    of the tick.  The Bass equation dF/dt = (p + qF)(1 - F) started at F0 = a keeps a share

        S = (1 - F(dt)) / (1 - F0) = (P + Q) e / (P + Q a + Q (1 - a) e),  e = exp(-(P + Q))

    of the prospects (P = p dt, Q = q dt), so a prospect joins with probability

        1 - S = (P + Q a)(1 - e) / (P + Q a + Q (1 - a) e),

    written so that nothing cancels (``1 - e = -expm1(-(P + Q))``).  Fully mixed with every
    customer referring and no churn, the expected adopted share then follows the closed-form
    Bass curve exactly at any tick length; otherwise the rule is second-order accurate: to
    first order in dt it is the linear rule (p + q a) dt, which with long ticks lagged the
    curve badly (F(2 years) = 0.107 instead of 0.1245 with monthly ticks at p = 0.03,
    q = 1.5).  p = 0 and q = 0 are handled; P + Q a = 0 gives 0.  Always in [0, 1].
    """
    total = p_tick + q_tick
    return bass_join(p_tick, q_tick, referral_fraction, math.exp(-total), -math.expm1(-total))


@njit(cache=True, inline="always")
def _bass_flow(p_tick, q_tick, referral_fraction, e, one_minus_e):
    """Numerator and denominator of the one-tick Bass flow (see :func:`acquisition_probability`)."""
    rate = p_tick + q_tick * referral_fraction
    return rate * one_minus_e, rate + q_tick * (1.0 - referral_fraction) * e


@njit(cache=True, inline="always")
def joins(u, p_tick, q_tick, referral_fraction, e, one_minus_e):
    """Whether a draw ``u`` in [0, 1) joins: ``u < bass_join(...)`` without the division.

    The flow's denominator is positive whenever its numerator is, so u < num / den is
    decided as u den < num (the same rule; only a rounding tie could tell them apart).
    """
    num, den = _bass_flow(p_tick, q_tick, referral_fraction, e, one_minus_e)
    return num > 0.0 and u * den < num


@njit(cache=True, inline="always")
def bass_join(p_tick, q_tick, referral_fraction, e, one_minus_e):
    """The one-tick Bass flow with ``e = exp(-(P + Q))`` and ``1 - e`` given.

    They are fixed for a run (``Behaviour.bass_e``, ``bass_1me``), so the kernel needs no
    exponential per prospect; see :func:`acquisition_probability`.
    """
    num, den = _bass_flow(p_tick, q_tick, referral_fraction, e, one_minus_e)
    return min(1.0, num / den) if num > 0.0 else 0.0


@njit(cache=True, nogil=True, _nrt=False)
def csat_answer(episode_satisfaction, z, noise):
    """CSAT answer on 1-5 from an episode's satisfaction in [0, 1]."""
    return min(max(math.floor(1.0 + 4.0 * episode_satisfaction + noise * z + 0.5), 1.0), 5.0)


@njit(cache=True, nogil=True, _nrt=False)
def ces_answer(effort, patience, z, noise):
    """CES 2.0 answer on 1-7 ("the company made it easy"; 7 = very easy)."""
    strain = min(effort / patience, 1.0)
    return min(max(math.floor(7.0 - 6.0 * strain + noise * z + 0.5), 1.0), 7.0)


@njit(cache=True, inline="always")
def contract_logit(tenure_ticks, contract_ticks, window_ticks, effect, renewal_effect):
    """Churn log-odds shift from a contract: ``effect`` in a term, else its renewal window's.

    ``renewal_effect`` applies in a term's renewal window (its last ``window_ticks``); terms
    renew back to back.  No contract (``contract_ticks <= 0``): 0.  A window at least as long
    as the term makes the whole term a renewal window.
    """
    if contract_ticks <= 0.0:
        return 0.0
    into_term = tenure_ticks - contract_ticks * math.floor(tenure_ticks / contract_ticks)
    if into_term < contract_ticks - window_ticks:
        return effect
    return renewal_effect


@njit(cache=True, inline="always")
def remember_moment(perf, expectation, loss, alpha, peak, vsum, psum, moments):
    """Add one moment of performance ``perf`` to an episode's running memory.

    Returns the updated ``(peak, end, value_sum, performance_sum, moments)``: the peak is the
    most intense value so far (ties go to the later one), the end is this moment's value.
    """
    v = experience_value(perf - expectation, loss, alpha)
    if abs(v) >= abs(peak):
        peak = v
    return peak, v, vsum + v, psum + perf, moments + 1


@njit(cache=True, inline="always")
def available(tp, j, moment):
    """How far touchpoint ``j`` serves at ``moment`` of the tick (0-1).

    Its ``open`` level, or 0 while an outage has it down (``down_from <= moment < down_to``).
    """
    if tp.down_from[j] <= moment < tp.down_to[j]:
        return 0.0
    return tp.open[j]


@njit(cache=True, nogil=True, _nrt=False, no_cpython_wrapper=True)  # see kernels.inputs
def _pick(u, weights_total, lo, hi, s, seg, tp, jr, only_open, moment):
    """Pick one of a need's entry points ``jr.need_tp[lo:hi]`` by channel preference.

    Weighted by existence, or by availability at ``moment`` (outages) when ``only_open``.
    """
    target = u * weights_total
    acc = 0.0
    last = -1
    for k in range(lo, hi):
        j = jr.need_tp[k]
        w = seg.channel_pref[s, tp.channel[j]] * (
            available(tp, j, moment) if only_open else tp.exists[j])
        if w > 0.0:
            acc += w
            last = j
            if target < acc:
                return j
    return last


@njit(cache=True, nogil=True, _nrt=False, no_cpython_wrapper=True)  # see kernels.inputs
def _escalate(u, j, need_bit, tp, jr, moment):
    """Next touchpoint along ``j``'s escalation pathways for this need, or -1.

    Only touchpoints open at ``moment`` of the tick count.
    """
    tot = 0.0
    for k in range(jr.path_ptr[j], jr.path_ptr[j + 1]):
        if jr.path_kind[k] == 0 and (jr.path_mask[k] & need_bit) != 0:
            tot += jr.path_w[k] * available(tp, jr.path_to[k], moment)
    if tot <= 0.0:
        return -1
    target = u * tot
    acc = 0.0
    nxt = -1
    for k in range(jr.path_ptr[j], jr.path_ptr[j + 1]):
        if jr.path_kind[k] == 0 and (jr.path_mask[k] & need_bit) != 0:
            w = jr.path_w[k] * available(tp, jr.path_to[k], moment)
            if w > 0.0:
                acc += w
                nxt = jr.path_to[k]
                if target < acc:
                    break
    return nxt


@njit(cache=True, nogil=True, _nrt=False, no_cpython_wrapper=True)  # see kernels.inputs
def walk_episode(key, i, t, need, s, expectation, beh, today, seg, tp, jr, tpacc, base):
    """Walk one service episode through the touchpoint graph and return how it went.

    The customer enters at one of the need's entry touchpoints (channel preference x
    availability), may queue (staffed touchpoints: wait drawn from the tick's queue state,
    hanging up when it exceeds an exponential patience), experiences performance
    ``quality + noise - effort_weight * (effort + waiting)`` (minus a penalty if the operating
    partner fails), and is resolved with the touchpoint's probability.  Resolved needs may be
    handed off (e.g. web order -> delivery); unresolved ones escalate along pathways until the
    accumulated effort exceeds the customer's patience, a dead end, or the step limit.

    ``key`` is the customer's ``episode`` stream key, ``base`` the episode's first slot (its
    block: ``k * EPISODE_SLOTS`` for the tick's episode ``k``), ``s`` the segment,
    ``expectation`` the customer's current expectation; ``beh`` :class:`Behaviour`,
    ``today`` :class:`Today`,
    ``seg`` :class:`Segments`, ``tp`` :class:`Touchpoints`, ``jr`` :class:`Journeys`.
    ``tpacc`` (float64[T, N_TPA + T]) receives per-touchpoint counts and the moves between
    touchpoints (column ``TPA_FLOW + k``: moves to touchpoint ``k``).

    Returns ``(value, mean_performance, effort, outcome, first_contact, escalations, queued)``
    where ``value`` is the peak-end remembered value of the episode's moments.
    """
    loss = beh.loss_aversion
    alpha = beh.value_exponent
    effort_w = beh.effort_weight
    max_steps = beh.max_steps
    patience = seg.patience[s]
    queue_patience = seg.queue_patience[s]
    bonus = seg.perf_bonus[s]
    lo, hi = jr.need_ptr[need], jr.need_ptr[need + 1]
    # the moment of the tick the episode happens: an outage covering it has its touchpoints
    # down (the episodes of a tick are spread evenly over it, so a long tick's short outage
    # meets as many episodes as over short ticks)
    moment = uniform(key, i, t, base + _SLOT_MOMENT)
    total = 0.0
    total_all = 0.0
    for k in range(lo, hi):
        j = jr.need_tp[k]
        w = seg.channel_pref[s, tp.channel[j]]
        total_all += w * tp.exists[j]
        total += w * available(tp, j, moment)
    need_bit = np.int64(1) << np.int64(need)
    # the customer heads for a preferred channel; if it is closed (an outage) they re-route,
    # at extra effort: to another open entry point, else where that touchpoint escalates to
    u_entry, u_reroute = uniform_pair(key, i, t, base)
    if total_all <= 0.0:  # none of the need's entry points exists
        perf = beh.unresolved
        v = experience_value(perf - expectation, loss, alpha)
        return v, perf, 0.0, OUT_NO_CHANNEL, False, 0, False
    j = _pick(u_entry, total_all, lo, hi, s, seg, tp, jr, np.bool_(False), moment)
    carried_effort = 0.0
    if available(tp, j, moment) <= 0.0:
        carried_effort = beh.reroute_effort
        if total > 0.0:
            j = _pick(u_reroute, total, lo, hi, s, seg, tp, jr, np.bool_(True), moment)
        else:
            j = _escalate(u_reroute, j, need_bit, tp, jr, moment)
            if j < 0:
                perf = beh.unresolved
                v = experience_value(perf - expectation, loss, alpha)
                return v, perf, 0.0, OUT_NO_CHANNEL, False, 0, False
    peak = 0.0
    end = 0.0
    vsum = 0.0
    psum = 0.0
    moments = 0
    effort = 0.0
    escalations = 0
    queued = False
    outcome = OUT_STEP_LIMIT
    u_interval = -1.0  # the episode's place in the day's arrivals, drawn when first needed
    for step in range(max_steps):
        slot = base + 1 + 8 * step
        tpacc[j, TPA_VISITS] += 1.0
        wait = 0.0
        hung_up = False
        if tp.p_wait[j] > 0.0:
            p_wait = tp.p_wait[j]
            mean_wait = tp.wait_mean[j]
            if tp.intervals[0, j, 0] < 1.0:  # intraday queues: the interval's wait device
                if u_interval < 0.0:
                    u_interval = uniform(key, i, t, base + _SLOT_INTERVAL)
                kk = 0
                last = tp.intervals.shape[2] - 1
                while kk < last and u_interval >= tp.intervals[0, j, kk]:
                    kk += 1
                p_wait = tp.intervals[1, j, kk]
                mean_wait = tp.intervals[2, j, kk]
            u_wait, u_len = uniform_pair(key, i, t, slot)
            if u_wait < p_wait:
                queued = True
                tpacc[j, TPA_QUEUED] += 1.0
                wait = -mean_wait * math.log(u_len) if mean_wait < np.inf else np.inf
                give_up = -queue_patience * math.log(uniform(key, i, t, slot + 1))
                if wait > give_up:
                    wait = give_up
                    hung_up = True
                    tpacc[j, TPA_QUEUE_ABANDON] += 1.0
                tpacc[j, TPA_WAIT_SUM] += wait
        step_effort = tp.effort[j] + wait * beh.wait_effort + carried_effort
        carried_effort = 0.0
        effort += step_effort
        failed = False
        if hung_up:
            perf = beh.unresolved - effort_w * step_effort
        else:
            perf = (tp.quality[j] + bonus + tp.variability[j] * normal(key, i, t, slot + 2)
                    - effort_w * step_effort)
            if tp.p_fail[j] > 0.0 and uniform(key, i, t, slot + 3) < tp.p_fail[j]:
                failed = True
                perf -= beh.failure_penalty
                tpacc[j, TPA_FAILURES] += 1.0
        perf = clip01(perf)
        tpacc[j, TPA_PERF_SUM] += perf
        peak, end, vsum, psum, moments = remember_moment(
            perf, expectation, loss, alpha, peak, vsum, psum, moments)
        if failed:
            outcome = OUT_FAILED
            break
        u_res, u_route = uniform_pair(key, i, t, slot + 4)
        if not hung_up and u_res < tp.resolution[j]:
            tpacc[j, TPA_RESOLVED] += 1.0
            outcome = OUT_RESOLVED
            # hand-off: a resolved need may continue (web order -> delivery)
            nxt = -1
            acc = 0.0
            for k in range(jr.path_ptr[j], jr.path_ptr[j + 1]):
                if jr.path_kind[k] == 1 and (jr.path_mask[k] & need_bit) != 0:
                    to = jr.path_to[k]
                    if available(tp, to, moment) > 0.0:
                        acc += jr.path_w[k]
                        if u_route < acc:
                            nxt = to
                            break
            if nxt < 0 or step == max_steps - 1:
                break
            tpacc[j, TPA_FLOW + nxt] += 1.0
            j = nxt
            continue
        if effort > patience:
            outcome = OUT_GAVE_UP
            break
        if step == max_steps - 1:
            break  # step limit: the episode ends here, unresolved
        nxt = _escalate(u_route, j, need_bit, tp, jr, moment)
        if nxt < 0:
            outcome = OUT_DEAD_END
            break
        escalations += 1
        if tp.channel[nxt] != tp.channel[j]:
            # switching channel: repeating oneself, less so with omnichannel integration
            carried_effort = beh.repeat_effort * (1.0 - today.omnichannel)
        tpacc[j, TPA_FLOW + nxt] += 1.0
        j = nxt
    tpacc[j, TPA_ENDED_HERE] += 1.0
    if outcome != OUT_RESOLVED:
        tpacc[j, TPA_ENDED_BAD] += 1.0
        # the unmet need is itself a (bad) final moment
        peak, end, vsum, psum, moments = remember_moment(
            beh.unresolved, expectation, loss, alpha, peak, vsum, psum, moments)
    value = peak_end(peak, end, vsum / moments, beh.peak_weight, beh.end_weight)
    first_contact = outcome == OUT_RESOLVED and escalations == 0
    return value, psum / moments, effort, outcome, first_contact, escalations, queued


@njit(cache=True, inline="always")
def need_type(r, need_cum, s):
    """Need type (index into the need list) of a uniform ``r`` by the segment's shares."""
    n = need_cum.shape[1]
    for k in range(n):
        if r < need_cum[s, k]:
            return k
    return n - 1


@njit(cache=True, inline="always")
def need_count(u_need, v, p_need, need_mean):
    """Needs this tick: Poisson(``need_mean``) by inversion, capped at :data:`MAX_EPISODES`.

    ``p_need = 1 - exp(-need_mean)`` is P(at least one): none when ``u_need >= p_need``
    (the same draw decides it as when a tick had at most one need); otherwise the count given
    at least one, zero-truncated Poisson, is inverted from a second uniform ``v``.
    """
    if u_need >= p_need:
        return 0
    # P(N = 1 | N >= 1) = mu e^{-mu} / (1 - e^{-mu})
    term = need_mean * math.exp(-need_mean) / p_need
    cum = term
    n = 1
    while v >= cum and n < MAX_EPISODES:
        n += 1
        term *= need_mean / n
        cum += term
    return n


@njit(cache=True, inline="always")
def draw_need(u_need, p_need, need_cum, s):
    """Type of the tick's first need (index into the need list) or -1 when it has none.

    Reuses ``u_need`` (below ``p_need``, uniform on [0, p_need)) for the type.
    ``need_cum`` is the float64[S, K] table of cumulative need-type shares; ``s`` the segment.
    """
    if u_need >= p_need:
        return -1
    return need_type(u_need / p_need, need_cum, s)


@njit(cache=True, nogil=True, _nrt=False, no_cpython_wrapper=True)  # see kernels.inputs
def start_customer(key_start, key_frailty, i, t, s, seg, beh, cu, tenure_months,
                   exposure_months):
    """Make agent ``i`` (state ``cu``: :class:`Customers`) a customer of segment ``s`` at ``t``.

    Satisfaction and expectation start near the segment's values.  The individual churn
    propensity is Beta-distributed around the segment's base rate when heterogeneity is on
    (shifted-beta-geometric, Fader & Hardie 2007); for a customer who has already stayed
    ``tenure_months`` it is drawn from the survivors' Beta(a, b + exposure) instead, where
    ``exposure_months`` is the tenure weighted by the customer's relative hazard over it (the
    tenure itself when the base rate applied throughout).  Status is left to the caller.
    """
    spread = beh.initial_spread
    z1 = normal(key_start, i, t, 0)
    z2 = normal(key_start, i, t, 1)
    cu.satisfaction[i] = clip01(seg.initial_satisfaction[s] + spread * z1)
    cu.expectation[i] = clip01(seg.initial_expectation[s] + spread * z2)
    cu.join_tick[i] = t - int(round(tenure_months * beh.ticks_per_month))
    kappa = seg.concentration[s]
    h0 = seg.base_churn_month[s]
    if kappa > 0.0:
        a = max(h0 * kappa, 1e-6)
        b = max((1.0 - h0) * kappa, 1e-6) + exposure_months
        theta_month = beta(key_frailty, i, t, 0, a, b)
    else:
        theta_month = h0
    cu.churn_logit[i] = logit(per_tick_probability(theta_month, beh.ticks_per_month))


# =============================================================================================
# one customer's tick (both engines) and the parallel kernel
# =============================================================================================


@njit(cache=True, inline="always")
def take_in_wom(cu, i, share, toward):
    """Take in a share (``share``: the log of the gap it leaves) of heard word of mouth.

    It pulls the expectation toward ``toward`` only while that is lower (detractors' word
    of mouth lowers expectations, never raises them).
    """
    if share < 0.0:
        e = np.float64(cu.expectation[i])
        if toward < e:
            cu.expectation[i] = toward + math.exp(share) * (e - toward)


@njit(cache=True, inline="always")  # inlined: a call passes every array of every group
def _episode(i, t, keys, need, s, cu, beh, today, seg, tp, jr, acc, tpacc, block):
    """One of the tick's episodes (block ``block`` of slots), then service recovery.

    Returns the customer's NPS category after it (:func:`nps_category`): a detractor tells
    others (word of mouth), and the public rating counts promoters and detractors.
    """
    base = block * EPISODE_SLOTS
    live_episode(i, t, keys[K_EPISODE], need, s, cu, beh, today, seg, tp, jr, acc, tpacc,
                 base)
    if seg.recovery_share[s] > 0.0 and nps_category(cu.satisfaction[i], cu.nps_bias[i]) == -1:
        sat_new, contacted = service_recovery(keys[K_EPISODE], i, t, cu.satisfaction[i],
                                              cu.expectation[i], seg.recovery_share[s],
                                              beh.recovery_effect, base)
        if contacted:
            cu.satisfaction[i] = sat_new
            acc[ACC_RECOVERIES] += 1.0
    return nps_category(cu.satisfaction[i], cu.nps_bias[i])


@njit(cache=True, nogil=True, _nrt=False)  # no reference counting: see kernels.inputs
def advance_span(lo, hi, t, chunk, clear, keys, cu, beh, today, seg, tp, jr, indptr, acc_c,
                 tpacc_c, segacc_c):
    """Advance customers ``lo .. hi-1`` by one tick: the one per-customer step of both engines.

    The numba engine runs it over every customer, each thread over whole chunks
    (:func:`advance_customers`); the mesa engine for one customer at a time
    (:func:`advance_customer`, from :meth:`cxsim.agents.Customer.step`).  Customer ``i``
    counts into its chunk's accumulators, ``acc[i // chunk]`` (likewise ``tpacc``,
    ``segacc``), zeroed first when ``clear`` (so ``lo`` must start a chunk).

    In order: churn exposure is read and decays (see :func:`contagion_shift`); a prospect or
    a former customer may join (the one-tick Bass flow from marketing ``p`` and ``q`` x the
    referring share of its contacts: a former customer is a rival's customer again) and a
    former customer not reached so may be won back; a customer's failure demands due and
    Poisson(rate x dt) needs are lived one after another, each an episode
    (:func:`live_episode`) after which a detractor may be reached by service recovery, with
    the word of mouth heard last tick taken in a share before each episode and the last
    after them (:func:`take_in_wom`), and the churn draw decides whether they
    leave (the tick-mean contagion multiplier in the hazard); finally the agent is
    counted into the tick's census and NPS survey.

    Arguments: ``keys uint64[len(STREAMS)]`` stream keys; ``cu`` :class:`Customers`;
    ``beh`` :class:`Behaviour`; ``today`` :class:`Today`; ``seg`` :class:`Segments`; ``tp``
    :class:`Touchpoints`; ``jr`` :class:`Journeys`; ``indptr int64[N+1]`` the social network's
    row pointers (degrees); ``acc float64[C, N_ACC]``, ``tpacc float64[C, T, N_TPA + T]``,
    ``segacc float64[C, S, N_SGA]`` the chunks' accumulators.

    The step is written out here, not in a function inlined into the loop: numba inlines by
    copying the callee's IR, and copying the whole step cost about a third of its compile
    time.
    """
    start = lo
    while start < hi:
        c = start // chunk
        end = min(hi, (c + 1) * chunk)
        acc = acc_c[c]
        tpacc = tpacc_c[c]
        segacc = segacc_c[c]
        if clear:
            acc[:] = 0.0
            tpacc[:, :] = 0.0
            segacc[:, :] = 0.0
        for i in range(start, end):
            st = cu.status[i]
            s = cu.segment[i]
            ev = 0
            cat = 0  # NPS category of the agent's satisfaction at the end of the tick (customers)
            promoters_only = beh.referral_promoters
            # churn exposure: X at the start of the tick (churns of the previous tick added whole,
            # undecayed); the churn hazard uses its tick mean (contagion_shift), and what is left at
            # the end of the tick, X e^{-lambda dt}, is carried over (tiny values flushed to 0)
            expo = cu.exposure[i]
            if expo != 0.0:
                left = np.float32(expo * beh.exposure_decay)
                cu.exposure[i] = left if left > np.float32(1e-30) else np.float32(0.0)
            # state read once into locals: every store to an accumulator could alias the state
            # arrays for the compiler, which would otherwise reload them after each one
            sat = cu.satisfaction[i]
            if st == CHURNED and t - cu.join_tick[i] >= beh.win_back_window_ticks:
                # beyond the win-back window a former customer is a prospect again (join_tick holds
                # the tick they left)
                cu.status[i] = PROSPECT
                st = PROSPECT
            if st == PROSPECT or st == CHURNED:
                cu.wom_log[i] = 0.0  # what they heard is moot: joining sets a fresh expectation
                # a former customer is a rival's customer again: marketing and referrals reach them
                # as they reach prospects (Bass), and win-back offers on top within the window
                if beh.full_mixing:
                    frac = today.referral_fraction
                else:
                    deg = indptr[i + 1] - indptr[i]
                    frac = cu.referrer_nbrs[i] / deg if deg > 0 else 0.0
                # today's Bass flow: marketing scaled by the public rating (cxsim.reputation)
                acquired = joins(uniform(keys[K_ACQUIRE], i, t, 0), today.p_tick, today.q_tick,
                                 frac, today.bass_e, today.bass_1me)
                won = (not acquired and st == CHURNED and beh.win_back_tick > 0.0
                       and uniform(keys[K_ACQUIRE], i, t, 1) < beh.win_back_tick)
                if acquired or won:
                    start_customer(keys[K_START], keys[K_FRAILTY], i, t, s, seg, beh, cu, 0.0, 0.0)
                    cu.status[i] = CUSTOMER
                    cu.exposure[i] = 0.0
                    ev |= EV_JOIN
                    if st == PROSPECT:
                        acc[ACC_NEW] += 1.0
                        segacc[s, SGA_NEW] += 1.0
                    else:  # a former customer back, by marketing, referral or a win-back offer
                        acc[ACC_WON_BACK] += 1.0
                    sat = cu.satisfaction[i]
                    cat = nps_category(sat, cu.nps_bias[i])
                    if not promoters_only or cat == 1:  # is_referrer(CUSTOMER, ...)
                        ev |= EV_REF_UP
            else:
                acc[ACC_ACTIVE_START] += 1.0
                cat = nps_category(sat, cu.nps_bias[i])
                ref0 = not promoters_only or cat == 1  # is_referrer(CUSTOMER, ...)
                u_need, u_churn = uniform_pair(keys[K_DAILY], i, t, 0)
                n_needs = 0
                if u_need < seg.p_need[s]:
                    n_needs = need_count(u_need, uniform(keys[K_DAILY], i, t, 1), seg.p_need[s],
                                         seg.need_mean[s])
                due = cu.pending[i]
                # word of mouth heard last tick is taken in over this one: a share before each
                # episode and the last after them, so the episodes of a long tick meet it as the
                # same episodes over short ticks would (not all before, nor all after)
                if beh.full_mixing:
                    heard, toward = today.wom_log, today.wom_target
                else:
                    heard, toward = np.float64(cu.wom_log[i]), np.float64(cu.wom_target[i])
                    if heard != 0.0:
                        cu.wom_log[i] = 0.0
                share = heard / (due + n_needs + 1) if heard != 0.0 else 0.0
                # this tick's episodes, one after another: the failure demands due first (one per
                # partner failure of the previous tick), then Poisson(rate x dt) needs; episode k
                # uses its own block of 'episode' slots
                talks = 0  # episodes that left the customer a detractor: each is word of mouth
                praised = 0  # episodes that left them a promoter (the public rating's reviews)
                said = 0.0  # the satisfaction after each of them (what the talk conveys)
                if due > 0:
                    cu.pending[i] = 0
                # one call site for every episode (block k is the tick's episode k), so the compiled
                # step holds one copy of the episode's code
                for block in range(due + n_needs):
                    if block < due:
                        acc[ACC_FAILURE_DEMAND] += 1.0
                        need = beh.failure_need
                    elif block == due:  # the first need's type from the draw that decided it
                        need = draw_need(u_need, seg.p_need[s], seg.need_cum, s)
                    else:
                        need = need_type(uniform(keys[K_EPISODE], i, t,
                                                 block * EPISODE_SLOTS + _SLOT_NEED),
                                         seg.need_cum, s)
                    take_in_wom(cu, i, share, toward)
                    after = _episode(i, t, keys, need, s, cu, beh, today, seg, tp, jr, acc, tpacc,
                                     block)
                    if after == -1:
                        talks += 1
                        said += cu.satisfaction[i]
                    elif after == 1:
                        praised += 1
                take_in_wom(cu, i, share, toward)
                if due + n_needs > 0:
                    sat = cu.satisfaction[i]  # the episodes moved it
                    cat = nps_category(sat, cu.nps_bias[i])
                    acc[ACC_PROMOTER_EPISODES] += praised
                    if talks > 0:
                        # one talk per detractor episode, so that word of mouth does not depend on
                        # how many episodes a tick holds (the cap is above any tick's episodes)
                        cu.wom_said[i] = said / talks
                        talks = min(talks, WOM_TALKS_MAX)
                        ev |= EV_WOM | (talks << WOM_TALKS_SHIFT)
                        acc[ACC_WOM_N] += talks
                        acc[ACC_WOM_SAT_SUM] += said
                tenure = t - cu.join_tick[i]
                if churns(u_churn, cu.churn_logit[i], sat, beh.sat_reference, beh.sat_effect,
                          tenure * beh.years_per_tick, beh.tenure_effect,
                          seg.extra_logit[s]
                          + contract_logit(tenure, seg.contract_ticks[s], beh.renewal_window_ticks,
                                           beh.contract_effect, beh.renewal_effect),
                          beh.log_contagion * np.float64(expo), today.contagion_shift,
                          beh.exposure_decay, beh.exposure_mean, beh.exposure_var):
                    cu.status[i] = CHURNED
                    cu.join_tick[i] = t  # from now on: the tick they left (the win-back window)
                    cu.pending[i] = 0
                    ev |= EV_CHURN
                    acc[ACC_CHURNED] += 1.0
                    segacc[s, SGA_CHURNED] += 1.0
                ref1 = cu.status[i] == CUSTOMER and (not promoters_only or cat == 1)  # is_referrer
                if ref1 and not ref0:
                    ev |= EV_REF_UP
                elif ref0 and not ref1:
                    ev |= EV_REF_DOWN
            census(i, t, keys[K_SURVEY], cu.status[i], s, sat, cat, cu.join_tick[i],
                   promoters_only, beh, acc, segacc)
            cu.events[i] = ev
            if ev != 0:
                acc[ACC_EVENTS] += 1.0
        start = end


# inlined: its one call site is in the step, and as a function of its own its compiled code
# (with the episode walk's) was optimised and generated once more for the step
@njit(cache=True, _nrt=False, inline="always")
def live_episode(i, t, key, need, s, cu, beh, today, seg, tp, jr, acc, tpacc, base):
    """Customer ``i`` lives one episode: walk it, remember it, answer the transaction survey.

    ``base`` is the episode's block of slots in the ``episode`` stream.
    """
    value, mean_perf, effort, outcome, first, escalations, queued = walk_episode(
        key, i, t, need, s, cu.expectation[i], beh, today, seg, tp, jr, tpacc, base)
    episode_sat = clip01(cu.expectation[i] + value)
    cu.satisfaction[i] = update_satisfaction(cu.satisfaction[i], episode_sat, beh.memory_weight)
    cu.expectation[i] = cu.expectation[i] + beh.adaptation * (mean_perf - cu.expectation[i])
    z1 = normal(key, i, t, base + _SLOT_SCORES)
    z2 = normal(key, i, t, base + _SLOT_SCORES + 1)
    acc[ACC_EPISODES] += 1.0
    acc[ACC_CSAT_SUM] += csat_answer(episode_sat, z1, beh.survey_noise)
    acc[ACC_CES_SUM] += ces_answer(effort, seg.patience[s], z2, beh.survey_noise)
    acc[ACC_EFFORT_SUM] += effort
    acc[ACC_ESCALATIONS] += escalations
    if outcome == OUT_RESOLVED:
        acc[ACC_RESOLVED] += 1.0
        if first:
            acc[ACC_FCR] += 1.0
    else:
        acc[ACC_ABANDONED] += 1.0
        if outcome == OUT_FAILED and beh.failure_need >= 0:
            # failure demand: each partner failure becomes a support need next tick
            if cu.pending[i] < 255:
                cu.pending[i] += 1
    return outcome


@njit(cache=True, inline="always")
def census(i, t, key_survey, st, s, sat, cat, joined, promoters_only, beh, acc, segacc):
    """Count agent ``i`` into this tick's stock figures and the relationship NPS survey.

    ``cat`` is :func:`nps_category` of the agent's satisfaction now (ignored unless a customer).
    """
    if st == PROSPECT:
        acc[ACC_PROSPECTS] += 1.0
        return
    if st == CHURNED:
        acc[ACC_LOST] += 1.0
        return
    acc[ACC_ACTIVE] += 1.0
    segacc[s, SGA_ACTIVE] += 1.0
    acc[ACC_SAT_SUM] += sat
    if joined <= 0:
        acc[ACC_COHORT] += 1.0
        segacc[s, SGA_COHORT] += 1.0
    if cat == 1:
        acc[ACC_PROMOTERS] += 1.0
    elif cat == -1:
        acc[ACC_DETRACTORS] += 1.0
    if not promoters_only or cat == 1:  # is_referrer(CUSTOMER, ...)
        acc[ACC_REFERRERS] += 1.0
    # answers this tick: the expected count (the daily rate x tick_days) rounded by chance,
    # so a long tick collects as many answers as the same days in short ticks
    expected = beh.nps_sample
    fractional = expected != math.floor(expected)  # a whole count needs no draw
    answers = round_by_chance(expected, uniform(key_survey, i, t, 0) if fractional else 1.0)
    if answers > 0:
        acc[ACC_SURVEY_N] += answers
        if cat == 1:
            acc[ACC_SURVEY_PROM] += answers
        elif cat == -1:
            acc[ACC_SURVEY_DET] += answers


@njit(cache=True)
def advance_customer(i, t, keys, cu, beh, today, seg, tp, jr, indptr, acc, tpacc, segacc):
    """Advance customer ``i`` by one tick (:func:`advance_span`): the mesa engine's step.

    ``acc float64[N_ACC]``, ``tpacc float64[T, N_TPA + T]``, ``segacc float64[S, N_SGA]`` are
    the accumulators of the customer's chunk, added to.
    """
    # a chunk of i + 1 customers puts customer i in chunk 0: the one set of accumulators
    # (np.bool_: a literal False would compile the step a second time)
    advance_span(i, i + 1, t, i + 1, np.bool_(False), keys, cu, beh, today, seg, tp, jr, indptr,
                 acc.reshape((1, acc.shape[0])),
                 tpacc.reshape((1, tpacc.shape[0], tpacc.shape[1])),
                 segacc.reshape((1, segacc.shape[0], segacc.shape[1])))


def advance_customers(t, chunk, keys, cu, beh, today, seg, tp, jr, indptr, acc, tpacc, segacc):
    """Advance every customer by one tick, in parallel over fixed-size chunks.

    Shapes: customer arrays ``[N]``; ``acc float64[C, N_ACC]``, ``tpacc float64[C, T, N_TPA + T]``,
    ``segacc float64[C, S, N_SGA]`` with ``C = ceil(N / chunk)``, zeroed here.  Customers only
    read their own state and the previous tick's neighbour counts, so the result does not
    depend on scheduling; accumulators are per chunk and summed by the caller in order.
    Each thread advances a run of whole chunks (:func:`cxsim.kernels.parallel.for_ranges`).
    """
    precompile.wait()  # a first run may compile the kernel in a second process
    for_ranges(advance_span, cu.status.shape[0], t, chunk, True, keys, cu, beh, today, seg, tp,
               jr, indptr, acc, tpacc, segacc, align=chunk)


# =============================================================================================
# every customer's own churn hazard now (read by CLV and churn-risk scores, never by the step)
# =============================================================================================


@njit(cache=True, nogil=True, _nrt=False)
def hazard_span(lo, hi, t, cu, beh, today, seg, out):
    """Per-tick churn probability of customers ``lo .. hi-1`` in the next tick, ``t + 1``.

    The same hazard the churn draw of :func:`advance_span` compares against (``churns``),
    from each customer's state after tick ``t``: individual base log-odds (frailty),
    satisfaction, tenure at the next tick, today's segment shifts (``seg.extra_logit``:
    interventions, prices), the contract term (a proactive retention offer is in the
    individual log-odds while it holds: :mod:`cxsim.retention`) and the churn exposure
    carried into the next tick (its tick mean, :func:`contagion_shift`) plus the shift every
    customer shares.  ``out[i]`` is NaN for an
    agent that is not a customer.  Shapes: customer arrays ``[N]``, ``out float64[N]``.
    """
    for i in range(lo, hi):
        if cu.status[i] != CUSTOMER:
            out[i] = np.nan
            continue
        s = cu.segment[i]
        tenure = t + 1 - cu.join_tick[i]
        y = beh.log_contagion * np.float64(cu.exposure[i])
        shift = (contagion_shift(y, beh.exposure_decay, beh.exposure_mean, beh.exposure_var)
                 if y != 0.0 else 0.0) + today.contagion_shift
        out[i] = churn_hazard(cu.churn_logit[i], cu.satisfaction[i], beh.sat_reference,
                              beh.sat_effect, tenure * beh.years_per_tick, beh.tenure_effect,
                              seg.extra_logit[s]
                              + contract_logit(tenure, seg.contract_ticks[s],
                                               beh.renewal_window_ticks, beh.contract_effect,
                                               beh.renewal_effect),
                              shift)


def customer_hazards(t, cu, beh, today, seg, out=None):
    """Every agent's per-tick churn probability for tick ``t + 1`` (NaN: not a customer).

    A parallel pass of :func:`hazard_span` (results do not depend on the thread count);
    returns ``out`` (float64[N], allocated when ``None``).  It costs about one tick's churn
    draws, so callers run it at their own cadence, not every tick.
    """
    n = cu.status.shape[0]
    if out is None:
        out = np.empty(n, np.float64)
    for_ranges(hazard_span, n, t, cu, beh, today, seg, out)
    return out
