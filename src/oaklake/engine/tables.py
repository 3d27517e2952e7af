"""The Python face of one table: ``lake.table("db.t").merge(df, on=[...])`` and friends.

Every method runs on the same code path as its SQL twin (INSERT, DELETE, MERGE INTO): the data
frame is registered in DuckDB under a private name and the statement is built as a sqlglot tree,
so type checks, one-snapshot commits and conflict retries are the SQL's own. Ingest and the dbt
adapter build on these.
"""

from __future__ import annotations

import itertools
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from oaklake.engine.result import Result
from oaklake.errors import ColumnNotFound, InvalidInput, did_you_mean

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    import pyarrow as pa
    from pyiceberg.table import Table

    from oaklake.engine.session import Engine

_NAMES = itertools.count()
MATCHED = ("update", "delete", "ignore")
NOT_MATCHED = ("insert", "ignore")


def _arrow(data: Any) -> pa.Table:
    import pyarrow as pa

    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if hasattr(data, "__arrow_c_stream__") or type(data).__module__.startswith("pandas"):
        try:
            return pa.table(data)
        except Exception as e:
            raise InvalidInput(f"cannot read the data as a table: {e}") from e
    if isinstance(data, list) and all(isinstance(r, dict) for r in data):
        return pa.Table.from_pylist(data)
    raise InvalidInput(
        "expected a pyarrow Table, a pandas DataFrame or a list of dicts, "
        f"got {type(data).__name__}"
    )


class TableHandle:
    """Writes and reads of one Iceberg table through the engine."""

    def __init__(self, engine: Engine, name: str) -> None:
        from oaklake.engine.ddl import parse_name

        self.engine = engine
        self.schema_name, self.name = parse_name(engine, name)
        self.full = f"{self.schema_name}.{self.name}"

    def __repr__(self) -> str:
        return f"TableHandle({self.full!r})"

    @property
    def iceberg(self) -> Table:
        """The pyiceberg table (read it with any Iceberg tool)."""
        self.engine.forget_table(self.schema_name, self.name)
        return self.engine.load_table(self.schema_name, self.name)

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.iceberg.schema().fields]

    def to_arrow(self) -> pa.Table:
        return self.engine.execute(f"SELECT * FROM {self.full}").to_arrow()

    # -- registration ---------------------------------------------------------------------
    @contextmanager
    def _registered(self, data: Any, adding: Sequence[str] = ()) -> Iterator[tuple[str, list[str]]]:
        """``data`` as a DuckDB view; its columns must be the table's (or ``adding``)."""
        arrow = _arrow(data)
        columns = [c.lower() for c in arrow.column_names]
        if len(set(columns)) != len(columns):
            raise InvalidInput("the data has two columns with the same name")
        known = [*self.columns, *(a.lower() for a in adding)]
        for c in columns:
            if c not in known:
                raise ColumnNotFound(
                    f"column {c} of the data does not exist in {self.full}",
                    hint=did_you_mean(c, known) or "ALTER TABLE … ADD COLUMNS first",
                )
        arrow = arrow.rename_columns(columns)
        name = f"__oak_data_{next(_NAMES)}"
        con = self.engine.con
        con.register(name, arrow)
        try:
            yield name, columns
        finally:
            con.unregister(name)

    # -- writes ---------------------------------------------------------------------------
    def append(self, data: Any) -> Result:
        """INSERT the rows (columns by name; missing ones are NULL): one snapshot."""
        with self._registered(data) as (name, columns):
            table = self.engine.load_table(self.schema_name, self.name)
            cols = ", ".join(f'"{c}"' for c in columns)
            arrow = self.engine.conform(table, self.full, columns, f'SELECT {cols} FROM "{name}"')
        if arrow.num_rows == 0:
            return Result(message="0 rows inserted", affected_rows=0)
        snapshot = self.engine.append_arrow(table, arrow)
        return Result(
            message=f"{arrow.num_rows} rows inserted",
            affected_rows=arrow.num_rows,
            snapshot_id=snapshot,
        )

    def delete(self, where: str | None = None) -> Result:
        """DELETE FROM t [WHERE …] (Athena SQL predicate)."""
        from oaklake.engine import dml

        cond = _predicate(where)
        change = dml.delete_where(self.engine, self.schema_name, self.name, cond)
        return Result(
            message=f"{change.affected} rows deleted",
            affected_rows=change.affected,
            snapshot_id=change.snapshot_id,
        )

    def overwrite(self, data: Any, where: str | None = None) -> Result:
        """Replace the rows matching ``where`` (all rows by default) with ``data``, in ONE
        snapshot (pyiceberg's overwrite makes two)."""
        from oaklake.engine import dml

        cond = _predicate(where)
        with self._registered(data) as (name, columns):
            table = self.engine.load_table(self.schema_name, self.name)
            cols = ", ".join(f'"{c}"' for c in columns)
            arrow = self.engine.conform(table, self.full, columns, f'SELECT {cols} FROM "{name}"')
        change = dml.delete_where(
            self.engine, self.schema_name, self.name, cond, extra_rows=arrow, operation="overwrite"
        )
        return Result(
            message=f"{change.affected} rows replaced by {arrow.num_rows}",
            affected_rows=change.affected + arrow.num_rows,
            snapshot_id=change.snapshot_id,
            extra={"deleted": change.affected, "inserted": arrow.num_rows},
        )

    def merge(
        self,
        data: Any,
        on: list[str] | str,
        *,
        when_matched: str = "update",
        when_not_matched: str = "insert",
        delete_when: str | None = None,
        add_columns: list[tuple[str, Any]] | None = None,
    ) -> Result:
        """MERGE the rows on key columns: matched rows are updated (or deleted, or left), new
        ones inserted. ``delete_when`` (a predicate over the data's columns) deletes matched rows,
        as change-data-capture feeds need. A key matched twice in ``data`` is an error.
        ``add_columns`` ((name, Iceberg type) pairs) are added to the table in the MERGE's own
        commit, so the data's new columns land with it or not at all."""
        from oaklake.engine import dml

        keys = [on] if isinstance(on, str) else list(on)
        if not keys:
            raise InvalidInput("merge needs at least one key column in on=[…]")
        if when_matched not in MATCHED:
            raise InvalidInput(f"when_matched must be one of {', '.join(MATCHED)}")
        if when_not_matched not in NOT_MATCHED:
            raise InvalidInput(f"when_not_matched must be one of {', '.join(NOT_MATCHED)}")
        adding = [c for c, _ in add_columns or ()]
        with self._registered(data, adding) as (name, columns):
            keys = [k.lower() for k in keys]
            for k in keys:
                if k not in columns:
                    raise ColumnNotFound(
                        f"merge key {k} is not a column of the data", hint=did_you_mean(k, columns)
                    )
            on_sql = " AND ".join(f't."{k}" = s."{k}"' for k in keys)
            whens = []
            if delete_when:
                whens.append(f"WHEN MATCHED AND ({delete_when}) THEN DELETE")
            if when_matched == "update":
                sets = ", ".join(f'"{c}" = s."{c}"' for c in columns if c not in keys)
                if sets:
                    whens.append(f"WHEN MATCHED THEN UPDATE SET {sets}")
            elif when_matched == "delete":
                whens.append("WHEN MATCHED THEN DELETE")
            if when_not_matched == "insert":
                cols = ", ".join(f'"{c}"' for c in columns)
                vals = ", ".join(f's."{c}"' for c in columns)
                cond = f" AND NOT ({delete_when})" if delete_when else ""
                whens.append(f"WHEN NOT MATCHED{cond} THEN INSERT ({cols}) VALUES ({vals})")
            if not whens:
                return Result(message="nothing to do", affected_rows=0)
            from oaklake.engine.statements import parse

            statement = parse(
                f'MERGE INTO {self.full} AS t USING "{name}" AS s ON {on_sql} ' + " ".join(whens)
            )
            assert isinstance(statement, exp.Merge)
            return dml.merge(
                self.engine, statement, passthrough={name}, add_columns=add_columns or ()
            )


def _predicate(where: str | None) -> exp.Expression:
    from oaklake.engine.statements import parse

    if where is None or not where.strip():
        return exp.true()
    probe = parse(f"SELECT 1 FROM t WHERE {where}")
    node = probe.args.get("where")
    if node is None:
        raise InvalidInput(f"not a predicate: {where!r}")
    return node.this
