"""Where a batch that failed its gate goes: ``quarantine/<db>.<table>/<timestamp>/``.

The folder holds copies of the batch's files (the originals are left where they were: nothing
is lost), ``report.json`` (what was ingested, the quality result, which rules failed) and, when
the rules have row-level outcomes, ``rows.parquet``: every row with Glue's
``DataQualityRulesPass/Fail/Skip`` and ``DataQualityEvaluationResult`` columns. With
``--on-fail quarantine-rows`` only the failing rows go there.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

    from oaklake.config import Settings
    from oaklake.ingest.sources import SourceFile

DEFAULT_FOLDER = "quarantine"


def root(settings: Settings) -> Path:
    """The quarantine folder: ``[ingest] quarantine = "…"`` in oaklake.toml, relative to the
    workspace, or ``quarantine/`` beside ``oaklake.toml``."""
    section = settings.extra.get("ingest") or {}
    configured = section.get("quarantine") if isinstance(section, dict) else None
    folder = Path(str(configured or DEFAULT_FOLDER)).expanduser()
    return folder if folder.is_absolute() else settings.root / folder


def new_folder(settings: Settings, table: str, at: dt.datetime | None = None) -> Path:
    moment = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    stamp = moment.strftime("%Y%m%dT%H%M%S.%fZ")
    base = root(settings) / table
    folder = base / stamp
    n = 1
    while folder.exists():  # two quarantines in the same microsecond
        folder = base / f"{stamp}-{n}"
        n += 1
    folder.mkdir(parents=True)
    return folder


def quarantine(
    settings: Settings,
    table: str,
    *,
    files: list[SourceFile],
    report: dict[str, Any],
    rows: pa.Table | None = None,
    copy_files: bool = True,
) -> Path:
    """Write the quarantine folder and return it. Written under a temporary name and renamed
    when complete, so a reader never sees half a quarantine."""
    final = new_folder(settings, table)
    work = final.with_name(final.name + ".partial")
    final.rmdir()
    work.mkdir()
    try:
        if copy_files:
            target = work / "files"
            target.mkdir()
            used: set[str] = set()
            for i, f in enumerate(files):
                name = f.name if f.name not in used else f"{i:04d}-{f.name}"
                used.add(name)
                shutil.copy2(f.path, target / name)
        if rows is not None:
            import pyarrow.parquet as pq

            pq.write_table(rows, work / "rows.parquet", compression="zstd")
        (work / "report.json").write_text(
            json.dumps(report, indent=2, sort_keys=True, default=str, ensure_ascii=False) + "\n",
            encoding="utf-8",
        )
        os.replace(work, final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return final
