"""What is announced (``Event``) and what became of it at one sink (``Delivery``)."""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# The kinds the platform sends today; any dotted name works, these are the documented ones.
KNOWN_KINDS = ("quality.failed", "quality.anomaly", "ingest.quarantined", "workflow.failed")


def _now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class Event:
    """Something a person should hear about: a failed quality gate, a quarantined load …

    ``details`` should be JSON-able; values that are not (dates, decimals, paths) are sent as
    their ``str()`` rather than refused, so an odd value never costs the announcement.
    """

    kind: str
    title: str
    summary: str = ""
    details: dict[str, Any] = field(default_factory=dict, hash=False)
    workspace: str | None = None
    dataset: str | None = None
    timestamp: datetime = field(default_factory=_now)
    id: str = field(default_factory=_new_id)

    def __post_init__(self) -> None:
        # Naive times are taken as UTC; aware ones are converted, so every sink shows UTC.
        ts = self.timestamp
        ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
        object.__setattr__(self, "timestamp", ts)

    @property
    def iso_timestamp(self) -> str:
        return self.timestamp.isoformat().replace("+00:00", "Z")

    def to_dict(self) -> dict[str, Any]:
        """The event as plain JSON types (the webhook ``json`` payload and the log line)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "summary": self.summary,
            "details": json_safe(self.details),
            "workspace": self.workspace,
            "dataset": self.dataset,
            "timestamp": self.iso_timestamp,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)


def json_safe(value: Any) -> Any:
    """``value`` in plain JSON types: keys become strings, NaN and infinities ``None`` (strict
    JSON has no such numbers), tuples and sets lists, anything else its ``str()``."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [json_safe(v) for v in items]
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True)
class Delivery:
    """The outcome at one sink. ``attempts`` is 0 when the sink could not even be tried
    (e.g. a secret's environment variable is missing)."""

    sink: str
    type: str
    ok: bool
    attempts: int
    error: str | None = None
