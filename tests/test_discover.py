"""Scenario discovery (:mod:`cxsim.discover`): the condition, PRIM, CART, feature scores,
paired differences of a sweep, the EMA Workbench export, the folder and the command line."""

from __future__ import annotations

import argparse
import hashlib
import importlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile

import numpy as np
import pandas as pd
import pytest
from conftest import call, minimal_scenario, snapshot
from hypothesis import given, settings
from hypothesis import strategies as st

import cxsim.cli as cli
from cxsim.discover import (
    DiscoveryError,
    discover,
    parse_where,
    prim,
    save_ema,
    to_ema,
    write_discovery,
)
from cxsim.discover_cli import add_parser
from cxsim.errors import InputError
from cxsim.io import FolderError, check_contents
from cxsim.params import ParamError
from cxsim.runner import resize
from cxsim.scenario import default_scenario
from cxsim.sweep import paired_differences, sweep

sweep_module = importlib.import_module("cxsim.sweep")

PLANTED = ((0.6, 1.0), (0.0, 0.3))


def sklearn_or_skip():
    return pytest.importorskip("sklearn", reason="the discover extra (scikit-learn)")


@pytest.fixture(scope="module")
def planted() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Inputs uniform on [0,1]^3; true inside [0.6,1]×[0,0.3] with 5 % of labels flipped."""
    rng = np.random.default_rng(7)
    x = rng.uniform(size=(2000, 3))
    truth = (x[:, 0] >= 0.6) & (x[:, 1] <= 0.3)
    y = truth ^ (rng.uniform(size=2000) < 0.05)
    table = pd.DataFrame({"a.x": x[:, 0], "b.y": x[:, 1], "c.z": x[:, 2],
                          "profit": np.where(y, -100.0, 100.0) + rng.normal(0, 1, 2000)})
    return table, y, truth


@pytest.fixture(scope="module")
def courier_sweep(tmp_path_factory):
    """strategy=baseline,fix_courier × partners.courier.reliability=0.85,0.95 × 2 replicates."""
    out = tmp_path_factory.mktemp("discover") / "sweep"
    sc = resize(default_scenario(), customers=1500, days=30)
    return sweep(sc, {"strategy": "baseline,fix_courier",
                      "partners.courier.reliability": "0.85,0.95"},
                 replications=2, seed=3, out=out, workers=1)


@pytest.fixture
def with_discover(monkeypatch):
    """``cxsim discover`` on the command line (wired here until cli.py adds it)."""
    original = cli.build_parser

    def build():
        parser = original()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        if "discover" not in sub.choices:
            add_parser(sub)
        return parser

    monkeypatch.setattr(cli, "build_parser", build)


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


# ---- PRIM, CART, scores on a planted box ------------------------------------------------------


def test_prim_recovers_a_planted_box(planted):
    table, y, truth = planted
    result = prim(table, y, ["a.x", "b.y", "c.z"])
    box = result.boxes[0]
    assert box.restricted == ("a.x", "b.y")
    for name, (lo, hi) in zip(("a.x", "b.y"), PLANTED, strict=True):
        assert box.limits[name][0] == pytest.approx(lo, abs=0.05)
        assert box.limits[name][1] == pytest.approx(hi, abs=0.05)
    assert box.limits["c.z"][0] < 0.05 and box.limits["c.z"][1] > 0.95
    inside = box.contains(table)
    # 5 % of the labels flipped: about 4 % of all runs are interesting outside the planted
    # box, so no box covers much more than 72 % of the noisy labels; the planted cases it
    # covers, and the density, are what a good box gets right
    assert (inside & truth).sum() / truth.sum() > 0.8
    assert box.density > 0.8 and box.coverage > 0.6
    assert box.coverage == pytest.approx((inside & y).sum() / y.sum())
    assert box.density == pytest.approx((inside & y).sum() / inside.sum())
    traj = result.trajectory
    assert traj["coverage"].iloc[0] == 1.0 and traj["mass"].iloc[0] == 1.0
    assert traj["chosen"].sum() == 1
    assert (np.diff(traj["mass"]) < 0).all()  # each peel removes runs
    assert len(result.boxes) == 1  # the noise outside holds no second box


def test_prim_takes_categories_and_a_threshold():
    rng = np.random.default_rng(1)
    n = 1200
    table = pd.DataFrame({"strategy": rng.choice(["a", "b", "c"], n),
                          "q": rng.uniform(size=n)})
    y = (table["strategy"].to_numpy() == "b") & (table["q"].to_numpy() > 0.5)
    result = prim(table, y, ["strategy", "q"], threshold=0.99)
    box = result.boxes[0]
    assert box.limits["strategy"] == ("b",)
    assert box.limits["q"][0] == pytest.approx(0.5, abs=0.03)
    assert box.density >= 0.99 and box.coverage > 0.95


def test_cart_rules_and_scores_find_the_planted_inputs(planted):
    sklearn_or_skip()
    table, _, _ = planted
    result = discover(table, "profit < 0", seed=1)
    scores = list(result.scores["parameter"])
    assert set(scores[:2]) == {"a.x", "b.y"} and scores[2] == "c.z"
    assert result.scores["score"].sum() == pytest.approx(1.0)
    rules = result.rules
    dense = rules[rules["density"] > 0.5]  # the leaves that are mostly the condition
    assert set(dense["parameter"]) == {"a.x", "b.y"}
    lows = dense.loc[dense["parameter"] == "a.x", "low"]
    highs = dense.loc[dense["parameter"] == "b.y", "high"]
    assert lows.min() == pytest.approx(0.6, abs=0.05) and lows.max() < 0.7
    assert highs.max() == pytest.approx(0.3, abs=0.05)
    assert dense.groupby("rule")["coverage"].first().sum() > 0.6
    assert rules.groupby("rule")["density"].first().iloc[0] > 0.9
    # the sentence speaks of the expression, and of the restricted sides only
    sentence = result.sentences[0]
    assert re.match(r"Runs have profit < 0 when a\.x ≥ 0\.(59|6|61) and b\.y ≤ 0\.(29|3|31): ",
                    sentence), sentence
    assert "c.z" not in sentence and "% of the runs with profit < 0" in sentence


# ---- the condition --------------------------------------------------------------------------

COLUMNS = {"profit": "number", "profit_diff": "number", "nps": "number",
           "strategy": "text", "pathways.0.weight": "number", "market.q": "number"}


@pytest.mark.parametrize("text, names", [
    ("profit_diff < 0", ("profit_diff",)),
    ("monthly_churn > 0.03 and nps < 0".replace("monthly_churn", "profit"), ("profit", "nps")),
    ("pathways.0.weight >= 0.5 or not (nps < -10)", ("pathways.0.weight", "nps")),
    ("0.1 < market.q <= 0.3", ("market.q",)),
    ("`market.q` * 2 - 1 > profit / 1e3", ("market.q", "profit")),
    ("strategy == 'fix_courier' & profit < 0", ("strategy", "profit")),
    ("NOT profit > 0 | nps == true", ("profit", "nps")),
])
def test_conditions_parse(text, names):
    assert parse_where(text, COLUMNS).names == names


@pytest.mark.parametrize("text, words", [
    ("__import__('os')", "calls are not allowed"),
    ("__import__", "'__import__' is not allowed"),
    ("profit.real > 0", "attribute access is not allowed"),
    ("(profit).real > 0", "attribute access is not allowed"),
    ("nps.__class__ == 1", "attribute access is not allowed"),
    ("abs(profit) > 1", "calls are not allowed"),
    ("profit_dif < 0", "unknown column 'profit_dif' (close: profit_diff"),
    ("proft < 0 and nsp > 1", "unknown columns 'proft' (close: profit"),
    ("profit = 0", "use =="),
    ("profit", "is a number, not a condition"),
    ("profit and nps < 0", "not a condition"),
    ("strategy > 'a'", "compared with == or != only"),
    ("strategy == 1", "is text and cannot be compared with a number"),
    ("profit < 0 and", "ends too soon"),
    ("(profit < 0", "not closed"),
    ("", "is empty"),
    ("profit < 0; import os", "unexpected ';'"),
    ("lambda: 1", "unexpected ':'"),
    ("[x for x in ()]", "unexpected '['"),
    ("(" * 60 + "profit < 0" + ")" * 60, "nested more than"),
])
def test_bad_conditions_are_one_line_errors(text, words):
    with pytest.raises(DiscoveryError) as info:
        parse_where(text, COLUMNS)
    message = str(info.value)
    assert "\n" not in message and words in message, message
    assert message.startswith("where=")


def test_condition_evaluates_like_pandas():
    table = pd.DataFrame({"profit": [-1.0, 2.0, np.nan, 5.0], "nps": [3.0, -4.0, 1.0, 0.0],
                          "strategy": ["a", "b", "a", "b"]})
    cond = parse_where("profit < 0 or (nps <= 0 and strategy == 'b')", table)
    assert cond.evaluate(table).tolist() == [True, True, False, True]
    assert parse_where("profit != 2", table).evaluate(table).tolist() == [True, False, False,
                                                                           True]
    assert parse_where("-1 <= profit * 2 < 5", table).evaluate(table).tolist() == [
        False, True, False, False]


_ALPHABET = st.sampled_from(list("profit_dnsa.q<>=!()&|~+-*/ 0123456789'\"`e,[]_:;") +
                            ["profit", "nps", " and ", " or ", "not ", "market.q", "__",
                             "strategy", "'a'", "1e999", "profit_diff"])


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=30), st.lists(_ALPHABET, max_size=14).map("".join)))
def test_the_parser_raises_only_its_own_error(text):
    table = pd.DataFrame({"profit": [-1.0, 0.0, 2.0], "nps": [1.0, np.nan, -3.0],
                          "profit_diff": [0.5, -0.5, 0.0], "market.q": [0.1, 0.2, 0.3],
                          "strategy": ["a", "b", "a"]})
    try:
        cond = parse_where(text, table)
    except DiscoveryError as exc:
        assert "\n" not in str(exc)
        return
    values = cond.evaluate(table)
    assert values.dtype == bool and values.shape == (3,)


# ---- paired differences -------------------------------------------------------------------


def test_paired_differences_of_a_real_sweep(courier_sweep):
    runs = courier_sweep.runs
    paired = paired_differences(courier_sweep)
    assert len(paired) == 4 and set(paired["strategy"]) == {"fix_courier"}
    assert list(paired.columns[:6]) == ["run_id", "baseline_run", "partners.courier.reliability",
                                        "strategy", "replicate", "seed"]
    for _, row in paired.iterrows():
        mine = runs[runs["run_id"] == row["run_id"]].iloc[0]
        base = runs[(runs["strategy"] == "baseline")
                    & (runs["partners.courier.reliability"]
                       == mine["partners.courier.reliability"])
                    & (runs["replicate"] == mine["replicate"])].iloc[0]
        assert row["baseline_run"] == base["run_id"] and row["seed"] == base["seed"]
        for metric in ("profit", "nps", "churned", "monthly_churn", "partner_on_time"):
            assert row[metric] == mine[metric]
            assert row[f"{metric}_diff"] == pytest.approx(mine[metric] - base[metric],
                                                          abs=0, nan_ok=True)
    assert paired.attrs["pairing"]["pairs"] == 4 and paired.attrs["pairing"]["failed"] == 0


def _grid_runs(failed=()) -> pd.DataFrame:
    rows = []
    rid = 0
    for k, strategy in enumerate(("baseline", "a")):
        for q in (0.1, 0.2):
            for r in range(2):
                gain = 50.0 if (strategy == "a" and q == 0.2) else 0.0
                rows.append({"run_id": rid, "point": 2 * k + (q == 0.2), "replicate": r,
                             "seed": 100 + r, "strategy": strategy, "q": q,
                             "status": "failed" if rid in failed else "done", "error": "",
                             "profit": 10.0 * rid + gain, "nps": float(r)})
                rid += 1
    return pd.DataFrame(rows)


def test_paired_differences_drop_failed_runs_and_their_partners():
    runs = _grid_runs(failed=(1, 6))  # a baseline run, and a strategy run
    paired = paired_differences(runs)
    assert sorted(paired["run_id"]) == [4, 7]  # 5 lost its partner (1), 6 failed
    assert paired.attrs["pairing"] == {"baseline": "baseline", "runs": 8, "failed": 2,
                                       "partner_failed": 1, "pairs": 2, "strategies": ["a"]}
    row = paired.set_index("run_id").loc[7]
    assert row["profit_diff"] == 70.0 + 50.0 - 30.0 and row["nps_diff"] == 0.0


@pytest.mark.parametrize("change, words", [
    (lambda r: r.drop(columns="strategy"), "no 'strategy' column"),
    (lambda r: r.assign(strategy="baseline"), "every run applies baseline"),
    (lambda r: r.assign(strategy=r["strategy"].replace("baseline", "b")),
     "baseline=baseline: not a strategy of these runs"),
    (lambda r: r.drop(index=[0]), "has no baseline run at the same parameter values"),
    (lambda r: r.assign(seed=r["seed"] + (r["strategy"] == "a")), "different seeds"),
])
def test_paired_differences_refuse_runs_without_partners(change, words):
    with pytest.raises(ParamError) as info:
        paired_differences(change(_grid_runs()))
    assert words in str(info.value) and "\n" not in str(info.value)


def test_a_diff_condition_analyses_the_paired_runs():
    sklearn_or_skip()
    runs = _grid_runs()
    result = discover(runs, "profit_diff > 40", rules=False)
    assert result.paired and len(result.table) == 4
    assert result.inputs == ("q",)  # strategy is one strategy here: not an input
    assert result.counts["interesting"] == 2
    assert result.sentences[0].startswith("a has profit_diff > 40 when q ≥ 0.2")


# ---- the EMA Workbench export ---------------------------------------------------------------


def test_ema_export_has_the_workbench_layout(courier_sweep, tmp_path):
    experiments, outcomes = to_ema(courier_sweep)
    assert list(experiments.columns) == ["partners.courier.reliability", "scenario", "policy",
                                         "model"]
    assert len(experiments) == 8
    assert str(experiments["partners.courier.reliability"].dtype) == "float64"
    for col in ("scenario", "policy", "model"):
        assert str(experiments[col].dtype) == "category"
    assert set(experiments["policy"]) == {"baseline", "fix_courier"}
    # the same uncertainties and seed: the same scenario for both strategies
    assert (experiments.groupby("scenario", observed=True)["policy"].nunique() == 2).all()
    assert set(outcomes) >= {"profit", "nps", "monthly_churn"}
    assert all(v.shape == (8,) and v.dtype == np.float64 for v in outcomes.values())
    assert outcomes["profit"].tolist() == courier_sweep.runs["profit"].tolist()
    path = save_ema((experiments, outcomes), tmp_path / "results.tar.gz")
    with tarfile.open(path, "r:gz") as archive:
        meta = json.loads(archive.extractfile("metadata.json").read())
        back = pd.read_csv(archive.extractfile("experiments.csv"))
        profit = pd.read_csv(archive.extractfile("profit.cls"), header=None).to_numpy()
    assert meta["version"] == 0.1
    assert ["ScalarOutcome", "profit", "profit.cls"] in meta["outcomes"]
    assert meta["experiments"]["policy"] == "category"
    assert list(back.columns) == list(experiments.columns)
    assert profit.reshape(-1).tolist() == outcomes["profit"].tolist()


# ---- the folder ---------------------------------------------------------------------------


def test_the_folder_is_written_whole_and_replaced(planted, tmp_path, monkeypatch):
    sklearn_or_skip()
    table, _, _ = planted
    path = tmp_path / "runs.csv"
    table.to_csv(path, index=False)
    result = discover(path, "profit < 0")
    names = write_discovery(result, plot=False)
    folder = tmp_path / "discovery"
    assert sorted(os.listdir(folder)) == sorted(names)
    boxes = pd.read_csv(folder / "boxes.csv")
    assert list(boxes.columns[:6]) == ["box", "parameter", "low", "high", "coverage",
                                       "density"]
    assert list(boxes["parameter"]) == ["a.x", "b.y"]
    meta = json.loads((folder / "discovery.json").read_text())
    assert meta["where"] == "profit < 0" and meta["counts"]["analysed"] == 2000
    assert meta["source"] == str(path) and "scikit-learn" in meta["versions"]
    # a failure while writing leaves the earlier discovery as it was, nothing beside it
    before = snapshot(folder)
    second = discover(path, "profit > 0")

    def full(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("cxsim.discover.save_ema", full)
    with pytest.raises(FolderError) as info:
        write_discovery(second, plot=False, ema=True)
    assert "No space left on device" in str(info.value) and "as it was" in str(info.value)
    assert snapshot(folder) == before
    assert sorted(os.listdir(tmp_path)) == ["discovery", "runs.csv"]
    monkeypatch.undo()
    # a second discovery replaces the first whole
    names = write_discovery(second, plot=True, ema=True)
    assert sorted(os.listdir(folder)) == sorted(names)
    assert "ema_results.tar.gz" in names and "discovery_pairs.png" in names
    assert json.loads((folder / "discovery.json").read_text())["where"] == "profit > 0"


def test_a_discovery_folder_in_a_sweep_survives_plot_and_resume(tmp_path, with_discover):
    sklearn_or_skip()
    out = tmp_path / "sweep"
    sc = minimal_scenario()
    grid = {"teams.cc.headcount": "2,6"}
    sweep(sc, grid, replications=2, out=out, workers=1, days=10)
    code, stdout, err = call(["discover", out, "--where", "asa > 0", "--no-plot",
                              "--quiet"])
    if code == 2 and "true for" in err:  # every run waits, or none: use the head count
        code, stdout, err = call(["discover", out, "--where",
                                  "teams.cc.headcount > 3 and asa >= 0", "--no-plot",
                                  "--quiet"])
    assert code == 0, err
    check_contents(out, "sweep")  # the results-folder checks accept it
    check_contents(out, None)
    found = snapshot(out / "discovery")
    # cxsim plot adds figures beside it and carries it along unchanged
    code, _, err = call(["plot", out])
    assert code == 0, err
    assert {n.split("/")[-1] for n in snapshot(out / "discovery")} == {
        n.split("/")[-1] for n in found}
    assert [v[0] for v in snapshot(out / "discovery").values()] == [v[0] for v in
                                                                    found.values()]
    assert any(name.endswith(".png") for name in os.listdir(out))
    # a resume that runs nothing keeps it
    again = sweep(sc, grid, replications=2, out=out, workers=1, days=10, resume=True)
    assert again.ran == 0 and (out / "discovery" / "boxes.csv").exists()
    # a resume that runs more drops it (it described runs the table no longer is)
    journal = (out / "journal.jsonl").read_text().splitlines(keepends=True)
    (out / "journal.jsonl").write_text("".join(journal[:2]))
    again = sweep(sc, grid, replications=2, out=out, workers=1, days=10, resume=True)
    assert again.ran == 2 and not (out / "discovery").exists()


def test_a_stale_stage_of_the_discovery_is_passed_over(tmp_path):
    out = tmp_path / "sweep"
    out.mkdir()
    (out / "sweep.json").write_text("{}")
    digest = hashlib.sha1(b"discovery").hexdigest()[:8]
    stale = out / f".discovery-{digest}.cxsim-new-999999-abcd"
    stale.mkdir()
    (stale / "boxes.csv").write_text("x\n")
    check_contents(out, "sweep")
    (out / "discovery").mkdir()
    (out / "discovery" / "notes.txt").write_text("mine")
    with pytest.raises(FolderError) as info:
        check_contents(out, "sweep")
    assert "notes.txt" in str(info.value)
    shutil.rmtree(out / "discovery")
    (out / "other").mkdir()
    with pytest.raises(FolderError):
        check_contents(out, "sweep")


# ---- the command line ---------------------------------------------------------------------


def test_cli_discovers_in_a_runs_table(planted, tmp_path, with_discover):
    sklearn_or_skip()
    table, _, _ = planted
    path = tmp_path / "runs.parquet"
    table.to_parquet(path, index=False)
    code, stdout, err = call(["discover", path, "--where", "profit < 0", "--out",
                              tmp_path / "here", "--seed", "2"])
    assert code == 0, err
    assert stdout.startswith("profit < 0: true in")
    assert re.search(r"Runs have profit < 0 when a\.x ≥ 0\.6\d? and b\.y ≤ 0\.(29|3|31): ",
                     stdout), stdout
    assert "feature scores:" in stdout and "CART rules" in stdout
    files = set(os.listdir(tmp_path / "here" / "discovery"))
    assert {"boxes.csv", "trajectory.csv", "rules.csv", "scores.csv", "discovery.json",
            "discovery_tradeoff.png", "discovery_limits.png", "discovery_pairs.png"} == files
    assert (tmp_path / "here" / "discovery" / "discovery_tradeoff.png").stat().st_size > 20_000


def test_cli_on_the_courier_sweep(courier_sweep, with_discover):
    sklearn_or_skip()
    out = courier_sweep.out
    paired = paired_differences(courier_sweep)
    code, _, err = call(["discover", out, "--where", "profit_diff < 0", "--no-plot"])
    if paired["profit_diff"].lt(0).all():  # the strategy costs more than it earns so soon
        assert code == 2
        assert one_line(err).startswith('--where "profit_diff < 0": true for all of the 4 '
                                        "paired runs")
    mid = float(courier_sweep.runs["profit"].median())
    code, stdout, err = call(["discover", out, "--where", f"profit > {mid}", "--ema"])
    assert code == 0, err
    assert (out / "discovery" / "ema_results.tar.gz").exists()
    assert f"wrote {out}/discovery/" in stdout


@pytest.mark.parametrize("argv, words", [
    (["missing-folder", "--where", "profit < 0"], "missing-folder: no such folder or file"),
    (["{tmp}", "--where", "profit < 0"], "not a sweep folder (no sweep.json)"),
    (["{tmp}/notes.txt", "--where", "profit < 0"], "not a runs table"),
    (["{runs}", "--where", "profit_dif < 0"], "--where \"profit_dif < 0\": unknown column "
                                             "'profit_dif' (close: profit_diff, profit)"),
    (["{runs}", "--where", "__import__('os').system('true')"], "calls are not allowed"),
    (["{runs}", "--where", "profit < -1e9"], "true for none of the 4 runs"),
    (["{runs}", "--where", "profit > -1e9"], "true for all of the 4 runs"),
    (["{runs}", "--where", "profit_diff < 0"], "--baseline baseline: not a strategy"),
    (["{runs}", "--where", "profit < 15", "--inputs", "profit"], "--inputs profit: an "
                                                                 "outcome, not a parameter"),
    (["{runs}", "--where", "profit < 15", "--min-coverage", "2"], "--min-coverage must be"),
    (["{empty}", "--where", "profit < 0"], "no finished runs"),
    (["{runs}", "--where", "profit < 15", "--out", "{tmp}/notes.txt"], "--out: "),
    (["{tmp}/cmp/runs.csv", "--where", "profit < 15"], "holds the results of cxsim compare"),
])
def test_cli_bad_input_is_one_line_exit_2(argv, words, tmp_path, with_discover):
    (tmp_path / "notes.txt").write_text("mine\n")
    runs = pd.DataFrame({"run_id": range(4), "q": [0.1, 0.2, 0.3, 0.4], "replicate": 0,
                         "strategy": ["x"] * 4, "status": "done",
                         "profit": [10.0, 20.0, 30.0, 40.0]})
    runs.to_csv(tmp_path / "runs.csv", index=False)
    runs.assign(status="failed").to_csv(tmp_path / "empty.csv", index=False)
    (tmp_path / "cmp").mkdir()
    runs.to_csv(tmp_path / "cmp" / "runs.csv", index=False)
    (tmp_path / "cmp" / "compare.json").write_text("{}")
    argv = [a.format(tmp=tmp_path, runs=tmp_path / "runs.csv", empty=tmp_path / "empty.csv")
            for a in argv]
    code, stdout, err = call(["discover", *argv])
    assert code == 2, (stdout, err)
    assert words in one_line(err), err
    assert not (tmp_path / "discovery").exists() and not (tmp_path / "cmp" / "discovery").exists()


def test_the_command_loads_light():
    code = ("import sys, cxsim.cli, cxsim.discover_cli; "
            "print(any(m in sys.modules for m in ('pandas', 'numpy', 'cxsim.discover')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert out.stdout.strip() == "False", out.stderr


def test_errors_are_input_errors():
    assert issubclass(DiscoveryError, InputError)
    with pytest.raises(DiscoveryError):
        discover(pd.DataFrame({"q": [1.0, 2.0], "profit": [1.0, 2.0]}), "profit > 1",
                 min_coverage=0)
    with pytest.raises(DiscoveryError):
        discover(io.StringIO("x"), "profit > 1")
    with pytest.raises(DiscoveryError):  # a table in memory has no folder of its own
        write_discovery(discover(_grid_runs(), "profit > 30", rules=False))
