"""The workspace's Iceberg catalog: schemas (namespaces), tables and views.

Only this package touches pyiceberg. A SQLite file is the default; any SQLAlchemy URI (PostgreSQL)
works too, with the same table layout as Iceberg's Java JdbcCatalog. Views (Athena views, stored
in the catalog as Glue does, not as Iceberg views) live in one extra table of the same database.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oaklake.config import redact_uri
from oaklake.errors import (
    AlreadyExists,
    ConfigError,
    InvalidInput,
    MissingDependency,
    SchemaNotFound,
    TableNotFound,
    did_you_mean,
)

if TYPE_CHECKING:
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.partitioning import PartitionSpec
    from pyiceberg.schema import Schema
    from pyiceberg.table import Table

    from oaklake.config import Settings

VIEWS_TABLE = "oaklake_views"


@dataclass(frozen=True)
class View:
    schema: str
    name: str
    sql: str
    columns: list[tuple[str, str]]
    created_at: float


def _check_name(kind: str, name: str) -> str:
    low = name.lower()
    if not low or not all(c.isalnum() or c == "_" for c in low):
        raise InvalidInput(
            f"invalid {kind} name {name!r}",
            hint="use letters, digits and underscores only (Athena lower-cases names)",
        )
    return low


class Catalog:
    """A thin, typed face over pyiceberg's SqlCatalog with oaklake's errors and names."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._iceberg: SqlCatalog | None = None
        self._views_ready = False

    # -- opening -------------------------------------------------------------------------
    @property
    def iceberg(self) -> SqlCatalog:
        if self._iceberg is None:
            self._iceberg = self._open()
        return self._iceberg

    def _open(self) -> SqlCatalog:
        uri = self.settings.resolved_catalog_uri
        try:
            from pyiceberg.catalog.sql import SqlCatalog
        except ImportError as e:  # pragma: no cover - a broken install
            raise MissingDependency(
                "pyiceberg is not installed", hint="pip install 'pyiceberg[sql-sqlite,pyarrow]'"
            ) from e
        props = {"uri": uri, "warehouse": self.settings.warehouse_uri}
        try:
            cat = SqlCatalog(self.settings.catalog_name, **props)
        except ModuleNotFoundError as e:
            raise MissingDependency(
                f"the catalog URI needs a database driver that is not installed ({e.name})",
                hint="for PostgreSQL: pip install 'oaklake[postgres]'",
            ) from e
        except Exception as e:
            detail = (str(e).strip().splitlines() or [""])[0]  # SQLAlchemy appends SQL and links
            raise ConfigError(
                f"cannot open the catalog at {redact_uri(uri)}: {type(e).__name__}: {detail}",
                hint="check [catalog] uri in oaklake.toml (or OAKLAKE_CATALOG_URI)",
            ) from e
        return cat

    def close(self) -> None:
        """Return the pooled database connections (a PostgreSQL catalog holds them open)."""
        if self._iceberg is not None:
            self._iceberg.engine.dispose()
            self._iceberg = None
            self._views_ready = False

    # -- schemas -------------------------------------------------------------------------
    def list_schemas(self) -> list[str]:
        return sorted(".".join(ns) for ns in self.iceberg.list_namespaces())

    def schema_exists(self, name: str) -> bool:
        return name.lower() in self.list_schemas()

    def require_schema(self, name: str) -> str:
        low = name.lower()
        existing = self.list_schemas()
        if low not in existing:
            raise SchemaNotFound(
                f"schema {name!r} does not exist",
                hint=did_you_mean(low, existing) or "create it with CREATE SCHEMA " + low,
            )
        return low

    def create_schema(self, name: str, *, if_not_exists: bool = False, comment: str = "") -> bool:
        low = _check_name("schema", name)
        if self.schema_exists(low):
            if if_not_exists:
                return False
            raise AlreadyExists(f"schema {low!r} already exists", hint="use IF NOT EXISTS")
        props = {"comment": comment} if comment else {}
        self.iceberg.create_namespace(low, props)
        return True

    def drop_schema(self, name: str, *, cascade: bool = False, if_exists: bool = False) -> bool:
        low = name.lower()
        if not self.schema_exists(low):
            if if_exists:
                return False
            self.require_schema(low)
        tables = self.list_tables(low)
        views = self.list_views(low)
        if (tables or views) and not cascade:
            raise InvalidInput(
                f"schema {low!r} is not empty ({len(tables)} tables, {len(views)} views)",
                hint=f"drop its tables first, or use DROP SCHEMA {low} CASCADE "
                "(which deletes their data)",
                code="SCHEMA_NOT_EMPTY",
            )
        for table in tables:
            self.drop_table(low, table)
        for view in views:
            self.drop_view(low, view)
        self.iceberg.drop_namespace(low)
        return True

    # -- tables --------------------------------------------------------------------------
    def list_tables(self, schema: str) -> list[str]:
        low = self.require_schema(schema)
        return sorted(ident[-1] for ident in self.iceberg.list_tables(low))

    def table_exists(self, schema: str, name: str) -> bool:
        return bool(self.iceberg.table_exists((schema.lower(), name.lower())))

    def load_table(self, schema: str, name: str) -> Table:
        from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError

        try:
            return self.iceberg.load_table((schema.lower(), name.lower()))
        except (NoSuchTableError, NoSuchNamespaceError):
            pass
        self.require_schema(schema)
        candidates = self.list_tables(schema) + self.list_views(schema)
        raise TableNotFound(
            f"table {schema.lower()}.{name.lower()} does not exist",
            hint=did_you_mean(name.lower(), candidates)
            or f"SHOW TABLES IN {schema.lower()} lists what exists",
        )

    def create_table(
        self,
        schema: str,
        name: str,
        iceberg_schema: Schema,
        *,
        partition_spec: PartitionSpec | None = None,
        location: str | None = None,
        properties: dict[str, str] | None = None,
    ) -> Table:
        from pyiceberg.exceptions import TableAlreadyExistsError
        from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC

        low_schema = self.require_schema(schema)
        low = _check_name("table", name)
        if self.view_exists(low_schema, low):
            raise AlreadyExists(f"a view named {low_schema}.{low} already exists")
        try:
            return self.iceberg.create_table(
                (low_schema, low),
                schema=iceberg_schema,
                partition_spec=partition_spec or UNPARTITIONED_PARTITION_SPEC,
                location=location,
                properties=properties or {},
            )
        except TableAlreadyExistsError as e:
            raise AlreadyExists(
                f"table {low_schema}.{low} already exists",
                hint="use CREATE TABLE IF NOT EXISTS, or DROP TABLE first",
            ) from e
        except OSError as e:  # a LOCATION that cannot be written is the user's to fix
            raise InvalidInput(
                f"cannot write table {low_schema}.{low} at {location or 'the warehouse'}: "
                f"{e.strerror or e}",
                hint="choose a LOCATION oaklake can write to, or leave LOCATION out",
                code="INVALID_LOCATION",
            ) from e

    def create_table_transaction(
        self,
        schema: str,
        name: str,
        iceberg_schema: Schema,
        *,
        partition_spec: PartitionSpec | None = None,
        properties: dict[str, str] | None = None,
    ) -> Any:
        """A table that exists only when the returned transaction commits (with its first
        data): a crash before that leaves no table behind."""
        from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC

        low_schema = self.require_schema(schema)
        low = _check_name("table", name)
        if self.view_exists(low_schema, low):
            raise AlreadyExists(f"a view named {low_schema}.{low} already exists")
        if self.table_exists(low_schema, low):
            raise AlreadyExists(f"table {low_schema}.{low} already exists")
        return self.iceberg.create_table_transaction(
            (low_schema, low),
            schema=iceberg_schema,
            partition_spec=partition_spec or UNPARTITIONED_PARTITION_SPEC,
            properties=properties or {},
        )

    def drop_table(self, schema: str, name: str) -> None:
        """Iceberg tables are managed (as in Athena): dropping one deletes its data too."""
        table = self.load_table(schema, name)
        location = table.location()
        self.iceberg.drop_table((schema.lower(), name.lower()))
        if location.startswith("file://"):
            shutil.rmtree(Path(location[len("file://") :]), ignore_errors=True)
        elif "://" not in location:
            shutil.rmtree(Path(location), ignore_errors=True)
        else:  # object storage: delete what the metadata names
            _purge_files(table)

    def rename_table(self, schema: str, name: str, new_schema: str, new_name: str) -> None:
        from pyiceberg.exceptions import TableAlreadyExistsError

        self.load_table(schema, name)
        target_schema = self.require_schema(new_schema)
        target = _check_name("table", new_name)
        if self.view_exists(target_schema, target):
            raise AlreadyExists(f"a view named {target_schema}.{target} already exists")
        try:
            self.iceberg.rename_table((schema.lower(), name.lower()), (target_schema, target))
        except TableAlreadyExistsError as e:
            raise AlreadyExists(f"table {target_schema}.{target} already exists") from e

    # -- views ---------------------------------------------------------------------------
    def _views(self) -> Any:
        import sqlalchemy as sa

        meta = sa.MetaData()
        table = sa.Table(
            VIEWS_TABLE,
            meta,
            sa.Column("catalog_name", sa.String(255), primary_key=True),
            sa.Column("schema_name", sa.String(255), primary_key=True),
            sa.Column("view_name", sa.String(255), primary_key=True),
            sa.Column("sql_text", sa.Text, nullable=False),
            sa.Column("columns_json", sa.Text, nullable=False),
            sa.Column("created_at", sa.Float, nullable=False),
        )
        if not self._views_ready:
            meta.create_all(self.iceberg.engine, checkfirst=True)
            self._views_ready = True
        return table

    def list_views(self, schema: str) -> list[str]:
        import sqlalchemy as sa

        views = self._views()
        with self.iceberg.engine.connect() as conn:
            rows = conn.execute(
                sa.select(views.c.view_name).where(
                    views.c.catalog_name == self.settings.catalog_name,
                    views.c.schema_name == schema.lower(),
                )
            ).all()
        return sorted(r[0] for r in rows)

    def view_exists(self, schema: str, name: str) -> bool:
        return self.get_view(schema, name) is not None

    def get_view(self, schema: str, name: str) -> View | None:
        import json

        import sqlalchemy as sa

        views = self._views()
        with self.iceberg.engine.connect() as conn:
            row = conn.execute(
                sa.select(views).where(
                    views.c.catalog_name == self.settings.catalog_name,
                    views.c.schema_name == schema.lower(),
                    views.c.view_name == name.lower(),
                )
            ).first()
        if row is None:
            return None
        return View(
            schema=row.schema_name,
            name=row.view_name,
            sql=row.sql_text,
            columns=[tuple(c) for c in json.loads(row.columns_json)],  # type: ignore[misc]
            created_at=row.created_at,
        )

    def put_view(
        self, schema: str, name: str, sql: str, columns: list[tuple[str, str]], *, replace: bool
    ) -> None:
        import json

        import sqlalchemy as sa

        low_schema = self.require_schema(schema)
        low = _check_name("view", name)
        if self.table_exists(low_schema, low):
            raise AlreadyExists(f"a table named {low_schema}.{low} already exists")
        views = self._views()
        values = {
            "catalog_name": self.settings.catalog_name,
            "schema_name": low_schema,
            "view_name": low,
            "sql_text": sql,
            "columns_json": json.dumps(columns),
            "created_at": time.time(),
        }
        key = (
            views.c.catalog_name == self.settings.catalog_name,
            views.c.schema_name == low_schema,
            views.c.view_name == low,
        )
        with self.iceberg.engine.begin() as conn:
            exists = conn.execute(sa.select(views.c.view_name).where(*key)).first() is not None
            if exists and not replace:
                raise AlreadyExists(
                    f"view {low_schema}.{low} already exists", hint="use CREATE OR REPLACE VIEW"
                )
            if exists:
                conn.execute(sa.update(views).where(*key).values(**values))
            else:
                conn.execute(sa.insert(views).values(**values))

    def drop_view(self, schema: str, name: str) -> bool:
        import sqlalchemy as sa

        views = self._views()
        with self.iceberg.engine.begin() as conn:
            result = conn.execute(
                sa.delete(views).where(
                    views.c.catalog_name == self.settings.catalog_name,
                    views.c.schema_name == schema.lower(),
                    views.c.view_name == name.lower(),
                )
            )
        return bool(result.rowcount)


def _purge_files(table: Table) -> None:
    io = table.io
    paths: set[str] = set()
    for snapshot in table.metadata.snapshots:
        paths.add(snapshot.manifest_list)
        for manifest in snapshot.manifests(io):
            paths.add(manifest.manifest_path)
            for entry in manifest.fetch_manifest_entry(io, discard_deleted=False):
                paths.add(entry.data_file.file_path)
    paths.update(log.metadata_file for log in table.metadata.metadata_log)
    paths.add(table.metadata_location)
    for path in paths:
        try:
            io.delete(path)
        except Exception:  # noqa: S112 - best effort: the table is already gone from the catalog
            continue
