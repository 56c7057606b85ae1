"""The metric vocabulary: every metric of a run declared once.

A :class:`Metric` says what a number is called (``name`` in files, ``label`` and ``short`` on
figures and in text tables), its ``unit``, how it aggregates over a run or a window of days
(:class:`Aggregation`), how it is printed (``fmt`` and ``digits``) and which direction is good.
Everything that names, summarises, prints or plots metrics reads this table: the model's
contract columns (:data:`CONTRACT_COLUMNS`), :func:`cxsim.metrics.summarise` and
:func:`cxsim.metrics.aggregate`, ``cxsim compare`` and ``cxsim sweep``, the figures, the
command line and the workshop app.  Adding a metric is one entry here plus the code in the
model that computes its per-tick column.

How a metric aggregates over ticks (``Aggregation.rule``):

- ``sum`` — a *flow*: counted or paid per tick, summed (``new``, ``churned``, ``profit``);
- ``final`` — a *stock*: its value at the last tick (``active``, ``retention``);
- ``mean`` — a per-tick rate averaged over the ticks where it was measured
  (``service_level``: queues with no contacts are not measured; ``measured`` names the
  column that says so when the value itself is always computed, e.g. a team's ``offered``);
- ``weighted`` — a *ratio* pooled over its units: Σ value·weight / Σ weight, e.g. CSAT per
  episode (weight ``episodes``); ``window_days`` restricts a run summary to the last days
  (NPS pooled over the respondents of the last 30 days);
- ``ratio`` — a *ratio of sums*: Σ numerator / Σ denominator (churn rate: customers lost
  per customer at the start of the tick);
- ``derived`` — computed from another metric's run figure (monthly churn from the churn
  rate), so it has no per-tick column.

The declaration order is the order of ``summary.json``; the contract columns keep it.

The tables of the model's parts (``touchpoints.csv``, ``segments.csv``, ``queues.csv``: one
row per tick and segment, touchpoint or team) declare their metrics in :data:`PART_METRICS`
by the same rules; :func:`cxsim.metrics.aggregate_part` aggregates them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: kinds of metric (how a number behaves over time)
KINDS = ("flow", "stock", "ratio")

#: aggregation rules (see the module docstring)
RULES = ("sum", "final", "mean", "weighted", "ratio", "derived")

#: display formats: counts and money with thousands separators, percentages (value × 100),
#: signed points (NPS), plain numbers, seconds
FORMATS = ("count", "currency", "percent", "points", "number", "seconds")

#: which direction is good
DIRECTIONS = ("higher", "lower", "none")

#: where a metric appears: ``contract`` (a fixed column of ``metrics.csv`` and a figure of
#: ``summary.json``), ``summary`` (a run figure beyond the contract), ``tick`` (a per-tick
#: column of ``metrics.csv`` only)
ROLES = ("contract", "summary", "tick")


@dataclass(frozen=True)
class Aggregation:
    """How a metric's per-tick values become one figure for a run or a window of days.

    ``rule`` is one of :data:`RULES`.  ``weight`` is the weight column of ``weighted``;
    ``numerator``/``denominator`` the columns of ``ratio`` (``denominator="active_start"``:
    the active customers at the start of each tick, i.e. the previous tick's ``active``,
    the initial customers for the first); ``window_days`` restricts a run's summary to its
    last days (the last ``max(1, round(window_days / tick_days))`` ticks); ``source`` is the
    metric a ``derived`` figure is computed from; ``measured`` (``mean`` only) the column
    that must be positive for a tick's value to count (a team's service level is computed
    even on a tick without contacts; ``measured="offered"`` leaves those ticks out).
    """

    rule: str
    weight: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    window_days: float | None = None
    source: str | None = None
    measured: str | None = None

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"aggregation rule must be one of {', '.join(RULES)}, "
                             f"got {self.rule!r}")
        if self.rule == "weighted" and not self.weight:
            raise ValueError("a weighted aggregation needs its weight column")
        if self.rule == "ratio" and not (self.numerator and self.denominator):
            raise ValueError("a ratio aggregation needs a numerator and a denominator")
        if self.rule == "derived" and not self.source:
            raise ValueError("a derived aggregation needs its source metric")
        if self.measured and self.rule != "mean":
            raise ValueError("only a mean aggregation has a measured column")

    def describe(self) -> str:
        """The rule in words, e.g. ``"pooled over episodes"``."""
        if self.rule == "sum":
            return "summed over ticks"
        if self.rule == "final":
            return "value at the last tick"
        if self.rule == "mean":
            if self.measured:
                return f"mean over the ticks where {self.measured} > 0"
            return "mean over the ticks where measured"
        if self.rule == "weighted":
            where = (f" over the last {self.window_days:g} days" if self.window_days
                     else "")
            return f"pooled over {self.weight}{where}"
        if self.rule == "ratio":
            return f"sum of {self.numerator} / sum of {self.denominator}"
        return f"derived from {self.source}"


SUM = Aggregation("sum")
FINAL = Aggregation("final")
MEAN = Aggregation("mean")
PER_EPISODE = Aggregation("weighted", weight="episodes")


@dataclass(frozen=True)
class Metric:
    """One metric: its name, how to show it, how it aggregates.

    ``label``: a title for figures (``"Churned customers"``); ``short``: a compact label for
    text tables (``"churned"``, ``"CSAT (1-5)"``); ``unit``: the unit of one value as shown
    (``"% of episodes"`` for a fraction shown as a percentage); ``diff_unit``: the unit of a
    difference between two values (default: percentage points for percentages, else
    ``unit``); ``digits``: decimals in compact tables (the compare table shows one more for
    percentages, points and plain numbers).
    """

    name: str
    label: str
    short: str
    unit: str
    kind: str
    aggregation: Aggregation
    fmt: str
    digits: int = 0
    good: str = "none"
    role: str = "tick"
    description: str = ""
    diff_unit: str = ""

    def __post_init__(self) -> None:
        for field_name, value, allowed in (("kind", self.kind, KINDS),
                                           ("fmt", self.fmt, FORMATS),
                                           ("good", self.good, DIRECTIONS),
                                           ("role", self.role, ROLES)):
            if value not in allowed:
                raise ValueError(f"metric {self.name}: {field_name} must be one of "
                                 f"{', '.join(allowed)}, got {value!r}")

    @property
    def scale(self) -> float:
        """Factor from the stored value to the shown one (100 for percentages)."""
        return 100.0 if self.fmt == "percent" else 1.0

    @property
    def per_tick(self) -> bool:
        """True if ``metrics.csv`` has a column of this name (not a derived figure)."""
        return self.aggregation.rule != "derived"

    @property
    def in_summary(self) -> bool:
        """True if ``summary.json`` (and the runs tables of compare and sweep) carry it."""
        return self.role in ("contract", "summary")

    @property
    def integer(self) -> bool:
        """True if the run figure is a whole number (counts)."""
        return self.fmt == "count"

    @property
    def thousands(self) -> bool:
        """True if values are shown with thousands separators (counts and money)."""
        return self.fmt in ("count", "currency")

    def tick_title(self) -> str:
        """Title of the per-tick series: ``"Churned customers per tick"`` for a flow."""
        return f"{self.label} per tick" if self.kind == "flow" else self.label

    def tick_unit(self) -> str:
        """Unit of the per-tick series: ``"customers per tick"`` for a flow."""
        return f"{self.unit} per tick" if self.kind == "flow" else self.unit

    def summary_title(self) -> str:
        """Title of the run figure: ``"Churned customers (total)"``, ``"... at the end"``."""
        rule = self.aggregation.rule
        if rule == "sum":
            return f"{self.label} (total)"
        if rule == "final":
            return f"{self.label} at the end"
        if self.aggregation.window_days:
            return f"{self.label} (last {self.aggregation.window_days:g} days)"
        return self.label

    def difference_unit(self) -> str:
        """Unit of a difference of two run figures (``"percentage points"`` for percentages)."""
        if self.diff_unit:
            return self.diff_unit
        return "percentage points" if self.fmt == "percent" else self.unit

    def format(self, value: float | None, *, precise: bool = False,
               signed: bool = False) -> str:
        """The value as text in this metric's format (``"n/a"`` for None or non-finite).

        ``precise`` shows one more decimal for percentages, points and plain numbers (the
        compare table); ``signed`` always shows the sign (a difference), and a count or sum
        of money smaller than 10 keeps one decimal (a difference of −0.3 is not ``-0``).
        """
        if value is None or not math.isfinite(value):
            return "n/a"
        v = float(value) * self.scale
        sign = "+" if signed or self.fmt == "points" else ""
        if self.fmt in ("count", "currency"):
            d = 1 if signed and 0 < abs(v) < 10 else 0
            return f"{v:{sign},.{d}f}"
        d = self.digits + (1 if precise and self.fmt != "seconds" else 0)
        text = f"{v:{sign}.{d}f}"
        if self.fmt == "percent":
            return text + "%"
        if self.fmt == "seconds":
            return text + "s"
        return text


def _m(name: str, label: str, short: str, unit: str, kind: str, aggregation: Aggregation,
       fmt: str, digits: int = 0, good: str = "none", role: str = "tick",
       description: str = "", diff_unit: str = "") -> Metric:
    return Metric(name, label, short, unit, kind, aggregation, fmt, digits, good, role,
                  description, diff_unit)


#: every metric, in the order of ``summary.json`` (the contract columns keep this order)
METRICS: tuple[Metric, ...] = (
    _m("active", "Active customers", "customers (final)", "customers", "stock", FINAL,
       "count", good="higher", role="contract",
       description="customers at the end of the tick"),
    _m("new", "New customers", "new customers", "customers", "flow", SUM, "count",
       good="higher", role="contract",
       description="prospects who became customers (win-back is counted apart)"),
    _m("churned", "Churned customers", "churned", "customers", "flow", SUM, "count",
       good="lower", role="contract", description="customers who left"),
    _m("churn_rate", "Churn rate", "churn rate per tick", "% of customers per tick", "ratio",
       Aggregation("ratio", numerator="churned", denominator="active_start"), "percent", 3,
       good="lower", role="contract",
       description="customers lost per customer active at the start of the tick"),
    _m("monthly_churn", "Monthly churn", "monthly churn", "% of customers per month",
       "ratio", Aggregation("derived", source="churn_rate"), "percent", 2, good="lower",
       role="summary",
       description="the run's churn rate per tick compounded to 30.4 days"),
    _m("annual_retention", "Annual retention", "annual retention", "% of customers per year",
       "ratio", Aggregation("derived", source="monthly_churn"), "percent", 1,
       good="higher", role="summary",
       description="(1 - monthly churn) to the 12th power"),
    _m("retention", "Retention of the starting base", "retention of the starting base",
       "% still active", "stock", FINAL, "percent", 1, good="higher", role="contract",
       description="share of the initial customers still active"),
    _m("nps", "Net Promoter Score", "NPS (last 30 days)", "NPS (−100 to +100)", "ratio",
       Aggregation("weighted", weight="nps_respondents", window_days=30.0), "points", 1,
       good="higher", role="contract", diff_unit="NPS points",
       description="relationship survey: % promoters − % detractors among respondents"),
    _m("nps_respondents", "NPS respondents", "NPS respondents", "respondents", "flow", SUM,
       "count", description="customers who answered the relationship survey"),
    _m("nps_promoters", "NPS survey promoters", "survey promoters", "respondents", "flow",
       SUM, "count",
       description="survey respondents of the tick who answered 9-10 (promoters)"),
    _m("nps_detractors", "NPS survey detractors", "survey detractors", "respondents", "flow",
       SUM, "count",
       description="survey respondents of the tick who answered 0-6 (detractors)"),
    _m("nps_population", "NPS of all customers", "NPS of all customers",
       "NPS (−100 to +100)", "stock", FINAL, "points", 1, good="higher", role="summary",
       diff_unit="NPS points",
       description="what NPS would be if every active customer answered"),
    _m("csat", "Customer satisfaction (CSAT)", "CSAT (1-5)", "mean answer, 1–5", "ratio",
       PER_EPISODE, "number", 2, good="higher", role="contract", diff_unit="CSAT points",
       description="transactional survey after each service episode, 1-5"),
    _m("ces", "Customer effort (CES)", "CES (1-7, 7 = easy)", "mean answer, 1–7 (7 = easy)",
       "ratio", PER_EPISODE, "number", 2, good="higher", role="contract",
       diff_unit="CES points", description="customer effort score per episode, 7 = easy"),
    _m("satisfaction", "Mean satisfaction", "satisfaction (0-1)",
       "latent satisfaction, 0–1", "stock", FINAL, "number", 3, good="higher",
       role="contract", description="mean latent satisfaction of active customers"),
    _m("fcr", "First-contact resolution", "first-contact resolution", "% of episodes",
       "ratio", PER_EPISODE, "percent", 1, good="higher", role="contract",
       description="episodes resolved at their first touchpoint"),
    _m("service_level", "Contact-centre service level", "service level",
       "% answered within target", "ratio", MEAN, "percent", 1, good="higher",
       role="contract", description="contacts answered within the teams' target time"),
    _m("asa", "Average speed of answer", "avg speed of answer", "seconds", "ratio", MEAN,
       "seconds", 1, good="lower", role="contract",
       description="mean wait of answered contacts"),
    _m("abandonment", "Queue abandonment", "queue abandonment", "% of contacts", "ratio",
       MEAN, "percent", 1, good="lower", role="contract",
       description="contacts that hung up while queueing"),
    _m("occupancy", "Agent occupancy", "agent occupancy", "% of staffed time", "ratio",
       MEAN, "percent", 1, role="contract", description="share of staffed time agents work"),
    _m("engagement", "Employee engagement", "engagement (0-1)", "engagement, 0–1", "stock",
       FINAL, "number", 3, good="higher", role="contract",
       description="mean engagement of the employees"),
    _m("attrition", "Staff attrition", "staff attrition", "leavers per head count", "flow",
       SUM, "number", 2, good="lower", role="contract",
       description="employees who quit per head count (summed over a year: the annual rate)"),
    _m("partner_on_time", "Partner on-time rate", "partner on time", "% of jobs", "ratio",
       MEAN, "percent", 1, good="higher", role="contract",
       description="partner jobs done right and on time"),
    _m("revenue", "Revenue", "revenue", "currency", "flow", SUM, "currency", good="higher",
       role="contract", description="customers' spend and fees"),
    _m("cost", "Cost incl. interventions", "cost", "currency", "flow", SUM, "currency",
       good="lower", role="contract",
       description="contacts, staff, partners, acquisition, fixed cost and interventions"),
    _m("profit", "Profit", "profit", "currency", "flow", SUM, "currency", good="higher",
       role="contract", description="revenue − cost (net of intervention cost)"),
    _m("episodes", "Service episodes", "service episodes", "episodes", "flow", SUM, "count",
       role="summary", description="service episodes started (needs met or not)"),
    _m("intervention_cost", "Intervention cost", "intervention cost", "currency", "flow",
       SUM, "currency", role="summary",
       description="one-off and running cost of the strategy's interventions"),
    # customer lifetime value (cxsim.clv): expected figures computed at tick 1, every 30
    # days and at the last tick, carried forward in between
    _m("clv", "Customer lifetime value (CLV)", "CLV", "currency per customer", "stock",
       FINAL, "currency", good="higher", role="summary",
       description="mean expected discounted margin of the active customers over their "
       "remaining life (each customer's hazard now held constant; revenue minus contact and "
       "partner cost per customer; economics.discount_rate)"),
    _m("clv_new", "CLV of new customers", "CLV of new customers", "currency per customer",
       "stock", FINAL, "currency", good="higher", role="summary",
       description="expected discounted value at acquisition (first margin + CLV) of the "
       "customers who joined in the last 30 days"),
    _m("cac", "Acquisition cost (CAC)", "CAC", "currency per customer", "stock", FINAL,
       "currency", good="lower", role="summary",
       description="acquisition cost booked per new customer (economics.acquisition_cost)"),
    _m("clv_cac", "CLV:CAC", "CLV:CAC", "CLV per unit of acquisition cost", "stock", FINAL,
       "number", 2, good="higher", role="summary",
       description="CLV of new customers / acquisition cost (n/a when it is 0)"),
    _m("cohort_clv", "Realised CLV of the starting base", "realised CLV (start base)",
       "currency per customer", "flow", SUM, "currency", good="higher", role="summary",
       description="the starting customers' realised margin, discounted to the start, per "
       "starting customer (summed: up to the horizon)"),
    # per-tick columns of metrics.csv beyond the contract and the run figures
    _m("nps_se", "NPS standard error", "NPS standard error", "NPS points", "stock", FINAL,
       "number", 2, description="standard error of the tick's survey NPS"),
    _m("prospects", "Prospects", "prospects", "people", "stock", FINAL, "count",
       description="people in the market who are not customers yet"),
    _m("lost", "Lost customers", "lost customers", "people", "stock", FINAL, "count",
       description="former customers inside the win-back window (market.win_back_months)"),
    _m("won_back", "Won-back customers", "won back", "customers", "flow", SUM, "count",
       good="higher", description="former customers who returned"),
    _m("resolved", "Resolved episodes", "resolved episodes", "episodes", "flow", SUM,
       "count", good="higher", description="episodes that met the need"),
    _m("abandoned", "Abandoned episodes", "abandoned episodes", "episodes", "flow", SUM,
       "count", good="lower", description="episodes the customer gave up on"),
    _m("escalations", "Escalations", "escalations", "hand-offs", "flow", SUM, "count",
       good="lower", description="hand-offs from one touchpoint to another"),
    _m("failure_demand", "Failure demand", "failure demand", "episodes", "flow", SUM,
       "count", good="lower",
       description="episodes caused by an earlier failure (repeat contacts)"),
    _m("effort", "Customer effort", "effort", "effort per episode", "ratio", PER_EPISODE,
       "number", 2, good="lower", description="mean latent effort per episode"),
    _m("promoters", "Promoters", "promoters", "customers", "stock", FINAL, "count",
       good="higher", description="active customers who would score 9-10"),
    _m("detractors", "Detractors", "detractors", "customers", "stock", FINAL, "count",
       good="lower", description="active customers who would score 0-6"),
    _m("referrers", "Referrers", "referrers", "customers", "stock", FINAL, "count",
       good="higher", description="customers who recommend to their contacts"),
    _m("queued", "Queued contacts", "queued contacts", "contacts", "flow", SUM, "count",
       description="contacts that waited in a staffed queue"),
    _m("contact_cost", "Contact cost", "contact cost", "currency", "flow", SUM, "currency",
       good="lower", description="cost per visit of the touchpoints"),
    _m("staff_cost", "Staff cost", "staff cost", "currency", "flow", SUM, "currency",
       good="lower", description="wages of the teams"),
    _m("partner_cost", "Partner cost", "partner cost", "currency", "flow", SUM, "currency",
       good="lower", description="partners' fees"),
    _m("recoveries", "Service recoveries", "service recoveries", "episodes", "flow", SUM,
       "count", description="detractors reached by service recovery after an episode"),
    _m("systems_down", "Systems down", "systems down", "systems", "stock", MEAN, "count",
       good="lower", description="IT systems out of service (over the tick: a system down "
       "half of it counts 0.5)"),
)

# ---- issue 17: metrics of optional features ------------------------------------------------
#: metrics a model writes only when a scenario switches their feature on (the key: the
#: scenario section with ``enabled = true``): declared like the rest, in ``metrics.csv``,
#: ``summary.json`` and compare when written, and absent otherwise, so the tables of a
#: scenario without the feature keep their columns
FEATURE_METRICS: dict[str, tuple[Metric, ...]] = {
    "reputation": (
        _m("rating", "Public rating", "rating (1-5 stars)", "stars, 1–5", "stock", FINAL,
           "number", 2, good="higher", role="summary", diff_unit="stars",
           description="weighted mean stars of the customers' reviews, the newest weighing "
           "most (reputation.half_life_days)"),
        _m("reviews", "Reviews posted", "reviews", "reviews", "flow", SUM, "number", 1,
           role="summary",
           description="expected reviews posted: a share of the episodes that leave a "
           "customer a promoter, passive or detractor"),
        _m("marketing_factor", "Marketing reach from the rating",
           "marketing × rating", "× market.p", "ratio", MEAN, "number", 3, good="higher",
           role="summary",
           description="factor the rating applies to marketing (Bass p) in the tick, "
           "exp(p_elasticity × (rating − reference))"),
    ),
}


def feature_metrics(columns=None) -> tuple[Metric, ...]:
    """The optional features' metrics, in declaration order; only those in ``columns`` if given."""
    every = tuple(m for ms in FEATURE_METRICS.values() for m in ms)
    return every if columns is None else tuple(m for m in every if m.name in columns)


def enabled_feature_metrics(scenario) -> tuple[Metric, ...]:
    """The metrics of the features ``scenario`` switches on (``[section] enabled = true``)."""
    return tuple(m for section, ms in FEATURE_METRICS.items()
                 if getattr(getattr(scenario, section, None), "enabled", False) for m in ms)


#: metric by name (the optional features' too)
BY_NAME: dict[str, Metric] = {m.name: m for m in (*METRICS, *feature_metrics())}

# ---- proactive retention (cxsim.retention): columns of metrics.csv and figures of
# summary.json only in a run whose strategy has a proactive_retention intervention; each
# is the wave's figure on the tick of a wave (the realised AUC once its period is over)
_CONTACTS = Aggregation("weighted", weight="retention_contacts")
_PAIRS = Aggregation("weighted", weight="retention_auc_pairs")
_SCORED = Aggregation("weighted", weight="retention_scored")
RETENTION_METRICS: tuple[Metric, ...] = (
    _m("retention_scored", "Customers scored", "customers scored", "customers", "flow", SUM,
       "count", description="customers scored by churn risk in the tick's retention wave"),
    _m("retention_contacts", "Retention contacts", "retention contacts", "customers", "flow",
       SUM, "count", role="summary",
       description="customers reached by proactive retention (the top share by score)"),
    _m("retention_at_risk", "Expected churners reached", "expected churners reached",
       "customers", "flow", SUM, "number", 1,
       description="sum over the reached of the churn probability over the scoring period"),
    _m("retention_precision", "Precision at k", "precision at k", "% of contacts", "ratio",
       _CONTACTS, "percent", 1, good="higher", role="summary",
       description="expected share of the reached who would churn within the scoring period"),
    _m("retention_lift", "Lift at k", "lift at k", "x base rate", "ratio", _CONTACTS,
       "number", 2, good="higher", role="summary",
       description="precision at k over the scored customers' mean churn probability"),
    _m("retention_saves", "Expected saves", "expected saves", "customers", "flow", SUM,
       "number", 1, good="higher", role="summary",
       description="churn probability the offers remove over their window, summed"),
    _m("retention_saves_random", "Saves of random outreach", "saves of random outreach",
       "customers", "flow", SUM, "number", 1, role="summary",
       description="expected saves of a uniformly random contact list of the same size"),
    _m("retention_offer_cost", "Retention offer cost", "retention offer cost", "currency",
       "flow", SUM, "currency", good="lower", role="summary",
       description="offer cost of the contacts (part of the intervention cost)"),
    _m("retention_cost_per_save", "Cost per save", "cost per save", "currency", "ratio",
       Aggregation("weighted", weight="retention_saves"), "currency", good="lower",
       role="summary", description="retention offer cost per expected save"),
    _m("retention_auc_pairs", "AUC pairs", "AUC pairs", "pairs", "flow", SUM, "number",
       description="churner-stayer pairs among the scored customers not reached"),
    _m("retention_auc", "Achieved AUC", "achieved AUC", "AUC", "ratio", _PAIRS, "number", 3,
       good="higher", role="summary",
       description="the score's AUC on the realised churn of the scored customers not "
       "reached, over the scoring period (pooled over the waves)"),
    _m("retention_auc_expected", "Expected AUC (not reached)", "expected AUC (not reached)",
       "AUC", "ratio", _PAIRS, "number", 3, role="summary",
       description="the same AUC expected from the hazards (weights: churn probabilities)"),
    _m("retention_auc_model", "Expected AUC of the score", "expected AUC of the score",
       "AUC", "ratio", _SCORED, "number", 3, role="summary",
       description="expected AUC of the score over all scored customers (the target, "
       "unless capped at the oracle's)"),
    _m("retention_auc_oracle", "Oracle AUC", "oracle AUC", "AUC", "ratio", _SCORED,
       "number", 3, role="summary",
       description="expected AUC of a perfect score (the true hazard): churn is a coin flip"),
)
BY_NAME.update({m.name: m for m in RETENTION_METRICS})
#: run figures of a feature that only a run using it has (summary.json carries them then)
OPTIONAL_SUMMARY: tuple[str, ...] = tuple(m.name for m in RETENTION_METRICS if m.in_summary)

#: the metric columns of ``metrics.csv`` that never change meaning, in order (``tick`` first)
CONTRACT_COLUMNS: tuple[str, ...] = ("tick", *(m.name for m in METRICS if m.role == "contract"))

#: the run figures of ``summary.json`` (after its descriptors), in order
SUMMARY_METRICS: tuple[str, ...] = tuple(m.name for m in METRICS if m.in_summary)

#: the metrics ``cxsim compare`` compares: the contract, then the reporting extras
COMPARED: tuple[str, ...] = (
    *(m.name for m in METRICS if m.role == "contract"),
    "monthly_churn", "annual_retention", "intervention_cost",
    "clv", "clv_new", "clv_cac", "cohort_clv",  # customer lifetime value (cxsim.clv)
)

#: every run figure a sweep records, compared ones first
OUTCOMES: tuple[str, ...] = tuple(dict.fromkeys([*COMPARED, *SUMMARY_METRICS]))

#: per-tick columns kept from every run of compare and sweep: the per-tick compared
#: metrics and the weights their aggregation needs, in declaration order
RUN_TICK_COLUMNS: tuple[str, ...] = ("tick", *(
    m.name for m in METRICS
    if m.per_tick and (m.name in COMPARED or any(BY_NAME[c].aggregation.weight == m.name
                                                 for c in COMPARED))))

#: the headline figures of a run (printed by compare, analysed by default in sweeps)
HEADLINE: tuple[str, ...] = ("active", "churned", "monthly_churn", "nps", "csat",
                             "service_level", "revenue", "profit")


#: what each run figure means, in one line of plain language for readers of a report (a
#: manager, not a modeller); ``Metric.description`` says how the model computes it.
#: :func:`plain` falls back to the description for a metric not listed here.
PLAIN: dict[str, str] = {
    "active": "How many customers the business has at the end of the run.",
    "new": "Prospects won as new customers during the run (returning customers not "
           "included).",
    "churned": "Customers who left during the run.",
    "churn_rate": "Share of customers lost per day (or per time step of the model).",
    "monthly_churn": "Share of customers lost in a typical month, at the run's pace of "
                     "losses.",
    "annual_retention": "Share of customers who would still be customers after a year if "
                        "the run's pace of losses held all year.",
    "retention": "Share of the customers at the start who are still customers at the end.",
    "nps": "Net Promoter Score from the survey: % who would recommend (9-10) minus % who "
           "would not (0-6), over the last 30 days; from −100 to +100.",
    "nps_population": "The NPS if every customer answered the survey (no sampling error).",
    "csat": "Average answer to 'how satisfied were you?' after a service contact, 1 (very "
            "unhappy) to 5 (very happy).",
    "ces": "Average answer to 'how easy was it?' after a service contact, 1 (very hard) "
           "to 7 (very easy).",
    "satisfaction": "How satisfied customers feel overall, on the model's 0 to 1 scale.",
    "fcr": "Share of customer needs solved at the first place the customer tried, without "
           "being passed on.",
    "service_level": "Share of calls and chats answered within the target waiting time.",
    "asa": "How long an answered caller waits on average before someone picks up.",
    "abandonment": "Share of callers who hang up before being answered.",
    "occupancy": "Share of paid time the contact-centre staff spend handling contacts.",
    "engagement": "How engaged the staff are, on the model's 0 to 1 scale.",
    "attrition": "Staff who quit, per member of staff, over the run (over a year: the "
                 "yearly staff turnover).",
    "partner_on_time": "Share of partner jobs (e.g. deliveries) done right and on time.",
    "revenue": "Money customers paid during the run.",
    "cost": "Everything the business spent during the run, including the strategy's own "
            "cost.",
    "profit": "Revenue minus cost over the run, after paying for the strategy.",
    "episodes": "Times customers came with a need (to buy, get help, pay, ...).",
    "intervention_cost": "What the strategy itself cost during the run (training, fees, "
                         "projects).",
    "clv": "What an average customer is expected to be worth from now on: the margin they "
           "will bring while they stay, discounted to today's money.",
    "clv_new": "What a newly won customer is expected to be worth over their life, in "
               "today's money.",
    "cac": "What winning one new customer costs.",
    "clv_cac": "How many times a new customer's expected worth covers what winning them "
               "cost (3 or more is the usual rule of thumb).",
    "cohort_clv": "Margin the customers at the start actually brought during the run, per "
                  "starting customer, in today's money.",
}


def plain(name: str) -> str:
    """One plain-language line saying what metric ``name`` means (:data:`PLAIN`).

    Falls back to the metric's :attr:`Metric.description`; ``""`` for an unknown name.
    """
    if name in PLAIN:
        return PLAIN[name]
    m = BY_NAME.get(name)
    if m is None or not m.description:
        return ""
    return m.description[0].upper() + m.description[1:] + "."


# --------------------------------------------------------------------------------------------
# The metrics of the model's parts
# --------------------------------------------------------------------------------------------

#: the parts of the model with a table of their own; each name is also the column of that
#: table holding the part's name (``RunResult.segments``, ``.touchpoints``, ``.queues``)
PART_KINDS: tuple[str, ...] = ("segment", "touchpoint", "team")

#: a team's Erlang figures are computed every tick; a tick without contacts is not measured
_MEASURED = Aggregation("mean", measured="offered")


def _part(*metrics: Metric) -> dict[str, Metric]:
    return {m.name: m for m in metrics}


#: the metrics of each part's per-tick table, by part kind then name, with the rules of
#: :data:`METRICS`: a name the main table also has aggregates the same way (a segment's
#: ``active`` is final like the whole market's, its ``churn_rate`` churned over the segment's
#: active customers at the start of each tick, a team's ``service_level`` the mean over the
#: ticks with contacts like the contact centre's)
PART_METRICS: dict[str, dict[str, Metric]] = {
    "segment": _part(
        _m("active", "Active customers", "customers (final)", "customers", "stock", FINAL,
           "count", good="higher", description="customers of the segment at the end of the "
           "tick"),
        _m("new", "New customers", "new customers", "customers", "flow", SUM, "count",
           good="higher", description="prospects who became customers of the segment"),
        _m("churned", "Churned customers", "churned", "customers", "flow", SUM, "count",
           good="lower", description="customers of the segment who left"),
        _m("churn_rate", "Churn rate", "churn rate per tick", "% of customers per tick",
           "ratio", Aggregation("ratio", numerator="churned", denominator="active_start"),
           "percent", 3, good="lower",
           description="customers lost per customer of the segment active at the start of "
           "the tick (the previous tick's active; the segment's initial customers for the "
           "first)"),
        _m("monthly_churn", "Monthly churn", "monthly churn", "% of customers per month",
           "ratio", Aggregation("derived", source="churn_rate"), "percent", 2, good="lower",
           description="the segment's churn rate per tick compounded to 30.4 days"),
        _m("annual_retention", "Annual retention", "annual retention",
           "% of customers per year", "ratio", Aggregation("derived", source="monthly_churn"),
           "percent", 1, good="higher", description="(1 - monthly churn) to the 12th power"),
        _m("retention", "Retention of the starting base", "retention of the starting base",
           "% still active", "stock", FINAL, "percent", 1, good="higher",
           description="share of the segment's initial customers still active"),
        _m("clv", "Customer lifetime value (CLV)", "CLV", "currency per customer", "stock",
           FINAL, "currency", good="higher",
           description="mean expected discounted CLV of the segment's active customers "
           "(cxsim.clv: at tick 1, every 30 days and the last tick, carried forward)"),
    ),
    "touchpoint": _part(
        _m("volume", "Visits", "visits", "visits", "flow", SUM, "count",
           description="visits (contacts) at the touchpoint"),
        _m("resolved", "Resolved visits", "resolved visits", "visits", "flow", SUM, "count",
           good="higher", description="visits that resolved the need"),
        _m("failures", "Failures", "failures", "visits", "flow", SUM, "count", good="lower",
           description="visits that failed (a partner's job not done right and on time)"),
        _m("queued", "Queued contacts", "queued contacts", "contacts", "flow", SUM, "count",
           description="contacts that waited in the touchpoint's staffed queue"),
        _m("queue_abandoned", "Abandoned contacts", "abandoned contacts", "contacts", "flow",
           SUM, "count", good="lower", description="contacts that hung up while queueing"),
        _m("episodes_ended", "Episodes ended", "episodes ended", "episodes", "flow", SUM,
           "count", description="service episodes that ended at the touchpoint"),
        _m("episodes_ended_unresolved", "Episodes ended unresolved",
           "episodes ended unresolved", "episodes", "flow", SUM, "count", good="lower",
           description="service episodes that ended at the touchpoint without meeting the "
           "need"),
        _m("experience", "Experience", "experience (0-1)", "mean experience, 0–1", "ratio",
           Aggregation("weighted", weight="volume"), "number", 3, good="higher",
           description="mean experience of the visits"),
        _m("mean_wait", "Mean wait", "mean wait", "minutes", "ratio",
           Aggregation("weighted", weight="queued"), "number", 2, good="lower",
           description="mean wait of the contacts that queued (minutes)"),
    ),
    "team": _part(
        _m("offered", "Offered contacts", "offered contacts", "contacts", "flow", SUM,
           "count", description="contacts the team's queue was solved for: the day's "
           "expected arrivals plus the backlog carried in (a backlog carried over several "
           "ticks counts in each)"),
        _m("arrivals", "Arriving contacts", "arriving contacts", "contacts", "flow", SUM,
           "count", description="contacts that arrived at the team's touchpoints"),
        _m("offered_actual", "Offered contacts (actual)", "offered contacts (actual)",
           "contacts", "flow", SUM, "count",
           description="arriving contacts plus the backlog carried in"),
        _m("served", "Served contacts", "served contacts", "contacts", "flow", SUM, "count",
           good="higher", description="contacts the team answered"),
        _m("abandoned", "Abandoned contacts", "abandoned contacts", "contacts", "flow", SUM,
           "count", good="lower", description="contacts that hung up while queueing"),
        _m("capacity", "Capacity", "capacity", "contacts", "flow", SUM, "count",
           description="contacts the agents on shift could answer"),
        _m("backlog", "Backlog", "backlog", "contacts", "stock", FINAL, "count",
           good="lower", description="contacts carried into the next tick"),
        _m("abandonment", "Queue abandonment", "queue abandonment", "% of contacts", "ratio",
           Aggregation("mean", measured="arrivals"), "percent", 1, good="lower",
           description="abandoned / arriving contacts of the tick (as the main table's "
           "abandonment: computed from the queues table's columns)"),
        _m("service_level", "Service level", "service level", "% answered within target",
           "ratio", _MEASURED, "percent", 1, good="higher",
           description="contacts answered within the team's target time (Erlang A)"),
        _m("asa", "Average speed of answer", "avg speed of answer", "seconds", "ratio",
           _MEASURED, "seconds", 1, good="lower",
           description="mean wait of answered contacts (Erlang A)"),
        _m("p_wait", "Probability of waiting", "P(wait)", "% of contacts", "ratio",
           _MEASURED, "percent", 1, good="lower",
           description="share of contacts that wait at all (Erlang A)"),
        _m("p_abandon", "Probability of abandoning", "P(abandon)", "% of contacts", "ratio",
           _MEASURED, "percent", 1, good="lower",
           description="share of contacts that hang up while queueing (Erlang A)"),
        _m("occupancy", "Agent occupancy", "agent occupancy", "% of staffed time", "ratio",
           _MEASURED, "percent", 1, description="share of staffed time agents work "
           "(Erlang A)"),
        _m("occupancy_actual", "Agent occupancy (actual)", "agent occupancy (actual)",
           "% of staffed time", "ratio", Aggregation("mean", measured="agents"), "percent",
           1, description="served contacts' handling time over the agents' open time"),
        _m("handle_time", "Handle time", "handle time", "minutes", "stock", MEAN, "number",
           2, good="lower", description="mean handling time of a contact (minutes)"),
        _m("agents", "Agents on duty", "agents on duty", "full-time equivalents", "stock",
           MEAN, "count", description="full-time equivalents on shift while open (scale "
           "with the market)"),
        _m("fte", "Full-time equivalents", "FTE", "full-time equivalents", "stock", MEAN,
           "count", description="full-time equivalents present (scale with the market)"),
        _m("headcount", "Head count", "head count", "employees", "stock", MEAN, "count",
           description="employees on staff at the end of the tick (employee agents: they "
           "do not scale with the market)"),
        _m("headcount_start", "Head count at the start", "head count at start",
           "employees", "stock", MEAN, "count",
           description="employees on staff at the start of the tick"),
        _m("vacancies", "Vacancies", "vacancies", "posts", "stock", MEAN, "count",
           good="lower", description="posts of leavers not filled yet"),
        _m("leavers", "Leavers", "leavers", "employees", "flow", SUM, "count", good="lower",
           description="employees who quit"),
        _m("hires", "Hires", "hires", "employees", "flow", SUM, "count",
           description="replacements who started"),
        _m("skill", "Skill", "skill (0-1)", "skill, 0–1", "stock", FINAL, "number", 3,
           good="higher", description="mean skill of the employees present"),
        _m("engagement", "Employee engagement", "engagement (0-1)", "engagement, 0–1",
           "stock", FINAL, "number", 3, good="higher",
           description="mean engagement of the employees present"),
        _m("burnout", "Burnout", "burnout (0-1)", "burnout, 0–1", "stock", FINAL, "number",
           3, good="lower", description="mean burnout of the team's employees"),
    ),
}

#: per-tick columns of a part table computed from two others, ``numerator / denominator``
#: (NaN where the denominator is 0): a team's abandonment, as the main table computes its
#: own from the touchpoints' queue abandons and visits
PART_COMPUTED: dict[tuple[str, str], tuple[str, str]] = {
    ("team", "abandonment"): ("abandoned", "arrivals"),
}


def part_metric(kind: str, name: str) -> Metric:
    """The declared metric ``name`` of a part ``kind``; KeyError naming the known ones."""
    if kind not in PART_METRICS:
        raise KeyError(f"unknown part {kind!r} (known: {', '.join(PART_KINDS)})")
    try:
        return PART_METRICS[kind][name]
    except KeyError:
        raise KeyError(f"unknown {kind} metric {name!r} "
                       f"(known: {', '.join(PART_METRICS[kind])})") from None


def metric(name: str) -> Metric:
    """The declared metric ``name``; KeyError naming the known metrics otherwise."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r} (known: {', '.join(BY_NAME)})") from None


def label(name: str) -> str:
    """The figure label of a metric, or ``name`` itself if it is not declared."""
    m = BY_NAME.get(name)
    return m.label if m is not None else name


def format_value(name: str, value: float | None, *, precise: bool = False,
                 signed: bool = False) -> str:
    """``value`` of metric ``name`` as text (:meth:`Metric.format`; ``{:.4g}`` if undeclared)."""
    m = BY_NAME.get(name)
    if m is not None:
        return m.format(value, precise=precise, signed=signed)
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:{'+' if signed else ''}.4g}"


# --------------------------------------------------------------------------------------------
# Display: names, units and axes on figures
# --------------------------------------------------------------------------------------------

#: the currency of money figures when a scenario does not name one (the shipped scenarios'
#: prices are in euros)
DEFAULT_CURRENCY = "€"


def is_currency(value: object) -> bool:
    """Whether ``value`` is a currency label: 1 to 8 printable characters, no padding.

    The one rule for ``economics.currency`` in a scenario and for the currency a results
    folder records.
    """
    return (isinstance(value, str) and 0 < len(value) <= 8 and value.isprintable()
            and value == value.strip() and bool(value))

#: the natural range of bounded scores, in shown units: a figure's axis spans it, so a
#: change of 0.01 in satisfaction looks like one (percentages start at 0, counts too)
BANDS: dict[str, tuple[float, float]] = {
    "satisfaction": (0.0, 1.0), "csat": (1.0, 5.0), "ces": (1.0, 7.0),
    "nps": (-100.0, 100.0), "nps_population": (-100.0, 100.0), "experience": (0.0, 1.0),
    "engagement": (0.0, 1.0), "skill": (0.0, 1.0), "burnout": (0.0, 1.0),
    "rating": (1.0, 5.0),
}

#: words written in capitals when a name is shown
ACRONYMS = {"ivr": "IVR", "sla": "SLA", "it": "IT", "kb": "KB", "faq": "FAQ", "sms": "SMS",
            "api": "API", "atm": "ATM", "ota": "OTA", "tv": "TV", "nps": "NPS",
            "csat": "CSAT", "ces": "CES", "fcr": "FCR", "crm": "CRM", "vip": "VIP",
            "asa": "ASA", "fte": "FTE", "ai": "AI", "id": "ID", "pos": "POS"}

#: sections of a scenario whose entries are named (``touchpoints.chat.quality``)
NAMED_SECTIONS = ("touchpoints", "teams", "segments", "systems", "partners", "strategies",
                  "needs", "channels")


def pretty_name(name: str) -> str:
    """A snake_case or kebab-case name as words: ``"contact_centre"`` → ``"Contact centre"``.

    The first word is capitalised, known acronyms are written in capitals (``"fix_ivr"`` →
    ``"Fix IVR"``); a name with capitals or spaces already is kept as given.
    """
    text = str(name)
    if not text or any(c.isupper() or c.isspace() for c in text):
        return text
    words = [w for w in text.replace("-", "_").split("_") if w]
    if not words:
        return text
    words = [ACRONYMS.get(w, w) for w in words]
    first = words[0]
    words[0] = first if first.isupper() else first[:1].upper() + first[1:]
    return " ".join(words)


def param_label(path: str) -> str:
    """A parameter path for people: ``"touchpoints.chat.quality"`` → ``"Chat: quality"``.

    Entries of named sections show their name then the field; other sections their own
    name (``"market.size"`` → ``"Market: size"``); a single word is prettified
    (``"strategy"`` → ``"Strategy"``).
    """
    parts = [p for p in str(path).split(".") if p]
    if len(parts) <= 1:
        return pretty_name(str(path))
    if parts[0] in NAMED_SECTIONS and len(parts) >= 3:
        head, rest = parts[1], parts[2:]
    else:
        head, rest = parts[0], parts[1:]
    field = " ".join(pretty_name(r).lower() if r.lower() not in ACRONYMS else ACRONYMS[r]
                     for r in rest)
    return f"{pretty_name(head)}: {field}"


def per_time(tick_days: float) -> str:
    """``"per day"`` for daily ticks, else ``"per 7 days"``: the length of one tick."""
    if tick_days == 1:
        return "per day"
    return f"per {tick_days:g} days" if tick_days != 7 else "per week"


def window_text(ticks: int, tick_days: float) -> str:
    """A window of ``ticks`` ticks in days, as an adjective: ``"7-day"``."""
    return f"{ticks * tick_days:g}-day"


def display_unit(unit: str, currency: str = DEFAULT_CURRENCY, tick_days: float = 1.0
                 ) -> str:
    """A vocabulary unit as shown: the currency named, ticks as days.

    ``"currency per tick"`` → ``"€ per day"`` (daily ticks); ``"% of customers per tick"``
    → ``"% of customers per week"`` (weekly ticks).
    """
    text = unit.replace("currency", currency or DEFAULT_CURRENCY)
    return text.replace("per tick", per_time(tick_days))


def display_label(name: str) -> str:
    """The figure label of a metric (declared or of a part), else its name as words."""
    m = BY_NAME.get(name)
    if m is None:
        m = next((t[name] for t in PART_METRICS.values() if name in t), None)
    return m.label if m is not None else pretty_name(name)


def axis_band(m: Metric) -> tuple[float | None, float | None]:
    """Where a figure's value axis of metric ``m`` should start and end (shown units).

    Bounded scores span their band (:data:`BANDS`); percentages, counts, durations and
    money start at zero (money extends below it when negative: the caller includes the
    data); ``None`` leaves that end to the data.
    """
    if m.name in BANDS:
        return BANDS[m.name]
    if m.fmt == "percent":
        return 0.0, None
    if m.fmt in ("count", "seconds", "currency"):
        return 0.0, None
    if m.unit in ("minutes",):
        return 0.0, None
    return None, None


def colormap(m: Metric, diverging: bool = False) -> str:
    """A matplotlib colour map in which the good end of metric ``m`` is always yellow/green.

    Sequential: ``viridis`` (yellow = high) for higher-is-better, ``viridis_r`` (yellow =
    low) for lower-is-better, ``cividis`` when neither is better.  ``diverging`` (values on
    both sides of zero, e.g. a difference): ``PiYG`` with green for the good side.
    """
    if diverging:
        return "PiYG_r" if m.good == "lower" else ("PiYG" if m.good == "higher" else "PuOr")
    return {"higher": "viridis", "lower": "viridis_r"}.get(m.good, "cividis")


__all__ = ["ACRONYMS", "BANDS", "BY_NAME", "COMPARED", "CONTRACT_COLUMNS", "DEFAULT_CURRENCY",
           "HEADLINE", "METRICS", "OUTCOMES", "PART_COMPUTED", "PART_KINDS", "PART_METRICS",
           "PLAIN", "RUN_TICK_COLUMNS", "SUMMARY_METRICS", "Aggregation", "Metric",
           "axis_band", "colormap", "display_label", "display_unit", "format_value", "label",
           "FEATURE_METRICS", "enabled_feature_metrics", "feature_metrics",
           "metric", "param_label", "part_metric", "per_time", "plain", "pretty_name",
           "window_text"]
