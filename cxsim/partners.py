"""Partners operating touchpoints: load sets reliability, reliability sets failures."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .agents import Partner
from .kernels import TPA_FAILURES, TPA_VISITS, Touchpoints

if TYPE_CHECKING:  # pragma: no cover
    from .model import CXModel


class Partners:
    """The scenario's partners as Mesa agents (:class:`~cxsim.agents.Partner`).

    Each tick a partner's effective reliability follows yesterday's jobs against its
    capacity; the touchpoints it operates take its quality (relative to the contracted one)
    and its failure probability.
    """

    def __init__(self, model: CXModel, tp_index: dict[str, int]):
        sc = model.spec
        self.spec = sc
        self.tps = {n: [tp_index[r] for r in p.touchpoints] for n, p in sc.partners.items()}
        self.agents: dict[str, Partner] = {
            name: Partner(model, name, p.reliability, p.quality, p.capacity, p.cost_per_job)
            for name, p in sc.partners.items()}
        self.contracted = {n: (p.reliability, p.quality) for n, p in sc.partners.items()}

    def reset(self) -> None:
        """Back to the contracted reliability and quality before today's interventions."""
        for name, p in self.agents.items():
            p.reliability, p.quality = self.contracted[name]

    def step(self, visits: np.ndarray | None, tp: Touchpoints, planned: Touchpoints) -> None:
        """Set today's reliability from yesterday's ``visits`` per touchpoint; touchpoints."""
        w = self.spec.behaviour.partner_quality_effect
        # (.item: Python floats, the same sums of whole numbers of visits, without NumPy scalars)
        for name, partner in self.agents.items():
            refs = self.tps[name]
            partner.jobs_last_tick = (float(sum(visits.item(j) for j in refs))
                                      if visits is not None else 0.0)
            partner.step()
            shift = w * (partner.quality - self.spec.partners[name].quality)
            for j in refs:
                tp.quality[j] = min(max(planned.quality.item(j) + shift, 0.0), 1.0)
                tp.p_fail[j] = 1.0 - partner.effective_reliability

    def settle(self, tpt: np.ndarray, tick_days: float) -> dict[str, dict]:
        """Today's jobs, failures, on-time rate, reliability, capacity and cost per partner.

        ``tpt`` is the tick's per-touchpoint accumulator table (``[T, N_TPA + T]``).
        """
        rows = {}
        for name, p in self.agents.items():
            refs = self.tps[name]
            jobs = float(sum(tpt.item(j, TPA_VISITS) for j in refs))
            fails = float(sum(tpt.item(j, TPA_FAILURES) for j in refs))
            rows[name] = {"jobs": jobs, "failures": fails,
                          "on_time": 1.0 - fails / jobs if jobs else float("nan"),
                          "effective_reliability": p.effective_reliability,
                          "capacity": p.capacity * tick_days, "cost": jobs * p.cost_per_job}
        return rows
