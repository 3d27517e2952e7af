"""`oaklake sql`: output formats, scripts from files and stdin, where errors point, workspaces."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sys
from decimal import Decimal
from pathlib import Path

import pytest

import oaklake

SETUP = """
CREATE TABLE t (id bigint, ts timestamp, day date, price decimal(10,2),
                big decimal(38,2), name string, ok boolean);
INSERT INTO t VALUES
  (1, TIMESTAMP '2024-01-02 03:04:05.123456', DATE '2024-01-02', 1.25,
   CAST('123456789012345678901234567890.12' AS decimal(38,2)), 'a, "quoted"', true),
  (2, NULL, NULL, NULL, NULL, NULL, NULL);
"""
QUERY = "SELECT id, ts, day, price, big, name, ok FROM t ORDER BY id"


@pytest.fixture
def filled(ws: Path, cli) -> Path:
    res = cli("sql", "-w", ws, "-f", "-", input=SETUP)
    assert res.exit_code == 0, res.stderr
    return ws


# -- formats ---------------------------------------------------------------------------------
def test_json_is_an_array_of_row_objects_with_iso_times_exact_decimals_and_null(filled, cli):
    res = cli("sql", "-w", filled, "--format", "json", QUERY)
    assert res.exit_code == 0, res.stderr
    rows = json.loads(res.stdout, parse_float=Decimal)
    assert rows == [
        {
            "id": 1,
            "ts": "2024-01-02T03:04:05.123456",
            "day": "2024-01-02",
            "price": Decimal("1.25"),
            # Too many digits for a float: kept exact, as a string.
            "big": "123456789012345678901234567890.12",
            "name": 'a, "quoted"',
            "ok": True,
        },
        {"id": 2, "ts": None, "day": None, "price": None, "big": None, "name": None, "ok": None},
    ]
    assert dt.datetime.fromisoformat(rows[0]["ts"]) == dt.datetime(2024, 1, 2, 3, 4, 5, 123456)


def test_jsonl_is_one_object_per_line(filled, cli):
    res = cli("sql", "-w", filled, "--format", "jsonl", QUERY)
    assert res.exit_code == 0, res.stderr
    lines = res.stdout.splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["id"] == 1 and first["ts"] == "2024-01-02T03:04:05.123456"
    assert second == dict.fromkeys(first, None) | {"id": 2}


def test_csv_has_a_header_then_rows_with_null_as_empty_and_quoting(filled, cli):
    res = cli("sql", "-w", filled, "--format", "csv", QUERY)
    assert res.exit_code == 0, res.stderr
    rows = list(csv.reader(io.StringIO(res.stdout)))
    assert rows[0] == ["id", "ts", "day", "price", "big", "name", "ok"]
    assert rows[1][0] == "1"
    assert dt.datetime.fromisoformat(rows[1][1]) == dt.datetime(2024, 1, 2, 3, 4, 5, 123456)
    assert rows[1][2:] == [
        "2024-01-02",
        "1.25",
        "123456789012345678901234567890.12",
        'a, "quoted"',
        "True",
    ]
    assert rows[2] == ["2", "", "", "", "", "", ""]
    assert len(rows) == 3


def test_table_format_shows_headers_null_and_a_row_count(filled, cli):
    res = cli("sql", "-w", filled, "SELECT id, ts, name FROM t ORDER BY id")
    assert res.exit_code == 0, res.stderr
    out = res.stdout
    assert out.splitlines()[1].split() == ["┃", "id", "┃", "ts", "┃", "name", "┃"]
    assert "2024-01-02 03:04:05.123456" in out
    assert "NULL" in out
    assert out.rstrip().endswith("(2 rows)")


def test_ddl_messages_go_to_stdout_in_table_format_and_stderr_otherwise(ws, cli):
    res = cli("sql", "-w", ws, "CREATE TABLE m (id bigint)")
    assert (res.exit_code, res.stdout.strip(), res.stderr) == (0, "table default.m created", "")
    res = cli("sql", "-w", ws, "--format", "json", "INSERT INTO m VALUES (1), (2)")
    assert res.exit_code == 0
    assert res.stdout == ""  # machine-readable output stays clean
    assert res.stderr.strip() == "2 rows inserted"


def test_empty_result_in_json_is_an_empty_array(filled, cli):
    res = cli("sql", "-w", filled, "--format", "json", "SELECT id FROM t WHERE id > 100")
    assert res.exit_code == 0
    assert json.loads(res.stdout) == []
    res = cli("sql", "-w", filled, "--format", "csv", "SELECT id FROM t WHERE id > 100")
    assert res.stdout == "id\n"


# -- scripts ---------------------------------------------------------------------------------
def test_file_with_several_statements_runs_them_in_order(ws, cli, tmp_path):
    script = tmp_path / "load.sql"
    script.write_text(
        "-- a comment; with a semicolon\n"
        "CREATE TABLE s (id bigint, note string);\n"
        "INSERT INTO s VALUES (1, 'one; still one'), (2, 'two');\n"
        "SELECT count(*) AS n FROM s;\n"
        "SELECT note FROM s WHERE id = 1\n",
        encoding="utf-8",
    )
    res = cli("sql", "-w", ws, "-f", script, "--format", "jsonl")
    assert res.exit_code == 0, res.stderr
    assert [json.loads(x) for x in res.stdout.splitlines()] == [
        {"n": 2},
        {"note": "one; still one"},
    ]
    assert res.stderr.splitlines() == ["table default.s created", "2 rows inserted"]


def test_dash_f_dash_reads_statements_from_stdin(ws, cli):
    res = cli(
        "sql", "-w", ws, "-f", "-", "--format", "csv", input="SELECT 1 AS a;\nSELECT 'x' AS b;\n"
    )
    assert res.exit_code == 0, res.stderr
    assert res.stdout == "a\n1\nb\nx\n"


def test_select_one_works_outside_any_workspace(cli, tmp_path):
    assert not any((p / "oaklake.toml").exists() for p in (Path.cwd(), *Path.cwd().parents))
    res = cli("sql", "--format", "json", "SELECT 1 AS one, 'x' AS two")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout) == [{"one": 1, "two": "x"}]
    assert not (Path.cwd() / "oaklake.toml").exists()  # and it created nothing


def test_a_table_query_outside_any_workspace_says_how_to_make_one(cli):
    res = cli("sql", "SELECT * FROM t")
    assert res.exit_code == 2
    assert res.stderr.startswith("WORKSPACE_NOT_FOUND: ")
    assert "hint: run 'oaklake init'" in res.stderr


# -- where errors point ----------------------------------------------------------------------
def _caret_column(stderr: str) -> tuple[str, int]:
    """The snippet line and the 1-based column the caret under it points at."""
    lines = stderr.splitlines()
    i = next(i for i, line in enumerate(lines) if line.strip() == "^")
    return lines[i - 1][2:], lines[i].index("^") - 2 + 1


def test_syntax_error_on_line_3_names_statement_line_and_column(ws, cli, tmp_path):
    script = tmp_path / "broken.sql"
    script.write_text(
        "CREATE TABLE a (id bigint);\n"
        "INSERT INTO a VALUES (1);\n"
        "SELECT * FROM a WHERE id = = 1;\n"
        "CREATE TABLE b (id bigint);\n",
        encoding="utf-8",
    )
    res = cli("sql", "-w", ws, "-f", script)
    assert res.exit_code == 2
    first = res.stderr.splitlines()[0]
    assert first.startswith("SYNTAX_ERROR: statement 3 (line 3): ")
    assert first.endswith("at line 3, column 28")
    text, column = _caret_column(res.stderr)
    assert text == "SELECT * FROM a WHERE id = = 1;"
    assert column == 28 and text[column - 1] == "="
    assert text[: column - 1].count("=") == 1  # the second '=', not the first
    assert "Traceback" not in res.stderr
    # Statements 1 and 2 took effect; statement 4 never ran.
    tables = cli("sql", "-w", ws, "--format", "csv", "SHOW TABLES").stdout.split()
    assert tables == ["tab_name", "a"]
    assert cli("sql", "-w", ws, "--format", "csv", "SELECT id FROM a").stdout == "id\n1\n"


def test_error_inside_a_multi_line_statement_points_at_its_own_line(ws, cli):
    script = "SELECT 1 AS x;\nSELECT\n  1 AS a\nFROM (VALUES 1) v(c)\nWHERE c = = 1;\n"
    res = cli("sql", "-w", ws, "-f", "-", input=script)
    assert res.exit_code == 2
    first = res.stderr.splitlines()[0]
    assert first.startswith("SYNTAX_ERROR: statement 2 (line 2): ")
    assert first.endswith("at line 5, column 11")
    text, column = _caret_column(res.stderr)
    assert (text, column) == ("WHERE c = = 1;", 11)


def test_caret_accounts_for_a_statement_that_starts_mid_line(ws, cli):
    res = cli("sql", "-w", ws, "-f", "-", input="SELECT 1 AS a; SELECT 2 AS b frm c d;")
    assert res.exit_code == 2
    assert res.stderr.startswith("SYNTAX_ERROR: statement 2 (line 1): ")
    text, column = _caret_column(res.stderr)
    assert text == "SELECT 1 AS a; SELECT 2 AS b frm c d;"
    assert text[column - 1 : column + 2] == "frm"


def test_syntax_error_found_by_duckdb_still_has_line_column_and_caret(ws, cli):
    res = cli("sql", "-w", ws, "-f", "-", input="SELECT 1 AS x;\n  SELECT 'a' AS y,, 2;\n")
    assert res.exit_code == 2
    assert "statement 2 (line 2)" in res.stderr
    assert "at line 2, column 19" in res.stderr
    text, column = _caret_column(res.stderr)
    assert text == "  SELECT 'a' AS y,, 2;"
    assert text[column - 2 : column] == ",,"


def test_unterminated_string_points_at_the_opening_quote(ws, cli):
    res = cli("sql", "-w", ws, "-f", "-", input="SELECT 1;\nSELECT 'abc FROM t;\n")
    assert res.exit_code == 2
    assert res.stderr.startswith("SYNTAX_ERROR: unterminated string at line 2, column 8")
    text, column = _caret_column(res.stderr)
    assert text[column - 1] == "'"
    assert "hint: close the ' opened here" in res.stderr


def test_results_before_the_failing_statement_are_printed(ws, cli):
    res = cli("sql", "-w", ws, "--format", "csv", "SELECT 7 AS n; SELECT * FROM nope; SELECT 8")
    assert res.exit_code == 2
    assert res.stdout == "n\n7\n"
    assert res.stderr.startswith("TABLE_NOT_FOUND: statement 2 (line 1): ")


# -- which workspace -------------------------------------------------------------------------
def _make(tmp_path: Path, name: str) -> Path:
    lake = oaklake.init(tmp_path / name)
    lake.sql(f"CREATE TABLE marker AS SELECT '{name}' AS who")
    lake.close()
    return tmp_path / name


def _who(cli, *args: str | Path) -> str:
    res = cli("sql", *args, "--format", "csv", "SELECT who FROM marker")
    assert res.exit_code == 0, res.stderr
    return res.stdout.splitlines()[1]


def test_workspace_option_beats_env_which_beats_the_current_folder(cli, tmp_path, monkeypatch):
    for name in ("flag", "env", "here"):
        _make(tmp_path, name)
    nested = tmp_path / "here" / "deep" / "er"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    assert _who(cli) == "here"  # nearest oaklake.toml upwards
    monkeypatch.setenv("OAKLAKE_WORKSPACE", str(tmp_path / "env"))
    assert _who(cli) == "env"
    assert _who(cli, "-w", tmp_path / "flag") == "flag"
    assert _who(cli, "--workspace", tmp_path / "flag") == "flag"


def test_workspace_option_to_a_folder_without_oaklake_toml(cli, tmp_path):
    res = cli("sql", "-w", tmp_path, "SELECT 1")
    assert res.exit_code == 2
    assert res.stderr.startswith(f"WORKSPACE_NOT_FOUND: no oaklake.toml in {tmp_path}")
    assert "hint: create one with: oaklake init" in res.stderr


# -- the real console script -----------------------------------------------------------------
def test_real_script_select_one_outside_a_workspace(run, tmp_path):
    proc = run("sql", "--format", "json", "SELECT 1 AS one", cwd=tmp_path)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert json.loads(proc.stdout) == [{"one": 1}]


def test_real_script_reads_stdin_and_reports_errors_with_exit_2(run, ws):
    proc = run(
        "sql",
        "-w",
        ws,
        "-f",
        "-",
        "--format",
        "jsonl",
        input="CREATE TABLE p (id bigint);\nINSERT INTO p VALUES (5);\nSELECT * FROM p;\n"
        "SELECT * FROM pp;\n",
    )
    assert proc.returncode == 2
    assert proc.stdout == '{"id": 5}\n'
    err = proc.stderr.splitlines()
    assert err[:2] == ["table default.p created", "1 rows inserted"]
    assert err[2] == "TABLE_NOT_FOUND: statement 4 (line 4): table default.pp does not exist"
    assert err[3] == "hint: did you mean 'p'?"
    assert "Traceback" not in proc.stderr


def test_real_script_finds_the_workspace_from_the_environment(run, ws, tmp_path):
    proc = run(
        "sql", "--format", "csv", "SHOW SCHEMAS", cwd=tmp_path, env={"OAKLAKE_WORKSPACE": str(ws)}
    )
    assert proc.returncode == 0, proc.stderr
    assert "default" in proc.stdout.split()


def test_nested_and_binary_values(cli):
    query = (
        "SELECT map(ARRAY['k'], ARRAY[1]) AS m, ARRAY[1, 2] AS a, "
        "CAST(ROW(1, 'x') AS ROW(x int, y varchar)) AS r, X'00FF' AS b, "
        "TIMESTAMP '2024-01-01 10:00:00 UTC' AS tz"
    )
    res = cli("sql", "--format", "json", query)
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout) == [
        {
            "m": {"k": 1},
            "a": [1, 2],
            "r": {"x": 1, "y": "x"},
            "b": "AP8=",  # base64 in JSON
            "tz": "2024-01-01T10:00:00+00:00",
        }
    ]
    res = cli("sql", "--format", "csv", query)
    assert list(csv.reader(io.StringIO(res.stdout)))[1] == [
        '{"k": 1}',
        "[1, 2]",
        '{"x": 1, "y": "x"}',
        "00ff",  # hex, as Athena shows varbinary
        "2024-01-01 10:00:00+00:00",
    ]


def test_a_file_with_a_byte_order_mark_and_crlf_line_ends(ws, cli, tmp_path):
    script = tmp_path / "windows.sql"
    script.write_bytes(b"\xef\xbb\xbfSELECT 1 AS a;\r\nSELECT 2 AS b\r\n  FROM nope;\r\n")
    res = cli("sql", "-w", ws, "-f", script, "--format", "csv")
    assert res.stdout == "a\n1\n"
    assert res.stderr.startswith("TABLE_NOT_FOUND: statement 2 (line 2): ")


def test_caret_lines_up_under_tabs(ws, cli):
    res = cli("sql", "-w", ws, "-f", "-", input="SELECT 1;\n\tSELECT\t* FROM t WHERE id = = 1;\n")
    assert res.exit_code == 2
    lines = res.stderr.splitlines()
    assert lines[1] == "  \tSELECT\t* FROM t WHERE id = = 1;"
    # Same characters before the caret as before the bad '=' (tabs kept as tabs).
    column = len(lines[2]) - 2
    assert lines[2][2:-1] == "".join(c if c == "\t" else " " for c in lines[1][2 : 2 + column - 1])
    assert lines[1][2 + column - 1] == "="


def test_real_script_stops_quietly_when_the_reader_goes_away(ws):
    from subprocess import PIPE, Popen

    oaklake_script = Path(sys.executable).with_name("oaklake")
    query = "SELECT x FROM UNNEST(sequence(1, 300000)) AS t(x)"
    with Popen(
        [str(oaklake_script), "sql", "-w", str(ws), "--format", "jsonl", query],
        stdout=PIPE,
        stderr=PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline() == '{"x": 1}\n'
        proc.stdout.close()  # like `| head -1`
        err = proc.stderr.read()
        code = proc.wait(timeout=60)
    assert "INTERNAL_ERROR" not in err and "Traceback" not in err
    assert code in (0, 1)
