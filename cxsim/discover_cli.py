"""The ``cxsim discover`` command: its parser and what it runs (:mod:`cxsim.discover`).

Importing this module loads neither pandas nor the model, so the ``cxsim`` command can add
the sub-command without slowing ``cxsim --help``: in :func:`cxsim.cli.build_parser`,
``from .discover_cli import add_parser as add_discover`` and ``add_discover(sub)``, where
``sub`` is what ``add_subparsers`` returned.  The parser's ``func`` is :func:`cmd_discover`,
which raises :class:`cxsim.discover.DiscoveryError` (an :class:`~cxsim.errors.InputError`,
exit code 2) worded with this command's flags for bad input.
"""

from __future__ import annotations

import argparse
import math
import os
import re
from pathlib import Path
from typing import Any

from .errors import InputError, flag_words

#: the flag of each argument named in messages
FLAGS = {"where": "--where", "baseline": "--baseline", "min_coverage": "--min-coverage",
         "threshold": "--threshold", "peel_alpha": "--peel-alpha", "seed": "--seed",
         "out": "--out", "inputs": "--inputs", "max_boxes": "--boxes", "params": "--param"}


def _fraction(flag: str, most: float = 1.0):
    def conv(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} must be a number, got {text[:40]!r}"
                                             ) from None
        if not (math.isfinite(value) and 0 < value <= most):
            raise argparse.ArgumentTypeError(f"{flag} must be above 0 and at most {most:g}, "
                                             f"got {text[:40]}")
        return value
    return conv


def _seed(text: str) -> int:
    t = text.strip()
    if not re.fullmatch(r"\+?\d{1,30}", t):
        raise argparse.ArgumentTypeError(f"--seed must be a whole number ≥ 0, got "
                                         f"{text[:40]!r}")
    return int(t)


def _boxes(text: str) -> int:
    t = text.strip()
    if not re.fullmatch(r"\+?\d{1,3}", t) or not 1 <= int(t) <= 10:
        raise argparse.ArgumentTypeError(f"--boxes must be a whole number 1..10, got "
                                         f"{text[:40]!r}")
    return int(t)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``cxsim discover`` to the ``cxsim`` command's sub-parsers; return its parser.

    ``subparsers`` is what ``ArgumentParser.add_subparsers`` returned (its parser class is
    used).  The parser's ``func`` is :func:`cmd_discover`.
    """
    p = subparsers.add_parser(
        "discover", help="scenario discovery: where in a sweep a condition holds (PRIM, "
                         "CART); writes DIR/discovery/",
        description="Find where in a sweep a condition holds, e.g. where a strategy loses "
                    "money against the baseline (--where 'profit_diff < 0'), as limits on "
                    "the swept parameters: PRIM boxes with their coverage (share of the "
                    "runs where it holds inside the box) and density (share of the box's "
                    "runs where it holds), CART rules and feature scores. Writes "
                    "DIR/discovery/ (boxes.csv, trajectory.csv, rules.csv, scores.csv, "
                    "discovery.json, figures) and prints the findings in sentences. Needs "
                    "the discover extra (scikit-learn).",
        epilog="EXPR compares columns of the runs table with numbers: outcomes (profit, "
               "nps, monthly_churn, ...), swept parameters by path, and NAME_diff: the "
               "difference of outcome NAME from the baseline run at the same parameter "
               "values and seed (a sweep over --param strategy=baseline,NAME; the rows are "
               "then the strategies' runs paired with the baseline's). Operators: < <= > "
               ">= == != and or not ( ) + - * /; text in quotes (strategy == 'fix_courier'). "
               "Example: cxsim discover cxsim-sweep --where 'profit_diff < 0'")
    p.add_argument("source", metavar="DIR",
                   help="a sweep folder (cxsim sweep --out), or a runs table file (.csv or "
                        ".parquet)")
    p.add_argument("--where", required=True, metavar="EXPR",
                   help="the condition, e.g. 'profit_diff < 0' or 'monthly_churn > 0.03 and "
                        "nps < 0'")
    p.add_argument("--out", metavar="DIR",
                   help="folder to write the discovery/ subfolder into (default: the sweep "
                        "folder, or the runs table's folder)")
    p.add_argument("--baseline", default="baseline", metavar="NAME",
                   help="the strategy NAME_diff columns are taken against (default baseline)")
    p.add_argument("--inputs", metavar="A,B",
                   help="the parameters to explain the condition with (default: every swept "
                        "parameter that varies)")
    p.add_argument("--min-coverage", type=_fraction("--min-coverage"), default=0.5,
                   metavar="X", help="the PRIM box covers at least this share of the runs "
                                     "where the condition holds (default 0.5)")
    p.add_argument("--threshold", type=_fraction("--threshold"), metavar="X",
                   help="take the largest PRIM box whose density reaches X (default: the "
                        "largest within one standard error of the densest)")
    p.add_argument("--peel-alpha", type=_fraction("--peel-alpha", 0.5), default=0.05,
                   metavar="X", help="share of the box PRIM peels at each step (default 0.05)")
    p.add_argument("--boxes", type=_boxes, default=2, metavar="N",
                   help="PRIM boxes at most, each on the runs outside the ones before "
                        "(default 2)")
    p.add_argument("--seed", type=_seed, default=0,
                   help="seed of CART and the feature scores (default 0)")
    p.add_argument("--plot", action=argparse.BooleanOptionalAction, default=True,
                   help="draw the figures (default; --no-plot: tables only)")
    p.add_argument("--ema", action="store_true",
                   help="also write discovery/ema_results.tar.gz: the runs in EMA "
                        "Workbench's save_results format (ema_workbench.load_results)")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=cmd_discover)
    return p


def _default_out(source: str) -> Path | None:
    """Where the discovery of ``source`` goes by default: its folder, a table's folder."""
    path = Path(source)
    if not str(source).strip() or not os.path.lexists(path) or os.path.islink(path):
        return None  # discover() says what is wrong with it
    return path if os.path.isdir(path) else path.parent


def cmd_discover(args: argparse.Namespace) -> int:
    """``cxsim discover DIR --where EXPR``: find, print, write ``OUT/discovery``.

    Bad input raises :class:`DiscoveryError` (an :class:`~cxsim.errors.InputError`: exit
    code 2 at the command line), worded with this command's flags.
    """
    from .discover import (
        SUBFOLDER,
        DiscoveryError,
        _check_out,
        discover,
        format_discovery,
        write_discovery,
    )

    words = flag_words(FLAGS, ("ema",))
    try:
        if args.plot:
            import matplotlib

            matplotlib.use("Agg")
        if args.out is not None and not str(args.out).strip():  # Path("") is the current one
            raise DiscoveryError("--out must name a folder, got an empty path")
        out = Path(args.out) if args.out is not None else _default_out(args.source)
        if out is not None:
            _check_out(out)  # before the work
        result = discover(args.source, args.where, inputs=args.inputs,
                          baseline=args.baseline, min_coverage=args.min_coverage,
                          peel_alpha=args.peel_alpha, threshold=args.threshold,
                          max_boxes=args.boxes, seed=args.seed)
        if out is None:
            out = result.default_out
        names = write_discovery(result, out, plot=args.plot, ema=args.ema)
    except InputError as exc:  # worded with this command's flags
        raise DiscoveryError(exc.render(words)) from None
    if not args.quiet:
        print(format_discovery(result))
        print(f"wrote {out / SUBFOLDER}/: {', '.join(names)}")
    return 0


__all__ = ["FLAGS", "add_parser", "cmd_discover"]
