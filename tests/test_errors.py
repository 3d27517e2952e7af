"""The error contract: stable codes, one text shape, one dict shape, builtin base classes."""

from __future__ import annotations

import json

import pytest

from oaklake import errors
from oaklake.app import Lake
from oaklake.cli.render import error_text
from oaklake.errors import (
    AlreadyExists,
    ColumnNotFound,
    CommitConflict,
    ConfigError,
    InvalidFile,
    InvalidInput,
    InvalidProperty,
    MissingDependency,
    NotFound,
    NotSupported,
    OakError,
    QualityGateFailed,
    QueryFailed,
    SchemaNotFound,
    SnapshotNotFound,
    SqlSyntaxError,
    TableNotFound,
    TypeMismatch,
    WorkspaceNotFound,
    did_you_mean,
    exit_code_for,
)

# Codes are part of the public interface (scripts match on them): renaming one breaks users.
CODES = {
    OakError: "INTERNAL_ERROR",
    InvalidInput: "INVALID_INPUT",
    SqlSyntaxError: "SYNTAX_ERROR",
    NotFound: "NOT_FOUND",
    TableNotFound: "TABLE_NOT_FOUND",
    SchemaNotFound: "SCHEMA_NOT_FOUND",
    ColumnNotFound: "COLUMN_NOT_FOUND",
    SnapshotNotFound: "SNAPSHOT_NOT_FOUND",
    WorkspaceNotFound: "WORKSPACE_NOT_FOUND",
    AlreadyExists: "ALREADY_EXISTS",
    TypeMismatch: "TYPE_MISMATCH",
    InvalidProperty: "INVALID_PROPERTY",
    NotSupported: "NOT_SUPPORTED",
    QueryFailed: "QUERY_FAILED",
    CommitConflict: "COMMIT_CONFLICT",
    MissingDependency: "MISSING_DEPENDENCY",
    ConfigError: "INVALID_CONFIG",
    InvalidFile: "INVALID_FILE",
    QualityGateFailed: "QUALITY_GATE_FAILED",
}


def test_every_error_class_has_its_pinned_code():
    classes = {
        obj for obj in vars(errors).values() if isinstance(obj, type) and issubclass(obj, OakError)
    }
    assert classes == set(CODES), "a new error class needs a pinned code here and in docs"
    for cls, code in CODES.items():
        assert cls.code == code
        assert cls("x").code == code
    assert len(set(CODES.values())) == len(CODES)


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (NotFound, LookupError),
        (TableNotFound, LookupError),
        (SchemaNotFound, LookupError),
        (ColumnNotFound, LookupError),
        (SnapshotNotFound, LookupError),
        (WorkspaceNotFound, LookupError),
        (InvalidInput, ValueError),
        (SqlSyntaxError, ValueError),
        (TypeMismatch, ValueError),
        (InvalidProperty, ValueError),
        (QueryFailed, ValueError),
        (ConfigError, ValueError),
        (MissingDependency, ImportError),
    ],
)
def test_errors_inherit_the_matching_builtin(cls, builtin):
    assert issubclass(cls, OakError)
    with pytest.raises(builtin):
        raise cls("boom")


def test_not_found_is_not_a_value_error_and_exists_is_not_a_lookup_error():
    assert not issubclass(TableNotFound, ValueError)
    assert not issubclass(AlreadyExists, LookupError)
    assert not issubclass(NotSupported, ValueError | LookupError)


def test_to_dict_is_exactly_code_message_hint():
    e = TableNotFound("table default.x does not exist", hint="did you mean 'y'?")
    assert e.to_dict() == {
        "code": "TABLE_NOT_FOUND",
        "message": "table default.x does not exist",
        "hint": "did you mean 'y'?",
    }
    assert OakError("plain").to_dict() == {
        "code": "INTERNAL_ERROR",
        "message": "plain",
        "hint": None,
    }
    assert json.loads(json.dumps(e.to_dict())) == e.to_dict()  # the future HTTP body


def test_syntax_error_dict_adds_its_position():
    e = SqlSyntaxError("bad", sql="SELECT ,", line=1, column=8)
    assert e.to_dict() == {
        "code": "SYNTAX_ERROR",
        "message": "bad",
        "hint": None,
        "line": 1,
        "column": 8,
    }


def test_http_status_by_kind():
    assert TableNotFound("x").http_status == 404
    assert WorkspaceNotFound("x").http_status == 404
    assert AlreadyExists("x").http_status == 409
    assert CommitConflict("x").http_status == 409
    assert InvalidInput("x").http_status == 400
    assert NotSupported("x").http_status == 400


def test_render_is_code_colon_message_then_hint_line():
    assert InvalidInput("bad thing").render() == "INVALID_INPUT: bad thing"
    e = NotSupported("no UPSERT", hint="use MERGE INTO")
    assert e.render() == "NOT_SUPPORTED: no UPSERT\nhint: use MERGE INTO"
    assert str(e) == e.render()
    assert error_text(e) == e.render()


def test_syntax_error_render_has_position_snippet_and_caret():
    sql = "SELECT 1;\nSELECT a,\n  FROM t WHERE"
    e = SqlSyntaxError("unexpected end", sql=sql, line=3, column=10, hint="finish the WHERE")
    assert e.render().split("\n") == [
        "SYNTAX_ERROR: unexpected end at line 3, column 10",
        "    FROM t WHERE",
        "           ^",
        "hint: finish the WHERE",
    ]
    # The caret sits under column 10 of line 3 (snippet lines are indented by two).
    lines = e.render().split("\n")
    assert lines[1][2:][lines[2].index("^") - 2] == "W"


def test_syntax_error_without_position_has_no_snippet():
    e = SqlSyntaxError("no statement to run")
    assert e.snippet() == ""
    assert e.render() == "SYNTAX_ERROR: no statement to run"


def test_syntax_error_line_past_the_end_is_clamped():
    e = SqlSyntaxError("x", sql="SELECT", line=9, column=7)
    assert e.snippet() == "  SELECT\n        ^"


def test_code_can_be_overridden_per_instance_without_touching_the_class():
    e = NotFound("no such file: a.sql", code="FILE_NOT_FOUND")
    assert e.code == "FILE_NOT_FOUND" and isinstance(e, LookupError)
    assert e.render().startswith("FILE_NOT_FOUND: ")
    assert NotFound.code == "NOT_FOUND"


def test_exit_codes():
    assert exit_code_for(TableNotFound("x")) == 2
    assert exit_code_for(SqlSyntaxError("x")) == 2
    assert exit_code_for(OakError("x")) == 2
    assert exit_code_for(RuntimeError("x")) == 3  # a bug, not the user's mistake
    assert exit_code_for(KeyError("x")) == 3


def test_internal_error_text_points_at_debugging():
    text = error_text(ZeroDivisionError("division by zero"))
    assert text.split("\n") == [
        "INTERNAL_ERROR: ZeroDivisionError: division by zero",
        "hint: this is a bug in oaklake; run again with OAKLAKE_DEBUG=1 for a traceback and "
        "report it",
    ]


def test_did_you_mean():
    assert did_you_mean("ordrs", ["orders", "customers"]) == "did you mean 'orders'?"
    assert did_you_mean("zzz", ["orders", "customers"]) is None
    assert did_you_mean("cust", []) is None
    hint = did_you_mean("order", ["orders", "order_items", "ordre"])
    assert hint is not None and hint.startswith("did you mean ") and " or " in hint


# -- through the Python API: ordinary except clauses work -------------------------------------
def test_python_callers_can_catch_builtins(lake: Lake):
    lake.sql("CREATE TABLE orders (id bigint)")
    with pytest.raises(LookupError) as missing:
        lake.sql("SELECT * FROM ordres")
    assert isinstance(missing.value, TableNotFound)
    assert missing.value.hint == "did you mean 'orders'?"
    with pytest.raises(ValueError) as bad:
        lake.sql("SELECT 1;\nSELECT * FROM orders WHERE")
    err = bad.value
    assert isinstance(err, SqlSyntaxError)
    assert (err.line, err.statement_index) == (2, 2)
    assert err.message.startswith("statement 2 (line 2): ")
    with pytest.raises(OakError) as exists:
        lake.sql("CREATE TABLE orders (id bigint)")
    assert exists.value.code == "ALREADY_EXISTS"
