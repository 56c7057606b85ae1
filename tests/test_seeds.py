"""Seeds that behave: any integer-like seed runs, and the recorded seed repeats the run."""

import numpy as np
import pandas as pd
import pytest

import cxsim
from cxsim.rng import replicate_seeds, seed_value
from cxsim.runner import resize


@pytest.fixture(scope="module")
def tiny() -> cxsim.Scenario:
    return resize(cxsim.default_scenario(), customers=800, days=12)


@pytest.fixture(scope="module")
def three(tiny):
    return cxsim.run(tiny, 3)


def same_run(a, b) -> None:
    pd.testing.assert_frame_equal(a.metrics, b.metrics, check_exact=True)
    assert a.summary == b.summary


@pytest.mark.parametrize("seed", [np.int64(3), np.uint32(3), np.int8(3)])
def test_numpy_integers_are_the_integer(tiny, three, seed):
    r = cxsim.run(tiny, seed)
    assert r.seed == 3 and type(r.seed) is int
    same_run(r, three)


def test_a_spawned_seed_sequence_records_the_seed_that_repeats_it(tiny):
    child = np.random.SeedSequence(11).spawn(3)[2]
    r = cxsim.run(tiny, child)
    assert r.seed == replicate_seeds(11, 3)[2] == seed_value(child)
    same_run(cxsim.run(tiny, r.seed), r)


def test_none_draws_fresh_entropy_and_records_it(tiny):
    a, b = cxsim.run(tiny, None), cxsim.run(tiny, None)
    assert a.seed != b.seed  # fresh entropy each time (2**-32 chance of a clash)
    same_run(cxsim.run(tiny, a.seed), a)


@pytest.mark.parametrize("seed, error", [(-1, ValueError), (1.5, TypeError), (True, TypeError),
                                         ("7", TypeError)])
def test_other_seeds_are_refused_before_running(tiny, seed, error):
    with pytest.raises(error, match="seed"):
        cxsim.run(tiny, seed)
