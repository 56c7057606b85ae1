"""One behaviour across the commands: nothing rounded or ignored in silence, problems named
as the user typed them and reported all at once, a sweep's results on screen, sensitivity
estimates with their sampling error said."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import call
from hypothesis import given, settings
from hypothesis import strategies as st

from cxsim.cli import format_sensitivity
from cxsim.scenario import default_scenario, least_market, size_problems
from cxsim.sweep import SAMPLING_NOTE, sensitivity_notes

CALIBRATE_PARAM = "segments.loyal.base_churn=uniform(0.005,0.04)"


@pytest.fixture
def targets(tmp_path) -> Path:
    path = tmp_path / "observed.csv"
    path.write_text("metric,day_from,day_to,value,n\nmonthly_churn,1,10,0.02,1000\n")
    return path


def _argv(command: str, targets: Path) -> list[str]:
    """The least arguments of each command that takes --customers and --days."""
    return {"run": ["run"],
            "sweep": ["sweep", "--param", "touchpoints.chat.quality=0.5,0.7"],
            "calibrate": ["calibrate", "--targets", str(targets), "--param", CALIBRATE_PARAM],
            "optimise": ["optimise", "--strategies", "fix_courier"]}[command]


SIZED = ["run", "sweep", "calibrate", "optimise"]


def _refused(code: int, out: str, err: str, patterns: list[str]) -> list[str]:
    assert code == 2, (code, err)
    assert "Traceback" not in err and "wrote" not in out
    lines = err.strip().splitlines()
    assert len(lines) == len(patterns), err
    for pattern in patterns:
        assert any(re.search(pattern, line) for line in lines), (pattern, err)
    return lines


# ---- no silent rounding ----------------------------------------------------------------------


@pytest.mark.parametrize("command", SIZED)
def test_days_not_a_whole_number_of_ticks_is_refused(command, targets, tmp_path):
    code, out, err = call([*_argv(command, targets), "--customers", "200", "--days", "2.5",
                           "--out", tmp_path / "o"])
    _refused(code, out, err, [r"^--days 2\.5 is not a whole number of ticks \(a tick is 1 "
                              r"day\); the nearest that are: 2 or 3 days$"])
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("command", SIZED)
def test_days_with_weekly_ticks(command, targets, tmp_path):
    """Weekly ticks (a scenario file with tick_days = 7): --days a multiple of 7 only."""
    sc = default_scenario()
    text = (Path(__file__).parents[1] / "scenarios" / "retail.toml").read_text()
    assert sc.simulation.tick_days == 1
    path = tmp_path / "weekly.toml"
    assert "\ntick_days = 1.0\n" in text
    path.write_text(text.replace("\ntick_days = 1.0\n", "\ntick_days = 7.0\n", 1))
    argv = [_argv(command, targets)[0], str(path), *_argv(command, targets)[1:]]
    code, out, err = call([*argv, "--customers", "200", "--days", "10", "--out", tmp_path / "o"])
    _refused(code, out, err, [r"^--days 10 is not a whole number of ticks \(a tick is 7 "
                              r"days\); the nearest that are: 7 or 14 days$"])
    code, out, err = call([*argv, "--customers", "200", "--days", "3", "--out", tmp_path / "o"])
    _refused(code, out, err, [r"^--days 3 is not .*: 7 days$"])


def test_run_with_weekly_ticks_records_the_horizon_asked_for(tmp_path):
    out = tmp_path / "r"
    code, _, err = call(["run", "--set", "simulation.tick_days=7", "--days", "14",
                         "--customers", "200", "--out", out, "--quiet"])
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["days"], summary["ticks"], summary["tick_days"]) == (14.0, 2, 7.0)
    code, out_text, err = call(["run", "--set", "simulation.tick_days=7", "--days", "10",
                                "--customers", "200", "--out", tmp_path / "r2", "--quiet"])
    _refused(code, out_text, err, [r"^--days 10 is not a whole number of ticks .*7 or 14 days$"])


def test_sweep_checks_days_at_every_tick_length_it_runs(tmp_path):
    code, out, err = call(["sweep", "--param", "simulation.tick_days=1,7", "--days", "10",
                           "--customers", "200", "--out", tmp_path / "s"])
    _refused(code, out, err, [r"^--days 10 is not a whole number of ticks \(a tick is 7 days\)"])
    code, out, err = call(["sweep", "--param", "simulation.tick_days=uniform(1,7)", "--design",
                           "lhs", "--days", "14", "--customers", "200", "--out", tmp_path / "s"])
    _refused(code, out, err, [r"^--days and --param simulation\.tick_days=uniform\(1,7\): "])


def test_days_beyond_the_most_ticks_names_days(tmp_path):
    code, out, err = call(["run", "--set", "simulation.tick_days=0.1", "--days", "36000",
                           "--customers", "200", "--out", tmp_path / "o"])
    _refused(code, out, err, [r"^--days 36000 makes 360,000 ticks of 0\.1 days; at most "
                              r"100,000 \(10,000 days\)$"])


@pytest.mark.parametrize("flag, value, words", [
    ("--customers", "200.5", "--customers must be a whole number"),
    ("--reps", "2.5", "--reps must be a whole number"),
    ("--samples", "8.5", "--samples must be a whole number"),
    ("--seed", "1.5", "--seed must be a whole number"),
])
def test_fractional_counts_are_refused_not_rounded(flag, value, words, tmp_path):
    code, out, err = call(["sweep", "--param", "touchpoints.chat.quality=uniform(0.5,0.9)",
                           "--design", "lhs", flag, value, "--out", tmp_path / "s"])
    _refused(code, out, err, [re.escape(words)])


def test_sweep_int_spec_with_fractional_bounds_is_refused(tmp_path):
    code, out, err = call(["sweep", "--param", "teams.contact_centre.headcount=int(4.5,9)",
                           "--design", "lhs", "--out", tmp_path / "s"])
    assert code == 2 and "int(4.5,9)" in err, err


# ---- sizes named as typed; the least market --------------------------------------------------


@pytest.mark.parametrize("command", SIZED)
@pytest.mark.parametrize("customers", ["1", "2", "3", "10"])
def test_too_small_a_market_names_customers(command, customers, targets, tmp_path):
    code, out, err = call([*_argv(command, targets), "--customers", customers, "--days", "10",
                           "--out", tmp_path / "o"])
    line, = _refused(code, out, err, [rf"^--customers {customers} is too small for "
                                      r"Omnichannel retailer: .*at least 11$"])
    assert "market.size" not in line and "initial_customers" not in line
    assert not (tmp_path / "o").exists()


def test_the_least_market_runs(tmp_path):
    sc = default_scenario()
    least = least_market(sc)
    assert least == math.ceil(sc.market.mean_degree) + 1
    code, _, err = call(["run", "--customers", str(least), "--days", "3", "--out",
                         tmp_path / "r", "--quiet"])
    assert code == 0, err


def test_a_smaller_network_lets_a_smaller_market_run(tmp_path):
    code, _, err = call(["run", "--set", "market.mean_degree=2", "--customers", "3", "--days",
                         "3", "--out", tmp_path / "r", "--quiet"])
    assert code == 0, err


@given(tick=st.sampled_from([0.25, 0.5, 1.0, 2.0, 7.0, 30.0]), n=st.integers(1, 2000),
       half=st.booleans())
@settings(max_examples=200, deadline=None)
def test_size_problems_accept_whole_ticks_and_name_the_nearest(tick, n, half):
    import dataclasses

    sc = default_scenario()
    sc = dataclasses.replace(sc, simulation=dataclasses.replace(sc.simulation, tick_days=tick))
    days = (n + 0.5) * tick if half else n * tick
    problems = [str(p) for p in size_problems(sc, days=days)]
    if not half:
        assert problems == []
        return
    assert len(problems) == 1 and problems[0].startswith("days=")
    near = re.search(r"the nearest that are: (.*) days$", problems[0]).group(1).split(" or ")
    assert [float(x) for x in near] == [n * tick, (n + 1) * tick]


# ---- every problem at once -------------------------------------------------------------------


def test_run_reports_every_bad_flag_at_once(tmp_path):
    code, out, err = call(["run", "--days", "-1", "--customers", "0", "--seed", "-3",
                           "--engine", "x", "--out", tmp_path / "o"])
    _refused(code, out, err, ["--days must be positive", "--customers must be at least 1",
                              "--seed must be non-negative", "--engine: invalid choice"])


def test_run_reports_every_set_and_size_problem_at_once(tmp_path):
    code, out, err = call(["run", "--set", "nope=1", "--set",
                           "teams.contact_centre.headcount=-1", "--customers", "5", "--days",
                           "2.5", "--out", tmp_path / "o"])
    _refused(code, out, err, [r"^--set nope=1: unknown parameter path",
                              r"^--set teams\.contact_centre\.headcount=-1: ",
                              r"^--customers 5 is too small", r"^--days 2\.5 is not"])


def test_sweep_reports_every_problem_at_once(tmp_path):
    code, out, err = call(["sweep", "--param", "teams.contact_centre.headcount=-1,2",
                           "--param", "nope.x=1,2", "--outcomes", "foo", "--strategy", "nope",
                           "--customers", "5", "--days", "2.5", "--out", tmp_path / "o"])
    _refused(code, out, err, [r"^--param teams\.contact_centre\.headcount=-1,2: -1 is not",
                              r"^--param nope\.x=1,2: unknown parameter path",
                              r"^--outcomes: unknown outcome 'foo'",
                              r"^--strategy nope: unknown strategy 'nope'",
                              r"^--customers 5 is too small", r"^--days 2\.5 is not"])


def test_sweep_reports_every_bad_param_text_at_once(tmp_path):
    code, out, err = call(["sweep", "--param", "a=uniform(3,2)", "--param", "b",
                           "--out", tmp_path / "o"])
    _refused(code, out, err, [r"^--param a=uniform\(3,2\): ", r"^--param b: expected"])


def test_calibrate_reports_every_problem_at_once(tmp_path):
    code, out, err = call(["calibrate", "--customers", "3", "--days", "2.5",
                           "--out", tmp_path / "o"])
    _refused(code, out, err, ["give the observed data with --targets", "give at least one "
                              "--param", r"^--customers 3 is too small", r"^--days 2\.5"])
    code, out, err = call(["calibrate", "--targets", "x.csv", "--param", "a=uniform(3,2)",
                           "--param", "b", "--out", tmp_path / "o"])
    _refused(code, out, err, [r"^--param a=uniform\(3,2\): ", r"^--param b: expected",
                              r"^x\.csv: cannot read"])  # the targets file with the others


def test_optimise_reports_size_problems_at_once(tmp_path):
    code, out, err = call(["optimise", "--customers", "3", "--days", "2.5",
                           "--out", tmp_path / "o"])
    _refused(code, out, err, [r"^--customers 3 is too small", r"^--days 2\.5"])


def test_an_unknown_command_is_one_line():
    code, out, err = call(["frobnicate"])
    _refused(code, out, err, [r"invalid choice: 'frobnicate'"])


# ---- an empty --out, for every command that writes -------------------------------------------


@pytest.mark.parametrize("argv", [
    ["run"], ["compare", "--strategies", "fix_courier", "--reps", "2"],
    ["sweep", "--param", "touchpoints.chat.quality=0.5,0.7"],
    ["calibrate", "--targets", "TARGETS", "--param", CALIBRATE_PARAM],
    ["optimise"], ["discover", "SWEEP", "--where", "profit < 0"]])
def test_an_empty_out_is_refused(argv, targets, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sweep_dir = tmp_path / "sweep"
    sweep_dir.mkdir()
    argv = [str(targets) if a == "TARGETS" else str(sweep_dir) if a == "SWEEP" else a
            for a in argv]
    sized = [] if argv[0] == "discover" else ["--customers", "200", "--days", "40"]
    code, out, err = call([*argv, *sized, "--out", ""])
    _refused(code, out, err, [r"^--out must name a folder, got an empty path$"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["observed.csv", "sweep"]


# ---- a sweep's results on screen -------------------------------------------------------------


def test_a_grid_sweep_prints_a_row_per_point(tmp_path):
    code, out, err = call(["sweep", "--param", "teams.contact_centre.headcount=4,8",
                           "--param", "touchpoints.chat.quality=0.5,0.9", "--customers", "200",
                           "--days", "5", "--workers", "1", "--out", tmp_path / "s"])
    assert code == 0, err
    lines = out.splitlines()
    at = lines.index("results per point (one run):")
    head = lines[at + 1].split()
    assert head[:3] == ["headcount", "quality", "active"]
    rows = [line.split() for line in lines[at + 2:at + 6]]
    assert [r[:2] for r in rows] == [["4", "0.5"], ["4", "0.9"], ["8", "0.5"], ["8", "0.9"]]
    assert all(len(line) <= 100 for line in lines[at:at + 6])
    runs = pd.read_parquet(tmp_path / "s" / "runs.parquet")
    assert rows[0][2] == f"{runs.loc[runs['point'] == 0, 'active'].iloc[0]:,.0f}"


def test_a_sampled_sweep_prints_each_outcome_across_points(tmp_path):
    code, out, err = call(["sweep", "--design", "lhs", "--samples", "6", "--param",
                           "teams.contact_centre.headcount=int(2,9)", "--reps", "2",
                           "--customers", "200", "--days", "5", "--workers", "1",
                           "--out", tmp_path / "s"])
    assert code == 0, err
    lines = out.splitlines()
    at = lines.index("results across 6 points (mean of 2 replications each):")
    assert lines[at + 1].split() == ["mean", "min", "max"]
    assert lines[at + 2].split()[:2] == ["customers", "(final)"]
    assert len(lines) < 25


# ---- sensitivity: reproducible, and its sampling error said ----------------------------------

SOBOL = ["sweep", "--design", "sobol", "--samples", "8", "--param",
         "teams.contact_centre.headcount=int(2,9)", "--param",
         "touchpoints.chat.quality=uniform(0.5,0.9)", "--customers", "200", "--days", "5",
         "--outcomes", "service_level,profit", "--workers", "1"]


def test_sensitivity_is_reproducible_and_a_resume_changes_nothing(tmp_path):
    for name in ("a", "b"):
        code, _, err = call([*SOBOL, "--out", tmp_path / name, "--quiet"])
        assert code == 0, err
    first = (tmp_path / "a" / "sensitivity.csv").read_bytes()
    assert first == (tmp_path / "b" / "sensitivity.csv").read_bytes()
    code, out, err = call(["sweep", "--resume", "--out", tmp_path / "a"])
    assert code == 0 and "nothing left to run" in out, err
    assert (tmp_path / "a" / "sensitivity.csv").read_bytes() == first
    table = pd.read_csv(tmp_path / "a" / "sensitivity.csv")
    assert list(table.columns) == ["outcome", "parameter", "S1", "S1_ci_low", "S1_ci_high", "ST",
                                   "ST_ci_low", "ST_ci_high", "note"]


def _sobol_row(s1, s1_lo, s1_hi, st_, st_lo, st_hi, note=""):
    return {"outcome": "profit", "parameter": "p", "S1": s1, "S1_ci_low": s1_lo,
            "S1_ci_high": s1_hi, "ST": st_, "ST_ci_low": st_lo, "ST_ci_high": st_hi,
            "note": note}


def test_sensitivity_notes_say_what_is_sampling_error():
    table = pd.DataFrame([_sobol_row(0.2, 0.1, 0.3, 0.4, 0.3, 0.5),
                          _sobol_row(0.5, 0.3, 0.7, 0.4, 0.2, 0.6),
                          _sobol_row(0.1, -0.1, 0.3, 0.9, 0.7, 1.1),
                          _sobol_row(math.nan, math.nan, math.nan, math.nan, math.nan,
                                     math.nan, "constant outcome")])
    notes = list(sensitivity_notes(table)["note"])
    assert notes[0] == "" and notes[3] == "constant outcome"
    assert notes[1] == f"S1 > ST: {SAMPLING_NOTE}"
    assert notes[2] == f"estimate or interval beyond [0, 1]: {SAMPLING_NOTE}"
    assert list(sensitivity_notes(table).columns) == list(table.columns)
    morris = pd.DataFrame([{"outcome": "profit", "parameter": "p", "mu": 1.0, "mu_star": 1.0,
                            "mu_star_ci_low": -0.2, "mu_star_ci_high": 2.2, "sigma": 1.0,
                            "note": ""}])
    assert sensitivity_notes(morris)["note"].iloc[0] == f"interval below 0: {SAMPLING_NOTE}"


@given(values=st.lists(st.floats(-0.5, 1.5, allow_nan=False), min_size=6, max_size=6))
@settings(max_examples=200, deadline=None)
def test_a_note_exactly_where_a_share_cannot_be(values):
    row = _sobol_row(*values)
    note = sensitivity_notes(pd.DataFrame([row]))["note"].iloc[0]
    impossible = row["S1"] > row["ST"] or any(not 0 <= v <= 1 for v in values)
    assert bool(note) == impossible
    assert ("S1 > ST" in note) == (row["S1"] > row["ST"])


def test_printed_sensitivity_marks_and_explains_sampling_error():
    table = sensitivity_notes(pd.DataFrame([_sobol_row(0.5, 0.3, 0.7, 0.4, 0.2, 0.6),
                                            _sobol_row(0.1, 0.0, 0.2, 0.3, 0.2, 0.4)]))
    text = format_sensitivity(table)
    assert "p 0.4 [0.2, 0.6]*" in text
    assert text.splitlines()[-1].startswith("  * sampling error:")
    assert "increase --samples" in text.splitlines()[-1]
    clean = format_sensitivity(sensitivity_notes(pd.DataFrame(
        [_sobol_row(0.1, 0.0, 0.2, 0.3, 0.2, 0.4)])))
    assert "*" not in clean


def test_show_reports_every_problem_at_once():
    code, out, err = call(["show", "retail", "nope.x", "--section", "foo"])
    _refused(code, out, err, [r"^--section: no section 'foo'", r"no value under 'nope\.x'"])
    code, out, err = call(["show", "nofile.toml", "--section", "foo"])
    _refused(code, out, err, [r"^nofile\.toml: no such file", r"^--section: no section 'foo'"])


def test_calibrate_reports_every_bad_param_at_once(targets, tmp_path):
    code, out, err = call(["calibrate", "--targets", targets, "--param", "nope.x=uniform(1,2)",
                           "--param", "touchpoints.chat.quality=uniform(0.5,1.5)", "--param",
                           CALIBRATE_PARAM, "--out", tmp_path / "o"])
    _refused(code, out, err, [r"^--param nope\.x=uniform\(1,2\): unknown parameter path",
                              r"^--param touchpoints\.chat\.quality=uniform\(0\.5,1\.5\): 1\.5 "
                              r"is not a valid value"])
    assert not (tmp_path / "o").exists()


def test_a_point_whose_runs_failed_shows_n_a(tmp_path):
    code, out, err = call(["sweep", "--param", "segments.loyal.share=0.35,0.9", "--customers",
                           "200", "--days", "5", "--workers", "1", "--out", tmp_path / "s"])
    assert code == 0 and "1 of 2 runs failed" in err, err
    lines = out.splitlines()
    at = lines.index("results per point (one run):")
    assert lines[at + 1].split()[0] == "share"
    assert lines[at + 3].split()[0] == "0.9" and set(lines[at + 3].split()[1:]) == {"n/a"}


@pytest.mark.parametrize("command", ["calibrate", "optimise", "discover"])
def test_a_folder_holding_other_files_is_refused(command, targets, tmp_path):
    """What test_results_folders checks for run, compare and sweep, for the other writers."""
    res = tmp_path / "res"
    (res / "discovery" if command == "discover" else res).mkdir(parents=True)
    stale = (res / "discovery" if command == "discover" else res) / "notes.txt"
    stale.write_text("mine\n")
    sweep_dir = tmp_path / "sweep"
    if command == "discover":
        code, _, err = call(["sweep", "--design", "lhs", "--samples", "12", "--param",
                             "teams.contact_centre.headcount=int(1,14)", "--customers", "500",
                             "--days", "5", "--workers", "1", "--quiet", "--out", sweep_dir])
        assert code == 0, err
    argv = {"calibrate": [*_argv("calibrate", targets), "--customers", "200", "--days", "10"],
            "optimise": [*_argv("optimise", targets), "--customers", "200", "--days", "10"],
            "discover": ["discover", sweep_dir, "--where", "service_level < 0.024"]}[command]
    code, out, err = call([*argv, "--out", res])
    line, = _refused(code, out, err, [r"holds 'notes\.txt', which is not a cxsim result"])
    assert str(stale.parent) in line
    assert [p.name for p in res.rglob("*")] == (["discovery", "notes.txt"]
                                                if command == "discover" else ["notes.txt"])
