"""oaklake on a real PostgreSQL catalog: the "grow big" path of DESIGN.md.

Every test gets its own freshly created PostgreSQL database (see conftest.py), so runs never see
each other's tables. Start a server with ``source .ci/postgres.sh``.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

import oaklake
from oaklake.errors import OakError, TableNotFound

pytestmark = pytest.mark.postgres

CREATE_EVENTS = """
    CREATE TABLE shop.events (id bigint, ts timestamp, name string, amount double)
    PARTITIONED BY (day(ts), bucket(4, id))
    TBLPROPERTIES ('table_type' = 'ICEBERG')
"""
FIRST = [
    (1, dt.datetime(2025, 1, 1, 10, 0), "apple", 1.5),
    (2, dt.datetime(2025, 1, 1, 23, 59, 59), "pear", 2.25),
    (3, dt.datetime(2025, 1, 2, 0, 0), "plum", 3.0),
    (4, dt.datetime(2025, 1, 3, 8, 30), "fig", None),
]
SECOND = [
    (5, dt.datetime(2025, 1, 3, 9, 0), "kiwi", 5.5),
    (6, dt.datetime(2025, 1, 4, 12, 0), "lime", 0.75),
]


def _values(rows: list[tuple[Any, ...]]) -> str:
    def lit(v: Any) -> str:
        if v is None:
            return "NULL"
        if isinstance(v, dt.datetime):
            return f"TIMESTAMP '{v:%Y-%m-%d %H:%M:%S}'"
        if isinstance(v, str):
            return "'" + v.replace("'", "''") + "'"
        return repr(v)

    return ", ".join("(" + ", ".join(lit(v) for v in row) + ")" for row in rows)


def _create_events(lake: Any) -> None:
    lake.sql("CREATE SCHEMA shop")
    lake.sql(CREATE_EVENTS)
    lake.sql(f"INSERT INTO shop.events VALUES {_values(FIRST)}")


def _snapshot_ids(lake: Any) -> list[int]:
    result = lake.sql('SELECT snapshot_id FROM shop."events$snapshots" ORDER BY committed_at')
    return [row[0] for row in result.rows]


def test_init_writes_the_uri_and_creates_the_default_schema_in_postgres(
    tmp_path: Path, pg_uri: str, pg_query: Any, pg_lake: Any
) -> None:
    pg_lake(tmp_path / "ws", init=True, catalog_uri=pg_uri)
    config = tomllib.loads((tmp_path / "ws" / "oaklake.toml").read_text())
    assert config["catalog"]["uri"] == pg_uri
    assert not list((tmp_path / "ws").glob("*.db")), "no SQLite catalog next to PostgreSQL"
    assert pg_query(
        "SELECT catalog_name, namespace, property_key, property_value "
        "FROM iceberg_namespace_properties"
    ) == [("oaklake", "default", "exists", "true")]

    assert pg_lake(tmp_path / "ws").sql("SHOW SCHEMAS").rows == [("default",)]


def test_partitioned_table_round_trip(pg_workspace: Any) -> None:
    from pyiceberg.transforms import BucketTransform, DayTransform
    from pyiceberg.types import LongType, TimestampType

    lake = pg_workspace
    _create_events(lake)
    lake.sql(f"INSERT INTO shop.events VALUES {_values(SECOND)}")

    assert lake.sql("SELECT * FROM shop.events ORDER BY id").rows == FIRST + SECOND
    result = lake.sql(
        "SELECT id FROM shop.events WHERE ts >= TIMESTAMP '2025-01-02 00:00:00' "
        "AND ts < TIMESTAMP '2025-01-04 00:00:00' ORDER BY id"
    )
    assert result.rows == [(3,), (4,), (5,)]

    table = lake.catalog.load_table("shop", "events")
    assert [(f.name, str(f.transform)) for f in table.spec().fields] == [
        ("ts_day", "day"),
        ("id_bucket", "bucket[4]"),
    ]
    # Hidden partitioning really happened: one data file per (day, bucket) the rows fall into.
    day = DayTransform().transform(TimestampType())
    bucket = BucketTransform(4).transform(LongType())
    micros = [int((r[1] - dt.datetime(1970, 1, 1)).total_seconds() * 1_000_000) for r in FIRST]
    micros += [int((r[1] - dt.datetime(1970, 1, 1)).total_seconds() * 1_000_000) for r in SECOND]
    expected = {(day(m), bucket(r[0])) for m, r in zip(micros, FIRST + SECOND, strict=True)}
    found = {tuple(task.file.partition) for task in table.scan().plan_files()}
    assert found == expected
    assert len(found) > 3


def test_time_travel_for_version_as_of(pg_workspace: Any, pg_lake: Any) -> None:
    lake = pg_workspace
    _create_events(lake)
    [first] = _snapshot_ids(lake)
    lake.sql(f"INSERT INTO shop.events VALUES {_values(SECOND)}")
    snapshots = _snapshot_ids(lake)
    assert len(snapshots) == 2
    assert snapshots[0] == first

    then = lake.sql(f"SELECT * FROM shop.events FOR VERSION AS OF {first} ORDER BY id")
    assert then.rows == FIRST
    now = lake.sql(f"SELECT * FROM shop.events FOR VERSION AS OF {snapshots[1]} ORDER BY id")
    assert now.rows == FIRST + SECOND

    # The snapshot history lives in the metadata PostgreSQL points to: a new session sees it.
    other = pg_lake(lake.settings.root)
    assert _snapshot_ids(other) == snapshots
    count = other.sql(f"SELECT count(*) FROM shop.events FOR VERSION AS OF {first}")
    assert count.scalar() == len(FIRST)


def test_view_is_kept_in_the_oaklake_views_table(
    pg_workspace: Any, pg_query: Any, pg_lake: Any
) -> None:
    lake = pg_workspace
    _create_events(lake)
    lake.sql("CREATE VIEW shop.dear AS SELECT id, name FROM shop.events WHERE amount > 2")

    assert lake.sql("SELECT * FROM shop.dear ORDER BY id").rows == [(2, "pear"), (3, "plum")]
    rows = pg_query("SELECT catalog_name, schema_name, view_name, sql_text FROM oaklake_views")
    assert len(rows) == 1
    assert rows[0][:3] == ("oaklake", "shop", "dear")
    assert "amount > 2" in rows[0][3]

    # Another session finds the view in PostgreSQL; rows added later show through it.
    other = pg_lake(lake.settings.root)
    other.sql(f"INSERT INTO shop.events VALUES {_values(SECOND)}")
    assert other.sql("SELECT id FROM shop.dear ORDER BY id").rows == [(2,), (3,), (5,)]

    lake.sql("DROP VIEW shop.dear")
    assert pg_query("SELECT count(*) FROM oaklake_views") == [(0,)]
    with pytest.raises(TableNotFound):
        lake.sql("SELECT * FROM shop.dear")


def test_rename_then_drop_table_and_schema(pg_workspace: Any, pg_query: Any) -> None:
    lake = pg_workspace
    _create_events(lake)
    location = lake.catalog.load_table("shop", "events").location()

    lake.sql("ALTER TABLE shop.events RENAME TO shop.sales")
    assert pg_query("SELECT table_namespace, table_name FROM iceberg_tables") == [("shop", "sales")]
    assert lake.sql("SELECT * FROM shop.sales ORDER BY id").rows == FIRST
    with pytest.raises(TableNotFound) as info:
        lake.sql("SELECT * FROM shop.events")
    assert info.value.code == "TABLE_NOT_FOUND"

    lake.sql("DROP TABLE shop.sales")
    assert pg_query("SELECT count(*) FROM iceberg_tables") == [(0,)]
    assert location.startswith("file://")
    assert not Path(location.removeprefix("file://")).exists(), "DROP TABLE deletes the data"

    lake.sql("DROP SCHEMA shop")
    assert pg_query("SELECT DISTINCT namespace FROM iceberg_namespace_properties") == [("default",)]


def test_catalog_tables_have_the_iceberg_jdbc_catalog_layout(
    pg_workspace: Any, pg_query: Any
) -> None:
    lake = pg_workspace
    _create_events(lake)

    def columns(table: str) -> dict[str, tuple[str, int | None]]:
        rows = pg_query(
            "SELECT column_name, data_type, character_maximum_length "
            "FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s",
            (table,),
        )
        return {name: (kind, length) for name, kind, length in rows}

    def primary_key(table: str) -> list[str]:
        rows = pg_query(
            "SELECT k.column_name FROM information_schema.table_constraints c "
            "JOIN information_schema.key_column_usage k USING (constraint_schema, constraint_name) "
            "WHERE c.table_name = %s AND c.constraint_type = 'PRIMARY KEY' "
            "ORDER BY k.ordinal_position",
            (table,),
        )
        return [r[0] for r in rows]

    varchar = "character varying"
    tables = columns("iceberg_tables")
    for name, length in (
        ("catalog_name", 255),
        ("table_namespace", 255),
        ("table_name", 255),
        ("metadata_location", 1000),
        ("previous_metadata_location", 1000),
    ):
        assert tables.get(name) == (varchar, length), name
    assert primary_key("iceberg_tables") == ["catalog_name", "table_namespace", "table_name"]

    namespaces = columns("iceberg_namespace_properties")
    for name, length in (
        ("catalog_name", 255),
        ("namespace", 255),
        ("property_key", 255),
        ("property_value", 1000),
    ):
        assert namespaces.get(name) == (varchar, length), name
    assert primary_key("iceberg_namespace_properties") == [
        "catalog_name",
        "namespace",
        "property_key",
    ]

    def row() -> tuple[Any, ...]:
        [found] = pg_query(
            "SELECT catalog_name, table_namespace, table_name, metadata_location, "
            "previous_metadata_location FROM iceberg_tables"
        )
        return found

    catalog, namespace, name, current, previous = row()
    assert (catalog, namespace, name) == ("oaklake", "shop", "events")
    assert current.startswith("file://") and current.endswith(".metadata.json")
    assert Path(current.removeprefix("file://")).is_file()
    assert previous is not None and previous != current

    # Every commit is a compare-and-swap on this row: the old pointer moves to previous_….
    lake.sql(f"INSERT INTO shop.events VALUES {_values(SECOND)}")
    *_, newer, newer_previous = row()
    assert newer_previous == current
    assert newer == lake.catalog.load_table("shop", "events").metadata_location


def test_pyiceberg_reads_the_same_rows(pg_workspace: Any, pg_uri: str) -> None:
    from pyiceberg.catalog.sql import SqlCatalog

    lake = pg_workspace
    _create_events(lake)
    lake.sql(f"INSERT INTO shop.events VALUES {_values(SECOND)}")
    ours = lake.sql("SELECT id, ts, name, amount FROM shop.events ORDER BY id")

    plain = SqlCatalog("oaklake", uri=pg_uri, warehouse=lake.settings.warehouse_uri)
    try:
        assert ("shop",) in plain.list_namespaces()
        assert plain.list_tables("shop") == [("shop", "events")]
        table = plain.load_table(("shop", "events"))
        arrow = table.scan().to_arrow().sort_by("id")
        theirs = [tuple(r.values()) for r in arrow.to_pylist()]
        assert theirs == ours.rows == FIRST + SECOND
        assert table.current_snapshot() is not None
        assert table.current_snapshot().snapshot_id == _snapshot_ids(lake)[-1]
    finally:
        plain.engine.dispose()


def test_cli_init_and_sql_json(tmp_path: Path, pg_uri: str, pg_lake: Any) -> None:
    from sqlalchemy.engine import make_url

    cli = Path(sys.executable).parent / "oaklake"
    workspace = tmp_path / "ws"
    password = make_url(pg_uri).password
    assert password

    init = subprocess.run(
        [cli, "init", workspace, "--catalog-uri", pg_uri],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert init.returncode == 0, init.stderr
    assert password not in init.stdout + init.stderr, "the CLI printed the database password"
    assert ":***@127.0.0.1" in init.stdout

    script = f"CREATE SCHEMA shop; {CREATE_EVENTS}; INSERT INTO shop.events VALUES {_values(FIRST)}"
    run = subprocess.run(
        [
            cli,
            "sql",
            "-w",
            workspace,
            "--format",
            "json",
            f"{script}; SELECT id, ts, name, amount FROM shop.events WHERE id <= 3 ORDER BY id",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == [
        {"id": 1, "ts": "2025-01-01T10:00:00", "name": "apple", "amount": 1.5},
        {"id": 2, "ts": "2025-01-01T23:59:59", "name": "pear", "amount": 2.25},
        {"id": 3, "ts": "2025-01-02T00:00:00", "name": "plum", "amount": 3.0},
    ]

    assert pg_lake(workspace).sql("SELECT * FROM shop.events ORDER BY id").rows == FIRST


def test_close_returns_the_catalog_connections(
    pg_workspace: Any, pg_uri: str, pg_query: Any
) -> None:
    from sqlalchemy.engine import make_url

    lake = pg_workspace
    _create_events(lake)
    sessions = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
    )
    database = make_url(pg_uri).database
    assert pg_query(sessions, (database,)) != [(0,)]
    lake.close()
    assert pg_query(sessions, (database,)) == [(0,)]
    # A closed Lake is not broken: it opens the catalog again when used.
    assert lake.sql("SELECT count(*) FROM shop.events").scalar() == len(FIRST)


def test_a_wrong_password_is_a_config_error_that_hides_it(tmp_path: Path, pg_uri: str) -> None:
    from sqlalchemy.engine import make_url

    secret = "not-the-password-9f3b"
    wrong = make_url(pg_uri).set(password=secret).render_as_string(hide_password=False)
    with pytest.raises(OakError) as info:
        oaklake.init(tmp_path / "ws", catalog_uri=wrong)
    assert info.value.code == "INVALID_CONFIG"
    assert "password authentication failed" in info.value.message
    assert secret not in info.value.render()
