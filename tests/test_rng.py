"""Tests of the counter-based random streams in :mod:`cxsim.rng`.

The generator is deterministic, so every statistical check below is a fixed computation (no
flakiness); the bounds are the usual 4-standard-error ones a good generator passes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit
from scipy import stats

from cxsim import kernels as K
from cxsim import rng as R
from cxsim.rng import (
    STREAM_INDEX,
    STREAMS,
    beta,
    draw_bits,
    gamma,
    mix64,
    normal,
    numpy_generator,
    root_key,
    stream_key,
    stream_keys,
    uniform,
    uniform_pair,
)

MASK = (1 << 64) - 1


@njit(cache=True)
def _uniform_block(key, agents, tick, slot):
    """uniform() for agents 0..agents-1 (vectorised here only to keep the test fast)."""
    out = np.empty(agents)
    for i in range(agents):
        out[i] = uniform(key, i, tick, slot)
    return out


@njit(cache=True)
def _normal_block(key, agents):
    out = np.empty(agents)
    for i in range(agents):
        out[i] = normal(key, i, 3, 7)
    return out


@njit(cache=True)
def _gamma_block(key, agents, shape):
    out = np.empty(agents)
    for i in range(agents):
        out[i] = gamma(key, i, 0, 0, shape)
    return out


@njit(cache=True)
def _beta_block(key, agents, a, b):
    out = np.empty(agents)
    for i in range(agents):
        out[i] = beta(key, i, 0, 0, a, b)
    return out


@pytest.fixture(scope="module")
def key():
    return stream_keys(20240607)[STREAM_INDEX["episode"]]


# --------------------------------------------------------------------------------------------
# keys
# --------------------------------------------------------------------------------------------


def test_streams_match_kernel_indices():
    assert len(set(STREAMS)) == len(STREAMS)
    assert STREAM_INDEX == {s: k for k, s in enumerate(STREAMS)}
    for name, k in [("segment", K.K_SEGMENT), ("initial", K.K_INITIAL),
                    ("frailty", K.K_FRAILTY), ("nps_style", K.K_STYLE),
                    ("start_state", K.K_START), ("acquire", K.K_ACQUIRE),
                    ("daily", K.K_DAILY), ("episode", K.K_EPISODE), ("survey", K.K_SURVEY)]:
        assert STREAM_INDEX[name] == k


def test_stream_keys_shape_and_distinct():
    keys = stream_keys(1)
    assert keys.dtype == np.uint64
    assert keys.shape == (len(STREAMS),)
    assert len(set(keys.tolist())) == len(STREAMS)


def test_stream_keys_reproducible_and_depend_on_seed():
    assert np.array_equal(stream_keys(7), stream_keys(7))
    a, b = stream_keys(7), stream_keys(8)
    assert not np.any(a == b)
    assert not np.array_equal(stream_keys(0), stream_keys(1))


def test_root_key_accepts_seed_sequence():
    assert root_key(np.random.SeedSequence(42)) == root_key(42)
    assert np.array_equal(stream_keys(np.random.SeedSequence(42)), stream_keys(42))
    # a spawned child is a different stream family
    child = np.random.SeedSequence(42).spawn(1)[0]
    assert root_key(child) != root_key(42)
    assert not np.array_equal(stream_keys(child), stream_keys(42))
    assert 0 <= root_key(42) <= MASK


def test_stream_key_depends_on_name_and_root():
    r = root_key(3)
    assert stream_key(r, "daily") != stream_key(r, "episode")
    assert stream_key(r, "daily") != stream_key(r + 1, "daily")
    assert stream_key(r, "daily") == stream_key(r, "daily")


def test_mix64_matches_python_reference():
    rs = np.random.Generator(np.random.PCG64(5))
    for z in [0, 1, 2**63, MASK, *rs.integers(0, 2**63, size=20, dtype=np.int64).tolist()]:
        assert int(mix64(np.uint64(z))) == R._mix64_py(z)


def test_numpy_generator_reproducible_per_stream():
    keys = stream_keys(9)
    a = numpy_generator(keys, "network").random(5)
    b = numpy_generator(keys, "network").random(5)
    c = numpy_generator(keys, "workforce").random(5)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


# --------------------------------------------------------------------------------------------
# uniforms
# --------------------------------------------------------------------------------------------


def test_uniform_in_open_unit_interval(key):
    u = _uniform_block(key, 100_000, 5, 3)
    assert u.min() > 0.0
    assert u.max() < 1.0
    a, b = uniform_pair(key, 1, 2, 3)
    assert 0.0 < a < 1.0 and 0.0 < b < 1.0


def _unxorshift(z: int, s: int) -> int:
    x = z
    for _ in range(64 // s + 1):
        x = z ^ (x >> s)
    return x & MASK


def _unmix64(z: int) -> int:
    """Inverse of the SplitMix64 finaliser (it is a bijection)."""
    z = _unxorshift(z, 31)
    z = (z * pow(0x94D049BB133111EB, -1, 1 << 64)) & MASK
    z = _unxorshift(z, 27)
    z = (z * pow(0xBF58476D1CE4E5B9, -1, 1 << 64)) & MASK
    return _unxorshift(z, 30)


def test_extreme_bits_found_by_inverting_the_mixer():
    """The largest 53-bit value must still map strictly below 1.

    With agent = tick = slot = 0, ``draw_bits = mix64(mix64(key))``, so inverting the
    finaliser twice gives the key whose draw is all ones.  ``(2**53 - 1) + 0.5`` is not a
    float64 (ties-to-even rounds it to ``2**53``), so ``uniform`` returns exactly 1.0.
    """
    bad_key = _unmix64(_unmix64(MASK))
    assert int(draw_bits(np.uint64(bad_key), 0, 0, 0)) == MASK
    lo_key = _unmix64(_unmix64(0))
    assert int(draw_bits(np.uint64(lo_key), 0, 0, 0)) == 0
    assert 0.0 < uniform(np.uint64(lo_key), 0, 0, 0)
    # uniform_pair has 32-bit halves: exactly representable, always inside (0, 1)
    a, b = uniform_pair(np.uint64(bad_key), 0, 0, 0)
    assert a < 1.0 and b < 1.0


def test_uniform_never_returns_one():
    bad_key = _unmix64(_unmix64(MASK))
    assert uniform(np.uint64(bad_key), 0, 0, 0) < 1.0


def test_uniform_reproducible(key):
    assert uniform(key, 17, 4, 2) == uniform(key, 17, 4, 2)
    assert np.array_equal(_uniform_block(key, 1000, 1, 0), _uniform_block(key, 1000, 1, 0))


def test_uniform_differs_by_stream_agent_tick_slot():
    keys = stream_keys(11)
    base = uniform(keys[0], 10, 20, 3)
    assert uniform(keys[1], 10, 20, 3) != base  # stream
    assert uniform(keys[0], 11, 20, 3) != base  # agent
    assert uniform(keys[0], 10, 21, 3) != base  # tick
    assert uniform(keys[0], 10, 20, 4) != base  # slot
    # different seeds, same coordinates
    assert uniform(stream_keys(12)[0], 10, 20, 3) != base
    # whole blocks: no coincidences between neighbouring coordinates
    blocks = [_uniform_block(keys[s], 2000, t, sl) for s in (0, 6) for t in (1, 2)
              for sl in (0, 1)]
    allv = np.concatenate(blocks)
    assert len(np.unique(allv)) == allv.size


def test_uniform_ks_over_agents(key):
    u = _uniform_block(key, 100_000, 1, 0)
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    assert u.mean() == pytest.approx(0.5, abs=4 * math.sqrt(1 / 12 / u.size))


def test_uniform_ks_over_ticks_and_slots(key):
    u_t = np.array([uniform(key, 5, t, 0) for t in range(20_000)])
    u_s = np.array([uniform(key, 5, 1, s) for s in range(20_000)])
    assert stats.kstest(u_t, "uniform").pvalue > 1e-3
    assert stats.kstest(u_s, "uniform").pvalue > 1e-3


def test_uniform_lag_correlation_near_zero(key):
    n = 100_000
    u = _uniform_block(key, n, 1, 0)
    for lag in (1, 2, 7):
        r = np.corrcoef(u[:-lag], u[lag:])[0, 1]
        assert abs(r) < 4 / math.sqrt(n)
    # consecutive ticks of the same agent and consecutive slots
    v = _uniform_block(key, n, 2, 0)
    w = _uniform_block(key, n, 1, 1)
    assert abs(np.corrcoef(u, v)[0, 1]) < 4 / math.sqrt(n)
    assert abs(np.corrcoef(u, w)[0, 1]) < 4 / math.sqrt(n)


def test_uniform_bits_balanced(key):
    """Each of the 64 output bits is set about half the time."""
    n = 20_000
    bits = np.array([int(draw_bits(key, i, 0, 0)) for i in range(n)], dtype=np.uint64)
    for b in range(64):
        frac = ((bits >> np.uint64(b)) & np.uint64(1)).mean()
        assert abs(frac - 0.5) < 4 * math.sqrt(0.25 / n)


def test_uniform_pair_halves_independent(key):
    n = 50_000
    pairs = np.array([uniform_pair(key, i, 0, 9) for i in range(n)])
    for col in (0, 1):
        assert stats.kstest(pairs[:, col], "uniform").pvalue > 1e-3
    assert abs(np.corrcoef(pairs[:, 0], pairs[:, 1])[0, 1]) < 4 / math.sqrt(n)


# --------------------------------------------------------------------------------------------
# derived distributions
# --------------------------------------------------------------------------------------------


def test_normal_mean_and_variance(key):
    n = 100_000
    z = _normal_block(key, n)
    assert abs(z.mean()) < 4 / math.sqrt(n)
    assert abs(z.var() - 1.0) < 4 * math.sqrt(2 / n)
    assert stats.kstest(z, "norm").pvalue > 1e-3
    assert normal(key, 3, 4, 5) == normal(key, 3, 4, 5)


@pytest.mark.parametrize("shape", [0.3, 0.7, 1.0, 2.5, 9.0])
def test_gamma_mean_and_variance(key, shape):
    n = 20_000
    g = _gamma_block(key, n, shape)
    assert g.min() > 0.0
    se = math.sqrt(shape / n)
    assert abs(g.mean() - shape) < 4 * se
    # Var = shape; Var of the sample variance ~ (mu4 - sigma^4)/n, mu4 = 3k^2 + 6k
    se_var = math.sqrt((3 * shape**2 + 6 * shape - shape**2) / n)
    assert abs(g.var() - shape) < 4 * se_var
    assert stats.kstest(g, "gamma", args=(shape,)).pvalue > 1e-3


@pytest.mark.parametrize("a, b", [(0.7, 1.2), (2.0, 5.0), (0.56, 39.44), (5.0, 1.0)])
def test_beta_mean(key, a, b):
    n = 20_000
    x = _beta_block(key, n, a, b)
    assert x.min() >= 0.0 and x.max() <= 1.0
    mean = a / (a + b)
    var = a * b / ((a + b) ** 2 * (a + b + 1))
    assert abs(x.mean() - mean) < 4 * math.sqrt(var / n)
    assert stats.kstest(x, "beta", args=(a, b)).pvalue > 1e-3


def test_beta_reproducible_and_slot_separated(key):
    assert beta(key, 1, 2, 0, 0.7, 1.2) == beta(key, 1, 2, 0, 0.7, 1.2)
    # the two gamma deviates use disjoint slot ranges (0..127 and 128..255)
    x = gamma(key, 1, 2, 0, 0.7)
    y = gamma(key, 1, 2, 128, 1.2)
    assert beta(key, 1, 2, 0, 0.7, 1.2) == pytest.approx(x / (x + y))
