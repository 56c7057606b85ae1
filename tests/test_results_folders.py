"""Results folders are written all new or left all old, and nothing follows links out of
``--out``.

``cxsim run``, ``compare``, ``plot`` and the end of ``sweep`` write a new folder beside
``--out`` and swap it in whole (``cxsim.io``): a failure while writing leaves the earlier
folder byte for byte as it was, and a success leaves only the new results (no figure of an
earlier run).  A folder holding anything but results of the same kind is refused before any
work; symbolic links (as ``--out``, dangling, or inside the folder) are refused with one
line and nothing is written where they point.  A sweep holds a lock on its folder.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import call, copy_of, snapshot, subprocess_env

SMALL = ["--customers", "500", "--days", "5"]
RUN_FILES = {"metrics.csv", "summary.json", "touchpoints.csv", "flows.csv", "segments.csv",
             "queues.csv", "partners.csv", "employees.csv"}
SWEEP = ["sweep", "--param", "touchpoints.chat.quality=0.5,0.9", "--reps", "2", *SMALL,
         "--workers", "1", "--quiet"]
COMPARE = ["compare", "--customers", "500", "--days", "35", "--reps", "2", "--strategies",
           "fix_courier", "--workers", "1", "--quiet"]


@pytest.fixture(scope="module")
def earlier(tmp_path_factory) -> dict[str, Path]:
    """An earlier run, comparison and sweep (copied by each test that changes them)."""
    root = tmp_path_factory.mktemp("earlier")
    made = {}
    for kind, argv in (("run", ["run", *SMALL, "--seed", "3", "--quiet", "--plot"]),
                       ("compare", COMPARE), ("sweep", SWEEP)):
        code, _, err = call([*argv, "--out", root / kind])
        assert code == 0, err
        made[kind] = root / kind
    return made


def siblings(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.parent.iterdir())


def one_line(err: str) -> str:
    # SMALL's 500 customers leave the contact centre too few agents: cxsim warns as it starts
    lines = [line for line in err.strip().splitlines()
             if not line.startswith("warning: at --customers 500 teams.contact_centre")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# ---- all new ---------------------------------------------------------------------------------


def test_a_new_run_replaces_the_earlier_folder_whole(earlier, tmp_path):
    res = copy_of(earlier["run"], tmp_path)
    assert {"kpi_dashboard.png", "journey_map.png"} <= set(os.listdir(res))
    os.chmod(res, 0o750)
    code, _, err = call(["run", *SMALL, "--seed", "4", "--quiet", "--out", res])
    assert code == 0, err
    assert set(os.listdir(res)) == RUN_FILES  # no figure of the earlier run is left
    assert '"seed": 4' in (res / "summary.json").read_text()
    assert oct(res.stat().st_mode & 0o777) == oct(0o750)  # the folder keeps its permissions
    assert siblings(res) == ["res"]  # nothing left beside it


def test_without_an_exchange_the_old_folder_is_renamed_aside(earlier, tmp_path, monkeypatch):
    monkeypatch.setattr("cxsim.io._exchange", lambda a, b: False)
    res = copy_of(earlier["run"], tmp_path)
    code, _, err = call(["run", *SMALL, "--seed", "4", "--quiet", "--out", res])
    assert code == 0, err
    assert set(os.listdir(res)) == RUN_FILES and siblings(res) == ["res"]


@pytest.mark.parametrize("fail_at", range(10))
def test_a_failure_while_writing_leaves_the_earlier_folder(earlier, tmp_path, monkeypatch,
                                                           fail_at):
    import cxsim.cli as cli

    res = copy_of(earlier["run"], tmp_path)
    before = snapshot(res)
    real = cli._write_atomic
    calls = {"n": 0}

    def failing(path, text):
        if calls["n"] == fail_at:
            real(path, text[: len(text) // 2])  # half a file, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        calls["n"] += 1
        real(path, text)

    monkeypatch.setattr(cli, "_write_atomic", failing)
    code, _, err = call(["run", *SMALL, "--seed", "4", "--out", res])
    if fail_at >= len(RUN_FILES):  # fails nowhere: the new results
        assert code == 0
        return
    assert code == 2
    assert one_line(err) == f"--out: cannot write {res} (No space left on device); it is as it was"
    assert snapshot(res) == before
    assert siblings(res) == ["res"]


def test_a_failed_swap_leaves_the_earlier_folder(earlier, tmp_path, monkeypatch):
    res = copy_of(earlier["run"], tmp_path)
    before = snapshot(res)

    def no_space(a, b):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("cxsim.io._exchange", no_space)
    code, _, err = call(["run", *SMALL, "--seed", "4", "--out", res])
    assert code == 2 and "cannot write" in one_line(err)
    assert snapshot(res) == before and siblings(res) == ["res"]


def test_a_comparison_and_its_figures_replace_the_earlier_one(earlier, tmp_path):
    res = copy_of(earlier["compare"], tmp_path)
    (res / "forest_plot.png").write_bytes(b"an earlier figure")
    code, _, err = call([*COMPARE, "--seed", "9", "--out", res])
    assert code == 0, err
    assert not (res / "forest_plot.png").exists()  # the new folder has no stale figure
    assert '"seed": 9' in (res / "compare.json").read_text()
    assert siblings(res) == ["res"]


def test_plot_adds_its_figures_all_at_once(earlier, tmp_path):
    res = copy_of(earlier["sweep"], tmp_path)
    before = snapshot(res)
    code, out, err = call(["plot", res])
    assert code == 0, err
    after = snapshot(res)
    for name, (data, mtime, _mode) in before.items():
        assert after[name][:2] == (data, mtime), name  # the results are the same files
    assert set(after) - set(before) == {"sweep_lines.png"}
    assert siblings(res) == ["res"]


def test_plot_failing_to_write_leaves_the_folder(earlier, tmp_path, monkeypatch):
    res = copy_of(earlier["run"], tmp_path)
    for png in res.glob("*.png"):
        png.unlink()
    before = snapshot(res)
    import cxsim.cli as cli

    def full(fig, path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cli, "_save_png", full)
    code, _, err = call(["plot", res])
    assert code == 2
    assert one_line(err) == (f"cannot write figures into {res} (No space left on device); it "
                             "is as it was")
    assert snapshot(res) == before and siblings(res) == ["res"]


# ---- what may be replaced -----------------------------------------------------------------


@pytest.mark.parametrize("command, holds, words", [
    ("run", "notes.txt", "holds 'notes.txt', which is not a cxsim result"),
    ("run", "subfolder/", "holds 'subfolder', which is not a cxsim result file"),
    ("run", "compare", "holds the results of cxsim compare"),
    ("run", "sweep", "holds the results of cxsim sweep"),
    ("compare", "run", "holds the results of cxsim run"),
    ("compare", "sweep", "holds the results of cxsim sweep"),
    ("sweep", "run", "holds the results of cxsim run"),
    ("sweep", "notes.txt", "holds 'notes.txt', which is not a cxsim result"),
])
def test_a_folder_of_something_else_is_refused_before_any_work(earlier, tmp_path, command,
                                                               holds, words):
    if holds in earlier:
        res = copy_of(earlier[holds], tmp_path)
        if holds == "sweep" and command == "sweep":
            pytest.skip("a sweep folder is resumed, not replaced")
    else:
        res = tmp_path / "res"
        res.mkdir()
        if holds.endswith("/"):
            (res / holds).mkdir()
        else:
            (res / holds).write_text("mine\n")
    before = snapshot(res)
    argv = {"run": ["run", *SMALL, "--quiet"], "compare": COMPARE, "sweep": SWEEP}[command]
    t0 = time.perf_counter()
    code, _, err = call([*argv, "--out", res])
    assert code == 2, err
    line = one_line(err)
    assert line.startswith(f"--out: {res} ") and words in line, line
    assert snapshot(res) == before and siblings(res) == ["res"]
    assert time.perf_counter() - t0 < 20  # refused before running


def test_a_folder_of_figures_only_is_replaced(tmp_path):
    res = tmp_path / "res"
    res.mkdir()
    (res / "old_figure.png").write_bytes(b"png")
    (res / ".DS_Store").write_bytes(b"finder")
    code, _, err = call(["run", *SMALL, "--quiet", "--out", res])
    assert code == 0, err
    assert set(os.listdir(res)) == RUN_FILES


# ---- links ------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "compare", "sweep"])
def test_out_as_a_link_to_a_folder_is_refused(command, tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "summary.json").write_text("not ours\n")
    link = tmp_path / "res"
    link.symlink_to(target)
    argv = {"run": ["run", *SMALL, "--quiet"], "compare": COMPARE, "sweep": SWEEP}[command]
    code, _, err = call([*argv, "--out", link])
    assert code == 2
    assert one_line(err) == (f"--out: {link} is a symbolic link; cxsim writes results only "
                             "into a folder itself, never through a link")
    assert os.listdir(target) == ["summary.json"] and link.is_symlink()


@pytest.mark.parametrize("command", ["run", "compare", "sweep"])
def test_a_dangling_link_as_out_is_refused(command, tmp_path):
    link = tmp_path / "res"
    link.symlink_to(tmp_path / "nowhere" / "made")
    argv = {"run": ["run", *SMALL, "--quiet"], "compare": COMPARE, "sweep": SWEEP}[command]
    code, _, err = call([*argv, "--out", link])
    assert code == 2 and "is a symbolic link" in one_line(err)
    assert not (tmp_path / "nowhere").exists() and sorted(os.listdir(tmp_path)) == ["res"]


@pytest.mark.parametrize("command", ["run", "compare", "sweep", "plot"])
@pytest.mark.parametrize("dangling", [True, False])
def test_a_link_inside_out_is_refused(command, dangling, earlier, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.txt"
    if not dangling:
        victim.write_text("precious\n")
    res = tmp_path / "res"
    if command == "plot":
        res = copy_of(earlier["run"], tmp_path)
        (res / "kpi_dashboard.png").unlink()
        (res / "kpi_dashboard.png").symlink_to(victim)
    else:
        res.mkdir()
        name = {"run": "metrics.csv", "compare": "roi.csv", "sweep": "journal.jsonl"}[command]
        (res / name).symlink_to(victim)
    argv = {"run": ["run", *SMALL, "--quiet"], "compare": COMPARE, "sweep": SWEEP,
            "plot": ["plot"]}[command]
    code, _, err = call([*argv, res] if command == "plot" else [*argv, "--out", res])
    assert code == 2, err
    assert "symbolic link" in one_line(err)
    assert os.listdir(outside) == ([] if dangling else ["victim.txt"])
    if not dangling:
        assert victim.read_text() == "precious\n"


@pytest.mark.parametrize("name", ["journal.jsonl", "sweep.json", "runs.parquet"])
def test_resume_refuses_a_linked_file_and_writes_nothing_outside(name, earlier, tmp_path):
    res = copy_of(earlier["sweep"], tmp_path)
    outside = tmp_path / "outside.txt"
    outside.write_bytes((res / name).read_bytes())
    (res / name).unlink()
    (res / name).symlink_to(outside)
    size, mtime = outside.stat().st_size, outside.stat().st_mtime_ns
    code, _, err = call(["sweep", "--out", res, "--resume", "--quiet"])
    assert code == 2 and "symbolic link" in one_line(err)
    assert (outside.stat().st_size, outside.stat().st_mtime_ns) == (size, mtime)


# ---- the lock --------------------------------------------------------------------------------


def test_a_second_resume_is_refused_while_one_holds_the_folder(earlier, tmp_path):
    from cxsim.io import folder_lock

    res = copy_of(earlier["sweep"], tmp_path)
    before = snapshot(res)
    with folder_lock(res):
        code, _, err = call(["sweep", "--out", res, "--resume"])
        assert code == 2
        assert one_line(err) == (f"--out: {res} is in use by another cxsim process (a sweep "
                                 "running or resuming there, or figures being drawn); wait "
                                 "until it ends")
        code, _, err = call(["plot", res])
        assert code == 2 and "in use by another cxsim process" in one_line(err)
    assert snapshot(res) == before
    code, _, err = call(["sweep", "--out", res, "--resume", "--quiet"])
    assert code == 0, err


def test_two_resumes_at_once_one_is_refused(tmp_path):
    """Two real processes resume the same interrupted sweep: one runs, one is refused."""
    out = tmp_path / "s"
    argv = ["sweep", "--param", "touchpoints.chat.quality=0.4:0.9:6", "--reps", "2",
            "--customers", "20000", "--days", "300", "--workers", "1", "--quiet"]
    code, _, err = call([*argv, "--out", out])
    assert code == 0, err
    journal = (out / "journal.jsonl").read_text().splitlines(keepends=True)
    (out / "journal.jsonl").write_text("".join(journal[:2]))
    cmd = [sys.executable, "-m", "cxsim.cli", "sweep", "--out", str(out), "--resume",
           "--workers", "1", "--quiet"]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=subprocess_env())
    deadline = time.monotonic() + 120
    while (out / "journal.jsonl").read_text().count("\n") < 3:  # the first one is running
        assert first.poll() is None and time.monotonic() < deadline, first.stderr.read()
        time.sleep(0.05)
    second = subprocess.run(cmd, capture_output=True, text=True, env=subprocess_env(),
                            timeout=120)
    _, err1 = first.communicate(timeout=300)
    assert first.returncode == 0, err1
    assert second.returncode == 2
    assert "is in use by another cxsim process" in one_line(second.stderr)
    ids = sorted(int(line.split('"run_id": ')[1].split(",")[0])
                 for line in (out / "journal.jsonl").read_text().splitlines())
    assert ids == list(range(12))  # every run once: the second process ran nothing
