"""The [server] section of oaklake.toml and how ``oaklake serve`` uses it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from oaklake.app import Lake
from oaklake.cli import app
from oaklake.config import load_settings
from oaklake.errors import ConfigError
from oaklake.server.settings import ServerSettings, server_settings


def settings_with(lake: Lake, section: str) -> ServerSettings:
    path = lake.settings.root / "oaklake.toml"
    path.write_text(path.read_text(encoding="utf-8") + "\n[server]\n" + section, encoding="utf-8")
    return server_settings(load_settings(lake.settings.root))


def test_defaults(lake: Lake) -> None:
    conf = server_settings(lake.settings)
    assert (conf.host, conf.port, conf.api_key()) == ("127.0.0.1", 8080, None)


def test_literal_key_host_and_port(lake: Lake) -> None:
    conf = settings_with(lake, 'api_key = "s3cret"\nhost = "0.0.0.0"\nport = 9000\n')
    assert (conf.host, conf.port, conf.api_key()) == ("0.0.0.0", 9000, "s3cret")
    assert "s3cret" not in repr(conf)
    assert conf.redacted()["api_key"] == "***"


def test_key_by_reference(lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = settings_with(lake, 'api_key = { env = "SHOP_API_KEY" }\n')
    with pytest.raises(ConfigError, match="SHOP_API_KEY is not set"):
        conf.api_key()
    monkeypatch.setenv("SHOP_API_KEY", "from-env")
    assert conf.api_key() == "from-env"
    assert conf.redacted()["api_key"] == {"env": "SHOP_API_KEY"}
    assert "from-env" not in repr(conf)
    monkeypatch.setenv("OAKLAKE_API_KEY", "override")
    assert conf.api_key() == "override"  # the environment beats the file


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("api_key = 12345\n", "api_key must be a string"),
        ('api_key = { name = "X" }\n', "api_key must be a string"),
        ('api_key = { env = "not a name" }\n', "not a variable name"),
        ('api_key = ""\n', "api_key is empty"),
        ('port = "80"\n', "port must be a whole number"),
        ("port = 70000\n", "port must be a whole number"),
        ("host = 1\n", "host must be a non-empty string"),
        ('apikey = "x"\n', "unknown setting 'apikey'"),
    ],
)
def test_mistakes_are_named(lake: Lake, section: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        settings_with(lake, section)


def test_serve_refuses_to_start_without_a_key(lake: Lake) -> None:
    result = CliRunner().invoke(app, ["serve", "-w", str(lake.settings.root)])
    assert result.exit_code == 2
    assert result.stderr.startswith("API_KEY_REQUIRED: ")
    assert "--no-auth" in result.stderr


def test_serve_reports_a_missing_key_variable(lake: Lake) -> None:
    settings_with(lake, 'api_key = { env = "SHOP_API_KEY" }\n')
    result = CliRunner().invoke(app, ["serve", "-w", str(Path(lake.settings.root))])
    assert result.exit_code == 2
    assert "INVALID_CONFIG" in result.stderr
    assert "SHOP_API_KEY" in result.stderr
