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


#: the columns of a metric row, in the order :meth:`Recorder.metrics` computes them (the
#: table puts :data:`CONTRACT_METRICS` first)
ROW_COLUMNS = (
    "tick", "active", "new", "churned", "churn_rate", "retention", "nps", "csat", "ces",
    "satisfaction", "fcr", "service_level", "asa", "abandonment", "occupancy", "engagement",
    "attrition", "partner_on_time", "revenue", "cost", "profit", "nps_se", "nps_population",
    "nps_respondents", "nps_promoters", "nps_detractors", "prospects", "lost", "won_back",
    "episodes", "resolved", "abandoned", "escalations", "failure_demand", "effort",
    "promoters", "detractors", "referrers", "queued", "contact_cost", "staff_cost",
    "partner_cost", "intervention_cost", "recoveries", "systems_down",
)


#: the company side's figures a tick keeps (:meth:`Recorder.record`), before the head counts
COMPANY_FIGURES = ("offered", "sl_sum", "asa_sum", "occupancy_sum", "engagement", "attrition",
                   "intervention_cost", "systems_down")


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
    """Rows of every tick: metrics, touchpoints, segments, queues (teams) and partners.

    A tick keeps what its rows are computed from (:meth:`record`: the summed accumulators,
    the queues' day, the partners' rows, the company side's figures); the tables compute
    every tick's row at once when asked for (:meth:`metrics` and the others), so a tick pays
    for copying its figures only.
    """

    def __init__(self, scenario: Scenario, touchpoint_names: list[str],
                 segment_names: list[str], segment_initial: np.ndarray):
        self.spec = scenario
        self.touchpoint_names = touchpoint_names
        self.segment_names = segment_names
        self.segment_initial = segment_initial
        #: per tick, the per-touchpoint counts ``[T, N_TPA]`` (the moves between touchpoints
        #: are only kept summed over the run, in ``tp_total``: they are ``T x T`` a tick)
        self.tp_rows: list[np.ndarray] = []
        n_tp = len(touchpoint_names)
        self.tp_total = np.zeros((n_tp, K.N_TPA + n_tp))
        self.seg_rows: list[np.ndarray] = []
        self.queue_rows: list[dict] = []
        self.partner_rows: list[dict] = []
        #: per tick, the rest of what its metric row is computed from: the tick, the summed
        #: accumulators ``ACC_*``, each segment's price factor and the company side's figures
        #: (:data:`COMPANY_FIGURES`, then each team's head count)
        self.ticks: list[int] = []
        self.totals: list[np.ndarray] = []
        self.price_factors: list[np.ndarray] = []
        self.company: list[tuple] = []
        self.staffed_tps: list[int] = []
        self.initial_customers = 0

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
        self.ticks.append(t)
        self.totals.append(tot.copy())
        self.price_factors.append(revenue_factor.copy())
        self.company.append((
            day.offered, day.sl_sum, day.asa_sum, day.occupancy_sum,
            mean_of(staff, "engagement", float("nan")), attrition, intervention_cost,
            float(systems_down), *headcounts(staff, self.spec.teams).values()))
        self.staffed_tps = staffed_tps
        self.initial_customers = initial_customers
        self.tp_rows.append(tpt[:, :K.N_TPA].copy())
        self.tp_total += tpt
        self.seg_rows.append(sgt)
        self.queue_rows.append(day.teams)
        self.partner_rows.append(partners)

    # ---- tables ----------------------------------------------------------------------------
    def metrics(self) -> pd.DataFrame:
        """One row per tick; the contract's metric columns first, then extras."""
        if not self.ticks:
            return pd.DataFrame(columns=list(CONTRACT_METRICS))
        df = pd.DataFrame(self._metric_columns())
        extras = [c for c in df.columns if c not in CONTRACT_METRICS]
        return df[list(CONTRACT_METRICS) + extras]

    def _metric_columns(self) -> dict[str, np.ndarray]:
        """Every tick's metric row, a column at a time (:data:`ROW_COLUMNS`, in order).

        Each figure is the same expression a tick would compute on its own, applied to the
        ticks' arrays element by element, and sums add their terms in the same order: the
        same numbers, tick for tick.
        """
        sc = self.spec
        dt = sc.simulation.tick_days
        nan = float("nan")
        tot = np.array(self.totals)
        tp = np.array(self.tp_rows)
        active_in = np.array(self.seg_rows)[:, :, K.SGA_ACTIVE]
        factor = np.array(self.price_factors)
        company = np.array(self.company, dtype=float)
        offered, sl_sum, asa_sum, occupancy_sum, engagement, attrition, iv_cost, down = (
            company[:, :len(COMPANY_FIGURES)].T)
        on_staff = company[:, len(COMPANY_FIGURES):].astype(np.int64)

        def acc(k: int) -> np.ndarray:
            return tot[:, k]

        def count(x: np.ndarray) -> np.ndarray:  # int() of each
            return x.astype(np.int64)

        def ratio(num, den) -> np.ndarray:  # _ratio of each
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(den > 0, num / den, nan)

        def total(terms) -> np.ndarray:  # sum() of each tick's terms, added in order
            out = np.zeros(len(tot))
            for x in terms:
                out = out + x
            return out

        active, episodes = acc(K.ACC_ACTIVE), acc(K.ACC_EPISODES)
        revenue = total(active_in[:, s] * sp.revenue_per_day * dt * factor[:, s]
                        for s, sp in enumerate(sc.segments.values()))
        contact_cost = total(tp[:, j, K.TPA_VISITS] * t_.cost_per_contact
                             for j, t_ in enumerate(sc.touchpoints.values()))
        staff_cost = total(on_staff[:, k] * t_.fte * t_.wage_per_day * dt
                           for k, t_ in enumerate(sc.teams.values()))
        # the partners' rows hold Python numbers: summed as the builtin sums them
        partner_jobs = np.array([sum(r["jobs"] for r in p.values()) for p in self.partner_rows])
        partner_fail = np.array([sum(r["failures"] for r in p.values())
                                 for p in self.partner_rows])
        partner_cost = np.array([sum(r["cost"] for r in p.values()) for p in self.partner_rows])
        cost = (contact_cost + staff_cost + partner_cost + sc.economics.fixed_cost_per_day * dt
                + sc.economics.acquisition_cost * acc(K.ACC_NEW) + iv_cost)
        staffed = self.staffed_tps
        queued = total(tp[:, j, K.TPA_QUEUED] for j in staffed)
        q_arrivals = total(tp[:, j, K.TPA_VISITS] for j in staffed)
        q_abandon = total(tp[:, j, K.TPA_QUEUE_ABANDON] for j in staffed)
        n_survey = acc(K.ACC_SURVEY_N)
        # nps tick by tick: its (p - d) ** 2 of a number is the C library's power, which an
        # array's ** 2 (a product) misses by a unit in the last place now and then
        nps_sample, nps_se = np.array([
            nps(*x) for x in zip(acc(K.ACC_SURVEY_PROM).tolist(), acc(K.ACC_SURVEY_DET).tolist(),
                                 n_survey.tolist(), strict=True)]).reshape(-1, 2).T
        nps_pop = np.array([nps(*x)[0] for x in zip(
            acc(K.ACC_PROMOTERS).tolist(), acc(K.ACC_DETRACTORS).tolist(), active.tolist(),
            strict=True)])
        initial = self.initial_customers
        with np.errstate(divide="ignore", invalid="ignore"):
            on_time = np.where(partner_jobs > 0, 1.0 - partner_fail / partner_jobs, nan)
        columns = (
            np.array(self.ticks, dtype=np.int64), count(active), count(acc(K.ACC_NEW)),
            count(acc(K.ACC_CHURNED)), ratio(acc(K.ACC_CHURNED), acc(K.ACC_ACTIVE_START)),
            acc(K.ACC_COHORT) / initial if initial > 0 else np.full(len(tot), nan),
            nps_sample,
            ratio(acc(K.ACC_CSAT_SUM), episodes),
            ratio(acc(K.ACC_CES_SUM), episodes),
            ratio(acc(K.ACC_SAT_SUM), active),
            ratio(acc(K.ACC_FCR), episodes),
            ratio(sl_sum, offered),
            ratio(asa_sum, offered),
            ratio(q_abandon, q_arrivals),
            ratio(occupancy_sum, offered),
            engagement, attrition, on_time,
            revenue, cost, revenue - cost, nps_se, nps_pop, count(n_survey),
            count(acc(K.ACC_SURVEY_PROM)), count(acc(K.ACC_SURVEY_DET)),
            count(acc(K.ACC_PROSPECTS)), count(acc(K.ACC_LOST)), count(acc(K.ACC_WON_BACK)),
            count(episodes), count(acc(K.ACC_RESOLVED)), count(acc(K.ACC_ABANDONED)),
            count(acc(K.ACC_ESCALATIONS)), count(acc(K.ACC_FAILURE_DEMAND)),
            ratio(acc(K.ACC_EFFORT_SUM), episodes),
            count(acc(K.ACC_PROMOTERS)), count(acc(K.ACC_DETRACTORS)),
            count(acc(K.ACC_REFERRERS)),
            count(queued), contact_cost, staff_cost, partner_cost, iv_cost,
            count(acc(K.ACC_RECOVERIES)), down,
        )
        return dict(zip(ROW_COLUMNS, columns, strict=True))

    def touchpoints(self) -> pd.DataFrame:
        """Per tick and touchpoint: volume, mean experience, resolutions, failures, waits."""
        names = self.touchpoint_names
        if not self.tp_rows:
            return pd.DataFrame()
        v = np.array(self.tp_rows).reshape(-1, K.N_TPA)  # tick by tick, touchpoint by touchpoint
        n = len(self.tp_rows)
        spec = self.spec.touchpoints
        visits, queued = v[:, K.TPA_VISITS], v[:, K.TPA_QUEUED]
        with np.errstate(divide="ignore", invalid="ignore"):
            experience = np.where(visits != 0, v[:, K.TPA_PERF_SUM] / visits, float("nan"))
            mean_wait = np.where(queued != 0, v[:, K.TPA_WAIT_SUM] / queued, 0.0)
        return pd.DataFrame({
            "tick": np.repeat(np.arange(1, n + 1), len(names)),
            "touchpoint": np.tile(np.array(names, dtype=object), n),
            "channel": np.tile(np.array([spec[x].channel for x in names], dtype=object), n),
            "stage": np.tile(np.array([spec[x].stage for x in names], dtype=object), n),
            "volume": visits.astype(np.int64), "experience": experience,
            "resolved": v[:, K.TPA_RESOLVED].astype(np.int64),
            "failures": v[:, K.TPA_FAILURES].astype(np.int64),
            "queued": queued.astype(np.int64),
            "queue_abandoned": v[:, K.TPA_QUEUE_ABANDON].astype(np.int64),
            "mean_wait": mean_wait,
            "episodes_ended": v[:, K.TPA_ENDED_HERE].astype(np.int64),
            "episodes_ended_unresolved": v[:, K.TPA_ENDED_BAD].astype(np.int64),
        })

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
        names = self.segment_names
        if not self.seg_rows:
            return pd.DataFrame()
        v = np.array(self.seg_rows).reshape(-1, K.N_SGA)  # tick by tick, segment by segment
        n = len(self.seg_rows)
        initial = np.tile(self.segment_initial, n)
        with np.errstate(divide="ignore", invalid="ignore"):
            retention = np.where(initial != 0, v[:, K.SGA_COHORT] / initial, float("nan"))
        return pd.DataFrame({
            "tick": np.repeat(np.arange(1, n + 1), len(names)),
            "segment": np.tile(np.array(names, dtype=object), n),
            "active": v[:, K.SGA_ACTIVE].astype(np.int64),
            "new": v[:, K.SGA_NEW].astype(np.int64),
            "churned": v[:, K.SGA_CHURNED].astype(np.int64),
            "retention": retention,
        })

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
