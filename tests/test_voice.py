"""The voice_of_customer programme (cxsim.voice): a feedback loop that reads sampled ratings
per touchpoint, fixes the worst within a budget after a delay, with diminishing returns."""

from __future__ import annotations

import json
import math

import numba
import numpy as np
import pandas as pd
import pytest
from conftest import assert_up, call, minimal_dict
from hypothesis import given, settings
from hypothesis import strategies as st

import cxsim
from cxsim import voice
from cxsim.rng import STREAM_INDEX, STREAMS, stream_keys
from cxsim.runner import resize

WEB, PHONE, DELIVERY = 0, 1, 2


def scenario(ticks: int = 40, size: int = 3000, phone_quality: float = 0.35,
             **programme) -> cxsim.Scenario:
    """The minimal scenario with a poor phone line and a strategy ``voc`` holding the loop."""
    data = minimal_dict(simulation={"ticks": ticks},
                        market={"size": size, "initial_customers": size // 2})
    data["touchpoints"]["phone"]["quality"] = phone_quality
    iv = {"type": "voice_of_customer", "amount": 0.1, "cadence": 10, "delay": 5,
          "budget": 1000.0, "cost_per_fix": 1000.0, "response_rate": 1.0, **programme}
    data["strategies"] = {"voc": {"interventions": [iv]}}
    return cxsim.Scenario.from_dict(data)


def run(sc: cxsim.Scenario, seed: int = 1, strategy: str | None = "voc", **kw) -> cxsim.CXModel:
    return cxsim.CXModel(sc, rng=seed, strategy=strategy, **kw).run()


# ---- what the loop reads -------------------------------------------------------------------


def test_the_stream_is_appended():
    assert STREAMS[-1] == "voice" and STREAM_INDEX["voice"] == cxsim.kernels.K_VOICE


def test_picks_the_truly_worst_touchpoint_and_reads_its_rating():
    """With every contact answering, the review picks the phone (clearly worst) and reads
    its satisfied share within sampling error of the period's mean experience."""
    m = run(scenario())
    d = voice.decisions(m)
    assert list(d["touchpoint"]) == ["phone"] * len(d) and list(d["tick"]) == [11, 21, 31]
    tp = m.touchpoint_metrics
    period = tp[(tp.tick >= 1) & (tp.tick <= 10) & (tp.touchpoint == "phone")]
    mean = (period.experience * period.volume).sum() / period.volume.sum()
    first = d.iloc[0]
    assert first.volume == period.volume.sum() and first.respondents == first.volume
    se = math.sqrt(mean * (1 - mean) / first.respondents)
    assert abs(first.rating - mean) < 4 * se
    others = tp[(tp.tick <= 10) & (tp.touchpoint != "phone")]
    assert (others.groupby("touchpoint").apply(
        lambda g: (g.experience * g.volume).sum() / g.volume.sum()) > mean + 0.2).all()


@pytest.mark.parametrize("volume,mean", [(20, 0.7), (400, 0.7), (5000, 0.4)])
def test_the_sampling_variance_matches_its_formula(volume, mean):
    """Over 4,000 reviews the rating is unbiased with variance m (1 - m) / n: a touchpoint
    with few answers is read noisily (exact binomial to EXACT_UP_TO answers, then normal)."""
    key = int(stream_keys(3)[STREAM_INDEX["voice"]])
    reps = 4000
    draws = np.array([voice.sample_rating(key, 1, t, volume, mean, 1.0) for t in range(reps)])
    assert (draws[:, 0] == volume).all()
    r = draws[:, 1]
    var = mean * (1 - mean) / volume
    assert abs(r.mean() - mean) < 4 * math.sqrt(var / reps)
    # the sample variance's standard error is var * sqrt(2 / (reps - 1)) (normal kurtosis)
    assert abs(r.var(ddof=1) / var - 1) < 4 * math.sqrt(2 / (reps - 1))


def test_respondents_round_by_chance():
    key = int(stream_keys(3)[STREAM_INDEX["voice"]])
    n = np.array([voice.sample_rating(key, 0, t, 37, 0.5, 0.1)[0] for t in range(4000)])
    assert set(n) == {3, 4} and abs(n.mean() - 3.7) < 4 * math.sqrt(0.21 / 4000)


@settings(max_examples=60, deadline=None)
@given(st.floats(0, 1e5), st.floats(0, 1), st.floats(1e-3, 1), st.integers(0, 10**6))
def test_a_sample_is_a_share_of_whole_answers(volume, mean, rate, t):
    n, rating = voice.sample_rating(12345, 2, t, volume, mean, rate)
    assert math.floor(volume * rate) <= n <= math.floor(volume * rate) + 1
    if n == 0:
        assert math.isnan(rating)
    else:
        assert 0.0 <= rating <= 1.0 and abs(rating * n - round(rating * n)) < 1e-6


# ---- what it buys, when it acts ------------------------------------------------------------


def test_respects_the_budget_and_books_the_cost_on_the_review_tick():
    sc = scenario(budget=2500.0, cost_per_fix=1000.0)
    m = run(sc)
    d = voice.decisions(m)
    assert d.groupby("tick").size().tolist() == [2, 2, 2]  # floor(2500 / 1000)
    assert (d.groupby("tick")["touchpoint"].nunique() == 2).all()  # one fix a touchpoint
    cost = m.metrics.set_index("tick")["intervention_cost"]
    assert cost[[11, 21, 31]].tolist() == [2000.0] * 3
    assert cost.drop([11, 21, 31]).eq(0).all()


def test_no_effect_before_the_delay():
    """Before the first fix takes effect the run is the baseline's, draw for draw (common
    random numbers); on its effective tick the phone's planned quality rises by amount."""
    sc = scenario(ticks=25, delay=7)
    base = cxsim.CXModel(sc, rng=4)
    loop = cxsim.CXModel(sc, rng=4, strategy="voc")
    q0 = float(loop.touchpoints_base.quality[PHONE])
    for t in range(1, 26):
        base.step()
        loop.step()
        expected = q0 if t < 18 else q0 + 0.1
        assert loop.touchpoints_planned.quality[PHONE] == pytest.approx(expected), t
    keep = [c for c in base.metrics.columns if c not in ("cost", "profit", "intervention_cost")]
    pd.testing.assert_frame_equal(base.metrics[keep].iloc[:17], loop.metrics[keep].iloc[:17])
    assert not base.metrics[keep].iloc[17:].equals(loop.metrics[keep].iloc[17:])
    assert voice.decisions(loop)["effective_tick"].tolist() == [18, 28]  # the 2nd after the run


def test_second_fix_is_smaller_and_fixes_persist():
    sc = scenario(ticks=45, returns=0.5, delay=0, end=32)
    m = run(sc)
    d = voice.decisions(m)
    assert d["uplift"].tolist() == pytest.approx([0.1, 0.05, 0.025])
    assert d["fix"].tolist() == [1, 2, 3]
    tp = m.touchpoint_metrics
    phone = tp[tp.touchpoint == "phone"].set_index("tick")
    assert phone.loc[[10, 11, 21, 31, 45], "voc_uplift"].tolist() == pytest.approx(
        [0.0, 0.1, 0.15, 0.175, 0.175])  # no review after the end (41), the fixes stay
    assert phone.loc[45, "voc_fixes"] == 3
    assert m.touchpoints_planned.quality[PHONE] == pytest.approx(0.35 + 0.175)


def test_rank_by_impact_weights_by_volume():
    """The web has many more contacts: by impact its dissatisfied contacts outnumber the
    poor phone's, so it is fixed first; by rating the phone is."""
    sc = scenario(ticks=12, phone_quality=0.6, rank_by="impact")
    d = voice.decisions(run(sc))
    assert d["touchpoint"].tolist() == ["web"]
    assert voice.decisions(run(scenario(ticks=12, phone_quality=0.6)))[
        "touchpoint"].tolist() == ["phone"]


# ---- same results everywhere ---------------------------------------------------------------


def test_engines_agree():
    sc = scenario(ticks=24, size=600, cadence=6, delay=2, response_rate=0.3)
    a, b = run(sc, 9), run(sc, 9, engine="mesa")
    pd.testing.assert_frame_equal(a.metrics, b.metrics, check_exact=True)
    pd.testing.assert_frame_equal(a.touchpoint_metrics, b.touchpoint_metrics, check_exact=True)
    pd.testing.assert_frame_equal(voice.decisions(a), voice.decisions(b), check_exact=True)
    assert len(voice.decisions(a)) == 3


def test_ensembles_and_threads_agree():
    """An ensemble's members equal single runs; above SERIAL_BELOW customers in all the
    pass uses every thread and gives the same decisions as one thread."""
    sc = scenario(ticks=8, size=30_000, cadence=3, delay=1, response_rate=0.05)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        one = cxsim.Ensemble(sc, seeds=[5, 6], strategies="voc").run()
    finally:
        numba.set_num_threads(threads)
    two = cxsim.Ensemble(sc, seeds=[5, 6], strategies="voc").run()
    for seed, a, b in zip([5, 6], one.models, two.models, strict=True):
        alone = run(sc, seed)
        for m in (a, b):
            pd.testing.assert_frame_equal(alone.touchpoint_metrics, m.touchpoint_metrics,
                                          check_exact=True)
            pd.testing.assert_frame_equal(alone.metrics, m.metrics, check_exact=True)
            pd.testing.assert_frame_equal(voice.decisions(alone), voice.decisions(m))


# ---- the scenario and the command line -----------------------------------------------------


def _problems(**programme) -> str:
    with pytest.raises(cxsim.ScenarioError) as e:
        scenario(**programme)
    return str(e.value)


@pytest.mark.parametrize("change,message", [
    ({"amount": 0.0}, "voc.interventions[0].amount: a voice_of_customer fix raises quality"),
    ({"amount": 1.5}, "must be in (0, 1], got 1.5"),
    ({"budget": 500.0}, "interventions[0].budget: 500 a review buys no fix at cost_per_fix"),
    ({"ramp": 5}, "interventions[0].ramp: voice_of_customer takes no ramp"),
    ({"cadence": 0}, "interventions[0].cadence"),
    ({"response_rate": 1.5}, "interventions[0].response_rate"),
    ({"returns": -0.1}, "interventions[0].returns"),
    ({"rank_by": "loudness"}, "interventions[0].rank_by"),
    ({"target": "phone"}, "'voice_of_customer' takes no target"),
])
def test_validation_messages(change, message):
    assert message in _problems(**change)


def test_its_fields_are_refused_on_other_types():
    data = minimal_dict()
    data["strategies"] = {"s": {"interventions": [
        {"type": "improve_touchpoint", "target": "web", "amount": 0.1, "delay": 7}]}}
    with pytest.raises(cxsim.ScenarioError, match=r"strategies\.s\.interventions\[0\]\.delay: "
                       "only voice_of_customer takes delay, not 'improve_touchpoint'"):
        cxsim.Scenario.from_dict(data)


def test_resize_scales_its_money_and_keeps_the_fixes():
    sc = scenario(budget=3000.0, cost_per_fix=1000.0)
    small = resize(sc, customers=1500)
    iv = small.strategies["voc"].interventions[0]
    assert (iv.budget, iv.cost_per_fix) == (1500.0, 500.0)


def test_cxsim_run_writes_the_decisions(tmp_path):
    data = minimal_dict(simulation={"ticks": 25})
    data["touchpoints"]["phone"]["quality"] = 0.35
    toml = tmp_path / "voc.toml"
    toml.write_text(_toml(data) + '\n[strategies.voc]\ninterventions = [\n'
                    '  { type = "voice_of_customer", amount = 0.1, cadence = 10, delay = 3, '
                    'budget = 2000, cost_per_fix = 1000 },\n]\n')
    out = tmp_path / "res"
    code, _, err = call(["run", toml, "--strategy", "voc", "--out", out, "--quiet"])
    assert code == 0, err
    d = pd.read_csv(out / "voice.csv")
    assert list(d.columns) == list(voice.DECISION_COLUMNS) and len(d) == 4
    s = json.loads((out / "summary.json").read_text())["voice_of_customer"]
    assert s["fixes"] == 4 and s["cost"] == 4000.0 and s["reviews_with_fixes"] == 2
    tp = pd.read_csv(out / "touchpoints.csv")
    assert {"voc_fixes", "voc_uplift"} <= set(tp.columns)
    code, _, err = call(["run", toml, "--strategy", "voc", "--out", out, "--quiet"])
    assert code == 0, err  # a folder holding voice.csv is a run's: replaced whole
    code, _, _ = call(["run", toml, "--out", tmp_path / "base", "--quiet"])
    assert code == 0 and not (tmp_path / "base" / "voice.csv").exists()


def _toml(data: dict) -> str:
    """A scenario's plain data as TOML (tables and inline tables; enough for minimal_dict)."""
    def value(v):
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        return repr(v)

    lines = []
    for key, sec in data.items():
        if isinstance(sec, list):
            lines.append(f"{key} = {value(sec)}")
        elif not isinstance(sec, dict):
            lines.insert(0, f"{key} = {value(sec)}")
    for key, sec in data.items():
        if isinstance(sec, dict):
            lines.append(f"[{key}]")
            lines += [f"{k} = {value(v)}" for k, v in sec.items()]
    return "\n".join(lines) + "\n"


# ---- direction -----------------------------------------------------------------------------


def test_the_loop_raises_satisfaction_and_lowers_churn():
    """Paired replications (common random numbers): fixing the poor phone line lifts the
    mean satisfaction and lowers the customers lost, each by more than 3 SE."""
    sc = scenario(ticks=120, size=4000, cadence=15, delay=5, returns=1.0, amount=0.15,
                  response_rate=0.1)
    sat, churn = [], []
    for seed in range(6):
        a, b = run(sc, seed, strategy=None).metrics, run(sc, seed).metrics
        sat.append(b.satisfaction.mean() - a.satisfaction.mean())
        churn.append(a.churned.sum() - b.churned.sum())
    assert_up(sat, "mean satisfaction, loop - none")
    assert_up(churn, "customers lost, none - loop")
