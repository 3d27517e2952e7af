"""Athena views: stored in the catalog, expanded at query time, validated at creation."""

from __future__ import annotations

import pytest
from engine_helpers import error_code

from oaklake.app import Lake


@pytest.fixture
def base(lake: Lake) -> Lake:
    lake.sql("CREATE TABLE t (id int, cat string)")
    lake.sql("INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'a')")
    lake.sql("CREATE VIEW v AS SELECT id, cat FROM t WHERE cat = 'a'")
    return lake


def test_view_reads_current_data(base: Lake) -> None:
    assert base.sql("SELECT id FROM v ORDER BY id").rows == [(1,), (3,)]
    base.sql("INSERT INTO t VALUES (4, 'a')")
    assert base.sql("SELECT id FROM v ORDER BY id").rows == [(1,), (3,), (4,)]


def test_view_over_a_view(base: Lake) -> None:
    base.sql("CREATE VIEW vv AS SELECT count(*) AS n, max(id) AS top FROM v")
    assert base.sql("SELECT * FROM vv").rows == [(2, 3)]


def test_view_in_a_join_with_aliases(base: Lake) -> None:
    rows = base.sql(
        "SELECT t.id, x.cat FROM t JOIN v AS x ON t.id = x.id WHERE x.id > 1 ORDER BY 1"
    ).rows
    assert rows == [(3, "a")]
    assert base.sql("SELECT a, b FROM v AS w(a, b) ORDER BY a").rows == [(1, "a"), (3, "a")]
    left = base.sql("SELECT t.id, v.id FROM t LEFT JOIN v ON t.id = v.id ORDER BY 1").rows
    assert left == [(1, 1), (2, None), (3, 3)]


def test_create_or_replace_changes_what_dependents_see(base: Lake) -> None:
    base.sql("CREATE VIEW vv AS SELECT count(*) AS n FROM v")
    base.sql("CREATE OR REPLACE VIEW v AS SELECT id FROM t WHERE cat = 'b'")
    assert base.sql("SELECT * FROM vv").rows == [(1,)]
    assert base.sql("DESCRIBE v").rows == [("id", "integer", "")]
    assert base.sql("SHOW CREATE VIEW v").scalar() == (
        "CREATE VIEW default.v AS\nSELECT id FROM t WHERE cat = 'b'"
    )


def test_view_is_validated_when_created(base: Lake) -> None:
    assert error_code(base.sql, "CREATE VIEW bad AS SELECT * FROM nope") == "TABLE_NOT_FOUND"
    assert error_code(base.sql, "CREATE VIEW bad AS SELECT nope FROM t") == "COLUMN_NOT_FOUND"
    assert base.sql("SHOW VIEWS").rows == [("v",)]


def test_names_shared_with_tables_are_refused(base: Lake) -> None:
    assert error_code(base.sql, "CREATE VIEW v AS SELECT 1 AS x") == "ALREADY_EXISTS"
    assert error_code(base.sql, "CREATE VIEW t AS SELECT 1 AS x") == "ALREADY_EXISTS"
    assert error_code(base.sql, "CREATE TABLE v (x int)") == "ALREADY_EXISTS"


def test_drop_view(base: Lake) -> None:
    base.sql("CREATE VIEW vv AS SELECT * FROM v")
    assert base.sql("DROP VIEW vv").message == "view default.vv dropped"
    assert "does not exist" in base.sql("DROP VIEW IF EXISTS vv").message
    assert error_code(base.sql, "DROP VIEW vv") == "TABLE_NOT_FOUND"
    assert base.sql("SELECT count(*) FROM t").scalar() == 3  # the table is untouched


def test_dependent_of_a_dropped_view_fails_at_query_time(base: Lake) -> None:
    base.sql("CREATE VIEW vv AS SELECT * FROM v")
    base.sql("DROP VIEW v")
    assert error_code(base.sql, "SELECT * FROM vv") == "TABLE_NOT_FOUND"


def test_view_cycle_is_reported_not_recursed(base: Lake) -> None:
    base.sql("CREATE VIEW b AS SELECT * FROM v")
    base.sql("CREATE OR REPLACE VIEW v AS SELECT * FROM b")
    with pytest.raises(Exception, match="nest too deeply") as info:
        base.sql("SELECT * FROM v")
    assert info.value.code == "INVALID_INPUT"  # type: ignore[attr-defined]


def test_view_resolves_names_in_its_own_schema(base: Lake) -> None:
    base.sql("CREATE SCHEMA s")
    base.sql("USE s")
    base.sql("CREATE TABLE t (id int)")
    base.sql("INSERT INTO t VALUES (100)")
    base.sql("CREATE VIEW sv AS SELECT id FROM t")
    base.sql("USE default")
    assert base.sql("SELECT * FROM s.sv").rows == [(100,)]
    assert base.sql("SHOW VIEWS IN s").rows == [("sv",)]
    assert error_code(base.sql, "DROP SCHEMA s") == "SCHEMA_NOT_EMPTY"


def test_cte_named_like_a_view_shadows_it(base: Lake) -> None:
    assert base.sql("WITH v AS (SELECT 5 AS id) SELECT * FROM v").rows == [(5,)]


def test_view_with_athena_functions_and_a_cte(base: Lake) -> None:
    base.sql(
        "CREATE VIEW f AS WITH c AS (SELECT id, cat FROM t) "
        "SELECT id, regexp_like(cat, 'a') AS is_a, element_at(split(cat, ','), 1) AS first "
        "FROM c"
    )
    assert base.sql("SELECT * FROM f ORDER BY id").rows == [
        (1, True, "a"),
        (2, False, "b"),
        (3, True, "a"),
    ]


def test_predicates_through_a_view_still_prune_the_table(base: Lake) -> None:
    base.sql("INSERT INTO t VALUES (10, 'a')")
    base.sql("CREATE VIEW big AS SELECT id FROM t WHERE id >= 10")
    plan = base.sql("EXPLAIN SELECT * FROM big").rows[0][0]
    assert "1 of 2 files planned" in plan
    assert base.sql("SELECT * FROM big").rows == [(10,)]
