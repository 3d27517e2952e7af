"""Reading a batch: the DuckDB reader call for its files, the columns it brings, and the
errors a bad file gives, named by file and line.

A CSV batch is parsed strictly with the types of the target columns (``auto_detect=false``,
``store_rejects``), so a ragged row, an unterminated quote, a value that is not a number or a
line over the size limit comes back as a structured reject (file, line, column, the raw line)
instead of a DuckDB message; the first one is the error the user sees. JSON and Parquet carry
their own types; those are checked against the table's before anything is read.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from oaklake.errors import InvalidFile, InvalidInput, NotSupported, TypeMismatch
from oaklake.ingest.sources import ENCODINGS, SourceFile, csv_header

if TYPE_CHECKING:
    from pyiceberg.types import IcebergType

    from oaklake.engine.session import Engine

_NAMES = itertools.count()
DEFAULT_MAX_LINE_SIZE = 2_097_152  # DuckDB's own default, 2 MiB
DEFAULT_SAMPLE_ROWS = 20_480


@dataclass(frozen=True)
class ReadOptions:
    """How to read the batch's files (the CSV options apply to CSV/TSV only)."""

    format: str | None = None
    delimiter: str | None = None  # default: ',' for CSV, tab for TSV
    header: bool = True
    quote: str = '"'
    escape: str | None = None  # default: the quote character (RFC 4180 doubling)
    encoding: str = "utf-8"
    null: str = ""
    max_line_size: int = DEFAULT_MAX_LINE_SIZE
    sample_rows: int = DEFAULT_SAMPLE_ROWS
    date_format: str | None = None
    timestamp_format: str | None = None

    def checked(self) -> ReadOptions:
        from dataclasses import replace

        encoding = ENCODINGS.get(self.encoding.strip().lower())
        if encoding is None:
            raise NotSupported(
                f"encoding {self.encoding!r} is not supported",
                hint="utf-8, utf-16 or latin-1; convert other encodings first (iconv)",
            )
        for name, value in (("delimiter", self.delimiter), ("quote", self.quote)):
            if value is not None and len(value) > 1 and value != "\\t":
                raise InvalidInput(f"--{name} must be one character, got {value!r}")
        if self.escape is not None and len(self.escape) > 1:
            raise InvalidInput(f"--escape must be one character, got {self.escape!r}")
        if self.delimiter is not None and self.delimiter == self.quote:
            raise InvalidInput("the delimiter and the quote character must differ")
        if self.max_line_size <= 0:
            raise InvalidInput("--max-line-size must be positive")
        if self.sample_rows == 0 or self.sample_rows < -1:
            raise InvalidInput("--sample-rows must be positive, or -1 for the whole batch")
        delimiter = "\t" if self.delimiter == "\\t" else self.delimiter
        return replace(self, encoding=encoding, delimiter=delimiter)


@dataclass
class SourceColumns:
    """What the batch brings: column names as the files spell them, and DuckDB types (inferred
    for CSV, declared for JSON/Parquet)."""

    names: list[str]
    types: dict[str, str]  # lowercased name -> DuckDB type
    typed: bool  # True: the files carry types (JSON, Parquet); False: text parsed by us


@dataclass
class Reader:
    """One batch's reader: ``relation(columns)`` is the FROM item for chosen column types."""

    files: list[SourceFile]
    options: ReadOptions
    kind: str  # csv | json | parquet
    source: SourceColumns
    rejects: tuple[str, str] | None = None
    _csv_names: list[str] = field(default_factory=list)

    @property
    def paths(self) -> str:
        return "[" + ", ".join(f.sql_path for f in self.files) + "]"

    def relation(self, csv_types: dict[str, str] | None = None) -> str:
        """The table function reading every file. For CSV, ``csv_types`` gives each column's
        type (lowercased name -> DuckDB type): the parse itself converts and rejects."""
        o = self.options
        if self.kind == "parquet":
            return f"read_parquet({self.paths}, union_by_name=true, hive_partitioning=false)"
        if self.kind == "json":
            fmt = "newline_delimited" if all(f.format == "jsonl" for f in self.files) else "auto"
            columns = _struct({n: self.source.types[n.lower()] for n in self.source.names})
            return (
                f"read_json({self.paths}, format='{fmt}', columns={columns}, "
                f"maximum_object_size={max(o.max_line_size, 16 * 1024 * 1024)})"
            )
        types = csv_types or {}
        columns = _struct({n: types.get(n.lower(), "VARCHAR") for n in self._csv_names})
        n = next(_NAMES)
        self.rejects = (f"__oak_rejects_{n}", f"__oak_reject_scans_{n}")
        return (
            f"read_csv({self.paths}, {self._csv_dialect()}, auto_detect=false, "
            f"columns={columns}, store_rejects=true, rejects_table='{self.rejects[0]}', "
            f"rejects_scan='{self.rejects[1]}', rejects_limit=0)"
        )

    def _csv_dialect(self) -> str:
        o = self.options
        delimiter = o.delimiter or ("\t" if self.files[0].format == "tsv" else ",")
        escape = o.quote if o.escape is None else o.escape
        parts = [
            f"delim={_lit(delimiter)}",
            f"quote={_lit(o.quote)}",
            f"escape={_lit(escape)}",
            f"header={'true' if o.header else 'false'}",
            f"encoding={_lit(o.encoding)}",
            f"nullstr={_lit(o.null)}",
            f"max_line_size={int(o.max_line_size)}",
            "strict_mode=true",
        ]
        if o.date_format:
            parts.append(f"dateformat={_lit(o.date_format)}")
        if o.timestamp_format:
            parts.append(f"timestampformat={_lit(o.timestamp_format)}")
        return ", ".join(parts)

    # -- errors ---------------------------------------------------------------------------
    def first_reject(self, engine: Engine, expected: dict[str, str]) -> InvalidFile | None:
        """The first bad CSV row of the batch as an error (None when every row parsed)."""
        if self.rejects is None:
            return None
        errors, scans = self.rejects
        con = engine.con
        try:
            count = con.execute(f"SELECT count(*) FROM {errors}").fetchall()[0][0]
            if not count:
                return None
            row = con.execute(
                f"SELECT s.file_path, e.line, e.column_name, e.error_type, e.csv_line, "
                f"e.error_message FROM {errors} e JOIN {scans} s "
                f"ON e.scan_id = s.scan_id AND e.file_id = s.file_id "
                f"ORDER BY s.file_path, e.line LIMIT 1"
            ).fetchall()[0]
        finally:
            for name in (errors, scans):
                con.execute(f"DROP TABLE IF EXISTS {name}")
        return reject_error(row, int(count), expected)

    def drop_rejects(self, engine: Engine) -> None:
        if self.rejects is not None:
            for name in self.rejects:
                engine.con.execute(f"DROP TABLE IF EXISTS {name}")


def reject_error(row: tuple[Any, ...], count: int, expected: dict[str, str]) -> InvalidFile:
    path, line, column, kind, raw, message = row
    from pathlib import Path

    name = Path(str(path)).name
    where = f"{name}:{line}"
    more = (
        f" ({count - 1} more bad row{'s' if count > 2 else ''} in the batch)" if count > 1 else ""
    )
    text = str(raw or "").rstrip("\r\n")
    shown = text if len(text) <= 120 else text[:117] + "..."
    kind = str(kind)
    if kind == "CAST":
        found = re.search(r'Could not convert string "(.*)" to', str(message), re.S)
        value = found.group(1) if found else "?"
        want = expected.get(str(column).lower(), "?")
        return InvalidFile(
            f"column {column}: expected {want}, found {value!r} at {where}{more}",
            path=str(path),
            line=int(line),
            column=str(column),
            code="TYPE_MISMATCH",
            hint="fix the value; or, for a new table, declare the column's type with --schema "
            "(types are inferred from the first rows)",
        )
    if kind in ("MISSING COLUMNS", "TOO MANY COLUMNS"):
        counts = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", str(message))
        detail = (
            f"expected {counts.group(1)} fields, found {counts.group(2)}" if counts else message
        )
        return InvalidFile(
            f"ragged row at {where}: {detail}{more}: {shown}",
            path=str(path),
            line=int(line),
            code="CSV_MALFORMED",
            hint="every row needs as many fields as the header; quote fields that contain "
            "the delimiter",
        )
    if kind == "UNQUOTED VALUE":
        return InvalidFile(
            f"unterminated or stray quote at {where}{more}: {shown}",
            path=str(path),
            line=int(line),
            code="CSV_MALFORMED",
            hint='close the quote; a quote inside a quoted field is written twice ("")',
        )
    if kind == "LINE SIZE OVER MAXIMUM":
        return InvalidFile(
            f"a line longer than the limit at {where}{more}",
            path=str(path),
            line=int(line),
            code="LINE_TOO_LONG",
            hint="raise the limit with --max-line-size BYTES if the field is meant to be that big",
        )
    if kind in ("INVALID ENCODING", "INVALID UNICODE"):
        return InvalidFile(
            f"text that is not valid in the file's encoding at {where}{more}",
            path=str(path),
            line=int(line),
            code="INVALID_ENCODING",
            hint="pass --encoding latin-1 (or utf-16) if that is how the file was written",
        )
    return InvalidFile(
        f"bad row at {where}: {message}{more}",
        path=str(path),
        line=int(line),
        code="CSV_MALFORMED",
    )


# -- discovering the batch's columns -------------------------------------------------------
def reader_for(engine: Engine, files: list[SourceFile], options: ReadOptions) -> Reader:
    """Look at the batch (headers, declared or sampled types) without reading it."""
    fmt = files[0].format
    if fmt in ("csv", "tsv"):
        return _csv_reader(engine, files, options)
    if fmt in ("json", "jsonl"):
        return _json_reader(engine, files, options)
    return _parquet_reader(engine, files, options)


def _csv_reader(engine: Engine, files: list[SourceFile], options: ReadOptions) -> Reader:
    reader = Reader(files, options, "csv", SourceColumns([], {}, typed=False))
    o = options
    delimiter = o.delimiter or ("\t" if files[0].format == "tsv" else ",")
    escape = o.quote if o.escape is None else o.escape
    first: list[str] | None = None
    for f in files:
        header = csv_header(
            f, delimiter=delimiter, quote=o.quote, escape=escape, encoding=o.encoding,
            header=o.header,
        )  # fmt: skip
        if first is None:
            first = header.names
            first_file = f
        elif [n.lower() for n in header.names] != [n.lower() for n in first]:
            raise InvalidFile(
                f"{f.name} has other columns than {first_file.name}: "
                f"{', '.join(header.names)} vs {', '.join(first)}",
                path=str(f.path),
                line=1,
                code="HEADER_MISMATCH",
                hint="one batch is files with the same columns; ingest the others separately",
            )
    assert first is not None
    reader._csv_names = list(first)
    sampled = _sample_csv_types(engine, reader, first)
    reader.source = SourceColumns(first, sampled, typed=False)
    return reader


def _sample_csv_types(engine: Engine, reader: Reader, names: list[str]) -> dict[str, str]:
    """Types the way DuckDB's sniffer sees the first rows; all text if the sample does not
    parse (the strict read then reports the bad line)."""
    o = reader.options
    sample = "-1" if o.sample_rows == -1 else str(int(o.sample_rows))
    sql = (
        f"DESCRIBE SELECT * FROM read_csv({reader.paths}, {reader._csv_dialect()}, "
        f"sample_size={sample}, names={_list(names)})"
    )
    try:
        described = engine.con.execute(sql).fetchall()
    except Exception:
        return {n.lower(): "VARCHAR" for n in names}
    if len(described) != len(names):
        return {n.lower(): "VARCHAR" for n in names}
    return {n.lower(): str(r[1]) for n, r in zip(names, described, strict=True)}


def _json_reader(engine: Engine, files: list[SourceFile], options: ReadOptions) -> Reader:
    import duckdb

    fmt = "newline_delimited" if all(f.format == "jsonl" for f in files) else "auto"
    sample = "-1" if options.sample_rows == -1 else str(int(options.sample_rows))
    paths = "[" + ", ".join(f.sql_path for f in files) + "]"
    try:
        described = engine.con.execute(
            f"DESCRIBE SELECT * FROM read_json({paths}, format='{fmt}', sample_size={sample}, "
            f"maximum_object_size={max(options.max_line_size, 16 * 1024 * 1024)})"
        ).fetchall()
    except duckdb.Error as e:
        raise json_error(e, files) from None
    names = [str(r[0]) for r in described]
    if names == ["json"] and described[0][1] == "JSON":
        raise InvalidFile(
            f"{files[0].name} does not hold JSON objects (one object per row)",
            path=str(files[0].path),
            code="INVALID_JSON",
            hint="write one JSON object per line (JSON Lines), or an array of objects",
        )
    _no_duplicates(names, files[0])
    types = {n.lower(): str(r[1]) for n, r in zip(names, described, strict=True)}
    return Reader(files, options, "json", SourceColumns(names, types, typed=True))


def json_error(e: Exception, files: list[SourceFile]) -> InvalidFile:
    """DuckDB's JSON error, re-said with the file and the line (record) number."""
    text = str(e)
    m = re.search(
        r'Malformed JSON in file "([^"]+)", at byte (\d+) in (?:line|record/value) (\d+): (.*)',
        text,
    )
    if m:
        from pathlib import Path

        path, line, detail = m.group(1), int(m.group(3)), m.group(4).split("\n")[0]
        return InvalidFile(
            f"invalid JSON at {Path(path).name}:{line}: {detail}",
            path=path,
            line=line,
            code="INVALID_JSON",
            hint="every line of a JSON Lines file is one complete JSON object",
        )
    first = text.split("\n")[0]
    first = re.sub(r"^[A-Za-z ]+ Error: ", "", first)
    return InvalidFile(
        f"cannot read the JSON batch ({files[0].name}…): {first}",
        path=str(files[0].path),
        code="INVALID_JSON",
        hint="every line of a JSON Lines file is one complete JSON object",
    )


def _parquet_reader(engine: Engine, files: list[SourceFile], options: ReadOptions) -> Reader:
    import duckdb

    described: list[Any] = []
    for f in files:  # one at a time: a broken file is named
        try:
            rows = engine.con.execute(
                f"DESCRIBE SELECT * FROM read_parquet({f.sql_path}, hive_partitioning=false)"
            ).fetchall()
        except duckdb.Error as e:
            first = re.sub(r"^[A-Za-z ]+ Error: ", "", str(e).split("\n")[0])
            raise InvalidFile(
                f"{f.name} is not a readable Parquet file: {first}",
                path=str(f.path),
                code="INVALID_PARQUET",
            ) from None
        names = [str(r[0]) for r in rows]
        _no_duplicates(names, f)
        described.append((f, rows))
    types: dict[str, str] = {}
    names_out: list[str] = []
    origin: dict[str, str] = {}
    for f, rows in described:
        for r in rows:
            low = str(r[0]).lower()
            if low not in types:
                types[low] = str(r[1])
                origin[low] = f.name
                names_out.append(str(r[0]))
            elif types[low] != str(r[1]):
                raise InvalidFile(
                    f"column {r[0]} is {r[1]} in {f.name} but {types[low]} in {origin[low]}",
                    path=str(f.path),
                    column=str(r[0]),
                    code="TYPE_MISMATCH",
                    hint="write the batch's files with one schema, or ingest them separately",
                )
    return Reader(files, options, "parquet", SourceColumns(names_out, types, typed=True))


def _no_duplicates(names: list[str], f: SourceFile) -> None:
    seen: set[str] = set()
    for n in names:
        if n.lower() in seen:
            raise InvalidFile(
                f"{f.name} has two columns named {n!r} (names are not case-sensitive)",
                path=str(f.path),
                column=n,
                code="DUPLICATE_COLUMN",
            )
        seen.add(n.lower())


def iceberg_type_of(duck_type: str, column: str) -> IcebergType:
    from oaklake.catalog import types as ctypes

    return ctypes.from_duckdb(duck_type, column)


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _list(names: list[str]) -> str:
    return "[" + ", ".join(_lit(n) for n in names) + "]"


def _struct(types: dict[str, str]) -> str:
    return "{" + ", ".join(f"{_lit(n)}: {_lit(t)}" for n, t in types.items()) + "}"
