"""Tests for the ``cxsim`` command line (:mod:`cxsim.cli`).

Contract: bad input gets one line per problem naming the field and the problem, exit code 2,
no traceback, and nothing already written is lost or corrupted.  Most calls go through
``cxsim.cli.main`` in-process (it returns the exit code); a few real subprocesses check the
true exit codes and the absence of tracebacks.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import call, cli_subprocess, snapshot, subprocess_env

import cxsim
from cxsim.runner import resize

ROOT = Path(__file__).resolve().parent.parent
RETAIL = ROOT / "scenarios" / "retail.toml"
CONTRACT_COLUMNS = [
    "tick", "active", "new", "churned", "churn_rate", "retention", "nps", "csat", "ces",
    "satisfaction", "fcr", "service_level", "asa", "abandonment", "occupancy", "engagement",
    "attrition", "partner_on_time", "revenue", "cost", "profit",
]
OUTPUT_FILES = {"metrics.csv", "summary.json", "touchpoints.csv", "flows.csv", "segments.csv",
                "queues.csv", "partners.csv", "employees.csv"}
SMALL = ["--customers", "2000", "--days", "20"]


def read_csv(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def strict_json(text: str) -> dict:
    def no_constant(name):
        raise ValueError(f"non-standard JSON constant {name}")
    return json.loads(text, parse_constant=no_constant)


# --------------------------------------------------------------------------------------------
# A real run, shared by the output tests (and used as "an earlier run" for the bad-input ones)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "results"
    code, stdout, stderr = call(["run", *SMALL, "--seed", "7", "--out", out])
    return {"code": code, "stdout": stdout, "stderr": stderr, "out": out}


@pytest.fixture
def earlier_run(small_run, tmp_path) -> Path:
    """A copy of an earlier run's output folder."""
    folder = tmp_path / "earlier"
    shutil.copytree(small_run["out"], folder)
    assert set(os.listdir(folder)) == OUTPUT_FILES
    return folder


# --------------------------------------------------------------------------------------------
# Help
# --------------------------------------------------------------------------------------------


def test_help():
    code, out, err = call(["--help"])
    assert code == 0
    assert "run" in out and "validate" in out
    assert "Traceback" not in err


def test_run_help_mentions_contract_flags():
    code, out, _ = call(["run", "--help"])
    assert code == 0
    for flag in ("--days", "--customers", "--seed", "--engine", "--threads", "--out"):
        assert flag in out, flag
    assert "numba" in out and "mesa" in out


def test_validate_help():
    code, out, _ = call(["validate", "--help"])
    assert code == 0
    assert "scenario" in out


def test_version():
    code, out, _ = call(["--version"])
    assert code == 0
    assert out.strip() == f"cxsim {cxsim.__version__}"


def test_no_arguments_prints_help():
    code, out, err = call([])
    assert code in (0, 2)
    assert out.startswith("usage: cxsim")
    assert "run" in out and "validate" in out
    assert "Traceback" not in err


# --------------------------------------------------------------------------------------------
# cxsim run: outputs
# --------------------------------------------------------------------------------------------


def test_run_exits_zero_and_writes_outputs(small_run):
    from cxsim.runner import NOTICE

    assert small_run["code"] == 0, small_run["stderr"]
    # nothing on stderr but the warning that 2,000 customers leave the contact centre too
    # few agents (tests/test_small_teams.py) and, when set-up was slow (a cold numba cache),
    # the compile notice
    err = [line for line in small_run["stderr"].replace(NOTICE + "\n", "").splitlines()
           if not line.startswith("warning: at --customers 2,000 teams.contact_centre")]
    assert err == []
    assert set(os.listdir(small_run["out"])) == OUTPUT_FILES  # no temporary files left


def test_metrics_csv(small_run):
    columns, rows = read_csv(small_run["out"] / "metrics.csv")
    assert columns[:len(CONTRACT_COLUMNS)] == CONTRACT_COLUMNS
    assert len(rows) == 20
    assert [int(r["tick"]) for r in rows] == list(range(1, 21))
    assert all(int(r["active"]) > 0 for r in rows)


def test_summary_json(small_run):
    summary = strict_json((small_run["out"] / "summary.json").read_text(encoding="utf-8"))
    assert summary["seed"] == 7
    assert summary["engine"] == "numba"
    assert summary["cxsim_version"] == cxsim.__version__
    assert re.fullmatch(r"[0-9a-f]{16}", summary["scenario_hash"])
    for key in CONTRACT_COLUMNS[1:]:
        assert key in summary, key
    assert summary["market"] == 2000
    assert summary["days"] == 20


def test_summary_scenario_hash_is_the_run_scenario(small_run):
    summary = json.loads((small_run["out"] / "summary.json").read_text(encoding="utf-8"))
    expected = resize(cxsim.default_scenario(), customers=2000, days=20).validated()
    assert summary["scenario_hash"] == expected.content_hash()


def test_summary_table_printed(small_run):
    out = small_run["stdout"]
    assert "Omnichannel retailer: 20 days, market 2,000 (seed 7, numba engine" in out
    for label in ("customers (final)", "monthly churn", "NPS (last 30 days)", "CSAT (1-5)",
                  "service level", "profit"):
        assert label in out, label
    assert "metrics.csv" in out and "summary.json" in out


def test_quiet_prints_nothing(tmp_path):
    code, out, err = call(["run", "--customers", "500", "--days", "3", "--quiet",
                           "--out", tmp_path / "q"])
    assert code == 0
    assert out == "" and err == ""
    assert (tmp_path / "q" / "metrics.csv").is_file()


def test_same_seed_same_bytes(small_run, tmp_path):
    code, _, err = call(["run", *SMALL, "--seed", "7", "--out", tmp_path / "again", "--quiet"])
    assert code == 0, err
    for name in ("metrics.csv", "touchpoints.csv", "segments.csv", "queues.csv", "partners.csv",
                 "employees.csv"):
        assert (tmp_path / "again" / name).read_bytes() == \
            (small_run["out"] / name).read_bytes(), name


def test_other_seed_other_results(small_run, tmp_path):
    code, _, err = call(["run", *SMALL, "--seed", "8", "--out", tmp_path / "other", "--quiet"])
    assert code == 0, err
    assert (tmp_path / "other" / "metrics.csv").read_bytes() != \
        (small_run["out"] / "metrics.csv").read_bytes()


def test_rerun_into_existing_folder_replaces_outputs(small_run, earlier_run):
    code, _, err = call(["run", *SMALL, "--seed", "7", "--out", earlier_run, "--quiet"])
    assert code == 0, err
    assert set(os.listdir(earlier_run)) == OUTPUT_FILES
    assert (earlier_run / "metrics.csv").read_bytes() == \
        (small_run["out"] / "metrics.csv").read_bytes()


def test_mesa_engine_matches_numba(tmp_path):
    tiny = ["--customers", "500", "--days", "10", "--seed", "3", "--quiet"]
    code_n, _, err_n = call(["run", *tiny, "--engine", "numba", "--out", tmp_path / "n"])
    code_m, _, err_m = call(["run", *tiny, "--engine", "mesa", "--out", tmp_path / "m"])
    assert code_n == 0, err_n
    assert code_m == 0, err_m
    numba_csv = (tmp_path / "n" / "metrics.csv").read_bytes()
    assert len(numba_csv.splitlines()) == 11
    assert (tmp_path / "m" / "metrics.csv").read_bytes() == numba_csv
    assert json.loads((tmp_path / "m" / "summary.json").read_text())["engine"] == "mesa"


def test_output_files_honour_umask(small_run):
    mask = os.umask(0)
    os.umask(mask)
    for name in OUTPUT_FILES:
        mode = stat.S_IMODE((small_run["out"] / name).stat().st_mode)
        assert mode == 0o666 & ~mask, f"{name}: {oct(mode)}"


def test_small_run_keeps_a_working_contact_centre(small_run):
    _, rows = read_csv(small_run["out"] / "queues.csv")
    assert rows
    # a small market keeps its team's capacity per customer: a fraction of an agent on duty
    assert all(float(r["agents"]) > 0 for r in rows)
    summary = json.loads((small_run["out"] / "summary.json").read_text())
    assert summary["abandonment"] < 1.0
    assert summary["service_level"] > 0.0


# --------------------------------------------------------------------------------------------
# cxsim validate
# --------------------------------------------------------------------------------------------


def edited_retail(tmp_path: Path, name: str, old: str, new: str) -> Path:
    text = RETAIL.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"retail.toml no longer contains {old!r} exactly once"
    p = tmp_path / name
    p.write_text(text.replace(old, new), encoding="utf-8")
    return p


def test_validate_shipped_scenario():
    code, out, err = call(["validate", RETAIL])
    assert code == 0, err
    assert err == ""
    assert out.startswith(f"{RETAIL}: valid (Omnichannel retailer: ")


def test_validate_bad_file_one_line_per_problem(tmp_path):
    text = RETAIL.read_text(encoding="utf-8")
    # the first touchpoint's quality, whatever its value
    text, n = re.subn(r"(\[touchpoints\.social_feed\]\n(?:.*\n)*?quality = )[0-9.]+",
                      r"\g<1>-0.2", text, count=1)
    assert n == 1
    edits = [("base_churn = 0.040643", "base_churnn = 0.020743"),
             ("reliability = 0.95 ", "reliability = 1.2 ")]
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    p = tmp_path / "bad.toml"
    p.write_text(text, encoding="utf-8")
    code, out, err = call(["validate", p])
    assert code == 2
    assert out == ""
    assert sorted(err.splitlines()) == sorted([
        "segments.loyal: unknown key 'base_churnn'",
        "touchpoints.social_feed.quality must be in [0, 1], got -0.2",
        "partners.courier.reliability must be in [0, 1], got 1.2",
    ])


def test_validate_missing_file(tmp_path):
    p = tmp_path / "nope.toml"
    assert call(["validate", p]) == (2, "", f"{p}: no such file\n")


def test_validate_needs_a_file():
    code, out, err = call(["validate"])
    assert code == 2
    assert len(err.splitlines()) == 1 and "scenario" in err


# --------------------------------------------------------------------------------------------
# Bad input: exit 2, one line per problem, no traceback, nothing written
# --------------------------------------------------------------------------------------------


def _pathway_index(to: str) -> int:
    data = tomllib.loads(RETAIL.read_text(encoding="utf-8"))
    matches = [i for i, pw in enumerate(data["pathways"]) if pw["to"] == to]
    assert len(matches) == 1
    return matches[0]


#: scenario-file problems: (edit of retail.toml, expected stderr lines)
FILE_CASES = {
    "typo_key": (("base_churn = 0.040643", "base_churnn = 0.020743"),
                 ["segments.loyal: unknown key 'base_churnn'"]),
    "negative_quality": (("quality = 0.875", "quality = -0.2"),
                         ["touchpoints.social_feed.quality must be in [0, 1], got -0.2"]),
    "unknown_pathway_target": (('to = "web_browse"', 'to = "fax"'),
                               [f"pathways[{_pathway_index('web_browse')}].to: "
                                "unknown touchpoint 'fax'"]),
    "probability_above_one": (("reliability = 0.95 ", "reliability = 1.2 "),
                              ["partners.courier.reliability must be in [0, 1], got 1.2"]),
    "shares_not_one": (("share = 0.65", "share = 0.55"),
                       ["segments: shares must sum to 1, got 0.9"]),
    "string_for_number": (("headcount = 12", 'headcount = "twelve"'),
                          ["teams.contact_centre.headcount must be a whole number, "
                           "got 'twelve'"]),
}


def _scenario_case(name: str, tmp_path: Path) -> tuple[list, list[str]]:
    (old, new), lines = FILE_CASES[name]
    p = edited_retail(tmp_path, f"{name}.toml", old, new)
    return ["run", p, *SMALL], lines


#: flag and path problems: argv (after 'run ... --out OUT') and a regex for the one line
FLAG_CASES = {
    "customers_abc": (["--customers", "abc"], r"--customers must be a whole number, got 'abc'"),
    "customers_zero": (["--customers", "0"], r"--customers must be at least 1, got 0"),
    "customers_one": (["--customers", "1"], r"^--customers 1 is too small for .*at least 11$"),
    "customers_three": (["--customers", "3"], r"^--customers 3 is too small for .*at least 11$"),
    "days_half": (["--days", "2.5"], r"^--days 2\.5 is not a whole number of ticks .*: 2 or "
                                     r"3 days$"),
    "days_negative": (["--days", "-5"], r"--days must be positive, got -5"),
    "days_text": (["--days", "ten"], r"--days must be a number, got 'ten'"),
    "days_nan": (["--days", "nan"], r"--days must be positive, got nan"),
    "seed_x": (["--seed", "x"], r"--seed must be a whole number, got 'x'"),
    "seed_negative": (["--seed", "-1"], r"--seed must be non-negative, got -1"),
    "engine_foo": (["--engine", "foo"], r"--engine.*invalid choice: 'foo'"),
    "threads_zero": (["--threads", "0"], r"--threads must be at least 1, got 0"),
    "threads_999": (["--threads", "999"], r"--threads must be at most \d+ .*got 999"),
    "unknown_flag": (["--colour=red"], r"unrecognized arguments: --colour=red$"),
}


def _check_bad(code: int, out: str, err: str, patterns: list[str]) -> None:
    assert code == 2, (code, err)
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == len(patterns), err
    for line, pattern in zip(sorted(lines), sorted(patterns), strict=True):
        assert re.search(pattern, line), (pattern, line)
    assert "wrote" not in out


@pytest.mark.parametrize("name", sorted(FILE_CASES))
def test_bad_scenario_file(name, tmp_path, earlier_run):
    argv, lines = _scenario_case(name, tmp_path)
    before = snapshot(earlier_run)
    code, out, err = call([*argv, "--out", earlier_run])
    _check_bad(code, out, err, [f"^{re.escape(line)}$" for line in lines])
    assert snapshot(earlier_run) == before


@pytest.mark.parametrize("name", sorted(FILE_CASES))
def test_bad_scenario_file_creates_nothing(name, tmp_path):
    argv, lines = _scenario_case(name, tmp_path)
    out_dir = tmp_path / "fresh"
    code, out, err = call([*argv, "--out", out_dir])
    _check_bad(code, out, err, [f"^{re.escape(line)}$" for line in lines])
    assert not out_dir.exists()


@pytest.mark.parametrize("name", sorted(FLAG_CASES))
def test_bad_flag(name, earlier_run):
    extra, pattern = FLAG_CASES[name]
    before = snapshot(earlier_run)
    code, out, err = call(["run", *SMALL, "--out", earlier_run, *extra])
    _check_bad(code, out, err, [pattern])
    assert snapshot(earlier_run) == before


@pytest.mark.parametrize("name", sorted(FLAG_CASES))
def test_bad_flag_creates_nothing(name, tmp_path):
    extra, pattern = FLAG_CASES[name]
    out_dir = tmp_path / "fresh"
    code, out, err = call(["run", *SMALL, "--out", out_dir, *extra])
    _check_bad(code, out, err, [pattern])
    assert not out_dir.exists()


def test_missing_scenario_file(tmp_path, earlier_run):
    p = tmp_path / "missing.toml"
    before = snapshot(earlier_run)
    code, out, err = call(["run", p, *SMALL, "--out", earlier_run])
    _check_bad(code, out, err, [f"^{re.escape(str(p))}: no such file$"])
    assert snapshot(earlier_run) == before


def test_scenario_is_a_folder(tmp_path):
    code, out, err = call(["run", tmp_path, *SMALL, "--out", tmp_path / "fresh"])
    _check_bad(code, out, err, [f"^{re.escape(str(tmp_path))}: is a folder"])
    assert not (tmp_path / "fresh").exists()


def test_non_toml_scenario_file(tmp_path, earlier_run):
    p = tmp_path / "notes.toml"
    p.write_text("Dear team,\nplease simulate [our shop\n", encoding="utf-8")
    before = snapshot(earlier_run)
    code, out, err = call(["run", p, *SMALL, "--out", earlier_run])
    _check_bad(code, out, err, [f"^{re.escape(str(p))}: not valid TOML \\("])
    assert snapshot(earlier_run) == before


def test_binary_scenario_file(tmp_path):
    p = tmp_path / "photo.toml"
    p.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x80\x81")
    code, out, err = call(["run", p, *SMALL, "--out", tmp_path / "fresh"])
    _check_bad(code, out, err, [f"^{re.escape(str(p))}: not a text file$"])
    assert not (tmp_path / "fresh").exists()


def test_out_is_an_existing_file(tmp_path):
    target = tmp_path / "results"
    target.write_bytes(b"precious notes\n")
    before = snapshot(tmp_path)
    code, out, err = call(["run", *SMALL, "--out", target])
    _check_bad(code, out, err, [r"^--out: .*results exists and is not a folder$"])
    assert snapshot(tmp_path) == before


def test_out_below_an_existing_file(tmp_path):
    target = tmp_path / "results"
    target.write_bytes(b"precious notes\n")
    before = snapshot(tmp_path)
    code, out, err = call(["run", "--customers", "500", "--days", "2", "--quiet",
                           "--out", target / "sub"])
    assert snapshot(tmp_path) == before
    _check_bad(code, out, err, [r"--out"])


def test_huge_integer_in_scenario_file(tmp_path):
    p = edited_retail(tmp_path, "huge.toml", "quality = 0.875", "quality = 1" + "0" * 400)
    code, out, err = call(["validate", p])
    _check_bad(code, out, err, [r"^touchpoints\.social_feed\.quality "])


def test_overlong_scenario_name(tmp_path):
    code, out, err = call(["validate", tmp_path / ("a" * 5000 + ".toml")])
    _check_bad(code, out, err, [r"a+\.toml"])


def test_unknown_command(tmp_path):
    before = snapshot(tmp_path)
    code, out, err = call(["frobnicate", "--out", tmp_path / "x"])
    _check_bad(code, out, err, [r"invalid choice: 'frobnicate'"])
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "x").exists()


def test_validate_rejects_run_flags():
    code, out, err = call(["validate", RETAIL, "--days", "3"])
    _check_bad(code, out, err, [r"unrecognized arguments: --days 3"])


# --------------------------------------------------------------------------------------------
# Real processes: true exit codes, no tracebacks
# --------------------------------------------------------------------------------------------


def test_subprocess_help(tmp_path):
    proc = cli_subprocess(["--help"], tmp_path, script=True)
    assert proc.returncode == 0, proc.stderr
    assert "run" in proc.stdout and "validate" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_subprocess_bad_scenario_keeps_earlier_run(tmp_path, earlier_run):
    p = edited_retail(tmp_path, "typo.toml", "base_churn = 0.040643", "base_churnn = 0.020743")
    before = snapshot(earlier_run)
    proc = cli_subprocess(["run", p, *SMALL, "--out", earlier_run], tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == ["segments.loyal: unknown key 'base_churnn'"]
    assert proc.stdout == ""
    assert snapshot(earlier_run) == before


def test_subprocess_bad_flags(tmp_path):
    proc = cli_subprocess(["run", "--customers", "abc", "--out", tmp_path / "x"], tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "--customers" in lines[0] and "'abc'" in lines[0]
    assert not (tmp_path / "x").exists()
    assert sorted(os.listdir(tmp_path)) == []


# --------------------------------------------------------------------------------------------
# Start-up: --help and validate load none of the simulation's libraries
# --------------------------------------------------------------------------------------------

#: libraries only runs, tables and figures need (numpy alone costs a third of the half second
#: --help and validate may take)
HEAVY = ("numpy", "numba", "mesa", "pandas", "scipy", "matplotlib", "networkx")

#: runs ``cxsim ARGS`` the way the console script does, then writes the imported module names
#: to the file given first
PROBE = """\
import json, sys
from cxsim.cli import main
try:
    code = main(sys.argv[2:])
finally:
    with open(sys.argv[1], "w", encoding="utf-8") as fh:
        json.dump(sorted(sys.modules), fh)
sys.exit(code)
"""


def imported_by(args: list, tmp_path: Path) -> tuple[subprocess.CompletedProcess, set[str]]:
    """A fresh process's ``cxsim ARGS`` and the top-level packages it imported."""
    record = tmp_path / "modules.json"
    proc = subprocess.run([sys.executable, "-c", PROBE, record, *map(str, args)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, env=subprocess_env())
    modules = json.loads(record.read_text(encoding="utf-8"))
    return proc, {m.partition(".")[0] for m in modules}


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["run", "--help"],
                                  ["compare", "--help"], ["sweep", "--help"], ["plot", "--help"],
                                  ["viz", "--help"], ["validate", "--help"]],
                         ids=" ".join)
def test_help_imports_no_heavy_library(args, tmp_path):
    proc, top = imported_by(args, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: cxsim" if "--help" in args else "cxsim ")
    assert sorted(top.intersection(HEAVY)) == []


def test_validate_imports_no_heavy_library(tmp_path):
    proc, top = imported_by(["validate", RETAIL], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{RETAIL}: valid (Omnichannel retailer: ")
    assert sorted(top.intersection(HEAVY)) == []


def test_validate_refusal_imports_no_heavy_library(tmp_path):
    # every check runs, the episode cap (a week's ticks of 90 needs a day) and the queue
    # formulas' agent limit among them
    text = RETAIL.read_text(encoding="utf-8")
    for old, new in [("tick_days = 1.0", "tick_days = 7.0"),
                     ("explore = 0.02,", "explore = 90.0,"),
                     ("\nheadcount = 12\n", "\nheadcount = 100000\n"),
                     ("size = 100_000 ", "represents = 50_000_000\nsize = 100_000 ")]:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    p = tmp_path / "bad.toml"
    p.write_text(text, encoding="utf-8")
    proc, top = imported_by(["validate", p], tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 2, lines
    assert any(line.startswith("teams.contact_centre: headcount x fte (100,000 x ")
               and line.endswith("stands for more than 10,000,000 employees") for line in lines)
    assert any(line.startswith("segments.loyal.need_rates: ")
               and "at most 512 episodes a tick are simulated" in line for line in lines)
    assert "Traceback" not in proc.stderr
    assert sorted(top.intersection(HEAVY)) == []
