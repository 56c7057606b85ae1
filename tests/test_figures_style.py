"""Figures read on a projector: slide shape, large text, display names, days, currency,
colour direction, events marked, honest axes and the formats written (headless, Agg)."""

import re

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import cxsim
from cxsim import plots
from cxsim.scenario import Scenario, ScenarioError
from cxsim.vocabulary import (
    BY_NAME,
    DEFAULT_CURRENCY,
    colormap,
    display_unit,
    param_label,
    pretty_name,
)

matplotlib.use("Agg")

SNAKE = re.compile(r"\b[a-z]+_[a-z0-9_]+\b")


def _texts(fig) -> list[str]:
    out = []
    for t in fig.findobj(matplotlib.text.Text):
        if t.get_visible() and t.get_text().strip():
            out.append(t.get_text())
    return out


def _check_slide(fig) -> None:
    """16:9 or 4:3, every visible text at least MIN_FONT points, no snake_case word."""
    w, h = fig.get_size_inches()
    assert min(abs(w / h - 16 / 9), abs(w / h - 4 / 3)) < 0.01, (w, h)
    fig.canvas.draw()
    for t in fig.findobj(matplotlib.text.Text):
        if t.get_visible() and t.get_text().strip():
            assert t.get_fontsize() >= plots.MIN_FONT, (t.get_text(), t.get_fontsize())
    for text in _texts(fig):
        assert not SNAKE.search(text), text
        assert not re.search(r"\btick", text), text  # time is in days


@pytest.fixture(scope="module")
def tables(small_default):
    r = cxsim.run(small_default, 3)
    return {"metrics": r.metrics, "touchpoints": r.touchpoints, "flows": r.flows,
            "segments": r.segments, "queues": r.queues, "partners": r.partners}


def test_run_figures_are_slides_with_large_text(tables):
    figures = plots.run_figures(tables, "omni_retailer", 1.0)
    try:
        assert len(figures) == 7  # with CLV by segment
        for _, fig in figures:
            _check_slide(fig)
    finally:
        for _, fig in figures:
            plots.plt.close(fig)


def test_kpi_dashboard_days_currency_and_honest_axes(tables):
    fig = plots.kpi_dashboard(tables["metrics"], currency="$")
    panels = dict(zip(plots.KPI_PANELS, fig.axes, strict=False))
    assert all(ax.get_xlabel() == "day" for ax in panels.values())
    assert "$ per day" in panels["profit"].get_ylabel()
    assert not any("tick" in t for t in _texts(fig))
    assert panels["satisfaction"].get_ylim() == (0.0, 1.0)
    assert panels["nps"].get_ylim() == (-100.0, 100.0)
    assert panels["csat"].get_ylim() == (1.0, 5.0)
    for name in ("active", "churn_rate", "service_level"):
        assert panels[name].get_ylim()[0] == 0.0, name
    # the small change is written out: first → last of the smoothed series
    notes = [t.get_text() for t in panels["satisfaction"].texts]
    assert any("→" in t for t in notes)
    plots.plt.close(fig)


def test_kpi_dashboard_marks_outages_and_interventions(tables):
    m = tables["metrics"].copy()
    m["systems_down"] = 0.0
    m.loc[m.index[5:8], "systems_down"] = 1.0
    events = [{"type": "train_agents", "target": "contact_centre", "start_day": 10.0,
               "end_day": 20.0}]
    fig = plots.kpi_dashboard(m, interventions=events)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "IT outage" in labels and "intervention starts" in labels
    assert "intervention ends" in labels
    assert "Contact centre" in fig.legends[0].get_title().get_text()
    assert plots.outage_spans(m) == [(5.0, 8.0)]
    plots.plt.close(fig)


def test_workforce_counts_leavers_and_whole_employees(tables):
    fig = plots.workforce_panel(tables["queues"], tables["partners"])
    labels = " ".join(ax.get_ylabel() for ax in fig.axes)
    assert "per year" not in labels and "count" in labels
    head = next(ax for ax in fig.axes if ax.get_title() == "Head count")
    ticks = head.get_yticks()
    assert np.allclose(ticks, np.round(ticks))
    plots.plt.close(fig)


def test_flow_diagram_explains_resolution(tables):
    fig = plots.flow_diagram(tables["flows"], "x", fcr=0.86)
    title = fig.get_suptitle()
    assert "resolved in the end" in title and "86% at the first touchpoint" in title
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert not any(t.startswith("step") for t in ticks)
    plots.plt.close(fig)


def test_journey_map_colours_on_the_whole_scale(tables):
    fig = plots.journey_map(tables["touchpoints"])
    assert fig.axes[1].get_ylim() == (0.0, 1.0)  # the colour bar: the whole 0-1 scale
    plots.plt.close(fig)


def test_comparison_figures_are_slides_in_days_and_currency(small_default):
    result = cxsim.compare(small_default, ["fix_courier"], replications=2, seed=1, workers=1)
    for fig in (plots.comparison_bands(result, currency="£"),
                plots.forest_plot(result, currency="£"),
                plots.payback_curves(result, currency="£")):
        _check_slide(fig)
        assert any("£" in t for t in _texts(fig))
        plots.plt.close(fig)
    fig = plots.comparison_bands(result)
    titles = [ax.get_title() for ax in fig.axes]
    assert "Active customers vs baseline" in titles  # a small difference drawn as one
    plots.plt.close(fig)


# ---- sweeps: colour direction, failed runs, names --------------------------------------------


def _runs(failed: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for q in (0.5, 0.7, 0.9):
        for h in (8, 12):
            for rep in range(2):
                rows.append({"touchpoints.chat.quality": q,
                             "teams.contact_centre.headcount": h, "replicate": rep,
                             "status": "failed" if failed and rep == 1 else "done",
                             "monthly_churn": 0.02 - 0.01 * q + rng.normal(0, 1e-3),
                             "nps": 10 * q + rng.normal(), "profit": 1000 * q - 700})
    return pd.DataFrame(rows)


def test_colormap_follows_the_good_direction():
    assert colormap(BY_NAME["monthly_churn"]) == "viridis_r"
    assert colormap(BY_NAME["profit"]) == "viridis"
    assert colormap(BY_NAME["occupancy"]) == "cividis"
    assert colormap(BY_NAME["profit"], diverging=True) == "PiYG"
    assert colormap(BY_NAME["churned"], diverging=True) == "PiYG_r"


def test_heatmap_colours_good_alike_and_centres_differences():
    fig = plots.sweep_heatmap(_runs(), "touchpoints.chat.quality",
                              "teams.contact_centre.headcount")
    images = [im for ax in fig.axes for im in ax.images]
    assert [im.cmap.name for im in images] == ["viridis_r", "viridis", "PiYG"]
    profit = images[2]
    assert isinstance(profit.norm, matplotlib.colors.CenteredNorm)
    assert profit.norm.vcenter == 0.0
    _check_slide(fig)
    assert fig.axes[0].get_xlabel() == "Chat: quality"
    plots.plt.close(fig)


def test_sweep_lines_without_intervals_promise_none():
    runs = _runs(failed=True)
    runs = runs[runs["teams.contact_centre.headcount"] == 8]  # one finished run per point
    fig = plots.sweep_lines(runs, "touchpoints.chat.quality")
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "95 % interval" not in labels
    assert not any(ax.collections for ax in fig.axes)  # no band drawn
    _check_slide(fig)
    plots.plt.close(fig)
    fig = plots.sweep_lines(_runs(), "touchpoints.chat.quality")
    assert "95 % interval" in [t.get_text() for t in fig.legends[0].get_texts()]
    plots.plt.close(fig)


def test_sensitivity_panels_share_a_scale_and_say_how_many_runs():
    rows = []
    for o in ("monthly_churn", "nps", "profit"):
        for p, s1 in (("touchpoints.chat.quality", 0.2), ("market.size", 0.6)):
            rows.append({"outcome": o, "parameter": p, "S1": s1, "S1_ci_low": s1 - 0.1,
                         "S1_ci_high": s1 + 0.1, "ST": s1 + 0.1, "ST_ci_low": s1,
                         "ST_ci_high": s1 + 0.2})
    fig = plots.sensitivity_bars(pd.DataFrame(rows), runs=320)
    lims = {ax.get_xlim() for ax in fig.axes if ax.get_visible()}
    assert len(lims) == 1
    assert "320 runs" in fig.get_suptitle()
    _check_slide(fig)
    plots.plt.close(fig)


def test_sensitivity_bars_mark_estimates_that_show_sampling_error():
    """An index beyond 1 (or S1 > ST) is shaded past 1 and explained in the legend; clean
    estimates are drawn without that note."""
    def table(st):
        return pd.DataFrame([{"outcome": "nps", "parameter": p, "S1": 0.3, "S1_ci_low": 0.1,
                              "S1_ci_high": 0.5, "ST": st, "ST_ci_low": 0.2,
                              "ST_ci_high": st + 0.1, "note": ""}
                             for p in ("touchpoints.chat.quality", "market.size")])

    def legend(fig):
        return [t.get_text() for t in fig.legends[0].get_texts()]

    fig = plots.sensitivity_bars(table(1.9), runs=32)
    assert any("sampling error" in t for t in legend(fig))
    assert fig.axes[0].get_xlim()[1] > 1.9
    plots.plt.close(fig)
    fig = plots.sensitivity_bars(table(0.6), runs=32)
    assert not any("sampling error" in t for t in legend(fig))
    plots.plt.close(fig)


# ---- names ---------------------------------------------------------------------------------


def test_names_for_people():
    assert param_label("touchpoints.chat.quality") == "Chat: quality"
    assert param_label("teams.contact_centre.headcount") == "Contact centre: headcount"
    assert param_label("market.size") == "Market: size"
    assert param_label("strategy") == "Strategy"
    assert pretty_name("fix_ivr") == "Fix IVR"
    assert pretty_name("Already Named") == "Already Named"
    assert display_unit("currency per tick", "£", 7) == "£ per week"
    assert display_unit("% of customers per tick") == "% of customers per day"


@given(st.from_regex(r"[a-z]{1,8}(_[a-z]{1,8}){0,4}", fullmatch=True))
def test_pretty_names_have_no_underscores(name):
    shown = pretty_name(name)
    assert "_" not in shown and shown[:1] == shown[:1].upper()
    assert "_" not in param_label(f"touchpoints.{name}.{name}")


# ---- the currency field --------------------------------------------------------------------


def test_currency_defaults_to_euro_and_is_checked():
    d = cxsim.default_scenario().to_dict()
    assert d["economics"]["currency"] == DEFAULT_CURRENCY == "€"
    d["economics"]["currency"] = "$"
    assert Scenario.from_dict(d).economics.currency == "$"
    for bad in ("", "  ", "a" * 9, "€\n"):
        d["economics"]["currency"] = bad
        with pytest.raises(ScenarioError, match="economics.currency"):
            Scenario.from_dict(d)


# ---- the command line: recorded events, currency, formats ----------------------------------


def _call(argv):
    from conftest import call

    return call(argv)


def test_run_records_currency_and_interventions_and_plots_them(tmp_path):
    import json

    out = tmp_path / "r"
    code, _, err = _call(["run", "--customers", "1500", "--days", "40", "--strategy",
                          "fix_courier", "--set", "economics.currency=USD", "--quiet",
                          "--out", out])
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["currency"] == "USD"
    assert summary["interventions"] and all(
        {"type", "target", "start_day", "end_day"} <= set(e) for e in summary["interventions"])
    code, _, err = _call(["plot", out, "--format", "png,svg,pdf"])
    assert code == 0, err
    for stem in ("kpi_dashboard", "workforce", "flow_diagram"):
        assert (out / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (out / f"{stem}.pdf").read_bytes()[:5] == b"%PDF-"
        assert b"<svg" in (out / f"{stem}.svg").read_bytes()[:2000]
    svg = (out / "kpi_dashboard.svg").read_text()
    assert "USD per day" in svg and "intervention starts" in svg
    assert not list(out.glob("*.tmp*"))


def test_plot_damaged_interventions_refused(tmp_path):
    import json

    out = tmp_path / "r"
    assert _call(["run", "--customers", "1500", "--days", "5", "--quiet", "--out", out])[0] == 0
    s = json.loads((out / "summary.json").read_text())
    s["interventions"] = [{"start_day": "soon"}]
    (out / "summary.json").write_text(json.dumps(s))
    code, _, err = _call(["plot", out])
    assert code == 2 and "interventions" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("given_", ["jpg", "png,", ""])
def test_plot_bad_format(given_, tmp_path):
    code, _, err = _call(["plot", tmp_path, "--format", given_])
    assert code == 2
    assert "--format" in err
