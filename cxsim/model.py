"""CXModel: a customer-experience ecosystem as a Mesa model.

The model wires its parts together and steps them in the documented order
(:meth:`CXModel.step`).  Each part is a module that owns its state:

* :mod:`cxsim.interventions` — the strategy's timed, costed interventions (a registry);
* :mod:`cxsim.environment` — IT systems and outages, omnichannel and knowledge-base levels;
* :mod:`cxsim.workforce` and :mod:`cxsim.partners` — the company side (Mesa agents);
* :mod:`cxsim.queues` — each team's Erlang A day;
* :mod:`cxsim.market` — every agent's state as arrays and the customer kernel;
* :mod:`cxsim.social` — the social network and what spreads over it;
* :mod:`cxsim.recorder` — the tick's figures and the result tables.

The kernels' parameters are built once by :mod:`cxsim.tables`; every compiled function lives
in :mod:`cxsim.kernels`.
"""

from __future__ import annotations

import mesa
import networkx as nx
import numba
import numpy as np
import pandas as pd
from mesa.discrete_space import Network

from . import clv as _clv
from . import footprint, tables
from . import kernels as K
from .agents import Customer
from .environment import Environment
from .interventions import Interventions
from .kernels import Today, clone, copy_into
from .market import CHUNK, Market
from .partners import Partners
from .queues import QueueDay, Queues
from .recorder import CONTRACT_METRICS, Recorder, ordered_sum
from .reputation import PublicRating, initial_flow
from .rng import SeedLike, seed_value, stream_keys
from .scenario import Scenario
from .social import Social
from .strategies import StrategyLike, resolve
from .workforce import Workforce

ENGINES = ("numba", "mesa")

__all__ = ["CHUNK", "CONTRACT_METRICS", "CXModel", "ENGINES"]


#: a market smaller than this runs its ticks on one thread.  Re-measured after the move to
#: Python-thread loops (default scenario, 2 cores, median tick, 2026-12-02): on a quiet
#: machine two threads win from about 15,000 customers (20,000: 0.66 against 0.77 ms;
#: 30,000: 0.82 against 1.03 ms), but while another process keeps a core busy they lose
#: below about 50,000 (20,000: 0.85 against 0.73 ms; 30,000: 1.13 against 1.08 ms).  The
#: default must never be slower than one thread under such load, so the bar stays at
#: 50,000; ``--threads`` still decides above it.  Results do not depend on the thread count.
SERIAL_BELOW = 50_000


class CXModel(mesa.Model):
    """A CX ecosystem: customers, employees and partners around a graph of touchpoints.

    Parameters
    ----------
    scenario
        A validated :class:`~cxsim.scenario.Scenario` (see :func:`cxsim.load_scenario`).
    rng
        Seed: any whole number 0 or more (Python or NumPy integer), a
        ``numpy.random.SeedSequence``, or ``None`` for fresh entropy (Mesa's convention).
        ``model.seed`` records the integer that reproduces the run
        (:func:`cxsim.rng.seed_value`); the same seed gives identical results under either
        engine and any thread count.
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

    def __init__(self, scenario: Scenario, rng: SeedLike = None, engine: str = "numba",
                 strategy: StrategyLike = None):
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
        seed = seed_value(rng, "rng")
        super().__init__(rng=seed)
        self.seed = seed
        self.spec = sc = scenario.validated()
        footprint.check(sc, engine)  # refuse a run that would not fit, before allocating
        self.engine = engine
        self.keys = stream_keys(seed)
        self.time_tick = 0
        self.segment_names = list(sc.segments)
        self.touchpoint_names = list(sc.touchpoints)
        self.need_names = sc.need_types
        self.channel_names = sc.channels
        self.touchpoint_index = {name: j for j, name in enumerate(self.touchpoint_names)}
        ix = self.touchpoint_index
        # parameters (fixed for the run) and today's state, reset from them every tick
        self.behaviour = tables.behaviour(sc)
        self.segments_base = tables.segments(sc)
        self.segments = clone(self.segments_base)
        self.touchpoints_base = tables.touchpoints(sc)
        #: the touchpoints after today's interventions; the other phases add to a copy
        self.touchpoints_planned = clone(self.touchpoints_base)
        self.touchpoints = clone(self.touchpoints_base)
        self.journeys = tables.journeys(sc, ix)
        self.strategy = resolve(sc, strategy)
        # the parts
        self.market = Market(sc, self.keys, self.behaviour, self.segments)
        self.n = self.market.n
        self.social = Social(sc, self.n, self.keys, CHUNK)
        self.social.start(self.market.customers, self.behaviour.referral_promoters,
                          self.segments.need_mean)
        self.touchpoint_space = self._touchpoint_space()
        self.workforce = Workforce(self, ix)
        self.partnership = Partners(self, ix)
        self.environment = Environment(sc, self.keys, ix)
        self.queues = Queues(sc, self.workforce.team_tps)
        self.queues.start(self.touchpoints_base, self.journeys)
        self.interventions = Interventions(self.strategy, len(self.segment_names))
        self.recorder = Recorder(sc, self.touchpoint_names, self.segment_names,
                                 self.market.segment_initial)
        self.staffed_tps = [j for js in self.workforce.team_tps.values() for j in js]
        #: customer lifetime value: the expected figures at a cadence (:mod:`cxsim.clv`)
        self.clv_book = _clv.ClvBook(sc, len(self.segment_names))
        self._last_visits: np.ndarray | None = None
        self._failures = 0.0  # yesterday's failures: today's failure demand
        #: today's scalar inputs of the customer step (set before the customer phase)
        self.today: Today | None = None
        # issue 17: the public rating built from reviews (None when [reputation] is off)
        self.reputation: PublicRating | None = None
        if sc.reputation.enabled:
            self.reputation = PublicRating(sc.reputation, sc.simulation.tick_days,
                                           initial_flow(self.market.customers,
                                                        self.segments_base.need_mean
                                                        / sc.simulation.tick_days,
                                                        sc.reputation))
        self._customer_agents: list[Customer] = []
        if engine == "mesa":
            self._customer_agents = [Customer(self, i) for i in range(self.n)]

    def _touchpoint_space(self) -> Network:
        """The touchpoint graph as a Mesa network space (nodes: touchpoints)."""
        g = nx.DiGraph()
        for j, name in enumerate(self.touchpoint_names):
            tp = self.spec.touchpoints[name]
            g.add_node(j, name=name, channel=tp.channel, stage=tp.stage)
        for pw in self.spec.pathways:
            g.add_edge(self.touchpoint_index[pw.from_], self.touchpoint_index[pw.to],
                       weight=pw.weight, kind=pw.kind)
        return Network(g, random=self.random)

    # =========================================================================================
    # the tick
    # =========================================================================================
    def step(self) -> None:
        """Advance the ecosystem by one tick.

        The phases of a tick, in order (each one call into the part that owns it):

        0. **interventions** (:mod:`~cxsim.interventions`) — today's state is reset from the
           scenario, then every intervention of the strategy takes its strength for today
           (start, ramp, end) and its cost is booked; a triggered one first checks its
           condition on the metrics of the ticks before (:mod:`~cxsim.triggers`).
        1. **environment** (:mod:`~cxsim.environment`) — IT outages start or end; dependent
           touchpoints close while down; touchpoints not yet added by a strategy stay closed.
        2. **workforce and partners** (:mod:`~cxsim.workforce`, :mod:`~cxsim.partners`) —
           employees step on yesterday's occupancy and contacts (burnout, engagement,
           learning), some quit and due hires start; team skill and engagement set the
           quality, resolution and handle time of staffed touchpoints, the knowledge base the
           resolution of support touchpoints; partner load sets reliability, hence the
           failure probability of operated touchpoints.
        3. **queues** (:mod:`~cxsim.queues`) — each team's offered load (today's expected
           contacts: today's needs of the active customers at today's rates and open entry
           points, yesterday's failures coming back, and the recent shares of moves between
           touchpoints; plus backlog) and its full-time equivalents on shift give, through
           Erlang A with the customers' patience, the waits customers meet today: their
           abandonment, mean wait and service level are Erlang A's at today's volume.
        4. **customers** (:mod:`~cxsim.market`) — every agent advances through the one
           per-customer step (:func:`cxsim.kernels.advance_customer`: in the parallel kernel,
           or Mesa ``Customer.step`` one by one): prospects may join (Bass p + q x referring
           contacts; with ``[reputation]`` on, p scaled by yesterday's public rating,
           :mod:`~cxsim.reputation`), customers meet needs in episodes through the
           touchpoint graph, update satisfaction and expectations, answer surveys and may
           churn.  All read the previous tick's social state (synchronous).
        5. **social spread** (:mod:`~cxsim.social`) — joins, churns and detractor episodes
           reach contacts: referral counts, churn exposure (contagion) and word of mouth;
           with ``[reputation]`` on, the tick's promoter, passive and detractor episodes post
           reviews that update the public rating.
        6. **metrics** (:mod:`~cxsim.recorder`) — per-chunk accumulators are summed in order
           into the tick's rows; each team's contacts are settled (served + abandoned +
           backlog = offered).

        A market smaller than :data:`SERIAL_BELOW` runs the tick on one thread (the thread
        count is restored after it); results do not depend on it.
        """
        threads = numba.get_num_threads()
        if self.n < SERIAL_BELOW and threads > 1:
            numba.set_num_threads(1)
            try:
                self._step()
            finally:
                numba.set_num_threads(threads)
            return
        self._step()

    def _step(self) -> None:
        day, cost = self._begin_tick()
        self._phase_customers(self.time_tick)
        self._end_tick(day, cost)

    def _begin_tick(self) -> tuple[QueueDay, float]:
        """Phases 0-3 of the next tick and today's inputs of the customer step.

        Returns the queues' day and today's intervention cost for :meth:`_end_tick`.  An
        :class:`~cxsim.ensemble.Ensemble` calls the two halves itself, with one kernel pass
        over every replicate's customers in between.
        """
        self.time_tick += 1
        t = self.time_tick
        cost = self._phase_interventions(t)
        copy_into(self.touchpoints, self.touchpoints_planned)
        self.environment.step(t, self.touchpoints)
        self._phase_company(t)
        day = self._phase_queues()
        self.today = self._today()
        return day, cost

    def _end_tick(self, day: QueueDay, cost: float) -> None:
        """Phases 5-6 of the tick, after the customers stepped: social spread and metrics."""
        tot = ordered_sum(self.market.acc)
        self.social.spread(self.market.customers, self.market.acc, tot)
        if self.reputation is not None:  # the tick's reviews: tomorrow's rating
            self.reputation.observe(tot)
        self._phase_metrics(self.time_tick, tot, day, cost)
        self.clv_book.after_tick(self)  # CLV at its cadence (reads the state, draws nothing)

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

    def _phase_interventions(self, t: int) -> float:
        """Reset today's state from the scenario; apply the strategy; return today's cost."""
        copy_into(self.touchpoints_planned, self.touchpoints_base)
        copy_into(self.segments, self.segments_base)
        self.environment.reset_levels()
        self.partnership.reset()
        self.workforce.reset_boosts()
        return self.interventions.apply(self, t)

    def _phase_company(self, t: int) -> None:
        rows = self.recorder.queue_rows
        self.workforce.step(t, rows[-1] if rows else {}, self.environment.knowledge_base,
                            self.touchpoints, self.touchpoints_planned)
        self.partnership.step(self._last_visits, self.touchpoints, self.touchpoints_planned)

    def _phase_queues(self) -> QueueDay:
        rows = self.recorder.seg_rows
        active = (rows[-1][:, K.SGA_ACTIVE] if rows
                  else self.market.segment_initial.astype(float))
        callers = self.market.expected_entries(
            self.segments, self.touchpoints, self.journeys, active,
            failure_demand=self._failures, failure_need=self.behaviour.failure_need)
        return self.queues.open_day(self.queues.forecast(callers.sum(axis=0)), callers,
                                    self.segments.queue_patience, self.workforce,
                                    self.touchpoints)

    def _today(self) -> Today:
        so = self.social
        return Today(referral_fraction=float(so.referral_fraction),
                     contagion_shift=float(so.contagion_shift), wom_log=float(so.wom_log),
                     wom_target=float(so.wom_target),
                     omnichannel=float(self.environment.omnichannel), **self._bass_today())

    def _bass_today(self) -> dict[str, float]:
        """Today's one-tick Bass inputs: the scenario's, or scaled by the public rating."""
        b = self.behaviour
        if self.reputation is not None:
            return self.reputation.bass_today(b)
        return {"p_tick": b.p_tick, "q_tick": b.q_tick, "bass_e": b.bass_e,
                "bass_1me": b.bass_1me}

    def _phase_customers(self, t: int) -> None:
        if self.engine == "numba":
            self.market.advance(t, self.behaviour, self.today, self.segments, self.touchpoints,
                                self.journeys, self.social.indptr)
            return
        self.market.clear()
        for agent in self._customer_agents:
            agent.step()

    def _phase_metrics(self, t: int, tot: np.ndarray, day: QueueDay, cost: float) -> None:
        tpt = ordered_sum(self.market.tpacc)
        sgt = ordered_sum(self.market.segacc)
        self._last_visits = tpt[:, K.TPA_VISITS].copy()
        self._failures = float(tpt[:, K.TPA_FAILURES].sum())
        self.queues.observe(tpt)
        self.queues.settle(tpt, day)
        partners = self.partnership.settle(tpt, self.spec.simulation.tick_days)
        self.recorder.record(
            t, tot, tpt, sgt, day, partners, staff=self.workforce.staff,
            staffed_tps=self.staffed_tps, attrition=self.workforce.attrition(),
            initial_customers=self.market.initial_customers,
            revenue_factor=self.interventions.revenue_factor, intervention_cost=cost,
            systems_down=float(self.environment.down_share.sum()))

    # =========================================================================================
    # views and results
    # =========================================================================================
    @property
    def arrays(self) -> K.Customers:
        """The customer state arrays (:class:`cxsim.kernels.Customers`)."""
        return self.market.customers

    @property
    def network(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The social network as CSR ``(indptr, indices)``, or ``None`` when fully mixed."""
        return self.social.network

    @property
    def teams(self) -> dict:
        """Each team's :class:`~cxsim.agents.Employee` agents on staff."""
        return self.workforce.teams

    @property
    def partners(self) -> dict:
        """Each partner's :class:`~cxsim.agents.Partner` agent."""
        return self.partnership.agents

    @property
    def systems_down(self) -> list[str]:
        """Names of the IT systems down for some of this tick."""
        return self.environment.systems_down

    @property
    def knowledge_base(self) -> float:
        """Today's knowledge-base quality (the scenario's, raised by interventions)."""
        return self.environment.knowledge_base

    @property
    def metrics(self) -> pd.DataFrame:
        """One row per tick; the contract's metric columns first, then extras."""
        df = self.clv_book.columns(self, self.recorder.metrics())
        if self.interventions.retention:  # proactive retention's columns (cxsim.retention)
            from .retention import add_columns

            df = add_columns(df, self.interventions.retention)
        if self.reputation is not None and len(df):  # the public rating's columns, last
            for name, column in self.reputation.columns().items():
                df[name] = column
        return df

    @property
    def retention_waves(self) -> pd.DataFrame:
        """Proactive retention: one row per wave (see :mod:`cxsim.retention`); empty without."""
        from .retention import WAVE_COLUMNS

        frames = [p.table() for p in self.interventions.retention.values()]
        return frames[0] if len(frames) == 1 else pd.DataFrame(columns=list(WAVE_COLUMNS))

    @property
    def touchpoint_metrics(self) -> pd.DataFrame:
        """Per tick and touchpoint: volume, mean experience, resolutions, failures, waits.

        With a ``voice_of_customer`` programme, also its fixes and uplift in effect
        (:func:`cxsim.voice.touchpoint_columns`).
        """
        from .voice import touchpoint_columns

        return touchpoint_columns(self, self.recorder.touchpoints())

    @property
    def flow_metrics(self) -> pd.DataFrame:
        """How episodes moved between touchpoints, summed over the run (see Recorder.flows)."""
        return self.recorder.flows()

    @property
    def segment_metrics(self) -> pd.DataFrame:
        """Per tick and segment: active, new, churned, initial-cohort retention and CLV."""
        return self.clv_book.segment_columns(self, self.recorder.segments())

    @property
    def queue_metrics(self) -> pd.DataFrame:
        """Per tick and team: offered contacts, agents, traffic, P(wait), SL, ASA (s), occupancy."""
        return self.recorder.queues()

    @property
    def interval_metrics(self) -> pd.DataFrame:
        """Per tick, team and interval of an intraday profile: share, offered, agents, SL, ASA."""
        return self.queues.intervals()

    @property
    def partner_metrics(self) -> pd.DataFrame:
        """Per tick and partner: jobs, failures, on-time rate, effective reliability, cost."""
        return self.recorder.partners()

    @property
    def employee_table(self) -> pd.DataFrame:
        """One row per current employee: team, skill, engagement, burnout, tenure, experience."""
        return pd.DataFrame([{"serial": e.serial, "unique_id": e.unique_id, "team": e.team,
                              "skill": e.skill, "engagement": e.engagement,
                              "burnout": e.burnout, "tenure": e.tenure,
                              "experience": e.experience}
                             for e in self.workforce.staff])

    @property
    def trigger_history(self) -> pd.DataFrame:
        """One row per activation of a triggered intervention (see :mod:`cxsim.triggers`)."""
        from .triggers import empty_history

        triggers = self.interventions.triggers
        return empty_history() if triggers is None else triggers.table()

    def summary(self) -> dict:
        """Key figures of the run so far (see :func:`cxsim.metrics.summarise`).

        With triggered interventions, ``trigger_activations`` counts their activations.
        """
        from .metrics import summarise

        out = summarise(self.metrics, self.spec, self.market.initial_customers)
        if self.interventions.triggers is not None and out.get("ticks"):
            out["trigger_activations"] = len(self.interventions.triggers.history)
        return out

    def churn_hazards(self, out: np.ndarray | None = None) -> np.ndarray:
        """Each agent's churn probability in the next tick (NaN for non-customers).

        The hazard the next tick's churn draw uses, from every customer's state now (see
        :func:`cxsim.kernels.customer_hazards`), with today's segment shifts; read by CLV and
        churn-risk scores.  Before the first tick it is the hazard of tick 1.
        """
        today = self._today()
        return K.customer_hazards(self.time_tick, self.market.customers, self.behaviour,
                                  today, self.segments, out)

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
