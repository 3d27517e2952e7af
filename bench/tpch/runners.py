"""The three ways of running a TPC-H query, each timed the same way: statement in, Arrow out.

- ``OaklakeRunner``: ``lake.sql(text)``: parse, resolve, plan files, scan and run in DuckDB.
- ``DuckDBRunner``: the floor. Plain DuckDB with one view per table over exactly the data files
  the Iceberg table's current snapshot holds; the query is transpiled once, outside the timing.
- ``NaiveRunner``: pyiceberg ``scan().to_arrow()`` for every table the query names, registered
  in a fresh DuckDB connection, then the same DuckDB SQL; the time includes reading the tables.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

from bench.tpch.data import TABLES

SCHEMA = "tpch"


def transpile(athena_sql: str) -> str:
    return sqlglot.transpile(athena_sql, read="athena", write="duckdb")[0]


def tables_used(athena_sql: str) -> list[str]:
    """The tpch tables a query reads (CTE names and aliases excluded)."""
    tree = sqlglot.parse_one(athena_sql, read="athena")
    names = {t.name.lower() for t in tree.find_all(exp.Table) if t.db.lower() == SCHEMA}
    return sorted(n for n in names if n in TABLES)


def _duckdb_connection() -> Any:
    import duckdb

    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    # The same session settings oaklake uses: UTC, and Trino's integer division.
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET integer_division = true")
    return con


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


class OaklakeRunner:
    name = "oaklake"

    def __init__(self, workspace: Path) -> None:
        import oaklake

        self.lake = oaklake.connect(workspace)

    def run(self, athena_sql: str) -> tuple[float, Any]:
        seconds, result = _timed(lambda: self.lake.sql(athena_sql))
        return seconds, result.to_arrow()

    def close(self) -> None:
        self.lake.close()


class DuckDBRunner:
    name = "duckdb"

    def __init__(self, lake: Any) -> None:
        self.con = _duckdb_connection()
        self.con.execute(f"CREATE SCHEMA {SCHEMA}")
        self.files: dict[str, list[str]] = {}
        for table in TABLES:
            ice = lake.engine.catalog.load_table(SCHEMA, table)
            files = [_local(t.file.file_path) for t in ice.scan().plan_files()]
            self.files[table] = files
            paths = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
            # hive_partitioning=false: pyiceberg writes into `l_shipdate_month=…/` folders, from
            # which DuckDB would otherwise invent an extra column.
            self.con.execute(
                f"CREATE VIEW {SCHEMA}.{table} AS "
                f"SELECT * FROM read_parquet([{paths}], hive_partitioning=false)"
            )

    def run(self, duck_sql: str) -> tuple[float, Any]:
        return _timed(lambda: self.con.sql(duck_sql).to_arrow_table())

    def close(self) -> None:
        self.con.close()


class NaiveRunner:
    name = "naive"

    def __init__(self, lake: Any) -> None:
        self.catalog = lake.engine.catalog

    def run(self, duck_sql: str, tables: list[str]) -> tuple[float, Any]:
        con = _duckdb_connection()
        try:

            def go() -> Any:
                con.execute(f"CREATE SCHEMA {SCHEMA}")
                for table in tables:
                    arrow = self.catalog.load_table(SCHEMA, table).scan().to_arrow()
                    con.register(f"__naive_{table}", arrow)
                    con.execute(f"CREATE VIEW {SCHEMA}.{table} AS SELECT * FROM __naive_{table}")
                return con.sql(duck_sql).to_arrow_table()

            return _timed(go)
        finally:
            con.close()


def _local(path: str) -> str:
    return path.removeprefix("file://")
