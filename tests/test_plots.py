"""Plots render headless (Agg) without warnings and have readable labels."""

import warnings

import matplotlib
import numpy as np
import pytest

import cxsim
from cxsim import plots
from cxsim.cli import main

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
    assert "Net Promoter Score" in titles and "Churn rate" in titles
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
