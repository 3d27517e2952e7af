"""The benchmark's data: one events table, built in an oaklake workspace and in a DuckDB file.

Rows come from DuckDB's ``range()`` (nothing is downloaded) and are generated once as Arrow, so
the Iceberg table and the DuckDB table hold exactly the same rows. Every measured statement runs
on a fresh copy of the base table: in DuckDB a ``CREATE TABLE … AS SELECT``, in oaklake a
zero-copy clone (the base's current metadata file registered under a new name). Copy-on-write
never changes a data file in place, so clones share the base's files and cannot see each other's
writes; their new files land beside the base's in the same table folder.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from oaklake.app import Lake

BENCH = Path(__file__).resolve().parents[1]
WORK = BENCH / "work" / "dml"
SCHEMA = "bench"
DAYS = 30
START = "2024-01-01 00:00:00"
COLUMNS = "id bigint, ts timestamp, cat string, v double, payload string"
DUCK_COLUMNS = "id BIGINT, ts TIMESTAMP, cat VARCHAR, v DOUBLE, payload VARCHAR"
PARTITIONING = "day(ts), bucket(16, id)"


@dataclass(frozen=True)
class Sizes:
    rows: int  # base table
    merge_updates: int  # the big MERGE: this many matched keys …
    merge_inserts: int  # … and this many new ones
    small_updates: int  # the MERGE pyiceberg's upsert can finish
    small_inserts: int
    small_files: int  # OPTIMIZE input: this many appends …
    rows_per_small_file: int  # … of this many rows each
    upsert_timeout_s: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


FULL = Sizes(1_000_000, 100_000, 100_000, 10_000, 10_000, 1_000, 1_000, 1_800.0)
QUICK = Sizes(100_000, 10_000, 10_000, 1_000, 1_000, 60, 500, 300.0)


def _ts(expr: str) -> str:
    """A timestamp spread over DAYS days by a multiplicative hash of ``expr`` (uncorrelated
    with id order, so every day x bucket partition gets rows)."""
    return f"TIMESTAMP '{START}' + to_seconds((({expr}) * 7919) % {DAYS * 86400})"


def base_sql(rows: int) -> str:
    # v is a multiple of 0.25 so sums are exact whatever order they are added in.
    return (
        f"SELECT i::BIGINT AS id, {_ts('i')} AS ts, 'c' || (i % 20)::VARCHAR AS cat, "
        f"(i % 1000) * 0.25 AS v, 'p-' || md5(i::VARCHAR) AS payload FROM range({rows}) r(i)"
    )


def source_sql(rows: int, updates: int, inserts: int) -> str:
    """MERGE source: ``updates`` existing ids (spread over the whole table: 9973 is prime, so
    ``j * 9973 % rows`` are distinct) with new cat/v/payload and the same ts (rows stay in
    their partition), then ``inserts`` new ids spread over the same days."""
    if updates > rows:
        raise ValueError("more updates than rows")
    return (
        f"WITH k AS (SELECT CASE WHEN j < {updates} THEN (j * 9973) % {rows} "
        f"ELSE {rows} + j - {updates} END::BIGINT AS id, j < {updates} AS upd "
        f"FROM range({updates + inserts}) r(j)) "
        f"SELECT id, {_ts('id')} AS ts, CASE WHEN upd THEN 'upd' ELSE 'ins' END AS cat, "
        "(id % 1000) * 0.5 + 1 AS v, 'new-' || md5(id::VARCHAR) AS payload FROM k"
    )


def small_file_sql(index: int, rows: int) -> str:
    lo = index * rows
    return base_sql(lo + rows).replace(f"range({lo + rows})", f"range({lo}, {lo + rows})")


# -- building --------------------------------------------------------------------------
class Workspace:
    """The oaklake workspace and the DuckDB database of one benchmark run."""

    def __init__(self, root: Path, sizes: Sizes) -> None:
        import duckdb

        import oaklake

        self.root = root
        self.sizes = sizes
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        self.lake: Lake = oaklake.init(root / "lake")
        self.lake.catalog.create_schema(SCHEMA, if_not_exists=True)
        self.duck: duckdb.DuckDBPyConnection = duckdb.connect(str(root / "peer.duckdb"))
        self.gen = duckdb.connect()  # generates rows; never timed
        self.sources: dict[str, pa.Table] = {}
        self.setup_s: dict[str, float] = {}
        self._names = count()

    def close(self) -> None:
        self.duck.close()
        self.gen.close()
        self.lake.close()

    def arrow(self, sql: str) -> pa.Table:
        return self.gen.sql(sql).to_arrow_table()

    def build(self) -> None:
        s = self.sizes
        start = time.perf_counter()
        base = self.arrow(base_sql(s.rows))
        self.lake.sql(f"CREATE TABLE {SCHEMA}.events ({COLUMNS}) PARTITIONED BY ({PARTITIONING})")
        self.lake.table(f"{SCHEMA}.events").append(base)
        self.duck.execute(f"CREATE TABLE base ({DUCK_COLUMNS})")
        self.duck.register("base_arrow", base)
        self.duck.execute("INSERT INTO base SELECT * FROM base_arrow")
        self.duck.unregister("base_arrow")
        for name, (updates, inserts) in {
            "src_big": (s.merge_updates, s.merge_inserts),
            "src_small": (s.small_updates, s.small_inserts),
        }.items():
            rows = self.arrow(source_sql(s.rows, updates, inserts))
            self.sources[name] = rows
            self.lake.sql(f"CREATE TABLE {SCHEMA}.{name} ({COLUMNS})")
            self.lake.table(f"{SCHEMA}.{name}").append(rows)
            self.duck.register("src_arrow", rows)
            self.duck.execute(f"CREATE TABLE {name} AS SELECT * FROM src_arrow")
            self.duck.unregister("src_arrow")
        self.duck.execute("CHECKPOINT")
        self.setup_s["base_and_sources"] = time.perf_counter() - start

    def base_files(self) -> int:
        table = self.lake.engine.load_table(SCHEMA, "events")
        return len(list(table.scan().plan_files()))

    # -- fresh copies ------------------------------------------------------------------
    def clone(self, base: str = "events") -> str:
        """A new oaklake table whose current snapshot is ``base``'s (no data is copied)."""
        name = f"{base}_c{next(self._names)}"
        source = self.lake.engine.load_table(SCHEMA, base)
        self.lake.catalog.iceberg.register_table((SCHEMA, name), source.metadata_location)
        return name

    def duck_copy(self, base: str = "base") -> str:
        self.duck.execute(f"CREATE OR REPLACE TABLE t AS SELECT * FROM {base}")
        self.duck.execute("CHECKPOINT")
        return "t"

    # -- checks ------------------------------------------------------------------------
    def snapshots(self, name: str) -> list[Any]:
        self.lake.engine.forget_table(SCHEMA, name)
        return list(self.lake.engine.load_table(SCHEMA, name).snapshots())

    def oak_summary(self, name: str) -> tuple[Any, ...]:
        rows = self.lake.table(f"{SCHEMA}.{name}").to_arrow()
        self.gen.register("oak_rows", rows)
        try:
            return summary(self.gen, "oak_rows")
        finally:
            self.gen.unregister("oak_rows")

    def duck_summary(self, table: str = "t") -> tuple[Any, ...]:
        return summary(self.duck, table)


def summary(con: duckdb.DuckDBPyConnection, table: str) -> tuple[Any, ...]:
    """Count, sum of v, an order-free checksum of the ids and one of whole rows."""
    row = con.execute(
        f"SELECT count(*), sum(v), sum(hash(id)::HUGEINT), "
        f"sum(hash(id, ts, cat, v, payload)::HUGEINT) FROM {table}"
    ).fetchall()[0]
    return tuple(row)
