"""DQDL rules → SQL over one table, in as few scans as the rules allow.

A :class:`Plan` holds what the rules need, deduplicated: one aggregate ``SELECT`` over the table
for every simple metric (``count(*)``, ``count(col)``, ``avg``, ``stddev_pop``, ``corr``, lengths,
and per-row compliance as ``count(*) FILTER (WHERE …)``), one ``GROUP BY`` per distinct column set
for the frequency metrics (uniqueness, distinct counts, entropy; a rule's ``where`` becomes a
filtered count inside that one scan), and a separate query only where a rule has to join or run
its own SQL (reference datasets, CustomSql). Each compiled rule is a :class:`Measure`: the aliases
it reads, a ``finish`` function that turns their values into Glue's metrics, and its per-row
outcome as SQL for row-level results. SQL is written for DuckDB and rendered for Spark and Trino
with sqlglot (:func:`render`), the path to running the same rules at scale.

Nothing here touches an engine: the evaluator runs the plan. Per-row conditions follow the NULL
rules of docs/dqdl.md: a NULL fails every positive check and passes ``!=`` / ``not in`` unless
NULL is listed; ColumnLength reads NULL as length 0; DataFreshness fails NULLs; ``matches`` is a
whole-string match; ``between`` is exclusive.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import sqlglot
from sqlglot import exp

from oaklake.errors import did_you_mean
from oaklake.quality.ast import (
    Analyzer,
    Between,
    Compare,
    Composite,
    Condition,
    Date,
    InList,
    Keyword,
    Matches,
    Now,
    Number,
    Operand,
    Rule,
    Ruleset,
    String,
    Time,
)
from oaklake.quality.operands import OperandError, java_double, scalar

Dialect = Literal["duckdb", "spark", "trino"]
Mode = Literal["metric", "rows", "verdict", "anomaly"]
Values = Mapping[str, Any]

NO_ROWS = "No rows matched the filter"
NULL_VALUE = "Value: NULL does not meet the constraint requirement!"

# ---- SQL text -------------------------------------------------------------------------------


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def text_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def timestamp_literal(value: dt.datetime) -> str:
    return f"TIMESTAMP '{value.strftime('%Y-%m-%d %H:%M:%S.%f')}'"


_INTEGERS = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
}
TypeClass = Literal["numeric", "string", "temporal", "boolean", "other"]


def type_class(duck_type: str) -> TypeClass:
    t = duck_type.upper()
    if t in _INTEGERS or t in ("FLOAT", "DOUBLE", "REAL") or t.startswith("DECIMAL"):
        return "numeric"
    if t.startswith("VARCHAR") or t in ("TEXT", "STRING"):
        return "string"
    if t.startswith("TIMESTAMP") or t in ("DATE", "TIME", "TIME WITH TIME ZONE"):
        return "temporal"
    if t == "BOOLEAN":
        return "boolean"
    return "other"


def count_filter(predicate: str | None, where: str | None = None) -> str:
    parts = [p for p in (where, predicate) if p]
    if not parts:
        return "count(*)"
    if len(parts) == 1:
        return f"count(*) FILTER (WHERE {parts[0]})"
    return "count(*) FILTER (WHERE " + " AND ".join(f"({p})" for p in parts) + ")"


def filtered(aggregate: str, where: str | None) -> str:
    return f"{aggregate} FILTER (WHERE {where})" if where else aggregate


# ---- Spark SQL in rules (where, CustomSql) -------------------------------------------------


class RuleError(Exception):
    """A rule that cannot run as written (missing column, bad where …): its outcome is Error."""


def _spark_to_duckdb(tree: exp.Expr) -> str:
    """Spark divides as floating point; our DuckDB session divides integers as integers."""
    for div in list(tree.find_all(exp.Div)):
        if not div.args.get("typed"):
            numerator = div.this
            div.set("this", exp.cast(numerator.copy(), exp.DataType.build("DOUBLE")))
    return tree.sql("duckdb")


def transpile_where(where: str) -> str:
    """A ``where "…"`` predicate (Spark SQL) as DuckDB SQL; RuleError when it is not one."""
    try:
        trees = sqlglot.parse(where, read="spark")
    except sqlglot.errors.SqlglotError as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise RuleError(f"The where clause is not valid SQL: {first}") from None
    if len(trees) != 1 or trees[0] is None:
        raise RuleError("The where clause must be one condition")
    tree = trees[0]
    if isinstance(tree, exp.Query | exp.Alias | exp.Command | exp.DDL | exp.DML):
        raise RuleError(f"The where clause must be a condition, not {where!r}")
    return _spark_to_duckdb(tree)


def transpile_query(sql: str, tables: Mapping[str, str]) -> tuple[str, exp.Query]:
    """A CustomSql statement (Spark SQL naming the dataset ``primary``) as DuckDB SQL over views.

    ``tables`` maps the names a statement may use (``primary``, reference aliases) to views.
    """
    try:
        trees = sqlglot.parse(sql, read="spark")
    except sqlglot.errors.SqlglotError as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise RuleError(f"The SQL statement is not valid: {first}") from None
    if len(trees) != 1 or not isinstance(trees[0], exp.Query):
        raise RuleError("CustomSql runs one SELECT statement")
    tree = trees[0]
    lowered = {k.lower(): v for k, v in tables.items()}
    for table in list(tree.find_all(exp.Table)):
        if table.args.get("db") or table.args.get("catalog"):
            continue
        view = lowered.get(table.name.lower())
        if view is None:
            continue
        alias = table.alias or table.name
        table.replace(
            exp.to_table(ident(view), dialect="duckdb").as_(exp.to_identifier(alias, quoted=True))
        )
    return _spark_to_duckdb(tree), tree


# ---- rendering for other engines -----------------------------------------------------------


def _for_dialect(node: exp.Expression, dialect: Dialect) -> exp.Expression:
    if dialect == "duckdb":
        return node
    if isinstance(node, exp.RegexpFullMatch):
        pattern = node.expression
        if isinstance(pattern, exp.Literal) and pattern.is_string:
            pattern = exp.Literal.string(f"^(?:{pattern.this})$")
        return exp.RegexpLike(this=node.this, expression=pattern)
    if isinstance(node, exp.PercentileCont) and node.expression is not None:
        name = "PERCENTILE" if dialect == "spark" else "APPROX_PERCENTILE"
        return exp.Anonymous(this=name, expressions=[node.this, node.expression])
    if isinstance(node, exp.Anonymous):
        name = str(node.this).upper()
        if name == "KURTOSIS_POP":
            return exp.Anonymous(this="KURTOSIS", expressions=node.expressions)
        if name == "TRY_STRPTIME" and len(node.expressions) == 2:
            fmt = node.expressions[1]
            java = _strftime_to_java(fmt.this) if isinstance(fmt, exp.Literal) else None
            if java is not None:
                fn = "TRY_TO_TIMESTAMP" if dialect == "spark" else "TRY"
                if dialect == "spark":
                    return exp.Anonymous(
                        this=fn, expressions=[node.expressions[0], exp.Literal.string(java)]
                    )
                parse = exp.Anonymous(
                    this="PARSE_DATETIME",
                    expressions=[node.expressions[0], exp.Literal.string(java)],
                )
                return exp.Anonymous(this="TRY", expressions=[parse])
    return node


def render(sql: str, dialect: Dialect = "duckdb") -> str:
    """DuckDB SQL from this module as ``dialect`` SQL (regex, quantile and date parsing mapped)."""
    if dialect == "duckdb":
        return sql
    tree = sqlglot.parse_one(sql, read="duckdb")
    tree = tree.transform(lambda node: _for_dialect(node, dialect))
    return tree.sql(dialect, pretty=True)


_JAVA_DATE = {"yyyy": "%Y", "MM": "%m", "dd": "%d"}
DATE_FORMATS = (
    "dd-MM-yyyy",
    "MM-dd-yyyy",
    "yyyy-MM-dd",
    "dd/MM/yyyy",
    "MM/dd/yyyy",
    "yyyy/MM/dd",
    "MM-yyyy",
    "dd-MM",
    "MM-dd",
    "yyyy-MM",
    "MM/yyyy",
    "dd/MM",
    "MM/dd",
    "yyyy/MM",
)


def java_to_strftime(fmt: str) -> str:
    return re.sub(r"yyyy|MM|dd", lambda m: _JAVA_DATE[m.group(0)], fmt)


def _strftime_to_java(fmt: str) -> str | None:
    back = {v: k for k, v in _JAVA_DATE.items()}
    if re.search(r"%[^Ymd]", fmt):
        return None
    return re.sub(r"%[Ymd]", lambda m: back[m.group(0)], fmt)


# ---- what a compiled rule is ---------------------------------------------------------------


@dataclass
class Measured:
    """A rule's numbers after the scans: Glue's metrics and what its condition is checked against.

    ``value`` is the metric a metric rule's condition (or a row rule's threshold: the share of
    passing rows) is checked against; ``verdict`` is set when the outcome is already decided
    (boolean rules, row rules without a threshold, nothing to check); ``reason`` goes with it.
    """

    metrics: dict[str, float] = field(default_factory=dict)
    value: float | None = None
    verdict: bool | None = None
    reason: str | None = None
    error: str | None = None


@dataclass
class Measure:
    """One compiled leaf rule (or analyzer).

    ``mode``: ``metric`` — the evaluator checks the condition on ``value``; ``rows`` — the
    condition was applied per row, the threshold (if any) applies to ``value``; ``verdict`` —
    decided here; ``anomaly`` — DetectAnomalies over the metrics. ``row_sql`` is the per-row
    outcome (TRUE pass, FALSE fail, NULL not considered); ``row_complex`` marks one that needs a
    window or a subquery, so it cannot sit inside an aggregate FILTER.
    """

    rule: Rule
    mode: Mode
    finish: Callable[[Values], Measured]
    reads: tuple[str, ...] = ()
    row_sql: str | None = None
    row_complex: bool = False
    checks: tuple[str, ...] = ()
    regexes: tuple[str, ...] = ()
    error: str | None = None


def error_measure(rule: Rule, message: str) -> Measure:
    return Measure(rule, "verdict", lambda _: Measured(error=message), error=message)


# ---- the plan ------------------------------------------------------------------------------

_STATS = ("rows", "distinct", "unique", "plogp", "nullgroups", "dups")


@dataclass
class GroupScan:
    """One ``GROUP BY`` over a column set; each distinct ``where`` is a filtered count in it."""

    index: int
    columns: tuple[str, ...]
    variants: dict[str | None, int] = field(default_factory=dict)
    stats: dict[tuple[int, str], str] = field(default_factory=dict)

    def stat(self, where: str | None, name: str) -> str:
        k = self.variants.setdefault(where, len(self.variants))
        return self.stats.setdefault((k, name), f"g{self.index}_{name}{k}")

    def sql(self, table: str) -> str:
        cols = ", ".join(ident(c) for c in self.columns)
        nn = " OR ".join(f"{ident(c)} IS NOT NULL" for c in self.columns)
        counts = [f"{count_filter(None, w)} AS n{k}" for w, k in self.variants.items()]
        outer = []
        for (k, name), alias in self.stats.items():
            n = f"n{k}"
            expr = {
                "rows": f"sum({n}) FILTER (WHERE nn)",
                "distinct": f"count(*) FILTER (WHERE nn AND {n} > 0)",
                "unique": f"count(*) FILTER (WHERE nn AND {n} = 1)",
                "plogp": f"sum({n} * ln({n})) FILTER (WHERE nn AND {n} > 0)",
                "nullgroups": f"count(*) FILTER (WHERE NOT nn AND {n} > 0)",
                "dups": f"sum({n}) FILTER (WHERE nn AND {n} > 1)",
            }[name]
            outer.append(f"  {expr} AS {alias}")
        return (
            "SELECT\n" + ",\n".join(outer) + "\nFROM (\n"
            f"  SELECT ({nn}) AS nn, " + ", ".join(counts) + "\n"
            f"  FROM {ident(table)}\n  GROUP BY {cols}\n) AS freq"
        )


@dataclass
class Plan:
    """Every query a ruleset needs over ``table``, and the compiled rules that read them."""

    table: str
    aggregates: dict[str, str] = field(default_factory=dict)  # expression -> alias
    groups: dict[tuple[str, ...], GroupScan] = field(default_factory=dict)
    extras: dict[str, str] = field(default_factory=dict)  # alias -> a query of its own
    measures: list[Measure] = field(default_factory=list)
    rows_alias: str = ""

    def agg(self, expression: str) -> str:
        return self.aggregates.setdefault(expression, f"m{len(self.aggregates)}")

    def group(self, columns: Sequence[str]) -> GroupScan:
        key = tuple(sorted(set(columns)))
        if key not in self.groups:
            self.groups[key] = GroupScan(len(self.groups), key)
        return self.groups[key]

    def separate(self, sql: str) -> str:
        for alias, existing in self.extras.items():
            if existing == sql:
                return alias
        alias = f"x{len(self.extras)}"
        self.extras[alias] = sql
        return alias

    def aggregate_sql(self, aliases: Sequence[str] | None = None) -> str:
        wanted = None if aliases is None else set(aliases)
        items = [
            f"  {expr} AS {alias}"
            for expr, alias in self.aggregates.items()
            if wanted is None or alias in wanted
        ]
        return "SELECT\n" + ",\n".join(items) + f"\nFROM {ident(self.table)}"

    def statements(self, dialect: Dialect = "duckdb") -> list[str]:
        """The SQL the plan runs: the aggregate scan, one per column set, then the others."""
        out = [self.aggregate_sql()] if self.aggregates else []
        out += [g.sql(self.table) for g in self.groups.values() if g.stats]
        out += list(self.extras.values())
        return [render(s, dialect) for s in out]


# ---- reading values back -------------------------------------------------------------------


def as_float(value: Any) -> float | None:
    if value is None:
        return None
    return float(value)


def as_int(value: Any) -> int:
    return 0 if value is None else int(value)


def ratio(part: float, whole: float) -> float | None:
    return None if whole == 0 else part / whole


def value_reason(value: float | None) -> str:
    if value is None:
        return NULL_VALUE
    return f"Value: {java_double(value)} does not meet the constraint requirement!"


def percent_reason(ratio: float, what: str = "rows") -> str:
    return f"{ratio * 100:.2f} % of {what} passed the threshold"


# ---- the compiler --------------------------------------------------------------------------


@dataclass(frozen=True)
class RefInfo:
    """A reference dataset as the compiler sees it: a table (view) name and its columns."""

    view: str
    columns: tuple[tuple[str, str], ...]
    error: str | None = None  # it could not be read (the reason)


_FILE_RULES = ("FileFreshness", "FileMatch", "FileSize", "FileUniqueness")


class Compiler:
    """Compiles leaf rules into a :class:`Plan`; one instance per evaluation."""

    def __init__(
        self,
        plan: Plan,
        columns: Sequence[tuple[str, str]],
        *,
        now: dt.datetime,
        refs: Mapping[str, RefInfo] | None = None,
        files: Sequence[Any] | None = None,
    ) -> None:
        self.plan = plan
        self.columns = {name: dtype for name, dtype in columns}
        self.names = [name for name, _ in columns]
        self.now = naive_utc(now)
        self.refs = dict(refs or {})
        self.files = files
        plan.rows_alias = plan.agg("count(*)")

    # -- columns --

    def column(self, name: str) -> str:
        """The dataset's spelling of a column (exact, else the one case-insensitive match)."""
        if name in self.columns:
            return name
        folded = [c for c in self.names if c.lower() == name.lower()]
        if len(folded) == 1:
            return folded[0]
        hint = did_you_mean(name, self.names)
        raise RuleError(f"Column '{name}' does not exist" + (f"; {hint}" if hint else ""))

    def ctype(self, column: str) -> str:
        return self.columns[column]

    def numeric(self, name: str, rule: Rule) -> str:
        col = self.column(name)
        if type_class(self.ctype(col)) != "numeric":
            raise RuleError(
                f"{rule.rule_type} needs a numeric column; '{name}' is {self.ctype(col)}"
            )
        return col

    def where(self, rule: Rule) -> str | None:
        return transpile_where(rule.where) if rule.where else None

    # -- entry --

    def leaf(self, rule: Rule) -> Measure:
        from oaklake.quality.files import compile_file_rule
        from oaklake.quality.metrics import METRICS
        from oaklake.quality.references import REFERENCES

        try:
            if rule.rule_type in _FILE_RULES:
                return compile_file_rule(rule, self.files, self.now)
            compiler = METRICS.get(rule.rule_type) or REFERENCES.get(rule.rule_type)
            if compiler is None:
                raise RuleError(f"{rule.rule_type} is not supported")
            return compiler(self, rule)
        except (RuleError, OperandError) as e:
            return error_measure(rule, str(e))

    def analyzer(self, analyzer: Analyzer) -> Measure:
        return self.leaf(
            Rule(analyzer.type, analyzer.params, where=analyzer.where, text=analyzer.text)
        )

    # -- helpers shared by the metric rules --

    def metric(
        self,
        rule: Rule,
        key: str,
        expression: str,
        where: str | None,
        *,
        extra: Sequence[str] = (),
        combine: Callable[[float, list[Any]], float | None] | None = None,
    ) -> Measure:
        """A single aggregate metric; NULL when it has no value (no rows, all NULL).

        ``extra`` aggregates are passed with the raw value to ``combine`` to finish the metric.
        """
        alias = self.plan.agg(filtered(expression, where))
        count = self.plan.agg(count_filter(None, where))
        more = [self.plan.agg(filtered(e, where)) for e in extra]

        def finish(values: Values) -> Measured:
            raw = as_float(values[alias])
            if raw is not None and combine is not None:
                raw = combine(raw, [values[m] for m in more])
            return metric_result(key, raw, where, as_int(values[count]))

        checks = (where,) if where else ()
        return Measure(rule, "metric", finish, (alias, count, *more), checks=checks)

    def frequency(
        self, rule: Rule, cols: Sequence[str], where: str | None, stats: Sequence[str]
    ) -> tuple[GroupScan, dict[str, str]]:
        scan = self.plan.group(cols)
        return scan, {s: scan.stat(where, s) for s in stats}

    def rows(
        self,
        rule: Rule,
        key: str,
        predicate: str,
        column: str | None,
        where: str | None,
        *,
        null_pass: bool = False,
        extra_metrics: Mapping[str, str] | None = None,
        reason: Callable[[Values], str | None] | None = None,
        regexes: Sequence[str] = (),
    ) -> Measure:
        """A rule checked row by row: the share of considered rows that pass.

        With ``column``, a failure caused only by NULLs says so; whether a NULL passes is known
        from the condition (``null_pass``), so the predicate is evaluated once per row.
        """
        considered = self.plan.agg(count_filter(None, where))
        passed = self.plan.agg(count_filter(predicate, where))
        present = (
            self.plan.agg(filtered(f"count({ident(column)})", where))
            if column is not None
            else None
        )
        extra = {k: self.plan.agg(filtered(e, where)) for k, e in (extra_metrics or {}).items()}

        def finish(values: Values) -> Measured:
            n = as_int(values[considered])
            metrics = {k: float(values[a]) for k, a in extra.items() if values[a] is not None}
            if n == 0:
                # AWS's executor passes a per-row rule with no rows to check, and says so.
                return Measured(metrics, verdict=True, reason=NO_ROWS)
            ok = as_int(values[passed])
            ratio = ok / n
            metrics[key] = ratio
            if ratio == 1.0:
                return Measured(metrics, value=ratio, verdict=True)
            why = reason(values) if reason is not None else None
            if why is None:
                nulls = n - as_int(values[present]) if present is not None else 0
                failed_nonnull = n - ok - (0 if null_pass else nulls)
                only_nulls = present is not None and failed_nonnull == 0
                why = NULL_VALUE if only_nulls else percent_reason(ratio)
            return Measured(metrics, value=ratio, verdict=False, reason=why)

        reads = (considered, passed, *extra.values()) + ((present,) if present else ())
        checks = tuple(c for c in (where, predicate) if c)
        return Measure(
            rule,
            "rows",
            finish,
            reads,
            row_sql=row_outcome(predicate, where),
            checks=checks,
            regexes=tuple(regexes),
        )

    # -- reference datasets --

    def tables(self) -> dict[str, str]:
        return {
            "primary": self.plan.table,
            **{a: r.view for a, r in self.refs.items() if not r.error},
        }

    def ref(self, alias: str) -> RefInfo:
        found = self.refs.get(alias)
        if found is None:
            folded = [a for a in self.refs if a.lower() == alias.lower()]
            found = self.refs[folded[0]] if len(folded) == 1 else None
        if found is not None:
            if found.error:
                raise RuleError(found.error)
            return found
        hint = did_you_mean(alias, self.refs)
        raise RuleError(
            f"Reference dataset '{alias}' was not given"
            + (f"; {hint}" if hint else "; pass it in refs (e.g. refs={'" + alias + "': …})")
        )

    def ref_column(self, ref: RefInfo, alias: str, name: str) -> str:
        names = [c for c, _ in ref.columns]
        if name in names:
            return name
        folded = [c for c in names if c.lower() == name.lower()]
        if len(folded) == 1:
            return folded[0]
        hint = did_you_mean(name, names)
        raise RuleError(
            f"Column '{name}' does not exist in reference dataset '{alias}'"
            + (f"; {hint}" if hint else "")
        )


# ---- per-row conditions --------------------------------------------------------------------


def number_sql(operand: Operand) -> str:
    if isinstance(operand, Number):
        return operand.text
    value = scalar(operand)
    if math.isnan(value) or math.isinf(value):
        raise RuleError(f"{value} cannot be compared")
    return repr(value)


def text_sql(operand: Operand) -> str:
    if isinstance(operand, String):
        return text_literal(operand.value)
    if isinstance(operand, Date | Time):
        return text_literal(operand.text)
    if isinstance(operand, Number):
        return text_literal(operand.text)
    raise RuleError(f"cannot compare text with {operand}")


def moment_of(operand: Operand, now: dt.datetime) -> dt.datetime:
    """A date/time operand as a (naive UTC) moment: dates at midnight, times today."""
    if isinstance(operand, Date):
        return dt.datetime.combine(operand.value, dt.time())
    if isinstance(operand, Time):
        return dt.datetime.combine(now.date(), operand.value)
    if isinstance(operand, Now):
        if operand.unit is None:
            return now
        return now + dt.timedelta(**{operand.unit: operand.offset_amount})
    raise RuleError(f"not a date or time: {operand}")


def _keyword_sql(name: str, value: str, isnull: str) -> str:
    if name == "NULL":
        return isnull
    if name == "EMPTY":
        return f"{value} = ''"
    return f"regexp_full_match({value}, '\\s+')"  # WHITESPACES_ONLY: non-empty, all blank


def condition_sql(
    condition: Condition,
    value: str,
    isnull: str,
    lit: Callable[[Operand], str],
    *,
    null_passes: bool = True,
) -> str:
    """A per-row condition as SQL that is never NULL (docs/dqdl.md's NULL rules).

    ``value`` is the column as compared; ``isnull`` tests the raw column; ``null_passes`` says
    whether a NULL passes ``!=`` and ``not in`` (it does, except for DataFreshness).
    """
    neg_default = "true" if null_passes else "false"
    if isinstance(condition, Compare):
        operand = condition.operand
        if isinstance(operand, Keyword):
            test = _keyword_sql(operand.name, value, isnull)
            if operand.name == "NULL":
                return test if condition.op == "=" else f"NOT ({test})"
            if condition.op == "=":
                return f"coalesce({test}, false)"
            return f"coalesce(NOT ({test}), {neg_default})"
        default = neg_default if condition.op == "!=" else "false"
        return f"coalesce({value} {condition.op} {lit(operand)}, {default})"
    if isinstance(condition, Between):
        low, high = lit(condition.low), lit(condition.high)
        if condition.negated:
            return f"coalesce({value} <= {low} OR {value} >= {high}, false)"
        return f"coalesce({value} > {low} AND {value} < {high}, false)"
    if isinstance(condition, Matches):
        test = f"regexp_full_match({value}, {text_literal(condition.pattern)})"
        return f"coalesce(NOT {test}, false)" if condition.negated else f"coalesce({test}, false)"
    plain = [v for v in condition.values if not isinstance(v, Keyword)]
    keywords = [v.name for v in condition.values if isinstance(v, Keyword)]
    parts: list[str] = []
    if condition.negated:
        if plain:
            items = ", ".join(lit(v) for v in plain)
            parts.append(f"coalesce({value} NOT IN ({items}), {neg_default})")
        for name in keywords:
            test = _keyword_sql(name, value, isnull)
            parts.append(
                f"NOT ({test})" if name == "NULL" else f"coalesce(NOT ({test}), {neg_default})"
            )
        return " AND ".join(parts) if parts else "true"
    if plain:
        parts.append(f"coalesce({value} IN ({', '.join(lit(v) for v in plain)}), false)")
    for name in keywords:
        test = _keyword_sql(name, value, isnull)
        parts.append(test if name == "NULL" else f"coalesce({test}, false)")
    return "(" + " OR ".join(parts) + ")" if parts else "false"


def null_passes(condition: Condition) -> bool:
    """Whether a NULL value passes a per-row condition (docs/dqdl.md §NULL rules)."""
    if isinstance(condition, Compare):
        operand = condition.operand
        if isinstance(operand, Keyword) and operand.name == "NULL":
            return condition.op == "="
        return condition.op == "!="
    if isinstance(condition, InList):
        listed = any(isinstance(v, Keyword) and v.name == "NULL" for v in condition.values)
        return listed != condition.negated
    return False


def row_outcome(predicate: str, where: str | None) -> str:
    return f"CASE WHEN {where} THEN {predicate} END" if where else predicate


def unique_count(cols: Sequence[str], where: str | None) -> str:
    partition = ", ".join(ident(c) for c in cols)
    return f"({count_filter(None, where)} OVER (PARTITION BY {partition}))"


def unique_row(cols: Sequence[str], where: str | None) -> str:
    nn = " OR ".join(f"{ident(c)} IS NOT NULL" for c in cols)
    test = f"CASE WHEN {nn} THEN {unique_count(cols, where)} = 1 END"
    return row_outcome(test, where)


# ---- small pieces --------------------------------------------------------------------------


def naive_utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def multi_key(params: Sequence[str], name: str) -> str:
    if len(params) == 1:
        return f"Column.{params[0]}.{name}"
    return f"Multicolumn.{','.join(params)}.{name}"


def metric_result(key: str, value: float | None, where: str | None, rows: int) -> Measured:
    """A metric that may have no value: no rows after the filter passes, as AWS's executor does."""
    if value is None or math.isnan(value):
        if where and rows == 0:
            return Measured(verdict=True, reason=NO_ROWS)
        return Measured({} if value is None else {key: value}, value=value)
    return Measured({key: value}, value=value)


def as_verdict(measure: Measure, *, equals: float) -> Measure:
    inner = measure.finish

    def finish(values: Values) -> Measured:
        out = inner(values)
        if out.verdict is not None or out.error:
            return out
        ok = out.value == equals
        return Measured(
            out.metrics, out.value, verdict=ok, reason=None if ok else value_reason(out.value)
        )

    return replace(measure, mode="verdict", finish=finish)


# ---- public entry points -------------------------------------------------------------------


def leaves(node: Rule | Composite) -> list[Rule]:
    if isinstance(node, Rule):
        return [node]
    return [leaf for operand in node.operands for leaf in leaves(operand)]


def compile_plan(
    ruleset: Ruleset,
    columns: Sequence[tuple[str, str]],
    *,
    table: str = "primary",
    now: dt.datetime | None = None,
    refs: Mapping[str, RefInfo] | None = None,
    files: Sequence[Any] | None = None,
    errors: Mapping[str, str] | None = None,
) -> tuple[Plan, dict[int, Measure], list[Measure]]:
    """Compile every rule and analyzer of a ruleset.

    Returns the plan, the measure of each leaf rule (by ``id`` of the Rule node) and the
    analyzers' measures in order. ``errors`` (rule text → reason) marks rules found not to bind.
    """
    plan = Plan(table)
    compiler = Compiler(plan, columns, now=now or dt.datetime.now(dt.UTC), refs=refs, files=files)
    errors = errors or {}
    by_rule: dict[int, Measure] = {}
    for node in ruleset.rules:
        for leaf in leaves(node):
            if id(leaf) in by_rule:
                continue
            if leaf.text in errors:
                measure = error_measure(leaf, errors[leaf.text])
            else:
                measure = compiler.leaf(leaf)
            plan.measures.append(measure)
            by_rule[id(leaf)] = measure
    analyzers = []
    for analyzer in ruleset.analyzers:
        if analyzer.text in errors:
            measure = error_measure(
                Rule(analyzer.type, analyzer.params, text=analyzer.text), errors[analyzer.text]
            )
        else:
            measure = compiler.analyzer(analyzer)
        plan.measures.append(measure)
        analyzers.append(measure)
    return plan, by_rule, analyzers


def compile_sql(
    ruleset: Ruleset,
    columns: Sequence[tuple[str, str]],
    dialect: Dialect = "duckdb",
    *,
    table: str = "primary",
    now: dt.datetime | None = None,
    refs: Mapping[str, Sequence[tuple[str, str]]] | None = None,
) -> list[str]:
    """The SQL a ruleset compiles to over ``table`` with these ``(name, type)`` columns.

    First the one aggregate scan, then one ``GROUP BY`` per column set, then the queries of
    rules that need their own (CustomSql, reference datasets). Rules that cannot compile (a
    missing column, say) are left out, as the evaluator would report them as errors.
    """
    ref_info = {a: RefInfo(a, tuple(cols)) for a, cols in (refs or {}).items()}
    plan, _, _ = compile_plan(ruleset, columns, table=table, now=now, refs=ref_info)
    return plan.statements(dialect)


__all__ = [
    "Compiler",
    "Measure",
    "Measured",
    "Plan",
    "RefInfo",
    "RuleError",
    "compile_plan",
    "compile_sql",
    "condition_sql",
    "render",
    "transpile_where",
]
