"""Strategies: named sets of timed, costed interventions, applied to a running model.

An intervention has a start tick (ticks run from 1; start 0 means from the first tick), an
optional end (its effect is withdrawn after it; skills learned in training stay) and ramp (the
effect grows linearly to full over ``ramp`` ticks), a target and a cost (one-off at the start,
plus per tick while active).  Its ``amount`` is in the unit of its type:

==================  ============  =========================================================
type                target        effect of ``amount`` at full strength
==================  ============  =========================================================
train               team          skill +amount for the team's staff; engagement +amount/2
hire                team          head count +round(amount) (new hires, wages counted);
                                  with an ``end``, temporary staff who leave after it
                                  (and are not replaced if they quit early)
add_touchpoint      touchpoint    opens a touchpoint declared with ``enabled = false``
improve_touchpoint  touchpoint    quality +amount, resolution +amount, effort −amount
partner_sla         partner       reliability +amount and quality +amount (capped at 1)
personalisation     segment/all   performance +amount at every touchpoint for the segment
omnichannel         —             omnichannel integration level +amount
knowledge_base      —             knowledge-base quality +amount
service_recovery    segment/all   each tick, share ``amount`` of customers who end an
                                  episode as detractors get proactive outreach that closes
                                  ``behaviour.recovery_effect`` of their satisfaction gap
loyalty_programme   segment/all   switching cost +amount (churn log-odds via
                                  ``behaviour.switching_cost_effect``)
it_resilience       system        outage probability x (1 − amount)
price_change        segment/all   revenue per customer x (1 + amount); churn log-odds
                                  + ``behaviour.price_churn_effect`` x price sensitivity x
                                  amount
demand_surge        segment/all   needs per day x (1 + amount): a launch, a campaign, a
                                  season (amount > −1)
==================  ============  =========================================================

Strategies compose: ``resolve(scenario, ["train_contact_centre", "fix_courier"])`` is one
strategy with both sets of interventions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from .scenario import Intervention, Scenario, ScenarioError, Strategy

BASELINE = "baseline"

StrategyLike = str | Strategy | None | Iterable["str | Strategy"]


def resolve(scenario: Scenario, strategy: StrategyLike) -> Strategy:
    """Return the :class:`Strategy` meant by ``strategy`` for ``scenario``.

    ``None`` or ``"baseline"`` is the empty strategy; a name is looked up in
    ``scenario.strategies``; a :class:`Strategy` is used as given; a list composes its parts.
    Raises :class:`ScenarioError` (one line) for an unknown name or an intervention that starts
    at or after the scenario's horizon.
    """
    if strategy is None or (isinstance(strategy, str) and strategy == BASELINE):
        return Strategy(description="no interventions")
    if isinstance(strategy, Strategy):
        # checked like a strategy in a file: known types, existing targets
        dataclasses.replace(scenario, strategies={"strategy": strategy}).validated(
            check_horizon=True)
        parts = [strategy]
        label = "strategy"
    elif isinstance(strategy, str):
        if strategy not in scenario.strategies:
            known = ", ".join(scenario.strategies) or "none"
            raise ScenarioError([f"unknown strategy '{strategy}' (known: {known})"])
        parts = [scenario.strategies[strategy]]
        label = f"strategies.{strategy}"
    else:
        items = list(strategy)
        parts = [resolve(scenario, s) for s in items]
        label = "+".join(s if isinstance(s, str) else "strategy" for s in items)
    interventions: list[Intervention] = [iv for p in parts for iv in p.interventions]
    ticks = scenario.simulation.ticks
    for k, iv in enumerate(interventions):
        if iv.start > ticks:
            raise ScenarioError([f"{label}: intervention {k} ({iv.type}) starts at tick "
                                 f"{iv.start}, beyond the horizon of {ticks} ticks"])
    description = " + ".join(p.description for p in parts if p.description)
    return Strategy(description=description, interventions=interventions)


def starts(scenario: Scenario, strategy: StrategyLike) -> list[int]:
    """Start ticks of a strategy's interventions (sorted, unique), for marking plots."""
    return sorted({iv.start for iv in resolve(scenario, strategy).interventions})


def first_tick(iv: Intervention) -> int:
    """The first tick an intervention acts on: ticks run from 1, so start 0 means tick 1."""
    return max(iv.start, 1)


def delivery(iv: Intervention, tick: int) -> float:
    """Share of the intervention delivered by ``tick`` (ramp progress; never withdrawn)."""
    start = first_tick(iv)
    if tick < start:
        return 0.0
    if iv.ramp <= 0:
        return 1.0
    return min(1.0, (tick - start + 1) / iv.ramp)


def level(iv: Intervention, tick: int) -> float:
    """Strength of an intervention at ``tick``: 0 before start, ramping to 1, 0 after end."""
    if iv.end != -1 and tick > iv.end:
        return 0.0
    return delivery(iv, tick)


def cost_at(iv: Intervention, tick: int) -> float:
    """Money an intervention costs at ``tick``: one-off at start plus per tick while active."""
    start = first_tick(iv)
    if tick < start or (iv.end != -1 and tick > iv.end):
        return 0.0
    return iv.cost_per_tick + (iv.cost if tick == start else 0.0)
