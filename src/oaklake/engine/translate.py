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
_TIMESTAMP_TYPES = {
    _DT.TIMESTAMP,
    _DT.TIMESTAMP_S,
    _DT.TIMESTAMP_MS,
    _DT.TIMESTAMP_NS,
    _DT.DATETIME,
    _DT.DATETIME64,
    _DT.TIMESTAMPTZ,
    _DT.TIMESTAMPLTZ,
}
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
    if isinstance(
        node,
        exp.CurrentTimestamp
        | exp.Localtimestamp
        | exp.StrToTime
        | exp.UnixToTime
        | exp.FromISO8601Timestamp,
    ):
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
    if (
        isinstance(interval, exp.Interval)
        and _unit(interval) in _DATE_UNITS
        and _kind(date) == "date"
    ):
        return exp.cast(node, _DT.DATE)
    return node


_BUCKETS = {
    "MILLISECOND": "1 millisecond",
    "SECOND": "1 second",
    "MINUTE": "1 minute",
    "HOUR": "1 hour",
    "DAY": "1 day",
    "WEEK": "7 days",
    "MONTH": "1 month",
    "QUARTER": "3 months",
    "YEAR": "1 year",
}


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
_JODA_FIXED = {
    ("S", 3): "%g",
    ("S", 6): "%f",
    ("S", 9): "%n",
    ("D", 1): "%-j",
    ("D", 3): "%j",
    ("a", 1): "%p",
    ("e", 1): "%u",
    ("x", 4): "%G",
    ("M", 3): "%b",
}


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
            return _sql(
                "CAST(STRPTIME(:s, :f) AS TIMESTAMPTZ)",
                s=node.this,
                f=exp.Literal.string(converted),
            )
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


# == strings and regular expressions ========================================================
@_handles(exp.RegexpExtract)
def regexp_extract_no_match(node: exp.Expression) -> exp.Expression:
    """regexp_extract is NULL when the pattern does not match (DuckDB: ''); an empty match is ''.

    A group that takes no part in the match is NULL in Athena but '' here still.
    """
    return _sql(
        "CASE WHEN REGEXP_MATCHES(:s, :p) THEN :e END", s=node.this, p=node.expression, e=node
    )


_NAMED_GROUP = re.compile(r"\(\?P?<[A-Za-z]")


def _group_count(pattern: str) -> int:
    """Capturing groups in a regular expression: '(' outside classes, not '(?:', '(?=' …."""
    count, i, in_class = 0, 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 1
        elif in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "(" and (pattern[i + 1 : i + 2] != "?" or _NAMED_GROUP.match(pattern, i)):
            count += 1
        i += 1
    return count


def java_replacement_to_re2(text: str, groups: int) -> str | None:
    """A Java/Trino replacement ($1, \\$, \\\\) in RE2's syntax (\\1, $, \\\\), or None."""
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append("\\\\" if text[i + 1] == "\\" else text[i + 1])
            i += 2
        elif c == "$" and i + 1 < len(text) and text[i + 1].isdigit():
            if i + 2 < len(text) and text[i + 2].isdigit() and int(text[i + 1 : i + 3]) <= groups:
                return None  # group 10 and up: RE2 has only \0-\9
            out.append("\\" + text[i + 1])
            i += 2
        elif c in "\\$":
            return None  # ${name}, a lone $ or a trailing \ (Athena: named group or an error)
        else:
            out.append(c)
            i += 1
    return "".join(out)


@_handles(exp.RegexpReplace)
def regexp_replace_group_references(node: exp.Expression) -> exp.Expression:
    """regexp_replace writes group references $1 (Java); DuckDB's RE2 writes \\1."""
    repl, pattern = node.args.get("replacement"), node.expression
    if not (isinstance(repl, exp.Literal) and repl.is_string) or not re.search(r"[$\\]", repl.name):
        return node
    groups = _group_count(pattern.name) if isinstance(pattern, exp.Literal) else 99
    fixed = java_replacement_to_re2(repl.name, groups)
    if fixed is None:
        return node
    new = node.copy()
    new.set("replacement", exp.Literal.string(fixed))
    return new


@_handles(exp.Split)
def split_with_limit(node: exp.Expression) -> exp.Expression:
    """split(s, d, limit): at most limit pieces, the last one holding the rest of the string."""
    limit = node.args.get("limit")
    if limit is None:
        return node
    guard = "" if isinstance(limit, exp.Literal) else "WHEN :n IS NULL THEN NULL "
    return _sql(
        f"CASE {guard}WHEN LEN(STR_SPLIT(:s, :d)) > :n"
        " THEN LIST_SLICE(STR_SPLIT(:s, :d), 1, :n - 1)"
        " || [ARRAY_TO_STRING(LIST_SLICE(STR_SPLIT(:s, :d), :n, -1), :d)]"
        " ELSE STR_SPLIT(:s, :d) END",
        s=node.this,
        d=node.expression,
        n=limit,
    )


@_handles(exp.SplitPart)
def split_part_past_the_end(node: exp.Expression) -> exp.Expression:
    """split_part is NULL past the last field (DuckDB's SPLIT_PART: ''); a list index is too."""
    return _sql(
        "LIST_EXTRACT(STR_SPLIT(:s, :d), :i)",
        s=node.this,
        d=node.args["delimiter"],
        i=node.args["part_index"],
    )


@_handles(exp.StrPosition)
def strpos_instance(node: exp.Expression) -> exp.Expression:
    """strpos(s, sub, n): the n-th (from the end if n < 0) possibly overlapping match, or 0."""
    n = node.args.get("occurrence")
    if n is None or node.args.get("position") is not None:
        return node
    return _sql(
        "CASE WHEN :s IS NULL OR :sub IS NULL OR :n IS NULL THEN NULL WHEN :sub = '' THEN 1"
        " ELSE COALESCE(LIST_EXTRACT(LIST_FILTER(RANGE(1, LENGTH(:s) + 1),"
        " LAMBDA __i : SUBSTRING(:s, __i, LENGTH(:sub)) = :sub), :n), 0) END",
        s=node.this,
        sub=node.args["substr"],
        n=n,
    )


@_handles("hamming_distance")
def hamming_distance(node: exp.Expression) -> exp.Expression:
    """hamming_distance is DuckDB's HAMMING (characters differing; unequal lengths fail)."""
    return exp.Anonymous(this="HAMMING", expressions=[a.copy() for a in node.expressions])


@_handles("codepoint")
def codepoint(node: exp.Expression) -> exp.Expression:
    """codepoint(c) is DuckDB's UNICODE."""
    return exp.Unicode(this=node.expressions[0].copy()) if len(node.expressions) == 1 else node


@_handles(exp.Format)
def format_printf(node: exp.Expression) -> exp.Expression:
    """Athena's format is printf-style (Java's String.format): DuckDB's PRINTF, not its FORMAT."""
    args = [node.this, *node.expressions]
    return exp.Anonymous(this="PRINTF", expressions=[a.copy() for a in args])


@_handles("url_extract_host")
def url_extract_host(node: exp.Expression) -> exp.Expression:
    """url_extract_host: the authority's host (NULL when the URL has none), as java.net.URI."""
    if len(node.expressions) != 1:
        return node
    return _sql(
        r"NULLIF(REGEXP_EXTRACT(:u, '^(?:[A-Za-z][A-Za-z0-9+.-]*:)?//(?:[^/?#@]*@)?"
        r"(\[[^\]/?#]*\]|[^:/?#]*)', 1), '')",
        u=node.expressions[0],
    )


@_handles("to_base")
def to_base(node: exp.Expression) -> exp.Expression:
    """to_base writes lower-case digits and a '-' for negatives (DuckDB: upper case, no sign)."""
    if len(node.expressions) != 2:
        return node
    n, r = node.expressions
    return _sql(
        "CASE WHEN :n < 0 THEN '-' || LOWER(TO_BASE(-:n, :r)) ELSE LOWER(TO_BASE(:n, :r)) END",
        n=n,
        r=r,
    )


@_handles(exp.FromBase)
def from_base(node: exp.Expression) -> exp.Expression:
    """from_base(s, radix) as Java's Long.parseLong: optional sign, digits 0-9a-z below radix."""
    digits = (
        "LIST_TRANSFORM(STR_SPLIT(LOWER(LTRIM(:s, '+-')), ''), LAMBDA __c :"
        " STRPOS('0123456789abcdefghijklmnopqrstuvwxyz', __c) - 1)"
    )
    return _sql(
        "CASE WHEN :s IS NULL OR :r IS NULL THEN NULL"
        f" WHEN REGEXP_FULL_MATCH(:s, '[+-]?[0-9A-Za-z]+') AND LIST_MAX({digits}) < :r"
        f" THEN (CASE WHEN :s LIKE '-%' THEN -1 ELSE 1 END) * LIST_REDUCE({digits},"
        " LAMBDA __a, __d : __a * :r + __d, CAST(0 AS BIGINT))"
        " ELSE ERROR('Not a valid base-' || :r || ' number: ' || :s) END",
        s=node.this,
        r=node.expression,
    )


# == arrays and maps ========================================================================
@_handles(exp.ArraySize)
def cardinality(node: exp.Expression) -> exp.Expression:
    """cardinality takes arrays and maps: DuckDB's CARDINALITY does too (ARRAY_LENGTH not)."""
    if node.args.get("expression") is not None:
        return node
    return _sql("CAST(CARDINALITY(:x) AS BIGINT)", x=node.this)


@_handles(exp.Repeat)
def repeat_builds_an_array(node: exp.Expression) -> exp.Expression:
    """repeat(element, n) is an array of n elements in Athena (DuckDB's REPEAT of a list)."""
    return _sql("REPEAT([:x], :n)", x=node.this, n=node.args["times"])


@_handles(exp.Reduce)
def reduce_with_output_function(node: exp.Expression) -> exp.Expression:
    """reduce(a, init, merge, finish) applies finish to the result; sqlglot drops finish."""
    finish = node.args.get("finish")
    if not isinstance(finish, exp.Lambda):
        return node
    params = finish.expressions
    if len(params) == 1 and finish.this == params[0]:  # s -> s
        new = node.copy()
        new.set("finish", None)
        return new
    reduced = node.copy()
    reduced.set("finish", None)
    return _sql(
        "CASE WHEN :a IS NOT NULL THEN LIST_TRANSFORM([:r], :f)[1] END",
        a=node.this,
        r=reduced,
        f=finish,
    )


def _match(node: exp.Expression, combine: str) -> exp.Expression:
    if len(node.expressions) != 2:
        return node
    arr, fn = node.expressions
    start = "FALSE" if combine == "OR" else "TRUE"
    return _sql(
        f"LIST_REDUCE(LIST_TRANSFORM(:a, :f), LAMBDA __p, __q : __p {combine} __q, {start})",
        a=arr,
        f=fn,
    )


@_handles("any_match")
def any_match(node: exp.Expression) -> exp.Expression:
    """any_match: TRUE if some element matches, else NULL if a test was NULL, else FALSE."""
    return _match(node, "OR")


@_handles("all_match")
def all_match(node: exp.Expression) -> exp.Expression:
    """all_match: FALSE if some element fails, else NULL if a test was NULL, else TRUE."""
    return _match(node, "AND")


@_handles("none_match")
def none_match(node: exp.Expression) -> exp.Expression:
    """none_match is NOT any_match (NULL stays NULL)."""
    matched = _match(node, "OR")
    return node if matched is node else exp.Not(this=exp.Paren(this=matched))


_DISTINCT_IN_ORDER = (
    "LIST_TRANSFORM([:a], LAMBDA __l : LIST_FILTER(__l, LAMBDA __x, __i : "
    "LIST_POSITION(__l, __x) = __i))[1]"
)


@_handles(exp.ArrayDistinct)
def array_distinct_in_order(node: exp.Expression) -> exp.Expression:
    """array_distinct keeps each value's first occurrence in order, NULL included."""
    return _sql(_DISTINCT_IN_ORDER, a=node.this)


@_handles("array_union")
def array_union(node: exp.Expression) -> exp.Expression:
    """array_union: the distinct elements of a then b, in first-seen order (NULL if either is)."""
    if len(node.expressions) != 2:
        return node
    a, b = node.expressions
    return _sql(_DISTINCT_IN_ORDER, a=_sql("(:a || :b)", a=a, b=b))


@_handles("arrays_overlap")
def arrays_overlap(node: exp.Expression) -> exp.Expression:
    """arrays_overlap: TRUE on a common non-null element; else NULL if either holds a NULL."""
    if len(node.expressions) != 2:
        return node
    a, b = node.expressions
    return _sql(
        "CASE WHEN :a IS NULL OR :b IS NULL THEN NULL WHEN LEN(:a) = 0 OR LEN(:b) = 0 THEN FALSE"
        " WHEN LIST_HAS_ANY(:a, :b) THEN TRUE"
        " WHEN LIST_COUNT(:a) < LEN(:a) OR LIST_COUNT(:b) < LEN(:b) THEN NULL ELSE FALSE END",
        a=a,
        b=b,
    )


@_handles(exp.ArraySlice)
def slice_start_length(node: exp.Expression) -> exp.Expression:
    """slice(a, start, length): length elements from start (from the end if start < 0)."""
    start, length = node.args["start"], node.args.get("end")
    if length is None or node.args.get("step") is not None:
        return node
    if isinstance(start, exp.Literal) and not start.is_string and start.to_py() > 0:
        return _sql("LIST_SLICE(:a, :s, :s + :n - 1)", a=node.this, s=start, n=length)
    first = _sql(
        "CASE WHEN :s > 0 THEN :s WHEN LEN(:a) + :s >= 0 THEN LEN(:a) + :s + 1"
        " ELSE LEN(:a) + 1 END",
        a=node.this,
        s=start,
    )
    return _sql("LIST_SLICE(:a, :s, :s + :n - 1)", a=node.this, s=first, n=length)


@_handles("map_agg")
def map_agg(node: exp.Expression) -> exp.Expression:
    """map_agg(k, v): rows with a NULL key are skipped and a repeated key is kept once."""
    if len(node.expressions) != 2 or isinstance(node.parent, exp.Window | exp.Filter):
        return node
    k, v = node.expressions
    return _sql(
        "MAP_FROM_ENTRIES(LIST_TRANSFORM([LIST_SORT(LIST({'k': :k, 'v': :v})"
        " FILTER (WHERE :k IS NOT NULL))], LAMBDA __e : LIST_FILTER(__e,"
        " LAMBDA __x, __i : __i = 1 OR __e[__i - 1].k <> __x.k))[1])",
        k=k,
        v=v,
    )


# == JSON ===================================================================================
@_handles(exp.JSONExtractScalar)
def json_extract_scalar_of_a_container(node: exp.Expression) -> exp.Expression:
    """json_extract_scalar is NULL for an object or array (DuckDB's ->> returns its text)."""
    if node.args.get("expressions"):
        return node
    return _sql(
        "CASE WHEN JSON_TYPE(:j, :p) NOT IN ('OBJECT', 'ARRAY') THEN :e END",
        j=node.this,
        p=node.expression,
        e=node,
    )


@_handles("json_size")
def json_size(node: exp.Expression) -> exp.Expression:
    """json_size: members of the object or array at path, 0 for a scalar, NULL if missing."""
    if len(node.expressions) != 2:
        return node
    j, p = node.expressions
    return _sql(
        "CASE WHEN JSON_TYPE(:j, :p) = 'ARRAY' THEN CAST(JSON_ARRAY_LENGTH(:j, :p) AS BIGINT)"
        " WHEN JSON_TYPE(:j, :p) = 'OBJECT' THEN LEN(JSON_KEYS(:j, :p))"
        " WHEN JSON_TYPE(:j, :p) IS NOT NULL THEN 0 END",
        j=j,
        p=p,
    )


# == numbers ================================================================================
@_handles("e", "infinity", "nan")
def math_constants(node: exp.Expression) -> exp.Expression:
    """e(), infinity() and nan() are doubles DuckDB spells EXP(1) and CAST('…' AS DOUBLE)."""
    if node.expressions:
        return node
    sql = {"e": "EXP(1)", "infinity": "CAST('Infinity' AS DOUBLE)", "nan": "CAST('NaN' AS DOUBLE)"}
    return _sql(sql[node.name.lower()])


@_handles(exp.WidthBucket)
def width_bucket(node: exp.Expression) -> exp.Expression:
    """width_bucket(x, b1, b2, n): 0 before b1, n + 1 from b2 on, bounds in either order."""
    b1, b2, n = (node.args.get(k) for k in ("min_value", "max_value", "num_buckets"))
    if b1 is None or b2 is None or n is None or node.args.get("threshold") is not None:
        return node
    return _sql(
        "CASE WHEN :b1 < :b2 THEN CASE WHEN :x < :b1 THEN 0 WHEN :x >= :b2 THEN :n + 1"
        " ELSE CAST(FLOOR(CAST(:x - :b1 AS DOUBLE) * :n / (:b2 - :b1)) AS BIGINT) + 1 END"
        " WHEN :b1 > :b2 THEN CASE WHEN :x > :b1 THEN 0 WHEN :x <= :b2 THEN :n + 1"
        " ELSE CAST(FLOOR(CAST(:b1 - :x AS DOUBLE) * :n / (:b1 - :b2)) AS BIGINT) + 1 END"
        " WHEN :b1 = :b2 THEN ERROR('bounds cannot equal each other') END",
        x=node.this,
        b1=b1,
        b2=b2,
        n=n,
    )


_INTEGER_TYPES = {_DT.TINYINT, _DT.SMALLINT, _DT.INT, _DT.BIGINT}


@_handles(exp.Cast, exp.TryCast)
def double_to_integer_rounds_half_away(node: exp.Expression) -> exp.Expression:
    """CAST(double AS integer) rounds half away from zero in Athena, half to even in DuckDB."""
    if node.to.this in _INTEGER_TYPES and _is_double(node.this):
        new = node.copy()
        new.set("this", exp.Round(this=node.this.copy()))
        return new
    return node


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
