"""Writing result files atomically: a failure never leaves half a file behind."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _current_umask()

#: version of the layout of run and compare results folders (``summary.json`` and
#: ``compare.json`` carry it as ``"format"``); ``cxsim plot`` refuses other versions
RESULTS_FORMAT = 1


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path``.

    Whatever is written to the yielded path becomes ``path`` in one ``os.replace`` with the
    usual permissions (``0666 & ~umask``); on any error the temporary file is removed and
    ``path`` is left as it was.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
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
