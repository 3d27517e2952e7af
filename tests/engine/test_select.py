"""The SELECT path: name resolution, CTE scoping, errors, result objects, temp-view hygiene."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from engine_helpers import error_code

from oaklake.app import Lake
from oaklake.errors import SqlSyntaxError


@pytest.fixture
def people(lake: Lake) -> Lake:
    lake.sql("CREATE TABLE t (id int, name string)")
    lake.sql("INSERT INTO t VALUES (1, 'a'), (2, 'b')")
    return lake


def test_result_object(people: Lake) -> None:
    result = people.sql("SELECT id, name FROM t ORDER BY id")
    assert result.columns == ["id", "name"]
    assert result.rows == [(1, "a"), (2, "b")]
    assert len(result) == 2
    assert result.to_arrow().column("name").to_pylist() == ["a", "b"]
    assert result.scalar() == 1
    assert result.affected_rows is None
    assert result.snapshot_id is None


def test_values_round_trip_with_their_types(lake: Lake) -> None:
    lake.sql(
        "CREATE TABLE v (i int, b bigint, d decimal(10,2), f double, s string, dt date, "
        "ts timestamp, ok boolean, arr array<int>)"
    )
    lake.sql(
        "INSERT INTO v VALUES (1, 10000000000, 12.34, 0.5, 'héllo', DATE '2024-02-29', "
        "TIMESTAMP '2024-02-29 23:59:59.123', true, ARRAY[1, NULL, 3])"
    )
    assert lake.sql("SELECT * FROM v").rows == [
        (
            1,
            10000000000,
            Decimal("12.34"),
            0.5,
            "héllo",
            dt.date(2024, 2, 29),
            dt.datetime(2024, 2, 29, 23, 59, 59, 123000),
            True,
            [1, None, 3],
        )
    ]


def test_empty_table_returns_typed_empty_result(lake: Lake) -> None:
    lake.sql("CREATE TABLE e (id bigint, amount decimal(10,2))")
    result = lake.sql("SELECT * FROM e")
    assert result.rows == []
    assert result.columns == ["id", "amount"]
    assert str(result.to_arrow().schema.field("amount").type) == "decimal128(10, 2)"
    assert lake.sql("SELECT count(*), sum(id) FROM e").rows == [(0, None)]


def test_names_are_case_insensitive_and_may_be_quoted(people: Lake) -> None:
    assert people.sql("SELECT ID, Name FROM T ORDER BY 1").rows == [(1, "a"), (2, "b")]
    assert people.sql('SELECT "id" FROM "default"."t" ORDER BY 1').rows == [(1,), (2,)]


def test_catalog_qualified_names(people: Lake) -> None:
    assert people.sql("SELECT count(*) FROM awsdatacatalog.default.t").scalar() == 2
    assert people.sql("SELECT count(*) FROM oaklake.default.t").scalar() == 2
    assert error_code(people.sql, "SELECT * FROM other.default.t") == "CATALOG_NOT_FOUND"


def test_table_alias_with_column_names(people: Lake) -> None:
    assert people.sql("SELECT x.a FROM t AS x(a, b) ORDER BY a").rows == [(1,), (2,)]


def test_unknown_names(people: Lake) -> None:
    with pytest.raises(Exception, match="did you mean 't'") as info:
        people.sql("SELECT * FROM tt")
    assert info.value.code == "TABLE_NOT_FOUND"  # type: ignore[attr-defined]
    assert error_code(people.sql, "SELECT nope FROM t") == "COLUMN_NOT_FOUND"
    assert error_code(people.sql, "SELECT * FROM nope.t") == "SCHEMA_NOT_FOUND"


def test_syntax_error_points_at_the_problem(people: Lake) -> None:
    with pytest.raises(SqlSyntaxError) as info:
        people.sql("SELECT *\nFROM t WHERE")
    assert info.value.code == "SYNTAX_ERROR"
    assert info.value.line == 2


def test_script_returns_the_last_result(people: Lake) -> None:
    assert people.sql("SELECT 1; SELECT count(*) FROM t").scalar() == 2
    results = people.sql_script("SELECT 1 AS a; SELECT 2 AS b")
    assert [r.rows for r in results] == [[(1,)], [(2,)]]


def test_cte_shadows_a_table_of_the_same_name(people: Lake) -> None:
    assert people.sql("WITH t AS (SELECT 42 AS id) SELECT * FROM t").rows == [(42,)]


def test_cte_body_may_read_the_table_it_shadows(people: Lake) -> None:
    """Non-recursive WITH: inside its own body, t is still the table (as in Trino)."""
    assert people.sql("WITH t AS (SELECT * FROM t WHERE id = 1) SELECT * FROM t").rows == [(1, "a")]


def test_cte_in_a_subquery_does_not_hide_the_table_elsewhere(people: Lake) -> None:
    sql = (
        "SELECT (SELECT count(*) FROM t) AS n, x.id "
        "FROM (WITH t AS (SELECT 7 AS id) SELECT id FROM t) x"
    )
    assert people.sql(sql).rows == [(2, 7)]


def test_later_cte_sees_earlier_ones(people: Lake) -> None:
    sql = (
        "WITH a AS (SELECT id FROM t), b AS (SELECT id * 10 AS id FROM a) "
        "SELECT id FROM b ORDER BY id"
    )
    assert people.sql(sql).rows == [(10,), (20,)]


def test_constant_select_and_integer_division(lake: Lake) -> None:
    assert lake.sql("SELECT 7 / 2 AS q, 7 % 2 AS r").rows == [(3, 1)]
    assert lake.sql("SELECT 'it''s' AS s").rows == [("it's",)]


def test_sum_of_bigint_is_a_bigint(people: Lake) -> None:
    """Athena's sum(bigint) is a bigint; DuckDB's HUGEINT would come back as a Decimal."""
    value = people.sql("SELECT sum(CAST(id AS bigint)) AS s FROM t").scalar()
    assert value == 3
    assert type(value) is int


def test_temp_views_are_dropped_after_each_statement(people: Lake) -> None:
    people.sql("SELECT * FROM t a JOIN t b ON a.id = b.id")
    with pytest.raises(Exception):  # noqa: B017 - any failure; the clean-up is under test
        people.sql("SELECT nope FROM t")
    people.sql('SELECT count(*) FROM "t$files"')
    con = people.engine.con
    views = con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
    tables = con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
    assert [v for v in views if v[0].startswith("__oak_")] == []
    assert [t for t in tables if t[0].startswith("__oak_")] == []


def test_unnest_and_values_beside_a_table(people: Lake) -> None:
    rows = people.sql(
        "SELECT t.id, u.x FROM t CROSS JOIN UNNEST(ARRAY[10, 20]) AS u(x) WHERE t.id = 1 ORDER BY x"
    ).rows
    assert rows == [(1, 10), (1, 20)]
    rows = people.sql(
        "SELECT v.id, t.name, v.tag FROM (VALUES (1, 'x')) AS v(id, tag) JOIN t ON t.id = v.id"
    ).rows
    assert rows == [(1, "a", "x")]


def test_explain_analyze(people: Lake) -> None:
    lines = [r[0] for r in people.sql("EXPLAIN ANALYZE SELECT * FROM t").rows]
    assert lines[0].startswith("Iceberg scan default.t")
    assert error_code(people.sql, "EXPLAIN CREATE TABLE x (a int)") == "NOT_SUPPORTED"


def test_unnamed_columns_are_named_like_athena(people: Lake) -> None:
    assert people.sql("SELECT count(*), max(id) + 1 FROM t").columns == ["_col0", "_col1"]


def test_parenthesised_join_keeps_its_inner_join(lake: Lake) -> None:
    """``(o JOIN i ON …)`` parses as table o carrying the join; replacing o must keep it."""
    lake.sql("CREATE TABLE c (id int)")
    lake.sql("CREATE TABLE o (id int, cid int)")
    lake.sql("CREATE TABLE i (id int)")
    lake.sql("INSERT INTO c VALUES (1), (2), (3)")
    lake.sql("INSERT INTO o VALUES (10, 1), (11, 1), (12, 2)")
    lake.sql("INSERT INTO i VALUES (10), (12)")
    expected = [(1, 10, 10), (2, 12, 12), (3, None, None)]
    sql = "SELECT c.id, o.id, i.id FROM c LEFT JOIN (o JOIN i ON o.id = i.id) ON c.id = o.cid"
    assert lake.sql(sql + " ORDER BY 1").rows == expected
    lake.sql("CREATE VIEW ov AS SELECT * FROM o")
    sql = "SELECT c.id, ov.id, i.id FROM c LEFT JOIN (ov JOIN i ON ov.id = i.id) ON c.id = ov.cid"
    assert lake.sql(sql + " ORDER BY 1").rows == expected


def test_tablesample_is_applied(lake: Lake) -> None:
    lake.sql("CREATE TABLE n (x int)")
    lake.sql("INSERT INTO n SELECT x FROM UNNEST(sequence(1, 1000)) AS u(x)")
    lake.sql("CREATE VIEW nv AS SELECT * FROM n")
    assert lake.sql("SELECT count(*) FROM n TABLESAMPLE BERNOULLI (0)").scalar() == 0
    assert lake.sql("SELECT count(*) FROM n TABLESAMPLE BERNOULLI (100)").scalar() == 1000
    assert lake.sql("SELECT count(*) FROM nv TABLESAMPLE BERNOULLI (0)").scalar() == 0
    some = lake.sql("SELECT count(*) FROM n TABLESAMPLE BERNOULLI (50)").scalar()
    assert 0 < some < 1000
