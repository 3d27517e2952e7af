"""The command line: thin click commands over the ``Lake`` facade (no logic lives here).

click rather than Typer: Typer imports rich or pydantic at start-up (0.3 s on this machine),
which alone would break the 0.6 s cold-start budget of ``oaklake sql "select 1"``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from oaklake.errors import InvalidInput, NotFound, OakError, exit_code_for

FORMATS = ("table", "csv", "json", "jsonl")

workspace_option = click.option(
    "--workspace",
    "-w",
    type=click.Path(path_type=Path),
    default=None,
    help="Workspace folder (else OAKLAKE_WORKSPACE, else the nearest oaklake.toml upwards).",
)


class UserFailure(click.exceptions.Exit):
    """Raised after an error was printed; carries the stable exit code."""


class _UsageError(click.UsageError):
    """click's own usage errors (unknown option, missing value) in oaklake's error shape."""

    code = "INVALID_USAGE"

    def __init__(self, message: str, where: str) -> None:
        super().__init__(message)
        self.where = where

    def show(self, file: Any = None) -> None:
        sys.stderr.write(f"{self.code}: {self.message}\nhint: see '{self.where} --help'\n")


def _reshaped(e: click.UsageError, where: str) -> click.UsageError:
    if isinstance(e, _UsageError | click.exceptions.NoArgsIsHelpError):
        return e
    return _UsageError(e.format_message(), e.ctx.command_path if e.ctx is not None else where)


class _Command(click.Command):
    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as e:
            raise _reshaped(e, f"oaklake {self.name}") from None


class _Group(click.Group):
    command_class = _Command

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as e:
            raise _reshaped(e, "oaklake") from None

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as e:
            raise _reshaped(e, "oaklake") from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:  # else click prints "Aborted!" and exits 1
            sys.stderr.write("interrupted\n")
            raise click.exceptions.Exit(130) from None


def fail(error: BaseException) -> click.exceptions.Exit:
    from oaklake.cli.render import error_text

    if os.environ.get("OAKLAKE_DEBUG"):
        import traceback

        traceback.print_exception(error, file=sys.stderr)
    sys.stderr.write(error_text(error) + "\n")
    return click.exceptions.Exit(exit_code_for(error))


def _lake(workspace: Path | None) -> Any:
    from oaklake.app import connect

    return connect(workspace)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="oaklake")
def app() -> None:
    """oaklake: quality-gated ingestion into Apache Iceberg, queried with Athena SQL."""


@app.command()
@click.argument("path", type=click.Path(path_type=Path), default=Path("."))
@click.option(
    "--catalog-uri",
    default=None,
    help="SQLAlchemy URI of the catalog database (default: a SQLite file in the workspace).",
)
@click.option("--warehouse", default=None, help="Folder or s3:// URI for table data.")
def init(path: Path, catalog_uri: str | None, warehouse: str | None) -> None:
    """Create a workspace: oaklake.toml, a warehouse folder and an Iceberg catalog."""
    try:
        from oaklake.app import init as do_init

        lake = do_init(path, catalog_uri=catalog_uri, warehouse=warehouse)
        click.echo(f"workspace created in {lake.settings.root}")
        from oaklake.config import redact_uri

        uri = redact_uri(lake.settings.catalog_uri)
        click.echo(f"  catalog:   {lake.settings.catalog_name} ({uri})")
        click.echo(f"  warehouse: {lake.settings.warehouse_uri}")
    except Exception as e:
        raise fail(e) from None


@app.command()
@click.argument("query", required=False)
@click.option(
    "--file",
    "-f",
    "file",
    type=click.Path(path_type=Path),
    default=None,
    help="Read statements from a file ('-' for standard input).",
)
@click.option("--format", "fmt", default="table", help="table, csv, json or jsonl.")
@workspace_option
def sql(query: str | None, file: Path | None, fmt: str, workspace: Path | None) -> None:
    """Run Athena-dialect SQL against the workspace's Iceberg tables.

    Several statements run in order; the first error stops the run and says which statement
    failed and where. Exit codes: 0 ok, 2 bad input (syntax, missing table, …), 3 internal error.
    """
    from oaklake.cli.render import write_result

    try:
        if fmt not in FORMATS:
            raise InvalidInput(f"unknown format {fmt!r}", hint="use one of " + ", ".join(FORMATS))
        if (query is None) == (file is None):
            raise InvalidInput("give either a SQL string or --file", hint='oaklake sql "select 1"')
        text = _read_sql_file(file) if file is not None else (query or "")
        from oaklake.engine.statements import split

        statements = split(text)
        if not statements:
            raise InvalidInput("no statement to run")
        lake = _lake(workspace) if _needs_workspace(text, workspace) else _scratch_lake()
        for stmt in statements:
            try:
                result = lake.engine.run_statement(stmt)
            except OakError as e:
                from oaklake.engine.session import locate_error

                locate_error(e, stmt, text, len(statements))
                raise
            write_result(result, fmt)
            if fmt != "table" and not result.has_rows and result.message:
                sys.stderr.write(result.message + "\n")
    except BrokenPipeError:
        raise  # the reader left (`| head`): click exits quietly; not an internal error
    except Exception as e:
        raise fail(e) from None


def _scratch_lake() -> Any:
    """A lake with no workspace: enough for constant queries and queries over files."""
    from oaklake.app import Lake
    from oaklake.config import Settings

    return Lake(Settings(root=Path.cwd()))


def _read_sql_file(file: Path) -> str:
    if str(file) == "-":
        return sys.stdin.read().removeprefix("\ufeff")
    try:
        return file.read_text(encoding="utf-8-sig")  # editors on Windows start files with a BOM
    except FileNotFoundError:
        raise NotFound(f"no such file: {file}", code="FILE_NOT_FOUND") from None
    except IsADirectoryError:
        raise InvalidInput(f"{file} is a folder, not a SQL file") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{file} is not UTF-8 text") from None
    except OSError as e:
        raise InvalidInput(f"cannot read {file}: {e.strerror}", code="FILE_UNREADABLE") from None


def _needs_workspace(text: str, workspace: Path | None) -> bool:
    """`select 1` runs anywhere; anything that may name a table needs a workspace."""
    import re

    if workspace is not None or os.environ.get("OAKLAKE_WORKSPACE"):
        return True
    here = Path.cwd().resolve()
    if any((p / "oaklake.toml").is_file() for p in (here, *here.parents)):
        return True
    stripped = re.sub(r"'(?:[^']|'')*'", "''", text)
    return bool(
        re.search(
            r"\b(FROM|JOIN|INTO|TABLE|SCHEMA|DATABASE|VIEW|USE|SHOW|DESCRIBE|DESC"
            r"|UPDATE|MERGE|OPTIMIZE|VACUUM)\b",
            stripped,
            re.I,
        )
    )


@app.command()
@workspace_option
def shell(workspace: Path | None) -> None:
    """Interactive SQL: statements end with ';', history is kept per workspace."""
    try:
        lake = _lake(workspace)
        from oaklake.cli.shell import run_shell

        run_shell(lake)
    except Exception as e:
        raise fail(e) from None


@app.command()
@click.argument("path", type=click.Path(path_type=Path), required=False)
def demo(path: Path | None) -> None:
    """End-to-end demo on the embedded default: init, load sample data, query it."""
    try:
        from oaklake.demo import run_demo

        run_demo(path)
    except Exception as e:
        raise fail(e) from None


from oaklake.cli.dq import dq as _dq  # noqa: E402 - registers `oaklake dq …`

app.add_command(_dq)

from oaklake.cli.ingest import ingest as _ingest  # noqa: E402 - registers `oaklake ingest`

app.add_command(_ingest)

from oaklake.cli.rec import rec as _rec  # noqa: E402 - registers `oaklake rec …`

app.add_command(_rec)

from oaklake.cli.serve import serve as _serve  # noqa: E402 - registers `oaklake serve`

app.add_command(_serve)


def main() -> None:
    try:
        app(standalone_mode=True)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
