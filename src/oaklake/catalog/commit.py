"""Writing data files and committing them: the one place that uses pyiceberg's semi-private
snapshot API.

Every oaklake write is one Iceberg snapshot: an APPEND when it only adds files, an OVERWRITE when
it also removes some (copy-on-write UPDATE/DELETE/MERGE, and OPTIMIZE: pyiceberg cannot write
Iceberg's REPLACE operation, so compaction is an OVERWRITE marked ``oaklake.operation=optimize``).
pyiceberg's own ``overwrite`` makes two snapshots (delete + append) and ``upsert`` does not scale,
so the files are written here and committed in one go. A commit is compare-and-swap on the
catalog's metadata pointer; a stale commit raises :class:`StaleCommit` so callers can re-plan.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.manifest import DataFile
    from pyiceberg.table import Table


class StaleCommit(Exception):
    """The table moved on since it was read: re-plan against the new snapshot and retry."""


def write_data_files(table: Table, arrow: pa.Table) -> list[DataFile]:
    """Write rows as Parquet data files of ``table`` (partitioned and sized by its spec and
    properties); nothing is committed, so a crash leaves only orphans for VACUUM."""
    from pyiceberg.io.pyarrow import _dataframe_to_data_files

    if arrow.num_rows == 0:
        return []
    arrow = arrow.cast(table.schema().as_arrow())
    return list(
        _dataframe_to_data_files(
            table_metadata=table.metadata, df=arrow, io=table.io, write_uuid=uuid.uuid4()
        )
    )


def commit_files(
    table: Table,
    *,
    added: Iterable[DataFile] = (),
    removed: Iterable[DataFile] = (),
    expected_snapshot_id: int | None,
    properties: dict[str, str] | None = None,
) -> int | None:
    """Commit one snapshot that adds and removes files; return its id.

    ``expected_snapshot_id`` is the snapshot the change was computed from: if the table's current
    snapshot differs, the change may be stale and :class:`StaleCommit` is raised (appends pass
    ``None`` because they never conflict).
    """
    from pyiceberg.exceptions import CommitFailedException, ValidationException

    added = list(added)
    removed = list(removed)
    if not added and not removed:
        return expected_snapshot_id
    current = table.current_snapshot()
    current_id = current.snapshot_id if current is not None else None
    if expected_snapshot_id is not None and current_id != expected_snapshot_id:
        raise StaleCommit(f"table is at snapshot {current_id}, change was planned on {expected_snapshot_id}")
    props = dict(properties or {})
    try:
        with table.transaction() as txn:
            update = txn.update_snapshot(snapshot_properties=props)
            producer: Any = update.overwrite() if removed else update.fast_append()
            with producer as snapshot:
                for f in removed:
                    snapshot.delete_data_file(f)
                for f in added:
                    snapshot.append_data_file(f)
    except (CommitFailedException, ValidationException) as e:
        raise StaleCommit(str(e)) from e
    snap = table.current_snapshot()
    return snap.snapshot_id if snap is not None else None


def delete_files(table: Table, files: Iterable[DataFile]) -> None:
    """Best-effort removal of files written by an attempt that did not commit."""
    for f in files:
        try:
            table.io.delete(f.file_path)
        except Exception:  # noqa: S112 - an orphan left here is VACUUM's to remove
            continue
