"""UPDATE, DELETE and MERGE INTO: copy-on-write, one atomic snapshot per statement.

Each statement plans the target's files (pruned with the WHERE/ON conjuncts that only name the
target), lets DuckDB find the files that hold affected rows and compute their replacement rows,
writes only those files, and commits one OVERWRITE snapshot (``catalog.commit``). Files whose
rows are all deleted are dropped without being rewritten. When another writer committed first,
the whole statement is re-planned against the new snapshot and retried (bounded by
``commit_retries``); when retries run out it fails with COMMIT_CONFLICT and changes nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from oaklake.catalog import types as ctypes
from oaklake.catalog.commit import (
    StagedTable,
    StaleCommit,
    commit_files,
    commit_transaction,
    delete_files,
    stage_files,
    write_data_files,
)
from oaklake.catalog.commit import add_columns as add_column_updates
from oaklake.engine import pushdown
from oaklake.engine.result import Result
from oaklake.engine.scan import ScanPlan, local_path, plan
from oaklake.errors import (
    AlreadyExists,
    ColumnNotFound,
    CommitConflict,
    InvalidInput,
    NotSupported,
    TypeMismatch,
    did_you_mean,
)

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.table import Table

    from oaklake.engine.resolve import Resolver
    from oaklake.engine.session import Engine

_COUNTER = itertools.count()


@dataclass
class Change:
    """What one attempt of a statement wants to commit."""

    removed: list[Any] = field(default_factory=list)
    new_rows: list[pa.Table] = field(default_factory=list)
    affected: int = 0
    detail: dict[str, int] = field(default_factory=dict)
    snapshot_id: int | None = None


class MultipleMatches(InvalidInput):
    code = "MERGE_TARGET_ROW_MULTIPLE_MATCHES"


# -- the retry loop ----------------------------------------------------------------------
def run_change(
    engine: Engine,
    schema: str,
    name: str,
    attempt: Callable[[Table], Change],
    *,
    operation: str,
    add_columns: Sequence[tuple[str, Any]] = (),
) -> Change:
    """Plan, write and commit; on a stale commit re-plan from the new snapshot and retry.

    ``add_columns`` are added to the table in the same commit as the change, which is then
    planned on the grown schema (rows already there read NULL in them).
    """
    import random
    import time

    retries = engine.settings.commit_retries
    last_error: Exception | None = None
    for attempt_no in range(retries + 1):
        if attempt_no:
            # Jittered back-off, so writers that keep colliding spread out instead of livelocking.
            time.sleep(random.uniform(0, min(0.02 * 2**attempt_no, 1.0)))  # noqa: S311
        engine.forget_table(schema, name)
        table = engine.load_table(schema, name)
        snapshot = table.current_snapshot()
        expected = snapshot.snapshot_id if snapshot is not None else None
        txn = None
        if add_columns:
            txn = table.transaction()
            add_column_updates(txn, add_columns)
            table = StagedTable(txn)  # type: ignore[assignment]
        change = attempt(table)
        if txn is None and not change.removed and not any(t.num_rows for t in change.new_rows):
            change.snapshot_id = expected
            return change
        written: list[Any] = []
        try:
            # One write for all new rows (a MERGE's rewritten and inserted rows alike), so each
            # partition gets one file rather than one per kind of row: half the files and
            # manifest entries for a MERGE that updates and inserts into every partition.
            rows = _concat(table, change.new_rows)
            if rows is not None:
                written.extend(write_data_files(table, rows))
            if txn is not None:
                if written or change.removed:
                    stage_files(
                        txn,
                        added=written,
                        removed=change.removed,
                        properties={"oaklake.operation": operation},
                    )
                committed = commit_transaction(txn).current_snapshot()
                change.snapshot_id = committed.snapshot_id if committed is not None else None
                engine.forget_table(schema, name)
                return change
            change.snapshot_id = commit_files(
                table,
                added=written,
                removed=change.removed,
                expected_snapshot_id=expected,
                properties={"oaklake.operation": operation},
            )
            return change
        except StaleCommit as e:
            delete_files(table, written)
            last_error = e
            continue
        except BaseException:
            delete_files(table, written)
            raise
    raise CommitConflict(
        f"Failed to commit Iceberg update to table {schema}.{name}: other writers kept "
        f"changing it ({retries} retries)",
        hint="run the statement again, or raise [sql] commit_retries in oaklake.toml",
    ) from last_error


# -- helpers -----------------------------------------------------------------------------
def _concat(table: Table, parts: list[pa.Table]) -> pa.Table | None:
    """The non-empty parts as one Arrow table in the table's schema (None when all are empty)."""
    import pyarrow as pa

    schema = table.schema().as_arrow()
    nonempty = [p.cast(schema) for p in parts if p.num_rows]
    if not nonempty:
        return None
    return nonempty[0] if len(nonempty) == 1 else pa.concat_tables(nonempty)


def _target(engine: Engine, node: exp.Expression) -> tuple[str, str, str]:
    from oaklake.engine.ddl import table_name

    if not isinstance(node, exp.Table):
        raise InvalidInput(f"expected a table name, got {node.sql('athena')}")
    if node.args.get("version") is not None:
        raise InvalidInput("cannot write to a table FOR VERSION/TIMESTAMP AS OF")
    schema, name = table_name(engine, node)
    if "$" in name:
        raise NotSupported(f'metadata table "{name}" is read-only')
    if engine.catalog.schema_exists(schema) and engine.catalog.view_exists(schema, name):
        raise NotSupported(f"{schema}.{name} is a view; only tables can be changed")
    return schema, name, (node.alias or name).lower()


def _temp_name(kind: str) -> str:
    return f"__oak_{kind}_{next(_COUNTER)}"


def _bind_target(engine: Engine, resolver: Resolver, scan: ScanPlan) -> str:
    view = _temp_name("target")
    engine.con.execute(f'CREATE OR REPLACE TEMP VIEW "{view}" AS {scan.select_sql(positions=True)}')
    resolver.temp_names.append(view)
    resolver.passthrough.add(view)
    return view


def _bind_files(
    engine: Engine, resolver: Resolver, scan: ScanPlan, view: str, paths: list[str]
) -> str:
    """A view of just the files to rewrite (``paths`` as DuckDB's ``filename`` shows them):
    ``view`` itself when that is all of them. Reading only those files beats filtering the
    whole scan on a list of names: ``__oak_file IN (480 paths)`` made a 1M-row MERGE's rewrite
    query 2.2x slower."""
    import dataclasses

    if len(set(paths)) == len(scan.files):
        return view
    by_path = {local_path(f.file_path): f for f in scan.data_files}
    chosen = [by_path[p] for p in paths]
    return _bind_target(
        engine,
        resolver,
        dataclasses.replace(scan, files=[f.file_path for f in chosen], data_files=chosen),
    )


def _row_filter(
    conds: list[exp.Expression], alias: str, table: Table, resolver: Resolver, *, sole: bool
) -> Any:
    """Conjuncts that name only target columns, as a pyiceberg filter (pruning only)."""
    from pyiceberg.expressions import And
    from pyiceberg.expressions.visitors import bind

    names = {f.name for f in table.schema().fields}

    def column_of(col: exp.Column) -> str | None:
        cname = col.name.lower()
        if col.table:
            return cname if col.table.lower() == alias and cname in names else None
        return cname if sole and cname in names else None

    pushed = []
    for conj in conds:
        converted = pushdown.to_iceberg(conj, column_of, resolver._safe_constant)
        if converted is None:
            continue
        try:
            bind(table.schema(), converted, case_sensitive=False)
        except Exception:  # noqa: S112 - cannot compare: simply don't prune on it
            continue
        if not pushdown.lossless(converted, table.schema()):
            continue
        pushed.append(converted)
    if not pushed:
        return None
    result = pushed[0]
    for p in pushed[1:]:
        result = And(result, p)
    return result


def _sql(resolver: Resolver, engine: Engine, node: exp.Expression) -> str:
    """DuckDB SQL for an expression, with any tables inside it (subqueries) resolved."""
    from oaklake.engine.translate import to_duckdb

    return to_duckdb(resolver.resolve(node, engine.current_schema))


def _when(resolver: Resolver, engine: Engine, condition: exp.Expression | None) -> str:
    """A WHEN clause's condition as DuckDB SQL (no condition: TRUE)."""
    return _sql(resolver, engine, condition) if condition is not None else "TRUE"


def _column_list(table: Table) -> list[Any]:
    return list(table.schema().fields)


def _check_assignable(engine: Engine, probe_sql: str, targets: list[Any], what: str) -> None:
    """Trino-style type check of values about to be written, before any row is computed."""
    described = engine._duck(lambda: engine.con.execute(f"DESCRIBE {probe_sql}").fetchall())
    for (col_name, col_type, *_), field_ in zip(described, targets, strict=True):
        text = str(col_type)
        if text.upper() == '"NULL"':
            continue
        try:
            source = ctypes.from_duckdb(text)
        except Exception:
            source = None
        if source is not None and not ctypes.assignable(source, field_.field_type):
            raise TypeMismatch(
                f"{what}: column {field_.name} is {ctypes.to_athena(field_.field_type)} but the "
                f"value is {text.lower()}",
                hint=f"CAST the value: CAST(… AS {ctypes.to_athena(field_.field_type)})",
            )
        del col_name


def _set_pairs(
    table: Table, full: str, assignments: list[exp.Expression]
) -> dict[str, exp.Expression]:
    names = [f.name for f in table.schema().fields]
    out: dict[str, exp.Expression] = {}
    for a in assignments:
        if not isinstance(a, exp.EQ) or not isinstance(a.this, exp.Column):
            raise InvalidInput(f"expected column = value in SET, got {a.sql('athena')}")
        cname = a.this.name.lower()
        if cname not in names:
            raise ColumnNotFound(
                f"column {cname} does not exist in {full}", hint=did_you_mean(cname, names)
            )
        if cname in out:
            raise InvalidInput(f"column {cname} is assigned twice")
        out[cname] = a.expression
    return out


# -- UPDATE / DELETE ---------------------------------------------------------------------
def update(engine: Engine, expr: exp.Update) -> Result:
    schema, name, alias = _target(engine, expr.this)
    full = f"{schema}.{name}"
    if expr.args.get("from_") or expr.args.get("from"):
        raise NotSupported("UPDATE … FROM is not supported", hint="use MERGE INTO … USING … ON …")
    where = expr.args.get("where")
    cond = where.this if where is not None else exp.true()

    def attempt(table: Table) -> Change:
        sets = _set_pairs(table, full, expr.expressions)
        return _rewrite(engine, table, full, alias, cond, sets=sets)

    change = run_change(engine, schema, name, attempt, operation="update")
    return Result(
        message=f"{change.affected} rows updated",
        affected_rows=change.affected,
        snapshot_id=change.snapshot_id,
    )


def delete(engine: Engine, expr: exp.Delete) -> Result:
    schema, name, alias = _target(engine, expr.this)
    if expr.args.get("using"):
        raise NotSupported("DELETE … USING is not supported", hint="use WHERE … IN (SELECT …)")
    where = expr.args.get("where")
    cond = where.this if where is not None else exp.true()

    def attempt(table: Table) -> Change:
        return _rewrite(engine, table, f"{schema}.{name}", alias, cond, sets=None)

    change = run_change(engine, schema, name, attempt, operation="delete")
    return Result(
        message=f"{change.affected} rows deleted",
        affected_rows=change.affected,
        snapshot_id=change.snapshot_id,
    )


def delete_where(
    engine: Engine,
    schema: str,
    name: str,
    cond: exp.Expression,
    extra_rows: pa.Table | None = None,
    operation: str = "delete",
) -> Change:
    """DELETE with a parsed predicate, optionally adding rows in the same snapshot (overwrite)."""

    def attempt(table: Table) -> Change:
        change = _rewrite(engine, table, f"{schema}.{name}", name, cond, sets=None)
        if extra_rows is not None and extra_rows.num_rows:
            change.new_rows.append(extra_rows)
        return change

    return run_change(engine, schema, name, attempt, operation=operation)


def _rewrite(
    engine: Engine,
    table: Table,
    full: str,
    alias: str,
    cond: exp.Expression,
    *,
    sets: dict[str, exp.Expression] | None,
) -> Change:
    """Rows of files that hold matching rows, rewritten (UPDATE) or filtered (DELETE)."""
    from oaklake.engine.resolve import Resolver

    resolver = Resolver(engine)
    try:
        row_filter = _row_filter(pushdown.conjuncts(cond), alias, table, resolver, sole=True)
        scan = plan(table, full, snapshot_id=None, row_filter=row_filter)
        if not scan.files:
            return Change()
        view = _bind_target(engine, resolver, scan)
        cond_sql = _sql(resolver, engine, cond)

        def flagged(v: str) -> str:
            hit = f"COALESCE(({cond_sql}), FALSE) AS __oak_hit"
            return f'(SELECT *, {hit} FROM "{v}" AS "{alias}") AS "{alias}"'

        source = flagged(view)
        per_file = engine._duck(
            lambda: engine.con.execute(
                f"SELECT __oak_file, count(*) FILTER (WHERE __oak_hit), count(*) FROM {source} "
                "GROUP BY __oak_file HAVING count(*) FILTER (WHERE __oak_hit) > 0"
            ).fetchall()
        )
        if not per_file:
            return Change()
        by_path = {local_path(f.file_path): f for f in scan.data_files}
        change = Change(affected=sum(int(r[1]) for r in per_file))
        rewrite = []
        for path, hits, total in per_file:
            change.removed.append(by_path[path])
            if sets is not None or hits < total:
                rewrite.append(path)
        fields = _column_list(table)
        if sets is not None:
            exprs = []
            probe = []
            for f in fields:
                dtype = ctypes.to_duckdb(f.field_type)
                if f.name in sets:
                    value = _sql(resolver, engine, sets[f.name])
                    probe.append(f'({value}) AS "{f.name}"')
                    exprs.append(
                        f"CASE WHEN __oak_hit THEN CAST(({value}) AS {dtype}) "
                        f'ELSE "{alias}"."{f.name}" END AS "{f.name}"'
                    )
                else:
                    exprs.append(f'"{alias}"."{f.name}"')
            set_fields = [f for f in fields if f.name in sets]
            _check_assignable(
                engine, f"SELECT {', '.join(probe)} FROM {source}", set_fields, f"UPDATE {full}"
            )
            keep = "TRUE"
        else:
            exprs = [f'"{alias}"."{f.name}"' for f in fields]
            keep = "NOT __oak_hit"
        if rewrite:
            files = _bind_files(engine, resolver, scan, view, rewrite)
            sql = f"SELECT {', '.join(exprs)} FROM {flagged(files)} WHERE {keep}"
            change.new_rows.append(engine._duck(lambda: engine.con.sql(sql).to_arrow_table()))
        return change
    finally:
        resolver.cleanup()


# -- MERGE -------------------------------------------------------------------------------
@dataclass
class _Clause:
    matched: bool
    condition: exp.Expression | None
    action: str  # update | delete | insert
    sets: dict[str, exp.Expression] = field(default_factory=dict)
    insert_columns: list[str] = field(default_factory=list)
    insert_values: list[exp.Expression] = field(default_factory=list)


def _clauses(table: Table, full: str, expr: exp.Merge) -> list[_Clause]:
    whens = expr.args.get("whens")
    items = whens.expressions if whens is not None else []
    if not items:
        raise InvalidInput("MERGE needs at least one WHEN clause")
    names = [f.name for f in table.schema().fields]
    out = []
    for w in items:
        if w.args.get("source"):
            raise NotSupported("WHEN NOT MATCHED BY SOURCE is not supported (nor in Athena)")
        then = w.args.get("then")
        matched = bool(w.args.get("matched"))
        clause = _Clause(matched=matched, condition=w.args.get("condition"), action="")
        if isinstance(then, exp.Update):
            if not matched:
                raise InvalidInput("UPDATE is only allowed in WHEN MATCHED clauses")
            clause.action = "update"
            clause.sets = _set_pairs(table, full, then.expressions)
        elif isinstance(then, exp.Var) and then.name.upper() == "DELETE":
            if not matched:
                raise InvalidInput("DELETE is only allowed in WHEN MATCHED clauses")
            clause.action = "delete"
        elif isinstance(then, exp.Insert):
            if matched:
                raise InvalidInput("INSERT is only allowed in WHEN NOT MATCHED clauses")
            clause.action = "insert"
            cols_node = then.this
            cols = (
                [c.name.lower() for c in cols_node.expressions] if cols_node is not None else names
            )
            values_node = then.expression
            values = (
                values_node.expressions if isinstance(values_node, exp.Tuple) else [values_node]
            )
            if values_node is None or (len(values) == 1 and isinstance(values[0], exp.Star)):
                raise NotSupported(
                    "INSERT * is not supported in MERGE",
                    hint="list the values: INSERT (a, b) VALUES (s.a, s.b)",
                )
            for c in cols:
                if c not in names:
                    raise ColumnNotFound(
                        f"column {c} does not exist in {full}", hint=did_you_mean(c, names)
                    )
            if len(set(cols)) != len(cols):
                raise InvalidInput("a column is named twice in MERGE's INSERT")
            if len(cols) != len(values):
                raise TypeMismatch(
                    f"MERGE INSERT names {len(cols)} column(s) but gives {len(values)} value(s)"
                )
            clause.insert_columns = cols
            clause.insert_values = list(values)
        else:
            raise NotSupported(f"unsupported MERGE action {then.sql('athena') if then else ''}")
        out.append(clause)
    return out


def merge(
    engine: Engine,
    expr: exp.Merge,
    *,
    passthrough: set[str] | None = None,
    add_columns: Sequence[tuple[str, Any]] = (),
) -> Result:
    schema, name, alias = _target(engine, expr.this)
    full = f"{schema}.{name}"
    using = expr.args.get("using")
    on = expr.args.get("on")
    if using is None or on is None:
        raise InvalidInput("MERGE needs USING <source> ON <condition>")
    source_alias = (using.alias or (using.name if isinstance(using, exp.Table) else "")).lower()
    if not source_alias:
        raise InvalidInput("give the MERGE source an alias: USING (…) AS s")
    if source_alias == alias:
        raise AlreadyExists(
            f"the MERGE target and source are both called {alias}; alias one of them"
        )

    def attempt(table: Table) -> Change:
        return _merge_attempt(
            engine,
            table,
            full,
            alias,
            source_alias,
            using,
            on,
            _clauses(table, full, expr),
            passthrough or set(),
        )

    change = run_change(engine, schema, name, attempt, operation="merge", add_columns=add_columns)
    msg = ", ".join(f"{v} {k}" for k, v in change.detail.items()) or "0 rows"
    return Result(
        message=f"{change.affected} rows affected ({msg})",
        affected_rows=change.affected,
        snapshot_id=change.snapshot_id,
        extra=dict(change.detail),
    )


def _merge_attempt(
    engine: Engine,
    table: Table,
    full: str,
    alias: str,
    source_alias: str,
    using: exp.Expression,
    on: exp.Expression,
    clauses: list[_Clause],
    passthrough: set[str],
) -> Change:
    from oaklake.engine.resolve import Resolver

    resolver = Resolver(engine)
    resolver.passthrough |= passthrough
    try:
        row_filter = _row_filter(pushdown.conjuncts(on), alias, table, resolver, sole=False)
        scan = plan(table, full, snapshot_id=None, row_filter=row_filter)
        target = _bind_target(engine, resolver, scan)
        src_node = using.copy()
        src_node.set("alias", None)
        src_select = exp.select("*").from_(
            src_node if isinstance(src_node, exp.Table) else exp.Subquery(this=src_node.this)
        )
        src_view = _temp_name("source")
        src_sql = _sql(resolver, engine, src_select)
        engine._duck(
            lambda: engine.con.execute(
                f'CREATE OR REPLACE TEMP VIEW "{src_view}" AS '
                f"SELECT *, TRUE AS __oak_src FROM ({src_sql})"
            )
        )
        resolver.temp_names.append(src_view)
        resolver.passthrough.add(src_view)
        on_sql = _sql(resolver, engine, on)
        t, s = f'"{alias}"', f'"{source_alias}"'
        tv, sv = f'"{target}" AS {t}', f'"{src_view}" AS {s}'

        dup = engine._duck(
            lambda: engine.con.execute(
                f"SELECT {t}.__oak_file, {t}.__oak_row FROM {tv} JOIN {sv} ON {on_sql} "
                f"GROUP BY 1, 2 HAVING count(*) > 1 LIMIT 1"
            ).fetchall()
        )
        if dup:
            raise MultipleMatches(
                f"one target row of {full} matches more than one source row",
                hint="make the source unique on the ON keys "
                "(e.g. aggregate or pick one row per key)",
            )
        change = Change()
        fields = _column_list(table)
        matched = [(i, c) for i, c in enumerate(clauses, 1) if c.matched]
        if matched:
            whens = " ".join(
                f"WHEN {_when(resolver, engine, c.condition)} THEN {i}" for i, c in matched
            )
            action = f"CASE WHEN {s}.__oak_src IS NULL THEN 0 {whens} ELSE 0 END"
            per_file = engine._duck(
                lambda: engine.con.execute(
                    f"SELECT {t}.__oak_file, {action}, count(*) FROM {tv} JOIN {sv} ON {on_sql} "
                    "GROUP BY 1, 2"
                ).fetchall()
            )
            touched = sorted({r[0] for r in per_file if r[1] > 0})
            counts: dict[int, int] = {}
            for _, act, n in per_file:
                if act > 0:
                    counts[act] = counts.get(act, 0) + int(n)
            for i, c in matched:
                if counts.get(i):
                    key = "updated" if c.action == "update" else "deleted"
                    change.detail[key] = change.detail.get(key, 0) + counts[i]
            if touched:
                by_path = {local_path(f.file_path): f for f in scan.data_files}
                change.removed.extend(by_path[p] for p in touched)
                exprs = []
                update_clauses = [(i, c) for i, c in matched if c.action == "update"]
                set_fields: list[Any] = []
                probe: list[str] = []
                for f in fields:
                    dtype = ctypes.to_duckdb(f.field_type)
                    branches = []
                    for i, c in update_clauses:
                        if f.name in c.sets:
                            value = _sql(resolver, engine, c.sets[f.name])
                            branches.append(f"WHEN {i} THEN CAST(({value}) AS {dtype})")
                            probe.append(f'({value}) AS "{f.name}_{i}"')
                            set_fields.append(f)
                    if branches:
                        exprs.append(
                            f"CASE {action} {' '.join(branches)} "
                            f'ELSE {t}."{f.name}" END AS "{f.name}"'
                        )
                    else:
                        exprs.append(f'{t}."{f.name}"')
                if probe:
                    _check_assignable(
                        engine,
                        f"SELECT {', '.join(probe)} FROM {tv} JOIN {sv} ON {on_sql}",
                        set_fields,
                        f"MERGE INTO {full}",
                    )
                deletes = [i for i, c in matched if c.action == "delete"]
                keep = f"{action} NOT IN ({', '.join(map(str, deletes))})" if deletes else "TRUE"
                files = _bind_files(engine, resolver, scan, target, touched)
                sql = (
                    f'SELECT {", ".join(exprs)} FROM "{files}" AS {t} LEFT JOIN {sv} '
                    f"ON {on_sql} WHERE {keep}"
                )
                change.new_rows.append(engine._duck(lambda: engine.con.sql(sql).to_arrow_table()))
        inserts = [(i, c) for i, c in enumerate(clauses, 1) if not c.matched]
        if inserts:
            whens = " ".join(
                f"WHEN {_when(resolver, engine, c.condition)} THEN {i}" for i, c in inserts
            )
            ins_action = f"CASE {whens} ELSE 0 END"
            exprs = []
            probe_fields: list[Any] = []
            probe = []
            for f in fields:
                dtype = ctypes.to_duckdb(f.field_type)
                branches = []
                for i, c in inserts:
                    if f.name in c.insert_columns:
                        node = c.insert_values[c.insert_columns.index(f.name)]
                        value = _sql(resolver, engine, node)
                        branches.append(f"WHEN {i} THEN CAST(({value}) AS {dtype})")
                        probe.append(f'({value}) AS "{f.name}_{i}"')
                        probe_fields.append(f)
                expr_sql = (
                    f"CASE __oak_ins {' '.join(branches)} ELSE NULL END" if branches else "NULL"
                )
                exprs.append(f'CAST({expr_sql} AS {dtype}) AS "{f.name}"')
            if probe:
                _check_assignable(
                    engine,
                    f"SELECT {', '.join(probe)} FROM {sv}",
                    probe_fields,
                    f"MERGE INTO {full}",
                )
            sql = (
                f"SELECT {', '.join(exprs)} FROM "
                f"(SELECT {s}.*, {ins_action} AS __oak_ins FROM {sv} "
                f"WHERE NOT EXISTS (SELECT 1 FROM {tv} WHERE {on_sql})) AS {s} WHERE __oak_ins > 0"
            )
            rows = engine._duck(lambda: engine.con.sql(sql).to_arrow_table())
            if rows.num_rows:
                change.new_rows.append(rows)
                change.detail["inserted"] = rows.num_rows
        change.affected = sum(change.detail.values())
        return change
    finally:
        resolver.cleanup()
