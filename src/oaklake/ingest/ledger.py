"""The load ledger: which file (by content) went into which table, and the snapshot it made.

The truth is written where it cannot drift from the data: the snapshot that loads a batch
carries the batch's files and checksums in its summary (``oaklake.ingest.*``), in the same
atomic commit. ``oaklake_system.ingest_ledger`` is the queryable copy, appended right after;
if a process dies between the two, the next ingest into that table copies the missing
entries from the snapshot summaries first (and the copy outlives snapshot expiry).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.table import Table

    from oaklake.app import Lake

SYSTEM_SCHEMA = "oaklake_system"
LEDGER_TABLE = "ingest_ledger"
LEDGER = f"{SYSTEM_SCHEMA}.{LEDGER_TABLE}"
BATCH_KEY = "oaklake.ingest.batch-id"
FILES_KEY = "oaklake.ingest.files"
MODE_KEY = "oaklake.ingest.mode"
COLUMNS_DDL = (
    "batch_id string, table_name string, table_uuid string, file_path string, "
    "file_name string, sha256 string, size_bytes bigint, mode string, snapshot_id bigint, "
    "batch_rows bigint, ingested_at timestamp"
)


@dataclass(frozen=True)
class LedgerFile:
    path: str
    sha256: str
    size: int

    def to_list(self) -> list[Any]:
        return [self.path, self.sha256, self.size]


def summary(batch_id: str, mode: str, files: list[LedgerFile]) -> dict[str, str]:
    """The snapshot summary properties that record a batch in its own commit."""
    return {
        BATCH_KEY: batch_id,
        MODE_KEY: mode,
        FILES_KEY: json.dumps([f.to_list() for f in files], separators=(",", ":")),
    }


def _schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("batch_id", pa.string()),
            pa.field("table_name", pa.string()),
            pa.field("table_uuid", pa.string()),
            pa.field("file_path", pa.string()),
            pa.field("file_name", pa.string()),
            pa.field("sha256", pa.string()),
            pa.field("size_bytes", pa.int64()),
            pa.field("mode", pa.string()),
            pa.field("snapshot_id", pa.int64()),
            pa.field("batch_rows", pa.int64()),
            pa.field("ingested_at", pa.timestamp("us")),
        ]
    )


class Ledger:
    """The ledger of one workspace."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake

    def _table(self, create: bool) -> Table | None:
        catalog = self.lake.catalog
        engine = self.lake.engine
        if not catalog.table_exists(SYSTEM_SCHEMA, LEDGER_TABLE):
            if not create:
                return None
            catalog.create_schema(SYSTEM_SCHEMA, if_not_exists=True)
            self.lake.sql(f"CREATE TABLE IF NOT EXISTS {LEDGER} ({COLUMNS_DDL})")
        engine.forget_table(SYSTEM_SCHEMA, LEDGER_TABLE)
        return engine.load_table(SYSTEM_SCHEMA, LEDGER_TABLE)

    def known(self, table: Table, checksums: list[str]) -> dict[str, dict[str, Any]]:
        """Which of ``checksums`` were loaded into ``table`` before: checksum -> entry."""
        if not checksums:
            return {}
        found: dict[str, dict[str, Any]] = {}
        for entry in self.from_summaries(table):
            if entry["sha256"] in checksums:
                found.setdefault(entry["sha256"], entry)
        ledger = self._table(create=False)
        if ledger is not None and ledger.current_snapshot() is not None:
            listed = ", ".join("'" + c + "'" for c in set(checksums) if c.isalnum())
            rows = self.lake.engine.execute(
                f"SELECT sha256, file_path, snapshot_id, batch_id, ingested_at FROM {LEDGER} "
                f"WHERE table_uuid = '{table.metadata.table_uuid}' AND sha256 IN ({listed}) "
                "ORDER BY ingested_at"
            ).rows
            for sha, path, snap, batch, at in rows:
                found.setdefault(
                    sha,
                    {"sha256": sha, "file_path": path, "snapshot_id": snap, "batch_id": batch,
                     "ingested_at": at},
                )  # fmt: skip
        return found

    @staticmethod
    def from_summaries(table: Table) -> list[dict[str, Any]]:
        """The batches recorded in the table's snapshot summaries (the truth the ledger
        table copies)."""
        entries: list[dict[str, Any]] = []
        for snap in table.metadata.snapshots:
            props = snap.summary.additional_properties if snap.summary else {}
            if BATCH_KEY not in props:
                continue
            try:
                files = json.loads(props.get(FILES_KEY, "[]"))
            except ValueError:
                continue
            rows = props.get("added-records")
            for path, sha, size in files:
                entries.append(
                    {
                        "batch_id": props[BATCH_KEY],
                        "file_path": path,
                        "sha256": sha,
                        "size_bytes": int(size),
                        "mode": props.get(MODE_KEY, ""),
                        "snapshot_id": snap.snapshot_id,
                        "batch_rows": int(rows) if rows is not None else None,
                        "ingested_at": dt.datetime.fromtimestamp(
                            snap.timestamp_ms / 1000, tz=dt.UTC
                        ).replace(tzinfo=None),
                    }
                )
        return entries

    def record(self, table: Table, full_name: str, entries: list[dict[str, Any]]) -> None:
        """Append entries (dicts with the ledger's columns but the table's)."""
        if not entries:
            return
        import pyarrow as pa

        ledger = self._table(create=True)
        assert ledger is not None
        rows = [
            {**e, "table_name": full_name, "table_uuid": str(table.metadata.table_uuid),
             "file_name": e["file_path"].rsplit("/", 1)[-1]}
            for e in entries
        ]  # fmt: skip
        self.lake.table(LEDGER).append(pa.Table.from_pylist(rows, schema=_schema()))

    def repair(self, table: Table, full_name: str) -> int:
        """Copy batches that reached the table but not the ledger (a process died between the
        two commits); return how many entries were added."""
        summaries = self.from_summaries(table)
        if not summaries:
            return 0
        ledger = self._table(create=False)
        recorded: set[str] = set()
        if ledger is not None and ledger.current_snapshot() is not None:
            batches = ", ".join("'" + b + "'" for b in {e["batch_id"] for e in summaries})
            recorded = {
                r[0]
                for r in self.lake.engine.execute(
                    f"SELECT DISTINCT batch_id FROM {LEDGER} WHERE batch_id IN ({batches})"
                ).rows
            }
        missing = [e for e in summaries if e["batch_id"] not in recorded]
        self.record(table, full_name, missing)
        return len(missing)
