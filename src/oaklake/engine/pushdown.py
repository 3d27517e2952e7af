"""WHERE conjuncts → pyiceberg row filters, for file pruning only.

DuckDB still applies the whole WHERE clause to the rows it reads, so a conjunct that cannot be
translated is simply not pushed: pruning is an optimisation and must never change results. A
conjunct is pushed only when every column in it belongs to the table being planned and every other
operand folds to a constant.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Callable
from typing import Any

from sqlglot import exp


class _Skip(Exception):
    """This conjunct cannot be pushed; keep scanning without it."""


ColumnOf = Callable[[exp.Column], str | None]
Constant = Callable[[exp.Expression], Any]


def conjuncts(where: exp.Expression | None) -> list[exp.Expression]:
    if where is None:
        return []
    node = where.this if isinstance(where, exp.Where) else where
    out: list[exp.Expression] = []
    stack = [node]
    while stack:
        cur = stack.pop()
        while isinstance(cur, exp.Paren):
            cur = cur.this
        if isinstance(cur, exp.And):
            stack.extend([cur.right, cur.left])
        else:
            out.append(cur)
    return out


def to_iceberg(node: exp.Expression, column_of: ColumnOf, constant: Constant) -> Any | None:
    """The pyiceberg expression for one conjunct, or None when it cannot be pushed."""
    if node.find(exp.Subquery, exp.Select, exp.Exists, exp.Window, exp.AggFunc):
        return None
    try:
        return _convert(node, column_of, constant)
    except _Skip:
        return None


def lossless(expr: Any, schema: Any) -> bool:
    """Whether every numeric literal in ``expr`` keeps its value in its column's type.

    pyiceberg rounds a literal to the column's type when it binds a filter: ``id < 2.5`` on an int
    column becomes ``id < 2`` and ``amount > 10.005e0`` on decimal(10,2) becomes
    ``amount > 10.01``, which prunes files that hold matching rows. Such a conjunct is not pushed.
    """
    import struct

    import pyiceberg.expressions as ie
    from pyiceberg.expressions.literals import AboveMax, BelowMin
    from pyiceberg.types import FloatType

    if isinstance(expr, ie.And | ie.Or):
        return lossless(expr.left, schema) and lossless(expr.right, schema)
    if isinstance(expr, ie.Not):
        return lossless(expr.child, schema)
    if isinstance(expr, ie.LiteralPredicate):
        literals = [expr.literal]
    elif isinstance(expr, ie.SetPredicate):
        literals = list(expr.literals)
    else:
        return True
    try:
        field_type = schema.find_type(expr.term.name, case_sensitive=False)
        converted = [lit.to(field_type) for lit in literals]
    except Exception:
        return False
    for before, after in zip(literals, converted, strict=True):
        if not _is_number(before.value) or isinstance(after, AboveMax | BelowMin):
            continue
        value = after.value
        if isinstance(field_type, FloatType):  # compared as a 32-bit float
            value = struct.unpack("f", struct.pack("f", float(value)))[0]
        if decimal.Decimal(str(before.value)) != decimal.Decimal(str(value)):
            return False
    return True


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool)


def _field(node: exp.Expression, column_of: ColumnOf) -> str | None:
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Column):
        name = column_of(node)
        if name is None:
            raise _Skip
        return name
    return None


def _value(node: exp.Expression, constant: Constant) -> Any:
    if node.find(exp.Column):
        raise _Skip
    quick = _plain_literal(node)
    if quick is not None:
        return quick
    value = constant(node)
    if value is None:
        raise _Skip
    return _pyiceberg_literal_value(value)


def _plain_literal(node: exp.Expression) -> Any:
    """The value of a plain literal as DuckDB would fold it, without asking DuckDB.

    Each fold is a DuckDB round trip (~1 ms) and TPC-H filters carry up to a dozen literals;
    anything that is not obviously a string, integer, decimal or date literal returns None and
    is folded by DuckDB as before.
    """
    if isinstance(node, exp.Literal):
        text = str(node.this)
        if node.is_string:
            return text
        if text.isdigit() and len(text) <= 18:
            return int(text)
        if re.fullmatch(r"\d{1,18}\.\d{0,18}", text):
            return decimal.Decimal(text)  # DuckDB types 0.06 as DECIMAL(3,2)
        return None
    if (
        isinstance(node, exp.Cast)
        and isinstance(node.this, exp.Literal)
        and node.this.is_string
        and node.to.this == exp.DataType.Type.DATE
        and re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(node.this.this))
    ):
        try:
            return dt.date.fromisoformat(str(node.this.this)).isoformat()
        except ValueError:
            return None  # DuckDB's error message, not ours
    return None


def _pyiceberg_literal_value(value: Any) -> Any:
    if isinstance(value, bool | int | float | str | decimal.Decimal):
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    raise _Skip


_COMPARE = {
    exp.EQ: ("EqualTo", "EqualTo"),
    exp.NEQ: ("NotEqualTo", "NotEqualTo"),
    exp.LT: ("LessThan", "GreaterThan"),
    exp.LTE: ("LessThanOrEqual", "GreaterThanOrEqual"),
    exp.GT: ("GreaterThan", "LessThan"),
    exp.GTE: ("GreaterThanOrEqual", "LessThanOrEqual"),
}


def _convert(node: exp.Expression, column_of: ColumnOf, constant: Constant) -> Any:
    import pyiceberg.expressions as ie

    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.And):
        return ie.And(
            _convert(node.left, column_of, constant), _convert(node.right, column_of, constant)
        )
    if isinstance(node, exp.Or):
        return ie.Or(
            _convert(node.left, column_of, constant), _convert(node.right, column_of, constant)
        )
    if isinstance(node, exp.Not):
        inner = node.this
        while isinstance(inner, exp.Paren):
            inner = inner.this
        if isinstance(inner, exp.Is):
            name = _field(inner.this, column_of)
            if name is not None and isinstance(inner.expression, exp.Null):
                return ie.NotNull(name)
        return ie.Not(_convert(inner, column_of, constant))
    for cls, (forward, backward) in _COMPARE.items():
        if isinstance(node, cls):
            left = _field(node.left, column_of)
            right = _field(node.right, column_of)
            if left is not None and right is None:
                return getattr(ie, forward)(left, _value(node.right, constant))
            if right is not None and left is None:
                return getattr(ie, backward)(right, _value(node.left, constant))
            raise _Skip
    if isinstance(node, exp.Is):
        name = _field(node.this, column_of)
        if name is not None and isinstance(node.expression, exp.Null):
            return ie.IsNull(name)
        raise _Skip
    if isinstance(node, exp.In):
        name = _field(node.this, column_of)
        if name is None or node.args.get("query") or not node.expressions:
            raise _Skip
        values = [_value(v, constant) for v in node.expressions]
        return ie.In(name, values)
    if isinstance(node, exp.Between):
        name = _field(node.this, column_of)
        if name is None:
            raise _Skip
        low = _value(node.args["low"], constant)
        high = _value(node.args["high"], constant)
        return ie.And(ie.GreaterThanOrEqual(name, low), ie.LessThanOrEqual(name, high))
    if isinstance(node, exp.Like):
        if node.args.get("negate"):  # sqlglot parses `x NOT LIKE p` as Like(negate=True)
            raise _Skip
        name = _field(node.this, column_of)
        pattern = node.expression
        if name is not None and isinstance(pattern, exp.Literal) and pattern.is_string:
            text = pattern.this
            prefix = text.split("%", 1)[0].split("_", 1)[0]
            if prefix and text == prefix + "%":
                return ie.StartsWith(name, prefix)
        raise _Skip
    raise _Skip
