"""Bad input, end to end through `oaklake sql`: a stable code, a clear message, exit 2.

Every case goes through the same shape check (`assert_user_error`), which pins the contract:
the first stderr line is ``CODE: message``; further lines are ``hint: …`` or an indented snippet
with a caret; stdout stays empty; the exit code is 2.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result

import oaklake

_FIRST_LINE = re.compile(r"^(?P<code>[A-Z][A-Z_]+): (?P<message>\S.*)$")


def assert_user_error(res: Result, code: str, *fragments: str) -> str:
    """Check the error contract and return the whole stderr text."""
    err = res.stderr
    assert res.exit_code == 2, (res.exit_code, err, res.stdout)
    assert isinstance(res.exception, SystemExit)  # printed and exited, nothing escaped
    assert res.stdout == ""
    assert "Traceback" not in err and 'File "' not in err
    lines = err.rstrip("\n").split("\n")
    m = _FIRST_LINE.match(lines[0])
    assert m, lines[0]
    assert m["code"] == code, err
    for line in lines[1:]:
        assert line.startswith(("hint: ", "  ")), f"unexpected stderr line {line!r}"
    assert sum(line.startswith("hint: ") for line in lines) <= 1
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    return err


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One workspace for the statements below; none of them may change it (they all fail)."""
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("OAKLAKE_"):
                mp.delenv(key)
        root = tmp_path_factory.mktemp("errors") / "ws"
        lake = oaklake.init(root)
        lake.sql("CREATE TABLE t (id bigint, name string, ts timestamp)")
        lake.sql("INSERT INTO t VALUES (1, 'a', TIMESTAMP '2024-01-01 00:00:00')")
        lake.close()
    yield root


BAD_SQL = [
    # syntax
    (
        "selec 1",
        "SYNTAX_ERROR",
        ["unknown statement 'selec'", "line 1, column 1", "hint: did you mean 'SELECT'?"],
    ),
    ("SELECT * FROM t WHERE", "SYNTAX_ERROR", ["line 1, column 17"]),
    ("SELECT 'abc", "SYNTAX_ERROR", ["unterminated string", "hint: close the '"]),
    ('SELECT "abc FROM t', "SYNTAX_ERROR", ["unterminated quoted name"]),
    ("SELECT 1 /* open", "SYNTAX_ERROR", ["unterminated comment", "hint: close the /*"]),
    ("SELECT (1", "SYNTAX_ERROR", ["line 1, column"]),
    ("frobnicate", "SYNTAX_ERROR", ["unknown statement 'frobnicate'"]),
    # unknown names
    (
        "SELECT * FROM nope",
        "TABLE_NOT_FOUND",
        ["table default.nope does not exist", "hint: SHOW TABLES IN default"],
    ),
    ("SELECT * FROM tt", "TABLE_NOT_FOUND", ["hint: did you mean 't'?"]),
    ("SELECT * FROM defualt.t", "SCHEMA_NOT_FOUND", ["hint: did you mean 'default'?"]),
    ("SELECT * FROM nosuch.t", "SCHEMA_NOT_FOUND", ["hint: create it with CREATE SCHEMA"]),
    ("SELECT nme FROM t", "COLUMN_NOT_FOUND", ['"nme"', "hint: did you mean 'name'?"]),
    ("SELECT * FROM elsewhere.default.t", "CATALOG_NOT_FOUND", ["'elsewhere'"]),
    ("DESCRIBE t nope", "COLUMN_NOT_FOUND", ["column nope does not exist in default.t"]),
    ("DESCRIBE nope", "TABLE_NOT_FOUND", ["default.nope"]),
    ("INSERT INTO t (nope) VALUES (1)", "COLUMN_NOT_FOUND", ["column nope"]),
    ("INSERT INTO nope VALUES (1)", "TABLE_NOT_FOUND", ["default.nope"]),
    ("ALTER TABLE t DROP COLUMN nope", "COLUMN_NOT_FOUND", ["column nope"]),
    ("DROP TABLE nope", "TABLE_NOT_FOUND", ["default.nope does not exist"]),
    ("DROP VIEW nope", "TABLE_NOT_FOUND", ["view default.nope does not exist"]),
    ("DROP SCHEMA nope", "SCHEMA_NOT_FOUND", ["'nope'"]),
    ("USE nope", "SCHEMA_NOT_FOUND", ["'nope'"]),
    ("SHOW TABLES IN nope", "SCHEMA_NOT_FOUND", ["'nope'"]),
    ("SELECT foo(1)", "FUNCTION_NOT_FOUND", ["foo"]),
    ("UPDATE nope SET id = 1", "TABLE_NOT_FOUND", ["default.nope"]),
    ("UPDATE t SET nope = 1", "COLUMN_NOT_FOUND", ["nope"]),
    ("DELETE FROM t WHERE nope = 1", "COLUMN_NOT_FOUND", ["nope"]),
    (
        "MERGE INTO nope USING t s ON nope.id = s.id WHEN MATCHED THEN DELETE",
        "TABLE_NOT_FOUND",
        ["default.nope"],
    ),
    # already exists
    (
        "CREATE TABLE t (id bigint)",
        "ALREADY_EXISTS",
        ["table default.t already exists", "hint: use CREATE TABLE IF NOT EXISTS"],
    ),
    ("CREATE SCHEMA default", "ALREADY_EXISTS", ["hint: use IF NOT EXISTS"]),
    ("CREATE VIEW t AS SELECT 1 AS a", "ALREADY_EXISTS", ["default.t"]),
    ("ALTER TABLE t ADD COLUMNS (id bigint)", "ALREADY_EXISTS", ["column id"]),
    # types
    (
        "INSERT INTO t VALUES ('x', 'y', TIMESTAMP '2024-01-01 00:00:00')",
        "TYPE_MISMATCH",
        ["column id is bigint", "hint: CAST the value"],
    ),
    ("INSERT INTO t VALUES (1, 'a')", "TYPE_MISMATCH", ["expects 3 column(s)", "gives 2"]),
    ("UPDATE t SET id = 'x'", "TYPE_MISMATCH", ["column id is bigint"]),
    ("SELECT CAST('x' AS integer)", "TYPE_MISMATCH", ["'x'"]),
    ("SELECT * FROM t WHERE ts > 'abc'", "TYPE_MISMATCH", ['"abc"']),
    ("SELECT * FROM t FOR TIMESTAMP AS OF 'abc'", "TYPE_MISMATCH", ['"abc"']),
    ("CREATE TABLE c (x decimal(50,2))", "TYPE_MISMATCH", ["decimal(50,2)"]),
    ("CREATE TABLE c (a bigint) PARTITIONED BY (day(a))", "TYPE_MISMATCH", ["day(a)"]),
    # properties
    (
        "CREATE TABLE c (id bigint) TBLPROPERTIES ('foo'='bar')",
        "INVALID_PROPERTY",
        ["Unsupported table property key: foo", "hint: allowed keys:"],
    ),
    ("ALTER TABLE t SET TBLPROPERTIES ('foo'='bar')", "INVALID_PROPERTY", ["foo"]),
    ("CREATE TABLE c WITH (foo = 'bar') AS SELECT 1 AS a", "INVALID_PROPERTY", ["foo"]),
    ("SHOW TBLPROPERTIES t ('nope')", "PROPERTY_NOT_FOUND", ["'nope'"]),
    # not supported, each with a hint saying what to do instead
    ("CREATE TABLE c (id tinyint)", "NOT_SUPPORTED", ["tinyint", "hint: use int"]),
    (
        "CREATE EXTERNAL TABLE c (id bigint) LOCATION '/tmp/x'",
        "NOT_SUPPORTED",
        ["External", "hint: write CREATE TABLE"],
    ),
    ("CREATE OR REPLACE TABLE c (id bigint)", "NOT_SUPPORTED", ["hint: DROP TABLE first"]),
    ("INSERT OVERWRITE TABLE t SELECT * FROM t", "NOT_SUPPORTED", ["INSERT OVERWRITE", "hint: "]),
    ("MSCK REPAIR TABLE t", "NOT_SUPPORTED", ["hint: Iceberg tracks its files"]),
    (
        "CREATE TABLE c WITH (format = 'ORC') AS SELECT 1 AS a",
        "NOT_SUPPORTED",
        ["ORC", "hint: oaklake writes Parquet"],
    ),
    ("CREATE TABLE c AS SELECT to_json(1) AS j", "NOT_SUPPORTED", ["json", "hint: supported:"]),
    (
        "CREATE TABLE c (id bigint) PARTITIONED BY (nope(id))",
        "NOT_SUPPORTED",
        ["hint: use a column, year(c)"],
    ),
    ('SELECT * FROM "t$nope"', "NOT_SUPPORTED", ['hint: available: "t$snapshots"']),
    ("GRANT SELECT ON t TO bob", "NOT_SUPPORTED", ["GRANT", "hint: see the SQL reference"]),
    # time travel
    (
        "SELECT * FROM t FOR VERSION AS OF 123",
        "SNAPSHOT_NOT_FOUND",
        ["no snapshot 123", "hint: recent snapshot ids: "],
    ),
    (
        "SELECT * FROM t FOR TIMESTAMP AS OF TIMESTAMP '1999-01-01 00:00:00'",
        "SNAPSHOT_NOT_FOUND",
        ["at or before"],
    ),
    ("SELECT * FROM t FOR VERSION AS OF 'abc'", "INVALID_INPUT", ["snapshot id"]),
    # the engine refusing a query
    ("SELECT 1/0", "QUERY_FAILED", ["Division by zero"]),
    ("SELECT id FROM t UNION SELECT id, name FROM t", "QUERY_FAILED", ["number of"]),
    (
        "SELECT * FROM read_csv('/nope/missing.csv')",
        "FILE_NOT_FOUND",
        ["/nope/missing.csv", "hint: check the path"],
    ),
    (
        "CREATE TABLE c WITH (location = '/proc/oaklake') AS SELECT 1 AS a",
        "INVALID_LOCATION",
        ["/proc/oaklake", "hint: choose a LOCATION"],
    ),
]


@pytest.mark.parametrize(("sql", "code", "fragments"), BAD_SQL, ids=[c[0][:40] for c in BAD_SQL])
def test_bad_statement(shared, cli, sql, code, fragments):
    err = assert_user_error(cli("sql", "-w", shared, sql), code, *fragments)
    if code == "NOT_SUPPORTED":
        assert "\nhint: " in err  # always say what to do instead


def test_none_of_the_bad_statements_changed_the_workspace(shared, cli):
    res = cli("sql", "-w", shared, "--format", "csv", "SHOW TABLES; SELECT id, name FROM t")
    assert res.stdout == "tab_name\nt\nid,name\n1,a\n"
    assert sorted(p.name for p in (shared / "warehouse" / "default").iterdir()) == ["t"]


# -- bad command lines -----------------------------------------------------------------------
def test_unknown_format(cli):
    assert_user_error(
        cli("sql", "--format", "xml", "SELECT 1"),
        "INVALID_INPUT",
        "unknown format 'xml'",
        "hint: use one of table, csv, json, jsonl",
    )


def test_missing_file(cli):
    assert_user_error(
        cli("sql", "-f", "missing.sql"), "FILE_NOT_FOUND", "no such file: missing.sql"
    )


def test_a_folder_as_file(cli, tmp_path):
    assert_user_error(cli("sql", "-f", tmp_path), "INVALID_INPUT", "is a folder, not a SQL file")


def test_a_file_that_is_not_utf8(cli, tmp_path):
    bad = tmp_path / "latin1.sql"
    bad.write_bytes("SELECT 'café'".encode("latin-1"))
    assert_user_error(cli("sql", "-f", bad), "INVALID_INPUT", "latin1.sql is not UTF-8 text")


def test_both_a_query_and_a_file(cli, tmp_path):
    (tmp_path / "q.sql").write_text("SELECT 1")
    assert_user_error(
        cli("sql", "-f", tmp_path / "q.sql", "SELECT 2"),
        "INVALID_INPUT",
        "give either a SQL string or --file",
    )


def test_neither_a_query_nor_a_file(cli):
    assert_user_error(cli("sql"), "INVALID_INPUT", 'hint: oaklake sql "select 1"')


@pytest.mark.parametrize("text", ["", "  ;; ", "-- only a comment\n", "/* nothing */"])
def test_nothing_to_run(cli, text):
    # `--` ends the options, so a query may start with a comment's dashes.
    assert_user_error(cli("sql", "--", text), "INVALID_INPUT", "no statement to run")


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (
            ["sql", "--formt", "json", "SELECT 1"],
            [
                "No such option '--formt'",
                "Did you mean '--format'?",
                "hint: see 'oaklake sql --help'",
            ],
        ),
        (["sql", "-f"], ["'-f' requires an argument", "hint: see 'oaklake sql --help'"]),
        (["sqll"], ["No such command 'sqll'", "'sql'", "hint: see 'oaklake --help'"]),
        (["--nope"], ["No such option '--nope'"]),
        (["init", "a", "b"], ["unexpected extra argument (b)", "hint: see 'oaklake init --help'"]),
    ],
)
def test_usage_errors_have_the_same_shape(cli, args, fragments):
    assert_user_error(cli(*args), "INVALID_USAGE", *fragments)


def test_help_and_version_still_work(cli):
    res = cli("sql", "--help")
    assert res.exit_code == 0 and "--format" in res.stdout and "-f, --file" in res.stdout
    res = cli("--version")
    assert res.exit_code == 0 and oaklake.__version__ in res.stdout


def test_workspace_that_does_not_exist(cli, tmp_path):
    assert_user_error(
        cli("sql", "-w", tmp_path / "nowhere", "SELECT 1"),
        "WORKSPACE_NOT_FOUND",
        "hint: create one with: oaklake init",
    )


def test_workspace_env_pointing_nowhere(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("OAKLAKE_WORKSPACE", str(tmp_path / "nowhere"))
    assert_user_error(cli("sql", "SELECT * FROM t"), "WORKSPACE_NOT_FOUND", "nowhere")


def test_invalid_toml(cli, tmp_path):
    (tmp_path / "oaklake.toml").write_text("[catalog\nuri = 1\n")
    err = assert_user_error(
        cli("sql", "-w", tmp_path, "SELECT 1"), "INVALID_CONFIG", "is not valid TOML", "line 1"
    )
    assert str(tmp_path / "oaklake.toml") in err


def test_shell_outside_a_workspace(cli):
    assert_user_error(cli("shell"), "WORKSPACE_NOT_FOUND", "hint: run 'oaklake init'")


def test_init_twice(cli, tmp_path):
    assert cli("init", tmp_path / "w").exit_code == 0
    assert_user_error(cli("init", tmp_path / "w"), "ALREADY_EXISTS", "oaklake.toml already exists")


def test_init_on_a_file(cli, tmp_path):
    (tmp_path / "afile").write_text("x")
    assert_user_error(cli("init", tmp_path / "afile"), "INVALID_CONFIG", "is not a folder")


def test_internal_errors_say_so_and_exit_3(cli, monkeypatch):
    """A bug (not a user's mistake) is reported as INTERNAL_ERROR with exit code 3."""
    from oaklake.engine.session import Engine

    def boom(self, stmt):
        raise RuntimeError("kaput")

    monkeypatch.setattr(Engine, "run_statement", boom)
    res = cli("sql", "SELECT 1")
    assert res.exit_code == 3
    assert res.stderr.splitlines() == [
        "INTERNAL_ERROR: RuntimeError: kaput",
        "hint: this is a bug in oaklake; run again with OAKLAKE_DEBUG=1 for a traceback and "
        "report it",
    ]
    monkeypatch.setenv("OAKLAKE_DEBUG", "1")
    res = cli("sql", "SELECT 1")
    assert "Traceback" in res.stderr and res.exit_code == 3


def test_ctrl_c_prints_interrupted_and_exits_130(cli, monkeypatch):
    from oaklake.engine.session import Engine

    def interrupted(self, stmt):
        raise KeyboardInterrupt

    monkeypatch.setattr(Engine, "run_statement", interrupted)
    res = cli("sql", "SELECT 1")
    assert (res.exit_code, res.stderr) == (130, "interrupted\n")


# -- nothing half-created --------------------------------------------------------------------
FAILING_CREATES = [
    ("CREATE TABLE c1 AS SELECT 1/0 AS a", "QUERY_FAILED"),
    ("CREATE TABLE c2 AS SELECT CAST('x' AS int) AS a", "TYPE_MISMATCH"),
    (
        "CREATE TABLE c3 AS SELECT * FROM (VALUES (1), (2)) v(a) WHERE CAST('y' AS int) = a",
        "TYPE_MISMATCH",
    ),
    (
        "CREATE TABLE c4 WITH (partitioning = ARRAY['bucket(4, nope)']) AS SELECT 1 AS a",
        "COLUMN_NOT_FOUND",
    ),
    ("CREATE TABLE c5 (id bigint) PARTITIONED BY (bucket(4, nope))", "COLUMN_NOT_FOUND"),
    ("CREATE TABLE c6 (id bigint) TBLPROPERTIES ('foo' = 'bar')", "INVALID_PROPERTY"),
    ("CREATE TABLE c7 AS SELECT 1 AS a, 2 AS a", "TYPE_MISMATCH"),
    ("CREATE TABLE c8 AS SELECT to_json(1) AS j", "NOT_SUPPORTED"),
    ("CREATE TABLE c9 AS SELECT 1 + 1", "INVALID_INPUT"),
    ("CREATE TABLE c10 (id bigint) LOCATION '/proc/oaklake'", "INVALID_LOCATION"),
    ("CREATE TABLE nope.c11 AS SELECT 1 AS a", "SCHEMA_NOT_FOUND"),
    ("CREATE VIEW v1 AS SELECT * FROM nope", "TABLE_NOT_FOUND"),
]


def test_failing_create_leaves_nothing_behind(ws, cli):
    for sql, code in FAILING_CREATES:
        assert_user_error(cli("sql", "-w", ws, sql), code)
    res = cli("sql", "-w", ws, "--format", "csv", "SHOW TABLES; SHOW VIEWS")
    assert res.exit_code == 0, res.stderr
    assert res.stdout.split() == ["tab_name", "views"]  # two headers, no rows
    leftovers = [p.relative_to(ws) for p in (ws / "warehouse").rglob("*")]
    assert leftovers in ([], [Path("default")])
    # The names are free: the same statements, fixed, succeed.
    ok = cli("sql", "-w", ws, "CREATE TABLE c1 AS SELECT 1 AS a; CREATE TABLE c5 (id bigint)")
    assert ok.exit_code == 0, ok.stderr
