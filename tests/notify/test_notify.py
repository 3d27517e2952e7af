"""Notifications against real servers on 127.0.0.1: an HTTP server and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from email import message_from_bytes
from email.message import EmailMessage, Message
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from oaklake.config import CONFIG_FILE, Settings, init_workspace, load_settings
from oaklake.errors import ConfigError
from oaklake.notify import (
    Delivery,
    EmailSink,
    Event,
    LogSink,
    Notifier,
    NotifySettings,
    Secret,
    WebhookSink,
    parse_notify,
)

HOOK_TOKEN = "Bearer tok-9f8e7d6c5b4a"
SMTP_USER = "oaklake"
SMTP_PASSWORD = "s3cret-smtp-pass"


# ---------------------------------------------------------------------------------------------
# A real HTTP server that records what it is sent and answers from a script.


@dataclass
class Request:
    path: str
    headers: Message
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class HookServer(ThreadingHTTPServer):
    # Handler threads are joined on close, so no test leaves one behind.
    daemon_threads = False
    block_on_close = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), HookHandler)
        self.requests: list[Request] = []
        self.script: deque[tuple[int, bytes]] = deque()
        self.slow = False
        self.release = threading.Event()
        self.echo_auth = False

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server_port}{path}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that timed out has hung up before the slow answer: that is expected."""


class HookHandler(BaseHTTPRequestHandler):
    server: HookServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.requests.append(Request(self.path, self.headers, body))
        if self.server.slow:
            self.server.release.wait(10)
        status, text = self.server.script.popleft() if self.server.script else (200, b"ok")
        if self.server.echo_auth:
            text += b" you sent " + self.headers.get("Authorization", "").encode()
        self.send_response(status)
        if 300 <= status < 400:
            self.send_header("Location", self.server.url("/elsewhere"))
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[HookServer]:
    server = HookServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A port bound to a socket that never listens: connecting there is refused, reliably."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# A real SMTP server (aiosmtpd) that keeps every message it accepts.


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    authenticated: bool


@dataclass
class Inbox:
    messages: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        self.messages.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), message, session.authenticated)
        )
        return "250 Message accepted for delivery"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = (
        isinstance(data, LoginPassword)
        and data.login == SMTP_USER.encode()
        and data.password == SMTP_PASSWORD.encode()
    )
    # handled=False: aiosmtpd then answers 535 itself (with the default it would stay silent).
    return AuthResult(success=ok, handled=False)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=_free_port(),
        authenticator=_authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


# ---------------------------------------------------------------------------------------------
# Helpers


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """urllib honours *_proxy variables; the loopback servers must be reached directly."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def workspace(tmp_path: Path, notify_toml: str) -> Settings:
    """A real workspace whose oaklake.toml ends with ``notify_toml``, loaded the usual way."""
    root = init_workspace(tmp_path / "ws")
    with (root / CONFIG_FILE).open("a", encoding="utf-8") as handle:
        handle.write("\n" + notify_toml)
    return load_settings(root)


def settings_of(tmp_path: Path, sinks: list[dict[str, Any]], **top: Any) -> Settings:
    return Settings(root=tmp_path, extra={"notify": {"sinks": sinks, **top}})


def quick(**top: Any) -> dict[str, Any]:
    """Short timeouts and retries for tests; back-off is recorded, never slept."""
    return {"retries": 2, "backoff_seconds": 0.25, "timeout_seconds": 2, **top}


def failed_event(**kw: Any) -> Event:
    values: dict[str, Any] = {
        "kind": "quality.failed",
        "title": "sales.orders: 2 of 5 rules failed",
        "summary": 'Completeness "email" > 0.95 failed: 0.91 <\n& IsUnique "id" failed',
        "details": {"rules_failed": 2, "rules": ["Completeness", "IsUnique"], "score": 0.6},
        "dataset": "sales.orders",
    }
    values.update(kw)
    return Event(**values)


def by_name(deliveries: list[Delivery]) -> dict[str, Delivery]:
    return {d.sink: d for d in deliveries}


# ---------------------------------------------------------------------------------------------
# Configuration


EXAMPLE = """
[[notify.sinks]]
type = "webhook"
name = "ops"
url = "http://127.0.0.1:9000/hook"
format = "json"
headers = { Authorization = { env = "HOOK_TOKEN" }, X-Team = "data" }
events = ["quality.failed", "quality.anomaly"]

[[notify.sinks]]
type = "email"
name = "team"
host = "127.0.0.1"
port = 2525
from = "oaklake@example.com"
to = ["data-team@example.com"]
username = "oaklake"
password = { env = "SMTP_PASSWORD" }
starttls = false
ssl = false

[[notify.sinks]]
type = "log"

[notify]
retries = 3
backoff_seconds = 0.5
timeout_seconds = 5
"""


def test_the_documented_example_parses_into_typed_settings(tmp_path: Path) -> None:
    settings = NotifySettings.from_settings(workspace(tmp_path, EXAMPLE))
    assert (settings.retries, settings.backoff_seconds, settings.timeout_seconds) == (3, 0.5, 5.0)
    ops, team, log = settings.sinks
    assert isinstance(ops, WebhookSink)
    assert ops.url == "http://127.0.0.1:9000/hook"
    assert ops.format == "json"
    assert dict(ops.headers) == {"Authorization": Secret("HOOK_TOKEN"), "X-Team": "data"}
    assert ops.events == ("quality.failed", "quality.anomaly")
    assert isinstance(team, EmailSink)
    assert (team.host, team.port, team.sender, team.to) == (
        "127.0.0.1",
        2525,
        "oaklake@example.com",
        ("data-team@example.com",),
    )
    assert team.password == Secret("SMTP_PASSWORD")
    assert team.events == ()
    assert log == LogSink(name="log", path=".oaklake/events.jsonl")


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = NotifySettings.from_settings(workspace(tmp_path, EXAMPLE))
    with pytest.raises(AttributeError):
        settings.retries = 0  # type: ignore[misc]
    ops = settings.sinks[0]
    assert isinstance(ops, WebhookSink)
    with pytest.raises(TypeError):
        ops.headers["X-Team"] = "other"  # type: ignore[index]


def test_no_notify_table_means_no_sinks_and_nothing_sent(tmp_path: Path) -> None:
    settings = workspace(tmp_path, "")
    assert NotifySettings.from_settings(settings) == NotifySettings()
    assert Notifier(settings).send(failed_event()) == []


def test_email_port_defaults_follow_tls_mode() -> None:
    base = {"type": "email", "host": "mail", "from": "a@example.com", "to": ["b@example.com"]}
    ports = [
        parse_notify({"sinks": [{**base, **extra}]}).sinks[0]
        for extra in ({}, {"ssl": True}, {"starttls": True})
    ]
    assert [s.port for s in ports if isinstance(s, EmailSink)] == [25, 465, 587]


@pytest.mark.parametrize(
    ("table", "where", "hint"),
    [
        ({"sinks": [{"type": "webhok", "url": "http://x"}]}, "notify.sinks[0].type", "'webhook'"),
        ({"sinks": [{"type": "pager"}]}, "notify.sinks[0].type", "one of: webhook, email, log"),
        ({"sinks": [{"name": "x"}]}, "notify.sinks[0].type", "one of"),
        ({"sinks": [{"type": "webhook", "name": "ops"}]}, "notify.sinks[0].url", "url ="),
        ({"sinks": [{"type": "webhook", "url": "ftp://x/y"}]}, "notify.sinks[0].url", "https"),
        (
            {"sinks": [{"type": "webhook", "url": "http://x", "format": "teams"}]},
            "notify.sinks[0].format",
            None,
        ),
        (
            {"sinks": [{"type": "webhook", "url": "http://x", "heders": {}}]},
            "notify.sinks[0].heders",
            "'headers'",
        ),
        (
            {"sinks": [{"type": "webhook", "url": "http://x", "headers": {"A": {"var": "X"}}}]},
            "notify.sinks[0].headers.A",
            "env",
        ),
        (
            {"sinks": [{"type": "webhook", "url": "http://x", "events": "quality.failed"}]},
            "notify.sinks[0].events",
            "events = [",
        ),
        (
            {"sinks": [{"type": "log"}, {"type": "log"}]},
            "notify.sinks[1].name",
            "own name",
        ),
        ({"retries": -1}, "notify.retries", None),
        ({"retries": True}, "notify.retries", None),
        ({"timeout_seconds": 0}, "notify.timeout_seconds", None),
        ({"backoff_seconds": "fast"}, "notify.backoff_seconds", None),
        ({"retry": 3}, "notify.retry", "'retries'"),
        ({"sinks": {"type": "log"}}, "notify.sinks", "[[notify.sinks]]"),
    ],
)
def test_config_errors_name_the_bad_key(
    table: dict[str, Any], where: str, hint: str | None
) -> None:
    with pytest.raises(ConfigError) as info:
        parse_notify(table)
    assert info.value.code == "INVALID_CONFIG"
    assert f"oaklake.toml {where}:" in info.value.message
    if hint is not None:
        assert info.value.hint is not None
        assert hint in info.value.hint


EMAIL = {"type": "email", "name": "team", "host": "127.0.0.1", "from": "oaklake@example.com"}


@pytest.mark.parametrize(
    ("extra", "where"),
    [
        ({"to": "data-team@example.com"}, "notify.sinks[0].to"),
        ({"to": []}, "notify.sinks[0].to"),
        ({"to": ["data-team@example.com", "not an address"]}, "notify.sinks[0].to[1]"),
        ({"to": ["data-team@example.com", 7]}, "notify.sinks[0].to[1]"),
        ({}, "notify.sinks[0].to"),
        ({"to": ["a@example.com"], "from": "oaklake"}, "notify.sinks[0].from"),
        ({"to": ["a@example.com"], "port": 70000}, "notify.sinks[0].port"),
        ({"to": ["a@example.com"], "port": "25"}, "notify.sinks[0].port"),
        ({"to": ["a@example.com"], "ssl": True, "starttls": True}, "notify.sinks[0]"),
        ({"to": ["a@example.com"], "ssl": "yes"}, "notify.sinks[0].ssl"),
        ({"to": ["a@example.com"], "username": "u"}, "notify.sinks[0].password"),
    ],
)
def test_bad_email_settings(extra: dict[str, Any], where: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_notify({"sinks": [{**EMAIL, **extra}]})
    assert f"oaklake.toml {where}:" in info.value.message


def test_an_inline_password_is_refused_without_echoing_it() -> None:
    sink = {**EMAIL, "to": ["a@example.com"], "username": "u", "password": "hunter2-inline"}
    with pytest.raises(ConfigError) as info:
        parse_notify({"sinks": [sink]})
    assert "notify.sinks[0].password" in info.value.message
    assert 'env = "NAME"' in (info.value.hint or "")
    assert "hunter2-inline" not in info.value.render()


def test_a_bad_setting_in_the_workspace_file_fails_with_its_key(tmp_path: Path) -> None:
    settings = workspace(tmp_path, '[[notify.sinks]]\ntype = "webhook"\nname = "ops"\n')
    with pytest.raises(ConfigError, match=r"notify\.sinks\[0\]\.url: is required"):
        Notifier(settings)


# ---------------------------------------------------------------------------------------------
# Secrets: resolved at send time, never shown


def test_redacted_view_shows_references_not_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_TOKEN", HOOK_TOKEN)
    monkeypatch.setenv("SMTP_PASSWORD", SMTP_PASSWORD)
    settings = parse_notify(
        {
            "sinks": [
                {
                    "type": "webhook",
                    "name": "ops",
                    "url": "https://user:inline-pw@hooks.example.com/x?token=inline-tok",
                    "headers": {
                        "Authorization": {"env": "HOOK_TOKEN"},
                        "X-Api-Key": "inline-key-123",
                        "X-Team": "data",
                    },
                },
                {"type": "webhook", "name": "slack", "url": {"env": "SLACK_URL"}},
                {
                    **EMAIL,
                    "to": ["a@example.com"],
                    "username": "u",
                    "password": {"env": "SMTP_PASSWORD"},
                },
            ]
        }
    )
    shown = settings.redacted()
    text = json.dumps(shown) + repr(settings) + str(settings)
    for secret in (HOOK_TOKEN, SMTP_PASSWORD, "inline-pw", "inline-tok", "inline-key-123"):
        assert secret not in text
    ops, slack, team = shown["sinks"]
    assert ops["url"] == "https://user:***@hooks.example.com/x?***"
    assert ops["headers"] == {
        "Authorization": {"env": "HOOK_TOKEN"},
        "X-Api-Key": "***",
        "X-Team": "data",
    }
    assert slack["url"] == {"env": "SLACK_URL"}
    assert team["password"] == {"env": "SMTP_PASSWORD"}
    assert team["username"] == "u"


def test_a_missing_env_var_fails_that_sink_only_and_check_raises(
    tmp_path: Path, hook: HookServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HOOK_TOKEN", raising=False)
    settings = settings_of(
        tmp_path,
        [
            {
                "type": "webhook",
                "name": "ops",
                "url": hook.url(),
                "headers": {"Authorization": {"env": "HOOK_TOKEN"}},
            },
            {"type": "log"},
        ],
        **quick(),
    )
    notifier = Notifier(settings)
    with pytest.raises(ConfigError) as info:
        notifier.check()
    assert "HOOK_TOKEN is not set" in info.value.message
    assert "'ops' headers.Authorization" in info.value.message

    deliveries = by_name(notifier.send(failed_event()))
    assert deliveries["ops"] == Delivery(
        "ops", "webhook", ok=False, attempts=0, error=deliveries["ops"].error
    )
    assert deliveries["ops"].error is not None
    assert deliveries["ops"].error.startswith("INVALID_CONFIG:")
    assert "HOOK_TOKEN is not set" in deliveries["ops"].error
    assert hook.requests == []
    assert deliveries["log"].ok
    assert (tmp_path / ".oaklake" / "events.jsonl").is_file()


def test_secrets_echoed_by_a_server_are_scrubbed_from_errors_and_logs(
    tmp_path: Path,
    hook: HookServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("HOOK_TOKEN", HOOK_TOKEN)
    hook.echo_auth = True
    hook.script.extend([(500, b"boom"), (500, b"boom")])
    settings = settings_of(
        tmp_path,
        [
            {
                "type": "webhook",
                "name": "ops",
                "url": hook.url(),
                "headers": {"Authorization": {"env": "HOOK_TOKEN"}},
            }
        ],
        **quick(retries=1),
    )
    with caplog.at_level(logging.DEBUG, logger="oaklake.notify"):
        [delivery] = Notifier(settings, sleep=lambda _: None).send(failed_event())
    assert not delivery.ok
    assert delivery.error is not None
    assert "HTTP 500" in delivery.error
    assert "you sent ***" in delivery.error
    assert "tok-9f8e7d6c5b4a" not in delivery.error
    assert "tok-9f8e7d6c5b4a" not in caplog.text
    assert "you sent ***" in caplog.text
    # The server did get the real token: scrubbing is for what we show, not what we send.
    assert hook.requests[0].headers["Authorization"] == HOOK_TOKEN


def test_a_webhook_url_from_the_environment_is_never_shown(
    tmp_path: Path, refused_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret_url = f"http://127.0.0.1:{refused_port}/services/T000/B000/XXXXSECRET"
    monkeypatch.setenv("SLACK_URL", secret_url)
    settings = settings_of(
        tmp_path,
        [{"type": "webhook", "name": "slack", "format": "slack", "url": {"env": "SLACK_URL"}}],
        **quick(retries=0),
    )
    [delivery] = Notifier(settings).send(failed_event())
    assert not delivery.ok
    assert delivery.error is not None
    assert "the URL in $SLACK_URL" in delivery.error
    assert "XXXXSECRET" not in delivery.error


def test_a_wrong_smtp_password_fails_without_retry_or_echo(
    tmp_path: Path, smtp: tuple[Inbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, port = smtp
    monkeypatch.setenv("SMTP_PASSWORD", "wrong-password-42")
    settings = settings_of(
        tmp_path,
        [
            {
                **EMAIL,
                "port": port,
                "to": ["data-team@example.com"],
                "username": SMTP_USER,
                "password": {"env": "SMTP_PASSWORD"},
            }
        ],
        **quick(),
    )
    [delivery] = Notifier(settings, sleep=lambda _: None).send(failed_event())
    assert (delivery.ok, delivery.attempts) == (False, 1)  # a refused login is not retried
    assert delivery.error is not None
    assert "refused the login: 535" in delivery.error
    assert "wrong-password-42" not in delivery.error
    assert inbox.messages == []


# ---------------------------------------------------------------------------------------------
# Webhooks


def test_json_webhook_posts_the_event_with_headers(
    tmp_path: Path, hook: HookServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_TOKEN", HOOK_TOKEN)
    settings = settings_of(
        tmp_path,
        [
            {
                "type": "webhook",
                "name": "ops",
                "url": hook.url(),
                "headers": {"Authorization": {"env": "HOOK_TOKEN"}, "X-Team": "data"},
            }
        ],
        **quick(),
    )
    event = failed_event(details={"when": datetime(2024, 5, 1, tzinfo=UTC), "cost": Decimal("1.5")})
    assert Notifier(settings).send(event) == [Delivery("ops", "webhook", ok=True, attempts=1)]
    [request] = hook.requests
    assert request.path == "/hook"
    assert request.headers["Authorization"] == HOOK_TOKEN
    assert request.headers["X-Team"] == "data"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert request.json == {
        "source": "oaklake",
        "id": event.id,
        "kind": "quality.failed",
        "title": "sales.orders: 2 of 5 rules failed",
        "summary": event.summary,
        "details": {"when": "2024-05-01T00:00:00+00:00", "cost": "1.5"},
        "workspace": str(tmp_path.resolve()),
        "dataset": "sales.orders",
        "timestamp": event.iso_timestamp,
    }


def test_slack_webhook_posts_text_and_blocks(tmp_path: Path, hook: HookServer) -> None:
    settings = settings_of(
        tmp_path, [{"type": "webhook", "name": "slack", "url": hook.url(), "format": "slack"}]
    )
    event = failed_event()
    [delivery] = Notifier(settings).send(event)
    assert delivery.ok
    payload = hook.requests[0].json
    assert set(payload) == {"text", "blocks"}
    assert payload["text"] == "[oaklake] quality.failed: sales.orders: 2 of 5 rules failed"
    types = [block["type"] for block in payload["blocks"]]
    assert types == ["header", "section", "section", "section", "context"]
    header, summary, facts, details, context = payload["blocks"]
    assert header["text"] == {"type": "plain_text", "text": "sales.orders: 2 of 5 rules failed"}
    # Slack's mrkdwn needs &, < and > escaped.
    assert summary["text"]["text"] == (
        'Completeness "email" > 0.95 failed: 0.91 <\n& IsUnique "id" failed'.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
    )
    assert {"type": "mrkdwn", "text": "*Dataset*\nsales.orders"} in facts["fields"]
    assert {"type": "mrkdwn", "text": "*Event*\nquality.failed"} in facts["fields"]
    assert details["text"]["text"].startswith("```{")
    assert json.loads(details["text"]["text"].strip("`")) == event.details
    assert event.id in context["elements"][0]["text"]


def test_slack_header_is_one_line_and_clipped(tmp_path: Path, hook: HookServer) -> None:
    settings = settings_of(
        tmp_path, [{"type": "webhook", "name": "slack", "url": hook.url(), "format": "slack"}]
    )
    Notifier(settings).send(failed_event(title="a\nb " + "x" * 300, summary="", details={}))
    blocks = hook.requests[0].json["blocks"]
    header = blocks[0]["text"]["text"]
    assert header.startswith("a b xxx")
    assert len(header) == 150
    assert [b["type"] for b in blocks] == ["header", "section", "context"]


def test_a_sink_that_fails_twice_then_succeeds_is_ok_after_three_attempts(
    tmp_path: Path, hook: HookServer, caplog: pytest.LogCaptureFixture
) -> None:
    hook.script.extend([(500, b"busy"), (503, b"busy")])
    settings = settings_of(
        tmp_path, [{"type": "webhook", "name": "ops", "url": hook.url()}], **quick(retries=3)
    )
    delays: list[float] = []
    with caplog.at_level(logging.WARNING, logger="oaklake.notify"):
        deliveries = Notifier(settings, sleep=delays.append).send(failed_event())
    assert deliveries == [Delivery("ops", "webhook", ok=True, attempts=3)]
    assert len(hook.requests) == 3
    assert delays == [0.25, 0.5]  # exponential back-off
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "attempt 1 of 4 failed" in warnings[0].getMessage()
    assert "HTTP 500" in warnings[0].getMessage()


def test_retries_are_bounded_and_the_event_id_stays_the_same(
    tmp_path: Path, hook: HookServer, caplog: pytest.LogCaptureFixture
) -> None:
    hook.script.extend([(500, b"down")] * 10)
    settings = settings_of(
        tmp_path, [{"type": "webhook", "name": "ops", "url": hook.url()}], **quick(retries=2)
    )
    delays: list[float] = []
    with caplog.at_level(logging.ERROR, logger="oaklake.notify"):
        [delivery] = Notifier(settings, sleep=delays.append).send(failed_event())
    assert (delivery.ok, delivery.attempts) == (False, 3)
    assert delivery.error is not None
    assert "HTTP 500" in delivery.error
    assert "down" in delivery.error
    assert delays == [0.25, 0.5]
    assert len({r.json["id"] for r in hook.requests}) == 1
    assert "after 3 attempt(s)" in caplog.text


@pytest.mark.parametrize("status", [400, 401, 404])
def test_client_errors_are_not_retried(tmp_path: Path, hook: HookServer, status: int) -> None:
    hook.script.append((status, b"invalid_payload"))
    settings = settings_of(
        tmp_path, [{"type": "webhook", "name": "ops", "url": hook.url()}], **quick()
    )
    [delivery] = Notifier(settings, sleep=lambda _: None).send(failed_event())
    assert (delivery.ok, delivery.attempts) == (False, 1)
    assert delivery.error is not None
    assert f"HTTP {status}" in delivery.error
    assert "invalid_payload" in delivery.error


def test_rate_limiting_is_retried(tmp_path: Path, hook: HookServer) -> None:
    hook.script.append((429, b"slow down"))
    settings = settings_of(
        tmp_path, [{"type": "webhook", "name": "ops", "url": hook.url()}], **quick()
    )
    [delivery] = Notifier(settings, sleep=lambda _: None).send(failed_event())
    assert (delivery.ok, delivery.attempts) == (True, 2)


def test_redirects_are_not_followed(tmp_path: Path, hook: HookServer) -> None:
    hook.script.append((302, b""))
    settings = settings_of(
        tmp_path, [{"type": "webhook", "name": "ops", "url": hook.url()}], **quick()
    )
    [delivery] = Notifier(settings, sleep=lambda _: None).send(failed_event())
    assert (delivery.ok, delivery.attempts) == (False, 1)
    assert delivery.error is not None
    assert "redirect to" in delivery.error
    assert [r.path for r in hook.requests] == ["/hook"]  # POST not replayed as a GET elsewhere


def test_a_down_sink_fails_after_retries_while_the_others_receive(
    tmp_path: Path,
    hook: HookServer,
    smtp: tuple[Inbox, int],
    refused_port: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    inbox, port = smtp
    settings = settings_of(
        tmp_path,
        [
            {"type": "webhook", "name": "down", "url": f"http://127.0.0.1:{refused_port}/hook"},
            {"type": "webhook", "name": "up", "url": hook.url()},
            {**EMAIL, "port": port, "to": ["data-team@example.com"]},
            {"type": "log"},
        ],
        **quick(retries=2),
    )
    delays: list[float] = []
    with caplog.at_level(logging.WARNING, logger="oaklake.notify"):
        deliveries = Notifier(settings, sleep=delays.append).send(failed_event())
    assert [d.sink for d in deliveries] == ["down", "up", "team", "log"]
    down = deliveries[0]
    assert (down.ok, down.attempts) == (False, 3)
    assert down.error is not None
    assert "refused" in down.error.lower()
    assert all(d.ok and d.attempts == 1 for d in deliveries[1:])
    assert len(hook.requests) == 1
    assert len(inbox.messages) == 1
    assert (tmp_path / ".oaklake" / "events.jsonl").read_text().count("\n") == 1
    assert delays == [0.25, 0.5]
    assert "sink 'down' did not get event" in caplog.text


def test_an_smtp_server_that_is_down_is_retried(tmp_path: Path, refused_port: int) -> None:
    settings = settings_of(
        tmp_path, [{**EMAIL, "port": refused_port, "to": ["a@example.com"]}], **quick(retries=1)
    )
    [delivery] = Notifier(settings, sleep=lambda _: None).send(failed_event())
    assert (delivery.ok, delivery.attempts) == (False, 2)
    assert delivery.error is not None
    assert f"SMTP server 127.0.0.1:{refused_port}" in delivery.error


def test_a_slow_webhook_times_out(tmp_path: Path, hook: HookServer) -> None:
    hook.slow = True  # answers only when the test ends
    settings = settings_of(
        tmp_path,
        [{"type": "webhook", "name": "slow", "url": hook.url()}, {"type": "log"}],
        **quick(retries=1, timeout_seconds=0.2),
    )
    deliveries = by_name(Notifier(settings, sleep=lambda _: None).send(failed_event()))
    slow = deliveries["slow"]
    assert (slow.ok, slow.attempts) == (False, 2)
    assert slow.error is not None
    assert "0.2 s" in slow.error
    assert len(hook.requests) == 2
    assert deliveries["log"].ok


# ---------------------------------------------------------------------------------------------
# E-mail


def test_email_arrives_with_subject_body_and_json_attachment(
    tmp_path: Path, smtp: tuple[Inbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, port = smtp
    monkeypatch.setenv("SMTP_PASSWORD", SMTP_PASSWORD)
    settings = settings_of(
        tmp_path,
        [
            {
                **EMAIL,
                "port": port,
                "to": ["data-team@example.com", "Ops <ops@example.com>"],
                "username": SMTP_USER,
                "password": {"env": "SMTP_PASSWORD"},
            }
        ],
        **quick(),
    )
    event = failed_event()
    assert Notifier(settings).send(event) == [Delivery("team", "email", ok=True, attempts=1)]
    [received] = inbox.messages
    assert received.authenticated
    assert received.mail_from == "oaklake@example.com"
    assert received.rcpt_tos == ["data-team@example.com", "ops@example.com"]
    message = received.message
    assert message["Subject"] == "[oaklake] sales.orders: 2 of 5 rules failed"
    assert message["From"] == "oaklake@example.com"
    assert message["X-Oaklake-Event"] == "quality.failed"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert event.summary in text.replace("\r\n", "\n")
    assert "dataset:     sales.orders" in text
    assert f"event id:    {event.id}" in text
    assert str(tmp_path.resolve()) in text
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "details.json"
    assert attachment.get_content_type() == "application/json"
    assert json.loads(attachment.get_content()) == event.details


def test_starttls_against_a_server_without_it_fails_clearly(
    tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    settings = settings_of(
        tmp_path, [{**EMAIL, "port": port, "to": ["a@example.com"], "starttls": True}], **quick()
    )
    [delivery] = Notifier(settings, sleep=lambda _: None).send(failed_event())
    assert (delivery.ok, delivery.attempts) == (False, 1)
    assert delivery.error is not None
    assert "STARTTLS" in delivery.error
    assert inbox.messages == []


# ---------------------------------------------------------------------------------------------
# Filters and the log sink


def test_event_filters_pick_the_sinks(tmp_path: Path, hook: HookServer) -> None:
    settings = settings_of(
        tmp_path,
        [
            {
                "type": "webhook",
                "name": "quality",
                "url": hook.url("/quality"),
                "events": ["quality.failed", "quality.anomaly"],
            },
            {
                "type": "webhook",
                "name": "ingest",
                "url": hook.url("/ingest"),
                "events": ["ingest.*"],
            },
            {"type": "webhook", "name": "all", "url": hook.url("/all")},
        ],
    )
    notifier = Notifier(settings)
    sent = {
        kind: [d.sink for d in notifier.send(Event(kind, kind))]
        for kind in ("quality.failed", "quality.anomaly", "ingest.quarantined", "workflow.failed")
    }
    assert sent == {
        "quality.failed": ["quality", "all"],
        "quality.anomaly": ["quality", "all"],
        "ingest.quarantined": ["ingest", "all"],
        "workflow.failed": ["all"],
    }
    paths = [r.path for r in hook.requests]
    assert paths.count("/quality") == 2
    assert paths.count("/ingest") == 1
    assert paths.count("/all") == 4
    assert [s.name for s in notifier.sinks_for("quality.failed")] == ["quality", "all"]


def test_log_sink_appends_one_json_line_per_event(tmp_path: Path) -> None:
    settings = workspace(
        tmp_path,
        '[[notify.sinks]]\ntype = "log"\n\n'
        '[[notify.sinks]]\ntype = "log"\nname = "audit"\npath = "logs/audit.jsonl"\n'
        'events = ["workflow.*"]\n',
    )
    notifier = Notifier(settings)
    first = failed_event()
    second = Event("workflow.failed", "nightly failed", details={"state": "Load"})
    assert [d.sink for d in notifier.send(first)] == ["log"]
    assert [d.sink for d in notifier.send(second)] == ["log", "audit"]
    lines = (settings.root / ".oaklake" / "events.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [
        {**first.to_dict(), "workspace": str(settings.root)},
        {**second.to_dict(), "workspace": str(settings.root)},
    ]
    audit = (settings.root / "logs" / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in audit] == [second.id]


def test_an_unwritable_log_path_is_a_failed_delivery_not_an_exception(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    settings = settings_of(tmp_path, [{"type": "log", "path": "taken"}], **quick())
    [delivery] = Notifier(settings, sleep=lambda _: None).send(failed_event())
    assert (delivery.ok, delivery.attempts) == (False, 1)
    assert delivery.error is not None
    assert "cannot write" in delivery.error


# ---------------------------------------------------------------------------------------------
# Events


def test_events_get_an_id_and_a_utc_timestamp() -> None:
    a, b = Event("quality.failed", "x"), Event("quality.failed", "x")
    assert a.id != b.id
    assert len(a.id) == 36
    assert a.timestamp.tzinfo is UTC
    assert abs(datetime.now(UTC) - a.timestamp) < timedelta(minutes=1)
    local = datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert Event("k", "t", timestamp=local).iso_timestamp == "2024-05-01T10:00:00Z"
    naive = datetime(2024, 5, 1, 12, 0)
    assert Event("k", "t", timestamp=naive).iso_timestamp == "2024-05-01T12:00:00Z"


def test_event_details_become_plain_json() -> None:
    event = Event(
        "quality.anomaly",
        "row count",
        details={"nan": float("nan"), "tags": {"b", "a"}, "path": Path("/x"), 1: (1, 2)},
    )
    assert event.to_dict()["details"] == {
        "nan": None,
        "tags": ["a", "b"],
        "path": "/x",
        "1": [1, 2],
    }
    json.loads(event.to_json())  # strict JSON: no NaN


def test_notify_builds_the_event_for_this_workspace(tmp_path: Path) -> None:
    settings = settings_of(tmp_path, [{"type": "log"}])
    [delivery] = Notifier(settings).notify(
        "ingest.quarantined", "orders.csv quarantined", "3 rows failed", dataset="sales.orders"
    )
    assert delivery.ok
    line = json.loads((tmp_path / ".oaklake" / "events.jsonl").read_text())
    assert line["kind"] == "ingest.quarantined"
    assert line["dataset"] == "sales.orders"
    assert line["workspace"] == str(tmp_path.resolve())


def test_notifier_from_notify_settings_needs_a_workspace_root(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="workspace_root"):
        Notifier(NotifySettings())
    assert Notifier(NotifySettings(), tmp_path).root == tmp_path.resolve()
