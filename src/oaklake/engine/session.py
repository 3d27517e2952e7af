"""The SQL engine: Athena-dialect statements in, results out.

sqlglot parses each statement (dialect ``athena``); table references are resolved against the
Iceberg catalog (see ``resolve``); DuckDB executes. Writes go through pyiceberg commits, so each
statement is one atomic snapshot. DuckDB and pyiceberg are imported only when a statement needs
them, which keeps ``oaklake sql "select 1"`` quick to start.
"""

from __future__ import annotations

import contextlib
import re
from typing import TYPE_CHECKING, Any

from oaklake.engine.result import Result
from oaklake.engine.statements import Statement, parse, split
from oaklake.errors import (
    ColumnNotFound,
    CommitConflict,
    InvalidInput,
    NotFound,
    NotSupported,
    OakError,
    QueryFailed,
    SqlSyntaxError,
    TableNotFound,
    TypeMismatch,
    did_you_mean,
)

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa
    from pyiceberg.table import Table

    from oaklake.catalog.store import Catalog
    from oaklake.config import Settings


_WIDE_INTEGERS = {"HUGEINT", "UHUGEINT", "UBIGINT"}

_CONSTANT_SELECT = re.compile(
    r"^\s*SELECT\s+(?:[\d\s.+\-*/%(),]|''|\bAS\s+[A-Za-z_]\w*)+;?\s*$", re.I
)


class Engine:
    """One SQL session over a workspace: a DuckDB connection, the catalog, the current schema."""

    def __init__(self, settings: Settings, catalog: Catalog | None = None) -> None:
        self.settings = settings
        self._catalog = catalog
        self.current_schema = settings.default_schema
        self._con: duckdb.DuckDBPyConnection | None = None
        self._tables: dict[tuple[str, str], Table] = {}

    # -- resources ------------------------------------------------------------------------
    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            from oaklake.catalog.store import Catalog

            self._catalog = Catalog(self.settings)
        return self._catalog

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            import duckdb

            # Never reach for the network to install an extension at run time.
            con = duckdb.connect(config={"autoinstall_known_extensions": False})
            # Athena shows no-zone values in UTC (a DuckDB build without ICU is UTC anyway).
            with contextlib.suppress(duckdb.Error):
                con.execute("SET TimeZone = 'UTC'")
            # Athena (Trino) divides integers as integers: 5 / 2 = 2.
            con.execute("SET integer_division = true")
            self._con = con
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def check_catalog(self, name: str | None) -> None:
        from oaklake.engine.resolve import ATHENA_CATALOG

        if name and name.lower() not in (self.settings.catalog_name, ATHENA_CATALOG):
            raise NotFound(
                f"catalog {name!r} does not exist",
                hint=f"this workspace's catalog is {self.settings.catalog_name!r}",
                code="CATALOG_NOT_FOUND",
            )

    def load_table(self, schema: str, name: str) -> Table:
        key = (schema.lower(), name.lower())
        if key not in self._tables:
            self._tables[key] = self.catalog.load_table(*key)
        return self._tables[key]

    def forget_table(self, schema: str, name: str) -> None:
        self._tables.pop((schema.lower(), name.lower()), None)

    def normalise_location(self, location: str | None) -> str | None:
        if not location:
            return None
        if "://" in location:
            return location.rstrip("/")
        from pathlib import Path

        path = Path(location).expanduser()
        if not path.is_absolute():
            path = self.settings.root / path
        return "file://" + str(path.resolve())

    # -- statements -----------------------------------------------------------------------
    def execute(self, sql: str) -> Result:
        """Run every statement in ``sql``; return the last one's result."""
        results = self.execute_script(sql)
        if not results:
            raise SqlSyntaxError("no statement to run", sql=sql, line=1, column=1)
        return results[-1]

    def execute_script(self, sql: str) -> list[Result]:
        """Run statements in order; stop at the first error and say which statement failed."""
        statements = split(sql)
        results = []
        for stmt in statements:
            try:
                results.append(self.run_statement(stmt))
            except OakError as e:
                locate_error(e, stmt, sql, len(statements))
                raise
        return results

    def run_statement(self, stmt: Statement) -> Result:
        self._tables.clear()
        words = stmt.words
        first = words[0] if words else ""
        try:
            result = self._dispatch(stmt, words, first)
        finally:
            self._tables.clear()
        result.statement = stmt.text
        return result

    def _dispatch(self, stmt: Statement, words: list[str], first: str) -> Result:
        if _CONSTANT_SELECT.match(re.sub(r"'(?:[^']|'')*'", "''", stmt.text)):
            # Literals and arithmetic only: same meaning in DuckDB, no parser or Arrow needed.
            try:
                cursor = self._duck(lambda: self.con.execute(stmt.text))
            except SqlSyntaxError as e:
                # DuckDB read the user's own text here, so its caret is theirs too.
                e.sql = stmt.text
                e.line, e.column = _duck_position(e.__cause__, stmt.text)
                raise
            columns = [d[0] for d in cursor.description or []]
            return Result(
                plain_columns=_constant_names(stmt.text, columns), plain_rows=cursor.fetchall()
            )
        from oaklake.engine import ddl

        if first == "SHOW":
            return ddl.show(self, stmt.text)
        if first in ("DESCRIBE", "DESC"):
            return ddl.describe(self, stmt.text)
        if first == "EXPLAIN":
            return self._explain(stmt.text)
        if first in ("OPTIMIZE", "VACUUM"):
            from oaklake.engine import maintenance

            return (maintenance.optimize if first == "OPTIMIZE" else maintenance.vacuum)(
                self, stmt.text
            )
        if first == "MSCK":
            raise NotSupported(
                "MSCK REPAIR TABLE does not apply to Iceberg tables",
                hint="Iceberg tracks its files itself: nothing to repair",
            )
        if (
            first == "ALTER"
            and len(words) > 1
            and words[1] == "TABLE"
            and re.search(
                r"\b(CHANGE|UNSET|REPLACE\s+COLUMNS|SET\s+LOCATION|PARTITION)\b", stmt.text, re.I
            )
        ):
            return ddl.alter_command(self, stmt.text)
        from sqlglot import exp

        expr = parse(stmt.text)
        if isinstance(expr, exp.Query):
            return self.query(expr)
        if isinstance(expr, exp.Insert):
            return self._insert(expr)
        if isinstance(expr, exp.Update | exp.Delete | exp.Merge):
            from oaklake.engine import dml

            if isinstance(expr, exp.Update):
                return dml.update(self, expr)
            if isinstance(expr, exp.Delete):
                return dml.delete(self, expr)
            return dml.merge(self, expr)
        if isinstance(expr, exp.Create):
            return ddl.create(self, expr)
        if isinstance(expr, exp.Drop):
            return ddl.drop(self, expr)
        if isinstance(expr, exp.Alter):
            return ddl.alter(self, expr)
        if isinstance(expr, exp.Use):
            return ddl.use(self, expr)
        if isinstance(expr, exp.Command):
            raise NotSupported(
                f"{expr.this} statements are not supported",
                hint="see the SQL reference in docs/sql.md for what oaklake runs",
            )
        raise NotSupported(
            f"{type(expr).__name__.upper()} statements are not supported",
            hint="see the SQL reference in docs/sql.md for what oaklake runs",
        )

    # -- queries --------------------------------------------------------------------------
    def query(self, expr: Any) -> Result:
        arrow, _ = self.run_query_arrow(expr)
        return Result(table=arrow)

    def run_query_arrow(
        self, expr: Any, *, limit: int | None = None, name_columns: bool = True
    ) -> tuple[pa.Table, list[str]]:
        """Resolve and run a query; return its Arrow table and DuckDB column types.

        With ``name_columns`` unnamed result columns are called ``_col0``, ``_col1``… as Athena
        calls them (CTAS passes False: there Athena requires a name, and so do we)."""
        from oaklake.engine.resolve import Resolver

        resolver = Resolver(self)
        try:
            if name_columns:
                expr = _name_columns(expr)
            resolved = resolver.resolve(expr, self.current_schema)
            from oaklake.engine.translate import to_duckdb

            sql = to_duckdb(resolved)
            if limit is not None:
                sql = f"SELECT * FROM ({sql}) LIMIT {int(limit)}"
            relation = self._duck(lambda: self.con.sql(sql))
            types = [str(t) for t in relation.types]
            if any(t in _WIDE_INTEGERS for t in types):
                # DuckDB widens sum(bigint) to HUGEINT; Athena returns bigint (and fails on
                # overflow, as this cast does).
                cols = ", ".join(
                    f'CAST("{c}" AS BIGINT) AS "{c}"' if t in _WIDE_INTEGERS else f'"{c}"'
                    for c, t in zip(relation.columns, types, strict=True)
                )
                # Wrap the SQL text: relation.query() made TPC-H q12 ~80 ms (50%) slower.
                wrapped = f"SELECT {cols} FROM ({sql}) AS __oak_result"
                relation = self._duck(lambda: self.con.sql(wrapped))
                types = [str(t) for t in relation.types]
            arrow = self._duck(relation.to_arrow_table)
            return arrow, types
        finally:
            resolver.cleanup()

    def _explain(self, sql: str) -> Result:
        import pyarrow as pa

        from oaklake.engine.resolve import Resolver

        m = re.match(r"^\s*EXPLAIN\s+(?P<analyze>ANALYZE\s+)?(?P<rest>.*)$", sql, re.I | re.S)
        assert m is not None
        inner = m.group("rest")
        from sqlglot import exp

        expr = parse(inner)
        if not isinstance(expr, exp.Query):
            raise NotSupported("EXPLAIN works on queries (SELECT …)")
        resolver = Resolver(self)
        lines: list[str] = []
        try:
            resolved = resolver.resolve(expr, self.current_schema)
            for scan in resolver.scans:
                lines.append(
                    f"Iceberg scan {scan.name} snapshot={scan.snapshot_id}: "
                    f"{len(scan.files)} of {scan.total_files} files planned, "
                    f"{scan.records} records; pushed filter: {scan.filter_text}"
                )
            verb = "EXPLAIN ANALYZE" if m.group("analyze") else "EXPLAIN"
            from oaklake.engine.translate import to_duckdb

            rows = self._duck(lambda: self.con.execute(f"{verb} {to_duckdb(resolved)}").fetchall())
            for row in rows:
                text = str(row[-1])
                for scan_name in resolver.temp_names:
                    text = text.replace(scan_name, "iceberg")
                lines.extend(text.splitlines())
        finally:
            resolver.cleanup()
        return Result(table=pa.table({"Query Plan": pa.array(lines, pa.string())}))

    # -- writes ---------------------------------------------------------------------------
    def _insert(self, expr: Any) -> Result:
        from sqlglot import exp

        from oaklake.engine.ddl import table_name

        if expr.args.get("overwrite"):
            raise NotSupported(
                "INSERT OVERWRITE is not supported for Iceberg tables",
                hint="DELETE the rows first, then INSERT INTO",
            )
        target = expr.this
        columns: list[str] | None = None
        if isinstance(target, exp.Schema):
            columns = [c.name.lower() for c in target.expressions]
            target = target.this
        schema_name, name = table_name(self, target)
        if self.catalog.schema_exists(schema_name) and self.catalog.view_exists(schema_name, name):
            raise NotSupported(f"{schema_name}.{name} is a view; INSERT needs a table")
        table = self.load_table(schema_name, name)
        fields = table.schema().fields
        names = [f.name for f in fields]
        if columns is not None:
            for c in columns:
                if c not in names:
                    from oaklake.errors import did_you_mean

                    raise ColumnNotFound(
                        f"column {c} does not exist in {schema_name}.{name}",
                        hint=did_you_mean(c, names),
                    )
            if len(set(columns)) != len(columns):
                raise InvalidInput("a column is named twice in the INSERT column list")
        target_cols = columns if columns is not None else names
        source = expr.expression
        from oaklake.engine.resolve import Resolver

        resolver = Resolver(self)
        try:
            resolved = resolver.resolve(source, self.current_schema)
            from oaklake.engine.translate import to_duckdb

            src_sql = to_duckdb(resolved)
            arrow = self.conform(table, f"{schema_name}.{name}", target_cols, src_sql)
        finally:
            resolver.cleanup()
        if arrow.num_rows == 0:
            return Result(message="0 rows inserted", affected_rows=0)
        snapshot = self.append_arrow(table, arrow)
        return Result(
            message=f"{arrow.num_rows} rows inserted",
            affected_rows=arrow.num_rows,
            snapshot_id=snapshot,
        )

    def conform(
        self,
        table: Table,
        full: str,
        target_cols: list[str],
        src_sql: str,
        described: list[Any] | None = None,
    ) -> pa.Table:
        """Rows of ``src_sql`` cast to the table's schema, checked as Athena's INSERT checks them:
        same column count, assignable types; columns not given are NULL."""
        from oaklake.catalog import types as ctypes

        if described is None:
            described = self._duck(lambda: self.con.execute(f"DESCRIBE {src_sql}").fetchall())
        if len(described) != len(target_cols):
            raise TypeMismatch(
                f"Insert query has mismatched column count: table {full} "
                f"expects {len(target_cols)} column(s), the query gives {len(described)}",
                hint="list the target columns: INSERT INTO t (a, b) SELECT …",
            )
        fields = table.schema().fields
        by_name = {f.name: f for f in fields}
        src_alias = [f"c{i}" for i in range(len(described))]
        mapping = dict(zip(target_cols, src_alias, strict=True))
        for (col_name, col_type, *_), tgt in zip(described, target_cols, strict=True):
            field = by_name[tgt]
            src_type = None if str(col_type).upper() == '"NULL"' else _safe_type(str(col_type))
            if not ctypes.assignable(src_type, field.field_type):
                raise TypeMismatch(
                    f"Insert query has mismatched column types: column {tgt} is "
                    f"{ctypes.to_athena(field.field_type)} but the query gives "
                    f"{str(col_type).lower()} (from {col_name})",
                    hint=f"CAST the value: CAST(… AS {ctypes.to_athena(field.field_type)})",
                )
        exprs = []
        for f in fields:
            dtype = ctypes.to_duckdb(f.field_type)
            if f.name in mapping:
                exprs.append(f'CAST(__src."{mapping[f.name]}" AS {dtype}) AS "{f.name}"')
            else:
                exprs.append(f'CAST(NULL AS {dtype}) AS "{f.name}"')
        cols = ", ".join(f'"{a}"' for a in src_alias)
        final = f"SELECT {', '.join(exprs)} FROM ({src_sql}) AS __src({cols})"
        arrow: pa.Table = self._duck(lambda: self.con.sql(final).to_arrow_table())
        return arrow

    def append_arrow(self, table: Table, arrow: pa.Table) -> int | None:
        """Append as one snapshot. Files are written once; if another writer committed first the
        same files are committed on top of the new snapshot (appends never conflict)."""
        from oaklake.catalog.commit import StaleCommit, commit_files, delete_files, write_data_files

        files = write_data_files(table, arrow)
        retries = max(self.settings.commit_retries, 1) * 5
        for _ in range(retries + 1):
            try:
                return commit_files(
                    table,
                    added=files,
                    expected_snapshot_id=None,
                    properties={"oaklake.operation": "insert"},
                )
            except StaleCommit:
                table.refresh()
        delete_files(table, files)
        raise CommitConflict(
            f"could not append to {'.'.join(table.name())}: other writers kept committing "
            f"({retries} retries)",
            hint="run the statement again",
        )

    # -- DuckDB errors --------------------------------------------------------------------
    def _duck(self, fn: Any) -> Any:
        import duckdb

        try:
            return fn()
        except duckdb.Error as e:
            raise _duck_error(e) from e
        except RuntimeError as e:
            if str(e) == "Query interrupted":  # DuckDB saw Ctrl-C: to Python that is this
                raise KeyboardInterrupt from e
            raise


def _constant_names(sql: str, columns: list[str]) -> list[str]:
    """Athena's ``_colN`` for the unaliased items of a constant SELECT (split at top-level
    commas outside strings)."""
    body = re.sub(r"^\s*SELECT\s+", "", sql, flags=re.I).rstrip().rstrip(";")
    items: list[str] = []
    depth, start, quoted = 0, 0, False
    for i, ch in enumerate(body):
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        elif not quoted and ch == "," and depth == 0:
            items.append(body[start:i])
            start = i + 1
    items.append(body[start:])
    if len(items) != len(columns):
        return columns
    return [
        c if re.search(r"\bAS\s+\w+\s*$", item, re.I) else f"_col{i}"
        for i, (c, item) in enumerate(zip(columns, items, strict=True))
    ]


def _name_columns(expr: Any) -> Any:
    """Alias every unnamed output expression ``_colN`` (its position), as Athena does."""
    from sqlglot import exp

    select = expr
    while isinstance(select, exp.SetOperation):
        select = select.this
    if isinstance(select, exp.Subquery):
        select = select.unnest()
    if not isinstance(select, exp.Select):
        return expr
    projections = select.expressions
    if not any(not isinstance(p, exp.Alias | exp.Column | exp.Star) for p in projections):
        return expr
    expr = expr.copy()
    select = expr
    while isinstance(select, exp.SetOperation):
        select = select.this
    if isinstance(select, exp.Subquery):
        select = select.unnest()
    select.set(
        "expressions",
        [
            p
            if isinstance(p, exp.Alias | exp.Column | exp.Star)
            or (isinstance(p, exp.Dot) and isinstance(p.expression, exp.Star))
            else exp.alias_(p, f"_col{i}")
            for i, p in enumerate(select.expressions)
        ],
    )
    return expr


def _safe_type(dtype: str) -> Any:
    from oaklake.catalog import types as ctypes

    try:
        return ctypes.from_duckdb(dtype)
    except OakError:
        return None


def _duck_error(e: Exception) -> OakError:
    import duckdb

    text = str(e).split("\n")[0]
    text = re.sub(r"^[A-Za-z ]+ Error: ", "", text)
    text = re.sub(r'"?__oak_scan_\d+_\d+"?', "<table>", text)
    if isinstance(e, duckdb.ConversionException):
        return TypeMismatch(text, hint="CAST values to the right type, or fix the data")
    if isinstance(e, duckdb.BinderException):
        m = re.search(
            r'Referenced column "?([^"\s]+)"? not found|does not have a column named '
            r'"([^"]+)"',
            text,
        )
        if m:
            found = re.search(r"Candidate bindings:[ :]*(.*)", str(e))
            listed = re.findall(r'"([^"]+)"', found[1]) if found else []
            names = [c.rsplit(".", 1)[-1] for c in listed]
            hint = did_you_mean(m[1] or m[2], names)
            return ColumnNotFound(text, hint=hint or "check the column name (DESCRIBE the table)")
        return QueryFailed(text)
    if isinstance(e, duckdb.CatalogException):
        if "Table" in text and "does not exist" in text:
            return TableNotFound(text)
        return QueryFailed(
            text, code="FUNCTION_NOT_FOUND" if "Function" in text else "QUERY_FAILED"
        )
    if isinstance(e, duckdb.IOException):
        return NotFound(text, code="FILE_NOT_FOUND", hint="check the path")
    if isinstance(e, duckdb.ParserException):
        return SqlSyntaxError(text)
    if isinstance(e, duckdb.OutOfRangeException | duckdb.InvalidInputException):
        return QueryFailed(
            text,
            code="INVALID_VALUE" if isinstance(e, duckdb.OutOfRangeException) else "QUERY_FAILED",
        )
    return QueryFailed(text)


def _duck_position(e: BaseException | None, sql: str) -> tuple[int | None, int | None]:
    """Line and column of DuckDB's ``LINE n: …`` caret, when it shows the line unabridged."""
    m = re.search(r"^(LINE (\d+): )(.*)\n( *)\^", str(e), re.M)
    if not m:
        return None, None
    line = int(m[2])
    lines = sql.splitlines()
    if line > len(lines) or not lines[line - 1].startswith(m[3]):
        return None, None
    return line, len(m[4]) - len(m[1]) + 1


def locate_error(e: OakError, stmt: Statement, script: str, count: int) -> None:
    """Point an error at its statement (and, for syntax errors, at its line in the script)."""
    if getattr(e, "statement_index", None) is not None:
        return
    e.statement_index = stmt.index  # type: ignore[attr-defined]
    if isinstance(e, SqlSyntaxError) and e.line is not None:
        if e.line == 1 and e.column is not None:
            e.column += stmt.column - 1
        e.line += stmt.line - 1
        e.sql = script
    if count > 1:
        e.message = f"statement {stmt.index} (line {stmt.line}): {e.message}"
