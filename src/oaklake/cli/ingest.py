"""``oaklake ingest``: files into a table through its quality gate (``Lake.ingest``), and
``--watch`` for a landing folder."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any, TextIO

import click

from oaklake.cli import fail, workspace_option
from oaklake.errors import InvalidInput

_PROGRESS_BYTES = 32 * 1024 * 1024  # below this a progress bar only flickers


@click.command("ingest")
@click.argument("paths", nargs=-1)
@click.option(
    "--table", "-t", "table", default=None, help="Target table DB.TABLE (created if missing)."
)
@click.option(
    "--mode",
    default="append",
    show_default=True,
    type=click.Choice(["append", "overwrite", "merge"]),
    help="append; overwrite (the whole table, or --partitions); merge on --key.",
)
@click.option("--key", default=None, help="Merge key column(s), comma-separated (--mode merge).")
@click.option(
    "--delete-when",
    default=None,
    help="Merge: delete matched rows where this predicate holds (CDC), e.g. \"op = 'D'\".",
)
@click.option(
    "--partitions",
    is_flag=True,
    help="Overwrite only the partitions present in the batch (--mode overwrite).",
)
@click.option("--evolve", is_flag=True, help="Add the batch's new columns to the table.")
@click.option(
    "--rules",
    default=None,
    help="DQDL file for the gate (default: the table's attached ruleset, if any).",
)
@click.option(
    "--on-fail",
    default="quarantine",
    show_default=True,
    type=click.Choice(["quarantine", "quarantine-rows"]),
    help="quarantine the batch, or commit passing rows and quarantine failing ones.",
)
@click.option("--force", is_flag=True, help="Load files even if the ledger has them already.")
@click.option("--schema", "schema", default=None, help="DDL file with the new table's columns.")
@click.option(
    "--partition-by", default=None, help='New table partitioning, e.g. "day(ts), bucket(16, id)".'
)
@click.option(
    "--format", "fmt", default=None, help="csv, tsv, json, jsonl or parquet (default: by suffix)."
)
@click.option(
    "--delimiter", default=None, help="CSV field delimiter (default ',' or tab for .tsv)."
)
@click.option("--no-header", is_flag=True, help="CSV files have no header row.")
@click.option("--quote", default='"', show_default=True, help="CSV quote character.")
@click.option("--escape", default=None, help="CSV escape character (default: the quote).")
@click.option("--encoding", default="utf-8", show_default=True, help="utf-8, utf-16 or latin-1.")
@click.option("--null", "null", default="", help="CSV text that means NULL (default: empty).")
@click.option("--max-line-size", type=int, default=None, help="Longest CSV line in bytes (2 MiB).")
@click.option(
    "--sample-rows", type=int, default=None, help="Rows sampled to infer types (-1: all)."
)
@click.option("--date-format", default=None, help="strptime format of CSV dates, e.g. %d/%m/%Y.")
@click.option("--timestamp-format", default=None, help="strptime format of CSV timestamps.")
@click.option(
    "--context", default="ingest", show_default=True, help="Evaluation context of the gate."
)
@click.option("--no-notify", is_flag=True, help="Do not announce quarantines to [notify] sinks.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option(
    "--watch", "watch_dir", default=None, help="Watch this folder and ingest files as they arrive."
)
@click.option(
    "--interval", type=float, default=2.0, show_default=True, help="--watch: seconds between looks."
)
@click.option(
    "--settle",
    type=float,
    default=None,
    help="--watch: seconds a file must stay unchanged (default: --interval).",
)
@click.option("--recursive", is_flag=True, help="--watch: also look in sub-folders.")
@click.option("--max-batches", type=int, default=None, help="--watch: stop after this many files.")
@workspace_option
def ingest(
    paths: tuple[str, ...],
    table: str | None,
    mode: str,
    key: str | None,
    delete_when: str | None,
    partitions: bool,
    evolve: bool,
    rules: str | None,
    on_fail: str,
    force: bool,
    schema: str | None,
    partition_by: str | None,
    fmt: str | None,
    delimiter: str | None,
    no_header: bool,
    quote: str,
    escape: str | None,
    encoding: str,
    null: str,
    max_line_size: int | None,
    sample_rows: int | None,
    date_format: str | None,
    timestamp_format: str | None,
    context: str,
    no_notify: bool,
    as_json: bool,
    watch_dir: str | None,
    interval: float,
    settle: float | None,
    recursive: bool,
    max_batches: int | None,
    workspace: Path | None,
) -> None:
    """Load CSV/TSV, JSON/JSON Lines or Parquet files (paths, globs, folders; .gz/.zst) into
    an Iceberg table through its quality gate, as one commit.

    Exit codes: 0 loaded (or skipped: already in the ledger), 1 the gate failed and the batch
    was quarantined, 2 bad input (nothing committed), 3 internal error.
    """
    try:
        if table is None:
            raise InvalidInput("--table is required", hint="oaklake ingest data.csv --table db.t")
        if watch_dir is not None and paths:
            raise InvalidInput("give files or --watch FOLDER, not both")
        if watch_dir is None and not paths:
            raise InvalidInput("no files to ingest", hint="oaklake ingest data/*.csv --table db.t")
        options = dict(
            mode=mode, key=key, delete_when=delete_when, partitions=partitions, evolve=evolve,
            rules=rules, on_fail=on_fail, force=force, schema=schema, partition_by=partition_by,
            context=context, notify=not no_notify, format=fmt, delimiter=delimiter,
            header=not no_header, quote=quote, escape=escape, encoding=encoding, null=null,
            max_line_size=max_line_size, sample_rows=sample_rows, date_format=date_format,
            timestamp_format=timestamp_format,
        )  # fmt: skip
        from oaklake.app import connect

        lake = connect(workspace)
        if watch_dir is not None:
            _watch(
                lake, watch_dir, table, options, interval, settle, recursive, max_batches, as_json
            )
            return
        with _progress(paths) as progress:
            result = lake.ingest(list(paths), table, progress=progress, **options)
    except Exception as e:
        raise fail(e) from None
    if as_json:
        click.echo(json.dumps(result.to_dict(), sort_keys=True, default=str))
    else:
        write_summary(result)
    if result.exit_code:
        raise click.exceptions.Exit(result.exit_code)


def write_summary(result: Any, out: TextIO | None = None) -> None:
    """The human summary of one ingest."""
    out = out or sys.stdout
    names = [Path(f).name for f in result.files]
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    q = result.quality
    if result.status == "skipped":
        skipped = ", ".join(Path(f).name for f in result.skipped_files)
        out.write(
            f"skipped: {skipped} already loaded into {result.table} (same content); "
            "--force loads it again\n"
        )
        return
    if result.status == "quarantined":
        failed = [r for r in q.rules if r.outcome != "Passed"] if q is not None else []
        out.write(
            f"QUARANTINED: the batch failed {len(failed)} of {len(q.rules) if q else 0} rules; "
            f"nothing was committed to {result.table}\n"
        )
        for r in failed:
            reason = f": {r.failure_reason}" if r.failure_reason else ""
            out.write(f"  {r.outcome.upper()} {r.rule}{reason}\n")
        out.write(f"  files: {len(names)} ({shown}), rows read: {result.rows_read}\n")
        out.write(f"  quarantine: {result.quarantine}\n")
        return
    verb = "created and loaded" if result.created_table else "loaded"
    out.write(
        f"{verb} {result.table}: {result.rows_loaded} rows in {result.seconds:.2f} s "
        f"(snapshot {result.snapshot_id})\n"
    )
    out.write(
        f"  files: {len(names)} ({shown})\n"
        f"  rows read: {result.rows_read}, loaded: {result.rows_loaded}, "
        f"rejected: {result.rows_rejected}\n"
    )
    if result.skipped_files:
        out.write(f"  skipped (already loaded): {len(result.skipped_files)} file(s)\n")
    if result.evolved_columns:
        out.write(f"  new columns: {', '.join(result.evolved_columns)}\n")
    if result.changes:
        out.write("  changes: " + ", ".join(f"{k} {v}" for k, v in result.changes.items()) + "\n")
    if q is not None:
        passed = sum(1 for r in q.rules if r.outcome == "Passed")
        out.write(f"  quality: score {q.score:.2f} ({passed} of {len(q.rules)} rules passed)\n")
    if result.status == "partial":
        out.write(f"  {result.rows_rejected} failing row(s) quarantined in {result.quarantine}\n")


class _progress:
    """A rich progress bar on a terminal for large batches; nothing otherwise."""

    def __init__(self, paths: tuple[str, ...]) -> None:
        self.paths = paths
        self.bar: Any = None
        self.task: Any = None

    def __enter__(self) -> Any:
        if not sys.stderr.isatty() or _size(self.paths) < _PROGRESS_BYTES:
            return None
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            transient=True,
        )
        self.bar.start()
        self.task = self.bar.add_task("reading", total=1.0)

        def update(phase: str, fraction: float | None) -> None:
            if fraction is None:
                self.bar.update(self.task, description=phase)
            else:
                self.bar.update(self.task, description=phase, completed=fraction)

        return update

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _size(paths: tuple[str, ...]) -> int:
    total = 0
    for p in paths:
        path = Path(p)
        try:
            if path.is_file():
                total += path.stat().st_size
            elif path.is_dir():
                total += sum(q.stat().st_size for q in path.rglob("*") if q.is_file())
        except OSError:
            continue
    return total


def _watch(
    lake: Any,
    folder: str,
    table: str,
    options: dict[str, Any],
    interval: float,
    settle: float | None,
    recursive: bool,
    max_batches: int | None,
    as_json: bool,
) -> None:
    from oaklake.ingest.watch import WatchEvent

    def on_event(event: WatchEvent) -> None:
        if as_json:
            body: dict[str, Any] = {"file": str(event.path)}
            if event.result is not None:
                body["result"] = event.result.to_dict()
            if event.error is not None:
                body["error"] = event.error.to_dict()
            click.echo(json.dumps(body, sort_keys=True, default=str))
            return
        if event.error is not None:
            from oaklake.cli.render import error_text

            click.echo(f"{event.path.name}: not loaded", err=False)
            sys.stderr.write(error_text(event.error) + "\n")
            return
        assert event.result is not None
        click.echo(f"{event.path.name}:")
        write_summary(event.result)

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    if not as_json:
        sys.stderr.write(f"watching {folder} for {table} (Ctrl-C stops)\n")
    try:
        summary = lake.ingest_watch(
            folder, table, interval=interval, settle=settle, recursive=recursive,
            max_batches=max_batches, on_event=on_event, **options,
        )  # fmt: skip
    finally:
        signal.signal(signal.SIGTERM, previous)
    if not as_json:
        sys.stderr.write(
            f"stopped: {summary.batches} file(s): {summary.loaded} loaded, "
            f"{summary.skipped} skipped, {summary.quarantined} quarantined, "
            f"{summary.failed} refused; {summary.rows_loaded} rows\n"
        )
