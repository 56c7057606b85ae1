"""How the kernels compile: one specialisation each, parallel loops, the second process.

A first run compiles every kernel; these tests pin what keeps that short (see
``experiments/bench/compile_profile.py``): each compiled function has one set of argument
types, and the second process that compiles the customer step meanwhile
(:mod:`cxsim.kernels.precompile`) uses the same types as a run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
import pytest
from conftest import minimal_scenario, subprocess_env

import cxsim
from cxsim.kernels import parallel, precompile
from cxsim.runner import resize


def _types(args: tuple) -> tuple:
    return tuple(numba.typeof(a) for a in args)


@pytest.mark.parametrize("network", ["small_world", "full"])
def test_the_second_process_compiles_the_step_with_a_runs_types(network):
    # the arguments cxsim.kernels.advance_customers passes the step, from a real model
    for sc in (minimal_scenario(market={"network": network}),
               resize(cxsim.default_scenario(), customers=3000, days=3)):
        m = cxsim.CXModel(sc, rng=1)
        m.step()
        mk = m.market
        run = (0, mk.n, 1, mk.chunk, True, mk.keys, mk.customers, m.behaviour, m.today,
               m.segments, m.touchpoints, m.journeys, m.social.indptr, mk.acc, mk.tpacc,
               mk.segacc)
        assert _types(run) == _types(precompile.example_arguments())


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


def _fresh(code: str, cache) -> str:
    env = {**subprocess_env(), "NUMBA_CACHE_DIR": str(cache)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=900, cwd=Path(__file__).parent)
    return out.stdout.strip() or out.stderr


@pytest.mark.slow
def test_the_second_process_compiles_the_queue_kernels_with_a_runs_types():
    # a real run's calls leave exactly the signatures the second process compiles
    from cxsim.kernels.erlang import forecast
    from cxsim.kernels.waits import mixture_device

    cxsim.CXModel(resize(cxsim.default_scenario(), customers=3000, days=3), rng=1).run()
    calls = dict(precompile._queue_calls())
    assert set(calls) == {mixture_device, forecast}
    for function, arguments in calls.items():
        assert function.signatures == [_types(arguments)], function.__name__


def test_a_cold_run_compiles_each_function_once(tmp_path):
    # literal slots, unsigned indices, literal flags and sets of options once made up to nine
    # copies of a function, each compiled from scratch in a first run
    code = """if True:
        import cxsim
        from numba.core.registry import CPUDispatcher
        from cxsim import rng
        from cxsim.kernels import customer, population, social
        from cxsim.runner import resize
        from conftest import minimal_scenario
        for network in ("small_world", "full"):
            cxsim.CXModel(minimal_scenario(market={"network": network}), rng=1).run(3)
        cxsim.CXModel(minimal_scenario(), rng=1, engine="mesa").run(2)
        cxsim.CXModel(resize(cxsim.default_scenario(), customers=3000, days=3), rng=1).run()
        many = [f.__name__ for m in (rng, customer, population, social)
                for f in vars(m).values()
                if isinstance(f, CPUDispatcher) and len(f.signatures) > 1]
        print(many or "ok")
        """
    assert _fresh(code, tmp_path) == "ok"


@pytest.mark.slow
def test_a_cold_cache_gets_the_step_from_the_second_process(tmp_path):
    # a fresh numba cache: the second process compiles the step, this one loads it; the
    # helpers this one compiled for both are in the cache once (the same types)
    code = """if True:
        from cxsim.kernels import customer as C, precompile
        precompile.start()
        assert precompile._child is not None
        precompile.wait()
        C.advance_span(*precompile.example_arguments())
        assert sum(C.advance_span.stats.cache_hits.values()) == 1
        assert not C.advance_span.stats.cache_misses
        from cxsim.kernels import erlang, waits
        for f in (C.advance_span, C.walk_episode, C.start_customer, C.contagion_shift,
                  C.service_recovery, C.csat_answer, C.ces_answer, erlang.forecast,
                  waits.mixture_device):
            assert len(f._cache._cache_file._load_index()) == 1, f.__name__
        precompile.start()  # now in the cache: nothing to start
        assert precompile._child is None
        print("ok")
        """
    assert _fresh(code, tmp_path) == "ok"
