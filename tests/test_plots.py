"""Plots render headless (Agg) without warnings and have readable labels."""

import warnings

import matplotlib
import numpy as np
import pytest

import cxsim
from cxsim import plots
from cxsim.cli import main
from cxsim.scenario import scenario_dir
from cxsim.vocabulary import pretty_name

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def metrics(small_default):
    return cxsim.CXModel(small_default, rng=3).run(20).metrics


def test_kpi_dashboard_renders(metrics, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = plots.kpi_dashboard(metrics, title="test")
        path = tmp_path / "kpi.png"
        plots.save(fig, path)
    assert path.stat().st_size > 20_000
    titles = [ax.get_title() for ax in fig.axes]
    assert "NPS" in titles and "Churn rate" in titles
    assert all(ax.get_xlabel() == "day" and ax.get_ylabel() for ax in fig.axes)


def test_kpi_dashboard_marks_unmeasured_metrics(metrics):
    m = metrics.copy()
    m["service_level"] = np.nan
    fig = plots.kpi_dashboard(m)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "not measured" in texts


def test_cli_plot_writes_png(tmp_path):
    assert main(["run", "--customers", "1500", "--days", "10", "--plot", "--quiet",
                 "--out", str(tmp_path)]) == 0
    png = tmp_path / "kpi_dashboard.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---- one run's figures, for every shipped scenario ---------------------------------------------

SCENARIOS = sorted(p.name for p in scenario_dir().glob("*.toml"))
RUN_FIGURES = {"kpi_dashboard.png", "nps_split.png", "journey_map.png", "flow_diagram.png",
               "retention_curves.png", "clv_by_segment.png", "workforce.png"}


@pytest.fixture(scope="module", params=SCENARIOS)
def run_tables(request):
    from cxsim.runner import resize

    sc = resize(cxsim.load_scenario(scenario_dir() / request.param), customers=3000,
                days=45)
    r = cxsim.run(sc, 5)
    return sc, {"metrics": r.metrics, "touchpoints": r.touchpoints, "flows": r.flows,
                "segments": r.segments, "queues": r.queues, "partners": r.partners}


def _labelled(fig) -> None:
    """Every visible panel has a title or the figure one; axes carry labels."""
    assert fig.get_suptitle()
    for ax in fig.axes:
        if not ax.get_visible() or ax.get_label() == "<colorbar>":
            continue
        assert ax.get_xlabel() or ax.get_ylabel() or ax.get_xticklabels(), ax.get_title()


def test_every_run_figure_renders_without_warnings(run_tables, tmp_path):
    sc, tables = run_tables
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figures = plots.run_figures(tables, sc.name, sc.simulation.tick_days)
        assert {name for name, _ in figures} == RUN_FIGURES
        for name, fig in figures:
            _labelled(fig)
            plots.save(fig, tmp_path / name)
    for name in RUN_FIGURES:
        assert (tmp_path / name).stat().st_size > 20_000, name


def test_journey_map_shows_every_touchpoint(run_tables):
    sc, tables = run_tables
    fig = plots.journey_map(tables["touchpoints"], sc.name)
    text = " ".join(t.get_text().replace("\n", " ") for t in fig.axes[0].texts)
    for name in sc.touchpoints:
        assert pretty_name(name) in text
    assert "mean experience" in fig.axes[1].get_ylabel()  # the colour bar


def test_flow_diagram_counts_every_episode(run_tables):
    sc, tables = run_tables
    fig = plots.flow_diagram(tables["flows"], sc.name)
    episodes = int(tables["metrics"]["episodes"].sum())
    assert f"{episodes:,} service episodes" in fig.get_suptitle()
    labels = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert f"needs arise\n{episodes:,}" in labels


def test_nps_split_shares_add_up(run_tables):
    sc, tables = run_tables
    fig = plots.nps_split(tables["metrics"], sc.name)
    shares = [float(t.get_text().split()[-2]) for t in fig.axes[0].texts]
    assert sum(shares) == pytest.approx(100, abs=1.5)  # three rounded shares


def test_retention_curves_one_line_per_segment(run_tables):
    sc, tables = run_tables
    fig = plots.retention_curves(tables["segments"], sc.name)
    assert [ln.get_label() for ln in fig.axes[0].get_lines()] == [pretty_name(s) for s in
                                                                   sc.segments]


def test_workforce_panel_without_teams_or_partners():
    import pandas as pd

    fig = plots.workforce_panel(pd.DataFrame(columns=["tick", "team"]), None, "none")
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "no teams" in texts and "no partners" in texts


# ---- cxsim plot DIR ----------------------------------------------------------------------------


def _call(argv):
    from conftest import call

    return call(argv)


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("plot") / "run"
    code, _, err = _call(["run", "--customers", "2000", "--days", "30", "--out", out,
                          "--quiet"])
    assert code == 0, err
    return out


def test_plot_a_run_folder(run_folder):
    code, out, err = _call(["plot", run_folder])
    assert code == 0, err
    for name in RUN_FIGURES:
        assert (run_folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.startswith(f"wrote {run_folder}/: kpi_dashboard.png")


def test_plot_a_compare_folder(tmp_path):
    code, _, err = _call(["compare", "--strategies", "fix_courier", "--reps", "2",
                          "--customers", "2000", "--days", "30", "--workers", "1",
                          "--out", tmp_path, "--quiet"])
    assert code == 0, err
    code, out, err = _call(["plot", tmp_path])
    assert code == 0, err
    assert "comparison_bands.png, forest_plot.png" in out
    assert (tmp_path / "forest_plot.png").stat().st_size > 20_000


def test_plot_a_sweep_folder(tmp_path):
    code, _, err = _call(["sweep", "--param", "touchpoints.chat.quality=0.5,0.9",
                          "--param", "partners.courier.reliability=0.9,0.99",
                          "--customers", "2000", "--days", "30", "--workers", "1",
                          "--out", tmp_path, "--quiet"])
    assert code == 0, err
    code, out, err = _call(["plot", tmp_path])
    assert code == 0, err
    assert "sweep_heatmap.png" in out


@pytest.mark.parametrize("case", ["missing", "file", "empty", "older", "older-columns",
                                  "older-compare", "damaged"])
def test_plot_bad_folders(case, run_folder, tmp_path):
    import json
    import shutil

    target = tmp_path / "r"
    words = {"missing": "no such folder", "file": "is a file", "empty": "no cxsim results",
             "older": "older cxsim format", "older-columns": "lacks column 'stage'",
             "older-compare": "older cxsim format", "damaged": "cannot be read"}[case]
    if case == "file":
        target.write_text("x")
    elif case == "empty":
        target.mkdir()
    elif case in ("older", "older-columns", "damaged"):
        shutil.copytree(run_folder, target)
        for png in target.glob("*.png"):
            png.unlink()
        summary = json.loads((target / "summary.json").read_text())
        if case == "older":
            summary.pop("format")
            (target / "summary.json").write_text(json.dumps(summary))
        elif case == "older-columns":
            t = (target / "touchpoints.csv").read_text().replace(",stage,", ",phase,")
            (target / "touchpoints.csv").write_text(t)
        else:
            (target / "summary.json").write_text("{not json")
    elif case == "older-compare":
        target.mkdir()
        (target / "compare.json").write_text(json.dumps({"scenario": "x"}))
    before = sorted(p.name for p in target.iterdir()) if target.is_dir() else None
    code, _, err = _call(["plot", target])
    assert code == 2, err
    assert words in err and len(err.strip().splitlines()) == 1
    if before is not None:
        assert sorted(p.name for p in target.iterdir()) == before  # no figure written


# ---- comparisons: payback curves and a zoomed window -------------------------------------------


@pytest.fixture(scope="module")
def comparison(small_default):
    return cxsim.compare(small_default, ["fix_courier", "recover_detractors"], replications=3,
                         seed=2, workers=1)


def test_payback_curves(comparison, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = plots.payback_curves(comparison)
        plots.save(fig, tmp_path / "payback.png")
    assert (tmp_path / "payback.png").stat().st_size > 20_000
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert len(labels) == 2
    assert all(("pays back on day" in t) or ("does not pay back" in t) for t in labels)
    import pandas as pd

    roi = comparison.roi.set_index("strategy")
    for name in ("fix_courier", "recover_detractors"):
        pb = roi.loc[name, "payback_tick"]
        text = next(t for t in labels if t.startswith(pretty_name(name)))
        if pd.isna(pb):
            assert "does not pay back" in text
        else:
            assert f"pays back on day {int(pb) * comparison.tick_days:g}" in text


def test_comparison_bands_window(comparison):
    fig = plots.comparison_bands(comparison, metrics=("nps", "profit"), window=(20, 40))
    for ax in fig.axes[:2]:
        assert ax.get_xlim() == (20, 40)


@pytest.mark.parametrize("name", SCENARIOS)
def test_comparison_figures_render_for_every_scenario(name, tmp_path):
    from cxsim.runner import resize

    sc = cxsim.load_scenario(scenario_dir() / name)
    last = max(iv.start for st in sc.strategies.values() for iv in st.interventions)
    sc = resize(sc, customers=2000, days=last + 20)
    first = min(sc.strategies, key=lambda n: max(iv.start for iv in sc.strategies[n].interventions))
    result = cxsim.compare(sc, [first, next(n for n in sc.strategies if n != first)],
                           replications=2, seed=1, workers=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for fig in (plots.comparison_bands(result), plots.forest_plot(result),
                    plots.payback_curves(result)):
            _labelled(fig)
            plots.save(fig, tmp_path / "f.png")
