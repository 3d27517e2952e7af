"""A workspace with a trained recommender, built once for the server tests.

The interactions are synthetic: 4 clusters of 20 items (``i0``…``i79``, CATEGORY books, games,
music, tools) and 60 users (``u0``…``u59``), user ``uN`` in cluster ``N % 4`` — so a user's
recommendations come from their own cluster, which the tests can check.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import oaklake
from oaklake.app import Lake

with warnings.catch_warnings():
    # Starlette asks for httpx2 (not installed); httpx works and is what we depend on.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

KEY = "test-key-7f3a"
HEADERS = {"X-API-Key": KEY}
CATEGORIES = ("books", "games", "music", "tools")
N_USERS, N_ITEMS, CLUSTER = 60, 80, 20


def cluster_of(item_id: str) -> int:
    return int(item_id[1:]) // CLUSTER


def interactions() -> dict[str, Any]:
    rng = np.random.default_rng(7)
    rows: dict[str, list[Any]] = {"user_id": [], "item_id": [], "timestamp": [], "event_type": []}
    for u in range(N_USERS):
        first = (u % 4) * CLUSTER
        picks = rng.choice(np.arange(first, first + CLUSTER), size=int(rng.integers(15, 35)))
        for j, i in enumerate(picks):
            rows["user_id"].append(f"u{u}")
            rows["item_id"].append(f"i{i}")
            rows["timestamp"].append(1_700_000_000 + u * 1000 + j)
            rows["event_type"].append("view" if rng.random() < 0.8 else "purchase")
    return rows


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The workspace folder: db.inter (≥1000 interactions), db.items, recommender ``shop``."""
    root = tmp_path_factory.mktemp("server") / "ws"
    make_workspace(root)
    yield root


def make_workspace(root: Path) -> None:
    """A workspace with db.inter, db.items and the trained recommender ``shop`` (version 1)."""
    import pyarrow as pa

    from oaklake.recommend.train import create, train

    lake = oaklake.init(root)
    rows = interactions()
    assert len(rows["user_id"]) >= 1000
    lake.sql("CREATE SCHEMA db")
    lake.sql(
        "CREATE TABLE db.inter (user_id string, item_id string, timestamp bigint, "
        "event_type string, event_value double, session_id string)"
    )
    n = len(rows["user_id"])
    lake.table("db.inter").append(
        pa.table(
            {
                **rows,
                "timestamp": pa.array(rows["timestamp"], pa.int64()),
                "event_value": pa.nulls(n, pa.float64()),
                "session_id": pa.nulls(n, pa.string()),
            }
        )
    )
    lake.sql("CREATE TABLE db.items (item_id string, title string, category string)")
    lake.table("db.items").append(
        pa.table(
            {
                "item_id": [f"i{i}" for i in range(N_ITEMS)],
                "title": [f"Item {i}" for i in range(N_ITEMS)],
                "category": [CATEGORIES[i // CLUSTER] for i in range(N_ITEMS)],
            }
        )
    )
    create(lake, "shop", recipe="user-personalization", interactions="db.inter", items="db.items")
    train(lake, "shop", evaluate=False)
    lake.close()


@pytest.fixture
def ws_lake(trained: Path) -> Iterator[Lake]:
    lake = oaklake.connect(trained)
    yield lake
    lake.close()


@pytest.fixture
def client(ws_lake: Lake) -> Iterator[TestClient]:
    """The API over the trained workspace, with a fresh service (no live events yet)."""
    from oaklake.server.app import create_app

    app = create_app(ws_lake, api_key=KEY)
    with TestClient(app, headers=HEADERS, raise_server_exceptions=False) as c:
        yield c
