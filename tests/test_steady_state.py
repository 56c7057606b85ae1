"""Shipped scenarios start in their stationary state and stay there (no drift beyond noise).

A what-if comparison on a drifting baseline mixes a strategy's effect with the drift, so each
shipped scenario starts in the stationary state of its workforce and its customers'
expectations (docs/validation.md, "Steady state").  Here every scenario runs five simulated
years at a market of 20,000 (a sample of the file's market) over four seeds; each headline
metric's quarterly means are regressed on time, one slope per seed.  The mean slope must lie
within a t-bound of zero derived from the spread of the slopes across seeds (99 %, three
degrees of freedom), or be immaterial: a drift over the five years smaller than
:data:`MATERIAL` (below what a comparison of strategies would notice).  A scenario whose
file documents a trend lists it in :data:`TRENDS` with the reason.

The fast tests check the construction itself: a team starts on the stationary learning curve
of its stated numbers, centred on its stated skill.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import cxsim
from cxsim.runner import resize
from cxsim.scenario import MONTH_DAYS
from cxsim.workforce import quit_rate, stationary_learning

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted(p.stem for p in (ROOT / "scenarios").glob("*.toml"))

YEARS, SEEDS, CUSTOMERS = 5, (1, 2, 3, 4), 20_000
QUARTER = 91

#: two-sided 99 % Student t quantile with len(SEEDS) - 1 = 3 degrees of freedom
T99_3 = 5.841

#: the largest drift over the five years that is not material (in the metric's units):
#: NPS points, CSAT on 1-5, FCR and skill as shares, monthly churn relative to its level
MATERIAL = {"nps": 2.0, "csat": 0.03, "fcr": 0.01, "skill": 0.02, "churn": 0.10}

#: scenario -> metric -> why the file expects a trend (none today)
TRENDS: dict[str, dict[str, str]] = {}


def quarterly(name: str, seed: int) -> dict[str, np.ndarray]:
    """Quarterly means of the headline metrics of a five-year run."""
    sc = resize(cxsim.load_scenario(ROOT / "scenarios" / f"{name}.toml"),
                customers=CUSTOMERS, days=YEARS * 365, sample=True)
    r = cxsim.run(sc, seed)
    m = r.metrics.copy()
    start = np.concatenate([[sc.market.initial_customers], m["active"].to_numpy()[:-1]])
    m["start"] = start
    m["q"] = (m["tick"] - 1) // QUARTER
    m = m[m["q"] < YEARS * 365 // QUARTER]
    q = r.queues.copy()
    q["q"] = (q["tick"] - 1) // QUARTER
    q = q[q["q"] < YEARS * 365 // QUARTER]
    out = {}
    g = m.groupby("q")
    resp = g["nps_respondents"].sum()
    out["nps"] = (g.apply(lambda d: (d["nps"].fillna(0) * d["nps_respondents"]).sum())
                  / resp).to_numpy()
    ep = g["episodes"].sum()
    out["csat"] = (g.apply(lambda d: (d["csat"].fillna(0) * d["episodes"]).sum()) / ep).to_numpy()
    out["fcr"] = (g.apply(lambda d: (d["fcr"].fillna(0) * d["episodes"]).sum()) / ep).to_numpy()
    daily = (g["churned"].sum() / g["start"].sum()).to_numpy()
    out["churn"] = 1.0 - (1.0 - daily) ** MONTH_DAYS
    if len(q):
        gq = q.groupby("q")
        out["skill"] = (gq.apply(lambda d: (d["skill"].fillna(0) * d["headcount"]).sum())
                        / gq["headcount"].sum()).to_numpy()
    return out


def slope(y: np.ndarray) -> float:
    """Least-squares slope of ``y`` on its index (per quarter)."""
    x = np.arange(len(y), dtype=float)
    return float(np.polyfit(x, y, 1)[0])


def drift_report(name: str, seeds=SEEDS) -> dict[str, dict]:
    """Per metric: mean slope per quarter, its t-bound, the five-year drift and the verdict."""
    runs = [quarterly(name, s) for s in seeds]
    out = {}
    for metric in runs[0]:
        slopes = np.array([slope(r[metric]) for r in runs])
        level = float(np.mean([r[metric].mean() for r in runs]))
        mean = float(slopes.mean())
        se = float(slopes.std(ddof=1) / math.sqrt(len(slopes)))
        bound = T99_3 * se
        n_q = len(runs[0][metric])
        drift = mean * (n_q - 1)
        material = MATERIAL[metric] * (level if metric == "churn" else 1.0)
        out[metric] = {"level": level, "slope": mean, "bound": bound, "drift": drift,
                       "material": material,
                       "ok": abs(mean) <= bound or abs(drift) <= material}
    return out


# --------------------------------------------------------------------------------------------
# the construction (fast)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SCENARIOS)
def test_teams_start_on_their_stationary_learning_curve(name):
    sc = cxsim.load_scenario(ROOT / "scenarios" / f"{name}.toml")
    model = cxsim.CXModel(sc, rng=3)
    for tn, team in sc.teams.items():
        staff = model.teams[tn]
        assert len(staff) == team.headcount
        skills = np.array([e.skill for e in staff])
        assert skills.mean() == pytest.approx(team.skill, abs=0.02)
        quit, learn, contacts = stationary_learning(team, sc.workforce)
        assert quit == pytest.approx(quit_rate(team, sc.workforce) / 365.0)
        if learn > 0:
            # longer-serving staff are more skilled (beyond the individual spread)
            tenure = np.array([e.tenure for e in staff])
            if len(staff) >= 8:
                assert np.corrcoef(tenure, skills)[0, 1] > 0


def test_stationary_tenure_and_skill_of_a_large_team():
    """A team of 4,000: tenure ~ Exp(quit rate); mean skill = the stated stationary mean."""
    from conftest import minimal_dict

    d = minimal_dict()
    team = next(iter(d["teams"].values()))
    team.update({"headcount": 4000, "skill": 0.6, "new_hire_skill": 0.3,
                 "annual_attrition": 0.4, "engagement": 0.7})
    d.setdefault("workforce", {})["skill_spread"] = 0.0
    sc = cxsim.Scenario.from_dict(d)
    model = cxsim.CXModel(sc, rng=5)
    staff = next(iter(model.teams.values()))
    tenure = np.array([e.tenure for e in staff])
    skill = np.array([e.skill for e in staff])
    t = next(iter(sc.teams.values()))
    quit, learn, contacts = stationary_learning(t, sc.workforce)
    assert tenure.mean() == pytest.approx(1.0 / quit, rel=0.05)
    assert skill.mean() == pytest.approx(0.6, abs=1e-9)
    # the curve: skill = 1 - (1 - s0) exp(-learn x tenure), shifted by the centring only
    expected = 1.0 - 0.7 * np.exp(-learn * tenure)
    assert np.abs(skill - expected - (skill - expected).mean()).max() < 1e-9
    # and its stationary mean is the stated skill: 1 - (1 - s0) quit / (quit + learn)
    assert 1.0 - 0.7 * quit / (quit + learn) == pytest.approx(0.6)
    assert contacts == pytest.approx(learn * sc.workforce.learning_contacts)


def test_stationary_tenure_of_a_homogeneous_segment():
    """No heterogeneity, no contract, no tenure or satisfaction effect: tenure is geometric."""
    from conftest import minimal_dict

    from cxsim import tables

    d = minimal_dict(market={"size": 20_000, "initial_customers": 20_000,
                             "initial_tenure": "stationary"},
                     behaviour={"tenure_effect": 0.0})
    d["segments"]["all"].update({"base_churn": 0.05, "churn_concentration": 0.0,
                                 "initial_satisfaction": 0.75})
    sc = cxsim.Scenario.from_dict(d)
    cdf, expo = tables.stationary_tenure(sc)
    dens = np.diff(cdf[0])
    np.testing.assert_allclose(dens[1:50] / dens[:49], 0.95, rtol=1e-9)
    np.testing.assert_allclose(expo[0, :5], np.arange(5.0))
    model = cxsim.CXModel(sc, rng=2)
    a = model.arrays
    tenure = -a.join_tick / MONTH_DAYS  # months
    # the continuous version of the geometric: mean 1 / -log(0.95) = 19.5 months
    assert tenure.mean() == pytest.approx(1.0 / -math.log(0.95), rel=0.03)


def test_stationary_tenure_under_contracts_and_heterogeneity():
    """Contract customers stay longer; survivors of more exposure have lower propensities."""
    from cxsim import tables

    sc = cxsim.load_scenario(ROOT / "scenarios" / "telco.toml")
    cdf, expo = tables.stationary_tenure(sc)
    names = list(sc.segments)
    mean = {n: float((np.diff(cdf[s]) * (np.arange(cdf.shape[1] - 1) + 0.5)).sum())
            for s, n in enumerate(names)}
    assert mean["postpaid"] > mean["broadband"] > mean["prepaid"]
    # in-term suppression: a year of a contract is far less than a year at the base rate
    s_post = names.index("postpaid")
    assert expo[s_post, 12] < 6.0
    assert np.all(np.diff(cdf, axis=1) >= 0) and np.allclose(cdf[:, -1], 1.0)


def test_stationary_customers_by_segment():
    """Segments whose customers stay longer hold more of the base; the total is exact."""
    from cxsim import tables

    sc = cxsim.load_scenario(ROOT / "scenarios" / "telco.toml")
    model = cxsim.CXModel(sc, rng=1)
    agents = np.bincount(model.arrays.segment, minlength=len(sc.segments))
    counts = tables.stationary_customers(sc, agents)
    assert counts.sum() == sc.market.initial_customers
    assert np.all(counts <= agents)
    share = dict(zip(sc.segments, counts / agents, strict=True))
    assert share["postpaid"] > share["broadband"] > share["prepaid"]
    np.testing.assert_array_equal(model.market.segment_initial, counts)
    # the same join rate a for every segment: A / (N - A) = a T, so a = A / ((N - A) T)
    surv, _ = tables._survival(sc)
    t_s = 0.5 * (surv[:, :-1] + surv[:, 1:]).sum(axis=1)
    a = counts / ((agents - counts) * t_s)
    np.testing.assert_allclose(a, a.mean(), rtol=0.01)


# --------------------------------------------------------------------------------------------
# five years without drift (slow)
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", SCENARIOS)
def test_no_drift_over_five_years(name):
    report = drift_report(name)
    bad = [f"{k}: {v['drift']:+.4g} over five years (slope {v['slope']:+.3g}/quarter, "
           f"t-bound {v['bound']:.3g}, material {v['material']:.3g})"
           for k, v in report.items() if not v["ok"] and k not in TRENDS.get(name, {})]
    assert not bad, f"{name} drifts: " + "; ".join(bad)
