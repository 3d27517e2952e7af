"""Recommended rules: profile a dataset, then write the DQDL ruleset Glue's "Recommend rules" would.

Glue's recommendations are Deequ's constraint suggestions over a column profile, printed as DQDL
(docs/dqdl.md, "Recommended rules"). Here the profile takes two queries over the bound view:

1. one aggregate for every column at once — row count, non-NULL count, approximate distinct
   count, min/max, mean, population σ, non-negative count, string lengths and, for strings, how
   many values look like and cast to each narrower type (Deequ's RetainTypeRule input);
2. only if a column needs it, one query of per-column GROUP BYs (UNION ALL) over the columns
   that can still turn out categorical (a full histogram, NULL as a bucket) or approximately
   unique (an exact count of values seen once). Grouping on each column's own type keeps
   "equal" what DuckDB calls equal (-0.0 is 0.0); over a table or file each branch reads only
   its column. (A single UNPIVOT + GROUP BY reads the rows once but must turn every value into
   text first, which measured four times slower on two million rows.)

Every rule is then a pure function of the :class:`Profile`, and every bound is chosen so the rule
passes on the data it was learnt from — a recommendation that fails on day one is noise. Where
Glue's printed form would not (NULLs fail a per-row ``ColumnValues`` check), the rule says so
explicitly instead: ``NULL`` in a value list, or ``where "`c` IS NOT NULL"`` on a range.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal, localcontext
from typing import TYPE_CHECKING, Any, Literal

from oaklake.quality.ast import quote

if TYPE_CHECKING:
    from oaklake.engine.session import Engine
    from oaklake.quality.dataset import BoundDataset, Dataset

__all__ = [
    "ColumnProfile",
    "Profile",
    "Suggestion",
    "profile",
    "recommend",
    "render",
    "suggest",
]

#: Deequ's ColumnProfiler keeps a histogram only for columns with at most this many distinct
#: values (``DEFAULT_CARDINALITY_THRESHOLD``); beyond it no categorical rule is considered.
CARDINALITY_THRESHOLD = 120
#: A value list longer than this (values, or characters of rule text) is not written out: the
#: full list falls back to the top-values rule, and a top-values list that is still too long is
#: dropped. Deequ has no such cap; a 120-item list is unreadable and useless in review.
MAX_LIST_VALUES = 50
MAX_LIST_CHARS = 2000
#: z for a two-sided 95% interval; Deequ's Wald strategy hard-codes 1.96.
Z_95 = 1.96
#: UniqueIfApproximatelyUniqueRule: approx distinct / rows within this of 1.
UNIQUE_TOLERANCE = 0.08
#: Glue's bound for approximately unique columns.
UNIQUENESS_BOUND = Decimal("0.95")
#: CategoricalRangeRule / FractionalCategoricalRangeRule thresholds on the unique-value ratio,
#: and the share of rows the top categories must cover.
CATEGORICAL_UVR = 0.1
FRACTIONAL_UVR = 0.4
TARGET_COVERAGE = (9, 10)  # 0.9 as a fraction, compared in integers
#: RetainCompletenessRule applies above this completeness (and below 1).
MIN_COMPLETENESS = 0.2
#: With unique-value ratio <= 0.4 a column has at most 0.625 distinct values (NULL counted) per
#: row, so a column whose approximate ratio is above this cannot be categorical; the margin over
#: 0.625 absorbs the HyperLogLog error. Only a pre-filter: the decision uses exact histograms.
CATEGORICAL_MAX_RATIO = 0.7

Kind = Literal[
    "integer", "fractional", "decimal", "string", "date", "timestamp", "boolean", "other"
]
NUMERIC_KINDS = ("integer", "fractional", "decimal")
_INTEGER_TYPES = frozenset(
    {
        *("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"),
        *("UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"),
    }
)
#: What counts as castable for a string column, by DQDL ColumnDataType name, in Deequ's order of
#: preference (narrowest first): the value must look the part (Deequ's DataType analyzer works
#: by pattern too; DuckDB's TRY_CAST alone would round '1.5' to the integer 2) and then cast.
#: Dates and timestamps are recognised in ISO form (``2024-01-31``, ``2024-01-31 12:00``). The
#: pattern is checked first because a failing TRY_CAST is slow; CASE only casts what matched.
_INTEGRAL = r"\s*[+-]?[0-9]+\s*"
_NUMBER = r"\s*[+-]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|(?i:nan|inf|infinity))\s*"
_DAY = r"\s*[0-9]+-[0-9]{1,2}-[0-9]{1,2}"
CAST_TYPES: tuple[tuple[str, str, str | None], ...] = (
    ("Integer", _INTEGRAL, "INTEGER"),
    ("Long", _INTEGRAL, "BIGINT"),
    ("Double", _NUMBER, "DOUBLE"),
    ("Boolean", r"\s*(?i:true|false)\s*", None),
    ("Date", _DAY + r"\s*", "DATE"),
    ("Timestamp", _DAY + r"([ T].*)?", "TIMESTAMP"),
)

Value = int | float | Decimal | str | dt.date | dt.datetime | None


@dataclass(frozen=True)
class ColumnProfile:
    """What the two profiling queries learnt about one column (counts over all rows)."""

    name: str
    type: str  # DuckDB type of the bound view's column
    kind: Kind
    rows: int
    non_null: int
    approx_distinct: int | None = None
    minimum: Value = None  # numbers, dates, timestamps; NaN/inf as DuckDB orders them
    maximum: Value = None
    mean: float | None = None
    stddev: float | None = None  # population σ
    non_negative: int | None = None  # numeric values >= 0
    min_length: int | None = None  # over non-NULL strings
    max_length: int | None = None
    castable: dict[str, int] = field(default_factory=dict)  # strings: ColumnDataType → values
    histogram: tuple[tuple[Value, int], ...] | None = None  # (value or None for NULL, rows)
    singletons: int | None = None  # non-NULL values seen exactly once (exact)

    @property
    def completeness(self) -> float:
        return self.non_null / self.rows if self.rows else 0.0

    @property
    def nulls(self) -> int:
        return self.rows - self.non_null

    @property
    def inferred_type(self) -> str | None:
        """Deequ's RetainTypeRule: the narrowest ColumnDataType every non-NULL string casts to."""
        if self.kind != "string" or not self.non_null:
            return None
        return next((t for t, *_ in CAST_TYPES if self.castable.get(t) == self.non_null), None)

    @property
    def uniqueness(self) -> float | None:
        """Rows whose value occurs once / non-NULL rows (Glue's Uniqueness), when known."""
        if self.singletons is None or not self.non_null:
            return None
        return self.singletons / self.non_null

    @property
    def unique_value_ratio(self) -> float | None:
        """Deequ's ratio over the histogram: buckets seen once / buckets (NULL is a bucket)."""
        if not self.histogram:
            return None
        return sum(1 for _, n in self.histogram if n == 1) / len(self.histogram)


@dataclass(frozen=True)
class Profile:
    dataset: str
    rows: int
    columns: tuple[ColumnProfile, ...]
    passes: int  # queries run over the data

    def column(self, name: str) -> ColumnProfile:
        return next(c for c in self.columns if c.name == name)


@dataclass(frozen=True)
class Suggestion:
    """One recommended rule, with the Deequ rule that proposed it and the value it saw."""

    rule: str
    column: str | None
    source: str
    observed: str


# ---- profiling --------------------------------------------------------------------------------


def profile(engine: Engine, bound: BoundDataset) -> Profile:
    """Profile every column of a bound dataset in one aggregate query (plus one histogram query)."""
    view = _ident(bound.view)
    kinds = [_kind(t) for _, t in bound.columns]
    exprs: list[str] = ["count(*)"]
    slots: list[dict[str, int]] = []
    for (name, _), kind in zip(bound.columns, kinds, strict=True):
        q = _ident(name)
        wanted = {"non_null": f"count({q})"}
        if kind != "other":
            wanted["approx_distinct"] = f"approx_count_distinct({q})"
        if kind in NUMERIC_KINDS:
            wanted |= {
                "minimum": f"min({q})",
                "maximum": f"max({q})",
                "mean": f"avg({q})::DOUBLE",
                "stddev": f"stddev_pop({q})::DOUBLE",
                "non_negative": f"count(*) FILTER (WHERE {q} >= 0)",
            }
        elif kind in ("date", "timestamp"):
            wanted |= {"minimum": f"min({q})", "maximum": f"max({q})"}
        elif kind == "string":
            wanted |= {"min_length": f"min(length({q}))", "max_length": f"max(length({q}))"}
            for dqdl_type, pattern, cast in CAST_TYPES:
                looks = f"regexp_full_match({q}, '{pattern}')"
                wanted[f"cast:{dqdl_type}"] = (
                    f"count(CASE WHEN {looks} THEN TRY_CAST({q} AS {cast}) END)"
                    if cast
                    else f"count(*) FILTER (WHERE {looks})"
                )
        slot = {}
        for key, sql in wanted.items():
            slot[key] = len(exprs)
            exprs.append(sql)
        slots.append(slot)
    sql = f"SELECT {', '.join(exprs)} FROM {view}"
    row = engine._duck(lambda: engine.con.execute(sql).fetchone())
    passes = 1
    rows = int(row[0])

    columns: list[ColumnProfile] = []
    for (name, dtype), kind, slot in zip(bound.columns, kinds, slots, strict=True):
        got = {k: row[i] for k, i in slot.items() if not k.startswith("cast:")}
        castable = {k[5:]: int(row[i]) for k, i in slot.items() if k.startswith("cast:")}
        for key in ("non_null", "approx_distinct", "non_negative", "min_length", "max_length"):
            if got.get(key) is not None:
                got[key] = int(got[key])
        columns.append(
            ColumnProfile(name=name, type=dtype, kind=kind, rows=rows, castable=castable, **got)
        )

    histogram_cols = [i for i, c in enumerate(columns) if _categorical_candidate(c)]
    unique_cols = [i for i, c in enumerate(columns) if _unique_candidate(c)]
    if histogram_cols or unique_cols:
        found = engine._duck(
            lambda: engine.con.execute(
                _frequency_sql(view, columns, histogram_cols, unique_cols)
            ).fetchall()
        )
        passes += 1
        columns = _with_frequencies(columns, found)
    return Profile(dataset=bound.dataset.name, rows=rows, columns=tuple(columns), passes=passes)


def _kind(duck_type: str) -> Kind:
    t = duck_type.upper()
    if t in _INTEGER_TYPES:
        return "integer"
    if t in ("FLOAT", "DOUBLE", "REAL", "FLOAT4", "FLOAT8"):
        return "fractional"
    if t.startswith("DECIMAL"):
        return "decimal"
    if t == "VARCHAR":
        return "string"
    if t == "DATE":
        return "date"
    if t.startswith("TIMESTAMP"):
        return "timestamp"
    if t == "BOOLEAN":
        return "boolean"
    return "other"


def _categorical_candidate(c: ColumnProfile) -> bool:
    """Deequ keeps histograms for String and Integral columns of low cardinality."""
    if c.kind not in ("string", "integer") or not c.rows or c.approx_distinct is None:
        return False
    buckets = c.approx_distinct + (1 if c.nulls else 0)
    return c.approx_distinct <= CARDINALITY_THRESHOLD and buckets <= CATEGORICAL_MAX_RATIO * c.rows


def _unique_candidate(c: ColumnProfile) -> bool:
    """UniqueIfApproximatelyUniqueRule: complete, and approx distinct / rows within 8% of 1."""
    if c.kind == "other" or not c.rows or c.non_null != c.rows or c.approx_distinct is None:
        return False
    return abs(1.0 - c.approx_distinct / c.rows) <= UNIQUE_TOLERANCE


def _frequency_sql(
    view: str, columns: Sequence[ColumnProfile], histogram: list[int], unique: list[int]
) -> str:
    """One query: a GROUP BY per candidate column on its own type (so values are equal exactly
    when DuckDB, and the evaluator, say they are), joined by UNION ALL. Over a table or a file
    each branch reads only its own column, so together they read the data once.

    Histogram columns return up to CARDINALITY_THRESHOLD values and the NULL bucket, plus one
    more (so an approximate count that was too low is noticed); unique columns their singletons.
    """
    parts = []
    for i in histogram:
        q = _ident(columns[i].name)
        parts.append(
            f"SELECT 'h' AS part, {i} AS col, CAST(oak_v AS VARCHAR) AS v, oak_n AS n FROM "
            f"(SELECT {q} AS oak_v, count(*) AS oak_n FROM {view} GROUP BY ALL "
            f"ORDER BY oak_n DESC, oak_v NULLS LAST LIMIT {CARDINALITY_THRESHOLD + 2})"
        )
    for i in unique:
        q = _ident(columns[i].name)
        parts.append(
            f"SELECT 'u' AS part, {i} AS col, NULL AS v, count(*) FILTER (WHERE oak_n = 1) AS n "
            f"FROM (SELECT count(*) AS oak_n FROM {view} WHERE {q} IS NOT NULL GROUP BY {q})"
        )
    return " UNION ALL ".join(f"({part})" for part in parts)


def _with_frequencies(
    columns: list[ColumnProfile], found: list[tuple[Any, ...]]
) -> list[ColumnProfile]:
    buckets: dict[int, list[tuple[Value, int]]] = {}
    singles: dict[int, int] = {}
    for part, i, value, n in found:
        if part == "u":
            singles[i] = int(n)
            continue
        typed: Value = int(value) if value is not None and columns[i].kind == "integer" else value
        buckets.setdefault(i, []).append((typed, int(n)))
    out = []
    for i, c in enumerate(columns):
        changes: dict[str, Any] = {}
        if i in singles:
            changes["singletons"] = singles[i]
        values = sum(1 for v, _ in buckets.get(i, ()) if v is not None)
        if i in buckets and values <= CARDINALITY_THRESHOLD:
            hist = tuple(sorted(buckets[i], key=_bucket_order))
            changes["histogram"] = hist
            changes["singletons"] = sum(1 for v, n in hist if n == 1 and v is not None)
        out.append(replace(c, **changes) if changes else c)
    return out


def _bucket_order(bucket: tuple[Value, int]) -> tuple[int, int, Any]:
    """By frequency (descending), then value; NULL after values of equal frequency."""
    value, n = bucket
    return (-n, value is None, value if value is not None else 0)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# ---- suggestions ------------------------------------------------------------------------------


def suggest(p: Profile) -> list[Suggestion]:
    """The recommended rules for a profile: the dataset first, then column by column."""
    if not p.rows:
        return [Suggestion("RowCount >= 0", None, "RowCount", "RowCount: 0")]
    low, high = p.rows // 2, 2 * p.rows
    out = [
        Suggestion(f"RowCount between {low} and {high}", None, "RowCount", f"RowCount: {p.rows}")
    ]
    # exact decimal arithmetic for any double (309 integer digits, exponents down to -324)
    with localcontext(Context(prec=800)):
        for c in p.columns:
            out.extend(_column_suggestions(c))
    return out


def _column_suggestions(c: ColumnProfile) -> list[Suggestion]:
    out: list[Suggestion] = []
    col = quote(c.name)
    completeness = c.completeness
    if c.non_null == c.rows:
        out.append(
            Suggestion(f"IsComplete {col}", c.name, "CompleteIfCompleteRule", "Completeness: 1.0")
        )
    elif MIN_COMPLETENESS < completeness < 1:
        bound = max(_floor2(_wald_lower(completeness, c.rows)), Decimal(0))
        out.append(
            Suggestion(
                f"Completeness {col} >= {_num(bound)}",
                c.name,
                "RetainCompletenessRule",
                f"Completeness: {completeness!r}",
            )
        )
    if _unique_candidate(c) and c.uniqueness is not None:
        u = c.uniqueness
        bound = UNIQUENESS_BOUND
        if not u > bound:
            bound = _floor2(u)
            if bound >= Decimal(repr(u)):
                bound -= Decimal("0.01")
        out.append(
            Suggestion(
                f"Uniqueness {col} > {_num(bound)}",
                c.name,
                "UniqueIfApproximatelyUniqueRule",
                f"Uniqueness: {u!r}",
            )
        )
    out.extend(_categorical(c))
    if not c.non_null:
        return out
    if c.kind == "string" and c.max_length is not None and c.min_length is not None:
        out.append(_length(c))
    not_null = (
        f" where {quote('`' + c.name.replace('`', '``') + '` IS NOT NULL')}" if c.nulls else ""
    )
    if c.kind in NUMERIC_KINDS and _finite(c.minimum) and _finite(c.maximum):
        lo, hi = _dec(c.minimum), _dec(c.maximum)
        below = None if c.type.upper().startswith("U") and lo == 0 else _beyond(lo, -1)
        above = _beyond(hi, 1)
        # an inclusive bound is the value itself where the literal is exact for the column
        exact = c.kind != "fractional"
        cond: str | None
        if below is not None and above is not None:
            cond = f"between {_num(below)} and {_num(above)}"
        elif above is not None:  # nothing below the minimum: an unsigned 0, or -max double
            cond = f"<= {_num(hi if exact and abs(hi) < 2**53 else above)}"
        elif below is not None:  # nothing above the maximum double
            cond = f">= {_num(lo if exact and abs(lo) < 2**53 else below)}"
        else:
            cond = None
        if cond is not None:
            out.append(
                Suggestion(
                    f"ColumnValues {col} {cond}{not_null}",
                    c.name,
                    "HasMin/HasMax",
                    f"Minimum: {c.minimum}, Maximum: {c.maximum}",
                )
            )
    if c.kind in NUMERIC_KINDS and c.stddev is not None and math.isfinite(c.stddev):
        sigma = Decimal(repr(c.stddev))
        lo_sd = _outward(_floor2(sigma * Decimal("0.95")), -1)
        hi_sd = max(_outward(_ceil2(sigma * Decimal("1.05")), 1), Decimal("0.01"))
        spread = f"between {_num(lo_sd)} and {_num(hi_sd)}" if lo_sd > 0 else f"< {_num(hi_sd)}"
        out.append(
            Suggestion(
                f"StandardDeviation {col} {spread}",
                c.name,
                "HasStandardDeviation",
                f"StandardDeviation: {c.stddev!r}",
            )
        )
    if c.kind in ("date", "timestamp"):
        rule = _date_range(c, col, not_null)
        if rule is not None:
            out.append(rule)
    return out


def _categorical(c: ColumnProfile) -> list[Suggestion]:
    """CategoricalRangeRule, else FractionalCategoricalRangeRule (never both: the first is
    stronger). NULL is a bucket as in Deequ; when it is in the list the rule names it, so NULL
    rows pass — Completeness is the rule about NULLs."""
    uvr = c.unique_value_ratio
    if c.histogram is None or uvr is None:
        return []
    col = quote(c.name)
    if uvr <= CATEGORICAL_UVR:
        values = _value_list(c.histogram)
        if values is not None:
            return [
                Suggestion(
                    f"ColumnValues {col} in {values}",
                    c.name,
                    "CategoricalRangeRule",
                    f"UniqueValueRatio: {uvr!r}",
                )
            ]
    if uvr > FRACTIONAL_UVR:
        return []
    top: list[tuple[Value, int]] = []
    covered = 0
    for bucket in c.histogram:  # already by frequency, then value
        if covered * TARGET_COVERAGE[1] >= TARGET_COVERAGE[0] * c.rows:
            break
        top.append(bucket)
        covered += bucket[1]
    if covered >= c.rows:  # the top categories are all of them: nothing fractional about it
        return []
    values = _value_list(tuple(top))
    if values is None:
        return []
    coverage = covered / c.rows
    bound = max(_floor2(_wald_lower(coverage, c.rows)), Decimal(0))
    return [
        Suggestion(
            f"ColumnValues {col} in {values} with threshold >= {_num(bound)}",
            c.name,
            "FractionalCategoricalRangeRule",
            f"Compliance: {coverage!r}",
        )
    ]


def _value_list(buckets: tuple[tuple[Value, int], ...]) -> str | None:
    values = [v for v, _ in buckets if v is not None]
    if len(values) > MAX_LIST_VALUES:
        return None
    items = [quote(v) if isinstance(v, str) else str(v) for v in values]
    if len(values) < len(buckets):
        items.append("NULL")
    text = "[" + ",".join(items) + "]"
    return text if len(text) <= MAX_LIST_CHARS else None


def _length(c: ColumnProfile) -> Suggestion:
    """HasMinLength/HasMaxLength as Glue prints them; DQDL counts a NULL as length 0."""
    assert c.min_length is not None and c.max_length is not None
    lo = 0 if c.nulls else c.min_length
    hi = c.max_length
    if lo == hi:
        cond = f"= {hi}"
    elif lo == 0:
        cond = f"<= {hi}"
    else:
        cond = f"between {lo - 1} and {hi + 1}"
    return Suggestion(
        f"ColumnLength {quote(c.name)} {cond}",
        c.name,
        "HasMinLength/HasMaxLength",
        f"MinimumLength: {lo}, MaximumLength: {hi}",
    )


def _date_range(c: ColumnProfile, col: str, not_null: str) -> Suggestion | None:
    """The observed day range, widened by a day each side (``between`` is exclusive); two days
    for TIMESTAMP WITH TIME ZONE, whose calendar day depends on the session's time zone."""
    lo, hi = c.minimum, c.maximum
    if not isinstance(lo, dt.date) or not isinstance(hi, dt.date):
        return None  # ±infinity, or a type the driver did not turn into a date
    margin = dt.timedelta(days=2 if "TIME ZONE" in c.type.upper() else 1)
    try:
        first = _day(lo) - margin
        last = _day(hi) + margin
    except OverflowError:
        return None
    cond = f'between "{first.isoformat()}" and "{last.isoformat()}"'
    return Suggestion(
        f"ColumnValues {col} {cond}{not_null}",
        c.name,
        "HasMin/HasMax",
        f"Minimum: {lo}, Maximum: {hi}",
    )


def _day(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


# ---- numbers ----------------------------------------------------------------------------------


def _wald_lower(p: float, n: int) -> float:
    return p - Z_95 * math.sqrt(p * (1 - p) / n)


def _floor2(x: float | Decimal) -> Decimal:
    d = x if isinstance(x, Decimal) else Decimal(repr(x))
    return d.quantize(Decimal("0.01"), rounding=ROUND_FLOOR)


def _ceil2(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), rounding=ROUND_CEILING)


def _finite(v: Value) -> bool:
    if isinstance(v, float):
        return math.isfinite(v)
    if isinstance(v, Decimal):
        return v.is_finite()
    return isinstance(v, int)


def _dec(v: Value) -> Decimal:
    if isinstance(v, Decimal):
        return v
    if isinstance(v, float):
        return Decimal(repr(v))
    assert isinstance(v, int)
    return Decimal(v)


def _beyond(x: Decimal, step: int) -> Decimal | None:
    """``x ± 1``, written with at most 15 significant digits (rounded outwards).

    Past 2**53 a double cannot tell ``x ± 1`` from ``x``, and a long integer literal is read
    as a big number whose conversion to double need not round correctly: there the margin is a
    billionth of ``x`` instead, far above any conversion error. None past the largest double.
    """
    margin = Decimal(1) if abs(x) < 2**53 else abs(x) * Decimal("1e-9")
    bound = _outward(x + step * margin, step)
    return bound if math.isfinite(float(bound)) else None


def _outward(d: Decimal, step: int, digits: int = 15) -> Decimal:
    """``d`` with at most ``digits`` significant digits, rounded away from the data (up for
    an upper bound, down for a lower one), so a bound stays a short, exact literal."""
    if d.is_zero() or len(d.as_tuple().digits) <= digits:
        return d
    exponent = Decimal(1).scaleb(d.adjusted() - digits + 1)
    return d.quantize(exponent, rounding=ROUND_CEILING if step > 0 else ROUND_FLOOR)


def _num(d: Decimal) -> str:
    """A DQDL number: plain digits (no exponent), no trailing zeros, never ``-0``."""
    text = format(d.normalize(), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


# ---- the ruleset ------------------------------------------------------------------------------


def render(p: Profile, suggestions: Sequence[Suggestion], source: str, today: dt.date) -> str:
    """The ruleset text: a header comment, then one rule per line."""
    header = f"# generated by oaklake on {today.isoformat()} from {source}, {_rows(p.rows)}"
    lines = [_one_line(header)]
    if not p.rows:
        lines.append("# no rows to learn from: profile again once the dataset has data")
    body = ",\n".join(f"    {s.rule}" for s in suggestions)
    return "\n".join([*lines, "Rules = [", body, "]"]) + "\n"


def recommend(engine: Engine, dataset: Dataset, *, today: dt.date | None = None) -> str:
    """Profile ``dataset`` and return the DQDL ruleset Glue would recommend for it.

    The text parses (checked here) and passes on the data it was learnt from.
    """
    from oaklake.quality.dataset import bind
    from oaklake.quality.parse import parse_ruleset

    with bind(engine, dataset) as bound:
        prof = profile(engine, bound)
    text = render(prof, suggest(prof), describe(dataset), today or dt.datetime.now(dt.UTC).date())
    parse_ruleset(text)
    return text


def describe(dataset: Dataset) -> str:
    if dataset.kind == "table":
        at = f" at snapshot {dataset.snapshot_id}" if dataset.snapshot_id else ""
        return f"table {dataset.table}{at}"
    if dataset.kind == "file":
        return f"file {dataset.path}"
    return f"query {dataset.name}"


def _rows(n: int) -> str:
    return "1 row" if n == 1 else f"{n} rows"


def _one_line(text: str) -> str:
    return re.sub(r"\s*[\r\n]+\s*", " ", text)
