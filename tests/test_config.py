"""Workspaces: how one is found, what `init` writes, and which setting wins."""

from __future__ import annotations

import dataclasses
import sqlite3
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

import oaklake
from oaklake.cli import app
from oaklake.config import (
    CONFIG_FILE,
    Settings,
    find_workspace,
    init_workspace,
    load_settings,
)
from oaklake.errors import AlreadyExists, ConfigError, WorkspaceNotFound


def _toml(folder: Path, text: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CONFIG_FILE).write_text(text, encoding="utf-8")
    return folder


# -- finding the workspace -------------------------------------------------------------------
def test_explicit_path_may_be_the_folder_or_its_toml(tmp_path):
    ws = _toml(tmp_path / "ws")
    assert find_workspace(ws) == ws.resolve()
    assert find_workspace(ws / CONFIG_FILE) == ws.resolve()
    assert find_workspace(str(ws)) == ws.resolve()


def test_explicit_path_without_toml_is_not_searched_upwards(tmp_path):
    _toml(tmp_path)
    (tmp_path / "sub").mkdir()
    with pytest.raises(WorkspaceNotFound) as info:
        find_workspace(tmp_path / "sub")
    assert info.value.code == "WORKSPACE_NOT_FOUND"
    assert info.value.hint == f"create one with: oaklake init {tmp_path / 'sub'}"


def test_nearest_toml_upwards_from_cwd(tmp_path, monkeypatch):
    outer = _toml(tmp_path / "outer")
    inner = _toml(outer / "inner")
    deep = inner / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert find_workspace() == inner.resolve()
    monkeypatch.chdir(outer)
    assert find_workspace() == outer.resolve()


def test_explicit_beats_env_beats_cwd(tmp_path, monkeypatch):
    here, env, flag = (_toml(tmp_path / n) for n in ("here", "env", "flag"))
    monkeypatch.chdir(here)
    assert find_workspace() == here.resolve()
    monkeypatch.setenv("OAKLAKE_WORKSPACE", str(env))
    assert find_workspace() == env.resolve()
    assert find_workspace(flag) == flag.resolve()


def test_env_pointing_at_a_folder_without_toml_fails_instead_of_searching(tmp_path, monkeypatch):
    monkeypatch.chdir(_toml(tmp_path / "here"))
    monkeypatch.setenv("OAKLAKE_WORKSPACE", str(tmp_path / "empty"))
    with pytest.raises(WorkspaceNotFound):
        find_workspace()


def test_no_workspace_anywhere():
    with pytest.raises(WorkspaceNotFound) as info:
        find_workspace()
    assert f"no {CONFIG_FILE} found in {Path.cwd().resolve()}" in info.value.message
    assert "oaklake init" in (info.value.hint or "")
    assert "OAKLAKE_WORKSPACE" in (info.value.hint or "")


# -- init ------------------------------------------------------------------------------------
def test_init_writes_toml_warehouse_and_a_sqlite_catalog(tmp_path):
    lake = oaklake.init(tmp_path / "new" / "ws")
    lake.close()
    root = tmp_path / "new" / "ws"
    assert (root / "warehouse").is_dir()
    data = tomllib.loads((root / CONFIG_FILE).read_text(encoding="utf-8"))
    assert data["catalog"] == {
        "name": "oaklake",
        "uri": "sqlite:///catalog.db",
        "warehouse": "warehouse",
    }
    assert data["sql"]["default_schema"] == "default"
    with sqlite3.connect(root / "catalog.db") as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "iceberg_tables" in tables
    again = oaklake.connect(root)
    assert again.catalog.list_schemas() == ["default"]
    again.close()


def test_init_twice_refuses_and_keeps_the_first_file(tmp_path):
    init_workspace(tmp_path, warehouse="first")
    before = (tmp_path / CONFIG_FILE).read_text()
    with pytest.raises(AlreadyExists) as info:
        init_workspace(tmp_path, warehouse="second")
    assert info.value.code == "ALREADY_EXISTS"
    assert (tmp_path / CONFIG_FILE).read_text() == before
    assert not (tmp_path / "second").exists()


def test_init_with_object_store_warehouse_makes_no_folder(tmp_path):
    root = tmp_path / "ws"
    init_workspace(root, warehouse="s3://bucket/lake/", catalog_uri="sqlite:///meta/cat.db")
    settings = load_settings(root)
    assert settings.warehouse_uri == "s3://bucket/lake"
    assert settings.warehouse_path is None
    assert settings.resolved_catalog_uri == f"sqlite:///{(root / 'meta/cat.db').resolve()}"
    assert [p.name for p in root.iterdir()] == [CONFIG_FILE]


def test_failed_init_leaves_nothing_so_it_can_be_run_again(tmp_path):
    target = tmp_path / "ws"
    with pytest.raises(ConfigError) as info:
        oaklake.init(target, catalog_uri="nosuchdialect://x")
    assert "cannot open the catalog" in info.value.message
    assert not target.exists()
    existing = tmp_path / "kept"
    (existing / "notes").mkdir(parents=True)
    with pytest.raises(ConfigError):
        oaklake.init(existing, catalog_uri="nosuchdialect://x")
    assert sorted(p.name for p in existing.iterdir()) == ["notes"]  # only ours was removed
    oaklake.init(target).close()
    assert (target / CONFIG_FILE).is_file()


def test_cli_init_in_the_current_folder_then_again(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    res = runner.invoke(app, ["init"])
    assert res.exit_code == 0, res.stderr
    assert res.stdout.splitlines() == [
        f"workspace created in {tmp_path.resolve()}",
        "  catalog:   oaklake (sqlite:///catalog.db)",
        f"  warehouse: file://{(tmp_path / 'warehouse').resolve()}",
    ]
    assert {p.name for p in tmp_path.iterdir()} >= {CONFIG_FILE, "warehouse", "catalog.db"}
    res = runner.invoke(app, ["init"])
    assert res.exit_code == 2
    assert res.stderr.startswith(
        f"ALREADY_EXISTS: {tmp_path.resolve() / CONFIG_FILE} already exists"
    )
    assert "hint: " in res.stderr


# -- settings precedence ---------------------------------------------------------------------
FULL = """
[catalog]
name = "fromfile"
uri = "sqlite:///file.db"
warehouse = "file-wh"

[sql]
default_schema = "sales"

[extra_section]
x = 1
"""


def test_defaults_when_the_file_is_empty(tmp_path):
    s = load_settings(_toml(tmp_path))
    assert (s.catalog_name, s.catalog_uri, s.warehouse, s.default_schema) == (
        "oaklake",
        "sqlite:///catalog.db",
        "warehouse",
        "default",
    )
    assert s.root == tmp_path.resolve()


def test_file_beats_defaults(tmp_path):
    s = load_settings(_toml(tmp_path, FULL))
    assert (s.catalog_name, s.catalog_uri, s.warehouse, s.default_schema) == (
        "fromfile",
        "sqlite:///file.db",
        "file-wh",
        "sales",
    )
    assert s.extra == {"extra_section": {"x": 1}}
    assert s.warehouse_uri == f"file://{(tmp_path / 'file-wh').resolve()}"


def test_env_beats_file(tmp_path, monkeypatch):
    monkeypatch.setenv("OAKLAKE_CATALOG_URI", "sqlite:///env.db")
    monkeypatch.setenv("OAKLAKE_WAREHOUSE", "s3://env-bucket/wh")
    monkeypatch.setenv("OAKLAKE_CATALOG_NAME", "fromenv")
    s = load_settings(_toml(tmp_path, FULL))
    assert (s.catalog_name, s.catalog_uri, s.warehouse) == (
        "fromenv",
        "sqlite:///env.db",
        "s3://env-bucket/wh",
    )
    assert s.default_schema == "sales"  # no variable for it: the file still counts


def test_explicit_beats_env(tmp_path, monkeypatch):
    monkeypatch.setenv("OAKLAKE_WAREHOUSE", "s3://env-bucket/wh")
    s = load_settings(_toml(tmp_path, FULL), warehouse="explicit-wh", catalog_name=None)
    assert s.warehouse == "explicit-wh"
    assert s.catalog_name == "fromfile"  # None means "not given", not "empty"


def test_empty_env_variable_does_not_override(tmp_path, monkeypatch):
    monkeypatch.setenv("OAKLAKE_WAREHOUSE", "")
    assert load_settings(_toml(tmp_path, FULL)).warehouse == "file-wh"


def test_env_warehouse_is_where_tables_are_written(tmp_path, monkeypatch):
    oaklake.init(tmp_path / "ws").close()
    monkeypatch.setenv("OAKLAKE_WAREHOUSE", str(tmp_path / "elsewhere"))
    with oaklake.connect(tmp_path / "ws") as lake:
        lake.sql("CREATE TABLE moved AS SELECT 1 AS a")
    assert (tmp_path / "elsewhere" / "default" / "moved" / "metadata").is_dir()
    assert not any((tmp_path / "ws" / "warehouse").iterdir())


def test_env_catalog_uri_is_the_catalog_used(tmp_path, monkeypatch):
    oaklake.init(tmp_path / "ws").close()
    monkeypatch.setenv("OAKLAKE_CATALOG_URI", f"sqlite:///{tmp_path / 'other.db'}")
    with oaklake.connect(tmp_path / "ws") as lake:
        lake.sql("CREATE SCHEMA fresh")  # a new, empty catalog: its own schemas only
        assert lake.catalog.list_schemas() == ["fresh"]
    assert (tmp_path / "other.db").is_file()


def test_settings_are_frozen(tmp_path):
    s = Settings(root=tmp_path)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.warehouse = "x"  # type: ignore[misc]
    assert s.with_overrides(warehouse="y", catalog_name=None).warehouse == "y"
    assert s.warehouse == "warehouse"


# -- bad files -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[catalog\nuri = 'x'\n", "is not valid TOML"),
        ("catalog = 3\n", "[catalog] and [sql] must be tables"),
        ("[catalog]\nuri = 1\n", "setting 'catalog_uri' must be a non-empty string"),
        ("[catalog]\nwarehouse = ''\n", "setting 'warehouse' must be a non-empty string"),
    ],
)
def test_bad_toml_is_invalid_config_naming_the_file(tmp_path, text, fragment):
    _toml(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path)
    assert info.value.code == "INVALID_CONFIG"
    assert isinstance(info.value, ValueError)
    assert fragment in info.value.message
    assert str(tmp_path / CONFIG_FILE) in info.value.message


def test_invalid_toml_error_says_where(tmp_path):
    _toml(tmp_path, '[catalog]\nname = "ok"\nuri = \n')
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path)
    assert "line 3" in info.value.message
    assert info.value.hint == "fix the file by hand"
