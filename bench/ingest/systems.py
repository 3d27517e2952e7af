"""The four ways of loading the CSV, each run into a fresh target and timed the same way.

A system's ``run(n)`` does its untimed set-up (a fresh workspace, catalog or connection, opened
and warmed), then times the load alone, then counts the rows that landed (untimed). ``check()``
computes the aggregates of the last run's table, so that every system is seen to hold the same
data; ``close()`` removes what the runs wrote.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The aggregates every loaded table must agree on (DuckDB SQL over a relation named t).
CHECK_SQL = (
    "SELECT count(*) AS rows, sum(id) AS sum_id, count(DISTINCT customer) AS customers, "
    "count(discount) AS discounts, min(created_at) AS first_created, "
    "max(order_date) AS last_order_date, count(*) FILTER (WHERE is_paid) AS paid"
)
CHECK_NAMES = (
    "rows",
    "sum_id",
    "customers",
    "discounts",
    "first_created",
    "last_order_date",
    "paid",
)


@dataclass
class Run:
    seconds: float
    cpu_seconds: float  # this process, every thread
    rows: int
    phases: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def _timed(call: Any) -> tuple[Any, float, float]:
    cpu = time.process_time()
    start = time.perf_counter()
    out = call()
    return out, time.perf_counter() - start, time.process_time() - cpu


def _aggregates(con: Any, relation: str) -> dict[str, Any]:
    row = con.execute(f"{CHECK_SQL} FROM {relation}").fetchall()[0]
    return {
        k: (v if isinstance(v, int | float) else str(v))
        for k, v in zip(CHECK_NAMES, row, strict=True)
    }


class Oaklake:
    """``lake.ingest(csv, "bench.t", rules=…, notify=False)`` into a fresh workspace."""

    def __init__(self, name: str, csv: Path, work: Path, rules: Path | None) -> None:
        self.name = name
        self.csv = csv
        self.work = work
        self.rules = rules
        self.lake: Any = None
        self.folder: Path | None = None

    def describe(self) -> str:
        gate = f"rules={self.rules.name} (10 rules)" if self.rules else "no rules"
        return (
            f"lake.ingest(csv, 'bench.t', {gate}, notify=False) into a fresh workspace "
            "(oaklake.init, CREATE SCHEMA bench, select 1 beforehand, untimed); the table is "
            "created by the ingest"
        )

    def _fresh(self, n: int) -> None:
        import oaklake

        self._drop()
        self.folder = self.work / f"{self.name}-{n}"
        shutil.rmtree(self.folder, ignore_errors=True)
        self.lake = oaklake.init(self.folder)
        self.lake.sql("CREATE SCHEMA bench")
        self.lake.sql("select 1")

    def run(self, n: int) -> Run:
        self._fresh(n)
        marks: list[tuple[str, float | None, float]] = []

        def progress(phase: str, fraction: float | None) -> None:
            if fraction is None or fraction in (0.0, 1.0):
                marks.append((phase, fraction, time.perf_counter()))

        lake = self.lake
        start = time.perf_counter()

        def load() -> Any:
            return lake.ingest(
                self.csv, "bench.t", rules=self.rules, notify=False, progress=progress
            )

        result, seconds, cpu = _timed(load)
        end = start + seconds
        if result.status != "loaded":
            raise RuntimeError(f"ingest ended {result.status}: failed {result.failed_rules()}")
        rows = int(lake.sql("SELECT count(*) FROM bench.t").rows[0][0])
        return Run(
            seconds,
            cpu,
            rows,
            _phases(marks, start, end),
            {
                "rows_loaded": result.rows_loaded,
                "score": result.quality.score if result.quality is not None else None,
            },
        )

    def check(self) -> dict[str, Any]:
        con = self.lake.engine.con
        files = [
            str(t.file.file_path).removeprefix("file://")
            for t in self.lake.engine.load_table("bench", "t").scan().plan_files()
        ]
        # Through oaklake's own SQL (count, sum, distinct) and, for the rest, DuckDB over the
        # table's data files; both must agree with the limit's file.
        via_sql = self.lake.sql(
            "SELECT count(*), sum(id), count(DISTINCT customer) FROM bench.t"
        ).rows[0]
        out = _aggregates(con, "read_parquet([" + ", ".join(f"'{f}'" for f in files) + "])")
        out["via_lake_sql"] = {"rows": via_sql[0], "sum_id": via_sql[1], "customers": via_sql[2]}
        out["data_files"] = len(files)
        out["bytes"] = sum(Path(f).stat().st_size for f in files)
        return out

    def _drop(self) -> None:
        if self.lake is not None:
            self.lake.close()
            self.lake = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def close(self) -> None:
        self._drop()


def _phases(
    marks: list[tuple[str, float | None, float]], start: float, end: float
) -> dict[str, float]:
    """Seconds per phase from the ``progress`` calls: ``reading`` 0 and 1 bracket the staging
    COPY; ``checking rules`` starts the gate; ``committing`` starts commit + ledger."""
    at: dict[str, float] = {}
    for phase, fraction, t in marks:
        key = f"{phase}:{fraction}" if fraction is not None else phase
        at.setdefault(key, t)
    read0 = at.get("reading:0.0", start)
    read1 = at.get("reading:1.0", read0)
    commit = at.get("committing", end)
    gate = at.get("checking rules")
    after_read = gate if gate is not None else commit
    return {
        "prepare": round(read0 - start, 4),  # checks, CSV header, type sniffing
        "staging_copy": round(read1 - read0, 4),  # DuckDB COPY csv -> staged Parquet
        "after_copy": round(after_read - read1, 4),  # rejects check, checksum wait
        "gate": round(commit - gate, 4) if gate is not None else 0.0,
        "commit_and_ledger": round(end - commit, 4),
    }


class DuckDBLimit:
    """Plain DuckDB: ``COPY (SELECT * FROM read_csv(file)) TO 'x.parquet' (FORMAT parquet)``."""

    name = "duckdb COPY (limit)"

    def __init__(self, csv: Path, work: Path) -> None:
        self.csv = csv
        self.work = work
        self.last: Path | None = None

    def describe(self) -> str:
        return (
            "duckdb.connect() (fresh, defaults, select 1 beforehand), then COPY (SELECT * FROM "
            "read_csv('<csv>')) TO '<x>.parquet' (FORMAT parquet)"
        )

    def run(self, n: int) -> Run:
        import duckdb

        self.close()
        out = self.work / f"limit-{n}.parquet"
        out.unlink(missing_ok=True)
        con = duckdb.connect()
        try:
            con.execute("select 1").fetchall()
            sql = f"COPY (SELECT * FROM read_csv('{self.csv}')) TO '{out}' (FORMAT parquet)"
            copied, seconds, cpu = _timed(lambda: con.execute(sql).fetchall())
            rows = int(con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchall()[0][0])
        finally:
            con.close()
        self.last = out
        return Run(seconds, cpu, rows, extra={"copy_reported_rows": int(copied[0][0])})

    def check(self) -> dict[str, Any]:
        import duckdb

        assert self.last is not None
        con = duckdb.connect()
        try:
            out = _aggregates(con, f"read_parquet('{self.last}')")
        finally:
            con.close()
        out["data_files"] = 1
        out["bytes"] = self.last.stat().st_size
        return out

    def close(self) -> None:
        if self.last is not None:
            self.last.unlink(missing_ok=True)
            self.last = None


class PyIceberg:
    """``pyarrow.csv.read_csv`` then ``create_table(schema=arrow.schema)`` and ``append`` on a
    pyiceberg SqlCatalog (SQLite) in a fresh folder."""

    name = "pyiceberg append"

    def __init__(self, csv: Path, work: Path) -> None:
        self.csv = csv
        self.work = work
        self.catalog: Any = None
        self.table: Any = None
        self.folder: Path | None = None

    def describe(self) -> str:
        return (
            "fresh SqlCatalog (sqlite) + namespace (untimed); timed: pyarrow.csv.read_csv(csv), "
            "catalog.create_table('bench.t', schema=arrow.schema), table.append(arrow)"
        )

    def run(self, n: int) -> Run:
        import pyarrow.csv as pacsv
        from pyiceberg.catalog.sql import SqlCatalog

        self.close()
        self.folder = self.work / f"pyiceberg-{n}"
        shutil.rmtree(self.folder, ignore_errors=True)
        (self.folder / "warehouse").mkdir(parents=True)
        self.catalog = SqlCatalog(
            "bench",
            uri=f"sqlite:///{self.folder / 'catalog.db'}",
            warehouse=(self.folder / "warehouse").as_uri(),
        )
        self.catalog.create_namespace("bench")
        phases: dict[str, float] = {}

        def load() -> Any:
            t0 = time.perf_counter()
            arrow = pacsv.read_csv(self.csv)
            t1 = time.perf_counter()
            table = self.catalog.create_table("bench.t", schema=arrow.schema)
            table.append(arrow)
            phases["read_csv"] = round(t1 - t0, 4)
            phases["create_and_append"] = round(time.perf_counter() - t1, 4)
            return table

        self.table, seconds, cpu = _timed(load)
        rows = int(self.table.current_snapshot().summary["total-records"])
        return Run(seconds, cpu, rows, phases)

    def check(self) -> dict[str, Any]:
        import duckdb

        files = [t.file.file_path.removeprefix("file://") for t in self.table.scan().plan_files()]
        con = duckdb.connect()
        try:
            out = _aggregates(con, "read_parquet([" + ", ".join(f"'{f}'" for f in files) + "])")
        finally:
            con.close()
        out["data_files"] = len(files)
        out["bytes"] = sum(Path(f).stat().st_size for f in files)
        return out

    def close(self) -> None:
        if self.catalog is not None:
            self.catalog.engine.dispose()
            self.catalog = None
            self.table = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
