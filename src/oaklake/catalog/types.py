"""Type conversions between Athena DDL, Iceberg, DuckDB and Arrow.

Athena (Hive DDL) spells types as ``bigint``, ``string``, ``array<string>``, ``struct<a:int>``;
Iceberg has its own type tree; DuckDB reads and casts with its own spellings. This module is the
one place that knows all three, so the engine and DDL never guess.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from oaklake.errors import NotSupported, TypeMismatch

if TYPE_CHECKING:
    from pyiceberg.schema import Schema
    from pyiceberg.types import IcebergType, NestedField


def iceberg_types() -> Any:
    import pyiceberg.types as t

    return t


def from_sql_type(dtype: Any, column: str = "") -> IcebergType:
    """A sqlglot DataType (parsed from Athena DDL) as an Iceberg type; nested ids are temporary."""
    from sqlglot import exp

    t = iceberg_types()
    T = exp.DataType.Type
    kind = dtype.this
    where = f" for column {column!r}" if column else ""
    simple = {
        T.BOOLEAN: t.BooleanType(),
        T.INT: t.IntegerType(),
        T.BIGINT: t.LongType(),
        T.FLOAT: t.FloatType(),
        T.DOUBLE: t.DoubleType(),
        T.DATE: t.DateType(),
        T.TIME: t.TimeType(),
        T.TIMESTAMP: t.TimestampType(),
        T.TIMESTAMPNTZ: t.TimestampType(),  # how sqlglot parses DuckDB's TIMESTAMP
        T.DATETIME: t.TimestampType(),
        T.TIMESTAMPTZ: t.TimestamptzType(),
        T.TIMESTAMPLTZ: t.TimestamptzType(),
        T.TEXT: t.StringType(),
        T.VARCHAR: t.StringType(),
        T.NVARCHAR: t.StringType(),
        T.BINARY: t.BinaryType(),
        T.VARBINARY: t.BinaryType(),
        T.UUID: t.UUIDType(),
    }
    if kind in simple:
        return simple[kind]
    if kind in (T.TINYINT, T.SMALLINT, T.CHAR, T.NCHAR):
        raise NotSupported(
            f"Type not supported for Iceberg: {dtype.sql('athena').lower()}{where}",
            hint="use int instead of tinyint/smallint, and string or varchar instead of char",
        )
    if kind == T.DECIMAL:
        params = [int(p.this.this) for p in dtype.expressions] if dtype.expressions else []
        precision = params[0] if params else 38
        scale = params[1] if len(params) > 1 else 0
        if not 1 <= precision <= 38 or not 0 <= scale <= precision:
            raise TypeMismatch(f"invalid decimal({precision},{scale}){where}")
        return t.DecimalType(precision, scale)
    if kind == T.ARRAY:
        inner = from_sql_type(dtype.expressions[0], column)
        return t.ListType(element_id=0, element_type=inner, element_required=False)
    if kind == T.MAP:
        key = from_sql_type(dtype.expressions[0], column)
        value = from_sql_type(dtype.expressions[1], column)
        return t.MapType(key_id=0, key_type=key, value_id=0, value_type=value, value_required=False)
    if kind == T.STRUCT:
        fields = []
        for i, member in enumerate(dtype.expressions):
            name = member.name
            fields.append(
                t.NestedField(
                    field_id=i + 1,
                    name=name,
                    field_type=from_sql_type(member.args["kind"], name),
                    required=False,
                )
            )
        return t.StructType(*fields)
    raise NotSupported(
        f"Type not supported for Iceberg: {dtype.sql('athena').lower()}{where}",
        hint="supported: boolean, int, bigint, float, double, decimal(p,s), date, timestamp, "
        "string, varchar, binary, array<T>, map<K,V>, struct<…>",
    )


def to_athena(itype: IcebergType) -> str:
    """Athena's (Hive DDL) spelling of an Iceberg type, as DESCRIBE and SHOW CREATE print it."""
    t = iceberg_types()
    if isinstance(itype, t.ListType):
        return f"array<{to_athena(itype.element_type)}>"
    if isinstance(itype, t.MapType):
        return f"map<{to_athena(itype.key_type)},{to_athena(itype.value_type)}>"
    if isinstance(itype, t.StructType):
        inner = ",".join(f"{f.name}:{to_athena(f.field_type)}" for f in itype.fields)
        return f"struct<{inner}>"
    if isinstance(itype, t.DecimalType):
        return f"decimal({itype.precision},{itype.scale})"
    names = {
        t.BooleanType: "boolean",
        t.IntegerType: "int",
        t.LongType: "bigint",
        t.FloatType: "float",
        t.DoubleType: "double",
        t.DateType: "date",
        t.TimeType: "time",
        t.TimestampType: "timestamp",
        t.TimestamptzType: "timestamp with time zone",
        t.StringType: "string",
        t.UUIDType: "uuid",
        t.BinaryType: "binary",
        t.FixedType: "binary",
    }
    for cls, name in names.items():
        if isinstance(itype, cls):
            return name
    return str(itype)


def to_duckdb(itype: IcebergType) -> str:
    """DuckDB's spelling of an Iceberg type, for read schemas and casts."""
    t = iceberg_types()
    if isinstance(itype, t.ListType):
        return f"{to_duckdb(itype.element_type)}[]"
    if isinstance(itype, t.MapType):
        return f"MAP({to_duckdb(itype.key_type)}, {to_duckdb(itype.value_type)})"
    if isinstance(itype, t.StructType):
        inner = ", ".join(f"{quote_ident(f.name)} {to_duckdb(f.field_type)}" for f in itype.fields)
        return f"STRUCT({inner})"
    if isinstance(itype, t.DecimalType):
        return f"DECIMAL({itype.precision},{itype.scale})"
    names = {
        t.BooleanType: "BOOLEAN",
        t.IntegerType: "INTEGER",
        t.LongType: "BIGINT",
        t.FloatType: "FLOAT",
        t.DoubleType: "DOUBLE",
        t.DateType: "DATE",
        t.TimeType: "TIME",
        t.TimestampType: "TIMESTAMP",
        t.TimestamptzType: "TIMESTAMPTZ",
        t.StringType: "VARCHAR",
        t.UUIDType: "UUID",
        t.BinaryType: "BLOB",
        t.FixedType: "BLOB",
    }
    for cls, name in names.items():
        if isinstance(itype, cls):
            return name
    raise NotSupported(f"Iceberg type {itype} cannot be read yet")


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def from_duckdb(dtype: str, column: str = "") -> IcebergType:
    """An Iceberg type for a DuckDB result column type (CTAS, INSERT … SELECT)."""
    import sqlglot
    from sqlglot import exp

    text = dtype.strip()
    upper = text.upper()
    t = iceberg_types()
    # DuckDB widens sums to HUGEINT; Athena keeps bigint (and fails on overflow when cast).
    if upper in ("HUGEINT", "INT128", "UHUGEINT", "UBIGINT"):
        return t.LongType()
    if upper in ("TINYINT", "SMALLINT", "UTINYINT", "USMALLINT", "INT1", "INT2"):
        return t.IntegerType()
    if upper in ("UINTEGER",):
        return t.LongType()
    if upper in ("TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "TIMESTAMP WITHOUT TIME ZONE"):
        return t.TimestampType()
    if upper in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"):
        return t.TimestamptzType()
    if upper == '"NULL"' or upper == "NULL":
        return t.StringType()
    if upper in ("BLOB", "BYTEA"):
        return t.BinaryType()
    if upper == "INTERVAL":
        raise TypeMismatch(
            f"column {column!r} is an interval, which Iceberg cannot store",
            hint="cast it to a number of seconds or a string",
        )
    try:
        parsed = sqlglot.parse_one(f"CAST(NULL AS {text})", read="duckdb")
    except Exception as e:
        raise NotSupported(f"column {column!r} has type {dtype}, which Iceberg cannot store") from e
    assert isinstance(parsed, exp.Cast)
    to = parsed.args["to"]
    kind = to.this
    T = exp.DataType.Type
    if kind in (T.TINYINT, T.SMALLINT, T.UTINYINT, T.USMALLINT):
        return t.IntegerType()
    if kind in (T.UINT, T.UBIGINT, T.INT128, T.UINT128):
        return t.LongType()
    if kind in (T.CHAR, T.NCHAR):
        return t.StringType()
    if kind == T.STRUCT:
        fields = []
        for i, member in enumerate(to.expressions):
            fields.append(
                t.NestedField(
                    field_id=i + 1,
                    name=member.name,
                    field_type=from_duckdb(member.args["kind"].sql("duckdb"), member.name),
                    required=False,
                )
            )
        return t.StructType(*fields)
    if kind == T.ARRAY:
        inner = from_duckdb(to.expressions[0].sql("duckdb"), column)
        return t.ListType(element_id=0, element_type=inner, element_required=False)
    if kind == T.MAP:
        k = from_duckdb(to.expressions[0].sql("duckdb"), column)
        v = from_duckdb(to.expressions[1].sql("duckdb"), column)
        return t.MapType(key_id=0, key_type=k, value_id=0, value_type=v, value_required=False)
    return from_sql_type(to, column)


def schema_from_columns(columns: list[tuple[str, IcebergType, str | None]]) -> Schema:
    """An Iceberg schema with fresh ids, all fields optional (Athena has no NOT NULL)."""
    from pyiceberg.schema import Schema, assign_fresh_schema_ids

    t = iceberg_types()
    seen: set[str] = set()
    fields: list[NestedField] = []
    for i, (name, itype, doc) in enumerate(columns):
        low = name.lower()
        if low in seen:
            raise TypeMismatch(
                f"column {name!r} is declared twice", hint="give every column a different name"
            )
        seen.add(low)
        fields.append(
            t.NestedField(field_id=i + 1, name=low, field_type=itype, required=False, doc=doc)
        )
    return assign_fresh_schema_ids(Schema(*fields))


# Which implicit conversions INSERT accepts, as Trino/Athena do (plus strings to dates and
# timestamps, which the cast itself validates: Athena makes you write TIMESTAMP '…').
_NUMERIC_RANK = {"int": 1, "long": 2, "decimal": 3, "float": 4, "double": 5}


def _family(itype: IcebergType) -> str:
    t = iceberg_types()
    for cls, fam in (
        (t.IntegerType, "int"),
        (t.LongType, "long"),
        (t.DecimalType, "decimal"),
        (t.FloatType, "float"),
        (t.DoubleType, "double"),
        (t.StringType, "string"),
        (t.BooleanType, "boolean"),
        (t.DateType, "date"),
        (t.TimestampType, "timestamp"),
        (t.TimestamptzType, "timestamptz"),
        (t.TimeType, "time"),
        (t.BinaryType, "binary"),
        (t.FixedType, "binary"),
        (t.UUIDType, "uuid"),
        (t.ListType, "list"),
        (t.MapType, "map"),
        (t.StructType, "struct"),
    ):
        if isinstance(itype, cls):
            return fam
    return str(itype)


def assignable(source: IcebergType | None, target: IcebergType) -> bool:
    """Whether a value of ``source`` type may be written to a ``target`` column without a CAST."""
    if source is None:  # an untyped NULL
        return True
    s, t = _family(source), _family(target)
    if s == t:
        return True
    if s in _NUMERIC_RANK and t in _NUMERIC_RANK:
        return True
    if s == "string" and t in ("date", "timestamp", "timestamptz", "time", "uuid"):
        return True
    if s == "date" and t in ("timestamp", "timestamptz"):
        return True
    return s in ("timestamp", "timestamptz") and t in ("timestamp", "timestamptz")
