"""Snapshot expiry and file reachability, for VACUUM.

pyiceberg can drop snapshots from the metadata but deletes no file, and has no orphan removal:
both are here. A file is deleted only when no kept snapshot reaches it. Files that only expired
snapshots reached were committed once, so they go at once; files nothing ever reached (left by a
crashed or in-flight writer) go only once they are older than the safety window.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oaklake.errors import NotSupported

if TYPE_CHECKING:
    from pyiceberg.table import Table


@dataclass
class VacuumReport:
    expired_snapshots: list[int] = field(default_factory=list)
    deleted_data_files: int = 0
    deleted_manifests: int = 0
    deleted_metadata_files: int = 0
    deleted_orphans: int = 0
    bytes_freed: int = 0


def _local(path: str) -> str:
    return path[len("file://") :] if path.startswith("file://") else path


def reachable(table: Table, snapshot_ids: set[int] | None = None) -> dict[str, set[str]]:
    """Files the given snapshots (all of them by default) reach, by kind."""
    io = table.io
    out: dict[str, set[str]] = {"data": set(), "manifest": set(), "metadata": set()}
    seen_manifests: set[str] = set()
    for snap in table.metadata.snapshots:
        if snapshot_ids is not None and snap.snapshot_id not in snapshot_ids:
            continue
        out["manifest"].add(_local(snap.manifest_list))
        for manifest in snap.manifests(io):
            path = _local(manifest.manifest_path)
            out["manifest"].add(path)
            if path in seen_manifests:
                continue
            seen_manifests.add(path)
            for entry in manifest.fetch_manifest_entry(io, discard_deleted=True):
                out["data"].add(_local(entry.data_file.file_path))
    if snapshot_ids is None:
        out["metadata"].add(_local(table.metadata_location))
        out["metadata"].update(_local(m.metadata_file) for m in table.metadata.metadata_log)
        for stats in getattr(table.metadata, "statistics", []) or []:
            out["metadata"].add(_local(stats.statistics_path))
    return out


def expire_snapshots(table: Table, *, older_than_ms: int, min_to_keep: int) -> list[int]:
    """Expire snapshots older than the cut-off, keeping the newest ``min_to_keep`` and every
    branch or tag head (the current snapshot always stays)."""
    snaps = sorted(table.metadata.snapshots, key=lambda s: s.timestamp_ms, reverse=True)
    protected = {ref.snapshot_id for ref in table.metadata.refs.values()}
    keep = {s.snapshot_id for s in snaps[: max(min_to_keep, 1)]} | protected
    expire = [
        s.snapshot_id for s in snaps if s.snapshot_id not in keep and s.timestamp_ms < older_than_ms
    ]
    if expire:
        table.maintenance.expire_snapshots().by_ids(expire).commit()
        table.refresh()
    return expire


def _listing(table: Table) -> list[tuple[str, float, int]]:
    location = table.location()
    if "://" in location and not location.startswith("file://"):
        raise NotSupported(
            "VACUUM's orphan-file removal needs a local warehouse for now",
            hint="expire snapshots with Spark's or Trino's maintenance procedures meanwhile",
        )
    root = Path(_local(location))
    out = []
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue
            out.append((path, st.st_mtime, st.st_size))
    return out


def vacuum(
    table: Table,
    *,
    max_snapshot_age_s: int,
    min_snapshots_to_keep: int,
    orphan_age_s: int | None = None,
) -> VacuumReport:
    """Expire snapshots, then delete every file no kept snapshot or metadata file reaches."""
    report = VacuumReport()
    now = time.time()
    before = reachable(table)
    report.expired_snapshots = expire_snapshots(
        table,
        older_than_ms=int((now - max_snapshot_age_s) * 1000),
        min_to_keep=min_snapshots_to_keep,
    )
    after = reachable(table)
    live = after["data"] | after["manifest"] | after["metadata"]
    freed = (before["data"] | before["manifest"]) - live
    window = max_snapshot_age_s if orphan_age_s is None else orphan_age_s
    for path, mtime, size in _listing(table):
        if path in live:
            continue
        if path in freed:
            kind = "data" if path in before["data"] else "manifest"
        elif now - mtime >= window:
            kind = "orphan"
        else:
            continue  # maybe a writer's files not committed yet: leave them be
        try:
            os.remove(path)
        except FileNotFoundError:
            continue
        report.bytes_freed += size
        if kind == "data":
            report.deleted_data_files += 1
        elif kind == "manifest":
            report.deleted_manifests += 1
        elif path.endswith(".metadata.json"):
            report.deleted_metadata_files += 1
        else:
            report.deleted_orphans += 1
    _remove_empty_folders(Path(_local(table.location())) / "data")
    return report


def _remove_empty_folders(root: Path) -> None:
    if not root.is_dir():
        return
    for folder, dirs, files in os.walk(root, topdown=False):
        if not dirs and not files and Path(folder) != root:
            try:
                os.rmdir(folder)
            except OSError:
                continue


def as_rows(report: VacuumReport) -> list[tuple[str, Any]]:
    return [
        ("expired_snapshots", len(report.expired_snapshots)),
        ("deleted_data_files", report.deleted_data_files),
        ("deleted_manifest_files", report.deleted_manifests),
        ("deleted_metadata_files", report.deleted_metadata_files),
        ("deleted_orphan_files", report.deleted_orphans),
        ("bytes_freed", report.bytes_freed),
    ]
