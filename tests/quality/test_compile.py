"""The compiler: Spark ``where`` → DuckDB, per-row conditions with DQDL's NULL rules, fused scans,
and the same SQL rendered for Spark and Trino.

``golden/compile.{duckdb,spark,trino}.sql`` pin the SQL of a representative ruleset. Regenerate
them with ``OAKLAKE_UPDATE_GOLDEN=1 uv run pytest tests/quality/test_compile.py`` and read the
diff before committing it.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot

from oaklake.quality.ast import Rule
from oaklake.quality.compile import (
    Compiler,
    Plan,
    RuleError,
    compile_plan,
    compile_sql,
    render,
    transpile_where,
)
from oaklake.quality.operands import OperandError, check, java_double, plain_number, resolve
from oaklake.quality.parse import parse_rule, parse_ruleset

GOLDEN = Path(__file__).parent / "golden"
UPDATE_GOLDEN = os.environ.get("OAKLAKE_UPDATE_GOLDEN") == "1"
NOW = dt.datetime(2024, 6, 2, tzinfo=dt.UTC)

COLUMNS = [
    ("id", "INTEGER"),
    ("name", "VARCHAR"),
    ("age", "INTEGER"),
    ("email", "VARCHAR"),
    ("joined", "TIMESTAMP"),
    ("score", "DOUBLE"),
    ("code", "VARCHAR"),
]

REPRESENTATIVE = """Rules = [
    RowCount > 3,
    IsComplete "id",
    Completeness "email" > 0.5 where "`age` / 2 > 10",
    IsUnique "id",
    Uniqueness "id" "name" > 0.5,
    IsPrimaryKey "id",
    ColumnValues "name" matches "[a-z]+" with threshold > 0.4,
    ColumnValues "age" between 18 and 65,
    ColumnValues "name" in ["ann", "bob", NULL],
    ColumnValues "email" != EMPTY,
    ColumnValues "age" >= 0,
    Mean "age" > 1,
    StandardDeviation "age" < 30,
    Sum "score" > 0,
    ColumnLength "name" <= 5,
    DataFreshness "joined" <= 30 days,
    ColumnDataType "code" = "Integer" with threshold > 0.5,
    DistinctValuesCount "name" = 4,
    Entropy "name" > 1,
    UniqueValueRatio "name" > 0.5 where "age > 20",
    ColumnCorrelation "id" and "age" > -1,
    InterquartileRange "age" > 0,
    ColumnValues "joined" > (now() - 7 days) with threshold > 0.1,
    CustomSql "select count(*) from primary where age > 30" > 0,
    (ColumnValues "age" > 30) or (ColumnValues "score" > 1)
]"""

ROWS = """CREATE TABLE "primary" AS SELECT * FROM (VALUES
  (1, 'ann', 34, 'a@x', TIMESTAMP '2024-06-01', 0.5, '12'),
  (2, 'bob', 70, '', TIMESTAMP '2024-01-01', 1.5, 'x'),
  (3, NULL, NULL, NULL, NULL, NULL, NULL),
  (4, 'dee', 20, 'd@x', TIMESTAMP '2024-05-30', 2.0, '7')
) t(id, name, age, email, joined, score, code)"""


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute("SET integer_division = true")  # as the engine's session divides
    connection.execute(ROWS)
    return connection


# ---- where ---------------------------------------------------------------------------------


def test_where_is_transpiled_from_spark() -> None:
    assert transpile_where("country = 'NL' and amount is not null") == (
        "country = 'NL' AND NOT amount IS NULL"
    )
    assert transpile_where("`order id` > 1") == '"order id" > 1'
    assert transpile_where("name rlike '^a'") == "REGEXP_MATCHES(name, '^a')"


def test_where_division_is_floating_point_as_in_spark(con: duckdb.DuckDBPyConnection) -> None:
    sql = transpile_where("id / 4 > 0.5")
    assert "CAST(id AS DOUBLE)" in sql
    assert con.execute(f'SELECT count(*) FILTER (WHERE {sql}) FROM "primary"').fetchall() == [(2,)]


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("id >", "The where clause is not valid SQL"),
        ("select 1", "must be a condition"),
        ("a; b", "must be one condition"),
        ("foo bar", "must be a condition"),
    ],
)
def test_bad_where_is_a_rule_error(where: str, message: str) -> None:
    with pytest.raises(RuleError, match=message):
        transpile_where(where)


# ---- per-row conditions ----------------------------------------------------------------------


def _row_outcomes(con: duckdb.DuckDBPyConnection, rule_text: str) -> list[Any]:
    plan = Plan("primary")
    rule = parse_rule(rule_text)
    assert isinstance(rule, Rule)
    measure = Compiler(plan, COLUMNS, now=NOW).leaf(rule)
    assert measure.error is None, measure.error
    assert measure.row_sql is not None
    sql = f'SELECT {measure.row_sql} FROM "primary" ORDER BY id'
    return [r[0] for r in con.execute(sql).fetchall()]


@pytest.mark.parametrize(
    ("rule", "outcomes"),
    [
        # ages 34, 70, NULL, 20: NULL fails positive checks...
        ('ColumnValues "age" > 18', [True, True, False, True]),
        ('ColumnValues "age" = 34', [True, False, False, False]),
        ('ColumnValues "age" between 20 and 70', [True, False, False, False]),  # exclusive
        ('ColumnValues "age" not between 20 and 70', [False, True, False, True]),
        ('ColumnValues "age" in [34, 20]', [True, False, False, True]),
        # ... and passes != and not in, unless NULL is listed
        ('ColumnValues "age" != 34', [False, True, True, True]),
        ('ColumnValues "age" not in [34]', [False, True, True, True]),
        ('ColumnValues "age" not in [34, NULL]', [False, True, False, True]),
        ('ColumnValues "age" in [34, NULL]', [True, False, True, False]),
        ('ColumnValues "age" = NULL', [False, False, True, False]),
        ('ColumnValues "age" != NULL', [True, True, False, True]),
        # strings: EMPTY, whole-string regex
        ('ColumnValues "email" = EMPTY', [False, True, False, False]),
        ('ColumnValues "email" != EMPTY', [True, False, True, True]),
        ('ColumnValues "name" matches "[a-z]{3}"', [True, True, False, True]),
        ('ColumnValues "name" matches "[a-z]"', [False, False, False, False]),
        ('ColumnValues "name" not matches "b.*"', [True, False, False, True]),
        ('ColumnValues "code" in ["12", "7"]', [True, False, False, True]),
        # numbers compared with a string column cast it (a bad cast fails)
        ('ColumnValues "code" > 10', [True, False, False, False]),
        # NULL is length 0
        ('ColumnLength "name" > 2', [True, True, False, True]),
        ('ColumnLength "name" < 1', [False, False, True, False]),
        ('ColumnLength "name" in [0, 3]', [True, True, True, True]),
        # DataFreshness fails NULLs; now is 2024-06-02
        ('DataFreshness "joined" <= 3 days', [True, False, False, True]),
        ('DataFreshness "joined" > 3 days', [False, True, False, False]),
        ('DataFreshness "joined" between 12 hours and 4 days', [True, False, False, True]),
        (
            'DataFreshness "joined" between 1 days and 3 days',
            [False, False, False, False],
        ),  # exclusive
        # castability
        ('ColumnDataType "code" = "Integer"', [True, False, False, True]),
        ('ColumnDataType "code" != "Integer"', [False, True, True, False]),
        # where: rows outside are not considered (NULL)
        ('ColumnValues "age" > 30 where "id > 1"', [None, True, False, False]),
        ('IsComplete "name"', [True, True, False, True]),
        ('IsUnique "score"', [True, True, None, True]),
    ],
)
def test_row_conditions(con: duckdb.DuckDBPyConnection, rule: str, outcomes: list[Any]) -> None:
    assert _row_outcomes(con, rule) == outcomes


# ---- fused scans -----------------------------------------------------------------------------


def test_a_ruleset_compiles_to_one_aggregate_and_one_group_by_per_column_set() -> None:
    statements = compile_sql(parse_ruleset(REPRESENTATIVE), COLUMNS, now=NOW)
    aggregates = [s for s in statements if "GROUP BY" not in s and 'primary" AS "primary' not in s]
    groups = [s for s in statements if "GROUP BY" in s]
    assert len(aggregates) == 1
    # column sets: {id} (IsUnique, IsPrimaryKey), {id, name}, {name} (three metrics, two wheres)
    assert len(groups) == 3
    assert len(statements) == 5  # + CustomSql's own statement
    name_scan = next(s for s in groups if 'GROUP BY "name"' in s)
    assert "count(*) FILTER (WHERE age > 20) AS n1" in name_scan


def test_shared_metrics_are_computed_once() -> None:
    ruleset = parse_ruleset(
        'Rules = [ RowCount > 0, RowCount < 10, Completeness "a" > 0.1, IsComplete "a", '
        'IsUnique "a", Uniqueness "a" > 0.5, Mean "b" > 0, Mean "b" < 5 ]'
    )
    (aggregate, group) = compile_sql(ruleset, [("a", "INTEGER"), ("b", "DOUBLE")])
    assert aggregate.count("count(*)") == 1
    assert aggregate.count('count("a")') == 1
    assert aggregate.count('avg("b")') == 1
    assert group.count("GROUP BY") == 1


def test_a_where_becomes_a_filter_of_the_same_scan() -> None:
    ruleset = parse_ruleset(
        'Rules = [ Completeness "a" > 0.5 where "b > 1", Mean "b" > 0 where "a = 2" ]'
    )
    (aggregate,) = compile_sql(ruleset, [("a", "INTEGER"), ("b", "DOUBLE")])
    assert 'count("a") FILTER (WHERE b > 1)' in aggregate
    assert 'avg("b") FILTER (WHERE a = 2)' in aggregate


def test_rules_that_cannot_compile_are_left_out_of_the_sql() -> None:
    ruleset = parse_ruleset('Rules = [ RowCount > 0, Mean "nope" > 1, IsUnique "nope" ]')
    plan, by_rule, _ = compile_plan(ruleset, [("a", "INTEGER")])
    errors = [m.error for m in by_rule.values() if m.error]
    assert errors == ["Column 'nope' does not exist", "Column 'nope' does not exist"]
    assert plan.statements() == ['SELECT\n  count(*) AS m0\nFROM "primary"']


# ---- Spark and Trino ---------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["spark", "trino"])
def test_the_plan_renders_for_other_engines(dialect: Any) -> None:
    statements = compile_sql(parse_ruleset(REPRESENTATIVE), COLUMNS, dialect, now=NOW)
    for statement in statements:
        sqlglot.parse_one(statement, read=dialect)  # valid in that dialect
    text = "\n".join(statements)
    assert "REGEXP_FULL_MATCH" not in text
    assert "QUANTILE_CONT" not in text
    if dialect == "spark":
        assert "`name` RLIKE '^(?:[a-z]+)$'" in text
        assert "PERCENTILE(`age`, 0.75)" in text
    else:
        assert "REGEXP_LIKE(\"name\", '^(?:[a-z]+)$')" in text
        assert 'APPROX_PERCENTILE("age", 0.75)' in text


@pytest.mark.parametrize("dialect", ["spark", "trino"])
def test_other_engines_sql_reads_back_to_the_same_numbers(
    con: duckdb.DuckDBPyConnection, dialect: Any
) -> None:
    """Differential: the Spark/Trino SQL, read back by sqlglot into DuckDB, computes the same.

    InterquartileRange is left out: Spark's exact PERCENTILE comes back as DuckDB's discrete
    quantile and Trino only has an approximate one.
    """
    ruleset = parse_ruleset(REPRESENTATIVE.replace('    InterquartileRange "age" > 0,\n', ""))
    ours = [con.execute(s).fetchall() for s in compile_sql(ruleset, COLUMNS, now=NOW)]
    theirs = [
        con.execute(sqlglot.transpile(s, read=dialect, write="duckdb")[0]).fetchall()
        for s in compile_sql(ruleset, COLUMNS, dialect, now=NOW)
    ]
    assert theirs == ours


def test_render_leaves_duckdb_alone() -> None:
    sql = "SELECT regexp_full_match(a, 'x') FROM t"
    assert render(sql, "duckdb") == sql


# ---- golden SQL --------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["duckdb", "spark", "trino"])
def test_compiled_sql_matches_golden(dialect: Any) -> None:
    text = ";\n\n".join(compile_sql(parse_ruleset(REPRESENTATIVE), COLUMNS, dialect, now=NOW))
    path = GOLDEN / f"compile.{dialect}.sql"
    if UPDATE_GOLDEN:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text + ";\n")
    assert path.exists(), "run with OAKLAKE_UPDATE_GOLDEN=1 to write the golden file"
    assert text + ";\n" == path.read_text()


def test_golden_duckdb_sql_runs_as_written(con: duckdb.DuckDBPyConnection) -> None:
    for statement in (GOLDEN / "compile.duckdb.sql").read_text().split(";\n\n"):
        rows = con.execute(statement.rstrip(";\n")).fetchall()
        assert len(rows) == 1


# ---- numbers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.85, "0.85"),
        (1.0, "1.0"),
        (4.0, "4.0"),
        (0.0, "0.0"),
        (-2.5, "-2.5"),
        (0.001, "0.001"),
        (0.0001, "1.0E-4"),
        (1 / 3, "0.3333333333333333"),
        (1234567.0, "1234567.0"),
        (10_000_000.0, "1.0E7"),
        (12345678.9, "1.23456789E7"),
        (float("nan"), "NaN"),
    ],
)
def test_numbers_print_as_java_does(value: float, text: str) -> None:
    assert java_double(value) == text


def test_plain_numbers_for_evaluated_rules() -> None:
    assert plain_number(3.2) == "3.2"
    assert plain_number(4.0) == "4"
    assert plain_number(1e20) == "100000000000000000000"
    assert plain_number(0.0001) == "0.0001"


def test_metric_conditions_are_exact_and_between_is_exclusive() -> None:
    def holds(value: float | None, condition: str) -> bool:
        rule = parse_rule(f"RowCount {condition}")
        assert isinstance(rule, Rule) and rule.condition is not None
        return check(value, rule.condition)

    assert not holds(1.0, "= 0.9999999999999999")
    assert holds(1.0, "= 1")
    assert not holds(0.4, "between 0.4 and 0.9")
    assert not holds(0.9, "between 0.4 and 0.9")
    assert holds(0.5, "between 0.4 and 0.9")
    assert holds(0.4, "not between 0.4 and 0.9")
    assert holds(3.0, "in [1, 3]")
    assert holds(2.0, "not in [1, 3]")
    assert not holds(None, "> 0")
    assert holds(7.0, "> 2 * 3")


def test_dynamic_operands() -> None:
    rule = parse_rule("RowCount > avg(last(3)) + std(last(3)) - index(last(3), 2)")
    assert isinstance(rule, Rule) and rule.condition is not None
    operand = rule.condition.operand  # type: ignore[union-attr]
    assert resolve(operand, lambda k: [1.0, 2.0, 3.0, 4.0][:k]) == pytest.approx(
        2.0 + (2 / 3) ** 0.5 - 3.0
    )
    assert resolve(operand, lambda k: []) == 0.0
    bad = parse_rule("RowCount > avg(last(3)) / 0")
    assert isinstance(bad, Rule) and bad.condition is not None
    with pytest.raises(OperandError, match="divides by zero"):
        check(1.0, bad.condition, lambda k: [1.0])
