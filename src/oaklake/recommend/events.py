"""Real-time events (Personalize's PutEvents): validated, applied to the user's state at once,
and appended to the recommender's interactions table in batched commits.

The writer owns its own workspace connection (DuckDB connections are not shared across
threads) and commits whatever has queued every ``interval`` seconds: a burst of thousands of
events becomes a few Iceberg snapshots, and nothing is lost — ``close()`` flushes the rest.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from oaklake.errors import InvalidInput

if TYPE_CHECKING:
    from oaklake.config import Settings

log = logging.getLogger("oaklake.recommend")
MAX_EVENTS = 100  # Personalize takes 10 per call


class EventError(InvalidInput):
    code = "REC_INVALID_EVENT"


@dataclass(frozen=True)
class Event:
    session_id: str
    user_id: str | None
    event_type: str
    sent_at: int  # unix seconds
    item_id: str | None = None
    event_value: float | None = None
    properties: str | None = None
    recommendation_id: str | None = None


def _text(body: dict[str, Any], name: str, where: str, *, required: bool) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise EventError(f"{where}{name} is required", hint=f"send {name} as a string")
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise EventError(f"{where}{name} must be a string, got {type(value).__name__}")
    text = str(value)
    if len(text) > 256:
        raise EventError(f"{where}{name} is longer than 256 characters")
    return text


def _time(value: Any, where: str) -> int:
    if value is None:
        raise EventError(f"{where}sentAt is required", hint="Unix seconds or an ISO 8601 time")
    if isinstance(value, bool):
        raise EventError(f"{where}sentAt must be a time, got a boolean")
    if isinstance(value, int | float):
        seconds = float(value)
        return int(seconds / 1000 if seconds > 10**11 else seconds)
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise EventError(
                f"{where}sentAt is not a time: {value!r}", hint="Unix seconds or ISO 8601"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return int(moment.timestamp())
    raise EventError(f"{where}sentAt must be Unix seconds or an ISO 8601 string")


def parse_put_events(body: Any) -> list[Event]:
    """PutEvents' request: ``{sessionId, userId?, eventList: [{eventType, sentAt, itemId?,
    eventValue?, properties?, recommendationId?}]}``; errors name the field."""
    import json

    if not isinstance(body, dict):
        raise EventError("the request body must be a JSON object")
    session = _text(body, "sessionId", "", required=True)
    user = _text(body, "userId", "", required=False)
    events = body.get("eventList")
    if not isinstance(events, list) or not events:
        raise EventError("eventList must be a non-empty list of events")
    if len(events) > MAX_EVENTS:
        raise EventError(f"eventList holds {len(events)} events; at most {MAX_EVENTS} per call")
    out = []
    for n, e in enumerate(events):
        where = f"eventList[{n}]."
        if not isinstance(e, dict):
            raise EventError(f"eventList[{n}] must be an object")
        etype = _text(e, "eventType", where, required=True)
        assert etype is not None and session is not None
        value = e.get("eventValue")
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise EventError(f"{where}eventValue must be a number")
        props = e.get("properties")
        if props is not None and not isinstance(props, str | dict):
            raise EventError(f"{where}properties must be a JSON object or a JSON string")
        out.append(
            Event(
                session_id=session,
                user_id=user,
                event_type=etype,
                sent_at=_time(e.get("sentAt"), where),
                item_id=_text(e, "itemId", where, required=False),
                event_value=float(value) if value is not None else None,
                properties=json.dumps(props) if isinstance(props, dict) else props,
                recommendation_id=_text(e, "recommendationId", where, required=False),
            )
        )
    return out


class EventWriter:
    """Appends events to a table in batched commits from a background thread."""

    def __init__(self, settings: Settings, table: str, *, interval: float = 0.5) -> None:
        self.settings = settings
        self.table = table
        self.interval = interval
        self.queue: queue.Queue[Event] = queue.Queue()
        self.written = 0
        self.failed = 0
        self._stop = threading.Event()
        # One batch at a time: flush() (caller's thread) and the background thread share one
        # workspace connection, and flush() must not return while a batch is being written.
        self._writing = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="oaklake-events", daemon=True)
        self._lake: Any = None
        self._columns: dict[str, Any] | None = None
        self._thread.start()

    def put(self, events: list[Event]) -> None:
        for e in events:
            self.queue.put(e)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._drain()
        self._drain()

    def _drain(self) -> None:
        with self._writing:
            self._drain_locked()

    def _drain_locked(self) -> None:
        batch: list[Event] = []
        while True:
            try:
                batch.append(self.queue.get_nowait())
            except queue.Empty:
                break
        if not batch:
            return
        try:
            self._write(batch)
            self.written += len(batch)
        except Exception as e:  # keep them: retried at the next tick
            log.warning("could not persist %d events to %s: %s", len(batch), self.table, e)
            self.failed += 1
            for ev in batch:
                self.queue.put(ev)

    def _write(self, batch: list[Event]) -> None:
        import pyarrow as pa

        from oaklake.app import Lake

        if self._lake is None:
            self._lake = Lake(self.settings)
        handle = self._lake.table(self.table)
        if self._columns is None:
            self._columns = {f.name.upper(): f for f in handle.iceberg.schema().fields}
        cols = self._columns
        values: dict[str, list[Any]] = {
            "USER_ID": [e.user_id or f"session:{e.session_id}" for e in batch],
            "ITEM_ID": [e.item_id for e in batch],
            "TIMESTAMP": [e.sent_at for e in batch],
            "EVENT_TYPE": [e.event_type for e in batch],
            "EVENT_VALUE": [e.event_value for e in batch],
            "SESSION_ID": [e.session_id for e in batch],
            "RECOMMENDATION_ID": [e.recommendation_id for e in batch],
            "PROPERTIES": [e.properties for e in batch],
        }
        arrays = {}
        for name, data in values.items():
            field = cols.get(name)
            if field is None:
                continue
            arrow_type = _arrow_type(field.field_type)
            if name == "TIMESTAMP" and pa.types.is_timestamp(arrow_type):
                data = [dt.datetime.fromtimestamp(s, tz=dt.UTC).replace(tzinfo=None) for s in data]
            arrays[field.name] = pa.array(data, type=arrow_type)
        handle.append(pa.table(arrays))

    def flush(self, timeout: float = 30.0) -> None:
        """Write everything queued now (tests, shutdown)."""
        import time

        deadline = time.monotonic() + timeout
        while not self.queue.empty() and time.monotonic() < deadline:
            self._drain()
        with self._writing:  # a batch the background thread took is written by now
            pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self.flush()
        if self._lake is not None:
            self._lake.close()


def _arrow_type(itype: Any) -> Any:
    import pyarrow as pa
    from pyiceberg.types import (
        DoubleType,
        FloatType,
        IntegerType,
        LongType,
        TimestampType,
        TimestamptzType,
    )

    if isinstance(itype, LongType):
        return pa.int64()
    if isinstance(itype, IntegerType):
        return pa.int32()
    if isinstance(itype, DoubleType | FloatType):
        return pa.float64()
    if isinstance(itype, TimestampType | TimestamptzType):
        return pa.timestamp("us")
    return pa.string()
