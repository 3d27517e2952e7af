"""The ``[server]`` settings of oaklake.toml: where the API listens and the key it requires.

oaklake.toml is usually committed, so the key should be held by reference
(``api_key = { env = "NAME" }``); a literal works for a quick local try. ``OAKLAKE_API_KEY``
overrides both. The key's value is looked up when the server starts and never shown: ``repr``
and ``redacted()`` show where it comes from, not what it is.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from oaklake.config import Settings
from oaklake.errors import ConfigError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_RELOAD_SECONDS = 5.0
KEY_ENV = "OAKLAKE_API_KEY"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEYS = ("api_key", "host", "port", "reload_interval")


@dataclass(frozen=True)
class ServerSettings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    # Where the key comes from: ("env", NAME), ("literal", VALUE) or None (no key configured).
    key_source: tuple[str, str] | None = None
    # Seconds between looks for newly trained versions of the served recommenders; 0 = never.
    reload_interval: float = DEFAULT_RELOAD_SECONDS

    def api_key(self) -> str | None:
        """The key now: OAKLAKE_API_KEY, else the configured reference or literal, else None."""
        override = os.environ.get(KEY_ENV)
        if override:
            return override
        if self.key_source is None:
            return None
        kind, value = self.key_source
        if kind == "literal":
            return value
        resolved = os.environ.get(value)
        if not resolved:
            raise ConfigError(
                f"[server] api_key: environment variable {value} is not set",
                hint=f"set {value} in the environment that runs oaklake serve "
                f"(oaklake.toml refers to it as {{ env = {value!r} }})",
            )
        return resolved

    def redacted(self) -> dict[str, Any]:
        key: Any = None
        if os.environ.get(KEY_ENV):
            key = {"env": KEY_ENV}
        elif self.key_source is not None:
            kind, value = self.key_source
            key = {"env": value} if kind == "env" else "***"
        return {
            "host": self.host,
            "port": self.port,
            "api_key": key,
            "reload_interval": self.reload_interval,
        }

    def __repr__(self) -> str:
        return f"ServerSettings({self.redacted()!r})"


def server_settings(settings: Settings) -> ServerSettings:
    """The ``[server]`` section, validated; a mistake names the key and says what is allowed."""
    section = settings.extra.get("server", {})
    where = f"{settings.root / 'oaklake.toml'} [server]"
    if not isinstance(section, dict):
        raise ConfigError(f"{where} must be a table", hint='[server]\napi_key = { env = "NAME" }')
    unknown = sorted(set(section) - set(_KEYS))
    if unknown:
        raise ConfigError(
            f"{where}: unknown setting {unknown[0]!r}", hint="the settings are " + ", ".join(_KEYS)
        )
    host = section.get("host", DEFAULT_HOST)
    if not isinstance(host, str) or not host:
        raise ConfigError(f'{where}: host must be a non-empty string, e.g. "127.0.0.1"')
    port = section.get("port", DEFAULT_PORT)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigError(f"{where}: port must be a whole number from 0 to 65535, got {port!r}")
    reload = section.get("reload_interval", DEFAULT_RELOAD_SECONDS)
    if isinstance(reload, bool) or not isinstance(reload, int | float) or reload < 0:
        raise ConfigError(
            f"{where}: reload_interval must be a number of seconds >= 0, got {reload!r}",
            hint="e.g. reload_interval = 5 (0: serve the version loaded at start until restart)",
        )
    return ServerSettings(
        host=host,
        port=port,
        key_source=_key_source(section, where),
        reload_interval=float(reload),
    )


def _key_source(section: dict[str, Any], where: str) -> tuple[str, str] | None:
    value = section.get("api_key")
    if value is None:
        return None
    if isinstance(value, str):
        if not value:
            raise ConfigError(f"{where}: api_key is empty", hint='api_key = { env = "NAME" }')
        return ("literal", value)
    if isinstance(value, dict) and set(value) == {"env"} and isinstance(value["env"], str):
        if not _ENV_NAME.fullmatch(value["env"]):
            raise ConfigError(f"{where}: api_key env {value['env']!r} is not a variable name")
        return ("env", value["env"])
    raise ConfigError(
        f'{where}: api_key must be a string or {{ env = "NAME" }}',
        hint='keep the key out of the file: api_key = { env = "OAKLAKE_SHOP_KEY" }',
    )
