"""A full disk (or a read-only one) never leaves a mixed or half-written results folder.

Each command writes into a small tmpfs filled to a given level of free pages, over an
earlier result.  At every level the command either succeeds (the folder then equals the
same command's results on a roomy disk) or exits 2 with one line naming the folder, the
earlier folder byte for byte as it was and nothing else left beside it.  A sweep stopped by
a full disk says how to continue, does not claim to be running when ``sweep.json`` could be
written, and ``--resume`` with room again gives the uninterrupted results; so do calibrate
and optimise, which also save as they go.  discover and plot add to a results folder all at
once or leave it as it was.

Needs ``mount -t tmpfs`` (root, as in CI); skipped with the reason otherwise.  The default
run tries a few fill levels; ``slow`` tries every page from full to enough.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from conftest import call, snapshot

PAGE = 4096
SMALL = ["--customers", "500", "--days", "5"]
RUN = ["run", *SMALL, "--quiet"]
COMPARE = ["compare", "--customers", "500", "--days", "35", "--reps", "2", "--strategies",
           "fix_courier", "--workers", "1", "--quiet"]
SWEEP = ["sweep", "--param", "touchpoints.chat.quality=0.5,0.7,0.9", "--reps", "2", *SMALL,
         "--workers", "1", "--quiet"]


@contextlib.contextmanager
def tmpfs(where: Path, kib: int) -> Iterator[Path]:
    """A tmpfs of ``kib`` KiB mounted at ``where`` (skip the test if that is not allowed)."""
    where.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kib}k", "tmpfs", str(where)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip() or 'not permitted'}); "
                    "the disk-full tests need root, as in CI")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def fill(mount: Path, free_pages: int) -> None:
    """Fill the tmpfs so that exactly ``free_pages`` pages are free."""
    filler = mount / "filler"
    filler.unlink(missing_ok=True)
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        block = b"\0" * (64 * PAGE)
        while True:
            try:
                os.write(fd, block)
            except OSError:
                break
        while True:
            try:
                os.write(fd, b"\0" * PAGE)
            except OSError:
                break
        size = os.fstat(fd).st_size
        os.ftruncate(fd, max(0, size - free_pages * PAGE))
    finally:
        os.close(fd)


def empty(mount: Path) -> None:
    (mount / "filler").unlink(missing_ok=True)


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def same_results(a: Path, b: Path, skip: tuple[str, ...] = ()) -> None:
    """The same files with the same bytes (``skip``: files that hold a wall time)."""
    assert sorted(os.listdir(a)) == sorted(os.listdir(b))
    for name in os.listdir(a):
        if name not in skip and not name.endswith(".png"):
            assert (a / name).read_bytes() == (b / name).read_bytes(), name


def pages_of(folder: Path) -> int:
    return sum(-(-p.stat().st_size // PAGE) for p in folder.iterdir())


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, Path]:
    """Each command's results on a roomy disk: the earlier ones and the new ones."""
    root = tmp_path_factory.mktemp("roomy")
    made = {}
    for name, argv in (("run-old", [*RUN, "--seed", "3"]), ("run-new", [*RUN, "--seed", "4"]),
                       ("compare-old", [*COMPARE, "--seed", "3"]),
                       ("compare-new", [*COMPARE, "--seed", "4", "--plot"]),
                       ("sweep", [*SWEEP, "--seed", "4"])):
        code, _, err = call([*argv, "--out", root / name])
        assert code == 0, err
        made[name] = root / name
    made["plot-new"] = root / "plot-new"
    shutil.copytree(made["run-old"], made["plot-new"])
    code, _, err = call(["plot", made["plot-new"], "--quiet"])
    assert code == 0, err
    return made


def _check_levels(command: str, reference: dict[str, Path], mount: Path,
                  levels: list[int]) -> list[int]:
    """Run ``command`` over its earlier results at each fill level; return the codes."""
    old = reference[f"{'run' if command == 'plot' else command}-old"]
    codes = []
    for level in levels:
        res = mount / "res"
        if res.exists():
            shutil.rmtree(res)
        empty(mount)
        shutil.copytree(old, res)
        before = snapshot(res)
        fill(mount, level)
        argv = {"run": [*RUN, "--seed", "4", "--out", res],
                "compare": [*COMPARE, "--seed", "4", "--plot", "--out", res],
                "plot": ["plot", res, "--quiet"]}[command]
        code, _, err = call(argv)
        codes.append(code)
        assert sorted(os.listdir(mount)) == ["filler", "res"], (level, os.listdir(mount))
        if code == 0:
            if command == "plot":
                assert {"kpi_dashboard.png", "workforce.png"} <= set(os.listdir(res))
                for name, (data, _mtime, _mode) in before.items():
                    assert (res / name).read_bytes() == data, name
            else:
                same_results(res, reference[f"{command}-new"], skip=(
                    "summary.json", "compare.json"))
            continue
        assert code == 2, (level, err)
        line = one_line(err)
        assert str(res) in line and "No space left on device" in line, line
        assert line.endswith("it is as it was"), line
        assert snapshot(res) == before, level  # the earlier folder, byte for byte
    empty(mount)
    return codes


FAST_LEVELS = [0, 1, 3, 6, 12, 24, 400]


@pytest.mark.parametrize("command", ["run", "compare", "plot"])
def test_a_full_disk_leaves_the_earlier_folder(command, reference, tmp_path):
    with tmpfs(tmp_path / "fs", 2048) as mount:
        codes = _check_levels(command, reference, mount, FAST_LEVELS)
    assert codes[0] == 2 and codes[-1] == 0, codes  # both outcomes were met


@pytest.mark.slow
@pytest.mark.parametrize("command", ["run", "compare", "plot"])
def test_a_full_disk_at_every_fill_level(command, reference, tmp_path):
    need = pages_of(reference[f"{command}-new"]) + pages_of(reference["run-old"])
    step = 1 if command == "run" else 3  # figures take hundreds of pages
    with tmpfs(tmp_path / "fs", 8192) as mount:
        codes = _check_levels(command, reference, mount, list(range(0, need + 40, step)))
    assert 2 in codes and codes[-1] == 0, codes


def test_a_read_only_disk_leaves_the_earlier_folder(reference, tmp_path):
    with tmpfs(tmp_path / "fs", 2048) as mount:
        res = mount / "res"
        shutil.copytree(reference["run-old"], res)
        before = snapshot(res)
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        try:
            for argv in ([*RUN, "--out", res], ["plot", res],
                         [*COMPARE, "--out", mount / "new"]):
                code, _, err = call(argv)
                assert code == 2, err
                assert "Read-only file system" in one_line(err)
        finally:
            subprocess.run(["mount", "-o", "remount,rw", str(mount)], check=True)
        assert snapshot(res) == before and sorted(os.listdir(mount)) == ["res"]


# ---- sweeps ----------------------------------------------------------------------------------


def _sweep_levels(reference: dict[str, Path], mount: Path, levels: list[int],
                  argv: list[str], ref: Path) -> list[str]:
    """A new sweep at each fill level, then a resume with room; return what happened."""
    seen = []
    for level in levels:
        res = mount / "res"
        if res.exists():
            shutil.rmtree(res)
        empty(mount)
        fill(mount, level)
        code, _, err = call([*argv, "--out", res])
        if code == 0:
            seen.append("complete")
        else:
            assert code == 2, (level, err)
            line = one_line(err)
            assert str(res) in line and "No space left on device" in line, line
            if line.endswith("nothing ran"):
                seen.append("nothing ran")
                assert not res.exists(), level  # nothing that looks like a sweep
                continue
            assert line.endswith("runs finished and saved; continue with --resume"), line
            seen.append("stopped")
            meta = json.loads((res / "sweep.json").read_text())
            if meta["status"] != "stopped":  # it could not be written at all
                assert meta["status"] == "running"
            empty(mount)
            code, _, err = call(["sweep", "--out", res, "--resume", "--quiet"])
            assert code == 0, err
        assert sorted(os.listdir(mount)) in (["filler", "res"], ["res"]), os.listdir(mount)
        pd.testing.assert_frame_equal(pd.read_parquet(res / "runs.parquet"),
                                      pd.read_parquet(ref / "runs.parquet"))
        assert json.loads((res / "sweep.json").read_text())["status"] == "complete"
    empty(mount)
    return seen


def test_a_full_disk_stops_a_sweep_that_resumes_to_the_same_results(reference, tmp_path):
    with tmpfs(tmp_path / "fs", 2048) as mount:
        seen = _sweep_levels(reference, mount, [0, 14, 18, 22, 400],
                             [*SWEEP, "--seed", "4"], reference["sweep"])
    assert {"nothing ran", "stopped", "complete"} <= set(seen), seen


@pytest.mark.slow
def test_a_full_disk_at_every_point_of_a_sweep(tmp_path):
    """Longer lines (per-tick metrics) and more runs: the disk fills during the runs."""
    argv = ["sweep", "--param", "touchpoints.chat.quality=0.5:0.9:5", "--reps", "3",
            "--customers", "500", "--days", "40", "--ticks", "--workers", "1", "--quiet",
            "--seed", "2"]
    ref = tmp_path / "ref"
    code, _, err = call([*argv, "--out", ref])
    assert code == 0, err
    need = 2 * pages_of(ref) + 8
    with tmpfs(tmp_path / "fs", 4096) as mount:
        seen = _sweep_levels({}, mount, list(range(0, need, 2)), argv, ref)
    assert {"nothing ran", "stopped", "complete"} <= set(seen), seen


# ---- calibrate and optimise: saved as they go; discover and plot: added to a folder ----------

CALIBRATE = ["calibrate", "--param", "segments.loyal.base_churn=uniform(0.005,0.04)",
             "--customers", "200", "--days", "10", "--budget", "16", "--reps", "1",
             "--check-reps", "2", "--method", "prior", "--workers", "1", "--quiet"]
OPTIMISE = ["optimise", "--customers", "200", "--days", "10", "--strategies",
            "fix_courier,recover_detractors", "--trials", "4", "--reps", "2", "--batch", "2",
            "--reeval-reps", "2", "--workers", "1", "--quiet"]
#: per search command: its arguments, its provenance file and the results compared
SEARCHES = {"calibrate": (CALIBRATE, "calibration.json",
                          ("fit.csv", "estimates.csv", "calibrated.toml")),
            "optimise": (OPTIMISE, "search.json",
                         ("pareto.csv", "candidates.csv", "best.toml"))}


@pytest.mark.parametrize("command", sorted(SEARCHES))
def test_a_full_disk_stops_a_search_that_resumes_to_the_same_results(command, tmp_path):
    argv, meta_name, compared = SEARCHES[command]
    if command == "calibrate":
        targets = tmp_path / "observed.csv"
        targets.write_text("metric,day_from,day_to,value,n\nmonthly_churn,1,10,0.02,1000\n")
        argv = [*argv, "--targets", str(targets)]
    ref = tmp_path / "ref"
    code, _, err = call([*argv, "--out", ref])
    assert code == 0, err
    seen = []
    with tmpfs(tmp_path / "fs", 2048) as mount:
        for level in (0, 2, 6, 10, 400):
            res = mount / "res"
            if res.exists():
                shutil.rmtree(res)
            empty(mount)
            fill(mount, level)
            code, _, err = call([*argv, "--out", res])
            if code != 0:
                assert code == 2, (level, err)
                line = one_line(err)
                assert str(res) in line and "No space left on device" in line, line
                if line.endswith("nothing ran"):
                    seen.append("nothing ran")
                    assert not res.exists(), level  # nothing that looks like results
                    continue
                assert line.endswith("continue with --resume"), line
                seen.append("stopped")
                assert json.loads((res / meta_name).read_text())["status"] != "complete"
                empty(mount)
                code, _, err = call([*argv, "--out", res, "--resume"])
                assert code == 0, err
            else:
                seen.append("complete")
            assert sorted(os.listdir(mount)) in (["filler", "res"], ["res"]), level
            assert json.loads((res / meta_name).read_text())["status"] == "complete"
            for name in compared:
                assert (res / name).read_bytes() == (ref / name).read_bytes(), (level, name)
        empty(mount)
    assert {"nothing ran", "stopped", "complete"} <= set(seen), seen


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    """A sweep folder (lhs, for discover and plot) and a calibration folder (for plot)."""
    root = tmp_path_factory.mktemp("folders")
    targets = root / "observed.csv"
    targets.write_text("metric,day_from,day_to,value,n\nmonthly_churn,1,10,0.02,1000\n")
    made = {"sweep": root / "sweep", "calibrate": root / "calibrate"}
    for argv in (["sweep", "--design", "lhs", "--samples", "12", "--param",
                  "teams.contact_centre.headcount=int(1,14)", *SMALL, "--workers", "1",
                  "--quiet", "--out", made["sweep"]],
                 [*CALIBRATE, "--targets", targets, "--out", made["calibrate"]]):
        code, _, err = call(argv)
        assert code == 0, err
    return made


@pytest.mark.parametrize("command, source", [("discover", "sweep"), ("plot", "sweep"),
                                             ("plot", "calibrate")])
def test_a_full_disk_adds_nothing_to_a_results_folder(command, source, folders, tmp_path):
    """discover and plot add to a folder all at once, or leave it byte for byte as it was."""
    codes = []
    with tmpfs(tmp_path / "fs", 4096) as mount:
        for level in (0, 3, 20, 800):
            res = mount / "res"
            if res.exists():
                shutil.rmtree(res)
            empty(mount)
            shutil.copytree(folders[source], res)
            before = snapshot(res)
            fill(mount, level)
            argv = (["discover", res, "--where", "service_level < 0.024", "--quiet"]
                    if command == "discover" else ["plot", res, "--quiet"])
            code, _, err = call(argv)
            codes.append(code)
            assert sorted(os.listdir(mount)) == ["filler", "res"], (level, os.listdir(mount))
            if code == 0:
                added = set(os.listdir(res)) - set(before)
                assert added == ({"discovery"} if command == "discover" else added) and added
                if command == "discover":
                    assert {"boxes.csv", "discovery.json"} <= set(os.listdir(res / "discovery"))
                continue
            assert code == 2, (level, err)
            line = one_line(err)
            assert str(res) in line and "No space left on device" in line, line
            assert snapshot(res) == before, level
        empty(mount)
    assert codes[0] == 2 and codes[-1] == 0, codes
