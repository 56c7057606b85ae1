"""Portfolio search: objectives and constraints, the Pareto set, a known optimum, resume, CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import cxsim
from cxsim import optimise as O
from cxsim.cli import main
from cxsim.errors import InputError
from cxsim.runner import resize
from cxsim.scenario import default_scenario

END = "strategies.recover_detractors.interventions.0.end"


@pytest.fixture(scope="module")
def small() -> cxsim.Scenario:
    return resize(cxsim.default_scenario(), customers=2000, days=60)


def test_objectives_and_constraints_parse_and_measure():
    assert O.Objective.parse("profit:max") == O.Objective("profit", "max")
    assert O.Objective.parse("churned:min").direction == "min"
    c = O.Constraint.parse("service_level>=0.8")
    assert (c.metric, c.op, c.bound, c.diff) == ("service_level", ">=", 0.8, False)
    assert c.excess(0.9) < 0 < c.excess(0.7)
    d = O.Constraint.parse("nps_diff > 0")
    assert d.diff and d.metric == "nps" and d.excess(1.0) < 0
    for bad, words in (("prfit:max", "did you mean profit"), ("profit:up", "max or min")):
        with pytest.raises(InputError, match=words):
            O.Objective.parse(bad)
    for bad in ("service_level=>0.8", "x>1", "nps>abc"):
        with pytest.raises(InputError):
            O.Constraint.parse(bad)


def test_pareto_keeps_the_non_dominated_points():
    pts = np.array([[1, 5], [2, 4], [2, 5], [0, 0], [3, 1], [np.nan, 9]], dtype=float)
    assert sorted(O.pareto(pts).tolist()) == [2, 4]


def test_search_finds_the_boundary_a_budget_sets(small):
    # satisfaction grows with the days the recovery programme runs; its cost too: the best
    # portfolio within budget is the programme run as long as the budget allows
    budget = 250.0
    res = O.optimise(small, strategies=["recover_detractors"], levers=[f"{END}=int(31,60)"],
                     objectives=["satisfaction:max"], budget=budget, trials=30, reps=2,
                     batch=6, reeval_reps=3, workers=1, seed=3)
    cand = res.candidates[res.candidates["recover_detractors"]
                          & (res.candidates["error"] == "")]
    ends = cand[END].astype(float).to_numpy()
    cost = cand["intervention_cost"].to_numpy()
    slope, icept = np.polyfit(ends, cost, 1)  # cost is linear in the last day
    assert slope > 0
    boundary = int(np.floor((budget - icept) / slope + 1e-9))
    assert 31 <= boundary < 60
    assert res.best["recover_detractors"]
    assert boundary - 2 <= res.best[END] <= boundary
    row = res.pareto[res.pareto[END] == res.best[END]].iloc[0]
    assert row["feasible"] and row["intervention_cost"] <= budget
    # the re-evaluation used seeds the search never saw
    meta = res.provenance
    assert not set(meta["reeval_seeds"]) & set(meta["settings"]["seeds"])


def test_results_do_not_depend_on_workers_and_best_toml_runs(small, tmp_path):
    kw = {"strategies": ["fix_courier", "recover_detractors"], "trials": 10, "reps": 2,
          "batch": 5, "reeval_reps": 2, "objectives": ["profit:max", "nps:max"]}
    a = O.optimise(small, workers=1, **kw)
    b = O.optimise(small, workers=2, out=tmp_path / "o", **kw)
    pd.testing.assert_frame_equal(a.pareto, b.pareto)
    pd.testing.assert_frame_equal(a.candidates, b.candidates)
    assert main(["validate", str(tmp_path / "o" / "best.toml")]) == 0
    best = cxsim.load_scenario(tmp_path / "o" / "best.toml")
    assert "best" in best.strategies
    pareto = pd.read_csv(tmp_path / "o" / "pareto.csv")
    for col in ("fix_courier", "recover_detractors", "intervention_cost", "feasible",
                "profit", "profit_ci_low", "profit_ci_high", "nps", "nps_ci_low"):
        assert col in pareto.columns


def test_an_interrupted_search_resumes_to_the_same_result(small, tmp_path, monkeypatch):
    kw = {"strategies": ["fix_courier", "recover_detractors"], "trials": 10, "reps": 2,
          "batch": 5, "reeval_reps": 2, "workers": 1}
    whole = O.optimise(small, out=tmp_path / "whole", **kw)
    real = O._score
    calls = {"n": 0}

    def interrupted(*args, **k):
        calls["n"] += 1
        if calls["n"] == 7:
            raise KeyboardInterrupt
        return real(*args, **k)

    monkeypatch.setattr(O, "_score", interrupted)
    with pytest.raises(O.SearchInterrupted, match="6 candidates saved"):
        O.optimise(small, out=tmp_path / "cut", **kw)
    monkeypatch.setattr(O, "_score", real)
    again = O.optimise(small, out=tmp_path / "cut", resume=True, **kw)
    pd.testing.assert_frame_equal(again.pareto, whole.pareto)
    assert (tmp_path / "cut" / "pareto.csv").read_bytes() == (
        tmp_path / "whole" / "pareto.csv").read_bytes()
    with pytest.raises(InputError, match="holds a different search"):
        O.optimise(small, out=tmp_path / "cut", resume=True, **{**kw, "trials": 15})


@pytest.mark.parametrize("args,words", [
    (["--strategies", "nope"], "--strategies nope: unknown strategy 'nope'"),
    (["--objective", "prfit:max"], "did you mean profit"),
    (["--lever", "teams.contact_centre.headcount=int(5,20)"], "a lever is a value of a "
                                                                "strategy"),
    (["--constraint", "service_level=>0.8"], "expected METRIC OP NUMBER"),
    (["--lever", "strategies.fix_courier.interventions.0.amount=uniform(0,2e7)"],
     "is not a valid value"),
])
def test_cli_refuses_bad_input_one_line_and_writes_nothing(args, words, tmp_path, capsys):
    code = main(["optimise", "--customers", "2000", "--days", "60", "--out",
                 str(tmp_path / "o"), *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and words in err[0], err
    assert not (tmp_path / "o").exists()


def test_cli_reports_every_problem_at_once(tmp_path, capsys):
    """A bad strategy, lever, objective and constraint: four lines, one per problem."""
    code = main(["optimise", "--customers", "2000", "--days", "60", "--out",
                 str(tmp_path / "o"), "--strategies", "nope,fix_courier", "--lever",
                 "teams.contact_centre.headcount=int(5,20)", "--objective", "profit:up",
                 "--constraint", "nps>>3"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 4, err
    assert err[0].startswith("--strategies nope: unknown strategy")
    assert err[1].startswith("--lever teams.contact_centre.headcount=int(5,20): a lever is")
    assert err[2].startswith("--objective profit:up:")
    assert err[3].startswith("--constraint nps>>3:")
    assert not (tmp_path / "o").exists()
    with pytest.raises(ValueError) as e:  # from Python: one error, every line in it
        O.prepare(default_scenario(), strategies=["nope", "nope2"])
    assert str(e.value).count("unknown strategy") == 2


def test_cli_optimize_alias_writes_the_contract_files(tmp_path, capsys):
    out = tmp_path / "o"
    code = main(["optimize", "--customers", "2000", "--days", "60", "--strategies",
                 "fix_courier,recover_detractors", "--trials", "10", "--reps", "2", "--batch",
                 "5", "--reeval-reps", "2", "--workers", "1", "--budget", "1e6", "--out",
                 str(out), "--plot"])
    assert code == 0
    assert "Pareto set re-evaluated" in capsys.readouterr().out
    assert {"pareto.csv", "best.toml", "search.json", "pareto_front.png"} <= {
        p.name for p in out.iterdir()}
    meta = json.loads((out / "search.json").read_text())
    assert meta["status"] == "complete" and meta["fingerprint"]["budget"] == 1e6


def test_robust_scores_take_the_pessimistic_percentile(small):
    search = O.prepare(small, strategies=["fix_courier"], objectives=["profit:max",
                                                                      "churned:min"],
                       reps=5, robust=20, trials=10)
    base = {"error": "", "values": {"profit": [0.0] * 5, "churned": [0.0] * 5,
                                    "intervention_cost": [0.0] * 5}}
    cand = {"error": "", "values": {"profit": [10.0, -50.0, 20.0, 30.0, 40.0],
                                    "churned": [1.0, 2.0, 3.0, 4.0, 50.0],
                                    "intervention_cost": [5.0] * 5}}
    f = O.figures(search, cand, base)
    assert f.objectives[0] == pytest.approx(np.percentile([10, -50, 20, 30, 40], 20))
    assert f.objectives[1] == pytest.approx(np.percentile([1, 2, 3, 4, 50], 80))
    mean = O.prepare(small, strategies=["fix_courier"], objectives=["profit:max"], reps=5,
                     trials=10)
    assert O.figures(mean, cand, base).objectives[0] == pytest.approx(10.0)


def test_a_posterior_gives_each_replicate_its_draw(small):
    from cxsim.calibrate import load_posterior

    path = "segments.occasional.base_churn"
    post = load_posterior(pd.DataFrame({path: [0.04, 0.06, 0.08], "weight": [1, 1, 1]}),
                          small)
    search = O.prepare(small, strategies=["fix_courier"], reps=3, trials=5, batch=5,
                       posterior=post)
    specs = search.specs(1, {"on:fix_courier": True}, None)
    draws = post.draws(max(3, search.reeval_reps), 0)
    assert [s.overrides[path] for s in specs] == [d[path] for d in draws[:3]]
    assert search.fingerprint()["posterior"] == "a table"
