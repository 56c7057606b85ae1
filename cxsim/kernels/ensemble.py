"""One parallel pass over the customers of several independent models (an ensemble).

Each replicate keeps its own state, parameters, today's inputs, social network and
accumulators; the pass hands every chunk of every replicate to the same per-chunk step as a
single model's kernel (:func:`cxsim.kernels.customer.advance_chunk`), with that replicate's
inputs.  A customer's draws depend on its replicate's keys, its own index and the tick, never
on the other replicates, so each replicate's results are bit-identical to running it alone.
"""

from __future__ import annotations

from numba import njit, prange

from .customer import advance_chunk
from .inputs import Today

__all__ = ["advance_ensemble"]


@njit(parallel=True, cache=True)
def advance_ensemble(t, chunk, work, keys, cus, behs, todays, segs, tps, jrs, indptrs,
                     accs, tpaccs, segaccs):
    """Advance every replicate's customers by one tick, in parallel over all their chunks.

    ``work[w] = (replicate, chunk)`` lists every chunk of every replicate; the other
    arguments except ``todays`` are ``numba.typed.List`` s with one entry per replicate (as
    :func:`~cxsim.kernels.customer.advance_customers` takes them for one model).
    ``todays[r]`` is replicate ``r``'s :class:`~cxsim.kernels.inputs.Today` as a row of
    floats, in field order.
    """
    for w in prange(work.shape[0]):
        r = work[w, 0]
        c = work[w, 1]
        cu = cus[r]
        lo = c * chunk
        row = todays[r]
        today = Today(row[0], row[1], row[2], row[3], row[4])
        advance_chunk(lo, min(cu.status.shape[0], lo + chunk), t, keys[r], cu, behs[r], today,
                      segs[r], tps[r], jrs[r], indptrs[r], accs[r][c], tpaccs[r][c],
                      segaccs[r][c])
