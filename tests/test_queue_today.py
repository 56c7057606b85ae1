"""Queues meet today's demand, with capacity that is never rounded.

* the waits customers draw reproduce Erlang A's abandonment, mean wait and service level
  (:func:`cxsim.queueing.wait_device`), checked by simulating the device;
* a fractional number of agents on shift is time-shared (:func:`erlang_a_shared`);
* a one-day spike of contacts meets the queue on its own day: the day's figures are Erlang A
  at the day's own volume, and what customers met (realised abandonment) agrees with what is
  reported within binomial noise;
* a team scaled with its market keeps its capacity per customer exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import minimal_dict

import cxsim
from cxsim.queueing import erlang_a, erlang_a_shared, wait_device
from cxsim.runner import resize

# (arrival rate per minute, handle time, mean patience, agents, target minutes)
CASES = [(100 / 30, 3.0, 5.0, 13, 1 / 3),  # VALIDATION.md's Erlang A reference
         (1.0, 6.0, 5.0, 5, 1 / 3), (1.2, 6.0, 5.0, 5, 1 / 3), (0.5, 6.0, 2.0, 2, 1 / 3),
         (3.0, 6.0, 5.0, 10, 0.0), (0.3, 6.0, 5.0, 4, 1 / 3), (5.0, 4.0, 1.0, 30, 1.0)]


def simulate_device(p_wait, mean_virtual, patience, target, n, rng):
    """Share abandoning, mean wait and share answered within target of ``n`` contacts."""
    wait = rng.random(n) < p_wait
    v = rng.exponential(mean_virtual if math.isfinite(mean_virtual) else 1e300, n)
    g = rng.exponential(patience, n)
    hung_up = wait & (g < v)
    waited = np.where(wait, np.minimum(v, g), 0.0)
    within = ~wait | (wait & (v <= target) & (v < g))
    return hung_up.mean(), waited.mean(), waited.std() / math.sqrt(n), within.mean()


@pytest.mark.parametrize("case", CASES)
def test_customers_waits_reproduce_erlang_a(case):
    lam, aht, patience, agents, target = case
    q = erlang_a(lam, aht, patience, agents, target)
    dev = wait_device(q, patience, target)
    assert 0.0 <= dev.p_wait <= 1.0
    n = 400_000
    ab, wait, wait_se, sl = simulate_device(dev.p_wait, dev.mean_virtual, patience, target, n,
                                            np.random.default_rng(7))

    def se(p):
        return math.sqrt(p * (1 - p) / n)

    assert abs(ab - q.p_abandon) < 4 * se(q.p_abandon) + 1e-12
    assert abs(wait - q.mean_wait) < 4 * wait_se + 1e-12
    assert abs(sl - q.service_level) < 4 * se(q.service_level) + 1e-12


@pytest.mark.parametrize("lam", [0.6, 1.0, 1.2])
def test_callers_of_mixed_patience_meet_the_reported_figures(lam):
    """Segments hang up on their own clocks: the device is solved for the mixture, so
    abandonment and service level over all callers are the reported Erlang A figures."""
    patiences, weights = np.array([6.0, 4.0]), np.array([0.35, 0.65])
    mean = float(weights @ patiences)
    q = erlang_a(lam, 6.0, mean, 5, 1 / 3)
    dev = wait_device(q, mean, 1 / 3, (weights, patiences))
    n = 400_000
    rng = np.random.default_rng(11)
    own = patiences[rng.choice(2, n, p=weights)]
    wait = rng.random(n) < dev.p_wait
    v = rng.exponential(dev.mean_virtual, n)
    g = rng.exponential(own)
    ab = (wait & (g < v)).mean()
    sl = (~wait | (wait & (v <= 1 / 3) & (v < g))).mean()
    assert abs(ab - q.p_abandon) < 4 * math.sqrt(q.p_abandon * (1 - q.p_abandon) / n)
    assert abs(sl - q.service_level) < 4 * math.sqrt(q.service_level * (1 - q.service_level) / n)


def test_an_overloaded_queue_is_met_as_closely_as_one_exponential_wait_can():
    """Far beyond capacity nearly everyone waits and Erlang A's service level falls below
    what any single exponential virtual wait gives with P(wait) <= 1; abandonment and the
    mean wait still match, the service level comes within 0.03 (measured 0.044 vs 0.020)."""
    lam, aht, patience, agents, target = 2.0, 6.0, 5.0, 5, 1 / 3
    q = erlang_a(lam, aht, patience, agents, target)
    dev = wait_device(q, patience, target)
    assert dev.p_wait == 1.0
    ab, wait, wait_se, sl = simulate_device(dev.p_wait, dev.mean_virtual, patience, target,
                                            400_000, np.random.default_rng(8))
    assert ab == pytest.approx(q.p_abandon, abs=0.003)
    assert abs(wait - q.mean_wait) < 4 * wait_se
    assert abs(sl - q.service_level) < 0.03


def test_whole_agents_time_share_to_erlang_a_itself():
    for c in (0, 1, 4, 9):
        assert erlang_a_shared(0.5, 6.0, 5.0, float(c), 1 / 3) == erlang_a(0.5, 6.0, 5.0, c,
                                                                            1 / 3)


def test_a_fraction_of_an_agent_is_time_shared():
    lo, hi = erlang_a(0.5, 6.0, 5.0, 2, 1 / 3), erlang_a(0.5, 6.0, 5.0, 3, 1 / 3)
    r = erlang_a_shared(0.5, 6.0, 5.0, 2.25, 1 / 3)
    assert r.p_abandon == pytest.approx(0.75 * lo.p_abandon + 0.25 * hi.p_abandon)
    assert r.service_level == pytest.approx(0.75 * lo.service_level + 0.25 * hi.service_level)
    assert r.occupancy == pytest.approx((0.75 * lo.carried_load + 0.25 * hi.carried_load) / 2.25)
    # more capacity never hurts, and the figures move continuously with it
    prev = erlang_a_shared(0.5, 6.0, 5.0, 0.0, 1 / 3)
    for c in np.linspace(0.05, 6, 120):
        cur = erlang_a_shared(0.5, 6.0, 5.0, float(c), 1 / 3)
        assert cur.p_abandon <= prev.p_abandon + 1e-12
        assert cur.service_level >= prev.service_level - 1e-12
        prev = cur
    with pytest.raises(ValueError, match="agents"):
        erlang_a_shared(0.5, 6.0, 5.0, -1.0, 1 / 3)


# --------------------------------------------------------------------------------------------
# a one-day spike
# --------------------------------------------------------------------------------------------

SPIKE_DAY = 20


def spike_scenario(surge: float):
    """Support needs only, at the phone; one team; a surge of support on SPIKE_DAY."""
    d = minimal_dict(
        simulation={"ticks": SPIKE_DAY + 5},
        market={"size": 60_000, "initial_customers": 60_000, "p": 0.0, "q": 0.0},
        segments={"all": {"share": 1.0, "base_churn": 0.0,
                          "need_rates": {"support": 0.01}}},
        touchpoints={"phone": {"channel": "phone", "stage": "support", "quality": 0.8,
                               "resolution": 0.9}},
        pathways=[], needs={"support": {"entry": ["phone"]}},
        teams={"cc": {"touchpoints": ["phone"], "headcount": 12, "handle_time": 6.0}},
        partners={})
    d["strategies"] = {"spike": {"interventions": [
        {"type": "demand_surge", "target": "all", "amount": surge, "start": SPIKE_DAY,
         "end": SPIKE_DAY + 1}]}}
    return cxsim.Scenario.from_dict(d)


@pytest.fixture(scope="module")
def spike_runs():
    sc = spike_scenario(0.6)
    return sc, [(cxsim.CXModel(sc, rng=s).run(), cxsim.CXModel(sc, rng=s, strategy="spike")
                 .run()) for s in range(3)]


def test_a_spike_meets_the_queue_on_its_own_day(spike_runs):
    sc, runs = spike_runs
    team = sc.teams["cc"]
    patience = sc.segments["all"].queue_patience
    for base, spike in runs:
        q0 = base.queue_metrics.set_index("tick")
        q1 = spike.queue_metrics.set_index("tick")
        day = q1.loc[SPIKE_DAY]
        # the day's offered load is the day's demand: +60 % needs (backlog aside)
        entries0 = q0.loc[SPIKE_DAY, "offered"] - q0.loc[SPIKE_DAY - 1, "backlog"]
        entries1 = day["offered"] - q1.loc[SPIKE_DAY - 1, "backlog"]
        assert entries1 / entries0 == pytest.approx(1.6, rel=1e-6)  # Poisson needs x 1.6
        # and its figures are Erlang A at that volume
        ref = erlang_a_shared(day["offered"] / (team.open_hours * 60), day["handle_time"],
                              patience,
                       day["agents"], team.service_target / 60)
        assert day["p_abandon"] == pytest.approx(ref.p_abandon)
        assert day["service_level"] == pytest.approx(ref.service_level)
        assert day["p_abandon"] > 3 * q0.loc[SPIKE_DAY, "p_abandon"]  # the spike hurts today
        # two days later the queue is back to normal: the spike's damage stays on its day
        after = SPIKE_DAY + 2
        assert q1.loc[after, "p_abandon"] == pytest.approx(q0.loc[after, "p_abandon"], rel=0.5)


def test_what_customers_met_agrees_with_what_is_reported(spike_runs):
    """Realised abandonment (customers who hung up) against the reported Erlang A figure,
    day by day around the spike: within binomial noise of the day's contacts."""
    _, runs = spike_runs
    for _, spike in runs:
        q = spike.queue_metrics.set_index("tick")
        tp = spike.touchpoint_metrics
        phone = tp[tp.touchpoint == "phone"].set_index("tick")
        for t in range(SPIKE_DAY - 3, SPIKE_DAY + 4):
            n = phone.loc[t, "volume"]
            realised = phone.loc[t, "queue_abandoned"] / n
            p = q.loc[t, "p_abandon"]
            assert abs(realised - p) < 4.5 * math.sqrt(p * (1 - p) / n) + 1 / n, (t, realised, p)


# --------------------------------------------------------------------------------------------
# scale: a team resized with its market keeps its capacity per customer
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("customers", [1_000, 20_000, 33_333, 250_000])
def test_a_resized_team_keeps_capacity_per_customer_exactly(customers):
    base = cxsim.default_scenario()
    sc = resize(base, customers=customers)
    for name, team in sc.teams.items():
        full = base.teams[name]
        assert team.headcount == full.headcount  # the same people ...
        per_customer = team.headcount * team.fte / sc.market.size
        assert per_customer == pytest.approx(full.headcount * full.fte / base.market.size)


def test_a_sample_of_a_market_queues_like_the_market():
    """``resize(..., sample=True)``: the queue is solved at the full market's volume and
    staffing, so its figures are the full market's (up to the noise of the sample)."""
    base = resize(cxsim.default_scenario(), days=20)
    full = cxsim.CXModel(base, rng=1).run().queue_metrics
    small = cxsim.CXModel(resize(base, customers=20_000, sample=True), rng=1).run()
    part = cxsim.CXModel(resize(base, customers=20_000), rng=1).run()
    q_full, q_sample, q_part = (x["p_abandon"].mean() for x in
                                (full, small.queue_metrics, part.queue_metrics))
    assert q_sample == pytest.approx(q_full, rel=0.15)
    assert q_part > q_sample  # a contact centre a fifth the size pools less (Erlang)


@pytest.mark.parametrize("outage", [False, True, "partial"])
def test_the_forecast_entries_are_where_customers_enter(outage, monkeypatch):
    """``Market.expected_entries`` restates how ``walk_episode`` picks an entry point (channel
    preference among open ones; with all of a need's entry points down, where the wanted one
    escalates to): the day's realised first contacts per touchpoint (visits less moves in)
    match it within Poisson noise, with every entry point open, with the web down and with
    the web down for 40 % of the tick (from 0.35 to 0.75 of it)."""
    from conftest import minimal_dict

    from cxsim import kernels as K
    from cxsim.market import Market
    from cxsim.queues import Queues

    d = minimal_dict(market={"size": 60_000, "initial_customers": 60_000},
                     segments={"all": {"share": 1.0, "base_churn": 0.02,
                                       "need_rates": {"buy": 0.2, "support": 0.3}}},
                     needs={"buy": {"entry": ["web"]}, "support": {"entry": ["web", "phone"]}})
    if outage:  # the web is down every day: "buy" has no open entry and escalates to phone
        d["systems"] = {"site": {"touchpoints": ["web"], "outage_probability": 1.0,
                                 "outage_days": 5.0}}
    if outage == "partial":
        from cxsim.environment import Environment

        d["systems"] = {"site": {"touchpoints": ["web"]}}

        def partly_down(self, t, tp):
            tp.down_from[self.system_tps[0]], tp.down_to[self.system_tps[0]] = 0.35, 0.75

        monkeypatch.setattr(Environment, "step", partly_down)
    sc = cxsim.Scenario.from_dict(d)
    seen = {}
    real_entries, real_observe = Market.expected_entries, Queues.observe

    def entries(self, *a, **kw):
        seen["expected"] = real_entries(self, *a, **kw)
        return seen["expected"]

    def observe(self, tpt):
        seen["tpt"] = tpt.copy()
        return real_observe(self, tpt)

    monkeypatch.setattr(Market, "expected_entries", entries)
    monkeypatch.setattr(Queues, "observe", observe)
    m = cxsim.CXModel(sc, rng=4)
    m.step()
    m.step()  # the outage starts on the first day
    n = len(sc.touchpoints)
    tpt = seen["tpt"]
    moved_in = tpt[:, K.TPA_FLOW:K.TPA_FLOW + n].sum(axis=0)
    realised = tpt[:, K.TPA_VISITS] - moved_in
    expected = seen["expected"].sum(axis=0)
    names = list(sc.touchpoints)
    if outage is True:
        assert expected[names.index("web")] == 0 and realised[names.index("web")] == 0
    assert expected.sum() > 10_000
    assert np.all(np.abs(realised - expected) <= 4.0 * np.sqrt(expected) + 1.0), (
        realised, expected)
