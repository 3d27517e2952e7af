"""File pruning: EXPLAIN reports it, partition and min/max statistics drive it, results ignore it.

Pruning is an optimisation only: every test that checks a plan also checks the rows against the
same rows filtered in Python, so a filter that prunes too much fails here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from engine_helpers import canonical, values_sql

from oaklake.app import Lake

DAY = dt.datetime(2024, 5, 1)
# (id, ts, cat, amount, score): 4 days x 3 categories, ids 1..48, three INSERTs by id range.
ROWS = [
    (i, DAY + dt.timedelta(days=(i - 1) % 4, hours=i % 24), "abc"[i % 3], i * 1.5, i % 7)
    for i in range(1, 49)
]
PARTITIONED = (
    "CREATE TABLE ev (id int, ts timestamp, cat string, amount decimal(10,2), score int) "
    "PARTITIONED BY (day(ts), cat)"
)
PLAIN = "CREATE TABLE flat (id int, ts timestamp, cat string, amount decimal(10,2), score int)"


@pytest.fixture(scope="module")
def pruned(module_lake: Lake) -> Iterator[Lake]:
    module_lake.sql(PARTITIONED)
    module_lake.sql(PLAIN)
    for lo, hi in ((0, 16), (16, 32), (32, 48)):
        for table in ("ev", "flat"):
            module_lake.sql(f"INSERT INTO {table} VALUES {values_sql(ROWS[lo:hi])}")
    yield module_lake


def plan(lake: Lake, sql: str) -> list[tuple[int, int, str]]:
    """(planned, total, pushed filter) for every Iceberg scan EXPLAIN reports, in order."""
    lines = [r[0] for r in lake.sql("EXPLAIN " + sql).rows]
    found = []
    for line in lines:
        m = re.match(
            r"Iceberg scan \S+ snapshot=\d+: (\d+) of (\d+) files planned, \d+ records; "
            r"pushed filter: (.*)$",
            line,
        )
        if m:
            found.append((int(m.group(1)), int(m.group(2)), m.group(3)))
    return found


def file_count(lake: Lake, table: str) -> int:
    return lake.sql(f'SELECT count(*) FROM "{table}$files"').scalar()


def test_explain_reports_all_files_without_a_filter(pruned: Lake) -> None:
    total = file_count(pruned, "ev")
    assert total == 3 * 4 * 3  # three inserts, each writing one file per (day, cat) partition
    assert plan(pruned, "SELECT * FROM ev") == [(total, total, "true")]


def test_explain_shows_the_query_plan_too(pruned: Lake) -> None:
    lines = [r[0] for r in pruned.sql("EXPLAIN SELECT count(*) FROM ev WHERE cat = 'a'").rows]
    assert lines[0].startswith("Iceberg scan default.ev snapshot=")
    assert len(lines) > 1
    assert not any("__oak_" in line for line in lines), "temp view names must not leak"


# (label, SQL predicate, the same predicate in Python, files planned out of 36)
PREDICATES: list[tuple[str, str, Callable[[tuple[Any, ...]], bool], int]] = [
    (
        "day_range",
        "ts >= TIMESTAMP '2024-05-02 00:00:00' AND ts < TIMESTAMP '2024-05-03 00:00:00'",
        lambda r: DAY + dt.timedelta(days=1) <= r[1] < DAY + dt.timedelta(days=2),
        9,
    ),
    ("identity", "cat = 'b'", lambda r: r[2] == "b", 12),
    ("identity_in", "cat IN ('a', 'c')", lambda r: r[2] in ("a", "c"), 24),
    (
        "both",
        "cat = 'a' AND ts < TIMESTAMP '2024-05-02 00:00:00'",
        lambda r: r[2] == "a" and r[1] < DAY + dt.timedelta(days=1),
        3,
    ),
    (
        "or_of_partitions",
        "cat = 'a' OR ts >= TIMESTAMP '2024-05-04 00:00:00'",
        lambda r: r[2] == "a" or r[1] >= DAY + dt.timedelta(days=3),
        18,
    ),
    ("minmax_id", "id <= 16", lambda r: r[0] <= 16, 12),
    ("minmax_between", "id BETWEEN 17 AND 20", lambda r: 17 <= r[0] <= 20, 4),
    ("not_equal_prunes_nothing", "cat <> 'a'", lambda r: r[2] != "a", 24),
    ("unconvertible_kept_whole", "length(cat) = 1", lambda r: len(r[2]) == 1, 36),
    ("not_like_is_not_pushed", "cat NOT LIKE 'a%'", lambda r: not r[2].startswith("a"), 36),
    ("int_vs_fraction_below", "id < 16.5", lambda r: r[0] < 16.5, 36),
    ("int_vs_fraction_above", "id > 32.5", lambda r: r[0] > 32.5, 36),
    ("decimal_vs_double", "amount > CAST(24.005 AS double)", lambda r: r[3] > 24.005, 36),
    ("decimal_same_scale", "amount >= 60.00", lambda r: r[3] >= 60, 9),
]


@pytest.mark.parametrize(
    ("label", "where", "keep", "planned"), PREDICATES, ids=[p[0] for p in PREDICATES]
)
def test_pruning_plans_fewer_files_and_keeps_every_row(
    pruned: Lake, label: str, where: str, keep: Callable[[tuple[Any, ...]], bool], planned: int
) -> None:
    sql = f"SELECT id FROM ev WHERE {where}"
    assert plan(pruned, sql)[0][:2] == (planned, 36)
    expected = [(r[0],) for r in ROWS if keep(r)]
    assert expected, "a predicate that selects nothing proves nothing"
    assert canonical(pruned.sql(sql).rows) == canonical(expected)


def test_minmax_pruning_on_an_unpartitioned_table(pruned: Lake) -> None:
    assert file_count(pruned, "flat") == 3
    assert plan(pruned, "SELECT * FROM flat WHERE id > 40")[0][:2] == (1, 3)
    assert plan(pruned, "SELECT * FROM flat WHERE score = 3")[0][:2] == (3, 3)
    assert pruned.sql("SELECT count(*) FROM flat WHERE id > 40").scalar() == 8


def test_fractional_literal_against_an_int_column_is_not_pushed(pruned: Lake) -> None:
    """pyiceberg would bind ``id < 16.5`` as ``id < 16`` and drop the file holding id 16."""
    assert plan(pruned, "SELECT id FROM flat WHERE id < 16.5")[0] == (3, 3, "true")
    assert pruned.sql("SELECT max(id) FROM flat WHERE id < 16.5").scalar() == 16
    assert pruned.sql("SELECT min(id) FROM flat WHERE id > 32.5").scalar() == 33
    # an exact literal still prunes
    assert plan(pruned, "SELECT id FROM flat WHERE id < 17.0")[0][:2] == (1, 3)


def test_left_join_where_on_the_null_side_is_not_pushed(pruned: Lake) -> None:
    sql = (
        "SELECT f.id, e.id FROM flat f LEFT JOIN ev e ON f.id = e.id + 100 "
        "WHERE e.cat = 'a' OR e.cat IS NULL"
    )
    scans = plan(pruned, sql)
    assert [s[:2] for s in scans] == [(3, 3), (36, 36)]
    assert len(pruned.sql(sql).rows) == 48  # no match: every flat row, with NULLs


def test_left_join_on_clause_prunes_the_null_side_only(pruned: Lake) -> None:
    sql = (
        "SELECT f.id, e.cat FROM flat f LEFT JOIN ev e ON f.id = e.id AND e.cat = 'a' "
        "AND f.score = 1"
    )
    scans = plan(pruned, sql)
    assert [s[:2] for s in scans] == [(3, 3), (12, 36)]
    rows = pruned.sql(sql).rows
    assert len(rows) == 48
    assert canonical(r for r in rows if r[1] is not None) == canonical(
        (r[0], "a") for r in ROWS if r[2] == "a" and r[4] == 1
    )


@pytest.mark.parametrize("side", ["RIGHT", "FULL"])
def test_right_and_full_joins_push_nothing(pruned: Lake, side: str) -> None:
    sql = f"SELECT f.id, e.id FROM flat f {side} JOIN ev e ON f.id = e.id WHERE f.id < 5"
    assert [s[:2] for s in plan(pruned, sql)] == [(3, 3), (36, 36)]
    assert canonical(pruned.sql(sql).rows) == canonical((i, i) for i in range(1, 5))


def test_inner_join_pushes_where_into_both_sides(pruned: Lake) -> None:
    sql = "SELECT f.id FROM flat f JOIN ev e ON f.id = e.id WHERE e.cat = 'c' AND f.id > 40"
    assert [s[:2] for s in plan(pruned, sql)] == [(1, 3), (12, 36)]
    assert canonical(pruned.sql(sql).rows) == canonical(
        (r[0],) for r in ROWS if r[2] == "c" and r[0] > 40
    )


def test_time_travel_plans_the_old_snapshot(pruned: Lake) -> None:
    first = pruned.sql(
        'SELECT snapshot_id FROM "ev$snapshots" ORDER BY committed_at LIMIT 1'
    ).scalar()
    sql = f"SELECT id FROM ev FOR VERSION AS OF {first} WHERE cat = 'a'"
    assert plan(pruned, sql)[0][:2] == (4, 12)
    assert canonical(pruned.sql(sql).rows) == canonical((r[0],) for r in ROWS[:16] if r[2] == "a")


def test_delete_with_a_fractional_bound_deletes_the_boundary_row(lake: Lake) -> None:
    """The same pruning filter chooses the files DELETE rewrites: it must not skip id 2."""
    lake.sql("CREATE TABLE t (id int, v string)")
    lake.sql("INSERT INTO t VALUES (2, 'a')")
    lake.sql("INSERT INTO t VALUES (3, 'b')")
    lake.sql("DELETE FROM t WHERE id < 2.5")
    assert lake.sql("SELECT id FROM t").rows == [(3,)]


def test_delete_not_like_rewrites_every_file_with_a_match(lake: Lake) -> None:
    """sqlglot parses NOT LIKE as Like(negate=True); pushing it as LIKE skipped the wrong files."""
    lake.sql("CREATE TABLE s (id int, status string)")
    lake.sql("INSERT INTO s VALUES (1, 'shipped'), (2, 'placed')")
    lake.sql("INSERT INTO s VALUES (3, 'shipped')")
    lake.sql("DELETE FROM s WHERE status NOT LIKE 'sh%'")
    assert lake.sql("SELECT id FROM s ORDER BY id").rows == [(1,), (3,)]
