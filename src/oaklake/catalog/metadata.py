"""Athena's ``"t$…"`` metadata tables, as Arrow tables with Athena's (Trino's) column names."""

from __future__ import annotations

from typing import TYPE_CHECKING

from oaklake.errors import NotSupported

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.table import Table

METADATA_TABLES = ("snapshots", "history", "files", "manifests", "partitions", "refs")


def metadata_table(table: Table, kind: str, snapshot_id: int | None = None) -> pa.Table:
    """One metadata table of ``table``; ``kind`` is the part after ``$``."""
    import pyarrow as pa

    inspect = table.inspect
    if kind == "snapshots":
        return inspect.snapshots()
    if kind == "history":
        return inspect.history()
    if kind == "refs":
        return inspect.refs()
    if kind == "files":
        files = inspect.files(snapshot_id)  # every column even before the first snapshot
        return (
            files.drop_columns(["readable_metrics"])
            if "readable_metrics" in files.column_names
            else files
        )
    if kind == "manifests":
        # inspect.manifests() reads the current snapshot only; FOR VERSION AS OF needs its own.
        snapshot = (
            table.metadata.snapshot_by_id(snapshot_id)
            if snapshot_id is not None
            else table.current_snapshot()
        )
        manifests = inspect._generate_manifests_table(snapshot)
        listed = snapshot.manifests(table.io) if snapshot is not None else []
        for column in ("added_rows_count", "existing_rows_count", "deleted_rows_count"):  # Trino's
            values = [getattr(m, column) for m in listed]
            manifests = manifests.append_column(column, pa.array(values, pa.int64()))
        return manifests
    if kind == "partitions":
        if table.current_snapshot() is None and snapshot_id is None:
            return pa.table({"record_count": pa.array([], pa.int64())})
        parts = inspect.partitions(snapshot_id)
        # Trino/Athena call the data size total_size.
        if "total_data_file_size_in_bytes" in parts.column_names:
            parts = parts.append_column("total_size", parts["total_data_file_size_in_bytes"])
        return parts
    raise NotSupported(
        f"unknown metadata table ${kind}",
        hint="available: " + ", ".join("$" + k for k in METADATA_TABLES),
    )
