"""Workspace settings: one frozen object, loaded at the edge and passed down.

Precedence: explicit arguments > ``OAKLAKE_*`` environment > ``oaklake.toml`` > defaults.
A workspace is found from an explicit path, then ``OAKLAKE_WORKSPACE``, then the nearest
``oaklake.toml`` upwards from the current folder.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from oaklake.errors import AlreadyExists, ConfigError, WorkspaceNotFound

CONFIG_FILE = "oaklake.toml"
DEFAULT_CATALOG_NAME = "oaklake"
DEFAULT_SCHEMA = "default"

_TEMPLATE = """\
# oaklake workspace settings. Paths are relative to this file.
# OAKLAKE_CATALOG_URI, OAKLAKE_WAREHOUSE and OAKLAKE_CATALOG_NAME override these settings.

[catalog]
# Any SQLAlchemy URI works: sqlite:///catalog.db here, postgresql+psycopg2://user@host/db to grow.
name = "{catalog_name}"
uri = "{catalog_uri}"
# A folder or an object-store URI (s3://bucket/prefix) where table data and metadata live.
warehouse = "{warehouse}"

[sql]
# The schema (database) that unqualified table names resolve to.
default_schema = "default"
# How often UPDATE/DELETE/MERGE re-plan and retry when another writer committed first.
commit_retries = 4
"""


# The password part of a SQLAlchemy URL, as SQLAlchemy's own parser delimits it.
_URI_PASSWORD = re.compile(r"^(?P<head>[\w+.-]+://[^:/]*):[^@]*@")


def redact_uri(uri: str) -> str:
    """A catalog URI fit to print or log: the password (if there is one) becomes ``***``."""
    return _URI_PASSWORD.sub(lambda m: m["head"] + ":***@", uri, count=1)


@dataclass(frozen=True)
class Settings:
    """Everything a workspace needs to open its catalog and run SQL."""

    root: Path
    catalog_name: str = DEFAULT_CATALOG_NAME
    catalog_uri: str = "sqlite:///catalog.db"
    warehouse: str = "warehouse"
    default_schema: str = DEFAULT_SCHEMA
    # How often a write re-plans and retries when another writer committed first.
    commit_retries: int = 4
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def resolved_catalog_uri(self) -> str:
        """SQLite paths in the file are relative to the workspace; make them absolute."""
        uri = self.catalog_uri
        prefix = "sqlite:///"
        if (
            uri.startswith(prefix)
            and not uri.startswith(prefix + "/")
            and uri != prefix + ":memory:"
        ):
            return prefix + str((self.root / uri[len(prefix) :]).resolve())
        return uri

    @property
    def warehouse_uri(self) -> str:
        wh = self.warehouse
        if "://" in wh:
            return wh.rstrip("/")
        return "file://" + str((self.root / wh).resolve())

    @property
    def warehouse_path(self) -> Path | None:
        """The local folder of the warehouse, or None when it lives in object storage."""
        uri = self.warehouse_uri
        return Path(uri[len("file://") :]) if uri.startswith("file://") else None

    def with_overrides(self, **kwargs: Any) -> Settings:
        return replace(self, **{k: v for k, v in kwargs.items() if v is not None})


def find_workspace(start: str | os.PathLike[str] | None = None) -> Path:
    """The workspace folder: explicit path, then OAKLAKE_WORKSPACE, then upwards from cwd."""
    if start is not None:
        path = Path(start).expanduser().resolve()
        if path.is_file() and path.name == CONFIG_FILE:
            path = path.parent
        if not (path / CONFIG_FILE).is_file():
            raise WorkspaceNotFound(
                f"no {CONFIG_FILE} in {path}",
                hint=f"create one with: oaklake init {start}",
            )
        return path
    env = os.environ.get("OAKLAKE_WORKSPACE")
    if env:
        return find_workspace(env)
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise WorkspaceNotFound(
        f"no {CONFIG_FILE} found in {here} or any folder above it",
        hint="run 'oaklake init' to create a workspace here, or pass --workspace PATH "
        "(or set OAKLAKE_WORKSPACE)",
    )


def load_settings(root: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Read the workspace's oaklake.toml, apply OAKLAKE_* variables, then explicit overrides."""
    folder = find_workspace(root)
    path = folder / CONFIG_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML: {e}", hint="fix the file by hand") from e
    cat = data.get("catalog", {})
    sql = data.get("sql", {})
    if not isinstance(cat, dict) or not isinstance(sql, dict):
        raise ConfigError(f"{path}: [catalog] and [sql] must be tables")
    values: dict[str, Any] = {
        "catalog_name": cat.get("name", DEFAULT_CATALOG_NAME),
        "catalog_uri": cat.get("uri", "sqlite:///catalog.db"),
        "warehouse": cat.get("warehouse", "warehouse"),
        "default_schema": sql.get("default_schema", DEFAULT_SCHEMA),
        "commit_retries": sql.get("commit_retries", 4),
    }
    for key, env in (
        ("catalog_uri", "OAKLAKE_CATALOG_URI"),
        ("warehouse", "OAKLAKE_WAREHOUSE"),
        ("catalog_name", "OAKLAKE_CATALOG_NAME"),
    ):
        if os.environ.get(env):
            values[key] = os.environ[env]
    if os.environ.get("OAKLAKE_COMMIT_RETRIES"):
        values["commit_retries"] = os.environ["OAKLAKE_COMMIT_RETRIES"]
    values.update({k: v for k, v in overrides.items() if v is not None})
    for key in ("catalog_name", "catalog_uri", "warehouse", "default_schema"):
        if not isinstance(values[key], str) or not values[key]:
            raise ConfigError(f"{path}: setting {key!r} must be a non-empty string")
    try:
        values["commit_retries"] = int(values["commit_retries"])
        if values["commit_retries"] < 0:
            raise ValueError
    except (TypeError, ValueError):
        raise ConfigError(
            f"{path}: commit_retries must be a whole number ≥ 0, got {values['commit_retries']!r}"
        ) from None
    extra = {k: v for k, v in data.items() if k not in ("catalog", "sql")}
    return Settings(root=folder, extra=extra, **values)


def init_workspace(
    path: str | os.PathLike[str] = ".",
    *,
    catalog_uri: str | None = None,
    warehouse: str | None = None,
    catalog_name: str = DEFAULT_CATALOG_NAME,
) -> Path:
    """Write oaklake.toml and the warehouse folder; refuse to overwrite an existing workspace."""
    folder = Path(path).expanduser().resolve()
    target = folder / CONFIG_FILE
    if target.exists():
        raise AlreadyExists(
            f"{target} already exists", hint="this folder is already a workspace; use it as it is"
        )
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{folder} exists and is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    text = _TEMPLATE.format(
        catalog_name=catalog_name,
        catalog_uri=catalog_uri or "sqlite:///catalog.db",
        warehouse=warehouse or "warehouse",
    )
    target.write_text(text, encoding="utf-8")
    wh = warehouse or "warehouse"
    if "://" not in wh:
        (folder / wh).mkdir(parents=True, exist_ok=True)
    return folder
