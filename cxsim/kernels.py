"""Numba kernels: every customer's tick, as pure functions over arrays and scalars.

Layout (all arrays indexed by customer id ``i`` in ``[0, N)``):

=================  ==========  =================================================================
array              dtype       meaning
=================  ==========  =================================================================
status             uint8       0 prospect, 1 customer, 2 churned
segment            uint8       segment index
satisfaction       float32     cumulative satisfaction in [0, 1]
expectation        float32     expected performance in [0, 1]
churn_logit        float32     log-odds of the individual base churn hazard per tick
exposure           float32     decayed count of recently churned contacts
join_tick          int32       tick the customer (last) joined; negative for the initial base
referrer_nbrs      int32       contacts who currently refer (promoters, or all customers)
nps_bias           float32     individual response style on the 0-10 scale
pending            uint8       0, or 1 + need type of a failure demand due next tick
events             uint8       bit flags of this tick's socially visible events
=================  ==========  =================================================================

That is 32 bytes per customer, plus the social network.

Parameters travel as small float64 tables whose columns are named by the constants below
(``B_*`` behaviour and tick scalars, ``S_*`` per segment, ``T_*`` per touchpoint).  Outputs
are per-chunk accumulators (``ACC_*``, ``TPA_*``, ``SGA_*``) summed afterwards in chunk order,
so floating-point results are identical whatever the thread count.

The per-customer maths are small ``@njit`` functions (:func:`experience_value`,
:func:`peak_end`, :func:`update_satisfaction`, :func:`churn_hazard`, :func:`walk_episode`, ...)
that the parallel kernel :func:`advance_customers` and the Python reference engine
(:meth:`cxsim.agents.Customer.step`) both call.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from .rng import beta, normal, uniform, uniform_pair

PROSPECT, CUSTOMER, CHURNED = 0, 1, 2

# event flags (read by spread_social_effects after the customer phase)
EV_JOIN, EV_CHURN, EV_REF_UP, EV_REF_DOWN, EV_WOM = 1, 2, 4, 8, 16

# stream indices (see rng.STREAMS)
K_SEGMENT, K_INITIAL, K_FRAILTY, K_STYLE, K_START, K_ACQUIRE, K_DAILY, K_EPISODE, K_SURVEY = (
    range(9))

# ---- behaviour and per-tick scalars: beh[B_*] ----------------------------------------------
(B_LOSS, B_ALPHA, B_PEAK, B_END, B_MEMORY_W, B_ADAPT, B_EFFORT_W, B_WAIT_EFFORT, B_FAIL_PENALTY,
 B_UNRESOLVED, B_MAX_STEPS, B_SAT_EFFECT, B_SAT_REF, B_TENURE_EFFECT, B_LOG_CONTAGION,
 B_EXPOSURE_DECAY, B_SURVEY_NOISE, B_REFERRAL_PROMOTERS, B_P_TICK, B_Q_TICK, B_WIN_BACK_TICK,
 B_YEARS_PER_TICK, B_FULL_MIXING, B_FULL_REFERRAL_FRAC, B_GLOBAL_EXPOSURE, B_WOM_RATE,
 B_WOM_TARGET, B_NPS_SAMPLE, B_SPREAD, B_CONTRACT_EFFECT, B_TICKS_PER_MONTH,
 B_FAILURE_NEED, B_REPEAT_EFFORT, B_OMNICHANNEL, B_REROUTE_EFFORT, B_RECOVERY_EFFECT) = range(36)
N_BEH = 36

# ---- per segment: seg[s, S_*] ---------------------------------------------------------------
(S_P_NEED, S_PATIENCE, S_QUEUE_PATIENCE, S_EXTRA_LOGIT, S_CONTRACT_TICKS, S_INIT_SAT,
 S_INIT_EXP, S_BASE_CHURN_TICK, S_CONCENTRATION, S_PERF_BONUS, S_RECOVERY) = range(11)
N_SEG = 11

# ---- per touchpoint, refreshed every tick: tp[j, T_*] ---------------------------------------
# T_EXISTS: the touchpoint is part of the ecosystem (declared enabled, or added by a strategy);
# T_OPEN: it can serve today (an outage closes an existing touchpoint)
(T_CHANNEL, T_QUALITY, T_VARIABILITY, T_EFFORT, T_RESOLUTION, T_OPEN, T_P_WAIT, T_WAIT_MEAN,
 T_P_FAIL, T_EXISTS) = range(10)
N_TP = 10

# ---- per-chunk accumulators: acc[c, ACC_*] --------------------------------------------------
(ACC_ACTIVE, ACC_NEW, ACC_CHURNED, ACC_WON_BACK, ACC_PROSPECTS, ACC_LOST, ACC_SAT_SUM,
 ACC_PROMOTERS, ACC_DETRACTORS, ACC_SURVEY_N, ACC_SURVEY_PROM, ACC_SURVEY_DET, ACC_EPISODES,
 ACC_RESOLVED, ACC_FCR, ACC_ABANDONED, ACC_CSAT_SUM, ACC_CES_SUM, ACC_EFFORT_SUM, ACC_COHORT,
 ACC_FAILURE_DEMAND, ACC_REFERRERS, ACC_EVENTS, ACC_WOM_N, ACC_WOM_SAT_SUM, ACC_ACTIVE_START,
 ACC_ESCALATIONS, ACC_RECOVERIES) = range(28)
N_ACC = 28

# ---- per-chunk, per-touchpoint accumulators: tpacc[c, j, TPA_*] -----------------------------
(TPA_VISITS, TPA_PERF_SUM, TPA_RESOLVED, TPA_FAILURES, TPA_QUEUED, TPA_QUEUE_ABANDON,
 TPA_WAIT_SUM, TPA_ENDED_HERE, TPA_ENDED_BAD) = range(9)
N_TPA = 9
#: columns TPA_FLOW + k count moves from touchpoint j to touchpoint k (escalations, hand-offs);
#: tpacc has N_TPA + T columns
TPA_FLOW = N_TPA

# ---- per-chunk, per-segment accumulators: segacc[c, s, SGA_*] -------------------------------
SGA_ACTIVE, SGA_CHURNED, SGA_NEW, SGA_COHORT = range(4)
N_SGA = 4

# ---- episode outcome codes -----------------------------------------------------------------
OUT_RESOLVED, OUT_GAVE_UP, OUT_DEAD_END, OUT_STEP_LIMIT, OUT_FAILED, OUT_NO_CHANNEL = range(6)

# slots of the 'episode' stream: step n uses 1 + 8n .. 8 + 8n; scores use 240, 241
_SLOT_SCORES = 240


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


@njit(cache=True)
def memory_weight(half_life):
    """Weight of the newest experience in a recency-weighted average: 1 - 2**(-1/h)."""
    return 1.0 - 2.0 ** (-1.0 / half_life)


@njit(cache=True, inline="always")
def update_satisfaction(satisfaction, episode_satisfaction, weight):
    """Recency-weighted cumulative satisfaction after one more episode."""
    return satisfaction + weight * (episode_satisfaction - satisfaction)


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


@njit(cache=True)
def per_tick_probability(p_period, ticks_per_period):
    """Probability per tick equivalent to ``p_period`` per period (constant hazard)."""
    return 1.0 - (1.0 - p_period) ** (1.0 / ticks_per_period)


@njit(cache=True, inline="always")
def churn_hazard(base_logit, satisfaction, sat_reference, sat_effect, tenure_years,
                 tenure_effect, extra_logit, exposure, log_contagion):
    """Churn probability this tick: logistic in satisfaction, tenure and contagion.

    ``log(odds) = base + b_s (s - s_ref) + b_t log(1 + tenure) + extra + log(m) * exposure``;
    with small hazards each unit of exposure multiplies the hazard by about ``m``
    (Nitzan & Libai 2011).
    """
    z = (base_logit + sat_effect * (satisfaction - sat_reference)
         + tenure_effect * math.log1p(max(tenure_years, 0.0)) + extra_logit
         + log_contagion * exposure)
    return logistic(z)


#: Churn screen (exact): logistic(-4) = 0.018 < 0.02, so a draw u >= 0.02 against log-odds
#: below -4 never churns.  With daily churn hazards near 1e-3 (log-odds near -7) this skips
#: ``exp`` and ``log1p`` for about 98 % of customer-ticks.
_SCREEN_Z = -4.0
_SCREEN_U = 0.02


@njit(cache=True, inline="always")
def churns(u, base_logit, satisfaction, sat_reference, sat_effect, tenure_years, tenure_effect,
           extra_logit, exposure, log_contagion):
    """Whether a draw ``u`` churns: exactly ``u < churn_hazard(...)``, decided more cheaply.

    When the tenure term cannot be positive (``tenure_effect <= 0``), dropping it bounds the
    log-odds from above, term by term as :func:`churn_hazard` sums them (rounded addition is
    monotone), so a bound below ``_SCREEN_Z`` with ``u >= _SCREEN_U`` proves ``u >= h``.
    """
    if u >= _SCREEN_U and tenure_effect <= 0.0:
        z_ub = (base_logit + sat_effect * (satisfaction - sat_reference) + extra_logit
                + log_contagion * exposure)
        if z_ub < _SCREEN_Z:
            return False
    return u < churn_hazard(base_logit, satisfaction, sat_reference, sat_effect, tenure_years,
                            tenure_effect, extra_logit, exposure, log_contagion)


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


@njit(cache=True)
def service_recovery(key, i, t, satisfaction, expectation, share, effect):
    """Proactive outreach to a customer who just ended an episode as a detractor.

    With probability ``share`` (stream ``episode``, slot 242) the customer is contacted and
    ``effect`` of the gap between satisfaction and expectation closes (the service-recovery
    effect; Smith & Bolton 1998).  Returns ``(new_satisfaction, contacted)``.
    """
    sat = np.float64(satisfaction)  # float64 maths whatever the caller's dtype (both engines)
    exp_ = np.float64(expectation)
    if share <= 0.0 or uniform(key, i, t, 242) >= share:
        return sat, False
    if exp_ > sat:
        sat = sat + effect * (exp_ - sat)
    return sat, True


@njit(cache=True, inline="always")
def acquisition_probability(p_tick, q_tick, referral_fraction):
    """Bass adoption probability of a prospect this tick: (p + q a) dt, capped at 1."""
    return min(1.0, p_tick + q_tick * referral_fraction)


@njit(cache=True)
def csat_answer(episode_satisfaction, z, noise):
    """CSAT answer on 1-5 from an episode's satisfaction in [0, 1]."""
    return min(max(math.floor(1.0 + 4.0 * episode_satisfaction + noise * z + 0.5), 1.0), 5.0)


@njit(cache=True)
def ces_answer(effort, patience, z, noise):
    """CES 2.0 answer on 1-7 ("the company made it easy"; 7 = very easy)."""
    strain = min(effort / patience, 1.0)
    return min(max(math.floor(7.0 - 6.0 * strain + noise * z + 0.5), 1.0), 7.0)


@njit(cache=True, inline="always")
def contract_logit(tenure_ticks, contract_ticks, ticks_per_month, effect):
    """Churn log-odds shift from a contract: ``effect`` inside a term, 0 in its last month."""
    if contract_ticks <= 0.0:
        return 0.0
    into_term = tenure_ticks - contract_ticks * math.floor(tenure_ticks / contract_ticks)
    if into_term < contract_ticks - ticks_per_month:
        return effect
    return 0.0


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


@njit(cache=True)
def _pick(u, weights_total, cand, lo, hi, tp, seg_pref, s, only_open):
    """Pick a candidate touchpoint by channel preference x existence (or x availability).

    ``only_open`` weighs by today's availability (outages), otherwise by existence.
    """
    target = u * weights_total
    acc = 0.0
    last = -1
    for k in range(lo, hi):
        j = cand[k]
        w = seg_pref[s, int(tp[j, T_CHANNEL])] * (tp[j, T_OPEN] if only_open
                                                  else tp[j, T_EXISTS])
        if w > 0.0:
            acc += w
            last = j
            if target < acc:
                return j
    return last


@njit(cache=True)
def _escalate(u, j, need_bit, tp, path_ptr, path_to, path_w, path_kind, path_mask):
    """Next touchpoint along ``j``'s open escalation pathways for this need, or -1."""
    tot = 0.0
    for k in range(path_ptr[j], path_ptr[j + 1]):
        if path_kind[k] == 0 and (path_mask[k] & need_bit) != 0:
            tot += path_w[k] * tp[path_to[k], T_OPEN]
    if tot <= 0.0:
        return -1
    target = u * tot
    acc = 0.0
    nxt = -1
    for k in range(path_ptr[j], path_ptr[j + 1]):
        if path_kind[k] == 0 and (path_mask[k] & need_bit) != 0:
            w = path_w[k] * tp[path_to[k], T_OPEN]
            if w > 0.0:
                acc += w
                nxt = path_to[k]
                if target < acc:
                    break
    return nxt


@njit(cache=True)
def walk_episode(key, i, t, need, s, expectation, patience, queue_patience, bonus, need_ptr,
                 need_tp, seg_pref, tp, path_ptr, path_to, path_w, path_kind, path_mask, beh,
                 tpacc):
    """Walk one service episode through the touchpoint graph and return how it went.

    The customer enters at one of the need's entry touchpoints (channel preference x
    availability), may queue (staffed touchpoints: wait drawn from the tick's queue state,
    hanging up when it exceeds an exponential patience), experiences performance
    ``quality + noise - effort_weight * (effort + waiting)`` (minus a penalty if the operating
    partner fails), and is resolved with the touchpoint's probability.  Resolved needs may be
    handed off (e.g. web order -> delivery); unresolved ones escalate along pathways until the
    accumulated effort exceeds the customer's patience, a dead end, or the step limit.

    Parameters are the customer's identity and state plus the model tables described in the
    module docstring; ``bonus`` is a performance gain at every contact (personalisation);
    ``tpacc`` (float64[T, N_TPA + T]) receives per-touchpoint counts and the moves between
    touchpoints (column ``TPA_FLOW + k``: moves to touchpoint ``k``).

    Returns ``(value, mean_performance, effort, outcome, first_contact, escalations, queued)``
    where ``value`` is the peak-end remembered value of the episode's moments.
    """
    loss = beh[B_LOSS]
    alpha = beh[B_ALPHA]
    effort_w = beh[B_EFFORT_W]
    max_steps = int(beh[B_MAX_STEPS])
    lo, hi = need_ptr[need], need_ptr[need + 1]
    total = 0.0
    total_all = 0.0
    for k in range(lo, hi):
        j = need_tp[k]
        w = seg_pref[s, int(tp[j, T_CHANNEL])]
        total_all += w * tp[j, T_EXISTS]
        total += w * tp[j, T_OPEN]
    need_bit = np.int64(1) << np.int64(need)
    # the customer heads for a preferred channel; if it is closed (an outage) they re-route,
    # at extra effort: to another open entry point, else where that touchpoint escalates to
    u_entry, u_reroute = uniform_pair(key, i, t, 0)
    if total_all <= 0.0:  # none of the need's entry points exists
        perf = beh[B_UNRESOLVED]
        v = experience_value(perf - expectation, loss, alpha)
        return v, perf, 0.0, OUT_NO_CHANNEL, False, 0, False
    j = _pick(u_entry, total_all, need_tp, lo, hi, tp, seg_pref, s, False)
    carried_effort = 0.0
    if tp[j, T_OPEN] <= 0.0:
        carried_effort = beh[B_REROUTE_EFFORT]
        if total > 0.0:
            j = _pick(u_reroute, total, need_tp, lo, hi, tp, seg_pref, s, True)
        else:
            j = _escalate(u_reroute, j, need_bit, tp, path_ptr, path_to, path_w, path_kind,
                          path_mask)
            if j < 0:
                perf = beh[B_UNRESOLVED]
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
    for step in range(max_steps):
        slot = 1 + 8 * step
        tpacc[j, TPA_VISITS] += 1.0
        wait = 0.0
        hung_up = False
        if tp[j, T_P_WAIT] > 0.0:
            u_wait, u_len = uniform_pair(key, i, t, slot)
            if u_wait < tp[j, T_P_WAIT]:
                queued = True
                tpacc[j, TPA_QUEUED] += 1.0
                mean_wait = tp[j, T_WAIT_MEAN]
                wait = -mean_wait * math.log(u_len) if mean_wait < np.inf else np.inf
                give_up = -queue_patience * math.log(uniform(key, i, t, slot + 1))
                if wait > give_up:
                    wait = give_up
                    hung_up = True
                    tpacc[j, TPA_QUEUE_ABANDON] += 1.0
                tpacc[j, TPA_WAIT_SUM] += wait
        step_effort = tp[j, T_EFFORT] + wait * beh[B_WAIT_EFFORT] + carried_effort
        carried_effort = 0.0
        effort += step_effort
        failed = False
        if hung_up:
            perf = beh[B_UNRESOLVED] - effort_w * step_effort
        else:
            perf = (tp[j, T_QUALITY] + bonus + tp[j, T_VARIABILITY] * normal(key, i, t, slot + 2)
                    - effort_w * step_effort)
            if tp[j, T_P_FAIL] > 0.0 and uniform(key, i, t, slot + 3) < tp[j, T_P_FAIL]:
                failed = True
                perf -= beh[B_FAIL_PENALTY]
                tpacc[j, TPA_FAILURES] += 1.0
        perf = clip01(perf)
        tpacc[j, TPA_PERF_SUM] += perf
        peak, end, vsum, psum, moments = remember_moment(
            perf, expectation, loss, alpha, peak, vsum, psum, moments)
        if failed:
            outcome = OUT_FAILED
            break
        u_res, u_route = uniform_pair(key, i, t, slot + 4)
        if not hung_up and u_res < tp[j, T_RESOLUTION]:
            tpacc[j, TPA_RESOLVED] += 1.0
            outcome = OUT_RESOLVED
            # hand-off: a resolved need may continue (web order -> delivery)
            nxt = -1
            acc = 0.0
            for k in range(path_ptr[j], path_ptr[j + 1]):
                if path_kind[k] == 1 and (path_mask[k] & need_bit) != 0:
                    to = path_to[k]
                    if tp[to, T_OPEN] > 0.0:
                        acc += path_w[k]
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
        nxt = _escalate(u_route, j, need_bit, tp, path_ptr, path_to, path_w, path_kind,
                        path_mask)
        if nxt < 0:
            outcome = OUT_DEAD_END
            break
        escalations += 1
        if tp[nxt, T_CHANNEL] != tp[j, T_CHANNEL]:
            # switching channel: repeating oneself, less so with omnichannel integration
            carried_effort = beh[B_REPEAT_EFFORT] * (1.0 - beh[B_OMNICHANNEL])
        tpacc[j, TPA_FLOW + nxt] += 1.0
        j = nxt
    tpacc[j, TPA_ENDED_HERE] += 1.0
    if outcome != OUT_RESOLVED:
        tpacc[j, TPA_ENDED_BAD] += 1.0
        # the unmet need is itself a (bad) final moment
        peak, end, vsum, psum, moments = remember_moment(
            beh[B_UNRESOLVED], expectation, loss, alpha, peak, vsum, psum, moments)
    value = peak_end(peak, end, vsum / moments, beh[B_PEAK], beh[B_END])
    first_contact = outcome == OUT_RESOLVED and escalations == 0
    return value, psum / moments, effort, outcome, first_contact, escalations, queued


@njit(cache=True, inline="always")
def draw_need(u_need, p_need, need_cum, s):
    """Need type this tick (index into the need list) or -1; reuses ``u_need`` for the type.

    ``need_cum`` is the float64[S, K] table of cumulative need-type shares; ``s`` the segment.
    """
    if u_need >= p_need:
        return -1
    r = u_need / p_need
    n = need_cum.shape[1]
    for k in range(n):
        if r < need_cum[s, k]:
            return k
    return n - 1


@njit(cache=True)
def start_customer(key_start, key_frailty, i, t, s, seg, beh, satisfaction, expectation,
                   churn_logit, join_tick, tenure_months):
    """Initialise agent ``i`` as a customer of segment ``s`` who joined at ``t``.

    Satisfaction and expectation start near the segment's values.  The individual churn
    propensity is Beta-distributed around the segment's base rate when heterogeneity is on
    (shifted-beta-geometric, Fader & Hardie 2007); for a customer who has already stayed
    ``tenure_months`` it is drawn from the survivors' Beta(a, b + tenure) instead.
    """
    spread = beh[B_SPREAD]
    z1 = normal(key_start, i, t, 0)
    z2 = normal(key_start, i, t, 1)
    satisfaction[i] = clip01(seg[s, S_INIT_SAT] + spread * z1)
    expectation[i] = clip01(seg[s, S_INIT_EXP] + spread * z2)
    join_tick[i] = t - int(round(tenure_months * beh[B_TICKS_PER_MONTH]))
    kappa = seg[s, S_CONCENTRATION]
    if kappa > 0.0:
        h0 = seg[s, S_BASE_CHURN_TICK]  # monthly base churn
        a = max(h0 * kappa, 1e-6)
        b = max((1.0 - h0) * kappa, 1e-6) + tenure_months
        theta_month = beta(key_frailty, i, t, 0, a, b)
    else:
        theta_month = seg[s, S_BASE_CHURN_TICK]
    churn_logit[i] = logit(per_tick_probability(theta_month, beh[B_TICKS_PER_MONTH]))


# =============================================================================================
# one customer's tick (numba engine) and the parallel kernel
# =============================================================================================


@njit(cache=True, inline="always")
def advance_customer(i, t, keys, status, segment, satisfaction, expectation, churn_logit,
                     exposure, join_tick, referrer_nbrs, nps_bias, pending, events, indptr,
                     seg, seg_need_cum, seg_pref, tp, need_ptr, need_tp, path_ptr, path_to,
                     path_w, path_kind, path_mask, beh, acc, tpacc, segacc):
    """Advance customer ``i`` by one tick (the numba engine's per-customer step).

    The same sequence, written in plain Python over the same scalar functions, is
    :meth:`cxsim.agents.Customer.step`; the two must agree exactly.
    """
    st = status[i]
    s = segment[i]
    ev = 0
    cat = 0  # NPS category of the agent's satisfaction at the end of the tick (customers)
    promoters_only = beh[B_REFERRAL_PROMOTERS] > 0.0
    # state read once into locals: every store to an accumulator could alias the state arrays
    # for the compiler, which would otherwise reload them after each one
    expo = np.float32(exposure[i] * beh[B_EXPOSURE_DECAY])
    exposure[i] = expo
    sat = satisfaction[i]
    if st == PROSPECT or st == CHURNED:
        if st == PROSPECT:
            if beh[B_FULL_MIXING] > 0.0:
                frac = beh[B_FULL_REFERRAL_FRAC]
            else:
                deg = indptr[i + 1] - indptr[i]
                frac = referrer_nbrs[i] / deg if deg > 0 else 0.0
            p_join = acquisition_probability(beh[B_P_TICK], beh[B_Q_TICK], frac)
            joined = uniform(keys[K_ACQUIRE], i, t, 0) < p_join
        else:
            joined = (beh[B_WIN_BACK_TICK] > 0.0
                      and uniform(keys[K_ACQUIRE], i, t, 1) < beh[B_WIN_BACK_TICK])
        if joined:
            start_customer(keys[K_START], keys[K_FRAILTY], i, t, s, seg, beh, satisfaction,
                           expectation, churn_logit, join_tick, 0.0)
            status[i] = CUSTOMER
            exposure[i] = 0.0
            ev |= EV_JOIN
            if st == PROSPECT:
                acc[ACC_NEW] += 1.0
                segacc[s, SGA_NEW] += 1.0
            else:
                acc[ACC_WON_BACK] += 1.0
            sat = satisfaction[i]
            cat = nps_category(sat, nps_bias[i])
            if not promoters_only or cat == 1:  # is_referrer(CUSTOMER, ...)
                ev |= EV_REF_UP
    else:
        acc[ACC_ACTIVE_START] += 1.0
        if beh[B_WOM_RATE] > 0.0 and beh[B_WOM_TARGET] < expectation[i]:
            expectation[i] = expectation[i] + beh[B_WOM_RATE] * (beh[B_WOM_TARGET]
                                                                  - expectation[i])
        cat = nps_category(sat, nps_bias[i])
        ref0 = not promoters_only or cat == 1  # is_referrer(CUSTOMER, ...)
        u_need, u_churn = uniform_pair(keys[K_DAILY], i, t, 0)
        need = -1
        if pending[i] > 0:
            need = pending[i] - 1
            pending[i] = 0
            acc[ACC_FAILURE_DEMAND] += 1.0
        else:
            need = draw_need(u_need, seg[s, S_P_NEED], seg_need_cum, s)
        if need >= 0:
            live_episode(i, t, keys[K_EPISODE], need, s, satisfaction, expectation, nps_bias,
                         pending, seg, seg_pref, tp, need_ptr, need_tp, path_ptr, path_to,
                         path_w, path_kind, path_mask, beh, acc, tpacc)
            if seg[s, S_RECOVERY] > 0.0 and nps_category(satisfaction[i], nps_bias[i]) == -1:
                sat_new, contacted = service_recovery(keys[K_EPISODE], i, t, satisfaction[i],
                                                      expectation[i], seg[s, S_RECOVERY],
                                                      beh[B_RECOVERY_EFFECT])
                if contacted:
                    satisfaction[i] = sat_new
                    acc[ACC_RECOVERIES] += 1.0
            sat = satisfaction[i]  # the episode moved it
            cat = nps_category(sat, nps_bias[i])
            if cat == -1:
                ev |= EV_WOM
                acc[ACC_WOM_N] += 1.0
                acc[ACC_WOM_SAT_SUM] += sat
        tenure = t - join_tick[i]
        if churns(u_churn, churn_logit[i], sat, beh[B_SAT_REF], beh[B_SAT_EFFECT],
                  tenure * beh[B_YEARS_PER_TICK], beh[B_TENURE_EFFECT],
                  seg[s, S_EXTRA_LOGIT]
                  + contract_logit(tenure, seg[s, S_CONTRACT_TICKS], beh[B_TICKS_PER_MONTH],
                                   beh[B_CONTRACT_EFFECT]),
                  expo + beh[B_GLOBAL_EXPOSURE], beh[B_LOG_CONTAGION]):
            status[i] = CHURNED
            pending[i] = 0
            ev |= EV_CHURN
            acc[ACC_CHURNED] += 1.0
            segacc[s, SGA_CHURNED] += 1.0
        ref1 = status[i] == CUSTOMER and (not promoters_only or cat == 1)  # is_referrer
        if ref1 and not ref0:
            ev |= EV_REF_UP
        elif ref0 and not ref1:
            ev |= EV_REF_DOWN
    census(i, t, keys[K_SURVEY], status[i], s, sat, cat, join_tick[i],
           promoters_only, beh, acc, segacc)
    events[i] = ev
    if ev != 0:
        acc[ACC_EVENTS] += 1.0


@njit(cache=True)
def live_episode(i, t, key, need, s, satisfaction, expectation, nps_bias, pending, seg,
                 seg_pref, tp, need_ptr, need_tp, path_ptr, path_to, path_w, path_kind,
                 path_mask, beh, acc, tpacc):
    """Customer ``i`` lives one episode: walk it, remember it, answer the transaction survey."""
    patience = seg[s, S_PATIENCE]
    value, mean_perf, effort, outcome, first, escalations, queued = walk_episode(
        key, i, t, need, s, expectation[i], patience, seg[s, S_QUEUE_PATIENCE],
        seg[s, S_PERF_BONUS], need_ptr, need_tp, seg_pref, tp, path_ptr, path_to, path_w,
        path_kind, path_mask, beh, tpacc)
    episode_sat = clip01(expectation[i] + value)
    satisfaction[i] = update_satisfaction(satisfaction[i], episode_sat, beh[B_MEMORY_W])
    expectation[i] = expectation[i] + beh[B_ADAPT] * (mean_perf - expectation[i])
    z1 = normal(key, i, t, _SLOT_SCORES)
    z2 = normal(key, i, t, _SLOT_SCORES + 1)
    acc[ACC_EPISODES] += 1.0
    acc[ACC_CSAT_SUM] += csat_answer(episode_sat, z1, beh[B_SURVEY_NOISE])
    acc[ACC_CES_SUM] += ces_answer(effort, patience, z2, beh[B_SURVEY_NOISE])
    acc[ACC_EFFORT_SUM] += effort
    acc[ACC_ESCALATIONS] += escalations
    if outcome == OUT_RESOLVED:
        acc[ACC_RESOLVED] += 1.0
        if first:
            acc[ACC_FCR] += 1.0
    else:
        acc[ACC_ABANDONED] += 1.0
        if outcome == OUT_FAILED and beh[B_FAILURE_NEED] >= 0.0:
            # failure demand: the partner's failure becomes a support need next tick
            pending[i] = 1 + int(beh[B_FAILURE_NEED])
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
    rate = beh[B_NPS_SAMPLE]
    if rate >= 1.0 or uniform(key_survey, i, t, 0) < rate:
        acc[ACC_SURVEY_N] += 1.0
        if cat == 1:
            acc[ACC_SURVEY_PROM] += 1.0
        elif cat == -1:
            acc[ACC_SURVEY_DET] += 1.0


@njit(parallel=True, cache=True)
def advance_customers(t, chunk, keys, status, segment, satisfaction, expectation, churn_logit,
                      exposure, join_tick, referrer_nbrs, nps_bias, pending, events, indptr,
                      seg, seg_need_cum, seg_pref, tp, need_ptr, need_tp, path_ptr, path_to,
                      path_w, path_kind, path_mask, beh, acc, tpacc, segacc):
    """Advance every customer by one tick, in parallel over fixed-size chunks.

    Shapes: customer arrays ``[N]``; ``acc float64[C, N_ACC]``, ``tpacc float64[C, T, N_TPA + T]``,
    ``segacc float64[C, S, N_SGA]`` with ``C = ceil(N / chunk)``, zeroed here.  Customers only
    read their own state and the previous tick's neighbour counts, so the result does not
    depend on scheduling; accumulators are per chunk and summed by the caller in order.
    """
    n = status.shape[0]
    n_chunks = acc.shape[0]
    for c in prange(n_chunks):
        acc[c, :] = 0.0
        tpacc[c, :, :] = 0.0
        segacc[c, :, :] = 0.0
        lo = c * chunk
        hi = min(n, lo + chunk)
        acc_c = acc[c]
        tpacc_c = tpacc[c]
        segacc_c = segacc[c]
        for i in range(lo, hi):
            advance_customer(i, t, keys, status, segment, satisfaction, expectation,
                             churn_logit, exposure, join_tick, referrer_nbrs, nps_bias, pending,
                             events, indptr, seg, seg_need_cum, seg_pref, tp, need_ptr, need_tp,
                             path_ptr, path_to, path_w, path_kind, path_mask, beh, acc_c,
                             tpacc_c, segacc_c)


@njit(parallel=True, cache=True)
def _senders(chunk, chunk_events, events):
    """Ids of the agents with events this tick, ascending.

    ``chunk_events[c]`` is the number of agents with events in chunk ``c`` (the kernel's
    ``ACC_EVENTS``), so one pass fills each chunk's slice of the list in parallel.  A count
    that were too small would drop senders, never write out of bounds.
    """
    n = events.shape[0]
    n_chunks = chunk_events.shape[0]
    start = np.zeros(n_chunks + 1, np.int64)
    for c in range(n_chunks):
        start[c + 1] = start[c] + np.int64(chunk_events[c])
    out = np.empty(start[n_chunks], np.int64)
    for c in prange(n_chunks):
        q = start[c]
        end = start[c + 1]
        if end > q:
            for i in range(c * chunk, min(n, (c + 1) * chunk)):
                if events[i] != 0 and q < end:
                    out[q] = i
                    q += 1
    return out


@intrinsic
def prefetch(typingctx, arr, idx):
    """Ask the CPU to start loading ``arr[idx]`` into cache (``llvm.prefetch``: a read, kept).

    A hint only: it never faults and never changes a result.  It lets a latency-bound loop
    over scattered agents have many cache misses in flight instead of one at a time.
    """
    if not isinstance(arr, types.Array) or not isinstance(idx, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]],
                                       wraparound=False)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
            "llvm.prefetch.p0i8")
        # (address, 0 = read, 3 = keep in all cache levels, 1 = data cache)
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(arr, idx), codegen


#: how many senders ahead each prefetch stage works (measured at 10^6 agents: 4 to 8 is best)
_AHEAD = 4


@njit(parallel=True, cache=True)
def spread_social_effects(chunk, chunk_events, events, indptr, indices, satisfaction,
                          expectation, exposure, referrer_nbrs, wom_strength, parts):
    """Pass this tick's events to each agent's contacts.

    * a contact who starts/stops referring changes the referral count prospects read;
    * a churned contact adds one unit of churn exposure (contagion);
    * a detractor's episode pulls contacts' expectations toward its satisfaction (if lower).

    The expectation pulls do not commute, so every receiver takes them in sender id order.
    In parallel without changing that order: the receivers are split into ``parts`` id ranges
    (one per thread is best), and each range walks all senders in id order, applying only the
    updates that land in it; results do not depend on ``parts``.  The walk is bound by memory
    latency (senders are scattered), so it prefetches in three stages, ``_AHEAD`` senders
    apart: a sender's row pointer and state, then its contact list, then its contacts.
    ``chunk_events[c]`` counts the agents with events in chunk ``c``.  Shapes: ``events
    uint8[N]``, CSR ``indptr int64[N+1]``, ``indices int32[E]``, ``chunk_events float64[C]``.
    """
    n = events.shape[0]
    senders = _senders(chunk, chunk_events, events)
    ns = senders.shape[0]
    width = (n + parts - 1) // parts
    for p in prange(parts):
        lo = p * width
        hi = min(n, lo + width)
        for q in range(ns):
            if q + 3 * _AHEAD < ns:
                f = senders[q + 3 * _AHEAD]
                prefetch(indptr, f)
                prefetch(events, f)
                prefetch(satisfaction, f)
            if q + 2 * _AHEAD < ns:
                f = senders[q + 2 * _AHEAD]
                prefetch(indices, indptr[f])
                prefetch(indices, indptr[f + 1] - 1)
            if q + _AHEAD < ns:
                f = senders[q + _AHEAD]
                ev = events[f]
                for k in range(indptr[f], indptr[f + 1]):
                    j = indices[k]
                    if lo <= j < hi:
                        if ev & EV_WOM:
                            prefetch(expectation, j)
                        if ev & EV_CHURN:
                            prefetch(exposure, j)
                        if ev & (EV_REF_UP | EV_REF_DOWN):
                            prefetch(referrer_nbrs, j)
            i = senders[q]
            ev = events[i]
            d = 1 if ev & EV_REF_UP else (-1 if ev & EV_REF_DOWN else 0)
            churn = (ev & EV_CHURN) != 0
            wom = (ev & EV_WOM) != 0
            sender = satisfaction[i]
            for k in range(indptr[i], indptr[i + 1]):
                j = indices[k]
                if j < lo or j >= hi:
                    continue
                if d != 0:
                    referrer_nbrs[j] += d
                if churn:
                    exposure[j] += 1.0
                if wom and sender < expectation[j]:
                    expectation[j] = expectation[j] + wom_strength * (sender - expectation[j])


@njit(cache=True)
def sum_chunks(x):
    """Sum ``x float64[C, M]`` over chunks strictly in chunk order (reproducible rounding)."""
    out = np.zeros(x.shape[1])
    for c in range(x.shape[0]):
        for k in range(x.shape[1]):
            out[k] += x[c, k]
    return out
