"""OPTIMIZE … REWRITE DATA USING BIN_PACK and VACUUM, with Athena's table properties.

OPTIMIZE compacts, per partition, the files outside the size band [min, max] (defaults 0.75× and
1.8× the target file size) into target-sized files, in one snapshot; partitions with fewer
such files than ``optimize_rewrite_data_file_threshold`` are left alone, as in Athena. Its WHERE
clause may name partition source columns only. VACUUM expires snapshots by the ``vacuum_*``
properties and deletes every file no kept snapshot reaches.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

from oaklake.engine import properties as props_mod
from oaklake.engine.result import Result
from oaklake.engine.statements import QUALIFIED, parse
from oaklake.errors import InvalidInput, SqlSyntaxError

if TYPE_CHECKING:
    from pyiceberg.table import Table

    from oaklake.engine.session import Engine

_OPTIMIZE_RE = re.compile(
    rf"^\s*OPTIMIZE\s+(?P<t>{QUALIFIED})\s+REWRITE\s+DATA\s+USING\s+BIN_PACK"
    r"(?:\s+WHERE\s+(?P<where>.+?))?\s*$",
    re.I | re.S,
)
_VACUUM_RE = re.compile(rf"^\s*VACUUM\s+(?P<t>{QUALIFIED})\s*$", re.I | re.S)


def _prop(table: Table, key: str) -> int:
    value = table.properties.get(key, props_mod.DEFAULTS[key])
    return int(value)


def _target_size(table: Table) -> int:
    key = "write_target_data_file_size_bytes"
    twin = table.properties.get("write.target-file-size-bytes")
    return int(table.properties.get(key, twin or props_mod.DEFAULTS[key]))


def optimize(engine: Engine, sql: str) -> Result:
    from oaklake.engine.ddl import parse_name
    from oaklake.engine.dml import Change, run_change

    m = _OPTIMIZE_RE.match(sql)
    if not m:
        raise SqlSyntaxError(
            "expected OPTIMIZE table REWRITE DATA USING BIN_PACK [WHERE predicate]",
            sql=sql,
            line=1,
            column=1,
        )
    schema, name = parse_name(engine, m.group("t"))
    full = f"{schema}.{name}"
    where_text = m.group("where")
    predicate = None
    if where_text:
        probe = parse(f"SELECT 1 FROM t WHERE {where_text}")
        predicate = probe.args["where"].this
    stats: dict[str, int] = {}

    def attempt(table: Table) -> Change:
        stats.clear()
        if table.current_snapshot() is None:
            return Change()
        row_filter = _partition_filter(engine, table, full, predicate)
        scan = table.scan(row_filter=row_filter) if row_filter is not None else table.scan()
        tasks = list(scan.plan_files())
        if any(t.delete_files for t in tasks):
            from oaklake.errors import NotSupported

            raise NotSupported(
                f"{full} has delete files written by another engine",
                hint="compact it with that engine first",
            )
        target = _target_size(table)
        low = int(
            table.properties.get("optimize_rewrite_min_data_file_size_bytes", int(0.75 * target))
        )
        high = int(
            table.properties.get("optimize_rewrite_max_data_file_size_bytes", int(1.8 * target))
        )
        threshold = _prop(table, "optimize_rewrite_data_file_threshold")
        groups: dict[Any, list[Any]] = defaultdict(list)
        for task in tasks:
            f = task.file
            if f.file_size_in_bytes < low or f.file_size_in_bytes > high:
                groups[(f.spec_id, tuple(f.partition))].append(f)
        chosen = [
            files
            for files in groups.values()
            if len(files) >= max(threshold, 2) or any(f.file_size_in_bytes > high for f in files)
        ]
        change = Change()
        for files in chosen:
            rows = _read(engine, table, files)
            change.removed.extend(files)
            change.new_rows.append(rows)
        stats["rewritten_files"] = sum(len(g) for g in chosen)
        stats["partitions"] = len(chosen)
        change.affected = sum(t.num_rows for t in change.new_rows)
        return change

    change = run_change(engine, schema, name, attempt, operation="optimize")
    added = 0
    if change.snapshot_id is not None and stats.get("rewritten_files"):
        table = engine.load_table(schema, name)
        snap = table.metadata.snapshot_by_id(change.snapshot_id)
        if snap is not None and snap.summary is not None:
            added = int(snap.summary.additional_properties.get("added-data-files", 0))
    rows = [
        ("rewritten_data_files", stats.get("rewritten_files", 0)),
        ("added_data_files", added),
        ("partitions", stats.get("partitions", 0)),
        ("rows", change.affected),
    ]
    return Result(
        table=pa.table({"metric": [r[0] for r in rows], "value": [int(r[1]) for r in rows]}),
        message=f"{full}: {stats.get('rewritten_files', 0)} files compacted into {added}",
        snapshot_id=change.snapshot_id,
    )


def _partition_filter(
    engine: Engine, table: Table, full: str, predicate: exp.Expression | None
) -> Any:
    """OPTIMIZE's WHERE: partition source columns only (Athena fails otherwise)."""
    if predicate is None:
        return None
    from oaklake.engine import pushdown
    from oaklake.engine.resolve import Resolver

    schema = table.schema()
    sources = {
        schema.find_field(f.source_id).name for spec in table.specs().values() for f in spec.fields
    }
    for col in predicate.find_all(exp.Column):
        if col.name.lower() not in sources:
            raise InvalidInput(
                f"OPTIMIZE's WHERE may only use partition columns; {col.name} is not one of "
                f"{full}'s ({', '.join(sorted(sources)) or 'it is not partitioned'})",
                hint="drop the condition, or use partition columns only",
            )
    resolver = Resolver(engine)
    converted = pushdown.to_iceberg(predicate, lambda c: c.name.lower(), resolver._safe_constant)
    if converted is None:
        raise InvalidInput(
            "OPTIMIZE's WHERE condition cannot be evaluated on partitions: "
            f"{predicate.sql('athena')}",
            hint="compare partition columns with constants, e.g. WHERE cat = 'c1'",
        )
    return converted


def _read(engine: Engine, table: Table, files: list[Any]) -> pa.Table:
    from oaklake.engine.scan import ScanPlan

    plan = ScanPlan(
        name="",
        table=table,
        schema=table.schema(),
        snapshot_id=None,
        files=[f.file_path for f in files],
    )
    return engine._duck(lambda: engine.con.sql(plan.select_sql()).to_arrow_table())


def vacuum(engine: Engine, sql: str) -> Result:
    from oaklake.catalog.maintenance import as_rows
    from oaklake.catalog.maintenance import vacuum as run_vacuum
    from oaklake.engine.ddl import parse_name

    m = _VACUUM_RE.match(sql)
    if not m:
        raise SqlSyntaxError("expected VACUUM table", sql=sql, line=1, column=1)
    schema, name = parse_name(engine, m.group("t"))
    table = engine.load_table(schema, name)
    report = run_vacuum(
        table,
        max_snapshot_age_s=_prop(table, "vacuum_max_snapshot_age_seconds"),
        min_snapshots_to_keep=_prop(table, "vacuum_min_snapshots_to_keep"),
    )
    engine.forget_table(schema, name)
    rows = as_rows(report)
    return Result(
        table=pa.table({"metric": [r[0] for r in rows], "value": [int(r[1]) for r in rows]}),
        message=f"{schema}.{name}: {len(report.expired_snapshots)} snapshots expired",
    )
