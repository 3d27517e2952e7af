"""Announce failures (quality, ingest, workflows) to webhooks, e-mail and a local log file.

    notifier = Notifier(settings)          # settings: oaklake.config.Settings
    deliveries = notifier.send(Event("quality.failed", "orders: 2 rules failed", "…"))

``send`` never raises for a delivery problem: it retries, logs and returns a ``Delivery`` per sink.
"""

from __future__ import annotations

from oaklake.notify.event import KNOWN_KINDS, Delivery, Event
from oaklake.notify.notifier import Notifier
from oaklake.notify.settings import (
    EmailSink,
    LogSink,
    NotifySettings,
    Secret,
    WebhookSink,
    parse_notify,
)

__all__ = [
    "KNOWN_KINDS",
    "Delivery",
    "EmailSink",
    "Event",
    "LogSink",
    "Notifier",
    "NotifySettings",
    "Secret",
    "WebhookSink",
    "parse_notify",
]
