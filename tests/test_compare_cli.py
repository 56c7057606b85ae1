"""``cxsim compare`` as the other commands: every problem at once, ``A+B`` strategies,
``--set``, a journal of finished runs with ``--resume``, and an honest table.

Contract: bad input prints one line per problem (all of them), exits 2 and writes nothing;
``A+B`` is the strategy ``cxsim sweep --param strategy=A+B`` runs; ``--set`` values are
applied, printed and recorded in ``compare.json``; a comparison interrupted after k runs
keeps them (only ``resume.json`` and ``runs.jsonl`` in the folder, which does not read as a
finished comparison) and ``--resume`` ends with the files of an uninterrupted one; a resume
with other settings is refused in one line; fixed differences show no interval and no
significance mark, differences of percentages are in pp, extrapolated figures say so.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import call

import cxsim.executors
from cxsim.compare import (
    EXTRA_COLUMNS,
    TABLE_COLUMNS,
    check,
    comparison_table,
    format_comparison,
    read_comparison,
)
from cxsim.runner import resize
from cxsim.scenario import ScenarioError

C = importlib.import_module("cxsim.compare")

#: the strategies start within 5 days once --set moves them (the runs stay tiny)
MOVE = ["--set", "strategies.fix_courier.interventions.0.start=2",
        "--set", "strategies.train_contact_centre.interventions.0.start=1"]
TINY = ["--customers", "2000", "--days", "5", "--reps", "2", "--seed", "7", *MOVE]
STRATEGIES = ["--strategies", "fix_courier,train_contact_centre+fix_courier"]
TABLES = ("comparison.csv", "runs.csv", "ticks.csv", "roi.csv")


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def same_results(a: Path, b: Path) -> None:
    """Two finished comparisons hold the same tables and settings (not the timings)."""
    assert sorted(os.listdir(a)) == sorted(os.listdir(b))
    for name in TABLES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    ma, mb = (json.loads((f / "compare.json").read_text()) for f in (a, b))
    for key in ("wall_seconds", "executor", "workers"):
        ma.pop(key), mb.pop(key)
    assert ma == mb


@pytest.fixture(scope="module")
def whole(tmp_path_factory) -> dict:
    """An uninterrupted tiny comparison (A+B, --set)."""
    out = tmp_path_factory.mktemp("whole") / "c"
    code, stdout, stderr = call(["compare", *TINY, *STRATEGIES, "--workers", "1",
                                 "--out", out])
    assert code == 0, stderr
    return {"out": out, "stdout": stdout, "stderr": stderr}


# --------------------------------------------------------------------------------------------
# Every problem at once
# --------------------------------------------------------------------------------------------

BAD = ["--reps", "1", "--workers", "0", "--colour=red",
       "--strategies", "fix_courier,nope,self_service+nope2",
       "--set", "teams.contact_centre.headcount=-1", "--set", "foo.bar=2"]

EXPECTED = [
    r"^cxsim compare: argument --reps: --reps must be at least 2 \(intervals need two "
    r"replications\)$",
    r"^cxsim compare: argument --workers: --workers must be at least 1, got 0$",
    r"^cxsim compare: unrecognized arguments: --colour=red$",
    r"^--set foo\.bar=2: unknown parameter path 'foo\.bar'",
    r"^--set teams\.contact_centre\.headcount=-1: teams\.contact_centre\.headcount must be "
    r"in \[0, 100000\], got -1$",
    r"^strategies\.fix_courier: intervention 0 \(partner_sla\) starts at tick 30 \(day 30\), "
    r"beyond the horizon of 5 ticks \(5 days: a longer --days",
    r"^unknown strategy 'nope' \(known: ",
    r"^unknown strategy 'nope2' \(known: ",
    r"^strategies\.self_service: intervention 0 \(improve_touchpoint\) starts at tick 60 "
    r"\(day 60\), beyond the horizon of 5 ticks \(5 days",
]


def test_every_problem_is_reported_at_once_and_nothing_is_written(whole, tmp_path):
    earlier = tmp_path / "earlier"
    shutil.copytree(whole["out"], earlier)
    before = snapshot(earlier)
    for out in (earlier, tmp_path / "fresh"):
        code, stdout, err = call(["compare", "--customers", "2000", "--days", "5", *BAD,
                                  "--out", out])
        assert code == 2 and stdout == "" and "Traceback" not in err
        lines = err.splitlines()
        assert len(lines) == len(EXPECTED), err
        for pattern in EXPECTED:
            assert sum(bool(re.search(pattern, line)) for line in lines) == 1, (pattern, err)
    assert snapshot(earlier) == before
    assert not (tmp_path / "fresh").exists()


def test_a_typo_is_not_hidden_behind_a_horizon_problem(tmp_path):
    code, _, err = call(["compare", "--customers", "2000", "--days", "5", "--reps", "2",
                         "--strategies", "fix_courier,train_contact_centr",
                         "--out", tmp_path / "o"])
    assert code == 2
    assert err.splitlines()[0].startswith("strategies.fix_courier: intervention 0")
    assert "unknown strategy 'train_contact_centr'" in err.splitlines()[1]
    assert len(err.splitlines()) == 2 and not (tmp_path / "o").exists()


@pytest.mark.parametrize("size,late", [(["--customers", "3"], 1), (["--days", "2.5"], 0)])
def test_a_size_problem_does_not_hide_the_strategies_problems(size, late, tmp_path):
    """A refused --customers or --days is listed with an unknown strategy (and, when the
    horizon is known, a strategy starting after it)."""
    args = {"--customers": "2000", "--days": "5", size[0]: size[1]}
    code, _, err = call(["compare", *[x for kv in args.items() for x in kv], "--reps", "2",
                         "--strategies", "nope,fix_courier", "--out", tmp_path / "o"])
    lines = err.splitlines()
    assert code == 2 and not (tmp_path / "o").exists()
    assert sum(line.startswith(size[0] + " " + size[1]) for line in lines) == 1, err
    assert sum("unknown strategy 'nope'" in line for line in lines) == 1, err
    assert sum("fix_courier: intervention 0" in line for line in lines) == late, err


def test_check_lists_every_problem_and_prepare_raises_them_all():
    sc = resize(cxsim.default_scenario(), customers=2000, days=5)
    found = check(sc, ["fix_courier", "nope", ["self_service", "nope2"]], replications=1,
                  seed=-1)
    words = [str(p) for p in found]
    assert words[0].startswith("replications must be at least 2")
    assert words[1].startswith("seed must be at least 0")
    assert sum("unknown strategy" in w for w in words) == 2
    assert sum("beyond the horizon" in w for w in words) == 2
    with pytest.raises(ScenarioError) as exc:
        C.prepare(sc, ["fix_courier", "nope"], replications=2)
    assert len(exc.value.problems) == 2
    assert check(resize(sc, days=40), ["fix_courier"], replications=2) == []


# --------------------------------------------------------------------------------------------
# A+B and --set
# --------------------------------------------------------------------------------------------


def moved_scenario(folder: Path) -> Path:
    """The shipped retailer with the two strategies starting on days 2 and 1 (a file)."""
    root = Path(__file__).resolve().parent.parent
    text = (root / "scenarios" / "retail.toml").read_text(encoding="utf-8")
    for old, new in (('type = "partner_sla", target = "courier", start = 30',
                      'type = "partner_sla", target = "courier", start = 2'),
                     ('type = "train", target = "contact_centre", start = 30',
                      'type = "train", target = "contact_centre", start = 1')):
        assert text.count(old) == 1
        text = text.replace(old, new)
    path = folder / "moved.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_plus_b_is_the_combination_sweep_runs(whole, tmp_path):
    runs = pd.read_csv(whole["out"] / "runs.csv")
    both = runs[runs["strategy"] == "train_contact_centre+fix_courier"].sort_values(
        "replicate")
    assert len(both) == 2
    # the same scenario as a file: the same runs as with --set
    scenario = moved_scenario(tmp_path)
    code, _, err = call(["compare", scenario, *TINY[:8], *STRATEGIES, "--workers", "1",
                         "--quiet", "--out", tmp_path / "file"])
    assert code == 0, err
    assert (tmp_path / "file" / "runs.csv").read_bytes() == (
        whole["out"] / "runs.csv").read_bytes()
    sweep = tmp_path / "sweep"
    code, _, err = call(["sweep", scenario, "--param",
                         "strategy=train_contact_centre+fix_courier",
                         "--customers", "2000", "--days", "5", "--reps", "2", "--seed", "7",
                         "--format", "csv", "--workers", "1", "--quiet", "--out", sweep])
    assert code == 0, err
    swept = pd.read_csv(sweep / "runs.csv").sort_values("run_id")
    assert list(swept["seed"]) == list(both["seed"])
    for metric in ("active", "churned", "nps", "csat", "revenue", "profit",
                   "intervention_cost", "service_level"):
        assert list(swept[metric]) == list(both[metric]), metric
    # a combination costs what its parts cost together
    fix = runs[runs["strategy"] == "fix_courier"]["intervention_cost"].iloc[0]
    assert both["intervention_cost"].iloc[0] > fix > 0


def test_set_is_applied_printed_and_recorded(whole):
    assert whole["stdout"].splitlines()[0] == (
        "--set strategies.fix_courier.interventions.0.start=2, "
        "strategies.train_contact_centre.interventions.0.start=1")
    meta = json.loads((whole["out"] / "compare.json").read_text())
    assert meta["overrides"] == {"strategies.fix_courier.interventions.0.start": 2,
                                 "strategies.train_contact_centre.interventions.0.start": 1}
    assert meta["starts"]["fix_courier"] == [2]
    assert meta["starts"]["train_contact_centre+fix_courier"] == [1, 2]
    assert read_comparison(whole["out"]).overrides == meta["overrides"]


def test_set_changes_the_runs(tmp_path):
    argv = ["compare", "--customers", "2000", "--days", "5", "--reps", "2", *MOVE,
            "--strategies", "fix_courier", "--workers", "1", "--quiet"]
    assert call([*argv, "--out", tmp_path / "a"])[0] == 0
    assert call([*argv, "--set", "partners.courier.reliability=0.5",
                 "--out", tmp_path / "b"])[0] == 0
    a, b = (pd.read_csv(tmp_path / f / "runs.csv") for f in ("a", "b"))
    assert list(a["seed"]) == list(b["seed"])
    assert not np.array_equal(a["csat"].to_numpy(), b["csat"].to_numpy())


# --------------------------------------------------------------------------------------------
# The journal, Ctrl-C and --resume
# --------------------------------------------------------------------------------------------


def interrupt_after(monkeypatch, k: int) -> None:
    """Ctrl-C when the run after the k-th starts (in this process: --workers 1)."""
    real = cxsim.executors.execute
    calls = {"n": 0}

    def execute(spec, single_thread=False):
        calls["n"] += 1
        if calls["n"] > k:
            raise KeyboardInterrupt
        return real(spec, single_thread)

    monkeypatch.setattr(cxsim.executors, "execute", execute)


@pytest.mark.parametrize("k", [0, 4])
def test_interrupted_then_resumed_gives_the_uninterrupted_files(whole, tmp_path,
                                                                 monkeypatch, k):
    out = tmp_path / "c"
    argv = ["compare", *TINY, *STRATEGIES, "--workers", "1", "--out", out]
    with monkeypatch.context() as m:
        interrupt_after(m, k)
        code, stdout, err = call(argv)
    assert code == 130
    # (TINY's 2,000 customers leave the contact centre too few agents: cxsim warns first)
    err = "".join(line for line in err.splitlines(keepends=True)
                  if not line.startswith("warning: at --customers 2,000 teams."))
    assert err == (f"cxsim: interrupted: {k} of 6 runs finished and saved in {out}; "
                   f"continue with: cxsim compare --resume --out {out}\n")
    # the folder holds the journal, not a comparison that looks finished
    assert sorted(os.listdir(out)) == ["resume.json", "runs.jsonl"]
    assert len((out / "runs.jsonl").read_text().splitlines()) == k
    assert json.loads((out / "resume.json").read_text())["status"] == "interrupted"
    with pytest.raises(ValueError, match="not finished.*--resume"):
        read_comparison(out)
    # the same command again is refused: it would throw the finished runs away
    code, _, err = call(argv)
    assert code == 2 and "add --resume to continue it" in err and len(err.splitlines()) == 1
    # --resume alone takes the settings from the folder
    code, stdout, err = call(["compare", "--resume", "--workers", "1", "--out", out])
    assert code == 0, err
    assert f"{6 - k} runs in" in stdout
    same_results(whole["out"], out)


def test_resume_with_the_same_command_and_more_workers(whole, tmp_path, monkeypatch):
    out = tmp_path / "c"
    argv = ["compare", *TINY, *STRATEGIES, "--out", out]
    with monkeypatch.context() as m:
        interrupt_after(m, 3)
        assert call([*argv, "--workers", "1"])[0] == 130
    code, _, err = call([*argv, "--workers", "2", "--resume", "--quiet"])
    assert code == 0, err
    same_results(whole["out"], out)


RESUME_BAD = {
    "reps": (["--reps", "3"], r"holds a different comparison \(--reps 2 there, 3 here\)"),
    "seed": (["--seed", "8"], r"holds a different comparison \(--seed 7 there, 8 here\)"),
    "strategies": (["--strategies", "fix_courier"],
                   r"holds a different comparison \(strategies baseline, fix_courier, "
                   r"train_contact_centre\+fix_courier there, baseline, fix_courier here\)"),
    "scenario": (["--days", "6"], r"holds a different comparison \(another scenario"),
}


@pytest.mark.parametrize("name", sorted(RESUME_BAD))
def test_resume_with_other_settings_is_refused(tmp_path, monkeypatch, name):
    out = tmp_path / "c"
    argv = ["compare", *TINY, *STRATEGIES, "--workers", "1", "--out", out]
    with monkeypatch.context() as m:
        interrupt_after(m, 2)
        assert call(argv)[0] == 130
    before = snapshot(out)
    extra, pattern = RESUME_BAD[name]
    code, stdout, err = call([*argv, *extra, "--resume"])
    assert code == 2 and stdout == "" and len(err.splitlines()) == 1, err
    assert re.search(r"^--resume: .* " + pattern, err), err
    assert snapshot(out) == before


def test_resume_needs_a_comparison_in_progress(whole, tmp_path):
    code, _, err = call(["compare", "--resume", "--out", tmp_path / "none"])
    assert code == 2 and "holds no comparison in progress to resume" in err
    assert not (tmp_path / "none").exists()
    before = snapshot(whole["out"])
    code, _, err = call(["compare", "--resume", "--out", whole["out"]])
    assert code == 2 and "holds a finished comparison; nothing to resume" in err
    assert snapshot(whole["out"]) == before


def test_a_new_comparison_replaces_an_earlier_finished_one(whole, tmp_path):
    out = tmp_path / "c"
    shutil.copytree(whole["out"], out)
    code, _, err = call(["compare", *TINY, "--strategies", "fix_courier", "--workers", "1",
                         "--quiet", "--out", out])
    assert code == 0, err
    assert sorted(os.listdir(out)) == sorted(TABLES + ("compare.json",))
    assert list(dict.fromkeys(pd.read_csv(out / "comparison.csv")["strategy"])) == [
        "baseline", "fix_courier"]


def test_an_earlier_comparison_stays_until_the_new_one_is_complete(whole, tmp_path,
                                                                      monkeypatch):
    out = tmp_path / "c"
    shutil.copytree(whole["out"], out)
    before = snapshot(out)
    argv = ["compare", *TINY, "--strategies", "fix_courier", "--seed", "9", "--workers", "1",
            "--out", out]
    with monkeypatch.context() as m:
        interrupt_after(m, 1)
        assert call(argv)[0] == 130
    # the earlier files as they were, beside the journal; nothing reads the folder as done
    assert {k: v for k, v in snapshot(out).items()
            if k not in ("resume.json", "runs.jsonl")} == before
    with pytest.raises(ValueError, match="not finished"):
        read_comparison(out)
    code, _, err = call(["plot", out])
    assert code == 2 and "not finished" in err and "--resume" in err
    code, _, err = call([*argv, "--resume", "--quiet"])
    assert code == 0, err
    assert sorted(os.listdir(out)) == sorted(TABLES + ("compare.json",))
    assert json.loads((out / "compare.json").read_text())["seed"] == 9


def test_library_resume_and_a_damaged_journal_line(tmp_path, monkeypatch):
    sc = resize(cxsim.default_scenario(), customers=2000, days=40)
    kw = {"strategies": ["fix_courier"], "replications": 2, "seed": 3, "workers": 1}
    full = C.compare(sc, **kw)
    out = tmp_path / "c"
    with monkeypatch.context() as m:
        interrupt_after(m, 3)
        with pytest.raises(C.ComparisonInterrupted) as exc:
            C.compare(sc, **kw, out=out)
    assert (exc.value.saved, exc.value.total) == (3, 4)
    lines = (out / "runs.jsonl").read_text().splitlines()
    (out / "runs.jsonl").write_text(lines[0] + "\n" + "{not json\n" + lines[2] + "\n"
                                    + lines[1][:40])  # a damaged line and a torn one
    back = C.compare(sc, **kw, out=out, resume=True)
    assert back.ran == 2
    pd.testing.assert_frame_equal(back.table, full.table, check_exact=True)
    pd.testing.assert_frame_equal(back.runs, full.runs, check_exact=True)
    pd.testing.assert_frame_equal(back.ticks, full.ticks, check_exact=True)


# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------


def test_table_columns_are_kept_and_flags_added(whole):
    table = pd.read_csv(whole["out"] / "comparison.csv")
    assert list(table.columns) == [*TABLE_COLUMNS, "n", "se", "diff_n", "diff_se",
                                   *EXTRA_COLUMNS]
    cost = table[(table["metric"] == "intervention_cost") & (table["strategy"] != "baseline")]
    assert cost["fixed"].all()
    rows = table.set_index(["strategy", "metric"])
    assert rows.loc[("fix_courier", "monthly_churn"), "extrapolated"]
    assert rows.loc[("fix_courier", "annual_retention"), "extrapolated"]
    assert not rows.loc[("fix_courier", "churn_rate"), "extrapolated"]
    assert rows.loc[("fix_courier", "monthly_churn"), "diff_unit"] == "percentage points"
    assert rows.loc[("fix_courier", "monthly_churn"), "scale"] == 100.0
    assert rows.loc[("fix_courier", "profit"), "scale"] == 1.0


def test_printed_table_wording(whole):
    text = whole["stdout"]
    lines = text.splitlines()
    cost = [ln for ln in lines if re.match(r"\s+fix_courier\s+intervention_cost\s", ln)]
    assert len(cost) == 1
    assert "none: fixed" in cost[0] and "*" not in cost[0] and "[" not in cost[0]
    churn = [ln for ln in lines if re.match(r"\s+fix_courier\s+monthly_churn †", ln)]
    assert len(churn) == 1 and " pp" in churn[0]
    assert not re.search(r"[+-]\d+\.\d+%", churn[0].split("%", 1)[1])  # no % difference
    assert "differences of percentages in pp (percentage points)" in lines[1]
    assert any(ln.startswith("  † monthly_churn: the churn rate of 5-day runs compounded "
                             "to 30.4 days, an extrapolation") for ln in lines)
    assert "annual_retention as extrapolated" in text


def test_fixed_and_extrapolated_on_hand_built_runs():
    runs = pd.DataFrame({
        "strategy": ["baseline"] * 3 + ["s"] * 3, "replicate": [0, 1, 2] * 2,
        "intervention_cost": [0.0, 0.0, 0.0, 50.0, 50.0, 50.0],
        "profit": [10.0, 12.0, 15.0, 5.0, 7.0, 10.0],    # the cost and nothing else
        "churned": [3.0, 5.0, 4.0, 2.0, 5.0, 3.0],
        "monthly_churn": [0.02, 0.03, 0.025, 0.018, 0.03, 0.02],
        "annual_retention": [0.7, 0.6, 0.65, 0.72, 0.6, 0.7]})
    metrics = ["intervention_cost", "profit", "churned", "monthly_churn", "annual_retention"]
    short = comparison_table(runs, metrics=metrics, days=20).set_index(["strategy", "metric"])
    assert short.loc[("s", "intervention_cost"), "fixed"]
    assert short.loc[("s", "profit"), "fixed"]          # the same difference every time
    assert not short.loc[("s", "churned"), "fixed"]
    assert short.loc[("baseline", "intervention_cost"), "fixed"]
    assert not short.loc[("baseline", "profit"), "fixed"]
    assert short.loc[("s", "monthly_churn"), "extrapolated"]
    assert short.loc[("s", "annual_retention"), "extrapolated"]
    mid = comparison_table(runs, metrics=metrics, days=90).set_index(["strategy", "metric"])
    assert not mid.loc[("s", "monthly_churn"), "extrapolated"]
    assert mid.loc[("s", "annual_retention"), "extrapolated"]
    year = comparison_table(runs, metrics=metrics, days=365).set_index(["strategy", "metric"])
    assert not year["extrapolated"].any()
    assert not comparison_table(runs, metrics=metrics)["extrapolated"].any()  # days unknown
    d = short.loc[("s", "profit")]
    assert (d["diff"], d["diff_ci_low"], d["diff_ci_high"]) == (-5.0, -5.0, -5.0)
    assert math.isfinite(d["diff_se"]) and d["diff_se"] == 0


def test_format_of_a_result_read_back_matches(whole):
    text = format_comparison(read_comparison(whole["out"]))
    printed = whole["stdout"].splitlines()
    assert text.splitlines() == printed[1:1 + len(text.splitlines())]


def test_help_names_the_new_flags():
    code, out, _ = call(["compare", "--help"])
    assert code == 0
    text = " ".join(out.split())
    for words in ("--set PATH=VALUE", "--resume", "A+B is one strategy", "percentage points",
                  "extrapolated", "runs.jsonl", "Every problem of the input is reported at "
                  "once"):
        assert words in text, words


def test_resume_under_a_posterior(tmp_path, monkeypatch):
    from cxsim.calibrate import Posterior

    post = Posterior(samples=pd.DataFrame({"segments.loyal.base_churn": [0.01, 0.02, 0.03]}),
                     weights=np.array([1.0, 2.0, 1.0]),
                     estimate={"segments.loyal.base_churn": 0.02}, source="hand-made")
    sc = resize(cxsim.default_scenario(), days=40)
    kw = {"strategies": ["fix_courier"], "replications": 2, "seed": 4, "workers": 1,
          "customers": 2000, "posterior": post}
    full = C.compare(sc, **kw)
    with monkeypatch.context() as m:
        interrupt_after(m, 3)  # draws and point-estimate runs alike are journalled
        with pytest.raises(C.ComparisonInterrupted):
            C.compare(sc, **kw, out=tmp_path / "c")
    back = C.compare(sc, **kw, out=tmp_path / "c", resume=True)
    assert back.ran == 5
    for a, b in ((back.table, full.table), (back.runs, full.runs), (back.roi, full.roi)):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    other = Posterior(samples=post.samples, weights=post.weights,
                      estimate={"segments.loyal.base_churn": 0.025}, source="hand-made")
    with monkeypatch.context() as m:
        interrupt_after(m, 1)
        with pytest.raises(C.ComparisonInterrupted):
            C.compare(sc, **kw, out=tmp_path / "d")
    with pytest.raises(ValueError, match="another posterior"):
        C.compare(sc, **{**kw, "posterior": other}, out=tmp_path / "d", resume=True)


@pytest.mark.slow
def test_ctrl_c_of_a_real_process_then_resume(tmp_path):
    """SIGINT to ``cxsim compare`` (a pool of two workers): exit 130, the finished runs kept,
    and --resume ends with the files of an uninterrupted comparison."""
    import signal
    import subprocess
    import sys
    import time

    from conftest import subprocess_env

    argv = ["compare", "--customers", "20000", "--days", "30", "--reps", "6", "--seed", "7",
            *MOVE, *STRATEGIES, "--workers", "2"]
    out = tmp_path / "c"
    proc = subprocess.Popen([sys.executable, "-m", "cxsim.cli", *map(str, argv), "--out",
                             str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=subprocess_env(), cwd=tmp_path)
    journal = out / "runs.jsonl"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.is_file() and len(journal.read_bytes().splitlines()) >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "continue with: cxsim compare --resume --out" in err
    saved = len(journal.read_bytes().splitlines())
    assert 2 <= saved < 18 and sorted(os.listdir(out)) == ["resume.json", "runs.jsonl"]
    code, stdout, err = call(["compare", "--resume", "--workers", "2", "--out", out])
    assert code == 0, err
    assert f"; {saved} had finished before the interruption" in stdout
    code, _, err = call([*argv, "--quiet", "--out", tmp_path / "whole"])
    assert code == 0, err
    same_results(tmp_path / "whole", out)


def test_a_combined_strategys_row_is_reproduced_by_cxsim_run(tmp_path):
    """runs.csv's row of `a+b` is what `cxsim run --strategy a+b --seed S` gives."""
    both = "fix_courier+recover_detractors"
    size = ["--customers", "2000", "--days", "35"]
    code, _, err = call(["compare", *size, "--reps", "2", "--strategies", both,
                         "--workers", "1", "--quiet", "--out", tmp_path / "c"])
    assert code == 0, err
    runs = pd.read_csv(tmp_path / "c" / "runs.csv")
    row = runs[runs.strategy == both].iloc[1]
    code, _, err = call(["run", *size, "--strategy", both, "--seed", int(row.seed), "--quiet",
                         "--out", tmp_path / "r"])
    assert code == 0, err
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["strategy"] == both
    assert [i["type"] for i in summary["interventions"]] == ["partner_sla", "service_recovery"]
    for metric in ("profit", "churned", "nps", "intervention_cost"):
        assert summary[metric] == pytest.approx(row[metric], rel=1e-12, abs=1e-9), metric
