"""A process killed at any point of writing a results folder leaves it old or new, never mixed.

A real ``cxsim`` process is stopped dead (``os._exit``, as ``kill -9`` would) at each step
of writing: inside each file, before the flush to disk, around the swap, before the old
folder is removed; with the one-call exchange and with the rename-aside fallback.  The
folder is then either the earlier one byte for byte or the complete new one; only hidden
temporary folders are left beside it, and the next command removes them (or, after the
fallback's worst moment, puts the earlier folder back first).  A sweep killed while writing
its final tables resumes to the uninterrupted results.  The long version (``slow``) also
kills real processes with SIGKILL at random moments, repeatedly.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import call, snapshot, subprocess_env

SMALL = ["--customers", "500", "--days", "5"]
RUN = ["run", *SMALL, "--quiet"]
RUN_FILES = {"metrics.csv", "summary.json", "touchpoints.csv", "flows.csv", "segments.csv",
             "queues.csv", "partners.csv", "employees.csv"}
SWEEP = ["sweep", "--param", "touchpoints.chat.quality=0.5,0.9", "--reps", "2", *SMALL,
         "--workers", "1", "--quiet"]

#: runs ``cxsim`` and dies at the ``DIE_AT``-th step of writing the results folder
DYING = r"""
import os, sys
import cxsim.cli as cli
import cxsim.io as io

die_at = int(os.environ["DIE_AT"])
steps = [0]
import atexit
atexit.register(lambda: sys.stderr.write(f"steps={steps[0]}\n"))

def step():
    steps[0] += 1
    if steps[0] == die_at:
        os._exit(137)

write = cli._write_atomic
def half_then_rest(path, text):
    step()
    with open(path, "w") as fh:  # a file half written when the process dies
        fh.write(text[: len(text) // 2])
        fh.flush()
        step()
    write(path, text)
cli._write_atomic = half_then_rest

def before(fn):
    def wrapped(*args, **kwargs):
        step()
        result = fn(*args, **kwargs)
        step()
        return result
    return wrapped

io._sync = before(io._sync)
io._remove_tree = before(io._remove_tree)
if os.environ.get("NO_EXCHANGE"):
    io._exchange = lambda a, b: False
else:
    io._exchange = before(io._exchange)
io.os = type(os)("os_for_io")
io.os.__dict__.update(os.__dict__)
io.os.rename = before(os.rename)
sys.exit(cli.main(sys.argv[1:]))
"""


def dying(argv: list, die_at: int, cwd: Path, exchange: bool = True
          ) -> subprocess.CompletedProcess:
    env = subprocess_env()
    env["DIE_AT"] = str(die_at)
    if not exchange:
        env["NO_EXCHANGE"] = "1"
    return subprocess.run([sys.executable, "-c", DYING, *map(str, argv)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def earlier(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("kill")
    made = {}
    for name, argv in (("old", [*RUN, "--seed", "3"]), ("new", [*RUN, "--seed", "4"]),
                       ("sweep", [*SWEEP, "--seed", "4"])):
        code, _, err = call([*argv, "--out", root / name])
        assert code == 0, err
        made[name] = root / name
    return made


def old_or_new(res: Path, old: dict, new: Path) -> str:
    """``"old"`` or ``"new"``: the folder is one of them, whole."""
    if not os.path.lexists(res):
        return "missing"
    if snapshot(res) == old:
        return "old"
    assert set(os.listdir(res)) == RUN_FILES, sorted(os.listdir(res))
    for name in RUN_FILES - {"summary.json"}:
        assert (res / name).read_bytes() == (new / name).read_bytes(), name
    assert '"seed": 4' in (res / "summary.json").read_text()
    return "new"


def visible(folder: Path) -> list[str]:
    return sorted(n for n in os.listdir(folder) if not n.startswith("."))


def _steps(argv: list, cwd: Path, exchange: bool = True, over: Path | None = None) -> int:
    """How many steps writing takes (a run that does not die reports them).

    ``over``: an earlier folder the command writes over (its ``--out``, the last argument).
    """
    if over is not None:
        shutil.copytree(over, argv[-1])
    proc = dying(argv, 0, cwd, exchange)
    assert proc.returncode == 0, proc.stderr
    return int(proc.stderr.strip().splitlines()[-1].split("=")[1])


def _kill_run_at(steps: list[int], exchange: bool, earlier: dict, tmp_path: Path) -> list:
    seen = []
    for die_at in steps:
        parent = tmp_path / f"k{die_at}"
        parent.mkdir()
        res = parent / "res"
        shutil.copytree(earlier["old"], res)
        old = snapshot(res)
        proc = dying([*RUN, "--seed", "4", "--out", res], die_at, parent, exchange)
        assert proc.returncode == 137, proc.stderr
        state = old_or_new(res, old, earlier["new"])
        assert visible(parent) in (["res"], []), os.listdir(parent)
        if state == "missing":  # the rename-aside fallback's one unsafe moment
            assert not exchange
        seen.append(state)
        # the next command cleans up (and first puts a set-aside folder back)
        code, _, err = call([*RUN, "--seed", "4", "--out", res])
        assert code == 0, err
        assert old_or_new(res, snapshot(res), earlier["new"]) in ("old", "new")
        assert os.listdir(parent) == ["res"], os.listdir(parent)
        shutil.rmtree(parent)
    return seen


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "rename-aside"])
def test_killed_while_writing_a_run(exchange, earlier, tmp_path):
    """The first steps, a file half written, and every step of the swap."""
    total = _steps([*RUN, "--seed", "4", "--out", tmp_path / "count"], tmp_path, exchange,
                   over=earlier["old"])
    assert total > 16
    steps = sorted({1, 7, *range(total - 6, total + 1)})
    seen = _kill_run_at(steps, exchange, earlier, tmp_path)
    assert "old" in seen and "new" in seen, seen
    if not exchange:
        assert "missing" in seen  # the step exists, and the recovery was tried


@pytest.mark.slow
@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "rename-aside"])
def test_killed_at_every_step_of_writing_a_run(exchange, earlier, tmp_path):
    total = _steps([*RUN, "--seed", "4", "--out", tmp_path / "count"], tmp_path, exchange,
                   over=earlier["old"])
    seen = _kill_run_at(list(range(1, total + 1)), exchange, earlier, tmp_path)
    assert seen.count("old") >= total - 8 and "new" in seen, seen


def test_a_set_aside_folder_is_put_back_before_anything_else(earlier, tmp_path):
    """Killed between the fallback's two renames: the next command restores the folder."""
    parent = tmp_path / "p"
    parent.mkdir()
    res = parent / "res"
    shutil.copytree(earlier["old"], res)
    old = snapshot(res)
    for die_at in range(1, 80):
        proc = dying([*RUN, "--seed", "4", "--out", res], die_at, parent, exchange=False)
        if not res.exists():
            break
        shutil.rmtree(res)
        for p in parent.iterdir():
            shutil.rmtree(p)
        shutil.copytree(earlier["old"], res)
    else:
        pytest.fail("never killed between the two renames")
    assert proc.returncode == 137
    code, _, err = call(["plot", res])  # a reader sees nothing until a writer restores it
    assert code == 2 and "no such folder" in err
    code, _, err = call(["run", *SMALL, "--strategy", "nope", "--out", res])  # refused early
    assert code == 2
    code, _, err = call([*RUN, "--seed", "4", "--out", res, "--days", "-1"])
    assert code == 2
    from cxsim.io import Stage

    with Stage(res, "run"):  # staging the folder again puts the earlier one back first
        assert snapshot(res) == old
    assert os.listdir(parent) == ["res"]


def test_a_sweep_killed_while_writing_its_final_tables_resumes(earlier, tmp_path):
    ref = pd.read_parquet(earlier["sweep"] / "runs.parquet")
    total = _steps([*SWEEP, "--seed", "4", "--out", tmp_path / "count"], tmp_path)
    for die_at in range(1, total + 1):
        parent = tmp_path / f"s{die_at}"
        parent.mkdir()
        res = parent / "res"
        proc = dying([*SWEEP, "--seed", "4", "--out", res], die_at, parent)
        assert proc.returncode == 137, proc.stderr
        assert visible(parent) in (["res"], [])
        if not (res / "sweep.json").exists():
            continue
        code, _, err = call(["sweep", "--out", res, "--resume", "--quiet"])
        assert code == 0, err
        pd.testing.assert_frame_equal(pd.read_parquet(res / "runs.parquet"), ref)
        assert os.listdir(parent) == ["res"]


# ---- the long version: real SIGKILLs at random moments ---------------------------------------


def _start(argv: list, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cxsim.cli", *map(str, argv)], cwd=cwd,
                            env=subprocess_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)


@pytest.mark.slow
def test_runs_killed_at_random_moments(earlier, tmp_path):
    rng = random.Random(18)
    big = ["run", "--customers", "3000", "--days", "400", "--quiet", "--plot"]
    ref = tmp_path / "ref"
    code, _, err = call([*big, "--seed", "4", "--out", ref])
    assert code == 0, err
    t0 = time.monotonic()
    full = subprocess.run([sys.executable, "-m", "cxsim.cli", *big, "--seed", "4", "--out",
                           str(tmp_path / "timed")], env=subprocess_env(), timeout=600)
    assert full.returncode == 0
    span = time.monotonic() - t0
    parent = tmp_path / "p"
    parent.mkdir()
    res = parent / "res"
    shutil.copytree(earlier["old"], res)
    for _ in range(25):
        old = snapshot(res)
        proc = _start([*big, "--seed", "4", "--out", res], parent)
        time.sleep(rng.uniform(0.5, span * 1.1))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        assert visible(parent) == ["res"]
        now = snapshot(res)
        if now != old:  # the new results, whole
            assert set(os.listdir(res)) == set(os.listdir(ref))
            for name in os.listdir(ref):
                if name.endswith(".csv"):
                    assert (res / name).read_bytes() == (ref / name).read_bytes(), name
            shutil.rmtree(res)
            shutil.copytree(earlier["old"], res)
    code, _, err = call([*RUN, "--seed", "4", "--out", res])
    assert code == 0 and os.listdir(parent) == ["res"]


@pytest.mark.slow
def test_a_sweep_killed_again_and_again_resumes_to_the_uninterrupted_rows(tmp_path):
    argv = ["sweep", "--param", "touchpoints.chat.quality=0.4:0.9:6", "--param",
            "strategy=baseline,fix_courier", "--reps", "2", "--customers", "5000",
            "--days", "60", "--quiet", "--ticks"]
    ref = tmp_path / "ref"
    code, _, err = call([*argv, "--workers", "1", "--out", ref])
    assert code == 0, err
    rng = random.Random(7)
    res = tmp_path / "res"
    proc = _start([*argv, "--workers", "2", "--out", res], tmp_path)
    for _ in range(6):
        time.sleep(rng.uniform(1.0, 6.0))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        if not (res / "sweep.json").exists():
            proc = _start([*argv, "--workers", "2", "--out", res], tmp_path)
            continue
        proc = _start(["sweep", "--out", res, "--resume", "--workers", "2", "--quiet"],
                      tmp_path)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    pd.testing.assert_frame_equal(pd.read_parquet(res / "runs.parquet"),
                                  pd.read_parquet(ref / "runs.parquet"))
    pd.testing.assert_frame_equal(pd.read_parquet(res / "ticks.parquet"),
                                  pd.read_parquet(ref / "ticks.parquet"))
    assert sorted(os.listdir(tmp_path)) == ["ref", "res"]
