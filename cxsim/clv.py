"""Customer lifetime value (CLV): expected, by segment, realised by the starting base, CLV:CAC.

**Expected CLV of a customer** (an estimator; its assumptions are stated here and in
docs/validation.md).  A customer active at the end of tick *t* will bring the margin ``m`` of
each later tick it stays a customer for (margins accrue per tick as revenue does: tick *k*'s
revenue counts the customers active at its end).  Its hazard is the model's own,
:meth:`cxsim.CXModel.churn_hazards`: ``h``, the probability of churning in tick *t + 1* from
its state now (individual frailty, satisfaction, tenure, contract, today's interventions and
prices, churn exposure).  **Projection: today's hazard held constant** — survival to the end
of tick *t + k* is ``(1 - h)^k`` (geometric) — and margins are discounted per tick by
``delta = (1 + i)^(-tick_days / 365)`` with ``i = economics.discount_rate`` (yearly), so

    CLV = m * sum_{k>=1} ((1 - h) delta)^k = m q / (1 - q),   q = (1 - h) delta.

With yearly ticks and retention ``r = 1 - h`` this is Gupta & Lehmann's (2003) multiple
``m r / (1 + i - r)``; as ticks shorten (``h = lambda dt``, ``m = mu dt``) it tends to
``mu / (lambda + rho)`` with ``rho = ln(1 + i) / 365`` a day, so it does not depend on the
tick length in the limit (daily and weekly ticks differ by ``O((lambda + rho) dt)``, far
below sampling noise).  Holding the hazard constant projects neither the tenure effect
(``behaviour.tenure_effect``), nor contract renewals, nor satisfaction drifting back to its
reference; with those effects off (the shipped default for tenure) and heterogeneity only
in the frailty (shifted-beta-geometric, ``segments.*.churn_concentration``) the estimator is
exact for each customer, and its mean over survivors is Fader & Hardie's (2010) discounted
expected residual lifetime (``DERL / (1 + d)``: see :func:`fader_hardie_derl`).

**Margin** of a customer of segment *s* per tick: its revenue per tick (``revenue_per_day x
tick_days``) at today's price factor of the segment, minus the **cost to serve**: the run's
contact and partner cost per active customer per tick over the last
:data:`COST_WINDOW_DAYS` days (the variable cost of serving a customer; the same for every
segment, since contact costs are not kept per segment).  Staff wages and fixed costs are
capacity, not per customer, and are left out; the acquisition cost is paid before a
customer's life starts and is kept apart (CAC).

**Figures** (declared in :mod:`cxsim.vocabulary`; per tick in ``model.metrics``):

- ``clv``: the mean expected CLV of the active customers;
- ``clv_new``: the expected value at acquisition of the customers who joined in the last
  :data:`CADENCE_DAYS` days, ``m + CLV`` (the first tick's margin counts: Gupta & Lehmann's
  ``m (1 + i) / (1 + i - r)``), from their state now;
- ``cac``: the acquisition cost per new customer (``economics.acquisition_cost``, booked in
  ``cost`` for every new customer; win-back is not charged);
- ``clv_cac``: ``clv_new / cac`` (NaN when ``cac`` is 0);
- ``cohort_clv``: the realised, discounted margin per customer of the starting base (each
  tick: its survivors' margins that tick, discounted to tick 0, over the initial customers;
  summed over a run: the starting base's CLV realised up to the horizon).

The hazard pass costs about a third of a tick (a logistic and the contagion shift for every
customer), so the expected figures are computed at tick 1, every :data:`CADENCE_DAYS` days after it,
and at the scenario's last tick (``simulation.ticks``), carried forward in between; the
per-segment means go into ``model.segment_metrics`` (column ``clv``).  For the figures of a
model now, whatever its tick, call :func:`segment_clv` or :func:`customer_clv`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from numba import njit

from . import kernels as K
from .kernels.inputs import CUSTOMER
from .scenario import YEAR_DAYS

#: days between two computations of the expected CLV (and the window of "newly acquired")
CADENCE_DAYS = 30.0
#: days over which the cost to serve per customer is averaged
COST_WINDOW_DAYS = 30.0

#: the per-tick columns this module adds to ``model.metrics``, in order
COLUMNS = ("clv", "clv_new", "cac", "clv_cac", "cohort_clv")

__all__ = ["CADENCE_DAYS", "COLUMNS", "COST_WINDOW_DAYS", "ClvBook", "cadence_ticks",
           "cohort_margins", "customer_clv", "discount_per_tick", "expected_clv",
           "fader_hardie_derl", "gupta_lehmann", "margins", "measure", "segment_clv"]


# --------------------------------------------------------------------------------------------
# formulas
# --------------------------------------------------------------------------------------------


def discount_per_tick(rate: float, tick_days: float) -> float:
    """The discount factor of one tick, ``(1 + rate)^(-tick_days / 365)`` (``rate`` yearly)."""
    return (1.0 + rate) ** (-tick_days / YEAR_DAYS)


def gupta_lehmann(margin: float, retention: float, rate: float) -> float:
    """Gupta & Lehmann's (2003) CLV multiple, ``m r / (1 + i - r)``.

    Margin ``m`` per period received at each period's end while retained (retention ``r``
    per period, discount ``i`` per period).  ``r = 0.8, i = 0.10`` gives ``2.6667 m``.
    """
    return margin * retention / (1.0 + rate - retention)


def expected_clv(hazard, margin, discount):
    """Expected discounted margin of a customer with a constant per-tick ``hazard``.

    ``margin * q / (1 - q)`` with ``q = (1 - hazard) * discount``: the margin of every later
    tick survived, discounted by ``discount`` per tick (element-wise on arrays; infinite
    when ``q = 1``: a customer who never leaves, undiscounted).
    """
    q = (1.0 - np.asarray(hazard, dtype=float)) * discount
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(margin, dtype=float) * q / (1.0 - q)


def fader_hardie_derl(d: float, alpha: float, beta: float, n: float) -> float:
    """Fader & Hardie's (2010) discounted expected residual lifetime under the sBG model.

    ``DERL(d | alpha, beta, n) = (beta + n - 1) / (alpha + beta + n - 1)
    * 2F1(1, beta + n; alpha + beta + n; 1 / (1 + d))`` for a customer who has made ``n - 1``
    renewals (survived ``n - 1`` churn opportunities: its churn probability is then
    Beta(alpha, beta + n - 1)), evaluated just before the next renewal, whose payment is not
    discounted.  The expected CLV here discounts the next margin by one period, so the mean
    CLV (margin 1) of such survivors is ``DERL / (1 + d)``.  Needs SciPy.
    """
    from scipy.special import hyp2f1

    return float((beta + n - 1.0) / (alpha + beta + n - 1.0)
                 * hyp2f1(1.0, beta + n, alpha + beta + n, 1.0 / (1.0 + d)))


# --------------------------------------------------------------------------------------------
# one pass over the customers
# --------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _clv_sums(hazard, status, segment, join_tick, margin, discount, since, out):
    """Per segment: ``out[s] = (customers, Σ CLV, new customers, Σ (margin + CLV) of new)``.

    One serial pass in index order (sums do not depend on the thread count); customers who
    joined after tick ``since`` are new.
    """
    out[:, :] = 0.0
    for i in range(hazard.shape[0]):
        if status[i] != CUSTOMER:
            continue
        s = segment[i]
        q = (1.0 - hazard[i]) * discount
        if q < 1.0:
            v = margin[s] * q / (1.0 - q)
        else:  # never leaves, undiscounted: no end to its margin
            v = math.copysign(math.inf, margin[s]) if margin[s] != 0.0 else 0.0
        out[s, 0] += 1.0
        out[s, 1] += v
        if join_tick[i] > since:
            out[s, 2] += 1.0
            out[s, 3] += margin[s] + v


def _cost_to_serve(model) -> float:
    """Contact and partner cost per active customer per tick over the last days (0 at first)."""
    rec = model.recorder
    if not rec.ticks:
        return 0.0
    dt = model.spec.simulation.tick_days
    w = max(1, int(round(COST_WINDOW_DAYS / dt)))
    per_contact = np.array([t.cost_per_contact for t in model.spec.touchpoints.values()])
    cost = active = 0.0
    for tp, partners, tot in zip(rec.tp_rows[-w:], rec.partner_rows[-w:], rec.totals[-w:],
                                 strict=True):
        cost += float(tp[:, K.TPA_VISITS] @ per_contact)
        cost += sum(r["cost"] for r in partners.values())
        active += float(tot[K.ACC_ACTIVE])
    return cost / active if active > 0 else 0.0


def margins(model) -> np.ndarray:
    """Each segment's margin per customer per tick now.

    Revenue at today's price factor minus the cost to serve (:func:`_cost_to_serve`).
    """
    sc = model.spec
    dt = sc.simulation.tick_days
    revenue = np.array([s.revenue_per_day * dt for s in sc.segments.values()])
    return revenue * model.interventions.revenue_factor - _cost_to_serve(model)


def customer_clv(model, hazards: np.ndarray | None = None) -> np.ndarray:
    """Every agent's expected CLV now (NaN for non-customers), in the scenario's currency.

    The model's own hazard held constant (:func:`expected_clv`), each segment's margin now
    (:func:`margins`), discounted at ``economics.discount_rate``.
    """
    h = model.churn_hazards() if hazards is None else hazards
    d = discount_per_tick(model.spec.economics.discount_rate, model.spec.simulation.tick_days)
    m = margins(model)[model.arrays.segment]
    out = expected_clv(h, m, d)
    out[np.isnan(h)] = np.nan
    return out


def segment_clv(model) -> pd.DataFrame:
    """The model's CLV figures per segment now, as a table.

    Columns: ``segment, active, margin_per_tick, clv`` (mean expected CLV), ``new`` and
    ``clv_new`` (customers who joined in the last :data:`CADENCE_DAYS` days, their value at
    acquisition), ``cac`` and ``clv_cac`` (NaN when the acquisition cost is 0).
    """
    sums = measure(model)
    m = margins(model)
    cac = float(model.spec.economics.acquisition_cost)
    rows = []
    for s, name in enumerate(model.segment_names):
        n, total, n_new, total_new = sums[s]
        new = total_new / n_new if n_new > 0 else math.nan
        rows.append({"segment": name, "active": int(n), "margin_per_tick": float(m[s]),
                     "clv": total / n if n > 0 else math.nan, "new": int(n_new),
                     "clv_new": new, "cac": cac,
                     "clv_cac": new / cac if cac > 0 else math.nan})
    return pd.DataFrame(rows)


def cadence_ticks(tick_days: float) -> int:
    """Ticks between two computations of the expected CLV (:data:`CADENCE_DAYS`, at least 1)."""
    return max(1, int(round(CADENCE_DAYS / tick_days)))


def measure(model) -> np.ndarray:
    """Per segment now ``[S, 4]``: customers, Σ CLV, new customers, Σ their value.

    New: joined in the last :data:`CADENCE_DAYS` days; their value at acquisition is their
    margin plus their CLV.  One hazard pass (:meth:`cxsim.CXModel.churn_hazards`).
    """
    sc = model.spec
    # 8 bytes an agent while it runs, freed after: within the market's set-up peak
    # (cxsim.footprint), so a run's predicted memory is unchanged
    h = model.churn_hazards()
    d = discount_per_tick(sc.economics.discount_rate, sc.simulation.tick_days)
    cu = model.arrays
    out = np.zeros((len(model.segment_names), 4))
    since = model.time_tick - cadence_ticks(sc.simulation.tick_days)
    _clv_sums(h, cu.status, cu.segment, cu.join_tick, margins(model), d, since, out)
    return out


def cohort_margins(model) -> np.ndarray:
    """Per tick: the starting base's realised margin, discounted to tick 0, per customer.

    Each segment's survivors of the base times its margin that tick (the cost to serve of
    that tick alone), discounted by ``delta^t``, over the initial customers.
    """
    rec = model.recorder
    sc = model.spec
    if not rec.ticks or not rec.initial_customers:
        return np.full(len(rec.ticks), math.nan)
    dt = sc.simulation.tick_days
    d = discount_per_tick(sc.economics.discount_rate, dt)
    revenue = np.array([s.revenue_per_day * dt for s in sc.segments.values()])
    per_contact = np.array([t.cost_per_contact for t in sc.touchpoints.values()])
    tp = np.array(rec.tp_rows)
    cost = tp[:, :, K.TPA_VISITS] @ per_contact + np.array(
        [sum(r["cost"] for r in p.values()) for p in rec.partner_rows])
    active = np.array(rec.totals)[:, K.ACC_ACTIVE]
    with np.errstate(divide="ignore", invalid="ignore"):
        serve = np.where(active > 0, cost / active, 0.0)
    cohort = np.array(rec.seg_rows)[:, :, K.SGA_COHORT]
    margin = revenue[None, :] * np.array(rec.price_factors) - serve[:, None]
    ticks = np.array(rec.ticks, dtype=float)
    return (cohort * margin).sum(axis=1) * d ** ticks / rec.initial_customers


# --------------------------------------------------------------------------------------------
# the per-tick book a model keeps
# --------------------------------------------------------------------------------------------


class ClvBook:
    """A model's expected CLV figures over its run, and the columns they make.

    Recorded at tick 1, every :data:`CADENCE_DAYS` days and the scenario's last tick
    (``simulation.ticks``), carried forward in between (a table read mid-run is the first
    rows of the final one); :meth:`columns` adds them to ``model.metrics``,
    :meth:`segment_columns` to ``segment_metrics``.
    """

    def __init__(self, spec, n_segments: int):
        self.cadence = cadence_ticks(spec.simulation.tick_days)
        self.last = spec.simulation.ticks
        self.n_segments = n_segments
        #: tick -> per-segment sums (:func:`measure`)
        self.records: dict[int, np.ndarray] = {}

    def after_tick(self, model) -> None:
        """Record the figures at tick 1, every cadence and the scenario's last tick."""
        t = model.time_tick
        if (t - 1) % self.cadence == 0 or t == self.last:
            self.records[t] = measure(model)

    def _at(self, ticks: np.ndarray) -> np.ndarray:
        """Per row tick ``[len, S, 4]``: the sums of the latest record at or before it."""
        keys = np.array(sorted(self.records), dtype=np.int64)
        out = np.full((len(ticks), self.n_segments, 4), np.nan)
        at = np.searchsorted(keys, np.asarray(ticks, dtype=np.int64), side="right") - 1
        for k, j in enumerate(at):
            if j >= 0:
                out[k] = self.records[int(keys[j])]
        return out

    def columns(self, model, metrics: pd.DataFrame) -> pd.DataFrame:
        """``metrics`` with the :data:`COLUMNS` added (see the module docstring)."""
        if metrics.empty:
            return metrics
        ticks = metrics["tick"].to_numpy()
        sums = self._at(ticks).sum(axis=1)
        cac = float(model.spec.economics.acquisition_cost)
        with np.errstate(divide="ignore", invalid="ignore"):
            clv = np.where(sums[:, 0] > 0, sums[:, 1] / sums[:, 0], np.nan)
            new = np.where(sums[:, 2] > 0, sums[:, 3] / sums[:, 2], np.nan)
        with np.errstate(over="ignore"):  # a subnormal CAC: beyond any float, so no ratio
            ratio = new / cac if cac > 0 else np.full(len(ticks), np.nan)
        ratio[~np.isfinite(ratio)] = np.nan
        return metrics.assign(clv=clv, clv_new=new, cac=np.full(len(ticks), cac),
                              clv_cac=ratio, cohort_clv=cohort_margins(model))

    def segment_columns(self, model, segments: pd.DataFrame) -> pd.DataFrame:
        """``segments`` (one row per tick and segment, tick-major) with each row's ``clv``."""
        if segments.empty:
            return segments
        ticks = segments["tick"].to_numpy()[::self.n_segments]
        sums = self._at(ticks).reshape(-1, 4)
        with np.errstate(divide="ignore", invalid="ignore"):
            clv = np.where(sums[:, 0] > 0, sums[:, 1] / sums[:, 0], np.nan)
        return segments.assign(clv=clv)
