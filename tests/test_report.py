"""``cxsim report DIR``: one self-contained HTML file per results folder (no browser here).

The folders are made once per module at a tiny size (500-2,000 people, a few days).  The run
and the sweep use a scenario whose name and description are HTML (a script, an image with
an event handler): the report must show them as text.
"""

from __future__ import annotations

import base64
import errno
import html
import json
import math
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from conftest import call, copy_of, snapshot, subprocess_env
from hypothesis import given, settings
from hypothesis import strategies as st

from cxsim import io as cxio
from cxsim import report
from cxsim.errors import InputError
from cxsim.scenario import scenario_dir
from cxsim.vocabulary import BY_NAME, COMPARED, HEADLINE, METRICS, PLAIN, format_value, plain

HOSTILE_NAME = "<script>alert(1)</script> & Co"
HOSTILE_DESCRIPTION = "<img src=x onerror=alert(2)> &amp; more"
SMALL = ["--customers", "500", "--days", "5", "--quiet"]


def hostile_scenario(folder: Path) -> Path:
    """The retail scenario with HTML for a name and a description."""
    text = (scenario_dir() / "retail.toml").read_text()
    text = re.sub(r'^name = ".*"$', f"name = {json.dumps(HOSTILE_NAME)}", text, count=1,
                  flags=re.M)
    text = re.sub(r'^description = ".*"$', f"description = {json.dumps(HOSTILE_DESCRIPTION)}",
                  text, count=1, flags=re.M)
    path = folder / "hostile.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    """A run, a comparison, a grid sweep, a Morris sweep and a calibration."""
    root = tmp_path_factory.mktemp("report")
    hostile = hostile_scenario(root)
    (root / "targets.csv").write_text("metric,day_from,day_to,value,sd\n"
                                      "nps,1,5,5,3\nservice_level,1,5,0.5,0.05\n")
    made = {}
    for kind, argv in (
            ("run", ["run", hostile, *SMALL]),
            ("compare", ["compare", "--strategies", "fix_courier,recover_detractors",
                         "--reps", "2", "--customers", "500", "--days", "35", "--workers",
                         "1", "--quiet"]),
            ("sweep", ["sweep", hostile, "--param", "touchpoints.chat.quality=0.5,0.9",
                       "--param", "teams.contact_centre.headcount=6,12", "--reps", "2",
                       *SMALL, "--workers", "1"]),
            ("morris", ["sweep", "--param", "teams.contact_centre.headcount=int(4,14)",
                        "--param", "touchpoints.chat.quality=uniform(0.6,0.9)", "--design",
                        "morris", "--samples", "2", *SMALL, "--workers", "1"]),
            ("calibrate", ["calibrate", "--targets", root / "targets.csv", "--param",
                           "teams.contact_centre.headcount=int(4,14)", "--method", "prior",
                           "--budget", "8", "--reps", "1", "--check-reps", "2", *SMALL,
                           "--workers", "1"])):
        code, _, err = call([*argv, "--out", root / kind])
        assert code == 0, err
        made[kind] = root / kind
    return made


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


class Page(HTMLParser):
    """A strict reading of the report: balanced elements, text by element, every table."""

    VOID = {"meta", "img", "br", "wbr", "hr", "link", "input"}

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.texts: dict[str, list[str]] = {}
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self.feed(text)
        self.close()
        assert not self.stack, f"unclosed elements: {self.stack}"

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "table":
            self._table = a.get("id") or f"table{len(self.tables)}"
            self.tables[self._table] = []
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self.stack:
            self.texts.setdefault(self.stack[-1], []).append(data)

    def rows(self, table: str) -> list[list[str]]:
        """The body rows of a table (the header row left out)."""
        return self.tables[table][1:]


def make_report(folder: Path, tmp_path: Path, *extra) -> tuple[str, Page]:
    out = tmp_path / "report.html"
    code, stdout, err = call(["report", folder, "--out", out, *extra])
    assert code == 0, err
    assert stdout.strip() == f"wrote {out}"
    text = out.read_text(encoding="utf-8")
    return text, Page(text)


def assert_self_contained(text: str, page: Page) -> None:
    outside = re.sub(r'src="data:image/png;base64,[A-Za-z0-9+/=]*"', "", text)
    assert not re.search(r"https?:|//[a-z]|url\(", outside, re.I), "an address outside the file"
    assert "<script" not in text.lower() and " on" not in "".join(
        f" {k}" for _, a in page.tags for k in a)
    for tag, a in page.tags:
        assert tag not in ("script", "link", "iframe", "object", "embed"), tag
        if tag == "img":
            src = a["src"]
            assert src.startswith("data:image/png;base64,")
            assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
            assert a.get("alt")
    csp = [a["content"] for t, a in page.tags if t == "meta"
           and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp == [report.CSP] and "default-src 'none'" in csp[0]


# --------------------------------------------------------------------------------------------
# Each kind of folder
# --------------------------------------------------------------------------------------------


def test_a_run_report_shows_the_summary_figures_and_flags_extrapolation(folders, tmp_path):
    summary = json.loads((folders["run"] / "summary.json").read_text())
    text, page = make_report(folders["run"], tmp_path)
    assert_self_contained(text, page)
    assert page.texts["title"] == [f"cxsim run report: {HOSTILE_NAME}"]
    rows = {r[0]: r[1:] for r in page.rows("headline")}
    assert rows["Active customers at the end"] == [
        format_value("active", summary["active"]), "customers"]
    assert rows["Net Promoter Score (last 30 days)"][0] == format_value("nps", summary["nps"])
    assert rows["Profit (total)"][0] == format_value("profit", summary["profit"])
    # five days: monthly churn and annual retention are extrapolated, and say so
    assert "Annual retention †" in rows and "Monthly churn †" in rows
    caveats = " ".join(page.texts["li"])
    assert "Annual retention is extrapolated: the run covers 5 days" in caveats
    assert "One run with one random seed" in caveats
    settings_ = {r[0]: r[1] for r in page.rows("run-settings")}
    assert settings_["Days simulated"] == "5" and settings_["Market size (people)"] == "500"
    assert settings_["Seed"] == "0"
    # seven figures (with CLV by segment), each with a caption
    assert sum(1 for t, _ in page.tags if t == "img") == 7
    assert len(page.texts["figcaption"]) == 7
    # the glossary has a plain line for every metric in the table
    glossary = " ".join(page.texts["dd"])
    for m in report.RUN_ROWS:
        assert plain(m) in glossary


def test_a_comparison_report_shows_each_difference_with_its_interval(folders, tmp_path):
    table = pd.read_csv(folders["compare"] / "comparison.csv")
    text, page = make_report(folders["compare"], tmp_path)
    assert_self_contained(text, page)
    assert page.texts["title"] == ["cxsim compare report: Omnichannel retailer"]
    rows = page.rows("headline")
    groups = [r[0] for r in rows if len(r) == 1]
    assert groups == ["fix_courier − baseline (from day 30)",
                      "recover_detractors − baseline (from day 30)"]
    body = [r for r in rows if len(r) > 1]
    assert len(body) == 2 * len(report.COMPARE_ROWS)
    start = rows.index(["fix_courier − baseline (from day 30)"])
    nps = next(r for r in rows[start:] if r[0] == "Net Promoter Score" + BY_NAME["nps"].unit)
    row = table[(table.strategy == "fix_courier") & (table.metric == "nps")].iloc[0]
    base = table[(table.strategy == "baseline") & (table.metric == "nps")].iloc[0]
    assert nps[1] == format_value("nps", base["mean"])
    assert nps[2] == format_value("nps", row["mean"])
    assert nps[3] == format_value("nps", row["diff"], signed=True, precise=True)
    lo = format_value("nps", row["diff_ci_low"], signed=True, precise=True)
    hi = format_value("nps", row["diff_ci_high"], signed=True, precise=True)
    if str(row["fixed"]).lower() == "true":  # the same in both replications: no interval
        assert nps[4:] == ["none: the same in every replication", "no spread to test"]
    else:
        assert nps[4] == f"{lo} to {hi}"
        clear = row["diff_ci_low"] > 0 or row["diff_ci_high"] < 0
        assert (nps[5] == "no clear difference") == (not clear)
    cost = next(r for r in rows[start:] if r[0].startswith("Intervention cost"))
    assert cost[4:] == ["none: the same in every replication", "no spread to test"]
    # a difference of percentages is in percentage points
    sl = next(r for r in rows[start:] if r[0].startswith("Contact-centre service level"))
    assert sl[0] == "Contact-centre service level" + BY_NAME["service_level"].unit
    assert sl[3].endswith(" pp") and sl[1].endswith("%")
    money = {r[0]: r for r in page.rows("money")}
    roi = pd.read_csv(folders["compare"] / "roi.csv").set_index("strategy")
    assert money["fix_courier"][1] == format_value("profit",
                                                   roi.loc["fix_courier", "intervention_cost"])
    caveats = " ".join(page.texts["li"])
    assert "ran 2 times with the same 2 random seeds (paired replications)" in caveats
    assert "Only 2 replications" in caveats
    assert "Acting for less than 90 days of the run: fix_courier (5 days)" in caveats
    assert "Annual retention" not in caveats  # not in the compare table: nothing to flag
    assert sum(1 for t, _ in page.tags if t == "img") == 2
    assert "95 % interval" in page.texts["dt"] and "Paired replications" in page.texts["dt"]


def test_a_grid_sweep_report_has_a_row_per_design_point(folders, tmp_path):
    text, page = make_report(folders["sweep"], tmp_path)
    assert_self_contained(text, page)
    rows = page.rows("headline")
    header = page.tables["headline"][0]
    assert header[:2] == ["touchpoints.chat.quality", "teams.contact_centre.headcount"]
    assert sorted((r[0], r[1]) for r in rows) == [("0.5", "12"), ("0.5", "6"), ("0.9", "12"),
                                                  ("0.9", "6")]
    runs = pd.read_parquet(folders["sweep"] / "runs.parquet")
    means = runs.groupby(["touchpoints.chat.quality", "teams.contact_centre.headcount"])
    col = header.index(BY_NAME["profit"].short)
    for r in rows:
        want = means["profit"].mean()[(float(r[0]), int(r[1]))]
        assert r[col] == format_value("profit", want)
    # the scenario's description is shown as text
    assert page.texts["p"].count(HOSTILE_DESCRIPTION) == 1
    assert "Every point ran with the same 2 seeds" in " ".join(page.texts["li"])


def test_a_morris_sweep_report_ranks_the_parameters(folders, tmp_path):
    text, page = make_report(folders["morris"], tmp_path, "--no-figures")
    assert_self_contained(text, page)
    sens = pd.read_csv(folders["morris"] / "sensitivity.csv")
    rows = page.rows("sensitivity")
    sl = sens[sens.outcome == "service_level"].sort_values("mu_star", ascending=False)
    first = next(i for i, r in enumerate(rows) if r[0] == "Contact-centre service level")
    assert rows[first][1] == sl.iloc[0]["parameter"] == "teams.contact_centre.headcount"
    assert rows[first][2] == format_value("service_level", sl.iloc[0]["mu_star"], precise=True)
    # an outcome the design cannot move says so
    revenue = next(r for r in rows if r[0] == "Revenue (total)")
    assert revenue[1:3] == ["—", "n/a (constant outcome)"]
    assert "Morris μ*" in page.texts["dt"]
    assert not any(t == "img" for t, _ in page.tags)  # --no-figures
    assert "One replication per design point" in " ".join(page.texts["li"])


def test_a_calibration_report_shows_estimates_and_fit(folders, tmp_path):
    text, page = make_report(folders["calibrate"], tmp_path, "--no-figures")
    assert_self_contained(text, page)
    est = pd.read_csv(folders["calibrate"] / "estimates.csv").iloc[0]
    rows = page.rows("headline")
    assert rows[0][0] == "teams.contact_centre.headcount"
    assert rows[0][2] == f"{int(est['estimate']):,}"
    fit = page.rows("fit")
    assert [r[0] for r in fit] == ["Net Promoter Score", "Contact-centre service level"]
    assert fit[1][2] == "50.0%"
    assert "90 % intervals" in " ".join(page.texts["li"])


def test_the_default_is_report_html_in_the_folder_and_results_folders_accept_it(folders,
                                                                                tmp_path):
    folder = copy_of(folders["run"], tmp_path)
    code, out, err = call(["report", folder, "--no-figures"])
    assert code == 0, err
    assert out.strip() == f"wrote {folder / 'report.html'}"
    assert (folder / "report.html").read_text().startswith("<!DOCTYPE html>")
    # cxsim plot carries the report along; a new run replaces the folder whole
    assert call(["plot", folder, "--quiet"])[0] == 0
    assert (folder / "report.html").exists() and (folder / "kpi_dashboard.png").exists()
    code, _, err = call(["run", *SMALL, "--seed", "4", "--out", folder])
    assert code == 0, err
    assert not (folder / "report.html").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["res"]


# --------------------------------------------------------------------------------------------
# Escaping
# --------------------------------------------------------------------------------------------


def test_html_in_a_scenario_is_shown_as_text(folders, tmp_path):
    for kind in ("run", "sweep"):
        text, page = make_report(folders[kind], tmp_path, "--no-figures")
        assert "<script" not in text and "<img src=x" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in text
        assert page.texts["h1"] == [HOSTILE_NAME]
        assert not any(t == "img" for t, _ in page.tags)
    assert "&lt;img src=x onerror=alert(2)&gt; &amp;amp; more" in text


def test_html_in_a_damaged_summary_is_shown_as_text(folders, tmp_path):
    folder = copy_of(folders["run"], tmp_path)
    summary = json.loads((folder / "summary.json").read_text())
    summary.update(strategy='"><svg onload=alert(3)>', overrides={"a<b": "</td><script>"})
    (folder / "summary.json").write_text(json.dumps(summary))
    text, page = make_report(folder, tmp_path, "--no-figures")
    assert "<svg" not in text and "<script" not in text
    settings_ = {r[0]: r[1] for r in page.rows("run-settings")}
    assert settings_["Strategy"] == '"><svg onload=alert(3)>'
    assert settings_["Settings changed (--set)"] == "a<b = </td><script>"


@settings(max_examples=60, deadline=None)
@given(name=st.text(min_size=1, max_size=40), description=st.text(max_size=40))
def test_any_text_round_trips_as_text(name, description):
    part = report.Part("run", name, f"lede {name}", [("Scenario", name), (name, "x")],
                       [report._table(["Metric", name], [[name, "1"], name])],
                       ["nps"], ["interval"], [name], description=description)
    text = report.render([part])
    page = Page(text)
    assert "".join(page.texts["h1"]) == name
    assert "".join(page.texts["title"]) == f"cxsim run report: {name}"
    allowed = {"html", "head", "meta", "title", "style", "body", "header", "h1", "p", "main",
               "section", "h2", "table", "caption", "thead", "tbody", "tr", "th", "td", "div",
               "dl", "dt", "dd", "span", "ul", "li", "footer"}
    assert {t for t, _ in page.tags} <= allowed


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["missing", "file", "empty", "not-results", "older",
                                  "damaged", "optimise-only", "link"])
def test_bad_folders_exit_2_with_one_line(case, folders, tmp_path):
    target = tmp_path / "r"
    words = {"missing": "r: no such folder", "file": "r: is a file",
             "empty": "r: no cxsim results here", "not-results": "r: no cxsim results here",
             "older": "older cxsim format", "damaged": "summary.json: cannot be read",
             "optimise-only": "r: no cxsim results here",
             "link": "r: is a symbolic link"}[case]
    if case == "file":
        target.write_text("x")
    elif case == "empty":
        target.mkdir()
    elif case == "not-results":
        target.mkdir()
        (target / "notes.txt").write_text("hello")
    elif case == "optimise-only":
        target.mkdir()
        (target / "pareto.csv").write_text("a\n1\n")
    elif case == "link":
        target.symlink_to(folders["run"])
    elif case in ("older", "damaged"):
        copy_of(folders["run"], tmp_path, "r")
        path = target / "summary.json"
        if case == "older":
            summary = json.loads(path.read_text())
            summary.pop("format")
            path.write_text(json.dumps(summary))
        else:
            path.write_text("{not json")
    before = snapshot(tmp_path)
    for extra in ([], ["--no-figures"]):
        code, out, err = call(["report", target, *extra])
        assert code == 2 and out == ""
        assert words in one_line(err)
    assert snapshot(tmp_path) == before  # nothing written


def test_a_damaged_comparison_exits_2(folders, tmp_path):
    folder = copy_of(folders["compare"], tmp_path)
    (folder / "comparison.csv").write_text("strategy,metric\nbaseline,nps\n")
    code, _, err = call(["report", folder, "--no-figures"])
    assert code == 2
    assert "comparison.csv: lacks column 'mean'" in one_line(err)
    assert not (folder / "report.html").exists()


@pytest.mark.parametrize("case", ["missing-parent", "below-a-file", "a-folder", "empty",
                                  "not-html"])
def test_an_out_that_cannot_be_written_exits_2_naming_it(case, folders, tmp_path):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    out = {"missing-parent": tmp_path / "no" / "such" / "r.html",
           "below-a-file": tmp_path / "afile" / "r.html", "a-folder": tmp_path / "adir",
           "empty": "", "not-html": tmp_path / "afile"}[case]
    before = snapshot(tmp_path)
    code, stdout, err = call(["report", folders["run"], "--out", out, "--no-figures"])
    assert code == 2 and stdout == ""
    line = one_line(err)
    assert line.startswith("--out")
    if case != "empty":
        assert str(out) in line
    assert snapshot(tmp_path) == before
    assert not (folders["run"] / "report.html").exists()


def test_a_results_file_is_never_replaced_by_a_report(folders, tmp_path):
    folder = copy_of(folders["run"], tmp_path)
    before = snapshot(folder)
    code, _, err = call(["report", folder, "--out", folder / "summary.json", "--no-figures"])
    assert code == 2
    assert one_line(err) == (f"--out: {folder / 'summary.json'} exists and is not an HTML "
                             "file; cxsim report replaces only .html files")
    assert snapshot(folder) == before
    # an earlier report is replaced
    (tmp_path / "old.html").write_text("old")
    code, _, err = call(["report", folder, "--out", tmp_path / "old.html", "--no-figures"])
    assert code == 0, err
    assert (tmp_path / "old.html").read_text().startswith("<!DOCTYPE html>")


def test_a_failed_write_leaves_nothing_half_written(folders, tmp_path, monkeypatch):
    folder = copy_of(folders["run"], tmp_path)
    (folder / "report.html").write_text("the earlier report")
    before = snapshot(folder)

    def full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))

    monkeypatch.setattr(cxio.os, "replace", full)
    code, _, err = call(["report", folder, "--no-figures"])
    assert code == 2
    line = one_line(err)
    assert line == (f"{folder}: cannot write report.html there (No space left on device); "
                    "nothing was written (choose another file with --out)")
    assert snapshot(folder) == before  # the earlier report, no temporary file


def test_a_folder_in_use_is_refused(folders, tmp_path):
    folder = copy_of(folders["run"], tmp_path)
    with cxio.folder_lock(folder):
        code, _, err = call(["report", folder, "--no-figures"])
    assert code == 2 and "in use by another cxsim process" in one_line(err)
    assert not (folder / "report.html").exists()


# --------------------------------------------------------------------------------------------
# The command line and the vocabulary
# --------------------------------------------------------------------------------------------


def test_help_lists_report_and_stays_light():
    code, out, _ = call(["--help"])
    assert code == 0 and re.search(r"^\s+report\s+one self-contained HTML report", out, re.M)
    code, out, _ = call(["report", "--help"])
    assert code == 0 and "--out FILE" in out and "--no-figures" in out
    probe = ("import sys, cxsim.cli; cxsim.cli.build_parser(); "
             "print(sorted(m for m in ('cxsim.report', 'matplotlib', 'pandas') "
             "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env=subprocess_env(), timeout=60)
    assert done.stdout.strip() == "[]", done.stderr


def test_every_reported_metric_has_a_plain_line():
    for name in {*COMPARED, *HEADLINE, *report.RUN_ROWS, *report.COMPARE_ROWS}:
        assert name in PLAIN, name
        assert plain(name) == PLAIN[name] and PLAIN[name].endswith(".")
        assert "\n" not in PLAIN[name] and len(PLAIN[name]) < 200
    assert set(PLAIN) <= set(BY_NAME)
    # other metrics fall back to their description, as a sentence
    other = next(m for m in METRICS if m.name not in PLAIN and m.description)
    assert plain(other.name) == other.description[0].upper() + other.description[1:] + "."
    assert plain("no_such_metric") == ""


def test_numbers_are_formatted_sensibly():
    assert report._plain_number(12345) == "12,345"
    assert report._plain_number(0.123456) == "0.1235"
    assert report._plain_number(float("nan")) == "n/a"
    assert report._plain_number("x") == "n/a"
    assert report._diff("service_level", 0.0123) == "+1.23 pp"
    assert report._diff("profit", -1234.5) == "-1,234"
    assert report._interval("nps", -1.0, 2.5) == "-1.00 to +2.50"
    assert math.isnan(report._number(True))
    assert str(report._reading("churned", -5, -1)) == (
        '<span class="better">clearly better (lower)</span>')
    assert "no clear difference" in report._reading("nps", -1, 1)
    assert html.unescape(report._h("<a>")) == "<a>"


def test_a_large_sweep_shows_the_spread_of_its_results(folders, tmp_path, monkeypatch):
    monkeypatch.setattr(report, "MAX_POINT_ROWS", 3)  # the grid's 4 points count as many
    path = report.write_report(folders["sweep"], out=tmp_path / "r.html")  # kinds found
    assert path == tmp_path / "r.html"
    page = Page(path.read_text(encoding="utf-8"))
    rows = {r[0]: r[1:] for r in page.rows("headline")}
    runs = pd.read_parquet(folders["sweep"] / "runs.parquet")
    means = runs.groupby("point")["profit"].mean()
    assert rows["Profit (total)"] == [format_value("profit", means.min()),
                                      format_value("profit", means.quantile(0.05)),
                                      format_value("profit", means.median()),
                                      format_value("profit", means.quantile(0.95)),
                                      format_value("profit", means.max()), "currency"]
    assert "Spread of the results" in page.texts["h3"]


def test_the_library_refuses_a_folder_without_results(tmp_path):
    with pytest.raises(cxio.FolderError, match="no cxsim results to report"):
        report.write_report(tmp_path)
    with pytest.raises(InputError, match="no report for 'optimise' results"):
        report.read_part(tmp_path, "optimise")
    assert list(tmp_path.iterdir()) == []


def test_money_is_labelled_in_the_scenarios_currency(folders, tmp_path):
    """A run or comparison records economics.currency; the report's money units use it."""
    import json

    for kind in ("run", "compare"):
        folder = copy_of(folders[kind], tmp_path / kind)
        meta = folder / ("summary.json" if kind == "run" else "compare.json")
        data = json.loads(meta.read_text())
        assert data["currency"] == "€"  # the default, recorded
        data["currency"] = "NZ$"
        meta.write_text(json.dumps(data))
        text, _ = make_report(folder, tmp_path / kind)
        assert "NZ$" in text
        data["currency"] = "x" * 40  # not a currency: refused as damaged, nothing written
        meta.write_text(json.dumps(data))
        out = tmp_path / kind / "again.html"
        code, _, err = call(["report", folder, "--out", out])
        assert code == 2 and "currency" in one_line(err) and not out.exists()
