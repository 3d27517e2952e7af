"""lake.table(name): append / overwrite / delete / merge on the SQL code path."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from oaklake.app import Lake
from oaklake.errors import ColumnNotFound, InvalidInput, OakError, TypeMismatch


@pytest.fixture
def t(lake: Lake):  # type: ignore[no-untyped-def]
    lake.sql("CREATE TABLE t (id bigint, v string, n double) PARTITIONED BY (bucket(2, id))")
    handle = lake.table("t")
    handle.append(pa.table({"id": [1, 2, 3], "v": ["a", "b", "c"]}))
    return handle


def _rows(lake: Lake) -> list[tuple[object, ...]]:
    return lake.sql("SELECT id, v, n FROM t ORDER BY id").rows


def _snapshots(lake: Lake) -> int:
    return int(lake.sql('SELECT count(*) FROM "t$snapshots"').scalar())


def test_append_by_column_name_missing_columns_null(lake: Lake, t) -> None:  # type: ignore[no-untyped-def]
    t.append([{"n": 1.5, "id": 9}])
    assert _rows(lake)[-1] == (9, None, 1.5)


def test_merge_updates_and_inserts_in_one_snapshot(lake: Lake, t) -> None:  # type: ignore[no-untyped-def]
    before = _snapshots(lake)
    result = t.merge(
        pd.DataFrame({"id": [2, 3, 4], "v": ["B", "C", "D"], "n": [1.0, 2.0, 3.0]}), on=["id"]
    )
    assert result.affected_rows == 3
    assert result.extra == {"updated": 2, "inserted": 1}
    assert _rows(lake) == [(1, "a", None), (2, "B", 1.0), (3, "C", 2.0), (4, "D", 3.0)]
    assert _snapshots(lake) == before + 1


def test_merge_change_data_capture_with_delete_when(lake: Lake, t) -> None:  # type: ignore[no-untyped-def]
    feed = pa.table({"id": [1, 2, 5], "v": ["x", "y", "z"], "op": ["D", "U", "I"]})
    # `op` is not a table column: CDC feeds carry it, so keep it out of the table's columns.
    with pytest.raises(ColumnNotFound):
        t.merge(feed, on="id", delete_when="s.op = 'D'")
    lake.sql("ALTER TABLE t ADD COLUMNS (op string)")
    t.merge(feed, on="id", delete_when="s.op = 'D'")
    assert lake.sql("SELECT id, v FROM t ORDER BY id").rows == [(2, "y"), (3, "c"), (5, "z")]


def test_merge_ignore_matched_inserts_only_new_keys(lake: Lake, t) -> None:  # type: ignore[no-untyped-def]
    t.merge(pa.table({"id": [3, 4], "v": ["changed", "new"]}), on="id", when_matched="ignore")
    assert lake.sql("SELECT id, v FROM t WHERE id >= 3 ORDER BY id").rows == [(3, "c"), (4, "new")]


def test_merge_duplicate_keys_in_the_data_change_nothing(lake: Lake, t) -> None:  # type: ignore[no-untyped-def]
    before = _rows(lake)
    with pytest.raises(OakError) as err:
        t.merge(pa.table({"id": [2, 2], "v": ["p", "q"]}), on="id")
    assert err.value.code == "MERGE_TARGET_ROW_MULTIPLE_MATCHES"
    assert _rows(lake) == before


def test_overwrite_where_is_one_snapshot(lake: Lake, t) -> None:  # type: ignore[no-untyped-def]
    before = _snapshots(lake)
    result = t.overwrite(pa.table({"id": [10], "v": ["z"]}), where="id >= 2")
    assert result.extra == {"deleted": 2, "inserted": 1}
    assert _rows(lake) == [(1, "a", None), (10, "z", None)]
    assert _snapshots(lake) == before + 1
    t.overwrite(pa.table({"id": [7], "v": ["only"]}))
    assert _rows(lake) == [(7, "only", None)]


def test_delete_with_a_predicate(lake: Lake, t) -> None:  # type: ignore[no-untyped-def]
    assert t.delete("id IN (1, 3)").affected_rows == 2
    assert _rows(lake) == [(2, "b", None)]


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda h: h.append(pa.table({"idd": [1]})), ColumnNotFound),
        (lambda h: h.append(pa.table({"id": ["x"]})), TypeMismatch),
        (lambda h: h.append(42), InvalidInput),
        (lambda h: h.merge(pa.table({"id": [1]}), on=[]), InvalidInput),
        (lambda h: h.merge(pa.table({"id": [1]}), on="nope"), ColumnNotFound),
        (lambda h: h.merge(pa.table({"id": [1]}), on="id", when_matched="upsert"), InvalidInput),
        (lambda h: h.delete("id = = 1"), OakError),
    ],
)
def test_bad_calls_fail_cleanly(lake: Lake, t, call, error) -> None:  # type: ignore[no-untyped-def]
    before = (_rows(lake), _snapshots(lake))
    with pytest.raises(error):
        call(t)
    assert (_rows(lake), _snapshots(lake)) == before
