"""Splitting a script into statements and parsing each in Athena's dialect.

sqlglot parses most of Athena's surface; SHOW, EXPLAIN, DESCRIBE, some ALTER forms, OPTIMIZE and
VACUUM come back as opaque commands, so they are recognised here by their leading words and
handed to small dedicated parsers instead.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from oaklake.errors import SqlSyntaxError, did_you_mean

DIALECT = "athena"

logging.getLogger("sqlglot").setLevel(logging.ERROR)


@dataclass(frozen=True)
class Statement:
    """One statement of a script, with where it starts in the whole text (1-based line)."""

    text: str
    index: int
    line: int
    column: int = 1

    @property
    def words(self) -> list[str]:
        """The leading keywords, upper-cased, comments skipped (used for dispatch)."""
        return [w.upper() for w in re.findall(r"[A-Za-z_]+", _strip_comments(self.text))[:4]]


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"--[^\n]*", " ", text)


def split(text: str) -> list[Statement]:
    """Split on semicolons that are not inside strings, quoted names or comments.

    A small scanner rather than sqlglot's tokenizer: it keeps `oaklake sql "select 1"` from
    importing the parser at all.
    """
    out: list[Statement] = []
    start = 0
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c in "'\"`":
            backslash = c == "'" and _hive_ddl(text[start:i])
            j = i + 1
            while True:
                j = text.find(c, j)
                if j < 0:
                    line = text.count("\n", 0, i) + 1
                    col = i - (text.rfind("\n", 0, i) + 1) + 1
                    what = "string" if c == "'" else "quoted name"
                    raise SqlSyntaxError(
                        f"unterminated {what}",
                        sql=text,
                        line=line,
                        column=col,
                        hint=f"close the {c} opened here",
                    )
                if backslash and (j - len(text[:j].rstrip("\\"))) % 2:  # \' inside Hive DDL
                    j += 1
                    continue
                if j + 1 < n and text[j + 1] == c:  # doubled quote inside
                    j += 2
                    continue
                break
            i = j + 1
            continue
        if c == "-" and text.startswith("--", i):
            nl = text.find("\n", i)
            i = n if nl < 0 else nl + 1
            continue
        if c == "/" and text.startswith("/*", i):
            close = text.find("*/", i + 2)
            if close < 0:
                line = text.count("\n", 0, i) + 1
                col = i - (text.rfind("\n", 0, i) + 1) + 1
                raise SqlSyntaxError(
                    "unterminated comment",
                    sql=text,
                    line=line,
                    column=col,
                    hint="close the /* comment with */",
                )
            i = close + 2
            continue
        if c == ";":
            _add(out, text, start, i)
            start = i + 1
        i += 1
    _add(out, text, start, n)
    return out


_HIVE_DDL = re.compile(r"^\s*(?:CREATE|ALTER|DROP|SHOW|DESCRIBE|DESC|MSCK)\b", re.I)


def _hive_ddl(prefix: str) -> bool:
    """Whether a statement starting with ``prefix`` is DDL Athena hands to Hive, whose strings
    escape quotes with a backslash ('it\\'s'); queries, CTAS and views are Trino's ('it''s')."""
    code = _strip_comments(prefix)
    return bool(_HIVE_DDL.match(code)) and not re.search(r"\b(?:SELECT|VIEW)\b", code, re.I)


def _add(out: list[Statement], text: str, start: int, end: int) -> None:
    piece = text[start:end]
    if not _strip_comments(piece).strip():
        return
    lead = len(piece) - len(piece.lstrip())
    begin = start + lead
    line = text.count("\n", 0, begin) + 1
    column = begin - (text.rfind("\n", 0, begin) + 1) + 1
    out.append(Statement(text=piece.strip(), index=len(out) + 1, line=line, column=column))


def _position_of_unclosed(text: str) -> tuple[int, int]:
    for quote in ("'", '"'):
        if text.count(quote) % 2:
            pos = text.rfind(quote)
            line = text.count("\n", 0, pos) + 1
            col = pos - (text.rfind("\n", 0, pos) + 1) + 1
            return line, col
    return 1, 1


# Words a statement can start with; anything else is a typo worth naming (`selec 1`).
LEADING_WORDS = (
    "SELECT",
    "WITH",
    "VALUES",
    "TABLE",
    "INSERT",
    "CREATE",
    "DROP",
    "ALTER",
    "SHOW",
    "DESCRIBE",
    "DESC",
    "EXPLAIN",
    "USE",
    "UPDATE",
    "DELETE",
    "MERGE",
    "OPTIMIZE",
    "VACUUM",
    "MSCK",
)
_FIRST_WORD = re.compile(r"(?:\s+|--[^\n]*|/\*.*?\*/)*([A-Za-z_]\w*)", re.S)


def _unknown_statement(sql: str) -> SqlSyntaxError | None:
    m = _FIRST_WORD.match(sql)
    if not m or m[1].upper() in LEADING_WORDS:
        return None
    pos = m.start(1)
    line = sql.count("\n", 0, pos) + 1
    col = pos - (sql.rfind("\n", 0, pos) + 1) + 1
    hint = did_you_mean(m[1].upper(), LEADING_WORDS) or (
        "a statement starts with SELECT, WITH, INSERT, CREATE, DROP, ALTER, SHOW, DESCRIBE, …"
    )
    return SqlSyntaxError(f"unknown statement {m[1]!r}", sql=sql, line=line, column=col, hint=hint)


def parse(sql: str) -> Any:
    """Parse one statement with sqlglot; syntax errors carry line, column and a caret."""
    import sqlglot
    from sqlglot.errors import ParseError, TokenError

    try:
        expressions = sqlglot.parse(sql, read=DIALECT)
    except ParseError as e:
        unknown = _unknown_statement(sql)
        if unknown is not None:
            raise unknown from e
        err = e.errors[0] if e.errors else {}
        line = err.get("line")
        col = err.get("col")
        highlight = err.get("highlight") or ""
        if col is not None and highlight:
            col = max(col - len(highlight) + 1, 1)
        desc = str(err.get("description") or e).split("\n")[0]
        desc = re.sub(
            r"Required keyword: '(\w+)' missing for <class '[\w.]+\.(\w+)'>",
            r"incomplete \2 expression (missing its \1)",
            desc,
        )
        near = f" near {highlight!r}" if highlight else ""
        raise SqlSyntaxError(f"{desc}{near}", sql=sql, line=line, column=col) from e
    except TokenError as e:
        line, col = _position_of_unclosed(sql)
        raise SqlSyntaxError(str(e), sql=sql, line=line, column=col) from e
    expressions = [x for x in expressions if x is not None]
    if len(expressions) != 1:
        raise SqlSyntaxError("expected exactly one statement", sql=sql, line=1, column=1)
    from sqlglot import exp

    if isinstance(expressions[0], exp.Condition | exp.Alias):  # `frobnicate`: not a statement
        unknown = _unknown_statement(sql)
        if unknown is not None:
            raise unknown
    return expressions[0]


_IDENT = r'(?:"(?:[^"]|"")+"|`[^`]+`|[A-Za-z_][\w$]*)'
QUALIFIED = rf"{_IDENT}(?:\s*\.\s*{_IDENT}){{0,2}}"


def unquote(name: str) -> str:
    name = name.strip()
    if len(name) >= 2 and name[0] == name[-1] == '"':
        return name[1:-1].replace('""', '"')
    if len(name) >= 2 and name[0] == name[-1] == "`":
        return name[1:-1]
    return name.lower()


def split_qualified(name: str) -> list[str]:
    parts = re.findall(_IDENT, name)
    return [unquote(p) for p in parts]
