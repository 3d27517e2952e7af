"""How each table-scan rule type compiles: the SQL it adds to the plan and how it reads it back.

One function per rule type, registered in ``METRICS``: dataset shape (RowCount, ColumnCount …),
completeness and the frequency metrics (one ``GROUP BY`` per column set, see compile.GroupScan),
the statistics (Mean, StandardDeviation, Deequ's extras) and the rules checked row by row
(ColumnValues, ColumnLength, DataFreshness, ColumnDataType), then AllStatistics and
DetectAnomalies, which reuse the others. Metric keys are Glue's (``Column.<c>.Completeness``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import replace

from oaklake.errors import did_you_mean
from oaklake.quality.ast import (
    Between,
    Compare,
    CompareOp,
    Condition,
    Date,
    Duration,
    InList,
    Keyword,
    Matches,
    Operand,
    Rule,
    String,
    condition_kind,
    condition_operands,
)
from oaklake.quality.compile import (
    DATE_FORMATS,
    Compiler,
    Measure,
    Measured,
    RuleError,
    Values,
    as_float,
    as_int,
    as_verdict,
    condition_sql,
    count_filter,
    filtered,
    ident,
    java_to_strftime,
    metric_result,
    moment_of,
    multi_key,
    null_passes,
    number_sql,
    ratio,
    row_outcome,
    text_literal,
    text_sql,
    timestamp_literal,
    type_class,
    unique_count,
    unique_row,
    value_reason,
)
from oaklake.quality.operands import OperandError, check, scalar


def row_count(c: Compiler, rule: Rule) -> Measure:
    where = c.where(rule)
    alias = c.plan.agg(count_filter(None, where))

    def finish(values: Values) -> Measured:
        n = float(as_int(values[alias]))
        return Measured({"Dataset.*.RowCount": n}, value=n)

    return Measure(rule, "metric", finish, (alias,), checks=(where,) if where else ())


def column_count(c: Compiler, rule: Rule) -> Measure:
    n = float(len(c.names))
    return Measure(rule, "metric", lambda _: Measured({"Dataset.*.ColumnCount": n}, value=n))


def column_exists(c: Compiler, rule: Rule) -> Measure:
    name = rule.params[0]
    try:
        c.column(name)
        found, reason = True, None
    except RuleError as e:
        found, reason = False, str(e)
    key = f"Dataset.{name}.ColumnExists"
    result = Measured({key: 1.0 if found else 0.0}, verdict=found, reason=reason)
    return Measure(rule, "verdict", lambda _: result)


def column_names_match_pattern(c: Compiler, rule: Rule) -> Measure:
    try:
        pattern = re.compile(rule.params[0])
    except re.error as e:
        raise RuleError(f"Invalid regex pattern '{rule.params[0]}': {e}") from None
    offenders = [n for n in c.names if not pattern.fullmatch(n)]
    ratio = (len(c.names) - len(offenders)) / len(c.names) if c.names else 1.0
    reason = "Columns that do not match the pattern: " + ", ".join(offenders) if offenders else None
    result = Measured(
        {"Dataset.*.ColumnNamesPatternMatchRatio": ratio}, verdict=not offenders, reason=reason
    )
    return Measure(rule, "verdict", lambda _: result)


def completeness(c: Compiler, rule: Rule) -> Measure:
    col = c.column(rule.params[0])
    where = c.where(rule)
    total = c.plan.agg(count_filter(None, where))
    present = c.plan.agg(filtered(f"count({ident(col)})", where))
    key = f"Column.{rule.params[0]}.Completeness"

    def finish(values: Values) -> Measured:
        n = as_int(values[total])
        return metric_result(key, ratio(as_int(values[present]), n), where, n)

    row = row_outcome(f"{ident(col)} IS NOT NULL", where)
    return Measure(
        rule, "metric", finish, (total, present), row_sql=row, checks=(where,) if where else ()
    )


def is_complete(c: Compiler, rule: Rule) -> Measure:
    return as_verdict(completeness(c, rule), equals=1.0)


def uniqueness(c: Compiler, rule: Rule) -> Measure:
    cols = [c.column(p) for p in rule.params]
    where = c.where(rule)
    _, s = c.frequency(rule, cols, where, ("rows", "unique"))
    key = multi_key(rule.params, "Uniqueness")

    def finish(values: Values) -> Measured:
        n = as_int(values[s["rows"]])
        return metric_result(key, ratio(as_int(values[s["unique"]]), n), where, n)

    row = unique_row(cols, where)
    return Measure(
        rule,
        "metric",
        finish,
        tuple(s.values()),
        row_sql=row,
        row_complex=True,
        checks=(where,) if where else (),
    )


def is_unique(c: Compiler, rule: Rule) -> Measure:
    return as_verdict(uniqueness(c, rule), equals=1.0)


def is_primary_key(c: Compiler, rule: Rule) -> Measure:
    parts = [completeness(c, replace(rule, params=(p,))) for p in rule.params]
    unique = uniqueness(c, rule)

    def finish(values: Values) -> Measured:
        results = [m.finish(values) for m in (*parts, unique)]
        metrics: dict[str, float] = {}
        reasons = []
        verdict = True
        for r in results:
            metrics.update(r.metrics)
            if r.verdict is not None:  # nothing to check (no rows matched the filter)
                continue
            if r.value != 1.0:
                verdict = False
                reasons.append(value_reason(r.value))
        if all(r.verdict is not None for r in results):
            return Measured(metrics, verdict=True, reason=results[0].reason)
        return Measured(metrics, verdict=verdict, reason="\n".join(reasons) or None)

    cols = [c.column(p) for p in rule.params]
    where = c.where(rule)
    complete = " AND ".join(f"{ident(col)} IS NOT NULL" for col in cols)
    row = row_outcome(f"({complete}) AND coalesce({unique_count(cols, where)} = 1, false)", where)
    reads = tuple(a for m in (*parts, unique) for a in m.reads)
    return Measure(
        rule, "verdict", finish, reads, row_sql=row, row_complex=True, checks=unique.checks
    )


def unique_value_ratio(c: Compiler, rule: Rule) -> Measure:
    col = c.column(rule.params[0])
    where = c.where(rule)
    _, s = c.frequency(rule, [col], where, ("distinct", "unique"))
    key = f"Column.{rule.params[0]}.UniqueValueRatio"

    def finish(values: Values) -> Measured:
        d = as_int(values[s["distinct"]])
        return metric_result(key, ratio(as_int(values[s["unique"]]), d), where, d)

    return Measure(rule, "metric", finish, tuple(s.values()), checks=(where,) if where else ())


def distinct_values_count(c: Compiler, rule: Rule) -> Measure:
    col = c.column(rule.params[0])
    where = c.where(rule)
    _, s = c.frequency(rule, [col], where, ("distinct", "nullgroups"))
    key = f"Column.{rule.params[0]}.DistinctValuesCount"

    def finish(values: Values) -> Measured:
        # Deequ counts through a histogram, where NULL is one more bucket.
        n = float(as_int(values[s["distinct"]]) + as_int(values[s["nullgroups"]]))
        return Measured({key: n}, value=n)

    return Measure(rule, "metric", finish, tuple(s.values()), checks=(where,) if where else ())


def entropy(c: Compiler, rule: Rule) -> Measure:
    col = c.column(rule.params[0])
    where = c.where(rule)
    _, s = c.frequency(rule, [col], where, ("rows", "plogp"))
    key = f"Column.{rule.params[0]}.Entropy"

    def finish(values: Values) -> Measured:
        n = as_int(values[s["rows"]])
        if n == 0:
            return metric_result(key, None, where, 0)
        # -Σ (c/n) ln(c/n) = ln n - Σ c ln c / n
        value = max(math.log(n) - float(values[s["plogp"]] or 0.0) / n, 0.0)
        return Measured({key: value}, value=value)

    return Measure(rule, "metric", finish, tuple(s.values()), checks=(where,) if where else ())


def duplicate_row_count(c: Compiler, rule: Rule) -> Measure:
    cols = [c.column(p) for p in rule.params] or list(c.names)
    where = c.where(rule)
    _, s = c.frequency(rule, cols, where, ("dups",))
    key = (
        f"Multicolumn.{','.join(rule.params)}.DuplicateRowCount"
        if rule.params
        else "Dataset.*.DuplicateRowCount"
    )

    def finish(values: Values) -> Measured:
        n = float(as_int(values[s["dups"]]))
        return Measured({key: n}, value=n)

    return Measure(rule, "metric", finish, tuple(s.values()), checks=(where,) if where else ())


def mean(c: Compiler, rule: Rule) -> Measure:
    col = c.numeric(rule.params[0], rule)
    return c.metric(rule, f"Column.{rule.params[0]}.Mean", f"avg({ident(col)})", c.where(rule))


def sum_of(c: Compiler, rule: Rule) -> Measure:
    col = c.numeric(rule.params[0], rule)
    return c.metric(rule, f"Column.{rule.params[0]}.Sum", f"sum({ident(col)})", c.where(rule))


def standard_deviation(c: Compiler, rule: Rule) -> Measure:
    col = c.numeric(rule.params[0], rule)
    return c.metric(
        rule,
        f"Column.{rule.params[0]}.StandardDeviation",
        f"stddev_pop({ident(col)})",
        c.where(rule),
    )


def variance(c: Compiler, rule: Rule) -> Measure:
    col = c.numeric(rule.params[0], rule)
    return c.metric(
        rule, f"Column.{rule.params[0]}.Variance", f"var_pop({ident(col)})", c.where(rule)
    )


def column_correlation(c: Compiler, rule: Rule) -> Measure:
    a, b = (c.numeric(p, rule) for p in rule.params)
    key = f"Multicolumn.{rule.params[0]},{rule.params[1]}.ColumnCorrelation"
    return c.metric(rule, key, f"corr({ident(a)}, {ident(b)})", c.where(rule))


def range_of(c: Compiler, rule: Rule) -> Measure:
    col = ident(c.numeric(rule.params[0], rule))
    return c.metric(
        rule, f"Column.{rule.params[0]}.Range", f"max({col}) - min({col})", c.where(rule)
    )


def interquartile_range(c: Compiler, rule: Rule) -> Measure:
    col = ident(c.numeric(rule.params[0], rule))
    expression = f"quantile_cont({col}, 0.75) - quantile_cont({col}, 0.25)"
    return c.metric(rule, f"Column.{rule.params[0]}.InterquartileRange", expression, c.where(rule))


def skewness(c: Compiler, rule: Rule) -> Measure:
    col = ident(c.numeric(rule.params[0], rule))
    # DuckDB's skewness is the bias-corrected sample one; Deequ (Spark) reports the
    # population moment coefficient, so convert with the non-NULL count.
    return c.metric(
        rule,
        f"Column.{rule.params[0]}.Skewness",
        f"skewness({col})",
        c.where(rule),
        extra=(f"count({col})",),
        combine=_population_skewness,
    )


def kurtosis(c: Compiler, rule: Rule) -> Measure:
    col = ident(c.numeric(rule.params[0], rule))
    return c.metric(
        rule, f"Column.{rule.params[0]}.Kurtosis", f"kurtosis_pop({col})", c.where(rule)
    )


def zeros_count(c: Compiler, rule: Rule) -> Measure:
    col = ident(c.numeric(rule.params[0], rule))
    where = c.where(rule)
    alias = c.plan.agg(count_filter(f"{col} = 0", where))
    key = f"Column.{rule.params[0]}.ZerosCount"

    def finish(values: Values) -> Measured:
        n = float(as_int(values[alias]))
        return Measured({key: n}, value=n)

    return Measure(rule, "metric", finish, (alias,), checks=(where,) if where else ())


def column_values(c: Compiler, rule: Rule) -> Measure:
    name = rule.params[0]
    col = c.column(name)
    where = c.where(rule)
    if rule.condition is None:  # as an analyzer: the value range
        return _value_range(c, rule, col, where)
    condition = rule.condition
    kind = condition_kind(condition)
    value, lit = _value_expr(c, col, condition)
    predicate = condition_sql(condition, value, f"{ident(col)} IS NULL", lit)
    extra: dict[str, str] = {}
    minmax: tuple[str, str] | None = None
    if kind == "numeric" and isinstance(condition, Compare) and rule.threshold is None:
        if condition.op in (">", ">=") and not isinstance(condition.operand, Keyword):
            minmax = ("Minimum", f"min({value})")
        elif condition.op in ("<", "<=") and not isinstance(condition.operand, Keyword):
            minmax = ("Maximum", f"max({value})")
    if minmax is not None:
        extra[f"Column.{name}.{minmax[0]}"] = minmax[1]
    key = f"Column.{name}.ColumnValues.Compliance"
    metric_alias = c.plan.agg(filtered(minmax[1], where)) if minmax else None

    def reason(values: Values) -> str | None:
        if metric_alias is None:
            return None
        extreme = as_float(values[metric_alias])
        try:
            if extreme is not None and not check(extreme, condition):
                return value_reason(extreme)
        except OperandError:
            return None
        return None

    regexes = [condition.pattern] if isinstance(condition, Matches) else []
    measure = c.rows(
        rule,
        key,
        predicate,
        col,
        where,
        null_pass=null_passes(condition),
        extra_metrics=extra,
        reason=reason,
        regexes=regexes,
    )
    if minmax is not None:
        # Glue reports the extreme value for > / < checks, not the share of rows.
        inner = measure.finish

        def finish(values: Values) -> Measured:
            out = inner(values)
            out.metrics.pop(key, None)
            return out

        measure = replace(measure, finish=finish)
    return measure


def _value_range(c: Compiler, rule: Rule, col: str, where: str | None) -> Measure:
    cls = type_class(c.ctype(col))
    q = ident(col)
    name = rule.params[0]
    if cls == "numeric":
        exprs = {f"Column.{name}.Minimum": f"min({q})", f"Column.{name}.Maximum": f"max({q})"}
    else:
        text = q if cls == "string" else f"CAST({q} AS VARCHAR)"
        length = f"length(coalesce({text}, ''))"
        exprs = {
            f"Column.{name}.MinimumLength": f"min({length})",
            f"Column.{name}.MaximumLength": f"max({length})",
        }
    aliases = {k: c.plan.agg(filtered(e, where)) for k, e in exprs.items()}

    def finish(values: Values) -> Measured:
        return Measured({k: float(values[a]) for k, a in aliases.items() if values[a] is not None})

    return Measure(
        rule, "metric", finish, tuple(aliases.values()), checks=(where,) if where else ()
    )


def _value_expr(
    c: Compiler, col: str, condition: Condition
) -> tuple[str, Callable[[Operand], str]]:
    """The column as the kind of value the condition compares, and how operands are written."""
    q = ident(col)
    ctype = c.ctype(col)
    cls = type_class(ctype)
    kind = condition_kind(condition)
    if kind == "numeric":
        if cls == "numeric":
            value = f"CAST({q} AS DOUBLE)" if ctype.upper().startswith("DECIMAL") else q
        else:
            value = f"TRY_CAST({q} AS DOUBLE)"
        return value, number_sql
    if kind == "date":
        operands = [o for o in condition_operands(condition) if not isinstance(o, Keyword)]
        as_date = ctype.upper() == "DATE" or all(isinstance(o, Date) for o in operands)
        target = "DATE" if as_date else "TIMESTAMP"
        if cls == "temporal":
            value = q if ctype.upper() == target else f"CAST({q} AS {target})"
        else:
            value = f"TRY_CAST({q} AS {target})"
        return value, lambda o: _moment_sql(c, o, as_date)
    value = q if cls == "string" else f"CAST({q} AS VARCHAR)"
    return value, text_sql


def _moment_sql(c: Compiler, operand: Operand, as_date: bool) -> str:
    moment = moment_of(operand, c.now)
    if as_date:
        return f"DATE '{moment.date().isoformat()}'"
    return timestamp_literal(moment)


def column_length(c: Compiler, rule: Rule) -> Measure:
    name = rule.params[0]
    col = c.column(name)
    where = c.where(rule)
    q = ident(col)
    text = q if type_class(c.ctype(col)) == "string" else f"CAST({q} AS VARCHAR)"
    length = f"length(coalesce({text}, ''))"  # NULL has length 0
    if rule.condition is None:
        return _value_range(c, rule, col, where)
    condition = rule.condition
    predicate = condition_sql(condition, length, f"{q} IS NULL", number_sql)
    extra = {
        f"Column.{name}.MinimumLength": f"min({length})",
        f"Column.{name}.MaximumLength": f"max({length})",
    }
    compliance = isinstance(condition, InList) or (
        isinstance(condition, Between) and condition.negated
    )
    key = f"Column.{name}.LengthCompliance"
    lo = c.plan.agg(filtered(extra[f"Column.{name}.MinimumLength"], where))
    hi = c.plan.agg(filtered(extra[f"Column.{name}.MaximumLength"], where))

    def reason(values: Values) -> str | None:
        if compliance:
            return None
        for alias in (lo, hi):
            v = as_float(values[alias])
            if v is not None and not _length_ok(v, condition, alias == lo):
                return value_reason(v)
        return None

    measure = c.rows(rule, key, predicate, None, where, extra_metrics=extra, reason=reason)
    if compliance:
        return measure
    inner = measure.finish

    def finish(values: Values) -> Measured:
        out = inner(values)
        if out.verdict is False and out.reason and "% of rows" in out.reason:
            out.reason = value_reason(out.value)
        out.metrics.pop(key, None)
        return out

    return replace(measure, finish=finish)


def data_freshness(c: Compiler, rule: Rule) -> Measure:
    name = rule.params[0]
    col = c.column(name)
    where = c.where(rule)
    q = ident(col)
    cls = type_class(c.ctype(col))
    if c.ctype(col).upper() == "TIMESTAMP":
        ts = q
    elif cls == "temporal":
        ts = f"CAST({q} AS TIMESTAMP)"
    else:
        ts = f"TRY_CAST({q} AS TIMESTAMP)"
    assert rule.condition is not None
    # An age compared with a duration is the timestamp compared with now - duration; comparing
    # the column with constants is cheaper per row and reads the same on every engine.
    condition = _ages_as_moments(rule.condition)

    def moment(operand: Operand) -> str:
        if not isinstance(operand, Duration):
            raise RuleError("DataFreshness compares ages with durations: <= 24 hours")
        return timestamp_literal(c.now - dt.timedelta(**{operand.unit: operand.amount}))

    predicate = condition_sql(condition, ts, f"{q} IS NULL", moment, null_passes=False)
    key = f"Column.{name}.DataFreshness.Compliance"
    return c.rows(rule, key, predicate, col, where, null_pass=False)


_FLIPPED: dict[str, CompareOp] = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "=": "=", "!=": "!="}


def _ages_as_moments(condition: Condition) -> Condition:
    """``age <= 24 hours`` is ``value >= now - 24 hours``: flip orderings, swap between bounds."""
    if isinstance(condition, Compare):
        return replace(condition, op=_FLIPPED[condition.op])
    if isinstance(condition, Between):
        return replace(condition, low=condition.high, high=condition.low)
    return condition


def column_data_type(c: Compiler, rule: Rule) -> Measure:
    name = rule.params[0]
    col = c.column(name)
    where = c.where(rule)
    condition = rule.condition
    assert condition is not None
    q = ident(col)

    def castable(operand: Operand) -> str:
        if not isinstance(operand, String):
            raise RuleError('ColumnDataType compares with a type name: = "Integer"')
        return _castable(c, q, operand.value, rule.tags)

    if isinstance(condition, Compare):
        test = castable(condition.operand)
        predicate = test if condition.op == "=" else f"NOT ({test})"
    elif isinstance(condition, InList):
        tests = " OR ".join(f"({castable(v)})" for v in condition.values)
        predicate = f"NOT ({tests})" if condition.negated else f"({tests})"
    else:
        raise RuleError("ColumnDataType takes =, !=, in or not in")
    key = f"Column.{name}.ColumnDataType.Compliance"
    return c.rows(rule, key, predicate, col, where, null_pass=null_passes(condition))


def _castable(c: Compiler, q: str, type_name: str, tags: Mapping[str, str]) -> str:
    upper = type_name.strip().upper()
    simple = {
        "BOOLEAN": "BOOLEAN",
        "DATE": "DATE",
        "TIMESTAMP": "TIMESTAMP",
        "INTEGER": "INTEGER",
        "INT": "INTEGER",
        "DOUBLE": "DOUBLE",
        "FLOAT": "FLOAT",
        "LONG": "BIGINT",
        "BIGINT": "BIGINT",
        "STRING": "VARCHAR",
    }
    decimal = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", upper)
    if upper == "DATE" and tags.get("format"):
        fmt = tags["format"]
        if fmt not in DATE_FORMATS:
            raise RuleError(
                f"Unsupported date format {fmt!r}; use one of " + ", ".join(DATE_FORMATS)
            )
        return (
            f"try_strptime(CAST({q} AS VARCHAR), {text_literal(java_to_strftime(fmt))}) IS NOT NULL"
        )
    if decimal:
        target = f"DECIMAL({decimal[1]}, {decimal[2]})"
    elif upper in simple:
        target = simple[upper]
    else:
        hint = did_you_mean(
            type_name, ["Boolean", "Date", "Timestamp", "Integer", "Double", "Float", "Long"]
        )
        raise RuleError(f"Unrecognized data type: {type_name}" + (f"; {hint}" if hint else ""))
    return f"TRY_CAST({q} AS {target}) IS NOT NULL"


def all_statistics(c: Compiler, rule: Rule) -> Measure:
    name = rule.params[0]
    col = c.column(name)
    parts = [
        row_count(c, Rule("RowCount", where=rule.where)),
        completeness(c, Rule("Completeness", (name,), where=rule.where)),
        uniqueness(c, Rule("Uniqueness", (name,), where=rule.where)),
        distinct_values_count(c, Rule("DistinctValuesCount", (name,), where=rule.where)),
        entropy(c, Rule("Entropy", (name,), where=rule.where)),
        _value_range(c, Rule("ColumnValues", (name,)), col, c.where(rule)),
    ]
    if type_class(c.ctype(col)) == "numeric":
        for t in ("Mean", "Sum", "StandardDeviation"):
            parts.append(METRICS[t](c, Rule(t, (name,), where=rule.where)))

    def finish(values: Values) -> Measured:
        metrics: dict[str, float] = {}
        for part in parts:
            metrics.update(part.finish(values).metrics)
        return Measured(metrics)

    reads = tuple(a for p in parts for a in p.reads)
    return Measure(rule, "metric", finish, reads, checks=parts[0].checks)


def detect_anomalies(c: Compiler, rule: Rule) -> Measure:
    from oaklake.quality.rules import ANOMALY_METRICS

    watched = ANOMALY_METRICS.get(rule.params[0])
    if watched is None:
        raise RuleError(f"DetectAnomalies cannot watch {rule.params[0]!r}")
    inner = c.leaf(Rule(watched, rule.params[1:], text=rule.text))
    if inner.error:
        raise RuleError(inner.error)
    return replace(inner, rule=rule, mode="anomaly", row_sql=None)


def _population_skewness(sample: float, extras: list[object]) -> float | None:
    """DuckDB's bias-corrected sample skewness as the population coefficient Spark reports."""
    n = as_int(extras[0])
    if n < 3:
        return None
    return sample * (n - 2) / math.sqrt(n * (n - 1))


def _length_ok(value: float, condition: Condition, is_min: bool) -> bool:
    """Whether the shortest (or longest) length satisfies a length condition on its side."""
    if isinstance(condition, Compare):
        if condition.op in (">", ">=") and not is_min:
            return True
        if condition.op in ("<", "<=") and is_min:
            return True
        return check(value, condition)
    if isinstance(condition, Between) and not condition.negated:
        low, high = scalar(condition.low), scalar(condition.high)
        return value > low if is_min else value < high
    return True


METRICS: dict[str, Callable[[Compiler, Rule], Measure]] = {
    "RowCount": row_count,
    "ColumnCount": column_count,
    "ColumnExists": column_exists,
    "ColumnNamesMatchPattern": column_names_match_pattern,
    "Completeness": completeness,
    "IsComplete": is_complete,
    "Uniqueness": uniqueness,
    "IsUnique": is_unique,
    "IsPrimaryKey": is_primary_key,
    "UniqueValueRatio": unique_value_ratio,
    "DistinctValuesCount": distinct_values_count,
    "Entropy": entropy,
    "DuplicateRowCount": duplicate_row_count,
    "Mean": mean,
    "Sum": sum_of,
    "StandardDeviation": standard_deviation,
    "Variance": variance,
    "ColumnCorrelation": column_correlation,
    "Range": range_of,
    "InterquartileRange": interquartile_range,
    "Skewness": skewness,
    "Kurtosis": kurtosis,
    "ZerosCount": zeros_count,
    "ColumnValues": column_values,
    "ColumnLength": column_length,
    "DataFreshness": data_freshness,
    "ColumnDataType": column_data_type,
    "AllStatistics": all_statistics,
    "DetectAnomalies": detect_anomalies,
}
