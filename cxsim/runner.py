"""A single run as a plain function: ``run(scenario, seed) -> RunResult``."""

from __future__ import annotations

import dataclasses
import math
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .errors import Arg, Message
from .model import CXModel
from .params import apply_overrides
from .rng import SeedLike, seed_value
from .scenario import Scenario
from .strategies import StrategyLike


@dataclass(frozen=True)
class RunResult:
    """The outcome of one run: per-tick tables and the summary, with the seed that made them.

    ``seed`` is the integer that reproduces the run (``run(scenario, result.seed)``), also
    when the run was given a NumPy integer, a ``SeedSequence`` or ``None`` (fresh entropy).
    ``segment_initial`` holds each segment's customers before the first tick (by name: the
    denominator of a segment's churn rate in its first tick).
    """

    scenario: str
    seed: int
    engine: str
    strategy: str
    metrics: pd.DataFrame = field(repr=False)
    touchpoints: pd.DataFrame = field(repr=False)
    segments: pd.DataFrame = field(repr=False)
    queues: pd.DataFrame = field(repr=False)
    partners: pd.DataFrame = field(repr=False)
    employees: pd.DataFrame = field(repr=False)
    summary: dict = field(repr=False)
    flows: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    segment_initial: dict[str, int] = field(repr=False, default_factory=dict)
    #: proactive retention's waves (``CXModel.retention_waves``; empty without it)
    retention: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    #: the voice_of_customer programmes' decisions (cxsim.voice.decisions), None without one
    voice: pd.DataFrame | None = field(repr=False, default=None)
    #: one row per activation of a triggered intervention (cxsim.triggers; empty: none)
    triggers: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)


def resize(scenario: Scenario, customers: int | None = None, days: float | None = None,
           *, sample: bool = False) -> Scenario:
    """Return the scenario with a new market size and/or horizon.

    The whole business scales with the market so that per-customer results stay comparable:
    initial customers keep their share; each team keeps its employee agents, who stand for a
    scaled number of full-time employees (``Team.fte``: capacity, contacts per person and
    wages scale, nothing is rounded); partner capacities, fixed costs and strategy costs
    scale in proportion, and a ``hire`` adds the same agents (each at the team's ``fte``).
    What remains is genuine: a smaller contact centre pools less (Erlang economies of scale).
    With ``sample=True`` even that goes: the market becomes a sample of the original one
    (``market.represents``), whose queues are solved at the original volume and staffing —
    the way to run a small market for speed and get the full market's answers.
    ``days`` becomes ``ceil(days / tick_days)`` ticks.
    """
    sc = scenario
    if customers is not None:
        f = int(customers) / sc.market.size
        represents = (sc.market.represents or sc.market.size) if sample else sc.market.represents
        market = dataclasses.replace(
            sc.market, size=int(customers), represents=represents if represents else 0,
            initial_customers=min(int(customers), int(round(sc.market.initial_customers * f))))
        if market.represents and market.represents < market.size:
            market = dataclasses.replace(market, represents=0)  # no longer a sample
        teams = {n: dataclasses.replace(t, fte=t.fte * f) for n, t in sc.teams.items()}
        partners = {n: dataclasses.replace(p, capacity=p.capacity * f)
                    for n, p in sc.partners.items()}
        economics = dataclasses.replace(
            sc.economics, fixed_cost_per_day=sc.economics.fixed_cost_per_day * f)

        def scaled(iv):
            iv = dataclasses.replace(iv, cost=iv.cost * f, cost_per_tick=iv.cost_per_tick * f)
            if iv.type == "voice_of_customer":  # its money too (the same fixes a review)
                iv = dataclasses.replace(iv, budget=iv.budget * f, cost_per_fix=iv.cost_per_fix * f)
            return iv

        strategies = {n: dataclasses.replace(st, interventions=[scaled(iv)
                                                                for iv in st.interventions])
                      for n, st in sc.strategies.items()}
        sc = dataclasses.replace(sc, market=market, teams=teams, partners=partners,
                                 economics=economics, strategies=strategies)
    if days is not None:
        ticks = max(1, math.ceil(days / sc.simulation.tick_days - 1e-9))
        sc = dataclasses.replace(sc, simulation=dataclasses.replace(sc.simulation, ticks=ticks))
    return sc


#: agents on shift below which a team resized to a smaller market no longer queues like the
#: scenario's own: with one to three agents an Erlang queue at the same occupancy makes
#: customers wait far longer and hang up far more often (retailer at 20,000 customers, 1.6
#: agents: 55 % answered in 20 s and 25 % abandonment, against 85 % and 4 % with its 8)
MIN_ON_SHIFT = 3.0


def on_shift(scenario: Scenario, team: str) -> float:
    """Full-time equivalents of ``team`` on shift as its queue sees them.

    ``headcount x fte x shift_hours / open_hours``, at the sampled market's scale when the
    market is a sample (``market.represents``), as :mod:`cxsim.queues` solves the queue.
    """
    t = scenario.teams[team]
    m = scenario.market
    scale = m.represents / m.size if m.represents else 1.0
    return t.headcount * t.fte * t.shift_hours / t.open_hours * scale


def small_teams(scenario: Scenario, customers: int | None) -> Message | None:
    """A warning when resizing ``scenario`` to ``customers`` leaves a team too small.

    Resizing keeps every team's capacity per customer (:func:`resize`) but a smaller team
    pools less, so below :data:`MIN_ON_SHIFT` agents on shift its service level, waits and
    abandonment (and the churn they drive) are no longer the scenario's.  Returns one line
    naming each such team, its agents on shift and the scenario's, or ``None`` when every
    team keeps enough agents (or the market is not made smaller).  ``scenario`` is the
    scenario before resizing; ``cxsim run``, ``compare`` and ``sweep`` print it.
    """
    if customers is None or customers >= scenario.market.size:
        return None
    resized = resize(scenario, customers=customers)
    shrunk = [(name, on_shift(scenario, name), on_shift(resized, name))
              for name in scenario.teams]
    shrunk = [(name, full, now) for name, full, now in shrunk
              if now < MIN_ON_SHIFT and now < full]
    if not shrunk:
        return None
    (name, full, now), rest = shrunk[0], shrunk[1:]
    agents = "agent" if f"{now:.2g}" == "1" else "agents"
    teams = (f"teams.{name} has {now:.2g} {agents} on shift ({full:.2g} at the scenario's "
             f"{scenario.market.size:,} customers)"
             + "".join(f", teams.{n} {b:.2g} ({a:.2g})" for n, a, b in rest))
    return Message("warning: at ", Arg("customers", f"{customers:,}"), f" {teams}: a team "
                   "this small queues worse, so service level, waits and the churn they "
                   "drive are not the scenario's; use a larger ",
                   Arg("customers", library="customers value"))


def build_scenario(base: Mapping, point: Mapping[str, Any], customers: int | None = None,
                   days: float | None = None) -> Scenario:
    """A scenario from plain data with values set by path, then resized.

    ``base`` is a scenario's plain data (:meth:`Scenario.to_dict`) and ``point`` maps paths
    to values (:func:`cxsim.params.apply_overrides`; the reserved ``strategy`` is skipped).
    Values are set first, then the market is resized (:func:`resize`), so a value speaks the
    scenario's units (a head count of 12 at the full market) and ``customers`` only scales
    the model.  Raises :class:`~cxsim.ScenarioError` for invalid values.
    """
    sc = Scenario.from_dict(apply_overrides(base, point), check_horizon=False)
    if customers is not None or days is not None:
        sc = resize(sc, customers=customers, days=days).validated()
    return sc


#: seconds the set-up and first tick may take before ``run(notice=True)`` says what is slow
NOTICE_AFTER_S = 2.0
NOTICE = ("cxsim: preparing the model (the first run after installing also compiles its "
          "kernels, about 10 s; later runs reuse them)")


def run(scenario: Scenario, seed: SeedLike = 0, *, engine: str = "numba",
        ticks: int | None = None, progress: bool = False, strategy: StrategyLike = None,
        notice: bool = False) -> RunResult:
    """Build a :class:`CXModel` (with ``strategy`` applied), run it, return its result.

    ``seed`` is a whole number (a Python or NumPy integer), a ``numpy.random.SeedSequence``
    (e.g. one of ``SeedSequence(s).spawn(n)``) or ``None`` for fresh entropy; it is reduced
    to the integer :func:`cxsim.rng.seed_value` gives, the model runs on that integer and
    ``RunResult.seed`` records it, so ``run(scenario, result.seed)`` repeats the run exactly.
    ``strategy`` is ``None``/``"baseline"``, a strategy name of the scenario, a
    :class:`~cxsim.scenario.Strategy` or a list of those (see :mod:`cxsim.strategies`).
    ``notice=True`` prints one line on stderr when building the model and its first tick
    take more than :data:`NOTICE_AFTER_S` seconds (the first run after installing compiles
    the kernels then); the results do not depend on it.
    """
    ticks = scenario.simulation.ticks if ticks is None else int(ticks)
    timer = None
    if notice and ticks > 0:
        # said on stderr only if building the model and its first tick are slow: a cold
        # numba cache (the first run after installing) compiles every kernel here
        timer = threading.Timer(NOTICE_AFTER_S, print, (NOTICE,), {"file": sys.stderr,
                                                                   "flush": True})
        timer.daemon = True
        timer.start()
    try:
        model = CXModel(scenario, rng=seed_value(seed), engine=engine, strategy=strategy)
        if timer is not None:
            model.step()
            ticks -= 1
    finally:
        if timer is not None:
            timer.cancel()
    model.run(ticks, progress=progress)
    return result_of(model, strategy)


def result_of(model: CXModel, strategy: StrategyLike = None) -> RunResult:
    """The :class:`RunResult` of a model that has run (its tables, summary and seed)."""
    return RunResult(scenario=model.spec.name, seed=int(model.seed), engine=model.engine,
                     strategy=_strategy_label(strategy),
                     metrics=model.metrics, touchpoints=model.touchpoint_metrics,
                     segments=model.segment_metrics, queues=model.queue_metrics,
                     partners=model.partner_metrics, employees=model.employee_table,
                     summary=model.summary(), flows=model.flow_metrics,
                     segment_initial=dict(zip(model.recorder.segment_names,
                                              map(int, model.market.segment_initial),
                                              strict=True)),
                     retention=model.retention_waves,
                     voice=_voice_decisions(model), triggers=model.trigger_history)


def _voice_decisions(model: CXModel) -> pd.DataFrame | None:
    """The voice_of_customer decisions of a model with such a programme, else ``None``."""
    if not any(iv.type == "voice_of_customer" for iv in model.strategy.interventions):
        return None
    from .voice import decisions

    return decisions(model)


def _strategy_label(strategy: StrategyLike) -> str:
    if strategy is None:
        return "baseline"
    if isinstance(strategy, str):
        return strategy
    if isinstance(strategy, list | tuple):
        return "+".join(_strategy_label(s) for s in strategy)
    return "custom"
