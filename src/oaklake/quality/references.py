"""CustomSql and the rules that compare with reference datasets.

These are the rules that cannot ride along in the one aggregate scan: CustomSql runs its own
statement (Spark SQL naming the dataset ``primary``), ReferentialIntegrity and DatasetMatch join
the primary table with a reference, RowCountMatch and AggregateMatch read one number from the
reference. Each is one query of its own in the plan; AggregateMatch's primary side still rides
in the aggregate scan.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlglot import exp

from oaklake.quality.ast import Rule
from oaklake.quality.compile import (
    Compiler,
    Measure,
    Measured,
    RuleError,
    Values,
    as_float,
    as_int,
    ident,
    transpile_query,
    value_reason,
)


def custom_sql(c: Compiler, rule: Rule) -> Measure:
    sql, tree = transpile_query(rule.params[0], c.tables())
    scalar_form = rule.condition is not None or (rule.threshold is None and _is_scalar(tree))
    if scalar_form:
        alias = c.plan.separate(sql)

        def finish(values: Values) -> Measured:
            rows = values[alias]
            if len(rows) != 1 or len(rows[0]) != 1:
                shape = f"{len(rows)} rows" if len(rows) != 1 else f"{len(rows[0])} columns"
                return Measured(error=f"CustomSql must return one number; it returned {shape}")
            raw = rows[0][0]
            if (
                raw is not None
                and not isinstance(raw, int | float)
                and not hasattr(raw, "as_integer_ratio")
            ):
                return Measured(error=f"CustomSql must return a number, not {raw!r}")
            v = as_float(raw)
            return Measured({"Dataset.*.CustomSQL": v} if v is not None else {}, value=v)

        return Measure(rule, "metric", finish, (alias,))
    return _custom_rows(c, rule, sql, tree)


def _custom_rows(c: Compiler, rule: Rule, sql: str, tree: exp.Query) -> Measure:
    returned: list[str] = []
    for select in tree.selects:
        if isinstance(select, exp.Star) or (
            isinstance(select, exp.Column) and isinstance(select.this, exp.Star)
        ):
            returned.extend(c.names)
        elif select.alias_or_name:
            returned.append(select.alias_or_name)
    known = [n for n in returned if n in c.columns]
    unknown = [n for n in returned if n not in c.columns]
    if not known:
        raise RuleError(
            "The output from CustomSQL must contain at least one column that matches the "
            "input dataset. Ensure that matching columns are returned from the SQL."
        )
    if unknown:
        raise RuleError(
            "The columns returned from the SQL statement should only belong to the primary "
            "table. Columns not found: " + ", ".join(unknown)
        )
    cols = list(dict.fromkeys(known))
    inner = ", ".join(f"{ident(c)} AS c{i}" for i, c in enumerate(cols))
    on = " AND ".join(f"p.{ident(c)} IS NOT DISTINCT FROM q.c{i}" for i, c in enumerate(cols))
    query = (
        "SELECT count(*) AS n, count(q.hit) AS matched\n"
        f"FROM {ident(c.plan.table)} AS p\n"
        f"LEFT JOIN (SELECT DISTINCT {inner}, TRUE AS hit FROM ({sql}) AS s) AS q ON {on}"
    )
    alias = c.plan.separate(query)
    key = "Dataset.*.CustomSQL.Compliance"

    def finish(values: Values) -> Measured:
        n, matched = (as_int(x) for x in values[alias][0])
        if n == 0:
            return Measured(
                verdict=False,
                reason="Custom SQL rule could not be evaluated due to data frame being empty",
            )
        ratio = matched / n
        return Measured(
            {key: ratio},
            value=ratio,
            verdict=ratio == 1.0,
            reason=None if ratio == 1.0 else value_reason(ratio),
        )

    row = (
        f"EXISTS (SELECT 1 FROM ({sql}) AS s WHERE "
        + " AND ".join(
            f"s.{ident(n)} IS NOT DISTINCT FROM {ident(c.plan.table)}.{ident(n)}" for n in cols
        )
        + ")"
    )
    return Measure(rule, "rows", finish, (alias,), row_sql=row, row_complex=True)


def referential_integrity(c: Compiler, rule: Rule) -> Measure:
    mine = [c.column(n.strip()) for n in rule.params[0].split(",")]
    alias, _, rest = rule.params[1].partition(".")
    ref = c.ref(alias)
    theirs_text = rest.strip()
    if theirs_text.startswith("{") and theirs_text.endswith("}"):
        theirs_text = theirs_text[1:-1]
    theirs = [c.ref_column(ref, alias, n.strip()) for n in theirs_text.split(",")]
    if len(theirs) != len(mine):
        raise RuleError(f"ReferentialIntegrity compares {len(mine)} column(s) with {len(theirs)}")
    inner = ", ".join(f"{ident(c)} AS k{i}" for i, c in enumerate(theirs))
    on = " AND ".join(f"p.{ident(c)} = r.k{i}" for i, c in enumerate(mine))
    query = (
        "SELECT count(*) AS n, count(r.hit) AS matched\n"
        f"FROM {ident(c.plan.table)} AS p\n"
        f"LEFT JOIN (SELECT DISTINCT {inner}, TRUE AS hit FROM {ident(ref.view)}) AS r ON {on}"
    )
    return _ratio_query(
        c,
        rule,
        query,
        f"Column.{alias}.ReferentialIntegrity",
        empty="Cannot evaluate: primary dataset is empty",
    )


def _ratio_query(c: Compiler, rule: Rule, query: str, key: str, *, empty: str) -> Measure:
    alias = c.plan.separate(query)

    def finish(values: Values) -> Measured:
        n, matched = (as_int(x) for x in values[alias][0])
        if n == 0:
            return Measured(verdict=False, reason=empty)
        return Measured({key: matched / n}, value=matched / n)

    return Measure(rule, "metric", finish, (alias,))


def dataset_match(c: Compiler, rule: Rule) -> Measure:
    alias = rule.params[0]
    ref = c.ref(alias)
    keys = _mapping(rule.params[1])
    if not keys:
        raise RuleError('DatasetMatch needs key columns: "id->ref_id"')
    if len(rule.params) > 2:
        matches = _mapping(rule.params[2])
    else:
        key_names = {k for k, _ in keys}
        matches = [(n, n) for n in c.names if n not in key_names]
    pairs_k = [(c.column(a), c.ref_column(ref, alias, b)) for a, b in keys]
    pairs_m = [(c.column(a), c.ref_column(ref, alias, b)) for a, b in matches]
    inner = ", ".join(
        [f"{ident(b)} AS k{i}" for i, (_, b) in enumerate(pairs_k)]
        + [f"{ident(b)} AS c{i}" for i, (_, b) in enumerate(pairs_m)]
    )
    on = " AND ".join(
        [f"p.{ident(a)} = r.k{i}" for i, (a, _) in enumerate(pairs_k)]
        + [f"p.{ident(a)} IS NOT DISTINCT FROM r.c{i}" for i, (a, _) in enumerate(pairs_m)]
    )
    query = (
        "SELECT count(*) AS n, count(r.hit) AS matched\n"
        f"FROM {ident(c.plan.table)} AS p\n"
        f"LEFT JOIN (SELECT DISTINCT {inner}, TRUE AS hit FROM {ident(ref.view)}) AS r ON {on}"
    )
    return _ratio_query(
        c,
        rule,
        query,
        f"Dataset.{alias}.DatasetMatch",
        empty="Cannot evaluate: primary dataset is empty",
    )


def row_count_match(c: Compiler, rule: Rule) -> Measure:
    alias = rule.params[0]
    ref = c.ref(alias)
    theirs = c.plan.separate(f"SELECT count(*) AS n FROM {ident(ref.view)}")
    mine = c.plan.rows_alias
    key = f"Dataset.{alias}.RowCountMatch"

    def finish(values: Values) -> Measured:
        ratio = _match_ratio(float(as_int(values[mine])), float(as_int(values[theirs][0][0])))
        return Measured({key: ratio}, value=ratio)

    return Measure(rule, "metric", finish, (mine, theirs))


def schema_match(c: Compiler, rule: Rule) -> Measure:
    alias = rule.params[0]
    ref = c.ref(alias)
    theirs = {name: dtype for name, dtype in ref.columns}
    same = sum(1 for name, dtype in c.columns.items() if theirs.get(name) == dtype)
    ratio = same / len(c.columns) if c.columns else 1.0
    result = Measured({f"Dataset.{alias}.SchemaMatch": ratio}, value=ratio)
    return Measure(rule, "metric", lambda _: result)


def aggregate_match(c: Compiler, rule: Rule) -> Measure:
    sides = [_aggregate_side(c, p) for p in rule.params]
    names = [s[2] for s in sides]
    key = (
        f"Column.{names[0]}.AggregateMatch"
        if names[0] == names[1]
        else f"Column.{names[0]},{names[1]}.AggregateMatch"
    )

    def finish(values: Values) -> Measured:
        first, second = (s[0](values) for s in sides)
        ratio = _match_ratio(first, second)
        return Measured({key: ratio}, value=ratio)

    return Measure(rule, "metric", finish, tuple(a for s in sides for a in s[1]))


def _aggregate_side(
    c: Compiler, text: str
) -> tuple[Callable[[Values], float], tuple[str, ...], str]:
    m = re.fullmatch(r"\s*(sum|avg)\s*\((.*)\)\s*", text, re.I)
    if not m:
        raise RuleError(f"AggregateMatch takes sum(column) or avg(column), not {text!r}")
    fn = m[1].lower()
    target = m[2].strip().replace('"', "").replace("`", "")
    source, _, name = target.rpartition(".")
    if not source or source.lower() == "primary":
        col = c.numeric(name, Rule("AggregateMatch"))
        alias = c.plan.agg(f"{fn}({ident(col)})")
        return (lambda v: as_float(v[alias]) or 0.0), (alias,), name
    ref = c.ref(source)
    col = c.ref_column(ref, source, name)
    query = f"SELECT {fn}({ident(col)}) AS v FROM {ident(ref.view)}"
    extra = c.plan.separate(query)
    return (lambda v: as_float(v[extra][0][0]) or 0.0), (extra,), name


def _match_ratio(first: float, second: float) -> float:
    """AggregateMatch's ratio as AWS's executor computes it: 0/0 is 1, x/0 is 0."""
    if first == 0 and second == 0:
        return 1.0
    if second == 0:
        return 0.0
    return first / second


def _mapping(text: str) -> list[tuple[str, str]]:
    """``"a->b, c"`` as ``[("a", "b"), ("c", "c")]``."""
    pairs = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        left, sep, right = item.partition("->")
        pairs.append((left.strip(), (right if sep else left).strip()))
    return pairs


def _is_scalar(tree: exp.Query) -> bool:
    """Whether a CustomSql statement looks like it returns one number (one aggregate column)."""
    selects = tree.selects
    if len(selects) != 1:
        return False
    node = selects[0].unalias() if isinstance(selects[0], exp.Alias) else selects[0]
    return bool(node.find(exp.AggFunc)) or isinstance(node, exp.Literal)


REFERENCES: dict[str, Callable[[Compiler, Rule], Measure]] = {
    "CustomSql": custom_sql,
    "ReferentialIntegrity": referential_integrity,
    "DatasetMatch": dataset_match,
    "RowCountMatch": row_count_match,
    "SchemaMatch": schema_match,
    "AggregateMatch": aggregate_match,
}
