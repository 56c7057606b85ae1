"""The warning when ``--customers`` leaves a team too small (``cxsim.runner.small_teams``).

``cxsim run``, ``compare`` and ``sweep`` print it as one line on stderr and run anyway.
The command-line tests use the minimal scenario (2,000 customers, a phone team of 6 on
8-hour shifts over 12 open hours: 4 agents on shift), so 1,000 customers leave 2 on shift
(warned) and 1,500 leave 3 (not).
"""

from __future__ import annotations

import pytest
import tomli_w
from conftest import call, minimal_dict
from hypothesis import given, settings
from hypothesis import strategies as st

import cxsim
from cxsim.cli import in_flags
from cxsim.runner import MIN_ON_SHIFT, on_shift, resize, small_teams
from cxsim.scenario import scenario_dir
from cxsim.sweep import plan_sweep

RETAIL = cxsim.default_scenario()
BANK = cxsim.load_scenario(scenario_dir() / "bank.toml")


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    """The minimal scenario with a strategy starting on day 1, as a TOML file."""
    data = minimal_dict(strategies={"coach": {"interventions": [
        {"type": "train", "target": "cc", "start": 1, "amount": 0.1}]}})
    path = tmp_path_factory.mktemp("small") / "small.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


def test_names_the_team_its_agents_and_the_scenarios():
    note = small_teams(RETAIL, 20_000)
    assert in_flags(note) == (
        "warning: at --customers 20,000 teams.contact_centre has 1.6 agents on shift (8 at "
        "the scenario's 100,000 customers): a team this small queues worse, so service "
        "level, waits and the churn they drive are not the scenario's; use a larger "
        "--customers")
    assert str(note).startswith("warning: at customers=20,000 teams.contact_centre")
    assert str(note).endswith("use a larger customers value")


def test_every_small_team_on_one_line():
    text = in_flags(small_teams(BANK, 20_000))
    assert "\n" not in text
    assert "teams.contact_centre has 2 agents on shift (4 at the scenario's 40,000" in text
    assert "teams.fraud_team 0.67 (1.3)" in text


@pytest.mark.parametrize("customers", [None, 50_000, 100_000, 1_000_000])
def test_silent_where_every_team_keeps_enough_agents(customers):
    assert small_teams(RETAIL, customers) is None


def test_silent_for_a_sample_of_the_market():
    # a sample's queues are solved at the market it samples: its teams do not shrink
    sample = resize(RETAIL, customers=20_000, sample=True)
    assert on_shift(sample, "contact_centre") == pytest.approx(8.0)
    assert small_teams(sample, 5_000) is None


@settings(max_examples=60, deadline=None)
@given(a=st.integers(1, 120_000), b=st.integers(1, 120_000))
def test_a_smaller_market_warns_whenever_a_larger_one_does(a, b):
    small, large = sorted((a, b))
    for sc in (RETAIL, BANK):
        if small_teams(sc, large) is not None:
            assert small_teams(sc, small) is not None
        # the rule itself: warned exactly when a shrunk team falls below MIN_ON_SHIFT
        resized = resize(sc, customers=small)
        expected = small < sc.market.size and any(
            on_shift(resized, t) < min(MIN_ON_SHIFT, on_shift(sc, t)) for t in sc.teams)
        assert (small_teams(sc, small) is not None) == expected


def test_run_warns_at_a_tiny_market_and_still_runs(small_file, tmp_path):
    code, out, err = call(["run", small_file, "--customers", "1000", "--days", "2",
                           "--out", tmp_path / "r"])
    assert code == 0, err
    lines = [line for line in err.splitlines() if line.startswith("warning")]
    assert lines == ["warning: at --customers 1,000 teams.cc has 2 agents on shift (4 at the "
                     "scenario's 2,000 customers): a team this small queues worse, so "
                     "service level, waits and the churn they drive are not the scenario's; "
                     "use a larger --customers"]
    assert (tmp_path / "r" / "metrics.csv").is_file()


def test_run_is_silent_at_a_healthy_market_and_with_quiet(small_file, tmp_path):
    code, _, err = call(["run", small_file, "--customers", "1500", "--days", "2",
                         "--out", tmp_path / "r"])
    assert code == 0 and "warning" not in err, err
    code, out, err = call(["run", small_file, "--customers", "1000", "--days", "2",
                           "--quiet", "--out", tmp_path / "q"])
    assert code == 0 and out == "" and err == ""


def test_run_checks_the_team_as_set(small_file, tmp_path):
    # --set raises the head count before resizing: 12 x 0.5 x 8/12 = 4 on shift, no warning
    code, _, err = call(["run", small_file, "--customers", "1000", "--days", "2",
                         "--set", "teams.cc.headcount=12", "--out", tmp_path / "r"])
    assert code == 0 and "warning" not in err, err


@pytest.mark.parametrize("customers, warned", [("1000", True), ("1500", False)])
def test_compare_warns_like_run(small_file, tmp_path, customers, warned):
    code, _, err = call(["compare", small_file, "--customers", customers, "--days", "3",
                         "--reps", "2", "--workers", "1", "--out", tmp_path / "c"])
    assert code == 0, err
    assert ("warning: at --customers" in err) == warned, err
    assert (tmp_path / "c" / "comparison.csv").is_file()


def test_sweep_plans_the_same_warning(small_file):
    sc = cxsim.load_scenario(small_file)
    plan = plan_sweep(sc, {"touchpoints.phone.quality": "0.7,0.8"}, customers=1000)
    assert list(plan.notes) == [small_teams(sc, 1000)]
    assert plan_sweep(sc, {"touchpoints.phone.quality": "0.7,0.8"}, customers=1500).notes == ()
