"""Portfolio search: which strategies to fund, and how much of each lever, under a budget.

The decisions are which of the scenario's strategies are switched on and numeric *levers*
(paths into the strategies, in the sweep syntax: ``uniform(a,b)``, ``loguniform(a,b)``,
``int(a,b)`` or a list).  A candidate portfolio runs ``reps`` times on the same seeds as the
baseline (common random numbers, and with a calibration's posterior each replicate on its
own draw, shared with the baseline), and is scored by the mean — or, robustly, a pessimistic
percentile — of its paired differences from the baseline in each objective metric.  The
budget and the ``--constraint`` bounds are constraints of Optuna's multi-objective TPE
sampler (feasibility first; Optuna's ``constraints_func``).

**No winner's curse.**  The best of many noisy candidates looks better than it is.  The
Pareto set of the search is therefore run again on fresh seeds that the search never used
(``reeval_reps`` replicates, against a baseline on the same fresh seeds), and every figure
reported — ``pareto.csv``, ``best.toml``, the figures — is the re-evaluated one, with its
paired 95 % interval.

Candidates are proposed in batches of fixed size and told in order, so the result depends
on the seed and the settings only; every candidate is journalled and a resume replays the
journal (:mod:`cxsim.search`).
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import sys
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .compare import paired_interval
from .errors import Arg, InputError, InputErrors, Worded
from .executors import (
    MAX_REPLICATIONS,
    ExecutorBroken,
    RunSpec,
    check_ensemble,
    check_workers,
)
from .io import folder_lock, shown, write_atomic
from .params import Param, ParamError, check_param, parse_param
from .rng import replicate_seeds
from .runner import build_scenario, resize
from .scenario import Scenario, ScenarioError
from .search import BatchRunner, Executing, Journal, WriteFailed, begin_folder, check_folder, plain
from .search import count as _count
from .vocabulary import OUTCOMES, format_value

#: defaults of ``cxsim optimise``
TRIALS = 200
REPS = 5
BATCH = 10
REEVAL_REPS = 10
PARETO_MAX = 12

#: most candidates one search evaluates
MAX_TRIALS = 100_000

JOURNAL = "candidates.jsonl"
META = "search.json"
FORMAT = 1

#: what a decision column is called for a strategy switched on or off
ON = "on:"

_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][\w]*)\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*$")


class SearchInterrupted(Worded, KeyboardInterrupt):
    """Ctrl-C during a search: what is saved, and how to continue (one line)."""

    def __init__(self, *parts: str | Arg):
        self._set_parts(parts)
        super().__init__(self.render())


@dataclass(frozen=True)
class Objective:
    """A metric's paired difference from the baseline and its direction (``max``/``min``)."""

    metric: str
    direction: str

    @classmethod
    def parse(cls, text: str) -> Objective:
        """``"profit:max"``, ``"churned:min"`` (a bare metric means ``max``)."""
        name, _, direction = str(text).strip().partition(":")
        direction = direction.strip().lower() or "max"
        if direction not in ("max", "min"):
            raise InputError(Arg("objectives", str(text)), ": the direction must be max or "
                             f"min, got '{direction}'")
        _check_metric(name.strip(), Arg("objectives", str(text)))
        return cls(name.strip(), direction)


@dataclass(frozen=True)
class Constraint:
    """A bound on a metric: the portfolio's mean, or its difference from the baseline.

    ``service_level>=0.8`` bounds the mean; ``nps_diff>0`` the paired difference.
    """

    metric: str
    op: str
    bound: float
    diff: bool = False
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> Constraint:
        """``"service_level>=0.8"``, ``"nps_diff>0"``."""
        m = _CONSTRAINT.match(str(text))
        where = Arg("constraints", str(text))
        if not m:
            raise InputError(where, ": expected METRIC OP NUMBER with OP one of <=, >=, <, >, "
                             "e.g. service_level>=0.8 or nps_diff>0")
        name, op, number = m.groups()
        try:
            bound = float(number)
        except ValueError:
            raise InputError(where, f": '{number}' is not a number") from None
        if not math.isfinite(bound):
            raise InputError(where, ": the bound must be finite")
        diff = name.endswith("_diff")
        base = name[:-5] if diff else name
        _check_metric(base, where)
        return cls(base, op, bound, diff, str(text).strip())

    def excess(self, value: float) -> float:
        """How far ``value`` breaks the bound (<= 0: satisfied), as Optuna wants it."""
        if not math.isfinite(value):
            return math.inf
        return self.bound - value if self.op in (">=", ">") else value - self.bound


def _check_metric(name: str, where: Arg) -> None:
    if name not in OUTCOMES:
        import difflib

        close = difflib.get_close_matches(name, OUTCOMES, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise InputError(where, f": unknown metric '{name}'{hint}; metrics of a run: "
                         f"{', '.join(OUTCOMES)}")


@dataclass
class Search:
    """A portfolio search, checked before anything runs."""

    scenario: Scenario
    strategies: tuple[str, ...]
    levers: tuple[Param, ...]
    objectives: tuple[Objective, ...]
    constraints: tuple[Constraint, ...]
    budget: float | None
    trials: int
    reps: int
    batch: int
    reeval_reps: int
    seed: int
    customers: int | None
    days: float | None
    robust: float | None
    scale: float
    base: dict = field(repr=False)
    seeds: list[int] = field(repr=False)
    draws: list[dict] | None = field(default=None, repr=False)
    posterior_source: str | None = None

    @property
    def metrics(self) -> list[str]:
        """The summary metrics every candidate's runs must report."""
        names = [o.metric for o in self.objectives] + [c.metric for c in self.constraints]
        return list(dict.fromkeys([*names, "intervention_cost"]))

    def fingerprint(self) -> dict:
        """What a resumed search must share with the one it continues."""
        return {"scenario_hash": self.scenario.content_hash(),
                "strategies": list(self.strategies),
                "levers": [[p.path, p.spec] for p in self.levers],
                "objectives": [f"{o.metric}:{o.direction}" for o in self.objectives],
                "constraints": [c.text for c in self.constraints], "budget": self.budget,
                "trials": self.trials, "reps": self.reps, "batch": self.batch,
                "reeval_reps": self.reeval_reps, "seed": self.seed,
                "customers": self.customers, "days": self.days, "robust": self.robust,
                "posterior": self.posterior_source}

    def specs(self, index: int, theta: dict, seeds: Sequence[int] | None) -> list[RunSpec]:
        """The runs of one candidate (``theta``: ``on:NAME`` switches and lever values)."""
        seeds = self.seeds if seeds is None else seeds
        on = [name for name in self.strategies if theta.get(ON + name)]
        levers = {k: v for k, v in theta.items() if not k.startswith(ON)}
        strategy = None if not on else (on[0] if len(on) == 1 else on)
        out = []
        for r, s in enumerate(seeds):
            overrides = dict(levers)
            if self.draws is not None:
                overrides = {**self.draws[r % len(self.draws)], **overrides}
            out.append(RunSpec(key=(index, r), scenario=self.base, seed=s, strategy=strategy,
                               overrides=overrides, customers=self.customers, days=self.days))
        return out


def prepare(scenario: Scenario, *, strategies: Sequence[str] | None = None,
            levers: Sequence[Any] = (), objectives: Sequence[str] = ("profit:max",),
            constraints: Sequence[str] = (), budget: float | None = None,
            trials: int = TRIALS, reps: int = REPS, batch: int = BATCH,
            reeval_reps: int = REEVAL_REPS, seed: int = 0, customers: int | None = None,
            days: float | None = None, robust: float | None = None,
            posterior: Any = None) -> Search:
    """Check a search before anything runs; return the :class:`Search`.

    Raises :class:`~cxsim.errors.InputError` (one line) for unknown strategies, metrics or
    levers, a lever outside ``strategies.``, malformed objectives or constraints, bad
    counts; :class:`~cxsim.ScenarioError` for a scenario that cannot run.
    """
    reps = _count("reps", reps, 2, MAX_REPLICATIONS)
    batch = _count("batch", batch, 1, 1024)
    trials = _count("trials", trials, batch, MAX_TRIALS)
    reeval_reps = _count("reeval_reps", reeval_reps, 2, MAX_REPLICATIONS)
    seed = _count("seed", seed, 0, 2**62)
    if customers is not None:
        customers = _count("customers", customers, 1, 10**9)
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int | float)
                               or not math.isfinite(budget) or budget < 0):
        raise InputError(Arg("budget"), f" must be a sum of money of at least 0, got "
                         f"{budget!r}")
    if robust is not None and (isinstance(robust, bool) or not isinstance(robust, int | float)
                               or not 0 < robust < 50):
        raise InputError(Arg("robust"), " must be a percentile between 0 and 50 (e.g. 10: "
                         f"the pessimistic 10 % of replicates), got {robust!r}")
    run_sc = resize(scenario, customers=customers, days=days).validated()
    found: list[InputError] = []  # every problem below is reported at once
    names = list(scenario.strategies) if strategies is None else list(strategies)
    for name in names:
        if name not in scenario.strategies:
            known = ", ".join(scenario.strategies) or "none"
            found.append(InputError(Arg("strategies", name), f": unknown strategy '{name}' "
                                    f"(the scenario has {known})"))
    if len(set(names)) != len(names):
        found.append(InputError(Arg("strategies"), ": a strategy is named twice"))
    data = scenario.to_dict()
    parsed = []
    for lever in levers:
        try:
            p = lever if isinstance(lever, Param) else parse_param(str(lever))
        except ParamError as exc:
            found.append(exc)
            continue
        where = Arg("levers", f"{p.path}={p.spec}")
        if not p.path.startswith("strategies."):
            found.append(ParamError(
                where, ": a lever is a value of a strategy (a path under strategies., e.g. "
                "strategies.fix_courier.interventions.0.amount); other values belong to the "
                "scenario or a calibration"))
            continue
        if not p.varies:
            found.append(ParamError(where, ": a lever needs a range: uniform(a,b), int(a,b) "
                                    "or a list of values"))
            continue
        try:
            p = check_param(p, data, list(scenario.strategies))
        except ParamError as exc:
            found.append(exc)
            continue
        for v in ([p.from_unit(0.0), p.from_unit(1.0)] if p.is_distribution else p.values):
            try:
                build_scenario(data, {p.path: v}, customers, days)
            except ScenarioError as exc:
                found.append(ParamError(where, f": {v!r} is not a valid value of {p.path} "
                                        f"({exc.problems[0]})"))
                break
        owner = p.path.split(".")[1]
        if owner not in names:
            found.append(ParamError(where, f": the lever belongs to strategy '{owner}', which "
                                    "is not among the strategies searched"))
        parsed.append(p)
    if not names:
        found.append(InputError(Arg("strategies"), ": no strategies to choose from (the "
                                "scenario has none)"))
    objs, cons = [], []
    for o in objectives:
        try:
            objs.append(o if isinstance(o, Objective) else Objective.parse(o))
        except InputError as exc:
            found.append(exc)
    if not objectives:
        found.append(InputError(Arg("objectives"), ": give at least one objective, e.g. "
                                "profit:max"))
    for c in constraints:
        try:
            cons.append(c if isinstance(c, Constraint) else Constraint.parse(c))
        except InputError as exc:
            found.append(exc)
    InputErrors.raise_if(found)
    objs, cons = tuple(objs), tuple(cons)
    draws = source = None
    if posterior is not None:
        from .calibrate import Posterior, load_posterior

        post = posterior if isinstance(posterior, Posterior) else load_posterior(posterior,
                                                                                scenario)
        draws, source = post.draws(max(reps, reeval_reps), seed), post.source
    return Search(scenario=scenario, strategies=tuple(names), levers=tuple(parsed),
                  objectives=objs, constraints=cons,
                  budget=None if budget is None else float(budget), trials=trials, reps=reps,
                  batch=batch, reeval_reps=reeval_reps, seed=seed, customers=customers,
                  days=days, robust=None if robust is None else float(robust),
                  scale=scenario.market.size / run_sc.market.size, base=data,
                  seeds=replicate_seeds(seed, reps), draws=draws, posterior_source=source)


# --------------------------------------------------------------------------------------------
# Candidates: their journal records and their figures
# --------------------------------------------------------------------------------------------

_KEYS = {"i", "phase", "theta", "values", "error"}


def _score(search: Search, index: int, phase: str, theta: dict, extra: Any,
           records: list[dict]) -> dict:
    """A candidate's journal record: each metric on each replicate (or its error)."""
    failed = [r for r in records if r["status"] != "done"]
    if failed:
        return {"i": index, "phase": phase, "theta": theta, "values": {},
                "error": failed[0]["error"] or "failed"}
    values = {m: [_number(r["summary"].get(m)) for r in records] for m in search.metrics}
    return {"i": index, "phase": phase, "theta": theta, "values": values, "error": ""}


def _number(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and not math.isfinite(v)) else float(v)


def _array(values: list) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


@dataclass
class Figures:
    """A candidate's objectives, constraint excesses and cost against a baseline."""

    objectives: list[float]
    excess: list[float]
    cost: float
    diffs: dict[str, np.ndarray]
    means: dict[str, float]

    @property
    def feasible(self) -> bool:
        """Every constraint and the budget are met."""
        return all(e <= 0 for e in self.excess)


def figures(search: Search, cand: dict, base: dict) -> Figures | None:
    """The figures of candidate record ``cand`` against baseline record ``base``."""
    if cand["error"] or base["error"]:
        return None
    diffs, means = {}, {}
    for m in search.metrics:
        a, b = _array(cand["values"][m]), _array(base["values"][m])
        diffs[m] = a - b
        means[m] = float(np.nanmean(a)) if np.isfinite(a).any() else math.nan
    objs = []
    for o in search.objectives:
        d = diffs[o.metric][np.isfinite(diffs[o.metric])]
        if not len(d):
            objs.append(math.nan)
            continue
        if search.robust is None:
            objs.append(float(d.mean()))
        else:  # the pessimistic side of the replicates, for the objective's direction
            q = search.robust if o.direction == "max" else 100 - search.robust
            objs.append(float(np.percentile(d, q)))
    cost = means["intervention_cost"] * search.scale
    excess = []
    if search.budget is not None:
        excess.append(cost - search.budget)
    for c in search.constraints:
        d = diffs[c.metric]
        value = (float(np.nanmean(d)) if np.isfinite(d).any() else math.nan) if c.diff \
            else means[c.metric]
        excess.append(c.excess(value))
    return Figures(objs, excess, cost, diffs, means)


def pareto(points: np.ndarray) -> np.ndarray:
    """Indices of the non-dominated rows of ``points`` (every column maximised)."""
    idx = []
    for i, p in enumerate(points):
        if not np.isfinite(p).all():
            continue
        dominated = False
        for j, q in enumerate(points):
            if j != i and np.isfinite(q).all() and np.all(q >= p) and np.any(q > p):
                dominated = True
                break
        if not dominated:
            idx.append(i)
    return np.array(idx, dtype=int)


# --------------------------------------------------------------------------------------------
# The search
# --------------------------------------------------------------------------------------------


def _distributions(search: Search) -> dict:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    dists = {ON + n: CategoricalDistribution([False, True]) for n in search.strategies}
    for p in search.levers:
        if p.dist == "int":
            dists[p.path] = IntDistribution(int(p.low), int(p.high))
        elif p.dist is not None:
            dists[p.path] = FloatDistribution(p.low, p.high, log=p.dist == "loguniform")
        else:
            dists[p.path] = CategoricalDistribution(list(p.values))
    return dists


def _run_search(search: Search, runner: BatchRunner) -> dict:
    """The baseline, then Optuna's multi-objective TPE in batches; the baseline's record."""
    try:
        import optuna
    except ImportError:
        raise InputError("portfolio search needs Optuna: pip install 'cxsim[calibrate]'"
                         ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    base, = runner.evaluate("baseline", [{}], [None])
    if base["error"]:
        raise InputError(Arg("strategies"), f": the baseline itself fails: {base['error']}")
    dists = _distributions(search)

    def constraints(trial) -> list[float]:
        return trial.user_attrs.get("constraints", [0.0])

    constrained = search.budget is not None or bool(search.constraints)
    # Optuna 5 reads constraints set on the trial; Optuna 4 asks a function for them
    per_trial = hasattr(optuna.trial.Trial, "set_constraint")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(
            seed=search.seed, multivariate=True, constant_liar=True,
            constraints_func=constraints if constrained and not per_trial else None,
            n_startup_trials=max(search.batch, 2 * len(dists) + 2))
        study = optuna.create_study(
            directions=["maximize" if o.direction == "max" else "minimize"
                        for o in search.objectives], sampler=sampler)
        for _ in range(search.trials // search.batch):
            trials = [study.ask(dists) for _ in range(search.batch)]
            thetas = [plain(t.params) for t in trials]
            for trial, rec in zip(trials, runner.evaluate("search", thetas,
                                                          [None] * len(thetas)), strict=True):
                f = figures(search, rec, base)
                if f is None or not all(math.isfinite(v) for v in f.objectives):
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                    continue
                excess = [min(e, 1e300) for e in f.excess] or [0.0]
                if per_trial and constrained:
                    for k, e in enumerate(excess):
                        trial.set_constraint(f"c{k}", e)
                else:
                    trial.set_user_attr("constraints", excess)
                study.tell(trial, f.objectives)
    return base


def _signed(search: Search, values: Sequence[float]) -> np.ndarray:
    return np.array([v if o.direction == "max" else -v
                     for o, v in zip(search.objectives, values, strict=True)])


@dataclass
class SearchResult:
    """What :func:`optimise` found.

    ``pareto``: one row per re-evaluated Pareto point (decision columns, then
    ``intervention_cost``, ``feasible``, and per objective ``M``, ``M_ci_low``,
    ``M_ci_high`` from fresh seeds; ``search_M``: the search's own, optimistic estimate);
    ``candidates``: every candidate of the search with its figures; ``best``: the chosen
    portfolio's decisions; ``scenario``: the scenario with the best portfolio as strategy
    ``best``; ``provenance``: ``search.json``.
    """

    pareto: pd.DataFrame
    candidates: pd.DataFrame
    best: dict | None
    scenario: Scenario | None
    provenance: dict
    out: Path | None = None
    ran: int = 0
    wall_seconds: float = 0.0


def _decision_columns(search: Search, theta: dict) -> dict:
    """Decisions as columns; a lever of a strategy that is off has no value (``None``)."""
    row = {name: bool(theta.get(ON + name, False)) for name in search.strategies}
    row.update({p.path: theta.get(p.path) if row[p.path.split(".")[1]] else None
                for p in search.levers})
    return row


def _candidates_table(search: Search, recs: list[dict], base: dict) -> pd.DataFrame:
    rows = []
    for rec in recs:
        f = figures(search, rec, base)
        row = {"index": rec["i"], **_decision_columns(search, rec["theta"])}
        row["intervention_cost"] = f.cost if f else math.nan
        row["feasible"] = bool(f.feasible) if f else False
        for o, v in zip(search.objectives, f.objectives if f else
                        [math.nan] * len(search.objectives), strict=True):
            row[o.metric] = v
        row["error"] = rec["error"]
        rows.append(row)
    return pd.DataFrame(rows)


def _best_scenario(search: Search, theta: dict) -> Scenario:
    """The scenario with the levers set and strategy ``best``: the chosen portfolio."""
    from .params import apply_overrides

    data = apply_overrides(search.base, {k: v for k, v in theta.items()
                                         if not k.startswith(ON)})
    on = [n for n in search.strategies if theta.get(ON + n)]
    data.setdefault("strategies", {})
    interventions = [iv for n in on for iv in data["strategies"][n]["interventions"]]
    data["strategies"]["best"] = {
        "description": "chosen by cxsim optimise: " + (" + ".join(on) or "no strategy"),
        "interventions": interventions}
    return Scenario.from_dict(data)


def optimise(scenario: Scenario, *, strategies: Sequence[str] | None = None,
             levers: Sequence[Any] = (), objectives: Sequence[str] = ("profit:max",),
             constraints: Sequence[str] = (), budget: float | None = None,
             trials: int = TRIALS, reps: int = REPS, batch: int = BATCH,
             reeval_reps: int = REEVAL_REPS, seed: int = 0, customers: int | None = None,
             days: float | None = None, robust: float | None = None, posterior: Any = None,
             executor: Any = None, workers: int | None = None, scheduler: str | None = None,
             ensemble: int | None = None, out: Path | str | None = None,
             resume: bool = False, progress: bool = False, plot: bool = False
             ) -> SearchResult:
    """Search the portfolio of strategies and levers that is best under a budget.

    Parameters
    ----------
    scenario
        The scenario; its strategies are the on/off choices.
    strategies
        The strategies to choose from (default: all of the scenario's).
    levers
        ``["PATH=SPEC", ...]``: values of the strategies to choose (``uniform(a,b)``,
        ``loguniform(a,b)``, ``int(a,b)`` or a list), e.g.
        ``strategies.train_contact_centre.interventions.0.amount=uniform(0,0.3)``.
    objectives
        ``"METRIC:max"``/``"METRIC:min"``: the paired difference from the baseline of a run
        figure (``profit`` is incremental profit net of the interventions' cost).
    constraints, budget
        Bounds ``"METRIC>=X"`` on the portfolio's mean (``METRIC_diff`` for its difference
        from the baseline), and the most the interventions may cost, at the scenario's
        scale (a downsized market's costs are scaled back).
    trials, reps, batch, reeval_reps
        Candidates searched, replicates of each (common random numbers), candidates per
        batch (the result depends on it, not on the workers), replicates of the Pareto
        set's re-evaluation on fresh seeds.
    robust
        Score by this percentile of the replicates' differences on the pessimistic side
        (e.g. 10) instead of their mean.
    posterior
        A ``cxsim calibrate`` folder or result: replicate *r* runs on posterior draw *r*.
    customers, days, seed, executor, workers, scheduler, ensemble
        As for :func:`cxsim.compare`.
    out, resume, progress, plot
        Results folder (``pareto.csv``, ``best.toml``, ``search.json``, the journal;
        figures with ``plot``), continuing an interrupted search, a progress bar.

    """
    search = prepare(scenario, strategies=strategies, levers=levers, objectives=objectives,
                     constraints=constraints, budget=budget, trials=trials, reps=reps,
                     batch=batch, reeval_reps=reeval_reps, seed=seed, customers=customers,
                     days=days, robust=robust, posterior=posterior)
    if not isinstance(executor, Executor):
        check_workers(workers)
    ensemble = check_ensemble(ensemble) if ensemble is not None else search.reps
    with contextlib.ExitStack() as held:
        return _optimise(search, executor, workers, scheduler, ensemble,
                         Path(out) if out is not None else None, resume, progress, plot,
                         held)


def _check_folder(out: Path, resume: bool) -> None:
    check_folder(out, resume, kind="optimise", meta=META, what="search")


def _optimise(search: Search, executor: Any, workers: int | None, scheduler: str | None,
              ensemble: int, out: Path | None, resume: bool, progress: bool, plot: bool,
              held: contextlib.ExitStack) -> SearchResult:
    from .io import read_json

    created = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    fp = search.fingerprint()
    known: dict[int, dict] = {}
    if out is not None:
        _check_folder(out, resume)
        if resume:
            held.enter_context(folder_lock(out, "out"))
            meta = read_json(out / META)
            old = meta.get("fingerprint") if isinstance(meta, dict) else None
            if old != json.loads(json.dumps(fp)):
                diff = next((k for k in fp if not isinstance(old, dict)
                             or old.get(k) != json.loads(json.dumps(fp[k]))), "format")
                raise InputError(Arg("resume", "True"), f": {shown(out)} holds a different "
                                 f"search ({diff} differs)")
            created = meta.get("created") or created
            known = Journal(out / JOURNAL, _KEYS).load()
    executing = Executing(held, executor, workers, scheduler, ensemble)

    def status(name: str, extra: dict | None = None) -> dict:
        return {"format": FORMAT, "kind": "optimise", "status": name, "created": created,
                "scenario": search.scenario.name, "fingerprint": fp,
                "settings": {**fp, "scale": search.scale, "seeds": search.seeds},
                **(extra or {})}

    journal = None
    if out is not None:
        begin_folder(out, resume, held, _check_folder, out / META,
                     json.dumps(status("running"), indent=1) + "\n")
        journal = Journal(out / JOURNAL, _KEYS)
    total = 1 + search.trials + (1 + PARETO_MAX)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc="cxsim optimise", unit="candidate", file=sys.stderr)
    runner = BatchRunner(journal, known, executing.run, specs=search.specs,
                         score=lambda i, ph, th, ex, recs: _score(search, i, ph, th, ex, recs),
                         decode=lambda rec: rec, what="search", bar=bar)
    t0 = time.perf_counter()
    try:
        base = _run_search(search, runner)
        recs = [r for r in runner.evaluations if r["phase"] == "search"]
        table = _candidates_table(search, recs, base)
        ok = table[table["error"] == ""]
        pool_rows = ok[ok["feasible"]] if ok["feasible"].any() else ok
        obj = np.array([_signed(search, [r[o.metric] for o in search.objectives])
                        for _, r in pool_rows.iterrows()]) if len(pool_rows) else np.zeros(
            (0, len(search.objectives)))
        front = pool_rows.iloc[pareto(obj)] if len(pool_rows) else pool_rows
        # one row per portfolio that differs in effect (a lever of a strategy that is off
        # changes nothing, so such candidates ran the same)
        decisions = [*search.strategies, *(p.path for p in search.levers)]
        front = front.loc[~front[decisions].astype(str).duplicated()]
        # the best first (the first objective), at most PARETO_MAX of them
        first = search.objectives[0]
        front = front.sort_values(first.metric, ascending=first.direction == "min",
                                  kind="stable").head(PARETO_MAX)
        fresh = replicate_seeds(search.seed + 1, search.reeval_reps)
        thetas = [recs[int(i) - 1]["theta"] for i in front["index"]]
        base2, *again = runner.evaluate("reeval", [{}, *thetas], [None] * (1 + len(thetas)),
                                        fresh)
    except KeyboardInterrupt:
        executing.stop()
        if bar is not None:
            bar.close()
        if journal is not None:
            journal.close()
        if out is not None:
            with contextlib.suppress(OSError):
                write_atomic(out / META, json.dumps(status("interrupted"), indent=1) + "\n")
            raise SearchInterrupted(f"interrupted: {len(known) + runner.ran} candidates "
                                    "saved; continue with ", Arg("resume", "True")) from None
        raise
    except (ExecutorBroken, WriteFailed) as exc:
        if bar is not None:
            bar.close()
        if journal is not None:
            journal.close()
        raise SearchInterrupted(f"{exc}: {len(known) + runner.ran} candidates saved; "
                                "continue with ", Arg("resume", "True")) from None
    if bar is not None:
        bar.close()
    if journal is not None:
        journal.close()
    wall = time.perf_counter() - t0
    rows = []
    for (_, srow), rec in zip(front.iterrows(), again, strict=True):
        f = figures(search, rec, base2)
        row = _decision_columns(search, rec["theta"])
        row["intervention_cost"] = f.cost if f else math.nan
        row["feasible"] = bool(f.feasible) if f else False
        for o in search.objectives:
            if f is None:
                row[o.metric] = row[f"{o.metric}_ci_low"] = row[f"{o.metric}_ci_high"] = math.nan
            else:
                d = f.diffs[o.metric]
                mean, lo, hi, _, _ = paired_interval(d, np.zeros_like(d))
                row[o.metric] = mean if search.robust is None else f.objectives[
                    search.objectives.index(o)]
                row[f"{o.metric}_ci_low"], row[f"{o.metric}_ci_high"] = lo, hi
            row[f"search_{o.metric}"] = srow[o.metric]
        rows.append(row)
    pareto_table = pd.DataFrame(rows)
    best = None
    scenario = None
    if len(pareto_table):
        feas = pareto_table[pareto_table["feasible"]]
        pick = feas if len(feas) else pareto_table
        k = (pick[first.metric].idxmax() if first.direction == "max"
             else pick[first.metric].idxmin())
        best = plain({c: pick.at[k, c] for c in [*search.strategies,
                                                *(p.path for p in search.levers)]})
        for p in search.levers:  # a whole-number lever stays whole (pandas made it float)
            v = best[p.path]
            if (p.dist == "int" or all(isinstance(x, int) for x in p.values)) and v is not None \
                    and not pd.isna(v):
                best[p.path] = int(round(v))
        theta = {**{ON + n: bool(best[n]) for n in search.strategies},
                 **{p.path: best[p.path] for p in search.levers
                    if best[p.path] is not None and not pd.isna(best[p.path])}}
        scenario = _best_scenario(search, theta)
    meta = status("complete", {
        "candidates": len(recs), "evaluated": len(runner.evaluations),
        "wall_seconds": round(wall, 3),
        "executor": runner.executor, "pareto": len(pareto_table),
        "reeval_seeds": fresh, "best": best,
        "posterior": search.posterior_source})
    meta["runs"] = (search.reps * (1 + len(recs))
                    + search.reeval_reps * (1 + len(pareto_table)))
    result = SearchResult(pareto=pareto_table, candidates=table, best=best,
                          scenario=scenario, provenance=meta, out=out, ran=runner.ran,
                          wall_seconds=wall)
    if out is not None:
        write_outputs(result, search, out, plot=plot)
    return result


def write_outputs(result: SearchResult, search: Search, out: Path, *,
                  plot: bool = False) -> list[str]:
    """``pareto.csv``, ``candidates.csv``, ``best.toml``, figures and ``search.json``."""
    import tomli_w

    names = []
    write_atomic(out / "pareto.csv", result.pareto.to_csv(index=False))
    write_atomic(out / "candidates.csv", result.candidates.to_csv(index=False))
    names += ["pareto.csv", "candidates.csv"]
    if result.scenario is not None:
        lines = ["# Chosen by cxsim optimise: strategy 'best' is the portfolio; run it with",
                 "#   cxsim compare best.toml --strategies best"]
        for k, v in (result.best or {}).items():
            lines.append(f"#   {k} = {v!r}")
        write_atomic(out / "best.toml", "\n".join(lines) + "\n\n"
                     + tomli_w.dumps(result.scenario.to_dict()))
        names.append("best.toml")
    if plot:
        from .plots import optimise_figures

        names += optimise_figures(result, search, out)
    write_atomic(out / META, json.dumps(result.provenance, indent=1, default=str) + "\n")
    names.append(META)
    return names


def format_result(result: SearchResult, search: Search) -> str:
    """The re-evaluated Pareto set as a text table, the chosen portfolio first."""
    t = result.pareto
    if t.empty:
        return "no portfolio ran without failing"
    lines = [f"Pareto set re-evaluated on {search.reeval_reps} fresh replicates (paired "
             "differences from the baseline, 95 % intervals):"]
    for _, r in t.iterrows():
        on = [n for n in search.strategies if r[n]] or ["no strategy"]
        levers = ", ".join(f"{p.path.split('.', 1)[1]}={r[p.path]:.4g}"
                           if isinstance(r[p.path], float) else f"{p.path}={r[p.path]}"
                           for p in search.levers
                           if r[p.path] is not None and not pd.isna(r[p.path]))
        head = " + ".join(on) + (f" ({levers})" if levers else "")
        figs = "; ".join(
            f"{o.metric} {format_value(o.metric, r[o.metric], signed=True)} "
            f"[{format_value(o.metric, r[f'{o.metric}_ci_low'], signed=True)}, "
            f"{format_value(o.metric, r[f'{o.metric}_ci_high'], signed=True)}]"
            for o in search.objectives)
        cost = format_value("intervention_cost", r["intervention_cost"])
        flag = "" if r["feasible"] else "  (infeasible)"
        lines.append(f"  {head}: {figs}; cost {cost}{flag}")
    if result.best is not None:
        on = [n for n in search.strategies if result.best[n]] or ["no strategy"]
        lines.append(f"best (first objective, feasible): {' + '.join(on)}")
    return "\n".join(lines)


__all__ = ["Constraint", "Objective", "Search", "SearchResult", "figures", "format_result",
           "optimise", "pareto", "prepare", "write_outputs"]
