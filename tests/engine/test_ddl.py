"""DDL: CREATE (partition transforms, properties, CTAS), DROP, schemas, SHOW, DESCRIBE, ALTER."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import error_code

from oaklake.app import Lake
from oaklake.engine.session import Engine


def spec_of(lake: Lake, name: str, schema: str = "default") -> list[tuple[str, str, str]]:
    """(field name, transform, source column) of the table's current partition spec."""
    table = lake.catalog.load_table(schema, name)
    return [
        (f.name, str(f.transform), table.schema().find_column_name(f.source_id))
        for f in table.spec().fields
    ]


def table_dir(lake: Lake, name: str, schema: str = "default") -> Path:
    location = lake.catalog.load_table(schema, name).location()
    assert location.startswith("file://")
    return Path(location[len("file://") :])


COLUMNS = "id bigint, n int, ts timestamp, d date, cat string, amt decimal(10,2)"


# -- partition transforms ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("cat", [("cat", "identity", "cat")]),
        ("year(ts)", [("ts_year", "year", "ts")]),
        ("month(d)", [("d_month", "month", "d")]),
        ("day(ts)", [("ts_day", "day", "ts")]),
        ("day(d)", [("d_day", "day", "d")]),
        ("hour(ts)", [("ts_hour", "hour", "ts")]),
        ("bucket(16, id)", [("id_bucket", "bucket[16]", "id")]),
        ("bucket(4, cat)", [("cat_bucket", "bucket[4]", "cat")]),
        ("truncate(3, cat)", [("cat_trunc", "truncate[3]", "cat")]),
        ("truncate(10, n)", [("n_trunc", "truncate[10]", "n")]),
        ("truncate(2, amt)", [("amt_trunc", "truncate[2]", "amt")]),
        (
            "cat, day(ts), bucket(8, id)",
            [("cat", "identity", "cat"), ("ts_day", "day", "ts"), ("id_bucket", "bucket[8]", "id")],
        ),
    ],
)
def test_partition_transform_becomes_the_iceberg_spec(
    lake: Lake, clause: str, expected: list[tuple[str, str, str]]
) -> None:
    lake.sql(f"CREATE TABLE t ({COLUMNS}) PARTITIONED BY ({clause})")
    assert spec_of(lake, "t") == expected
    # and it reads back the way it was written
    shown = lake.sql("SHOW CREATE TABLE t").scalar()
    assert f"PARTITIONED BY ({clause})" in shown


def test_every_transform_accepts_writes_and_splits_files(lake: Lake) -> None:
    lake.sql(
        "CREATE TABLE t (id bigint, ts timestamp, ts2 timestamp, d date, cat string, code string) "
        "PARTITIONED BY (cat, year(ts), month(d), hour(ts2), bucket(4, id), truncate(2, code))"
    )
    lake.sql(
        "INSERT INTO t VALUES "
        "(1, TIMESTAMP '2024-01-01 10:00:00', TIMESTAMP '2024-01-01 10:00:00', "
        "DATE '2024-01-01', 'a', 'xy1'), "
        "(2, TIMESTAMP '2024-03-01 11:00:00', TIMESTAMP '2024-01-01 10:59:00', "
        "DATE '2024-02-01', 'b', 'xy2'), "
        "(3, TIMESTAMP '2025-06-01 10:00:00', TIMESTAMP '2024-01-01 11:00:00', "
        "DATE '2024-02-01', 'b', 'zz')"
    )
    partitions = lake.sql('SELECT partition FROM "t$partitions"').rows
    assert len(partitions) == 3
    assert {tuple(sorted(p[0])) for p in partitions} == {
        ("cat", "code_trunc", "d_month", "id_bucket", "ts2_hour", "ts_year")
    }
    truncated = sorted(p[0]["code_trunc"] for p in partitions)
    assert truncated == ["xy", "xy", "zz"]
    assert (
        lake.sql("SELECT sum(id) FROM t WHERE cat = 'b' AND d >= DATE '2024-02-01'").scalar() == 5
    )
    assert lake.sql("SELECT id FROM t WHERE ts2 >= TIMESTAMP '2024-01-01 10:30:00'").rows in (
        [(2,), (3,)],
        [(3,), (2,)],
    )


@pytest.mark.parametrize(
    ("clause", "code"),
    [
        ("hour(d)", "TYPE_MISMATCH"),
        ("truncate(2, d)", "TYPE_MISMATCH"),
        ("year(cat)", "TYPE_MISMATCH"),
        ("bucket(0, id)", "INVALID_INPUT"),
        ("nope", "COLUMN_NOT_FOUND"),
        ("day(ts), day(ts)", "INVALID_INPUT"),
        ("day(ts), hour(ts)", "NOT_SUPPORTED"),
        ("cat, truncate(2, cat)", "NOT_SUPPORTED"),
        ("cat string", "INVALID_INPUT"),
    ],
)
def test_bad_partitioning_is_refused_before_anything_exists(
    lake: Lake, clause: str, code: str
) -> None:
    assert error_code(lake.sql, f"CREATE TABLE t ({COLUMNS}) PARTITIONED BY ({clause})") == code
    assert lake.sql("SHOW TABLES").rows == []


# -- column types --------------------------------------------------------------------------
def test_column_types_map_to_athena_names(lake: Lake) -> None:
    lake.sql(
        "CREATE TABLE t (a int, b bigint, c float, d double, e decimal(12,3), f boolean, "
        "g date, h timestamp, i string, j varchar(20), k binary, l array<string>, "
        "m map<string,int>, n struct<x:int,y:string>, o timestamp with time zone)"
    )
    assert lake.sql("DESCRIBE t").rows == [
        ("a", "int", ""),
        ("b", "bigint", ""),
        ("c", "float", ""),
        ("d", "double", ""),
        ("e", "decimal(12,3)", ""),
        ("f", "boolean", ""),
        ("g", "date", ""),
        ("h", "timestamp", ""),
        ("i", "string", ""),
        ("j", "string", ""),
        ("k", "binary", ""),
        ("l", "array<string>", ""),
        ("m", "map<string,int>", ""),
        ("n", "struct<x:int,y:string>", ""),
        ("o", "timestamp with time zone", ""),
    ]


@pytest.mark.parametrize("dtype", ["tinyint", "smallint", "char(3)"])
def test_types_iceberg_lacks_are_not_supported(lake: Lake, dtype: str) -> None:
    assert error_code(lake.sql, f"CREATE TABLE t (id {dtype})") == "NOT_SUPPORTED"


def test_column_comments_and_duplicates(lake: Lake) -> None:
    lake.sql("CREATE TABLE t (id bigint COMMENT 'the key', name string)")
    assert lake.sql("DESCRIBE t").rows[0] == ("id", "bigint", "the key")
    assert error_code(lake.sql, "CREATE TABLE u (a int, A int)") == "TYPE_MISMATCH"
    assert error_code(lake.sql, "CREATE TABLE u (a int NOT NULL)") == "NOT_SUPPORTED"


# -- properties ----------------------------------------------------------------------------
def test_allowed_properties_are_stored_with_their_iceberg_twins(lake: Lake) -> None:
    lake.sql(
        "CREATE TABLE t (id int) TBLPROPERTIES ('table_type'='ICEBERG', 'format'='parquet', "
        "'Write_Compression'='SNAPPY', 'vacuum_max_snapshot_age_seconds'='259200', "
        "'write_target_data_file_size_bytes'='1048576')"
    )
    props = lake.catalog.load_table("default", "t").properties
    assert props["write_compression"] == "snappy"
    assert props["write.parquet.compression-codec"] == "snappy"
    assert props["write.target-file-size-bytes"] == "1048576"
    assert dict(lake.sql("SHOW TBLPROPERTIES t").rows) == {
        "format": "parquet",
        "table_type": "ICEBERG",
        "vacuum_max_snapshot_age_seconds": "259200",
        "write_compression": "snappy",
        "write_target_data_file_size_bytes": "1048576",
    }
    assert lake.sql("SHOW TBLPROPERTIES t ('write_compression')").rows == [
        ("write_compression", "snappy")
    ]
    assert error_code(lake.sql, "SHOW TBLPROPERTIES t ('nope')") == "PROPERTY_NOT_FOUND"


def test_default_compression_is_zstd(lake: Lake) -> None:
    lake.sql("CREATE TABLE t (id int)")
    props = lake.catalog.load_table("default", "t").properties
    assert props["write.parquet.compression-codec"] == "zstd"


@pytest.mark.parametrize(
    ("props", "code"),
    [
        ("'foo'='bar'", "INVALID_PROPERTY"),
        ("'table_type'='HIVE'", "NOT_SUPPORTED"),
        ("'format'='orc'", "NOT_SUPPORTED"),
        ("'write_compression'='brotli'", "INVALID_PROPERTY"),
        ("'vacuum_min_snapshots_to_keep'='x'", "INVALID_PROPERTY"),
        ("'optimize_rewrite_data_file_threshold'='-1'", "INVALID_PROPERTY"),
    ],
)
def test_property_allow_list(lake: Lake, props: str, code: str) -> None:
    assert error_code(lake.sql, f"CREATE TABLE t (id int) TBLPROPERTIES ({props})") == code
    assert lake.sql("SHOW TABLES").rows == []


def test_external_table_is_not_supported(lake: Lake) -> None:
    sql = (
        "CREATE EXTERNAL TABLE t (id int) LOCATION 's3://bucket/t/' "
        "TBLPROPERTIES ('table_type'='ICEBERG')"
    )
    with pytest.raises(Exception, match="External keyword not supported") as info:
        lake.sql(sql)
    assert info.value.code == "NOT_SUPPORTED"  # type: ignore[attr-defined]


def test_table_comment(lake: Lake) -> None:
    lake.sql("CREATE TABLE t (id int) COMMENT 'all the ids'")
    assert ("comment", "all the ids") in lake.sql("SHOW TBLPROPERTIES t").rows


def test_create_if_not_exists_and_already_exists(lake: Lake) -> None:
    lake.sql("CREATE TABLE t (id int)")
    assert "already exists" in lake.sql("CREATE TABLE IF NOT EXISTS t (id int)").message
    assert error_code(lake.sql, "CREATE TABLE t (id int)") == "ALREADY_EXISTS"
    assert error_code(lake.sql, "CREATE OR REPLACE TABLE t (id int)") == "NOT_SUPPORTED"


def test_create_with_location(lake: Lake) -> None:
    lake.sql("CREATE TABLE t (id int) LOCATION 'custom/place'")
    assert table_dir(lake, "t") == (lake.settings.root / "custom" / "place").resolve()
    lake.sql("INSERT INTO t VALUES (1)")
    assert list(table_dir(lake, "t").rglob("*.parquet"))


# -- CTAS ----------------------------------------------------------------------------------
def test_ctas_plain_keeps_types_and_rows(lake: Lake) -> None:
    lake.sql(
        "CREATE TABLE t AS SELECT 1 AS a, CAST(2 AS bigint) AS b, 1.5 AS c, 1.5e0 AS d, "
        "'x' AS e, DATE '2024-01-01' AS f, TIMESTAMP '2024-01-01 00:00:00.123' AS g, "
        "true AS h, CAST(NULL AS varchar) AS i, ARRAY[1, 2] AS j, sum(1) AS k"
    )
    assert [r[:2] for r in lake.sql("DESCRIBE t").rows] == [
        ("a", "int"),
        ("b", "bigint"),
        ("c", "decimal(2,1)"),
        ("d", "double"),
        ("e", "string"),
        ("f", "date"),
        ("g", "timestamp"),
        ("h", "boolean"),
        ("i", "string"),
        ("j", "array<int>"),
        ("k", "bigint"),
    ]
    row = lake.sql("SELECT a, b, e, CAST(g AS varchar), j, k FROM t").rows
    assert row == [(1, 2, "x", "2024-01-01 00:00:00.123", [1, 2], 1)]


def test_ctas_with_athena_properties_and_partitioning(lake: Lake) -> None:
    lake.sql("CREATE TABLE src (id bigint, ts timestamp, cat string)")
    lake.sql(
        "INSERT INTO src VALUES (1, TIMESTAMP '2024-01-01 10:00:00', 'a'), "
        "(2, TIMESTAMP '2024-01-02 10:00:00', 'b'), (3, TIMESTAMP '2024-01-02 11:00:00', 'b')"
    )
    result = lake.sql(
        "CREATE TABLE t WITH (table_type='ICEBERG', is_external=false, format='PARQUET', "
        "write_compression='gzip', partitioning=ARRAY['day(ts)', 'bucket(4, id)', 'cat']) "
        "AS SELECT * FROM src"
    )
    assert result.affected_rows == 3
    assert result.snapshot_id is not None
    assert spec_of(lake, "t") == [
        ("ts_day", "day", "ts"),
        ("id_bucket", "bucket[4]", "id"),
        ("cat", "identity", "cat"),
    ]
    assert lake.catalog.load_table("default", "t").properties["write_compression"] == "gzip"
    assert lake.sql("SELECT id FROM t ORDER BY id").rows == [(1,), (2,), (3,)]
    assert lake.sql('SELECT count(*) FROM "t$files"').scalar() == 3


def test_ctas_location_and_no_data(lake: Lake) -> None:
    lake.sql("CREATE TABLE t WITH (location='elsewhere/t') AS SELECT 1 AS a")
    assert table_dir(lake, "t") == (lake.settings.root / "elsewhere" / "t").resolve()
    result = lake.sql("CREATE TABLE empty AS SELECT 1 AS a, 'x' AS b WITH NO DATA")
    assert result.affected_rows == 0
    assert lake.sql("SELECT count(*) FROM empty").scalar() == 0
    assert [r[:2] for r in lake.sql("DESCRIBE empty").rows] == [("a", "int"), ("b", "string")]


@pytest.mark.parametrize(
    ("sql", "code"),
    [
        ("CREATE TABLE t AS SELECT 1 + 1", "INVALID_INPUT"),
        ("CREATE TABLE t WITH (is_external=true) AS SELECT 1 AS a", "NOT_SUPPORTED"),
        ("CREATE TABLE t WITH (foo='bar') AS SELECT 1 AS a", "INVALID_PROPERTY"),
        ("CREATE TABLE t WITH (partitioning=ARRAY['nope']) AS SELECT 1 AS a", "COLUMN_NOT_FOUND"),
        ("CREATE TABLE t AS SELECT 1 / 0 AS a", "QUERY_FAILED"),
        ("CREATE TABLE t AS SELECT CAST('x' AS integer) AS a", "TYPE_MISMATCH"),
        ("CREATE TABLE t AS SELECT INTERVAL '1' DAY AS a", "TYPE_MISMATCH"),
    ],
)
def test_ctas_failure_leaves_nothing_behind(lake: Lake, sql: str, code: str) -> None:
    assert error_code(lake.sql, sql) == code
    assert lake.sql("SHOW TABLES").rows == []
    assert not (lake.settings.root / "warehouse" / "default" / "t").exists()


def test_ctas_failing_while_writing_drops_the_new_table(
    lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Engine, table: Any, arrow: Any, **kw: Any) -> int:
        raise OSError("disk full")

    monkeypatch.setattr(Engine, "append_arrow", broken)
    with pytest.raises(OSError, match="disk full"):
        lake.sql("CREATE TABLE t AS SELECT 1 AS a")
    assert lake.sql("SHOW TABLES").rows == []
    assert not (lake.settings.root / "warehouse" / "default" / "t").exists()


# -- DROP ----------------------------------------------------------------------------------
def test_drop_table_deletes_its_data(lake: Lake) -> None:
    lake.sql("CREATE TABLE t (id int) PARTITIONED BY (bucket(2, id))")
    lake.sql("INSERT INTO t VALUES (1), (2), (3)")
    folder = table_dir(lake, "t")
    assert list(folder.rglob("*.parquet"))
    assert lake.sql("DROP TABLE t").message == "table default.t dropped"
    assert not folder.exists()
    assert error_code(lake.sql, "SELECT * FROM t") == "TABLE_NOT_FOUND"
    # the name is free again, and starts empty
    lake.sql("CREATE TABLE t (id int)")
    assert lake.sql("SELECT count(*) FROM t").scalar() == 0


def test_drop_errors(lake: Lake) -> None:
    assert error_code(lake.sql, "DROP TABLE nope") == "TABLE_NOT_FOUND"
    assert "does not exist" in lake.sql("DROP TABLE IF EXISTS nope").message
    lake.sql("CREATE VIEW v AS SELECT 1 AS a")
    lake.sql("CREATE TABLE t (id int)")
    assert error_code(lake.sql, "DROP TABLE v") == "INVALID_INPUT"
    assert error_code(lake.sql, "DROP VIEW t") == "TABLE_NOT_FOUND"


# -- schemas -------------------------------------------------------------------------------
def test_schemas_create_use_show_drop(lake: Lake) -> None:
    lake.sql("CREATE SCHEMA sales")
    lake.sql("CREATE DATABASE IF NOT EXISTS sales")
    assert error_code(lake.sql, "CREATE SCHEMA sales") == "ALREADY_EXISTS"
    assert lake.sql("SHOW SCHEMAS").rows == [("default",), ("sales",)]
    assert lake.sql("SHOW DATABASES LIKE 'sa*'").rows == [("sales",)]
    lake.sql("USE sales")
    lake.sql("CREATE TABLE t (id int)")  # lands in the current schema
    assert lake.sql("SHOW TABLES").rows == [("t",)]
    assert lake.sql("SHOW TABLES IN default").rows == []
    assert lake.sql("SELECT count(*) FROM sales.t").scalar() == 0
    assert error_code(lake.sql, "USE nope") == "SCHEMA_NOT_FOUND"
    assert error_code(lake.sql, "DROP SCHEMA sales") == "SCHEMA_NOT_EMPTY"
    lake.sql("DROP TABLE t")
    lake.sql("DROP SCHEMA sales")
    assert lake.sql("SHOW SCHEMAS").rows == [("default",)]
    assert lake.engine.current_schema == "default"  # dropping the current schema leaves it
    assert "does not exist" in lake.sql("DROP SCHEMA IF EXISTS sales").message
    assert error_code(lake.sql, "DROP SCHEMA sales") == "SCHEMA_NOT_FOUND"


def test_drop_schema_cascade_deletes_tables_views_and_data(lake: Lake) -> None:
    lake.sql("CREATE SCHEMA s")
    lake.sql("CREATE TABLE s.a (id int)")
    lake.sql("INSERT INTO s.a VALUES (1)")
    lake.sql("CREATE TABLE s.b (id int)")
    lake.sql("CREATE VIEW s.v AS SELECT id FROM s.a")
    folder = table_dir(lake, "a", "s")
    lake.sql("DROP SCHEMA s CASCADE")
    assert not folder.exists()
    assert lake.sql("SHOW SCHEMAS").rows == [("default",)]
    lake.sql("CREATE SCHEMA s")
    assert lake.sql("SHOW TABLES IN s").rows == []
    assert lake.sql("SHOW VIEWS IN s").rows == []


def test_use_with_catalog_prefix(lake: Lake) -> None:
    lake.sql("CREATE SCHEMA s")
    lake.sql("USE awsdatacatalog.s")
    assert lake.engine.current_schema == "s"
    assert error_code(lake.sql, "USE othercatalog.s") == "CATALOG_NOT_FOUND"


# -- SHOW / DESCRIBE -----------------------------------------------------------------------
def test_show_tables_columns_views(lake: Lake) -> None:
    lake.sql("CREATE TABLE orders (id bigint, total decimal(10,2))")
    lake.sql("CREATE TABLE order_items (order_id bigint)")
    lake.sql("CREATE TABLE customers (id bigint)")
    lake.sql("CREATE VIEW big_orders AS SELECT id FROM orders WHERE total > 100")
    assert lake.sql("SHOW TABLES").rows == [
        ("big_orders",),
        ("customers",),
        ("order_items",),
        ("orders",),
    ]
    assert lake.sql("SHOW TABLES LIKE 'order*'").rows == [("order_items",), ("orders",)]
    assert lake.sql("SHOW TABLES IN default LIKE 'customers|orders'").rows == [
        ("customers",),
        ("orders",),
    ]
    assert lake.sql("SHOW VIEWS").rows == [("big_orders",)]
    assert lake.sql("SHOW COLUMNS IN orders").rows == [("id",), ("total",)]
    assert lake.sql("SHOW COLUMNS FROM orders IN default").rows == [("id",), ("total",)]
    assert lake.sql("SHOW COLUMNS IN big_orders").rows == [("id",)]
    assert error_code(lake.sql, "SHOW TABLES IN nope") == "SCHEMA_NOT_FOUND"
    assert error_code(lake.sql, "SHOW PARTITIONS orders") == "NOT_SUPPORTED"


def test_show_create_table_runs_back_into_an_equal_table(lake: Lake) -> None:
    lake.sql(
        "CREATE TABLE t (id bigint COMMENT 'it\\'s the id', ts timestamp, cat string, "
        "amt decimal(10,2)) PARTITIONED BY (cat, day(ts), bucket(16, id), truncate(2, amt)) "
        "TBLPROPERTIES ('write_compression'='snappy')"
    )
    ddl = lake.sql("SHOW CREATE TABLE t").scalar()
    assert ddl.startswith("CREATE TABLE default.t (")
    assert "TBLPROPERTIES (" in ddl
    assert "'write_compression'='snappy'" in ddl
    assert "COMMENT 'it\\'s the id'" in ddl  # Hive DDL escapes quotes with a backslash
    lake.sql("CREATE SCHEMA copy")
    lake.sql(re.sub(r"LOCATION '[^']*'\n", "", ddl).replace("default.t", "copy.t"))
    assert lake.sql("DESCRIBE copy.t").rows == lake.sql("DESCRIBE t").rows
    assert lake.sql("DESCRIBE t id").rows == [("id", "bigint", "it's the id")]
    assert spec_of(lake, "t", "copy") == spec_of(lake, "t")
    assert lake.sql("SHOW TBLPROPERTIES copy.t").rows == lake.sql("SHOW TBLPROPERTIES t").rows


def test_describe_formatted_adds_partitions_location_and_properties(lake: Lake) -> None:
    lake.sql("CREATE TABLE t (id bigint, ts timestamp) PARTITIONED BY (hour(ts))")
    lake.sql("INSERT INTO t VALUES (1, TIMESTAMP '2024-01-01 10:00:00')")
    plain = lake.sql("DESCRIBE t").rows
    assert plain == [("id", "bigint", ""), ("ts", "timestamp", "")]
    rows = lake.sql("DESCRIBE FORMATTED t").rows
    assert rows[:2] == plain
    info = {r[0]: r[1] for r in rows}
    assert info["ts_hour"] == "hour(ts)"
    assert info["Location:"] == lake.catalog.load_table("default", "t").location()
    assert info["Table Type:"] == "ICEBERG"
    assert info["Format Version:"] == "2"
    snapshot = lake.sql('SELECT snapshot_id FROM "t$snapshots"').scalar()
    assert info["Current Snapshot:"] == str(snapshot)
    assert info["  write.parquet.compression-codec"] == "zstd"
    assert lake.sql("DESCRIBE t ts").rows == [("ts", "timestamp", "")]
    assert error_code(lake.sql, "DESCRIBE t nope") == "COLUMN_NOT_FOUND"
    assert error_code(lake.sql, "DESCRIBE nope") == "TABLE_NOT_FOUND"


# -- ALTER ---------------------------------------------------------------------------------
def test_alter_add_and_drop_columns(lake: Lake) -> None:
    lake.sql("CREATE TABLE t (id int, cat string) PARTITIONED BY (cat)")
    lake.sql("ALTER TABLE t ADD COLUMNS (note string COMMENT 'free text', qty bigint)")
    assert lake.sql("DESCRIBE t").rows == [
        ("id", "int", ""),
        ("cat", "string", ""),
        ("note", "string", "free text"),
        ("qty", "bigint", ""),
    ]
    lake.sql("ALTER TABLE t DROP COLUMN note")
    assert [r[0] for r in lake.sql("DESCRIBE t").rows] == ["id", "cat", "qty"]
    assert error_code(lake.sql, "ALTER TABLE t ADD COLUMNS (id int)") == "ALREADY_EXISTS"
    assert error_code(lake.sql, "ALTER TABLE t DROP COLUMN nope") == "COLUMN_NOT_FOUND"
    assert error_code(lake.sql, "ALTER TABLE t DROP COLUMN cat") == "INVALID_INPUT"
    assert error_code(lake.sql, "ALTER TABLE t ADD COLUMNS (x tinyint)") == "NOT_SUPPORTED"


def test_alter_change_column(lake: Lake) -> None:
    lake.sql("CREATE TABLE t (id int, name string, price float, amt decimal(10,2), extra string)")
    lake.sql("ALTER TABLE t CHANGE COLUMN name full_name string")
    lake.sql("ALTER TABLE t CHANGE id id bigint")
    lake.sql("ALTER TABLE t CHANGE COLUMN price price double COMMENT 'the price'")
    lake.sql("ALTER TABLE t CHANGE COLUMN amt amount decimal(12,2) AFTER id")
    lake.sql("ALTER TABLE t CHANGE COLUMN extra extra string FIRST")
    assert lake.sql("DESCRIBE t").rows == [
        ("extra", "string", ""),
        ("id", "bigint", ""),
        ("amount", "decimal(12,2)", ""),
        ("full_name", "string", ""),
        ("price", "double", "the price"),
    ]
    lake.sql(r"ALTER TABLE t CHANGE COLUMN price price double COMMENT 'it\'s net; in \\ EUR'")
    assert lake.sql("DESCRIBE t price").rows == [("price", "double", "it's net; in \\ EUR")]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ("name name int", "TYPE_MISMATCH"),
        ("id id int", "TYPE_MISMATCH"),
        ("amt amt decimal(12,3)", "TYPE_MISMATCH"),
        ("amt amt decimal(8,2)", "TYPE_MISMATCH"),
        ("amt name decimal(10,2)", "ALREADY_EXISTS"),
        ("nope x int", "COLUMN_NOT_FOUND"),
        ("amt amt decimal(10,2) AFTER nope", "COLUMN_NOT_FOUND"),
    ],
)
def test_alter_change_column_refusals(lake: Lake, change: str, code: str) -> None:
    lake.sql("CREATE TABLE t (id bigint, name string, amt decimal(10,2))")
    assert error_code(lake.sql, f"ALTER TABLE t CHANGE COLUMN {change}") == code
    assert lake.sql("DESCRIBE t").rows == [
        ("id", "bigint", ""),
        ("name", "string", ""),
        ("amt", "decimal(10,2)", ""),
    ]


def test_alter_rename_table_within_and_across_schemas(lake: Lake) -> None:
    lake.sql("CREATE TABLE t (id int)")
    lake.sql("INSERT INTO t VALUES (1), (2)")
    lake.sql("ALTER TABLE t RENAME TO t2")
    assert lake.sql("SHOW TABLES").rows == [("t2",)]
    lake.sql("CREATE SCHEMA other")
    lake.sql("ALTER TABLE default.t2 RENAME TO other.t3")
    assert lake.sql("SHOW TABLES").rows == []
    assert lake.sql("SELECT count(*) FROM other.t3").scalar() == 2
    lake.sql("CREATE TABLE other.taken (id int)")
    assert error_code(lake.sql, "ALTER TABLE other.t3 RENAME TO other.taken") == "ALREADY_EXISTS"


def test_alter_set_and_unset_properties(lake: Lake) -> None:
    lake.sql("CREATE TABLE t (id int)")
    lake.sql(
        "ALTER TABLE t SET TBLPROPERTIES ('vacuum_max_snapshot_age_seconds'='259200', "
        "'write_compression'='gzip')"
    )
    props = lake.catalog.load_table("default", "t").properties
    assert props["vacuum_max_snapshot_age_seconds"] == "259200"
    assert props["write.parquet.compression-codec"] == "gzip"
    lake.sql("ALTER TABLE t UNSET TBLPROPERTIES ('write_compression')")
    props = lake.catalog.load_table("default", "t").properties
    assert "write_compression" not in props
    assert "write.parquet.compression-codec" not in props
    assert props["vacuum_max_snapshot_age_seconds"] == "259200"
    assert error_code(lake.sql, "ALTER TABLE t SET TBLPROPERTIES ('foo'='1')") == "INVALID_PROPERTY"
    assert error_code(lake.sql, "ALTER TABLE t UNSET TBLPROPERTIES ('foo')") == "INVALID_PROPERTY"
    assert (
        error_code(lake.sql, "ALTER TABLE t SET TBLPROPERTIES ('table_type'='ICEBERG')")
        == "INVALID_PROPERTY"
    )


@pytest.mark.parametrize(
    "clause",
    [
        "REPLACE COLUMNS (a int)",
        "SET LOCATION 's3://bucket/x/'",
        "ADD PARTITION (id=1)",
        "DROP PARTITION (id=1)",
    ],
)
def test_alter_forms_athena_refuses_for_iceberg(lake: Lake, clause: str) -> None:
    lake.sql("CREATE TABLE t (id int)")
    assert error_code(lake.sql, f"ALTER TABLE t {clause}") == "NOT_SUPPORTED"


def test_msck_repair_is_not_supported(lake: Lake) -> None:
    lake.sql("CREATE TABLE t (id int)")
    assert error_code(lake.sql, "MSCK REPAIR TABLE t") == "NOT_SUPPORTED"


def test_hive_ddl_strings_escape_quotes_with_a_backslash(lake: Lake) -> None:
    """Athena runs DDL through Hive ('it\\'s'); the script splitter must not end the string."""
    results = lake.sql_script(
        r"CREATE TABLE t (id int COMMENT 'the user\'s id; never reused') COMMENT 'a\'b';"
        " SELECT 'it''s', 'back\\'"
    )
    assert len(results) == 2
    assert lake.sql("DESCRIBE t").rows == [("id", "int", "the user's id; never reused")]
    assert ("comment", "a'b") in lake.sql("SHOW TBLPROPERTIES t").rows
    assert results[1].rows == [("it's", "back\\")]
