"""The reduced customer model (model.md) in idiomatic Mesa: one Python agent per customer.

Written as a Mesa user would: ``Customer(mesa.Agent)`` with a ``step``, activated in random
order each tick by ``model.agents.shuffle_do("step")``; scalar draws from the agent's
``self.random`` (Mesa's seeded ``random.Random``), bulk set-up draws from ``model.rng``;
contacts are plain lists of agents; a churned customer leaves the model
(``agent.remove()``).  No numba, no per-agent compiled calls.  Mesa 3 APIs that Mesa 4 keeps
(``mesa.Model(rng=...)``, ``AgentSet.shuffle_do``); runs on Mesa 3.3 and 3.5.
"""

from __future__ import annotations

import math

import mesa
import numpy as np

from _reduced import Params, first_talks, small_world


def clip01(x: float) -> float:
    """``x`` clipped to [0, 1]."""
    return 0.0 if x < 0.0 else (1.0 if x > 1.0 else x)


class Customer(mesa.Agent):
    """A customer: satisfaction, expectation, response style, contacts, heard word of mouth."""

    def __init__(self, model: ReducedMesa, satisfaction: float, expectation: float,
                 style: float):
        super().__init__(model)
        self.satisfaction = satisfaction
        self.expectation = expectation
        self.style = style
        self.contacts: list[Customer] = []
        self.heard_log = 0.0  # L: log of the share of the gap heard word of mouth leaves
        self.heard_target = 0.0  # A: what it pulls toward
        self.talks = 0  # this tick's talks (detractor episodes)
        self.said = 0.0  # their mean satisfaction

    def is_detractor(self) -> bool:
        """The latent 0-10 score ``10 S + b``, rounded half up, is 0-6."""
        return 10.0 * self.satisfaction + self.style + 0.5 < 7.0

    def value(self, x: float) -> float:
        """Prospect-theory value of a disconfirmation ``x``."""
        p = self.model.params
        return x ** p.value_exponent if x >= 0.0 else -p.loss_aversion * (-x) ** p.value_exponent

    def take_in(self, share: float) -> None:
        """Take in ``share`` (a log) of the word of mouth heard, if it pulls expectation down."""
        target = self.heard_target
        if share < 0.0 and target < self.expectation:
            self.expectation = target + math.exp(share) * (self.expectation - target)

    def episode(self) -> None:
        """One service episode at the touchpoint: remember it, adapt expectation."""
        p = self.model.params
        e = self.expectation
        perf = clip01(p.quality + p.variability * self.random.gauss(0.0, 1.0))
        v1 = self.value(perf - e)
        if self.random.random() < p.resolution:
            v, mean_perf = v1, perf
        else:  # the unresolved need is a second, bad moment (peak-end rule)
            v2 = self.value(p.unresolved - e)
            peak = v2 if abs(v2) >= abs(v1) else v1
            v = p.peak_weight * peak + p.end_weight * v2 + p.mean_weight * 0.5 * (v1 + v2)
            mean_perf = 0.5 * (perf + p.unresolved)
        self.satisfaction += p.memory_weight * (clip01(e + v) - self.satisfaction)
        self.expectation = e + p.adaptation * (mean_perf - e)

    def step(self) -> None:
        """The customer's tick: episodes, word of mouth taken in, maybe churn."""
        model = self.model
        p = model.params
        n = model.episodes(self.random.random())
        share = 0.0
        if self.heard_log != 0.0:
            share = self.heard_log / (n + 1)
            self.heard_log = 0.0
        talks = 0
        said = 0.0
        for _ in range(n):
            if share:
                self.take_in(share)
            self.episode()
            if self.is_detractor():
                talks += 1
                said += self.satisfaction
        if share:
            self.take_in(share)
        if talks:
            self.talks = talks
            self.said = said / talks
            model.talkers.append(self)
        z = p.churn_logit + p.sat_effect * (self.satisfaction - p.sat_reference)
        if self.random.random() < 1.0 / (1.0 + math.exp(-z)):  # the churn hazard
            model.churned += 1
            self.remove()

    def hear(self, keep_log: float, said: float) -> None:
        """Add a pull toward ``said`` leaving ``exp(keep_log)`` of the gap to what was heard."""
        old = self.heard_log
        new = old + keep_log
        self.heard_target = (math.exp(keep_log) * -math.expm1(old) * self.heard_target
                             - math.expm1(keep_log) * said) / -math.expm1(new)
        self.heard_log = new

    def tell(self) -> None:
        """Tell every contact whose expectation is above what this tick's talks convey."""
        keep_log = self.talks * self.model.log_keep
        said = self.said
        for other in self.contacts:
            if said < other.expectation:
                other.hear(keep_log, said)
        self.talks = 0


class ReducedMesa(mesa.Model):
    """The reduced customer model with ``params.customers`` :class:`Customer` agents."""

    def __init__(self, params: Params, rng: int | None = None):
        super().__init__(rng=rng)
        self.params = p = params
        n = p.customers
        self.churned = 0
        self.log_keep = math.log1p(-p.wom_strength)  # one talk leaves 1 - omega of the gap
        self._p0 = math.exp(-p.need_mean)  # P(no episode)
        sat = np.clip(p.initial_satisfaction + p.initial_spread * self.rng.standard_normal(n),
                      0.0, 1.0)
        exp_ = np.clip(p.initial_expectation + p.initial_spread * self.rng.standard_normal(n),
                       0.0, 1.0)
        style = p.style_sd * self.rng.standard_normal(n)
        customers = [Customer(self, float(s), float(e), float(b))
                     for s, e, b in zip(sat, exp_, style, strict=True)]
        indptr, indices = small_world(n, p.mean_degree, p.rewiring, self.rng)
        for i, c in enumerate(customers):
            c.contacts = [customers[j] for j in indices[indptr[i]:indptr[i + 1]]]
        # the word of mouth under way at tick 0
        talks = first_talks(sat, style, p.need_mean, self.rng.random(n))
        self.talkers = []
        for c, t in zip(customers, talks, strict=True):
            if t > 0:
                c.talks, c.said = int(t), c.satisfaction
                self.talkers.append(c)
        self.spread()

    def episodes(self, u: float) -> int:
        """Poisson(mu) episodes by inversion of the uniform ``u``."""
        mu = self.params.need_mean
        term = cum = self._p0
        n = 0
        while u >= cum and n < 512:
            n += 1
            term *= mu / n
            cum += term
        return n

    def spread(self) -> None:
        """The social phase: this tick's talkers tell their contacts."""
        for c in self.talkers:
            c.tell()
        self.talkers = []

    def step(self) -> None:
        """A tick: every customer's step in random order, then word of mouth."""
        self.agents.shuffle_do("step")
        self.spread()

    def outputs(self) -> dict[str, float]:
        """Mean satisfaction and expectation, detractor share, cumulative churn share."""
        sat = np.array(self.agents.get("satisfaction"))
        exp_ = np.array(self.agents.get("expectation"))
        style = np.array(self.agents.get("style"))
        return {"satisfaction": float(sat.mean()), "expectation": float(exp_.mean()),
                "detractors": float((10.0 * sat + style + 0.5 < 7.0).mean()),
                "churned": self.churned / self.params.customers}


def run_mesa(params: Params, seed: int, ticks: int) -> dict[str, float]:
    """Run the Mesa version; its outputs."""
    model = ReducedMesa(params, rng=seed)
    for _ in range(ticks):
        model.step()
    return model.outputs()
