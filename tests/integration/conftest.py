"""Fixtures for tests against real components (a real PostgreSQL for the catalog).

``.ci/postgres.sh`` starts a throwaway PostgreSQL and exports ``OAKLAKE_TEST_PG_URI``; without it
these tests skip, except in CI (``CI=true``), where a skip would hide that they never ran.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# tests/conftest.py clears every other OAKLAKE_* variable for each test, but keeps this one.
PG_URI_ENV = "OAKLAKE_TEST_PG_URI"


def _connect_kwargs(uri: str, database: str | None = None) -> dict[str, Any]:
    """psycopg2.connect() arguments for a SQLAlchemy URI (optionally another database)."""
    from sqlalchemy.engine import make_url

    url = make_url(uri)
    kwargs = {
        "host": url.host or "127.0.0.1",
        "port": url.port or 5432,
        "user": url.username,
        "password": url.password,
        "dbname": database or url.database or "postgres",
        "connect_timeout": 10,
    }
    return {k: v for k, v in kwargs.items() if v is not None}


@pytest.fixture(scope="session")
def pg_server_uri() -> str:
    """The URI .ci/postgres.sh exported; skip (or fail in CI) without it."""
    uri = os.environ.get(PG_URI_ENV, "").strip()
    if not uri:
        reason = (
            f"{PG_URI_ENV} is not set: run `source .ci/postgres.sh` first to start a throwaway "
            "PostgreSQL for the catalog integration tests"
        )
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(f"CI=true but {reason}", pytrace=False)
        pytest.skip(reason)
    import psycopg2

    try:
        psycopg2.connect(**_connect_kwargs(uri)).close()
    except psycopg2.OperationalError as e:
        # The variable is set, so a server was promised: an unreachable one is a failure.
        pytest.fail(f"{PG_URI_ENV} is set but PostgreSQL is not reachable: {e}", pytrace=False)
    return uri


@pytest.fixture
def pg_uri(pg_server_uri: str) -> Iterator[str]:
    """A fresh, uniquely named database for one test, dropped afterwards (whatever happened)."""
    import psycopg2
    from sqlalchemy.engine import make_url

    name = f"oaklake_it_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(**_connect_kwargs(pg_server_uri))
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        yield make_url(pg_server_uri).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.cursor() as cur:
            # FORCE (PostgreSQL 13+) ends sessions a test left open.
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def pg_query(pg_uri: str) -> Iterator[Callable[..., list[tuple[Any, ...]]]]:
    """Run SQL straight against the test's PostgreSQL database (no oaklake, no SQLAlchemy)."""
    import psycopg2

    conn = psycopg2.connect(**_connect_kwargs(pg_uri))
    conn.autocommit = True

    def query(sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall())

    yield query
    conn.close()


@pytest.fixture
def pg_lake(pg_uri: str) -> Iterator[Callable[..., Any]]:
    """Open (``init=True``: create) workspaces; close them before the test's database is dropped."""
    import oaklake

    opened: list[Any] = []

    def open_lake(path: Path, *, init: bool = False, **options: Any) -> Any:
        lake = oaklake.init(path, **options) if init else oaklake.connect(path)
        opened.append(lake)
        return lake

    yield open_lake
    for lake in opened:
        lake.close()  # also returns the catalog's pooled PostgreSQL connections


@pytest.fixture
def pg_workspace(tmp_path: Path, pg_uri: str, pg_lake: Callable[..., Any]) -> Any:
    """A workspace whose catalog is the test's own PostgreSQL database."""
    return pg_lake(tmp_path / "ws", init=True, catalog_uri=pg_uri)
