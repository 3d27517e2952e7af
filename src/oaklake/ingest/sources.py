"""The files of one batch: which ones (paths, globs, folders), their format, compression and
checksum, and a first look at each CSV's header.

Everything here runs before any data is read, so a missing path, an unreadable or empty file,
a header with two columns of the same name or text in the wrong encoding is refused with the
file's name before anything is written.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from oaklake.errors import InvalidFile, InvalidInput, NotFound

# Suffix (after any compression suffix) -> format.
FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
FORMAT_NAMES = ("csv", "tsv", "json", "jsonl", "parquet")
COMPRESSIONS = {".gz": "gzip", ".gzip": "gzip", ".zst": "zstd", ".zstd": "zstd"}
# Files a folder or glob never contributes: hidden files, Spark/Hadoop markers, and the names
# copy tools give files that are still being written.
PARTIAL_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".download", "._copying_")
# DuckDB's encodings without extensions; the keys are what users type.
ENCODINGS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "utf-8-sig": "utf-8",
    "utf-16": "utf-16",
    "utf16": "utf-16",
    "latin-1": "latin-1",
    "latin1": "latin-1",
    "iso-8859-1": "latin-1",
    "iso8859-1": "latin-1",
}
_HEAD_BYTES = 1 << 20


@dataclass(frozen=True)
class SourceFile:
    path: Path
    format: str  # one of FORMAT_NAMES
    compression: str | None
    size: int

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def sql_path(self) -> str:
        return "'" + str(self.path).replace("'", "''") + "'"


def is_candidate(path: Path) -> bool:
    """Whether a file found in a folder or by a glob belongs to a batch (not hidden, not a
    marker such as ``_SUCCESS``, not a partial download)."""
    name = path.name
    if name.startswith((".", "_", "~")):
        return False
    return not name.lower().endswith(PARTIAL_SUFFIXES)


def format_of(path: Path, given: str | None = None) -> tuple[str, str | None]:
    """(format, compression) from the suffixes, or ``given`` (``--format``) when set."""
    suffixes = [s.lower() for s in path.suffixes]
    compression = None
    if suffixes and suffixes[-1] in COMPRESSIONS:
        compression = COMPRESSIONS[suffixes.pop()]
    if given:
        return given, compression
    fmt = FORMATS.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise InvalidFile(
            f"cannot tell the format of {path.name}",
            path=str(path),
            code="UNKNOWN_FORMAT",
            hint="name it .csv, .tsv, .json, .jsonl or .parquet (optionally .gz/.zst), "
            "or pass --format",
        )
    return fmt, compression


def expand(paths: Sequence[str | os.PathLike[str]], fmt: str | None = None) -> list[SourceFile]:
    """The batch's files, in a stable order, each readable and not empty."""
    if fmt is not None and fmt not in FORMAT_NAMES:
        raise InvalidInput(
            f"unknown format {fmt!r}", hint="--format csv, tsv, json, jsonl or parquet"
        )
    if not paths:
        raise InvalidInput("no files to ingest", hint="oaklake ingest data/*.csv --table db.t")
    found: list[Path] = []
    for given in paths:
        text = os.fspath(given)
        p = Path(text).expanduser()
        if p.is_dir():
            matches = sorted(
                q
                for q in p.rglob("*")
                if q.is_file() and is_candidate(q) and not _hidden_below(q, p)
            )
            if not matches:
                raise NotFound(
                    f"folder {text} holds no files to ingest",
                    code="FILE_NOT_FOUND",
                    hint="hidden files, _SUCCESS-style markers and partial downloads (.tmp, "
                    ".part, …) are not ingested",
                )
        elif any(ch in text for ch in "*?["):
            matches = sorted(
                Path(q)
                for q in glob.glob(os.path.expanduser(text), recursive=True)
                if Path(q).is_file() and is_candidate(Path(q))
            )
            if not matches:
                raise NotFound(
                    f"no files match {text}",
                    code="FILE_NOT_FOUND",
                    hint="check the pattern; hidden files and partial downloads never match",
                )
        elif p.exists():
            if not p.is_file():
                raise InvalidFile(
                    f"{text} is not a regular file",
                    path=text,
                    code="FILE_UNREADABLE",
                    hint="give files, folders of files or globs (not devices or pipes)",
                )
            matches = [p]
        else:
            raise NotFound(
                f"no such file: {text}",
                code="FILE_NOT_FOUND",
                hint="check the path; globs such as 'data/*.csv' need quotes in some shells",
            )
        found.extend(matches)
    files: list[SourceFile] = []
    seen: set[Path] = set()
    for p in found:
        resolved = p.resolve()
        if resolved in seen:
            continue
        seen.add(resolved)
        files.append(_source(resolved, fmt))
    formats = {f.format for f in files}
    if len({_family(f) for f in formats}) > 1 or {"csv", "tsv"} <= formats:
        raise InvalidInput(
            f"one batch is one format; these files are {', '.join(sorted(formats))}",
            hint="ingest each format separately, or pass --format",
        )
    return files


def _hidden_below(path: Path, root: Path) -> bool:
    return any(part.startswith((".", "_")) for part in path.relative_to(root).parts[:-1])


def _family(fmt: str) -> str:
    return {"tsv": "csv", "jsonl": "json"}.get(fmt, fmt)


def _source(path: Path, fmt: str | None) -> SourceFile:
    kind, compression = format_of(path, fmt)
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            fh.read(1)
    except PermissionError:
        raise InvalidFile(
            f"cannot read {path}: permission denied",
            path=str(path),
            code="FILE_UNREADABLE",
            hint="check the file's permissions",
        ) from None
    except OSError as e:
        raise InvalidFile(
            f"cannot read {path}: {e.strerror or e}", path=str(path), code="FILE_UNREADABLE"
        ) from None
    if size == 0:
        raise InvalidFile(
            f"{path.name} is empty (0 bytes)",
            path=str(path),
            code="EMPTY_FILE",
            hint="remove it from the batch; a landing zone should only see completed files",
        )
    return SourceFile(path=path, format=kind, compression=compression, size=size)


def checksum(path: Path) -> str:
    """SHA-256 of the file's bytes as stored (hashlib releases the GIL on large reads, so this
    runs beside DuckDB's read of the same file)."""
    digest = hashlib.sha256()
    with path.open("rb", buffering=0) as fh:
        buf = bytearray(4 << 20)
        view = memoryview(buf)
        while n := fh.readinto(buf):
            digest.update(view[:n])
    return digest.hexdigest()


def open_raw(source: SourceFile) -> io.BufferedIOBase:
    """The file's bytes, decompressed as its name says (the caller closes it)."""
    if source.compression == "gzip":
        import gzip

        return gzip.open(source.path, "rb")  # type: ignore[return-value]
    if source.compression == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(source.path.open("rb"))  # type: ignore[return-value]
    return source.path.open("rb")


def head(source: SourceFile, limit: int = _HEAD_BYTES) -> tuple[bytes, bool]:
    """The first ``limit`` bytes of the (decompressed) file, and whether that is all of it."""
    try:
        with open_raw(source) as raw:
            data = raw.read(limit + 1)
    except Exception as e:  # OSError, EOFError, zstandard.ZstdError
        raise compression_error(source, e) from None
    return data[:limit], len(data) <= limit


def compression_error(source: SourceFile, e: BaseException | str) -> InvalidFile:
    return InvalidFile(
        f"cannot decompress {source.name}: {e}",
        path=str(source.path),
        code="INVALID_COMPRESSION",
        hint="the file is damaged or not compressed as its name says",
    )


def decode_head(source: SourceFile, data: bytes, encoding: str) -> str:
    """The head as text; a byte the encoding cannot decode is reported with its line."""
    python_codec = {"utf-8": "utf-8-sig", "utf-16": "utf-16", "latin-1": "latin-1"}[encoding]
    try:
        return data.decode(python_codec)
    except UnicodeDecodeError as e:
        if e.start >= len(data) - 4 and encoding == "utf-8":  # a character cut by the head
            return data[: e.start].decode(python_codec)
        if data.startswith((b"\xff\xfe", b"\xfe\xff")) and encoding != "utf-16":
            raise InvalidFile(
                f"{source.name} is UTF-16 text (it starts with a UTF-16 byte-order mark), "
                f"not {encoding}",
                path=str(source.path),
                line=1,
                code="INVALID_ENCODING",
                hint="pass --encoding utf-16",
            ) from None
        line = data[: e.start].count(b"\n") + 1
        raise InvalidFile(
            f"{source.name} is not valid {encoding} text: byte 0x{data[e.start]:02x} "
            f"on line {line}",
            path=str(source.path),
            line=line,
            code="INVALID_ENCODING",
            hint="pass --encoding latin-1 (or utf-16) if that is how the file was written",
        ) from None


@dataclass(frozen=True)
class CsvHeader:
    names: list[str]
    has_rows: bool  # False: the file holds a header (or nothing) only


def csv_header(
    source: SourceFile,
    *,
    delimiter: str,
    quote: str,
    escape: str,
    encoding: str,
    header: bool,
) -> CsvHeader:
    """The first record's fields (the column names when ``header``) and whether any row
    follows; duplicate or empty names are refused here, with the file's name."""
    data, whole = head(source)
    text = decode_head(source, data, encoding)
    if not whole:  # drop a record the head may have cut in two
        text = text[: max(text.rfind("\n"), 0)]
    if not text.strip():
        raise InvalidFile(
            f"{source.name} holds no data (only blank lines)",
            path=str(source.path),
            code="EMPTY_FILE",
            hint="remove it from the batch",
        )
    reader = csv.reader(
        io.StringIO(text),
        delimiter=delimiter,
        quotechar=quote or None,
        escapechar=(escape if escape and escape != quote else None),
        doublequote=bool(quote) and escape == quote,
        strict=False,
    )
    try:
        first = next(reader)
        rest = any(any(cell.strip() for cell in row) for row in reader) if whole else True
    except (csv.Error, StopIteration):
        first, rest = [], True
    if not header:
        return CsvHeader([f"column{i}" for i in range(len(first))], has_rows=True)
    names = [n.strip() for n in first]
    for i, n in enumerate(names):
        if not n:
            raise InvalidFile(
                f"column {i + 1} of {source.name} has no name in the header",
                path=str(source.path),
                line=1,
                code="INVALID_HEADER",
                hint="name every column, or pass --no-header to map columns by position",
            )
    lowered: dict[str, str] = {}
    for n in names:
        if n.lower() in lowered:
            raise InvalidFile(
                f"the header of {source.name} names column {n!r} twice"
                + (f" (as {lowered[n.lower()]!r} and {n!r})" if lowered[n.lower()] != n else ""),
                path=str(source.path),
                line=1,
                column=n,
                code="DUPLICATE_COLUMN",
                hint="give every column a different name (names are not case-sensitive)",
            )
        lowered[n.lower()] = n
    if not rest:
        raise InvalidFile(
            f"{source.name} has a header but no rows",
            path=str(source.path),
            code="EMPTY_FILE",
            hint="remove it from the batch",
        )
    return CsvHeader(names, has_rows=True)
