"""Tests for :mod:`cxsim.scenario`: the shipped scenarios, the schema and its validation.

Validation must report *every* problem at once, one line each, naming the field path; the
messages checked here are the exact formats produced in ``cxsim/scenario.py``.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
from conftest import minimal_dict

import cxsim
from cxsim.scenario import (
    STAGES,
    Market,
    Need,
    PartnerSpec,
    Pathway,
    Scenario,
    ScenarioError,
    Segment,
    Simulation,
    Team,
    Touchpoint,
    load_scenario,
    scenario_dir,
)

ROOT = Path(__file__).resolve().parent.parent
SCENARIO_FILES = sorted((ROOT / "scenarios").glob("*.toml"))


def problems(data: dict, **kwargs) -> list[str]:
    """The problems ``Scenario.from_dict`` reports for ``data`` (fails if it is valid)."""
    with pytest.raises(ScenarioError) as info:
        Scenario.from_dict(data, **kwargs)
    err = info.value
    assert err.problems, "ScenarioError without problems"
    assert str(err) == "\n".join(err.problems)
    for line in err.problems:
        assert line and "\n" not in line, f"not one line: {line!r}"
    return err.problems


def bad(mutate) -> list[str]:
    """Problems of ``minimal_dict()`` after ``mutate(d)`` changes it in place."""
    d = minimal_dict()
    mutate(d)
    return problems(d)


# --------------------------------------------------------------------------------------------
# The shipped scenarios
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def default() -> Scenario:
    return cxsim.default_scenario()


def test_default_scenario_loads(default):
    assert isinstance(default, Scenario)
    assert default.name
    assert default == load_scenario(scenario_dir() / "retail.toml")


def test_default_scenario_touchpoints_channels_and_stages(default):
    assert len(default.touchpoints) >= 8
    assert len(set(default.channels)) >= 5
    assert {tp.stage for tp in default.touchpoints.values()} == set(STAGES)
    assert len(STAGES) == 7


def test_default_scenario_segments_team_partner_strategies(default):
    assert len(default.segments) >= 2
    assert math.isclose(sum(s.share for s in default.segments.values()), 1.0)
    staffed = [t for t in default.teams.values() if t.headcount > 0 and t.touchpoints]
    assert staffed, "no staffed team"
    assert any(p.touchpoints for p in default.partners.values()), "no partner"
    assert len(default.strategies) >= 3
    for strat in default.strategies.values():
        assert strat.interventions


def test_scenario_folder_is_not_empty():
    assert SCENARIO_FILES, "no scenario files in scenarios/"
    assert (ROOT / "scenarios" / "retail.toml") in SCENARIO_FILES


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_every_shipped_scenario_validates(path):
    sc = load_scenario(path)
    assert sc.segments and sc.touchpoints and sc.needs
    # and it survives a re-check
    assert sc.validated(check_horizon=True) == sc


#: realistic ranges for a year of any shipped scenario (industry benchmarks in each file)
REALISTIC = {"monthly_churn": (0.002, 0.06), "nps": (-20.0, 60.0), "csat": (3.0, 4.8),
             "service_level": (0.5, 1.0), "abandonment": (0.0, 0.15),
             "partner_on_time": (0.8, 1.0), "fcr": (0.5, 1.0)}

LIBRARY = {"retail.toml", "telco.toml", "bank.toml", "hotel.toml", "coffee.toml"}


def test_the_library_has_every_industry():
    assert LIBRARY <= {p.name for p in SCENARIO_FILES}


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_every_shipped_scenario_is_documented(path):
    text = path.read_text(encoding="utf-8")
    header = text.split("\nname", 1)[0]
    sc = load_scenario(path)
    assert header.startswith("#") and len(header.splitlines()) >= 10, "a commented header"
    assert "source" in header.lower() or "come from" in header.lower()
    assert len(sc.strategies) >= 3
    for name, strat in sc.strategies.items():
        assert name in header, f"the header lists strategy {name}"
        assert strat.description and strat.interventions


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_every_shipped_scenario_gives_realistic_outputs(path):
    from cxsim.runner import resize

    sc = resize(load_scenario(path), days=365)  # at its own market size: teams as designed
    summary = cxsim.run(sc, 0).summary
    for metric, (lo, hi) in REALISTIC.items():
        assert lo <= summary[metric] <= hi, f"{path.name}: {metric} = {summary[metric]:.4g}"
    assert summary["profit"] > 0 and summary["revenue"] > summary["profit"]


# --------------------------------------------------------------------------------------------
# Round trip and hashing
# --------------------------------------------------------------------------------------------


def test_round_trip_default(default):
    data = default.to_dict()
    assert isinstance(data, dict)
    again = Scenario.from_dict(data)
    assert again == default
    assert again.to_dict() == data
    # pathways keep the TOML spelling of 'from'
    assert all("from" in pw and "from_" not in pw for pw in data["pathways"])


def test_round_trip_minimal():
    sc = Scenario.from_dict(minimal_dict())
    assert Scenario.from_dict(sc.to_dict()) == sc
    assert sc.validated() == sc


def test_to_dict_does_not_share_state(default):
    data = default.to_dict()
    data["touchpoints"]["chat"]["quality"] = 0.1
    data["pathways"].clear()
    assert default.touchpoints["chat"].quality != 0.1
    assert default.pathways


def test_content_hash_stable(default):
    h = default.content_hash()
    assert isinstance(h, str) and len(h) == 16
    int(h, 16)
    assert default.content_hash() == h
    assert Scenario.from_dict(default.to_dict()).content_hash() == h
    assert cxsim.default_scenario().content_hash() == h


def test_content_hash_changes_with_any_value(default):
    h = default.content_hash()
    data = default.to_dict()
    data["touchpoints"]["chat"]["quality"] = 0.5
    assert Scenario.from_dict(data).content_hash() != h
    data = default.to_dict()
    data["behaviour"]["loss_aversion"] = 2.0
    assert Scenario.from_dict(data).content_hash() != h
    assert default.with_changes(name="other").content_hash() != h


# --------------------------------------------------------------------------------------------
# Validation: one problem at a time, exact messages
# --------------------------------------------------------------------------------------------


def test_minimal_dict_is_valid():
    Scenario.from_dict(minimal_dict())


def test_typo_key():
    def m(d):
        d["segments"]["all"]["churnn"] = 0.02
    assert bad(m) == ["segments.all: unknown key 'churnn'"]


def test_top_level_unknown_key():
    def m(d):
        d["colour"] = "blue"
    assert bad(m) == ["scenario: unknown key 'colour'"]


def test_unknown_key_in_section():
    def m(d):
        d["market"]["sise"] = 10
    assert bad(m) == ["market: unknown key 'sise'"]


@pytest.mark.parametrize("value, shown", [(-0.2, "-0.2"), (1.7, "1.7")])
def test_quality_out_of_range(value, shown):
    def m(d):
        d["touchpoints"]["web"]["quality"] = value
    assert bad(m) == [f"touchpoints.web.quality must be in [0, 1], got {shown}"]


def test_pathway_to_unknown_touchpoint():
    def m(d):
        d["pathways"][0]["to"] = "fax"
    assert bad(m) == ["pathways[0].to: unknown touchpoint 'fax'"]


def test_pathway_from_unknown_touchpoint():
    def m(d):
        d["pathways"][1]["from"] = "fax"
    assert bad(m) == ["pathways[1].from: unknown touchpoint 'fax'"]


def test_resolution_above_one():
    def m(d):
        d["touchpoints"]["phone"]["resolution"] = 1.3
    assert bad(m) == ["touchpoints.phone.resolution must be in [0, 1], got 1.3"]


def test_partner_reliability_above_one():
    def m(d):
        d["partners"]["courier"]["reliability"] = 1.2
    assert bad(m) == ["partners.courier.reliability must be in [0, 1], got 1.2"]


def test_system_outage_probability_above_one():
    d = minimal_dict(systems={"shop": {"touchpoints": ["web"], "outage_probability": 1.5}})
    assert problems(d) == ["systems.shop.outage_probability must be in [0, 1], got 1.5"]


def test_system_with_valid_outage_probability_is_fine():
    Scenario.from_dict(minimal_dict(systems={"shop": {"touchpoints": ["web"],
                                                      "outage_probability": 0.01}}))


def test_shares_must_sum_to_one():
    seg = minimal_dict()["segments"]["all"]
    d = minimal_dict(segments={"a": {**seg, "share": 0.5}, "b": {**seg, "share": 0.4}})
    assert problems(d) == ["segments: shares must sum to 1, got 0.9"]


def test_shares_summing_to_one_are_fine():
    seg = minimal_dict()["segments"]["all"]
    sc = Scenario.from_dict(minimal_dict(segments={"a": {**seg, "share": 0.3},
                                                   "b": {**seg, "share": 0.7}}))
    assert list(sc.segments) == ["a", "b"]


def test_string_where_number_expected():
    def m(d):
        d["touchpoints"]["web"]["quality"] = "high"
    assert bad(m) == ["touchpoints.web.quality must be a number, got 'high'"]


def test_bool_is_not_a_number():
    def m(d):
        d["touchpoints"]["web"]["quality"] = True
    assert bad(m) == ["touchpoints.web.quality must be a number, got True"]


def test_float_for_int_field():
    def m(d):
        d["teams"]["cc"]["headcount"] = 2.5
    assert bad(m) == ["teams.cc.headcount must be a whole number, got 2.5"]


def test_whole_float_for_int_field_is_accepted():
    d = minimal_dict()
    d["teams"]["cc"]["headcount"] = 4.0
    sc = Scenario.from_dict(d)
    assert sc.teams["cc"].headcount == 4 and isinstance(sc.teams["cc"].headcount, int)


def test_string_for_int_field():
    def m(d):
        d["simulation"]["ticks"] = "30"
    assert bad(m) == ["simulation.ticks must be a whole number, got '30'"]


def test_negative_headcount():
    def m(d):
        d["teams"]["cc"]["headcount"] = -3
    assert bad(m) == ["teams.cc.headcount must be in [0, 100000], got -3"]


def test_patience_zero():
    def m(d):
        d["segments"]["all"]["patience"] = 0
    assert bad(m) == ["segments.all.patience must be in (0, 1000], got 0"]


def test_non_finite_number():
    def m(d):
        d["touchpoints"]["web"]["quality"] = float("nan")
    assert bad(m) == ["touchpoints.web.quality must be a finite number, got nan"]


def test_bad_choice():
    def m(d):
        d["touchpoints"]["web"]["stage"] = "checkout"
    assert bad(m) == [f"touchpoints.web.stage must be one of {', '.join(STAGES)}; "
                      f"got 'checkout'"]


def test_missing_required_field():
    def m(d):
        del d["touchpoints"]["web"]["channel"]
    assert bad(m) == ["touchpoints.web.channel is required"]


def test_section_of_wrong_type():
    def m(d):
        d["market"] = 5
    assert bad(m) == ["market must be a table, got 5"]


def test_list_of_wrong_type():
    def m(d):
        d["needs"]["buy"]["entry"] = "web"
    assert bad(m) == ["needs.buy.entry must be a list, got 'web'"]


def test_team_staffs_unknown_touchpoint():
    def m(d):
        d["teams"]["cc"]["touchpoints"] = ["phone", "fax"]
    assert bad(m) == ["teams.cc.touchpoints[1]: unknown touchpoint 'fax'"]


def test_touchpoint_operated_by_two_partners():
    def m(d):
        d["partners"]["rival"] = {"touchpoints": ["delivery"]}
    assert bad(m) == ["partners.rival.touchpoints[0]: touchpoint 'delivery' is already "
                      "operated by partners.courier"]


def test_touchpoint_staffed_by_two_teams():
    def m(d):
        d["teams"]["second"] = {"touchpoints": ["phone"]}
    assert bad(m) == ["teams.second.touchpoints[0]: touchpoint 'phone' is already staffed "
                      "by teams.cc"]


def test_unknown_need_in_need_rates():
    def m(d):
        d["segments"]["all"]["need_rates"]["returns"] = 0.01
    assert bad(m) == ["segments.all.need_rates: unknown need 'returns'"]


def test_unknown_channel_in_channel_preference():
    def m(d):
        d["segments"]["all"]["channel_preference"] = {"web": 2.0, "fax": 1.0}
    assert bad(m) == ["segments.all.channel_preference: unknown channel 'fax'"]


def test_unknown_need_entry_touchpoint():
    def m(d):
        d["needs"]["support"]["entry"] = ["web", "fax"]
    assert bad(m) == ["needs.support.entry[1]: unknown touchpoint 'fax'"]


def _strategy(**iv) -> dict:
    return {"s": {"description": "test", "interventions": [iv]}}


def test_unknown_intervention_type():
    out = problems(minimal_dict(strategies=_strategy(type="bribe")))
    assert len(out) == 1
    assert out[0].startswith("strategies.s.interventions[0].type: unknown intervention type "
                             "'bribe' (known: train, hire, ")


@pytest.mark.parametrize("iv, message", [
    ({"type": "train", "target": "nobody"},
     "strategies.s.interventions[0].target: unknown team 'nobody'"),
    ({"type": "improve_touchpoint", "target": "fax", "amount": 0.1},
     "strategies.s.interventions[0].target: unknown touchpoint 'fax'"),
    ({"type": "partner_sla", "target": "postman"},
     "strategies.s.interventions[0].target: unknown partner 'postman'"),
    ({"type": "train"}, "strategies.s.interventions[0].target: 'train' needs a team"),
    ({"type": "omnichannel", "target": "web"},
     "strategies.s.interventions[0].target: 'omnichannel' takes no target, got 'web'"),
])
def test_intervention_target(iv, message):
    assert problems(minimal_dict(strategies=_strategy(**iv))) == [message]


def test_valid_intervention_target():
    sc = Scenario.from_dict(minimal_dict(strategies=_strategy(type="train", target="cc",
                                                              start=5, amount=0.1)))
    assert sc.strategies["s"].interventions[0].target == "cc"


def test_intervention_start_beyond_horizon():
    d = minimal_dict(strategies=_strategy(type="omnichannel", start=45))
    assert problems(d) == ["strategies.s.interventions[0].start must be within the horizon "
                           "(30 ticks), got 45"]
    # a run shortened on purpose may skip that check
    Scenario.from_dict(d, check_horizon=False)


def test_intervention_start_at_horizon_is_the_last_tick():
    # ticks run 1..30, so an intervention may start on tick 30; 31 is beyond
    Scenario.from_dict(minimal_dict(strategies=_strategy(type="omnichannel", start=30)))
    d = minimal_dict(strategies=_strategy(type="omnichannel", start=31))
    assert problems(d) == ["strategies.s.interventions[0].start must be within the horizon "
                           "(30 ticks), got 31"]


def test_intervention_end_before_start():
    d = minimal_dict(strategies=_strategy(type="omnichannel", start=10, end=5))
    assert problems(d) == ["strategies.s.interventions[0].end must be after start (10) or -1, "
                           "got 5"]


def test_baseline_strategy_name_reserved():
    d = minimal_dict(strategies={"baseline": {"interventions": []}})
    assert problems(d) == ["strategies.baseline: 'baseline' is reserved for the scenario itself"]


def test_initial_customers_above_size():
    d = minimal_dict(market={"initial_customers": 3000})
    assert problems(d) == ["market.initial_customers must be at most market.size (2000), "
                           "got 3000"]


def test_empty_scenario_reports_all_missing_parts():
    assert problems({}) == ["segments: at least one segment is required",
                            "touchpoints: at least one touchpoint is required",
                            "needs: at least one need type is required"]


# --------------------------------------------------------------------------------------------
# Validation: every problem at once
# --------------------------------------------------------------------------------------------


def test_several_field_problems_reported_together():
    d = minimal_dict()
    d["colour"] = "blue"                                   # 1
    d["segments"]["all"]["churnn"] = 0.1                   # 2
    d["segments"]["all"]["patience"] = 0                   # 3
    d["touchpoints"]["web"]["quality"] = -0.2              # 4
    d["touchpoints"]["phone"]["quality"] = 1.7             # 5
    d["touchpoints"]["phone"]["resolution"] = "often"      # 6
    d["teams"]["cc"]["headcount"] = 2.5                    # 7
    d["partners"]["courier"]["reliability"] = 1.2          # 8
    out = problems(d)
    assert sorted(out) == sorted([
        "scenario: unknown key 'colour'",
        "segments.all: unknown key 'churnn'",
        "segments.all.patience must be in (0, 1000], got 0",
        "touchpoints.web.quality must be in [0, 1], got -0.2",
        "touchpoints.phone.quality must be in [0, 1], got 1.7",
        "touchpoints.phone.resolution must be a number, got 'often'",
        "teams.cc.headcount must be a whole number, got 2.5",
        "partners.courier.reliability must be in [0, 1], got 1.2",
    ])
    assert len(out) == 8


def test_several_cross_reference_problems_reported_together():
    seg = minimal_dict()["segments"]["all"]
    d = minimal_dict(
        market={"initial_customers": 3000},
        segments={"a": {**seg, "share": 0.5, "need_rates": {"buy": 0.1, "returns": 0.1}},
                  "b": {**seg, "share": 0.4, "channel_preference": {"fax": 1.0}}},
        teams={"cc": {"touchpoints": ["phone", "fax"]}},
        partners={"courier": {"touchpoints": ["delivery"]},
                  "rival": {"touchpoints": ["delivery"]}},
        strategies=_strategy(type="bribe"),
    )
    d["pathways"][0]["to"] = "fax"
    out = problems(d)
    expected = [
        "segments: shares must sum to 1, got 0.9",
        "market.initial_customers must be at most market.size (2000), got 3000",
        "segments.a.need_rates: unknown need 'returns'",
        "segments.b.channel_preference: unknown channel 'fax'",
        "pathways[0].to: unknown touchpoint 'fax'",
        "teams.cc.touchpoints[1]: unknown touchpoint 'fax'",
        "partners.rival.touchpoints[0]: touchpoint 'delivery' is already operated by "
        "partners.courier",
    ]
    assert len(out) == len(expected) + 1
    for line in expected:
        assert line in out
    assert any(line.startswith("strategies.s.interventions[0].type: unknown intervention "
                               "type 'bribe'") for line in out)


def test_field_and_reference_problems_reported_together():
    # the example of the scenario.py module docstring
    d = minimal_dict()
    d["touchpoints"]["phone"]["quality"] = 1.7
    d["pathways"][0]["to"] = "fax"
    d["segments"]["all"]["churnn"] = 0.1
    out = problems(d)
    assert sorted(out) == sorted(["touchpoints.phone.quality must be in [0, 1], got 1.7",
                                  "pathways[0].to: unknown touchpoint 'fax'",
                                  "segments.all: unknown key 'churnn'"])


def test_huge_integer_in_number_field_is_a_problem():
    d = minimal_dict()
    d["touchpoints"]["web"]["quality"] = 10**400
    out = problems(d)
    assert len(out) == 1 and out[0].startswith("touchpoints.web.quality ")


def test_range_message_shows_the_value_given():
    d = minimal_dict(market={"size": 50_000_001})
    out = problems(d)
    assert out == ["market.size must be in [2, 50000000], got 50000001"]


def test_absurd_headcount_is_rejected():
    d = minimal_dict()
    d["teams"]["cc"]["headcount"] = 10**12
    out = problems(d)
    assert any(line.startswith("teams.cc.headcount") for line in out)


# --------------------------------------------------------------------------------------------
# load_scenario: files
# --------------------------------------------------------------------------------------------


def _load_problem(path) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert len(info.value.problems) == 1
    line = info.value.problems[0]
    assert "\n" not in line
    assert str(path)[:80] in line and len(line) < 400
    return line


def test_load_missing_file(tmp_path):
    p = tmp_path / "nope.toml"
    assert _load_problem(p) == f"{p}: no such file"


def test_load_folder(tmp_path):
    assert _load_problem(tmp_path) == f"{tmp_path}: is a folder, not a scenario file"


def test_load_not_toml(tmp_path):
    p = tmp_path / "notes.toml"
    p.write_text("this is not = = toml [\n")
    assert _load_problem(p).startswith(f"{p}: not valid TOML (")


def test_load_binary_file(tmp_path):
    p = tmp_path / "image.toml"
    p.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00\x00\x01\x02\x80\x81")
    assert _load_problem(p) == f"{p}: not a text file"


def test_load_binary_file_that_is_valid_utf8(tmp_path):
    p = tmp_path / "zeros.toml"
    p.write_bytes(b"\x00\x01\x02\x03")
    assert _load_problem(p).startswith(f"{p}: not valid TOML (")


def test_load_accepts_str_path():
    sc = load_scenario(str(ROOT / "scenarios" / "retail.toml"))
    assert sc == cxsim.default_scenario()


def test_load_reports_problems_of_the_content(tmp_path):
    text = (ROOT / "scenarios" / "retail.toml").read_text(encoding="utf-8")
    assert text.count("base_churn = 0.040643") == 1
    p = tmp_path / "typo.toml"
    p.write_text(text.replace("base_churn = 0.040643", "base_churnn = 0.020743"), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    assert info.value.problems == ["segments.loyal: unknown key 'base_churnn'"]


def test_load_overlong_name(tmp_path):
    p = tmp_path / ("a" * 5000 + ".toml")
    assert "cannot read" in _load_problem(p)


def test_scenario_error_is_value_error():
    assert issubclass(ScenarioError, ValueError)
    err = ScenarioError(["a: one", "b: two"])
    assert err.problems == ["a: one", "b: two"]
    assert str(err) == "a: one\nb: two"


# --------------------------------------------------------------------------------------------
# Scenarios built in Python
# --------------------------------------------------------------------------------------------


def _python_scenario(**changes) -> Scenario:
    sc = cxsim.Scenario(
        name="built in Python",
        simulation=Simulation(ticks=5),
        market=Market(size=1500, initial_customers=700, mean_degree=6, p=0.05, q=0.3),
        segments={
            "young": Segment(share=0.4, revenue_per_day=0.8, need_rates={"buy": 0.05},
                             channel_preference={"web": 2.0}),
            "old": Segment(share=0.6, need_rates={"buy": 0.02, "help": 0.01}),
        },
        touchpoints={
            "web": Touchpoint(channel="web", stage="purchase", quality=0.85),
            "phone": Touchpoint(channel="phone", stage="support", cost_per_contact=3.0),
            "van": Touchpoint(channel="delivery", stage="purchase", resolution=1.0),
        },
        pathways=[Pathway(from_="web", to="phone"),
                  Pathway(from_="web", to="van", kind="handoff", weight=0.7, needs=["buy"])],
        needs={"buy": Need(entry=["web"]), "help": Need(entry=["web", "phone"])},
        teams={"cc": Team(touchpoints=["phone"], headcount=4)},
        partners={"post": PartnerSpec(touchpoints=["van"], reliability=0.9)},
    )
    return sc.with_changes(**changes) if changes else sc


def test_python_built_scenario_validates_and_runs():
    sc = _python_scenario(behaviour=cxsim.scenario.Behaviour(failure_need="help"))
    checked = sc.validated()
    assert checked == sc
    model = cxsim.CXModel(checked, rng=3)
    model.run()
    assert len(model.metrics) == 5
    assert list(model.metrics["tick"]) == [1, 2, 3, 4, 5]
    assert (model.metrics["active"] > 0).all()


def test_python_built_scenario_same_as_from_dict():
    sc = _python_scenario(behaviour=cxsim.scenario.Behaviour(failure_need="help"))
    assert Scenario.from_dict(copy.deepcopy(sc.to_dict())) == sc


def test_invalid_python_built_scenario_raises_from_model():
    sc = _python_scenario()  # partners need behaviour.failure_need, default 'support'
    with pytest.raises(ScenarioError) as info:
        cxsim.CXModel(sc, rng=1)
    assert info.value.problems == ["behaviour.failure_need: unknown need 'support'"]


def test_invalid_python_built_values_raise_from_model():
    sc = _python_scenario(
        behaviour=cxsim.scenario.Behaviour(failure_need="help"),
        touchpoints={"web": Touchpoint(channel="web", stage="purchase", quality=1.7),
                     "phone": Touchpoint(channel="phone", stage="support"),
                     "van": Touchpoint(channel="delivery", stage="purchase")},
        teams={"cc": Team(touchpoints=["phone"], headcount=-2)},
    )
    with pytest.raises(ScenarioError) as info:
        cxsim.CXModel(sc, rng=1)
    assert sorted(info.value.problems) == sorted([
        "touchpoints.web.quality must be in [0, 1], got 1.7",
        "teams.cc.headcount must be in [0, 100000], got -2",
    ])


def test_invalid_python_built_reference_raises_from_model():
    sc = _python_scenario(behaviour=cxsim.scenario.Behaviour(failure_need="help"),
                          pathways=[Pathway(from_="web", to="fax")])
    with pytest.raises(ScenarioError) as info:
        cxsim.CXModel(sc, rng=1)
    assert info.value.problems == ["pathways[0].to: unknown touchpoint 'fax'"]
    with pytest.raises(ScenarioError):
        sc.validated()


@pytest.mark.parametrize("name", ["\n", "a\rb", "x\u2028y", "\x1b[31m", "tab\there"])
def test_a_name_with_control_characters_is_reported_on_one_line(name):
    """Hypothesis found an unknown key "\\n" splitting a problem over two lines."""
    d = minimal_dict()
    d["touchpoints"]["web"][name] = 1
    d["segments"][name] = {"share": "x"}
    with pytest.raises(cxsim.ScenarioError) as err:
        cxsim.Scenario.from_dict(d)
    for p in err.value.problems:
        assert len(p.splitlines()) == 1, p
    assert any("unknown key" in p for p in err.value.problems)
