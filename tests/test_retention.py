"""Predictive retention (cxsim.retention, intervention type proactive_retention).

Docking: the expected AUC against its pairwise definition; the Hanley & McNeil standard
error against the spread of simulated AUCs.  Direction and equality tests take their
tolerances from the sampling error the waves report (Hanley & McNeil for the AUC; the
finite-population standard deviation of a random contact list's saves).
"""

from __future__ import annotations

import json
import math
import warnings

import numba
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import rankdata

import cxsim
from cxsim import model as M
from cxsim.kernels import Customers
from cxsim.retention import (
    RetentionWarning,
    calibrate,
    expected_auc,
    hanley_mcneil_se,
    normal_scores,
    offer_saves,
    period_probability,
)
from cxsim.runner import resize
from cxsim.scenario import Scenario, ScenarioError


def with_retention(sc: Scenario, name: str = "pr", **fields) -> Scenario:
    """``sc`` with a strategy ``name`` of one proactive_retention intervention."""
    data = sc.to_dict()
    iv = {"type": "proactive_retention", "amount": 0.1, **fields}
    data["strategies"][name] = {"interventions": [iv]}
    return Scenario.from_dict(data, check_horizon=False)


def run(sc: Scenario, seed: int, strategy: str | None = "pr", **kw) -> cxsim.CXModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RetentionWarning)
        return cxsim.CXModel(sc, rng=seed, strategy=strategy, **kw).run()


@pytest.fixture(scope="module")
def retail() -> Scenario:
    return resize(cxsim.default_scenario(), customers=20_000, days=240)


# ============================================================================================
# the score and its AUC
# ============================================================================================


def brute_auc(score, p) -> float:
    num = den = 0.0
    for i in range(len(score)):
        for j in range(len(score)):
            if i == j:
                continue
            w = p[i] * (1 - p[j])
            den += w
            num += w * (1.0 if score[i] > score[j] else 0.5 if score[i] == score[j] else 0.0)
    return num / den


def test_expected_auc_is_the_pairwise_definition():
    rng = np.random.default_rng(3)
    score = rng.integers(0, 6, 40).astype(float)  # many ties
    p = rng.uniform(0, 0.5, 40)
    assert expected_auc(score, p) == pytest.approx(brute_auc(score, p), rel=1e-12)
    y = (rng.uniform(size=40) < 0.3).astype(float)  # outcomes: the Mann-Whitney AUC
    assert expected_auc(score, y) == pytest.approx(brute_auc(score, y), rel=1e-12)
    assert math.isnan(expected_auc(score[:1], p[:1]))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(-5, 5), st.floats(0.001, 0.999)), min_size=2,
                max_size=60))
def test_expected_auc_properties(items):
    s = np.array([a for a, _ in items])
    p = np.array([b for _, b in items])
    a = expected_auc(s, p)
    assert 0.0 <= a <= 1.0
    # reversing the order mirrors it (ties count one half either way)
    assert a + expected_auc(-s, p) == pytest.approx(1.0, abs=1e-12)
    # only the order counts (dense ranks keep the ties)
    assert expected_auc(rankdata(s, method="dense"), p) == pytest.approx(a, abs=1e-12)


def test_hanley_mcneil_matches_the_spread_of_simulated_aucs():
    # exponential scores (Hanley & McNeil's own case): positives rate 1, negatives rate 3,
    # AUC = 3 / 4; the formula's standard error against 3,000 simulated studies
    rng = np.random.default_rng(7)
    n1, n2, a = 40, 60, 0.75
    aucs = []
    for _ in range(3000):
        s = np.concatenate([rng.exponential(1.0, n1), rng.exponential(1 / 3, n2)])
        y = np.r_[np.ones(n1), np.zeros(n2)]
        aucs.append(expected_auc(s, y))
    assert np.mean(aucs) == pytest.approx(a, abs=0.003)
    assert np.std(aucs) == pytest.approx(hanley_mcneil_se(a, n1, n2), rel=0.06)


def test_calibrate_hits_the_target_and_says_when_it_cannot():
    rng = np.random.default_rng(11)
    p = np.exp(rng.normal(-6.5, 0.8, 20_000))
    h = period_probability(p, 30)
    z, e = normal_scores(p), rng.normal(size=p.size)
    oracle = expected_auc(p, h)
    assert expected_auc(z, h) == pytest.approx(oracle, abs=1e-12)  # z keeps the order
    for target in (0.55, 0.65, 0.7):
        theta, got, orc, capped = calibrate(z, e, h, target)
        assert got == pytest.approx(target, abs=2e-5) and not capped and 0 < theta < math.pi / 2
        score = math.cos(theta) * z + math.sin(theta) * e
        assert expected_auc(score, h) == pytest.approx(got, abs=1e-12)
    theta, got, _, capped = calibrate(z, e, h, 0.5)  # pure noise, no search
    assert theta == math.pi / 2 and not capped
    theta, got, _, capped = calibrate(z, e, h, 0.99)  # above the oracle: capped, said
    assert theta == 0.0 and capped and got == pytest.approx(oracle)
    assert oracle < 0.9  # even a perfect score: churn is a coin flip


def test_saves_and_period_probability_by_hand():
    p0 = np.array([0.001, 0.01])
    got = offer_saves(p0, -0.5, 90)
    p1 = 1 / (1 + np.exp(-(np.log(p0 / (1 - p0)) - 0.5)))
    assert got == pytest.approx((1 - p1) ** 90 - (1 - p0) ** 90, rel=1e-12)
    assert period_probability(p0, 30) == pytest.approx(1 - (1 - p0) ** 30, rel=1e-12)


# ============================================================================================
# in the model
# ============================================================================================


def test_off_costs_no_state_and_adds_no_columns():
    sc = resize(cxsim.default_scenario(), customers=2000, days=5)
    m = cxsim.CXModel(sc, rng=1).run()
    assert not any(c.startswith("retention_") for c in m.metrics.columns)
    assert not any(k.startswith("retention_") for k in m.summary())
    assert m.retention_waves.empty
    assert not m.interventions.retention
    assert Customers.empty(3).nbytes_per_customer == 45


def test_achieved_auc_is_within_noise_of_the_configured(retail):
    # a small share reached, so the customers not reached (on whose outcomes the AUC is
    # measured) are nearly all the scored ones and their expected AUC the configured one
    sc = with_retention(retail, amount=0.01, auc=0.75)
    z = []
    for seed in (1, 2):
        w = run(sc, seed).retention_waves
        assert (w["auc_model"] - 0.75).abs().max() < 1e-4  # the score's expected AUC
        done = w.dropna(subset=["auc"])
        assert len(done) >= 6
        assert (done["auc_expected"] - 0.75).abs().max() < 0.02
        z.extend(((done["auc"] - done["auc_expected"]) / done["auc_se"]).tolist())
    # the waves' realised AUCs scatter around their expectation by Hanley & McNeil's error
    z = np.array(z)
    assert abs(z.mean()) < 3.0 / math.sqrt(len(z))
    assert 0.4 < z.std() < 1.6


def test_the_oracle_saves_more_than_a_random_score(retail):
    sc = with_retention(with_retention(retail, "oracle", auc=1.0), "noise", auc=0.5)
    diffs, saved = [], []
    for seed in (3, 4, 5):
        with pytest.warns(RetentionWarning, match="above the oracle"):
            a = cxsim.CXModel(sc, rng=seed, strategy="oracle").run()
        b = run(sc, seed, "noise")
        wa, wb = a.retention_waves, b.retention_waves
        assert wa["capped"].all() and (wa["auc_model"] == wa["auc_oracle"]).all()
        assert wa["lift"].min() > 2.0 and wb["lift"].max() < 1.5
        saved.append(wa["saves"].sum() - wb["saves"].sum())
        diffs.append(b.summary()["churned"] - a.summary()["churned"])
    assert min(saved) > 0
    # realised churn: fewer customers lost with the oracle, beyond the paired spread
    d = np.array(diffs, dtype=float)
    assert d.mean() > 2 * d.std(ddof=1) / math.sqrt(len(d))


def test_at_auc_one_half_it_is_untargeted_outreach_of_the_same_size(retail):
    # pure noise picks a uniform random sample of the scored customers: its expected saves
    # and precision are a random list's, within the finite-population sampling error
    sc = with_retention(retail, amount=0.1, auc=0.5)
    z = []
    for seed in (6, 7):
        w = run(sc, seed).retention_waves
        assert (w["theta"] == math.pi / 2).all()
        z.extend(((w["saves"] - w["saves_random"]) / w["saves_random_sd"]).tolist())
    z = np.array(z)
    assert np.abs(z).max() < 4.0 and abs(z.mean()) < 3.0 / math.sqrt(len(z))


def test_waves_contacts_cost_and_offers(retail):
    sc = with_retention(resize(retail, customers=5000, days=100), amount=0.2, cadence=30,
                        offer_cost=7.5, offer_days=45, offer_effect=-1.0, cost_per_tick=2.0)
    m = run(sc, 9)
    w = m.retention_waves
    assert w["tick"].tolist() == [1, 31, 61, 91]
    assert (w["contacts"] == np.floor(0.2 * w["scored"] + 0.5)).all()
    metrics = m.metrics
    assert metrics["retention_contacts"].sum() == w["contacts"].sum()
    # the offer cost is intervention cost, with the running cost
    assert metrics["intervention_cost"].sum() == pytest.approx(
        7.5 * w["contacts"].sum() + 2.0 * 100)
    s = m.summary()
    assert s["retention_contacts"] == w["contacts"].sum()
    assert s["retention_cost_per_save"] == pytest.approx(7.5 * w["contacts"].sum()
                                                         / w["saves"].sum())
    assert s["retention_precision"] == pytest.approx(w["at_risk"].sum() / w["contacts"].sum())
    # offers hold 45 days: the last wave's contacts hold until tick 91 + 44
    until = next(iter(m.interventions.retention.values())).offer_until
    assert (until == 0).sum() > 0 and until.max() == 91 + 44
    # a customer whose offer still holds is not scored again
    assert w["scored"].iloc[1] < w["scored"].iloc[0]


def test_scoring_is_deterministic_per_seed(retail):
    sc = with_retention(resize(retail, customers=3000, days=70))
    a, b, c = run(sc, 21), run(sc, 21), run(sc, 22)
    pd.testing.assert_frame_equal(a.retention_waves, b.retention_waves, check_exact=True)
    pd.testing.assert_frame_equal(a.metrics, b.metrics, check_exact=True)
    assert not a.retention_waves["theta"].equals(c.retention_waves["theta"])


def test_engines_threads_and_ensembles_agree_with_the_feature_on(retail):
    sc = with_retention(resize(retail, customers=600, days=40), amount=0.3, cadence=10,
                        offer_days=15, offer_effect=-2.0)
    a = run(sc, 31, engine="numba")
    b = run(sc, 31, engine="mesa")
    assert a.retention_waves["contacts"].sum() > 0
    pd.testing.assert_frame_equal(a.metrics, b.metrics, check_exact=True)
    pd.testing.assert_frame_equal(a.retention_waves, b.retention_waves, check_exact=True)
    assert (a.arrays.churn_logit == b.arrays.churn_logit).all()
    threads = numba.get_num_threads()
    big = M.SERIAL_BELOW
    try:
        M.SERIAL_BELOW = 0  # every thread at work
        numba.set_num_threads(1)
        one = run(sc, 31)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = run(sc, 31)
    finally:
        numba.set_num_threads(threads)
        M.SERIAL_BELOW = big
    pd.testing.assert_frame_equal(one.metrics, two.metrics, check_exact=True)
    pd.testing.assert_frame_equal(one.metrics, a.metrics, check_exact=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RetentionWarning)
        ens = cxsim.Ensemble(sc, seeds=[31, 32], strategies="pr").run()
    pd.testing.assert_frame_equal(ens.models[0].metrics, a.metrics, check_exact=True)
    assert ens.models[0].summary() == a.summary()


def test_compare_shows_the_roi_of_a_retention_strategy():
    sc = with_retention(resize(cxsim.default_scenario(), customers=2000, days=40))
    res = cxsim.compare(sc, strategies=["pr"], replications=2, workers=1)
    roi = res.roi.set_index("strategy")
    assert roi.loc["pr", "intervention_cost"] > 0 and math.isfinite(roi.loc["pr", "roi"])


# ============================================================================================
# validation
# ============================================================================================


@pytest.mark.parametrize("iv, message", [
    ({"type": "proactive_retention", "amount": 1.5},
     "strategies.s.interventions[0].amount: proactive_retention reaches a share"),
    ({"type": "proactive_retention", "amount": 0.1, "auc": 0.4},
     "strategies.s.interventions[0].auc"),
    ({"type": "proactive_retention", "amount": 0.1, "cadence": 0},
     "strategies.s.interventions[0].cadence"),
    ({"type": "train", "target": "contact_centre", "amount": 0.1, "auc": 0.8},
     "strategies.s.interventions[0].auc: only proactive_retention takes auc"),
    ({"type": "proactive_retention", "amount": 0.1, "target": "nobody"},
     "strategies.s.interventions[0].target: unknown segment 'nobody'"),
])
def test_validation_errors_are_one_line(iv, message):
    data = cxsim.default_scenario().to_dict()
    data["strategies"]["s"] = {"interventions": [iv]}
    with pytest.raises(ScenarioError) as err:
        Scenario.from_dict(data)
    lines = [e for e in err.value.all_problems if message in e]
    assert len(lines) == 1 and "\n" not in lines[0]


def test_at_most_one_programme_per_strategy():
    data = cxsim.default_scenario().to_dict()
    iv = {"type": "proactive_retention", "amount": 0.1}
    data["strategies"]["s"] = {"interventions": [iv, iv]}
    with pytest.raises(ScenarioError, match="at most one proactive_retention"):
        Scenario.from_dict(data)


def test_a_scenario_file_reaches_it(tmp_path, capsys):
    from cxsim.cli import main
    from cxsim.scenario import scenario_dir

    text = (scenario_dir() / "retail.toml").read_text()
    good = tmp_path / "good.toml"
    good.write_text(text + '\n[strategies.churn_model]\ndescription = "x"\n'
                    '[[strategies.churn_model.interventions]]\ntype = "proactive_retention"\n'
                    'target = "loyal"\namount = 0.05\nauc = 0.8\ncadence = 14\n'
                    'offer_cost = 4.0\noffer_effect = -0.7\noffer_days = 60\n')
    sc = cxsim.load_scenario(good)
    iv = sc.strategies["churn_model"].interventions[0]
    assert (iv.auc, iv.cadence, iv.offer_cost, iv.offer_effect, iv.offer_days) == (
        0.8, 14, 4.0, -0.7, 60)
    out = tmp_path / "run"
    assert main(["run", str(good), "--strategy", "churn_model", "--customers", "2000",
                 "--days", "40", "--out", str(out), "--quiet"]) == 0
    waves = pd.read_csv(out / "retention.csv")
    assert waves["tick"].tolist() == [1, 15, 29] and (waves["contacts"] > 0).all()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["retention_contacts"] == waves["contacts"].sum()
    assert "retention_auc_model" in pd.read_csv(out / "metrics.csv").columns
    bad = tmp_path / "bad.toml"
    bad.write_text(good.read_text().replace("auc = 0.8", "auc = 1.2"))
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [e for e in err if "strategies.churn_model.interventions[0].auc" in e]
    assert len(err) == 1
