"""Strategies: timed, costed interventions applied to a running model.

Every effect is checked against a *paired* baseline (same seed: common random numbers), so a
difference is the intervention's doing and nothing else's:

* unit tests of ``level`` / ``cost_at`` / ``resolve``;
* each of the twelve intervention types on the model state it targets, with nothing changed
  before its start tick and nothing else changed after it;
* withdrawal after ``end``, ramps, and the money (``intervention_cost``, ``resize``);
* the one-customer test: a change to one customer changes only that customer when social
  effects are off, and spreads only along the social network (one hop per tick) when on;
* engines, determinism and bad input.

Statistical directions use several seeds and require the paired mean difference to be more
than ``K_SE`` standard errors from zero.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from conftest import assert_down, assert_up, minimal_dict, minimal_scenario
from pandas.testing import assert_frame_equal

import cxsim
from cxsim import kernels as K
from cxsim.kernels import Customers, Segments, Touchpoints
from cxsim.runner import resize, run
from cxsim.scenario import Intervention, Scenario, ScenarioError, Strategy
from cxsim.strategies import cost_at, level, resolve, starts
from cxsim.workforce import Workforce

SEEDS = tuple(range(6))
ARRAYS = Customers._fields

# the touchpoint and segment groups as [rows, fields] matrices, columns named as below
TP_FIELDS = tuple(f for f in Touchpoints._fields if f != "intervals")  # per touchpoint
T_OPEN, T_QUALITY, T_RESOLUTION, T_EFFORT, T_P_FAIL, T_DOWN_FROM, T_DOWN_TO = (
    TP_FIELDS.index(f) for f in ("open", "quality", "resolution", "effort", "p_fail",
                                           "down_from", "down_to"))
SEG_FIELDS = tuple(f for f in Segments._fields if f not in ("need_cum", "channel_pref"))
S_P_NEED, S_EXTRA_LOGIT, S_PERF_BONUS = (
    SEG_FIELDS.index(f) for f in ("p_need", "extra_logit", "perf_bonus"))


def tp_matrix(tp: Touchpoints) -> np.ndarray:
    """A touchpoint group as one float matrix ``[T, fields]``."""
    return np.column_stack([np.asarray(getattr(tp, f), dtype=float) for f in TP_FIELDS])


def seg_matrix(seg: Segments) -> np.ndarray:
    """A segment group's per-segment fields as one matrix ``[S, fields]``."""
    return np.column_stack([getattr(seg, f) for f in SEG_FIELDS])


# ============================================================================================
# scenarios
# ============================================================================================


def rich_dict(**sections) -> dict:
    """Two segments, two staffed teams, a partner, an IT system and a disabled touchpoint.

    Staff neither learn nor quit (``learning_contacts`` huge, attrition 0), so skill changes
    only through interventions and employee-level comparisons are exact.  The courier has a
    huge capacity (no overload), so its reliability is exactly the contracted one.
    """
    d = minimal_dict(
        simulation={"ticks": 40},
        market={"size": 3000, "initial_customers": 2000},
        segments={
            "a": {"share": 0.5, "revenue_per_day": 2.0, "base_churn": 0.03,
                  "price_sensitivity": 0.8, "need_rates": {"buy": 0.08, "support": 0.04}},
            "b": {"share": 0.5, "revenue_per_day": 1.0, "base_churn": 0.03,
                  "price_sensitivity": 0.2, "need_rates": {"buy": 0.08, "support": 0.04}},
        },
        touchpoints={
            "web": {"channel": "web", "stage": "purchase", "quality": 0.8, "effort": 0.15,
                    "resolution": 0.8},
            "store": {"channel": "store", "stage": "purchase", "quality": 0.8, "effort": 0.3,
                      "resolution": 0.9},
            "help": {"channel": "web", "stage": "support", "quality": 0.7, "effort": 0.25,
                     "resolution": 0.6},
            "phone": {"channel": "phone", "stage": "support", "quality": 0.75, "effort": 0.3,
                      "resolution": 0.75, "cost_per_contact": 4.0},
            "chat": {"channel": "chat", "stage": "support", "quality": 0.85, "effort": 0.15,
                     "resolution": 0.8, "enabled": False},
            "delivery": {"channel": "delivery", "stage": "purchase", "quality": 0.85,
                         "effort": 0.05, "resolution": 1.0},
        },
        pathways=[
            {"from": "web", "to": "phone"},
            {"from": "web", "to": "delivery", "kind": "handoff", "weight": 0.8,
             "needs": ["buy"]},
            {"from": "help", "to": "phone", "weight": 1.0},
            {"from": "help", "to": "chat", "weight": 2.0},
        ],
        needs={"buy": {"entry": ["web", "store"]},
               "support": {"entry": ["help", "phone", "chat"]}},
        teams={"cc": {"touchpoints": ["phone"], "headcount": 8, "annual_attrition": 0.0},
               "floor": {"touchpoints": ["store"], "headcount": 5, "annual_attrition": 0.0}},
        partners={"courier": {"touchpoints": ["delivery"], "reliability": 0.8,
                              "capacity": 1e9}},
        systems={"platform": {"touchpoints": ["web"], "outage_probability": 0.1}},
        workforce={"learning_contacts": 1e12},
    )
    return _merge(d, sections)


def _merge(d: dict, sections: dict) -> dict:
    """Update sections: plain sections merge key by key, named tables are replaced whole."""
    for key, value in sections.items():
        merge = isinstance(d.get(key), dict) and key not in (
            "segments", "touchpoints", "needs", "teams", "partners", "systems", "strategies")
        d[key] = {**d[key], **value} if merge else value
    return d


def rich(**sections) -> Scenario:
    return Scenario.from_dict(rich_dict(**sections))


def isolated_dict(**sections) -> dict:
    """Customers who cannot affect each other: no queues, no overload, no social effects.

    No staffed team (queues couple customers), a courier that is never overloaded, a fully
    mixed market with no referral pull (``q = 0``), no word of mouth and no contagion.  Any
    change to one customer's trajectory can then only be that customer's own.
    """
    d = minimal_dict(
        simulation={"ticks": 40},
        market={"size": 3000, "initial_customers": 2500, "network": "full", "q": 0.0,
                "p": 0.05},
        behaviour={"wom_strength": 0.0, "contagion": 1.0},
        segments={
            "a": {"share": 0.5, "revenue_per_day": 2.0, "base_churn": 0.04,
                  "price_sensitivity": 0.8, "need_rates": {"buy": 0.1, "support": 0.05}},
            "b": {"share": 0.5, "revenue_per_day": 1.0, "base_churn": 0.04,
                  "price_sensitivity": 0.2, "need_rates": {"buy": 0.1, "support": 0.05}},
        },
        touchpoints={
            "web": {"channel": "web", "stage": "purchase", "quality": 0.8, "effort": 0.15,
                    "resolution": 0.7},
            "phone": {"channel": "phone", "stage": "support", "quality": 0.75, "effort": 0.3,
                      "resolution": 0.8},
            "delivery": {"channel": "delivery", "stage": "purchase", "quality": 0.85,
                         "resolution": 1.0},
        },
        teams={},
        partners={"courier": {"touchpoints": ["delivery"], "reliability": 0.9,
                              "capacity": 1e9}},
    )
    return _merge(d, sections)


def isolated(**sections) -> Scenario:
    return Scenario.from_dict(isolated_dict(**sections))


def strat(*ivs: Intervention) -> Strategy:
    return Strategy(description="test", interventions=list(ivs))


def iv(type: str, target: str = "", **kw) -> Intervention:  # noqa: A002 - mirrors the field
    return Intervention(type=type, target=target, **kw)


# ============================================================================================
# helpers
# ============================================================================================


def snapshot(model) -> dict[str, np.ndarray]:
    return {name: getattr(model.arrays, name).copy() for name in ARRAYS}


def differing(a: dict[str, np.ndarray], b: dict[str, np.ndarray],
              names: tuple[str, ...] = ARRAYS) -> np.ndarray:
    """Agents whose state differs in any of ``names`` (exact comparison)."""
    out = np.zeros(a[names[0]].shape[0], bool)
    for name in names:
        out |= a[name] != b[name]
    return out


def paired(sc: Scenario, strategy, seed: int = 1, ticks: int | None = None, hook=None,
           engine: str = "numba"):
    """Step a baseline and a strategy model with the same seed; ``hook(t, base, var)``."""
    base = cxsim.CXModel(sc, rng=seed, engine=engine)
    var = cxsim.CXModel(sc, rng=seed, engine=engine, strategy=strategy)
    ticks = sc.simulation.ticks if ticks is None else ticks
    for t in range(1, ticks + 1):
        base.step()
        var.step()
        if hook is not None:
            hook(t, base, var)
    return base, var


def frames(model) -> dict[str, pd.DataFrame]:
    # a voice_of_customer programme adds its columns (voc_*) to the touchpoint table
    tp = model.touchpoint_metrics.drop(columns=["voc_fixes", "voc_uplift"], errors="ignore")
    return {"metrics": model.metrics, "touchpoints": tp,
            "segments": model.segment_metrics, "queues": model.queue_metrics,
            "partners": model.partner_metrics}


def before(df: pd.DataFrame, tick: int) -> pd.DataFrame:
    return df[df["tick"] < tick].reset_index(drop=True) if len(df) else df


def from_tick(df: pd.DataFrame, tick: int) -> pd.DataFrame:
    return df[df["tick"] >= tick].reset_index(drop=True) if len(df) else df








def paired_diffs(sc: Scenario, strategy, stat, seeds=SEEDS, ticks=None) -> np.ndarray:
    """``stat(var) - stat(base)`` for each seed (common random numbers)."""
    out = []
    for s in seeds:
        base, var = paired(sc, strategy, seed=s, ticks=ticks)
        out.append(stat(var) - stat(base))
    return np.array(out)


def pooled(df: pd.DataFrame, col: str, weight: str, start: int) -> float:
    d = df[(df["tick"] >= start) & (df[weight] > 0)]
    return float((d[col] * d[weight]).sum() / d[weight].sum())


def tp_experience(model, name: str, start: int) -> float:
    d = model.touchpoint_metrics
    d = d[(d["touchpoint"] == name) & (d["tick"] >= start) & (d["volume"] > 0)]
    return float((d["experience"] * d["volume"]).sum() / d["volume"].sum())


def seg_sat(model, seg: str) -> float:
    a = model.arrays
    s = model.segment_names.index(seg)
    on = (a.status == K.CUSTOMER) & (a.segment == s)
    return float(a.satisfaction[on].astype(float).mean())


def seg_churned(model, seg: str, start: int) -> int:
    d = model.segment_metrics
    return int(d[(d["segment"] == seg) & (d["tick"] >= start)]["churned"].sum())


def staff_by_serial(model, team: str) -> dict[int, object]:
    return {e.serial: e for e in model.teams[team]}


def team_row(model, team: str, tick: int) -> pd.Series:
    q = model.queue_metrics
    return q[(q["team"] == team) & (q["tick"] == tick)].iloc[0]


def col(model, name: str, tick: int) -> float:
    m = model.metrics
    return m.loc[m["tick"] == tick, name].iloc[0]


# ============================================================================================
# 1. level, cost_at, resolve
# ============================================================================================


def test_level_before_start_ramp_hold():
    x = iv("omnichannel", start=5, ramp=4, amount=0.2)
    assert [level(x, t) for t in range(0, 5)] == [0.0] * 5
    assert [level(x, t) for t in range(5, 9)] == [0.25, 0.5, 0.75, 1.0]
    assert level(x, 9) == 1.0
    assert level(x, 10**6) == 1.0  # end = -1 never ends


def test_level_without_ramp_is_full_at_start():
    x = iv("omnichannel", start=5, amount=0.2)
    assert level(x, 4) == 0.0
    assert level(x, 5) == 1.0
    assert level(x, 50) == 1.0


def test_level_with_end():
    x = iv("omnichannel", start=5, ramp=2, end=9, amount=0.2)
    assert [level(x, t) for t in range(4, 12)] == [0.0, 0.5, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0]
    # ended before the ramp completed: withdrawn at whatever level it reached
    y = iv("omnichannel", start=5, ramp=10, end=7, amount=0.2)
    assert [level(y, t) for t in (5, 6, 7, 8)] == pytest.approx([0.1, 0.2, 0.3, 0.0])


def test_cost_at_one_off_plus_running():
    x = iv("omnichannel", start=5, end=8, cost=100.0, cost_per_tick=2.0)
    assert [cost_at(x, t) for t in range(3, 11)] == [0, 0, 102.0, 2.0, 2.0, 2.0, 0, 0]
    y = iv("omnichannel", start=5, cost=100.0, cost_per_tick=2.0)  # never ends
    assert cost_at(y, 10**6) == 2.0
    # the ramp does not scale costs
    z = iv("omnichannel", start=5, ramp=10, cost=7.0, cost_per_tick=1.0)
    assert cost_at(z, 5) == 8.0 and cost_at(z, 6) == 1.0


@pytest.fixture(scope="module")
def two_strategies() -> Scenario:
    return minimal_scenario(strategies={
        "s1": {"description": "one", "interventions": [
            {"type": "omnichannel", "start": 3, "amount": 0.1}]},
        "s2": {"description": "two", "interventions": [
            {"type": "knowledge_base", "start": 20, "amount": 0.2},
            {"type": "train", "target": "cc", "start": 7, "amount": 0.1}]},
    })


def test_resolve_baseline_is_empty(two_strategies):
    for spec in (None, "baseline", [], ["baseline"]):
        assert resolve(two_strategies, spec).interventions == []


def test_resolve_name_and_strategy_object(two_strategies):
    sc = two_strategies
    assert resolve(sc, "s2").interventions == sc.strategies["s2"].interventions
    own = strat(iv("knowledge_base", start=4, amount=0.3))
    assert resolve(sc, own).interventions == own.interventions


def test_resolve_composition_concatenates_in_order(two_strategies):
    sc = two_strategies
    own = strat(iv("knowledge_base", start=4, amount=0.3))
    got = resolve(sc, ["s1", own, "s2"])
    assert got.interventions == (sc.strategies["s1"].interventions + own.interventions
                                 + sc.strategies["s2"].interventions)
    assert got.description == "one + test + two"
    assert resolve(sc, ("s2", "baseline")).interventions == sc.strategies["s2"].interventions
    assert starts(sc, ["s1", "s2"]) == [3, 7, 20]


def _one_line(exc: ScenarioError) -> str:
    assert len(exc.problems) == 1, exc.problems
    assert "\n" not in str(exc)
    return str(exc)


def test_resolve_unknown_name_is_one_line(two_strategies):
    for spec in ("nope", ["s1", "nope"]):
        with pytest.raises(ScenarioError) as e:
            resolve(two_strategies, spec)
        assert _one_line(e.value) == "unknown strategy 'nope' (known: s1, s2)"
    with pytest.raises(ScenarioError) as e:
        resolve(minimal_scenario(), "nope")
    assert _one_line(e.value) == "unknown strategy 'nope' (known: none)"


def test_resolve_start_at_or_beyond_horizon_is_one_line(two_strategies):
    sc = two_strategies  # 30 ticks
    resolve(sc, strat(iv("omnichannel", start=30)))  # the last tick is within the horizon
    for start in (31, 500):
        with pytest.raises(ScenarioError) as e:
            resolve(sc, strat(iv("omnichannel", start=start)))
        assert _one_line(e.value) == ("strategies.strategy.interventions[0].start must be "
                                      f"within the horizon (30 ticks), got {start}")
    # a named strategy in a run shortened on purpose: caught when used
    short = resize(sc, days=10)
    resolve(short, "s1")
    with pytest.raises(ScenarioError) as e:
        resolve(short, "s2")
    assert _one_line(e.value) == ("strategies.s2: intervention 0 (knowledge_base) starts at "
                                  "tick 20 (day 20), beyond the horizon of 10 ticks (10 "
                                  "days: a longer --days, or a strategy that starts sooner)")
    with pytest.raises(ScenarioError) as e:
        resolve(short, ["s1", "s2"])
    # each part is resolved (and checked) on its own, so the message names the culprit
    assert _one_line(e.value).startswith("strategies.s2: intervention 0 (knowledge_base)")
    with pytest.raises(ScenarioError):
        cxsim.CXModel(short, rng=0, strategy="s2")


# ============================================================================================
# 2. per-type effects
# ============================================================================================

START = 10

#: one intervention of every type on the rich scenario, all starting at START
ONE_OF_EACH = {
    "train": iv("train", "cc", start=START, ramp=3, cost=50.0, amount=0.2),
    "hire": iv("hire", "cc", start=START, cost=50.0, amount=3),
    "add_touchpoint": iv("add_touchpoint", "chat", start=START, cost=50.0),
    "improve_touchpoint": iv("improve_touchpoint", "phone", start=START, cost=50.0,
                             amount=0.1),
    "partner_sla": iv("partner_sla", "courier", start=START, cost=50.0, amount=0.15),
    "personalisation": iv("personalisation", "a", start=START, cost=50.0, amount=0.1),
    "omnichannel": iv("omnichannel", start=START, cost=50.0, amount=0.5),
    "knowledge_base": iv("knowledge_base", start=START, cost=50.0, amount=0.4),
    "service_recovery": iv("service_recovery", "a", start=START, cost=50.0, amount=1.0),
    "loyalty_programme": iv("loyalty_programme", "b", start=START, cost=50.0, amount=0.5),
    "it_resilience": iv("it_resilience", "platform", start=START, cost=50.0, amount=1.0),
    "price_change": iv("price_change", "a", start=START, cost=50.0, amount=0.2),
    "demand_surge": iv("demand_surge", "b", start=START, cost=50.0, amount=0.5),
    "proactive_retention": iv("proactive_retention", "a", start=START, cost=50.0, amount=0.5,
                              offer_cost=0.0, offer_effect=-2.0),
    # its first review falls after these runs (a review costs money and acts after a delay:
    # tests/test_voice.py); here only its one-off cost
    "voice_of_customer": iv("voice_of_customer", start=START, cost=50.0, amount=0.1,
                            cadence=100),
}


def test_one_of_each_covers_every_type():
    assert set(ONE_OF_EACH) == set(cxsim.scenario.INTERVENTION_TARGETS)


@pytest.fixture(scope="module")
def rich_sc() -> Scenario:
    return rich()


@pytest.mark.parametrize("kind", list(ONE_OF_EACH))
def test_nothing_changes_before_start_and_something_after(rich_sc, kind):
    """Identical to the paired baseline up to START - 1 (arrays, staff, every table)."""
    seen = {}

    def hook(t, base, var):
        if t == START - 1:
            seen["arrays"] = (snapshot(base), snapshot(var))
            seen["staff"] = (base.employee_table, var.employee_table)
            seen["tp"] = (tp_matrix(base.touchpoints).copy(), tp_matrix(var.touchpoints).copy())
            seen["seg"] = (seg_matrix(base.segments).copy(), seg_matrix(var.segments).copy())

    base, var = paired(rich_sc, strat(ONE_OF_EACH[kind]), seed=3, ticks=25, hook=hook)
    a, b = seen["arrays"]
    assert not differing(a, b).any()
    assert_frame_equal(*seen["staff"])
    np.testing.assert_array_equal(*seen["tp"])
    np.testing.assert_array_equal(*seen["seg"])
    fb, fv = frames(base), frames(var)
    # proactive retention's own columns (cxsim.retention) are only in the runs that use it
    fv["metrics"] = fv["metrics"].drop(columns=[c for c in fv["metrics"]
                                                if c.startswith("retention_")])
    for name in fb:
        assert_frame_equal(before(fb[name], START), before(fv[name], START), obj=name)
    assert (var.metrics["intervention_cost"] == np.where(var.metrics["tick"] == START, 50.0,
                                                          0.0)).all()
    assert not from_tick(fb["metrics"], START).equals(from_tick(fv["metrics"], START))


# ---- train ---------------------------------------------------------------------------------


def test_train_raises_skill_of_that_team_only(rich_sc):
    x = iv("train", "cc", start=5, ramp=4, amount=0.2)
    checked = []

    def hook(t, base, var):
        lv = level(x, t)
        sb, sv = staff_by_serial(base, "cc"), staff_by_serial(var, "cc")
        assert sb.keys() == sv.keys()
        for k, e in sv.items():
            assert e.skill - sb[k].skill == pytest.approx(0.2 * lv, abs=1e-9)
            assert e.engagement_boost == pytest.approx(0.5 * 0.2 * lv)
        fb, fv = staff_by_serial(base, "floor"), staff_by_serial(var, "floor")
        assert fb.keys() == fv.keys()
        for k, e in fv.items():
            assert e.skill == pytest.approx(fb[k].skill, abs=1e-9)
            assert e.engagement_boost == 0.0
        # the team's handle time follows its mean skill
        hb, hv = team_row(base, "cc", t)["handle_time"], team_row(var, "cc", t)["handle_time"]
        wf = rich_sc.workforce
        assert hv - hb == pytest.approx(-6.0 * wf.handle_time_skill_effect * 0.2 * lv,
                                        abs=1e-9)
        if t >= 5:
            assert hv < hb
        assert team_row(var, "floor", t)["handle_time"] == pytest.approx(
            team_row(base, "floor", t)["handle_time"], abs=1e-9)
        checked.append(t)

    base, var = paired(rich_sc, strat(x), seed=2, ticks=20, hook=hook)
    assert checked == list(range(1, 21))
    # engagement follows the boost (slowly)
    eb = np.mean([e.engagement for e in base.teams["cc"]])
    ev = np.mean([e.engagement for e in var.teams["cc"]])
    assert ev > eb


def test_train_skill_is_capped_at_one():
    sc = rich(teams={"cc": {"touchpoints": ["phone"], "headcount": 8, "skill": 0.9,
                            "annual_attrition": 0.0}})
    x = iv("train", "cc", start=3, ramp=2, amount=0.3)
    base, var = paired(sc, strat(x), seed=4, ticks=8)
    sb = staff_by_serial(base, "cc")
    capped = 0
    for k, e in staff_by_serial(var, "cc").items():
        assert e.skill <= 1.0
        assert e.skill == pytest.approx(min(1.0, sb[k].skill + 0.3), abs=1e-9)
        capped += e.skill == 1.0
    assert capped > 0


def test_train_end_does_not_take_skill_from_people_never_trained():
    sc = rich()
    team = sc.teams["cc"]
    both = strat(iv("train", "cc", start=3, ramp=2, end=8, amount=0.2),
                 iv("hire", "cc", start=6, amount=2))
    _, var = paired(sc, both, seed=1, ticks=12)
    hires = sorted(staff_by_serial(var, "cc"))[-2:]
    for k in hires:  # joined after the ramp: no training was ever delivered to them
        assert staff_by_serial(var, "cc")[k].skill >= team.new_hire_skill - 1e-9


def test_train_end_never_leaves_staff_below_where_they_began():
    sc = rich(teams={"cc": {"touchpoints": ["phone"], "headcount": 8, "skill": 0.9,
                            "annual_attrition": 0.0}})
    base, var = paired(sc, strat(iv("train", "cc", start=3, ramp=2, end=6, amount=0.3)),
                       seed=4, ticks=8)
    sb = staff_by_serial(base, "cc")
    for k, e in staff_by_serial(var, "cc").items():
        assert e.skill >= sb[k].skill - 1e-9


# ---- hire ----------------------------------------------------------------------------------


def test_hire_adds_head_count_at_new_hire_skill_and_wages(rich_sc):
    x = iv("hire", "cc", start=5, amount=2.6)  # round(2.6) = 3
    team = rich_sc.teams["cc"]

    def hook(t, base, var):
        extra = 3 if t >= 5 else 0
        assert len(var.teams["cc"]) == len(base.teams["cc"]) + extra
        assert team_row(var, "cc", t)["headcount"] == team_row(base, "cc", t)["headcount"] + extra
        assert len(var.teams["floor"]) == len(base.teams["floor"])
        if t == 5:
            old = set(staff_by_serial(base, "cc"))
            new = [e for k, e in staff_by_serial(var, "cc").items() if k not in old]
            assert len(new) == 3
            for e in new:
                assert e.skill == pytest.approx(team.new_hire_skill, abs=1e-9)
                assert e.own_engagement == team.engagement
        sc_b, sc_v = col(base, "staff_cost", t), col(var, "staff_cost", t)
        assert sc_v - sc_b == pytest.approx(extra * team.wage_per_day * 1.0)

    base, var = paired(rich_sc, strat(x), seed=2, ticks=15, hook=hook)
    # more agents on shift: the queue is served faster
    qb = from_tick(base.queue_metrics, 6)
    qv = from_tick(var.queue_metrics, 6)
    cc = qb["team"] == "cc"
    assert (qv.loc[cc, "agents"].to_numpy() > qb.loc[cc, "agents"].to_numpy()).all()


def test_hire_ramps_in_and_temporary_hires_leave_after_end(rich_sc):
    x = iv("hire", "cc", start=5, ramp=4, end=12, amount=4)
    expected = {4: 0, 5: 1, 6: 2, 7: 3, 8: 4, 12: 4, 13: 0, 16: 0}

    def hook(t, base, var):
        if t in expected:
            assert len(var.teams["cc"]) - len(base.teams["cc"]) == expected[t]

    paired(rich_sc, strat(x), seed=2, ticks=16, hook=hook)


# ---- add_touchpoint ------------------------------------------------------------------------


def test_add_touchpoint_opens_a_disabled_touchpoint(rich_sc):
    x = iv("add_touchpoint", "chat", start=8, ramp=3)
    j = rich_sc_index(rich_sc, "chat")

    def hook(t, base, var):
        assert tp_matrix(base.touchpoints)[j, T_OPEN] == 0.0
        assert tp_matrix(var.touchpoints)[j, T_OPEN] == level(x, t)
        others = np.arange(tp_matrix(base.touchpoints).shape[0]) != j
        np.testing.assert_array_equal(tp_matrix(var.touchpoints_planned)[others],
                                      tp_matrix(base.touchpoints_planned)[others])

    base, var = paired(rich_sc, strat(x), seed=5, ticks=20, hook=hook)
    tb, tv = base.touchpoint_metrics, var.touchpoint_metrics
    vb = tb[tb["touchpoint"] == "chat"].set_index("tick")["volume"]
    vv = tv[tv["touchpoint"] == "chat"].set_index("tick")["volume"]
    assert (vb == 0).all()
    assert (vv[vv.index < 8] == 0).all()
    assert (vv[vv.index >= 8] > 0).all()


def rich_sc_index(sc: Scenario, name: str) -> int:
    return list(sc.touchpoints).index(name)


# ---- improve_touchpoint --------------------------------------------------------------------


@pytest.mark.parametrize("target", ["web", "help", "phone", "delivery"])
def test_improve_touchpoint_sets_todays_base_of_that_touchpoint_only(rich_sc, target):
    x = iv("improve_touchpoint", target, start=6, amount=0.1)
    j = rich_sc_index(rich_sc, target)
    others = np.arange(len(rich_sc.touchpoints)) != j

    def hook(t, base, var):
        np.testing.assert_array_equal(tp_matrix(var.touchpoints_planned)[others],
                                      tp_matrix(base.touchpoints_planned)[others])
        b, v = tp_matrix(base.touchpoints_planned)[j], tp_matrix(var.touchpoints_planned)[j]
        d = 0.1 if t >= 6 else 0.0
        assert v[T_QUALITY] == pytest.approx(min(1.0, b[T_QUALITY] + d))
        assert v[T_RESOLUTION] == pytest.approx(min(1.0, b[T_RESOLUTION] + d))
        assert v[T_EFFORT] == pytest.approx(max(0.0, b[T_EFFORT] - d))

    paired(rich_sc, strat(x), seed=1, ticks=10, hook=hook)


def test_improve_staffed_touchpoint_reaches_the_customers_quality_and_resolution(rich_sc):
    """Phone (staffed): the kernel's table gets +amount on the start tick (staff identical)."""
    j = rich_sc_index(rich_sc, "phone")
    x = iv("improve_touchpoint", "phone", start=6, amount=0.1)

    def hook(t, base, var):
        if t == 6:
            d = tp_matrix(var.touchpoints)[j] - tp_matrix(base.touchpoints)[j]
            assert d[T_QUALITY] == pytest.approx(0.1)
            assert d[T_RESOLUTION] == pytest.approx(0.1)

    paired(rich_sc, strat(x), seed=1, ticks=6, hook=hook)


@pytest.mark.parametrize("target", ["web", "help", "phone", "delivery"])
def test_improve_touchpoint_reaches_the_kernels_table(rich_sc, target):
    j = rich_sc_index(rich_sc, target)
    x = iv("improve_touchpoint", target, start=6, amount=0.1)
    seen = {}

    def hook(t, base, var):
        if t == 6:
            seen["b"] = tp_matrix(base.touchpoints)[j]
            seen["v"] = tp_matrix(var.touchpoints)[j]

    paired(rich_sc, strat(x), seed=1, ticks=6, hook=hook)
    b, v = seen["b"], seen["v"]
    assert v[T_QUALITY] == pytest.approx(min(1.0, b[T_QUALITY] + 0.1))
    assert v[T_RESOLUTION] == pytest.approx(min(1.0, b[T_RESOLUTION] + 0.1))
    assert v[T_EFFORT] == pytest.approx(max(0.0, b[T_EFFORT] - 0.1))


def test_improve_staffed_touchpoint_raises_experience_there(rich_sc):
    x = iv("improve_touchpoint", "phone", start=5, amount=0.1)
    d = paired_diffs(rich_sc, strat(x), lambda m: tp_experience(m, "phone", 5), ticks=25)
    assert_up(d, "phone experience")


def test_improve_unstaffed_touchpoint_raises_experience_there(rich_sc):
    x = iv("improve_touchpoint", "web", start=5, amount=0.1)
    d = paired_diffs(rich_sc, strat(x), lambda m: tp_experience(m, "web", 5), ticks=25)
    assert_up(d, "web experience")


# ---- partner_sla ---------------------------------------------------------------------------


def test_partner_sla_raises_reliability_and_quality(rich_sc):
    x = iv("partner_sla", "courier", start=5, amount=0.15)
    j = rich_sc_index(rich_sc, "delivery")
    w = rich_sc.behaviour.partner_quality_effect

    def hook(t, base, var):
        p = var.partners["courier"]
        on = t >= 5
        assert p.reliability == pytest.approx(0.95 if on else 0.8)
        assert p.quality == pytest.approx(0.9 if on else 0.75)
        assert tp_matrix(var.touchpoints)[j, T_P_FAIL] == pytest.approx(0.05 if on else 0.2)
        dq = tp_matrix(var.touchpoints)[j, T_QUALITY] - tp_matrix(base.touchpoints)[j, T_QUALITY]
        assert dq == pytest.approx(
            w * 0.15 if on else 0.0)
        others = np.arange(tp_matrix(base.touchpoints).shape[0]) != j
        np.testing.assert_array_equal(tp_matrix(var.touchpoints_planned)[others],
                                      tp_matrix(base.touchpoints_planned)[others])

    base, var = paired(rich_sc, strat(x), seed=1, ticks=12, hook=hook)
    pm = var.partner_metrics.set_index("tick")["effective_reliability"]
    assert pm[pm.index < 5].to_numpy() == pytest.approx(0.8)
    assert pm[pm.index >= 5].to_numpy() == pytest.approx(0.95)
    assert (base.partner_metrics["effective_reliability"] == 0.8).all()


def test_partner_sla_raises_on_time_and_lowers_failure_demand(rich_sc):
    x = strat(iv("partner_sla", "courier", start=5, amount=0.15))
    on_time, fd = [], []
    for s in SEEDS:
        base, var = paired(rich_sc, x, seed=s, ticks=30)
        pb, pv = from_tick(base.metrics, 5), from_tick(var.metrics, 5)
        on_time.append(pv["partner_on_time"].mean() - pb["partner_on_time"].mean())
        fd.append(from_tick(var.metrics, 6)["failure_demand"].sum()
                  - from_tick(base.metrics, 6)["failure_demand"].sum())
    assert_up(on_time, "partner_on_time")
    assert_down(fd, "failure_demand")


# ---- personalisation -----------------------------------------------------------------------


def test_personalisation_sets_the_bonus_for_the_target_segment(rich_sc):
    x = iv("personalisation", "a", start=5, ramp=2, amount=0.1)
    allseg = iv("personalisation", start=5, amount=0.05)

    def hook(t, base, var):
        bonus = seg_matrix(var.segments)[:, S_PERF_BONUS]
        assert bonus[0] == pytest.approx(0.1 * level(x, t) + 0.05 * level(allseg, t))
        assert bonus[1] == pytest.approx(0.05 * level(allseg, t))
        cols = [c for c in range(len(SEG_FIELDS)) if c != S_PERF_BONUS]
        np.testing.assert_array_equal(seg_matrix(var.segments)[:, cols],
                                      seg_matrix(base.segments)[:, cols])

    paired(rich_sc, strat(x, allseg), seed=1, ticks=8, hook=hook)


def test_personalisation_raises_satisfaction_of_the_target_segment_only():
    sc = isolated()
    x = strat(iv("personalisation", "a", start=5, amount=0.1))
    d = []
    for s in SEEDS:
        base, var = paired(sc, x, seed=s, ticks=30)
        seg_b = base.arrays.segment == 1
        # segment b: not one agent changed, in any array
        assert not differing(snapshot(base), snapshot(var))[seg_b].any()
        assert differing(snapshot(base), snapshot(var))[~seg_b].sum() > 100
        d.append(seg_sat(var, "a") - seg_sat(base, "a"))
    assert_up(d, "satisfaction of segment a")


# ---- omnichannel ---------------------------------------------------------------------------


def test_omnichannel_raises_integration_capped_at_one(rich_sc):
    x = iv("omnichannel", start=5, ramp=2, amount=0.4)
    big = iv("omnichannel", start=7, amount=1.0)

    def hook(t, base, var):
        assert base.environment.omnichannel == 0.3
        want = min(1.0, 0.3 + 0.4 * level(x, t) + 1.0 * level(big, t))
        assert var.environment.omnichannel == pytest.approx(want)
        assert var.behaviour == base.behaviour  # parameters never change
        if t <= 5:  # same history: every other scalar of today is still equal
            assert (var._today()._replace(omnichannel=0.0)
                    == base._today()._replace(omnichannel=0.0))

    paired(rich_sc, strat(x, big), seed=1, ticks=9, hook=hook)


def test_omnichannel_lowers_effort_when_customers_switch_channel():
    # web -> phone escalations switch channel; the repeat effort is what omnichannel removes
    sc = isolated(behaviour={"wom_strength": 0.0, "contagion": 1.0, "repeat_effort": 0.3})
    x = strat(iv("omnichannel", start=5, amount=0.7))
    d = []
    for s in SEEDS:
        base, var = paired(sc, x, seed=s, ticks=20)
        assert from_tick(base.metrics, 5)["escalations"].sum() > 100
        d.append(pooled(var.metrics, "effort", "episodes", 5)
                 - pooled(base.metrics, "effort", "episodes", 5))
    assert_down(d, "effort per episode")


# ---- knowledge_base ------------------------------------------------------------------------


def test_knowledge_base_raises_resolution_of_staffed_and_support_touchpoints(rich_sc):
    x = iv("knowledge_base", start=6, amount=0.4)
    shift = rich_sc.operations.knowledge_base_effect * 0.4
    names = list(rich_sc.touchpoints)

    def hook(t, base, var):
        assert base.knowledge_base == 0.5
        assert var.knowledge_base == pytest.approx(0.9 if t >= 6 else 0.5)
        if t == 6:  # staff identical on the first day: the difference is the knowledge base
            d = (tp_matrix(var.touchpoints)[:, T_RESOLUTION]
                 - tp_matrix(base.touchpoints)[:, T_RESOLUTION])
            want = {"phone": shift, "store": shift, "help": shift, "chat": shift,
                    "web": 0.0, "delivery": 0.0}
            for j, name in enumerate(names):
                assert d[j] == pytest.approx(want[name], abs=1e-12), name
            np.testing.assert_array_equal(tp_matrix(var.touchpoints_planned),
                                          tp_matrix(base.touchpoints_planned))

    paired(rich_sc, strat(x), seed=1, ticks=6, hook=hook)


def test_knowledge_base_raises_fcr(rich_sc):
    x = strat(iv("knowledge_base", start=5, amount=0.4))
    d = paired_diffs(rich_sc, x, lambda m: pooled(m.metrics, "fcr", "episodes", 5), ticks=25)
    assert_up(d, "fcr")


def test_knowledge_base_capped_at_one(rich_sc):
    _, var = paired(rich_sc, strat(iv("knowledge_base", start=2, amount=0.9)), ticks=3)
    assert var.knowledge_base == 1.0


# ---- service_recovery ----------------------------------------------------------------------


def test_service_recovery_touches_only_recovered_detractors_of_the_segment():
    """Each agent's first difference is a recovery: segment a, a detractor, satisfaction up.

    A tick may hold several needs (Poisson), each an episode followed by a chance of recovery:
    a customer recovered after one episode may have ended the tick above the detractor band
    in the baseline after the next, so "a detractor" holds for all but a few.
    """
    sc = isolated()
    x = iv("service_recovery", "a", start=6, amount=0.7)
    first_seen = {"n": 0, "not_detractor": 0}
    prev = {}

    def hook(t, base, var):
        sb, sv = snapshot(base), snapshot(var)
        diff = differing(sb, sv)
        if t < 6:
            assert not diff.any()
        assert not diff[sb["segment"] == 1].any()  # segment b untouched
        new = diff & ~prev.get("diff", np.zeros_like(diff))
        for i in np.flatnonzero(new):
            assert sb["segment"][i] == 0
            assert sv["satisfaction"][i] > sb["satisfaction"][i]
            # a recovered customer may also stay where the baseline's churned the same day
            if sv["status"][i] != sb["status"][i]:
                assert (sb["status"][i], sv["status"][i]) == (K.CHURNED, K.CUSTOMER)
            # (a churned customer's join_tick holds the tick they left)
            moved = ("satisfaction", "events", "status", "pending", "wom_said") + (
                ("join_tick",) if sv["status"][i] != sb["status"][i] else ())
            for name in ARRAYS:
                if name not in moved:
                    assert sv[name][i] == sb[name][i], name
            if K.nps_category(float(sb["satisfaction"][i]), float(sb["nps_bias"][i])) != -1:
                first_seen["not_detractor"] += 1
        first_seen["n"] += int(new.sum())
        if t == 6:
            assert 0 < new.sum() <= col(var, "recoveries", 6)
        prev["diff"] = diff

    base, var = paired(sc, strat(x), seed=3, ticks=20, hook=hook)
    assert first_seen["n"] > 20
    assert first_seen["not_detractor"] <= 0.1 * first_seen["n"], first_seen
    assert (base.metrics["recoveries"] == 0).all()
    rec = var.metrics.set_index("tick")["recoveries"]
    assert (rec[rec.index < 6] == 0).all()
    assert (rec[rec.index >= 6] > 0).all()


def test_service_recovery_share_contacts_that_share_of_detractors():
    sc = isolated()
    full = paired(sc, strat(iv("service_recovery", start=6, amount=1.0)), seed=2, ticks=6)[1]
    half = paired(sc, strat(iv("service_recovery", start=6, amount=0.5)), seed=2, ticks=6)[1]
    n_full, n_half = col(full, "recoveries", 6), col(half, "recoveries", 6)
    assert n_full > 100
    # the same detractors on the first day; each contacted with probability 0.5
    assert abs(n_half - 0.5 * n_full) < 4 * math.sqrt(0.25 * n_full)


def test_service_recovery_raises_mean_satisfaction():
    sc = isolated()
    x = strat(iv("service_recovery", start=5, amount=0.8))
    d = paired_diffs(sc, x, lambda m: m.metrics["satisfaction"].iloc[-1], ticks=25)
    assert_up(d, "mean satisfaction")


# ---- loyalty_programme ---------------------------------------------------------------------


def test_loyalty_programme_lowers_churn_log_odds_and_churn():
    sc = isolated()
    x = iv("loyalty_programme", "b", start=5, amount=0.5)
    eff = sc.behaviour.switching_cost_effect

    def hook(t, base, var):
        extra = seg_matrix(var.segments)[:, S_EXTRA_LOGIT]
        assert extra[1] == pytest.approx(eff * 0.5 if t >= 5 else 0.0)
        assert extra[1] <= 0.0 and extra[0] == 0.0

    paired(sc, strat(x), seed=1, ticks=7, hook=hook)
    d_b, d_a = [], []
    for s in SEEDS:
        base, var = paired(sc, strat(x), seed=s, ticks=40)
        d_b.append(seg_churned(var, "b", 5) - seg_churned(base, "b", 5))
        d_a.append(seg_churned(var, "a", 5) - seg_churned(base, "a", 5))
    assert_down(d_b, "churned in segment b")
    assert d_a == [0] * len(SEEDS)


# ---- it_resilience -------------------------------------------------------------------------


def test_it_resilience_stops_outages_after_start():
    sc = rich(systems={"platform": {"touchpoints": ["web"], "outage_probability": 1.0,
                                    "outage_days": 0.01}})
    x = iv("it_resilience", "platform", start=8, amount=1.0)
    j = rich_sc_index(sc, "web")

    def down(m):
        return tp_matrix(m.touchpoints)[j, T_DOWN_TO] - tp_matrix(m.touchpoints)[j, T_DOWN_FROM]

    def hook(t, base, var):
        assert base.systems_down == ["platform"]
        assert down(base) == 1.0
        # from tick 8 no outage starts; the one running when it started ends early in it
        assert var.systems_down == ([] if t > 8 else ["platform"])
        assert down(var) == 1.0 if t < 8 else down(var) < 0.2
        assert tp_matrix(var.touchpoints)[j, T_OPEN] == 1.0  # launched, down or not

    base, var = paired(sc, strat(x), seed=1, ticks=15, hook=hook)
    assert (base.metrics["systems_down"] == 1).all()
    down_share = var.metrics.set_index("tick")["systems_down"]
    assert (down_share[down_share.index < 8] == 1).all()
    assert down_share[8] < 0.2 and (down_share[down_share.index > 8] == 0).all()
    tv = var.touchpoint_metrics
    web = tv[tv["touchpoint"] == "web"].set_index("tick")["volume"]
    assert (web[web.index < 8] == 0).all() and (web[web.index >= 8] > 0).all()


def test_it_resilience_partial_scales_the_outage_probability():
    sc = rich(simulation={"ticks": 300}, market={"size": 100, "initial_customers": 50},
              systems={"platform": {"touchpoints": ["web"], "outage_probability": 0.5,
                                    "outage_days": 0.01}})
    _, var = paired(sc, strat(iv("it_resilience", "platform", start=1, amount=0.6)), ticks=300)
    # p = 0.5 x 0.4 = 0.2 per day: an outage (of about 15 minutes) starts on a fifth of days
    n = int((var.metrics["systems_down"] > 0).sum())
    assert abs(n - 60) < 4 * math.sqrt(300 * 0.2 * 0.8)


# ---- price_change --------------------------------------------------------------------------


def test_price_change_scales_revenue_of_the_target_segment():
    sc = isolated()
    x = iv("price_change", "a", start=5, ramp=2, amount=0.2)
    rpd = {"a": 2.0, "b": 1.0}
    base, var = paired(sc, strat(x), seed=1, ticks=12)
    for m, factor in ((base, lambda t: 1.0), (var, lambda t: 1.0 + 0.2 * level(x, t))):
        seg = m.segment_metrics.pivot(index="tick", columns="segment", values="active")
        for t, row in m.metrics.set_index("tick").iterrows():
            want = seg.loc[t, "a"] * rpd["a"] * factor(t) + seg.loc[t, "b"] * rpd["b"]
            assert row["revenue"] == pytest.approx(want, rel=1e-12)
    extra = seg_matrix(var.segments)[:, S_EXTRA_LOGIT]
    assert extra[0] == pytest.approx(sc.behaviour.price_churn_effect * 0.8 * 0.2)
    assert extra[1] == 0.0


def test_price_rise_raises_churn_and_cut_lowers_it():
    sc = isolated()
    up = strat(iv("price_change", "a", start=5, amount=0.2))
    down = strat(iv("price_change", "a", start=5, amount=-0.2))
    d_up, d_down = [], []
    for s in SEEDS:
        base, var = paired(sc, up, seed=s, ticks=40)
        d_up.append(seg_churned(var, "a", 5) - seg_churned(base, "a", 5))
        assert seg_churned(var, "b", 5) == seg_churned(base, "b", 5)
        _, cut = paired(sc, down, seed=s, ticks=40)
        d_down.append(seg_churned(cut, "a", 5) - seg_churned(base, "a", 5))
    assert_up(d_up, "churned in segment a after a price rise")
    assert_down(d_down, "churned in segment a after a price cut")


# ---- end and ramp: withdrawal ---------------------------------------------------------------


def test_end_withdraws_every_lever_back_to_the_base(rich_sc):
    END = 9
    ivs = [
        iv("improve_touchpoint", "phone", start=4, ramp=3, end=END, amount=0.09),
        iv("add_touchpoint", "chat", start=4, end=END),
        iv("partner_sla", "courier", start=4, end=END, amount=0.1),
        iv("personalisation", "a", start=4, end=END, amount=0.1),
        iv("omnichannel", start=4, end=END, amount=0.5),
        iv("knowledge_base", start=4, end=END, amount=0.3),
        iv("service_recovery", start=4, end=END, amount=0.5),
        iv("loyalty_programme", start=4, end=END, amount=0.5),
        iv("it_resilience", "platform", start=4, end=END, amount=1.0),
        iv("price_change", "b", start=4, end=END, amount=0.3),
        iv("train", "floor", start=4, end=END, amount=0.0),  # engagement boost only
    ]
    j = rich_sc_index(rich_sc, "phone")
    q = rich_sc.touchpoints["phone"].quality

    def hook(t, base, var):
        if 4 <= t <= END:
            assert tp_matrix(var.touchpoints_planned)[j, T_QUALITY] == pytest.approx(
                q + 0.09 * min(1, (t - 3) / 3))
            assert not np.array_equal(seg_matrix(var.segments), seg_matrix(base.segments))
            assert var.knowledge_base != base.knowledge_base
        if t > END:
            np.testing.assert_array_equal(tp_matrix(var.touchpoints_planned),
                                          tp_matrix(var.touchpoints_base))
            np.testing.assert_array_equal(seg_matrix(var.segments), seg_matrix(base.segments))
            np.testing.assert_array_equal(seg_matrix(var.segments), seg_matrix(var.segments_base))
            assert var.environment.omnichannel == base.environment.omnichannel
            assert var.knowledge_base == base.knowledge_base
            p = var.partners["courier"]
            assert (p.reliability, p.quality) == (0.8, 0.75)
            assert (var.interventions.revenue_factor == 1.0).all()
            assert (var.environment.outage_factor == 1.0).all()
            assert all(e.engagement_boost == 0.0 for st in var.teams.values() for e in st)
            # phone's quality back to (about) the baseline's; the staff may differ a little
            d = tp_matrix(var.touchpoints) - tp_matrix(base.touchpoints)
            assert abs(d[j, T_QUALITY]) < 0.01
            assert tp_matrix(var.touchpoints)[rich_sc_index(rich_sc, "chat"), T_OPEN] == 0.0

    base, var = paired(rich_sc, strat(*ivs), seed=2, ticks=14, hook=hook)
    rec = var.metrics.set_index("tick")["recoveries"]
    assert rec.loc[4:END].sum() > 0 and (rec.loc[END + 1:] == 0).all()
    tv = var.touchpoint_metrics
    chat = tv[tv["touchpoint"] == "chat"].set_index("tick")["volume"]
    assert chat.loc[4:END].sum() > 0 and (chat.loc[END + 1:] == 0).all()


# ---- costs ---------------------------------------------------------------------------------


COSTLY = strat(
    # amount 0: no effect at all, so the runs differ only by their money
    iv("omnichannel", start=3, end=10, cost=100.0, cost_per_tick=5.0, amount=0.0),
    iv("knowledge_base", start=7, cost=50.0, cost_per_tick=1.5, amount=0.0),
)


def test_intervention_cost_is_booked_per_tick_and_in_cost():
    sc = minimal_scenario(simulation={"ticks": 20})
    base, var = paired(sc, COSTLY, seed=1)
    mb, mv = base.metrics, var.metrics
    want = np.array([sum(cost_at(x, t) for x in COSTLY.interventions) for t in mv["tick"]])
    np.testing.assert_allclose(mv["intervention_cost"].to_numpy(), want, rtol=0, atol=0)
    assert (mb["intervention_cost"] == 0).all()
    np.testing.assert_allclose((mv["cost"] - mb["cost"]).to_numpy(), want, atol=1e-9)
    np.testing.assert_allclose((mb["profit"] - mv["profit"]).to_numpy(), want, atol=1e-9)
    same = [c for c in mb.columns if c not in ("cost", "profit", "intervention_cost")]
    assert_frame_equal(mb[same], mv[same])
    total = 100 + 8 * 5.0 + 50 + 14 * 1.5
    assert want.sum() == pytest.approx(total)
    assert var.summary()["intervention_cost"] == pytest.approx(total)
    assert base.summary()["intervention_cost"] == 0.0
    assert var.summary()["cost"] - base.summary()["cost"] == pytest.approx(total)


def test_one_off_cost_is_booked_for_an_intervention_starting_at_zero():
    sc = minimal_scenario(simulation={"ticks": 10})
    x = strat(iv("omnichannel", start=0, cost=1000.0, cost_per_tick=1.0, amount=0.0))
    m = cxsim.CXModel(sc, rng=1, strategy=x).run()
    assert m.summary()["intervention_cost"] == pytest.approx(1000.0 + 10 * 1.0)


def test_resize_scales_strategy_costs_and_the_capacity_of_hires():
    d = minimal_dict(simulation={"ticks": 20}, strategies={
        "s": {"interventions": [
            {"type": "omnichannel", "start": 3, "end": 10, "cost": 100.0,
             "cost_per_tick": 5.0},
            {"type": "hire", "target": "cc", "start": 5, "amount": 4},
            {"type": "train", "target": "cc", "start": 5, "amount": 0.1, "cost": 10.0}]}})
    sc = Scenario.from_dict(d)  # market 2000
    big = resize(sc, customers=5000)  # f = 2.5
    small = resize(sc, customers=200)  # f = 0.1
    got = big.strategies["s"].interventions
    assert (got[0].cost, got[0].cost_per_tick) == pytest.approx((250.0, 12.5))
    # a hire adds the same people, who stand for the team's scaled full-time equivalents
    assert got[1].amount == 4.0 and got[2].amount == 0.1
    assert big.teams["cc"].fte == pytest.approx(2.5) and small.teams["cc"].fte == pytest.approx(0.1)
    assert got[2].cost == pytest.approx(25.0)
    tiny = small.strategies["s"].interventions
    assert tiny[1].amount == 4.0  # nothing rounded away
    assert (tiny[0].cost, tiny[0].cost_per_tick) == pytest.approx((10.0, 0.5))
    total = sum(cost_at(x, t) for x in sc.strategies["s"].interventions for t in range(1, 21))
    assert total == pytest.approx(100 + 8 * 5 + 10)
    for scaled, f in ((big, 2.5), (small, 0.1)):
        r = run(scaled, 1, strategy="s")
        assert r.summary["intervention_cost"] == pytest.approx(total * f)
    hired = run(big, 1, strategy="s", ticks=6).queues
    plain = run(big, 1, ticks=6).queues
    h, p = (x[x["tick"] == 5].iloc[0] for x in (hired, plain))
    assert h["headcount"] == p["headcount"] + 4
    assert h["fte"] == pytest.approx(p["fte"] + 10)  # 4 people at 2.5 FTE each


# ============================================================================================
# 3. the one-customer test
# ============================================================================================

T0 = 5


def one_customer_scenario(**market) -> Scenario:
    """No queues, no partner overload; lots of needs so the perturbed customer acts often."""
    return isolated(
        market={"size": 2000, "initial_customers": 1400, **market},
        segments={"a": {"share": 1.0, "base_churn": 0.05,
                        "need_rates": {"buy": 0.3, "support": 0.15}}})


def perturbed_pair(sc: Scenario, seed: int, ticks: int, check):
    """Baseline and variant; after tick T0 the variant's customer i0 gets satisfaction 0.2."""
    base = cxsim.CXModel(sc, rng=seed)
    var = cxsim.CXModel(sc, rng=seed)
    for _ in range(T0):
        base.step()
        var.step()
    assert not differing(snapshot(base), snapshot(var)).any()
    active = np.flatnonzero(base.arrays.status == K.CUSTOMER)
    i0 = int(active[len(active) // 2])
    assert var.arrays.satisfaction[i0] > 0.3
    var.arrays.satisfaction[i0] = 0.2
    for k in range(1, ticks + 1):
        base.step()
        var.step()
        check(k, i0, snapshot(base), snapshot(var), base)
    return i0, base, var


def test_one_customer_changes_only_that_customer_without_social_effects():
    sc = one_customer_scenario()
    seen = []

    def check(k, i0, sb, sv, model):
        diff = differing(sb, sv)
        others = np.flatnonzero(diff)
        assert set(others.tolist()) <= {i0}, f"tick {T0 + k}: agents {others[:10]} changed"
        seen.append(bool(diff[i0]))

    for seed in (1, 2, 3):
        seen.clear()
        perturbed_pair(sc, seed, 25, check)
        assert seen[0]  # the change is still there the next tick (memory)


def test_one_customer_on_a_network_with_social_effects_off():
    """Only i0 changes behaviour; its neighbours' counters (exposure, referrals) may change."""
    sc = one_customer_scenario(network="small_world", mean_degree=6)
    counters = ("exposure", "referrer_nbrs")
    rest = tuple(n for n in ARRAYS if n not in counters)

    def check(k, i0, sb, sv, model):
        assert set(np.flatnonzero(differing(sb, sv, rest)).tolist()) <= {i0}
        so = model.social
        nbrs = set(so.indices[so.indptr[i0]:so.indptr[i0 + 1]].tolist())
        assert set(np.flatnonzero(differing(sb, sv, counters)).tolist()) <= nbrs | {i0}

    for seed in (1, 2):
        perturbed_pair(sc, seed, 25, check)


def hops_from(indptr: np.ndarray, indices: np.ndarray, i0: int) -> np.ndarray:
    """Hop distance of every agent from ``i0`` along the CSR network (-1 unreachable)."""
    dist = np.full(indptr.shape[0] - 1, -1, np.int64)
    dist[i0] = 0
    frontier = [i0]
    while frontier:
        nxt = []
        for i in frontier:
            for j in indices[indptr[i]:indptr[i + 1]]:
                if dist[j] < 0:
                    dist[j] = dist[i] + 1
                    nxt.append(int(j))
        frontier = nxt
    return dist


def test_one_customer_change_spreads_only_along_the_network_one_hop_per_tick():
    sc = one_customer_scenario(network="small_world", mean_degree=6, rewiring=0.1, q=3.0)
    sc = sc.with_changes(behaviour=dataclasses.replace(sc.behaviour, wom_strength=0.3,
                                                       contagion=3.0))
    reach = []

    def check(k, i0, sb, sv, model):
        dist = hops_from(model.social.indptr, model.social.indices, i0)
        changed = np.flatnonzero(differing(sb, sv))
        far = changed[(dist[changed] > k) | (dist[changed] < 0)]
        assert far.size == 0, (f"{k} ticks after the change, agents {far[:10]} at distance "
                               f"{dist[far[:10]]} differ")
        reach.append((k, changed.size, int(dist[changed].max()) if changed.size else 0))

    spread = 0
    for seed in (1, 2, 3):
        reach.clear()
        perturbed_pair(sc, seed, 15, check)
        spread = max(spread, max(r[2] for r in reach))
    assert spread >= 2, f"the change never went beyond the first neighbours: {reach}"


# ============================================================================================
# 4. engines
# ============================================================================================


def test_engines_agree_with_a_strategy():
    sc = rich(simulation={"ticks": 25}, market={"size": 1500, "initial_customers": 1000})
    x = strat(
        iv("personalisation", "a", start=4, ramp=3, amount=0.1),
        iv("service_recovery", start=5, amount=0.6),
        iv("loyalty_programme", "b", start=6, amount=0.4),
        iv("price_change", "a", start=7, end=20, amount=0.15),
        iv("improve_touchpoint", "phone", start=8, ramp=2, amount=0.1),
    )
    ms = {e: cxsim.CXModel(sc, rng=11, engine=e, strategy=x).run() for e in ("numba", "mesa")}
    a, b = ms["numba"], ms["mesa"]
    assert a.metrics["recoveries"].sum() > 0
    for name, fa in frames(a).items():
        assert_frame_equal(fa, frames(b)[name], obj=name)
    assert not differing(snapshot(a), snapshot(b)).any()
    assert_frame_equal(a.employee_table, b.employee_table)  # ids too


# ============================================================================================
# 5. determinism
# ============================================================================================


def test_same_strategy_and_seed_give_identical_runs(rich_sc):
    x = strat(*ONE_OF_EACH.values())
    r1 = run(rich_sc, 7, strategy=x, ticks=20)
    r2 = run(rich_sc, 7, strategy=x, ticks=20)
    for name in ("metrics", "touchpoints", "segments", "queues", "partners", "employees"):
        assert_frame_equal(getattr(r1, name), getattr(r2, name), obj=name)
    assert r1.summary == r2.summary
    r3 = run(rich_sc, 8, strategy=x, ticks=20)
    assert not r1.metrics.equals(r3.metrics)


def test_baseline_three_ways_is_the_same_run(rich_sc):
    a = run(rich_sc, 3, strategy=None, ticks=15)
    b = run(rich_sc, 3, strategy="baseline", ticks=15)
    c = cxsim.CXModel(rich_sc, rng=3).run(15)
    d = run(rich_sc, 3, strategy=[], ticks=15)
    for other in (b.metrics, c.metrics, d.metrics):
        assert_frame_equal(a.metrics, other)
    assert_frame_equal(a.touchpoints, c.touchpoint_metrics)
    assert a.strategy == b.strategy == "baseline"


def test_named_and_equivalent_python_strategy_give_the_same_run():
    d = rich_dict(strategies={"s": {"description": "x", "interventions": [
        {"type": "knowledge_base", "start": 4, "amount": 0.2, "cost": 10.0},
        {"type": "hire", "target": "cc", "start": 6, "amount": 2}]}})
    sc = Scenario.from_dict(d)
    named = run(sc, 2, strategy="s", ticks=12)
    own = run(sc, 2, strategy=strat(iv("knowledge_base", start=4, amount=0.2, cost=10.0),
                                     iv("hire", "cc", start=6, amount=2)), ticks=12)
    split = run(sc, 2, strategy=[strat(iv("knowledge_base", start=4, amount=0.2, cost=10.0)),
                                 strat(iv("hire", "cc", start=6, amount=2))], ticks=12)
    assert_frame_equal(named.metrics, own.metrics)
    assert_frame_equal(named.metrics, split.metrics)
    assert named.strategy == "s"


# ============================================================================================
# 6. bad input
# ============================================================================================


def _problems(d: dict) -> list[str]:
    with pytest.raises(ScenarioError) as e:
        Scenario.from_dict(d)
    return e.value.problems


def _bad(**ivkw) -> list[str]:
    return _problems(rich_dict(strategies={"s": {"interventions": [ivkw]}}))


W = "strategies.s.interventions[0]"


def test_bad_intervention_type_is_one_line():
    (p,) = _bad(type="bribe", target="cc")
    assert p == (f"{W}.type: unknown intervention type 'bribe' (known: "
                 + ", ".join(cxsim.scenario.INTERVENTION_TARGETS) + ")")


@pytest.mark.parametrize("kind, target, what", [
    ("train", "nobody", "team"), ("hire", "web", "team"),
    ("add_touchpoint", "fax", "touchpoint"), ("improve_touchpoint", "cc", "touchpoint"),
    ("partner_sla", "postman", "partner"), ("personalisation", "vip", "segment"),
    ("service_recovery", "vip", "segment"), ("loyalty_programme", "vip", "segment"),
    ("price_change", "vip", "segment"), ("it_resilience", "mainframe", "system"),
])
def test_bad_target_is_one_line(kind, target, what):
    assert _bad(type=kind, target=target, start=3) == [
        f"{W}.target: unknown {what} '{target}'"]


@pytest.mark.parametrize("kind", ["omnichannel", "knowledge_base"])
def test_target_on_untargeted_type_is_one_line(kind):
    assert _bad(type=kind, target="cc") == [f"{W}.target: '{kind}' takes no target, got 'cc'"]


def test_missing_target_is_one_line():
    assert _bad(type="it_resilience") == [f"{W}.target: 'it_resilience' needs a system"]


@pytest.mark.parametrize("start", [41, 1000])
def test_start_beyond_horizon_is_one_line(start):
    assert _bad(type="omnichannel", start=start) == [
        f"{W}.start must be within the horizon (40 ticks), got {start}"]


@pytest.mark.parametrize("end", [4, 5])
def test_end_not_after_start_is_one_line(end):
    assert _bad(type="omnichannel", start=5, end=end) == [
        f"{W}.end must be after start (5) or -1, got {end}"]


def test_several_bad_interventions_one_line_each():
    d = rich_dict(strategies={"s": {"interventions": [
        {"type": "bribe"}, {"type": "train", "target": "nobody"},
        {"type": "omnichannel", "start": 99}, {"type": "omnichannel", "start": 5, "end": 2},
        {"type": "knowledge_base", "start": 3, "amount": 0.1}]}})
    p = _problems(d)
    assert len(p) == 4
    assert [x.split(":")[0].split(".")[2][:16] for x in p] == ["interventions[0]",
                                                                "interventions[1]",
                                                                "interventions[2]",
                                                                "interventions[3]"]


def test_resolve_unknown_name_via_model_is_one_line(rich_sc):
    with pytest.raises(ScenarioError) as e:
        cxsim.CXModel(rich_sc, rng=0, strategy="nope")
    assert _one_line(e.value) == "unknown strategy 'nope' (known: none)"
    with pytest.raises(ScenarioError) as e:
        run(rich_sc, 0, strategy=["baseline", "nope"])
    assert _one_line(e.value) == "unknown strategy 'nope' (known: none)"


@pytest.mark.parametrize("bad", [
    iv("personalization", start=2, amount=0.3, cost=1.0),
    iv("train", "nobody", start=2, amount=0.1),
    iv("personalisation", "nobody", start=2, amount=0.1),
])
def test_python_strategy_is_validated_like_a_named_one(rich_sc, bad):
    with pytest.raises(ScenarioError) as e:
        cxsim.CXModel(rich_sc, rng=0, strategy=strat(bad)).run(3)
    _one_line(e.value)


def test_a_touchpoint_not_yet_added_changes_nothing():
    # a declared-but-disabled channel is no one's preference until a strategy adds it: the
    # baseline is identical to the scenario without it, to the bit
    plain = minimal_dict()
    with_future = minimal_dict(
        touchpoints={**plain["touchpoints"],
                     "messaging": {"channel": "messaging", "stage": "support", "quality": 0.9,
                                   "resolution": 0.9, "enabled": False}},
        needs={**plain["needs"], "support": {"entry": ["web", "phone", "messaging"]}},
        pathways=plain["pathways"] + [{"from": "web", "to": "messaging", "weight": 5.0}],
        strategies={"launch": {"interventions": [
            {"type": "add_touchpoint", "target": "messaging", "start": 10}]}})
    a = cxsim.CXModel(cxsim.Scenario.from_dict(plain), rng=4).run(20)
    b = cxsim.CXModel(cxsim.Scenario.from_dict(with_future), rng=4).run(20)
    pd.testing.assert_frame_equal(a.metrics, b.metrics)
    launched = cxsim.CXModel(cxsim.Scenario.from_dict(with_future), rng=4,
                             strategy="launch").run(20)
    tpm = launched.touchpoint_metrics
    vol = tpm[tpm.touchpoint == "messaging"].set_index("tick")["volume"]
    assert vol.loc[:9].sum() == 0 and vol.loc[10:].sum() > 0
    pd.testing.assert_frame_equal(a.metrics.iloc[:9], launched.metrics.iloc[:9])


# ============================================================================================
# demand surges and temporary staff
# ============================================================================================


def test_demand_surge_multiplies_needs_in_its_window():
    sc = isolated()
    base, var = paired(sc, strat(iv("demand_surge", amount=1.0, start=10, end=19)))
    b, v = base.metrics.set_index("tick"), var.metrics.set_index("tick")
    assert_frame_equal(before(var.metrics, 10), before(base.metrics, 10))
    ratio = v.loc[12:19, "episodes"].sum() / b.loc[12:19, "episodes"].sum()
    # twice the need rate: the needs of a tick are Poisson(rate dt), so twice the episodes
    assert ratio == pytest.approx(2.0, rel=0.08)
    after = v.loc[25:40, "episodes"].sum() / b.loc[25:40, "episodes"].sum()
    assert after == pytest.approx(1.0, abs=0.1)  # withdrawn after its end


def test_demand_surge_of_one_segment():
    sc = isolated()
    base, var = paired(sc, strat(iv("demand_surge", "a", amount=2.0, start=0)))
    p = seg_matrix(var.segments)[:, S_P_NEED]
    p0 = seg_matrix(base.segments)[:, S_P_NEED]
    names = var.segment_names
    assert p[names.index("a")] == pytest.approx(1 - (1 - p0[names.index("a")]) ** 3)
    assert p[names.index("b")] == p0[names.index("b")]


def test_surges_compound():
    sc = isolated()
    model = cxsim.CXModel(sc, rng=1, strategy=strat(iv("demand_surge", amount=1.0, start=0),
                                                    iv("demand_surge", amount=0.5, start=0)))
    p0 = seg_matrix(cxsim.CXModel(sc, rng=1).segments)[:, S_P_NEED]
    model.step()
    assert seg_matrix(model.segments)[:, S_P_NEED] == pytest.approx(1 - (1 - p0) ** 3)


@pytest.mark.parametrize("amount, words", [(-1.0, "above -1"), (-3.0, "above -1")])
def test_demand_surge_amount_checked(amount, words):
    d = isolated_dict(strategies={"launch": {"interventions": [
        {"type": "demand_surge", "amount": amount}]}})
    with pytest.raises(ScenarioError, match=words):
        Scenario.from_dict(d)


def test_hire_amount_checked():
    d = rich_dict(strategies={"x": {"interventions": [
        {"type": "hire", "target": "cc", "amount": -2}]}})
    with pytest.raises(ScenarioError, match="hire takes a head count of at least 0"):
        Scenario.from_dict(d)


def test_temporary_hires_leave_after_the_end():
    sc = rich()
    temps = strat(iv("hire", "cc", amount=3, start=5, end=15))
    base, var = paired(sc, temps)
    q = var.queue_metrics
    cc = q[q["team"] == "cc"].set_index("tick")["headcount"]
    assert cc.loc[4] == 8 and cc.loc[5:15].eq(11).all() and cc.loc[16:].eq(8).all()
    assert not any(getattr(e, "temporary", False) for e in var.teams["cc"])
    assert len(var.agents_by_type[cxsim.Employee]) == len(base.agents_by_type[cxsim.Employee])


def test_permanent_hires_stay():
    base, var = paired(rich(), strat(iv("hire", "cc", amount=3, start=5)))
    cc = var.queue_metrics.query("team == 'cc'").set_index("tick")["headcount"]
    assert cc.loc[40] == 11


def test_temporary_staff_who_quit_are_not_replaced(monkeypatch):
    sc = rich()
    real = Workforce.leavers

    def leavers(self, name, t):  # every temporary hire quits on tick 10; others as usual
        drawn = real(self, name, t)
        return [e for e in self.teams[name] if e in drawn or (e.temporary and t == 10)]

    monkeypatch.setattr(Workforce, "leavers", leavers)
    model = cxsim.CXModel(sc, rng=3, strategy=strat(iv("hire", "cc", amount=5, start=1,
                                                       end=30)))
    model.run(9)
    assert sum(e.temporary for e in model.teams["cc"]) == 5
    model.run(40)
    cc = model.queue_metrics.query("team == 'cc'").set_index("tick")
    assert cc.loc[10, "leavers"] == 5
    assert cc.loc[10:, "headcount"].eq(8).all() and cc["vacancies"].eq(0).all()
