"""Predictive retention: a churn-risk score of chosen discrimination and the outreach it drives.

The intervention type ``proactive_retention`` (:mod:`cxsim.interventions`) runs a *wave*
every ``cadence`` days while it is active: it scores the eligible customers (active, in its
target segment or all, no offer of an earlier wave still holding), reaches the top share
``amount`` of them by score, books ``offer_cost`` per contact as intervention cost, and
shifts each reached customer's churn log-odds by ``offer_effect`` for ``offer_days``: the
offer is added to the customer's individual base log-odds (``Customers.churn_logit``, which
the churn draw reads) and the value it replaced is put back when the offer ends, unless the
customer left (and perhaps came back with a fresh propensity) meanwhile.  The customer step
holds no offer state of its own: every array added to its inputs slows every tick, also
without offers (measured: two more arrays made the step about 1.5 times as long at 10^6
customers, whatever their use).

**The score.**  Each eligible customer's true hazard ``p_i`` is the per-tick churn
probability the next churn draw uses (:func:`cxsim.kernels.customer_hazards`); over the wave's
scoring period of ``H`` ticks (its cadence) the customer churns with probability
``h_i = 1 - (1 - p_i)^H``.  The score is

    score_i = cos(theta) * z_i + sin(theta) * e_i

with ``z_i`` the normal score of the rank of ``log p_i`` (``Phi^-1((rank - 1/2) / n)``, ties
averaged) and ``e_i`` a standard normal from the ``retention`` stream (customer ``i``, the
wave's tick).  theta = 0 is the oracle (the true hazard's order), theta = pi/2 pure noise.

**Reaching the target AUC.**  The *expected AUC* of a score is the AUC its outcomes would
give on average over the churn coin flips, pair by pair:

    E-AUC = sum_{i != j} h_i (1 - h_j) [s_i > s_j] / sum_{i != j} h_i (1 - h_j)

(ties count one half), computed exactly with one sort (:func:`expected_auc`).  theta is found
by bisection so that the expected AUC of the wave's score, with the wave's noise draws, equals
the target ``auc`` (to 1e-5).  Even the oracle has an expected AUC below 1, because outcomes
are coin flips: a target above the oracle's AUC is capped at the oracle (theta = 0) and a
:class:`RetentionWarning` says so (the wave table records ``capped``).  ``auc = 0.5`` is pure
noise (theta = pi/2 exactly): the reached customers are then a uniform random sample, i.e.
untargeted outreach of the same size.

**Reported, per wave** (:meth:`Programme.table`, ``CXModel.retention_waves``) and as metric
columns and ``summary.json`` figures (``retention_*``, declared in :mod:`cxsim.vocabulary`):
the expected AUC of the score (``auc_model``) and of the oracle; precision at k (the reached
customers' mean ``h``), the base rate and the lift; the expected saves (the churn probability
the offer removes over its window, ``(1 - p1)^W - (1 - p0)^W`` summed over the reached, with
``p1 = logistic(logit p0 + offer_effect)``), the expected saves of a uniformly random
contact list of the same size and its sampling standard deviation; the offer cost; and, once
the scoring period is over, the realised AUC of the score among the customers *not* reached
(their outcomes are the offer-free ones), beside its expectation over the same customers and
its Hanley & McNeil (1982) standard error.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .model import CXModel
    from .scenario import Intervention

__all__ = [
    "COLUMNS", "Programme", "RetentionWarning", "add_columns", "calibrate", "comparison_table",
    "expected_auc",
    "hanley_mcneil_se", "normal_scores", "offer_saves", "period_probability", "programme",
]

#: bisection: the largest distance of the achieved expected AUC from the target
AUC_TOLERANCE = 1e-5
_BISECTIONS = 40


class RetentionWarning(UserWarning):
    """A proactive_retention target that cannot be reached (above the oracle's AUC)."""


# =============================================================================================
# the score and its AUC
# =============================================================================================


def expected_auc(score: np.ndarray, p: np.ndarray) -> float:
    """Expected AUC of ``score`` when item ``i`` is positive with probability ``p[i]``.

    ``sum_{i != j} p_i (1 - p_j) [s_i > s_j] / sum_{i != j} p_i (1 - p_j)``, ties counting
    one half; with 0/1 ``p`` it is the Mann-Whitney AUC of the observed outcomes.  One
    stable sort, O(n log n).  NaN when there are no pairs.
    """
    s = np.asarray(score, dtype=np.float64)
    q = np.asarray(p, dtype=np.float64)
    n = s.shape[0]
    if n < 2:
        return float("nan")
    order = np.argsort(s, kind="stable")
    ss, pp = s[order], q[order]
    new = np.empty(n, bool)
    new[0] = True
    np.not_equal(ss[1:], ss[:-1], out=new[1:])
    group = np.cumsum(new) - 1
    pos = np.bincount(group, weights=pp)
    neg = np.bincount(group, weights=1.0 - pp)
    self_pairs = pp * (1.0 - pp)
    below = np.cumsum(neg) - neg  # negatives strictly below each group
    within = pos * neg - np.bincount(group, weights=self_pairs)
    den = pp.sum() * (1.0 - pp).sum() - self_pairs.sum()
    if not den > 0:
        return float("nan")
    return float(((pos * below).sum() + 0.5 * within.sum()) / den)


def hanley_mcneil_se(auc: float, n_pos: int, n_neg: int) -> float:
    """Standard error of an AUC from ``n_pos`` positives and ``n_neg`` negatives.

    Hanley & McNeil (1982, Radiology 143(1)), eq. 2, with ``Q1 = A / (2 - A)`` and
    ``Q2 = 2 A^2 / (1 + A)``.
    """
    if n_pos < 1 or n_neg < 1 or not math.isfinite(auc):
        return float("nan")
    a = auc
    q1, q2 = a / (2.0 - a), 2.0 * a * a / (1.0 + a)
    var = (a * (1 - a) + (n_pos - 1) * (q1 - a * a) + (n_neg - 1) * (q2 - a * a)) / (
        n_pos * n_neg)
    return math.sqrt(max(var, 0.0))


def normal_scores(p: np.ndarray) -> np.ndarray:
    """``Phi^-1((rank - 1/2) / n)`` of the rank of ``log p`` (ties averaged): the oracle's order."""
    from scipy.special import ndtri
    from scipy.stats import rankdata

    n = p.shape[0]
    return ndtri((rankdata(np.log(p), method="average") - 0.5) / n) if n else np.zeros(0)


def period_probability(p: np.ndarray, ticks: int) -> np.ndarray:
    """Probability of churning within ``ticks`` ticks at a constant per-tick hazard ``p``."""
    return -np.expm1(ticks * np.log1p(-np.minimum(p, 1.0 - 1e-16)))


def offer_saves(p0: np.ndarray, effect: float, ticks: int) -> np.ndarray:
    """Churn probability an offer removes over ``ticks`` ticks: ``(1-p1)^W - (1-p0)^W``.

    ``p1 = logistic(logit(p0) + effect)``, the hazard while the offer holds.
    """
    p0 = np.minimum(p0, 1.0 - 1e-16)
    z = np.log(p0) - np.log1p(-p0) + effect
    p1 = 1.0 / (1.0 + np.exp(-z))
    return np.exp(ticks * np.log1p(-p1)) - np.exp(ticks * np.log1p(-p0))


def calibrate(z: np.ndarray, noise: np.ndarray, h: np.ndarray, target: float
              ) -> tuple[float, float, float, bool]:
    """The mixing angle whose score ``cos(theta) z + sin(theta) noise`` has expected AUC ``target``.

    Returns ``(theta, auc, oracle, capped)``: the angle, the expected AUC it gives (with
    these draws and churn probabilities ``h``), the oracle's (theta = 0) and whether the
    target was above the oracle's and capped there.  ``target = 0.5``: pure noise.
    """
    oracle = expected_auc(z, h)
    if target == 0.5 or not math.isfinite(oracle):
        return math.pi / 2, expected_auc(noise, h), oracle, False
    if target >= oracle:
        return 0.0, oracle, oracle, target > oracle

    def auc_at(theta: float) -> float:
        return expected_auc(math.cos(theta) * z + math.sin(theta) * noise, h)

    lo, hi = 0.0, math.pi / 2  # auc_at(lo) >= target; auc_at(hi) ~ 0.5
    f_hi = auc_at(hi)
    if f_hi >= target:
        return hi, f_hi, oracle, False
    best, f_best = lo, oracle
    for _ in range(_BISECTIONS):
        mid = 0.5 * (lo + hi)
        f = auc_at(mid)
        if abs(f - target) < abs(f_best - target):
            best, f_best = mid, f
        if abs(f - target) <= AUC_TOLERANCE:
            break
        if f > target:
            lo = mid
        else:
            hi = mid
    return best, f_best, oracle, False


# =============================================================================================
# the programme: one proactive_retention intervention in a running model
# =============================================================================================


@dataclass
class _Pending:
    """A wave whose scoring period is not over: what its outcomes are measured against."""

    row: dict
    due: int  # the tick at whose start the period is over
    agents: np.ndarray
    join_tick: np.ndarray
    score: np.ndarray
    h: np.ndarray
    reached: np.ndarray


def ticks_of(days: float, tick_days: float) -> int:
    """Whole ticks in ``days`` (at least one)."""
    return max(1, int(round(days / tick_days)))


class Programme:
    """The state of one ``proactive_retention`` intervention: its waves and the one pending."""

    def __init__(self, model: CXModel, iv: Intervention):
        from .interventions import first_tick, segments_of

        dt = model.spec.simulation.tick_days
        self.iv = iv
        self.segments = np.array(list(segments_of(model, iv)), dtype=np.int64)
        self.first = first_tick(iv)
        self.period = ticks_of(iv.cadence, dt)  # H: ticks between waves, the scoring period
        self.hold = ticks_of(iv.offer_days, dt)  # W: ticks an offer holds
        self.share = 0.0  # today's share to reach (amount x level), set by plan()
        self.waves: list[dict] = []
        self.pending: _Pending | None = None
        n = model.market.customers.status.shape[0]
        #: per agent: the last tick its offer holds (0: none), the tick it joined when
        #: reached, and its base churn log-odds before the offer (put back at the end)
        self.offer_until = np.zeros(n, np.int32)
        self._joined = np.zeros(n, np.int32)
        self._base = np.zeros(n, np.float32)
        self._held = np.zeros(0, np.int64)  # agents whose offer is in their churn_logit

    def plan(self, model: CXModel, t: int, share: float) -> None:
        """Remember today's share to reach for :meth:`run`.

        Offers made hold for their whole window, also after the intervention ended.
        """
        self.share = share

    def _end_offers(self, cu, t: int) -> None:
        """Put back the base churn log-odds of customers whose offer ended before tick ``t``.

        Only for a customer still in the spell the offer reached (a leaver who came back
        has a fresh propensity, drawn when they rejoined).
        """
        from . import kernels as K

        held = self._held
        if held.size == 0:
            return
        ended = self.offer_until[held] < t
        if not ended.any():
            return
        done = held[ended]
        same = (cu.status[done] == K.CUSTOMER) & (cu.join_tick[done] == self._joined[done])
        cu.churn_logit[done[same]] = self._base[done[same]]
        self._held = held[~ended]

    def run(self, model: CXModel, t: int) -> float:
        """Close the pending wave if its period is over; run a wave if one is due; its cost."""
        cu = model.market.customers
        self._end_offers(cu, t)
        if self.pending is not None and t >= self.pending.due:
            self._close(cu)
        if self.share <= 0.0 or t < self.first or (t - self.first) % self.period:
            return 0.0
        return self._wave(model, t)

    # ---- a wave ---------------------------------------------------------------------------
    def _wave(self, model: CXModel, t: int) -> float:
        from . import kernels as K
        from .kernels.retention import score_noise

        cu = model.market.customers
        iv = self.iv
        # every hazard for tick t (state after tick t - 1, today's segment shifts)
        p_all = K.customer_hazards(t - 1, cu, model.behaviour, model._today(), model.segments)
        eligible = ((cu.status == K.CUSTOMER) & np.isin(cu.segment, self.segments)
                    & (self.offer_until < t))
        agents = np.flatnonzero(eligible).astype(np.int64)
        n = agents.shape[0]
        p = p_all[agents]
        h = period_probability(p, self.period)
        z = normal_scores(p)
        noise = score_noise(model.keys[K.K_RETENTION], agents, t)
        theta, auc_model, oracle, capped = calibrate(z, noise, h, iv.auc)
        if capped:
            warnings.warn(f"proactive_retention: target AUC {iv.auc:g} is above the oracle's "
                          f"{oracle:.4f} at tick {t} (a perfect score: the true hazard; churn is "
                          "a coin flip even for it); capped at the oracle", RetentionWarning,
                          stacklevel=2)
        score = math.cos(theta) * z + math.sin(theta) * noise
        m = min(n, int(math.floor(self.share * n + 0.5)))
        # the m highest scores (ties: the lower agent index first, a stable order)
        reached = np.zeros(n, bool)
        if m:
            reached[np.argsort(-score, kind="stable")[:m]] = True
        got = agents[reached]
        self.offer_until[got] = t + self.hold - 1
        self._joined[got] = cu.join_tick[got]
        self._base[got] = cu.churn_logit[got]
        # the offer in the individual log-odds from today's churn draw (float32, as stored)
        cu.churn_logit[got] = (cu.churn_logit[got].astype(np.float64)
                               + iv.offer_effect).astype(np.float32)
        self._held = np.concatenate([self._held, got])
        saves_each = offer_saves(p, iv.offer_effect, self.hold)
        cost = iv.offer_cost * m
        base = float(h.sum())
        at_risk = float(h[reached].sum())
        precision = at_risk / m if m else float("nan")
        base_rate = base / n if n else float("nan")
        var = float(saves_each.var(ddof=1)) if n > 1 else 0.0
        row = {
            "tick": t, "scored": n, "contacts": m, "share": self.share,
            "auc_target": iv.auc, "theta": theta, "capped": capped,
            "auc_model": auc_model, "auc_oracle": oracle,
            "at_risk": at_risk, "base_risk": base, "precision": precision,
            "base_rate": base_rate,
            "lift": precision / base_rate if m and base_rate > 0 else float("nan"),
            "saves": float(saves_each[reached].sum()),
            "saves_random": float(saves_each.sum()) * m / n if n else 0.0,
            "saves_random_sd": math.sqrt(max(m * (1.0 - m / n) * var, 0.0)) if n else 0.0,
            "offer_cost": cost,
            "auc": float("nan"), "auc_expected": float("nan"), "auc_se": float("nan"),
            "auc_pairs": 0.0, "churners_unreached": 0, "stayers_unreached": 0,
            "churned_reached": 0,
        }
        self.waves.append(row)
        self.pending = _Pending(row, t + self.period, agents, cu.join_tick[agents].copy(),
                                score, h, reached)
        return cost

    def _close(self, cu) -> None:
        """The wave's outcomes: who churned within its period; the realised AUC."""
        from . import kernels as K

        w = self.pending
        self.pending = None
        stayed = (cu.status[w.agents] == K.CUSTOMER) & (cu.join_tick[w.agents] == w.join_tick)
        churned = ~stayed
        out = ~w.reached
        y = churned[out].astype(np.float64)
        n_pos = int(y.sum())
        n_neg = int(y.shape[0] - n_pos)
        auc = expected_auc(w.score[out], y)
        w.row.update({
            "auc": auc, "auc_expected": expected_auc(w.score[out], w.h[out]),
            "auc_se": hanley_mcneil_se(auc, n_pos, n_neg),
            "auc_pairs": float(n_pos * n_neg) if math.isfinite(auc) else 0.0,
            "churners_unreached": n_pos, "stayers_unreached": n_neg,
            "churned_reached": int(churned[w.reached].sum()),
        })

    def table(self) -> pd.DataFrame:
        """One row per wave (see the module docstring)."""
        import pandas as pd

        return pd.DataFrame(self.waves, columns=WAVE_COLUMNS)


#: the wave table's columns
WAVE_COLUMNS = (
    "tick", "scored", "contacts", "share", "auc_target", "theta", "capped", "auc_model",
    "auc_oracle", "at_risk", "base_risk", "precision", "base_rate", "lift", "saves",
    "saves_random", "saves_random_sd", "offer_cost", "auc", "auc_expected", "auc_se",
    "auc_pairs", "churners_unreached", "stayers_unreached", "churned_reached",
)

#: metric column -> wave column (zero on ticks without a wave; the AUCs weigh by their
#: weight columns, so a tick without a wave adds nothing to them)
COLUMNS: dict[str, str] = {
    "retention_scored": "scored", "retention_contacts": "contacts",
    "retention_at_risk": "at_risk", "retention_precision": "precision",
    "retention_lift": "lift", "retention_saves": "saves",
    "retention_saves_random": "saves_random", "retention_offer_cost": "offer_cost",
    "retention_cost_per_save": None, "retention_auc": "auc",
    "retention_auc_expected": "auc_expected", "retention_auc_pairs": "auc_pairs",
    "retention_auc_model": "auc_model", "retention_auc_oracle": "auc_oracle",
}


def programme(model: CXModel, k: int, iv: Intervention) -> Programme:
    """The programme of intervention ``k`` of the model's strategy (created on first use)."""
    state = model.interventions.retention
    if k not in state:
        state[k] = Programme(model, iv)
    return state[k]


def add_columns(metrics: pd.DataFrame, programmes: dict[int, Programme]) -> pd.DataFrame:
    """``metrics`` with the ``retention_*`` columns of the model's programmes appended.

    Counts, saves and costs are summed over the programmes; the ratios and AUCs are taken
    from the wave of the tick (one programme per strategy, :mod:`cxsim.scenario` checks).
    """
    ticks = metrics["tick"].to_numpy()
    pos = {int(t): r for r, t in enumerate(ticks)}
    cols = {name: np.zeros(len(ticks)) for name in COLUMNS}
    for name in ("retention_precision", "retention_lift", "retention_cost_per_save",
                 "retention_auc", "retention_auc_expected", "retention_auc_model",
                 "retention_auc_oracle"):
        cols[name][:] = np.nan
    for prog in programmes.values():
        for row in prog.waves:
            r = pos.get(row["tick"])
            if r is None:
                continue
            for name, key in COLUMNS.items():
                if key is None:
                    continue
                if name in ("retention_scored", "retention_contacts", "retention_at_risk",
                            "retention_saves", "retention_saves_random",
                            "retention_offer_cost", "retention_auc_pairs"):
                    cols[name][r] += row[key]
                else:
                    cols[name][r] = row[key]
            saves = cols["retention_saves"][r]
            cols["retention_cost_per_save"][r] = (
                cols["retention_offer_cost"][r] / saves if saves > 0 else np.nan)
    out = metrics.copy()
    for name in COLUMNS:
        out[name] = cols[name]
    for name in ("retention_scored", "retention_contacts"):
        out[name] = out[name].astype(np.int64)
    return out


def comparison_table(result) -> pd.DataFrame:
    """Per proactive_retention strategy of a comparison: the score, the outreach, the value.

    ``result`` is a :class:`cxsim.compare.ComparisonResult`.  Each row: the target AUC's
    strategy, the mean over replications of the score's expected AUC, the oracle's and the
    achieved AUC, precision and lift at k, expected saves (and a random list's), cost per
    save; then the paired differences against the baseline with their 95 % intervals:
    churned customers prevented (baseline minus strategy) and profit, the ROI (incremental
    profit over the intervention cost, :func:`cxsim.compare.roi_table`) and the value of a
    contact before its cost (profit difference plus intervention cost, per contact: the
    offer cost at which outreach breaks even).
    """
    import pandas as pd

    from .compare import mean_interval

    runs = result.runs
    if "retention_auc_model" not in runs.columns:
        return pd.DataFrame()
    table = result.table.set_index(["strategy", "metric"])
    roi = result.roi.set_index("strategy")
    rows = []
    for name in result.strategies:
        mine = runs[runs["strategy"] == name]
        if name == "baseline" or mine["retention_auc_model"].isna().all():
            continue
        churn = table.loc[(name, "churned")]
        profit = table.loc[(name, "profit")]
        rows.append({
            "strategy": name,
            "auc_model": mine["retention_auc_model"].mean(),
            "auc_oracle": mine["retention_auc_oracle"].mean(),
            "auc_achieved": mine["retention_auc"].mean(),
            "auc_expected_unreached": mine["retention_auc_expected"].mean(),
            "precision": mine["retention_precision"].mean(),
            "lift": mine["retention_lift"].mean(),
            "saves": mine["retention_saves"].mean(),
            "saves_random": mine["retention_saves_random"].mean(),
            "cost_per_save": mine["retention_cost_per_save"].mean(),
            "prevented": -churn["diff"], "prevented_low": -churn["diff_ci_high"],
            "prevented_high": -churn["diff_ci_low"],
            "profit_diff": profit["diff"], "profit_low": profit["diff_ci_low"],
            "profit_high": profit["diff_ci_high"],
            "roi": roi.loc[name, "roi"] if name in roi.index else float("nan"),
            **dict(zip(("value_per_contact", "value_low", "value_high"),
                       mean_interval(_contact_values(runs, name))[:3], strict=True)),
        })
    return pd.DataFrame(rows)


def _contact_values(runs: pd.DataFrame, name: str) -> np.ndarray:
    """Per replicate: (profit - the baseline's + intervention cost) / contacts.

    What a contact is worth before its cost, paired by replicate: the offer cost at which
    the outreach would break even.
    """
    base = runs[runs["strategy"] == "baseline"].set_index("replicate")["profit"]
    mine = runs[runs["strategy"] == name].set_index("replicate")
    gain = mine["profit"] - base.reindex(mine.index) + mine["intervention_cost"]
    return (gain / mine["retention_contacts"].where(mine["retention_contacts"] > 0)).to_numpy(
        dtype=float)
