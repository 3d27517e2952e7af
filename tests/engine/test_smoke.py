from __future__ import annotations

from oaklake.app import Lake


def test_create_insert_select_roundtrip(lake: Lake) -> None:
    lake.sql("CREATE TABLE t (id bigint, name string) PARTITIONED BY (bucket(4, id))")
    lake.sql("INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, NULL)")
    result = lake.sql("SELECT id, name FROM t ORDER BY id")
    assert result.columns == ["id", "name"]
    assert result.rows == [(1, "a"), (2, "b"), (3, None)]
