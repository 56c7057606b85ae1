"""Scenario mutants: whatever a file says, validation answers with problems (one line each)
or a scenario that runs; never another exception."""

from __future__ import annotations

import copy
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cxsim
from cxsim.runner import resize
from cxsim.scenario import Scenario, ScenarioError, scenario_dir

BASE = cxsim.default_scenario().to_dict()

ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70), st.text(max_size=20),
    st.floats(allow_nan=True, allow_infinity=True), st.just(1e308), st.just(-1e308),
    st.just(5e-324), st.just(0), st.just(-1), st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3))


def paths(data, prefix=()):
    """Every (path, value) in nested plain data."""
    yield prefix, data
    if isinstance(data, dict):
        for k, v in data.items():
            yield from paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from paths(v, (*prefix, i))




def mutate(data, path, how, value):
    node = data
    for key in path[:-1]:
        node = node[key]
    last = path[-1]
    if how == "delete":
        if isinstance(node, dict):
            del node[last]
        else:
            node.pop(last)
    elif how == "replace":
        node[last] = value
    elif how == "scale" and isinstance(node[last], int | float) and not isinstance(
            node[last], bool):
        node[last] = node[last] * value if isinstance(value, int | float) and not isinstance(
            value, bool) and math.isfinite(value) else node[last]
    elif how == "add" and isinstance(node, dict):
        node[f"unknown_{last}"] = value


@st.composite
def mutants(draw):
    data = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 4))):
        live = [p for p, _ in paths(data) if p]
        path = draw(st.sampled_from(live))
        how = draw(st.sampled_from(["delete", "replace", "scale", "add"]))
        value = draw(st.one_of(ODD_VALUES, st.sampled_from([0.0, 10.0, 1e6, 1e12, -5.0])))
        mutate(data, path, how, value)
    return data


def answer(data) -> Scenario | None:
    try:
        return Scenario.from_dict(data)
    except ScenarioError as exc:
        assert exc.problems and all(isinstance(p, str) and "\n" not in p and p
                                    for p in exc.problems)
        assert len(exc.problems) <= 21
        return None


def run_small(sc: Scenario) -> None:
    try:
        small = resize(sc, customers=min(sc.market.size, 400), days=3 * sc.simulation.tick_days)
    except ScenarioError:
        return
    m = cxsim.CXModel(small, rng=1).run()
    assert len(m.metrics) == small.simulation.ticks


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutants())
def test_a_mutated_scenario_is_refused_in_lines_or_runs(data):
    sc = answer(data)
    if sc is not None:
        run_small(sc)


@pytest.mark.slow
@settings(max_examples=700, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutants())
def test_a_mutated_scenario_is_refused_in_lines_or_runs_long(data):
    sc = answer(data)
    if sc is not None:
        run_small(sc)


@pytest.mark.parametrize("path", sorted(scenario_dir().glob("*.toml")), ids=lambda p: p.stem)
def test_every_shipped_scenario_survives_its_own_round_trip(path):
    sc = cxsim.load_scenario(path)
    assert Scenario.from_dict(sc.to_dict()) == sc
