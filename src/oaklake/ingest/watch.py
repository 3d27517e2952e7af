"""The landing zone: ingest files as they arrive in a folder, like an object-store event
trigger, until stopped.

A file is taken only once it is complete: it must keep the same size and modification time
for ``settle`` seconds (a copy in progress grows), and names that copy tools give unfinished
files (``.part``, ``.tmp``, ``._COPYING_``, hidden files) are never taken. Each file is its own
batch: one commit, its own gate verdict, its own quarantine. A bad file is reported and left
behind (it is retried only if it changes); the watcher goes on. Files already in the ledger are
skipped, so restarting the watcher on the same folder loads nothing twice.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from oaklake.errors import InvalidInput, NotFound, OakError
from oaklake.ingest.sources import FORMATS, is_candidate

if TYPE_CHECKING:
    from oaklake.app import Lake
    from oaklake.ingest.load import IngestOptions, IngestResult

Stamp = tuple[int, int]  # (size, mtime_ns)


@dataclass
class WatchEvent:
    """What happened to one arrived file: ``result`` when it was ingested (loaded, partial,
    skipped or quarantined), ``error`` when it could not be."""

    path: Path
    result: IngestResult | None = None
    error: OakError | None = None


@dataclass
class WatchSummary:
    batches: int = 0
    loaded: int = 0
    skipped: int = 0
    quarantined: int = 0
    failed: int = 0
    rows_loaded: int = 0
    events: list[WatchEvent] = field(default_factory=list)


def _wanted(path: Path, fmt: str | None) -> bool:
    if not is_candidate(path):
        return False
    if fmt:
        return True
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".gzip", ".zst", ".zstd"):
        suffixes.pop()
    return bool(suffixes) and suffixes[-1] in FORMATS


def scan(folder: Path, fmt: str | None, recursive: bool) -> dict[Path, Stamp]:
    """The candidate files now in ``folder`` with their (size, mtime)."""
    found: dict[Path, Stamp] = {}
    iterator = folder.rglob("*") if recursive else folder.iterdir()
    for p in iterator:
        try:
            if not p.is_file() or not _wanted(p, fmt):
                continue
            if recursive and any(
                part.startswith((".", "_")) for part in p.relative_to(folder).parts[:-1]
            ):
                continue
            st = p.stat()
        except OSError:  # removed while we looked
            continue
        found[p] = (st.st_size, st.st_mtime_ns)
    return found


def watch(
    lake: Lake,
    folder: str | os.PathLike[str],
    table: str,
    options: IngestOptions,
    *,
    interval: float = 2.0,
    settle: float | None = None,
    recursive: bool = False,
    stop: threading.Event | None = None,
    max_batches: int | None = None,
    on_event: Callable[[WatchEvent], None] | None = None,
    on_idle: Callable[[], None] | None = None,
) -> WatchSummary:
    """Watch ``folder`` and ingest each completed file into ``table`` until ``stop`` is set,
    ``max_batches`` files were handled, or the process is interrupted (Ctrl-C: the file being
    loaded is left uncommitted and the summary is returned)."""
    from oaklake.ingest.load import ingest

    root = Path(folder).expanduser()
    if not root.exists():
        raise NotFound(f"no such folder: {folder}", code="FILE_NOT_FOUND")
    if not root.is_dir():
        raise InvalidInput(f"{folder} is not a folder; --watch takes the landing folder")
    if interval <= 0:
        raise InvalidInput("--interval must be positive")
    settle_s = interval if settle is None else settle
    if settle_s < 0:
        raise InvalidInput("--settle must not be negative")
    stop = stop or threading.Event()
    summary = WatchSummary()
    first_seen: dict[Path, tuple[Stamp, float]] = {}
    done: dict[Path, Stamp] = {}
    try:
        while not stop.is_set():
            now = time.monotonic()
            current = scan(root, options.read.format, recursive)
            ready: list[Path] = []
            for p, stamp in current.items():
                if done.get(p) == stamp:
                    continue
                seen = first_seen.get(p)
                if seen is None or seen[0] != stamp:
                    first_seen[p] = (stamp, now)
                    if settle_s > 0:
                        continue
                elif now - seen[1] < settle_s:
                    continue
                if stamp[0] == 0:  # created, not written yet
                    continue
                ready.append(p)
            for gone in set(first_seen) - set(current):
                first_seen.pop(gone, None)
            ready.sort(key=lambda p: (current[p][1], str(p)))
            for p in ready:
                if stop.is_set():
                    break
                event = WatchEvent(p)
                try:
                    event.result = ingest(lake, [p], table, options)
                except OakError as e:
                    event.error = e
                done[p] = current[p]
                first_seen.pop(p, None)
                _count(summary, event)
                if on_event is not None:
                    on_event(event)
                if max_batches is not None and summary.batches >= max_batches:
                    return summary
            if on_idle is not None and not ready:
                on_idle()
            stop.wait(interval)
    except KeyboardInterrupt:
        pass
    return summary


def _count(summary: WatchSummary, event: WatchEvent) -> None:
    summary.batches += 1
    summary.events.append(event)
    if event.error is not None:
        summary.failed += 1
        return
    result = event.result
    assert result is not None
    if result.status == "skipped":
        summary.skipped += 1
    elif result.status == "quarantined":
        summary.quarantined += 1
    else:
        summary.loaded += 1
        summary.rows_loaded += result.rows_loaded
