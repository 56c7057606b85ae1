"""Triggered interventions: policies that react to what the run's metrics show.

Any intervention of a strategy can carry a trigger (``when``) instead of, or besides, a
calendar start::

    [[strategies.temps_when_slow.interventions]]
    type = "hire"
    target = "contact_centre"
    amount = 4
    when = "service_level < 0.8"   # metric names, numbers, < <= > >= == !=, and/or/not, ()
    window = 7                     # ticks before today the metrics are aggregated over
    duration = 28                  # ticks an activation lasts (0: until end, or for good)
    cooldown = 14                  # ticks after an activation ends before it may fire again
    max_activations = 3            # 0: no limit
    cost = 2000                    # once per activation
    cost_per_tick = 600            # while an activation acts

**Semantics** (all counts in ticks).  At the start of tick *t* (phase 0 of
:meth:`cxsim.model.CXModel.step`, before today's effects are applied) an armed trigger that is
not acting evaluates its condition on the metrics of ticks *t − window … t − 1*, each metric
aggregated over those ticks by its declared rule (:func:`cxsim.metrics.window_value`: flows
summed, stocks at the last tick or averaged, ratios pooled; ``service_level`` is the mean of
the days' levels).  A trigger is armed from ``start`` (0: from the first tick) to ``end``
(-1: the whole run), only once ``window`` ticks have been recorded (the first possible
activation is tick ``window + 1``), while fewer than ``max_activations`` activations have
fired, and once ``cooldown`` ticks have passed since the last activation's last tick.  When
the condition holds, the intervention acts from tick *t* for ``duration`` ticks (its last
tick is *t + duration − 1*; ``duration = 0``: until ``end``, or for good; an activation never
acts past ``end``), ramping in over ``ramp`` ticks from *t*; ``cost`` is booked at *t* and
``cost_per_tick`` on every tick it acts.  While acting it does not fire again.  A metric with
no value in the window (NaN: e.g. a service level with no contacts offered) makes every
comparison with it false.  Each activation is an ordinary calendar intervention from *t* to
its last tick (:func:`cxsim.interventions.level` and the type's handler do the rest): a
``hire`` with a duration (or an end) hires temporary staff who leave after it; a training
trains again.  The evaluation reads only recorded rows, so it is deterministic, needs no
random draws and is the same under both engines, any thread count and in an ensemble (each
member its own triggers).

**The history** of a run is :attr:`cxsim.model.CXModel.trigger_history` (``cxsim run`` writes
it as ``triggers.csv``): one row per activation with the intervention's index in the
strategy, type, target, condition, activation number, first and last tick (``end = -1``: for
good) and the windowed values of the metrics the condition names.

The condition language is :mod:`cxsim.condition` (shared with ``cxsim discover --where``),
never evaluated as Python.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from typing import TYPE_CHECKING

from .condition import Condition, Wording, close_names, parse, quoted

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .model import CXModel
    from .scenario import Intervention, Strategy

#: the columns of the trigger history, in order
HISTORY_COLUMNS = ("intervention", "type", "target", "when", "activation", "start", "end",
                   "value", "values")

#: characters a trigger condition may have
MAX_WHEN = 500

#: a start no tick reaches: the state of a triggered intervention that has not fired yet
NEVER = 10**9

#: the recorder's lists that are not one entry per recorded tick
_NOT_PER_TICK = frozenset({"staffed_tps", "touchpoint_names", "segment_names"})

_WORDING = Wording(noun="metric", example="service_level < 0.8", text_example="",
                   names_are="metric names (cxsim show --metrics)")


class _Refused(Exception):
    """A condition that cannot be used (the message says why)."""


def known_metrics() -> tuple[str, ...]:
    """The metric names a condition may use: every metric of the vocabulary."""
    from .vocabulary import BY_NAME

    return tuple(BY_NAME)


def compile_condition(text: str) -> Condition:
    """Parse a trigger condition; raise ``ValueError`` (one line) when it cannot be used."""
    problem = condition_problem(text)
    if problem:
        raise ValueError(problem)
    return _parse(text)


def _parse(text: str) -> Condition:
    names = known_metrics()

    def fail(message: str) -> _Refused:
        return _Refused(message)

    cond, unknown = parse(text, dict.fromkeys(names, "number"), fail, _WORDING)
    if unknown:
        parts = []
        for name in unknown[:4]:
            close = close_names(name, names)
            parts.append(f"'{name}'" + (f" (close: {', '.join(close)})" if close else ""))
        raise _Refused(f"unknown metric{'s' if len(unknown) > 1 else ''} {', '.join(parts)}; "
                       f"known metrics: {', '.join(names)}")
    return cond


def condition_problem(text: str) -> str | None:
    """Why ``text`` is not a usable trigger condition (one line naming it), or ``None``."""
    if not isinstance(text, str):
        return f"must be text, got {type(text).__name__}"
    if len(text) > MAX_WHEN:
        return f"{len(text):,} characters; a condition has at most {MAX_WHEN}"
    try:
        _parse(text)
    except _Refused as exc:
        return f"cannot use {quoted(text)}: {exc}"
    return None


def is_triggered(iv: Intervention) -> bool:
    """Whether an intervention fires on a condition (it has ``when``)."""
    return bool(iv.when)


def last_tick(iv: Intervention, t: int) -> int:
    """The last tick an activation of ``iv`` at tick ``t`` acts on (-1: for good)."""
    stop = t + iv.duration - 1 if iv.duration > 0 else -1
    if iv.end != -1:
        stop = iv.end if stop == -1 else min(stop, iv.end)
    return stop


class Triggers:
    """The triggers of one strategy in a running model: when each fired, what it does now.

    ``current[k]`` is the calendar form of intervention ``k`` today: the strategy's own for an
    untriggered one; for a triggered one, its last activation (start and end set to the
    activation's first and last tick) or, before the first, one that never starts.
    ``history`` holds one dict per activation (:data:`HISTORY_COLUMNS`).
    """

    def __init__(self, strategy: Strategy):
        ivs = strategy.interventions
        self.strategy = strategy
        self.conditions: dict[int, Condition] = {
            k: compile_condition(iv.when) for k, iv in enumerate(ivs) if is_triggered(iv)}
        self.current: list[Intervention] = [
            dataclasses.replace(iv, start=NEVER, end=-1) if k in self.conditions else iv
            for k, iv in enumerate(ivs)]
        self.activations = [0] * len(ivs)
        self.history: list[dict] = []

    @classmethod
    def of(cls, strategy: Strategy) -> Triggers | None:
        """The triggers of ``strategy``, or ``None`` when none of its interventions has one."""
        if not any(is_triggered(iv) for iv in strategy.interventions):
            return None
        return cls(strategy)

    def armed(self, k: int, t: int) -> bool:
        """Whether triggered intervention ``k`` may fire at tick ``t`` (before its condition)."""
        iv = self.strategy.interventions[k]
        now = self.current[k]
        if t < max(iv.start, 1) or (iv.end != -1 and t > iv.end) or t <= iv.window:
            return False
        if iv.max_activations and self.activations[k] >= iv.max_activations:
            return False
        if now.start != NEVER:  # fired before: acting still, or cooling down
            if now.end == -1 or t <= now.end + iv.cooldown:
                return False
        return True

    def today(self, model: CXModel, t: int) -> list[Intervention]:
        """Fire the triggers whose condition holds before tick ``t``; today's interventions."""
        for k, cond in self.conditions.items():
            if not self.armed(k, t):
                continue
            iv = self.strategy.interventions[k]
            values = window_values(model, cond.names, t - iv.window, t - 1)
            if not cond.holds(values):
                continue
            self.activations[k] += 1
            stop = last_tick(iv, t)
            self.current[k] = dataclasses.replace(iv, start=t, end=stop)
            model.interventions.restart(model, k, iv)
            first = cond.names[0]
            self.history.append({
                "intervention": k, "type": iv.type, "target": iv.target, "when": cond.text,
                "activation": self.activations[k], "start": t, "end": stop,
                "value": values[first],
                "values": "; ".join(f"{n}={values[n]:.6g}" for n in cond.names)})
        return self.current

    def table(self) -> pd.DataFrame:
        """The history as a table, one row per activation (:data:`HISTORY_COLUMNS`)."""
        import pandas as pd

        return pd.DataFrame(self.history, columns=list(HISTORY_COLUMNS))


def empty_history() -> pd.DataFrame:
    """A trigger history with no activation (a run without triggers)."""
    import pandas as pd

    return pd.DataFrame(columns=list(HISTORY_COLUMNS))


def window_values(model: CXModel, names: tuple[str, ...], first: int, last: int
                  ) -> dict[str, float]:
    """Each named metric over ticks ``first .. last`` (recorded), by its declared rule.

    The rows are computed from the recorder's kept figures for those ticks only (its
    per-tick lists cut to them: the same numbers as ``model.metrics``); a churn rate's
    denominator, the active customers at the
    start of each tick, comes from the tick before (the initial customers before tick 1).
    """
    import numpy as np

    from .metrics import window_value
    from .vocabulary import BY_NAME

    rec = model.recorder
    i0, i1 = first - 1, last  # row i holds tick i + 1
    lo = max(i0 - 1, 0)
    part = copy.copy(rec)
    n = len(rec.ticks)
    for attr, kept in vars(rec).items():  # every per-tick list: one entry a recorded tick
        if isinstance(kept, list) and len(kept) == n and attr not in _NOT_PER_TICK:
            setattr(part, attr, kept[lo:i1])
    cols = part._metric_columns()
    skip = i0 - lo
    active = cols["active"].astype(float)
    before = active[skip - 1] if skip else float(rec.initial_customers)
    start = np.concatenate(([before], active[skip:-1]))

    def column(name: str) -> np.ndarray:
        return np.asarray(cols[name], dtype=float)[skip:]

    dt = model.spec.simulation.tick_days
    out = {}
    for name in names:
        value = window_value(BY_NAME[name], column, start, tick_days=dt)
        out[name] = float(value) if value is not None else math.nan
    return out


__all__ = ["HISTORY_COLUMNS", "MAX_WHEN", "Triggers", "compile_condition",
           "condition_problem", "empty_history", "is_triggered", "known_metrics", "last_tick",
           "window_values"]
