"""CXModel: a customer-experience ecosystem as a Mesa model."""

from __future__ import annotations

import math
from dataclasses import dataclass

import mesa
import networkx as nx
import numpy as np
import pandas as pd
from mesa.discrete_space import Network
from numba import get_num_threads, njit, prange

from . import kernels as K
from .agents import Customer, Employee, Partner
from .network import build_network
from .queueing import erlang_a
from .rng import STREAM_INDEX, numpy_generator, stream_keys, uniform
from .scenario import MONTH_DAYS, YEAR_DAYS, Scenario
from .strategies import StrategyLike, cost_at, delivery, level, resolve

#: customers per chunk of the parallel kernel; fixed so results never depend on threads
CHUNK = 2048

ENGINES = ("numba", "mesa")

#: the metric columns of the contract (DESIGN.md §3), in order
CONTRACT_METRICS = (
    "tick", "active", "new", "churned", "churn_rate", "retention", "nps", "csat", "ces",
    "satisfaction", "fcr", "service_level", "asa", "abandonment", "occupancy", "engagement",
    "attrition", "partner_on_time", "revenue", "cost", "profit",
)


@dataclass
class CustomerArrays:
    """The customer state: one NumPy array per attribute (see :mod:`cxsim.kernels`)."""

    status: np.ndarray
    segment: np.ndarray
    satisfaction: np.ndarray
    expectation: np.ndarray
    churn_logit: np.ndarray
    exposure: np.ndarray
    join_tick: np.ndarray
    referrer_nbrs: np.ndarray
    nps_bias: np.ndarray
    pending: np.ndarray
    events: np.ndarray

    @classmethod
    def empty(cls, n: int) -> CustomerArrays:
        """Allocate arrays for ``n`` agents."""
        return cls(
            status=np.zeros(n, np.uint8), segment=np.zeros(n, np.uint8),
            satisfaction=np.zeros(n, np.float32), expectation=np.zeros(n, np.float32),
            churn_logit=np.zeros(n, np.float32), exposure=np.zeros(n, np.float32),
            join_tick=np.zeros(n, np.int32), referrer_nbrs=np.zeros(n, np.int32),
            nps_bias=np.zeros(n, np.float32), pending=np.zeros(n, np.uint8),
            events=np.zeros(n, np.uint8),
        )

    @property
    def nbytes_per_customer(self) -> int:
        """Bytes of state per customer (excluding the social network)."""
        return sum(getattr(self, f).itemsize for f in self.__dataclass_fields__)


@dataclass
class Tables:
    """Parameter tables handed to the kernels (column names in :mod:`cxsim.kernels`)."""

    beh: np.ndarray
    seg: np.ndarray
    seg_need_cum: np.ndarray
    seg_pref: np.ndarray
    tp: np.ndarray
    need_ptr: np.ndarray
    need_tp: np.ndarray
    path_ptr: np.ndarray
    path_to: np.ndarray
    path_w: np.ndarray
    path_kind: np.ndarray
    path_mask: np.ndarray


class CXModel(mesa.Model):
    """A CX ecosystem: customers, employees and partners around a graph of touchpoints.

    Parameters
    ----------
    scenario
        A validated :class:`~cxsim.scenario.Scenario` (see :func:`cxsim.load_scenario`).
    rng
        Seed (int or ``numpy.random.SeedSequence``); the same seed gives identical results
        under either engine and any thread count.
    engine
        ``"numba"`` (default): customers advance in a parallel numba kernel.
        ``"mesa"``: every :class:`~cxsim.agents.Customer` is a Mesa agent stepped one by one in
        Python (the readable reference and the speed baseline).
    strategy
        ``None`` (the baseline), the name of one of the scenario's strategies, a
        :class:`~cxsim.scenario.Strategy`, or a list of those (composed); see
        :mod:`cxsim.strategies`.

    The validated scenario is ``model.spec`` (Mesa reserves ``model.scenario`` for its own
    experiment scenarios).  After :meth:`run`, ``model.metrics`` holds one row per tick,
    ``model.touchpoint_metrics`` and ``model.segment_metrics`` the per-touchpoint and
    per-segment tables.

    """

    def __init__(self, scenario: Scenario, rng: int | np.random.SeedSequence | None = None,
                 engine: str = "numba", strategy: StrategyLike = None):
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
        seed = 0 if rng is None else rng
        seed_int = (int(seed.generate_state(1)[0]) if isinstance(seed, np.random.SeedSequence)
                    else int(seed))
        super().__init__(rng=seed_int)
        self.spec = scenario.validated()
        self.seed = seed
        self.engine = engine
        self.keys = stream_keys(seed)
        self.chunk = CHUNK
        self.time_tick = 0
        sc = self.spec
        self.segment_names = list(sc.segments)
        self.touchpoint_names = list(sc.touchpoints)
        self.need_names = sc.need_types
        self.channel_names = sc.channels
        self._tp_index = {name: j for j, name in enumerate(self.touchpoint_names)}
        # touchpoint indices of each team, partner and system, resolved once
        ix = self._tp_index
        self._team_tps = {n: [ix[r] for r in t.touchpoints] for n, t in sc.teams.items()}
        self._partner_tps = {n: [ix[r] for r in p.touchpoints] for n, p in sc.partners.items()}
        self._system_tps = [[ix[r] for r in y.touchpoints] for y in sc.systems.values()]
        self._staffed_tps = [j for js in self._team_tps.values() for j in js]
        self._self_service_tps = [ix[n] for n, t in sc.touchpoints.items()
                                  if t.stage == "support" and ix[n] not in self._staffed_tps]
        n = sc.market.size
        self.n = n
        self.n_chunks = (n + CHUNK - 1) // CHUNK
        self.tables = self._build_tables()
        self._tp_base = self.tables.tp.copy()
        self._tp_now = self._tp_base.copy()  # the base after today's interventions
        self._seg_base = self.tables.seg.copy()
        self.strategy = resolve(self.spec, strategy)
        self.network = build_network(sc.market.network, n, sc.market.mean_degree,
                                     sc.market.rewiring, numpy_generator(self.keys, "network"))
        if self.network is None:
            self.indptr = np.zeros(n + 1, np.int64)
            self.indices = np.zeros(0, np.int32)
        else:
            self.indptr, self.indices = self.network
        self.arrays = CustomerArrays.empty(n)
        self._init_customers()
        self.touchpoint_space = self._build_touchpoint_space()
        self._init_company()
        self._global_exposure = 0.0
        self._wom_rate = 0.0
        self._wom_target = 0.0
        self._last_visits = None
        self._backlog = {name: 0.0 for name in sc.teams}
        self._queue_state: dict[str, dict] = {}
        self._team_aht = {name: t.handle_time for name, t in sc.teams.items()}
        self._outage_left = np.zeros(len(sc.systems))
        self.acc = np.zeros((self.n_chunks, K.N_ACC))
        n_tp = len(self.touchpoint_names)
        self.tpacc = np.zeros((self.n_chunks, n_tp, K.N_TPA + n_tp))
        self.segacc = np.zeros((self.n_chunks, len(self.segment_names), K.N_SGA))
        self._rows: list[dict] = []
        self._tp_rows: list[np.ndarray] = []
        self._seg_rows: list[np.ndarray] = []
        self._queue_rows: list[dict] = []
        self._intervention_cost = 0.0
        self._revenue_factor = np.ones(len(self.segment_names))
        self._outage_factor = np.ones(len(sc.systems))
        self._hired = [0] * len(self.strategy.interventions)
        self._hired_staff: list[list[Employee]] = [[] for _ in self.strategy.interventions]
        self._trained = [0.0] * len(self.strategy.interventions)
        self._partner_base = {n: (p.reliability, p.quality) for n, p in self.partners.items()}
        self._initial_customers = int((self.arrays.status == K.CUSTOMER).sum())
        self._seg_initial = np.bincount(self.arrays.segment[self.arrays.status == K.CUSTOMER],
                                        minlength=len(self.segment_names))
        self._customer_agents: list[Customer] = []
        if engine == "mesa":
            self._customer_agents = [Customer(self, i) for i in range(n)]

    # =========================================================================================
    # set-up
    # =========================================================================================
    def _build_tables(self) -> Tables:
        sc = self.spec
        b = sc.behaviour
        dt_days = sc.simulation.tick_days
        ticks_per_month = MONTH_DAYS / dt_days
        beh = np.zeros(K.N_BEH)
        beh[K.B_LOSS] = b.loss_aversion
        beh[K.B_ALPHA] = b.value_exponent
        beh[K.B_PEAK] = b.peak_weight
        beh[K.B_END] = b.end_weight
        beh[K.B_MEMORY_W] = K.memory_weight(b.memory_half_life)
        beh[K.B_ADAPT] = b.expectation_adaptation
        beh[K.B_EFFORT_W] = b.effort_weight
        beh[K.B_WAIT_EFFORT] = b.wait_effort_per_minute
        beh[K.B_FAIL_PENALTY] = b.failure_penalty
        beh[K.B_UNRESOLVED] = b.unresolved_performance
        beh[K.B_MAX_STEPS] = b.max_steps
        beh[K.B_SAT_EFFECT] = b.satisfaction_effect
        beh[K.B_SAT_REF] = b.satisfaction_reference
        beh[K.B_TENURE_EFFECT] = b.tenure_effect
        beh[K.B_LOG_CONTAGION] = math.log(b.contagion)
        beh[K.B_EXPOSURE_DECAY] = 2.0 ** (-dt_days / b.contagion_half_life)
        beh[K.B_SURVEY_NOISE] = b.survey_noise
        beh[K.B_REFERRAL_PROMOTERS] = 1.0 if sc.market.referral_from == "promoters" else 0.0
        years = dt_days / YEAR_DAYS
        beh[K.B_P_TICK] = sc.market.p * years
        beh[K.B_Q_TICK] = sc.market.q * years
        beh[K.B_WIN_BACK_TICK] = (K.per_tick_probability(sc.market.win_back, 1.0 / years)
                                  if sc.market.win_back > 0 else 0.0)
        beh[K.B_YEARS_PER_TICK] = years
        beh[K.B_FULL_MIXING] = 1.0 if sc.market.network == "full" else 0.0
        beh[K.B_NPS_SAMPLE] = sc.survey.nps_sample_rate
        beh[K.B_SPREAD] = b.initial_spread
        beh[K.B_CONTRACT_EFFECT] = b.contract_effect
        beh[K.B_TICKS_PER_MONTH] = ticks_per_month
        needs = sc.need_types
        beh[K.B_FAILURE_NEED] = needs.index(b.failure_need) if b.failure_need in needs else -1
        beh[K.B_REPEAT_EFFORT] = b.repeat_effort
        beh[K.B_OMNICHANNEL] = sc.operations.omnichannel
        beh[K.B_REROUTE_EFFORT] = b.reroute_effort
        beh[K.B_RECOVERY_EFFECT] = b.recovery_effect

        segs = list(sc.segments.values())
        seg = np.zeros((len(segs), K.N_SEG))
        seg_need_cum = np.zeros((len(segs), len(needs)))
        channels = sc.channels
        seg_pref = np.ones((len(segs), len(channels)))
        for s, sp in enumerate(segs):
            rates = np.array([sp.need_rates.get(k, 0.0) for k in needs])
            total = rates.sum()
            seg[s, K.S_P_NEED] = 1.0 - math.exp(-total * dt_days)
            seg_need_cum[s] = np.cumsum(rates) / total if total > 0 else 1.0
            seg[s, K.S_PATIENCE] = sp.patience
            seg[s, K.S_QUEUE_PATIENCE] = sp.queue_patience
            seg[s, K.S_EXTRA_LOGIT] = 0.0
            seg[s, K.S_CONTRACT_TICKS] = sp.contract_months * ticks_per_month
            seg[s, K.S_INIT_SAT] = sp.initial_satisfaction
            seg[s, K.S_INIT_EXP] = sp.initial_expectation
            seg[s, K.S_BASE_CHURN_TICK] = sp.base_churn  # monthly; converted per tick in kernel
            seg[s, K.S_CONCENTRATION] = sp.churn_concentration
            for c, ch in enumerate(channels):
                seg_pref[s, c] = sp.channel_preference.get(ch, 1.0)

        tps = list(sc.touchpoints.values())
        tp = np.zeros((len(tps), K.N_TP))
        for j, t in enumerate(tps):
            tp[j, K.T_CHANNEL] = channels.index(t.channel)
            tp[j, K.T_QUALITY] = t.quality
            tp[j, K.T_VARIABILITY] = t.variability
            tp[j, K.T_EFFORT] = t.effort
            tp[j, K.T_RESOLUTION] = t.resolution
            tp[j, K.T_OPEN] = 1.0 if t.enabled else 0.0
            tp[j, K.T_EXISTS] = 1.0 if t.enabled else 0.0

        need_ptr = np.zeros(len(needs) + 1, np.int64)
        need_tp: list[int] = []
        for k, name in enumerate(needs):
            need_tp.extend(self._tp_index[x] for x in sc.needs[name].entry)
            need_ptr[k + 1] = len(need_tp)

        order = sorted(range(len(sc.pathways)),
                       key=lambda e: self._tp_index[sc.pathways[e].from_])
        path_ptr = np.zeros(len(tps) + 1, np.int64)
        path_to, path_w, path_kind, path_mask = [], [], [], []
        all_needs = (1 << len(needs)) - 1
        for e in order:
            pw = sc.pathways[e]
            path_ptr[self._tp_index[pw.from_] + 1] += 1
            path_to.append(self._tp_index[pw.to])
            path_w.append(pw.weight)
            path_kind.append(1 if pw.kind == "handoff" else 0)
            mask = sum(1 << needs.index(x) for x in pw.needs) if pw.needs else all_needs
            path_mask.append(mask)
        path_ptr = np.cumsum(path_ptr)
        return Tables(
            beh=beh, seg=seg, seg_need_cum=seg_need_cum, seg_pref=seg_pref, tp=tp,
            need_ptr=need_ptr, need_tp=np.array(need_tp, np.int64), path_ptr=path_ptr,
            path_to=np.array(path_to, np.int64), path_w=np.array(path_w, np.float64),
            path_kind=np.array(path_kind, np.int64), path_mask=np.array(path_mask, np.int64))

    def _init_customers(self) -> None:
        sc = self.spec
        a = self.arrays
        shares = np.cumsum([sp.share for sp in sc.segments.values()])
        tenure_mean = sc.market.initial_tenure_months
        _init_population(self.keys, self.tables.seg, self.tables.beh, shares,
                         float(sc.behaviour.nps_sd), a.segment, a.nps_bias)
        k = sc.market.initial_customers
        if k > 0:
            u = _uniforms(self.keys[STREAM_INDEX["initial"]], self.n, 0)
            chosen = np.sort(np.argpartition(u, k - 1)[:k]) if k < self.n else np.arange(self.n)
            _init_customers_kernel(self.keys, chosen, tenure_mean, self.tables.seg,
                                   self.tables.beh, a.status, a.segment, a.satisfaction,
                                   a.expectation, a.churn_logit, a.join_tick)
        self._initial_referrals()

    def _initial_referrals(self) -> None:
        """Set every agent's count of referring contacts from the initial state."""
        a = self.arrays
        promoters_only = self.tables.beh[K.B_REFERRAL_PROMOTERS] > 0
        ref = _referrers(a.status, a.satisfaction, a.nps_bias, promoters_only)
        if self.network is None:
            self._referrers = int(ref.sum())
            self.tables.beh[K.B_FULL_REFERRAL_FRAC] = self._referrers / max(self.n - 1, 1)
            return
        a.events[:] = np.where(ref, K.EV_REF_UP, 0).astype(np.uint8)
        chunk_events = np.add.reduceat(ref.astype(float), np.arange(0, self.n, self.chunk))
        K.spread_social_effects(self.chunk, chunk_events, a.events, self.indptr, self.indices,
                                a.satisfaction, a.expectation, a.exposure, a.referrer_nbrs, 0.0,
                                get_num_threads())
        a.events[:] = 0

    def _build_touchpoint_space(self) -> Network:
        sc = self.spec
        g = nx.DiGraph()
        for j, name in enumerate(self.touchpoint_names):
            tp = sc.touchpoints[name]
            g.add_node(j, name=name, channel=tp.channel, stage=tp.stage)
        for pw in sc.pathways:
            g.add_edge(self._tp_index[pw.from_], self._tp_index[pw.to], weight=pw.weight,
                       kind=pw.kind)
        return Network(g, random=self.random)

    def _init_company(self) -> None:
        sc = self.spec
        gen = numpy_generator(self.keys, "workforce")
        self.teams: dict[str, list[Employee]] = {}
        self._serials = 0
        self._vacancies: dict[str, list[int]] = {name: [] for name in sc.teams}
        self._team_events: dict[str, dict[str, float]] = {}
        for name, team in sc.teams.items():
            # individual differences around the team's means, centred so that the team
            # starts exactly at its stated skill and engagement whatever its size
            n = team.headcount
            dz = gen.standard_normal((n, 2)) * 0.1
            dz -= dz.mean(axis=0) if n else 0.0
            tenure = gen.exponential(720, n)
            staff = [self._new_employee(name, float(np.clip(team.skill + dz[k, 0], 0, 1)),
                                        float(np.clip(team.engagement + dz[k, 1], 0, 1)),
                                        float(tenure[k]))
                     for k in range(n)]
            self.teams[name] = staff
        self.partners: dict[str, Partner] = {
            name: Partner(self, name, p.reliability, p.quality, p.capacity, p.cost_per_job)
            for name, p in sc.partners.items()
        }
        self._partner_ref = {name: p.quality for name, p in sc.partners.items()}
        self._partner_rows: list[dict] = []
        #: the operating environment's levels (strategies may change them)
        self.knowledge_base = sc.operations.knowledge_base

    def _new_employee(self, team: str, skill: float, engagement: float,
                      tenure: float = 0.0) -> Employee:
        self._serials += 1
        return Employee(self, team, self._serials, skill, engagement, tenure)

    # =========================================================================================
    # the tick
    # =========================================================================================
    def step(self) -> None:
        """Advance the ecosystem by one tick.

        The phases of a tick, in order:

        0. **interventions** — the strategy's interventions take their strength for today
           (start, ramp, end) and their costs are booked (see :mod:`cxsim.strategies`).
        1. **environment** — IT outages start or end; dependent touchpoints close while down;
           touchpoints not yet added by a strategy stay closed.
        2. **workforce and partners** — employees step on yesterday's occupancy and contacts
           (burnout, engagement, learning), some quit and due hires start; team skill and
           engagement set the quality, resolution and handle time of staffed touchpoints, the
           knowledge base the resolution of support touchpoints; partner load sets
           reliability, hence the failure probability of operated touchpoints.
        3. **queues** — each team's offered load (the previous tick's contacts plus backlog: a
           persistence forecast) and agents on shift give, through Erlang A with the
           customers' patience, the probability of waiting and the waits customers meet today.
        4. **customers** — every agent advances (numba kernel, or Mesa ``Customer.step`` one by
           one): prospects may join (Bass p + q x referring contacts), customers meet needs in
           episodes through the touchpoint graph, update satisfaction and expectations, answer
           surveys and may churn.  All read the previous tick's social state (synchronous).
        5. **social spread** — joins, churns and detractor episodes reach contacts: referral
           counts, churn exposure (contagion) and word of mouth on expectations.
        6. **metrics** — per-chunk accumulators are summed in order into the tick's rows; each
           team's contacts are settled (served + abandoned + backlog = offered).
        """
        self.time_tick += 1
        self._phase_interventions()
        self._phase_environment()
        self._phase_company()
        queue = self._phase_queues()
        self._phase_customers()
        self._phase_social()
        self._phase_metrics(queue)

    def run(self, ticks: int | None = None, progress: bool = False) -> CXModel:
        """Run ``ticks`` ticks (default: the scenario's); return the model for chaining."""
        ticks = self.spec.simulation.ticks if ticks is None else int(ticks)
        it = range(ticks)
        if progress:
            from tqdm.auto import tqdm

            it = tqdm(it, desc="cxsim", unit="tick", leave=False)
        for _ in it:
            self.step()
        return self

    # ---- phase 0 ---------------------------------------------------------------------------
    def _phase_interventions(self) -> None:
        """Set today's state of every intervention; book its cost.

        Levels are recomputed from the scenario's base values each tick, so an intervention's
        effect ramps in, holds, and is withdrawn after its end.  Training and hiring act on
        people: skill is delivered over the ramp to the staff present, and hires stay.
        """
        sc = self.spec
        t = self.time_tick
        tp = self._tp_now
        tp[:] = self._tp_base
        seg = self.tables.seg
        seg[:] = self._seg_base
        beh = self.tables.beh
        beh[K.B_OMNICHANNEL] = sc.operations.omnichannel
        self.knowledge_base = sc.operations.knowledge_base
        self._revenue_factor[:] = 1.0
        self._outage_factor[:] = 1.0
        for name, p in self.partners.items():
            p.reliability, p.quality = self._partner_base[name]
        for staff in self.teams.values():
            for e in staff:
                e.engagement_boost = 0.0
        cost = 0.0
        b = sc.behaviour
        for k, iv in enumerate(self.strategy.interventions):
            cost += cost_at(iv, t)
            lv = level(iv, t)
            x = iv.amount * lv
            kind = iv.type
            if kind in ("train", "hire"):
                team = sc.teams[iv.target]
                staff = self.teams[iv.target]
                if kind == "train":
                    # skill is delivered over the ramp to the staff present and, once
                    # learned, stays; the engagement boost lasts while the programme runs
                    delivered = iv.amount * delivery(iv, t)
                    step = delivered - self._trained[k]
                    self._trained[k] = delivered
                    for e in staff:
                        e.skill = min(1.0, e.skill + step)
                        e.engagement_boost += 0.5 * x
                else:
                    target = int(round(x))
                    temporary = iv.end != -1
                    while self._hired[k] < target:
                        e = self._new_employee(iv.target, team.new_hire_skill, team.engagement)
                        e.temporary = temporary
                        staff.append(e)
                        self._hired_staff[k].append(e)
                        self._hired[k] += 1
                    if temporary and lv == 0.0 and t > iv.end and self._hired_staff[k]:
                        # the temporary staff leave (those who quit early were not replaced)
                        for e in self._hired_staff[k]:
                            if e in staff:
                                staff.remove(e)
                                e.remove()
                        self._hired_staff[k] = []
            elif kind == "add_touchpoint":
                j = self._tp_index[iv.target]
                tp[j, K.T_OPEN] = lv  # ramps in as customers discover it
                tp[j, K.T_EXISTS] = lv
            elif kind == "improve_touchpoint":
                j = self._tp_index[iv.target]
                tp[j, K.T_QUALITY] = min(1.0, tp[j, K.T_QUALITY] + x)
                tp[j, K.T_RESOLUTION] = min(1.0, tp[j, K.T_RESOLUTION] + x)
                tp[j, K.T_EFFORT] = max(0.0, tp[j, K.T_EFFORT] - x)
            elif kind == "partner_sla":
                p = self.partners[iv.target]
                p.reliability = min(1.0, p.reliability + x)
                p.quality = min(1.0, p.quality + x)
            elif kind == "omnichannel":
                beh[K.B_OMNICHANNEL] = min(1.0, beh[K.B_OMNICHANNEL] + x)
            elif kind == "knowledge_base":
                self.knowledge_base = min(1.0, self.knowledge_base + x)
            elif kind == "it_resilience":
                k_sys = list(sc.systems).index(iv.target)
                self._outage_factor[k_sys] *= max(0.0, 1.0 - x)
            else:  # segment-level levers; no target = every segment
                segs = ([self.segment_names.index(iv.target)] if iv.target
                        else range(len(self.segment_names)))
                for s_idx in segs:
                    sp = sc.segments[self.segment_names[s_idx]]
                    if kind == "personalisation":
                        seg[s_idx, K.S_PERF_BONUS] += x
                    elif kind == "service_recovery":
                        seg[s_idx, K.S_RECOVERY] = min(1.0, seg[s_idx, K.S_RECOVERY] + x)
                    elif kind == "loyalty_programme":
                        seg[s_idx, K.S_EXTRA_LOGIT] += b.switching_cost_effect * x
                    elif kind == "demand_surge":
                        # P(need) = 1 - exp(-rate dt): the rate x (1 + x) (surges compound)
                        p0 = seg[s_idx, K.S_P_NEED]
                        seg[s_idx, K.S_P_NEED] = 1.0 - (1.0 - p0) ** (1.0 + x)
                    elif kind == "price_change":
                        self._revenue_factor[s_idx] *= 1.0 + x
                        seg[s_idx, K.S_EXTRA_LOGIT] += (b.price_churn_effect
                                                        * sp.price_sensitivity * x)
        self._intervention_cost = cost

    # ---- phase 1 ---------------------------------------------------------------------------
    def _phase_environment(self) -> None:
        sc = self.spec
        tp = self.tables.tp
        tp[:] = self._tp_now  # the base after interventions; later phases add today's state
        key = self.keys[STREAM_INDEX["environment"]]
        dt = sc.simulation.tick_days
        self.systems_down: list[str] = []
        for k, (name, system) in enumerate(sc.systems.items()):
            if self._outage_left[k] <= 0 and system.outage_probability > 0:
                p_day = system.outage_probability * self._outage_factor[k]
                p_start = 1.0 - (1.0 - p_day) ** dt
                if uniform(key, k, self.time_tick, 0) < p_start:
                    days = -system.outage_days * math.log(uniform(key, k, self.time_tick, 1))
                    self._outage_left[k] = max(1, math.ceil(days / dt))
            scheduled = any(a <= self.time_tick <= b for a, b in system.scheduled_outages)
            if scheduled or self._outage_left[k] > 0:
                self._outage_left[k] = max(self._outage_left[k] - 1, 0)
                self.systems_down.append(name)
                tp[self._system_tps[k], K.T_OPEN] = 0.0

    # ---- phase 2 ---------------------------------------------------------------------------
    def _phase_company(self) -> None:
        """Employees and partners step; team and partner state set today's touchpoints."""
        sc = self.spec
        tp, base = self.tables.tp, self._tp_now
        dt = sc.simulation.tick_days
        last = self._queue_rows[-1] if self._queue_rows else {}
        w_staff = sc.behaviour.staff_quality_effect
        wf = sc.workforce
        kb_shift = sc.operations.knowledge_base_effect * (
            self.knowledge_base - sc.operations.knowledge_base)
        for name, team in sc.teams.items():
            staff = self.teams[name]
            q = last.get(name)
            occupancy = q["occupancy_actual"] if q else None
            contacts = q["served"] / len(staff) if q and staff else 0.0
            for e in staff:
                e.step(occupancy, contacts)
            # attrition, then replacements whose hiring lag has passed
            skill0, eng0 = wf.reference_skill, wf.reference_engagement
            before = len(staff)
            leavers = [e for e in staff if e.quits(team.annual_attrition)]
            for e in leavers:
                staff.remove(e)
                e.remove()
                if not e.temporary:  # temporary staff who quit are not replaced
                    self._vacancies[name].append(
                        self.time_tick + max(1, math.ceil(team.hiring_lag_days / dt)))
            due = [v for v in self._vacancies[name] if v <= self.time_tick]
            self._vacancies[name] = [v for v in self._vacancies[name] if v > self.time_tick]
            for _ in due:
                staff.append(self._new_employee(name, team.new_hire_skill, team.engagement))
            self._team_events[name] = {"headcount_start": before, "leavers": len(leavers),
                                       "hires": len(due),
                                       "vacancies": len(self._vacancies[name])}
            skill = _mean(staff, "skill", skill0)
            eng = _mean(staff, "engagement", eng0)
            self._team_aht[name] = team.handle_time * max(
                0.3, 1.0 + wf.handle_time_skill_effect * (skill0 - skill))
            shift = w_staff * ((skill - skill0) + (eng - eng0)) / 2.0
            res_shift = wf.resolution_skill_effect * (skill - skill0) + kb_shift
            for j in self._team_tps[name]:
                tp[j, K.T_QUALITY] = min(max(base[j, K.T_QUALITY] + shift, 0.0), 1.0)
                tp[j, K.T_RESOLUTION] = min(max(base[j, K.T_RESOLUTION] + res_shift, 0.0), 1.0)
        # the knowledge base also serves self-service support touchpoints
        for j in self._self_service_tps:
            tp[j, K.T_RESOLUTION] = min(max(base[j, K.T_RESOLUTION] + kb_shift, 0.0), 1.0)
        w_partner = sc.behaviour.partner_quality_effect
        visits = self._last_visits
        for name, partner in self.partners.items():
            refs = self._partner_tps[name]
            partner.jobs_last_tick = float(sum(visits[j] for j in refs)) if visits is not None \
                else 0.0
            partner.step()
            shift = w_partner * (partner.quality - self._partner_ref[name])
            for j in refs:
                tp[j, K.T_QUALITY] = min(max(base[j, K.T_QUALITY] + shift, 0.0), 1.0)
                tp[j, K.T_P_FAIL] = 1.0 - partner.effective_reliability

    # ---- phase 3 ---------------------------------------------------------------------------
    def _phase_queues(self) -> dict:
        """Solve every team's queue for today (Erlang A); return volume-weighted figures.

        Offered load = the previous tick's contacts at the team's open touchpoints plus the
        backlog they left (a persistence forecast; tick 1 uses the expected entry volume).
        Customers then meet waits drawn so that, per contact, abandonment and the mean wait
        reproduce Erlang A: a waiting customer's virtual wait is exponential with mean ``m``
        and they hang up when their own exponential patience runs out first, with
        ``m = r / (theta (1 - r))``, ``r = P(abandon) / P(wait)``.
        """
        sc = self.spec
        tp = self.tables.tp
        offered_all = self._last_visits if self._last_visits is not None \
            else self._expected_entry_volume()
        theta = 1.0 / self._mean_queue_patience()
        out = {"offered": 0.0, "sl": 0.0, "asa": 0.0, "occ": 0.0, "teams": {}}
        for name, team in sc.teams.items():
            refs = self._team_tps[name]
            present = len(self.teams[name])
            # agents on shift at once; a team with anyone in it keeps at least one on duty
            agents = (max(1, int(round(present * team.shift_hours / team.open_hours)))
                      if present > 0 else 0)
            arrivals = float(sum(offered_all[j] for j in refs if tp[j, K.T_OPEN] > 0))
            offered = arrivals + self._backlog[name]
            minutes = team.open_hours * 60.0 * sc.simulation.tick_days
            aht = self._team_aht[name]
            q = erlang_a(offered / minutes, aht, 1.0 / theta, agents,
                         team.service_target / 60.0)
            r = q.p_abandon / q.p_wait if q.p_wait > 0 else 0.0
            mean_virtual = r / (theta * (1.0 - r)) if r < 1.0 else math.inf
            for j in refs:
                tp[j, K.T_P_WAIT] = q.p_wait if offered > 0 else 0.0
                tp[j, K.T_WAIT_MEAN] = mean_virtual
            self._queue_state[name] = {"agents": agents, "aht": aht, "minutes": minutes}
            staff = self.teams[name]
            out["teams"][name] = {
                **self._team_events.get(name, {}), "headcount": present,
                "skill": _mean(staff, "skill", float("nan")),
                "engagement": _mean(staff, "engagement", float("nan")),
                "burnout": _mean(staff, "burnout", float("nan")),
                "offered": offered, "agents": agents, "traffic": offered / minutes * aht,
                "handle_time": aht, "p_wait": q.p_wait, "p_abandon": q.p_abandon,
                "service_level": q.service_level, "asa": q.mean_wait * 60.0,
                "occupancy": q.occupancy}
            if offered > 0:  # volume weights: an idle team adds nothing
                out["offered"] += offered
                out["sl"] += offered * q.service_level
                out["asa"] += offered * (q.mean_wait * 60.0)
                out["occ"] += offered * q.occupancy
        return out

    def _mean_queue_patience(self) -> float:
        """Mean queue patience (minutes) of the active customers, by segment."""
        active = (self._seg_rows[-1][:, K.SGA_ACTIVE] if self._seg_rows
                  else self._seg_initial.astype(float))
        pat = self.tables.seg[:, K.S_QUEUE_PATIENCE]
        total = float(active.sum())
        return float((active * pat).sum() / total) if total > 0 else float(pat.mean())

    def _settle_queues(self, tpt: np.ndarray, queue: dict) -> None:
        """Account today's contacts per team: served + abandoned + backlog = offered.

        Contacts beyond the day's capacity (agents x open minutes / handle time) are carried
        into tomorrow's offered load as backlog, never dropped.
        """
        for name, refs in self._team_tps.items():
            arrivals = float(sum(tpt[j, K.TPA_VISITS] for j in refs))
            abandoned = float(sum(tpt[j, K.TPA_QUEUE_ABANDON] for j in refs))
            offered = arrivals + self._backlog[name]
            st = self._queue_state[name]
            capacity = st["agents"] * st["minutes"] / st["aht"]
            served = min(offered - abandoned, capacity)
            backlog = offered - abandoned - served
            self._backlog[name] = backlog
            row = queue["teams"][name]
            row.update({"arrivals": arrivals, "offered_actual": offered, "served": served,
                        "abandoned": abandoned, "backlog": backlog, "capacity": capacity,
                        "occupancy_actual": min(1.0, served * st["aht"] / st["minutes"]
                                                / st["agents"]) if st["agents"] else 1.0})

    def _expected_entry_volume(self) -> np.ndarray:
        """Expected contacts per touchpoint on the first tick (entry points only)."""
        tb = self.tables
        a = self.arrays
        vol = np.zeros(len(self.touchpoint_names))
        active = np.bincount(a.segment[a.status == K.CUSTOMER],
                             minlength=len(self.segment_names))
        for s in range(len(self.segment_names)):
            p_type = np.diff(np.concatenate([[0.0], tb.seg_need_cum[s]]))
            for k in range(len(self.need_names)):
                cand = tb.need_tp[tb.need_ptr[k]:tb.need_ptr[k + 1]]
                w = np.array([tb.seg_pref[s, int(tb.tp[j, K.T_CHANNEL])] * tb.tp[j, K.T_OPEN]
                              for j in cand])
                if w.sum() > 0:
                    vol[cand] += active[s] * tb.seg[s, K.S_P_NEED] * p_type[k] * w / w.sum()
        return vol

    # ---- phase 4 ---------------------------------------------------------------------------
    def _phase_customers(self) -> None:
        tb = self.tables
        tb.beh[K.B_GLOBAL_EXPOSURE] = self._global_exposure
        tb.beh[K.B_WOM_RATE] = self._wom_rate
        tb.beh[K.B_WOM_TARGET] = self._wom_target
        a = self.arrays
        if self.engine == "numba":
            K.advance_customers(self.time_tick, self.chunk, self.keys, a.status, a.segment,
                                a.satisfaction, a.expectation, a.churn_logit, a.exposure,
                                a.join_tick, a.referrer_nbrs, a.nps_bias, a.pending, a.events,
                                self.indptr, tb.seg, tb.seg_need_cum, tb.seg_pref, tb.tp,
                                tb.need_ptr, tb.need_tp, tb.path_ptr, tb.path_to, tb.path_w,
                                tb.path_kind, tb.path_mask, tb.beh, self.acc, self.tpacc,
                                self.segacc)
        else:
            self.acc[:] = 0.0
            self.tpacc[:] = 0.0
            self.segacc[:] = 0.0
            for agent in self._customer_agents:
                agent.step()

    # ---- phase 5 ---------------------------------------------------------------------------
    def _phase_social(self) -> None:
        sc = self.spec
        a = self.arrays
        tot = _ordered_sum(self.acc)
        self._tick_totals = tot
        decay = self.tables.beh[K.B_EXPOSURE_DECAY]
        if self.network is not None:
            K.spread_social_effects(self.chunk, self.acc[:, K.ACC_EVENTS].copy(), a.events,
                                    self.indptr, self.indices, a.satisfaction, a.expectation,
                                    a.exposure, a.referrer_nbrs, sc.behaviour.wom_strength,
                                    get_num_threads())
            return
        # fully mixed market: mean-field versions of the same three effects
        n = max(self.n - 1, 1)
        k = sc.market.mean_degree
        self.tables.beh[K.B_FULL_REFERRAL_FRAC] = tot[K.ACC_REFERRERS] / n
        self._global_exposure = self._global_exposure * decay + tot[K.ACC_CHURNED] * k / n
        if tot[K.ACC_WOM_N] > 0:
            self._wom_rate = min(1.0, sc.behaviour.wom_strength * tot[K.ACC_WOM_N] * k / n)
            self._wom_target = tot[K.ACC_WOM_SAT_SUM] / tot[K.ACC_WOM_N]
        else:
            self._wom_rate = 0.0

    # ---- phase 6 ---------------------------------------------------------------------------
    def _phase_metrics(self, queue: dict) -> None:
        sc = self.spec
        tot = self._tick_totals
        tpt = _ordered_sum(self.tpacc)
        sgt = _ordered_sum(self.segacc)
        self._last_visits = tpt[:, K.TPA_VISITS].copy()
        self._settle_queues(tpt, queue)
        dt = sc.simulation.tick_days
        active = tot[K.ACC_ACTIVE]
        episodes = tot[K.ACC_EPISODES]
        revenue = float(sum(sgt[s, K.SGA_ACTIVE] * sp.revenue_per_day * dt
                            * self._revenue_factor[s]
                            for s, sp in enumerate(sc.segments.values())))
        tps = list(sc.touchpoints.values())
        contact_cost = float(sum(tpt[j, K.TPA_VISITS] * tp.cost_per_contact
                                 for j, tp in enumerate(tps)))
        staff_cost = float(sum(len(self.teams[n]) * t.wage_per_day * dt
                               for n, t in sc.teams.items()))
        partner_jobs = 0.0
        partner_fail = 0.0
        partner_cost = 0.0
        prow = {}
        for name, p in self.partners.items():
            refs = self._partner_tps[name]
            jobs = float(sum(tpt[j, K.TPA_VISITS] for j in refs))
            fails = float(sum(tpt[j, K.TPA_FAILURES] for j in refs))
            partner_jobs += jobs
            partner_fail += fails
            partner_cost += jobs * p.cost_per_job
            prow[name] = {"jobs": jobs, "failures": fails,
                          "on_time": 1.0 - fails / jobs if jobs else float("nan"),
                          "effective_reliability": p.effective_reliability,
                          "capacity": p.capacity * dt, "cost": jobs * p.cost_per_job}
        self._partner_rows.append(prow)
        cost = (contact_cost + staff_cost + partner_cost + sc.economics.fixed_cost_per_day * dt
                + sc.economics.acquisition_cost * tot[K.ACC_NEW] + self._intervention_cost)
        staffed = self._staffed_tps
        queued = float(sum(tpt[j, K.TPA_QUEUED] for j in staffed))
        q_arrivals = float(sum(tpt[j, K.TPA_VISITS] for j in staffed))
        q_abandon = float(sum(tpt[j, K.TPA_QUEUE_ABANDON] for j in staffed))
        n_survey = tot[K.ACC_SURVEY_N]
        nps, nps_se = _nps(tot[K.ACC_SURVEY_PROM], tot[K.ACC_SURVEY_DET], n_survey)
        nps_pop, _ = _nps(tot[K.ACC_PROMOTERS], tot[K.ACC_DETRACTORS], active)
        staff = [e for team in self.teams.values() for e in team]
        off = queue["offered"]
        nan = float("nan")
        row = {
            "tick": self.time_tick,
            "active": int(active),
            "new": int(tot[K.ACC_NEW]),
            "churned": int(tot[K.ACC_CHURNED]),
            "churn_rate": (tot[K.ACC_CHURNED] / tot[K.ACC_ACTIVE_START]
                           if tot[K.ACC_ACTIVE_START] > 0 else nan),
            "retention": (tot[K.ACC_COHORT] / self._initial_customers
                          if self._initial_customers > 0 else nan),
            "nps": nps,
            "csat": tot[K.ACC_CSAT_SUM] / episodes if episodes > 0 else nan,
            "ces": tot[K.ACC_CES_SUM] / episodes if episodes > 0 else nan,
            "satisfaction": tot[K.ACC_SAT_SUM] / active if active > 0 else nan,
            "fcr": tot[K.ACC_FCR] / episodes if episodes > 0 else nan,
            "service_level": queue["sl"] / off if off > 0 else nan,
            "asa": queue["asa"] / off if off > 0 else nan,
            "abandonment": q_abandon / q_arrivals if q_arrivals > 0 else nan,
            "occupancy": queue["occ"] / off if off > 0 else nan,
            "engagement": _mean(staff, "engagement", nan),
            "attrition": (sum(ev["leavers"] for ev in self._team_events.values())
                          / max(1, sum(ev["headcount_start"] for ev in self._team_events.values()))
                          if self._team_events else nan),
            "partner_on_time": 1.0 - partner_fail / partner_jobs if partner_jobs > 0 else nan,
            "revenue": revenue,
            "cost": cost,
            "profit": revenue - cost,
            "nps_se": nps_se,
            "nps_population": nps_pop,
            "nps_respondents": int(n_survey),
            "prospects": int(tot[K.ACC_PROSPECTS]),
            "lost": int(tot[K.ACC_LOST]),
            "won_back": int(tot[K.ACC_WON_BACK]),
            "episodes": int(episodes),
            "resolved": int(tot[K.ACC_RESOLVED]),
            "abandoned": int(tot[K.ACC_ABANDONED]),
            "escalations": int(tot[K.ACC_ESCALATIONS]),
            "failure_demand": int(tot[K.ACC_FAILURE_DEMAND]),
            "effort": tot[K.ACC_EFFORT_SUM] / episodes if episodes > 0 else nan,
            "promoters": int(tot[K.ACC_PROMOTERS]),
            "detractors": int(tot[K.ACC_DETRACTORS]),
            "referrers": int(tot[K.ACC_REFERRERS]),
            "queued": int(queued),
            "contact_cost": contact_cost,
            "staff_cost": staff_cost,
            "partner_cost": partner_cost,
            "intervention_cost": self._intervention_cost,
            "recoveries": int(tot[K.ACC_RECOVERIES]),
            "systems_down": len(self.systems_down),
        }
        self._rows.append(row)
        self._tp_rows.append(tpt)
        self._seg_rows.append(sgt)
        self._queue_rows.append(queue["teams"])

    # =========================================================================================
    # results
    # =========================================================================================
    @property
    def metrics(self) -> pd.DataFrame:
        """One row per tick; the contract's metric columns first, then extras."""
        df = pd.DataFrame(self._rows)
        if df.empty:
            return pd.DataFrame(columns=list(CONTRACT_METRICS))
        extras = [c for c in df.columns if c not in CONTRACT_METRICS]
        return df[list(CONTRACT_METRICS) + extras]

    @property
    def touchpoint_metrics(self) -> pd.DataFrame:
        """Per tick and touchpoint: volume, mean experience, resolutions, failures, waits."""
        rows = []
        for t, tpt in enumerate(self._tp_rows, start=1):
            for j, name in enumerate(self.touchpoint_names):
                v = tpt[j]
                visits = v[K.TPA_VISITS]
                rows.append({
                    "tick": t, "touchpoint": name,
                    "channel": self.spec.touchpoints[name].channel,
                    "stage": self.spec.touchpoints[name].stage,
                    "volume": int(visits),
                    "experience": v[K.TPA_PERF_SUM] / visits if visits else float("nan"),
                    "resolved": int(v[K.TPA_RESOLVED]), "failures": int(v[K.TPA_FAILURES]),
                    "queued": int(v[K.TPA_QUEUED]),
                    "queue_abandoned": int(v[K.TPA_QUEUE_ABANDON]),
                    "mean_wait": v[K.TPA_WAIT_SUM] / v[K.TPA_QUEUED] if v[K.TPA_QUEUED]
                    else 0.0,
                    "episodes_ended": int(v[K.TPA_ENDED_HERE]),
                    "episodes_ended_unresolved": int(v[K.TPA_ENDED_BAD]),
                })
        return pd.DataFrame(rows)

    @property
    def flow_metrics(self) -> pd.DataFrame:
        """How episodes moved, summed over the run: one row per ``source, target, episodes``.

        ``source`` is ``"need"`` (an episode entering at ``target``) or a touchpoint;
        ``target`` is a touchpoint (an escalation or hand-off), ``"resolved"`` or
        ``"unresolved"`` (where episodes ended).  Rows with no episodes are left out.
        """
        names = self.touchpoint_names
        n = len(names)
        total = (np.sum(self._tp_rows, axis=0) if self._tp_rows
                 else np.zeros((n, K.N_TPA + n)))
        moves = total[:, K.TPA_FLOW:K.TPA_FLOW + n]
        visits = total[:, K.TPA_VISITS]
        entries = visits - moves.sum(axis=0)
        ended = total[:, K.TPA_ENDED_HERE]
        bad = total[:, K.TPA_ENDED_BAD]
        rows = [("need", names[j], entries[j]) for j in range(n)]
        rows += [(names[a], names[b], moves[a, b]) for a in range(n) for b in range(n)]
        rows += [(names[j], "resolved", ended[j] - bad[j]) for j in range(n)]
        rows += [(names[j], "unresolved", bad[j]) for j in range(n)]
        df = pd.DataFrame([r for r in rows if r[2] > 0], columns=["source", "target",
                                                                   "episodes"])
        df["episodes"] = df["episodes"].round().astype(np.int64)
        return df

    @property
    def segment_metrics(self) -> pd.DataFrame:
        """Per tick and segment: active, new, churned and initial-cohort retention."""
        rows = []
        initial = self._seg_initial
        for t, sgt in enumerate(self._seg_rows, start=1):
            for s, name in enumerate(self.segment_names):
                v = sgt[s]
                rows.append({
                    "tick": t, "segment": name, "active": int(v[K.SGA_ACTIVE]),
                    "new": int(v[K.SGA_NEW]), "churned": int(v[K.SGA_CHURNED]),
                    "retention": v[K.SGA_COHORT] / initial[s] if initial[s] else float("nan"),
                })
        return pd.DataFrame(rows)

    @property
    def queue_metrics(self) -> pd.DataFrame:
        """Per tick and team: offered contacts, agents, traffic, P(wait), SL, ASA (s), occupancy."""
        rows = [{"tick": t, "team": name, **vals}
                for t, teams in enumerate(self._queue_rows, start=1)
                for name, vals in teams.items()]
        return pd.DataFrame(rows)

    @property
    def partner_metrics(self) -> pd.DataFrame:
        """Per tick and partner: jobs, failures, on-time rate, effective reliability, cost."""
        rows = [{"tick": t, "partner": name, **vals}
                for t, partners in enumerate(self._partner_rows, start=1)
                for name, vals in partners.items()]
        return pd.DataFrame(rows)

    @property
    def employee_table(self) -> pd.DataFrame:
        """One row per current employee: team, skill, engagement, burnout, tenure, experience."""
        return pd.DataFrame([{"serial": e.serial, "unique_id": e.unique_id, "team": e.team,
                              "skill": e.skill, "engagement": e.engagement,
                              "burnout": e.burnout, "tenure": e.tenure,
                              "experience": e.experience}
                             for staff in self.teams.values() for e in staff])

    def summary(self) -> dict:
        """Key figures of the run so far (see :func:`cxsim.metrics.summarise`)."""
        from .metrics import summarise

        return summarise(self.metrics, self.spec, self._initial_customers)

    def customer(self, index: int) -> Customer:
        """Return a :class:`Customer` view of agent ``index`` (created on first use)."""
        if self._customer_agents:
            return self._customer_agents[index]
        if not 0 <= index < self.n:
            raise IndexError(f"customer index {index} out of range [0, {self.n})")
        views = self.__dict__.setdefault("_views", {})
        if index not in views:
            views[index] = Customer(self, index)
        return views[index]


# =============================================================================================
# helpers
# =============================================================================================


def _mean(agents: list, attr: str, default: float) -> float:
    return float(np.mean([getattr(a, attr) for a in agents])) if agents else default


def _ordered_sum(x: np.ndarray) -> np.ndarray:
    """Sum over the chunk axis strictly in chunk order (reproducible floating point)."""
    return K.sum_chunks(x.reshape(x.shape[0], -1)).reshape(x.shape[1:])


def _nps(promoters: float, detractors: float, n: float) -> tuple[float, float]:
    """NPS and its standard error, 100 * sqrt((P + D - (P - D)**2) / n)."""
    if n <= 0:
        return float("nan"), float("nan")
    p, d = promoters / n, detractors / n
    return 100.0 * (p - d), 100.0 * math.sqrt(max(p + d - (p - d) ** 2, 0.0) / n)


@njit(cache=True)
def _uniforms(key, n, slot):
    out = np.empty(n)
    for i in range(n):
        out[i] = uniform(key, i, 0, slot)
    return out


@njit(parallel=True, cache=True)
def _init_population(keys, seg, beh, cum_shares, nps_sd, segment, nps_bias):
    """Assign every agent a segment and a response style."""
    n = segment.shape[0]
    last = cum_shares.shape[0] - 1
    for i in prange(n):
        u = uniform(keys[K.K_SEGMENT], i, 0, 0)
        s = 0
        while s < last and u >= cum_shares[s]:
            s += 1
        segment[i] = s
        nps_bias[i] = nps_sd * K.normal(keys[K.K_STYLE], i, 0, 0)


@njit(parallel=True, cache=True)
def _init_customers_kernel(keys, chosen, tenure_mean, seg, beh, status, segment, satisfaction,
                           expectation, churn_logit, join_tick):
    """Make the ``chosen`` agents customers with exponential tenure (mean ``tenure_mean``)."""
    for k in prange(chosen.shape[0]):
        i = chosen[k]
        tenure = 0.0
        if tenure_mean > 0.0:
            tenure = min(-tenure_mean * math.log(uniform(keys[K.K_INITIAL], i, 0, 1)), 240.0)
        K.start_customer(keys[K.K_START], keys[K.K_FRAILTY], i, 0, segment[i], seg, beh,
                         satisfaction, expectation, churn_logit, join_tick, tenure)
        status[i] = K.CUSTOMER


@njit(parallel=True, cache=True)
def _referrers(status, satisfaction, nps_bias, promoters_only):
    n = status.shape[0]
    out = np.zeros(n, np.bool_)
    for i in prange(n):
        out[i] = K.is_referrer(status[i], satisfaction[i], nps_bias[i], promoters_only)
    return out
