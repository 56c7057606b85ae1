"""Scenario schema: what a cxsim ecosystem is made of, validated with clear errors.

A scenario is plain data.  It is written as a TOML file (see ``scenarios/retail.toml``) or
built in Python from the dataclasses below; either way :meth:`Scenario.from_dict` checks it
and reports *every* problem at once, one line each, with the path to the field::

    touchpoints.chat.quality must be in [0, 1], got 1.7
    pathways[4].to: unknown touchpoint 'fax'
    segments.young: unknown key 'churnn'

Defaults of behavioural constants carry their source next to them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import stat
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .interventions import INTERVENTION_TARGETS as _INTERVENTION_TARGETS
from .limits import MAX_AGENTS, MAX_EPISODES, MAX_INTERVALS
from .vocabulary import DEFAULT_CURRENCY, is_currency

STAGES = ("awareness", "consideration", "purchase", "onboarding", "usage", "support", "renewal")
NETWORKS = ("full", "erdos_renyi", "small_world")
REFERRAL_MODES = ("promoters", "customers")
YEAR_DAYS = 365.0
MONTH_DAYS = YEAR_DAYS / 12.0


#: problems listed at most (a screenful); the rest are counted in one more line
MAX_PROBLEMS = 20


class ScenarioError(ValueError):
    """A scenario failed validation.

    ``all_problems`` holds one message per problem; ``problems`` the first
    :data:`MAX_PROBLEMS` of them, and then one line saying how many more there are.
    """

    def __init__(self, problems: list[str]):
        # one line each, whatever the file's names hold (a key "\n" would break a line)
        self.all_problems = [_one_line(p) for p in problems]
        self.problems = self.all_problems[:MAX_PROBLEMS]
        if len(self.all_problems) > MAX_PROBLEMS:
            more = len(self.all_problems) - MAX_PROBLEMS
            self.problems.append(f"... and {more} more problem{'s' if more > 1 else ''}")
        super().__init__("\n".join(self.problems))


_CONTROL = {c: f"\\x{c:02x}" for c in [*range(32), 127, 0x85]} | {
    0x2028: "\\u2028", 0x2029: "\\u2029",
    ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"}


def _one_line(text: Any) -> str:
    r"""``text`` with control characters written as escapes (``\n``, ``\x1b``, ...)."""
    return str(text).translate(_CONTROL)


def _f(default: Any = dataclasses.MISSING, lo: float | None = None, hi: float | None = None,
       gt: float | None = None, choices: tuple[str, ...] | None = None, doc: str = "",
       factory: Any = None) -> Any:
    """Declare a field with its range (inclusive ``lo``/``hi``, exclusive ``gt``) and doc."""
    meta = {"lo": lo, "hi": hi, "gt": gt, "choices": choices, "doc": doc}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


# --------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Simulation:
    """Length of a run."""

    ticks: int = _f(365, lo=1, hi=100_000, doc="number of ticks simulated")
    # a quarter of an hour is the shortest tick: a year is then 35,040 ticks, within ``ticks``
    tick_days: float = _f(1.0, lo=0.01, hi=366, doc="length of one tick in days")


@dataclass(frozen=True)
class Market:
    """The population of potential customers and how it grows."""

    size: int = _f(100_000, lo=2, hi=50_000_000,
                   doc="agents in the market: prospects, customers and churned together")
    initial_customers: int = _f(40_000, lo=0, hi=50_000_000, doc="customers at tick 0")
    # "stationary": the base a steady inflow of customers leaves behind (tables.
    # stationary_tenure; docs/validation.md, "Steady state"), so churn of the base starts at
    # its steady level; "exponential": tenure ~ Exp(initial_tenure_months).
    initial_tenure: str = _f("exponential", choices=("exponential", "stationary"),
                             doc="tenure of the initial customers: exponential with mean "
                                 "initial_tenure_months, or the stationary tenure of the base")
    initial_tenure_months: float = _f(
        24.0, lo=0, hi=1200,
        doc="mean tenure of the initial customers when initial_tenure is exponential; "
            "0 = all new")
    # Assumption: a century bounds a relationship (a life).  A loyal segment's stationary
    # tenure (shifted-beta-geometric with a = base churn x concentration <= 1) has a tail so
    # long that a 20-year cap cut half of a bank's premier base; the cut customers, the most
    # loyal, then aged in over the run and churn of the base fell for years.
    initial_tenure_cap_months: float = _f(1200.0, gt=0, hi=1200,
                                          doc="longest tenure drawn for an initial customer")
    network: str = _f("small_world", choices=NETWORKS, doc="social network kind")
    mean_degree: float = _f(10.0, gt=0, hi=1000, doc="mean number of social contacts")
    rewiring: float = _f(0.1, lo=0, hi=1, doc="small-world rewiring probability")
    p: float = _f(0.01, lo=0, hi=1, doc="Bass external influence (marketing), per year")
    q: float = _f(0.3, lo=0, hi=100, doc="Bass internal influence (referrals), per year")
    referral_from: str = _f("promoters", choices=REFERRAL_MODES,
                            doc="who refers prospects: promoters only, or every customer")
    represents: int = _f(0, lo=0, hi=50_000_000,
                         doc="size of the market this one is a sample of (0: itself); queues "
                             "are then solved at that market's volume and staffing")
    # A former customer is a rival's customer again: p and q reach them as they reach
    # prospects, so a market whose churn and acquisition balance is stationary (a prospect
    # pool that only emptied would make every scenario drift); win_back adds the company's
    # own win-back offers.
    win_back: float = _f(0.0, lo=0, hi=1,
                         doc="yearly probability that a churned customer returns through "
                             "win-back offers, on top of marketing and referrals (0 = off)")
    # Win-back offers reach recent leavers: a former customer who has not returned within
    # win_back_months is a prospect again (counted in "prospects", a return counts as "new").
    # A market whose win-back pool only filled would drift; with the window it is stationary
    # (docs/validation.md, "Steady state").  Assumption: a year, the horizon the shipped files'
    # win_back rates are quoted over ("return within a year").
    win_back_months: float = _f(12.0, gt=0, hi=1200,
                                doc="months after leaving during which win-back offers reach "
                                    "a former customer; after it they count as prospects")


@dataclass(frozen=True)
class Segment:
    """A customer segment: value, channel habits, needs, patience and loyalty."""

    share: float = _f(lo=0, hi=1, doc="share of the market in this segment")
    revenue_per_day: float = _f(1.0, lo=0, hi=1e6, doc="revenue per active customer per day")
    channel_preference: dict[str, float] = _f(
        factory=dict, lo=0, hi=1000, doc="relative preference weight per channel (missing = 1)")
    need_rates: dict[str, float] = _f(factory=dict, lo=0, hi=100,
                                      doc="expected needs per day by type (a tick has "
                                          "Poisson(rate x tick_days) needs, each an episode)")
    patience: float = _f(1.5, gt=0, hi=1000,
                         doc="effort a customer bears in one episode before giving up")
    queue_patience: float = _f(5.0, gt=0, hi=10_000, doc="mean minutes a customer waits in a queue")
    switching_cost: float = _f(
        0.3, lo=0, hi=1, doc="perceived cost of leaving, 0-1: shifts churn log-odds by "
                             "behaviour.switching_cost_effect per unit above the reference; "
                             "a loyalty programme raises it")
    base_churn: float = _f(0.015, lo=0, hi=1,
                           doc="monthly churn at reference satisfaction, tenure and switching "
                               "cost (behaviour.switching_cost_reference)")
    churn_concentration: float = _f(
        0.0, lo=0, hi=1e6,
        doc="heterogeneity of churn propensity: Beta(a+b) concentration; 0 = none")
    price_sensitivity: float = _f(0.5, lo=0, hi=1, doc="response of churn to price changes")
    contract_months: int = _f(0, lo=0, hi=1200, doc="contract length; 0 = no contract")
    initial_satisfaction: float = _f(0.75, lo=0, hi=1, doc="mean satisfaction at tick 0")
    initial_expectation: float = _f(0.75, lo=0, hi=1, doc="mean expectation at tick 0")


@dataclass(frozen=True)
class Touchpoint:
    """A node of the ecosystem where customers meet the company."""

    channel: str = _f(doc="channel name (web, app, phone, chat, store, delivery, ...)")
    stage: str = _f(choices=STAGES, doc="journey stage")
    quality: float = _f(0.75, lo=0, hi=1, doc="base quality of the experience")
    variability: float = _f(0.1, lo=0, hi=1, doc="standard deviation of the experience")
    effort: float = _f(0.2, lo=0, hi=1, doc="customer effort of one contact, 0-1")
    resolution: float = _f(0.8, lo=0, hi=1, doc="probability a contact resolves the need")
    cost_per_contact: float = _f(0.0, lo=0, hi=1e6, doc="cost to the company of one contact")
    enabled: bool = _f(True, doc="false: exists only once a strategy adds it")


@dataclass(frozen=True)
class Pathway:
    """A hand-off or escalation between touchpoints for unresolved needs."""

    from_: str = _f(doc="touchpoint the customer leaves")
    to: str = _f(doc="touchpoint the customer goes to")
    weight: float = _f(1.0, gt=0, hi=1e6, doc="escalation: relative weight; handoff: probability")
    kind: str = _f("escalation", choices=("escalation", "handoff"),
                   doc="escalation (need unresolved) or handoff (journey continues)")
    needs: list[str] = _f(factory=list, doc="need types it applies to (empty = all)")


@dataclass(frozen=True)
class Need:
    """A type of need and where customers start when they have one."""

    entry: list[str] = _f(factory=list, doc="touchpoints where an episode may start")


@dataclass(frozen=True)
class Team:
    """Employees staffing touchpoints (a contact centre, store staff, ...)."""

    touchpoints: list[str] = _f(factory=list, doc="staffed touchpoints")
    headcount: int = _f(10, lo=0, hi=100_000, doc="employees in the team")
    # Resizing the market (``--customers``) changes ``fte``, never the number of employee
    # agents: the team's people, their learning, burnout and attrition are the same at every
    # market size, and only its capacity (hence the queue) scales with the market.
    fte: float = _f(1.0, gt=0, hi=1e6,
                    doc="full-time employees each employee agent stands for (capacity, "
                        "contacts per person and wages scale with it)")
    shift_hours: float = _f(8.0, gt=0, hi=24, doc="hours each employee works per day")
    open_hours: float = _f(12.0, gt=0, hi=24, doc="hours per day the touchpoints are open")
    handle_time: float = _f(6.0, gt=0, hi=1440, doc="mean handle time of one contact, minutes")
    service_target: float = _f(20.0, lo=0, hi=86_400,
                               doc="service-level target answer time, seconds")
    skill: float = _f(0.6, lo=0, hi=1,
                      doc="the team's stationary mean skill: its mean at tick 0 and, when its "
                          "staff handle the contacts it implies "
                          "(workforce.stationary_learning), throughout")
    engagement: float = _f(0.7, lo=0, hi=1, doc="mean engagement of the team at tick 0")
    wage_per_day: float = _f(150.0, lo=0, hi=1e6, doc="cost per employee per day")
    annual_attrition: float = _f(0.35, lo=0, hi=1,
                                 doc="leavers per average head count per year, at the "
                                     "reference engagement")
    hiring_lag_days: float = _f(30.0, lo=0, hi=3650,
                                doc="days from a leaver to the replacement's start")
    new_hire_skill: float = _f(0.35, lo=0, hi=1,
                               doc="skill of a new hire; with skill, attrition and "
                                   "learning_contacts it sets the contacts per person per "
                                   "day at which the team's skill is stationary")
    # -- intraday queues (cxsim.intraday) --
    # Contacts are not flat over the day: centres see a late-morning peak and a second one
    # after lunch (Gans, Koole & Mandelbaum 2003, "Telephone call centers: tutorial, review
    # and research prospects", section 4; Brown et al. 2005, "Statistical analysis of a
    # telephone call center", arrivals per half hour), and workforce planners staff to the
    # curve per interval (Koole 2013, "Call Center Optimization", ch. 9).  Each interval is
    # its own stationary Erlang A queue (the "stationary independent period by period"
    # approach, Green, Kolesar & Soares 2001).  Empty: one flat day, as without intervals.
    arrival_profile: list[float] = _f(
        factory=list, lo=0, hi=1e9,
        doc="relative arrivals per interval: the open hours split into this many equal "
            "intervals, normalised to shares of the day's contacts (e.g. [1, 2, 1]: a "
            "quarter, a half, a quarter); empty = flat")
    shift_plan: list[float] = _f(
        factory=list, lo=0, hi=1e9,
        doc="relative agents on duty per interval of arrival_profile (same length), "
            "normalised so the day's agent-hours stay headcount x fte x shift_hours (the "
            "same payroll, spread to follow the curve); empty = the day's agents in every "
            "interval")


@dataclass(frozen=True)
class PartnerSpec:
    """An outside company operating touchpoints (courier, installer, reseller)."""

    touchpoints: list[str] = _f(factory=list, doc="touchpoints the partner operates")
    reliability: float = _f(0.95, lo=0, hi=1, doc="probability a job is done right and on time")
    quality: float = _f(0.75, lo=0, hi=1, doc="quality of the partner's work")
    capacity: float = _f(10_000.0, gt=0, hi=1e9, doc="jobs per day before overload")
    cost_per_job: float = _f(0.0, lo=0, hi=1e6, doc="fee per job")


@dataclass(frozen=True)
class System:
    """An IT system that touchpoints depend on."""

    touchpoints: list[str] = _f(factory=list, doc="dependent touchpoints")
    outage_probability: float = _f(0.0, lo=0, hi=1, doc="probability per day an outage starts")
    outage_days: float = _f(1.0, gt=0, hi=3650, doc="mean outage duration in days")
    scheduled_outages: list[list[int]] = _f(
        factory=list, lo=1, doc="[first, last] ticks of planned or staged outages")


@dataclass(frozen=True)
class Workforce:
    """How employees respond to load (the service-profit chain, Heskett et al. 1994)."""

    # Contact-centre practice: sustained occupancy above ~85 % burns agents out (ICMI; Koole
    # 2013, "Call Center Optimization").
    occupancy_threshold: float = _f(0.85, gt=0, hi=1, doc="occupancy above which burnout builds")
    reference_skill: float = _f(0.6, lo=0, hi=1,
                                doc="team skill at which staffed touchpoints perform as given")
    reference_engagement: float = _f(
        0.7, lo=0, hi=1, doc="engagement at which touchpoints perform as given and attrition "
                             "is the team's annual_attrition")
    burnout_gain: float = _f(0.08, lo=0, hi=100, doc="burnout per day per unit of excess occupancy")
    burnout_recovery: float = _f(0.03, lo=0, hi=100,
                                 doc="recovery per day per unit of slack below it")
    engagement_burnout_effect: float = _f(0.5, lo=0, hi=10,
                                          doc="engagement lost per unit of burnout")
    engagement_speed: float = _f(0.05, lo=0, hi=1,
                                 doc="share of the gap to its target engagement closes per day")
    attrition_engagement_effect: float = _f(
        4.0, lo=0, hi=100, doc="quit log-odds per unit of engagement below the reference")
    # Learning curve (Wright 1936 / experience curves): skill approaches 1 with contacts handled.
    # calibrated so a team replacing ~35 % a year with hires at skill 0.35 keeps a roughly
    # steady mean skill near 0.6 at ~16k contacts per agent-year
    # Each team starts in its stationary state (workforce.stationary_learning); a team keeps
    # its stated skill when its staff handle the contacts per day that skill implies.
    learning_contacts: float = _f(75_000.0, gt=0, hi=1e15,
                                  doc="contacts that close 63 % of a person's skill gap")
    handle_time_skill_effect: float = _f(
        0.6, lo=0, hi=10, doc="relative handle-time change per unit of skill below the reference")
    resolution_skill_effect: float = _f(0.25, lo=0, hi=10,
                                        doc="resolution change per unit of skill change")
    # Assumption: shorter than a day's contacts would make the handle time meaningless; a
    # novice is at most ~3x slower than a reference agent (floor 0.3 of the stated time for
    # experts).  Contact-centre speed-to-proficiency studies report 2-3x (ICMI 2018).
    handle_time_floor: float = _f(0.3, gt=0, hi=1,
                                  doc="shortest handle time, as a share of the team's stated one")
    # Assumption: individual differences of +-0.1 around the team's means (a standard
    # deviation of a tenth of the 0-1 scale), centred so the team starts at its stated means.
    skill_spread: float = _f(0.1, lo=0, hi=0.5,
                             doc="spread of individual skill and engagement at tick 0")
    # Assumption: a training programme lifts engagement by half its skill gain while it runs
    # (training as recognition; Harter et al. 2002 report engagement gains from development).
    training_engagement: float = _f(0.5, lo=0, hi=2,
                                    doc="engagement boost per unit of training amount")


@dataclass(frozen=True)
class Operations:
    """The operating environment: omnichannel integration and knowledge base."""

    omnichannel: float = _f(0.3, lo=0, hi=1,
                            doc="context carried across channels: 0 none .. 1 seamless")
    knowledge_base: float = _f(0.5, lo=0, hi=1, doc="quality of the knowledge base, 0-1")
    knowledge_base_effect: float = _f(
        0.2, lo=0, hi=10, doc="resolution change per unit of knowledge-base quality change")


@dataclass(frozen=True)
class Economics:
    """Money that is not per contact or per employee."""

    fixed_cost_per_day: float = _f(0.0, lo=0, hi=1e9, doc="overheads per day")
    acquisition_cost: float = _f(0.0, lo=0, hi=1e6, doc="cost per newly acquired customer")
    discount_rate: float = _f(0.10, lo=0, hi=1, doc="yearly discount rate for CLV and ROI")
    # shown on figures only: money is a number in the scenario's currency whatever its name
    currency: str = _f(DEFAULT_CURRENCY,
                       doc="currency of the scenario's money, as figures label it (a symbol or "
                           "code, e.g. €, $, £, EUR; default €)")


@dataclass(frozen=True)
class Behaviour:
    """How customers turn experiences into satisfaction, talk and churn."""

    # Tversky & Kahneman (1992), cumulative prospect theory: lambda = 2.25, alpha = 0.88.
    loss_aversion: float = _f(2.25, lo=1, hi=100, doc="weight of losses relative to gains")
    value_exponent: float = _f(0.88, gt=0, hi=1, doc="curvature of the value function")
    # Kahneman et al. (1993); Redelmeier & Kahneman (1996): peak-end rule.
    peak_weight: float = _f(0.5, lo=0, hi=1, doc="weight of the most intense moment")
    end_weight: float = _f(0.5, lo=0, hi=1, doc="weight of the last moment")
    memory_half_life: float = _f(
        3.0, gt=0, hi=1e6, doc="episodes after which an experience weighs half in satisfaction")
    # Oliver (1980) expectancy-disconfirmation; adaptation-level theory (Helson 1964).
    expectation_adaptation: float = _f(0.1, lo=0, hi=1,
                                       doc="share of the gap closed per episode")
    effort_weight: float = _f(0.3, lo=0, hi=100, doc="performance lost per unit of effort")
    wait_effort_per_minute: float = _f(0.05, lo=0, hi=100, doc="effort of one minute of waiting")
    failure_penalty: float = _f(0.4, lo=0, hi=1, doc="performance lost when a partner fails")
    unresolved_performance: float = _f(
        0.1, lo=0, hi=1, doc="performance of the moment an episode ends unresolved")
    failure_need: str = _f("support", doc="need a partner failure causes (failure demand)")
    repeat_effort: float = _f(0.15, lo=0, hi=1,
                              doc="effort of repeating oneself after switching channel, with "
                                  "no omnichannel integration")
    # Service recovery (Smith & Bolton 1998; McCollough et al. 2000): a good recovery repairs
    # much, rarely all, of the damage.
    recovery_effect: float = _f(0.5, lo=0, hi=1,
                                doc="share of the satisfaction gap a proactive outreach closes")
    # Churn response to price: log-odds per unit of relative price change at sensitivity 1.
    price_churn_effect: float = _f(3.0, lo=0, hi=100, doc="churn log-odds per +100 % price x "
                                                  "price sensitivity")
    reroute_effort: float = _f(0.2, lo=0, hi=1,
                               doc="extra effort when the preferred entry channel is closed")
    max_steps: int = _f(6, lo=1, hi=20, doc="touchpoints visited at most in one episode")
    # Word of mouth: East, Hammond & Lomax (2008) — negative WOM shifts others' attitudes.
    wom_strength: float = _f(0.02, lo=0, hi=1,
                             doc="pull of a detractor's episode on each contact's expectation")
    # Nitzan & Libai (2011): a defecting neighbour multiplies the hazard by about 1.8.
    # A churn adds 1 to each contact's exposure X from the start of the next tick; X decays
    # continuously, X(s) = X e^{-s ln 2 / half-life}, and multiplies the churn odds by m^X
    # (averaged over each tick).  The half-life is that of the exposure, i.e. of the log of the
    # multiplier, not of the extra hazard m^X - 1: one churn's extra hazard falls from m - 1
    # (0.8) to m^0.5 - 1 (0.34) after one half-life, and halves per half-life once small.
    contagion: float = _f(1.8, gt=0, hi=100,
                          doc="churn odds multiplier per unit of exposure (one fresh churn of "
                              "a contact)")
    contagion_half_life: float = _f(14.0, gt=0, hi=100_000,
                                    doc="days for a churn exposure (the log of its multiplier) "
                                        "to halve")
    satisfaction_effect: float = _f(-6.0, lo=-100, hi=100,
                                    doc="churn log-odds per unit of satisfaction")
    satisfaction_reference: float = _f(0.75, lo=0, hi=1,
                                       doc="satisfaction at which churn is the base rate")
    tenure_effect: float = _f(0.0, lo=-100, hi=100,
                              doc="churn log-odds per log(1 + tenure in years)")
    switching_cost_effect: float = _f(-2.0, lo=-100, hi=100,
                                      doc="churn log-odds per unit of switching cost")
    # Assumption: the default segment's switching cost, so a scenario that never sets one
    # keeps its base_churn as stated.
    switching_cost_reference: float = _f(
        0.3, lo=0, hi=1, doc="switching cost at which segments' base_churn is quoted")
    # Contracts (docs/validation.md, "Contracts"): inside a term churn is shifted by
    # contract_effect; in the term's renewal window (its last renewal_window_months) by
    # renewal_effect instead; terms renew back to back.  Who chooses a long contract
    # (selection) is each segment's own base_churn.  Defaults: a one-month window at the base
    # rate (assumption: notice periods and end-of-term offers run about a month).
    contract_effect: float = _f(-1.5, lo=-100, hi=100,
                                doc="churn log-odds inside a contract term (not its renewal "
                                    "window)")
    renewal_window_months: float = _f(
        1.0, lo=0, hi=1200, doc="months at the end of each contract term in which "
                                "contract_effect is lifted and renewal_effect applies")
    renewal_effect: float = _f(0.0, lo=-100, hi=100,
                               doc="churn log-odds in a contract's renewal window (0 = base "
                                   "rate; > 0: customers shop around at the end of a term)")
    # Latent 0-10 score = 10 * satisfaction + N(0, nps_sd) response style (docs/validation.md).
    nps_sd: float = _f(1.5, gt=0, hi=10, doc="spread of individual response style on 0-10")
    survey_noise: float = _f(0.5, lo=0, hi=10, doc="answer noise on CSAT and CES scales")
    initial_spread: float = _f(0.05, lo=0, hi=0.5,
                               doc="spread of initial satisfaction and expectation")
    staff_quality_effect: float = _f(0.3, lo=0, hi=10,
                                     doc="quality per unit of skill/engagement change")
    partner_quality_effect: float = _f(0.5, lo=0, hi=10,
                                       doc="quality per unit of partner quality change")


@dataclass(frozen=True)
class Survey:
    """How scores are observed."""

    nps_sample_rate: float = _f(1.0, gt=0, hi=1,
                                doc="share of active customers answering the NPS survey per day "
                                    "(a tick collects rate x tick_days answers per customer)")


# ---- issue 17, reputation: a public rating from customers' reviews (cxsim.reputation) -------
@dataclass(frozen=True)
class Reputation:
    """A public rating built from customers' reviews, scaling how well marketing works.

    Off by default: a scenario without ``[reputation] enabled = true`` runs as before.
    """

    enabled: bool = _f(False, doc="build a public rating from reviews and let it scale "
                                  "marketing (market.p, and market.q by q_elasticity)")
    # Post shares: the expected reviews per service episode that leaves the customer in each
    # NPS category (a review is counted as its expectation, share x episodes, no draw).
    # Assumption: 2 % of promoter episodes; posting rates of a few per cent of buyers are what
    # review platforms report.  Dissatisfied customers engage in more word of mouth than
    # satisfied ones, though by less than commonly believed (Anderson 1998, "Customer
    # satisfaction and word of mouth", J. Service Research 1(1)): detractors post 1.5 times as
    # often (assumption on the size).  Customers with moderate views report least (the
    # under-reporting bias behind the J-shaped distribution of reviews: Hu, Pavlou & Zhang
    # 2009, Communications of the ACM 52(10)): passives a quarter as often (assumption).
    promoter_post: float = _f(0.02, lo=0, hi=1,
                              doc="reviews per episode that leaves the customer a promoter")
    passive_post: float = _f(0.005, lo=0, hi=1,
                             doc="reviews per episode that leaves the customer a passive")
    detractor_post: float = _f(0.03, lo=0, hi=1,
                               doc="reviews per episode that leaves the customer a detractor")
    # The J-shaped distribution (Hu, Pavlou & Zhang 2009): reviews are mostly 5 stars, some 1
    # star, few in between; a passive's 7-8 of 10 is about 4 of 5 stars.
    promoter_stars: float = _f(5.0, lo=1, hi=5, doc="stars of a promoter's review (1-5)")
    passive_stars: float = _f(4.0, lo=1, hi=5, doc="stars of a passive's review (1-5)")
    detractor_stars: float = _f(1.0, lo=1, hi=5, doc="stars of a detractor's review (1-5)")
    # Assumption: half a year.  Review sites show the newest reviews first and readers weigh
    # recent ones most; a review's weight halves every half_life_days.
    half_life_days: float = _f(180.0, gt=0, hi=100_000,
                               doc="days after which a review's weight in the rating halves")
    # Assumption: an established business (1 = the reviews a steady flow at the initial
    # customers' experience leaves, so the rating starts where it would be anyway); 0 = a new
    # business without reviews, whose first reviews move the rating at once.
    prior_weight: float = _f(
        1.0, lo=0, hi=100,
        doc="reviews on the platform at the start, as a multiple of the stock the initial "
            "customers' review flow keeps (0 = none yet); they age like every review")
    prior_rating: float = _f(
        0.0, lo=0, hi=5,
        doc="mean stars of the reviews there at the start (1-5); 0 = the mean stars of the "
            "reviews posted in the first prior_days days (the business as described)")
    # Assumption: a month.  At the default post shares a market of 50,000 agents like the
    # retailer's posts about 25 reviews a day; a month of them pins the mean down to a few
    # hundredths of a star, close enough to the start not to take in a later change.
    prior_days: float = _f(30.0, gt=0, hi=3650,
                           doc="days whose reviews give prior_rating when it is 0 (the "
                               "marketing factor is 1 until then if reference_rating is 0)")
    reference_rating: float = _f(
        0.0, lo=0, hi=5,
        doc="rating at which marketing works as market.p says (1-5); 0 = the rating at "
            "tick 0, so the scenario starts as calibrated")
    # Luca (2016), "Reviews, reputation, and revenue: the case of Yelp.com" (HBS working paper
    # 12-016): one more star raises an independent restaurant's revenue by 5-9 %; the midpoint
    # as a log-linear effect on marketing's reach: p x exp(0.07 x (rating - reference)), +7.3 %
    # per star.  Chevalier & Mayzlin (2006, J. Marketing Research 43(3)) find the same sign for
    # book sales.  Revenue includes regulars who read no reviews, so the effect on new
    # customers may be larger: the figure is a conservative reading.
    p_elasticity: float = _f(0.07, lo=0, hi=10,
                             doc="log change of market.p per star above the reference")
    # Assumption: referrals come from people the prospect knows, who need no public rating.
    q_elasticity: float = _f(0.0, lo=0, hi=10,
                             doc="log change of market.q per star above the reference")


@dataclass(frozen=True)
class Intervention:
    """A timed, costed change to the ecosystem (applied by strategies)."""

    type: str = _f(doc="kind of intervention")
    target: str = _f("", doc="name of what it changes (team, touchpoint, partner, ...)")
    start: int = _f(0, lo=0, hi=100_000, doc="tick it starts")
    end: int = _f(-1, lo=-1, hi=100_000, doc="tick it ends (-1 = never)")
    ramp: int = _f(0, lo=0, hi=100_000, doc="ticks to reach full effect")
    cost: float = _f(0.0, lo=0, hi=1e12, doc="one-off cost at start")
    cost_per_tick: float = _f(0.0, lo=0, hi=1e9, doc="running cost per tick while active")
    amount: float = _f(0.0, lo=-1e6, hi=1e6, doc="size of the change, in the type's unit")
    # ---- proactive_retention only (cxsim.retention; amount: the share reached per wave) ----
    # Assumption: 0.75, mid-range of the AUCs of published churn models (about 0.6-0.85 in
    # the telecom benchmark of Verbeke et al. 2012, Eur. J. Oper. Res. 218(1)); capped at
    # the AUC of a perfect score (the true hazard) with a warning
    auc: float = _f(0.75, lo=0.5, hi=1.0,
                    doc="proactive_retention: target AUC of the churn-risk score (0.5: noise)")
    # Assumption: monthly, both for a scoring and outreach wave (the score's scoring period
    # too) and for a voice_of_customer review (the cadence of most closed-loop VoC programmes)
    cadence: float = _f(30.0, lo=0.01, hi=3660.0,
                        doc="proactive_retention: days between waves; voice_of_customer: days "
                            "between reviews of the survey results")
    # Assumption: a retention call (about 5) plus a small incentive (about 5)
    offer_cost: float = _f(10.0, lo=0.0, hi=1e6,
                           doc="proactive_retention: cost per customer reached")
    # Assumption: odds x 0.6 (a churn hazard about 40 % lower while the offer holds); field
    # experiments find effects of this order that vary widely between customers (Ascarza
    # 2018, J. Marketing Research 55(1))
    offer_effect: float = _f(-0.5, lo=-10.0, hi=10.0,
                             doc="proactive_retention: churn log-odds shift while an offer holds")
    # Assumption: a quarter (a typical term of a retention discount)
    offer_days: float = _f(90.0, lo=0.01, hi=3660.0,
                           doc="proactive_retention: days an offer's effect holds")
    # ---- voice_of_customer only (cxsim.voice): a feedback loop that reads each touchpoint's
    # sampled survey rating every `cadence` days, buys floor(budget / cost_per_fix) fixes of
    # the worst-rated touchpoints and applies them `delay` days later; fix k of a touchpoint
    # is amount x returns**(k-1) (quality and resolution up, effort down, as
    # improve_touchpoint).  Refused on every other type.
    # (cadence: declared above, shared with proactive_retention; a monthly review is the
    # cadence of most closed-loop VoC programmes)
    # Assumption: two fixes a cycle at the retailer's scale (a 100,000-agent market); resize
    # scales both with the market, so the number of fixes stays.
    budget: float = _f(50_000.0, lo=0, hi=1e12,
                       doc="voice_of_customer: money for fixes per review")
    cost_per_fix: float = _f(25_000.0, gt=0, hi=1e12,
                             doc="voice_of_customer: cost of one touchpoint fix (booked on the "
                                 "review's tick)")
    # Assumption: a month from decision to a change customers notice (a release cycle, a
    # script and its training).
    delay: float = _f(30.0, lo=0, hi=3660,
                      doc="voice_of_customer: days from a review until its fixes take effect")
    # Assumption: each further fix of the same touchpoint is half the previous one (the first
    # fix removes the largest cause, Pareto-style); 1 = no diminishing returns.
    returns: float = _f(0.5, lo=0, hi=1,
                        doc="voice_of_customer: each further fix of a touchpoint is this "
                            "share of the previous one")
    # Assumption: post-contact (transactional) surveys are answered by roughly 5-15 % of
    # contacts (industry rule of thumb); 10 %.
    response_rate: float = _f(0.1, gt=0, hi=1,
                              doc="voice_of_customer: share of contacts that answer the "
                                  "post-contact survey")
    # "rating": the bottom of the league table (what a CX team reads first); "impact": the
    # expected dissatisfied contacts, (1 - rating) x volume (puts rarely used touchpoints last)
    rank_by: str = _f("rating", choices=("rating", "impact"),
                      doc="voice_of_customer: what ranks touchpoints for fixing")
    # ---- triggers (policies that react; cxsim.triggers): all counts are in ticks.  With
    # ``when`` the intervention is armed from ``start`` (start 0: from the first tick) until
    # ``end`` and fires at the start of a tick when the condition holds over the ``window``
    # ticks before it; each activation lasts ``duration`` ticks (0: until ``end``, or for
    # good), ramps in over ``ramp`` from its own first tick, costs ``cost`` once and
    # ``cost_per_tick`` while it acts; after it ends, ``cooldown`` ticks pass before it may
    # fire again, at most ``max_activations`` times.
    when: str = _f("", doc="condition over metric names that fires it, e.g. "
                   "'service_level < 0.8' ('' = calendar-timed by start and end)")
    # Assumption: a week of daily ticks, the period contact centres report service levels
    # over; one day's figure is too noisy to staff by.
    window: int = _f(7, lo=1, hi=100_000,
                     doc="ticks before today the condition's metrics are aggregated over")
    # Assumption: no pause by default: the condition, not a timer, decides whether to fire.
    cooldown: int = _f(0, lo=0, hi=100_000,
                       doc="ticks after an activation ends before it may fire again")
    # Assumption: unlimited, so a standing policy keeps reacting; duration and cooldown
    # bound how often it can act.
    max_activations: int = _f(0, lo=0, hi=100_000,
                              doc="most activations in a run (0 = no limit)")
    duration: int = _f(0, lo=0, hi=100_000,
                       doc="ticks an activation lasts (0 = until end, or for good)")


@dataclass(frozen=True)
class Strategy:
    """A named set of interventions."""

    description: str = _f("", doc="what the strategy does")
    interventions: list[Intervention] = _f(factory=list, doc="the interventions")


#: Intervention types and the kind of target each needs (declared in cxsim.interventions)
INTERVENTION_TARGETS = _INTERVENTION_TARGETS


@dataclass(frozen=True)
class Scenario:
    """A whole CX ecosystem: market, segments, touchpoints, company side and strategies."""

    name: str = _f("unnamed", doc="scenario name")
    description: str = _f("", doc="what the scenario represents")
    simulation: Simulation = _f(factory=Simulation)
    market: Market = _f(factory=Market)
    segments: dict[str, Segment] = _f(factory=dict)
    touchpoints: dict[str, Touchpoint] = _f(factory=dict)
    pathways: list[Pathway] = _f(factory=list)
    needs: dict[str, Need] = _f(factory=dict)
    teams: dict[str, Team] = _f(factory=dict)
    partners: dict[str, PartnerSpec] = _f(factory=dict)
    systems: dict[str, System] = _f(factory=dict)
    economics: Economics = _f(factory=Economics)
    behaviour: Behaviour = _f(factory=Behaviour)
    workforce: Workforce = _f(factory=Workforce)
    operations: Operations = _f(factory=Operations)
    survey: Survey = _f(factory=Survey)
    strategies: dict[str, Strategy] = _f(factory=dict)
    reputation: Reputation = _f(factory=Reputation)  # issue 17: a public rating (off)

    # ---- construction -----------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict[str, Any], check_horizon: bool = True) -> Scenario:
        """Build and validate a scenario from plain data; raise :class:`ScenarioError`.

        ``check_horizon=False`` skips checking that every strategy starts within the horizon
        (for a run shortened on purpose, where those strategies are simply not used).
        """
        if not isinstance(data, dict):
            raise ScenarioError([f"scenario must be a table, got {_fmt(data)}"])
        problem = _shape_problem(data)
        if problem:
            raise ScenarioError([problem])
        errors: list[str] = []
        scn = _build(cls, data, "", errors)
        # the horizon is only checked against a valid number of ticks (no follow-on errors)
        ticks = data.get("simulation", {}).get("ticks", Simulation.ticks) \
            if isinstance(data.get("simulation", {}), dict) else None
        if not (isinstance(ticks, int) and not isinstance(ticks, bool) and 1 <= ticks):
            check_horizon = False
        # references are checked even when some fields are bad (every problem at once), by the
        # names the data declares, so a dropped invalid item causes no follow-on errors
        known = {sec: set(v) for sec in ("touchpoints", "needs", "teams", "partners",
                                         "segments", "systems")
                 if isinstance(v := data.get(sec, {}), dict)}
        # channels named by any declared touchpoint, even one dropped for another problem
        tps = data.get("touchpoints", {})
        known["channels"] = {t["channel"] for t in tps.values()
                             if isinstance(t, dict) and isinstance(t.get("channel"), str)
                             } if isinstance(tps, dict) else set()
        errors.extend(_cross_check(scn, check_horizon, fields_ok=not errors, known=known))
        if errors:
            raise ScenarioError(errors)
        return scn

    def to_dict(self) -> dict[str, Any]:
        """Return the scenario as plain data (the inverse of :meth:`from_dict`)."""
        return _unbuild(self)

    def validated(self, check_horizon: bool = False) -> Scenario:
        """Return this scenario re-checked (for scenarios built directly in Python)."""
        return Scenario.from_dict(self.to_dict(), check_horizon=check_horizon)

    def with_changes(self, **changes: Any) -> Scenario:
        """Return a copy with top-level fields replaced (dataclasses.replace)."""
        return dataclasses.replace(self, **changes)

    def content_hash(self) -> str:
        """Return a short hash of the scenario's content (for provenance)."""
        text = json.dumps(self.to_dict(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    # ---- convenient views -------------------------------------------------------------
    @property
    def channels(self) -> list[str]:
        """Channels used by the touchpoints, in first-seen order."""
        return list(dict.fromkeys(tp.channel for tp in self.touchpoints.values()))

    @property
    def need_types(self) -> list[str]:
        """Need types, in declaration order."""
        return list(self.needs)


#: largest scenario file read (the shipped ones are under 20 KB)
MAX_SCENARIO_BYTES = 1_000_000
#: deepest nesting of tables and lists in a scenario (the schema needs 4)
MAX_DEPTH = 12
#: most keys, list items and values in a scenario, all levels together
MAX_ENTRIES = 50_000
#: longest name of a key (a segment, touchpoint, strategy, ...)
MAX_KEY_LENGTH = 100


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario TOML file; raise :class:`ScenarioError` on any problem.

    Only regular files up to :data:`MAX_SCENARIO_BYTES` are read (not a folder, a device
    such as ``/dev/zero`` or a named pipe, which could block); nesting deeper than
    :data:`MAX_DEPTH` or more than :data:`MAX_ENTRIES` entries are refused before validation.
    """
    p = find_scenario(path)
    shown = str(p) if len(str(p)) <= 200 else str(p)[:100] + "..." + str(p)[-60:]
    try:
        if not p.exists():
            raise ScenarioError([f"{shown}: no such file"])
        if p.is_dir():
            raise ScenarioError([f"{shown}: is a folder, not a scenario file"])
        if not stat.S_ISREG(p.stat().st_mode):
            raise ScenarioError([f"{shown}: not a regular file (a device, pipe or socket)"])
        with open(p, "rb") as fh:
            raw = fh.read(MAX_SCENARIO_BYTES + 1)
        if len(raw) > MAX_SCENARIO_BYTES:
            raise ScenarioError([f"{shown}: larger than {MAX_SCENARIO_BYTES:,} bytes; a "
                                 f"scenario file is at most that"])
        text = raw.decode("utf-8")
    except OSError as exc:
        raise ScenarioError([f"{shown}: cannot read ({exc.strerror or exc})"]) from None
    except UnicodeDecodeError:
        raise ScenarioError([f"{shown}: not a text file"]) from None
    deep = _deep_dotted_key(text)
    if deep:
        raise ScenarioError([f"{shown}: line {deep}: a key nested deeper than {MAX_DEPTH} "
                             f"levels"])
    try:
        data = tomllib.loads(text)
    except UnicodeDecodeError:
        raise ScenarioError([f"{shown}: not a text file"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([f"{shown}: not valid TOML ({exc})"]) from None
    except RecursionError:
        raise ScenarioError([f"{shown}: nested deeper than {MAX_DEPTH} levels"]) from None
    return Scenario.from_dict(data)


def _deep_dotted_key(text: str) -> int:
    """Line number of a key or table header with more dots than :data:`MAX_DEPTH`, or 0.

    Checked on the text because the TOML parser itself takes seconds and gigabytes on a
    key of tens of thousands of dotted parts.  Only the part before ``=`` counts (values may
    hold dots freely); a quoted key with dots may be refused, which no scenario needs.
    """
    for n, line in enumerate(text.splitlines(), start=1):
        key = line.split("=", 1)[0] if "=" in line else line
        if key.count(".") > MAX_DEPTH:
            return n
    return 0


def _shape_problem(data: Any) -> str | None:
    """A one-line problem if ``data`` is nested too deeply or too big, else ``None``."""
    entries = 0
    stack = [(data, 1, "")]
    while stack:
        value, depth, path = stack.pop()
        if depth > MAX_DEPTH:
            return f"{path or 'scenario'}: nested deeper than {MAX_DEPTH} levels"
        if isinstance(value, dict):
            entries += len(value)
            for k, v in value.items():
                if len(str(k)) > MAX_KEY_LENGTH:
                    return (f"{_join(path, str(k)[:40])}...: a name longer than "
                            f"{MAX_KEY_LENGTH} characters")
                stack.append((v, depth + 1, _join(path, str(k))))
        elif isinstance(value, list):
            entries += len(value)
            stack.extend((v, depth + 1, f"{path}[{i}]") for i, v in enumerate(value))
        if entries > MAX_ENTRIES:
            return f"scenario: more than {MAX_ENTRIES:,} keys and values; a scenario has fewer"
    return None


def scenario_dir() -> Path:
    """Return the folder holding the shipped scenario files."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_scenarios", here.parent / "scenarios"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the shipped scenarios folder is missing")


DEFAULT_SCENARIO = "retail.toml"


def shipped_scenarios() -> list[str]:
    """The names of the shipped scenarios (``retail``, ``telco``, ...), sorted."""
    try:
        folder = scenario_dir()
    except FileNotFoundError:
        return []
    return sorted(p.stem for p in folder.glob("*.toml"))


def find_scenario(path: str | Path) -> Path:
    """The file a scenario argument names: a path that exists, else a shipped scenario.

    ``telco`` (or ``telco.toml``) names the shipped telco scenario unless a file of that name
    exists here; a path that exists always wins.  A bare name that is neither raises
    :class:`ScenarioError` with one line naming it and listing the shipped names; any other
    path is returned as given (reading it then says what is wrong).
    """
    p = Path(path)
    text = str(path)
    try:
        if p.exists() or "/" in text or "\\" in text or not text.strip():
            return p
    except (OSError, ValueError):  # a name the system refuses: reading it says so
        return p
    stem = text[:-len(".toml")] if text.endswith(".toml") else text
    names = shipped_scenarios()
    if stem in names:
        return scenario_dir() / f"{stem}.toml"
    if p.suffix:  # a file name (nowhere.toml): reading it says "no such file"
        return p
    shown = _one_line(text if len(text) <= 60 else text[:40] + "..." + text[-10:])
    raise ScenarioError([f"{shown}: no such file or shipped scenario (shipped: "
                         f"{', '.join(names) or 'none'})"])


def least_market(scenario: Scenario) -> int:
    """The smallest market size (``market.size``) the scenario's other values allow.

    Two agents at least; and with a social network other than ``full``, one more than the
    mean number of contacts (``market.mean_degree``), since nobody can know more people than
    the market holds.  Every other field is scaled or capped by :func:`cxsim.runner.resize`.
    """
    m = scenario.market
    least = 2
    if m.network != "full":
        least = max(least, math.ceil(m.mean_degree - 1e-9) + 1)
    return least


def _days_text(days: float) -> str:
    return f"{days:,.6g}".replace(",", "") if days < 1e6 else f"{days:.6g}"


def size_problems(scenario: Scenario, customers: int | None = None,
                  days: float | None = None) -> list:
    """What is wrong with resizing ``scenario`` to ``customers`` and ``days``, if anything.

    Returns :class:`~cxsim.errors.InputError` objects naming the ``customers`` and ``days``
    arguments as given (the command line words them as ``--customers`` and ``--days``):

    * a market below :func:`least_market`;
    * a horizon that is not a whole number of ticks (``days / tick_days``): the nearest
      valid values are named, nothing is rounded;
    * a horizon longer than ``simulation.ticks`` allows (100,000 ticks).
    """
    from .errors import Arg, InputError

    problems = []
    if customers is not None:
        least = least_market(scenario)
        if customers < least:
            why = (f"each customer talks to {_num(scenario.market.mean_degree)} others "
                   f"(market.mean_degree)" if least > 2 else "a market holds two at least")
            problems.append(InputError(
                Arg("customers", f"{customers:,}"), f" is too small for {scenario.name}: "
                f"{why}, so it needs at least {least:,}"))
    if days is not None and math.isfinite(days) and days > 0:
        tick = scenario.simulation.tick_days
        ticks = days / tick
        whole = round(ticks)
        unit = "1 day" if tick == 1 else f"{_num(tick)} days"
        ticks_hi = Simulation.__dataclass_fields__["ticks"].metadata.get("hi", 100_000)
        if abs(ticks - whole) > 1e-9 * max(1.0, ticks) or whole < 1:
            lo, hi = math.floor(ticks + 1e-9), math.ceil(ticks - 1e-9)
            near = [n * tick for n in (lo, hi) if 1 <= n <= ticks_hi]
            options = " or ".join(_days_text(d) for d in near)
            problems.append(InputError(
                Arg("days", _days_text(days)), f" is not a whole number of ticks (a tick is "
                f"{unit}); the nearest that are: {options} days"))
        elif whole > ticks_hi:
            problems.append(InputError(
                Arg("days", _days_text(days)), f" makes {whole:,} ticks of {unit}; at most "
                f"{ticks_hi:,} ({ticks_hi * tick:,.6g} days)"))
    return problems


def default_scenario() -> Scenario:
    """Return the built-in default scenario (an omnichannel retailer)."""
    return load_scenario(scenario_dir() / DEFAULT_SCENARIO)


# --------------------------------------------------------------------------------------------
# Generic checking of dataclass fields
# --------------------------------------------------------------------------------------------

_ALIASES = {"from_": "from"}


def _key(name: str) -> str:
    return _ALIASES.get(name, name)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _fmt(v: Any) -> str:
    return f"'{v}'" if isinstance(v, str) else repr(v)


def _num(x: float) -> str:
    """Format a number exactly enough to show which side of a bound it is on."""
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and abs(x) < 1e15):
        return str(int(x))
    return repr(float(x))


def _check_range(value: float, meta: dict, path: str, errors: list[str]) -> None:
    lo, hi, gt = meta.get("lo"), meta.get("hi"), meta.get("gt")
    if isinstance(value, float) and not math.isfinite(value):
        errors.append(f"{path} must be a finite number, got {value}")
        return
    n = _num
    if gt is not None and not value > gt:
        bound = f"in ({n(gt)}, {n(hi)}]" if hi is not None else f"greater than {n(gt)}"
        errors.append(f"{path} must be {bound}, got {n(value)}")
    elif lo is not None and hi is not None and not lo <= value <= hi:
        errors.append(f"{path} must be in [{n(lo)}, {n(hi)}], got {n(value)}")
    elif lo is not None and value < lo:
        errors.append(f"{path} must be at least {n(lo)}, got {n(value)}")
    elif hi is not None and value > hi:
        errors.append(f"{path} must be at most {n(hi)}, got {n(value)}")


def _convert(tp: Any, value: Any, meta: dict, path: str, errors: list[str]) -> Any:
    """Convert ``value`` to type ``tp``, appending problems to ``errors``; return it or None."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            errors.append(f"{path} must be a table, got {_fmt(value)}")
            return None
        return _build(tp, value, path, errors)
    if origin is dict:
        if not isinstance(value, dict):
            errors.append(f"{path} must be a table, got {_fmt(value)}")
            return None
        _, vtp = typing.get_args(tp)
        out = {}
        for k, v in value.items():
            item = _convert(vtp, v, meta, _join(path, str(k)), errors)
            if item is not None:
                out[str(k)] = item
        return out
    if origin is list:
        if not isinstance(value, list):
            errors.append(f"{path} must be a list, got {_fmt(value)}")
            return None
        (etp,) = typing.get_args(tp)
        items = [_convert(etp, v, meta, f"{path}[{i}]", errors) for i, v in enumerate(value)]
        return [v for v in items if v is not None]
    if tp is bool:
        if not isinstance(value, bool):
            errors.append(f"{path} must be true or false, got {_fmt(value)}")
            return None
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            errors.append(f"{path} must be a number, got {_fmt(value)}")
            return None
        try:
            number = float(value)
        except OverflowError:
            errors.append(f"{path} must be a finite number, got an integer with "
                          f"{len(str(abs(value)))} digits")
            return None
        _check_range(number, meta, path, errors)
        return number
    if tp is int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append(f"{path} must be a whole number, got {_fmt(value)}")
            return None
        if abs(value) > 2**62:
            errors.append(f"{path} must be a whole number of sensible size, got one with "
                          f"{len(str(abs(value)))} digits")
            return None
        _check_range(value, meta, path, errors)
        return value
    if tp is str:
        if not isinstance(value, str):
            errors.append(f"{path} must be a string, got {_fmt(value)}")
            return None
        choices = meta.get("choices")
        if choices and value not in choices:
            errors.append(f"{path} must be one of {', '.join(choices)}; got {_fmt(value)}")
        return value
    raise TypeError(f"unsupported field type {tp}")  # pragma: no cover - schema bug


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _build(cls: type, data: dict[str, Any], path: str, errors: list[str]) -> Any:
    """Build dataclass ``cls`` from ``data``, collecting every problem in ``errors``."""
    hints = _hints(cls)
    fields = {_key(f.name): f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key in data:
        if key not in fields:
            where = path or "scenario"
            errors.append(f"{where}: unknown key '{key}'")
    required_missing = False
    for key, f in fields.items():
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if key in data:
            value = _convert(hints[f.name], data[key], dict(f.metadata), _join(path, key),
                             errors)
            if value is not None:
                kwargs[f.name] = value
            elif required:
                required_missing = True
        elif required:
            errors.append(f"{_join(path, key)} is required")
            required_missing = True
    # an invalid optional field falls back to its default so that checking can go on; the
    # error is already recorded, so the result is never used to run a model
    return None if required_missing else cls(**kwargs)


def _unbuild(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {_key(f.name): _unbuild(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {k: _unbuild(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_unbuild(v) for v in obj]
    return obj


# --------------------------------------------------------------------------------------------
# Cross-field checks
# --------------------------------------------------------------------------------------------


def _cross_check(s: Scenario, check_horizon: bool = True, fields_ok: bool = True,
                 known: dict[str, set[str]] | None = None) -> list[str]:
    """Return problems across fields.

    With ``fields_ok=False`` only reference checks run, against the names in ``known`` (what
    the data declares), so invalid items cause no follow-on errors.
    """
    known = known or {}
    names = {sec: known.get(sec, set(getattr(s, sec))) for sec in (
        "touchpoints", "needs", "teams", "partners", "segments", "systems")}
    names["channels"] = known.get("channels", set(s.channels)) | set(s.channels)
    errs = _check_references(s, names, check_horizon)
    if fields_ok:
        errs = _check_values(s) + errs
    return errs


#: most items per section: each costs memory per tick (touchpoints squared, for the flows)
MAX_ITEMS = {"touchpoints": 100, "pathways": 1000, "teams": 50, "partners": 50,
             "systems": 50, "strategies": 100}
#: most interventions in one strategy
MAX_INTERVENTIONS = 50
#: most employees in all (each is a Mesa agent, stepped in Python every tick)
MAX_STAFF = 100_000


#: a tick's need count is Poisson(rate x tick_days), capped at ``kernels.MAX_EPISODES``
#: episodes; a scenario whose count would pass the cap with more than this probability (per
#: customer-tick) is refused
MAX_EPISODES_TAIL = 1e-9


def poisson_tail(mean: float, cap: int) -> float:
    """P(N > cap) for N ~ Poisson(mean), summed term by term in log space."""
    if mean <= 0.0:
        return 0.0
    total = 0.0
    log_mean = math.log(mean)
    for k in range(cap + 1, cap + 100_000):
        term = math.exp(-mean + k * log_mean - math.lgamma(k + 1.0))
        total += term
        if k > mean and term < 1e-18 * max(total, 1e-300):
            break
    return min(total, 1.0)


def max_need_mean() -> float:
    """Largest expected needs per tick whose count passes the cap with P <= MAX_EPISODES_TAIL."""
    lo, hi = 0.0, float(MAX_EPISODES)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if poisson_tail(mid, MAX_EPISODES) > MAX_EPISODES_TAIL:
            hi = mid
        else:
            lo = mid
    return lo


_MAX_NEED_MEAN = max_need_mean()


def _check_need_counts(s: Scenario) -> list[str]:
    """Needs per tick must stay well inside the per-tick episode cap (also under surges)."""
    errs: list[str] = []
    dt = s.simulation.tick_days
    limit = _MAX_NEED_MEAN
    for name, seg in s.segments.items():
        mean = sum(seg.need_rates.values()) * dt
        if mean > limit:
            errs.append(
                f"segments.{name}.need_rates: {_num(mean / dt)} needs a day x tick_days "
                f"{_num(dt)} = {_num(mean)} needs a tick on average; at most {MAX_EPISODES} "
                f"episodes a tick are simulated, so the mean must be at most {limit:.1f} "
                f"(use shorter ticks or lower rates)")
    for sname, strat in s.strategies.items():
        for name, seg in s.segments.items():
            factor = 1.0
            last = -1
            for i, iv in enumerate(strat.interventions):
                if (iv.type == "demand_surge" and iv.amount > 0
                        and iv.target in ("", name)):
                    factor *= 1.0 + iv.amount
                    last = i
            mean = sum(seg.need_rates.values()) * dt
            if last >= 0 and mean <= limit < mean * factor:
                errs.append(
                    f"strategies.{sname}.interventions[{last}].amount: demand surges raise "
                    f"segment {name}'s needs to {_num(mean * factor)} a tick on average; at "
                    f"most {MAX_EPISODES} episodes a tick are simulated, so the mean must be "
                    f"at most {limit:.1f} (use shorter ticks or smaller surges)")
    return errs


def _check_values(s: Scenario) -> list[str]:
    errs: list[str] = []
    tps = s.touchpoints
    if not s.segments:
        errs.append("segments: at least one segment is required")
    if not tps:
        errs.append("touchpoints: at least one touchpoint is required")
    if not s.needs:
        errs.append("needs: at least one need type is required")
    if s.segments:
        total = sum(seg.share for seg in s.segments.values())
        if abs(total - 1.0) > 1e-6:
            errs.append(f"segments: shares must sum to 1, got {total:g}")
    if len(s.segments) > 250:
        errs.append("segments: at most 250 segments are supported")
    cur = s.economics.currency
    if not is_currency(cur):
        errs.append(f"economics.currency must be a short symbol or code (1 to 8 printable "
                    f"characters, e.g. €, $, EUR), got {cur!r}")
    # the queue formulas hold a term per agent on duty (cxsim.limits.MAX_AGENTS)
    scale = s.market.represents / s.market.size if s.market.represents else 1.0
    for name, t in s.teams.items():
        hires = max((sum(max(iv.amount, 0.0) for iv in st.interventions
                         if iv.type == "hire" and iv.target == name)
                     for st in s.strategies.values()), default=0.0)
        on_duty = (t.headcount + hires) * t.fte * scale
        if on_duty > MAX_AGENTS:
            errs.append(f"teams.{name}: headcount x fte ({t.headcount:,}"
                        + (f" + {hires:,.0f} hired" if hires else "") + f" x {t.fte:g}"
                        + (f", in a sample of {s.market.represents:,} customers"
                           if s.market.represents else "")
                        + f") stands for more than {MAX_AGENTS:,} employees")
    if 0 < s.market.represents < s.market.size:
        errs.append(f"market.represents must be 0 or at least market.size ({s.market.size}), "
                    f"got {s.market.represents}")
    if s.market.initial_customers > s.market.size:
        errs.append(f"market.initial_customers must be at most market.size ({s.market.size}), "
                    f"got {s.market.initial_customers}")
    if s.market.network != "full" and s.market.mean_degree > s.market.size - 1:
        errs.append(f"market.mean_degree must be at most market.size - 1 "
                    f"({s.market.size - 1}), got {_num(s.market.mean_degree)}")
    b = s.behaviour
    if b.peak_weight + b.end_weight > 1 + 1e-12:
        errs.append(f"behaviour: peak_weight + end_weight must be at most 1, got "
                    f"{b.peak_weight + b.end_weight:g}")
    for name, team in s.teams.items():
        if team.shift_hours > team.open_hours:
            errs.append(f"teams.{name}.shift_hours must be at most open_hours "
                        f"({_num(team.open_hours)}): nobody works while the touchpoints are "
                        f"closed, got {_num(team.shift_hours)}")
    errs.extend(_check_intraday(s))
    handoff: dict[str, float] = {}
    for pw in s.pathways:
        if pw.kind == "handoff":
            handoff[pw.from_] = handoff.get(pw.from_, 0.0) + pw.weight
    for name, total in handoff.items():
        if total > 1 + 1e-9:
            errs.append(f"pathways: handoff weights from '{name}' are probabilities and must "
                        f"sum to at most 1, got {total:g}")
    if len(s.needs) > 62:
        errs.append("needs: at most 62 need types are supported")
    for section, most in MAX_ITEMS.items():
        n = len(getattr(s, section))
        if n > most:
            errs.append(f"{section}: at most {most} are supported, got {n}")
    for name, system in s.systems.items():
        if len(system.scheduled_outages) > MAX_ITEMS["pathways"]:
            errs.append(f"systems.{name}.scheduled_outages: at most {MAX_ITEMS['pathways']} "
                        f"windows, got {len(system.scheduled_outages)}")
    for name, strat in s.strategies.items():
        if len(strat.interventions) > MAX_INTERVENTIONS:
            errs.append(f"strategies.{name}.interventions: at most {MAX_INTERVENTIONS}, got "
                        f"{len(strat.interventions)}")
    staff = sum(t.headcount for t in s.teams.values())
    hires = max((sum(iv.amount for iv in st.interventions if iv.type == "hire")
                 for st in s.strategies.values()), default=0.0)
    if staff + hires > MAX_STAFF:
        errs.append(f"teams: at most {MAX_STAFF:,} employees in all (head counts plus a "
                    f"strategy's hires), got {staff + hires:,.0f}")
    for name, need in s.needs.items():
        if not need.entry:
            errs.append(f"needs.{name}.entry: at least one entry touchpoint is required")
    errs.extend(_check_need_counts(s))
    errs.extend(_check_reputation(s))
    return errs


def _check_reputation(s: Scenario) -> list[str]:
    """The reputation section's values together (issue 17): stars in order, ratings on 1-5."""
    r = s.reputation
    errs: list[str] = []
    for name in ("prior_rating", "reference_rating"):
        value = getattr(r, name)
        if 0 < value < 1:
            errs.append(f"reputation.{name} must be 0 (from the model) or in [1, 5], got "
                        f"{_num(value)}")
    if not r.detractor_stars <= r.passive_stars <= r.promoter_stars:
        errs.append(f"reputation: detractor_stars <= passive_stars <= promoter_stars is "
                    f"required, got {_num(r.detractor_stars)}, {_num(r.passive_stars)}, "
                    f"{_num(r.promoter_stars)}")
    if r.enabled and r.promoter_post + r.passive_post + r.detractor_post <= 0:
        errs.append("reputation: nobody posts a review (promoter_post, passive_post and "
                    "detractor_post are all 0); give one a share above 0, or disable it")
    return errs


def _check_intraday(s: Scenario) -> list[str]:
    """Problems of the teams' intraday profiles (arrival_profile, shift_plan)."""
    errs: list[str] = []
    for name, team in s.teams.items():
        for key, values in (("arrival_profile", team.arrival_profile),
                            ("shift_plan", team.shift_plan)):
            if len(values) > MAX_INTERVALS:
                errs.append(f"teams.{name}.{key}: at most {MAX_INTERVALS} intervals "
                            f"(quarter hours of a day), got {len(values)}")
            elif values and not sum(values) > 0:
                errs.append(f"teams.{name}.{key}: at least one interval must be positive")
        if team.shift_plan and len(team.shift_plan) != len(team.arrival_profile):
            errs.append(f"teams.{name}.shift_plan must have one value per interval of "
                        f"arrival_profile ({len(team.arrival_profile)}), got "
                        f"{len(team.shift_plan)}")
    return errs


def _check_references(s: Scenario, names: dict[str, set[str]], check_horizon: bool
                      ) -> list[str]:
    errs: list[str] = []
    tps = names["touchpoints"]
    b = s.behaviour
    if s.partners and b.failure_need not in names["needs"]:
        errs.append(f"behaviour.failure_need: unknown need '{b.failure_need}'")
    channels = names["channels"]
    for name, seg in s.segments.items():
        for ch in seg.channel_preference:
            if ch not in channels:
                errs.append(f"segments.{name}.channel_preference: unknown channel '{ch}'")
        for need in seg.need_rates:
            if need not in names["needs"]:
                errs.append(f"segments.{name}.need_rates: unknown need '{need}'")
    for i, pw in enumerate(s.pathways):
        for end in ("from", "to"):
            ref = pw.from_ if end == "from" else pw.to
            if ref not in tps:
                errs.append(f"pathways[{i}].{end}: unknown touchpoint '{ref}'")
        for j, need in enumerate(pw.needs):
            if need not in names["needs"]:
                errs.append(f"pathways[{i}].needs[{j}]: unknown need '{need}'")
        if pw.from_ == pw.to:
            errs.append(f"pathways[{i}]: a pathway cannot lead from '{pw.to}' to itself")
    for name, need in s.needs.items():
        for j, ref in enumerate(need.entry):
            if ref not in tps:
                errs.append(f"needs.{name}.entry[{j}]: unknown touchpoint '{ref}'")
    for kind, table, role in (("teams", s.teams, "staffed"), ("partners", s.partners, "operated"),
                              ("systems", s.systems, None)):
        owner: dict[str, str] = {}
        for name, item in table.items():
            for j, ref in enumerate(item.touchpoints):
                if ref not in tps:
                    errs.append(f"{kind}.{name}.touchpoints[{j}]: unknown touchpoint '{ref}'")
                elif role and ref in owner:
                    errs.append(f"{kind}.{name}.touchpoints[{j}]: touchpoint '{ref}' is already "
                                f"{role} by {kind}.{owner[ref]}")
                else:
                    owner.setdefault(ref, name)
    for name, system in s.systems.items():
        for k, window in enumerate(system.scheduled_outages):
            if len(window) != 2 or window[0] > window[1]:
                errs.append(f"systems.{name}.scheduled_outages[{k}] must be [first, last] "
                            f"with first <= last, got {window}")
    errs.extend(_check_strategies(s, names, check_horizon))
    return errs


def _check_strategies(s: Scenario, names: dict[str, set[str]], check_horizon: bool = True
                      ) -> list[str]:
    errs: list[str] = []
    pools = {"team": names["teams"], "touchpoint": names["touchpoints"],
             "partner": names["partners"], "segment": names["segments"],
             "system": names["systems"]}
    for sname, strat in s.strategies.items():
        if sname == "baseline":
            errs.append("strategies.baseline: 'baseline' is reserved for the scenario itself")
        if sum(iv.type == "proactive_retention" for iv in strat.interventions) > 1:
            errs.append(f"strategies.{sname}.interventions: at most one proactive_retention "
                        "per strategy")
        for i, iv in enumerate(strat.interventions):
            where = f"strategies.{sname}.interventions[{i}]"
            kind = INTERVENTION_TARGETS.get(iv.type)
            if kind is None:
                errs.append(f"{where}.type: unknown intervention type '{iv.type}' (known: "
                            f"{', '.join(INTERVENTION_TARGETS)})")
                continue
            if check_horizon and iv.start > s.simulation.ticks:
                errs.append(f"{where}.start must be within the horizon "
                            f"({s.simulation.ticks} ticks), got {iv.start}")
            if iv.end != -1 and iv.end <= iv.start:
                errs.append(f"{where}.end must be after start ({iv.start}) or -1, got {iv.end}")
            errs.extend(_check_trigger(iv, where))
            if iv.type == "demand_surge" and not iv.amount > -1:
                errs.append(f"{where}.amount: a demand_surge multiplies needs by (1 + amount), "
                            f"so amount must be above -1, got {iv.amount:g}")
            if iv.type == "hire" and iv.amount < 0:
                errs.append(f"{where}.amount: hire takes a head count of at least 0, got "
                            f"{iv.amount:g}")
            errs.extend(_check_own_fields(iv, where))
            errs.extend(_check_retention(iv, where))
            errs.extend(_check_voice(iv, where))
            optional = kind.endswith("?")
            kind = kind.rstrip("?")
            if not kind:
                if iv.target:
                    errs.append(f"{where}.target: '{iv.type}' takes no target, got "
                                f"'{iv.target}'")
            elif not iv.target:
                if not optional:
                    errs.append(f"{where}.target: '{iv.type}' needs a {kind}")
            elif iv.target not in pools[kind]:
                errs.append(f"{where}.target: unknown {kind} '{iv.target}'")
    return errs


#: the fields of Intervention that only proactive_retention reads
RETENTION_FIELDS = ("auc", "cadence", "offer_cost", "offer_effect", "offer_days")


def _check_retention(iv: Intervention, where: str) -> list[str]:
    """proactive_retention: amount is a share; its own fields are set on it only."""
    if iv.type != "proactive_retention":
        return []
    if not 0.0 <= iv.amount <= 1.0:
        return [f"{where}.amount: proactive_retention reaches a share of the customers each "
                f"wave, from 0 to 1, got {iv.amount:g}"]
    return []


#: the fields only a voice_of_customer intervention reads (cxsim.voice)
VOICE_FIELDS = ("cadence", "budget", "cost_per_fix", "delay", "returns", "response_rate",
                "rank_by")


def _check_voice(iv: Intervention, where: str) -> list[str]:
    """Problems of a ``voice_of_customer`` intervention's fields; the fields on any other."""
    if iv.type != "voice_of_customer":
        return []
    errs = []
    if not 0 < iv.amount <= 1:
        errs.append(f"{where}.amount: a voice_of_customer fix raises quality and resolution "
                    f"by amount, so it must be in (0, 1], got {iv.amount:g}")
    if iv.budget < iv.cost_per_fix:
        errs.append(f"{where}.budget: {iv.budget:g} a review buys no fix at cost_per_fix "
                    f"{iv.cost_per_fix:g}; raise budget to at least cost_per_fix")
    if iv.ramp != 0:
        errs.append(f"{where}.ramp: voice_of_customer takes no ramp (its fixes arrive after "
                    f"delay), got {iv.ramp}")
    return errs


#: the intervention types that read each type-specific field of Intervention
OWN_FIELDS: dict[str, tuple[str, ...]] = {}
for _type, _names in (("proactive_retention", RETENTION_FIELDS),
                      ("voice_of_customer", VOICE_FIELDS)):
    for _name in _names:
        OWN_FIELDS[_name] = (*OWN_FIELDS.get(_name, ()), _type)


def not_its_own(iv: Intervention, name: str) -> bool:
    """Whether ``name`` is a type-specific field that ``iv``'s type does not read."""
    return name in OWN_FIELDS and iv.type not in OWN_FIELDS[name]


def _check_own_fields(iv: Intervention, where: str) -> list[str]:
    """A type-specific field set on an intervention of another type (refused)."""
    errs = []
    for name, types in OWN_FIELDS.items():
        if not_its_own(iv, name) and (getattr(iv, name)
                                      != Intervention.__dataclass_fields__[name].default):
            takes = "takes" if len(types) == 1 else "take"
            errs.append(f"{where}.{name}: only {' and '.join(types)} {takes} {name}, not "
                        f"'{iv.type}'")
    return errs
def _check_trigger(iv: Intervention, where: str) -> list[str]:
    """Problems of an intervention's trigger (cxsim.triggers): its condition and keys."""
    if iv.when:
        from .triggers import condition_problem

        problem = condition_problem(iv.when)
        return [f"{where}.when: {problem}"] if problem else []
    keys = [k for k in ("window", "cooldown", "max_activations", "duration")
            if getattr(iv, k) != getattr(Intervention, k)]
    return [f"{where}.{k}: only a triggered intervention (one with when) takes {k}"
            for k in keys]


__all__ = [
    "Behaviour", "Economics", "Intervention", "Market", "Need", "PartnerSpec", "Pathway",
    "Operations", "Scenario", "ScenarioError", "Segment", "Simulation", "Strategy", "Survey",
    "System", "Team", "Touchpoint", "Workforce", "load_scenario", "default_scenario",
    "find_scenario",
    "scenario_dir",
    "shipped_scenarios",
    "Reputation",
]
