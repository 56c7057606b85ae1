"""The ensemble: R replicates in one kernel pass, each bit-identical to running it alone."""

from __future__ import annotations

import numba
import pandas as pd
import pytest
from conftest import minimal_scenario
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cxsim
from cxsim.kernels.inputs import Today
from cxsim.runner import build_scenario, resize

TABLES = ("metrics", "touchpoint_metrics", "segment_metrics", "queue_metrics",
          "partner_metrics", "flow_metrics", "employee_table")


def assert_same_run(alone: cxsim.CXModel, member: cxsim.CXModel) -> None:
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(alone, name), getattr(member, name),
                                      check_exact=True, obj=name)
    assert alone.summary() == member.summary()


@pytest.fixture(scope="module")
def small() -> cxsim.Scenario:
    return resize(cxsim.default_scenario(), customers=3000, days=40)


def test_seeds_match_single_runs(small):
    seeds = [0, 7, 123456789]
    ens = cxsim.Ensemble(small, seeds=seeds).run()
    for seed, member in zip(seeds, ens.models, strict=True):
        assert_same_run(cxsim.CXModel(small, rng=seed).run(), member)


def test_strategies_and_parameter_sets_match_single_runs(small):
    """Different strategies and parameter sets (market size, quality, weekly ticks) in one
    ensemble: every member equals its single run."""
    base = small.to_dict()
    bigger = build_scenario(base, {"touchpoints.web_browse.quality": 0.6}, customers=5000, days=40)
    strategies = [None, "train_contact_centre", ["fix_courier", "recover_detractors"]]
    scenarios = [small, small, bigger]
    ens = cxsim.Ensemble(scenarios, seeds=[3, 3, 4], strategies=strategies).run()
    for sc, seed, strategy, member in zip(scenarios, [3, 3, 4], strategies, ens.models,
                                          strict=True):
        assert_same_run(cxsim.CXModel(sc, rng=seed, strategy=strategy).run(), member)


def test_full_mixing_and_long_ticks():
    """No network (full mixing: the word of mouth goes through Today) and weekly ticks."""
    sc = minimal_scenario(simulation={"ticks": 12, "tick_days": 7.0},
                          market={"network": "full"})
    ens = cxsim.Ensemble(sc, seeds=[1, 2]).run()
    for seed, member in zip([1, 2], ens.models, strict=True):
        assert_same_run(cxsim.CXModel(sc, rng=seed).run(), member)


def test_a_large_pass_matches_across_thread_counts():
    """Above SERIAL_BELOW customers in all, the pass uses every thread; results are the same
    on one thread."""
    sc = resize(cxsim.default_scenario(), customers=30_000, days=4)
    threads = numba.get_num_threads()
    one = cxsim.Ensemble(sc, seeds=[5, 6])
    numba.set_num_threads(1)
    try:
        one.run()
    finally:
        numba.set_num_threads(threads)
    two = cxsim.Ensemble(sc, seeds=[5, 6]).run()
    assert numba.get_num_threads() == threads  # restored
    for a, b in zip(one.models, two.models, strict=True):
        assert_same_run(a, b)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.permutations([11, 12, 13]), st.integers(1, 3))
def test_a_member_does_not_depend_on_the_others(order, keep):
    """Who else is in the ensemble, and in which order, changes no member's results."""
    sc = minimal_scenario(simulation={"ticks": 8, "tick_days": 1.0})
    full = cxsim.Ensemble(sc, seeds=[11, 12, 13]).run(8)
    part = cxsim.Ensemble(sc, seeds=order[:keep]).run(8)
    for seed, member in zip(order[:keep], part.models, strict=True):
        pd.testing.assert_frame_equal(member.metrics,
                                      full.models[[11, 12, 13].index(seed)].metrics,
                                      check_exact=True)


def test_stacked_metrics_and_summaries(small):
    ens = cxsim.Ensemble(small, seeds=[1, 2]).run(5)
    m = ens.metrics
    assert list(m.columns[:2]) == ["replicate", "tick"]
    assert m.groupby("replicate").size().tolist() == [5, 5]
    assert len(ens) == 2 and ens.time_tick == 5
    assert ens.summaries()[1] == ens.models[1].summary()


def test_today_row_order():
    """The pass rebuilds Today from a row of floats: its fields must be the nine it knows."""
    assert Today._fields == ("referral_fraction", "contagion_shift", "wom_log", "wom_target",
                             "omnichannel", "p_tick", "q_tick", "bass_e", "bass_1me")


@pytest.mark.parametrize("kwargs, message", [
    ({"seeds": []}, "at least one seed"),
    ({"seeds": [1, 2], "strategies": [None]}, "1 strategies for 2 seeds"),
])
def test_bad_arguments(small, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cxsim.Ensemble(small, **kwargs)


def test_mismatched_horizons_are_refused(small):
    other = resize(small, days=30)
    with pytest.raises(ValueError, match="same number of ticks"):
        cxsim.Ensemble([small, other], seeds=[1, 2])
    with pytest.raises(ValueError, match="2 scenarios for 1 seeds"):
        cxsim.Ensemble([small, other], seeds=[1])


# --------------------------------------------------------------------------------------------
# run_many, compare and sweep with ensembles
# --------------------------------------------------------------------------------------------


def test_an_ensemble_that_fails_runs_its_members_one_by_one(small, monkeypatch):
    """Should a whole ensemble fail, each spec runs alone: a failing run fails alone."""
    from cxsim import ensemble as E
    from cxsim.executors import RunSpec, run_many

    def broken(self, ticks=None, progress=False):
        raise RuntimeError("the pass broke")

    monkeypatch.setattr(E.Ensemble, "run", broken)
    specs = [RunSpec(k, small, seed=k, ticks=5) for k in range(3)]
    batch = run_many(specs, executor="serial", ensemble=3)
    assert [r["status"] for r in batch.records] == ["done"] * 3
    assert batch.records[2]["summary"] == cxsim.run(small, 2, ticks=5).summary


def test_runs_of_different_horizons_form_separate_ensembles(small):
    from cxsim.executors import RunSpec, execute_together

    specs = [RunSpec(0, small, seed=1, ticks=3), RunSpec(1, small, seed=2, ticks=5),
             RunSpec(2, small, seed=3, ticks=3)]
    records = execute_together(specs)
    assert [r["summary"] for r in records] == [
        cxsim.run(small, s, ticks=t).summary for s, t in ((1, 3), (2, 5), (3, 3))]


def test_compare_and_sweep_give_the_same_results_with_ensembles(small, tmp_path):
    """compare in this process and sweep on a process pool: ensembles change nothing."""
    sc = resize(small, days=35)
    kw = {"strategies": ["train_contact_centre"], "replications": 3, "seed": 4}
    one = cxsim.compare(sc, workers=1, **kw)
    together = cxsim.compare(sc, workers=1, ensemble=4, **kw)
    pd.testing.assert_frame_equal(one.table, together.table, check_exact=True)
    params = {"touchpoints.chat.quality": [0.6, 0.9]}
    a = cxsim.sweep(sc, params, replications=2, workers=1)
    b = cxsim.sweep(sc, params, replications=2, workers=2, ensemble=3)
    cols = [c for c in a.runs.columns if c not in ("wall_s", "seconds")]
    pd.testing.assert_frame_equal(a.runs[cols].reset_index(drop=True),
                                  b.runs[cols].reset_index(drop=True), check_exact=True)


@pytest.mark.parametrize("value, message", [
    (0, "ensemble must be from 1 to 4,096"), (1.5, "ensemble must be a whole number"),
    (True, "ensemble must be a whole number")])
def test_bad_ensemble_sizes_are_refused(small, value, message):
    from cxsim.errors import InputError

    with pytest.raises(InputError, match=message):
        cxsim.compare(small, ["train_contact_centre"], 2, ensemble=value)


@pytest.mark.parametrize("command", ["compare", "sweep"])
@pytest.mark.parametrize("value", ["0", "two", "5000"])
def test_bad_ensemble_flag_is_one_line_exit_2(command, value, tmp_path):
    from conftest import call

    extra = ["--param", "market.q=0.1"] if command == "sweep" else []
    code, out, err = call([command, "--ensemble", value, "--out", tmp_path / "x", *extra])
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "--ensemble" in err and value in err
    assert not (tmp_path / "x").exists()
