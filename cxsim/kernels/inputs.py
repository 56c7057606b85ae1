"""The named inputs of the kernels: customer state, parameters, today's state, accumulators.

Kernels take a few grouped arguments instead of thirty positional arrays.  Each group is a
``typing.NamedTuple`` (numba compiles attribute access on them to plain loads):

=================  ========================================================================
group              what it holds
=================  ========================================================================
:class:`Customers`   per-customer state, one array per attribute (``[N]``), changed by kernels
:class:`Behaviour`   scalar parameters of customer behaviour, fixed for a run
:class:`Today`       scalar state that changes every tick (interventions, the social phase)
:class:`Segments`    per-segment values for today (``[S]``; needs ``[S, K]``, channels ``[S, C]``)
:class:`Touchpoints` per-touchpoint values for today (``[T]``)
:class:`Journeys`    the touchpoint graph: entry points per need, pathways (CSR), fixed
=================  ========================================================================

``Segments`` and ``Touchpoints`` exist twice in a model: the run's base values (parameters)
and today's copy, reset from the base each tick and then changed by the phases that own them
(interventions, environment, workforce, queues).  Kernels only ever read today's copy.

Per-chunk accumulators are plain float64 arrays whose columns are named by the ``ACC_*``
(``[C, N_ACC]``), ``TPA_*`` (``[C, T, N_TPA + T]``) and ``SGA_*`` (``[C, S, N_SGA]``) constants;
they are summed afterwards in chunk order, so results do not depend on the thread count.

A pitfall of numba 0.68 that once shaped the kernels: inside a ``prange`` body, writing to an
array reached through a NamedTuple attribute (``customers.status[i] = ...``, also after
``inline="always"`` inlining) is silently lost.  The kernels no longer use ``prange``: each
thread runs a serial compiled loop over its own range
(:func:`cxsim.kernels.parallel.for_ranges`); the engine-equality tests would catch a
regression.

Another, of speed: every array taken out of a NamedTuple (``cu.status``) is a new
reference, and numba's reference counting (atomic increments and decrements, shared by the
threads) does not prune them all in branchy code or across calls; the customer step was six
times slower for it.  No compiled function allocates (arrays are allocated in Python), so
they are compiled without reference counting (numba's ``_nrt=False`` target option); the
arrays stay owned by their callers throughout.  All of them take the same options
(``cache=True, nogil=True, _nrt=False``): numba compiles its own helpers (``min``, ``max``,
slice assignment) once per set of options, so one set compiles each once.  The step's helpers
that take whole groups and are only called from compiled code (``walk_episode``, ``_pick``,
``_escalate``, ``start_customer``) have no Python entry (``no_cpython_wrapper=True``): the
code that unpacks a group of arrays from Python objects was a large part of their compiling.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = [
    "ACC_ABANDONED", "ACC_ACTIVE", "ACC_ACTIVE_START", "ACC_CES_SUM", "ACC_CHURNED", "ACC_COHORT",
    "ACC_CSAT_SUM", "ACC_DETRACTORS", "ACC_EFFORT_SUM", "ACC_EPISODES", "ACC_ESCALATIONS",
    "ACC_EVENTS", "ACC_FAILURE_DEMAND", "ACC_FCR", "ACC_LOST", "ACC_NEW", "ACC_PROMOTERS",
    "ACC_PROSPECTS", "ACC_RECOVERIES", "ACC_REFERRERS", "ACC_RESOLVED", "ACC_SAT_SUM",
    "ACC_SURVEY_DET", "ACC_SURVEY_N", "ACC_SURVEY_PROM", "ACC_WOM_N", "ACC_WOM_SAT_SUM",
    "ACC_WON_BACK", "Behaviour", "CHURNED", "CUSTOMER", "Customers", "EV_CHURN", "EV_JOIN",
    "EV_REF_DOWN", "EV_REF_UP", "EV_WOM", "Journeys", "K_ACQUIRE", "K_DAILY", "K_EPISODE",
    "K_FRAILTY", "K_INITIAL", "K_SEGMENT", "K_START", "K_STYLE", "K_SURVEY", "K_VOICE", "N_ACC",
    "N_SGA",
    "N_TPA", "OUT_DEAD_END", "OUT_FAILED", "OUT_GAVE_UP", "OUT_NO_CHANNEL", "OUT_RESOLVED",
    "OUT_STEP_LIMIT", "PROSPECT", "SGA_ACTIVE", "SGA_CHURNED", "SGA_COHORT", "SGA_NEW", "Segments",
    "TPA_ENDED_BAD", "TPA_ENDED_HERE", "TPA_FAILURES", "TPA_FLOW", "TPA_PERF_SUM", "TPA_QUEUED",
    "TPA_QUEUE_ABANDON", "TPA_RESOLVED", "TPA_VISITS", "TPA_WAIT_SUM", "Today", "Touchpoints",
    "WOM_TALKS_MAX", "WOM_TALKS_SHIFT",
    "K_RETENTION",
    "clone", "copy_into",
    "ACC_PROMOTER_EPISODES",
]


PROSPECT, CUSTOMER, CHURNED = 0, 1, 2

# event flags (read by spread_social_effects after the customer phase)
EV_JOIN, EV_CHURN, EV_REF_UP, EV_REF_DOWN, EV_WOM = 1, 2, 4, 8, 16
#: the number of word-of-mouth talks of the tick (detractor episodes) sits in the top eleven
#: bits of the 16-bit event flags: up to WOM_TALKS_MAX, more than a tick's episodes can reach
#: (MAX_EPISODES needs plus 255 failure demands), so no talk is ever lost to a long tick
WOM_TALKS_SHIFT, WOM_TALKS_MAX = 5, 2047

# stream indices (see rng.STREAMS)
K_SEGMENT, K_INITIAL, K_FRAILTY, K_STYLE, K_START, K_ACQUIRE, K_DAILY, K_EPISODE, K_SURVEY = (
    range(9))
#: proactive retention: the churn-risk score's noise (rng.STREAMS[12], "retention")
K_RETENTION = 12
#: the voice_of_customer programme's survey samples (cxsim.voice; drawn in Python)
K_VOICE = 13

# ---- per-chunk accumulators: acc[c, ACC_*] --------------------------------------------------
(ACC_ACTIVE, ACC_NEW, ACC_CHURNED, ACC_WON_BACK, ACC_PROSPECTS, ACC_LOST, ACC_SAT_SUM,
 ACC_PROMOTERS, ACC_DETRACTORS, ACC_SURVEY_N, ACC_SURVEY_PROM, ACC_SURVEY_DET, ACC_EPISODES,
 ACC_RESOLVED, ACC_FCR, ACC_ABANDONED, ACC_CSAT_SUM, ACC_CES_SUM, ACC_EFFORT_SUM, ACC_COHORT,
 ACC_FAILURE_DEMAND, ACC_REFERRERS, ACC_EVENTS, ACC_WOM_N, ACC_WOM_SAT_SUM, ACC_ACTIVE_START,
 ACC_ESCALATIONS, ACC_RECOVERIES) = range(28)
#: issue 17, reputation: episodes after which the customer is a promoter (ACC_WOM_N counts the
#: detractor ones), the good reviews' base
ACC_PROMOTER_EPISODES = 28
N_ACC = 29

# ---- per-chunk, per-touchpoint accumulators: tpacc[c, j, TPA_*] -----------------------------
(TPA_VISITS, TPA_PERF_SUM, TPA_RESOLVED, TPA_FAILURES, TPA_QUEUED, TPA_QUEUE_ABANDON,
 TPA_WAIT_SUM, TPA_ENDED_HERE, TPA_ENDED_BAD) = range(9)
N_TPA = 9
#: columns TPA_FLOW + k count moves from touchpoint j to touchpoint k (escalations, hand-offs);
#: tpacc has N_TPA + T columns
TPA_FLOW = N_TPA

# ---- per-chunk, per-segment accumulators: segacc[c, s, SGA_*] -------------------------------
SGA_ACTIVE, SGA_CHURNED, SGA_NEW, SGA_COHORT = range(4)
N_SGA = 4

# ---- episode outcome codes -----------------------------------------------------------------
OUT_RESOLVED, OUT_GAVE_UP, OUT_DEAD_END, OUT_STEP_LIMIT, OUT_FAILED, OUT_NO_CHANNEL = range(6)


class Customers(NamedTuple):
    """Customer state, indexed by agent id ``i`` in ``[0, N)`` (45 bytes per customer)."""

    status: np.ndarray  #: uint8: 0 prospect, 1 customer, 2 churned
    segment: np.ndarray  #: uint8: segment index
    satisfaction: np.ndarray  #: float32: cumulative satisfaction in [0, 1]
    expectation: np.ndarray  #: float32: expected performance in [0, 1]
    churn_logit: np.ndarray  #: float32: log-odds of the individual base churn hazard per tick
    exposure: np.ndarray  #: float32: churn exposure X at the start of the next tick
    #: int32: a customer's tick (last) joined (negative: initial base); a churned one's tick left
    join_tick: np.ndarray
    referrer_nbrs: np.ndarray  #: int32: contacts who currently refer (promoters, or all)
    nps_bias: np.ndarray  #: float32: individual response style on the 0-10 scale
    pending: np.ndarray  #: uint8: failure demands (behaviour.failure_need) due next tick
    events: np.ndarray  #: uint16: bit flags (``EV_*``) of this tick's socially visible events
    #: and the count of word-of-mouth talks (``WOM_TALKS_SHIFT``)
    #: float32: word of mouth heard, not yet taken in: the log of the share of the gap to
    #: ``wom_target`` it leaves (0: nothing heard); taken in over the next tick's episodes
    wom_log: np.ndarray
    wom_target: np.ndarray  #: float32: the satisfaction the heard word of mouth pulls toward
    #: float32: the mean satisfaction the customer's talks of this tick convey (each talk
    #: right after its detractor episode), read by the social spread
    wom_said: np.ndarray

    @classmethod
    def empty(cls, n: int) -> Customers:
        """Allocate zeroed state for ``n`` agents."""
        return cls(
            status=np.zeros(n, np.uint8), segment=np.zeros(n, np.uint8),
            satisfaction=np.zeros(n, np.float32), expectation=np.zeros(n, np.float32),
            churn_logit=np.zeros(n, np.float32), exposure=np.zeros(n, np.float32),
            join_tick=np.zeros(n, np.int32), referrer_nbrs=np.zeros(n, np.int32),
            nps_bias=np.zeros(n, np.float32), pending=np.zeros(n, np.uint8),
            events=np.zeros(n, np.uint16), wom_log=np.zeros(n, np.float32),
            wom_target=np.zeros(n, np.float32), wom_said=np.zeros(n, np.float32),
        )

    @property
    def nbytes_per_customer(self) -> int:
        """Bytes of state per customer (excluding the social network)."""
        return sum(a.itemsize for a in self)


class Behaviour(NamedTuple):
    """Scalar parameters of customer behaviour for a run (per-tick rates already converted)."""

    loss_aversion: float  #: weight of losses relative to gains
    value_exponent: float  #: curvature of the value function
    peak_weight: float  #: peak-end: weight of the most intense moment
    end_weight: float  #: peak-end: weight of the last moment
    memory_weight: float  #: weight of the newest episode in satisfaction, 1 - 2**(-1/h)
    adaptation: float  #: share of the expectation gap closed per episode
    effort_weight: float  #: performance lost per unit of effort
    wait_effort: float  #: effort of one minute of waiting
    failure_penalty: float  #: performance lost when a partner fails
    unresolved: float  #: performance of the moment an episode ends unresolved
    max_steps: int  #: touchpoints visited at most in one episode
    sat_effect: float  #: churn log-odds per unit of satisfaction
    sat_reference: float  #: satisfaction at which churn is the base rate
    tenure_effect: float  #: churn log-odds per log(1 + tenure in years)
    log_contagion: float  #: log of the hazard multiplier per unit of churn exposure
    exposure_decay: float  #: share of churn exposure left after a tick, 2**(-dt/half-life)
    exposure_mean: float  #: mean over a tick of the exposure left, (1 - decay) / kappa
    exposure_var: float  #: variance over a tick of the exposure left (kappa = lambda dt)
    survey_noise: float  #: answer noise on CSAT and CES scales
    referral_promoters: bool  #: only promoters refer (else every customer)
    p_tick: float  #: Bass external influence per tick
    q_tick: float  #: Bass internal influence per tick
    bass_e: float  #: exp(-(p_tick + q_tick)), for the one-tick Bass flow
    bass_1me: float  #: 1 - bass_e, computed without cancellation
    win_back_tick: float  #: probability per tick that a churned customer returns
    win_back_window_ticks: float  #: ticks after leaving that a former customer stays 'lost'
    years_per_tick: float  #: tick length in years
    full_mixing: bool  #: the market is fully mixed (no network)
    nps_sample: float  #: NPS answers per active customer per tick (survey rate x dt)
    initial_spread: float  #: spread of initial satisfaction and expectation
    contract_effect: float  #: churn log-odds inside a contract term (not its renewal window)
    renewal_window_ticks: float  #: the last ticks of each term, where renewal_effect applies
    renewal_effect: float  #: churn log-odds in a term's renewal window
    ticks_per_month: float  #: ticks in a month (30.4375 days)
    failure_need: int  #: need type a partner failure causes, or -1
    repeat_effort: float  #: effort of repeating oneself after a channel switch
    reroute_effort: float  #: extra effort when the preferred entry is closed
    recovery_effect: float  #: share of the satisfaction gap a recovery outreach closes
    tenure_cap_months: float  #: longest tenure drawn for the initial customers


class Today(NamedTuple):
    """Scalar state for the current tick, written by the phases before the customer kernel."""

    referral_fraction: float  #: full mixing: referring share of the other agents
    contagion_shift: float  #: full mixing: churn log-odds shift from contagion (all share it)
    wom_log: float  #: full mixing: log of the share of the gap yesterday's word of mouth leaves
    wom_target: float  #: full mixing: mean satisfaction of yesterday's detractors
    omnichannel: float  #: omnichannel integration today (0-1)
    # issue 17, reputation: today's Bass flow, marketing p (and q) scaled by the public rating
    # (cxsim.reputation); without it exactly Behaviour's p_tick, q_tick, bass_e, bass_1me
    p_tick: float  #: Bass external influence per tick today
    q_tick: float  #: Bass internal influence per tick today
    bass_e: float  #: exp(-(p_tick + q_tick)) today
    bass_1me: float  #: 1 - bass_e today, computed without cancellation


class Segments(NamedTuple):
    """Per-segment values (``float64[S]`` unless stated), today's or the run's base."""

    p_need: np.ndarray  #: probability of at least one need in a tick, 1 - exp(-rate dt)
    need_mean: np.ndarray  #: expected needs per tick, rate dt (the count is Poisson)
    patience: np.ndarray  #: effort a customer bears in one episode
    queue_patience: np.ndarray  #: mean minutes a customer waits in a queue
    extra_logit: np.ndarray  #: churn log-odds shift (loyalty, price, switching cost)
    contract_ticks: np.ndarray  #: contract length in ticks (0 = none)
    initial_satisfaction: np.ndarray  #: mean satisfaction of a new customer
    initial_expectation: np.ndarray  #: mean expectation of a new customer
    base_churn_month: np.ndarray  #: monthly base churn (at the reference switching cost)
    concentration: np.ndarray  #: Beta concentration of churn propensity (0 = none)
    perf_bonus: np.ndarray  #: performance gain at every contact (personalisation)
    recovery_share: np.ndarray  #: share of detractors reached by service recovery
    need_cum: np.ndarray  #: float64[S, K]: cumulative shares of the need types
    channel_pref: np.ndarray  #: float64[S, C]: relative preference per channel


class Touchpoints(NamedTuple):
    """Per-touchpoint values (``float64[T]`` unless stated), today's or the run's base."""

    channel: np.ndarray  #: int64: channel index
    quality: np.ndarray  #: base quality of the experience, 0-1
    variability: np.ndarray  #: standard deviation of the experience
    effort: np.ndarray  #: customer effort of one contact, 0-1
    resolution: np.ndarray  #: probability a contact resolves the need
    open: np.ndarray  #: in service today (0-1; a launch ramps it in, a withdrawal out)
    down_from: np.ndarray  #: an outage closes it from this fraction of the tick ...
    down_to: np.ndarray  #: ... to this one (0-1; equal: no outage this tick)
    exists: np.ndarray  #: part of the ecosystem (0-1; declared, or added by a strategy)
    p_wait: np.ndarray  #: probability a contact waits in a queue today
    wait_mean: np.ndarray  #: mean virtual wait (minutes) of a contact that waits
    p_fail: np.ndarray  #: probability the operating partner fails a contact
    #: float64[3, T, K]: intraday queues (cxsim.intraday), per interval of the day: [0] the
    #: cumulative arrival share (all 1: one interval, no draw), [1] the probability to wait,
    #: [2] the mean virtual wait; K = the most intervals of any team's day, 1 without.  One
    #: array, not three: each array of a group is passed to every call of the episode step,
    #: and three more arrays made the step several times slower
    intervals: np.ndarray


class Journeys(NamedTuple):
    """The touchpoint graph (fixed for a run): entry points per need and pathways in CSR."""

    need_ptr: np.ndarray  #: int64[K+1]: entry points of need k are need_tp[ptr[k]:ptr[k+1]]
    need_tp: np.ndarray  #: int64[E]: touchpoint indices
    path_ptr: np.ndarray  #: int64[T+1]: pathways out of touchpoint j (sorted by source)
    path_to: np.ndarray  #: int64[P]: destination touchpoint
    path_w: np.ndarray  #: float64[P]: escalation weight or hand-off probability
    path_kind: np.ndarray  #: int64[P]: 0 escalation, 1 hand-off
    path_mask: np.ndarray  #: int64[P]: bit k set if the pathway serves need k


def copy_into(dst: NamedTuple, src: NamedTuple) -> None:
    """Overwrite every array of ``dst`` with the matching array of ``src`` (same group)."""
    for d, s in zip(dst, src, strict=True):
        d[...] = s


def clone(group: NamedTuple) -> NamedTuple:
    """A copy of a group of arrays (new arrays, same values)."""
    return type(group)(*(a.copy() for a in group))
