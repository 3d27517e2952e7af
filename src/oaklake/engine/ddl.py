"""DDL and catalog statements: CREATE/DROP/ALTER/USE/SHOW/DESCRIBE, Athena-style."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

from oaklake.catalog import types as ctypes
from oaklake.engine import properties as props_mod
from oaklake.engine.result import Result
from oaklake.engine.statements import QUALIFIED, split_qualified
from oaklake.errors import (
    AlreadyExists,
    ColumnNotFound,
    InvalidInput,
    NotSupported,
    SqlSyntaxError,
    TableNotFound,
    TypeMismatch,
    did_you_mean,
)

if TYPE_CHECKING:
    from pyiceberg.partitioning import PartitionSpec
    from pyiceberg.schema import Schema

    from oaklake.engine.session import Engine

TRANSFORMS = ("identity", "year", "month", "day", "hour", "bucket", "truncate")


# -- names -------------------------------------------------------------------------------
def table_name(engine: Engine, node: exp.Expression) -> tuple[str, str]:
    if isinstance(node, exp.Schema):
        node = node.this
    if not isinstance(node, exp.Table):
        raise InvalidInput(f"expected a table name, got {node.sql('athena')!r}")
    engine.check_catalog(node.catalog)
    return (node.db or engine.current_schema).lower(), node.name.lower()


def parse_name(engine: Engine, text: str) -> tuple[str, str]:
    parts = split_qualified(text)
    if not parts or len(parts) > 3:
        raise InvalidInput(f"invalid table name {text!r}")
    if len(parts) == 3:
        engine.check_catalog(parts[0])
        parts = parts[1:]
    if len(parts) == 1:
        return engine.current_schema, parts[0].lower()
    return parts[0].lower(), parts[1].lower()


# -- partitioning ------------------------------------------------------------------------
def _partition_term(node: exp.Expression) -> tuple[str, str, int | None]:
    """(transform, column, parameter) for one PARTITIONED BY entry as sqlglot parsed it."""

    def column(n: exp.Expression) -> str:
        while isinstance(n, exp.TsOrDsToDate | exp.Cast | exp.Paren):
            n = n.this
        if isinstance(n, exp.Column | exp.Identifier):
            return n.name.lower()
        raise NotSupported(f"partition transform argument must be a column: {n.sql('athena')}")

    if isinstance(node, exp.Identifier | exp.Column):
        return "identity", node.name.lower(), None
    for cls, name in (
        (exp.Year, "year"),
        (exp.Month, "month"),
        (exp.Day, "day"),
        (exp.Hour, "hour"),
    ):
        if isinstance(node, cls):
            return name, column(node.this), None
    if isinstance(node, exp.PartitionedByBucket):
        return "bucket", column(node.this), int(node.expression.this)
    if isinstance(node, exp.PartitionByTruncate):
        return "truncate", column(node.this), int(node.expression.this)
    if isinstance(node, exp.Anonymous | exp.Func):
        return parse_transform(node.sql("athena"))
    if isinstance(node, exp.ColumnDef):
        raise InvalidInput(
            "Iceberg tables declare partition columns without types",
            hint="declare the column in the column list and name it (or a transform) in "
            "PARTITIONED BY, e.g. PARTITIONED BY (category, day(ts))",
        )
    raise NotSupported(f"unsupported partition transform {node.sql('athena')}")


_TRANSFORM_RE = re.compile(
    r"^\s*(?:(?P<f>year|month|day|hour|days|months|years|hours)\s*\(\s*(?P<c1>\w+)\s*\)"
    r"|(?P<g>bucket|truncate)\s*\(\s*(?P<n>\d+)\s*,\s*(?P<c2>\w+)\s*\)"
    r"|(?P<c3>\w+))\s*$",
    re.I,
)


def parse_transform(text: str) -> tuple[str, str, int | None]:
    """Athena's string form, as in CTAS ``partitioning=ARRAY['day(ts)', 'bucket(16, id)']``."""
    m = _TRANSFORM_RE.match(text.strip().strip('`"'))
    if not m:
        raise NotSupported(
            f"unsupported partition transform {text!r}",
            hint="use a column, year(c), month(c), day(c), hour(c), bucket(N, c) or truncate(L, c)",
        )
    if m.group("f"):
        return m.group("f").lower().rstrip("s"), m.group("c1").lower(), None
    if m.group("g"):
        return m.group("g").lower(), m.group("c2").lower(), int(m.group("n"))
    return "identity", m.group("c3").lower(), None


def build_spec(schema: Schema, terms: list[tuple[str, str, int | None]]) -> PartitionSpec:
    from pyiceberg import transforms as tr
    from pyiceberg.partitioning import PartitionField, PartitionSpec

    fields = []
    names = {f.name for f in schema.fields}
    seen: set[str] = set()
    sources: dict[str, str] = {}
    for i, (transform, col, param) in enumerate(terms):
        if col not in names:
            raise ColumnNotFound(
                f"partition column {col!r} is not a column of the table",
                hint=did_you_mean(col, names) or "declare it in the column list first",
            )
        source = schema.find_field(col)
        if transform == "identity":
            t: Any = tr.IdentityTransform()
            pname = col
        elif transform == "bucket":
            if not param or param <= 0:
                raise InvalidInput("bucket(N, col) needs N > 0")
            t, pname = tr.BucketTransform(param), f"{col}_bucket"
        elif transform == "truncate":
            if not param or param <= 0:
                raise InvalidInput("truncate(L, col) needs L > 0")
            t, pname = tr.TruncateTransform(param), f"{col}_trunc"
        else:
            t = {
                "year": tr.YearTransform,
                "month": tr.MonthTransform,
                "day": tr.DayTransform,
                "hour": tr.HourTransform,
            }[transform]()
            pname = f"{col}_{transform}"
        if not t.can_transform(source.field_type):
            raise TypeMismatch(
                f"cannot partition by {transform}({col}): {col} is "
                f"{ctypes.to_athena(source.field_type)}",
                hint="year/month/day take date or timestamp, hour takes timestamp, "
                "bucket takes int/bigint/decimal/date/timestamp/string/binary, "
                "truncate takes int/bigint/decimal/string",
            )
        if pname in seen:
            raise InvalidInput(f"partition field {pname} is given twice")
        seen.add(pname)
        if col in sources:
            # pyiceberg's writer keys partition values by source column: one transform each
            # (and Iceberg itself rejects e.g. day(ts) next to hour(ts) as redundant).
            raise NotSupported(
                f"column {col} is partitioned more than once ({sources[col]} and {transform})",
                hint=f"keep one transform of {col}, e.g. the finest time unit or only {col}",
            )
        sources[col] = transform
        fields.append(
            PartitionField(source_id=source.field_id, field_id=1000 + i, transform=t, name=pname)
        )
    return PartitionSpec(*fields)


def describe_transform(spec_field: Any, schema: Schema) -> str:
    col = schema.find_column_name(spec_field.source_id) or "?"
    t = str(spec_field.transform)
    if t == "identity":
        return col
    m = re.match(r"(bucket|truncate)\[(\d+)\]", t)
    if m:
        return f"{m.group(1)}({m.group(2)}, {col})"
    return f"{t}({col})"


# -- CREATE ------------------------------------------------------------------------------
def _literal(node: exp.Expression) -> Any:
    if isinstance(node, exp.Literal):
        return node.this
    if isinstance(node, exp.Boolean):
        return node.this
    if isinstance(node, exp.Array):
        return [_literal(x) for x in node.expressions]
    if isinstance(node, exp.Var | exp.Identifier):
        return node.name
    return node.sql("athena").strip("'")


def _properties(expr: exp.Create) -> tuple[dict[str, Any], list[exp.Expression], str | None]:
    """(table properties incl. CTAS WITH keys, PARTITIONED BY terms, LOCATION)."""
    out: dict[str, Any] = {}
    partitions: list[exp.Expression] = []
    location = None
    node = expr.args.get("properties")
    for p in node.expressions if node is not None else []:
        if isinstance(p, exp.PartitionedByProperty):
            partitions.extend(p.this.expressions if isinstance(p.this, exp.Schema) else [p.this])
        elif isinstance(p, exp.LocationProperty):
            location = str(_literal(p.this))
        elif isinstance(p, exp.ExternalProperty):
            raise NotSupported(
                "External keyword not supported for table type ICEBERG",
                hint="write CREATE TABLE (Iceberg tables are managed)",
            )
        elif isinstance(p, exp.WithDataProperty):  # CTAS … WITH [NO] DATA
            out["__with_data"] = not p.args.get("no")
        elif isinstance(p, exp.FileFormatProperty):
            out["format"] = str(_literal(p.this))
        elif isinstance(p, exp.SchemaCommentProperty):  # a Property too: test it first
            out["comment"] = str(_literal(p.this))
        elif isinstance(p, exp.Property):
            out[str(_literal(p.this)).lower()] = _literal(p.args["value"])
        else:
            raise NotSupported(f"unsupported table option: {p.sql('athena')}")
    return out, partitions, location


def create(engine: Engine, expr: exp.Create) -> Result:
    kind = (expr.args.get("kind") or "").upper()
    if kind in ("SCHEMA", "DATABASE"):
        node = expr.this
        name = (node.db or node.name) if isinstance(node, exp.Table) else node.sql()
        created = engine.catalog.create_schema(name, if_not_exists=bool(expr.args.get("exists")))
        return Result(message=f"schema {name.lower()} {'created' if created else 'already exists'}")
    if kind == "VIEW":
        return create_view(engine, expr)
    if kind != "TABLE":
        raise NotSupported(f"CREATE {kind} is not supported")
    if expr.args.get("replace"):
        raise NotSupported(
            "CREATE OR REPLACE TABLE is not supported", hint="DROP TABLE first, then CREATE TABLE"
        )
    schema_name, name = table_name(engine, expr.this)
    engine.catalog.require_schema(schema_name)
    if engine.catalog.table_exists(schema_name, name):
        if expr.args.get("exists"):
            return Result(message=f"table {schema_name}.{name} already exists")
        raise AlreadyExists(
            f"table {schema_name}.{name} already exists",
            hint="use CREATE TABLE IF NOT EXISTS, or DROP TABLE first",
        )
    raw, partition_nodes, location = _properties(expr)
    query = expr.expression
    if query is not None:
        return _ctas(engine, expr, schema_name, name, raw, partition_nodes, location)
    columns = column_definitions(expr)
    if "partitioning" in raw or "partitioned_by" in raw:
        raise InvalidInput(
            "use PARTITIONED BY (…) in CREATE TABLE; partitioning=ARRAY[…] is for CTAS"
        )
    terms = [_partition_term(n) for n in partition_nodes]
    return _create_table(engine, schema_name, name, columns, terms, raw, location)


def column_definitions(expr: exp.Create) -> list[tuple[str, Any, str | None]]:
    """(name, Iceberg type, comment) of each column a CREATE TABLE declares."""
    if not isinstance(expr.this, exp.Schema):
        raise SqlSyntaxError("CREATE TABLE needs a column list or AS SELECT")
    columns = []
    for col in expr.this.expressions:
        if not isinstance(col, exp.ColumnDef):
            raise NotSupported(f"unsupported column definition {col.sql('athena')}")
        kind_node = col.args.get("kind")
        if kind_node is None:
            raise InvalidInput(f"column {col.name} has no type")
        doc = None
        for c in col.args.get("constraints") or []:
            if isinstance(c.args.get("kind"), exp.CommentColumnConstraint):
                doc = str(_literal(c.args["kind"].this))
            elif c.args.get("kind") is not None:
                raise NotSupported(
                    f"column constraint {c.sql('athena')} is not supported",
                    hint="Iceberg tables in Athena have no constraints",
                )
        columns.append((col.name, ctypes.from_sql_type(kind_node, col.name), doc))
    return columns


def declared_table(text: str) -> tuple[list[tuple[str, Any, str | None]], list[Any]]:
    """Columns and partition terms of a schema file: a whole ``CREATE TABLE`` statement or
    just its column list (``id bigint, name string``)."""
    from oaklake.engine.statements import parse

    body = text.strip().rstrip(";").strip()
    if not body:
        raise InvalidInput("the schema file is empty", hint="id bigint, name string, ts timestamp")
    statement = body if re.match(r"(?is)^create\s", body) else f"CREATE TABLE t ({body})"
    expr = parse(statement)
    if not isinstance(expr, exp.Create) or (expr.args.get("kind") or "").upper() != "TABLE":
        raise InvalidInput(
            "a schema file holds a column list or one CREATE TABLE statement",
            hint="id bigint, name string, ts timestamp",
        )
    if expr.expression is not None:
        raise InvalidInput("a schema file declares columns; CREATE TABLE … AS SELECT is not one")
    _, partition_nodes, _ = _properties(expr)
    return column_definitions(expr), [_partition_term(n) for n in partition_nodes]


def _create_table(
    engine: Engine,
    schema_name: str,
    name: str,
    columns: list[tuple[str, Any, str | None]],
    terms: list[tuple[str, str, int | None]],
    raw: dict[str, Any],
    location: str | None,
) -> Result:
    table_props = {k: v for k, v in raw.items() if k not in props_mod.CTAS_ONLY}
    iceberg_props = props_mod.validate(table_props, for_create=True)
    schema = ctypes.schema_from_columns(columns)
    spec = build_spec(schema, terms)
    if "write.parquet.compression-codec" not in iceberg_props:
        iceberg_props["write.parquet.compression-codec"] = "zstd"
    table = engine.catalog.create_table(
        schema_name,
        name,
        schema,
        partition_spec=spec,
        location=engine.normalise_location(location),
        properties=iceberg_props,
    )
    engine.forget_table(schema_name, name)
    return Result(
        message=f"table {schema_name}.{name} created", extra={"location": table.location()}
    )


def _ctas(
    engine: Engine,
    expr: exp.Create,
    schema_name: str,
    name: str,
    raw: dict[str, Any],
    partition_nodes: list[exp.Expression],
    location: str | None,
) -> Result:
    terms = [_partition_term(n) for n in partition_nodes]
    parts = raw.get("partitioning") or raw.get("partitioned_by")
    if parts:
        terms.extend(
            parse_transform(str(p)) for p in (parts if isinstance(parts, list) else [parts])
        )
    if raw.get("is_external") not in (None, False, "false", "FALSE"):
        raise NotSupported(
            "External keyword not supported for table type ICEBERG",
            hint="set is_external=false or leave it out",
        )
    location = location or raw.get("location") or raw.get("external_location")
    with_data = raw.pop("__with_data", True)  # ... WITH NO DATA
    arrow, duck_types = engine.run_query_arrow(expr.expression, name_columns=False)
    columns = []
    for col_name, dtype in zip(arrow.column_names, duck_types, strict=True):
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", col_name):
            raise InvalidInput(
                f"column name not specified for expression {col_name!r}",
                hint="give every computed column an alias: … AS my_column",
            )
        columns.append((col_name, ctypes.from_duckdb(dtype, col_name), None))
    _create_table(engine, schema_name, name, columns, terms, raw, location)
    if not with_data or arrow.num_rows == 0:
        return Result(message=f"table {schema_name}.{name} created (0 rows)", affected_rows=0)
    try:
        table = engine.load_table(schema_name, name)
        snapshot = engine.append_arrow(table, arrow)
    except BaseException:
        engine.catalog.drop_table(schema_name, name)  # nothing half-created
        engine.forget_table(schema_name, name)
        raise
    return Result(
        message=f"table {schema_name}.{name} created ({arrow.num_rows} rows)",
        affected_rows=arrow.num_rows,
        snapshot_id=snapshot,
    )


def create_view(engine: Engine, expr: exp.Create) -> Result:
    schema_name, name = table_name(engine, expr.this)
    query = expr.expression
    if query is None:
        raise SqlSyntaxError("CREATE VIEW needs AS SELECT …")
    # Validate now (Athena does): the query must resolve and run; keep its column types.
    arrow, duck_types = engine.run_query_arrow(query, limit=0)
    columns = [(n, str(t)) for n, t in zip(arrow.column_names, duck_types, strict=True)]
    view_schema = query.copy()
    text = view_schema.sql(dialect="athena")
    engine.catalog.put_view(
        schema_name, name, text, columns, replace=bool(expr.args.get("replace"))
    )
    return Result(message=f"view {schema_name}.{name} created")


# -- DROP --------------------------------------------------------------------------------
def drop(engine: Engine, expr: exp.Drop) -> Result:
    kind = (expr.args.get("kind") or "").upper()
    if_exists = bool(expr.args.get("exists"))
    target = expr.this if expr.this is not None else (expr.args.get("tables") or [None])[0]
    if kind in ("SCHEMA", "DATABASE"):
        assert isinstance(target, exp.Table)
        name = (target.db or target.name).lower()
        dropped = engine.catalog.drop_schema(
            name, cascade=bool(expr.args.get("cascade")), if_exists=if_exists
        )
        if dropped and engine.current_schema == name:
            engine.current_schema = engine.settings.default_schema
        return Result(message=f"schema {name} {'dropped' if dropped else 'does not exist'}")
    if target is None:
        raise SqlSyntaxError("DROP needs a name")
    schema_name, name = table_name(engine, target)
    if kind == "VIEW":
        if not engine.catalog.schema_exists(schema_name) or not engine.catalog.drop_view(
            schema_name, name
        ):
            if if_exists:
                return Result(message=f"view {schema_name}.{name} does not exist")
            raise TableNotFound(
                f"view {schema_name}.{name} does not exist",
                hint=did_you_mean(name, engine.catalog.list_views(schema_name))
                if engine.catalog.schema_exists(schema_name)
                else None,
            )
        return Result(message=f"view {schema_name}.{name} dropped")
    if kind == "TABLE":
        if not engine.catalog.schema_exists(schema_name) or not engine.catalog.table_exists(
            schema_name, name
        ):
            if if_exists:
                return Result(message=f"table {schema_name}.{name} does not exist")
            if engine.catalog.schema_exists(schema_name) and engine.catalog.view_exists(
                schema_name, name
            ):
                raise InvalidInput(
                    f"{schema_name}.{name} is a view", hint=f"DROP VIEW {schema_name}.{name}"
                )
            engine.load_table(schema_name, name)  # raises with a did-you-mean
        engine.catalog.drop_table(schema_name, name)
        engine.forget_table(schema_name, name)
        return Result(message=f"table {schema_name}.{name} dropped")
    raise NotSupported(f"DROP {kind} is not supported")


# -- ALTER -------------------------------------------------------------------------------
def alter(engine: Engine, expr: exp.Alter) -> Result:
    if (expr.args.get("kind") or "").upper() != "TABLE":
        raise NotSupported(f"ALTER {expr.args.get('kind')} is not supported")
    schema_name, name = table_name(engine, expr.this)
    table = engine.load_table(schema_name, name)
    full = f"{schema_name}.{name}"
    messages = []
    for action in expr.args.get("actions") or []:
        if isinstance(action, exp.Schema):  # ADD COLUMNS (…)
            existing = {f.name for f in table.schema().fields}
            with table.update_schema() as update:
                for col in action.expressions:
                    cname = col.name.lower()
                    if cname in existing:
                        raise AlreadyExists(f"column {cname} already exists in {full}")
                    doc = None
                    for c in col.args.get("constraints") or []:
                        if isinstance(c.args.get("kind"), exp.CommentColumnConstraint):
                            doc = str(_literal(c.args["kind"].this))
                    update.add_column(cname, ctypes.from_sql_type(col.args["kind"], cname), doc=doc)
                    existing.add(cname)
            messages.append(f"added {len(action.expressions)} column(s)")
        elif isinstance(action, exp.Drop) and (action.args.get("kind") or "").upper() == "COLUMN":
            for col in action.args.get("tables") or []:
                cname = col.name.lower()
                _require_column(table, cname, full)
                spec_sources = {f.source_id for f in table.spec().fields}
                if table.schema().find_field(cname).field_id in spec_sources:
                    raise InvalidInput(
                        f"cannot drop partition column {cname} of {full}",
                        hint="Iceberg keeps partition source columns",
                    )
                with table.update_schema() as update:
                    update.delete_column(cname)
            messages.append("column dropped")
        elif isinstance(action, exp.AlterRename):
            target = action.this
            new_schema = (target.db or schema_name).lower()
            engine.catalog.rename_table(schema_name, name, new_schema, target.name)
            engine.forget_table(schema_name, name)
            messages.append(f"renamed to {new_schema}.{target.name.lower()}")
        elif isinstance(action, exp.AlterSet):
            updates: dict[str, str] = {}
            for props in action.expressions:
                for p in props.expressions:
                    updates[str(_literal(p.this)).lower()] = str(_literal(p.args["value"]))
            _set_properties(table, updates)
            messages.append("properties set")
        elif isinstance(action, exp.AlterColumn):
            return _change_column(
                engine,
                table,
                full,
                action.name.lower(),
                (action.args.get("rename_to") or action.this).name.lower(),
                action.args.get("dtype"),
                None,
                None,
            )
        else:
            raise NotSupported(f"ALTER TABLE {action.sql('athena')} is not supported")
    engine.forget_table(schema_name, name)
    return Result(message=f"table {full}: " + ", ".join(messages))


def _set_properties(table: Any, updates: dict[str, str]) -> None:
    validated = props_mod.validate(updates, for_create=False)
    with table.transaction() as txn:
        txn.set_properties(validated)


def _require_column(table: Any, cname: str, full: str) -> None:
    names = [f.name for f in table.schema().fields]
    if cname not in names:
        raise ColumnNotFound(
            f"column {cname} does not exist in {full}", hint=did_you_mean(cname, names)
        )


_CHANGE_RE = re.compile(
    rf"^\s*ALTER\s+TABLE\s+(?P<table>{QUALIFIED})\s+CHANGE\s+(?:COLUMN\s+)?(?P<old>\S+)\s+(?P<new>\S+)\s+(?P<rest>.+?)\s*$",
    re.I | re.S,
)
_UNSET_RE = re.compile(
    rf"^\s*ALTER\s+TABLE\s+(?P<table>{QUALIFIED})\s+UNSET\s+TBLPROPERTIES\s*(?:IF\s+EXISTS\s*)?\((?P<keys>.*)\)\s*$",
    re.I | re.S,
)


def alter_command(engine: Engine, sql: str) -> Result:
    """ALTER forms sqlglot leaves opaque: CHANGE COLUMN, UNSET TBLPROPERTIES, unsupported ones."""
    m = _CHANGE_RE.match(sql)
    if m:
        schema_name, name = parse_name(engine, m.group("table"))
        table = engine.load_table(schema_name, name)
        rest = m.group("rest")
        position = None
        pm = re.search(r"\s+(FIRST|AFTER\s+(\S+))\s*$", rest, re.I)
        if pm:
            position = "FIRST" if pm.group(1).upper() == "FIRST" else pm.group(2)
            rest = rest[: pm.start()]
        comment = None
        cm = re.search(r"\s+COMMENT\s+'((?:[^'\\]|\\.|'')*)'\s*$", rest, re.I | re.S)
        if cm:  # Hive DDL escapes a quote as \' ('' is accepted too)
            comment = re.sub(r"\\(.)|''", lambda e: e.group(1) or "'", cm.group(1), flags=re.S)
            rest = rest[: cm.start()]
        from sqlglot import parse_one

        try:
            dtype = parse_one(f"CAST(NULL AS {rest.strip()})", read="athena").args["to"]
        except Exception as e:
            raise SqlSyntaxError(f"invalid column type {rest.strip()!r}", sql=sql) from e
        old = split_qualified(m.group("old"))[0].lower()
        new = split_qualified(m.group("new"))[0].lower()
        return _change_column(
            engine, table, f"{schema_name}.{name}", old, new, dtype, comment, position
        )
    m = _UNSET_RE.match(sql)
    if m:
        schema_name, name = parse_name(engine, m.group("table"))
        table = engine.load_table(schema_name, name)
        keys = [k.strip().strip("'\"").lower() for k in m.group("keys").split(",") if k.strip()]
        for k in keys:
            if k not in props_mod.ALLOWED:
                raise props_mod.InvalidProperty(f"Unsupported table property key: {k}")
        twins = [props_mod.ICEBERG_TWINS[k] for k in keys if k in props_mod.ICEBERG_TWINS]
        with table.transaction() as txn:
            txn.remove_properties(*keys, *twins)
        engine.forget_table(schema_name, name)
        return Result(message=f"table {schema_name}.{name}: properties unset")
    upper = " ".join(sql.upper().split())
    for needle, hint in (
        ("REPLACE COLUMNS", "use ADD COLUMNS, DROP COLUMN and CHANGE COLUMN"),
        ("SET LOCATION", "Iceberg tables keep their location; CTAS into a new location instead"),
        ("ADD PARTITION", "Iceberg partitions are hidden: partitions appear as data is written"),
        ("DROP PARTITION", "use DELETE FROM … WHERE <partition predicate>"),
        ("RENAME PARTITION", "Iceberg partitions are hidden and cannot be renamed"),
    ):
        if needle in upper:
            raise NotSupported(
                f"ALTER TABLE … {needle} is not supported for Iceberg tables", hint=hint
            )
    raise SqlSyntaxError(
        "unrecognised ALTER TABLE statement",
        sql=sql,
        line=1,
        column=1,
        hint="supported: ADD COLUMNS, DROP COLUMN, CHANGE COLUMN, RENAME TO, "
        "SET/UNSET TBLPROPERTIES",
    )


def _change_column(
    engine: Engine,
    table: Any,
    full: str,
    old: str,
    new: str,
    dtype: Any,
    comment: str | None,
    position: str | None,
) -> Result:
    from pyiceberg.types import DecimalType, DoubleType, FloatType, IntegerType, LongType

    _require_column(table, old, full)
    current = table.schema().find_field(old)
    names = [f.name for f in table.schema().fields]
    if new != old and new in names:
        raise AlreadyExists(f"column {new} already exists in {full}")
    target = ctypes.from_sql_type(dtype, new) if dtype is not None else current.field_type
    widen = target != current.field_type
    if widen:
        ok = (
            (isinstance(current.field_type, IntegerType) and isinstance(target, LongType))
            or (isinstance(current.field_type, FloatType) and isinstance(target, DoubleType))
            or (
                isinstance(current.field_type, DecimalType)
                and isinstance(target, DecimalType)
                and target.scale == current.field_type.scale
                and target.precision >= current.field_type.precision
            )
        )
        if not ok:
            raise TypeMismatch(
                f"cannot change column {old} of {full} from {ctypes.to_athena(current.field_type)} "
                f"to {ctypes.to_athena(target)}",
                hint="Iceberg allows int→bigint, float→double and widening a decimal's precision",
            )
    if position is not None and position != "FIRST":
        anchor = split_qualified(position)[0].lower()
        _require_column(table, anchor, full)
        position = anchor
    with table.update_schema() as update:
        if widen:
            update.update_column(old, field_type=target)
        if comment is not None:
            update.update_column(old, doc=comment)
        if new != old:
            update.rename_column(old, new)
    if position is not None:
        with table.update_schema() as update:
            if position == "FIRST":
                update.move_first(new)
            else:
                update.move_after(new, position)
    schema_name, name = full.split(".", 1)
    engine.forget_table(schema_name, name)
    return Result(message=f"table {full}: column {old} changed")


# -- USE / SHOW / DESCRIBE ----------------------------------------------------------------
def use(engine: Engine, expr: exp.Use) -> Result:
    node = expr.this
    name = (node.name if isinstance(node, exp.Table) and node.name else node.sql()).lower()
    if isinstance(node, exp.Table) and node.db:  # USE catalog.db
        engine.check_catalog(node.db)
    engine.current_schema = engine.catalog.require_schema(name)
    return Result(message=f"using schema {engine.current_schema}")


def _rows(columns: list[str], rows: list[tuple[Any, ...]]) -> Result:
    data = {c: pa.array([r[i] for r in rows], pa.string()) for i, c in enumerate(columns)}
    return Result(table=pa.table(data))


def _like(pattern: str | None, names: list[str]) -> list[str]:
    if not pattern:
        return names
    # Athena (Hive) patterns: * is any text and | separates alternatives.
    alts = [re.escape(p.strip()).replace(r"\*", ".*") for p in pattern.split("|")]
    rx = re.compile("^(?:" + "|".join(alts) + ")$", re.I)
    return [n for n in names if rx.match(n)]


_SHOW_RE = {
    "schemas": re.compile(
        r"^SHOW\s+(?:SCHEMAS|DATABASES)(?:\s+LIKE)?(?:\s+'(?P<p>[^']*)')?\s*$", re.I
    ),
    "tables": re.compile(
        rf"^SHOW\s+TABLES(?:\s+(?:IN|FROM)\s+(?P<db>{QUALIFIED}))?(?:\s+LIKE)?(?:\s+'(?P<p>[^']*)')?\s*$",
        re.I,
    ),
    "views": re.compile(
        rf"^SHOW\s+VIEWS(?:\s+(?:IN|FROM)\s+(?P<db>{QUALIFIED}))?(?:\s+LIKE)?(?:\s+'(?P<p>[^']*)')?\s*$",
        re.I,
    ),
    "columns": re.compile(
        rf"^SHOW\s+COLUMNS\s+(?:IN|FROM)\s+(?P<t>{QUALIFIED})(?:\s+(?:IN|FROM)\s+(?P<db>{QUALIFIED}))?\s*$",
        re.I,
    ),
    "create": re.compile(rf"^SHOW\s+CREATE\s+(?P<kind>TABLE|VIEW)\s+(?P<t>{QUALIFIED})\s*$", re.I),
    "props": re.compile(
        rf"^SHOW\s+TBLPROPERTIES\s+(?P<t>{QUALIFIED})(?:\s*\(\s*'(?P<key>[^']+)'\s*\))?\s*$", re.I
    ),
    "partitions": re.compile(r"^SHOW\s+PARTITIONS\b", re.I),
}


def show(engine: Engine, sql: str) -> Result:
    text = " ".join(sql.split())
    cat = engine.catalog
    m = _SHOW_RE["schemas"].match(text)
    if m:
        return _rows(["database_name"], [(s,) for s in _like(m.group("p"), cat.list_schemas())])
    for kind in ("tables", "views"):
        m = _SHOW_RE[kind].match(text)
        if m:
            db = (
                split_qualified(m.group("db"))[-1].lower()
                if m.group("db")
                else engine.current_schema
            )
            cat.require_schema(db)
            names = (
                cat.list_views(db)
                if kind == "views"
                else sorted(cat.list_tables(db) + cat.list_views(db))
            )
            return _rows(
                ["tab_name" if kind == "tables" else "views"],
                [(n,) for n in _like(m.group("p"), names)],
            )
    m = _SHOW_RE["columns"].match(text)
    if m:
        schema_name, name = parse_name(engine, m.group("t"))
        if m.group("db"):
            schema_name = split_qualified(m.group("db"))[-1].lower()
        return _rows(["field"], [(c,) for c, _, _ in columns_of(engine, schema_name, name)])
    m = _SHOW_RE["create"].match(text)
    if m:
        schema_name, name = parse_name(engine, m.group("t"))
        if m.group("kind").upper() == "VIEW":
            view = cat.get_view(schema_name, name) if cat.schema_exists(schema_name) else None
            if view is None:
                raise TableNotFound(f"view {schema_name}.{name} does not exist")
            return _rows(["Create View"], [(f"CREATE VIEW {schema_name}.{name} AS\n{view.sql}",)])
        return _rows(["createtab_stmt"], [(show_create_table(engine, schema_name, name),)])
    m = _SHOW_RE["props"].match(text)
    if m:
        schema_name, name = parse_name(engine, m.group("t"))
        table = engine.load_table(schema_name, name)
        shown = props_mod.athena_view(dict(table.properties))
        if m.group("key"):
            key = m.group("key").lower()
            if key not in shown:
                raise InvalidInput(
                    f"table {schema_name}.{name} has no property {key!r}", code="PROPERTY_NOT_FOUND"
                )
            return _rows(["prpt_name", "prpt_value"], [(key, shown[key])])
        return _rows(["prpt_name", "prpt_value"], list(shown.items()))
    if _SHOW_RE["partitions"].match(text):
        raise NotSupported(
            "SHOW PARTITIONS is not supported for Iceberg tables",
            hint='query the metadata table instead: SELECT * FROM "t$partitions"',
        )
    raise SqlSyntaxError(
        "unrecognised SHOW statement",
        sql=sql,
        line=1,
        column=1,
        hint="supported: SHOW SCHEMAS|DATABASES, SHOW TABLES [IN db], SHOW VIEWS, "
        "SHOW COLUMNS IN t, SHOW CREATE TABLE t, SHOW TBLPROPERTIES t",
    )


def columns_of(engine: Engine, schema_name: str, name: str) -> list[tuple[str, str, str]]:
    """(name, Athena type, comment) of a table or view."""
    cat = engine.catalog
    if cat.schema_exists(schema_name) and not cat.table_exists(schema_name, name):
        view = cat.get_view(schema_name, name)
        if view is not None:
            return [(c, t.lower(), "") for c, t in view.columns]
    table = engine.load_table(schema_name, name)
    return [(f.name, ctypes.to_athena(f.field_type), f.doc or "") for f in table.schema().fields]


def show_create_table(engine: Engine, schema_name: str, name: str) -> str:
    table = engine.load_table(schema_name, name)
    schema = table.schema()
    cols = []
    for f in schema.fields:
        line = f"  `{f.name}` {ctypes.to_athena(f.field_type)}"
        if f.doc:
            line += f" COMMENT {_ddl_string(f.doc)}"
        cols.append(line)
    out = [f"CREATE TABLE {schema_name}.{name} (", ",\n".join(cols) + ")"]
    spec = table.spec()
    if spec.fields:
        out.append(
            "PARTITIONED BY (" + ", ".join(describe_transform(f, schema) for f in spec.fields) + ")"
        )
    out.append(f"LOCATION '{table.location()}'")
    shown = props_mod.athena_view(dict(table.properties))
    out.append(
        "TBLPROPERTIES (\n"
        + ",\n".join(f"  '{k}'={_ddl_string(v)}" for k, v in shown.items())
        + ")"
    )
    return "\n".join(out)


def _ddl_string(text: str) -> str:
    """A string literal as Athena's (Hive) DDL reads it: quotes escaped with a backslash."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


_DESCRIBE_RE = re.compile(
    rf"^(?:DESCRIBE|DESC)\s+(?:(?P<style>FORMATTED|EXTENDED)\s+)?(?P<t>{QUALIFIED})(?:\s+(?P<col>\w+))?\s*$",
    re.I,
)


def describe(engine: Engine, sql: str) -> Result:
    m = _DESCRIBE_RE.match(" ".join(sql.split()))
    if not m:
        raise SqlSyntaxError(
            "expected DESCRIBE [FORMATTED] table [column]", sql=sql, line=1, column=1
        )
    schema_name, name = parse_name(engine, m.group("t"))
    cols = columns_of(engine, schema_name, name)
    if m.group("col"):
        col = m.group("col").lower()
        match = [c for c in cols if c[0] == col]
        if not match:
            raise ColumnNotFound(
                f"column {col} does not exist in {schema_name}.{name}",
                hint=did_you_mean(col, [c[0] for c in cols]),
            )
        cols = match
    rows: list[tuple[Any, ...]] = list(cols)
    if m.group("style") and engine.catalog.table_exists(schema_name, name):
        table = engine.load_table(schema_name, name)
        schema = table.schema()
        rows.append(("", "", ""))
        rows.append(("# Partition Information", "", ""))
        rows.append(("# col_name", "data_type", "comment"))
        for f in table.spec().fields:
            rows.append((f.name, describe_transform(f, schema), ""))
        rows.append(("", "", ""))
        rows.append(("# Detailed Table Information", "", ""))
        snap = table.current_snapshot()
        rows.extend(
            [
                ("Database:", schema_name, ""),
                ("Table:", name, ""),
                ("Location:", table.location(), ""),
                ("Table Type:", "ICEBERG", ""),
                ("Format Version:", str(table.format_version), ""),
                ("Current Snapshot:", str(snap.snapshot_id) if snap else "", ""),
                ("Metadata Location:", table.metadata_location, ""),
                ("Table Parameters:", "", ""),
            ]
        )
        rows.extend((f"  {k}", v, "") for k, v in sorted(table.properties.items()))
    return _rows(["col_name", "data_type", "comment"], rows)
