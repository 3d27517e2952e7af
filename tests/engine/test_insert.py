"""INSERT INTO: VALUES and SELECT, column lists, one snapshot per statement, type checks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from engine_helpers import error_code

from oaklake.app import Lake

COLUMNS = "id int, name string, amt decimal(10,2), ts timestamp, d date, f double, ok boolean"


@pytest.fixture
def t(lake: Lake) -> Lake:
    lake.sql(f"CREATE TABLE t ({COLUMNS})")
    return lake


def snapshot_count(lake: Lake, table: str = "t") -> int:
    return lake.sql(f'SELECT count(*) FROM "{table}$snapshots"').scalar()


def test_insert_values_returns_count_and_snapshot(t: Lake) -> None:
    result = t.sql(
        "INSERT INTO t VALUES (1, 'a', 1.5, TIMESTAMP '2024-01-01 10:00:00', DATE '2024-01-01', "
        "0.25, true), (2, NULL, NULL, NULL, NULL, NULL, NULL)"
    )
    assert result.affected_rows == 2
    assert result.message == "2 rows inserted"
    current = t.sql("SELECT snapshot_id FROM \"t$refs\" WHERE name = 'main'").scalar()
    assert result.snapshot_id == current
    assert t.sql("SELECT * FROM t ORDER BY id").rows == [
        (1, "a", Decimal("1.50"), dt.datetime(2024, 1, 1, 10), dt.date(2024, 1, 1), 0.25, True),
        (2, None, None, None, None, None, None),
    ]


def test_column_list_in_any_order_fills_the_rest_with_null(t: Lake) -> None:
    t.sql("INSERT INTO t (name, id) VALUES ('b', 2)")
    t.sql("INSERT INTO t (ok, id) SELECT true, 3")
    assert t.sql("SELECT id, name, amt, ok FROM t ORDER BY id").rows == [
        (2, "b", None, None),
        (3, None, None, True),
    ]


def test_insert_select_from_another_table_and_from_itself(t: Lake) -> None:
    t.sql("CREATE TABLE src (k int, label string)")
    t.sql("INSERT INTO src VALUES (1, 'x'), (2, 'y'), (3, 'z')")
    result = t.sql("INSERT INTO t (id, name) SELECT k * 10, upper(label) FROM src WHERE k > 1")
    assert result.affected_rows == 2
    t.sql("INSERT INTO t SELECT * FROM t")  # reads the snapshot before its own append
    assert t.sql("SELECT id, name, count(*) FROM t GROUP BY 1, 2 ORDER BY 1").rows == [
        (20, "Y", 2),
        (30, "Z", 2),
    ]


def test_one_snapshot_per_statement(t: Lake) -> None:
    t.sql("INSERT INTO t (id) VALUES (1), (2), (3)")
    assert snapshot_count(t) == 1
    t.sql("INSERT INTO t (id) SELECT id + 10 FROM t")
    assert snapshot_count(t) == 2
    results = t.sql_script("INSERT INTO t (id) VALUES (100); INSERT INTO t (id) VALUES (101)")
    assert snapshot_count(t) == 4
    assert results[0].snapshot_id != results[1].snapshot_id


def test_inserting_nothing_commits_nothing(t: Lake) -> None:
    result = t.sql("INSERT INTO t (id) SELECT 1 WHERE false")
    assert result.affected_rows == 0
    assert result.snapshot_id is None
    assert snapshot_count(t) == 0


def test_failed_statement_in_a_script_keeps_earlier_commits(t: Lake) -> None:
    with pytest.raises(Exception, match="statement 2") as info:
        t.sql_script(
            "INSERT INTO t (id) VALUES (1); INSERT INTO t (id) VALUES ('x'); "
            "INSERT INTO t (id) VALUES (3)"
        )
    assert info.value.code == "TYPE_MISMATCH"  # type: ignore[attr-defined]
    assert t.sql("SELECT id FROM t").rows == [(1,)]
    assert snapshot_count(t) == 1


def test_into_a_partitioned_table(lake: Lake) -> None:
    lake.sql(
        "CREATE TABLE p (id bigint, ts timestamp, cat string) "
        "PARTITIONED BY (day(ts), bucket(4, id), cat)"
    )
    result = lake.sql(
        "INSERT INTO p SELECT i, TIMESTAMP '2024-01-01 00:00:00' + i * INTERVAL '7' HOUR, "
        "CASE WHEN i % 2 = 0 THEN 'x' END FROM UNNEST(sequence(1, 20)) AS u(i)"
    )
    assert result.affected_rows == 20
    assert snapshot_count(lake, "p") == 1
    files, records = lake.sql('SELECT count(*), sum(record_count) FROM "p$files"').rows[0]
    assert records == 20
    assert files > 4  # spread over day x bucket x cat partitions
    lake.sql("INSERT INTO p VALUES (NULL, NULL, NULL)")  # NULL partition values are fine
    assert lake.sql("SELECT count(*) FROM p WHERE id IS NULL AND ts IS NULL").scalar() == 1
    assert lake.sql("SELECT count(*) FROM p WHERE cat = 'x'").scalar() == 10
    days = {r[0] for r in lake.sql("SELECT CAST(ts AS date) FROM p").rows}
    partition_days = {r[0]["ts_day"] for r in lake.sql('SELECT partition FROM "p$partitions"').rows}
    assert partition_days == days  # including the NULL partition


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("INSERT INTO t (id) VALUES ('x')", "column id is int but the query gives varchar"),
        ("INSERT INTO t (name) VALUES (5)", "column name is string but the query gives integer"),
        ("INSERT INTO t (ok) VALUES (1)", "column ok is boolean"),
        ("INSERT INTO t (d) VALUES (TIMESTAMP '2024-01-02 03:04:05')", "column d is date"),
        ("INSERT INTO t (id) VALUES (3000000000)", "out of range"),
        ("INSERT INTO t (amt) VALUES (123456789012.5)", "out of range"),
        ("INSERT INTO t (ts) VALUES ('not a time')", "timestamp"),
    ],
)
def test_type_mismatch(t: Lake, sql: str, message: str) -> None:
    with pytest.raises(Exception, match=message) as info:
        t.sql(sql)
    assert info.value.code == "TYPE_MISMATCH"  # type: ignore[attr-defined]
    assert snapshot_count(t) == 0


def test_implicit_conversions_athena_allows(t: Lake) -> None:
    t.sql("INSERT INTO t (id, ts, d) VALUES (1, '2024-01-02 03:04:05', '2024-01-02')")
    t.sql("INSERT INTO t (id, ts, f, amt) VALUES (2, DATE '2024-01-03', 1, 7)")
    assert t.sql("SELECT id, ts, d, f, amt FROM t ORDER BY id").rows == [
        (1, dt.datetime(2024, 1, 2, 3, 4, 5), dt.date(2024, 1, 2), None, None),
        (2, dt.datetime(2024, 1, 3), None, 1.0, Decimal("7.00")),
    ]


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO t VALUES (1, 'a')",
        "INSERT INTO t (id) VALUES (1, 2)",
        "INSERT INTO t (id, name) SELECT 1",
    ],
)
def test_column_count_mismatch(t: Lake, sql: str) -> None:
    with pytest.raises(Exception, match="mismatched column count") as info:
        t.sql(sql)
    assert info.value.code == "TYPE_MISMATCH"  # type: ignore[attr-defined]


def test_bad_targets(t: Lake) -> None:
    assert error_code(t.sql, "INSERT INTO t (nope) VALUES (1)") == "COLUMN_NOT_FOUND"
    assert error_code(t.sql, "INSERT INTO t (id, id) VALUES (1, 2)") == "INVALID_INPUT"
    assert error_code(t.sql, "INSERT INTO nope VALUES (1)") == "TABLE_NOT_FOUND"
    assert error_code(t.sql, "INSERT OVERWRITE TABLE t SELECT * FROM t") == "NOT_SUPPORTED"
    t.sql("CREATE VIEW v AS SELECT 1 AS id")
    assert error_code(t.sql, "INSERT INTO v VALUES (1)") == "NOT_SUPPORTED"


def test_nested_types(lake: Lake) -> None:
    lake.sql(
        "CREATE TABLE s (id int, st struct<a:int,b:string>, arr array<int>, m map<string,int>)"
    )
    lake.sql(
        "INSERT INTO s VALUES (1, CAST(ROW(1, 'x') AS ROW(a integer, b varchar)), ARRAY[1, 2], "
        "MAP(ARRAY['k'], ARRAY[5]))"
    )
    assert lake.sql("SELECT st.a, st.b, arr[2], element_at(m, 'k') FROM s").rows == [(1, "x", 2, 5)]


@pytest.mark.xfail(
    strict=True,
    reason="an anonymous ROW(...) is a struct with fields _0, _1 in DuckDB, which will not cast "
    "to struct<a,b> by position as Athena does",
)
def test_anonymous_row_into_a_struct_column(lake: Lake) -> None:
    lake.sql("CREATE TABLE s (id int, st struct<a:int,b:string>)")
    lake.sql("INSERT INTO s VALUES (1, ROW(1, 'x'))")
    assert lake.sql("SELECT st.a, st.b FROM s").rows == [(1, "x")]
