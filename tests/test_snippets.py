"""The README and the workshop guide run as written: every shell and Python snippet is run.

Each fenced block of ``README.md`` and ``docs/workshop.md`` is a snippet:

- ```` ```bash ````, ```` ```sh ````, ```` ```shell ```` and ```` ```console ```` are shell
  (in ``console`` only the ``$ `` lines and their continuations are commands, the rest is
  output); ```` ```python ```` is Python, run as a file with ``python FILE.py`` (so a script
  that starts worker processes needs its ``if __name__ == "__main__":`` guard, as a user's
  would).  Other fences (``toml``, ``text``, ``csv``, none) are not run.
- An HTML comment on the line just before a fence says how to treat it, one or more of:

  - ``<!-- snippet: skip REASON -->``: not run; only for what a test must not do (install
    packages from an index, run the test suite itself, serve on a public address).  The
    reason is required.
  - ``<!-- snippet: server -->``: each command serves until stopped (``cxsim viz``): it is
    started, must print its ``serving ... at URL`` line and answer at that URL, then it is
    stopped.
  - ``<!-- snippet: slow -->``: the snippet's test is marked ``slow`` (deselected by
    default; ``pytest -m slow`` runs it).
  - ``<!-- snippet: file NAME -->`` (any fence): the block's text is written to ``NAME``
    in the document's working folder before its snippets run (an input file a command
    reads, e.g. a targets CSV shown in the text).

The snippets of one document run in order, in one working folder laid out like a checkout
of the repository: ``scenarios/`` and ``experiments/`` copied, ``.venv/bin/cxsim`` and
``.venv/bin/python`` running this checkout's cxsim, and ``cxsim`` and ``python`` on the
``PATH``; so a ``cxsim plot`` may follow the ``cxsim run`` that wrote its folder, and a
``cd`` in a shell snippet carries over to the next snippets, as in a reader's terminal.  Each
snippet is a test with the id ``DOC:LINE`` (the line of its opening fence).  A snippet
that installs packages but is not marked ``skip`` fails without running.  Every document
must have at least one snippet the default suite runs.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ("README.md", "docs/workshop.md")

SHELL = ("bash", "sh", "shell", "console")
PYTHON = ("python",)
DIRECTIVE = re.compile(r"^\s*<!--\s*snippet:\s*(.*?)\s*-->\s*$")
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([^\s`]*)")
SERVING = re.compile(r"serving .* at (https?://\S+/)")
#: what a snippet must not do unless marked skip (it would install from a package index)
INSTALLS = re.compile(r"\bpip3?\s+install\b|\s-m\s+(venv|pip)\b|\buv\s+(pip|add|sync)\b")

#: seconds a snippet may take (a slow one included), a server to say it serves, to stop
RUN_TIMEOUT = 3600
SERVE_TIMEOUT = 240
STOP_TIMEOUT = 30


@dataclass
class Snippet:
    """One fenced block: where it is, its kind and text, and what its directive says."""

    doc: str
    line: int            # line of the opening fence, 1-based
    lang: str
    code: str
    skip: str | None = None      # the reason, when skipped
    server: bool = False
    slow: bool = False
    file: str | None = None      # written to this file in the working folder
    problems: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str | None:
        """``"shell"``, ``"python"`` or ``None`` (a fence that is not run)."""
        return "shell" if self.lang in SHELL else "python" if self.lang in PYTHON else None

    @property
    def id(self) -> str:
        return f"{Path(self.doc).name}:{self.line}"


def parse(text: str, doc: str) -> list[Snippet]:
    """Every fenced block of a Markdown text, with the directive on the line before it.

    Problems of a directive (unknown word, skip without a reason, file without a name, a
    directive on a fence that is not run) are collected in ``Snippet.problems``; a
    directive that is not followed by a fence is a problem of the document (raised).
    """
    lines = text.splitlines()
    out: list[Snippet] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        d = DIRECTIVE.match(lines[i])
        if d and not (i + 1 < len(lines) and FENCE.match(lines[i + 1])):
            raise ValueError(f"{doc}:{i + 1}: a snippet directive must be on the line just "
                             f"before a fence: {lines[i].strip()}")
        if not m:
            i += 1
            continue
        indent, fence, lang = m.group(1), m.group(2), m.group(3).lower()
        body, j = [], i + 1
        while j < len(lines) and not (lines[j].strip().startswith(fence[0] * len(fence))
                                      and lines[j].strip().strip(fence[0]) == ""):
            body.append(lines[j][len(indent):] if lines[j].startswith(indent) else lines[j])
            j += 1
        if j == len(lines):
            raise ValueError(f"{doc}:{i + 1}: fence never closed")
        s = Snippet(doc, i + 1, lang, "\n".join(body) + "\n")
        if i > 0 and (d := DIRECTIVE.match(lines[i - 1])):
            _apply(s, d.group(1))
        out.append(s)
        i = j + 1
    return out


def _apply(s: Snippet, directive: str) -> None:
    words = directive.split()
    while words:
        word = words.pop(0)
        if word == "skip":
            s.skip = " ".join(words)
            if not s.skip:
                s.problems.append("skip needs a reason: <!-- snippet: skip REASON -->")
            words = []
        elif word == "server":
            s.server = True
        elif word == "slow":
            s.slow = True
        elif word == "file":
            if not words or "/" in words[0] or words[0].startswith("."):
                s.problems.append("file needs a plain file name: <!-- snippet: file NAME -->")
            else:
                s.file = words.pop(0)
        else:
            s.problems.append(f"unknown snippet directive {word!r} (skip, server, slow, file)")
    if s.kind is None and (s.server or s.slow or s.skip is not None):
        s.problems.append(f"a ```{s.lang} fence is not run; only 'file' applies to it")
    if s.server and s.kind != "shell":
        s.problems.append("server applies to shell snippets")


def commands(s: Snippet) -> str:
    """The shell text of a snippet (for ``console``: the ``$`` lines and continuations)."""
    if s.lang != "console":
        return s.code
    kept, going = [], False
    for line in s.code.splitlines():
        if line.startswith("$ ") or going:
            text = line[2:] if line.startswith("$ ") and not going else line
            kept.append(text)
            going = text.rstrip().endswith("\\")
    return "\n".join(kept) + "\n"


def logical_lines(shell: str) -> list[str]:
    """Commands of a shell text: continuation lines joined, comments and blanks left out."""
    out, current = [], ""
    for line in shell.splitlines():
        current += line
        if current.rstrip().endswith("\\"):
            current = current.rstrip()[:-1] + " "
            continue
        if current.strip() and not current.lstrip().startswith("#"):
            out.append(current.strip())
        current = ""
    return out


SNIPPETS = {doc: parse((ROOT / doc).read_text(encoding="utf-8"), doc) for doc in DOCS}


def _cases():
    for doc in DOCS:
        for s in SNIPPETS[doc]:
            if s.kind is None or s.skip is not None:
                continue
            yield pytest.param(s, id=s.id, marks=[pytest.mark.slow] if s.slow else [])


# --------------------------------------------------------------------------------------------
# The working folder: a checkout's layout with this checkout's cxsim
# --------------------------------------------------------------------------------------------


@dataclass
class Workdir:
    """Where a document's next snippet starts (a shell snippet's ``cd`` carries over, as
    in the terminal of a reader who copies them in turn) and the environment it runs in."""

    cwd: Path
    env: dict


def _launcher(path: Path, text: str) -> None:
    path.write_text("#!/bin/sh\n" + text + "\n", encoding="utf-8")
    path.chmod(0o755)


@pytest.fixture(scope="module")
def workdirs(tmp_path_factory):
    """Per document, a working folder (created on first use) and the environment to run in."""
    made: dict[str, Workdir] = {}

    def get(doc: str) -> Workdir:
        if doc in made:
            return made[doc]
        base = tmp_path_factory.mktemp(Path(doc).stem)
        work = base / "checkout"
        work.mkdir()
        ignore = shutil.ignore_patterns("__pycache__", "results", "*.pyc")
        for folder in ("scenarios", "experiments"):
            shutil.copytree(ROOT / folder, work / folder, ignore=ignore)
        venv = work / ".venv" / "bin"
        venv.mkdir(parents=True)
        python = sys.executable
        _launcher(venv / "python", f'exec "{python}" "$@"')
        _launcher(venv / "cxsim", f'exec "{python}" -m cxsim.cli "$@"')
        bindir = base / "bin"
        bindir.mkdir()
        for name in ("python", "python3"):
            _launcher(bindir / name, f'exec "{python}" "$@"')
        _launcher(bindir / "cxsim", f'exec "{python}" -m cxsim.cli "$@"')
        env = {k: v for k, v in os.environ.items()
               if k not in ("CXSIM_DEBUG", "CXSIM_VIZ_SCENARIO", "PYTHONSTARTUP")}
        env.update(PATH=f"{bindir}{os.pathsep}{env.get('PATH', '')}",
                   PYTHONPATH=os.pathsep.join(
                       [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
                   MPLBACKEND="Agg", BROWSER="true",  # --open: no browser window
                   PYTHONDONTWRITEBYTECODE="1")
        for s in SNIPPETS[doc]:
            if s.file is not None:
                (work / s.file).write_text(s.code, encoding="utf-8")
        made[doc] = Workdir(work, env)
        return made[doc]

    return get


def _tail(text: str, n: int = 4000) -> str:
    return text if len(text) <= n else "...\n" + text[-n:]


def _report(s: Snippet, what: str, out: str = "", err: str = "") -> str:
    return (f"{s.id}: {what}\n--- snippet ---\n{s.code}--- stdout ---\n{_tail(out)}\n"
            f"--- stderr ---\n{_tail(err)}")


# --------------------------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("doc", DOCS)
def test_directives_are_sound(doc):
    """Every directive is known, every skip says why, and the default suite runs something."""
    snippets = SNIPPETS[doc]
    problems = [f"{s.id}: {p}" for s in snippets for p in s.problems]
    assert not problems, "\n".join(problems)
    run = [s for s in snippets if s.kind is not None and s.skip is None]
    assert run, f"{doc}: no shell or Python snippet is run"
    assert any(not s.slow for s in run), f"{doc}: every snippet run is marked slow"


@pytest.mark.parametrize("snippet", list(_cases()))
def test_snippet_runs(snippet: Snippet, workdirs, tmp_path):
    s = snippet
    assert not s.problems, f"{s.id}: " + "; ".join(s.problems)
    if INSTALLS.search(s.code):
        pytest.fail(f"{s.id}: installs packages; a test must not: mark it "
                    "<!-- snippet: skip REASON --> (or move the install to its own fence)")
    run_snippet(s, workdirs(s.doc), tmp_path)


def run_snippet(s: Snippet, w: Workdir, tmp_path: Path) -> None:
    """Run one snippet in ``w`` (its scripts kept in ``tmp_path``); fail the test if it fails."""
    if s.server:
        for command in logical_lines(commands(s)):
            _serve(s, command, w.cwd, w.env)
        return
    tmp_path.mkdir(parents=True, exist_ok=True)
    where = tmp_path / "pwd"
    if s.kind == "python":
        script = tmp_path / f"snippet_{s.line}.py"
        script.write_text(s.code, encoding="utf-8")
        argv = [sys.executable, str(script)]
    else:
        script = tmp_path / f"snippet_{s.line}.sh"
        script.write_text(f'{commands(s)}\npwd -P > "{where}"\n', encoding="utf-8")
        argv = ["bash", "-e", "-o", "pipefail", str(script)]
    # its own process group: a snippet that overruns is stopped with every process it started
    proc = subprocess.Popen(argv, cwd=w.cwd, env=w.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        _stop(proc)
        out, err = proc.communicate()
        pytest.fail(_report(s, f"did not finish within {RUN_TIMEOUT} s", out, err))
    except BaseException:  # Ctrl-C of the test run: leave no snippet running
        _stop(proc)
        raise
    assert proc.returncode == 0, _report(s, f"exit code {proc.returncode}", out, err)
    if where.exists():
        w.cwd = Path(where.read_text(encoding="utf-8").strip())


def _stop(proc: subprocess.Popen) -> None:
    """Stop a snippet's process group: SIGTERM, then SIGKILL after STOP_TIMEOUT."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


def _serve(s: Snippet, command: str, work: Path, env: dict) -> None:
    """Start ``command``, wait for its serving line, check the URL answers, stop it."""
    proc = subprocess.Popen(["bash", "-c", command], cwd=work, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    lines: list[str] = []
    found = threading.Event()
    url: list[str] = []

    def read() -> None:
        for line in proc.stdout:
            lines.append(line)
            m = SERVING.search(line)
            if m and not found.is_set():
                url.append(m.group(1))
                found.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + SERVE_TIMEOUT
        while not found.is_set() and proc.poll() is None and time.monotonic() < deadline:
            found.wait(0.2)
        if not found.is_set():
            reader.join(2)
            said = "".join(lines)
            if "cannot serve on" in said and "in use" in said:
                pytest.skip(f"{s.id}: `{command}`: its port is in use on this machine")
            pytest.fail(_report(s, f"`{command}` did not say it serves "
                                   f"(exit code {proc.poll()})", said))
        with urllib.request.urlopen(url[0], timeout=30) as response:
            assert response.status == 200, f"{s.id}: {url[0]} answered {response.status}"
    finally:
        _stop(proc)
        reader.join(5)
    assert proc.returncode in (0, -signal.SIGTERM), _report(
        s, f"`{command}` ended with {proc.returncode} when stopped", "".join(lines))


# --------------------------------------------------------------------------------------------
# The reading of Markdown itself
# --------------------------------------------------------------------------------------------


def test_parse_kinds_and_directives():
    text = "\n".join([
        "# t", "```bash", "echo a", "```",
        "<!-- snippet: skip installs from an index -->", "```sh", "pip install x", "```",
        "<!-- snippet: server slow -->", "```console", "$ cxsim viz \\", "  --port 0",
        "serving", "```",
        "<!-- snippet: file data.csv -->", "```text", "a,b", "```",
        "```python", "print(1)", "```", "```toml", "a = 1", "```", ""])
    got = parse(text, "x.md")
    assert [(s.line, s.kind) for s in got] == [(2, "shell"), (6, "shell"), (10, "shell"),
                                               (16, None), (19, "python"), (22, None)]
    assert got[0].code == "echo a\n" and got[0].skip is None and not got[0].slow
    assert got[1].skip == "installs from an index"
    assert got[2].server and got[2].slow
    assert commands(got[2]) == "cxsim viz \\\n  --port 0\n"
    assert logical_lines(commands(got[2])) == ["cxsim viz    --port 0"]
    assert got[3].file == "data.csv" and got[3].code == "a,b\n"
    assert not any(s.problems for s in got)


@pytest.mark.parametrize("directive, problem", [
    ("skip", "skip needs a reason"),
    ("skipp it", "unknown snippet directive 'skipp'"),
    ("file", "file needs a plain file name"),
    ("file ../x", "file needs a plain file name"),
])
def test_parse_refuses_bad_directives(directive, problem):
    s = parse(f"<!-- snippet: {directive} -->\n```bash\necho\n```\n", "x.md")[0]
    assert any(p.startswith(problem) for p in s.problems), s.problems


def test_parse_refuses_a_stray_directive_and_an_open_fence():
    with pytest.raises(ValueError, match="just before a fence"):
        parse("<!-- snippet: skip why -->\n\n```bash\necho\n```\n", "x.md")
    with pytest.raises(ValueError, match="never closed"):
        parse("```bash\necho\n", "x.md")


def _synthetic(tmp_path: Path, text: str) -> tuple[list[Snippet], Workdir]:
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONSTARTUP"}
    return parse(text, "x.md"), Workdir(work, env)


def test_snippets_of_a_document_share_a_folder_and_its_cd(tmp_path):
    snippets, w = _synthetic(tmp_path, "\n".join([
        "```bash", "mkdir -p sub && cd sub && echo hi > f.txt", "```",
        "```console", "$ cat f.txt", "hi", "$ test \"$(basename \"$PWD\")\" = sub", "```",
        "```python", "assert open('f.txt').read() == 'hi\\n'", "```", ""]))
    for i, s in enumerate(snippets):
        run_snippet(s, w, tmp_path / f"s{i}")
    assert w.cwd == (tmp_path / "work" / "sub").resolve()


@pytest.mark.parametrize("text", [
    "```bash\nfalse\necho after\n```\n",                 # a failing command stops it
    "```bash\nfalse | cat\n```\n",                        # in a pipe too
    "```python\nraise SystemExit(3)\n```\n",
], ids=["command", "pipe", "python"])
def test_a_failing_snippet_fails_its_test(tmp_path, text):
    snippets, w = _synthetic(tmp_path, text)
    with pytest.raises(AssertionError, match="exit code"):
        run_snippet(snippets[0], w, tmp_path)


def test_a_directive_on_a_fence_that_is_not_run_is_refused():
    s = parse("<!-- snippet: slow -->\n```text\nx\n```\n", "x.md")[0]
    assert s.problems and "not run" in s.problems[0]
