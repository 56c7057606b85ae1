"""Calibration: fit a scenario's parameters to an organisation's own numbers.

An analyst brings *targets* (observed churn, NPS, contact volumes, ... over windows of days;
:mod:`cxsim.targets`) and names the parameters to fit with priors in the sweep syntax
(``uniform(a,b)``, ``loguniform(a,b)``, ``int(a,b)``).  :func:`calibrate` returns

- a **point estimate**: the parameter set of highest posterior density among everything
  evaluated (the maximum a posteriori, MAP), found by Optuna's TPE sampler (the optimiser
  Starsim and Covasim calibrate with) and refined by the samples below;
- a **posterior**: weighted samples of the parameters by adaptive importance sampling
  (AMIS: Cornuet, Marin, Mira and Robert 2012, *Scand. J. Statist.* 39: 798-812): a
  multivariate Student-t proposal (5 degrees of freedom) in an unbounded coordinate per
  parameter, centred on the search's best region, refitted to the weighted samples after
  each round, every sample weighted against the mixture of all proposals used.  The
  effective sample size (ESS) says how much the weights concentrate.  ``method="prior"``
  instead samples the prior itself (importance resampling of the prior: slow to
  concentrate, needs no optimiser, a check on the other).

**The likelihood.**  Each parameter set is run ``reps`` times with common random numbers
(the same replicate seeds for every parameter set, so two sets differ by their effect, not
by their noise); each target is measured on every replicate (by its metric's own rule,
counts and money at the organisation's scale) and scored by its observation model
(:meth:`cxsim.targets.Targets.loglik`: binomial, NPS multinomial, Poisson, normal, with the
Monte Carlo error of the replicates' mean compounded in).  The log-posterior adds the
priors' log-density.

**Reproducible, resumable.**  Candidates are proposed in batches of fixed size (``batch``)
and told to the optimiser in their order, so the result depends on the seed and settings
only, not on the executor or the number of workers.  Every finished evaluation is appended
to ``evaluations.jsonl`` in the results folder; ``resume=True`` replays the journal through the
same sampler (the same proposals come out, their results are read instead of run) and goes
on where the calibration stopped: the result equals an uninterrupted one.

Outputs (``out``): ``calibrated.toml`` (the scenario with the estimate written in),
``posterior.csv`` or ``.parquet`` (one row per sample, one column per parameter path,
``weight``), ``fit.csv`` (per target: observed, simulated median and 90 % band before, at
the estimate and over the posterior, its log-likelihood), ``calibration.json``
(provenance), ``evaluations.jsonl``; figures with ``plot=True``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import Arg, InputError, Worded
from .executors import (
    MAX_REPLICATIONS,
    ExecutorBroken,
    RunSpec,
    check_ensemble,
    check_workers,
)
from .io import FolderError, folder_lock, shown, write_atomic
from .params import STRATEGY, Param, ParamError, check_param, parse_param, parse_spec
from .rng import replicate_seeds
from .runner import build_scenario, resize
from .scenario import Scenario, ScenarioError
from .search import BatchRunner, Executing, Journal, WriteFailed, begin_folder, check_folder
from .search import count as _count
from .search import plain as _plain

#: how a calibration searches: ``tpe`` (Optuna's TPE, then adaptive importance sampling) or
#: ``prior`` (importance sampling from the prior alone)
METHODS = ("tpe", "prior")

#: default settings (``cxsim calibrate``): parameter sets evaluated in all, replicates per
#: set, sets proposed at a time, replicates of the check runs before and at the estimate
BUDGET = 240
REPS = 4
BATCH = 8
CHECK_REPS = 20

#: share of the budget the ``tpe`` method spends searching (the rest samples the posterior)
SEARCH_SHARE = 0.5

#: most parameter sets one calibration evaluates
MAX_BUDGET = 100_000

#: probability mass each side of the reported intervals (a 90 % interval)
TAIL = 0.05

#: the journal and the provenance file of a calibration folder
JOURNAL = "evaluations.jsonl"
META = "calibration.json"

#: degrees of freedom of the importance-sampling proposal (heavy tails keep weights bounded)
T_DF = 5.0

#: a parameter set whose runs failed or whose targets are impossible gets this log-posterior
#: in the search (finite: the optimiser ranks it last), and weight 0 in the posterior
IMPOSSIBLE = -1e300

#: version of the folder layout (``calibration.json``'s ``format``)
FORMAT = 1


class CalibrationInterrupted(Worded, KeyboardInterrupt):
    """Ctrl-C during a calibration: what is saved, and how to continue (one line)."""

    def __init__(self, *parts: str | Arg):
        self._set_parts(parts)
        super().__init__(self.render())


class CalibrationStopped(FolderError):
    """The calibration's folder could not be written while it ran (e.g. a full disk)."""


# --------------------------------------------------------------------------------------------
# Priors
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prior:
    """A fitted parameter: its path, its prior (``uniform``, ``loguniform``, ``int``).

    Samples live in an unbounded coordinate ``z = logit(u)``, ``u`` the prior's quantile of
    the value (for ``int(a,b)``: of a continuous value in ``[a-0.5, b+0.5]`` that rounds to
    it), where the prior is the standard logistic density.
    """

    path: str
    spec: str
    dist: str
    low: float
    high: float

    def value(self, u: float) -> float | int:
        """The parameter value at prior quantile ``u`` (in [0, 1])."""
        u = min(max(float(u), 0.0), 1.0)
        if self.dist == "uniform":
            return float(self.low + u * (self.high - self.low))
        if self.dist == "loguniform":
            lo, hi = math.log(self.low), math.log(self.high)
            return float(min(max(math.exp(lo + u * (hi - lo)), self.low), self.high))
        n = int(self.high) - int(self.low) + 1
        return int(self.low) + min(int(u * n), n - 1)

    def from_z(self, z: float) -> float | int:
        """The value at unbounded coordinate ``z``."""
        return self.value(_sigmoid(z))

    def log_density(self, value: float) -> float:
        """Log prior density (or probability, for ``int``) of ``value``."""
        if self.dist == "uniform":
            return -math.log(self.high - self.low)
        if self.dist == "loguniform":
            return -math.log(value) - math.log(math.log(self.high) - math.log(self.low))
        return -math.log(int(self.high) - int(self.low) + 1)

    def distribution(self):
        """The Optuna distribution of this prior."""
        from optuna.distributions import FloatDistribution, IntDistribution

        if self.dist == "int":
            return IntDistribution(int(self.low), int(self.high))
        return FloatDistribution(self.low, self.high, log=self.dist == "loguniform")

    def to_z(self, value: float) -> float:
        """The unbounded coordinate of ``value`` (the centre of an integer's cell)."""
        if self.dist == "uniform":
            u = (value - self.low) / (self.high - self.low)
        elif self.dist == "loguniform":
            u = ((math.log(value) - math.log(self.low))
                 / (math.log(self.high) - math.log(self.low)))
        else:
            u = (value - self.low + 0.5) / (int(self.high) - int(self.low) + 1)
        u = min(max(u, 1e-9), 1.0 - 1e-9)
        return math.log(u / (1.0 - u))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def _log_logistic(z: np.ndarray) -> np.ndarray:
    """Log density of the standard logistic distribution (the prior in ``z``)."""
    return -np.abs(z) - 2.0 * np.log1p(np.exp(-np.abs(z)))


# --------------------------------------------------------------------------------------------
# The problem: everything checked before anything runs
# --------------------------------------------------------------------------------------------


@dataclass
class Problem:
    """A calibration, checked: scenario, priors, targets, replicate seeds and settings."""

    scenario: Scenario
    priors: tuple[Prior, ...]
    targets: Any
    method: str
    budget: int
    reps: int
    batch: int
    seed: int
    customers: int | None
    days: float | None
    check_reps: int
    scale: float
    base: dict = field(repr=False)
    seeds: list[int] = field(repr=False)
    #: each target's weight for its series' correlation (:func:`design_weights`), set once
    #: the scenario's own values have run
    design: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_search(self) -> int:
        """Parameter sets the search evaluates (``tpe``), in whole batches."""
        if self.method != "tpe":
            return 0
        return max(self.batch, int(round(self.budget * SEARCH_SHARE / self.batch)) * self.batch)

    @property
    def n_sample(self) -> int:
        """Parameter sets the posterior sampling evaluates."""
        return self.budget - self.n_search

    def fingerprint(self) -> dict:
        """What a resumed calibration must share with the one it continues."""
        return {"scenario_hash": self.scenario.content_hash(),
                "targets": self.targets.digest(),
                "params": [[p.path, p.spec] for p in self.priors], "method": self.method,
                "budget": self.budget, "reps": self.reps, "batch": self.batch,
                "seed": self.seed, "customers": self.customers, "days": self.days,
                "check_reps": self.check_reps}

    def specs(self, thetas: Sequence[Mapping[str, Any]], first: int,
              seeds: Sequence[int] | None = None) -> list[RunSpec]:
        """The runs of parameter sets ``first, first+1, ...``: every replicate of each."""
        seeds = self.seeds if seeds is None else seeds
        measure = partial(_measure, self.targets, self.scale)
        return [RunSpec(key=(first + i, r), scenario=self.base, seed=s,
                        overrides=dict(theta), customers=self.customers, days=self.days,
                        measure=measure)
                for i, theta in enumerate(thetas) for r, s in enumerate(seeds)]


def _measure(targets, scale: float, result) -> list:
    """A run's targets as plain lists (:meth:`cxsim.targets.Targets.measure`)."""
    return np.asarray(targets.measure(result, scale), dtype=float).tolist()


def _params(params: Any) -> list[Param]:
    if isinstance(params, str):
        params = [params]
    if isinstance(params, Mapping):
        return [parse_spec(str(k), v) for k, v in params.items()]
    out = []
    for p in params:
        out.append(p if isinstance(p, Param) else parse_param(str(p)))
    return out


def _check_prior(param: Param, scenario: Scenario, data: dict, customers: int | None,
                 days: float | None) -> Prior:
    """A parameter to fit, checked against the field it replaces and its bounds."""
    where = Arg("params", f"{param.path}={param.spec}")
    if param.path == STRATEGY:
        raise ParamError(where, ": a calibration fits numbers; compare strategies with "
                         "cxsim compare")
    if not param.is_distribution:
        raise ParamError(where, ": a fitted parameter needs a prior: uniform(a,b), "
                         "loguniform(a,b) or int(a,b)")
    param = check_param(param, data, list(scenario.strategies))
    prior = Prior(param.path, param.spec, param.dist, float(param.low), float(param.high))
    probe = sorted({prior.value(0.0), prior.value(0.5), prior.value(1.0)})
    for v in probe:
        try:
            build_scenario(data, {param.path: v}, customers, days)
        except ScenarioError as exc:
            raise ParamError(where, f": {v:g} is not a valid value of {param.path} "
                             f"({exc.problems[0]})") from None
    return prior


def prepare(scenario: Scenario, targets: Any, params: Any, *, method: str = "tpe",
            budget: int = BUDGET, reps: int = REPS, batch: int = BATCH, seed: int = 0,
            customers: int | None = None, days: float | None = None,
            check_reps: int = CHECK_REPS) -> Problem:
    """Check a calibration before anything runs; return the :class:`Problem`.

    Raises :class:`~cxsim.errors.InputError` (bad settings, a parameter that is not a
    distribution or whose bounds the field does not accept), :class:`~cxsim.ScenarioError`
    and :class:`cxsim.targets.TargetsError` (every problem of the targets, one line each).
    """
    from .targets import Targets, load_targets

    if method not in METHODS:
        raise InputError(Arg("method"), f" must be one of {', '.join(METHODS)}, got "
                         f"{method!r}")
    reps = _count("reps", reps, 1, MAX_REPLICATIONS)
    batch = _count("batch", batch, 1, 1024)
    budget = _count("budget", budget, 2 * batch if method == "tpe" else batch, MAX_BUDGET)
    seed = _count("seed", seed, 0, 2**63 - 1)
    check_reps = _count("check_reps", check_reps, 2, MAX_REPLICATIONS)
    if customers is not None:
        customers = _count("customers", customers, 1, 10**9)
    if days is not None and (isinstance(days, bool) or not isinstance(days, int | float)
                             or not math.isfinite(days) or days <= 0):
        raise InputError(Arg("days"), f" must be a positive number of days, got {days!r}")
    # strategies play no part in a calibration: their start days are not checked here
    run_sc = resize(scenario, customers=customers, days=days).validated()
    data = scenario.to_dict()
    parsed = _params(params)
    if not parsed:
        raise InputError(Arg("params"), ": name at least one parameter to fit, e.g. "
                         "segments.loyal.base_churn=uniform(0.005,0.03)")
    seen: set[str] = set()
    priors = []
    for p in parsed:
        if p.path in seen:
            raise ParamError(Arg("params", p.path), ": given twice")
        seen.add(p.path)
        priors.append(_check_prior(p, scenario, data, customers, days))
    horizon = run_sc.simulation.ticks * run_sc.simulation.tick_days
    # a Targets object (or any object with its measure/loglik/table/digest) is used as given
    tg = (targets if isinstance(targets, Targets) or hasattr(targets, "loglik")
          else load_targets(targets, scenario, days=horizon))
    scale = scenario.market.size / run_sc.market.size
    return Problem(scenario=scenario, priors=tuple(priors), targets=tg, method=method,
                   budget=budget, reps=reps, batch=batch, seed=seed, customers=customers,
                   days=days, check_reps=check_reps, scale=float(scale), base=data,
                   seeds=replicate_seeds(seed, reps))


# --------------------------------------------------------------------------------------------
# Evaluations and their journal
# --------------------------------------------------------------------------------------------


@dataclass
class Evaluation:
    """One parameter set, run ``reps`` times: its log-likelihood and log-posterior.

    ``phase`` is ``search``, ``sample`` or ``check``; ``z`` its unbounded coordinates
    (``None`` for a check); ``measured`` the targets on each replicate (reps × targets × 2).
    """

    index: int
    phase: str
    theta: dict
    loglik: float
    logpost: float
    per_target: list
    measured: list
    error: str = ""
    z: list | None = None

    def record(self) -> dict:
        """The journal line."""
        return {"i": self.index, "phase": self.phase, "theta": self.theta, "z": self.z,
                "loglik": self.loglik, "logpost": self.logpost,
                "per_target": self.per_target, "measured": self.measured, "error": self.error}


_KEYS = {"i", "phase", "theta", "z", "loglik", "logpost", "per_target", "measured", "error"}


def _score(problem: Problem, index: int, phase: str, theta: dict, z: list | None,
           records: list[dict]) -> Evaluation:
    """An :class:`Evaluation` from the records of its replicate runs."""
    failed = [r for r in records if r["status"] != "done"]
    if failed:
        return Evaluation(index, phase, theta, -math.inf, IMPOSSIBLE, [], [],
                          error=failed[0]["error"] or "failed", z=z)
    measured = [r["measured"] for r in records]
    return _scored(problem, Evaluation(index, phase, theta, -math.inf, IMPOSSIBLE, [],
                                       measured, z=z))


def _scored(problem: Problem, ev: Evaluation) -> Evaluation:
    """``ev`` with its log-likelihood and log-posterior from its measurements."""
    _, per = problem.targets.loglik(np.asarray(ev.measured, dtype=float), problem.scale)
    if problem.design is not None:  # weights in (0, 1]: -inf stays -inf
        per = per * problem.design
    ll = float(np.sum(per)) if not np.isnan(per).any() else -math.inf
    lp = sum(p.log_density(ev.theta[p.path]) for p in problem.priors)
    logpost = ll + lp if math.isfinite(ll) else IMPOSSIBLE
    return dataclasses.replace(ev, loglik=ll, logpost=logpost,
                               per_target=[float(x) for x in per])


def design_weights(targets: Any, measured: np.ndarray) -> np.ndarray:
    """Each target's weight ``1/deff`` for the correlation within its series.

    Targets of one series (the same metric, part and family over successive windows) are
    not independent: a run whose customers happen to stay longer has more contacts in
    every later month.  Their log-likelihoods summed as if independent would make the
    posterior too sure.  The replicates of one parameter set (``measured``: R × k × 2, the
    scenario's own values, ``check_reps`` runs) give each series' mean correlation
    ``ρ̄`` between its targets; the series' log-likelihood is scaled by
    ``1/deff``, ``deff = 1 + (k_s - 1)·max(ρ̄, 0)`` — the design effect of ``k_s``
    equicorrelated observations (Kish 1965), the magnitude adjustment of a composite
    likelihood (Varin, Reid and Firth 2011, *Statistica Sinica* 21: 5-42).  A series of
    one target, or without spread, keeps weight 1.
    """
    x = np.asarray(measured, dtype=float)[:, :, 0]
    table = targets.table()
    keys = [tuple(r) for r in table[["metric", "segment", "touchpoint", "team",
                                     "family"]].itertuples(index=False)]
    weights = np.ones(x.shape[1])
    groups: dict[tuple, list[int]] = {}
    for j, key in enumerate(keys):
        groups.setdefault(key, []).append(j)
    for idx in groups.values():
        sub = x[:, idx]
        keep = np.isfinite(sub).all(axis=0) & (np.nanstd(sub, axis=0) > 0)
        if keep.sum() < 2 or x.shape[0] < 3:
            continue
        c = np.corrcoef(sub[:, keep], rowvar=False)
        k = c.shape[0]
        rho = float((c.sum() - np.trace(c)) / (k * (k - 1)))
        deff = 1.0 + (len(idx) - 1) * max(rho, 0.0)
        weights[idx] = 1.0 / deff
    return weights


def _journal(path: Path) -> Journal:
    return Journal(path, _KEYS)


def _runner(problem: Problem, journal: Journal | None, known: dict[int, dict],
            run: Callable[[list[RunSpec], Callable[[dict], None]], str],
            bar: Any = None) -> BatchRunner:
    """The engine that evaluates parameter sets (:class:`cxsim.search.BatchRunner`)."""
    return BatchRunner(
        journal, known, run,
        specs=lambda i, theta, seeds: problem.specs([theta], i, seeds),
        score=lambda i, phase, theta, z, records: _score(problem, i, phase, theta, z,
                                                         records).record(),
        decode=_from_record, what="calibration", bar=bar,
        progress=lambda ev: ev.logpost, progress_label="best log-posterior")


def _from_record(rec: dict) -> Evaluation:
    return Evaluation(rec["i"], rec["phase"], rec["theta"],
                      float(rec["loglik"]) if rec["loglik"] is not None else -math.inf,
                      float(rec["logpost"]), rec["per_target"], rec["measured"],
                      rec["error"], rec["z"])


# --------------------------------------------------------------------------------------------
# Search (Optuna TPE) and posterior sampling (adaptive importance sampling)
# --------------------------------------------------------------------------------------------


def _search(problem: Problem, runner: BatchRunner) -> None:
    """Optuna's TPE over the priors, ``batch`` proposals at a time, told in order."""
    try:
        import optuna
    except ImportError:
        raise InputError(Arg("method", "tpe"), " needs Optuna: pip install "
                         "'cxsim[calibrate]' (or use method 'prior')") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dists = {p.path: p.distribution() for p in problem.priors}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(
            seed=problem.seed, multivariate=True, constant_liar=True,
            n_startup_trials=max(problem.batch, 2 * len(problem.priors) + 2))
    study = optuna.create_study(direction="maximize", sampler=sampler)
    for _ in range(problem.n_search // problem.batch):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            trials = [study.ask(dists) for _ in range(problem.batch)]
        thetas = [dict(t.params) for t in trials]
        zs = [[p.to_z(th[p.path]) for p in problem.priors] for th in thetas]
        for trial, ev in zip(trials, runner.evaluate("search", thetas, zs), strict=True):
            study.tell(trial, ev.logpost)


def _t_logpdf(z: np.ndarray, mean: np.ndarray, chol: np.ndarray) -> np.ndarray:
    """Log density of a multivariate Student-t (:data:`T_DF`) at the rows of ``z``."""
    d = mean.shape[0]
    from scipy.linalg import solve_triangular
    from scipy.special import gammaln

    y = solve_triangular(chol, (z - mean).T, lower=True)
    maha = np.sum(y * y, axis=0)
    logdet = np.sum(np.log(np.diag(chol)))
    nu = T_DF
    return (gammaln((nu + d) / 2) - gammaln(nu / 2) - d / 2 * math.log(nu * math.pi)
            - logdet - (nu + d) / 2 * np.log1p(maha / nu))


def _t_draw(rng: np.random.Generator, n: int, mean: np.ndarray, chol: np.ndarray
            ) -> np.ndarray:
    d = mean.shape[0]
    g = rng.standard_normal((n, d))
    w = rng.chisquare(T_DF, size=n) / T_DF
    return mean + (g @ chol.T) / np.sqrt(w)[:, None]


def _fit_proposal(z: np.ndarray, w: np.ndarray, inflate: float) -> tuple[np.ndarray,
                                                                        np.ndarray]:
    """Weighted mean and Cholesky factor of the weighted covariance, inflated and floored."""
    d = z.shape[1]
    w = w / w.sum()
    mean = w @ z
    dz = z - mean
    cov = (dz * w[:, None]).T @ dz
    cov = cov * inflate**2 + np.eye(d) * 1e-4  # a floor: a degenerate sample stays usable
    return mean, np.linalg.cholesky(cov)


def _temper(logp: np.ndarray, least: float) -> np.ndarray:
    """Weights exp((logp - max) / T) with the smallest T >= 1 giving an ESS >= ``least``."""
    finite = np.isfinite(logp) & (logp > IMPOSSIBLE / 2)
    if not finite.any():
        return np.ones_like(logp)
    x = np.where(finite, logp - logp[finite].max(), -np.inf)
    temp = 1.0
    for _ in range(200):
        w = np.exp(x / temp)
        if _ess(w) >= min(least, finite.sum()):
            return w
        temp *= 1.5
    return np.where(finite, 1.0, 0.0)


def _ess(w: np.ndarray) -> float:
    s = w.sum()
    return float(s * s / np.sum(w * w)) if s > 0 else 0.0


def _prior_logpdf_z(z: np.ndarray) -> np.ndarray:
    return np.sum(_log_logistic(z), axis=1)


def _sample(problem: Problem, runner: BatchRunner) -> tuple[np.ndarray, np.ndarray]:
    """Adaptive importance sampling; returns the samples' ``z`` and normalised weights."""
    d = len(problem.priors)
    rng = np.random.default_rng(np.random.SeedSequence([problem.seed, 0x5A4D]))
    n = problem.n_sample
    rounds = 1 if problem.method == "prior" else max(1, min(5, n // max(problem.batch, 4 * d)))
    sizes = [n // rounds + (1 if k < n % rounds else 0) for k in range(rounds)]
    proposals: list[tuple[np.ndarray, np.ndarray] | None] = []
    zs: list[np.ndarray] = []
    logpost_z: list[float] = []
    if problem.method == "tpe":
        past = [ev for ev in runner.evaluations if ev.phase == "search"]
        z0 = np.array([ev.z for ev in past])
        lp0 = np.array([_log_target_z(problem, ev, np.asarray(ev.z)) for ev in past])
        proposal = _fit_proposal(z0, _temper(lp0, 2 * d + 2), 1.5)
    else:
        proposal = None  # the prior itself
    for size in sizes:
        if proposal is None:
            u = rng.random((size, d))
            u = np.clip(u, 1e-12, 1 - 1e-12)
            draw = np.log(u / (1 - u))
        else:
            draw = _t_draw(rng, size, *proposal)
        proposals.append(proposal)
        thetas = [{p.path: p.from_z(float(v)) for p, v in zip(problem.priors, row,
                                                                strict=True)}
                  for row in draw]
        evs = runner.evaluate("sample", thetas, [row.tolist() for row in draw])
        for ev, row in zip(evs, draw, strict=True):
            zs.append(row)
            logpost_z.append(_log_target_z(problem, ev, row))
        z_all = np.array(zs)
        w = _amis_weights(z_all, np.array(logpost_z), proposals, sizes[:len(proposals)])
        if problem.method == "tpe" and len(proposals) < rounds and _ess(w) > 0:
            proposal = _fit_proposal(z_all, np.maximum(w, 0.0) + 1e-300 * (w.sum() == 0),
                                     1.2)
    z_all = np.array(zs)
    w = _amis_weights(z_all, np.array(logpost_z), proposals, sizes)
    total = w.sum()
    return z_all, (w / total if total > 0 else w)


def _log_target_z(problem: Problem, ev: Evaluation, z: np.ndarray) -> float:
    """Log posterior density in ``z`` (likelihood times the logistic prior), -inf if none."""
    if not math.isfinite(ev.loglik):
        return -math.inf
    return ev.loglik + float(_prior_logpdf_z(z[None, :])[0])


def _amis_weights(z: np.ndarray, logp: np.ndarray, proposals: list, sizes: list[int]
                  ) -> np.ndarray:
    """Importance weights against the mixture of every proposal used (deterministic mixture)."""
    n_total = sum(sizes)
    logq = np.full((len(proposals), len(z)), -np.inf)
    for k, prop in enumerate(proposals):
        dens = _prior_logpdf_z(z) if prop is None else _t_logpdf(z, *prop)
        logq[k] = dens + math.log(sizes[k] / n_total)
    mix = np.logaddexp.reduce(logq, axis=0)
    logw = logp - mix
    finite = np.isfinite(logw)
    if not finite.any():
        return np.zeros(len(z))
    return np.where(finite, np.exp(logw - logw[finite].max()), 0.0)


# --------------------------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------------------------


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The ``q`` quantile of ``values`` with ``weights`` (the inverse of the weighted CDF)."""
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    keep = np.isfinite(v) & (w > 0)
    if not keep.any():
        return math.nan
    v, w = v[keep], w[keep]
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order]
    cdf = np.cumsum(w) / w.sum()
    return float(v[min(int(np.searchsorted(cdf, q, side="left")), len(v) - 1)])


@dataclass
class CalibrationResult:
    """What :func:`calibrate` found.

    ``estimate``: the MAP parameter values; ``posterior``: one row per sample (a column per
    parameter path, ``weight``); ``summary``: per parameter the estimate, posterior mean,
    median and 90 % interval; ``fit``: per target (observed, simulated bands before, at the
    estimate and over the posterior); ``evaluations``: every parameter set evaluated (phase,
    values, log-likelihood, log-posterior); ``scenario``: the scenario with the estimate
    written in; ``provenance``: ``calibration.json``.
    """

    estimate: dict
    posterior: pd.DataFrame
    summary: pd.DataFrame
    fit: pd.DataFrame
    evaluations: pd.DataFrame
    scenario: Scenario
    provenance: dict
    ess: float
    priors: tuple = ()
    out: Path | None = None
    ran: int = 0
    wall_seconds: float = 0.0


def _bands(values: np.ndarray, weights: np.ndarray | None = None) -> tuple[float, float,
                                                                           float]:
    v = np.asarray(values, dtype=float).ravel()
    w = np.ones_like(v) if weights is None else np.asarray(weights, dtype=float).ravel()
    return (weighted_quantile(v, w, 0.5), weighted_quantile(v, w, TAIL),
            weighted_quantile(v, w, 1 - TAIL))


def _fit_table(problem: Problem, before: Evaluation, at: Evaluation,
               samples: list[Evaluation], weights: np.ndarray) -> pd.DataFrame:
    tg = problem.targets.table().reset_index(drop=True)
    rows = []
    post_vals = [np.asarray(ev.measured, dtype=float)[:, :, 0] for ev in samples
                 if not ev.error]
    post_w = [w for ev, w in zip(samples, weights, strict=True) if not ev.error]
    for j in range(len(tg)):
        row = {c: tg.at[j, c] for c in tg.columns}
        for name, ev in (("before", before), ("estimate", at)):
            if ev.error:
                med = lo = hi = math.nan
            else:
                med, lo, hi = _bands(np.asarray(ev.measured, dtype=float)[:, j, 0])
            row[f"{name}_median"], row[f"{name}_low"], row[f"{name}_high"] = med, lo, hi
        if post_vals:
            v = np.concatenate([m[:, j] for m in post_vals])
            w = np.concatenate([np.full(m.shape[0], wt / m.shape[0])
                                for m, wt in zip(post_vals, post_w, strict=True)])
            row["posterior_median"], row["posterior_low"], row["posterior_high"] = _bands(v, w)
        else:
            row["posterior_median"] = row["posterior_low"] = row["posterior_high"] = math.nan
        row["design_weight"] = (float(problem.design[j]) if problem.design is not None
                                else 1.0)
        row["loglik_before"] = before.per_target[j] if before.per_target else math.nan
        row["loglik_estimate"] = at.per_target[j] if at.per_target else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def _summary_table(problem: Problem, estimate: dict, post: pd.DataFrame) -> pd.DataFrame:
    rows = []
    w = post["weight"].to_numpy(float) if len(post) else np.zeros(0)
    for p in problem.priors:
        v = post[p.path].to_numpy(float) if len(post) else np.zeros(0)
        mean = float(np.sum(v * w) / w.sum()) if len(v) and w.sum() > 0 else math.nan
        rows.append({"parameter": p.path, "prior": p.spec, "estimate": estimate[p.path],
                     "posterior_mean": mean,
                     "posterior_median": weighted_quantile(v, w, 0.5),
                     "ci_low": weighted_quantile(v, w, TAIL),
                     "ci_high": weighted_quantile(v, w, 1 - TAIL)})
    return pd.DataFrame(rows)


def _environment() -> dict:
    import importlib.metadata as md
    import platform

    env = {"python": platform.python_version()}
    for pkg in ("cxsim", "numpy", "numba", "mesa", "scipy", "optuna"):
        try:
            env[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return env


# --------------------------------------------------------------------------------------------
# The folder
# --------------------------------------------------------------------------------------------


def _check_folder(out: Path, resume: bool) -> None:
    check_folder(out, resume, kind="calibrate", meta=META, what="calibration")


def _read_meta(out: Path) -> dict:
    from .io import read_json

    meta = read_json(out / META)
    if not isinstance(meta, dict) or not isinstance(meta.get("fingerprint"), dict):
        raise FolderError(f"{shown(out / META)}: not a calibration's provenance file")
    return meta


#: columns of a targets table kept in ``calibration.json`` for a resume
TARGET_COLUMNS = ("metric", "day_from", "day_to", "value", "n", "sd", "segment", "touchpoint",
                  "team", "weight", "likelihood", "dispersion")


def _targets_data(problem: Problem) -> list[dict]:
    """The targets as a plain table that loads back to the same targets (same digest)."""
    t = problem.targets.table().rename(columns={"family": "likelihood"})
    cols = [c for c in TARGET_COLUMNS if c in t.columns]
    def plain(v: Any) -> Any:
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            return None
        return v.item() if hasattr(v, "item") else v

    return [{c: plain(v) for c, v in row.items()}
            for row in t[cols].astype(object).to_dict(orient="records")]


def stored_settings(out: Path | str) -> dict:
    """The settings of the calibration in ``out`` as :func:`calibrate` takes them.

    ``scenario``, ``targets``, ``params``, ``method``, ``budget``, ``reps``, ``batch``,
    ``check_reps``, ``seed``, ``customers``, ``days``: what ``cxsim calibrate --resume``
    continues with when they are not given again.
    """
    out = Path(out)
    _check_folder(out, resume=True)
    meta = _read_meta(out)
    fp = meta["fingerprint"]
    try:
        scenario = Scenario.from_dict(meta["scenario_data"])
        targets = pd.DataFrame(meta["targets_data"])
        params = [str(p) for p in meta["params"]]
        keys = ("method", "budget", "reps", "batch", "check_reps", "seed", "customers",
                "days")
        settings = {k: fp[k] for k in keys}
    except (KeyError, TypeError, ValueError, ScenarioError) as exc:
        raise FolderError(f"{shown(out / META)}: damaged ({str(exc).splitlines()[0]}); "
                          "start a new calibration") from None
    return {"scenario": scenario, "targets": targets, "params": params, **settings}


def _differences(old: dict, new: dict) -> str | None:
    for k in new:
        if old.get(k) != json.loads(json.dumps(new[k])):
            return f"{k}: {old.get(k)!r} then, {new[k]!r} now"
    return None


# --------------------------------------------------------------------------------------------
# calibrate()
# --------------------------------------------------------------------------------------------


def calibrate(scenario: Scenario, targets: Any, params: Any, *, method: str = "tpe",
              budget: int = BUDGET, reps: int = REPS, batch: int = BATCH, seed: int = 0,
              customers: int | None = None, days: float | None = None,
              check_reps: int = CHECK_REPS, executor: Any = None, workers: int | None = None,
              scheduler: str | None = None, ensemble: int | None = None,
              out: Path | str | None = None, resume: bool = False, progress: bool = False,
              plot: bool = False) -> CalibrationResult:
    """Fit ``params`` of ``scenario`` to ``targets``; the estimate and a posterior.

    Parameters
    ----------
    scenario
        The scenario at the organisation's scale (its ``market.size`` is the market the
        targets' counts describe).
    targets
        A targets file (CSV or Parquet path), a DataFrame, or :class:`cxsim.targets.Targets`.
    params
        ``["PATH=SPEC", ...]`` or ``{path: spec}``; each spec a prior: ``uniform(a,b)``,
        ``loguniform(a,b)`` or ``int(a,b)``.
    method
        ``"tpe"`` (Optuna's TPE search, then adaptive importance sampling; needs the
        ``calibrate`` extra) or ``"prior"`` (importance sampling of the prior).
    budget
        Parameter sets evaluated in all (``tpe``: half search, half posterior samples).
    reps
        Replicate runs per parameter set (common random numbers across sets).
    batch
        Parameter sets proposed and run at a time; results do not depend on the workers,
        only on this.
    seed
        Root seed: replicate seeds, the optimiser's and the sampler's streams.
    customers, days
        Simulate a market of this size (counts are scaled up to the scenario's market) and
        this many days (default: the scenario's own).
    check_reps
        Replicates of the check runs (fresh seeds) at the scenario's own values ("before")
        and at the estimate, for ``fit.csv``.
    executor, workers, scheduler, ensemble
        Where runs execute (:func:`cxsim.executors.run_many`; ``scheduler`` a Dask
        address or ``"local"``); ``ensemble`` runs up to that many together (default: each
        parameter set's replicates together).
    out, resume
        Results folder (written as the calibration goes, so it can resume after Ctrl-C or
        a killed process) and whether to continue the calibration it holds.
    progress, plot
        A progress bar with the best log-posterior; figures in ``out``.

    """
    problem = prepare(scenario, targets, params, method=method, budget=budget, reps=reps,
                      batch=batch, seed=seed, customers=customers, days=days,
                      check_reps=check_reps)
    if not isinstance(executor, Executor):
        check_workers(workers)
    ensemble = check_ensemble(ensemble) if ensemble is not None else problem.reps
    out_path = Path(out) if out is not None else None
    with contextlib.ExitStack() as held:
        return _calibrate(problem, executor, workers, scheduler, ensemble, out_path, resume,
                          progress, plot, held)


def _calibrate(problem: Problem, executor: Any, workers: int | None, scheduler: str | None,
               ensemble: int, out: Path | None, resume: bool, progress: bool, plot: bool,
               held: contextlib.ExitStack) -> CalibrationResult:
    created = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    known: dict[int, dict] = {}
    fp = problem.fingerprint()
    if out is not None:
        _check_folder(out, resume)
        if resume:
            held.enter_context(folder_lock(out, "out"))
            meta = _read_meta(out)
            diff = _differences(meta["fingerprint"], fp)
            if diff:
                raise InputError(Arg("resume", "True"), f": {shown(out)} holds a different "
                                 f"calibration ({diff})")
            created = meta.get("created") or created
            known = _journal(out / JOURNAL).load()
    t0 = time.perf_counter()
    total = problem.budget + 2
    journal = None
    bar = None

    def status(name: str, extra: dict | None = None) -> dict:
        return {"format": FORMAT, "kind": "calibration", "status": name, "created": created,
                "scenario": problem.scenario.name, "fingerprint": fp,
                "settings": {**fp, "scale": problem.scale, "seeds": problem.seeds},
                "environment": _environment(), **(extra or {}),
                # what a resume needs besides the journal: the scenario and targets as given
                "scenario_data": problem.base, "targets_data": _targets_data(problem),
                "params": [f"{p.path}={p.spec}" for p in problem.priors]}

    def begin() -> None:
        nonlocal journal
        if out is None:
            return
        begin_folder(out, resume, held, _check_folder, out / META,
                     json.dumps(status("running"), indent=1) + "\n")
        journal = _journal(out / JOURNAL)

    def saved(runner: BatchRunner) -> str:
        return (f"{len(runner.known) + runner.ran} of {total} evaluations saved; continue "
                "with ")

    executing = Executing(held, executor, workers, scheduler, ensemble)

    begin()
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc="cxsim calibrate", unit="set", file=sys.stderr,
                   smoothing=0.1)
    runner = _runner(problem, journal, known, executing.run, bar)
    try:
        # the scenario's own values first, on fresh seeds: the fit before, and the
        # correlation within each series of targets (design_weights)
        check_seeds = replicate_seeds(problem.seed + 1, problem.check_reps)
        own = {p.path: _current(problem.base, p.path) for p in problem.priors}
        before, = runner.evaluate("check", [own], [None], check_seeds)
        if not before.error:
            problem.design = design_weights(problem.targets, before.measured)
            before = _scored(problem, before)
        if problem.method == "tpe":
            _search(problem, runner)
        z, w = _sample(problem, runner)
        evs = [ev for ev in runner.evaluations if ev.phase != "check"]
        best = max(range(len(evs)), key=lambda i: (evs[i].logpost, -i))
        estimate = dict(evs[best].theta)
        at, = runner.evaluate("check", [estimate], [None], check_seeds)
    except KeyboardInterrupt:
        executing.stop()  # a pool's workers are killed, not waited for
        _close(bar, journal)
        if out is not None:
            with contextlib.suppress(OSError):
                write_atomic(out / META, json.dumps(status("interrupted"), indent=1) + "\n")
            raise CalibrationInterrupted(f"interrupted: {saved(runner)}",
                                         Arg("resume", "True")) from None
        raise
    except ExecutorBroken as exc:
        _close(bar, journal)
        raise CalibrationInterrupted(f"{exc}: {saved(runner)}", Arg("resume", "True")
                                     ) from None
    except WriteFailed as exc:
        _close(bar, journal)
        err = exc.error
        raise CalibrationStopped(Arg("out"), f": cannot write {shown(out)} "
                                 f"({err.strerror or err}): {saved(runner)}",
                                 Arg("resume", "True"), errno_=err.errno) from None
    _close(bar, journal)
    wall = time.perf_counter() - t0
    samples = [ev for ev in runner.evaluations if ev.phase == "sample"]
    post = pd.DataFrame([{p.path: ev.theta[p.path] for p in problem.priors}
                         for ev in samples], columns=[p.path for p in problem.priors])
    post["weight"] = w
    summary = _summary_table(problem, estimate, post)
    fit = _fit_table(problem, before, at, samples, w)
    evaluations = pd.DataFrame([{"index": ev.index, "phase": ev.phase,
                                 **{p.path: ev.theta[p.path] for p in problem.priors},
                                 "loglik": ev.loglik, "logpost": ev.logpost,
                                 "error": ev.error} for ev in runner.evaluations])
    data = _with_values(problem.base, estimate)
    scenario = Scenario.from_dict(data)
    ess = _ess(w)
    meta = status("complete", {
        "method": problem.method, "evaluations": len(runner.evaluations),
        "runs": sum(problem.reps if ev.phase != "check" else problem.check_reps
                    for ev in runner.evaluations),
        "wall_seconds": round(wall, 3), "executor": runner.executor,
        "ess": round(ess, 3), "estimate": estimate,
        "interval": {r.parameter: [r.ci_low, r.ci_high] for r in summary.itertuples()},
        "posterior_mean": {r.parameter: r.posterior_mean for r in summary.itertuples()},
        "log_posterior": evs[best].logpost, "log_likelihood": evs[best].loglik,
        "check_seeds": check_seeds,
        "design_weights": None if problem.design is None else problem.design.tolist()})
    result = CalibrationResult(estimate=estimate, posterior=post, summary=summary, fit=fit,
                               evaluations=evaluations, scenario=scenario, provenance=meta,
                               ess=ess, priors=problem.priors, out=out, ran=runner.ran,
                               wall_seconds=wall)
    if out is not None:
        try:
            write_outputs(result, out, data, plot=plot)
        except OSError as exc:
            raise CalibrationStopped(Arg("out"), f": cannot write {shown(out)} "
                                     f"({exc.strerror or exc}); the evaluations are saved: "
                                     "continue with ", Arg("resume", "True"),
                                     errno_=exc.errno) from None
    return result


def _close(bar: Any, journal: Journal | None) -> None:
    if bar is not None:
        bar.close()
    if journal is not None:
        journal.close()


def _current(data: Mapping, path: str) -> Any:
    from .params import get_value

    return get_value(data, path)


def _with_values(data: Mapping, values: Mapping[str, Any]) -> dict:
    from .params import apply_overrides

    return apply_overrides(data, values)


def read_calibration(out: Path | str) -> CalibrationResult:
    """A finished calibration read back from its folder (for figures and reports).

    Every file is untrusted input (:mod:`cxsim.io`): sizes and rows are capped, columns
    checked; a missing or damaged file raises :class:`~cxsim.io.FolderError` (one line).
    """
    from .io import check_columns, read_table

    out = Path(out)
    meta = _read_meta(out)
    if meta.get("status") != "complete":
        raise FolderError(f"{shown(out)}: the calibration is {meta.get('status')!r}, not "
                          "complete; continue it with --resume")
    try:
        priors = tuple(_prior_of(parse_param(str(t))) for t in meta["params"])
        estimate = dict(meta["estimate"])
        n_eval = int(meta["evaluations"])
    except (KeyError, TypeError, ValueError) as exc:
        raise FolderError(f"{shown(out / META)}: damaged ({exc})") from None
    need = {"fit.csv": ("metric", "day_from", "day_to", "value"),
            "evaluations.csv": ("index", "phase", "logpost"),
            "estimates.csv": ("parameter", "estimate", "ci_low", "ci_high")}
    tables = {}
    for name, cols in need.items():
        path = out / name
        if not path.is_file():
            raise FolderError(f"{shown(out)}: {name} is missing")
        tables[name] = read_table(path, max(n_eval, 1) * 10 + 100_000,
                                  ("metric", "phase", "parameter", "segment", "touchpoint",
                                   "team", "family", "error", "prior"))
        check_columns(tables[name], path, needed=cols)
    post_path = posterior_file(out)
    if post_path is None:
        raise FolderError(f"{shown(out)}: posterior.parquet or posterior.csv is missing")
    post = read_table(post_path, MAX_POSTERIOR_ROWS)
    check_columns(post, post_path, needed=(*(p.path for p in priors), "weight"))
    w = post["weight"].to_numpy(float)
    return CalibrationResult(estimate=estimate, posterior=post,
                             summary=tables["estimates.csv"], fit=tables["fit.csv"],
                             evaluations=tables["evaluations.csv"], scenario=None,
                             provenance=meta, ess=_ess(w), priors=priors, out=out)


def _prior_of(param: Param) -> Prior:
    if not param.is_distribution:
        raise ValueError(f"{param.path}: not a prior")
    return Prior(param.path, param.spec, param.dist, float(param.low), float(param.high))


def posterior_file(out: Path | str) -> Path | None:
    """The posterior table of a calibration folder (Parquet or CSV), or ``None``."""
    for name in ("posterior.parquet", "posterior.csv"):
        p = Path(out) / name
        if p.is_file():
            return p
    return None


def write_outputs(result: CalibrationResult, out: Path, data: dict, *,
                  plot: bool = False) -> list[str]:
    """Write the calibration's files into ``out`` (each atomically); their names."""
    import tomli_w

    from .io import atomic_path

    names = []
    write_atomic(out / "calibrated.toml", _toml_header(result) + tomli_w.dumps(data))
    names.append("calibrated.toml")
    try:
        import pyarrow  # noqa: F401

        with atomic_path(out / "posterior.parquet") as tmp:
            result.posterior.to_parquet(tmp, index=False)
        names.append("posterior.parquet")
    except ImportError:
        write_atomic(out / "posterior.csv", result.posterior.to_csv(index=False))
        names.append("posterior.csv")
    write_atomic(out / "fit.csv", result.fit.to_csv(index=False))
    write_atomic(out / "estimates.csv", result.summary.to_csv(index=False))
    write_atomic(out / "evaluations.csv", result.evaluations.to_csv(index=False))
    names += ["fit.csv", "estimates.csv", "evaluations.csv"]
    if plot:
        from .plots import calibration_figures

        names += calibration_figures(result, out)
    write_atomic(out / META, json.dumps(result.provenance, indent=1, default=_json) + "\n")
    names.append(META)
    return names


def _json(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else str(v)


def _toml_header(result: CalibrationResult) -> str:
    lines = ["# Calibrated by cxsim calibrate: the point estimate (MAP) written in."]
    for r in result.summary.itertuples():
        lines.append(f"#   {r.parameter} = {r.estimate!r}   (90 % interval "
                     f"{r.ci_low:.6g} .. {r.ci_high:.6g}; prior {r.prior})")
    return "\n".join(lines) + "\n\n"


def format_result(result: CalibrationResult) -> str:
    """A one-screen text summary: each parameter's estimate and interval, each target's fit."""
    lines = [f"{'parameter':<44} {'estimate':>12} {'90% interval':>26}"]
    for r in result.summary.itertuples():
        lines.append(f"{r.parameter:<44} {r.estimate:>12.6g} "
                     f"{f'{r.ci_low:.6g} .. {r.ci_high:.6g}':>26}")
    lines.append("")
    lines.append(f"{'target':<40} {'observed':>11} {'before':>11} {'estimate':>11} "
                 f"{'posterior 90%':>24}")
    for r in result.fit.itertuples():
        name = _target_label(r)
        band = f"{r.posterior_low:.4g} .. {r.posterior_high:.4g}"
        lines.append(f"{name:<40} {r.value:>11.4g} {r.before_median:>11.4g} "
                     f"{r.estimate_median:>11.4g} {band:>24}")
    lines.append("")
    lines.append(f"effective sample size {result.ess:.1f} of {len(result.posterior)} "
                 "posterior samples")
    lines += calibration_notes(result)
    return "\n".join(lines)


#: below this effective sample size the posterior rests on a handful of samples
FEW_SAMPLES = 20.0


def calibration_notes(result: CalibrationResult) -> list[str]:
    """Warnings a reader of the result needs: a thin posterior, counts at another scale."""
    notes = []
    if result.ess < FEW_SAMPLES:
        notes.append(f"note: the posterior rests on {result.ess:.1f} effective samples; its "
                     "intervals are rough (raise --budget, or narrow the priors)")
    fit = result.fit
    if "family" in fit.columns and "before_median" in fit.columns:
        counts = fit[fit["family"].isin(["poisson", "negative-binomial"])]
        for r in counts.itertuples():
            if r.value > 0 and r.before_median > 0 and not (
                    0.2 <= r.before_median / r.value <= 5.0):
                scale = result.provenance.get("settings", {}).get("scale")
                notes.append(f"note: {_target_label(r)}: observed {r.value:,.0f}, simulated "
                             f"{r.before_median:,.0f} with the scenario's own values; counts "
                             f"are compared at the scenario's market size (simulated counts "
                             f"times {scale:g}): is market.size the organisation's?")
                break
    return notes


def _target_label(r: Any) -> str:
    part = ""
    for col in ("segment", "touchpoint", "team"):
        v = getattr(r, col, None)
        if isinstance(v, str) and v:
            part = f"[{v}]"
    return f"{r.metric}{part} d{r.day_from:g}-{r.day_to:g}"[:40]





# --------------------------------------------------------------------------------------------
# Carrying the posterior into decisions (compare --posterior)
# --------------------------------------------------------------------------------------------

#: rows a posterior table may have
MAX_POSTERIOR_ROWS = 1_000_000


@dataclass(frozen=True)
class Posterior:
    """A calibration's posterior, ready to draw from: samples, weights, estimate, source."""

    samples: pd.DataFrame
    weights: np.ndarray
    estimate: dict
    source: str

    @property
    def paths(self) -> list[str]:
        """The fitted parameters' paths."""
        return list(self.samples.columns)

    @property
    def ess(self) -> float:
        """Effective sample size of the weights."""
        return _ess(self.weights)

    def draws(self, n: int, seed: int) -> list[dict]:
        """``n`` parameter sets drawn by systematic resampling (reproducible from ``seed``).

        Systematic resampling (Kitagawa 1996) keeps every sample's share within one draw of
        ``n`` times its weight: the least noisy way to turn weights into ``n`` draws.
        """
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xD7A3]))
        cdf = np.cumsum(self.weights / self.weights.sum())
        cdf[-1] = 1.0
        pos = (rng.random() + np.arange(n)) / n
        idx = np.minimum(np.searchsorted(cdf, pos, side="right"), len(cdf) - 1)
        return [_plain(self.samples.iloc[int(i)].to_dict()) for i in idx]


def load_posterior(source: Any, scenario: Scenario) -> Posterior:
    """A calibration's posterior from its folder, its result, or a table with ``weight``.

    Every column but ``weight`` must be a parameter path of ``scenario`` whose field takes
    the values (whole numbers for a whole-number field); weights must be finite, not
    negative and not all zero.  Raises :class:`~cxsim.errors.InputError` (one line, naming
    ``posterior``) otherwise.  The estimate is the folder's point estimate
    (``calibration.json``), or for a bare table the weighted median of each parameter.
    """
    from .io import read_table

    estimate: dict = {}
    if isinstance(source, CalibrationResult):
        table, where = source.posterior.copy(), "the calibration's posterior"
        estimate = dict(source.estimate)
    elif isinstance(source, pd.DataFrame):
        table, where = source.copy(), "the posterior table"
    else:
        folder = Path(source)
        path = posterior_file(folder)
        if path is None:
            raise InputError(Arg("posterior", str(source)), f": {shown(folder)} holds no "
                             "posterior.parquet or posterior.csv (a cxsim calibrate folder)")
        where = shown(path)
        try:
            table = read_table(path, MAX_POSTERIOR_ROWS)
        except (OSError, ValueError) as exc:
            raise InputError(Arg("posterior", str(source)), f": cannot read {where} "
                             f"({str(exc).splitlines()[0] if str(exc) else exc})") from None
        with contextlib.suppress(Exception):
            meta = _read_meta(folder)
            if isinstance(meta.get("estimate"), dict):
                estimate = dict(meta["estimate"])
    given = not isinstance(source, pd.DataFrame | CalibrationResult)
    arg = Arg("posterior", str(source) if given else None)
    if "weight" not in table.columns:
        raise InputError(arg, f": {where} has no weight column")
    paths = [c for c in table.columns if c != "weight"]
    if not paths:
        raise InputError(arg, f": {where} has no parameter columns")
    if len(table) == 0:
        raise InputError(arg, f": {where} has no samples")
    w = pd.to_numeric(table["weight"], errors="coerce").to_numpy(float)
    if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise InputError(arg, f": {where}: weights must be finite, not negative and not "
                         "all zero")
    data = scenario.to_dict()
    for p in paths:
        values = pd.to_numeric(table[p], errors="coerce")
        if values.isna().any():
            raise InputError(arg, f": {where}: column {p} holds something other than numbers")
        try:
            check_param(Param(p, "posterior", values=tuple(values.head(1000).tolist())
                              ), data)
        except ParamError as exc:
            text = str(exc).split(": ", 1)[-1]
            raise InputError(arg, f": {where}: column {p}: {text}") from None
        except InputError:
            raise InputError(arg, f": {where}: column {p} is not a parameter of scenario "
                             f"'{scenario.name}'") from None
    samples = table[paths].apply(pd.to_numeric)
    if set(estimate) != set(paths):
        estimate = {p: weighted_quantile(samples[p].to_numpy(float), w, 0.5) for p in paths}
    for p in paths:  # whole-number fields keep whole numbers
        from .params import get_value

        if isinstance(get_value(data, p), int) and not isinstance(get_value(data, p), bool):
            samples[p] = samples[p].round().astype(np.int64)
            estimate[p] = int(round(float(estimate[p])))
    label = (str(source) if given else "a calibration" if isinstance(source, CalibrationResult)
             else "a table")
    return Posterior(samples=samples.reset_index(drop=True), weights=w, estimate=estimate,
                     source=label)


__all__ = ["BATCH", "BUDGET", "CHECK_REPS", "METHODS", "REPS", "CalibrationInterrupted",
           "CalibrationResult", "CalibrationStopped", "Posterior", "Prior", "Problem",
           "calibrate", "format_result", "load_posterior", "posterior_file", "prepare",
           "read_calibration", "stored_settings", "weighted_quantile", "write_outputs"]
