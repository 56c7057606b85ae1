"""Win-back offers reach recent leavers only, and a stationary market starts with its pool.

``market.win_back`` is the yearly probability that win-back offers bring a former customer
back; they reach a leaver for ``market.win_back_months``, after which the former customer is
a prospect again (marketing and referrals still reach them).  A market set up with
``initial_tenure = "stationary"`` starts with the stationary pool of recent leavers
(:func:`cxsim.tables.stationary_lost`), so win-backs do not ramp up from nothing.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import minimal_dict

import cxsim
from cxsim import kernels as K
from cxsim import tables
from cxsim.scenario import MONTH_DAYS


def _scenario(**market) -> cxsim.Scenario:
    return cxsim.Scenario.from_dict(minimal_dict(
        simulation={"ticks": 200, "tick_days": 1.0},
        market={"size": 20_000, "initial_customers": 0, "network": "full", "p": 0.0,
                "q": 0.0, **market},
        segments={"all": {"share": 1.0, "base_churn": 0.0, "churn_concentration": 0.0,
                          "need_rates": {}}}))


def test_a_leaver_returns_with_the_stated_probability_inside_the_window_only():
    """Everyone left at tick 0; no marketing: the share back is 1 - (1 - p_tick)^(ticks)."""
    sc = _scenario(win_back=0.5, win_back_months=6.0)
    m = cxsim.CXModel(sc, rng=7)
    a = m.arrays
    a.status[:] = K.CHURNED
    a.join_tick[:] = 0
    window = 6.0 * MONTH_DAYS
    eligible = math.ceil(window) - 1  # ticks 1 .. t < window
    for _ in range(eligible + 20):
        m.step()
        churned = a.status == K.CHURNED
        assert np.all(m.time_tick - a.join_tick[churned] < window)
    df = m.metrics
    p_tick = 1.0 - 0.5 ** (1.0 / 365.0)
    expected = 1.0 - (1.0 - p_tick) ** eligible
    n = sc.market.size
    back = df["won_back"].sum() / n
    assert back == pytest.approx(expected, abs=4.0 * math.sqrt(expected * (1 - expected) / n))
    # after the window nobody is "lost" any more and nobody returns (no marketing)
    late = df[df["tick"] > eligible]
    assert (late["won_back"] == 0).all() and (late["new"] == 0).all()
    assert late["lost"].iloc[-1] == 0
    assert late["prospects"].iloc[-1] == n - df["won_back"].sum()


def test_a_former_customer_beyond_the_window_joins_again_as_a_prospect():
    """Marketing reaches them; their return counts as new, not won back."""
    sc = _scenario(win_back=0.0, win_back_months=0.1, p=1.0)
    m = cxsim.CXModel(sc, rng=3)
    m.arrays.status[:] = K.CHURNED
    m.arrays.join_tick[:] = -10  # left ten days ago: beyond a 3-day window
    m.step()
    assert m.metrics["won_back"].iloc[0] == 0
    assert m.metrics["new"].iloc[0] > 0
    assert m.metrics["lost"].iloc[0] == 0


def test_a_stationary_market_starts_with_its_win_back_pool():
    """Pool size from the balance of leavers and returns; months since leaving truncated Exp."""
    d = minimal_dict(
        simulation={"ticks": 365, "tick_days": 1.0},
        market={"size": 60_000, "initial_customers": 24_000, "network": "full", "p": 0.2,
                "q": 0.0, "win_back": 0.6, "win_back_months": 9.0,
                "initial_tenure": "stationary"},
        behaviour={"tenure_effect": 0.0, "satisfaction_effect": 0.0},
        segments={"all": {"share": 1.0, "base_churn": 0.06, "churn_concentration": 0.0,
                          "need_rates": {}}})
    sc = cxsim.Scenario.from_dict(d)
    m = cxsim.CXModel(sc, rng=5)
    a = m.arrays
    agents = np.array([sc.market.size])
    customers = tables.stationary_customers(sc, agents)
    lost, rate = tables.stationary_lost(sc, agents, customers)
    assert int((a.status == K.CUSTOMER).sum()) == customers[0] == 24_000
    assert int((a.status == K.CHURNED).sum()) == lost[0] > 0
    # the pool: leavers per month (A / T, T = 1 / -log(1 - h) months for a geometric
    # lifetime) times the mean months in the pool, min(Exp(rate), 9)
    t_mean = 1.0 / -math.log1p(-0.06)
    pool = 24_000 / t_mean * (-math.expm1(-rate * 9.0) / rate)
    assert lost[0] == pytest.approx(pool, rel=0.02)
    months = -a.join_tick[a.status == K.CHURNED] / MONTH_DAYS
    truncated_mean = 1.0 / rate - 9.0 * math.exp(-rate * 9.0) / -math.expm1(-rate * 9.0)
    assert months.max() < 9.0
    assert months.mean() == pytest.approx(truncated_mean, rel=0.03)
    # and it stays level: no ramp of win-backs from an empty pool
    m.run()
    df = m.metrics
    first, last = df["won_back"][:60].mean(), df["won_back"][-120:].mean()
    assert last == pytest.approx(first, rel=0.15)
    assert df["lost"][-120:].mean() == pytest.approx(lost[0], rel=0.1)


def test_no_win_back_pool_without_a_stationary_start():
    sc = cxsim.Scenario.from_dict(minimal_dict(market={"win_back": 0.5}))
    m = cxsim.CXModel(sc, rng=1)
    assert int((m.arrays.status == K.CHURNED).sum()) == 0
