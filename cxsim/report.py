"""One self-contained HTML report of a results folder (``cxsim report DIR``).

:func:`write_report` turns what ``cxsim run``, ``compare``, ``sweep`` or ``calibrate`` wrote
into a single HTML file a manager can read: the settings, a headline table (a run's
figures; each strategy's difference from the baseline with its 95 % interval; a sweep's
results per design point or their spread, and its sensitivity indices; a calibration's
estimates and fit), the figures, one plain-language line per metric shown
(:data:`cxsim.vocabulary.PLAIN`) and what to read with care.

The file stands alone: figures are embedded as base64 PNG, the style sheet is inline, there
is no script and no address of anything outside the file (its Content-Security-Policy
forbids loading any), so it opens offline, e.g. from an e-mail attachment, and prints.
Every text taken from the folder (a scenario's name or description, strategy and parameter
names) is escaped: the files of a results folder are untrusted input.

The file is written atomically (:func:`cxsim.io.write_atomic`): it is complete or absent.
"""

from __future__ import annotations

import base64
import html
import io as _io
import math
import os
import time
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import Arg, InputError
from .io import REPORT, RESULTS_FORMAT, FolderError, read_json, shown, write_atomic
from .vocabulary import BY_NAME, format_value, is_currency, plain

#: the kinds of results folder a report describes (the kinds ``cxsim plot`` draws)
KINDS = ("run", "compare", "sweep", "calibrate")

#: a run's figures in the headline table, in order
RUN_ROWS = ("active", "new", "churned", "retention", "monthly_churn", "annual_retention",
            "nps", "csat", "ces", "satisfaction", "fcr", "service_level", "asa",
            "abandonment", "occupancy", "engagement", "attrition", "partner_on_time",
            "revenue", "cost", "profit")

#: a comparison's metrics in the headline table (the headline figures and the cost)
COMPARE_ROWS = ("active", "churned", "monthly_churn", "nps", "csat", "service_level",
                "revenue", "intervention_cost", "profit")

#: a sweep's design points shown one per row up to this many (else their spread)
MAX_POINT_ROWS = 40

#: parameters listed per outcome in a sweep's sensitivity table
TOP_PARAMETERS = 3

#: days of a year and of a month, as the vocabulary's derived figures count them
YEAR_DAYS = 365.0
MONTH_DAYS = 30.4

#: replications below which a comparison's intervals are flagged as rough
FEW_REPS = 10

#: days a strategy acts within the run below which slow effects are flagged as not shown
SHORT_ACTING_DAYS = 90.0

#: pixels per inch of the embedded figures (sharp on a laptop, small enough to e-mail)
FIGURE_DPI = 110

#: words of the report that are not metrics, one plain line each
TERMS = {
    "interval": "95 % interval: the range that, with the replications run, holds the true "
                "average 95 times in 100. An interval that does not include 0 means the "
                "difference is clear; one that includes 0 means it may be chance.",
    "paired": "Paired replications: the baseline and every strategy are run with the same "
              "random seeds, so each strategy meets the same customers, needs and chance "
              "events as the baseline; the difference then shows the strategy's effect, "
              "not luck.",
    "pp": "pp (percentage points): the difference between two percentages; from 12 % to "
          "15 % is +3 pp.",
    "incremental_profit": "Incremental profit: the strategy's profit minus the baseline's "
                          "over the run, after paying for the strategy.",
    "roi": "ROI: incremental profit per unit of money spent on the strategy (0.5 = 50 "
           "cents back on top of each unit spent; below 0 = a loss).",
    "npv": "NPV: the incremental profit with later money discounted at the scenario's "
           "yearly discount rate.",
    "payback": "Payback: the day the strategy's extra profit, added up, first covers its "
               "cost.",
    "sobol": "Sobol' total index (ST): the share of an outcome's variation that goes away "
             "if this parameter were known; near 0 = it hardly matters.",
    "morris": "Morris μ*: how much an outcome moves, on average, when this parameter "
              "moves across its range (in the outcome's own unit); larger = more "
              "influential.",
    "prior": "Prior: the range of values considered possible before looking at the data.",
    "posterior": "Posterior interval: the values still plausible after fitting the model "
                 "to the observed data (90 % of the weight).",
}

#: what each figure shows, in a line (figures not listed get their title)
FIGURE_NOTES = {
    "kpi_dashboard.png": "The headline metrics day by day.",
    "nps_split.png": "Promoters, passives and detractors, and the NPS they make.",
    "journey_map.png": "Each touchpoint's volume and the experience customers had there.",
    "flow_diagram.png": "How customers' service episodes move between touchpoints.",
    "retention_curves.png": "Share of each segment's starting customers still active.",
    "clv_by_segment.png": "What a customer of each segment is expected to be worth from now "
                          "on (margin while they stay, discounted).",
    "workforce.png": "Staff and partners: service level, occupancy, engagement, leavers.",
    "comparison_bands.png": "Each strategy against the baseline over time (bands: the "
                            "spread over replications).",
    "forest_plot.png": "Each strategy's difference from the baseline with its 95 % "
                       "interval; an interval clear of 0 is a clear difference.",
    "sweep_heatmap.png": "An outcome over two swept parameters.",
    "sensitivity.png": "Which parameters move each outcome most.",
}


class Html(str):
    """Text that is already HTML (escaped where it had to be); other text gets escaped."""


def _h(value: Any) -> str:
    """``value`` as HTML: :class:`Html` as is, anything else escaped."""
    return value if isinstance(value, Html) else html.escape(str(value), quote=True)


@dataclass
class Part:
    """What one kind of results contributes to the report (texts not escaped yet)."""

    kind: str
    scenario: str
    lede: str
    settings: list[tuple[str, Any]]
    blocks: list[Html] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)
    description: str = ""


# --------------------------------------------------------------------------------------------
# Numbers and small pieces of HTML
# --------------------------------------------------------------------------------------------


def _number(v: Any) -> float:
    """``v`` as a float; NaN for anything that is not a finite number."""
    if isinstance(v, bool) or v is None:
        return math.nan
    try:
        x = float(v)
    except (TypeError, ValueError):
        return math.nan
    return x if math.isfinite(x) else math.nan


def _value(metric: str, v: Any, *, signed: bool = False, precise: bool = False) -> str:
    """A metric's value as the vocabulary prints it (``n/a`` if missing)."""
    return format_value(metric, _number(v), signed=signed, precise=precise)


def _plain_number(v: Any) -> str:
    """A number that is not a metric: whole numbers with separators, else 4 digits."""
    x = _number(v)
    if math.isnan(x):
        return "n/a"
    if x == int(x) and abs(x) < 1e15:
        return f"{int(x):,}"
    return f"{x:,.4g}" if abs(x) >= 1000 else f"{x:.4g}"


def _diff(metric: str, v: Any) -> str:
    """A difference of two values: signed, percentages in percentage points (pp)."""
    text = _value(metric, v, signed=True, precise=True)
    m = BY_NAME.get(metric)
    if m is not None and m.fmt == "percent" and text.endswith("%"):
        return text[:-1] + " pp"
    return text


def _interval(metric: str, lo: Any, hi: Any, signed: bool = True) -> str:
    """``lo to hi`` in the metric's format (differences, ``signed``: in pp for percentages)."""
    a, b = _number(lo), _number(hi)
    if math.isnan(a) or math.isnan(b):
        return "n/a"
    if signed:
        return f"{_diff(metric, a)} to {_diff(metric, b)}"
    return f"{_value(metric, a, precise=True)} to {_value(metric, b, precise=True)}"


# -- display names: the vocabulary's label and unit of each metric.  When the vocabulary
# -- gains a display-name table for any column (differences, parameter paths), switch these
# -- two functions to it.
def _display(name: str) -> str:
    """The display name of a metric (a run figure's title) or of a runs-table column."""
    m = BY_NAME.get(name)
    if m is not None:
        return m.summary_title()
    if name.endswith("_diff") and name[:-5] in BY_NAME:
        return f"{BY_NAME[name[:-5]].label}: difference from the baseline"
    return name


#: the currency of the part being built (``economics.currency`` as the folder records it)
_CURRENCY: ContextVar[str] = ContextVar("currency", default="currency")


def _use_currency(value: Any) -> str:
    """Label money in ``value`` (a recorded currency) for the part being built.

    Folders from before the currency was recorded, or with a value that is not a short
    printable text, keep the word "currency".
    """
    currency = value if is_currency(value) else "currency"
    _CURRENCY.set(currency)
    return currency


def _unit(name: str, difference: bool = False) -> str:
    """The unit of a metric's value (``difference``: of a difference of two values)."""
    m = BY_NAME.get(name.removesuffix("_diff") if name.endswith("_diff") else name)
    if m is None:
        return ""
    unit = m.difference_unit() if difference or name.endswith("_diff") else m.unit
    return _CURRENCY.get() if unit == "currency" else unit


def _table(head: Sequence[Any], rows: Iterable[Sequence[Any] | str], *, caption: str = "",
           ident: str = "", numeric: Iterable[int] = (), cls: str = "") -> Html:
    """An HTML table; a row given as a plain string is a group heading spanning the table.

    The first cell of each row is its header; the ``numeric`` columns (indices) hold
    numbers (right-aligned).  Cells are escaped unless :class:`Html`.
    """
    numeric = set(numeric)
    attr = (f' id="{_h(ident)}"' if ident else "") + (f' class="{cls}"' if cls else "")
    out = [f"<table{attr}>"]
    if caption:
        out.append(f"<caption>{_h(caption)}</caption>")
    out.append("<thead><tr>" + "".join(
        f'<th scope="col"{" class=num" if i in numeric else ""}>{_h(c)}</th>'
        for i, c in enumerate(head)) + "</tr></thead>")
    body: list[str] = []
    groups: list[list[str]] = [body]
    for row in rows:
        if isinstance(row, str):
            body = [f'<tr class="group"><th scope="rowgroup" colspan="{len(head)}">'
                    f"{_h(row)}</th></tr>"]
            groups.append(body)
            continue
        cells = [f'<th scope="row">{_h(row[0])}</th>']
        for i, c in enumerate(row[1:], start=1):
            cells.append(f'<td{" class=num" if i in numeric else ""}>{_h(c)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    for g in groups:
        if g:
            out.append("<tbody>" + "".join(g) + "</tbody>")
    out.append("</table>")
    return Html("\n".join(out))


def _section(title: str, ident: str, *blocks: str) -> Html:
    return Html(f'<section id="{ident}">\n<h2>{_h(title)}</h2>\n' + "\n".join(blocks)
                + "\n</section>")


def _para(text: Any) -> Html:
    return Html(f"<p>{_h(text)}</p>")


def _list(items: Iterable[Any], cls: str = "") -> Html:
    attr = f' class="{cls}"' if cls else ""
    return Html(f"<ul{attr}>" + "".join(f"<li>{_h(i)}</li>" for i in items) + "</ul>")


def _with_unit(label: str, unit: str) -> Html:
    """A metric's name with its unit below it, smaller (a table cell)."""
    if not unit:
        return Html(_h(label))
    return Html(f'{_h(label)}<span class="unit">{_h(unit)}</span>')


def _path(path: str) -> Html:
    """A parameter path as code that may break after its dots (narrow columns)."""
    return Html("<code>" + ".<wbr>".join(_h(p) for p in str(path).split(".")) + "</code>")


def _days(days: float) -> str:
    return f"{days:g} day{'' if days == 1 else 's'}"


def _fixed(r: Any) -> bool:
    """Whether a comparison row's difference is the same in every replication.

    Such a difference (a fixed cost) has no sampling spread, so neither an interval nor a
    reading.  Folders written before the ``fixed`` column existed fall back to a zero
    standard error.
    """
    v = getattr(r, "fixed", None)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return _number(getattr(r, "diff_se", math.nan)) == 0
    return v.strip().lower() == "true" if isinstance(v, str) else bool(v)


def _reading(metric: str, lo: Any, hi: Any) -> Html:
    """Whether a difference's interval is clear of 0, and whether that is good."""
    a, b = _number(lo), _number(hi)
    if math.isnan(a) or math.isnan(b):
        return Html('<span class="unclear">n/a</span>')
    if a <= 0 <= b:
        return Html('<span class="unclear">no clear difference</span>')
    up = a > 0
    good = BY_NAME[metric].good if metric in BY_NAME else "none"
    if good == "none":
        return Html(f'<span class="clear">clearly {"higher" if up else "lower"}</span>')
    better = up == (good == "higher")
    word = "better" if better else "worse"
    return Html(f'<span class="{word}">clearly {word} ({"higher" if up else "lower"})</span>')


def _extrapolated(metrics: Iterable[str], days: float) -> tuple[set[str], list[str]]:
    """The metrics shown that extrapolate a short run, and the caveats that say so."""
    shown_ = set(metrics)
    flagged: set[str] = set()
    notes = []
    if "monthly_churn" in shown_ and days < MONTH_DAYS:
        flagged.add("monthly_churn")
        notes.append(f"† Monthly churn is extrapolated: the run covers only {_days(days)}; it "
                     "assumes the run's daily pace of losses holds for a month.")
    if "annual_retention" in shown_ and days < YEAR_DAYS:
        flagged.add("annual_retention")
        notes.append(f"† Annual retention is extrapolated: the run covers {_days(days)}, not "
                     "a year; it assumes the run's pace of losses holds all year, and early "
                     "losses are often not typical of a whole year.")
    if "attrition" in shown_ and days < YEAR_DAYS:
        flagged.add("attrition")
        notes.append(f"† Staff attrition is the total over {_days(days)}, not a yearly "
                     "rate.")
    if "nps" in shown_ and days < 30:
        notes.append(f"NPS covers the whole run ({_days(days)}), not the usual last 30 days.")
    return flagged, notes


def _mark(label: str, metric: str, flagged: set[str]) -> str:
    return f"{label} †" if metric in flagged else label


MODEL_CAVEAT = ("These are results of a simulation model: they are as good as the "
                "scenario's assumptions. Read differences between options as more "
                "trustworthy than absolute levels, unless the scenario was calibrated to "
                "your own data.")


# --------------------------------------------------------------------------------------------
# The kinds of results
# --------------------------------------------------------------------------------------------


def _damaged(folder: Path, exc: BaseException) -> FolderError:
    text = str(exc).strip().splitlines()
    first = text[0][:200] if text else ""
    return FolderError(f"{shown(folder)}: the results cannot be reported, the folder looks "
                       f"damaged ({type(exc).__name__}: {first})")


def _run_part(folder: Path) -> Part:
    summary = read_json(folder / "summary.json")
    if not isinstance(summary, dict):
        raise FolderError(f"{shown(folder / 'summary.json')}: not a cxsim summary")
    _use_currency(summary.get("currency"))
    if summary.get("format") != RESULTS_FORMAT:
        raise FolderError(f"{shown(folder)}: results from an older cxsim format (format "
                          f"{summary.get('format', 'none')}, expected {RESULTS_FORMAT}); run "
                          "cxsim run again")
    scenario = str(summary.get("scenario", ""))
    days = _number(summary.get("days"))
    strategy = str(summary.get("strategy") or "baseline")
    overrides = summary.get("overrides") or {}
    if not isinstance(overrides, dict):
        overrides = {}
    settings = [
        ("Scenario", scenario),
        ("Strategy", strategy if strategy != "baseline" else "baseline (no interventions)"),
        ("Days simulated", _plain_number(days)),
        ("Market size (people)", _plain_number(summary.get("market"))),
        ("Customers at the start", _plain_number(summary.get("initial_customers"))),
        ("Seed", summary.get("seed", "n/a")),
        ("Replications", "1 (a single run)"),
        ("Settings changed (--set)", ", ".join(f"{k} = {v}" for k, v in overrides.items())
         or "none"),
        ("Engine", summary.get("engine", "n/a")),
        ("cxsim version", summary.get("cxsim_version", "n/a")),
        ("Scenario fingerprint", summary.get("scenario_hash", "n/a")),
    ]
    metrics = [m for m in RUN_ROWS if m in summary]
    flagged, notes = _extrapolated(metrics, days if not math.isnan(days) else 0.0)
    rows = [[_mark(_display(m), m, flagged), _value(m, summary.get(m)), _unit(m)]
            for m in metrics]
    table = _table(["Metric", "Value", "Unit"], rows, ident="headline",
                   caption=f"Key figures of the run ({strategy})", numeric=(1,))
    caveats = [
        "One run with one random seed: every number includes chance, and there is no "
        "interval. Another seed gives somewhat different numbers; to compare options, use "
        "cxsim compare, which repeats runs and gives 95 % intervals.",
        *notes,
        MODEL_CAVEAT,
    ]
    lede = (f"One run of {scenario} over {_days(days)} with a market of "
            f"{_plain_number(summary.get('market'))} people.")
    return Part("run", scenario, lede, settings, [table], metrics, [], caveats)


def _compare_part(folder: Path) -> Part:
    from .compare import read_comparison
    from .strategies import BASELINE

    try:
        result = read_comparison(folder)
    except ValueError as exc:
        if isinstance(exc, InputError):
            raise
        raise FolderError(str(exc)) from None
    meta = read_json(folder / "compare.json")
    currency = _use_currency(meta.get("currency"))
    in_currency = "currency of the scenario" if currency == "currency" else "in " + currency
    ticks = int(meta["ticks"])
    days = ticks * result.tick_days
    reps = result.replications
    names = [n for n in result.strategies if n != BASELINE]
    t = result.table
    cells = {(r.strategy, r.metric): r for r in t.itertuples(index=False)}
    metrics = [m for m in COMPARE_ROWS if (BASELINE, m) in cells]
    flagged, notes = _extrapolated(metrics, days)

    def start_text(name: str) -> str:
        starts = result.starts.get(name) or []
        if not starts:
            return "from day 0"
        return f"from day {min(starts) * result.tick_days:g}"

    posterior = meta.get("posterior")
    settings = [
        ("Scenario", result.scenario),
        ("Days simulated", _plain_number(days)),
        ("Market size (people)", _plain_number(meta.get("market"))),
        ("Strategies", ", ".join(f"{n} ({start_text(n)})" for n in names)),
        ("Replications", f"{reps} per strategy, paired (the same {reps} seeds for each)"),
        ("Root seed", result.seed),
        ("Uncertainty", "simulation noise and the calibration's parameter uncertainty "
         "(posterior draws)" if posterior else "simulation noise"),
        ("Discount rate", f"{result.discount_rate:.1%} a year"),
        ("cxsim version", meta.get("cxsim_version", "n/a")),
        ("Scenario fingerprint", meta.get("scenario_hash") or "n/a"),
    ]
    # -- the findings in a few lines: profit, and what clearly changes
    roi = {r.strategy: r for r in result.roi.itertuples(index=False)}
    findings = []
    for name in names:
        better, worse = [], []
        for m in metrics:
            r = cells.get((name, m))
            if r is None or m == "intervention_cost" or _fixed(r):
                continue
            reading = _reading(m, r.diff_ci_low, r.diff_ci_high)
            if "better" in reading:
                better.append(BY_NAME[m].label)
            elif "worse" in reading:
                worse.append(BY_NAME[m].label)
        parts = [f"{name}:"]
        if name in roi:
            r = roi[name]
            ci = _interval("profit", r.incremental_profit_ci_low, r.incremental_profit_ci_high)
            parts.append(f"incremental profit {_diff('profit', r.incremental_profit)} (95 % "
                         f"interval {ci}) for a cost of {_value('profit', r.intervention_cost)};")
        parts.append("clearly better: " + (", ".join(better) or "nothing") + ";")
        parts.append("clearly worse: " + (", ".join(worse) or "nothing") + ".")
        findings.append(" ".join(parts))
    blocks = [Html('<h3>In short</h3>'), _list(findings, "findings")]
    rows: list[Any] = []
    for name in names:
        rows.append(f"{name} − baseline ({start_text(name)})")
        for m in metrics:
            b, r = cells.get((BASELINE, m)), cells.get((name, m))
            if r is None or b is None:
                continue
            rows.append([_with_unit(_mark(BY_NAME[m].label, m, flagged), _unit(m)),
                         _value(m, b.mean), _value(m, r.mean),
                         _diff(m, r.diff),
                         *(("none: the same in every replication",
                            Html('<span class="unclear">no spread to test</span>'))
                           if _fixed(r) else
                           (_interval(m, r.diff_ci_low, r.diff_ci_high),
                            _reading(m, r.diff_ci_low, r.diff_ci_high)))])
    blocks.append(Html("<h3>Each strategy against the baseline</h3>"))
    blocks.append(_table(
        ["Metric (unit)", "Baseline", "Strategy", "Difference", "95 % interval",
         "Reading"], rows, ident="headline", numeric=(1, 2, 3, 4),
        caption=f"Strategy − baseline over {_days(days)}: mean of {reps} paired "
                "replications, 95 % interval of the difference (pp: percentage points)"))
    if len(result.roi):
        roi_rows = []
        for name in names:
            if name not in roi:
                continue
            r = roi[name]
            pay = _number(r.payback_tick)
            roi_rows.append([
                name, _value("profit", r.intervention_cost),
                _diff("profit", r.incremental_profit),
                _interval("profit", r.incremental_profit_ci_low, r.incremental_profit_ci_high),
                "n/a" if math.isnan(_number(r.roi)) else f"{_number(r.roi):.2f}",
                _diff("profit", getattr(r, "npv", math.nan)),
                "not within the run" if math.isnan(pay) else
                f"day {pay * result.tick_days:g}"])
        blocks.append(Html("<h3>Money</h3>"))
        blocks.append(_table(["Strategy", "Strategy cost", "Incremental profit",
                              "95 % interval", "ROI", "NPV", "Payback"], roi_rows,
                             ident="money", numeric=range(1, 7),
                             caption="What each strategy costs and earns over the run "
                                     f"({in_currency})"))
    caveats = [
        f"Each strategy and the baseline ran {reps} times with the same {reps} random seeds "
        "(paired replications): the differences compare like with like, and their "
        "intervals are narrower than those of independent runs.",
        "A 95 % interval shows how sure the difference is given the replications run. "
        + ("It includes the calibration's uncertainty about the scenario's parameters."
           if posterior else "It covers the simulation's chance only, not whether the "
           "scenario's assumptions are right."),
    ]
    if reps < FEW_REPS:
        caveats.append(f"Only {reps} replications: the intervals are wide and themselves "
                       f"rough; use --reps {FEW_REPS} or more before deciding.")
    short = []
    for name in names:
        starts = result.starts.get(name) or [0]
        active = days - min(starts) * result.tick_days
        if active <= 0:
            caveats.append(f"{name} starts on day {min(starts) * result.tick_days:g}, after "
                           f"the {_days(days)} simulated: it never acts, so its differences "
                           "are chance (and any cost paid up front).")
        elif active < SHORT_ACTING_DAYS:
            short.append(f"{name} ({_days(active)})")
    if short:
        caveats.append("Acting for less than " + _days(SHORT_ACTING_DAYS) + " of the run: "
                       + ", ".join(short) + ". Effects that build up slowly (retention, word "
                       "of mouth) barely show yet.")
    caveats.append("'Clearly better' or 'clearly worse' means the interval leaves out 0, "
                   "not that the difference is large enough to matter: look at its size.")
    caveats += notes
    caveats.append("Money is summed over the run only; a strategy whose cost comes first "
                   "and benefits later looks worse in a short run.")
    caveats.append(MODEL_CAVEAT)
    lede = (f"{len(names)} strateg{'y' if len(names) == 1 else 'ies'} compared with the "
            f"baseline in {result.scenario}: {_days(days)}, {reps} paired replications.")
    terms = ["paired", "interval", "pp", "incremental_profit", "roi", "npv", "payback"]
    return Part("compare", result.scenario, lede, settings, blocks, metrics, terms, caveats)


def _sweep_part(folder: Path) -> Part:
    import numpy as np

    from .sweep import load_sweep, run_columns

    res = load_sweep(folder)
    plan, meta, runs = res.plan, res.provenance, res.runs
    sc = plan.scenario
    days = plan.days if plan.days is not None else sc.simulation.ticks * sc.simulation.tick_days
    market = plan.customers if plan.customers is not None else sc.market.size
    params, outcome_cols = run_columns(runs)
    outcomes = [o for o in plan.outcomes if o in outcome_cols]
    varied = [p.path for p in plan.design.varied]
    spec_of = meta.get("params") if isinstance(meta.get("params"), dict) else {}
    done = int((runs["status"] == "done").sum()) if "status" in runs else 0
    failed = int((runs["status"] == "failed").sum()) if "status" in runs else 0
    status = str(meta.get("status", "n/a"))
    settings = [
        ("Scenario", sc.name),
        ("Design", plan.design.kind + (f", {plan.design.samples} samples"
                                       if plan.design.samples else "")),
        ("Parameters", "; ".join(f"{p.path} = {spec_of.get(p.path, p.spec)}"
                                 for p in plan.design.params)),
        ("Design points", _plain_number(len(plan.design))),
        ("Replications", f"{plan.replications} per point (the same seeds at every point)"),
        ("Runs", f"{done:,} done, {failed:,} failed, of {plan.n_runs:,}"),
        ("Status", status),
        ("Strategy of every run", plan.strategy or "baseline (unless a parameter picks one)"),
        ("Days simulated", _plain_number(days)),
        ("Market size (people)", _plain_number(market)),
        ("Root seed", plan.seed),
        ("cxsim version", (meta.get("fingerprint") or {}).get("cxsim_version", "n/a")),
    ]
    flagged, notes = _extrapolated(outcomes, days)
    blocks: list[Html] = []
    terms: list[str] = []
    sens = res.sensitivity
    if sens is not None and len(sens):
        key = "ST" if "ST" in sens.columns else "mu_star"
        terms.append("sobol" if key == "ST" else "morris")
        what = "total Sobol' index ST" if key == "ST" else "Morris μ*"
        rows: list[Any] = []
        for outcome in [o for o in outcomes if o in set(sens["outcome"])]:
            g = sens[sens["outcome"] == outcome]
            ok = g.dropna(subset=[key]).sort_values(key, ascending=False).head(TOP_PARAMETERS)
            label = _mark(_display(outcome), outcome, flagged)
            if ok.empty:
                note = next((str(n) for n in g.get("note", []) if isinstance(n, str) and n),
                            "not estimated")
                rows.append([label, "—", f"n/a ({note})", ""])
                continue
            for i, r in enumerate(ok.itertuples(index=False)):
                v, lo, hi = (getattr(r, key), getattr(r, key + "_ci_low"),
                             getattr(r, key + "_ci_high"))
                if key == "ST":
                    text = (f"{_number(v):.2f}", f"{_number(lo):.2f} to {_number(hi):.2f}")
                else:
                    text = (_value(outcome, v, precise=True),
                            _interval(outcome, lo, hi, signed=False))
                rows.append([label if i == 0 else "", _path(r.parameter),
                             *text])
        blocks.append(Html("<h3>Which parameters matter</h3>"))
        blocks.append(_table(["Outcome", "Parameter", what, "95 % interval"], rows,
                             ident="sensitivity", numeric=(2, 3),
                             caption=f"The {TOP_PARAMETERS} most influential parameters "
                                     f"per outcome ({what})"))
    ok = runs[runs["status"] == "done"] if "status" in runs else runs
    means = ok.groupby("point")[outcomes].mean() if len(ok) and outcomes else None
    n_points = 0 if means is None else len(means)
    if means is not None and 0 < n_points <= MAX_POINT_ROWS:
        first = ok.groupby("point")[params].first() if params else None
        head = [*(_path(p) for p in varied),
                *(_mark(BY_NAME[o].short if o in BY_NAME else _display(o), o, flagged)
                  for o in outcomes)]
        rows = []
        for point, row in means.iterrows():
            values = [str(first.loc[point, p]) if first is not None and p in first.columns
                      else "" for p in varied]
            rows.append([*values, *(_value(o, row[o]) for o in outcomes)])
        blocks.append(Html("<h3>Results per design point</h3>"))
        blocks.append(_table(head, rows, ident="headline", numeric=range(1, len(head)),
                             caption=f"Mean over {plan.replications} replication"
                                     f"{'' if plan.replications == 1 else 's'} per point"))
    elif means is not None and n_points:
        rows = []
        for o in outcomes:
            v = means[o].to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            if not len(v):
                rows.append([_display(o), "n/a", "n/a", "n/a", "n/a", "n/a", _unit(o)])
                continue
            q = np.quantile(v, [0.0, 0.05, 0.5, 0.95, 1.0])
            rows.append([_mark(_display(o), o, flagged), *(_value(o, x) for x in q), _unit(o)])
        blocks.append(Html("<h3>Spread of the results</h3>"))
        blocks.append(_table(["Outcome", "Lowest", "5 %", "Median", "95 %", "Highest",
                              "Unit"], rows, ident="headline", numeric=range(1, 6),
                             caption=f"Each outcome over the {n_points:,} design points "
                                     "(mean over replications per point); every run is in "
                                     "the runs table"))
    else:
        blocks.append(_para("No run of this sweep has finished yet: there are no results "
                            "to show."))
    caveats = []
    if status != "complete":
        caveats.append(f"The sweep is not complete (status: {status}): {done:,} of "
                       f"{plan.n_runs:,} runs are in; continue it with cxsim sweep --resume.")
    if failed:
        caveats.append(f"{failed:,} runs failed and are left out (their errors are in the "
                       "runs table).")
    if plan.replications == 1:
        caveats.append("One replication per design point: differences between nearby "
                       "points may be chance; add --reps to tell them apart.")
    else:
        caveats.append(f"Every point ran with the same {plan.replications} seeds, so "
                       "differences between points are not blurred by different luck.")
    if sens is not None and key == "ST":
        caveats.append("Sobol' indices need many samples; wide intervals mean the ranking "
                       "is not settled yet (raise --samples).")
    caveats += notes
    caveats.append(MODEL_CAVEAT)
    lede = (f"A {plan.design.kind} sweep of {sc.name} over {len(varied)} parameter"
            f"{'' if len(varied) == 1 else 's'}: {len(plan.design):,} design points × "
            f"{plan.replications} replication{'' if plan.replications == 1 else 's'}, "
            f"{_days(days)} each.")
    return Part("sweep", sc.name, lede, settings, blocks, outcomes, terms, caveats,
                description=sc.description)


def _calibrate_part(folder: Path) -> Part:
    from .calibrate import read_calibration

    res = read_calibration(folder)
    meta = res.provenance
    st = meta.get("settings") if isinstance(meta.get("settings"), dict) else {}
    data = meta.get("scenario_data") if isinstance(meta.get("scenario_data"), dict) else {}
    scenario = str(meta.get("scenario", ""))
    days = _number(st.get("days"))
    if math.isnan(days):
        sim = data.get("simulation") if isinstance(data.get("simulation"), dict) else {}
        days = _number(sim.get("ticks")) * (_number(sim.get("tick_days")) or 1.0)
    ess = _number(res.ess)
    settings = [
        ("Scenario", scenario),
        ("Parameters fitted", "; ".join(str(p) for p in meta.get("params", []))),
        ("Targets (observed figures)", _plain_number(len(res.fit))),
        ("Method", st.get("method", meta.get("method", "n/a"))),
        ("Parameter sets evaluated", _plain_number(meta.get("evaluations"))),
        ("Replications per set", _plain_number(st.get("reps"))),
        ("Days simulated", _plain_number(days)),
        ("Market size (simulated people)", _plain_number(st.get("customers"))),
        ("Root seed", st.get("seed", "n/a")),
        ("Effective sample size of the posterior", _plain_number(ess)),
        ("cxsim version", (meta.get("environment") or {}).get("cxsim", "n/a")),
    ]
    est_rows = []
    for r in res.summary.itertuples(index=False):
        est_rows.append([_path(r.parameter),
                         getattr(r, "prior", ""), _plain_number(r.estimate),
                         _plain_number(getattr(r, "posterior_mean", math.nan)),
                         f"{_plain_number(r.ci_low)} to {_plain_number(r.ci_high)}"])
    blocks = [Html("<h3>Estimates</h3>"),
              _table(["Parameter", "Prior", "Estimate", "Posterior mean",
                      "90 % posterior interval"], est_rows, ident="headline",
                     numeric=(2, 3, 4), caption="The fitted parameters")]
    fit_rows, metrics = [], []
    for r in res.fit.itertuples(index=False):
        m = str(r.metric)
        metrics.append(m)
        part = ", ".join(str(getattr(r, k)) for k in ("segment", "touchpoint", "team")
                         if isinstance(getattr(r, k, ""), str) and getattr(r, k, ""))
        label = BY_NAME[m].label if m in BY_NAME else m
        window = f"days {_plain_number(r.day_from)}–{_plain_number(r.day_to)}"

        def band(prefix: str, m: str = m, r: Any = r) -> str:
            mid = getattr(r, f"{prefix}_median", math.nan)
            lo, hi = getattr(r, f"{prefix}_low", math.nan), getattr(r, f"{prefix}_high", math.nan)
            return f"{_value(m, mid)} ({_interval(m, lo, hi, signed=False)})"

        fit_rows.append([label + (f" ({part})" if part else ""), window, _value(m, r.value),
                         band("before"), band("estimate"), band("posterior")])
    blocks.append(Html("<h3>Observed and simulated</h3>"))
    blocks.append(_table(["Target", "Days", "Observed", "Before fitting", "At the estimate",
                          "Over the posterior"], fit_rows, ident="fit", numeric=range(2, 6),
                         caption="Each observed figure and the model's (median, with the "
                                 "90 % band over replications or posterior draws)"))
    caveats = [
        "The estimates make the model reproduce the observed figures; they are not proof "
        "that the model's structure is right.",
        "Intervals here are 90 % intervals (5 % of the weight on each side).",
    ]
    if not math.isnan(ess) and ess < 30:
        caveats.append(f"The posterior rests on an effective sample of only "
                       f"{_plain_number(ess)} parameter sets: its intervals are rough; "
                       "raise --budget or narrow the priors.")
    caveats.append(MODEL_CAVEAT)
    lede = (f"A calibration of {scenario}: {len(res.summary)} parameter"
            f"{'' if len(res.summary) == 1 else 's'} fitted to {len(res.fit)} observed "
            "figure" + ("" if len(res.fit) == 1 else "s") + ".")
    return Part("calibrate", scenario, lede, settings, blocks, list(dict.fromkeys(metrics)),
                ["prior", "posterior"], caveats,
                description=str(data.get("description", "")))


_PARTS = {"run": _run_part, "compare": _compare_part, "sweep": _sweep_part,
          "calibrate": _calibrate_part}


def read_part(folder: Path | str, kind: str) -> Part:
    """What a results folder of ``kind`` says, read and checked (:class:`FolderError`)."""
    if kind not in _PARTS:
        raise InputError(f"cxsim report: no report for {kind!r} results (reports describe "
                         f"{', '.join(KINDS)})")
    folder = Path(folder)
    token = _CURRENCY.set("currency")  # each part labels money with its own folder's currency
    try:
        return _PARTS[kind](folder)
    except InputError:
        raise
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise _damaged(folder, exc) from None
    finally:
        _CURRENCY.reset(token)


# --------------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------------

STYLE = """
:root { color-scheme: light; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
       sans-serif; color: #1d232b; background: #fff; margin: 0; }
main, header, footer { max-width: 62rem; margin: 0 auto; padding: 0 1.5rem; }
header { padding-top: 1.5rem; border-bottom: 3px solid #2f6690; }
h1 { font-size: 1.7rem; margin: 0 0 .25rem; }
h2 { font-size: 1.3rem; margin: 2rem 0 .6rem; border-bottom: 1px solid #d5dbe1;
     padding-bottom: .2rem; }
h3 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; }
.lede { font-size: 1.05rem; color: #38424d; margin: .2rem 0 1rem; }
.description { color: #38424d; font-style: italic; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .9rem; width: auto;
        max-width: 100%; }
caption { text-align: left; font-weight: 600; padding: .2rem 0 .4rem; color: #38424d; }
th, td { border-bottom: 1px solid #e1e6eb; padding: .3rem .6rem; text-align: left;
         vertical-align: top; }
thead th { border-bottom: 2px solid #8a96a3; background: #f3f6f8; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
tr.group th { background: #e8eef3; font-weight: 600; }
table.settings th { font-weight: 600; width: 16rem; }
.better { color: #176b2c; font-weight: 600; }
.worse { color: #a1261b; font-weight: 600; }
.clear { font-weight: 600; }
.unclear { color: #5c6773; }
code { font: .85em ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
figure { margin: 1rem 0 1.6rem; }
figure img { max-width: 100%; height: auto; border: 1px solid #e1e6eb; }
figcaption { font-size: .9rem; color: #38424d; }
dl.glossary dt { font-weight: 600; margin-top: .5rem; }
dl.glossary dd { margin: 0 0 0 1.2rem; }
dl.glossary .unit { font-weight: 400; color: #5c6773; }
th .unit { display: block; font-weight: 400; font-size: .8rem; color: #5c6773; }
ul.caveats li, ul.findings li { margin: .3rem 0; }
footer { color: #5c6773; font-size: .8rem; padding: 2rem 1.5rem 2rem; }
.table-wrap { overflow-x: auto; }
@media print {
  body { font-size: 10.5pt; }
  main, header, footer { max-width: none; padding: 0; }
  h2, h3, caption { break-after: avoid; }
  figure, tr { break-inside: avoid; }
  table:not(.settings) { width: 100%; }
  table.settings { break-inside: avoid; }
  tr.group, dl.glossary dt { break-after: avoid; }
  .table-wrap { overflow: visible; }
  thead th, tr.group th { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
@page { margin: 14mm; }
"""

#: nothing may load from outside the file: no scripts, no fonts, images only as data
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _figure_html(name: str, fig: Any) -> Html:
    """A figure as an embedded PNG with a caption (closing it is the caller's)."""
    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=FIGURE_DPI)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    title = ""
    sup = getattr(fig, "_suptitle", None)
    if sup is not None and sup.get_text():
        title = sup.get_text()
    elif fig.axes and fig.axes[0].get_title():
        title = fig.axes[0].get_title()
    note = FIGURE_NOTES.get(name, "")
    head = " ".join((title or Path(name).stem.replace("_", " ").capitalize()).split())
    if note and not head.endswith((".", "!", "?")):
        head += "."
    caption = f"{head} {note}".strip()
    width, height = (int(round(v * FIGURE_DPI)) for v in fig.get_size_inches())
    return Html(f'<figure><img src="data:image/png;base64,{data}" width="{width}" '
                f'height="{height}" alt="{_h(caption)}"><figcaption>{_h(caption)}'
                "</figcaption></figure>")


def render(parts: Sequence[Part], figures: Sequence[tuple[str, Any]] = (), *,
           source: str = "") -> str:
    """The report's HTML: settings, headline tables, figures, glossary and caveats."""
    from . import __version__

    first = parts[0]
    kinds = " and ".join(p.kind for p in parts)
    title = f"cxsim {kinds} report: {first.scenario}"
    body: list[str] = []
    for p in parts:
        label = {"run": "Run", "compare": "Comparison", "sweep": "Sweep",
                 "calibrate": "Calibration"}[p.kind]
        settings = _table(["Setting", "Value"], [[k, v] for k, v in p.settings],
                          ident=f"{p.kind}-settings", cls="settings")
        headline = [Html(f'<div class="table-wrap">{b}</div>') if b.startswith("<table")
                    else b for b in p.blocks]
        desc = [Html(f'<p class="description">{_h(p.description)}</p>')] if p.description \
            else []
        body.append(_section(f"{label}: settings", f"settings-{p.kind}", *desc, settings))
        body.append(_section(f"{label}: headline results", f"results-{p.kind}", *headline))
    if figures:
        body.append(_section("Figures", "figures",
                             *(_figure_html(name, fig) for name, fig in figures)))
    metrics = list(dict.fromkeys(m for p in parts for m in p.metrics))
    terms = list(dict.fromkeys(t for p in parts for t in p.terms))
    entries = []
    for m in metrics:
        line = plain(m)
        if line:
            unit = _unit(m)
            entries.append(f"<dt>{_h(BY_NAME[m].label if m in BY_NAME else m)}"
                           + (f' <span class="unit">· {_h(unit)}</span>' if unit else "")
                           + f"</dt><dd>{_h(line)}</dd>")
    for t in terms:
        head, _, line = TERMS[t].partition(": ")
        entries.append(f"<dt>{_h(head)}</dt><dd>{_h(line[0].upper() + line[1:])}</dd>")
    body.append(_section("What the numbers mean", "glossary",
                         Html('<dl class="glossary">' + "".join(entries) + "</dl>")))
    caveats = list(dict.fromkeys(c for p in parts for c in p.caveats))
    body.append(_section("Read with care", "caveats", _list(caveats, "caveats")))
    stamp = time.strftime("%Y-%m-%d %H:%M %Z")
    footer = (f"Written by cxsim {__version__} on {stamp}"
              + (f" from the results folder {source}" if source else "") + ".")
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="cxsim">',
        f"<title>{_h(title)}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        f"<header><h1>{_h(first.scenario or 'cxsim results')}</h1>",
        *(f'<p class="lede">{_h(p.lede)}</p>' for p in parts),
        "</header>",
        "<main>",
        *body,
        "</main>",
        f"<footer>{_h(footer)}</footer>",
        "</body>",
        "</html>",
        "",
    ])


def _target(folder: Path, out: Path | str | None) -> tuple[Path, str | None]:
    """The file to write and the argument that named it (``None``: the default)."""
    if out is None:
        return folder / REPORT, None
    if not str(out).strip():
        raise InputError(Arg("out"), " must name a file, got an empty path")
    path = Path(out)
    if os.path.isdir(path) and not os.path.islink(path):
        raise InputError(Arg("out"), f": {shown(out)} is a folder; give the name of the "
                         "HTML file to write")
    if os.path.lexists(path) and path.suffix.lower() not in (".html", ".htm"):
        # e.g. a results file of the folder: never replaced by a report
        raise InputError(Arg("out"), f": {shown(out)} exists and is not an HTML file; "
                         "cxsim report replaces only .html files")
    return path, "out"


def write_report(folder: Path | str, kinds: Sequence[str] | None = None,
                 figures: Sequence[tuple[str, Any]] = (), *, out: Path | str | None = None
                 ) -> Path:
    """Write the HTML report of a results folder; return the path written.

    ``kinds``: the kinds of results in ``folder`` (default: those :func:`cxsim.io.kinds_in`
    finds among :data:`KINDS`); ``figures``: ``(name, Figure)`` pairs to embed, e.g. the
    ones ``cxsim plot`` draws (closing them is the caller's); ``out``: the file (default
    ``folder/report.html``).  The file is written atomically; a folder that cannot be read
    and a file that cannot be written raise :class:`~cxsim.errors.InputError` (one line,
    naming ``out`` when it was given) and leave nothing behind.
    """
    from .io import kinds_in

    folder = Path(folder)
    path, arg = _target(folder, out)
    if kinds is None:
        kinds = [k for k in kinds_in(folder) if k in KINDS]
        if not kinds:
            raise FolderError(f"{shown(folder)}: no cxsim results to report (expected "
                              "summary.json, compare.json, sweep.json or calibration.json)")
    parts = [read_part(folder, kind) for kind in kinds]
    text = render(parts, figures, source=str(folder))
    try:
        write_atomic(path, text)
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        if arg is None:
            raise FolderError(f"{shown(folder)}: cannot write {REPORT} there ({why}); "
                              "nothing was written (choose another file with --out)",
                              errno_=exc.errno) from None
        raise InputError(Arg(arg), f": cannot write {shown(path)} ({why}); nothing was "
                         "written") from None
    return path


__all__ = ["KINDS", "TERMS", "Part", "read_part", "render", "write_report"]
