"""How one event reaches one sink: payloads, and a single delivery attempt per sink type.

Each ``prepare_*`` function resolves secrets and builds the message once (a missing secret raises
``ConfigError`` before anything is sent); the returned ``Prepared.attempt`` is then called once per
try and raises ``SinkFailure`` saying whether another try could help.
"""

from __future__ import annotations

import http.client
import json
import re
import smtplib
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from oaklake.errors import ConfigError
from oaklake.notify.event import Event, json_safe
from oaklake.notify.settings import (
    EmailSink,
    LogSink,
    Secret,
    WebhookSink,
    check_http_url,
    redact_url,
    resolve,
)

USER_AGENT = "oaklake-notify/1"
# How much of an error response body is kept in the error text (Slack explains itself there).
_BODY_SNIPPET = 200
# Slack's limits: header text 150 characters, section text 3,000.
_SLACK_HEADER = 150
_SLACK_TEXT = 3000


class SinkFailure(Exception):
    """One attempt failed; ``retry`` says whether trying again could succeed."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.message = message
        self.retry = retry


@dataclass(frozen=True)
class Prepared:
    attempt: Callable[[], None]
    # Resolved secret values: scrubbed from any error text before it is logged or returned.
    secrets: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------
# Payloads


def one_line(text: str) -> str:
    return " ".join(text.split())


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def json_payload(event: Event) -> dict[str, Any]:
    return {"source": "oaklake", **event.to_dict()}


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(event: Event) -> dict[str, Any]:
    """A Slack-compatible message: ``text`` for notifications, a few plain ``blocks`` to read."""
    title = one_line(event.title) or event.kind
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(title, _SLACK_HEADER)}}
    ]
    if event.summary.strip():
        text = clip(_slack_escape(event.summary), _SLACK_TEXT)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    facts = [("Event", event.kind), ("Dataset", event.dataset), ("Workspace", event.workspace)]
    facts.append(("Time (UTC)", event.iso_timestamp))
    blocks.append(
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": clip(f"*{label}*\n{_slack_escape(value)}", 2000)}
                for label, value in facts
                if value
            ],
        }
    )
    if event.details:
        details = json.dumps(json_safe(event.details), indent=2, ensure_ascii=False)
        code = clip(_slack_escape(details), _SLACK_TEXT - 8)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"```{code}```"}})
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"oaklake event {event.id}"}]}
    )
    return {"text": f"[oaklake] {event.kind}: {title}", "blocks": blocks}


def email_subject(event: Event) -> str:
    return f"[oaklake] {one_line(event.title) or event.kind}"


def email_body(event: Event) -> str:
    lines = [event.summary.strip() or one_line(event.title), ""]
    facts = [
        ("event", event.kind),
        ("dataset", event.dataset),
        ("workspace", event.workspace),
        ("time (UTC)", event.iso_timestamp),
        ("event id", event.id),
    ]
    lines += [f"{label + ':':<12} {value}" for label, value in facts if value]
    if event.details:
        lines += ["", "The details are attached as details.json."]
    return "\n".join(lines) + "\n"


def email_message(sink: EmailSink, event: Event) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = email_subject(event)
    message["From"] = sink.sender
    message["To"] = ", ".join(sink.to)
    message["Date"] = formatdate(event.timestamp.timestamp(), usegmt=True)
    # An explicit domain: make_msgid's default looks up this host's fully qualified name.
    domain = parseaddr(sink.sender)[1].rpartition("@")[2] or "oaklake.invalid"
    message["Message-ID"] = make_msgid("oaklake", domain=domain)
    message["X-Oaklake-Event"] = event.kind
    message.set_content(email_body(event))
    details = json.dumps(json_safe(event.details), indent=2, ensure_ascii=False, sort_keys=True)
    message.add_attachment(
        details.encode("utf-8"), maintype="application", subtype="json", filename="details.json"
    )
    return message


# ---------------------------------------------------------------------------------------------
# Webhook


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: urllib would turn the POST into a GET and drop the event body."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def prepare_webhook(sink: WebhookSink, event: Event, timeout: float) -> Prepared:
    where = f"notify sink {sink.name!r}"
    secrets: list[str] = []
    if isinstance(sink.url, Secret):
        url = sink.url.resolve(f"{where} url")
        secrets.append(url)
        shown = f"the URL in ${sink.url.env}"
        check_http_url(url, f"{where} url", shown=shown)
    else:
        url, shown = sink.url, redact_url(sink.url)
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}
    for key, value in sink.headers.items():
        text = resolve(value, f"{where} headers.{key}")
        if isinstance(value, Secret):
            if re.search(r"[\r\n]", text):
                raise ConfigError(f"{where} headers.{key}: ${value.env} contains a line break")
            secrets.append(text)
        headers[key] = text
    payload = slack_payload(event) if sink.format == "slack" else json_payload(event)
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")

    def attempt() -> None:
        post(url, body, headers, timeout, shown)

    return Prepared(attempt, tuple(secrets))


def post(url: str, body: bytes, headers: dict[str, str], timeout: float, shown: str) -> int:
    """POST ``body``; the status on 2xx, ``SinkFailure`` otherwise. ``shown`` names the URL in
    messages (it may come from a secret)."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise SinkFailure(f"{shown} is not an http:// or https:// URL", retry=False)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        # Built per call: the opener reads the *_proxy variables when it is made.
        opener = urllib.request.build_opener(_NoRedirect)
        with opener.open(request, timeout=timeout) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as e:
        try:
            snippet = one_line(e.read(_BODY_SNIPPET * 4).decode("utf-8", "replace"))
        except (OSError, http.client.HTTPException):
            snippet = ""
        finally:
            e.close()
        message = f"{shown} answered HTTP {e.code} {e.reason}"
        if 300 <= e.code < 400:
            location = e.headers.get("Location") if e.headers else None
            target = f" to {redact_url(location)}" if location else ""
            message += f" (a redirect{target}; not followed: set url to the final address)"
        elif snippet:
            message += f": {clip(snippet, _BODY_SNIPPET)}"
        raise SinkFailure(message, retry=e.code >= 500 or e.code in (408, 425, 429)) from None
    except urllib.error.URLError as e:
        if isinstance(e.reason, TimeoutError):
            raise SinkFailure(f"{shown}: timed out after {timeout:g} s", retry=True) from None
        raise SinkFailure(f"cannot reach {shown}: {e.reason}", retry=True) from None
    except TimeoutError:
        raise SinkFailure(f"{shown}: no answer within {timeout:g} s", retry=True) from None
    except (OSError, http.client.HTTPException) as e:
        raise SinkFailure(f"{shown}: {type(e).__name__}: {e}", retry=True) from None


# ---------------------------------------------------------------------------------------------
# E-mail


def prepare_email(sink: EmailSink, event: Event, timeout: float) -> Prepared:
    where = f"notify sink {sink.name!r}"
    username = password = None
    secrets: list[str] = []
    if sink.username is not None and sink.password is not None:
        username = resolve(sink.username, f"{where} username")
        password = sink.password.resolve(f"{where} password")
        secrets.append(password)
        if isinstance(sink.username, Secret):
            secrets.append(username)
    message = email_message(sink, event)

    def attempt() -> None:
        smtp_send(sink, message, username, password, timeout)

    return Prepared(attempt, tuple(secrets))


def smtp_send(
    sink: EmailSink,
    message: EmailMessage,
    username: str | None,
    password: str | None,
    timeout: float,
) -> None:
    server = f"SMTP server {sink.host}:{sink.port}"
    # Loading the system's CA certificates takes a while: only when TLS is asked for.
    context = ssl.create_default_context() if sink.ssl or sink.starttls else None
    try:
        client: smtplib.SMTP
        if sink.ssl:
            client = smtplib.SMTP_SSL(sink.host, sink.port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(sink.host, sink.port, timeout=timeout)
        with client:
            if sink.starttls:
                client.starttls(context=context)
            if username is not None and password is not None:
                client.login(username, password)
            refused = client.send_message(message)
    except smtplib.SMTPRecipientsRefused as e:
        raise SinkFailure(
            f"{server} refused every recipient: {_refusals(e.recipients)}", retry=False
        ) from None
    except smtplib.SMTPNotSupportedError as e:
        raise SinkFailure(f"{server}: {e}", retry=False) from None
    except smtplib.SMTPResponseException as e:
        text = (
            e.smtp_error.decode("utf-8", "replace")
            if isinstance(e.smtp_error, bytes)
            else str(e.smtp_error)
        )
        what = "refused the login" if isinstance(e, smtplib.SMTPAuthenticationError) else "said"
        raise SinkFailure(
            f"{server} {what}: {e.smtp_code} {one_line(text)}", retry=e.smtp_code < 500
        ) from None
    except ssl.SSLCertVerificationError as e:
        raise SinkFailure(
            f"{server}: TLS certificate not trusted: {e.verify_message}", retry=False
        ) from None
    except TimeoutError:
        raise SinkFailure(f"{server}: no answer within {timeout:g} s", retry=True) from None
    except (OSError, smtplib.SMTPException) as e:
        raise SinkFailure(f"cannot deliver through {server}: {e}", retry=True) from None
    if refused:
        # Some recipients have the message already: another try would send it to them twice.
        raise SinkFailure(
            f"{server} delivered to {len(sink.to) - len(refused)} of {len(sink.to)} "
            f"recipients; refused {_refusals(refused)}",
            retry=False,
        )


def _refusals(refused: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(
        f"{addr} ({code} {one_line(text.decode('utf-8', 'replace'))})"
        for addr, (code, text) in refused.items()
    )


# ---------------------------------------------------------------------------------------------
# Log file


def log_path(sink: LogSink, root: Path) -> Path:
    path = Path(sink.path).expanduser()
    return path if path.is_absolute() else root / path


def prepare_log(sink: LogSink, event: Event, root: Path, lock: threading.Lock) -> Prepared:
    path = log_path(sink, root)
    line = event.to_json() + "\n"

    def attempt() -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # One write of one line in append mode: concurrent writers never interleave lines.
            with lock, path.open("a", encoding="utf-8") as handle:
                handle.write(line)
        except (PermissionError, IsADirectoryError, NotADirectoryError) as e:
            raise SinkFailure(f"cannot write {path}: {e.strerror or e}", retry=False) from None
        except OSError as e:
            raise SinkFailure(f"cannot write {path}: {e.strerror or e}", retry=True) from None

    return Prepared(attempt)
