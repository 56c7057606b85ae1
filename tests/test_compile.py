"""How the kernels compile: one specialisation each, parallel loops, the second process.

A first run compiles every kernel; these tests pin what keeps that short (see
``experiments/bench/compile_profile.py``): each compiled function has one set of argument
types, and the second process that compiles the customer step meanwhile
(:mod:`cxsim.kernels.precompile`) uses the same types as a run.
"""

from __future__ import annotations

import subprocess
import sys

import numba
import numpy as np
import pytest
from conftest import minimal_scenario, subprocess_env

import cxsim
from cxsim import rng as R
from cxsim.kernels import customer as C
from cxsim.kernels import parallel, precompile
from cxsim.runner import resize


@pytest.fixture(scope="module")
def ran():
    """A small model of each kind of market, run a few ticks (both share the kernels)."""
    for network in ("small_world", "full"):
        cxsim.CXModel(minimal_scenario(market={"network": network}), rng=1).run(3)
    cxsim.CXModel(resize(cxsim.default_scenario(), customers=3000, days=3), rng=1).run()


def _types(args: tuple) -> tuple:
    return tuple(numba.typeof(a) for a in args)


def test_the_second_process_compiles_the_step_with_a_runs_types(ran):
    args = precompile.example_arguments()
    assert C.advance_span.signatures == [_types(args)]
    assert C.walk_episode.signatures == [_types(precompile._walk_arguments(args))]
    for function, arguments in precompile._helper_calls(args):
        assert function.signatures == [_types(arguments)], function.__name__


@pytest.mark.parametrize("draw", [R._draw_bits, R._uniform, R._uniform_pair, R._normal,
                                  R._gamma, R._log_gamma_deviate, R._beta])
def test_each_random_draw_compiles_once(ran, draw):
    # literal slots and unsigned indices once made up to nine copies of each
    assert len(draw.signatures) == 1


def test_every_step_helper_compiles_once(ran):
    for name in ("walk_episode", "_pick", "_escalate", "start_customer", "contagion_shift",
                 "service_recovery", "csat_answer", "ces_answer", "advance_span"):
        assert len(getattr(C, name).signatures) == 1, name


def test_split_covers_the_range_in_whole_blocks():
    assert parallel.split(10, 3) == [(0, 3), (3, 6), (6, 10)]
    assert parallel.split(100_000, 2, 2048) == [(0, 49_152), (49_152, 100_000)]
    for n, parts, align in [(1, 1, 1), (5_000, 7, 64), (2048, 2, 2048), (9, 4, 2)]:
        cuts = parallel.split(n, parts, align)
        assert cuts[0][0] == 0 and cuts[-1][1] == n
        assert all(a[1] == b[0] for a, b in zip(cuts[:-1], cuts[1:], strict=True))
        assert all(lo % align == 0 for lo, _ in cuts)


def test_for_ranges_runs_every_part_and_passes_errors_on():
    out = np.zeros(1000, np.int64)

    def mark(lo, hi, value):
        out[lo:hi] += value

    parallel.for_ranges(mark, 1000, 1, threads=3)
    assert (out == 1).all()
    parallel.for_ranges(mark, 1000, 1, threads=1)
    assert (out == 2).all()

    def fail(lo, hi):
        if lo > 0:
            raise ValueError("part")

    with pytest.raises(ValueError, match="part"):
        parallel.for_ranges(fail, 10, threads=2)
    parallel.for_ranges(mark, 1000, 1, threads=2)  # the workers are still there
    assert (out == 3).all()


@pytest.mark.slow
def test_a_cold_cache_gets_the_step_from_the_second_process(tmp_path):
    # a fresh numba cache: the second process compiles the step, this one loads it
    code = """if True:
        from cxsim.kernels import customer as C, precompile
        precompile.start()
        assert precompile._child is not None
        precompile.wait()
        C.advance_span(*precompile.example_arguments())
        assert sum(C.advance_span.stats.cache_hits.values()) == 1
        assert not C.advance_span.stats.cache_misses
        precompile.start()  # now in the cache: nothing to start
        assert precompile._child is None
        print("ok")
        """
    env = {**subprocess_env(), "NUMBA_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.stdout.strip() == "ok", out.stderr
