"""Reputation (issue 17): a public rating from customers' reviews that scales marketing.

Unit tests of the rating on constructed counts (reviews, memory, prior, the factor), the
engine's equalities with it on (mesa, threads, ensembles), that it changes nothing when off
or when it has no effect, direction tests over paired replications, tick invariance and the
validation of its fields.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numba
import numpy as np
import pandas as pd
import pytest
from conftest import assert_down, assert_up, call, mean_se, minimal_dict
from hypothesis import given, settings
from hypothesis import strategies as st

import cxsim
from cxsim import kernels as K
from cxsim import model as model_module
from cxsim.reputation import PublicRating, marketing_factor, memory, rating_of, reviews_of
from cxsim.runner import resize
from cxsim.scenario import Intervention, Reputation, Scenario, ScenarioError, Strategy

ON = Reputation(enabled=True)


def tot(promoters: float = 0.0, passives: float = 0.0, detractors: float = 0.0) -> np.ndarray:
    """A tick's summed accumulators holding only episodes by the category they left."""
    row = np.zeros(K.N_ACC)
    row[K.ACC_PROMOTER_EPISODES] = promoters
    row[K.ACC_WOM_N] = detractors
    row[K.ACC_EPISODES] = promoters + passives + detractors
    return row


def with_reputation(sc: Scenario, **fields) -> Scenario:
    return dataclasses.replace(sc, reputation=Reputation(enabled=True, **fields)).validated()


@pytest.fixture(scope="module")
def small() -> Scenario:
    return resize(cxsim.default_scenario(), customers=3000, days=60)


# --------------------------------------------------------------------------------------------
# the rating on constructed counts
# --------------------------------------------------------------------------------------------


def test_reviews_and_rating_of_counts():
    """n = sum post_c x episodes_c; the rating is the mean of their stars (5, 4, 1)."""
    n, stars = reviews_of(1000.0, 2000.0, 500.0, ON)
    assert n == pytest.approx(0.02 * 1000 + 0.005 * 2000 + 0.03 * 500)
    assert stars == pytest.approx(5 * 20 + 4 * 10 + 1 * 15)
    assert rating_of(n, stars, 3.0) == pytest.approx(155 / 45)
    assert rating_of(0.0, 0.0, 3.7) == 3.7  # no reviews: the prior


def test_a_new_business_is_rated_by_its_reviews_only():
    """prior_weight 0: after each tick the rating is the aged mean of the reviews so far."""
    spec = Reputation(enabled=True, prior_weight=0.0, prior_rating=4.0, half_life_days=10.0)
    r = PublicRating(spec, 1.0, flow0=123.0)
    assert r.rating == 4.0  # the prior's stars before any review
    d, f = memory(1.0, 10.0)
    counts = [(100, 0, 0), (0, 0, 50), (0, 100, 20)]
    w = v = 0.0
    for c in counts:
        r.observe(tot(*c))
        n, stars = reviews_of(*c, spec)
        w, v = w * d + n * f, v * d + stars * f
        assert r.rating == pytest.approx(v / w, rel=1e-12)
    assert r.columns()["reviews"].tolist() == pytest.approx(
        [reviews_of(*c, spec)[0] for c in counts])


def test_memory_keeps_a_steady_stock_at_any_tick_length():
    """decay 2^(-dt/h), fresh (1 - decay)/(lambda dt): a steady flow F keeps F / lambda."""
    h = 90.0
    for dt in (0.25, 1.0, 7.0, 30.0):
        decay, fresh = memory(dt, h)
        assert decay == pytest.approx(2.0 ** (-dt / h), rel=1e-14)
        assert fresh == pytest.approx((1 - decay) / (math.log(2) / h * dt), rel=1e-12)
        w = 0.0
        for _ in range(int(40 * h / dt)):
            w = w * decay + 10.0 * dt * fresh  # 10 reviews a day
        assert w == pytest.approx(10.0 * h / math.log(2), rel=1e-9)


@pytest.mark.parametrize("dt", [1.0, 7.0])
def test_a_burst_of_bad_reviews_fades_with_the_half_life(dt):
    """A steady good flow, then one tick of bad reviews: their weight halves every half-life,
    and the rating returns as (5 Wg + 1 Wb) / (Wg + Wb) says."""
    h = 28.0
    spec = Reputation(enabled=True, half_life_days=h, prior_days=dt, promoter_post=0.1,
                      detractor_post=0.1, passive_post=0.0)
    good = 100.0 * dt  # promoter episodes a tick: 10 good reviews a day
    r = PublicRating(spec, dt, flow0=10.0)  # the prior: the same flow, forever
    r.observe(tot(promoters=good))
    assert r.rating == pytest.approx(5.0, rel=1e-12)
    steady = 10.0 * h / math.log(2)
    burst = 300.0  # detractor episodes in one tick: 30 bad reviews
    r.observe(tot(promoters=good, detractors=burst))
    decay, fresh = memory(dt, h)
    bad0 = 0.1 * burst * fresh
    ratings = []
    for _ in range(int(4 * h / dt)):
        r.observe(tot(promoters=good))
        ratings.append(r.rating)
    for k, rating in enumerate(ratings, start=1):
        bad = bad0 * 2.0 ** (-k * dt / h)  # halves every h days
        assert rating == pytest.approx((5 * steady + bad) / (steady + bad), rel=1e-9)
    # the bad reviews' weight read back from the rating: exactly half after each half-life
    rating = np.array(ratings)
    bad = steady * (5.0 - rating) / (rating - 1.0)
    k = round(h / dt)
    assert bad[2 * k - 1] / bad[k - 1] == pytest.approx(0.5, rel=1e-9)
    assert bad[3 * k - 1] / bad[k - 1] == pytest.approx(0.25, rel=1e-9)


def test_the_prior_comes_from_the_first_days_and_sets_the_reference():
    """prior_rating 0: the mean stars of the first prior_days' reviews; the factor is 1 until
    then, and the reference is that mean."""
    spec = Reputation(enabled=True, prior_days=3.0, p_elasticity=0.5)
    r = PublicRating(spec, 1.0, flow0=5.0)
    assert math.isnan(r.rating) and r.factors() == (1.0, 1.0)
    counts = [(1000, 0, 0), (0, 0, 1000), (500, 500, 500)]
    for c in counts[:2]:
        r.observe(tot(*c))
        assert r.prior is None and r.factors() == (1.0, 1.0)
    r.observe(tot(*counts[2]))
    n, stars = np.sum([reviews_of(*c, spec) for c in counts], axis=0)
    assert r.prior == pytest.approx(stars / n, rel=1e-12) and r.reference == r.prior
    r.observe(tot(promoters=2000))  # good reviews from now on: the rating rises, p with it
    fp, fq = r.factors()
    assert r.rating > r.reference
    assert fp == pytest.approx(math.exp(0.5 * (r.rating - r.reference)), rel=1e-12)
    assert fq == 1.0  # q_elasticity 0


def test_bass_today_scales_p_and_q():
    spec = Reputation(enabled=True, prior_rating=4.5, reference_rating=4.0, p_elasticity=0.3,
                      q_elasticity=0.1)
    r = PublicRating(spec, 1.0, flow0=1.0)
    beh = cxsim.CXModel(resize(cxsim.default_scenario(), customers=500, days=2),
                        rng=0).behaviour
    b = r.bass_today(beh)
    p, q = beh.p_tick * math.exp(0.15), beh.q_tick * math.exp(0.05)
    assert b["p_tick"] == pytest.approx(p, rel=1e-15) and b["q_tick"] == pytest.approx(q)
    assert b["bass_e"] == pytest.approx(math.exp(-(p + q)), rel=1e-15)
    assert b["bass_1me"] == pytest.approx(1 - math.exp(-(p + q)), rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(*[st.floats(0, 1e5)] * 3), min_size=1, max_size=30),
       st.floats(1.0, 5.0), st.sampled_from([0.5, 1.0, 7.0]))
def test_rating_stays_within_the_stars(counts, prior, dt):
    """Whatever the counts, the rating lies between the lowest and highest stars (and the
    prior), and the factor is positive and rises with the rating."""
    spec = Reputation(enabled=True, prior_rating=prior, passive_stars=3.0, detractor_stars=1.5)
    r = PublicRating(spec, dt, flow0=3.0)
    for c in counts:
        r.observe(tot(*c))
        assert min(1.5, prior) - 1e-9 <= r.rating <= 5.0 + 1e-9
    assert marketing_factor(r.rating, 3.0, 0.2) > 0
    assert marketing_factor(4.0, 3.0, 0.2) > marketing_factor(3.9, 3.0, 0.2)


# --------------------------------------------------------------------------------------------
# the model with it off, on without effect, and on
# --------------------------------------------------------------------------------------------


def test_off_adds_nothing(small):
    m = cxsim.CXModel(small, rng=3).run(5)
    assert m.reputation is None
    assert not {"rating", "reviews", "marketing_factor"} & set(m.metrics.columns)
    assert "rating" not in m.summary()
    b = m.behaviour
    assert (m.today.p_tick, m.today.q_tick, m.today.bass_e, m.today.bass_1me) == (
        b.p_tick, b.q_tick, b.bass_e, b.bass_1me)


def test_a_rating_without_effect_changes_no_customer(small):
    """Enabled with both elasticities 0: every figure of the run is the same as off."""
    off = cxsim.CXModel(small, rng=9).run()
    on = cxsim.CXModel(with_reputation(small, p_elasticity=0.0), rng=9).run()
    got = on.metrics
    assert list(got.columns[-3:]) == ["rating", "reviews", "marketing_factor"]
    pd.testing.assert_frame_equal(got.drop(columns=["rating", "reviews", "marketing_factor"]),
                                  off.metrics, check_exact=True)
    assert (got["marketing_factor"] == 1.0).all()
    s = on.summary()
    assert 1.0 < s["rating"] < 5.0 and s["reviews"] > 0 and s["marketing_factor"] == 1.0
    assert s["reviews"] == pytest.approx(got["reviews"].sum())
    assert s["rating"] == got["rating"].iloc[-1]


def test_engines_threads_and_ensembles_agree_with_it_on(monkeypatch):
    """600 customers with a strong rating effect: mesa equals numba, two threads equal one
    (the serial bar lowered so the pass runs threaded) and ensemble members their runs."""
    sc = with_reputation(resize(cxsim.default_scenario(), customers=600, days=25),
                         p_elasticity=2.0, q_elasticity=0.5, prior_days=5.0)
    a = cxsim.CXModel(sc, rng=31).run()
    assert a.metrics["marketing_factor"].iloc[-1] != 1.0  # the rating acts
    b = cxsim.CXModel(sc, rng=31, engine="mesa").run()
    pd.testing.assert_frame_equal(a.metrics, b.metrics, check_exact=True)
    monkeypatch.setattr(model_module, "SERIAL_BELOW", 0)
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = cxsim.CXModel(sc, rng=31).run()
    finally:
        numba.set_num_threads(threads)
    two = cxsim.CXModel(sc, rng=31).run()
    pd.testing.assert_frame_equal(one.metrics, two.metrics, check_exact=True)
    pd.testing.assert_frame_equal(a.metrics, two.metrics, check_exact=True)
    monkeypatch.undo()
    off = dataclasses.replace(sc, reputation=Reputation())
    ens = cxsim.Ensemble([sc, off, sc], seeds=[31, 31, 32]).run()
    for scn, seed, member in zip([sc, off, sc], [31, 31, 32], ens.models, strict=True):
        alone = cxsim.CXModel(scn, rng=seed).run()
        pd.testing.assert_frame_equal(alone.metrics, member.metrics, check_exact=True)
        assert alone.summary() == member.summary()


# --------------------------------------------------------------------------------------------
# direction: paired replications
# --------------------------------------------------------------------------------------------

SEEDS = range(4)


@pytest.fixture(scope="module")
def worse_courier() -> dict[str, list[pd.DataFrame]]:
    """The retailer (5,000 customers, 150 days) whose courier gets worse from day 40 (after
    the prior's month), with the rating on (a strong elasticity, 2 per star, to be seen in a
    small market) and off, and the baseline with it on."""
    base = resize(cxsim.default_scenario(), customers=5000, days=150)
    worse = Strategy(interventions=[Intervention(type="partner_sla", target="courier",
                                                 start=40, amount=-0.3)])
    base = dataclasses.replace(base, strategies={"worse": worse})
    on = with_reputation(base, p_elasticity=2.0)
    out: dict[str, list[pd.DataFrame]] = {"on": [], "off": [], "baseline": []}
    for seed in SEEDS:
        out["on"].append(cxsim.CXModel(on, rng=seed, strategy="worse").run().metrics)
        out["off"].append(cxsim.CXModel(base, rng=seed, strategy="worse").run().metrics)
        out["baseline"].append(cxsim.CXModel(on, rng=seed).run().metrics)
    return out


def test_a_worse_courier_lowers_the_rating(worse_courier):
    d = [w["rating"].iloc[-1] - b["rating"].iloc[-1]
         for w, b in zip(worse_courier["on"], worse_courier["baseline"], strict=True)]
    assert_down(d, "rating: worse courier - baseline")


def test_a_lower_rating_costs_new_customers(worse_courier):
    """The same worse courier: fewer new customers with the rating on than off."""
    d = [on["new"].sum() - off["new"].sum()
         for on, off in zip(worse_courier["on"], worse_courier["off"], strict=True)]
    assert_down(d, "new customers: reputation on - off, worse courier")
    for on in worse_courier["on"]:
        assert on["marketing_factor"].iloc[-1] < 0.9


def test_a_higher_rating_brings_more_customers():
    """A rating above the reference (1 star here) scales marketing up: more new customers
    than with the rating off, and 1 + more as the elasticity grows."""
    base = resize(cxsim.default_scenario(), customers=3000, days=60)
    news = {}
    for elasticity in (0.0, 0.2, 0.4):
        sc = with_reputation(base, reference_rating=1.0, prior_rating=3.0,
                             p_elasticity=elasticity)
        news[elasticity] = [cxsim.CXModel(sc, rng=s).run().metrics["new"].sum()
                            for s in SEEDS]
    off = [cxsim.CXModel(base, rng=s).run().metrics["new"].sum() for s in SEEDS]
    assert news[0.0] == off  # no effect: the same customers
    assert_up(np.subtract(news[0.2], off), "new customers: rating above the reference")
    assert_up(np.subtract(news[0.4], news[0.2]), "new customers: stronger elasticity")


# --------------------------------------------------------------------------------------------
# tick invariance
# --------------------------------------------------------------------------------------------


def test_the_rating_does_not_depend_on_the_tick_length():
    """Daily and weekly ticks (5,000 customers, 182 days, 5 seeds each): the rating at the end
    and the reviews per day agree within 3 standard errors of their difference."""
    figures = {}
    for dt in (1.0, 7.0):
        sc = resize(cxsim.default_scenario(), customers=5000, days=182)
        sc = dataclasses.replace(sc, simulation=dataclasses.replace(
            sc.simulation, tick_days=dt, ticks=round(182 / dt)))
        sc = with_reputation(sc, prior_days=28.0)
        runs = [cxsim.CXModel(sc, rng=100 + s).run().metrics for s in range(5)]
        figures[dt] = (np.array([m["rating"].iloc[-1] for m in runs]),
                       np.array([m["reviews"].sum() / 182 for m in runs]))
    for k, what in enumerate(("rating", "reviews per day")):
        a, b = figures[1.0][k], figures[7.0][k]
        (ma, sa), (mb, sb) = mean_se(a), mean_se(b)
        assert abs(ma - mb) <= 3 * math.hypot(sa, sb) + 1e-3 * abs(ma), (what, ma, mb, sa, sb)


# --------------------------------------------------------------------------------------------
# fields: files, the command line, validation
# --------------------------------------------------------------------------------------------


def test_reachable_from_a_scenario_file_and_the_command_line(tmp_path):
    data = minimal_dict(reputation={"enabled": True, "half_life_days": 90.0,
                                    "p_elasticity": 0.2})
    assert Scenario.from_dict(data).reputation.half_life_days == 90.0
    out = tmp_path / "run"
    code, _, err = call(["run", "--customers", "1500", "--days", "10", "--seed", "1",
                         "--set", "reputation.enabled=true", "--out", out])
    assert code == 0, err
    metrics = pd.read_csv(out / "metrics.csv")
    summary = json.loads((out / "summary.json").read_text())
    assert {"rating", "reviews", "marketing_factor"} <= set(metrics.columns)
    assert summary["rating"] == pytest.approx(metrics["rating"].iloc[-1])
    code, _, err = call(["run", "--customers", "1500", "--days", "5", "--set",
                         "reputation.half_life_days=0", "--out", tmp_path / "bad"])
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "reputation.half_life_days" in err and "Traceback" not in err


@pytest.mark.parametrize("values, message", [
    ({"promoter_post": 1.5}, "reputation.promoter_post must be in [0, 1], got 1.5"),
    ({"half_life_days": 0}, "reputation.half_life_days must be in (0, 100000], got 0"),
    ({"prior_rating": 0.5}, "reputation.prior_rating must be 0 (from the model) or in [1, 5]"),
    ({"reference_rating": 7}, "reputation.reference_rating must be in [0, 5], got 7"),
    ({"p_elasticity": -1}, "reputation.p_elasticity must be in [0, 10], got -1"),
    ({"detractor_stars": 4.5}, "detractor_stars <= passive_stars <= promoter_stars"),
    ({"enabled": True, "promoter_post": 0, "passive_post": 0, "detractor_post": 0},
     "reputation: nobody posts a review"),
    ({"enabled": "yes"}, "reputation.enabled must be true or false, got 'yes'"),
    ({"stars": 5}, "reputation: unknown key 'stars'"),
])
def test_bad_values_are_one_line_each(values, message):
    with pytest.raises(ScenarioError) as info:
        Scenario.from_dict(minimal_dict(reputation=values))
    assert any(message in p for p in info.value.problems), info.value.problems


def test_compare_carries_the_rating(tmp_path):
    """With the rating on, compare's table, runs and ticks carry its figures, and the folder
    reads back."""
    from cxsim.compare import read_comparison

    sc = with_reputation(resize(cxsim.default_scenario(), customers=1500, days=35),
                         prior_days=5.0)
    res = cxsim.compare(sc, ["fix_courier"], replications=2, seed=1, out=tmp_path / "c")
    assert {"rating", "reviews", "marketing_factor"} <= set(res.table["metric"])
    assert "rating" in res.ticks.columns and "rating" in res.runs.columns
    back = read_comparison(tmp_path / "c")
    assert set(back.table["metric"]) == set(res.table["metric"])


def test_the_vocabulary_declares_the_columns():
    from cxsim.vocabulary import BY_NAME, feature_metrics

    names = [m.name for m in feature_metrics()]
    assert names == ["rating", "reviews", "marketing_factor"]
    assert all(BY_NAME[n].label and BY_NAME[n].unit for n in names)


def test_the_rating_is_a_calibration_target_only_when_on(small):
    """An observed rating can be a calibration target; with the rating off, one line says
    why it cannot."""
    from cxsim.targets import TargetsError, load_targets

    table = pd.DataFrame([{"metric": "rating", "day_from": 1, "day_to": 30, "value": 3.2,
                           "sd": 0.05}])
    with pytest.raises(TargetsError) as info:
        load_targets(table, small)
    assert any("metric rating is measured only with [reputation] enabled = true" in p
               for p in info.value.problems)
    assert len(load_targets(table, with_reputation(small)).rows) == 1
