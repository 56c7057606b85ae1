"""Result files and folders (:mod:`cxsim.io`): atomic files with the usual permissions,
folders staged and swapped in whole, locks, and reads of untrusted files within limits."""

import errno
import json
import os
import stat
import subprocess
import sys

import pytest

from cxsim.io import (
    FolderError,
    Stage,
    atomic_path,
    check_contents,
    check_target,
    folder_lock,
    json_depth,
    read_bytes,
    read_json,
    read_table,
    write_atomic,
)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077])
def test_new_files_get_the_umask_permissions(tmp_path, mask):
    old = os.umask(mask)
    try:
        write_atomic(tmp_path / "a.txt", "x")
        assert os.umask(mask) == mask  # writing did not change the process's umask
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o666 & ~mask
    assert os.listdir(tmp_path) == ["a.txt"]


def test_a_failed_write_leaves_the_old_file(tmp_path):
    (tmp_path / "a.txt").write_text("old")
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "a.txt") as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert (tmp_path / "a.txt").read_text() == "old"
    assert os.listdir(tmp_path) == ["a.txt"]


# ---- staging a folder ------------------------------------------------------------------------

def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_stage_replaces_the_folder_whole_and_keeps_what_it_is_told(tmp_path):
    out = tmp_path / "res"
    out.mkdir()
    (out / "runs.csv").write_text("kept\n")
    (out / "ticks.csv").write_text("dropped\n")
    with Stage(out, "compare", keep=lambda name: name == "runs.csv") as stage:
        assert stage.path.parent == tmp_path and stage.path.name.startswith(".res-")
        assert (stage.path / "runs.csv").read_text() == "kept\n"
        assert (stage.path / "runs.csv").stat().st_ino == (out / "runs.csv").stat().st_ino
        (stage.path / "roi.csv").write_text("new\n")
        assert sorted(os.listdir(out)) == ["runs.csv", "ticks.csv"]  # not yet
        stage.commit()
    assert sorted(os.listdir(out)) == ["roi.csv", "runs.csv"]
    assert os.listdir(tmp_path) == ["res"]


def test_an_uncommitted_stage_leaves_nothing(tmp_path):
    out = tmp_path / "res"
    with pytest.raises(RuntimeError), Stage(out, "run") as stage:
        (stage.path / "metrics.csv").write_text("half")
        raise RuntimeError("stopped")
    assert os.listdir(tmp_path) == []


def test_stale_stages_of_dead_processes_are_removed(tmp_path):
    out = tmp_path / "res"
    out.mkdir()
    from cxsim.io import _stage_name

    dead = tmp_path / _stage_name("res", "new", _dead_pid())
    dead.mkdir()
    (dead / "metrics.csv").write_text("half")
    alive = tmp_path / _stage_name("res", "new", os.getpid())
    alive.mkdir()
    with Stage(out, "run") as stage:
        stage.commit()
    assert sorted(os.listdir(tmp_path)) == sorted(["res", alive.name])


def test_an_old_folder_set_aside_by_a_dead_process_is_put_back(tmp_path):
    from cxsim.io import _stage_name

    aside = tmp_path / _stage_name("res", "old", _dead_pid())
    aside.mkdir()
    (aside / "summary.json").write_text("{}")
    stage = Stage(tmp_path / "res", "run")
    assert (tmp_path / "res" / "summary.json").read_text() == "{}"
    assert stage.existed
    stage.discard()
    assert os.listdir(tmp_path) == ["res"]


@pytest.mark.parametrize("make, words", [
    (lambda p: p.symlink_to(p.parent / "elsewhere"), "is a symbolic link"),
    (lambda p: p.write_text("x"), "exists and is not a folder"),
    (lambda p: None, None),
])
def test_check_target(tmp_path, make, words):
    out = tmp_path / "res"
    make(out)
    if words is None:
        assert check_target(out) == out
        return
    with pytest.raises(FolderError, match=words) as err:
        check_target(out)
    assert str(err.value).startswith("out: ")
    assert not (tmp_path / "elsewhere").exists()


def test_check_target_refuses_empty_root_and_the_current_folder(tmp_path, monkeypatch):
    with pytest.raises(FolderError, match="must name a folder"):
        check_target("")
    with pytest.raises(FolderError, match="root of the file system"):
        check_target("/")
    monkeypatch.chdir(tmp_path)
    for path in (".", tmp_path, tmp_path.parent):
        with pytest.raises(FolderError, match="current folder or contains it"):
            check_target(path)


def test_check_contents_names_what_is_in_the_way(tmp_path):
    (tmp_path / "metrics.csv").write_text("x")
    check_contents(tmp_path, "run")
    (tmp_path / ".metrics.csv.0123456789ab.tmp").write_text("a killed process's")
    check_contents(tmp_path, "run")
    (tmp_path / "roi.csv").write_text("x")
    with pytest.raises(FolderError, match=r"holds the results of cxsim compare \(roi.csv\)"):
        check_contents(tmp_path, "run")
    check_contents(tmp_path, None)  # any regular files, for figures added by plot


def test_the_lock_is_exclusive(tmp_path):
    with folder_lock(tmp_path):
        with pytest.raises(FolderError, match="in use by another cxsim process"):
            with folder_lock(tmp_path):
                pass
    with folder_lock(tmp_path):
        pass


# ---- reading untrusted files -------------------------------------------------------------------


def test_reads_refuse_links_fifos_and_oversized_files(tmp_path):
    (tmp_path / "ok.json").write_text('{"a": 1}')
    assert read_json(tmp_path / "ok.json") == {"a": 1}
    (tmp_path / "link.json").symlink_to(tmp_path / "ok.json")
    with pytest.raises(FolderError, match="is a symbolic link"):
        read_json(tmp_path / "link.json")
    os.mkfifo(tmp_path / "fifo.json")
    with pytest.raises(FolderError, match="not a regular file"):
        read_json(tmp_path / "fifo.json")  # returns at once: no writer is waited for
    with open(tmp_path / "big.json", "wb") as fh:
        fh.truncate(10 * 2**20)
    with pytest.raises(FolderError, match="more than the 4 MiB"):
        read_json(tmp_path / "big.json")
    with pytest.raises(FolderError, match="is missing"):
        read_bytes(tmp_path / "none.json", 10)


def test_json_depth_is_limited(tmp_path):
    assert json_depth({"a": [1, {"b": []}]}) == 4 and json_depth(7) == 0
    (tmp_path / "deep.json").write_text("[" * 40 + "]" * 40)
    with pytest.raises(FolderError, match="nested more than 32 levels"):
        read_json(tmp_path / "deep.json")
    (tmp_path / "deeper.json").write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(FolderError, match="nested too deeply"):
        read_json(tmp_path / "deeper.json")
    (tmp_path / "bad.json").write_bytes(b"\xff\xfe{")
    with pytest.raises(FolderError, match="not UTF-8"):
        read_json(tmp_path / "bad.json")
    (tmp_path / "nan.json").write_text(json.dumps({"x": float("nan")}))
    assert read_json(tmp_path / "nan.json")["x"] != 0  # NaN, as cxsim writes it


def test_a_parquet_file_claiming_more_rows_is_refused_from_its_metadata(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"a": pa.nulls(3_000_000, pa.int64())}), tmp_path / "t.parquet")
    assert (tmp_path / "t.parquet").stat().st_size < 2**20
    with pytest.raises(FolderError, match="claims 3,000,000 rows; this results folder can "
                                          "have at most 10"):
        read_table(tmp_path / "t.parquet", 10)
    assert len(read_table(tmp_path / "t.parquet", 3_000_000)) == 3_000_000


def test_a_csv_is_read_up_to_its_row_limit(tmp_path):
    (tmp_path / "t.csv").write_text("a,b\n" + "1,x\n" * 50)
    assert len(read_table(tmp_path / "t.csv", 50)) == 50
    with pytest.raises(FolderError, match="more than 49 rows"):
        read_table(tmp_path / "t.csv", 49)
    (tmp_path / "q.csv").write_text('a,b\n"1,2\n3,4,5\n')
    with pytest.raises(FolderError, match="cannot be read"):
        read_table(tmp_path / "q.csv", 10)


def test_os_errors_while_writing_name_the_folder(tmp_path):
    stage = Stage(tmp_path / "res", "run")
    with pytest.raises(FolderError) as err, stage.writing():
        raise OSError(errno.ENOSPC, "No space left on device")
    assert str(err.value) == (f"out: cannot write {tmp_path / 'res'} (No space left on "
                              "device); nothing was written")
    assert err.value.errno == errno.ENOSPC
    stage.discard()
    assert os.listdir(tmp_path) == []
