"""Shared plumbing of the workshop experiments: arguments, the scenario, saving figures."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import cxsim  # noqa: E402
from cxsim import plots  # noqa: E402


def parser(doc: str, customers: int, days: float, reps: int, out: str
           ) -> argparse.ArgumentParser:
    """The common options: size, replications, workers, output folder."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--scenario", help="scenario TOML file (default: the built-in retailer)")
    p.add_argument("--customers", type=int, default=customers,
                   help=f"market size (default {customers:,})")
    p.add_argument("--days", type=float, default=days, help=f"days (default {days:g})")
    p.add_argument("--reps", type=int, default=reps,
                   help=f"paired replications (default {reps})")
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    p.add_argument("--out", default=out, help=f"output folder (default {out})")
    return p


def scenario(path: str | None) -> cxsim.Scenario:
    """The scenario file, or the built-in default."""
    return cxsim.load_scenario(path) if path else cxsim.default_scenario()


def save(fig, out: str | Path, name: str) -> Path:
    """Write a figure as PNG into ``out`` and say so."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    plots.save(fig, path)
    print(f"wrote {path}", file=sys.stderr)
    return path
