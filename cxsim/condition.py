"""A small condition language, parsed and checked, never evaluated as Python.

Shared by scenario discovery (``cxsim discover --where "profit_diff < 0"``, over the columns
of a runs table) and triggered interventions (``when = "service_level < 0.8"``, over the
metric names of a run).  An expression holds numbers, quoted text, names, ``+ - * /``, the
comparisons ``< <= > >= == !=`` (chains such as ``0.9 < x <= 0.95`` too), ``and``/``or``/
``not`` (or ``& | ~``, which here bind like ``and``/``or``/``not``) and parentheses;
``true``/``false`` are 1 and 0.  A call, an attribute, ``=`` for ``==``, a comparison of text
with a number or anything else is refused with one line through the caller's ``fail``.
:func:`parse` builds a :class:`Condition`; its :meth:`~Condition.evaluate` works on any
table of columns (a pandas frame, or a mapping of names to arrays) and
:meth:`~Condition.holds` on one row of numbers.  The module imports neither numpy nor pandas
until something is evaluated (scenario validation reads it).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: how deeply a condition may nest (parentheses, signs, not)
MAX_DEPTH = 50


@dataclass(frozen=True)
class Wording:
    """How a caller's messages name things.

    ``noun``: what a name stands for; ``example``: a condition; ``text_example``: a
    comparison of text (``""``: none); ``names_are``: what names may be.
    """

    noun: str = "column"
    example: str = "profit_diff < 0"
    text_example: str = "strategy == 'fix_courier'"
    names_are: str = "columns of the runs table"


_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+(?:_\d+)*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)
  | (?P<quoted>`[^`]*`)
  | (?P<text>'[^']*'|"[^"]*")
  | (?P<op><=|>=|==|!=|<>|[<>()+\-*/&|~=!,.\[\]{}:;@%^])
""", re.X)

_COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")
_KEYWORDS = ("and", "or", "not", "true", "false")


@dataclass(frozen=True)
class Condition:
    """A checked condition over the columns of a table (:func:`parse`).

    ``text`` is the expression as given (whitespace tidied), ``names`` the columns it
    names, in order.  :meth:`evaluate` gives one true/false per row.
    """

    text: str
    names: tuple[str, ...]
    node: tuple = field(repr=False)

    def evaluate(self, table: Any, n: int | None = None) -> Any:
        """True where the condition holds (a comparison with a missing value is false).

        ``table`` maps each name to its column (a pandas frame, or a mapping of arrays of
        ``n`` rows); returns a boolean array of one value per row.
        """
        import numpy as np

        n = len(table) if n is None else n
        with np.errstate(all="ignore"):
            value = _evaluate(self.node, table, n)
        return np.asarray(value, dtype=bool).reshape(-1) & np.ones(n, dtype=bool)

    def holds(self, values: Mapping[str, float]) -> bool:
        """Whether the condition holds for one row: ``values`` maps each name to a number."""
        return bool(self.evaluate({k: [v] for k, v in values.items()}, 1)[0])


class _Parser:
    """Recursive descent over the tokens; every node is checked for its type as it is built.

    Types: ``bool`` (a comparison, or and/or/not of them), ``number``, ``text``.
    """

    def __init__(self, text: str, columns: Mapping[str, str],
                 fail: Callable[[str], Exception], wording: Wording = Wording()):
        self.text = text
        self._fail = fail
        self.wording = wording
        self.columns = columns
        self.tokens = self._tokens(text)
        self.pos = 0
        self.names: list[str] = []
        self.unknown: list[str] = []

    def fail(self, message: str) -> Exception:
        return self._fail(message)

    def _tokens(self, text: str) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None:
                raise self.fail(f"cannot read {text[pos:pos + 12]!r} (a condition holds "
                                f"{self.wording.noun} names, numbers, quoted text, "
                                "comparisons, and/or/not and parentheses)")
            kind = m.lastgroup or ""
            value = m.group()
            pos = m.end()
            if kind == "space":
                continue
            if kind == "name" and value.lower() in _KEYWORDS:
                kind, value = "keyword", value.lower()
            out.append((kind, value))
        return out

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "")

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        self.pos += 1
        return tok

    def at(self, kind: str, *values: str) -> bool:
        k, v = self.peek()
        return k == kind and (not values or v in values)

    def parse(self) -> tuple[tuple, str]:
        if not self.tokens:
            raise self.fail(f"is empty; give a condition such as {self.wording.example}")
        node = self.either(0)
        if self.pos < len(self.tokens):
            kind, value = self.peek()
            raise self.fail(self._unexpected(kind, value))
        return node

    def _unexpected(self, kind: str, value: str) -> str:
        if value == "=":
            return "'=' is not a comparison; use == (equal) or != (not equal)"
        if value in ("<>", "!"):
            return f"'{value}' is not an operator here; use != (not equal) or not"
        if value == ".":
            return f"attribute access is not allowed; name a {self.wording.noun}"
        if kind == "end":
            return "ends too soon (a comparison or a closing parenthesis is missing)"
        return f"unexpected {value!r}"

    def deeper(self, depth: int) -> int:
        if depth + 1 > MAX_DEPTH:
            raise self.fail(f"nested more than {MAX_DEPTH} levels deep")
        return depth + 1

    def need_bool(self, typed: tuple[tuple, str], word: str) -> tuple:
        node, kind = typed
        if kind != "bool":
            raise self.fail(f"'{word}' joins conditions, and {_describe(node)} is a "
                            f"{kind}, not a condition (compare it, e.g. {self.wording.example})")
        return node

    def either(self, depth: int) -> tuple[tuple, str]:
        items = [self.both(depth)]
        while self.at("keyword", "or") or self.at("op", "|"):
            self.take()
            items.append(self.both(depth))
        if len(items) == 1:
            return items[0]
        return ("or", [self.need_bool(t, "or") for t in items]), "bool"

    def both(self, depth: int) -> tuple[tuple, str]:
        items = [self.negation(depth)]
        while self.at("keyword", "and") or self.at("op", "&"):
            self.take()
            items.append(self.negation(depth))
        if len(items) == 1:
            return items[0]
        return ("and", [self.need_bool(t, "and") for t in items]), "bool"

    def negation(self, depth: int) -> tuple[tuple, str]:
        if self.at("keyword", "not") or self.at("op", "~"):
            self.take()
            inner = self.negation(self.deeper(depth))
            return ("not", self.need_bool(inner, "not")), "bool"
        return self.comparison(depth)

    def comparison(self, depth: int) -> tuple[tuple, str]:
        first = self.total(depth)
        operands, ops = [first], []
        while self.at("op", *_COMPARISONS):
            ops.append(self.take()[1])
            operands.append(self.total(depth))
        if not ops:
            return first
        for (a, ka), op, (b, kb) in zip(operands, ops, operands[1:], strict=False):
            if "bool" in (ka, kb):
                bad = a if ka == "bool" else b
                raise self.fail(f"{_describe(bad)} is a condition; compare numbers or text "
                                "(join conditions with and/or)")
            if ka != kb:
                text_side = a if ka == "text" else b
                hint = self.wording.text_example
                raise self.fail(f"{_describe(text_side)} is text and cannot be compared with "
                                "a number" + (f" (write e.g. {hint})" if hint else ""))
            if ka == "text" and op not in ("==", "!="):
                raise self.fail(f"text is compared with == or != only, not {op}")
        return ("compare", [n for n, _ in operands], ops), "bool"

    def total(self, depth: int) -> tuple[tuple, str]:
        items, ops = [self.product(depth)], []
        while self.at("op", "+", "-"):
            ops.append(self.take()[1])
            items.append(self.product(depth))
        return self._arithmetic(items, ops)

    def product(self, depth: int) -> tuple[tuple, str]:
        items, ops = [self.signed(depth)], []
        while self.at("op", "*", "/"):
            ops.append(self.take()[1])
            items.append(self.signed(depth))
        return self._arithmetic(items, ops)

    def _arithmetic(self, items: list, ops: list) -> tuple[tuple, str]:
        if not ops:
            return items[0]
        for node, kind in items:
            if kind != "number":
                what = "text" if kind == "text" else "a condition"
                raise self.fail(f"{_describe(node)} is {what}; arithmetic takes numbers only")
        return ("arith", [n for n, _ in items], ops), "number"

    def signed(self, depth: int) -> tuple[tuple, str]:
        if self.at("op", "-", "+"):
            op = self.take()[1]
            node, kind = self.signed(self.deeper(depth))
            if kind != "number":
                raise self.fail(f"a sign ({op}) goes before a number, not {_describe(node)}")
            return (("neg", node) if op == "-" else node), "number"
        return self.atom(depth)

    def atom(self, depth: int) -> tuple[tuple, str]:
        kind, value = self.take()
        if kind == "number":
            return ("const", float(value.replace("_", ""))), "number"
        if kind == "text":
            return ("const", value[1:-1]), "text"
        if kind == "keyword" and value in ("true", "false"):
            return ("const", 1.0 if value == "true" else 0.0), "number"
        if kind in ("name", "quoted"):
            name = value[1:-1] if kind == "quoted" else value
            if self.at("op", "("):
                w = self.wording
                raise self.fail(f"calls are not allowed ({name}(...)); a condition compares "
                                f"{w.noun}s with numbers, e.g. {w.example}")
            if name not in self.columns:
                parts = name.split(".")
                for k in range(len(parts) - 1, 0, -1):
                    if ".".join(parts[:k]) in self.columns:
                        raise self.fail(f"attribute access is not allowed ({name}); name a "
                                        f"{self.wording.noun}")
                if "__" in name:
                    raise self.fail(f"'{name}' is not allowed: names are "
                                    f"{self.wording.names_are}")
                if name not in self.unknown:
                    self.unknown.append(name)
            if name not in self.names:
                self.names.append(name)
            return ("column", name), self.columns.get(name, "number")
        if kind == "op" and value == "(":
            inner = self.either(self.deeper(depth))
            if not self.at("op", ")"):
                k, v = self.peek()
                raise self.fail("a parenthesis is not closed" if k == "end"
                                else self._unexpected(k, v))
            self.take()
            return inner
        raise self.fail(self._unexpected(kind, value))


def _describe(node: tuple) -> str:
    if node[0] == "column":
        return f"'{node[1]}'"
    if node[0] == "const":
        return f"{node[1]!r}" if isinstance(node[1], str) else f"{node[1]:g}"
    return "an expression"


def _column_values(table: Any, name: str) -> Any:
    import numpy as np

    col = table[name]
    if not hasattr(col, "to_numpy"):  # a plain array or list: numbers
        return np.asarray(col, dtype=float)
    import pandas as pd

    if pd.api.types.is_bool_dtype(col):
        return col.to_numpy(dtype=float)
    if pd.api.types.is_numeric_dtype(col):
        return col.to_numpy(dtype=float, na_value=np.nan)
    return col.astype(str).to_numpy(dtype=object)


def _evaluate(node: tuple, table: Any, n: int) -> Any:
    import numpy as np

    kind = node[0]
    if kind == "const":
        return node[1]
    if kind == "column":
        return _column_values(table, node[1])
    if kind == "neg":
        return -np.asarray(_evaluate(node[1], table, n), dtype=float)
    if kind == "not":
        return ~np.asarray(_evaluate(node[1], table, n), dtype=bool)
    if kind in ("and", "or"):
        out = np.full(n, kind == "and")
        for child in node[1]:
            v = np.asarray(_evaluate(child, table, n), dtype=bool)
            out = (out & v) if kind == "and" else (out | v)
        return out
    if kind == "arith":
        values = [np.asarray(_evaluate(c, table, n), dtype=float) for c in node[1]]
        out = values[0]
        for op, v in zip(node[2], values[1:], strict=True):
            out = {"+": np.add, "-": np.subtract, "*": np.multiply,
                   "/": np.true_divide}[op](out, v)
        return out
    # a chain of comparisons: a < b <= c is a < b and b <= c
    values = [_evaluate(c, table, n) for c in node[1]]
    out = np.ones(n, dtype=bool)
    for a, op, b in zip(values, node[2], values[1:], strict=False):
        if isinstance(a, str) or isinstance(b, str) or (
                isinstance(a, np.ndarray) and a.dtype == object):
            a = np.asarray(a, dtype=object)
            b = np.asarray(b, dtype=object)
            r = (a == b) if op == "==" else (a != b)
        else:
            fa, fb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
            r = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
                 "==": np.equal, "!=": np.not_equal}[op](fa, fb)
            if op == "!=":  # a missing value is not known to differ
                r = r & ~np.isnan(fa) & ~np.isnan(fb)
        out = out & np.asarray(r, dtype=bool)
    return out


def close_names(name: str, candidates: Sequence[str]) -> list[str]:
    """Up to three of ``candidates`` spelled like ``name`` (for "unknown name" messages)."""
    return difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)


def quoted(text: str) -> str:
    """``text`` on one line in double quotes, shortened past 120 characters (for messages)."""
    one = " ".join(str(text).split())
    one = one if len(one) <= 120 else one[:100] + "..." + one[-12:]
    return f'"{one}"'


def parse(text: str, columns: Mapping[str, str], fail: Callable[[str], Exception],
          wording: Wording = Wording()) -> tuple[Condition, list[str]]:
    """Parse ``text`` over ``columns`` (name -> ``"number"`` or ``"text"``).

    Returns the :class:`Condition` and the names it uses that are not in ``columns`` (the
    caller words that message); raises ``fail(message)`` for anything that is not a
    condition.
    """
    parser = _Parser(text, columns, fail, wording)
    node, kind = parser.parse()
    if kind != "bool" and not parser.unknown:
        raise parser.fail(f"{_describe(node)} is a {kind}, not a condition; compare it, e.g. "
                          f"{wording.example}")
    return (Condition(text=" ".join(text.split()), names=tuple(parser.names), node=node),
            parser.unknown)


__all__ = ["MAX_DEPTH", "Condition", "Wording", "close_names", "parse", "quoted"]
