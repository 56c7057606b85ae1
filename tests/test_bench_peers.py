"""The peers benchmark's implementations compute one model (experiments/bench/peers/model.md).

Idiomatic Mesa, mesa-frames (skipped when not installed) and cxsim's kernel on the reduced
scenario, each over replicate seeds: every output's mean must agree with cxsim's within
``K`` standard errors of the difference (Welch-style).  The check is shown to fail for
models that differ a little (another word-of-mouth strength, peak-end weights, quality).
"""

import dataclasses
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "experiments" / "bench" / "peers"))

import _reduced as R  # noqa: E402
from _mesa_peer import run_mesa  # noqa: E402

#: customers, ticks, replicate runs of each implementation, allowed |z| of a difference
N, T, REPS, K = 1000, 30, 8, 4.0
#: mesa-frames 0.1.0a0 calls Polars' ``is_in`` in a way Polars 2 deprecates
pytestmark = pytest.mark.filterwarnings("ignore:`is_in` with a collection:DeprecationWarning")


@pytest.fixture(scope="module")
def scenario():
    return R.load(customers=N, ticks=T)


@pytest.fixture(scope="module")
def params(scenario):
    return R.Params.from_scenario(scenario)


@pytest.fixture(scope="module")
def cxsim_runs(scenario):
    return [R.run_cxsim(scenario, seed, T) for seed in range(REPS)]


def disagreements(runs, reference):
    """The outputs whose means differ by more than K standard errors: their z."""
    return {name: round(d["z"], 2) for name, d in R.differences(runs, reference, K).items()
            if not d["agrees"]}


def test_mesa_computes_the_model_cxsim_computes(params, cxsim_runs):
    runs = [run_mesa(params, 100 + seed, T) for seed in range(REPS)]
    assert disagreements(runs, cxsim_runs) == {}


def test_mesa_frames_computes_the_model_cxsim_computes(params, cxsim_runs):
    pytest.importorskip("mesa_frames")
    from _frames_peer import run_frames

    runs = [run_frames(params, 200 + seed, T) for seed in range(REPS)]
    assert disagreements(runs, cxsim_runs) == {}


@pytest.mark.parametrize("change", [
    {"wom_strength": 0.07},
    {"peak_weight": 0.5, "end_weight": 0.5},
    {"quality": 0.78},
    {"churn_logit": -5.3},
])
def test_the_check_tells_a_slightly_different_model(params, cxsim_runs, change):
    other = dataclasses.replace(params, **change)
    runs = [run_mesa(other, 100 + seed, T) for seed in range(REPS)]
    assert disagreements(runs, cxsim_runs)


def test_the_outputs_move_over_a_run(cxsim_runs):
    # every mechanism is at work: satisfaction and expectation fall from their starting
    # levels, a fifth churn, detractors are common but not everyone
    means = {name: mean for name, (mean, _) in R.spread(cxsim_runs).items()}
    assert 0.6 < means["satisfaction"] < 0.72 and 0.55 < means["expectation"] < 0.68
    assert 0.1 < means["churned"] < 0.3 and 0.3 < means["detractors"] < 0.6


def test_only_the_reduced_configuration_is_accepted():
    import cxsim

    with pytest.raises(ValueError, match="not the reduced model: one segment"):
        R.Params.from_scenario(cxsim.load_scenario(ROOT / "scenarios" / "coffee.toml"))


def test_the_peers_build_the_network_cxsim_builds():
    import numpy as np

    from cxsim.network import small_world

    for n, degree, rewiring in ((500, 10, 0.1), (37, 4, 0.5), (3, 10, 0.0)):
        ours = R.small_world(n, degree, rewiring, np.random.default_rng(7))
        theirs = small_world(n, degree, rewiring, np.random.default_rng(7))
        assert np.array_equal(ours[0], theirs[0])
        for i in range(n):  # the same contacts, listed in another order
            row = slice(ours[0][i], ours[0][i + 1])
            assert sorted(ours[1][row]) == sorted(theirs[1][row])
