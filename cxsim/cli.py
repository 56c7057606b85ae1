"""The ``cxsim`` command line.

Exit codes: 0 success; 2 bad input (scenario, flags, paths) with one line per problem and no
traceback; 1 anything else.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import math
import os
import sys
import time
import warnings
from pathlib import Path

from .errors import InputError, InputErrors, Worded, flag_words
from .executors import (
    MAX_ENSEMBLE,
    MAX_REPLICATIONS,
    MAX_RUNS,
    MAX_TICK_ROWS,
    WORKERS_PER_CORE,
    RunsFailed,
    max_workers,
)
from .io import RESULTS_FORMAT, Stage, atomic_path, folder_lock
from .io import write_atomic as _write_atomic
from .limits import MAX_PARAMS, MAX_POINTS, MAX_SAMPLES, MAX_VALUES
from .scenario import (
    DEFAULT_SCENARIO,
    Scenario,
    ScenarioError,
    find_scenario,
    load_scenario,
    scenario_dir,
    size_problems,
)
from .vocabulary import BY_NAME, HEADLINE, is_currency

#: the flag of each library argument named in errors and notes
FLAGS = {"params": "--param", "design": "--design", "samples": "--samples", "out": "--out",
         "outcomes": "--outcomes", "fmt": "--format", "resume": "--resume",
         "scheduler": "--scheduler", "customers": "--customers", "days": "--days",
         "strategy": "--strategy", "replications": "--reps", "seed": "--seed",
         "workers": "--workers", "ticks": "--ticks", "ensemble": "--ensemble",
         "method": "--method", "budget": "--budget", "reps": "--reps", "batch": "--batch",
         "check_reps": "--check-reps", "targets": "--targets", "posterior": "--posterior",
         "levers": "--lever", "objectives": "--objective", "constraints": "--constraint",
         "strategies": "--strategies",
         "reeval_reps": "--reeval-reps", "robust": "--robust", "trials": "--trials"}

#: the flags that take no value
SWITCHES = ("resume", "ticks")

#: limits of the command line's numbers and lists (each flag's --help states its own)
MAX_CUSTOMERS = 50_000_000   # the scenario schema's largest market.size
MAX_DAYS = 36_500            # a hundred years
MAX_SETS = 1_000             # --set given this many times at most
MAX_NAMES = 100              # names in --strategies or --outcomes

#: lines of a list of problems printed before "... and N more" (a screenful)
SCREENFUL = 20

#: the shipped scenarios, as --help names them (a SCENARIO argument may be one of these)
_SHIPPED = "retail, telco, bank, hotel, coffee"
_SCENARIO_HELP = (f"scenario TOML file or shipped name ({_SHIPPED}; default: built-in "
                  f"{DEFAULT_SCENARIO.removesuffix('.toml')})")

#: the addresses ``cxsim viz --host`` serves only this machine on
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


def in_flags(text) -> str:
    """A library error or note worded with this command's flags (other text unchanged)."""
    if isinstance(text, Worded):
        return text.render(flag_words(FLAGS, SWITCHES))
    return str(text)


class UsageError(Exception):
    """Bad input from the command line (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    """Argparse that refuses with :class:`UsageError` and reports every bad value at once.

    A value its type refuses (``--days -1``, ``--reps 0``) is collected in :attr:`problems`
    while parsing goes on; :func:`main` refuses them all together, a line each.
    """

    #: problems of the values found so far (shared by the command's subparsers)
    problems: list[str] | None = None

    def error(self, message: str) -> None:  # one line, exit 2 (argparse prints usage too)
        found = _Parser.problems or []
        _Parser.problems = None
        raise UsageError("\n".join([*found, f"{self.prog}: {message}"]))

    def _get_value(self, action, arg_string):
        try:
            return super()._get_value(action, arg_string)
        except argparse.ArgumentError as exc:
            if _Parser.problems is None:
                raise
            _Parser.problems.append(f"{self.prog}: {exc}")
            return None

    def _check_value(self, action, value):
        if value is None and _Parser.problems:
            return  # a value refused above: not checked again
        if isinstance(action, argparse._SubParsersAction):  # no command: nothing more to check
            return super()._check_value(action, value)
        try:
            super()._check_value(action, value)
        except argparse.ArgumentError as exc:
            if _Parser.problems is None:
                raise
            _Parser.problems.append(f"{self.prog}: {exc}")

    def parse_args(self, args=None, namespace=None):
        """Parse as argparse does; raise one :class:`UsageError` listing every bad value."""
        _Parser.problems = []
        try:
            parsed = super().parse_args(args, namespace)
            found = _Parser.problems
        finally:
            _Parser.problems = None
        if found:
            raise UsageError("\n".join(found))
        return parsed


def _whole(name: str, least: int, below: str = "{name} must be at least {least}, got {value}",
           most: int | None = None, why: str = ""):
    """Argparse type: a whole number in ``least..most``; ``below`` words the refusal."""
    def conv(text: str) -> int:
        t = text.strip()
        digits = t.lstrip("+-").lstrip("0")
        if len(digits) > 30:  # no int() of a huge text; far beyond any limit either way
            t = ("-" if t.startswith("-") else "") + "9" * 31
        try:
            value = int(t)
        except ValueError:
            msg = f"{name} must be a whole number, got {_short(text)!r}"
            raise argparse.ArgumentTypeError(msg) from None
        if value < least:
            raise argparse.ArgumentTypeError(below.format(name=name, least=least,
                                                          value=_short(text)))
        if most is not None and value > most:
            raise argparse.ArgumentTypeError(f"{name} must be at most {most:,}{why}, got "
                                             f"{_short(text)}")
        return value
    return conv


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:30] + "..." + text[-6:]


_seed = _whole("--seed", 0, "--seed must be non-negative, got {value}")
_reps = _whole("--reps", 2, "--reps must be at least 2 (intervals need two replications)",
               most=MAX_REPLICATIONS)


def _workers(text: str) -> int:
    most = max_workers()
    return _whole("--workers", 1, most=most,
                  why=f" ({WORKERS_PER_CORE} per core of this machine)")(text)


def _positive_float(name: str, most: float | None = None, why: str = ""):
    def conv(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, got "
                                             f"{_short(text)!r}") from None
        if not (value > 0 and math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"{name} must be positive, got {_short(text)}")
        if most is not None and value > most:
            raise argparse.ArgumentTypeError(f"{name} must be at most {most:,}{why}, got "
                                             f"{_short(text)}")
        return value
    return conv


_days = _positive_float("--days", MAX_DAYS, " (a hundred years)")
_customers = _whole("--customers", 1, most=MAX_CUSTOMERS)
_DAYS_HELP = (f"days to simulate, a whole number of ticks (simulation.tick_days; at most "
              f"{MAX_DAYS:,})")
_CUSTOMERS_HELP = ("market size: prospects, customers and churned together (more than "
                   f"market.mean_degree; at most {MAX_CUSTOMERS:,})")


_viz_customers = _whole("--customers", 1000, most=MAX_CUSTOMERS)
_ensemble = _whole("--ensemble", 1, most=MAX_ENSEMBLE)
_ENSEMBLE_HELP = ("advance up to N runs together in one model and one kernel pass a tick "
                  "(an ensemble; a task of the pool each); results are the same as one by "
                  f"one (default: one by one; at most {MAX_ENSEMBLE:,})")


def _workers_help() -> str:
    return (f"worker processes (default: all cores; 1 = in this process; at most "
            f"{WORKERS_PER_CORE} per core, {max_workers()} here)")


def _add_scheduler(p: argparse.ArgumentParser) -> None:
    """``--scheduler``: where many runs go on Dask (sweep, calibrate)."""
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on Dask: 'local' starts a LocalCluster; tcp://HOST:PORT uses a "
                        "running scheduler (needs the dask extra)")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``cxsim`` command."""
    p = _Parser(prog="cxsim", description="Simulate customer-experience ecosystems.")
    p.add_argument("--version", action="version", version=_version())
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    r = sub.add_parser("run", help="one run of a scenario; writes metrics.csv and summary.json",
                       description="Run one scenario (the built-in default if none is given) "
                                   "and write DIR/metrics.csv (one row per tick) and "
                                   "DIR/summary.json.")
    r.add_argument("scenario", nargs="?", help=_SCENARIO_HELP)
    r.add_argument("--days", type=_days, help=_DAYS_HELP)
    r.add_argument("--customers", type=_customers, help=_CUSTOMERS_HELP)
    r.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")
    r.add_argument("--strategy", metavar="NAME",
                   help="apply one of the scenario's strategies, or several joined by + "
                        "(a+b: both sets of interventions, as compare and sweep run them; "
                        "default: baseline, no interventions)")
    r.add_argument("--engine", choices=("numba", "mesa"), default="numba",
                   help="numba kernel (default) or Mesa agents stepped in Python")
    r.add_argument("--threads", type=_whole("--threads", 1),
                   help="numba threads (default: all cores)")
    r.add_argument("--out", default="cxsim-results", help="output folder (default "
                   "./cxsim-results), written whole: new, empty or an earlier run's")
    r.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                   help="set one scenario value by path, e.g. "
                        f"teams.contact_centre.headcount=14 (repeatable, at most {MAX_SETS:,} "
                        "times)")
    r.add_argument("--replay", metavar="SWEEP_DIR",
                   help="re-run one row of a sweep (with --run-id) and check its outcomes")
    r.add_argument("--run-id", type=_whole("--run-id", 0), metavar="N",
                   help="the run_id of the sweep row to replay (with --replay)")
    r.add_argument("--plot", action="store_true",
                   help="also write the run's figures (KPI dashboard, journey map, flows, "
                        "NPS split, retention curves, employees and partners) as PNG")
    _add_plot_format(r)
    r.add_argument("--quiet", action="store_true", help="print nothing but errors")
    r.set_defaults(func=cmd_run)

    c = sub.add_parser("compare", help="strategies vs baseline over paired replications; "
                                       "writes comparison.csv, runs.csv, ticks.csv, roi.csv",
                       description="Run the baseline and each strategy (all the scenario's "
                                   "strategies unless --strategies) R times with paired seeds "
                                   "(replicate r of every strategy shares one seed) and write "
                                   "DIR/comparison.csv (mean and strategy − baseline "
                                   "difference with 95 % intervals per metric; differences "
                                   "of percentages in percentage points; columns fixed, for "
                                   "a figure the same in every replicate such as an "
                                   "intervention's cost, and extrapolated, for monthly churn "
                                   "or annual retention compounded from shorter runs), "
                                   "DIR/runs.csv (one row per run, with its seed), "
                                   "DIR/ticks.csv (per-tick metrics of every run), "
                                   "DIR/roi.csv (intervention cost, incremental profit, ROI, "
                                   "payback) and DIR/compare.json (the settings, with the "
                                   "values set by --set). While it runs, DIR holds "
                                   "resume.json and runs.jsonl (one line per finished run) "
                                   "beside an earlier comparison, if any, which is replaced "
                                   "whole only when this one is complete (until then cxsim "
                                   "plot refuses the folder): after Ctrl-C or a killed "
                                   "process, --resume runs the rest and gives the result an "
                                   "uninterrupted comparison gives. "
                                   "Every problem of the input is reported at once, one line "
                                   "each (exit code 2), before anything runs or is written.")
    c.add_argument("scenario", nargs="?", help=_SCENARIO_HELP)
    c.add_argument("--strategies", metavar="A,B",
                   help="comma-separated strategy names; A+B is one strategy with both sets "
                        "of interventions, as in cxsim sweep (default: all of the "
                        f"scenario's; at most {MAX_NAMES})")
    c.add_argument("--reps", type=_collecting(_reps, "--reps"),
                   help=f"paired replications per strategy, 2 to {MAX_REPLICATIONS:,} "
                        "(default 10); strategies × reps × ticks at most 5,000,000")
    c.add_argument("--days", type=_collecting(_days, "--days"), help=_DAYS_HELP)
    c.add_argument("--customers", type=_collecting(_customers, "--customers"),
                   help=_CUSTOMERS_HELP)
    c.add_argument("--seed", type=_collecting(_seed, "--seed"),
                   help="root seed; replicate seeds are spawned from it (default 0)")
    c.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                   help="set one scenario value by path, e.g. "
                        f"teams.contact_centre.headcount=14 (repeatable, at most {MAX_SETS:,} "
                        "times); printed, and recorded in compare.json as overrides")
    c.add_argument("--workers", type=_collecting(_workers, "--workers"), help=_workers_help())
    c.add_argument("--ensemble", type=_collecting(_ensemble, "--ensemble"), metavar="N",
                   help=_ENSEMBLE_HELP)
    c.add_argument("--posterior", metavar="DIR",
                   help="a cxsim calibrate folder: replicate r of every strategy runs on "
                        "posterior draw r (intervals with parameter uncertainty), beside the "
                        "same comparison at the point estimate (noise only)")
    c.add_argument("--out", default="cxsim-compare", help="output folder (default "
                   "./cxsim-compare): new, empty or an earlier finished comparison's "
                   "(replaced whole when this one is complete); not one holding a "
                   "comparison in progress (continue that with --resume)")
    c.add_argument("--resume", action="store_true",
                   help="continue the interrupted comparison in --out: its finished runs are "
                        "kept, the rest run; the settings are the folder's (the scenario, "
                        "--set, --strategies, --reps, --seed, ... given again must be the "
                        "same)")
    c.add_argument("--plot", action="store_true",
                   help="also write DIR/comparison_bands.png and DIR/forest_plot.png")
    _add_plot_format(c)
    c.add_argument("--quiet", action="store_true", help="print nothing but errors")
    # a mistyped flag is reported with the other problems (cmd_compare), not alone
    c.__class__ = _CollectingParser
    c.set_defaults(func=cmd_compare)

    w = sub.add_parser(
        "sweep", help="parameter sweep (grid, lhs, sobol, morris); writes runs.parquet and "
                      "sensitivity.csv",
        description="Run a scenario over a design of parameter values, R replications per "
                    "point, on every core (or a Dask cluster), and write DIR/runs.parquet "
                    "(runs.csv without pyarrow): one row per run with its parameters, seed, "
                    "status and outcomes; DIR/sensitivity.csv for sobol/morris; "
                    "DIR/sweep.json (provenance). Runs are saved as they finish: an "
                    "interrupted sweep continues with --resume.",
        epilog="SPEC is a list (8,10,12), a range START:STOP:COUNT (0.5:0.9:5), or for "
               "lhs/sobol/morris a distribution: uniform(a,b), loguniform(a,b), int(a,b). "
               "PATH addresses any scenario value (teams.contact_centre.headcount, "
               "touchpoints.chat.quality, segments.loyal.base_churn, pathways.0.weight, "
               "strategies.fix_courier.interventions.0.amount); PATH 'strategy' picks the "
               "strategy (baseline,a,b or a+b). Example: cxsim sweep --param "
               "teams.contact_centre.headcount=8,10,12,14 --param "
               "strategy=baseline,train_contact_centre --reps 3")
    w.add_argument("scenario", nargs="?", help=_SCENARIO_HELP[:-1]
                   + "; with --resume: the sweep's own)")
    w.add_argument("--param", action="append", default=[], metavar="PATH=SPEC",
                   help=f"a parameter and its values (repeatable, at most {MAX_PARAMS} "
                        f"parameters of at most {MAX_VALUES:,} values each)")
    w.add_argument("--design", choices=("grid", "lhs", "sobol", "morris"),
                   help="grid (default): every combination; lhs: Latin hypercube; sobol: "
                        "Saltelli design, N(D+2) points; morris: r trajectories, r(D+1) "
                        f"points; at most {MAX_POINTS:,} points")
    w.add_argument("--samples", type=_whole("--samples", 2, most=MAX_SAMPLES), metavar="N",
                   help="lhs points, sobol base samples N, or morris trajectories r "
                        f"(defaults 50, 64, 10; at most {MAX_SAMPLES:,})")
    w.add_argument("--reps", type=_whole("--reps", 1, most=MAX_REPLICATIONS),
                   help="replications per design point (default 1; at most "
                        f"{MAX_REPLICATIONS:,}); replicate r uses the same seed at every "
                        f"point; points × reps at most {MAX_RUNS:,} runs")
    w.add_argument("--seed", type=_seed, help="root seed (default 0)")
    w.add_argument("--strategy", metavar="NAME", help="a strategy every run applies")
    w.add_argument("--days", type=_days, help=_DAYS_HELP)
    w.add_argument("--customers", type=_customers,
                   help="market size of every run (the business scales with it; at most "
                        f"{MAX_CUSTOMERS:,})")
    w.add_argument("--outcomes", metavar="A,B",
                   help="outcomes to analyse for sobol/morris (default: "
                        f"{', '.join(HEADLINE)})")
    w.add_argument("--ticks", action="store_true", default=None,
                   help="also write DIR/ticks.parquet: per-tick metrics of every run (runs × "
                        f"ticks at most {MAX_TICK_ROWS:,})")
    w.add_argument("--format", choices=("parquet", "csv"), dest="fmt",
                   help="runs table format (default: parquet if pyarrow is installed)")
    w.add_argument("--workers", type=_workers, help=_workers_help())
    w.add_argument("--ensemble", type=_ensemble, metavar="N", help=_ENSEMBLE_HELP)
    _add_scheduler(w)
    w.add_argument("--out", default="cxsim-sweep", help="output folder (default "
                   "./cxsim-sweep): new or empty, or the sweep to --resume")
    w.add_argument("--resume", action="store_true",
                   help="continue the interrupted sweep in --out (options not given are "
                        "taken from it; options given must match it)")
    w.add_argument("--plot", action="store_true",
                   help="also write the sweep's figures (heatmap or sensitivity bars)")
    _add_plot_format(w)
    w.add_argument("--quiet", action="store_true", help="print nothing but errors")
    w.set_defaults(func=cmd_sweep)

    k = sub.add_parser(
        "calibrate", help="fit scenario parameters to observed data (targets file)",
        description="Fit parameters of a scenario to an organisation's own numbers: observed "
                    "metrics over windows of days (--targets) and parameters with priors "
                    "(--param PATH=uniform(a,b)). Finds the point estimate (MAP) with "
                    "Optuna's TPE and a posterior by adaptive importance sampling; writes "
                    "DIR/calibrated.toml (the scenario with the estimate), "
                    "DIR/posterior.parquet (posterior.csv without pyarrow: one row per "
                    "sample, one column per parameter, weight), DIR/fit.csv (each target: "
                    "observed against simulated before, at the estimate and over the "
                    "posterior), DIR/estimates.csv and DIR/calibration.json. Evaluations "
                    "are saved as they finish: an interrupted calibration continues with "
                    "--resume.",
        epilog="TARGETS: a CSV (or Parquet) file with columns metric, day_from, day_to, "
               "value and optional n (customers at risk, respondents, contacts), sd (the "
               "value's standard error), segment / touchpoint / team (a part of the model), "
               "weight, likelihood, dispersion; see the README's 'Bring your own numbers'. "
               "Example: cxsim calibrate --targets observed.csv --param "
               "segments.loyal.base_churn=uniform(0.005,0.04) --customers 20000")
    k.add_argument("scenario", nargs="?", help=_SCENARIO_HELP[:-1]
                   + "; with --resume: the calibration's own)")
    k.add_argument("--targets", metavar="FILE", help="the observed data (CSV; Parquet with "
                   "pyarrow)")
    k.add_argument("--param", action="append", default=[], metavar="PATH=SPEC",
                   help="a parameter to fit and its prior: uniform(a,b), loguniform(a,b) or "
                        f"int(a,b) (repeatable, at most {MAX_PARAMS})")
    k.add_argument("--method", choices=("tpe", "prior"),
                   help="tpe (default): Optuna's TPE search, then adaptive importance "
                        "sampling (needs the calibrate extra); prior: importance sampling "
                        "of the prior")
    k.add_argument("--budget", type=_whole("--budget", 1), metavar="N",
                   help="parameter sets evaluated in all (default 240; tpe: half search, "
                        "half posterior samples)")
    k.add_argument("--reps", type=_whole("--reps", 1, most=MAX_REPLICATIONS),
                   help="replicate runs per parameter set, with the same seeds for every set "
                        "(default 4)")
    k.add_argument("--batch", type=_whole("--batch", 1, most=1024), metavar="N",
                   help="parameter sets proposed and run at a time (default 8); the result "
                        "depends on it, not on --workers")
    k.add_argument("--check-reps", type=_whole("--check-reps", 2, most=MAX_REPLICATIONS),
                   metavar="R", help="replicates of the check runs before and at the "
                                     "estimate, on fresh seeds (default 20; the runs before "
                                     "also measure the correlation within each series of "
                                     "targets)")
    k.add_argument("--seed", type=_seed, help="root seed (default 0)")
    k.add_argument("--days", type=_days, help=_DAYS_HELP)
    k.add_argument("--customers", type=_customers,
                   help="simulated market size (counts are scaled to the scenario's market; "
                        f"at most {MAX_CUSTOMERS:,})")
    k.add_argument("--workers", type=_workers, help=_workers_help())
    k.add_argument("--ensemble", type=_ensemble, metavar="N", help=_ENSEMBLE_HELP
                   + " (default: each parameter set's replicates together)")
    _add_scheduler(k)
    k.add_argument("--out", default="cxsim-calibration", help="output folder (default "
                   "./cxsim-calibration): new or empty, or the calibration to --resume")
    k.add_argument("--resume", action="store_true",
                   help="continue the interrupted calibration in --out (options not given "
                        "are taken from it; options given must match it)")
    k.add_argument("--plot", action="store_true",
                   help="also write figures: observed against simulated per target metric, "
                        "posterior marginals and pairs, the search's history")
    k.add_argument("--quiet", action="store_true", help="print nothing but errors")
    k.set_defaults(func=cmd_calibrate)

    o = sub.add_parser(
        "optimise", aliases=["optimize"],
        help="portfolio search: which strategies and lever values under a budget",
        description="Search the portfolio of the scenario's strategies (each on or off) "
                    "and levers (values of the strategies) that is best for the "
                    "objectives under a budget and constraints: Optuna's multi-objective "
                    "TPE, each candidate scored by its paired differences from the "
                    "baseline over --reps common-random-number replicates. The Pareto "
                    "set is re-evaluated on fresh seeds (no winner's curse). Writes "
                    "DIR/pareto.csv, DIR/best.toml (the scenario with strategy 'best'; "
                    "cxsim compare DIR/best.toml --strategies best), DIR/candidates.csv "
                    "and DIR/search.json.",
        epilog="Example: cxsim optimise --objective profit:max --objective nps:max "
               "--budget 250000 --lever "
               "'strategies.train_contact_centre.interventions.0.amount=uniform(0,0.3)' "
               "--constraint 'service_level>=0.6' --customers 20000 --trials 200")
    o.add_argument("scenario", nargs="?", help=_SCENARIO_HELP[:-1]
                   + "; with --resume: the search's own)")
    o.add_argument("--strategies", metavar="A,B",
                   help="the strategies to choose from (default: all of the scenario's)")
    o.add_argument("--lever", action="append", default=[], metavar="PATH=SPEC",
                   help="a value of a strategy to choose, in the sweep syntax "
                        "(uniform(a,b), int(a,b), a list); repeatable")
    o.add_argument("--objective", action="append", default=[], metavar="METRIC:max|min",
                   help="a run figure's difference from the baseline to maximise or "
                        "minimise (default profit:max, incremental profit net of the "
                        "interventions' cost); repeatable")
    o.add_argument("--budget", type=float, metavar="AMOUNT",
                   help="most the interventions may cost in all, at the scenario's scale")
    o.add_argument("--constraint", action="append", default=[], metavar="EXPR",
                   help="a bound on a run figure (service_level>=0.8) or on its "
                        "difference from the baseline (nps_diff>0); repeatable")
    o.add_argument("--trials", type=_whole("--trials", 1), metavar="N",
                   help="candidates to search (default 200)")
    o.add_argument("--reps", type=_whole("--reps", 2, most=MAX_REPLICATIONS),
                   help="replicates of each candidate and the baseline, same seeds "
                        "(default 5)")
    o.add_argument("--batch", type=_whole("--batch", 1, most=1024), metavar="N",
                   help="candidates proposed and run at a time (default 10)")
    o.add_argument("--reeval-reps", type=_whole("--reeval-reps", 2,
                                                most=MAX_REPLICATIONS), metavar="R",
                   help="replicates of the Pareto set's re-evaluation on fresh seeds "
                        "(default 10)")
    o.add_argument("--robust", type=float, metavar="PCT",
                   help="score by this percentile of the replicates on the pessimistic "
                        "side (e.g. 10) instead of their mean")
    o.add_argument("--posterior", metavar="DIR",
                   help="a cxsim calibrate folder: replicate r runs on posterior draw r")
    o.add_argument("--seed", type=_seed, help="root seed (default 0)")
    o.add_argument("--days", type=_days, help=_DAYS_HELP)
    o.add_argument("--customers", type=_customers, help=_CUSTOMERS_HELP)
    o.add_argument("--workers", type=_workers, help=_workers_help())
    o.add_argument("--ensemble", type=_ensemble, metavar="N", help=_ENSEMBLE_HELP)
    _add_scheduler(o)
    o.add_argument("--out", default="cxsim-optimise", help="output folder (default "
                   "./cxsim-optimise): new or empty, or the search to --resume")
    o.add_argument("--resume", action="store_true",
                   help="continue the interrupted search in --out (give the same options)")
    o.add_argument("--plot", action="store_true",
                   help="also write the Pareto front with intervals and the budget line, "
                        "and each lever's trade-off")
    o.add_argument("--quiet", action="store_true", help="print nothing but errors")
    o.set_defaults(func=cmd_optimise)

    from .discover_cli import add_parser as add_discover

    add_discover(sub)

    pl = sub.add_parser("plot", help="figures from a results folder (run, compare, sweep or "
                                     "calibrate)",
                        description="Render every figure that fits the results in DIR (from "
                                    "cxsim run, compare, sweep or calibrate) as PNG files (or "
                                    "--format svg, pdf) in DIR.")
    pl.add_argument("folder", metavar="DIR", help="a results folder")
    pl.add_argument("--format", type=_figure_formats, default=("png",), metavar="F[,F]",
                    dest="formats",
                    help="figure formats, comma separated: png (default), svg, pdf; e.g. "
                         "png,svg,pdf")
    pl.add_argument("--quiet", action="store_true", help="print nothing but errors")
    pl.set_defaults(func=cmd_plot)

    rp = sub.add_parser("report", help="one self-contained HTML report of a results folder "
                                       "(run, compare, sweep or calibrate)",
                        description="Write one HTML file about the results in DIR (from "
                                    "cxsim run, compare, sweep or calibrate): the settings, "
                                    "a headline table with 95 % intervals where there are "
                                    "replications, the figures, what each number means and "
                                    "what to read with care. Everything is inside the file "
                                    "(figures embedded): it opens offline, e.g. from an "
                                    "e-mail attachment.")
    rp.add_argument("folder", metavar="DIR", help="a results folder")
    rp.add_argument("--out", metavar="FILE",
                    help="the HTML file to write (default DIR/report.html)")
    rp.add_argument("--no-figures", action="store_true",
                    help="tables and text only (smaller, and quicker for a large sweep)")
    rp.add_argument("--quiet", action="store_true", help="print nothing but errors")
    rp.set_defaults(func=cmd_report)

    z = sub.add_parser("viz", help="interactive workshop app in the browser (viz extra)",
                       description="Serve the interactive workshop app on localhost: sliders "
                                   "for the scenario's key levers, reset/play/step, live KPI "
                                   "plots and the touchpoint network (a Solara page; a Mesa "
                                   "model). The first start fetches the app's front end from "
                                   "npm if it is missing (python -m cxsim.viz_assets does it "
                                   "ahead). Stop it with Ctrl-C.")
    z.add_argument("scenario", nargs="?", help=_SCENARIO_HELP)
    z.add_argument("--port", type=_port, default=8765,
                   help="port (default 8765; 0 = any free port)")
    z.add_argument("--host", default="localhost", help="address to serve on (default "
                   "localhost; 0.0.0.0 lets others in the room connect, with a warning: "
                   "anyone who can reach this machine can then run simulations on it)")
    z.add_argument("--customers", type=_viz_customers, metavar="N",
                   help="market size the page starts with (default: the scenario's; a "
                        "smaller market runs faster on a slow laptop)")
    z.add_argument("--open", action="store_true", help="open a web browser when ready")
    z.set_defaults(func=cmd_viz)

    s = sub.add_parser(
        "show", help="a scenario's values by path, with their ranges, and its strategies",
        description="List every value of a scenario by the path --set and --param take, "
                    "with its value, the range the schema accepts and what it means, "
                    "grouped by section; strategies with their interventions.",
        epilog="Example: cxsim show retail segments.loyal; cxsim show telco --section "
               "strategies; cxsim show bank --json")
    s.add_argument("scenario", nargs="?", help=_SCENARIO_HELP)
    s.add_argument("prefix", nargs="?", metavar="PATH",
                   help="only the values under this path (segments.loyal, "
                        "teams.contact_centre.headcount)")
    s.add_argument("--section", metavar="NAME",
                   help="only this section (market, segments, touchpoints, teams, "
                        "strategies, ...)")
    s.add_argument("--json", action="store_true",
                   help="print JSON: the values with their ranges, and the strategies")
    s.set_defaults(func=cmd_show)

    v = sub.add_parser("validate", help="check a scenario file",
                       description="Check a scenario file: exit 0 if valid, 2 with one line "
                                   "per problem.")
    v.add_argument("scenario", help=f"scenario TOML file or shipped name ({_SHIPPED})")
    v.set_defaults(func=cmd_validate)
    return p


def _version() -> str:
    from . import __version__

    return f"cxsim {__version__}"


def _load(path: str | None) -> Scenario:
    if path is None:
        return load_scenario(scenario_dir() / DEFAULT_SCENARIO)
    return load_scenario(path)


def _set_threads(threads: int | None) -> int:
    import numba

    if threads is not None:
        limit = numba.config.NUMBA_NUM_THREADS
        if threads > limit:
            raise UsageError(f"--threads must be at most {limit} (NUMBA_NUM_THREADS), "
                             f"got {threads}")
        numba.set_num_threads(threads)
    return numba.get_num_threads()


def cmd_run(args: argparse.Namespace) -> int:
    """``cxsim run``: one run, written to ``--out`` (a new folder swapped in whole)."""
    if args.engine == "numba":
        # a cold numba cache: the customer kernel compiles in a second process meanwhile
        from .kernels import precompile

        precompile.start()
    from .runner import run

    if args.run_id is not None and args.replay is None:
        raise UsageError("--run-id needs --replay SWEEP_DIR (it picks the row of a sweep to "
                         "re-run)")
    replay = _replay_target(args) if args.replay is not None else None
    overrides: dict = {}
    if replay is not None:
        scenario, args.seed, args.strategy, recorded = replay
    else:
        scenario, overrides = _scenario_with(args.scenario, args.set, args.customers,
                                             args.days)
        recorded = None
    from .params import strategy_of

    strategy = strategy_of(args.strategy)  # "a+b": both strategies' interventions
    if strategy is not None:
        from .strategies import resolve

        resolve(scenario, strategy)  # unknown name, horizon: exit 2 before running
    threads = _set_threads(args.threads)
    from . import __version__

    if overrides and not args.quiet:
        print("--set " + ", ".join(f"{p}={_value_text(v)}" for p, v in overrides.items()))

    with Stage(args.out, "run") as stage:  # --out checked, the new folder made: before running
        if replay is None:  # (after every check: a warning, not a problem of the input)
            _warn_small_teams(args.scenario, overrides, args.customers, args.quiet)
        t0 = time.perf_counter()
        result = run(scenario, args.seed, engine=args.engine, strategy=strategy,
                     progress=not args.quiet and sys.stderr.isatty(), notice=not args.quiet)
        wall = time.perf_counter() - t0
        summary = {**result.summary, "seed": args.seed,
                   "strategy": args.strategy or "baseline", "engine": args.engine,
                   "threads": threads, "scenario_hash": scenario.content_hash(),
                   "cxsim_version": __version__, "tick_days": scenario.simulation.tick_days,
                   "format": RESULTS_FORMAT, "wall_seconds": round(wall, 3),
                   "overrides": overrides, "currency": scenario.economics.currency,
                   "interventions": _interventions(scenario, strategy, result.triggers)}
        tables = {"metrics": result.metrics, "touchpoints": result.touchpoints,
                  "flows": result.flows, "segments": result.segments, "queues": result.queues,
                  "partners": result.partners, "employees": result.employees}
        if not result.retention.empty:  # proactive retention's waves
            tables["retention"] = result.retention
        if result.voice is not None:  # a voice_of_customer programme: its decisions
            from .voice import summary as voice_summary

            tables["voice"] = result.voice
            summary["voice_of_customer"] = voice_summary(result.voice,
                                                         int(result.summary.get("ticks", 0)))
        if "trigger_activations" in result.summary:  # triggered interventions: their history
            tables["triggers"] = result.triggers
        written = ["metrics.csv", "summary.json",
                   *(f"{n}.csv" for n in tables if n != "metrics")]
        figures = (_run_figures(tables, scenario.name, scenario.simulation.tick_days,
                                summary["currency"], summary["interventions"])
                   if args.plot else [])
        with _closing(figures), stage.writing() as folder:
            for name, table in tables.items():
                _write_atomic(folder / f"{name}.csv", table.to_csv(index=False))
            _write_atomic(folder / "summary.json", json.dumps(summary, indent=2) + "\n")
            written += _save_figures(figures, folder, args.formats)
            stage.commit()
    if not args.quiet:
        print(format_summary(summary))
        print(f"wrote {args.out}/: {', '.join(written)}")
    if recorded is not None:
        return _check_replay(args, recorded, result.summary)
    return 0


def _warn_small_teams(path: str | None, overrides: dict, customers: int | None,
                      quiet: bool) -> None:
    """Warn (one line on stderr) when ``--customers`` leaves a team too small.

    ``path`` and ``overrides`` give the scenario as the user set it (file or default, with
    the ``--set`` values), before resizing; the check is :func:`cxsim.runner.small_teams`,
    which ``cxsim sweep`` prints too.  The run goes ahead.
    """
    if quiet or customers is None:
        return
    from .runner import build_scenario, small_teams

    note = small_teams(build_scenario(_load(path).to_dict(), overrides), customers)
    if note is not None:
        print(in_flags(note), file=sys.stderr, flush=True)


def _scenario_with(path: str | None, sets: list[str], customers: int | None,
                   days: float | None) -> tuple[Scenario, dict]:
    """The scenario file (or default) with ``--set`` values applied, then resized.

    Returns the scenario and the values set (path: value, in the order given).  Problems
    name ``--set`` and the value given; every one is reported at once
    (:class:`ScenarioError`, one line each).
    """
    from .params import ParamError, check_param, parse_param
    from .runner import build_scenario

    if len(sets) > MAX_SETS:
        raise UsageError(f"--set is given {len(sets):,} times; at most {MAX_SETS:,}")
    base = _load(path)
    data = base.to_dict()
    point, given, problems = {}, {}, []
    for text in sets:  # every --set is checked; the problems are refused together
        try:
            param = check_param(parse_param(text), data, list(base.strategies))
        except ParamError as exc:
            words = exc.render(flag_words({**FLAGS, "params": "--set"}, SWITCHES)).replace(
                "expected PATH=SPEC, e.g. teams.contact_centre.headcount=8,10,12",
                "expected PATH=VALUE, e.g. teams.contact_centre.headcount=14")
            problems.append(words if exc.arg is not None else f"--set {_short(text)}: {words}")
            continue
        if param.path == "strategy":
            problems.append("--set strategy=...: use --strategy NAME")
        elif param.varies:
            problems.append(f"--set {_short(text)}: takes one value (sweeps take several)")
        else:
            point[param.path] = param.values[0]
            given[param.path] = text.split("=", 1)[1].strip()

    def named(problem: str) -> str:  # a problem of a value set here names its --set
        for p in point:
            if problem.startswith((p + " ", p + ":")):
                return f"--set {_short(p + '=' + given[p])}: {problem}"
        return problem

    try:
        scenario = build_scenario(data, point)
    except ScenarioError as exc:
        problems += [named(p) for p in exc.all_problems]
        scenario = None
    if scenario is None and not {"simulation.tick_days", "market.mean_degree",
                                 "market.network"} & set(point):
        scenario = base  # the sizes do not depend on the values set: checked all the same
    if scenario is not None:
        problems += [in_flags(p) for p in size_problems(scenario, customers, days)]
    if problems:
        raise ScenarioError(problems)
    try:
        scenario = build_scenario(data, point, customers, days).validated()
    except ScenarioError as exc:
        raise ScenarioError([named(p) for p in exc.all_problems]) from None
    return scenario, point


def _read_params(texts: list[str], problems: list[str]) -> list:
    """Each ``--param`` read.

    The ones that cannot be read are added to ``problems`` (a line each), which the caller
    refuses together with its other problems.
    """
    from .params import parse_param

    params = []
    for text in texts:
        try:
            params.append(parse_param(text))
        except InputError as exc:
            problems.append(in_flags(exc))
    return params


def _size_words(scenario: Scenario, customers: int | None, days: float | None) -> list[str]:
    """Problems of ``--customers`` and ``--days`` for ``scenario``, worded with the flags."""
    return [in_flags(p) for p in size_problems(scenario, customers, days)]


def _param_problems(scenario: Scenario, params: list) -> list[str]:
    """Each ``--param`` whose path or values the scenario does not take, worded with flags.

    The same checks as a sweep's (:func:`cxsim.params.check_param`, then each value or
    bound against its field), every parameter's problem at once.
    """
    from .errors import Arg
    from .params import ParamError, check_param
    from .sweep import _check_values

    data = scenario.to_dict()
    found = []
    for param in params:
        try:
            _check_values(data, [check_param(param, data, list(scenario.strategies))])
        except ParamError as exc:
            if exc.arg is None:  # a problem of the path: name the --param it is about
                exc = ParamError(Arg("params", f"{param.path}={param.spec}"), ": ", *exc.parts)
            found.append(in_flags(exc))
    return found


def _refuse(problems: list[str]) -> None:
    """Refuse the command with every problem found, a line each (a screenful at most)."""
    if problems:
        raise UsageError("\n".join(screenful(problems)))


def _value_text(value) -> str:
    """A value as ``--set`` takes it (true/false, numbers, words)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _replay_target(args: argparse.Namespace):
    """(scenario, seed, strategy, recorded row) of ``--replay DIR --run-id N``."""
    from .params import strategy_of
    from .runner import build_scenario
    from .sweep import read_runs, stored_plan

    given = [flag for flag, value in (("SCENARIO", args.scenario), ("--set", args.set),
                                      ("--customers", args.customers), ("--days", args.days),
                                      ("--strategy", args.strategy)) if value]
    if given:
        raise UsageError(f"--replay takes the scenario, seed and settings from the sweep; "
                         f"do not also give {given[0]}")
    if args.run_id is None:
        raise UsageError("--replay needs --run-id N (a run_id of the sweep's runs table)")
    plan = stored_plan(args.replay)
    if args.run_id >= plan.n_runs:
        raise UsageError(f"--run-id must be below {plan.n_runs} (the sweep's runs), "
                         f"got {args.run_id}")
    point = plan.design.points[args.run_id // plan.replications]
    seed = plan.seeds[args.run_id % plan.replications]
    strategy = strategy_of(point.get("strategy", plan.strategy))
    scenario = build_scenario(plan.base, point, plan.customers, plan.days).validated()
    runs = read_runs(args.replay, plan)
    row = runs[runs["run_id"] == args.run_id]
    recorded = row.iloc[0].to_dict() if len(row) else {}
    if isinstance(strategy, list):
        strategy = "+".join(strategy)
    return scenario, seed, strategy, recorded


def _check_replay(args: argparse.Namespace, recorded: dict, summary: dict) -> int:
    """Compare a replayed run's summary with the sweep's row; exit 1 on a difference."""
    if recorded.get("status") != "done":
        print(f"run {args.run_id} has no finished row in {args.replay} to compare with")
        return 0
    from .sweep import NOT_OUTCOMES

    same, differ = 0, []
    for key, value in summary.items():
        if key in NOT_OUTCOMES or key not in recorded:
            continue
        a, b = float("nan") if value is None else float(value), float(recorded[key])
        if a == b or (math.isnan(a) and math.isnan(b)):
            same += 1
        else:
            differ.append(f"{key} {b!r} recorded, {a!r} now")
    if differ:
        print(f"replay of run {args.run_id}: {len(differ)} outcomes differ from the recorded "
              f"row: {'; '.join(differ[:5])}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(f"replay of run {args.run_id}: all {same} outcomes identical to the recorded row")
    return 0


def _run_figures(tables: dict, title: str, tick_days: float, currency: str | None = None,
                 interventions=()) -> list:
    import matplotlib

    matplotlib.use("Agg")
    from . import plots

    return plots.run_figures(tables, title, tick_days, currency or plots.DEFAULT_CURRENCY,
                             interventions)


def _interventions(scenario: Scenario, strategy: str | list[str] | None,
                   triggers: object = None) -> list[dict]:
    """The run's interventions for ``summary.json`` (the figures mark them).

    A triggered one is recorded once per activation in ``triggers`` (the trigger history).
    """
    from .plots import run_interventions

    return run_interventions(scenario, strategy, triggers)


def _add_plot_format(p: argparse.ArgumentParser) -> None:
    p.add_argument("--plot-format", type=_figure_formats, default=("png",), metavar="F[,F]",
                   dest="formats",
                   help="with --plot: figure formats, comma separated: png (default), svg, "
                        "pdf")


def _figure_formats(text: str) -> tuple[str, ...]:
    """``png,svg,pdf`` as a tuple of figure formats (argparse type; one-line errors)."""
    from .plots import FIGURE_FORMATS

    items = [t.strip().lower().lstrip(".") for t in str(text).split(",")]
    if not text.strip() or any(not t for t in items):
        raise argparse.ArgumentTypeError(f"give formats separated by commas, e.g. png,svg,pdf; "
                                         f"got {text!r}")
    bad = [t for t in items if t not in FIGURE_FORMATS]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown figure format {bad[0]!r} in {text!r} "
                                         f"(known: {', '.join(FIGURE_FORMATS)})")
    return tuple(dict.fromkeys(items))


@contextlib.contextmanager
def _closing(figures: list):
    """Close ``(name, figure)`` pairs on the way out, written or not."""
    try:
        yield figures
    finally:
        if figures:
            from . import plots

            for _, fig in figures:
                plots.plt.close(fig)


def _save_figures(figures: list, out: Path, formats=("png",)) -> list[str]:
    """Write ``(name, figure)`` pairs into ``out`` in each of ``formats``; the file names.

    ``name`` is the PNG's (``x.png``); other formats replace its suffix (``x.svg``).
    """
    from .plots import figure_names

    names: list[str] = []
    with _closing(figures):
        for name, fig in figures:
            for fname in figure_names(name, formats):
                _save_png(fig, out / fname)
                names.append(fname)
    return names


def _save_png(fig, path: Path) -> None:
    """Write a figure atomically at 150 dpi in the format of ``path``'s suffix (png, svg, pdf).

    The caller closes it (:func:`_closing`).
    """
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=150, format=path.suffix.lstrip(".") or "png")


def _add_figures(folder: Path, figures: list, arg: str | None = "out",
                 locked: bool = False, formats=("png",)) -> list[str]:
    """Put ``figures`` into a results folder, all at once: a new folder swapped in whole.

    Each figure is written in each of ``formats``.  The folder's other files are carried
    over (hard links); figures of the same names are replaced.  Holds the folder's lock
    unless the caller does (``locked``).
    """
    from .plots import figure_names

    if not figures:
        return []
    names = [f for name, _ in figures for f in figure_names(name, formats)]
    with contextlib.ExitStack() as held:
        held.enter_context(_closing(figures))
        if not locked:
            held.enter_context(folder_lock(folder, arg))
        stage = held.enter_context(Stage(folder, None, arg=arg, what="figures",
                                         keep=lambda name: name not in names))
        with stage.writing() as tmp:
            _save_figures(figures, tmp, formats)
            stage.commit()
    return names


class _Refused:
    """A flag's value its type refused: kept to be reported with every other problem."""

    def __init__(self, flag: str, message: str):
        self.flag, self.message = flag, message

    def __str__(self) -> str:
        return f"cxsim compare: argument {self.flag}: {self.message}"


def _collecting(conv, flag: str):
    """Argparse type ``conv``, but a refused value becomes a :class:`_Refused` (no stop)."""
    def collect(text: str):
        try:
            return conv(text)
        except argparse.ArgumentTypeError as exc:
            return _Refused(flag, str(exc))
    return collect


class _CollectingParser(_Parser):
    """A subcommand's parser that keeps unrecognised arguments for the command to report."""

    def parse_known_args(self, args=None, namespace=None):
        namespace, extras = super().parse_known_args(args, namespace)
        if extras:
            namespace.unrecognized = [*getattr(namespace, "unrecognized", []), *extras]
        return namespace, []


def _compare_settings(args: argparse.Namespace) -> tuple[dict, list[str]]:
    """``compare()``'s arguments from the command line (and a folder to resume); problems.

    Every problem is collected, one line each: refused flag values, unrecognised flags,
    the scenario file and --set values, strategy names, the posterior, the results folder.
    """
    from .compare import check, check_folder, stored_settings
    from .params import strategy_of

    problems = [str(v) for v in vars(args).values() if isinstance(v, _Refused)]
    if getattr(args, "unrecognized", None):
        problems.append("cxsim compare: unrecognized arguments: "
                        + " ".join(_short(a) for a in args.unrecognized))

    def value(name: str):
        v = getattr(args, name)
        return None if isinstance(v, _Refused) else v

    stored = None
    try:
        if args.resume:
            stored = stored_settings(args.out)
        else:
            check_folder(args.out, resume=False)
    except InputError as exc:
        problems.append(in_flags(exc))
    days, customers = value("days"), value("customers")
    scenario, overrides, ticks = None, {}, None
    posterior = args.posterior if args.posterior is not None else (
        stored["posterior"] if stored is not None else None)
    if stored is not None and not (args.scenario or args.set or args.days is not None
                                   or args.customers is not None):
        # the scenario as the comparison in progress ran it
        scenario, overrides = stored["scenario"], dict(stored["overrides"] or {})
        customers, ticks = stored["customers"], stored["ticks"]
    else:
        try:
            scenario, overrides = _scenario_with(args.scenario, args.set,
                                                 None if posterior else customers, days)
        except ScenarioError as exc:
            problems += exc.all_problems
            # the strategies are still checked, on the scenario as it is: without the values
            # set, then without the market size, then without the horizon that was refused
            for size, horizon in ((customers, days), (None, days), (None, None)):
                with contextlib.suppress(ScenarioError, UsageError):
                    scenario = _scenario_with(args.scenario, [], None if posterior
                                              else size, horizon)[0]
                    break
        except UsageError as exc:
            problems.append(str(exc))
        if not posterior:
            customers = None  # already resized
    strategies, strategies_given = None, True
    try:
        names = _names(args.strategies, "--strategies", "strategy")
        if names is not None:
            strategies = {name: strategy_of(name) for name in names}
        elif stored is not None:
            strategies = stored["strategies"]
    except UsageError as exc:
        problems.append(str(exc))
        strategies_given = False
    if posterior is not None and scenario is not None:
        from .calibrate import load_posterior

        try:
            posterior = load_posterior(posterior, scenario)
        except InputError as exc:
            problems.append(in_flags(exc))
            scenario = None
    reps = value("reps") if args.reps is not None else (
        stored["replications"] if stored is not None else 10)
    seed = value("seed") if args.seed is not None else (
        stored["seed"] if stored is not None else 0)
    if scenario is not None:  # a refused --reps or --seed is reported already
        problems += [line for p in check(scenario, strategies, 2 if reps is None else reps,
                                         0 if seed is None else seed,
                                         workers=value("workers"), ticks=ticks,
                                         customers=customers,
                                         strategies_given=strategies_given)
                     if (line := in_flags(p)) not in problems]
    settings = {"scenario": scenario, "strategies": strategies, "replications": reps,
                "seed": seed, "customers": customers, "ticks": ticks, "posterior": posterior,
                "overrides": overrides}
    return settings, problems


def cmd_compare(args: argparse.Namespace) -> int:
    """``cxsim compare``: strategies vs baseline, journalled in ``--out`` as runs finish."""
    import shlex

    from .compare import OUTPUT_FILES, ComparisonInterrupted, compare, format_comparison
    from .io import shown

    # everything is checked (flags, scenario, --set, strategies, horizon, counts, the
    # folder) before anything runs, and every problem is reported at once
    settings, problems = _compare_settings(args)
    if problems:
        raise ScenarioError(problems)
    overrides = settings["overrides"]
    workers = args.workers or os.cpu_count() or 1
    figures: list[str] = []

    def extra(result, folder: Path) -> list[str]:
        if args.plot:
            figures.extend(_save_figures(
                _compare_figures(result, settings["scenario"].economics.currency), folder,
                args.formats))
        return figures

    if not args.resume:  # (a comparison resumed warned when it began)
        _warn_small_teams(args.scenario, overrides, args.customers, args.quiet)
    t0 = time.perf_counter()
    try:
        result = compare(**settings, workers=workers, out=args.out, resume=args.resume,
                         progress=not args.quiet and sys.stderr.isatty(),
                         ensemble=args.ensemble, extra=extra)
    except ComparisonInterrupted as exc:
        again = f"cxsim compare --resume --out {shlex.quote(str(args.out))}"
        raise KeyboardInterrupt(f"interrupted: {exc.saved} of {exc.total} runs finished and "
                                f"saved in {shown(args.out)}; continue with: {again}"
                                ) from None
    wall = time.perf_counter() - t0
    if not args.quiet:
        if overrides:
            print("--set " + ", ".join(f"{p}={_value_text(v)}" for p, v in overrides.items()))
        print(format_comparison(result))
        total = len(result.runs) * (2 if result.posterior else 1)  # and at the estimate
        earlier = total - (result.ran or 0)
        print(f"{result.ran} runs in {wall:.1f} s with {min(workers, max(1, result.ran))} "
              "worker(s)" + (f"; {earlier} had finished before the interruption"
                             if args.resume and earlier else ""))
        print(f"wrote {args.out}/: {', '.join([*OUTPUT_FILES, *figures])}")
    return 0


def cmd_optimise(args: argparse.Namespace) -> int:
    """``cxsim optimise``: portfolio search, saved as it goes to ``--out``."""
    from .io import check_target, shown
    from .optimise import format_result, optimise, prepare

    out = check_target(args.out, "out")
    settings = {
        "strategies": _names(args.strategies, "--strategies", "strategy"),
        "levers": args.lever, "objectives": args.objective or ["profit:max"],
        "constraints": args.constraint, "budget": args.budget,
        "robust": args.robust, "customers": args.customers, "days": args.days,
        **{k: v for k, v in {"trials": args.trials, "reps": args.reps, "batch": args.batch,
                             "reeval_reps": args.reeval_reps, "seed": args.seed}.items()
           if v is not None}}
    scenario = _load(args.scenario)
    _refuse(_size_words(scenario, args.customers, args.days))
    posterior = None
    if args.posterior is not None:
        from .calibrate import load_posterior

        posterior = load_posterior(args.posterior, scenario)
    search = prepare(scenario, posterior=posterior, **settings)  # checked before anything
    t0 = time.perf_counter()
    try:
        result = optimise(scenario, posterior=posterior, workers=args.workers,
                          scheduler=args.scheduler, ensemble=args.ensemble, out=out,
                          resume=args.resume, progress=not args.quiet and sys.stderr.isatty(),
                          plot=args.plot, **settings)
    except OSError as exc:
        # writing the results failed after the search (a full disk): search.json still
        # says running, and the candidates' journal lets --resume write them again
        if exc.errno not in _WRITE_ERRORS:
            raise
        raise UsageError(f"--out: cannot write {shown(out)} ({exc.strerror or exc}); the "
                         "candidates are saved: continue with --resume") from None
    if not args.quiet:
        print(format_result(result, search))
        meta = result.provenance
        print(f"{meta['candidates']:,} candidates, {meta['runs']:,} runs in "
              f"{time.perf_counter() - t0:.1f} s")
        print(f"wrote {shown(out)}/: " + ", ".join(sorted(
            p.name for p in out.iterdir() if not p.name.startswith("."))))
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    """``cxsim calibrate``: fit parameters to a targets file, saved as it goes to ``--out``."""
    from .calibrate import calibrate, format_result, stored_settings
    from .io import check_target, shown

    out = check_target(args.out, "out")
    if len(args.param) > MAX_PARAMS:
        raise UsageError(f"--param is given {len(args.param):,} times; a calibration takes "
                         f"at most {MAX_PARAMS}")
    given = {"method": args.method, "budget": args.budget, "reps": args.reps,
             "batch": args.batch, "check_reps": args.check_reps, "seed": args.seed,
             "customers": args.customers, "days": args.days}
    problems: list[str] = []
    params = _read_params(args.param, problems)
    if args.resume:
        _refuse(problems)
        settings = stored_settings(out)
        if args.scenario is not None:
            settings["scenario"] = _load(args.scenario)
        if params:
            settings["params"] = params
        if args.targets is not None:
            settings["targets"] = args.targets
    else:
        if args.targets is None:
            problems.append("cxsim calibrate: give the observed data with --targets FILE "
                            "(see --help)")
        if not args.param:
            problems.append("cxsim calibrate: give at least one --param PATH=SPEC to fit, "
                            "e.g. --param segments.loyal.base_churn=uniform(0.005,0.04)")
        settings = {"scenario": _load(args.scenario), "params": params,
                    "targets": args.targets}
        problems += _param_problems(settings["scenario"], params)
    sizes: list[str] = []
    if (args.customers is not None or args.days is not None) and "scenario" in settings:
        sizes = _size_words(settings["scenario"], args.customers, args.days)
    problems += sizes
    if args.targets is not None and "scenario" in settings:
        # the targets file's problems with the others (calibrate() reads it again: small)
        from .targets import TargetsError, load_targets

        try:
            load_targets(args.targets, settings["scenario"],
                         days=None if sizes else args.days)
        except TargetsError as exc:
            problems += [in_flags(p) for p in exc.problems]
        except InputError as exc:
            problems.append(in_flags(exc))
    _refuse(problems)
    settings.update({k: v for k, v in given.items() if v is not None})
    t0 = time.perf_counter()
    result = calibrate(**settings, workers=args.workers, scheduler=args.scheduler,
                       ensemble=args.ensemble, out=out, resume=args.resume,
                       progress=not args.quiet and sys.stderr.isatty(), plot=args.plot)
    wall = time.perf_counter() - t0
    if not args.quiet:
        meta = result.provenance
        print(format_result(result))
        print(f"{meta['evaluations']:,} parameter sets ({meta['runs']:,} runs) in "
              f"{wall:.1f} s" + (f"; {meta['evaluations'] - result.ran:,} read back from the "
                                 "journal" if result.ran < meta["evaluations"] else ""))
        print(f"wrote {shown(out)}/: " + ", ".join(sorted(
            p.name for p in out.iterdir() if not p.name.startswith("."))))
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    """``cxsim sweep``: a parameter sweep, streamed to ``--out``."""
    from .design import is_power_of_two
    from .io import check_target
    from .sweep import (
        JournalWarning,
        _check_folder,
        check_resumable,
        format_failures,
        plan_sweep,
        read_provenance,
        stored_settings,
        sweep,
    )

    out = check_target(args.out, "out")
    if len(args.param) > MAX_PARAMS:
        raise UsageError(f"--param is given {len(args.param):,} times; a sweep takes at most "
                         f"{MAX_PARAMS}")
    given = {"design": args.design, "samples": args.samples, "replications": args.reps,
             "seed": args.seed, "strategy": args.strategy, "customers": args.customers,
             "days": args.days, "ticks": args.ticks, "fmt": args.fmt,
             "outcomes": _names(args.outcomes, "--outcomes", "outcome")}
    problems: list[str] = []
    if not args.resume:  # a folder it may not use: said with the other problems, up front
        try:
            _check_folder(out, resume=False)
        except InputError as exc:
            problems.append(in_flags(exc))
    params = _read_params(args.param, problems)
    if not args.resume and not args.param:
        problems.append("cxsim sweep: give at least one --param PATH=SPEC (see --help)")
    _refuse(problems)
    if args.resume:
        settings = stored_settings(read_provenance(out))
        if args.scenario is not None:
            settings["scenario"] = _load(args.scenario)
        if params:
            settings["params"] = params
        settings.update({k: v for k, v in given.items() if v is not None})
    else:
        defaults = {"design": "grid", "replications": 1, "seed": 0, "ticks": False,
                    "fmt": "auto"}
        settings = {"scenario": _load(args.scenario), "params": params,
                    **{k: (defaults.get(k) if v is None else v) for k, v in given.items()}}
    plan = plan_sweep(**settings)
    if args.resume:
        check_resumable(out, plan)
    workers = args.workers or os.cpu_count() or 1
    if not args.quiet:
        d = plan.design
        where = (f"Dask ({args.scheduler})" if args.scheduler else
                 "this process" if workers == 1 else f"{workers} worker processes")
        print(f"{plan.scenario.name}: {d.kind} design, {_n(len(d), 'point')} × "
              f"{_n(plan.replications, 'replication')} = {_n(plan.n_runs, 'run')} on {where}")
        for line in screenful([in_flags(note) for note in plan.notes]):
            print(line, file=sys.stderr)
        if d.kind == "sobol" and not is_power_of_two(d.samples):
            print(f"note: --samples {d.samples} is not a power of two; Sobol' estimates "
                  "converge best at 2^k", file=sys.stderr)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("always", JournalWarning)
        warnings.showwarning = _warn_line  # a damaged journal line: one line, as it happens
        result = sweep(plan.scenario, plan.design.params, plan=plan, out=out, workers=workers,
                       scheduler=args.scheduler, resume=args.resume,
                       progress=not args.quiet and sys.stderr.isatty(), ensemble=args.ensemble)
    wall = time.perf_counter() - t0
    written = [f"runs.{plan.fmt}", "sweep.json", "journal.jsonl"]
    if result.ticks is not None:
        written.append(f"ticks.{plan.fmt}")
    if result.sensitivity is not None:
        written.append("sensitivity.csv")
    if args.plot:
        written += _plot_sweep(result, out, args.formats)
    runs = result.runs
    n_failed = len(result.failed)
    if not args.quiet:
        earlier = len(runs) - result.ran
        if result.ran:
            print(f"{_n(result.ran, 'run')} in {wall:.1f} s ({result.ran / wall:.2f} runs/s)"
                  + (f"; {earlier} had finished earlier" if earlier else ""))
        else:
            print(f"nothing left to run: all {_n(len(runs), 'run')} had finished earlier")
        table = format_sweep_table(result)
        if table:
            print(table)
        if result.sensitivity is not None:
            print(format_sensitivity(result.sensitivity))
        print(f"wrote {out}/: {', '.join(written)}")
    if n_failed:
        print(format_failures(runs), file=sys.stderr)
        if n_failed == len(runs):
            return 1
    return 0


def _warn_line(message, category, filename, lineno, file=None, line=None) -> None:
    """Print a warning as one line (``warnings.showwarning`` while a sweep runs)."""
    text = str(message).strip().splitlines()
    print(f"warning: {text[0] if text else category.__name__}", file=sys.stderr)


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _names(text: str | None, flag: str, what: str) -> list[str] | None:
    """Comma-separated names without blanks or repeats (``None`` if the flag was not given)."""
    if text is None:
        return None
    names = list(dict.fromkeys(s.strip() for s in text.split(",") if s.strip()))
    if not names:
        raise UsageError(f"{flag}: no {what} names given")
    if len(names) > MAX_NAMES:
        raise UsageError(f"{flag}: {len(names):,} {what} names; at most {MAX_NAMES}")
    return names


def format_sensitivity(table, top: int = 3) -> str:
    """The most influential parameters per outcome (by ST, or by mu_star for Morris).

    An estimate whose row notes sampling error (:func:`cxsim.sweep.sensitivity_notes`) is
    marked ``*`` and explained in a last line.
    """
    from .sweep import SAMPLING_NOTE

    key = "ST" if "ST" in table else "mu_star"
    what = "total Sobol' index ST" if key == "ST" else "Morris mu*"
    lines = [f"most influential parameters ({what}, 95 % interval):"]
    marked = False
    for outcome, group in table.groupby("outcome", sort=False):
        g = group.dropna(subset=[key]).sort_values(key, ascending=False).head(top)
        if g.empty:
            note = group["note"].iloc[0] if "note" in group else ""
            lines.append(f"  {outcome}: n/a ({note})")
            continue
        parts = []
        for _, r in g.iterrows():
            flagged = isinstance(r.get("note"), str) and SAMPLING_NOTE in r["note"]
            marked = marked or flagged
            parts.append(f"{r['parameter']} {r[key]:.3g} [{r[key + '_ci_low']:.3g}, "
                         f"{r[key + '_ci_high']:.3g}]" + ("*" if flagged else ""))
        lines.append(f"  {outcome}: " + "; ".join(parts))
    if marked:
        lines.append("  * sampling error: " + (
            "a share of variance lies in [0, 1] and S1 is at most ST, but these estimates or "
            "intervals do not" if key == "ST" else "mu* is never negative, but this interval "
            "reaches below 0") + "; increase --samples (see the note column of "
            "sensitivity.csv)")
    return "\n".join(lines)


#: operating-system errors of writing a results folder (refused with one line, exit 2)
_WRITE_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO,
                 errno.EFBIG)

#: the width a printed table keeps to (a terminal's usual 100 columns)
TABLE_WIDTH = 100


def format_sweep_table(result, width: int = TABLE_WIDTH, most: int = SCREENFUL - 2) -> str:
    """A screenful of a sweep's results.

    A grid of at most ``most`` points: a row per point (the parameters, then the outcomes'
    means over the replicates, as many outcomes as fit in ``width``).  Otherwise (a larger
    grid, an lhs design): a row per outcome with the mean, least and largest of the points'
    means.  Empty for sobol and morris (their sensitivity lines say more) and when no run
    finished.
    """
    import pandas as pd

    plan, runs = result.plan, result.runs
    kind = plan.design.kind
    outcomes = [o for o in plan.outcomes if o in runs.columns]
    ok = runs[runs["status"] == "done"]
    if kind in ("sobol", "morris") or ok.empty or not outcomes:
        return ""
    params = [p.path for p in plan.design.params]
    means = ok.groupby("point", sort=True).agg(
        {**{p: "first" for p in params}, **{o: "mean" for o in outcomes}})
    means = means.reindex(range(len(plan.design)))  # a point without a finished run: n/a
    for i, point in enumerate(plan.design.points):
        for p in params:
            if pd.isna(means.at[i, p]) if not isinstance(means.at[i, p], str) else False:
                means.at[i, p] = point.get(p)
    over = (f"mean of {plan.replications} replications" if plan.replications > 1
            else "one run")

    def fmt(o: str, v) -> str:
        return BY_NAME[o].format(None if pd.isna(v) else float(v)) if o in BY_NAME else f"{v:g}"

    if kind == "grid" and len(means) <= most:
        def label(path: str) -> str:  # the last part of a path, unless two share it
            last = path.split(".")[-1]
            return last if sum(q.split(".")[-1] == last for q in params) == 1 else path
        # columns by the names of the runs table (compact, and what the file calls them)
        cols = [(label(p), [_value_text(v) for v in means[p]]) for p in params]
        cols += [(o, [fmt(o, v) for v in means[o]]) for o in outcomes]
        shown, used = [], 0
        for i, (head, cells) in enumerate(cols):
            w = max(len(head), *(len(c) for c in cells))
            if i >= len(params) and used + w + 2 > width:
                break
            shown.append((head, cells, w, i < len(params)))
            used += w + 2
        rows = [f"results per point ({over}):"]
        rows.append("  " + "  ".join(h.ljust(w) if left else h.rjust(w)
                                     for h, _, w, left in shown))
        for r in range(len(means)):
            rows.append("  " + "  ".join(c[r].ljust(w) if left else c[r].rjust(w)
                                         for _, c, w, left in shown))
        left_out = len(cols) - len(shown)
        if left_out:
            rows.append(f"  ({left_out} more outcome{'s' if left_out > 1 else ''} in the "
                        "runs table)")
        return "\n".join(rows)
    rows = [f"results across {len(means):,} points ({over} each):"]
    names = [BY_NAME[o].short if o in BY_NAME else o for o in outcomes]
    w0 = max(len(n) for n in names)
    cells = [[fmt(o, means[o].mean()), fmt(o, means[o].min()), fmt(o, means[o].max())]
             for o in outcomes]
    ws = [max(len(h), *(len(c[k]) for c in cells)) for k, h in enumerate(("mean", "min", "max"))]
    rows.append("  " + " " * w0 + "  " + "  ".join(h.rjust(w) for h, w in
                                                   zip(("mean", "min", "max"), ws, strict=True)))
    for n, c in zip(names, cells, strict=True):
        rows.append("  " + n.ljust(w0) + "  " + "  ".join(v.rjust(w) for v, w in
                                                        zip(c, ws, strict=True)))
    return "\n".join(rows)


def _compare_figures(result, currency: str | None = None) -> list:
    import matplotlib

    matplotlib.use("Agg")
    from . import plots

    currency = currency or plots.DEFAULT_CURRENCY
    figures = [("comparison_bands.png", plots.comparison_bands(result, currency=currency))]
    with contextlib.ExitStack() as held:
        held.callback(lambda: [plots.plt.close(f) for _, f in figures])
        figures.append(("forest_plot.png", plots.forest_plot(result, currency=currency)))
        held.pop_all()
    return figures


def _plot_sweep(result, out: Path, formats=("png",)) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    from . import plots

    return _add_figures(out, plots.sweep_figures(result), formats=formats)


def cmd_plot(args: argparse.Namespace) -> int:
    """``cxsim plot DIR``: every figure that fits the results in DIR.

    Every file is read as untrusted input (checked before use); a damaged folder is refused
    with one line.  The figures are added to the folder all at once (a new folder swapped in
    whole, the results carried over), holding the folder's lock.
    """
    folder, kinds = _results_folder(args.folder, "cxsim plot")
    figures: list = []
    with folder_lock(folder, None), _closing(figures):
        _draw_folder(folder, kinds, args.folder, figures)
        names = _add_figures(folder, figures, arg=None, locked=True, formats=args.formats)
    if not args.quiet:
        print(f"wrote {folder}/: {', '.join(names) if names else 'no figures fit'}")
    return 0


def _checked_currency(value, path: Path) -> str | None:
    """A recorded currency (a short printable text), None if not recorded; else refused."""
    if value is None:
        return None
    if not is_currency(value):
        raise UsageError(f"{path}: currency is not a short currency symbol or code")
    return value


def _recorded_events(summary: dict, path: Path) -> tuple[str | None, list[dict]]:
    """The currency and interventions ``summary.json`` records, checked (older runs: none)."""
    currency = _checked_currency(summary.get("currency"), path)
    events = summary.get("interventions", [])

    def day(v) -> bool:
        return (isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                and 0 <= v <= 1e8)

    if not isinstance(events, list) or len(events) > 10_000 or not all(
            isinstance(e, dict) and day(e.get("start_day"))
            and (e.get("end_day") is None or day(e.get("end_day")))
            and isinstance(e.get("type", ""), str) and isinstance(e.get("target", ""), str)
            and len(e.get("type", "")) <= 200 and len(e.get("target", "")) <= 200
            for e in events):
        raise UsageError(f"{path}: interventions is not a list of interventions with days")
    return currency, events


def cmd_report(args: argparse.Namespace) -> int:
    """``cxsim report DIR``: one self-contained HTML file of a results folder."""
    from .report import write_report

    folder, kinds = _results_folder(args.folder, "cxsim report")
    figures: list = []
    with folder_lock(folder, None), _closing(figures):
        if not args.no_figures:
            _draw_folder(folder, kinds, args.folder, figures)
        path = write_report(folder, kinds, figures, out=args.out)
    if not args.quiet:
        print(f"wrote {path}")
    return 0


def _results_folder(given: str, command: str) -> tuple[Path, list[str]]:
    """The results folder the user named and its kinds of results; UsageError otherwise."""
    import stat

    folder = Path(given)
    if not str(given).strip():
        raise UsageError(f"{command}: give a results folder, got an empty path")
    try:
        st = os.lstat(folder)
    except FileNotFoundError:
        raise UsageError(f"{given}: no such folder") from None
    except OSError as exc:
        raise UsageError(f"{given}: cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISLNK(st.st_mode):
        raise UsageError(f"{given}: is a symbolic link; give the results folder itself")
    if not stat.S_ISDIR(st.st_mode):
        raise UsageError(f"{given}: is a file, not a results folder")
    kinds = [kind for marker, kind in _RESULT_KINDS if os.path.lexists(folder / marker)]
    if not kinds:
        raise UsageError(f"{given}: no cxsim results here (expected summary.json from "
                         "cxsim run, compare.json from cxsim compare, sweep.json from cxsim "
                         "sweep or calibration.json from cxsim calibrate)")
    return folder, kinds


def _draw_folder(folder: Path, kinds: list[str], given: str, figures: list) -> None:
    """Append the figures of every kind of results in ``folder`` to ``figures``.

    A folder whose files cannot be drawn is refused with one line (UsageError).
    """
    try:
        for kind in kinds:
            figures += _folder_figures(kind, folder, given)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        if isinstance(exc, InputError | ScenarioError):
            raise
        text = str(exc).strip().splitlines()
        raise UsageError(f"{given}: the results cannot be drawn, the folder looks "
                         f"damaged ({type(exc).__name__}: {text[0][:200] if text else ''})"
                         ) from None


#: what each kind of results folder holds: (marker file, kind)
_RESULT_KINDS = (("summary.json", "run"), ("compare.json", "compare"), ("sweep.json", "sweep"),
                 ("calibration.json", "calibrate"))

#: columns each run table needs for its figures (a table without them is of another format)
_NEEDED = {
    "metrics": ("tick", "active", "churn_rate", "nps", "csat", "ces", "service_level",
                "profit", "satisfaction"),
    "touchpoints": ("tick", "touchpoint", "channel", "stage", "volume", "experience"),
    "flows": ("source", "target", "episodes"),
    "segments": ("tick", "segment", "retention"),
    "queues": ("tick", "team", "service_level", "occupancy", "engagement", "leavers",
               "headcount"),
    "partners": ("tick", "partner", "on_time"),
}

#: text columns of the run tables
_RUN_TEXT = ("touchpoint", "channel", "stage", "segment", "team", "partner", "source", "target")

#: rows a run table may have per tick (touchpoints, segments, teams, partners of a scenario)
_ROWS_PER_TICK = 10_000


def _folder_figures(kind: str, folder: Path, given: str) -> list:
    """The figures of one kind of results in ``folder``, read and checked first."""
    if kind == "run":
        from .io import check_columns, read_json, read_table

        summary = read_json(folder / "summary.json")
        if not isinstance(summary, dict):
            raise UsageError(f"{folder / 'summary.json'}: not a cxsim summary")
        if summary.get("format") != RESULTS_FORMAT:
            raise UsageError(f"{given}: results from an older cxsim format (format "
                             f"{summary.get('format', 'none')}, expected "
                             f"{RESULTS_FORMAT}); run cxsim run again")
        tick_days, title = summary.get("tick_days", 1.0), summary.get("scenario", "")
        n_ticks = summary.get("ticks")
        if not (isinstance(tick_days, int | float) and not isinstance(tick_days, bool)
                and math.isfinite(tick_days) and tick_days > 0):
            raise UsageError(f"{folder / 'summary.json'}: tick_days is not a positive number")
        if not isinstance(title, str):
            raise UsageError(f"{folder / 'summary.json'}: scenario is not a name")
        if not (isinstance(n_ticks, int) and not isinstance(n_ticks, bool)
                and 0 <= n_ticks <= 10_000_000):
            raise UsageError(f"{folder / 'summary.json'}: ticks is not a count of ticks")
        tables = {}
        for name in ("metrics", "touchpoints", "flows", "segments", "queues", "partners"):
            path = folder / f"{name}.csv"
            if not os.path.lexists(path):
                continue
            rows = n_ticks + 1 if name == "metrics" else (n_ticks + 1) * _ROWS_PER_TICK
            table = read_table(path, rows, _RUN_TEXT)
            if len(table.columns):
                needed = _NEEDED.get(name, ())
                check_columns(table, path, needed=needed,
                              numeric=[c for c in needed if c not in _RUN_TEXT],
                              text=[c for c in _RUN_TEXT if c in needed])
            tables[name] = table
        if "metrics" not in tables:
            raise UsageError(f"{given}: summary.json without metrics.csv")
        currency, events = _recorded_events(summary, folder / "summary.json")
        return _run_figures(tables, title[:200], float(tick_days), currency, events)
    if kind == "compare":
        from .compare import read_comparison
        from .io import read_json

        try:
            meta = read_json(folder / "compare.json")
            currency = meta.get("currency") if isinstance(meta, dict) else None
            return _compare_figures(read_comparison(folder),
                                    _checked_currency(currency, folder / "compare.json"))
        except ValueError as exc:
            if isinstance(exc, InputError):
                raise
            raise UsageError(str(exc)) from None
    import matplotlib

    matplotlib.use("Agg")
    from . import plots

    if kind == "calibrate":
        from .calibrate import read_calibration

        return plots.calibration_figure_list(read_calibration(folder))
    from .sweep import load_sweep

    return plots.sweep_figures(load_sweep(folder))


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--port must be a whole number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"--port must be in 0..65535, got {value}")
    return value


#: seconds to wait for the app server to answer
VIZ_READY_TIMEOUT = 180.0


def cmd_viz(args: argparse.Namespace) -> int:
    """``cxsim viz``: serve the workshop app until Ctrl-C."""
    import signal
    import socket
    import subprocess

    if args.scenario is not None:
        load_scenario(args.scenario)  # an invalid file: one line per problem, exit 2
    import importlib.util

    for module in ("solara", "altair", "ipyvuetify"):  # what mesa.visualization needs
        if importlib.util.find_spec(module) is None:
            raise UsageError(f"cxsim viz needs the viz extra: pip install -e '.[viz]' in the "
                             f"cxsim folder ({module} is missing)")
    port = args.port
    try:
        with socket.socket() as sock:
            if os.name != "nt":  # as the server does: a port left in TIME_WAIT is free
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((args.host, port))
            port = sock.getsockname()[1]
    except OSError as exc:
        raise UsageError(f"--port: cannot serve on {args.host}:{args.port} "
                         f"({exc.strerror or exc}); try another, e.g. --port "
                         f"{args.port + 1 if 0 < args.port < 65535 else 8766}") from None
    _ensure_front_end()
    if args.host not in LOCAL_HOSTS:
        print(f"warning: --host {args.host or repr(args.host)} serves the app to every machine "
              "that can reach this one; anyone who opens it can run simulations here",
              file=sys.stderr, flush=True)
    url = f"http://{args.host}:{port}/"
    # probe the server on loopback when it listens on every address
    probe = (f"http://127.0.0.1:{port}/" if args.host in ("0.0.0.0", "")
             else f"http://[::1]:{port}/" if args.host == "::" else url)
    # no usage telemetry; figures without a display; and quiet about a hook-order warning
    # Solara raises about Mesa 3.3's own SolaraViz code
    # The page's front end always comes through Solara's cache (filled above): Solara
    # otherwise has browsers load it from the CDN when started from a VS Code terminal.
    env = dict(os.environ, SOLARA_TELEMETRY_MIXPANEL_ENABLE="False", MPLBACKEND="Agg",
               PYTHONWARNINGS="ignore::UserWarning:solara.validate_hooks",
               SOLARA_ASSETS_PROXY="True")
    if args.scenario is not None:
        env["CXSIM_VIZ_SCENARIO"] = str(find_scenario(args.scenario).resolve())
    else:
        env.pop("CXSIM_VIZ_SCENARIO", None)
    # a closed tab's model (and a run it was playing) goes after two minutes, not Solara's
    # default of a day: memory and processor time of a room's reloads stay bounded
    env.setdefault("SOLARA_KERNEL_CULL_TIMEOUT", VIZ_SESSION_TIMEOUT)
    if args.customers is not None:
        env["CXSIM_VIZ_CUSTOMERS"] = str(args.customers)
    else:
        env.pop("CXSIM_VIZ_CUSTOMERS", None)
    cmd = [sys.executable, "-m", "solara", "run", "cxsim.viz", "--host", args.host,
           "--port", str(port), "--production", "--no-open", "--no-check-version",
           "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env)

    def forward(*_) -> None:  # SIGTERM: stop the server; the wait below then returns
        if proc.poll() is None:
            proc.terminate()

    signal.signal(signal.SIGTERM, forward)
    try:
        _wait_ready(probe, proc)
        print(f"cxsim viz: serving {args.scenario or 'the built-in scenario'} at {url} "
              "(Ctrl-C stops it)", flush=True)
        if args.host in ("0.0.0.0", "", "::"):
            print(f"cxsim viz: others on this network open http://{_lan_address()}:{port}/ "
                  f"(if they cannot, allow port {port} through this machine's firewall)",
                  flush=True)
        if args.open:
            import webbrowser

            webbrowser.open(probe)
        code = proc.wait()
        return 0 if code in (0, -signal.SIGTERM) else 1
    except KeyboardInterrupt:
        return 0
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


#: how long a session (a browser tab's model) outlives its tab: a reload or a brief loss of
#: the network within this time keeps the model
VIZ_SESSION_TIMEOUT = "2m"

#: what to run when the app's front end is missing and cannot be fetched
VIZ_ASSETS_HINT = "python -m cxsim.viz_assets"


def _ensure_front_end() -> None:
    """Fetch Solara's front-end files into its cache if missing (once); UsageError if impossible.

    Without them the page stays blank; Solara fetches them from its CDN on first use, which
    needs internet during the workshop, so they are fetched from npm ahead instead.
    """
    from cxsim import viz_assets

    def progress(line: str) -> None:
        print(f"cxsim viz: {line}", file=sys.stderr, flush=True)

    try:
        viz_assets.ensure(progress=progress)
    except viz_assets.AssetsError as exc:
        if _cdn_reachable():  # Solara's own proxy will fetch them on first use
            progress(f"{exc}; the page loads its front end from the CDN (internet needed)")
            return
        raise UsageError(f"cxsim viz: the app's front end is missing and could not be "
                         f"fetched ({exc}); where there is internet, run: "
                         f"{VIZ_ASSETS_HINT}") from None


def _cdn_reachable(timeout: float = 5.0) -> bool:
    """Whether Solara's CDN answers (its proxy then fetches the front end itself)."""
    import urllib.request

    import solara.settings

    try:
        req = urllib.request.Request(str(solara.settings.assets.cdn) + "requirejs@2.3.6/"
                                     "require.js", method="HEAD")
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status == 200
    except (OSError, ValueError):
        return False


def _check_served_front_end(url: str) -> None:
    """RuntimeError unless the server hands out the page's first script (else: a blank page)."""
    import urllib.error
    import urllib.request

    from cxsim import viz_assets

    req = next((s for s in viz_assets.needed_packages() if s.startswith("requirejs@")),
               "requirejs@2.3.6")
    try:
        with urllib.request.urlopen(f"{url}_solara/cdn/{req}/require.js",
                                    timeout=VIZ_READY_TIMEOUT) as response:
            if response.status == 200:
                return
    except (urllib.error.URLError, OSError):
        pass
    raise UsageError(f"cxsim viz: the app server cannot hand out its front end (the page "
                     f"would stay blank); run: {VIZ_ASSETS_HINT}")


def _lan_address() -> str:
    """The address others on the network reach this machine at (or its host name)."""
    import socket

    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the interface
            return s.getsockname()[0]
    except OSError:
        return socket.gethostname()


def _wait_ready(url: str, proc) -> None:
    """Return once ``url/readyz`` answers 200 and the server hands out the page's front end.

    RuntimeError if the server dies or is slow; UsageError if it cannot serve the front end.
    """
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + VIZ_READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the app server stopped (exit code {proc.returncode})")
        try:
            with urllib.request.urlopen(url + "readyz", timeout=2) as response:
                if response.status == 200:
                    _check_served_front_end(url)
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.25)
    raise RuntimeError(f"the app server did not answer within {VIZ_READY_TIMEOUT:.0f} s")


def cmd_show(args: argparse.Namespace) -> int:
    """``cxsim show``: a scenario's values by path, with ranges; its strategies."""
    import dataclasses

    from .show import format_show, matching, parameters

    scenario_arg, prefix = args.scenario, args.prefix
    if prefix is None and scenario_arg is not None and _looks_like_path(scenario_arg):
        scenario_arg, prefix = None, scenario_arg  # cxsim show segments.loyal
    sections = [f.name for f in dataclasses.fields(Scenario)]
    problems: list[str] = []  # every problem is refused at once
    if args.section is not None and args.section not in sections:
        problems.append(f"--section: no section '{_short(args.section)}' (sections: "
                        f"{', '.join(sections)})")
    try:
        sc = _load(scenario_arg)
    except ScenarioError as exc:
        raise ScenarioError([*exc.all_problems, *problems]) from None
    rows = parameters(sc)
    if args.section is not None and not problems:
        rows = matching(rows, args.section)
    if prefix is not None:
        rows = matching(rows, prefix)
        if not rows:
            problems.append(f"cxsim show: no value under '{_short(prefix)}' (sections: "
                            f"{', '.join(sections)})")
    _refuse(problems)
    if args.json:
        names = {r.group.split(".", 1)[1] for r in rows
                 if r.section == "strategies" and r.group != "strategies"}
        data = {"scenario": sc.name, "source": scenario_arg or DEFAULT_SCENARIO,
                "parameters": [r.as_dict() for r in rows],
                "strategies": {n: {"description": st.description,
                                   "interventions": [dataclasses.asdict(iv)
                                                     for iv in st.interventions]}
                               for n, st in sc.strategies.items()
                               if n in names or (prefix is None and args.section is None)}}
        text = json.dumps(data, indent=2)
    else:
        text = format_show(sc, rows, scenario_arg or DEFAULT_SCENARIO.removesuffix(".toml"))
    try:
        print(text, flush=True)
    except BrokenPipeError:  # cxsim show | head: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _looks_like_path(text: str) -> bool:
    """True for a value path (segments.loyal) that is not a file: ``cxsim show PATH``."""
    import dataclasses

    sections = {f.name for f in dataclasses.fields(Scenario)}
    return (not text.endswith(".toml") and text.split(".", 1)[0] in sections
            and not os.path.exists(text))


def cmd_validate(args: argparse.Namespace) -> int:
    """``cxsim validate``: exit 0 if the scenario is valid."""
    sc = load_scenario(args.scenario)
    print(f"{args.scenario}: valid ({sc.name}: {len(sc.segments)} segments, "
          f"{len(sc.touchpoints)} touchpoints, {len(sc.strategies)} strategies)")
    return 0


#: the run figures of the printed summary, in order (labels and formats: the vocabulary)
SUMMARY_ROWS = ("active", "new", "churned", "monthly_churn", "annual_retention", "nps", "csat",
                "ces", "satisfaction", "fcr", "service_level", "asa", "abandonment",
                "occupancy", "partner_on_time", "revenue", "cost", "profit", "clv", "clv_cac")


def format_summary(summary: dict) -> str:
    """Return a compact two-column table of a run's key figures."""
    head = (f"{summary.get('scenario', '')}: {summary.get('days', 0):g} days, market "
            f"{summary.get('market', 0):,} (seed {summary.get('seed')}, "
            f"{summary.get('engine')} engine, {summary.get('wall_seconds', 0):.2f} s)")
    lines = [head]
    if summary.get("strategy") not in (None, "baseline"):
        lines.append(f"  {'strategy':<26} {summary['strategy']:>14}")
    for key in SUMMARY_ROWS:
        m = BY_NAME[key]
        lines.append(f"  {m.short:<26} {m.format(summary.get(key)):>14}")
    if "trigger_activations" in summary:  # triggered interventions (triggers.csv)
        lines.append(f"  {'trigger activations':<26} {summary['trigger_activations']:>14,}")
    return "\n".join(lines)


def screenful(lines: list[str], most: int = SCREENFUL) -> list[str]:
    """At most ``most`` lines of a list of problems, the last saying how many more there are.

    A list that already ends with such a line (``... and N more``) keeps its count.
    """
    lines = list(lines)
    if len(lines) <= most:
        return lines
    extra = 0
    tail = lines[-1]
    if tail.startswith("... and ") and tail.endswith(" more"):
        try:
            extra = int(tail[len("... and "):-len(" more")].replace(",", "")) - 1
        except ValueError:
            extra = 0
    shown = lines[:most - 1]
    return [*shown, f"... and {len(lines) - len(shown) + extra:,} more"]


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``cxsim`` command; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        return args.func(args)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except ScenarioError as exc:
        for line in screenful(exc.problems):
            print(line, file=sys.stderr)
        return 2
    except InputError as exc:  # parameters, executors, results folders (disk full, ...)
        print(in_flags(exc), file=sys.stderr)
        return 2
    except InputErrors as exc:  # several found together: each worded with its flag
        for line in screenful([in_flags(e) for e in exc.errors]):
            print(line, file=sys.stderr)
        return 2
    except RunsFailed as exc:  # a run of a comparison failed: bad input (2) or a bug (1)
        print(str(exc) if exc.bad_input else f"cxsim: error: {exc}", file=sys.stderr)
        return 2 if exc.bad_input else 1
    except KeyboardInterrupt as exc:
        text = in_flags(exc)
        print(f"cxsim: {text}" if text else "cxsim: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - last resort: one line, exit 1
        if os.environ.get("CXSIM_DEBUG"):
            raise
        print(f"cxsim: error: {type(exc).__name__}: {in_flags(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
