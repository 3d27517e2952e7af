"""What a ruleset runs on: an Iceberg table (optionally at a snapshot), a SQL query, or a file.

Binding a dataset makes it a DuckDB view in the engine's connection, resolved like any query
(so an Iceberg table is read by field id from its planned files); the evaluator then runs its
fused metric queries against that one view, whatever the dataset's kind.
"""

from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from oaklake.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from oaklake.engine.resolve import Resolver
    from oaklake.engine.session import Engine

_NAMES = itertools.count()
FILE_READERS = {
    ".csv": "read_csv",
    ".tsv": "read_csv",
    ".txt": "read_csv",
    ".json": "read_json_auto",
    ".jsonl": "read_json_auto",
    ".ndjson": "read_json_auto",
    ".parquet": "read_parquet",
}


@dataclass(frozen=True)
class Dataset:
    """A dataset by reference; ``name`` keys its metric history (with the evaluation context)."""

    kind: Literal["table", "sql", "file"]
    name: str
    table: str | None = None
    snapshot_id: int | None = None
    sql: str | None = None
    path: str | None = None

    @classmethod
    def of_table(cls, table: str, snapshot_id: int | None = None) -> Dataset:
        return cls(kind="table", name=table.lower(), table=table, snapshot_id=snapshot_id)

    @classmethod
    def of_sql(cls, sql: str, name: str | None = None) -> Dataset:
        return cls(kind="sql", name=name or "sql", sql=sql)

    @classmethod
    def of_file(cls, path: str | Path, name: str | None = None) -> Dataset:
        p = Path(path)
        return cls(kind="file", name=name or p.name, path=str(p))


@dataclass
class BoundDataset:
    """A dataset made readable in DuckDB as ``view``; close it to drop the temp views."""

    dataset: Dataset
    view: str
    columns: list[tuple[str, str]]  # (name, DuckDB type)
    files: list[Path] = field(default_factory=list)
    _resolver: Resolver | None = None
    _engine: Engine | None = None

    @property
    def column_names(self) -> list[str]:
        return [c for c, _ in self.columns]

    def close(self) -> None:
        if self._engine is not None:
            # best effort: the connection may be gone already
            with contextlib.suppress(Exception):
                self._engine.con.execute(f'DROP VIEW IF EXISTS "{self.view}"')
        if self._resolver is not None:
            self._resolver.cleanup()

    def __enter__(self) -> BoundDataset:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def bind(engine: Engine, dataset: Dataset) -> BoundDataset:
    """Create the DuckDB view for a dataset (raises NotFound / InvalidInput for bad references)."""
    from oaklake.engine.resolve import Resolver
    from oaklake.engine.statements import parse
    from oaklake.engine.translate import to_duckdb

    view = f"__oak_dq_{next(_NAMES)}"
    files: list[Path] = []
    resolver = Resolver(engine)
    if dataset.kind == "file":
        assert dataset.path is not None
        files = _expand(dataset.path)
        reader = FILE_READERS.get(files[0].suffix.lower().replace(".gz", "") or "")
        if reader is None:
            suffixes = "".join(files[0].suffixes).lower()
            reader = next((r for s, r in FILE_READERS.items() if s in suffixes), None)
        if reader is None:
            raise InvalidInput(
                f"cannot tell the format of {files[0].name}",
                hint="use a .csv, .tsv, .json, .jsonl or .parquet file",
            )
        paths = "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in files) + "]"
        select = f"SELECT * FROM {reader}({paths})"
    else:
        if dataset.kind == "table":
            assert dataset.table is not None
            version = (
                f" FOR VERSION AS OF {int(dataset.snapshot_id)}" if dataset.snapshot_id else ""
            )
            text = f"SELECT * FROM {dataset.table}{version}"
        else:
            assert dataset.sql is not None
            text = dataset.sql
        tree = parse(text)
        from sqlglot import exp

        if not isinstance(tree, exp.Query):
            raise InvalidInput(
                "a quality check runs on a query (SELECT …), not on other statements"
            )
        select = to_duckdb(resolver.resolve(tree, engine.current_schema))
    try:
        engine._duck(
            lambda: engine.con.execute(f'CREATE OR REPLACE TEMP VIEW "{view}" AS {select}')
        )
        described = engine._duck(lambda: engine.con.execute(f'DESCRIBE "{view}"').fetchall())
    except BaseException:
        resolver.cleanup()
        raise
    columns = [(str(r[0]), str(r[1])) for r in described]
    return BoundDataset(
        dataset=dataset, view=view, columns=columns, files=files, _resolver=resolver, _engine=engine
    )


def _expand(path: str) -> list[Path]:
    import glob

    p = Path(path).expanduser()
    if p.is_dir():
        found = sorted(q for q in p.rglob("*") if q.is_file() and not q.name.startswith("."))
    elif any(ch in path for ch in "*?["):
        found = sorted(Path(q) for q in glob.glob(path, recursive=True) if Path(q).is_file())
    else:
        if not p.exists():
            raise NotFound(f"no such file: {path}", code="FILE_NOT_FOUND")
        found = [p]
    if not found:
        raise NotFound(f"no files match {path}", code="FILE_NOT_FOUND")
    return [f.resolve() for f in found]
