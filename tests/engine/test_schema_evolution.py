"""Schema evolution, read path: files written under an old schema read by Iceberg field id."""

from __future__ import annotations

from decimal import Decimal

import pytest

from oaklake.app import Lake


@pytest.fixture
def evolved(lake: Lake) -> Lake:
    """Two files written before every kind of change, one after."""
    lake.sql(
        "CREATE TABLE t (id int, cat string, price float, amt decimal(5,2), note string) "
        "PARTITIONED BY (cat)"
    )
    lake.sql("INSERT INTO t VALUES (1, 'a', 1.5, 123.45, 'n1'), (2, 'b', 2.5, 1.00, 'n2')")
    lake.sql("ALTER TABLE t CHANGE COLUMN cat category string")  # rename a partition source
    lake.sql("ALTER TABLE t CHANGE COLUMN id id bigint")  # widen int -> bigint
    lake.sql("ALTER TABLE t CHANGE COLUMN price price double")  # widen float -> double
    lake.sql("ALTER TABLE t CHANGE COLUMN amt amt decimal(12,2)")  # widen decimal precision
    lake.sql("ALTER TABLE t DROP COLUMN note")
    lake.sql("ALTER TABLE t ADD COLUMNS (note string, qty int)")  # same name, new field id
    lake.sql("INSERT INTO t VALUES (5000000000, 'a', 0.25, 1234567890.12, 'new', 7)")
    return lake


def test_old_files_read_under_the_new_schema(evolved: Lake) -> None:
    result = evolved.sql("SELECT * FROM t ORDER BY id")
    assert result.columns == ["id", "category", "price", "amt", "note", "qty"]
    assert result.rows == [
        (1, "a", 1.5, Decimal("123.45"), None, None),
        (2, "b", 2.5, Decimal("1.00"), None, None),
        (5000000000, "a", 0.25, Decimal("1234567890.12"), "new", 7),
    ]


def test_widened_types_are_the_new_types(evolved: Lake) -> None:
    types = evolved.sql(
        "SELECT typeof(id), typeof(price), typeof(amt), typeof(qty) FROM t LIMIT 1"
    ).rows
    assert types == [("BIGINT", "DOUBLE", "DECIMAL(12,2)", "INTEGER")]
    assert evolved.sql("SELECT sum(id) FROM t").scalar() == 5000000003


def test_dropped_then_re_added_column_does_not_resurrect_old_values(evolved: Lake) -> None:
    assert evolved.sql("SELECT count(*) FROM t WHERE note IS NULL").scalar() == 2
    assert evolved.sql("SELECT count(*) FROM t WHERE note = 'n1'").scalar() == 0


def test_renamed_partition_column_filters_and_prunes(evolved: Lake) -> None:
    assert evolved.sql("SELECT id FROM t WHERE category = 'a' ORDER BY id").rows == [
        (1,),
        (5000000000,),
    ]
    plan = evolved.sql("EXPLAIN SELECT id FROM t WHERE category = 'b'").rows[0][0]
    assert "1 of 3 files planned" in plan


def test_statistics_follow_the_field_after_a_rename_and_widening(evolved: Lake) -> None:
    plan = evolved.sql("EXPLAIN SELECT id FROM t WHERE id > 3000000000").rows[0][0]
    assert "1 of 3 files planned" in plan
    assert evolved.sql("SELECT id FROM t WHERE id > 3000000000").rows == [(5000000000,)]
    assert evolved.sql("SELECT id FROM t WHERE price < 2 ORDER BY id").rows == [
        (1,),
        (5000000000,),
    ]


def test_reordered_columns_keep_their_values(evolved: Lake) -> None:
    evolved.sql("ALTER TABLE t CHANGE COLUMN qty qty int FIRST")
    evolved.sql("ALTER TABLE t CHANGE COLUMN note remark string AFTER id")
    result = evolved.sql("SELECT * FROM t ORDER BY id")
    assert result.columns == ["qty", "id", "remark", "category", "price", "amt"]
    assert result.rows[-1] == (7, 5000000000, "new", "a", 0.25, Decimal("1234567890.12"))
    assert result.rows[0] == (None, 1, None, "a", 1.5, Decimal("123.45"))


def test_rename_then_reuse_the_old_name(lake: Lake) -> None:
    lake.sql("CREATE TABLE r (a string, b string)")
    lake.sql("INSERT INTO r VALUES ('a1', 'b1')")
    lake.sql("ALTER TABLE r CHANGE COLUMN a a_old string")
    lake.sql("ALTER TABLE r CHANGE COLUMN b a string")  # b's data now answers to "a"
    lake.sql("ALTER TABLE r ADD COLUMNS (b string)")
    result = lake.sql("SELECT * FROM r")
    assert result.columns == ["a_old", "a", "b"]
    assert result.rows == [("a1", "b1", None)]


def test_every_read_agrees_with_the_files_metadata(evolved: Lake) -> None:
    assert evolved.sql('SELECT sum(record_count) FROM "t$files"').scalar() == 3
    assert evolved.sql("SELECT count(*) FROM t").scalar() == 3
