"""A sweep refuses, before any run, every value or bound its field does not accept."""

from __future__ import annotations

import pytest
from conftest import call

import cxsim
from cxsim.params import ParamError
from cxsim.sweep import plan_sweep

TINY = ["--customers", "2000", "--days", "3", "--workers", "1"]


@pytest.mark.parametrize("argv, line", [
    (["--param", "touchpoints.chat.quality=uniform(0.5,1.5)", "--design", "lhs"],
     "--param touchpoints.chat.quality=uniform(0.5,1.5): 1.5 is not a valid value of "
     "touchpoints.chat.quality (touchpoints.chat.quality must be in [0, 1], got 1.5)"),
    (["--param", "teams.contact_centre.headcount=int(-5,3)", "--design", "lhs"],
     "--param teams.contact_centre.headcount=int(-5,3): -5 is not a valid value of "
     "teams.contact_centre.headcount (teams.contact_centre.headcount must be in "
     "[0, 100000], got -5)"),
    (["--param", "market.network=full,ring"],
     "--param market.network=full,ring: 'ring' is not a valid value of market.network "
     "(market.network must be one of full, erdos_renyi, small_world; got 'ring')"),
    (["--param", "pathways.0.weight=0,1"],
     "--param pathways.0.weight=0,1: 0 is not a valid value of pathways.0.weight "
     "(pathways[0].weight must be in (0, 1000000], got 0)"),
    (["--param", "touchpoints.chat.quality=loguniform(0.001,2)", "--design", "sobol"],
     "--param touchpoints.chat.quality=loguniform(0.001,2): 2 is not a valid value of "
     "touchpoints.chat.quality (touchpoints.chat.quality must be in [0, 1], got 2)"),
])
def test_bad_value_refused_before_any_run(tmp_path, argv, line):
    out = tmp_path / "s"
    code, stdout, err = call(["sweep", *TINY, *argv, "--out", out])
    assert (code, stdout, err) == (2, "", line + "\n")
    assert not out.exists()


def test_every_bad_parameter_at_once(tmp_path):
    out = tmp_path / "s"
    code, stdout, err = call(["sweep", *TINY, "--param", "touchpoints.chat.quality=0.5,1.2",
                              "--param", "teams.contact_centre.headcount=-1,4",
                              "--param", "market.rewiring=0.1,0.2", "--out", out])
    assert code == 2 and stdout == ""
    lines = err.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("--param touchpoints.chat.quality=0.5,1.2: 1.2 is not")
    assert lines[1].startswith("--param teams.contact_centre.headcount=-1,4: -1 is not")
    assert not out.exists()


def test_library_names_the_parameter():
    with pytest.raises(ParamError) as info:
        plan_sweep(cxsim.default_scenario(), {"touchpoints.chat.quality": [0.5, 1.5]})
    assert str(info.value) == (
        "parameter touchpoints.chat.quality=0.5,1.5: 1.5 is not a valid value of "
        "touchpoints.chat.quality (touchpoints.chat.quality must be in [0, 1], got 1.5)")


def test_valid_values_pass():
    plan = plan_sweep(cxsim.default_scenario(),
                      {"touchpoints.chat.quality": "uniform(0,1)",
                       "teams.contact_centre.headcount": "int(0,40)",
                       "market.network": "full,small_world"}, design="lhs", samples=4)
    assert plan.n_runs == 4


def test_a_long_list_is_checked_at_its_ends():
    values = [round(0.0001 * i, 4) for i in range(1, 2000)] + [1.5]
    with pytest.raises(ParamError, match="1.5 is not a valid value"):
        plan_sweep(cxsim.default_scenario(), {"touchpoints.chat.quality": values})
