"""Experimental designs over swept parameters, and sensitivity analysis of their outcomes.

``grid`` is the full factorial of the parameters' value lists.  The sampling designs draw
points in the unit hypercube and map each coordinate through its parameter
(:meth:`~cxsim.params.Param.from_unit`: a quantile of a distribution, or a uniform choice
among listed values):

- ``lhs``: a Latin hypercube of ``samples`` points (SciPy's ``qmc.LatinHypercube``);
- ``sobol``: Saltelli's scheme for first-order and total Sobol' indices (SALib), ``N·(D+2)``
  points for ``samples = N`` and ``D`` varied parameters;
- ``morris``: ``samples = r`` Morris trajectories of ``D+1`` points each (SALib), 4 levels.

Parameters with a single value are fixed: they are set at every point but are not design
dimensions.  Every design is a pure function of its parameters, size and seed.

:func:`sensitivity` analyses outcomes on a ``sobol`` or ``morris`` design with SALib:
first-order ``S1`` and total ``ST`` indices with bootstrap intervals, or the Morris
``mu_star`` (mean absolute elementary effect per full range of the parameter) and ``sigma``.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import Arg
from .limits import MAX_POINTS, MAX_SAMPLES
from .params import Param, ParamError
from .rng import design_generator

DESIGNS = ("grid", "lhs", "sobol", "morris")

#: designs whose points are sampled (they need ``samples``)
SAMPLED = ("lhs", "sobol", "morris")

#: default ``samples`` per sampling design (points, base samples N, trajectories r)
DEFAULT_SAMPLES = {"lhs": 50, "sobol": 64, "morris": 10}

#: Morris grid levels (SALib's default and the usual choice; Saltelli et al. 2008, ch. 3)
MORRIS_LEVELS = 4

#: bootstrap resamples for the sensitivity intervals
RESAMPLES = 1000

CONFIDENCE = 0.95

#: the bootstrap seed that stands for seed 0 in Sobol' analysis (SALib ignores a seed of 0)
_SEED_ZERO = 2 ** 31 - 1

_EXTRA = "cxsim[sensitivity]"


def _salib(kind: str):
    try:
        if kind == "sobol":
            from SALib.analyze import sobol as analyze
            from SALib.sample import sobol as sample
        else:
            from SALib.analyze import morris as analyze
            from SALib.sample import morris as sample
    except ImportError:
        raise ParamError(f"the {kind} design needs SALib: pip install '{_EXTRA}' "
                         "(or pip install SALib)") from None
    return sample, analyze


@dataclass(frozen=True, eq=False)
class Design:
    """Design points over parameters.

    ``points``: one ``{path: value}`` per point (fixed parameters included); ``unit``: the
    unit-hypercube coordinates of the varied parameters for sampled designs (``None`` for
    grids), shape ``(len(points), len(varied))``.
    """

    kind: str
    params: tuple[Param, ...]
    points: list[dict] = field(repr=False)
    unit: np.ndarray | None = field(default=None, repr=False)
    samples: int | None = None
    seed: int = 0

    @property
    def varied(self) -> tuple[Param, ...]:
        """The parameters that take more than one value (the design dimensions)."""
        return tuple(p for p in self.params if p.varies)

    def problem(self) -> dict:
        """The SALib problem: every varied parameter on [0, 1] (mapped by ``from_unit``)."""
        names = [p.path for p in self.varied]
        return {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}

    def __len__(self) -> int:
        return len(self.points)


def expected_size(kind: str, samples: int, dims: int) -> int:
    """Points of a sampled design: ``lhs`` n, ``sobol`` N·(D+2), ``morris`` r·(D+1)."""
    return {"lhs": samples, "sobol": samples * (dims + 2), "morris": samples * (dims + 1)}[kind]


def make_design(params: Sequence[Param], kind: str = "grid", samples: int | None = None,
                seed: int = 0) -> Design:
    """Build a design; raise :class:`~cxsim.params.ParamError` (one line) if it cannot be."""
    if kind not in DESIGNS:
        raise ParamError(Arg("design"), f" must be one of {', '.join(DESIGNS)}, got {kind!r}")
    params = tuple(params)
    if not params:
        raise ParamError("a sweep needs at least one ", Arg("params", "PATH=SPEC"))
    paths = [p.path for p in params]
    if len(set(paths)) != len(paths):
        dup = next(p for p in paths if paths.count(p) > 1)
        raise ParamError(Arg("params", dup), " is given twice")
    fixed = {p.path: p.values[0] for p in params if not p.varies}
    if kind == "grid":
        if samples is not None:
            raise ParamError(Arg("samples"), " does not apply to a grid design (its size is "
                             "the product of the value lists)")
        for p in params:
            if p.is_distribution:
                raise ParamError(Arg("params", f"{p.path}={p.spec}"), ": a grid needs values "
                                 "(a list a,b,c or a range a:b:n), not a distribution; use ",
                                 Arg("design"), " lhs, sobol or morris")
        size = math.prod(len(p.values) for p in params)
        if size > MAX_POINTS:
            raise ParamError(Arg("design"), f": the grid has {size:,} points "
                             f"({' × '.join(str(len(p.values)) for p in params)} values); a "
                             f"sweep takes at most {MAX_POINTS:,} (fewer values per ",
                             Arg("params"), ")")
        combos = itertools.product(*[p.values for p in params])
        points = [dict(zip(paths, combo, strict=True)) for combo in combos]
        return Design(kind, params, points, None, None, seed)
    varied = [p for p in params if p.varies]
    if not varied:
        raise ParamError(f"a {kind} design needs at least one parameter that varies")
    n = DEFAULT_SAMPLES[kind] if samples is None else samples
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
        raise ParamError(Arg("samples"), f" must be a whole number of at least 2, got {n!r}")
    n = int(n)
    if n > MAX_SAMPLES:
        raise ParamError(Arg("samples"), f" must be at most {MAX_SAMPLES:,}, got {n:,}")
    d = len(varied)
    size = expected_size(kind, n, d)
    if size > MAX_POINTS:
        raise ParamError(Arg("design"), f": the {kind} design of ", Arg("samples", f"{n:,}"),
                         f" over {d} parameters has {size:,} points; a sweep takes at most "
                         f"{MAX_POINTS:,} (fewer ", Arg("samples"), ")")
    rng = design_generator(seed)
    if kind == "lhs":
        from scipy.stats import qmc

        try:
            engine = qmc.LatinHypercube(d=d, rng=rng)
        except TypeError:  # SciPy < 1.15 names it seed
            engine = qmc.LatinHypercube(d=d, seed=rng)
        unit = engine.random(n)
    else:
        sample, _ = _salib(kind)
        problem = {"num_vars": d, "names": [p.path for p in varied],
                   "bounds": [[0.0, 1.0]] * d}
        draw_seed = int(rng.integers(2 ** 31))
        with warnings.catch_warnings():
            # SALib warns when N is not a power of two; the CLI says so in its own words
            warnings.simplefilter("ignore")
            if kind == "sobol":
                unit = sample.sample(problem, n, calc_second_order=False, seed=draw_seed)
            else:
                unit = sample.sample(problem, n, num_levels=MORRIS_LEVELS, seed=draw_seed)
    unit = np.asarray(unit, dtype=float)
    points = []
    for row in unit:
        point = {}
        for p in params:
            point[p.path] = (p.from_unit(row[varied.index(p)]) if p.varies
                             else fixed[p.path])
        points.append(point)
    return Design(kind, params, points, unit, n, seed)


def is_power_of_two(n: int) -> bool:
    """True for 1, 2, 4, 8, ... (Sobol' sequences balance best at such sizes)."""
    return n > 0 and n & (n - 1) == 0


def sensitivity(design: Design, outcomes: Mapping[str, Sequence[float]], seed: int = 0,
                confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Sensitivity indices of each outcome (one value per design point, in point order).

    ``sobol``: columns ``outcome, parameter, S1, S1_ci_low, S1_ci_high, ST, ST_ci_low,
    ST_ci_high``.  ``morris``: ``outcome, parameter, mu, mu_star, mu_star_ci_low,
    mu_star_ci_high, sigma``.  Intervals are SALib's bootstrap intervals at ``confidence``.
    An outcome with a missing value (a failed design point) gets NaN indices and a
    ``note`` saying why.
    """
    if design.kind not in ("sobol", "morris"):
        raise ValueError(f"sensitivity needs a sobol or morris design, got {design.kind!r}")
    _, analyze = _salib(design.kind)
    problem = design.problem()
    rows = []
    for name, values in outcomes.items():
        y = np.asarray(values, dtype=float)
        if y.shape != (len(design),):
            raise ValueError(f"outcome {name!r} has {y.size} values for {len(design)} points")
        note = ""
        res = None
        if not np.all(np.isfinite(y)):
            note = f"{int(np.sum(~np.isfinite(y)))} design points have no value"
        elif np.ptp(y) == 0:
            note = "constant outcome"
        else:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                if design.kind == "sobol":
                    # SALib's sobol.analyze seeds its bootstrap only for a truthy seed
                    # (``if seed:``): 0 would draw from NumPy's global state, so it stands
                    # in as a fixed non-zero seed (other seeds are passed as they are)
                    res = analyze.analyze(problem, y, calc_second_order=False,
                                          num_resamples=RESAMPLES, conf_level=confidence,
                                          seed=seed if seed else _SEED_ZERO)
                else:
                    res = analyze.analyze(problem, design.unit, y, num_resamples=RESAMPLES,
                                          conf_level=confidence, num_levels=MORRIS_LEVELS,
                                          seed=seed)
        for i, name_p in enumerate(problem["names"]):
            row = {"outcome": name, "parameter": name_p}
            if design.kind == "sobol":
                s1, s1c, st, stc = ((float(res["S1"][i]), float(res["S1_conf"][i]),
                                     float(res["ST"][i]), float(res["ST_conf"][i]))
                                    if res is not None else (math.nan,) * 4)
                row.update(S1=s1, S1_ci_low=s1 - s1c, S1_ci_high=s1 + s1c,
                           ST=st, ST_ci_low=st - stc, ST_ci_high=st + stc)
            else:
                mu, ms, msc, sg = ((float(res["mu"][i]), float(res["mu_star"][i]),
                                    float(res["mu_star_conf"][i]), float(res["sigma"][i]))
                                   if res is not None else (math.nan,) * 4)
                row.update(mu=mu, mu_star=ms, mu_star_ci_low=ms - msc,
                           mu_star_ci_high=ms + msc, sigma=sg)
            row["note"] = note
            rows.append(row)
    return pd.DataFrame(rows)
