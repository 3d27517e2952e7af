"""``Notifier``: send one event to every sink that wants it, retrying, and never raising.

Callers announce failures (a quality gate, a quarantined load, a failed workflow) at the moment
their own result matters most; a broken webhook must not cost them that result. So ``send``
returns a ``Delivery`` per sink instead of raising, logs what went wrong through ``logging``, and
keeps going with the other sinks.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from oaklake.config import Settings
from oaklake.errors import ConfigError, InvalidInput
from oaklake.notify.event import Delivery, Event
from oaklake.notify.settings import EmailSink, NotifySettings, Secret, Sink, WebhookSink
from oaklake.notify.sinks import (
    Prepared,
    SinkFailure,
    prepare_email,
    prepare_log,
    prepare_webhook,
)

log = logging.getLogger("oaklake.notify")

# Parts of a secret this long are scrubbed too (an echoed "Bearer abc…" may come back split).
_SECRET_PART = 8


def matches(sink: Sink, kind: str) -> bool:
    """Does ``sink`` want events of ``kind``? No filter means every event; ``*`` globs work."""
    return not sink.events or any(fnmatch.fnmatchcase(kind, pattern) for pattern in sink.events)


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every secret value (and every long word of one) replaced by ``***``."""
    words = {s for s in secrets if s}
    words |= {part for s in secrets for part in s.split() if len(part) >= _SECRET_PART}
    for word in sorted(words, key=len, reverse=True):
        text = text.replace(word, "***")
    return text


class Notifier:
    """Delivers events to the sinks of one workspace's ``[notify]`` settings."""

    def __init__(
        self,
        settings: Settings | NotifySettings,
        workspace_root: str | os.PathLike[str] | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if isinstance(settings, Settings):
            self.settings = NotifySettings.from_settings(settings)
            root = settings.root if workspace_root is None else workspace_root
        else:
            if workspace_root is None:
                raise InvalidInput(
                    "Notifier(NotifySettings(...)) needs workspace_root",
                    hint="pass the workspace folder; log sinks write relative to it",
                )
            self.settings = settings
            root = workspace_root
        self.root = Path(root).expanduser().resolve()
        self._sleep = sleep
        self._log_lock = threading.Lock()

    def sinks_for(self, kind: str) -> tuple[Sink, ...]:
        return tuple(sink for sink in self.settings.sinks if matches(sink, kind))

    def check(self) -> None:
        """Raise ``ConfigError`` now if a secret a sink needs is not in the environment.

        ``send`` would only record it per delivery; front ends call this at start-up instead.
        """
        for sink in self.settings.sinks:
            for where, secret in _secrets(sink):
                secret.resolve(f"notify sink {sink.name!r} {where}")

    def notify(
        self,
        kind: str,
        title: str,
        summary: str = "",
        *,
        details: Mapping[str, Any] | None = None,
        dataset: str | None = None,
    ) -> list[Delivery]:
        """Build an ``Event`` for this workspace and ``send`` it."""
        event = Event(kind, title, summary, dict(details or {}), dataset=dataset)
        return self.send(event)

    def send(self, event: Event) -> list[Delivery]:
        """One ``Delivery`` per sink that wants ``event.kind``, in configuration order.

        Never raises for a delivery problem: failures are retried, logged and returned.
        """
        if event.workspace is None:
            event = replace(event, workspace=str(self.root))
        return [self._deliver(sink, event) for sink in self.sinks_for(event.kind)]

    # -----------------------------------------------------------------------------------------

    def _prepare(self, sink: Sink, event: Event) -> Prepared:
        timeout = self.settings.timeout_seconds
        if isinstance(sink, WebhookSink):
            return prepare_webhook(sink, event, timeout)
        if isinstance(sink, EmailSink):
            return prepare_email(sink, event, timeout)
        return prepare_log(sink, event, self.root, self._log_lock)

    def _deliver(self, sink: Sink, event: Event) -> Delivery:
        label = f"{sink.type} sink {sink.name!r}"
        try:
            prepared = self._prepare(sink, event)
        except ConfigError as e:
            log.error("notify: %s cannot send event %s (%s): %s", label, event.id, event.kind, e)
            return Delivery(sink.name, sink.type, ok=False, attempts=0, error=e.render())
        except Exception as e:  # a bug here must not cost the caller its result
            error = f"unexpected {type(e).__name__} while preparing: {e}"
            log.error(
                "notify: %s cannot send event %s (%s): %s", label, event.id, event.kind, error
            )
            return Delivery(sink.name, sink.type, ok=False, attempts=0, error=error)

        limit = self.settings.retries + 1
        attempt = 0
        while True:
            attempt += 1
            try:
                prepared.attempt()
            except SinkFailure as e:
                error, retry = scrub(e.message, prepared.secrets), e.retry
            except Exception as e:
                error = scrub(f"unexpected {type(e).__name__}: {e}", prepared.secrets)
                retry = False
            else:
                log.debug("notify: %s got event %s on attempt %d", label, event.id, attempt)
                return Delivery(sink.name, sink.type, ok=True, attempts=attempt)
            if not retry or attempt >= limit:
                log.error(
                    "notify: %s did not get event %s (%s) after %d attempt(s): %s",
                    label,
                    event.id,
                    event.kind,
                    attempt,
                    error,
                )
                return Delivery(sink.name, sink.type, ok=False, attempts=attempt, error=error)
            delay = self.settings.backoff_seconds * 2 ** (attempt - 1)
            log.warning(
                "notify: %s attempt %d of %d failed: %s; retrying in %g s",
                label,
                attempt,
                limit,
                error,
                delay,
            )
            self._sleep(delay)


def _secrets(sink: Sink) -> list[tuple[str, Secret]]:
    if isinstance(sink, WebhookSink):
        found = [(f"headers.{k}", v) for k, v in sink.headers.items() if isinstance(v, Secret)]
        if isinstance(sink.url, Secret):
            found.insert(0, ("url", sink.url))
        return found
    if isinstance(sink, EmailSink):
        pairs = [("username", sink.username), ("password", sink.password)]
        return [(where, value) for where, value in pairs if isinstance(value, Secret)]
    return []
