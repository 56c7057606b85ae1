"""The numerical edges: every field's declared range runs on both engines, without an
exception, a leaked warning, an infinite value or an unexplained NaN."""

from __future__ import annotations

import copy
import dataclasses
import math
import typing

import numpy as np
import pandas as pd
import pytest
from conftest import minimal_dict
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import cxsim
import cxsim.scenario as S
from cxsim.rng import beta
from cxsim.scenario import Scenario, ScenarioError

# where each section of the minimal scenario lives in its plain data
PLACES = {S.Simulation: ["simulation"], S.Market: ["market"], S.Segment: ["segments", "all"],
          S.Touchpoint: ["touchpoints", "phone"], S.Team: ["teams", "cc"],
          S.PartnerSpec: ["partners", "courier"], S.Workforce: ["workforce"],
          S.Operations: ["operations"], S.Economics: ["economics"],
          S.Behaviour: ["behaviour"], S.Survey: ["survey"]}
FIXED = {"ticks", "size", "initial_customers", "share"}  # the test's own size and shape


def numeric_fields() -> list[tuple[list[str], str, type, dict]]:
    out = []
    for cls, place in PLACES.items():
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if hints[f.name] in (int, float) and f.name not in FIXED:
                out.append((place, S._key(f.name), hints[f.name], dict(f.metadata)))
    return out


FIELDS = numeric_fields()


@st.composite
def values(draw, meta: dict, tp: type):
    lo = meta["lo"] if meta.get("lo") is not None else meta["gt"]
    hi = meta["hi"]
    open_lo = meta.get("lo") is None
    if tp is int:
        return draw(st.integers(int(math.ceil(lo + (1 if open_lo else 0))), int(hi)))
    edge = draw(st.sampled_from(["lo", "hi", "mid", "log"]))
    if edge == "hi":
        return float(hi)
    if edge == "lo":
        return float(lo) + (max(abs(lo), 1.0) * 1e-9 if open_lo else 0.0)
    if edge == "log" and lo >= 0 and hi > 0:
        a = max(lo, 1e-9)
        return float(np.exp(draw(st.floats(np.log(a), np.log(hi)))))
    return draw(st.floats(lo, hi, exclude_min=open_lo, allow_nan=False))


@st.composite
def scenarios(draw):
    data = minimal_dict(simulation={"ticks": 4},
                        market={"size": 300, "initial_customers": 150, "mean_degree": 6})
    chosen = draw(st.lists(st.sampled_from(range(len(FIELDS))), min_size=1, max_size=6,
                           unique=True))
    changed = {}
    for k in chosen:
        place, key, tp, meta = FIELDS[k]
        v = draw(values(meta, tp))
        node = data
        for p in place:
            node = node.setdefault(p, {})
        node[key] = v
        changed[".".join([*place, key])] = v
    try:
        sc = Scenario.from_dict(data)
    except ScenarioError:
        assume(False)  # a combination the cross-field checks refuse (and say so)
    return sc, changed


def check_run(sc: Scenario) -> pd.DataFrame:
    runs = [cxsim.CXModel(sc, rng=3, engine=e).run().metrics for e in ("numba", "mesa")]
    pd.testing.assert_frame_equal(runs[0], runs[1], check_exact=True)
    m = runs[0]
    num = m.select_dtypes("number")
    assert np.isfinite(num.to_numpy(dtype=float)[~np.isnan(num.to_numpy(dtype=float))]).all()
    # NaN only where a figure has nothing to be a share of
    for col, base in (("satisfaction", "active"), ("nps_population", "active"),
                      ("csat", "episodes"), ("ces", "episodes"), ("fcr", "episodes")):
        assert not (m[col].isna() & (m[base] > 0)).any(), col
    for col in ("active", "revenue", "cost", "profit"):
        assert m[col].notna().all(), col
    return m


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.filter_too_much])
@given(scenarios())
def test_every_declared_range_runs_on_both_engines(case):
    sc, changed = case
    check_run(sc)


@pytest.mark.slow
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.filter_too_much])
@given(scenarios())
def test_every_declared_range_runs_on_both_engines_long(case):
    sc, changed = case
    check_run(sc)


SUBNORMAL = 5e-324  # the smallest positive float


@pytest.mark.parametrize("k", [k for k, (_p, _k, tp, meta) in enumerate(FIELDS)
                               if tp is float and (meta.get("gt") == 0 or meta.get("lo") == 0)],
                         ids=lambda k: ".".join([*FIELDS[k][0], FIELDS[k][1]]))
def test_the_smallest_positive_value_of_each_field_runs(k):
    """A subnormal value is inside every `> 0` range; products with it underflow to 0
    (a mean queue patience of 5e-324 became 0 and the queue refused it)."""
    place, key, _tp, _meta = FIELDS[k]
    data = minimal_dict(simulation={"ticks": 4},
                        market={"size": 300, "initial_customers": 150, "mean_degree": 6})
    node = data
    for p in place:
        node = node.setdefault(p, {})
    node[key] = SUBNORMAL
    try:
        sc = Scenario.from_dict(data)
    except ScenarioError:
        pytest.skip("a cross-field check refuses this value on its own")
    check_run(sc)


def test_a_subnormal_queue_patience_with_no_base_churn_runs():
    """The case the long property test found."""
    data = minimal_dict(simulation={"ticks": 4},
                        market={"size": 300, "initial_customers": 150, "mean_degree": 6})
    data["segments"]["all"].update(switching_cost=0.0, base_churn=0.0, queue_patience=SUBNORMAL)
    check_run(Scenario.from_dict(data))


@pytest.mark.parametrize("kappa", [1e-9, 1e-4, 0.005, 0.01])
def test_a_tiny_churn_concentration_runs_alike_on_both_engines(kappa):
    """Beta shapes far below 1 underflowed both gamma draws (0/0 in the mesa engine)."""
    base = minimal_dict(simulation={"ticks": 10},
                        market={"size": 1500, "initial_customers": 1000})
    base["segments"]["all"]["churn_concentration"] = kappa
    check_run(Scenario.from_dict(copy.deepcopy(base)))


def test_beta_with_tiny_shapes_keeps_its_mean():
    a, b = 0.02 * 1e-3, 0.98 * 1e-3  # mean 0.02; nearly every draw is 0 or 1
    xs = np.array([beta(np.uint64(11), i, 0, 0, a, b) for i in range(40_000)])
    assert np.isfinite(xs).all() and ((xs >= 0) & (xs <= 1)).all()
    se = math.sqrt(0.02 * 0.98 / len(xs))
    assert abs(xs.mean() - 0.02) < 4 * se


def test_beta_with_ordinary_shapes_is_unchanged():
    """The log-space path only runs when both gamma draws underflow."""
    from cxsim.rng import gamma

    key = np.uint64(5)
    for i in range(200):
        x = gamma(key, i, 0, 0, 0.8)
        y = gamma(key, i, 0, 128, 39.2)
        assert beta(key, i, 0, 0, 0.8, 39.2) == x / (x + y)
