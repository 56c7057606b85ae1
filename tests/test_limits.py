"""Every input has a limit: scenario files, nesting, sizes, counts, ranges; one problem per
line, at most a screenful of them."""

from __future__ import annotations

import dataclasses
import os
import time
import typing

import pytest
from conftest import call, minimal_dict

import cxsim.scenario as S
from cxsim.scenario import Scenario, ScenarioError, load_scenario

SECTIONS = [S.Simulation, S.Market, S.Segment, S.Touchpoint, S.Pathway, S.Team, S.PartnerSpec,
            S.System, S.Workforce, S.Operations, S.Economics, S.Behaviour, S.Survey,
            S.Intervention]


def problems(data: dict) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        Scenario.from_dict(data)
    return info.value.problems


def test_every_number_in_the_schema_has_both_bounds():
    for cls in SECTIONS:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            tp = hints[f.name]
            numeric = tp in (int, float) or (typing.get_origin(tp) is dict
                                             and typing.get_args(tp)[1] is float)
            if numeric:
                m = f.metadata
                assert m.get("hi") is not None, f"{cls.__name__}.{f.name} has no upper bound"
                assert m.get("lo") is not None or m.get("gt") is not None, (
                    f"{cls.__name__}.{f.name} has no lower bound")


def test_a_device_is_not_read(tmp_path):
    with pytest.raises(ScenarioError, match="not a regular file"):
        load_scenario("/dev/zero")


def test_a_named_pipe_does_not_hang(tmp_path):
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    t0 = time.perf_counter()
    with pytest.raises(ScenarioError, match="not a regular file"):
        load_scenario(fifo)
    assert time.perf_counter() - t0 < 5


def test_a_file_too_large_is_refused(tmp_path):
    p = tmp_path / "big.toml"
    p.write_text("# " + "x" * (S.MAX_SCENARIO_BYTES + 10) + "\n")
    with pytest.raises(ScenarioError, match="larger than 1,000,000 bytes"):
        load_scenario(p)


def test_a_long_dotted_key_is_refused_fast(tmp_path):
    p = tmp_path / "dots.toml"
    p.write_text("a" + ".a" * 20_000 + " = 1\n")
    t0 = time.perf_counter()
    with pytest.raises(ScenarioError, match="line 1: a key nested deeper than 12 levels"):
        load_scenario(p)
    assert time.perf_counter() - t0 < 2


@pytest.mark.parametrize("text", ["x = " + "[" * 3000 + "]" * 3000,
                                  "x = " + "{a=" * 2000 + "1" + "}" * 2000])
def test_deep_nesting_is_refused(tmp_path, text):
    p = tmp_path / "deep.toml"
    p.write_text(text + "\n")
    with pytest.raises(ScenarioError, match="nested deeper than 12 levels"):
        load_scenario(p)


def test_millions_of_unknown_keys_give_one_line():
    data = minimal_dict()
    data["junk"] = {f"k{i}": i for i in range(200_000)}
    t0 = time.perf_counter()
    (line,) = problems(data)
    assert "more than 50,000 keys and values" in line
    assert time.perf_counter() - t0 < 5


def test_a_name_too_long_is_refused():
    data = minimal_dict()
    data["segments"]["x" * 5000] = data["segments"].pop(next(iter(data["segments"])))
    (line,) = problems(data)
    assert "a name longer than 100 characters" in line and len(line) < 200


def test_problems_are_capped_at_a_screenful():
    data = minimal_dict()
    data["scenario_typos"] = 1
    for k in range(60):
        data[f"typo{k}"] = k
    lines = problems(data)
    assert len(lines) == S.MAX_PROBLEMS + 1
    assert lines[-1] == "... and 41 more problems"


def test_cli_validate_prints_a_screenful(tmp_path):
    p = tmp_path / "typos.toml"
    p.write_text("\n".join(f"typo{k} = {k}" for k in range(100)) + "\n")
    code, out, err = call(["validate", p])
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) <= S.MAX_PROBLEMS + 1 and lines[-1].startswith("... and ")


def test_too_many_touchpoints_are_refused():
    data = minimal_dict()
    tp = next(iter(data["touchpoints"].values()))
    for k in range(S.MAX_ITEMS["touchpoints"] + 1):
        data["touchpoints"][f"extra{k}"] = dict(tp)
    assert any("touchpoints: at most 100 are supported" in p for p in problems(data))


def test_a_huge_hire_is_refused():
    data = minimal_dict()
    team = next(iter(data["teams"]))
    data["strategies"] = {"grow": {"interventions": [
        {"type": "hire", "target": team, "start": 1, "amount": 1e12}]}}
    assert problems(data) == ["strategies.grow.interventions[0].amount must be in "
                              "[-1000000, 1000000], got 1000000000000"]
    data["teams"][team]["headcount"] = 90_000
    data["strategies"]["grow"]["interventions"][0]["amount"] = 20_000
    assert any("at most 100,000 employees in all" in p for p in problems(data))


def test_money_beyond_its_limit_is_refused_not_overflowed():
    data = minimal_dict()
    seg = next(iter(data["segments"]))
    data["segments"][seg]["revenue_per_day"] = 1e308
    assert any("revenue_per_day must be in [0, 1000000], got 1e+308" in p
               for p in problems(data))


def test_a_tick_shorter_than_a_quarter_hour_is_refused():
    data = minimal_dict(simulation={"tick_days": 1e-9})
    assert any("simulation.tick_days must be in [0.01, 366]" in p for p in problems(data))


def test_bad_ticks_add_no_horizon_lines():
    data = minimal_dict(simulation={"ticks": 0})
    tp = next(iter(data["touchpoints"]))
    data["strategies"] = {f"s{k}": {"interventions": [
        {"type": "improve_touchpoint", "target": tp, "start": 5, "amount": 0.1}]}
        for k in range(10)}
    assert problems(data) == ["simulation.ticks must be in [1, 100000], got 0"]


def test_a_touchpoint_without_stage_adds_no_channel_lines():
    data = minimal_dict()
    name, tp = next(iter(data["touchpoints"].items()))
    del tp["stage"]
    for seg in data["segments"].values():
        seg["channel_preference"] = {tp["channel"]: 2.0}
    assert problems(data) == [f"touchpoints.{name}.stage is required"]
