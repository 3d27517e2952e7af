"""oaklake's tables are standard Iceberg: two readers that share none of oaklake's code agree.

oaklake writes tables (every type it maps, every partition transform, several snapshots, schema
evolution, CTAS, copy-on-write DML) and then the same rows are read three ways:

* oaklake itself (``lake.sql("SELECT …")``, ``FOR VERSION AS OF`` for time travel);
* pyiceberg directly (``table.scan(snapshot_id=…).to_arrow()``), without oaklake's engine;
* DuckDB 1.5.5 with its own Iceberg extension, in a separate environment
  (``.tools/iceberg-reader``, made by ``setup_reader.sh``), given only the ``metadata.json``
  location: ``read_iceberg.py`` prints JSON rows that are decoded back to typed Python values.

Rows are compared as sorted multisets of typed values (a ``Decimal('12.30')`` is not the float
12.3, ``True`` is not ``1``), column names and types are compared too, and the partition values
recorded in the manifests are recomputed from the rows with the extension's own transforms.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import select
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import oaklake
from oaklake.app import Lake

pytestmark = [pytest.mark.independent, pytest.mark.slow]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
READER_VENV = ROOT / ".tools" / "iceberg-reader"
SETUP_SCRIPT = HERE / "setup_reader.sh"
READER_SCRIPT = HERE / "read_iceberg.py"
NO_WHEELS = 3  # setup_reader.sh's exit code where the extension wheels do not exist


# -- the independent reader -------------------------------------------------------------
@pytest.fixture(scope="session")
def reader_python() -> Path:
    """The reader environment's Python; made on first use, a no-op (no download) afterwards."""
    proc = subprocess.run(
        ["bash", str(SETUP_SCRIPT)], capture_output=True, text=True, timeout=900, check=False
    )
    if proc.returncode == NO_WHEELS and os.environ.get("CI") != "true":
        pytest.skip(proc.stderr.strip())
    if proc.returncode != 0:
        pytest.fail(f"setup_reader.sh failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    python = READER_VENV / "bin" / "python"
    assert python.exists()
    return python


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        ((tag, raw),) = value.items()
        if tag == "$struct":
            return {k: _decode(v) for k, v in raw}
        return {
            "$decimal": Decimal,
            "$date": dt.date.fromisoformat,
            "$timestamp": dt.datetime.fromisoformat,
            "$time": dt.time.fromisoformat,
            "$bytes": bytes.fromhex,
            "$float": float,
        }[tag](raw)
    return value


@dataclass
class Read:
    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]


class Reader:
    """``read_iceberg.py --serve`` in the reader environment: loads the extensions once."""

    TIMEOUT = 300

    def __init__(self, python: Path, log: Path) -> None:
        self._log = log.open("w")
        self.proc = subprocess.Popen(
            [str(python), str(READER_SCRIPT), "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        self.log = log

    def read(self, metadata: str, sql: str, *, snapshot_id: int | None = None) -> Read:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        request = {"metadata": metadata, "sql": sql, "snapshot_id": snapshot_id}
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], self.TIMEOUT)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            pytest.fail(
                f"the independent reader gave no answer to {sql!r}:\n"
                + self.log.read_text()[-3000:]
            )
        out = json.loads(line)
        assert "error" not in out, f"independent reader failed on {sql!r}: {out['error']}"
        rows = [tuple(_decode(v) for v in r) for r in out["rows"]]
        return Read(out["columns"], out["types"], rows)

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)
        self._log.close()


@pytest.fixture(scope="session")
def reader(reader_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reader]:
    instance = Reader(reader_python, tmp_path_factory.mktemp("reader") / "stderr.log")
    yield instance
    instance.close()


# -- type-aware comparison --------------------------------------------------------------
def canon(value: Any) -> Any:
    """A hashable, orderable form that keeps the type: equal only if type and value agree."""
    if value is None:
        return ("null",)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, float):
        return ("float", "nan" if math.isnan(value) else value)
    if isinstance(value, Decimal):
        return ("decimal", str(value))  # the scale counts: 12.30 is not 12.3
    if isinstance(value, dt.datetime):
        assert value.tzinfo is None, value
        return ("timestamp", value.isoformat())
    if isinstance(value, dt.date):
        return ("date", value.isoformat())
    if isinstance(value, str):
        return ("str", value)
    if isinstance(value, bytes):
        return ("bytes", value.hex())
    if isinstance(value, dict):
        return ("struct", tuple((k, canon(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return ("list", tuple(canon(v) for v in value))
    raise TypeError(f"no canonical form for {type(value).__name__} {value!r}")


def sorted_rows(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted((tuple(canon(v) for v in row) for row in rows), key=repr)


def assert_same_rows(label: str, got: list[tuple[Any, ...]], want: list[tuple[Any, ...]]) -> None:
    a, b = sorted_rows(got), sorted_rows(want)
    if a != b:
        extra = [r for r in a if r not in b][:5]
        missing = [r for r in b if r not in a][:5]
        pytest.fail(
            f"{label}: {len(got)} vs {len(want)} rows differ\n  only in {label.split()[0]}: "
            f"{extra}\n  only in the other: {missing}"
        )


def arrow_rows(table: Any) -> list[tuple[Any, ...]]:
    cols = [c.to_pylist() for c in table.columns]
    return list(zip(*cols, strict=True)) if cols else []


def duckdb_type(t: Any) -> str:
    """The DuckDB type that an Iceberg type must read back as (the extension's mapping)."""
    from pyiceberg import types as it

    simple = {
        it.BooleanType: "BOOLEAN",
        it.IntegerType: "INTEGER",
        it.LongType: "BIGINT",
        it.FloatType: "FLOAT",
        it.DoubleType: "DOUBLE",
        it.StringType: "VARCHAR",
        it.DateType: "DATE",
        it.TimestampType: "TIMESTAMP",
        it.TimestamptzType: "TIMESTAMP WITH TIME ZONE",
        it.BinaryType: "BLOB",
    }
    if type(t) in simple:
        return simple[type(t)]
    if isinstance(t, it.DecimalType):
        return f"DECIMAL({t.precision},{t.scale})"
    if isinstance(t, it.ListType):
        return duckdb_type(t.element_type) + "[]"
    if isinstance(t, it.StructType):
        return (
            "STRUCT(" + ", ".join(f"{f.name} {duckdb_type(f.field_type)}" for f in t.fields) + ")"
        )
    raise AssertionError(f"no DuckDB mapping for {t}")


def plain_arrow_type(t: Any) -> str:
    """An Arrow type as text, ignoring large/small variants and list item names."""
    import pyarrow as pa

    if pa.types.is_large_string(t) or pa.types.is_string(t):
        return "string"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"list<{plain_arrow_type(t.value_type)}>"
    if pa.types.is_struct(t):
        return "struct<" + ", ".join(f"{f.name}: {plain_arrow_type(f.type)}" for f in t) + ">"
    return str(t)


# -- the tables -------------------------------------------------------------------------
EVENTS_DDL = """
CREATE TABLE events (
  id bigint, n int, x double, amount decimal(10,2), category string, name string,
  d date, d2 date, ts timestamp, ts2 timestamp, flag boolean,
  tags array<string>, info struct<a:int, b:string>
)
PARTITIONED BY (category, year(d), month(d2), day(ts), hour(ts2), bucket(16, id), truncate(3, name))
"""
EVENTS_COLUMNS = ["id", "n", "x", "amount", "category", "name", "d", "d2", "ts", "ts2", "flag",
                  "tags", "info"]  # fmt: skip

NAMES = ["alpha", "beta", "gamma", "ab", "", "ünïcødé", "日本語テキスト", "it's", "zeta-long-name"]
DATES = [
    dt.date(2024, 1, 2),
    dt.date(1969, 12, 15),
    dt.date(1970, 1, 1),
    dt.date(1900, 2, 28),
    dt.date(2100, 12, 31),
    dt.date(2023, 6, 30),
]
TIMES = [
    dt.datetime(2024, 1, 2, 3, 4, 5, 123456),
    dt.datetime(1969, 12, 31, 23, 30),
    dt.datetime(1970, 1, 1),
    dt.datetime(2024, 2, 29, 23, 59, 59, 999999),
    dt.datetime(1955, 7, 1, 12),
    dt.datetime(2038, 1, 19, 3, 14, 8),
]


def event(i: int) -> dict[str, Any]:
    """One deterministic row with NULLs, pre-1970 dates and times, unicode and odd decimals."""
    null = i % 7 == 0
    return {
        "id": i * 7919 - 40000 if i % 5 == 0 else i,
        "n": None if i % 4 == 0 else (i * 37) % 1000 - 500,
        "x": None if null else [1.5, -0.1, 1e300, 3.141592653589793, 2.0**-40][i % 5] * i,
        "amount": None if null else Decimal(f"{(i * 1234567) % 100000000 - 50000000}e-2"),
        "category": None if i % 11 == 0 else f"c{i % 3}",
        "name": None if null else NAMES[i % len(NAMES)],
        "d": None if null else DATES[i % len(DATES)] + dt.timedelta(days=i),
        "d2": DATES[(i + 2) % len(DATES)] - dt.timedelta(days=3 * i),
        "ts": None if null else TIMES[i % len(TIMES)] + dt.timedelta(hours=i, microseconds=i),
        "ts2": TIMES[(i + 3) % len(TIMES)] - dt.timedelta(minutes=97 * i),
        "flag": None if null else i % 2 == 0,
        "tags": None if null else [["a", "b"], [], ["x", None], ["ü"]][i % 4],
        "info": None if null else {"a": None if i % 3 == 0 else i, "b": f"b{i}"},
    }


def sql_literal(value: Any, kind: str) -> str:
    if value is None:
        return "NULL"
    if kind == "double":
        return f"CAST('{value!r}' AS DOUBLE)"
    if kind == "decimal":
        return f"CAST('{value}' AS DECIMAL(10,2))"
    if kind == "string":
        return "'" + value.replace("'", "''") + "'"
    if kind == "date":
        return f"DATE '{value.isoformat()}'"
    if kind == "timestamp":
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if kind == "array":
        return (
            "CAST(ARRAY["
            + ", ".join(sql_literal(v, "string") for v in value)
            + "] AS ARRAY(varchar))"
        )
    if kind == "struct":
        a = "NULL" if value["a"] is None else str(value["a"])
        return f"CAST(ROW({a}, {sql_literal(value['b'], 'string')}) AS ROW(a int, b varchar))"
    return str(value).lower() if isinstance(value, bool) else str(value)


# How to write each column's values as SQL literals (bigint, int and boolean need nothing).
EVENT_KINDS = dict.fromkeys(("category", "kind", "name", "extra"), "string") | {
    "x": "double", "score": "double", "amount": "decimal", "d": "date", "d2": "date",
    "ts": "timestamp", "ts2": "timestamp", "tags": "array", "info": "struct",
}  # fmt: skip


def insert_events(lake: Lake, ids: range, columns: list[str], renames: dict[str, str]) -> int:
    """INSERT the rows ``ids`` into events (with its columns at that time); the new snapshot id."""
    rows = []
    for i in ids:
        row = event(i) | {"extra": None if i % 3 == 0 else f"e{i}", "score": i / 8}
        row |= {new: row[old] for old, new in renames.items()}
        if "n_big" in columns and i % 6 == 1:
            row["n_big"] = i * 10_000_000_000  # needs the widened bigint
        values = [sql_literal(row[c], EVENT_KINDS.get(c, "")) for c in columns]
        rows.append("(" + ", ".join(values) + ")")
    result = lake.sql(f"INSERT INTO events ({', '.join(columns)}) VALUES " + ",\n".join(rows))
    assert result.snapshot_id is not None
    return result.snapshot_id


@dataclass
class Scenario:
    lake: Lake
    snapshots: dict[str, int] = field(default_factory=dict)

    def table(self, name: str) -> Any:
        return self.lake.engine.load_table("default", name)

    def metadata(self, name: str) -> str:
        return str(self.table(name).metadata_location)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("OAKLAKE_"):
                mp.delenv(key)
        lake = oaklake.init(tmp_path_factory.mktemp("independent") / "ws")
        sc = Scenario(lake)
        build_events(sc)
        build_ctas(sc)
        build_dml(sc)
        yield sc
        lake.close()


def build_events(sc: Scenario) -> None:
    lake = sc.lake
    lake.sql(EVENTS_DDL)
    cols = list(EVENTS_COLUMNS)
    sc.snapshots["first insert"] = insert_events(lake, range(1, 25), cols, {})
    sc.snapshots["second insert"] = insert_events(lake, range(25, 49), cols, {})
    lake.sql("ALTER TABLE events ADD COLUMNS (extra string, score double)")
    cols += ["extra", "score"]
    sc.snapshots["after add columns"] = insert_events(lake, range(49, 73), cols, {})
    lake.sql("ALTER TABLE events CHANGE COLUMN n n_big bigint")  # rename + widen int -> bigint
    cols[cols.index("n")] = "n_big"
    sc.snapshots["after rename+widen"] = insert_events(lake, range(73, 97), cols, {"n": "n_big"})
    lake.sql("ALTER TABLE events DROP COLUMN x")
    cols.remove("x")
    sc.snapshots["after drop column"] = insert_events(lake, range(97, 121), cols, {"n": "n_big"})
    # Rename a partition source column: the partition spec follows the field id, not the name.
    lake.sql("ALTER TABLE events CHANGE COLUMN category kind string")
    cols[cols.index("category")] = "kind"
    sc.snapshots["after partition column rename"] = insert_events(
        lake, range(121, 145), cols, {"n": "n_big", "category": "kind"}
    )


def build_ctas(sc: Scenario) -> None:
    lake = sc.lake
    lake.sql(
        "CREATE TABLE by_kind WITH (partitioning = ARRAY['kind']) AS "
        "SELECT kind, count(*) AS cnt, sum(amount) AS total, avg(score) AS avg_score, "
        "min(ts) AS first_ts, max(d) AS last_d, bool_or(flag) AS any_flag FROM events GROUP BY kind"
    )
    lake.sql(
        "CREATE TABLE sample WITH (format = 'PARQUET', "
        "partitioning = ARRAY['bucket(8, id)', 'month(ts)', 'truncate(2, name)']) AS "
        "SELECT id, ts, name, tags, info, n_big FROM events WHERE id <= 120"
    )
    first = sc.snapshots["first insert"]
    lake.sql(f"CREATE TABLE first_snapshot AS SELECT * FROM events FOR VERSION AS OF {first}")


def build_dml(sc: Scenario) -> None:
    """Copy-on-write DML: overwrite snapshots with deleted manifest entries."""
    lake = sc.lake
    lake.sql(
        "CREATE TABLE accounts (id bigint, owner string, balance decimal(12,2), opened date) "
        "PARTITIONED BY (bucket(4, id), year(opened))"
    )
    values = ", ".join(
        f"({i}, 'owner{i % 9}', CAST('{i * 10.5:.2f}' AS DECIMAL(12,2)), "
        f"DATE '{(dt.date(2019, 1, 1) + dt.timedelta(days=37 * i)).isoformat()}')"
        for i in range(1, 61)
    )
    sc.snapshots["accounts insert"] = lake.sql(f"INSERT INTO accounts VALUES {values}").snapshot_id
    steps = [
        ("accounts update", "UPDATE accounts SET balance = balance + 1 WHERE id % 3 = 0"),
        ("accounts delete", "DELETE FROM accounts WHERE opened < DATE '2020-01-01'"),
        (
            "accounts merge",
            "MERGE INTO accounts t USING (SELECT id, id * 2 AS bonus FROM accounts "
            "WHERE id > 50 UNION ALL SELECT 100 + i AS id, i AS bonus FROM "
            "(VALUES 1, 2, 3) AS v(i)) s ON t.id = s.id "
            "WHEN MATCHED THEN UPDATE SET owner = 'merged' "
            "WHEN NOT MATCHED THEN INSERT (id, owner, balance, opened) "
            "VALUES (s.id, 'new', CAST(s.bonus AS DECIMAL(12,2)), DATE '2030-01-01')",
        ),
    ]
    for label, statement in steps:
        lake.sql(statement)
        snap = sc.table("accounts").current_snapshot()
        assert snap is not None
        sc.snapshots[label] = snap.snapshot_id


# -- full-table reads, current and time travel ------------------------------------------
TABLE_READS = [
    ("events", None),
    *(
        ("events", label)
        for label in (
            "first insert",
            "second insert",
            "after add columns",
            "after rename+widen",
            "after drop column",
            "after partition column rename",
        )
    ),
    ("by_kind", None),
    ("sample", None),
    ("first_snapshot", None),
    ("accounts", None),
    *(("accounts", label) for label in ("accounts insert", "accounts update", "accounts delete")),
]


@pytest.mark.parametrize(("table", "snapshot"), TABLE_READS, ids=lambda v: str(v))
def test_full_table_reads_agree(
    scenario: Scenario, reader: Reader, table: str, snapshot: str | None
) -> None:
    snap_id = scenario.snapshots[snapshot] if snapshot else None
    travel = f" FOR VERSION AS OF {snap_id}" if snap_id else ""
    ours = scenario.lake.sql(f"SELECT * FROM {table}{travel}")
    ice = scenario.table(table)
    theirs = ice.scan(snapshot_id=snap_id).to_arrow()
    duck = reader.read(scenario.metadata(table), "SELECT * FROM t", snapshot_id=snap_id)
    assert len(ours) > 0

    # Names and types: oaklake = pyiceberg (Arrow) = the extension (DuckDB types from Iceberg's).
    schema = ice.schema()
    if snap_id is not None:
        schema_id = ice.snapshot_by_id(snap_id).schema_id
        schema = next(s for s in ice.metadata.schemas if s.schema_id == schema_id)
    names = [f.name for f in schema.fields]
    assert ours.columns == names
    assert theirs.column_names == names
    assert duck.columns == names
    assert duck.types == [duckdb_type(f.field_type) for f in schema.fields]
    ours_types = [plain_arrow_type(f.type) for f in ours.to_arrow().schema]
    assert ours_types == [plain_arrow_type(f.type) for f in theirs.schema]

    assert_same_rows("oaklake vs pyiceberg", ours.rows, arrow_rows(theirs))
    assert_same_rows("duckdb-iceberg vs oaklake", duck.rows, ours.rows)


def test_first_snapshot_holds_exactly_what_was_inserted(scenario: Scenario) -> None:
    """Guards the comparisons above against agreeing on something wrong (all NULLs, say)."""
    snap = scenario.snapshots["first insert"]
    ours = scenario.lake.sql(f"SELECT * FROM events FOR VERSION AS OF {snap}")
    want = [tuple(event(i)[c] for c in EVENTS_COLUMNS) for i in range(1, 25)]
    assert_same_rows("oaklake vs inserted", ours.rows, want)


# -- queries: filters on every partition column, nested fields, aggregates --------------
# (label, WHERE clause valid in Athena and DuckDB alike, the same filter for pyiceberg's scan)
FILTERS = [
    ("identity", "kind = 'c1'", "kind = 'c1'"),
    ("identity null", "kind IS NULL", "kind is null"),
    ("year", "d < DATE '1970-01-01'", "d < '1970-01-01'"),
    (
        "month",
        "d2 BETWEEN DATE '1969-01-01' AND DATE '2000-01-01'",
        "d2 >= '1969-01-01' and d2 <= '2000-01-01'",
    ),
    ("day", "ts >= TIMESTAMP '2024-01-02 00:00:00'", "ts >= '2024-01-02T00:00:00'"),
    ("hour", "ts2 < TIMESTAMP '1970-01-01 00:00:00'", "ts2 < '1970-01-01T00:00:00'"),
    ("bucket", "id IN (3, 17, 42, -405, 39190, 144)", "id in (3, 17, 42, -405, 39190, 144)"),
    ("truncate", "name = 'gamma'", "name = 'gamma'"),
    ("truncate unicode", "name = 'ünïcødé'", "name = 'ünïcødé'"),
    ("widened", "n_big > 1000", "n_big > 1000"),
]


@pytest.mark.parametrize(("label", "where", "row_filter"), FILTERS, ids=[f[0] for f in FILTERS])
def test_filtered_reads_agree(
    scenario: Scenario, reader: Reader, label: str, where: str, row_filter: str
) -> None:
    """Filters on partition columns: a reader that prunes by partition values must keep rows."""
    ours = scenario.lake.sql(f"SELECT * FROM events WHERE {where}")
    assert len(ours) > 0, f"{label}: the filter selects nothing, so it proves nothing"
    duck = reader.read(scenario.metadata("events"), f"SELECT * FROM t WHERE {where}")
    theirs = scenario.table("events").scan(row_filter=row_filter).to_arrow()
    assert_same_rows(f"duckdb-iceberg vs oaklake ({label})", duck.rows, ours.rows)
    assert_same_rows(f"pyiceberg vs oaklake ({label})", arrow_rows(theirs), ours.rows)


# (label, oaklake's Athena SQL, the same query in DuckDB SQL over t)
QUERIES = [
    (
        "nested",
        "SELECT id, info.a AS a, info.b AS b, cardinality(tags) AS ntags, "
        "element_at(tags, 1) AS first_tag FROM events",
        "SELECT id, info.a AS a, info.b AS b, len(tags) AS ntags, tags[1] AS first_tag FROM t",
    ),
    # oaklake's sum(bigint) is decimal(38,0) where Athena's is bigint: cast on both sides.
    (
        "aggregate",
        "SELECT kind, count(*) AS c, sum(amount) AS s, CAST(sum(n_big) AS bigint) AS nb, "
        "min(d) AS mind, max(ts2) AS maxts FROM events GROUP BY kind",
        "SELECT kind, count(*) AS c, sum(amount) AS s, CAST(sum(n_big) AS BIGINT) AS nb, "
        "min(d) AS mind, max(ts2) AS maxts FROM t GROUP BY kind",
    ),
]


@pytest.mark.parametrize(("label", "ours_sql", "duck_sql"), QUERIES, ids=[q[0] for q in QUERIES])
def test_queries_agree(
    scenario: Scenario, reader: Reader, label: str, ours_sql: str, duck_sql: str
) -> None:
    ours = scenario.lake.sql(ours_sql)
    duck = reader.read(scenario.metadata("events"), duck_sql)
    assert len(ours) > 0
    assert ours.columns == duck.columns
    assert_same_rows(f"duckdb-iceberg vs oaklake ({label})", duck.rows, ours.rows)


# -- metadata: snapshots and partition values ------------------------------------------
@pytest.mark.parametrize("table", ["events", "sample", "accounts"])
def test_snapshot_log_agrees(scenario: Scenario, reader: Reader, table: str) -> None:
    ice = scenario.table(table)
    metadata = scenario.metadata(table)
    duck = reader.read(
        metadata,
        f"SELECT sequence_number, snapshot_id FROM iceberg_snapshots('{metadata}')",
    )
    ours = [(s.sequence_number, s.snapshot_id) for s in ice.metadata.snapshots]
    assert sorted(duck.rows) == sorted(ours)
    assert ice.metadata.format_version == 2


# The partition tuple each transform must give, computed by DuckDB from the row's own values
# with the Iceberg extension's functions (bucket/truncate) and plain date arithmetic.
PARTITION_EXPRESSIONS = {
    "events": {
        "category": "kind",
        "d_year": "date_diff('year', DATE '1970-01-01', d)",
        "d2_month": "date_diff('month', DATE '1970-01-01', d2)",
        "ts_day": "CAST(ts AS DATE)",
        "ts2_hour": "date_diff('hour', TIMESTAMP '1970-01-01', ts2)",
        "id_bucket": "iceberg_bucket(16, id)",
        "name_trunc": "iceberg_truncate(3, name)",
    },
    "sample": {
        "id_bucket": "iceberg_bucket(8, id)",
        "ts_month": "date_diff('month', TIMESTAMP '1970-01-01', ts)",
        "name_trunc": "iceberg_truncate(2, name)",
    },
    "accounts": {
        "id_bucket": "iceberg_bucket(4, id)",
        "opened_year": "date_diff('year', DATE '1970-01-01', opened)",
    },
}


@pytest.mark.parametrize("table", sorted(PARTITION_EXPRESSIONS))
def test_partition_values_follow_the_spec(scenario: Scenario, reader: Reader, table: str) -> None:
    """Manifests' partition values = the transforms recomputed from each data file's rows."""
    metadata = scenario.metadata(table)
    manifests = reader.read(
        metadata,
        f"SELECT DISTINCT manifest_path FROM iceberg_metadata('{metadata}')",
    ).rows
    paths = ", ".join(f"'{p}'" for (p,) in manifests)
    # status 2 = DELETED: a copy-on-write manifest still lists the files it removed.
    recorded = reader.read(
        metadata,
        f"SELECT DISTINCT data_file.file_path, data_file.partition FROM read_avro([{paths}]) "
        "WHERE status <> 2",
    ).rows
    by_file = {path.removeprefix("file://"): partition for path, partition in recorded}
    exprs = PARTITION_EXPRESSIONS[table]
    ice = scenario.table(table)
    assert [f.name for f in ice.spec().fields] == list(exprs)
    # Read the data files themselves by field id (iceberg_scan's filename option crashes on
    # partitioned tables in this extension build), naming the source columns as they are now.
    sources = [ice.schema().find_field(f.source_id) for f in ice.spec().fields]
    by_id = ", ".join(
        f"{f.field_id}: {{name: '{f.name}', type: '{duckdb_type(f.field_type)}', "
        "default_value: NULL}"
        for f in {f.field_id: f for f in sources}.values()
    )
    files = ", ".join(f"'file://{path}'" for path in by_file)
    computed = reader.read(
        metadata,
        "SELECT DISTINCT filename, "
        + ", ".join(f"{e} AS {n}" for n, e in exprs.items())
        + f" FROM read_parquet([{files}], filename = true, hive_partitioning = false, "
        f"schema = MAP {{{by_id}}})",
    ).rows
    assert len(computed) >= len(by_file) > 1
    wrong = [
        (path, dict(zip(exprs, values, strict=True)), by_file[path])
        for path, *values in computed
        if dict(zip(exprs, values, strict=True)) != by_file[path]
    ]
    assert not wrong, f"{len(wrong)} file(s) with partition values off the spec: {wrong[:3]}"


if __name__ == "__main__":  # pragma: no cover - a convenience for running this file alone
    sys.exit(pytest.main([__file__, "-q"]))
