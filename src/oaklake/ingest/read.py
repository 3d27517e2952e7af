"""Reading a batch: the DuckDB reader call for its files, the columns it brings, and the
errors a bad file gives, named by file and line.

A CSV batch is parsed strictly with the types of the target columns (``auto_detect=false``,
``store_rejects``), so a ragged row, an unterminated quote, a value that is not a number or a
line over the size limit comes back as a structured reject (file, line, column, the raw line)
instead of a DuckDB message; the first one is the error the user sees. JSON and Parquet carry
their own types; those are checked against the table's before anything is read.
"""

from __future__ import annotations

import io
import itertools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from oaklake.errors import InvalidFile, InvalidInput, NotSupported
from oaklake.ingest.sources import (
    ENCODINGS,
    SourceFile,
    compression_error,
    csv_header,
    head,
    open_raw,
)

if TYPE_CHECKING:
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
                raise InvalidInput(
                    f"--{name} must be one character, got {value!r}",
                    hint="e.g. --delimiter ';' or --delimiter '\\t' for a tab"
                    if name == "delimiter"
                    else 'e.g. --quote "\'"',
                )
        if self.escape is not None and len(self.escape) > 1:
            raise InvalidInput(
                f"--escape must be one character, got {self.escape!r}",
                hint="e.g. --escape '\\'; by default a quote is escaped by doubling it",
            )
        if self.delimiter is not None and self.delimiter == self.quote:
            raise InvalidInput(
                "the delimiter and the quote character must differ",
                hint="change --delimiter or --quote",
            )
        if self.max_line_size <= 0:
            raise InvalidInput(
                "--max-line-size must be positive",
                hint=f"a number of bytes; the default is {DEFAULT_MAX_LINE_SIZE} (2 MiB)",
            )
        if self.sample_rows == 0 or self.sample_rows < -1:
            raise InvalidInput(
                "--sample-rows must be positive, or -1 for the whole batch",
                hint=f"the default is {DEFAULT_SAMPLE_ROWS}",
            )
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
            # records='true': a line that is not an object is an error with its line number
            # (with one column, DuckDB would otherwise take each whole line as the value).
            return (
                f"read_json({self.paths}, format='{fmt}', columns={columns}, records='true', "
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
            # A row can be rejected twice (a ragged row whose short field is also not a number):
            # count bad rows, not rejects, and report what is wrong with the row's shape first.
            count = con.execute(
                f"SELECT count(*) FROM (SELECT DISTINCT scan_id, file_id, line FROM {errors})"
            ).fetchall()[0][0]
            if not count:
                return None
            row = con.execute(
                f"SELECT s.file_path, e.line, e.column_name, e.error_type, e.csv_line, "
                f"e.error_message FROM {errors} e JOIN {scans} s "
                f"ON e.scan_id = s.scan_id AND e.file_id = s.file_id "
                f"ORDER BY s.file_path, e.line, "
                f"CASE WHEN e.error_type = 'CAST' THEN 1 ELSE 0 END LIMIT 1"
            ).fetchall()[0]
        finally:
            for name in (errors, scans):
                con.execute(f"DROP TABLE IF EXISTS {name}")
        return reject_error(row, int(count), expected, encoding=self.options.encoding)

    def drop_rejects(self, engine: Engine) -> None:
        if self.rejects is not None:
            for name in self.rejects:
                engine.con.execute(f"DROP TABLE IF EXISTS {name}")


def reject_error(
    row: tuple[Any, ...], count: int, expected: dict[str, str], *, encoding: str = "utf-8"
) -> InvalidFile:
    path, line, column, kind, raw, message = row
    from pathlib import Path

    name = Path(str(path)).name
    where = f"{name}:{line}"
    more = (
        f" ({count - 1} more bad row{'s' if count > 2 else ''} in the batch)" if count > 1 else ""
    )
    # The raw record of an unterminated quote runs on to the end of the file: show its first
    # line only, so the message stays one line (the CLI prints CODE: message, then the hint).
    lines = str(raw or "").splitlines() or [""]
    text = lines[0] + (" ..." if len(lines) > 1 else "")
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
            f"text that is not valid {encoding} at {where}{more}",
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
    size = max(options.max_line_size, 16 * 1024 * 1024)
    for f in files:
        if f.compression is not None:
            head(f, 1 << 16)  # not compressed as named: said now, with the file's name
    try:
        described = engine.con.execute(
            f"DESCRIBE SELECT * FROM read_json({paths}, format='{fmt}', sample_size={sample}, "
            f"maximum_object_size={size})"
        ).fetchall()
    except duckdb.Error as e:
        raise json_error(e, files) from None
    names = [str(r[0]) for r in described]
    objects = _JsonObjects(engine, files, fmt, size)
    if names == ["json"]:
        # DuckDB's answer for records that are not all objects (or for no records at all);
        # a file of objects whose only key is "json" reads fine with records='true'.
        try:
            engine.con.execute(
                f"DESCRIBE SELECT * FROM read_json({paths}, format='{fmt}', records='true', "
                f"sample_size={sample}, maximum_object_size={size})"
            ).fetchall()
        except duckdb.Error:
            raise objects.not_objects() from None
    objects.no_duplicate_keys(names)
    _no_duplicates(names, files[0])
    types = {n.lower(): str(r[1]) for n, r in zip(names, described, strict=True)}
    for n in names:
        if types[n.lower()] == "JSON":  # values of different JSON types in one column
            raise objects.mixed_types(n)
    return Reader(files, options, "json", SourceColumns(names, types, typed=True))


class _JsonObjects:
    """Questions about a JSON batch's records, asked of DuckDB's ``read_json_objects`` (each
    record as raw JSON, numbered within its file) when the batch cannot be read as a table."""

    def __init__(self, engine: Engine, files: list[SourceFile], fmt: str, size: int) -> None:
        self.engine = engine
        self.files = files
        self.unit = "line" if fmt == "newline_delimited" else "record"
        paths = "[" + ", ".join(f.sql_path for f in files) + "]"
        self.records = (
            "(SELECT filename, row_number() OVER (PARTITION BY filename) AS n, json "
            f"FROM read_json_objects({paths}, format='{fmt}', filename=true, "
            f"maximum_object_size={size}))"
        )

    def _first(self, select: str, where: str) -> tuple[Any, ...] | None:
        rows = self.engine.con.execute(
            f"SELECT filename, n, {select} FROM {self.records} WHERE {where} "
            "ORDER BY filename, n LIMIT 1"
        ).fetchall()
        return rows[0] if rows else None

    def _where(self, filename: str, n: int) -> str:
        return _at(filename, self.unit, n)

    def not_objects(self) -> InvalidFile:
        row = self._first("json_type(json), CAST(json AS VARCHAR)", "json_type(json) <> 'OBJECT'")
        if row is None:
            return InvalidFile(
                f"{self.files[0].name} holds no JSON records",
                path=str(self.files[0].path),
                code="EMPTY_FILE",
                hint="remove it from the batch",
            )
        filename, n, kind, value = row
        shown = value if len(value) <= 60 else value[:57] + "..."
        return InvalidFile(
            f"{self._where(filename, n)} is {_json_kind(kind)} ({shown}), not a JSON object; "
            "every record must be an object",
            path=str(filename),
            line=int(n),
            code="INVALID_JSON",
            hint="write one JSON object per line (JSON Lines), or an array of objects",
        )

    def no_duplicate_keys(self, names: list[str]) -> None:
        """DuckDB renames a key repeated in another case (``id``, ``ID``) to ``ID_1``: find the
        record that does it and refuse it, rather than add a column the file never named."""
        lowered = {n.lower() for n in names}
        renamed = [
            n
            for n in names
            if (m := re.fullmatch(r"(.+)_\d+", n)) and m.group(1).lower() in lowered
        ]
        if not renamed:
            return
        row = self._first(
            "json_keys(json)",
            "json_type(json) = 'OBJECT' AND len(list_distinct(list_transform(json_keys(json), "
            "lambda k: lower(k)))) < len(json_keys(json))",
        )
        if row is None:
            return
        filename, n, keys = row
        seen: dict[str, str] = {}
        pair = ("?", "?")
        for k in keys:
            if k.lower() in seen:
                pair = (seen[k.lower()], k)
                break
            seen[k.lower()] = k
        raise InvalidFile(
            f"{self._where(filename, n)} has the key {pair[0]!r} twice (as {pair[0]!r} and "
            f"{pair[1]!r}; column names are not case-sensitive)",
            path=str(filename),
            line=int(n),
            column=pair[1],
            code="DUPLICATE_COLUMN",
            hint="give every key of an object a different name",
        )

    def mixed_types(self, column: str) -> InvalidFile:
        pointer = "/" + column.replace("~", "~0").replace("/", "~1")
        kind = (
            f"CASE WHEN json_type(json, {_lit(pointer)}) IN ('UBIGINT', 'BIGINT', 'DOUBLE') "
            f"THEN 'NUMBER' ELSE json_type(json, {_lit(pointer)}) END"
        )
        present = f"coalesce(json_type(json, {_lit(pointer)}), 'NULL') <> 'NULL'"
        first = self._first(
            f"{kind}, CAST(json_extract(json, {_lit(pointer)}) AS VARCHAR)", present
        )
        other = None
        if first is not None:
            other = self._first(
                f"{kind}, CAST(json_extract(json, {_lit(pointer)}) AS VARCHAR)",
                f"{present} AND {kind} <> {_lit(str(first[2]))}",
            )
        if first is None or other is None:
            return InvalidFile(
                f"column {column} holds values of different JSON types in the batch "
                f"({self.files[0].name}…)",
                path=str(self.files[0].path),
                column=column,
                code="TYPE_MISMATCH",
                hint="write every value of a column with one JSON type",
            )

        def said(row: tuple[Any, ...]) -> str:
            value = str(row[3])
            shown = value if len(value) <= 40 else value[:37] + "..."
            return f"{_json_kind(row[2])} ({shown}) at {self._where(row[0], row[1])}"

        return InvalidFile(
            f"column {column}: found {said(other)}, but {said(first)}; a column holds values "
            "of one type",
            path=str(other[0]),
            line=int(other[1]),
            column=column,
            code="TYPE_MISMATCH",
            hint="write every value of a column with one JSON type (quote them all to load "
            "the column as text)",
        )


def _json_kind(kind: Any) -> str:
    return {
        "NUMBER": "a number",
        "UBIGINT": "a number",
        "BIGINT": "a number",
        "DOUBLE": "a number",
        "VARCHAR": "a string",
        "BOOLEAN": "a boolean",
        "OBJECT": "an object",
        "ARRAY": "an array",
        "NULL": "null",
    }.get(str(kind), str(kind).lower())


def _bad_json_line(source: SourceFile, reported: int) -> int:
    """The line of a JSON Lines file that does not parse. DuckDB (2.0) counts records, not
    lines (blank lines are skipped), and names the record after the bad one; look at both
    records and take the first that really does not parse."""
    import json

    wanted = sorted({max(reported - 1, 1), reported})
    found: dict[int, tuple[int, bool]] = {}
    try:
        with open_raw(source) as raw, io.BufferedReader(raw) as lines:  # type: ignore[arg-type]
            record = 0
            for number, text in enumerate(lines, start=1):
                if not text.strip():
                    continue
                record += 1
                if record in wanted:
                    try:
                        json.loads(text)
                        found[record] = (number, True)
                    except ValueError:
                        found[record] = (number, False)
                if record >= wanted[-1]:
                    break
    except Exception:  # diagnostics only: DuckDB's number stands
        return reported
    for record in wanted:
        if record in found and not found[record][1]:
            return found[record][0]
    return reported


def _at(path: str, unit: str, number: int) -> str:
    """``name:line`` for JSON Lines, ``name record n`` for a record of a JSON array."""
    from pathlib import Path

    return f"{Path(path).name}:{number}" if unit == "line" else f"{Path(path).name} record {number}"


def json_error(e: Exception, files: list[SourceFile]) -> InvalidFile:
    """DuckDB's JSON error, re-said with the file and the line (record) number."""
    from pathlib import Path

    text = str(e)
    m = re.search(
        r'Malformed JSON in file "([^"]+)", at byte (\d+) in (line|record/value) (\d+): (.*)',
        text,
    )
    if m:
        path, unit, line, detail = m.group(1), m.group(3), int(m.group(4)), m.group(5)
        detail = detail.split("\n")[0].strip()
        source = next((f for f in files if str(f.path) == path), None)
        if unit == "line" and source is not None:
            line = _bad_json_line(source, line)
        if unit == "line":
            where, known = f"at {_at(path, unit, line)}", line
        else:  # inside an array DuckDB's count is approximate: say so, claim no line
            where, known = f"in {Path(path).name} (near record {line})", None
        return InvalidFile(
            f"invalid JSON {where}: {detail}",
            path=path,
            line=known,
            code="INVALID_JSON",
            hint="every line of a JSON Lines file is one complete JSON object",
        )
    m = re.search(
        r'JSON transform error in file "([^"]+)", in (line|record/value) (\d+): (.*)', text
    )
    if m:
        path, unit, line, detail = m.group(1), m.group(2), int(m.group(3)), m.group(4)
        detail = detail.split("\n")[0].strip()
        where = _at(path, unit, line)
        dup = re.search(r'has duplicate key "(.*)"$', detail)
        if dup:
            return InvalidFile(
                f"{where} has the key {dup.group(1)!r} twice",
                path=path,
                line=line,
                column=dup.group(1),
                code="DUPLICATE_COLUMN",
                hint="give every key of an object a different name",
            )
        if detail.startswith("Expected OBJECT"):
            detail = detail.replace("Expected OBJECT, but got", "expected an object, found")
        return InvalidFile(
            f"cannot read {where}: {detail}",
            path=path,
            line=line,
            code="INVALID_JSON",
            hint="every record must be a JSON object with the batch's columns",
        )
    first = text.split("\n")[0]
    first = re.sub(r"^[A-Za-z ]+ Error: ", "", first)
    if re.search(r"GZIP|gzip|zstd|ZSTD|frame descriptor|[Dd]ecompress", first):
        # "Unexpected end of GZIP stream: /path/file.jsonl.gz": the file is named at the end.
        named = next((f for f in files if first.endswith(str(f.path))), None)
        if named is not None:
            return compression_error(named, first[: -len(str(named.path))].rstrip(": "))
        guess = next((f for f in files if f.compression is not None), files[0])
        return compression_error(guess, first)
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
                hint="the file is damaged, cut short or not Parquet; write or copy it again",
            ) from None
        names = [str(r[0]) for r in rows]
        _no_duplicates(_parquet_names(f) or names, f)
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


def _parquet_names(f: SourceFile) -> list[str] | None:
    """The top-level column names as the file's footer spells them (DuckDB renames a repeated
    name to ``name_1``, which would pass for a new column)."""
    try:
        import pyarrow.parquet as pq

        return list(pq.read_schema(f.path).names)
    except Exception:  # DuckDB read the footer; its names will do
        return None


def _no_duplicates(names: list[str], f: SourceFile) -> None:
    seen: dict[str, str] = {}
    for n in names:
        if n.lower() in seen:
            first = seen[n.lower()]
            also = f" (as {first!r} and {n!r})" if first != n else ""
            raise InvalidFile(
                f"{f.name} has two columns named {n!r}{also}; names are not case-sensitive",
                path=str(f.path),
                column=n,
                code="DUPLICATE_COLUMN",
                hint="give every column a different name",
            )
        seen[n.lower()] = n


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _list(names: list[str]) -> str:
    return "[" + ", ".join(_lit(n) for n in names) + "]"


def _struct(types: dict[str, str]) -> str:
    return "{" + ", ".join(f"{_lit(n)}: {_lit(t)}" for n, t in types.items()) + "}"
