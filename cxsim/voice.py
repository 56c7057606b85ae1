"""The voice of the customer as a feedback loop that acts: the ``voice_of_customer`` programme.

Every ``cadence`` days the programme reads what customers said about each touchpoint over the
period just ended, ranks the touchpoints, buys ``floor(budget / cost_per_fix)`` fixes of the
worst ones (one a touchpoint per review) and applies them ``delay`` days later.  The fixes
are the company's: they persist (after the intervention's ``end`` too; a review after the end
is not held).

**What it reads.**  Customers do not rate every contact.  Of a touchpoint's ``V`` contacts
over the period, ``n = floor(V x response_rate + U)`` answer a post-contact survey (``U``
uniform: the expected number is exactly ``V x response_rate``).  Assumption: a respondent
says "satisfied" (the top two boxes of a 5-point CSAT question) with probability equal to
the touchpoint's mean experience ``m`` over the period (the model's 0-1 experience of each
contact, ``touchpoint_metrics.experience``).  The rating read is the satisfied share,
``Binomial(n, m) / n``: unbiased with variance ``m (1 - m) / n``, so a rarely used
touchpoint's rating is noisy and can put it at the bottom of the table by chance.  Up to
:data:`EXACT_UP_TO` answers are drawn one by one; above it the normal approximation
(rounded, clipped to ``0 .. n``), whose variance is the same.  Every draw comes from the
counter-based stream ``"voice"`` (agent = touchpoint, tick = the review's tick), so results
do not depend on engine, threads or ensembles.

**How it ranks.**  ``rank_by = "rating"`` (default): lowest rating first, unweighted by
volume: the bottom of the league table, which is what a CX team reads and acts on first (and
why the noise of small samples matters).  ``"impact"``: the expected dissatisfied contacts,
``(1 - rating) x V``, first: weighting by volume puts the touchpoints where a fix reaches
most customers first.  Ties go to the touchpoint declared first.  A touchpoint without an
answer in the period is not ranked.

**What a fix does.**  The ``k``-th fix of a touchpoint is ``amount x returns**(k-1)``: its
quality and resolution rise and its effort falls by that much (within 0-1), the same lever
as ``improve_touchpoint``, so a comparison of the loop with a fixed improvement compares the
choice of targets and timing, not the lever.  Quality lifts every contact's experience (what
the survey reads); resolution is what a process fix (scripts, knowledge, a broken flow)
changes; both are what a CX team's fixes aim at.  Fixes cost ``cost_per_fix`` each, booked
as intervention cost on the review's tick (the money is committed then).

The programme's state is one :class:`Programme` per intervention, kept by
:class:`cxsim.interventions.Interventions` (``voice``); :func:`decisions` is its table of
decisions (``voice.csv`` of ``cxsim run``), :func:`summary` its summary (``summary.json``'s
``voice_of_customer``)
and :func:`touchpoint_columns` the per-tick columns ``voc_fixes`` and ``voc_uplift`` of
``model.touchpoint_metrics``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .rng import STREAM_INDEX, normal, uniform

if TYPE_CHECKING:  # pragma: no cover
    from .model import CXModel
    from .scenario import Intervention

#: the intervention type's name (the contract's)
VOICE = "voice_of_customer"
#: answers up to this many are drawn one by one (exact binomial); more: normal approximation
EXACT_UP_TO = 200
#: the columns of the decisions table, in order
DECISION_COLUMNS = ("programme", "cycle", "tick", "touchpoint", "volume", "respondents",
                    "rating", "fix", "uplift", "cost", "effective_tick")


def ticks_of(days: float, tick_days: float) -> int:
    """Whole ticks of at least ``days`` days (0 days: 0 ticks)."""
    return max(0, math.ceil(days / tick_days - 1e-9))


def sample_rating(key: int | np.uint64, j: int, t: int, volume: float, mean: float,
                  response_rate: float) -> tuple[int, float]:
    """The respondents and the rating a review at tick ``t`` reads for touchpoint ``j``.

    ``volume`` contacts with mean experience ``mean`` over the period; ``n = floor(volume x
    response_rate + U)`` answer and the rating is their satisfied share, ``Binomial(n, mean)
    / n`` (NaN when nobody answered).  Draws: slot 0 rounds ``n``; slots ``1 .. n`` are the
    answers (``n <=`` :data:`EXACT_UP_TO`), else slot 1 is the normal deviate.
    """
    key = np.uint64(key)  # a key above 2**63 is no int64
    n = int(math.floor(volume * response_rate + uniform(key, j, t, 0)))
    if n <= 0 or not math.isfinite(mean):
        return max(n, 0), float("nan")
    p = min(max(mean, 0.0), 1.0)
    if n <= EXACT_UP_TO:
        yes = sum(1 for s in range(1, n + 1) if uniform(key, j, t, s) < p)
    else:
        z = normal(key, j, t, 1)
        yes = min(max(round(n * p + math.sqrt(n * p * (1.0 - p)) * z), 0), n)
    return n, yes / n


@dataclass(frozen=True)
class Fix:
    """One decision of a review: a touchpoint fixed, what was read, what it costs and does."""

    programme: int
    cycle: int
    tick: int
    touchpoint: str
    volume: int
    respondents: int
    rating: float
    fix: int
    uplift: float
    cost: float
    effective_tick: int


class Programme:
    """The running state of one ``voice_of_customer`` intervention (``k`` in the strategy)."""

    def __init__(self, model: CXModel, k: int, iv: Intervention):
        from .interventions import first_tick

        dt = model.spec.simulation.tick_days
        self.k = k
        self.iv = iv
        self.first = first_tick(iv)
        self.cadence = max(1, ticks_of(iv.cadence, dt))
        self.delay = ticks_of(iv.delay, dt)
        self.key = model.keys[STREAM_INDEX["voice"]]
        self.names = model.touchpoint_names
        self.fixes: list[Fix] = []
        #: fixes decided so far per touchpoint (the next one's place in the geometric series)
        self.count = np.zeros(len(self.names), dtype=np.int64)
        #: the uplift in effect per touchpoint (fixes[:_done] are in it)
        self.uplift = np.zeros(len(self.names))
        self._done = 0

    def review_due(self, t: int) -> bool:
        """Whether tick ``t`` holds a review: every ``cadence`` ticks from the start, to the end."""
        iv = self.iv
        return (t > self.first and (t - self.first) % self.cadence == 0
                and (iv.end == -1 or t <= iv.end))

    def review(self, model: CXModel, t: int) -> float:
        """Read the period's ratings, decide the fixes; return their cost (booked today)."""
        iv = self.iv
        rows = model.recorder.tp_rows[t - 1 - self.cadence:t - 1]  # ticks t - cadence .. t - 1
        from .kernels import TPA_PERF_SUM, TPA_VISITS

        visits = np.zeros(len(self.names))
        perf = np.zeros(len(self.names))
        for r in rows:  # in tick order: the same sums whatever engine
            visits += r[:, TPA_VISITS]
            perf += r[:, TPA_PERF_SUM]
        ranked = []
        for j in range(len(self.names)):
            if visits[j] <= 0:
                continue
            n, rating = sample_rating(self.key, j, t, float(visits[j]), perf[j] / visits[j],
                                      iv.response_rate)
            if n == 0:
                continue
            score = rating if iv.rank_by == "rating" else -(1.0 - rating) * visits[j]
            ranked.append((score, j, n, rating))
        ranked.sort(key=lambda x: (x[0], x[1]))
        buys = int(math.floor(iv.budget / iv.cost_per_fix + 1e-9))
        cycle = (t - self.first) // self.cadence
        cost = 0.0
        for _, j, n, rating in ranked[:buys]:
            uplift = iv.amount * iv.returns ** int(self.count[j])
            self.count[j] += 1
            self.fixes.append(Fix(self.k, cycle, t, self.names[j], int(visits[j]), n, rating,
                                  int(self.count[j]), uplift, iv.cost_per_fix, t + self.delay))
            cost += iv.cost_per_fix
        return cost

    def step(self, model: CXModel, t: int) -> float:
        """Tick ``t``: hold a review if due, apply the fixes in effect; return today's cost."""
        cost = self.review(model, t) if self.review_due(t) else 0.0
        # fixes are decided in order of their effective tick (a fixed delay)
        while self._done < len(self.fixes) and self.fixes[self._done].effective_tick <= t:
            f = self.fixes[self._done]
            self.uplift[self.names.index(f.touchpoint)] += f.uplift
            self._done += 1
        tp = model.touchpoints_planned
        for j in np.flatnonzero(self.uplift):
            u = self.uplift[j]
            tp.quality[j] = min(1.0, tp.quality[j] + u)
            tp.resolution[j] = min(1.0, tp.resolution[j] + u)
            tp.effort[j] = max(0.0, tp.effort[j] - u)
        return cost


def programmes(model: CXModel) -> list[Programme]:
    """The model's ``voice_of_customer`` programmes, in strategy order."""
    return [model.interventions.voice[k] for k in sorted(model.interventions.voice)]


def decisions(model: CXModel) -> pd.DataFrame:
    """Every fix decided by the model's programmes: one row each (:data:`DECISION_COLUMNS`)."""
    rows = [asdict(f) for p in programmes(model) for f in p.fixes]
    return pd.DataFrame(rows, columns=list(DECISION_COLUMNS))


def summary(table: pd.DataFrame, ticks: int) -> dict:
    """The programmes' figures for ``summary.json`` from their :func:`decisions` table.

    Reviews that bought fixes, fixes, fixes in effect by tick ``ticks``, their cost, and each
    touchpoint's fixes (most first).
    """
    by_tp = table.groupby("touchpoint").size() if len(table) else pd.Series(dtype=int)
    order = sorted(by_tp.items(), key=lambda x: (-x[1], x[0]))
    return {"reviews_with_fixes": int(table[["programme", "tick"]].drop_duplicates().shape[0]),
            "fixes": len(table),
            "fixes_in_effect": int((table["effective_tick"] <= ticks).sum()),
            "cost": float(table["cost"].sum()),
            "touchpoints": {str(k): int(v) for k, v in order}}


def touchpoint_columns(model: CXModel, table: pd.DataFrame) -> pd.DataFrame:
    """``table`` (``model.touchpoint_metrics``) with the programme's per-tick columns.

    ``voc_fixes``: fixes of the touchpoint in effect that tick; ``voc_uplift``: their summed
    uplift of quality and resolution (before the cap at 1).  Added only when the strategy
    holds a programme (a run without one keeps its columns).
    """
    if not model.interventions.voice or table.empty:
        return table
    names = model.touchpoint_names
    n_ticks = len(table) // len(names)
    fixes = np.zeros((n_ticks + 1, len(names)))
    uplift = np.zeros((n_ticks + 1, len(names)))
    for p in programmes(model):
        for f in p.fixes:
            if f.effective_tick <= n_ticks:
                j = names.index(f.touchpoint)
                fixes[f.effective_tick - 1, j] += 1
                uplift[f.effective_tick - 1, j] += f.uplift
    table = table.copy()
    table["voc_fixes"] = np.cumsum(fixes, axis=0)[:n_ticks].reshape(-1).astype(np.int64)
    table["voc_uplift"] = np.cumsum(uplift, axis=0)[:n_ticks].reshape(-1)
    return table
