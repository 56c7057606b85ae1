"""An independent reference for a reduced customer model, written from the model's
description (docs/architecture.md, docs/validation.md) in plain Python and NumPy: it shares
only the random streams with the kernel, and must give the same customers bit for bit.

Reduced case: a fully mixed market, one segment, one web touchpoint that always resolves,
no queues, partners, outages, word of mouth, contagion, contracts or tenure effect.  What is
left is the heart of the model: Bass acquisition on the referring share, needs, the episode's
experience (performance against expectation, loss-averse value, peak-end), satisfaction and
expectation updates in float32, and the logistic churn hazard.  Needs in a tick are
Poisson(rate x tick_days), each lived as its own episode (the reference's tick is a day, and
the need rate 0.5 a day makes two or more needs in a tick common).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import cxsim
from cxsim.rng import STREAM_INDEX, normal, stream_keys, uniform, uniform_pair
from cxsim.scenario import MONTH_DAYS, YEAR_DAYS, Scenario

DATA = {
    "name": "reference",
    "simulation": {"ticks": 15, "tick_days": 1.0},
    "market": {"size": 1500, "initial_customers": 600, "network": "full", "mean_degree": 10,
               "p": 0.6, "q": 4.0, "referral_from": "customers", "initial_tenure_months": 0},
    "segments": {"all": {"share": 1.0, "base_churn": 0.25, "need_rates": {"buy": 0.5},
                         "initial_satisfaction": 0.7, "initial_expectation": 0.8}},
    "touchpoints": {"web": {"channel": "web", "stage": "purchase", "quality": 0.8,
                            "variability": 0.2, "effort": 0.2, "resolution": 1.0}},
    "needs": {"buy": {"entry": ["web"]}},
    "behaviour": {"contagion": 1.0, "wom_strength": 0.0, "failure_need": "buy",
                  "initial_spread": 0.05},
}


def clip01(x: float) -> float:
    return min(max(x, 0.0), 1.0)


def logistic(z: float) -> float:
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    ez = math.exp(z)
    return ez / (1.0 + ez)


def reference(sc: Scenario, seed: int):
    """Run the reduced model; return per-tick active counts and the final customer arrays."""
    keys = stream_keys(seed)
    k = {name: keys[STREAM_INDEX[name]] for name in
         ("initial", "nps_style", "start_state", "acquire", "daily", "episode")}
    b, m, seg, tp = sc.behaviour, sc.market, sc.segments["all"], sc.touchpoints["web"]
    n, dt = m.size, sc.simulation.tick_days
    years = dt / YEAR_DAYS
    ticks_per_month = MONTH_DAYS / dt
    need_mean = sum(seg.need_rates.values()) * dt  # needs per tick are Poisson(rate dt)
    p_need = 1.0 - math.exp(-need_mean)

    def need_count(v: float) -> int:
        """Needs in a tick given at least one: invert the zero-truncated Poisson at v."""
        n, cum = 1, 0.0
        while True:
            cum += math.exp(-need_mean + n * math.log(need_mean) - math.lgamma(n + 1)) / p_need
            if v < cum:
                return n
            n += 1
    h_tick = 1.0 - (1.0 - seg.base_churn) ** (1.0 / ticks_per_month)
    base_logit = np.float32(math.log(h_tick / (1.0 - h_tick)))
    w_memory = 1.0 - 2.0 ** (-1.0 / b.memory_half_life)

    status = np.zeros(n, np.uint8)  # 0 prospect, 1 customer, 2 churned
    sat = np.zeros(n, np.float32)
    exp_ = np.zeros(n, np.float32)

    def start(i: int, t: int) -> None:
        spread, key = b.initial_spread, k["start_state"]
        sat[i] = clip01(seg.initial_satisfaction + spread * normal(key, i, t, 0))
        exp_[i] = clip01(seg.initial_expectation + spread * normal(key, i, t, 1))
        status[i] = 1

    u0 = np.array([uniform(k["initial"], i, 0, 0) for i in range(n)])
    for i in np.sort(np.argsort(u0)[:m.initial_customers]):
        start(int(i), 0)
    active = []
    for t in range(1, sc.simulation.ticks + 1):
        referring = (status == 1).sum() / (n - 1)  # every customer refers (previous tick)
        # the Bass flow over one tick from F0 = referring: the share of prospects that stays
        # is S = (1 - F(dt)) / (1 - F0) = (p + q) e / (p + q F0 + q (1 - F0) e)
        pp, qq = m.p * years, m.q * years
        e = math.exp(-(pp + qq))
        join = 1.0 - (pp + qq) * e / (pp + qq * referring + qq * (1.0 - referring) * e)
        for i in range(n):
            if status[i] != 1:  # prospects and former customers alike (win-back is off)
                if uniform(k["acquire"], i, t, 0) < join:
                    start(i, t)
                continue
            u_need, u_churn = uniform_pair(k["daily"], i, t, 0)
            episodes = need_count(uniform(k["daily"], i, t, 1)) if u_need < p_need else 0
            for block in range(episodes):  # episodes at the web shop, one after another
                e = float(exp_[i])
                # episode k draws from its own block of 256 'episode' slots
                perf = clip01(tp.quality + tp.variability * normal(k["episode"], i, t,
                                                                   256 * block + 3)
                              - b.effort_weight * tp.effort)
                d = perf - e
                a = b.value_exponent
                v = d ** a if d >= 0 else -b.loss_aversion * (-d) ** a
                remembered = b.peak_weight * v + b.end_weight * v + (
                    1.0 - b.peak_weight - b.end_weight) * v  # one moment: peak = end = mean
                episode = clip01(e + remembered)
                sat[i] = float(sat[i]) + w_memory * (episode - float(sat[i]))
                exp_[i] = e + b.expectation_adaptation * (perf - e)
            z = float(base_logit) + b.satisfaction_effect * (
                float(sat[i]) - b.satisfaction_reference)
            if u_churn < logistic(z):
                status[i] = 2
        active.append(int((status == 1).sum()))
    return active, status, sat, exp_


@pytest.mark.parametrize("seed", [1, 2])
def test_the_kernel_matches_an_independent_reference(seed):
    sc = Scenario.from_dict(DATA)
    active, status, sat, exp_ = reference(sc, seed)
    for engine in ("numba", "mesa"):
        model = cxsim.CXModel(sc, rng=seed, engine=engine).run()
        assert model.metrics["active"].tolist() == active
        np.testing.assert_array_equal(model.arrays.status, status)
        np.testing.assert_array_equal(model.arrays.satisfaction, sat)
        np.testing.assert_array_equal(model.arrays.expectation, exp_)
    # the reduced model is not trivial: people join, have episodes and leave
    m = model.metrics
    assert m["new"].sum() > 50 and m["episodes"].sum() > 500 and m["churned"].sum() > 20
