"""OPTIMIZE (bin-pack compaction) and VACUUM (snapshot expiry, freed and orphan files)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from oaklake.app import Lake
from oaklake.errors import InvalidInput, SnapshotNotFound, SqlSyntaxError


def _files(lake: Lake, table: str) -> int:
    return int(lake.sql(f'SELECT count(*) FROM "{table}$files"').scalar())


def _checksum(lake: Lake, table: str) -> tuple[object, ...]:
    return lake.sql(f"SELECT count(*), sum(id), min(cat), max(cat) FROM {table}").rows[0]


def _many_small_files(lake: Lake) -> None:
    lake.sql("CREATE TABLE t (id bigint, cat string) PARTITIONED BY (cat)")
    for i in range(6):
        lake.sql(
            f"INSERT INTO t SELECT i, 'c' || CAST(i % 2 AS varchar) "
            f"FROM unnest(sequence({i * 10}, {i * 10 + 9})) AS x(i)"
        )


def test_optimize_compacts_small_files_per_partition_without_changing_rows(lake: Lake) -> None:
    _many_small_files(lake)
    before = _checksum(lake, "t")
    assert _files(lake, "t") == 12
    result = lake.sql("OPTIMIZE t REWRITE DATA USING BIN_PACK")
    metrics = dict(result.rows)
    assert metrics["rewritten_data_files"] == 12
    assert metrics["added_data_files"] == 2  # one per partition
    assert _files(lake, "t") == 2
    assert _checksum(lake, "t") == before
    ops = [r[0] for r in lake.sql('SELECT operation FROM "t$snapshots" ORDER BY committed_at').rows]
    assert len(ops) == 7  # six inserts, one OPTIMIZE snapshot


def test_optimize_where_limits_to_matching_partitions(lake: Lake) -> None:
    _many_small_files(lake)
    metrics = dict(lake.sql("OPTIMIZE t REWRITE DATA USING BIN_PACK WHERE cat = 'c1'").rows)
    assert metrics["rewritten_data_files"] == 6
    assert _files(lake, "t") == 7


def test_optimize_below_the_threshold_does_nothing(lake: Lake) -> None:
    lake.sql("CREATE TABLE t (id bigint, cat string) PARTITIONED BY (cat)")
    lake.sql("INSERT INTO t VALUES (1, 'a')")
    lake.sql("INSERT INTO t VALUES (2, 'a')")
    snapshots = lake.sql('SELECT count(*) FROM "t$snapshots"').scalar()
    metrics = dict(lake.sql("OPTIMIZE t REWRITE DATA USING BIN_PACK").rows)
    assert metrics["rewritten_data_files"] == 0  # 2 files < optimize_rewrite_data_file_threshold
    assert lake.sql('SELECT count(*) FROM "t$snapshots"').scalar() == snapshots
    lake.sql("ALTER TABLE t SET TBLPROPERTIES ('optimize_rewrite_data_file_threshold'='2')")
    metrics = dict(lake.sql("OPTIMIZE t REWRITE DATA USING BIN_PACK").rows)
    assert metrics["rewritten_data_files"] == 2


@pytest.mark.parametrize(
    ("sql", "error"),
    [
        ("OPTIMIZE t REWRITE DATA USING BIN_PACK WHERE id = 1", InvalidInput),
        ("OPTIMIZE t REWRITE DATA", SqlSyntaxError),
        ("VACUUM", SqlSyntaxError),
    ],
)
def test_maintenance_bad_input(lake: Lake, sql: str, error: type) -> None:
    _many_small_files(lake)
    with pytest.raises(error):
        lake.sql(sql)
    assert _files(lake, "t") == 12


def _all_files(root: Path) -> set[str]:
    return {os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs}


def test_vacuum_expires_snapshots_and_deletes_unreachable_files(lake: Lake) -> None:
    _many_small_files(lake)
    first = lake.sql('SELECT min_by(snapshot_id, committed_at) FROM "t$snapshots"').scalar()
    lake.sql("OPTIMIZE t REWRITE DATA USING BIN_PACK")
    lake.sql("DELETE FROM t WHERE id < 5")
    before = _checksum(lake, "t")
    location = Path(lake.table("t").iceberg.location().removeprefix("file://"))
    # Nothing is old enough under Athena's defaults (5 days): VACUUM keeps everything.
    kept = dict(lake.sql("VACUUM t").rows)
    assert kept["expired_snapshots"] == 0
    assert lake.sql(f"SELECT count(*) FROM t FOR VERSION AS OF {first}").scalar() == 10
    lake.sql("ALTER TABLE t SET TBLPROPERTIES ('vacuum_max_snapshot_age_seconds'='0')")
    n_before = len(_all_files(location / "data"))
    metrics = dict(lake.sql("VACUUM t").rows)
    assert metrics["expired_snapshots"] == 7  # 8 snapshots, vacuum_min_snapshots_to_keep = 1
    assert metrics["deleted_data_files"] == n_before - _files(lake, "t")
    assert _checksum(lake, "t") == before
    assert len(_all_files(location / "data")) == _files(lake, "t")
    with pytest.raises(SnapshotNotFound, match="expired by VACUUM"):
        lake.sql(f"SELECT count(*) FROM t FOR VERSION AS OF {first}")


def test_vacuum_keeps_young_orphans_and_removes_old_ones(lake: Lake) -> None:
    _many_small_files(lake)
    location = Path(lake.table("t").iceberg.location().removeprefix("file://"))
    young = location / "data" / "cat=c0" / "left-by-a-crash.parquet"
    old = location / "data" / "cat=c1" / "left-long-ago.parquet"
    young.write_bytes(b"not committed")
    old.write_bytes(b"not committed")
    long_ago = time.time() - 3600
    os.utime(old, (long_ago, long_ago))
    lake.sql("ALTER TABLE t SET TBLPROPERTIES ('vacuum_max_snapshot_age_seconds'='600')")
    metrics = dict(lake.sql("VACUUM t").rows)
    assert metrics["deleted_orphan_files"] == 1
    assert young.exists()
    assert not old.exists()
    assert _checksum(lake, "t")[0] == 60
