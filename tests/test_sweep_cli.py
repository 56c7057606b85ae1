"""``cxsim sweep``, ``cxsim run --set`` and ``cxsim run --replay`` from the command line."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import call, cli_subprocess, snapshot

SMALL = ["--customers", "2000", "--days", "30"]
GRID = ["--param", "touchpoints.chat.quality=0.5,0.9", "--param",
        "strategy=baseline,fix_courier"]


@pytest.fixture(scope="module")
def earlier_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "sweep"
    code, stdout, err = call(["sweep", *GRID, "--reps", "2", *SMALL, "--out", out, "--plot",
                              "--workers", "1"])
    assert code == 0, err
    return out, stdout


def test_sweep_help_lists_the_contract_flags():
    code, out, _ = call(["sweep", "--help"])
    assert code == 0
    for flag in ("--param", "--design", "--samples", "--reps", "--workers", "--scheduler",
                 "--out", "--resume", "grid", "lhs", "sobol", "morris", "uniform(a,b)",
                 "int(a,b)"):
        assert flag in out, flag
    code, out, _ = call(["--help"])
    assert "sweep" in out


def test_sweep_writes_the_runs_table(earlier_sweep):
    out, stdout = earlier_sweep
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 2 * 2 * 2
    assert set(runs["strategy"]) == {"baseline", "fix_courier"}
    assert "2 points × 2 replications" not in stdout  # a 2 × 2 grid has 4 points
    assert "4 points × 2 replications = 8 runs" in stdout
    assert "8 runs in" in stdout and "runs/s" in stdout
    assert (out / "sweep_lines.png").stat().st_size > 10_000  # chat quality × strategy
    meta = json.loads((out / "sweep.json").read_text())
    assert meta["status"] == "complete" and meta["fingerprint"]["customers"] == 2000


def test_replay_reproduces_a_row(earlier_sweep, tmp_path):
    out, _ = earlier_sweep
    code, stdout, err = call(["run", "--replay", out, "--run-id", "5", "--out", tmp_path])
    assert code == 0, err
    assert "replay of run 5: all" in stdout and "outcomes identical to the recorded row" in stdout
    summary = json.loads((tmp_path / "summary.json").read_text())
    row = pd.read_parquet(out / "runs.parquet").set_index("run_id").loc[5]
    assert summary["seed"] == row["seed"] and summary["strategy"] == row["strategy"]
    assert summary["profit"] == row["profit"]


def test_replay_notices_a_changed_row(earlier_sweep, tmp_path):
    out, _ = earlier_sweep
    copy = tmp_path / "copy"
    import shutil

    shutil.copytree(out, copy)
    runs = pd.read_parquet(copy / "runs.parquet")
    runs.loc[runs["run_id"] == 2, "profit"] += 1.0
    runs.to_parquet(copy / "runs.parquet", index=False)
    code, _, err = call(["run", "--replay", copy, "--run-id", "2", "--out", tmp_path / "r",
                         "--quiet"])
    assert code == 1 and "outcomes differ from the recorded row: profit" in err


@pytest.mark.parametrize("argv, words", [
    (["--run-id", "99"], "--run-id must be below 8"),
    ([], "--replay needs --run-id"),
    (["--run-id", "1", "--seed", "3"], None),  # --seed is replaced: see below
    (["--run-id", "1", "--customers", "500"], "do not also give --customers"),
    (["--run-id", "1", "--set", "touchpoints.chat.quality=0.1"], "do not also give --set"),
])
def test_replay_bad_input(earlier_sweep, tmp_path, argv, words):
    out, _ = earlier_sweep
    code, _, err = call(["run", "--replay", out, *argv, "--out", tmp_path / "r", "--quiet"])
    if words is None:
        assert code == 0  # the sweep's seed wins; --seed has a default, so it is not an error
        return
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_replay_of_a_folder_without_a_sweep(tmp_path):
    code, _, err = call(["run", "--replay", tmp_path, "--run-id", "0", "--out", tmp_path / "r"])
    assert code == 2 and "holds no sweep" in err


def test_run_set_changes_the_scenario(tmp_path):
    # values speak the scenario's units: 40 people, each a fifth of a full-time employee at 20,000
    big = ["--customers", "20000", "--days", "30"]
    code, _, err = call(["run", *big, "--set", "teams.contact_centre.headcount=40",
                         "--out", tmp_path / "a", "--quiet"])
    assert code == 0, err
    code, _, err = call(["run", *big, "--out", tmp_path / "b", "--quiet"])
    a = json.loads((tmp_path / "a" / "summary.json").read_text())
    b = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert a["occupancy"] < b["occupancy"] and a["asa"] <= b["asa"]


def test_run_set_head_count_keeps_its_agents_at_any_market_size(tmp_path):
    """A head count is never rounded away: at a small market each agent stands for a
    fraction of a full-time employee, so 40 and 41 stay different teams."""
    caps = []
    for hc in (40, 41):
        code, _, err = call(["run", *SMALL, "--set", f"teams.contact_centre.headcount={hc}",
                             "--out", tmp_path / str(hc), "--quiet"])
        assert code == 0, err
        assert "becomes" not in err
        q = pd.read_csv(tmp_path / str(hc) / "queues.csv")
        caps.append(q["agents"].iloc[0])
    assert caps[1] / caps[0] == pytest.approx(41 / 40)


@pytest.mark.parametrize("value, words", [
    ("teams.contact_centre.headcount=8,10", "takes one value"),
    ("teams.contact_center.headcount=8", "teams has no 'contact_center'"),
    ("touchpoints.chat.quality=1.5", "touchpoints.chat.quality must be in [0, 1], got 1.5"),
    ("touchpoints.chat.quality", "expected PATH=VALUE"),
    ("strategy=fix_courier", "use --strategy NAME"),
])
def test_run_set_bad_input(tmp_path, value, words):
    code, _, err = call(["run", *SMALL, "--set", value, "--out", tmp_path / "r"])
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


# ---- bad input ---------------------------------------------------------------------------------

BAD = {
    "unknown path": (["--param", "teams.contact_center.headcount=8,12"],
                     "unknown parameter path 'teams.contact_center.headcount'"),
    "malformed spec": (["--param", "touchpoints.chat.quality=0.5:0.9"], "START:STOP:COUNT"),
    "bad distribution": (["--param", "touchpoints.chat.quality=beta(1,2)", "--design", "lhs"],
                         "unknown distribution 'beta'"),
    "distribution in grid": (["--param", "touchpoints.chat.quality=uniform(0.5,0.9)"],
                             "a grid needs values"),
    "wrong type": (["--param", "teams.contact_centre.headcount=8.5,9"], "whole number"),
    "no param": ([], "give at least one --param"),
    "samples on grid": (["--param", "touchpoints.chat.quality=0.5,0.9", "--samples", "8"],
                        "--samples does not apply to a grid"),
    "unknown design": (["--param", "touchpoints.chat.quality=0.5,0.9", "--design", "cube"],
                       "invalid choice"),
    "unknown strategy": (["--param", "strategy=baseline,teleport"],
                         "unknown strategy 'teleport'"),
    "unknown outcome": (["--param", "touchpoints.chat.quality=0.5,0.9", "--outcomes", "joy"],
                        "unknown outcome 'joy'"),
    "customers and market size": (["--param", "market.size=1000,2000"], "use one"),
    "bad scheduler": (["--param", "touchpoints.chat.quality=0.5,0.9", "--scheduler", "nowhere"],
                      "--scheduler must be 'local' or an address"),
    "zero reps": (["--param", "touchpoints.chat.quality=0.5,0.9", "--reps", "0"],
                  "--reps must be at least 1"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_sweep_bad_input(name, tmp_path):
    argv, words = BAD[name]
    code, _, err = call(["sweep", *argv, *SMALL, "--out", tmp_path / "s", "--quiet"])
    assert code == 2, err
    assert words in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "s").exists()


def test_unreachable_scheduler(tmp_path, monkeypatch):
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    monkeypatch.setattr("cxsim.executors.CONNECT_TIMEOUT", 2.0)
    code, _, err = call(["sweep", "--param", "touchpoints.chat.quality=0.5,0.9", *SMALL,
                         "--scheduler", "tcp://127.0.0.1:9", "--out", tmp_path / "s",
                         "--quiet"])
    assert code == 2 and err.startswith("--scheduler: cannot reach tcp://127.0.0.1:9")
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("argv, words", [
    (["--design", "lhs", "--param", "touchpoints.chat.quality=uniform(0.5,0.9)"], "design"),
    (["--param", "touchpoints.chat.quality=0.5,0.8"], "parameters"),
    (["--reps", "3"], "replications: 2 there, 3 here"),
    (["--seed", "4"], "seed: 0 there, 4 here"),
    (["--customers", "2500"], "customers: 2000 there, 2500 here"),
    (["SCENARIO"], "scenario_hash"),
])
def test_resume_of_a_different_sweep(earlier_sweep, tmp_path, argv, words):
    out, _ = earlier_sweep
    if argv == ["SCENARIO"]:
        from conftest import minimal_dict  # noqa: F401 - a scenario of a different hash

        path = tmp_path / "other.toml"
        root = __import__("pathlib").Path(__file__).resolve().parent.parent
        path.write_text((root / "scenarios" / "retail.toml").read_text().replace(
            'name = "Omnichannel retailer"', 'name = "Another retailer"'))
        argv = [path]
    before = snapshot(out)
    code, _, err = call(["sweep", *argv, "--out", out, "--resume", "--quiet"])
    assert code == 2, err
    assert f"--resume: {out} holds a different sweep" in err and words in err
    assert len(err.strip().splitlines()) == 1
    assert snapshot(out) == before


def test_resume_of_a_folder_without_a_sweep(tmp_path):
    (tmp_path / "runs.csv").write_text("strategy,replicate\nbaseline,0\n")
    before = snapshot(tmp_path)
    code, _, err = call(["sweep", "--out", tmp_path, "--resume"])
    assert code == 2 and "holds no sweep" in err
    assert snapshot(tmp_path) == before


def test_sweep_into_an_existing_sweep_needs_resume(earlier_sweep):
    out, _ = earlier_sweep
    before = snapshot(out)
    code, _, err = call(["sweep", *GRID, "--reps", "2", *SMALL, "--out", out])
    assert code == 2 and "already holds a sweep; add --resume" in err
    assert snapshot(out) == before


def test_resume_with_no_options_uses_the_folder(earlier_sweep, tmp_path):
    out, _ = earlier_sweep
    import shutil

    copy = tmp_path / "c"
    shutil.copytree(out, copy)
    code, stdout, err = call(["sweep", "--out", copy, "--resume"])
    assert code == 0, err
    assert "nothing left to run: all 8 runs had finished earlier" in stdout


def test_resume_of_an_older_format(earlier_sweep, tmp_path):
    out, _ = earlier_sweep
    import shutil

    copy = tmp_path / "old"
    shutil.copytree(out, copy)
    meta = json.loads((copy / "sweep.json").read_text())
    meta["format"] = 0
    (copy / "sweep.json").write_text(json.dumps(meta))
    code, _, err = call(["sweep", "--out", copy, "--resume"])
    assert code == 2 and "not a sweep of this cxsim version's format" in err


def test_all_runs_failing_exits_1(tmp_path):
    # valid values of the field that fail as a whole: the segment shares no longer sum to 1
    code, _, err = call(["sweep", "--param", "segments.loyal.share=0.5,0.6", *SMALL,
                         "--out", tmp_path / "f", "--quiet", "--workers", "1"])
    assert code == 1
    assert "2 of 2 runs failed:" in err and "shares must sum to 1" in err


def test_some_runs_failing_exits_0_with_a_summary(tmp_path):
    code, _, err = call(["sweep", "--param", "segments.loyal.share=0.35,0.6", *SMALL,
                         "--out", tmp_path / "f", "--quiet", "--workers", "1"])
    assert code == 0
    assert err.startswith("1 of 2 runs failed:")


def test_sobol_from_the_command_line(tmp_path):
    pytest.importorskip("SALib", reason="the sensitivity extra is not installed")
    code, stdout, err = call(["sweep", "--design", "sobol", "--samples", "4",
                              "--param", "touchpoints.chat.quality=uniform(0.4,0.9)",
                              "--param", "segments.loyal.base_churn=uniform(0.005,0.02)",
                              *SMALL, "--out", tmp_path / "s", "--plot", "--workers", "1",
                              "--outcomes", "monthly_churn,nps"])
    assert code == 0, err
    assert "16 runs" in stdout and "most influential parameters" in stdout
    table = pd.read_csv(tmp_path / "s" / "sensitivity.csv")
    assert set(table["outcome"]) == {"monthly_churn", "nps"}
    assert (tmp_path / "s" / "sensitivity.png").exists()


def test_sobol_samples_not_a_power_of_two_gets_a_note(tmp_path):
    pytest.importorskip("SALib", reason="the sensitivity extra is not installed")
    code, _, err = call(["sweep", "--design", "sobol", "--samples", "3",
                         "--param", "touchpoints.chat.quality=uniform(0.4,0.9)",
                         *SMALL, "--out", tmp_path / "s", "--workers", "1"])
    assert code == 0 and "not a power of two" in err


def test_subprocess_bad_param_no_traceback(tmp_path):
    proc = cli_subprocess(["sweep", "--param", "teams.nope.headcount=1,2", "--out",
                           tmp_path / "s"], cwd=tmp_path, script=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("--param teams.nope.headcount=1,2: unknown parameter "
                                          "path 'teams.nope.headcount'")
    assert "Traceback" not in proc.stderr
