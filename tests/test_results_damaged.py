"""Results folders are untrusted input: damaged or forged files are refused or dropped.

Every file cxsim reads back (``journal.jsonl``, ``sweep.json``, ``runs.parquet``/``runs.csv``,
``compare.json`` and its tables, ``summary.json`` and the run tables) is checked before use.
A damaged journal line is dropped with one warning line and its run runs again (the result
equals the undamaged sweep); anything else damaged is refused with one line and exit code 2
(never exit 1 with ``KeyError``, ``RecursionError``, ``ArrowInvalid``, ``ParserError``,
``TypeError``, ``AttributeError``), and nothing is written.  The long version (``slow``)
adds a Parquet file claiming 400 million rows and random corruption of every file.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import call, snapshot

SMALL = ["--customers", "500", "--days", "5"]
SWEEP = ["sweep", "--param", "touchpoints.chat.quality=0.5,0.9", "--reps", "2", *SMALL,
         "--workers", "1", "--quiet"]
COMPARE = ["compare", "--customers", "500", "--days", "35", "--reps", "2", "--strategies",
           "fix_courier", "--workers", "1", "--quiet"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("good")
    made = {}
    for kind, argv in (("run", ["run", *SMALL, "--quiet"]), ("compare", COMPARE),
                       ("sweep", SWEEP)):
        code, _, err = call([*argv, "--out", root / kind])
        assert code == 0, err
        made[kind] = root / kind
    return made


def copy_of(folder: Path, tmp_path: Path) -> Path:
    target = tmp_path / "res"
    shutil.copytree(folder, target)
    return target


def refused(code: int, err: str) -> str:
    assert code == 2, (code, err[-400:])
    lines = err.strip().splitlines()
    assert len(lines) == 1, err[-1000:]
    assert "Traceback" not in err and len(lines[0]) < 600, lines[0][:300]
    for name in ("KeyError", "RecursionError", "ArrowInvalid", "ParserError", "TypeError",
                 "AttributeError", "MemoryError", "ValueError"):
        assert name not in lines[0], lines[0]
    return lines[0]


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def fifo(path: Path) -> None:
    path.unlink(missing_ok=True)
    os.mkfifo(path)


# ---- journal lines: dropped with a warning, the run runs again -------------------------------


def _record(folder: Path, k: int) -> dict:
    return json.loads((folder / "journal.jsonl").read_text().splitlines()[k])


JOURNAL = {
    "run_id -1": lambda r: {**r, "run_id": -1},
    "run_id as text": lambda r: {**r, "run_id": "2", "outcomes": {**r["outcomes"],
                                                                   "profit": 1e9}},
    "run_id 2.5": lambda r: {**r, "run_id": 2.5},
    "run_id true": lambda r: {**r, "run_id": True},
    "run_id huge": lambda r: {**r, "run_id": 10**30},
    "run_id beyond the plan": lambda r: {**r, "run_id": 4},
    "only a run_id": lambda r: {"run_id": 2},
    "status unknown": lambda r: {**r, "run_id": 2, "status": "maybe"},
    "outcome text": lambda r: {**r, "run_id": 2, "outcomes": {**r["outcomes"],
                                                              "profit": "lots"}},
    "outcome missing": lambda r: {**r, "run_id": 2, "outcomes": {
        k: v for k, v in r["outcomes"].items() if k != "nps"}},
    "failed with results": lambda r: {**r, "run_id": 2, "status": "failed", "error": "x"},
    "extra key": lambda r: {**r, "run_id": 2, "extra": 1},
    "ticks the sweep does not keep": lambda r: {**r, "run_id": 2, "ticks": {"tick": [1]}},
    "a list": lambda r: [r],
    "deeply nested": lambda r: nested(100_000),
    "not JSON": lambda r: "\x00\xff garbage {",
    "a 3 MB line": lambda r: "x" * 3_000_000,
    "recorded again": lambda r: r,  # an identical copy of a finished run
}


@pytest.fixture(scope="module")
def reference_runs(folders) -> pd.DataFrame:
    return pd.read_parquet(folders["sweep"] / "runs.parquet")


@pytest.mark.parametrize("case", sorted(JOURNAL))
def test_a_damaged_journal_line_is_dropped_and_its_run_runs_again(case, folders,
                                                                  reference_runs, tmp_path):
    res = copy_of(folders["sweep"], tmp_path)
    lines = (res / "journal.jsonl").read_text().splitlines(keepends=True)
    keep = lines[:2]
    forged = JOURNAL[case](_record(res, 0 if case == "recorded again" else 1))
    text = forged if isinstance(forged, str) else json.dumps(forged)
    (res / "journal.jsonl").write_text("".join(keep) + text + "\n")
    (res / "runs.parquet").unlink()
    code, _, err = call(["sweep", "--out", res, "--resume", "--quiet", "--workers", "1"])
    assert code == 0, err[-500:]
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "journal.jsonl: dropped 1 damaged line" in warnings[0], err
    assert len(err.splitlines()) == 1
    runs = pd.read_parquet(res / "runs.parquet")
    pd.testing.assert_frame_equal(runs, reference_runs)  # never merged into the results
    meta = json.loads((res / "sweep.json").read_text())
    assert meta["status"] == "complete" and meta["done"] == 4


def test_two_different_records_of_a_finished_run_are_refused(folders, tmp_path):
    res = copy_of(folders["sweep"], tmp_path)
    rec = _record(res, 1)
    rec["outcomes"]["profit"] += 1.0
    with open(res / "journal.jsonl", "a") as fh:
        fh.write(json.dumps(rec) + "\n")
    before = snapshot(res)
    code, _, err = call(["sweep", "--out", res, "--resume", "--quiet"])
    line = refused(code, err)
    assert "run 1 is recorded twice with different results (lines 2 and 5)" in line
    assert snapshot(res) == before


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_a_journal_that_is_not_a_file_is_refused(kind, folders, tmp_path):
    res = copy_of(folders["sweep"], tmp_path)
    if kind == "fifo":
        fifo(res / "journal.jsonl")
    else:
        (res / "journal.jsonl").unlink()
        (res / "journal.jsonl").mkdir()
    code, _, err = call(["sweep", "--out", res, "--resume", "--quiet"])
    refused(code, err)


# ---- sweep.json ------------------------------------------------------------------------------


def _edit_meta(folder: Path, change) -> None:
    meta = json.loads((folder / "sweep.json").read_text())
    out = change(meta)
    text = out if isinstance(out, str) else json.dumps(meta if out is None else out)
    (folder / "sweep.json").write_text(text)


SWEEP_JSON = {
    "design points cut short": lambda m: m["design_points"].pop() and None,
    "design point changed": lambda m: m["design_points"][1].update(
        {"touchpoints.chat.quality": 0.7}),
    "seeds changed": lambda m: m.update(seeds=[1, 2]),
    "deeply nested": lambda m: json.dumps(m)[:-1] + ', "environment": ' + nested(5000) + "}",
    "replications as text": lambda m: m["fingerprint"].update(replications="2"),
    "replications huge": lambda m: m["fingerprint"].update(replications=10**12),
    "params missing": lambda m: m["fingerprint"].pop("params") and None,
    "param malformed": lambda m: m["fingerprint"].update(params=[[1, 2]]),
    "spec missing": lambda m: m.pop("params") and None,
    "scenario a list": lambda m: m.update(scenario=[1, 2, 3]),
    "scenario market size text": lambda m: m["scenario"]["market"].update(size="big"),
    "design unit text": lambda m: m.update(design_unit="x"),
    "a list": lambda m: [m],
    "not UTF-8": lambda m: "\udcff",
    "no format": lambda m: m.pop("format") and None,
    "samples negative": lambda m: m["fingerprint"].update(samples=-5),
    "design unknown": lambda m: m["fingerprint"].update(design="cube"),
    "days text": lambda m: m["fingerprint"].update(days="ten"),
}


def _damage_sweep_json(res: Path, case: str) -> None:
    if case == "not UTF-8":
        (res / "sweep.json").write_bytes(b"{\"format\": 1, \xff\xfe}")
    else:
        _edit_meta(res, SWEEP_JSON[case])


@pytest.mark.parametrize("command", ["resume", "plot", "replay"])
@pytest.mark.parametrize("case", sorted(SWEEP_JSON))
def test_a_damaged_sweep_json_is_refused(case, command, folders, tmp_path):
    res = copy_of(folders["sweep"], tmp_path)
    _damage_sweep_json(res, case)
    before = snapshot(res)
    argv = {"resume": ["sweep", "--out", res, "--resume", "--quiet"], "plot": ["plot", res],
            "replay": ["run", "--replay", res, "--run-id", "1", "--out", tmp_path / "r",
                       "--quiet"]}[command]
    code, _, err = call(argv)
    if case == "scenario market size text":  # a scenario's problems: one line each
        assert code == 2 and "market.size" in err and "Traceback" not in err
    else:
        refused(code, err)
    assert snapshot(res) == before and not (tmp_path / "r").exists()


@pytest.mark.parametrize("kind", ["fifo", "sparse 300 MB", "device link"])
def test_a_sweep_json_that_is_not_a_small_file_is_refused(kind, folders, tmp_path):
    res = copy_of(folders["sweep"], tmp_path)
    path = res / "sweep.json"
    if kind == "fifo":
        fifo(path)
    elif kind == "device link":
        path.unlink()
        path.symlink_to("/dev/zero")
    else:
        with open(path, "r+b") as fh:
            fh.truncate(300 * 2**20)  # sparse: no disk space used
    for argv in (["sweep", "--out", res, "--resume", "--quiet"], ["plot", res]):
        code, _, err = call(argv)
        refused(code, err)


# ---- the runs table --------------------------------------------------------------------------


def _edit_runs(res: Path, change) -> None:
    runs = pd.read_parquet(res / "runs.parquet")
    runs = change(runs)
    runs.to_parquet(res / "runs.parquet", index=False)


def _rows(n: int):
    def craft(res: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({"run_id": pa.nulls(n, pa.int64())}), res / "runs.parquet",
                       row_group_size=n)
    return craft


def _text(res: Path, text: bytes) -> None:
    (res / "runs.parquet").unlink()
    (res / "runs.csv").write_bytes(text)


RUNS = {
    "claims 5 million rows": _rows(5_000_000),
    "garbage bytes": lambda res: (res / "runs.parquet").write_bytes(b"PAR1" + b"\x07" * 999),
    "run_id twice": lambda res: _edit_runs(res, lambda r: r.assign(
        run_id=[0, 1, 1, 3])),
    "run_id beyond the plan": lambda res: _edit_runs(res, lambda r: r.assign(
        run_id=[0, 1, 2, 99])),
    "profit as text": lambda res: _edit_runs(res, lambda r: r.assign(profit="lots")),
    "parameter changed": lambda res: _edit_runs(res, lambda r: r.assign(
        **{"touchpoints.chat.quality": 0.1})),
    "seed changed": lambda res: _edit_runs(res, lambda r: r.assign(seed=r["seed"] + 1)),
    "status missing": lambda res: _edit_runs(res, lambda r: r.drop(columns=["status"])),
    "status unknown": lambda res: _edit_runs(res, lambda r: r.assign(status="maybe")),
    "csv unbalanced quotes": lambda res: _text(res, b'run_id,point\n0,"1\n1,2,3,4,5\n"'),
    "csv binary": lambda res: _text(res, bytes(range(256)) * 40),
    "csv too many rows": lambda res: _text(res, b"run_id\n" + b"1\n" * 100),
}


@pytest.mark.parametrize("command", ["plot", "replay"])
@pytest.mark.parametrize("case", sorted(RUNS))
def test_a_damaged_runs_table_is_refused(case, command, folders, tmp_path):
    res = copy_of(folders["sweep"], tmp_path)
    RUNS[case](res)
    before = snapshot(res)
    argv = {"plot": ["plot", res],
            "replay": ["run", "--replay", res, "--run-id", "1", "--out", tmp_path / "r",
                       "--quiet"]}[command]
    code, _, err = call(argv)
    line = refused(code, err)
    if case.startswith("claims"):
        assert "claims 5,000,000 rows; this results folder can have at most 4" in line
    assert snapshot(res) == before and not (tmp_path / "r").exists()


# ---- a comparison ----------------------------------------------------------------------------


def _edit_json(path: Path, change) -> None:
    meta = json.loads(path.read_text())
    out = change(meta)
    path.write_text(out if isinstance(out, str) else json.dumps(meta))


def _edit_csv(path: Path, change) -> None:
    change(pd.read_csv(path)).to_csv(path, index=False)


COMPARE_CASES = {
    "replications as text": lambda r: _edit_json(r / "compare.json",
                                                 lambda m: m.update(replications="2")),
    "strategies a word": lambda r: _edit_json(r / "compare.json",
                                              lambda m: m.update(strategies="baseline")),
    "starts a list": lambda r: _edit_json(r / "compare.json", lambda m: m.update(starts=[])),
    "tick_days zero": lambda r: _edit_json(r / "compare.json",
                                           lambda m: m.update(tick_days=0)),
    "scenario missing": lambda r: _edit_json(r / "compare.json",
                                             lambda m: m.pop("scenario") and None),
    "deeply nested": lambda r: (r / "compare.json").write_text(
        '{"format": 1, "x": ' + nested(5000) + "}"),
    "ticks unbalanced quotes": lambda r: (r / "ticks.csv").write_text('a,b\n"1,2\n3,4,5\n'),
    "ticks twice": lambda r: _edit_csv(r / "ticks.csv", lambda t: pd.concat([t, t.head(3)])),
    "ticks of another strategy": lambda r: _edit_csv(
        r / "ticks.csv", lambda t: t.assign(strategy="teleport")),
    "mean as text": lambda r: _edit_csv(r / "comparison.csv", lambda t: t.assign(mean="x")),
    "payback not whole": lambda r: _edit_csv(r / "roi.csv",
                                             lambda t: t.assign(payback_tick=3.5)),
    "roi column missing": lambda r: _edit_csv(r / "roi.csv",
                                              lambda t: t.drop(columns=["npv"])),
    "runs a hundred times": lambda r: _edit_csv(r / "runs.csv",
                                                lambda t: pd.concat([t] * 100)),
    "replicate beyond": lambda r: _edit_csv(r / "runs.csv", lambda t: t.assign(replicate=7)),
    "ticks file a folder": lambda r: ((r / "ticks.csv").unlink(), (r / "ticks.csv").mkdir()),
}


@pytest.mark.parametrize("case", sorted(COMPARE_CASES))
def test_a_damaged_comparison_is_refused(case, folders, tmp_path):
    res = copy_of(folders["compare"], tmp_path)
    COMPARE_CASES[case](res)
    before = snapshot(res)
    code, _, err = call(["plot", res])
    refused(code, err)
    assert snapshot(res) == before


# ---- a run -----------------------------------------------------------------------------------


RUN_CASES = {
    "summary deeply nested": lambda r: (r / "summary.json").write_text(
        '{"format": 1, "x": ' + nested(5000) + "}"),
    "summary a list": lambda r: (r / "summary.json").write_text("[1, 2]"),
    "tick_days text": lambda r: _edit_json(r / "summary.json",
                                           lambda m: m.update(tick_days="x")),
    "ticks text": lambda r: _edit_json(r / "summary.json", lambda m: m.update(ticks="x")),
    "scenario a table": lambda r: _edit_json(r / "summary.json",
                                             lambda m: m.update(scenario={"a": 1})),
    "metrics unbalanced quotes": lambda r: (r / "metrics.csv").write_text(
        'tick,active\n"1,2\n3,4,5\n'),
    "metrics a thousand times longer": lambda r: _edit_csv(
        r / "metrics.csv", lambda t: pd.concat([t] * 1000)),
    "volume as text": lambda r: _edit_csv(r / "touchpoints.csv",
                                          lambda t: t.assign(volume="many")),
    "segments binary": lambda r: (r / "segments.csv").write_bytes(bytes(range(256)) * 10),
    "metrics a fifo": lambda r: fifo(r / "metrics.csv"),
    "metrics a link": lambda r: ((r / "metrics.csv").unlink(),
                                 (r / "metrics.csv").symlink_to("/etc/hostname")),
    "tick column missing": lambda r: _edit_csv(r / "queues.csv",
                                               lambda t: t.drop(columns=["tick"])),
}


@pytest.mark.parametrize("case", sorted(RUN_CASES))
def test_a_damaged_run_is_refused(case, folders, tmp_path):
    res = copy_of(folders["run"], tmp_path)
    RUN_CASES[case](res)
    before = {p.name for p in res.iterdir()}
    code, _, err = call(["plot", res])
    refused(code, err)
    assert {p.name for p in res.iterdir()} == before  # no figure written


# ---- the long version ------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("command", ["plot", "replay"])
def test_a_runs_table_claiming_400_million_rows_is_refused_before_reading(command, folders,
                                                                         tmp_path):
    import resource

    res = copy_of(folders["sweep"], tmp_path)
    _rows(400_000_000)(res)
    assert (res / "runs.parquet").stat().st_size < 2 * 2**20
    argv = {"plot": ["plot", res],
            "replay": ["run", "--replay", res, "--run-id", "1", "--out", tmp_path / "r"]}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    code, _, err = call(argv[command])
    line = refused(code, err)
    assert "claims 400,000,000 rows" in line
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak
    assert grown < 200 * 1024, f"{grown} KiB more at the peak"  # nothing was allocated


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sweep", "compare", "run"])
def test_random_corruption_of_every_file_never_exits_1(kind, folders, tmp_path):
    """Flip, cut or repeat bytes of each results file: exit 0 or 2, one line, never 1."""
    import random

    rng = random.Random(18)
    names = sorted(p.name for p in folders[kind].iterdir() if p.is_file())
    for trial in range(60):
        res = tmp_path / f"t{trial}"
        shutil.copytree(folders[kind], res)
        name = names[trial % len(names)]
        data = bytearray((res / name).read_bytes())
        how = rng.choice(["flip", "cut", "repeat", "zero"])
        if how == "flip":
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        elif how == "cut":
            data = data[: rng.randrange(len(data))]
        elif how == "repeat":
            k = rng.randrange(len(data))
            data = data[:k] + data[k: k + 200] * 50 + data[k:]
        else:
            data = bytearray(len(data))
        (res / name).write_bytes(bytes(data))
        argv = (["sweep", "--out", res, "--resume", "--quiet", "--workers", "1"]
                if kind == "sweep" and trial % 2 else ["plot", res, "--quiet"])
        code, _, err = call(argv)
        assert code in (0, 2), (name, how, err[-800:])
        assert "Traceback" not in err
        if code == 2:
            assert len(err.strip().splitlines()) <= 20, err
            assert "KeyError" not in err and "RecursionError" not in err, err


def test_a_journal_of_many_damaged_lines_is_read_in_bounded_memory(folders, reference_runs,
                                                                  tmp_path):
    res = copy_of(folders["sweep"], tmp_path)
    lines = (res / "journal.jsonl").read_text().splitlines(keepends=True)
    junk = "".join(f'{{"run_id": {k}}}\n' for k in range(200_000))
    (res / "journal.jsonl").write_text(lines[0] + junk + "".join(lines[1:]))
    code, _, err = call(["sweep", "--out", res, "--resume", "--quiet", "--workers", "1"])
    assert code == 0, err[-500:]
    assert err.count("\n") == 1 and "dropped 200,000 damaged lines" in err
    pd.testing.assert_frame_equal(pd.read_parquet(res / "runs.parquet"), reference_runs)
