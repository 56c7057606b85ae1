"""Results folders on disk: written all new or left all old, read back as untrusted input.

**Writing.**  A command that writes a results folder (``cxsim run``, ``compare``, the final
tables of ``sweep``, figures of ``plot``) writes it whole into a temporary sibling folder
(``.NAME-HASH.cxsim-new-PID-TOKEN`` next to ``NAME``; :class:`Stage`), flushes every file to
the disk, and then swaps it in:

- on Linux (``renameat2(RENAME_EXCHANGE)``) and macOS (``renamex_np(RENAME_SWAP)``) the new
  and the old folder trade places in one system call, so ``NAME`` is at every instant either
  the complete old folder or the complete new one; the old one, now under the temporary
  name, is deleted afterwards;
- elsewhere (or on a file system without the exchange) the old folder is renamed aside
  (``.NAME-HASH.cxsim-old-PID-TOKEN``), the new one renamed in, the old one deleted.  A
  process killed between those two renames leaves ``NAME`` missing and the old folder
  aside; the next command that stages ``NAME`` renames it back.

A failure at any point before the swap (disk full, no permission, a read-only file system,
Ctrl-C, the process killed) leaves ``NAME`` exactly as it was: the temporary folder is
removed, or, after ``kill -9``, left under its hidden name and removed by the next command
that stages a folder beside it (once its process is gone).  Operating-system errors become
:class:`FolderError`, one line naming the folder (exit code 2 at the command line).

A results folder belongs to cxsim: what is replaced must hold only results of the same kind
(``run``, ``compare`` or ``sweep``), figures (``*.png``) and cxsim's own temporary files.  A
folder holding anything else (a subfolder, a symbolic link, ``notes.txt``, the results of
another command) is refused before any work, so nothing of the user's is ever deleted, and
the new folder holds only the new results (no figure of an earlier run beside new tables).
The one subfolder allowed is a sweep's ``discovery`` (:data:`SUBFOLDERS`, written by ``cxsim
discover``): it may hold only discovery results and figures, is staged and swapped like any
results folder (its temporary siblings live inside the sweep folder and are passed over by
the checks), and is carried along when figures are added to the sweep folder.
Nothing follows a symbolic link: ``--out`` itself and every file inside are checked with
``lstat``/``O_NOFOLLOW``.  Single files are written with :func:`atomic_path` (a temporary
file and ``os.replace``).

**Reading.**  Every file read back from a results folder is untrusted: :func:`read_bytes`
opens it without following links and without blocking (a FIFO or a device is refused),
checks that it is a regular file within a size cap, and reads at most that many bytes;
:func:`read_json` limits the nesting depth; :func:`read_table` checks a Parquet file's
metadata (row and column counts) against the caller's limits before reading any data and
caps a CSV's rows the same way.  Problems are :class:`FolderError` (one line).

**Locking.**  :func:`folder_lock` takes an exclusive ``flock`` on the folder itself (no
lock file): a sweep holds it while it runs or resumes, ``cxsim plot`` while it adds
figures, so a second process is refused at once instead of interleaving with the first.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import io as _io
import json
import os
import re
import secrets
import shutil
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import Arg, InputError

#: version of the layout of run and compare results folders (``summary.json`` and
#: ``compare.json`` carry it as ``"format"``); ``cxsim plot`` refuses other versions
RESULTS_FORMAT = 1

#: the files each kind of results folder holds (figures, ``*.png``, come on top)
RUN_FILES = ("metrics.csv", "summary.json", "touchpoints.csv", "flows.csv", "segments.csv",
             "queues.csv", "partners.csv", "employees.csv", "retention.csv", "triggers.csv",
             "voice.csv")  # voice.csv: a voice_of_customer programme's decisions (cxsim.voice)
COMPARE_FILES = ("comparison.csv", "runs.csv", "runs.parquet", "ticks.csv", "roi.csv",
                 "compare.json", "runs.jsonl", "resume.json")
SWEEP_FILES = ("sweep.json", "journal.jsonl", "runs.parquet", "runs.csv", "ticks.parquet",
               "ticks.csv", "sensitivity.csv")
CALIBRATE_FILES = ("calibration.json", "evaluations.jsonl", "calibrated.toml", "posterior.parquet",
                   "posterior.csv", "fit.csv", "estimates.csv", "evaluations.csv")
OPTIMISE_FILES = ("search.json", "candidates.jsonl", "pareto.csv", "candidates.csv",
                  "best.toml")
DISCOVERY_FILES = ("boxes.csv", "trajectory.csv", "rules.csv", "scores.csv", "discovery.json",
                   "ema_results.tar.gz")
KIND_FILES = {"run": RUN_FILES, "compare": COMPARE_FILES, "sweep": SWEEP_FILES,
              "calibrate": CALIBRATE_FILES, "optimise": OPTIMISE_FILES,
              "discover": DISCOVERY_FILES}

#: the subfolders a kind of results folder may hold, each with the kind of results inside
SUBFOLDERS = {"sweep": {"discovery": "discover"}}

#: files that say which command wrote a folder
MARKERS = {"run": ("summary.json", "metrics.csv"),
           "compare": ("compare.json", "comparison.csv", "roi.csv", "resume.json"),
           "sweep": ("sweep.json", "journal.jsonl"),
           "calibrate": ("calibration.json", "calibrated.toml"),
           "optimise": ("search.json", "pareto.csv"),
           "discover": ("discovery.json", "boxes.csv")}

#: files operating systems leave in any folder a person looks at; replaced like figures
LITTER = (".DS_Store", "Thumbs.db", "desktop.ini")

#: the report ``cxsim report DIR`` writes into any kind of results folder (like figures:
#: carried along by ``cxsim plot``, replaced with the folder by a new run of its command)
REPORT = "report.html"

#: size caps of the files read back from a results folder (bytes)
MAX_JSON_BYTES = 4 * 2**20          # summary.json, compare.json
MAX_SWEEP_JSON_BYTES = 256 * 2**20  # sweep.json: the scenario and every design point
MAX_TABLE_BYTES = 512 * 2**20       # one CSV or Parquet table

#: JSON nesting a results file may have (a scenario is about five levels deep)
MAX_JSON_DEPTH = 32

#: columns a results table may have
MAX_COLUMNS = 2_000

#: uncompressed bytes a Parquet table may declare (checked in its metadata before reading)
MAX_PARQUET_BYTES = 4 * 2**30

_TOKEN = re.compile(r"\.cxsim-(new|old)-(\d+)-[0-9a-f]+$")
_ATOMIC_TEMP = re.compile(r"^\..+\.[0-9a-f]{12}\.tmp$")


class FolderError(InputError):
    """A results folder cannot be used: refused, unreadable, damaged or not writable.

    One line naming the folder or the file.  ``errno`` is the operating system's error
    number when one caused it (``errno.ENOSPC`` for a full disk), else ``None``.
    """

    def __init__(self, *parts: str | Arg, errno_: int | None = None):
        super().__init__(*parts)
        self.errno = errno_


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def shown(path: Path | str) -> str:
    """A path as a message shows it: as given, shortened when very long."""
    text = str(path)
    return text if len(text) <= 200 else text[:100] + "..." + text[-60:]


# --------------------------------------------------------------------------------------------
# Single files
# --------------------------------------------------------------------------------------------


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
    removed and ``path`` is left as it was.  ``os.replace`` replaces a symbolic link named
    ``path`` itself, never the file it points at.
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


# --------------------------------------------------------------------------------------------
# The target of a write: checked before any work
# --------------------------------------------------------------------------------------------


def _prefix(arg: str | None) -> tuple:
    return (Arg(arg), ": ") if arg else ()


def check_target(out: Path | str, arg: str | None = "out") -> Path:
    """Check that ``out`` can be a results folder cxsim writes whole; return it as a Path.

    Refused (:class:`FolderError` naming ``arg``): an empty path, a symbolic link (dangling
    or not), something that is not a folder, the current folder or one that contains it
    (it is replaced whole), a path below a file.  The folder's contents are checked by
    :func:`check_contents`.
    """
    if not str(out).strip():
        if arg:
            raise FolderError(Arg(arg), " must name a folder, got an empty path")
        raise FolderError("the results folder must be named, got an empty path")
    path = Path(out)
    absolute = Path(os.path.abspath(path))
    if absolute.parent == absolute:
        raise FolderError(*_prefix(arg), f"{shown(out)} is the root of the file system; "
                          "give a folder of its own")
    try:
        cwd = Path(os.path.abspath(os.getcwd()))
    except OSError:
        cwd = None
    if cwd is not None and (cwd == absolute or absolute in cwd.parents):
        raise FolderError(*_prefix(arg), f"{shown(out)} is the current folder or contains "
                          "it; cxsim replaces a results folder whole, so give one of its own "
                          "(e.g. a subfolder)")
    try:
        st = os.lstat(absolute)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise FolderError(*_prefix(arg), f"cannot use {shown(out)} ({_reason(exc)})",
                          errno_=exc.errno) from None
    if st is not None:
        if stat.S_ISLNK(st.st_mode):
            raise FolderError(*_prefix(arg), f"{shown(out)} is a symbolic link; cxsim writes "
                              "results only into a folder itself, never through a link")
        if not stat.S_ISDIR(st.st_mode):
            raise FolderError(*_prefix(arg), f"{shown(out)} exists and is not a folder")
        return path
    ancestor = absolute.parent
    while True:
        try:
            ast = os.stat(ancestor)
        except FileNotFoundError:
            ancestor = ancestor.parent
            continue
        except OSError as exc:
            raise FolderError(*_prefix(arg), f"cannot create {shown(out)} ({_reason(exc)})",
                              errno_=exc.errno) from None
        if not stat.S_ISDIR(ast.st_mode):
            raise FolderError(*_prefix(arg), f"cannot create {shown(out)}: {ancestor} is not "
                              "a folder")
        return path


def _kinds_of(name: str) -> list[str]:
    return [kind for kind, names in KIND_FILES.items() if name in names]


def transient(name: str) -> bool:
    """True for cxsim's own temporary files inside a folder (left by a killed process)."""
    return bool(_ATOMIC_TEMP.match(name))


def subfolders(kind: str | None) -> dict[str, str]:
    """The subfolders a ``kind`` of results folder may hold (any kind's for ``None``)."""
    if kind is not None:
        return SUBFOLDERS.get(kind, {})
    return {name: inner for names in SUBFOLDERS.values() for name, inner in names.items()}


def _substage(name: str, allowed: Iterable[str]) -> bool:
    """True for a staged (or set-aside) copy of one of the ``allowed`` subfolders."""
    if not _TOKEN.search(name):
        return False
    for sub in allowed:
        digest = hashlib.sha1(sub.encode("utf-8", "surrogateescape")).hexdigest()[:8]
        if name.startswith(f".{sub[:40]}-{digest}.cxsim-"):
            return True
    return False


def kinds_in(folder: Path | str) -> list[str]:
    """The kinds of results (``run``, ``compare``, ``sweep``) whose marker files are here."""
    names = set()
    try:
        with os.scandir(folder) as it:
            names = {e.name for e in it}
    except OSError:
        return []
    return [kind for kind, markers in MARKERS.items() if names & set(markers)]


def check_contents(folder: Path | str, kind: str | None, arg: str | None = "out",
                   extra: Iterable[str] = ()) -> None:
    """Refuse a folder that holds anything cxsim may not replace; return if it is fine.

    Every entry must be a regular file (no symbolic link, no FIFO), or one of the kind's
    :data:`SUBFOLDERS` holding that subfolder's results (checked the same way; any kind's
    for ``kind=None``).  With a ``kind``, a file must moreover be one of that kind's files
    (:data:`KIND_FILES`), a figure (``*.png``), the report (:data:`REPORT`), one of
    ``extra``, operating-system litter
    (``.DS_Store``) or a temporary file of cxsim; a file of another kind of results names
    that kind.
    """
    extra = set(extra)
    allowed = subfolders(kind)
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise FolderError(*_prefix(arg), f"cannot read {shown(folder)} ({_reason(exc)})",
                          errno_=exc.errno) from None
    for e in entries:
        name = e.name
        if e.is_symlink():
            raise FolderError(*_prefix(arg), f"{shown(folder)} holds a symbolic link "
                              f"'{name}'; cxsim does not follow links out of a results "
                              "folder (remove it, or choose another folder)")
        if transient(name):
            continue
        if e.is_dir(follow_symlinks=False) and (name in allowed or _substage(name, allowed)):
            if name in allowed:  # e.g. a sweep's discovery: its own kind of results
                check_contents(Path(folder) / name, allowed[name], arg)
            continue  # a stage of it left by a killed process: never carried, never read
        if not e.is_file(follow_symlinks=False):
            raise FolderError(*_prefix(arg), f"{shown(folder)} holds '{name}', which is not "
                              "a cxsim result file; cxsim replaces a results folder whole, so "
                              "choose another folder")
        if (kind is None or name in LITTER or name.endswith(".png") or name == REPORT
                or name in extra):
            continue
        if name in KIND_FILES[kind]:
            continue
        others = _kinds_of(name)
        if others:
            raise FolderError(*_prefix(arg), f"{shown(folder)} holds the results of cxsim "
                              f"{' or '.join(others)} ({name}); choose another folder")
        raise FolderError(*_prefix(arg), f"{shown(folder)} holds '{name}', which is not a "
                          "cxsim result; cxsim replaces a results folder whole, so choose "
                          "another folder")


# --------------------------------------------------------------------------------------------
# Staging a folder and swapping it in
# --------------------------------------------------------------------------------------------


def _stage_name(name: str, role: str, pid: int | None = None) -> str:
    digest = hashlib.sha1(name.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return (f".{name[:40]}-{digest}.cxsim-{role}-{os.getpid() if pid is None else pid}-"
            f"{secrets.token_hex(4)}")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process: alive
    return True


def _remove_tree(path: Path) -> None:
    try:
        if path.is_symlink() or not path.is_dir():
            path.unlink(missing_ok=True)
        else:
            shutil.rmtree(path, ignore_errors=True)
    except OSError:
        pass


def _clean_stale(target: Path) -> None:
    """Remove stages of ``target`` left by dead processes; restore an old folder set aside."""
    digest = hashlib.sha1(target.name.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    head = f".{target.name[:40]}-{digest}.cxsim-"
    try:
        with os.scandir(target.parent) as it:
            stale = [(e.name, m) for e in it
                     if e.name.startswith(head) and (m := _TOKEN.search(e.name))]
    except OSError:
        return
    for name, m in stale:
        role, pid = m.group(1), int(m.group(2))
        if _alive(pid):
            continue
        path = target.parent / name
        if role == "old" and not os.path.lexists(target):
            try:  # killed between setting the old folder aside and renaming the new one in
                os.rename(path, target)
                continue
            except OSError:
                pass
        _remove_tree(path)


_libc = None


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one system call; False if this system cannot."""
    global _libc
    if sys.platform not in ("linux", "darwin"):
        return False
    try:
        if _libc is None:
            _libc = ctypes.CDLL(None, use_errno=True)
        if sys.platform == "linux":
            fn = _libc.renameat2
            fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                           ctypes.c_uint]
            result = fn(-100, os.fsencode(a), -100, os.fsencode(b), 2)  # RENAME_EXCHANGE
        else:
            fn = _libc.renamex_np
            fn.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint]
            result = fn(os.fsencode(a), os.fsencode(b), 2)  # RENAME_SWAP
    except (AttributeError, OSError):
        return False
    if result == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _sync(folder: Path) -> None:
    """Flush every file of ``folder`` (and of its subfolders) and the folder to the disk."""
    with os.scandir(folder) as it:
        entries = list(it)
    files = [e.path for e in entries if e.is_file(follow_symlinks=False)]
    for e in entries:
        if e.is_dir(follow_symlinks=False):
            _sync(Path(e.path))
    for p in files:
        fd = os.open(p, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    _sync_dir(folder)


def _sync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a folder; its files are synced
    finally:
        os.close(fd)


def _carry(src: Path, dst: Path) -> None:
    """Put ``src`` (a regular file) at ``dst``: a hard link (no copy), else a copy."""
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EXDEV, errno.EMLINK, errno.ENOTSUP,
                             errno.EOPNOTSUPP, errno.EACCES):
            raise
        fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as fin, open(dst, "xb") as fout:
            shutil.copyfileobj(fin, fout, 2**20)


def _carry_folder(src: Path, dst: Path) -> None:
    """Put a subfolder ``src`` (regular files only, checked) at ``dst``, file by file."""
    os.mkdir(dst, 0o777)
    os.chmod(dst, stat.S_IMODE(os.stat(src, follow_symlinks=False).st_mode))
    with os.scandir(src) as it:
        names = [e.name for e in it if e.is_file(follow_symlinks=False)
                 and not transient(e.name)]
    for name in names:
        _carry(src / name, dst / name)


class Stage:
    """A results folder being written: a temporary sibling of ``out``, swapped in whole.

    ``Stage(out, kind)`` checks ``out`` (:func:`check_target`, :func:`check_contents` for
    ``kind``) and creates the temporary folder (:attr:`path`); write every file into it
    inside :meth:`writing`, then :meth:`commit`.  Used as a context manager, whatever was
    not committed is removed on the way out, so ``out`` stays as it was.

    ``keep(name)`` selects files of the existing folder carried into the new one (hard
    links): ``cxsim plot`` keeps the results and replaces its figures, a sweep keeps its
    journal.  It also selects the kind's subfolders (:data:`SUBFOLDERS`) carried along,
    their files linked one by one.  ``arg`` names the argument in messages (``"out"``;
    ``None`` for a folder given by position); ``what`` says what is being written.
    """

    def __init__(self, out: Path | str, kind: str | None, *, arg: str | None = "out",
                 keep: Callable[[str], bool] | None = None, what: str = "",
                 extra: Iterable[str] = ()):
        self.out = check_target(out, arg)
        self.arg = arg
        self.what = what
        self.target = Path(os.path.abspath(self.out))
        self.committed = False
        self.path: Path | None = None
        self.mode: int | None = None
        if os.path.isdir(self.target.parent):
            _clean_stale(self.target)  # e.g. an old folder set aside by a killed process
        self.existed = os.path.lexists(self.target)
        allowed = subfolders(kind)
        if self.existed:
            check_contents(self.target, kind, arg, extra)
            if not os.access(self.target, os.W_OK):
                why = "no write permission"
                with contextlib.suppress(OSError):
                    if os.statvfs(self.target).f_flag & os.ST_RDONLY:
                        why = "Read-only file system"
                raise FolderError(*_prefix(arg), f"{shown(out)} is not writable ({why}); it "
                                  "is as it was", errno_=errno.EROFS if why[0] == "R"
                                  else errno.EACCES)
        try:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            path = self.target.parent / _stage_name(self.target.name, "new")
            os.mkdir(path, 0o777)
            self.path = path
            if self.existed:
                self.mode = stat.S_IMODE(os.stat(self.target, follow_symlinks=False).st_mode)
            if keep is not None and self.existed:
                with os.scandir(self.target) as it:
                    entries = [e for e in it if not transient(e.name) and keep(e.name)]
                for e in entries:
                    if e.is_file(follow_symlinks=False):
                        _carry(self.target / e.name, path / e.name)
                    elif e.name in allowed and e.is_dir(follow_symlinks=False):
                        _carry_folder(self.target / e.name, path / e.name)
        except OSError as exc:
            self.discard()
            raise self.failure(exc) from None

    def failure(self, exc: OSError) -> FolderError:
        """The one-line error of an operating-system failure while writing this folder."""
        what = f"{self.what} into " if self.what else ""
        state = ("it is as it was" if self.existed else "nothing was written")
        return FolderError(*_prefix(self.arg), f"cannot write {what}{shown(self.out)} "
                           f"({_reason(exc)}); {state}", errno_=exc.errno)

    @contextmanager
    def writing(self) -> Iterator[Path]:
        """Yield :attr:`path`; an ``OSError`` inside becomes :class:`FolderError`."""
        try:
            yield self.path
        except OSError as exc:
            raise self.failure(exc) from None

    def commit(self) -> None:
        """Flush the new folder to the disk and swap it in for ``out`` (see the module)."""
        if self.path is None or self.committed:
            raise RuntimeError("nothing staged to commit")
        new, target = self.path, self.target
        try:
            if self.mode is not None:
                os.chmod(new, self.mode)  # the folder keeps its permissions
            _sync(new)
            if not os.path.lexists(target):
                os.rename(new, target)
                self.path = None
            elif _exchange(new, target):
                pass  # ``new`` now holds the old folder, removed by discard()
            else:
                aside = target.parent / _stage_name(target.name, "old")
                os.rename(target, aside)
                try:
                    os.rename(new, target)
                except OSError:
                    os.rename(aside, target)
                    raise
                self.path = aside
            _sync_dir(target.parent)
        except OSError as exc:
            raise self.failure(exc) from None
        self.committed = True
        self.discard()

    def discard(self) -> None:
        """Remove the temporary folder (after a commit: the old folder)."""
        if self.path is not None:
            _remove_tree(self.path)
            self.path = None

    def __enter__(self) -> Stage:
        return self

    def __exit__(self, *exc_info) -> None:
        self.discard()


# --------------------------------------------------------------------------------------------
# Locking a folder
# --------------------------------------------------------------------------------------------


@contextmanager
def folder_lock(folder: Path | str, arg: str | None = "out") -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (``flock`` on the folder itself) or refuse.

    A second holder is refused at once with :class:`FolderError` ("in use by another cxsim
    process").  If the folder was swapped for a new one while the lock was being taken, the
    new one is locked.  Without ``fcntl`` (Windows) nothing is locked.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX
        yield
        return
    fd = -1
    for _ in range(5):
        try:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as exc:
            raise FolderError(*_prefix(arg), f"cannot open {shown(folder)} "
                              f"({_reason(exc)})", errno_=exc.errno) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise FolderError(*_prefix(arg), f"{shown(folder)} is in use by another "
                                  "cxsim process (a sweep running or resuming there, or "
                                  "figures being drawn); wait until it ends") from None
            raise FolderError(*_prefix(arg), f"cannot lock {shown(folder)} "
                              f"({_reason(exc)})", errno_=exc.errno) from None
        try:
            now = os.stat(folder, follow_symlinks=False)
        except OSError:
            now = None
        mine = os.fstat(fd)
        if now is not None and (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino):
            break
        os.close(fd)  # swapped while we waited: lock the folder that is there now
        fd = -1
    if fd < 0:
        raise FolderError(*_prefix(arg), f"{shown(folder)} keeps changing; try again")
    try:
        yield
    finally:
        os.close(fd)


# --------------------------------------------------------------------------------------------
# Reading results back: untrusted input
# --------------------------------------------------------------------------------------------


def _size_text(n: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} bytes"


def open_regular(path: Path | str, limit: int, flags: int = os.O_RDONLY) -> int:
    """Open ``path`` as a regular file of at most ``limit`` bytes; return the descriptor.

    Never follows a symbolic link and never blocks (a FIFO or a device is refused).  Raises
    :class:`FolderError` (``FileNotFoundError`` passes through unchanged).
    """
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise FolderError(f"{shown(path)}: is a symbolic link; cxsim does not follow "
                              "links in a results folder") from None
        raise FolderError(f"{shown(path)}: cannot be read ({_reason(exc)})",
                          errno_=exc.errno) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FolderError(f"{shown(path)}: not a regular file")
        if st.st_size > limit:
            raise FolderError(f"{shown(path)}: {_size_text(st.st_size)}, more than the "
                              f"{_size_text(limit)} such a file may hold")
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_bytes(path: Path | str, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (see :func:`open_regular`)."""
    try:
        fd = open_regular(path, limit)
    except FileNotFoundError:
        raise FolderError(f"{shown(path)}: is missing") from None
    try:
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise FolderError(f"{shown(path)}: cannot be read ({_reason(exc)})",
                          errno_=exc.errno) from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise FolderError(f"{shown(path)}: more than the {_size_text(limit)} such a file "
                          "may hold")
    return data


def json_depth(value: Any, limit: int = MAX_JSON_DEPTH) -> int:
    """Nesting depth of plain JSON data (stops counting past ``limit``)."""
    depth, level = 0, [(value, 1)]
    while level:
        item, d = level.pop()
        if isinstance(item, dict | list):
            depth = max(depth, d)
            if depth > limit:
                return depth
            children = item.values() if isinstance(item, dict) else item
            level.extend((c, d + 1) for c in children if isinstance(c, dict | list))
    return depth


def read_json(path: Path | str, limit: int = MAX_JSON_BYTES,
              depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse a JSON results file: regular, at most ``limit`` bytes and ``depth`` levels."""
    data = read_bytes(path, limit)
    try:
        value = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise FolderError(f"{shown(path)}: cannot be read (not UTF-8 text)") from None
    except RecursionError:
        raise FolderError(f"{shown(path)}: cannot be read (nested too deeply)") from None
    except ValueError as exc:
        raise FolderError(f"{shown(path)}: cannot be read ({exc})") from None
    if json_depth(value, depth) > depth:
        raise FolderError(f"{shown(path)}: cannot be read (nested more than {depth} levels)")
    return value


def read_table(path: Path | str, max_rows: int, text: tuple[str, ...] = (),
               limit: int = MAX_TABLE_BYTES):
    """Read a results table (``.parquet`` or CSV) of at most ``max_rows`` rows.

    A Parquet file's row count, column count and declared size are checked in its metadata
    before any data is read; a CSV is read up to ``max_rows + 1`` rows.  In the ``text``
    columns of a CSV an empty cell stays ``""`` (not NaN).  Raises :class:`FolderError`.
    """
    import pandas as pd

    data = read_bytes(path, limit)
    name = shown(path)
    if str(path).endswith(".parquet"):
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise FolderError(f"{name}: reading Parquet needs pyarrow: pip install "
                              "'cxsim[parquet]'") from None
        try:
            pf = pq.ParquetFile(pa.BufferReader(data))
            meta = pf.metadata
            if meta.num_rows > max_rows or meta.num_rows < 0:
                raise FolderError(f"{name}: claims {meta.num_rows:,} rows; this results "
                                  f"folder can have at most {max_rows:,}")
            if meta.num_columns > MAX_COLUMNS:
                raise FolderError(f"{name}: {meta.num_columns:,} columns, more than "
                                  f"{MAX_COLUMNS:,}")
            declared = sum(max(0, meta.row_group(i).total_byte_size)
                           for i in range(meta.num_row_groups))
            if declared > MAX_PARQUET_BYTES:
                raise FolderError(f"{name}: declares {_size_text(declared)} of data, more "
                                  f"than {_size_text(MAX_PARQUET_BYTES)}")
            table = pf.read()
            if table.num_rows > max_rows:
                raise FolderError(f"{name}: more than {max_rows:,} rows")
            return table.to_pandas()
        except FolderError:
            raise
        except (pa.ArrowException, OSError, ValueError, TypeError, KeyError,
                IndexError, MemoryError) as exc:
            raise FolderError(f"{name}: cannot be read ({_first_line(exc)})") from None
    try:
        head = pd.read_csv(_io.BytesIO(data), nrows=0)
        if len(head.columns) > MAX_COLUMNS:
            raise FolderError(f"{name}: {len(head.columns):,} columns, more than "
                              f"{MAX_COLUMNS:,}")
        table = pd.read_csv(_io.BytesIO(data), nrows=max_rows + 1, keep_default_na=False,
                            dtype=dict.fromkeys([c for c in text if c in head.columns], str),
                            na_values={c: ["", "NaN", "nan"] for c in head.columns
                                       if c not in text})
    except FolderError:
        raise
    except pd.errors.EmptyDataError:
        return pd.DataFrame()  # a table without columns (e.g. no partners)
    except (ValueError, TypeError, IndexError, KeyError, OverflowError,
            MemoryError) as exc:  # ParserError, bad UTF-8, ...
        raise FolderError(f"{name}: cannot be read ({_first_line(exc)})") from None
    if len(table) > max_rows:
        raise FolderError(f"{name}: more than {max_rows:,} rows, the most this results "
                          "folder can have")
    return table


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= 200 else line[:200] + "..."


def check_columns(table, path: Path | str, needed: Iterable[str] = (),
                  numeric: Iterable[str] = (), text: Iterable[str] = ()) -> None:
    """Refuse a table that lacks a ``needed`` column or holds a non-number in ``numeric``.

    ``numeric`` columns that are present must hold numbers (or be empty); ``text`` columns
    that are present must hold text.  Raises :class:`FolderError` naming the column.
    """
    import pandas as pd

    name = shown(path)
    columns = list(table.columns)
    if len(set(map(str, columns))) != len(columns):
        raise FolderError(f"{name}: a column name is repeated")
    for c in needed:
        if c not in table.columns:
            raise FolderError(f"{name}: lacks column '{c}' (damaged, or results from an "
                              "older cxsim format?)")
    for c in numeric:
        if c not in table.columns:
            continue
        col = table[c]
        if pd.api.types.is_bool_dtype(col) or not (pd.api.types.is_numeric_dtype(col)
                                                    or col.isna().all()):
            raise FolderError(f"{name}: column '{c}' holds something other than numbers")
    for c in text:
        if c not in table.columns:
            continue
        values = table[c].dropna()
        if not all(isinstance(v, str) for v in values):
            raise FolderError(f"{name}: column '{c}' holds something other than text")


def read_csv_text(path: Path | str, text: tuple[str, ...] = ()):
    """Read a results CSV; in the ``text`` columns an empty cell stays ``""`` (not NaN)."""
    return read_table(path, 50_000_000, text)


__all__ = ["COMPARE_FILES", "DISCOVERY_FILES", "KIND_FILES", "MARKERS", "REPORT",
           "RESULTS_FORMAT", "RUN_FILES", "SUBFOLDERS", "SWEEP_FILES", "FolderError", "Stage",
           "atomic_path", "check_columns", "check_contents", "check_target", "folder_lock",
           "json_depth", "kinds_in", "open_regular", "read_bytes", "read_csv_text",
           "read_json", "read_table", "shown", "subfolders", "transient", "write_atomic"]
