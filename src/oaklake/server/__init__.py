"""The HTTP API (FastAPI): ``create_app(lake, api_key=…)``; ``oaklake serve`` runs it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["create_app"]

if TYPE_CHECKING:
    from oaklake.server.app import create_app


def __getattr__(name: str) -> Any:
    # FastAPI is imported when the app is wanted, not when `oaklake.server` is.
    if name == "create_app":
        from oaklake.server.app import create_app

        return create_app
    raise AttributeError(name)
