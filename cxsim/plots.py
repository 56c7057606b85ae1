"""Figures from results. Every function takes results and returns a matplotlib Figure.

Every figure is drawn in one shared style (:data:`STYLE`, applied by :func:`styled`): a
16:9 slide (13.33 × 7.5 in, :data:`SLIDE`; 4:3 where a square suits better) with text of at
least 14 pt, so it reads at the back of a room.  Names come from the metric vocabulary
(:mod:`cxsim.vocabulary`: display names, units with the scenario's currency, ticks as
days, which direction is good); value axes start where a reader expects (zero for rates,
shares and counts, the whole band of a bounded score) and small changes are written out.
"""

from __future__ import annotations

import functools
import math
import textwrap

import matplotlib
import matplotlib.colors
import matplotlib.pyplot as plt
import matplotlib.ticker
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .vocabulary import (
    BY_NAME,
    DEFAULT_CURRENCY,
    PART_METRICS,
    SUM,
    Metric,
    axis_band,
    colormap,
    display_unit,
    param_label,
    pretty_name,
    window_text,
)

#: the metrics of the KPI dashboard's small multiples (titles and units: the vocabulary)
KPI_PANELS: tuple[str, ...] = ("active", "churn_rate", "nps", "csat", "ces", "service_level",
                               "profit", "satisfaction")

#: a 16:9 slide, in inches: figures drawn at this size show their points as on the slide
SLIDE = (13.333, 7.5)
#: a 4:3 slide, for square-ish figures (pairs of parameters)
SLIDE_4_3 = (10.0, 7.5)
#: the smallest text on any figure, in points at the figure's size
MIN_FONT = 14.0

#: the shared look of every figure (a matplotlib rc context, see :func:`styled`)
STYLE: dict = {
    "figure.figsize": SLIDE, "figure.dpi": 100, "savefig.dpi": 150,
    "figure.constrained_layout.use": True,
    "font.size": MIN_FONT, "axes.titlesize": 16, "axes.titleweight": "bold",
    "axes.labelsize": MIN_FONT, "xtick.labelsize": MIN_FONT, "ytick.labelsize": MIN_FONT,
    "legend.fontsize": MIN_FONT, "legend.title_fontsize": MIN_FONT,
    "figure.titlesize": 18, "figure.titleweight": "bold",
    "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
    "axes.spines.right": False, "lines.linewidth": 2.4, "svg.fonttype": "none",
    "pdf.fonttype": 42,
}

#: the formats figures can be written in (``cxsim plot --format``)
FIGURE_FORMATS = ("png", "svg", "pdf")

_OUTAGE_COLOUR = "#d62728"
_EVENT_COLOUR = "#6a3d9a"


def styled(func):
    """Draw ``func``'s figure in :data:`STYLE` (every public figure function uses it)."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with plt.rc_context(STYLE):
            return func(*args, **kwargs)
    return wrapper


def _declared(name: str) -> Metric:
    """The vocabulary's metric, or a plain stand-in (its name as words) for another column."""
    m = BY_NAME.get(name)
    if m is None:
        m = Metric(name, pretty_name(name), name, "", "stock", SUM, "number", 3)
    return m


def _thousands_wanted(name: str) -> bool:
    m = BY_NAME.get(name)
    return m is not None and m.thousands


def _unit(m: Metric, currency: str | None, tick_days: float = 1.0, unit: str | None = None
          ) -> str:
    return display_unit(m.unit if unit is None else unit, currency or DEFAULT_CURRENCY,
                        tick_days)


def _suptitle(fig: Figure, text: str, width: int = 80) -> None:
    """The figure's title, wrapped to fit the slide."""
    fig.suptitle(_wrap(text, width))


def _wrap(text: str, width: int) -> str:
    """``text`` on lines of at most ``width`` characters (words are not broken)."""
    if len(text) <= width:
        return text
    return "\n".join(textwrap.wrap(text, width, break_long_words=False))


def _honest_axis(ax, m: Metric, values=(), axis: str = "y") -> None:
    """Let a value axis start (and end) where a reader expects for metric ``m``.

    Bounded scores span their band, rates, shares, counts and money include zero
    (:func:`cxsim.vocabulary.axis_band`); the data always stay inside.
    """
    lo, hi = axis_band(m)
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    get, put = (ax.get_ylim, ax.set_ylim) if axis == "y" else (ax.get_xlim, ax.set_xlim)
    a, b = get()
    if finite:
        a, b = min(a, *finite), max(b, *finite)
    if lo is not None:
        a = min(lo, a) if m.fmt == "currency" else lo
        if finite and min(finite) < lo:
            a = min(finite)
    if hi is not None:
        b = hi if not finite or max(finite) <= hi else max(finite)
    elif lo is not None and b <= a:
        b = a + 1.0
    pad = 0.02 * (b - a) if b > a else 1.0
    put(a - (pad if lo is None or a < lo else 0.0), b + (pad if hi is None else 0.0))


def _change_note(ax, m: Metric, y: pd.Series, digits: int | None = None) -> None:
    """Write a series' first and last values in the panel: ``0.813 → 0.797``.

    With honest axes a small change is a nearly flat line; the note gives its size.
    """
    y = pd.Series(y).astype(float)
    ok = y.notna().to_numpy()
    if ok.sum() < 2:
        return
    v = y.to_numpy()[ok]
    first, last = float(v[0]), float(v[-1])
    k = m.digits if digits is None else digits
    if m.thousands or max(abs(first), abs(last)) >= 1000:
        fmt = "{:,.0f}"
    else:
        fmt = f"{{:.{k}f}}"
    text = f"{fmt.format(first)} → {fmt.format(last)}".replace("-", "−")
    # the box goes where the line is not: top left, or bottom left if the line runs high
    lo, hi = ax.get_ylim()
    left = v[: max(1, len(v) // 2)]
    high = float(((left - lo) / (hi - lo) > 0.7).mean()) if hi > lo else 0.0
    low = float(((left - lo) / (hi - lo) < 0.3).mean()) if hi > lo else 0.0
    at, va = (0.04, "bottom") if high > low else (0.96, "top")
    ax.text(0.03, at, text, transform=ax.transAxes, ha="left", va=va,
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.85},
            zorder=6, in_layout=False)


def outage_spans(metrics: pd.DataFrame, tick_days: float = 1.0) -> list[tuple[float, float]]:
    """Days when an IT system was down, as ``(first day, last day)`` spans of ticks.

    From the per-tick ``systems_down`` column of ``metrics.csv`` (the share of the tick each
    system was down, summed over systems); consecutive ticks with an outage form one span.
    """
    if "systems_down" not in metrics or "tick" not in metrics:
        return []
    down = pd.to_numeric(metrics["systems_down"], errors="coerce").fillna(0.0) > 0
    ticks = metrics["tick"].to_numpy()
    spans: list[tuple[float, float]] = []
    start = prev = None
    for t, d in zip(ticks, down.to_numpy(), strict=True):
        if d and start is None:
            start = t
        if not d and start is not None:
            spans.append(((start - 1) * tick_days, (prev) * tick_days))
            start = None
        prev = t
    if start is not None:
        spans.append(((start - 1) * tick_days, ticks[-1] * tick_days))
    return spans


def _mark_events(ax, outages=(), interventions=()) -> list:
    """Shade outages and draw intervention starts (and ends) on a time axis; legend handles."""
    handles = []
    for a, b in outages:
        ax.axvspan(a, max(b, a + 0.5), color=_OUTAGE_COLOUR, alpha=0.22, lw=0, zorder=0)
    if len(outages):
        handles.append(Patch(facecolor=_OUTAGE_COLOUR, alpha=0.3, label="IT outage"))
    for ev in interventions:
        ax.axvline(ev["start_day"], color=_EVENT_COLOUR, ls="--", lw=1.8, zorder=1)
        if ev.get("end_day") is not None:
            ax.axvline(ev["end_day"], color=_EVENT_COLOUR, ls=":", lw=1.8, zorder=1)
    if len(interventions):
        handles.append(Line2D([], [], color=_EVENT_COLOUR, ls="--", lw=1.8,
                              label="intervention starts"))
        if any(ev.get("end_day") is not None for ev in interventions):
            handles.append(Line2D([], [], color=_EVENT_COLOUR, ls=":", lw=1.8,
                                  label="intervention ends"))
    return handles


def _interventions_note(interventions) -> str:
    """The interventions of a run in words, for a figure's caption.

    A triggered intervention's activations share one entry: its condition, then each span.
    """
    parts: list = []
    fired: dict = {}  # (type, target, trigger) -> its entry in parts: [label, spans]
    for ev in interventions:
        what = pretty_name(ev.get("type", "intervention"))
        what = what if what[:2].isupper() else what[:1].lower() + what[1:]
        target = ev.get("target")
        when = f"{ev['start_day']:g}"
        if ev.get("end_day") is not None:
            when += f"–{ev['end_day']:g}"
        label = f"{what}{': ' + pretty_name(target) if target else ''}"
        trigger = ev.get("trigger")
        if trigger:
            key = (ev.get("type"), target, trigger)
            if key not in fired:
                fired[key] = [f"{label} (when {trigger}: day", []]
                parts.append(fired[key])
            fired[key][1].append(when)
            continue
        parts.append(f"{label} (day {when})")
    return "; ".join(p if isinstance(p, str) else f"{p[0]} {', '.join(p[1])})"
                     for p in parts)


@styled
def kpi_dashboard(metrics: pd.DataFrame, title: str = "KPI dashboard",
                  tick_days: float = 1.0, currency: str = DEFAULT_CURRENCY,
                  interventions=()) -> Figure:
    """Small multiples of the headline KPIs over time (per day thin, 7-day mean thick).

    ``metrics`` is a run's per-tick table (``model.metrics`` or ``metrics.csv``).  Value axes
    start at zero or span a score's band; each panel writes its change over the run.  IT
    outages (``systems_down``) are shaded; ``interventions`` (``start_day``, ``end_day``,
    ``type``, ``target`` dicts, as ``summary.json`` records them) are drawn as verticals.
    """
    fig, axes = plt.subplots(2, 4, figsize=SLIDE)
    days = metrics["tick"] * tick_days
    roll = max(1, round(7 / tick_days))
    outages = outage_spans(metrics, tick_days)
    events: list = []
    for ax, col in zip(axes.flat, KPI_PANELS, strict=True):
        m = _declared(col)
        scale = m.scale
        y = metrics[col].astype(float) * scale if col in metrics else None
        if y is None or y.isna().all():
            ax.text(0.5, 0.5, "not measured", ha="center", va="center",
                    transform=ax.transAxes, color="grey")
        else:
            smooth = y.rolling(roll, min_periods=1).mean()
            if roll > 1:
                ax.plot(days, y, color="#1f77b4", lw=1.0, alpha=0.45)
            ax.plot(days, smooth, color="#1f77b4", lw=2.6)
            events = _mark_events(ax, outages, interventions)
            _honest_axis(ax, m, [y.min(), y.max()])
            _change_note(ax, m, smooth)
        ax.set_title(_wrap(_short_title(m), 24))
        ax.set_ylabel(_wrap(_unit(m, currency, tick_days, m.tick_unit()), 22))
        ax.set_xlabel("day")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4, integer=True))
        if m.thousands:
            _thousands(ax)
    handles = ([Line2D([], [], color="#1f77b4", lw=1.0, alpha=0.6,
                       label=per_tick_label(tick_days)),
                Line2D([], [], color="#1f77b4", lw=2.6,
                       label=f"{window_text(roll, tick_days)} mean")] if roll > 1 else
               [Line2D([], [], color="#1f77b4", lw=2.6, label=per_tick_label(tick_days))])
    handles += events
    note = _interventions_note(interventions)
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), frameon=False,
               title=_wrap(f"interventions: {note}", 110) if note else None)
    smoothed = f"the {window_text(roll, tick_days)} mean" if roll > 1 else "the series"
    _suptitle(fig, f"{title} (boxes: first → last value of {smoothed})", 90)
    return fig


def per_tick_label(tick_days: float) -> str:
    """The legend text of a series drawn tick by tick."""
    return "daily" if tick_days == 1 else f"each tick ({tick_days:g} days)"


#: shorter figure titles of metrics whose vocabulary label is long
_SHORT_TITLES = {"service_level": "Service level", "satisfaction": "Satisfaction",
                 "csat": "CSAT", "ces": "Customer effort (CES)", "nps": "NPS",
                 "churn_rate": "Churn rate", "profit": "Profit"}


def _short_title(m: Metric) -> str:
    return _SHORT_TITLES.get(m.name, m.label)


def save(fig: Figure, path, formats=None) -> list:
    """Write a figure (150 dpi, the format from ``path``'s suffix) and close it.

    With ``formats`` (e.g. ``("png", "svg")``) the figure is written once per format,
    ``path``'s suffix replaced by each.  Returns the paths written.
    """
    from pathlib import Path

    path = Path(path)
    targets = [path] if not formats else [path.with_suffix(f".{f}") for f in formats]
    try:
        for target in targets:
            fig.savefig(target, dpi=150)
    finally:
        plt.close(fig)
    return targets


def figure_names(name: str, formats=("png",)) -> list[str]:
    """The files a figure named ``name`` (``"x.png"``) is written as in ``formats``."""
    stem = name.rsplit(".", 1)[0]
    return [f"{stem}.{f}" for f in formats]


def write_figures(figures, out, formats=("png",)) -> list[str]:
    """Write ``(name, figure)`` pairs into folder ``out`` atomically in each of ``formats``.

    Each file appears whole or not at all (:func:`cxsim.io.atomic_path`); every figure is
    closed, written or not.  Returns the file names written.
    """
    from pathlib import Path

    from .io import atomic_path

    names: list[str] = []
    try:
        for name, fig in figures:
            for fname, f in zip(figure_names(name, formats), formats, strict=True):
                with atomic_path(Path(out) / fname) as tmp:
                    fig.savefig(tmp, dpi=150, format=f)
                names.append(fname)
    finally:
        for _, fig in figures:
            plt.close(fig)
    return names


# --------------------------------------------------------------------------------------------
# Strategy comparisons (results of cxsim.compare)
# --------------------------------------------------------------------------------------------

#: per-tick smoothing of comparison_bands that differs from the rule in :func:`band_panel`
BAND_SMOOTHING = {"churn_rate": 30}


def band_panel(column: str, currency: str = DEFAULT_CURRENCY, tick_days: float = 1.0
               ) -> tuple[str, str, float, str]:
    """``(title, unit, scale, transform)`` of a per-tick metric in :func:`comparison_bands`.

    From the vocabulary: money flows are cumulative (``"cumsum"``); a ratio pooled over a
    trailing window (NPS) is pooled over the last 30 ticks (``"nps30"``); stocks are drawn
    as they are (``"raw"``); other flows and ratios as trailing means over 7 ticks
    (``"roll7"``; churn rate over 30, :data:`BAND_SMOOTHING`).  Units name the currency and
    days.
    """
    m = _declared(column)
    agg = m.aggregation
    unit = _unit(m, currency, tick_days)
    if m.kind == "flow" and m.fmt == "currency":
        return f"Cumulative {m.label[0].lower()}{m.label[1:]}", unit, m.scale, "cumsum"
    if agg.rule == "weighted" and agg.window_days:
        return (m.tick_title(), f"{unit}, pooled over the last "
                f"{window_text(30, tick_days)}s".replace("-days", " days"), m.scale, "nps30")
    if m.kind == "stock" and agg.rule == "final":
        return m.tick_title(), unit, m.scale, "raw"
    n = BAND_SMOOTHING.get(column, 7)
    title = m.tick_title().replace("per tick", display_unit("per tick", currency, tick_days))
    return title, f"{unit} ({window_text(n, tick_days)} mean)", m.scale, f"roll{n}"


def forest_panel(metric: str, currency: str = DEFAULT_CURRENCY) -> tuple[str, str, float]:
    """``(title, unit of the difference, scale)`` of a run figure in :func:`forest_plot`."""
    m = _declared(metric)
    return m.summary_title(), display_unit(m.difference_unit(), currency), m.scale


_BASELINE_COLOUR = "#333333"


def strategy_colours(strategies) -> dict[str, str]:
    """A colour per strategy: the baseline dark grey, the others from the tab10 cycle."""
    palette = list(plt.get_cmap("tab10").colors)
    palette = palette[:7] + palette[8:]  # skip tab10's grey, kept for the baseline
    out, k = {}, 0
    for name in strategies:
        if name == "baseline":
            out[name] = _BASELINE_COLOUR
        else:
            out[name] = matplotlib.colors.to_hex(palette[k % len(palette)])
            k += 1
    return out


def _thousands(ax, axis: str = "y") -> None:
    """Whole-number ticks with thousands separators (counts and money)."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_locator(matplotlib.ticker.MaxNLocator(nbins="auto", integer=True,
                                                           steps=[1, 2, 2.5, 5, 10]))
    target.set_major_formatter(matplotlib.ticker.FuncFormatter(
        lambda v, _pos: f"{v:,.0f}".replace("-", "−")))


def _band_values(ticks: pd.DataFrame, strategy: str, column: str, transform: str
                 ) -> pd.DataFrame:
    """Wide table (tick × replicate) of one per-tick metric of one strategy, transformed."""
    sub = ticks[ticks["strategy"] == strategy]
    wide = sub.pivot(index="tick", columns="replicate", values=column).astype(float)
    if transform == "cumsum":
        return wide.cumsum()
    if transform.startswith("roll"):
        return wide.rolling(int(transform[4:]), min_periods=1).mean()
    if transform == "nps30" and "nps_respondents" in sub:
        resp = sub.pivot(index="tick", columns="replicate",
                         values="nps_respondents").astype(float)
        num = (wide.fillna(0.0) * resp).rolling(30, min_periods=1).sum()
        den = resp.rolling(30, min_periods=1).sum()
        return num.where(den > 0) / den.where(den > 0)
    return wide


def _start_lines(ax, result, colours: dict[str, str], dt: float) -> None:
    """Draw dashed verticals at every intervention start.

    Strategies starting on the same tick share the line in alternating dashes of their
    colours, so each stays visible.
    """
    at: dict[int, list[str]] = {}
    for name in result.strategies:
        for s in result.starts.get(name, []):
            at.setdefault(int(s), []).append(name)
    for s, names in at.items():
        k = len(names)
        dash = 5.0
        for i, name in enumerate(names):
            style = (i * dash, (dash, dash * (k - 1) + (3.0 if k == 1 else 0.0)))
            ax.axvline(s * dt, color=colours[name], ls=style, lw=1.6, alpha=0.95)


@styled
def comparison_bands(result, metrics=("active", "nps", "profit", "churn_rate"),
                     low: float = 0.10, high: float = 0.90,
                     relative: tuple[str, ...] = ("profit", "active"),
                     window: tuple[float, float] | None = None,
                     title: str | None = None, currency: str = DEFAULT_CURRENCY) -> Figure:
    """Per strategy, the median over replications and a 10–90 % band, against day.

    One panel per metric of ``result.ticks`` (see :func:`band_panel`: profit, revenue and
    costs are cumulative; noisy survey metrics are trailing means); dashed vertical lines
    mark each strategy's intervention starts in the strategy's colour.  Metrics in
    ``relative`` are drawn as the paired difference from the baseline (same replicate): a
    strategy's cumulative profit differs from the baseline's by a few per cent at most, so
    the levels would overlap, while the cumulative Δprofit shows cost, recovery and payback
    (where it crosses zero for good); likewise the active customers on an axis from zero.
    Pass ``relative=()`` for levels everywhere.  Level
    panels start at zero or span a score's band.  ``window=(first day, last day)`` zooms
    every panel on those days; ``title`` replaces the figure's title.  The band is drawn
    (and in the legend) only with two replications or more.
    ``result`` is a :class:`cxsim.compare.ComparisonResult`.
    """
    head = title or f"{pretty_name(result.scenario)}: strategies over time"
    metrics = [m for m in metrics if m in result.ticks.columns]
    n = max(1, len(metrics))
    ncols = 1 if n == 1 else (2 if n <= 4 else 3)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=SLIDE, squeeze=False)
    colours = strategy_colours(result.strategies)
    dt = result.tick_days
    banded = False
    for ax, column in zip(axes.flat, metrics, strict=False):
        title, unit, scale, transform = band_panel(column, currency, dt)
        rel = column in relative
        if rel:
            title = f"{title} vs baseline"
            unit = f"difference from baseline, {unit}"
            base = _band_values(result.ticks, "baseline", column, transform)
            ax.axhline(0.0, color=colours.get("baseline", _BASELINE_COLOUR), lw=2.0)
        # strategies first, the baseline last (on top): before a strategy's first
        # intervention its runs are the baseline's, and the plot shows them as the baseline
        order = [n for n in result.strategies if n != "baseline"]
        seen: list[float] = []
        for name in order + (["baseline"] if "baseline" in result.strategies else []):
            if rel and name == "baseline":
                continue
            wide = _band_values(result.ticks, name, column, transform)
            if rel:
                wide = wide - base
            wide = wide * scale
            if wide.empty:
                continue
            days = wide.index.to_numpy() * dt
            mid = wide.median(axis=1).to_numpy()
            c = colours[name]
            if wide.shape[1] >= 2:
                lo = wide.quantile(low, axis=1).to_numpy()
                hi = wide.quantile(high, axis=1).to_numpy()
                ax.fill_between(days, lo, hi, color=c, alpha=0.15, lw=0)
                banded = True
                seen += [float(pd.Series(lo).min()), float(pd.Series(hi).max())]
            seen += [float(pd.Series(mid).min()), float(pd.Series(mid).max())]
            ax.plot(days, mid, color=c, lw=2.8 if name != "baseline" else 2.0, ls="-")
        _start_lines(ax, result, colours, dt)
        if not rel:
            _honest_axis(ax, _declared(column), seen)
        if window is not None:
            ax.set_xlim(*window)
        ax.set_title(_wrap(title, 40))
        ax.set_ylabel(_wrap(unit, 30))
        ax.set_xlabel("day")
        if _thousands_wanted(column):
            _thousands(ax)
    for ax in list(axes.flat)[len(metrics):]:
        ax.set_visible(False)
    handles = [Line2D([], [], color=colours[s], lw=2.6, label=pretty_name(s))
               for s in result.strategies]
    if banded:
        handles.append(Patch(facecolor="#888888", alpha=0.3,
                             label=f"{low:.0%}–{high:.0%} of replications"))
    handles.append(Line2D([], [], color="#888888", ls="--", lw=1.4, label="intervention start"))
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 4),
               frameon=False)
    _suptitle(fig, f"{head} (median of {result.replications} paired replications)", 80)
    return fig


@styled
def forest_plot(result, metrics=("churned", "monthly_churn", "nps", "csat", "service_level",
                                 "profit"), currency: str = DEFAULT_CURRENCY) -> Figure:
    """Paired differences strategy − baseline with 95 % intervals, one panel per metric.

    Each panel shows every strategy's mean paired difference (dot) and its 95 % t-interval
    (bar) with a line at zero: an interval clear of zero is a difference the replications
    resolve.  A strategy without an interval (fewer than two finished replications) shows
    its dot only, and the title says so.  ``result`` is a
    :class:`cxsim.compare.ComparisonResult`.
    """
    table = result.table
    names = [s for s in result.strategies if s != "baseline"]
    metrics = [m for m in metrics if m in set(table["metric"])]
    n = max(1, len(metrics))
    ncols = min(3, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=SLIDE, squeeze=False, sharey=True)
    colours = strategy_colours(result.strategies)
    ypos = {name: len(names) - 1 - k for k, name in enumerate(names)}
    missing = False
    for ax, metric in zip(axes.flat, metrics, strict=False):
        title, unit, scale = forest_panel(metric, currency)
        for name in names:
            row = table[(table["strategy"] == name) & (table["metric"] == metric)]
            if row.empty:
                continue
            r = row.iloc[0]
            d, lo, hi = (float(r["diff"]) * scale, float(r["diff_ci_low"]) * scale,
                         float(r["diff_ci_high"]) * scale)
            y = ypos[name]
            c = colours[name]
            if pd.notna(lo) and pd.notna(hi):
                ax.plot([lo, hi], [y, y], color=c, lw=3.5, solid_capstyle="butt")
                ax.plot([lo, lo], [y - 0.15, y + 0.15], color=c, lw=2.0)
                ax.plot([hi, hi], [y - 0.15, y + 0.15], color=c, lw=2.0)
            elif pd.notna(d):
                missing = True
            if pd.notna(d):
                ax.plot([d], [y], "o", color=c, ms=11, mec="white", mew=1.2)
        ax.axvline(0.0, color="black", lw=1.2, ls="-", alpha=0.8)
        ax.set_title(_wrap(title, 26))
        ax.set_xlabel(_wrap(f"strategy − baseline, {unit}", 26))
        ax.grid(axis="y", visible=False)
        ax.margins(x=0.12)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
        if _thousands_wanted(metric):
            _thousands(ax, "x")
            ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4, integer=True))
    for ax in list(axes.flat)[len(metrics):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_yticks(list(ypos.values()), [_wrap(pretty_name(k), 16) for k in ypos])
        ax.set_ylim(-0.7, len(names) - 0.3)
    note = "; a dot without a bar: too few finished runs for an interval" if missing else ""
    _suptitle(fig, f"{pretty_name(result.scenario)}: strategy − baseline, mean and 95 % "
                   f"interval of {result.replications} paired replications{note}", 80)
    return fig


# --------------------------------------------------------------------------------------------
# Sweeps (results of cxsim.sweep)
# --------------------------------------------------------------------------------------------

def outcome_label(outcome: str, currency: str = DEFAULT_CURRENCY) -> tuple[str, str, float]:
    """``(title, unit, scale)`` of a run figure (a sweep outcome) from the vocabulary."""
    m = _declared(outcome)
    return m.summary_title(), _unit(m, currency), m.scale


def _value_text(v: float, outcome: str) -> str:
    if _thousands_wanted(outcome) or abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.3g}" if abs(v) < 10 else f"{v:.1f}"


def _level_text(v) -> str:
    return f"{v:g}" if _is_number(v) else pretty_name(str(v))


def _done(runs: pd.DataFrame) -> pd.DataFrame:
    return runs[runs["status"] == "done"] if "status" in runs else runs


@styled
def sweep_heatmap(runs: pd.DataFrame, x: str, y: str,
                  outcomes=("monthly_churn", "nps", "profit"), title: str = "",
                  currency: str = DEFAULT_CURRENCY) -> Figure:
    """Heatmaps of outcomes over two swept parameters, one panel per outcome.

    Each cell is the mean over the cell's finished runs (replications, and any other swept
    parameter), written in the cell; the colour bar carries the outcome's unit.  Colours
    follow the vocabulary's good direction, so the good end is yellow in every panel
    (churn: low is yellow); values on both sides of zero get a diverging map centred on
    zero, green for the good side.  ``runs`` is a sweep's runs table
    (:attr:`cxsim.sweep.SweepResult.runs` or ``runs.parquet``).
    """
    import numpy as np

    ok = _done(runs)
    outcomes = [o for o in outcomes if o in ok]
    n = max(1, len(outcomes))
    xs = sorted(ok[x].unique(), key=_sort_key)
    ys = sorted(ok[y].unique(), key=_sort_key)
    fig, axes = plt.subplots(1, n, figsize=SLIDE, squeeze=False)
    per_cell = ok.groupby([y, x]).size()
    cell_font = MIN_FONT if len(xs) <= 4 * (4 - min(n, 3)) else 12
    for ax, outcome in zip(axes.flat, outcomes, strict=False):
        m = _declared(outcome)
        name, unit, scale = outcome_label(outcome, currency)
        grid = (ok.groupby([y, x])[outcome].mean().unstack(x)
                  .reindex(index=ys, columns=xs) * scale)
        values = grid.to_numpy(dtype=float)
        finite = values[np.isfinite(values)]
        diverging = finite.size > 0 and finite.min() < 0 < finite.max()
        if diverging:
            norm = matplotlib.colors.CenteredNorm(0.0)
        elif finite.size and finite.max() > finite.min():
            norm = matplotlib.colors.Normalize(finite.min(), finite.max())
        elif finite.size:  # one value everywhere: the middle of the map, no false contrast
            half = max(abs(float(finite[0])) * 0.05, 1e-9)
            norm = matplotlib.colors.Normalize(finite[0] - half, finite[0] + half)
        else:
            norm = matplotlib.colors.Normalize(0, 1)
        cmap = plt.get_cmap(colormap(m, diverging))
        im = ax.imshow(values, origin="lower", aspect="auto", cmap=cmap, norm=norm)
        for i in range(len(ys)):
            for j in range(len(xs)):
                v = values[i, j]
                if np.isfinite(v):
                    r, g, b, _ = cmap(norm(v))
                    dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
                    ax.text(j, i, _value_text(v, outcome), ha="center", va="center",
                            fontsize=cell_font, color="white" if dark else "black")
        ax.set_xticks(range(len(xs)), [_level_text(v) for v in xs])
        ax.set_yticks(range(len(ys)), [_level_text(v) for v in ys])
        ax.grid(False)
        ax.set_xlabel(_wrap(param_label(x), 24))
        ax.set_ylabel(_wrap(param_label(y), 24))
        good = {"higher": "higher is better", "lower": "lower is better"}.get(m.good, "")
        ax.set_title(_wrap(name, 24))
        cbar = fig.colorbar(im, ax=ax, shrink=0.9, location="bottom", pad=0.02)
        cbar.set_label(_wrap(unit + (f" ({good})" if good else ""), 30))
        cbar.locator = matplotlib.ticker.MaxNLocator(3)
        if _thousands_wanted(outcome):
            cbar.formatter = matplotlib.ticker.FuncFormatter(
                lambda v, _pos: f"{v:,.0f}".replace("-", "−"))
        else:
            cbar.formatter = matplotlib.ticker.ScalarFormatter(useOffset=False)
        cbar.update_ticks()
    lo, hi = (int(per_cell.min()), int(per_cell.max())) if len(per_cell) else (0, 0)
    count = f"{lo}" if lo == hi else f"{lo}–{hi}"
    _suptitle(fig, f"{pretty_name(title) + ': ' if title else ''}mean of {count} runs per "
                   "cell (yellow/green = better)", 80)
    return fig


def _is_number(v) -> bool:
    return pd.api.types.is_number(v) and not pd.api.types.is_bool(v)


def _sort_key(v):
    return (0, float(v), "") if _is_number(v) else (1, 0.0, str(v))


@styled
def sweep_lines(runs: pd.DataFrame, x: str, outcomes=("monthly_churn", "nps", "profit"),
                by: str | None = None, title: str = "",
                currency: str = DEFAULT_CURRENCY) -> Figure:
    """Outcomes against one swept parameter: mean and 95 % interval over runs at each value.

    ``by`` draws one line per value of a second parameter (e.g. ``strategy``).  Value axes
    start at zero or span a score's band.  The interval is drawn, and named in the legend,
    only where at least two runs finished.
    """
    from .compare import mean_interval

    ok = _done(runs)
    outcomes = [o for o in outcomes if o in ok]
    n = max(1, len(outcomes))
    fig, axes = plt.subplots(1, n, figsize=SLIDE, squeeze=False)
    groups = [(None, ok)] if by is None else list(ok.groupby(by, sort=False))
    colours = strategy_colours([str(g) for g, _ in groups])
    numeric = all(_is_number(v) for v in ok[x].unique())
    levels = sorted(ok[x].unique(), key=_sort_key)
    pos = {v: (float(v) if numeric else k) for k, v in enumerate(levels)}
    drawn = False
    counts: list[int] = []
    for ax, outcome in zip(axes.flat, outcomes, strict=False):
        name, unit, scale = outcome_label(outcome, currency)
        seen: list[float] = []
        for g, sub in groups:
            xs, mids, los, his = [], [], [], []
            for v in levels:
                m, lo, hi, _se, k = mean_interval(sub.loc[sub[x] == v, outcome])
                counts.append(k)
                xs.append(pos[v])
                mids.append(m * scale)
                los.append(lo * scale)
                his.append(hi * scale)
            c = colours[str(g)] if g is not None else "#1f77b4"
            if any(pd.notna(v) for v in los):
                ax.fill_between(xs, los, his, color=c, alpha=0.18, lw=0)
                drawn = True
            ax.plot(xs, mids, "o-", color=c, lw=2.6, ms=8)
            seen += [v for v in mids + los + his if pd.notna(v)]
        _honest_axis(ax, _declared(outcome), seen)
        if not numeric or len(levels) <= 6:  # the swept values themselves
            ax.set_xticks(list(pos.values()), [_level_text(v) for v in levels])
        else:
            ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
        ax.set_title(_wrap(name, 24))
        ax.set_xlabel(_wrap(param_label(x), 24))
        ax.set_ylabel(_wrap(unit, 28))
        if _thousands_wanted(outcome):
            _thousands(ax)
    handles = [Line2D([], [], color=colours[str(g)] if g is not None else "#1f77b4", lw=2.6,
                      marker="o", label=_level_text(g) if g is not None else "mean over runs")
               for g, _ in groups]
    if drawn:
        handles.append(Patch(facecolor="#888888", alpha=0.3, label="95 % interval"))
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 5),
               frameon=False, title=param_label(by) if by else None)
    k = [c for c in counts if c]
    runs_text = (f"{min(k)}" if k and min(k) == max(k) else f"{min(k)}–{max(k)}") if k else "0"
    _suptitle(fig, f"{pretty_name(title) if title else 'Sweep'}: mean of {runs_text} "
                   "finished runs per point", 80)
    return fig


@styled
def sweep_scatter(runs: pd.DataFrame, params, outcome: str = "monthly_churn",
                  title: str = "", currency: str = DEFAULT_CURRENCY) -> Figure:
    """One outcome against each sampled parameter (e.g. a Latin hypercube), run by run."""
    ok = _done(runs)
    params = list(params)
    n = max(1, len(params))
    ncols = min(3, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=SLIDE, squeeze=False, sharey=True)
    name, unit, scale = outcome_label(outcome, currency)
    m = _declared(outcome)
    for ax, p in zip(axes.flat, params, strict=False):
        ax.scatter(ok[p], ok[outcome] * scale, s=30, alpha=0.6, color="#1f77b4")
        ax.set_xlabel(_wrap(param_label(p), 26))
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
    if len(ok):
        _honest_axis(axes.flat[0], m, (ok[outcome] * scale).tolist())
    for ax in axes[:, 0]:
        ax.set_ylabel(_wrap(unit, 28))
        if m.thousands:
            _thousands(ax)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    _suptitle(fig, f"{pretty_name(title) + ': ' if title else ''}{name}, one dot per run "
                   f"({len(ok):,} runs)", 80)
    return fig


@styled
def sensitivity_bars(table: pd.DataFrame, outcomes=None, title: str = "",
                     runs: int | None = None, currency: str = DEFAULT_CURRENCY) -> Figure:
    """Sensitivity indices per parameter, one panel per outcome, with 95 % intervals.

    Sobol' tables show the first-order index S1 (the share of the outcome's variance a
    parameter explains alone) and the total index ST (including its interactions), every
    panel on the same 0–1 scale; Morris tables show μ* (the mean absolute effect of moving
    the parameter across its range) with σ (how much that effect depends on the other
    parameters), from zero.  ``runs`` (the finished runs the indices rest on) goes in the
    title.
    """
    sobol = "ST" in table
    outcomes = list(outcomes) if outcomes is not None else list(dict.fromkeys(table["outcome"]))
    n = max(1, len(outcomes))
    ncols = min(3, n)
    nrows = -(-n // ncols)
    params = list(dict.fromkeys(table["parameter"]))
    fig, axes = plt.subplots(nrows, ncols, figsize=SLIDE, squeeze=False, sharey=True,
                             sharex=sobol)
    top = 1.0
    if sobol:  # one scale for every panel: 0–1, wider only if an estimate is beyond it
        for col in ("ST", "S1"):
            if col in table:
                v = pd.to_numeric(table[col], errors="coerce").max()
                if pd.notna(v):
                    top = max(top, float(v))
    for ax, outcome in zip(axes.flat, outcomes, strict=False):
        sub = table[table["outcome"] == outcome].set_index("parameter").reindex(params)
        name, unit, scale = outcome_label(outcome, currency)
        y = list(range(len(params)))[::-1]
        if sub[("ST" if sobol else "mu_star")].isna().all():
            note = sub["note"].dropna().iloc[0] if "note" in sub and sub["note"].notna().any() \
                else "no estimate"
            ax.text(0.5, 0.5, _wrap(f"n/a: {note}", 26), ha="center", va="center",
                    transform=ax.transAxes, color="grey")
        elif sobol:
            for col, off, colour, label in (("S1", 0.18, "#1f77b4", "first order S1"),
                                            ("ST", -0.18, "#ff7f0e", "total ST")):
                v = sub[col].to_numpy(dtype=float)
                err = [v - sub[f"{col}_ci_low"].to_numpy(dtype=float),
                       sub[f"{col}_ci_high"].to_numpy(dtype=float) - v]
                ax.barh([k + off for k in y], v, height=0.34, color=colour, label=label,
                        xerr=err, capsize=3, error_kw={"lw": 1.2})
            ax.axvline(0, color="black", lw=0.8)
        else:
            v = sub["mu_star"].to_numpy(dtype=float) * scale
            err = [v - sub["mu_star_ci_low"].to_numpy(dtype=float) * scale,
                   sub["mu_star_ci_high"].to_numpy(dtype=float) * scale - v]
            ax.barh(y, v, height=0.5, color="#1f77b4", label="μ* (mean |effect|)", xerr=err,
                    capsize=3)
            ax.plot(sub["sigma"].to_numpy(dtype=float) * scale, y, "D", color="#d62728",
                    ms=8, label="σ (interactions)")
            ax.set_xlim(left=0)
            ax.set_xlabel(_wrap(f"effect over the parameter's range ({unit})", 26))
        ax.set_yticks(y, [_wrap(param_label(p), 22) for p in params])
        ax.set_title(_wrap(name, 24))
        ax.grid(axis="y", visible=False)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
    # Sobol' indices are shares (0-1, S1 <= ST); estimates from few samples can break both:
    # the band beyond 1 is shaded and the legend says why, rather than a bar that looks real
    noisy = False
    if sobol:
        cols = [c for c in ("S1", "S1_ci_low", "S1_ci_high", "ST", "ST_ci_low", "ST_ci_high")
                if c in table]
        est = table[cols].apply(pd.to_numeric, errors="coerce")
        noisy = bool(((est < 0) | (est > 1)).to_numpy().any()) or (
            {"S1", "ST"} <= set(cols) and bool((est["S1"] > est["ST"] + 1e-12).any()))
        if noisy:
            for ax in axes.flat[:n]:
                ax.axvline(1, color="grey", ls="--", lw=1)
                if top > 1:
                    ax.axvspan(1, top * 1.05, color="0.92", zorder=0, lw=0)
    if sobol:
        axes.flat[0].set_xlim(-0.05, top * 1.05)
        for k, ax in enumerate(axes.flat[:n]):
            if k + ncols >= n:  # the lowest panel of its column
                ax.set_xlabel("share of output variance")
                ax.xaxis.set_tick_params(labelbottom=True)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    handles, labels = next((h for h in (a.get_legend_handles_labels() for a in axes.flat)
                            if h[0]), ([], []))
    if noisy:
        handles = [*handles, Patch(facecolor="0.92", edgecolor="grey", ls="--")]
        labels = [*labels, "beyond 1, below 0 or S1 > ST: sampling error (more --samples)"]
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncol=len(handles) + 1,
                   frameon=False)
    method = "Sobol' indices" if sobol else "Morris elementary effects"
    size = f" from {runs:,} runs" if runs is not None else ""
    _suptitle(fig, f"{pretty_name(title) + ': ' if title else ''}{method}{size}, "
                   "95 % intervals", 80)
    return fig


def sweep_figures(result) -> list[tuple[str, Figure]]:
    """The figures that fit a sweep's results, as ``(file name, figure)`` pairs.

    Sobol/Morris: sensitivity bars.  Grid: a heatmap over the first two varied parameters
    (lines per value of a categorical second parameter such as ``strategy``), or lines for
    one.  Latin hypercube: scatter plots of churn and profit against every parameter.
    Money is labelled in the scenario's currency.
    """
    plan = result.plan
    title = plan.scenario.name
    cur = getattr(getattr(plan.scenario, "economics", None), "currency", DEFAULT_CURRENCY)
    kind = plan.design.kind
    runs = result.runs
    varied = [p.path for p in plan.design.varied]
    if kind in ("sobol", "morris") and result.sensitivity is not None:
        return [("sensitivity.png", sensitivity_bars(result.sensitivity, title=title,
                                                     runs=len(_done(runs)), currency=cur))]
    if kind == "lhs":
        return [(f"sweep_scatter_{o}.png", sweep_scatter(runs, varied, o, title=title,
                                                         currency=cur))
                for o in ("monthly_churn", "profit") if o in runs]
    if len(varied) >= 2:
        x, y = varied[0], varied[1]
        numeric = all(_is_number(v) for v in _done(runs)[y].unique())
        if not numeric:
            return [("sweep_lines.png", sweep_lines(runs, x, by=y, title=title,
                                                    currency=cur))]
        return [("sweep_heatmap.png", sweep_heatmap(runs, x, y, title=title, currency=cur))]
    if len(varied) == 1:
        return [("sweep_lines.png", sweep_lines(runs, varied[0], title=title, currency=cur))]
    return []


# --------------------------------------------------------------------------------------------
# One run: journeys, flows, NPS, retention, workforce and partners
# --------------------------------------------------------------------------------------------

#: journey stages in the order a customer meets them (cxsim.scenario.STAGES)
STAGE_ORDER = ("awareness", "consideration", "purchase", "onboarding", "usage", "support",
               "renewal")

_GOOD, _BAD, _NEUTRAL = "#2ca02c", "#d62728", "#7f7f7f"


def _touchpoint_totals(touchpoints: pd.DataFrame) -> pd.DataFrame:
    """Per touchpoint over the run: channel, stage, volume and volume-weighted experience."""
    t = touchpoints.copy()
    t["_weighted"] = t["experience"].fillna(0.0) * t["volume"]
    g = t.groupby("touchpoint", sort=False).agg(channel=("channel", "first"),
                                                stage=("stage", "first"),
                                                volume=("volume", "sum"),
                                                weighted=("_weighted", "sum"))
    g["experience"] = (g["weighted"] / g["volume"]).where(g["volume"] > 0)
    return g.drop(columns="weighted")


@styled
def journey_map(touchpoints: pd.DataFrame, title: str = "Journey map") -> Figure:
    """Touchpoints by journey stage (x) and channel (y), coloured by mean experience.

    Each circle is a touchpoint: its area is its volume of contacts over the run, its
    colour the volume-weighted mean experience (performance, 0–1) customers had there, on
    the whole 0–1 scale (red poor, green good), so only a poor touchpoint looks alarming.
    Touchpoints nobody used (e.g. a channel not launched yet) are hollow.  ``touchpoints`` is
    a run's per-touchpoint table (``model.touchpoint_metrics`` or ``touchpoints.csv``).
    """
    g = _touchpoint_totals(touchpoints)
    stages = [s for s in STAGE_ORDER if s in set(g["stage"])]
    stages += sorted(set(g["stage"]) - set(stages))
    channels = list(dict.fromkeys(g["channel"]))
    fig, ax = plt.subplots(figsize=SLIDE)
    used = g[g["volume"] > 0]
    vmax = float(used["volume"].max()) if len(used) else 1.0
    norm = matplotlib.colors.Normalize(vmin=0.0, vmax=1.0)
    cmap = plt.get_cmap("RdYlGn")
    biggest = 1600.0  # points² of the busiest touchpoint's circle
    for (stage, channel), cell in g.groupby(["stage", "channel"], sort=False):
        x0, y0 = stages.index(stage), channels.index(channel)
        k = len(cell)
        for i, (name, r) in enumerate(cell.iterrows()):
            # several touchpoints of one cell: spread on a diagonal, so labels do not collide
            x = x0 + (i - (k - 1) / 2) * 0.5
            y = y0 + (i - (k - 1) / 2) * 0.36
            if r["volume"] > 0:
                size = max(50.0, biggest * r["volume"] / vmax)
                ax.scatter([x], [y], s=size, color=cmap(norm(r["experience"])),
                           edgecolor="black", linewidth=0.8, zorder=3)
                label = (f"{_wrap(pretty_name(name), 11)}\n{r['volume']:,.0f} · "
                         f"{r['experience']:.2f}")
            else:
                size = 150.0
                ax.scatter([x], [y], s=size, facecolor="none", edgecolor=_NEUTRAL,
                           linewidth=1.2, linestyle="--", zorder=3)
                label = f"{_wrap(pretty_name(name), 11)}\nnot used"
            left = k > 1 and i == 0  # the first of a shared cell labelled on its left
            ax.annotate(label, (x, y), xytext=((-1 if left else 1) * (size ** 0.5 / 2 + 5), 0),
                        textcoords="offset points", ha="right" if left else "left",
                        va="center", zorder=4)
    ax.set_xticks(range(len(stages)), [pretty_name(v) for v in stages])
    ax.set_yticks(range(len(channels)), [pretty_name(v) for v in channels])
    ax.set_xlim(-0.4, len(stages) - 0.2)
    ax.set_ylim(-0.6, len(channels) - 0.4)
    ax.invert_yaxis()
    ax.set_xlabel("journey stage")
    ax.set_ylabel("channel")
    ax.grid(alpha=0.25)
    sm = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
    cbar = fig.colorbar(sm, ax=ax, shrink=0.8, pad=0.01)
    cbar.set_label("mean experience (0–1, higher is better)")
    handles = [Line2D([], [], ls="", marker="o", markersize=max(50.0, biggest * f) ** 0.5,
                      markerfacecolor="#cccccc", markeredgecolor="black",
                      label=f"{vmax * f:,.0f} contacts") for f in (1.0, 0.25, 0.05)]
    handles.append(Line2D([], [], ls="", marker="o", markersize=12, markerfacecolor="none",
                          markeredgecolor=_NEUTRAL, linestyle="--", label="not used"))
    fig.legend(handles=handles, loc="outside lower center", ncol=4,
               title="circle area = contacts over the run; labels: contacts · mean "
                     "experience", frameon=False, columnspacing=3.0, handleheight=2.6,
               borderpad=0.4)
    _suptitle(fig, f"{pretty_name(title)}: touchpoints by stage and channel", 80)
    return fig


def _layers(nodes: list[str], edges: dict[tuple[str, str], float]) -> dict[str, int]:
    """Column of each touchpoint: the longest chain of moves leading to it (cycles cut)."""
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    for (a, b) in edges:
        succ[a].append(b)
    state: dict[str, int] = {}
    order: list[str] = []
    back: set[tuple[str, str]] = set()

    def visit(n: str) -> None:  # depth-first, marking edges that close a cycle
        state[n] = 1
        for m in succ[n]:
            if state.get(m) == 1:
                back.add((n, m))
            elif m not in state:
                visit(m)
        state[n] = 2
        order.append(n)

    for n in nodes:
        if n not in state:
            visit(n)
    layer = dict.fromkeys(nodes, 1)
    for n in reversed(order):  # topological order of the acyclic part
        for m in succ[n]:
            if (n, m) not in back:
                layer[m] = max(layer[m], layer[n] + 1)
    return layer


def _band(ax, x0: float, y0: tuple[float, float], x1: float, y1: tuple[float, float],
          color, alpha: float) -> None:
    """A filled S-shaped band from [y0] at x0 to [y1] at x1 (cubic Bézier edges)."""
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MPath

    xm = (x0 + x1) / 2
    verts = [(x0, y0[0]), (xm, y0[0]), (xm, y1[0]), (x1, y1[0]), (x1, y1[1]), (xm, y1[1]),
             (xm, y0[1]), (x0, y0[1]), (x0, y0[0])]
    codes = [MPath.MOVETO, MPath.CURVE4, MPath.CURVE4, MPath.CURVE4, MPath.LINETO,
             MPath.CURVE4, MPath.CURVE4, MPath.CURVE4, MPath.CLOSEPOLY]
    ax.add_patch(PathPatch(MPath(verts, codes), facecolor=color, edgecolor="none",
                           alpha=alpha, zorder=1))


@styled
def flow_diagram(flows: pd.DataFrame, title: str = "Episode flows",
                 min_share: float = 0.002, fcr: float | None = None) -> Figure:
    """Sankey-style diagram of how service episodes move between touchpoints.

    Left to right: needs enter at touchpoints, move on (escalations and hand-offs) and end
    resolved or unresolved; bands take the colour of the node they leave, except that
    episodes ending unresolved are red.
    Band widths are numbers of episodes over the run; a touchpoint's bar is its volume.
    Moves below ``min_share`` of all episodes are left out for legibility.  Columns are not
    steps of an episode: a touchpoint stands right of every touchpoint that hands episodes
    to it.  The title gives the share resolved in the end (after any hand-offs) and, when
    ``fcr`` (first-contact resolution, 0–1) is given, the share resolved at the first
    touchpoint.  ``flows`` is ``model.flow_metrics`` or ``flows.csv``
    (``source, target, episodes``).
    """
    f = flows[flows["episodes"] > 0]
    total = float(f.loc[f["source"] == "need", "episodes"].sum()) or 1.0
    f = f[f["episodes"] >= min_share * total]
    ends = ("resolved", "unresolved")
    tps = list(dict.fromkeys([*f.loc[f["source"] != "need", "source"],
                              *f.loc[~f["target"].isin(ends), "target"]]))
    moves = {(a, b): v for a, b, v in f[["source", "target", "episodes"]].itertuples(index=False)
             if a in tps and b in tps}
    layer = _layers(tps, moves)
    last = max(layer.values(), default=1) + 1
    layer.update({"need": 0, "resolved": last, "unresolved": last})
    inflow = f.groupby("target")["episodes"].sum()
    outflow = f.groupby("source")["episodes"].sum()
    size = {n: float(max(inflow.get(n, 0.0), outflow.get(n, 0.0)))
            for n in ["need", *tps, *ends]}
    size["need"] = total
    columns: dict[int, list[str]] = {}
    for n in ["need", *tps, *ends]:
        if size[n] > 0:
            columns.setdefault(layer[n], []).append(n)
    gap = 0.03 * total
    # each node gets a slot at least one line of text high, so small nodes' labels do not
    # overlap at slide font sizes (the bar keeps its true size, centred in its slot)
    raw = max(sum(size[n] for n in col) + gap * (len(col) - 1) for col in columns.values())
    line = 0.055 * raw
    slot = {n: max(size[n], line) for n in size}
    height = max(sum(slot[n] for n in col) + gap * (len(col) - 1) for col in columns.values())
    tab20 = plt.get_cmap("tab20").colors  # without its greens, reds and greys: those mean
    palette = [tab20[i] for i in (0, 2, 8, 10, 12, 16, 18, 1, 3, 9, 11, 13, 17, 19)]
    colour = {n: palette[k % len(palette)] for k, n in enumerate(tps)}  # resolved/unresolved
    colour.update({"need": "#4c72b0", "resolved": _GOOD, "unresolved": _BAD})
    width = 0.12
    fig, ax = plt.subplots(figsize=SLIDE)
    top: dict[str, float] = {}
    for c, col in columns.items():
        used = sum(slot[n] for n in col) + gap * (len(col) - 1)
        y = (height + used) / 2  # centre the column
        for n in col:
            top[n] = y - (slot[n] - size[n]) / 2
            ax.add_patch(matplotlib.patches.Rectangle((c - width / 2, top[n] - size[n]),
                                                      width, size[n], color=colour[n],
                                                      zorder=2))
            label = {"need": "needs arise", "resolved": "resolved",
                     "unresolved": "unresolved"}.get(n, pretty_name(n))
            ha, dx = ("right", -width) if c == 0 else ("left", width * 0.75)
            sep = "\n" if size[n] >= 2 * line else " "
            ax.text(c + dx, y - slot[n] / 2, f"{label}{sep}{size[n]:,.0f}", ha=ha,
                    va="center", zorder=4,
                    bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none",
                          "alpha": 0.75})
            y -= slot[n] + gap
    # bands leave a node ordered by where they go and enter ordered by where they come from,
    # so they cross as little as possible
    centre = {n: top[n] - size[n] / 2 for n in top}
    edges = [(r.source, r.target, float(r.episodes)) for r in f.itertuples(index=False)
             if r.source in top and r.target in top]
    out_at: dict[tuple[str, str], float] = {}
    for a in top:
        y = top[a]
        for e in sorted((e for e in edges if e[0] == a), key=lambda e: -centre[e[1]]):
            out_at[(e[0], e[1])] = y
            y -= e[2]
    in_at: dict[tuple[str, str], float] = {}
    for b in top:
        y = top[b]
        for e in sorted((e for e in edges if e[1] == b), key=lambda e: -centre[e[0]]):
            in_at[(e[0], e[1])] = y
            y -= e[2]
    for a, b, v in edges:
        y0, y1 = out_at[(a, b)], in_at[(a, b)]
        c = _BAD if b == "unresolved" else colour[a]
        _band(ax, layer[a] + width / 2, (y0, y0 - v), layer[b] - width / 2, (y1, y1 - v), c,
              0.55 if b == "unresolved" else 0.35)
    ax.set_xlim(-0.9, last + 0.9)
    ax.set_ylim(-0.02 * height, 1.02 * height)
    ax.set_xticks([0, last], ["start", "outcome"])
    ax.set_yticks([])
    ax.grid(False)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel("left to right: where episodes start, where they are handed on to, how "
                  "they end (band width = episodes)")
    resolved = float(f.loc[f["target"] == "resolved", "episodes"].sum())
    first = (f"; {fcr:.0%} at the first touchpoint (first-contact resolution)"
             if fcr is not None and math.isfinite(fcr) else "")
    _suptitle(fig, f"{pretty_name(title)}: {total:,.0f} service episodes, "
                   f"{resolved / total:.0%} resolved in the end{first}", 80)
    return fig


@styled
def nps_split(metrics: pd.DataFrame, title: str = "NPS", tick_days: float = 1.0,
              interventions=()) -> Figure:
    """Promoters, passives and detractors among active customers over time, and the NPS.

    Top: stacked shares of the active customers whose likelihood to recommend is 9–10, 7–8
    and 0–6 (the whole customer base, not only survey respondents).  Bottom: the resulting
    NPS (promoters − detractors) and, dotted, the survey's NPS pooled over 30 days, on the
    scale's −100 to +100.  IT outages are shaded, interventions drawn.
    """
    days = metrics["tick"] * tick_days
    active = metrics["active"].astype(float).where(metrics["active"] > 0)
    prom = metrics["promoters"] / active * 100
    det = metrics["detractors"] / active * 100
    pas = 100 - prom - det
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=SLIDE, sharex=True,
                                  gridspec_kw={"height_ratios": [2, 1]})
    ax.stackplot(days, det, pas, prom, colors=[_BAD, "#bbbbbb", _GOOD], alpha=0.8,
                 labels=["detractors (0–6)", "passives (7–8)", "promoters (9–10)"])
    for y, share, label in ((det / 2, det, "detractors"), (det + pas / 2, pas, "passives"),
                            (100 - prom / 2, prom, "promoters")):
        ax.text(float(days.iloc[len(days) // 2]), float(y.iloc[len(y) // 2]),
                f"{label} {share.iloc[-1]:.0f} %", ha="center", va="center",
                fontweight="bold", color="white" if label != "passives" else "black")
    ax.set_ylim(0, 100)
    if days.max() > days.min():  # a one-day run keeps matplotlib's own margin
        ax.set_xlim(float(days.min()), float(days.max()))
    ax.set_ylabel("% of active customers")
    events = _mark_events(ax2, outage_spans(metrics, tick_days), interventions)
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles[::-1] + events, labels[::-1] + [h.get_label() for h in events],
              loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax2.plot(days, prom - det, color="black", lw=2.4, label="all customers")
    if {"nps", "nps_respondents"} <= set(metrics.columns):
        window = max(1, round(30 / tick_days))
        resp = metrics["nps_respondents"].astype(float)
        num = (metrics["nps"].fillna(0.0) * resp).rolling(window, min_periods=1).sum()
        den = resp.rolling(window, min_periods=1).sum()
        ax2.plot(days, num / den.where(den > 0), color="black", lw=1.8, ls=":",
                 label=f"survey ({window_text(window, tick_days)} pooled)")
    ax2.axhline(0, color="grey", lw=0.8)
    ax2.set_ylim(-100, 100)
    ax2.set_ylabel("NPS")
    ax2.set_xlabel("day")
    ax2.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, title="NPS")
    _suptitle(fig, f"{pretty_name(title)}: promoters, passives and detractors", 80)
    return fig


@styled
def retention_curves(segments: pd.DataFrame, title: str = "Retention",
                     tick_days: float = 1.0) -> Figure:
    """Share of each segment's starting customers still active, against day (0–100 %)."""
    fig, ax = plt.subplots(figsize=SLIDE)
    colours = strategy_colours(["_", *dict.fromkeys(segments["segment"])])
    for name, g in segments.groupby("segment", sort=False):
        ax.plot(g["tick"] * tick_days, g["retention"] * 100, lw=2.8, color=colours[name],
                label=pretty_name(name))
        ax.annotate(f"{g['retention'].iloc[-1]:.1%}", (g["tick"].iloc[-1] * tick_days,
                                                        g["retention"].iloc[-1] * 100),
                    xytext=(6, 0), textcoords="offset points", va="center",
                    color=colours[name])
    ax.set_ylabel("% of the segment's starting\ncustomers still active")
    ax.set_xlabel("day")
    ax.set_ylim(0, 102)
    ax.margins(x=0.08)
    ax.legend(title="segment", loc="lower left")
    _suptitle(fig, f"{pretty_name(title)}: retention curves by segment", 80)
    return fig


@styled
def clv_by_segment(segments: pd.DataFrame, title: str = "Customer lifetime value",
                   tick_days: float = 1.0, currency: str = DEFAULT_CURRENCY) -> Figure:
    """Each segment's customer lifetime value: at the end (bars) and over the run (steps).

    ``segments`` is a run's segment table with its ``clv`` column (:mod:`cxsim.clv`: the
    mean expected discounted CLV of the segment's active customers, computed every 30 days
    and at the last tick, so the lines are steps).
    """
    m = PART_METRICS["segment"]["clv"]
    unit = _unit(m, currency)
    fig, (bars, lines) = plt.subplots(1, 2, figsize=SLIDE, width_ratios=(1, 1.5))
    names = list(dict.fromkeys(segments["segment"]))
    colours = strategy_colours(["_", *names])
    # each segment's own last row (a damaged table may lack a segment on the last tick)
    last = (segments.sort_values("tick", kind="stable").groupby("segment", sort=False)
            .tail(1).set_index("segment"))
    names = [n for n in names if n in last.index]  # a segment named NaN has no group
    values = [float(last.loc[n, "clv"]) for n in names]
    x = range(len(names))
    bars.bar(x, [v if math.isfinite(v) else 0.0 for v in values],
             color=[colours[n] for n in names], width=0.6)
    for i, (n, v) in enumerate(zip(names, values, strict=True)):
        text = m.format(v) if math.isfinite(v) else "n/a"
        active = float(last.loc[n, "active"])
        count = f"{active:,.0f} customers" if math.isfinite(active) else ""
        bars.annotate(f"{text}\n{count}",
                      (i, v if math.isfinite(v) else 0.0), xytext=(0, 4),
                      textcoords="offset points", ha="center", va="bottom")
    bars.set_xticks(list(x), [pretty_name(n) for n in names])
    bars.set_ylabel(f"{m.label}\n({unit})")
    bars.set_title("At the end of the run")
    _honest_axis(bars, m, values)
    bars.set_ylim(top=bars.get_ylim()[1] * 1.18)
    _thousands(bars)
    for name, g in segments.groupby("segment", sort=False):
        lines.plot(g["tick"] * tick_days, g["clv"], drawstyle="steps-post",
                   color=colours[name], label=pretty_name(name))
    lines.set_xlabel("day")
    lines.set_ylabel(unit)
    lines.set_title("Over the run (computed every 30 days)")
    _honest_axis(lines, m, segments["clv"])
    _thousands(lines)
    lines.legend(title="segment", loc="best")
    _suptitle(fig, f"{pretty_name(title)}: customer lifetime value by segment (expected, "
                   "discounted)", 80)
    return fig


@styled
def workforce_panel(queues: pd.DataFrame, partners: pd.DataFrame | None = None,
                    title: str = "Employees and partners", tick_days: float = 1.0,
                    interventions=(), outages=()) -> Figure:
    """Employees per team and partners' on-time rate, against day.

    Per team: service level and occupancy (7-day means), engagement (0–1), leavers counted
    since the start (a count, not a rate: a team of a dozen has a leaver or two a quarter,
    which an annualised rate over a short window blows up) and head count in whole
    employees.  ``queues`` is a run's per-team table (``queues.csv``), ``partners`` its
    per-partner table (``partners.csv``).
    """
    import numpy as np

    fig, axes = plt.subplots(2, 3, figsize=SLIDE)
    roll = max(1, round(7 / tick_days))
    mean = f"{window_text(roll, tick_days)} mean"
    panels = (
        ("service_level", "Service level", f"% answered in target\n({mean})", 100.0,
         "roll", (0, 100)),
        ("occupancy", "Agent occupancy", f"% of staffed time busy\n({mean})", 100.0,
         "roll", (0, 100)),
        ("engagement", "Engagement", "mean engagement, 0–1", 1.0, "raw", (0, 1)),
        ("leavers", "Leavers", "employees who left\nsince day 0 (count)", 1.0, "cumsum",
         (0, None)),
        ("headcount", "Head count", "employees on the roster", 1.0, "step", (0, None)),
    )
    teams = list(dict.fromkeys(queues["team"])) if len(queues) else []
    colours = strategy_colours(["_", *teams])
    events: list = []
    fractional = False
    for ax, (col, name, unit, scale, how, band) in zip(axes.flat, panels, strict=False):
        for team in teams:
            g = queues[queues["team"] == team]
            days = g["tick"] * tick_days
            if how == "cumsum":
                y = g[col].astype(float).cumsum()
                ax.step(days, y, where="post", lw=2.4, color=colours[team])
                ax.annotate(f"{y.iloc[-1]:.0f}", (days.iloc[-1], y.iloc[-1]), xytext=(6, 0),
                            textcoords="offset points", va="center", color=colours[team])
                continue
            if how == "roll":
                y = g[col].astype(float).rolling(roll, min_periods=1).mean()
            else:
                y = g[col].astype(float)
            if how == "step":
                fractional |= bool((np.abs(y - np.round(y)) > 1e-9).any())
                ax.step(days, y, where="post", lw=2.4, color=colours[team])
                continue
            ax.plot(days, y * scale, lw=2.4, color=colours[team])
        events = _mark_events(ax, outages, interventions)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(5, integer=True))
        ax.set_title(name)
        ax.set_ylabel(unit if not (how == "step" and fractional)
                      else "employees on the roster\n(mean over the tick)")
        ax.set_xlabel("day")
        lo, hi = band
        ax.set_ylim(bottom=lo)
        if hi is not None:
            ax.set_ylim(top=hi)
        if how in ("cumsum", "step"):
            ax.set_ylim(top=max(ax.get_ylim()[1], 1.0) * 1.1)
            ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        if not teams:
            ax.text(0.5, 0.5, "no teams", ha="center", va="center", transform=ax.transAxes,
                    color="grey")
    ax = axes.flat[5]
    names = list(dict.fromkeys(partners["partner"])) if partners is not None and len(
        partners) else []
    pcol = strategy_colours(["_", *names])
    for name in names:
        g = partners[partners["partner"] == name]
        y = g["on_time"].astype(float).rolling(roll, min_periods=1).mean() * 100
        ax.plot(g["tick"] * tick_days, y, lw=2.4, color=pcol[name], ls="--")
    if not names:
        ax.text(0.5, 0.5, "no partners", ha="center", va="center", transform=ax.transAxes,
                color="grey")
    ax.set_ylim(0, 100)
    ax.set_title("Partner on-time rate")
    ax.set_ylabel(f"% of jobs right and on time\n({mean})")
    ax.set_xlabel("day")
    handles = [Line2D([], [], color=colours[t], lw=2.4, label=f"team: {pretty_name(t)}")
               for t in teams]
    handles += [Line2D([], [], color=pcol[n], lw=2.4, ls="--",
                       label=f"partner: {pretty_name(n)}") for n in names]
    handles += events
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 4),
                   frameon=False)
    _suptitle(fig, f"{pretty_name(title)}: employees and partners", 80)
    return fig


def run_figures(tables: dict, title: str = "", tick_days: float = 1.0,
                currency: str = DEFAULT_CURRENCY, interventions=()
                ) -> list[tuple[str, Figure]]:
    """Every figure that fits a run's tables, as ``(file name, figure)`` pairs.

    ``tables`` maps ``metrics``, ``touchpoints``, ``flows``, ``segments``, ``queues`` and
    ``partners`` to DataFrames (missing or empty ones are skipped).  ``currency`` labels
    money; ``interventions`` (``summary.json``'s list: ``type``, ``target``, ``start_day``,
    ``end_day``) and the outages of ``metrics`` are marked on the time axes.
    """
    def has(name: str) -> bool:
        t = tables.get(name)
        return t is not None and len(t) > 0

    out = []
    try:
        metrics = tables.get("metrics")
        outages = outage_spans(metrics, tick_days) if has("metrics") else []
        if has("metrics"):
            out.append(("kpi_dashboard.png", kpi_dashboard(
                metrics, title=f"{pretty_name(title)}: KPI dashboard", tick_days=tick_days,
                currency=currency, interventions=interventions)))
            if {"promoters", "detractors"} <= set(metrics.columns):
                out.append(("nps_split.png", nps_split(metrics, title, tick_days,
                                                       interventions)))
        if has("touchpoints"):
            out.append(("journey_map.png", journey_map(tables["touchpoints"], title)))
        if has("flows"):
            out.append(("flow_diagram.png", flow_diagram(tables["flows"], title,
                                                         fcr=_run_fcr(metrics))))
        if has("segments"):
            out.append(("retention_curves.png", retention_curves(tables["segments"], title,
                                                                 tick_days)))
        if has("segments") and "clv" in tables["segments"].columns:
            out.append(("clv_by_segment.png", clv_by_segment(tables["segments"], title,
                                                             tick_days, currency)))
        if has("queues") or has("partners"):
            out.append(("workforce.png", workforce_panel(tables.get("queues", pd.DataFrame(
                columns=["tick", "team"])), tables.get("partners"), title, tick_days,
                interventions, outages)))
    except BaseException:
        for _, fig in out:
            plt.close(fig)
        raise
    return out


def _run_fcr(metrics: pd.DataFrame | None) -> float | None:
    """The run's first-contact resolution (episodes pooled), from ``metrics.csv``."""
    if metrics is None or not {"fcr", "episodes"} <= set(metrics.columns):
        return None
    f = pd.to_numeric(metrics["fcr"], errors="coerce")
    w = pd.to_numeric(metrics["episodes"], errors="coerce").where(f.notna(), 0.0).fillna(0.0)
    total = float(w.sum())
    return float((f.fillna(0.0) * w).sum() / total) if total > 0 else None


def run_interventions(scenario, strategy, triggers=None) -> list[dict]:
    """A run's interventions as ``summary.json`` records them: type, target, days.

    ``start_day`` is the day of the intervention's first tick (ticks run from 1, tick t is
    drawn at day t × tick_days; start 0 means from the first tick), ``end_day`` that of its
    last tick, or None if it runs to the horizon.  A triggered intervention is recorded once
    per activation, from the run's trigger history ``triggers`` (``model.trigger_history``;
    with its condition as ``trigger``; ``end_day`` None when it acts past the run's last
    tick), and not at all if it never fired.
    """
    from .strategies import resolve

    dt = scenario.simulation.tick_days
    ticks = scenario.simulation.ticks
    out = []
    fired = {} if triggers is None else {
        k: rows for k, rows in triggers.groupby("intervention", sort=True)}
    for k, iv in enumerate(resolve(scenario, strategy).interventions):
        if iv.when:
            for row in fired.get(k, pd.DataFrame()).itertuples():
                # an activation acting past the run's end: "to the horizon"
                last = int(row.end)
                out.append({"type": iv.type, "target": iv.target, "trigger": iv.when,
                            "start_day": int(row.start) * dt,
                            "end_day": last * dt if 0 <= last <= ticks else None})
            continue
        # days as the figures place ticks (tick t at day t × tick_days)
        out.append({"type": iv.type, "target": iv.target,
                    "start_day": max(iv.start, 1) * dt,
                    "end_day": iv.end * dt if iv.end >= 0 else None})
    return out


@styled
def payback_curves(result, low: float = 0.10, high: float = 0.90,
                   currency: str = DEFAULT_CURRENCY) -> Figure:
    """Cumulative profit of each strategy relative to the baseline, with its payback day.

    For every strategy: the mean over replications of the cumulative paired difference in
    profit (net of the intervention's cost) against day, a 10–90 % band, and a marker where
    it turns positive for good (the payback day of :func:`cxsim.compare.roi_table`).  The
    legend ranks the strategies by payback.  ``result`` is a
    :class:`cxsim.compare.ComparisonResult`.
    """
    from .compare import cumulative_delta

    roi = result.roi.set_index("strategy")
    names = [n for n in result.strategies if n != "baseline"]
    order = sorted(names, key=lambda n: (pd.isna(roi.loc[n, "payback_tick"]),
                                         roi.loc[n, "payback_tick"]
                                         if pd.notna(roi.loc[n, "payback_tick"]) else 0,
                                         -roi.loc[n, "incremental_profit"]))
    colours = strategy_colours(result.strategies)
    dt = result.tick_days
    fig, ax = plt.subplots(figsize=SLIDE)
    ax.axhline(0.0, color=_BASELINE_COLOUR, lw=1.8)
    handles = []
    for name in order:
        wide = cumulative_delta(result.ticks, name)
        d = wide.index.to_numpy() * dt
        c = colours[name]
        if wide.shape[1] >= 2:
            ax.fill_between(d, wide.quantile(low, axis=1), wide.quantile(high, axis=1),
                            color=c, alpha=0.15, lw=0)
        mean = wide.mean(axis=1)
        ax.plot(d, mean, color=c, lw=2.6)
        pb = roi.loc[name, "payback_tick"]
        if pd.notna(pb):
            ax.plot([pb * dt], [mean.loc[pb]], "o", color=c, ms=11, mec="black", zorder=5)
            when = f"pays back on day {pb * dt:g}"
        else:
            when = "does not pay back within the horizon"
        handles.append(Line2D([], [], color=c, lw=2.6, marker="o" if pd.notna(pb) else None,
                              ms=9, mec="black",
                              label=f"{pretty_name(name)}: {when} (ROI "
                                    f"{roi.loc[name, 'roi']:.1f})"
                              if pd.notna(roi.loc[name, "roi"])
                              else f"{pretty_name(name)}: {when}"))
    ax.set_xlabel("day")
    ax.set_ylabel(f"cumulative profit vs baseline ({currency}),\nnet of the intervention's "
                  "cost")
    _thousands(ax)
    ax.grid(alpha=0.3)
    ax.legend(handles=handles, loc="upper left", frameon=True,
              title="ranked by payback (ROI over the horizon)")
    band = f", {low:.0%}–{high:.0%} band" if result.replications >= 2 else ""
    _suptitle(fig, f"{pretty_name(result.scenario)}: which investment pays back first? "
                   f"(mean of {result.replications} paired replications{band})", 80)
    return fig


# --------------------------------------------------------------------------------------------
# Calibration (results of cxsim.calibrate)
# --------------------------------------------------------------------------------------------

_BEFORE_COLOUR = "#9a9a9a"
_ESTIMATE_COLOUR = "#1f77b4"
_POSTERIOR_COLOUR = "#ff7f0e"


def _target_group(row) -> str:
    part = next((str(row[c]) for c in ("segment", "touchpoint", "team")
                 if c in row and isinstance(row[c], str) and row[c]), "")
    return f"{row['metric']} [{part}]" if part else str(row["metric"])


def _target_metric(row) -> tuple[Metric, str]:
    """The declared metric of a target row and its title (with the part, if any)."""
    from .vocabulary import PART_METRICS

    for kind in ("segment", "touchpoint", "team"):
        part = row.get(kind) if hasattr(row, "get") else None
        if isinstance(part, str) and part:
            m = PART_METRICS.get(kind, {}).get(str(row["metric"]))
            if m is not None:
                return m, f"{m.label}: {kind} {part}"
            return _declared(str(row["metric"])), f"{row['metric']}: {kind} {part}"
    m = _declared(str(row["metric"]))
    return m, m.label


@styled
def calibration_fit(fit: pd.DataFrame, title: str = "Calibration: observed and simulated",
                    currency: str = DEFAULT_CURRENCY) -> Figure:
    """Observed targets against the simulated 90 % bands, one panel per metric (and part).

    Each window is placed at its middle day: the observed value (black), the simulated
    median and band at the scenario's own values (grey, "before"), at the estimate (blue)
    and over the posterior (orange).  ``fit`` is a calibration's ``fit.csv``.
    """
    groups = list(dict.fromkeys(_target_group(r) for _, r in fit.iterrows()))
    n = len(groups)
    cols = min(3, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=SLIDE, squeeze=False)
    for ax, group in zip(axes.flat, groups, strict=False):
        sub = fit[[_target_group(r) == group for _, r in fit.iterrows()]]
        m, panel_title = _target_metric(sub.iloc[0])
        scale = m.scale
        mid = (sub["day_from"].to_numpy(float) + sub["day_to"].to_numpy(float)) / 2
        width = max(float(sub["day_to"].max() - sub["day_from"].min()) / max(len(sub), 1),
                    1.0)
        seen: list[float] = []
        for k, (name, colour, label) in enumerate((
                ("before", _BEFORE_COLOUR, "scenario as given"),
                ("estimate", _ESTIMATE_COLOUR, "at the estimate"),
                ("posterior", _POSTERIOR_COLOUR, "over the posterior"))):
            x = mid + (k - 1) * width * 0.12
            med = sub[f"{name}_median"].to_numpy(float) * scale
            lo = sub[f"{name}_low"].to_numpy(float) * scale
            hi = sub[f"{name}_high"].to_numpy(float) * scale
            ax.errorbar(x, med, yerr=[med - lo, hi - med], fmt="o", ms=7, color=colour,
                        capsize=4, lw=2.2, label=f"simulated, {label}")
            seen += [*lo, *hi]
        observed = sub["value"].to_numpy(float) * scale
        ax.plot(mid, observed, "D", color="black", ms=9, label="observed", zorder=5)
        _honest_axis(ax, m, [*seen, *observed])
        ax.set_title(_wrap(panel_title, 40))
        ax.set_ylabel(_wrap(_unit(m, currency), 26))
        ax.set_xlabel("day (middle of the window)")
        ax.grid(alpha=0.3)
        if m.thousands:
            _thousands(ax)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=4,
               frameon=False)
    _suptitle(fig, f"{title} (bars: 90 % of replicate runs)", 80)
    return fig


def _weighted_hist(ax, values, weights, lo: float, hi: float, log: bool, colour: str
                   ) -> None:
    import numpy as np

    edges = (np.geomspace(lo, hi, 26) if log else np.linspace(lo, hi, 26))
    ax.hist(values, bins=edges, weights=weights, color=colour, alpha=0.75)
    if log:
        ax.set_xscale("log")


@styled
def posterior_pairs(posterior: pd.DataFrame, priors, estimate: dict, truth: dict | None = None,
                    title: str = "Posterior") -> Figure:
    """Weighted posterior marginals (diagonal) and pairs (below).

    ``priors`` are the calibration's :class:`cxsim.calibrate.Prior` s; the estimate (MAP) is
    marked in blue, ``truth`` (known values, e.g. in a recovery test) in black.  Each axis
    spans the posterior (widened) where it is narrower than half the prior's range, else
    the prior's range; the labels give the prior.
    """
    import numpy as np

    d = len(priors)
    w_all = posterior["weight"].to_numpy(float)

    def span(p) -> tuple[float, float]:
        """The posterior's range (widened), or the prior's when it fills most of it."""
        from .calibrate import weighted_quantile

        x = posterior[p.path].to_numpy(float)
        lo, hi = weighted_quantile(x, w_all, 0.005), weighted_quantile(x, w_all, 0.995)
        marks = [estimate[p.path], *([truth[p.path]] if truth and p.path in truth else [])]
        lo, hi = min(lo, *marks), max(hi, *marks)
        if not (np.isfinite(lo) and np.isfinite(hi)) or hi - lo > 0.5 * (p.high - p.low):
            return p.low, p.high
        pad = 0.25 * (hi - lo) if hi > lo else 0.05 * (p.high - p.low)
        return max(p.low, lo - pad), min(p.high, hi + pad)

    spans = [span(p) for p in priors]
    fig, axes = plt.subplots(d, d, figsize=SLIDE_4_3, squeeze=False)
    w = posterior["weight"].to_numpy(float)
    for i, pi in enumerate(priors):
        for j, pj in enumerate(priors):
            ax = axes[i][j]
            if j > i:
                ax.set_visible(False)
                continue
            xi = posterior[pj.path].to_numpy(float)
            if i == j:
                _weighted_hist(ax, xi, w, *spans[j], pj.dist == "loguniform",
                               _POSTERIOR_COLOUR)
                ax.axvline(estimate[pj.path], color=_ESTIMATE_COLOUR, lw=2, label="estimate")
                if truth and pj.path in truth:
                    ax.axvline(truth[pj.path], color="black", lw=2, ls="--", label="truth")
                ax.set_yticks([])
            else:
                yi = posterior[pi.path].to_numpy(float)
                big = w.max() if len(w) and w.max() > 0 else 1.0
                ax.scatter(xi, yi, s=8 + 60 * w / big, alpha=0.35 + 0.0 * w,
                           color=_POSTERIOR_COLOUR, edgecolors="none")
                ax.plot(estimate[pj.path], estimate[pi.path], "o", color=_ESTIMATE_COLOUR,
                        ms=8)
                if truth and pj.path in truth and pi.path in truth:
                    ax.plot(truth[pj.path], truth[pi.path], "x", color="black", ms=10, mew=2)
                ax.set_ylim(*spans[i])
                if pi.dist == "loguniform":
                    ax.set_yscale("log")
                if pj.dist == "loguniform":
                    ax.set_xscale("log")
            ax.set_xlim(*spans[j])
            if i == d - 1:
                ax.set_xlabel(f"{_wrap(param_label(pj.path), 22)}\n(prior {pj.spec})")
            if j == 0 and i != j:
                ax.set_ylabel(_wrap(param_label(pi.path), 22))
            if ax.get_xscale() == "linear":
                ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
            if i != j and ax.get_yscale() == "linear":
                ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
    axes[0][0].legend(loc="upper right")
    ess = (w.sum() ** 2 / (w * w).sum()) if len(w) and (w * w).sum() > 0 else 0.0
    fig.suptitle(f"{title}: {len(w)} weighted samples, effective sample size {ess:.0f}\n"
                 "(axes zoom to the posterior where it is narrower than half the prior)")
    return fig


@styled
def search_history(evaluations: pd.DataFrame, title: str = "Calibration history") -> Figure:
    """Log-posterior of every parameter set in the order evaluated, and the best so far."""
    import numpy as np

    fig, ax = plt.subplots(figsize=SLIDE)
    ev = evaluations[evaluations["phase"] != "check"].reset_index(drop=True)
    lp = ev["logpost"].to_numpy(float)
    ok = lp > -1e299
    best = np.maximum.accumulate(np.where(ok, lp, -np.inf))
    top = best[-1] if len(best) and np.isfinite(best[-1]) else 0.0
    low = np.nanpercentile(lp[ok], 10) if ok.any() else top - 1
    floor = min(low, top - 10)
    for phase, colour, label in (("search", _ESTIMATE_COLOUR, "search (TPE)"),
                                 ("sample", _POSTERIOR_COLOUR, "posterior samples")):
        sel = (ev["phase"] == phase).to_numpy() & ok
        ax.plot(np.flatnonzero(sel), np.maximum(lp[sel], floor), "o", color=colour, ms=7,
                label=label, alpha=0.8)
    ax.plot(np.arange(len(best)), np.where(np.isfinite(best), best, np.nan), color="black",
            lw=2, label="best so far")
    ax.set_ylim(floor - 0.05 * (top - floor + 1), top + 0.05 * (top - floor + 1))
    ax.set_xlabel("parameter set (in the order evaluated)")
    ax.set_ylabel("log-posterior (higher fits better)")
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(title + f" (values below {floor:.4g} drawn at the floor)",
                 fontweight="bold")
    return fig


def currency_of(obj) -> str:
    """The currency of a scenario, or of a result holding one (``.scenario``); else €."""
    sc = getattr(obj, "scenario", obj)
    cur = getattr(getattr(sc, "economics", None), "currency", None)
    return cur if isinstance(cur, str) and cur else DEFAULT_CURRENCY


def calibration_figure_list(result) -> list[tuple[str, Figure]]:
    """A calibration's figures as ``(file name, figure)`` pairs (its result or folder)."""
    figures = [("calibration_fit.png", calibration_fit(result.fit,
                                                       currency=currency_of(result))),
               ("calibration_history.png", search_history(result.evaluations))]
    if result.priors and len(result.posterior):
        figures.append(("posterior.png", posterior_pairs(result.posterior, result.priors,
                                                         result.estimate)))
    return figures


def calibration_figures(result, out, formats=("png",)) -> list[str]:
    """Write a calibration's figures into ``out`` (each of ``formats``); their file names."""
    return write_figures(calibration_figure_list(result), out, formats)


# --------------------------------------------------------------------------------------------
# Portfolio search (results of cxsim.optimise)
# --------------------------------------------------------------------------------------------


@styled
def pareto_front(result, search, title: str = "Portfolios: re-evaluated Pareto set",
                 currency: str = DEFAULT_CURRENCY) -> Figure:
    """Each objective against the intervention cost, with the budget line.

    Every candidate of the search in grey (its own, optimistic estimate); the Pareto set
    re-evaluated on fresh seeds in blue with 95 % intervals.
    """
    objs = search.objectives
    fig, axes = plt.subplots(1, len(objs), figsize=SLIDE, squeeze=False)
    cand, front = result.candidates, result.pareto
    for ax, o in zip(axes.flat, objs, strict=True):
        m = _declared(o.metric)
        ok = cand[cand["error"] == ""]
        ax.scatter(ok["intervention_cost"], ok[o.metric] * m.scale, s=45, color="#bbbbbb",
                   label="candidates (search estimate)")
        if len(front):
            y = front[o.metric] * m.scale
            lo = y - front[f"{o.metric}_ci_low"] * m.scale
            hi = front[f"{o.metric}_ci_high"] * m.scale - y
            ax.errorbar(front["intervention_cost"], y, yerr=[lo, hi], fmt="o",
                        color="#1f77b4", capsize=3, ms=6, lw=1.5,
                        label="Pareto set, re-evaluated (95 % interval)")
        if search.budget is not None:
            ax.axvline(search.budget, color="#d62728", ls="--", lw=2, label="budget")
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xlabel(f"intervention cost ({currency})")
        ax.set_ylabel(_wrap(f"{m.label}: difference from the baseline "
                            f"({display_unit(m.difference_unit(), currency)})", 40))
        better = "higher" if o.direction == "max" else "lower"
        ax.set_title(_wrap(f"{m.label} ({better} is better)", 40))
        _thousands(ax, "x")
        if m.thousands:
            _thousands(ax)
        ax.grid(alpha=0.3)
    axes.flat[0].legend(loc="best")
    fig.suptitle(title)
    return fig


@styled
def lever_tradeoffs(result, search, title: str = "Levers",
                    currency: str = DEFAULT_CURRENCY) -> Figure:
    """The first objective against each lever's value over the search's candidates."""
    levers = list(search.levers)
    o = search.objectives[0]
    m = _declared(o.metric)
    n = max(len(levers), 1)
    cols = min(3, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=SLIDE, squeeze=False)
    cand = result.candidates[result.candidates["error"] == ""]
    for ax, p in zip(axes.flat, levers, strict=False):
        colour = ["#1f77b4" if f else "#d62728" for f in cand["feasible"]]
        ax.scatter(pd.to_numeric(cand[p.path], errors="coerce"), cand[o.metric] * m.scale,
                   c=colour, s=40, alpha=0.7)
        ax.set_xlabel(_wrap(param_label(p.path), 26))
        ax.set_ylabel(_wrap(f"{m.label}: difference from the baseline", 30))
        if m.thousands:
            _thousands(ax)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(levers):]:
        ax.set_visible(False)
    fig.suptitle(f"{title}: {m.label} of each candidate against each lever "
                 "(blue: within budget and constraints, red: not)",
                 fontweight="bold")
    return fig


def optimise_figures(result, search, out, formats=("png",)) -> list[str]:
    """Write a search's figures into ``out`` (each of ``formats``); their file names."""
    cur = currency_of(result)
    figures = [("pareto_front.png", pareto_front(result, search, currency=cur))]
    try:
        if search.levers:
            figures.append(("levers.png", lever_tradeoffs(result, search, currency=cur)))
    except BaseException:
        plt.close(figures[0][1])
        raise
    return write_figures(figures, out, formats)


# --------------------------------------------------------------------------------------------
# Scenario discovery (results of cxsim.discover)
# --------------------------------------------------------------------------------------------

#: colours of the first and second PRIM box
BOX_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
               "#bcbd22", "#17becf", "#d62728")
_TRUE_COLOUR = "#d62728"
_FALSE_COLOUR = "#9a9a9a"


def _params_text(paths) -> str:
    """Parameter paths for people, comma separated."""
    return ", ".join(param_label(p) for p in paths)


def _clip_label(text: str, most: int = 60) -> str:
    return text if len(text) <= most else text[:most - 1] + "…"


@styled
def discovery_tradeoff(result) -> Figure:
    """PRIM's peeling trajectory: coverage against density, the chosen boxes marked.

    Each dot is a box of the peeling (from the box holding every run, right, towards small
    dense boxes, left), coloured by how many parameters it restricts; a ring marks the step
    chosen, a star the box after pasting and pruning (the box reported).
    """
    import numpy as np

    fig, ax = plt.subplots(figsize=SLIDE)
    traj = result.trajectory
    where = _clip_label(result.where)
    top = int(traj["restricted"].max()) if len(traj) else 1
    cmap = matplotlib.colormaps["viridis"].resampled(max(top + 1, 2))
    scatter = None
    for b, sub in traj.groupby("box", sort=True):
        colour = BOX_COLOURS[(int(b) - 1) % len(BOX_COLOURS)]
        ax.plot(sub["coverage"], sub["density"], color=colour, lw=1.2, alpha=0.6,
                label=f"peeling of box {b}")
        scatter = ax.scatter(sub["coverage"], sub["density"], c=sub["restricted"], cmap=cmap,
                             vmin=-0.5, vmax=max(top, 1) + 0.5, s=70, zorder=3,
                             edgecolors="none")
        chosen = sub[sub["chosen"].astype(bool)]
        ax.scatter(chosen["coverage"], chosen["density"], s=220, facecolors="none",
                   edgecolors=colour, linewidths=2, zorder=4)
        boxes = [x for x in result.boxes if x.number == int(b)]
        if boxes:
            box = boxes[0]
            start = int(sub["n_interesting"].iloc[0]) or 1
            cov = box.n_interesting / start
            ax.scatter([cov], [box.density], marker="*", s=380, color=colour,
                       edgecolors="black", zorder=5)
            ax.annotate(f"box {box.number}: coverage {100 * box.coverage:.0f} %, density "
                        f"{100 * box.density:.0f} %\n"
                        + _clip_label(_params_text(box.restricted), 70),
                        (cov, box.density), xytext=(0.03, 0.62 - 0.13 * (box.number - 1)),
                        textcoords="axes fraction", color=colour,
                        fontweight="bold", va="top",
                        arrowprops={"arrowstyle": "->", "color": colour, "lw": 1.2})
    if scatter is not None:
        cbar = fig.colorbar(scatter, ax=ax, shrink=0.85, ticks=np.arange(0, max(top, 1) + 1))
        cbar.set_label("parameters restricted")
    handles, labels = ax.get_legend_handles_labels()
    handles += [Line2D([], [], marker="o", ls="", markerfacecolor="none",
                       markeredgecolor="black", ms=12, label="step chosen"),
                Line2D([], [], marker="*", ls="", color="black", ms=14,
                       label="box reported (pasted, pruned)")]
    ax.legend(handles=handles, loc="lower left")
    ax.set_xlim(-0.02, 1.04)
    ax.set_ylim(-0.02, 1.04)
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_xlabel(f"coverage: share of the runs with {where} inside the box")
    ax.set_ylabel(f"density: share of the box's runs with {where}")
    ax.grid(alpha=0.3)
    ax.set_title(f"Where {where}: PRIM's coverage and density, box by box",
                 fontweight="bold")
    return fig


def _discovery_params(result) -> list[str]:
    """Inputs in order of importance: the feature scores, else the order given."""
    order = list(result.scores["parameter"]) if len(result.scores) else []
    return [p for p in order if p in result.inputs] + [p for p in result.inputs
                                                        if p not in order]


@styled
def discovery_limits(result) -> Figure:
    """Each box's limits drawn over the full range of every parameter it restricts."""
    import numpy as np

    restricted = {p for box in result.boxes for p in box.restricted}
    params = [p for p in _discovery_params(result) if p in restricted] or list(result.inputs)
    n = len(params)
    fig, ax = plt.subplots(figsize=SLIDE)
    k = max(len(result.boxes), 1)
    offsets = 0.16 * (np.arange(k) - (k - 1) / 2)[::-1]
    table = result.table
    for row, p in enumerate(params):
        y = n - 1 - row
        ax.plot([0, 1], [y, y], color="#cccccc", lw=10, solid_capstyle="butt", zorder=1)
        if p in result.categorical:
            cats = sorted(table[p].astype(str).unique(), key=_category_order)
            xs = np.linspace(0.05, 0.95, len(cats)) if len(cats) > 1 else np.array([0.5])
            for x, c in zip(xs, cats, strict=True):
                ax.text(x, y - 0.3, c, ha="center", va="top", color="#555555")
            for box, off in zip(result.boxes, offsets, strict=False):
                if p not in box.restricted:
                    continue
                kept = [x for x, c in zip(xs, cats, strict=True) if c in box.limits[p]]
                ax.scatter(kept, [y + off] * len(kept), s=140, marker="s",
                           color=BOX_COLOURS[(box.number - 1) % len(BOX_COLOURS)], zorder=3)
            continue
        v = table[p].to_numpy(dtype=float)
        lo, hi = float(np.min(v)), float(np.max(v))
        span = hi - lo if hi > lo else 1.0
        levels = np.unique(v)
        if len(levels) <= 12:  # a grid: its values as ticks
            ax.scatter((levels - lo) / span, [y] * len(levels), marker="|", s=260,
                       color="#888888", zorder=2)
        ax.text(-0.015, y, _range_text(lo, span), ha="right", va="center",
                color="#555555")
        ax.text(1.015, y, _range_text(hi, span), ha="left", va="center",
                color="#555555")
        for box, off in zip(result.boxes, offsets, strict=False):
            if p not in box.restricted:
                continue
            a, b = box.limits[p]
            colour = BOX_COLOURS[(box.number - 1) % len(BOX_COLOURS)]
            xa, xb = (a - lo) / span, (b - lo) / span
            ax.plot([xa, xb], [y + off, y + off], color=colour, lw=7, solid_capstyle="butt",
                    zorder=3)
            if xb - xa < 0.02:  # one value of a grid
                ax.scatter([(xa + xb) / 2], [y + off], s=140, marker="s", color=colour,
                           zorder=3)
            above = off >= 0  # the first box's labels above its bar, the others' below
            ty, va = (y + off + 0.08, "bottom") if above else (y + off - 0.08, "top")
            if a > lo:
                ax.text(xa, ty, f"≥ {a:.4g}", ha="center", va=va, color=colour,
                        fontweight="bold")
            if b < hi:
                ax.text(xb, ty, f"≤ {b:.4g}", ha="center", va=va, color=colour,
                        fontweight="bold")
    ax.set_yticks(range(n), [_wrap(param_label(p), 24) for p in params[::-1]])
    ax.set_xticks([])
    ax.set_xlim(-0.1, 1.1)
    ax.set_ylim(-0.7, n - 0.3)
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    handles = [Line2D([], [], color=BOX_COLOURS[(b.number - 1) % len(BOX_COLOURS)], lw=7,
                      label=f"box {b.number}: coverage {100 * b.coverage:.0f} %, density "
                            f"{100 * b.density:.0f} %, {b.n:,} runs")
               for b in result.boxes]
    handles.append(Line2D([], [], color="#cccccc", lw=7, label="the parameter's full range"))
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 2),
               frameon=False)
    title = (f"Where {_clip_label(result.where)}: the boxes' limits" if result.boxes
             else f"{_clip_label(result.where)}: no box found (full ranges)")
    ax.set_title(title)
    return fig


def _range_text(v: float, span: float) -> str:
    """An end of a parameter's range, to three significant digits of the range."""
    import math

    digits = max(0, 3 - round(math.log10(span))) if span > 0 else 3
    text = f"{v:,.{digits}f}"
    return text.rstrip("0").rstrip(".") if digits else text


def _category_order(v: str):
    try:
        return (0, float(v), v)
    except ValueError:
        return (1, 0.0, v)


def _axis_values(table: pd.DataFrame, name: str, categorical: bool, rng) -> tuple:
    """Positions of the rows on an axis (jittered when few values), ticks, intervals fn."""
    import numpy as np

    if categorical:
        values = table[name].astype(str)
        cats = sorted(values.unique(), key=_category_order)
        index = {c: k for k, c in enumerate(cats)}
        pos = values.map(index).to_numpy(dtype=float)
        pos = pos + rng.uniform(-0.3, 0.3, len(pos))

        def spans(lim):
            return [(index[c] - 0.4, index[c] + 0.4) for c in lim if c in index]
        return pos, (list(range(len(cats))), cats), spans, (-0.6, len(cats) - 0.4)
    v = table[name].to_numpy(dtype=float)
    lo, hi = float(np.min(v)), float(np.max(v))
    span = hi - lo if hi > lo else 1.0
    levels = np.unique(v)
    jitter = 0.0
    if len(levels) <= 12:
        gap = np.min(np.diff(levels)) if len(levels) > 1 else span
        jitter = 0.3 * gap
        v = v + rng.uniform(-jitter, jitter, len(v))

    def spans(lim):
        return [(lim[0] - jitter, lim[1] + jitter)]
    pad = 0.04 * span + jitter
    return v, None, spans, (lo - pad, hi + pad)


@styled
def discovery_pairs(result) -> Figure:
    """The runs over the two most important inputs, the condition in colour, the boxes drawn.

    Inputs with few values (a grid) are jittered so every run shows; with one input only,
    the vertical axis is the first number the condition names.
    """
    import numpy as np

    rng = np.random.default_rng(0)
    table, y = result.table, np.asarray(result.interesting, dtype=bool)
    params = _discovery_params(result)
    fig, ax = plt.subplots(figsize=SLIDE)
    x_name = params[0]
    xs, xticks, xspans, xlim = _axis_values(table, x_name, x_name in result.categorical, rng)
    if len(params) >= 2:
        y_name = params[1]
        ys, yticks, yspans, ylim = _axis_values(table, y_name, y_name in result.categorical,
                                                rng)
    else:
        numbers = [c for c in result.names if c in table
                   and pd.api.types.is_numeric_dtype(table[c])]
        y_name = numbers[0] if numbers else x_name
        ys, yticks, yspans, ylim = _axis_values(table, y_name, False, rng)
    size = 45 if len(table) <= 2_000 else 12
    ax.scatter(xs[~y], ys[~y], s=size, color=_FALSE_COLOUR, alpha=0.45, edgecolors="none",
               label=f"not {_clip_label(result.where, 40)} ({int((~y).sum()):,})",
               rasterized=len(table) > 5_000)
    ax.scatter(xs[y], ys[y], s=size, color=_TRUE_COLOUR, alpha=0.7, edgecolors="none",
               label=f"{_clip_label(result.where, 40)} ({int(y.sum()):,})",
               rasterized=len(table) > 5_000)
    for box in result.boxes:
        colour = BOX_COLOURS[(box.number - 1) % len(BOX_COLOURS)]
        if x_name not in box.restricted and y_name not in box.restricted:
            ax.plot([], [], color=colour, lw=2.4,
                    label=f"box {box.number} ({_params_text(box.restricted)}): not on these "
                          "axes")
            continue
        xr = xspans(box.limits[x_name]) if x_name in box.restricted else [xlim]
        if y_name in box.limits:
            yr = yspans(box.limits[y_name]) if y_name in box.restricted else [ylim]
        else:
            yr = [ylim]
        first = True
        for xa, xb in xr:
            for ya, yb in yr:
                ax.add_patch(matplotlib.patches.Rectangle(
                    (xa, ya), xb - xa, yb - ya, fill=False, edgecolor=colour, lw=2.4,
                    zorder=4, label=(f"box {box.number} ({_params_text(box.restricted)})"
                                     if first else None)))
                first = False
    if xticks is not None:
        ax.set_xticks(*xticks)
    if yticks is not None:
        ax.set_yticks(*yticks)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel(param_label(x_name))
    ax.set_ylabel(param_label(y_name))
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=min(len(handles), 2),
               frameon=False)
    ax.set_title(f"Where {_clip_label(result.where)}: the runs over "
                 f"{'the two most important inputs' if len(params) >= 2 else 'the input'}")
    return fig


def discovery_figures(result) -> list[tuple[str, Figure]]:
    """A discovery's figures as ``(file name, figure)`` pairs."""
    figures = []
    try:
        figures.append(("discovery_tradeoff.png", discovery_tradeoff(result)))
        figures.append(("discovery_limits.png", discovery_limits(result)))
        figures.append(("discovery_pairs.png", discovery_pairs(result)))
    except BaseException:
        for _, fig in figures:
            plt.close(fig)
        raise
    return figures


# --------------------------------------------------------------------------------------------
# Proactive retention (cxsim.retention)
# --------------------------------------------------------------------------------------------


@styled
def retention_value(result, title: str = "", currency: str = DEFAULT_CURRENCY,
                    offer_cost: float | None = None) -> Figure:
    """What a churn model's discrimination is worth: a contact's value and churn, by AUC.

    One point per ``proactive_retention`` strategy of a comparison (``result``, a
    :class:`cxsim.compare.ComparisonResult`) at the expected AUC of its score (mean over the
    replications).  Left: what a contact is worth before its cost (the paired profit
    difference against the baseline plus the intervention cost, per contact: the offer cost
    at which outreach breaks even) with its 95 % interval, against the ``offer_cost`` paid:
    outreach pays where the points are above that line.  Right: the churned customers
    prevented (baseline minus strategy) with their interval, beside the offers' expected
    saves.  The perfect score (the true hazard) has the oracle's AUC, the most any score
    reaches (churn is a coin flip even for it).
    """
    from .retention import comparison_table

    t = comparison_table(result).sort_values("auc_model")
    fig, (left, right) = plt.subplots(1, 2, figsize=SLIDE)
    oracle = t["auc_oracle"].iloc[-1]  # the best score's population
    panels = ((left, "value_per_contact", "value_low", "value_high",
               f"what a contact is worth ({currency}):\nprofit gained per contact before "
               "the offer's cost"),
              (right, "prevented", "prevented_low", "prevented_high",
               "customers kept (churned: baseline − strategy)"))
    for ax, col, lo, hi, ylabel in panels:
        ax.axhline(0.0, color=_BASELINE_COLOUR, lw=1.8)
        ax.axvline(oracle, color="#999999", lw=1.2, ls=":")
        ax.errorbar(t["auc_model"], t[col], yerr=[t[col] - t[lo], t[hi] - t[col]], fmt="o-",
                    color="#1f77b4", lw=2.2, ms=9, capsize=5,
                    label="mean and 95 % interval, paired replications")
        ax.set_xlabel("expected AUC of the churn-risk score")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        _thousands(ax)
        ax.annotate("perfect score\n(oracle AUC)", (oracle, 0.02),
                    xycoords=ax.get_xaxis_transform(), textcoords="offset points",
                    xytext=(-6, 0), ha="right", va="bottom", fontsize=11, color="#666666")
    if offer_cost is not None:
        left.axhline(offer_cost, color="#d62728", lw=2.0, ls="--",
                     label=f"offer cost per contact ({currency}{offer_cost:g}): pays above")
        top = max(float(t["value_high"].max()), offer_cost)
        left.set_ylim(top=top * 1.15)
    right.plot(t["auc_model"], t["saves"], "D", color="#ff7f0e", ms=8, mfc="none", mew=2,
               label="expected saves of the offers")
    for ax in (left, right):
        ax.legend(loc="upper left", frameon=True, fontsize=11)
    _suptitle(fig, title or f"{pretty_name(result.scenario)}: what is a churn model worth?", 80)
    return fig


# --------------------------------------------------------------------------------------------
# issue 17, reputation: what a service failure costs through the public rating
# --------------------------------------------------------------------------------------------

_NO_REVIEWS_COLOUR = "#9a9a9a"


@styled
def reputation_cost(on, off, strategy: str, low: float = 0.10, high: float = 0.90,
                    currency: str = DEFAULT_CURRENCY) -> Figure:
    """A failure's cost with the public rating on and off: the rating, new customers, profit.

    ``on`` and ``off`` are :class:`cxsim.compare.ComparisonResult` s of the same strategy
    against the baseline on the same seeds, with ``[reputation]`` enabled and not.  Left: the
    rating of the baseline and of ``strategy`` (median and 10–90 % band).  Middle and right:
    the strategy's cumulative paired difference from its baseline in new customers and in
    profit, with the rating on and off (mean and band); the gap between the two lines is
    what comes through reviews.  Dashed verticals mark the strategy's starts.
    """
    from .compare import cumulative_delta

    colours = strategy_colours(on.strategies)
    c_on = colours[strategy]
    dt = on.tick_days
    fig, axes = plt.subplots(1, 3, figsize=SLIDE)
    ax = axes[0]
    seen: list[float] = []
    for name in (strategy, "baseline"):
        wide = _band_values(on.ticks, name, "rating", "raw")
        d = wide.index.to_numpy() * dt
        if wide.shape[1] >= 2:
            lo, hi = wide.quantile(low, axis=1), wide.quantile(high, axis=1)
            ax.fill_between(d, lo, hi, color=colours[name], alpha=0.15, lw=0)
            seen += [float(lo.min()), float(hi.max())]
        mid = wide.median(axis=1)
        seen += [float(mid.min()), float(mid.max())]
        ax.plot(d, mid, color=colours[name], lw=2.8 if name != "baseline" else 2.0)
    _honest_axis(ax, _declared("rating"), seen)
    ax.set_title("Public rating")
    ax.set_ylabel(_unit(_declared("rating"), currency))
    for ax, column in zip(axes[1:], ("new", "profit"), strict=True):
        ax.axhline(0.0, color=_BASELINE_COLOUR, lw=1.8)
        for result, colour in ((off, _NO_REVIEWS_COLOUR), (on, c_on)):
            wide = cumulative_delta(result.ticks, strategy, column)
            d = wide.index.to_numpy() * dt
            if wide.shape[1] >= 2:
                ax.fill_between(d, wide.quantile(low, axis=1), wide.quantile(high, axis=1),
                                color=colour, alpha=0.15, lw=0)
            ax.plot(d, wide.mean(axis=1), color=colour, lw=2.6)
        m = _declared(column)
        ax.set_title(_wrap(f"{m.label} vs baseline (cumulative)", 28))
        ax.set_ylabel(_wrap(f"difference from baseline, {_unit(m, currency)}", 34))
        _thousands(ax)
    for ax in axes:
        for s in on.starts.get(strategy, []):
            ax.axvline(s * dt, color=c_on, ls="--", lw=1.6, alpha=0.95)
        ax.set_xlabel("day")
    band = f"; bands {low:.0%}–{high:.0%} of replications" if on.replications >= 2 else ""
    shown = pretty_name(strategy)
    shown = shown[:1].upper() + shown[1:]
    handles = [Line2D([], [], color=_BASELINE_COLOUR, lw=2.0, label="Baseline"),
               Line2D([], [], color=c_on, lw=2.6, label=f"{shown}, rating on"),
               Line2D([], [], color=_NO_REVIEWS_COLOUR, lw=2.6,
                      label=f"{shown}, rating off (no reviews read)"),
               Line2D([], [], color=c_on, ls="--", lw=1.4, label="start")]
    fig.legend(handles=handles, loc="outside lower center", ncol=4, frameon=False)
    _suptitle(fig, f"{pretty_name(on.scenario)}: what the {shown.lower()} costs through reviews "
                   f"(mean of {on.replications} paired replications{band})", 80)
    return fig
