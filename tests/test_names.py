"""A shipped scenario named on the command line: ``cxsim run telco`` and the like."""

from __future__ import annotations

import importlib.util
import json
import os

import pytest
from conftest import call

from cxsim.scenario import ScenarioError, find_scenario, scenario_dir, shipped_scenarios

TINY = ["--customers", "2000", "--days", "3"]
SHIPPED = ["bank", "coffee", "hotel", "retail", "telco"]
UNKNOWN = "telcoo: no such file or shipped scenario (shipped: bank, coffee, hotel, retail, telco)\n"


def test_shipped_names():
    assert shipped_scenarios() == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_validate_every_shipped_name(name):
    code, out, err = call(["validate", name])
    assert (code, err) == (0, "")
    assert out.startswith(f"{name}: valid (")


def test_name_with_its_suffix():
    assert find_scenario("telco.toml") == scenario_dir() / "telco.toml"


def test_a_file_that_exists_wins_over_a_name(tmp_path, monkeypatch):
    (tmp_path / "telco").write_text((scenario_dir() / "bank.toml").read_text())
    monkeypatch.chdir(tmp_path)
    code, out, err = call(["validate", "telco"])
    assert code == 0, err
    assert "bank" in out.lower() and "telco" not in out.split(":", 1)[1].lower()


def test_unknown_name_is_one_line():
    with pytest.raises(ScenarioError):
        find_scenario("telcoo")
    assert call(["validate", "telcoo"]) == (2, "", UNKNOWN)


@pytest.mark.parametrize("argv", [
    ["run", "telcoo", *TINY], ["compare", "telcoo", *TINY],
    ["sweep", "telcoo", "--param", "teams.call_centre.headcount=8"],
    ["calibrate", "telcoo", "--targets", "t.csv", "--param", "x=uniform(0,1)"],
    ["optimise", "telcoo"], ["viz", "telcoo"], ["validate", "telcoo"]])
def test_unknown_name_every_command(argv, tmp_path):
    code, out, err = call([*argv, "--out", tmp_path / "o"] if argv[0] not in ("viz", "validate")
                          else argv)
    assert (code, out, err) == (2, "", UNKNOWN)
    assert not (tmp_path / "o").exists()


def test_run_by_name(tmp_path):
    code, out, err = call(["run", "telco", *TINY, "--quiet", "--out", tmp_path / "r"])
    assert code == 0, err
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["scenario"] == "Mobile and broadband telco"


def test_compare_by_name(tmp_path):
    code, out, err = call(["compare", "bank", "--customers", "2000", "--days", "31",
                           "--strategies", "core_resilience", "--reps", "2", "--workers", "1",
                           "--quiet", "--out", tmp_path / "c"])
    assert code == 0, err
    assert (tmp_path / "c" / "comparison.csv").exists()


def test_sweep_by_name(tmp_path):
    code, out, err = call(["sweep", "telco", *TINY, "--workers", "1", "--quiet",
                           "--param", "teams.call_centre.headcount=20,30",
                           "--out", tmp_path / "s"])
    assert code == 0, err
    assert json.loads((tmp_path / "s" / "sweep.json").read_text())


def test_calibrate_takes_a_name(tmp_path):
    # the scenario is read first; the missing targets file is the only problem
    code, out, err = call(["calibrate", "hotel", "--targets", tmp_path / "none.csv",
                           "--param", "market.p=uniform(0.01,0.02)", "--out", tmp_path / "k"])
    assert code == 2
    assert "none.csv" in err and "shipped" not in err


def test_optimise_takes_a_name(tmp_path):
    code, out, err = call(["optimise", "coffee", "--objective", "nosuch:max",
                           "--out", tmp_path / "o"])
    assert code == 2
    assert "nosuch" in err and "shipped" not in err


def test_viz_takes_a_name(monkeypatch):
    # the scenario is loaded before the app's packages are looked for
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    code, out, err = call(["viz", "telco"])
    assert code == 2
    assert "viz extra" in err and "shipped" not in err


def test_viz_passes_the_shipped_file(monkeypatch):
    seen = {}

    class Stop(Exception):
        pass

    def popen(cmd, env):
        seen.update(env)
        raise Stop

    import subprocess

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object())
    monkeypatch.setattr(subprocess, "Popen", popen)
    import cxsim.cli

    monkeypatch.setattr(cxsim.cli, "_ensure_front_end", lambda: None)  # no npm fetch
    with pytest.raises(Stop):
        from cxsim.cli import build_parser

        args = build_parser().parse_args(["viz", "telco", "--port", "0"])
        args.func(args)
    assert seen["CXSIM_VIZ_SCENARIO"] == os.fspath((scenario_dir() / "telco.toml").resolve())
