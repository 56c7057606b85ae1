"""Scenario discovery: where in a sweep a condition holds (when does a strategy fail?).

A sweep over uncertainties × strategies (``cxsim sweep --param strategy=baseline,fix_courier
--param partners.courier.reliability=0.8:0.99:8 --param market.q=0.1:0.5:5 --reps 5``)
answers "what happens where"; :func:`discover` turns it round and asks *where* a condition
holds — ``profit_diff < 0`` (the strategy loses money against the baseline), ``monthly_churn
> 0.03 and nps < 0`` — and says so in limits on the parameters a manager can read:

    fix_courier has profit_diff < 0 when partners.courier.reliability ≥ 0.93 and market.q
    ≤ 0.2: that box holds 84 % of the runs with profit_diff < 0, and 91 % of the runs in it
    have profit_diff < 0 (120 of 400 runs).

**The condition** (``where``) is a boolean expression over the columns of the runs table:
outcomes (``profit``, ``nps``, ...), parameters by their paths (``market.q``,
``pathways.0.weight``; a path may also be written in back-quotes), and ``M_diff`` columns.
It is read by a small parser of its own, never evaluated as Python: numbers, quoted text,
column names, ``+ - * /``, the comparisons ``< <= > >= == !=`` (chains such as ``0.9 < x <=
0.95`` too), ``and``/``or``/``not`` (or ``& | ~``, which here bind like ``and``/``or``/``not``)
and parentheses; ``true``/``false`` are 1 and 0.  A name that is not a column, a call, an
attribute of a column, ``=`` for ``==``, a comparison of text with a number, or anything else
is refused with one line (:class:`DiscoveryError`), unknown names with the closest columns.
Parameter paths such as ``pathways.0.weight`` are not Python names, which is why the
expression is not read with Python's own parser.

**Paired differences.**  An expression naming a ``_diff`` column (``profit_diff < 0``) is
evaluated on :func:`cxsim.sweep.paired_differences` of the runs: one row per run of a
strategy other than ``baseline``, with each outcome ``M`` and ``M_diff`` = ``M`` − ``M`` of
the baseline run at the same parameter values and replicate (the same seed).  Failed runs,
and runs whose partner failed, are left out and counted.

**Inputs** are the swept parameters that vary among the analysed rows (never outcomes, nor
``run_id``/``point``/``replicate``/``seed``), or those given as ``inputs``.  Numbers are
ordered inputs; text and true/false values are categorical: PRIM peels (and pastes) them one
category at a time, CART and the feature scores see them one-hot.  ``strategy`` is an input
when it varies among the analysed rows: in a runs table when the sweep varies it, in paired
differences only when more than one strategy is compared with the baseline.

**PRIM** (Friedman & Fisher 1999, "Bump hunting in high-dimensional data"), implemented
here: the maintained ``prim`` package on PyPI (1.0.0) is GPL-3.0, which cxsim (MIT) does not
take on as a dependency, and EMA Workbench's PRIM would bring the whole workbench.  It
starts from the box holding every analysed run and *peels*: of the candidate peels — the
``peel_alpha`` share (at least one run, with every run tied at the edge) at the low or high
end of one numeric input, or one category of a categorical input — it takes the one that
raises the density most per run peeled, times the runs left (Friedman & Fisher's criterion
for peels of unequal size; for peels of equal size it is the highest density left, and a
category, which peels many runs at once, must earn it), until the box would hold fewer than
``min_mass`` of the runs or all its runs are interesting.  Each step is one row of the *trajectory*:
coverage (share of the interesting runs inside the box), density (share of the box's runs
that are interesting), mass (share of all runs inside) and the restricted inputs.
The box on the trajectory: with ``threshold``, the largest box whose density reaches it
(with coverage at least ``min_coverage``); without, among the boxes with coverage at least
``min_coverage`` the largest whose density is within one standard error of the densest
(the one-standard-error rule, so noise at the end of the peeling does not pick a box a
little denser by chance and much smaller).  The chosen box is then *pasted* (a limit
widened by the same share while that raises the density) and *pruned*: a restriction whose
removal keeps the density within one standard error of the pasted box's is dropped (each
side of a limit on its own), so the sentence names only limits that matter.  Limits are
values of the data, inclusive.  A second box is sought the same way among the runs outside
the first (covering); it is kept when at least half its runs are interesting (``threshold``
if given) and it holds at least a tenth of the interesting runs.  Its coverage and density
count only runs outside the first box, so the boxes' coverages add up.

**CART** (scikit-learn's ``DecisionTreeClassifier``: depth 3, balanced class weights, leaves
of at least 2 % of the runs, seeded): every leaf that predicts the condition is a rule, with
its coverage and density; limits of a rule are ``low < x ≤ high`` (the tree's thresholds lie
between values of the data; an empty side has no limit).  **Feature scores**: the impurity
importance of an ``ExtraTreesClassifier`` (250 trees, balanced, seeded), summed over a
categorical input's categories, normalised to sum to 1 — which inputs matter at all.

**Files** (:func:`write_discovery`, folder ``OUT/discovery``, written whole with
:class:`cxsim.io.Stage`; ``OUT`` is the sweep folder by default):

- ``boxes.csv`` — ``box, parameter, low, high, coverage, density`` (one row per restricted
  parameter of each box; a categorical one has ``values`` instead of limits), then ``mass,
  n, n_interesting, values, full_low, full_high, step``;
- ``trajectory.csv`` — the peeling trajectory of each box: ``box, step, coverage, density,
  mass, n, n_interesting, restricted, dimensions, chosen``;
- ``rules.csv`` — the CART rules: ``rule, parameter, low, high, values, coverage, density,
  n, n_interesting, text``;
- ``scores.csv`` — ``parameter, score, rank, kind``;
- ``discovery.json`` — provenance: the source, the expression, counts, settings, boxes,
  sentences, versions;
- figures: ``discovery_tradeoff.png`` (PRIM's coverage/density trade-off with the chosen
  box), ``discovery_limits.png`` (each box's limits over the parameter's full range),
  ``discovery_pairs.png`` (the runs over the two most important inputs, with the boxes);
- ``ema_results.tar.gz`` with ``ema=True`` (:func:`save_ema`).

**EMA Workbench.**  :func:`to_ema` gives a sweep as the ``(experiments, outcomes)`` pair
EMA Workbench's ``perform_experiments`` returns, and :func:`save_ema` writes it in the
``tar.gz`` layout of its ``save_results`` (readable by ``ema_workbench.load_results``), so
its analyses (PRIM, CART, feature scoring, dimensional stacking) run on cxsim sweeps.

**Command line.**  :func:`add_parser` adds ``cxsim discover`` to the ``cxsim`` command
(``add_parser(sub)`` in :func:`cxsim.cli.build_parser`, where ``sub`` is its sub-parsers);
:func:`cmd_discover` runs it and raises :class:`DiscoveryError` (an
:class:`~cxsim.errors.InputError`, one line worded with the command's flags) for bad input.
Both live in :mod:`cxsim.discover_cli`, which imports neither pandas nor the model, so the
command line can take them from there and ``cxsim --help`` stays fast.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io as _io
import json
import math
import os
import stat
import tarfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .condition import Condition, close_names, parse, quoted
from .discover_cli import FLAGS, add_parser, cmd_discover
from .errors import Arg, InputError
from .executors import MAX_RUNS
from .io import (
    FolderError,
    Stage,
    atomic_path,
    check_columns,
    folder_lock,
    kinds_in,
    read_table,
    shown,
    write_atomic,
)
from .params import STRATEGY
from .sweep import DIFF, DISCOVERY, SweepResult, load_sweep, paired_differences, run_columns

#: the subfolder of the results folder the discovery is written to
SUBFOLDER = DISCOVERY

#: version of the layout of ``discovery.json``
FORMAT = 1

#: characters a condition may have (how deeply it may nest: condition.MAX_DEPTH)
MAX_WHERE = 2_000

#: the figures :func:`write_discovery` draws
FIGURES = ("discovery_tradeoff.png", "discovery_limits.png", "discovery_pairs.png")

#: the extra that brings scikit-learn
_EXTRA = "cxsim[discover]"


class DiscoveryError(InputError):
    """Bad input to a discovery (the condition, the source, a setting): one line."""


# --------------------------------------------------------------------------------------------
# The condition: the small expression language of cxsim.condition, over the runs' columns
# --------------------------------------------------------------------------------------------

_quoted = quoted
_close = close_names


def parse_where(text: str, columns: Mapping[str, str] | Sequence[str] | pd.DataFrame
                ) -> Condition:
    """Check the condition ``text`` against ``columns``; return a :class:`Condition`.

    ``columns`` maps column names to ``"number"`` or ``"text"`` (a sequence of names: all
    numbers; a table: its columns by their types).  Raises :class:`DiscoveryError` (one
    line) for anything but a condition over those columns; unknown names are listed with
    the closest columns.
    """
    if isinstance(columns, pd.DataFrame):
        columns = {str(c): _kind(columns[c]) for c in columns.columns}
    elif not isinstance(columns, Mapping):
        columns = dict.fromkeys(map(str, columns), "number")
    if not isinstance(text, str):
        raise DiscoveryError(Arg("where"), f" must be text, got {type(text).__name__}")
    if len(text) > MAX_WHERE:
        raise DiscoveryError(Arg("where"), f": {len(text):,} characters; a condition has at "
                             f"most {MAX_WHERE:,}")
    cond, unknown = parse(text, columns,
                          lambda message: DiscoveryError(Arg("where", _quoted(text)),
                                                         f": {message}"))
    if unknown:
        parts = []
        for name in unknown[:4]:
            close = _close(name, columns)
            parts.append(f"'{name}'" + (f" (close: {', '.join(close)})" if close else ""))
        more = f" and {len(unknown) - 4} more" if len(unknown) > 4 else ""
        raise DiscoveryError(Arg("where", _quoted(text)),
                             f": unknown column{'s' if len(unknown) > 1 else ''} "
                             f"{', '.join(parts)}{more}; the columns are the runs' outcomes, "
                             "their _diff against the baseline in a sweep over strategy, and "
                             "the swept parameters")
    return cond


def _kind(col: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
        return "number"
    return "text"


# --------------------------------------------------------------------------------------------
# The source: a sweep folder, a runs table file, a table or a sweep in memory
# --------------------------------------------------------------------------------------------


def _load(source: Any) -> tuple[pd.DataFrame, dict]:
    """The runs table of ``source`` and what it is (checked, one-line errors)."""
    if isinstance(source, SweepResult):
        where = str(source.out) if source.out is not None else "a sweep in memory"
        return source.runs, {"source": where, "kind": "sweep",
                             "scenario": source.plan.scenario.name,
                             "status": source.provenance.get("status"),
                             "folder": source.out}
    if isinstance(source, pd.DataFrame):
        return source, {"source": "a table in memory", "kind": "table", "folder": None}
    if not isinstance(source, str | os.PathLike):
        raise DiscoveryError(Arg("runs"), " must be a sweep folder, a runs table file, a "
                             f"SweepResult or a DataFrame, got {type(source).__name__}")
    text = os.fspath(source)
    if isinstance(text, bytes) or not text.strip():
        raise DiscoveryError("give a sweep folder or a runs table (CSV or Parquet), got an "
                             "empty path")
    path = Path(text)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise DiscoveryError(f"{shown(text)}: no such folder or file") from None
    except OSError as exc:
        raise DiscoveryError(f"{shown(text)}: cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISLNK(st.st_mode):
        raise DiscoveryError(f"{shown(text)}: is a symbolic link; give the sweep folder or "
                             "the runs table itself")
    if stat.S_ISDIR(st.st_mode):
        if not os.path.lexists(path / "sweep.json"):
            raise DiscoveryError(f"{shown(text)}: not a sweep folder (no sweep.json); give a "
                                 "folder of cxsim sweep or a runs table (.csv or .parquet)")
        result = load_sweep(path)
        return result.runs, {"source": text, "kind": "sweep",
                             "scenario": result.plan.scenario.name,
                             "status": result.provenance.get("status"), "folder": path}
    if not stat.S_ISREG(st.st_mode):
        raise DiscoveryError(f"{shown(text)}: not a folder or a regular file")
    if path.suffix.lower() not in (".csv", ".parquet"):
        raise DiscoveryError(f"{shown(text)}: not a runs table (give a sweep folder, or a "
                             ".csv or .parquet file)")
    runs = read_table(path, MAX_RUNS, ("status", "error", STRATEGY))
    check_columns(runs, path, text=("status",))
    if not all(isinstance(c, str) for c in runs.columns):
        raise DiscoveryError(f"{shown(text)}: a column has no name")
    return runs, {"source": text, "kind": "runs table", "folder": path.parent}


# --------------------------------------------------------------------------------------------
# PRIM: peeling, the box on the trajectory, pasting, pruning, covering
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    """A box of PRIM: limits on the inputs, and what it holds.

    ``limits`` maps every input to ``(low, high)`` (numbers, inclusive; an unrestricted
    input has its full range) or to the tuple of categories kept; ``restricted`` names the
    inputs whose limits are narrower than their full range.  ``coverage``: share of the
    interesting runs inside; ``density``: share of the runs inside that are interesting;
    ``mass``: share of all runs inside; ``step``: the trajectory step it was chosen at.
    """

    number: int
    limits: dict[str, Any]
    restricted: tuple[str, ...]
    coverage: float
    density: float
    mass: float
    n: int
    n_interesting: int
    step: int

    def contains(self, table: pd.DataFrame) -> np.ndarray:
        """True for the rows of ``table`` inside the box (on its restricted inputs)."""
        inside = np.ones(len(table), dtype=bool)
        for name in self.restricted:
            lim = self.limits[name]
            if isinstance(lim, tuple) and len(lim) == 2 and all(
                    isinstance(v, float) for v in lim):
                v = table[name].to_numpy(dtype=float)
                inside &= (v >= lim[0]) & (v <= lim[1])
            else:
                inside &= table[name].astype(str).isin([str(c) for c in lim]).to_numpy()
        return inside


class _Inputs:
    """The inputs as arrays: numbers as floats, categories as codes."""

    def __init__(self, table: pd.DataFrame, names: Sequence[str], categorical: set[str]):
        self.names = list(names)
        self.numeric = [n not in categorical for n in self.names]
        self.cols: list[np.ndarray] = []
        self.cats: list[list[str]] = []
        for name, num in zip(self.names, self.numeric, strict=True):
            if num:
                self.cols.append(table[name].to_numpy(dtype=float))
                self.cats.append([])
            else:
                values = table[name].astype(str)
                cats = sorted(values.unique(), key=_category_key)
                index = {c: k for k, c in enumerate(cats)}
                self.cols.append(values.map(index).to_numpy(dtype=np.int64))
                self.cats.append(cats)

    def full(self, rows: np.ndarray) -> list:
        out: list = []
        for j, num in enumerate(self.numeric):
            v = self.cols[j][rows]
            out.append((float(v.min()), float(v.max())) if num
                       else frozenset(np.unique(v).tolist()))
        return out

    def mask(self, lims: list, rows: np.ndarray, skip: int = -1) -> np.ndarray:
        inside = rows.copy()
        for j, lim in enumerate(lims):
            if j == skip:
                continue
            v = self.cols[j]
            if self.numeric[j]:
                inside &= (v >= lim[0]) & (v <= lim[1])
            else:
                inside &= np.isin(v, list(lim))
        return inside

    def restricted(self, lims: list, full: list) -> list[int]:
        return [j for j, (a, b) in enumerate(zip(lims, full, strict=True)) if a != b]

    def limits(self, lims: list) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for j, lim in enumerate(lims):
            out[self.names[j]] = ((float(lim[0]), float(lim[1])) if self.numeric[j]
                                  else tuple(self.cats[j][c] for c in sorted(lim)))
        return out


def _category_key(v: str) -> tuple:
    try:
        return (0, float(v), v)
    except ValueError:
        return (1, 0.0, v)


def _peel(data: _Inputs, y: np.ndarray, inside: np.ndarray, lims: list, alpha: float,
          min_count: int) -> tuple[list, np.ndarray] | None:
    """The best peel of the box, or ``None`` if none is allowed (see the module docstring)."""
    idx = np.flatnonzero(inside)
    nb = idx.size
    yb = y[idx]
    before = float(yb.mean())
    k = max(1, int(alpha * nb))
    best: tuple | None = None
    for j, num in enumerate(data.numeric):
        v = data.cols[j][idx]
        candidates = []
        if num:
            low = np.partition(v, k - 1)[k - 1]
            keep = v > low
            if keep.any():
                candidates.append((keep, (float(v[keep].min()), lims[j][1])))
            high = np.partition(v, nb - k)[nb - k]
            keep = v < high
            if keep.any():
                candidates.append((keep, (lims[j][0], float(v[keep].max()))))
        else:
            present = np.unique(v)
            if present.size > 1:
                for c in present.tolist():
                    candidates.append((v != c, lims[j] - {c}))
        for keep, new in candidates:
            kept = int(keep.sum())
            if kept < min_count or kept == nb:
                continue
            # Friedman & Fisher's criterion for peels of unequal size (their eq. 14.6): the
            # gain in density per run peeled, times the runs left; a category peels many
            # runs at once and must earn it
            score = (kept * (float(yb[keep].mean()) - before) / (nb - kept), kept)
            if best is None or score > best[0]:
                best = (score, j, new, keep)
    if best is None:
        return None
    _, j, new, keep = best
    lims = list(lims)
    lims[j] = new
    out = np.zeros_like(inside)
    out[idx[keep]] = True
    return lims, out


def _stats(y: np.ndarray, inside: np.ndarray, total_interesting: int, n: int) -> dict:
    nb = int(inside.sum())
    ni = int(y[inside].sum())
    return {"n": nb, "n_interesting": ni,
            "coverage": ni / total_interesting if total_interesting else 0.0,
            "density": ni / nb if nb else 0.0, "mass": nb / n if n else 0.0}


def _paste(data: _Inputs, y: np.ndarray, rows: np.ndarray, lims: list, alpha: float
           ) -> list:
    """Widen limits while that raises the density (Friedman & Fisher's pasting)."""
    for _ in range(10_000):
        inside = data.mask(lims, rows)
        nb = int(inside.sum())
        density = float(y[inside].mean())
        k = max(1, int(alpha * nb))
        best: tuple | None = None
        for j, num in enumerate(data.numeric):
            others = data.mask(lims, rows, skip=j)
            v = data.cols[j]
            options = []
            if num:
                below = v[others & (v < lims[j][0])]
                if below.size:
                    edge = float(np.sort(below)[::-1][min(k, below.size) - 1])
                    options.append((edge, lims[j][1]))
                above = v[others & (v > lims[j][1])]
                if above.size:
                    edge = float(np.sort(above)[min(k, above.size) - 1])
                    options.append((lims[j][0], edge))
            else:
                for c in np.unique(v[others]).tolist():
                    if c not in lims[j]:
                        options.append(lims[j] | {c})
            for new in options:
                trial = list(lims)
                trial[j] = new
                m = data.mask(trial, rows)
                d = float(y[m].mean())
                if d > density + 1e-12 and (best is None or (d, m.sum()) > best[0]):
                    best = ((d, int(m.sum())), trial)
        if best is None:
            return lims
        lims = best[1]
    return lims


def _prune(data: _Inputs, y: np.ndarray, rows: np.ndarray, lims: list, full: list) -> list:
    """Drop restrictions whose removal keeps the density within one standard error."""
    inside = data.mask(lims, rows)
    nb = int(inside.sum())
    d0 = float(y[inside].mean())
    floor = d0 - math.sqrt(d0 * (1 - d0) / max(nb, 1))
    while True:
        best = None
        for j in data.restricted(lims, full):
            if data.numeric[j]:  # each side of the limits on its own
                sides = [(full[j][0], lims[j][1]), (lims[j][0], full[j][1])]
                options = [o for o in sides if o != lims[j]]
            else:
                options = [full[j]]
            for new in options:
                trial = list(lims)
                trial[j] = new
                d = float(y[data.mask(trial, rows)].mean())
                if d >= floor and (best is None or d > best[0]):
                    best = (d, trial)
        if best is None:
            return lims
        lims = best[1]


def _choose(steps: list[dict], min_coverage: float, threshold: float | None
            ) -> tuple[int, str | None]:
    """The step of the trajectory to take (see the module docstring), and a note."""
    ok = [k for k, s in enumerate(steps) if s["coverage"] >= min_coverage - 1e-12]
    if not ok:
        ok = [0]
    if threshold is not None:
        good = [k for k in ok if steps[k]["density"] >= threshold - 1e-12]
        if good:
            return good[0], None
        best = max(ok, key=lambda k: (steps[k]["density"], -k))
        return best, (f"no box with coverage ≥ {min_coverage:g} reaches density "
                      f"{threshold:g}; took the densest ({steps[best]['density']:.2f})")
    best = max(ok, key=lambda k: (steps[k]["density"], -k))
    d, nb = steps[best]["density"], steps[best]["n"]
    floor = d - math.sqrt(d * (1 - d) / max(nb, 1))
    for k in ok:
        if steps[k]["density"] >= floor - 1e-12:
            return k, None
    return best, None


@dataclass(frozen=True)
class PrimResult:
    """PRIM's boxes (at most two) and their peeling trajectories (:func:`prim`)."""

    boxes: list[Box]
    trajectory: pd.DataFrame
    notes: tuple[str, ...] = ()


def prim(table: pd.DataFrame, y: Sequence[bool] | np.ndarray, inputs: Sequence[str] | None = None,
         *, categorical: Sequence[str] = (), peel_alpha: float = 0.05, min_mass: float = 0.05,
         min_coverage: float = 0.5, threshold: float | None = None, max_boxes: int = 2
         ) -> PrimResult:
    """PRIM on the ``inputs`` columns of ``table`` for the true/false outcome ``y``.

    Peeling, the box on the trajectory, pasting, pruning and a second box on the runs
    outside the first: see the module docstring.  ``categorical`` names inputs taken as
    categories (text columns always are).  Needs no scikit-learn.
    """
    y = np.asarray(y, dtype=bool).reshape(-1)
    if len(y) != len(table):
        raise ValueError(f"y has {len(y)} values for {len(table)} rows")
    names = list(inputs) if inputs is not None else [str(c) for c in table.columns]
    cats = set(categorical) | {c for c in names if _kind(table[c]) == "text"}
    _check_fraction("peel_alpha", peel_alpha, 0.5)
    _check_fraction("min_mass", min_mass, 1.0)
    _check_fraction("min_coverage", min_coverage, 1.0)
    if threshold is not None:
        _check_fraction("threshold", threshold, 1.0)
    data = _Inputs(table, names, cats)
    n = len(y)
    total = int(y.sum())
    rows = np.ones(n, dtype=bool)
    boxes: list[Box] = []
    frames = []
    notes: list[str] = []
    for number in range(1, max_boxes + 1):
        rest_total = int(y[rows].sum())
        if number > 1 and (rest_total < max(3, 0.1 * total) or rest_total == rows.sum()):
            break
        full = data.full(rows)
        lims = list(full)
        inside = rows.copy()
        min_count = max(1, math.ceil(min_mass * n))
        steps, limits = [], []
        while True:
            s = _stats(y, inside, rest_total, n)
            s["restricted"] = [data.names[j] for j in data.restricted(lims, full)]
            steps.append(s)
            limits.append(lims)
            if s["density"] >= 1.0 or len(steps) > 100_000:
                break
            peeled = _peel(data, y, inside, lims, peel_alpha, min_count)
            if peeled is None:
                break
            lims, inside = peeled
        k, note = _choose(steps, min_coverage, threshold)
        if note:
            notes.append(f"box {number}: {note}")
        chosen = _prune(data, y, rows, _paste(data, y, rows, limits[k], peel_alpha), full)
        inside = data.mask(chosen, rows)
        s = _stats(y, inside, total, n)
        restricted = data.restricted(chosen, full)
        frame = pd.DataFrame({
            "box": number, "step": range(len(steps)),
            "coverage": [t["coverage"] for t in steps],
            "density": [t["density"] for t in steps],
            "mass": [t["mass"] for t in steps], "n": [t["n"] for t in steps],
            "n_interesting": [t["n_interesting"] for t in steps],
            "restricted": [len(t["restricted"]) for t in steps],
            "dimensions": ["; ".join(t["restricted"]) for t in steps],
            "chosen": [i == k for i in range(len(steps))]})
        if number > 1:
            keep = s["density"] >= (threshold if threshold is not None else 0.5)
            if not restricted or not keep or s["n_interesting"] < 0.1 * total:
                break
        frames.append(frame)
        if not restricted:
            notes.append(f"box {number}: peeling found no range of the inputs where the "
                         "condition is more frequent")
            break
        boxes.append(Box(number=number, limits=data.limits(chosen),
                         restricted=tuple(data.names[j] for j in restricted),
                         coverage=s["coverage"], density=s["density"], mass=s["mass"],
                         n=s["n"], n_interesting=s["n_interesting"], step=k))
        rows = rows & ~inside
    trajectory = (pd.concat(frames, ignore_index=True) if frames
                  else pd.DataFrame(columns=["box", "step", "coverage", "density", "mass", "n",
                                             "n_interesting", "restricted", "dimensions",
                                             "chosen"]))
    return PrimResult(boxes=boxes, trajectory=trajectory, notes=tuple(notes))


def _check_fraction(name: str, value: Any, most: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating) or not (
            math.isfinite(value) and 0 < value <= most):
        raise DiscoveryError(Arg(name), f" must be a number above 0 and at most {most:g}, "
                             f"got {value!r}")
    return float(value)


# --------------------------------------------------------------------------------------------
# CART rules and feature scores (scikit-learn)
# --------------------------------------------------------------------------------------------


def _sklearn():
    try:
        import sklearn.ensemble
        import sklearn.tree
    except ImportError:
        raise DiscoveryError(f"CART rules and feature scores need scikit-learn: pip install "
                             f"'{_EXTRA}' (or pip install scikit-learn)") from None
    return sklearn.tree, sklearn.ensemble


def _encode(data: _Inputs) -> tuple[np.ndarray, list[tuple[int, int | None]]]:
    """The inputs as a matrix: numbers as they are, categories one-hot."""
    cols, feats = [], []
    for j, num in enumerate(data.numeric):
        if num:
            cols.append(data.cols[j])
            feats.append((j, None))
        else:
            for c in range(len(data.cats[j])):
                cols.append((data.cols[j] == c).astype(float))
                feats.append((j, c))
    return np.column_stack(cols), feats


#: CART's depth, and the smallest leaf as a share of the runs
CART_DEPTH = 3
CART_LEAF = 0.02

#: trees of the feature scores, and their smallest leaf as a share of the runs
TREES = 250
TREE_LEAF = 0.01


def cart_rules(table: pd.DataFrame, y: np.ndarray, inputs: Sequence[str],
               categorical: Sequence[str] = (), seed: int = 0) -> pd.DataFrame:
    """The rules of the CART leaves that predict the condition (see the module docstring)."""
    tree_mod, _ = _sklearn()
    y = np.asarray(y, dtype=bool)
    data = _Inputs(table, inputs, set(categorical) | {c for c in inputs
                                                      if _kind(table[c]) == "text"})
    X, feats = _encode(data)
    n = len(y)
    clf = tree_mod.DecisionTreeClassifier(max_depth=CART_DEPTH, class_weight="balanced",
                                          min_samples_leaf=max(1, round(CART_LEAF * n)),
                                          random_state=seed).fit(X, y)
    t = clf.tree_
    positive = list(clf.classes_).index(True) if True in list(clf.classes_) else None
    leaves = clf.apply(X)
    total = int(y.sum())
    rows = []
    number = 0

    def walk(node: int, cons: dict) -> None:
        nonlocal number
        left, right = t.children_left[node], t.children_right[node]
        if left == right:  # a leaf
            if positive is None or int(np.argmax(t.value[node][0])) != positive or not cons:
                return
            in_leaf = leaves == node
            nl, ni = int(in_leaf.sum()), int(y[in_leaf].sum())
            if ni == 0:
                return
            number += 1
            text = " and ".join(_condition_text(name, c, data, exclusive=True)
                                for name, c in cons.items())
            for name, c in cons.items():
                j = data.names.index(name)
                num = data.numeric[j]
                rows.append({"rule": number, "parameter": name,
                             "low": c[0] if num and math.isfinite(c[0]) else math.nan,
                             "high": c[1] if num and math.isfinite(c[1]) else math.nan,
                             "values": "" if data.numeric[j]
                             else "; ".join(data.cats[j][k] for k in sorted(c)),
                             "coverage": ni / total if total else 0.0,
                             "density": ni / nl, "n": nl, "n_interesting": ni,
                             "text": text})
            return
        j, cat = feats[t.feature[node]]
        name, thr = data.names[j], float(t.threshold[node])
        for child, side in ((left, "le"), (right, "gt")):
            c = dict(cons)
            if cat is None:
                lo, hi = c.get(name, (-math.inf, math.inf))
                c[name] = (lo, min(hi, thr)) if side == "le" else (max(lo, thr), hi)
            else:
                kept = c.get(name, frozenset(range(len(data.cats[j]))))
                c[name] = kept - {cat} if side == "le" else kept & {cat}
            walk(child, c)

    walk(0, {})
    columns = ["rule", "parameter", "low", "high", "values", "coverage", "density", "n",
               "n_interesting", "text"]
    out = pd.DataFrame(rows, columns=columns)
    if len(out):  # densest rules first, numbered in that order
        order = (out.groupby("rule")[["density", "coverage"]].first()
                 .sort_values(["density", "coverage"], ascending=False).index.tolist())
        renumber = {old: k + 1 for k, old in enumerate(order)}
        out["rule"] = out["rule"].map(renumber)
        out = out.sort_values(["rule"], kind="stable").reset_index(drop=True)
    return out


def feature_scores(table: pd.DataFrame, y: np.ndarray, inputs: Sequence[str],
                   categorical: Sequence[str] = (), seed: int = 0) -> pd.DataFrame:
    """How much each input matters for the condition: extra-trees importances, sum 1."""
    _, ens = _sklearn()
    y = np.asarray(y, dtype=bool)
    cats = set(categorical) | {c for c in inputs if _kind(table[c]) == "text"}
    data = _Inputs(table, inputs, cats)
    X, feats = _encode(data)
    forest = ens.ExtraTreesClassifier(n_estimators=TREES, class_weight="balanced",
                                      min_samples_leaf=max(1, round(TREE_LEAF * len(y))),
                                      random_state=seed, n_jobs=1).fit(X, y)
    scores = np.zeros(len(data.names))
    for (j, _), value in zip(feats, forest.feature_importances_, strict=True):
        scores[j] += value
    if scores.sum() > 0:
        scores = scores / scores.sum()
    out = pd.DataFrame({"parameter": data.names, "score": scores,
                        "kind": ["number" if num else "categories" for num in data.numeric]})
    out = out.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)
    out.insert(2, "rank", range(1, len(out) + 1))
    return out


# --------------------------------------------------------------------------------------------
# Words
# --------------------------------------------------------------------------------------------


def _number_text(v: float, span: float, integer: bool) -> str:
    """A limit rounded to about two significant digits of the parameter's range."""
    if integer:
        return f"{int(round(v)):,}" if abs(v) >= 10_000 else str(int(round(v)))
    digits = 3 if not (span > 0 and math.isfinite(span)) else 2 - round(math.log10(span))
    r = round(v, digits)
    if digits <= 0:
        return f"{r:,.0f}"
    text = f"{r:.{digits}f}".rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"


def _condition_text(name: str, lim: Any, data: _Inputs, exclusive: bool = False) -> str:
    """``name ≥ a``, ``a ≤ name ≤ b``, ``name is x or y`` (CART: ``a < name ≤ b``)."""
    j = data.names.index(name)
    if not data.numeric[j]:
        kept = [data.cats[j][k] for k in sorted(lim)]
        return f"{name} is " + (" or ".join(kept) if len(kept) <= 3
                                else "one of " + ", ".join(kept))
    v = data.cols[j]
    lo_full, hi_full = float(np.min(v)), float(np.max(v))
    span = hi_full - lo_full
    integer = bool(np.all(np.mod(v, 1) == 0)) and not exclusive
    lo, hi = lim
    show_lo = lo > lo_full if not exclusive else math.isfinite(lo)
    show_hi = hi < hi_full if not exclusive else math.isfinite(hi)
    a, b = _number_text(lo, span, integer), _number_text(hi, span, integer)
    low_op, high_op = ("<", "≤") if exclusive else ("≤", "≤")
    if show_lo and show_hi:
        return f"{a} {low_op} {name} {high_op} {b}"
    if show_lo:
        return f"{name} {'>' if exclusive else '≥'} {a}"
    return f"{name} ≤ {b}"


def _pct(x: float) -> str:
    return f"{100 * x:.0f} %"


# --------------------------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class DiscoveryResult:
    """What :func:`discover` found.

    ``table``: the analysed rows (the runs, or their paired differences); ``interesting``:
    where the condition holds; ``boxes``: PRIM's boxes; ``trajectory``, ``rules`` (CART),
    ``scores`` (feature scores): tables as written; ``sentences``: the findings in words;
    ``counts``: runs read, failed, unpaired, missing values, analysed, interesting.
    """

    where: str
    names: tuple[str, ...]
    table: pd.DataFrame = field(repr=False)
    interesting: np.ndarray = field(repr=False)
    inputs: tuple[str, ...]
    categorical: tuple[str, ...]
    paired: bool
    baseline: str
    boxes: list[Box]
    trajectory: pd.DataFrame = field(repr=False)
    rules: pd.DataFrame = field(repr=False)
    scores: pd.DataFrame = field(repr=False)
    sentences: tuple[str, ...]
    counts: dict
    settings: dict
    source: dict = field(repr=False)
    notes: tuple[str, ...] = ()

    def boxes_table(self) -> pd.DataFrame:
        """``boxes.csv``: one row per restricted parameter of each box."""
        rows = []
        data = _Inputs(self.table, self.inputs, set(self.categorical))
        full = data.full(np.ones(len(self.table), dtype=bool))
        for box in self.boxes:
            for name in box.restricted:
                j = data.names.index(name)
                lim = box.limits[name]
                num = data.numeric[j]
                rows.append({"box": box.number, "parameter": name,
                             "low": lim[0] if num else math.nan,
                             "high": lim[1] if num else math.nan,
                             "coverage": box.coverage, "density": box.density,
                             "mass": box.mass, "n": box.n, "n_interesting": box.n_interesting,
                             "values": "" if num else "; ".join(lim),
                             "full_low": full[j][0] if num else math.nan,
                             "full_high": full[j][1] if num else math.nan,
                             "step": box.step})
        return pd.DataFrame(rows, columns=["box", "parameter", "low", "high", "coverage",
                                           "density", "mass", "n", "n_interesting", "values",
                                           "full_low", "full_high", "step"])

    @property
    def default_out(self) -> Path | None:
        """The folder the discovery goes into by default (the sweep's, the table's)."""
        folder = self.source.get("folder")
        return Path(folder) if folder is not None else None

    def provenance(self) -> dict:
        """``discovery.json``: where it came from, how it was made, what it found."""
        return {
            "format": FORMAT, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "source": self.source.get("source"), "source_kind": self.source.get("kind"),
            "scenario": self.source.get("scenario"),
            "sweep_status": self.source.get("status"),
            "where": self.where, "columns_named": list(self.names),
            "table": "paired differences" if self.paired else "runs",
            "baseline": self.baseline if self.paired else None,
            "counts": self.counts, "inputs": list(self.inputs),
            "categorical": list(self.categorical), "settings": self.settings,
            "boxes": [{"box": b.number, "coverage": b.coverage, "density": b.density,
                       "mass": b.mass, "n": b.n, "n_interesting": b.n_interesting,
                       "step": b.step, "restricted": list(b.restricted),
                       "limits": {k: list(v) for k, v in b.limits.items()
                                  if k in b.restricted}} for b in self.boxes],
            "sentences": list(self.sentences), "notes": list(self.notes),
            "versions": _versions(),
        }


def _versions() -> dict:
    import importlib.metadata as md
    import platform

    from . import __version__

    out = {"cxsim": __version__, "python": platform.python_version()}
    for pkg in ("numpy", "pandas", "scikit-learn", "matplotlib"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def discover(runs: Any, where: str, *, inputs: Sequence[str] | None = None,
             baseline: str = "baseline", min_coverage: float = 0.5, peel_alpha: float = 0.05,
             threshold: float | None = None, min_mass: float = 0.05, max_boxes: int = 2,
             seed: int = 0, rules: bool = True) -> DiscoveryResult:
    """Find where in a sweep the condition ``where`` holds (see the module docstring).

    Parameters
    ----------
    runs
        A sweep folder, a runs table file (``.csv``/``.parquet``), a
        :class:`~cxsim.sweep.SweepResult` or a runs table (DataFrame).
    where
        The condition, e.g. ``"profit_diff < 0"`` (a ``_diff`` column: the paired
        differences against ``baseline`` are analysed) or ``"monthly_churn > 0.03 and nps <
        0"``.
    inputs
        The parameters to explain it with (default: every swept parameter that varies).
    baseline
        The strategy the ``_diff`` columns are taken against.
    min_coverage, threshold, peel_alpha, min_mass, max_boxes
        PRIM: the box on the trajectory covers at least ``min_coverage`` of the
        interesting runs; with ``threshold`` it is the largest whose density reaches it;
        each peel removes ``peel_alpha`` of the box; no box holds fewer than ``min_mass``
        of the runs; at most ``max_boxes`` boxes.
    seed
        Seed of CART and of the feature scores.
    rules
        Also CART rules and feature scores (scikit-learn, the ``discover`` extra).

    Raises
    ------
    DiscoveryError, cxsim.io.FolderError, cxsim.params.ParamError
        One line: an unreadable source, a bad condition, an unknown column, no finished
        run, a condition true for none or for all of the runs, no input that varies.

    """
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool) or seed < 0:
        raise DiscoveryError(Arg("seed"), f" must be a whole number ≥ 0, got {seed!r}")
    if isinstance(max_boxes, bool) or not isinstance(max_boxes, int) or not 1 <= max_boxes <= 10:
        raise DiscoveryError(Arg("max_boxes"), f" must be a whole number 1..10, got "
                             f"{max_boxes!r}")
    for name, value, most in (("min_coverage", min_coverage, 1.0), ("peel_alpha", peel_alpha,
                                                                      0.5),
                              ("min_mass", min_mass, 1.0)):
        _check_fraction(name, value, most)
    if threshold is not None:
        _check_fraction("threshold", threshold, 1.0)
    if not isinstance(where, str):
        raise DiscoveryError(Arg("where"), f" must be text, got {type(where).__name__}")
    if rules:
        _sklearn()  # before any work
    source_runs, source = _load(runs)
    source["runs"] = source_runs
    params, outcomes = run_columns(source_runs)
    kinds = {str(c): _kind(source_runs[c]) for c in source_runs.columns}
    diffs = {m + DIFF: "number" for m in outcomes
             if not m.endswith(DIFF) and kinds.get(m) == "number"} if STRATEGY in kinds else {}
    columns = {**{d: k for d, k in diffs.items() if d not in kinds}, **kinds}
    cond = parse_where(where, columns)
    paired = any(n in diffs and n not in kinds for n in cond.names)
    counts: dict[str, Any] = {"runs": int(len(source_runs))}
    if paired:
        table = paired_differences(source_runs, baseline)
        pairing = table.attrs.get("pairing", {})
        counts.update(failed=pairing.get("failed", 0),
                      partner_failed=pairing.get("partner_failed", 0))
        candidates = [p for p in params if p != STRATEGY]
        if table[STRATEGY].astype(str).nunique() > 1:
            candidates.append(STRATEGY)
    else:
        done = (source_runs["status"] == "done").to_numpy() if "status" in source_runs \
            else np.ones(len(source_runs), dtype=bool)
        counts["failed"] = int((~done).sum())
        table = source_runs[done].reset_index(drop=True)
        candidates = list(params)
    if not len(table):
        what = "paired runs" if paired else "finished runs"
        raise DiscoveryError(f"{source['source']}: no {what} to analyse "
                             f"({counts['runs']} runs, {counts.get('failed', 0)} failed)")
    absent = [c for c in cond.names if c not in table.columns]
    if absent:
        raise DiscoveryError(Arg("where", _quoted(where)), f": '{absent[0]}' is not a column "
                             "of the paired differences (their columns: the parameters, "
                             "strategy, replicate, seed, the outcomes and their _diff)")
    chosen = _inputs(table, candidates, outcomes, inputs)
    named = list(cond.names)
    missing = np.zeros(len(table), dtype=bool)
    for c in dict.fromkeys([*named, *chosen]):
        missing |= table[c].isna().to_numpy()
    counts["missing"] = int(missing.sum())
    table = table[~missing].reset_index(drop=True)
    y = cond.evaluate(table)
    n, k = len(y), int(y.sum())
    counts.update(analysed=n, interesting=k)
    if n == 0:
        raise DiscoveryError(Arg("where", _quoted(where)), f": every row misses a value of "
                             f"{', '.join(named)}; nothing to analyse")
    if k == 0 or k == n:
        raise DiscoveryError(Arg("where", _quoted(where)), f": true for "
                             f"{'none' if k == 0 else 'all'} of the {n:,} "
                             f"{'paired runs' if paired else 'runs'}{_ranges(table, named)}; "
                             "nothing to discover")
    chosen = [c for c in chosen if table[c].nunique(dropna=True) > 1] or chosen
    categorical = [c for c in chosen if _kind(table[c]) == "text"]
    result = prim(table, y, chosen, categorical=categorical, peel_alpha=peel_alpha,
                  min_mass=min_mass, min_coverage=min_coverage, threshold=threshold,
                  max_boxes=max_boxes)
    if rules:
        rule_table = cart_rules(table, y, chosen, categorical, seed)
        scores = feature_scores(table, y, chosen, categorical, seed)
    else:
        rule_table = pd.DataFrame(columns=["rule", "parameter", "low", "high", "values",
                                           "coverage", "density", "n", "n_interesting",
                                           "text"])
        scores = pd.DataFrame(columns=["parameter", "score", "rank", "kind"])
    settings = {"peel_alpha": peel_alpha, "min_mass": min_mass, "min_coverage": min_coverage,
                "threshold": threshold, "max_boxes": max_boxes, "box_choice":
                "largest with density ≥ threshold" if threshold is not None
                else "one-standard-error rule", "cart_depth": CART_DEPTH,
                "cart_min_leaf": CART_LEAF, "trees": TREES, "tree_min_leaf": TREE_LEAF,
                "seed": int(seed), "rules": bool(rules)}
    notes = list(result.notes)
    if source.get("status") not in (None, "complete"):
        notes.append(f"the sweep is {source['status']}: only its finished runs are analysed")
    draft = DiscoveryResult(
        where=cond.text, names=cond.names, table=table, interesting=y, inputs=tuple(chosen),
        categorical=tuple(categorical), paired=paired, baseline=baseline, boxes=result.boxes,
        trajectory=result.trajectory, rules=rule_table, scores=scores, sentences=(),
        counts=counts, settings=settings, source=source, notes=tuple(notes))
    return dataclasses.replace(draft, sentences=tuple(_sentences(draft)))


def _ranges(table: pd.DataFrame, names: Sequence[str]) -> str:
    parts = []
    for c in names[:2]:
        if _kind(table[c]) == "number":
            v = pd.to_numeric(table[c], errors="coerce")
            if v.notna().any():
                parts.append(f"{c} from {v.min():.4g} to {v.max():.4g}")
    return f" ({'; '.join(parts)})" if parts else ""


def _inputs(table: pd.DataFrame, candidates: list[str], outcomes: list[str],
            given: Sequence[str] | None) -> list[str]:
    if given is None:
        chosen = [c for c in candidates if table[c].nunique(dropna=True) > 1]
        if not chosen:
            raise DiscoveryError(f"no parameter varies across the analysed runs (parameters: "
                                 f"{', '.join(candidates) or 'none'}); nothing to explain the "
                                 "condition with")
        return chosen
    if isinstance(given, str):
        given = [g.strip() for g in given.split(",") if g.strip()]
    chosen = []
    for name in given:
        if name in candidates:
            chosen.append(name)
        elif name in outcomes or name.endswith(DIFF):
            raise DiscoveryError(Arg("inputs", name), ": an outcome, not a parameter; inputs "
                                 "are the swept parameters")
        else:
            close = _close(name, candidates)
            raise DiscoveryError(Arg("inputs", name), ": not a swept parameter of these runs"
                                 + (f" (close: {', '.join(close)})" if close else
                                    f" (they are: {', '.join(candidates[:10]) or 'none'})"))
    if not chosen:
        raise DiscoveryError(Arg("inputs"), ": no parameter given")
    return list(dict.fromkeys(chosen))


def _subject(result: DiscoveryResult, box: Box | None) -> str:
    if not result.paired:
        return "Runs have"
    rows = result.table if box is None else result.table[box.contains(result.table)]
    names = list(dict.fromkeys(rows[STRATEGY].astype(str)))
    if len(names) == 1:
        return f"{names[0]} has"
    return f"{' or '.join(names[:3])}{' ...' if len(names) > 3 else ''} have"


def _sentences(result: DiscoveryResult) -> list[str]:
    data = _Inputs(result.table, result.inputs, set(result.categorical))
    where = result.where
    n, k = result.counts["analysed"], result.counts["interesting"]
    unit = "paired runs" if result.paired else "runs"
    out = []
    if not result.boxes:
        out.append(f"No box found: {where} holds in {_pct(k / n)} of the {unit} ({k:,} of "
                   f"{n:,}), and no range of {', '.join(result.inputs)} holds them much more "
                   "often.")
        return out
    for box in result.boxes:
        subject = _subject(result, box)
        limits = [name for name in box.restricted
                  if not (result.paired and name == STRATEGY and subject.endswith(" has"))]
        conds = " and ".join(_condition_text(name, _codes(data, name, box.limits[name]), data)
                             for name in limits) or "in every case"
        tail = (f"that box holds {_pct(box.coverage)} of the {unit} with {where}, and "
                f"{_pct(box.density)} of the {unit} in it have {where} ({box.n:,} of {n:,} "
                f"{unit})")
        if box.number == 1:
            out.append(f"{subject} {where} when {conds}: {tail}.")
        else:
            tail = tail.replace("that box holds", "outside the first box, this one holds")
            out.append(f"Beside that, {subject.replace('Runs have', 'runs have')} {where} "
                       f"when {conds}: {tail}.")
    return out


def _codes(data: _Inputs, name: str, lim: Any) -> Any:
    j = data.names.index(name)
    if data.numeric[j]:
        return lim
    return frozenset(data.cats[j].index(c) for c in lim)


def format_discovery(result: DiscoveryResult, top: int = 5) -> str:
    """The findings for a terminal: sentences, box limits, scores, the densest rules."""
    lines = []
    c = result.counts
    if result.paired:
        names = ", ".join(dict.fromkeys(result.table[STRATEGY].astype(str)))
        what = f"{c['analysed']:,} paired runs ({names} against {result.baseline})"
    else:
        what = f"{c['analysed']:,} runs"
    dropped = [f"{c[key]:,} {words}" for key, words in
               (("failed", "failed runs"), ("partner_failed", "runs whose baseline failed"),
                ("missing", "runs missing a value")) if c.get(key)]
    lines.append(f"{result.where}: true in {c['interesting']:,} of {what}"
                 + (f"; left out: {', '.join(dropped)}" if dropped else ""))
    lines += [f"  {s}" for s in result.sentences]
    table = result.boxes_table()
    if len(table):
        lines.append("")
        lines.append(f"  {'box':<4}{'parameter':<40}{'low':>12}{'high':>12}   full range")
        for _, r in table.iterrows():
            if r["values"]:
                lines.append(f"  {r['box']:<4}{_clip(r['parameter'], 39):<40}"
                             f"{_clip(r['values'], 24):>24}")
                continue
            lines.append(f"  {r['box']:<4}{_clip(r['parameter'], 39):<40}{r['low']:>12.4g}"
                         f"{r['high']:>12.4g}   {r['full_low']:.4g} – {r['full_high']:.4g}")
    if len(result.scores):
        lines.append("")
        lines.append("  feature scores: " + ", ".join(
            f"{r['parameter']} {r['score']:.2f}" for _, r in result.scores.head(top).iterrows()))
    if len(result.rules):
        lines.append("  CART rules (coverage, density):")
        firsts = result.rules.groupby("rule", sort=True).first().head(3)
        for number, r in firsts.iterrows():
            lines.append(f"    {number}. {r['text']} ({_pct(r['coverage'])}, "
                         f"{_pct(r['density'])})")
    lines += [f"  note: {note}" for note in result.notes]
    return "\n".join(lines)


def _clip(text: str, most: int) -> str:
    text = str(text)
    return text if len(text) <= most else text[:most - 1] + "…"


# --------------------------------------------------------------------------------------------
# EMA Workbench
# --------------------------------------------------------------------------------------------


def to_ema(source: Any, *, model: str | None = None
           ) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """A sweep as EMA Workbench's ``perform_experiments`` returns results.

    ``experiments``: one row per finished run (in ``run_id`` order), one column per swept
    parameter other than ``strategy`` (the uncertainties; numbers as ``float64``/``int64``,
    true/false as ``bool``, text as ``category``), then ``scenario`` (the uncertainties'
    values with the replicate: runs of different strategies on the same values and seed
    share it), ``policy`` (the strategy) and ``model`` (``model``, default the scenario's
    name), all three categories as EMA has them.  ``outcomes``: outcome name → 1-D
    ``float64`` array, aligned with the rows.  Failed runs are left out (EMA masks them).
    A strategy is a named policy without levers, so there are no lever columns.
    """
    runs, meta = _load(source)
    params, outcomes = run_columns(runs)
    done = runs[runs["status"] == "done"] if "status" in runs.columns else runs
    if "run_id" in done.columns:
        done = done.sort_values("run_id", kind="stable")
    done = done.reset_index(drop=True)
    uncertainties = [p for p in params if p != STRATEGY]
    experiments = pd.DataFrame(index=done.index)
    for p in uncertainties:
        col = done[p]
        if pd.api.types.is_bool_dtype(col):
            experiments[p] = col.astype(bool)
        elif pd.api.types.is_integer_dtype(col):
            experiments[p] = col.astype("int64")
        elif pd.api.types.is_numeric_dtype(col):
            experiments[p] = col.astype("float64")
        else:
            experiments[p] = col.astype(str).astype("category")
    keys = [*uncertainties, *(["replicate"] if "replicate" in done.columns else [])]
    if keys:
        joined = done[keys].astype(str).agg("\x1f".join, axis=1)
        codes = pd.factorize(joined)[0] if len(done) else np.zeros(0, dtype=np.int64)
    else:
        codes = np.zeros(len(done), dtype=np.int64)
    experiments["scenario"] = pd.Series(codes, index=done.index).astype("category")
    policy = done[STRATEGY].astype(str) if STRATEGY in done.columns \
        else pd.Series("baseline", index=done.index)
    experiments["policy"] = policy.astype("category")
    name = model or meta.get("scenario") or "cxsim"
    experiments["model"] = pd.Series(name, index=done.index).astype("category")
    results = {m: done[m].to_numpy(dtype=float, na_value=np.nan) for m in outcomes
               if _kind(done[m]) == "number" and not pd.api.types.is_bool_dtype(done[m])}
    return experiments.reset_index(drop=True), results


def save_ema(results: tuple[pd.DataFrame, Mapping[str, np.ndarray]], path: Path | str
             ) -> Path:
    """Write ``(experiments, outcomes)`` as EMA Workbench's ``save_results`` does.

    A ``tar.gz`` holding ``experiments.csv`` (with a header, no index), one ``NAME.cls`` per
    outcome (its values, one a line, no header: a ``ScalarOutcome``) and ``metadata.json``
    (``version`` 0.1, the outcomes as ``[class, name, file]``, the experiments' dtypes), so
    ``ema_workbench.load_results(path)`` reads it back.  Written atomically; no dependency
    on EMA Workbench.
    """
    experiments, outcomes = results
    path = Path(path)

    def add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        archive.addfile(info, _io.BytesIO(data))

    with atomic_path(path) as tmp, tarfile.open(tmp, "w:gz") as archive:
        add(archive, "experiments.csv",
            experiments.to_csv(header=True, index=False).encode("utf-8"))
        meta_outcomes = []
        for name, values in outcomes.items():
            data = pd.DataFrame(np.asarray(values).reshape(-1)).to_csv(header=False,
                                                                      index=False)
            add(archive, f"{name}.cls", data.encode("utf-8"))
            meta_outcomes.append(("ScalarOutcome", name, f"{name}.cls"))
        metadata = {"version": 0.1, "outcomes": meta_outcomes,
                    "experiments": {k: v.name for k, v in experiments.dtypes.to_dict().items()}}
        add(archive, "metadata.json", json.dumps(metadata).encode("utf-8"))
    return path


# --------------------------------------------------------------------------------------------
# Writing the folder
# --------------------------------------------------------------------------------------------


def _check_out(out: Path) -> None:
    """Refuse an ``out`` that cannot hold a discovery subfolder (one line).

    ``out`` itself is not replaced (only ``out/discovery`` is), so it may be the current
    folder; it must be a folder (or not exist yet), not a link, and not hold the results of
    a command that replaces its folder whole (a run, a comparison, a calibration).
    """
    if not str(out).strip():
        raise FolderError(Arg("out"), " must name a folder, got an empty path")
    try:
        st = os.lstat(out)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise FolderError(Arg("out"), f": cannot use {shown(out)} ({exc.strerror or exc})",
                          errno_=exc.errno) from None
    if stat.S_ISLNK(st.st_mode):
        raise FolderError(Arg("out"), f": {shown(out)} is a symbolic link; cxsim writes "
                          "results only into a folder itself, never through a link")
    if not stat.S_ISDIR(st.st_mode):
        raise FolderError(Arg("out"), f": {shown(out)} exists and is not a folder")
    kinds = kinds_in(out)
    other = [k for k in kinds if k not in ("sweep", "discover")]
    if other:
        raise FolderError(Arg("out"), f": {shown(out)} holds the results of cxsim "
                          f"{' and '.join(other)}, which cxsim replaces whole; give another "
                          "folder for the discovery")
    if "discover" in kinds:
        raise FolderError(Arg("out"), f": {shown(out)} is a discovery itself; give the "
                          f"folder it is in (a discovery goes into its {SUBFOLDER}/)")


def write_discovery(result: DiscoveryResult, out: Path | str | None = None, *,
                    plot: bool = True, ema: bool = False) -> list[str]:
    """Write the discovery into ``OUT/discovery`` whole; return the names written.

    ``out`` defaults to the sweep folder (or the runs table's folder).  The folder is
    written into a temporary sibling and swapped in (:class:`cxsim.io.Stage`): a failure
    leaves an earlier discovery as it was, and a new one replaces it whole.  Holds the lock
    of ``out`` meanwhile (a sweep running there refuses it).  ``plot`` draws the figures
    (first: a figure that fails writes nothing); ``ema`` adds ``ema_results.tar.gz``
    (:func:`to_ema` of every finished run, :func:`save_ema`).
    """
    if out is None:
        out = result.default_out
        if out is None:
            raise DiscoveryError(Arg("out"), " must be given: the runs are a table in memory")
    out = Path(out)
    _check_out(out)
    figures: list = []
    with contextlib.ExitStack() as held:
        if plot:
            from . import plots

            figures = plots.discovery_figures(result)
            held.callback(lambda: [plots.plt.close(fig) for _, fig in figures])
        tables = {"boxes.csv": result.boxes_table(), "trajectory.csv": result.trajectory,
                  "rules.csv": result.rules, "scores.csv": result.scores}
        ema_results = (to_ema(result.source["runs"], model=result.source.get("scenario"))
                       if ema else None)
        names = [*tables, "discovery.json", *(n for n, _ in figures),
                 *(["ema_results.tar.gz"] if ema else [])]
        meta = result.provenance()
        meta["files"] = names
        if os.path.isdir(out):
            held.enter_context(folder_lock(out, "out"))
        stage = held.enter_context(Stage(out / SUBFOLDER, "discover", arg="out",
                                         what="the discovery"))
        with stage.writing() as folder:
            for name, table in tables.items():
                write_atomic(folder / name, table.to_csv(index=False))
            write_atomic(folder / "discovery.json",
                         json.dumps(meta, indent=1, default=_plain) + "\n")
            for name, fig in figures:
                with atomic_path(folder / name) as tmp:
                    fig.savefig(tmp, dpi=150, format="png")
            if ema_results is not None:
                save_ema(ema_results, folder / "ema_results.tar.gz")
            stage.commit()
    return names


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, frozenset | set | tuple):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")

__all__ = ["FIGURES", "FLAGS", "SUBFOLDER", "Box", "Condition", "DiscoveryError", "DiscoveryResult",
           "PrimResult", "add_parser", "cart_rules", "cmd_discover", "discover",
           "feature_scores", "format_discovery", "parse_where", "prim", "save_ema", "to_ema",
           "write_discovery"]
