"""Shared helpers of the benchmark scripts: machine facts and the results file."""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results.jsonl"


def machine() -> dict:
    """Facts about the machine a benchmark ran on."""
    import mesa
    import numba
    import numpy

    return {"python": platform.python_version(), "cpus": os.cpu_count(),
            "numba_threads": numba.get_num_threads(), "numba": numba.__version__,
            "numpy": numpy.__version__, "mesa": mesa.__version__,
            "processor": platform.processor() or platform.machine()}


def clock(owner: object, attr: str, into: list[float]) -> Callable:
    """Time every call of ``owner.attr`` into ``into`` (seconds); return the original.

    Set on ``owner`` itself (an instance attribute times this object only; a module
    attribute times every caller that looks it up at call time).
    """
    method = getattr(owner, attr)

    def clocked(*args, **kw):
        t0 = time.perf_counter()
        out = method(*args, **kw)
        into.append(time.perf_counter() - t0)
        return out

    setattr(owner, attr, clocked)
    return method


def record(name: str, figures: dict, save: bool = True) -> dict:
    """Print a benchmark's figures as JSON and append them to ``results.jsonl``."""
    row = {"benchmark": name, "when": time.strftime("%Y-%m-%d %H:%M:%S"),
           "machine": machine(), **figures}
    print(json.dumps(row, indent=2))
    if save:
        with RESULTS.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")
    return row


def run_parser(doc: str, repeats: str, default_repeats: int) -> argparse.ArgumentParser:
    """Arguments of a benchmark of whole ``cxsim run`` processes: the run's size, how many
    times (``repeats``: the flag's name) and ``--no-save``."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--customers", type=count, default=100_000)
    p.add_argument("--days", type=count, default=365)
    p.add_argument(repeats, type=count, default=default_repeats)
    p.add_argument("--no-save", action="store_true", help="do not append to results.jsonl")
    return p


def timed_run(args: list[str], env: dict) -> float:
    """Seconds one ``cxsim run`` subprocess takes (``args`` after ``run``; output discarded)."""
    import subprocess

    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cxsim.cli", "run", *args], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


def count(text: str) -> int:
    """argparse type: a whole number of at least 1 (``1e6`` allowed)."""
    value = _number(text)
    if value != int(value) or value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return int(value)


def seconds(text: str) -> float:
    """argparse type: a number of seconds, at least 0."""
    value = _number(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {text!r}")
    return value


def counts(text: str) -> list[int]:
    """argparse type: comma-separated whole numbers of at least 1."""
    return [count(part.strip()) for part in text.split(",")]


def run_sizes(text: str) -> list[tuple[int, float, int]]:
    """argparse type: comma-separated ``CUSTOMERS:DAYS:RUNS``."""
    out = []
    for part in text.split(","):
        fields = part.strip().split(":")
        if len(fields) != 3:
            raise argparse.ArgumentTypeError(f"expected CUSTOMERS:DAYS:RUNS, got {part!r}")
        out.append((count(fields[0]), float(count(fields[1])), count(fields[2])))
    return out


def run_main(main: Callable[[], None]) -> None:
    """Run a benchmark's ``main``; a scenario the chosen size makes invalid exits 2, one line.

    (For example a market smaller than the social network's mean degree.)
    """
    from cxsim.scenario import ScenarioError

    try:
        main()
    except ScenarioError as exc:
        print(f"{Path(sys.argv[0]).name}: error: {'; '.join(exc.problems)}", file=sys.stderr)
        raise SystemExit(2) from None
