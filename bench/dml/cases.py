"""The measured cases. Each timed run starts from a fresh copy of the base table, and only the
statement itself is timed (copies, checks and summaries are not)."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bench.dml.data import SCHEMA, Workspace, small_file_sql
from bench.dml.phases import Phases

if TYPE_CHECKING:
    from collections.abc import Callable

MERGE_SQL = (
    "MERGE INTO {t} AS t USING {s} AS s ON t.id = s.id "
    "WHEN MATCHED THEN UPDATE SET ts = s.ts, cat = s.cat, v = s.v, payload = s.payload "
    "WHEN NOT MATCHED THEN INSERT (id, ts, cat, v, payload) "
    "VALUES (s.id, s.ts, s.cat, s.v, s.payload)"
)
UPDATE_SQL = "UPDATE {t} SET v = v + 1 WHERE id % 10 = 0"
DELETE_DAY_SQL = (
    "DELETE FROM {t} WHERE ts >= TIMESTAMP '2024-01-10 00:00:00' "
    "AND ts < TIMESTAMP '2024-01-11 00:00:00'"
)
DELETE_CAT_SQL = "DELETE FROM {t} WHERE cat = 'c7'"


@dataclass
class Outcome:
    case: str
    what: str
    peer: str
    oaklake_runs_s: list[float] = field(default_factory=list)
    peer_runs_s: list[float] = field(default_factory=list)
    # CPU seconds of this process (all its threads) per run: a busy machine stretches wall time,
    # much less the work done.
    oaklake_cpu_s: list[float] = field(default_factory=list)
    peer_cpu_s: list[float] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)  # of the fastest oaklake run
    affected_rows: int | None = None
    peer_affected_rows: int | None = None
    problems: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def oaklake_s(self) -> float | None:
        return min(self.oaklake_runs_s) if self.oaklake_runs_s else None

    @property
    def peer_s(self) -> float | None:
        return min(self.peer_runs_s) if self.peer_runs_s else None


def _timed_oak(
    ws: Workspace, run: Callable[[str], Any], name: str, out: Outcome
) -> tuple[float, Any, Phases]:
    with Phases() as phases:
        cpu = time.process_time()
        start = time.perf_counter()
        result = run(name)
        seconds = time.perf_counter() - start
        out.oaklake_cpu_s.append(time.process_time() - cpu)
    out.oaklake_runs_s.append(seconds)
    return seconds, result, phases


def _timed_duck(ws: Workspace, sql: str, out: Outcome) -> int:
    cpu = time.process_time()
    start = time.perf_counter()
    rows = ws.duck.execute(sql).fetchall()
    out.peer_runs_s.append(time.perf_counter() - start)
    out.peer_cpu_s.append(time.process_time() - cpu)
    return int(rows[0][0]) if rows else 0


def _check_snapshots(ws: Workspace, name: str, before: int, out: Outcome) -> None:
    snaps = ws.snapshots(name)
    added = len(snaps) - before
    if added != 1:
        out.problems.append(f"{added} snapshots committed, expected exactly 1")
    else:
        summary = snaps[-1].summary
        op = summary.operation.value if summary is not None else "?"
        out.extra["snapshot_operation"] = op


def _compare(oak: tuple[Any, ...], duck: tuple[Any, ...], out: Outcome, what: str) -> None:
    names = ("count", "sum(v)", "id checksum", "row checksum")
    diffs = [f"{n} {a} != {b}" for n, a, b in zip(names, oak, duck, strict=True) if a != b]
    if diffs:
        out.problems.append(f"{what}: " + "; ".join(diffs))
    out.extra.setdefault("checked", []).append(what)


def statement_case(
    ws: Workspace,
    case: str,
    what: str,
    run: Callable[[str], Any],
    duck_sql: str,
    repeat: int,
) -> Outcome:
    """An oaklake write against the same statement in DuckDB, each on a fresh copy."""
    out = Outcome(case=case, what=what, peer="duckdb")
    best = None
    for rep in range(repeat):
        name = ws.clone()
        before = len(ws.snapshots(name))
        seconds, result, phases = _timed_oak(ws, run, name, out)
        if best is None or seconds < best:
            best = seconds
            out.phases = phases.split(seconds)
        ws.duck_copy()
        duck_rows = _timed_duck(ws, duck_sql.format(t="t"), out)
        if rep == 0:
            out.affected_rows = result.affected_rows
            out.peer_affected_rows = duck_rows
            if result.affected_rows != duck_rows:
                out.problems.append(f"affected rows {result.affected_rows} != duckdb's {duck_rows}")
            _check_snapshots(ws, name, before, out)
            _compare(ws.oak_summary(name), ws.duck_summary("t"), out, "table equals duckdb's")
            out.extra["files_after"] = _files(ws, name)
    out.extra["files_before"] = _files(ws, "events")
    return out


def _files(ws: Workspace, name: str) -> int:
    return len(_scan(ws, name))


def sql_runner(ws: Workspace, template: str, source: str | None = None) -> Callable[[str], Any]:
    def run(name: str) -> Any:
        text = template.format(t=f"{SCHEMA}.{name}", s=f"{SCHEMA}.{source}" if source else "")
        return ws.lake.sql(text)

    return run


def python_merge_runner(ws: Workspace, source: str) -> Callable[[str], Any]:
    rows = ws.sources[source]

    def run(name: str) -> Any:
        return ws.lake.table(f"{SCHEMA}.{name}").merge(rows, on=["id"])

    return run


# -- pyiceberg upsert ----------------------------------------------------------------------
def upsert(ws: Workspace, source: str, timeout_s: float) -> dict[str, Any]:
    """pyiceberg ``upsert`` of ``source`` into a fresh copy, in a child process with a timeout;
    the copy is then compared with DuckDB's MERGE of the same rows."""
    import pyarrow.parquet as pq

    path = ws.root / f"{source}.parquet"
    pq.write_table(ws.sources[source], path)
    name = ws.clone()
    before = len(ws.snapshots(name))
    cmd = [sys.executable, "-m", "bench.dml.upsert", str(ws.root / "lake"), f"{SCHEMA}.{name}",
           str(path)]  # fmt: skip
    out: dict[str, Any] = {"table": name, "timeout_s": timeout_s, "problems": []}
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        # Killed and reaped: its wall and CPU time so far are lower bounds.
        out["timed_out"] = True
        out["wall_s"] = time.perf_counter() - start
        out["process_cpu_s"] = _children_cpu(children)
        return out
    out["timed_out"] = False
    out["wall_s"] = time.perf_counter() - start
    out["process_cpu_s"] = _children_cpu(children)  # with start-up and reading the source
    if done.returncode != 0:
        out["problems"].append("upsert failed: " + done.stderr.strip().splitlines()[-1])
        return out
    out.update(json.loads(done.stdout.strip().splitlines()[-1]))
    out["snapshots_added"] = len(ws.snapshots(name)) - before
    ws.duck_copy()
    ws.duck.execute(MERGE_SQL.format(t="t", s=source))
    oak = ws.oak_summary(name)
    duck = ws.duck_summary("t")
    if oak != duck:
        out["problems"].append(f"upsert result differs from duckdb's MERGE: {oak} != {duck}")
    return out


def _children_cpu(before: Any) -> float:
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


# -- OPTIMIZE ------------------------------------------------------------------------------
def build_small_files(ws: Workspace) -> dict[str, Any]:
    """``small_files`` pyiceberg appends of small Arrow tables into an unpartitioned table.

    pyiceberg appends (0.15 s each at first) were faster to set up than oaklake INSERTs (0.24 s).
    Every pyiceberg commit deep-copies the table metadata many times, so each append gets slower
    as snapshots pile up (300 appends: 142 s); expiring snapshots every 50 appends keeps setup
    linear and leaves what OPTIMIZE sees unchanged: one file and one manifest per append.
    """
    from oaklake.catalog.maintenance import expire_snapshots

    s = ws.sizes
    ws.lake.sql(f"CREATE TABLE {SCHEMA}.small (id bigint, ts timestamp, cat string, v double, "
                "payload string)")  # fmt: skip
    table = ws.lake.engine.load_table(SCHEMA, "small")
    schema = table.schema().as_arrow()
    start = time.perf_counter()
    for i in range(s.small_files):
        table.append(ws.arrow(small_file_sql(i, s.rows_per_small_file)).cast(schema))
        if i % 50 == 49:
            expire_snapshots(table, older_than_ms=int(time.time() * 1000) + 1, min_to_keep=1)
    ws.setup_s["small_files"] = time.perf_counter() - start
    ws.lake.engine.forget_table(SCHEMA, "small")
    table = ws.lake.engine.load_table(SCHEMA, "small")
    files = [t.file for t in table.scan().plan_files()]
    on_disk = sum(f.file_size_in_bytes for f in files)
    # Athena's default target (512 MB) would make one file of these few MB: aim for about four
    # files instead, so splitting into target-sized files is exercised.
    target = max(on_disk // 4, 256 * 1024)
    ws.lake.sql(f"ALTER TABLE {SCHEMA}.small SET TBLPROPERTIES "
                f"('write_target_data_file_size_bytes'='{target}')")  # fmt: skip
    return {
        "setup": "pyiceberg Table.append of small Arrow tables; snapshots expired every 50",
        "files": len(files),
        "bytes_on_disk": on_disk,
        "target_file_size_bytes": target,
        "manifests": len(table.current_snapshot().manifests(table.io)),
    }


def optimize_case(ws: Workspace, repeat: int, setup: dict[str, Any]) -> Outcome:
    out = Outcome(case="optimize", what=f"OPTIMIZE {setup['files']} small files (BIN_PACK)",
                  peer="duckdb copy")  # fmt: skip
    out.extra.update(setup)
    before_summary = ws.oak_summary("small")
    table = ws.lake.engine.load_table(SCHEMA, "small")
    paths = [t.file.file_path.removeprefix("file://") for t in table.scan().plan_files()]
    listing = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
    optimize = sql_runner(ws, "OPTIMIZE {t} REWRITE DATA USING BIN_PACK")
    best = None
    for rep in range(repeat):
        name = ws.clone("small")
        before = len(ws.snapshots(name))
        seconds, result, phases = _timed_oak(ws, optimize, name, out)
        if best is None or seconds < best:
            best = seconds
            out.phases = phases.split(seconds)
        # The floor for the same work: DuckDB reading the files and writing them as one file.
        target = ws.root / f"floor_{rep}.parquet"
        _timed_duck(ws, f"COPY (SELECT * FROM read_parquet([{listing}])) TO '{target}' "
                        "(FORMAT parquet, COMPRESSION zstd)", out)  # fmt: skip
        if rep == 0:
            metrics = dict(result.rows)
            out.affected_rows = int(metrics.get("rows", 0))
            after = _scan(ws, name)
            out.extra["files_before"] = len(paths)
            out.extra["files_after"] = len(after)
            out.extra["file_sizes_after_bytes"] = sorted(t.file.file_size_in_bytes for t in after)
            out.extra["optimize_metrics"] = {k: int(v) for k, v in metrics.items()}
            _check_snapshots(ws, name, before, out)
            _compare(ws.oak_summary(name), before_summary, out, "rows unchanged by OPTIMIZE")
            # A second OPTIMIZE should find nothing left to do.
            again = dict(ws.lake.sql(f"OPTIMIZE {SCHEMA}.{name} REWRITE DATA USING BIN_PACK").rows)
            out.extra["second_optimize_rewrote_files"] = int(again.get("rewritten_data_files", 0))
    return out


def _scan(ws: Workspace, name: str) -> list[Any]:
    ws.lake.engine.forget_table(SCHEMA, name)
    return list(ws.lake.engine.load_table(SCHEMA, name).scan().plan_files())
