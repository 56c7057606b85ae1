"""The recorder: each tick's figures, kept as rows, and the result tables built from them.

In the spirit of Mesa's ``DataCollector``: the model hands the recorder the tick's summed
accumulators and the company side's figures; the recorder computes the metric row
(:data:`CONTRACT_METRICS` first, then extras) and keeps the per-touchpoint, per-segment,
per-team and per-partner tables.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import kernels as K
from .scenario import Scenario
from .vocabulary import CONTRACT_COLUMNS
from .workforce import headcounts, mean_of

if TYPE_CHECKING:  # pragma: no cover
    from .agents import Employee
    from .queues import QueueDay

#: the metric columns of the contract, in order (declared in :mod:`cxsim.vocabulary`)
CONTRACT_METRICS = CONTRACT_COLUMNS


#: the columns of a metric row, in the order :meth:`Recorder.record` computes them (the
#: table puts :data:`CONTRACT_METRICS` first)
ROW_COLUMNS = (
    "tick", "active", "new", "churned", "churn_rate", "retention", "nps", "csat", "ces",
    "satisfaction", "fcr", "service_level", "asa", "abandonment", "occupancy", "engagement",
    "attrition", "partner_on_time", "revenue", "cost", "profit", "nps_se", "nps_population",
    "nps_respondents", "prospects", "lost", "won_back", "episodes", "resolved", "abandoned",
    "escalations", "failure_demand", "effort", "promoters", "detractors", "referrers",
    "queued", "contact_cost", "staff_cost", "partner_cost", "intervention_cost", "recoveries",
    "systems_down",
)


def ordered_sum(x: np.ndarray) -> np.ndarray:
    """Sum over the chunk axis strictly in chunk order (reproducible floating point)."""
    return K.sum_chunks(x.reshape(x.shape[0], -1)).reshape(x.shape[1:])


def nps(promoters: float, detractors: float, n: float) -> tuple[float, float]:
    """NPS and its standard error, 100 * sqrt((P + D - (P - D)**2) / n)."""
    if n <= 0:
        return float("nan"), float("nan")
    p, d = promoters / n, detractors / n
    return 100.0 * (p - d), 100.0 * math.sqrt(max(p + d - (p - d) ** 2, 0.0) / n)


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else float("nan")


class Recorder:
    """Rows of every tick: metrics, touchpoints, segments, queues (teams) and partners."""

    def __init__(self, scenario: Scenario, touchpoint_names: list[str],
                 segment_names: list[str], segment_initial: np.ndarray):
        self.spec = scenario
        self.touchpoint_names = touchpoint_names
        self.segment_names = segment_names
        self.segment_initial = segment_initial
        #: per tick, the metric row: one value per column of :data:`ROW_COLUMNS`
        self.rows: list[tuple] = []
        self._revenue_per_day = [sp.revenue_per_day for sp in scenario.segments.values()]
        self._cost_per_contact = [tp.cost_per_contact for tp in scenario.touchpoints.values()]
        #: per tick, the per-touchpoint counts ``[T, N_TPA]`` (the moves between touchpoints
        #: are only kept summed over the run, in ``tp_total``: they are ``T x T`` a tick)
        self.tp_rows: list[np.ndarray] = []
        n_tp = len(touchpoint_names)
        self.tp_total = np.zeros((n_tp, K.N_TPA + n_tp))
        self.seg_rows: list[np.ndarray] = []
        self.queue_rows: list[dict] = []
        self.partner_rows: list[dict] = []

    def record(self, t: int, tot: np.ndarray, tpt: np.ndarray, sgt: np.ndarray,
               day: QueueDay, partners: dict[str, dict], *, staff: list[Employee],
               staffed_tps: list[int], attrition: float, initial_customers: int,
               revenue_factor: np.ndarray, intervention_cost: float,
               systems_down: float) -> None:
        """Record tick ``t``.

        ``tot``, ``tpt``, ``sgt`` are the tick's summed accumulators (``ACC_*``, ``[T, TPA_*]``,
        ``[S, SGA_*]``); ``day`` the queues' settled day; ``partners`` the per-partner rows;
        then the company side: everyone on staff, the staffed touchpoints, today's attrition,
        the initial customers, each segment's price factor, today's intervention cost and the
        systems down.
        """
        sc = self.spec
        dt = sc.simulation.tick_days
        # the figures as Python floats: the same arithmetic as on the arrays' elements, and a
        # tick's few hundred operations on them cost a fraction of NumPy scalars'
        a = tot.tolist()
        visits = tpt[:, K.TPA_VISITS].tolist()
        active = a[K.ACC_ACTIVE]
        episodes = a[K.ACC_EPISODES]
        revenue = float(sum(n * per_day * dt * f for n, per_day, f in zip(
            sgt[:, K.SGA_ACTIVE].tolist(), self._revenue_per_day, revenue_factor.tolist(),
            strict=True)))
        contact_cost = float(sum(v * c for v, c in zip(visits, self._cost_per_contact,
                                                       strict=True)))
        on_staff = headcounts(staff, sc.teams)
        staff_cost = float(sum(on_staff[n] * t_.fte * t_.wage_per_day * dt
                               for n, t_ in sc.teams.items()))
        partner_jobs = sum(r["jobs"] for r in partners.values())
        partner_fail = sum(r["failures"] for r in partners.values())
        partner_cost = sum(r["cost"] for r in partners.values())
        cost = (contact_cost + staff_cost + partner_cost + sc.economics.fixed_cost_per_day * dt
                + sc.economics.acquisition_cost * a[K.ACC_NEW] + intervention_cost)
        queued_at = tpt[:, K.TPA_QUEUED].tolist()
        abandoned_at = tpt[:, K.TPA_QUEUE_ABANDON].tolist()
        queued = float(sum(queued_at[j] for j in staffed_tps))
        q_arrivals = float(sum(visits[j] for j in staffed_tps))
        q_abandon = float(sum(abandoned_at[j] for j in staffed_tps))
        n_survey = a[K.ACC_SURVEY_N]
        nps_sample, nps_se = nps(a[K.ACC_SURVEY_PROM], a[K.ACC_SURVEY_DET], n_survey)
        nps_pop, _ = nps(a[K.ACC_PROMOTERS], a[K.ACC_DETRACTORS], active)
        off = day.offered
        initial = initial_customers
        nan = float("nan")
        # one value per column of ROW_COLUMNS, in its order
        self.rows.append((
            t, int(active), int(a[K.ACC_NEW]), int(a[K.ACC_CHURNED]),
            _ratio(a[K.ACC_CHURNED], a[K.ACC_ACTIVE_START]),
            a[K.ACC_COHORT] / initial if initial > 0 else nan,
            nps_sample,
            _ratio(a[K.ACC_CSAT_SUM], episodes),
            _ratio(a[K.ACC_CES_SUM], episodes),
            _ratio(a[K.ACC_SAT_SUM], active),
            _ratio(a[K.ACC_FCR], episodes),
            _ratio(day.sl_sum, off),
            _ratio(day.asa_sum, off),
            _ratio(q_abandon, q_arrivals),
            _ratio(day.occupancy_sum, off),
            mean_of(staff, "engagement", nan),
            attrition,
            1.0 - partner_fail / partner_jobs if partner_jobs > 0 else nan,
            revenue, cost, revenue - cost, nps_se, nps_pop, int(n_survey),
            int(a[K.ACC_PROSPECTS]), int(a[K.ACC_LOST]), int(a[K.ACC_WON_BACK]),
            int(episodes), int(a[K.ACC_RESOLVED]), int(a[K.ACC_ABANDONED]),
            int(a[K.ACC_ESCALATIONS]), int(a[K.ACC_FAILURE_DEMAND]),
            _ratio(a[K.ACC_EFFORT_SUM], episodes),
            int(a[K.ACC_PROMOTERS]), int(a[K.ACC_DETRACTORS]), int(a[K.ACC_REFERRERS]),
            int(queued), contact_cost, staff_cost, partner_cost, intervention_cost,
            int(a[K.ACC_RECOVERIES]), float(systems_down),
        ))
        self.tp_rows.append(tpt[:, :K.N_TPA].copy())
        self.tp_total += tpt
        self.seg_rows.append(sgt)
        self.queue_rows.append(day.teams)
        self.partner_rows.append(partners)

    # ---- tables ----------------------------------------------------------------------------
    def metrics(self) -> pd.DataFrame:
        """One row per tick; the contract's metric columns first, then extras."""
        if not self.rows:
            return pd.DataFrame(columns=list(CONTRACT_METRICS))
        df = pd.DataFrame.from_records(self.rows, columns=ROW_COLUMNS)
        extras = [c for c in df.columns if c not in CONTRACT_METRICS]
        return df[list(CONTRACT_METRICS) + extras]

    def touchpoints(self) -> pd.DataFrame:
        """Per tick and touchpoint: volume, mean experience, resolutions, failures, waits."""
        rows = []
        spec = self.spec.touchpoints
        for t, tpt in enumerate(self.tp_rows, start=1):
            for j, name in enumerate(self.touchpoint_names):
                v = tpt[j]
                visits = v[K.TPA_VISITS]
                rows.append({
                    "tick": t, "touchpoint": name,
                    "channel": spec[name].channel, "stage": spec[name].stage,
                    "volume": int(visits),
                    "experience": v[K.TPA_PERF_SUM] / visits if visits else float("nan"),
                    "resolved": int(v[K.TPA_RESOLVED]), "failures": int(v[K.TPA_FAILURES]),
                    "queued": int(v[K.TPA_QUEUED]),
                    "queue_abandoned": int(v[K.TPA_QUEUE_ABANDON]),
                    "mean_wait": v[K.TPA_WAIT_SUM] / v[K.TPA_QUEUED] if v[K.TPA_QUEUED]
                    else 0.0,
                    "episodes_ended": int(v[K.TPA_ENDED_HERE]),
                    "episodes_ended_unresolved": int(v[K.TPA_ENDED_BAD]),
                })
        return pd.DataFrame(rows)

    def flows(self) -> pd.DataFrame:
        """How episodes moved, summed over the run: one row per ``source, target, episodes``.

        ``source`` is ``"need"`` (an episode entering at ``target``) or a touchpoint;
        ``target`` is a touchpoint (an escalation or hand-off), ``"resolved"`` or
        ``"unresolved"`` (where episodes ended).  Rows with no episodes are left out.
        """
        names = self.touchpoint_names
        n = len(names)
        total = self.tp_total
        moves = total[:, K.TPA_FLOW:K.TPA_FLOW + n]
        visits = total[:, K.TPA_VISITS]
        entries = visits - moves.sum(axis=0)
        ended = total[:, K.TPA_ENDED_HERE]
        bad = total[:, K.TPA_ENDED_BAD]
        rows = [("need", names[j], entries[j]) for j in range(n)]
        rows += [(names[a], names[b], moves[a, b]) for a in range(n) for b in range(n)]
        rows += [(names[j], "resolved", ended[j] - bad[j]) for j in range(n)]
        rows += [(names[j], "unresolved", bad[j]) for j in range(n)]
        df = pd.DataFrame([r for r in rows if r[2] > 0], columns=["source", "target",
                                                                   "episodes"])
        df["episodes"] = df["episodes"].round().astype(np.int64)
        return df

    def segments(self) -> pd.DataFrame:
        """Per tick and segment: active, new, churned and initial-cohort retention."""
        rows = []
        initial = self.segment_initial
        for t, sgt in enumerate(self.seg_rows, start=1):
            for s, name in enumerate(self.segment_names):
                v = sgt[s]
                rows.append({
                    "tick": t, "segment": name, "active": int(v[K.SGA_ACTIVE]),
                    "new": int(v[K.SGA_NEW]), "churned": int(v[K.SGA_CHURNED]),
                    "retention": v[K.SGA_COHORT] / initial[s] if initial[s] else float("nan"),
                })
        return pd.DataFrame(rows)

    def queues(self) -> pd.DataFrame:
        """Per tick and team: offered contacts, agents, traffic, P(wait), SL, ASA (s), occupancy."""
        return pd.DataFrame([{"tick": t, "team": name, **vals}
                             for t, teams in enumerate(self.queue_rows, start=1)
                             for name, vals in teams.items()])

    def partners(self) -> pd.DataFrame:
        """Per tick and partner: jobs, failures, on-time rate, effective reliability, cost."""
        return pd.DataFrame([{"tick": t, "partner": name, **vals}
                             for t, partners in enumerate(self.partner_rows, start=1)
                             for name, vals in partners.items()])
