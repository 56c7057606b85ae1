"""Tests of the scalar per-customer maths in :mod:`cxsim.kernels`.

Every function here is an ``@njit`` scalar that both engines call; the tests call them from
Python and compare against closed forms written out independently.
"""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
from conftest import minimal_scenario
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

import cxsim
from cxsim import kernels as K
from cxsim import tables
from cxsim.rng import STREAM_INDEX, stream_keys, uniform, uniform_pair

HYP = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
unit = st.floats(0.0, 1.0, allow_nan=False)


# --------------------------------------------------------------------------------------------
# experience value, peak-end, memory
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("d", [0.0, 0.01, 0.2, 0.5, 1.0])
def test_experience_value_gains_are_power(d):
    assert K.experience_value(d, 2.25, 0.88) == pytest.approx(d**0.88, abs=1e-15)


@pytest.mark.parametrize("d", [0.01, 0.2, 0.5, 1.0])
def test_experience_value_losses_loom_larger(d):
    loss = K.experience_value(-d, 2.25, 0.88)
    assert loss == pytest.approx(-2.25 * d**0.88)
    # loss aversion: a loss hurts lambda times as much as the same gain pleases
    assert -loss == pytest.approx(2.25 * K.experience_value(d, 2.25, 0.88))


def test_experience_value_zero_and_linear_case():
    assert K.experience_value(0.0, 2.25, 0.88) == 0.0
    # alpha = 1 and lambda = 1: the identity
    for d in (-0.7, -0.1, 0.0, 0.3, 0.9):
        assert K.experience_value(d, 1.0, 1.0) == pytest.approx(d)


@HYP
@given(d1=st.floats(-1, 1), d2=st.floats(-1, 1), lam=st.floats(1, 5), alpha=st.floats(0.05, 1))
def test_experience_value_is_increasing(d1, d2, lam, alpha):
    lo, hi = min(d1, d2), max(d1, d2)
    assert K.experience_value(lo, lam, alpha) <= K.experience_value(hi, lam, alpha)


def test_peak_end_weights():
    assert K.peak_end(1.0, 0.0, 0.0, 0.5, 0.5) == pytest.approx(0.5)
    assert K.peak_end(-0.4, 0.2, 0.1, 0.5, 0.5) == pytest.approx(-0.1)
    # with no peak or end weight it is the mean
    assert K.peak_end(0.9, -0.3, 0.25, 0.0, 0.0) == pytest.approx(0.25)
    # general affine combination
    assert K.peak_end(0.6, 0.2, -0.1, 0.3, 0.2) == pytest.approx(
        0.3 * 0.6 + 0.2 * 0.2 + 0.5 * -0.1)


@HYP
@given(p=st.floats(-1, 1), e=st.floats(-1, 1), m=st.floats(-1, 1), pw=unit, ew=unit)
def test_peak_end_is_within_its_moments(p, e, m, pw, ew):
    if pw + ew > 1:
        pw, ew = pw / (pw + ew), ew / (pw + ew)
    v = K.peak_end(p, e, m, pw, ew)
    assert min(p, e, m) - 1e-12 <= v <= max(p, e, m) + 1e-12


@pytest.mark.parametrize("h", [0.5, 1.0, 3.0, 10.0, 100.0])
def test_memory_weight_half_life(h):
    w = K.memory_weight(h)
    assert w == pytest.approx(1.0 - 2.0 ** (-1.0 / h))
    assert 0.0 < w < 1.0
    # after h episodes an old experience weighs half
    assert (1.0 - w) ** h == pytest.approx(0.5)


def test_memory_weight_decreases_with_half_life():
    ws = [K.memory_weight(h) for h in (0.5, 1, 2, 5, 20)]
    assert all(a > b for a, b in zip(ws, ws[1:], strict=False))
    assert K.memory_weight(1.0) == pytest.approx(0.5)


def test_update_satisfaction():
    assert K.update_satisfaction(0.5, 1.0, 0.25) == pytest.approx(0.625)
    assert K.update_satisfaction(0.8, 0.2, 0.5) == pytest.approx(0.5)
    assert K.update_satisfaction(0.3, 0.9, 0.0) == pytest.approx(0.3)
    assert K.update_satisfaction(0.3, 0.9, 1.0) == pytest.approx(0.9)


def test_update_satisfaction_converges_to_repeated_experience():
    s = 0.2
    w = K.memory_weight(3.0)
    for _ in range(3):
        s = K.update_satisfaction(s, 1.0, w)
    # three episodes = one half life: half of the gap is closed
    assert s == pytest.approx(0.6)


@HYP
@given(s=unit, e=unit, w=unit)
def test_update_satisfaction_stays_in_unit_interval(s, e, w):
    v = K.update_satisfaction(s, e, w)
    assert 0.0 <= v <= 1.0
    assert min(s, e) - 1e-15 <= v <= max(s, e) + 1e-15


def test_clip01():
    assert K.clip01(-0.3) == 0.0
    assert K.clip01(1.7) == 1.0
    assert K.clip01(0.42) == 0.42


# --------------------------------------------------------------------------------------------
# logistic / logit / hazards
# --------------------------------------------------------------------------------------------


@HYP
@given(p=st.floats(1e-9, 1 - 1e-9))
def test_logit_logistic_round_trip(p):
    assert K.logistic(K.logit(p)) == pytest.approx(p, rel=1e-9, abs=1e-15)


@HYP
@given(z=st.floats(-20, 20))
def test_logistic_logit_round_trip(z):
    assert K.logit(K.logistic(z)) == pytest.approx(z, abs=1e-6)


def test_logistic_is_safe_at_extremes():
    assert K.logistic(0.0) == 0.5
    assert K.logistic(800.0) == 1.0
    assert K.logistic(-800.0) == 0.0
    assert K.logistic(2.0) == pytest.approx(1 / (1 + math.exp(-2)))
    assert K.logistic(-2.0) == pytest.approx(1 / (1 + math.exp(2)))
    # logit clips instead of returning infinities
    assert math.isfinite(K.logit(0.0)) and K.logit(0.0) < -20
    assert math.isfinite(K.logit(1.0)) and K.logit(1.0) > 20


@pytest.mark.parametrize("p, n", [(0.1, 30.4), (0.5, 12.0), (0.02, 365.0), (0.9, 2.0)])
def test_per_tick_probability_compounds_back(p, n):
    q = K.per_tick_probability(p, n)
    assert 1.0 - (1.0 - q) ** n == pytest.approx(p)
    assert 0.0 < q < p


@pytest.mark.parametrize("p0", [0.001, 0.015, 0.2])
@pytest.mark.parametrize("s_ref", [0.5, 0.75])
def test_churn_hazard_is_base_rate_at_reference(p0, s_ref):
    h = K.churn_hazard(K.logit(p0), s_ref, s_ref, -6.0, 2.0, 0.0, 0.0, 0.0)
    assert h == pytest.approx(p0, rel=1e-12)
    # zero tenure makes the tenure term vanish whatever its effect
    h = K.churn_hazard(K.logit(p0), s_ref, s_ref, -6.0, 0.0, -0.7, 0.0, 0.0)
    assert h == pytest.approx(p0, rel=1e-12)


def test_churn_hazard_rises_as_satisfaction_falls():
    base = K.logit(0.01)
    hs = [K.churn_hazard(base, s, 0.75, -6.0, 1.0, 0.0, 0.0, 0.0)
          for s in np.linspace(1.0, 0.0, 21)]
    assert all(b > a for a, b in zip(hs, hs[1:], strict=False))
    assert hs[0] < 0.01 < hs[-1]


def test_churn_hazard_log_odds_terms():
    base = K.logit(0.02)
    z = base - 6.0 * (0.6 - 0.75) - 0.15 * math.log1p(2.5) + 0.3 + math.log(1.8) * 2.0
    h = K.churn_hazard(base, 0.6, 0.75, -6.0, 2.5, -0.15, 0.3, math.log(1.8) * 2.0)
    assert h == pytest.approx(1 / (1 + math.exp(-z)))
    # negative tenure is treated as zero
    assert K.churn_hazard(base, 0.75, 0.75, -6.0, -3.0, -0.15, 0.0, 0.0) == pytest.approx(0.02)


def test_churn_contagion_multiplies_odds():
    """Nitzan & Libai (2011): one unit of exposure held over the tick multiplies the odds by m.

    The shift is the log of the tick-mean multiplier: for exposure that does not decay within
    the tick (kappa -> 0) it is log(m) X exactly, so the hazard ratio per unit is ~ m.
    """
    base = K.logit(0.001)
    m = 1.8
    shift = K.contagion_shift(math.log(m) * 1.0, 1.0, 1.0, 0.0)
    assert shift == pytest.approx(math.log(m), rel=1e-12)
    h0 = K.churn_hazard(base, 0.75, 0.75, -6.0, 0.0, 0.0, 0.0, 0.0)
    h1 = K.churn_hazard(base, 0.75, 0.75, -6.0, 0.0, 0.0, 0.0, shift)
    odds = lambda p: p / (1 - p)  # noqa: E731
    assert odds(h1) / odds(h0) == pytest.approx(m)
    assert h1 / h0 == pytest.approx(m, rel=2e-3)  # small hazards: hazard ratio ~ m


@HYP
@given(s1=unit, s2=unit, base=st.floats(-10, 2), eff=st.floats(-20, 0), expo=st.floats(0, 5))
def test_churn_hazard_is_a_probability_and_monotone(s1, s2, base, eff, expo):
    lo, hi = min(s1, s2), max(s1, s2)
    h_lo = K.churn_hazard(base, lo, 0.75, eff, 1.0, 0.0, 0.0, expo * math.log(1.8))
    h_hi = K.churn_hazard(base, hi, 0.75, eff, 1.0, 0.0, 0.0, expo * math.log(1.8))
    assert 0.0 <= h_hi <= h_lo <= 1.0


# the decay of exposure over one tick: daily ticks at a 14-day half-life, and monthly ticks
DECAYS = [tuple(tables.exposure_decay(dt, 14.0).values()) for dt in (1.0, 30.4375)]


@HYP
@given(u=st.one_of(unit, st.floats(0.0195, 0.0205)), base=st.floats(-12, 3), sat=unit,
       eff=st.floats(-20, 5), tenure=st.floats(0, 30), tenure_eff=st.floats(-2, 2),
       extra=st.floats(-3, 3), expo=st.floats(0, 8), log_m=st.floats(-3, 4.6),
       shared=st.floats(-2, 3), decay=st.sampled_from(DECAYS), f32=st.booleans())
def test_churns_screen_decides_exactly_as_the_hazard(u, base, sat, eff, tenure, tenure_eff,
                                                     extra, expo, log_m, shared, decay, f32):
    """The cheap screen never changes a decision, including near its thresholds."""
    if f32:  # the kernel passes float32 state
        base, sat, expo = np.float32(base), np.float32(sat), np.float32(expo)
    y = log_m * np.float64(expo)
    shift = K.contagion_shift(y, *decay) + shared
    args = (base, sat, 0.75, eff, tenure, tenure_eff, extra)
    assert K.churns(u, *args, y, shared, *decay) == (u < K.churn_hazard(*args, shift))


def test_churns_screen_boundaries():
    # just below the screen's log-odds bound the hazard is far below the screened draws
    assert K.logistic(K._SCREEN_Z) < K._SCREEN_U
    args = (K._SCREEN_Z - 1e-9, 0.75, 0.75, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0)
    assert not K.churns(K._SCREEN_U, *args)
    assert K.churns(0.5 * K.logistic(K._SCREEN_Z), *args)
    # a positive tenure effect is never screened: the bound would not hold
    hi = (-4.5, 0.75, 0.75, 3.0, 50.0, 2.0, 0.0)
    assert K.churn_hazard(*hi, 0.0) > 0.5
    assert K.churns(0.3, *hi, 0.0, 0.0, 1.0, 1.0, 0.0)


# --------------------------------------------------------------------------------------------
# social spread and chunk sums
# --------------------------------------------------------------------------------------------


def _spread_reference(events, indptr, indices, said, expectation, exposure, referrers,
                      wom_log, wom_target, w):
    """The social spread written plainly: senders in id order, each to all its contacts."""
    for i in np.flatnonzero(events):
        ev = int(events[i])
        d = 1 if ev & K.EV_REF_UP else (-1 if ev & K.EV_REF_DOWN else 0)
        for j in indices[indptr[i]:indptr[i + 1]]:
            referrers[j] += d
            if ev & K.EV_CHURN:
                exposure[j] += np.float32(1.0)
            if ev & K.EV_WOM and said[i] < expectation[j]:
                # the sender's talks pull by w each; heard pulls combine into one, kept as
                # (log of the gap's share left, target): E -> K E + (1 - K) A
                log_k = (ev >> K.WOM_TALKS_SHIFT) * math.log(1.0 - w)  # k = (1 - w)^talks
                k, k_old = math.exp(log_k), math.exp(float(wom_log[j]))
                a = (k * (1.0 - k_old) * float(wom_target[j]) + (1.0 - k) * float(said[i])) \
                    / (1.0 - k * k_old)
                wom_log[j] = np.float32(float(wom_log[j]) + log_k)
                wom_target[j] = np.float32(a)


@pytest.mark.parametrize("kind", ["small_world", "erdos_renyi"])
def test_spread_social_effects_equals_serial_reference_for_any_split(kind):
    from cxsim.network import build_network

    n, chunk = 5_000, 64
    gen = np.random.default_rng(7)
    indptr, indices = build_network(kind, n, 10, 0.1, gen)
    flags = np.array([0, K.EV_WOM, K.EV_CHURN, K.EV_REF_UP, K.EV_REF_DOWN,
                      K.EV_WOM | K.EV_REF_DOWN, K.EV_CHURN | K.EV_REF_DOWN], np.uint16)
    events = np.where(gen.random(n) < 0.15, gen.choice(flags, n), 0).astype(np.uint16)
    # word of mouth carries its count of talks (one to the most a tick can hold)
    wom = (events & K.EV_WOM) != 0
    talks = gen.choice([1, 2, 7, K.WOM_TALKS_MAX], n).astype(np.uint16)
    events[wom] |= talks[wom] << np.uint16(K.WOM_TALKS_SHIFT)
    events[:chunk] = 0  # a chunk without events
    n_chunks = -(-n // chunk)
    chunk_events = np.array([np.count_nonzero(events[c * chunk:(c + 1) * chunk])
                             for c in range(n_chunks)], float)
    sat = gen.random(n).astype(np.float32)
    # some contacts have heard word of mouth already this tick
    heard = np.where(gen.random(n) < 0.3, -gen.random(n), 0.0).astype(np.float32)
    state = (gen.random(n).astype(np.float32), gen.random(n).astype(np.float32),
             gen.integers(0, 5, n).astype(np.int32), heard, gen.random(n).astype(np.float32))
    want = [x.copy() for x in state]
    _spread_reference(events, indptr, indices, sat, *want, 0.3)
    assert (events != 0).sum() > 500
    assert (want[3] < heard).sum() > 100  # word of mouth heard
    runs = []
    for parts in (1, 2, 3, 7):
        got = [x.copy() for x in state]
        K.spread_social_effects(chunk, chunk_events, events, indptr, indices, sat, *got, 0.3,
                                parts)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, w, rtol=2e-6, atol=1e-7)
        runs.append(got)
    for got in runs[1:]:  # whatever the split, bit for bit the same
        for g, f in zip(got, runs[0], strict=True):
            np.testing.assert_array_equal(g, f)


def test_senders_lists_agents_with_events_from_chunk_counts():
    events = np.zeros(10, np.uint16)
    events[[1, 4, 5, 9]] = K.EV_WOM
    assert K._senders(4, np.array([1.0, 2.0, 1.0]), events).tolist() == [1, 4, 5, 9]
    # a count too small drops senders and never writes past its chunk's slice
    assert K._senders(4, np.array([1.0, 1.0, 1.0]), events).tolist() == [1, 4, 9]
    assert K._senders(4, np.zeros(3), events).tolist() == []


def test_sum_chunks_adds_in_chunk_order():
    x = np.array([[1e16, 1.0], [1.0, 2.0], [-1e16, 3.0]])
    # in order: (1e16 + 1) - 1e16 = 0 (the 1 is lost), as the tick's sums always were
    np.testing.assert_array_equal(K.sum_chunks(x), [0.0, 6.0])
    gen = np.random.default_rng(3)
    y = gen.random((50, 7))
    want = np.zeros(7)
    for row in y:
        want += row
    np.testing.assert_array_equal(K.sum_chunks(y), want)


# --------------------------------------------------------------------------------------------
# scores and surveys
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("latent, score", [
    (8.49, 8), (8.5, 9), (8.51, 9), (-3.0, 0), (12.0, 10), (0.0, 0), (10.0, 10),
    (6.5, 7), (6.4999, 6), (0.49, 0), (0.5, 1), (9.5, 10), (10.49, 10), (-0.5, 0),
])
def test_nps_score_rounds_half_up_and_clips(latent, score):
    assert K.nps_score(latent) == score


def test_latent_score():
    assert K.latent_score(0.8, 0.0) == pytest.approx(8.0)
    assert K.latent_score(0.8, -1.5) == pytest.approx(6.5)
    assert K.latent_score(0.0, 2.0) == pytest.approx(2.0)


@pytest.mark.parametrize("sat, bias, cat", [
    (1.0, 0.0, 1), (0.9, 0.0, 1), (0.8, 1.0, 1), (0.8, 0.6, 1),   # 9-10 promoter
    (0.8, 0.0, 0), (0.7, 0.0, 0), (0.65, 0.1, 0), (0.8, 0.4, 0),  # 7-8 passive
    (0.6, 0.0, -1), (0.0, 0.0, -1), (0.7, -0.6, -1), (0.9, -5.0, -1),  # 0-6 detractor
    (0.64, 0.0, -1), (0.85, 0.1, 1),
])
def test_nps_category_thresholds(sat, bias, cat):
    assert K.nps_category(sat, bias) == cat


@HYP
@given(sat=unit, bias=st.floats(-10, 10))
def test_nps_category_matches_score(sat, bias):
    score = K.nps_score(K.latent_score(sat, bias))
    assert score == int(score) and 0 <= score <= 10
    cat = K.nps_category(sat, bias)
    assert cat == (1 if score >= 9 else (-1 if score <= 6 else 0))


@pytest.mark.parametrize("edge", [6.5, 8.5, -0.5, 10.5])
def test_nps_category_matches_score_at_band_edges(edge):
    """Latent scores on and one ulp either side of the rounding edges (sat 0, bias = latent)."""
    for latent in (np.nextafter(edge, -np.inf), edge, np.nextafter(edge, np.inf)):
        score = K.nps_score(K.latent_score(0.0, latent))
        assert K.nps_category(0.0, latent) == (1 if score >= 9 else (-1 if score <= 6 else 0))


def test_is_referrer():
    assert K.is_referrer(K.CUSTOMER, 0.95, 0.0, True)
    assert not K.is_referrer(K.CUSTOMER, 0.75, 0.0, True)
    assert K.is_referrer(K.CUSTOMER, 0.75, 0.0, False)
    for st_ in (K.PROSPECT, K.CHURNED):
        assert not K.is_referrer(st_, 1.0, 0.0, True)
        assert not K.is_referrer(st_, 1.0, 0.0, False)


@HYP
@given(sat=unit, z=st.floats(-6, 6), noise=st.floats(0, 3))
def test_csat_answer_range(sat, z, noise):
    a = K.csat_answer(sat, z, noise)
    assert a == int(a) and 1.0 <= a <= 5.0


def test_csat_answer_values():
    assert K.csat_answer(0.0, 0.0, 0.5) == 1.0
    assert K.csat_answer(1.0, 0.0, 0.5) == 5.0
    assert K.csat_answer(0.5, 0.0, 0.5) == 3.0
    assert K.csat_answer(0.75, 0.0, 0.5) == 4.0
    assert K.csat_answer(1.0, 5.0, 1.0) == 5.0  # clipped above
    assert K.csat_answer(0.0, -5.0, 1.0) == 1.0  # clipped below
    # monotone in satisfaction without noise
    vals = [K.csat_answer(s, 0.0, 0.5) for s in np.linspace(0, 1, 41)]
    assert vals == sorted(vals)


@HYP
@given(effort=st.floats(0, 10), patience=st.floats(0.01, 5), z=st.floats(-6, 6),
       noise=st.floats(0, 3))
def test_ces_answer_range(effort, patience, z, noise):
    a = K.ces_answer(effort, patience, z, noise)
    assert a == int(a) and 1.0 <= a <= 7.0


def test_ces_answer_values():
    assert K.ces_answer(0.0, 1.5, 0.0, 0.5) == 7.0  # effortless: very easy
    assert K.ces_answer(1.5, 1.5, 0.0, 0.5) == 1.0  # all patience used up
    assert K.ces_answer(9.0, 1.5, 0.0, 0.5) == 1.0  # strain is capped at 1
    assert K.ces_answer(0.75, 1.5, 0.0, 0.5) == 4.0
    vals = [K.ces_answer(e, 2.0, 0.0, 0.5) for e in np.linspace(0, 3, 31)]
    assert vals == sorted(vals, reverse=True)


# --------------------------------------------------------------------------------------------
# contracts, needs, acquisition
# --------------------------------------------------------------------------------------------


def test_contract_logit_no_contract():
    for tenure in (0, 5, 400):
        assert K.contract_logit(tenure, 0.0, 30.4, -1.5, 0.7) == 0.0


def test_contract_logit_inside_term_and_renewal_window():
    tpm = 365.0 / 12.0
    term = 12 * tpm  # a one-year contract, daily ticks, a one-month renewal window
    eff, ren = -1.5, 0.0
    assert K.contract_logit(0, term, tpm, eff, ren) == eff
    assert K.contract_logit(100, term, tpm, eff, ren) == eff
    assert K.contract_logit(int(term - tpm) - 1, term, tpm, eff, ren) == eff
    # the last month of the term: free to leave
    assert K.contract_logit(int(term - tpm) + 1, term, tpm, eff, ren) == 0.0
    assert K.contract_logit(int(term) - 1, term, tpm, eff, ren) == 0.0
    # the contract renews: the next term binds again
    assert K.contract_logit(int(term) + 1, term, tpm, eff, ren) == eff
    assert K.contract_logit(int(2 * term - tpm) + 2, term, tpm, eff, ren) == 0.0


def test_contract_logit_renewal_window_has_its_own_length_and_shift():
    tpm = 30.0
    term = 12 * tpm
    window = 3 * tpm  # the last three months of each term
    assert K.contract_logit(int(term - window) - 1, term, window, -2.0, 0.8) == -2.0
    assert K.contract_logit(int(term - window), term, window, -2.0, 0.8) == 0.8
    assert K.contract_logit(int(term) - 1, term, window, -2.0, 0.8) == 0.8
    assert K.contract_logit(int(term), term, window, -2.0, 0.8) == -2.0
    # a window as long as the term: the whole term is a renewal window
    assert K.contract_logit(5, term, term, -2.0, 0.8) == 0.8
    # no window: always in term
    vals = {K.contract_logit(t, term, 0.0, -2.0, 0.8) for t in range(0, 800)}
    assert vals == {-2.0}


def test_contract_logit_share_of_free_ticks():
    tpm = 30.0
    term = 3 * tpm  # 90 ticks, last 30 free
    vals = np.array([K.contract_logit(t, term, tpm, -2.0, 0.0) for t in range(0, 900)])
    assert set(np.unique(vals)) == {-2.0, 0.0}
    assert (vals == 0.0).mean() == pytest.approx(1 / 3, abs=0.01)
    # a two-month window at +0.5
    vals = np.array([K.contract_logit(t, term, 2 * tpm, -2.0, 0.5) for t in range(0, 900)])
    assert (vals == 0.5).mean() == pytest.approx(2 / 3, abs=0.01)


def _mean_hazard(term_months, window_months, effect, renewal, h=0.02, tpm=30.0):
    """Mean per-tick hazard over many terms at base monthly churn ``h`` (no selection)."""
    base = K.logit(K.per_tick_probability(h, tpm))
    ticks = range(int(24 * 10 * tpm))
    return np.mean([K.logistic(base + K.contract_logit(t, term_months * tpm,
                                                       window_months * tpm, effect, renewal))
                    for t in ticks])


def test_contract_churn_ratio_without_selection_is_at_most_two():
    """Same propensity: a 12-month contract churns at most twice as often as a 24-month one.

    It has twice the renewal windows and nothing else, so however strong the in-term
    suppression or the renewal shift, the ratio stays below 2; the larger ratios of real
    contract data (the IBM Telco sample's ~4) need selection (docs/validation.md).
    """
    for effect, renewal, window in [(-1.5, 0.0, 1), (-6.0, 0.0, 1), (-6.0, 3.0, 1),
                                    (-3.0, 1.0, 3)]:
        r = _mean_hazard(12, window, effect, renewal) / _mean_hazard(24, window, effect, renewal)
        assert 1.0 < r <= 2.0 + 1e-9
    # a longer renewal window releases more churn
    assert _mean_hazard(12, 3, -2.0, 0.0) > _mean_hazard(12, 1, -2.0, 0.0)


def draw_need(u_need, p_need, cum, s=0):
    """Call :func:`cxsim.kernels.draw_need` with ``cum`` one segment row or the whole table.

    The kernel takes ``(u_need, p_need, need_cum[S, K], s)``; the older form took
    ``(key, i, t, u_need, p_need, need_cum[K])`` and is supported too.
    """
    cum = np.ascontiguousarray(np.atleast_2d(cum), dtype=np.float64)
    if "s" in inspect.signature(K.draw_need.py_func).parameters:
        return K.draw_need(u_need, p_need, cum, s)
    return K.draw_need(np.uint64(0), 0, 0, u_need, p_need, cum[s].copy())


def test_draw_need_no_need_above_probability():
    cum = np.array([0.5, 0.8, 1.0])
    assert draw_need(0.3, 0.3, cum) == -1
    assert draw_need(0.9, 0.3, cum) == -1
    assert draw_need(0.1, 0.0, cum) == -1
    assert draw_need(0.0, 0.3, cum) == 0
    assert draw_need(0.149, 0.3, cum) == 0  # r = 0.497
    assert draw_need(0.151, 0.3, cum) == 1  # r = 0.503
    assert draw_need(0.2999, 0.3, cum) == 2


def test_draw_need_distribution_matches_rates():
    """Over many customers the need types occur at the scenario's rates (chi-square)."""
    rates = {"buy": 0.05, "support": 0.02, "account": 0.01}
    sc = minimal_scenario(
        segments={"all": {"share": 1.0, "need_rates": rates}},
        needs={"buy": {"entry": ["web"]}, "support": {"entry": ["web", "phone"]},
               "account": {"entry": ["web"]}})
    m = cxsim.CXModel(sc, rng=3)
    seg = m.segments
    names = m.need_names
    total = sum(rates.values())
    p_need = seg.p_need[0]
    assert p_need == pytest.approx(1 - math.exp(-total))  # Poisson: P(at least one) per day
    cum = seg.need_cum[0]
    assert cum[-1] == pytest.approx(1.0)
    assert np.diff(np.concatenate([[0.0], cum])) == pytest.approx(
        [rates[k] / total for k in names])

    key = m.keys[STREAM_INDEX["daily"]]
    n = 60_000
    counts = np.zeros(len(names) + 1)
    for i in range(n):
        u_need, _ = uniform_pair(key, i, 1, 0)
        k = draw_need(u_need, p_need, seg.need_cum, 0)
        counts[k + 1 if k >= 0 else 0] += 1
    expected = n * np.array([1 - p_need] + [p_need * rates[k] / total for k in names])
    assert stats.chisquare(counts, expected).pvalue > 1e-4
    for obs, exp in zip(counts, expected, strict=True):
        assert abs(obs - exp) < 5 * math.sqrt(exp)


def test_draw_need_uses_only_entries_with_positive_rates():
    key = stream_keys(0)[STREAM_INDEX["daily"]]
    cum = np.array([0.0, 1.0])  # first need has rate 0
    seen = {draw_need(uniform(key, i, 0, 0), 0.5, cum) for i in range(2000)}
    assert seen == {-1, 1}


def test_acquisition_probability():
    """The exact Bass flow over one tick; to first order the linear rule (p + q a) dt."""
    assert K.acquisition_probability(0.001, 0.002, 0.5) == pytest.approx(0.002, rel=2e-3)
    assert K.acquisition_probability(0.0, 0.0, 1.0) == 0.0
    assert K.acquisition_probability(0.0, 0.5, 0.0) == 0.0  # no marketing, no referrers
    # q = 0: a constant hazard p, so 1 - exp(-p dt)
    assert K.acquisition_probability(0.3, 0.0, 0.0) == pytest.approx(1 - math.exp(-0.3))
    # p = 0: logistic growth from a, (1 - S) = a (1 - e) / (a + (1 - a) e), e = exp(-q dt)
    e = math.exp(-0.8)
    assert K.acquisition_probability(0.0, 0.8, 0.25) == pytest.approx(
        0.25 * (1 - e) / (0.25 + 0.75 * e))
    # everyone refers (a = 1): the flow is a constant hazard p + q
    assert K.acquisition_probability(0.6, 0.8, 1.0) == pytest.approx(1 - math.exp(-1.4))
    assert K.acquisition_probability(2.0, 0.0, 0.0) == pytest.approx(1 - math.exp(-2.0))
    assert K.acquisition_probability(1e3, 1e3, 0.5) == 1.0


@HYP
@given(p=unit, q=st.floats(0, 10), frac=unit)
def test_acquisition_probability_is_the_bass_flow(p, q, frac):
    a = K.acquisition_probability(p, q, frac)
    assert 0.0 <= a <= 1.0
    # the share that stays is (1 - F(dt)) / (1 - F0) of the closed-form Bass flow from F0 = a
    if frac < 1.0 and p + q > 0:
        e = math.exp(-(p + q))
        survive = (p + q) * e / (p + q * frac + q * (1.0 - frac) * e)
        assert a == pytest.approx(1.0 - survive, rel=1e-9, abs=1e-12)
    # short ticks: the linear rule (p + q a) dt to first order in dt
    eps = 1e-6
    assert K.acquisition_probability(p * eps, q * eps, frac) / eps == pytest.approx(
        p + q * frac, rel=1e-4, abs=1e-9)
