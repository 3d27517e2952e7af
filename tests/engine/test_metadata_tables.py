"""Athena's ``"t$…"`` metadata tables: Athena's column names, values that agree with the data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from engine_helpers import error_code

from oaklake.app import Lake

ATHENA_COLUMNS = {
    "snapshots": [
        "committed_at",
        "snapshot_id",
        "parent_id",
        "operation",
        "manifest_list",
        "summary",
    ],
    "history": ["made_current_at", "snapshot_id", "parent_id", "is_current_ancestor"],
    "files": [
        "content",
        "file_path",
        "file_format",
        "spec_id",
        "partition",
        "record_count",
        "file_size_in_bytes",
        "column_sizes",
        "value_counts",
        "null_value_counts",
        "nan_value_counts",
        "lower_bounds",
        "upper_bounds",
        "key_metadata",
        "split_offsets",
        "equality_ids",
        "sort_order_id",
    ],
    "manifests": [
        "content",
        "path",
        "length",
        "partition_spec_id",
        "added_snapshot_id",
        "added_data_files_count",
        "added_rows_count",
        "existing_data_files_count",
        "existing_rows_count",
        "deleted_data_files_count",
        "deleted_rows_count",
        "partition_summaries",
    ],
    "partitions": ["partition", "record_count", "file_count", "total_size"],
    "refs": [
        "name",
        "type",
        "snapshot_id",
        "max_reference_age_in_ms",
        "min_snapshots_to_keep",
        "max_snapshot_age_in_ms",
    ],
}


@pytest.fixture(scope="module")
def meta(module_lake: Lake) -> Iterator[tuple[Lake, list[int]]]:
    """Table t: three INSERTs (3 + 2 + 1 rows) into a table partitioned by cat and day(ts)."""
    lake = module_lake
    lake.sql("CREATE TABLE t (id int, ts timestamp, cat string) PARTITIONED BY (cat, day(ts))")
    snapshots = []
    for values in (
        "(1, TIMESTAMP '2024-01-01 10:00:00', 'a'), (2, TIMESTAMP '2024-01-02 10:00:00', 'b'), "
        "(3, TIMESTAMP '2024-01-02 11:00:00', 'b')",
        "(4, TIMESTAMP '2024-01-03 10:00:00', 'a'), (5, TIMESTAMP '2024-01-01 12:00:00', 'a')",
        "(6, NULL, NULL)",
    ):
        snapshots.append(lake.sql(f"INSERT INTO t VALUES {values}").snapshot_id)
    yield lake, snapshots


@pytest.mark.parametrize("kind", sorted(ATHENA_COLUMNS))
def test_athena_column_names_are_present(meta: tuple[Lake, list[int]], kind: str) -> None:
    lake, _ = meta
    columns = lake.sql(f'SELECT * FROM "t${kind}"').columns
    missing = [c for c in ATHENA_COLUMNS[kind] if c not in columns]
    assert missing == []


@pytest.mark.parametrize("kind", sorted(ATHENA_COLUMNS))
def test_empty_table_has_the_same_columns(lake: Lake, kind: str) -> None:
    lake.sql("CREATE TABLE e (id int, cat string) PARTITIONED BY (cat)")
    result = lake.sql(f'SELECT * FROM "e${kind}"')
    assert result.rows == []
    if kind != "partitions":  # pyiceberg cannot describe partitions without a snapshot
        assert [c for c in ATHENA_COLUMNS[kind] if c not in result.columns] == []


def test_snapshots_one_per_insert_with_parents_and_summaries(meta: tuple[Lake, list[int]]) -> None:
    lake, snapshots = meta
    rows = lake.sql(
        'SELECT snapshot_id, parent_id, operation, summary FROM "t$snapshots" ORDER BY committed_at'
    ).rows
    assert [r[0] for r in rows] == snapshots
    assert [r[1] for r in rows] == [None, snapshots[0], snapshots[1]]
    assert {r[2] for r in rows} == {"append"}
    summaries = [dict(r[3]) for r in rows]
    assert [s["added-records"] for s in summaries] == ["3", "2", "1"]
    assert [s["total-records"] for s in summaries] == ["3", "5", "6"]
    committed = lake.sql('SELECT committed_at FROM "t$snapshots" ORDER BY committed_at').rows
    assert all(isinstance(c[0], dt.datetime) for c in committed)


def test_history_matches_snapshots(meta: tuple[Lake, list[int]]) -> None:
    lake, snapshots = meta
    rows = lake.sql(
        "SELECT h.snapshot_id, h.parent_id, h.is_current_ancestor, "
        "h.made_current_at = s.committed_at "
        'FROM "t$history" h JOIN "t$snapshots" s ON h.snapshot_id = s.snapshot_id '
        "ORDER BY h.made_current_at"
    ).rows
    assert rows == [
        (snapshots[0], None, True, True),
        (snapshots[1], snapshots[0], True, True),
        (snapshots[2], snapshots[1], True, True),
    ]


def test_files_add_up_to_the_table(meta: tuple[Lake, list[int]]) -> None:
    lake, _ = meta
    assert (
        lake.sql('SELECT sum(record_count) FROM "t$files"').scalar()
        == lake.sql("SELECT count(*) FROM t").scalar()
    )
    files = lake.sql('SELECT file_path, file_format, content, partition FROM "t$files"').rows
    # one file per (insert, partition): a/01-01 b/01-02 | a/01-03 a/01-01 | null/null
    assert len(files) == 5
    assert {f[1] for f in files} == {"PARQUET"}
    assert {f[2] for f in files} == {0}
    assert all(f[0].startswith("file://") and f[0].endswith(".parquet") for f in files)
    parts = sorted((f[3]["cat"] or "", str(f[3]["ts_day"])) for f in files)
    assert parts == [
        ("", "None"),
        ("a", "2024-01-01"),
        ("a", "2024-01-01"),
        ("a", "2024-01-03"),
        ("b", "2024-01-02"),
    ]
    size = lake.sql('SELECT sum(file_size_in_bytes) FROM "t$files"').scalar()
    summary = dict(
        lake.sql('SELECT summary FROM "t$snapshots" ORDER BY committed_at DESC LIMIT 1').scalar()
    )
    assert str(size) == summary["total-files-size"]


def test_manifests_count_files_and_rows(meta: tuple[Lake, list[int]]) -> None:
    lake, snapshots = meta
    rows = lake.sql(
        "SELECT added_snapshot_id, added_data_files_count, added_rows_count, partition_spec_id "
        'FROM "t$manifests" ORDER BY added_rows_count DESC'
    ).rows
    assert sorted(rows) == sorted(
        [(snapshots[0], 2, 3, 0), (snapshots[1], 2, 2, 0), (snapshots[2], 1, 1, 0)]
    )
    assert lake.sql('SELECT sum(added_rows_count) FROM "t$manifests"').scalar() == 6


def test_partitions_aggregate_files(meta: tuple[Lake, list[int]]) -> None:
    lake, _ = meta
    rows = lake.sql(
        'SELECT partition, record_count, file_count, total_size FROM "t$partitions"'
    ).rows
    by_key = {(r[0]["cat"], str(r[0]["ts_day"])): r[1:3] for r in rows}
    assert by_key == {
        ("a", "2024-01-01"): (2, 2),
        ("b", "2024-01-02"): (2, 1),
        ("a", "2024-01-03"): (1, 1),
        (None, "None"): (1, 1),
    }
    assert lake.sql('SELECT sum(record_count) FROM "t$partitions"').scalar() == 6
    assert (
        lake.sql('SELECT sum(total_size) FROM "t$partitions"').scalar()
        == lake.sql('SELECT sum(file_size_in_bytes) FROM "t$files"').scalar()
    )


def test_refs_point_main_at_the_current_snapshot(meta: tuple[Lake, list[int]]) -> None:
    lake, snapshots = meta
    assert lake.sql('SELECT name, type, snapshot_id FROM "t$refs"').rows == [
        ("main", "BRANCH", snapshots[-1])
    ]


def test_metadata_tables_travel_in_time(meta: tuple[Lake, list[int]]) -> None:
    lake, snapshots = meta
    first = snapshots[0]
    assert lake.sql(f'SELECT count(*) FROM "t$files" FOR VERSION AS OF {first}').scalar() == 2
    assert lake.sql(f'SELECT count(*) FROM "t$partitions" FOR VERSION AS OF {first}').scalar() == 2
    manifests = lake.sql(
        f'SELECT added_snapshot_id, added_rows_count FROM "t$manifests" FOR VERSION AS OF {first}'
    ).rows
    assert manifests == [(first, 3)]


def test_metadata_tables_with_schema_alias_and_joins(meta: tuple[Lake, list[int]]) -> None:
    lake, _ = meta
    assert lake.sql('SELECT count(*) FROM "default"."t$snapshots"').scalar() == 3
    assert lake.sql('SELECT count(*) FROM awsdatacatalog."default"."t$history"').scalar() == 3
    n = lake.sql(
        'SELECT count(*) FROM "t$files" f JOIN t ON f.record_count >= 1 WHERE t.id = 1'
    ).scalar()
    assert n == 5


def test_unknown_metadata_table(meta: tuple[Lake, list[int]]) -> None:
    lake, _ = meta
    assert error_code(lake.sql, 'SELECT * FROM "t$bogus"') == "NOT_SUPPORTED"
    assert error_code(lake.sql, 'SELECT * FROM "nope$files"') == "TABLE_NOT_FOUND"
