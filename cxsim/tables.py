"""The kernels' parameters, built once from a validated scenario.

Rates in the scenario are per day, per month or per year; here they become per tick, so the
kernels never see the tick length.  Groups are the named tuples of :mod:`cxsim.kernels.inputs`.
"""

from __future__ import annotations

import math

import numpy as np

from .intraday import n_intervals
from .kernels import Behaviour, Journeys, Segments, Touchpoints, memory_weight
from .kernels.customer import logistic, logit, per_tick_probability
from .scenario import MONTH_DAYS, YEAR_DAYS, Scenario


def behaviour(sc: Scenario) -> Behaviour:
    """Customer behaviour parameters of a run, per tick."""
    b = sc.behaviour
    dt_days = sc.simulation.tick_days
    years = dt_days / YEAR_DAYS
    needs = sc.need_types
    return Behaviour(
        loss_aversion=float(b.loss_aversion), value_exponent=float(b.value_exponent),
        peak_weight=float(b.peak_weight), end_weight=float(b.end_weight),
        memory_weight=float(memory_weight(b.memory_half_life)),
        adaptation=float(b.expectation_adaptation), effort_weight=float(b.effort_weight),
        wait_effort=float(b.wait_effort_per_minute), failure_penalty=float(b.failure_penalty),
        unresolved=float(b.unresolved_performance), max_steps=int(b.max_steps),
        sat_effect=float(b.satisfaction_effect), sat_reference=float(b.satisfaction_reference),
        tenure_effect=float(b.tenure_effect), log_contagion=math.log(b.contagion),
        **exposure_decay(dt_days, b.contagion_half_life),
        survey_noise=float(b.survey_noise),
        referral_promoters=sc.market.referral_from == "promoters",
        p_tick=sc.market.p * years, q_tick=sc.market.q * years,
        bass_e=math.exp(-(sc.market.p * years + sc.market.q * years)),
        bass_1me=-math.expm1(-(sc.market.p * years + sc.market.q * years)),
        win_back_tick=(float(per_tick_probability(sc.market.win_back, 1.0 / years))
                       if sc.market.win_back > 0 else 0.0),
        win_back_window_ticks=float(sc.market.win_back_months * MONTH_DAYS / dt_days),
        years_per_tick=years, full_mixing=sc.market.network == "full",
        nps_sample=float(sc.survey.nps_sample_rate * dt_days),
        initial_spread=float(b.initial_spread),
        contract_effect=float(b.contract_effect),
        renewal_window_ticks=float(b.renewal_window_months * MONTH_DAYS / dt_days),
        renewal_effect=float(b.renewal_effect), ticks_per_month=MONTH_DAYS / dt_days,
        failure_need=needs.index(b.failure_need) if b.failure_need in needs else -1,
        repeat_effort=float(b.repeat_effort), reroute_effort=float(b.reroute_effort),
        recovery_effect=float(b.recovery_effect),
        tenure_cap_months=float(sc.market.initial_tenure_cap_months),
    )


def exposure_decay(dt_days: float, half_life_days: float) -> dict[str, float]:
    """How churn exposure decays over one tick: ``exposure_decay``, ``_mean`` and ``_var``.

    Exposure decays continuously, X(s) = X e^{-lambda s} with lambda = ln 2 / half-life; over a
    tick of kappa = lambda dt the share left u = e^{-lambda s} has mean (1 - e^{-kappa}) / kappa
    and variance (1 - e^{-2 kappa}) / (2 kappa) - mean^2 (kappa^2 / 12 (1 - kappa) below
    kappa = 1e-3, where the difference would cancel).  A subnormal half-life gives kappa = inf:
    nothing is left and the mean is 0.
    """
    kappa = math.log(2.0) * (dt_days / half_life_days)
    decay = math.exp(-kappa)
    if kappa == math.inf:
        return {"exposure_decay": 0.0, "exposure_mean": 0.0, "exposure_var": 0.0}
    mean = -math.expm1(-kappa) / kappa
    if kappa < 1e-3:
        var = kappa * kappa / 12.0 * (1.0 - kappa)
    else:
        var = max(-math.expm1(-2.0 * kappa) / (2.0 * kappa) - mean * mean, 0.0)
    return {"exposure_decay": decay, "exposure_mean": mean, "exposure_var": var}


def base_churn_month(sc: Scenario) -> np.ndarray:
    """Each segment's monthly base churn at its own switching cost.

    A segment's ``base_churn`` is quoted at ``behaviour.switching_cost_reference``; its own
    ``switching_cost`` shifts the log-odds by ``switching_cost_effect`` per unit above the
    reference (a higher cost of leaving, fewer leave).  Heterogeneous propensities are then
    drawn around this rate.
    """
    b = sc.behaviour
    out = np.empty(len(sc.segments))
    for s, sp in enumerate(sc.segments.values()):
        shift = b.switching_cost_effect * (sp.switching_cost - b.switching_cost_reference)
        out[s] = sp.base_churn if shift == 0.0 else logistic(logit(sp.base_churn) + shift)
    return out


def segments(sc: Scenario) -> Segments:
    """Per-segment parameters (float64[S]; need shares [S, K], channel preferences [S, C])."""
    dt_days = sc.simulation.tick_days
    ticks_per_month = MONTH_DAYS / dt_days
    needs = sc.need_types
    channels = sc.channels
    segs = list(sc.segments.values())
    n = len(segs)
    need_cum = np.zeros((n, len(needs)))
    pref = np.ones((n, len(channels)))
    p_need = np.zeros(n)
    need_mean = np.zeros(n)
    for s, sp in enumerate(segs):
        rates = np.array([sp.need_rates.get(k, 0.0) for k in needs])
        total = rates.sum()
        p_need[s] = 1.0 - math.exp(-total * dt_days)
        need_mean[s] = total * dt_days
        need_cum[s] = np.cumsum(rates) / total if total > 0 else 1.0
        for c, ch in enumerate(channels):
            pref[s, c] = sp.channel_preference.get(ch, 1.0)

    def col(attr: str, scale: float = 1.0) -> np.ndarray:
        return np.array([getattr(sp, attr) * scale for sp in segs], dtype=np.float64)

    return Segments(
        p_need=p_need, need_mean=need_mean, patience=col("patience"),
        queue_patience=col("queue_patience"),
        extra_logit=np.zeros(n), contract_ticks=col("contract_months", ticks_per_month),
        initial_satisfaction=col("initial_satisfaction"),
        initial_expectation=col("initial_expectation"), base_churn_month=base_churn_month(sc),
        concentration=col("churn_concentration"), perf_bonus=np.zeros(n),
        recovery_share=np.zeros(n), need_cum=need_cum, channel_pref=pref)


def touchpoints(sc: Scenario) -> Touchpoints:
    """Per-touchpoint parameters as declared (queues, partners and outages come per tick)."""
    tps = list(sc.touchpoints.values())
    n = len(tps)
    enabled = np.array([1.0 if t.enabled else 0.0 for t in tps])
    k = n_intervals(sc)  # intraday queues: intervals of the longest arrival profile
    return Touchpoints(
        channel=np.array([sc.channels.index(t.channel) for t in tps], dtype=np.int64),
        quality=np.array([t.quality for t in tps], dtype=np.float64),
        variability=np.array([t.variability for t in tps], dtype=np.float64),
        effort=np.array([t.effort for t in tps], dtype=np.float64),
        resolution=np.array([t.resolution for t in tps], dtype=np.float64),
        open=enabled.copy(), down_from=np.zeros(n), down_to=np.zeros(n), exists=enabled,
        p_wait=np.zeros(n), wait_mean=np.zeros(n), p_fail=np.zeros(n),
        intervals=np.concatenate([np.ones((1, n, k)), np.zeros((2, n, k))]))


def journeys(sc: Scenario, tp_index: dict[str, int]) -> Journeys:
    """The touchpoint graph: each need's entry points, and pathways sorted by source (CSR)."""
    needs = sc.need_types
    need_ptr = np.zeros(len(needs) + 1, np.int64)
    need_tp: list[int] = []
    for k, name in enumerate(needs):
        need_tp.extend(tp_index[x] for x in sc.needs[name].entry)
        need_ptr[k + 1] = len(need_tp)
    order = sorted(range(len(sc.pathways)), key=lambda e: tp_index[sc.pathways[e].from_])
    path_ptr = np.zeros(len(sc.touchpoints) + 1, np.int64)
    path_to, path_w, path_kind, path_mask = [], [], [], []
    all_needs = (1 << len(needs)) - 1
    for e in order:
        pw = sc.pathways[e]
        path_ptr[tp_index[pw.from_] + 1] += 1
        path_to.append(tp_index[pw.to])
        path_w.append(pw.weight)
        path_kind.append(1 if pw.kind == "handoff" else 0)
        path_mask.append(sum(1 << needs.index(x) for x in pw.needs) if pw.needs else all_needs)
    return Journeys(
        need_ptr=need_ptr, need_tp=np.array(need_tp, np.int64), path_ptr=np.cumsum(path_ptr),
        path_to=np.array(path_to, np.int64), path_w=np.array(path_w, np.float64),
        path_kind=np.array(path_kind, np.int64), path_mask=np.array(path_mask, np.int64))


def _survival(sc: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """Each segment's survival S and survived exposure M at tenures 0..M months (see below)."""
    b_ = sc.behaviour
    months = max(1, int(math.ceil(sc.market.initial_tenure_cap_months)))
    h0s = base_churn_month(sc)
    surv = np.zeros((len(sc.segments), months + 1))
    expo = np.zeros((len(sc.segments), months + 1))
    k = np.arange(months)
    for s, sp in enumerate(sc.segments.values()):
        rel = np.full(months, math.exp(b_.satisfaction_effect
                                       * (sp.initial_satisfaction - b_.satisfaction_reference)))
        rel *= np.exp(b_.tenure_effect * np.log1p((k + 0.5) / 12.0))
        if sp.contract_months > 0:
            into = np.mod(k + 0.5, sp.contract_months)
            window = into >= sp.contract_months - b_.renewal_window_months
            rel *= np.where(window, math.exp(b_.renewal_effect), math.exp(b_.contract_effect))
        m_cum = np.concatenate([[0.0], np.cumsum(rel)])
        h0, kappa = float(h0s[s]), sp.churn_concentration
        if kappa > 0.0:
            a, b = max(h0 * kappa, 1e-6), max((1.0 - h0) * kappa, 1e-6)
            log_s = np.array([math.lgamma(b + m) - math.lgamma(a + b + m) for m in m_cum])
            log_s -= math.lgamma(b) - math.lgamma(a + b)
        else:
            log_s = m_cum * math.log1p(-min(h0, 1.0 - 1e-12))
        surv[s] = np.exp(log_s)
        expo[s] = m_cum
    return surv, expo


def stationary_tenure(sc: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """Each segment's stationary tenure distribution of the customer base, on whole months.

    Returns ``cdf`` and ``expo``, ``float64[S, M + 1]`` over tenures 0..M months (M =
    ``market.initial_tenure_cap_months``): the cumulative share of the base with less tenure,
    and the survivor exposure, the months at the base rate a customer of that tenure has
    survived.  With a steady inflow of new customers, the base's tenure density is
    proportional to the survival of a new customer, S(τ) (a renewal argument), and a survivor's
    propensity follows Beta(a, b + M(τ)).  Month k's relative hazard is the contract's (in-term
    ``contract_effect``, ``renewal_effect`` in the window), the tenure effect and the
    satisfaction effect at the segment's ``initial_satisfaction``, applied to the odds
    (accurate for small monthly churn); M(τ) sums them, and S(τ) = B(a, b + M) / B(a, b) under
    shifted-beta-geometric heterogeneity (Fader & Hardie 2007), (1 - h0)^M without.
    Contagion, word of mouth and interventions are left out (at their baseline, small).
    """
    surv, expo = _survival(sc)
    mass = 0.5 * (surv[:, :-1] + surv[:, 1:])
    total = mass.sum(axis=1, keepdims=True)
    cdf = np.zeros_like(surv)
    cdf[:, 1:] = np.cumsum(mass, axis=1) / np.where(total > 0, total, 1.0)
    cdf[:, -1] = 1.0
    return cdf, expo


def _win_back_month(sc: Scenario) -> float:
    """The win-back offers' hazard per month (``market.win_back`` is a yearly probability)."""
    w = float(sc.market.win_back)
    return -math.log1p(-min(w, 1.0 - 1e-12)) / 12.0 if w > 0 else 0.0


def _pool_months(rate: float, window: float) -> float:
    """Mean months a leaver stays in the win-back pool: min(Exp(rate), window)."""
    x = rate * window
    return window if x < 1e-12 else -math.expm1(-x) / rate


def _stationary_join(sc: Scenario, agents: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """Each segment's stationary customers (real-valued), the join rate a, and T_s (months)."""
    surv, _ = _survival(sc)
    t_s = 0.5 * (surv[:, :-1] + surv[:, 1:]).sum(axis=1)
    n_s = np.asarray(agents, dtype=float)
    k = min(float(sc.market.initial_customers), float(n_s.sum()))
    w, window = _win_back_month(sc), float(sc.market.win_back_months)

    def want(a: float) -> np.ndarray:
        wd = w * _pool_months(a + w, window)
        return n_s * a * t_s / (1.0 - wd + a * t_s)

    lo, hi = 0.0, 1.0
    while want(hi).sum() < k and hi < 1e12:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if want(mid).sum() < k else (lo, mid)
    return want(hi), hi, t_s


def _largest_remainder(want: np.ndarray, total: int, cap: np.ndarray) -> np.ndarray:
    """Whole counts near ``want`` adding up to ``total`` (none above ``cap``)."""
    counts = np.minimum(np.floor(want), cap).astype(np.int64)
    short = int(total) - int(counts.sum())
    order = np.argsort(-(want - counts), kind="stable")
    for s in order:
        if short <= 0:
            break
        if counts[s] < cap[s]:
            counts[s] += 1
            short -= 1
    return counts


def stationary_customers(sc: Scenario, agents: np.ndarray) -> np.ndarray:
    """How many of each segment's ``agents`` are customers in the stationary market.

    A new customer of segment s stays T_s months on average (the integral of its survival,
    :func:`stationary_tenure`) and leaves at the rate A_s / T_s.  Every non-customer joins at
    the same rate a (Bass), and a leaver also returns through win-back offers at the rate w
    while in the win-back window W (``market.win_back_months``), where it spends
    D = (1 - e^{-(a + w) W}) / (a + w) months on average.  Joins balance leavers:
    a (N_s - A_s) + w D A_s / T_s = A_s / T_s, i.e. A_s = N_s a T_s / (1 - w D + a T_s), so
    segments whose customers stay longer hold a larger share of the base.  a is solved so
    that the segments' customers add up to ``market.initial_customers``; counts are rounded
    by largest remainder (their sum is exact).
    """
    want, _, _ = _stationary_join(sc, agents)
    n_s = np.asarray(agents, dtype=np.int64)
    k = min(int(sc.market.initial_customers), int(n_s.sum()))
    return _largest_remainder(want, k, n_s)


def stationary_lost(sc: Scenario, agents: np.ndarray,
                    customers: np.ndarray) -> tuple[np.ndarray, float]:
    """Each segment's former customers inside the win-back window in the stationary market.

    Leavers flow at A_s / T_s a month and stay in the pool D months on average
    (:func:`stationary_customers`), so the pool holds A_s D / T_s of them (at most the
    segment's non-customers), rounded by largest remainder.  Also returns the rate a + w per
    month at which the pool empties: the months since a member left are Exp(a + w)
    truncated at the window.
    """
    _, a, t_s = _stationary_join(sc, agents)
    w, window = _win_back_month(sc), float(sc.market.win_back_months)
    rate = a + w
    c = np.asarray(customers, dtype=float)
    want = c * _pool_months(rate, window) / np.where(t_s > 0, t_s, np.inf)
    room = np.asarray(agents, dtype=np.int64) - np.asarray(customers, dtype=np.int64)
    want = np.minimum(want, room)
    return _largest_remainder(want, int(round(want.sum())), room), rate
