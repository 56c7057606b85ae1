"""Customer lifetime value (cxsim.clv): docking against Gupta-Lehmann and Fader-Hardie,
tick and market-size invariance, direction, engines, threads and ensembles."""

import math

import numba
import numpy as np
import pytest
from conftest import assert_up, mean_se, minimal_dict
from hypothesis import given, settings
from hypothesis import strategies as st

import cxsim
from cxsim import clv
from cxsim.runner import resize
from cxsim.scenario import MONTH_DAYS, ScenarioError
from cxsim.vocabulary import BY_NAME, COMPARED, PART_METRICS, SUMMARY_METRICS

#: the constant-hazard market: churn only at the base rate (no satisfaction, tenure or
#: contagion effect, no contract, no needs: no contact cost), no acquisition
CONSTANT = {"contagion": 1.0, "satisfaction_effect": 0.0, "tenure_effect": 0.0,
            "wom_strength": 0.0}


def constant_hazard(tick_days: float, ticks: int, n: int, base_churn: float, *,
                    concentration: float = 0.0, p: float = 0.0, initial: int | None = None,
                    rate: float = 0.10, revenue: float = 1.0) -> cxsim.Scenario:
    """One segment whose customers' hazards never change (each its own with sBG)."""
    return cxsim.Scenario.from_dict(minimal_dict(
        simulation={"ticks": ticks, "tick_days": tick_days},
        market={"size": n, "initial_customers": n if initial is None else initial,
                "network": "full", "p": p, "q": 0.0, "win_back": 0.0,
                "initial_tenure_months": 0.0},
        segments={"all": {"share": 1.0, "base_churn": base_churn,
                          "churn_concentration": concentration, "need_rates": {},
                          "revenue_per_day": revenue}},
        behaviour=CONSTANT, economics={"discount_rate": rate}))


# ---- formulas ------------------------------------------------------------------------------


def test_gupta_lehmann_multiple():
    assert clv.gupta_lehmann(1.0, 0.8, 0.10) == pytest.approx(2.6667, abs=5e-5)
    assert clv.gupta_lehmann(100.0, 0.8, 0.10) == pytest.approx(800 / 3)
    # the per-tick estimator with a yearly tick is the same multiple
    d = clv.discount_per_tick(0.10, 365.0)
    assert d == pytest.approx(1 / 1.1)
    assert float(clv.expected_clv(0.2, 1.0, d)) == pytest.approx(8 / 3, rel=1e-12)


def test_expected_clv_tends_to_a_tick_free_limit():
    """m = mu dt, h = 1 - exp(-lambda dt): CLV -> mu / (lambda + ln(1 + i) / 365)."""
    mu, lam, i = 2.0, 0.001, 0.10
    limit = mu / (lam + math.log1p(i) / 365.0)
    values = [float(clv.expected_clv(1 - math.exp(-lam * dt), mu * dt,
                                     clv.discount_per_tick(i, dt))) for dt in (7, 1, 0.01)]
    errors = [abs(v / limit - 1) for v in values]
    assert errors[0] > errors[1] > errors[2] and errors[2] < 1e-5
    assert errors[1] < 2e-3  # a day's tick: O((lambda + rho) dt)


@settings(max_examples=60, deadline=None)
@given(h=st.floats(1e-4, 0.99), h2=st.floats(1e-4, 0.99), i=st.floats(0.0, 1.0),
       dt=st.floats(0.05, 366), m=st.floats(0.0, 1e4))
def test_clv_falls_with_the_hazard_and_the_discount_rate(h, h2, i, dt, m):
    d = clv.discount_per_tick(i, dt)
    lo, hi = sorted((h, h2))
    assert clv.expected_clv(lo, m, d) >= clv.expected_clv(hi, m, d) >= 0
    assert clv.expected_clv(h, m, d) >= clv.expected_clv(h, m, clv.discount_per_tick(i + 0.1,
                                                                                      dt))


def test_fader_hardie_closed_form_is_the_posterior_mean():
    """DERL = E[(1 - theta)(1 + d) / (d + theta)] over theta ~ Beta(a, b + n - 1)."""
    from scipy import integrate, stats

    a, b, d, n = 0.4, 3.0, 0.01, 5
    post = stats.beta(a, b + n - 1)
    direct = integrate.quad(lambda x: (1 - x) * (1 + d) / (d + x) * post.pdf(x), 0, 1,
                            limit=200)[0]
    assert clv.fader_hardie_derl(d, a, b, n) == pytest.approx(direct, rel=1e-6)


# ---- docking in the model ------------------------------------------------------------------


def test_constant_hazard_at_yearly_ticks_is_gupta_lehmann():
    """Annual retention 0.8, discount 10 %: CLV = 2.6667 x the annual margin."""
    sc = constant_hazard(365.0, 5, 20_000, 1 - 0.8 ** (1 / 12))
    m = cxsim.CXModel(sc, rng=1).run()
    margin = clv.margins(m)
    assert margin == pytest.approx([365.0])  # revenue 1 a day, no cost to serve
    h = m.churn_hazards()
    assert np.nanmax(np.abs(h - 0.2)) < 1e-8
    df = m.metrics
    assert df["clv"].to_numpy() == pytest.approx(2.6666667 * 365.0, rel=1e-7)
    assert m.summary()["clv"] == pytest.approx(2.6666667 * 365.0, rel=1e-7)
    # the starting base's realised margin: the truncated multiple, within binomial noise
    expected = sum(365.0 * (0.8 / 1.1) ** t for t in range(1, 6))
    survivors = df["active"].to_numpy() / 20_000
    sd = math.sqrt(sum((365 / 1.1 ** t) ** 2 * s * (1 - s) for t, s in
                       enumerate(survivors, 1)) / 20_000) * 2  # (correlated over ticks)
    assert abs(df["cohort_clv"].sum() - expected) < 4 * sd + 1e-9


def test_heterogeneous_survivors_match_fader_hardie():
    """sBG: survivors' mean CLV (margin 1) is Fader & Hardie's DERL / (1 + d).

    Monthly ticks, each customer's churn probability theta ~ Beta(a, b); a customer who
    joined at tick j survived T - j churn draws (a customer joining draws none that tick),
    so it has made n - 1 = T - j renewals: theta | survival ~ Beta(a, b + n - 1).  Our CLV
    discounts the next margin by one month, Fader & Hardie's DERL does not: mean CLV =
    DERL(d | a, b, n) / (1 + d) with d the monthly rate.
    """
    h0, kappa, ticks = 0.05, 2.0, 24
    a, b = h0 * kappa, (1 - h0) * kappa
    sc = constant_hazard(MONTH_DAYS, ticks, 40_000, h0, concentration=kappa, p=0.5,
                         initial=20_000)
    m = cxsim.CXModel(sc, rng=1).run()
    h = m.churn_hazards()
    alive = ~np.isnan(h)
    d = 1.1 ** (1 / 12) - 1
    v = clv.expected_clv(h[alive], 1.0, 1 / (1 + d))
    renewals = ticks - m.arrays.join_tick[alive]
    closed = {k: clv.fader_hardie_derl(d, a, b, k + 1) / (1 + d) for k in np.unique(renewals)}
    expected = np.array([closed[k] for k in renewals])
    se = v.std(ddof=1) / math.sqrt(len(v))
    assert abs(v.mean() - expected.mean()) < 4 * se, (v.mean(), expected.mean(), se)
    for k in (0, ticks):  # the newest and the oldest survivors on their own
        sel = renewals == k
        se_k = v[sel].std(ddof=1) / math.sqrt(sel.sum())
        assert abs(v[sel].mean() - closed[k]) < 4 * se_k


# ---- the retailer: invariance and direction ------------------------------------------------


def retail(customers: int, days: float, tick_days: float = 1.0, sample: bool = False):
    sc = cxsim.default_scenario()
    if tick_days != 1.0:
        sc = cxsim.Scenario.from_dict({**sc.to_dict(), "strategies": {},
                                       "simulation": {"ticks": 1, "tick_days": tick_days}})
    return resize(sc, customers, days=days, sample=sample)


def _clvs(sc, seeds, strategy=None):
    return np.array([cxsim.run(sc, s, strategy=strategy).summary["clv"] for s in seeds])


def _close(a, b, what):
    (ma, sa), (mb, sb) = mean_se(a), mean_se(b)
    se = math.hypot(sa, sb)
    assert abs(ma - mb) < 4 * se, f"{what}: {ma:.2f} against {mb:.2f} (SE {se:.2f})"


def test_daily_and_weekly_ticks_give_the_same_clv():
    """Half a year of the retailer: the estimator's O((lambda + rho) dt) timing term (about
    6 days of margin, 0.3 %) is well inside the replications' spread (about 0.4 %)."""
    seeds = range(6)
    _close(_clvs(retail(20_000, 182), seeds), _clvs(retail(20_000, 182, tick_days=7.0), seeds),
           "CLV, daily against weekly ticks")


def test_clv_does_not_depend_on_the_market_size():
    """20,000 and 100,000 customers sampling the same market (queues at its volume)."""
    seeds = range(6)
    _close(_clvs(retail(20_000, 91, sample=True), seeds),
           _clvs(retail(100_000, 91, sample=True), seeds), "CLV at 20,000 and 100,000")


def test_better_service_raises_clv():
    """Calling back detractors (service recovery) raises the customers' lifetime value."""
    sc = retail(4000, 120)
    seeds = range(6)
    base = _clvs(sc, seeds)
    better = _clvs(sc, seeds, "recover_detractors")
    assert_up(better - base, "CLV with service recovery")


# ---- the figures in the results ------------------------------------------------------------


def test_vocabulary_summary_and_compare_carry_clv(small_default):
    for name in clv.COLUMNS:
        assert name in BY_NAME and name in SUMMARY_METRICS
    assert "clv" in COMPARED and "clv" in PART_METRICS["segment"]
    m = cxsim.CXModel(small_default, rng=3).run()
    s = m.summary()
    df = m.metrics
    assert s["clv"] == pytest.approx(df["clv"].iloc[-1]) and s["clv"] > 0
    assert s["cac"] == small_default.economics.acquisition_cost
    assert s["clv_cac"] == pytest.approx(s["clv_new"] / s["cac"])
    assert s["cohort_clv"] == pytest.approx(df["cohort_clv"].sum())
    # the expected figures at tick 1, every 30 days and the last tick, carried forward
    changes = df["tick"][df["clv"].diff().fillna(1) != 0].tolist()
    assert set(changes) <= {1, 31, 60}
    seg = m.segment_metrics
    last = seg[seg["tick"] == seg["tick"].max()].set_index("segment")
    table = clv.segment_clv(m).set_index("segment")
    assert last["clv"].to_numpy() == pytest.approx(table["clv"].to_numpy())
    w = last["active"] / last["active"].sum()
    assert (last["clv"] * w).sum() == pytest.approx(s["clv"])
    per_customer = clv.customer_clv(m)
    assert np.nanmean(per_customer) == pytest.approx(s["clv"])


def test_no_acquisition_cost_gives_no_ratio_and_no_error():
    sc = resize(cxsim.default_scenario(), 3000, days=10).to_dict()
    sc = cxsim.Scenario.from_dict({**sc, "strategies": {}, "economics": {
        **sc["economics"], "acquisition_cost": 0.0}})
    s = cxsim.CXModel(sc, rng=1).run().summary()
    assert s["cac"] == 0 and s["clv_cac"] is None
    assert math.isfinite(s["clv"])


def test_a_bad_discount_rate_is_one_line_naming_the_path():
    d = minimal_dict(economics={"discount_rate": 1.5})
    with pytest.raises(ScenarioError) as e:
        cxsim.Scenario.from_dict(d)
    assert any("economics.discount_rate" in p for p in e.value.problems)
    assert all("\n" not in p for p in e.value.problems)


def test_engines_threads_and_ensembles_agree():
    sc = resize(cxsim.default_scenario(), 600, days=35)
    a = cxsim.CXModel(sc, rng=5).run()
    b = cxsim.CXModel(sc, rng=5, engine="mesa").run()
    cols = list(clv.COLUMNS)
    np.testing.assert_array_equal(a.metrics[cols].to_numpy(), b.metrics[cols].to_numpy())
    np.testing.assert_array_equal(a.segment_metrics["clv"], b.segment_metrics["clv"])
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = clv.customer_clv(a)
    finally:
        numba.set_num_threads(threads)
    np.testing.assert_array_equal(one, clv.customer_clv(a))
    ens = cxsim.Ensemble(sc, seeds=[5, 6]).run()
    np.testing.assert_array_equal(ens.models[0].metrics[cols].to_numpy(),
                                  a.metrics[cols].to_numpy())


def test_customers_who_never_leave_undiscounted_have_no_end_of_value():
    """No churn and no discount: an infinite CLV (n/a in a summary), never a division error."""
    out = np.zeros((2, 4))
    clv._clv_sums(np.array([0.0, 0.0, 0.1]), np.array([1, 1, 1], np.uint8),
                  np.array([0, 1, 1], np.uint8), np.array([0, 0, 0], np.int32),
                  np.array([1.0, 0.0]), 1.0, -1, out)
    assert np.isinf(out[0, 1]) and out[1, 1] == 0.0  # no margin: worth 0, not NaN
    assert np.isinf(clv.expected_clv(0.0, 1.0, 1.0))
    # the model's smallest hazard (base churn 0) keeps it finite
    sc = constant_hazard(1.0, 3, 500, 0.0, rate=0.0)
    assert math.isfinite(cxsim.CXModel(sc, rng=1).run().summary()["clv"])
