"""What a scenario is made of, value by value: the paths ``--set`` and ``--param`` take.

:func:`parameters` lists every single value of a scenario with its path (the dotted path of
:mod:`cxsim.params`: ``teams.contact_centre.headcount``, ``pathways.3.weight``,
``strategies.fix_courier.interventions.0.amount``), its type, its declared range and its
doc; :func:`format_show` prints them grouped by section.  Light: reads only the schema (no
NumPy, no model), so ``cxsim show`` answers at once.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any

from .scenario import Intervention, Scenario, _hints, _key, _num, not_its_own

#: the schema's words for the value types
_TYPES = {bool: "true/false", int: "whole number", float: "number", str: "word"}


@dataclass(frozen=True)
class Row:
    """One value of a scenario: its path, value, type, range and doc."""

    path: str
    value: Any
    type: str
    lo: float | None = None
    hi: float | None = None
    gt: float | None = None
    choices: tuple[str, ...] | None = None
    doc: str = ""

    @property
    def section(self) -> str:
        """The top-level section (``segments``)."""
        return self.path.split(".", 1)[0]

    @property
    def group(self) -> str:
        """The item of a section the value belongs to (``segments.loyal``), or the section."""
        parts = self.path.split(".")
        return ".".join(parts[:2]) if len(parts) > 2 else parts[0]

    def range_text(self) -> str:
        """The values the field accepts, as the schema declares them."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        lo, hi, gt = self.lo, self.hi, self.gt
        if gt is not None:
            return f"({_num(gt)}, {_num(hi)}]" if hi is not None else f"> {_num(gt)}"
        if lo is not None and hi is not None:
            return f"[{_num(lo)}, {_num(hi)}]"
        if lo is not None:
            return f">= {_num(lo)}"
        if hi is not None:
            return f"<= {_num(hi)}"
        return ""

    def as_dict(self) -> dict:
        """The row as plain data (for ``--json``)."""
        return {"path": self.path, "value": self.value, "type": self.type, "lo": self.lo,
                "hi": self.hi, "gt": self.gt,
                "choices": list(self.choices) if self.choices else None, "doc": self.doc}


def parameters(scenario: Scenario) -> list[Row]:
    """Every single value of ``scenario``, in the order of its plain data."""
    rows: list[Row] = []
    _walk(scenario, "", rows)
    return rows


def _walk(obj: Any, path: str, rows: list[Row]) -> None:
    hints = _hints(type(obj))
    for f in dataclasses.fields(obj):
        if isinstance(obj, Intervention) and not_its_own(obj, f.name):
            continue
        where = f"{path}.{_key(f.name)}" if path else _key(f.name)
        _value(getattr(obj, f.name), hints[f.name], dict(f.metadata), where, rows)


def _value(value: Any, tp: Any, meta: dict, path: str, rows: list[Row]) -> None:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if dataclasses.is_dataclass(value):
        _walk(value, path, rows)
    elif origin is dict:
        for k, v in value.items():
            _value(v, args[1], meta, f"{path}.{k}", rows)
    elif origin is list:
        for i, v in enumerate(value):
            _value(v, args[0], meta, f"{path}.{i}", rows)
    else:
        rows.append(Row(path, value, _TYPES.get(tp, str(tp)), meta.get("lo"), meta.get("hi"),
                        meta.get("gt"), meta.get("choices"), meta.get("doc", "")))


def matching(rows: list[Row], prefix: str | None) -> list[Row]:
    """The rows whose path is ``prefix`` or starts with ``prefix.`` (all without one)."""
    if not prefix:
        return rows
    prefix = prefix.rstrip(".")
    return [r for r in rows if r.path == prefix or r.path.startswith(prefix + ".")]


def value_text(value: Any) -> str:
    """A value as ``--set`` takes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def format_show(scenario: Scenario, rows: list[Row], source: str) -> str:
    """The rows grouped by section and item, one line each: path, value, range, doc.

    Strategies are shown with their descriptions, each intervention on one line as well
    as its values by path.
    """
    lines = [f"{source}: {scenario.name} (set a value with cxsim run --set PATH=VALUE, "
             "vary it with cxsim sweep --param PATH=SPEC)"]
    sections: dict[str, list[Row]] = {}
    for r in rows:  # name and description together, as one section
        sections.setdefault(r.section if "." in r.path else "scenario", []).append(r)
    for section, part in sections.items():
        width = max(len(r.path) for r in part)
        vwidth = min(max(len(value_text(r.value)) for r in part), 12)
        lines += ["", f"[{section}]"]
        group = last_doc = None
        for r in part:
            if r.group != group and r.group != r.section:
                group = r.group
                last_doc = None
                lines.append(_group_head(scenario, section, group.split(".", 1)[1]))
            rng = r.range_text()
            kind = r.type + (f", {rng}" if r.choices else f" in {rng}" if rng else "")
            doc = f"  {r.doc}" if r.doc and r.doc != last_doc else ""
            last_doc = r.doc
            lines.append(f"    {r.path:<{width}}  {value_text(r.value):>{vwidth}}  {kind}{doc}")
    return "\n".join(lines)


def _group_head(scenario: Scenario, section: str, name: str) -> str:
    """The line above an item's values; a strategy's also lists its interventions."""
    head = f"  {name}"
    if section != "strategies":
        return head
    st = scenario.strategies[name]
    if st.description:
        head += f": {st.description}"
    for i, iv in enumerate(st.interventions):
        target = f" {iv.target}" if iv.target else ""
        until = f" to tick {iv.end}" if iv.end >= 0 else ""
        if iv.when:  # triggered (cxsim.triggers)
            head += (f"\n    intervention {i}: {iv.type}{target}, amount "
                     f"{value_text(iv.amount)}, {trigger_text(iv)}")
            continue
        head += (f"\n    intervention {i}: {iv.type}{target}, amount {value_text(iv.amount)}, "
                 f"from tick {iv.start}{until}")
    return head


def trigger_text(iv: Any) -> str:
    """A triggered intervention's trigger in words (for ``cxsim show``)."""
    armed = (f"from tick {iv.start}" if iv.start else "") + (
        f" to tick {iv.end}" if iv.end >= 0 else "")
    lasts = f"for {iv.duration} ticks" if iv.duration else "for good"
    most = f", at most {iv.max_activations} times" if iv.max_activations else ""
    return (f"when {iv.when} over the last {iv.window} ticks" + (f" ({armed.strip()})"
                                                                  if armed else "")
            + f"; acts {lasts}, cooldown {iv.cooldown} ticks{most}")


__all__ = ["Row", "format_show", "matching", "parameters", "trigger_text", "value_text"]
