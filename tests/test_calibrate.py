"""Calibration: priors, the importance sampler, recovery of known values, resume, the CLI.

The recovery tests generate "company data" with cxsim at known parameter values and check
that the calibration finds them: the 90 % posterior interval contains the truth and the
point estimate lies within three posterior standard deviations of it (the data's noise, as
the posterior measures it).  The slow test counts how often the interval covers the truth
over many synthetic datasets.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import cxsim
from cxsim import calibrate as C
from cxsim.cli import main
from cxsim.metrics import aggregate
from cxsim.params import ParamError
from cxsim.runner import build_scenario, resize
from cxsim.targets import TargetsError

PATH = "segments.occasional.base_churn"
TRUTH = 0.075


@pytest.fixture(scope="module")
def small() -> cxsim.Scenario:
    return resize(cxsim.default_scenario(), customers=2500, days=120)


def churn_targets(sc: cxsim.Scenario, values: dict, seed: int, days: int = 120,
                  month: int = 30) -> pd.DataFrame:
    """Monthly churn with the customers at risk, from one run at ``values``."""
    r = cxsim.run(build_scenario(sc.to_dict(), values), seed)
    m = r.metrics
    initial = r.summary["initial_customers"]
    rows = []
    for a in range(1, days - month + 2, month):
        b = a + month - 1
        n = initial if a == 1 else int(m.loc[m["tick"] == a - 1, "active"].iloc[0])
        rows.append({"metric": "monthly_churn", "day_from": a, "day_to": b,
                     "value": aggregate(m, "monthly_churn", a, b, initial_customers=initial),
                     "n": n})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# priors and the sampler's pieces
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dist,low,high", [("uniform", 0.2, 0.9), ("loguniform", 1e-3, 10.0),
                                           ("int", 3, 9)])
def test_prior_maps_the_unbounded_coordinate_onto_its_range(dist, low, high):
    p = C.Prior("x", f"{dist}({low},{high})", dist, float(low), float(high))
    zs = np.linspace(-12, 12, 101)
    values = [p.from_z(z) for z in zs]
    assert all(low <= v <= high for v in values)
    assert values == sorted(values)  # monotone
    if dist == "int":
        assert set(values) == set(range(low, high + 1))
        assert all(p.from_z(p.to_z(v)) == v for v in range(low, high + 1))
        assert p.log_density(5) == pytest.approx(-math.log(7))
    else:
        for v in np.linspace(low, high, 7)[1:-1]:
            assert p.from_z(p.to_z(v)) == pytest.approx(v, rel=1e-9)
    if dist == "loguniform":  # density 1 / (x log(high/low))
        assert p.log_density(0.5) == pytest.approx(
            -math.log(0.5) - math.log(math.log(high / low)))
    if dist == "uniform":
        assert p.log_density(0.5) == pytest.approx(-math.log(0.7))


def test_student_t_density_matches_scipy():
    rng = np.random.default_rng(3)
    mean = np.array([0.3, -1.0, 2.0])
    a = rng.normal(size=(3, 3))
    cov = a @ a.T + np.eye(3)
    z = rng.normal(size=(20, 3)) * 2
    got = C._t_logpdf(z, mean, np.linalg.cholesky(cov))
    want = stats.multivariate_t(loc=mean, shape=cov, df=C.T_DF).logpdf(z)
    np.testing.assert_allclose(got, want, rtol=1e-10)


class _AnalyticRunner:
    """Evaluates parameter sets with a known log-likelihood (no model): the sampler alone."""

    def __init__(self, loglik):
        self.loglik = loglik
        self.evaluations: list[C.Evaluation] = []

    def evaluate(self, phase, thetas, zs, seeds=None):
        out = []
        for theta, z in zip(thetas, zs, strict=True):
            ll = self.loglik(theta)
            ev = C.Evaluation(len(self.evaluations), phase, theta, ll, ll, [ll], [], z=z)
            self.evaluations.append(ev)
            out.append(ev)
        return out


def _problem(priors, method="tpe", budget=400, batch=20, seed=0):
    return C.Problem(scenario=None, priors=tuple(priors), targets=None, method=method,
                     budget=budget, reps=1, batch=batch, seed=seed, customers=None,
                     days=None, check_reps=2, scale=1.0, base={}, seeds=[1])


@pytest.mark.parametrize("method", ["tpe", "prior"])
def test_importance_sampling_recovers_a_known_posterior(method):
    # a Gaussian likelihood well inside wide uniform priors: the posterior is that Gaussian
    mu, sd = {"a": 0.3, "b": 4.0}, {"a": 0.02, "b": 0.5}
    priors = [C.Prior("a", "uniform(0,1)", "uniform", 0.0, 1.0),
              C.Prior("b", "uniform(0,10)", "uniform", 0.0, 10.0)]

    def loglik(theta):
        return float(sum(stats.norm.logpdf(theta[k], mu[k], sd[k]) for k in mu))

    problem = _problem(priors, method=method, budget=400 if method == "tpe" else 4000)
    runner = _AnalyticRunner(loglik)
    if method == "tpe":
        C._search(problem, runner)
    z, w = C._sample(problem, runner)
    samples = [ev for ev in runner.evaluations if ev.phase == "sample"]
    ess = C._ess(w)
    assert ess > (60 if method == "tpe" else 30)
    for k in mu:
        x = np.array([ev.theta[k] for ev in samples])
        mean = float(np.sum(w * x))
        var = float(np.sum(w * (x - mean) ** 2))
        # importance-sampling error of a mean: about sd / sqrt(ESS); 4 of those
        assert abs(mean - mu[k]) < 4 * sd[k] / math.sqrt(ess), (k, mean)
        assert math.sqrt(var) == pytest.approx(sd[k], rel=0.35), (k, math.sqrt(var))


def test_weighted_quantile():
    v = np.array([3.0, 1.0, 2.0, np.nan])
    w = np.array([1.0, 1.0, 2.0, 5.0])
    assert C.weighted_quantile(v, w, 0.5) == 2.0
    assert C.weighted_quantile(v, w, 0.1) == 1.0
    assert C.weighted_quantile(v, w, 0.99) == 3.0
    assert math.isnan(C.weighted_quantile(v, np.zeros(4), 0.5))


# --------------------------------------------------------------------------------------------
# what is refused before anything runs
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("param,words", [
    (f"{PATH}=0.05,0.06", "needs a prior: uniform(a,b)"),
    ("strategy=uniform(0,1)", "compare strategies"),
    ("touchpoints.chat.quality=uniform(0.5,1.5)", "1.5 is not a valid value of "
                                                  "touchpoints.chat.quality"),
    ("teams.contact_centre.headcount=uniform(5,20)", "whole number; use int(5,20)"),
    ("teams.nobody.headcount=int(5,20)", "nobody"),
])
def test_a_parameter_that_cannot_be_fitted_is_refused(small, param, words):
    t = churn_targets(small, {}, 1)
    with pytest.raises(ParamError) as e:
        C.prepare(small, t, [param])
    assert words in str(e.value) and "\n" not in str(e.value)


def test_bad_settings_are_refused(small):
    t = churn_targets(small, {}, 1)
    ok = [f"{PATH}=uniform(0.02,0.12)"]
    for kw, words in (({"method": "nelder"}, "method must be one of tpe, prior"),
                      ({"reps": 0}, "reps must be from 1"),
                      ({"budget": 10}, "budget must be from 16"),
                      ({"days": -3}, "days must be a positive number")):
        with pytest.raises(ValueError, match=words):
            C.prepare(small, t, ok, **kw)
    with pytest.raises(ValueError, match="given twice"):
        C.prepare(small, t, ok + ok)
    with pytest.raises(TargetsError, match="day_to"):  # a window beyond a shorter horizon
        C.prepare(small, t, ok, days=60)


# --------------------------------------------------------------------------------------------
# recovery, reproducibility, resume
# --------------------------------------------------------------------------------------------


def _fit(sc, targets, **kw):
    settings = {"budget": 48, "reps": 2, "batch": 8, "seed": 5, "workers": 1}
    settings.update(kw)
    return C.calibrate(sc, targets, [f"{PATH}=uniform(0.02,0.14)"], **settings)


def test_a_known_churn_is_recovered(small):
    res = _fit(small, churn_targets(small, {PATH: TRUTH}, seed=77))
    row = res.summary.iloc[0]
    w = res.posterior["weight"].to_numpy()
    x = res.posterior[PATH].to_numpy()
    sd = math.sqrt(np.sum(w * (x - np.sum(w * x)) ** 2))
    assert row.ci_low <= TRUTH <= row.ci_high, row
    assert abs(res.estimate[PATH] - TRUTH) < 3 * sd, (res.estimate, sd)
    assert res.ess > 5
    # the fit improved on the scenario as given (0.051) and every target has its bands
    assert res.fit["loglik_estimate"].sum() > res.fit["loglik_before"].sum()
    assert {"before_median", "estimate_low", "posterior_high"} <= set(res.fit.columns)
    # the calibrated scenario carries the estimate and runs
    assert res.scenario.segments["occasional"].base_churn == res.estimate[PATH]


def test_results_do_not_depend_on_workers_or_ensemble(small):
    t = churn_targets(small, {PATH: TRUTH}, seed=77)
    a = _fit(small, t, budget=24)
    b = _fit(small, t, budget=24, workers=2, ensemble=1)
    pd.testing.assert_frame_equal(a.posterior, b.posterior)
    pd.testing.assert_frame_equal(a.evaluations, b.evaluations)
    assert a.estimate == b.estimate


def test_a_dask_cluster_gives_the_same_result(small):
    pytest.importorskip("distributed")
    t = churn_targets(small, {PATH: TRUTH}, seed=77)
    a = _fit(small, t, budget=16)
    b = _fit(small, t, budget=16, workers=2, scheduler="local")
    pd.testing.assert_frame_equal(a.posterior, b.posterior)
    assert a.estimate == b.estimate and b.provenance["executor"] == "dask-local"


def test_an_interrupted_calibration_resumes_to_the_same_result(small, tmp_path, monkeypatch):
    t = churn_targets(small, {PATH: TRUTH}, seed=77)
    whole = _fit(small, t, budget=24, out=tmp_path / "whole")
    real = C._score
    calls = {"n": 0}

    def interrupted(*args, **kw):
        calls["n"] += 1
        if calls["n"] == 13:
            raise KeyboardInterrupt
        return real(*args, **kw)

    monkeypatch.setattr(C, "_score", interrupted)
    with pytest.raises(C.CalibrationInterrupted, match="12 of 26 evaluations saved"):
        _fit(small, t, budget=24, out=tmp_path / "cut")
    meta = json.loads((tmp_path / "cut" / "calibration.json").read_text())
    assert meta["status"] == "interrupted"
    monkeypatch.setattr(C, "_score", real)
    with pytest.raises(ValueError, match="already holds a calibration"):
        _fit(small, t, budget=24, out=tmp_path / "cut")
    resumed = _fit(small, t, budget=24, out=tmp_path / "cut", resume=True)
    assert resumed.ran == 26 - 12
    pd.testing.assert_frame_equal(resumed.posterior, whole.posterior)
    assert resumed.estimate == whole.estimate
    for name in ("calibrated.toml", "fit.csv", "estimates.csv"):
        assert (tmp_path / "cut" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()
    # other settings cannot continue it
    with pytest.raises(ValueError, match="holds a different calibration"):
        _fit(small, t, budget=32, out=tmp_path / "cut", resume=True)


# --------------------------------------------------------------------------------------------
# the command line
# --------------------------------------------------------------------------------------------


def _scenario_file(tmp_path: Path, sc: cxsim.Scenario) -> Path:
    import tomli_w

    path = tmp_path / "small.toml"
    path.write_text(tomli_w.dumps(sc.to_dict()))
    return path


def test_cli_refuses_bad_targets_one_line_each_and_writes_nothing(small, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("metric,day_from,day_to,value,n\n"
                   "chrun,1,30,0.02,1000\n"
                   "monthly_churn,1,400,0.02,1000\n"
                   "monthly_churn,1,30,0.02,0\n")
    out = tmp_path / "out"
    code = main(["calibrate", str(_scenario_file(tmp_path, small)), "--targets", str(bad),
                 "--param", f"{PATH}=uniform(0.02,0.12)", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 3, err
    assert err[0].startswith(f"{bad} row 1, column metric: unknown metric 'chrun'")
    assert "row 2, column day_to" in err[1] and "row 3, column n" in err[2]
    assert not out.exists()


@pytest.mark.parametrize("args,words", [
    (["--param", f"{PATH}=uniform(0.02,0.12)"], "give the observed data with --targets FILE"),
    (["--targets", "TARGETS"], "give at least one --param"),
    (["--targets", "TARGETS", "--param", f"{PATH}=0.05"], "--param " + PATH),
    (["--targets", "TARGETS", "--param", "touchpoints.chat.quality=uniform(0.5,1.5)"],
     "1.5 is not a valid value"),
    (["--targets", "missing.csv", "--param", f"{PATH}=uniform(0.02,0.12)"], "missing.csv"),
    (["--targets", "TARGETS", "--param", f"{PATH}=uniform(0.02,0.12)", "--method", "x"],
     "invalid choice"),
])
def test_cli_refuses_bad_input(small, tmp_path, capsys, args, words):
    t = tmp_path / "t.csv"
    churn_targets(small, {}, 1).to_csv(t, index=False)
    args = [str(t) if a == "TARGETS" else a for a in args]
    code = main(["calibrate", str(_scenario_file(tmp_path, small)), *args,
                 "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and words in err[0], err
    assert not (tmp_path / "out").exists()


def test_cli_calibrates_writes_its_files_and_resumes_a_finished_folder(small, tmp_path,
                                                                        capsys):
    t = tmp_path / "observed.csv"
    churn_targets(small, {PATH: TRUTH}, seed=77).to_csv(t, index=False)
    out = tmp_path / "cal"
    args = ["calibrate", str(_scenario_file(tmp_path, small)), "--targets", str(t),
            "--param", f"{PATH}=uniform(0.02,0.14)", "--budget", "16", "--reps", "2",
            "--workers", "1", "--out", str(out), "--plot"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert PATH in text and "90% interval" in text and "effective sample size" in text
    names = {p.name for p in out.iterdir()}
    assert {"calibrated.toml", "posterior.parquet", "fit.csv", "estimates.csv",
            "calibration.json", "evaluations.jsonl", "calibration_fit.png",
            "posterior.png", "calibration_history.png"} <= names
    assert main(["validate", str(out / "calibrated.toml")]) == 0
    cal = cxsim.load_scenario(out / "calibrated.toml")
    meta = json.loads((out / "calibration.json").read_text())
    assert cal.segments["occasional"].base_churn == meta["estimate"][PATH]
    post = pd.read_parquet(out / "posterior.parquet")
    assert list(post.columns) == [PATH, "weight"]
    before = (out / "fit.csv").read_bytes()
    # cxsim plot redraws a calibration's figures from its folder
    (out / "posterior.png").unlink()
    capsys.readouterr()
    assert main(["plot", str(out)]) == 0
    assert "posterior.png" in capsys.readouterr().out and (out / "posterior.png").exists()
    # resuming a finished calibration reads every evaluation back and writes the same files
    assert main(["calibrate", "--out", str(out), "--resume", "--workers", "1"]) == 0
    assert "read back from the journal" in capsys.readouterr().out
    assert (out / "fit.csv").read_bytes() == before


# --------------------------------------------------------------------------------------------
# decisions under the posterior
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def calibrated(small, tmp_path_factory):
    out = tmp_path_factory.mktemp("cal") / "fit"
    t = churn_targets(small, {PATH: TRUTH}, seed=77)
    return _fit(small, t, budget=24, out=out), out


def test_posterior_draws_are_reproducible_and_follow_the_weights(calibrated, small):
    res, out = calibrated
    post = C.load_posterior(out, small)
    a, b = post.draws(500, seed=3), post.draws(500, seed=3)
    assert a == b and a != post.draws(500, seed=4)
    x = np.array([d[PATH] for d in a])
    w = res.posterior["weight"].to_numpy()
    mean = np.sum(w * res.posterior[PATH].to_numpy())
    assert x.mean() == pytest.approx(mean, rel=0.02)
    assert post.estimate == res.estimate


def test_compare_under_the_posterior_runs_each_replicate_on_its_draw(calibrated, small):
    res, out = calibrated
    cmp = cxsim.compare(small, ["fix_courier"], replications=3, posterior=out, workers=1)
    draws = C.load_posterior(out, small).draws(3, seed=0)
    runs = cmp.runs
    for r in range(3):
        got = runs.loc[runs["replicate"] == r, PATH].unique()
        assert list(got) == [draws[r][PATH]]
    assert {"noise_diff", "noise_diff_ci_low", "noise_diff_ci_high"} <= set(cmp.table.columns)
    assert {"noise_incremental_profit_ci_low"} <= set(cmp.roi.columns)
    assert cmp.posterior["draws"] == 3
    # the baseline's replicate r on draw r is the plain run of that draw's scenario
    base = cxsim.run(build_scenario(small.to_dict(), draws[1]), cmp.runs.loc[
        (cmp.runs["strategy"] == "baseline") & (cmp.runs["replicate"] == 1), "seed"].item())
    row = runs[(runs["strategy"] == "baseline") & (runs["replicate"] == 1)].iloc[0]
    assert row["churned"] == base.summary["churned"]


def test_a_posterior_that_does_not_fit_the_scenario_is_refused(calibrated, small, tmp_path):
    _, out = calibrated
    with pytest.raises(ValueError, match="holds no posterior"):
        C.load_posterior(tmp_path, small)
    bad = pd.DataFrame({"teams.nobody.headcount": [3, 4], "weight": [1.0, 1.0]})
    with pytest.raises(ValueError, match="teams has no .nobody."):
        C.load_posterior(bad, small)
    bad = pd.DataFrame({PATH: [0.03, 0.04], "weight": [1.0, -1.0]})
    with pytest.raises(ValueError, match="weights must be finite, not negative"):
        C.load_posterior(bad, small)
    bad = pd.DataFrame({"teams.contact_centre.headcount": [3.5, 4], "weight": [1.0, 1.0]})
    with pytest.raises(ValueError, match="whole number"):
        C.load_posterior(bad, small)


def test_cli_compare_posterior(calibrated, small, tmp_path, capsys):
    _, out = calibrated
    sc = _scenario_file(tmp_path, small)
    code = main(["compare", str(sc), "--strategies", "fix_courier", "--reps", "2",
                 "--workers", "1", "--posterior", str(out), "--out", str(tmp_path / "cmp")])
    text = capsys.readouterr().out
    assert code == 0 and "noise only" in text and "posterior draw r" in text
    meta = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert meta["posterior"]["parameters"] == [PATH]
    assert main(["compare", str(sc), "--posterior", str(tmp_path), "--reps", "2",
                 "--out", str(tmp_path / "cmp2")]) == 2
    assert "holds no posterior" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# slow: coverage over synthetic datasets, and a killed process
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_ninety_percent_intervals_cover_the_truth_about_ninety_percent_of_the_time(small):
    # K datasets at one truth; coverage ~ Binomial(K, 0.9) if the intervals are honest.
    # Accept 16..20 of 20: P(X <= 15) = 4.3 % for a calibrated method.
    k = 20
    covered = 0
    for i in range(k):
        t = churn_targets(small, {PATH: TRUTH}, seed=1000 + i)
        res = _fit(small, t, budget=64, seed=i)
        row = res.summary.iloc[0]
        covered += int(row.ci_low <= TRUTH <= row.ci_high)
    assert covered >= 16, f"{covered} of {k} intervals covered the truth"


@pytest.mark.slow
def test_a_killed_calibration_resumes_to_the_same_result(small, tmp_path):
    t = tmp_path / "t.csv"
    churn_targets(small, {PATH: TRUTH}, seed=77).to_csv(t, index=False)
    sc = _scenario_file(tmp_path, small)
    args = [sys.executable, "-m", "cxsim.cli", "calibrate", str(sc), "--targets", str(t),
            "--param", f"{PATH}=uniform(0.02,0.14)", "--budget", "48", "--reps", "2",
            "--workers", "2", "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(Path(cxsim.__file__).parents[1])}
    subprocess.run([*args, "--out", str(tmp_path / "whole")], check=True, env=env)
    p = subprocess.Popen([*args, "--out", str(tmp_path / "cut")], env=env)
    journal = tmp_path / "cut" / "evaluations.jsonl"
    import time

    while p.poll() is None and (not journal.exists()
                                or journal.read_text().count("\n") < 20):
        time.sleep(0.05)
    p.kill()
    p.wait()
    subprocess.run([*args, "--out", str(tmp_path / "cut"), "--resume"], check=True, env=env)
    for name in ("calibrated.toml", "fit.csv", "estimates.csv", "posterior.parquet"):
        assert ((tmp_path / "cut" / name).read_bytes()
                == (tmp_path / "whole" / name).read_bytes()), name


def test_notes_warn_of_a_thin_posterior_and_of_counts_at_another_scale():
    fit = pd.DataFrame({"metric": ["arrivals", "monthly_churn"], "day_from": [1, 1],
                        "day_to": [30, 30], "value": [846.0, 0.02],
                        "family": ["poisson", "binomial"], "before_median": [25_733.0, 0.02],
                        "team": ["contact_centre", ""]})
    res = C.CalibrationResult(estimate={}, posterior=pd.DataFrame(), summary=pd.DataFrame(),
                              fit=fit, evaluations=pd.DataFrame(), scenario=None,
                              provenance={"settings": {"scale": 33.3}}, ess=3.0)
    notes = C.calibration_notes(res)
    assert len(notes) == 2 and "3.0 effective samples" in notes[0]
    assert "observed 846, simulated 25,733" in notes[1] and "times 33.3" in notes[1]
    res.ess, res.fit = 50.0, fit.assign(before_median=[900.0, 0.02])
    assert C.calibration_notes(res) == []
