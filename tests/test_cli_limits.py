"""Every number and list the command line takes has a limit, stated in ``--help`` and
enforced before any work: one line naming the flag, exit code 2, nothing written.

Also: ``--run-id`` needs ``--replay``, ``--out ""`` is refused, long lists of problems are
cut to a screenful, ``cxsim viz --host`` beyond this machine warns, and a ``--scheduler``
address that is not a Dask scheduler is refused in one line (not ``MemoryError``).
"""

from __future__ import annotations

import argparse
import re
import socket
import threading
import time

import pytest
from conftest import call, cli_subprocess

SMALL = ["--customers", "500", "--days", "5"]
TOUCHPOINTS = ("social_feed", "web_browse", "web_shop", "app_shop", "store", "chat")
PARAM = ["--param", "touchpoints.chat.quality=0.5,0.9"]

#: (argv, the flag the one line names, a regex it matches)
LIMITS = {
    # compare reports every problem at once: a horizon its strategies start within
    "compare reps": (["compare", "--reps", "1000000000", "--days", "100"], "--reps",
                     r"--reps must be at most 10,000, got 1000000000"),
    "sweep reps": (["sweep", *PARAM, "--reps", "1000000000"], "--reps",
                   r"--reps must be at most 10,000"),
    "samples": (["sweep", "--design", "lhs", "--samples", "1000000000", "--param",
                 "touchpoints.chat.quality=uniform(0.5,0.9)"], "--samples",
                r"--samples must be at most 100,000"),
    "range count": (["sweep", "--param", "touchpoints.chat.quality=0.5:0.9:100000000"],
                    "--param", r"the range count must be at most 10,000, got 100000000"),
    "range count of 5000 digits": (["sweep", "--param", "touchpoints.chat.quality=0.5:0.9:"
                                    + "9" * 5000], "--param", r"range count must be at most"),
    "list length": (["sweep", "--param", "touchpoints.chat.quality="
                     + ",".join(["0.5"] * 20_000)], "--param",
                    r"20,000 values; a parameter takes at most 10,000"),
    "grid size": (["sweep", *[a for tp in TOUCHPOINTS
                              for a in ("--param", f"touchpoints.{tp}.quality=0.1:0.9:10")]],
                  "--design",
                  r"--design: the grid has 1,000,000 points .* at most 100,000 .*--param"),
    "design runs": (["sweep", "--param", "touchpoints.chat.quality=0.1:0.9:1000",
                     "--param", "touchpoints.phone.quality=0.1:0.9:100",
                     "--reps", "3"], "--reps", r"--reps: 100,000 points × 3 replications = "
                                             r"300,000 runs; a sweep takes at most 100,000"),
    "sobol size": (["sweep", "--design", "sobol", "--samples", "60000", "--param",
                    "touchpoints.chat.quality=uniform(0.5,0.9)"], "--design",
                   r"has 180,000 points; a sweep takes at most 100,000"),
    "workers local": (["sweep", *PARAM, "--scheduler", "local", "--workers", "1000"],
                      "--workers", r"--workers must be at most \d+ \(4 per core"),
    "compare workers": (["compare", "--workers", "1000", "--days", "100"], "--workers",
                        r"--workers must be at most \d+"),
    "run days": (["run", "--days", "1e9"], "--days", r"--days must be at most 36,500"),
    "compare days": (["compare", "--days", "100000"], "--days", r"--days must be at most"),
    "sweep days": (["sweep", *PARAM, "--days", "1e308"], "--days", r"--days must be at most"),
    "run customers": (["run", "--customers", "99999999999"], "--customers",
                      r"--customers must be at most 50,000,000"),
    "sweep customers": (["sweep", *PARAM, "--customers", "1" + "0" * 4000], "--customers",
                        r"--customers must be at most 50,000,000"),
    "compare tick rows": (["compare", "--reps", "10000", "--days", "365"], "--reps",
                          r"per-tick rows; a comparison keeps at most 5,000,000"),
    "sweep tick rows": (["sweep", "--param", "touchpoints.chat.quality=0.1:0.9:1000",
                         "--reps", "20", "--ticks", "--days", "365"], "--ticks",
                        r"--ticks: 20,000 runs × up to 365 ticks = 7,300,000 per-tick rows"),
    "strategies names": (["compare", "--strategies", ",".join(f"s{k}" for k in range(500))],
                         "--strategies", r"--strategies: 500 strategy names; at most 100"),
    "params": (["sweep", *[a for k in range(101) for a in
                           ("--param", f"touchpoints.chat.quality={k / 200}")]], "--param",
               r"--param is given 101 times; a sweep takes at most 100"),
    "sets": (["run", *[a for _ in range(1001) for a in
                       ("--set", "touchpoints.chat.quality=0.5")]], "--set",
             r"--set is given 1,001 times; at most 1,000"),
}


@pytest.mark.parametrize("name", sorted(LIMITS))
def test_a_limit_is_refused_before_any_work(name, tmp_path):
    argv, flag, pattern = LIMITS[name]
    out = tmp_path / "out"
    t0 = time.perf_counter()
    code, stdout, err = call([*argv, *(SMALL if "--days" not in argv else []), "--out", out])
    assert code == 2, (code, err[-500:])
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err[-500:]
    assert flag in lines[0] and re.search(pattern, lines[0]), lines[0][:300]
    assert len(lines[0]) < 400
    assert not out.exists() and stdout == ""
    assert time.perf_counter() - t0 < 30  # refused, not attempted


def _option_help(command: str, flag: str) -> str:
    from cxsim.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    action = next(a for a in sub.choices[command]._actions if flag in a.option_strings)
    return " ".join(action.help.split())


@pytest.mark.parametrize("command, flags", [
    ("run", {"--days": "36,500", "--customers": "50,000,000", "--set": "1,000"}),
    ("compare", {"--reps": "10,000", "--workers": "per core", "--days": "36,500",
                 "--customers": "50,000,000", "--strategies": "at most 100"}),
    ("sweep", {"--reps": "10,000", "--samples": "100,000", "--workers": "per core",
               "--days": "36,500", "--customers": "50,000,000", "--param": "10,000 values",
               "--design": "100,000 points", "--ticks": "5,000,000"}),
])
def test_help_states_each_limit(command, flags):
    code, out, _ = call([command, "--help"])
    assert code == 0
    for flag, words in flags.items():
        text = _option_help(command, flag)
        assert words in text, (flag, text)
        assert words in " ".join(out.split()), flag


def test_the_limits_hold_in_python_too():
    import cxsim
    from cxsim.errors import InputError
    from cxsim.params import ParamError

    sc = cxsim.default_scenario()
    with pytest.raises(ParamError, match="range count must be at most 10,000"):
        cxsim.sweep(sc, {"touchpoints.chat.quality": "0.5:0.9:100000000"})
    with pytest.raises(ParamError, match="replications must be at most 10,000"):
        cxsim.sweep(sc, {"touchpoints.chat.quality": "0.5,0.9"}, replications=10**9)
    with pytest.raises(InputError, match="replications must be at most 10,000"):
        cxsim.compare(sc, replications=10**9)
    with pytest.raises(InputError, match="workers must be at most"):
        cxsim.compare(sc, replications=2, workers=10**6)
    with pytest.raises(InputError, match="workers must be at most"):
        cxsim.sweep(sc, {"touchpoints.chat.quality": "0.5,0.9"}, workers=10**6)


def test_run_id_without_replay_is_refused(tmp_path):
    code, _, err = call(["run", *SMALL, "--run-id", "3", "--out", tmp_path / "r"])
    assert code == 2 and err.strip() == ("--run-id needs --replay SWEEP_DIR (it picks the row "
                                         "of a sweep to re-run)")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("command", ["run", "compare", "sweep"])
def test_an_empty_out_is_refused(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "summary.json").write_text("an unrelated file\n")
    extra = {"run": SMALL, "sweep": [*SMALL, *PARAM],
             "compare": ["--customers", "500", "--days", "100", "--reps", "2"]}[command]
    t0 = time.perf_counter()
    code, _, err = call([command, *extra, "--out", ""])
    assert time.perf_counter() - t0 < 30  # refused before running
    assert code == 2 and err.strip() == "--out must name a folder, got an empty path"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json"]
    assert (tmp_path / "summary.json").read_text() == "an unrelated file\n"


def test_the_current_folder_is_refused_as_out(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = call(["run", *SMALL, "--out", "."])
    assert code == 2 and "is the current folder or contains it" in err
    assert list(tmp_path.iterdir()) == []


def test_a_long_list_of_problems_is_cut_to_a_screenful(tmp_path):
    lines = [f"[segments.s{k}]\nshare = 0.01\nbase_churnn = 1\n" for k in range(60)]
    bad = tmp_path / "bad.toml"
    bad.write_text("".join(lines))
    code, _, err = call(["validate", bad])
    assert code == 2
    out = err.strip().splitlines()
    assert 2 <= len(out) <= 20, len(out)
    if len(out) == 20:
        assert re.fullmatch(r"\.\.\. and [\d,]+ more", out[-1]), out[-1]


def test_screenful_keeps_a_count_already_given():
    from cxsim.cli import screenful

    assert screenful(["a"] * 5) == ["a"] * 5
    cut = screenful([f"p{k}" for k in range(100)])
    assert len(cut) == 20 and cut[-1] == "... and 81 more" and cut[:19] == [
        f"p{k}" for k in range(19)]
    cut = screenful([*(f"p{k}" for k in range(20)), "... and 500 more"])
    assert len(cut) == 20 and cut[-1] == "... and 501 more"  # 520 problems, 19 shown


# ---- a scheduler address that is not a Dask scheduler -----------------------------------------


class _Server:
    """A TCP server that answers every connection with ``reply`` (``None``: says nothing)."""

    def __init__(self, reply: bytes | None):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.reply = reply
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            if self.reply is not None:
                try:
                    conn.sendall(self.reply)
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()
        for c in self.conns:
            c.close()


@pytest.mark.parametrize("reply", [
    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",   # a web server
    b"\xff" * 8 + b"\x00" * 64,                                    # an absurd length
    b"SSH-2.0-OpenSSH_9.2\r\n",                                     # another service
    None,                                                           # silence
])
def test_a_scheduler_that_is_not_dask_is_refused_in_one_line(reply, tmp_path, monkeypatch):
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    monkeypatch.setattr("cxsim.executors.CONNECT_TIMEOUT", 2.0)
    server = _Server(reply)
    try:
        t0 = time.perf_counter()
        code, _, err = call(["sweep", *PARAM, *SMALL, "--scheduler",
                             f"tcp://127.0.0.1:{server.port}", "--out", tmp_path / "s",
                             "--quiet"])
    finally:
        server.close()
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("--scheduler: "), err
    assert "MemoryError" not in err and "Traceback" not in err
    assert time.perf_counter() - t0 < 30
    assert not (tmp_path / "s").exists()


def test_a_real_scheduler_still_passes_the_check():
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    import logging

    from distributed import LocalCluster

    from cxsim.executors import _probe

    with LocalCluster(n_workers=0, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster:
        _probe(cluster.scheduler_address, 5.0)  # a Dask scheduler greets first: accepted


# ---- the workshop app served beyond this machine ----------------------------------------------


class _FakeServer:
    """Stands in for the app server process."""

    returncode = 0

    def __init__(self, cmd, env=None):
        self.cmd = cmd

    def poll(self):
        return 0

    def wait(self, timeout=None):
        return 0

    def terminate(self):
        pass


@pytest.mark.parametrize("host, warned", [("localhost", False), ("127.0.0.1", False),
                                          ("0.0.0.0", True), ("", True)])
def test_viz_warns_when_served_beyond_this_machine(host, warned, monkeypatch):
    import importlib.util

    import cxsim.cli as cli

    for module in ("solara", "altair", "ipyvuetify"):
        if importlib.util.find_spec(module) is None:
            pytest.skip("the viz extra is not installed")
    started = []
    monkeypatch.setattr("subprocess.Popen", lambda cmd, env=None: started.append(cmd)
                        or _FakeServer(cmd, env))
    monkeypatch.setattr(cli, "_wait_ready", lambda url, proc: None)
    monkeypatch.setattr(cli, "_ensure_front_end", lambda: None)  # no npm fetch in a test
    code, out, err = call(["viz", "--host", host, "--port", "0"])
    assert code == 0, err
    assert started and "--host" in started[0]
    warning = [line for line in err.splitlines() if line.startswith("warning:")]
    if warned:
        assert len(warning) == 1 and "--host" in warning[0] and "anyone" in warning[0]
    else:
        assert warning == []


def test_subprocess_limit_no_traceback(tmp_path):
    proc = cli_subprocess(["sweep", "--param", "touchpoints.chat.quality=0.5:0.9:100000000",
                           "--out", tmp_path / "s"], cwd=tmp_path, script=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "s").exists()
