"""oaklake: an open data platform — quality-gated ingestion into Apache Iceberg, Athena SQL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Lake", "connect", "init"]

if TYPE_CHECKING:
    from oaklake.app import Lake


def connect(path: Any = None, **overrides: Any) -> Lake:
    from oaklake.app import connect as _connect

    return _connect(path, **overrides)


def init(path: Any = ".", **options: Any) -> Lake:
    from oaklake.app import init as _init

    return _init(path, **options)


def __getattr__(name: str) -> Any:
    if name == "Lake":
        from oaklake.app import Lake

        return Lake
    raise AttributeError(name)
