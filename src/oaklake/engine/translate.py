"""Athena (Trino) → DuckDB: sqlglot's transpiler plus the fixes Athena semantics need.

sqlglot turns most Athena SQL into DuckDB SQL that means the same thing; where it does not (see
``tests/engine/golden/translate.sql`` for every known case), a rewrite here makes DuckDB compute
what Athena would. Every statement the engine runs goes through :func:`to_duckdb`.

Each rewrite takes one node of the Athena-dialect tree and returns its replacement (or the node
itself). Replacements are written as small DuckDB SQL templates whose ``:name`` placeholders take
copies of the original arguments. The static type of a column is unknown here, so a rewrite
that depends on it either reads it off the syntax (``DATE '…'``, ``CAST(… AS date)``,
``current_date``) or uses a DuckDB expression that is right for every type it may meet.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

import sqlglot
from sqlglot import exp

Rewrite = Callable[[exp.Expression], exp.Expression]

# Rewrites by the node class they handle (or, for functions sqlglot does not know, by their
# lower-case name); filled by @_handles below.
_BY_KEY: dict[object, list[Rewrite]] = {}


def _handles(*keys: type[exp.Expression] | str) -> Callable[[Rewrite], Rewrite]:
    def register(fn: Rewrite) -> Rewrite:
        for key in keys:
            _BY_KEY.setdefault(key, []).append(fn)
        return fn

    return register


@functools.cache
def _template(sql: str) -> exp.Expression:
    return sqlglot.parse_one(sql, read="duckdb")


def _sql(sql: str, **args: exp.Expression) -> exp.Expression:
    """The DuckDB expression ``sql`` with each ``:name`` replaced by a copy of ``args[name]``."""
    tree = _template(sql).copy()
    for ph in list(tree.find_all(exp.Placeholder)):
        new = args[ph.name].copy()
        if ph is tree:
            return new
        ph.replace(new)
    return tree


def _unit(node: exp.Expression) -> str:
    """The upper-case unit name of a date function ('DAY'), or '' when it is not a literal."""
    unit = node.args.get("unit")
    if isinstance(unit, exp.Literal | exp.Var):
        return unit.name.upper()
    return ""


# -- what the syntax says about a date/time operand's type ---------------------------------
_DT = exp.DataType.Type
_DATE_TYPES = {_DT.DATE, _DT.DATE32}
_TIMESTAMP_TYPES = {_DT.TIMESTAMP, _DT.TIMESTAMP_S, _DT.TIMESTAMP_MS, _DT.TIMESTAMP_NS,
                    _DT.DATETIME, _DT.DATETIME64, _DT.TIMESTAMPTZ, _DT.TIMESTAMPLTZ}
_DATE_UNITS = {"DAY", "WEEK", "MONTH", "QUARTER", "YEAR"}


def _kind(node: exp.Expression) -> str | None:
    """'date' or 'timestamp' when the expression's type is evident from its syntax, else None."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Cast):  # TryCast too
        to = node.to.this
        return "date" if to in _DATE_TYPES else "timestamp" if to in _TIMESTAMP_TYPES else None
    if isinstance(node, exp.CurrentDate | exp.LastDay | exp.StrToDate | exp.TsOrDsToDate):
        return "date"
    if isinstance(node, exp.CurrentTimestamp | exp.Localtimestamp | exp.StrToTime
                  | exp.UnixToTime | exp.FromISO8601Timestamp):
        return "timestamp"
    if isinstance(node, exp.DateAdd | exp.DateSub | exp.DateTrunc | exp.TimestampTrunc):
        return _kind(node.this)
    if isinstance(node, exp.Add | exp.Sub) and isinstance(node.expression, exp.Interval):
        return _kind(node.this)
    if isinstance(node, exp.DateBin):  # TIME_BUCKET, from date_trunc below
        return _kind(node.expression)
    return None


_DOUBLE_TYPES = {_DT.DOUBLE, _DT.FLOAT}


def _is_double(node: exp.Expression) -> bool:
    """Whether the syntax makes it a DOUBLE or REAL (2.5E0, CAST(… AS double), sqrt(…), …)."""
    while isinstance(node, exp.Paren | exp.Neg):
        node = node.this
    if isinstance(node, exp.Literal):
        return not node.is_string and "e" in node.name.lower()
    if isinstance(node, exp.Cast):
        return node.to.this in _DOUBLE_TYPES
    if isinstance(node, exp.Add | exp.Sub | exp.Mul | exp.Div | exp.Mod):
        return _is_double(node.this) or _is_double(node.expression)
    return isinstance(node, exp.Sqrt | exp.Cbrt | exp.Ln | exp.Log | exp.Exp | exp.Pow | exp.Rand)


# == dates and times =======================================================================
@_handles(exp.DateAdd)
def date_add_on_a_date(node: exp.Expression) -> exp.Expression:
    """date_add(unit, n, date) is a DATE in Athena; DuckDB's DATE + INTERVAL is a TIMESTAMP."""
    if _unit(node) in _DATE_UNITS and _kind(node.this) == "date":
        return exp.cast(node, _DT.DATE)
    return node


@_handles(exp.Add, exp.Sub)
def date_plus_interval(node: exp.Expression) -> exp.Expression:
    """date ± INTERVAL 'n' DAY/MONTH/… is a DATE in Athena; in DuckDB it is a TIMESTAMP."""
    date, interval = node.this, node.expression
    if isinstance(date, exp.Interval) and isinstance(node, exp.Add):
        date, interval = interval, date
    if (isinstance(interval, exp.Interval) and _unit(interval) in _DATE_UNITS
            and _kind(date) == "date"):
        return exp.cast(node, _DT.DATE)
    return node


_BUCKETS = {"MILLISECOND": "1 millisecond", "SECOND": "1 second", "MINUTE": "1 minute",
            "HOUR": "1 hour", "DAY": "1 day", "WEEK": "7 days", "MONTH": "1 month",
            "QUARTER": "3 months", "YEAR": "1 year"}


@_handles(exp.DateTrunc, exp.TimestampTrunc)
def date_trunc_keeps_the_type(node: exp.Expression) -> exp.Expression:
    """date_trunc keeps a DATE a DATE in Athena; DuckDB's TIME_BUCKET does, its DATE_TRUNC not.

    TIME_BUCKET's default origins (2000-01-01 for months, Monday 2000-01-03 for days and weeks)
    put bucket starts where date_trunc's are. A known timestamp keeps DATE_TRUNC.
    """
    width = _BUCKETS.get(_unit(node))
    if width is None or _kind(node.this) == "timestamp":
        return node
    return _sql(f"TIME_BUCKET(INTERVAL '{width}', :x)", x=node.this)


@_handles(exp.DateDiff)
def date_diff_whole_units(node: exp.Expression) -> exp.Expression:
    """date_diff counts whole units elapsed (DuckDB's DATE_SUB), not boundaries crossed."""
    unit = _unit(node)
    if not unit or node.args.get("zone"):
        return node
    return _sql(f"DATE_SUB('{unit}', :a, :b)", a=node.expression, b=node.this)


@_handles(exp.CurrentTimezone)
def current_timezone(node: exp.Expression) -> exp.Expression:
    """current_timezone() is the session zone, which DuckDB names in its TimeZone setting."""
    return _sql("CURRENT_SETTING('TimeZone')")


# Joda-Time pattern letters (format_datetime, parse_datetime) as strftime/strptime codes.
_JODA_NUMBERS = {"M": "m", "d": "d", "H": "H", "h": "I", "m": "M", "s": "S", "w": "V"}
_JODA_FIXED = {("S", 3): "%g", ("S", 6): "%f", ("S", 9): "%n", ("D", 1): "%-j", ("D", 3): "%j",
               ("a", 1): "%p", ("e", 1): "%u", ("x", 4): "%G", ("M", 3): "%b"}


def _joda(letter: str, n: int, parse: bool) -> str | None:
    """The code for a run of n equal Joda letters, or None when DuckDB has no equivalent."""
    if letter in "yY":
        return "%y" if n == 2 else "%Y"
    if letter in _JODA_NUMBERS and n <= 2:  # one letter: no zero padding (strptime reads both)
        code = _JODA_NUMBERS[letter]
        return f"%{code}" if n == 2 or parse else f"%-{code}"
    if letter in "ME" and n >= 4:
        return "%B" if letter == "M" else "%A"
    if letter == "E":
        return "%a"
    if letter in "Zz" and parse:
        return "%z" if letter == "Z" else "%Z"
    if letter == "Z":  # values are shown in UTC, the session zone
        return {1: "+0000", 2: "+00:00"}.get(n, "UTC")
    if letter == "z":
        return "UTC" if n < 4 else "Coordinated Universal Time"
    return _JODA_FIXED.get((letter, n))


_JODA_TOKEN = re.compile(r"'((?:[^']|'')*)'|([A-Za-z])\2*|[^A-Za-z']+")


def joda_to_strftime(pattern: str, *, parse: bool = False) -> str | None:
    """A Joda-Time pattern as a DuckDB strftime (or strptime) format; None if it has no match."""
    out = []
    pos = 0
    for m in _JODA_TOKEN.finditer(pattern):
        if m.start() != pos:  # an unterminated quote
            return None
        pos = m.end()
        quoted, letter = m.group(1), m.group(2)
        if letter:
            code = _joda(letter, len(m.group(0)), parse)
            if code is None:
                return None
            out.append(code.replace("%-", "%") if parse else code)
        else:
            text = m.group(0) if quoted is None else (quoted.replace("''", "'") or "'")
            out.append(text.replace("%", "%%"))
    return "".join(out) if pos == len(pattern) else None


@_handles("format_datetime")
def format_datetime(node: exp.Expression) -> exp.Expression:
    """format_datetime(ts, joda) → STRFTIME with the pattern converted (literal patterns only)."""
    args = node.expressions
    if len(args) == 2 and isinstance(args[1], exp.Literal) and args[1].is_string:
        fmt = joda_to_strftime(args[1].name)
        if fmt is not None:
            return _sql("STRFTIME(:x, :f)", x=args[0], f=exp.Literal.string(fmt))
    return node


@_handles(exp.ParseDatetime)
def parse_datetime(node: exp.Expression) -> exp.Expression:
    """parse_datetime(s, joda) → STRPTIME with the pattern converted, as timestamp with zone."""
    fmt = node.args.get("format")
    if isinstance(fmt, exp.Literal) and fmt.is_string and not node.args.get("zone"):
        converted = joda_to_strftime(fmt.name, parse=True)
        if converted is not None:
            return _sql("CAST(STRPTIME(:s, :f) AS TIMESTAMPTZ)", s=node.this,
                        f=exp.Literal.string(converted))
    return node


@_handles("to_iso8601")
def to_iso8601(node: exp.Expression) -> exp.Expression:
    """to_iso8601: a date as 2024-03-05, a timestamp with its own precision's fraction digits."""
    if len(node.expressions) != 1:
        return node
    x = node.expressions[0]
    if isinstance(x, exp.Cast) and x.to.this in _DATE_TYPES:
        return _sql("STRFTIME(:x, '%Y-%m-%d')", x=x)
    if isinstance(x, exp.Cast) and x.to.this == _DT.TIMESTAMP and x.to.expressions:
        digits = {"0": "", "3": ".%g", "6": ".%f", "9": ".%n"}.get(x.to.expressions[0].name)
        if digits is not None:
            return _sql(f"STRFTIME(:x, '%Y-%m-%dT%H:%M:%S{digits}')", x=x)
    return _sql(
        "CASE TYPEOF(:x) WHEN 'DATE' THEN STRFTIME(:x, '%Y-%m-%d')"
        " WHEN 'TIMESTAMP_S' THEN STRFTIME(:x, '%Y-%m-%dT%H:%M:%S')"
        " WHEN 'TIMESTAMP_MS' THEN STRFTIME(:x, '%Y-%m-%dT%H:%M:%S.%g')"
        " WHEN 'TIMESTAMP_NS' THEN STRFTIME(:x, '%Y-%m-%dT%H:%M:%S.%n')"
        " WHEN 'TIMESTAMP WITH TIME ZONE' THEN STRFTIME(:x, '%Y-%m-%dT%H:%M:%S.%fZ')"
        " ELSE STRFTIME(:x, '%Y-%m-%dT%H:%M:%S.%f') END",
        x=node.expressions[0],
    )


def rewrite(tree: exp.Expression) -> exp.Expression:
    """Apply the rewrites bottom-up: each node sees its arguments already rewritten."""
    for node in reversed(list(tree.walk())):
        key = node.name.lower() if type(node) is exp.Anonymous else type(node)
        for fix in _BY_KEY.get(key, ()):
            new = fix(node)
            if new is not node:
                if node is tree:
                    tree = new
                else:
                    node.replace(new)
                break
    return tree


def to_duckdb(tree: exp.Expression) -> str:
    """DuckDB SQL with Athena's meaning for an (already resolved) Athena-dialect tree."""
    return rewrite(tree.copy()).sql(dialect="duckdb")


# Every rewrite, in registration order (the module's public list; see _BY_KEY for dispatch).
REWRITES: tuple[Rewrite, ...] = tuple(dict.fromkeys(f for fs in _BY_KEY.values() for f in fs))
