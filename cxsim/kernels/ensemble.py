"""One pass over the customers of several independent models (an ensemble).

Each replicate keeps its own state, parameters, today's inputs, social network and
accumulators; the pass hands every chunk of every replicate to the same per-customer step as
a single model's kernel (:func:`cxsim.kernels.customer.advance_span`), with that replicate's
inputs.  A customer's draws depend on its replicate's keys, its own index and the tick, never
on the other replicates, so each replicate's results are bit-identical to running it alone.
The work items (chunks of all replicates) are split over the threads as a single model's
chunks are (:func:`cxsim.kernels.parallel.for_ranges`).
"""

from __future__ import annotations

from numba import njit

from . import precompile
from .customer import advance_span
from .inputs import Today
from .parallel import for_ranges

__all__ = ["advance_ensemble"]


# reference counting stays on: items taken out of a typed List are references to count
@njit(cache=True, nogil=True)
def _advance_work(lo, hi, t, chunk, work, keys, cus, behs, todays, segs, tps, jrs, indptrs,
                  accs, tpaccs, segaccs):
    """Work items ``lo .. hi-1``: each one chunk of one replicate."""
    for w in range(lo, hi):
        r = work[w, 0]
        first = work[w, 1] * chunk
        cu = cus[r]
        row = todays[r]
        today = Today(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8])
        advance_span(first, min(cu.status.shape[0], first + chunk), t, chunk, True, keys[r], cu,
                     behs[r], today, segs[r], tps[r], jrs[r], indptrs[r], accs[r], tpaccs[r],
                     segaccs[r])


def advance_ensemble(t, chunk, work, keys, cus, behs, todays, segs, tps, jrs, indptrs,
                     accs, tpaccs, segaccs):
    """Advance every replicate's customers by one tick, in parallel over all their chunks.

    ``work[w] = (replicate, chunk)`` lists every chunk of every replicate; the other
    arguments except ``todays`` are ``numba.typed.List`` s with one entry per replicate (as
    :func:`~cxsim.kernels.customer.advance_customers` takes them for one model).
    ``todays[r]`` is replicate ``r``'s :class:`~cxsim.kernels.inputs.Today` as a row of
    floats, in field order.
    """
    precompile.wait()  # a first run may compile the customer step in a second process
    for_ranges(_advance_work, work.shape[0], t, chunk, work, keys, cus, behs, todays, segs,
               tps, jrs, indptrs, accs, tpaccs, segaccs)
