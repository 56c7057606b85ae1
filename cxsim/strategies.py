"""Strategies: named sets of timed, costed interventions, applied to a running model.

An intervention has a start tick (ticks run from 1; start 0 means from the first tick), an
optional end (its effect is withdrawn after it; skills learned in training stay) and ramp (the
effect grows linearly to full over ``ramp`` ticks), a target and a cost (one-off at the start,
plus per tick while active).  What each type does, and the unit of its ``amount``, is
declared once beside its handler in :mod:`cxsim.interventions` (``documentation()`` prints
the table).

Strategies compose: ``resolve(scenario, ["train_contact_centre", "fix_courier"])`` is one
strategy with both sets of interventions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from .interventions import cost_at, delivery, first_tick, level
from .scenario import Intervention, Scenario, ScenarioError, Strategy

__all__ = ["BASELINE", "StrategyLike", "cost_at", "delivery", "first_tick", "level", "resolve",
           "starts"]

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
    tick_days = scenario.simulation.tick_days
    for k, iv in enumerate(interventions):
        if iv.start > ticks:
            # in days as well as ticks: users set the horizon with --days
            raise ScenarioError([
                f"{label}: intervention {k} ({iv.type}) starts at tick {iv.start} (day "
                f"{iv.start * tick_days:g}), beyond the horizon of {ticks} ticks "
                f"({ticks * tick_days:g} days: a longer --days, or a strategy that starts "
                "sooner)"])
    description = " + ".join(p.description for p in parts if p.description)
    return Strategy(description=description, interventions=interventions)


def starts(scenario: Scenario, strategy: StrategyLike) -> list[int]:
    """Start ticks of a strategy's interventions (sorted, unique), for marking plots."""
    return sorted({iv.start for iv in resolve(scenario, strategy).interventions})
