"""Turning results and errors into text: tables, CSV, JSON, JSON Lines."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import decimal
import io
import json
import sys
import uuid
from typing import TYPE_CHECKING, Any, TextIO

from oaklake.errors import OakError

if TYPE_CHECKING:
    from oaklake.engine.result import Result

FORMATS = ("table", "csv", "json", "jsonl")


def plain(value: Any) -> Any:
    """A JSON-safe value: ISO-8601 times, exact decimals, base64 bytes, maps as objects."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return (
            value if value == value and value not in (float("inf"), float("-inf")) else str(value)
        )
    if isinstance(value, decimal.Decimal):
        as_float = float(value)
        return as_float if decimal.Decimal(repr(as_float)) == value else str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        if value and all(isinstance(x, tuple) and len(x) == 2 for x in value):
            return {str(k): plain(v) for k, v in value}  # an Arrow map
        return [plain(v) for v in value]
    return str(value)


def text_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    if isinstance(value, list | tuple | dict):
        return json.dumps(plain(value))
    if isinstance(value, bytes):
        return value.hex()  # as Athena shows varbinary; str() would print Python's b'\x..'
    return str(value)


def write_result(result: Result, fmt: str, out: TextIO | None = None) -> None:
    # Look sys.stdout up at call time: a default bound at import would keep writing to
    # whatever stream was current then (a test runner's, or a closed one).
    out = out if out is not None else sys.stdout
    if not result.has_rows:
        if fmt == "table" and result.message:
            out.write(result.message + "\n")
        return
    columns = result.columns
    rows = result.rows
    if fmt == "json":
        out.write(
            json.dumps(
                [dict(zip(columns, map(plain, r), strict=True)) for r in rows], ensure_ascii=False
            )
            + "\n"
        )
    elif fmt == "jsonl":
        for r in rows:
            out.write(
                json.dumps(dict(zip(columns, map(plain, r), strict=True)), ensure_ascii=False)
                + "\n"
            )
    elif fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        for r in rows:
            writer.writerow([text_value(v) for v in r])
        out.write(buf.getvalue())
    else:
        _table(columns, rows, out)


def _table(columns: list[str], rows: list[tuple[Any, ...]], out: TextIO) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_header=True, header_style="bold", show_lines=False)
    for c in columns:
        table.add_column(c, overflow="fold")
    for r in rows:
        table.add_row(*(text_value(v) if v is not None else "NULL" for v in r))
    console = Console(file=out, width=max(Console().width, 80), soft_wrap=False)
    console.print(table)
    console.print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})", style="dim")


def error_text(error: BaseException) -> str:
    if isinstance(error, OakError):
        return error.render()
    return (
        f"INTERNAL_ERROR: {type(error).__name__}: {error}\n"
        "hint: this is a bug in oaklake; run again with OAKLAKE_DEBUG=1 for a traceback "
        "and report it"
    )
