"""The ``cxsim`` command line.

Exit codes: 0 success; 2 bad input (scenario, flags, paths) with one line per problem and no
traceback; 1 anything else.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

from .io import _UMASK, atomic_path  # noqa: F401 - _UMASK kept for the old location
from .io import write_atomic as _write_atomic
from .scenario import DEFAULT_SCENARIO, Scenario, ScenarioError, load_scenario, scenario_dir


class UsageError(Exception):
    """Bad input from the command line (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse prints usage too)
        raise UsageError(f"{self.prog}: {message}")


def _whole(name: str, least: int, below: str = "{name} must be at least {least}, got {value}"):
    """Argparse type: a whole number of at least ``least``; ``below`` words the refusal."""
    def conv(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            msg = f"{name} must be a whole number, got {text!r}"
            raise argparse.ArgumentTypeError(msg) from None
        if value < least:
            raise argparse.ArgumentTypeError(below.format(name=name, least=least, value=value))
        return value
    return conv


_seed = _whole("--seed", 0, "--seed must be non-negative, got {value}")
_reps = _whole("--reps", 2, "--reps must be at least 2 (intervals need two replications)")


def _positive_float(name: str):
    def conv(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, got {text!r}") from None
        if not (value > 0 and math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"{name} must be positive, got {text}")
        return value
    return conv


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``cxsim`` command."""
    p = _Parser(prog="cxsim", description="Simulate customer-experience ecosystems.")
    p.add_argument("--version", action="version", version=_version())
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    r = sub.add_parser("run", help="one run of a scenario; writes metrics.csv and summary.json",
                       description="Run one scenario (the built-in default if none is given) "
                                   "and write DIR/metrics.csv (one row per tick) and "
                                   "DIR/summary.json.")
    r.add_argument("scenario", nargs="?", help="scenario TOML file (default: built-in "
                   f"{DEFAULT_SCENARIO})")
    r.add_argument("--days", type=_positive_float("--days"), help="days to simulate")
    r.add_argument("--customers", type=_whole("--customers", 1),
                   help="market size: prospects, customers and churned together")
    r.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")
    r.add_argument("--strategy", metavar="NAME",
                   help="apply one of the scenario's strategies (default: baseline, no "
                        "interventions)")
    r.add_argument("--engine", choices=("numba", "mesa"), default="numba",
                   help="numba kernel (default) or Mesa agents stepped in Python")
    r.add_argument("--threads", type=_whole("--threads", 1),
                   help="numba threads (default: all cores)")
    r.add_argument("--out", default="cxsim-results", help="output folder (default "
                   "./cxsim-results)")
    r.add_argument("--plot", action="store_true", help="also write DIR/kpi_dashboard.png")
    r.add_argument("--quiet", action="store_true", help="print nothing but errors")
    r.set_defaults(func=cmd_run)

    c = sub.add_parser("compare", help="strategies vs baseline over paired replications; "
                                       "writes comparison.csv, runs.csv, ticks.csv, roi.csv",
                       description="Run the baseline and each strategy (all the scenario's "
                                   "strategies unless --strategies) R times with paired seeds "
                                   "(replicate r of every strategy shares one seed) and write "
                                   "DIR/comparison.csv (mean and strategy − baseline "
                                   "difference with 95 % intervals per metric), DIR/runs.csv "
                                   "(one row per run, with its seed), DIR/ticks.csv (per-tick "
                                   "metrics of every run) and DIR/roi.csv (intervention cost, "
                                   "incremental profit, ROI, payback).")
    c.add_argument("scenario", nargs="?", help="scenario TOML file (default: built-in "
                   f"{DEFAULT_SCENARIO})")
    c.add_argument("--strategies", metavar="A,B",
                   help="comma-separated strategy names (default: all of the scenario's)")
    c.add_argument("--reps", type=_reps, default=10,
                   help="paired replications per strategy, at least 2 (default 10)")
    c.add_argument("--days", type=_positive_float("--days"), help="days to simulate")
    c.add_argument("--customers", type=_whole("--customers", 1),
                   help="market size: prospects, customers and churned together")
    c.add_argument("--seed", type=_seed, default=0,
                   help="root seed; replicate seeds are spawned from it (default 0)")
    c.add_argument("--workers", type=_whole("--workers", 1),
                   help="worker processes (default: all cores; 1 = in this process)")
    c.add_argument("--out", default="cxsim-compare", help="output folder (default "
                   "./cxsim-compare)")
    c.add_argument("--plot", action="store_true",
                   help="also write DIR/comparison_bands.png and DIR/forest_plot.png")
    c.add_argument("--quiet", action="store_true", help="print nothing but errors")
    c.set_defaults(func=cmd_compare)

    v = sub.add_parser("validate", help="check a scenario file",
                       description="Check a scenario file: exit 0 if valid, 2 with one line "
                                   "per problem.")
    v.add_argument("scenario", help="scenario TOML file")
    v.set_defaults(func=cmd_validate)
    return p


def _version() -> str:
    from . import __version__

    return f"cxsim {__version__}"


def _load(path: str | None) -> Scenario:
    if path is None:
        return load_scenario(scenario_dir() / DEFAULT_SCENARIO)
    return load_scenario(path)


def _check_out(out: str) -> Path:
    """Check that ``out`` is, or can be made, a writable folder; raise UsageError if not."""
    path = Path(out)
    try:
        if path.exists():
            if not path.is_dir():
                raise UsageError(f"--out: {out} exists and is not a folder")
            if not os.access(path, os.W_OK):
                raise UsageError(f"--out: {out} is not writable")
            return path
        ancestor = path.absolute().parent
        while not ancestor.exists():
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            raise UsageError(f"--out: cannot create {out}: {ancestor} is not a folder")
        if not os.access(ancestor, os.W_OK):
            raise UsageError(f"--out: cannot create {out} (no write permission)")
    except OSError as exc:
        raise UsageError(f"--out: {exc.strerror or exc}") from None
    return path


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
    """``cxsim run``: one run, written to ``--out``."""
    from .runner import resize, run

    scenario = resize(_load(args.scenario), customers=args.customers, days=args.days)
    scenario = scenario.validated()
    if args.strategy is not None:
        from .strategies import resolve

        resolve(scenario, args.strategy)  # unknown name, horizon: exit 2 before running
    out = _check_out(args.out)
    threads = _set_threads(args.threads)
    try:
        out.mkdir(parents=True, exist_ok=True)  # fail before the run, not after it
    except OSError as exc:
        raise UsageError(f"--out: cannot create {args.out} ({exc.strerror or exc})") from None
    t0 = time.perf_counter()
    result = run(scenario, args.seed, engine=args.engine, strategy=args.strategy,
                 progress=not args.quiet and sys.stderr.isatty())
    wall = time.perf_counter() - t0
    out.mkdir(parents=True, exist_ok=True)
    from . import __version__

    summary = {**result.summary, "seed": args.seed, "strategy": args.strategy or "baseline",
               "engine": args.engine, "threads": threads,
               "scenario_hash": scenario.content_hash(), "cxsim_version": __version__,
               "wall_seconds": round(wall, 3)}
    _write_atomic(out / "metrics.csv", result.metrics.to_csv(index=False))
    _write_atomic(out / "touchpoints.csv", result.touchpoints.to_csv(index=False))
    _write_atomic(out / "segments.csv", result.segments.to_csv(index=False))
    _write_atomic(out / "queues.csv", result.queues.to_csv(index=False))
    _write_atomic(out / "partners.csv", result.partners.to_csv(index=False))
    _write_atomic(out / "employees.csv", result.employees.to_csv(index=False))
    _write_atomic(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    written = ("metrics.csv, summary.json, touchpoints.csv, segments.csv, queues.csv, "
               "partners.csv, employees.csv")
    if args.plot:
        _plot_run(result.metrics, scenario, out)
        written += ", kpi_dashboard.png"
    if not args.quiet:
        print(format_summary(summary))
        print(f"wrote {out}/: {written}")
    return 0


def _plot_run(metrics, scenario: Scenario, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from . import plots

    fig = plots.kpi_dashboard(metrics, title=f"{scenario.name}: KPI dashboard",
                              tick_days=scenario.simulation.tick_days)
    _save_png(fig, out / "kpi_dashboard.png")


def _save_png(fig, path: Path) -> None:
    """Write a figure as PNG (150 dpi) atomically and close it."""
    from . import plots

    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=150, format="png")
    finally:
        plots.plt.close(fig)


def cmd_compare(args: argparse.Namespace) -> int:
    """``cxsim compare``: strategies vs baseline, written to ``--out``."""
    from .compare import OUTPUT_FILES, compare, format_comparison, prepare, write_comparison
    from .runner import resize

    scenario = resize(_load(args.scenario), customers=args.customers, days=args.days)
    scenario = scenario.validated()
    strategies = None
    if args.strategies is not None:
        strategies = list(dict.fromkeys(s.strip() for s in args.strategies.split(",")
                                        if s.strip()))
        if not strategies:
            raise UsageError("--strategies: no strategy names given")
    workers = args.workers or os.cpu_count() or 1
    # everything is checked (strategy names, horizon, counts) before anything runs
    try:
        prepare(scenario, strategies, args.reps, args.seed, workers=workers)
    except ValueError as exc:
        if isinstance(exc, ScenarioError):
            raise
        raise UsageError(str(exc)) from None
    out = _check_out(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)  # fail before the runs, not after them
    except OSError as exc:
        raise UsageError(f"--out: cannot create {args.out} ({exc.strerror or exc})") from None
    t0 = time.perf_counter()
    result = compare(scenario, strategies, args.reps, args.seed, workers=workers,
                         progress=not args.quiet and sys.stderr.isatty())
    wall = time.perf_counter() - t0
    from . import __version__

    meta = {"scenario": result.scenario, "scenario_hash": scenario.content_hash(),
            "strategies": list(result.strategies), "starts": result.starts,
            "replications": result.replications, "seed": result.seed,
            "ticks": scenario.simulation.ticks, "tick_days": scenario.simulation.tick_days,
            "market": scenario.market.size, "workers": workers,
            "runs": len(result.runs), "cxsim_version": __version__,
            "wall_seconds": round(wall, 3)}
    write_comparison(result, out)
    _write_atomic(out / "compare.json", json.dumps(meta, indent=2) + "\n")
    written = [*OUTPUT_FILES, "compare.json"]
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        from . import plots

        _save_png(plots.comparison_bands(result), out / "comparison_bands.png")
        _save_png(plots.forest_plot(result), out / "forest_plot.png")
        written += ["comparison_bands.png", "forest_plot.png"]
    if not args.quiet:
        print(format_comparison(result))
        print(f"{len(result.runs)} runs in {wall:.1f} s with {min(workers, len(result.runs))} "
              f"worker(s)")
        print(f"wrote {out}/: {', '.join(written)}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """``cxsim validate``: exit 0 if the scenario is valid."""
    sc = load_scenario(args.scenario)
    print(f"{args.scenario}: valid ({sc.name}: {len(sc.segments)} segments, "
          f"{len(sc.touchpoints)} touchpoints, {len(sc.strategies)} strategies)")
    return 0


_ROWS = (
    ("customers (final)", "active", "{:,.0f}"), ("new customers", "new", "{:,.0f}"),
    ("churned", "churned", "{:,.0f}"), ("monthly churn", "monthly_churn", "{:.2%}"),
    ("annual retention", "annual_retention", "{:.1%}"), ("NPS (last 30 days)", "nps", "{:+.1f}"),
    ("CSAT (1-5)", "csat", "{:.2f}"), ("CES (1-7, 7 = easy)", "ces", "{:.2f}"),
    ("satisfaction (0-1)", "satisfaction", "{:.3f}"),
    ("first-contact resolution", "fcr", "{:.1%}"), ("service level", "service_level", "{:.1%}"),
    ("avg speed of answer (s)", "asa", "{:.1f}"), ("queue abandonment", "abandonment", "{:.1%}"),
    ("agent occupancy", "occupancy", "{:.1%}"), ("partner on time", "partner_on_time", "{:.1%}"),
    ("revenue", "revenue", "{:,.0f}"), ("cost", "cost", "{:,.0f}"), ("profit", "profit", "{:,.0f}"),
)


def format_summary(summary: dict) -> str:
    """Return a compact two-column table of a run's key figures."""
    head = (f"{summary.get('scenario', '')}: {summary.get('days', 0):g} days, market "
            f"{summary.get('market', 0):,} (seed {summary.get('seed')}, "
            f"{summary.get('engine')} engine, {summary.get('wall_seconds', 0):.2f} s)")
    lines = [head]
    if summary.get("strategy") not in (None, "baseline"):
        lines.append(f"  {'strategy':<26} {summary['strategy']:>14}")
    for label, key, fmt in _ROWS:
        v = summary.get(key)
        lines.append(f"  {label:<26} {'n/a' if v is None else fmt.format(v):>14}")
    return "\n".join(lines)


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
        for line in exc.problems:
            print(line, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cxsim: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - last resort: one line, exit 1
        if os.environ.get("CXSIM_DEBUG"):
            raise
        print(f"cxsim: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
