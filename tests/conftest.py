"""Shared fixtures: every test gets its own workspace and never sees the developer's settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import oaklake
from oaklake.app import Lake


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No OAKLAKE_* variable or oaklake.toml of the developer's may leak into a test."""
    import os

    for key in list(os.environ):
        if key.startswith("OAKLAKE_") and key != "OAKLAKE_TEST_PG_URI":
            monkeypatch.delenv(key, raising=False)
    scratch = tmp_path / "cwd"
    scratch.mkdir()
    monkeypatch.chdir(scratch)


@pytest.fixture
def lake(tmp_path: Path) -> Iterator[Lake]:
    """A fresh workspace with the embedded default (SQLite catalog, local warehouse)."""
    instance = oaklake.init(tmp_path / "ws")
    yield instance
    instance.close()
