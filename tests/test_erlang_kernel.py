"""The compiled queue phase (cxsim.kernels.erlang): the incomplete beta function it writes out,
Erlang A through its lean path, and the forecast.

* ``betainc`` matches ``scipy.special.betainc`` over a grid of a, b from 1e-3 to 1e6 and x
  in [0, 1], to 2e-13 relative (a, b up to 1e4, results above 1e-30), 5e-13 (up to 1e6) and
  2e-12 below 1e-30 (there the prefactor is the exponential of a log near -700), except at
  the few points where SciPy itself is off, which are checked against 50-digit mpmath
  values instead;
* the queue phase's direct calls give what the public, validating functions give;
* the forecast is the power series it stands for.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import betainc as scipy_betainc

from cxsim.kernels.erlang import betainc, erlang_a_core, forecast
from cxsim.kernels.waits import mixture_device
from cxsim.queueing import ErlangAResult, erlang_a, erlang_a_shared, wait_device

# (a, b, x, I_x(a, b)) by mpmath at 50 digits: where SciPy 1.17 is off (first four) and where
# the first continued fraction loses digits near x = 1 with a large a (the rest)
MPMATH = [
    (10.0, 1e6, 1e-05, 0.5420821709850846),  # SciPy off by 3.8e-11
    (316.2277660168379, 31.622776601683793, 0.1, 1.6826646303600674e-274),  # 1.3e-10
    (1584.893192461114, 39.81071705534978, 0.625, 2.367164890218848e-262),  # 6.6e-3
    (1000.0, 39.81071705534978, 0.475, 4.018487934741772e-264),  # 3.7e-3
    (1e6, 0.046415888336127774, 0.99999, 2.2102149950860757e-07),
    (630957.3444801943, 1.584893192461114, 0.99999, 0.006513978372765202),
    (760489.9081828984, 0.07443586703640183, 0.9999983567713152, 0.011866946881346934),
    (4.6415888336127775, 0.001, 0.9, 0.0006430624973298115),
    (3.9, 0.0017, 0.86, 0.0009208621351345832),
    (2.0, 3.0, 0.3, 0.3483),
    (0.5, 0.5, 0.5, 0.5),
    (0.001, 0.001, 0.999, 0.5034406643608944),
]


def test_betainc_matches_mpmath_where_scipy_is_off_and_near_one():
    for a, b, x, want in MPMATH:
        assert betainc(a, b, x) == pytest.approx(want, rel=2e-13, abs=0.0), (a, b, x)


def test_betainc_matches_scipy_over_a_wide_grid():
    ab = np.logspace(-3, 6, 19)
    xs = np.array([0.0, 1e-300, 1e-100, 1e-20, 1e-10, 1e-5, 1e-3, 0.01, 0.05, 0.1, 0.2, 0.3,
                   0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 1 - 1e-5, 1 - 1e-10, 1.0])
    a, b, x = (g.ravel() for g in np.meshgrid(ab, ab, xs, indexing="ij"))
    want = scipy_betainc(a, b, x)
    got = np.array([betainc(*p) for p in zip(a, b, x, strict=True)])
    scipy_off = np.zeros(len(a), bool)
    for pa, pb, px, _ in MPMATH[:2]:
        scipy_off |= np.isclose(a, pa, rtol=1e-12) & np.isclose(b, pb, rtol=1e-12) & (x == px)
    assert scipy_off.sum() == 2
    rtol = np.where(want < 1e-30, 2e-12, np.where(np.maximum(a, b) <= 1e4, 2e-13, 5e-13))
    miss = np.abs(got - want) > rtol * want + 1e-300  # SciPy flushes subnormal results to 0
    assert not (miss & ~scipy_off).any(), np.column_stack([a, b, x, want, got])[miss][:5]
    assert np.all(got[x == 0.0] == 0.0) and np.all(got[x == 1.0] == 1.0)
    assert np.all((got >= 0.0) & (got <= 1.0))


def test_betainc_symmetry_and_edges():
    rng = np.random.default_rng(3)
    for _ in range(300):
        a, b = 10 ** rng.uniform(-3, 4, 2)
        x = rng.random()
        assert betainc(a, b, x) + betainc(b, a, 1.0 - x) == pytest.approx(1.0, abs=1e-12)
    assert betainc(1.0, 1.0, 0.25) == pytest.approx(0.25, rel=1e-15)  # uniform
    assert betainc(1.0, math.inf, 1e-300) == 1.0 and betainc(2.0, 3.0, 0.0) == 0.0
    assert math.isnan(betainc(math.nan, 1.0, 0.5))


def test_the_lean_path_gives_the_public_figures():
    """``Queues.open_day`` calls the compiled core and device directly: the same figures as
    the validating public functions, for whole and fractional agents."""
    rng = np.random.default_rng(8)
    weights, patiences = np.array([0.35, 0.65]), np.array([6.0, 4.0])
    for _ in range(200):
        agents = float(rng.uniform(0, 30))
        lam = float(rng.uniform(0.0, 1.3)) * max(agents, 0.5) / 6.0
        if rng.random() < 0.2:
            agents = float(math.floor(agents))
        pat, target = float(weights @ patiences), float(rng.choice([0.0, 1 / 3, 2.0]))
        q = erlang_a_shared(lam, 6.0, pat, agents, target)
        assert ErlangAResult(*erlang_a_core(lam, 6.0, pat, agents, target)) == q
        found, p_wait, mean_virtual = mixture_device(q.p_abandon, q.service_level, q.p_wait,
                                                     q.mean_wait, weights, patiences, target)
        dev = wait_device(q, pat, target, (weights, patiences))
        assert found and (p_wait, mean_virtual) == (dev.p_wait, dev.mean_virtual)
        if agents == math.floor(agents):
            assert erlang_a(lam, 6.0, pat, int(agents), target) == q


def test_one_patience_group_is_not_a_mixture():
    q = erlang_a(1.0, 6.0, 5.0, 7, 1 / 3)
    for w, p in [([1.0], [5.0]), ([1.0, 2.0], [5.0, 5.0]), ([0.0, 2.0], [3.0, 5.0]),
                 ([1.0, 2.0], [math.inf, 5.0])]:
        found, _, _ = mixture_device(q.p_abandon, q.service_level, q.p_wait, q.mean_wait,
                                     np.array(w), np.array(p), 1 / 3)
        assert not found
    with pytest.raises(ValueError, match="mix"):
        wait_device(q, 5.0, 1 / 3, (np.ones(2), np.ones(3)))


def test_a_long_queue_keeps_its_figures_consistent():
    """An overloaded queue with a very long patience has a window of queue states far from
    0: the busy agents stay below the agents on duty (the window's large log offset cancels
    exactly in the normalisation)."""
    q = erlang_a(216.65796120942477, 0.3886082793010397, 4956664.25871706, 33, 1.0)
    assert q.carried_load <= 33.0
    assert q.carried_load == pytest.approx(33.0, rel=1e-12)
    assert q.p_wait == pytest.approx(1.0, rel=1e-12)


def test_forecast_is_the_power_series():
    rng = np.random.default_rng(5)
    n = 9
    moves = rng.random((n, n)) * (rng.random((n, n)) < 0.4)
    visits = moves.sum(axis=1) * rng.uniform(1.0, 3.0, n)
    visits[2] = 0.0
    entries = rng.random(n) * 100
    share = np.where(visits[:, None] > 0, moves / np.where(visits > 0, visits, 1.0)[:, None],
                     0.0)
    want = sum(np.linalg.matrix_power(share.T, k) @ entries for k in range(6))
    np.testing.assert_allclose(forecast(moves, visits, entries, 6), want, rtol=1e-13)
    np.testing.assert_array_equal(forecast(moves, visits, entries, 1), entries)
