"""Scenario parameters addressed by path, and the value specs that sweeps vary them over.

A *path* names one value of a scenario in its plain-data form (:meth:`Scenario.to_dict`):
dotted keys, with list positions as numbers — ``teams.contact_centre.headcount``,
``touchpoints.chat.quality``, ``segments.young.base_churn``, ``pathways.3.weight``,
``strategies.fix_courier.interventions.0.amount``.  The reserved path ``strategy`` picks
the strategy a run applies (``baseline``, a strategy name, or names joined by ``+``).

A *spec* says which values a parameter takes:

- a list ``8,10,12`` (numbers, ``true``/``false`` or words); one value fixes the parameter;
- a range ``0.5:0.9:5`` — five evenly spaced values from 0.5 to 0.9 inclusive;
- a distribution, for sampling designs only: ``uniform(a,b)``, ``loguniform(a,b)`` or
  ``int(a,b)`` (whole numbers a..b inclusive).

Values are checked against the type of the value they replace (a head count takes whole
numbers only); :class:`ParamError` carries one line naming the parameter and the problem.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import Arg, InputError
from .limits import MAX_PARAMS as MAX_PARAMS
from .limits import MAX_VALUES

#: the reserved parameter that chooses the strategy a run applies
STRATEGY = "strategy"

DISTRIBUTIONS = ("uniform", "loguniform", "int")

_INT = re.compile(r"^[+-]?\d+$")
_CALL = re.compile(r"^([A-Za-z_]\w*)\s*\((.*)\)$", re.S)


class ParamError(InputError):
    """A parameter path or spec is not usable; the message is one line naming it.

    ``arg`` is the argument it is about (``"params"`` for a parameter); ``str()`` words it
    for a Python caller, and the command line renders it with its flags.
    """


def _at(path: str, spec: Any = None) -> Arg:
    """A reference to one parameter (``PATH=SPEC``) of the ``params`` argument."""
    return Arg("params", _short(path if spec is None else f"{path}={spec}"))


@dataclass(frozen=True)
class Param:
    """One swept parameter: its path and either a tuple of values or a distribution.

    ``values`` is set for lists and ranges; ``dist`` (``uniform``, ``loguniform``, ``int``)
    with ``low``/``high`` for distributions.  ``spec`` keeps the text it was given as.
    """

    path: str
    spec: str
    values: tuple = ()
    dist: str | None = None
    low: float = math.nan
    high: float = math.nan

    @property
    def is_distribution(self) -> bool:
        """True for ``uniform``/``loguniform``/``int`` (sampling designs only)."""
        return self.dist is not None

    @property
    def varies(self) -> bool:
        """False for a single fixed value."""
        return self.is_distribution or len(self.values) > 1

    def from_unit(self, u: float) -> Any:
        """Map ``u`` in [0, 1] to a value: a quantile of the distribution, or a list item.

        A list of *k* values splits [0, 1] into *k* equal parts (a uniform discrete choice);
        ``int(a,b)`` likewise over a..b.
        """
        u = min(max(float(u), 0.0), 1.0)
        if self.dist == "uniform":
            return float(self.low + u * (self.high - self.low))
        if self.dist == "loguniform":
            return float(math.exp(math.log(self.low) + u * (math.log(self.high)
                                                             - math.log(self.low))))
        if self.dist == "int":
            n = int(self.high) - int(self.low) + 1
            return int(self.low) + min(int(u * n), n - 1)
        k = len(self.values)
        return self.values[min(int(u * k), k - 1)]


# --------------------------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------------------------


def _short(text: str, most: int = 120) -> str:
    """``text`` as a message shows it: a very long one by its start and end."""
    return text if len(text) <= most else text[:80] + "..." + text[-20:]


def _walk(data: Any, path: str) -> tuple[Any, Any]:
    """Return (container, key) of ``path`` in ``data``; raise ParamError naming the problem."""
    if not path or any(not part for part in path.split(".")):
        raise ParamError(f"parameter path {_short(path)!r} is malformed (expected e.g. "
                         "teams.contact_centre.headcount)")
    parts = path.split(".")
    node = data
    shown = _short(path)
    for i, part in enumerate(parts):
        where = ".".join(parts[:i]) or "the scenario"
        if isinstance(node, dict):
            if part not in node:
                known = ", ".join(sorted(map(str, node))[:12]) or "nothing"
                raise ParamError(f"unknown parameter path '{shown}': {_short(where)} has no "
                                 f"'{_short(part, 60)}' (it has {known})")
            key = part
        elif isinstance(node, list):
            if not _INT.match(part) or len(part) > 12 or not 0 <= int(part) < len(node):
                raise ParamError(f"unknown parameter path '{shown}': {_short(where)} is a "
                                 f"list of {len(node)}; use a position 0..{len(node) - 1}, "
                                 f"got '{_short(part, 60)}'")
            key = int(part)
        else:
            raise ParamError(f"unknown parameter path '{shown}': {_short(where)} is a value, "
                             f"not a table")
        if i == len(parts) - 1:
            target = node[key]
            if isinstance(target, dict | list):
                kind = "table" if isinstance(target, dict) else "list"
                raise ParamError(f"parameter path '{shown}' is a {kind}, not a single value")
            return node, key
        node = node[key]
    raise AssertionError("unreachable")


def get_value(data: Mapping, path: str) -> Any:
    """The value at ``path`` in a scenario's plain data; ParamError if there is none."""
    node, key = _walk(data, path)
    return node[key]


def apply_overrides(data: Mapping, overrides: Mapping[str, Any]) -> dict:
    """Return a deep copy of scenario data with each ``path: value`` set.

    The reserved ``strategy`` key is skipped (it chooses a strategy, it changes no value).
    """
    out = copy.deepcopy(dict(data))
    for path, value in overrides.items():
        if path == STRATEGY:
            continue
        node, key = _walk(out, path)
        node[key] = value
    return out


# --------------------------------------------------------------------------------------------
# Specs
# --------------------------------------------------------------------------------------------


def _scalar(text: str) -> Any:
    """Parse one list item: whole number, number, true/false, or a word."""
    t = text.strip()
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "'\"":
        return t[1:-1]
    if _INT.match(t):
        return int(t)
    low = t.lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        v = float(t)
    except ValueError:
        return t
    return v


def _number(text: str, path: str, spec: str, what: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise ParamError(_at(path, spec), f": {what} must be a number, got "
                         f"{text.strip()!r}") from None
    if not math.isfinite(v):
        raise ParamError(_at(path, spec), f": {what} must be finite, got {text.strip()}")
    return v


def _clean(v: float) -> float | int:
    """Round a range value to 12 significant digits (0.6, not 0.6000000000000001)."""
    return float(f"{v:.12g}")


def parse_spec(path: str, spec: Any) -> Param:
    """Parse a spec (text as on the command line, a list of values, or a single value).

    Raises :class:`ParamError` for a malformed spec; does not check the path (see
    :func:`check_param`).
    """
    if isinstance(spec, Param):
        return spec
    if isinstance(spec, list | tuple | np.ndarray):
        if len(spec) > MAX_VALUES:
            raise ParamError(_at(path), f": {len(spec):,} values; a parameter takes at most "
                             f"{MAX_VALUES:,}")
        values = tuple(v.item() if isinstance(v, np.generic) else v for v in spec)
        if not values:
            raise ParamError(_at(path), ": no values given")
        return Param(path, ",".join(map(str, values)), values=values)
    if not isinstance(spec, str):
        v = spec.item() if isinstance(spec, np.generic) else spec
        return Param(path, str(v), values=(v,))
    text = spec.strip()
    if not text:
        raise ParamError(_at(path, ""), ": no values given (expected a list 8,10,12, a "
                         "range 0.5:0.9:5 or a distribution uniform(0.5,0.9))")
    call = _CALL.match(text)
    if call:
        name, inner = call.group(1).lower(), call.group(2)
        if name not in DISTRIBUTIONS:
            raise ParamError(_at(path, text), f": unknown distribution '{call.group(1)}' "
                             "(use uniform(a,b), loguniform(a,b) or int(a,b))")
        args = inner.split(",")
        if len(args) != 2:
            raise ParamError(_at(path, text), f": {name}() takes two bounds, got "
                             f"{len(args) if inner.strip() else 0}")
        lo = _number(args[0], path, text, "the lower bound")
        hi = _number(args[1], path, text, "the upper bound")
        if name == "int":
            if not (lo.is_integer() and hi.is_integer()):
                raise ParamError(_at(path, text), ": int() bounds must be whole numbers")
            if hi < lo:
                raise ParamError(_at(path, text), ": the upper bound is below the lower")
        elif not hi > lo:
            raise ParamError(_at(path, text), ": the upper bound must exceed the lower")
        if name == "loguniform" and lo <= 0:
            raise ParamError(_at(path, text), ": loguniform() bounds must be positive")
        return Param(path, text, dist=name, low=lo, high=hi)
    if "(" in text or ")" in text:
        raise ParamError(_at(path, text), ": malformed distribution (expected e.g. "
                         "uniform(0.5,0.9))")
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise ParamError(_at(path, text), ": a range is START:STOP:COUNT, e.g. "
                             "0.5:0.9:5")
        start = _number(parts[0], path, text, "the range start")
        stop = _number(parts[1], path, text, "the range stop")
        count = parts[2].strip()
        n = math.nan
        if _INT.match(count):  # a whole number of any length (no int() of a huge text)
            digits = count.lstrip("+-").lstrip("0")
            n = (int(count) if len(digits) <= 18
                 else -math.inf if count.startswith("-") else math.inf)
        if not n >= 2:
            raise ParamError(_at(path, text), ": the range count must be a whole number "
                             f"of at least 2, got {count[:40]!r}")
        if n > MAX_VALUES:
            raise ParamError(_at(path, text), f": the range count must be at most "
                             f"{MAX_VALUES:,}, got {count[:40]}")
        if stop == start:
            raise ParamError(_at(path, text), ": the range start and stop are equal")
        raw = np.linspace(start, stop, int(n))
        values = tuple(int(round(v)) if float(_clean(v)).is_integer() and
                       _INT.match(parts[0].strip()) and _INT.match(parts[1].strip())
                       else _clean(float(v)) for v in raw)
        return Param(path, text, values=values)
    if text.count(",") >= MAX_VALUES:
        raise ParamError(_at(path, text), f": {text.count(',') + 1:,} values; a "
                         f"parameter takes at most {MAX_VALUES:,}")
    items = text.split(",")
    if any(not item.strip() for item in items):
        raise ParamError(_at(path, text), ": empty item in the list")
    return Param(path, text, values=tuple(_scalar(item) for item in items))


def parse_param(text: str) -> Param:
    """Parse ``PATH=SPEC`` as given to ``--param``."""
    if "=" not in text:
        raise ParamError(_at(text), ": expected PATH=SPEC, e.g. "
                         "teams.contact_centre.headcount=8,10,12")
    path, spec = text.split("=", 1)
    path = path.strip()
    if not path:
        raise ParamError(_at(text), ": the path before '=' is empty")
    return parse_spec(path, spec)


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    return "a word"


def _coerce(param: Param, current: Any, value: Any) -> Any:
    """Fit ``value`` to the type of ``current``; ParamError if it cannot."""
    where = _at(param.path, param.spec)
    if current is None:
        return value
    if isinstance(current, bool):
        if isinstance(value, bool):
            return value
        raise ParamError(where, f": {param.path} is true/false, got {value!r}")
    if isinstance(current, int | float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ParamError(where, f": {param.path} is {_describe(current)}, got {value!r}")
        if isinstance(current, int):
            if not float(value).is_integer():
                raise ParamError(where, f": {param.path} is a whole number, got {value!r}")
            return int(value)
        return float(value)
    if isinstance(current, str):
        if isinstance(value, str):
            return value
        raise ParamError(where, f": {param.path} is a word, got {value!r}")
    return value


def check_param(param: Param, data: Mapping, strategies: Sequence[str] = ()) -> Param:
    """Check ``param`` against scenario data; return it with values fitted to the field type.

    ``strategies`` are the scenario's strategy names (for the reserved ``strategy`` path).
    """
    where = _at(param.path, param.spec)
    if param.path == STRATEGY:
        if param.is_distribution:
            raise ParamError(where, ": strategy takes names (baseline,a,b or a+b), "
                             "not a distribution")
        known = {"baseline", *strategies}
        for v in param.values:
            for name in str(v).split("+"):
                if name not in known:
                    raise ParamError(where, f": unknown strategy '{name}' (the scenario "
                                     f"has {', '.join(sorted(strategies)) or 'none'})")
        return Param(param.path, param.spec, values=tuple(str(v) for v in param.values))
    current = get_value(data, param.path)
    if param.is_distribution:
        if isinstance(current, bool) or (current is not None
                                         and not isinstance(current, int | float)):
            raise ParamError(where, f": {param.path} is {_describe(current)}; a "
                             "distribution needs a numeric field")
        if isinstance(current, int) and param.dist != "int":
            raise ParamError(where, f": {param.path} is a whole number; use "
                             f"int({_clean(param.low):g},{_clean(param.high):g}) or a list")
        return param
    values = tuple(_coerce(param, current, v) for v in param.values)
    if len(set(map(repr, values))) != len(values):
        raise ParamError(where, ": a value is given twice")
    return Param(param.path, param.spec, values=values)


def strategy_of(value: Any) -> str | list[str] | None:
    """The strategy argument of :func:`cxsim.run` for a ``strategy`` parameter value."""
    if value is None or value == "baseline":
        return None
    names = str(value).split("+")
    return names[0] if len(names) == 1 else names
