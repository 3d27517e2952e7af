"""The result of one statement: columns and rows, convertible to Arrow and pandas."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


@dataclass
class Result:
    """What a statement returned; DDL and DML results carry a ``message`` and maybe a row count."""

    table: pa.Table | None = None
    message: str = ""
    statement: str = ""
    affected_rows: int | None = None
    snapshot_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Small results computed without Arrow (constant SELECTs) keep plain rows instead.
    plain_columns: list[str] | None = None
    plain_rows: list[tuple[Any, ...]] | None = None

    @property
    def has_rows(self) -> bool:
        return self.table is not None or self.plain_columns is not None

    @property
    def columns(self) -> list[str]:
        if self.plain_columns is not None:
            return list(self.plain_columns)
        return list(self.table.column_names) if self.table is not None else []

    @property
    def rows(self) -> list[tuple[Any, ...]]:
        if self.plain_rows is not None:
            return list(self.plain_rows)
        if self.table is None:
            return []
        cols = [c.to_pylist() for c in self.table.columns]
        return list(zip(*cols, strict=True)) if cols else []

    def to_arrow(self) -> pa.Table:
        import pyarrow as pa

        if self.table is None and self.plain_columns is not None:
            rows = self.plain_rows or []
            return pa.table({c: [r[i] for r in rows] for i, c in enumerate(self.plain_columns)})
        return self.table if self.table is not None else pa.table({})

    def to_pandas(self) -> pd.DataFrame:
        try:
            import pandas  # noqa: F401
        except ImportError as e:
            from oaklake.errors import MissingDependency

            raise MissingDependency(
                "pandas is not installed", hint="pip install 'oaklake[pandas]'"
            ) from e
        return self.to_arrow().to_pandas()

    def scalar(self) -> Any:
        rows = self.rows
        return rows[0][0] if rows else None

    def __len__(self) -> int:
        if self.plain_rows is not None:
            return len(self.plain_rows)
        return self.table.num_rows if self.table is not None else 0

    def __repr__(self) -> str:
        if not self.has_rows:
            return f"Result({self.message!r})"
        return f"Result(columns={self.columns}, rows={len(self)})"
