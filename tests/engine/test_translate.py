"""Golden Athena → DuckDB translations, and whether each one still means what Athena means.

``golden/translate.sql`` pins what the engine emits (sqlglot plus ``engine/translate.py``'s
rewrites) for the Athena (Trino) functions people write.
Two checks per case: the emitted DuckDB SQL equals the golden (a sqlglot upgrade that changes a
translation shows up here), and running the Athena SQL through oaklake returns the rows Athena
would return. Cases where DuckDB answers differently are strict xfails carrying the reason, so a
fix (ours or sqlglot's) turns them into failures that ask for the marker to go.

Regenerate the golden DuckDB lines with ``OAKLAKE_UPDATE_GOLDEN=1 uv run pytest
tests/engine/test_translate.py`` and review the diff.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from oaklake.app import Lake
from oaklake.engine.statements import parse
from oaklake.engine.translate import to_duckdb

GOLDEN = Path(__file__).parent / "golden" / "translate.sql"
# Read at import: the autouse fixture in tests/conftest.py clears OAKLAKE_* before each test.
UPDATE_GOLDEN = os.environ.get("OAKLAKE_UPDATE_GOLDEN") == "1"
_DIRECTIVE = re.compile(r"^-- (name|duckdb|athena result|wrong): ?(.*)$")


@dataclass
class Case:
    name: str
    athena: str
    duckdb: str | None
    result: str
    wrong: str | None


def translate(athena_sql: str) -> str:
    """What the engine hands DuckDB for a query without tables."""
    return to_duckdb(parse(athena_sql))


def read_cases(text: str) -> tuple[list[str], list[Case]]:
    """The header lines before the first case, and the cases."""
    header: list[str] = []
    cases: list[Case] = []
    current: dict[str, Any] | None = None
    for line in text.splitlines():
        m = _DIRECTIVE.match(line)
        if m and m.group(1) == "name":
            current = {
                "name": m.group(2).strip(),
                "athena": [],
                "duckdb": None,
                "result": None,
                "wrong": None,
            }
            cases.append(current)  # type: ignore[arg-type]
        elif current is None:
            header.append(line)
        elif m:
            current[m.group(1).replace("athena result", "result")] = m.group(2).strip()
        elif line.strip() and not line.startswith("--"):
            current["athena"].append(line)
    out = []
    for c in cases:
        assert isinstance(c, dict)
        assert c["athena"] and c["result"], f"case {c['name']} needs SQL and a result"
        out.append(Case(c["name"], "\n".join(c["athena"]), c["duckdb"], c["result"], c["wrong"]))
    return header, out


def write_cases(header: list[str], cases: list[Case]) -> str:
    lines = list(header)
    while lines and not lines[-1].strip():
        lines.pop()
    for c in cases:
        lines += [
            "",
            f"-- name: {c.name}",
            c.athena,
            f"-- duckdb: {c.duckdb}",
            f"-- athena result: {c.result}",
        ]
        if c.wrong:
            lines.append(f"-- wrong: {c.wrong}")
    return "\n".join(lines) + "\n"


HEADER, CASES = read_cases(GOLDEN.read_text(encoding="utf-8"))
if UPDATE_GOLDEN:
    for _case in CASES:
        _case.duckdb = translate(_case.athena)
    GOLDEN.write_text(write_cases(HEADER, CASES), encoding="utf-8")

_VALUES = {
    "__builtins__": {},
    "datetime": dt.datetime,
    "date": dt.date,
    "Decimal": Decimal,
    "UTC": dt.UTC,
}


def expected_rows(case: Case) -> list[tuple[Any, ...]]:
    return eval(case.result, dict(_VALUES))  # a literal from our own fixture file


def test_golden_file_is_well_formed() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names)), "case names must be unique"
    assert len(CASES) >= 100
    assert all(c.duckdb for c in CASES), "run with OAKLAKE_UPDATE_GOLDEN=1 to fill duckdb lines"
    assert write_cases(HEADER, CASES) == GOLDEN.read_text(encoding="utf-8")


def test_round_trip_of_the_file_format() -> None:
    text = "-- head\n\n-- name: a\nSELECT 1\n-- duckdb: SELECT 1\n-- athena result: [(1,)]\n"
    header, cases = read_cases(text)
    assert header == ["-- head", ""]
    assert cases == [Case("a", "SELECT 1", "SELECT 1", "[(1,)]", None)]
    assert write_cases(header, cases) == text


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_translation_matches_golden(case: Case) -> None:
    assert translate(case.athena) == case.duckdb


def _semantics_params() -> list[Any]:
    params = []
    for case in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=case.wrong)] if case.wrong else []
        params.append(pytest.param(case, id=case.name, marks=marks))
    return params


@pytest.mark.parametrize("case", _semantics_params())
def test_translation_means_what_athena_means(module_lake: Lake, case: Case) -> None:
    rows = module_lake.sql(case.athena).rows
    assert rows == expected_rows(case)


def test_golden_duckdb_sql_runs_on_duckdb_as_emitted(module_lake: Lake) -> None:
    """Every translation that is not marked wrong is valid DuckDB SQL as written in the file."""
    con = module_lake.engine.con
    for case in CASES:
        if not case.wrong:
            con.execute(case.duckdb or "").fetchall()
