"""Figures from results. Every function takes results and returns a matplotlib Figure."""

from __future__ import annotations

import matplotlib
import matplotlib.colors
import matplotlib.pyplot as plt
import matplotlib.ticker
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .vocabulary import BY_NAME, SUM, Metric

#: the metrics of the KPI dashboard's small multiples (titles and units: the vocabulary)
KPI_PANELS: tuple[str, ...] = ("active", "churn_rate", "nps", "csat", "ces", "service_level",
                               "profit", "satisfaction")


def _declared(name: str) -> Metric:
    """The vocabulary's metric, or a plain stand-in for an undeclared column."""
    m = BY_NAME.get(name)
    if m is None:
        m = Metric(name, name, name, name, "stock", SUM, "number", 3)
    return m


def _thousands_wanted(name: str) -> bool:
    m = BY_NAME.get(name)
    return m is not None and m.thousands


def kpi_dashboard(metrics: pd.DataFrame, title: str = "KPI dashboard",
                  tick_days: float = 1.0) -> Figure:
    """Small multiples of the headline KPIs over time (one line per KPI, 7-tick mean dashed).

    ``metrics`` is a run's per-tick table (``model.metrics`` or ``metrics.csv``).
    """
    fig, axes = plt.subplots(2, 4, figsize=(16, 7.5), constrained_layout=True)
    days = metrics["tick"] * tick_days
    for ax, col in zip(axes.flat, KPI_PANELS, strict=True):
        m = _declared(col)
        name, unit, scale = m.tick_title(), m.tick_unit(), m.scale
        y = metrics[col].astype(float) * scale if col in metrics else None
        if y is None or y.isna().all():
            ax.text(0.5, 0.5, "not measured", ha="center", va="center",
                    transform=ax.transAxes, color="grey")
        else:
            ax.plot(days, y, color="#1f77b4", lw=1.0, alpha=0.55, label="per tick")
            ax.plot(days, y.rolling(7, min_periods=1).mean(), color="#1f77b4", lw=2.2,
                    label="7-tick mean")
        ax.set_title(name, fontsize=12, fontweight="bold")
        ax.set_ylabel(unit, fontsize=10)
        ax.set_xlabel("day", fontsize=10)
        ax.grid(alpha=0.3)
    axes.flat[0].legend(loc="best", fontsize=9)
    fig.suptitle(title, fontsize=15, fontweight="bold")
    return fig


def save(fig: Figure, path) -> None:
    """Write a figure as PNG (150 dpi) and close it."""
    fig.savefig(path, dpi=150)
    plt.close(fig)


# --------------------------------------------------------------------------------------------
# Strategy comparisons (results of cxsim.compare)
# --------------------------------------------------------------------------------------------

#: per-tick smoothing of comparison_bands that differs from the rule in :func:`band_panel`
BAND_SMOOTHING = {"churn_rate": 30}


def band_panel(column: str) -> tuple[str, str, float, str]:
    """``(title, unit, scale, transform)`` of a per-tick metric in :func:`comparison_bands`.

    From the vocabulary: money flows are cumulative (``"cumsum"``); a ratio pooled over a
    trailing window (NPS) is pooled over the last 30 ticks (``"nps30"``); stocks are drawn
    as they are (``"raw"``); other flows and ratios as trailing means over 7 ticks
    (``"roll7"``; churn rate over 30, :data:`BAND_SMOOTHING`).
    """
    m = _declared(column)
    agg = m.aggregation
    if m.kind == "flow" and m.fmt == "currency":
        return f"Cumulative {m.label[0].lower()}{m.label[1:]}", m.unit, m.scale, "cumsum"
    if agg.rule == "weighted" and agg.window_days:
        return m.tick_title(), f"{m.unit}, pooled over the last 30 ticks", m.scale, "nps30"
    if m.kind == "stock" and agg.rule == "final":
        return m.tick_title(), m.unit, m.scale, "raw"
    n = BAND_SMOOTHING.get(column, 7)
    return m.tick_title(), f"{m.tick_unit()} ({n}-tick mean)", m.scale, f"roll{n}"


def forest_panel(metric: str) -> tuple[str, str, float]:
    """``(title, unit of the difference, scale)`` of a run figure in :func:`forest_plot`."""
    m = _declared(metric)
    return m.summary_title(), m.difference_unit(), m.scale


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
    target.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _pos: f"{v:,.0f}"))


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


def comparison_bands(result, metrics=("active", "nps", "profit", "churn_rate"),
                     low: float = 0.10, high: float = 0.90,
                     relative: tuple[str, ...] = ("profit",),
                     window: tuple[float, float] | None = None,
                     title: str | None = None) -> Figure:
    """Per strategy, the median over replications and a 10–90 % band, against day.

    One panel per metric of ``result.ticks`` (see :func:`band_panel`: profit, revenue and
    costs are cumulative; noisy survey metrics are trailing means); dashed vertical lines
    mark each strategy's intervention starts in the strategy's colour.  Metrics in
    ``relative`` are drawn as the paired difference from the baseline (same replicate): a
    strategy's cumulative profit differs from the baseline's by a few per cent at most, so
    the levels would overlap, while the cumulative Δprofit shows cost, recovery and payback
    (where it crosses zero for good).  Pass ``relative=()`` for levels everywhere.
    ``window=(first day, last day)`` zooms every panel on those days; ``title`` replaces the
    figure's title (the number of replications is added).
    ``result`` is a :class:`cxsim.compare.ComparisonResult`.
    """
    head = title or f"{result.scenario}: strategies over time"
    metrics = [m for m in metrics if m in result.ticks.columns]
    n = max(1, len(metrics))
    ncols = 1 if n == 1 else (2 if n <= 4 else 3)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(7.5 * ncols, 4.8 * nrows + 0.9),
                             constrained_layout=True, squeeze=False)
    colours = strategy_colours(result.strategies)
    dt = result.tick_days
    for ax, column in zip(axes.flat, metrics, strict=False):
        title, unit, scale, transform = band_panel(column)
        rel = column in relative
        if rel:
            title = f"{title} vs baseline"
            unit = f"strategy − baseline, {unit}"
            base = _band_values(result.ticks, "baseline", column, transform)
            ax.axhline(0.0, color=colours.get("baseline", _BASELINE_COLOUR), lw=2.0)
        # strategies first, the baseline last (on top): before a strategy's first
        # intervention its runs are the baseline's, and the plot shows them as the baseline
        order = [n for n in result.strategies if n != "baseline"]
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
            lo = wide.quantile(low, axis=1).to_numpy()
            mid = wide.median(axis=1).to_numpy()
            hi = wide.quantile(high, axis=1).to_numpy()
            c = colours[name]
            ax.fill_between(days, lo, hi, color=c, alpha=0.15, lw=0)
            ax.plot(days, mid, color=c, lw=2.6 if name != "baseline" else 1.8,
                    ls="-", label=name)
        _start_lines(ax, result, colours, dt)
        if window is not None:
            ax.set_xlim(*window)
        ax.set_title(title, fontsize=14, fontweight="bold")
        ax.set_ylabel(unit, fontsize=12)
        ax.set_xlabel("day", fontsize=12)
        ax.tick_params(labelsize=11)
        ax.grid(alpha=0.3)
        if _thousands_wanted(column):
            _thousands(ax)
    for ax in list(axes.flat)[len(metrics):]:
        ax.set_visible(False)
    handles = [Line2D([], [], color=colours[s], lw=2.6, label=s) for s in result.strategies]
    handles += [Patch(facecolor="#888888", alpha=0.3, label=f"{low:.0%}–{high:.0%} of "
                      "replications"),
                Line2D([], [], color="#888888", ls="--", lw=1.4, label="intervention start")]
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 6),
               fontsize=12, frameon=False)
    fig.suptitle(f"{head} (median of {result.replications} paired replications)",
                 fontsize=16, fontweight="bold")
    return fig


def forest_plot(result, metrics=("churned", "monthly_churn", "nps", "csat", "service_level",
                                 "profit")) -> Figure:
    """Paired differences strategy − baseline with 95 % intervals, one panel per metric.

    Each panel shows every strategy's mean paired difference (dot) and its 95 % t-interval
    (bar) with a line at zero: an interval clear of zero is a difference the replications
    resolve.  ``result`` is a :class:`cxsim.compare.ComparisonResult`.
    """
    table = result.table
    names = [s for s in result.strategies if s != "baseline"]
    metrics = [m for m in metrics if m in set(table["metric"])]
    n = max(1, len(metrics))
    ncols = min(3, n)
    nrows = -(-n // ncols)
    height = max(2.8, 0.75 * len(names) + 1.8)
    fig, axes = plt.subplots(nrows, ncols, figsize=(6.2 * ncols + 1.5, height * nrows + 0.8),
                             constrained_layout=True, squeeze=False, sharey=True)
    colours = strategy_colours(result.strategies)
    ypos = {name: len(names) - 1 - k for k, name in enumerate(names)}
    for ax, metric in zip(axes.flat, metrics, strict=False):
        title, unit, scale = forest_panel(metric)
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
                ax.plot([lo, hi], [y, y], color=c, lw=3.0, solid_capstyle="butt")
                ax.plot([lo, lo], [y - 0.15, y + 0.15], color=c, lw=2.0)
                ax.plot([hi, hi], [y - 0.15, y + 0.15], color=c, lw=2.0)
            if pd.notna(d):
                ax.plot([d], [y], "o", color=c, ms=10, mec="white", mew=1.2)
        ax.axvline(0.0, color="black", lw=1.2, ls="-", alpha=0.8)
        ax.set_title(title, fontsize=13, fontweight="bold")
        ax.set_xlabel(f"strategy − baseline ({unit})", fontsize=11)
        ax.tick_params(labelsize=11)
        ax.grid(axis="x", alpha=0.3)
        ax.margins(x=0.12)
        if _thousands_wanted(metric):
            _thousands(ax, "x")
    for ax in list(axes.flat)[len(metrics):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_yticks(list(ypos.values()), list(ypos.keys()), fontsize=12)
        ax.set_ylim(-0.7, len(names) - 0.3)
    fig.suptitle(f"{result.scenario}: difference from baseline, mean and 95 % interval of "
                 f"{result.replications} paired replications", fontsize=15, fontweight="bold")
    return fig


# --------------------------------------------------------------------------------------------
# Sweeps (results of cxsim.sweep)
# --------------------------------------------------------------------------------------------

def outcome_label(outcome: str) -> tuple[str, str, float]:
    """``(title, unit, scale)`` of a run figure (a sweep outcome) from the vocabulary."""
    m = _declared(outcome)
    return m.summary_title(), m.unit, m.scale


def _value_text(v: float, outcome: str) -> str:
    if _thousands_wanted(outcome) or abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.3g}" if abs(v) < 10 else f"{v:.1f}"


def _level_text(v) -> str:
    return f"{v:g}" if _is_number(v) else str(v)


def _done(runs: pd.DataFrame) -> pd.DataFrame:
    return runs[runs["status"] == "done"] if "status" in runs else runs


def sweep_heatmap(runs: pd.DataFrame, x: str, y: str,
                  outcomes=("monthly_churn", "nps", "profit"), title: str = "") -> Figure:
    """Heatmaps of outcomes over two swept parameters, one panel per outcome.

    Each cell is the mean over the cell's finished runs (replications, and any other swept
    parameter), written in the cell; the colour bar carries the outcome's unit.  ``runs`` is
    a sweep's runs table (:attr:`cxsim.sweep.SweepResult.runs` or ``runs.parquet``).
    """
    ok = _done(runs)
    outcomes = [o for o in outcomes if o in ok]
    n = max(1, len(outcomes))
    xs = sorted(ok[x].unique(), key=_sort_key)
    ys = sorted(ok[y].unique(), key=_sort_key)
    width = max(5.5, 0.9 * len(xs) + 3.0)
    fig, axes = plt.subplots(1, n, figsize=(width * n, max(4.2, 0.6 * len(ys) + 2.8)),
                             constrained_layout=True, squeeze=False)
    per_cell = ok.groupby([y, x]).size()
    for ax, outcome in zip(axes.flat, outcomes, strict=False):
        name, unit, scale = outcome_label(outcome)
        grid = (ok.groupby([y, x])[outcome].mean().unstack(x)
                  .reindex(index=ys, columns=xs) * scale)
        values = grid.to_numpy(dtype=float)
        im = ax.imshow(values, origin="lower", aspect="auto", cmap="viridis")
        finite = values[pd.notna(values)]
        mid = (finite.min() + finite.max()) / 2 if finite.size else 0.0
        for i in range(len(ys)):
            for j in range(len(xs)):
                v = values[i, j]
                if pd.notna(v):
                    ax.text(j, i, _value_text(v, outcome), ha="center", va="center", fontsize=10,
                            color="white" if v < mid else "black")
        ax.set_xticks(range(len(xs)), [_level_text(v) for v in xs], fontsize=11)
        ax.set_yticks(range(len(ys)), [_level_text(v) for v in ys], fontsize=11)
        ax.set_xlabel(x, fontsize=12)
        ax.set_ylabel(y, fontsize=12)
        ax.set_title(name, fontsize=13, fontweight="bold")
        cbar = fig.colorbar(im, ax=ax, shrink=0.9)
        cbar.set_label(unit, fontsize=11)
        if _thousands_wanted(outcome):
            cbar.formatter = matplotlib.ticker.FuncFormatter(lambda v, _pos: f"{v:,.0f}")
            cbar.update_ticks()
    lo, hi = (int(per_cell.min()), int(per_cell.max())) if len(per_cell) else (0, 0)
    count = f"{lo}" if lo == hi else f"{lo}–{hi}"
    fig.suptitle(f"{title + ': ' if title else ''}mean of {count} runs per cell",
                 fontsize=15, fontweight="bold")
    return fig


def _is_number(v) -> bool:
    return pd.api.types.is_number(v) and not pd.api.types.is_bool(v)


def _sort_key(v):
    return (0, float(v), "") if _is_number(v) else (1, 0.0, str(v))


def sweep_lines(runs: pd.DataFrame, x: str, outcomes=("monthly_churn", "nps", "profit"),
                by: str | None = None, title: str = "") -> Figure:
    """Outcomes against one swept parameter: mean and 95 % interval over runs at each value.

    ``by`` draws one line per value of a second parameter (e.g. ``strategy``).
    """
    from .compare import mean_interval

    ok = _done(runs)
    outcomes = [o for o in outcomes if o in ok]
    n = max(1, len(outcomes))
    fig, axes = plt.subplots(1, n, figsize=(6.0 * n, 4.8), constrained_layout=True,
                             squeeze=False)
    groups = [(None, ok)] if by is None else list(ok.groupby(by, sort=False))
    colours = strategy_colours([str(g) for g, _ in groups])
    numeric = all(_is_number(v) for v in ok[x].unique())
    levels = sorted(ok[x].unique(), key=_sort_key)
    pos = {v: (float(v) if numeric else k) for k, v in enumerate(levels)}
    for ax, outcome in zip(axes.flat, outcomes, strict=False):
        name, unit, scale = outcome_label(outcome)
        for g, sub in groups:
            xs, mids, los, his = [], [], [], []
            for v in levels:
                m, lo, hi, _se, _n = mean_interval(sub.loc[sub[x] == v, outcome])
                xs.append(pos[v])
                mids.append(m * scale)
                los.append(lo * scale)
                his.append(hi * scale)
            c = colours[str(g)] if g is not None else "#1f77b4"
            ax.fill_between(xs, los, his, color=c, alpha=0.18, lw=0)
            ax.plot(xs, mids, "o-", color=c, lw=2.2, ms=6, label=str(g) if g is not None
                    else "mean")
        if not numeric:
            ax.set_xticks(list(pos.values()), [str(v) for v in levels])
        ax.set_title(name, fontsize=13, fontweight="bold")
        ax.set_xlabel(x, fontsize=11)
        ax.set_ylabel(unit, fontsize=11)
        ax.grid(alpha=0.3)
        if _thousands_wanted(outcome):
            _thousands(ax)
    handles = [Line2D([], [], color=colours[str(g)] if g is not None else "#1f77b4", lw=2.2,
                      marker="o", label=str(g) if g is not None else "mean over runs")
               for g, _ in groups]
    handles.append(Patch(facecolor="#888888", alpha=0.3, label="95 % interval"))
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 6),
               fontsize=11, frameon=False, title=by)
    fig.suptitle(title or "Sweep", fontsize=15, fontweight="bold")
    return fig


def sweep_scatter(runs: pd.DataFrame, params, outcome: str = "monthly_churn",
                  title: str = "") -> Figure:
    """One outcome against each sampled parameter (e.g. a Latin hypercube), run by run."""
    ok = _done(runs)
    params = list(params)
    n = max(1, len(params))
    ncols = min(3, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.5 * ncols, 4.3 * nrows + 0.6),
                             constrained_layout=True, squeeze=False, sharey=True)
    name, unit, scale = outcome_label(outcome)
    for ax, p in zip(axes.flat, params, strict=False):
        ax.scatter(ok[p], ok[outcome] * scale, s=18, alpha=0.6, color="#1f77b4")
        ax.set_xlabel(p, fontsize=11)
        ax.grid(alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel(unit, fontsize=11)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    fig.suptitle(f"{title + ': ' if title else ''}{name}, one dot per run", fontsize=15,
                 fontweight="bold")
    return fig


def sensitivity_bars(table: pd.DataFrame, outcomes=None, title: str = "") -> Figure:
    """Sensitivity indices per parameter, one panel per outcome, with 95 % intervals.

    Sobol' tables show the first-order index S1 (the share of the outcome's variance a
    parameter explains alone) and the total index ST (including its interactions); Morris
    tables show μ* (the mean absolute effect of moving the parameter across its range) with
    σ (how much that effect depends on the other parameters).
    """
    sobol = "ST" in table
    outcomes = list(outcomes) if outcomes is not None else list(dict.fromkeys(table["outcome"]))
    n = max(1, len(outcomes))
    ncols = min(3, n)
    nrows = -(-n // ncols)
    params = list(dict.fromkeys(table["parameter"]))
    label_width = 0.09 * max(len(p) for p in params) if params else 1.0
    fig, axes = plt.subplots(nrows, ncols,
                             figsize=(5.2 * ncols + label_width + 0.5,
                                      (0.55 * len(params) + 1.8) * nrows + 1.0),
                             constrained_layout=True, squeeze=False, sharey=True)
    for ax, outcome in zip(axes.flat, outcomes, strict=False):
        sub = table[table["outcome"] == outcome].set_index("parameter").reindex(params)
        name, unit, scale = outcome_label(outcome)
        y = list(range(len(params)))[::-1]
        if sub[("ST" if sobol else "mu_star")].isna().all():
            note = sub["note"].dropna().iloc[0] if "note" in sub and sub["note"].notna().any() \
                else "no estimate"
            ax.text(0.5, 0.5, f"n/a: {note}", ha="center", va="center", transform=ax.transAxes,
                    color="grey", fontsize=11)
        elif sobol:
            for col, off, colour, label in (("S1", 0.18, "#1f77b4", "first order S1"),
                                            ("ST", -0.18, "#ff7f0e", "total ST")):
                v = sub[col].to_numpy(dtype=float)
                err = [v - sub[f"{col}_ci_low"].to_numpy(dtype=float),
                       sub[f"{col}_ci_high"].to_numpy(dtype=float) - v]
                ax.barh([k + off for k in y], v, height=0.34, color=colour, label=label,
                        xerr=err, capsize=3, error_kw={"lw": 1.2})
            ax.axvline(0, color="black", lw=0.8)
            ax.set_xlabel("share of output variance", fontsize=11)
        else:
            v = sub["mu_star"].to_numpy(dtype=float) * scale
            err = [v - sub["mu_star_ci_low"].to_numpy(dtype=float) * scale,
                   sub["mu_star_ci_high"].to_numpy(dtype=float) * scale - v]
            ax.barh(y, v, height=0.5, color="#1f77b4", label="μ* (mean |effect|)", xerr=err,
                    capsize=3)
            ax.plot(sub["sigma"].to_numpy(dtype=float) * scale, y, "D", color="#d62728",
                    ms=7, label="σ (interactions)")
            ax.set_xlabel(f"effect over the parameter's range ({unit})", fontsize=11)
        ax.set_yticks(y, params, fontsize=11)
        ax.set_title(name if len(name) <= 34 else name.replace(", ", ",\n", 1), fontsize=13,
                     fontweight="bold")
        ax.grid(axis="x", alpha=0.3)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncol=len(handles) + 1,
                   fontsize=11, frameon=False)
    method = "Sobol' indices" if sobol else "Morris elementary effects"
    fig.suptitle(f"{title + ': ' if title else ''}{method}, 95 % intervals", fontsize=15,
                 fontweight="bold")
    return fig


def sweep_figures(result) -> list[tuple[str, Figure]]:
    """The figures that fit a sweep's results, as ``(file name, figure)`` pairs.

    Sobol/Morris: sensitivity bars.  Grid: a heatmap over the first two varied parameters
    (lines per value of a categorical second parameter such as ``strategy``), or lines for
    one.  Latin hypercube: scatter plots of churn and profit against every parameter.
    """
    plan = result.plan
    title = plan.scenario.name
    kind = plan.design.kind
    runs = result.runs
    varied = [p.path for p in plan.design.varied]
    if kind in ("sobol", "morris") and result.sensitivity is not None:
        return [("sensitivity.png", sensitivity_bars(result.sensitivity, title=title))]
    if kind == "lhs":
        return [(f"sweep_scatter_{o}.png", sweep_scatter(runs, varied, o, title=title))
                for o in ("monthly_churn", "profit") if o in runs]
    if len(varied) >= 2:
        x, y = varied[0], varied[1]
        numeric = all(_is_number(v) for v in _done(runs)[y].unique())
        if not numeric:
            return [("sweep_lines.png", sweep_lines(runs, x, by=y, title=title))]
        return [("sweep_heatmap.png", sweep_heatmap(runs, x, y, title=title))]
    if len(varied) == 1:
        return [("sweep_lines.png", sweep_lines(runs, varied[0], title=title))]
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


def journey_map(touchpoints: pd.DataFrame, title: str = "Journey map") -> Figure:
    """Touchpoints by journey stage (x) and channel (y), coloured by mean experience.

    Each circle is a touchpoint: its area is its volume of contacts over the run, its
    colour the volume-weighted mean experience (performance, 0–1) customers had there.
    Touchpoints nobody used (e.g. a channel not launched yet) are hollow.  ``touchpoints`` is
    a run's per-touchpoint table (``model.touchpoint_metrics`` or ``touchpoints.csv``).
    """
    g = _touchpoint_totals(touchpoints)
    stages = [s for s in STAGE_ORDER if s in set(g["stage"])]
    stages += sorted(set(g["stage"]) - set(stages))
    channels = list(dict.fromkeys(g["channel"]))
    fig, ax = plt.subplots(figsize=(max(11.0, 2.3 * len(stages) + 2.5),
                                    0.95 * len(channels) + 2.6), constrained_layout=True)
    used = g[g["volume"] > 0]
    vmax = float(used["volume"].max()) if len(used) else 1.0
    lo = float(used["experience"].min()) if len(used) else 0.0
    hi = float(used["experience"].max()) if len(used) else 1.0
    norm = matplotlib.colors.Normalize(vmin=min(lo, hi - 0.05), vmax=max(hi, lo + 0.05))
    cmap = plt.get_cmap("RdYlGn")
    biggest = 2600.0  # points² of the busiest touchpoint's circle
    for (stage, channel), cell in g.groupby(["stage", "channel"], sort=False):
        x0, y = stages.index(stage), channels.index(channel)
        k = len(cell)
        for i, (name, r) in enumerate(cell.iterrows()):
            x = x0 + (i - (k - 1) / 2) * 0.5
            if r["volume"] > 0:
                size = max(50.0, biggest * r["volume"] / vmax)
                ax.scatter([x], [y], s=size, color=cmap(norm(r["experience"])),
                           edgecolor="black", linewidth=0.8, zorder=3)
                label = f"{name}\n{r['volume']:,.0f} · {r['experience']:.2f}"
            else:
                size = 150.0
                ax.scatter([x], [y], s=size, facecolor="none", edgecolor=_NEUTRAL,
                           linewidth=1.2, linestyle="--", zorder=3)
                label = f"{name}\nnot used"
            ax.annotate(label, (x, y), xytext=(size ** 0.5 / 2 + 5, 0),
                        textcoords="offset points", ha="left", va="center", fontsize=9.5,
                        zorder=4)
    ax.set_xticks(range(len(stages)), stages, fontsize=12)
    ax.set_yticks(range(len(channels)), channels, fontsize=12)
    ax.set_xlim(-0.4, len(stages) - 0.2)
    ax.set_ylim(-0.6, len(channels) - 0.4)
    ax.invert_yaxis()
    ax.set_xlabel("journey stage", fontsize=12)
    ax.set_ylabel("channel", fontsize=12)
    ax.grid(alpha=0.25)
    sm = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
    cbar = fig.colorbar(sm, ax=ax, shrink=0.8, pad=0.01)
    cbar.set_label("mean experience (performance, 0–1)", fontsize=11)
    handles = [Line2D([], [], ls="", marker="o", markersize=max(50.0, biggest * f) ** 0.5,
                      markerfacecolor="#cccccc", markeredgecolor="black",
                      label=f"{vmax * f:,.0f} contacts") for f in (1.0, 0.25, 0.05)]
    fig.legend(handles=handles, loc="outside lower center", ncol=3, fontsize=11,
               title="circle area = contacts over the run", frameon=False,
               columnspacing=3.0, handleheight=3.2, borderpad=0.9)
    fig.suptitle(f"{title}: touchpoints by stage and channel (labels: contacts · mean "
                 "experience)", fontsize=14, fontweight="bold")
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


def flow_diagram(flows: pd.DataFrame, title: str = "Episode flows",
                 min_share: float = 0.002) -> Figure:
    """Sankey-style diagram of how service episodes move between touchpoints.

    Left to right: needs enter at touchpoints, move on (escalations and hand-offs) and end
    resolved or unresolved; bands take the colour of the node they leave, except that
    episodes ending unresolved are red.
    Band widths are numbers of episodes over the run; a touchpoint's bar is its volume.
    Moves below ``min_share`` of all episodes are left out for legibility.  ``flows`` is
    ``model.flow_metrics`` or ``flows.csv`` (``source, target, episodes``).
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
    gap = 0.04 * total
    height = max(sum(size[n] for n in col) + gap * (len(col) - 1) for col in columns.values())
    tab20 = plt.get_cmap("tab20").colors  # without its greens, reds and greys: those mean
    palette = [tab20[i] for i in (0, 2, 8, 10, 12, 16, 18, 1, 3, 9, 11, 13, 17, 19)]
    colour = {n: palette[k % len(palette)] for k, n in enumerate(tps)}  # resolved/unresolved
    colour.update({"need": "#4c72b0", "resolved": _GOOD, "unresolved": _BAD})
    width = 0.12
    ncols = last + 1
    fig, ax = plt.subplots(figsize=(max(12.0, 2.4 * ncols + 2), 8.5), constrained_layout=True)
    top: dict[str, float] = {}
    for c, col in columns.items():
        used = sum(size[n] for n in col) + gap * (len(col) - 1)
        y = (height + used) / 2  # centre the column
        for n in col:
            top[n] = y
            ax.add_patch(matplotlib.patches.Rectangle((c - width / 2, y - size[n]), width,
                                                      size[n], color=colour[n], zorder=2))
            label = {"need": "needs arise", "resolved": "resolved",
                     "unresolved": "unresolved"}.get(n, n)
            ha, dx = ("right", -width) if c == 0 else ("left", width * 0.75)
            ax.text(c + dx, y - size[n] / 2, f"{label}\n{size[n]:,.0f}", ha=ha,
                    va="center", fontsize=10, zorder=4,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none",
                          "alpha": 0.75})
            y -= size[n] + gap
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
    ax.set_xticks(range(ncols), ["need"] + [f"step {k}" for k in range(1, last)] + ["end"],
                  fontsize=11)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel("touchpoints in the order episodes reach them (band width = episodes)",
                  fontsize=11)
    resolved = float(f.loc[f["target"] == "resolved", "episodes"].sum())
    fig.suptitle(f"{title}: {total:,.0f} service episodes, {resolved / total:.0%} resolved",
                 fontsize=14, fontweight="bold")
    return fig


def nps_split(metrics: pd.DataFrame, title: str = "NPS", tick_days: float = 1.0) -> Figure:
    """Promoters, passives and detractors among active customers over time, and the NPS.

    Top: stacked shares of the active customers whose likelihood to recommend is 9–10, 7–8
    and 0–6 (the whole customer base, not only survey respondents).  Bottom: the resulting
    NPS (promoters − detractors) and, dotted, the survey's NPS pooled over 30 ticks.
    """
    days = metrics["tick"] * tick_days
    active = metrics["active"].astype(float).where(metrics["active"] > 0)
    prom = metrics["promoters"] / active * 100
    det = metrics["detractors"] / active * 100
    pas = 100 - prom - det
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(12, 8), sharex=True, constrained_layout=True,
                                  gridspec_kw={"height_ratios": [2, 1]})
    ax.stackplot(days, det, pas, prom, colors=[_BAD, "#bbbbbb", _GOOD], alpha=0.8,
                 labels=["detractors (0–6)", "passives (7–8)", "promoters (9–10)"])
    for y, share, label in ((det / 2, det, "detractors"), (det + pas / 2, pas, "passives"),
                            (100 - prom / 2, prom, "promoters")):
        ax.text(float(days.iloc[len(days) // 2]), float(y.iloc[len(y) // 2]),
                f"{label} {share.iloc[-1]:.0f} %", ha="center", va="center", fontsize=12,
                fontweight="bold", color="white" if label != "passives" else "black")
    ax.set_ylim(0, 100)
    ax.set_xlim(float(days.min()), float(days.max()))
    ax.set_ylabel("% of active customers", fontsize=12)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=11, frameon=False,
              reverse=True)
    ax2.plot(days, prom - det, color="black", lw=2.4, label="all customers")
    if {"nps", "nps_respondents"} <= set(metrics.columns):
        resp = metrics["nps_respondents"].astype(float)
        num = (metrics["nps"].fillna(0.0) * resp).rolling(30, min_periods=1).sum()
        den = resp.rolling(30, min_periods=1).sum()
        ax2.plot(days, num / den.where(den > 0), color="black", lw=1.5, ls=":",
                 label="survey (30-tick pooled)")
    ax2.axhline(0, color="grey", lw=0.8)
    ax2.set_ylabel("NPS (−100 to +100)", fontsize=12)
    ax2.set_xlabel("day", fontsize=12)
    ax2.grid(alpha=0.3)
    ax2.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=11, frameon=False,
               title="NPS")
    fig.suptitle(f"{title}: promoters, passives and detractors", fontsize=14,
                 fontweight="bold")
    return fig


def retention_curves(segments: pd.DataFrame, title: str = "Retention",
                     tick_days: float = 1.0) -> Figure:
    """Share of each segment's starting customers still active, against day."""
    fig, ax = plt.subplots(figsize=(11, 6), constrained_layout=True)
    colours = strategy_colours(["_", *dict.fromkeys(segments["segment"])])
    for name, g in segments.groupby("segment", sort=False):
        ax.plot(g["tick"] * tick_days, g["retention"] * 100, lw=2.6, color=colours[name],
                label=name)
        ax.annotate(f"{g['retention'].iloc[-1]:.1%}", (g["tick"].iloc[-1] * tick_days,
                                                        g["retention"].iloc[-1] * 100),
                    xytext=(6, 0), textcoords="offset points", va="center", fontsize=11,
                    color=colours[name])
    ax.set_ylabel("% of the segment's starting customers still active", fontsize=12)
    ax.set_xlabel("day", fontsize=12)
    ax.set_ylim(top=100.5)
    ax.grid(alpha=0.3)
    ax.legend(title="segment", fontsize=11, loc="lower left")
    fig.suptitle(f"{title}: retention curves by segment", fontsize=14, fontweight="bold")
    return fig


def workforce_panel(queues: pd.DataFrame, partners: pd.DataFrame | None = None,
                    title: str = "Employees and partners", tick_days: float = 1.0) -> Figure:
    """Employees per team and partners' on-time rate, against day.

    Per team: service level, occupancy, engagement, attrition (annualised over 90 ticks) and
    head count; 7-tick means where daily values are noisy.  ``queues`` is a run's per-team
    table (``queues.csv``), ``partners`` its per-partner table (``partners.csv``).
    """
    fig, axes = plt.subplots(2, 3, figsize=(17, 9), constrained_layout=True)
    panels = (
        ("service_level", "Service level", "% answered within target (7-tick mean)", 100.0,
         "roll7"),
        ("occupancy", "Agent occupancy", "% of staffed time busy (7-tick mean)", 100.0,
         "roll7"),
        ("engagement", "Engagement", "mean engagement, 0–1", 1.0, "raw"),
        ("attrition", "Attrition", "leavers per year, % of head count (90-tick)", 100.0,
         "attrition"),
        ("headcount", "Head count", "agents on the roster", 1.0, "raw"),
    )
    teams = list(dict.fromkeys(queues["team"])) if len(queues) else []
    colours = strategy_colours(["_", *teams])
    for ax, (col, name, unit, scale, how) in zip(axes.flat, panels, strict=False):
        for team in teams:
            g = queues[queues["team"] == team]
            days = g["tick"] * tick_days
            if how == "attrition":
                leavers = g["leavers"].astype(float).rolling(90, min_periods=1).sum()
                years = (g["tick"].clip(upper=90) * tick_days) / 365.0
                y = leavers / g["headcount"].astype(float).clip(lower=1) / years
            elif how == "roll7":
                y = g[col].astype(float).rolling(7, min_periods=1).mean()
            else:
                y = g[col].astype(float)
            ax.plot(days, y * scale, lw=2.2, color=colours[team], label=team)
        ax.set_title(name, fontsize=13, fontweight="bold")
        ax.set_ylabel(unit, fontsize=10.5)
        ax.set_xlabel("day", fontsize=10.5)
        ax.grid(alpha=0.3)
        if not teams:
            ax.text(0.5, 0.5, "no teams", ha="center", va="center", transform=ax.transAxes,
                    color="grey")
    ax = axes.flat[5]
    names = list(dict.fromkeys(partners["partner"])) if partners is not None and len(
        partners) else []
    pcol = strategy_colours(["_", *names])
    for name in names:
        g = partners[partners["partner"] == name]
        y = g["on_time"].astype(float).rolling(7, min_periods=1).mean() * 100
        ax.plot(g["tick"] * tick_days, y, lw=2.2, color=pcol[name], ls="--", label=name)
    if not names:
        ax.text(0.5, 0.5, "no partners", ha="center", va="center", transform=ax.transAxes,
                color="grey")
    ax.set_title("Partner on-time rate", fontsize=13, fontweight="bold")
    ax.set_ylabel("% of jobs done right and on time (7-tick mean)", fontsize=10.5)
    ax.set_xlabel("day", fontsize=10.5)
    ax.grid(alpha=0.3)
    handles = [Line2D([], [], color=colours[t], lw=2.2, label=f"team: {t}") for t in teams]
    handles += [Line2D([], [], color=pcol[n], lw=2.2, ls="--", label=f"partner: {n}")
                for n in names]
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 6),
                   fontsize=11, frameon=False)
    fig.suptitle(f"{title}: employees and partners", fontsize=15, fontweight="bold")
    return fig


def run_figures(tables: dict, title: str = "", tick_days: float = 1.0
                ) -> list[tuple[str, Figure]]:
    """Every figure that fits a run's tables, as ``(file name, figure)`` pairs.

    ``tables`` maps ``metrics``, ``touchpoints``, ``flows``, ``segments``, ``queues`` and
    ``partners`` to DataFrames (missing or empty ones are skipped).
    """
    def has(name: str) -> bool:
        t = tables.get(name)
        return t is not None and len(t) > 0

    out = []
    if has("metrics"):
        out.append(("kpi_dashboard.png", kpi_dashboard(tables["metrics"],
                                                       title=f"{title}: KPI dashboard",
                                                       tick_days=tick_days)))
        if {"promoters", "detractors"} <= set(tables["metrics"].columns):
            out.append(("nps_split.png", nps_split(tables["metrics"], title, tick_days)))
    if has("touchpoints"):
        out.append(("journey_map.png", journey_map(tables["touchpoints"], title)))
    if has("flows"):
        out.append(("flow_diagram.png", flow_diagram(tables["flows"], title)))
    if has("segments"):
        out.append(("retention_curves.png", retention_curves(tables["segments"], title,
                                                             tick_days)))
    if has("queues") or has("partners"):
        out.append(("workforce.png", workforce_panel(tables.get("queues", pd.DataFrame(
            columns=["tick", "team"])), tables.get("partners"), title, tick_days)))
    return out


def payback_curves(result, low: float = 0.10, high: float = 0.90) -> Figure:
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
    fig, ax = plt.subplots(figsize=(13, 7), constrained_layout=True)
    ax.axhline(0.0, color=_BASELINE_COLOUR, lw=1.8)
    handles = []
    for name in order:
        wide = cumulative_delta(result.ticks, name)
        d = wide.index.to_numpy() * dt
        c = colours[name]
        ax.fill_between(d, wide.quantile(low, axis=1), wide.quantile(high, axis=1), color=c,
                        alpha=0.15, lw=0)
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
                              label=f"{name}: {when} (ROI {roi.loc[name, 'roi']:.1f})"
                              if pd.notna(roi.loc[name, "roi"]) else f"{name}: {when}"))
    ax.set_xlabel("day", fontsize=12)
    ax.set_ylabel("cumulative profit vs baseline (currency, net of the intervention's cost)",
                  fontsize=11)
    _thousands(ax)
    ax.grid(alpha=0.3)
    ax.legend(handles=handles, loc="upper left", fontsize=11, frameon=True,
              title="ranked by payback (ROI over the horizon)")
    fig.suptitle(f"{result.scenario}: which investment pays back first? (mean of "
                 f"{result.replications} paired replications, {low:.0%}–{high:.0%} band)",
                 fontsize=14, fontweight="bold")
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


def calibration_fit(fit: pd.DataFrame, title: str = "Calibration: observed and simulated"
                    ) -> Figure:
    """Observed targets against the simulated 90 % bands, one panel per metric (and part).

    Each window is placed at its middle day: the observed value (black), the simulated
    median and band at the scenario's own values (grey, "before"), at the estimate (blue)
    and over the posterior (orange).  ``fit`` is a calibration's ``fit.csv``.
    """
    groups = list(dict.fromkeys(_target_group(r) for _, r in fit.iterrows()))
    n = len(groups)
    cols = min(3, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(max(5.4 * cols, 10.0), 3.6 * rows + 1.4),
                             squeeze=False, constrained_layout=True)
    for ax, group in zip(axes.flat, groups, strict=False):
        sub = fit[[_target_group(r) == group for _, r in fit.iterrows()]]
        m, panel_title = _target_metric(sub.iloc[0])
        scale = m.scale
        mid = (sub["day_from"].to_numpy(float) + sub["day_to"].to_numpy(float)) / 2
        width = max(float(sub["day_to"].max() - sub["day_from"].min()) / max(len(sub), 1),
                    1.0)
        for k, (name, colour, label) in enumerate((
                ("before", _BEFORE_COLOUR, "scenario as given"),
                ("estimate", _ESTIMATE_COLOUR, "at the estimate"),
                ("posterior", _POSTERIOR_COLOUR, "over the posterior"))):
            x = mid + (k - 1) * width * 0.12
            med = sub[f"{name}_median"].to_numpy(float) * scale
            lo = sub[f"{name}_low"].to_numpy(float) * scale
            hi = sub[f"{name}_high"].to_numpy(float) * scale
            ax.errorbar(x, med, yerr=[med - lo, hi - med], fmt="o", ms=4, color=colour,
                        capsize=3, lw=1.5, label=f"simulated, {label}")
        ax.plot(mid, sub["value"].to_numpy(float) * scale, "D", color="black", ms=6,
                label="observed", zorder=5)
        ax.set_title(panel_title, fontsize=12, fontweight="bold")
        ax.set_ylabel(m.unit, fontsize=10)
        ax.set_xlabel("day (middle of the target's window)", fontsize=10)
        ax.grid(alpha=0.3)
        if m.thousands:
            _thousands(ax)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=4, fontsize=10,
               frameon=False)
    fig.suptitle(f"{title}\n(bands: 90 % of replicate runs)", fontsize=14, fontweight="bold")
    return fig


def _weighted_hist(ax, values, weights, lo: float, hi: float, log: bool, colour: str
                   ) -> None:
    import numpy as np

    edges = (np.geomspace(lo, hi, 26) if log else np.linspace(lo, hi, 26))
    ax.hist(values, bins=edges, weights=weights, color=colour, alpha=0.75)
    if log:
        ax.set_xscale("log")


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
    size = min(3.2, 11.0 / max(d, 1))
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
    fig, axes = plt.subplots(d, d, figsize=(max(size * d + 1.2, 9.0), size * d + 1.2),
                             squeeze=False, constrained_layout=True)
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
                ax.set_xlabel(f"{pj.path}\n(prior {pj.spec})", fontsize=9)
            if j == 0 and i != j:
                ax.set_ylabel(pi.path, fontsize=9)
            ax.tick_params(labelsize=8)
    axes[0][0].legend(fontsize=8, loc="upper right")
    ess = (w.sum() ** 2 / (w * w).sum()) if len(w) and (w * w).sum() > 0 else 0.0
    fig.suptitle(f"{title}: {len(w)} weighted samples, effective sample size {ess:.0f}\n"
                 "(axes zoom to the posterior where it is narrower than half the prior)",
                 fontsize=12, fontweight="bold")
    return fig


def search_history(evaluations: pd.DataFrame, title: str = "Calibration history") -> Figure:
    """Log-posterior of every parameter set in the order evaluated, and the best so far."""
    import numpy as np

    fig, ax = plt.subplots(figsize=(11, 6), constrained_layout=True)
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
        ax.plot(np.flatnonzero(sel), np.maximum(lp[sel], floor), ".", color=colour, ms=5,
                label=label, alpha=0.8)
    ax.plot(np.arange(len(best)), np.where(np.isfinite(best), best, np.nan), color="black",
            lw=2, label="best so far")
    ax.set_ylim(floor - 0.05 * (top - floor + 1), top + 0.05 * (top - floor + 1))
    ax.set_xlabel("parameter set (in the order evaluated)", fontsize=11)
    ax.set_ylabel("log-posterior (higher fits better)", fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=10)
    ax.set_title(title + f" (values below {floor:.4g} drawn at the floor)", fontsize=13,
                 fontweight="bold")
    return fig


def calibration_figure_list(result) -> list[tuple[str, Figure]]:
    """A calibration's figures as ``(file name, figure)`` pairs (its result or folder)."""
    figures = [("calibration_fit.png", calibration_fit(result.fit)),
               ("calibration_history.png", search_history(result.evaluations))]
    if result.priors and len(result.posterior):
        figures.append(("posterior.png", posterior_pairs(result.posterior, result.priors,
                                                         result.estimate)))
    return figures


def calibration_figures(result, out) -> list[str]:
    """Write a calibration's figures into ``out``; their file names."""
    from pathlib import Path

    from .io import atomic_path

    out = Path(out)
    figures = calibration_figure_list(result)
    names = []
    for name, fig in figures:
        with atomic_path(out / name) as tmp:
            fig.savefig(tmp, dpi=150, format="png")
        plt.close(fig)
        names.append(name)
    return names


# --------------------------------------------------------------------------------------------
# Portfolio search (results of cxsim.optimise)
# --------------------------------------------------------------------------------------------


def pareto_front(result, search, title: str = "Portfolios: re-evaluated Pareto set") -> Figure:
    """Each objective against the intervention cost, with the budget line.

    Every candidate of the search in grey (its own, optimistic estimate); the Pareto set
    re-evaluated on fresh seeds in blue with 95 % intervals.
    """
    objs = search.objectives
    fig, axes = plt.subplots(1, len(objs), figsize=(max(7.5 * len(objs), 10.0), 6.2),
                             squeeze=False, constrained_layout=True)
    cand, front = result.candidates, result.pareto
    for ax, o in zip(axes.flat, objs, strict=True):
        m = _declared(o.metric)
        ok = cand[cand["error"] == ""]
        ax.scatter(ok["intervention_cost"], ok[o.metric] * m.scale, s=14, color="#bbbbbb",
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
        ax.set_xlabel("intervention cost (scenario's scale)", fontsize=11)
        ax.set_ylabel(f"{m.label}: difference from the baseline ({m.difference_unit()})",
                      fontsize=11)
        ax.set_title(f"{m.label} ({'higher' if o.direction == 'max' else 'lower'} is better)",
                     fontsize=13, fontweight="bold")
        _thousands(ax, "x")
        if m.thousands:
            _thousands(ax)
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=9, loc="best")
    fig.suptitle(title, fontsize=14, fontweight="bold")
    return fig


def lever_tradeoffs(result, search, title: str = "Levers") -> Figure:
    """The first objective against each lever's value over the search's candidates."""
    levers = list(search.levers)
    o = search.objectives[0]
    m = _declared(o.metric)
    n = max(len(levers), 1)
    cols = min(3, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(max(5.4 * cols, 10.0), 4.0 * rows + 1.0),
                             squeeze=False, constrained_layout=True)
    cand = result.candidates[result.candidates["error"] == ""]
    for ax, p in zip(axes.flat, levers, strict=False):
        colour = ["#1f77b4" if f else "#d62728" for f in cand["feasible"]]
        ax.scatter(pd.to_numeric(cand[p.path], errors="coerce"), cand[o.metric] * m.scale,
                   c=colour, s=14, alpha=0.7)
        ax.set_xlabel(p.path, fontsize=9)
        ax.set_ylabel(f"{m.label}: difference from the baseline", fontsize=10)
        if m.thousands:
            _thousands(ax)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(levers):]:
        ax.set_visible(False)
    fig.suptitle(f"{title}: {m.label} of each candidate against each lever "
                 "(blue: within budget and constraints, red: not)", fontsize=12,
                 fontweight="bold")
    return fig


def optimise_figures(result, search, out) -> list[str]:
    """Write a search's figures into ``out``; their file names."""
    from pathlib import Path

    from .io import atomic_path

    figures = [("pareto_front.png", pareto_front(result, search))]
    if search.levers:
        figures.append(("levers.png", lever_tradeoffs(result, search)))
    names = []
    for name, fig in figures:
        with atomic_path(Path(out) / name) as tmp:
            fig.savefig(tmp, dpi=150, format="png")
        plt.close(fig)
        names.append(name)
    return names


# --------------------------------------------------------------------------------------------
# Scenario discovery (results of cxsim.discover)
# --------------------------------------------------------------------------------------------

#: colours of the first and second PRIM box
BOX_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
               "#bcbd22", "#17becf", "#d62728")
_TRUE_COLOUR = "#d62728"
_FALSE_COLOUR = "#9a9a9a"


def _clip_label(text: str, most: int = 60) -> str:
    return text if len(text) <= most else text[:most - 1] + "…"


def discovery_tradeoff(result) -> Figure:
    """PRIM's peeling trajectory: coverage against density, the chosen boxes marked.

    Each dot is a box of the peeling (from the box holding every run, right, towards small
    dense boxes, left), coloured by how many parameters it restricts; a ring marks the step
    chosen, a star the box after pasting and pruning (the box reported).
    """
    import numpy as np

    fig, ax = plt.subplots(figsize=(11, 6.2), constrained_layout=True)
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
                             vmin=-0.5, vmax=max(top, 1) + 0.5, s=30, zorder=3,
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
                        + _clip_label(", ".join(box.restricted), 70),
                        (cov, box.density), xytext=(0.03, 0.62 - 0.13 * (box.number - 1)),
                        textcoords="axes fraction", fontsize=10, color=colour,
                        fontweight="bold", va="top",
                        arrowprops={"arrowstyle": "->", "color": colour, "lw": 1.2})
    if scatter is not None:
        cbar = fig.colorbar(scatter, ax=ax, shrink=0.85, ticks=np.arange(0, max(top, 1) + 1))
        cbar.set_label("parameters restricted", fontsize=11)
    handles, labels = ax.get_legend_handles_labels()
    handles += [Line2D([], [], marker="o", ls="", markerfacecolor="none",
                       markeredgecolor="black", ms=12, label="step chosen"),
                Line2D([], [], marker="*", ls="", color="black", ms=14,
                       label="box reported (pasted, pruned)")]
    ax.legend(handles=handles, loc="lower left", fontsize=10)
    ax.set_xlim(-0.02, 1.04)
    ax.set_ylim(-0.02, 1.04)
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_xlabel(f"coverage: share of the runs with {where} inside the box", fontsize=11)
    ax.set_ylabel(f"density: share of the box's runs with {where}", fontsize=11)
    ax.grid(alpha=0.3)
    ax.set_title(f"Where {where}: PRIM's coverage and density, box by box", fontsize=14,
                 fontweight="bold")
    return fig


def _discovery_params(result) -> list[str]:
    """Inputs in order of importance: the feature scores, else the order given."""
    order = list(result.scores["parameter"]) if len(result.scores) else []
    return [p for p in order if p in result.inputs] + [p for p in result.inputs
                                                        if p not in order]


def discovery_limits(result) -> Figure:
    """Each box's limits drawn over the full range of every parameter it restricts."""
    import numpy as np

    restricted = {p for box in result.boxes for p in box.restricted}
    params = [p for p in _discovery_params(result) if p in restricted] or list(result.inputs)
    n = len(params)
    fig, ax = plt.subplots(figsize=(11, max(3.6, 0.95 * n + 2.0)), constrained_layout=True)
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
                ax.text(x, y - 0.3, c, ha="center", va="top", fontsize=9, color="#555555")
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
        ax.text(-0.015, y, _range_text(lo, span), ha="right", va="center", fontsize=9,
                color="#555555")
        ax.text(1.015, y, _range_text(hi, span), ha="left", va="center", fontsize=9,
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
                ax.text(xa, ty, f"≥ {a:.4g}", ha="center", va=va, fontsize=10, color=colour,
                        fontweight="bold")
            if b < hi:
                ax.text(xb, ty, f"≤ {b:.4g}", ha="center", va=va, fontsize=10, color=colour,
                        fontweight="bold")
    ax.set_yticks(range(n), params[::-1], fontsize=11)
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
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 3),
               fontsize=10, frameon=False)
    title = (f"Where {_clip_label(result.where)}: the boxes' limits" if result.boxes
             else f"{_clip_label(result.where)}: no box found (full ranges)")
    ax.set_title(title, fontsize=14, fontweight="bold")
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


def discovery_pairs(result) -> Figure:
    """The runs over the two most important inputs, the condition in colour, the boxes drawn.

    Inputs with few values (a grid) are jittered so every run shows; with one input only,
    the vertical axis is the first number the condition names.
    """
    import numpy as np

    rng = np.random.default_rng(0)
    table, y = result.table, np.asarray(result.interesting, dtype=bool)
    params = _discovery_params(result)
    fig, ax = plt.subplots(figsize=(11, 6.6), constrained_layout=True)
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
    size = 14 if len(table) <= 2_000 else 6
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
                    label=f"box {box.number} ({', '.join(box.restricted)}): not on these axes")
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
                    zorder=4, label=(f"box {box.number} ({', '.join(box.restricted)})"
                                     if first else None)))
                first = False
    if xticks is not None:
        ax.set_xticks(*xticks)
    if yticks is not None:
        ax.set_yticks(*yticks)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel(x_name, fontsize=12)
    ax.set_ylabel(y_name, fontsize=12)
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=min(len(handles), 2),
               fontsize=10, frameon=False)
    ax.set_title(f"Where {_clip_label(result.where)}: the runs over "
                 f"{'the two most important inputs' if len(params) >= 2 else 'the input'}",
                 fontsize=14, fontweight="bold")
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
