"""``oaklake dq``: data quality commands, thin adapters over ``Lake.dq_*``.

Exit codes of ``dq run``: 0 every rule passed, 1 a rule failed (or errored), 2 bad input (nothing
is recorded then), 3 internal error. Only click is imported at start-up; the rest when a command
runs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from oaklake.cli import _Group, _lake, fail, workspace_option
from oaklake.errors import InvalidInput

if TYPE_CHECKING:
    from oaklake.quality.results import DqResult

RUN_FORMATS = ("text", "json")
HISTORY_FORMATS = ("table", "csv", "json", "jsonl")


def _dataset_options(fn: Any) -> Any:
    for option in reversed(
        (
            click.option("--table", "-t", default=None, help="Check an Iceberg table (DB.TABLE)."),
            click.option(
                "--version",
                "version",
                default=None,
                help="With --table: the snapshot id to check (time travel).",
            ),
            click.option("--sql", "sql", default=None, help="Check the rows of a SELECT query."),
            click.option(
                "--file",
                "-f",
                "file",
                default=None,
                help="Check a file: .csv, .tsv, .json, .jsonl or .parquet (globs, folders).",
            ),
        )
    ):
        fn = option(fn)
    return fn


@click.group(cls=_Group)
def dq() -> None:
    """Data quality: run DQDL rules, recommend rules, history, attached rulesets."""


@dq.command("run")
@click.option(
    "--rules",
    "-r",
    "rules",
    type=click.Path(path_type=Path),
    default=None,
    help="The DQDL file (default: the ruleset attached to --table).",
)
@_dataset_options
@click.option(
    "--ref",
    "refs",
    multiple=True,
    metavar="NAME=DB.T|PATH",
    help="A reference dataset the rules name (repeatable).",
)
@click.option(
    "--context",
    default="default",
    show_default=True,
    help="Evaluation context: history (dynamic rules, anomalies) is kept per context.",
)
@click.option(
    "--composite",
    default="dataset",
    show_default=True,
    help="How (A) and (B) combine: 'dataset' (rule outcomes) or 'row' (per row).",
)
@click.option(
    "--row-level",
    "row_level",
    default=None,
    metavar="OUT",
    help="Write per-row outcomes to a .parquet/.csv/.jsonl file or a table DB.T.",
)
@click.option("--format", "fmt", default="text", show_default=True, help="text or json.")
@click.option("--no-notify", is_flag=True, help="Do not announce failures to [notify] sinks.")
@workspace_option
def run(
    rules: Path | None,
    table: str | None,
    version: str | None,
    sql: str | None,
    file: str | None,
    refs: tuple[str, ...],
    context: str,
    composite: str,
    row_level: str | None,
    fmt: str,
    no_notify: bool,
    workspace: Path | None,
) -> None:
    """Check a table, query or file against DQDL rules and record the run.

    Exit codes: 0 every rule passed, 1 a rule failed, 2 bad input (nothing recorded).
    """
    from oaklake.quality.run import RowLevelWriteFailed

    try:
        if fmt not in RUN_FORMATS:
            raise InvalidInput(f"unknown format {fmt!r}", hint="use text or json")
        lake = _lake(workspace)
        try:
            result = lake.dq_run(
                rules,
                table=table,
                version=version,
                sql=sql,
                file=file,
                refs=list(refs),
                context=context,
                composite=composite,
                row_level=row_level,
                notify=not no_notify,
            )
        finally:
            lake.close()
    except RowLevelWriteFailed as e:
        write_run(e.result, fmt)
        raise fail(e) from None
    except Exception as e:
        raise fail(e) from None
    write_run(result, fmt)
    raise click.exceptions.Exit(0 if result.passed else 1)


def write_run(result: DqResult, fmt: str, out: TextIO | None = None) -> None:
    out = out if out is not None else sys.stdout
    if fmt == "json":
        out.write(result.to_json() + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(file=out, width=max(Console().width, 100), soft_wrap=False)
    styles = {"Passed": "green", "Failed": "red", "Error": "yellow"}
    table = Table(show_header=True, header_style="bold")
    table.add_column("rule", overflow="fold")
    table.add_column("outcome")
    table.add_column("reason", overflow="fold")
    for r in result.rules:
        table.add_row(
            r.rule, f"[{styles.get(r.outcome, '')}]{r.outcome}[/]", r.failure_reason or ""
        )
    if result.rules:
        console.print(table)
    for o in result.observations:
        console.print(
            f"anomaly {o.metric}: {o.description} (actual {o.actual:g}, expected "
            f"{o.expected:g}, between {o.lower:g} and {o.upper:g})",
            markup=False,
        )
    passed = sum(r.outcome == "Passed" for r in result.rules)
    console.print(
        f"score {result.score:.2f} ({passed} of {len(result.rules)} rules passed) · "
        f"{result.dataset} · {result.rows_processed} rows · run {result.run_id}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


@dq.command("recommend")
@_dataset_options
@click.option(
    "--output",
    "-o",
    "output",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the ruleset to this file instead of standard output.",
)
@workspace_option
def recommend(
    table: str | None,
    version: str | None,
    sql: str | None,
    file: str | None,
    output: Path | None,
    workspace: Path | None,
) -> None:
    """Recommend a DQDL ruleset from the data's profile (a starting point to edit)."""
    try:
        lake = _lake(workspace)
        try:
            text = lake.dq_recommend(
                table=table, version=version, sql=sql, file=file, output=output
            )
        finally:
            lake.close()
    except Exception as e:
        raise fail(e) from None
    if output is None:
        click.echo(text.rstrip("\n"))
    else:
        sys.stderr.write(f"ruleset written to {output}\n")


@dq.command("history")
@click.argument("table")
@click.option("--limit", type=int, default=None, help="Only the latest N runs.")
@click.option(
    "--format", "fmt", default="table", show_default=True, help="table, csv, json or jsonl."
)
@workspace_option
def history(table: str, limit: int | None, fmt: str, workspace: Path | None) -> None:
    """The recorded quality runs of a table, newest first (oaklake_system.dq_runs)."""
    from oaklake.cli.render import write_result

    try:
        if fmt not in HISTORY_FORMATS:
            raise InvalidInput(
                f"unknown format {fmt!r}", hint="use one of " + ", ".join(HISTORY_FORMATS)
            )
        lake = _lake(workspace)
        try:
            result = lake.dq_history(table, limit=limit)
        finally:
            lake.close()
    except Exception as e:
        raise fail(e) from None
    if result.table is not None and result.table.num_rows == 0:
        if fmt == "json":
            click.echo("[]")
        elif fmt == "table":
            click.echo(result.message)
        return
    if fmt == "table":
        write_history_table(result)
    else:
        write_result(result, fmt)


def write_history_table(result: Any, out: TextIO | None = None) -> None:
    """The runs at a glance (the csv/json formats carry every column)."""
    from rich.console import Console
    from rich.table import Table

    out = out if out is not None else sys.stdout
    table = Table(show_header=True, header_style="bold")
    for name in ("started_at (UTC)", "run_id", "context", "score", "passed", "rows", "anomalies"):
        table.add_column(name, overflow="fold")
    for row in result.table.to_pylist():
        table.add_row(
            row["started_at"].isoformat(sep=" ", timespec="seconds"),
            row["run_id"],
            row["context"],
            f"{row['score']:.2f}",
            f"{row['rules_passed']}/{row['rules_total']}",
            str(row["rows_processed"]),
            str(row["anomalies"] or 0),
        )
    console = Console(file=out, width=max(Console().width, 120), soft_wrap=False)
    console.print(table)


@dq.command("attach")
@click.argument("table")
@click.argument("file", type=click.Path(path_type=Path))
@workspace_option
def attach(table: str, file: Path, workspace: Path | None) -> None:
    """Make a DQDL file the table's default ruleset (checked first; ingest and workflows use it)."""
    try:
        lake = _lake(workspace)
        try:
            parsed = lake.dq_attach(table, file)
            from oaklake.quality.run import table_name

            full = table_name(lake, table)
        finally:
            lake.close()
    except Exception as e:
        raise fail(e) from None
    click.echo(
        f"ruleset attached to {full}: {len(parsed.rules)} rules, {len(parsed.analyzers)} analyzers"
    )


@dq.command("ruleset")
@click.argument("table")
@workspace_option
def ruleset(table: str, workspace: Path | None) -> None:
    """Print the ruleset attached to a table."""
    from oaklake.errors import NotFound

    try:
        lake = _lake(workspace)
        try:
            text = lake.dq_ruleset(table)
        finally:
            lake.close()
        if text is None:
            raise NotFound(
                f"no ruleset is attached to {table}",
                hint=f"attach one: oaklake dq attach {table} FILE",
            )
    except Exception as e:
        raise fail(e) from None
    click.echo(text.rstrip("\n"))


@dq.command("annotate")
@click.argument("dataset")
@click.argument("metric")
@click.option("--run-id", "run_id", default=None, help="The run whose value to annotate.")
@click.option("--at", "at", default=None, help="Or: the time of the value (ISO 8601, UTC).")
@click.option(
    "--include/--exclude",
    "include",
    default=None,
    help="Use the value again (--include) or leave it out (--exclude) of history.",
)
@click.option("--context", default="default", show_default=True)
@workspace_option
def annotate(
    dataset: str,
    metric: str,
    run_id: str | None,
    at: str | None,
    include: bool | None,
    context: str,
    workspace: Path | None,
) -> None:
    """Include or exclude a recorded metric value from what dynamic rules and anomaly
    detection learn from (e.g. oaklake dq annotate sales.orders Dataset.*.RowCount --run-id ID
    --exclude)."""
    import datetime as dt

    try:
        if include is None:
            raise InvalidInput("say --include or --exclude")
        when = None
        if at is not None:
            try:
                when = dt.datetime.fromisoformat(at)
            except ValueError:
                raise InvalidInput(
                    f"not an ISO 8601 time: {at!r}", hint="e.g. 2024-06-01T12:00:00"
                ) from None
        lake = _lake(workspace)
        try:
            count = lake.dq_annotate(
                dataset, metric, include=include, run_id=run_id, at=when, context=context
            )
        finally:
            lake.close()
    except Exception as e:
        raise fail(e) from None
    word = "INCLUDE" if include else "EXCLUDE"
    click.echo(f"{count} value{'s' if count != 1 else ''} of {metric} annotated {word}")
