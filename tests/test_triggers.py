"""Triggered interventions (cxsim.triggers): the condition, when they fire, their history,
and that they run the same under both engines, any thread count, in ensembles, compare and
sweep."""

from __future__ import annotations

import builtins
import math
import subprocess
import sys
from dataclasses import asdict

import numba
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cxsim
from cxsim.runner import resize
from cxsim.scenario import Intervention, ScenarioError, Strategy
from cxsim.triggers import (
    HISTORY_COLUMNS,
    compile_condition,
    condition_problem,
    window_values,
)

TEAM = "contact_centre"
SURGE = Intervention(type="demand_surge", start=40, end=80, amount=0.4)


def temps(**kw) -> Intervention:
    """Temporary staff for the contact centre when the service level drops."""
    base = {"type": "hire", "target": TEAM, "amount": 3, "when": "service_level < 0.7",
            "window": 7, "duration": 10, "cooldown": 5, "max_activations": 3,
            "cost": 100.0, "cost_per_tick": 10.0}
    return Intervention(**{**base, **kw})


@pytest.fixture(scope="module")
def retail() -> cxsim.Scenario:
    """The retailer at 3,000 customers standing for the full market's queues, 100 days."""
    return resize(cxsim.default_scenario(), customers=3000, days=100, sample=True)


@pytest.fixture(scope="module")
def surge_run(retail):
    st_ = Strategy(interventions=[SURGE, temps()])
    return cxsim.CXModel(retail, rng=5, strategy=st_).run()


# ---- the condition ------------------------------------------------------------------------

NAMES = ("service_level", "nps", "abandonment", "churn_rate", "active")


@st.composite
def expressions(draw, depth=0):
    """A random condition and the truth function computing it (the test's own evaluator)."""
    kind = draw(st.sampled_from(["cmp", "cmp", "and", "or", "not", "paren"] if depth < 3
                                else ["cmp"]))
    if kind == "cmp":
        name = draw(st.sampled_from(NAMES))
        op = draw(st.sampled_from(["<", "<=", ">", ">=", "==", "!="]))
        x = draw(st.floats(-100, 100, allow_nan=False).map(lambda v: round(v, 3)))
        f = {"<": lambda a: a < x, "<=": lambda a: a <= x, ">": lambda a: a > x,
             ">=": lambda a: a >= x, "==": lambda a: a == x, "!=": lambda a: a != x}[op]
        return f"{name} {op} {x!r}", lambda v: f(v[name])
    if kind == "not":
        text, f = draw(expressions(depth + 1))
        return f"not ({text})", lambda v: not f(v)
    if kind == "paren":
        text, f = draw(expressions(depth + 1))
        return f"({text})", f
    (ta, fa), (tb, fb) = draw(expressions(depth + 1)), draw(expressions(depth + 1))
    if kind == "and":
        return f"({ta}) and ({tb})", lambda v: fa(v) and fb(v)
    return f"({ta}) or ({tb})", lambda v: fa(v) or fb(v)


@settings(max_examples=150, deadline=None)
@given(expressions(), st.fixed_dictionaries(
    {n: st.floats(-100, 100, allow_nan=False) for n in NAMES}))
def test_conditions_evaluate_like_the_expressions_they_spell(expr, values):
    text, truth = expr
    assert condition_problem(text) is None
    assert compile_condition(text).holds(values) == truth(values)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_text_is_refused_or_parsed_and_never_run_as_python(text):
    def refuse(*args, **kwargs):
        raise AssertionError("Python code was evaluated")

    saved = builtins.eval, builtins.exec
    builtins.eval = builtins.exec = refuse
    try:
        problem = condition_problem(text)
    finally:
        builtins.eval, builtins.exec = saved
    assert problem is None or (isinstance(problem, str) and "\n" not in problem)


@pytest.mark.parametrize("text, words", [
    ("service_levl < 0.8", ["unknown metric 'service_levl' (close: service_level)",
                            "known metrics: active, new"]),
    ("__import__('os').system('true')", ["calls are not allowed"]),
    ("service_level", ["not a condition"]),
    ("service_level = 0.8", ["'=' is not a comparison"]),
    ("", ["is empty; give a condition such as service_level < 0.8"]),
    ("service_level < 'high'", ["is text and cannot be compared with a number"]),
    ("(service_level < 0.8", ["a parenthesis is not closed"]),
])
def test_bad_conditions_are_refused_in_one_line_naming_what_was_typed(text, words):
    problem = condition_problem(text)
    assert problem is not None and "\n" not in problem
    if text:
        assert f'"{text}"' in problem
    for w in words:
        assert w in problem


def test_a_nan_metric_makes_a_comparison_false():
    cond = compile_condition("service_level < 0.8")
    assert not cond.holds({"service_level": math.nan})
    assert compile_condition("not (service_level >= 0.8)").holds({"service_level": math.nan})


# ---- validation ---------------------------------------------------------------------------


def _with(iv: dict, ticks: int = 50) -> dict:
    data = cxsim.default_scenario().to_dict()
    data["simulation"]["ticks"] = ticks
    data["strategies"] = {"react": {"interventions": [iv]}}
    return data


@pytest.mark.parametrize("iv, message", [
    ({"type": "hire", "target": TEAM, "amount": 2, "when": "sl < 0.8"},
     "strategies.react.interventions[0].when: cannot use \"sl < 0.8\": unknown metric 'sl'"),
    ({"type": "hire", "target": TEAM, "amount": 2, "when": "service_level < 0.8",
      "window": 0}, "strategies.react.interventions[0].window must be in [1, 100000], got 0"),
    ({"type": "hire", "target": TEAM, "amount": 2, "when": "service_level < 0.8",
      "cooldown": -1}, "strategies.react.interventions[0].cooldown must be in [0, 100000]"),
    ({"type": "hire", "target": TEAM, "amount": 2, "duration": 5},
     "strategies.react.interventions[0].duration: only a triggered intervention (one with "
     "when) takes duration"),
    ({"type": "hire", "target": TEAM, "amount": 2, "when": 0.8},
     "strategies.react.interventions[0].when"),
])
def test_scenario_validation_names_the_path(iv, message):
    with pytest.raises(ScenarioError) as err:
        cxsim.Scenario.from_dict(_with(iv))
    assert any(message in e for e in err.value.all_problems), err.value.all_problems


def test_a_triggered_intervention_needs_no_start_and_reads_from_toml(tmp_path):
    text = (cxsim.scenario.find_scenario("retail").read_text()
            + '\n[strategies.react]\ninterventions = [{ type = "hire", target = "contact_centre",'
              ' amount = 2, when = "service_level < 0.8 and abandonment > 0.05", window = 3,'
              ' duration = 4, cooldown = 2, max_activations = 2 }]\n')
    path = tmp_path / "react.toml"
    path.write_text(text)
    sc = cxsim.load_scenario(path)
    iv = sc.strategies["react"].interventions[0]
    assert (iv.start, iv.when, iv.window, iv.duration, iv.cooldown, iv.max_activations) == (
        0, "service_level < 0.8 and abandonment > 0.05", 3, 4, 2, 2)


def test_cxsim_validate_catches_a_bad_expression(tmp_path):
    text = (cxsim.scenario.find_scenario("retail").read_text()
            + '\n[strategies.react]\ninterventions = [{ type = "hire", target = "contact_centre",'
              ' amount = 2, when = "service_level << 0.8" }]\n')
    path = tmp_path / "bad.toml"
    path.write_text(text)
    out = subprocess.run([sys.executable, "-c", "import sys; from cxsim.cli import main; "
                          "sys.exit(main())", "validate", str(path)],
                         capture_output=True, text=True)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr
    assert 'interventions[0].when: cannot use "service_level << 0.8"' in lines[0]


# ---- when it fires ------------------------------------------------------------------------


def expected_activations(metrics: pd.DataFrame, threshold: float, window: int, duration: int,
                         cooldown: int, most: int) -> list[tuple[int, int, float]]:
    """The activations the trigger's rules give on a run's metrics table (the test's own)."""
    sl = metrics.set_index("tick")["service_level"]
    acts: list[tuple[int, int, float]] = []
    for t in range(window + 1, int(sl.index.max()) + 1):
        if most and len(acts) >= most:
            break
        if acts and t <= acts[-1][1] + cooldown:
            continue
        w = sl.loc[t - window:t - 1].to_numpy(dtype=float)
        w = w[np.isfinite(w)]
        if len(w) and w.mean() < threshold:
            acts.append((t, t + duration - 1, float(w.mean())))
    return acts


def test_fires_exactly_when_the_windowed_service_level_drops(surge_run):
    hist = surge_run.trigger_history
    assert list(hist.columns) == list(HISTORY_COLUMNS)
    want = expected_activations(surge_run.metrics, 0.7, 7, 10, 5, 3)
    assert len(want) == 3  # the surge drives it below 0.7 three times or more
    assert list(zip(hist.start, hist.end, strict=True)) == [(a, b) for a, b, _ in want]
    np.testing.assert_allclose(hist.value, [v for _, _, v in want], rtol=1e-12)
    assert SURGE.start < hist.start.iloc[0] <= SURGE.start + 7  # it waited for the surge
    assert list(hist.activation) == [1, 2, 3] and set(hist.intervention) == {1}
    assert surge_run.summary()["trigger_activations"] == 3


def test_activations_hire_and_cost_while_they_act(surge_run):
    hist = surge_run.trigger_history
    cost = surge_run.metrics.set_index("tick")["intervention_cost"]
    heads = surge_run.queue_metrics.set_index("tick")["headcount"]
    acting = set()
    for a, b in zip(hist.start, hist.end, strict=True):
        acting |= set(range(a, b + 1))
        assert cost[a] == 110.0  # one-off cost + the first tick's running cost
        assert heads[a] - heads[a - 1] == 3  # three temps start on the activation's tick
        assert heads[b + 1] - heads[b] <= -3 + 1  # and leave after it (one may have quit)
    for t, c in cost.items():
        assert c == (0.0 if t not in acting else (110.0 if t in set(hist.start) else 10.0))


def test_window_values_are_the_metrics_tables_aggregates(surge_run):
    from cxsim.metrics import aggregate

    m = surge_run.metrics
    for name in ("service_level", "churn_rate", "nps", "monthly_churn", "profit"):
        got = window_values(surge_run, (name,), 31, 37)[name]
        want = aggregate(m, name, 31, 37, initial_customers=surge_run.market.initial_customers)
        assert got == pytest.approx(want, rel=1e-12, nan_ok=True)
    got = window_values(surge_run, ("churn_rate",), 1, 5)["churn_rate"]
    assert got == pytest.approx(aggregate(m, "churn_rate", 1, 5, initial_customers=(
        surge_run.market.initial_customers)), rel=1e-12)


def test_cooldown_duration_max_activations_and_end(retail):
    always = {"type": "personalisation", "amount": 0.01, "when": "active >= 0", "window": 1,
              "cost": 5.0}
    sc = resize(retail, days=30)

    def starts(**kw):
        m = cxsim.CXModel(sc, rng=1, strategy=Strategy(
            interventions=[Intervention(**{**always, **kw})])).run()
        return list(zip(m.trigger_history.start, m.trigger_history.end, strict=True)), m

    acts, m = starts(duration=3, cooldown=2, max_activations=3)
    assert acts == [(2, 4), (7, 9), (12, 14)]
    assert m.metrics.intervention_cost.sum() == 15.0
    assert starts(duration=3, cooldown=0, max_activations=2)[0] == [(2, 4), (5, 7)]
    assert starts(duration=0)[0] == [(2, -1)]  # for good: it never fires again
    acts, _ = starts(duration=0, start=10, end=20)
    assert acts == [(10, 20)]  # armed from its start, acting until its end, no later
    acts, _ = starts(duration=4, start=5, end=12, cooldown=0)
    assert acts == [(5, 8), (9, 12)]  # the last activation is cut at the end
    acts, _ = starts(duration=2, window=7)
    assert acts[0] == (8, 9)  # only a full window is judged


def test_ramp_starts_at_each_activation(retail):
    sc = resize(retail, days=20)
    iv = Intervention(type="omnichannel", amount=0.4, ramp=4, when="active >= 0", window=1,
                      duration=6, cooldown=3)
    m = cxsim.CXModel(sc, rng=1, strategy=Strategy(interventions=[iv]))
    levels = []
    for _ in range(20):
        m.step()
        levels.append(m.environment.omnichannel)
    assert list(m.trigger_history.start) == [2, 11, 20]
    base = levels[0]
    rise = [round(x - base, 12) for x in levels]
    assert rise[1:6] == [0.1, 0.2, 0.3, 0.4, 0.4]  # ticks 2-6 ramp in over 4 ticks
    assert rise[8:10] == [0.0, 0.0]  # after its end (tick 7), withdrawn
    assert rise[10:12] == [0.1, 0.2]  # the next activation ramps from its own start


# ---- same results everywhere --------------------------------------------------------------


def _tiny() -> tuple[cxsim.Scenario, Strategy]:
    sc = resize(cxsim.default_scenario(), customers=600, days=40, sample=True)
    return sc, Strategy(interventions=[
        Intervention(type="demand_surge", start=10, end=30, amount=0.6),
        temps(when="service_level < 0.8 or abandonment > 0.08", window=3, duration=5,
              cooldown=2, max_activations=0),
        Intervention(type="train", target=TEAM, amount=0.05, ramp=2, when="nps < 30",
                     window=5, duration=4)])


def _same(a: cxsim.CXModel, b: cxsim.CXModel) -> None:
    pd.testing.assert_frame_equal(a.metrics, b.metrics, check_exact=True)
    pd.testing.assert_frame_equal(a.trigger_history, b.trigger_history, check_exact=True)
    pd.testing.assert_frame_equal(a.queue_metrics, b.queue_metrics, check_exact=True)


def test_engines_and_thread_counts_give_the_same_run():
    sc, strat = _tiny()
    first = cxsim.CXModel(sc, rng=11, strategy=strat).run()
    assert len(first.trigger_history) >= 2
    _same(first, cxsim.CXModel(sc, rng=11, strategy=strat).run())  # deterministic
    _same(first, cxsim.CXModel(sc, rng=11, strategy=strat, engine="mesa").run())
    threads = numba.get_num_threads()
    if numba.config.NUMBA_NUM_THREADS >= 2:
        from cxsim import model as M

        old = M.SERIAL_BELOW
        M.SERIAL_BELOW = 0  # run the small market's ticks on the threads too
        try:
            for n in (1, 2):
                numba.set_num_threads(n)
                _same(first, cxsim.CXModel(sc, rng=11, strategy=strat).run())
        finally:
            M.SERIAL_BELOW = old
            numba.set_num_threads(threads)


def test_ensemble_members_equal_single_runs():
    sc, strat = _tiny()
    ens = cxsim.Ensemble(sc, seeds=[1, 2, 3], strategies=[strat, None, strat]).run()
    for seed, strategy, member in zip([1, 2, 3], [strat, None, strat], ens.models,
                                      strict=True):
        alone = cxsim.CXModel(sc, rng=seed, strategy=strategy).run()
        _same(alone, member)
        assert alone.summary() == member.summary()


# ---- through the tools --------------------------------------------------------------------


def test_compare_counts_activations_per_replicate(retail):
    sc = resize(retail, days=60)
    sc = cxsim.Scenario.from_dict({**sc.to_dict(), "strategies": {
        "react": {"interventions": [asdict(SURGE), asdict(temps())]}}})
    res = cxsim.compare(sc, ["react"], replications=2, seed=3, workers=1)
    runs = res.runs.set_index(["strategy", "replicate"])
    assert (runs.loc["react", "trigger_activations"] >= 1).all()
    assert (runs.loc["baseline", "trigger_activations"] == 0).all()
    single = cxsim.CXModel(sc, rng=int(runs.loc[("react", 0), "seed"]), strategy="react").run()
    assert runs.loc[("react", 0), "trigger_activations"] == len(single.trigger_history)
    from cxsim.compare import format_comparison

    assert "trigger activations" in format_comparison(res)


def test_sweep_over_an_amount_and_a_condition(retail):
    sc = resize(retail, days=60)
    sc = cxsim.Scenario.from_dict({**sc.to_dict(), "strategies": {
        "react": {"interventions": [asdict(SURGE), asdict(temps())]}}})
    res = cxsim.sweep(sc, {"strategies.react.interventions.1.amount": [2, 4],
                           "strategies.react.interventions.1.when": [
                               "service_level < 0.8", "service_level < 0.5"]},
                      strategy="react", workers=1)
    runs = res.runs
    assert len(runs) == 4 and (runs.status == "done").all()
    low = runs[runs["strategies.react.interventions.1.when"] == "service_level < 0.5"]
    high = runs[runs["strategies.react.interventions.1.when"] == "service_level < 0.8"]
    assert high.trigger_activations.min() >= low.trigger_activations.max()


def _react(retail, days: int) -> cxsim.Scenario:
    sc = resize(retail, days=days)
    return cxsim.Scenario.from_dict({**sc.to_dict(), "strategies": {
        "react": {"interventions": [asdict(SURGE), asdict(temps())]}}})


def test_search_runs_a_triggered_strategy_and_its_levers(retail):
    from cxsim import optimise as O

    sc = _react(retail, 60)
    res = O.optimise(sc, strategies=["react"],
                     levers=["strategies.react.interventions.1.amount=int(1,4)"],
                     objectives=["service_level:max"], trials=6, reps=2, batch=3,
                     reeval_reps=2, workers=1, seed=1)
    cand = res.candidates
    assert (cand["error"] == "").all() and cand["react"].any()


def test_calibration_keeps_a_triggered_strategy_that_then_runs(retail):
    from cxsim import calibrate as C
    from cxsim.metrics import aggregate

    sc = _react(retail, 60)
    r = cxsim.run(sc, 2)
    initial = r.summary["initial_customers"]
    targets = pd.DataFrame([{"metric": "monthly_churn", "day_from": 1, "day_to": 30,
                             "value": aggregate(r.metrics, "monthly_churn", 1, 30,
                                                initial_customers=initial), "n": initial}])
    res = C.calibrate(sc, targets, ["segments.occasional.base_churn=uniform(0.02,0.14)"],
                      budget=16, reps=1, batch=8, check_reps=2, seed=1, workers=1)
    fitted = res.scenario
    assert fitted.strategies["react"] == sc.strategies["react"]
    m = cxsim.CXModel(fitted, rng=3, strategy="react").run()
    assert len(m.trigger_history) >= 1


def test_cxsim_run_writes_the_history_and_marks_each_activation(tmp_path):
    import json

    from cxsim.cli import main

    text = (cxsim.scenario.find_scenario("retail").read_text()
            + '\n[strategies.react]\ninterventions = [\n'
              '  { type = "demand_surge", start = 20, end = 40, amount = 0.6 },\n'
              '  { type = "hire", target = "contact_centre", amount = 3, '
              'when = "service_level < 0.7", window = 5, duration = 8, cooldown = 4 },\n]\n')
    path = tmp_path / "react.toml"
    path.write_text(text)
    out = tmp_path / "run"
    assert main(["run", str(path), "--strategy", "react", "--customers", "3000", "--days",
                 "60", "--out", str(out), "--quiet", "--plot"]) == 0
    hist = pd.read_csv(out / "triggers.csv")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["trigger_activations"] == len(hist) >= 1
    marked = [e for e in summary["interventions"] if e.get("trigger")]
    assert [(e["start_day"], e["end_day"]) for e in marked] == [
        (float(a), float(b) if 0 <= b <= 60 else None)
        for a, b in zip(hist.start, hist.end, strict=True)]
    assert summary["interventions"][0] == {"type": "demand_surge", "target": "",
                                           "start_day": 20.0, "end_day": 40.0}
    # a run without triggers writes no history
    assert main(["run", str(path), "--strategy", "fix_courier", "--customers", "3000",
                 "--days", "40", "--out", str(tmp_path / "plain"), "--quiet"]) == 0
    assert not (tmp_path / "plain" / "triggers.csv").exists()
