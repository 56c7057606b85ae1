"""Many replicates in one model and one kernel pass a tick: :class:`Ensemble`.

Calibration, search, sweeps and paired comparisons run thousands of small models.  Run one
by one, a small market's tick is mostly fixed costs and a kernel too small to share between
threads.  An ensemble holds R independent :class:`~cxsim.model.CXModel` s (different seeds,
strategies or parameter sets of a scenario) and advances them together: each replicate's
company side, queues, social spread and metrics run as in a single model, and every
replicate's customers advance in one parallel pass
(:func:`cxsim.kernels.ensemble.advance_ensemble`).

Each replicate's results are bit-identical to running it alone with the same scenario,
seed and strategy (tested): the pass calls the same per-chunk step with the replicate's own
inputs, and a customer's draws depend only on its replicate's seed, its index and the tick.

    ens = cxsim.Ensemble(scenario, seeds=range(64))
    ens.run()
    ens.metrics            # every replicate's per-tick metrics, with a "replicate" column
    ens.models[3].summary()

The members are advanced by the ensemble, not through Mesa's ``Model.step``: their own
clock is ``time_tick``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np
import pandas as pd

from .kernels.inputs import Today
from .market import CHUNK
from .model import SERIAL_BELOW, CXModel
from .rng import SeedLike
from .scenario import Scenario
from .strategies import StrategyLike

__all__ = ["Ensemble"]


def _typed(items: list):
    from numba.typed import List

    out = List()
    for x in items:
        out.append(x)
    return out


class Ensemble:
    """R independent replicates of a CX model, stepped together.

    Parameters
    ----------
    scenarios
        One :class:`~cxsim.scenario.Scenario` for every replicate, or a sequence with one
        per replicate (different parameter sets; every replicate must run the same number
        of ticks).
    seeds
        One seed per replicate (as :class:`~cxsim.model.CXModel` takes them).
    strategies
        ``None`` (the baseline for all), one strategy for all, or a sequence with one per
        replicate (as :class:`~cxsim.model.CXModel` takes them).

    ``models[r]`` is replicate ``r``'s model; after :meth:`run` its tables are those of a
    single run.  :attr:`metrics` stacks every replicate's metrics.

    """

    def __init__(self, scenarios: Scenario | Sequence[Scenario], seeds: Sequence[SeedLike],
                 strategies: StrategyLike | Sequence[StrategyLike] = None):
        seeds = list(seeds)
        r = len(seeds)
        if r == 0:
            raise ValueError("an ensemble needs at least one seed")
        if isinstance(scenarios, Scenario):
            scenarios = [scenarios] * r
        scenarios = list(scenarios)
        if len(scenarios) != r:
            raise ValueError(f"got {len(scenarios)} scenarios for {r} seeds: give one "
                             "scenario, or one per seed")
        if isinstance(strategies, Sequence) and not isinstance(strategies, str):
            strategies = list(strategies)
            if len(strategies) != r:
                raise ValueError(f"got {len(strategies)} strategies for {r} seeds: give "
                                 "one strategy, or one per seed")
        else:
            strategies = [strategies] * r
        self.models = [CXModel(sc, rng=seed, strategy=st)
                       for sc, seed, st in zip(scenarios, seeds, strategies, strict=True)]
        ticks = {m.spec.simulation.ticks for m in self.models}
        if len(ticks) > 1:
            raise ValueError(f"every replicate must run the same number of ticks, got "
                             f"{sorted(ticks)}")
        self.ticks = ticks.pop()
        ms = self.models
        # the per-replicate inputs of the pass; every array is changed in place by its
        # model's phases, so the lists are built once
        self._args = tuple(_typed(x) for x in (
            [m.keys for m in ms], [m.market.customers for m in ms], [m.behaviour for m in ms]))
        self._inputs = tuple(_typed(x) for x in (
            [m.segments for m in ms], [m.touchpoints for m in ms], [m.journeys for m in ms],
            [m.social.indptr for m in ms], [m.market.acc for m in ms],
            [m.market.tpacc for m in ms], [m.market.segacc for m in ms]))
        self._work = np.array([(i, c) for i, m in enumerate(ms)
                               for c in range(m.market.n_chunks)], np.int64).reshape(-1, 2)
        self._todays = np.zeros((r, len(Today._fields)))
        self._total = sum(m.n for m in ms)
        self._small = max(m.n for m in ms) < SERIAL_BELOW
        self.time_tick = 0

    def __len__(self) -> int:
        return len(self.models)

    def step(self) -> None:
        """Advance every replicate by one tick (the phases of :meth:`CXModel.step`)."""
        from .kernels.ensemble import advance_ensemble

        threads = numba.get_num_threads()
        keys, cus, behs = self._args
        segs, tps, jrs, indptrs, accs, tpaccs, segaccs = self._inputs
        try:
            # each replicate's own phases on one thread when its market is small (as
            # CXModel.step), the pass over all customers on every thread when they are many
            numba.set_num_threads(1 if self._small else threads)
            begun = []
            for i, m in enumerate(self.models):
                begun.append(m._begin_tick())
                self._todays[i] = tuple(m.today)
            self.time_tick += 1
            numba.set_num_threads(1 if self._total < SERIAL_BELOW else threads)
            advance_ensemble(self.time_tick, CHUNK, self._work, keys, cus, behs,
                             self._todays, segs, tps, jrs, indptrs, accs, tpaccs, segaccs)
            numba.set_num_threads(1 if self._small else threads)
            for m, (day, cost) in zip(self.models, begun, strict=True):
                m._end_tick(day, cost)
        finally:
            numba.set_num_threads(threads)

    def run(self, ticks: int | None = None, progress: bool = False) -> Ensemble:
        """Run ``ticks`` ticks (default: the scenarios'); return the ensemble for chaining."""
        ticks = self.ticks if ticks is None else int(ticks)
        it = range(ticks)
        if progress:
            from tqdm.auto import tqdm

            it = tqdm(it, desc=f"cxsim x{len(self)}", unit="tick", leave=False)
        for _ in it:
            self.step()
        return self

    @property
    def metrics(self) -> pd.DataFrame:
        """Every replicate's per-tick metrics, stacked, with its ``replicate`` index first."""
        return pd.concat([m.metrics.assign(replicate=i) for i, m in enumerate(self.models)],
                         ignore_index=True).pipe(
            lambda d: d[["replicate", *[c for c in d.columns if c != "replicate"]]])

    def summaries(self) -> list[dict]:
        """Each replicate's :meth:`CXModel.summary`, in replicate order."""
        return [m.summary() for m in self.models]
