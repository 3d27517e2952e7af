"""One error tree for all of oaklake.

Every error a user can cause carries a stable ``code`` (documented, never renamed), a message that
says what went wrong, and a ``hint`` that says what to do instead. Errors also inherit from the
matching builtin so ordinary ``except LookupError`` clauses keep working.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any


class OakError(Exception):
    """Base of every oaklake error; ``code`` is stable and machine-readable."""

    code = "INTERNAL_ERROR"
    exit_code = 2
    http_status = 400

    def __init__(self, message: str, *, hint: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "hint": self.hint}

    def render(self) -> str:
        """The text a person sees: code, message, then the hint on its own line."""
        text = f"{self.code}: {self.message}"
        if self.hint:
            text += f"\nhint: {self.hint}"
        return text

    def __str__(self) -> str:
        return self.render()


class InvalidInput(OakError, ValueError):
    code = "INVALID_INPUT"


class SqlSyntaxError(InvalidInput):
    """A statement that does not parse; carries the position and a caret snippet. The smaller
    languages (DQDL, recommendation filters) subclass it and pass their source as ``text``."""

    code = "SYNTAX_ERROR"

    def __init__(
        self,
        message: str,
        *,
        sql: str = "",
        text: str | None = None,
        line: int | None = None,
        column: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.sql = text if text is not None else sql
        self.line = line
        self.column = column
        super().__init__(message, hint=hint)

    @property
    def text(self) -> str:
        """The source the position refers to (``sql`` under another name)."""
        return self.sql

    def snippet(self) -> str:
        if not self.sql or self.line is None or self.column is None:
            return ""
        lines = self.sql.splitlines() or [""]
        idx = min(max(self.line, 1), len(lines)) - 1
        text = lines[idx]
        # Keep tabs under tabs, so the caret lines up however wide the terminal draws them.
        lead = text[: max(self.column - 1, 0)]
        caret = "".join("\t" if c == "\t" else " " for c in lead) + "^"
        return f"  {text}\n  {caret}"

    def render(self) -> str:
        where = f" at line {self.line}, column {self.column}" if self.line is not None else ""
        text = f"{self.code}: {self.message}{where}"
        snip = self.snippet()
        if snip:
            text += "\n" + snip
        if self.hint:
            text += f"\nhint: {self.hint}"
        return text

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d.update(line=self.line, column=self.column)
        return d


class NotFound(OakError, LookupError):
    code = "NOT_FOUND"
    http_status = 404


class TableNotFound(NotFound):
    code = "TABLE_NOT_FOUND"


class SchemaNotFound(NotFound):
    code = "SCHEMA_NOT_FOUND"


class ColumnNotFound(NotFound):
    code = "COLUMN_NOT_FOUND"


class SnapshotNotFound(NotFound):
    code = "SNAPSHOT_NOT_FOUND"


class WorkspaceNotFound(NotFound):
    code = "WORKSPACE_NOT_FOUND"


class AlreadyExists(OakError):
    code = "ALREADY_EXISTS"
    http_status = 409


class TypeMismatch(InvalidInput):
    code = "TYPE_MISMATCH"


class InvalidProperty(InvalidInput):
    code = "INVALID_PROPERTY"


class NotSupported(OakError):
    code = "NOT_SUPPORTED"


class QueryFailed(InvalidInput):
    """The engine refused a query a user wrote (bad column, bad cast, division by zero …)."""

    code = "QUERY_FAILED"


class CommitConflict(OakError):
    code = "COMMIT_CONFLICT"
    http_status = 409


class InvalidFile(InvalidInput):
    """A file that cannot be loaded as it is. Names the file and, where known, the line (or
    row) and column, so the user can open it at the right place."""

    code = "INVALID_FILE"

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: str | None = None,
        hint: str | None = None,
        code: str | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.column = column
        super().__init__(message, hint=hint, code=code)

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d.update(file=self.path, line=self.line, column=self.column)
        return d


class QualityGateFailed(OakError):
    """An ingest's data failed its rules: nothing was committed and the batch is quarantined.
    Exit code 1, like ``oaklake dq run`` with a failing rule: the data is wrong, not the call."""

    code = "QUALITY_GATE_FAILED"
    exit_code = 1
    http_status = 422


class MissingDependency(OakError, ImportError):
    code = "MISSING_DEPENDENCY"


class ConfigError(InvalidInput):
    code = "INVALID_CONFIG"


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A 'did you mean' hint for a misspelt name, or None when nothing is close."""
    matches = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    if not matches:
        return None
    return "did you mean " + " or ".join(repr(m) for m in matches) + "?"


def exit_code_for(error: BaseException) -> int:
    """The CLI's one mapping from an error to a process exit code."""
    if isinstance(error, OakError):
        return error.exit_code
    return 3
