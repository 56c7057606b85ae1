"""Atomic result files: the usual permissions, nothing left behind, no process-wide change."""

import os
import stat

import pytest

from cxsim.io import atomic_path, write_atomic


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
