"""Parameter sweeps (:mod:`cxsim.sweep`): rows, seeds, executors, failures, resume."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import minimal_scenario, snapshot, subprocess_env
from hypothesis import given, settings
from hypothesis import strategies as st

import cxsim
from cxsim.params import ParamError
from cxsim.rng import replicate_seeds
from cxsim.runner import build_scenario, resize, run
from cxsim.sweep import (
    format_failures,
    read_provenance,
    read_runs,
    stored_plan,
    sweep,
)

# ``cxsim.sweep`` is the function; the module is reached through importlib
sweep_module = importlib.import_module("cxsim.sweep")

GRID = {"teams.cc.headcount": "2,6", "touchpoints.web.quality": "0.6,0.9"}


@pytest.fixture(scope="module")
def scenario() -> cxsim.Scenario:
    return minimal_scenario()


@pytest.fixture(scope="module")
def grid_result(scenario, tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "grid"
    return sweep(scenario, GRID, replications=2, seed=5, out=out, workers=1, ticks=True)


def same_rows(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


# ---- rows and seeds ----------------------------------------------------------------------------


def test_one_row_per_run_with_seed_and_replicate(grid_result):
    runs = grid_result.runs
    assert len(runs) == 4 * 2
    assert list(runs["run_id"]) == list(range(8))
    assert list(runs["point"]) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert list(runs["replicate"]) == [0, 1] * 4
    assert list(runs["seed"]) == replicate_seeds(5, 2) * 4
    assert list(runs.columns[:9]) == ["run_id", "point", "replicate", "seed",
                                      "teams.cc.headcount", "touchpoints.web.quality",
                                      "strategy", "status", "error"]
    assert list(runs["teams.cc.headcount"]) == [2, 2, 2, 2, 6, 6, 6, 6]
    assert list(runs["touchpoints.web.quality"]) == [0.6, 0.6, 0.9, 0.9] * 2
    assert set(runs["status"]) == {"done"} and set(runs["strategy"]) == {"baseline"}
    for metric in ("active", "churned", "monthly_churn", "nps", "profit", "service_level"):
        assert runs[metric].notna().all()


def test_parameters_take_effect(grid_result):
    means = grid_result.means("asa").set_index(["teams.cc.headcount",
                                                "touchpoints.web.quality"])["asa"]
    assert means[(2, 0.6)] > means[(6, 0.6)]  # fewer agents, longer waits
    sat = grid_result.means("satisfaction").set_index("touchpoints.web.quality")["satisfaction"]
    assert sat[0.9].mean() > sat[0.6].mean()


def test_every_row_replays(grid_result, scenario):
    plan = grid_result.plan
    for _, row in grid_result.runs.iloc[[0, 5]].iterrows():
        point = plan.design.points[row["point"]]
        again = run(build_scenario(scenario.to_dict(), point), int(row["seed"])).summary
        for key, value in again.items():
            if key in row.index and key not in ("scenario",):
                assert value == row[key] or (pd.isna(value) and pd.isna(row[key])), key


def test_ticks_table(grid_result):
    t = grid_result.ticks
    assert len(t) == 8 * 30
    assert list(t.columns[:4]) == ["run_id", "point", "replicate", "tick"]
    last = t[t["tick"] == 30].set_index("run_id")["active"]
    assert list(last) == list(grid_result.runs["active"])


def test_strategies_are_parameters(tmp_path):
    sc = resize(cxsim.default_scenario(), customers=3000, days=60)
    res = sweep(sc, {"strategy": "baseline,fix_courier"}, replications=2, seed=1, workers=1)
    runs = res.runs.set_index(["strategy", "replicate"])
    assert list(res.runs["strategy"]) == ["baseline", "baseline", "fix_courier", "fix_courier"]
    for r in range(2):
        assert runs.loc[("fix_courier", r), "partner_on_time"] > \
            runs.loc[("baseline", r), "partner_on_time"]
        assert runs.loc[("fix_courier", r), "intervention_cost"] > 0
    fixed = sweep(sc, {"touchpoints.chat.quality": "0.7"}, strategy="fix_courier", seed=1,
                  replications=2, workers=1)
    assert set(fixed.runs["strategy"]) == {"fix_courier"}
    assert list(fixed.runs["partner_on_time"]) == list(runs.loc["fix_courier",
                                                                "partner_on_time"])


def test_strategy_definitions_are_parameters():
    sc = resize(cxsim.default_scenario(), customers=3000, days=60)
    res = sweep(sc, {"strategies.fix_courier.interventions.0.amount": "0.01,0.04"},
                strategy="fix_courier", seed=2, workers=1)
    small, large = res.runs["partner_on_time"]
    assert large > small


# ---- executors ---------------------------------------------------------------------------------


def test_serial_processes_and_dask_agree(scenario):
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    from distributed import Client, LocalCluster

    args = (scenario, GRID)
    kw = {"replications": 2, "seed": 9}
    serial = sweep(*args, **kw, executor="serial").runs
    procs = sweep(*args, **kw, workers=2).runs
    local = sweep(*args, **kw, scheduler="local", workers=2).runs
    same_rows(serial, procs)
    same_rows(serial, local)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        remote = sweep(*args, **kw, scheduler=cluster.scheduler_address).runs
        with Client(cluster) as client:
            via_executor = sweep(*args, **kw, executor=client.get_executor(pure=False)).runs
    same_rows(serial, remote)
    same_rows(serial, via_executor)


def _stamp(_task):
    return time.perf_counter_ns(), os.getpid()


def test_dask_does_not_merge_identical_tasks():
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    from cxsim.executors import dask_executor

    with dask_executor("local", workers=1) as (ex, slots):
        assert slots == 1
        a = ex.submit(_stamp, ("same",)).result()
        b = ex.submit(_stamp, ("same",)).result()
    assert a != b  # two stochastic tasks with equal arguments ran twice


def test_unreachable_scheduler_is_bad_input(scenario, tmp_path, monkeypatch):
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    from cxsim.executors import ExecutorError

    monkeypatch.setattr("cxsim.executors.CONNECT_TIMEOUT", 2.0)
    with pytest.raises(ExecutorError, match="cannot reach tcp://127.0.0.1:9"):
        sweep(scenario, GRID, scheduler="tcp://127.0.0.1:9", out=tmp_path / "x")
    assert not (tmp_path / "x").exists()
    with pytest.raises(ExecutorError, match="must be 'local' or an address"):
        sweep(scenario, GRID, scheduler="somewhere")


# ---- failures ----------------------------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_run_is_recorded_and_the_rest_complete(scenario, workers):
    # each share is a valid value of the field; 0.5 fails only as a whole (shares sum to 1)
    res = sweep(scenario, {"segments.all.share": "1,0.5,0.9999999"}, replications=2,
                workers=workers)
    runs = res.runs
    assert list(runs["status"]) == ["done", "done", "failed", "failed", "done", "done"]
    failed = res.failed
    assert list(failed["segments.all.share"]) == [0.5, 0.5]
    assert set(failed["error"]) == {"segments: shares must sum to 1, got 0.5"}
    assert failed["active"].isna().all() and runs.loc[runs.status == "done", "active"].gt(0).all()
    text = format_failures(runs)
    assert text.startswith("2 of 6 runs failed:") and "run_id 2, 3" in text


def test_a_raising_run_is_recorded(scenario, monkeypatch):
    import cxsim.runner

    calls = {"n": 0}
    real = cxsim.runner.run

    def flaky(sc, seed, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk on fire\nsecond line")
        return real(sc, seed, **kw)

    monkeypatch.setattr(cxsim.runner, "run", flaky)
    res = sweep(scenario, {"touchpoints.web.quality": "0.6,0.7,0.8"}, workers=1)
    assert list(res.runs["status"]) == ["done", "failed", "done"]
    assert res.runs.loc[1, "error"] == "RuntimeError: disk on fire"


# ---- the results folder ----------------------------------------------------------------------


def test_results_folder(grid_result, scenario):
    out = grid_result.out
    names = {p.name for p in out.iterdir()}
    assert {"sweep.json", "journal.jsonl", "runs.parquet", "ticks.parquet"} <= names
    meta = json.loads((out / "sweep.json").read_text())
    assert meta["status"] == "complete" and meta["done"] == 8 and meta["failed"] == 0
    fp = meta["fingerprint"]
    assert fp["scenario_hash"] == scenario.content_hash()
    assert fp["design"] == "grid" and fp["seed"] == 5 and fp["replications"] == 2
    assert fp["cxsim_version"] == cxsim.__version__
    assert meta["seeds"] == replicate_seeds(5, 2)
    assert len(meta["design_points"]) == 4
    assert cxsim.Scenario.from_dict(meta["scenario"]).content_hash() == \
        scenario.content_hash()
    assert len((out / "journal.jsonl").read_text().splitlines()) == 8
    same_rows(read_runs(out), grid_result.runs)
    import pyarrow.parquet as pq

    stored = json.loads(pq.read_schema(out / "runs.parquet").metadata[b"cxsim"])
    assert stored["fingerprint"] == fp


def test_stored_plan_rebuilds_the_sweep(grid_result):
    plan = stored_plan(grid_result.out)
    assert plan.fingerprint() == grid_result.plan.fingerprint()
    assert plan.design.points == grid_result.plan.design.points


def test_csv_without_pyarrow(scenario, tmp_path, monkeypatch, grid_result):
    monkeypatch.setattr(sweep_module, "_pyarrow_available", lambda: False)
    res = sweep(scenario, GRID, replications=2, seed=5, out=tmp_path / "c", workers=1)
    assert (tmp_path / "c" / "runs.csv").exists()
    assert not (tmp_path / "c" / "runs.parquet").exists()
    back = read_runs(tmp_path / "c")
    pd.testing.assert_frame_equal(back, grid_result.runs, check_dtype=False)
    same_rows(res.runs, grid_result.runs)
    with pytest.raises(ParamError, match="needs pyarrow"):
        sweep(scenario, GRID, fmt="parquet")


def test_in_memory_sweep_writes_nothing(scenario, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = sweep(scenario, {"touchpoints.web.quality": "0.7"}, workers=1)
    assert res.out is None and len(res.runs) == 1 and not list(tmp_path.iterdir())
    with pytest.raises(ParamError, match="needs the results folder"):
        sweep(scenario, {"touchpoints.web.quality": "0.7"}, resume=True)


def test_a_folder_with_a_sweep_is_not_overwritten(grid_result, scenario):
    before = snapshot(grid_result.out)
    with pytest.raises(ParamError, match=r"already holds a sweep; add resume=True"):
        sweep(scenario, GRID, replications=2, seed=5, out=grid_result.out)
    assert snapshot(grid_result.out) == before


@pytest.mark.parametrize("name", ["runs.csv", "runs.parquet", "journal.jsonl"])
def test_a_folder_with_other_results_is_not_overwritten(scenario, tmp_path, name):
    (tmp_path / name).write_text("earlier results\n")
    with pytest.raises(ParamError, match=f"already holds {name}"):
        sweep(scenario, GRID, out=tmp_path)
    assert (tmp_path / name).read_text() == "earlier results\n"


def test_sobol_sweep_writes_sensitivity(scenario, tmp_path):
    pytest.importorskip("SALib", reason="the sensitivity extra is not installed")
    params = {"touchpoints.web.quality": "uniform(0.5,0.95)",
              "segments.all.base_churn": "uniform(0.005,0.04)"}
    res = sweep(scenario, params, design="sobol", samples=8, out=tmp_path / "s",
                outcomes=["monthly_churn", "satisfaction"])
    assert len(res.runs) == 8 * (2 + 2)
    table = pd.read_csv(tmp_path / "s" / "sensitivity.csv")
    assert list(table.columns) == ["outcome", "parameter", "S1", "S1_ci_low", "S1_ci_high",
                                   "ST", "ST_ci_low", "ST_ci_high", "note"]
    assert len(table) == 4
    st = table.set_index(["outcome", "parameter"])["ST"]
    # churn is driven by the base churn rate, satisfaction by the web touchpoint's quality
    assert st[("monthly_churn", "segments.all.base_churn")] > \
        st[("monthly_churn", "touchpoints.web.quality")]
    assert st[("satisfaction", "touchpoints.web.quality")] > \
        st[("satisfaction", "segments.all.base_churn")]


def test_morris_sweep(scenario):
    pytest.importorskip("SALib", reason="the sensitivity extra is not installed")
    res = sweep(scenario, {"touchpoints.web.quality": "uniform(0.5,0.95)",
                           "teams.cc.headcount": "int(2,8)"},
                design="morris", samples=3, outcomes=["satisfaction"])
    assert len(res.runs) == 3 * 3
    assert set(res.sensitivity.columns) >= {"mu", "mu_star", "sigma"}


def test_progress_bar(scenario, capsys):
    sweep(scenario, {"touchpoints.web.quality": "0.6,0.7"}, workers=1, progress=True)
    err = capsys.readouterr().err
    assert "cxsim sweep" in err and "2/2" in err


# ---- resume --------------------------------------------------------------------------------


def _cut_journal(folder: Path, keep: int, torn: bool = True) -> None:
    j = folder / "journal.jsonl"
    lines = j.read_text().splitlines(keepends=True)
    text = "".join(lines[:keep]) + (lines[keep][: len(lines[keep]) // 2] if torn else "")
    j.write_text(text)
    for name in ("runs.parquet", "runs.csv"):
        (folder / name).unlink(missing_ok=True)


def test_resume_after_a_torn_journal_gives_the_uninterrupted_rows(grid_result, scenario,
                                                                  tmp_path):
    part = tmp_path / "part"
    shutil.copytree(grid_result.out, part)
    _cut_journal(part, 3)
    res = sweep(scenario, GRID, replications=2, seed=5, out=part, workers=2, ticks=True,
                resume=True)
    assert res.ran == 5
    same_rows(res.runs, grid_result.runs)
    same_rows(read_runs(part), read_runs(grid_result.out))
    same_rows(pd.read_parquet(part / "ticks.parquet"),
              pd.read_parquet(grid_result.out / "ticks.parquet"))
    # the torn line was cut before appending: every line parses, one per run
    lines = (part / "journal.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["run_id"] for line in lines) == list(range(8))
    assert read_provenance(part)["status"] == "complete"


def test_resume_reruns_failed_runs(scenario, tmp_path):
    params = {"segments.all.share": "1,0.5"}  # 0.5: the shares do not sum to 1
    full = sweep(scenario, params, out=tmp_path / "a", workers=1)
    again = sweep(scenario, params, out=tmp_path / "a", workers=1, resume=True)
    assert again.ran == 1  # the failed run runs again (it fails again)
    same_rows(again.runs, full.runs)


def test_resume_of_a_complete_sweep_runs_nothing(grid_result, scenario, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(grid_result.out, copy)
    res = sweep(scenario, GRID, replications=2, seed=5, out=copy, workers=1, ticks=True,
                resume=True)
    assert res.ran == 0
    same_rows(res.runs, grid_result.runs)


@pytest.mark.parametrize("change, words", [
    ({"seed": 6}, "seed: 5 there, 6 here"),
    ({"replications": 3}, "replications: 2 there, 3 here"),
    ({"params": {"teams.cc.headcount": "2,6,8", "touchpoints.web.quality": "0.6,0.9"}},
     "parameters"),
    ({"design": "lhs", "params": {"teams.cc.headcount": "int(2,6)"}}, "design"),
    ({"customers": 1500}, "customers"),
    ({"ticks": False}, "ticks"),
    ({"scenario": "edited"}, "scenario_hash"),
])
def test_resume_refuses_a_different_sweep(grid_result, scenario, tmp_path, change, words):
    folder = tmp_path / "g"
    shutil.copytree(grid_result.out, folder)
    before = snapshot(folder)
    kw = {"params": GRID, "replications": 2, "seed": 5, "ticks": True}
    kw.update(change)
    sc = scenario
    if kw.pop("scenario", None) == "edited":
        sc = scenario.with_changes(name="edited")
    with pytest.raises(ParamError, match=words) as err:
        sweep(sc, kw.pop("params"), out=folder, resume=True, workers=1, **kw)
    assert str(err.value).startswith(f"resume: {folder} holds a different sweep")
    assert snapshot(folder) == before


def test_too_small_a_market_is_refused_before_running(scenario):
    with pytest.raises(ParamError, match=r"^customers=1 is too small for .* at least \d+$"):
        sweep(scenario, GRID, customers=1)


def test_resume_needs_a_sweep(scenario, tmp_path):
    with pytest.raises(ParamError, match="holds no sweep to resume"):
        sweep(scenario, GRID, out=tmp_path, resume=True)


# ---- a real process, killed ------------------------------------------------------------------

KILL_ARGS = ["sweep", "--param", "touchpoints.chat.quality=0.4:0.9:6", "--param",
             "strategy=baseline,fix_courier", "--reps", "2", "--customers", "20000",
             "--days", "120", "--ticks", "--quiet"]


def _start(out: Path, workers: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cxsim.cli", *KILL_ARGS, "--out", str(out),
                             "--workers", str(workers)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=subprocess_env(), start_new_session=True)


def _wait_for_lines(out: Path, n: int, proc: subprocess.Popen, limit: float = 240) -> int:
    journal = out / "journal.jsonl"
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        if journal.exists():
            k = journal.read_text().count("\n")
            if k >= n:
                return k
        if proc.poll() is not None:
            pytest.fail(f"the sweep ended before it was interrupted: {proc.stderr.read()}")
        time.sleep(0.05)
    pytest.fail("the sweep made no progress")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("kill") / "ref"
    proc = subprocess.run([sys.executable, "-m", "cxsim.cli", *KILL_ARGS, "--out", str(out),
                           "--workers", "1"], capture_output=True, text=True,
                          env=subprocess_env(), timeout=600)
    assert proc.returncode == 0, proc.stderr
    return out


def _assert_same_results(a: Path, b: Path) -> None:
    same_rows(read_runs(a), read_runs(b))
    same_rows(pd.read_parquet(a / "ticks.parquet"), pd.read_parquet(b / "ticks.parquet"))
    assert read_provenance(a)["status"] == "complete"


def _resume(out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cxsim.cli", "sweep", "--out", str(out),
                           "--resume", "--workers", "2"], capture_output=True, text=True,
                          env=subprocess_env(), timeout=600)


def test_killed_sweep_resumes_to_the_uninterrupted_rows(uninterrupted, tmp_path):
    out = tmp_path / "killed"
    proc = _start(out, workers=2)
    done = _wait_for_lines(out, 4, proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    lines = (out / "journal.jsonl").read_text().count("\n")
    assert done <= lines < 24, "the sweep was not interrupted mid-way"
    assert read_provenance(out)["status"] == "running"
    res = _resume(out)
    assert res.returncode == 0, res.stderr
    _assert_same_results(out, uninterrupted)
    ids = [json.loads(x)["run_id"] for x in (out / "journal.jsonl").read_text().splitlines()]
    assert sorted(ids) == list(range(24))  # no run lost, none run twice


def test_ctrl_c_saves_and_resumes(uninterrupted, tmp_path):
    out = tmp_path / "interrupted"
    proc = _start(out, workers=1)
    _wait_for_lines(out, 3, proc)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "runs finished and saved; continue with --resume" in err
    meta = read_provenance(out)
    assert meta["status"] == "interrupted" and 3 <= meta["done"] < 24
    assert len(read_runs(out)) == meta["done"]
    res = _resume(out)
    assert res.returncode == 0, res.stderr
    _assert_same_results(out, uninterrupted)


@settings(max_examples=40, deadline=None)
@given(customers=st.integers(50, 2_000_000), days=st.floats(0.01, 2000))
def test_resizing_keeps_a_valid_scenario_valid(customers, days):
    sc = resize(cxsim.default_scenario(), customers=customers, days=days)
    assert sc.validated().to_dict() == sc.to_dict()


# ---- a folder that cannot be written ---------------------------------------------------------


@pytest.mark.parametrize("fail_at", [0, 2, 5])
def test_a_full_disk_stops_the_sweep_and_resume_finishes_it(grid_result, scenario, tmp_path,
                                                            monkeypatch, fail_at):
    import errno

    real = sweep_module.Journal.append
    calls = {"n": 0}

    def append(self, record):
        if calls["n"] == fail_at:
            raise OSError(errno.ENOSPC, "No space left on device")
        calls["n"] += 1
        real(self, record)

    monkeypatch.setattr(sweep_module.Journal, "append", append)
    out = tmp_path / "s"
    with pytest.raises(sweep_module.SweepStopped) as err:
        sweep(scenario, GRID, replications=2, seed=5, out=out, workers=1, ticks=True)
    assert str(err.value) == (f"out: cannot write {out} (No space left on device): {fail_at} "
                              "of 8 runs finished and saved; continue with resume=True")
    assert err.value.errno == errno.ENOSPC
    journal = out / "journal.jsonl"
    assert (journal.read_text().count("\n") if journal.exists() else 0) == fail_at
    assert read_provenance(out)["status"] == "stopped"
    monkeypatch.setattr(sweep_module.Journal, "append", real)
    res = sweep(scenario, GRID, replications=2, seed=5, out=out, workers=1, ticks=True,
                resume=True)
    assert res.ran == 8 - fail_at
    same_rows(read_runs(out), grid_result.runs)


def test_a_sweep_holds_its_folder(grid_result, scenario, tmp_path):
    from cxsim.io import FolderError, folder_lock

    folder = tmp_path / "g"
    shutil.copytree(grid_result.out, folder)
    with folder_lock(folder), pytest.raises(FolderError, match="in use by another cxsim"):
        sweep(scenario, GRID, replications=2, seed=5, out=folder, ticks=True, resume=True)
