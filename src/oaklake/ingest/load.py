"""One ingest, start to end: files -> staged Parquet -> quality gate -> one commit -> ledger.

1. Everything a user can get wrong is checked before any data is read: arguments, the table
   name, the rules (DQDL parses), the files (exist, readable, not empty, one format, headers
   without duplicates) and the schema (drift, incompatible types, merge keys).
2. DuckDB reads the batch once and writes it as Parquet with the table's field ids into a
   staging folder inside the workspace. CSV is parsed strictly with the target types, so the
   first bad row is reported as ``file:line``. The files' checksums are computed meanwhile.
3. The rules run on the staged files. A failing batch is copied to the quarantine folder with
   its report; nothing is committed.
4. A passing batch is committed as ONE snapshot (append, overwrite, or MERGE) whose summary
   records the files and checksums; then the ledger table is appended. A process killed at any
   point before the commit leaves the table as it was and the files ingestible again.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oaklake.errors import (
    ColumnNotFound,
    CommitConflict,
    InvalidFile,
    InvalidInput,
    NotSupported,
    QualityGateFailed,
    SchemaNotFound,
    did_you_mean,
)
from oaklake.ingest import ledger as ledger_mod
from oaklake.ingest.read import Reader, ReadOptions, reader_for
from oaklake.ingest.sources import SourceFile, checksum, expand

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.schema import Schema
    from pyiceberg.table import Table
    from pyiceberg.types import IcebergType

    from oaklake.app import Lake
    from oaklake.quality.results import DqResult

MODES = ("append", "overwrite", "merge")
ON_FAIL = ("quarantine", "quarantine-rows")
DEFAULT_CONTEXT = "ingest"
Progress = Callable[[str, float | None], None]


@dataclass(frozen=True)
class IngestOptions:
    """What ``oaklake ingest`` is asked to do besides which files go where."""

    mode: str = "append"
    key: tuple[str, ...] = ()
    delete_when: str | None = None
    partitions: bool = False  # overwrite only the partitions the batch has
    evolve: bool = False
    rules: str | os.PathLike[str] | None = None
    on_fail: str = "quarantine"
    force: bool = False
    schema: str | os.PathLike[str] | None = None  # a DDL file (or its text)
    partition_by: str | None = None
    read: ReadOptions = field(default_factory=ReadOptions)
    context: str = DEFAULT_CONTEXT
    notify: bool = True


def ingest_options(
    *,
    mode: str = "append",
    key: str | Sequence[str] | None = None,
    delete_when: str | None = None,
    partitions: bool = False,
    evolve: bool = False,
    rules: str | os.PathLike[str] | None = None,
    on_fail: str = "quarantine",
    force: bool = False,
    schema: str | os.PathLike[str] | None = None,
    partition_by: str | None = None,
    context: str = DEFAULT_CONTEXT,
    notify: bool = True,
    **read_options: Any,
) -> IngestOptions:
    """``IngestOptions`` from keyword arguments (what ``Lake.ingest`` and the CLI take): the
    key as "a,b" or a list, the CSV/JSON options loose (None meaning the default)."""
    keys = key.split(",") if isinstance(key, str) else list(key or [])
    given = {k: v for k, v in read_options.items() if v is not None}
    try:
        read = ReadOptions(**given)
    except TypeError as e:
        raise InvalidInput(f"unknown read option: {e}") from None
    return IngestOptions(
        mode=mode,
        key=tuple(k.strip() for k in keys if k.strip()),
        delete_when=delete_when,
        partitions=partitions,
        evolve=evolve,
        rules=rules,
        on_fail=on_fail,
        force=force,
        schema=schema,
        partition_by=partition_by,
        read=read,
        context=context,
        notify=notify,
    )


@dataclass
class IngestResult:
    """What one ingest did; ``status`` is loaded, partial, skipped or quarantined."""

    table: str
    status: str
    mode: str
    batch_id: str
    files: list[str] = field(default_factory=list)
    skipped_files: list[str] = field(default_factory=list)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    snapshot_id: int | None = None
    created_table: bool = False
    evolved_columns: list[str] = field(default_factory=list)
    quality: DqResult | None = None
    quarantine: str | None = None
    seconds: float = 0.0
    changes: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status != "quarantined"

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def raise_for_status(self) -> IngestResult:
        """Raise QualityGateFailed (exit code 1) when the batch was quarantined."""
        if not self.ok:
            failed = self.failed_rules()
            raise QualityGateFailed(
                f"{self.table}: the batch failed {len(failed)} rule(s); nothing was committed "
                f"and it was quarantined in {self.quarantine}",
                hint="see report.json there; fix the data (or the rules) and ingest again",
            )
        return self

    def failed_rules(self) -> list[str]:
        if self.quality is None:
            return []
        return [r.rule for r in self.quality.rules if r.outcome != "Passed"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "status": self.status,
            "mode": self.mode,
            "batch_id": self.batch_id,
            "files": self.files,
            "skipped_files": self.skipped_files,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
            "snapshot_id": self.snapshot_id,
            "created_table": self.created_table,
            "evolved_columns": self.evolved_columns,
            "quality": None
            if self.quality is None
            else {
                "run_id": self.quality.run_id,
                "score": self.quality.score,
                "rules": len(self.quality.rules),
                "failed_rules": self.failed_rules(),
            },
            "quarantine": self.quarantine,
            "seconds": round(self.seconds, 3),
            "changes": self.changes,
        }


@dataclass
class _Target:
    """The table a batch goes to: its schema (with ids) as it will be after the commit."""

    schema_name: str
    name: str
    table: Table | None  # None: created at commit time
    schema: Schema
    new_columns: list[tuple[str, IcebergType]]
    partition_terms: list[Any]

    @property
    def full(self) -> str:
        return f"{self.schema_name}.{self.name}"


# -- entry point ----------------------------------------------------------------------------
def ingest(
    lake: Lake,
    paths: Sequence[str | os.PathLike[str]],
    table: str,
    options: IngestOptions | None = None,
    *,
    progress: Progress | None = None,
    now: dt.datetime | None = None,
) -> IngestResult:
    """Load files into ``table`` through its quality gate (see the module's docstring)."""
    started = time.perf_counter()
    opts = options or IngestOptions()
    _check_options(opts)
    read = opts.read.checked()
    engine = lake.engine
    schema_name, name = _table_name(lake, table)
    full = f"{schema_name}.{name}"
    existing = _load(lake, schema_name, name)
    if existing is not None and opts.partition_by:
        raise InvalidInput(
            f"{full} exists; --partition-by only applies when ingest creates the table",
            hint=f"ALTER TABLE {full} SET PARTITION SPEC … is not supported yet; "
            "create a new table",
        )
    if existing is not None and opts.schema is not None:
        raise InvalidInput(
            f"{full} exists; --schema only applies when ingest creates the table",
            hint="leave --schema out: the table's own schema is used",
        )
    rules_text = _rules(lake, full, opts, existing is not None)
    files = expand(paths, read.format)
    reader = reader_for(engine, files, read)
    target = _target(lake, schema_name, name, existing, reader, opts)
    batch_id = str(uuid.uuid4())
    result = IngestResult(table=full, status="loaded", mode=opts.mode, batch_id=batch_id)
    if existing is not None:
        ledger_mod.Ledger(lake).repair(existing, full)

    sweep_staging(lake.settings.root)
    staging = _staging_folder(lake.settings.root, batch_id)
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            sums = pool.submit(lambda: [checksum(f.path) for f in files])
            staged, rows = _stage(lake, reader, target, staging, progress)
            checksums = sums.result()
        entries = [
            ledger_mod.LedgerFile(str(f.path), c, f.size)
            for f, c in zip(files, checksums, strict=True)
        ]
        if existing is not None and not opts.force:
            known = ledger_mod.Ledger(lake).known(existing, checksums)
            if known:
                fresh = [i for i, c in enumerate(checksums) if c not in known]
                result.skipped_files = [
                    str(files[i].path) for i in range(len(files)) if i not in fresh
                ]
                if not fresh:
                    result.status = "skipped"
                    result.files = []
                    result.seconds = time.perf_counter() - started
                    return result
                # Some files are new: read only those (rare; a re-sent folder).
                shutil.rmtree(staging, ignore_errors=True)
                files = [files[i] for i in fresh]
                entries = [entries[i] for i in fresh]
                checksums = [checksums[i] for i in fresh]
                reader = reader_for(engine, files, read)
                target = _target(lake, schema_name, name, existing, reader, opts)
                staged, rows = _stage(lake, reader, target, staging, progress)
        result.files = [str(f.path) for f in files]
        result.rows_read = rows
        if rows == 0:
            raise InvalidFile(
                f"the batch ({_names(files)}) holds no rows",
                path=str(files[0].path),
                code="EMPTY_FILE",
                hint="nothing to load",
            )
        if opts.mode == "merge":
            _check_keys(lake, staged, list(opts.key), _names(files))
        load_rows: pa.Table | None = None  # set when only some rows pass (quarantine-rows)
        if rules_text is not None:
            _report(progress, "checking rules", None)
            verdict = _gate(lake, rules_text, full, staged, opts, now)
            result.quality = verdict.result
            if verdict.quarantine_all:
                result.status = "quarantined"
                result.rows_rejected = rows
                folder = _quarantine(lake, full, files, result, verdict.rows, copy_files=True)
                result.quarantine = str(folder)
                result.seconds = time.perf_counter() - started
                _announce(lake, result, opts)
                return result
            if verdict.failing_rows is not None and verdict.failing_rows.num_rows:
                load_rows = verdict.passing_rows
                result.rows_rejected = verdict.failing_rows.num_rows
                result.status = "partial"
                folder = _quarantine(
                    lake, full, files, result, verdict.failing_rows, copy_files=False
                )
                result.quarantine = str(folder)
        _report(progress, "committing", None)
        summary = ledger_mod.summary(batch_id, opts.mode, entries)
        try:
            loaded = _commit(lake, target, staged, load_rows, opts, summary, result, checksums)
        except _AlreadyLoaded:
            result.status = "skipped"
            result.skipped_files, result.files = result.files, []
            result.rows_loaded = 0
            result.seconds = time.perf_counter() - started
            return result
        result.rows_loaded = loaded
        if result.status == "partial":
            _announce(lake, result, opts)
        table_now = engine.load_table(schema_name, name)
        ledger_mod.Ledger(lake).record(
            table_now,
            full,
            [
                {**{"batch_id": batch_id, "file_path": e.path, "sha256": e.sha256,
                    "size_bytes": e.size, "mode": opts.mode},
                 "snapshot_id": result.snapshot_id, "batch_rows": loaded,
                 "ingested_at": dt.datetime.now(dt.UTC).replace(tzinfo=None)}
                for e in entries
            ],
        )  # fmt: skip
    finally:
        reader.drop_rejects(engine)
        shutil.rmtree(staging, ignore_errors=True)
        _owner_file(staging).unlink(missing_ok=True)
        _drop_empty(staging.parent)
    result.seconds = time.perf_counter() - started
    return result


# -- checks before reading -------------------------------------------------------------------
def _check_options(opts: IngestOptions) -> None:
    if opts.mode not in MODES:
        raise InvalidInput(f"unknown mode {opts.mode!r}", hint="--mode append, overwrite or merge")
    if opts.on_fail not in ON_FAIL:
        raise InvalidInput(
            f"unknown --on-fail {opts.on_fail!r}", hint="--on-fail quarantine or quarantine-rows"
        )
    if opts.mode == "merge" and not opts.key:
        raise InvalidInput("--mode merge needs --key COLUMN[,COLUMN]", hint="--key order_id")
    if opts.key and opts.mode != "merge":
        raise InvalidInput("--key is for --mode merge", hint="add --mode merge, or drop --key")
    if opts.delete_when and opts.mode != "merge":
        raise InvalidInput(
            "--delete-when is for --mode merge (change-data-capture files)",
            hint="--mode merge --key ID --delete-when \"op = 'D'\"",
        )
    if opts.partitions and opts.mode != "overwrite":
        raise InvalidInput(
            "--partitions is for --mode overwrite",
            hint="add --mode overwrite, or drop --partitions",
        )
    if not opts.context or not opts.context.strip():
        raise InvalidInput("the evaluation context must not be empty")


def _table_name(lake: Lake, table: str) -> tuple[str, str]:
    from oaklake.engine.ddl import parse_name

    if not table or not table.strip():
        raise InvalidInput("--table is required", hint="--table sales.orders")
    schema_name, name = parse_name(lake.engine, table)
    if schema_name == ledger_mod.SYSTEM_SCHEMA:
        raise InvalidInput(
            f"{ledger_mod.SYSTEM_SCHEMA} holds oaklake's own tables; ingest elsewhere",
            hint="--table DB.TABLE in a schema of yours (CREATE SCHEMA db)",
        )
    if not lake.catalog.schema_exists(schema_name):
        raise SchemaNotFound(
            f"schema {schema_name} does not exist",
            hint=did_you_mean(schema_name, lake.catalog.list_schemas())
            or f"CREATE SCHEMA {schema_name} first",
        )
    return schema_name, name


def _load(lake: Lake, schema_name: str, name: str) -> Table | None:
    if not lake.catalog.table_exists(schema_name, name):
        if lake.catalog.view_exists(schema_name, name):
            raise InvalidInput(
                f"{schema_name}.{name} is a view; ingest loads tables",
                hint="ingest into the table the view reads from",
            )
        return None
    lake.engine.forget_table(schema_name, name)
    return lake.engine.load_table(schema_name, name)


def _rules(lake: Lake, full: str, opts: IngestOptions, exists: bool) -> str | None:
    """The gate's DQDL: ``--rules`` or the table's attached ruleset (parsed now: a ruleset that
    does not parse stops the ingest before any data is read)."""
    from oaklake.quality.run import parse, ruleset_text
    from oaklake.quality.store import MetricStore

    if opts.rules is not None:
        text = ruleset_text(opts.rules)
    elif exists:
        text = MetricStore(lake).ruleset(full)
        if text is None:
            return None
    else:
        return None
    parse(text)
    return text


def _target(
    lake: Lake,
    schema_name: str,
    name: str,
    table: Table | None,
    reader: Reader,
    opts: IngestOptions,
) -> _Target:
    """The schema the batch is written with, and the checks that need it: drift, types, keys."""
    from pyiceberg.schema import Schema

    from oaklake.catalog import types as ctypes
    from oaklake.engine.ddl import parse_transform

    full = f"{schema_name}.{name}"
    src = reader.source
    file_cols = {n.lower(): n for n in src.names}
    terms: list[Any] = []
    if table is not None:
        base = table.schema()
    else:
        if opts.schema is not None:
            columns, terms = _declared(opts.schema)
        else:
            columns = [
                (n.lower(), ctypes.from_duckdb(src.types[n.lower()], n), None) for n in src.names
            ]
        base = ctypes.schema_from_columns(columns)
        if opts.partition_by:
            if terms:
                raise InvalidInput(
                    "give the partitioning once: in the --schema file or with --partition-by"
                )
            terms = [parse_transform(t) for t in _split_terms(opts.partition_by)]
    known = {f.name for f in base.fields}
    if reader.kind == "csv" and not reader.options.header and (table is not None or opts.schema):
        _by_position(reader, [f.name for f in base.fields], full)
        src = reader.source
        file_cols = {n.lower(): n for n in src.names}
    extra = [c for c in file_cols if c not in known]
    if extra and not opts.evolve:
        listed = ", ".join(file_cols[c] for c in extra)
        hint = next((h for c in extra if (h := did_you_mean(c, known))), None)
        raise InvalidFile(
            f"{reader.files[0].name}{' (and the batch)' if len(reader.files) > 1 else ''} "
            f"has column{'s' if len(extra) > 1 else ''} {listed} that "
            f"{'is' if len(extra) == 1 else 'are'} not in "
            f"{full if table is not None else 'the --schema'}",
            path=str(reader.files[0].path),
            column=file_cols[extra[0]],
            code="SCHEMA_DRIFT",
            hint=(hint + "; " if hint else "") + "pass --evolve to add new columns to the table",
        )
    new_columns: list[tuple[str, IcebergType]] = [
        (c, ctypes.from_duckdb(src.types[c], file_cols[c])) for c in extra
    ]
    fields = list(base.fields)
    if new_columns and table is None:  # a new table: the new columns are simply declared
        base = ctypes.schema_from_columns(
            [(f.name, f.field_type, f.doc) for f in base.fields]
            + [(c, t, None) for c, t in new_columns]
        )
        fields, new_columns = list(base.fields), []
    elif new_columns:
        assert table is not None
        fields += _evolved_fields(table, new_columns)
    schema = Schema(*fields, schema_id=base.schema_id)
    if src.typed:
        for f in schema.fields:
            if f.name in file_cols and f.name not in dict(new_columns):
                found = ctypes.from_duckdb(src.types[f.name], f.name)
                if not ctypes.assignable(found, f.field_type) or _fraction_to_integer(
                    found, f.field_type
                ):
                    raise InvalidFile(
                        f"column {file_cols[f.name]}: {full} has "
                        f"{ctypes.to_athena(f.field_type)}, the batch has "
                        f"{ctypes.to_athena(found)} ({reader.files[0].name})",
                        path=str(reader.files[0].path),
                        column=file_cols[f.name],
                        code="TYPE_MISMATCH",
                        hint="cast the column when writing the file, or load it into another table",
                    )
    for k in opts.key:
        low = k.strip().lower()
        if low not in file_cols:
            raise ColumnNotFound(
                f"merge key {k} is not a column of the batch ({reader.files[0].name})",
                code="MERGE_KEY_MISSING",
                hint=did_you_mean(low, list(file_cols)) or "--key names columns of the files",
            )
        if low not in {f.name for f in schema.fields}:
            raise ColumnNotFound(
                f"merge key {k} is not a column of {full}", code="MERGE_KEY_MISSING"
            )
    if table is None and terms:
        from oaklake.engine.ddl import build_spec

        build_spec(schema, terms)  # a bad --partition-by fails now, not after the read
    return _Target(schema_name, name, table, schema, new_columns, terms)


def _fraction_to_integer(found: Any, target: Any) -> bool:
    """A float, double or decimal column loaded into an integer one would be rounded."""
    from pyiceberg.types import DecimalType, DoubleType, FloatType, IntegerType, LongType

    return isinstance(found, FloatType | DoubleType | DecimalType) and isinstance(
        target, IntegerType | LongType
    )


def _by_position(reader: Reader, columns: list[str], full: str) -> None:
    """Files without a header: their fields are the table's columns, in order."""
    count = len(reader.source.names)
    if count > len(columns):
        raise InvalidFile(
            f"{reader.files[0].name} has {count} fields per row; {full} has {len(columns)} columns",
            path=str(reader.files[0].path),
            line=1,
            code="SCHEMA_DRIFT",
            hint="without a header, fields map to the table's columns by position",
        )
    old_types = [reader.source.types[n.lower()] for n in reader.source.names]
    names = columns[:count]
    reader.source.names = names
    reader.source.types = dict(zip(names, old_types, strict=True))
    reader._csv_names = list(names)


def _declared(value: str | os.PathLike[str]) -> tuple[list[Any], list[Any]]:
    """Columns and partition terms of ``--schema``, its syntax errors said about the file."""
    from oaklake.engine.ddl import declared_table
    from oaklake.errors import SqlSyntaxError

    text = _schema_text(value)
    try:
        return declared_table(text)
    except SqlSyntaxError as e:
        where = os.fspath(value) if text != os.fspath(value) else "--schema"
        raise SqlSyntaxError(
            f"{where} does not parse: {e.message}",
            hint="a column list such as `id bigint, name string, ts timestamp`, or one "
            "CREATE TABLE statement",
        ) from None


def _schema_text(value: str | os.PathLike[str]) -> str:
    """The DDL of ``--schema``: a file's content, or the text itself."""
    text = os.fspath(value)
    path = Path(text).expanduser()
    looks_like_path = isinstance(value, os.PathLike) or (
        "\n" not in text
        and (path.suffix in (".sql", ".ddl") or path.exists() or "/" in text)
        and not re.search(r"\s(bigint|int|string|double|date|timestamp|boolean)\b", text, re.I)
    )
    if not looks_like_path and not path.is_file():
        return text
    if path.is_dir():
        raise InvalidInput(
            f"--schema {text} is a folder, not a DDL file",
            code="FILE_UNREADABLE",
            hint="pass the .sql file with the column list (id bigint, name string, …)",
        )
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        from oaklake.errors import NotFound

        raise NotFound(
            f"no such schema file: {text}",
            code="FILE_NOT_FOUND",
            hint="--schema takes a file with a column list or a CREATE TABLE statement",
        ) from None
    except UnicodeDecodeError:
        raise InvalidInput(
            f"schema file {text} is not UTF-8 text",
            code="FILE_UNREADABLE",
            hint="save it as UTF-8",
        ) from None
    except OSError as e:
        raise InvalidInput(
            f"cannot read schema file {text}: {e.strerror or e}",
            code="FILE_UNREADABLE",
            hint="check the file's permissions",
        ) from None


def _split_terms(text: str) -> list[str]:
    """``day(ts), bucket(16, id)`` -> ["day(ts)", "bucket(16, id)"] (commas inside parens stay)."""
    terms, depth, current = [], 0, ""
    for ch in text:
        if ch == "," and depth == 0:
            terms.append(current)
            current = ""
            continue
        depth += {"(": 1, ")": -1}.get(ch, 0)
        current += ch
    terms.append(current)
    out = [t.strip() for t in terms if t.strip()]
    if not out:
        raise InvalidInput(
            "--partition-by is empty", hint='--partition-by "day(ts), bucket(16, id)"'
        )
    return out


def _evolved_fields(table: Table, new_columns: list[tuple[str, IcebergType]]) -> list[Any]:
    """The fields ``add_column`` gives each new column, ids included: pyiceberg's own schema
    update applied in a transaction that is never committed, so the staged files carry the
    ids the real update (after the gate) assigns."""
    from pyiceberg.table.update.schema import UpdateSchema

    update = UpdateSchema(table.transaction(), case_sensitive=False)
    for name, itype in new_columns:
        update.add_column(name, itype)
    evolved = update._apply()
    known = {f.name for f in table.schema().fields}
    return [f for f in evolved.fields if f.name not in known]


# -- staging ---------------------------------------------------------------------------------
def _stage(
    lake: Lake,
    reader: Reader,
    target: _Target,
    staging: Path,
    progress: Progress | None,
) -> tuple[list[Path], int]:
    """Read the batch once and write it as Parquet (table field ids, target types) into
    ``staging``; return the files and the row count. Bad rows raise before anything else."""
    import duckdb

    from oaklake.catalog import types as ctypes

    engine = lake.engine
    src = reader.source
    file_cols = {n.lower(): n for n in src.names}
    types = {f.name: ctypes.to_duckdb(f.field_type) for f in target.schema.fields}
    # DuckDB's text-to-integer cast rounds ("2.5" -> 3): integer columns of a CSV are read as
    # text and converted here, refusing anything with a decimal point or an exponent.
    text_ints = _integer_columns(target) & set(file_cols) if reader.kind == "csv" else set()
    items = []
    for f in target.schema.fields:
        q = ctypes.quote_ident(f.name)
        if f.name not in file_cols:
            items.append(f"CAST(NULL AS {types[f.name]}) AS {q}")
        elif f.name in text_ints:
            v = ctypes.quote_ident(file_cols[f.name])
            items.append(
                f"CASE WHEN {v} IS NULL THEN NULL WHEN strpos({v}, '.') = 0 AND "
                f"strpos({v}, 'e') = 0 AND strpos({v}, 'E') = 0 THEN CAST({v} AS "
                f"{types[f.name]}) ELSE error('{_NOT_AN_INTEGER}') END AS {q}"
            )
        elif not src.typed or src.types.get(f.name, "").upper() == types[f.name].upper():
            items.append(f"{ctypes.quote_ident(file_cols[f.name])} AS {q}")
        else:
            items.append(f"CAST({ctypes.quote_ident(file_cols[f.name])} AS {types[f.name]}) AS {q}")
    relation = reader.relation(
        {c: ("VARCHAR" if c in text_ints else types[c]) for c in file_cols if c in types}
    )
    staging.mkdir(parents=True, exist_ok=True)
    path = str(staging).replace("'", "''")
    target_size = _target_file_size(target)
    sql = (
        f"COPY (SELECT {', '.join(items)} FROM {relation}) TO '{path}' (FORMAT parquet, "
        f"COMPRESSION zstd, COMPRESSION_LEVEL 1, FIELD_IDS {_field_ids(target.schema)}, "
        f"FILENAME_PATTERN 'part-{{uuid}}', FILE_SIZE_BYTES {target_size})"
    )
    _report(progress, "reading", 0.0)
    stop = threading.Event()
    watcher = None
    if progress is not None:
        watcher = threading.Thread(target=_watch, args=(engine, progress, stop), daemon=True)
        watcher.start()
    try:
        rows = int(engine.con.execute(sql).fetchall()[0][0])
    except duckdb.Error as e:
        raise _read_error(lake, reader, target, e) from None
    except RuntimeError as e:
        if str(e) == "Query interrupted":
            raise KeyboardInterrupt from e
        raise
    finally:
        stop.set()
        if watcher is not None:
            watcher.join()
    _report(progress, "reading", 1.0)
    bad = reader.first_reject(engine, {c: ctypes.to_athena(t) for c, t in _itypes(target).items()})
    if bad is not None:
        raise bad
    staged = sorted(staging.glob("*.parquet"))
    return staged, rows


_NOT_AN_INTEGER = "oaklake: not an integer"


def _integer_columns(target: _Target) -> set[str]:
    from pyiceberg.types import IntegerType, LongType

    return {
        f.name for f in target.schema.fields if isinstance(f.field_type, IntegerType | LongType)
    }


def _first_bad_csv_integer(lake: Lake, reader: Reader, target: _Target) -> InvalidFile | None:
    """The first CSV value that is not a whole number in an integer column, as file:line
    (the line counts the header and assumes no line breaks inside quoted fields before it)."""
    from oaklake.catalog import types as ctypes

    con = lake.engine.con
    file_cols = {n.lower(): n for n in reader.source.names}
    wanted = sorted(_integer_columns(target) & set(file_cols))
    for source in reader.files:
        single = Reader([source], reader.options, reader.kind, reader.source)
        single._csv_names = reader._csv_names
        rel = single.relation({})  # every column as text
        try:
            for name in wanted:
                v = ctypes.quote_ident(file_cols[name])
                want = ctypes.to_duckdb(target.schema.find_field(name).field_type)
                rows = con.execute(
                    f"SELECT n, v FROM (SELECT {v} AS v, row_number() OVER () AS n FROM {rel}) "
                    f"WHERE v IS NOT NULL AND (strpos(v, '.') > 0 OR strpos(lower(v), 'e') > 0 "
                    f"OR TRY_CAST(v AS {want}) IS NULL) ORDER BY n LIMIT 1"
                ).fetchall()
                if rows:
                    n, value = rows[0]
                    line = int(n) + (1 if reader.options.header else 0)
                    return InvalidFile(
                        f"column {file_cols[name]}: expected "
                        f"{ctypes.to_athena(target.schema.find_field(name).field_type)}, found "
                        f"{value!r} at {source.name}:{line}",
                        path=str(source.path),
                        line=line,
                        column=file_cols[name],
                        code="TYPE_MISMATCH",
                        hint="integer columns take whole numbers; load fractions into a double "
                        "or decimal column",
                    )
        except Exception:  # noqa: S112 - diagnostics only
            continue
        finally:
            single.drop_rejects(lake.engine)
    return None


def _itypes(target: _Target) -> dict[str, Any]:
    return {f.name: f.field_type for f in target.schema.fields}


def _target_file_size(target: _Target) -> int:
    props = target.table.metadata.properties if target.table is not None else {}
    try:
        return int(props.get("write.target-file-size-bytes", 512 * 1024 * 1024))
    except ValueError:
        return 512 * 1024 * 1024


def _field_ids(schema: Schema) -> str:
    """DuckDB's FIELD_IDS struct for an Iceberg schema (nested ids included)."""
    from pyiceberg.types import ListType, MapType, StructType

    def node(field_id: int, itype: Any) -> str:
        if isinstance(itype, StructType):
            inner = ", ".join(
                f"{_key(f.name)}: {node(f.field_id, f.field_type)}" for f in itype.fields
            )
            return f"{{__duckdb_field_id: {field_id}, {inner}}}"
        if isinstance(itype, ListType):
            element = node(itype.element_id, itype.element_type)
            return f"{{__duckdb_field_id: {field_id}, element: {element}}}"
        if isinstance(itype, MapType):
            return (
                f"{{__duckdb_field_id: {field_id}, key: {node(itype.key_id, itype.key_type)}, "
                f"value: {node(itype.value_id, itype.value_type)}}}"
            )
        return str(field_id)

    return (
        "{"
        + ", ".join(f"{_key(f.name)}: {node(f.field_id, f.field_type)}" for f in schema.fields)
        + "}"
    )


def _key(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _watch(engine: Any, progress: Progress, stop: threading.Event) -> None:
    while not stop.wait(0.2):
        try:
            value = engine.con.query_progress()
        except Exception:
            return
        if value is not None and value >= 0:
            progress("reading", min(float(value) / 100.0, 1.0))


def _report(progress: Progress | None, phase: str, fraction: float | None) -> None:
    if progress is not None:
        progress(phase, fraction)


def _read_error(lake: Lake, reader: Reader, target: _Target, e: Exception) -> Exception:
    """A DuckDB error while reading, said in terms of the batch's files."""
    import duckdb

    from oaklake.ingest.read import json_error

    text = str(e)
    if reader.kind == "csv" and (
        _NOT_AN_INTEGER in text or isinstance(e, duckdb.ConversionException)
    ):
        found = _first_bad_csv_integer(lake, reader, target)
        if found is not None:
            return found
    if re.search(r"gzip|zstd|decompress", text, re.I):
        from oaklake.ingest.sources import compression_error

        culprit = next((f for f in reader.files if str(f.path) in text), reader.files[0])
        detail = re.sub(r"^[A-Za-z ]+ Error: ", "", text.split("\n")[0])
        return compression_error(culprit, detail.replace(f": {culprit.path}", ""))
    if reader.kind == "json" and "JSON" in text:
        return json_error(e, reader.files)
    if isinstance(e, duckdb.ConversionException) and reader.source.typed:
        found = _first_bad_value(lake, reader, target)
        if found is not None:
            return found
    first = text.split("\n")[0]
    first = re.sub(r"^[A-Za-z ]+ Error: ", "", first)
    code = "TYPE_MISMATCH" if isinstance(e, duckdb.ConversionException) else "INVALID_FILE"
    return InvalidFile(
        f"cannot load the batch ({reader.files[0].name}…): {first}",
        path=str(reader.files[0].path),
        code=code,
    )


def _first_bad_value(lake: Lake, reader: Reader, target: _Target) -> InvalidFile | None:
    """For JSON/Parquet whose cast failed: the first file, row and column that do not fit."""
    from oaklake.catalog import types as ctypes

    con = lake.engine.con
    src = reader.source
    file_cols = {n.lower(): n for n in src.names}
    for f in target.schema.fields:
        if f.name not in file_cols:
            continue
        want = ctypes.to_duckdb(f.field_type)
        if src.types.get(f.name, "").upper() == want.upper():
            continue
        col = ctypes.quote_ident(file_cols[f.name])
        for source in reader.files:
            single = Reader([source], reader.options, reader.kind, reader.source)
            rel = single.relation()
            try:
                rows = con.execute(
                    f"SELECT n, CAST({col} AS VARCHAR) FROM (SELECT {col}, "
                    f"row_number() OVER () AS n FROM {rel}) "
                    f"WHERE {col} IS NOT NULL AND TRY_CAST({col} AS {want}) IS NULL "
                    "ORDER BY n LIMIT 1"
                ).fetchall()
            except Exception:  # noqa: S112 - diagnostics only; the caller has a message
                continue
            if rows:
                n, value = rows[0]
                unit = "line" if source.format == "jsonl" else "row"
                return InvalidFile(
                    f"column {file_cols[f.name]}: expected {ctypes.to_athena(f.field_type)}, "
                    f"found {value!r} at {source.name} {unit} {n}",
                    path=str(source.path),
                    line=int(n),
                    column=file_cols[f.name],
                    code="TYPE_MISMATCH",
                    hint="fix the value, or load the column into a string column",
                )
    return None


def _names(files: list[SourceFile]) -> str:
    shown = ", ".join(f.name for f in files[:3])
    return shown + (f" and {len(files) - 3} more" if len(files) > 3 else "")


def _check_keys(lake: Lake, staged: list[Path], keys: list[str], names: str) -> None:
    """A merge batch names each key once and never leaves a key empty."""
    from oaklake.catalog import types as ctypes

    con = lake.engine.con
    cols = ", ".join(ctypes.quote_ident(k.strip().lower()) for k in keys)
    files = "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in staged) + "]"
    nulls = " OR ".join(f"{ctypes.quote_ident(k.strip().lower())} IS NULL" for k in keys)
    rows = con.execute(f"SELECT count(*) FROM read_parquet({files}) WHERE {nulls}").fetchall()
    if rows[0][0]:
        raise InvalidInput(
            f"{rows[0][0]} row(s) of the merge batch ({names}) have no value in the key "
            f"({', '.join(keys)})",
            code="MERGE_KEY_NULL",
            hint="every row of a merge batch needs its key",
        )
    dup = con.execute(
        f"SELECT {cols}, count(*) AS n FROM read_parquet({files}) GROUP BY ALL HAVING n > 1 "
        f"ORDER BY n DESC LIMIT 1"
    ).fetchall()
    if dup:
        *values, n = dup[0]
        shown = ", ".join(f"{k}={v!r}" for k, v in zip(keys, values, strict=True))
        total = con.execute(
            f"SELECT count(*) FROM (SELECT {cols} FROM read_parquet({files}) GROUP BY ALL "
            "HAVING count(*) > 1)"
        ).fetchall()[0][0]
        raise InvalidInput(
            f"the merge batch ({names}) has {total} duplicate key(s); {shown} appears {n} times",
            code="DUPLICATE_KEY",
            hint="one row per key in a merge batch: deduplicate the file (keep the latest change)",
        )


# -- the gate ---------------------------------------------------------------------------------
@dataclass
class _Verdict:
    result: DqResult
    quarantine_all: bool
    rows: pa.Table | None = None  # row-level outcomes for a whole-batch quarantine
    passing_rows: pa.Table | None = None
    failing_rows: pa.Table | None = None


OUTCOME_COLUMNS = (
    "DataQualityRulesPass",
    "DataQualityRulesFail",
    "DataQualityRulesSkip",
    "DataQualityEvaluationResult",
)


def _gate(
    lake: Lake,
    text: str,
    full: str,
    staged: list[Path],
    opts: IngestOptions,
    now: dt.datetime | None,
) -> _Verdict:
    """Evaluate the rules on the staged batch and record the run (context ``ingest``)."""
    import pyarrow.compute as pc

    from oaklake.quality.dataset import Dataset
    from oaklake.quality.evaluate import evaluate
    from oaklake.quality.run import parse
    from oaklake.quality.store import MetricStore

    ruleset = parse(text)
    pattern = str(staged[0].parent / "*.parquet")
    dataset = Dataset(kind="file", name=full, path=pattern)
    store = MetricStore(lake)
    row_level = opts.on_fail == "quarantine-rows"

    def run(with_rows: bool) -> DqResult:
        return evaluate(
            lake.engine, ruleset, dataset, context=opts.context, row_level=with_rows,
            history=store, now=now,
        )  # fmt: skip

    result = run(row_level)
    failed = [r for r in result.rules if r.outcome != "Passed"]
    if failed and not row_level:
        try:
            result.row_level = run(True).row_level
        except Exception:  # outcomes are a courtesy; the verdict stands without them
            result.row_level = None
    if result.finished_at is None:
        result.finished_at = dt.datetime.now(dt.UTC)
    store.record(result, ruleset_text=text, at=now, dataset_kind="ingest")
    if not failed:
        return _Verdict(result, quarantine_all=False)
    rows = result.row_level
    if not row_level or rows is None:
        return _Verdict(result, quarantine_all=True, rows=rows)
    fails = rows.column("DataQualityRulesFail")
    failing_rules = {r for chunk in pc.list_flatten(fails).unique().to_pylist() for r in [chunk]}
    dataset_level = [r for r in failed if r.rule not in failing_rules]
    if dataset_level:
        return _Verdict(result, quarantine_all=True, rows=rows)
    bad = pc.greater(pc.list_value_length(fails), 0)
    data_cols = [c for c in rows.column_names if c not in OUTCOME_COLUMNS]
    passing = rows.filter(pc.invert(bad)).select(data_cols)
    failing = rows.filter(bad)
    return _Verdict(result, quarantine_all=False, passing_rows=passing, failing_rows=failing)


def _quarantine(
    lake: Lake,
    full: str,
    files: list[SourceFile],
    result: IngestResult,
    rows: pa.Table | None,
    *,
    copy_files: bool,
) -> Path:
    from oaklake.ingest.quarantine import quarantine

    report = {
        "ingest": {k: v for k, v in result.to_dict().items() if k not in ("quality",)},
        "quality": result.quality.to_dict() if result.quality is not None else None,
        "reason": "quarantine-rows: only the failing rows"
        if not copy_files
        else "the batch failed its quality gate; nothing was committed",
    }
    return quarantine(
        lake.settings, full, files=files, report=report, rows=rows, copy_files=copy_files
    )


def _announce(lake: Lake, result: IngestResult, opts: IngestOptions) -> None:
    """Tell the workspace's sinks (never raises: the quarantine matters more)."""
    if not opts.notify:
        return
    import logging

    log = logging.getLogger("oaklake.ingest")
    try:
        from oaklake.notify import Event, Notifier

        failed = result.failed_rules()
        if result.status == "quarantined":
            title = f"{result.table}: batch quarantined ({len(failed)} rule(s) failed)"
        else:
            title = (
                f"{result.table}: {result.rows_rejected} row(s) quarantined, "
                f"{result.rows_loaded} loaded"
            )
        lines = [f"files: {', '.join(Path(f).name for f in result.files)}"]
        if result.quality is not None:
            lines.append(f"score {result.quality.score:.2f}")
            for r in result.quality.rules:
                if r.outcome != "Passed":
                    reason = f": {r.failure_reason}" if r.failure_reason else ""
                    lines.append(f"{r.outcome.upper()} {r.rule}{reason}")
        lines.append(f"quarantine: {result.quarantine}")
        event = Event(
            "ingest.quarantined",
            title,
            "\n".join(lines),
            details=result.to_dict(),
            dataset=result.table,
        )
        for d in Notifier(lake.settings).send(event):
            if not d.ok:
                log.warning("ingest %s: sink %s failed: %s", result.batch_id, d.sink, d.error)
    except Exception as e:
        log.warning("could not announce quarantined ingest %s: %s", result.batch_id, e)


# -- committing -------------------------------------------------------------------------------
def _commit(
    lake: Lake,
    target: _Target,
    staged: list[Path],
    rows: pa.Table | None,
    opts: IngestOptions,
    summary: dict[str, str],
    result: IngestResult,
    checksums: list[str],
) -> int:
    """Commit the batch as ONE catalog commit: creating the table, adding new columns and the
    data snapshot go together, so a crash before it leaves no trace; return the rows loaded."""
    from oaklake.catalog.commit import snapshot_summary

    with snapshot_summary(summary):
        if target.table is None:
            count = _create_with_data(lake, target, staged, rows, result)
            result.created_table = True
            return count
        if opts.mode == "merge":
            if not opts.force:
                _not_loaded_meanwhile(target.table, checksums, result.table)
            data = rows if rows is not None else _read_staged(staged)
            outcome = lake.table(target.full).merge(
                data,
                on=[k.strip().lower() for k in opts.key],
                delete_when=opts.delete_when,
                add_columns=list(target.new_columns),  # in the MERGE's own commit
            )
            if target.new_columns:
                result.evolved_columns = [c for c, _ in target.new_columns]
            result.snapshot_id = outcome.snapshot_id
            result.changes = {
                k: int(v) for k, v in (outcome.extra or {}).items() if isinstance(v, int)
            }
            return data.num_rows
        return _write(lake, target, staged, rows, opts, result, checksums)


def _create_with_data(
    lake: Lake, target: _Target, staged: list[Path], rows: pa.Table | None, result: IngestResult
) -> int:
    """Create the table and its first snapshot in one commit."""
    from oaklake.catalog.commit import StagedTable, commit_transaction, delete_files, stage_files
    from oaklake.engine.ddl import build_spec

    spec = build_spec(target.schema, target.partition_terms) if target.partition_terms else None
    txn = lake.catalog.create_table_transaction(
        target.schema_name,
        target.name,
        target.schema,
        partition_spec=spec,
        properties={"write.parquet.compression-codec": "zstd"},
    )
    staged_table = StagedTable(txn)
    files, count = _new_files(staged_table, target, staged, rows)
    try:
        stage_files(txn, added=files, properties={"oaklake.operation": "ingest"})
        table = commit_transaction(txn)
    except BaseException as e:
        delete_files(staged_table, files)  # type: ignore[arg-type]
        from oaklake.catalog.commit import StaleCommit

        if isinstance(e, StaleCommit):
            raise CommitConflict(
                f"{target.full} was created by someone else while the batch was read",
                hint="ingest again: the batch is then appended to that table",
            ) from None
        raise
    lake.engine.forget_table(target.schema_name, target.name)
    snap = table.current_snapshot()
    result.snapshot_id = snap.snapshot_id if snap is not None else None
    return count


def _check_ids(schema: Schema, target: _Target) -> None:
    ids = {f.name: f.field_id for f in schema.fields}
    for f in target.schema.fields:
        if ids.get(f.name) != f.field_id:
            raise CommitConflict(
                f"the schema of {target.full} changed while the batch was read",
                hint="ingest the batch again",
            )


def _not_loaded_meanwhile(table: Table, checksums: list[str], full: str) -> None:
    """Another process may have loaded the same files while this one read them: look at the
    snapshots committed since (their summaries name the files) before committing."""
    from oaklake.ingest.ledger import Ledger

    table.refresh()
    mine = set(checksums)
    done = {e["sha256"] for e in Ledger.from_summaries(table) if e["sha256"] in mine}
    if not done:
        return
    if done == mine:
        raise _AlreadyLoaded(sorted(done))
    raise CommitConflict(
        f"{len(done)} of the batch's files were loaded into {full} by another process meanwhile",
        hint="ingest again: the files already loaded are then skipped",
    )


class _AlreadyLoaded(Exception):
    """Every file of the batch was committed by another process while this one read them."""

    def __init__(self, checksums: list[str]) -> None:
        super().__init__(", ".join(checksums))
        self.checksums = checksums


def _ids_match(table: Any, target: _Target) -> bool:
    have = {f.name: f.field_id for f in table.schema().fields}
    return all(have.get(f.name) == f.field_id for f in target.schema.fields) and str(
        table.schema()
    ) == str(target.schema)


def _read_staged(staged: list[Path]) -> pa.Table:
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = [pq.read_table(p) for p in staged]
    return pa.concat_tables(tables) if tables else pa.table({})


def _new_files(
    table: Any, target: _Target, staged: list[Path], rows: pa.Table | None
) -> tuple[list[Any], int]:
    """Data files for the batch: the staged Parquet itself when it fits the table as written
    (unpartitioned, same ids), otherwise rewritten through pyiceberg's writer."""
    from oaklake.catalog.commit import adopt_parquet_files, write_data_files

    if rows is None and table.metadata.spec().is_unpartitioned() and _ids_match(table, target):
        import pyarrow.parquet as pq

        count = sum(pq.read_metadata(p).num_rows for p in staged)
        return adopt_parquet_files(table, [str(p) for p in staged]), count
    data = rows if rows is not None else _read_staged(staged)
    return write_data_files(table, data), data.num_rows


def _write(
    lake: Lake,
    target: _Target,
    staged: list[Path],
    rows: pa.Table | None,
    opts: IngestOptions,
    result: IngestResult,
    checksums: list[str],
) -> int:
    """Append or overwrite an existing table (new columns in the same commit), re-planned and
    retried when another writer commits first."""
    from oaklake.catalog.commit import (
        StagedTable,
        StaleCommit,
        add_columns,
        commit_transaction,
        delete_files,
        stage_files,
    )

    table = target.table
    assert table is not None
    if opts.partitions and table.metadata.spec().is_unpartitioned():
        raise InvalidInput(
            f"{result.table} is not partitioned; --partitions replaces partitions",
            hint="leave --partitions out to replace the whole table",
        )
    retries = max(lake.settings.commit_retries, 1) * 5
    files: list[Any] = []
    count = 0
    written_for: tuple[int, ...] | None = None
    try:
        for _ in range(retries + 1):
            if not opts.force:
                _not_loaded_meanwhile(table, checksums, result.table)
            txn = table.transaction()
            if target.new_columns:
                add_columns(txn, target.new_columns)
                _check_ids(txn.table_metadata.schema(), target)
            staged_table = StagedTable(txn)
            spec_key = (txn.table_metadata.default_spec_id, txn.table_metadata.current_schema_id)
            if written_for is None:  # the files are written (or adopted) once
                files, count = _new_files(staged_table, target, staged, rows)
                written_for = spec_key
            elif written_for != spec_key:
                raise CommitConflict(
                    f"the schema or partitioning of {result.table} changed during the commit",
                    hint="ingest again",
                )
            removed = _removed(table, files, opts, result) if opts.mode == "overwrite" else []
            operation = "ingest-overwrite" if opts.mode == "overwrite" else "ingest"
            stage_files(
                txn, added=files, removed=removed, properties={"oaklake.operation": operation}
            )
            try:
                committed = commit_transaction(txn)
            except StaleCommit:
                table.refresh()
                continue
            snap = committed.current_snapshot()
            result.snapshot_id = snap.snapshot_id if snap is not None else None
            if target.new_columns:
                result.evolved_columns = [c for c, _ in target.new_columns]
            if opts.mode == "overwrite":
                result.changes = {"deleted_files": len(removed), "added_files": len(files)}
            lake.engine.forget_table(target.schema_name, target.name)
            return count
    except BaseException:
        delete_files(table, files)
        raise
    delete_files(table, files)
    raise CommitConflict(
        f"could not commit to {result.table}: other writers kept committing", hint="ingest again"
    )


def _removed(
    table: Table, files: list[Any], opts: IngestOptions, result: IngestResult
) -> list[Any]:
    """The files an overwrite replaces: all of them, or those of the batch's partitions."""
    if table.current_snapshot() is None:
        return []
    current = list(table.scan().plan_files())
    if any(t.delete_files for t in current):
        raise NotSupported(
            f"{result.table} has delete files written by another engine",
            hint="compact it with that engine first",
        )
    removed = [t.file for t in current]
    if not opts.partitions:
        return removed
    spec_id = table.metadata.default_spec_id
    if any(f.spec_id != spec_id for f in removed):
        raise NotSupported(
            f"{result.table} has files written under an older partition spec",
            hint="OPTIMIZE the table first, or overwrite the whole table",
        )
    touched = {f.partition for f in files}
    return [f for f in removed if f.partition in touched]


_STALE_SECONDS = 24 * 3600


def _staging_folder(root: Path, batch_id: str) -> Path:
    """The batch's staging folder (made by the COPY, which wants it empty) and, beside it,
    ``<batch>.owner`` naming the process that stages into it."""
    folder = root / ".oaklake" / "staging" / batch_id
    folder.parent.mkdir(parents=True, exist_ok=True)
    _owner_file(folder).write_text(f"{socket.gethostname()} {os.getpid()}\n", encoding="utf-8")
    return folder


def _owner_file(folder: Path) -> Path:
    return folder.with_name(folder.name + ".owner")


def sweep_staging(root: Path) -> list[Path]:
    """Remove the staging folders killed ingests left behind: those whose process on this
    machine is gone, and any older than a day (another machine's, or one without an owner file).
    Runs at the start of every ingest; returns the folders it removed."""
    base = root / ".oaklake" / "staging"
    try:
        names = {e.name for e in os.scandir(base)}
    except FileNotFoundError:
        return []
    removed = []
    host = socket.gethostname()
    batches = {n.removesuffix(".owner") for n in names}
    for batch in sorted(batches):
        folder = base / batch
        owner = _owner_file(folder)
        try:
            owner_host, pid = owner.read_text(encoding="utf-8").split()
            gone = owner_host == host and not _alive(int(pid))
        except (OSError, ValueError):
            gone = False
        stamps = [t for t in (_mtime(folder), _mtime(owner)) if t is not None]
        old = bool(stamps) and time.time() - max(stamps) > _STALE_SECONDS
        if gone or old:
            shutil.rmtree(folder, ignore_errors=True)
            owner.unlink(missing_ok=True)
            removed.append(folder)
    return removed


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:  # gone meanwhile (its ingest finished)
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _drop_empty(folder: Path) -> None:
    for p in (folder, folder.parent):
        try:
            p.rmdir()
        except OSError:
            return
