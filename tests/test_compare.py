"""Tests for strategy comparison (:mod:`cxsim.compare`, ``cxsim compare``, the figures).

Contract: the baseline and every strategy run with the same replicate seeds (paired, common
random numbers); ``comparison.csv`` has ``strategy, metric, mean, ci_low, ci_high, diff,
diff_ci_low, diff_ci_high`` with 95 % t-intervals; results do not depend on the executor or
the number of workers; every runs row replays exactly; bad input exits 2 with one line and
touches nothing.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import warnings
from concurrent.futures import Executor, Future
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from conftest import call
from scipy import stats

import cxsim
from cxsim import plots
from cxsim.compare import (
    METRICS,
    TABLE_COLUMNS,
    ComparisonResult,
    compare,
    comparison_table,
    discount_factors,
    format_comparison,
    mean_interval,
    paired_interval,
    paired_vs_independent,
    payback_tick,
    read_comparison,
    replicate_seeds,
    roi_table,
    welch_interval,
    write_comparison,
)
from cxsim.executors import RunsFailed
from cxsim.runner import resize, run
from cxsim.scenario import Intervention, ScenarioError, Strategy
from cxsim.vocabulary import pretty_name

matplotlib.use("Agg")

STRATEGIES = ["train_contact_centre", "fix_courier", "self_service"]
REPS = 3


@pytest.fixture(scope="module")
def small() -> cxsim.Scenario:
    """The default scenario at 3,000 customers and 90 days (every strategy starts in time)."""
    return resize(cxsim.default_scenario(), customers=3000, days=90)


@pytest.fixture(scope="module")
def result(small) -> ComparisonResult:
    return compare(small, STRATEGIES, replications=REPS, seed=11, workers=1)


def _runs_of(result: ComparisonResult, name: str) -> pd.DataFrame:
    return result.runs[result.runs["strategy"] == name].sort_values("replicate")


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def test_table_columns_and_shape(result):
    t = result.table
    assert list(t.columns[:8]) == list(TABLE_COLUMNS)
    assert {"n", "diff_se"} <= set(t.columns)
    assert result.strategies == ("baseline", *STRATEGIES)
    assert len(t) == len(result.strategies) * len(METRICS)
    assert list(dict.fromkeys(t["strategy"])) == list(result.strategies)
    assert list(t.loc[t["strategy"] == "baseline", "metric"]) == list(METRICS)
    for m in ("active", "new", "churned", "churn_rate", "retention", "nps", "csat", "ces",
              "satisfaction", "fcr", "service_level", "asa", "abandonment", "occupancy",
              "engagement", "attrition", "partner_on_time", "revenue", "cost", "profit",
              "monthly_churn", "annual_retention", "intervention_cost"):
        assert m in set(t["metric"]), m
    assert (t["n"] == REPS).all()


def test_runs_and_ticks_tables(result, small):
    runs = result.runs
    assert list(runs.columns[:3]) == ["strategy", "replicate", "seed"]
    assert len(runs) == len(result.strategies) * REPS
    assert set(METRICS) <= set(runs.columns)
    ticks = result.ticks
    assert list(ticks.columns[:3]) == ["strategy", "replicate", "tick"]
    assert len(ticks) == len(result.strategies) * REPS * small.simulation.ticks
    for col in ("active", "churn_rate", "nps", "csat", "satisfaction", "service_level",
                "revenue", "cost", "profit", "intervention_cost", "churned"):
        assert col in ticks.columns, col
    assert result.starts == {"baseline": [], "train_contact_centre": [30],
                             "fix_courier": [30], "self_service": [60]}
    assert list(result.roi["strategy"]) == STRATEGIES
    assert result.replications == REPS and result.seed == 11
    assert result.scenario == small.name


def test_seeds_are_paired_and_recorded(result):
    seeds = replicate_seeds(11, REPS)
    assert seeds == [int(c.generate_state(1)[0])
                     for c in np.random.SeedSequence(11).spawn(REPS)]
    for name in result.strategies:
        assert list(_runs_of(result, name)["seed"]) == seeds, name
    assert len(set(seeds)) == REPS


def test_baseline_diff_is_exactly_zero(result):
    base = result.table[result.table["strategy"] == "baseline"]
    finite = base[base["mean"].notna()]
    assert len(finite) == len(METRICS)
    assert (finite["diff"] == 0.0).all()
    assert (finite["diff_ci_low"] == 0.0).all()
    assert (finite["diff_ci_high"] == 0.0).all()


def test_paired_diff_is_mean_of_per_replicate_differences(result):
    t = result.table
    base = _runs_of(result, "baseline")
    for name in STRATEGIES:
        runs = _runs_of(result, name)
        for metric in ("profit", "churned", "nps", "csat", "service_level", "active",
                       "intervention_cost", "monthly_churn"):
            d = runs[metric].to_numpy(float) - base[metric].to_numpy(float)
            row = t[(t["strategy"] == name) & (t["metric"] == metric)].iloc[0]
            assert row["diff"] == pytest.approx(d.mean(), rel=1e-12, abs=1e-12)
            half = stats.t.ppf(0.975, REPS - 1) * d.std(ddof=1) / math.sqrt(REPS)
            assert row["diff_ci_low"] == pytest.approx(d.mean() - half, rel=1e-9, abs=1e-9)
            assert row["diff_ci_high"] == pytest.approx(d.mean() + half, rel=1e-9, abs=1e-9)
            x = runs[metric].to_numpy(float)
            assert row["mean"] == pytest.approx(x.mean(), rel=1e-12)


def test_strategies_cost_money_and_change_things(result):
    """A sanity check on the strategy contract: costs land in the runs, effects are paired."""
    roi = result.roi.set_index("strategy")
    for name in STRATEGIES:
        assert roi.loc[name, "intervention_cost"] > 0
        runs = _runs_of(result, name)
        assert (runs["intervention_cost"] > 0).all()
    base = _runs_of(result, "baseline")
    assert (base["intervention_cost"] == 0).all()
    # before the first intervention starts, a strategy's run is the baseline's, tick by tick
    ticks = result.ticks
    for name in STRATEGIES:
        first = min(result.starts[name])
        s = ticks[(ticks["strategy"] == name) & (ticks["tick"] < first)]
        b = ticks[(ticks["strategy"] == "baseline") & (ticks["tick"] < first)]
        assert np.array_equal(s["profit"].to_numpy(), b["profit"].to_numpy()), name


# --------------------------------------------------------------------------------------------
# Executors and replay
# --------------------------------------------------------------------------------------------


def test_two_workers_give_identical_tables(result, small):
    pooled = compare(small, STRATEGIES, replications=REPS, seed=11, workers=2)
    pd.testing.assert_frame_equal(pooled.table, result.table, check_exact=True)
    pd.testing.assert_frame_equal(pooled.runs, result.runs, check_exact=True)
    pd.testing.assert_frame_equal(pooled.ticks, result.ticks, check_exact=True)
    pd.testing.assert_frame_equal(pooled.roi, result.roi, check_exact=True)


class ReversedExecutor(Executor):
    """Runs tasks in this process at shutdown, in reverse order of submission."""

    def __init__(self):
        self.pending: list[tuple[Future, object, tuple]] = []
        self.submitted = 0

    def submit(self, fn, /, *args, **kwargs):
        fut: Future = Future()
        self.pending.append((fut, fn, args))
        self.submitted += 1
        if len(self.pending) == self.expected:
            for f, g, a in reversed(self.pending):
                f.set_result(g(*a))
        return fut

    expected = 0


def test_any_executor_in_any_completion_order(small):
    strategies = ["train_contact_centre"]
    ex = ReversedExecutor()
    ex.expected = 2 * 2
    a = compare(small, strategies, replications=2, seed=5, executor=ex)
    b = compare(small, strategies, replications=2, seed=5, workers=1)
    assert ex.submitted == 4
    pd.testing.assert_frame_equal(a.table, b.table, check_exact=True)
    pd.testing.assert_frame_equal(a.runs, b.runs, check_exact=True)


def test_runs_row_replays_exactly(result):
    for k in (1, len(result.runs) - 1):
        row = result.runs.iloc[k]
        again = run(result.spec, int(row["seed"]), strategy=row["strategy"])
        for metric in METRICS:
            v = again.summary.get(metric)
            if v is None:
                assert pd.isna(row[metric]), metric
            else:
                assert v == row[metric], (row["strategy"], metric)


# --------------------------------------------------------------------------------------------
# Strategies given in Python; validation before anything runs
# --------------------------------------------------------------------------------------------


class NoRunExecutor(Executor):
    def submit(self, fn, /, *args, **kwargs):  # pragma: no cover - must not be called
        raise AssertionError("a run was started before validation finished")


def test_composed_and_custom_strategies(small):
    custom = Strategy(description="a costly nothing", interventions=[
        Intervention(type="knowledge_base", start=10, cost=1000.0, amount=0.0)])
    res = compare(small, {"both": ["train_contact_centre", "fix_courier"], "nothing": custom},
                  replications=2, seed=3, workers=1)
    assert res.strategies == ("baseline", "both", "nothing")
    assert res.starts["both"] == [30] and res.starts["nothing"] == [10]
    # an intervention of zero strength changes nothing but the money
    d, lo, hi = res.diff("nothing", "profit")
    assert d == pytest.approx(-1000.0) and lo == pytest.approx(-1000.0)
    assert res.diff("nothing", "churned") == (0.0, 0.0, 0.0)
    roi = res.roi.set_index("strategy").loc["nothing"]
    assert roi["roi"] == pytest.approx(-1.0)
    assert pd.isna(roi["payback_tick"])


@pytest.mark.parametrize("reps", [0, 1])
def test_fewer_than_two_replications_refused(small, reps):
    with pytest.raises(ValueError, match=r"replications must be at least 2 \(intervals need "
                                         r"two replications\)"):
        compare(small, replications=reps, executor=NoRunExecutor())


def test_unknown_strategy_refused_before_running(small):
    with pytest.raises(ScenarioError) as exc:
        compare(small, ["train_contact_centre", "nope"], replications=2,
                executor=NoRunExecutor())
    assert len(exc.value.problems) == 1
    assert "unknown strategy 'nope'" in exc.value.problems[0]


def test_start_beyond_horizon_refused_before_running(small):
    with pytest.raises(ScenarioError) as exc:
        compare(small, replications=2, ticks=45, executor=NoRunExecutor())
    # every strategy that starts too late, one line each
    assert len(exc.value.problems) == 2
    assert "self_service" in exc.value.problems[0] and "horizon" in exc.value.problems[0]
    assert "add_messaging" in exc.value.problems[1] and "horizon" in exc.value.problems[1]


def test_bad_workers_refused(small):
    with pytest.raises(ValueError, match="workers must be at least 1"):
        compare(small, replications=2, workers=0)


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------


def test_mean_interval_matches_scipy():
    x = np.array([3.1, 2.7, 4.4, 3.9, 3.3])
    mean, lo, hi, se, n = mean_interval(x)
    ref = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert (lo, hi) == pytest.approx(ref, rel=1e-12)
    assert mean == pytest.approx(x.mean()) and n == 5
    assert mean_interval([1.0, None, np.nan, 3.0])[4] == 2
    m, lo, hi, _, n = mean_interval([2.0])
    assert m == 2.0 and math.isnan(lo) and math.isnan(hi) and n == 1
    assert mean_interval([5.0, 5.0, 5.0])[1:3] == (5.0, 5.0)


def test_welch_interval_matches_scipy():
    rng = np.random.default_rng(1)
    a, b = rng.normal(1.0, 1.0, 8), rng.normal(0.0, 2.0, 6)
    d, lo, hi, se, df = welch_interval(a, b)
    res = stats.ttest_ind(a, b, equal_var=False)
    ci = res.confidence_interval(0.95)
    assert (lo, hi) == pytest.approx((ci.low, ci.high), rel=1e-10)
    assert d == pytest.approx(a.mean() - b.mean())


def _coverage(fn, truth: float, reps: int = 500) -> float:
    hits = sum(lo <= truth <= hi for lo, hi in fn(reps))
    return hits / reps


TOLERANCE = 3 * math.sqrt(0.95 * 0.05 / 500)


def test_paired_interval_coverage_on_synthetic_data():
    """500 experiments of 5 paired replications with a known true difference of 0.7."""
    rng = np.random.default_rng(2024)
    truth = 0.7

    def experiments(reps):
        for _ in range(reps):
            common = rng.normal(10.0, 3.0, 5)          # shared by both arms (the seed)
            base = common + rng.normal(0.0, 0.5, 5)
            strat = common + truth + rng.normal(0.0, 0.5, 5)
            _, lo, hi, _, _ = paired_interval(strat, base)
            yield lo, hi

    cov = _coverage(experiments, truth)
    assert abs(cov - 0.95) <= TOLERANCE, cov


def test_welch_interval_coverage_on_synthetic_data():
    rng = np.random.default_rng(7)
    truth = -1.2

    def experiments(reps):
        for _ in range(reps):
            a = rng.normal(truth, 1.0, 6)
            b = rng.normal(0.0, 2.0, 6)
            _, lo, hi, _, _ = welch_interval(a, b)
            yield lo, hi

    cov = _coverage(experiments, truth)
    assert abs(cov - 0.95) <= TOLERANCE, cov


def test_comparison_table_on_hand_built_runs():
    runs = pd.DataFrame({
        "strategy": ["baseline"] * 3 + ["s"] * 3,
        "replicate": [0, 1, 2] * 2,
        "profit": [100.0, 110.0, 90.0, 104.0, 113.0, 95.0],
        "nps": [10.0, None, 12.0, 11.0, 14.0, 13.0],
    })
    t = comparison_table(runs, metrics=("profit", "nps")).set_index(["strategy", "metric"])
    d = np.array([4.0, 3.0, 5.0])
    half = stats.t.ppf(0.975, 2) * d.std(ddof=1) / math.sqrt(3)
    row = t.loc[("s", "profit")]
    assert row["diff"] == pytest.approx(4.0)
    assert (row["diff_ci_low"], row["diff_ci_high"]) == pytest.approx((4 - half, 4 + half))
    nps = t.loc[("s", "nps")]      # the pair with a missing baseline value is dropped
    assert nps["diff_n"] == 2 and nps["n"] == 3
    assert nps["diff"] == pytest.approx(1.0)
    assert t.loc[("baseline", "nps"), "diff"] == 0.0


# --------------------------------------------------------------------------------------------
# ROI and payback
# --------------------------------------------------------------------------------------------


def test_payback_tick_definition():
    ticks = np.arange(1, 11)
    # dips below zero at the start (tick 3), recovers at 6, dips again at 8, recovers at 9
    cum = np.array([0, 0, -5, -3, -1, 1, 2, -1, 1, 3], float)
    assert payback_tick(ticks, cum, start=3) == 9
    assert payback_tick(ticks, np.array([0, 0, -5, -3, -1, -1, -1, -1, -1, -1.0]), 3) is None
    assert payback_tick(ticks, np.zeros(10), 4) == 4   # costs nothing, changes nothing
    assert payback_tick(ticks, np.array([0, 0, 1, 2, 3, 4, 5, 6, 7, 8.0]), 3) == 3


def test_roi_on_hand_built_runs():
    """Two replicates, 6 ticks; the strategy costs 10 at tick 2 and earns 4 a tick after."""
    base_profit = {0: [5, 5, 5, 5, 5, 5], 1: [7, 6, 5, 4, 3, 2]}
    delta = [0, -10, 4, 4, 4, 4]        # cumulative: 0 -10 -6 -2 2 6 -> payback tick 5
    rows, ticks = [], []
    for r, prof in base_profit.items():
        for name, dp, cost in (("baseline", [0] * 6, 0.0), ("s", delta, 10.0)):
            p = [a + b for a, b in zip(prof, dp, strict=True)]
            rows.append({"strategy": name, "replicate": r, "profit": float(sum(p)),
                         "intervention_cost": cost})
            ticks += [{"strategy": name, "replicate": r, "tick": t + 1, "profit": float(v)}
                      for t, v in enumerate(p)]
    roi = roi_table(pd.DataFrame(rows), pd.DataFrame(ticks), ["baseline", "s"],
                    {"baseline": [], "s": [2]})
    r = roi.iloc[0]
    assert r["strategy"] == "s"
    assert r["incremental_profit"] == pytest.approx(6.0)
    assert r["intervention_cost"] == 10.0
    assert r["roi"] == pytest.approx(0.6)
    assert r["payback_tick"] == 5
    # zero-width interval: both replicates gain exactly 6
    assert (r["incremental_profit_ci_low"], r["incremental_profit_ci_high"]) == (6.0, 6.0)
    # undiscounted (rate 0 by default) the NPV is the incremental profit
    assert r["npv"] == pytest.approx(6.0) and math.isnan(r["discounted_roi"])


def test_npv_discounts_the_paired_profit_at_the_yearly_rate():
    """Monthly ticks, 10 % a year: tick t is worth 1.1 ** -(30 t / 365) today."""
    delta = [0.0, -10.0, 4.0, 4.0, 4.0, 4.0]
    cost = [0.0, 10.0, 0.0, 0.0, 0.0, 0.0]
    rows, ticks = [], []
    for r, base in enumerate(([5.0] * 6, [7.0, 6, 5, 4, 3, 2])):
        for name, dp, dc in (("baseline", [0.0] * 6, [0.0] * 6), ("s", delta, cost)):
            p = [a + b for a, b in zip(base, dp, strict=True)]
            rows.append({"strategy": name, "replicate": r, "profit": sum(p),
                         "intervention_cost": sum(dc)})
            ticks += [{"strategy": name, "replicate": r, "tick": t + 1, "profit": p[t],
                       "intervention_cost": dc[t]} for t in range(6)]
    roi = roi_table(pd.DataFrame(rows), pd.DataFrame(ticks), ["baseline", "s"],
                    {"baseline": [], "s": [2]}, discount_rate=0.10, tick_days=30.0)
    r = roi.iloc[0]
    f = [1.1 ** -(30 * t / 365) for t in range(1, 7)]
    npv = -10 * f[1] + 4 * (f[2] + f[3] + f[4] + f[5])
    assert r["npv"] == pytest.approx(npv, rel=1e-12)
    assert npv < 6.0 and r["incremental_profit"] == pytest.approx(6.0)  # later gains weigh less
    assert (r["npv_ci_low"], r["npv_ci_high"]) == pytest.approx((npv, npv))
    assert r["discounted_roi"] == pytest.approx(npv / (10 * f[1]), rel=1e-12)
    assert r["roi"] == pytest.approx(0.6)
    assert list(discount_factors([0, 365], 0.10)) == pytest.approx([1.0, 1 / 1.1])


def test_roi_table_is_consistent_with_the_runs(result):
    roi = result.roi.set_index("strategy")
    for name in STRATEGIES:
        r = roi.loc[name]
        d, lo, hi = result.diff(name, "profit")
        assert r["incremental_profit"] == d
        assert (r["incremental_profit_ci_low"], r["incremental_profit_ci_high"]) == (lo, hi)
        assert r["roi"] == pytest.approx(d / r["intervention_cost"])
        # payback from the ticks table by the definition
        tk = result.ticks
        s = tk[tk["strategy"] == name].pivot(index="tick", columns="replicate",
                                               values="profit")
        b = tk[tk["strategy"] == "baseline"].pivot(index="tick", columns="replicate",
                                                   values="profit")
        cum = (s - b).cumsum().mean(axis=1)
        start = min(result.starts[name])
        ok = [t for t in cum.index if t >= start and (cum.loc[t:] >= 0).all()]
        expected = ok[0] if ok else None
        got = None if pd.isna(r["payback_tick"]) else int(r["payback_tick"])
        assert got == expected, name
        # the total Δprofit over the run is the last cumulative value
        assert cum.iloc[-1] == pytest.approx(d, rel=1e-9, abs=1e-6)


# --------------------------------------------------------------------------------------------
# Variance reduction
# --------------------------------------------------------------------------------------------


def test_paired_intervals_are_narrower_than_independent(small):
    out = paired_vs_independent(small, "train_contact_centre", replications=4, seed=1,
                                workers=1)
    assert out["strategy"] == "train_contact_centre" and out["replications"] == 4
    for metric in ("profit", "churned", "nps"):
        m = out[metric]
        assert m["paired_half_width"] < m["independent_half_width"], (metric, m)
        assert 0 <= m["ratio"] < 1


# --------------------------------------------------------------------------------------------
# Output: text, files, figures
# --------------------------------------------------------------------------------------------


def test_format_comparison(result):
    text = format_comparison(result)
    for name in result.strategies:
        assert name in text
    assert "profit" in text and "ROI" in text and "payback" in text
    assert "95 % interval" in text


def test_write_comparison(result, tmp_path):
    paths = write_comparison(result, tmp_path / "out")
    assert sorted(p.name for p in paths) == ["compare.json", "comparison.csv", "roi.csv",
                                             "runs.csv", "ticks.csv"]
    assert sorted(os.listdir(tmp_path / "out")) == sorted(p.name for p in paths)
    back = pd.read_csv(tmp_path / "out" / "comparison.csv")
    assert list(back.columns[:8]) == list(TABLE_COLUMNS)
    assert len(back) == len(result.table)
    runs = pd.read_csv(tmp_path / "out" / "runs.csv")
    assert list(runs["seed"]) == list(result.runs["seed"])
    assert np.array_equal(runs["profit"].to_numpy(), result.runs["profit"].to_numpy())


def test_a_comparison_written_from_python_reads_back(result, small, tmp_path):
    write_comparison(result, tmp_path / "out")
    meta = json.loads((tmp_path / "out" / "compare.json").read_text())
    assert meta["scenario_hash"] == small.content_hash()
    assert meta["discount_rate"] == small.economics.discount_rate
    assert meta["runs"] == len(result.runs) and meta["workers"] == 1
    back = read_comparison(tmp_path / "out")
    assert back.strategies == result.strategies and back.starts == result.starts
    assert (back.seed, back.replications, back.tick_days, back.discount_rate) == (
        result.seed, result.replications, result.tick_days, result.discount_rate)
    pd.testing.assert_frame_equal(back.table, result.table, check_dtype=False)
    pd.testing.assert_frame_equal(back.roi, result.roi, check_dtype=False)


def test_a_failed_replicate_stops_the_comparison_with_one_line(small, monkeypatch, tmp_path):
    import cxsim.runner

    real_run = cxsim.runner.run
    bad_seed = replicate_seeds(11, REPS)[1]

    def flaky(scenario, seed=0, **kw):
        if seed == bad_seed and kw.get("strategy") == "fix_courier":
            raise ZeroDivisionError("division by zero")
        return real_run(scenario, seed, **kw)

    monkeypatch.setattr(cxsim.runner, "run", flaky)
    with pytest.raises(RunsFailed) as err:
        compare(small, ["fix_courier"], replications=REPS, seed=11, workers=1)
    text = str(err.value)
    assert text == (f"1 of {2 * REPS} runs failed; first: strategy 'fix_courier', replicate 1 "
                    f"(seed {bad_seed}): ZeroDivisionError: division by zero")
    assert not err.value.bad_input
    code, out, errtext = call(["compare", "--customers", "3000", "--days", "90", "--reps",
                               str(REPS), "--seed", "11", "--strategies", "fix_courier",
                               "--workers", "1", "--quiet", "--out", tmp_path / "o"])
    assert code == 1 and errtext == f"cxsim: error: {text}\n"


def test_write_comparison_parquet_needs_pyarrow(result, tmp_path):
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        with pytest.raises(ValueError, match="pyarrow"):
            write_comparison(result, tmp_path, fmt="parquet")
        assert os.listdir(tmp_path) == []
    else:  # pragma: no cover - depends on the environment
        write_comparison(result, tmp_path, fmt="parquet")
        assert (tmp_path / "runs.parquet").is_file()


def test_comparison_bands_figure(result, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = plots.comparison_bands(result)
        plots.save(fig, tmp_path / "bands.png")
    assert (tmp_path / "bands.png").stat().st_size > 30_000
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 4
    titles = [ax.get_title() for ax in axes]
    assert "Active customers vs baseline" in titles
    assert "Cumulative profit vs baseline" in titles
    assert all(ax.get_xlabel() == "day" and ax.get_ylabel() for ax in axes)
    legend_texts = {t.get_text() for t in fig.legends[0].get_texts()}
    assert {pretty_name(s) for s in result.strategies} <= legend_texts
    # start lines: train_contact_centre and fix_courier at day 30, self_service at 60
    xs = {round(line.get_xdata()[0]) for line in axes[0].lines
          if line.get_linestyle() not in ("-", "None") and len(set(line.get_xdata())) == 1}
    assert {30, 60} <= xs


def test_forest_plot_figure(result, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = plots.forest_plot(result, metrics=("churned", "nps", "profit"))
        plots.save(fig, tmp_path / "forest.png")
    assert (tmp_path / "forest.png").stat().st_size > 20_000
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 3
    assert all(ax.get_title() and "strategy − baseline" in ax.get_xlabel() for ax in axes)
    labels = [t.get_text().replace("\n", " ") for t in axes[0].get_yticklabels()]
    assert set(labels) == {pretty_name(s) for s in STRATEGIES}


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------

CLI_SMALL = ["--customers", "2000", "--days", "70", "--reps", "2", "--seed", "4",
             "--strategies", ",".join(["train_contact_centre", "fix_courier", "self_service"])]
CLI_FILES = {"comparison.csv", "runs.csv", "ticks.csv", "roi.csv", "compare.json"}


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def cli_compare(tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp") / "results"
    code, stdout, stderr = call(["compare", *CLI_SMALL, "--workers", "1", "--plot",
                                 "--out", out])
    return {"code": code, "stdout": stdout, "stderr": stderr, "out": out}


@pytest.fixture
def earlier(cli_compare, tmp_path) -> Path:
    folder = tmp_path / "earlier"
    shutil.copytree(cli_compare["out"], folder)
    return folder


def test_cli_compare_writes_files(cli_compare):
    assert cli_compare["code"] == 0, cli_compare["stderr"]
    # 2,000 customers leave the contact centre too few agents: one warning, nothing else
    assert [line for line in cli_compare["stderr"].splitlines()
            if not line.startswith("warning: at --customers 2,000")] == []
    out = cli_compare["out"]
    assert set(os.listdir(out)) == CLI_FILES | {"comparison_bands.png", "forest_plot.png"}
    table = pd.read_csv(out / "comparison.csv")
    assert list(table.columns[:8]) == list(TABLE_COLUMNS)
    assert list(dict.fromkeys(table["strategy"])) == ["baseline", *STRATEGIES]
    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == 4 * 2
    meta = json.loads((out / "compare.json").read_text())
    assert meta["replications"] == 2 and meta["seed"] == 4 and meta["market"] == 2000
    assert meta["ticks"] == 70
    for name in ("comparison_bands.png", "forest_plot.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "train_contact_centre" in cli_compare["stdout"]
    assert "ROI" in cli_compare["stdout"] and "wrote" in cli_compare["stdout"]


def test_cli_compare_strategies_subset(tmp_path):
    code, out, err = call(["compare", *CLI_SMALL, "--strategies", "fix_courier",
                           "--workers", "1", "--quiet", "--out", tmp_path / "o"])
    assert code == 0, err
    assert out == "" and err == ""
    table = pd.read_csv(tmp_path / "o" / "comparison.csv")
    assert list(dict.fromkeys(table["strategy"])) == ["baseline", "fix_courier"]
    assert not (tmp_path / "o" / "forest_plot.png").exists()


def test_cli_run_replays_a_compare_row(cli_compare, tmp_path):
    runs = pd.read_csv(cli_compare["out"] / "runs.csv")
    row = runs[runs["strategy"] == "fix_courier"].iloc[1]
    code, _, err = call(["run", "--customers", "2000", "--days", "70", "--seed",
                         int(row["seed"]), "--strategy", "fix_courier", "--quiet",
                         "--out", tmp_path / "r"])
    assert code == 0, err
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["strategy"] == "fix_courier"
    for metric in ("active", "churned", "revenue", "cost", "profit", "intervention_cost",
                   "nps", "csat"):
        assert summary[metric] == row[metric], metric


def test_cli_run_strategy(tmp_path):
    code, out, err = call(["run", "--customers", "1500", "--days", "40", "--strategy",
                           "train_contact_centre", "--out", tmp_path / "r"])
    assert code == 0, err
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["strategy"] == "train_contact_centre"
    assert summary["intervention_cost"] > 0
    assert "train_contact_centre" in out
    code, _, err = call(["run", "--customers", "1500", "--days", "5", "--quiet",
                         "--out", tmp_path / "b"])
    assert code == 0, err
    assert json.loads((tmp_path / "b" / "summary.json").read_text())["strategy"] == "baseline"


RUN_BAD = {
    "unknown": (["--strategy", "nope"], r"unknown strategy 'nope'"),
    "horizon": (["--strategy", "self_service", "--days", "30"],
                r"self_service.*starts at tick 60.*horizon of 30 ticks"),
}


@pytest.mark.parametrize("name", sorted(RUN_BAD))
def test_cli_run_bad_strategy(name, earlier, tmp_path):
    extra, pattern = RUN_BAD[name]
    before = snapshot(earlier)
    code, out, err = call(["run", "--customers", "1500", "--days", "40", *extra,
                           "--out", earlier])
    assert code == 2 and "Traceback" not in err
    assert len(err.splitlines()) == 1 and re.search(pattern, err), err
    assert snapshot(earlier) == before
    code, _, err = call(["run", "--customers", "1500", "--days", "40", *extra,
                         "--out", tmp_path / "fresh"])
    assert code == 2 and not (tmp_path / "fresh").exists()


COMPARE_BAD = {
    "unknown_strategy": (["--strategies", "foo"], r"unknown strategy 'foo'"),
    "one_unknown": (["--strategies", "fix_courier,foo"], r"unknown strategy 'foo'"),
    "no_names": (["--strategies", " , "], r"--strategies: no strategy names given"),
    "reps_0": (["--reps", "0"],
               r"--reps must be at least 2 \(intervals need two replications\)$"),
    "reps_1": (["--reps", "1"],
               r"--reps must be at least 2 \(intervals need two replications\)$"),
    "reps_text": (["--reps", "ten"], r"--reps must be a whole number, got 'ten'"),
    "workers_0": (["--workers", "0"], r"--workers must be at least 1, got 0"),
    "horizon": (["--days", "45"], r"self_service.*starts at tick 60.*horizon of 45 ticks"),
    "days_negative": (["--days", "-3"], r"--days must be positive, got -3"),
    "customers_zero": (["--customers", "0"], r"--customers must be at least 1, got 0"),
    "seed_negative": (["--seed", "-1"], r"--seed must be non-negative, got -1"),
    "unknown_flag": (["--colour=red"], r"unrecognized arguments: --colour=red$"),
}


@pytest.mark.parametrize("name", sorted(COMPARE_BAD))
def test_cli_compare_bad_input(name, earlier, tmp_path):
    extra, pattern = COMPARE_BAD[name]
    before = snapshot(earlier)
    code, out, err = call(["compare", *CLI_SMALL, "--workers", "1", *extra, "--out", earlier])
    assert code == 2, (code, err)
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    assert re.search(pattern, err), err
    assert "wrote" not in out
    assert snapshot(earlier) == before
    fresh = tmp_path / "fresh"
    code, _, _ = call(["compare", *CLI_SMALL, "--workers", "1", *extra, "--out", fresh])
    assert code == 2
    assert not fresh.exists()


def test_cli_compare_bad_scenario_file(tmp_path, earlier):
    root = Path(__file__).resolve().parent.parent
    text = (root / "scenarios" / "retail.toml").read_text(encoding="utf-8")
    p = tmp_path / "typo.toml"
    p.write_text(text.replace("base_churn = 0.040643", "base_churnn = 0.020743"), encoding="utf-8")
    before = snapshot(earlier)
    code, out, err = call(["compare", p, *CLI_SMALL, "--out", earlier])
    assert code == 2
    assert err.splitlines() == ["segments.loyal: unknown key 'base_churnn'"]
    assert snapshot(earlier) == before


def test_cli_compare_subprocess_exit_code(tmp_path):
    env = dict(os.environ)
    env.pop("CXSIM_DEBUG", None)
    proc = subprocess.run([sys.executable, "-m", "cxsim.cli", "compare", "--reps", "1",
                           "--out", str(tmp_path / "x")], capture_output=True, text=True,
                          timeout=120, env=env, cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == [
        "cxsim compare: argument --reps: --reps must be at least 2 (intervals need two "
        "replications)"]
    assert not (tmp_path / "x").exists()


def test_cli_compare_help():
    code, out, _ = call(["compare", "--help"])
    assert code == 0
    for flag in ("--strategies", "--reps", "--days", "--customers", "--seed", "--workers",
                 "--out", "--plot"):
        assert flag in out, flag
    code, out, _ = call(["run", "--help"])
    assert "--strategy" in out


# --------------------------------------------------------------------------------------------
# Slow: interval coverage with the simulator
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_simulator_interval_coverage():
    """Coverage of 5-replicate paired intervals of the simulator's Δprofit and ΔNPS.

    The true difference is not known in closed form; 300 paired replications estimate it to
    a small fraction of one 5-replicate interval's width, and the 60 disjoint groups of 5
    must cover it about 95 % of the time (binomial tolerance for 60 groups).
    """
    # a sample of the full market: its contact centre queues as the full one does (a real
    # 2,000-customer retailer would have a fifth of an agent, whom training barely moves)
    sc = resize(cxsim.default_scenario(), customers=2000, days=60, sample=True)
    res = compare(sc, ["train_contact_centre"], replications=300, seed=99)
    base = _runs_of(res, "baseline")
    strat = _runs_of(res, "train_contact_centre")
    for metric in ("profit", "nps", "csat"):
        d = strat[metric].to_numpy(float) - base[metric].to_numpy(float)
        truth = d.mean()
        groups = d.reshape(60, 5)
        hits = 0
        for g in groups:
            _, lo, hi, _, _ = mean_interval(g)
            hits += lo <= truth <= hi
        cov = hits / 60
        assert abs(cov - 0.95) <= 3 * math.sqrt(0.95 * 0.05 / 60) + 0.01, (metric, cov)
