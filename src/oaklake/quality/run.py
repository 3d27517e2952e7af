"""One quality run from start to end: check the input, evaluate, record, write rows, announce.

Everything a user can get wrong (a missing rules file, DQDL that does not parse, an unknown table,
a bad ``--ref``, a row-level target oaklake cannot write) is checked *before* the evaluation, so
a refused run records nothing. After the evaluation the run is recorded first; a failing
notification sink is logged and never costs the result.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from oaklake.errors import InvalidInput, NotFound, OakError, SchemaNotFound
from oaklake.quality.dataset import FILE_READERS, Dataset
from oaklake.quality.store import MetricStore

if TYPE_CHECKING:
    import pyarrow as pa

    from oaklake.app import Lake
    from oaklake.quality.ast import Ruleset
    from oaklake.quality.results import DqResult

log = logging.getLogger("oaklake.quality")

COMPOSITE_MODES = ("dataset", "row")
ROW_LEVEL_FORMATS = {".parquet": "parquet", ".csv": "csv", ".jsonl": "json", ".json": "json"}
_REF_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}")


class RowLevelWriteFailed(OakError):
    """The run was evaluated and recorded, but its row-level outcomes could not be written."""

    code = "INVALID_INPUT"

    def __init__(self, message: str, result: DqResult, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.result = result


# -- input ----------------------------------------------------------------------------------
def ruleset_text(value: str | os.PathLike[str]) -> str:
    """DQDL from a path (a ``Path``, or a one-line string naming an existing file) or the text
    itself."""
    if isinstance(value, os.PathLike):
        return _read(Path(value))
    if value.strip() and "\n" not in value and len(value) < 4096:
        candidate = Path(value).expanduser()
        if candidate.is_file():
            return _read(candidate)
        if candidate.is_dir():
            raise InvalidInput(
                f"{value} is a folder, not a DQDL file",
                code="FILE_UNREADABLE",
                hint="pass the rules file inside it",
            )
        if "[" not in value and "=" not in value:  # a path, not DQDL: say so
            raise NotFound(
                f"no such rules file: {value}",
                code="FILE_NOT_FOUND",
                hint="pass a DQDL file, or the ruleset text itself",
            )
    return value


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise NotFound(f"no such rules file: {path}", code="FILE_NOT_FOUND") from None
    except IsADirectoryError:
        raise InvalidInput(
            f"{path} is a folder, not a DQDL file",
            code="FILE_UNREADABLE",
            hint="pass the rules file inside it",
        ) from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{path} is not UTF-8 text") from None
    except OSError as e:
        raise InvalidInput(f"cannot read {path}: {e.strerror}", code="FILE_UNREADABLE") from None


def parse(text: str) -> Ruleset:
    from oaklake.quality.parse import parse_ruleset

    return parse_ruleset(text)


def table_name(lake: Lake, name: str, *, must_exist: bool = True) -> str:
    """``db.t`` as the catalog spells it (``t`` gets the default schema); the table must exist."""
    from oaklake.engine.ddl import parse_name

    schema, table = parse_name(lake.engine, name)
    if must_exist:
        lake.engine.load_table(schema, table)  # TableNotFound / SchemaNotFound with a hint
    return f"{schema}.{table}"


def dataset_of(
    lake: Lake,
    *,
    table: str | None = None,
    version: int | str | None = None,
    sql: str | None = None,
    file: str | os.PathLike[str] | None = None,
) -> Dataset:
    """The one dataset a run checks: a table (optionally at a snapshot), a query or a file."""
    given = [k for k, v in (("table", table), ("sql", sql), ("file", file)) if v is not None]
    if len(given) != 1:
        raise InvalidInput(
            "give exactly one dataset: a table, a SQL query or a file"
            + (f" (got {' and '.join(given)})" if given else ""),
            hint="oaklake dq run --rules checks.dqdl --table sales.orders",
        )
    if version is not None and table is None:
        raise InvalidInput("--version picks a snapshot of a table; it needs --table")
    if table is not None:
        full = table_name(lake, table)
        snapshot = None
        if version is not None:
            try:
                snapshot = int(version)
            except (TypeError, ValueError):
                raise InvalidInput(
                    f"a snapshot id is a whole number, got {version!r}",
                    hint=f'SELECT snapshot_id FROM "{full}$snapshots"',
                ) from None
        return Dataset(kind="table", name=full, table=full, snapshot_id=snapshot)
    if sql is not None:
        if not sql.strip():
            raise InvalidInput("the SQL query is empty")
        digest = hashlib.sha256(" ".join(sql.split()).encode("utf-8")).hexdigest()[:12]
        return Dataset.of_sql(sql, name=f"sql:{digest}")
    assert file is not None
    from oaklake.quality.dataset import _expand

    _expand(str(file))  # FILE_NOT_FOUND now, not half-way through a run
    return Dataset.of_file(os.fspath(file))


def refs_of(
    lake: Lake, refs: Mapping[str, str | Dataset] | Iterable[str] | None
) -> dict[str, Dataset]:
    """Reference datasets by name, from ``{"ref": "db.t"}`` or ``["ref=db.t", "x=path.csv"]``."""
    if refs is None:
        return {}
    pairs: list[tuple[str, str | Dataset]] = []
    if isinstance(refs, Mapping):
        pairs = list(refs.items())
    else:
        for spec in refs:
            name, sep, given = str(spec).partition("=")
            if not sep or not name.strip() or not given.strip():
                raise InvalidInput(
                    f"a reference is NAME=DB.TABLE or NAME=PATH, got {spec!r}",
                    hint="--ref customers=sales.customers",
                )
            pairs.append((name.strip(), given.strip()))
    out: dict[str, Dataset] = {}
    for name, target in pairs:
        if not _REF_NAME.fullmatch(name):
            raise InvalidInput(
                f"invalid reference name {name!r}",
                hint="letters, digits and _ (the name DQDL rules refer to)",
            )
        if name in out:
            raise InvalidInput(f"reference {name!r} is given twice")
        if isinstance(target, Dataset):
            out[name] = target
        elif _looks_like_file(target):
            from oaklake.quality.dataset import _expand

            _expand(target)
            out[name] = Dataset.of_file(target, name=name)
        else:
            full = table_name(lake, target)
            out[name] = Dataset(kind="table", name=full, table=full)
    return out


def _looks_like_file(target: str) -> bool:
    if os.sep in target or "/" in target or Path(target).expanduser().exists():
        return True
    suffixes = "".join(Path(target).suffixes).lower()
    return any(s in suffixes for s in FILE_READERS)


# -- row-level target -----------------------------------------------------------------------
@dataclass(frozen=True)
class RowLevelTarget:
    kind: Literal["file", "table"]
    where: str  # a file path, or db.t
    format: str = ""


def row_level_target(lake: Lake, out: str | os.PathLike[str]) -> RowLevelTarget:
    """Where row-level outcomes go: a .parquet/.csv/.jsonl file, or an Iceberg table ``db.t``."""
    text = os.fspath(out)
    suffix = Path(text).suffix.lower()
    if suffix in ROW_LEVEL_FORMATS:
        path = Path(text).expanduser().resolve()
        if not path.parent.is_dir():
            raise NotFound(
                f"no folder {path.parent} for the row-level outcomes",
                code="FILE_NOT_FOUND",
                hint="create the folder first",
            )
        if path.is_dir():
            raise InvalidInput(f"{path} is a folder; row-level outcomes go to a file")
        return RowLevelTarget("file", str(path), ROW_LEVEL_FORMATS[suffix])
    if "/" in text or os.sep in text or not _TABLE_NAME.fullmatch(text):
        raise InvalidInput(
            f"cannot tell where to write row-level outcomes: {text!r}",
            hint="a file ending in .parquet, .csv or .jsonl, or a table such as dq.orders_rows",
        )
    from oaklake.engine.ddl import parse_name

    schema, table = parse_name(lake.engine, text)
    if not lake.catalog.schema_exists(schema):
        raise SchemaNotFound(
            f"schema {schema} does not exist",
            hint=f"CREATE SCHEMA {schema} first; for a file, end the name in .parquet/.csv/.jsonl",
        )
    return RowLevelTarget("table", f"{schema}.{table}")


def write_row_level(lake: Lake, rows: pa.Table, target: RowLevelTarget, run_id: str) -> str:
    """Write the row-level outcomes; a table also gets ``dq_run_id`` (it gathers many runs)."""
    import pyarrow as pa

    engine = lake.engine
    if target.kind == "file":
        name = f"__oak_dq_rows_{os.getpid()}_{id(rows)}"
        engine.con.register(name, rows)
        try:
            options = (
                "FORMAT parquet"
                if target.format == "parquet"
                else ("FORMAT csv, HEADER true" if target.format == "csv" else "FORMAT json")
            )
            columns = "*"
            if target.format == "csv":  # lists and structs as JSON text: unambiguous in a cell
                nested = (pa.types.is_nested(f.type) for f in rows.schema)
                columns = ", ".join(
                    f"to_json({q})::VARCHAR AS {q}" if is_nested else q
                    for q, is_nested in zip(
                        ('"' + c.replace('"', '""') + '"' for c in rows.column_names),
                        nested,
                        strict=True,
                    )
                )
            path = target.where.replace("'", "''")
            engine._duck(
                lambda: engine.con.execute(
                    f"COPY (SELECT {columns} FROM \"{name}\") TO '{path}' ({options})"
                )
            )
        finally:
            engine.con.unregister(name)
        return target.where
    rows = rows.append_column("dq_run_id", pa.array([run_id] * rows.num_rows, pa.string()))
    rows = rows.rename_columns([c.lower() for c in rows.column_names])
    schema, table = target.where.split(".")
    if not lake.catalog.table_exists(schema, table):
        _create_like(lake, schema, table, rows)
    lake.table(target.where).append(rows)
    return target.where


def _create_like(lake: Lake, schema: str, table: str, rows: pa.Table) -> None:
    """A new Iceberg table with the columns (and types) of ``rows``, as CTAS would make it."""
    from oaklake.catalog import types as ctypes

    engine = lake.engine
    name = f"__oak_dq_rows_{os.getpid()}_{id(rows)}"
    engine.con.register(name, rows)
    try:
        described = engine._duck(lambda: engine.con.execute(f'DESCRIBE "{name}"').fetchall())
    finally:
        engine.con.unregister(name)
    columns: list[tuple[str, Any, str | None]] = [
        (str(r[0]), ctypes.from_duckdb(str(r[1]), str(r[0])), None) for r in described
    ]
    lake.catalog.create_table(
        schema,
        table,
        ctypes.schema_from_columns(columns),
        properties={"write.parquet.compression-codec": "zstd"},
    )
    engine.forget_table(schema, table)


# -- the run --------------------------------------------------------------------------------
def run_quality(
    lake: Lake,
    ruleset_text: str,
    dataset: Dataset,
    *,
    refs: Mapping[str, str | Dataset] | Iterable[str] | None = None,
    context: str = "default",
    composite: str = "dataset",
    row_level_out: str | os.PathLike[str] | None = None,
    notify: bool = True,
    now: dt.datetime | None = None,
) -> DqResult:
    """Evaluate ``ruleset_text`` on ``dataset``, record the run in ``oaklake_system``, write the
    row-level outcomes when asked, and announce failures and anomalies.

    ``now`` is the evaluation time (default: the clock); runs are filed under it, so a backfill
    can replay days in order.
    """
    ruleset = parse(ruleset_text)  # DqdlSyntaxError: nothing recorded
    if composite not in COMPOSITE_MODES:
        raise InvalidInput(f"unknown composite mode {composite!r}", hint="dataset or row")
    if not context or not context.strip():
        raise InvalidInput("the evaluation context must not be empty", hint="--context default")
    bound_refs = refs_of(lake, refs)
    target = row_level_target(lake, row_level_out) if row_level_out is not None else None
    store = MetricStore(lake)
    from oaklake.quality.evaluate import evaluate

    result = evaluate(
        lake.engine,
        ruleset,
        dataset,
        refs=bound_refs,
        context=context,
        composite="row" if composite == "row" else "dataset",
        row_level=target is not None,
        history=store,
        now=now,
    )
    if result.finished_at is None:
        result.finished_at = dt.datetime.now(dt.UTC)
    store.record(
        result,
        ruleset_text=ruleset_text,
        at=now,
        dataset_kind=dataset.kind,
        snapshot_id=dataset.snapshot_id,
    )
    problem: Exception | None = None
    if target is not None:
        try:
            if result.row_level is None:
                raise InvalidInput("the evaluator returned no row-level outcomes")
            write_row_level(lake, result.row_level, target, result.run_id)
        except Exception as e:
            problem = e
    if notify:
        announce(lake, result)
    if problem is not None:
        raise RowLevelWriteFailed(
            f"run {result.run_id} was recorded, but its row-level outcomes could not be "
            f"written to {target.where if target else '?'}: {problem}",
            result,
            hint="check the target; the rule outcomes are in oaklake_system.dq_rule_results",
        ) from problem
    return result


# -- notifications --------------------------------------------------------------------------
def event_for(result: DqResult) -> Any:
    """The event a run is announced with, or None when there is nothing to say.

    ``quality.failed`` when a rule failed or errored (anomalies ride along in its details),
    ``quality.anomaly`` when every rule passed but a metric fell outside its expected band (an
    analyzer's): one event per run. In-band observations are not news.
    """
    from oaklake.notify import Event
    from oaklake.quality.store import is_anomaly

    failed = [r for r in result.rules if r.outcome != "Passed"]
    anomalies = [o for o in result.observations if is_anomaly(o)]
    if not failed and not anomalies:
        return None
    total = len(result.rules)
    lines = [f"score {result.score:.2f} ({total - len(failed)} of {total} rules passed)"]
    for r in failed:
        reason = f": {r.failure_reason}" if r.failure_reason else ""
        lines.append(f"{r.outcome.upper()} {r.rule}{reason}")
    for o in anomalies:
        lines.append(f"ANOMALY {o.metric}: {o.description}")
    if failed:
        kind = "quality.failed"
        noun = "rule" if total == 1 else "rules"
        title = f"{result.dataset}: {len(failed)} of {total} {noun} failed"
    else:
        kind = "quality.anomaly"
        count = len(anomalies)
        title = f"{result.dataset}: {count} {'anomaly' if count == 1 else 'anomalies'} observed"
    details = {
        "run_id": result.run_id,
        "context": result.context,
        "score": result.score,
        "rules_total": total,
        "rules_failed": len(failed),
        "rows_processed": result.rows_processed,
        "failed_rules": [
            {"rule": r.rule, "outcome": r.outcome, "failure_reason": r.failure_reason}
            for r in failed
        ],
        "anomalies": [o.to_dict() for o in anomalies],
    }
    return Event(kind, title, "\n".join(lines), details=details, dataset=result.dataset)


def announce(lake: Lake, result: DqResult) -> list[Any]:
    """Send the run's event to the workspace's sinks; never raises (the result matters more)."""
    try:
        event = event_for(result)
        if event is None:
            return []
        from oaklake.notify import Notifier

        deliveries = Notifier(lake.settings).send(event)
    except Exception as e:  # a broken [notify] section must not cost the recorded run
        log.warning("could not announce quality run %s: %s", result.run_id, e)
        return []
    for d in deliveries:
        if not d.ok:
            log.warning("quality run %s: sink %s failed: %s", result.run_id, d.sink, d.error)
    return list(deliveries)


# -- the Lake's other quality verbs ---------------------------------------------------------
def dq_run(
    lake: Lake,
    rules: str | os.PathLike[str] | None = None,
    *,
    table: str | None = None,
    version: int | str | None = None,
    sql: str | None = None,
    file: str | os.PathLike[str] | None = None,
    refs: Mapping[str, str | Dataset] | Iterable[str] | None = None,
    context: str = "default",
    composite: str = "dataset",
    row_level: str | os.PathLike[str] | None = None,
    notify: bool = True,
    now: dt.datetime | None = None,
) -> DqResult:
    text = ruleset_text(rules) if rules is not None else None
    dataset = dataset_of(lake, table=table, version=version, sql=sql, file=file)
    if text is None:
        attached = MetricStore(lake).ruleset(dataset.name) if dataset.kind == "table" else None
        if attached is None:
            where = (
                f"{dataset.name} has no attached ruleset"
                if dataset.kind == "table"
                else ("only a table can have an attached ruleset")
            )
            raise InvalidInput(
                f"no rules to run: {where}",
                hint="pass --rules FILE, or attach one: oaklake dq attach "
                + (dataset.name if dataset.kind == "table" else "DB.TABLE")
                + " FILE",
            )
        text = attached
    return run_quality(
        lake,
        text,
        dataset,
        refs=refs,
        context=context,
        composite=composite,
        row_level_out=row_level,
        notify=notify,
        now=now,
    )


def dq_attach(lake: Lake, table: str, ruleset: str | os.PathLike[str]) -> Ruleset:
    """Validate a ruleset and make it the table's default; returns the parsed ruleset."""
    full = table_name(lake, table)
    text = ruleset_text(ruleset)
    parsed = parse(text)
    MetricStore(lake).attach(full, text)
    return parsed


def dq_ruleset(lake: Lake, table: str) -> str | None:
    return MetricStore(lake).ruleset(table_name(lake, table, must_exist=False))


def dq_history(lake: Lake, table: str, *, limit: int | None = None) -> Any:
    """The table's recorded runs, newest first (an unknown table with no runs is an error)."""
    from oaklake.engine.result import Result

    store = MetricStore(lake)
    full = history_name(lake, store, table)
    if not store.has_runs(full):
        table_name(lake, table)  # TableNotFound when it is neither a table nor in the history
        import pyarrow as pa

        from oaklake.quality.store import arrow_schema

        runs = arrow_schema("dq_runs")
        empty = pa.schema([runs.field(c) for c in store.HISTORY_COLUMNS])
        return Result(table=empty.empty_table(), message=f"no quality runs of {full} yet")
    result: Result = lake.sql(store.history_sql(full, limit))
    return result


def history_name(lake: Lake, store: MetricStore, name: str) -> str:
    """The name a dataset's history is kept under: as given when runs are filed under it (a
    file such as ``orders.csv``, a ``sql:…`` query), else as a table (``t`` → ``default.t``)."""
    if store.has_runs(name):
        return name
    try:
        return table_name(lake, name, must_exist=False)
    except InvalidInput:
        return name


def dq_recommend(
    lake: Lake,
    *,
    table: str | None = None,
    version: int | str | None = None,
    sql: str | None = None,
    file: str | os.PathLike[str] | None = None,
    output: str | os.PathLike[str] | None = None,
) -> str:
    """A starting ruleset from the data's profile (Glue's "Recommend rules"); written to
    ``output`` when given."""
    from oaklake.quality.recommend import recommend

    dataset = dataset_of(lake, table=table, version=version, sql=sql, file=file)
    text = recommend(lake.engine, dataset)
    if output is not None:
        path = Path(output).expanduser()
        if not path.parent.is_dir():
            raise NotFound(f"no folder {path.parent} for the ruleset", code="FILE_NOT_FOUND")
        path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    return text


def dq_annotate(
    lake: Lake,
    dataset: str,
    metric: str,
    *,
    include: bool,
    run_id: str | None = None,
    at: dt.datetime | None = None,
    context: str = "default",
) -> int:
    """INCLUDE or EXCLUDE one recorded metric value from what later runs learn from."""
    store = MetricStore(lake)
    name = history_name(lake, store, dataset)
    return store.annotate(name, metric, include=include, run_id=run_id, at=at, context=context)
