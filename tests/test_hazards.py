"""The churn hazards the model reports are the ones its churn draws use."""

import numba
import numpy as np
import pytest

import cxsim
from cxsim.runner import resize
from cxsim.scenario import default_scenario


@pytest.fixture(scope="module")
def small():
    return resize(default_scenario(), 6000)


def test_hazards_predict_next_tick_churn(small):
    """Summed hazards forecast the next tick's churners within Poisson-binomial noise."""
    m = cxsim.CXModel(small, rng=3)
    m.run(20)
    expected, var, observed = 0.0, 0.0, 0.0
    for _ in range(60):
        h = m.churn_hazards()
        expected += np.nansum(h)
        var += np.nansum(h * (1 - h))
        m.step()
        observed += m.metrics["churned"].iloc[-1]
    assert abs(observed - expected) < 4 * np.sqrt(var), (observed, expected)


def test_hazards_only_for_customers_and_in_range(small):
    m = cxsim.CXModel(small, rng=1).run(5)
    h = m.churn_hazards()
    customers = m.arrays.status == 1
    assert np.isfinite(h[customers]).all() and np.isnan(h[~customers]).all()
    assert ((h[customers] > 0) & (h[customers] < 1)).all()


def test_hazards_do_not_depend_on_threads_or_engine(small):
    sc = resize(default_scenario(), 800)
    a = cxsim.CXModel(sc, rng=2).run(4)
    b = cxsim.CXModel(sc, rng=2, engine="mesa").run(4)
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = a.churn_hazards()
    finally:
        numba.set_num_threads(threads)
    np.testing.assert_array_equal(one, a.churn_hazards())
    np.testing.assert_array_equal(a.churn_hazards(), b.churn_hazards())
