"""Helpers the engine tests share: comparing result sets, SQL literals, expected errors."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable, Sequence
from typing import Any

import pytest

from oaklake.errors import OakError

# -- comparing results -------------------------------------------------------------------


def normalise(value: Any) -> Any:
    """One spelling per value, so DuckDB's and oaklake's Python values compare equal.

    Numbers compare by value (DuckDB returns HUGEINT sums as int, Arrow as Decimal); floats are
    rounded so that summation order does not matter; nested values become tuples.
    """
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | decimal.Decimal | float):
        if isinstance(value, float) and value != value:  # NaN
            return "NaN"
        if isinstance(value, int) or (
            isinstance(value, decimal.Decimal) and value == value.to_integral_value()
        ):
            return int(value)
        return round(float(value), 6)
    if isinstance(value, list | tuple):
        return tuple(normalise(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), repr(normalise(v))) for k, v in value.items()))
    return value


def _sort_key(value: Any) -> tuple[Any, ...]:
    if value is None:
        return (1, 0, "")
    if isinstance(value, bool):
        return (0, 0, int(value))
    if isinstance(value, int | float):
        return (0, 1, value)
    if isinstance(value, str):
        return (0, 2, value)
    if isinstance(value, dt.datetime):
        return (0, 3, value.isoformat())
    if isinstance(value, dt.date):
        return (0, 4, value.isoformat())
    return (0, 5, repr(value))


def canonical(rows: Iterable[Sequence[Any]], *, ordered: bool = False) -> list[tuple[Any, ...]]:
    """Rows with normalised values; sorted (a multiset) unless the order itself is under test."""
    out = [tuple(normalise(v) for v in row) for row in rows]
    if not ordered:
        out.sort(key=lambda row: tuple(_sort_key(v) for v in row))
    return out


# -- SQL literals ------------------------------------------------------------------------


def sql_literal(value: Any) -> str:
    """A literal both Athena and DuckDB read as the same value."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | decimal.Decimal):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime):
        return f"TIMESTAMP '{value:%Y-%m-%d %H:%M:%S}'"
    if isinstance(value, dt.date):
        return f"DATE '{value:%Y-%m-%d}'"
    return "'" + str(value).replace("'", "''") + "'"


def values_sql(rows: Iterable[Sequence[Any]]) -> str:
    return ", ".join("(" + ", ".join(sql_literal(v) for v in row) + ")" for row in rows)


def error_code(fn: Any, *args: Any) -> str:
    """The oaklake error code ``fn(*args)`` raises (fails the test if it raises nothing)."""
    with pytest.raises(OakError) as info:
        fn(*args)
    return info.value.code
