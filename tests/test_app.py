"""The Python API: `oaklake.connect`, `Lake.sql`, `Lake.sql_script` and their results."""

from __future__ import annotations

import datetime as dt
import json
import sys
from decimal import Decimal

import pyarrow as pa
import pytest
from click.testing import CliRunner

import oaklake
from oaklake.app import Lake
from oaklake.cli import app
from oaklake.errors import MissingDependency, SqlSyntaxError, TableNotFound, WorkspaceNotFound


@pytest.fixture
def orders(lake: Lake) -> Lake:
    lake.sql_script(
        """
        CREATE TABLE orders (id bigint, ts timestamp, amount decimal(10,2), note string);
        INSERT INTO orders VALUES
          (1, TIMESTAMP '2025-01-01 10:00:00', 9.99, 'first'),
          (2, TIMESTAMP '2025-01-02 11:30:00', 20.00, NULL);
        """
    )
    return lake


def test_connect_finds_the_workspace_like_the_cli(lake, monkeypatch, tmp_path):
    root = lake.settings.root
    with oaklake.connect(root) as explicit:
        assert explicit.settings.root == root
        assert repr(explicit) == f"Lake({str(root)!r})"
    monkeypatch.chdir(root / "warehouse")
    with oaklake.connect() as found:
        assert found.settings.root == root
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OAKLAKE_WORKSPACE", str(root))
    with oaklake.connect() as from_env:
        assert from_env.settings.root == root
    monkeypatch.delenv("OAKLAKE_WORKSPACE")
    with pytest.raises(WorkspaceNotFound):
        oaklake.connect()


def test_connect_sees_what_another_lake_wrote(orders):
    with oaklake.connect(orders.settings.root) as other:
        assert other.sql("SELECT count(*) FROM orders").scalar() == 2


def test_query_result_columns_rows_and_conversions(orders):
    result = orders.sql("SELECT id, ts, amount, note FROM orders ORDER BY id")
    assert result.columns == ["id", "ts", "amount", "note"]
    assert result.rows == [
        (1, dt.datetime(2025, 1, 1, 10), Decimal("9.99"), "first"),
        (2, dt.datetime(2025, 1, 2, 11, 30), Decimal("20.00"), None),
    ]
    assert len(result) == 2
    assert result.scalar() == 1
    table = result.to_arrow()
    assert isinstance(table, pa.Table)
    assert table.schema.field("id").type == pa.int64()
    assert table.schema.field("amount").type == pa.decimal128(10, 2)
    assert pa.types.is_timestamp(table.schema.field("ts").type)
    frame = result.to_pandas()
    assert list(frame.columns) == result.columns
    assert frame["id"].tolist() == [1, 2]
    assert frame["note"].isna().tolist() == [False, True]


def test_constant_query_converts_too(lake):
    result = lake.sql("SELECT 1 AS a, 'x' AS b")
    assert (result.columns, result.rows) == (["a", "b"], [(1, "x")])
    assert result.to_arrow().to_pylist() == [{"a": 1, "b": "x"}]
    assert result.to_pandas().to_dict("records") == [{"a": 1, "b": "x"}]


def test_statement_results_carry_a_message_and_no_rows(lake):
    created = lake.sql("CREATE TABLE t (id bigint)")
    assert (created.has_rows, created.columns, created.rows) == (False, [], [])
    assert created.message == "table default.t created"
    assert created.to_arrow().num_columns == 0
    inserted = lake.sql("INSERT INTO t VALUES (1), (2), (3)")
    assert (inserted.message, inserted.affected_rows) == ("3 rows inserted", 3)
    assert isinstance(inserted.snapshot_id, int)
    assert repr(inserted) == "Result('3 rows inserted')"


def test_sql_returns_the_last_result_and_sql_script_returns_all(lake):
    last = lake.sql("CREATE TABLE s (id bigint); INSERT INTO s VALUES (7); SELECT id FROM s")
    assert last.rows == [(7,)]
    results = lake.sql_script(
        "SELECT 1 AS a; INSERT INTO s VALUES (8); SELECT count(*) AS n FROM s"
    )
    assert len(results) == 3
    assert results[0].rows == [(1,)]
    assert results[1].affected_rows == 1
    assert results[2].rows == [(2,)]
    assert [r.statement for r in results] == [
        "SELECT 1 AS a",
        "INSERT INTO s VALUES (8)",
        "SELECT count(*) AS n FROM s",
    ]


def test_sql_script_stops_at_the_first_error_keeping_earlier_effects(lake):
    with pytest.raises(TableNotFound) as info:
        lake.sql_script(
            "CREATE TABLE kept (id bigint);\nSELECT * FROM missing;\nCREATE TABLE never (id bigint)"
        )
    assert info.value.statement_index == 2
    assert info.value.message.startswith("statement 2 (line 2): ")
    tables = [r[0] for r in lake.sql("SHOW TABLES").rows]
    assert tables == ["kept"]


def test_empty_input_is_an_error(lake):
    with pytest.raises(SqlSyntaxError, match="no statement to run"):
        lake.sql("  -- nothing here\n")
    assert lake.sql_script(";") == []


def test_to_pandas_without_pandas_says_how_to_install_it(lake, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` now fails
    with pytest.raises(MissingDependency) as info:
        lake.sql("SELECT 1 AS a").to_pandas()
    assert isinstance(info.value, ImportError)
    assert info.value.hint == "pip install 'oaklake[pandas]'"


def test_the_cli_mirrors_the_api(orders):
    query = "SELECT id, ts, amount, note FROM orders ORDER BY id"
    res = CliRunner().invoke(
        app, ["sql", "-w", str(orders.settings.root), "--format", "json", query]
    )
    assert res.exit_code == 0, res.stderr
    from_cli = json.loads(res.stdout, parse_float=Decimal)
    from_api = orders.sql(query)
    assert [list(r.keys()) for r in from_cli] == [from_api.columns] * 2
    assert [r["id"] for r in from_cli] == [r[0] for r in from_api.rows]
    assert [dt.datetime.fromisoformat(r["ts"]) for r in from_cli] == [r[1] for r in from_api.rows]
    assert [r["amount"] for r in from_cli] == [r[2] for r in from_api.rows]
    assert [r["note"] for r in from_cli] == [r[3] for r in from_api.rows]


def test_init_makes_a_lake_with_its_default_schema(tmp_path):
    with oaklake.init(tmp_path / "x") as lake:
        assert isinstance(lake, oaklake.Lake)
        assert lake.catalog.list_schemas() == ["default"]
        assert lake.engine.current_schema == "default"
