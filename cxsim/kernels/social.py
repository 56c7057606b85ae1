"""Social kernels: passing a tick's events to contacts, and order-fixed sums over chunks."""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from .inputs import EV_CHURN, EV_REF_DOWN, EV_REF_UP, EV_WOM, WOM_TALKS_SHIFT
from .parallel import for_ranges

__all__ = [
    "prefetch", "spread_social_effects", "sum_chunks",
]



@njit(cache=True, nogil=True, _nrt=False)
def _senders_of_chunks(c_lo, c_hi, chunk, start, events, out):
    n = events.shape[0]
    for c in range(c_lo, c_hi):
        q = start[c]
        end = start[c + 1]
        if end > q:
            for i in range(c * chunk, min(n, (c + 1) * chunk)):
                if events[i] != 0 and q < end:
                    out[q] = i
                    q += 1


def _senders(chunk, chunk_events, events):
    """Ids of the agents with events this tick, ascending.

    ``chunk_events[c]`` is the number of agents with events in chunk ``c`` (the kernel's
    ``ACC_EVENTS``), so one pass fills each chunk's slice of the list in parallel.  A count
    that were too small would drop senders, never write out of bounds.
    """
    n_chunks = chunk_events.shape[0]
    start = np.zeros(n_chunks + 1, np.int64)
    np.cumsum(chunk_events.astype(np.int64), out=start[1:])
    out = np.empty(start[n_chunks], np.int64)
    for_ranges(_senders_of_chunks, n_chunks, chunk, start, events, out)
    return out


@intrinsic
def prefetch(typingctx, arr, idx):
    """Ask the CPU to start loading ``arr[idx]`` into cache (``llvm.prefetch``: a read, kept).

    A hint only: it never faults and never changes a result.  It lets a latency-bound loop
    over scattered agents have many cache misses in flight instead of one at a time.
    """
    if not isinstance(arr, types.Array) or not isinstance(idx, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]],
                                       wraparound=False)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
            "llvm.prefetch.p0i8")
        # (address, 0 = read, 3 = keep in all cache levels, 1 = data cache)
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(arr, idx), codegen


#: how many senders ahead each prefetch stage works (measured at 10^6 agents: 4 to 8 is best)
_AHEAD = 4


def spread_social_effects(chunk, chunk_events, events, indptr, indices, said,
                          expectation, exposure, referrer_nbrs, wom_log, wom_target,
                          wom_strength, parts):
    """Pass this tick's events to each agent's contacts.

    * a contact who starts/stops referring changes the referral count prospects read;
    * a churned contact adds one unit of churn exposure (contagion);
    * a detractor's episode pulls contacts' expectations toward the satisfaction it left
      (``said``: the mean over the sender's talks of the tick), if lower; heard now
      (``wom_log``, ``wom_target``) and taken in over the contact's next tick.

    The expectation pulls do not commute, so every receiver takes them in sender id order.
    In parallel without changing that order: the receivers are split into ``parts`` id ranges
    (one per thread is best), and each range walks all senders in id order, applying only the
    updates that land in it; results do not depend on ``parts``.  The walk is bound by memory
    latency (senders are scattered), so it prefetches in three stages, ``_AHEAD`` senders
    apart: a sender's row pointer and state, then its contact list, then its contacts.
    ``chunk_events[c]`` counts the agents with events in chunk ``c``.  Shapes: ``events
    uint16[N]``, CSR ``indptr int64[N+1]``, ``indices int32[E]``, ``chunk_events float64[C]``.
    """
    senders = _senders(chunk, chunk_events, events)
    for_ranges(_spread_parts, parts, parts, senders, events, indptr, indices, said,
               expectation, exposure, referrer_nbrs, wom_log, wom_target, float(wom_strength))


@njit(cache=True, nogil=True, _nrt=False)
def _spread_parts(p_lo, p_hi, parts, senders, events, indptr, indices, said, expectation,
                  exposure, referrer_nbrs, wom_log, wom_target, wom_strength):
    """Receiver ranges ``p_lo .. p_hi-1`` of ``parts`` take this tick's events, in sender order."""
    n = events.shape[0]
    ns = senders.shape[0]
    width = (n + parts - 1) // parts
    for p in range(p_lo, p_hi):
        lo = p * width
        hi = min(n, lo + width)
        for q in range(ns):
            if q + 3 * _AHEAD < ns:
                f = senders[q + 3 * _AHEAD]
                prefetch(indptr, f)
                prefetch(events, f)
                prefetch(said, f)
            if q + 2 * _AHEAD < ns:
                f = senders[q + 2 * _AHEAD]
                prefetch(indices, indptr[f])
                prefetch(indices, indptr[f + 1] - 1)
            if q + _AHEAD < ns:
                f = senders[q + _AHEAD]
                ev = events[f]
                for k in range(indptr[f], indptr[f + 1]):
                    j = indices[k]
                    if lo <= j < hi:
                        if ev & EV_WOM:
                            prefetch(expectation, j)
                        if ev & EV_CHURN:
                            prefetch(exposure, j)
                        if ev & (EV_REF_UP | EV_REF_DOWN):
                            prefetch(referrer_nbrs, j)
            i = senders[q]
            ev = events[i]
            d = 1 if ev & EV_REF_UP else (-1 if ev & EV_REF_DOWN else 0)
            churn = (ev & EV_CHURN) != 0
            wom = (ev & EV_WOM) != 0
            # the sender's talks this tick, each pulling a contact's expectation toward the
            # sender's satisfaction by wom_strength: heard now, taken in over the contact's
            # next tick (wom_heard)
            talks = ev >> WOM_TALKS_SHIFT
            keep_log = 0.0
            if wom and talks > 0:
                keep_log = talks * math.log1p(-wom_strength) if wom_strength < 1.0 else -math.inf
            sender = said[i]
            for k in range(indptr[i], indptr[i + 1]):
                j = indices[k]
                if j < lo or j >= hi:
                    continue
                if d != 0:
                    referrer_nbrs[j] += d
                if churn:
                    exposure[j] += 1.0
                if keep_log < 0.0 and sender < expectation[j]:
                    wom_heard(j, keep_log, sender, wom_log, wom_target)


@njit(cache=True, inline="always")
def wom_heard(j, keep_log, target, wom_log, wom_target):
    """Agent ``j`` hears word of mouth toward ``target`` leaving ``exp(keep_log)`` of the gap.

    Pulls heard one after another combine into one: ``E -> K E + (1 - K) A`` then
    ``E -> k E' + (1 - k) a`` is ``K' = k K`` and ``A' = (k (1 - K) A + (1 - k) a) /
    (1 - K')``; ``wom_log`` holds ``log K`` (0: nothing heard), ``wom_target`` ``A``.
    """
    log_k = np.float64(wom_log[j])
    new_log = log_k + keep_log
    gap_old = -math.expm1(log_k)  # 1 - K
    gap_new = -math.expm1(new_log)  # 1 - K'
    a = (math.exp(keep_log) * gap_old * np.float64(wom_target[j])
         - math.expm1(keep_log) * target) / gap_new
    wom_log[j] = new_log
    wom_target[j] = a


@njit(cache=True, nogil=True, _nrt=False)
def _sum_chunks(x, out):
    for c in range(x.shape[0]):
        for k in range(x.shape[1]):
            out[k] += x[c, k]


def sum_chunks(x):
    """Sum ``x float64[C, M]`` over chunks strictly in chunk order (reproducible rounding)."""
    out = np.zeros(x.shape[1])
    _sum_chunks(x, out)
    return out
