"""Parameter paths and value specs (:mod:`cxsim.params`)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cxsim
from cxsim.cli import FLAGS
from cxsim.params import (
    Param,
    ParamError,
    apply_overrides,
    check_param,
    get_value,
    parse_param,
    parse_spec,
    strategy_of,
)


@pytest.fixture(scope="module")
def data() -> dict:
    return cxsim.default_scenario().to_dict()


@pytest.fixture(scope="module")
def strategies() -> list[str]:
    return list(cxsim.default_scenario().strategies)


# ---- specs -----------------------------------------------------------------------------------


def test_list_spec_types():
    p = parse_spec("x", "8, 10,12")
    assert p.values == (8, 10, 12) and all(type(v) is int for v in p.values)
    assert parse_spec("x", "0.5,1e-3").values == (0.5, 0.001)
    assert parse_spec("x", "true,False").values == (True, False)
    assert parse_spec("x", "full,'ring'").values == ("full", "ring")
    assert not parse_spec("x", "7").varies


def test_range_spec_is_inclusive_and_clean():
    assert parse_spec("x", "0.5:0.9:5").values == (0.5, 0.6, 0.7, 0.8, 0.9)
    assert parse_spec("x", "8:16:5").values == (8, 10, 12, 14, 16)
    assert all(type(v) is int for v in parse_spec("x", "8:16:5").values)
    assert parse_spec("x", "1:0:3").values == (1, 0.5, 0)


def test_distribution_specs():
    u = parse_spec("x", "uniform(0.5, 0.9)")
    assert (u.dist, u.low, u.high) == ("uniform", 0.5, 0.9) and u.varies
    i = parse_spec("x", "int(8,16)")
    assert (i.dist, i.low, i.high) == ("int", 8, 16)
    assert parse_spec("x", "LogUniform(0.01,1)").dist == "loguniform"


def test_python_values_are_specs():
    assert parse_spec("x", [1, 2, 3]).values == (1, 2, 3)
    assert parse_spec("x", 0.7).values == (0.7,)
    p = Param("x", "1", values=(1,))
    assert parse_spec("x", p) is p


@pytest.mark.parametrize("spec, words", [
    ("", "no values"),
    ("1,,2", "empty item"),
    ("0.5:0.9", "START:STOP:COUNT"),
    ("0.5:0.9:1", "at least 2"),
    ("0.5:0.9:x", "whole number"),
    ("a:0.9:3", "must be a number"),
    ("0.5:0.5:3", "equal"),
    ("uniform(0.9,0.5)", "must exceed"),
    ("uniform(1)", "two bounds"),
    ("uniform(a,1)", "must be a number"),
    ("uniform(0,inf)", "finite"),
    ("normal(0,1)", "unknown distribution"),
    ("int(1.5,3)", "whole numbers"),
    ("int(5,3)", "below"),
    ("loguniform(0,1)", "positive"),
    ("uniform(0,1", "malformed"),
])
def test_malformed_specs(spec, words):
    with pytest.raises(ParamError, match=words) as err:
        parse_spec("touchpoints.chat.quality", spec)
    assert "\n" not in str(err.value) and "touchpoints.chat.quality" in str(err.value)
    assert str(err.value).startswith(f"parameter touchpoints.chat.quality={spec}:")
    assert err.value.arg == "params"
    # the command line words the same error with its flag
    assert err.value.render(FLAGS).startswith(f"--param touchpoints.chat.quality={spec}:")


def test_parse_param_needs_equals():
    with pytest.raises(ParamError, match="PATH=SPEC"):
        parse_param("touchpoints.chat.quality")
    with pytest.raises(ParamError, match="empty"):
        parse_param("=1,2")
    assert parse_param("a.b=1,2").path == "a.b"


# ---- paths -----------------------------------------------------------------------------------


def test_paths_reach_every_kind_of_value(data):
    assert get_value(data, "teams.contact_centre.headcount") == 12
    assert get_value(data, "touchpoints.chat.quality") == data["touchpoints"]["chat"]["quality"]
    assert get_value(data, "pathways.0.weight") == data["pathways"][0]["weight"]
    assert get_value(data, "segments.loyal.channel_preference.app") == 3.0
    assert get_value(data, "strategies.fix_courier.interventions.0.amount") == \
        data["strategies"]["fix_courier"]["interventions"][0]["amount"]


@pytest.mark.parametrize("path, words", [
    ("teams.contact_center.headcount", "teams has no 'contact_center'"),
    ("nonsense", "the scenario has no 'nonsense'"),
    ("touchpoints.chat.quality.x", "is a value, not a table"),
    ("pathways.99.weight", "list of"),
    ("pathways.first.weight", "list of"),
    ("teams.contact_centre", "is a table"),
    ("teams.contact_centre.touchpoints", "is a list"),
    ("teams..headcount", "malformed"),
])
def test_unknown_paths_are_rejected(data, path, words):
    with pytest.raises(ParamError, match=words) as err:
        check_param(parse_spec(path, "1,2"), data)
    assert "\n" not in str(err.value)


def test_apply_overrides_copies(data):
    before = get_value(data, "teams.contact_centre.headcount")
    out = apply_overrides(data, {"teams.contact_centre.headcount": 20, "strategy": "x",
                                 "pathways.0.weight": 0.5})
    assert get_value(out, "teams.contact_centre.headcount") == 20
    assert get_value(out, "pathways.0.weight") == 0.5
    assert get_value(data, "teams.contact_centre.headcount") == before


# ---- values fitted to the field ----------------------------------------------------------------


def test_whole_number_fields(data):
    p = check_param(parse_spec("teams.contact_centre.headcount", "8.0,10"), data)
    assert p.values == (8, 10) and all(type(v) is int for v in p.values)
    with pytest.raises(ParamError, match="whole number"):
        check_param(parse_spec("teams.contact_centre.headcount", "8.5,10"), data)
    with pytest.raises(ParamError, match=r"use int\(8,16\)"):
        check_param(parse_spec("teams.contact_centre.headcount", "uniform(8,16)"), data)
    assert check_param(parse_spec("teams.contact_centre.headcount", "int(8,16)"), data).dist


def test_number_fields_take_numbers(data):
    p = check_param(parse_spec("touchpoints.chat.quality", "1,0.5"), data)
    assert p.values == (1.0, 0.5) and type(p.values[0]) is float
    with pytest.raises(ParamError, match="is a number"):
        check_param(parse_spec("touchpoints.chat.quality", "high,low"), data)
    with pytest.raises(ParamError, match="is a number"):
        check_param(parse_spec("touchpoints.chat.quality", "true"), data)


def test_word_and_switch_fields(data):
    assert check_param(parse_spec("market.network", "full,ring"), data).values == \
        ("full", "ring")
    with pytest.raises(ParamError, match="is a word"):
        check_param(parse_spec("market.network", "1,2"), data)
    with pytest.raises(ParamError, match="numeric field"):
        check_param(parse_spec("market.network", "uniform(0,1)"), data)
    assert check_param(parse_spec("touchpoints.messaging.enabled", "true,false"), data).values == \
        (True, False)
    with pytest.raises(ParamError, match="true/false"):
        check_param(parse_spec("touchpoints.messaging.enabled", "1,0"), data)


def test_duplicate_values_are_rejected(data):
    with pytest.raises(ParamError, match="twice"):
        check_param(parse_spec("teams.contact_centre.headcount", "8,8.0"), data)


def test_strategy_parameter(data, strategies):
    p = check_param(parse_spec("strategy", "baseline,fix_courier,fix_courier+self_service"),
                    data, strategies)
    assert p.values == ("baseline", "fix_courier", "fix_courier+self_service")
    with pytest.raises(ParamError, match="unknown strategy 'nope'"):
        check_param(parse_spec("strategy", "baseline,nope"), data, strategies)
    with pytest.raises(ParamError, match="not a distribution"):
        check_param(parse_spec("strategy", "uniform(0,1)"), data, strategies)
    assert strategy_of("baseline") is None
    assert strategy_of("a") == "a"
    assert strategy_of("a+b") == ["a", "b"]


# ---- the unit-cube mapping -------------------------------------------------------------------


@given(st.floats(0, 1), st.floats(-5, 5), st.floats(0.01, 5))
def test_uniform_maps_into_its_bounds(u, lo, width):
    p = Param("x", "", dist="uniform", low=lo, high=lo + width)
    v = p.from_unit(u)
    assert lo - 1e-12 <= v <= lo + width + 1e-12


@given(st.floats(0, 1), st.integers(-5, 5), st.integers(0, 10))
def test_int_maps_onto_every_whole_number(u, lo, width):
    p = Param("x", "", dist="int", low=lo, high=lo + width)
    v = p.from_unit(u)
    assert type(v) is int and lo <= v <= lo + width


@given(st.floats(0, 1), st.floats(0.001, 1), st.floats(1.01, 100))
def test_loguniform_maps_into_its_bounds(u, lo, ratio):
    p = Param("x", "", dist="loguniform", low=lo, high=lo * ratio)
    v = p.from_unit(u)
    assert lo * (1 - 1e-9) <= v <= lo * ratio * (1 + 1e-9)


def test_list_choice_splits_the_unit_interval_evenly():
    p = Param("x", "", values=("a", "b", "c", "d"))
    picks = [p.from_unit((k + 0.5) / 400) for k in range(400)]
    assert {v: picks.count(v) for v in "abcd"} == {"a": 100, "b": 100, "c": 100, "d": 100}
    assert p.from_unit(1.0) == "d" and p.from_unit(0.0) == "a"
    i = Param("x", "", dist="int", low=1, high=4)
    picks = [i.from_unit((k + 0.5) / 400) for k in range(400)]
    assert {v: picks.count(v) for v in range(1, 5)} == {1: 100, 2: 100, 3: 100, 4: 100}
    assert math.isclose(Param("x", "", dist="loguniform", low=1, high=100).from_unit(0.5), 10)
