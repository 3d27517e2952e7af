"""Result checks: oaklake against plain DuckDB, and row counts against the TPC-H answers.

Rows are compared in order first (every query has an ORDER BY); when that fails they are compared
as sorted lists, since rows that tie on the ORDER BY keys may come back in either order. Numbers
compare with a relative tolerance: the engines may sum decimals and doubles in different orders.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from typing import Any

# Rows in each query's answer at scale factor 1 (the TPC-H reference answers).
SF1_ROWS = {
    1: 4, 2: 100, 3: 10, 4: 5, 5: 5, 6: 1, 7: 4, 8: 2, 9: 175, 10: 20, 11: 1048,
    12: 2, 13: 42, 14: 1, 15: 1, 16: 18314, 17: 1, 18: 57, 19: 1, 20: 186, 21: 100, 22: 7,
}  # fmt: skip

# Single-value answers at scale factor 1 (the TPC-H reference answers, rounded as published).
SF1_VALUES = {6: 123141078.23, 14: 16.38, 17: 348406.05, 19: 3083843.06}


def _norm(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _rows(arrow: Any) -> list[tuple[Any, ...]]:
    cols = [[_norm(v) for v in c.to_pylist()] for c in arrow.columns]
    return list(zip(*cols, strict=True)) if cols else []


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-6)
    return bool(a == b)


def _same_rows(left: list[tuple[Any, ...]], right: list[tuple[Any, ...]]) -> bool:
    return len(left) == len(right) and all(
        len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b, strict=True))
        for a, b in zip(left, right, strict=True)
    )


def _sort_key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(
        (0, "") if v is None else (1, round(v, 6)) if isinstance(v, float) else (2, str(v))
        for v in row
    )


def compare(got: Any, want: Any) -> str | None:
    """None when the two Arrow tables hold the same result, else what differs."""
    got_cols = [c.lower() for c in got.column_names]
    want_cols = [c.lower() for c in want.column_names]
    if got_cols != want_cols:
        return f"columns differ: {got_cols} vs {want_cols}"
    a, b = _rows(got), _rows(want)
    if len(a) != len(b):
        return f"row counts differ: {len(a)} vs {len(b)}"
    if _same_rows(a, b) or _same_rows(sorted(a, key=_sort_key), sorted(b, key=_sort_key)):
        return None
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if not _same_rows([x], [y]):
            return f"first difference at row {i}: {x!r} vs {y!r}"
    return "rows differ"  # pragma: no cover - same in order row by row means same


def reference(query: int, arrow: Any, scale: float) -> str | None:
    """At SF1, check the answer's row count (and single values) against the TPC-H answers."""
    if scale != 1:
        return None
    if arrow.num_rows != SF1_ROWS[query]:
        return f"{arrow.num_rows} rows, the TPC-H answer has {SF1_ROWS[query]}"
    if query in SF1_VALUES:
        value = _norm(arrow.column(0)[0].as_py())
        if value is None or abs(float(value) - SF1_VALUES[query]) > 0.01:
            return f"value {value}, the TPC-H answer is {SF1_VALUES[query]}"
    return None
