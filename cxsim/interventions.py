"""Interventions: what each type does, in one place (a registry of handlers with their docs).

An intervention has a start tick (ticks run from 1; start 0 means from the first tick), an
optional end (its effect is withdrawn after it; skills learned in training stay) and ramp (the
effect grows linearly to full over ``ramp`` ticks), a target and a cost (one-off at the start,
plus per tick while active).  Its ``amount`` is in the unit of its type; each handler below
says what it does, and :data:`INTERVENTIONS` lists them all (``cxsim show`` and the docs print
the same table).

Every tick, today's levels are recomputed from the scenario's values, so an effect ramps in,
holds and is withdrawn after its end; training and hiring act on people (skill learned stays,
hires stay unless hired for a limited time).  Adding a type is one decorated function here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .model import CXModel
    from .scenario import Intervention, Strategy


# ---- timing: the same for every type --------------------------------------------------------


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



@dataclass(frozen=True)
class InterventionType:
    """One kind of intervention: the target it needs, what ``amount`` means, its handler.

    ``target`` is ``"team"``, ``"touchpoint"``, ``"partner"``, ``"system"``, ``"segment?"``
    (a segment, or every segment when empty) or ``""`` (none).
    """

    name: str
    target: str
    effect: str
    apply: Callable


#: every intervention type, by name, in the order of the documentation table
INTERVENTIONS: dict[str, InterventionType] = {}


def intervention(name: str, target: str, effect: str) -> Callable:
    """Register the decorated function as the handler of intervention type ``name``.

    A handler is ``f(model, k, iv, t, x, lv)``: ``k`` the intervention's index in the
    strategy, ``iv`` the :class:`~cxsim.scenario.Intervention`, ``t`` the tick, ``lv`` its
    level today (0-1, from start, ramp and end) and ``x = amount x lv``.  It changes today's
    state of the part it acts on; the model resets that state from the scenario first.
    It may return money it spent today (added to the intervention cost), else ``None``.
    """
    def register(f: Callable) -> Callable:
        INTERVENTIONS[name] = InterventionType(name, target, effect, f)
        return f
    return register


def segments_of(model: CXModel, iv: Intervention) -> range | list[int]:
    """Segment indices an intervention reaches: its target, or every segment."""
    names = model.segment_names
    return [names.index(iv.target)] if iv.target else range(len(names))


@intervention("train", "team",
              "skill +amount for the team's staff (delivered over the ramp, and kept); "
              "engagement +amount x workforce.training_engagement while it runs")
def _train(model: CXModel, k: int, iv: Intervention, t: int, x: float, lv: float) -> None:
    import numpy as np  # here, not at import (as in Interventions)

    from .kernels import E_ENGAGEMENT_BOOST, E_SKILL

    state = model.interventions
    delivered = iv.amount * delivery(iv, t)
    step = delivered - state.trained[k]
    state.trained[k] = delivered
    boost = model.spec.workforce.training_engagement * x
    # everyone on the team at once, in the team's state arrays (cxsim.workforce.Staff): each
    # person's skill min(1, skill + step), their boost + boost
    team = model.workforce.teams[iv.target].state
    np.minimum(1.0, team[E_SKILL] + step, out=team[E_SKILL])
    team[E_ENGAGEMENT_BOOST] += boost


@intervention("hire", "team",
              "head count +round(amount) (new hires at the team's new-hire skill and fte, "
              "wages counted); with an end, temporary staff who leave after it (and are not "
              "replaced if they quit early)")
def _hire(model: CXModel, k: int, iv: Intervention, t: int, x: float, lv: float) -> None:
    state = model.interventions
    wf = model.workforce
    team = model.spec.teams[iv.target]
    staff = wf.teams[iv.target]
    target = int(round(x))
    temporary = iv.end != -1
    while state.hired[k] < target:
        e = wf.new_employee(iv.target, team.new_hire_skill, team.engagement)
        e.temporary = temporary
        staff.append(e)
        state.hired_staff[k].append(e)
        state.hired[k] += 1
    if temporary and lv == 0.0 and t > iv.end and state.hired_staff[k]:
        release_hires(model, k, iv)


def release_hires(model: CXModel, k: int, iv: Intervention) -> None:
    """The staff hire ``k`` took on leave (those who quit early were not replaced)."""
    state = model.interventions
    staff = model.workforce.teams[iv.target]
    for e in state.hired_staff[k]:
        if e in staff:
            staff.remove(e)
            e.remove()
    state.hired_staff[k] = []


@intervention("add_touchpoint", "touchpoint",
              "opens a touchpoint declared with enabled = false (ramps in as customers "
              "discover it)")
def _add_touchpoint(model: CXModel, k: int, iv: Intervention, t: int, x: float,
                    lv: float) -> None:
    j = model.touchpoint_index[iv.target]
    model.touchpoints_planned.open[j] = lv
    model.touchpoints_planned.exists[j] = lv


@intervention("improve_touchpoint", "touchpoint",
              "quality +amount, resolution +amount, effort -amount (within 0-1)")
def _improve_touchpoint(model: CXModel, k: int, iv: Intervention, t: int, x: float,
                        lv: float) -> None:
    tp = model.touchpoints_planned
    j = model.touchpoint_index[iv.target]
    tp.quality[j] = min(1.0, tp.quality[j] + x)
    tp.resolution[j] = min(1.0, tp.resolution[j] + x)
    tp.effort[j] = max(0.0, tp.effort[j] - x)


@intervention("partner_sla", "partner", "reliability +amount and quality +amount (capped at 1)")
def _partner_sla(model: CXModel, k: int, iv: Intervention, t: int, x: float,
                 lv: float) -> None:
    p = model.partnership.agents[iv.target]
    p.reliability = min(1.0, p.reliability + x)
    p.quality = min(1.0, p.quality + x)


@intervention("personalisation", "segment?",
              "performance +amount at every touchpoint for the segment")
def _personalisation(model: CXModel, k: int, iv: Intervention, t: int, x: float,
                     lv: float) -> None:
    for s in segments_of(model, iv):
        model.segments.perf_bonus[s] += x


@intervention("omnichannel", "", "omnichannel integration level +amount (capped at 1)")
def _omnichannel(model: CXModel, k: int, iv: Intervention, t: int, x: float,
                 lv: float) -> None:
    env = model.environment
    env.omnichannel = min(1.0, env.omnichannel + x)


@intervention("knowledge_base", "", "knowledge-base quality +amount (capped at 1)")
def _knowledge_base(model: CXModel, k: int, iv: Intervention, t: int, x: float,
                    lv: float) -> None:
    env = model.environment
    env.knowledge_base = min(1.0, env.knowledge_base + x)


@intervention("service_recovery", "segment?",
              "each tick, share amount of customers who end an episode as detractors get "
              "proactive outreach that closes behaviour.recovery_effect of their "
              "satisfaction gap")
def _service_recovery(model: CXModel, k: int, iv: Intervention, t: int, x: float,
                      lv: float) -> None:
    seg = model.segments
    for s in segments_of(model, iv):
        seg.recovery_share[s] = min(1.0, seg.recovery_share[s] + x)


@intervention("loyalty_programme", "segment?",
              "switching cost +amount (churn log-odds via behaviour.switching_cost_effect)")
def _loyalty_programme(model: CXModel, k: int, iv: Intervention, t: int, x: float,
                       lv: float) -> None:
    effect = model.spec.behaviour.switching_cost_effect
    for s in segments_of(model, iv):
        model.segments.extra_logit[s] += effect * x


@intervention("it_resilience", "system", "outage probability x (1 - amount)")
def _it_resilience(model: CXModel, k: int, iv: Intervention, t: int, x: float,
                   lv: float) -> None:
    env = model.environment
    env.outage_factor[env.system_names.index(iv.target)] *= max(0.0, 1.0 - x)


@intervention("price_change", "segment?",
              "revenue per customer x (1 + amount); churn log-odds + "
              "behaviour.price_churn_effect x price sensitivity x amount")
def _price_change(model: CXModel, k: int, iv: Intervention, t: int, x: float,
                  lv: float) -> None:
    sc = model.spec
    for s in segments_of(model, iv):
        sp = sc.segments[model.segment_names[s]]
        model.interventions.revenue_factor[s] *= 1.0 + x
        model.segments.extra_logit[s] += sc.behaviour.price_churn_effect * sp.price_sensitivity * x


@intervention("demand_surge", "segment?",
              "needs per day x (1 + amount): a launch, a campaign, a season (amount > -1)")
def _demand_surge(model: CXModel, k: int, iv: Intervention, t: int, x: float,
                  lv: float) -> None:
    seg = model.segments
    for s in segments_of(model, iv):
        # the rate x (1 + x) (surges compound): needs per tick are Poisson(rate dt), and
        # P(at least one) = 1 - exp(-rate dt)
        seg.need_mean[s] = seg.need_mean[s] * (1.0 + x)
        seg.p_need[s] = 1.0 - (1.0 - seg.p_need[s]) ** (1.0 + x)


# ---- proactive retention (cxsim.retention) --------------------------------------------------
@intervention("proactive_retention", "segment?",
              "every cadence days: scores the active customers by churn risk (a score of "
              "target AUC auc) and reaches the top share amount (0-1) of them: offer_cost per "
              "contact, churn log-odds + offer_effect for offer_days (cxsim.retention)")
def _proactive_retention(model: CXModel, k: int, iv: Intervention, t: int, x: float,
                         lv: float) -> None:
    from .retention import programme

    # today's offer effect and share; the wave itself runs after every handler
    # (Interventions.apply), on the hazards of today's segments
    programme(model, k, iv).plan(model, t, x)
@intervention("voice_of_customer", "",
              "every cadence days reads each touchpoint's sampled survey rating and buys "
              "floor(budget / cost_per_fix) fixes of the worst-rated; a fix acts after delay "
              "days like improve_touchpoint, its k-th of a touchpoint amount x "
              "returns^(k-1), and stays (cxsim.voice)")
def _voice_of_customer(model: CXModel, k: int, iv: Intervention, t: int, x: float,
                       lv: float) -> float:
    from .voice import Programme

    voice = model.interventions.voice
    if k not in voice:
        voice[k] = Programme(model, k, iv)
    return voice[k].step(model, t)


#: intervention type -> the kind of target it needs (validated by :mod:`cxsim.scenario`)
INTERVENTION_TARGETS: dict[str, str] = {name: it.target for name, it in INTERVENTIONS.items()}


def documentation() -> str:
    """The table of intervention types: target and effect of ``amount`` (plain text)."""
    width = max(len(n) for n in INTERVENTIONS)
    lines = [f"{'type':<{width}}  {'target':<11}  effect of amount at full strength"]
    for it in INTERVENTIONS.values():
        target = {"segment?": "segment/all", "": "-"}.get(it.target, it.target)
        lines.append(f"{it.name:<{width}}  {target:<11}  {it.effect}")
    return "\n".join(lines)


class Interventions:
    """A strategy's interventions applied to a running model, with their running state.

    ``trained[k]`` is the skill delivered so far by training ``k``; ``hired[k]`` and
    ``hired_staff[k]`` the people hired by hire ``k``; ``revenue_factor[s]`` today's price
    factor of segment ``s``; ``cost`` today's intervention cost.
    """

    def __init__(self, strategy: Strategy, n_segments: int):
        import numpy as np  # here, not at import: scenario validation reads this module

        self.strategy = strategy
        ivs = strategy.interventions
        self.trained = [0.0] * len(ivs)
        self.hired = [0] * len(ivs)
        self.hired_staff: list[list] = [[] for _ in ivs]
        self.revenue_factor = np.ones(n_segments)
        #: each voice_of_customer intervention's programme (cxsim.voice.Programme), by k
        self.voice: dict[int, object] = {}
        self.cost = 0.0
        #: proactive retention programmes by intervention index (cxsim.retention)
        self.retention: dict = {}
        # triggered interventions (cxsim.triggers): None when the strategy has none
        self.triggers = None
        if any(iv.when for iv in ivs):
            from .triggers import Triggers

            self.triggers = Triggers(strategy)

    def apply(self, model: CXModel, t: int) -> float:
        """Apply every intervention's effect for tick ``t`` (after the model's reset).

        Returns today's intervention cost.
        """
        self.revenue_factor[:] = 1.0
        cost = 0.0
        ivs = self.strategy.interventions
        if self.triggers is not None:  # each triggered one as its last activation
            ivs = self.triggers.today(model, t)
        for k, iv in enumerate(ivs):
            cost += cost_at(iv, t)
            lv = level(iv, t)
            spent = INTERVENTIONS[iv.type].apply(model, k, iv, t, iv.amount * lv, lv)
            if spent:  # a handler that spends as it goes (voice_of_customer) returns it
                cost += spent
        for prog in self.retention.values():  # proactive retention's waves and offer cost
            cost += prog.run(model, t)
        self.cost = cost
        return cost

    def restart(self, model: CXModel, k: int, iv: Intervention) -> None:
        """Start intervention ``k`` afresh (a trigger fired again): nothing delivered yet.

        Temporary staff of the previous activation still on the team leave first.
        """
        if self.hired_staff[k]:
            release_hires(model, k, iv)
        self.trained[k] = 0.0
        self.hired[k] = 0
