"""Name resolution: every table reference in a query becomes something DuckDB can read.

An Iceberg table becomes a temporary DuckDB view over exactly the planned Parquet files (with
WHERE conjuncts pushed down for pruning and ``FOR … AS OF`` resolved to a snapshot); an Athena
view is expanded inline; ``"t$files"`` and friends become registered Arrow tables; CTE names and
file functions (``read_csv``, ``read_parquet``, ``read_json``) are left for DuckDB.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from oaklake.catalog.metadata import METADATA_TABLES, metadata_table
from oaklake.engine import pushdown
from oaklake.engine.scan import ScanPlan, plan, snapshot_for_timestamp, snapshot_for_version
from oaklake.errors import InvalidInput, NotSupported, TableNotFound

if TYPE_CHECKING:
    from pyiceberg.table import Table

    from oaklake.engine.session import Engine

ATHENA_CATALOG = "awsdatacatalog"
MAX_VIEW_DEPTH = 32


@dataclass
class _Ref:
    node: exp.Table
    schema: str
    name: str
    alias: str
    kind: str  # "table" | "meta" | "view"
    table: Table | None = None
    meta: str = ""


def _refers_to_cte(node: exp.Table, name: str) -> bool:
    """Whether ``name`` at ``node`` means a CTE in scope rather than a table.

    A WITH clause covers only its own query, and a CTE sees the CTEs before it but not itself, so
    ``WITH t AS (SELECT * FROM t WHERE …)`` filters the table t (as in Trino), and a CTE named t
    inside a subquery does not hide the table t from the rest of the statement.
    """
    chain: list[exp.Expression] = []
    parent = node.parent
    while parent is not None:
        chain.append(parent)
        parent = parent.parent
    ancestors = {id(a) for a in chain}
    for scope in chain:
        with_ = scope.args.get("with_") or scope.args.get("with")
        if not isinstance(with_, exp.With):
            continue
        ctes = list(with_.expressions)
        inside = [i for i, c in enumerate(ctes) if id(c) in ancestors]
        visible = ctes if not inside else ctes[: inside[0] + bool(with_.args.get("recursive"))]
        if any(c.alias_or_name.lower() == name for c in visible):
            return True
    return False


def _carry(old: exp.Expression, new: exp.Expression) -> None:
    """Keep what hangs off a replaced table reference: the joins of a parenthesised join
    (``a LEFT JOIN (b JOIN c ON …) ON …`` parses as b carrying the join to c), TABLESAMPLE, …"""
    for key in ("joins", "laterals", "pivots", "sample"):
        value = old.args.get(key)
        if value:
            new.set(key, value)


class Resolver:
    """Resolves the table references of one statement; owns the temp views it creates."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.scans: list[ScanPlan] = []
        self.temp_names: list[str] = []
        self._constants: dict[str, Any] = {}
        self._view_names: dict[str, set[str]] = {}
        self._scan_views: dict[str, str] = {}  # scan SELECT -> the temp view that runs it
        # Names of relations the caller has already bound in DuckDB (DML targets, sources).
        self.passthrough: set[str] = set()

    # -- public ---------------------------------------------------------------------------
    def resolve(self, query: exp.Expression, default_schema: str, depth: int = 0) -> exp.Expression:
        if depth > MAX_VIEW_DEPTH:
            raise InvalidInput("views nest too deeply (a view that refers to itself?)")
        query = query.copy()
        ctes = {c.alias_or_name.lower() for c in query.find_all(exp.CTE)}
        refs: list[_Ref] = []
        for node in list(query.find_all(exp.Table)):
            ref = self._classify(node, default_schema, ctes)
            if ref is not None:
                refs.append(ref)
        by_node = {id(r.node): r for r in refs}
        # Pushdown reads the query as written, so every filter is worked out before any swap.
        planned: list[tuple[_Ref, int | None, Any, str]] = []
        for ref in refs:
            if ref.kind == "table":
                snapshot = self._snapshot(ref)
                row_filter, text = self._row_filter(ref, by_node, snapshot)
                planned.append((ref, snapshot, row_filter, text))
        for ref in refs:
            if ref.kind == "view":
                self._expand_view(ref, depth)
            elif ref.kind == "meta":
                self._replace_meta(ref)
        for ref, snapshot, row_filter, text in planned:
            self._replace_table(ref, snapshot, row_filter, text)
        return query

    def cleanup(self) -> None:
        con = self.engine.con
        # Each name is a temp view or a registered Arrow table; dropping the other kind fails.
        for name in self.temp_names:
            with contextlib.suppress(Exception):
                con.execute(f'DROP VIEW IF EXISTS "{name}"')
            with contextlib.suppress(Exception):
                con.unregister(name)
        self.temp_names.clear()
        self._scan_views.clear()

    def constant(self, node: exp.Expression) -> Any:
        """Fold a column-free expression to a Python value with DuckDB."""
        from oaklake.engine.translate import to_duckdb

        sql = to_duckdb(node)
        if sql not in self._constants:
            # Through _duck: a bad literal (FOR TIMESTAMP AS OF 'abc') is the user's error.
            rows = self.engine._duck(lambda: self.engine.con.execute(f"SELECT {sql}").fetchall())
            self._constants[sql] = rows[0][0]
        return self._constants[sql]

    # -- classification --------------------------------------------------------------------
    def _classify(self, node: exp.Table, default_schema: str, ctes: set[str]) -> _Ref | None:
        if not isinstance(node.this, exp.Identifier):
            return None  # read_csv(...), unnest(...), other table functions
        parent = node.parent
        if isinstance(parent, exp.Column | exp.Dot):
            return None
        name = node.name
        db = node.db
        catalog = node.catalog
        if not db and name.lower() in ctes and _refers_to_cte(node, name.lower()):
            return None
        if not db and name in self.passthrough:
            return None
        if catalog and catalog.lower() not in (self.engine.settings.catalog_name, ATHENA_CATALOG):
            raise TableNotFound(
                f"catalog {catalog!r} does not exist",
                hint=f"this workspace's catalog is {self.engine.settings.catalog_name!r} "
                f"(or {ATHENA_CATALOG!r}, as in Athena)",
                code="CATALOG_NOT_FOUND",
            )
        schema = (db or default_schema).lower()
        base = name
        meta = ""
        if "$" in name:
            base, meta = name.split("$", 1)
            meta = meta.lower()
            if meta not in METADATA_TABLES:
                raise NotSupported(
                    f'unknown metadata table "{name}"',
                    hint="available: " + ", ".join(f'"{base}${m}"' for m in METADATA_TABLES),
                )
        base = base.lower()
        alias = node.alias or base
        if not meta and node.args.get("version") is None and base in self._views_in(schema):
            return _Ref(node, schema, base, alias, "view")
        table = self.engine.load_table(schema, base)
        return _Ref(node, schema, base, alias, "meta" if meta else "table", table=table, meta=meta)

    def _views_in(self, schema: str) -> set[str]:
        """The schema's view names, read once per statement.

        Asking the catalog twice per table reference (does the schema exist, is this a view) was
        ~15% of a TPC-H query's time: q2 names nine tables.
        """
        if schema not in self._view_names:
            catalog_obj = self.engine.catalog
            names = catalog_obj.list_views(schema) if catalog_obj.schema_exists(schema) else []
            self._view_names[schema] = {n.lower() for n in names}
        return self._view_names[schema]

    # -- replacement -----------------------------------------------------------------------
    def _temp(self, prefix: str) -> str:
        name = f"__oak_{prefix}_{id(self)}_{len(self.temp_names)}"
        self.temp_names.append(name)
        return name

    def _swap(self, ref: _Ref, source: str) -> None:
        new = exp.Table(this=exp.to_identifier(source, quoted=True))
        new.set("alias", exp.TableAlias(this=exp.to_identifier(ref.alias)))
        alias_node = ref.node.args.get("alias")
        if isinstance(alias_node, exp.TableAlias) and alias_node.columns:
            new.set("alias", alias_node)
        _carry(ref.node, new)
        ref.node.replace(new)

    def _expand_view(self, ref: _Ref, depth: int) -> None:
        from oaklake.engine.statements import parse

        view = self.engine.catalog.get_view(ref.schema, ref.name)
        assert view is not None
        inner = self.resolve(parse(view.sql), view.schema, depth + 1)
        sub = exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(ref.alias)))
        alias_node = ref.node.args.get("alias")
        if isinstance(alias_node, exp.TableAlias) and alias_node.columns:
            sub.set("alias", alias_node)
        _carry(ref.node, sub)
        ref.node.replace(sub)

    def _replace_meta(self, ref: _Ref) -> None:
        assert ref.table is not None
        snapshot = self._snapshot(ref)
        arrow = metadata_table(ref.table, ref.meta, snapshot)
        name = self._temp("meta")
        self.engine.con.register(name, arrow)
        self._swap(ref, name)

    def _snapshot(self, ref: _Ref) -> int | None:
        version = ref.node.args.get("version")
        if version is None:
            return None
        assert ref.table is not None
        full = f"{ref.schema}.{ref.name}"
        kind = str(version.this).upper()
        value = self.constant(version.expression)
        if kind == "VERSION":
            try:
                return snapshot_for_version(ref.table, full, int(value))
            except (TypeError, ValueError) as e:
                raise InvalidInput(
                    f"FOR VERSION AS OF needs a snapshot id (a bigint), got {value!r}"
                ) from e
        if isinstance(value, str):
            value = self.constant(exp.cast(exp.Literal.string(value), "TIMESTAMPTZ"))
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            value = dt.datetime(value.year, value.month, value.day)
        if not isinstance(value, dt.datetime):
            raise InvalidInput(f"FOR TIMESTAMP AS OF needs a timestamp, got {value!r}")
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return snapshot_for_timestamp(ref.table, full, int(value.timestamp() * 1000))

    def _replace_table(self, ref: _Ref, snapshot: int | None, row_filter: Any, text: str) -> None:
        assert ref.table is not None
        scan = plan(
            ref.table,
            f"{ref.schema}.{ref.name}",
            snapshot_id=snapshot,
            row_filter=row_filter,
            filter_text=text,
        )
        self.scans.append(scan)
        select = scan.select_sql()
        name = self._scan_views.get(select)
        if name is None:
            # References that read the same files alike share a view: creating one costs DuckDB
            # a bind (TPC-H q2 reads partsupp, supplier, nation and region twice each).
            name = self._temp("scan")
            self.engine.con.execute(f'CREATE OR REPLACE TEMP VIEW "{name}" AS {select}')
            self._scan_views[select] = name
        self._swap(ref, name)

    # -- pushdown --------------------------------------------------------------------------
    def _row_filter(
        self, ref: _Ref, by_node: dict[int, _Ref], snapshot: int | None
    ) -> tuple[Any | None, str]:
        from oaklake.engine.scan import schema_at

        assert ref.table is not None
        parent = ref.node.parent
        select = parent.parent if parent is not None else None
        if not isinstance(select, exp.Select):
            return None, "true"
        joins = select.args.get("joins") or []
        if any((j.args.get("side") or "").upper() in ("RIGHT", "FULL") for j in joins):
            return None, "true"
        candidates: list[exp.Expression] = []
        if isinstance(parent, exp.Join):
            on = parent.args.get("on")
            candidates.extend(pushdown.conjuncts(on))
            if (parent.args.get("side") or "").upper() != "LEFT":
                candidates.extend(pushdown.conjuncts(select.args.get("where")))
        else:
            candidates.extend(pushdown.conjuncts(select.args.get("where")))
        if not candidates:
            return None, "true"
        schema = schema_at(ref.table, snapshot)
        mine = {f.name for f in schema.fields}
        others = self._other_sources(select, ref, by_node)

        def column_of(col: exp.Column) -> str | None:
            name = col.name.lower()
            if col.table:
                return name if col.table.lower() == ref.alias.lower() and name in mine else None
            if name not in mine:
                return None
            for other in others:
                if other is None or name in other:
                    return None
            return name

        from pyiceberg.expressions import And
        from pyiceberg.expressions.visitors import bind

        pushed: list[Any] = []
        texts: list[str] = []
        for conj in candidates:
            converted = pushdown.to_iceberg(conj, column_of, self._safe_constant)
            if converted is None:
                continue
            try:
                bind(schema, converted, case_sensitive=False)
            except Exception:  # noqa: S112 - a type the filter cannot compare: don't prune
                continue
            if not pushdown.lossless(converted, schema):
                continue
            pushed.append(converted)
            texts.append(conj.sql(dialect="athena"))
        if not pushed:
            return None, "true"
        result = pushed[0]
        for p in pushed[1:]:
            result = And(result, p)
        return result, " AND ".join(texts)

    def _safe_constant(self, node: exp.Expression) -> Any:
        try:
            return self.constant(node)
        except Exception:
            return None

    def _other_sources(
        self, select: exp.Select, ref: _Ref, by_node: dict[int, _Ref]
    ) -> list[set[str] | None]:
        """Column names of the other sources in scope (None where they can't be known)."""
        sources: list[exp.Expression] = []
        from_ = select.args.get("from_") or select.args.get("from")
        if from_ is not None:
            sources.append(from_.this)
        sources.extend(j.this for j in select.args.get("joins") or [])
        out: list[set[str] | None] = []
        for src in sources:
            if src is ref.node:
                continue
            other = by_node.get(id(src))
            if other is not None and other.table is not None and other.kind == "table":
                out.append({f.name for f in other.table.schema().fields})
            elif isinstance(src, exp.Subquery) and isinstance(src.this, exp.Select):
                names = src.this.named_selects
                out.append(None if "*" in names or not names else {n.lower() for n in names})
            else:
                out.append(None)
        return out
