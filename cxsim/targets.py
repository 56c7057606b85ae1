"""Targets: an organisation's observed numbers, and how likely a run makes them.

Calibration fits a scenario's parameters to what an organisation observed.  This module
reads, validates and evaluates a *targets file* and holds the observation models
(likelihoods) that say how probable each observed number is under a set of runs.

The targets file
----------------
A CSV file (or Parquet, when pyarrow is importable; or a ``pandas.DataFrame``) with one
target per row and these columns (names are case-insensitive; empty cells are "not given"):

``metric`` (required)
    a metric of the run's ``metrics.csv`` (:data:`cxsim.vocabulary.METRICS`, derived ones
    such as ``monthly_churn`` included) or of a part's table
    (:data:`cxsim.vocabulary.PART_METRICS`: per segment, touchpoint or team).
``day_from``, ``day_to`` (required)
    the window: whole days, 1-based and inclusive; tick *t* covers days
    ``((t-1)·tick_days, t·tick_days]`` and a window is widened to whole ticks
    (:func:`cxsim.metrics.window_ticks`, as :func:`cxsim.metrics.aggregate`).
``value`` (required)
    the observed figure, in the units the run records: a share as a fraction (0.12 for
    12 %), NPS in points (-100 to 100), counts and money at the organisation's scale.
``n``
    the count behind a share or NPS (customers at risk, survey respondents, contacts): a
    whole number >= 1.
``sd``
    a known measurement error: the standard error of ``value``, in its units (> 0).
``segment``, ``touchpoint``, ``team``
    at most one, naming the part of the model a per-part metric is about.
``weight``
    a non-negative multiplier of the target's log-likelihood (default 1; 0 leaves the
    target out of the total).
``likelihood``
    overrides the default observation model (:data:`FAMILIES`, see below).
``dispersion``
    over-dispersion: the intra-class correlation rho in (0, 1) of ``beta-binomial`` (and
    optionally ``nps``), ``1/size`` (> 0) of ``negative-binomial``.

Rows are numbered as data rows: ``row 1`` is the first row under the header (line 2 of a
CSV file; a blank line still counts as a row, so ``row r`` is line ``r + 1`` unless a quoted
cell spans lines).  Every problem of a file is collected and reported together, one line
each naming the row and column (:class:`TargetsError`), before anything runs.

The simulated value
-------------------
:meth:`Targets.measure` aggregates each target's metric over its window by the metric's
declared rule, the one ``summary.json`` and :func:`cxsim.metrics.aggregate` use (flows
summed, stocks final or averaged, ratios pooled), and multiplies counts and money (format
``count`` or ``currency``) by ``scale``: the organisation's market over the simulated one,
so that a downsized model is compared at the organisation's size.  Employee head counts
and systems are not market-scaled (:data:`NOT_SCALED`).

Observation models
------------------
:meth:`Targets.loglik` takes the targets measured on ``R`` replicate runs of one parameter
set.  Per target, ``m`` is the mean of the replicates and ``v`` the variance of that mean
(sample variance / R, 0 for one run): the simulator's own Monte Carlo error, which widens
every family below by compounding it in.  :func:`describe` gives the table of defaults.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import math
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import gammaln, logsumexp, xlog1py, xlogy

from .errors import InputError
from .metrics import window_ticks, window_value
from .scenario import Scenario, _one_line
from .vocabulary import (
    BY_NAME,
    FEATURE_METRICS,
    PART_COMPUTED,
    PART_KINDS,
    PART_METRICS,
    RETENTION_METRICS,
    Metric,
)

#: columns a targets file must have
REQUIRED_COLUMNS: tuple[str, ...] = ("metric", "day_from", "day_to", "value")
#: columns it may have
OPTIONAL_COLUMNS: tuple[str, ...] = ("n", "sd", "segment", "touchpoint", "team", "weight",
                                     "likelihood", "dispersion")
COLUMNS: tuple[str, ...] = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

#: the observation models (``likelihood`` column)
FAMILIES: tuple[str, ...] = ("binomial", "beta-binomial", "nps", "poisson",
                             "negative-binomial", "normal")

#: the most targets a file may hold
MAX_ROWS = 100_000
#: problems listed in ``TargetsError.problems`` (all of them are in ``all_problems``)
MAX_PROBLEMS = 50

#: metrics in the NPS family: the share of promoters comes from these columns (``pooled``:
#: summed over the window's ticks; ``final``: at its last tick)
NPS_SOURCES: dict[str, tuple[str, str, str]] = {
    "nps": ("pooled", "nps_promoters", "nps_respondents"),
    "nps_population": ("final", "promoters", "active"),
}

#: counts that do not grow with the market: :func:`cxsim.runner.resize` keeps a team's
#: employee agents (each stands for a scaled ``fte``) and the IT systems as they are.
#: ``(None, name)`` is a metric of the main table, ``(kind, name)`` one of a part's.
NOT_SCALED: frozenset[tuple[str | None, str]] = frozenset({
    (None, "systems_down"), ("team", "headcount"), ("team", "headcount_start"),
    ("team", "vacancies"), ("team", "leavers"), ("team", "hires")})

#: the largest Beta/Dirichlet concentration is unbounded (no Monte Carlo error: the plain
#: family); the smallest is this, a numerical guard for a replicate variance as large as a
#: share's own (``m(1-m)``: possible with two replicates), where the moment match has none
ALPHA_MIN = 1e-6

#: NPS sums with at most this many terms are summed whole; longer ones are truncated
NPS_EXACT_TERMS = 4096
#: ... to the terms within this many nats of the largest: each neglected term is below
#: e^-50 (2e-22) of it, so even 5e5 of them move the log-likelihood by less than 1e-16
NPS_TAIL_NATS = 50.0


class TargetsError(InputError):
    """A targets file failed validation.

    ``all_problems`` holds one line per problem (``targets.csv row 3, column metric:
    unknown metric 'chrun' ...``; rows are data rows, ``row 1`` the first under the
    header); ``problems`` the first :data:`MAX_PROBLEMS` of them, then one line saying how
    many more there are (``... and N more``).  ``str()`` is the lines joined.
    """

    def __init__(self, problems: Iterable[str]):
        self.all_problems = [_one_line(p) for p in problems]
        self.problems = self.all_problems[:MAX_PROBLEMS]
        if len(self.all_problems) > MAX_PROBLEMS:
            self.problems.append(f"... and {len(self.all_problems) - MAX_PROBLEMS} more")
        super().__init__("\n".join(self.problems))

    def __reduce__(self):
        return type(self), (self.all_problems,)


# --------------------------------------------------------------------------------------------
# Metric classes and default families
# --------------------------------------------------------------------------------------------


def _metric(kind: str | None, name: str) -> Metric:
    return BY_NAME[name] if kind is None else PART_METRICS[kind][name]


def metric_class(kind: str | None, name: str) -> str:
    """How a metric is observed: ``share``, ``nps``, ``count`` or ``level``.

    ``share``: a fraction in [0, 1] (format ``percent``); ``nps``: a net promoter score
    (:data:`NPS_SOURCES`); ``count``: counted events over the window (a count summed over
    ticks); ``level``: anything else (means, stocks, money).  ``kind`` is ``None`` for the
    main table, else the part kind.
    """
    m = _metric(kind, name)
    if m.fmt == "percent":
        return "share"
    if kind is None and name in NPS_SOURCES:
        return "nps"
    if m.fmt == "count" and m.aggregation.rule == "sum":
        return "count"
    return "level"


#: per class: the families allowed, the default (by what the row gives) and why
CLASS_RULES: dict[str, dict[str, Any]] = {
    "share": {
        "families": ("binomial", "beta-binomial", "normal"),
        "default": "binomial with n (beta-binomial when dispersion is given); normal with "
                   "sd",
        "needs": "n or sd",
        "why": "x = round(value·n) of n units (customers at risk, episodes, contacts) "
               "had the event, each with the model's probability m: binomial; the "
               "replicates' error and a dispersion make the probability Beta-distributed",
    },
    "nps": {
        "families": ("nps", "normal"),
        "default": "nps with n; normal with sd",
        "needs": "n or sd",
        "why": "n respondents answer promoter, passive or detractor with the model's "
               "shares (multinomial); the observed NPS is the sum over every split with "
               "that net number of promoters, exact (the normal approximation is poor for "
               "small surveys and extreme scores)",
    },
    "count": {
        "families": ("poisson", "negative-binomial", "normal"),
        "default": "poisson (negative-binomial when dispersion is given; normal with sd)",
        "needs": "nothing",
        "why": "events counted over the window (customers lost or won, episodes, "
               "contacts) are many rare independent events: Poisson around the model's "
               "count; the replicates' error makes the rate Gamma-distributed (negative "
               "binomial)",
    },
    "level": {
        "families": ("normal",),
        "default": "normal",
        "needs": "sd",
        "why": "a mean score, a stock or money is not a count of events: its precision is "
               "the measurement's own standard error, sd, which the file must give",
    },
}


def _class_members() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {c: [] for c in CLASS_RULES}
    for name in BY_NAME:
        out[metric_class(None, name)].append(name)
    for kind in PART_KINDS:
        for name in PART_METRICS[kind]:
            out[metric_class(kind, name)].append(f"{kind} {name}")
    return out


def describe() -> str:
    """The default observation model per metric and why, as a Markdown table."""
    members = _class_members()
    lines = ["| metrics | likelihood (default) | the row needs | why |",
             "|---|---|---|---|"]
    for cls, rule in CLASS_RULES.items():
        names = ", ".join(f"`{n}`" for n in members[cls])
        lines.append(f"| {cls}: {names} | {rule['default']} | {rule['needs']} | "
                     f"{rule['why']} |")
    lines.append("")
    lines.append("Every family is compounded with the process's variation beyond "
                 "sampling, read off the replicates (their variance less the family's own "
                 "at the simulated size), and with the Monte Carlo error of their mean: "
                 "Beta-binomial, Dirichlet-multinomial, negative binomial, normal with "
                 "variance sd² plus the replicates' variance.  `likelihood` overrides the "
                 "default within the allowed "
                 "families: " + "; ".join(f"{c}: {', '.join(r['families'])}"
                                          for c, r in CLASS_RULES.items()) + ".")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One validated target.

    ``row`` is its data row in the file (1 = the first under the header); ``part`` the part
    kind (``"segment"``, ``"touchpoint"``, ``"team"`` or ``None`` for the main table) and
    ``part_name`` the part; ``n``, ``sd`` and ``dispersion`` are ``None`` when not given;
    ``family`` the observation model (:data:`FAMILIES`).
    """

    row: int
    metric: str
    day_from: int
    day_to: int
    value: float
    n: int | None
    sd: float | None
    part: str | None
    part_name: str | None
    family: str
    dispersion: float | None
    weight: float

    @property
    def label(self) -> str:
        """``"churned (segment loyal), days 1-30"``."""
        where = f" ({self.part} {self.part_name})" if self.part else ""
        return f"{self.metric}{where}, days {self.day_from}-{self.day_to}"


class Targets:
    """Validated targets, measured on runs and scored by their observation models.

    Made by :func:`load_targets`.  Picklable (plain data only): it is shipped to worker
    processes.  ``rows`` holds the :class:`Target` rows in file order; ``tick_days`` the
    scenario's days per tick that maps days to ticks; ``horizon`` the days the targets were
    checked against; ``source`` the file name used in messages.
    """

    def __init__(self, rows: Iterable[Target], *, tick_days: float, horizon: float,
                 source: str = "targets"):
        self.rows: tuple[Target, ...] = tuple(rows)
        self.tick_days = float(tick_days)
        self.horizon = float(horizon)
        self.source = source
        # per target: part kind, part name, metric, first and last tick, scaled, class
        # (both days are given: window_ticks needs no last tick of a run)
        self._plan = tuple(
            (t.part, t.part_name, _metric(t.part, t.metric),
             *window_ticks(t.day_from, t.day_to, self.tick_days, 0),
             (t.part, t.metric) not in NOT_SCALED
             and _metric(t.part, t.metric).fmt in ("count", "currency"),
             metric_class(t.part, t.metric))
            for t in self.rows)
        self._value = np.array([t.value for t in self.rows], dtype=float)
        self._n = np.array([np.nan if t.n is None else t.n for t in self.rows], dtype=float)
        self._sd = np.array([np.nan if t.sd is None else t.sd for t in self.rows],
                            dtype=float)
        self._disp = np.array([0.0 if t.dispersion is None else t.dispersion
                               for t in self.rows], dtype=float)
        self._weight = np.array([t.weight for t in self.rows], dtype=float)
        self._family = tuple(t.family for t in self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return f"Targets({len(self)} from {self.source!r})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Targets) and self.rows == other.rows
                and self.tick_days == other.tick_days)

    __hash__ = None  # type: ignore[assignment]

    # ---- views ---------------------------------------------------------------------------
    def table(self) -> pd.DataFrame:
        """The validated targets, one row each, with the chosen ``family``."""
        rows = [{
            "row": t.row, "metric": t.metric,
            "segment": t.part_name if t.part == "segment" else "",
            "touchpoint": t.part_name if t.part == "touchpoint" else "",
            "team": t.part_name if t.part == "team" else "",
            "day_from": t.day_from, "day_to": t.day_to, "value": t.value, "n": t.n,
            "sd": t.sd, "weight": t.weight, "family": t.family,
            "dispersion": t.dispersion} for t in self.rows]
        df = pd.DataFrame(rows, columns=["row", "metric", "segment", "touchpoint", "team",
                                         "day_from", "day_to", "value", "n", "sd", "weight",
                                         "family", "dispersion"])
        df["n"] = df["n"].astype("Int64")
        for col in ("sd", "dispersion"):
            df[col] = df[col].astype(float)
        return df

    def digest(self) -> str:
        """SHA-256 (hex) of the targets' canonical form: what they are, not how written.

        Each target's fields in file order, numbers as Python's shortest round-trip text;
        the file's name, layout, column order and row numbers do not enter.
        """
        h = hashlib.sha256(b"cxsim-targets/1\n")
        for t in self.rows:
            fields = (t.metric, t.part or "", t.part_name or "", t.day_from, t.day_to,
                      repr(float(t.value)), "" if t.n is None else t.n,
                      "" if t.sd is None else repr(float(t.sd)), repr(float(t.weight)),
                      t.family, "" if t.dispersion is None else repr(float(t.dispersion)))
            h.update(("\x1f".join(map(str, fields)) + "\n").encode("utf-8"))
        return h.hexdigest()

    # ---- measuring -------------------------------------------------------------------------
    def measure(self, result: Any, scale: float = 1.0) -> np.ndarray:
        """The targets measured on one run: an array of shape ``(len(self), 2)``.

        Column 0 is the simulated value over each target's window by the metric's rule, in
        the observation's units: counts and money times ``scale`` (the scenario's market
        size over the simulated one; :data:`NOT_SCALED` aside).  Column 1 is an auxiliary
        figure :meth:`loglik` needs: for NPS the promoters' share among the window's
        respondents (pooled over its ticks; at the last tick for ``nps_population``); for a
        share the simulated units behind it, unscaled (customers at the start of the
        ticks for churn, episodes for CSAT-like ratios, initial customers for retention;
        NaN when the rule has none, e.g. a mean of per-tick rates); for counted events the
        organisation's events one simulated event stands for (``scale``, 1 when not
        scaled); NaN otherwise.  NaN in column 0 when the run has no value there (no
        contacts in the window, or a window beyond the run).

        ``result`` is a :class:`cxsim.runner.RunResult` (``metrics``, ``segments``,
        ``touchpoints``, ``queues``, ``summary`` and ``segment_initial`` are read).
        """
        out = np.full((len(self.rows), 2), np.nan)
        tables = _Tables(result)
        scale = float(scale)
        for i, (kind, name, m, first, last, scaled, cls) in enumerate(self._plan):
            T = tables.ticks
            if last > T or first < 1:
                continue
            sl = slice(first - 1, last)
            if kind is None:
                def col(c: str, sl=sl) -> np.ndarray:
                    return tables.main(c)[sl]
                lookup: Mapping[str, Metric] = BY_NAME
                start = tables.main_start
            else:
                def col(c: str, sl=sl, kind=kind, name=name) -> np.ndarray:
                    return tables.part(kind, name, c)[sl]
                lookup = PART_METRICS[kind]
                start = tables.segment_start(name) if kind == "segment" else None
            needs_start = _base(m, lookup).denominator == "active_start"
            win_start = start()[sl] if needs_start else None
            value = window_value(m, col, win_start, tick_days=self.tick_days,
                                 metrics=lookup)
            out[i, 0] = value * scale if scaled else value
            if cls == "nps":
                how, num, den = NPS_SOURCES[m.name]
                if how == "pooled":
                    p, r = np.nansum(col(num)), np.nansum(col(den))
                else:
                    p, r = col(num)[-1], col(den)[-1]
                out[i, 1] = p / r if r > 0 else np.nan
            elif cls == "share":
                base = _base(m, lookup)
                if base.rule == "ratio":
                    out[i, 1] = np.nansum(win_start if needs_start
                                          else col(base.denominator))
                elif base.rule == "weighted":
                    out[i, 1] = np.nansum(col(base.weight))
                elif m.name == "retention":
                    out[i, 1] = (tables.main_initial() if kind is None
                                 else tables.segment_initial(name))
            elif cls == "count":
                out[i, 1] = scale if scaled else 1.0
        return out

    # ---- scoring ---------------------------------------------------------------------------
    def loglik(self, measured: np.ndarray, scale: float = 1.0) -> tuple[float, np.ndarray]:
        """The weighted log-likelihood of the targets under replicate runs of one point.

        ``measured`` has shape ``(R, k, 2)``: :meth:`measure` of ``R`` replicate runs
        (common random numbers), or ``(k, 2)`` for one; ``scale`` the organisation's units
        per simulated unit (as given to :meth:`measure`).  Per target, ``m`` is the mean
        of the replicates' column 0, ``s²`` their sample variance (``ddof=1``; 0 for one
        run) and ``v = s²/R`` the Monte Carlo error of ``m``.  Returns the total and the
        per-target log-likelihoods, each times its weight (a weight of 0 gives 0).  A
        replicate without a value (NaN) makes its target's log-likelihood ``-inf``.

        The observed figure is one realisation of the process the replicates sample, so
        its spread around ``m`` has three parts: the sampling of its own units (the
        family: binomial, multinomial, Poisson, or the measurement's ``sd``), the
        process's variation beyond that sampling (shared shocks: outages, word of mouth,
        a staff crisis), and the Monte Carlo error ``v``.  The second is read off the
        replicates: ``e = max(s² - sampling variance of the simulated figure, 0)``, the
        sampling variance taken at the simulated size (``n/scale`` units: a binomial's
        ``m(1-m)·scale/n``, a count's ``scale·m``, an NPS's multinomial variance
        ``·scale/n``); for a level (``normal``) no sampling part is known and all of
        ``s²`` counts.  Families (``x`` the observation, :func:`describe` the defaults):

        - ``binomial``: ``x = round(value·n)`` of ``n`` with probability ``m``; with
          ``e + v > 0`` Beta-binomial, the Beta of mean ``m`` and variance ``e + v``
          (moment matched); ``beta-binomial`` adds ``dispersion·m(1-m)`` to it.
        - ``nps``: the observed NPS and ``n`` respondents; the model's promoter share
          ``πP`` (column 1, averaged over replicates), detractor share
          ``πD = πP - m/100``; the probability of ``k = round(value·n/100)`` net promoters
          summed over the splits (:func:`nps_logpmf`); with ``e + v > 0`` (or a
          dispersion) Dirichlet-multinomial with the concentration that gives NPS that
          variance.
        - ``poisson``: the observed count around ``μ = m``; with ``e + v > 0`` negative
          binomial (the rate Gamma with variance ``e + v``); ``negative-binomial`` adds
          ``dispersion·μ²``.
        - ``normal``: ``N(value; m, sd² + s² + v)``.

        Floors, so that a model that simulated none of a rare event makes it improbable
        but not impossible: a share is kept within half an event of 0 and 1, half a
        simulated unit of those behind it (column 1, summed over the replicates:
        ``ε = 0.5 / ΣD``), or half an observed unit (``ε = 0.5 / n``) when the rule has
        no units (a mean of per-tick rates) and for NPS's three shares; a count's mean is
        at least half a simulated event over the replicates (``0.5·scale / R``).  These are
        the continuity corrections of a zero count (Haldane-Anscombe's half).
        """
        a = np.asarray(measured, dtype=float)
        if a.ndim == 2:
            a = a[None]
        k = len(self.rows)
        if a.ndim != 3 or a.shape[1:] != (k, 2) or a.shape[0] < 1:
            raise ValueError(f"measured must have shape (R, {k}, 2), got {a.shape}")
        R = a.shape[0]
        x0, aux = a[:, :, 0], a[:, :, 1]
        per = np.full(k, -np.inf)
        # absurd simulated values (1e300) must give -inf or a number, not warnings
        with np.errstate(all="ignore"):
            m = x0.mean(axis=0)
            s2 = x0.var(axis=0, ddof=1) if R > 1 else np.zeros(k)
            ok = np.isfinite(m) & np.isfinite(s2)
            for i in np.flatnonzero(ok):
                per[i] = self._one(i, m[i], s2[i], aux[:, i], R, float(scale))
        per = np.where(np.isnan(per), -np.inf, per)
        w = self._weight
        with np.errstate(invalid="ignore"):
            weighted = np.where(w == 0, 0.0, w * per)
            total = float(weighted.sum())
        return (-math.inf if math.isnan(total) else total), weighted

    def _one(self, i: int, m: float, s2: float, aux: np.ndarray, R: int,
             scale: float) -> float:
        family, x, n = self._family[i], self._value[i], self._n[i]
        rho = self._disp[i]
        v = s2 / R  # the Monte Carlo error of m
        if family in ("binomial", "beta-binomial"):
            units = np.nansum(aux) if np.isfinite(aux).any() else 0.0
            eps = 0.5 / max(units, 1.0) if units > 0 else 0.5 / n
            p = min(max(m, eps), 1.0 - eps)
            extra = max(s2 - p * (1.0 - p) * scale / n, 0.0)
            var = extra + v + (rho * p * (1.0 - p) if family == "beta-binomial" else 0.0)
            return float(binomial_logpmf(round(x * n), n, p, var))
        if family == "nps":
            pp = float(np.mean(aux))
            if not math.isfinite(pp):
                return -math.inf
            shares = np.array([pp, 1.0 - pp - (pp - m / 100.0), pp - m / 100.0])
            eps = 0.5 / n
            shares = np.maximum(shares, eps)
            shares /= shares.sum()
            q2 = shares[0] + shares[2] - (shares[0] - shares[2]) ** 2
            extra = max(s2 / 1e4 - q2 * scale / n, 0.0)
            var = extra + v / 1e4 + rho * q2
            alpha0 = max(q2 / var - 1.0, ALPHA_MIN) if var > 0 else math.inf
            return float(nps_logpmf(round(x * n / 100.0), int(n), shares[0], shares[2],
                                    alpha0))
        if family in ("poisson", "negative-binomial"):
            unit = float(np.nanmean(aux)) if np.isfinite(aux).any() else 1.0
            unit = unit if unit > 0 else 1.0
            mu = max(m, 0.5 * unit / R)
            extra = max(s2 - unit * mu, 0.0)  # beyond the simulated counts' own Poisson
            var = extra + v + (rho * mu * mu if family == "negative-binomial" else 0.0)
            return float(negbinomial_logpmf(x, mu, var))
        return float(normal_logpdf(x, m, self._sd[i] ** 2 + s2 + v))


def _base(m: Metric, lookup: Mapping[str, Metric]):
    """The aggregation a derived metric's figure comes from (its own otherwise)."""
    agg = m.aggregation
    while agg.rule == "derived":
        agg = lookup[agg.source].aggregation
    return agg


class _Tables:
    """A run's tables as per-tick arrays (index ``tick - 1``), built once per column."""

    _KIND_TABLE = {"segment": "segments", "touchpoint": "touchpoints", "team": "queues"}

    def __init__(self, result: Any):
        self.result = result
        metrics = result.metrics
        if len(metrics):
            ticks = metrics["tick"].to_numpy()
            T = int(ticks.max())
            if len(ticks) != T or not np.array_equal(ticks, np.arange(1, T + 1)):
                metrics = metrics.set_index("tick").reindex(range(1, T + 1)).reset_index()
        else:
            T = 0
        self.ticks = T
        self._metrics = metrics
        self._main: dict[str, np.ndarray] = {}
        self._cols: dict[tuple[str, str], tuple[dict[str, int], np.ndarray]] = {}
        self._starts: dict[str, np.ndarray] = {}

    def main(self, col: str) -> np.ndarray:
        x = self._main.get(col)
        if x is None:
            x = self._main[col] = self._metrics[col].to_numpy(dtype=float)
        return x

    def main_initial(self) -> float:
        initial = self.result.summary.get("initial_customers")
        if initial is None:  # active = initial - churned + new + won back, at tick 1
            return float(self.main("active")[0] + self.main("churned")[0]
                         - self.main("new")[0] - self.main("won_back")[0])
        return float(initial)

    def main_start(self) -> np.ndarray:
        """The active customers at the start of each tick."""
        x = self._starts.get("")
        if x is None:
            x = self._starts[""] = np.concatenate(
                ([self.main_initial()], self.main("active")[:-1]))
        return x

    def segment_initial(self, name: str) -> float:
        initial = getattr(self.result, "segment_initial", {}) or {}
        if name in initial:
            return float(initial[name])
        # without it: active = initial - churned + new at tick 1 (exact unless customers
        # were won back in the first tick, which the segments table does not say)
        return float(self.part("segment", name, "active")[0]
                     + self.part("segment", name, "churned")[0]
                     - self.part("segment", name, "new")[0])

    def segment_start(self, name: str) -> Callable[[], np.ndarray]:
        """A function giving the segment's active customers at the start of each tick."""
        def start() -> np.ndarray:
            x = self._starts.get(name)
            if x is None:
                x = self._starts[name] = np.concatenate(
                    ([self.segment_initial(name)], self.part("segment", name, "active")[:-1]))
            return x
        return start

    def _matrix(self, kind: str, col: str) -> tuple[dict[str, int], np.ndarray]:
        """``(names -> column index, [T, parts] values)`` of a part table's column."""
        key = (kind, col)
        hit = self._cols.get(key)
        if hit is not None:
            return hit
        table = getattr(self.result, self._KIND_TABLE[kind])
        T = self.ticks
        if col not in table.columns and (kind, col) in PART_COMPUTED:
            num, den = PART_COMPUTED[(kind, col)]
            index, n = self._matrix(kind, num)
            _, d = self._matrix(kind, den)
            with np.errstate(divide="ignore", invalid="ignore"):
                mat = np.where(d > 0, n / d, np.nan)
        elif table.empty or col not in table.columns:
            index, mat = {}, np.full((T, 0), np.nan)
        else:
            index, mat = self._layout(table, kind, col, T)
        self._cols[key] = (index, mat)
        return index, mat

    @staticmethod
    def _layout(table: pd.DataFrame, kind: str, col: str, T: int
                ) -> tuple[dict[str, int], np.ndarray]:
        names = table[kind].to_numpy()
        ticks = table["tick"].to_numpy()
        P = int((ticks == ticks[0]).sum())
        if (P and len(table) == T * P and ticks[0] == 1
                and np.array_equal(ticks, np.repeat(np.arange(1, T + 1), P))
                and np.array_equal(names, np.tile(names[:P], T))):
            index = {str(x): j for j, x in enumerate(names[:P])}
            return index, table[col].to_numpy(dtype=float).reshape(T, P)
        wide = table.pivot_table(index="tick", columns=kind, values=col, aggfunc="first",
                                 dropna=False).reindex(range(1, T + 1))
        index = {str(x): j for j, x in enumerate(wide.columns)}
        return index, wide.to_numpy(dtype=float)

    def part(self, kind: str, name: str, col: str) -> np.ndarray:
        index, mat = self._matrix(kind, col)
        j = index.get(name)
        if j is None:
            return np.full(self.ticks, np.nan)
        return mat[:, j]


# --------------------------------------------------------------------------------------------
# Observation models: log-probabilities, stable for large counts and concentrations
# --------------------------------------------------------------------------------------------


def _stirling_tail(z: np.ndarray) -> np.ndarray:
    """``lgamma(z) - ((z - 1/2) log z - z + log(2π)/2)`` for large z (error < 1e-28 at 1e5)."""
    return 1.0 / (12.0 * z) - 1.0 / (360.0 * z ** 3) + 1.0 / (1260.0 * z ** 5)


def log_rising(z, x) -> np.ndarray:
    """``lgamma(z + x) - lgamma(z) - x·log(z)``, accurate for any concentration ``z > 0``.

    ``lgamma(z + x) - lgamma(z)`` of a large ``z`` is a difference of huge numbers; the
    Stirling form keeps it exact to about ``1e-16·x``: for ``z >= 1e5``,
    ``(z + x - 1/2)·log1p(x/z) - x`` plus the series' tails.  It tends to 0 as ``z``
    grows, where the compound families become their plain ones.  ``z = inf`` gives 0.
    """
    z, x = np.broadcast_arrays(np.asarray(z, dtype=float), np.asarray(x, dtype=float))
    big = z >= 1e5
    zs = np.where(big, 1.0, z)
    direct = gammaln(zs + x) - gammaln(zs) - x * np.log(zs)
    zb = np.where(big & np.isfinite(z), z, 1e5)
    y = zb + x
    stir = (y - 0.5) * np.log1p(x / zb) - x + _stirling_tail(y) - _stirling_tail(zb)
    out = np.where(big, stir, direct)
    return np.where(np.isinf(z), 0.0, out)


def _log_choose(n, x):
    return gammaln(n + 1.0) - gammaln(x + 1.0) - gammaln(n - x + 1.0)


def binomial_logpmf(x, n, p, var=0.0) -> np.ndarray:
    """The log-probability of x of n, with success probability p ~ Beta(mean p, variance ``var``).

    ``var = 0``: the binomial; ``var > 0``: the Beta-binomial with ``a = p·α``,
    ``b = (1-p)·α``, ``α = p(1-p)/var - 1`` (at least :data:`ALPHA_MIN`), i.e. intra-class
    correlation ``1/(α+1) = var / (p(1-p))``.  -inf outside ``0 <= x <= n``.
    """
    x, n, p, var = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (x, n, p, var)))
    base = _log_choose(n, x) + xlogy(x, p) + xlog1py(n - x, -p)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(var > 0, np.maximum(p * (1.0 - p) / var - 1.0, ALPHA_MIN), np.inf)
    extra = (log_rising(p * alpha, x) + log_rising((1.0 - p) * alpha, n - x)
             - log_rising(alpha, n))
    out = base + np.where(np.isinf(alpha), 0.0, extra)
    return np.where((x >= 0) & (x <= n), out, -np.inf)


def negbinomial_logpmf(x, mu, var=0.0) -> np.ndarray:
    """The log-probability of x, a Poisson count whose mean is Gamma(mean ``mu``, variance ``var``).

    ``var = 0``: Poisson(mu); ``var > 0``: the negative binomial of size ``r = mu²/var``
    (variance ``mu + var``), written so that it tends to the Poisson as ``r`` grows.
    """
    x, mu, var = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (x, mu, var)))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(var > 0, mu * mu / var, np.inf)
        q = mu / r  # 0 for the Poisson
        nb = (xlogy(x, mu) - x * np.log1p(q) + log_rising(r, x) - r * np.log1p(q)
              - gammaln(x + 1.0))
    poisson = xlogy(x, mu) - mu - gammaln(x + 1.0)
    out = np.where(np.isinf(r), poisson, nb)
    return np.where(x >= 0, out, -np.inf)


def normal_logpdf(x, mu, var) -> np.ndarray:
    """The log-density of N(mu, var) at x."""
    x, mu, var = (np.asarray(a, dtype=float) for a in (x, mu, var))
    with np.errstate(divide="ignore"):
        return -0.5 * (np.log(2.0 * np.pi * var) + (x - mu) ** 2 / var)


def nps_logpmf(k: int, n: int, p_promoter: float, p_detractor: float,
               alpha: float = math.inf) -> float:
    """The log-probability that promoters - detractors = k among n survey answers.

    Answers are promoters, passives and detractors with shares ``p_promoter``,
    ``1 - p_promoter - p_detractor``, ``p_detractor`` (multinomial; Dirichlet-multinomial
    of total concentration ``alpha`` when finite).  The probability is the sum over the
    detractor count d of the splits ``(k + d, n - k - 2d, d)``, each term exact (log-gamma).
    Up to :data:`NPS_EXACT_TERMS` terms are summed whole; a longer sum keeps the terms
    within :data:`NPS_TAIL_NATS` of the largest: a grid over the range finds the peaks,
    windows around them are summed exactly and widened until their edges are that far
    below the peak.
    """
    k, n = int(k), int(n)
    lo, hi = max(0, -k), (n - k) // 2
    if n < 0 or lo > hi:
        return -math.inf
    p = np.array([p_promoter, 1.0 - p_promoter - p_detractor, p_detractor], dtype=float)
    if (p < 0).any():
        return -math.inf
    logp = np.log(p, where=p > 0, out=np.full(3, -np.inf))
    finite = math.isfinite(alpha)
    a = p * alpha if finite else None
    const = gammaln(n + 1.0)

    def logterm(d: np.ndarray) -> np.ndarray:
        cnt = (k + d, n - k - 2 * d, d)
        out = np.full(d.shape, const)
        for c in range(3):
            x = cnt[c].astype(float)
            out -= gammaln(x + 1.0)
            out += xlogy(x, p[c]) if np.isfinite(logp[c]) else np.where(x > 0, -np.inf, 0.0)
            if finite:
                out += log_rising(a[c], x)
        return out

    tail = -log_rising(alpha, n) if finite else 0.0
    span = hi - lo + 1
    if span <= NPS_EXACT_TERMS:
        return float(logsumexp(logterm(np.arange(lo, hi + 1))) + tail)
    grid = np.unique(np.linspace(lo, hi, NPS_EXACT_TERMS + 1).round().astype(np.int64))
    lg = logterm(grid)
    top = lg.max()
    if not np.isfinite(top):
        return -math.inf
    seeds = grid[lg >= top - NPS_TAIL_NATS] - lo
    step = int(np.max(np.diff(grid)))
    # the detractor count's standard deviation, widened for a Dirichlet's over-dispersion
    infl = (n + alpha) / (1.0 + alpha) if finite else 1.0
    sd = math.sqrt(max(n * p[2] * (1.0 - p[2]) * infl, 1.0))
    half = step + math.ceil(12.0 * sd) + 16
    while True:
        cover = np.zeros(span + 1, dtype=np.int64)
        np.add.at(cover, np.clip(seeds - half, 0, span), 1)
        np.add.at(cover, np.clip(seeds + half + 1, 0, span), -1)
        inside = np.cumsum(cover[:-1]) > 0
        d = np.flatnonzero(inside)
        vals = logterm(d + lo)
        peak = vals.max()
        # the edges of the windows (not the range's own ends) must be negligible
        edge = np.zeros(span, dtype=bool)
        starts = np.flatnonzero(inside & ~np.concatenate(([False], inside[:-1])))
        ends = np.flatnonzero(inside & ~np.concatenate((inside[1:], [False])))
        edge[starts[starts > 0]] = True
        edge[ends[ends < span - 1]] = True
        if len(d) == span or not (vals[edge[d]] >= peak - NPS_TAIL_NATS).any():
            return float(logsumexp(vals) + tail)
        half *= 2


# --------------------------------------------------------------------------------------------
# Loading and validating
# --------------------------------------------------------------------------------------------


def _given(x: Any) -> bool:
    if x is None:
        return False
    if isinstance(x, str):
        return x.strip() != ""
    try:
        return not bool(pd.isna(x))
    except (TypeError, ValueError):
        return True


def _text(x: Any) -> str:
    return x.strip() if isinstance(x, str) else str(x)


def _number(x: Any) -> float:
    """A cell as a float; ValueError with the text when it is not a number."""
    if isinstance(x, bool | np.bool_):
        raise ValueError(f"not a number: {x!r}")
    if isinstance(x, str):
        t = x.strip()
        if "_" in t:
            raise ValueError(f"not a number: {t!r}")
        try:
            return float(t)
        except ValueError:
            hint = " (use a point for decimals)" if "," in t else ""
            raise ValueError(f"not a number: {t!r}{hint}") from None
    try:
        return float(x)
    except (TypeError, ValueError):
        raise ValueError(f"not a number: {x!r}") from None


def _fmt(x: float) -> str:
    return f"{x:g}" if math.isfinite(x) else str(x)


Table = tuple[list[Any], list[list[Any]]]


def _frame(df: pd.DataFrame) -> Table:
    """A DataFrame's header and its first ``MAX_ROWS + 1`` rows as lists of cells."""
    return list(df.columns), df.iloc[:MAX_ROWS + 1].to_numpy(dtype=object).tolist()


def _read(source: Any) -> tuple[Table | None, str, list[str]]:
    """The file's header and rows of cells, its name for messages, and reading problems.

    A CSV file is read with Python's :mod:`csv` module, cells as text: a blank line is an
    empty row (it keeps the rows' numbering), a quoted cell may span lines.
    """
    if isinstance(source, pd.DataFrame):
        return _frame(source), "targets", []
    if not isinstance(source, str | os.PathLike):
        return None, "targets", [f"targets: expected a path or a DataFrame, got "
                                 f"{type(source).__name__}"]
    label = os.fspath(source)
    label = label if isinstance(label, str) else os.fsdecode(label)
    path = Path(label)
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            return None, label, [f"{label}: reading Parquet needs pyarrow (pip install "
                                 "pyarrow), or save the targets as CSV"]
        if not path.is_file():
            return None, label, [f"{label}: cannot read: "
                                 + ("is a directory" if path.is_dir() else "no such file")]
        try:
            return _frame(pd.read_parquet(path)), label, []
        except PermissionError as exc:
            return None, label, [f"{label}: cannot read: {exc.strerror or exc}"]
        except Exception as exc:  # noqa: BLE001 - pyarrow's many errors: one line
            return None, label, [f"{label}: not a Parquet file ({_first_line(exc)})"]
    if suffix != ".csv":
        return None, label, [f"{label}: not a CSV file (expected a .csv or .parquet file "
                             f"name, got {suffix or 'no extension'!r})"]
    try:
        with open(path, "rb") as f:
            head = f.read(8192)
        if b"\0" in head:
            return None, label, [f"{label}: not a CSV file (binary content)"]
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            records = []
            for record in reader:
                records.append(record)
                if len(records) > MAX_ROWS:
                    break
    except UnicodeDecodeError:
        return None, label, [f"{label}: not a CSV file (not UTF-8 text)"]
    except OSError as exc:
        return None, label, [f"{label}: cannot read: {exc.strerror or exc}"]
    except csv.Error as exc:
        return None, label, [f"{label}: not a CSV file ({_first_line(exc)})"]
    if header is None or not any(c.strip() for c in header):
        return None, label, [f"{label}: empty file (expected a header line: "
                             f"{','.join(REQUIRED_COLUMNS)})"]
    return (header, records), label, []


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _known_list(names: Iterable[str]) -> str:
    return ", ".join(names)


def load_targets(source: Any, scenario: Scenario, *, days: float | None = None) -> Targets:
    """Read and validate a targets file against a scenario; return the :class:`Targets`.

    ``source`` is a path (``.csv``; ``.parquet`` with pyarrow) or a ``DataFrame``;
    ``scenario`` gives the names of segments, touchpoints and teams, the days per tick and
    the horizon (``simulation.ticks × tick_days``, or ``days`` when the calibration runs
    fewer).  Every problem is collected and raised at once as a :class:`TargetsError`
    (one line each, naming the row and column); nothing else is raised for bad input.
    """
    tick_days = float(scenario.simulation.tick_days)
    if days is None:
        horizon = scenario.simulation.ticks * tick_days
        horizon_text = (f"{_fmt(horizon)} days: {scenario.simulation.ticks} ticks of "
                        f"{_fmt(tick_days)} day{'s' if tick_days != 1 else ''}")
    else:
        try:
            horizon = _number(days)
        except ValueError:
            horizon = math.nan
        if not (math.isfinite(horizon) and horizon > 0):
            raise TargetsError([f"days must be a positive number of days, got {days!r}"])
        horizon_text = f"the {_fmt(horizon)} days simulated"
    table, label, problems = _read(source)
    if table is None:
        raise TargetsError(problems)
    parts = {"segment": list(scenario.segments), "touchpoint": list(scenario.touchpoints),
             "team": list(scenario.teams)}
    rows, problems = _validate(*table, label, parts, horizon, horizon_text)
    problems += _feature_problems(rows, scenario, label)
    if problems:
        raise TargetsError(problems)
    return Targets(rows, tick_days=tick_days, horizon=horizon, source=label)


_PLURAL = {"segment": "segments", "touchpoint": "touchpoints", "team": "teams"}


def _feature_problems(rows: list[Target], scenario: Scenario, label: str) -> list[str]:
    """Targets on metrics of optional features the scenario leaves off (issue 17)."""
    problems = []
    for section, metrics in FEATURE_METRICS.items():
        if getattr(getattr(scenario, section, None), "enabled", False):
            continue
        names = {m.name for m in metrics}
        for metric in dict.fromkeys(t.metric for t in rows if t.metric in names):
            problems.append(f"{label}: metric {metric} is measured only with [{section}] "
                            f"enabled = true in the scenario")
    # proactive retention's figures come from a strategy's waves; calibration runs the
    # baseline, which has none
    names = {m.name for m in RETENTION_METRICS}
    for metric in dict.fromkeys(t.metric for t in rows if t.metric in names):
        problems.append(f"{label}: metric {metric} is measured only in runs with a "
                        "proactive_retention intervention, not the baseline calibrated")
    return problems


def _validate(header: list[Any], records: list[list[Any]], label: str,
              parts: dict[str, list[str]], horizon: float, horizon_text: str
              ) -> tuple[list[Target], list[str]]:
    problems: list[str] = []
    columns: dict[str, int] = {}
    for j, c in enumerate(header):
        key = str(c).strip().lower()
        if key not in COLUMNS:
            near = difflib.get_close_matches(key, COLUMNS, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            if ";" in key or "\t" in key:
                hint = ("; the columns seem separated by ';' or tabs: save the file with "
                        "commas")
            problems.append(f"{label}: unknown column {str(c)!r} (columns: "
                            f"{', '.join(COLUMNS)}){hint}")
        elif key in columns:
            problems.append(f"{label}: column {key!r} appears twice")
        else:
            columns[key] = j
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        problems.append(f"{label}: missing required column{'s' if len(missing) > 1 else ''} "
                        f"{', '.join(missing)} (a targets file has the columns "
                        f"{', '.join(REQUIRED_COLUMNS)}, optionally "
                        f"{', '.join(OPTIONAL_COLUMNS)})")
    if len(records) > MAX_ROWS:
        return [], [*problems, f"{label}: more than {MAX_ROWS:,} rows (at most {MAX_ROWS:,} "
                               "targets in a file)"]
    if all(not any(_given(c) for c in record) for record in records):
        return [], [*problems, f"{label}: no targets (no rows under the header)"]
    rows: list[Target] = []
    width = len(header)
    for i, record in enumerate(records):
        if not any(_given(c) for c in record):
            continue  # a blank line
        if len(record) > width and any(_given(c) for c in record[width:]):
            problems.append(f"{label} row {i + 1}: {len(record)} cells, the header has "
                            f"{width} columns")
            continue
        row = {key: record[j] if j < len(record) else "" for key, j in columns.items()}
        target, row_problems = _validate_row(i + 1, row, label, parts, horizon,
                                             horizon_text)
        problems.extend(row_problems)
        if target is not None:
            rows.append(target)
    return rows, problems


def _validate_row(r: int, row: dict[str, Any], label: str, parts: dict[str, list[str]],
                  horizon: float, horizon_text: str) -> tuple[Target | None, list[str]]:
    problems: list[str] = []

    def bad(col: str, text: str) -> None:
        problems.append(f"{label} row {r}, column {col}: {text}")

    def number(col: str) -> float | None:
        """The column's number, or None if not given; a problem if it is not finite."""
        if col not in row or not _given(row[col]):
            return None
        try:
            x = _number(row[col])
        except ValueError as exc:
            bad(col, str(exc))
            return math.nan
        if not math.isfinite(x):
            bad(col, f"must be a finite number, got {_text(row[col])!r}")
            return math.nan
        return x

    # the metric and its part
    metric = _text(row["metric"]) if "metric" in row and _given(row.get("metric")) else None
    selectors = [(k, _text(row[k])) for k in PART_KINDS if k in row and _given(row[k])]
    if "metric" in row and metric is None:
        bad("metric", "missing metric")
    kind = name = None
    known = False
    if metric is not None:
        part_kinds = [k for k in PART_KINDS if metric in PART_METRICS[k]]
        if metric not in BY_NAME and not part_kinds:
            every = list(BY_NAME) + [m for k in PART_KINDS for m in PART_METRICS[k]
                                     if m not in BY_NAME]
            near = difflib.get_close_matches(metric, list(dict.fromkeys(every)), n=1)
            hint = f"did you mean {near[0]!r}? " if near else ""
            bad("metric", f"unknown metric {metric!r} ({hint}known: "
                f"{_known_list(BY_NAME)}; per segment: {_known_list(PART_METRICS['segment'])}"
                f"; per touchpoint: {_known_list(PART_METRICS['touchpoint'])}; per team: "
                f"{_known_list(PART_METRICS['team'])})")
        elif len(selectors) > 1:
            bad(selectors[1][0], "give at most one of segment, touchpoint, team (got "
                f"{' and '.join(k for k, _ in selectors)})")
        elif selectors:
            kind, name = selectors[0]
            if metric not in PART_METRICS[kind]:
                bad(kind, f"metric {metric} has no per-{kind} value (per-{kind} metrics: "
                    f"{_known_list(PART_METRICS[kind])})")
            elif name not in parts[kind]:
                near = difflib.get_close_matches(name, parts[kind], n=1)
                hint = f"did you mean {near[0]!r}? " if near else ""
                bad(kind, f"unknown {kind} {name!r} ({hint}{_PLURAL[kind]}: "
                    f"{_known_list(parts[kind]) or 'none'})")
            else:
                known = True
        elif metric not in BY_NAME:
            where = " or ".join(part_kinds)
            bad(part_kinds[0], f"metric {metric} is per {where}: name the "
                f"{part_kinds[0]} ({_PLURAL[part_kinds[0]]}: "
                f"{_known_list(parts[part_kinds[0]]) or 'none'})")
        else:
            known = True
    if not known:
        kind = name = None

    # the window
    day_from, day_to = number("day_from"), number("day_to")
    for col, day in (("day_from", day_from), ("day_to", day_to)):
        if col in row and day is None:
            bad(col, f"missing {col}")
        elif day is not None and math.isfinite(day):
            if day != math.floor(day):
                bad(col, f"must be a whole day number, got {_fmt(day)}")
            elif day < 1:
                bad(col, f"days are 1-based: the first day is 1, got {_fmt(day)}")
            elif day > horizon:
                bad(col, f"day {_fmt(day)} is beyond the horizon ({horizon_text})")
    window_ok = (day_from is not None and day_to is not None and math.isfinite(day_from)
                 and math.isfinite(day_to))
    if window_ok and day_from > day_to:
        bad("day_to", f"day_to ({_fmt(day_to)}) is before day_from ({_fmt(day_from)})")

    # the numbers
    value = number("value")
    if "value" in row and value is None:
        bad("value", "missing value")
    n = number("n")
    if n is not None and math.isfinite(n):
        if n != math.floor(n):
            bad("n", f"n is a count (respondents, customers, contacts): a whole number, "
                f"got {_fmt(n)}")
        elif n < 1:
            bad("n", f"n must be at least 1, got {_fmt(n)}")
    sd = number("sd")
    if sd is not None and math.isfinite(sd) and sd <= 0:
        bad("sd", f"sd (the standard error of the value) must be positive, got {_fmt(sd)}")
    weight = number("weight")
    if weight is not None and math.isfinite(weight) and weight < 0:
        bad("weight", f"weight must be 0 or more, got {_fmt(weight)}")
    dispersion = number("dispersion")
    if dispersion is not None and math.isfinite(dispersion) and dispersion <= 0:
        bad("dispersion", f"dispersion must be positive, got {_fmt(dispersion)}")
    likelihood = None
    if "likelihood" in row and _given(row["likelihood"]):
        likelihood = _text(row["likelihood"]).lower().replace("_", "-")
        if likelihood not in FAMILIES:
            bad("likelihood", f"unknown likelihood {_text(row['likelihood'])!r} (known: "
                f"{', '.join(FAMILIES)})")
            likelihood = None

    # the family, and what it needs
    family = None
    if known:
        cls = metric_class(kind, metric)
        m = _metric(kind, metric)
        has_n, has_sd = n is not None, sd is not None
        has_disp = dispersion is not None
        if value is not None and math.isfinite(value):
            if cls == "share" and not 0.0 <= value <= 1.0:
                bad("value", f"{metric} is a share: a fraction in [0, 1] (12% is 0.12), "
                    f"got {_fmt(value)}")
            elif cls == "nps" and not -100.0 <= value <= 100.0:
                bad("value", f"{metric} is an NPS in points: from -100 to 100, got "
                    f"{_fmt(value)}")
            elif m.fmt == "count" and value < 0:
                bad("value", f"{metric} is a count: it cannot be negative, got "
                    f"{_fmt(value)}")
        allowed = CLASS_RULES[cls]["families"]
        if likelihood is not None:
            if likelihood in allowed:
                family = likelihood
            else:
                what = {"share": "a share", "nps": "an NPS", "count": "a count of events",
                        "level": "a mean, a stock or money"}[cls]
                bad("likelihood", f"{likelihood} does not apply to {metric} ({what}: "
                    f"{', '.join(allowed)})")
        elif cls == "share":
            family = ("beta-binomial" if has_disp else "binomial") if has_n else (
                "normal" if has_sd else None)
            if family is None:
                bad("n", f"{metric} is a share: give n (the count behind it, for the "
                    "binomial likelihood) or sd (its standard error, for the normal)")
        elif cls == "nps":
            family = "nps" if has_n else ("normal" if has_sd else None)
            if family is None:
                bad("n", f"{metric} is an NPS: give n (the survey respondents) or sd (its "
                    "standard error, in points)")
        elif cls == "count":
            family = ("negative-binomial" if has_disp else
                      "normal" if has_sd else "poisson")
        else:
            family = "normal"
            if not has_sd:
                what = ("a stock, not counted events" if m.kind == "stock" and
                        m.fmt == "count" else "money" if m.fmt == "currency"
                        else "a mean or a level")
                bad("sd", f"{metric} is {what}: give sd, the standard error of the value "
                    "(normal likelihood)")
                family = None
        if family is not None and likelihood is not None:
            if family in ("binomial", "beta-binomial", "nps") and not has_n:
                bad("n", f"the {family} likelihood needs n (the count behind the value)")
            if family == "normal" and not has_sd:
                bad("sd", "the normal likelihood needs sd (the standard error of the value)")
        if family in ("beta-binomial", "negative-binomial") and not has_disp:
            bad("dispersion", f"the {family} likelihood needs dispersion ("
                + ("the intra-class correlation, in (0, 1)" if family == "beta-binomial"
                   else "1/size, > 0") + ")")
        if family is not None and has_disp and family not in (
                "beta-binomial", "negative-binomial", "nps"):
            bad("dispersion", f"the {family} likelihood takes no dispersion (beta-binomial, "
                "negative-binomial and nps do)")
        if (family in ("beta-binomial", "nps") and has_disp and math.isfinite(dispersion)
                and not 0.0 < dispersion < 1.0):
            bad("dispersion", f"the {family} dispersion is an intra-class correlation: in "
                f"(0, 1), got {_fmt(dispersion)}")
        if (family in ("poisson", "negative-binomial") and value is not None
                and math.isfinite(value) and value >= 0 and value != math.floor(value)):
            bad("value", f"the {family} likelihood needs a whole count, got {_fmt(value)} "
                "(give sd for a normal likelihood of a non-integer figure)")
    if problems or family is None or not window_ok or value is None:
        return None, problems
    return Target(
        row=r, metric=metric, day_from=int(day_from), day_to=int(day_to), value=float(value),
        n=None if n is None else int(n), sd=sd, part=kind, part_name=name, family=family,
        dispersion=dispersion, weight=1.0 if weight is None else float(weight)), problems


__all__ = ["ALPHA_MIN", "CLASS_RULES", "COLUMNS", "FAMILIES", "MAX_ROWS", "NOT_SCALED",
           "NPS_SOURCES", "OPTIONAL_COLUMNS", "REQUIRED_COLUMNS", "Target", "Targets",
           "TargetsError", "binomial_logpmf", "describe", "load_targets", "log_rising",
           "metric_class", "negbinomial_logpmf", "normal_logpdf", "nps_logpmf"]
