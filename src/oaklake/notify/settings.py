"""The ``[notify]`` settings: typed, frozen, validated once where the workspace is loaded.

oaklake.toml is usually committed, so it holds secrets only by reference (``{ env = "NAME" }``);
the values are looked up when an event is sent, never stored on these objects, and every display
form (``redacted()``, ``repr``) shows the reference, not the secret.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parseaddr
from types import MappingProxyType
from typing import Any, Literal, TypeAlias
from urllib.parse import urlsplit, urlunsplit

from oaklake.config import Settings
from oaklake.errors import ConfigError, did_you_mean

DEFAULT_LOG_PATH = ".oaklake/events.jsonl"
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF_SECONDS = 0.5
DEFAULT_TIMEOUT_SECONDS = 5.0

WEBHOOK_FORMATS = ("json", "slack")
SINK_TYPES = ("webhook", "email", "log")

# Header names whose plain (inline) values are hidden when settings are shown.
_SENSITIVE_HEADER = re.compile(r"authorization|cookie|token|secret|key|signature|password", re.I)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Secret:
    """A value kept in an environment variable; only the variable's name lives in settings."""

    env: str

    def resolve(self, where: str) -> str:
        """The value now; a missing or empty variable is a configuration error naming ``where``."""
        value = os.environ.get(self.env)
        if not value:
            raise ConfigError(
                f"{where}: environment variable {self.env} is not set",
                hint=f"set {self.env} in the environment that runs oaklake "
                f"(oaklake.toml refers to it as {{ env = {self.env!r} }})",
            )
        return value

    def redacted(self) -> dict[str, str]:
        return {"env": self.env}


Value: TypeAlias = "str | Secret"


def resolve(value: Value, where: str) -> str:
    return value.resolve(where) if isinstance(value, Secret) else value


def _show(value: Value, *, hide: bool = False) -> Any:
    if isinstance(value, Secret):
        return value.redacted()
    return "***" if hide else value


def redact_url(url: str) -> str:
    """A URL fit to show: the password of ``user:password@`` and the query string become ``***``."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{hostport}" if ":" in userinfo else netloc
    query = "***" if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def check_http_url(url: str, where: str, *, shown: str | None = None) -> str:
    """``url`` if it is an absolute http(s) URL; ``shown`` replaces it in the message (secrets)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        display = shown if shown is not None else redact_url(url)
        raise ConfigError(
            f"{where}: {display} is not an http:// or https:// URL",
            hint='webhooks are POSTed over HTTP(S), e.g. url = "https://hooks.example.com/x"',
        )
    return url


@dataclass(frozen=True, repr=False)
class WebhookSink:
    """POST each event as JSON (``format="json"``) or as a Slack message (``format="slack"``)."""

    name: str
    url: Value
    format: Literal["json", "slack"] = "json"
    headers: Mapping[str, Value] = field(default_factory=dict)
    events: tuple[str, ...] = ()
    type: Literal["webhook"] = "webhook"

    def redacted(self) -> dict[str, Any]:
        url = self.url.redacted() if isinstance(self.url, Secret) else redact_url(self.url)
        headers = {
            k: _show(v, hide=bool(_SENSITIVE_HEADER.search(k))) for k, v in self.headers.items()
        }
        return {
            "type": self.type,
            "name": self.name,
            "url": url,
            "format": self.format,
            "headers": headers,
            "events": list(self.events),
        }

    def __repr__(self) -> str:
        return f"WebhookSink({self.redacted()!r})"


@dataclass(frozen=True, repr=False)
class EmailSink:
    """Send each event as a plain-text e-mail with the details attached as ``details.json``."""

    name: str
    host: str
    to: tuple[str, ...]
    sender: str
    port: int = 25
    username: Value | None = None
    password: Secret | None = None
    starttls: bool = False
    ssl: bool = False
    events: tuple[str, ...] = ()
    type: Literal["email"] = "email"

    def redacted(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "name": self.name,
            "host": self.host,
            "port": self.port,
            "from": self.sender,
            "to": list(self.to),
            "username": None if self.username is None else _show(self.username),
            "password": None if self.password is None else self.password.redacted(),
            "starttls": self.starttls,
            "ssl": self.ssl,
            "events": list(self.events),
        }

    def __repr__(self) -> str:
        return f"EmailSink({self.redacted()!r})"


@dataclass(frozen=True)
class LogSink:
    """Append one JSON line per event to a file (relative paths are inside the workspace)."""

    name: str = "log"
    path: str = DEFAULT_LOG_PATH
    events: tuple[str, ...] = ()
    type: Literal["log"] = "log"

    def redacted(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "name": self.name,
            "path": self.path,
            "events": list(self.events),
        }


Sink: TypeAlias = "WebhookSink | EmailSink | LogSink"


@dataclass(frozen=True)
class NotifySettings:
    """Where events go and how hard a failing sink is retried."""

    sinks: tuple[Sink, ...] = ()
    # Retries after the first attempt: a sink is tried at most ``retries + 1`` times.
    retries: int = DEFAULT_RETRIES
    # Wait before retry n (1-based): backoff_seconds * 2 ** (n - 1).
    backoff_seconds: float = DEFAULT_BACKOFF_SECONDS
    # Per network operation (connect, send, read) of a webhook or SMTP delivery.
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    @classmethod
    def from_settings(cls, settings: Settings) -> NotifySettings:
        """The ``[notify]`` table of a workspace's oaklake.toml (no table: no sinks)."""
        return parse_notify(settings.extra.get("notify"))

    def redacted(self) -> dict[str, Any]:
        """A JSON-able view to print or log: secret references, never secret values."""
        return {
            "retries": self.retries,
            "backoff_seconds": self.backoff_seconds,
            "timeout_seconds": self.timeout_seconds,
            "sinks": [sink.redacted() for sink in self.sinks],
        }


# ---------------------------------------------------------------------------------------------
# Parsing: every message names the key as it is written in oaklake.toml.

_TOP_KEYS = ("sinks", "retries", "backoff_seconds", "timeout_seconds")
_SINK_KEYS: dict[str, tuple[str, ...]] = {
    "webhook": ("type", "name", "url", "format", "headers", "events"),
    "email": (
        "type",
        "name",
        "host",
        "port",
        "from",
        "to",
        "username",
        "password",
        "starttls",
        "ssl",
        "events",
    ),
    "log": ("type", "name", "path", "events"),
}


def _fail(where: str, message: str, hint: str | None = None) -> ConfigError:
    return ConfigError(f"oaklake.toml {where}: {message}", hint=hint)


def _unknown_keys(table: Mapping[str, Any], allowed: Sequence[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            hint = did_you_mean(str(key), allowed) or "allowed keys: " + ", ".join(allowed)
            raise _fail(f"{where}.{key}", "unknown key", hint)


def _string(table: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = table.get(key, default)
    if value is None:
        raise _fail(f"{where}.{key}", "is required")
    if not isinstance(value, str) or not value.strip():
        raise _fail(f"{where}.{key}", f"must be a non-empty string, got {_describe(value)}")
    return value


def _bool(table: Mapping[str, Any], key: str, where: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise _fail(f"{where}.{key}", f"must be true or false, got {_describe(value)}")
    return value


def _number(
    table: Mapping[str, Any], key: str, where: str, default: float, *, positive: bool
) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(f"{where}.{key}", f"must be a number of seconds, got {_describe(value)}")
    if value < 0 or (positive and value == 0):
        bound = "> 0" if positive else "≥ 0"
        raise _fail(f"{where}.{key}", f"must be {bound}, got {value!r}")
    return float(value)


def _describe(value: Any) -> str:
    """A value for an error message: type names for tables, never a possible secret's text."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "an empty string" if not value.strip() else "a string"
    return f"{type(value).__name__} {value!r}"


def _secret(value: Any, where: str) -> Secret:
    if not isinstance(value, Mapping) or set(value) != {"env"}:
        raise _fail(
            where,
            "must be a reference to an environment variable",
            hint='write it as { env = "NAME" } and set NAME where oaklake runs; '
            "secrets never go into oaklake.toml itself",
        )
    name = value["env"]
    if not isinstance(name, str) or not _ENV_NAME.match(name):
        raise _fail(f"{where}.env", "must be an environment variable name like SMTP_PASSWORD")
    return Secret(name)


def _value(value: Any, where: str) -> Value:
    """A plain string or ``{ env = "NAME" }``."""
    if isinstance(value, Mapping):
        return _secret(value, where)
    if not isinstance(value, str):
        raise _fail(where, f'must be a string or {{ env = "NAME" }}, got {_describe(value)}')
    return value


def _events(table: Mapping[str, Any], where: str) -> tuple[str, ...]:
    value = table.get("events", [])
    if not isinstance(value, list) or not all(isinstance(e, str) and e.strip() for e in value):
        raise _fail(
            f"{where}.events",
            "must be a list of event kinds",
            hint='e.g. events = ["quality.failed", "ingest.*"]; leave it out for every event',
        )
    return tuple(value)


def _addresses(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise _fail(
            where,
            f"must be a non-empty list of e-mail addresses, got {_describe(value)}",
            hint='e.g. to = ["data-team@example.com"]',
        )
    return tuple(_address(item, f"{where}[{i}]") for i, item in enumerate(value))


def _address(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _fail(where, f"must be an e-mail address, got {_describe(value)}")
    _, addr = parseaddr(value)
    local, at, domain = addr.rpartition("@")
    if not at or not local or not domain or any(c in value for c in "\r\n"):
        raise _fail(where, f"{value!r} is not an e-mail address")
    return value


def _webhook(table: Mapping[str, Any], name: str, where: str) -> WebhookSink:
    if "url" not in table:
        raise _fail(f"{where}.url", "is required", hint='e.g. url = "https://hooks.example.com/x"')
    url = _value(table["url"], f"{where}.url")
    if isinstance(url, str):
        check_http_url(url, f"oaklake.toml {where}.url")
    fmt = table.get("format", "json")
    if fmt not in WEBHOOK_FORMATS:
        raise _fail(
            f"{where}.format",
            f"must be one of {', '.join(repr(f) for f in WEBHOOK_FORMATS)}, got {fmt!r}",
        )
    raw_headers = table.get("headers", {})
    if not isinstance(raw_headers, Mapping):
        raise _fail(f"{where}.headers", "must be a table of header names to values")
    headers: dict[str, Value] = {}
    for key, raw in raw_headers.items():
        if not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", key):
            raise _fail(f"{where}.headers", f"{key!r} is not a valid HTTP header name")
        value = _value(raw, f"{where}.headers.{key}")
        if isinstance(value, str) and any(c in value for c in "\r\n"):
            raise _fail(f"{where}.headers.{key}", "must not contain line breaks")
        headers[key] = value
    return WebhookSink(
        name=name,
        url=url,
        format=fmt,
        headers=MappingProxyType(headers),
        events=_events(table, where),
    )


def _email(table: Mapping[str, Any], name: str, where: str) -> EmailSink:
    host = _string(table, "host", where)
    ssl = _bool(table, "ssl", where)
    starttls = _bool(table, "starttls", where)
    if ssl and starttls:
        raise _fail(
            where,
            "ssl and starttls cannot both be true",
            hint="ssl = true for implicit TLS (port 465), starttls = true to upgrade (port 587)",
        )
    port = table.get("port", 465 if ssl else 587 if starttls else 25)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise _fail(f"{where}.port", f"must be a port number 1-65535, got {_describe(port)}")
    if "from" not in table:
        raise _fail(f"{where}.from", "is required", hint='e.g. from = "oaklake@example.com"')
    sender = _address(table["from"], f"{where}.from")
    if "to" not in table:
        raise _fail(f"{where}.to", "is required", hint='e.g. to = ["data-team@example.com"]')
    to = _addresses(table["to"], f"{where}.to")
    username = None if "username" not in table else _value(table["username"], f"{where}.username")
    password = None if "password" not in table else _secret(table["password"], f"{where}.password")
    if (username is None) != (password is None):
        missing = "password" if password is None else "username"
        raise _fail(f"{where}.{missing}", "is required when the other login setting is given")
    return EmailSink(
        name=name,
        host=host,
        port=port,
        sender=sender,
        to=to,
        username=username,
        password=password,
        starttls=starttls,
        ssl=ssl,
        events=_events(table, where),
    )


def _log(table: Mapping[str, Any], name: str, where: str) -> LogSink:
    path = _string(table, "path", where, default=DEFAULT_LOG_PATH)
    return LogSink(name=name, path=path, events=_events(table, where))


def parse_notify(table: Any) -> NotifySettings:
    """Typed settings from the parsed ``[notify]`` table; ``None`` (no table) means no sinks."""
    if table is None:
        return NotifySettings()
    if not isinstance(table, Mapping):
        raise _fail("notify", "must be a table", hint="write [notify] and [[notify.sinks]]")
    _unknown_keys(table, _TOP_KEYS, "notify")
    retries = table.get("retries", DEFAULT_RETRIES)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise _fail("notify.retries", f"must be a whole number ≥ 0, got {_describe(retries)}")
    backoff = _number(table, "backoff_seconds", "notify", DEFAULT_BACKOFF_SECONDS, positive=False)
    timeout = _number(table, "timeout_seconds", "notify", DEFAULT_TIMEOUT_SECONDS, positive=True)
    raw_sinks = table.get("sinks", [])
    if not isinstance(raw_sinks, list):
        raise _fail("notify.sinks", "must be an array of tables", hint="write [[notify.sinks]]")
    sinks: list[Sink] = []
    names: set[str] = set()
    for index, raw in enumerate(raw_sinks):
        where = f"notify.sinks[{index}]"
        if not isinstance(raw, Mapping):
            raise _fail(where, "must be a table", hint="write [[notify.sinks]]")
        if "type" not in raw:
            raise _fail(f"{where}.type", "is required", hint="one of: " + ", ".join(SINK_TYPES))
        kind = raw["type"]
        if kind not in SINK_TYPES:
            hint = (did_you_mean(kind, SINK_TYPES) if isinstance(kind, str) else None) or (
                "one of: " + ", ".join(SINK_TYPES)
            )
            raise _fail(f"{where}.type", f"unknown sink type {kind!r}", hint)
        _unknown_keys(raw, _SINK_KEYS[kind], where)
        name = _string(raw, "name", where, default=kind)
        if name in names:
            raise _fail(
                f"{where}.name",
                f"a sink named {name!r} is already configured",
                hint='give every sink its own name = "…"',
            )
        names.add(name)
        if kind == "webhook":
            sinks.append(_webhook(raw, name, where))
        elif kind == "email":
            sinks.append(_email(raw, name, where))
        else:
            sinks.append(_log(raw, name, where))
    return NotifySettings(
        sinks=tuple(sinks), retries=retries, backoff_seconds=backoff, timeout_seconds=timeout
    )
