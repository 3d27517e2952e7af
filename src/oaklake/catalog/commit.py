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

import contextvars
import functools
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.manifest import DataFile
    from pyiceberg.table import Table


class StaleCommit(Exception):
    """The table moved on since it was read: re-plan against the new snapshot and retry."""


# Summary properties added to every snapshot committed inside ``snapshot_summary(...)``: how
# ingest files its ledger entry in the very commit that loads the batch, whatever path (append,
# overwrite, MERGE) writes it.
_SUMMARY: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "oaklake_snapshot_summary", default=None
)


@contextmanager
def snapshot_summary(properties: dict[str, str]) -> Iterator[None]:
    """Add ``properties`` to the summary of the snapshots committed in this block."""
    token = _SUMMARY.set({**(_SUMMARY.get() or {}), **properties})
    try:
        yield
    finally:
        _SUMMARY.reset(token)


def write_data_files(table: Table, arrow: pa.Table) -> list[DataFile]:
    """Write rows as Parquet data files of ``table`` (partitioned and sized by its spec and
    properties); nothing is committed, so a crash leaves only orphans for VACUUM."""
    from pyiceberg.io.pyarrow import _dataframe_to_data_files

    if arrow.num_rows == 0:
        return []
    arrow = arrow.cast(table.schema().as_arrow())
    if not table.metadata.spec().is_unpartitioned():
        return _write_partitioned(table, arrow)
    return list(
        _dataframe_to_data_files(
            table_metadata=table.metadata, df=arrow, io=table.io, write_uuid=uuid.uuid4()
        )
    )


def _write_partitioned(table: Table, arrow: pa.Table) -> list[DataFile]:
    """pyiceberg's ``_dataframe_to_data_files`` for a partitioned spec, minus its cost.

    pyiceberg filters the whole table once per partition (rows x partitions: 13 s of a 17 s
    MERGE that rewrote 1.1M rows into 480 partitions). Here one single-threaded group-by lists
    each partition's row positions in input order, one ``take`` lays the partitions out one
    after another, and each partition is a zero-copy slice: the same partitions, rows in the
    same order, bin-packed, named and written by pyiceberg's own code as before.
    """
    import itertools

    import numpy as np
    import pyarrow as pa
    from pyiceberg.io.pyarrow import (
        _get_field_from_arrow_table,
        bin_pack_arrow_table,
        pyarrow_to_schema,
        write_file,
    )
    from pyiceberg.partitioning import PartitionFieldValue, PartitionKey
    from pyiceberg.table import DOWNCAST_NS_TIMESTAMP_TO_US_ON_WRITE, TableProperties, WriteTask
    from pyiceberg.utils.config import Config
    from pyiceberg.utils.properties import property_as_int

    metadata = table.metadata
    spec, schema = metadata.spec(), metadata.schema()
    names = [f"_partition_{f.name}" for f in spec.fields]
    keys: dict[str, Any] = {}
    for pf, name in zip(spec.fields, names, strict=True):
        column = schema.find_column_name(pf.source_id)
        if column is None:
            raise ValueError(f"Could not find column name for field ID: {pf.source_id}")
        source_type = schema.find_field(pf.source_id).field_type
        keys[name] = pf.transform.pyarrow_transform(source_type)(
            _get_field_from_arrow_table(arrow, column)
        )
    keys["__oak_pos"] = pa.array(np.arange(arrow.num_rows, dtype=np.int64))
    groups = pa.table(keys).group_by(names, use_threads=False).aggregate([("__oak_pos", "list")])
    positions = groups.column("__oak_pos_list").combine_chunks()
    offsets = positions.offsets.to_pylist()
    laid_out = arrow.take(positions.flatten())
    downcast = Config().get_bool(DOWNCAST_NS_TIMESTAMP_TO_US_ON_WRITE) or False
    task_schema = pyarrow_to_schema(
        arrow.schema,
        name_mapping=schema.name_mapping,
        downcast_ns_timestamp_to_us=downcast,
        format_version=metadata.format_version,
    )
    target_size: int = property_as_int(  # type: ignore[assignment]  # has a default
        properties=metadata.properties,
        property_name=TableProperties.WRITE_TARGET_FILE_SIZE_BYTES,
        default=TableProperties.WRITE_TARGET_FILE_SIZE_BYTES_DEFAULT,
    )
    write_uuid, counter = uuid.uuid4(), itertools.count(0)

    def tasks() -> Any:
        for i, values in enumerate(groups.select(names).to_pylist()):
            key = PartitionKey(
                field_values=[
                    PartitionFieldValue(field=f, value=values[name])
                    for f, name in zip(spec.fields, names, strict=True)
                ],
                partition_spec=spec,
                schema=schema,
            )
            part = laid_out.slice(offsets[i], offsets[i + 1] - offsets[i])
            for batches in bin_pack_arrow_table(part, target_size):
                yield WriteTask(
                    write_uuid=write_uuid,
                    task_id=next(counter),
                    record_batches=batches,
                    partition_key=key,
                    schema=task_schema,
                )

    return list(write_file(io=table.io, table_metadata=metadata, tasks=tasks()))


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
    from pyiceberg.table.snapshots import Operation

    added = list(added)
    removed = list(removed)
    if not added and not removed:
        return expected_snapshot_id
    current = table.current_snapshot()
    current_id = current.snapshot_id if current is not None else None
    if expected_snapshot_id is not None and current_id != expected_snapshot_id:
        raise StaleCommit(
            f"table is at snapshot {current_id}, change was planned on {expected_snapshot_id}"
        )
    props = {**dict(properties or {}), **(_SUMMARY.get() or {})}
    try:
        with table.transaction() as txn:
            update = txn.update_snapshot(snapshot_properties=props)
            producer: Any = (
                _overwrite_class()(operation=Operation.OVERWRITE, transaction=txn, io=table.io,
                                   snapshot_properties=props)
                if removed else update.fast_append()
            )  # fmt: skip
            with producer as snapshot:
                for f in removed:
                    snapshot.delete_data_file(f)
                for f in added:
                    snapshot.append_data_file(f)
    except (CommitFailedException, ValidationException) as e:
        raise StaleCommit(str(e)) from e
    snap = table.current_snapshot()
    return snap.snapshot_id if snap is not None else None


# Up to this many partitions, pyiceberg's manifest pruning for an overwrite is worth its cost.
_PRUNE_PARTITIONS = 32


@functools.cache
def _overwrite_class() -> Any:
    """pyiceberg's overwrite producer (what ``update_snapshot().overwrite()`` builds on a table
    that has a snapshot), minus a cost that grows with the partitions touched.

    To skip manifests that cannot hold a removed file, pyiceberg ORs one predicate per partition
    of the removed files and binds it twice: for a MERGE that rewrote 480 partitions that was
    half of the commit's CPU time. Past ``_PRUNE_PARTITIONS`` partitions every manifest is read
    instead; removed files are found by identity either way, so the snapshot is the same.
    """
    from pyiceberg.expressions import AlwaysTrue
    from pyiceberg.table.update.snapshot import _OverwriteFiles

    class _Overwrite(_OverwriteFiles):
        def _build_delete_files_partition_predicate(self) -> None:
            removed = self._deleted_data_files
            if len({(f.spec_id, f.partition) for f in removed}) <= _PRUNE_PARTITIONS:
                super()._build_delete_files_partition_predicate()
                return
            for spec_id in {f.spec_id for f in removed}:
                self.partition_filters[spec_id] = AlwaysTrue()

    return _Overwrite


def delete_files(table: Table, files: Iterable[DataFile]) -> None:
    """Best-effort removal of files written by an attempt that did not commit."""
    for f in files:
        try:
            table.io.delete(f.file_path)
        except Exception:  # noqa: S112 - an orphan left here is VACUUM's to remove
            continue


def adopt_parquet_files(table: Table, staged: Iterable[str]) -> list[DataFile]:
    """Move Parquet files written elsewhere (with the table's field ids) into the table's data
    folder and describe them as data files, statistics read from their footers. Nothing is
    committed: a crash leaves orphans for VACUUM, never a half-loaded table.

    Only unpartitioned tables: a file of a partitioned table must hold one partition.
    """
    import os
    import shutil
    from pathlib import Path

    from pyiceberg.io.pyarrow import parquet_file_to_data_file

    if not table.metadata.spec().is_unpartitioned():
        raise ValueError("adopt_parquet_files needs an unpartitioned table")
    location = table.location().rstrip("/") + "/data"
    files: list[DataFile] = []
    for path in staged:
        name = f"{uuid.uuid4()}.parquet"
        if location.startswith("file://") or "://" not in location:
            folder = Path(location.removeprefix("file://"))
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / name
            try:
                os.replace(path, target)
            except OSError:  # another file system: copy, then drop the staged file
                shutil.copyfile(path, target)
                os.unlink(path)
            uri = f"file://{target}" if location.startswith("file://") else str(target)
        else:
            uri = f"{location}/{name}"
            output = table.io.new_output(uri)
            with open(path, "rb") as src, output.create(overwrite=False) as dst:
                shutil.copyfileobj(src, dst, 8 << 20)
            os.unlink(path)
        files.append(parquet_file_to_data_file(table.io, table.metadata, uri))
    return files


class StagedTable:
    """What the writers here need of a table (metadata, io, schema, location, name), for a
    table inside a transaction that is not committed yet: a table being created, or one whose
    schema grows in the same commit as its data."""

    def __init__(self, txn: Any) -> None:
        self.txn = txn

    @property
    def metadata(self) -> Any:
        return self.txn.table_metadata

    @property
    def io(self) -> Any:
        return self.txn._table.io

    def schema(self) -> Any:
        return self.txn.table_metadata.schema()

    def location(self) -> str:
        return str(self.txn.table_metadata.location)

    def name(self) -> Any:
        return self.txn._table.name()

    # What planning a scan needs, so that a change can be planned on the staged schema (a MERGE
    # whose new columns are added in the same commit).
    metadata_location = None  # no metadata file yet: plans are not cached

    @property
    def catalog(self) -> Any:
        return self.txn._table.catalog

    def current_snapshot(self) -> Any:
        return self.txn.table_metadata.current_snapshot()

    def scan(self, **options: Any) -> Any:
        from pyiceberg.table import DataScan

        return DataScan(table_metadata=self.txn.table_metadata, io=self.io, **options)


def add_columns(txn: Any, columns: Iterable[tuple[str, Any]]) -> None:
    """Stage Iceberg add-column updates in ``txn`` (committed with the data)."""
    with txn.update_schema(case_sensitive=False) as update:
        for name, itype in columns:
            update.add_column(name, itype)


def stage_files(
    txn: Any,
    *,
    added: Iterable[DataFile] = (),
    removed: Iterable[DataFile] = (),
    properties: dict[str, str] | None = None,
) -> None:
    """Stage one snapshot that adds and removes files in ``txn`` (``commit_transaction``
    commits it together with the transaction's other updates)."""
    from pyiceberg.table.snapshots import Operation

    removed = list(removed)
    props = {**dict(properties or {}), **(_SUMMARY.get() or {})}
    producer: Any = (
        _overwrite_class()(operation=Operation.OVERWRITE, transaction=txn, io=txn._table.io,
                           snapshot_properties=props)
        if removed else txn.update_snapshot(snapshot_properties=props).fast_append()
    )  # fmt: skip
    with producer as snapshot:
        for f in removed:
            snapshot.delete_data_file(f)
        for f in added:
            snapshot.append_data_file(f)


def commit_transaction(txn: Any) -> Table:
    """Commit a transaction; a concurrent change it cannot absorb is :class:`StaleCommit`."""
    from pyiceberg.exceptions import CommitFailedException, ValidationException

    try:
        table: Table = txn.commit_transaction()
    except (CommitFailedException, ValidationException) as e:
        raise StaleCommit(str(e)) from e
    return table
