"""Engine-suite fixtures: a shared sample lake with the same rows in plain DuckDB.

The sample lake (orders, customers, items) is built once per module that asks for it and must be
treated as read-only by its tests; tests that write use the per-test ``lake`` fixture instead.
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from engine_helpers import values_sql

import oaklake
from oaklake.app import Lake

# -- the shared sample lake ---------------------------------------------------------------

SAMPLE_DDL = {
    "customers": (
        "CREATE TABLE customers (customer_id bigint, name string, region string, signup date, "
        "tier int) PARTITIONED BY (region)",
        "CREATE TABLE customers (customer_id BIGINT, name VARCHAR, region VARCHAR, signup DATE, "
        "tier INTEGER)",
    ),
    "orders": (
        "CREATE TABLE orders (order_id bigint, customer_id bigint, ts timestamp, status string, "
        "amount decimal(10,2), qty int, discount double) "
        "PARTITIONED BY (day(ts), bucket(2, customer_id))",
        "CREATE TABLE orders (order_id BIGINT, customer_id BIGINT, ts TIMESTAMP, status VARCHAR, "
        "amount DECIMAL(10,2), qty INTEGER, discount DOUBLE)",
    ),
    "items": (
        "CREATE TABLE items (order_id bigint, sku string, price decimal(8,2), quantity int) "
        "PARTITIONED BY (truncate(5, sku))",
        "CREATE TABLE items (order_id BIGINT, sku VARCHAR, price DECIMAL(8,2), quantity INTEGER)",
    ),
}


def sample_rows() -> dict[str, list[tuple[Any, ...]]]:
    """Deterministic rows with NULLs in every nullable place a query might trip over."""
    rng = random.Random(20240301)
    first = ["Ada", "bob", "Chloé", "Dmitri", "Eve", "Farah", "Gus", "hana", "Ivo", "Jun"]
    last = ["Lovelace", "Stone", "O'Neil", "Ng", "Smith", "  Padded  ", "Park"]
    regions = ["north", "south", "east", "west", None]
    customers = []
    for cid in range(1, 31):
        customers.append(
            (
                cid,
                None if cid % 11 == 0 else f"{rng.choice(first)} {rng.choice(last)}",
                regions[cid % 5],
                dt.date(2023, 1, 1) + dt.timedelta(days=rng.randrange(0, 400)),
                None if cid % 7 == 0 else rng.randrange(1, 4),
            )
        )
    statuses = ["placed", "shipped", "delivered", "cancelled", None]
    orders = []
    start = dt.datetime(2024, 3, 1)
    for oid in range(1, 241):
        cid = None if oid % 19 == 0 else rng.randrange(1, 36)  # 31..35: no customer row
        if cid is not None and 26 <= cid <= 30:
            cid += 10  # customers 26..30 place no orders
        orders.append(
            (
                oid,
                cid,
                start + dt.timedelta(minutes=rng.randrange(0, 5 * 24 * 60)),
                statuses[rng.randrange(0, 5)] if oid % 13 else None,
                None
                if oid % 17 == 0
                else decimal.Decimal(rng.randrange(100, 50000)) / decimal.Decimal(100),
                rng.randrange(1, 11),
                None if oid % 6 == 0 else rng.choice([0.0, 0.05, 0.1, 0.125, 0.25]),
            )
        )
    items = []
    for oid in range(1, 241, 2):
        for _ in range(rng.randrange(1, 4)):
            items.append(
                (
                    oid,
                    f"SKU-{rng.choice('abcde')}{rng.randrange(10, 99)}",
                    decimal.Decimal(rng.randrange(50, 9999)) / decimal.Decimal(100),
                    rng.randrange(1, 5),
                )
            )
    return {"customers": customers, "orders": orders, "items": items}


def batches(rows: list[Any], n: int) -> Iterator[list[Any]]:
    size = -(-len(rows) // n)
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


class Sample:
    """The same rows in an oaklake workspace and in a plain DuckDB connection."""

    def __init__(self, lake: Lake, duck: duckdb.DuckDBPyConnection, rows: dict[str, Any]) -> None:
        self.lake = lake
        self.duck = duck
        self.rows = rows


def _fresh_lake(tmp_path_factory: pytest.TempPathFactory, name: str) -> Lake:
    with pytest.MonkeyPatch.context() as mp:  # the autouse isolation is per test, not per module
        for key in list(os.environ):
            if key.startswith("OAKLAKE_"):
                mp.delenv(key)
        return oaklake.init(Path(tmp_path_factory.mktemp(name)) / "ws")


@pytest.fixture(scope="module")
def module_lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    """One empty workspace for a module whose tests only read (or clean up after themselves)."""
    lake = _fresh_lake(tmp_path_factory, "module")
    yield lake
    lake.close()


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sample]:
    """Read-only sample data; orders arrive in three INSERTs (three snapshots, many files)."""
    lake = _fresh_lake(tmp_path_factory, "sample")
    duck = duckdb.connect()
    duck.execute("SET TimeZone = 'UTC'")
    duck.execute("SET integer_division = true")
    rows = sample_rows()
    for name, (athena_ddl, duck_ddl) in SAMPLE_DDL.items():
        lake.sql(athena_ddl)
        duck.execute(duck_ddl)
        for batch in batches(rows[name], 3 if name == "orders" else 1):
            insert = f"INSERT INTO {name} VALUES {values_sql(batch)}"
            lake.sql(insert)
            duck.execute(insert)
    yield Sample(lake, duck, rows)
    lake.close()
    duck.close()
