"""Parameter sweeps: many runs over a design, streamed to disk, resumable, nothing lost.

``sweep(scenario, params, design, samples, replications, seed, executor, out)`` runs every
design point (:mod:`cxsim.design`) ``replications`` times and returns one tidy row per run:
``run_id, point, replicate, seed``, the parameter values, ``strategy``, ``status``
(``done``/``failed``), ``error``, then the run's outcomes (every numeric entry of
:meth:`CXModel.summary`: final and cumulative metrics).

Seeds.  Replicate *r* of every design point uses the same seed,
``SeedSequence(seed).spawn(replications)[r]`` (as :func:`cxsim.compare` does): common random
numbers make differences between points far less noisy.  A row's outcomes depend only on
the scenario, its parameter values and its seed, never on the executor or worker count.

On disk (``out``):

- ``sweep.json`` — provenance: cxsim version, the scenario itself and its content hash, the
  design with every point, the root seed and replicate seeds, and the sweep's status;
- ``journal.jsonl`` — one line per finished run, appended and flushed as each run ends (a
  torn last line from a killed process is discarded on resume);
- ``runs.parquet`` (``runs.csv`` without pyarrow) — the runs table sorted by ``run_id``,
  rewritten atomically every few seconds while the sweep runs and at its end;
- ``ticks.parquet``/``ticks.csv`` — per-tick metrics of every run (``ticks=True``);
- ``sensitivity.csv`` — Sobol' indices or Morris μ*/σ per outcome (sobol/morris designs).

A run that raises is recorded as failed with its error and the sweep goes on.  An
interrupted sweep (Ctrl-C, or the process killed) continues with ``resume=True`` (``cxsim
sweep --resume``): finished runs are kept, unfinished and failed ones run (again), and the
result has exactly the rows an uninterrupted sweep would have.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .design import DESIGNS, SAMPLED, Design, make_design, sensitivity
from .errors import Arg, Message, Worded
from .executors import ExecutorBroken, ExecutorError, RunSpec, dask_executor, run_many
from .io import atomic_path, read_csv_text, write_atomic
from .params import STRATEGY, Param, ParamError, check_param, parse_spec
from .params import strategy_of as _strategy_arg
from .rng import replicate_seeds
from .runner import resize
from .scenario import Scenario
from .vocabulary import HEADLINE, OUTCOMES, RUN_TICK_COLUMNS

#: version of the results-folder layout (``sweep.json`` ``format``)
FORMAT = 1

#: summary entries that describe the run rather than measure it
NOT_OUTCOMES = ("scenario", "ticks", "days", "market", "initial_customers")

#: outcomes analysed by default for sobol/morris designs (the headline figures)
DEFAULT_OUTCOMES: tuple[str, ...] = HEADLINE

#: the per-tick columns kept with ``ticks=True``
TICK_COLUMNS: tuple[str, ...] = RUN_TICK_COLUMNS

#: columns every runs table starts with
ID_COLUMNS = ("run_id", "point", "replicate", "seed")

FILES = ("sweep.json", "journal.jsonl", "runs.parquet", "runs.csv", "ticks.parquet",
         "ticks.csv", "sensitivity.csv")

#: seconds between rewrites of the runs table while a sweep runs
FLUSH_SECONDS = 5.0


class SweepInterrupted(Worded, KeyboardInterrupt):
    """A sweep stopped by Ctrl-C; what finished is on disk and ``resume=True`` continues it."""

    def __init__(self, *parts: str | Arg):
        self._set_parts(parts)
        super().__init__(self.render())


class SweepAborted(Worded, RuntimeError):
    """A sweep stopped because its executor broke (a worker process died)."""

    def __init__(self, *parts: str | Arg):
        self._set_parts(parts)
        super().__init__(self.render())


# --------------------------------------------------------------------------------------------
# One run of a sweep (runs in a worker: a plain top-level function)
# --------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if value is None:
        return math.nan
    if isinstance(value, np.generic):
        return value.item()
    return value


def sweep_record(record: dict) -> dict:
    """A run's record (:func:`cxsim.executors.execute`) as the journal keeps it.

    ``run_id, status, error, outcomes`` (every summary figure but the run's descriptors,
    NaN for a missing value) and ``ticks`` (per-tick metrics, or ``None``).
    """
    outcomes = {k: _plain(v) for k, v in record["summary"].items() if k not in NOT_OUTCOMES}
    return {"run_id": record["key"], "status": record["status"], "error": record["error"],
            "outcomes": outcomes if record["status"] == "done" else {},
            "ticks": record["ticks"] if record["status"] == "done" else None}


def _canonical(record: dict) -> dict:
    """The record as it reads back from the journal (so fresh and resumed rows are equal)."""
    return json.loads(json.dumps(record))


# --------------------------------------------------------------------------------------------
# The plan: everything a sweep needs, and its fingerprint for resuming
# --------------------------------------------------------------------------------------------


def _canonical_param(p: Param) -> list:
    if p.is_distribution:
        return [p.path, p.dist, p.low, p.high]
    return [p.path, "values", list(p.values)]


@dataclass(frozen=True, eq=False)
class Plan:
    """A checked sweep: base scenario data, design, seeds and settings."""

    scenario: Scenario = field(repr=False)
    base: dict = field(repr=False)
    design: Design = field(repr=False)
    replications: int
    seed: int
    seeds: tuple[int, ...]
    strategy: str | None
    customers: int | None
    days: float | None
    ticks: bool
    outcomes: tuple[str, ...]
    fmt: str
    notes: tuple[str, ...] = ()

    @property
    def n_runs(self) -> int:
        """Design points × replications."""
        return len(self.design) * self.replications

    def fingerprint(self) -> dict:
        """What makes two sweeps the same sweep (compared on resume)."""
        from . import __version__

        return {"format": FORMAT, "cxsim_version": __version__,
                "scenario_hash": self.scenario.content_hash(), "design": self.design.kind,
                "samples": self.design.samples, "replications": self.replications,
                "seed": self.seed,
                "params": [_canonical_param(p) for p in self.design.params],
                "strategy": self.strategy, "customers": self.customers, "days": self.days,
                "ticks": self.ticks, "outcomes": list(self.outcomes), "format_runs": self.fmt}

    def spec(self, run_id: int) -> RunSpec:
        """Run ``run_id``: point ``run_id // R`` with replicate ``run_id % R``'s seed."""
        point = self.design.points[run_id // self.replications]
        return RunSpec(key=run_id, scenario=self.base, seed=self.seeds[run_id % self.replications],
                       strategy=_strategy_arg(point.get(STRATEGY, self.strategy)),
                       overrides=point, customers=self.customers, days=self.days,
                       tick_columns=TICK_COLUMNS if self.ticks else ())


def _count(name: str, value: Any, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ParamError(f"{name} must be a whole number, got {value!r}")
    if value < least:
        raise ParamError(f"{name} must be at least {least}, got {value}")
    return int(value)


def _pyarrow_available() -> bool:
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return False
    return True


def plan_sweep(scenario: Scenario, params: Mapping[str, Any] | Sequence[Param],
               design: str = "grid", samples: int | None = None, replications: int = 1,
               seed: int = 0, *, strategy: str | None = None, customers: int | None = None,
               days: float | None = None, ticks: bool = False,
               outcomes: Sequence[str] | None = None, fmt: str = "auto") -> Plan:
    """Check everything about a sweep before anything runs; raise ParamError/ScenarioError.

    ``params`` maps paths to specs (text as on the command line, a list of values, or one
    value), or is a sequence of :class:`~cxsim.params.Param`.
    """
    replications = _count("replications", replications, 1)
    seed = _count("seed", seed, 0)
    if customers is not None:
        customers = _count("customers", customers, 1)
    if days is not None and not (isinstance(days, int | float) and not isinstance(days, bool)
                                 and math.isfinite(days) and days > 0):
        raise ParamError(f"days must be a positive number, got {days!r}")
    if design not in DESIGNS:
        raise ParamError(Arg("design"), f" must be one of {', '.join(DESIGNS)}, got {design!r}")
    if fmt == "auto":
        fmt = "parquet" if _pyarrow_available() else "csv"
    if fmt not in ("csv", "parquet"):
        raise ParamError(Arg("fmt"), f" must be csv or parquet, got {fmt!r}")
    if fmt == "parquet" and not _pyarrow_available():
        raise ParamError(Arg("fmt", "parquet"), " needs pyarrow: pip install 'cxsim[parquet]'")
    sc = scenario.validated()
    base = sc.to_dict()
    items = (list(params.items()) if isinstance(params, Mapping)
             else [(p.path, p) for p in params])
    checked = [check_param(parse_spec(path, spec), base, list(sc.strategies))
               for path, spec in items]
    paths = {p.path for p in checked}
    if customers is not None and "market.size" in paths:
        raise ParamError(Arg("customers"), " and ", Arg("params", "market.size"),
                         " both set the market size; use one")
    if days is not None and "simulation.ticks" in paths:
        raise ParamError(Arg("days"), " and ", Arg("params", "simulation.ticks"),
                         " both set the horizon; use one")
    if strategy is not None:
        if STRATEGY in paths:
            raise ParamError(Arg("strategy"), " and ", Arg("params", "strategy=..."),
                             " both choose the strategy; use one")
        check_param(parse_spec(STRATEGY, [strategy]), base, list(sc.strategies))
    known = OUTCOMES
    chosen = tuple(outcomes) if outcomes is not None else DEFAULT_OUTCOMES
    for name in chosen:
        if name not in known:
            raise ParamError(Arg("outcomes"), f": unknown outcome '{name}' (known: "
                             f"{', '.join(known)})")
    if not chosen:
        raise ParamError(Arg("outcomes"), ": no outcome names given")
    if customers is not None or days is not None:
        resize(sc, customers=customers, days=days).validated()  # e.g. too small a market
    d = make_design(checked, design, samples, seed)
    # the strategies a sweep applies must start within its horizon: check before running
    horizon = resize(sc, days=days) if days is not None else sc
    names = {strategy} if strategy is not None else set()
    for p in checked:
        if p.path == STRATEGY:
            names.update(p.values)
    from .strategies import resolve

    for name in names:
        resolve(horizon, _strategy_arg(name))
    return Plan(scenario=sc, base=base, design=d, replications=replications, seed=seed,
                seeds=tuple(replicate_seeds(seed, replications)), strategy=strategy,
                customers=customers, days=float(days) if days is not None else None,
                ticks=bool(ticks), outcomes=chosen, fmt=fmt,
                notes=tuple(_scaling_notes(sc, checked, customers)))


def _scaling_notes(sc: Scenario, params: Sequence[Param], customers: int | None
                   ) -> list[str]:
    """Notes on swept values that will not act as a user may expect."""
    return [note for p in params
            if (note := scaled_headcount_note(sc, p, customers, sweep=True))]


def scaled_headcount_note(sc: Scenario, p: Param, customers: int | None,
                          sweep: bool = False) -> Message | None:
    """A note when resizing to ``customers`` merges or shrinks a team head count parameter.

    Parameter values speak the scenario's units and the business scales with the market
    (:func:`cxsim.runner.build_scenario`), so at a small ``customers`` distinct head counts
    can round to the same number of agents.  Returns ``None`` when nothing is lost.
    """
    parts = p.path.split(".")
    if (customers is None or customers == sc.market.size or len(parts) != 3
            or parts[0] != "teams" or parts[2] != "headcount"):
        return None
    f = customers / sc.market.size
    if p.is_distribution:
        given = list(range(int(p.low), int(p.high) + 1))
    else:
        given = sorted(int(v) for v in p.values)
    scaled = sorted({max(1, round(v * f)) for v in given})
    if len(scaled) == len(given) and not (len(given) == 1 and scaled[0] == 1 and f < 1):
        return None

    def span(xs: list[int]) -> str:
        return f"{xs[0]}" if len(xs) == 1 else f"{xs[0]}..{xs[-1]}"

    agents = "agent" if scaled == [1] else "agents"
    return Message("note: at ", Arg("customers", f"{customers:,}"),
                   f" ({f:.1%} of the scenario's market) {p.path} {span(given)} becomes "
                   f"{span(scaled)} {agents}; "
                   + ("sweep staffing at a larger " if sweep
                      else "run staffing questions at a larger "),
                   Arg("customers", library="customers value"))


# --------------------------------------------------------------------------------------------
# The results folder
# --------------------------------------------------------------------------------------------


class Journal:
    """Append-only record of finished runs, one JSON line each, flushed per line."""

    def __init__(self, path: Path):
        self.path = path
        self._fh = None

    def load(self) -> dict[int, dict]:
        """Read every complete line (the last record of a run wins); cut a torn tail."""
        records: dict[int, dict] = {}
        if not self.path.exists():
            return records
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        for line in data[:end].splitlines():
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                records[int(rec["run_id"])] = rec
            except (ValueError, KeyError, TypeError):
                continue  # a damaged line: that run simply runs again
        if end < len(data):
            with open(self.path, "r+b") as fh:  # drop the torn tail before appending
                fh.truncate(end)
        return records

    def append(self, record: dict) -> None:
        """Write one record and flush it to the operating system (survives a killed process)."""
        if self._fh is None:
            self._fh = open(self.path, "a", encoding="utf-8")
        self._fh.write(json.dumps(record) + "\n")
        self._fh.flush()

    def close(self) -> None:
        """Close the file."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def _environment() -> dict:
    import importlib.metadata as md

    env = {"python": platform.python_version(), "platform": platform.platform()}
    for pkg in ("numpy", "numba", "mesa", "pandas", "SALib", "dask", "pyarrow"):
        try:
            env[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return env


def _provenance(plan: Plan, status: str, done: int, failed: int, wall: float,
                created: str) -> dict:
    d = plan.design
    return {
        "format": FORMAT, "status": status, "created": created,
        "fingerprint": plan.fingerprint(),
        "scenario_name": plan.scenario.name,
        "params": {p.path: p.spec for p in d.params},
        "runs": plan.n_runs, "points": len(d), "done": done, "failed": failed,
        "wall_seconds": round(wall, 3),
        "seeds": list(plan.seeds),
        "design_points": d.points,
        "design_unit": None if d.unit is None else d.unit.tolist(),
        "environment": _environment(),
        "scenario": plan.base,
    }


def read_provenance(out: Path | str) -> dict:
    """Read ``sweep.json`` of a results folder; ParamError if there is none or it is damaged."""
    path = Path(out) / "sweep.json"
    if not path.exists():
        raise ParamError(f"{out}: holds no sweep (no sweep.json)")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ParamError(f"{path}: cannot be read ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or "fingerprint" not in meta:
        raise ParamError(f"{path}: not a sweep of this cxsim version's format "
                         f"(format {meta.get('format') if isinstance(meta, dict) else '?'}, "
                         f"expected {FORMAT})")
    return meta


def stored_settings(meta: dict) -> dict:
    """The arguments of :func:`plan_sweep` that made the sweep described by ``meta``."""
    fp = meta["fingerprint"]
    params = []
    for c in fp["params"]:
        path, kind, spec = c[0], c[1], meta["params"][c[0]]
        params.append(Param(path, spec, values=tuple(c[2])) if kind == "values"
                      else Param(path, spec, dist=kind, low=c[2], high=c[3]))
    return {"scenario": Scenario.from_dict(meta["scenario"], check_horizon=False),
            "params": params, "design": fp["design"], "samples": fp["samples"],
            "replications": fp["replications"], "seed": fp["seed"],
            "strategy": fp["strategy"], "customers": fp["customers"], "days": fp["days"],
            "ticks": fp["ticks"], "outcomes": fp["outcomes"], "fmt": fp["format_runs"]}


def stored_plan(out: Path | str) -> Plan:
    """Rebuild the plan of the sweep in ``out`` (its scenario, design and settings)."""
    meta = read_provenance(out)
    return _with_stored_design(plan_sweep(**stored_settings(meta)), meta)


def _with_stored_design(plan: Plan, meta: dict) -> Plan:
    """Use the design points stored in ``sweep.json`` (independent of library versions)."""
    unit = meta.get("design_unit")
    d = dataclasses.replace(plan.design, points=[dict(p) for p in meta["design_points"]],
                            unit=None if unit is None else np.asarray(unit, dtype=float))
    return dataclasses.replace(plan, design=d)


def _differences(stored: dict, new: dict) -> str | None:
    for key in new:
        if stored.get(key) != new[key]:
            if key == "params":
                return "parameters: " + _params_text(stored.get(key)) + " there, " + \
                    _params_text(new[key]) + " here"
            return f"{key}: {stored.get(key)!r} there, {new[key]!r} here"
    return None


def _params_text(params: Any) -> str:
    if not isinstance(params, list):
        return repr(params)
    return "; ".join(f"{c[0]}={c[2:] if c[1] != 'values' else c[2]}"
                     + (f" ({c[1]})" if c[1] != "values" else "") for c in params)


def runs_file(out: Path | str) -> Path | None:
    """The runs table of a results folder (Parquet or CSV), or ``None``."""
    for name in ("runs.parquet", "runs.csv"):
        p = Path(out) / name
        if p.exists():
            return p
    return None


def read_runs(out: Path | str) -> pd.DataFrame:
    """Read the runs table of a results folder."""
    p = runs_file(out)
    if p is None:
        raise ParamError(f"{out}: no runs.parquet or runs.csv")
    if p.suffix == ".parquet":
        if not _pyarrow_available():
            raise ParamError(f"{p}: reading Parquet needs pyarrow: pip install "
                             "'cxsim[parquet]'")
        return pd.read_parquet(p)
    return read_csv_text(p, ("error",))  # an empty error means "no error", not NaN


def _write_table(df: pd.DataFrame, path: Path, fmt: str, meta: dict | None = None) -> None:
    with atomic_path(path) as tmp:
        if fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(df, preserve_index=False)
            if meta is not None:
                table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                                       b"cxsim": json.dumps(meta).encode()})
            pq.write_table(table, tmp)
        else:
            df.to_csv(tmp, index=False)


# --------------------------------------------------------------------------------------------
# Assembling tables
# --------------------------------------------------------------------------------------------


def runs_table(plan: Plan, records: Mapping[int, dict]) -> pd.DataFrame:
    """One row per finished run, sorted by ``run_id`` (see the module docstring)."""
    d, reps = plan.design, plan.replications
    param_cols = [p.path for p in d.params]
    outcome_cols: list[str] = []
    for rid in sorted(records):
        if records[rid]["status"] == "done":
            outcome_cols = list(records[rid]["outcomes"])
            break
    rows = []
    for rid in sorted(records):
        rec = records[rid]
        point = d.points[rid // reps]
        row: dict[str, Any] = {"run_id": rid, "point": rid // reps, "replicate": rid % reps,
                               "seed": plan.seeds[rid % reps]}
        row.update({c: point[c] for c in param_cols})
        if STRATEGY not in param_cols:
            row[STRATEGY] = plan.strategy or "baseline"
        row["status"] = rec["status"]
        row["error"] = rec["error"]
        for c in outcome_cols:
            row[c] = rec["outcomes"].get(c, math.nan)
        rows.append(row)
    cols = [*ID_COLUMNS, *param_cols, *([STRATEGY] if STRATEGY not in param_cols else []),
            "status", "error", *outcome_cols]
    df = pd.DataFrame(rows, columns=cols)
    for c in outcome_cols:
        df[c] = pd.to_numeric(df[c], errors="coerce")
    return df


def ticks_table(plan: Plan, records: Mapping[int, dict]) -> pd.DataFrame:
    """Per-tick metrics of every finished run: ``run_id, point, replicate, tick, ...``."""
    frames = []
    for rid in sorted(records):
        t = records[rid].get("ticks")
        if records[rid]["status"] != "done" or not t:
            continue
        f = pd.DataFrame(t)
        f.insert(0, "replicate", rid % plan.replications)
        f.insert(0, "point", rid // plan.replications)
        f.insert(0, "run_id", rid)
        frames.append(f)
    if not frames:
        return pd.DataFrame(columns=["run_id", "point", "replicate", *TICK_COLUMNS])
    return pd.concat(frames, ignore_index=True)


def point_means(plan: Plan, runs: pd.DataFrame, outcome: str) -> np.ndarray:
    """Mean of ``outcome`` over the finished replicates of each design point (NaN if none)."""
    ok = runs[runs["status"] == "done"]
    means = ok.groupby("point")[outcome].mean() if outcome in ok else pd.Series(dtype=float)
    return means.reindex(range(len(plan.design))).to_numpy(dtype=float)


# --------------------------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SweepResult:
    """The outcome of a sweep.

    ``runs``: one row per run (see the module docstring); ``ticks``: per-tick metrics when
    asked for; ``sensitivity``: indices per outcome and parameter for sobol/morris designs;
    ``provenance``: what ``sweep.json`` holds; ``ran``: runs executed by this call (fewer
    than ``len(runs)`` after a resume).
    """

    runs: pd.DataFrame = field(repr=False)
    ticks: pd.DataFrame | None = field(repr=False)
    sensitivity: pd.DataFrame | None = field(repr=False)
    plan: Plan = field(repr=False)
    provenance: dict = field(repr=False)
    out: Path | None
    ran: int
    wall_seconds: float

    @property
    def failed(self) -> pd.DataFrame:
        """The rows of runs that failed, with their parameters and errors."""
        return self.runs[self.runs["status"] == "failed"]

    def means(self, outcome: str) -> pd.DataFrame:
        """Per design point: the parameter values and the mean of ``outcome`` over replicates."""
        params = [p.path for p in self.plan.design.params]
        ok = self.runs[self.runs["status"] == "done"]
        return (ok.groupby("point", as_index=False)
                  .agg({**{p: "first" for p in params}, outcome: "mean"}))


def load_sweep(out: Path | str) -> SweepResult:
    """The :class:`SweepResult` of a results folder (runs table, sensitivity, plan)."""
    meta = read_provenance(out)
    plan = stored_plan(out)
    runs = read_runs(out)
    sens_path = Path(out) / "sensitivity.csv"
    sens = read_csv_text(sens_path, ("note",)) if sens_path.exists() else None
    return SweepResult(runs=runs, ticks=None, sensitivity=sens, plan=plan, provenance=meta,
                       out=Path(out), ran=0, wall_seconds=float(meta.get("wall_seconds", 0.0)))


def format_failures(runs: pd.DataFrame, limit: int = 5) -> str:
    """A short summary of failed runs: how many, and the distinct errors with examples."""
    failed = runs[runs["status"] == "failed"]
    if failed.empty:
        return ""
    lines = [f"{len(failed)} of {len(runs)} runs failed:"]
    for error, group in list(failed.groupby("error", sort=False))[:limit]:
        ids = ", ".join(str(i) for i in group["run_id"].head(5))
        more = "" if len(group) <= 5 else f" and {len(group) - 5} more"
        lines.append(f"  {len(group)} × {error} (run_id {ids}{more})")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------


def _check_folder(out: Path, resume: bool) -> None:
    if out.exists() and not out.is_dir():
        raise ParamError(Arg("out"), f": {out} exists and is not a folder")
    has_sweep = (out / "sweep.json").exists()
    if resume:
        if not has_sweep:
            raise ParamError(Arg("resume"), f": {out} holds no sweep to resume (no sweep.json)")
        return
    if has_sweep:
        raise ParamError(Arg("out"), f": {out} already holds a sweep; add ",
                         Arg("resume", "True"), " to continue it or choose another folder")
    clash = [name for name in FILES if (out / name).exists()]
    if clash:
        raise ParamError(Arg("out"), f": {out} already holds {clash[0]}; choose another folder")


def check_resumable(out: Path | str, plan: Plan) -> dict:
    """Check that ``out`` holds the sweep ``plan`` describes; return its ``sweep.json``.

    Raises :class:`~cxsim.params.ParamError` naming the first difference otherwise.
    """
    _check_folder(Path(out), resume=True)
    meta = read_provenance(out)
    diff = _differences(meta["fingerprint"], plan.fingerprint())
    if diff:
        raise ParamError(Arg("resume"), f": {out} holds a different sweep ({diff})")
    return meta


def sweep(scenario: Scenario, params: Mapping[str, Any] | Sequence[Param],
          design: str = "grid", samples: int | None = None, replications: int = 1,
          seed: int = 0, executor: Executor | str | None = None, out: Path | str | None = None,
          *, workers: int | None = None, scheduler: str | None = None,
          strategy: str | None = None, customers: int | None = None,
          days: float | None = None, ticks: bool = False, outcomes: Sequence[str] | None = None,
          fmt: str = "auto", resume: bool = False, progress: bool = False,
          plan: Plan | None = None) -> SweepResult:
    """Run a parameter sweep; return its :class:`SweepResult` (and write it to ``out``).

    Parameters
    ----------
    scenario
        The base scenario.
    params
        ``{path: spec}`` — a path into the scenario (see :mod:`cxsim.params`; ``strategy``
        picks the strategy) and a spec: ``"8,10,12"``, ``"0.5:0.9:5"``, ``"uniform(0.5,0.9)"``,
        ``"int(8,16)"``, ``"loguniform(a,b)"``, a list of values, or one value (fixed).
    design
        ``grid`` (every combination), ``lhs``, ``sobol`` or ``morris`` (see
        :mod:`cxsim.design`; sobol and morris need SALib, the ``sensitivity`` extra).
    samples
        Points for ``lhs``; base samples N for ``sobol`` (N·(D+2) points); trajectories r for
        ``morris`` (r·(D+1) points).  Not for ``grid``.
    replications
        Runs per design point; replicate *r* uses the same seed at every point.
    seed
        Root seed of the replicate seeds and of the design's sampling.
    executor
        ``None`` (a process pool of ``workers``, or in-process when ``workers=1``),
        ``"serial"``, ``"processes"``, or any ``concurrent.futures.Executor``
        (:func:`cxsim.executors.run_many` maps the runs).
    out
        Results folder (see the module docstring); ``None`` keeps results in memory only.
    workers
        Worker processes (default: all cores).
    scheduler
        Run on Dask: ``"local"`` (a LocalCluster of ``workers`` processes) or a scheduler
        address ``tcp://HOST:PORT`` (the ``dask`` extra).
    strategy
        A strategy every run applies (unless ``strategy`` is a parameter).
    customers, days
        Market size and horizon of every run (:func:`cxsim.runner.resize`, applied after the
        parameter values).
    ticks
        Also keep per-tick metrics of every run.
    outcomes
        Outcomes analysed for sobol/morris (default :data:`DEFAULT_OUTCOMES`).
    fmt
        ``"auto"`` (Parquet if pyarrow is installed, else CSV), ``"parquet"`` or ``"csv"``.
    resume
        Continue the sweep in ``out``; it must be the same sweep (scenario, design,
        parameters, seeds and settings), else :class:`~cxsim.params.ParamError`.
    progress
        Show a progress bar with ETA (tqdm).
    plan
        A plan from :func:`plan_sweep` (then the arguments that make a plan are ignored).

    Raises
    ------
    ParamError, ScenarioError, ExecutorError
        Bad input, before anything runs or is written.
    SweepInterrupted
        Ctrl-C: finished runs are saved; ``resume=True`` continues.

    """
    if plan is None:
        plan = plan_sweep(scenario, params, design, samples, replications, seed,
                          strategy=strategy, customers=customers, days=days, ticks=ticks,
                          outcomes=outcomes, fmt=fmt)
    if workers is not None:
        workers = _count("workers", workers, 1)
    if scheduler is not None and isinstance(executor, Executor):
        raise ParamError("give either an executor or a scheduler, not both")
    records: dict[int, dict] = {}
    created = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    out_path = Path(out) if out is not None else None
    journal = None
    if out_path is not None:
        _check_folder(out_path, resume)
        if resume:
            meta = check_resumable(out_path, plan)
            plan = _with_stored_design(plan, meta)
            created = meta.get("created", created)
        journal = Journal(out_path / "journal.jsonl")
        if resume:
            records = {rid: rec for rid, rec in journal.load().items() if rid < plan.n_runs}
        # probe the executor before writing anything: an unreachable scheduler leaves the
        # folder as it was
    elif resume:
        raise ParamError("resume needs the results folder (out=...)")
    todo = [rid for rid in range(plan.n_runs)
            if records.get(rid, {}).get("status") != "done"]
    t0 = time.perf_counter()
    bar = None
    state: dict[str, Any] = {"last_flush": time.monotonic(), "ran": 0, "first": None}

    def flush(status: str) -> None:
        if out_path is None:
            return
        runs = runs_table(plan, records)
        done = int((runs["status"] == "done").sum()) if len(runs) else 0
        meta = _provenance(plan, status, done, len(runs) - done,
                           time.perf_counter() - t0, created)
        _write_table(runs, out_path / f"runs.{plan.fmt}", plan.fmt, meta)
        write_atomic(out_path / "sweep.json", json.dumps(meta, indent=1) + "\n")

    def on_record(record: dict) -> None:
        record = _canonical(sweep_record(record))
        records[record["run_id"]] = record
        if journal is not None:
            journal.append(record)
        state["ran"] += 1
        if state["first"] is None:
            state["first"] = time.perf_counter() - t0
        if bar is not None:
            bar.update()
        if time.monotonic() - state["last_flush"] > FLUSH_SECONDS:
            flush("running")
            state["last_flush"] = time.monotonic()

    label = "none"
    specs = [plan.spec(rid) for rid in todo]
    try:
        if scheduler is not None and todo:
            # connect (or fail) before the folder is touched
            with dask_executor(scheduler, workers) as (ex, slots):
                _prepare_folder(out_path, plan, created, flush)
                bar = _bar(progress, plan.n_runs, plan.n_runs - len(todo))
                run_many(specs, on_record, executor=ex, window=2 * slots)
                label = "dask-local" if scheduler == "local" else "dask"
        else:
            _prepare_folder(out_path, plan, created, flush)
            bar = _bar(progress, plan.n_runs, plan.n_runs - len(todo))
            if todo:
                n = workers or os.cpu_count() or 1
                label = run_many(specs, on_record, executor=executor, workers=workers,
                                 window=2 * n).executor
    except (KeyboardInterrupt, ExecutorBroken) as exc:  # Ctrl-C, or a worker process died
        if bar is not None:
            bar.close()
            bar = None
        if journal is not None:
            journal.close()
        flush("interrupted")
        n_done = sum(1 for r in records.values() if r["status"] == "done")
        saved = f"{n_done} of {plan.n_runs} runs finished and saved; continue with "
        if isinstance(exc, ExecutorBroken):
            raise SweepAborted(f"{exc}: {saved}", Arg("resume", "True")) from None
        raise SweepInterrupted(f"interrupted: {saved}", Arg("resume", "True")) from None
    finally:
        if bar is not None:
            bar.close()
        if journal is not None:
            journal.close()
    wall = time.perf_counter() - t0
    runs = runs_table(plan, records)
    tick_table = ticks_table(plan, records) if plan.ticks else None
    sens = None
    if plan.design.kind in ("sobol", "morris"):
        sens = sensitivity(plan.design, {o: point_means(plan, runs, o) for o in plan.outcomes},
                           seed=plan.seed)
    n_done = int((runs["status"] == "done").sum())
    meta = _provenance(plan, "complete", n_done, len(runs) - n_done, wall, created)
    meta["executor"] = label
    # seconds from the start to the first finished run (worker start-up + one run)
    meta["first_result_seconds"] = (None if state["first"] is None
                                    else round(state["first"], 3))
    if out_path is not None:
        if tick_table is not None:
            _write_table(tick_table, out_path / f"ticks.{plan.fmt}", plan.fmt)
        if sens is not None:
            write_atomic(out_path / "sensitivity.csv", sens.to_csv(index=False))
        _write_table(runs, out_path / f"runs.{plan.fmt}", plan.fmt, meta)
        write_atomic(out_path / "sweep.json", json.dumps(meta, indent=1) + "\n")
    return SweepResult(runs=runs, ticks=tick_table, sensitivity=sens, plan=plan,
                       provenance=meta, out=out_path, ran=state["ran"], wall_seconds=wall)


def _prepare_folder(out: Path | None, plan: Plan, created: str,
                    flush: Callable[[str], None]) -> None:
    if out is None:
        return
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ParamError(Arg("out"), f": cannot create {out} ({exc.strerror or exc})") from None
    flush("running")


def _bar(progress: bool, total: int, initial: int):
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc="cxsim sweep", unit="run",
                file=sys.stderr, smoothing=0.1)


__all__ = ["DEFAULT_OUTCOMES", "FILES", "SAMPLED", "ExecutorError", "Journal", "Plan",
           "SweepAborted", "SweepInterrupted", "SweepResult", "check_resumable",
           "format_failures", "load_sweep", "plan_sweep", "point_means", "read_provenance",
           "read_runs", "runs_table", "stored_plan", "stored_settings", "sweep",
           "sweep_record", "ticks_table"]
