"""Writing result files atomically: a failure never leaves half a file behind."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: version of the layout of run and compare results folders (``summary.json`` and
#: ``compare.json`` carry it as ``"format"``); ``cxsim plot`` refuses other versions
RESULTS_FORMAT = 1


def _new_temporary(path: Path) -> Path:
    """Create an empty file next to ``path`` with the usual permissions; return its path.

    Opened with mode ``0o666`` and ``O_EXCL`` under a random name, so the operating system
    applies the process's umask (as for any new file) and no other file is touched; the
    umask itself is never read or changed.
    """
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"no free temporary name next to {path}")


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path``.

    Whatever is written to the yielded path becomes ``path`` in one ``os.replace`` with the
    usual permissions of a new file (``0666 & ~umask``); on any error the temporary file is
    removed and ``path`` is left as it was.
    """
    path = Path(path)
    tmp = _new_temporary(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: Path | str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` via a temporary file and ``os.replace``."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)


def read_csv_text(path: Path | str, text: tuple[str, ...] = ()):
    """Read a results CSV; in the ``text`` columns an empty cell stays ``""`` (not NaN)."""
    import pandas as pd

    columns = pd.read_csv(path, nrows=0).columns
    return pd.read_csv(path, keep_default_na=False, dtype=dict.fromkeys(text, str),
                       na_values={c: ["", "NaN", "nan"] for c in columns if c not in text})
