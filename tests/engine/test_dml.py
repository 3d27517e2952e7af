"""UPDATE / DELETE / MERGE semantics, with plain DuckDB as the oracle.

The same statements run on an oaklake Iceberg table and on a DuckDB table holding the same rows;
the final tables must be equal, and each oaklake statement must add exactly one snapshot.
"""

from __future__ import annotations

import duckdb
import pytest

from oaklake.app import Lake
from oaklake.errors import ColumnNotFound, InvalidInput, NotSupported, OakError, TypeMismatch

SETUP = [
    """CREATE TABLE t (id bigint, ts timestamp, cat string, v double, n int)
       PARTITIONED BY (day(ts), bucket(4, id))""",
    """INSERT INTO t SELECT i, TIMESTAMP '2024-01-01 00:00:00' + i * INTERVAL '5' HOUR,
       CASE WHEN i % 7 = 0 THEN NULL ELSE 'c' || CAST(i % 3 AS varchar) END,
       i * 1.5, CAST(i % 5 AS integer) FROM unnest(sequence(1, 200)) AS x(i)""",
    """CREATE TABLE s AS SELECT i AS id, i * 10.0 AS v, i % 4 = 0 AS del,
       TIMESTAMP '2024-03-01 00:00:00' + i * INTERVAL '1' HOUR AS ts
       FROM unnest(sequence(150, 260)) AS x(i)""",
]
DUCK_SETUP = [
    "CREATE TABLE t (id bigint, ts timestamp, cat varchar, v double, n int)",
    """INSERT INTO t SELECT i, TIMESTAMP '2024-01-01 00:00:00' + i * INTERVAL 5 HOUR,
       CASE WHEN i % 7 = 0 THEN NULL ELSE 'c' || CAST(i % 3 AS varchar) END,
       i * 1.5, CAST(i % 5 AS integer) FROM range(1, 201) AS x(i)""",
    """CREATE TABLE s AS SELECT i AS id, i * 10.0 AS v, i % 4 = 0 AS del,
       TIMESTAMP '2024-03-01 00:00:00' + i * INTERVAL 1 HOUR AS ts FROM range(150, 261) AS x(i)""",
]

# (oaklake statement in Athena SQL, the same in DuckDB SQL, expected affected rows or None)
CASES = [
    ("UPDATE t SET v = v + 1 WHERE cat = 'c1'", "UPDATE t SET v = v + 1 WHERE cat = 'c1'", None),
    (
        "UPDATE t SET cat = 'none' WHERE cat IS NULL",
        "UPDATE t SET cat = 'none' WHERE cat IS NULL",
        28,
    ),
    ("UPDATE t SET v = 0", "UPDATE t SET v = 0", 200),
    (
        "UPDATE t SET n = n * 2, v = v / 2 WHERE id > 100 AND n > 2",
        "UPDATE t SET n = n * 2, v = v / 2 WHERE id > 100 AND n > 2",
        None,
    ),
    (
        "UPDATE t SET ts = ts + INTERVAL '30' DAY WHERE id < 10",
        "UPDATE t SET ts = ts + INTERVAL 30 DAY WHERE id < 10",
        9,
    ),
    (
        "UPDATE t SET v = (SELECT max(v) FROM s) WHERE id IN (SELECT id FROM s WHERE del)",
        "UPDATE t SET v = (SELECT max(v) FROM s) WHERE id IN (SELECT id FROM s WHERE del)",
        None,
    ),
    ("UPDATE t SET v = -1 WHERE id = -5", "UPDATE t SET v = -1 WHERE id = -5", 0),
    ("DELETE FROM t WHERE cat = 'c2'", "DELETE FROM t WHERE cat = 'c2'", None),
    (
        "DELETE FROM t WHERE ts < TIMESTAMP '2024-01-05 00:00:00'",
        "DELETE FROM t WHERE ts < TIMESTAMP '2024-01-05 00:00:00'",
        None,
    ),
    (
        "DELETE FROM t WHERE id IN (SELECT id FROM s)",
        "DELETE FROM t WHERE id IN (SELECT id FROM s)",
        51,
    ),
    ("DELETE FROM t WHERE cat IS NULL OR n = 3", "DELETE FROM t WHERE cat IS NULL OR n = 3", None),
    ("DELETE FROM t", "DELETE FROM t", 200),
    ("DELETE FROM t WHERE v > 1e9", "DELETE FROM t WHERE v > 1e9", 0),
    (
        """MERGE INTO t AS x USING s AS y ON x.id = y.id
           WHEN MATCHED AND y.del THEN DELETE
           WHEN MATCHED THEN UPDATE SET v = y.v, cat = 'merged'
           WHEN NOT MATCHED THEN INSERT (id, ts, cat, v, n) VALUES (y.id, y.ts, 'new', y.v, 0)""",
        """MERGE INTO t AS x USING s AS y ON x.id = y.id
           WHEN MATCHED AND y.del THEN DELETE
           WHEN MATCHED THEN UPDATE SET v = y.v, cat = 'merged'
           WHEN NOT MATCHED THEN INSERT (id, ts, cat, v, n) VALUES (y.id, y.ts, 'new', y.v, 0)""",
        111,
    ),
    (
        """MERGE INTO t USING (SELECT id, v FROM s WHERE id < 180) AS src ON t.id = src.id
           WHEN MATCHED THEN UPDATE SET v = t.v + src.v""",
        """MERGE INTO t USING (SELECT id, v FROM s WHERE id < 180) AS src ON t.id = src.id
           WHEN MATCHED THEN UPDATE SET v = t.v + src.v""",
        30,
    ),
    (
        """MERGE INTO t USING s ON t.id = s.id
           WHEN NOT MATCHED AND s.id % 2 = 0 THEN INSERT (id, v) VALUES (s.id, s.v)
           WHEN NOT MATCHED THEN INSERT (id, cat) VALUES (s.id, 'odd')""",
        """MERGE INTO t USING s ON t.id = s.id
           WHEN NOT MATCHED AND s.id % 2 = 0 THEN INSERT (id, v) VALUES (s.id, s.v)
           WHEN NOT MATCHED THEN INSERT (id, cat) VALUES (s.id, 'odd')""",
        60,
    ),
    (
        """MERGE INTO t AS x USING s AS y ON x.id = y.id AND x.n >= 2
           WHEN MATCHED AND x.n = 4 THEN DELETE
           WHEN MATCHED AND x.n = 3 THEN UPDATE SET n = 30
           WHEN MATCHED THEN UPDATE SET n = 20""",
        """MERGE INTO t AS x USING s AS y ON x.id = y.id AND x.n >= 2
           WHEN MATCHED AND x.n = 4 THEN DELETE
           WHEN MATCHED AND x.n = 3 THEN UPDATE SET n = 30
           WHEN MATCHED THEN UPDATE SET n = 20""",
        None,
    ),
]


def _oracle(statement: str) -> tuple[list[tuple[object, ...]], int]:
    con = duckdb.connect()
    for sql in DUCK_SETUP:
        con.execute(sql)
    affected = con.execute(statement).fetchall()[0][0]
    rows = con.execute("SELECT id, ts, cat, v, n FROM t ORDER BY id").fetchall()
    return rows, int(affected)


def _snapshots(lake: Lake) -> int:
    return int(lake.sql('SELECT count(*) FROM "t$snapshots"').scalar())


@pytest.mark.parametrize(("ours", "theirs", "expected"), CASES, ids=[c[0][:50] for c in CASES])
def test_matches_duckdb(lake: Lake, ours: str, theirs: str, expected: int | None) -> None:
    for sql in SETUP:
        lake.sql(sql)
    before = _snapshots(lake)
    result = lake.sql(ours)
    rows = lake.sql("SELECT id, ts, cat, v, n FROM t ORDER BY id").rows
    oracle_rows, oracle_affected = _oracle(theirs)
    assert rows == oracle_rows
    assert result.affected_rows == oracle_affected
    if expected is not None:
        assert result.affected_rows == expected
    # one statement = one snapshot (and none when nothing changed)
    assert _snapshots(lake) == before + (1 if result.affected_rows else 0)


def test_one_overwrite_snapshot_with_counts(lake: Lake) -> None:
    for sql in SETUP:
        lake.sql(sql)
    lake.sql("UPDATE t SET v = 0 WHERE id <= 10")
    op, summary = lake.sql(
        'SELECT operation, summary FROM "t$snapshots" ORDER BY committed_at DESC LIMIT 1'
    ).rows[0]
    assert op == "overwrite"
    assert dict(summary)["total-records"] == "200"


def test_partition_aligned_delete_drops_files_without_rewriting(lake: Lake) -> None:
    lake.sql("CREATE TABLE p (id bigint, g int) PARTITIONED BY (g)")
    lake.sql("INSERT INTO p SELECT i, CAST(i % 4 AS integer) FROM unnest(sequence(1, 40)) AS x(i)")
    result = lake.sql("DELETE FROM p WHERE g = 1")
    assert result.affected_rows == 10
    summary = dict(
        lake.sql('SELECT summary FROM "p$snapshots" ORDER BY committed_at DESC LIMIT 1').scalar()
    )
    assert summary["deleted-data-files"] == "1"
    assert "added-data-files" not in summary or summary["added-data-files"] == "0"
    assert lake.sql("SELECT count(*) FROM p").scalar() == 30


def test_time_travel_sees_the_row_before_an_update(lake: Lake) -> None:
    lake.sql("CREATE TABLE k (id bigint, v string)")
    first = lake.sql("INSERT INTO k VALUES (1, 'old')").snapshot_id
    lake.sql("UPDATE k SET v = 'new' WHERE id = 1")
    assert lake.sql("SELECT v FROM k").scalar() == "new"
    assert lake.sql(f"SELECT v FROM k FOR VERSION AS OF {first}").scalar() == "old"


def test_merge_rejects_a_target_row_matched_twice_and_changes_nothing(lake: Lake) -> None:
    lake.sql("CREATE TABLE k (id bigint, v string)")
    lake.sql("INSERT INTO k VALUES (1, 'a'), (2, 'b')")
    lake.sql("CREATE TABLE src AS SELECT * FROM (VALUES (1, 'x'), (1, 'y')) AS v(id, v)")
    before = _count_snapshots(lake, "k")
    with pytest.raises(OakError) as err:
        lake.sql("MERGE INTO k USING src ON k.id = src.id WHEN MATCHED THEN UPDATE SET v = src.v")
    assert err.value.code == "MERGE_TARGET_ROW_MULTIPLE_MATCHES"
    assert lake.sql("SELECT id, v FROM k ORDER BY id").rows == [(1, "a"), (2, "b")]
    assert _count_snapshots(lake, "k") == before


def _count_snapshots(lake: Lake, table: str) -> int:
    return int(lake.sql(f'SELECT count(*) FROM "{table}$snapshots"').scalar())


@pytest.mark.parametrize(
    ("sql", "error"),
    [
        ("UPDATE k SET nope = 1", ColumnNotFound),
        ("UPDATE k SET v = 1, v = 2", InvalidInput),
        ("UPDATE k SET id = 'abc'", TypeMismatch),
        ("UPDATE k FOR VERSION AS OF 1 SET v = 'x'", OakError),
        ('DELETE FROM "k$files"', NotSupported),
        ("MERGE INTO k USING k ON k.id = k.id WHEN MATCHED THEN DELETE", OakError),
        (
            "MERGE INTO k USING (SELECT 1 AS id) AS s ON k.id = s.id "
            "WHEN NOT MATCHED THEN INSERT (id, nope) VALUES (s.id, 1)",
            ColumnNotFound,
        ),
        (
            "MERGE INTO k USING (SELECT 1 AS id) AS s ON k.id = s.id "
            "WHEN NOT MATCHED THEN INSERT (id, v) VALUES (s.id)",
            TypeMismatch,
        ),
        (
            "MERGE INTO k USING (SELECT 1 AS id) AS s ON k.id = s.id "
            "WHEN NOT MATCHED THEN UPDATE SET v = 'x'",
            InvalidInput,
        ),
    ],
)
def test_bad_statements_fail_cleanly_and_change_nothing(lake: Lake, sql: str, error: type) -> None:
    lake.sql("CREATE TABLE k (id bigint, v string)")
    lake.sql("INSERT INTO k VALUES (1, 'a')")
    before = _count_snapshots(lake, "k")
    with pytest.raises(error):
        lake.sql(sql)
    assert lake.sql("SELECT id, v FROM k").rows == [(1, "a")]
    assert _count_snapshots(lake, "k") == before


def test_dml_on_an_empty_table_affects_nothing(lake: Lake) -> None:
    lake.sql("CREATE TABLE e (id bigint, v string)")
    assert lake.sql("UPDATE e SET v = 'x'").affected_rows == 0
    assert lake.sql("DELETE FROM e").affected_rows == 0
    result = lake.sql(
        "MERGE INTO e USING (SELECT 1 AS id) AS s ON e.id = s.id "
        "WHEN NOT MATCHED THEN INSERT (id, v) VALUES (s.id, 'new')"
    )
    assert result.affected_rows == 1
    assert lake.sql("SELECT id, v FROM e").rows == [(1, "new")]
