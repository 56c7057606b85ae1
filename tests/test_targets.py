"""Targets files: validation, measurement by the metrics' rules, observation models."""

from __future__ import annotations

import dataclasses
import math
import pickle
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from conftest import minimal_scenario
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.special import logsumexp

import cxsim
from cxsim import targets as T
from cxsim import vocabulary as V
from cxsim.metrics import aggregate, aggregate_part
from cxsim.runner import resize, run
from cxsim.targets import Targets, TargetsError, load_targets


@pytest.fixture(scope="module")
def scenario():
    return resize(cxsim.default_scenario(), customers=2000, days=60)


@pytest.fixture(scope="module")
def result(scenario):
    return run(scenario, 3)


def targets(scenario, *rows, days=None) -> Targets:
    return load_targets(pd.DataFrame(list(rows)), scenario, days=days)


def row(metric, value, day_from=1, day_to=60, **extra) -> dict:
    return {"metric": metric, "day_from": day_from, "day_to": day_to, "value": value, **extra}


def one_rep(m, aux=np.nan) -> np.ndarray:
    """A measurement of one target on one run."""
    return np.array([[[m, aux]]], dtype=float)


def reps(values, aux=np.nan) -> np.ndarray:
    """A measurement of one target on len(values) replicate runs."""
    return np.array([[[v, aux]] for v in values], dtype=float)


# --------------------------------------------------------------------------------------------
# observation models against scipy
# --------------------------------------------------------------------------------------------


def test_plain_families_match_scipy():
    x, n, p = np.array([0, 3, 7, 50]), np.array([10, 10, 40, 50]), np.array([.1, .3, .2, .9])
    assert T.binomial_logpmf(x, n, p) == pytest.approx(stats.binom.logpmf(x, n, p), rel=1e-12)
    mu = np.array([0.5, 3.0, 12.3, 400.0])
    assert T.negbinomial_logpmf(x, mu) == pytest.approx(stats.poisson.logpmf(x, mu),
                                                        rel=1e-12)
    assert T.normal_logpdf(1.0, 0.5, 4.0) == pytest.approx(stats.norm.logpdf(1.0, 0.5, 2.0))


def test_compound_families_match_scipy():
    p, var = 0.2, 0.001
    alpha = p * (1 - p) / var - 1
    for x in (0, 7, 30, 50):
        assert T.binomial_logpmf(x, 50, p, var) == pytest.approx(
            stats.betabinom.logpmf(x, 50, p * alpha, (1 - p) * alpha), rel=1e-10)
    mu, v = 12.3, 4.0
    r = mu * mu / v
    for x in (0, 10, 40):
        assert T.negbinomial_logpmf(x, mu, v) == pytest.approx(
            stats.nbinom.logpmf(x, r, r / (r + mu)), rel=1e-10)
    # a tiny variance is the plain family, without the cancellation of huge log-gammas
    assert T.binomial_logpmf(30_000, 10**6, 0.03, 1e-15) == pytest.approx(
        stats.binom.logpmf(30_000, 10**6, 0.03), abs=1e-6)
    assert T.negbinomial_logpmf(10, mu, 1e-12) == pytest.approx(
        stats.poisson.logpmf(10, mu), abs=1e-9)


def nps_by_hand(k, n, pp, pd_, alpha=None) -> float:
    terms = []
    for d in range(max(0, -k), (n - k) // 2 + 1):
        counts = [k + d, n - k - 2 * d, d]
        shares = [pp, 1 - pp - pd_, pd_]
        if alpha is None:
            terms.append(stats.multinomial.logpmf(counts, n, shares))
        else:
            terms.append(stats.dirichlet_multinomial.logpmf(
                counts, [alpha * s for s in shares], n))
    return float(logsumexp(terms))


@pytest.mark.parametrize("k", [-10, -4, 0, 1, 3, 9, 10])
def test_nps_sum_is_the_multinomial_sum(k):
    assert T.nps_logpmf(k, 10, 0.4, 0.25) == pytest.approx(nps_by_hand(k, 10, .4, .25),
                                                          rel=1e-12)
    for alpha in (0.3, 7.0, 2e5):
        assert T.nps_logpmf(k, 10, 0.4, 0.25, alpha) == pytest.approx(
            nps_by_hand(k, 10, .4, .25, alpha), rel=1e-9)
    # the probabilities of every net score add up to one
    total = logsumexp([T.nps_logpmf(j, 10, 0.4, 0.25) for j in range(-10, 11)])
    assert total == pytest.approx(0.0, abs=1e-12)


def test_nps_truncated_sum_equals_the_whole_sum(monkeypatch):
    n = 200_000
    got = [T.nps_logpmf(round(0.15 * n), n, 0.45, 0.30),
           T.nps_logpmf(round(0.15 * n), n, 0.45, 0.30, 5000.0),
           T.nps_logpmf(round(0.30 * n), n, 0.45, 0.30, 0.5),
           T.nps_logpmf(-n // 2, n, 1e-6, 0.7)]
    monkeypatch.setattr(T, "NPS_EXACT_TERMS", 10**9)
    whole = [T.nps_logpmf(round(0.15 * n), n, 0.45, 0.30),
             T.nps_logpmf(round(0.15 * n), n, 0.45, 0.30, 5000.0),
             T.nps_logpmf(round(0.30 * n), n, 0.45, 0.30, 0.5),
             T.nps_logpmf(-n // 2, n, 1e-6, 0.7)]
    assert got == pytest.approx(whole, rel=1e-13)
    t0 = time.perf_counter()
    assert math.isfinite(T.nps_logpmf(150_000, 10**6, 0.45, 0.30))
    assert time.perf_counter() - t0 < 1.0


# --------------------------------------------------------------------------------------------
# Targets.loglik: each family, the Monte Carlo error, floors and weights
# --------------------------------------------------------------------------------------------


def test_loglik_binomial_and_beta_binomial(scenario):
    t = targets(scenario, row("fcr", 0.8, n=200))
    assert t.rows[0].family == "binomial"
    total, per = t.loglik(one_rep(0.75, 5000))
    assert total == per[0] == pytest.approx(stats.binom.logpmf(160, 200, 0.75))
    # three replicates: Beta of mean m and variance e + v: the replicates' variance s²
    # beyond a binomial's at the simulated size (n / scale units), and v = s² / R
    ms = [0.70, 0.75, 0.80]
    m, s2 = np.mean(ms), np.var(ms, ddof=1)
    for scale in (1.0, 10.0):
        var = max(s2 - m * (1 - m) * scale / 200, 0.0) + s2 / 3
        alpha = m * (1 - m) / var - 1
        assert t.loglik(reps(ms, 5000), scale)[0] == pytest.approx(
            stats.betabinom.logpmf(160, 200, m * alpha, (1 - m) * alpha))
    # replicates spread no more than binomial sampling: only their mean's error counts
    small = [0.74, 0.75, 0.76]
    m, s2 = np.mean(small), np.var(small, ddof=1)
    assert s2 < m * (1 - m) / 200
    alpha = m * (1 - m) / (s2 / 3) - 1
    assert t.loglik(reps(small, 5000))[0] == pytest.approx(
        stats.betabinom.logpmf(160, 200, m * alpha, (1 - m) * alpha))
    # identical replicates: no Monte Carlo error, the plain binomial
    assert t.loglik(reps([0.75, 0.75], 5000))[0] == pytest.approx(
        stats.binom.logpmf(160, 200, 0.75))
    bb = targets(scenario, row("fcr", 0.8, n=200, dispersion=0.1))
    assert bb.rows[0].family == "beta-binomial"
    a0 = 1 / 0.1 - 1
    assert bb.loglik(one_rep(0.75, 5000))[0] == pytest.approx(
        stats.betabinom.logpmf(160, 200, 0.75 * a0, 0.25 * a0))


def test_loglik_poisson_and_negative_binomial(scenario):
    t = targets(scenario, row("churned", 40))
    assert t.rows[0].family == "poisson"
    assert t.loglik(one_rep(33.0, 1.0))[0] == pytest.approx(stats.poisson.logpmf(40, 33.0))
    # the Gamma's variance: the replicates' variance beyond their own Poisson, plus s² / R
    ms = [30.0, 33.0, 39.0]
    m, s2 = np.mean(ms), np.var(ms, ddof=1)
    r = m * m / (max(s2 - m, 0.0) + s2 / 3)
    assert t.loglik(reps(ms, 1.0))[0] == pytest.approx(stats.nbinom.logpmf(40, r, r / (r + m)))
    # counts of an organisation 3 times the model: each simulated event stands for 3
    r = m * m / (max(s2 - 3 * m, 0.0) + s2 / 3)
    assert t.loglik(reps(ms, 3.0), 3.0)[0] == pytest.approx(
        stats.nbinom.logpmf(40, r, r / (r + m)))
    nb = targets(scenario, row("churned", 40, dispersion=0.05))
    assert nb.rows[0].family == "negative-binomial"
    assert nb.loglik(one_rep(33.0, 1.0))[0] == pytest.approx(
        stats.nbinom.logpmf(40, 20.0, 20.0 / (20.0 + 33.0)))


def test_loglik_normal(scenario):
    t = targets(scenario, row("csat", 3.9, sd=0.05))
    assert t.rows[0].family == "normal"
    assert t.loglik(one_rep(3.8))[0] == pytest.approx(stats.norm.logpdf(3.9, 3.8, 0.05))
    # a level has no known sampling part: the replicates' whole variance and s² / R
    ms = [3.7, 3.8, 3.9]
    s2 = np.var(ms, ddof=1)
    assert t.loglik(reps(ms))[0] == pytest.approx(
        stats.norm.logpdf(3.9, 3.8, math.sqrt(0.05 ** 2 + s2 + s2 / 3)))


def test_loglik_nps(scenario):
    t = targets(scenario, row("nps", 20.0, day_from=31, n=10))
    assert t.rows[0].family == "nps"
    # the model: 45% promoters, NPS 15 -> 30% detractors; observed +20 of 10: k = 2
    assert t.loglik(one_rep(15.0, 0.45))[0] == pytest.approx(nps_by_hand(2, 10, .45, .30))
    # replicates: Dirichlet-multinomial whose NPS has the replicates' variance
    ms, pp = [10.0, 15.0, 20.0], 0.45
    s2 = np.var(ms, ddof=1) / 1e4
    q2 = pp + 0.30 - (pp - 0.30) ** 2
    alpha = q2 / (max(s2 - q2 / 10, 0.0) + s2 / 3) - 1
    assert t.loglik(reps(ms, pp))[0] == pytest.approx(nps_by_hand(2, 10, .45, .30, alpha),
                                                      rel=1e-9)
    # a dispersion: the Dirichlet's intra-class correlation, alpha = 1/rho - 1
    over = targets(scenario, row("nps", 20.0, day_from=31, n=10, dispersion=0.1))
    assert over.rows[0].family == "nps"
    assert over.loglik(one_rep(15.0, 0.45))[0] == pytest.approx(
        nps_by_hand(2, 10, .45, .30, 9.0), rel=1e-9)


def test_monte_carlo_error_widens(scenario):
    cases = [(row("fcr", 0.5, n=400), [0.70, 0.75, 0.80], 5000),
             (row("churned", 80), [30.0, 33.0, 39.0], 1.0),
             (row("csat", 4.5, sd=0.05), [3.7, 3.8, 3.9], np.nan),
             (row("nps", -30.0, day_from=31, n=400), [10.0, 15.0, 20.0], 0.45)]
    for r, ms, aux in cases:
        t = targets(scenario, r)
        noisy = t.loglik(reps(ms, aux))[0]
        exact = t.loglik(reps([np.mean(ms)] * 3, aux))[0]
        assert noisy > exact, r["metric"]  # a far observation is likelier with v > 0


def test_nan_floors_and_weights(scenario):
    t = targets(scenario, row("churned", 5), row("fcr", 0.1, n=100),
                row("csat", 3.9, sd=0.1, weight=2), row("csat", 3.9, sd=0.1, weight=0))
    m = np.array([[[0.0, 2.0], [0.0, 400.0], [3.8, np.nan], [np.nan, np.nan]]])
    total, per = t.loglik(m)
    # no simulated event: half a simulated one (times the scale 2), not zero
    assert per[0] == pytest.approx(stats.poisson.logpmf(5, 0.5 * 2.0))
    # a share of 0 of 400 simulated units: half a unit, 1/800
    assert per[1] == pytest.approx(stats.binom.logpmf(10, 100, 0.5 / 400))
    assert per[2] == pytest.approx(2 * stats.norm.logpdf(3.9, 3.8, 0.1))
    assert per[3] == 0.0  # weight 0: left out, even without a value
    assert total == pytest.approx(per.sum())
    m[0, 2, 0] = np.nan  # no simulated value: impossible
    total, per = t.loglik(m)
    assert per[2] == -np.inf and total == -np.inf
    with pytest.raises(ValueError, match="shape"):
        t.loglik(np.zeros((2, 3, 2)))


@settings(max_examples=60, deadline=None)
@given(x=st.integers(0, 60), extra=st.integers(1, 60), shift=st.floats(0.02, 0.5))
def test_loglik_is_largest_where_the_model_matches(x, extra, shift):
    n = x + extra
    scenario = minimal_scenario()
    share = targets(scenario, row("fcr", x / n, day_to=30, n=n))
    best = share.loglik(one_rep(x / n, 1e6))[0]
    for p in (x / n - shift, x / n + shift):
        if 0 < p < 1:
            assert share.loglik(one_rep(p, 1e6))[0] < best
    count = targets(scenario, row("churned", x + 1, day_to=30))
    best = count.loglik(one_rep(x + 1, 1.0))[0]
    for mu in ((x + 1) * (1 - shift), (x + 1) * (1 + shift)):
        assert count.loglik(one_rep(mu, 1.0))[0] < best
    level = targets(scenario, row("csat", 3.0 + x / 60, day_to=30, sd=0.1))
    best = level.loglik(one_rep(3.0 + x / 60))[0]
    assert level.loglik(one_rep(3.0 + x / 60 + shift))[0] < best


# --------------------------------------------------------------------------------------------
# measuring a run by the metrics' own rules
# --------------------------------------------------------------------------------------------


def test_whole_run_targets_are_the_summary(scenario, result):
    s = result.summary
    t = targets(scenario, row("churned", 30), row("revenue", 5e4, sd=100),
                row("csat", 4.0, sd=0.1), row("service_level", 0.5, n=100),
                row("monthly_churn", 0.02, day_from=11, day_to=40, n=900),
                row("nps", 10.0, day_from=31, day_to=60, n=300),
                row("churn_rate", 0.001, n=50_000))
    got = t.measure(result, 1.0)
    assert got[0, 0] == s["churned"]
    assert got[1, 0] == pytest.approx(s["revenue"], rel=1e-12)
    assert got[2, 0] == pytest.approx(s["csat"], rel=1e-12)
    assert got[3, 0] == pytest.approx(s["service_level"], rel=1e-12)
    assert got[4, 0] == pytest.approx(aggregate(result.metrics, "monthly_churn", 11, 40),
                                      rel=1e-12)
    assert got[5, 0] == pytest.approx(s["nps"], rel=1e-12)
    assert got[6, 0] == pytest.approx(s["churn_rate"], rel=1e-12)
    m = result.metrics[result.metrics["tick"] > 30]
    assert got[5, 1] == m["nps_promoters"].sum() / m["nps_respondents"].sum()
    # the units behind the churn rate: the customers at the start of every tick
    assert got[6, 1] == s["initial_customers"] + result.metrics["active"].iloc[:-1].sum()


def test_every_metric_matches_aggregate(scenario, result):
    optional = {m.name for m in (*V.feature_metrics(), *V.RETENTION_METRICS)}
    names = [n for n in V.BY_NAME if n not in optional]
    rows = [row(name, 0.0, day_from=5, day_to=44, sd=1.0) for name in names
            if T.metric_class(None, name) in ("level", "count")]
    rows += [row(name, 0.5, day_from=5, day_to=44, sd=1.0) for name in names
             if T.metric_class(None, name) == "share"]
    rows += [row(name, 0.0, day_from=5, day_to=44, sd=1.0) for name in T.NPS_SOURCES]
    t = targets(scenario, *rows)
    got = t.measure(result, 1.0)[:, 0]
    for tg, value in zip(t.rows, got, strict=True):
        want = aggregate(result.metrics, tg.metric, 5, 44,
                         initial_customers=result.summary["initial_customers"])
        assert value == pytest.approx(want, rel=1e-12, nan_ok=True), tg.metric


def test_every_part_metric_matches_aggregate_part(scenario, result):
    tables = {"segment": result.segments, "touchpoint": result.touchpoints,
              "team": result.queues}
    names = {"segment": "occasional", "touchpoint": "phone", "team": "contact_centre"}
    rows = []
    for kind, metrics in V.PART_METRICS.items():
        for name in metrics:
            cls = T.metric_class(kind, name)
            for days in ((1, 60), (8, 20)):
                rows.append(row(name, 0.5 if cls == "share" else 1.0, *days, sd=1.0,
                                **{kind: names[kind]}))
    t = targets(scenario, *rows)
    got = t.measure(result, 1.0)[:, 0]
    for tg, value in zip(t.rows, got, strict=True):
        want = aggregate_part(tables[tg.part], tg.part, tg.part_name, tg.metric,
                              tg.day_from, tg.day_to,
                              initial=result.segment_initial.get(tg.part_name))
        assert value == pytest.approx(want, rel=1e-12, nan_ok=True), (tg.part, tg.metric)


def test_part_targets_by_hand(scenario, result):
    seg, tp, q = result.segments, result.touchpoints, result.queues
    t = targets(scenario, row("churned", 5, 11, 30, segment="loyal"),
                row("volume", 100, 1, 7, touchpoint="phone"),
                row("offered", 100, touchpoint=None, team="contact_centre"),
                row("churn_rate", 0.001, 1, 10, segment="loyal", n=5000))
    got = t.measure(result, 1.0)
    loyal = seg[seg["segment"] == "loyal"]
    assert got[0, 0] == loyal[loyal["tick"].between(11, 30)]["churned"].sum()
    phone = tp[tp["touchpoint"] == "phone"]
    assert got[1, 0] == phone[phone["tick"] <= 7]["volume"].sum()
    assert got[2, 0] == pytest.approx(q[q["team"] == "contact_centre"]["offered"].sum())
    start = [result.segment_initial["loyal"], *loyal["active"].iloc[:9]]
    assert got[3, 0] == pytest.approx(loyal["churned"].iloc[:10].sum() / sum(start))
    assert got[3, 1] == sum(start)
    # without segment_initial, the first tick's start is rebuilt from the segment's table
    bare = dataclasses.replace(result, segment_initial={})
    assert t.measure(bare, 1.0)[3, 0] == pytest.approx(got[3, 0])


def test_scale_multiplies_counts_and_money_only(scenario, result):
    t = targets(scenario, row("churned", 30), row("revenue", 5e4, sd=100),
                row("csat", 4.0, sd=0.1), row("churn_rate", 0.001, n=50_000),
                row("nps", 10.0, day_from=31, n=300), row("active", 900, sd=10),
                row("volume", 100, touchpoint="phone"),
                row("headcount", 10, team="contact_centre", sd=1),
                row("systems_down", 0, sd=1))
    one, ten = t.measure(result, 1.0), t.measure(result, 10.0)
    assert ten[:, 0] == pytest.approx(one[:, 0] * [10, 10, 1, 1, 1, 10, 10, 1, 1],
                                      nan_ok=True)
    assert ten[4, 1] == one[4, 1]  # the promoters' share does not scale
    assert ten[0, 1] == 10.0 and one[0, 1] == 1.0  # events one simulated event stands for


def test_windows_beyond_the_run_and_empty_tables(scenario, result):
    t = targets(scenario, row("churned", 1, 50, 60), row("volume", 1, touchpoint="web_shop"))
    short = dataclasses.replace(result, metrics=result.metrics.iloc[:40],
                                touchpoints=result.touchpoints.iloc[:0])
    got = t.measure(short, 1.0)
    assert np.isnan(got[:, 0]).all()
    assert t.loglik(got[None])[0] == -np.inf


def test_measure_is_fast(scenario, result):
    # a 548-tick run: the 60-tick tables repeated, ticks renumbered
    k = 10

    def long(df, per_tick):
        out = pd.concat([df] * k, ignore_index=True)
        out["tick"] = np.repeat(np.arange(1, 60 * k + 1), per_tick)[:len(out)]
        return out.iloc[:548 * per_tick]

    big = SimpleNamespace(
        metrics=long(result.metrics, 1), segments=long(result.segments, 2),
        touchpoints=long(result.touchpoints, len(scenario.touchpoints)),
        queues=long(result.queues, 1), summary=result.summary,
        segment_initial=result.segment_initial)
    sc = resize(scenario, days=548)
    rows = [row(m, 10, 1, 548, **kw) for m, kw in [
        ("churned", {}), ("new", {}), ("episodes", {}), ("queued", {}),
        ("revenue", {"sd": 1}), ("csat", {"sd": 1}), ("ces", {"sd": 1}),
        ("active", {"sd": 1}), ("nps_respondents", {})]]
    rows += [row("churn_rate", 0.01, 1, 548, n=100), row("fcr", 0.8, 30, 300, n=100),
             row("service_level", 0.8, 1, 548, n=100), row("nps", 10, 500, 530, n=100),
             row("monthly_churn", 0.02, 1, 548, n=100),
             row("churned", 1, 1, 548, segment="loyal"),
             row("churn_rate", 0.01, 1, 548, segment="loyal", n=100),
             row("volume", 10, 1, 548, touchpoint="phone"),
             row("experience", 0.5, 1, 548, touchpoint="chat", sd=1),
             row("service_level", 0.8, 1, 548, team="contact_centre", sd=1),
             row("abandonment", 0.2, 1, 548, team="contact_centre", n=100)]
    t = targets(sc, *rows)
    assert len(t) == 20
    assert np.isfinite(t.measure(big, 1.0)[:, 0]).all()
    times = []
    for _ in range(15):
        t0 = time.perf_counter()
        t.measure(big, 1.0)
        times.append(time.perf_counter() - t0)
    assert np.median(times) < 0.010


# --------------------------------------------------------------------------------------------
# Targets: table, digest, pickling, files
# --------------------------------------------------------------------------------------------


def test_table_digest_and_pickle(scenario, tmp_path):
    rows = [row("churned", 30, likelihood="Negative_Binomial", dispersion=0.1),
            row("csat", 4.0, sd=0.1, weight=2), row("fcr", 0.8, n=50),
            row("churned", 5, segment="loyal")]
    t = targets(scenario, *rows)
    table = t.table()
    assert list(table["family"]) == ["negative-binomial", "normal", "binomial", "poisson"]
    assert list(table["segment"]) == ["", "", "", "loyal"]
    assert table["n"].tolist()[2] == 50
    clone = pickle.loads(pickle.dumps(t))
    assert clone == t and clone.digest() == t.digest() and len(clone) == 4
    # the same targets from a CSV file, columns in another order: the same digest
    path = tmp_path / "targets.csv"
    pd.DataFrame(rows)[["value", "metric", "day_to", "day_from", "sd",
                                          "n", "segment", "weight", "likelihood",
                                          "dispersion"]].to_csv(path, index=False)
    assert load_targets(path, scenario).digest() == t.digest()
    changed = targets(scenario, *rows[:3], row("churned", 6, segment="loyal"))
    assert changed.digest() != t.digest()
    pq = tmp_path / "targets.parquet"
    pd.DataFrame(rows).to_parquet(pq)
    assert load_targets(pq, scenario).digest() == t.digest()
    assert t.rows[3].label == "churned (segment loyal), days 1-60"


def test_describe_names_every_metric():
    text = T.describe()
    for name in V.BY_NAME:
        assert f"`{name}`" in text
    for kind, metrics in V.PART_METRICS.items():
        for name in metrics:
            assert f"`{kind} {name}`" in text
    assert T.metric_class(None, "churned") == "count"
    assert T.metric_class(None, "active") == "level"
    assert T.metric_class("team", "service_level") == "share"


# --------------------------------------------------------------------------------------------
# refusals: one line each, naming row and column, all together
# --------------------------------------------------------------------------------------------


def refusals(scenario, text: str, tmp_path: Path, name="targets.csv", **kw) -> list[str]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TargetsError) as info:
        load_targets(path, scenario, **kw)
    assert info.value.problems == info.value.all_problems
    assert str(info.value) == "\n".join(info.value.problems)
    return info.value.problems


BAD = """metric,segment,touchpoint,team,day_from,day_to,value,n,sd,weight,likelihood,dispersion
chrun,,,,1,10,5,,,,,
csat,loyal,,,1,10,4,,0.1,,,
churned,loyl,,,1,10,5,,,,,
volume,,,,1,10,5,,,,,
churned,loyal,phone,,1,10,5,,,,,
churned,,,,1,61,5,,,,,
churned,,,,10,5,5,,,,,
churned,,,,0,5,5,,,,,
churned,,,,1,5,many,,,,,
churned,,,,1,5,inf,,,,,
churned,,,,1,5,-3,,,,,
fcr,,,,1,5,0.5,0,,,,
csat,,,,1,5,4,,0,,,
fcr,,,,1,5,1.2,100,,,,
nps,,,,1,5,120,100,,,,
churned,,,,1,5,5,,,,gaussian,
csat,,,,1,5,4,,,,,
churned,,,,1,5,5,,,-1,,
fcr,,,,1,5,0.5,,,,,
fcr,,,,1,5,0.5,100,,,beta-binomial,
churned,,,,1,5,2.5,,,,,
active,,,,1,5,900,,,,,
csat,,,,1,5,4,,,,binomial,
fcr,,,,1,5,0.5,100,,,binomial,0.1
churned,,,,1.5,5,5,,,,,
fcr,,,,1,5,0.5,10.5,,,,
fcr,,,,1,5,0.5,100,,,beta-binomial,1.5
csat,,,,1,5,4,,,,normal,
"""

EXPECTED = [
    (1, "metric", "unknown metric 'chrun' (did you mean 'churned'?"),
    (2, "segment", "metric csat has no per-segment value"),
    (3, "segment", "unknown segment 'loyl' (did you mean 'loyal'?"),
    (4, "touchpoint", "metric volume is per touchpoint: name the touchpoint"),
    (5, "touchpoint", "give at most one of segment, touchpoint, team"),
    (6, "day_to", "beyond the horizon (60 days: 60 ticks of 1 day)"),
    (7, "day_to", "day_to (5) is before day_from (10)"),
    (8, "day_from", "days are 1-based"),
    (9, "value", "not a number: 'many'"),
    (10, "value", "must be a finite number, got 'inf'"),
    (11, "value", "churned is a count: it cannot be negative"),
    (12, "n", "n must be at least 1"),
    (13, "sd", "sd (the standard error of the value) must be positive"),
    (14, "value", "fcr is a share: a fraction in [0, 1] (12% is 0.12), got 1.2"),
    (15, "value", "nps is an NPS in points: from -100 to 100"),
    (16, "likelihood", "unknown likelihood 'gaussian'"),
    (17, "sd", "csat is a mean or a level: give sd"),
    (18, "weight", "weight must be 0 or more"),
    (19, "n", "fcr is a share: give n"),
    (20, "dispersion", "the beta-binomial likelihood needs dispersion"),
    (21, "value", "the poisson likelihood needs a whole count, got 2.5"),
    (22, "sd", "active is a stock, not counted events: give sd"),
    (23, "likelihood", "binomial does not apply to csat"),
    (24, "dispersion", "the binomial likelihood takes no dispersion"),
    (25, "day_from", "must be a whole day number, got 1.5"),
    (26, "n", "a whole number, got 10.5"),
    (27, "dispersion", "an intra-class correlation: in (0, 1), got 1.5"),
    (28, "sd", "the normal likelihood needs sd"),
]


def test_every_refusal_has_its_line_and_all_come_together(scenario, tmp_path):
    problems = refusals(scenario, BAD, tmp_path)
    path = str(tmp_path / "targets.csv")
    for r, col, text in EXPECTED:
        prefix = f"{path} row {r}, column {col}: "
        assert any(p.startswith(prefix) and text in p for p in problems), (r, col, problems)
    assert len(problems) == len(EXPECTED), problems
    assert all("\n" not in p for p in problems)


def test_file_level_refusals(scenario, tmp_path, monkeypatch):
    def one(text, name="targets.csv", **kw):
        problems = refusals(scenario, text, tmp_path, name, **kw)
        return "\n".join(problems)

    assert "empty file" in one("")
    assert "no targets" in one("metric,day_from,day_to,value\n\n")
    missing = one("metric,day_from,valu\nchurned,1,3\n")
    assert "unknown column 'valu'" in missing and "did you mean 'value'?" in missing
    assert "missing required columns day_to, value" in missing
    assert "separated by ';'" in one("metric;day_from;day_to;value\nchurned;1;2;3\n")
    assert "row 1: 5 cells, the header has 4 columns" in one(
        "metric,day_from,day_to,value\nchurned,1,2,3,4\n")
    assert "not a CSV file (expected a .csv or .parquet" in one("x", name="targets.txt")
    (tmp_path / "latin1.csv").write_bytes("metric,day_from\né,1\n".encode("latin-1"))
    with pytest.raises(TargetsError, match="not UTF-8"):
        load_targets(tmp_path / "latin1.csv", scenario)
    (tmp_path / "binary.csv").write_bytes(b"PK\x03\x04\x00\x00binary")
    with pytest.raises(TargetsError, match="binary content"):
        load_targets(tmp_path / "binary.csv", scenario)
    with pytest.raises(TargetsError, match="cannot read") as info:
        load_targets(tmp_path / "nowhere.csv", scenario)
    assert str(tmp_path / "nowhere.csv") in str(info.value)
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(TargetsError, match="cannot read"):
        load_targets(tmp_path / "folder.csv", scenario)
    with pytest.raises(TargetsError, match="not a Parquet file"):
        load_targets(Path(tmp_path / "binary.csv").rename(tmp_path / "bad.parquet"), scenario)
    # the horizon of a shorter calibration
    assert "beyond the horizon (the 30 days simulated)" in one(
        "metric,day_from,day_to,value\nchurned,1,31,3\n", days=30)
    with pytest.raises(TargetsError, match="days must be"):
        load_targets(pd.DataFrame([row("churned", 3)]), scenario, days=0)
    # too many rows
    monkeypatch.setattr(T, "MAX_ROWS", 3)
    assert "more than 3 rows" in one("metric,day_from,day_to,value\n" + "churned,1,2,3\n" * 4)
    monkeypatch.setattr(T, "MAX_PROBLEMS", 2)
    with pytest.raises(TargetsError) as info:
        load_targets(pd.DataFrame([row("chrun", 1)] * 3), scenario)
    assert len(info.value.all_problems) == 3
    assert info.value.problems[-1] == "... and 1 more"
    again = pickle.loads(pickle.dumps(info.value))  # it may cross to a worker process
    assert again.all_problems == info.value.all_problems


def test_blank_lines_keep_the_row_numbers(scenario, tmp_path):
    problems = refusals(scenario, "metric,day_from,day_to,value\nchurned,1,2,3\n\n"
                        "chrun,1,2,3\n", tmp_path)
    assert problems[0].startswith(f"{tmp_path / 'targets.csv'} row 3, column metric:")
    t = load_targets(pd.DataFrame([row("churned", 3), {}, row("new", 1)]), scenario)
    assert [x.row for x in t.rows] == [1, 3]


CELLS = st.one_of(st.sampled_from([
    "", "churned", "csat", "fcr", "nps", "volume", "loyal", "phone", "contact_centre", "1",
    "5", "0.5", "-1", "1e400", "nan", "x", "poisson", "normal", "nps", '"', ";", "\n", "\x00",
    "é", "60", "61"]), st.text(max_size=4))
HEADERS = st.sampled_from([*T.COLUMNS, "", "valu", "Metric ", "x"])


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.one_of(st.permutations(list(T.COLUMNS)), st.lists(HEADERS, max_size=7)),
       cells=st.lists(st.lists(CELLS, max_size=13), max_size=4),
       noise=st.text(max_size=30))
def test_loading_raises_only_targets_errors(scenario, header, cells, noise):
    text = ",".join(header) + "\n" + "\n".join(",".join(r) for r in cells) + noise
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.csv"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            t = load_targets(path, scenario)
        except TargetsError as exc:
            assert exc.problems and all("\n" not in p for p in exc.problems)
        else:
            assert len(t) >= 1
